//! Applications built from the mock population's sample cases (`export_people`), for end-to-end
//! tests of the gateway.

#![allow(dead_code)]

use serde_json::{Value, json};

/// The bytes of a test document of `kind`: a minimal one-page PDF.
pub fn doc_bytes(kind: &str) -> String {
    String::from_utf8(reggate::pdf::page(
        &format!("reggate test document: {kind}"),
        0,
    ))
    .expect("ASCII")
}

/// A manifest entry of `kind` describing [`doc_bytes`].
pub fn doc(kind: &str) -> Value {
    let bytes = doc_bytes(kind);
    json!({
        "type": kind,
        "media_type": "application/pdf",
        "size": bytes.len(),
        "sha256": reggate::ids::sha256_hex(bytes.as_bytes()),
    })
}

/// An application from a sample entry for its child `k` and `benefit`.
pub fn application(entry: &Value, k: usize, benefit: &str) -> Value {
    let a = &entry["applicant"];
    let child = &entry["children"][k]["birth_record"];
    let c = &child["child"];
    let lower = |v: &Value| v.as_str().unwrap_or("").to_ascii_lowercase();
    let mut documents = vec![doc("birth_certificate"), doc("passport"), doc("snils")];
    for extra in ["medical_certificate", "school_certificate"] {
        documents.push(doc(extra));
    }
    json!({
        "benefit": benefit,
        "applicant": {
            "last_name": a["last_name"], "first_name": a["first_name"], "middle_name": a["middle_name"],
            "birth_date": a["birth_date"], "gender": lower(&a["gender"]),
            "passport": {
                "series": a["passport"]["series"], "number": a["passport"]["number"],
                "issue_date": a["passport"]["issue_date"], "issuer": a["passport"]["issuer"],
                "issuer_code": a["passport"]["issuer_code"]
            },
            "snils": a["snils"], "inn": a["inn"],
            "registration_address": {
                "postal_code": a["registration_address"]["postal_code"],
                "region_code": a["registration_address"]["region_code"],
                "locality": a["registration_address"]["locality"],
                "street": a["registration_address"]["street"],
                "house": a["registration_address"]["house"],
                "apartment": a["registration_address"]["apartment"]
            },
            "phone": a["phone"], "email": a["email"]
        },
        "child": {
            "last_name": c["last_name"], "first_name": c["first_name"], "middle_name": c["middle_name"],
            "birth_date": c["birth_date"], "gender": lower(&c["gender"]),
            "birth_place": child["birth_place"]["locality"],
            "birth_certificate": {
                "series": child["certificate"]["series"], "number": child["certificate"]["number"],
                "issue_date": child["certificate"]["issue_date"]
            },
            "snils": c["snils"]
        },
        "documents": documents
    })
}

/// JSON nulls (absent optional fields in the sample) dropped.
pub fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

pub fn case<'a>(people: &'a Value, name: &str) -> &'a Value {
    people["people"]
        .as_array()
        .expect("people")
        .iter()
        .find(|e| e["case"] == name)
        .unwrap_or_else(|| panic!("no {name} case"))
}

/// A child of the sample and a benefit it qualifies for by the sample's own data, with no assignment
/// of that benefit yet: a baby for childcare, or a child with an active disability status.
pub fn eligible(people: &Value, today: i32) -> Option<(&Value, usize, &'static str)> {
    let reference = today;
    for entry in people["people"].as_array()? {
        if entry["case"] != "valid" && entry["case"] != "disabled_child" {
            continue;
        }
        let disabled: Vec<&str> = entry["statuses"]
            .as_array()?
            .iter()
            .filter(|st| st["kind"] == "child_disability" && st["status"] == "active")
            .filter_map(|st| st["child_snils"].as_str())
            .collect();
        for (k, child) in entry["children"].as_array()?.iter().enumerate() {
            let record = &child["birth_record"]["child"];
            let snils = record["snils"].as_str().unwrap_or("");
            let has = |benefit: &str| {
                child["assignments"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|a| a["benefit_code"] == benefit))
            };
            let born = record["birth_date"]
                .as_str()
                .and_then(reggate::calendar::parse_date)
                .unwrap_or(0);
            let baby = reference < reggate::calendar::add_months(born, 18);
            if baby && !has("childcare_under_1_5") {
                return Some((entry, k, "childcare_under_1_5"));
            }
            if disabled.contains(&snils) && !has("disabled_child") {
                return Some((entry, k, "disabled_child"));
            }
        }
    }
    None
}
