//! What the domain needs from outside, as traits (ports): the registries' answers to its questions
//! and the registration of an approved assignment. The SOAP pipeline implements them
//! ([`crate::service::checks`]); tests implement them with fakes. The domain never sees a SOAP error:
//! a failure arrives as a [`CheckFailure`] that says whether waiting can cure it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::domain::answers::{Answer, Question};
use crate::domain::valid::ValidApplication;
use crate::registries::messages::{NewAssignment, Registration};

/// Whether waiting can cure a failed registry call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The registry is down, slow, busy or answered garbage this time: ask again later.
    Outage,
    /// The registry answers, but wrongly (schema-invalid replies, the wrong kind of answer, an HTTP
    /// status without SOAP): it may pass, but not by waiting a few seconds. Bounded by attempts and
    /// time, then a person looks.
    BadAnswer,
    /// Asking again cannot help: our own request breaks our schema (it was never sent), or the
    /// registry refuses the request as wrong. A person has to look.
    Defect,
}

impl FailureKind {
    /// Whether it counts towards handing the application to a reviewer.
    pub fn counts_as_defect(self) -> bool {
        !matches!(self, FailureKind::Outage)
    }
}

/// Why a registry question went unanswered. Its text names the registry, the operation and the
/// kind of failure, never personal values (it reaches the journal and the API).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckFailure {
    /// The registry (`snils`, `inn`, `children`, `labour`).
    pub registry: String,
    /// Outage or defect.
    pub kind: FailureKind,
    /// What happened.
    pub reason: String,
    /// How long the registry asked to wait, if it said.
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for CheckFailure {}

/// The future the registry side returns.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, CheckFailure>> + Send + 'a>>;

/// What the domain needs from the registries.
pub trait RegistryChecks: Send + Sync {
    /// Answer `questions` about an application, independent ones in parallel; any unanswerable
    /// question fails the whole round (a defect wins over an outage: it will not go away).
    fn ask<'a>(
        &'a self,
        request_id: &'a str,
        app: &'a ValidApplication,
        questions: &'a [Question],
    ) -> Pending<'a, Vec<Answer>>;
    /// Register an approved assignment.
    fn register<'a>(
        &'a self,
        request_id: &'a str,
        a: &'a NewAssignment,
    ) -> Pending<'a, Registration>;
}
