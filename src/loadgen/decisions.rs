//! When applications are decided, seen from outside: one watcher reads the gateway's outbox feed
//! (`GET /v1/events?after=N&limit=1000`), which lists every status change in order, and notes the
//! moment each awaited application's decision appears. One request per 100 ms (or back to back
//! while pages come full) instead of one `GET` per application per poll; its own cost is in the
//! report (`events`). The decision latency of an application runs from its scenario's (intended)
//! start to the moment its decision event is read, so it includes the document uploads and up to
//! one poll interval.
//!
//! "Decided" means a worker's decision: `approved`, `rejected` or `needs_clarification` (the last
//! ends the flow until the cabinet corrects fields; a load run never does). `manual_review` is an
//! escalation (a reviewer decides later): it ends the wait too, counted apart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::loadgen::client::Client;
use crate::loadgen::histogram::{Histogram, Latency};
use crate::loadgen::plan::Kind;
use crate::loadgen::stats::micros;

/// Statuses that are a worker's decision.
pub const DECIDED: [&str; 3] = ["approved", "rejected", "needs_clarification"];

/// The escalation status.
pub const ESCALATED: &str = "manual_review";

/// Events asked for per page (the API's maximum).
const PAGE: usize = 1000;

#[derive(Debug)]
struct Awaited {
    kind: Kind,
    start: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    awaited: HashMap<String, Awaited>,
    /// Settled applications of this run and their decision events so far.
    settled: HashMap<String, u32>,
    latency: Histogram,
    outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    decided: u64,
    escalated: u64,
    twice: Vec<String>,
    /// Per second of the timed run: applications accepted, decided.
    accepted_per_second: Vec<u64>,
    decided_per_second: Vec<u64>,
    last_decision: Option<Instant>,
    /// The start of the timed run (the timelines count from it).
    start: Option<Instant>,
}

/// The applications a run waits to see decided.
#[derive(Debug)]
pub struct Tracker {
    inner: Mutex<Inner>,
}

/// What the tracker saw, for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decisions {
    /// Applications decided (each counted once).
    pub decided: u64,
    /// Applications escalated to `manual_review`.
    pub escalated: u64,
    /// Applications still awaited.
    pub pending: u64,
    /// Decision events read twice for one application (each is a decision made twice); ids.
    pub decided_twice_in_feed: Vec<String>,
    /// From the scenario's start to the decision event read.
    pub latency: Latency,
    /// By scenario kind, by status: `apply: {approved: 970, rejected: 30}`.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
}

fn bump(timeline: &mut Vec<u64>, second: usize) {
    if timeline.len() <= second {
        timeline.resize(second + 1, 0);
    }
    timeline[second] += 1;
}

impl Tracker {
    /// A tracker whose timelines start now.
    pub fn new() -> Tracker {
        let t = Tracker {
            inner: Mutex::new(Inner::default()),
        };
        t.restart();
        t
    }

    /// Start the timelines again, now (the timed run begins).
    pub fn restart(&self) {
        let mut inner = self.lock();
        inner.start = Some(Instant::now());
        inner.accepted_per_second.clear();
        inner.decided_per_second.clear();
    }

    /// When the timelines start.
    pub fn start(&self) -> Instant {
        self.lock().start.unwrap_or_else(Instant::now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An application was accepted now (the acceptance timeline).
    pub fn accepted(&self) {
        let mut inner = self.lock();
        let second = inner.start.map_or(0, |s| s.elapsed().as_secs() as usize);
        bump(&mut inner.accepted_per_second, second);
    }

    /// Await the decision of `id`, of a scenario of `kind` started at `start`.
    pub fn expect(&self, id: &str, kind: Kind, start: Instant) {
        let mut inner = self.lock();
        if !inner.settled.contains_key(id) {
            inner
                .awaited
                .entry(id.to_string())
                .or_insert(Awaited { kind, start });
        }
    }

    /// Stop awaiting `id` (its documents could not all be uploaded: it waits for them).
    pub fn forget(&self, id: &str) {
        self.lock().awaited.remove(id);
    }

    /// An event of `id` to `status` was read at `at`.
    pub fn observe(&self, id: &str, status: &str, at: Instant) {
        let decided = DECIDED.contains(&status);
        if !decided && status != ESCALATED {
            return;
        }
        let mut inner = self.lock();
        if let Some(n) = inner.settled.get_mut(id) {
            // Only a decision after a decision is one made twice; an escalation reviewed later
            // (never by a load run) would be the other way round.
            if decided {
                *n += 1;
                if *n == 2 {
                    inner.twice.push(id.to_string());
                }
            }
            return;
        }
        let Some(awaited) = inner.awaited.remove(id) else {
            // Not ours (the backlog, other traffic).
            return;
        };
        inner.settled.insert(id.to_string(), u32::from(decided));
        *inner
            .outcomes
            .entry(awaited.kind.name().to_string())
            .or_default()
            .entry(status.to_string())
            .or_default() += 1;
        if decided {
            inner.decided += 1;
            inner
                .latency
                .record(micros(at.saturating_duration_since(awaited.start)));
            let second = inner
                .start
                .map_or(0, |s| at.saturating_duration_since(s).as_secs() as usize);
            bump(&mut inner.decided_per_second, second);
            inner.last_decision = Some(at);
        } else {
            inner.escalated += 1;
        }
    }

    /// Applications still awaited.
    pub fn pending(&self) -> usize {
        self.lock().awaited.len()
    }

    /// Applications decided so far.
    pub fn decided(&self) -> u64 {
        self.lock().decided
    }

    /// Decisions read before `until` (from the timeline: whole seconds).
    pub fn decided_within(&self, until: Duration) -> u64 {
        let seconds = until.as_secs() as usize;
        self.lock().decided_per_second.iter().take(seconds).sum()
    }

    /// When the last decision was read.
    pub fn last_decision(&self) -> Option<Instant> {
        self.lock().last_decision
    }

    /// The timelines: accepted and decided per second of the run.
    pub fn timelines(&self) -> (Vec<u64>, Vec<u64>) {
        let inner = self.lock();
        (
            inner.accepted_per_second.clone(),
            inner.decided_per_second.clone(),
        )
    }

    /// What was seen.
    pub fn summary(&self) -> Decisions {
        let inner = self.lock();
        Decisions {
            decided: inner.decided,
            escalated: inner.escalated,
            pending: inner.awaited.len() as u64,
            decided_twice_in_feed: inner.twice.clone(),
            latency: inner.latency.summary(),
            outcomes: inner.outcomes.clone(),
        }
    }
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker::new()
    }
}

/// The watcher's own cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedCost {
    /// Pages read.
    pub polls: u64,
    /// Events read.
    pub events: u64,
    /// Polls that failed (no answer or not 200).
    pub failures: u64,
    /// Time to each page.
    pub latency: Latency,
}

#[derive(Deserialize)]
struct Page {
    events: Vec<Event>,
    next: i64,
}

#[derive(Deserialize)]
struct Event {
    application_id: String,
    status: String,
}

/// One page after `cursor`: the events and the next cursor.
async fn page(client: &Client, cursor: i64) -> Result<Page, String> {
    let answer = client
        .get(&format!("/v1/events?after={cursor}&limit={PAGE}"))
        .await
        .map_err(|e| e.0)?;
    if answer.status != 200 {
        return Err(format!("events: HTTP {}", answer.status));
    }
    serde_json::from_slice(&answer.body).map_err(|e| format!("events: {e}"))
}

/// The cursor after the last event there is now (the feed read to its end).
pub async fn end_of_feed(client: &Client) -> Result<i64, String> {
    let mut cursor = 0;
    loop {
        let p = page(client, cursor).await?;
        let n = p.events.len();
        cursor = p.next;
        if n < PAGE {
            return Ok(cursor);
        }
    }
}

/// Read the feed from `cursor` into `tracker` until `stop` turns true; the watcher's cost.
pub async fn watch(
    client: Client,
    tracker: std::sync::Arc<Tracker>,
    mut cursor: i64,
    mut stop: watch::Receiver<bool>,
) -> FeedCost {
    let mut cost = FeedCost::default();
    let mut latency = Histogram::default();
    loop {
        let asked = Instant::now();
        let full = match page(&client, cursor).await {
            Ok(p) => {
                let at = Instant::now();
                for e in &p.events {
                    tracker.observe(&e.application_id, &e.status, at);
                }
                cost.events += p.events.len() as u64;
                cursor = p.next;
                p.events.len() == PAGE
            }
            Err(_) => {
                cost.failures += 1;
                false
            }
        };
        cost.polls += 1;
        latency.record(micros(asked.elapsed()));
        if full {
            continue;
        }
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => {}
        }
    }
    cost.latency = latency.summary();
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_counted_once_and_a_second_one_is_reported() {
        let t = Tracker::new();
        let start = Instant::now();
        t.expect("a", Kind::Apply, start);
        t.expect("b", Kind::Duplicate, start);
        t.expect("c", Kind::Apply, start);
        assert_eq!(t.pending(), 3);
        t.observe("a", "in_review", start);
        assert_eq!(t.pending(), 3);
        t.observe("a", "approved", start + Duration::from_millis(40));
        t.observe("b", "rejected", start + Duration::from_millis(50));
        t.observe("b", "approved", start + Duration::from_millis(60));
        t.observe("c", "manual_review", start);
        t.observe("stranger", "approved", start);
        let s = t.summary();
        assert_eq!((s.decided, s.escalated, s.pending), (2, 1, 0));
        assert_eq!(s.decided_twice_in_feed, ["b"]);
        assert_eq!(s.outcomes["apply"]["approved"], 1);
        assert_eq!(s.outcomes["apply"]["manual_review"], 1);
        assert_eq!(s.outcomes["duplicate"]["rejected"], 1);
        assert!(s.latency.p50_ms >= 40.0 && s.latency.max_ms <= 50.0);
        // Accepting again after a decision (an idempotent retry) does not await it again.
        t.expect("a", Kind::Apply, start);
        assert_eq!(t.pending(), 0);
    }
}
