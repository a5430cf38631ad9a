//! The typed registry client: a [`Request`] in, a [`Reply`] out, through the one outbound pipeline
//! ([`SoapClient`]). It fills in the request metadata (a fresh message id, the time from the clock)
//! and reads the validated answer into types.

use std::sync::Arc;

use crate::clock::Clock;
use crate::contract::{Operation, read_tree};
use crate::registries::messages::{Metadata, Reply, Request};
use crate::soap::client::{CallContext, SoapClient};
use crate::soap::error::{CallError, Violation};

/// Typed calls to the four registries.
#[derive(Clone)]
pub struct Registries {
    soap: Arc<SoapClient>,
    clock: Arc<dyn Clock>,
}

impl Registries {
    /// Typed calls through `soap`, timestamps from `clock`.
    pub fn new(soap: Arc<SoapClient>, clock: Arc<dyn Clock>) -> Registries {
        Registries { soap, clock }
    }

    /// The pipeline underneath (token managers, breakers).
    pub fn soap(&self) -> &SoapClient {
        &self.soap
    }

    /// Send `request` and read its answer.
    pub async fn call(&self, ctx: &CallContext, request: &Request) -> Result<Reply, CallError> {
        let operation = request.operation();
        let meta = Metadata {
            message_id: crate::ids::uuid_v4(),
            timestamp: crate::clock::timestamp(self.clock.now()),
        };
        let answer = self
            .soap
            .call(ctx, operation, &request.to_xml(&meta))
            .await?;
        read_answer(operation, &answer.envelope)
    }
}

/// The typed answer of `operation` from its envelope, once the pipeline has judged it schema-valid
/// and not a fault ([`crate::soap::client::judge`]). A function of the bytes alone, so the fuzz
/// target `soap_reply` and its regression tests run exactly what a call runs.
pub fn read_answer(operation: Operation, envelope: &[u8]) -> Result<Reply, CallError> {
    let unreadable = |message: String| CallError::InvalidResponse {
        operation,
        status: 200,
        violations: vec![Violation {
            path: format!("/Envelope/Body/{}", operation.response_element()),
            rule: "reggate-answer".into(),
            message,
        }],
    };
    let root = read_tree(envelope).map_err(|e| unreadable(e.message))?;
    // Every response type may carry the registry's error instead of its result; only a
    // registration's answer has a place for it. Read as the result's absence it would say "not
    // found" (no INN, no birth record, no statuses) when the registry said "unavailable".
    if operation != Operation::RegisterAssignment
        && let Some(error) = root.child("Error")
    {
        return Err(CallError::Registry {
            operation,
            code: error.text_of("Code").unwrap_or("").to_string(),
            retryable: matches!(
                error.attribute("retryable").map(str::trim),
                Some("true" | "1")
            ),
        });
    }
    Reply::read(operation, &root).map_err(|e| unreadable(e.message))
}

#[cfg(test)]
mod tests {
    use crate::ids::uuid_v4;

    #[test]
    fn message_ids_are_version_4_uuids() {
        let re = regex::Regex::new(
            "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .expect("regex");
        let a = uuid_v4();
        assert!(re.is_match(&a), "{a}");
        assert_ne!(a, uuid_v4());
    }
}
