//! Certificates reloaded when their files change (`ops.watch_certs`).
//!
//! notify watches the files' directories, not the files: a rotation renames new files into place, so
//! the inode a file watch held is gone after the first one. Events are debounced
//! ([`SETTLE`]) because one rotation is several writes (`reggate certs rotate` renames the key, then the
//! certificate); a reload between them sees a mismatched pair, refuses it, and the next event after
//! the settle time reloads the complete one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::shutdown::stopped;
use crate::tls::live::LiveCerts;

/// How long the files must be quiet before a reload.
pub const SETTLE: Duration = Duration::from_millis(500);

/// Start watching the files of `certs`; the returned task reloads on changes until `stopping`.
pub fn start(
    certs: Arc<LiveCerts>,
    stopping: watch::Receiver<bool>,
) -> Result<impl Future<Output = ()> + Send + 'static, String> {
    let files: HashSet<PathBuf> = certs.files().iter().map(|f| absolute(f)).collect();
    let dirs: HashSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    let (tx, rx) = mpsc::unbounded_channel();
    let watched = files.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        if event.paths.iter().any(|p| watched.contains(&absolute(p))) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| format!("certificate file watch: {e}"))?;
    for dir in &dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("certificate file watch on {}: {e}", dir.display()))?;
    }
    Ok(run(certs, watcher, rx, stopping))
}

async fn run(
    certs: Arc<LiveCerts>,
    // Kept for as long as the task runs: dropping it ends the watch.
    _watcher: notify::RecommendedWatcher,
    mut changes: mpsc::UnboundedReceiver<()>,
    mut stopping: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            change = changes.recv() => if change.is_none() { return },
            _ = stopped(&mut stopping) => return,
        }
        // Settle: wait until no change came for SETTLE.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SETTLE) => break,
                change = changes.recv() => if change.is_none() { return },
                _ = stopped(&mut stopping) => return,
            }
        }
        certs.reload("file-change").await;
    }
}

/// The path made absolute by its directory's canonical form (the file itself may be mid-rename).
fn absolute(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}
