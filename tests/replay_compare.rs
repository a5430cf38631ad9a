//! The replay comparison on recorded fixtures (`fixtures/messages/`) and mutations of them: pairs that
//! XMLUnit calls similar must match, pairs it calls different must fail with the exact path named.

use reggate::replay::{
    CompareError, Comparison, Difference, DifferenceKind, IgnorePath, Mode, Options, Side, compare,
};

const INN: &str = include_str!("../fixtures/messages/inn-find-response.xml");
const SNILS: &str = include_str!("../fixtures/messages/snils-verify-request.xml");
const LABOUR: &str = include_str!("../fixtures/messages/labour-register-assignment-response.xml");

const FOUND: &str = "/soap:Envelope/soap:Body/inn:FindInnResponse/inn:Found";
const METADATA: &str = "/soap:Envelope/soap:Body/inn:FindInnResponse/inn:Metadata";
const RESULT: &str = "/soap:Envelope/soap:Body/lab:RegisterAssignmentResponse/lab:Result";

fn similar(expected: &str, actual: &str) -> Comparison {
    compare(expected.as_bytes(), actual.as_bytes(), &Options::default()).expect("readable")
}

fn with(options: Options, expected: &str, actual: &str) -> Comparison {
    compare(expected.as_bytes(), actual.as_bytes(), &options).expect("readable")
}

/// `text` with `from` replaced once (and it must be there).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "fixture lacks {from:?}");
    text.replacen(from, to, 1)
}

fn assert_match(c: &Comparison) {
    assert!(c.is_match(), "expected no differences, got:\n{c}");
}

/// The one difference, which must be of `kind` at `path`.
fn only(c: &Comparison, kind: DifferenceKind, path: &str) -> Difference {
    assert_eq!(c.differences.len(), 1, "expected one difference:\n{c}");
    let d = c.differences[0].clone();
    assert_eq!((d.kind, d.path.as_str()), (kind, path), "{c}");
    d
}

fn ignore(paths: &[&str]) -> Options {
    Options {
        ignore: paths.iter().map(|p| p.parse().expect("path")).collect(),
        ..Options::default()
    }
}

// Similar: what XMLUnit's similar comparison does not count.

#[test]
fn a_document_matches_itself() {
    assert_match(&similar(INN, INN));
    assert_match(&similar(SNILS, SNILS));
}

#[test]
fn other_prefixes_for_the_same_namespace_are_similar() {
    let actual = INN.replace("xmlns:inn=", "xmlns:i=").replace("inn:", "i:");
    assert_match(&similar(INN, &actual));
}

#[test]
fn a_default_namespace_is_similar_to_a_prefix() {
    let actual = edit(
        &INN.replace("inn:", ""),
        "<FindInnResponse>",
        r#"<FindInnResponse xmlns="urn://reggate/registry/inn/1.0.0">"#,
    );
    assert_match(&similar(INN, &actual));
}

#[test]
fn attribute_order_does_not_count() {
    let expected = edit(
        INN,
        "<inn:Found>",
        r#"<inn:Found source="fns" kind="person">"#,
    );
    let actual = edit(
        INN,
        "<inn:Found>",
        r#"<inn:Found kind='person'  source="fns">"#,
    );
    assert_match(&similar(&expected, &actual));
}

#[test]
fn whitespace_between_elements_does_not_count() {
    let compact = regex::Regex::new(r">\s+<").unwrap().replace_all(INN, "><");
    assert!(compact.len() < INN.len());
    assert_match(&similar(INN, &compact));
    // Text is compared trimmed, as XMLUnit's ignoreWhitespace does.
    let padded = edit(INN, ">7704<", ">\n   7704  <");
    assert_match(&similar(INN, &padded));
}

#[test]
fn comments_processing_instructions_and_the_declaration_do_not_count() {
    let actual = edit(
        INN,
        "<inn:Found>",
        "<inn:Found><!-- recorded 2024-05-14 --><?trace on?>",
    );
    let actual = edit(
        &actual,
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "<!-- x -->",
    );
    assert_match(&similar(INN, &actual));
}

#[test]
fn cdata_is_the_same_text() {
    let actual = edit(INN, ">7704<", "><![CDATA[7704]]><");
    assert_match(&similar(INN, &actual));
}

#[test]
fn character_references_are_the_characters() {
    // `С` is U+0421 (decimal 1057): the first letter of Сергеевна.
    let actual = edit(SNILS, ">Сергеевна<", ">&#1057;ергеевн&#x430;<");
    assert_match(&similar(SNILS, &actual));
    let actual = edit(LABOUR, ">REGISTERED<", ">REGISTER&#69;D<");
    assert_match(&similar(LABOUR, &actual));
}

// Different: what counts, each with the exact path.

#[test]
fn a_changed_text_value_is_named_by_its_path() {
    let actual = edit(INN, ">7704<", ">7705<");
    let d = only(
        &similar(INN, &actual),
        DifferenceKind::TextValue,
        &format!("{FOUND}/inn:TaxAuthorityCode"),
    );
    assert_eq!(d.expected.as_deref(), Some("7704"));
    assert_eq!(d.found.as_deref(), Some("7705"));
    assert_eq!(d.found_at.map(|p| p.line), Some(14));
}

#[test]
fn an_extra_element_is_named_with_the_expected_prefixes() {
    let actual = edit(
        INN,
        "</inn:Found>",
        "<i:Note xmlns:i='urn://reggate/registry/inn/1.0.0'>x</i:Note></inn:Found>",
    );
    let d = only(
        &similar(INN, &actual),
        DifferenceKind::ExtraElement,
        &format!("{FOUND}/inn:Note"),
    );
    assert_eq!(d.found.as_deref(), Some("i:Note"));
}

#[test]
fn a_missing_element_is_named() {
    let actual = edit(
        INN,
        "<inn:RegistrationDate>2008-02-11</inn:RegistrationDate>",
        "",
    );
    only(
        &similar(INN, &actual),
        DifferenceKind::MissingElement,
        &format!("{FOUND}/inn:RegistrationDate"),
    );
}

#[test]
fn two_siblings_swapped_are_out_of_order() {
    let inn = "<inn:Inn>770412345664</inn:Inn>";
    let code = "<inn:TaxAuthorityCode>7704</inn:TaxAuthorityCode>";
    let actual = edit(&edit(INN, inn, "@@"), code, inn).replace("@@", code);
    let d = only(
        &similar(INN, &actual),
        DifferenceKind::ChildOrder,
        &format!("{FOUND}/inn:Inn"),
    );
    assert_eq!(d.expected.as_deref(), Some("position 1"));
    assert_eq!(d.found.as_deref(), Some("position 2"));
}

#[test]
fn a_changed_namespace_with_the_same_prefix_is_one_difference() {
    let actual = edit(
        INN,
        r#"xmlns:inn="urn://reggate/registry/inn/1.0.0""#,
        r#"xmlns:inn="urn://reggate/registry/inn/1.1.0""#,
    );
    let d = only(
        &similar(INN, &actual),
        DifferenceKind::Namespace,
        "/soap:Envelope/soap:Body/inn:FindInnResponse",
    );
    assert_eq!(
        d.expected.as_deref(),
        Some("urn://reggate/registry/inn/1.0.0")
    );
    assert_eq!(d.found.as_deref(), Some("urn://reggate/registry/inn/1.1.0"));
}

#[test]
fn a_changed_attribute_value_is_named_by_its_attribute() {
    let actual = edit(LABOUR, "RG-2024-000137", "RG-2024-000138");
    let d = only(
        &similar(LABOUR, &actual),
        DifferenceKind::AttributeValue,
        &format!("{RESULT}/@applicationNumber"),
    );
    assert_eq!(d.expected.as_deref(), Some("RG-2024-000137"));
    assert_eq!(d.found.as_deref(), Some("RG-2024-000138"));
}

#[test]
fn an_extra_and_a_missing_attribute_are_named() {
    let actual = edit(LABOUR, "<lab:Result ", "<lab:Result retry=\"false\" ");
    let d = only(
        &similar(LABOUR, &actual),
        DifferenceKind::ExtraAttribute,
        &format!("{RESULT}/@retry"),
    );
    assert_eq!(d.found.as_deref(), Some("false"));
    only(
        &similar(&actual, LABOUR),
        DifferenceKind::MissingAttribute,
        &format!("{RESULT}/@retry"),
    );
}

#[test]
fn a_renamed_root_stops_the_comparison() {
    let actual = INN.replace("soap:Envelope", "soap:Envelop");
    only(
        &similar(INN, &actual),
        DifferenceKind::ElementName,
        "/soap:Envelope",
    );
}

#[test]
fn every_difference_is_reported_in_document_order() {
    let actual = edit(INN, ">7704<", ">7705<");
    let actual = edit(&actual, "<inn:Found>", "<inn:Found x='1'>");
    let actual = edit(&actual, "<cmn:ReplyTo>", "<cmn:ReplyTo>z");
    let c = similar(INN, &actual);
    let got: Vec<(DifferenceKind, &str)> = c
        .differences
        .iter()
        .map(|d| (d.kind, d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                DifferenceKind::TextValue,
                format!("{METADATA}/cmn:ReplyTo").as_str()
            ),
            (
                DifferenceKind::ExtraAttribute,
                format!("{FOUND}/@x").as_str()
            ),
            (
                DifferenceKind::TextValue,
                format!("{FOUND}/inn:TaxAuthorityCode").as_str()
            ),
        ]
    );
}

// Ignored paths.

#[test]
fn a_generated_id_and_a_timestamp_can_be_ignored() {
    let actual = edit(
        INN,
        "c8349d0e-a015-4ab5-b22c-9a28b0d72b46",
        "00000000-0000-4000-8000-000000000000",
    );
    let actual = edit(
        &actual,
        "2024-05-14T10:15:31.004+03:00",
        "2026-01-02T03:04:05Z",
    );
    assert_eq!(similar(INN, &actual).differences.len(), 2);
    let options = ignore(&[
        &format!("{METADATA}/cmn:MessageId"),
        &format!("{METADATA}/cmn:Timestamp"),
    ]);
    assert_match(&with(options, INN, &actual));
    // A wildcard step, and a whole subtree.
    let options = ignore(&["/soap:Envelope/soap:Body/*/inn:Metadata/*"]);
    assert_match(&with(options, INN, &actual));
    let options = ignore(&[METADATA]);
    assert_match(&with(options, INN, &actual));
    // What is not ignored still counts.
    let changed = edit(&actual, ">7704<", ">7705<");
    let c = with(ignore(&[METADATA]), INN, &changed);
    only(
        &c,
        DifferenceKind::TextValue,
        &format!("{FOUND}/inn:TaxAuthorityCode"),
    );
}

#[test]
fn an_ignored_element_may_be_missing_or_extra() {
    let actual = edit(
        INN,
        "<cmn:ReplyTo>043ee98b-bc6a-4718-9c46-f3a9155dc0e2</cmn:ReplyTo>",
        "",
    );
    assert_match(&with(
        ignore(&[&format!("{METADATA}/cmn:ReplyTo")]),
        INN,
        &actual,
    ));
    assert_match(&with(
        ignore(&[&format!("{METADATA}/cmn:ReplyTo")]),
        &actual,
        INN,
    ));
}

#[test]
fn an_attribute_can_be_ignored() {
    let actual = edit(LABOUR, "RG-2024-000137", "RG-2025-999999");
    assert_match(&with(
        ignore(&[&format!("{RESULT}/@applicationNumber")]),
        LABOUR,
        &actual,
    ));
    assert_match(&with(ignore(&[&format!("{RESULT}/@*")]), LABOUR, &actual));
    // An attribute path covers the attribute only, not the element's text.
    let text = edit(&actual, ">REGISTERED<", ">CONFLICT<");
    only(
        &with(
            ignore(&[&format!("{RESULT}/@applicationNumber")]),
            LABOUR,
            &text,
        ),
        DifferenceKind::TextValue,
        &format!("{RESULT}/lab:Code"),
    );
}

#[test]
fn ignore_paths_follow_the_validator_format() {
    let p: IgnorePath = "/soap:Envelope/soap:Body/*/inn:Found/@x".parse().unwrap();
    assert!(p.covers(&format!("{FOUND}/@x")));
    assert!(!p.covers(&format!("{FOUND}/@y")));
    assert!(!p.covers(FOUND));
    let p: IgnorePath = FOUND.parse().unwrap();
    assert!(p.covers(FOUND));
    assert!(p.covers(&format!("{FOUND}/inn:Inn")));
    assert!(p.covers(&format!("{FOUND}/@x")));
    assert!(!p.covers("/soap:Envelope/soap:Body/inn:FindInnResponse"));
    assert!(!p.covers(&format!("{FOUND}x")));
    for bad in [
        "soap:Envelope",
        "/",
        "/a//b",
        "/a/b[2]",
        "/a/@x/b",
        "/a/@",
        "/a b",
    ] {
        assert!(bad.parse::<IgnorePath>().is_err(), "{bad} accepted");
    }
}

// Strict.

#[test]
fn strict_mode_catches_a_prefix_change() {
    let actual = INN.replace("xmlns:inn=", "xmlns:i=").replace("inn:", "i:");
    let strict = Options {
        mode: Mode::Strict,
        ..Options::default()
    };
    let c = with(strict.clone(), INN, &actual);
    let d = only(&c, DifferenceKind::Markup, "/soap:Envelope");
    assert!(d.expected.as_deref().unwrap().contains("xmlns:inn="), "{c}");
    assert!(d.found.as_deref().unwrap().contains("xmlns:i="), "{c}");
    assert_match(&with(strict, INN, INN));
}

#[test]
fn strict_mode_catches_whitespace_comments_and_cdata() {
    let strict = || Options {
        mode: Mode::Strict,
        ..Options::default()
    };
    let code = format!("{FOUND}/inn:TaxAuthorityCode");
    let cases = [
        (
            edit(INN, "<inn:Found>", "<inn:Found> "),
            FOUND,
            "\"\\n        \"",
        ),
        (
            edit(INN, "<inn:Found>", "<inn:Found><!-- c -->"),
            FOUND,
            "\"\\n        \"",
        ),
        (edit(INN, ">7704<", "><![CDATA[7704]]><"), &code, "\"7704\""),
    ];
    for (actual, path, expected) in cases {
        assert_match(&similar(INN, &actual));
        let c = with(strict(), INN, &actual);
        let d = only(&c, DifferenceKind::Markup, path);
        assert_eq!(d.expected.as_deref(), Some(expected), "{c}");
        assert!(d.found_at.is_some());
    }
    // The similar differences come first, with their own kinds.
    let actual = edit(INN, ">7704<", ">7705<");
    only(
        &with(strict(), INN, &actual),
        DifferenceKind::TextValue,
        &format!("{FOUND}/inn:TaxAuthorityCode"),
    );
}

#[test]
fn strict_mode_keeps_ignored_paths() {
    let actual = edit(
        INN,
        "c8349d0e-a015-4ab5-b22c-9a28b0d72b46",
        "00000000-0000-4000-8000-000000000000",
    );
    let options = Options {
        mode: Mode::Strict,
        ..ignore(&[&format!("{METADATA}/cmn:MessageId")])
    };
    assert_match(&with(options, INN, &actual));
}

// Personal data.

#[test]
fn a_snils_in_a_difference_is_masked() {
    let actual = edit(SNILS, "14573298184", "14573298185");
    let c = similar(SNILS, &actual);
    let d = only(
        &c,
        DifferenceKind::TextValue,
        "/soap:Envelope/soap:Body/snils:VerifySnilsRequest/snils:Snils",
    );
    assert_eq!(d.expected.as_deref(), Some("***-***-*** 84"));
    assert_eq!(d.found.as_deref(), Some("***-***-*** 85"));
    let shown = c.to_string();
    assert!(shown.contains("***-***-*** 84"), "{shown}");
    assert!(!shown.contains("14573298184") && !shown.contains("14573298185"));
}

#[test]
fn names_and_values_inside_a_person_are_masked() {
    let actual = edit(SNILS, ">Иванова<", ">Петрова<");
    let actual = edit(&actual, ">Female<", ">Male<");
    let c = similar(SNILS, &actual);
    assert_eq!(c.differences.len(), 2, "{c}");
    assert_eq!(c.differences[0].expected.as_deref(), Some("И."));
    assert_eq!(c.differences[0].found.as_deref(), Some("П."));
    let shown = c.to_string();
    assert!(
        !shown.contains("Петрова") && !shown.contains("Female"),
        "{shown}"
    );
    // Strict mode masks the markup it shows too.
    let strict = Options {
        mode: Mode::Strict,
        ..Options::default()
    };
    let spaced = edit(SNILS, ">Иванова<", "> Иванова<");
    let c = with(strict, SNILS, &spaced);
    assert_eq!(c.differences.len(), 1, "{c}");
    assert!(!c.to_string().contains("Иванова"), "{c}");
}

// Reading errors and bounds.

#[test]
fn a_broken_document_is_an_error_naming_its_side_and_place() {
    let broken = edit(INN, "</inn:Found>", "</inn:Fund>");
    let e: CompareError = compare(INN.as_bytes(), broken.as_bytes(), &Options::default())
        .expect_err("not well-formed");
    assert_eq!(e.side, Side::Actual);
    assert_eq!(e.error.position.line, 16);
    assert!(e.to_string().starts_with("actual document: 16:"), "{e}");
    let e = compare(b"<a>", INN.as_bytes(), &Options::default()).expect_err("unclosed");
    assert_eq!(e.side, Side::Expected);
}

#[test]
fn deep_nesting_is_refused_not_recursed() {
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let e = compare(deep.as_bytes(), deep.as_bytes(), &Options::default()).expect_err("too deep");
    assert_eq!(e.side, Side::Expected);
    assert!(e.to_string().contains("limit"), "{e}");
    // Within the limit, deep documents compare (iteratively).
    let ok = format!("{}x{}", "<a>".repeat(250), "</a>".repeat(250));
    let other = ok.replace('x', "y");
    let c = similar(&ok, &other);
    assert_eq!(c.differences.len(), 1);
    assert_eq!(c.differences[0].path.matches("/a").count(), 250);
}

#[test]
fn differences_stop_at_the_limit() {
    let many = |v: &str| format!("<r>{}</r>", format!("<v>{v}</v>").repeat(500));
    let options = Options {
        max_differences: 10,
        ..Options::default()
    };
    let c = with(options, &many("1"), &many("2"));
    assert_eq!(c.differences.len(), 10);
    assert!(c.truncated);
}

#[test]
fn the_report_reads_by_path() {
    let actual = edit(INN, ">7704<", ">7705<");
    let shown = similar(INN, &actual).to_string();
    assert_eq!(
        shown,
        format!(
            "1 difference:\n  {FOUND}/inn:TaxAuthorityCode: text differs (actual 14:9)\n    \
             expected: 7704\n    found:    7705\n"
        )
    );
    assert_eq!(similar(INN, INN).to_string(), "no differences");
}
