//! The decision on an application from what the registries said (ARCHITECTURE.md, "Registry checks" and
//! "Duplicate benefit"): a pure function of the application, the facts and the date, so every rule is
//! tested without a network.
//!
//! Precedence: when the registries disagree with the data entered (a name differs from the birth
//! record, a SNILS does not match the person), the application goes back for clarification naming
//! those fields — judging eligibility on data that may be mistyped would be unfair. Otherwise every
//! unmet condition is a rejection reason; none means approval.

use serde::{Deserialize, Serialize};

use crate::calendar::Date;
use crate::calendar::{add_months, parse_date};
use crate::domain::application::{Benefit, age_years};
use crate::domain::identifiers::Snils;
use crate::domain::valid::ValidApplication;
use crate::registries::messages::{Assignment, BirthRecord, FamilyStatus, Verdict};

/// What the registries (and reggate's own records) said about an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// SNILS registry on the applicant.
    pub applicant_snils: Verdict,
    /// INN registry on the applicant.
    pub applicant_inn: Verdict,
    /// Children's registry: the record of the certificate given.
    pub birth_record: Option<BirthRecord>,
    /// Ministry of Labour: the applicant's family statuses (none: unknown person).
    pub statuses: Option<Vec<FamilyStatus>>,
    /// Ministry of Labour: the child's active assignments.
    pub assignments: Vec<Assignment>,
    /// reggate's own approved applications for the same child and benefit (their numbers and periods).
    pub own_approved: Vec<OwnApproval>,
}

/// An application reggate approved earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnApproval {
    /// Its number.
    pub application_number: String,
    /// Its benefit.
    pub benefit: Benefit,
    /// Its recipient's SNILS.
    pub recipient_snils: Snils,
    /// First day.
    pub from: Date,
    /// Last day, if bounded.
    pub to: Option<Date>,
}

/// Why, for one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// JSON pointer of the field concerned.
    pub pointer: String,
    /// Machine-readable code.
    pub code: String,
    /// Explanation (no personal values).
    pub message: String,
}

/// The outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Granted.
    Approved,
    /// Refused, with reasons.
    Rejected(Vec<Reason>),
    /// Fields to correct.
    NeedsClarification(Vec<Reason>),
}

fn reason(pointer: &str, code: &str, message: impl Into<String>) -> Reason {
    Reason {
        pointer: pointer.to_string(),
        code: code.to_string(),
        message: message.into(),
    }
}

/// The applicant's field a registry's mismatch name points at.
fn applicant_pointer(field: &str) -> String {
    match field {
        "LastName" => "/applicant/last_name".into(),
        "FirstName" => "/applicant/first_name".into(),
        "MiddleName" => "/applicant/middle_name".into(),
        "BirthDate" => "/applicant/birth_date".into(),
        "Gender" => "/applicant/gender".into(),
        other => format!("/applicant/{}", other.to_ascii_lowercase()),
    }
}

/// The period an application asks for, as day numbers (`to` open: none).
fn wanted(app: &ValidApplication, today: i32) -> (i32, Option<i32>) {
    match app.period() {
        Some(p) => (p.from.day(), p.to.map(Date::day)),
        None => (today, None),
    }
}

/// Whether the period `a` overlaps a registry's period given as text (an unreadable start counts as
/// open: the registry's record is not ours to doubt).
fn overlaps(a: (i32, Option<i32>), from: &str, to: Option<&str>) -> bool {
    overlaps_days(
        a,
        parse_date(from).unwrap_or(i32::MIN),
        to.and_then(parse_date),
    )
}

fn overlaps_days(a: (i32, Option<i32>), b_from: i32, b_to: Option<i32>) -> bool {
    let a_before_b_ends = b_to.is_none_or(|end| a.0 <= end);
    let b_before_a_ends = a.1.is_none_or(|end| b_from <= end);
    a_before_b_ends && b_before_a_ends
}

/// Decide `app` (validated) from `facts` on `today` (a day number).
pub fn decide(app: &ValidApplication, facts: &Facts, today: i32) -> Decision {
    let mut clarify = Vec::new();
    let mut reject = Vec::new();
    let applicant_snils = app.applicant().snils.as_str();

    match &facts.applicant_snils {
        Verdict::Match => {}
        Verdict::NoMatch(fields) => {
            for f in fields {
                clarify.push(reason(
                    &applicant_pointer(f),
                    "snils_registry_mismatch",
                    "differs from the SNILS registry's record for this SNILS",
                ));
            }
        }
        Verdict::NotFound => clarify.push(reason(
            "/applicant/snils",
            "snils_not_found",
            "the SNILS registry has no such SNILS",
        )),
    }
    match &facts.applicant_inn {
        Verdict::Match => {}
        Verdict::NoMatch(_) => clarify.push(reason(
            "/applicant/inn",
            "inn_registry_mismatch",
            "the INN registry has this INN for another person",
        )),
        Verdict::NotFound => clarify.push(reason(
            "/applicant/inn",
            "inn_not_found",
            "the INN registry has no such INN",
        )),
    }

    let child = &app.child;
    match &facts.birth_record {
        None => clarify.push(reason(
            "/child/birth_certificate",
            "birth_record_not_found",
            "the children's registry has no record for this certificate",
        )),
        Some(record) => {
            let r = &record.child;
            let fields = [
                (
                    "/child/last_name",
                    r.last_name.as_str(),
                    child.last_name.as_str(),
                ),
                (
                    "/child/first_name",
                    r.first_name.as_str(),
                    child.first_name.as_str(),
                ),
                (
                    "/child/middle_name",
                    r.middle_name.as_deref().unwrap_or(""),
                    child.middle_name.as_deref().unwrap_or(""),
                ),
                (
                    "/child/birth_date",
                    r.birth_date.as_str(),
                    child.birth_date.as_str(),
                ),
            ];
            for (pointer, registry, entered) in fields {
                if registry != entered {
                    clarify.push(reason(
                        pointer,
                        "birth_record_mismatch",
                        "differs from the birth record (it must be exactly as on the certificate)",
                    ));
                }
            }
            if r.snils.as_deref().is_some_and(|s| s != child.snils) {
                clarify.push(reason(
                    "/child/snils",
                    "birth_record_mismatch",
                    "differs from the SNILS on the birth record",
                ));
            }
            let is_parent = record
                .parents
                .iter()
                .any(|p| p.snils.as_deref() == Some(applicant_snils));
            if !is_parent {
                reject.push(reason(
                    "/applicant",
                    "not_a_parent",
                    "the applicant is not a parent on the child's birth record",
                ));
            }
        }
    }
    if !clarify.is_empty() {
        return Decision::NeedsClarification(clarify);
    }

    let benefit = app.benefit();
    {
        let born = app.child().birth_date.day();
        let too_old = match benefit {
            Benefit::UnifiedAllowance => age_years(born, today) >= 17,
            Benefit::ChildcareUnder1_5 => today >= add_months(born, 18),
            Benefit::LargeFamily | Benefit::DisabledChild => age_years(born, today) >= 18,
        };
        if too_old {
            let limit = match benefit {
                Benefit::UnifiedAllowance => "under 17",
                Benefit::ChildcareUnder1_5 => "under 18 months",
                _ => "under 18",
            };
            reject.push(reason(
                "/child/birth_date",
                "child_age",
                format!("{} is for a child {limit}", benefit.code()),
            ));
        }
    }

    let statuses = facts.statuses.as_deref().unwrap_or(&[]);
    let active = |kind: &'static str| statuses.iter().filter(move |s| s.kind == kind && s.active);
    match benefit {
        Benefit::UnifiedAllowance => {
            let below = active("LowIncome").any(|s| {
                let income = s
                    .income_per_person
                    .as_deref()
                    .and_then(|v| v.parse::<f64>().ok());
                let minimum = s
                    .regional_minimum
                    .as_deref()
                    .and_then(|v| v.parse::<f64>().ok());
                matches!((income, minimum), (Some(i), Some(m)) if i < m)
            });
            if !below {
                reject.push(reason(
                    "/benefit",
                    "income_not_below_minimum",
                    "no active low-income assessment with income per person below the regional minimum",
                ));
            }
        }
        Benefit::LargeFamily => {
            let large = active("LargeFamily").any(|s| s.child_snils.len() >= 3);
            if !large {
                reject.push(reason(
                    "/benefit",
                    "status_not_active",
                    "no active large-family status with three or more children",
                ));
            }
        }
        Benefit::DisabledChild => {
            let disabled = active("ChildDisability").any(|s| s.child_snils.contains(&child.snils));
            if !disabled {
                reject.push(reason(
                    "/benefit",
                    "status_not_active",
                    "no active disability status for the child",
                ));
            }
        }
        Benefit::ChildcareUnder1_5 => {}
    }

    let period = wanted(app, today);
    for a in &facts.assignments {
        if a.benefit_code == benefit.code() && overlaps(period, &a.from, a.to.as_deref()) {
            let whom = if a.recipient_snils == applicant_snils {
                "to this applicant"
            } else {
                "to another recipient"
            };
            reject.push(reason(
                "/benefit",
                "duplicate_benefit",
                format!(
                    "{} is already paid for this child {whom}: Ministry of Labour assignment {}",
                    benefit.code(),
                    a.assignment_id
                ),
            ));
        }
    }
    for own in &facts.own_approved {
        if own.benefit == benefit && overlaps_days(period, own.from.day(), own.to.map(Date::day)) {
            let whom = if own.recipient_snils.as_str() == applicant_snils {
                "to this applicant"
            } else {
                "to another recipient"
            };
            reject.push(reason(
                "/benefit",
                "duplicate_benefit",
                format!(
                    "{} is already approved for this child {whom}: application {}",
                    benefit.code(),
                    own.application_number
                ),
            ));
        }
    }
    if reject.is_empty() {
        Decision::Approved
    } else {
        Decision::Rejected(reject)
    }
}

#[cfg(test)]
mod tests;
