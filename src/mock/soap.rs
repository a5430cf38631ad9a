//! The SOAP side of the mock registries: which operations each registry offers (with the SOAPAction
//! its WSDL names), and a small streaming reader that pulls the request's fields out of an envelope.

use std::fmt;

use crate::xml::reader::{Event, Limits, XmlReader};

/// The SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// One of the four registries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Registry {
    /// `/registry/snils`.
    Snils,
    /// `/registry/inn`.
    Inn,
    /// `/registry/children`.
    Children,
    /// `/registry/labour`.
    Labour,
}

impl Registry {
    /// Every registry.
    pub const ALL: [Registry; 4] = [
        Registry::Snils,
        Registry::Inn,
        Registry::Children,
        Registry::Labour,
    ];

    /// The last path segment of its endpoint (and its WSDL's file stem).
    pub fn name(self) -> &'static str {
        match self {
            Registry::Snils => "snils",
            Registry::Inn => "inn",
            Registry::Children => "children",
            Registry::Labour => "labour",
        }
    }

    /// The registry at an endpoint segment.
    pub fn from_name(name: &str) -> Option<Registry> {
        Registry::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Its target namespace.
    pub fn namespace(self) -> &'static str {
        match self {
            Registry::Snils => "urn://reggate/registry/snils/1.0.0",
            Registry::Inn => "urn://reggate/registry/inn/1.0.0",
            Registry::Children => "urn://reggate/registry/children/1.0.0",
            Registry::Labour => "urn://reggate/registry/labour/1.0.0",
        }
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One of the seven operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// SNILS registry: verify a SNILS against a person.
    VerifySnils,
    /// INN registry: find a person's INN by passport.
    FindInn,
    /// INN registry: verify an INN against a person.
    VerifyInn,
    /// Children's registry: find a birth record by certificate.
    FindBirthRecord,
    /// Ministry of Labour: family statuses.
    GetFamilyStatus,
    /// Ministry of Labour: active benefit assignments of a child.
    GetActiveAssignments,
    /// Ministry of Labour: register an assignment.
    RegisterAssignment,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 7] = [
        Operation::VerifySnils,
        Operation::FindInn,
        Operation::VerifyInn,
        Operation::FindBirthRecord,
        Operation::GetFamilyStatus,
        Operation::GetActiveAssignments,
        Operation::RegisterAssignment,
    ];

    /// The operation's name as the WSDL spells it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::VerifySnils => "VerifySnils",
            Operation::FindInn => "FindInn",
            Operation::VerifyInn => "VerifyInn",
            Operation::FindBirthRecord => "FindBirthRecord",
            Operation::GetFamilyStatus => "GetFamilyStatus",
            Operation::GetActiveAssignments => "GetActiveAssignments",
            Operation::RegisterAssignment => "RegisterAssignment",
        }
    }

    /// The registry that offers it.
    pub fn registry(self) -> Registry {
        match self {
            Operation::VerifySnils => Registry::Snils,
            Operation::FindInn | Operation::VerifyInn => Registry::Inn,
            Operation::FindBirthRecord => Registry::Children,
            Operation::GetFamilyStatus
            | Operation::GetActiveAssignments
            | Operation::RegisterAssignment => Registry::Labour,
        }
    }

    /// The SOAPAction its WSDL binding names: `<namespace>/<name>`.
    pub fn soap_action(self) -> String {
        format!("{}/{}", self.registry().namespace(), self.name())
    }

    /// The local name of its request element.
    pub fn request_element(self) -> String {
        format!("{}Request", self.name())
    }

    /// The operation of `registry` that a SOAPAction header names (quotes around it allowed).
    pub fn from_action(registry: Registry, action: &str) -> Option<Operation> {
        let action = action.trim().trim_matches('"');
        Operation::ALL
            .into_iter()
            .find(|op| op.registry() == registry && op.soap_action() == action)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The request inside an envelope: its root element and its leaf values by local name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Namespace of the Body's first element.
    pub ns: Option<String>,
    /// Local name of the Body's first element.
    pub element: String,
    /// `(local name, text)` of every leaf element under it, in document order; attributes appear as
    /// `(@name, value)`.
    pub fields: Vec<(String, String)>,
}

impl Request {
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

/// Why an envelope's request could not be read.
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

/// Read the first element of `soap:Body` and collect its leaf values (streaming; the envelope has
/// already been validated, so only structure matters here).
pub fn read_request(bytes: &[u8]) -> Result<Request, ReadError> {
    let mut reader = XmlReader::from_bytes(bytes, Limits::default());
    // Depth of the open elements; `body_depth` is where soap:Body sits once seen.
    let mut depth = 0usize;
    let mut body_depth: Option<usize> = None;
    let mut request = Request::default();
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
            message: "soap:Body holds no request element".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_the_wsdl_pattern() {
        assert_eq!(
            Operation::VerifySnils.soap_action(),
            "urn://reggate/registry/snils/1.0.0/VerifySnils"
        );
        assert_eq!(
            Operation::from_action(
                Registry::Inn,
                "\"urn://reggate/registry/inn/1.0.0/VerifyInn\""
            ),
            Some(Operation::VerifyInn)
        );
        assert_eq!(
            Operation::from_action(
                Registry::Snils,
                "urn://reggate/registry/inn/1.0.0/VerifyInn"
            ),
            None
        );
    }

    #[test]
    fn leaves_are_collected_by_local_name() {
        let xml = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a:R xmlns:a="urn:x" n="7"><a:M><a:Id>1</a:Id></a:M><a:S> 123 </a:S><a:S>4</a:S></a:R></s:Body></s:Envelope>"#;
        let r = read_request(xml).expect("reads");
        assert_eq!(r.element, "R");
        assert_eq!(r.ns.as_deref(), Some("urn:x"));
        assert_eq!(r.get("@n"), Some("7"));
        assert_eq!(r.get("Id"), Some("1"));
        assert_eq!(r.all("S"), vec!["123", "4"]);
        assert_eq!(r.get("M"), None);
    }
}
