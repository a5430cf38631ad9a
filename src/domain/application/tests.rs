use super::*;
use crate::domain::fixtures::{doc, valid};
use crate::domain::identifiers::snils_from_body;
use crate::domain::valid::ValidApplication;

const TODAY: (i32, u32, u32) = (2026, 7, 1);

fn today() -> i32 {
    day(TODAY.0, TODAY.1, TODAY.2)
}

fn check(v: serde_json::Value) -> Result<ValidApplication, Rejection> {
    let input: ApplicationInput = serde_json::from_value(v).expect("shape");
    input.validate(today())
}

fn pointers(r: &Rejection) -> Vec<(String, String)> {
    r.errors()
        .iter()
        .map(|e| (e.pointer.clone(), e.code.clone()))
        .collect()
}

#[test]
fn a_valid_application_passes_normalized() {
    let mut v = valid();
    let s = format!("{:011}", snils_from_body(112_233_445));
    let dashed = format!("{}-{}-{} {}", &s[0..3], &s[3..6], &s[6..9], &s[9..11]);
    v["applicant"]["snils"] = serde_json::json!(dashed);
    let ok = check(v).expect("valid");
    assert_eq!(ok.applicant.snils.as_deref().map(str::len), Some(11));
    assert_eq!(ok.benefit(), Benefit::ChildcareUnder1_5);
    assert_eq!(ok.applicant().snils.as_str(), s);
    assert_eq!(ok.documents[0].sha256, "ab".repeat(32));
}

#[test]
fn a_missing_snils_or_inn_is_refused_outright() {
    let mut v = valid();
    v["applicant"]
        .as_object_mut()
        .expect("object")
        .remove("inn");
    v["child"]["birth_date"] = serde_json::json!("not a date");
    let r = check(v).expect_err("refused");
    assert!(matches!(r, Rejection::MissingIdentifier(_)));
    assert_eq!(pointers(&r), [("/applicant/inn".into(), "required".into())]);
}

#[test]
fn every_broken_field_is_reported_at_once_by_pointer() {
    let mut v = valid();
    let snils = format!("{:011}", snils_from_body(112_233_445));
    let wrong_check = format!(
        "{}{:02}",
        &snils[..9],
        (snils[9..].parse::<u32>().expect("n") + 1) % 100
    );
    v["applicant"]["snils"] = serde_json::json!(wrong_check);
    v["applicant"]["inn"] = serde_json::json!("770708389300");
    v["applicant"]["passport"]["series"] = serde_json::json!("45A0");
    v["applicant"]["passport"]["issue_date"] = serde_json::json!("2027-01-01");
    v["applicant"]["phone"] = serde_json::json!("89161234567");
    v["child"]["birth_date"] = serde_json::json!("2025-02-30");
    v["child"]["first_name"] = serde_json::json!("Peter");
    v["child"]["birth_certificate"]["series"] = serde_json::json!("IV-AB");
    v["documents"][0]["size"] = serde_json::json!(6 * 1024 * 1024);
    v["documents"][1]["media_type"] = serde_json::json!("image/gif");
    let r = check(v).expect_err("invalid");
    assert!(matches!(r, Rejection::Fields(_)));
    let got = pointers(&r);
    for expected in [
        ("/applicant/snils", "snils_checksum"),
        ("/applicant/inn", "inn_checksum"),
        ("/applicant/passport/series", "format"),
        ("/applicant/passport/issue_date", "future_date"),
        ("/applicant/phone", "format"),
        ("/child/birth_date", "date"),
        ("/child/first_name", "name"),
        ("/child/birth_certificate/series", "format"),
        ("/documents/0/size", "document_size"),
        ("/documents/1/media_type", "media_type"),
    ] {
        assert!(
            got.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {got:?}"
        );
    }
    // Messages never repeat the values.
    for e in r.errors() {
        assert!(
            !e.message.contains(&wrong_check) && !e.message.contains("Peter"),
            "{e:?}"
        );
    }
}

#[test]
fn required_documents_follow_the_benefit_and_the_childs_age() {
    // Disabled child: a medical certificate too.
    let mut v = valid();
    v["benefit"] = serde_json::json!("disabled_child");
    let r = check(v.clone()).expect_err("missing certificate");
    assert_eq!(
        pointers(&r),
        [("/documents".into(), "document_missing".into())]
    );
    assert!(r.errors()[0].message.contains("medical_certificate"));
    v["documents"]
        .as_array_mut()
        .expect("array")
        .push(doc("medical_certificate"));
    check(v).expect("complete");

    // Unified allowance for a child of 8: a school certificate.
    let mut v = valid();
    v["benefit"] = serde_json::json!("unified_allowance");
    v["child"]["birth_date"] = serde_json::json!("2018-05-01");
    v["child"]["birth_certificate"]["issue_date"] = serde_json::json!("2018-05-10");
    let r = check(v.clone()).expect_err("missing school certificate");
    assert!(
        r.errors()[0].message.contains("school_certificate"),
        "{r:?}"
    );
    v["documents"]
        .as_array_mut()
        .expect("array")
        .push(doc("school_certificate"));
    check(v).expect("complete");
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let mut v = valid();
    v["applicant"]["frist_name"] = serde_json::json!("x");
    let err = serde_json::from_value::<ApplicationInput>(v).expect_err("unknown field");
    assert!(err.to_string().contains("frist_name"), "{err}");
}

#[test]
fn ages_count_whole_years() {
    assert_eq!(age_years(day(2019, 7, 2), day(2026, 7, 1)), 6);
    assert_eq!(age_years(day(2019, 7, 1), day(2026, 7, 1)), 7);
    assert_eq!(age_years(day(2020, 2, 29), day(2021, 2, 28)), 0);
}

#[test]
fn benefit_codes_serialize_as_the_schema_spells_them() {
    for b in Benefit::ALL {
        assert_eq!(
            serde_json::to_value(b).expect("json"),
            serde_json::json!(b.code())
        );
        assert_eq!(Benefit::from_code(b.code()), Some(b));
    }
}

#[test]
fn free_text_is_bounded_by_the_registries_limits() {
    let mut v = valid();
    v["applicant"]["passport"]["issuer"] = serde_json::json!("О".repeat(501));
    v["applicant"]["registration_address"]["locality"] = serde_json::json!("М".repeat(256));
    v["child"]["birth_place"] = serde_json::json!("М".repeat(256));
    let many: Vec<_> = (0..21).map(|_| doc("other")).collect();
    v["documents"] = serde_json::json!(many);
    let got = pointers(&check(v).expect_err("too long"));
    for expected in [
        ("/applicant/passport/issuer", "too_long"),
        ("/applicant/registration_address/locality", "too_long"),
        ("/child/birth_place", "too_long"),
        ("/documents", "too_many"),
    ] {
        assert!(
            got.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {got:?}"
        );
    }
}
