//! Reading what callers send: JSON bodies ([`json`], [`from_value`]) and query strings ([`Query`]).
//! Every handler reads its input through here, so every refusal has one shape: a 400 (415 for a
//! body that says it is not JSON) problem+json whose `errors` name the field by JSON pointer
//! (RFC 6901), or the query parameter by `?name`.
//!
//! serde's messages quote the value that failed (`invalid type: string "123…", expected u64`), and
//! that value may be a SNILS or a name: messages are rewritten from the error's kind and the
//! expected type, never carrying the value.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

use crate::api::problem::Problem;
use crate::domain::application::FieldError;

/// The body as a `T`, or the problem naming what does not parse: 415 when the `Content-Type`
/// says it is not JSON, 400 for a syntax error, a wrong type, an unknown or missing field.
///
/// A missing `Content-Type` is read as JSON: the OpenAPI document names no other body type, and
/// refusing it would only break cabinets that never sent the header.
pub fn json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE)
        && !is_json(ct.to_str().unwrap_or(""))
    {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "the body must be JSON: send Content-Type: application/json",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_problem(pointer(e.path()), e.inner()))?;
    // Trailing bytes after the value are a syntax error too, not something to ignore.
    de.end().map_err(|e| json_problem(String::new(), &e))?;
    Ok(value)
}

/// A JSON value already parsed (a merge-patched application) as a `T`, refused as [`json`]
/// refuses a body.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| json_problem(pointer(e.path()), e.inner()))
}

/// `application/json` or any `application/…+json`, parameters (`charset`) aside.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The RFC 6901 pointer of a serde path (`applicant.birth_date` → `/applicant/birth_date`,
/// `documents[0].size` → `/documents/0/size`).
pub fn pointer(path: &Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => {
                out.push_str(&variant.replace('~', "~0").replace('/', "~1"))
            }
            // A segment serde could not name: say so rather than point at the wrong field.
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

fn json_problem(pointer: String, e: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    let (code, message) = match e.classify() {
        // Syntax messages name the rule broken, never the text; the position helps find it.
        Category::Syntax | Category::Eof | Category::Io => (
            "syntax",
            format!("{} at line {} column {}", bare(e), e.line(), e.column()),
        ),
        Category::Data => without_value(&bare(e)),
    };
    let at = if pointer.is_empty() {
        "the body"
    } else {
        &pointer
    };
    Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed-json",
        "Malformed request body",
        format!("{at}: {message}"),
    )
    .with_errors(vec![FieldError {
        pointer,
        code: code.into(),
        message,
    }])
}

/// serde_json's message without the ` at line L column C` it appends.
fn bare(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// A code for serde's message, and the message with the caller's value taken out. Field and
/// variant names the schema defines stay (they are the point of the message); the value found
/// goes.
fn without_value(message: &str) -> (&'static str, String) {
    // `invalid type: string "x", expected u64` → `invalid type: string, expected u64`.
    for (prefix, code) in [
        ("invalid type: ", "invalid-type"),
        ("invalid value: ", "invalid-value"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            // What was found is named by its kind (`string`, `floating point`); the value
            // follows in quotes or backticks.
            let kind = found.split(['"', '`']).next().unwrap_or("").trim();
            let expected = if expected.is_empty() {
                String::new()
            } else {
                format!(", expected {expected}")
            };
            return (code, format!("{prefix}{kind}{expected}"));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.rsplit_once(", expected ").map_or("", |(_, e)| e);
        return (
            "unknown-variant",
            format!("unknown variant, expected {expected}"),
        );
    }
    for (prefix, code) in [
        ("unknown field ", "unknown-field"),
        ("missing field ", "missing-field"),
        ("duplicate field ", "duplicate-field"),
        ("invalid length ", "invalid-length"),
    ] {
        if message.starts_with(prefix) {
            return (code, message.to_string());
        }
    }
    ("invalid", strip_quoted(message))
}

/// `text` with whatever stands between double quotes or backticks replaced by `…`: a message
/// this module does not know may still quote a value.
fn strip_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    open = Some(c);
                }
            }
        }
    }
    out
}

/// A query string as a `T`: a parameter that does not parse is a 400 problem naming it (axum's
/// `Query` answers plain text).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Query<T>, Problem> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let (code, message) = without_value(&e.inner().to_string());
                // An unknown parameter has no path: serde names it in the message.
                let name = match e.path().iter().next() {
                    Some(Segment::Map { key }) => key.clone(),
                    _ => message
                        .strip_prefix("unknown field `")
                        .and_then(|r| r.split('`').next())
                        .unwrap_or("")
                        .to_string(),
                };
                invalid_parameter(&name, code, &message)
            })
    }
}

/// The 400 for a query parameter that is not acceptable; its `errors` entry points at `?name`.
pub fn invalid_parameter(name: &str, code: &str, message: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-parameter",
        "Invalid query parameter",
        format!("{name}: {message}"),
    )
    .with_errors(vec![FieldError {
        pointer: format!("?{name}"),
        code: code.into(),
        message: message.into(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_taken_out_of_serde_messages() {
        let cases = [
            (
                "invalid type: string \"12345678901\", expected u64",
                "invalid type: string, expected u64",
            ),
            (
                "invalid type: floating point `1.5`, expected a string",
                "invalid type: floating point, expected a string",
            ),
            (
                "invalid value: integer `-1`, expected u64",
                "invalid value: integer, expected u64",
            ),
            (
                "invalid type: sequence, expected struct X",
                "invalid type: sequence, expected struct X",
            ),
            (
                "unknown variant `Иванова`, expected `male` or `female`",
                "unknown variant, expected `male` or `female`",
            ),
            ("custom \"Иванова\" is bad", "custom \"…\" is bad"),
            // The value may itself look like the rest of the message.
            (
                "invalid type: string \"a, expected Иванова\", expected u64",
                "invalid type: string, expected u64",
            ),
        ];
        for (serde, ours) in cases {
            assert_eq!(without_value(serde).1, ours, "{serde}");
        }
    }

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in ["text/plain", "application/xml", "", "text/json+x"] {
            assert!(!is_json(bad), "{bad}");
        }
    }
}
