//! The bodies a run sends: an application of a [`Case`] as a cabinet submits it (the domain's own
//! [`ApplicationInput`], so the shape cannot drift from the API's), its documents — PDF bytes unique
//! to the application whose size and SHA-256 are the manifest's — and the invalid variants the API
//! must refuse.

use axum::body::Bytes;

use crate::domain::application::{
    Address, Applicant, ApplicationInput, Benefit, BirthCertificate, Child, Document, Passport,
};
use crate::loadgen::people::Case;

/// A document's bytes under its manifest name.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The manifest name (`passport`, `other-2`): the last segment of its `PUT` path.
    pub name: String,
    /// The bytes.
    pub bytes: Bytes,
}

/// An application ready to send.
#[derive(Clone, Debug)]
pub struct Application {
    /// The JSON body of `POST /v1/applications` (and of `POST /v1/eligibility`).
    pub body: Bytes,
    /// Every manifest entry's bytes, in manifest order.
    pub uploads: Vec<Upload>,
}

/// The document kinds `benefit` requires for a child of `age` (ARCHITECTURE.md, "Input").
fn required(benefit: Benefit, age: i32) -> Vec<&'static str> {
    let mut kinds = vec!["birth_certificate", "passport", "snils"];
    if benefit == Benefit::DisabledChild {
        kinds.push("medical_certificate");
    }
    if matches!(benefit, Benefit::UnifiedAllowance | Benefit::LargeFamily) && age >= 7 {
        kinds.push("school_certificate");
    }
    kinds
}

/// A one-page PDF of about `size` bytes that no other application sends (`unique` names it): a real
/// structure, since the API parses what it is sent.
fn pdf(unique: &str, name: &str, size: usize) -> Vec<u8> {
    crate::pdf::page(&format!("reggate loadgen {unique} {name}"), size)
}

/// The input of a case: its people as the registries know them, and `manifest`.
fn input(case: &Case, manifest: Vec<Document>) -> ApplicationInput {
    let a = &case.applicant;
    // The walk hands out only applicants with a passport and an address (`people.rs`).
    let passport = a
        .passport
        .as_ref()
        .map_or_else(Passport::default, |p| Passport {
            series: p.series.clone(),
            number: p.number.clone(),
            issue_date: p.issue_date.clone(),
            issuer: p.issuer.clone(),
            issuer_code: p.issuer_code.clone(),
        });
    let address = a
        .registration_address
        .as_ref()
        .map_or_else(Address::default, |r| Address {
            postal_code: r.postal_code.clone(),
            region_code: r.region_code.clone(),
            locality: r.locality.clone(),
            street: r.street.clone(),
            house: r.house.clone(),
            apartment: r.apartment.clone(),
        });
    let record = &case.child;
    ApplicationInput {
        benefit: case.benefit.code().to_string(),
        period: None,
        applicant: Applicant {
            last_name: a.last_name.clone(),
            first_name: a.first_name.clone(),
            middle_name: a.middle_name.clone(),
            birth_date: a.birth_date.clone(),
            gender: Some(a.gender),
            passport,
            snils: Some(a.snils.clone()),
            inn: a.inn.clone(),
            registration_address: address,
            actual_address: None,
            phone: a.phone.clone().unwrap_or_else(|| "+79990000000".into()),
            // The registries do not check it; a cabinet always has one.
            email: a
                .email
                .clone()
                .unwrap_or_else(|| "applicant@example.org".into()),
        },
        child: Child {
            last_name: record.child.last_name.clone(),
            first_name: record.child.first_name.clone(),
            middle_name: record.child.middle_name.clone(),
            birth_date: record.child.birth_date.clone(),
            gender: Some(record.child.gender),
            birth_place: record.birth_place.locality.clone(),
            birth_certificate: BirthCertificate {
                series: record.certificate.series.clone(),
                number: record.certificate.number.clone(),
                issue_date: record.certificate.issue_date.clone(),
            },
            snils: record.child.snils.clone(),
        },
        documents: manifest,
    }
}

/// The manifest names of `kinds` as the API numbers them (`other`, `other-2`, …).
fn names(kinds: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        let before = kinds[..i].iter().filter(|k| *k == kind).count();
        out.push(if before == 0 {
            kind.to_string()
        } else {
            format!("{kind}-{}", before + 1)
        });
    }
    out
}

/// The application of `case` with `documents` manifest entries of `document_bytes` each, unique to
/// `unique` (the run and a sequence number).
pub fn application(
    case: &Case,
    documents: usize,
    document_bytes: usize,
    unique: &str,
) -> Application {
    let mut kinds = required(case.benefit, case.age);
    while kinds.len() < documents {
        kinds.push("other");
    }
    let mut manifest = Vec::with_capacity(kinds.len());
    let mut uploads = Vec::with_capacity(kinds.len());
    for (name, kind) in names(&kinds).into_iter().zip(&kinds) {
        let bytes = pdf(unique, &name, document_bytes);
        manifest.push(Document {
            kind: kind.to_string(),
            media_type: "application/pdf".into(),
            size: bytes.len() as u64,
            sha256: crate::ids::sha256_hex(&bytes),
        });
        uploads.push(Upload {
            name,
            bytes: Bytes::from(bytes),
        });
    }
    let body = serde_json::to_vec(&input(case, manifest)).unwrap_or_default();
    Application {
        body: Bytes::from(body),
        uploads,
    }
}

/// A request the API must refuse.
#[derive(Clone, Debug)]
pub struct Invalid {
    /// What is wrong (for the report).
    pub what: &'static str,
    /// The body.
    pub body: Bytes,
    /// Whether it carries an `Idempotency-Key`.
    pub with_key: bool,
}

/// Variants of [`invalid`].
pub const INVALID_VARIANTS: u64 = 5;

/// Invalid variant `variant % INVALID_VARIANTS` of `case`'s application: malformed JSON (400), a
/// wrong SNILS check number (422), no INN (422, refused outright), an unknown benefit (422), no
/// `Idempotency-Key` (400).
pub fn invalid(case: &Case, variant: u64) -> Invalid {
    let manifest = required(case.benefit, case.age)
        .iter()
        .map(|kind| Document {
            kind: kind.to_string(),
            media_type: "application/pdf".into(),
            size: 1024,
            sha256: "0".repeat(64),
        })
        .collect();
    let mut app = input(case, manifest);
    let json = |app: &ApplicationInput| Bytes::from(serde_json::to_vec(app).unwrap_or_default());
    match variant % INVALID_VARIANTS {
        0 => {
            let mut body = serde_json::to_vec(&app).unwrap_or_default();
            body.truncate(body.len() / 2);
            Invalid {
                what: "malformed JSON",
                body: Bytes::from(body),
                with_key: true,
            }
        }
        1 => {
            if let Some(s) = app.applicant.snils.as_mut() {
                // The check number is the last two digits; one more is always wrong.
                let (body, check) = s.split_at(s.len().saturating_sub(2));
                let wrong = (check.parse::<u32>().unwrap_or(0) + 1) % 100;
                *s = format!("{body}{wrong:02}");
            }
            Invalid {
                what: "wrong SNILS check number",
                body: json(&app),
                with_key: true,
            }
        }
        2 => {
            app.applicant.inn = None;
            Invalid {
                what: "no INN",
                body: json(&app),
                with_key: true,
            }
        }
        3 => {
            app.benefit = "free_money".into();
            Invalid {
                what: "unknown benefit",
                body: json(&app),
                with_key: true,
            }
        }
        _ => Invalid {
            what: "no Idempotency-Key",
            body: json(&app),
            with_key: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::people::Applicants;
    use crate::mock::population::{Population, PopulationConfig};

    fn case() -> Case {
        let population = Population::generate(&PopulationConfig {
            seed: 7,
            people: 2_000,
        });
        let today = crate::calendar::today(std::time::SystemTime::now());
        Applicants::new(population, today)
            .next_eligible()
            .expect("a case")
    }

    #[test]
    fn an_application_passes_the_input_rules_and_its_documents_match_the_manifest() {
        let case = case();
        let app = application(&case, 5, 3000, "run-1");
        let input: ApplicationInput = serde_json::from_slice(&app.body).expect("JSON");
        let today = crate::calendar::today(std::time::SystemTime::now());
        let names = input.manifest_names();
        input.clone().validate(today).expect("valid input");
        assert!(input.documents.len() >= 5);
        assert_eq!(names.len(), app.uploads.len());
        for (upload, name) in app.uploads.iter().zip(&names) {
            assert_eq!(&upload.name, name);
            let entry = input.manifest_entry(name).expect("entry");
            assert_eq!(entry.size, upload.bytes.len() as u64);
            assert_eq!(entry.sha256, crate::ids::sha256_hex(&upload.bytes));
            assert!(
                crate::api::content::pdf(&upload.bytes).is_ok(),
                "a PDF the API accepts"
            );
        }
        assert!((2990..=3010).contains(&app.uploads[0].bytes.len()));
        // Unique per application: no two applications share a document.
        let other = application(&case, 5, 3000, "run-2");
        assert_ne!(other.uploads[0].bytes, app.uploads[0].bytes);
    }

    #[test]
    fn invalid_variants_break_the_input_rules() {
        let case = case();
        let today = crate::calendar::today(std::time::SystemTime::now());
        for v in 0..INVALID_VARIANTS {
            let bad = invalid(&case, v);
            let parsed: Result<ApplicationInput, _> = serde_json::from_slice(&bad.body);
            let refused = match parsed {
                Err(_) => true,
                Ok(input) => input.validate(today).is_err() || !bad.with_key,
            };
            assert!(refused, "variant {v} ({}) would be accepted", bad.what);
        }
    }
}
