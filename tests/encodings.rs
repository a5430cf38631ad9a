//! Documents in the encodings registries really send (issue 19): a health-insurance policy schema and
//! message in windows-1251, UTF-16 (both byte orders, with and without a byte order mark), KOI8-R and
//! UTF-8, each schema validating each message; and the documents whose encoding must be refused. The
//! files are `fixtures/encodings/` (README there, with libxml2's verdicts on the same files). Every
//! document is validated in memory and streamed, and the two reports must be the same.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use reggate::contract::{read_payload, read_tree};
use reggate::replay::compare::{Mode, Options as CompareOptions, compare};
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, Report, Violation, validate_bytes, validate_reader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures/encodings").join(name)).expect("fixture")
}

/// The same schema, loaded from its windows-1251, UTF-16 and UTF-8 copies.
const SCHEMAS: [&str; 3] = ["schema-windows-1251", "schema-utf-16", "schema-utf-8"];

fn schema(dir: &str) -> Arc<Schema> {
    static LOADED: OnceLock<Vec<(&'static str, Arc<Schema>)>> = OnceLock::new();
    let loaded = LOADED.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|d| {
                let path = root().join("fixtures/encodings").join(d);
                let s = Schema::load(&[path]).unwrap_or_else(|e| panic!("{d}: {e}"));
                (*d, s)
            })
            .collect()
    });
    loaded.iter().find(|(d, _)| *d == dir).unwrap().1.clone()
}

fn registry_schemas() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::load(&[root().join("schemas")]).expect("registry schemas"))
        .clone()
}

/// Validate in memory and streamed (through a tiny buffer, so chunk edges fall everywhere, and a
/// usual one); all three reports must agree.
fn validate(schema: &Schema, bytes: &[u8]) -> Report {
    let options = Options::default();
    let in_memory = validate_bytes(schema, bytes, &options);
    for capacity in [3, 64 << 10] {
        let streamed = validate_reader(
            schema,
            std::io::BufReader::with_capacity(capacity, bytes),
            &options,
        );
        assert_eq!(
            in_memory.violations, streamed.violations,
            "streamed with a {capacity}-byte buffer"
        );
        assert_eq!(in_memory.truncated, streamed.truncated);
    }
    in_memory
}

macro_rules! valid {
    ($($test:ident: $file:literal,)*) => {$(
        #[test]
        fn $test() {
            let bytes = fixture($file);
            for dir in SCHEMAS {
                let report = validate(&schema(dir), &bytes);
                assert!(report.is_valid(), "{} against {dir}: {:?}", $file, report.violations);
            }
        }
    )*};
}

valid! {
    windows_1251_is_valid: "policy-windows-1251.xml",
    utf_8_is_valid: "policy-utf-8.xml",
    utf_8_with_a_byte_order_mark_is_valid: "policy-utf-8-bom.xml",
    utf_16le_with_a_byte_order_mark_is_valid: "policy-utf-16le-bom.xml",
    utf_16be_with_a_byte_order_mark_is_valid: "policy-utf-16be-bom.xml",
    utf_16le_declared_without_a_byte_order_mark_is_valid: "policy-utf-16le-no-bom.xml",
    utf_16be_declared_without_a_byte_order_mark_is_valid: "policy-utf-16be-no-bom.xml",
    koi8_r_is_valid: "policy-koi8-r.xml",
}

/// The status `Аннулирован` is not in the enumeration: one violation, its value in correct UTF-8
/// Cyrillic, whatever the encoding of the message or of the schema. Positions are in the UTF-8 text,
/// so they are the same for all three.
#[test]
fn a_cyrillic_value_outside_the_enumeration_reads_the_same_in_every_encoding() {
    let mut seen: Option<Vec<Violation>> = None;
    for file in [
        "policy-windows-1251_err_status.xml",
        "policy-utf-16le-bom_err_status.xml",
        "policy-utf-8_err_status.xml",
    ] {
        for dir in SCHEMAS {
            let report = validate(&schema(dir), &fixture(file));
            let [v] = report.violations.as_slice() else {
                panic!("{file} against {dir}: {:?}", report.violations)
            };
            assert_eq!(v.rule, "cvc-enumeration-valid", "{v}");
            assert_eq!(v.value.as_deref(), Some("Аннулирован"), "{v}");
            assert_eq!(v.path, "/oms:СведенияОПолисе/oms:СтатусПолиса", "{v}");
            assert_eq!(v.line, 5, "{v}");
            match &seen {
                None => seen = Some(report.violations.clone()),
                Some(first) => assert_eq!(first, &report.violations, "{file} against {dir}"),
            }
        }
    }
}

/// The document is refused before anything is validated: one `xml-well-formed` violation whose
/// message says what is wrong with the encoding.
fn refused(file: &str) -> Violation {
    let report = validate(&schema("schema-utf-8"), &fixture(file));
    assert!(report.truncated, "{file}");
    let [v] = report.violations.as_slice() else {
        panic!("{file}: {:?}", report.violations);
    };
    assert_eq!(v.rule, "xml-well-formed", "{file}: {v}");
    assert!(v.message.starts_with("character encoding: "), "{file}: {v}");
    v.clone()
}

macro_rules! refused {
    ($($test:ident: $file:literal => [$($needle:literal),*] at $line:literal,)*) => {$(
        #[test]
        fn $test() {
            let v = refused($file);
            $(assert!(v.message.contains($needle), "{}: {v}", $file);)*
            assert_eq!(v.line, $line, "{}: {v}", $file);
        }
    )*};
}

refused! {
    utf_16_bytes_declaring_windows_1251_err: "utf-16le-bom-declares-windows-1251_err_.xml"
        => ["UTF-16LE", "byte order mark", "'windows-1251'"] at 1,
    utf_16_bytes_declaring_utf_8_err: "utf-16be-bom-declares-utf-8_err_.xml"
        => ["UTF-16BE", "'UTF-8'"] at 1,
    single_bytes_declaring_utf_16_err: "single-bytes-declare-utf-16_err_.xml"
        => ["'UTF-16'", "not UTF-16"] at 1,
    utf_8_mark_declaring_windows_1251_err: "utf-8-bom-declares-windows-1251_err_.xml"
        => ["UTF-8 byte order mark", "'windows-1251'"] at 1,
    unknown_label_err: "unknown-label_err_.xml"
        => ["unknown encoding 'windows-1215'"] at 1,
    utf_16_without_mark_or_declared_encoding_err: "utf-16le-no-bom-undeclared_err_.xml"
        => ["UTF-16LE without a byte order mark", "§4.3.3"] at 1,
    ascii_declared_over_cyrillic_bytes_err: "us-ascii-declared-cyrillic-bytes_err_.xml"
        => ["not US-ASCII"] at 2,
    unpaired_utf_16_surrogate_err: "utf-16le-unpaired-surrogate_err_.xml"
        => ["bytes not valid in UTF-16LE at offset"] at 7,
}

/// Position of a malformed byte: line and column of the UTF-8 text read so far, and the byte offset
/// in the original.
#[test]
fn a_malformed_byte_is_placed_in_the_text_and_in_the_original() {
    let bytes = fixture("utf-16le-unpaired-surrogate_err_.xml");
    let v = refused("utf-16le-unpaired-surrogate_err_.xml");
    let surrogate = bytes.windows(2).position(|w| w == [0x00, 0xD8]).unwrap();
    assert!(v.message.contains(&format!("offset {surrogate} ")), "{v}");
    // `  <oms:Территория>` is 2 + 1 + 4 + 20 + 1 UTF-8 bytes: the bad unit is the 29th.
    assert_eq!((v.line, v.column), (7, 29), "{v}");
    assert_eq!(v.path, "/oms:СведенияОПолисе/oms:Территория", "{v}");
}

/// What comes before malformed bytes is validated, in memory as streamed: a wrong status on line 5,
/// then the unpaired surrogate on line 7 ends the run.
#[test]
fn violations_before_malformed_bytes_are_reported() {
    let mut bytes = fixture("policy-utf-16le-bom_err_status.xml");
    let at = bytes
        .windows(4)
        .position(|w| {
            w == "Тв"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
        })
        .unwrap();
    bytes[at..at + 2].copy_from_slice(&[0x00, 0xD8]);
    let report = validate(&schema("schema-windows-1251"), &bytes);
    let [status, surrogate] = report.violations.as_slice() else {
        panic!("{:?}", report.violations);
    };
    assert_eq!((status.rule, status.line), ("cvc-enumeration-valid", 5));
    assert_eq!((surrogate.rule, surrogate.line), ("xml-well-formed", 7));
    assert!(surrogate.message.contains("UTF-16LE"), "{surrogate}");
    assert!(report.truncated);
}

/// Schemas in windows-1251 and UTF-16 load (above); a schema whose encoding is wrong is a schema
/// error that says so.
#[test]
fn a_schema_whose_encoding_contradicts_its_bytes_is_refused() {
    let text = String::from_utf8(fixture("schema-utf-8/oms-policy.xsd"))
        .unwrap()
        .replace("encoding=\"UTF-8\"", "encoding=\"windows-1251\"");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let dir = std::env::temp_dir().join(format!("reggate-enc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("oms-policy.xsd"), &bytes).unwrap();
    let Err(errors) = Schema::load(std::slice::from_ref(&dir)) else {
        panic!("a schema whose encoding contradicts its bytes loaded");
    };
    std::fs::remove_dir_all(&dir).unwrap();
    let e = &errors.0[0];
    assert_eq!(e.rule, "schema-xml", "{e}");
    assert!(
        e.message.contains("UTF-16LE") && e.message.contains("windows-1251"),
        "{e}"
    );
}

/// One of reggate's own registry messages, re-encoded the way a legacy registry would send it.
fn registry_message(label: &str) -> (Vec<u8>, Vec<u8>) {
    let utf8 = std::fs::read(root().join("fixtures/messages/inn-verify-request.xml")).unwrap();
    let text = String::from_utf8(utf8.clone()).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let text = text.replacen("UTF-8", label, 1);
    let encoded = match label {
        "UTF-16" => {
            let mut b = vec![0xFF, 0xFE];
            b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            b
        }
        _ => {
            let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
            let (b, _, unmappable) = encoding.encode(&text);
            assert!(!unmappable);
            b.into_owned()
        }
    };
    (utf8, encoded)
}

#[test]
fn registry_messages_in_windows_1251_and_utf_16_validate_and_read_like_utf_8() {
    for label in ["windows-1251", "UTF-16", "KOI8-R"] {
        let (utf8, encoded) = registry_message(label);
        assert_ne!(utf8, encoded);
        let report = validate(&registry_schemas(), &encoded);
        assert!(report.is_valid(), "{label}: {:?}", report.violations);
        assert_eq!(
            read_payload(&encoded).unwrap(),
            read_payload(&utf8).unwrap(),
            "{label}"
        );
        let fields = read_payload(&encoded).unwrap().fields;
        assert!(
            fields.iter().any(|(_, v)| v.contains("Гусейн оглы")),
            "{label}: {fields:?}"
        );
        assert_eq!(read_tree(&encoded).unwrap(), read_tree(&utf8).unwrap());
        // Replay: a windows-1251 answer is similar to its UTF-8 recording; strictly, the
        // declarations differ.
        let similar = compare(&utf8, &encoded, &CompareOptions::default()).unwrap();
        assert!(similar.is_match(), "{label}: {:?}", similar.differences);
        let strict = CompareOptions {
            mode: Mode::Strict,
            ..CompareOptions::default()
        };
        let strictly = compare(&utf8, &encoded, &strict).unwrap();
        assert_eq!(strictly.differences.len(), 1, "{label}");
    }
}

#[test]
fn payload_reading_refuses_an_unreadable_encoding() {
    let e = read_payload(&fixture("unknown-label_err_.xml")).unwrap_err();
    assert!(e.message.contains("unknown encoding 'windows-1215'"), "{e}");
}
