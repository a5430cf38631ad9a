//! End-to-end tests of the `reggate validate` command: the built binary, run from the project root.
//!
//! Covers the exit-code contract (0 valid, 1 invalid, 2 usage or schema error), the text report
//! (path, line, rule, personal values masked), the `--json` report, compiling schemas alone and the
//! `--repeat` throughput line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn reggate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reggate"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run reggate")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally, not by a signal")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory under the system temp dir, unique to this test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn valid_fixtures() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("fixtures/messages"))
        .expect("fixtures/messages")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            p.strip_prefix(root())
                .expect("under root")
                .display()
                .to_string()
        })
        .collect();
    out.sort();
    out
}

const BAD_SNILS: &str = "fixtures/messages/invalid/snils-verify-request_err_bad_snils_pattern.xml";
/// The SNILS value in [`BAD_SNILS`]: must never appear in a report.
const BAD_SNILS_VALUE: &str = "14573298l84";

#[test]
fn valid_fixtures_exit_0() {
    let files = valid_fixtures();
    assert!(
        files.len() >= 10,
        "expected the valid fixtures, found {files:?}"
    );
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = reggate(&args);
    assert_eq!(
        code(&out),
        0,
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    for f in &files {
        assert!(
            stdout.contains(&format!("{f}: valid")),
            "no verdict for {f} in:\n{stdout}"
        );
    }
}

#[test]
fn invalid_fixture_exits_1_naming_path_line_rule_and_masking_the_snils() {
    let fixture = std::fs::read_to_string(root().join(BAD_SNILS)).expect("fixture");
    assert!(
        fixture.contains(BAD_SNILS_VALUE),
        "the fixture changed: update BAD_SNILS_VALUE"
    );
    let out = reggate(&["validate", BAD_SNILS]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(&format!("{BAD_SNILS}: invalid")),
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("Snils"))
        .unwrap_or_else(|| panic!("no violation on the Snils element:\n{stdout}"));
    // `LINE:COLUMN: PATH [RULE] MESSAGE (value: 'MASKED')`.
    let snils_line = fixture
        .lines()
        .position(|l| l.contains(BAD_SNILS_VALUE))
        .expect("value in fixture")
        + 1;
    assert!(
        line.trim_start().starts_with(&format!("{snils_line}:")),
        "line number {snils_line} expected first: {line}"
    );
    assert!(
        line.contains("/soap:Envelope/soap:Body/snils:VerifySnilsRequest/snils:Snils"),
        "element path expected: {line}"
    );
    assert!(line.contains("[cvc-"), "an XSD rule name expected: {line}");
    assert!(line.contains("***"), "masked value expected: {line}");
    assert!(
        !stdout.contains(BAD_SNILS_VALUE) && !stderr.contains(BAD_SNILS_VALUE),
        "SNILS printed in clear:\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("14573298"),
        "SNILS digits printed in clear:\n{stdout}"
    );
}

#[test]
fn json_report_parses_with_violations() {
    let valid = "fixtures/messages/snils-verify-request.xml";
    let out = reggate(&["validate", "--json", BAD_SNILS, valid]);
    assert_eq!(code(&out), 1, "stderr:\n{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains(BAD_SNILS_VALUE),
        "SNILS printed in clear in JSON:\n{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON report: {e}\n{stdout}"));
    let files = json.as_array().expect("an array, one entry per file");
    assert_eq!(files.len(), 2);
    let bad = &files[0];
    assert_eq!(bad["file"], BAD_SNILS);
    assert_eq!(bad["valid"], false);
    let violations = bad["violations"].as_array().expect("violations array");
    assert!(!violations.is_empty());
    let v = violations
        .iter()
        .find(|v| {
            v["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("snils:Snils"))
        })
        .expect("a Snils violation");
    assert!(v["line"].as_u64().is_some_and(|l| l > 1), "{v}");
    assert!(v["column"].as_u64().is_some_and(|c| c >= 1), "{v}");
    assert!(
        v["rule"].as_str().is_some_and(|r| r.starts_with("cvc-")),
        "{v}"
    );
    assert!(
        v["value"].as_str().is_some_and(|s| s.contains("***")),
        "masked value expected: {v}"
    );
    assert_eq!(files[1]["file"], valid);
    assert_eq!(files[1]["valid"], true);
    assert_eq!(files[1]["violations"].as_array().map(Vec::len), Some(0));
}

#[test]
fn missing_file_exits_2() {
    let out = reggate(&["validate", "fixtures/messages/no-such-file.xml"]);
    assert_eq!(
        code(&out),
        2,
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("no-such-file.xml"),
        "the error should name the file: {}",
        text(&out.stderr)
    );
}

#[test]
fn missing_file_with_repeat_exits_2() {
    let out = reggate(&[
        "validate",
        "--repeat",
        "2",
        "fixtures/messages/no-such-file.xml",
    ]);
    assert_eq!(code(&out), 2, "stderr:\n{}", text(&out.stderr));
}

#[test]
fn broken_schema_exits_2() {
    let dir = temp_dir("broken-schema");
    let bad = dir.join("bad.xsd");
    // Refers to a type that is declared nowhere: not a valid schema (src-resolve).
    std::fs::write(
        &bad,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:bad" xmlns:b="urn:bad">
  <xs:element name="Root" type="b:NoSuchType"/>
</xs:schema>
"#,
    )
    .expect("write bad schema");
    let bad_str = bad.to_str().expect("utf-8 path");
    let with_file = reggate(&[
        "validate",
        "--schema",
        bad_str,
        "fixtures/messages/snils-verify-request.xml",
    ]);
    assert_eq!(
        code(&with_file),
        2,
        "stdout:\n{}\nstderr:\n{}",
        text(&with_file.stdout),
        text(&with_file.stderr)
    );
    assert!(
        !text(&with_file.stderr).trim().is_empty(),
        "a schema error should say what is wrong"
    );
    let alone = reggate(&["validate", "--schema", bad_str]);
    assert_eq!(code(&alone), 2, "stderr:\n{}", text(&alone.stderr));

    // Not even XML.
    std::fs::write(
        &bad,
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n  <xs:element name=\"A\"\n",
    )
    .expect("write");
    let malformed = reggate(&["validate", "--schema", bad_str]);
    assert_eq!(code(&malformed), 2, "stderr:\n{}", text(&malformed.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_schema_exits_2() {
    let out = reggate(&[
        "validate",
        "--schema",
        "no-such-schemas-dir/x.xsd",
        "fixtures/messages/snils-verify-request.xml",
    ]);
    assert_eq!(code(&out), 2, "stderr:\n{}", text(&out.stderr));
}

#[test]
fn unknown_option_exits_2() {
    let out = reggate(&["validate", "--no-such-option"]);
    assert_eq!(code(&out), 2, "stderr:\n{}", text(&out.stderr));
}

#[test]
fn no_file_compiles_schemas_and_exits_0() {
    let out = reggate(&["validate"]);
    assert_eq!(code(&out), 0, "stderr:\n{}", text(&out.stderr));
    let explicit = reggate(&["validate", "--schema", "schemas"]);
    assert_eq!(code(&explicit), 0, "stderr:\n{}", text(&explicit.stderr));
    let json = reggate(&["validate", "--json"]);
    assert_eq!(code(&json), 0, "stderr:\n{}", text(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        value["schema_errors"].as_array().map(Vec::len),
        Some(0),
        "{value}"
    );
}

#[test]
fn repeat_prints_documents_per_second() {
    let out = reggate(&[
        "validate",
        "--repeat",
        "3",
        "fixtures/bench/envelope-5k.xml",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 0, "stderr:\n{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("documents/s"))
        .unwrap_or_else(|| panic!("no throughput line:\n{stderr}"));
    assert!(
        line.contains("envelope-5k.xml") && line.contains("3 runs"),
        "{line}"
    );
    assert!(
        text(&out.stdout).contains("envelope-5k.xml: valid"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_unreadable_file_does_not_hide_the_others_reports() {
    let valid = valid_fixtures();
    let out = reggate(&["validate", "--json", "no/such/file.xml", &valid[0]]);
    assert_eq!(code(&out), 2);
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let reports = reports.as_array().expect("an array of reports");
    assert_eq!(reports.len(), 2);
    assert!(
        reports[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot read")
    );
    assert_eq!(reports[1]["valid"], serde_json::Value::Bool(true));
}

#[test]
fn certs_init_status_and_a_refused_rotation() {
    let dir = temp_dir("certs");
    let certs = dir.join("certs");
    let certs_s = certs.to_str().unwrap();
    let out = reggate(&["certs", "init", "--dir", certs_s, "--lifetime-days", "90"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(
        code(&reggate(&["certs", "init", "--dir", certs_s])),
        2,
        "never overwrites without --force"
    );
    let out = reggate(&["certs", "status", "--dir", certs_s, "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert!(
        rows.iter()
            .all(|r| r["key_matches"] == true && r["chain_ok"] == true)
    );
    assert!(
        rows.iter()
            // 90 days from issue; 89 when a second boundary passes between issue and status.
            .any(|r| r["name"] == "gateway-server"
                && r["days_left"]
                    .as_i64()
                    .is_some_and(|d| (89..=90).contains(&d)))
    );
    // A certificate with somebody else's key is refused, and the old files stay.
    let before = std::fs::read(certs.join("gateway-server.pem")).unwrap();
    let out = reggate(&[
        "certs",
        "rotate",
        "--dir",
        certs_s,
        "gateway-server",
        certs.join("gateway-server.pem").to_str().unwrap(),
        certs.join("cabinet-client.key").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("key"), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(certs.join("gateway-server.pem")).unwrap(),
        before
    );
}

#[test]
fn mock_exports_the_same_people_for_the_same_seed() {
    let args = [
        "mock",
        "--export-people",
        "3",
        "--people",
        "500",
        "--seed",
        "7",
    ];
    let a = reggate(&args);
    assert_eq!(code(&a), 0, "{}", text(&a.stderr));
    assert_eq!(a.stdout, reggate(&args).stdout, "same seed, same people");
    let people: serde_json::Value = serde_json::from_slice(&a.stdout).expect("JSON");
    assert!(!people["people"].as_array().expect("people").is_empty());
    let other = reggate(&[
        "mock",
        "--export-people",
        "3",
        "--people",
        "500",
        "--seed",
        "8",
    ]);
    assert_ne!(a.stdout, other.stdout);
    let loaded = reggate(&[
        "mock",
        "--export-people",
        "1",
        "--data",
        "fixtures/registry-data",
    ]);
    assert_eq!(code(&loaded), 0, "{}", text(&loaded.stderr));
}
