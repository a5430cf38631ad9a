//! Driving the load: the scenarios (what one draw of the mix sends), the two paces — flat out, every
//! connection running one scenario after another; or a fixed rate, scenarios started on schedule
//! whether or not earlier ones have finished (open loop: a scenario's latency counts from when it
//! was due, so a gateway that falls behind cannot hide its queue behind the client's) — the backlog
//! pre-fill, and the progress line.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use hyper::Method;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::loadgen::Progress;
use crate::loadgen::client::{Client, Lane};
use crate::loadgen::decisions::Tracker;
use crate::loadgen::people::{Applicants, Case};
use crate::loadgen::plan::{Kind, Pace, Plan};
use crate::loadgen::requests;
use crate::loadgen::stats::{Request, Stats};
use crate::loadgen::verify::{Accepted, Expect, Ledger};

/// What the scenarios of a run share.
pub struct Run {
    /// The client.
    pub client: Client,
    /// The plan.
    pub plan: Plan,
    /// Who applies.
    pub applicants: Mutex<Applicants>,
    /// The timed run's counters.
    pub stats: Stats,
    /// Decisions awaited and seen.
    pub tracker: Arc<Tracker>,
    /// Accepted applications.
    pub ledger: Ledger,
    /// Mix draws and invalid variants.
    rng: Mutex<ChaCha8Rng>,
    /// Makes idempotency keys and documents unique to this run.
    run_id: String,
    seq: AtomicU64,
    /// Set when the population has no eligible applicant: scenarios needing one are skipped.
    pub no_applicants: AtomicBool,
    /// Scenarios started, by kind.
    pub started: Mutex<std::collections::BTreeMap<String, u64>>,
}

/// Which counters a scenario feeds: the timed run's (tracked, recorded) or the backlog's.
#[derive(Clone, Copy)]
pub struct Phase<'a> {
    /// Counters.
    pub stats: &'a Stats,
    /// Whether accepted applications go to the ledger and the tracker.
    pub tracked: bool,
}

fn json() -> (HeaderName, HeaderValue) {
    (CONTENT_TYPE, HeaderValue::from_static("application/json"))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(5)).min(2_000))
}

impl Run {
    /// A run of `plan` over `client`, applicants walked from `applicants`.
    pub fn new(plan: Plan, client: Client, applicants: Applicants, ledger: Ledger) -> Run {
        Run {
            client,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(plan.seed)),
            plan,
            applicants: Mutex::new(applicants),
            stats: Stats::default(),
            tracker: Arc::new(Tracker::new()),
            ledger,
            run_id: crate::ids::uuid_v4()[..8].to_string(),
            seq: AtomicU64::new(0),
            no_applicants: AtomicBool::new(false),
            started: Mutex::new(Default::default()),
        }
    }

    fn draw(&self, below: u64) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .random_range(0..below.max(1))
    }

    /// The next scenario kind of the mix.
    pub fn next_kind(&self) -> Kind {
        self.plan.mix.pick(self.draw(self.plan.mix.total()))
    }

    fn unique(&self) -> String {
        format!(
            "{}-{}",
            self.run_id,
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn case(&self, kind: Kind, tracked: bool) -> Option<Case> {
        let mut a = self.applicants.lock().unwrap_or_else(|p| p.into_inner());
        let case = match kind {
            Kind::Submit if !tracked => a.next_waiting(),
            Kind::Submit => a.next_unremembered(),
            Kind::Apply => a.next_eligible(),
            Kind::Duplicate => a.next_duplicate(),
            Kind::Eligibility | Kind::Invalid => a.peek(),
        };
        if case.is_none() {
            self.no_applicants.store(true, Ordering::Relaxed);
        }
        case
    }

    /// One scenario of `kind`, due at `due`.
    pub async fn scenario(&self, phase: Phase<'_>, kind: Kind, due: Instant) {
        phase.stats.started.fetch_add(1, Ordering::Relaxed);
        phase.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        if phase.tracked {
            *self
                .started
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(kind.name().to_string())
                .or_default() += 1;
        }
        if let Some(case) = self.case(kind, phase.tracked) {
            match kind {
                Kind::Apply | Kind::Submit | Kind::Duplicate => {
                    self.application(phase, kind, &case, due).await
                }
                Kind::Eligibility => self.eligibility(phase, &case).await,
                Kind::Invalid => self.invalid(phase, &case).await,
            }
        }
        phase.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Submit an application of `case`; for kinds that are decided, upload its documents.
    async fn application(&self, phase: Phase<'_>, kind: Kind, case: &Case, due: Instant) {
        let unique = self.unique();
        let documents = if kind == Kind::Submit {
            // Never uploaded: the manifest needs only the required entries, and no bytes are made.
            0
        } else {
            self.plan.documents
        };
        let size = if kind == Kind::Submit {
            1024
        } else {
            self.plan.document_bytes
        };
        let app = requests::application(case, documents, size, &unique);
        let Some((id, number)) = self.submit(phase, app.body.clone(), &unique, due).await else {
            return;
        };
        if !phase.tracked {
            return;
        }
        self.tracker.accepted();
        let decided = kind.decided();
        if decided {
            self.tracker.expect(&id, kind, due);
        }
        let mut entry = Accepted {
            id: id.clone(),
            number,
            kind: kind.name().to_string(),
            expect: if decided {
                Expect::Decided
            } else {
                Expect::Waiting
            },
        };
        self.note(entry.clone());
        if !decided {
            return;
        }
        for upload in &app.uploads {
            if !self.upload(phase, &id, upload).await {
                // It waits for the document that did not arrive: present, not decided.
                self.tracker.forget(&id);
                entry.expect = Expect::Waiting;
                self.note(entry);
                return;
            }
        }
    }

    fn note(&self, entry: Accepted) {
        if let Err(e) = self.ledger.record(entry) {
            tracing::error!(error = %e, "loadgen: the accepted file");
        }
    }

    /// `POST /v1/applications`, retried with the same key on no answer or a 5xx; the id and number
    /// of a 202.
    async fn submit(
        &self,
        phase: Phase<'_>,
        body: Bytes,
        key: &str,
        due: Instant,
    ) -> Option<(String, String)> {
        let key = HeaderValue::from_str(key).ok()?;
        let headers = [json(), (HeaderName::from_static("idempotency-key"), key)];
        for attempt in 0..=self.plan.retries {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let sent = Instant::now();
            let answer = self
                .client
                .send(
                    Lane::Load,
                    Method::POST,
                    "/v1/applications",
                    &headers,
                    body.clone(),
                )
                .await;
            match answer {
                Ok(a) => {
                    phase
                        .stats
                        .answered(Request::Submit, a.status, sent.elapsed());
                    if a.status == 202 {
                        #[derive(serde::Deserialize)]
                        struct Created {
                            id: String,
                            number: String,
                        }
                        let created: Created = serde_json::from_slice(&a.body).ok()?;
                        phase.stats.accepted(due.elapsed());
                        return Some((created.id, created.number));
                    }
                    if a.status < 500 {
                        return None;
                    }
                }
                Err(e) => phase
                    .stats
                    .unanswered(Request::Submit, sent.elapsed(), &e.0),
            }
        }
        None
    }

    /// `PUT …/documents/{name}`, retried on no answer, a 5xx or a 429; whether it arrived.
    async fn upload(&self, phase: Phase<'_>, id: &str, upload: &requests::Upload) -> bool {
        let path = format!("/v1/applications/{id}/documents/{}", upload.name);
        let headers = [(CONTENT_TYPE, HeaderValue::from_static("application/pdf"))];
        for attempt in 0..=self.plan.retries {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let sent = Instant::now();
            match self
                .client
                .send(
                    Lane::Load,
                    Method::PUT,
                    &path,
                    &headers,
                    upload.bytes.clone(),
                )
                .await
            {
                Ok(a) => {
                    phase
                        .stats
                        .answered(Request::Document, a.status, sent.elapsed());
                    if a.status == 201 {
                        return true;
                    }
                    if a.status < 500 && a.status != 429 {
                        return false;
                    }
                }
                Err(e) => phase
                    .stats
                    .unanswered(Request::Document, sent.elapsed(), &e.0),
            }
        }
        false
    }

    /// `POST /v1/eligibility` of `case`.
    async fn eligibility(&self, phase: Phase<'_>, case: &Case) {
        let app = requests::application(case, 0, 64, &self.unique());
        let sent = Instant::now();
        match self
            .client
            .send(
                Lane::Load,
                Method::POST,
                "/v1/eligibility",
                &[json()],
                app.body,
            )
            .await
        {
            Ok(a) => phase
                .stats
                .answered(Request::Eligibility, a.status, sent.elapsed()),
            Err(e) => phase
                .stats
                .unanswered(Request::Eligibility, sent.elapsed(), &e.0),
        }
    }

    /// A request the API must refuse.
    async fn invalid(&self, phase: Phase<'_>, case: &Case) {
        let bad = requests::invalid(case, self.draw(requests::INVALID_VARIANTS));
        let mut headers = vec![json()];
        if bad.with_key
            && let Ok(key) = HeaderValue::from_str(&self.unique())
        {
            headers.push((HeaderName::from_static("idempotency-key"), key));
        }
        let sent = Instant::now();
        match self
            .client
            .send(
                Lane::Load,
                Method::POST,
                "/v1/applications",
                &headers,
                bad.body,
            )
            .await
        {
            Ok(a) => phase
                .stats
                .answered(Request::Invalid, a.status, sent.elapsed()),
            Err(e) => phase
                .stats
                .unanswered(Request::Invalid, sent.elapsed(), &e.0),
        }
    }
}

/// The timed run: scenarios started until `end` at the plan's pace; returns when every started
/// scenario has finished.
pub async fn timed(run: Arc<Run>, end: Instant) {
    fn phase(run: &Run) -> Phase<'_> {
        Phase {
            stats: &run.stats,
            tracked: true,
        }
    }
    match run.plan.pace {
        Pace::FlatOut => {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..run.plan.connections.max(1) {
                let run = run.clone();
                tasks.spawn(async move {
                    while Instant::now() < end && !run.no_applicants.load(Ordering::Relaxed) {
                        let kind = run.next_kind();
                        run.scenario(phase(&run), kind, Instant::now()).await;
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        }
        Pace::Rate(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let start = Instant::now();
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0u64.. {
                let due = start + interval.mul_f64(i as f64);
                if due >= end || run.no_applicants.load(Ordering::Relaxed) {
                    break;
                }
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                }
                while tasks.try_join_next().is_some() {}
                let in_flight = run.stats.in_flight.load(Ordering::Relaxed);
                if in_flight >= run.plan.max_in_flight as i64 {
                    run.stats.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let run = run.clone();
                tasks.spawn(async move {
                    let kind = run.next_kind();
                    run.scenario(phase(&run), kind, due).await;
                });
            }
            while tasks.join_next().await.is_some() {}
        }
    }
}

/// The backlog: `n` applications submitted and left waiting for documents, `connections` at a time.
pub async fn backlog(run: Arc<Run>, stats: Arc<Stats>, n: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..run.plan.connections.max(1).min(n.max(1)) {
        let (run, stats, next) = (run.clone(), stats.clone(), next.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n as u64
                && !run.no_applicants.load(Ordering::Relaxed)
            {
                let phase = Phase {
                    stats: &stats,
                    tracked: false,
                };
                run.scenario(phase, Kind::Submit, Instant::now()).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// What a progress line is about.
pub enum Watched {
    /// The backlog, with its own counters.
    Backlog(Arc<Stats>),
    /// The timed run ending at `end`, then the drain.
    Run {
        /// The end of the timed window.
        end: Instant,
    },
}

/// Once a second until `stop`: a progress snapshot to the observer and, if asked, a line on stderr.
pub async fn progress(
    run: Arc<Run>,
    watched: Watched,
    started: Instant,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut last = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let (phase_name, stats) = match &watched {
            Watched::Backlog(stats) => ("backlog", stats.as_ref()),
            Watched::Run { end } if Instant::now() > *end => ("drain", &run.stats),
            Watched::Run { .. } => ("run", &run.stats),
        };
        let accepted = stats.accepted.load(Ordering::Relaxed);
        let decided = run.tracker.decided();
        let p = Progress {
            phase: phase_name,
            elapsed: started.elapsed(),
            accepted,
            decided,
            refused: stats.refused.load(Ordering::Relaxed),
            errors: stats.errors.load(Ordering::Relaxed),
            in_flight: stats.in_flight.load(Ordering::Relaxed).max(0) as u64,
            awaiting_decision: run.tracker.pending() as u64,
        };
        if run.plan.progress {
            eprintln!(
                "[{:>4} s {:<7}] accepted {:>8} ({:>5}/s)  decided {:>8} ({:>5}/s)  429 {:>6}  errors {:>5}  in flight {:>5}  awaiting decision {:>6}",
                p.elapsed.as_secs(),
                p.phase,
                p.accepted,
                p.accepted - last.0,
                p.decided,
                p.decided - last.1,
                p.refused,
                p.errors,
                p.in_flight,
                p.awaiting_decision,
            );
        }
        if let Some(observer) = &run.plan.observer {
            observer(&p);
        }
        if let Err(e) = run.ledger.flush() {
            tracing::error!(error = %e, "loadgen: the accepted file");
        }
        last = (p.accepted, p.decided);
    }
}
