//! What each fuzz target runs, on one input: the same production code path, then the invariants that
//! are cheap to check. A broken invariant panics (libFuzzer records the input as a crash); a refused
//! input is an ordinary [`Outcome::Refused`] with the reason the code gave.
//!
//! This file is compiled twice: as a module of the fuzz crate (`fuzz/src/lib.rs`, what the targets
//! in `fuzz/fuzz_targets/` call) and, through `#[path]`, by the root package's
//! `tests/fuzz_regressions.rs`, which replays every file under `fuzz/regressions/<target>/` without
//! the fuzzer. So it may use only `reggate`, its dependencies (`axum`) and std.

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use reggate::clock::ManualClock;
use reggate::contract::Operation;
use reggate::domain::answers::Question;
use reggate::domain::application::day;
use reggate::domain::status::Status;
use reggate::domain::valid::ValidApplication;
use reggate::registries::messages::{Metadata, Request};
use reggate::soap::client::judge;
use reggate::soap::error::CallError;
use reggate::soap::transport::Reply;
use reggate::store::ApplicationRecord;
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, Report, validate_bytes, validate_reader};

/// What the code made of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: valid, parsed, read.
    Accepted,
    /// Refused, with the (first) reason given.
    Refused(String),
}

/// The repository root: the schemas and fixtures are read from there.
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if here.join("schemas").is_dir() {
        here
    } else {
        here.parent().map(PathBuf::from).unwrap_or(here)
    }
}

/// The registry schemas (`schemas/`), compiled once as production compiles them.
pub fn registry_schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Schema::load(&[repo_root().join("schemas")]).expect("the registry schemas compile")
        })
        .clone()
}

/// Separates the schema text from the instance in a `validator` input. NUL is never part of an XML
/// document, so neither half loses anything it could have held.
pub const SEPARATOR: u8 = 0;

/// `validator`: with a [`SEPARATOR`], the bytes before it are a schema (compiled with
/// [`Schema::from_str`], includes and imports resolved in `schemas/`) and the bytes after it an
/// instance validated against it; without one, the whole input is an instance validated against the
/// registry schemas, as the gateway validates every message.
pub fn validator(data: &[u8]) -> Outcome {
    match data.iter().position(|&b| b == SEPARATOR) {
        Some(at) => {
            let text = String::from_utf8_lossy(&data[..at]);
            match Schema::from_str(&text, &repo_root().join("schemas")) {
                Ok(schema) => instance(&schema, &data[at + 1..]),
                Err(errors) => {
                    assert!(!errors.0.is_empty(), "a schema refused with no error");
                    for e in &errors.0 {
                        assert!(
                            !e.rule.is_empty() && !e.message.is_empty(),
                            "schema error without rule or message: {e:?}"
                        );
                    }
                    Outcome::Refused(errors.to_string())
                }
            }
        }
        None => instance(&registry_schema(), data),
    }
}

/// Validate `bytes` in memory and streamed through a small buffer (so tokens straddle refills); both
/// must say the same, within the error bound.
fn instance(schema: &Schema, bytes: &[u8]) -> Outcome {
    let options = Options::default();
    let held = validate_bytes(schema, bytes, &options);
    let streamed = validate_reader(schema, BufReader::with_capacity(16, bytes), &options);
    assert_eq!(
        held.violations, streamed.violations,
        "in-memory and streamed validation disagree"
    );
    assert_eq!(held.truncated, streamed.truncated);
    report_outcome(&held, &options)
}

fn report_outcome(report: &Report, options: &Options) -> Outcome {
    assert!(
        report.violations.len() <= options.max_errors,
        "{} violations reported, the bound is {}",
        report.violations.len(),
        options.max_errors
    );
    for v in &report.violations {
        assert!(
            !v.rule.is_empty() && !v.message.is_empty(),
            "violation without rule or message: {v:?}"
        );
    }
    match report.violations.first() {
        None => Outcome::Accepted,
        Some(v) => Outcome::Refused(v.to_string()),
    }
}

/// The day the `application_json` target judges dates on (2026-07-01).
pub fn today() -> i32 {
    day(2026, 7, 1)
}

/// `application_json`: the body of `POST /v1/applications` through the API's own parse
/// ([`reggate::api::parse_input`]) and input rules ([`reggate::api::validate`]). A refusal must be a
/// problem with field errors that never repeats an 11-digit run of the input (a SNILS). An accepted
/// application must survive the store's round trip and make registry requests that the registry
/// schemas accept: nothing the input rules let in may be refused at the registries.
pub fn application_json(data: &[u8]) -> Outcome {
    let headers = axum::http::HeaderMap::new();
    let input = match reggate::api::parse_input(&headers, data) {
        Ok(input) => input,
        Err(problem) => return refused(&problem, data, 400),
    };
    let clock = ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(today()).unwrap_or(0) * 86_400),
    );
    let valid = match reggate::api::validate(input, &clock) {
        Ok(valid) => valid,
        Err(problem) => return refused(&problem, data, 422),
    };
    accepted_application(&valid);
    Outcome::Accepted
}

/// The checks on a problem the API answers for an input.
fn refused(problem: &reggate::api::problem::Problem, data: &[u8], status: u16) -> Outcome {
    assert_eq!(problem.status, status, "{problem:?}");
    assert!(
        !problem.errors.is_empty(),
        "a refusal must name its fields: {problem:?}"
    );
    let mut texts = vec![problem.detail.as_str(), problem.title.as_str()];
    for e in &problem.errors {
        assert!(
            !e.code.is_empty() && !e.message.is_empty(),
            "field error without code or message: {e:?}"
        );
        assert!(
            e.pointer.is_empty() || e.pointer.starts_with('/'),
            "not a JSON pointer: {e:?}"
        );
        texts.extend([e.pointer.as_str(), e.message.as_str(), e.code.as_str()]);
    }
    for text in texts {
        if let Some(run) = echoed_digits(data, text) {
            panic!("the problem repeats the input's digits {run}: {text}");
        }
    }
    Outcome::Refused(problem.detail.clone())
}

/// An 11-digit run of `input` (a SNILS is 11 digits; an INN holds such runs too) that `text` repeats.
pub fn echoed_digits(input: &[u8], text: &str) -> Option<String> {
    fn windows(bytes: &[u8]) -> Vec<&[u8]> {
        bytes
            .split(|b| !b.is_ascii_digit())
            .filter(|run| run.len() >= 11)
            .flat_map(|run| run.windows(11))
            .collect()
    }
    let said = windows(text.as_bytes());
    if said.is_empty() {
        return None;
    }
    let given = windows(input);
    said.into_iter()
        .find(|w| given.contains(w))
        .map(|w| String::from_utf8_lossy(w).into_owned())
}

/// What an accepted application must allow.
fn accepted_application(valid: &ValidApplication) {
    // The store keeps `to_json`; every reader decodes it back.
    let stored = valid.to_json();
    let decoded = ValidApplication::decode(&stored).expect("a stored application decodes");
    assert_eq!(
        decoded.to_json(),
        stored,
        "the store's round trip changed it"
    );
    let names = valid.manifest_names();
    assert_eq!(names.len(), valid.documents.len());
    for (i, n) in names.iter().enumerate() {
        assert!(!names[..i].contains(n), "manifest name {n} twice");
    }
    // Every request a decision sends, through the envelope and the schemas the pipeline uses.
    let meta = Metadata {
        message_id: "6f9619ff-8b86-4d01-b42d-00c04fc964ff".into(),
        timestamp: "2026-07-01T12:00:00+03:00".into(),
    };
    let record = ApplicationRecord {
        id: "6f9619ff-8b86-4d01-b42d-00c04fc964ff".into(),
        number: "RG-20260701-ABCDEFGH".into(),
        status: Status::Approved,
        benefit: valid.benefit().code().into(),
        applicant_snils: valid.applicant().snils.as_str().into(),
        child_snils: valid.child().snils.as_str().into(),
        input: stored,
        submitted_ms: 0,
        status_since_ms: 0,
        documents_missing: Vec::new(),
        journal: Vec::new(),
        answers: None,
        parked: None,
    };
    let mut requests: Vec<Request> = Question::ALL
        .into_iter()
        .map(|q| reggate::service::checks::request(valid, q))
        .collect();
    requests.push(Request::RegisterAssignment(
        reggate::service::assignment_for(&record, valid, today()),
    ));
    let schema = registry_schema();
    for request in requests {
        let envelope = reggate::soap::client::envelope("fuzz", &request.to_xml(&meta));
        let report = validate_bytes(&schema, envelope.as_bytes(), &Options::default());
        assert!(
            report.is_valid(),
            "an accepted application makes a {} request the schemas refuse: {:?}",
            request.operation(),
            report.violations
        );
    }
}

/// HTTP statuses a `soap_reply` input may come with.
const STATUSES: [u16; 8] = [200, 200, 500, 400, 429, 503, 404, 202];

/// `Content-Type`s a `soap_reply` input may come with.
const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("text/xml; charset=utf-8"),
    Some("text/xml"),
    Some("application/soap+xml"),
    None,
];

/// `soap_reply`: a registry's answer. The first byte picks the operation called (bits 0-2, modulo
/// seven), the HTTP status (bits 3-5) and the `Content-Type` (bits 6-7); the rest is the body. The
/// body goes through the payload readers as they are ([`reggate::contract::read_payload`],
/// [`reggate::contract::read_tree`]), then through what a call does with an answer: judged
/// ([`judge`]: schema, fault, operation) and read into a typed reply
/// ([`reggate::registries::client::read_answer`]). An answer the pipeline accepts must be readable.
pub fn soap_reply(data: &[u8]) -> Outcome {
    let Some((&head, body)) = data.split_first() else {
        return Outcome::Refused("empty input".into());
    };
    let operation = Operation::ALL[usize::from(head & 7) % Operation::ALL.len()];
    let status = STATUSES[usize::from((head >> 3) & 7)];
    let content_type = CONTENT_TYPES[usize::from(head >> 6)];
    // The readers alone, on whatever came: the mock registries read requests with them too.
    let _ = reggate::contract::read_payload(body);
    let _ = reggate::contract::read_tree(body);
    let reply = Reply {
        status,
        content_type: content_type.map(str::to_string),
        retry_after: None,
        body: axum::body::Bytes::copy_from_slice(body),
    };
    let answer = match judge(&registry_schema(), &Options::default(), operation, &reply) {
        Ok(answer) => answer,
        Err(e) => {
            let said = e.to_string();
            assert!(!said.is_empty(), "an error that says nothing: {e:?}");
            return Outcome::Refused(said);
        }
    };
    assert_eq!(status, 200, "an answer accepted with HTTP {status}");
    assert_eq!(answer.payload.element, operation.response_element());
    match reggate::registries::client::read_answer(operation, &answer.envelope) {
        Ok(_) => Outcome::Accepted,
        // The registry's own error element, which every response type may carry.
        Err(e @ CallError::Registry { .. }) => Outcome::Refused(e.to_string()),
        Err(e) => panic!("a schema-valid {operation} answer cannot be read: {e}"),
    }
}
