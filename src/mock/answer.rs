//! The registries' answers: what each operation returns for a request, from the synthetic population
//! (lookups, identity matches, assignment registration), rendered as the response payload.

use std::sync::atomic::Ordering;

use crate::contract::{Operation, Payload};
use crate::mock::population::{NewAssignment, PersonView, RegisterOutcome};
use crate::mock::render::{self, Registration};
use crate::mock::state::MockState;

/// Response metadata for a reply to `request`: a fresh message id, its id as ReplyTo, and now.
pub fn response_meta(state: &MockState, request: &Payload) -> String {
    let n = state.messages.fetch_add(1, Ordering::Relaxed);
    // A version-4-shaped UUID from a counter: unique per server run, as the schema's pattern requires.
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32,
        (n >> 16) as u16,
        0,
        0,
        n & 0xFFFF_FFFF_FFFF
    );
    let reply_to = request.get("MessageId").unwrap_or("");
    render::response_meta(&id, reply_to, &crate::clock::timestamp(state.clock.now()))
}

/// The identity fields of a request that differ from a person's record, in the schema's names.
fn mismatches(request: &Payload, v: &PersonView) -> Vec<&'static str> {
    let mut out = Vec::new();
    if request.get("LastName") != Some(v.last_name.as_str()) {
        out.push("LastName");
    }
    if request.get("FirstName") != Some(v.first_name.as_str()) {
        out.push("FirstName");
    }
    if request.get("MiddleName") != v.middle_name.as_deref() {
        out.push("MiddleName");
    }
    if request.get("BirthDate") != Some(v.birth_date.as_str()) {
        out.push("BirthDate");
    }
    if request.get("Gender") != Some(v.gender.as_str()) {
        out.push("Gender");
    }
    out
}

fn verify(request: &Payload, found: Option<&PersonView>) -> (&'static str, Vec<&'static str>) {
    match found {
        None => ("NOT_FOUND", Vec::new()),
        Some(v) => {
            let m = mismatches(request, v);
            if m.is_empty() {
                ("MATCH", m)
            } else {
                ("NO_MATCH", m)
            }
        }
    }
}

/// The payload `operation` answers to `request` (already schema-valid), with `meta` as its metadata.
/// A `NotFound` says when the registry looked (`checkedAt`, by the mock's clock), as the project's
/// fixtures show and a client reading "not found" as a fact needs.
pub fn answer(state: &MockState, operation: Operation, request: &Payload, meta: &str) -> String {
    let pop = &state.population;
    let checked_at = crate::clock::timestamp(state.clock.now());
    match operation {
        Operation::VerifySnils => {
            let found = request.get("Snils").and_then(|s| pop.person_by_snils(s));
            let (code, m) = verify(request, found.as_ref());
            let person = found.as_ref().filter(|_| code != "NOT_FOUND");
            render::snils_response_with(meta, code, &m, person)
        }
        Operation::FindInn => {
            let found = match (request.get("Series"), request.get("Number")) {
                (Some(series), Some(number)) => pop.person_by_passport(series, number),
                _ => None,
            };
            // The passport alone does not identify: the person must match too.
            let found = found.filter(|v| mismatches(request, v).is_empty());
            render::inn_response_with(meta, found.as_ref(), &checked_at)
        }
        Operation::VerifyInn => {
            let found = request.get("Inn").and_then(|s| pop.person_by_inn(s));
            let (code, m) = verify(request, found.as_ref());
            render::verify_inn_response(meta, code, &m)
        }
        Operation::FindBirthRecord => {
            let record = match (request.get("Series"), request.get("Number")) {
                (Some(series), Some(number)) => pop.birth_record(series, number),
                _ => None,
            };
            render::birth_record_response_with(meta, record.as_ref(), &checked_at)
        }
        Operation::GetFamilyStatus => {
            // By SNILS, or by identity plus passport (which must match the person, as for FindInn).
            let snils = match request.get("Snils") {
                Some(snils) => pop.person_by_snils(snils).map(|v| v.snils),
                None => match (request.get("Series"), request.get("Number")) {
                    (Some(series), Some(number)) => pop
                        .person_by_passport(series, number)
                        .filter(|v| mismatches(request, v).is_empty())
                        .map(|v| v.snils),
                    _ => None,
                },
            };
            match snils {
                Some(snils) => {
                    let statuses = pop.family_statuses(&snils);
                    render::family_status_response_with(meta, Some(&statuses), &checked_at)
                }
                None => render::family_status_response_with(meta, None, &checked_at),
            }
        }
        Operation::GetActiveAssignments => {
            let child = request.get("ChildSnils").unwrap_or("");
            let wanted = request.all("BenefitCode");
            let list: Vec<_> = pop
                .active_assignments(child)
                .into_iter()
                .filter(|a| wanted.is_empty() || wanted.contains(&a.benefit_code.code()))
                .collect();
            render::assignments_response_with(meta, &list)
        }
        Operation::RegisterAssignment => register(state, request, meta),
    }
}

fn register(state: &MockState, request: &Payload, meta: &str) -> String {
    let application = request.get("@applicationNumber").unwrap_or("");
    let benefit = request
        .get("BenefitCode")
        .and_then(crate::mock::population::Benefit::from_code);
    let Some(benefit) = benefit else {
        let r = Registration::Error {
            code: "INVALID_FIELD",
            message: "unknown benefit code",
        };
        return render::register_response(meta, application, &r);
    };
    let new = NewAssignment {
        application_number: application.to_string(),
        benefit,
        child_snils: request.get("ChildSnils").unwrap_or("").to_string(),
        recipient_snils: request.get("RecipientSnils").unwrap_or("").to_string(),
        from: request.get("From").unwrap_or("").to_string(),
        to: request.get("To").map(str::to_string),
        amount: request.get("Amount").map(str::to_string),
        region_code: request.get("RegionCode").unwrap_or("").to_string(),
    };
    let at = crate::clock::timestamp(state.clock.now());
    match state.population.register_assignment(&new) {
        RegisterOutcome::Registered { assignment } => render::register_response(
            meta,
            application,
            &Registration::Done {
                fresh: true,
                assignment: &assignment,
                at: &at,
            },
        ),
        RegisterOutcome::AlreadyRegistered { assignment } => render::register_response(
            meta,
            application,
            &Registration::Done {
                fresh: false,
                assignment: &assignment,
                at: &at,
            },
        ),
        RegisterOutcome::Conflict { conflicts } => {
            render::register_response(meta, application, &Registration::Conflict(&conflicts))
        }
        RegisterOutcome::Rejected { error } => {
            let code = serde_json::to_value(&error)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_string))
                .unwrap_or_else(|| "REJECTED".to_string());
            let message = error.to_string();
            render::register_response(
                meta,
                application,
                &Registration::Error {
                    code: &code,
                    message: &message,
                },
            )
        }
    }
}
