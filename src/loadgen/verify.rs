//! The check after a run: every application the gateway accepted (answered 202) is in its store and,
//! if its documents were all uploaded, decided exactly once. Each is fetched (`GET
//! /v1/applications/{id}`, concurrently) and its journal read:
//!
//! - **missing**: 404 — an acknowledged application was lost;
//! - **decided twice**: two or more worker decisions (`approved`, `rejected`, `needs_clarification`)
//!   in the journal;
//! - **undecided**: expected decided, but neither decided nor escalated (`manual_review`, which a
//!   reviewer decides; counted apart, not a failure) after the drain;
//! - **unreadable**: no usable answer after retries.
//!
//! Any of these fails the check (the CLI exits 1). Applications expected to wait (their documents
//! never sent) need only be present, decided at most once: an upload whose answer was lost may
//! still have arrived. The list comes from the run itself or from the JSON-lines file it wrote as it
//! went (`--accepted FILE`), so a crash test can verify after restarting the gateway
//! (`reggate loadgen --verify-only FILE`).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::loadgen::LoadError;
use crate::loadgen::client::Client;
use crate::loadgen::decisions::{DECIDED, ESCALATED};

/// What an accepted application should become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Decided exactly once (its documents were all uploaded).
    Decided,
    /// Present; it waits for documents (decided at most once).
    Waiting,
}

/// One accepted application, a line of the accepted file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Its id.
    pub id: String,
    /// Its number (`RG-…`).
    pub number: String,
    /// The scenario kind that submitted it.
    pub kind: String,
    /// What it should become.
    pub expect: Expect,
}

/// The accepted applications of a run, in memory and, if asked, in a JSON-lines file written as
/// they come (flushed once a second and at the end), so the list survives the run.
pub struct Ledger {
    inner: Mutex<(Vec<Accepted>, Option<std::io::BufWriter<std::fs::File>>)>,
    path: Option<PathBuf>,
}

impl Ledger {
    /// A ledger writing to `path` (created, truncated) if given.
    pub fn create(path: Option<&Path>) -> Result<Ledger, LoadError> {
        let file = match path {
            Some(p) => Some(std::io::BufWriter::new(
                std::fs::File::create(p).map_err(|e| LoadError::io(p, e))?,
            )),
            None => None,
        };
        Ok(Ledger {
            inner: Mutex::new((Vec::new(), file)),
            path: path.map(Path::to_path_buf),
        })
    }

    /// Note an application (again, to change what it should become: the last line counts).
    pub fn record(&self, accepted: Accepted) -> Result<(), LoadError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = inner.1.as_mut() {
            let line = serde_json::to_string(&accepted).unwrap_or_default();
            writeln!(file, "{line}").map_err(|e| self.io(e))?;
        }
        inner.0.push(accepted);
        Ok(())
    }

    /// Write what is buffered to the file.
    pub fn flush(&self) -> Result<(), LoadError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = inner.1.as_mut() {
            file.flush().map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Every application, each once, as last recorded.
    pub fn applications(&self) -> Vec<Accepted> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        latest(inner.0.clone())
    }

    fn io(&self, e: std::io::Error) -> LoadError {
        LoadError::io(self.path.as_deref().unwrap_or(Path::new("-")), e)
    }
}

/// Each id once, as its last entry says, in order of first appearance.
fn latest(entries: Vec<Accepted>) -> Vec<Accepted> {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Accepted> = Vec::new();
    for a in entries {
        match at.get(&a.id) {
            Some(&i) => out[i] = a,
            None => {
                at.insert(a.id.clone(), out.len());
                out.push(a);
            }
        }
    }
    out
}

/// Read an accepted file: JSON lines as a run writes them, or plain ids one a line (expected
/// decided). Blank lines are skipped; the last line of an id counts.
pub fn read_accepted(path: &Path) -> Result<Vec<Accepted>, LoadError> {
    let file = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
    let mut entries = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| LoadError::io(path, e))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('{') {
            let a: Accepted = serde_json::from_str(line)
                .map_err(|e| LoadError::Setup(format!("{} line {}: {e}", path.display(), n + 1)))?;
            entries.push(a);
        } else {
            entries.push(Accepted {
                id: line.to_string(),
                number: String::new(),
                kind: "listed".into(),
                expect: Expect::Decided,
            });
        }
    }
    Ok(latest(entries))
}

/// The outcome of the check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Applications checked.
    pub checked: u64,
    /// Decided exactly once, as expected.
    pub decided: u64,
    /// Escalated to `manual_review` (a reviewer decides; not a failure).
    pub escalated: u64,
    /// Expected to wait, and present.
    pub waiting: u64,
    /// Not in the store (404): lost.
    pub missing: Vec<String>,
    /// Expected decided, neither decided nor escalated.
    pub undecided: Vec<String>,
    /// Decided two or more times.
    pub decided_twice: Vec<String>,
    /// No usable answer.
    pub unreadable: Vec<String>,
    /// Time the check took.
    pub seconds: f64,
}

impl Verification {
    /// Nothing missing, undecided, decided twice or unreadable.
    pub fn passed(&self) -> bool {
        self.missing.is_empty()
            && self.undecided.is_empty()
            && self.decided_twice.is_empty()
            && self.unreadable.is_empty()
    }
}

/// What one application's answer says.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Missing,
    Unreadable,
    /// Decisions and escalations in its journal.
    Journal {
        decisions: usize,
        escalations: usize,
    },
}

/// Fetch one application, retrying a missing answer or a 5xx a few times.
async fn fetch(client: &Client, id: &str) -> Found {
    #[derive(Deserialize)]
    struct View {
        journal: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        to: String,
    }
    for attempt in 0..4u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        match client.get(&format!("/v1/applications/{id}")).await {
            Ok(a) if a.status == 404 => return Found::Missing,
            Ok(a) if a.status == 200 => {
                return match serde_json::from_slice::<View>(&a.body) {
                    Ok(view) => Found::Journal {
                        decisions: view
                            .journal
                            .iter()
                            .filter(|e| DECIDED.contains(&e.to.as_str()))
                            .count(),
                        escalations: view.journal.iter().filter(|e| e.to == ESCALATED).count(),
                    },
                    Err(_) => Found::Unreadable,
                };
            }
            Ok(a) if a.status < 500 && a.status != 429 => return Found::Unreadable,
            _ => {}
        }
    }
    Found::Unreadable
}

fn judge(out: &mut Verification, a: &Accepted, found: Found) {
    out.checked += 1;
    match (found, a.expect) {
        (Found::Missing, _) => out.missing.push(a.id.clone()),
        (Found::Unreadable, _) => out.unreadable.push(a.id.clone()),
        (Found::Journal { decisions, .. }, _) if decisions > 1 => {
            out.decided_twice.push(a.id.clone())
        }
        (Found::Journal { decisions: 1, .. }, Expect::Decided) => out.decided += 1,
        (Found::Journal { escalations, .. }, Expect::Decided) if escalations > 0 => {
            out.escalated += 1
        }
        (Found::Journal { .. }, Expect::Decided) => out.undecided.push(a.id.clone()),
        (Found::Journal { .. }, Expect::Waiting) => out.waiting += 1,
    }
}

/// Check `applications` over `concurrency` requests at once.
pub async fn verify(
    client: &Client,
    applications: &[Accepted],
    concurrency: usize,
) -> Verification {
    let started = Instant::now();
    let list = Arc::new(applications.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let out = Arc::new(Mutex::new(Verification::default()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1).min(list.len().max(1)) {
        let (client, list, next, out) = (client.clone(), list.clone(), next.clone(), out.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(a) = list.get(i) else { break };
                let found = fetch(&client, &a.id).await;
                judge(&mut out.lock().unwrap_or_else(|p| p.into_inner()), a, found);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let mut v = out.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Tasks finish in any order: sort the lists so a report reads the same every time.
    for list in [
        &mut v.missing,
        &mut v.undecided,
        &mut v.decided_twice,
        &mut v.unreadable,
    ] {
        list.sort();
    }
    v.seconds = started.elapsed().as_secs_f64();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(id: &str, expect: Expect) -> Accepted {
        Accepted {
            id: id.into(),
            number: format!("RG-{id}"),
            kind: "apply".into(),
            expect,
        }
    }

    #[test]
    fn journals_are_judged_by_what_was_expected() {
        let mut v = Verification::default();
        let journal = |decisions, escalations| Found::Journal {
            decisions,
            escalations,
        };
        judge(&mut v, &accepted("a", Expect::Decided), journal(1, 0));
        judge(&mut v, &accepted("b", Expect::Decided), journal(0, 0));
        judge(&mut v, &accepted("c", Expect::Decided), journal(2, 0));
        judge(&mut v, &accepted("d", Expect::Decided), journal(0, 1));
        judge(&mut v, &accepted("e", Expect::Decided), Found::Missing);
        judge(&mut v, &accepted("f", Expect::Waiting), journal(0, 0));
        judge(&mut v, &accepted("g", Expect::Waiting), journal(1, 0));
        judge(&mut v, &accepted("h", Expect::Waiting), Found::Unreadable);
        assert_eq!((v.checked, v.decided, v.escalated, v.waiting), (8, 1, 1, 2));
        assert_eq!(v.undecided, ["b"]);
        assert_eq!(v.decided_twice, ["c"]);
        assert_eq!(v.missing, ["e"]);
        assert_eq!(v.unreadable, ["h"]);
        assert!(!v.passed());
        assert!(Verification::default().passed());
    }

    #[test]
    fn the_accepted_file_reads_back_with_the_last_line_of_an_id_counting() {
        let path = std::env::temp_dir().join(format!("reggate-ledger-{}", std::process::id()));
        let ledger = Ledger::create(Some(&path)).expect("create");
        ledger.record(accepted("a", Expect::Decided)).expect("a");
        ledger.record(accepted("b", Expect::Decided)).expect("b");
        ledger
            .record(accepted("a", Expect::Waiting))
            .expect("a again");
        ledger.flush().expect("flush");
        let read = read_accepted(&path).expect("read");
        assert_eq!(read, ledger.applications());
        assert_eq!(
            read,
            [
                accepted("a", Expect::Waiting),
                accepted("b", Expect::Decided)
            ]
        );
        // Plain ids, one a line.
        std::fs::write(&path, "x\n\n y \n").expect("write");
        let ids: Vec<String> = read_accepted(&path)
            .expect("read")
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["x", "y"]);
        let _ = std::fs::remove_file(&path);
    }
}
