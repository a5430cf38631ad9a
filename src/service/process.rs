//! Processing one application: claim it under a lease, ask the registries (independent questions in
//! parallel, answers still good reused), decide, register an approval with the Ministry of Labour,
//! and write decision + journal + event in one transaction.
//!
//! When the registries cannot answer, the application is never failed silently and never loops:
//! - an outage (the registry down, slow, busy) parks it: its reason, registry, first failure and
//!   next attempt are stored and shown by the API, its lease is given up and it is claimable again at
//!   the next attempt, after a backoff with jitter capped at [`Retry::cap`] — so it resumes within
//!   seconds of the registry's return, not after a lease;
//! - a defect (our own request breaks our schema, the registry refuses the request as wrong) gets
//!   [`Retry::max_defects`] attempts, then the application moves to `manual_review` with the reason
//!   journaled, where a reviewer decides;
//! - a bad answer (the registry keeps answering schema-invalid replies or HTTP errors) goes the same
//!   way once it has also lasted [`Retry::bad_answer_span`].

use std::time::Duration;

use rand::RngExt;
use tracing::Instrument;

use crate::clock::millis;
use crate::domain::answers::Answers;
use crate::domain::eligibility::{Decision, Reason};
use crate::domain::ports::{CheckFailure, FailureKind};
use crate::domain::status::{Event, transition};
use crate::service::{Actor, ServiceError, Workflows, application_of};
use crate::store::{ApplicationRecord, Parked as ParkedRow, Transition, Transitioned};

/// When a failed application is tried again, and when a reviewer takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Delay after the first failure (doubled per failure up to `cap`, with jitter).
    pub first: Duration,
    /// Longest delay between attempts: how long after a registry's return a parked application
    /// may still wait (default 15 s).
    pub cap: Duration,
    /// Defects and bad answers allowed before manual review (default 3).
    pub max_defects: u32,
    /// How long bad answers (not our own defects) must have lasted as well before manual review
    /// (default 5 min): a registry's passing hiccup sends no application to a reviewer.
    pub bad_answer_span: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            first: Duration::from_secs(1),
            cap: Duration::from_secs(15),
            max_defects: 3,
            bad_answer_span: Duration::from_secs(300),
        }
    }
}

impl Retry {
    /// The wait before attempt `attempts + 1`: exponential, capped, with "equal jitter" (half fixed,
    /// half random) so a crowd parked by one outage does not return in one wave; at least what the
    /// registry asked for, within the cap.
    pub fn delay(&self, attempts: u32, asked: Option<Duration>) -> Duration {
        let exp = self
            .first
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(16))
            .min(self.cap);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        let d = half + Duration::from_millis(jitter);
        d.max(asked.unwrap_or_default().min(self.cap))
    }
}

/// A worker's settings.
#[derive(Clone, Debug)]
pub struct Worker {
    /// Its name in leases and journals.
    pub name: String,
    /// How long a claim holds (a crashed worker's application is claimable again after it).
    pub lease: Duration,
    /// Parking and escalation.
    pub retry: Retry,
}

/// What processing did.
#[derive(Clone, Debug, PartialEq)]
pub enum Processed {
    /// Nothing to claim.
    Idle,
    /// Decided and written.
    Decided(Box<ApplicationRecord>),
    /// The registries could not answer: parked until its next attempt.
    Parked {
        /// The application.
        id: String,
        /// Why, and when it is tried again.
        parked: Box<ParkedRow>,
    },
    /// Waiting cannot help: handed to a reviewer (`manual_review`).
    Escalated(Box<ApplicationRecord>),
    /// Another worker got there first (lease lost or state moved): nothing written.
    Lost {
        /// The application.
        id: String,
    },
}

/// The id of the request that last moved the application (the submission, a clarification), so
/// the worker's registry calls carry the id the cabinet knows.
fn originating_request(record: &ApplicationRecord) -> String {
    record
        .journal
        .iter()
        .rev()
        .map(|j| j.request_id.as_str())
        .find(|id| !id.is_empty())
        .map_or_else(|| format!("work-{}", record.number), str::to_string)
}

/// The span an application is processed in: its number and the request id its registry calls
/// carry, so every log line of its processing names both.
pub fn span(record: &ApplicationRecord) -> tracing::Span {
    tracing::info_span!(
        "application",
        application = %record.number,
        request_id = %originating_request(record)
    )
}

impl Worker {
    /// Claim and process one application (in its [`span`]).
    pub async fn process_one(&self, wf: &Workflows) -> Result<Processed, ServiceError> {
        let now = wf.clock.now();
        let Some(record) = wf.store.claim(&self.name, now, self.lease).await? else {
            return Ok(Processed::Idle);
        };
        let span = span(&record);
        self.process(wf, record).instrument(span).await
    }

    /// Process an application this worker has claimed. Run it in the application's [`span`] (the
    /// dispatch loop does).
    pub async fn process(
        &self,
        wf: &Workflows,
        record: ApplicationRecord,
    ) -> Result<Processed, ServiceError> {
        let request_id = originating_request(&record);
        match self.decide(wf, &record, &request_id).await {
            Ok(written) => Ok(written),
            Err(ServiceError::Registries(failure)) => {
                self.on_failure(wf, &record, failure, &request_id).await
            }
            Err(e @ ServiceError::Damaged { .. }) => {
                // Damaged data does not heal by waiting either: a person has to look.
                // The error may name another family's application: logged, not journaled.
                tracing::error!(error = %e, "escalated");
                let reason = Reason {
                    pointer: String::new(),
                    code: "stored_data_damaged".into(),
                    message:
                        "stored data this decision needs could not be read; the failure is logged"
                            .into(),
                };
                self.escalate(wf, &record, reason, &request_id).await
            }
            Err(e) => Err(e),
        }
    }

    async fn decide(
        &self,
        wf: &Workflows,
        record: &ApplicationRecord,
        request_id: &str,
    ) -> Result<Processed, ServiceError> {
        let app = application_of(record)?;
        // Answers from an earlier round (before a clarification) are reused where still good.
        let known: Answers = record
            .answers
            .clone()
            .and_then(|a| serde_json::from_value(a).ok())
            .unwrap_or_default();
        let evaluation = wf
            .evaluate(&app, known, Some(&record.id), request_id)
            .await?;
        let mut decision = evaluation.decision;
        if decision == Decision::Approved
            && let Some(reasons) = wf
                .register(record, &app, request_id)
                .await
                .map_err(ServiceError::Registries)?
        {
            decision = Decision::Rejected(reasons);
        }
        let (event, reasons) = match decision {
            Decision::Approved => (Event::Approve, Vec::new()),
            Decision::Rejected(r) => (Event::Reject, r),
            Decision::NeedsClarification(r) => (Event::RequestClarification, r),
        };
        let t = Transition {
            answers: serde_json::to_value(&evaluation.answers).ok(),
            ..self.transition(wf, record, event, &reasons, request_id)?
        };
        match wf.store.transition(t.clone()).await? {
            Transitioned::Done(r) => Ok(Processed::Decided(r)),
            Transitioned::Stale => Ok(Processed::Lost {
                id: record.id.clone(),
            }),
            Transitioned::DuplicateApproval => {
                // Another application for this child and benefit was approved at the same moment.
                let reason = Reason {
                    pointer: "/benefit".into(),
                    code: "duplicate_benefit".into(),
                    message: format!(
                        "{} was approved for this child in another application meanwhile",
                        app.benefit()
                    ),
                };
                let t = Transition {
                    answers: t.answers,
                    ..self.transition(wf, record, Event::Reject, &[reason], request_id)?
                };
                match wf.store.transition(t).await? {
                    Transitioned::Done(r) => Ok(Processed::Decided(r)),
                    _ => Ok(Processed::Lost {
                        id: record.id.clone(),
                    }),
                }
            }
        }
    }

    /// The worker's transition of `record` on `event`, through the state machine.
    fn transition(
        &self,
        wf: &Workflows,
        record: &ApplicationRecord,
        event: Event,
        reasons: &[Reason],
        request_id: &str,
    ) -> Result<Transition, ServiceError> {
        let to = transition(record.status, event, None)?;
        let by = Actor {
            actor: format!("worker:{}", self.name),
            origin: "reggate".to_string(),
            request_id: request_id.to_string(),
        };
        let reasons = serde_json::to_value(reasons).unwrap_or_else(|_| serde_json::json!([]));
        Ok(Transition {
            lease_holder: Some(self.name.clone()),
            ..wf.by_caller(record, to, by, reasons)
        })
    }

    /// Park after a failure, or escalate once defects run out.
    async fn on_failure(
        &self,
        wf: &Workflows,
        record: &ApplicationRecord,
        failure: CheckFailure,
        request_id: &str,
    ) -> Result<Processed, ServiceError> {
        let now_ms = millis(wf.clock.now());
        let before = record.parked.as_ref();
        let attempts = before.map_or(0, |p| p.attempts) + 1;
        let defects = before.map_or(0, |p| p.defects) + u32::from(failure.kind.counts_as_defect());
        let since_ms = before.map_or(now_ms, |p| p.since_ms);
        let lasted = Duration::from_millis((now_ms - since_ms).max(0) as u64);
        let hopeless = match failure.kind {
            FailureKind::Outage => false,
            FailureKind::Defect => defects >= self.retry.max_defects,
            FailureKind::BadAnswer => {
                defects >= self.retry.max_defects && lasted >= self.retry.bad_answer_span
            }
        };
        if hopeless {
            tracing::warn!(reason = %failure, attempts, "escalated to manual review");
            let reason = Reason {
                pointer: String::new(),
                code: "registry_check_failed".into(),
                message: format!(
                    "{} (after {attempts} attempts; waiting cannot help)",
                    failure.reason
                ),
            };
            return self.escalate(wf, record, reason, request_id).await;
        }
        let delay = self.retry.delay(attempts, failure.retry_after);
        let parked = ParkedRow {
            registry: failure.registry,
            kind: failure.kind,
            reason: failure.reason,
            since_ms,
            next_attempt_ms: now_ms + delay.as_millis() as i64,
            attempts,
            defects,
        };
        tracing::warn!(registry = %parked.registry, reason = %parked.reason, attempts, "registries could not answer; parked");
        if !wf.store.park(&record.id, &self.name, &parked).await? {
            return Ok(Processed::Lost {
                id: record.id.clone(),
            });
        }
        Ok(Processed::Parked {
            id: record.id.clone(),
            parked: Box::new(parked),
        })
    }

    async fn escalate(
        &self,
        wf: &Workflows,
        record: &ApplicationRecord,
        reason: Reason,
        request_id: &str,
    ) -> Result<Processed, ServiceError> {
        let t = self.transition(wf, record, Event::Escalate, &[reason], request_id)?;
        match wf.store.transition(t).await? {
            Transitioned::Done(r) => Ok(Processed::Escalated(r)),
            _ => Ok(Processed::Lost {
                id: record.id.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_with_jitter_and_honour_retry_after_within_it() {
        let r = Retry::default();
        for _ in 0..50 {
            let first = r.delay(1, None);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
            let late = r.delay(30, None);
            assert!(late >= r.cap / 2 && late <= r.cap, "{late:?}");
            assert_eq!(r.delay(1, Some(Duration::from_secs(600))), r.cap);
            assert!(r.delay(1, Some(Duration::from_secs(5))) >= Duration::from_secs(5));
        }
    }
}
