//! The stop signal every long-running task watches (listeners, workers, dispatchers): a
//! `watch::Sender<bool>` set once to `true`. A task selects on [`stopped`] beside its work.

use tokio::sync::watch;

/// Completes once the signal is `true` (or its sender is gone).
pub async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; it is dropped here, before any caller's await.
    let _ = stopping.wait_for(|s| *s).await;
}
