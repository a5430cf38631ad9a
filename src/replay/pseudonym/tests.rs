//! Unit tests of the pseudonymiser: check numbers, consistency, the shape of each element, and the
//! document around the values left as it was.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::*;
use crate::domain::identifiers::{inn_is_valid, snils_is_valid};
use crate::xml::schema::Schema;
use crate::xml::validate::{Options, validate_bytes};

const TODAY: i32 = calendar::days_from_civil(2026, 7, 1);

fn fresh(key: u8) -> Pseudonymiser {
    Pseudonymiser::with_key([key; 32], TODAY)
}

fn project(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn schema() -> std::sync::Arc<Schema> {
    Schema::load(&[project("schemas")]).expect("schemas compile")
}

/// The `*.xml` files of a folder, sorted.
fn files(rel: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(project(rel))
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    out.sort();
    out
}

/// Every element with text: (chain of local names, text trimmed), in document order.
fn values(xml: &[u8]) -> Vec<(Vec<String>, String)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut chain: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed") {
            Event::Start(t) => {
                text.clear();
                chain.push(t.local_name().into_inner().to_string());
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => match r.resolve_char_ref().expect("reference") {
                Some(c) => text.push(c),
                None => text.push_str(quick_xml::escape::resolve_predefined_entity(&r).unwrap()),
            },
            Event::CData(c) => text.push_str(&c),
            Event::End(_) => {
                let t = text.trim().to_string();
                if !t.is_empty() {
                    out.push((chain.clone(), t));
                }
                text.clear();
                chain.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// The markup of a document without its text: every event but text, as written.
fn markup(xml: &[u8]) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        let e = reader.read_event_into(&mut buf).expect("well-formed");
        match &e {
            Event::Eof => break,
            Event::Text(_) | Event::GeneralRef(_) | Event::CData(_) => {}
            other => out.push(format!("{other:?}")),
        }
        buf.clear();
    }
    out
}

fn rule_of(chain: &[String]) -> Rule {
    let names: Vec<&str> = chain.iter().map(String::as_str).collect();
    rule(&names)
}

#[test]
fn synthetic_snils_and_inn_have_valid_check_digits() {
    let mut p = fresh(1);
    for i in 0..500u32 {
        let original = format!("{:011}", snils_from_body(100_000_000 + i * 7919));
        let s = p.value(Rule::Snils, &original);
        assert!(snils_is_valid(&s), "{s}");
        assert_ne!(s, original);
        let original = format!(
            "{:012}",
            inn_from_body(5_001_000_000 + u64::from(i) * 104_729)
        );
        let inn = p.value(Rule::Inn, &original);
        assert!(inn_is_valid(&inn), "{inn}");
        assert_eq!(inn.len(), 12);
        let inn10 = p.value(Rule::Inn, &format!("77{:08}", i * 13));
        assert_eq!(inn10.len(), 10);
        let body: u64 = inn10[..9].parse().unwrap();
        assert_eq!(inn10, format!("{:010}", inn10_from_body(body)));
    }
    // The 10-digit rule against a published INN (Sberbank's).
    assert_eq!(inn10_from_body(770_708_389), 7_707_083_893);
}

#[test]
fn the_same_original_maps_to_the_same_value_and_different_ones_apart() {
    let mut p = fresh(2);
    let mut seen = HashSet::new();
    for i in 0..2000u32 {
        let original = format!("{:011}", snils_from_body(200_000_000 + i));
        let a = p.value(Rule::Snils, &original);
        assert_eq!(a, p.value(Rule::Snils, &original));
        assert!(seen.insert(a), "two originals share a synthetic SNILS");
    }
    // Deterministic under one key, different under another (a key per run).
    let doc = std::fs::read(project("fixtures/messages/snils-verify-request.xml")).unwrap();
    let once = fresh(3).pseudonymise(&doc).unwrap();
    assert_eq!(once, fresh(3).pseudonymise(&doc).unwrap());
    assert_ne!(once, fresh(4).pseudonymise(&doc).unwrap());
    assert_ne!(once, doc);
}

#[test]
fn a_request_and_its_response_and_other_exchanges_agree() {
    let read = |name: &str| std::fs::read(project(&format!("fixtures/messages/{name}"))).unwrap();
    let docs = [
        read("children-find-birth-record-response.xml"),
        read("labour-register-assignment-request.xml"),
        read("labour-get-active-assignments-request.xml"),
        read("snils-verify-request.xml"),
    ];
    let mut p = fresh(5);
    for d in &docs {
        p.observe(d).unwrap();
    }
    let out: Vec<Vec<u8>> = docs.iter().map(|d| p.pseudonymise(d).unwrap()).collect();
    // Original → synthetic for every SNILS across the documents: one function, one-to-one.
    let mut mapping: BTreeMap<String, String> = BTreeMap::new();
    let mut documents_of: BTreeMap<String, HashSet<usize>> = BTreeMap::new();
    for (i, (d, o)) in docs.iter().zip(&out).enumerate() {
        for ((chain, before), (_, after)) in values(d).into_iter().zip(values(o)) {
            if rule_of(&chain) == Rule::Snils {
                let old = mapping.insert(before.clone(), after.clone());
                assert!(old.is_none_or(|o| o == after), "{before} mapped twice");
                documents_of.entry(before).or_default().insert(i);
            }
        }
    }
    let synthetic: HashSet<&String> = mapping.values().collect();
    assert_eq!(synthetic.len(), mapping.len());
    assert!(
        documents_of.values().any(|docs| docs.len() >= 2),
        "the fixtures share a SNILS across documents: {documents_of:?}"
    );
    for (before, after) in &mapping {
        assert_ne!(before, after);
        assert!(
            !mapping.contains_key(after),
            "a synthetic value equals an original"
        );
    }
}

#[test]
fn every_valid_fixture_stays_valid_with_every_personal_value_replaced() {
    let schema = schema();
    let mut p = fresh(6);
    let docs: Vec<(PathBuf, Vec<u8>)> = files("fixtures/messages")
        .into_iter()
        .map(|f| {
            let d = std::fs::read(&f).unwrap();
            (f, d)
        })
        .collect();
    for (_, d) in &docs {
        p.observe(d).unwrap();
    }
    let mut replaced = 0;
    for (file, d) in &docs {
        let out = p.pseudonymise(d).unwrap();
        let report = validate_bytes(&schema, &out, &Options::default());
        assert!(
            report.is_valid(),
            "{}: {:?}",
            file.display(),
            report.violations
        );
        assert_eq!(
            markup(d),
            markup(&out),
            "{}: markup changed",
            file.display()
        );
        let text = String::from_utf8(out.clone()).unwrap();
        for ((chain, before), (_, after)) in values(d).into_iter().zip(values(&out)) {
            match rule_of(&chain) {
                // A date some personal element had moves with it (a period from the birthday).
                Rule::Keep if p.originals.get(&before) == Some(&Rule::Date) => {
                    assert_eq!(after, p.value(Rule::Date, &before));
                }
                Rule::Keep => assert_eq!(before, after, "{chain:?}"),
                Rule::FreeText => {}
                _ => {
                    assert_ne!(before, after, "{}: {chain:?} kept", file.display());
                    // Unless an element kept as it is holds the same text (a locality that is
                    // also the region: `г. Москва`).
                    let kept_elsewhere = values(&out)
                        .iter()
                        .any(|(c, v)| *v == before && rule_of(c) == Rule::Keep);
                    assert!(
                        kept_elsewhere || !text.contains(&format!(">{before}<")),
                        "{}: {before} still in the document",
                        file.display()
                    );
                    replaced += 1;
                }
            }
        }
    }
    assert!(replaced > 80, "{replaced} values replaced");
}

#[test]
fn invalid_values_break_the_schema_the_same_way() {
    let schema = schema();
    let mut p = fresh(7);
    for file in files("fixtures/messages/invalid") {
        let d = std::fs::read(&file).unwrap();
        p.observe(&d).unwrap();
        let out = p.pseudonymise(&d).unwrap();
        let first = |doc: &[u8]| {
            validate_bytes(&schema, doc, &Options::default())
                .violations
                .first()
                .map(|v| (v.path.clone(), v.rule))
        };
        assert!(first(&d).is_some(), "{}", file.display());
        assert_eq!(first(&d), first(&out), "{}", file.display());
    }
}

#[test]
fn a_document_without_personal_data_comes_back_byte_for_byte() {
    let doc = "<?xml version=\"1.0\"?>\n<!-- a comment -->\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\n  <s:Body><x:Ok xmlns:x=\"urn:x\" a='1'  b=\"2\"><x:MessageId>m&#45;1</x:MessageId><x:Amount>10.00</x:Amount><![CDATA[raw]]><x:E/></x:Ok></s:Body>\n</s:Envelope>\n";
    let out = fresh(8).pseudonymise(doc.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), doc);
}

#[test]
fn prefixes_and_white_space_around_values_stay() {
    let doc = "<p:Req xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><q:Snils>\n 11223344595 \n</q:Snils><p:Person><q:LastName>&#1048;ванов</q:LastName><q:FirstName><![CDATA[Иван]]></q:FirstName></p:Person></p:Req>";
    let out = String::from_utf8(fresh(9).pseudonymise(doc.as_bytes()).unwrap()).unwrap();
    assert!(
        out.starts_with("<p:Req xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><q:Snils>\n "),
        "{out}"
    );
    assert!(out.contains(" \n</q:Snils><p:Person><q:LastName>"), "{out}");
    assert!(!out.contains("11223344595") && !out.contains("Иван") && !out.contains("&#1048;"));
    let v = values(out.as_bytes());
    assert!(snils_is_valid(&v[0].1), "{v:?}");
    assert!(v[1].1.ends_with("ов") && is_name_part(&v[1].1), "{v:?}");
    assert!(is_name_part(&v[2].1), "{v:?}");
    // Not well-formed: refused, with where.
    let e = fresh(9)
        .pseudonymise(b"<a><Snils>1</a>")
        .expect_err("mismatched");
    assert!(e.position > 0, "{e}");
}

#[test]
fn names_keep_their_form_and_families_hang_together() {
    let mut p = fresh(10);
    let he = p.value(Rule::LastName, "Иванов");
    let she = p.value(Rule::LastName, "Иванова");
    assert!(he.ends_with("ов") && she.ends_with("ова"), "{he} {she}");
    assert_eq!(format!("{he}а"), she, "one family, one stem");
    let sky = p.value(Rule::LastName, "Достоевская");
    assert!(sky.ends_with("ская"), "{sky}");
    let double = p.value(Rule::LastName, "Петров-Водкин");
    assert!(double.contains('-') && double.ends_with("ин"), "{double}");
    assert!(!double.contains("Петров") && !double.contains("Водкин"));
    let father = p.value(Rule::FirstName, "Алексей");
    let daughter = p.value(Rule::MiddleName, "Алексеевна");
    let son = p.value(Rule::MiddleName, "Алексеевич");
    assert_eq!(daughter, format!("{father}овна"));
    assert_eq!(son, format!("{father}ович"));
    assert!(p.value(Rule::FirstName, "Анна").ends_with('а'));
    assert_eq!(
        p.value(Rule::MiddleName, "Гусейн оглы").split(' ').nth(1),
        Some("оглы")
    );
    assert_eq!(p.value(Rule::LastName, "ИВАНОВ"), he.to_uppercase());
    for name in [&he, &she, &sky, &double, &father, &daughter, &son] {
        assert!(is_name_part(name), "{name}");
    }
    // A name that is not a NamePartType stays one that is not (Latin letters stay Latin).
    let latin = p.value(Rule::LastName, "Ivanov");
    assert!(
        !is_name_part(&latin) && latin.len() == 6 && latin != "Ivanov",
        "{latin}"
    );
}

#[test]
fn other_values_keep_their_shape() {
    let mut p = fresh(11);
    let date = p.value(Rule::Date, "2026-07-01");
    let day = calendar::parse_date(&date).expect("a date");
    assert!(
        (TODAY - 183..TODAY).contains(&day),
        "{date}: not into the future"
    );
    let old = p.value(Rule::Date, "1900-01-05");
    assert!(calendar::parse_date(&old).unwrap() >= calendar::days_from_civil(1900, 1, 1));
    assert_eq!(
        p.value(Rule::Date, "1990-04-12"),
        p.value(Rule::Date, "1990-04-12")
    );
    assert!(is_certificate_series(&p.value(Rule::Series, "IV-МЮ")));
    let passport = p.value(Rule::Series, "4510");
    assert!(all_digits(&passport, 4) && passport != "4510");
    let number = p.value(Rule::Shape, "523614");
    assert!(all_digits(&number, 6) && number != "523614");
    let phone = p.value(Rule::Phone, "+79161234567");
    assert!(phone.starts_with("+79") && all_digits(&phone[1..], 11) && phone != "+79161234567");
    let phone8 = p.value(Rule::Phone, "84951234567");
    assert!(phone8.starts_with("84") && all_digits(&phone8, 11));
    let email = p.value(Rule::Email, "m.ivanova@example.ru");
    assert!(
        email.ends_with("@example.org") && is_email(&email),
        "{email}"
    );
    let uuid = p.value(Rule::Uuid, "0c5b2444-70a0-4932-980c-b4dc0d3f02b5");
    assert!(is_uuid(&uuid) && &uuid[14..15] == "4", "{uuid}");
    let town = p.value(Rule::Locality, "г. Москва");
    assert!(
        town.starts_with("г. ") && !town.contains("Москва"),
        "{town}"
    );
    let street = p.value(Rule::Street, "ул. Льва Толстого");
    assert!(
        street.starts_with("ул. ") && !street.contains("Толстого"),
        "{street}"
    );
    let flat: Vec<char> = p.value(Rule::Shape, "12к3").chars().collect();
    assert!(
        flat.len() == 4 && flat[0].is_ascii_digit() && is_cyrillic(flat[2]),
        "{flat:?}"
    );
    let house = p.value(Rule::Shape, "12/3");
    assert_eq!(house.chars().nth(2), Some('/'));
    assert!(house.chars().filter(char::is_ascii_digit).count() == 3);
    assert_eq!(p.value(Rule::Keep, "Male"), "Male");
}

#[test]
fn free_text_loses_the_originals_it_quotes() {
    let mut p = fresh(12);
    let doc = b"<r><Snils>11223344595</Snils><LastName>\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2</LastName><Error><Code>NO_MATCH</Code><Message>SNILS 112-233-445 95 (11223344595) of \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2 does not match</Message></Error></r>";
    p.observe(doc).unwrap();
    let out = String::from_utf8(p.pseudonymise(doc).unwrap()).unwrap();
    let v = values(out.as_bytes());
    let (snils, name) = (&v[0].1, &v[1].1);
    assert!(
        !out.contains("11223344595") && !out.contains("112-233-445 95"),
        "{out}"
    );
    assert!(!out.contains("Иванов"), "{out}");
    let message = &v[3].1;
    assert!(
        message.contains(snils.as_str()) && message.contains(name.as_str()),
        "{message}"
    );
    assert!(message.contains(&format!(
        "{}-{}-{} {}",
        &snils[..3],
        &snils[3..6],
        &snils[6..9],
        &snils[9..]
    )));
    assert!(out.contains("<Code>NO_MATCH</Code>"));
}

#[test]
fn rules_follow_the_element_and_its_context() {
    let r = |chain: &[&str]| rule(chain);
    assert_eq!(
        r(&["Envelope", "Body", "VerifySnilsRequest", "Snils"]),
        Rule::Snils
    );
    assert_eq!(
        r(&["Envelope", "Body", "X", "Assignment", "RecipientSnils"]),
        Rule::Snils
    );
    assert_eq!(
        r(&["Envelope", "Body", "X", "Result", "SnilsStatus"]),
        Rule::Keep
    );
    assert_eq!(
        r(&["Envelope", "Body", "X", "ActRecord", "Date"]),
        Rule::Date
    );
    assert_eq!(
        r(&["Envelope", "Body", "X", "RegistryOffice", "Name"]),
        Rule::Keep
    );
    assert_eq!(
        r(&["Envelope", "Body", "Fault", "faultstring"]),
        Rule::FreeText
    );
    // Unknown elements: by their context, the operation-named root aside.
    assert_eq!(
        r(&["Envelope", "Body", "FindBirthRecordRequest", "Note"]),
        Rule::FreeText
    );
    assert_eq!(
        r(&["Envelope", "Body", "X", "Person", "Nickname"]),
        Rule::Shape
    );
    assert_eq!(
        r(&["Envelope", "Body", "X", "Metadata", "Note"]),
        Rule::FreeText
    );
}

/// Every element the schemas declare with a simple type (or simple content) has a rule of its own:
/// none is left to the judgement by context.
#[test]
fn every_simple_element_of_the_schemas_has_its_own_rule() {
    let element =
        regex::Regex::new(r#"<xs:element name="([A-Za-z]+)" type="(?:([a-z]+):)?([A-Za-z]+)""#)
            .unwrap();
    let simple = regex::Regex::new(r#"<xs:simpleType name="([A-Za-z]+)""#).unwrap();
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(project("schemas")).unwrap() {
        texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let simple_types: HashSet<String> = texts
        .iter()
        .flat_map(|t| {
            simple
                .captures_iter(t)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .chain(["MoneyType".to_string()])
        .collect();
    let mut checked = 0;
    for text in &texts {
        for c in element.captures_iter(text) {
            let (name, ty) = (&c[1], &c[3]);
            if simple_types.contains(ty) || c.get(2).is_some_and(|p| p.as_str() == "xs") {
                // `Date` and `Name` are judged with their parent: give each one the parent it has.
                let parent = match name {
                    "Date" => "ActRecord",
                    "Name" => "RegistryOffice",
                    _ => "",
                };
                assert!(
                    explicit(name, parent).is_some(),
                    "{name} ({ty}) has no rule"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "{checked}");
}
