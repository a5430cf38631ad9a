//! Personal data kept only as long as needed: the registries' answers about an application (kept
//! minimised while it may still be decided again, see [`crate::domain::answers`]) are purged once it
//! is final and its appeal window has closed. One sweep a [`SWEEP`], in batches, for as long as the
//! gateway runs; the application, its journal and its decision's reasons stay.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::shutdown::stopped;
use crate::store::{Store, StoreError};

/// How often the sweep runs (its first run is at start).
pub const SWEEP: Duration = Duration::from_secs(60);

/// Applications purged in one transaction: a sweep never holds the writer long.
pub const BATCH: usize = 500;

/// One sweep: purge until nothing final is left with answers; how many were purged.
pub async fn sweep(store: &dyn Store, clock: &dyn Clock) -> Result<usize, StoreError> {
    let mut purged = 0;
    loop {
        let n = store.purge_answers(clock.now(), BATCH).await?;
        purged += n;
        if n < BATCH {
            return Ok(purged);
        }
    }
}

/// Sweep every [`SWEEP`] until `stopping` turns true.
pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stopping) => return,
        }
        match sweep(store.as_ref(), clock.as_ref()).await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("reggate_answers_purged_total").increment(n as u64);
                tracing::info!(
                    applications = n,
                    "registry answers of final applications purged"
                );
            }
            // The next sweep tries again; nothing is lost by waiting.
            Err(e) => tracing::warn!(error = %e, "purging registry answers"),
        }
    }
}
