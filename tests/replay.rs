//! `reggate replay` as integration testers run it: the project's corpus against the in-process mock
//! (all pass, JUnit report valid against Jenkins' `junit-10.xsd` with reggate's validator and
//! xmllint), cases broken on purpose (each fails naming the path), and setup errors (exit 2).

#[path = "support/corpus.rs"]
mod corpus;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reggate::contract::Operation;
use reggate::mock::faults::FaultKind;
use reggate::replay::{Expectation, load_all};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    root().join("fixtures/cases")
}

/// A fresh folder under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("reggate-replay-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn replay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reggate"))
        .current_dir(root())
        .arg("replay")
        .args(args)
        .output()
        .expect("run reggate replay")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
#[ignore = "rewrites fixtures/cases: cargo test --release --test replay -- --ignored write_corpus"]
async fn write_corpus() {
    let certs = Scratch::new("corpus-certs");
    corpus::write(&corpus_dir(), &certs.0).await;
}

#[test]
fn the_corpus_covers_every_operation_outcome_and_fault_kind() {
    let cases = load_all(&[corpus_dir()]).expect("the corpus loads");
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let operations: BTreeSet<&str> = cases.iter().map(|c| c.operation.name()).collect();
    assert_eq!(operations.len(), Operation::ALL.len(), "{operations:?}");
    let tags: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.tags.iter().map(String::as_str))
        .collect();
    for wanted in [
        "found",
        "not-found",
        "no-match",
        "registration",
        "invalid-request",
        "fault-plan",
    ] {
        assert!(tags.contains(wanted), "no case tagged {wanted}: {tags:?}");
    }
    let planned: BTreeSet<FaultKind> = cases
        .iter()
        .filter_map(|c| c.faults.as_ref())
        .flat_map(|p| p.snils.iter().map(|r| r.kind))
        .collect();
    assert_eq!(planned.len(), FaultKind::ALL.len(), "{planned:?}");
    let refused = cases
        .iter()
        .filter(|c| matches!(c.expect, Expectation::Refused { .. }))
        .count();
    assert!(refused >= 4, "{refused} refused cases");
    // Every registration outcome the mock gives.
    let registrations: BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| match &c.expect {
            Expectation::Response(body) if c.operation == Operation::RegisterAssignment => {
                let body = std::str::from_utf8(body).ok()?;
                ["ALREADY_REGISTERED", "REGISTERED", "CONFLICT"]
                    .into_iter()
                    .find(|code| body.contains(&format!(">{code}<")))
            }
            _ => None,
        })
        .collect();
    assert_eq!(registrations.len(), 3, "{registrations:?}");
}

#[test]
fn the_corpus_passes_against_the_mock_with_a_valid_junit_report() {
    let scratch = Scratch::new("corpus");
    let junit = scratch.0.join("junit.xml");
    let certs = scratch.0.join("certs");
    let out = replay(&[
        "--certs",
        certs.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    let shown = text(&out);
    eprintln!("{shown}");
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let cases = load_all(&[corpus_dir()]).expect("the corpus loads").len();
    assert!(
        shown.contains(&format!("{cases} passed, 0 failed")),
        "{shown}"
    );

    // The report: one suite per registry, one case per fixture, valid against junit-10.xsd.
    let report = std::fs::read_to_string(&junit).expect("junit report");
    assert_eq!(report.matches("<testsuite ").count(), 4, "{report}");
    assert_eq!(report.matches("<testcase ").count(), cases, "{report}");
    assert!(!report.contains("<failure"), "{report}");
    check_junit_schema(&junit);
}

/// Validate a report against Jenkins' `junit-10.xsd` (`REGGATE_JUNIT_XSD`, which `.ci/run` takes
/// from a PyPI source distribution) with reggate's validator and with xmllint.
fn check_junit_schema(report: &Path) {
    let Some(xsd) = std::env::var_os("REGGATE_JUNIT_XSD").map(PathBuf::from) else {
        assert!(
            std::env::var_os("REGGATE_REQUIRE_JUNIT_XSD").is_none(),
            "REGGATE_JUNIT_XSD is not set"
        );
        eprintln!("REGGATE_JUNIT_XSD not set: the report's schema check is skipped");
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_reggate"))
        .args(["validate", "--schema"])
        .arg(&xsd)
        .arg(report)
        .output()
        .expect("reggate validate");
    assert_eq!(
        out.status.code(),
        Some(0),
        "reggate validate: {}",
        text(&out)
    );
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(report)
        .output()
        .expect("xmllint");
    assert!(out.status.success(), "xmllint: {}", text(&out));
}

/// A copy of one corpus case under `dir/name`, its `response.xml` changed by `edit` (and its
/// `case.toml` by `edit_case`: ignore paths are written in the expected document's prefixes).
fn variant(
    dir: &Path,
    name: &str,
    edit: impl Fn(&str) -> String,
    edit_case: impl Fn(&str) -> String,
) -> PathBuf {
    let from = corpus_dir().join("snils/verify-snils-match-00");
    let to = dir.join(name);
    std::fs::create_dir_all(&to).expect("case dir");
    std::fs::copy(from.join("request.xml"), to.join("request.xml")).expect("copy");
    let case = std::fs::read_to_string(from.join("case.toml")).expect("case.toml");
    std::fs::write(to.join("case.toml"), edit_case(&case)).expect("case.toml");
    let response = std::fs::read_to_string(from.join("response.xml")).expect("response");
    let changed = edit(&response);
    assert_ne!(changed, response, "{name}: the edit changed nothing");
    std::fs::write(to.join("response.xml"), changed).expect("write");
    to
}

#[test]
fn broken_cases_fail_naming_the_path_and_similar_answers_pass() {
    let scratch = Scratch::new("broken");
    let dir = &scratch.0;
    // What a registry may change without changing the answer: prefixes, attribute order, whitespace.
    let same = |c: &str| c.to_string();
    variant(
        dir,
        "similar",
        |r| {
            r.replace("snils:", "s:")
                .replace("xmlns:snils=", "xmlns:s=")
                .replace(
                    r#"xmlns:cmn="urn://reggate/common/types/1.0.0" xmlns:s="urn://reggate/registry/snils/1.0.0""#,
                    r#"xmlns:s="urn://reggate/registry/snils/1.0.0" xmlns:cmn="urn://reggate/common/types/1.0.0""#,
                )
                .replacen("<soap:Body>", "<soap:Body><!-- recorded -->", 1)
                .replace("><", ">\n  <")
        },
        |c| c.replace("snils:", "s:"),
    );
    variant(
        dir,
        "changed-value",
        |r| r.replace(">MATCH<", ">NO_MATCH<"),
        same,
    );
    variant(
        dir,
        "extra-element",
        |r| {
            r.replace(
                "</snils:Result>",
                "<snils:Note>extra</snils:Note></snils:Result>",
            )
        },
        same,
    );
    variant(
        dir,
        "reordered",
        |r| {
            let meta_start = r.find("<snils:Metadata>").expect("metadata");
            let meta_end =
                r.find("</snils:Metadata>").expect("metadata") + "</snils:Metadata>".len();
            let meta = &r[meta_start..meta_end];
            let rest_end = r.find("</snils:VerifySnilsResponse>").expect("end");
            format!(
                "{}{}{}{}",
                &r[..meta_start],
                &r[meta_end..rest_end],
                meta,
                &r[rest_end..]
            )
        },
        same,
    );
    variant(
        dir,
        "changed-namespace",
        |r| {
            r.replace(
                "urn://reggate/registry/snils/1.0.0",
                "urn://reggate/registry/snils/2.0.0",
            )
        },
        same,
    );
    let certs = dir.join("certs");
    let junit = dir.join("junit.xml");
    let out = replay(&[
        dir.to_str().expect("utf-8"),
        "--certs",
        certs.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("1 passed, 4 failed"), "{shown}");
    // The report holds the failures with their diff, and is still what Jenkins reads.
    let report = std::fs::read_to_string(&junit).expect("junit report");
    assert_eq!(report.matches("<failure ").count(), 4, "{report}");
    assert!(report.contains("text differs"), "{report}");
    check_junit_schema(&junit);
    assert!(
        !shown.contains("FAIL") || !shown.contains("/similar:"),
        "{shown}"
    );
    for (case, says) in [
        (
            "changed-value",
            "/soap:Envelope/soap:Body/snils:VerifySnilsResponse/snils:Result",
        ),
        ("extra-element", "snils:Note"),
        ("reordered", "snils:Result: element out of order"),
        ("changed-namespace", "namespace"),
    ] {
        let block = failure_block(&shown, case);
        assert!(
            block.contains(says),
            "{case}: expected {says} in\n{block}\n\nall:\n{shown}"
        );
    }
}

#[test]
fn a_fault_case_checks_the_registrys_code_in_the_detail() {
    let scratch = Scratch::new("fault-detail");
    let from = corpus_dir().join("snils/fault-server-fault");
    let case = std::fs::read_to_string(from.join("case.toml")).expect("case.toml");
    assert!(case.contains("detail = \"INTERNAL_ERROR\""), "{case}");
    for (name, toml) in [
        ("same-detail", case.clone()),
        (
            "other-detail",
            case.replace("INTERNAL_ERROR", "RATE_LIMITED"),
        ),
    ] {
        let to = scratch.0.join(name);
        std::fs::create_dir_all(&to).expect("case dir");
        std::fs::copy(from.join("request.xml"), to.join("request.xml")).expect("copy");
        std::fs::write(to.join("case.toml"), toml).expect("case.toml");
    }
    let certs = scratch.0.join("certs");
    let out = replay(&[
        scratch.0.to_str().expect("utf-8"),
        "--certs",
        certs.to_str().expect("utf-8"),
    ]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("1 passed, 1 failed"), "{shown}");
    let block = failure_block(&shown, "other-detail");
    assert!(
        block.contains("detail RATE_LIMITED") && block.contains("detail INTERNAL_ERROR"),
        "{block}\n\nall:\n{shown}"
    );
}

/// The lines of one case's failure in the replay's output.
fn failure_block(output: &str, case: &str) -> String {
    let mut lines = output
        .lines()
        .skip_while(|l| !(l.starts_with("FAIL") && l.contains(&format!("/{case}:"))));
    let mut block: Vec<&str> = lines.next().into_iter().collect();
    block.extend(lines.take_while(|l| l.starts_with("    ")));
    block.join("\n")
}

#[test]
fn setup_errors_exit_2() {
    let scratch = Scratch::new("setup");
    let out = replay(&[scratch.0.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no case found"), "{}", text(&out));

    let broken = scratch.0.join("broken");
    std::fs::create_dir_all(&broken).expect("dir");
    std::fs::write(
        broken.join("case.toml"),
        "version = 1\nregistry = \"snils\"\n",
    )
    .expect("toml");
    let out = replay(&[scratch.0.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("operation"), "{}", text(&out));

    let out = replay(&["--target", "ftp://example", "fixtures/cases"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = replay(&["--tags", "no-such-tag"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no-such-tag"), "{}", text(&out));
}

#[test]
fn against_schemas_lists_exactly_the_cases_a_schema_change_breaks() {
    let scratch = Scratch::new("upgrade");
    let candidate = scratch.0.join("schemas");
    std::fs::create_dir_all(&candidate).expect("dir");
    for entry in std::fs::read_dir(root().join("schemas")).expect("schemas") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("xsd");
        // Tightened: a benefit code the corpus uses in one answer is no longer allowed.
        let text = text.replace("<xs:enumeration value=\"disabled_child\"/>", "");
        std::fs::write(candidate.join(path.file_name().expect("name")), text).expect("write");
    }
    let mut expected: Vec<String> = load_all(&[corpus_dir()])
        .expect("corpus")
        .into_iter()
        .filter(|c| {
            let response = match &c.expect {
                Expectation::Response(body) => String::from_utf8_lossy(body).into_owned(),
                _ => String::new(),
            };
            response.contains(">disabled_child<")
                || String::from_utf8_lossy(&c.request).contains(">disabled_child<")
        })
        .map(|c| {
            c.dir
                .strip_prefix(root())
                .unwrap_or(&c.dir)
                .display()
                .to_string()
        })
        .collect();
    expected.sort();
    assert!(
        !expected.is_empty(),
        "the corpus no longer uses disabled_child"
    );
    let out = replay(&["--against-schemas", candidate.to_str().expect("utf-8")]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let mut listed: Vec<String> = shown
        .lines()
        .filter_map(|l| l.strip_prefix("breaks: "))
        .filter_map(|l| l.split(" (").next())
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(listed, expected, "{shown}");
    assert!(shown.contains("[cvc-enumeration-valid]"), "{shown}");
    // The same schemas as now: nothing changes, exit 0.
    let out = replay(&["--against-schemas", "schemas"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
