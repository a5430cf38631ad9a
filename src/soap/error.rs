//! What can go wrong with a registry call, in terms the caller can act on: whether it was our request
//! or their answer that was invalid, whether the registry said no or could not be reached, and whether
//! trying again may help. Messages carry paths and rules, never personal values (the validator masks
//! them).

use std::fmt;
use std::time::Duration;

use crate::contract::fault::Detail;
use crate::contract::{FaultClass, Operation, Reason, Registry};
use crate::soap::token::TokenError;
use crate::xml::validate::Report;

/// One schema violation, as errors carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// XML path of the offending node.
    pub path: String,
    /// The XSD rule broken (`cvc-…`).
    pub rule: String,
    /// What is wrong (values masked).
    pub message: String,
}

impl Violation {
    /// The violations of a report (at most 20).
    pub fn from_report(report: &Report) -> Vec<Violation> {
        report
            .violations
            .iter()
            .take(20)
            .map(|v| Violation {
                path: v.path.clone(),
                rule: v.rule.to_string(),
                message: v.message.clone(),
            })
            .collect()
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}] {}", self.path, self.rule, self.message)
    }
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// Our outgoing request broke the schema: it was not sent.
    InvalidRequest {
        /// The operation called.
        operation: Operation,
        /// What is wrong with it.
        violations: Vec<Violation>,
    },
    /// The registry's answer broke the schema, is not XML at all or is larger than
    /// [`MAX_ANSWER`](crate::soap::transport::MAX_ANSWER): it is not trusted.
    InvalidResponse {
        /// The operation called.
        operation: Operation,
        /// HTTP status of the answer.
        status: u16,
        /// What is wrong with it.
        violations: Vec<Violation>,
    },
    /// The registry answered with a SOAP Fault. Decisions go by the standard code's class and the
    /// registry's own code in the detail ([`crate::contract::fault`]).
    Fault {
        /// The operation called.
        operation: Operation,
        /// HTTP status of the answer.
        status: u16,
        /// `faultcode` as sent: `soap:Client` or `soap:Server`.
        code: String,
        /// `faultstring`.
        message: String,
        /// `detail/cmn:RegistryFault`: the registry's code (`TOKEN_EXPIRED`), message and
        /// `retryable`, when the fault carries one.
        detail: Option<Detail>,
        /// `Retry-After`, when the answer had one.
        retry_after: Option<Duration>,
    },
    /// The registry answered with its own error element (`cmn:ErrorType`, which every response
    /// type offers in place of its result) where the typed answer has no place for one.
    Registry {
        /// The operation called.
        operation: Operation,
        /// The registry's error code (`REGISTRY_UNAVAILABLE`).
        code: String,
        /// The error's `retryable` attribute.
        retryable: bool,
    },
    /// An HTTP status without a SOAP answer (a 503 page, a 404).
    Http {
        /// The operation called.
        operation: Operation,
        /// HTTP status.
        status: u16,
        /// `Retry-After`, when the answer had one.
        retry_after: Option<Duration>,
    },
    /// Connecting, the TLS handshake, or reading the answer failed.
    Transport {
        /// The registry called.
        registry: Registry,
        /// What failed.
        message: String,
    },
    /// The call's deadline passed.
    Timeout {
        /// The registry called.
        registry: Registry,
        /// The deadline.
        after: Duration,
    },
    /// The registry's circuit breaker is open: nothing was sent.
    CircuitOpen {
        /// The registry.
        registry: Registry,
        /// When it lets a probe through.
        retry_in: Duration,
    },
    /// No access token could be had.
    Token(TokenError),
}

impl CallError {
    /// Whether it is a SOAP Fault whose detail names `reason` (by its code).
    pub fn is_fault(&self, reason: Reason) -> bool {
        matches!(self, CallError::Fault { detail: Some(d), .. } if d.code == reason.code())
    }

    /// Whether trying again (later) may succeed: transport trouble, timeouts, 5xx and 429, server-side
    /// faults, faults whose detail says `retryable`, an expired token. A request the registry rejects
    /// as wrong stays wrong.
    pub fn retryable(&self) -> bool {
        match self {
            CallError::InvalidRequest { .. } => false,
            // A broken answer is the registry's trouble; the same request may well get a good one.
            CallError::InvalidResponse { .. } => true,
            CallError::Fault {
                code,
                status,
                detail,
                ..
            } => {
                FaultClass::of(code) == Some(FaultClass::Server)
                    || detail.as_ref().is_some_and(|d| d.retryable)
                    || self.is_fault(Reason::TokenExpired)
                    || *status == 429
                    || *status == 503
            }
            CallError::Registry { retryable, .. } => *retryable,
            CallError::Http { status, .. } => *status == 429 || *status >= 500,
            CallError::Transport { .. } | CallError::Timeout { .. } => true,
            CallError::CircuitOpen { .. } | CallError::Token(_) => true,
        }
    }

    /// Whether it says the registry is unwell (what the circuit breaker counts): not a business
    /// fault, not our own mistake, not a rate limit (the registry is fine, just busy).
    pub fn counts_against_registry(&self) -> bool {
        match self {
            CallError::InvalidResponse { .. }
            | CallError::Transport { .. }
            | CallError::Timeout { .. } => true,
            CallError::Http { status, .. } => *status >= 500,
            // "Unavailable, try later" is the registry saying it is unwell.
            CallError::Registry { retryable, .. } => *retryable,
            CallError::Fault { code, status, .. } => {
                FaultClass::of(code) == Some(FaultClass::Server)
                    && !self.is_fault(Reason::RateLimited)
                    && *status != 429
            }
            _ => false,
        }
    }

    /// A fault's name for people: the standard code and the detail's code, `soap:Client/TOKEN_EXPIRED`
    /// (the code alone when there is no detail).
    pub fn fault_name(&self) -> Option<String> {
        match self {
            CallError::Fault {
                code,
                detail: Some(d),
                ..
            } => Some(format!("{code}/{}", d.code)),
            CallError::Fault { code, .. } => Some(code.clone()),
            _ => None,
        }
    }

    /// The `Retry-After` the registry asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Fault { retry_after, .. } | CallError::Http { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::InvalidRequest { .. } => "invalid_request",
            CallError::InvalidResponse { .. } => "invalid_response",
            CallError::Fault { .. } => "fault",
            CallError::Registry { .. } => "registry_error",
            CallError::Http { .. } => "http_status",
            CallError::Transport { .. } => "transport",
            CallError::Timeout { .. } => "timeout",
            CallError::CircuitOpen { .. } => "circuit_open",
            CallError::Token(_) => "token",
        }
    }
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::InvalidRequest {
                operation,
                violations,
            } => write!(
                f,
                "outgoing {operation} request is schema-invalid, not sent: {}",
                list(violations)
            ),
            CallError::InvalidResponse {
                operation,
                status,
                violations,
            } => write!(
                f,
                "{} registry answered {operation} (HTTP {status}) with a schema-invalid response: {}",
                operation.registry(),
                list(violations)
            ),
            CallError::Fault {
                operation,
                status,
                message,
                ..
            } => write!(
                f,
                "{} registry answered {operation} with fault {} (HTTP {status}): {message}",
                operation.registry(),
                self.fault_name().unwrap_or_default()
            ),
            // The code only: the message is the registry's text, not ours to vouch for.
            CallError::Registry {
                operation, code, ..
            } => write!(
                f,
                "{} registry answered {operation} with error {code}",
                operation.registry()
            ),
            CallError::Http {
                operation, status, ..
            } => write!(
                f,
                "{} registry answered {operation} with HTTP {status} and no SOAP message",
                operation.registry()
            ),
            CallError::Transport { registry, message } => {
                write!(f, "{registry} registry unreachable: {message}")
            }
            CallError::Timeout { registry, after } => write!(
                f,
                "{registry} registry call gave up after {} ms",
                after.as_millis()
            ),
            CallError::CircuitOpen { registry, retry_in } => write!(
                f,
                "{registry} registry circuit open (too many failures); next try in {} ms",
                retry_in.as_millis()
            ),
            CallError::Token(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: &str, status: u16, detail: Option<(&str, bool)>) -> CallError {
        CallError::Fault {
            operation: Operation::VerifySnils,
            status,
            code: code.to_string(),
            message: "m".to_string(),
            detail: detail.map(|(code, retryable)| Detail {
                code: code.to_string(),
                message: "m".to_string(),
                retryable,
            }),
            retry_after: None,
        }
    }

    #[test]
    fn faults_are_judged_by_class_and_detail_code() {
        // (fault, retryable, counts against the registry)
        let cases = [
            (
                fault("soap:Server", 500, Some(("INTERNAL_ERROR", true))),
                true,
                true,
            ),
            (fault("soap:Server", 500, None), true, true),
            // A registry still speaking dot notation is read by its class.
            (fault("soap:Server.Busy", 500, None), true, true),
            // Busy, not unwell: retried, not held against it.
            (
                fault("soap:Server", 429, Some(("RATE_LIMITED", true))),
                true,
                false,
            ),
            (
                fault("soap:Server", 500, Some(("RATE_LIMITED", true))),
                true,
                false,
            ),
            (
                fault("soap:Client", 500, Some(("TOKEN_EXPIRED", true))),
                true,
                false,
            ),
            (
                fault("soap:Client", 500, Some(("TOKEN_EXPIRED", false))),
                true,
                false,
            ),
            (
                fault("soap:Client", 500, Some(("SCHEMA_VIOLATION", false))),
                false,
                false,
            ),
            (
                fault("soap:Client", 500, Some(("REQUEST_TOO_LARGE", false))),
                false,
                false,
            ),
            (fault("soap:Client", 500, None), false, false),
            // The registry's own word that a retry may help.
            (
                fault("soap:Client", 500, Some(("TRY_LATER", true))),
                true,
                false,
            ),
        ];
        for (e, retryable, counts) in cases {
            assert_eq!(e.retryable(), retryable, "{e:?}");
            assert_eq!(e.counts_against_registry(), counts, "{e:?}");
        }
        let expired = fault("soap:Client", 500, Some(("TOKEN_EXPIRED", true)));
        assert!(expired.is_fault(Reason::TokenExpired));
        assert!(!expired.is_fault(Reason::RateLimited));
        assert!(!fault("soap:Client", 500, None).is_fault(Reason::TokenExpired));
        assert_eq!(
            expired.to_string(),
            "snils registry answered VerifySnils with fault soap:Client/TOKEN_EXPIRED (HTTP 500): m"
        );
        assert_eq!(
            fault("soap:Server", 500, None).fault_name().as_deref(),
            Some("soap:Server")
        );
    }
}
