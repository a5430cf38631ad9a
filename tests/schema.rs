//! Schema loading: errors that point at their source, UPA violations that name both particles, and
//! schema sets spread over several files and namespaces (include, import, redefine).

use std::path::{Path, PathBuf};

use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("reggate-schema-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(d: &Path, file: &str, text: &str) -> PathBuf {
    let p = d.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn upa_violation_names_both_particles_and_the_type() {
    let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="Ambiguous">
    <xs:sequence>
      <xs:element name="a" minOccurs="0"/>
      <xs:element name="a"/>
    </xs:sequence>
  </xs:complexType>
</xs:schema>"#;
    let err = Schema::from_str(xsd, Path::new(".")).unwrap_err();
    let e = err
        .0
        .iter()
        .find(|e| e.rule == "cos-nonambig")
        .expect("UPA error");
    assert!(
        e.message.contains("'Ambiguous'") && e.message.matches("element 'a'").count() == 2,
        "{e}"
    );
    assert_eq!(e.position.line, 2, "{e}");
}

#[test]
fn counted_repetition_is_not_ambiguous_when_counts_decide() {
    let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="r"><xs:complexType><xs:sequence>
    <xs:element name="a" minOccurs="5000" maxOccurs="5000"/><xs:element name="a"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#;
    let schema = Schema::from_str(xsd, Path::new(".")).expect("(a{5000}, a) is deterministic");
    let doc = |n: usize| format!("<r>{}</r>", "<a/>".repeat(n));
    assert!(validate_bytes(&schema, doc(5001).as_bytes(), &Options::default()).is_valid());
    assert!(!validate_bytes(&schema, doc(5000).as_bytes(), &Options::default()).is_valid());
    assert!(!validate_bytes(&schema, doc(5002).as_bytes(), &Options::default()).is_valid());
}

#[test]
fn an_unresolved_reference_points_at_its_file_and_line() {
    let d = dir("resolve");
    let main = write(
        &d,
        "main.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">

  <xs:element name="r" type="Missing"/>
</xs:schema>"#,
    );
    let err = Schema::load(&[main]).unwrap_err();
    let e = &err.0[0];
    assert_eq!(e.rule, "src-resolve");
    assert!(e.file.ends_with("main.xsd") && e.position.line == 3, "{e}");
    assert!(e.message.contains("'Missing'"), "{e}");
}

#[test]
fn include_import_and_redefine_across_namespaces() {
    let d = dir("set");
    write(
        &d,
        "common.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:c" xmlns:c="urn:c" elementFormDefault="qualified">
  <xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{2}"/></xs:restriction></xs:simpleType>
</xs:schema>"#,
    );
    // A chameleon include: no target namespace of its own.
    write(
        &d,
        "parts.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="Base"><xs:sequence><xs:element name="x" type="xs:int"/></xs:sequence></xs:complexType>
</xs:schema>"#,
    );
    let main = write(
        &d,
        "main.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:m" xmlns:m="urn:m" xmlns:c="urn:c" elementFormDefault="qualified">
  <xs:import namespace="urn:c" schemaLocation="common.xsd"/>
  <xs:redefine schemaLocation="parts.xsd">
    <xs:complexType name="Base"><xs:complexContent><xs:extension base="m:Base">
      <xs:sequence><xs:element name="code" type="c:Code"/></xs:sequence>
    </xs:extension></xs:complexContent></xs:complexType>
  </xs:redefine>
  <xs:element name="r" type="m:Base"/>
</xs:schema>"#,
    );
    let schema = Schema::load(&[main]).unwrap_or_else(|e| panic!("{e}"));
    // `x` comes from the chameleon document, whose elementFormDefault is unqualified.
    let ok = br#"<m:r xmlns:m="urn:m"><x>1</x><m:code>RU</m:code></m:r>"#;
    assert!(validate_bytes(&schema, ok, &Options::default()).is_valid());
    let bad = br#"<m:r xmlns:m="urn:m"><x>1</x><m:code>ru</m:code></m:r>"#;
    let r = validate_bytes(&schema, bad, &Options::default());
    assert_eq!(
        r.violations[0].rule, "cvc-pattern-valid",
        "{:?}",
        r.violations
    );
    assert_eq!(r.violations[0].path, "/m:r/m:code");
}

#[test]
fn invalid_schemas_are_refused_with_the_rule_named() {
    let cases = [
        (
            r#"<xs:element name="a" type="xs:string"><xs:complexType/></xs:element>"#,
            "src-element.3",
        ),
        (
            r#"<xs:simpleType name="s"><xs:restriction base="xs:int"><xs:maxLength value="3"/></xs:restriction></xs:simpleType>"#,
            "facet",
        ),
        (
            r#"<xs:complexType name="c"><xs:sequence><xs:element name="a" minOccurs="2" maxOccurs="1"/></xs:sequence></xs:complexType>"#,
            "p-props-correct.2.1",
        ),
        (
            r#"<xs:simpleType name="s"><xs:restriction base="xs:string"><xs:pattern value="(?:x)"/></xs:restriction></xs:simpleType>"#,
            "facet",
        ),
        (r#"<xs:element name="a" foo="1"/>"#, "s4s-att-not-allowed"),
    ];
    for (body, rule) in cases {
        let xsd =
            format!(r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{body}</xs:schema>"#);
        let err = Schema::from_str(&xsd, Path::new(".")).expect_err(body);
        assert!(err.0.iter().any(|e| e.rule.contains(rule)), "{body}: {err}");
    }
}
