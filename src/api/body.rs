//! Reading what callers send: JSON bodies ([`json`], [`from_value`]), query strings ([`Query`]) and
//! path parameters ([`Path`]). Every handler reads its input through here, so every refusal has one
//! shape: a 400 (415 for a body that says it is not JSON, 413 for one declared too large) problem+json
//! whose `errors` name the field by JSON pointer (RFC 6901), the query parameter by `?name` or the
//! path parameter by `{name}`.
//!
//! serde's messages quote the value that failed (`invalid type: string "123…", expected u64`), and
//! that value may be a SNILS or a name: messages are rewritten from the error's kind and the
//! expected type, never carrying the value.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

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

/// The body as free JSON (a merge patch), refused as [`json`] refuses a body — and, like a typed
/// body, refused when an object has a key twice: serde_json's `Value` would keep the last of them
/// silently, so a cabinet that reads the first would mean another correction than reggate applies.
pub fn json_value(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, Problem> {
    json::<Unique>(headers, body).map(|u| u.0)
}

/// A JSON value whose objects have no key twice (see [`json_value`]). Depth stays bounded by
/// serde_json's recursion limit, as for `Value`.
struct Unique(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<serde_json::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<serde_json::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<serde_json::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate field `{key}`"
                )));
            }
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
}

/// A JSON value already parsed (a merge-patched application) as a `T`, refused as [`json`]
/// refuses a body.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| json_problem(pointer(e.path()), e.inner()))
}

/// A request whose `Content-Length` declares more than [`crate::api::MAX_BODY`] is answered 413 at
/// once (a layer on the JSON routes): its bytes would be refused anyway, and waiting for them would
/// hold the connection until the body timeout and then answer 408, which says nothing of the limit.
/// The body is never read, so an HTTP/1.1 connection closes after the answer.
pub async fn refuse_declared_oversize(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > crate::api::MAX_BODY as u64) {
        return crate::api::problem::body_too_large().into_response();
    }
    next.run(req).await
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
pub fn pointer(path: &serde_path_to_error::Path) -> String {
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
    // An unknown member's name is the caller's text: the path ends in it. A name that does not look
    // like a field's (a SNILS sent as a key) is withheld, and the pointer names the object holding it.
    let pointer = match unknown_field(&bare(e)) {
        Some((name, _)) if !echoable(name) => {
            let last = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
            pointer
                .strip_suffix(&last)
                .map_or(pointer.clone(), str::to_string)
        }
        _ => pointer,
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
    if let Some((name, rest)) = unknown_field(message) {
        // The name stays only if it looks like a field's.
        return if echoable(name) {
            ("unknown-field", message.to_string())
        } else {
            ("unknown-field", format!("unknown field{rest}"))
        };
    }
    for (prefix, code) in [
        ("missing field ", "missing-field"),
        ("duplicate field ", "duplicate-field"),
        ("invalid length ", "invalid-length"),
    ] {
        if message.starts_with(prefix) {
            return (code, message.to_string());
        }
    }
    if message.starts_with("unknown field ") {
        return ("unknown-field", strip_quoted(message));
    }
    ("invalid", strip_quoted(message))
}

/// The name serde's `unknown field `name`, expected …` message quotes (the caller's own text, which
/// may itself hold backticks), and what follows it.
fn unknown_field(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    // The list of expected names that ends the message is the schema's: the last "`, " starting
    // it is where the caller's name ends.
    let end = rest
        .rfind("`, expected ")
        .or_else(|| rest.rfind("`, there are no fields"))?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// Whether a name the caller sent may be repeated in an answer: it looks like one of the API's
/// field or parameter names (ASCII letters, digits, `_` and `-`, at most 64 bytes, at most four
/// digits). Anything else may be personal data sent in the wrong place: a SNILS or a phone number
/// as a key, a surname.
pub fn echoable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && name.bytes().filter(u8::is_ascii_digit).count() <= 4
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
                    _ => unknown_field(&message)
                        .map_or("", |(name, _)| name)
                        .to_string(),
                };
                // A parameter name that may be personal data is not repeated (see `echoable`).
                let name = if echoable(&name) { name } else { String::new() };
                invalid_parameter(&name, code, &message)
            })
    }
}

/// Path parameters as a `T`: one that cannot be read (percent-encoded bytes that are not UTF-8) is a
/// 400 problem naming the parameter as `{name}` (axum's `Path` answers plain text, and its messages
/// quote the value).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, Problem> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        let rejection = match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => return Ok(Path(value)),
            Err(rejection) => rejection,
        };
        let kind = match &rejection {
            PathRejection::FailedToDeserializePathParams(e) => Some(e.kind()),
            _ => None,
        };
        let (name, code, message) = match kind {
            Some(ErrorKind::InvalidUtf8InPathParam { key }) => (
                key.as_str(),
                "invalid-utf8",
                "is not valid UTF-8 once percent-decoded",
            ),
            Some(
                ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. },
            ) => (key.as_str(), "invalid", "cannot be read"),
            // A route and its handler that disagree: ours to fix, not the caller's.
            Some(ErrorKind::UnsupportedType { .. } | ErrorKind::WrongNumberOfParameters { .. }) => {
                return Err(crate::api::problem::internal("path extraction", &rejection));
            }
            _ => ("", "invalid", "cannot be read"),
        };
        let at = if name.is_empty() {
            "a path parameter".to_string()
        } else {
            format!("{{{name}}}")
        };
        Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-path",
            "Invalid path parameter",
            format!("{at}: {message}"),
        )
        .with_errors(vec![FieldError {
            pointer: format!("{{{name}}}"),
            code: code.into(),
            message: message.into(),
        }]))
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
    fn unknown_field_names_are_repeated_only_when_they_look_like_names() {
        let cases = [
            (
                "unknown field `frist_name`, expected one of `last_name`, `first_name`",
                "unknown field `frist_name`, expected one of `last_name`, `first_name`",
            ),
            (
                "unknown field `12345678901`, expected `benefit`",
                "unknown field, expected `benefit`",
            ),
            (
                "unknown field `Иванова`, there are no fields",
                "unknown field, there are no fields",
            ),
            // The name may hold what follows it in the message.
            (
                "unknown field `a`, expected x 12345678901`, expected `benefit`",
                "unknown field, expected `benefit`",
            ),
        ];
        for (serde, ours) in cases {
            let (code, message) = without_value(serde);
            assert_eq!((code, message.as_str()), ("unknown-field", ours), "{serde}");
        }
    }

    #[test]
    fn a_withheld_field_name_leaves_the_pointer_at_its_object() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Inner {
            #[serde(default)]
            _a: u8,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            _inner: Inner,
        }
        let problem = |body: &str| {
            json::<Outer>(&HeaderMap::new(), body.as_bytes())
                .expect_err("refused")
                .errors
                .remove(0)
        };
        let e = problem(r#"{"_inner": {"1122334459/5": 1}}"#);
        assert_eq!(e.pointer, "/_inner");
        assert!(!e.message.contains("1122334459"), "{}", e.message);
        let e = problem(r#"{"_inner": {"b": 1}}"#);
        assert_eq!(e.pointer, "/_inner/b");
        assert!(e.message.contains("`b`"), "{}", e.message);
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
