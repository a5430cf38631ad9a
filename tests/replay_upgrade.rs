//! The schema-upgrade check (`reggate replay --against-schemas DIR`) on a corpus of cases written from
//! `fixtures/messages/` (request + response pairs, the recorded fault, and every invalid request as a
//! refused case), against copies of `schemas/` changed one way at a time: exactly the cases the change
//! touches are listed, with path and rule; an unchanged copy lists none.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reggate::replay::{
    Case, Change, Document, SchemaDirErrorKind, UpgradeReport, compare_schemas, load_all,
    load_schemas,
};
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Message name prefixes in `fixtures/messages/` and the operation each belongs to.
const MESSAGES: [(&str, &str, &str); 7] = [
    ("snils-verify", "snils", "VerifySnils"),
    ("inn-find", "inn", "FindInn"),
    ("inn-verify", "inn", "VerifyInn"),
    ("children-find-birth-record", "children", "FindBirthRecord"),
    ("labour-get-family-status", "labour", "GetFamilyStatus"),
    (
        "labour-get-active-assignments",
        "labour",
        "GetActiveAssignments",
    ),
    ("labour-register-assignment", "labour", "RegisterAssignment"),
];

const SNILS_REQUEST: &str = "/soap:Envelope/soap:Body/snils:VerifySnilsRequest";
const INN_VERIFY_REQUEST: &str = "/soap:Envelope/soap:Body/inn:VerifyInnRequest";
const ASSIGNMENTS_REQUEST: &str = "/soap:Envelope/soap:Body/lab:GetActiveAssignmentsRequest";
const ASSIGNMENTS_RESPONSE: &str = "/soap:Envelope/soap:Body/lab:GetActiveAssignmentsResponse";
const BIRTH_REQUEST: &str = "/soap:Envelope/soap:Body/chld:FindBirthRecordRequest";

/// A fresh folder under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "reggate-replay-upgrade-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    /// A copy of `schemas/` in `candidate/`, with each `(file, from, to)` edit applied once (`from`
    /// must be there).
    fn candidate(&self, edits: &[(&str, &str, &str)]) -> PathBuf {
        let dir = self.0.join("candidate");
        std::fs::create_dir_all(&dir).expect("candidate dir");
        for entry in std::fs::read_dir(Path::new(ROOT).join("schemas")).expect("schemas/") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
        for (file, from, to) in edits {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path).expect("schema text");
            assert!(text.contains(from), "{file} lacks {from:?}");
            std::fs::write(&path, text.replacen(from, to, 1)).expect("edit");
        }
        dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn current() -> Arc<Schema> {
    load_schemas(&Path::new(ROOT).join("schemas")).expect("schemas/ compile")
}

fn message(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join("fixtures/messages").join(rel)).expect(rel)
}

fn write_case(root: &Path, registry: &str, name: &str, toml: &str, files: &[(&str, String)]) {
    let dir = root.join(registry).join(name);
    std::fs::create_dir_all(&dir).expect("case dir");
    std::fs::write(dir.join("case.toml"), toml).expect("case.toml");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("case file");
    }
}

/// The corpus, written under `scratch/cases` and loaded: one case per recorded response (with its
/// request), the by-person request with the found response, the recorded fault, and one refused case
/// per invalid request, expecting the violation the current schemas report first.
fn corpus(scratch: &Scratch, schema: &Schema) -> Vec<Case> {
    let root = scratch.0.join("cases");
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("fixtures/messages"))
        .expect("messages")
        .chain(
            std::fs::read_dir(Path::new(ROOT).join("fixtures/messages/invalid")).expect("invalid"),
        )
        .map(|e| {
            let path = e.expect("entry").path();
            let dir = path.parent().and_then(Path::file_name).expect("dir");
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if dir == "invalid" {
                format!("invalid/{name}")
            } else {
                name
            }
        })
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    for file in &names {
        let base = file.trim_start_matches("invalid/").trim_end_matches(".xml");
        let Some((msg, registry, operation)) = MESSAGES
            .iter()
            .find(|(m, _, _)| base.starts_with(&format!("{m}-")))
        else {
            continue; // envelope_err_*: no operation
        };
        let rest = &base[msg.len() + 1..];
        let head = format!("version = 1\nregistry = \"{registry}\"\noperation = \"{operation}\"\n");
        let request = || message(&format!("{msg}-request.xml"));
        if let Some(what) = rest.strip_prefix("request_err_") {
            let text = message(file);
            let report = validate_bytes(schema, text.as_bytes(), &Options::default());
            let first = report
                .violations
                .first()
                .expect("an invalid request is refused");
            let toml = format!(
                "{head}refused = {{ path = \"{}\", rule = \"{}\" }}\n",
                first.path, first.rule
            );
            let name = format!("{msg}-refused-{}", what.replace('_', "-"));
            write_case(&root, registry, &name, &toml, &[("request.xml", text)]);
        } else if rest.contains("_err_") {
            continue; // an invalid response: the case format keeps no such expectation
        } else if let Some(suffix) = rest.strip_prefix("response") {
            let files = [("request.xml", request()), ("response.xml", message(file))];
            write_case(&root, registry, &format!("{msg}{suffix}"), &head, &files);
        } else if let Some(suffix) = rest.strip_prefix("request-") {
            let files = [
                ("request.xml", message(file)),
                ("response.xml", message(&format!("{msg}-response.xml"))),
            ];
            write_case(&root, registry, &format!("{msg}-{suffix}"), &head, &files);
        } else if rest == "fault" {
            let toml = format!("{head}fault = {{ code = \"soap:Server\", text = \"ошибка\" }}\n");
            write_case(
                &root,
                registry,
                &format!("{msg}-fault"),
                &toml,
                &[("request.xml", request())],
            );
        }
    }
    load_all(&[root]).expect("the corpus loads")
}

/// The report in one line per changed document and per refused case's expectation:
/// `case document change -path [rule] +path [rule]` and `case refusal holds-now holds-then`.
fn lines(report: &UpgradeReport) -> Vec<String> {
    let mut out = Vec::new();
    for case in &report.changed {
        let name = case.dir.file_name().expect("name").to_string_lossy();
        for doc in &case.documents {
            let mut line = format!("{name} {} {}", doc.document, doc.change.describe());
            for v in &doc.removed {
                line.push_str(&format!(" -{} [{}]", v.path, v.rule));
            }
            for v in &doc.added {
                line.push_str(&format!(" +{} [{}]", v.path, v.rule));
            }
            out.push(line);
        }
        if let Some(r) = &case.refusal {
            out.push(format!(
                "{name} refusal {} {}",
                r.holds_current, r.holds_candidate
            ));
        }
    }
    out
}

/// The corpus checked against a copy of `schemas/` with `edits`.
fn check(name: &str, edits: &[(&str, &str, &str)]) -> (UpgradeReport, PathBuf, Scratch) {
    let scratch = Scratch::new(name);
    let schema = current();
    let cases = corpus(&scratch, &schema);
    let dir = scratch.candidate(edits);
    let candidate = load_schemas(&dir).expect("the candidate compiles");
    (compare_schemas(&cases, &schema, &candidate), dir, scratch)
}

#[test]
fn an_unchanged_copy_changes_nothing() {
    let (report, dir, _s) = check("unchanged", &[]);
    assert!(report.changed.is_empty(), "{:?}", lines(&report));
    assert!(report.is_compatible());
    // 16 request/response pairs, 1 fault, 12 refused requests.
    assert_eq!((report.cases, report.documents), (29, 45));
    assert_eq!(report.documents_unchanged(), 45);
    assert_eq!(
        report.display(&dir).to_string(),
        format!(
            "schemas {}: 0 of 29 cases change verdict (0 break, 0 now accepted), 29 unchanged; \
             0 of 45 documents change verdict",
            dir.display()
        )
    );
}

#[test]
fn a_tightened_name_pattern_breaks_exactly_the_names_it_no_longer_allows() {
    // No more spaces inside a name part: only the patronymic `Гусейн оглы` has one.
    let (report, _dir, _s) = check(
        "name-pattern",
        &[(
            "common-types-1.0.xsd",
            "[А-ЯЁа-яё]+([\\-' ][А-ЯЁа-яё]+)*",
            "[А-ЯЁа-яё]+([\\-'][А-ЯЁа-яё]+)*",
        )],
    );
    let middle = format!("{INN_VERIFY_REQUEST}/inn:Person/cmn:MiddleName [cvc-pattern-valid]");
    assert_eq!(
        lines(&report),
        [
            format!("inn-verify request.xml breaks +{middle}"),
            // Refused for its 10-digit INN before and after, now for the name too.
            format!("inn-verify-refused-inn-legal-length request.xml other violations +{middle}"),
            "inn-verify-refused-inn-legal-length refusal true true".to_string(),
        ]
    );
    assert_eq!(
        (
            report.breaks(),
            report.now_accepted(),
            report.other_violations()
        ),
        (1, 0, 1)
    );
    assert_eq!((report.unchanged(), report.documents_changed), (28, 1));
    assert!(!report.is_compatible());
    // The value in the message is masked as the validator masks it: a name as initials.
    let v = &report.changed[0].documents[0].added[0];
    assert!(!v.value.as_deref().unwrap_or("").contains("оглы"), "{v}");
}

#[test]
fn a_tightened_code_enumeration_breaks_the_request_and_response_that_use_the_code() {
    let (report, _dir, _s) = check(
        "enumeration",
        &[(
            "labour-registry-1.0.xsd",
            "<xs:enumeration value=\"childcare_under_1_5\"/>",
            "",
        )],
    );
    assert_eq!(
        lines(&report),
        [
            format!(
                "labour-get-active-assignments request.xml breaks \
                 +{ASSIGNMENTS_REQUEST}/lab:BenefitCode [cvc-enumeration-valid]"
            ),
            format!(
                "labour-get-active-assignments response.xml breaks \
                 +{ASSIGNMENTS_RESPONSE}/lab:Assignments/lab:Assignment/lab:BenefitCode [cvc-enumeration-valid]"
            ),
        ]
    );
    assert_eq!((report.breaks(), report.documents_changed), (1, 2));
    let case = &report.changed[0];
    assert_eq!(case.change(), Change::Breaks);
    assert_eq!(
        case.documents
            .iter()
            .map(|d| d.document)
            .collect::<Vec<_>>(),
        [Document::Request, Document::Response]
    );
}

#[test]
fn a_new_required_element_breaks_every_request_of_that_type() {
    let (report, dir, _s) = check(
        "required-element",
        &[(
            "snils-registry-1.0.xsd",
            "<xs:element name=\"Person\" type=\"cmn:PersonIdentityType\"/>\n    </xs:sequence>",
            "<xs:element name=\"Person\" type=\"cmn:PersonIdentityType\"/>\n      \
             <xs:element name=\"Purpose\" type=\"cmn:ShortTextType\"/>\n    </xs:sequence>",
        )],
    );
    let missing = format!("{SNILS_REQUEST} [cvc-complex-type.2.4.b]");
    let shown = lines(&report);
    assert_eq!(
        shown,
        [
            format!("snils-verify request.xml breaks +{missing}"),
            format!("snils-verify-error request.xml breaks +{missing}"),
            format!("snils-verify-no-match request.xml breaks +{missing}"),
            format!(
                "snils-verify-refused-bad-snils-pattern request.xml other violations +{missing}"
            ),
            "snils-verify-refused-bad-snils-pattern refusal true true".to_string(),
            format!(
                "snils-verify-refused-snils-with-separators request.xml other violations +{missing}"
            ),
            "snils-verify-refused-snils-with-separators refusal true true".to_string(),
        ],
        "{}",
        report.display(&dir)
    );
    // The responses are untouched: three cases break by their request alone.
    assert_eq!((report.breaks(), report.documents_changed), (3, 3));
    let added = &report.changed[0].documents[0].added[0];
    assert!(added.message.contains("Purpose"), "{added}");
    let text = report.display(&dir).to_string();
    assert!(
        text.ends_with(&format!(
            "schemas {}: 3 of 29 cases change verdict (3 break, 0 now accepted), 26 unchanged \
             (2 with other violations); 3 of 45 documents change verdict",
            dir.display()
        )),
        "{text}"
    );
}

#[test]
fn a_relaxed_pattern_accepts_a_refused_request_and_its_refusal_no_longer_holds() {
    // Latin capitals allowed after the numeral: the look-alike series is no longer refused.
    let (report, dir, _s) = check(
        "relaxed",
        &[(
            "common-types-1.0.xsd",
            "[IVXLCDM]{1,4}-[А-ЯЁ]{2}",
            "[IVXLCDM]{1,4}-[А-ЯЁA-Z]{2}",
        )],
    );
    let series = format!("{BIRTH_REQUEST}/chld:Certificate/chld:Series [cvc-pattern-valid]");
    assert_eq!(
        lines(&report),
        [
            format!(
                "children-find-birth-record-refused-latin-series request.xml now accepted -{series}"
            ),
            "children-find-birth-record-refused-latin-series refusal true false".to_string(),
        ]
    );
    assert_eq!(
        (
            report.breaks(),
            report.now_accepted(),
            report.refusals_lost()
        ),
        (0, 1, 1)
    );
    assert!(!report.is_compatible());
    let text = report.display(&dir).to_string();
    let case_dir = report.changed[0].dir.display().to_string();
    let expected = format!(
        "now accepted: {case_dir} (children FindBirthRecord)\n  request.xml: invalid -> valid\n    - "
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(
        text.contains(&format!(
            "  expected refusal at {BIRTH_REQUEST}/chld:Certificate/chld:Series \
             [cvc-pattern-valid]: no longer holds under the candidate\n"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "1 of 29 cases changes verdict (0 break, 1 now accepted), 28 unchanged; \
             1 of 45 documents changes verdict; 1 expected refusal no longer holds"
        ),
        "{text}"
    );
}

#[test]
fn a_refused_request_refused_for_another_rule_is_listed_though_its_verdict_stays() {
    // SNILS with separators is refused for its length; allow the length and the pattern refuses it.
    let (report, _dir, _s) = check(
        "other-rule",
        &[(
            "common-types-1.0.xsd",
            "<xs:length value=\"11\"/>",
            "<xs:maxLength value=\"14\"/>",
        )],
    );
    let snils = format!("{SNILS_REQUEST}/snils:Snils");
    assert_eq!(
        lines(&report),
        [
            format!(
                "snils-verify-refused-snils-with-separators request.xml other violations \
                 -{snils} [cvc-length-valid] +{snils} [cvc-pattern-valid]"
            ),
            "snils-verify-refused-snils-with-separators refusal true false".to_string(),
        ]
    );
    assert_eq!((report.verdict_changes(), report.refusals_lost()), (0, 1));
    assert!(!report.is_compatible());
}

#[test]
fn a_candidate_that_does_not_compile_is_refused_naming_the_file() {
    let scratch = Scratch::new("broken");
    let dir = scratch.candidate(&[(
        "inn-registry-1.0.xsd",
        "type=\"cmn:PersonIdentityType\"",
        "type=\"cmn:NoSuchType\"",
    )]);
    let error = load_schemas(&dir).expect_err("does not compile");
    assert!(matches!(error.kind, SchemaDirErrorKind::Compile(_)));
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("schemas {}: do not compile:", dir.display()))
            && shown.contains("inn-registry-1.0.xsd")
            && shown.contains("src-resolve"),
        "{shown}"
    );

    let error = load_schemas(&scratch.0.join("absent")).expect_err("absent");
    assert!(
        matches!(error.kind, SchemaDirErrorKind::NotADirectory(_)),
        "{error}"
    );
    let empty = scratch.0.join("empty");
    std::fs::create_dir_all(&empty).expect("empty dir");
    let error = load_schemas(&empty).expect_err("empty");
    assert_eq!(error.kind, SchemaDirErrorKind::NoSchemas);
    assert!(error.to_string().contains("no *.xsd"), "{error}");
}
