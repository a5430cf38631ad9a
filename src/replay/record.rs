//! Recording fixtures from live traffic: the exchanges of a gateway's message log exported as fixture
//! cases ([`super::case`]), personal data pseudonymised ([`super::pseudonym`]) unless asked to keep
//! it. What `reggate fixtures record` runs; the command reads the log (`crate::soap::log`) and hands
//! the exchanges here as [`Logged`] values.
//!
//! One exchange (one attempt of one call) becomes one case, by its outcome:
//! - `ok`: `response.xml`, with the [volatile paths](volatile_paths) of the operation ignored;
//! - `registry_error` (the registry answered with its own `Error` element, which the gateway's
//!   client turns into a failure, as replay's will): `error = { kind = "registry_error" }`;
//! - `fault`: `fault = { code, text }`, `text` the fault string as an escaped, anchored regex;
//! - `invalid_request` (attempt 0, refused by the gateway's validation before sending):
//!   `refused = { path, rule }`, the first violation of the exported request, checked to be the one
//!   the logged request has;
//! - anything else (`transport`, `timeout`, `http_status`, `invalid_response`, `circuit_open`,
//!   `token`): what the registry or the network was going through then, not an answer to the
//!   request — skipped and counted by outcome.
//!
//! Every exported document is validated against the schema set: a request or response that does not
//! validate (where it should) is not exported but reported, so a recording never holds a case that
//! fails for reasons of its own. Cases are named `<registry>-<operation>-<n>` (`inn-find-inn-001`),
//! numbered per operation in log order, and written to a staging folder beside the target that is
//! renamed into place when everything is written: the target gets a whole recording or nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::case::{CASE_FILE, FORMAT_VERSION, REQUEST_FILE, RESPONSE_FILE, load_all};
use super::pseudonym::Pseudonymiser;
use crate::calendar;
use crate::contract::fault::Fault;
use crate::contract::{Operation, Registry, SOAP_NS};
use crate::xml::schema::Schema;
use crate::xml::validate::{Options, Violation, validate_bytes};

/// The common types' namespace (prefix `cmn` in the volatile paths).
const COMMON_NS: &str = "urn://reggate/common/types/1.0.0";

/// One exchange as the message log keeps it (`crate::soap::log::Exchange`, without its timings).
#[derive(Clone, Debug)]
pub struct Logged {
    /// When the attempt started.
    pub at: SystemTime,
    /// The originating request's id.
    pub request_id: String,
    /// The operation called (its registry with it).
    pub operation: Operation,
    /// 1 for the first attempt; 0 for a request refused before sending.
    pub attempt: u32,
    /// `ok` or the kind of the failure (`fault`, `invalid_request`, `timeout`, …).
    pub outcome: String,
    /// The request envelope, as the log kept it.
    pub request: Option<String>,
    /// The answer's body, as the log kept it.
    pub response: Option<String>,
}

impl Logged {
    /// `inn FindInn at 2026-07-01T10:00:00.125Z (request r-1, attempt 1)`: no personal value.
    pub fn describe(&self) -> String {
        format!(
            "{} {} at {} (request {}, attempt {})",
            self.operation.registry(),
            self.operation,
            rfc3339(self.at),
            self.request_id,
            self.attempt
        )
    }
}

/// What to do with personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Personal {
    /// Replace it with consistent synthetic values (the default).
    Pseudonymise,
    /// Export the bodies as logged.
    Keep,
}

/// Why the log's bodies cannot be recorded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodiesNotKept {
    /// Exchanges whose bodies were kept masked.
    pub masked: usize,
    /// Exchanges whose bodies were not kept.
    pub omitted: usize,
    /// Exchanges in the range.
    pub total: usize,
}

impl fmt::Display for BodiesNotKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.masked > 0 {
            parts.push(format!("{} masked", self.masked));
        }
        if self.omitted > 0 {
            parts.push(format!("{} omitted", self.omitted));
        }
        write!(
            f,
            "the message log did not keep the bodies in full ({} of {} exchanges in the range); \
             recording needs log.bodies = \"full\" when the traffic is logged, with or without \
             --keep-personal-data: pseudonymising maps each original value to a synthetic one, and a \
             masked value (***) can no longer be mapped, nor kept",
            parts.join(", "),
            self.total
        )
    }
}

impl std::error::Error for BodiesNotKept {}

/// Whether a logged body was masked by the log ([`crate::xml::mask::mask_document`]): masked
/// values start with `***`, and every request of every operation carries one (a SNILS, an INN, a
/// name part, a certificate).
fn looks_masked(body: &str) -> bool {
    body.contains(">***")
}

/// `Ok` when every exchange's bodies were kept in full (judged by its request: responses may quote
/// masked values of their own, such as a mock's fault text).
pub fn check_bodies(exchanges: &[Logged]) -> Result<(), BodiesNotKept> {
    let omitted = exchanges.iter().filter(|e| e.request.is_none()).count();
    let masked = exchanges
        .iter()
        .filter(|e| e.request.as_deref().is_some_and(looks_masked))
        .count();
    if masked + omitted == 0 {
        Ok(())
    } else {
        Err(BodiesNotKept {
            masked,
            omitted,
            total: exchanges.len(),
        })
    }
}

/// What an exported case expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// `response.xml` with these bytes.
    Response(Vec<u8>),
    /// `fault = { code, text }`: `text` is a regex.
    Fault {
        /// The `faultcode` as written.
        code: String,
        /// The `faultstring`, escaped and anchored.
        text: String,
    },
    /// `refused = { path, rule }`.
    Refused {
        /// The first violation's path.
        path: String,
        /// Its rule.
        rule: String,
    },
    /// `error = { kind }`: a failure the gateway's client names `kind` (`registry_error`).
    Error {
        /// [`CallError::kind`](crate::soap::error::CallError::kind).
        kind: String,
    },
}

/// One case to write.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Its folder's name (`inn-find-inn-001`).
    pub name: String,
    /// The operation (its registry with it).
    pub operation: Operation,
    /// `request.xml`.
    pub request: Vec<u8>,
    /// What it expects.
    pub expect: Expected,
    /// Paths not compared.
    pub ignore: Vec<String>,
    /// `["recorded", registry, outcome]`.
    pub tags: Vec<String>,
    /// Where it came from ([`Logged::describe`], the outcome), for the comment atop `case.toml`.
    pub origin: String,
}

/// An exchange that could have been a case and is not: which, and why (no personal value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// [`Logged::describe`].
    pub exchange: String,
    /// What went wrong.
    pub why: String,
}

/// The cases of one recording, and what was left out.
#[derive(Debug, Default)]
pub struct Recording {
    /// The cases, in log order.
    pub cases: Vec<Recorded>,
    /// Exchanges skipped because their outcome has no answer to expect, by outcome.
    pub skipped: BTreeMap<String, usize>,
    /// Exchanges that could not be exported.
    pub failed: Vec<Failure>,
    /// Whether personal data was pseudonymised.
    pub pseudonymised: bool,
}

impl Recording {
    /// The number of cases per registry, by name.
    pub fn by_registry(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for case in &self.cases {
            *out.entry(case.operation.registry().name()).or_insert(0) += 1;
        }
        out
    }

    /// The number of exchanges skipped by outcome.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// The paths of values a registry makes up afresh for every answer to `operation` — its message id,
/// the id it replies to, its timestamp, a SOAP header, the moment a record was checked or an
/// assignment registered, a newly made assignment id, the day a status list is "as of" — written
/// as the validator prints paths with the prefixes reggate's mocks use (`soap`, `cmn`, `snils`,
/// `inn`, `chld`, `lab`). A recording adapts the prefixes to those its response uses.
pub fn volatile_paths(operation: Operation) -> Vec<String> {
    let p = prefix_of(operation.registry());
    let root = format!(
        "/soap:Envelope/soap:Body/{p}:{}",
        operation.response_element()
    );
    let meta = format!("{root}/{p}:Metadata");
    let mut paths = vec![
        "/soap:Envelope/soap:Header".to_string(),
        format!("{meta}/cmn:MessageId"),
        format!("{meta}/cmn:ReplyTo"),
        format!("{meta}/cmn:Timestamp"),
    ];
    match operation {
        Operation::FindInn | Operation::FindBirthRecord => {
            paths.push(format!("{root}/{p}:NotFound/@checkedAt"));
        }
        Operation::GetFamilyStatus => {
            paths.push(format!("{root}/{p}:NotFound/@checkedAt"));
            paths.push(format!("{root}/{p}:Statuses/@asOf"));
        }
        Operation::RegisterAssignment => {
            paths.push(format!("{root}/{p}:Result/{p}:AssignmentId"));
            paths.push(format!("{root}/{p}:Result/{p}:RegisteredAt"));
        }
        Operation::VerifySnils | Operation::VerifyInn | Operation::GetActiveAssignments => {}
    }
    paths
}

/// The prefix reggate's mocks and messages give a registry's namespace.
fn prefix_of(registry: Registry) -> &'static str {
    match registry {
        Registry::Snils => "snils",
        Registry::Inn => "inn",
        Registry::Children => "chld",
        Registry::Labour => "lab",
    }
}

/// `paths` (written with the mocks' prefixes) with each prefix replaced by the one `document`
/// declares first for the same namespace (none for a default namespace); a namespace the document
/// does not declare keeps its prefix.
fn adapt_prefixes(paths: Vec<String>, document: &[u8]) -> Vec<String> {
    let mut declared: HashMap<String, String> = HashMap::new();
    // A document whose encoding cannot be read declares nothing this can see.
    let Ok(document) = crate::xml::encoding::decode(document) else {
        return paths;
    };
    let mut reader = quick_xml::Reader::from_reader(&*document);
    let mut buf = Vec::new();
    while let Ok(event) = reader.read_event_into(&mut buf) {
        match event {
            quick_xml::events::Event::Start(tag) | quick_xml::events::Event::Empty(tag) => {
                for a in tag.attributes().flatten() {
                    let key = a.key.0.to_string();
                    let prefix = match key.as_str() {
                        "xmlns" => String::new(),
                        k => match k.strip_prefix("xmlns:") {
                            Some(p) => p.to_string(),
                            None => continue,
                        },
                    };
                    let uri = a.value.to_string();
                    declared.entry(uri).or_insert(prefix);
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let canonical = |prefix: &str| -> Option<&'static str> {
        match prefix {
            "soap" => Some(SOAP_NS),
            "cmn" => Some(COMMON_NS),
            _ => Registry::ALL
                .into_iter()
                .find(|r| prefix_of(*r) == prefix)
                .map(Registry::namespace),
        }
    };
    paths
        .into_iter()
        .map(|path| {
            path.split('/')
                .map(|step| match step.split_once(':') {
                    Some((p, local)) if !step.starts_with('@') => {
                        match canonical(p).and_then(|uri| declared.get(uri)) {
                            Some(theirs) if theirs.is_empty() => local.to_string(),
                            Some(theirs) => format!("{theirs}:{local}"),
                            None => step.to_string(),
                        }
                    }
                    _ => step.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

/// What an outcome makes of an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Answer,
    RegistryError,
    Fault,
    Refused,
}

fn kind_of(outcome: &str) -> Option<Kind> {
    match outcome {
        "ok" => Some(Kind::Answer),
        "registry_error" => Some(Kind::RegistryError),
        "fault" => Some(Kind::Fault),
        "invalid_request" => Some(Kind::Refused),
        _ => None,
    }
}

/// `VerifySnils` → `verify-snils`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A moment as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339(at: SystemTime) -> String {
    let ms = calendar::millis(at);
    let day = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        calendar::fmt_date(day as i32),
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// The first violation of `document`, as `path [rule]`.
fn first_violation(schema: &Schema, document: &[u8]) -> Option<Violation> {
    validate_bytes(schema, document, &Options::default())
        .violations
        .into_iter()
        .next()
}

/// The `faultcode` and `faultstring` of a SOAP 1.1 fault envelope, trimmed; none without a code.
fn fault_of(document: &[u8]) -> Option<(String, String)> {
    let fault = Fault::read(document).ok().flatten()?;
    let code = fault.code.trim().to_string();
    (!code.is_empty()).then(|| (code, fault.message.trim().to_string()))
}

/// The cases `exchanges` make (module docs), personal data as `personal` says, every document
/// checked against `schema`. Exchanges are taken in the order given (the log's).
pub fn record(exchanges: &[Logged], personal: Personal, schema: &Schema) -> Recording {
    let mut recording = Recording {
        pseudonymised: personal == Personal::Pseudonymise,
        ..Recording::default()
    };
    let mut chosen: Vec<(&Logged, Kind)> = Vec::new();
    for e in exchanges {
        match kind_of(&e.outcome) {
            Some(kind) => chosen.push((e, kind)),
            None => *recording.skipped.entry(e.outcome.clone()).or_insert(0) += 1,
        }
    }
    let mut pseudonymiser = match personal {
        Personal::Pseudonymise => Some(Pseudonymiser::new()),
        Personal::Keep => None,
    };
    if let Some(p) = pseudonymiser.as_mut() {
        // Every original first, so that no synthetic value equals one; a document that cannot be
        // read fails below, where it is reported.
        for (e, _) in &chosen {
            for body in [&e.request, &e.response].into_iter().flatten() {
                let _ = p.observe(body.as_bytes());
            }
        }
    }
    let mut numbers: HashMap<Operation, usize> = HashMap::new();
    let mut made = Vec::new();
    for (e, kind) in chosen {
        match export(e, kind, pseudonymiser.as_mut(), schema) {
            Ok((request, expect)) => {
                let n = numbers.entry(e.operation).or_insert(0);
                *n += 1;
                made.push((e, *n, request, expect));
            }
            Err(why) => recording.failed.push(Failure {
                exchange: e.describe(),
                why,
            }),
        }
    }
    for (e, n, request, expect) in made {
        let width = numbers[&e.operation].to_string().len().max(3);
        let registry = e.operation.registry();
        let ignore = match &expect {
            Expected::Response(response) => adapt_prefixes(volatile_paths(e.operation), response),
            _ => Vec::new(),
        };
        let outcome_tag = match &expect {
            Expected::Response(_) | Expected::Error { .. } => e.outcome.clone(),
            Expected::Fault { .. } => "fault".to_string(),
            Expected::Refused { .. } => "refused".to_string(),
        };
        recording.cases.push(Recorded {
            name: format!(
                "{}-{}-{n:0width$}",
                registry.name(),
                kebab(e.operation.name())
            ),
            operation: e.operation,
            request,
            expect,
            ignore,
            tags: vec![
                "recorded".to_string(),
                registry.name().to_string(),
                outcome_tag,
            ],
            origin: format!("{}, outcome {}", e.describe(), e.outcome),
        });
    }
    recording
}

/// One exchange's `request.xml` and expectation, or why it cannot be exported.
fn export(
    e: &Logged,
    kind: Kind,
    mut pseudonymiser: Option<&mut Pseudonymiser>,
    schema: &Schema,
) -> Result<(Vec<u8>, Expected), String> {
    let which = if pseudonymiser.is_some() {
        "pseudonymised"
    } else {
        "logged"
    };
    let mut convert = |body: &str, what: &str| -> Result<Vec<u8>, String> {
        match pseudonymiser.as_deref_mut() {
            Some(p) => p
                .pseudonymise(body.as_bytes())
                .map_err(|err| format!("the logged {what} is {err}")),
            None => Ok(body.as_bytes().to_vec()),
        }
    };
    let logged_request = e
        .request
        .as_deref()
        .ok_or("the log holds no request body")?;
    let request = convert(logged_request, "request")?;
    // A document that should validate: one that does not is named by path and rule (no values), and
    // told apart from one the pseudonymiser broke.
    let valid = |original: &str, exported: &[u8], what: &str| -> Result<(), String> {
        match first_violation(schema, exported) {
            None => Ok(()),
            Some(v) if first_violation(schema, original.as_bytes()).is_some() => Err(format!(
                "the logged {what} does not validate against the schemas: {} [{}]",
                v.path, v.rule
            )),
            Some(v) => Err(format!(
                "the {which} {what} does not validate, though the logged one does: {} [{}] \
                 (a reggate bug: please report it)",
                v.path, v.rule
            )),
        }
    };
    let logged_response = e
        .response
        .as_deref()
        .ok_or("the log holds no response body");
    match kind {
        Kind::Answer => {
            valid(logged_request, &request, "request")?;
            let logged = logged_response?;
            let response = convert(logged, "response")?;
            valid(logged, &response, "response")?;
            Ok((request, Expected::Response(response)))
        }
        Kind::RegistryError => {
            valid(logged_request, &request, "request")?;
            Ok((
                request,
                Expected::Error {
                    kind: e.outcome.clone(),
                },
            ))
        }
        Kind::Fault => {
            valid(logged_request, &request, "request")?;
            let response = convert(logged_response?, "response")?;
            let (code, text) =
                fault_of(&response).ok_or("the logged answer is not a SOAP fault")?;
            // Anchored, white space around it allowed (however the reader trims it).
            let text = format!(r"^\s*{}\s*$", regex::escape(&text));
            Ok((request, Expected::Fault { code, text }))
        }
        Kind::Refused => {
            let exported = first_violation(schema, &request).ok_or(
                "the logged request was refused, but it validates against the schemas now",
            )?;
            if let Some(original) = first_violation(schema, logged_request.as_bytes())
                && (original.path != exported.path || original.rule != exported.rule)
            {
                return Err(format!(
                    "pseudonymising changed why the request is refused ({} [{}] became {} [{}])",
                    original.path, original.rule, exported.path, exported.rule
                ));
            }
            Ok((
                request,
                Expected::Refused {
                    path: exported.path,
                    rule: exported.rule.to_string(),
                },
            ))
        }
    }
}

/// Why a recording could not be written.
#[derive(Debug)]
pub enum RecordError {
    /// The target is not a new or empty folder.
    Target(String),
    /// Writing failed.
    Io(PathBuf, std::io::Error),
    /// A written case did not load back (a reggate bug).
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Target(m) => f.write_str(m),
            RecordError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            RecordError::Invalid(m) => write!(f, "a written case does not load: {m}"),
        }
    }
}

impl std::error::Error for RecordError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecordError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

/// `Ok` when `dir` may receive a recording: it does not exist, or is an empty folder. A recording
/// never goes into a folder with anything in it, so no earlier case is overwritten or mixed in.
pub fn check_target(dir: &Path) -> Result<(), RecordError> {
    if dir.file_name().is_none() {
        return Err(RecordError::Target(format!(
            "{}: name a new folder for the recording",
            dir.display()
        )));
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(RecordError::Target(format!(
                    "{} is not empty: a recording goes to a new or empty folder, so that no \
                     earlier case is overwritten or mixed in",
                    dir.display()
                )))
            } else {
                Ok(())
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() => Err(RecordError::Target(format!(
            "{} exists and is not a folder",
            dir.display()
        ))),
        Err(e) => Err(RecordError::Io(dir.to_path_buf(), e)),
    }
}

/// `case.toml` as written.
#[derive(Serialize)]
struct CaseToml<'a> {
    version: i64,
    registry: &'a str,
    operation: &'a str,
    tags: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    ignore: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<FaultToml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<RefusedToml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorToml<'a>>,
}

#[derive(Serialize)]
struct ErrorToml<'a> {
    kind: &'a str,
}

#[derive(Serialize)]
struct FaultToml<'a> {
    code: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct RefusedToml<'a> {
    path: &'a str,
    rule: &'a str,
}

impl Recorded {
    /// The text of its `case.toml`, a comment on its origin first.
    pub fn case_toml(&self, pseudonymised: bool) -> String {
        let (mut fault, mut refused, mut error) = (None, None, None);
        match &self.expect {
            Expected::Fault { code, text } => fault = Some(FaultToml { code, text }),
            Expected::Refused { path, rule } => refused = Some(RefusedToml { path, rule }),
            Expected::Error { kind } => error = Some(ErrorToml { kind }),
            Expected::Response(_) => {}
        }
        let body = toml::to_string_pretty(&CaseToml {
            version: FORMAT_VERSION,
            registry: self.operation.registry().name(),
            operation: self.operation.name(),
            tags: &self.tags,
            ignore: &self.ignore,
            fault,
            refused,
            error,
        })
        // Strings and arrays of strings always serialise.
        .expect("case.toml serialises");
        let personal = if pseudonymised {
            "personal data replaced by synthetic values, consistent within this recording"
        } else {
            "personal data kept as logged (--keep-personal-data)"
        };
        format!(
            "# Recorded by `reggate fixtures record`: {}.\n# {personal}.\n{body}",
            self.origin
        )
    }
}

/// Write `recording` into `dir` (which [`check_target`] must accept): a staging folder beside it
/// first, every case loaded back with [`super::case::load_all`], then renamed into place.
pub fn write(recording: &Recording, dir: &Path) -> Result<(), RecordError> {
    check_target(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| RecordError::Io(path, e)
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let staging = parent.join(format!(".{name}.recording-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let written = (|| {
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        for case in &recording.cases {
            let folder = staging.join(&case.name);
            std::fs::create_dir(&folder).map_err(io(&folder))?;
            let file = folder.join(REQUEST_FILE);
            std::fs::write(&file, &case.request).map_err(io(&file))?;
            if let Expected::Response(response) = &case.expect {
                let file = folder.join(RESPONSE_FILE);
                std::fs::write(&file, response).map_err(io(&file))?;
            }
            let file = folder.join(CASE_FILE);
            std::fs::write(&file, case.case_toml(recording.pseudonymised)).map_err(io(&file))?;
        }
        if !recording.cases.is_empty() {
            let loaded = load_all(&[&staging]).map_err(|errors| {
                RecordError::Invalid(
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            if loaded.len() != recording.cases.len() {
                return Err(RecordError::Invalid(format!(
                    "{} cases written, {} loaded",
                    recording.cases.len(),
                    loaded.len()
                )));
            }
        }
        // Onto a missing or empty folder: rename(2) replaces an empty directory.
        std::fs::rename(&staging, dir).map_err(io(dir))
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// A moment given on the command line: RFC 3339 (`2026-07-01T10:00:00Z`, `…+03:00`, fractions of a
/// second, `t`/`z` or a space allowed) or a date (`2026-07-01`, midnight UTC; with `end_of_day`,
/// the midnight after it, so `--until 2026-07-01` takes in that whole day).
pub fn parse_time(text: &str, end_of_day: bool) -> Result<SystemTime, String> {
    let refuse = || {
        format!(
            "'{text}' is not a time: give RFC 3339 (2026-07-01T10:00:00Z, 2026-07-01T13:00:00+03:00) \
             or a date (2026-07-01)"
        )
    };
    let text = text.trim();
    let (date, rest) = (text.get(..10).ok_or_else(refuse)?, &text[10..]);
    let day = calendar::parse_date(date).ok_or_else(refuse)?;
    let millis_at = |ms: i64| {
        u64::try_from(ms)
            .map(|ms| UNIX_EPOCH + std::time::Duration::from_millis(ms))
            .map_err(|_| format!("'{text}' is before 1970"))
    };
    if rest.is_empty() {
        let day = if end_of_day { day + 1 } else { day };
        return millis_at(i64::from(day) * 86_400_000);
    }
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(refuse)?;
    let b = rest.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return Err(refuse());
    }
    let num = |s: &str, max: i64| -> Result<i64, String> {
        if s.len() != 2 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(refuse());
        }
        let n: i64 = s.parse().map_err(|_| refuse())?;
        if n > max { Err(refuse()) } else { Ok(n) }
    };
    let (h, m, s) = (
        num(&rest[0..2], 23)?,
        num(&rest[3..5], 59)?,
        num(&rest[6..8], 60)?,
    );
    let mut rest = &rest[8..];
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(refuse());
        }
        let first3: String = frac[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        ms = first3.parse().map_err(|_| refuse())?;
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(refuse()),
            };
            let o = &rest[1..];
            if o.len() != 5 || o.as_bytes()[2] != b':' {
                return Err(refuse());
            }
            sign * (num(&o[0..2], 23)? * 60 + num(&o[3..5], 59)?)
        }
    };
    let total = i64::from(day) * 86_400_000 + ((h * 60 + m - offset_minutes) * 60 + s) * 1000 + ms;
    millis_at(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_dates() {
        let at = |t: &str| calendar::millis(parse_time(t, false).expect(t));
        assert_eq!(at("2026-07-01T10:00:00Z"), 1_782_900_000_000);
        assert_eq!(at("2026-07-01t13:00:00+03:00"), 1_782_900_000_000);
        assert_eq!(at("2026-07-01 10:00:00.25z"), 1_782_900_000_250);
        assert_eq!(at("2026-07-01T09:30:00-00:30"), 1_782_900_000_000);
        assert_eq!(at("2026-07-01"), 1_782_864_000_000);
        assert_eq!(
            calendar::millis(parse_time("2026-07-01", true).expect("date")),
            1_782_864_000_000 + 86_400_000
        );
        for bad in [
            "",
            "yesterday",
            "2026-02-30",
            "2026-07-01T10:00",
            "2026-07-01T10:00:00",
            "2026-07-01T25:00:00Z",
            "2026-07-01T10:00:00+3",
            "1969-12-31",
        ] {
            assert!(parse_time(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn volatile_paths_name_the_generated_values_and_parse() {
        for op in Operation::ALL {
            let paths = volatile_paths(op);
            assert!(paths.len() >= 4, "{op}");
            for p in &paths {
                p.parse::<crate::replay::IgnorePath>()
                    .unwrap_or_else(|e| panic!("{op}: {e}"));
            }
        }
        let register = volatile_paths(Operation::RegisterAssignment);
        assert!(register.contains(
            &"/soap:Envelope/soap:Body/lab:RegisterAssignmentResponse/lab:Result/lab:RegisteredAt"
                .to_string()
        ));
        assert!(volatile_paths(Operation::FindInn).contains(
            &"/soap:Envelope/soap:Body/inn:FindInnResponse/inn:NotFound/@checkedAt".to_string()
        ));
    }

    #[test]
    fn prefixes_follow_the_recorded_response() {
        let response = br#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><FindInnResponse xmlns="urn://reggate/registry/inn/1.0.0" xmlns:c="urn://reggate/common/types/1.0.0"/></e:Body></e:Envelope>"#;
        let adapted = adapt_prefixes(volatile_paths(Operation::FindInn), response);
        assert!(
            adapted
                .contains(&"/e:Envelope/e:Body/FindInnResponse/Metadata/c:MessageId".to_string()),
            "{adapted:?}"
        );
        assert!(
            adapted.contains(&"/e:Envelope/e:Body/FindInnResponse/NotFound/@checkedAt".to_string())
        );
    }

    #[test]
    fn masked_and_omitted_bodies_are_told_apart_from_full_ones() {
        let logged = |request: Option<&str>| Logged {
            at: UNIX_EPOCH,
            request_id: "r".into(),
            operation: Operation::VerifySnils,
            attempt: 1,
            outcome: "ok".into(),
            request: request.map(str::to_string),
            response: Some("<r>value: '***-***-*** 95'</r>".into()),
        };
        let full = logged(Some("<a><Snils>11223344595</Snils></a>"));
        assert_eq!(check_bodies(std::slice::from_ref(&full)), Ok(()));
        let masked = logged(Some(&crate::xml::mask::mask_document(
            b"<a><Snils>11223344595</Snils></a>",
        )));
        let omitted = logged(None);
        let refused = check_bodies(&[full, masked, omitted]).expect_err("not full");
        assert_eq!((refused.masked, refused.omitted, refused.total), (1, 1, 3));
        assert!(refused.to_string().contains("log.bodies = \"full\""));
    }

    #[test]
    fn fault_code_and_text_are_read_from_the_envelope() {
        let fault = br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server.Internal</faultcode><faultstring>internal &amp; error</faultstring></soap:Fault></soap:Body></soap:Envelope>"#;
        assert_eq!(
            fault_of(fault),
            Some((
                "soap:Server.Internal".to_string(),
                "internal & error".to_string()
            ))
        );
        assert_eq!(fault_of(b"<a><faultcode>x</faultcode></a>"), None);
        assert_eq!(kebab("GetActiveAssignments"), "get-active-assignments");
    }

    #[test]
    fn a_target_must_be_new_or_empty() {
        let dir =
            std::env::temp_dir().join(format!("reggate-record-target-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(check_target(&dir).is_ok());
        std::fs::create_dir_all(&dir).unwrap();
        assert!(check_target(&dir).is_ok());
        std::fs::write(dir.join("x"), "x").unwrap();
        assert!(matches!(check_target(&dir), Err(RecordError::Target(_))));
        assert!(matches!(
            check_target(&dir.join("x")),
            Err(RecordError::Target(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
