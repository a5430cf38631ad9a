use super::*;
use crate::domain::application::day;
use crate::domain::fixtures::valid;
use crate::registries::messages::RecordPerson;

fn today() -> i32 {
    day(2026, 7, 1)
}

fn app(v: serde_json::Value) -> ValidApplication {
    serde_json::from_value::<crate::domain::application::ApplicationInput>(v)
        .expect("shape")
        .validate(today())
        .expect("valid")
}

/// Facts that approve the sample application.
fn facts(app: &ValidApplication) -> Facts {
    let parent = RecordPerson {
        last_name: app.applicant.last_name.clone(),
        first_name: app.applicant.first_name.clone(),
        middle_name: app.applicant.middle_name.clone(),
        birth_date: app.applicant.birth_date.clone(),
        snils: app.applicant.snils.clone(),
        role: Some("mother".into()),
    };
    Facts {
        applicant_snils: Verdict::Match,
        applicant_inn: Verdict::Match,
        birth_record: Some(BirthRecord {
            status: "active".into(),
            child: RecordPerson {
                last_name: app.child.last_name.clone(),
                first_name: app.child.first_name.clone(),
                middle_name: app.child.middle_name.clone(),
                birth_date: app.child.birth_date.clone(),
                snils: Some(app.child.snils.clone()),
                role: None,
            },
            parents: vec![parent],
        }),
        statuses: Some(Vec::new()),
        assignments: Vec::new(),
        own_approved: Vec::new(),
    }
}

fn codes(d: &Decision) -> Vec<(String, String)> {
    match d {
        Decision::Approved => Vec::new(),
        Decision::Rejected(r) | Decision::NeedsClarification(r) => r
            .iter()
            .map(|r| (r.pointer.clone(), r.code.clone()))
            .collect(),
    }
}

#[test]
fn matching_records_approve() {
    let a = app(valid());
    assert_eq!(decide(&a, &facts(&a), today()), Decision::Approved);
}

#[test]
fn a_wrong_child_name_goes_to_clarification_naming_the_field() {
    let a = app(valid());
    let mut f = facts(&a);
    f.birth_record.as_mut().expect("record").child.first_name = "Павел".into();
    let d = decide(&a, &f, today());
    assert!(matches!(d, Decision::NeedsClarification(_)), "{d:?}");
    assert_eq!(
        codes(&d),
        [("/child/first_name".into(), "birth_record_mismatch".into())]
    );
}

#[test]
fn registry_mismatches_on_the_applicant_name_their_fields() {
    let a = app(valid());
    let mut f = facts(&a);
    f.applicant_snils = Verdict::NoMatch(vec!["LastName".into(), "BirthDate".into()]);
    f.applicant_inn = Verdict::NotFound;
    let got = codes(&decide(&a, &f, today()));
    assert_eq!(
        got,
        [
            (
                "/applicant/last_name".into(),
                "snils_registry_mismatch".into()
            ),
            (
                "/applicant/birth_date".into(),
                "snils_registry_mismatch".into()
            ),
            ("/applicant/inn".into(), "inn_not_found".into()),
        ]
    );
}

#[test]
fn someone_not_on_the_birth_record_is_rejected() {
    let a = app(valid());
    let mut f = facts(&a);
    f.birth_record.as_mut().expect("record").parents[0].snils = Some("00000000000".into());
    assert_eq!(
        codes(&decide(&a, &f, today())),
        [("/applicant".into(), "not_a_parent".into())]
    );
}

#[test]
fn a_benefit_already_paid_for_the_child_is_a_duplicate_naming_the_assignment() {
    let a = app(valid());
    let mut f = facts(&a);
    f.assignments.push(Assignment {
        assignment_id: "77-2026-0000000001".into(),
        benefit_code: "childcare_under_1_5".into(),
        child_snils: a.child.snils.clone(),
        recipient_snils: "11111111111".into(),
        from: "2026-01-01".into(),
        to: None,
    });
    // Another benefit, or a period that ended, is no conflict.
    f.assignments.push(Assignment {
        assignment_id: "77-2025-0000000002".into(),
        benefit_code: "childcare_under_1_5".into(),
        child_snils: a.child.snils.clone(),
        recipient_snils: "11111111111".into(),
        from: "2025-01-01".into(),
        to: Some("2025-12-31".into()),
    });
    let d = decide(&a, &f, today());
    let Decision::Rejected(reasons) = &d else {
        panic!("{d:?}");
    };
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert_eq!(reasons[0].code, "duplicate_benefit");
    assert!(
        reasons[0].message.contains("77-2026-0000000001"),
        "{}",
        reasons[0].message
    );
    assert!(reasons[0].message.contains("another recipient"));

    // reggate's own approval counts the same.
    let mut f = facts(&a);
    f.own_approved.push(OwnApproval {
        application_number: "RG-2026-000001".into(),
        benefit: Benefit::ChildcareUnder1_5,
        recipient_snils: a.applicant().snils.clone(),
        from: Date::try_from("2026-06-01").expect("date"),
        to: None,
    });
    let d = decide(&a, &f, today());
    let Decision::Rejected(reasons) = &d else {
        panic!("{d:?}");
    };
    assert!(
        reasons[0].message.contains("RG-2026-000001")
            && reasons[0].message.contains("this applicant")
    );
}

#[test]
fn age_and_status_conditions_per_benefit() {
    // Childcare: 18 months at most.
    let mut v = valid();
    v["child"]["birth_date"] = serde_json::json!("2024-12-31");
    v["child"]["birth_certificate"]["issue_date"] = serde_json::json!("2025-01-10");
    let a = app(v);
    assert_eq!(
        codes(&decide(&a, &facts(&a), today())),
        [("/child/birth_date".into(), "child_age".into())]
    );

    // Unified allowance: an active low-income assessment below the minimum.
    let mut v = valid();
    v["benefit"] = serde_json::json!("unified_allowance");
    let a = app(v);
    let mut f = facts(&a);
    assert_eq!(
        codes(&decide(&a, &f, today()))[0].1,
        "income_not_below_minimum"
    );
    let low = |income: &str| FamilyStatus {
        kind: "LowIncome".into(),
        active: true,
        valid_from: "2026-01-01".into(),
        valid_to: None,
        child_snils: Vec::new(),
        income_per_person: Some(income.into()),
        regional_minimum: Some("15000.00".into()),
    };
    f.statuses = Some(vec![low("16000.00")]);
    assert_eq!(
        codes(&decide(&a, &f, today()))[0].1,
        "income_not_below_minimum"
    );
    f.statuses = Some(vec![low("12000.50")]);
    assert_eq!(decide(&a, &f, today()), Decision::Approved);

    // Disabled child: the child's own disability status.
    let mut v = valid();
    v["benefit"] = serde_json::json!("disabled_child");
    v["documents"]
        .as_array_mut()
        .expect("docs")
        .push(crate::domain::fixtures::doc("medical_certificate"));
    let a = app(v);
    let mut f = facts(&a);
    let disability = |child: &str, active: bool| FamilyStatus {
        kind: "ChildDisability".into(),
        active,
        valid_from: "2026-01-01".into(),
        valid_to: None,
        child_snils: vec![child.into()],
        income_per_person: None,
        regional_minimum: None,
    };
    f.statuses = Some(vec![
        disability(&a.child.snils, false),
        disability("99999999999", true),
    ]);
    assert_eq!(codes(&decide(&a, &f, today()))[0].1, "status_not_active");
    f.statuses = Some(vec![disability(&a.child.snils, true)]);
    assert_eq!(decide(&a, &f, today()), Decision::Approved);
}

/// `f` as the store keeps it: every answer minimised for `a`'s applicant and child.
fn minimised(a: &ValidApplication, f: &Facts) -> Facts {
    use crate::domain::answers::Answer;
    let (applicant, child) = (a.applicant().snils.as_str(), a.child().snils.as_str());
    let keep = |answer: Answer| answer.minimised(applicant, child);
    let (
        Answer::BirthRecord(birth_record),
        Answer::FamilyStatuses(statuses),
        Answer::ChildAssignments(assignments),
    ) = (
        keep(Answer::BirthRecord(f.birth_record.clone())),
        keep(Answer::FamilyStatuses(f.statuses.clone())),
        keep(Answer::ChildAssignments(f.assignments.clone())),
    )
    else {
        panic!("minimising keeps the kind of answer");
    };
    Facts {
        birth_record,
        statuses,
        assignments,
        ..f.clone()
    }
}

#[test]
fn minimised_answers_decide_alike_and_keep_nothing_about_third_parties() {
    let other_parent = RecordPerson {
        last_name: "Третьякова".into(),
        first_name: "Олимпиада".into(),
        middle_name: Some("Святославовна".into()),
        birth_date: "1977-03-09".into(),
        snils: Some("98765432109".into()),
        role: Some("father".into()),
    };
    let sibling = "55566677788";
    let stranger = "99988877766";
    let family = |kind: &str, children: Vec<String>| FamilyStatus {
        kind: kind.into(),
        active: true,
        valid_from: "2026-01-01".into(),
        valid_to: None,
        child_snils: children,
        income_per_person: None,
        regional_minimum: None,
    };
    let paid_to = |recipient: &str| Assignment {
        assignment_id: "77-2026-0000000009".into(),
        benefit_code: "childcare_under_1_5".into(),
        child_snils: app(valid()).child.snils.clone(),
        recipient_snils: recipient.into(),
        from: "2026-01-01".into(),
        to: None,
    };
    let mut cases: Vec<(&str, serde_json::Value, Facts)> = Vec::new();
    let a = app(valid());
    let mut both_parents = facts(&a);
    both_parents
        .birth_record
        .as_mut()
        .expect("record")
        .parents
        .push(other_parent.clone());
    cases.push(("both parents on the record", valid(), both_parents.clone()));
    let mut only_the_other = facts(&a);
    only_the_other
        .birth_record
        .as_mut()
        .expect("record")
        .parents = vec![other_parent.clone()];
    cases.push(("the applicant is not a parent", valid(), only_the_other));
    let mut paid_elsewhere = both_parents.clone();
    paid_elsewhere.assignments = vec![paid_to(stranger), paid_to(a.applicant().snils.as_str())];
    cases.push(("paid to another recipient", valid(), paid_elsewhere));
    let mut large = valid();
    large["benefit"] = serde_json::json!("large_family");
    for children in [
        vec![a.child.snils.clone(), sibling.into(), stranger.into()],
        vec![a.child.snils.clone(), sibling.into()],
    ] {
        let mut f = both_parents.clone();
        f.statuses = Some(vec![family("LargeFamily", children)]);
        cases.push(("a large family, or not quite", large.clone(), f));
    }
    let mut disabled = valid();
    disabled["benefit"] = serde_json::json!("disabled_child");
    disabled["documents"]
        .as_array_mut()
        .expect("docs")
        .push(crate::domain::fixtures::doc("medical_certificate"));
    for child in [a.child.snils.clone(), sibling.to_string()] {
        let mut f = both_parents.clone();
        f.statuses = Some(vec![family("ChildDisability", vec![child])]);
        cases.push((
            "a disability, the child's or a sibling's",
            disabled.clone(),
            f,
        ));
    }
    for (what, input, f) in cases {
        let Ok(input) =
            serde_json::from_value::<crate::domain::application::ApplicationInput>(input)
                .map_err(|e| e.to_string())
                .and_then(|i| i.validate(today()).map_err(|e| format!("{e:?}")))
        else {
            panic!("{what}: the sample application is valid");
        };
        let kept = minimised(&input, &f);
        assert_eq!(
            decide(&input, &kept, today()),
            decide(&input, &f, today()),
            "{what}: the kept answers decide as the whole ones"
        );
        let stored = format!(
            "{:?} {:?} {:?}",
            kept.birth_record, kept.statuses, kept.assignments
        );
        for third in [
            "98765432109",
            "Третьякова",
            "Олимпиада",
            "1977-03-09",
            sibling,
            stranger,
            input.applicant.last_name.as_str(),
            input.applicant.birth_date.as_str(),
        ] {
            assert!(!stored.contains(third), "{what}: {third} is kept: {stored}");
        }
    }
}
