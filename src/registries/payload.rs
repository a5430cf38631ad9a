//! Reading a SOAP envelope's payload: the first element of `soap:Body` and the values under it, by
//! local name. The mock registries read requests with it and the gateway reads answers and faults.
//! The envelope has been validated against the schemas before, so only structure matters here.

use std::fmt;

use crate::registries::SOAP_NS;

use crate::xml::reader::{Event, Limits, XmlReader};

/// The payload inside an envelope: its root element and its leaf values by local name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    /// Namespace of the Body's first element.
    pub ns: Option<String>,
    /// Local name of the Body's first element.
    pub element: String,
    /// `(local name, text)` of every leaf element under it, in document order; attributes appear as
    /// `(@name, value)`.
    pub fields: Vec<(String, String)>,
}

impl Payload {
    /// The first value under a local name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value under a local name.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Why an envelope's payload could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReadError {}

/// Read the first element of `soap:Body` and collect its leaf values (streaming).
pub fn read_payload(bytes: &[u8]) -> Result<Payload, ReadError> {
    let mut reader = XmlReader::from_bytes(bytes, Limits::default());
    // Depth of the open elements; `body_depth` is where soap:Body sits once seen.
    let mut depth = 0usize;
    let mut body_depth: Option<usize> = None;
    let mut request = Payload::default();
    let mut found = false;
    // The innermost open element under the request, and its text so far; cleared when it gets a child.
    let mut leaf: Option<(String, String)> = None;
    loop {
        let event = reader.next_event().map_err(|e| ReadError {
            message: e.to_string(),
        })?;
        match event {
            Event::Start(tag) => {
                depth += 1;
                let in_request = found && body_depth.is_some_and(|b| depth > b + 1);
                if body_depth.is_none() && tag.local == "Body" && tag.ns.as_deref() == Some(SOAP_NS)
                {
                    body_depth = Some(depth);
                } else if !found && body_depth.is_some_and(|b| depth == b + 1) {
                    found = true;
                    request.ns = tag.ns.as_deref().map(str::to_string);
                    request.element = tag.local.clone();
                    for a in &tag.attributes {
                        request
                            .fields
                            .push((format!("@{}", a.local), a.value.clone()));
                    }
                } else if in_request {
                    for a in &tag.attributes {
                        request
                            .fields
                            .push((format!("@{}", a.local), a.value.clone()));
                    }
                    leaf = Some((tag.local.clone(), String::new()));
                }
            }
            Event::Text(text, _) => {
                if let Some((_, t)) = leaf.as_mut() {
                    t.push_str(&text);
                }
            }
            Event::End(_) => {
                if let Some((name, text)) = leaf.take() {
                    request.fields.push((name, text.trim().to_string()));
                }
                if body_depth == Some(depth) && found {
                    break;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
        }
    }
    if found {
        Ok(request)
    } else {
        Err(ReadError {
            message: "soap:Body holds no element".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_collected_by_local_name() {
        let xml = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a:R xmlns:a="urn:x" n="7"><a:M><a:Id>1</a:Id></a:M><a:S> 123 </a:S><a:S>4</a:S></a:R></s:Body></s:Envelope>"#;
        let r = read_payload(xml).expect("reads");
        assert_eq!(r.element, "R");
        assert_eq!(r.ns.as_deref(), Some("urn:x"));
        assert_eq!(r.get("@n"), Some("7"));
        assert_eq!(r.get("Id"), Some("1"));
        assert_eq!(r.all("S"), vec!["123", "4"]);
        assert_eq!(r.get("M"), None);
    }
}
