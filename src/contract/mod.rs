//! The registry contract: the four registries and their seven operations as their WSDLs describe
//! them (endpoint names, namespaces, SOAPActions, request elements), the reader of a SOAP
//! envelope's payload, and SOAP faults: standard codes, the registry's own code in the detail
//! ([`fault`]). Both sides of the wire speak in these terms: the gateway's outbound pipeline
//! ([`crate::soap`]), the typed messages ([`crate::registries`]) and the mock registries
//! ([`crate::mock`]). It sits right above [`crate::xml`] and knows nothing of the network.

use std::fmt;

pub mod fault;
mod payload;

pub use fault::{Fault, FaultClass, Reason};
pub use payload::{Node, Payload, ReadError, read_payload, read_tree};

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

    /// The local name of its response element.
    pub fn response_element(self) -> String {
        format!("{}Response", self.name())
    }

    /// Whether a failed call may be sent again: the six queries change nothing, and registering an
    /// assignment is idempotent by application number (the registry answers `ALREADY_REGISTERED`).
    /// Every operation is safe today; an operation that is not must say so here.
    pub fn retry_safe(self) -> bool {
        match self {
            Operation::VerifySnils
            | Operation::FindInn
            | Operation::VerifyInn
            | Operation::FindBirthRecord
            | Operation::GetFamilyStatus
            | Operation::GetActiveAssignments
            | Operation::RegisterAssignment => true,
        }
    }

    /// Whether it changes what the registry holds (the six queries do not; registering does), so
    /// that the same call later may be answered differently.
    pub fn changes_registry(self) -> bool {
        match self {
            Operation::RegisterAssignment => true,
            Operation::VerifySnils
            | Operation::FindInn
            | Operation::VerifyInn
            | Operation::FindBirthRecord
            | Operation::GetFamilyStatus
            | Operation::GetActiveAssignments => false,
        }
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
}
