//! The domain's [`RegistryChecks`] over the typed registry client: the questions asked about an
//! application go out in parallel; any that cannot be answered (after the pipeline's own retries)
//! makes the whole round unavailable, so the application is parked, not failed.

use crate::domain::answers::{Answer, Question};
use crate::domain::application::{ApplicationInput, Gender};
use crate::domain::process::{Pending, RegistryChecks, Unavailable};
use crate::registries::client::Registries;
use crate::registries::messages::{self, NewAssignment, Registration, Reply, Request};
use crate::soap::client::CallContext;
use crate::soap::error::CallError;

fn identity(
    last: &str,
    first: &str,
    middle: Option<&str>,
    birth: &str,
    gender: Option<Gender>,
) -> messages::Identity {
    messages::Identity {
        last_name: last.to_string(),
        first_name: first.to_string(),
        middle_name: middle.map(str::to_string),
        birth_date: birth.to_string(),
        gender: match gender {
            Some(Gender::Male) => messages::Gender::Male,
            _ => messages::Gender::Female,
        },
    }
}

fn unavailable(e: CallError) -> Unavailable {
    Unavailable(e.to_string())
}

/// A reply of the wrong kind, named by its kind only: its contents are personal data and the
/// reason goes into logs and problem details.
fn unexpected(what: &str, reply: &Reply) -> Unavailable {
    Unavailable(format!("{what}: unexpected {} answer", reply.kind()))
}

impl Registries {
    /// One question about `app`, as the registry that knows answers it.
    async fn answer(
        &self,
        ctx: &CallContext,
        app: &ApplicationInput,
        question: Question,
    ) -> Result<Answer, Unavailable> {
        let a = &app.applicant;
        let person = || {
            identity(
                &a.last_name,
                &a.first_name,
                a.middle_name.as_deref(),
                &a.birth_date,
                a.gender,
            )
        };
        let request = match question {
            Question::ApplicantSnils => Request::VerifySnils {
                snils: a.snils.clone().unwrap_or_default(),
                person: person(),
            },
            Question::ApplicantInn => Request::VerifyInn {
                inn: a.inn.clone().unwrap_or_default(),
                person: person(),
            },
            Question::BirthRecord => Request::FindBirthRecord {
                series: app.child.birth_certificate.series.clone(),
                number: app.child.birth_certificate.number.clone(),
            },
            Question::FamilyStatuses => Request::GetFamilyStatus {
                snils: a.snils.clone().unwrap_or_default(),
                on_date: None,
            },
            Question::ChildAssignments => Request::GetActiveAssignments {
                child_snils: app.child.snils.clone(),
            },
        };
        let reply = self.call(ctx, &request).await.map_err(unavailable)?;
        Ok(match (question, reply) {
            (Question::ApplicantSnils, Reply::Verification(v)) => Answer::ApplicantSnils(v),
            (Question::ApplicantInn, Reply::Verification(v)) => Answer::ApplicantInn(v),
            (Question::BirthRecord, Reply::BirthRecord(r)) => Answer::BirthRecord(r),
            (Question::FamilyStatuses, Reply::FamilyStatuses(s)) => Answer::FamilyStatuses(s),
            (Question::ChildAssignments, Reply::Assignments(l)) => Answer::ChildAssignments(l),
            (_, other) => return Err(unexpected(request.operation().name(), &other)),
        })
    }
}

impl RegistryChecks for Registries {
    fn ask<'a>(
        &'a self,
        request_id: &'a str,
        app: &'a ApplicationInput,
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
            [a, b, c, d, e].into_iter().flatten().collect()
        })
    }

    fn register<'a>(
        &'a self,
        request_id: &'a str,
        a: &'a NewAssignment,
    ) -> Pending<'a, Registration> {
        Box::pin(async move {
            let ctx = CallContext::new(request_id);
            match self
                .call(&ctx, &Request::RegisterAssignment(a.clone()))
                .await
                .map_err(unavailable)?
            {
                Reply::Registration(r) => Ok(r),
                other => Err(unexpected("RegisterAssignment", &other)),
            }
        })
    }
}
