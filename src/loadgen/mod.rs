//! `reggate loadgen` as a library: drive the HTTPS API with a [`Plan`] and get a [`Report`] —
//! accepted/s, decided/s, acceptance and submit→decision percentiles, 429s, errors — and a check
//! that every application answered 202 is in the store and decided exactly once ([`verify`]).
//! Issue 16's crash test, fault matrix and hostile clients drive it through this API.
//!
//! A run, in order:
//! 1. the target: a running gateway ([`Target::Remote`]) or one started here ([`inprocess`]);
//! 2. applicants walked from the gateway's own synthetic population ([`people`]), so every
//!    submission passes every registry check and most are approved;
//! 3. the backlog, if asked: applications that wait for documents forever ([`drive::backlog`]);
//! 4. the events watcher started at the end of the outbox feed ([`decisions`]);
//! 5. the timed run at the plan's pace, a progress line a second ([`drive`]);
//! 6. the drain: waiting (at most [`Plan::drain`]) for the decisions still due;
//! 7. the verification ([`verify`]) and the [`Report`].
//!
//! Layout: [`plan`] (options), [`people`] (who applies), [`requests`] (bodies, documents, invalid
//! variants), [`client`] (HTTPS keep-alive), [`stats`] and [`histogram`] (counting), [`decisions`]
//! (the feed), [`drive`] (scenarios and paces), [`verify`], [`report`], [`inprocess`].

pub mod client;
pub mod decisions;
pub mod drive;
pub mod histogram;
pub mod inprocess;
pub mod people;
pub mod plan;
pub mod report;
pub mod requests;
pub mod stats;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub use plan::{Auth, InProcess, Kind, Mix, Observer, Pace, Plan, Remote, Target};
pub use report::Report;
pub use verify::{Accepted, Expect, Verification};

use crate::mock::population::Population;
use client::Client;
use drive::Run;
use stats::Stats;

/// Why a run could not be made (a run that found problems still returns its [`Report`]).
#[derive(Debug)]
pub enum LoadError {
    /// The target could not be set up or reached: TLS material, the gateway, the first request.
    Setup(String),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

impl LoadError {
    /// An I/O failure on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> LoadError {
        LoadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Setup(what) => f.write_str(what),
            LoadError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Setup(_) => None,
        }
    }
}

/// A snapshot of a run, once a second (to the progress line and [`Plan::observer`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// `backlog`, `run` or `drain`.
    pub phase: &'static str,
    /// Since the phase began.
    pub elapsed: Duration,
    /// Applications accepted in the phase.
    pub accepted: u64,
    /// Decisions read.
    pub decided: u64,
    /// 429s in the phase.
    pub refused: u64,
    /// Errors in the phase.
    pub errors: u64,
    /// Scenarios in flight.
    pub in_flight: u64,
    /// Accepted applications whose decision has not been read yet.
    pub awaiting_decision: u64,
}

/// Run `plan`: the whole sequence of the module's documentation.
pub async fn run(plan: &Plan) -> Result<Report, LoadError> {
    let mut plan = plan.clone();
    let mut notes = Vec::new();
    let started = match &plan.target {
        Target::Remote(_) => None,
        Target::InProcess(spec) => {
            let s = inprocess::start(spec, plan.population, plan.backlog).await?;
            if plan.backlog > 0 {
                notes.push(format!(
                    "the in-process gateway's backlog limit was raised by the pre-filled backlog to {}",
                    s.backlog_limit
                ));
            }
            plan.population = s.population;
            Some(s)
        }
    };
    let (remote, in_process) = match (&plan.target, &started) {
        (Target::Remote(r), _) => (r.clone(), false),
        (_, Some(s)) => (s.remote.clone(), true),
        (Target::InProcess(_), None) => unreachable!("started above"),
    };
    let outcome = drive_run(&plan, &remote, in_process, notes).await;
    if let Some(s) = started {
        s.stop().await;
    }
    outcome
}

/// The run against a reachable gateway.
async fn drive_run(
    plan: &Plan,
    remote: &Remote,
    in_process: bool,
    mut notes: Vec<String>,
) -> Result<Report, LoadError> {
    let client = Client::new(remote, plan.connections, plan.timeout)?;
    match client.get("/v1/health").await {
        Ok(a) if a.status == 200 => {}
        Ok(a) => {
            return Err(LoadError::Setup(format!(
                "{}: /v1/health answered {}",
                remote.url, a.status
            )));
        }
        Err(e) => return Err(LoadError::Setup(format!("{}: {e}", remote.url))),
    }
    let population = plan.population;
    let applicants = tokio::task::spawn_blocking(move || {
        let today = crate::calendar::today(std::time::SystemTime::now());
        people::Applicants::new(Population::generate(&population), today)
    })
    .await
    .map_err(|e| LoadError::Setup(format!("population: {e}")))?;
    let ledger = verify::Ledger::create(plan.accepted_file.as_deref())?;
    let run = Arc::new(Run::new(plan.clone(), client.clone(), applicants, ledger));

    // The backlog.
    let backlog = if plan.backlog > 0 {
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let t = Instant::now();
        let ticker = tokio::spawn(drive::progress(
            run.clone(),
            drive::Watched::Backlog(stats.clone()),
            t,
            stopped,
        ));
        drive::backlog(run.clone(), stats.clone(), plan.backlog).await;
        stop.send_replace(true);
        let _ = ticker.await;
        let seconds = t.elapsed().as_secs_f64();
        let accepted = stats.accepted.load(Ordering::Relaxed);
        Some(report::BacklogReport {
            requested: plan.backlog as u64,
            accepted,
            too_many_requests: stats.refused.load(Ordering::Relaxed),
            errors: stats.errors.load(Ordering::Relaxed),
            seconds,
            per_second: accepted as f64 / seconds.max(1e-9),
            acceptance: stats.acceptance().summary(),
        })
    } else {
        None
    };

    // The watcher, from the end of the feed as it stands.
    let cursor = decisions::end_of_feed(&client)
        .await
        .map_err(|e| LoadError::Setup(format!("the events feed: {e}")))?;
    let (stop_watch, watch_stopped) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(decisions::watch(
        client.clone(),
        run.tracker.clone(),
        cursor,
        watch_stopped,
    ));

    // The timed run.
    run.tracker.restart();
    let start = run.tracker.start();
    let end = start + plan.duration;
    let (stop_progress, progress_stopped) = tokio::sync::watch::channel(false);
    let ticker = tokio::spawn(drive::progress(
        run.clone(),
        drive::Watched::Run { end },
        start,
        progress_stopped,
    ));
    drive::timed(run.clone(), end).await;
    let window = plan.duration.min(start.elapsed());

    // The drain.
    let drain_from = Instant::now().max(end);
    let drain_until = drain_from + plan.drain;
    while run.tracker.pending() > 0 && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_progress.send_replace(true);
    let _ = ticker.await;
    stop_watch.send_replace(true);
    let feed = watcher.await.unwrap_or_default();
    let drain_s = run
        .tracker
        .last_decision()
        .map_or(0.0, |t| t.saturating_duration_since(end).as_secs_f64())
        .max(if run.tracker.pending() > 0 {
            plan.drain.as_secs_f64()
        } else {
            0.0
        });
    run.ledger.flush()?;

    // The verification.
    let verification = if plan.verify {
        Some(verify::verify(&client, &run.ledger.applications(), plan.connections).await)
    } else {
        None
    };

    let applicants = {
        let a = run.applicants.lock().unwrap_or_else(|p| p.into_inner());
        report::ApplicantsReport {
            population: plan.population,
            households_walked: a.scanned,
            wrapped: a.wrapped,
            exhausted: run.no_applicants.load(Ordering::Relaxed),
        }
    };
    let pending = run.tracker.pending();
    if pending > 0 {
        notes.push(format!(
            "{pending} accepted applications were still awaiting their decision when the {:.0} s drain ended: the gateway decided slower than it accepted (a longer --drain lets the verification see them decided)",
            plan.drain.as_secs_f64()
        ));
    }
    if applicants.wrapped > 0 {
        notes.push(format!(
            "the population ({} people, seed {}) ran out of eligible cases {} time(s): later applications repeat earlier cases and are rejected as duplicates; a larger --people keeps them fresh",
            plan.population.people, plan.population.seed, applicants.wrapped
        ));
    }
    if applicants.exhausted {
        notes.push(
            "the population holds no eligible applicant (is it the gateway's? --seed-population, --people)"
                .into(),
        );
    }
    let secs = window.as_secs_f64().max(1e-9);
    let (accepted_per_second, decided_per_second) = run.tracker.timelines();
    let accepted_in_window: u64 = accepted_per_second
        .iter()
        .take(window.as_secs() as usize)
        .sum();
    let decided_in_window = run.tracker.decided_within(window);
    let requests = run.stats.requests();
    let expected_refusals = requests.get("invalid").map_or(0, |r| r.expected);
    Ok(Report {
        target: remote.url.clone(),
        in_process,
        pace: match plan.pace {
            Pace::FlatOut => "flat out".into(),
            Pace::Rate(r) => format!("{r}/s"),
        },
        connections: plan.connections,
        mix: plan.mix.to_string(),
        documents: plan.documents,
        document_bytes: plan.document_bytes,
        duration_s: window.as_secs_f64(),
        backlog,
        scenarios: run
            .started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
        skipped_starts: run.stats.skipped.load(Ordering::Relaxed),
        accepted: run.stats.accepted.load(Ordering::Relaxed),
        accepted_in_window,
        accepted_per_s: accepted_in_window as f64 / secs,
        acceptance: run.stats.acceptance().summary(),
        decided_in_window,
        decided_per_s: decided_in_window as f64 / secs,
        decisions: run.tracker.summary(),
        drain_s,
        too_many_requests: run.stats.refused.load(Ordering::Relaxed),
        errors: run.stats.errors.load(Ordering::Relaxed),
        expected_refusals,
        requests,
        example_errors: run.stats.example_errors(),
        events: feed,
        applicants,
        accepted_per_second,
        decided_per_second,
        verification,
        notes,
    })
}

/// Check applications accepted earlier (e.g. [`verify::read_accepted`] of a run's file, after a
/// restart) against `remote`, `concurrency` requests at once.
pub async fn verify_only(
    remote: &Remote,
    applications: &[Accepted],
    concurrency: usize,
    timeout: Duration,
) -> Result<Verification, LoadError> {
    let client = Client::new(remote, concurrency, timeout)?;
    Ok(verify::verify(&client, applications, concurrency).await)
}
