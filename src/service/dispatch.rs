//! Many applications in flight: one loop per gateway process claims claimable applications in
//! batches and processes each as its own task, up to a configured concurrency. An application
//! waiting on a slow registry holds one task, not a worker thread, so hundreds can wait on the
//! registries at once while the others' work goes on; the SOAP client's per-registry limits and
//! attempt timeouts bound what each registry is sent.
//!
//! The loop claims again at once while claims come back full, waits for a task to finish when
//! every slot is taken, and looks again after [`POLL`] when nothing was claimable. On stop it takes
//! no new work and gives the tasks in flight the stop deadline (`ops.stop_deadline_ms`) to finish;
//! the rest are dropped and their leases released, so another process (or this one, restarted)
//! takes them over at once. A killed process releases nothing: its leases lapse instead.
//!
//! Leases are short and renewed ([`keep_leases`]): every `lease / RENEWALS` the loop extends the
//! lease of each application it still processes. An application waiting long on a slow registry
//! stays held, and one held by a process that was killed comes free one short lease after that
//! process's last renewal — seconds after a restart, not a long fixed lease later.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::service::Workflows;
use crate::service::process::{Processed, Worker};
use crate::shutdown::stopped;

/// Most applications claimed in one transaction.
pub const BATCH: usize = 64;

/// How often an idle loop looks for work.
pub const POLL: Duration = Duration::from_millis(50);

/// A store failure is retried after this pause, not in a hot loop.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Renewals per lease: a lease survives `RENEWALS - 1` renewals that failed or came late.
pub const RENEWALS: u32 = 4;

/// The applications a loop is processing: whose leases it renews.
#[derive(Clone, Default)]
struct Held(Arc<Mutex<HashSet<String>>>);

impl Held {
    /// Hold `id` until the returned guard drops (the task finished, or was aborted).
    fn hold(&self, id: &str) -> Holding {
        self.lock().insert(id.to_string());
        Holding {
            held: self.clone(),
            id: id.to_string(),
        }
    }

    fn ids(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One application in [`Held`], for as long as its task lives.
struct Holding {
    held: Held,
    id: String,
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.held.lock().remove(&self.id);
    }
}

/// Claim and process applications, `concurrency` at a time, until `stopping` turns true; then wait
/// up to `drain` for those in flight.
pub async fn run(
    worker: Worker,
    wf: Workflows,
    concurrency: usize,
    drain: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let concurrency = concurrency.max(1);
    let worker = Arc::new(worker);
    let held = Held::default();
    let renewing = tokio::spawn(keep_leases(worker.clone(), wf.clone(), held.clone()));
    let mut in_flight: JoinSet<()> = JoinSet::new();
    loop {
        while in_flight.try_join_next().is_some() {}
        if *stopping.borrow() {
            break;
        }
        let want = concurrency.saturating_sub(in_flight.len()).min(BATCH);
        let mut starved = false;
        if want > 0 {
            match wf
                .store
                .claim_many(&worker.name, wf.clock.now(), worker.lease, want)
                .await
            {
                Ok(records) => {
                    starved = records.len() < want;
                    metrics::histogram!("reggate_claim_batch").record(records.len() as f64);
                    metrics::counter!("reggate_worker_claims_total")
                        .increment(records.len() as u64);
                    for record in records {
                        let (worker, wf) = (worker.clone(), wf.clone());
                        let holding = held.hold(&record.id);
                        // Its processing and its report logged with its number and request id.
                        let span = crate::service::process::span(&record);
                        in_flight.spawn(
                            async move {
                                let processed = worker.process(&wf, record).await;
                                drop(holding);
                                report(processed);
                            }
                            .instrument(span),
                        );
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming applications");
                    tokio::select! {
                        _ = tokio::time::sleep(AFTER_FAILURE) => {}
                        _ = stopped(&mut stopping) => {}
                    }
                    continue;
                }
            }
        }
        metrics::gauge!("reggate_applications_in_flight").set(in_flight.len() as f64);
        if want == 0 {
            // Every slot taken: the next claim waits for one to free.
            tokio::select! {
                _ = in_flight.join_next() => {}
                _ = stopped(&mut stopping) => {}
            }
        } else if starved {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stopped(&mut stopping) => {}
            }
        }
    }
    let finish = async { while in_flight.join_next().await.is_some() {} };
    let mut abandoned = Vec::new();
    if tokio::time::timeout(drain, finish).await.is_err() {
        // Taken before the abort: an aborted task's guard drops its id from `held`.
        abandoned = held.ids();
        in_flight.abort_all();
        while in_flight.join_next().await.is_some() {}
    }
    renewing.abort();
    release(&worker, &wf, &abandoned).await;
}

/// Give back the leases of applications abandoned at a stop: set to have ended long ago, so the next
/// claim of any process takes them at once. Their state is whatever the last committed step left
/// (each step is one transaction), and processing resumes from there.
async fn release(worker: &Worker, wf: &Workflows, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    match wf
        .store
        .renew(&worker.name, ids, std::time::SystemTime::UNIX_EPOCH)
        .await
    {
        Ok(released) => tracing::warn!(
            released,
            "stopping: applications still in flight released for the next worker"
        ),
        Err(e) => {
            tracing::error!(error = %e, left = ids.len(), "stopping: leases not released; they lapse instead")
        }
    }
}

/// Renew the leases of the applications in `held`, every `lease / RENEWALS`, for as long as the
/// loop runs (it aborts this task when it ends).
async fn keep_leases(worker: Arc<Worker>, wf: Workflows, held: Held) {
    let every = (worker.lease / RENEWALS).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is now: the claim has just set the lease
    loop {
        tick.tick().await;
        let ids = held.ids();
        if ids.is_empty() {
            continue;
        }
        let until = wf.clock.now() + worker.lease;
        match wf.store.renew(&worker.name, &ids, until).await {
            Ok(renewed) => {
                metrics::counter!("reggate_leases_renewed_total").increment(renewed as u64);
            }
            // The leases still run for most of their length: the next renewal may well succeed.
            Err(e) => tracing::warn!(error = %e, held = ids.len(), "renewing leases"),
        }
    }
}

fn report(processed: Result<Processed, crate::service::ServiceError>) {
    match processed {
        Ok(Processed::Decided(r)) => {
            metrics::counter!("reggate_processed_total", "outcome" => "decided").increment(1);
            metrics::counter!("reggate_decisions_total", "status" => r.status.as_str())
                .increment(1);
            tracing::debug!(status = %r.status.as_str(), "decided");
        }
        Ok(Processed::Parked { .. }) => {
            metrics::counter!("reggate_processed_total", "outcome" => "parked").increment(1);
        }
        Ok(Processed::Escalated(_)) => {
            metrics::counter!("reggate_processed_total", "outcome" => "escalated").increment(1);
        }
        Ok(Processed::Lost { .. }) => {
            metrics::counter!("reggate_processed_total", "outcome" => "lost").increment(1);
        }
        Ok(Processed::Idle) => {}
        Err(e) => {
            metrics::counter!("reggate_processed_total", "outcome" => "error").increment(1);
            tracing::error!(error = %e, "processing an application");
        }
    }
}
