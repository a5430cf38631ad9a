//! The workflows, each written once, above the domain's rules, the registries and the store:
//!
//! - [`process::Worker::process`] (run by [`dispatch::run`], many at once): for a claimed
//!   application, ask the registries, decide, register an approval with the Ministry of Labour,
//!   write the decision — or park the application with its
//!   reason and next attempt, or hand it to a reviewer when waiting cannot help.
//! - [`Workflows::assess`]: the same questions and decision as a dry run, stored nowhere.
//! - [`Workflows::review`]: a reviewer's decision on an appeal or a manual review; an approval
//!   registers the assignment first.
//!
//! The HTTP handlers and the worker loop make one call each. "Ask, decide" is [`Workflows::evaluate`]
//! and "register" is [`Workflows::register`], shared by all three; every status change goes through
//! the state machine ([`crate::domain::status::transition`]).

pub mod checks;
pub mod dispatch;
pub mod gather;
pub mod process;
pub mod readiness;
pub mod retention;

use std::sync::Arc;

use crate::calendar::{Date, today};
use crate::clock::{Clock, millis};
use crate::domain::answers::Answers;
use crate::domain::eligibility::{Decision, OwnApproval, Reason, decide};
use crate::domain::ports::{CheckFailure, RegistryChecks};
use crate::domain::status::{Event, IllegalTransition, Status, transition};
use crate::domain::valid::{InvalidApplication, ValidApplication};
use crate::registries::messages::{NewAssignment, Registration};
use crate::service::gather::gather;
use crate::store::{ApplicationRecord, Store, StoreError, Transition, Transitioned};

/// Why a workflow did not finish. The API answers each kind its own way; none carries personal
/// values.
#[derive(Debug)]
pub enum ServiceError {
    /// The store failed.
    Store(StoreError),
    /// A registry could not answer (dry run, reviewer's approval): nothing was written.
    Registries(CheckFailure),
    /// A stored application does not decode: the store's data is damaged.
    Damaged {
        /// The application.
        application: String,
        /// The field at fault.
        source: InvalidApplication,
    },
    /// Not possible in the application's state.
    Illegal(IllegalTransition),
    /// The Ministry of Labour refused to register the assignment.
    Refused(Vec<Reason>),
    /// The application changed while the workflow ran.
    Changed,
    /// Another application for this child and benefit is approved.
    DuplicateApproval,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceError::Store(e) => e.fmt(f),
            ServiceError::Registries(e) => write!(f, "registries: {e}"),
            ServiceError::Damaged {
                application,
                source,
            } => write!(f, "stored application {application} is damaged: {source}"),
            ServiceError::Illegal(e) => e.fmt(f),
            ServiceError::Refused(reasons) => {
                let why: Vec<_> = reasons.iter().map(|r| r.message.as_str()).collect();
                f.write_str(&why.join("; "))
            }
            ServiceError::Changed => f.write_str("the application changed meanwhile"),
            ServiceError::DuplicateApproval => {
                f.write_str("another application for this child and benefit is already approved")
            }
        }
    }
}

impl std::error::Error for ServiceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServiceError::Store(e) => Some(e),
            ServiceError::Registries(e) => Some(e),
            ServiceError::Damaged { source, .. } => Some(source),
            ServiceError::Illegal(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        ServiceError::Store(e)
    }
}

impl From<IllegalTransition> for ServiceError {
    fn from(e: IllegalTransition) -> ServiceError {
        ServiceError::Illegal(e)
    }
}

/// The stored application of `record`, decoded once for every workflow.
pub fn application_of(record: &ApplicationRecord) -> Result<ValidApplication, ServiceError> {
    ValidApplication::decode(&record.input).map_err(|source| ServiceError::Damaged {
        application: record.id.clone(),
        source,
    })
}

/// Who asks for a change, and on which request (journal fields).
#[derive(Clone, Debug)]
pub struct Actor {
    /// `key:<id>`, `cert:<CN>`, `worker:<name>`.
    pub actor: String,
    /// The address the cabinet passed on.
    pub origin: String,
    /// The request id that follows the change into logs, SOAP calls and the journal.
    pub request_id: String,
}

/// What a round of questions and the rules gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The decision (before registration).
    pub decision: Decision,
    /// Every answer it rests on (to store with the decision).
    pub answers: Answers,
}

/// A reviewer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Grant (registers the assignment first).
    Approve,
    /// Refuse.
    Reject,
}

/// What the workflows share.
#[derive(Clone)]
pub struct Workflows {
    /// Applications.
    pub store: Arc<dyn Store>,
    /// The registries.
    pub checks: Arc<dyn RegistryChecks>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Workflows {
    /// Ask the registries what `known` does not already answer, add reggate's own approvals for the
    /// child (other than `except`), and apply the rules.
    pub async fn evaluate(
        &self,
        app: &ValidApplication,
        known: Answers,
        except: Option<&str>,
        request_id: &str,
    ) -> Result<Evaluation, ServiceError> {
        let now = self.clock.now();
        let gathered = gather(self.checks.as_ref(), request_id, app, known, millis(now))
            .await
            .map_err(ServiceError::Registries)?;
        let mut facts = gathered.facts;
        facts.own_approved = self.own_approvals(app, except).await?;
        Ok(Evaluation {
            decision: decide(app, &facts, today(now)),
            answers: gathered.answers,
        })
    }

    /// reggate's own approvals for the application's child, other than `except` (the duplicate
    /// rule). A stored approval that does not decode stops the decision: skipping it could approve
    /// a duplicate.
    pub async fn own_approvals(
        &self,
        app: &ValidApplication,
        except: Option<&str>,
    ) -> Result<Vec<OwnApproval>, ServiceError> {
        let mut out = Vec::new();
        for own in self
            .store
            .approved_for_child(app.child().snils.as_str())
            .await?
        {
            if Some(own.id.as_str()) == except {
                continue;
            }
            let other = application_of(&own)?;
            out.push(OwnApproval {
                application_number: own.number.clone(),
                benefit: other.benefit(),
                recipient_snils: other.applicant().snils.clone(),
                from: other.period().map_or(
                    Date::from_day(crate::calendar::day_of(own.submitted_ms)),
                    |p| p.from,
                ),
                to: other.period().and_then(|p| p.to),
            });
        }
        Ok(out)
    }

    /// Register the approved assignment of `record`; the Ministry's refusal comes back as reasons
    /// (a rejection), a registry failure as such.
    pub async fn register(
        &self,
        record: &ApplicationRecord,
        app: &ValidApplication,
        request_id: &str,
    ) -> Result<Option<Vec<Reason>>, CheckFailure> {
        let new = assignment_for(record, app, today(self.clock.now()));
        let registration = self.checks.register(request_id, &new).await?;
        Ok(refusal(&registration))
    }

    /// The dry run: what the registries and the rules say of `app` now, stored nowhere (the
    /// exchanges are in the message log).
    pub async fn assess(
        &self,
        app: &ValidApplication,
        request_id: &str,
    ) -> Result<Decision, ServiceError> {
        Ok(self
            .evaluate(app, Answers::default(), None, request_id)
            .await?
            .decision)
    }

    /// A reviewer decides an appeal or a manual review. An approval registers the assignment with
    /// the Ministry of Labour first; its refusal is [`ServiceError::Refused`] and nothing is
    /// written.
    pub async fn review(
        &self,
        record: &ApplicationRecord,
        verdict: Verdict,
        comment: String,
        by: Actor,
    ) -> Result<ApplicationRecord, ServiceError> {
        let event = match verdict {
            Verdict::Approve => Event::Approve,
            Verdict::Reject => Event::Reject,
        };
        // A reviewer decides appeals and what the checks could not; an application under the
        // worker's review is the worker's (its registration may be in flight).
        if !matches!(record.status, Status::AppealReview | Status::ManualReview) {
            return Err(ServiceError::Illegal(IllegalTransition {
                from: record.status,
                event,
                reason: "a reviewer decides appeals and manual reviews only",
            }));
        }
        let to = transition(record.status, event, None)?;
        if to == Status::Approved {
            let app = application_of(record)?;
            if let Some(reasons) = self
                .register(record, &app, &by.request_id)
                .await
                .map_err(ServiceError::Registries)?
            {
                return Err(ServiceError::Refused(reasons));
            }
        }
        let t = Transition {
            comment: Some(comment),
            ..self.by_caller(
                record,
                to,
                by,
                serde_json::json!([{"code": "reviewer_decision"}]),
            )
        };
        self.write(t).await
    }

    /// A transition a caller asks for (no lease; input and answers stay as stored).
    pub fn by_caller(
        &self,
        record: &ApplicationRecord,
        to: Status,
        by: Actor,
        reasons: serde_json::Value,
    ) -> Transition {
        Transition {
            id: record.id.clone(),
            from: record.status,
            to,
            actor: by.actor,
            origin: by.origin,
            reasons,
            comment: None,
            request_id: by.request_id,
            at: self.clock.now(),
            lease_holder: None,
            input: None,
            answers: None,
            documents_added: Vec::new(),
            manifest: None,
        }
    }

    /// Write a caller's transition; a concurrent change is [`ServiceError::Changed`].
    pub async fn write(&self, t: Transition) -> Result<ApplicationRecord, ServiceError> {
        match self.store.transition(t).await? {
            Transitioned::Done(r) => Ok(*r),
            Transitioned::Stale => Err(ServiceError::Changed),
            Transitioned::DuplicateApproval => Err(ServiceError::DuplicateApproval),
        }
    }
}

/// The assignment to register for an approved application (its number is the idempotency key).
pub fn assignment_for(
    record: &ApplicationRecord,
    app: &ValidApplication,
    today: i32,
) -> NewAssignment {
    let benefit = app.benefit();
    let from = app
        .period()
        .map_or(Date::from_day(today), |p| p.from)
        .to_string();
    NewAssignment {
        application_number: record.number.clone(),
        benefit_code: benefit.code().to_string(),
        child_snils: app.child().snils.as_str().to_string(),
        recipient_snils: app.applicant().snils.as_str().to_string(),
        from,
        to: app.period().and_then(|p| p.to).map(|d| d.to_string()),
        amount: benefit.monthly_amount().to_string(),
        region_code: app.applicant.registration_address.region_code.clone(),
        decision_date: Date::from_day(today).to_string(),
        phone: Some(app.applicant.phone.clone()).filter(|p| !p.is_empty()),
        email: Some(app.applicant.email.clone()).filter(|e| !e.is_empty()),
    }
}

/// Why the Ministry of Labour refused to register an assignment, per conflict (none: registered).
/// The messages name the conflict and the existing assignment's id, never the people on it.
pub fn refusal(registration: &Registration) -> Option<Vec<Reason>> {
    match registration {
        Registration::Registered { .. } => None,
        Registration::Conflict(conflicts) => Some(
            conflicts
                .iter()
                .map(|c| Reason {
                    pointer: "/benefit".into(),
                    code: "duplicate_benefit".into(),
                    message: format!(
                        "the Ministry of Labour refused the assignment ({}): assignment {}",
                        c.reason, c.assignment.assignment_id
                    ),
                })
                .collect(),
        ),
        Registration::Error { code, message } => Some(vec![Reason {
            pointer: "/benefit".into(),
            code: "registration_refused".into(),
            message: format!("the Ministry of Labour refused the assignment: {code} {message}"),
        }]),
    }
}
