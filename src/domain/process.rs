//! Processing one application: claim it under a lease, gather what the registries say (independent
//! calls in parallel), decide, register the assignment with the Ministry of Labour on approval, and
//! write decision + journal + event in one transaction. A registry outage parks the application: no
//! transition is written, the lease runs out, and a later claim tries again — nothing is failed for
//! an outage.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, millis};
use crate::domain::answers::{Answer, Answers, Question, gather};
use crate::domain::application::{ApplicationInput, Benefit};
use crate::domain::calendar::{day_of, fmt_date};
use crate::domain::eligibility::{Decision, OwnApproval, Reason, decide};
use crate::domain::status::Status;
use crate::registries::messages::{NewAssignment, Registration};
use crate::store::{ApplicationRecord, Store, StoreError, Transition, Transitioned};

/// Why the registries could not be asked (an outage: the application is parked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// The future the registry side returns.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, Unavailable>> + Send + 'a>>;

/// What the domain needs from the registries (implemented over the SOAP pipeline by
/// [`crate::registries::checks`], by fakes in tests).
pub trait RegistryChecks: Send + Sync {
    /// Answer `questions` about an application, independent ones in parallel; any unanswerable
    /// question makes the whole round unavailable.
    fn ask<'a>(
        &'a self,
        request_id: &'a str,
        app: &'a ApplicationInput,
        questions: &'a [Question],
    ) -> Pending<'a, Vec<Answer>>;
    /// Register an approved assignment.
    fn register<'a>(
        &'a self,
        request_id: &'a str,
        a: &'a NewAssignment,
    ) -> Pending<'a, Registration>;
}

/// What processing did.
#[derive(Clone, Debug, PartialEq)]
pub enum Processed {
    /// Nothing to claim.
    Idle,
    /// Decided and written.
    Decided(Box<ApplicationRecord>),
    /// Registries unavailable: left for a later claim.
    Parked {
        /// The application.
        id: String,
        /// Why.
        reason: String,
    },
    /// Another worker got there first (lease lost or state moved): nothing written.
    Lost {
        /// The application.
        id: String,
    },
}

/// reggate's own approvals for the application's child, other than `except` (the duplicate rule).
pub async fn own_approvals(
    store: &dyn Store,
    input: &ApplicationInput,
    except: Option<&str>,
) -> Result<Vec<OwnApproval>, StoreError> {
    let mut out = Vec::new();
    for own in store.approved_for_child(&input.child.snils).await? {
        if Some(own.id.as_str()) == except {
            continue;
        }
        let Ok(other) = serde_json::from_value::<ApplicationInput>(own.input.clone()) else {
            continue;
        };
        if let (Some(benefit), Some(recipient)) = (other.benefit(), other.applicant.snils.clone()) {
            out.push(OwnApproval {
                application_number: own.number.clone(),
                benefit,
                recipient_snils: recipient,
                from: other
                    .period
                    .as_ref()
                    .map(|p| p.from.clone())
                    .unwrap_or_else(|| crate::domain::calendar::fmt_date(day_of(own.submitted_ms))),
                to: other.period.and_then(|p| p.to),
            });
        }
    }
    Ok(out)
}

/// The assignment to register for an approved application (its number is the idempotency key).
pub fn assignment_for(
    record: &ApplicationRecord,
    app: &ApplicationInput,
    today: i32,
) -> NewAssignment {
    let benefit = app.benefit().unwrap_or(Benefit::ChildcareUnder1_5);
    let from = app
        .period
        .as_ref()
        .map(|p| p.from.clone())
        .unwrap_or_else(|| fmt_date(today));
    NewAssignment {
        application_number: record.number.clone(),
        benefit_code: benefit.code().to_string(),
        child_snils: app.child.snils.clone(),
        recipient_snils: app.applicant.snils.clone().unwrap_or_default(),
        from,
        to: app.period.as_ref().and_then(|p| p.to.clone()),
        amount: benefit.monthly_amount().to_string(),
        region_code: app.applicant.registration_address.region_code.clone(),
        decision_date: fmt_date(today),
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

/// A worker's settings.
#[derive(Clone, Debug)]
pub struct Worker {
    /// Its name in leases and journals.
    pub name: String,
    /// How long a claim holds.
    pub lease: Duration,
}

fn reasons_json(reasons: &[Reason]) -> serde_json::Value {
    serde_json::to_value(reasons).unwrap_or_else(|_| serde_json::json!([]))
}

impl Worker {
    /// Claim and process one application.
    pub async fn process_one(
        &self,
        store: &dyn Store,
        checks: &dyn RegistryChecks,
        clock: &Arc<dyn Clock>,
    ) -> Result<Processed, StoreError> {
        let now = clock.now();
        let Some(record) = store.claim(&self.name, now, self.lease).await? else {
            return Ok(Processed::Idle);
        };
        let request_id = format!("work-{}", record.number);
        let app: ApplicationInput = match serde_json::from_value(record.input.clone()) {
            Ok(a) => a,
            Err(e) => {
                return Err(StoreError(format!(
                    "stored input of {} unreadable: {e}",
                    record.id
                )));
            }
        };
        // Answers from an earlier round (before a clarification) are reused where still good.
        let known: Answers = record
            .answers
            .clone()
            .and_then(|a| serde_json::from_value(a).ok())
            .unwrap_or_default();
        let gathered = match gather(checks, &request_id, &app, known, millis(now)).await {
            Ok(g) => g,
            Err(Unavailable(reason)) => {
                tracing::warn!(application = %record.number, %reason, "registries unavailable; parked");
                return Ok(Processed::Parked {
                    id: record.id,
                    reason,
                });
            }
        };
        let mut facts = gathered.facts;
        facts.own_approved = own_approvals(store, &app, Some(&record.id)).await?;
        let today = crate::domain::calendar::today(clock.now());
        let mut decision = decide(&app, &facts, today);
        if decision == Decision::Approved {
            decision = match self
                .register(checks, &request_id, &record, &app, today)
                .await
            {
                Ok(d) => d,
                Err(Unavailable(reason)) => {
                    return Ok(Processed::Parked {
                        id: record.id,
                        reason,
                    });
                }
            };
        }
        let (to, reasons) = match &decision {
            Decision::Approved => (Status::Approved, Vec::new()),
            Decision::Rejected(r) => (Status::Rejected, r.clone()),
            Decision::NeedsClarification(r) => (Status::NeedsClarification, r.clone()),
        };
        let t = Transition {
            id: record.id.clone(),
            from: Status::InReview,
            to,
            actor: format!("worker:{}", self.name),
            origin: "reggate".to_string(),
            reasons: reasons_json(&reasons),
            comment: None,
            request_id,
            at: clock.now(),
            lease_holder: Some(self.name.clone()),
            input: None,
            answers: serde_json::to_value(&gathered.answers).ok(),
        };
        match store.transition(t.clone()).await? {
            Transitioned::Done(r) => Ok(Processed::Decided(r)),
            Transitioned::Stale => Ok(Processed::Lost { id: record.id }),
            Transitioned::DuplicateApproval => {
                // Another application for this child and benefit was approved at the same moment.
                let reason = Reason {
                    pointer: "/benefit".into(),
                    code: "duplicate_benefit".into(),
                    message: format!(
                        "{} was approved for this child in another application meanwhile",
                        app.benefit
                    ),
                };
                let t = Transition {
                    to: Status::Rejected,
                    reasons: reasons_json(&[reason]),
                    ..t
                };
                match store.transition(t).await? {
                    Transitioned::Done(r) => Ok(Processed::Decided(r)),
                    _ => Ok(Processed::Lost { id: record.id }),
                }
            }
        }
    }

    /// Register the approved assignment; a conflict at the Ministry turns approval into rejection.
    async fn register(
        &self,
        checks: &dyn RegistryChecks,
        request_id: &str,
        record: &ApplicationRecord,
        app: &ApplicationInput,
        today: i32,
    ) -> Result<Decision, Unavailable> {
        let new = assignment_for(record, app, today);
        let registration = checks.register(request_id, &new).await?;
        Ok(refusal(&registration).map_or(Decision::Approved, Decision::Rejected))
    }
}
