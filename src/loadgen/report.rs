//! The outcome of a run, as JSON (every field below, for tools and later issues' harnesses) and as
//! text (for a person). Rates are over the timed window: accepted/s counts the 202s received in it,
//! decided/s the decisions read in it; what arrives during the drain is in the totals.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::loadgen::decisions::{Decisions, FeedCost};
use crate::loadgen::histogram::Latency;
use crate::loadgen::stats::RequestReport;
use crate::loadgen::verify::Verification;
use crate::mock::population::PopulationConfig;

/// The backlog pre-fill.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BacklogReport {
    /// Applications asked for.
    pub requested: u64,
    /// Accepted (202).
    pub accepted: u64,
    /// 429s.
    pub too_many_requests: u64,
    /// 5xx, unexpected answers, no answers.
    pub errors: u64,
    /// Time it took.
    pub seconds: f64,
    /// Accepted per second.
    pub per_second: f64,
    /// Acceptance latency.
    pub acceptance: Latency,
}

/// What the run found about its applicants.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicantsReport {
    /// The population walked (it must be the gateway's mock population).
    pub population: PopulationConfig,
    /// Households walked.
    pub households_walked: u64,
    /// Times the walk started over (after the first, applications repeat earlier cases: duplicates).
    pub wrapped: u32,
    /// The population held no eligible applicant: scenarios that needed one did not run.
    pub exhausted: bool,
}

/// A load run's outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The gateway's URL.
    pub target: String,
    /// Whether the run started the gateway itself.
    pub in_process: bool,
    /// `flat out` or `N/s`.
    pub pace: String,
    /// Connections.
    pub connections: usize,
    /// The mix.
    pub mix: String,
    /// Manifest entries per application.
    pub documents: usize,
    /// Bytes per document.
    pub document_bytes: usize,
    /// The timed window, seconds.
    pub duration_s: f64,
    /// The pre-filled backlog, if any.
    pub backlog: Option<BacklogReport>,
    /// Scenarios started, by kind.
    pub scenarios: BTreeMap<String, u64>,
    /// Open loop: starts skipped because `max_in_flight` scenarios were running.
    pub skipped_starts: u64,
    /// Applications accepted (202), the tail after the window included.
    pub accepted: u64,
    /// Accepted within the window.
    pub accepted_in_window: u64,
    /// Accepted per second of the window.
    pub accepted_per_s: f64,
    /// Acceptance latency: from the scenario's (intended) start to its 202, retries included.
    pub acceptance: Latency,
    /// Decided within the window.
    pub decided_in_window: u64,
    /// Decided per second of the window.
    pub decided_per_s: f64,
    /// Decisions, all of them (drain included), with submit→decision latency and outcomes.
    pub decisions: Decisions,
    /// From the end of the window to the last decision read (or to the end of the drain).
    pub drain_s: f64,
    /// 429s of the timed run.
    pub too_many_requests: u64,
    /// 5xx, unexpected answers and no answers of the timed run.
    pub errors: u64,
    /// 400/422 answers to invalid requests (expected).
    pub expected_refusals: u64,
    /// Per request kind: statuses, errors, latency.
    pub requests: BTreeMap<String, RequestReport>,
    /// A few error texts.
    pub example_errors: Vec<String>,
    /// The events watcher's cost.
    pub events: FeedCost,
    /// Applicants.
    pub applicants: ApplicantsReport,
    /// Accepted per second of the run, second by second.
    pub accepted_per_second: Vec<u64>,
    /// Decided per second of the run, second by second (the drain's seconds too).
    pub decided_per_second: Vec<u64>,
    /// The check of every accepted application, if run.
    pub verification: Option<Verification>,
    /// Things a reader should know (the backlog limit raised, the population wrapped…).
    pub notes: Vec<String>,
}

impl Report {
    /// Whether the verification (if run) passed.
    pub fn passed(&self) -> bool {
        self.verification.as_ref().is_none_or(Verification::passed)
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let lat = |l: &Latency| {
            format!(
                "p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (n={})",
                l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, l.count
            )
        };
        let _ = writeln!(
            w,
            "reggate loadgen: {} ({}), {}, {} connections, {:.0} s, mix {}, {} documents of {} bytes",
            self.target,
            if self.in_process {
                "in-process"
            } else {
                "remote"
            },
            self.pace,
            self.connections,
            self.duration_s,
            self.mix,
            self.documents,
            self.document_bytes
        );
        if let Some(b) = &self.backlog {
            let _ = writeln!(
                w,
                "backlog:     {} of {} accepted in {:.1} s ({:.0}/s), 429 {}, errors {}; {}",
                b.accepted,
                b.requested,
                b.seconds,
                b.per_second,
                b.too_many_requests,
                b.errors,
                lat(&b.acceptance)
            );
        }
        let _ = writeln!(
            w,
            "accepted:    {:.1}/s ({} in the window, {} in all); {}",
            self.accepted_per_s,
            self.accepted_in_window,
            self.accepted,
            lat(&self.acceptance)
        );
        let d = &self.decisions;
        let _ = writeln!(
            w,
            "decided:     {:.1}/s ({} in the window, {} in all, {} escalated, {} still awaited after a {:.1} s drain); submit→decision {}",
            self.decided_per_s,
            self.decided_in_window,
            d.decided,
            d.escalated,
            d.pending,
            self.drain_s,
            lat(&d.latency)
        );
        for (kind, outcomes) in &d.outcomes {
            let parts: Vec<String> = outcomes.iter().map(|(s, n)| format!("{s} {n}")).collect();
            let _ = writeln!(w, "  {kind:<11} {}", parts.join(", "));
        }
        let _ = writeln!(
            w,
            "429:         {}   errors: {}   expected refusals (400/422): {}   skipped starts: {}",
            self.too_many_requests, self.errors, self.expected_refusals, self.skipped_starts
        );
        let scenarios: Vec<String> = self
            .scenarios
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(w, "scenarios:   {}", scenarios.join(", "));
        let _ = writeln!(w, "requests:");
        for (name, r) in &self.requests {
            let statuses: Vec<String> = r
                .statuses
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect();
            let _ = writeln!(
                w,
                "  {name:<11} {:>8} sent; {}{}; {}",
                r.sent,
                statuses.join(", "),
                if r.no_answer > 0 {
                    format!(", no answer: {}", r.no_answer)
                } else {
                    String::new()
                },
                lat(&r.latency)
            );
        }
        let _ = writeln!(
            w,
            "events feed: {} polls, {} events, {} failed; {}",
            self.events.polls,
            self.events.events,
            self.events.failures,
            lat(&self.events.latency)
        );
        for e in &self.example_errors {
            let _ = writeln!(w, "error e.g.:  {e}");
        }
        if !d.decided_twice_in_feed.is_empty() {
            let _ = writeln!(
                w,
                "DECIDED TWICE in the feed: {} (e.g. {})",
                d.decided_twice_in_feed.len(),
                d.decided_twice_in_feed[0]
            );
        }
        if let Some(v) = &self.verification {
            let _ = writeln!(w, "{}", verification_text(v));
        }
        for n in &self.notes {
            let _ = writeln!(w, "note: {n}");
        }
        out
    }
}

/// The verification for a person.
pub fn verification_text(v: &Verification) -> String {
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "0".to_string()
        } else {
            let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
            format!(
                "{} ({}{})",
                ids.len(),
                shown.join(", "),
                if ids.len() > 5 { ", …" } else { "" }
            )
        }
    };
    format!(
        "verification: {} — {} checked in {:.1} s: {} decided once, {} escalated, {} waiting for documents; missing {}, undecided {}, decided twice {}, unreadable {}",
        if v.passed() { "PASSED" } else { "FAILED" },
        v.checked,
        v.seconds,
        v.decided,
        v.escalated,
        v.waiting,
        list(&v.missing),
        list(&v.undecided),
        list(&v.decided_twice),
        list(&v.unreadable)
    )
}
