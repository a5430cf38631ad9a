//! What a run counts while it runs: every request by what it was and how it was answered (status,
//! or no answer), its latency, and the acceptance latency of every 202. Shared by all scenario
//! tasks behind one mutex: a few hundred nanoseconds a request, far below a request's cost.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::loadgen::histogram::{Histogram, Latency};

/// What a request was; the answers each expects are in [`Request::expected`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Request {
    /// `POST /v1/applications` of a valid application.
    Submit,
    /// `PUT /v1/applications/{id}/documents/{name}`.
    Document,
    /// `POST /v1/eligibility`.
    Eligibility,
    /// A request the API must refuse.
    Invalid,
}

impl Request {
    /// Every request, in report order.
    pub const ALL: [Request; 4] = [
        Request::Submit,
        Request::Document,
        Request::Eligibility,
        Request::Invalid,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Request::Submit => "submit",
            Request::Document => "document",
            Request::Eligibility => "eligibility",
            Request::Invalid => "invalid",
        }
    }

    /// Whether `status` is an answer this request should get: 202 for a submission, 201 for a
    /// document, 200 for a dry run, 400 or 422 for an invalid request. A 429 is admission doing its
    /// job: counted apart, neither expected nor an error.
    pub fn expected(self, status: u16) -> bool {
        match self {
            Request::Submit => status == 202,
            Request::Document => status == 201,
            Request::Eligibility => status == 200,
            Request::Invalid => status == 400 || status == 422,
        }
    }
}

/// One request kind's counts.
#[derive(Clone, Debug, Default)]
struct Counts {
    statuses: BTreeMap<u16, u64>,
    no_answer: u64,
    latency: Histogram,
}

/// A request kind's counts as a report shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestReport {
    /// Requests sent (retries included).
    pub sent: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Answers it should get ([`Request::expected`]).
    pub expected: u64,
    /// 429s.
    pub too_many_requests: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// Other answers it should not get (a 202 for an invalid body, a 409, a 404…).
    pub unexpected: u64,
    /// No answer: connection refused or reset, TLS failure, timeout.
    pub no_answer: u64,
    /// Time to the answer (or to giving up), answered or not.
    pub latency: Latency,
}

impl RequestReport {
    /// Errors: 5xx, unexpected answers and no answer.
    pub fn errors(&self) -> u64 {
        self.server_errors + self.unexpected + self.no_answer
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<Request, Counts>,
    acceptance: Histogram,
    example_errors: Vec<String>,
}

/// The counters of a run (or of its backlog phase).
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
    /// 202s of a valid submission (each application once, retries that found it again not twice).
    pub accepted: AtomicU64,
    /// 429s.
    pub refused: AtomicU64,
    /// 5xx, unexpected answers and no answers.
    pub errors: AtomicU64,
    /// Scenarios started and not finished.
    pub in_flight: AtomicI64,
    /// Scenarios started.
    pub started: AtomicU64,
    /// Open loop: starts skipped because `max_in_flight` scenarios were running.
    pub skipped: AtomicU64,
}

/// Error texts kept as examples for the report.
const EXAMPLES: usize = 5;

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Counters stay usable after a panicking task: a count is never half-written.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count an answer to `request` after `took`.
    pub fn answered(&self, request: Request, status: u16, took: Duration) {
        if status == 429 {
            self.refused.fetch_add(1, Ordering::Relaxed);
        } else if !request.expected(status) {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut inner = self.lock();
        let counts = inner.requests.entry(request).or_default();
        *counts.statuses.entry(status).or_default() += 1;
        counts.latency.record(micros(took));
        if status != 429 && !request.expected(status) && inner.example_errors.len() < EXAMPLES {
            inner
                .example_errors
                .push(format!("{}: HTTP {status}", request.name()));
        }
    }

    /// Count a request that got no answer (`why`: transport-level text, no personal data).
    pub fn unanswered(&self, request: Request, took: Duration, why: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        let counts = inner.requests.entry(request).or_default();
        counts.no_answer += 1;
        counts.latency.record(micros(took));
        if inner.example_errors.len() < EXAMPLES {
            inner
                .example_errors
                .push(format!("{}: {why}", request.name()));
        }
    }

    /// Count an accepted application, `took` from its scenario's (intended) start.
    pub fn accepted(&self, took: Duration) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.lock().acceptance.record(micros(took));
    }

    /// The acceptance latencies so far.
    pub fn acceptance(&self) -> Histogram {
        self.lock().acceptance.clone()
    }

    /// Every request kind's counts.
    pub fn requests(&self) -> BTreeMap<String, RequestReport> {
        let inner = self.lock();
        inner
            .requests
            .iter()
            .map(|(request, c)| {
                let mut r = RequestReport {
                    statuses: c.statuses.clone(),
                    no_answer: c.no_answer,
                    latency: c.latency.summary(),
                    ..RequestReport::default()
                };
                for (&status, &n) in &c.statuses {
                    r.sent += n;
                    if request.expected(status) {
                        r.expected += n;
                    } else if status == 429 {
                        r.too_many_requests += n;
                    } else if status >= 500 {
                        r.server_errors += n;
                    } else {
                        r.unexpected += n;
                    }
                }
                r.sent += c.no_answer;
                (request.name().to_string(), r)
            })
            .collect()
    }

    /// A few error texts, for the report.
    pub fn example_errors(&self) -> Vec<String> {
        self.lock().example_errors.clone()
    }
}

/// A duration in whole microseconds.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_into_expected_refused_and_errors() {
        let stats = Stats::default();
        let ms = Duration::from_millis(3);
        stats.answered(Request::Submit, 202, ms);
        stats.answered(Request::Submit, 429, ms);
        stats.answered(Request::Submit, 503, ms);
        stats.answered(Request::Invalid, 422, ms);
        stats.answered(Request::Invalid, 202, ms);
        stats.unanswered(Request::Document, ms, "connect: refused");
        assert_eq!(stats.refused.load(Ordering::Relaxed), 1);
        assert_eq!(stats.errors.load(Ordering::Relaxed), 3);
        let r = stats.requests();
        let submit = &r["submit"];
        assert_eq!(
            (
                submit.sent,
                submit.expected,
                submit.too_many_requests,
                submit.server_errors
            ),
            (3, 1, 1, 1)
        );
        assert_eq!((r["invalid"].expected, r["invalid"].unexpected), (1, 1));
        assert_eq!((r["document"].sent, r["document"].no_answer), (1, 1));
        assert_eq!(stats.example_errors().len(), 3);
    }
}
