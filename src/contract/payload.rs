//! Reading a SOAP envelope's payload: the first element of `soap:Body` and the values under it, by
//! local name. The mock registries read requests with it and the gateway reads answers and faults.
//! The envelope has been validated against the schemas before, so only structure matters here. Bodies in
//! any encoding [`crate::xml::encoding`] reads are read as UTF-8.

use std::fmt;

use crate::contract::SOAP_NS;

use crate::xml::encoding;
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
    let text = encoding::decode(bytes).map_err(|e| ReadError {
        message: e.to_string(),
    })?;
    let mut reader = XmlReader::from_bytes(&text, Limits::default());
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
                if body_depth.is_none() && tag.local == "Body" && tag.ns == Some(SOAP_NS) {
                    body_depth = Some(depth);
                } else if !found && body_depth.is_some_and(|b| depth == b + 1) {
                    found = true;
                    request.ns = tag.ns.map(str::to_string);
                    request.element = tag.local.to_owned();
                    for a in tag.attributes() {
                        request
                            .fields
                            .push((format!("@{}", a.local), a.value.to_owned()));
                    }
                } else if in_request {
                    for a in tag.attributes() {
                        request
                            .fields
                            .push((format!("@{}", a.local), a.value.to_owned()));
                    }
                    leaf = Some((tag.local.to_owned(), String::new()));
                }
            }
            Event::Text(text, _) => {
                if let Some((_, t)) = leaf.as_mut() {
                    t.push_str(text);
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

/// An element of a payload as a small tree: what typed answers are read from (lists and nested
/// records need more than [`Payload`]'s flat values).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Local name.
    pub name: String,
    /// Namespace (where a local name alone is ambiguous: a fault's detail).
    pub ns: Option<String>,
    /// Attributes by local name.
    pub attributes: Vec<(String, String)>,
    /// Its own text (whitespace-trimmed).
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Node>,
}

impl Node {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child with this local name.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The first element of `soap:Body` as a [`Node`] tree.
pub fn read_tree(bytes: &[u8]) -> Result<Node, ReadError> {
    let error = |message: String| ReadError { message };
    let text = encoding::decode(bytes).map_err(|e| error(e.to_string()))?;
    let mut reader = XmlReader::from_bytes(&text, Limits::default());
    let mut depth = 0usize;
    let mut body_depth: Option<usize> = None;
    // Open elements at or under the payload root.
    let mut open: Vec<Node> = Vec::new();
    loop {
        match reader.next_event().map_err(|e| error(e.to_string()))? {
            Event::Start(tag) => {
                depth += 1;
                let under_body = body_depth.is_some_and(|b| depth > b);
                if body_depth.is_none() && tag.local == "Body" && tag.ns == Some(SOAP_NS) {
                    body_depth = Some(depth);
                } else if under_body {
                    open.push(Node {
                        name: tag.local.to_owned(),
                        ns: tag.ns.map(str::to_string),
                        attributes: tag
                            .attributes()
                            .map(|a| (a.local.to_owned(), a.value.to_owned()))
                            .collect(),
                        ..Node::default()
                    });
                }
            }
            Event::Text(text, _) => {
                if let Some(node) = open.last_mut() {
                    node.text.push_str(text);
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some(mut node) = open.pop() {
                    node.text = node.text.trim().to_string();
                    match open.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
            }
            Event::Eof => return Err(error("soap:Body holds no element".to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_reads_as_a_tree() {
        let xml = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:Id xmlns:h="urn:h">1</h:Id></s:Header><s:Body><a:R xmlns:a="urn:x" n="7"><a:L><a:I k="1"> x </a:I><a:I k="2">y</a:I></a:L></a:R></s:Body></s:Envelope>"#;
        let root = read_tree(xml).expect("tree");
        assert_eq!((root.name.as_str(), root.attribute("n")), ("R", Some("7")));
        let items: Vec<_> = root.child("L").expect("L").children_named("I").collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].text.as_str(), items[0].attribute("k")),
            ("x", Some("1"))
        );
        assert!(read_tree(b"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>").is_err());
    }

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
