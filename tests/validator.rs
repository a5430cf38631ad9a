//! The validator on reggate's own registry schemas: what a violation says (path, position, rule, masked
//! value), that every problem of a document is reported, and that hostile input is refused cleanly.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use reggate::xml::reader::Limits;
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, Report, Violation, validate_bytes, validate_reader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::load(&[root().join("schemas")]).expect("registry schemas compile"))
        .clone()
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures").join(rel)).expect("fixture")
}

fn validate(bytes: &[u8]) -> Report {
    validate_bytes(&schema(), bytes, &Options::default())
}

fn fixtures_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(dir))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_valid_fixture_is_valid() {
    let files = fixtures_in("messages");
    assert!(files.len() >= 20, "fixtures missing");
    for f in files.iter().chain(fixtures_in("bench").iter()) {
        let report = validate(&std::fs::read(f).unwrap());
        assert!(
            report.is_valid(),
            "{}: {:?}",
            f.display(),
            report.violations
        );
    }
}

#[test]
fn every_invalid_fixture_is_invalid() {
    let files = fixtures_in("messages/invalid");
    assert!(files.len() >= 15);
    for f in files {
        assert!(f.to_string_lossy().contains("_err_"));
        let report = validate(&std::fs::read(&f).unwrap());
        assert!(!report.is_valid(), "{} passed", f.display());
    }
}

#[test]
fn a_violation_names_path_position_rule_and_masks_snils() {
    let report = validate(&fixture(
        "messages/invalid/snils-verify-request_err_bad_snils_pattern.xml",
    ));
    let v = &report.violations[0];
    assert_eq!(
        v.path,
        "/soap:Envelope/soap:Body/snils:VerifySnilsRequest/snils:Snils"
    );
    assert_eq!(v.rule, "cvc-pattern-valid");
    assert!(v.line > 1 && v.column > 1, "{v:?}");
    let shown = v.value.as_deref().unwrap();
    assert!(
        shown.starts_with("***-***-***"),
        "SNILS must be masked: {shown}"
    );
    let original = String::from_utf8(fixture(
        "messages/invalid/snils-verify-request_err_bad_snils_pattern.xml",
    ))
    .unwrap();
    let start = original.find("<snils:Snils>").unwrap() + "<snils:Snils>".len();
    let end = original[start..].find('<').unwrap() + start;
    let raw = &original[start..end];
    assert!(!v.to_string().contains(raw), "raw SNILS leaked: {v}");
}

#[test]
fn names_are_masked_as_initials() {
    let report = validate(&fixture(
        "messages/invalid/inn-find-request_err_name_too_long.xml",
    ));
    let v = &report.violations[0];
    assert_eq!(v.rule, "cvc-maxLength-valid");
    let shown = v.value.as_deref().unwrap();
    assert!(
        shown.chars().count() <= 4 && shown.ends_with('.'),
        "name not reduced to initials: {shown}"
    );
}

#[test]
fn all_errors_of_a_document_are_reported_up_to_the_bound() {
    let doc = String::from_utf8(fixture("messages/snils-verify-request.xml")).unwrap();
    let snils_at = doc.find("<snils:Snils>").unwrap() + "<snils:Snils>".len();
    let mut broken = doc.clone();
    broken.replace_range(snils_at..snils_at + 11, "ABCDEFGHIJK");
    let broken = broken.replace("<cmn:BirthDate>", "<cmn:BirthDate>x");
    let report = validate(broken.as_bytes());
    assert!(report.violations.len() >= 2, "{:?}", report.violations);
    let rules: Vec<_> = report.violations.iter().map(|v| v.rule).collect();
    assert!(
        rules.contains(&"cvc-pattern-valid") || rules.contains(&"cvc-length-valid"),
        "{rules:?}"
    );
    assert!(rules.contains(&"cvc-datatype-valid"), "{rules:?}");
    let capped = validate_bytes(
        &schema(),
        broken.as_bytes(),
        &Options {
            max_errors: 1,
            ..Options::default()
        },
    );
    assert_eq!(capped.violations.len(), 1);
    assert!(capped.truncated);
}

#[test]
fn streaming_and_in_memory_agree() {
    for f in fixtures_in("messages/invalid") {
        let bytes = std::fs::read(&f).unwrap();
        let a = validate(&bytes);
        let b = validate_reader(
            &schema(),
            std::io::BufReader::new(bytes.as_slice()),
            &Options::default(),
        );
        assert_eq!(a.violations, b.violations, "{}", f.display());
    }
}

/// The document is refused as not well-formed; returns that violation (validity errors found before
/// the reader stopped may precede it).
fn wellformedness_error(doc: &[u8]) -> Violation {
    let r = validate(doc);
    assert!(r.truncated, "reading must stop at a well-formedness error");
    r.violations
        .into_iter()
        .find(|v| v.rule == "xml-well-formed")
        .expect("a well-formedness violation")
}

#[test]
fn dtds_and_entities_are_refused_never_expanded() {
    let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
    let v = wellformedness_error(laughs);
    assert!(v.message.contains("DTD"), "{}", v.message);
    let external =
        br#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
    wellformedness_error(external);
    let undeclared = wellformedness_error(b"<a>&x;</a>");
    assert!(undeclared.message.contains("undeclared entity"));
}

#[test]
fn nesting_attributes_text_and_size_are_bounded() {
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let v = wellformedness_error(deep.as_bytes());
    assert!(v.message.contains("nesting depth"));

    let limits = Limits {
        max_attributes: 8,
        max_text_bytes: 64,
        max_document_bytes: 1000,
        ..Limits::default()
    };
    let opts = Options {
        limits,
        ..Options::default()
    };
    let many: String = (0..9).map(|i| format!(" a{i}='1'")).collect();
    let r = validate_bytes(&schema(), format!("<r{many}/>").as_bytes(), &opts);
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("attributes")),
        "{:?}",
        r.violations
    );
    let r = validate_bytes(
        &schema(),
        format!("<r>{}</r>", "x".repeat(100)).as_bytes(),
        &opts,
    );
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("text length")),
        "{:?}",
        r.violations
    );
    let r = validate_bytes(
        &schema(),
        format!("<r>{}</r>", "<x/>".repeat(1000)).as_bytes(),
        &opts,
    );
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("document size")),
        "{:?}",
        r.violations
    );
}

#[test]
fn invalid_utf8_is_a_clear_error() {
    let v = wellformedness_error(b"<a>\xC3\x28</a>");
    assert!(v.message.contains("UTF-8"), "{}", v.message);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic the reader or the validator.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = validate(&bytes);
    }

    /// Documents assembled from XML-shaped pieces (tags, attributes, references, CDATA, comments,
    /// namespace declarations, xsi attributes) get far past the first byte, and never panic.
    #[test]
    fn xml_shaped_input_never_panics(pieces in proptest::collection::vec(prop_oneof![
        Just("<a>".to_owned()), Just("</a>".to_owned()), Just("<b x='1' y=\"&amp;\"/>".to_owned()),
        Just("<p:c xmlns:p='urn:p'>".to_owned()), Just("</p:c>".to_owned()), Just("&#x41;".to_owned()),
        Just("&bogus;".to_owned()), Just("<![CDATA[<x>]]>".to_owned()), Just("<!-- c -->".to_owned()),
        Just("<?pi x?>".to_owned()), Just(" xsi:nil='true' ".to_owned()),
        Just("<d xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xsi:type='q:t'>".to_owned()),
        "[a-zА-я0-9 <>&;:='\"/]{0,8}",
    ], 0..40)) {
        let doc = pieces.concat();
        let _ = validate(doc.as_bytes());
        let _ = validate(format!("<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>{doc}</soap:Body></soap:Envelope>").as_bytes());
    }

    /// Fixtures with a byte cut out or changed never panic, and well-formed results stay bounded.
    #[test]
    fn mutated_fixtures_never_panic(idx in 0usize..64, at in any::<prop::sample::Index>(), b in any::<u8>(), cut in 0usize..40) {
        let files = fixtures_in("messages");
        let mut bytes = std::fs::read(&files[idx % files.len()]).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = b;
        let end = (i + cut).min(bytes.len());
        bytes.drain(i..end);
        let r = validate(&bytes);
        prop_assert!(r.violations.len() <= Options::default().max_errors);
    }
}

#[test]
fn schema_documents_may_carry_a_dtd_which_is_skipped_not_processed() {
    // The shape of the W3C XML Signature schema, which SMEV envelopes import.
    let dir = std::env::temp_dir().join(format!("reggate-dtd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dsig = r#"<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE schema PUBLIC "-//W3C//DTD XMLSchema 200102//EN" "http://www.w3.org/2001/XMLSchema.dtd" [
  <!ATTLIST schema xmlns:ds CDATA #FIXED "http://www.w3.org/2000/09/xmldsig#">
  <!ENTITY dsig 'http://www.w3.org/2000/09/xmldsig#'>
]>
<schema xmlns="http://www.w3.org/2001/XMLSchema" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
        targetNamespace="http://www.w3.org/2000/09/xmldsig#" elementFormDefault="qualified">
  <element name="SignatureValue" type="base64Binary"/>
</schema>"#;
    std::fs::write(dir.join("dsig.xsd"), dsig).unwrap();
    let schema = Schema::load(&[dir.join("dsig.xsd")]).expect("a schema's DTD is skipped");
    let ok = br#"<ds:SignatureValue xmlns:ds="http://www.w3.org/2000/09/xmldsig#">AAEC</ds:SignatureValue>"#;
    assert!(validate_bytes(&schema, ok, &Options::default()).is_valid());
    // An entity declared in that DTD is still never expanded.
    let uses_entity = dsig.replace("elementFormDefault=\"qualified\">", "elementFormDefault=\"qualified\"><annotation><documentation>&dsig;</documentation></annotation>");
    std::fs::write(dir.join("dsig-entity.xsd"), uses_entity).unwrap();
    let err = Schema::load(&[dir.join("dsig-entity.xsd")]).unwrap_err();
    assert!(
        err.to_string().contains("undeclared entity 'dsig'"),
        "{err}"
    );
    // Documents themselves never get to carry one.
    let doc = br#"<!DOCTYPE x []><ds:SignatureValue xmlns:ds="http://www.w3.org/2000/09/xmldsig#">AAEC</ds:SignatureValue>"#;
    assert!(!validate_bytes(&schema, doc, &Options::default()).is_valid());
}

#[test]
fn one_compiled_schema_serves_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Schema>();
    let schema = schema();
    let bytes = fixture("bench/envelope-5k.xml");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (schema, bytes) = (Arc::clone(&schema), bytes.clone());
            std::thread::spawn(move || {
                (0..50).all(|_| validate_bytes(&schema, &bytes, &Options::default()).is_valid())
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
}

/// A schema whose base-type chain is `n` long.
fn type_chain(n: usize) -> String {
    let mut types = String::from(
        r#"<xs:complexType name="t0"><xs:sequence><xs:element name="a"/></xs:sequence></xs:complexType>"#,
    );
    for i in 1..n {
        types.push_str(&format!(
            r#"<xs:complexType name="t{i}"><xs:complexContent><xs:extension base="t{}"><xs:sequence><xs:element name="e{i}" minOccurs="0"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>"#,
            i - 1
        ));
    }
    format!(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="r" type="t{}"/>{types}</xs:schema>"#,
        n - 1
    )
}

#[test]
fn deep_schemas_are_refused_cleanly_not_by_stack_overflow() {
    // Runs on a test thread (2 MiB stack): the bound must hold well within it.
    let base = std::env::temp_dir();
    assert!(Schema::from_str(&type_chain(200), &base).is_ok());
    let err = Schema::from_str(&type_chain(5000), &base).unwrap_err();
    assert!(err.0.iter().any(|e| e.rule == "schema-limit"), "{err}");
    let mut groups = String::from(
        r#"<xs:group name="g0"><xs:sequence><xs:element name="a"/></xs:sequence></xs:group>"#,
    );
    for i in 1..5000 {
        groups.push_str(&format!(
            r#"<xs:group name="g{i}"><xs:sequence><xs:group ref="g{}"/></xs:sequence></xs:group>"#,
            i - 1
        ));
    }
    let schema = format!(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="r"><xs:complexType><xs:group ref="g4999"/></xs:complexType></xs:element>{groups}</xs:schema>"#
    );
    let err = Schema::from_str(&schema, &base).unwrap_err();
    assert!(err.0.iter().any(|e| e.rule == "schema-limit"), "{err}");
}

#[test]
fn streamed_memory_does_not_grow_with_one_huge_comment_or_text() {
    use reggate::xml::validate::validate_reader;
    let limits = Limits {
        max_text_bytes: 1 << 16,
        max_tag_bytes: 1 << 16,
        ..Limits::default()
    };
    let opts = Options {
        limits,
        ..Options::default()
    };
    for doc in [
        format!("<a><!--{}--></a>", "x".repeat(1 << 20)),
        format!("<a>{}</a>", "x".repeat(1 << 20)),
        format!("<a><?pi {}?></a>", "x".repeat(1 << 20)),
    ] {
        let r = validate_reader(
            &schema(),
            std::io::BufReader::with_capacity(4096, doc.as_bytes()),
            &opts,
        );
        let v = r
            .violations
            .iter()
            .find(|v| v.rule == "xml-well-formed")
            .expect("refused");
        assert!(v.message.contains("limit exceeded"), "{}", v.message);
    }
}
