//! SOAP 1.1 faults as both sides of the wire speak them: a standard `faultcode` — `soap:Client` (the
//! request is wrong and stays wrong as sent) or `soap:Server` (the registry could not answer it now)
//! — never in dot notation (WS-I Basic Profile 1.1, R1031), and the registry's own code in
//! `detail/cmn:RegistryFault` (`cmn:ErrorType`: `Code`, `Message`, `retryable`), the fault element
//! every registry WSDL declares and SOAP 1.1 §4.4 requires for a fault about the Body. The mock
//! registries write faults from a [`Reason`]; the gateway's pipeline reads them with [`Fault::read`]
//! and decides on the detail's code, so a client no one here wrote (zeep, SoapUI) reads the same.

use crate::contract::{ReadError, SOAP_NS, read_tree};

/// The namespace of the common types (prefix `cmn`), where `RegistryFault` is declared.
pub const COMMON_NS: &str = "urn://reggate/common/types/1.0.0";

/// The standard SOAP 1.1 fault codes a registry answers a call with (§4.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultClass {
    /// The message was wrong (or unauthorised): sent again unchanged, it fails again.
    Client,
    /// The registry could not process a message that may be fine: it may succeed later.
    Server,
}

impl FaultClass {
    /// The `faultcode` QName, with the envelope's `soap` prefix.
    pub fn qname(self) -> &'static str {
        match self {
            FaultClass::Client => "soap:Client",
            FaultClass::Server => "soap:Server",
        }
    }

    /// The class a `faultcode` names: its local part up to the first dot, so a registry that still
    /// sends dot notation (`soap:Server.Busy`, SOAP 1.1 allows it) is read by its class. The prefix
    /// is not resolved: the payload reader keeps no namespace bindings, and the schema has already
    /// checked it is a QName whose prefix is declared.
    pub fn of(faultcode: &str) -> Option<FaultClass> {
        let code = faultcode.trim();
        let local = code.rsplit_once(':').map_or(code, |(_, l)| l);
        match local.split('.').next() {
            Some("Client") => Some(FaultClass::Client),
            Some("Server") => Some(FaultClass::Server),
            _ => None,
        }
    }
}

/// Why the mock registries refuse a call: each reason is one code of `cmn:ErrorCodeType` in the
/// fault's detail, under one standard fault class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The request's `Content-Type` is not `text/xml` (SOAP 1.1 over HTTP, §6.1.1).
    ContentType,
    /// The `SOAPAction` names no operation of this registry, or not the one the Body holds.
    SoapAction,
    /// No `Authorization: Bearer` token.
    TokenMissing,
    /// A token the registry never issued.
    TokenUnknown,
    /// A token whose lifetime is over: a fresh one from the token endpoint makes the same call good.
    TokenExpired,
    /// The envelope breaks the schemas (or is not XML at all).
    SchemaViolation,
    /// A schema-valid envelope that holds no call (an empty Body).
    MalformedRequest,
    /// The request body is larger than the registry reads.
    RequestTooLarge,
    /// More calls than the registry takes: later, the same call is answered.
    RateLimited,
    /// The registry failed while answering.
    InternalError,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 10] = [
        Reason::ContentType,
        Reason::SoapAction,
        Reason::TokenMissing,
        Reason::TokenUnknown,
        Reason::TokenExpired,
        Reason::SchemaViolation,
        Reason::MalformedRequest,
        Reason::RequestTooLarge,
        Reason::RateLimited,
        Reason::InternalError,
    ];

    /// Its code in `cmn:RegistryFault/cmn:Code` (`cmn:ErrorCodeType`: `[A-Z][A-Z0-9_]{2,63}`).
    pub fn code(self) -> &'static str {
        match self {
            Reason::ContentType => "CONTENT_TYPE",
            Reason::SoapAction => "SOAP_ACTION",
            Reason::TokenMissing => "TOKEN_MISSING",
            Reason::TokenUnknown => "TOKEN_UNKNOWN",
            Reason::TokenExpired => "TOKEN_EXPIRED",
            Reason::SchemaViolation => "SCHEMA_VIOLATION",
            Reason::MalformedRequest => "MALFORMED_REQUEST",
            Reason::RequestTooLarge => "REQUEST_TOO_LARGE",
            Reason::RateLimited => "RATE_LIMITED",
            Reason::InternalError => "INTERNAL_ERROR",
        }
    }

    /// The reason a detail code names, if it is one of these.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The standard fault code it goes under: the caller's mistakes are `Client`, the registry's
    /// trouble (a rate limit included: the message is fine, the registry busy) `Server`.
    pub fn class(self) -> FaultClass {
        match self {
            Reason::RateLimited | Reason::InternalError => FaultClass::Server,
            _ => FaultClass::Client,
        }
    }

    /// The detail's `retryable`: whether the call may succeed if made again — later, or (for an
    /// expired token) with a fresh token.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Reason::TokenExpired | Reason::RateLimited | Reason::InternalError
        )
    }
}

/// `soap:Fault/detail/cmn:RegistryFault`: the registry's own account of a fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    /// `cmn:Code` (`TOKEN_EXPIRED`); see [`Reason::from_code`] for the ones the mocks send.
    pub code: String,
    /// `cmn:Message`.
    pub message: String,
    /// The `retryable` attribute (false when absent, its schema default).
    pub retryable: bool,
}

/// A SOAP 1.1 Fault as read from an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `faultcode` as written (`soap:Client`).
    pub code: String,
    /// `faultstring`.
    pub message: String,
    /// The registry's detail, when the fault carries a `cmn:RegistryFault`.
    pub detail: Option<Detail>,
}

impl Fault {
    /// The fault in an envelope's Body; `None` when the Body holds something else. Only a
    /// `RegistryFault` of the common-types namespace counts as the detail: `detail` may carry
    /// elements of any other namespace besides it.
    pub fn read(envelope: &[u8]) -> Result<Option<Fault>, ReadError> {
        let root = read_tree(envelope)?;
        if root.name != "Fault" || root.ns.as_deref() != Some(SOAP_NS) {
            return Ok(None);
        }
        let detail = root
            .child("detail")
            .and_then(|d| {
                d.children
                    .iter()
                    .find(|c| c.name == "RegistryFault" && c.ns.as_deref() == Some(COMMON_NS))
            })
            .map(|r| Detail {
                code: r.text_of("Code").unwrap_or("").to_string(),
                message: r.text_of("Message").unwrap_or("").to_string(),
                retryable: matches!(r.attribute("retryable"), Some("true" | "1")),
            });
        Ok(Some(Fault {
            code: root.text_of("faultcode").unwrap_or("").to_string(),
            message: root.text_of("faultstring").unwrap_or("").to_string(),
            detail,
        }))
    }

    /// Its class, from the `faultcode`.
    pub fn class(&self) -> Option<FaultClass> {
        FaultClass::of(&self.code)
    }

    /// The detail's code, if any.
    pub fn detail_code(&self) -> Option<&str> {
        self.detail.as_ref().map(|d| d.code.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_read_from_plain_and_dotted_codes() {
        assert_eq!(FaultClass::of("soap:Client"), Some(FaultClass::Client));
        assert_eq!(FaultClass::of("SOAP-ENV:Server"), Some(FaultClass::Server));
        assert_eq!(FaultClass::of("soap:Server.Busy"), Some(FaultClass::Server));
        assert_eq!(FaultClass::of(" Client "), Some(FaultClass::Client));
        assert_eq!(FaultClass::of("soap:MustUnderstand"), None);
        assert_eq!(FaultClass::of(""), None);
    }

    #[test]
    fn every_reason_has_a_schema_shaped_code_and_reads_back() {
        let shape = regex::Regex::new("^[A-Z][A-Z0-9_]{2,63}$").expect("pattern");
        for r in Reason::ALL {
            assert!(shape.is_match(r.code()), "{r:?}");
            assert_eq!(Reason::from_code(r.code()), Some(r));
            assert!(!r.class().qname().contains('.'), "R1031: {r:?}");
        }
        assert_eq!(Reason::from_code("NOPE"), None);
    }

    #[test]
    fn the_detail_is_read_by_namespace() {
        let xml = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>expired</faultstring><detail><o:RegistryFault xmlns:o="urn:other"><o:Code>OTHER</o:Code></o:RegistryFault><c:RegistryFault xmlns:c="urn://reggate/common/types/1.0.0" retryable="true"><c:Code>TOKEN_EXPIRED</c:Code><c:Message>expired</c:Message></c:RegistryFault></detail></s:Fault></s:Body></s:Envelope>"#;
        let fault = Fault::read(xml).expect("reads").expect("a fault");
        assert_eq!(fault.code, "s:Client");
        assert_eq!(fault.class(), Some(FaultClass::Client));
        assert_eq!(
            fault.detail,
            Some(Detail {
                code: "TOKEN_EXPIRED".into(),
                message: "expired".into(),
                retryable: true
            })
        );
        let bare = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>"#;
        let fault = Fault::read(bare).expect("reads").expect("a fault");
        assert_eq!((fault.detail_code(), fault.message.as_str()), (None, "x"));
        let payload = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a:Fault xmlns:a="urn:a"/></s:Body></s:Envelope>"#;
        assert_eq!(Fault::read(payload).expect("reads"), None);
    }
}
