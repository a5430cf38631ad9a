//! The fixture case format of `reggate replay`: one folder per recorded exchange, and the loading of a
//! corpus of them.
//!
//! A case folder holds `request.xml` (what is sent), `case.toml`, and what is expected back — exactly
//! one of:
//! - `response.xml`: the expected answer, compared with [`super::compare`];
//! - `fault = { code = "...", text = "regex", detail = "..." }` in `case.toml`: a SOAP fault whose
//!   `faultcode` is `code` (as written, e.g. `soap:Server`), whose `faultstring` the regex finds a
//!   match in and, when `detail` is given, whose `detail/cmn:RegistryFault` carries that code;
//! - `refused = { path = "...", rule = "..." }` in `case.toml`: reggate's own validation refuses the
//!   request before sending it, with a violation at `path` (as the validator prints it) for `rule`
//!   (e.g. `cvc-pattern-valid`);
//! - `error = { kind = "...", status = 503 }` in `case.toml`: the call fails without a SOAP answer to
//!   compare, as the gateway's client names the failure (`kind`: `invalid_response`, `http_status`,
//!   `transport`, `timeout`, `registry_error`, `token`); `status`, optional, is the HTTP status it
//!   came with. What a mock fault kind is expected to do to a call.
//!
//! `timeout_ms`, optional, bounds the call (the default is the runner's): a case expecting a
//! `timeout` says how long to wait for the answer that never comes.
//!
//! `playback = { file = "recorded.xml", status = 200 }`, optional: the mock answers the call with
//! that file as it is (`status` defaults to 200) instead of its own answer — a registry answer
//! recorded elsewhere put through the gateway's client, transport and checks. Like a fault plan it
//! needs `--target mock`.
//!
//! ```toml
//! version = 1                          # required; the format's version
//! registry = "inn"                     # snils | inn | children | labour
//! operation = "FindInn"                # an operation of that registry, as its WSDL names it
//! ignore = [                           # paths not compared (generated ids, timestamps)
//!   "/soap:Envelope/soap:Body/inn:FindInnResponse/inn:Metadata/cmn:MessageId",
//!   "/soap:Envelope/soap:Body/inn:FindInnResponse/inn:Metadata/cmn:Timestamp",
//! ]
//! tags = ["inn", "found"]
//!
//! [faults]                             # optional: the mock's fault plan while the case runs,
//! seed = 7                             # as `reggate mock --faults` reads it
//! [[faults.inn]]
//! kind = "server_fault"
//! times = 1
//! ```
//!
//! Every key is checked: a missing or unknown key, a wrong type, an operation of another registry, a
//! path that is not a path or a regex that does not compile is refused with the file and the key. The
//! version is read first, so a case of a later format is refused as such, not for its new keys.

use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::compare::IgnorePath;
use crate::contract::{Operation, Registry};
use crate::mock::faults::{Faults, Plan};

/// The version of the case format this module reads.
pub const FORMAT_VERSION: i64 = 1;
/// The file that makes a folder a case.
pub const CASE_FILE: &str = "case.toml";
/// The request to send.
pub const REQUEST_FILE: &str = "request.xml";
/// The expected response, when one is expected.
pub const RESPONSE_FILE: &str = "response.xml";

/// One fixture case, loaded and checked.
#[derive(Clone, Debug)]
pub struct Case {
    /// Its folder, as found (the path given, or below it).
    pub dir: PathBuf,
    /// The registry it calls.
    pub registry: Registry,
    /// The operation it calls (one of the registry's).
    pub operation: Operation,
    /// The bytes of `request.xml`.
    pub request: Vec<u8>,
    /// What should come back.
    pub expect: Expectation,
    /// Paths not compared.
    pub ignore: Vec<IgnorePath>,
    /// Labels to select cases by.
    pub tags: Vec<String>,
    /// The mock's fault plan while the case runs, as `reggate mock --faults` reads it.
    pub faults: Option<Plan>,
    /// The call's bound, when the case sets one.
    pub timeout: Option<std::time::Duration>,
    /// The answer the mock gives back instead of its own, when the case has one.
    pub playback: Option<Playback>,
}

/// A recorded answer for the mock to give back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Playback {
    /// HTTP status.
    pub status: u16,
    /// The body, as the file holds it.
    pub body: Vec<u8>,
}

/// What a case expects back.
#[derive(Clone, Debug)]
pub enum Expectation {
    /// An answer like the bytes of `response.xml`.
    Response(Vec<u8>),
    /// A SOAP fault.
    Fault {
        /// The `faultcode` as written (`soap:Server`).
        code: String,
        /// Must find a match in the `faultstring`.
        text: Regex,
        /// The registry's own code in `detail/cmn:RegistryFault` (`TOKEN_EXPIRED`), when the case
        /// names one.
        detail: Option<String>,
    },
    /// Refused by reggate's own validation before sending.
    Refused {
        /// The violation's path, as the validator prints it.
        path: String,
        /// The violation's rule (`cvc-pattern-valid`, ...).
        rule: String,
    },
    /// A failed call without a SOAP answer to compare.
    Error {
        /// The failure's kind, as [`CallError::kind`](crate::soap::error::CallError::kind) names it.
        kind: String,
        /// The HTTP status it came with, when the case says.
        status: Option<u16>,
    },
}

/// The failure kinds an `error` expectation may name: those of a call that was sent (a refusal
/// before sending is `refused`; an open circuit cannot happen to a replay, whose breaker is off).
pub const ERROR_KINDS: [&str; 6] = [
    "invalid_response",
    "http_status",
    "transport",
    "timeout",
    "registry_error",
    "token",
];

/// Why a case could not be loaded: the file, the key when one is at fault, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseError {
    /// The file at fault (a missing file is named too).
    pub file: PathBuf,
    /// The key in `case.toml`, dotted (`fault.text`, `ignore[1]`), when one is at fault.
    pub key: Option<String>,
    /// What is wrong.
    pub kind: CaseErrorKind,
}

/// What is wrong with a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseErrorKind {
    /// The file could not be read (missing, unreadable).
    Read(String),
    /// `case.toml` is not TOML.
    Syntax(String),
    /// A required key is absent.
    MissingKey,
    /// A key the format does not have.
    UnknownKey,
    /// A value of the wrong type or out of its range.
    Invalid(String),
    /// A `version` this module does not read.
    UnsupportedVersion(i64),
    /// No expectation, or more than one (`response.xml`, `fault`, `refused`).
    Expectation(String),
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        match &self.kind {
            CaseErrorKind::Read(m) => write!(f, "cannot read: {m}"),
            CaseErrorKind::Syntax(m) => write!(f, "not TOML: {m}"),
            CaseErrorKind::MissingKey => write!(f, "required key missing"),
            CaseErrorKind::UnknownKey => write!(f, "unknown key"),
            CaseErrorKind::Invalid(m) => f.write_str(m),
            CaseErrorKind::UnsupportedVersion(v) => write!(
                f,
                "format version {v} is not supported (this reggate reads version {FORMAT_VERSION})"
            ),
            CaseErrorKind::Expectation(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CaseError {}

/// `case.toml` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    #[allow(dead_code)] // read (and checked) before the rest
    version: i64,
    registry: String,
    operation: String,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    fault: Option<RawFault>,
    #[serde(default)]
    refused: Option<RawRefused>,
    #[serde(default)]
    error: Option<RawError>,
    #[serde(default)]
    faults: Option<Plan>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    playback: Option<RawPlayback>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlayback {
    file: String,
    #[serde(default = "ok_status")]
    status: u16,
}

fn ok_status() -> u16 {
    200
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawError {
    kind: String,
    #[serde(default)]
    status: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    code: String,
    text: String,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRefused {
    path: String,
    rule: String,
}

impl Case {
    /// Load the case in `dir` (the folder holding `case.toml`).
    pub fn load(dir: &Path) -> Result<Case, CaseError> {
        let file = dir.join(CASE_FILE);
        let error = |key: Option<String>, kind| CaseError {
            file: file.clone(),
            key,
            kind,
        };
        let key = |k: &str| Some(k.to_string());
        let text = std::fs::read_to_string(&file)
            .map_err(|e| error(None, CaseErrorKind::Read(e.to_string())))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| error(None, CaseErrorKind::Syntax(e.message().into())))?;
        match table.get("version") {
            None => return Err(error(key("version"), CaseErrorKind::MissingKey)),
            Some(toml::Value::Integer(FORMAT_VERSION)) => {}
            Some(toml::Value::Integer(v)) => {
                return Err(error(key("version"), CaseErrorKind::UnsupportedVersion(*v)));
            }
            Some(_) => {
                return Err(error(
                    key("version"),
                    CaseErrorKind::Invalid("must be an integer".into()),
                ));
            }
        }
        let raw: RawCase = serde_path_to_error::deserialize(table).map_err(|e| {
            let (k, kind) = classify(&e.path().to_string(), e.inner().message());
            error(k, kind)
        })?;

        let registry = Registry::from_name(&raw.registry).ok_or_else(|| {
            error(
                key("registry"),
                CaseErrorKind::Invalid(format!(
                    "'{}' is not a registry (snils, inn, children, labour)",
                    raw.registry
                )),
            )
        })?;
        let operation = match Operation::ALL
            .into_iter()
            .find(|op| op.name() == raw.operation)
        {
            Some(op) if op.registry() == registry => op,
            Some(op) => {
                return Err(error(
                    key("operation"),
                    CaseErrorKind::Invalid(format!(
                        "{op} is an operation of the {} registry, not of {registry} ({})",
                        op.registry(),
                        operations_of(registry)
                    )),
                ));
            }
            None => {
                return Err(error(
                    key("operation"),
                    CaseErrorKind::Invalid(format!(
                        "'{}' is not an operation ({registry} offers {})",
                        raw.operation,
                        operations_of(registry)
                    )),
                ));
            }
        };
        let ignore = raw
            .ignore
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.parse::<IgnorePath>().map_err(|e| {
                    error(
                        Some(format!("ignore[{i}]")),
                        CaseErrorKind::Invalid(e.to_string()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(plan) = &raw.faults {
            Faults::check(plan).map_err(|e| {
                let (k, m) = e.split_once(": ").unwrap_or(("", e.as_str()));
                error(
                    Some(format!("faults.{k}").trim_end_matches('.').to_string()),
                    CaseErrorKind::Invalid(m.to_string()),
                )
            })?;
        }

        let response = dir.join(RESPONSE_FILE);
        let has_response = response.exists();
        let given: Vec<&str> = [
            (has_response, RESPONSE_FILE),
            (raw.fault.is_some(), "fault"),
            (raw.refused.is_some(), "refused"),
            (raw.error.is_some(), "error"),
        ]
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
        .collect();
        if given.len() != 1 {
            let why = if given.is_empty() {
                format!("no expectation: give {RESPONSE_FILE}, `fault`, `refused` or `error`")
            } else {
                format!("more than one expectation: {}", given.join(", "))
            };
            return Err(error(None, CaseErrorKind::Expectation(why)));
        }
        let expect = if let Some(fault) = raw.fault {
            let text = Regex::new(&fault.text).map_err(|e| {
                error(
                    key("fault.text"),
                    CaseErrorKind::Invalid(format!("not a regex: {e}")),
                )
            })?;
            if fault.code.trim().is_empty() {
                return Err(error(
                    key("fault.code"),
                    CaseErrorKind::Invalid("empty".into()),
                ));
            }
            Expectation::Fault {
                code: fault.code,
                text,
                detail: fault.detail,
            }
        } else if let Some(refused) = raw.refused {
            if let Err(e) = refused.path.parse::<IgnorePath>() {
                return Err(error(
                    key("refused.path"),
                    CaseErrorKind::Invalid(e.to_string()),
                ));
            }
            if refused.rule.trim().is_empty() {
                return Err(error(
                    key("refused.rule"),
                    CaseErrorKind::Invalid("empty".into()),
                ));
            }
            Expectation::Refused {
                path: refused.path,
                rule: refused.rule,
            }
        } else if let Some(e) = raw.error {
            if !ERROR_KINDS.contains(&e.kind.as_str()) {
                return Err(error(
                    key("error.kind"),
                    CaseErrorKind::Invalid(format!(
                        "'{}' is not a failure kind ({})",
                        e.kind,
                        ERROR_KINDS.join(", ")
                    )),
                ));
            }
            Expectation::Error {
                kind: e.kind,
                status: e.status,
            }
        } else {
            Expectation::Response(read(&response)?)
        };
        let request = read(&dir.join(REQUEST_FILE))?;
        let playback = match raw.playback {
            None => None,
            Some(p) => {
                let plain = Path::new(&p.file)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                if !plain {
                    return Err(error(
                        key("playback.file"),
                        CaseErrorKind::Invalid("must name a file inside the case's folder".into()),
                    ));
                }
                if !(100..=599).contains(&p.status) {
                    return Err(error(
                        key("playback.status"),
                        CaseErrorKind::Invalid(format!("{} is not an HTTP status", p.status)),
                    ));
                }
                Some(Playback {
                    status: p.status,
                    body: read(&dir.join(&p.file))?,
                })
            }
        };
        Ok(Case {
            dir: dir.to_path_buf(),
            registry,
            operation,
            request,
            expect,
            ignore,
            tags: raw.tags,
            faults: raw.faults,
            timeout: match raw.timeout_ms {
                Some(0) => {
                    return Err(error(
                        key("timeout_ms"),
                        CaseErrorKind::Invalid("must be above 0".into()),
                    ));
                }
                ms => ms.map(std::time::Duration::from_millis),
            },
            playback,
        })
    }

    /// The case's name: its folder's last component.
    pub fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// Whether the case changes how the mock answers (a fault plan, a playback answer), so that it
    /// must run alone.
    pub fn exclusive(&self) -> bool {
        self.faults.is_some() || self.playback.is_some()
    }

    /// Whether the case is selected by `wanted`: it carries one of them, or none is wanted.
    pub fn has_any_tag<S: AsRef<str>>(&self, wanted: &[S]) -> bool {
        wanted.is_empty()
            || wanted
                .iter()
                .any(|w| self.tags.iter().any(|t| t == w.as_ref()))
    }
}

fn read(file: &Path) -> Result<Vec<u8>, CaseError> {
    std::fs::read(file).map_err(|e| CaseError {
        file: file.to_path_buf(),
        key: None,
        kind: CaseErrorKind::Read(e.to_string()),
    })
}

fn operations_of(registry: Registry) -> String {
    Operation::ALL
        .into_iter()
        .filter(|op| op.registry() == registry)
        .map(Operation::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A serde error as the key it is about and what is wrong: serde names missing and unknown fields
/// in the message (`missing field `x``), at the path of the table that holds them.
fn classify(path: &str, message: &str) -> (Option<String>, CaseErrorKind) {
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(join)
    };
    if let Some(k) = named("missing field `") {
        return (Some(k), CaseErrorKind::MissingKey);
    }
    if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        // The path already ends at the unknown key.
        let key = if path == name || path.ends_with(&format!(".{name}")) {
            path.to_string()
        } else {
            join(name)
        };
        return (Some(key), CaseErrorKind::UnknownKey);
    }
    let key = (path != "." && !path.is_empty()).then(|| path.to_string());
    (key, CaseErrorKind::Invalid(message.trim().to_string()))
}

/// Whether a violation at `found_path` for `found_rule` is the one a `refused` expectation names:
/// the same rule at `path` — exactly there, not below it — where `path` is written as `case.toml`
/// accepts it (the validator's format, `*` for any one element step and `@*` for any attribute).
/// Replay's verdict and the schema-upgrade check both judge refusals by it.
pub fn refusal_matches(path: &str, rule: &str, found_path: &str, found_rule: &str) -> bool {
    let depth = |p: &str| p.matches('/').count();
    found_rule == rule
        && match path.parse::<IgnorePath>() {
            Ok(pattern) => pattern.covers(found_path) && depth(found_path) == depth(path),
            Err(_) => found_path == path,
        }
}

/// Every case under `paths`, sorted by folder: a folder holding `case.toml` is a case (a path to a
/// `case.toml` names its folder); any other folder is searched, its subfolders in turn (symbolic
/// links are not followed). `Err` holds every case that could not be loaded, and a path that does not
/// exist: a corpus with a broken case is a setup error, not a failed run.
pub fn load_all<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Case>, Vec<CaseError>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    let mut pending: Vec<PathBuf> = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.file_name().is_some_and(|n| n == CASE_FILE) && p.is_file() {
            dirs.push(p.parent().unwrap_or(Path::new(".")).to_path_buf());
        } else if p.is_dir() {
            pending.push(p.to_path_buf());
        } else {
            errors.push(CaseError {
                file: p.to_path_buf(),
                key: None,
                kind: CaseErrorKind::Read(
                    "not a case folder, a folder of cases or a case.toml".into(),
                ),
            });
        }
    }
    while let Some(dir) = pending.pop() {
        if dir.join(CASE_FILE).is_file() {
            dirs.push(dir);
            continue;
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                errors.push(CaseError {
                    file: dir,
                    key: None,
                    kind: CaseErrorKind::Read(e.to_string()),
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    let mut cases = Vec::new();
    for dir in dirs {
        match Case::load(&dir) {
            Ok(case) => cases.push(case),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// The cases that carry one of `tags` (all of them when `tags` is empty), in their order.
pub fn with_tags<S: AsRef<str>>(cases: Vec<Case>, tags: &[S]) -> Vec<Case> {
    cases.into_iter().filter(|c| c.has_any_tag(tags)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary directory, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("reggate-replay-case-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch dir");
            Scratch(dir)
        }

        /// A case folder `rel` with `case.toml` and the given files (`request.xml` always).
        fn case(&self, rel: &str, toml: &str, files: &[(&str, &str)]) -> PathBuf {
            let dir = self.0.join(rel);
            std::fs::create_dir_all(&dir).expect("case dir");
            std::fs::write(dir.join(CASE_FILE), toml).expect("case.toml");
            std::fs::write(dir.join(REQUEST_FILE), REQUEST).expect("request");
            for (name, text) in files {
                std::fs::write(dir.join(name), text).expect("file");
            }
            dir
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const REQUEST: &str = include_str!("../../fixtures/messages/inn-find-request.xml");
    const RESPONSE: &str = include_str!("../../fixtures/messages/inn-find-response.xml");
    const HEAD: &str = "version = 1\nregistry = \"inn\"\noperation = \"FindInn\"\n";

    fn error(dir: &Path) -> CaseError {
        Case::load(dir).expect_err("refused")
    }

    #[test]
    fn a_good_case_loads_with_every_key() {
        let s = Scratch::new("good");
        let toml = format!(
            "{HEAD}ignore = [\"/soap:Envelope/soap:Body/inn:FindInnResponse/inn:Metadata/cmn:MessageId\", \
             \"/soap:Envelope/soap:Body/*/inn:Metadata/@*\"]\ntags = [\"inn\", \"found\"]\n\
             [faults]\nseed = 7\n[[faults.inn]]\nkind = \"server_fault\"\ntimes = 1\n"
        );
        let dir = s.case("found", &toml, &[(RESPONSE_FILE, RESPONSE)]);
        let case = Case::load(&dir).expect("loads");
        assert_eq!(case.registry, Registry::Inn);
        assert_eq!(case.operation, Operation::FindInn);
        assert_eq!(case.request, REQUEST.as_bytes());
        assert!(matches!(&case.expect, Expectation::Response(r) if r == RESPONSE.as_bytes()));
        assert_eq!(case.ignore.len(), 2);
        assert_eq!(case.tags, ["inn", "found"]);
        let plan = case.faults.as_ref().expect("plan");
        assert_eq!((plan.seed, plan.inn.len()), (7, 1));
        assert_eq!(case.name(), "found");
        assert!(case.has_any_tag(&["found"]) && case.has_any_tag::<&str>(&[]));
        assert!(!case.has_any_tag(&["snils"]));
    }

    #[test]
    fn a_fault_and_a_refusal_are_expectations() {
        let s = Scratch::new("expectations");
        let dir = s.case(
            "fault",
            &format!(
                "{HEAD}fault = {{ code = \"soap:Server\", text = \"(?i)internal\", detail = \"INTERNAL\" }}\n"
            ),
            &[],
        );
        match Case::load(&dir).expect("loads").expect {
            Expectation::Fault { code, text, detail } => {
                assert_eq!(code, "soap:Server");
                assert!(text.is_match("Internal error"));
                assert_eq!(detail.as_deref(), Some("INTERNAL"));
            }
            other => panic!("{other:?}"),
        }
        let dir = s.case(
            "refused",
            &format!(
                "{HEAD}[refused]\npath = \"/soap:Envelope/soap:Body/inn:FindInnRequest/inn:Person\"\n\
                 rule = \"cvc-complex-type.2.4\"\n"
            ),
            &[],
        );
        match Case::load(&dir).expect("loads").expect {
            Expectation::Refused { path, rule } => {
                assert_eq!(
                    path,
                    "/soap:Envelope/soap:Body/inn:FindInnRequest/inn:Person"
                );
                assert_eq!(rule, "cvc-complex-type.2.4");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exactly_one_expectation_is_required() {
        let s = Scratch::new("one");
        let none = s.case("none", HEAD, &[]);
        let e = error(&none);
        assert!(matches!(e.kind, CaseErrorKind::Expectation(_)), "{e}");
        assert_eq!(e.file, none.join(CASE_FILE));
        let two = s.case(
            "two",
            &format!("{HEAD}fault = {{ code = \"soap:Server\", text = \"x\" }}\n"),
            &[(RESPONSE_FILE, RESPONSE)],
        );
        let e = error(&two);
        assert!(e.to_string().contains("response.xml, fault"), "{e}");
    }

    #[test]
    fn a_missing_key_is_named() {
        let s = Scratch::new("missing");
        let dir = s.case(
            "no-operation",
            "version = 1\nregistry = \"inn\"\n",
            &[(RESPONSE_FILE, RESPONSE)],
        );
        let e = error(&dir);
        assert_eq!(
            (e.key.as_deref(), &e.kind),
            (Some("operation"), &CaseErrorKind::MissingKey),
            "{e}"
        );
        assert_eq!(e.file, dir.join(CASE_FILE));
        let dir = s.case(
            "no-fault-text",
            &format!("{HEAD}fault = {{ code = \"soap:Server\" }}\n"),
            &[],
        );
        let e = error(&dir);
        assert_eq!(e.key.as_deref(), Some("fault.text"), "{e}");
        assert_eq!(e.kind, CaseErrorKind::MissingKey);
        let dir = s.case("no-version", "registry = \"inn\"\n", &[]);
        assert_eq!(error(&dir).key.as_deref(), Some("version"));
        // A missing request.xml names that file.
        let dir = s.case("no-request", HEAD, &[(RESPONSE_FILE, RESPONSE)]);
        std::fs::remove_file(dir.join(REQUEST_FILE)).unwrap();
        let e = error(&dir);
        assert_eq!(e.file, dir.join(REQUEST_FILE));
        assert!(matches!(e.kind, CaseErrorKind::Read(_)));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let s = Scratch::new("unknown");
        let dir = s.case(
            "top",
            &format!("{HEAD}colour = \"red\"\n"),
            &[(RESPONSE_FILE, RESPONSE)],
        );
        let e = error(&dir);
        assert_eq!(
            (e.key.as_deref(), &e.kind),
            (Some("colour"), &CaseErrorKind::UnknownKey),
            "{e}"
        );
        let dir = s.case(
            "nested",
            &format!("{HEAD}refused = {{ path = \"/a\", rule = \"r\", line = 3 }}\n"),
            &[],
        );
        let e = error(&dir);
        assert_eq!(e.key.as_deref(), Some("refused.line"), "{e}");
        assert_eq!(e.kind, CaseErrorKind::UnknownKey);
    }

    #[test]
    fn an_unknown_version_is_refused_naming_the_file() {
        let s = Scratch::new("version");
        let dir = s.case(
            "v2",
            "version = 2\nregistry = \"inn\"\noperation = \"FindInn\"\nnew_key = true\n",
            &[(RESPONSE_FILE, RESPONSE)],
        );
        let e = error(&dir);
        assert_eq!(e.kind, CaseErrorKind::UnsupportedVersion(2));
        assert_eq!(e.file, dir.join(CASE_FILE));
        let shown = e.to_string();
        assert!(
            shown.contains(&dir.join(CASE_FILE).display().to_string())
                && shown.contains("version 2"),
            "{shown}"
        );
        let dir = s.case("text", "version = \"1\"\n", &[]);
        assert!(matches!(error(&dir).kind, CaseErrorKind::Invalid(_)));
    }

    #[test]
    fn an_operation_of_another_registry_is_refused() {
        let s = Scratch::new("mismatch");
        let dir = s.case(
            "snils-op",
            "version = 1\nregistry = \"inn\"\noperation = \"VerifySnils\"\n",
            &[(RESPONSE_FILE, RESPONSE)],
        );
        let e = error(&dir);
        assert_eq!(e.key.as_deref(), Some("operation"));
        assert!(
            e.to_string()
                .contains("VerifySnils is an operation of the snils registry, not of inn"),
            "{e}"
        );
        let dir = s.case(
            "bad-registry",
            "version = 1\nregistry = \"tax\"\noperation = \"FindInn\"\n",
            &[(RESPONSE_FILE, RESPONSE)],
        );
        assert_eq!(error(&dir).key.as_deref(), Some("registry"));
    }

    #[test]
    fn bad_values_are_named_by_key() {
        let s = Scratch::new("values");
        let cases = [
            (format!("{HEAD}ignore = [\"/a\", \"b\"]\n"), "ignore[1]"),
            (format!("{HEAD}tags = \"inn\"\n"), "tags"),
            (
                format!("{HEAD}fault = {{ code = \"soap:Server\", text = \"(\" }}\n"),
                "fault.text",
            ),
            (
                format!("{HEAD}[faults]\n[[faults.inn]]\nkind = \"server_fault\"\nshare = 2.0\n"),
                "faults.inn[0].share",
            ),
            (
                format!("{HEAD}[faults]\n[[faults.inn]]\nkind = \"melt\"\n"),
                "faults.inn[0].kind",
            ),
        ];
        for (i, (toml, key)) in cases.iter().enumerate() {
            let files: &[(&str, &str)] = if toml.contains("fault =") {
                &[]
            } else {
                &[(RESPONSE_FILE, RESPONSE)]
            };
            let dir = s.case(&format!("c{i}"), toml, files);
            let e = error(&dir);
            assert_eq!(e.key.as_deref(), Some(*key), "{e}");
        }
        let dir = s.case("syntax", "version = 1\nregistry = \n", &[]);
        assert!(matches!(error(&dir).kind, CaseErrorKind::Syntax(_)));
    }

    #[test]
    fn load_all_walks_folders_sorted_and_filters_by_tag() {
        let s = Scratch::new("walk");
        let response = [(RESPONSE_FILE, RESPONSE)];
        s.case(
            "inn/b-found",
            &format!("{HEAD}tags = [\"found\"]\n"),
            &response,
        );
        s.case(
            "inn/a-found",
            &format!("{HEAD}tags = [\"found\", \"smoke\"]\n"),
            &response,
        );
        s.case("inn/deeper/c", HEAD, &response);
        let single = s.case("other/d", HEAD, &response);
        std::fs::create_dir_all(s.0.join("empty/nothing")).unwrap();
        let cases = load_all(&[s.0.join("inn"), single.join(CASE_FILE), s.0.join("empty")])
            .expect("all load");
        let names: Vec<String> = cases.iter().map(Case::name).collect();
        assert_eq!(names, ["a-found", "b-found", "c", "d"]);
        let found = with_tags(cases, &["found"]);
        assert_eq!(found.len(), 2);
        assert_eq!(with_tags(found, &["smoke"])[0].name(), "a-found");
        // A broken case, and a path that is not there, are errors; the rest is not lost silently.
        s.case("inn/e-broken", "version = 1\n", &response);
        let errors = load_all(&[s.0.join("inn"), s.0.join("absent")]).expect_err("broken");
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().any(|e| e.file.ends_with("absent")));
        assert!(
            errors
                .iter()
                .any(|e| e.file.ends_with("e-broken/case.toml"))
        );
    }
}
