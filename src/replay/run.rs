//! Running cases: each case's request goes through the gateway's own outbound pipeline
//! ([`SoapClient::call_envelope`]: schema check, mTLS, token, SOAPAction, timeouts), and what comes
//! back is judged against the case's expectation.
//!
//! Cases run in three phases, so that no answer depends on timing:
//! 1. reads (every operation but the ones that change a registry) side by side, `jobs` at a time,
//!    on one client, sharing its connections and tokens as a gateway's calls would;
//! 2. writes (`RegisterAssignment`) one at a time in folder order: a read never races a write,
//!    and a write sees the same registry state on every run;
//! 3. cases with a fault plan or a playback answer, which change how the mock answers: one at a
//!    time, each with the plan set (or the answer waiting) and a client of its own (new connections, so connection faults meet the
//!    first connection — the token's; a fresh token; a closed breaker) — and only against the
//!    in-process mock: elsewhere they are skipped, saying why.
//!
//! The client is the gateway's with three settings changed, so that a case's outcome is the
//! registry's answer and nothing else: retries off unless asked for, no hedged attempts, and a
//! breaker that never opens (one failing case must not fail the next).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::case::{Case, Expectation, RESPONSE_FILE, refusal_matches};
use super::compare::{self, Mode};
use super::target::Target;
use crate::soap::client::{Answer, CallContext, RetryPolicy};
use crate::soap::error::{CallError, Violation};
use crate::xml::schema::Schema;
use crate::xml::validate::{Options as ValidateOptions, validate_bytes};

/// How cases are run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Cases in flight at once (those without a fault plan).
    pub jobs: usize,
    /// Retries of a failed call (0: one attempt, as a fixture records one exchange).
    pub retries: u32,
    /// Compare exactly instead of similarly.
    pub strict: bool,
    /// A call's bound when its case sets none.
    pub timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            jobs: 4,
            retries: 0,
            strict: false,
            timeout: Duration::from_secs(10),
        }
    }
}

impl RunOptions {
    /// The retry policy of the replay client.
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.retries.saturating_add(1),
            ..RetryPolicy::default()
        }
    }
}

/// What became of one case.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The case.
    pub case: Arc<Case>,
    /// From sending to the verdict (0 for a case not run).
    pub elapsed: Duration,
    /// The verdict.
    pub verdict: Verdict,
}

/// A case's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// What came back is what was expected.
    Passed,
    /// It is not: why, in one line, and the details (differences by path, violations), one per
    /// entry, personal values masked.
    Failed {
        /// One line.
        message: String,
        /// The lines under it.
        details: Vec<String>,
    },
    /// Not run, and why (a fault plan against a registry that is not the in-process mock).
    Skipped(String),
}

impl Verdict {
    fn failed(message: impl Into<String>, details: Vec<String>) -> Verdict {
        Verdict::Failed {
            message: message.into(),
            details,
        }
    }
}

/// Run `cases` against `target`; `done` hears of each outcome as it comes (for a progress line).
/// The outcomes come back in the cases' order.
pub async fn run(
    cases: Vec<Case>,
    target: &Target,
    schema: &Arc<Schema>,
    options: &RunOptions,
    done: &(dyn Fn(&Outcome) + Sync),
) -> Vec<Outcome> {
    let cases: Vec<Arc<Case>> = cases.into_iter().map(Arc::new).collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; cases.len()];

    // Side by side: the reads.
    let shared = target.client(options);
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut running = JoinSet::new();
    for (i, case) in cases.iter().enumerate() {
        if case.exclusive() || case.operation.changes_registry() {
            continue;
        }
        let (case, client, schema, permits) = (
            case.clone(),
            shared.clone(),
            schema.clone(),
            permits.clone(),
        );
        let options = options.clone();
        running.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, one(case, &client, &schema, &options).await)
        });
    }
    while let Some(joined) = running.join_next().await {
        if let Ok((i, outcome)) = joined {
            done(&outcome);
            outcomes[i] = Some(outcome);
        }
    }

    // One at a time: the writes.
    for (i, case) in cases.iter().enumerate() {
        if !case.exclusive() && case.operation.changes_registry() {
            let outcome = one(case.clone(), &shared, schema, options).await;
            done(&outcome);
            outcomes[i] = Some(outcome);
        }
    }

    // One at a time: the cases with a fault plan, each on a client of its own.
    for (i, case) in cases.iter().enumerate() {
        if !case.exclusive() {
            continue;
        }
        let set = case
            .faults
            .as_ref()
            .map_or(Ok(()), |plan| target.set_faults(plan))
            .and_then(|()| {
                case.playback
                    .as_ref()
                    .map_or(Ok(()), |p| target.set_playback(case.registry, p))
            });
        let outcome = match set {
            Err(why) => Outcome {
                case: case.clone(),
                elapsed: Duration::ZERO,
                verdict: Verdict::Skipped(why),
            },
            Ok(()) => {
                let client = target.client(options);
                let outcome = one(case.clone(), &client, schema, options).await;
                target.clear_faults().await;
                outcome
            }
        };
        done(&outcome);
        outcomes[i] = Some(outcome);
    }

    outcomes
        .into_iter()
        .zip(cases)
        .map(|(outcome, case)| {
            outcome.unwrap_or_else(|| Outcome {
                case,
                elapsed: Duration::ZERO,
                verdict: Verdict::failed("the case's task stopped without a verdict", Vec::new()),
            })
        })
        .collect()
}

/// One case: check the fixture, send, judge.
async fn one(
    case: Arc<Case>,
    client: &crate::soap::client::SoapClient,
    schema: &Schema,
    options: &RunOptions,
) -> Outcome {
    let started = Instant::now();
    let ctx = CallContext {
        request_id: format!("replay-{}", case.name()),
        deadline: Some(case.timeout.unwrap_or(options.timeout)),
    };
    let result = client
        .call_envelope(&ctx, case.operation, Bytes::from(case.request.clone()))
        .await;
    let verdict = judge(&case, result, options);
    let verdict = match invalid_expectation(&case, schema) {
        None => verdict,
        // The recorded answer breaks the schemas: no registry may send it, so the fixture is what is
        // wrong — said first, with how the answer differs from it beneath.
        Some(violations) => {
            let mut details = violations;
            if let Verdict::Failed { details: d, .. } = verdict {
                details.extend(d);
            }
            Verdict::failed(
                format!("invalid fixture: {RESPONSE_FILE} does not validate against the schemas"),
                details,
            )
        }
    };
    Outcome {
        case,
        elapsed: started.elapsed(),
        verdict,
    }
}

/// The violations of the expected answer, when the schemas refuse it.
fn invalid_expectation(case: &Case, schema: &Schema) -> Option<Vec<String>> {
    let Expectation::Response(expected) = &case.expect else {
        return None;
    };
    let report = validate_bytes(schema, expected, &ValidateOptions::default());
    (!report.is_valid()).then(|| violations(&Violation::from_report(&report)))
}

/// The verdict on what a call gave back.
pub fn judge(case: &Case, result: Result<Answer, CallError>, options: &RunOptions) -> Verdict {
    match (&case.expect, result) {
        (Expectation::Response(expected), Ok(answer)) => {
            let compare_options = compare::Options {
                mode: if options.strict {
                    Mode::Strict
                } else {
                    Mode::Similar
                },
                ignore: case.ignore.clone(),
                ..compare::Options::default()
            };
            match compare::compare(expected, &answer.envelope, &compare_options) {
                Ok(c) if c.is_match() => Verdict::Passed,
                Ok(c) => {
                    let mut details: Vec<String> =
                        c.differences.iter().map(ToString::to_string).collect();
                    if c.truncated {
                        details.push("… and more (the comparison stopped at its limit)".into());
                    }
                    let n = c.differences.len();
                    let s = if n == 1 { "" } else { "s" };
                    Verdict::failed(
                        format!("the answer differs from {RESPONSE_FILE}: {n} difference{s}"),
                        details,
                    )
                }
                Err(e) => Verdict::failed(format!("cannot compare: {e}"), Vec::new()),
            }
        }
        (
            Expectation::Fault { code, text, detail },
            Err(CallError::Fault {
                code: c,
                message,
                detail: d,
                ..
            }),
        ) => {
            let found = d.map(|d| d.code);
            if &c == code && text.is_match(&message) && (detail.is_none() || *detail == found) {
                Verdict::Passed
            } else {
                let show =
                    |d: &Option<String>, none: &str| d.clone().unwrap_or_else(|| none.into());
                Verdict::failed(
                    "a different SOAP fault",
                    vec![
                        format!(
                            "expected: faultcode {code}, faultstring matching /{text}/, detail {}",
                            show(detail, "(any)")
                        ),
                        format!(
                            "found:    faultcode {c}, faultstring \"{message}\", detail {}",
                            show(&found, "(none)")
                        ),
                    ],
                )
            }
        }
        (
            Expectation::Refused { path, rule },
            Err(CallError::InvalidRequest { violations: v, .. }),
        ) => {
            if v.iter()
                .any(|v| refusal_matches(path, rule, &v.path, &v.rule))
            {
                Verdict::Passed
            } else {
                let mut details = vec![format!("expected: {path} [{rule}]")];
                details.extend(violations(&v).into_iter().map(|l| format!("found:    {l}")));
                Verdict::failed(
                    "refused before sending, but not for the expected violation",
                    details,
                )
            }
        }
        (Expectation::Error { kind, status }, Err(e)) if e.kind() == kind => {
            match (status, status_of(&e)) {
                (None, _) => Verdict::Passed,
                (Some(want), Some(got)) if *want == got => Verdict::Passed,
                (Some(want), got) => Verdict::failed(
                    format!("{kind} as expected, but with another HTTP status"),
                    vec![
                        format!("expected: HTTP {want}"),
                        format!(
                            "found:    {}",
                            got.map_or("no HTTP status".to_string(), |s| format!("HTTP {s}"))
                        ),
                        format!("error:    {e}"),
                    ],
                ),
            }
        }
        (expect, Err(CallError::InvalidRequest { violations: v, .. })) => Verdict::failed(
            format!(
                "invalid fixture: the request does not validate, so it was not sent (expected {})",
                describe(expect)
            ),
            violations(&v),
        ),
        (expect, Ok(_)) => Verdict::failed(
            format!("expected {}, but the registry answered", describe(expect)),
            Vec::new(),
        ),
        (expect, Err(e)) => Verdict::failed(
            format!(
                "expected {}, but the call failed ({})",
                describe(expect),
                e.kind()
            ),
            vec![e.to_string()],
        ),
    }
}

/// The HTTP status a failure came with, if one came.
fn status_of(e: &CallError) -> Option<u16> {
    match e {
        CallError::InvalidResponse { status, .. }
        | CallError::Fault { status, .. }
        | CallError::Http { status, .. } => Some(*status),
        _ => None,
    }
}

/// An expectation in a few words.
pub fn describe(expect: &Expectation) -> String {
    match expect {
        Expectation::Response(_) => format!("an answer like {RESPONSE_FILE}"),
        Expectation::Fault { code, .. } => format!("a SOAP fault {code}"),
        Expectation::Refused { path, rule } => format!("a refusal at {path} [{rule}]"),
        Expectation::Error {
            kind,
            status: Some(s),
        } => format!("a failure {kind} (HTTP {s})"),
        Expectation::Error { kind, status: None } => format!("a failure {kind}"),
    }
}

fn violations(v: &[Violation]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

/// Counts over outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
}

impl Tally {
    /// Count `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Tally {
        let mut t = Tally::default();
        for o in outcomes {
            match o.verdict {
                Verdict::Passed => t.passed += 1,
                Verdict::Failed { .. } => t.failed += 1,
                Verdict::Skipped(_) => t.skipped += 1,
            }
        }
        t
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}
