//! Tests of the synthetic population: determinism, check numbers, schema conformance of every value
//! as it will be sent, conflicts and registration, save/load.

use std::path::PathBuf;

use super::*;
use crate::calendar as ids;
use crate::domain::identifiers::{inn_from_body, snils_check};
use crate::xml::regex::XsdRegex;
use crate::xml::schema::Schema;
use crate::xml::validate::{Options, validate_bytes};

fn pop(seed: u64, people: usize) -> Population {
    Population::generate(&PopulationConfig { seed, people })
}

/// FNV-1a, 64 bit: a stable hash for the golden value (std's hashers are not stable across releases).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn all_people(p: &Population) -> Vec<PersonView> {
    (0..p.adults.len() as u32)
        .filter_map(|i| p.adult_view(i))
        .chain((0..p.children.len() as u32).filter_map(|i| p.child_person(i)))
        .collect()
}

#[test]
fn check_numbers_follow_the_published_algorithms() {
    // Well-known valid examples.
    assert!(snils_is_valid("11223344595"));
    assert!(!snils_is_valid("11223344596"));
    assert!(inn_is_valid("500100732259"));
    assert!(!inn_is_valid("500100732258"));
    assert_eq!(inn_from_body(5_001_007_322), 500_100_732_259);
    // Sums of exactly 100 and 101 give 00; above 101, mod 101 (100 again giving 00).
    for body in [100_100_199_u32, 999_999_999, 123_456_789, 101_000_000] {
        let mut sum = 0;
        let s = format!("{body:09}");
        for (i, c) in s.bytes().enumerate() {
            sum += u32::from(c - b'0') * (9 - i as u32);
        }
        let expected = match sum {
            0..=99 => sum,
            100 | 101 => 0,
            _ => (sum % 101) % 100,
        };
        assert_eq!(snils_check(body), expected, "{body}");
    }
    assert!(!snils_is_valid("1122334459"));
    assert!(!snils_is_valid("1122334459x"));
    assert!(!inn_is_valid("50010073225"));
}

#[test]
fn dates_round_trip_and_reject_unreal_days() {
    for d in [-30_000, -1, 0, 1, 11_016, 20_000, 60_000] {
        assert_eq!(ids::parse_date(&ids::fmt_date(d)), Some(d));
    }
    assert_eq!(ids::fmt_date(0), "1970-01-01");
    assert_eq!(ids::fmt_date(REF), REFERENCE_DATE);
    assert_eq!(
        ids::parse_date("2024-02-29"),
        Some(ids::days_from_civil(2024, 2, 29))
    );
    for bad in [
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-1-01",
        "20240101xx",
        "2024-04-31",
    ] {
        assert_eq!(ids::parse_date(bad), None, "{bad}");
    }
    assert_eq!(
        ids::fmt_date(ids::add_months(ids::days_from_civil(2024, 1, 31), 1)),
        "2024-02-29"
    );
}

#[test]
fn permutation_is_a_bijection() {
    let p = super::ids::Permutation::new(10_000, [1, 2, 3, 4]);
    let mut seen = vec![false; 10_000];
    for i in 0..10_000 {
        let y = p.apply(i) as usize;
        assert!(!seen[y]);
        seen[y] = true;
    }
}

#[test]
fn same_seed_same_data_and_golden_snapshot() {
    let a = pop(42, 2_000);
    let b = pop(42, 2_000);
    assert_eq!(a.len(), 2_000);
    let ea = serde_json::to_string(&a.export_people(60)).unwrap_or_default();
    let eb = serde_json::to_string(&b.export_people(60)).unwrap_or_default();
    assert_eq!(ea, eb);
    let dir_a = tempdir("golden-a");
    a.save(&dir_a).expect("save");
    let file = std::fs::read(dir_a.join("population.json")).expect("read");
    let first = a.adult_view(0).expect("first adult");
    let snapshot = format!(
        "{} {} {:?} {} {} {} {:?}",
        first.last_name,
        first.first_name,
        first.middle_name,
        first.birth_date,
        first.snils,
        first.inn.as_deref().unwrap_or(""),
        first
            .passport
            .as_ref()
            .map(|p| format!("{} {}", p.series, p.number)),
    );
    // Cross-machine drift guard: if generation changes on purpose, update these two values.
    println!("snapshot: {snapshot}\nfile hash: {:#018x}", fnv(&file));
    assert_eq!(snapshot, GOLDEN_FIRST);
    assert_eq!(fnv(&file), GOLDEN_FILE_HASH);
    let _ = std::fs::remove_dir_all(dir_a);
}

const GOLDEN_FIRST: &str =
    "Лебедева Вера Some(\"Викторовна\") 2004-06-23 28569782456 210687461350 Some(\"2124 923616\")";
const GOLDEN_FILE_HASH: u64 = 0x5fab_7180_d0f0_bb43;

#[test]
fn different_seeds_differ() {
    let a = pop(1, 500);
    let b = pop(2, 500);
    assert_ne!(a.export_people(20), b.export_people(20));
    assert_ne!(a.adult_view(0), b.adult_view(0));
}

#[test]
fn sizes_are_exact_and_small_sizes_work() {
    for n in [0, 1, 2, 3, 100, 101, 1_000] {
        let p = pop(7, n);
        assert_eq!(p.len(), n);
        assert_eq!(p.is_empty(), n == 0);
    }
}

#[test]
fn identifiers_are_valid_and_unique() {
    let p = pop(3, 20_000);
    let people = all_people(&p);
    assert_eq!(people.len(), 20_000);
    for v in &people {
        assert!(snils_is_valid(&v.snils), "{}", v.snils);
        if let Some(inn) = &v.inn {
            assert!(inn_is_valid(inn), "{inn}");
        }
    }
    // build_indexes refuses duplicates; regenerating the indexes must succeed.
    let mut p = p;
    assert!(p.build_indexes().is_ok());
    assert!(
        p.adult_count() > 8_000 && p.child_count() > 6_000,
        "{} {}",
        p.adult_count(),
        p.child_count()
    );
}

struct Patterns {
    snils: XsdRegex,
    inn: XsdRegex,
    name: XsdRegex,
    date: XsdRegex,
    passport_series: XsdRegex,
    passport_number: XsdRegex,
    division: XsdRegex,
    cert_series: XsdRegex,
    cert_number: XsdRegex,
    postal: XsdRegex,
    region: XsdRegex,
    phone: XsdRegex,
    email: XsdRegex,
    act: XsdRegex,
    office: XsdRegex,
    assignment_id: XsdRegex,
    application: XsdRegex,
    tax_office: XsdRegex,
    amount: XsdRegex,
}

fn re(p: &str) -> XsdRegex {
    XsdRegex::new(p).expect("pattern compiles")
}

fn patterns() -> Patterns {
    // Copied from schemas/*.xsd; the XML test below checks the same values against the schemas.
    Patterns {
        snils: re("[0-9]{11}"),
        inn: re("[0-9]{12}"),
        name: re("[А-ЯЁа-яё]+([\\-' ][А-ЯЁа-яё]+)*"),
        date: re("[0-9]{4}-[0-9]{2}-[0-9]{2}"),
        passport_series: re("[0-9]{4}"),
        passport_number: re("[0-9]{6}"),
        division: re("[0-9]{3}-[0-9]{3}"),
        cert_series: re("[IVXLCDM]{1,4}-[А-ЯЁ]{2}"),
        cert_number: re("[0-9]{6}"),
        postal: re("[0-9]{6}"),
        region: re("0[1-9]|[1-9][0-9]"),
        phone: re("\\+7[0-9]{10}"),
        email: re("[A-Za-z0-9._%+\\-]+@[A-Za-z0-9\\-]+(\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,63}"),
        act: re("[0-9]{1,22}"),
        office: re("[0-9]{8}"),
        assignment_id: re("[0-9]{2}-[0-9]{4}-[0-9]{10}"),
        application: re("[A-Z0-9][A-Z0-9\\-]*"),
        tax_office: re("[0-9]{4}"),
        amount: re("[0-9]{1,13}\\.[0-9]{2}"),
    }
}

fn check(re: &XsdRegex, value: &str, what: &str) {
    assert!(
        re.is_match(value),
        "{what}: '{value}' does not match {}",
        re.as_str()
    );
}

#[test]
fn every_value_matches_its_schema_pattern() {
    let p = pop(11, 20_000);
    let pt = patterns();
    for v in all_people(&p) {
        check(&pt.name, &v.last_name, "last name");
        check(&pt.name, &v.first_name, "first name");
        if let Some(m) = &v.middle_name {
            check(&pt.name, m, "middle name");
        }
        check(&pt.date, &v.birth_date, "birth date");
        check(&pt.snils, &v.snils, "snils");
        check(&pt.date, &v.snils_registration_date, "snils date");
        assert!(v.snils_registration_date.as_str() <= REFERENCE_DATE);
        assert!(v.birth_date.as_str() < REFERENCE_DATE);
        if let Some(inn) = &v.inn {
            check(&pt.inn, inn, "inn");
            check(
                &pt.tax_office,
                v.inn_tax_authority_code.as_deref().unwrap_or(""),
                "tax office",
            );
        }
        if let Some(pp) = &v.passport {
            check(&pt.passport_series, &pp.series, "passport series");
            check(&pt.passport_number, &pp.number, "passport number");
            check(&pt.division, &pp.issuer_code, "division code");
            check(&pt.date, &pp.issue_date, "passport date");
            assert!(pp.issue_date > v.birth_date);
        }
        if let Some(a) = &v.registration_address {
            check(&pt.postal, &a.postal_code, "postal code");
            check(&pt.region, &a.region_code, "region");
        }
        if let Some(ph) = &v.phone {
            check(&pt.phone, ph, "phone");
        }
        if let Some(e) = &v.email {
            check(&pt.email, e, "email");
        }
        if let Some(c) = &v.birth_certificate {
            check(&pt.cert_series, &c.series, "certificate series");
            assert!(c.series.chars().count() <= 7);
            check(&pt.cert_number, &c.number, "certificate number");
        }
    }
    for k in 0..p.children.len() as u32 {
        let r = p.birth_record_of(k).expect("record");
        check(&pt.act, &r.act_record.number, "act record");
        check(&pt.office, &r.registry_office.code, "office code");
        check(&pt.region, &r.birth_place.region_code, "birth region");
        assert!(!r.parents.is_empty() && r.parents.len() <= 2);
        for a in p.active_assignments(&r.child.snils) {
            check(&pt.assignment_id, &a.assignment_id, "assignment id");
            check(&pt.application, &a.application_number, "application number");
            assert!(a.application_number.len() <= 40);
            check(&pt.amount, &a.amount, "amount");
            check(&pt.region, &a.region_code, "assignment region");
        }
    }
}

#[test]
fn lookups_find_the_same_person_every_way() {
    let p = pop(5, 3_000);
    for i in (0..p.adults.len() as u32).step_by(37) {
        let v = p.adult_view(i).expect("adult");
        assert_eq!(p.person_by_snils(&v.snils).as_ref(), Some(&v));
        assert_eq!(
            p.person_by_inn(v.inn.as_deref().unwrap_or("")).as_ref(),
            Some(&v)
        );
        let pp = v.passport.as_ref().expect("passport");
        assert_eq!(
            p.person_by_passport(&pp.series, &pp.number).as_ref(),
            Some(&v)
        );
    }
    for k in (0..p.children.len() as u32).step_by(23) {
        let c = p.child_person(k).expect("child");
        assert_eq!(p.person_by_snils(&c.snils).as_ref(), Some(&c));
        let cert = c.birth_certificate.as_ref().expect("certificate");
        let r = p.birth_record(&cert.series, &cert.number).expect("record");
        assert_eq!(r.child.snils, c.snils);
        for parent in &r.parents {
            let adult = p.person_by_snils(&parent.snils).expect("parent exists");
            assert_eq!(adult.kind, PersonKind::Adult);
            match parent.role {
                ParentRole::Mother => assert_eq!(adult.gender, Gender::Female),
                ParentRole::Father => assert_eq!(adult.gender, Gender::Male),
            }
            assert!(adult.birth_date < c.birth_date);
        }
        // The child's last name comes from a parent (in the child's gender form).
        if let Some(father) = r.parents.iter().find(|x| x.role == ParentRole::Father)
            && c.gender == Gender::Male
        {
            assert_eq!(father.last_name, c.last_name);
        }
    }
    assert!(p.person_by_snils("00000000000").is_none());
    assert!(p.person_by_snils("garbage").is_none());
    assert!(p.person_by_passport("12", "34").is_none());
    assert!(p.birth_record("IV-АБ", "12345x").is_none());
    assert!(p.family_statuses("1").is_empty());
    assert!(p.active_assignments("1").is_empty());
}

#[test]
fn statuses_cover_every_kind_and_state() {
    let p = pop(9, 30_000);
    let mut seen = std::collections::BTreeSet::new();
    for h in 0..p.households.len() as u32 {
        for s in p.household_statuses(h) {
            let v = serde_json::to_value(&s).unwrap_or_default();
            seen.insert(format!(
                "{}:{}",
                v["kind"].as_str().unwrap_or(""),
                v["status"].as_str().unwrap_or("")
            ));
            match s {
                StatusView::LargeFamily {
                    status,
                    children_count,
                    child_snils,
                    ..
                } => {
                    assert!(children_count >= 3);
                    assert_eq!(child_snils.len(), children_count as usize);
                    let _ = status;
                }
                StatusView::LowIncome {
                    status: StatusState::Active,
                    income_per_person,
                    regional_minimum,
                    ..
                } => {
                    let (a, m) = (
                        parse_amount(&income_per_person),
                        parse_amount(&regional_minimum),
                    );
                    assert!(a < m, "{income_per_person} < {regional_minimum}");
                }
                _ => {}
            }
        }
    }
    for want in [
        "large_family:active",
        "large_family:expired",
        "child_disability:active",
        "child_disability:expired",
        "low_income:active",
        "low_income:expired",
    ] {
        assert!(seen.contains(want), "no {want} in {seen:?}");
    }
    // family_statuses by an adult's SNILS gives the household's statuses.
    let h = (0..p.households.len() as u32)
        .find(|&h| !p.household_statuses(h).is_empty() && !p.household_adults.of(h).is_empty())
        .expect("a household with statuses");
    let adult = p.household_adults.of(h)[0];
    let snils = fmt_snils(p.adults[adult as usize].snils);
    assert_eq!(p.family_statuses(&snils), p.household_statuses(h));
}

/// Children holding two overlapping assignments of the same benefit (the deliberate duplicates).
fn registry_duplicates(p: &Population) -> Vec<(String, Vec<AssignmentView>)> {
    let mut out = Vec::new();
    for k in 0..p.children.len() as u32 {
        let snils = fmt_snils(p.children[k as usize].snils);
        let list = p.active_assignments(&snils);
        let dup = list.iter().enumerate().any(|(i, a)| {
            list[i + 1..]
                .iter()
                .any(|b| b.benefit_code == a.benefit_code)
        });
        if dup {
            out.push((snils, list));
        }
    }
    out
}

#[test]
fn deliberate_conflicts_exist() {
    let p = pop(13, 30_000);
    let dups = registry_duplicates(&p);
    assert!(!dups.is_empty());
    // Some go to the other parent, some to the same one.
    let other = dups.iter().any(|(_, l)| {
        l.windows(2)
            .any(|w| w[0].recipient_snils != w[1].recipient_snils)
    });
    assert!(other);
    let mut benefits = std::collections::BTreeSet::new();
    for k in 0..p.children.len() as u32 {
        for a in p.active_assignments(&fmt_snils(p.children[k as usize].snils)) {
            benefits.insert(a.benefit_code);
        }
    }
    assert_eq!(benefits.len(), 4, "{benefits:?}");
}

fn new_assignment(app: &str, a: &AssignmentView, recipient: &str) -> NewAssignment {
    NewAssignment {
        application_number: app.to_owned(),
        benefit: a.benefit_code,
        child_snils: a.child_snils.clone(),
        recipient_snils: recipient.to_owned(),
        from: a.period.from.clone(),
        to: a.period.to.clone(),
        amount: Some(a.amount.clone()),
        region_code: a.region_code.clone(),
    }
}

#[test]
fn register_assignment_is_idempotent_and_detects_conflicts() {
    let p = pop(17, 5_000);
    // A child with both parents and a benefit assigned to one of them.
    let (child, existing, other) = (0..p.children.len() as u32)
        .find_map(|k| {
            let c = &p.children[k as usize];
            if c.mother == NONE || c.father == NONE {
                return None;
            }
            let list = p.active_assignments(&fmt_snils(c.snils));
            let a = list.into_iter().next()?;
            let other = [c.mother, c.father]
                .into_iter()
                .map(|x| fmt_snils(p.adults[x as usize].snils))
                .find(|s| *s != a.recipient_snils)?;
            Some((k, a, other))
        })
        .expect("a child with an assignment and two parents");
    let _ = child;
    // Same benefit, other parent: one recipient per child.
    match p.register_assignment(&new_assignment("APP-1", &existing, &other)) {
        RegisterOutcome::Conflict { conflicts } => {
            assert_eq!(conflicts[0].reason, ConflictReason::OneRecipientPerChild);
            assert_eq!(conflicts[0].existing.assignment_id, existing.assignment_id);
        }
        o => panic!("expected a conflict, got {o:?}"),
    }
    // Same benefit, same recipient, new number: overlapping period.
    match p.register_assignment(&new_assignment(
        "APP-2",
        &existing,
        &existing.recipient_snils,
    )) {
        RegisterOutcome::Conflict { conflicts } => {
            assert_eq!(conflicts[0].reason, ConflictReason::OverlappingPeriod)
        }
        o => panic!("expected a conflict, got {o:?}"),
    }
    // The same application registered again: already registered, same id.
    let again = new_assignment(
        &existing.application_number,
        &existing,
        &existing.recipient_snils,
    );
    assert_eq!(
        p.register_assignment(&again),
        RegisterOutcome::AlreadyRegistered {
            assignment: existing.clone()
        }
    );

    // A benefit the child does not have yet, from a later date: registered, then idempotent.
    let mut fresh = new_assignment("APP-NEW-1", &existing, &existing.recipient_snils);
    fresh.benefit = Benefit::ALL
        .into_iter()
        .find(|b| {
            p.active_assignments(&existing.child_snils)
                .iter()
                .all(|a| a.benefit_code != *b)
        })
        .expect("a benefit not assigned");
    fresh.from = "2026-08-01".to_owned();
    fresh.to = Some("2027-07-31".to_owned());
    fresh.amount = None;
    let before = p.assignment_count();
    let first = match p.register_assignment(&fresh) {
        RegisterOutcome::Registered { assignment } => assignment,
        o => panic!("expected registration, got {o:?}"),
    };
    assert_eq!(p.assignment_count(), before + 1);
    assert_eq!(
        p.register_assignment(&fresh),
        RegisterOutcome::AlreadyRegistered {
            assignment: first.clone()
        }
    );
    assert_eq!(p.assignment_count(), before + 1);
    assert!(p.active_assignments(&existing.child_snils).contains(&first));
    // Same number, other content: reused.
    let mut reused = fresh.clone();
    reused.to = Some("2027-12-31".to_owned());
    match p.register_assignment(&reused) {
        RegisterOutcome::Conflict { conflicts } => {
            assert_eq!(conflicts[0].reason, ConflictReason::ApplicationNumberReused);
            assert_eq!(conflicts[0].existing, first);
        }
        o => panic!("expected a conflict, got {o:?}"),
    }
    // The other parent now conflicts with the new one too; a later, non-overlapping period does not.
    let mut by_other = fresh.clone();
    by_other.application_number = "APP-NEW-2".to_owned();
    by_other.recipient_snils = other.clone();
    assert!(matches!(
        p.register_assignment(&by_other),
        RegisterOutcome::Conflict { .. }
    ));
    by_other.from = "2027-08-01".to_owned();
    by_other.to = Some("2028-07-31".to_owned());
    assert!(matches!(
        p.register_assignment(&by_other),
        RegisterOutcome::Registered { .. }
    ));

    // Refusals are data.
    let mut bad = fresh.clone();
    bad.application_number = "APP-BAD".to_owned();
    bad.child_snils = other.clone();
    assert!(matches!(
        p.register_assignment(&bad),
        RegisterOutcome::Rejected {
            error: RegisterError::UnknownChild { .. }
        }
    ));
    let mut bad = fresh.clone();
    bad.application_number = "app lower".to_owned();
    assert!(matches!(
        p.register_assignment(&bad),
        RegisterOutcome::Rejected {
            error: RegisterError::InvalidField {
                field: "application_number",
                ..
            }
        }
    ));
    let mut bad = fresh.clone();
    bad.application_number = "APP-BAD-2".to_owned();
    bad.to = Some("2020-01-01".to_owned());
    assert!(matches!(
        p.register_assignment(&bad),
        RegisterOutcome::Rejected {
            error: RegisterError::PeriodEndsBeforeStart { .. }
        }
    ));
    bad.to = None;
    bad.amount = Some("1.234".to_owned());
    assert!(matches!(
        p.register_assignment(&bad),
        RegisterOutcome::Rejected {
            error: RegisterError::InvalidField {
                field: "amount",
                ..
            }
        }
    ));
}

fn tempdir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("reggate-population-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn save_then_load_round_trips() {
    let p = pop(21, 3_000);
    // A registered assignment must survive too.
    let k = (0..p.children.len() as u32)
        .find(|&k| {
            p.active_assignments(&fmt_snils(p.children[k as usize].snils))
                .is_empty()
        })
        .expect("a child without assignments");
    let c = &p.children[k as usize];
    let parent = if c.mother != NONE { c.mother } else { c.father };
    let reg = NewAssignment {
        application_number: "RT-1".to_owned(),
        benefit: Benefit::UnifiedAllowance,
        child_snils: fmt_snils(c.snils),
        recipient_snils: fmt_snils(p.adults[parent as usize].snils),
        from: "2026-07-01".to_owned(),
        to: None,
        amount: None,
        region_code: "77".to_owned(),
    };
    assert!(matches!(
        p.register_assignment(&reg),
        RegisterOutcome::Registered { .. }
    ));
    let dir = tempdir("roundtrip");
    p.save(&dir).expect("save");
    let q = Population::load(&dir).expect("load");
    assert_eq!(q.len(), p.len());
    assert_eq!(q.seed(), p.seed());
    assert_eq!(all_people(&q), all_people(&p));
    assert_eq!(q.export_people(100), p.export_people(100));
    for h in 0..p.households.len() as u32 {
        assert_eq!(q.household_statuses(h), p.household_statuses(h));
    }
    for k in 0..p.children.len() as u32 {
        assert_eq!(q.birth_record_of(k), p.birth_record_of(k));
    }
    assert_eq!(q.assignment_count(), p.assignment_count());
    assert!(matches!(
        q.register_assignment(&reg),
        RegisterOutcome::AlreadyRegistered { .. }
    ));
    // Saving the loaded data gives the same file.
    let dir2 = tempdir("roundtrip2");
    q.save(&dir2).expect("save again");
    let (f1, f2) = (
        std::fs::read(dir.join("population.json")).expect("read"),
        std::fs::read(dir2.join("population.json")).expect("read"),
    );
    assert!(f1 == f2);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir2);
}

#[test]
fn load_reports_bad_data_by_location() {
    let p = pop(23, 200);
    let dir = tempdir("bad");
    p.save(&dir).expect("save");
    let file = dir.join("population.json");
    let text = std::fs::read_to_string(&file).expect("read");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let snils = v["adults"][1]["snils"].as_str().unwrap_or("").to_owned();
    let (body, check) = snils.split_at(9);
    v["adults"][1]["snils"] = serde_json::json!(format!(
        "{body}{:02}",
        (check.parse::<u32>().unwrap_or(0) + 1) % 100
    ));
    std::fs::write(&file, v.to_string()).expect("write");
    match Population::load(&dir) {
        Err(PopulationError::Invalid {
            location, value, ..
        }) => {
            assert_eq!(location, "adults[1].snils");
            assert!(value.starts_with("*********"), "masked: {value}");
        }
        other => panic!("expected Invalid, got {:?}", other.map(|p| p.len())),
    }
    // Duplicate SNILS.
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["adults"][2]["snils"] = v["adults"][0]["snils"].clone();
    std::fs::write(&file, v.to_string()).expect("write");
    assert!(matches!(
        Population::load(&dir),
        Err(PopulationError::Duplicate { key: "snils", .. })
    ));
    // A dangling parent.
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["children"][0]["mother"] = serde_json::json!(999_999);
    std::fs::write(&file, v.to_string()).expect("write");
    assert!(matches!(
        Population::load(&dir),
        Err(PopulationError::Invalid { .. })
    ));
    // Broken JSON and a missing file.
    std::fs::write(&file, "{\"format\": ").expect("write");
    assert!(matches!(
        Population::load(&dir),
        Err(PopulationError::Json { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let err = Population::load(&dir).expect_err("missing file");
    assert!(matches!(err, PopulationError::Io { .. }));
    assert!(err.to_string().contains("population.json"));
}

#[test]
fn export_has_every_case() {
    let p = pop(29, 20_000);
    let e = p.export_people(100);
    let people = e["people"].as_array().expect("array");
    assert!(
        people.len() <= 100 && people.len() >= 50,
        "{}",
        people.len()
    );
    let cases: std::collections::BTreeSet<&str> =
        people.iter().filter_map(|x| x["case"].as_str()).collect();
    for c in ["valid"].iter().chain(export_cases().iter()) {
        assert!(cases.contains(c), "missing case {c}: {cases:?}");
    }
    for x in people {
        let snils = x["applicant"]["snils"].as_str().unwrap_or("");
        match x["case"].as_str() {
            Some("wrong_snils_check") => assert!(!snils_is_valid(snils)),
            Some("wrong_inn_check") => {
                assert!(!inn_is_valid(x["applicant"]["inn"].as_str().unwrap_or("")))
            }
            Some("unknown_certificate") => {
                let cert = &x["children"][0]["person"]["birth_certificate"];
                assert!(
                    p.birth_record(
                        cert["series"].as_str().unwrap_or(""),
                        cert["number"].as_str().unwrap_or("")
                    )
                    .is_none()
                );
            }
            Some("duplicate_same_recipient" | "duplicate_other_parent") => {
                assert!(snils_is_valid(snils));
                let benefit =
                    Benefit::from_code(x["benefit"].as_str().unwrap_or("")).expect("benefit");
                // Registering the benefit for the applicant conflicts with the named assignment.
                let id = x["existing_assignment_id"].as_str().unwrap_or("");
                let child = x["children"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| {
                        c["assignments"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|a| a["assignment_id"] == id)
                    })
                    .expect("child with the assignment");
                let a = child["assignments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["assignment_id"] == id)
                    .expect("assignment");
                let req = NewAssignment {
                    application_number: format!("EXPORT-{}", &id[8..]),
                    benefit,
                    child_snils: a["child_snils"].as_str().unwrap_or("").to_owned(),
                    recipient_snils: snils.to_owned(),
                    from: a["period"]["from"].as_str().unwrap_or("").to_owned(),
                    to: a["period"]["to"].as_str().map(str::to_owned),
                    amount: None,
                    region_code: a["region_code"].as_str().unwrap_or("").to_owned(),
                };
                let expected = if x["case"] == "duplicate_same_recipient" {
                    ConflictReason::OverlappingPeriod
                } else {
                    ConflictReason::OneRecipientPerChild
                };
                match p.register_assignment(&req) {
                    RegisterOutcome::Conflict { conflicts } => {
                        assert!(
                            conflicts
                                .iter()
                                .any(|c| c.reason == expected && c.existing.assignment_id == id)
                        )
                    }
                    o => panic!("expected conflict, got {o:?}"),
                }
            }
            _ => assert!(snils_is_valid(snils)),
        }
    }
    assert_eq!(
        p.export_people(0)["people"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        pop(1, 1).export_people(10)["people"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

fn export_cases() -> [&'static str; 8] {
    [
        "duplicate_same_recipient",
        "duplicate_other_parent",
        "large_family",
        "disabled_child",
        "low_income",
        "wrong_snils_check",
        "wrong_inn_check",
        "unknown_certificate",
    ]
}

// ------------------------------------------------------------------------------------------------
// Rendering as XML and validating against the real schemas

// The renderers live in crate::mock::render, where the mock registries answer with them.
use crate::mock::render::{
    assignments_request, assignments_response, birth_record_request, birth_record_response,
    family_status_request, family_status_response, inn_request, inn_response, register_request,
    snils_request, snils_response, verify_inn_request,
};

#[test]
fn rendered_payloads_validate_against_the_schemas() {
    let schema = Schema::load(&[PathBuf::from("schemas")]).expect("schemas load");
    let p = pop(31, 4_000);
    let options = Options::default();
    let mut checked = 0;
    let mut validate = |doc: String| {
        let report = validate_bytes(&schema, doc.as_bytes(), &options);
        assert!(report.is_valid(), "{doc}\n{:#?}", report.violations);
        checked += 1;
    };
    for i in (0..p.adults.len() as u32).step_by(7) {
        let v = p.adult_view(i).expect("adult");
        validate(snils_request(&v));
        validate(snils_response(&v));
        validate(inn_request(&v));
        validate(inn_response(&v));
        validate(verify_inn_request(&v));
        validate(family_status_request(&v));
        validate(family_status_response(&p.family_statuses(&v.snils)));
    }
    for k in (0..p.children.len() as u32).step_by(5) {
        let c = p.child_person(k).expect("child");
        validate(snils_request(&c));
        let r = p.birth_record_of(k).expect("record");
        validate(birth_record_response(&r));
        validate(birth_record_request(
            &r.certificate.series,
            &r.certificate.number,
        ));
        validate(assignments_request(&c.snils));
        let list = p.active_assignments(&c.snils);
        validate(assignments_response(&list));
        for a in &list {
            let recipient = p.person_by_snils(&a.recipient_snils).expect("recipient");
            validate(register_request(a, &recipient));
        }
    }
    // Every status kind went through the schema at least once.
    let mut kinds = std::collections::BTreeSet::new();
    for h in 0..p.households.len() as u32 {
        let st = p.household_statuses(h);
        for s in &st {
            kinds.insert(serde_json::to_value(s).unwrap_or_default()["kind"].to_string());
        }
        validate(family_status_response(&st));
    }
    assert_eq!(kinds.len(), 3);
    assert!(checked > 1000, "{checked}");
}

#[test]
#[ignore = "timing: cargo test --release --lib mock::population -- --ignored --nocapture"]
fn one_million_people_in_time_and_memory() {
    let start = std::time::Instant::now();
    let p = pop(2026, 1_000_000);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "1,000,000 people: {secs:.2} s, ~{} MiB estimated ({} adults, {} children, {} households, {} assignments)",
        p.approx_bytes() >> 20,
        p.adult_count(),
        p.child_count(),
        p.households.len(),
        p.assignment_count()
    );
    assert_eq!(p.len(), 1_000_000);
    assert!(secs < 30.0);
    assert!(p.approx_bytes() < 1 << 30);
    let v = p.adult_view(999).expect("adult");
    assert_eq!(p.person_by_snils(&v.snils), Some(v));
}

/// Seed and size of `fixtures/registry-data/` (see its README).
const FIXTURE: PopulationConfig = PopulationConfig {
    seed: 20_260_701,
    people: 100,
};

fn fixture_dir() -> PathBuf {
    PathBuf::from("fixtures/registry-data")
}

#[test]
#[ignore = "regenerates fixtures/registry-data: cargo test --lib mock::population -- --ignored write_fixture"]
fn write_fixture() {
    let p = Population::generate(&FIXTURE);
    p.save(&fixture_dir()).expect("save fixture");
    let sample = serde_json::to_string_pretty(&p.export_people(20)).expect("json");
    std::fs::write(fixture_dir().join("people-sample.json"), sample + "\n").expect("write sample");
}

#[test]
fn fixture_loads_and_matches_its_seed() {
    let loaded = Population::load(&fixture_dir()).expect("fixture loads");
    let generated = Population::generate(&FIXTURE);
    assert_eq!(loaded.len(), FIXTURE.people);
    assert_eq!(all_people(&loaded), all_people(&generated));
    assert_eq!(loaded.export_people(20), generated.export_people(20));
    let sample = std::fs::read_to_string(fixture_dir().join("people-sample.json")).expect("sample");
    let sample: serde_json::Value = serde_json::from_str(&sample).expect("sample json");
    assert_eq!(sample, generated.export_people(20));
}
