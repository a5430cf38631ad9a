//! The domain's [`RegistryChecks`] over the typed registry client: the five independent questions
//! about an application go out in parallel; any that cannot be answered (after the pipeline's own
//! retries) makes the whole check unavailable, so the application is parked, not failed.

use crate::domain::application::{ApplicationInput, Gender};
use crate::domain::eligibility::Facts;
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

fn unexpected(what: &str, reply: &Reply) -> Unavailable {
    Unavailable(format!("{what}: unexpected answer {reply:?}"))
}

impl RegistryChecks for Registries {
    fn facts<'a>(&'a self, request_id: &'a str, app: &'a ApplicationInput) -> Pending<'a, Facts> {
        Box::pin(async move {
            let ctx = CallContext::new(request_id);
            let a = &app.applicant;
            let person = identity(
                &a.last_name,
                &a.first_name,
                a.middle_name.as_deref(),
                &a.birth_date,
                a.gender,
            );
            let snils = a.snils.clone().unwrap_or_default();
            let verify_snils = Request::VerifySnils {
                snils: snils.clone(),
                person: person.clone(),
            };
            let verify_inn = Request::VerifyInn {
                inn: a.inn.clone().unwrap_or_default(),
                person,
            };
            let birth = Request::FindBirthRecord {
                series: app.child.birth_certificate.series.clone(),
                number: app.child.birth_certificate.number.clone(),
            };
            let statuses = Request::GetFamilyStatus {
                snils,
                on_date: None,
            };
            let assignments = Request::GetActiveAssignments {
                child_snils: app.child.snils.clone(),
            };
            let (s, i, b, f, l) = tokio::join!(
                self.call(&ctx, &verify_snils),
                self.call(&ctx, &verify_inn),
                self.call(&ctx, &birth),
                self.call(&ctx, &statuses),
                self.call(&ctx, &assignments),
            );
            let applicant_snils = match s.map_err(unavailable)? {
                Reply::Verification(v) => v,
                other => return Err(unexpected("VerifySnils", &other)),
            };
            let applicant_inn = match i.map_err(unavailable)? {
                Reply::Verification(v) => v,
                other => return Err(unexpected("VerifyInn", &other)),
            };
            let birth_record = match b.map_err(unavailable)? {
                Reply::BirthRecord(r) => r,
                other => return Err(unexpected("FindBirthRecord", &other)),
            };
            let statuses = match f.map_err(unavailable)? {
                Reply::FamilyStatuses(s) => s,
                other => return Err(unexpected("GetFamilyStatus", &other)),
            };
            let assignments = match l.map_err(unavailable)? {
                Reply::Assignments(a) => a,
                other => return Err(unexpected("GetActiveAssignments", &other)),
            };
            Ok(Facts {
                applicant_snils,
                applicant_inn,
                birth_record,
                statuses,
                assignments,
                own_approved: Vec::new(),
            })
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
