//! The domain's port [`RegistryChecks`] over the typed registry client: the questions asked about an
//! application go out in parallel; any that cannot be answered (after the pipeline's own retries)
//! fails the round with a [`CheckFailure`] that says whether waiting can cure it. This is where a
//! SOAP error ([`CallError`]) becomes a domain failure, so neither side knows the other.

use crate::contract::Operation;
use crate::domain::answers::{Answer, Question};
use crate::domain::ports::{CheckFailure, FailureKind, Pending, RegistryChecks};
use crate::domain::valid::ValidApplication;
use crate::registries::client::Registries;
use crate::registries::messages::{self, NewAssignment, Registration, Reply, Request};
use crate::soap::client::CallContext;
use crate::soap::error::CallError;

/// What a failed call means for the application. Our own invalid request can never succeed, nor
/// can a request the registry refuses as wrong (a client fault): defects. An answer that breaks the
/// schema, or an HTTP error without SOAP, may pass, but not in seconds: a bad answer, given attempts
/// and time before a reviewer takes over. Everything else the pipeline calls retryable (outages,
/// timeouts, 5xx, 429, an open circuit, token trouble) heals by waiting.
pub fn failure(operation: Operation, e: &CallError) -> CheckFailure {
    let kind = match e {
        CallError::InvalidRequest { .. } | CallError::Fault { .. } if !e.retryable() => {
            FailureKind::Defect
        }
        CallError::InvalidResponse { .. } => FailureKind::BadAnswer,
        e if !e.retryable() => FailureKind::BadAnswer,
        _ => FailureKind::Outage,
    };
    let registry = operation.registry();
    // The violation lists are masked by the validator; a registry's own fault text is not ours to
    // vouch for, so faults are named by code and status only.
    let reason = match e {
        CallError::InvalidRequest { .. } | CallError::InvalidResponse { .. } => e.to_string(),
        CallError::Fault { status, .. } => format!(
            "{registry} registry answered {operation} with fault {} (HTTP {status})",
            e.fault_name().unwrap_or_default()
        ),
        other => format!(
            "{registry} registry, {operation}: {}",
            other.kind().replace('_', " ")
        ),
    };
    CheckFailure {
        registry: registry.name().to_string(),
        kind,
        reason,
        retry_after: e.retry_after(),
    }
}

/// A reply of the wrong kind, named by its kind only: its contents are personal data and the
/// reason goes into logs and problem details.
fn unexpected(operation: Operation, reply: &Reply) -> CheckFailure {
    CheckFailure {
        registry: operation.registry().name().to_string(),
        kind: FailureKind::BadAnswer,
        reason: format!("{operation}: unexpected {} answer", reply.kind()),
        retry_after: None,
    }
}

/// The worse of two failures of one round: a defect will not go away by waiting, a bad answer
/// not soon.
fn worse(a: CheckFailure, b: CheckFailure) -> CheckFailure {
    let rank = |k: FailureKind| match k {
        FailureKind::Outage => 0,
        FailureKind::BadAnswer => 1,
        FailureKind::Defect => 2,
    };
    if rank(b.kind) > rank(a.kind) { b } else { a }
}

/// The request that asks `question` about `app`: what goes out is built from the validated
/// application alone, so the fuzz target `application_json` can check that every application the
/// input rules accept makes requests the registries' schemas accept.
pub fn request(app: &ValidApplication, question: Question) -> Request {
    let a = &app.applicant;
    let person = || messages::Identity {
        last_name: a.last_name.clone(),
        first_name: a.first_name.clone(),
        middle_name: a.middle_name.clone(),
        birth_date: app.applicant().birth_date.to_string(),
        gender: app.applicant().gender,
    };
    let snils = app.applicant().snils.as_str().to_string();
    match question {
        Question::ApplicantSnils => Request::VerifySnils {
            snils,
            person: person(),
        },
        Question::ApplicantInn => Request::VerifyInn {
            inn: app.applicant_inn().as_str().to_string(),
            person: person(),
        },
        Question::BirthRecord => Request::FindBirthRecord {
            series: app.child.birth_certificate.series.clone(),
            number: app.child.birth_certificate.number.clone(),
        },
        Question::FamilyStatuses => Request::GetFamilyStatus {
            snils,
            on_date: None,
        },
        Question::ChildAssignments => Request::GetActiveAssignments {
            child_snils: app.child().snils.as_str().to_string(),
        },
    }
}

impl Registries {
    /// One question about `app`, as the registry that knows answers it.
    async fn answer(
        &self,
        ctx: &CallContext,
        app: &ValidApplication,
        question: Question,
    ) -> Result<Answer, CheckFailure> {
        let request = request(app, question);
        let operation = request.operation();
        let reply = self
            .call(ctx, &request)
            .await
            .map_err(|e| failure(operation, &e))?;
        Ok(match (question, reply) {
            (Question::ApplicantSnils, Reply::Verification(v)) => Answer::ApplicantSnils(v),
            (Question::ApplicantInn, Reply::Verification(v)) => Answer::ApplicantInn(v),
            (Question::BirthRecord, Reply::BirthRecord(r)) => Answer::BirthRecord(r),
            (Question::FamilyStatuses, Reply::FamilyStatuses(s)) => Answer::FamilyStatuses(s),
            (Question::ChildAssignments, Reply::Assignments(l)) => Answer::ChildAssignments(l),
            (_, other) => return Err(unexpected(operation, &other)),
        })
    }
}

impl RegistryChecks for Registries {
    fn ask<'a>(
        &'a self,
        request_id: &'a str,
        app: &'a ValidApplication,
        questions: &'a [Question],
    ) -> Pending<'a, Vec<Answer>> {
        Box::pin(async move {
            let ctx = CallContext::new(request_id);
            // The questions are independent: all that are asked go out at once.
            let one = |q: Question| {
                let ctx = &ctx;
                async move {
                    match questions.contains(&q) {
                        true => Some(self.answer(ctx, app, q).await),
                        false => None,
                    }
                }
            };
            let [a, b, c, d, e] = Question::ALL;
            let (a, b, c, d, e) = tokio::join!(one(a), one(b), one(c), one(d), one(e));
            let mut answers = Vec::new();
            let mut failed: Option<CheckFailure> = None;
            for result in [a, b, c, d, e].into_iter().flatten() {
                match result {
                    Ok(answer) => answers.push(answer),
                    Err(f) => {
                        failed = Some(match failed.take() {
                            None => f,
                            Some(prev) => worse(prev, f),
                        })
                    }
                }
            }
            failed.map_or(Ok(answers), Err)
        })
    }

    fn register<'a>(
        &'a self,
        request_id: &'a str,
        a: &'a NewAssignment,
    ) -> Pending<'a, Registration> {
        Box::pin(async move {
            let ctx = CallContext::new(request_id);
            let request = Request::RegisterAssignment(a.clone());
            let operation = request.operation();
            match self
                .call(&ctx, &request)
                .await
                .map_err(|e| failure(operation, &e))?
            {
                Reply::Registration(r) => Ok(r),
                other => Err(unexpected(operation, &other)),
            }
        })
    }
}
