//! Schema documents as small positioned trees.
//!
//! A schema document is read once, through the same hardened [`XmlReader`] as instances, into a tree of
//! [`Node`]s that keeps every element's line and column and the namespaces in scope at it (QName-valued
//! attributes like `type="tns:Snils"` resolve against those). Only elements in the XSD namespace and their
//! attributes matter to the compiler; `xs:annotation` content is kept as nodes but never interpreted.
//! Schemas are small, so a tree here is cheap; instances are never read into one. A schema document may be
//! in any encoding [`crate::xml::encoding`] reads (registries still publish windows-1251 schemas).

use std::sync::Arc;

use crate::xml::encoding;
use crate::xml::reader::{Event, Limits, Position, XmlError, XmlReader};

/// The XML Schema namespace.
pub const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// The XML Schema instance namespace (`xsi:type`, `xsi:nil`, ...).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// One element of a schema document.
#[derive(Clone, Debug)]
pub struct Node {
    /// Namespace of the element.
    pub ns: Option<String>,
    /// Local name.
    pub local: String,
    /// Attributes: (namespace, local name, value).
    pub attrs: Vec<(Option<String>, String, String)>,
    /// Child elements.
    pub children: Vec<Node>,
    /// Whether the element has non-white-space text of its own (not allowed in XSD elements other
    /// than documentation/appinfo).
    pub has_text: bool,
    /// Where the start tag is.
    pub pos: Position,
    /// Namespace bindings in scope (prefix, uri); "" is the default namespace.
    pub namespaces: Arc<Vec<(String, String)>>,
}

impl Node {
    /// Whether this is the XSD element `local`.
    pub fn is(&self, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(XS_NS)
    }

    /// An unqualified attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, l, _)| ns.is_none() && l == name)
            .map(|(_, _, v)| v.as_str())
    }

    /// Child elements in the XSD namespace other than `annotation`.
    pub fn xs_children(&self) -> impl Iterator<Item = &Node> {
        self.children
            .iter()
            .filter(|c| c.ns.as_deref() == Some(XS_NS) && c.local != "annotation")
    }

    /// Resolve a prefix at this element ("" for the default namespace).
    pub fn resolve_prefix(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(crate::xml::reader::XML_NS);
        }
        self.namespaces
            .iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }
}

/// Read a schema document, in any encoding [`encoding::decode`] reads, into a tree.
pub fn read_document(bytes: &[u8], limits: &Limits) -> Result<Node, XmlError> {
    let text = encoding::decode(bytes)?;
    let mut reader = XmlReader::from_bytes(&text, limits.clone());
    let mut stack: Vec<Node> = Vec::new();
    let mut last_ns: Arc<Vec<(String, String)>> = Arc::new(Vec::new());
    loop {
        reader.advance()?;
        match reader.event() {
            Event::Start(tag) => {
                let ns_now = reader.namespaces_in_scope();
                if *last_ns != ns_now {
                    last_ns = Arc::new(ns_now);
                }
                stack.push(Node {
                    ns: tag.ns.map(str::to_owned),
                    local: tag.local.to_owned(),
                    attrs: tag
                        .attributes()
                        .map(|a| {
                            let ns = a.ns.map(str::to_owned);
                            (ns, a.local.to_owned(), a.value.to_owned())
                        })
                        .collect(),
                    children: Vec::new(),
                    has_text: false,
                    pos: reader.position(tag.mark),
                    namespaces: last_ns.clone(),
                });
            }
            Event::Text(t, _) => {
                if let Some(top) = stack.last_mut()
                    && !t.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                {
                    top.has_text = true;
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else { continue };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => {
                        // Drain to Eof so trailing garbage is still reported.
                        while !matches!(reader.next_event()?, Event::Eof) {}
                        return Ok(node);
                    }
                }
            }
            Event::Eof => {
                return Err(XmlError {
                    kind: crate::xml::reader::XmlErrorKind::Syntax("empty document".into()),
                    position: Position::default(),
                });
            }
        }
    }
}
