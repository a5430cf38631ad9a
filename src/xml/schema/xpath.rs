//! The restricted XPath of identity-constraint selectors and fields (XSD 1.0 §3.11.6).
//!
//! Selector: `Path ('|' Path)*` with `Path ::= ('.//')? Step ('/' Step)*`, `Step ::= '.' | NameTest`.
//! Field: the same, except that the last step may be an attribute `@NameTest`. `child::` and
//! `attribute::` are accepted as the long forms of the axes. Unprefixed names have no namespace (XPath
//! 1.0 ignores the default namespace).

use crate::xml::schema::model::{NameTest, QName, XPath, XStep};

/// Parse a selector (`field = false`) or a field (`field = true`). `resolve` maps a prefix to its
/// namespace. The error says what is wrong.
pub fn parse(
    expr: &str,
    field: bool,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<XPath>, String> {
    let mut out = Vec::new();
    for alt in expr.split('|') {
        out.push(parse_path(alt, field, resolve)?);
    }
    Ok(out)
}

/// Drop the white space XPath allows between tokens, refusing it inside a token: `//`, `::` and
/// name tests like `p:*` or `p:name` are single tokens (XPath 1.0 §3.7).
fn squeeze(text: &str) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let name_char = crate::xml::names::is_ncname_char;
    let mut out = String::new();
    let mut i = 0;
    let mut gap = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            gap = true;
            i += 1;
            continue;
        }
        if gap {
            let prev = out.chars().last();
            // A token split by white space: `/ /`, `: :`, `name :`, `: name`, `: *`.
            let joins = matches!((prev, c), (Some('/'), '/') | (Some(':'), ':'))
                || (prev == Some(':') && !out.ends_with("::") && (c == '*' || name_char(c)))
                || (c == ':' && prev.is_some_and(name_char) && chars.get(i + 1) != Some(&':'));
            if joins {
                return Err(format!("'{}' has white space inside a token", text.trim()));
            }
            if prev.is_some_and(name_char) && name_char(c) {
                return Err(format!("'{}' has two names in a row", text.trim()));
            }
        }
        gap = false;
        out.push(c);
        i += 1;
    }
    Ok(out)
}

fn parse_path(
    text: &str,
    field: bool,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<XPath, String> {
    let t = squeeze(text)?;
    if t.is_empty() {
        return Err("empty path".into());
    }
    let (descendant, rest) = match t.strip_prefix(".//") {
        Some(r) => (true, r),
        None => (false, t.as_str()),
    };
    if rest.is_empty() || rest.starts_with('/') || rest.ends_with('/') || rest.contains("//") {
        return Err(format!(
            "'{}' is not allowed: only './/' at the start may use '//'",
            text.trim()
        ));
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let mut steps = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let attr = part
            .strip_prefix('@')
            .or_else(|| part.strip_prefix("attribute::"));
        if let Some(a) = attr {
            if !field || !last {
                return Err(format!(
                    "attribute step '{part}' is only allowed at the end of a field"
                ));
            }
            steps.push(XStep::Attribute(name_test(a, resolve)?));
            continue;
        }
        let p = part.strip_prefix("child::").unwrap_or(part);
        if p == "." {
            if part.starts_with("child::") {
                return Err("'child::.' is not a step".into());
            }
            steps.push(XStep::SelfNode);
        } else {
            steps.push(XStep::Child(name_test(p, resolve)?));
        }
    }
    Ok(XPath { descendant, steps })
}

fn name_test(t: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Result<NameTest, String> {
    if t == "*" {
        return Ok(NameTest::Any);
    }
    let ok = crate::xml::names::is_ncname;
    let (prefix, local) = crate::xml::reader::split_qname(t);
    let ns = match prefix {
        Some(p) => {
            if !ok(p) {
                return Err(format!("'{t}' is not a name test"));
            }
            Some(resolve(p).ok_or_else(|| format!("prefix '{p}' is not declared"))?)
        }
        None => None,
    };
    if local == "*" && prefix.is_some() {
        return Ok(NameTest::Namespace(ns));
    }
    if !ok(local) {
        return Err(format!("'{t}' is not a name test"));
    }
    Ok(NameTest::Name(QName {
        ns,
        local: local.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(p: &str) -> Option<String> {
        (p == "t").then(|| "urn:t".to_owned())
    }

    #[test]
    fn parses_selectors_and_fields() {
        let s = parse(".//t:a/b | c", false, &r).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s[0].descendant);
        assert_eq!(s[0].steps.len(), 2);
        let f = parse("t:*/@id", true, &r).unwrap();
        assert_eq!(
            f[0].steps[1],
            XStep::Attribute(NameTest::Name(QName::new(None, "id")))
        );
    }

    #[test]
    fn white_space_between_tokens_only() {
        assert!(parse(" . // a / b ", false, &r).is_ok());
        assert!(parse("child:: a", false, &r).is_ok());
        assert!(parse("./ /.", false, &r).is_err());
        assert!(parse("child: :a", false, &r).is_err());
        assert!(parse("t :*", false, &r).is_err());
        assert!(parse("t: *", false, &r).is_err());
    }

    #[test]
    fn rejects_what_xsd_forbids() {
        assert!(parse("a//b", false, &r).is_err());
        assert!(parse("@id", false, &r).is_err());
        assert!(parse("/a", false, &r).is_err());
        assert!(parse("x:a", false, &r).is_err());
        assert!(parse("a/@b/c", true, &r).is_err());
        assert!(parse("..", false, &r).is_err());
    }
}
