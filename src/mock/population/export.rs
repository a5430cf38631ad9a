//! Sample people for testers (`reggate mock --export-people N`): families picked from the population
//! and labelled with the case they exercise, valid ones and deliberately broken variants.

use serde_json::{Value, json};

use super::{Benefit, Population, REF, REFERENCE_DATE, StatusState, StatusView, lookup, overlaps};

/// The cases in output order after `valid`.
const CASES: [&str; 8] = [
    "duplicate_same_recipient",
    "duplicate_other_parent",
    "large_family",
    "disabled_child",
    "low_income",
    "wrong_snils_check",
    "wrong_inn_check",
    "unknown_certificate",
];

fn description(case: &str) -> &'static str {
    match case {
        "valid" => "A parent and their children; every registry confirms them.",
        "duplicate_same_recipient" => {
            "The applicant already receives `benefit` for the child: registering it again conflicts (OVERLAPPING_PERIOD)."
        }
        "duplicate_other_parent" => {
            "The other parent already receives `benefit` for the child: registering it for the applicant conflicts (ONE_RECIPIENT_PER_CHILD)."
        }
        "large_family" => "The household has an active large-family status (3+ children under 18).",
        "disabled_child" => "A child has an active disability status.",
        "low_income" => {
            "The household has an active low-income status (income per person below the regional minimum)."
        }
        "wrong_snils_check" => {
            "The applicant's SNILS has a wrong check number (field `invalid_field`)."
        }
        "wrong_inn_check" => {
            "The applicant's INN has wrong control digits (field `invalid_field`)."
        }
        "unknown_certificate" => {
            "The first child's birth certificate is not in the children's registry."
        }
        _ => "",
    }
}

pub(crate) fn export(pop: &Population, n: usize) -> Value {
    let quota = (n / 12).max(1);
    let valid_quota = n.saturating_sub(quota * CASES.len()).max(n.min(1));
    let mut valid = Vec::new();
    let mut special: Vec<Vec<Value>> = vec![Vec::new(); CASES.len()];
    let full = |valid: &Vec<Value>, special: &Vec<Vec<Value>>| {
        valid.len() >= valid_quota && special.iter().all(|s| s.len() >= quota)
    };
    for h in 0..pop.households.len() as u32 {
        if n == 0 || full(&valid, &special) {
            break;
        }
        let adults = pop.household_adults.of(h);
        let kids = pop.household_children.of(h);
        let Some(&applicant) = adults.first() else {
            continue;
        };
        if kids.is_empty() {
            continue;
        }
        let statuses = pop.household_statuses(h);
        let kinds: Vec<&str> = statuses
            .iter()
            .filter_map(|s| match s {
                StatusView::LargeFamily { status, .. } => {
                    (*status == StatusState::Active).then_some("large_family")
                }
                StatusView::ChildDisability { status, .. } => {
                    (*status == StatusState::Active).then_some("disabled_child")
                }
                StatusView::LowIncome { status, .. } => {
                    (*status == StatusState::Active).then_some("low_income")
                }
            })
            .collect();
        // A household serves one case; the rarer ones are served first.
        let mut case = None;
        if let Some((dup_case, who, benefit, id)) = duplicate_case(pop, h, adults, kids) {
            let i = CASES.iter().position(|c| *c == dup_case).unwrap_or(0);
            if special[i].len() < quota {
                let mut e = entry(pop, dup_case, who, h);
                e["benefit"] = json!(benefit);
                e["existing_assignment_id"] = json!(id);
                special[i].push(e);
                continue;
            }
        }
        for k in ["disabled_child", "large_family", "low_income"] {
            if kinds.contains(&k) {
                case = Some(k);
                break;
            }
        }
        if let Some(k) = case {
            let i = CASES.iter().position(|c| *c == k).unwrap_or(0);
            if special[i].len() < quota {
                special[i].push(entry(pop, k, applicant, h));
                continue;
            }
        }
        // Plain families serve as valid ones and as the base of the broken variants.
        for (i, k) in CASES.iter().enumerate().skip(5) {
            if special[i].len() < quota {
                special[i].push(broken(pop, k, applicant, h));
                case = Some(k);
                break;
            }
        }
        if case.is_none() && valid.len() < valid_quota {
            valid.push(entry(pop, "valid", applicant, h));
        }
    }
    let mut people: Vec<Value> = valid;
    for s in special {
        people.extend(s);
    }
    people.truncate(n);
    json!({
        "seed": pop.seed,
        "reference_date": REFERENCE_DATE,
        "people": people,
    })
}

/// A child in the household with an active assignment: as seen by its recipient
/// (`duplicate_same_recipient`) or, when the record has both parents, by the other parent.
fn duplicate_case(
    pop: &Population,
    h: u32,
    adults: &[u32],
    kids: &[u32],
) -> Option<(&'static str, u32, Benefit, String)> {
    let reg = pop.registry();
    for &k in kids {
        for a in reg.of_child(k) {
            if !overlaps(a.from, a.to, REF, Some(REF)) {
                continue;
            }
            let id = pop.assignment_view(a).assignment_id;
            let other = adults.iter().copied().find(|&p| p != a.recipient);
            // Alternate the two cases so both get filled.
            if h.is_multiple_of(2)
                && let Some(o) = other
                && !reg
                    .of_child(k)
                    .any(|b| b.recipient == o && b.benefit == a.benefit)
            {
                return Some(("duplicate_other_parent", o, a.benefit, id));
            }
            if adults.contains(&a.recipient) {
                return Some(("duplicate_same_recipient", a.recipient, a.benefit, id));
            }
        }
    }
    None
}

fn entry(pop: &Population, case: &str, applicant: u32, h: u32) -> Value {
    let reg = pop.registry();
    let children: Vec<Value> = pop
        .household_children
        .of(h)
        .iter()
        .map(|&k| {
            let assignments: Vec<Value> = reg
                .of_child(k)
                .map(|a| json!(pop.assignment_view(a)))
                .collect();
            json!({
                "person": pop.child_person(k),
                "birth_record": pop.birth_record_of(k),
                "assignments": assignments,
            })
        })
        .collect();
    drop(reg);
    json!({
        "case": case,
        "description": description(case),
        "applicant": pop.adult_view(applicant),
        "children": children,
        "statuses": pop.household_statuses(h),
    })
}

/// A family with one field deliberately broken.
fn broken(pop: &Population, case: &str, applicant: u32, h: u32) -> Value {
    let mut e = entry(pop, case, applicant, h);
    match case {
        "wrong_snils_check" => {
            if let Some(s) = e["applicant"]["snils"].as_str() {
                let (body, check) = s.split_at(9);
                let wrong = (check.parse::<u32>().unwrap_or(0) + 1) % 100;
                e["applicant"]["snils"] = json!(format!("{body}{wrong:02}"));
            }
            e["invalid_field"] = json!("/applicant/snils");
        }
        "wrong_inn_check" => {
            if let Some(s) = e["applicant"]["inn"].as_str() {
                let (body, last) = s.split_at(11);
                let wrong = (last.parse::<u32>().unwrap_or(0) + 1) % 10;
                e["applicant"]["inn"] = json!(format!("{body}{wrong}"));
            }
            e["invalid_field"] = json!("/applicant/inn");
        }
        "unknown_certificate" => {
            let first = pop.household_children.of(h).first().copied();
            if let Some(c) = first.and_then(|k| pop.children.get(k as usize)) {
                let series = u64::from(c.certificate_series) << 32;
                // The next number that no record of this series holds.
                let free = (1..1_000_000u64)
                    .map(|d| (u64::from(c.certificate_number) + d) % 1_000_000)
                    .find(|&n| lookup(&pop.certificate_index, series | n).is_none())
                    .unwrap_or(0);
                e["children"][0]["person"]["birth_certificate"]["number"] =
                    json!(format!("{free:06}"));
                e["children"][0]["birth_record"] = Value::Null;
            }
            e["invalid_field"] = json!("/children/0/person/birth_certificate/number");
        }
        _ => {}
    }
    e
}
