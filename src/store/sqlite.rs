//! The embedded store: SQLite (rusqlite, bundled) in WAL mode with `synchronous=FULL`.
//!
//! Writes are committed in groups: every write (submission, claim, transition, parking, document)
//! goes to one writer thread, which takes all the writes waiting at that moment, runs each under its
//! own savepoint in one `BEGIN IMMEDIATE` transaction, commits once (one fsync for the group) and
//! only then answers each caller — with its own result, or the commit's failure. A write that fails
//! rolls back its savepoint alone. Under load the group grows by itself (callers queue while the
//! previous group syncs); alone, a write commits at once. Several processes on one file still take
//! turns through `BEGIN IMMEDIATE`.
//!
//! Point reads (an application by id or key, a child's approvals) go to the writer too, whose page cache stays warm
//! ([`SqliteStore::lookup`]). Scans (lists, the events feed, counts) run on a few read-only
//! connections on tokio's blocking pool; WAL lets them proceed while the writer writes, and they see
//! every committed group.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::clock::millis;
use crate::domain::status::Status;
use crate::store::migrations::{Dialect, MIGRATIONS, render};
use crate::store::{
    APPEAL_WINDOW_MS, ApplicationRecord, Attached, Census, Cursor, Earlier, Event, JournalEntry,
    ListFilter, NewApplication, OVERDUE_MS, Parked, Store, StoreError, StoreFuture, StoredDocument,
    Submitted, Summary, Transition, Transitioned, event_kind, open_statuses_sql, parse_status,
    read_parked, with_added,
};

/// Most writes committed in one transaction: bounds how long one group holds the file.
const MAX_GROUP: usize = 512;

/// Writes queued for the writer beyond which callers wait to queue (backpressure).
const QUEUE: usize = 8192;

/// Read-only connections.
const READERS: usize = 4;

/// A write as the writer runs it: inside the group's transaction, under its own savepoint; what it
/// returns answers the caller once the group's commit is known (`None`: committed).
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    readers: Arc<Readers>,
}

struct Readers {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

fn err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::database(e)
}

/// The writer thread is gone (it only stops when the store is dropped) or dropped the write.
fn writer_gone() -> StoreError {
    StoreError::Database("the store's writer stopped before the write was committed".into())
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    // Pages read through a memory map and a 32 MiB cache per connection: with the default 2 MiB
    // cache and pread, copying index pages out of the OS cache was a tenth of the full flow's CPU.
    conn.pragma_update(None, "mmap_size", 1i64 << 30)
        .map_err(err)?;
    conn.pragma_update(None, "cache_size", -32_768)
        .map_err(err)?;
    // Every statement the store runs stays prepared (the default cache holds 16).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Open (or create) the store at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let mut connections = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = connect(path)?;
            reader
                .pragma_update(None, "query_only", "ON")
                .map_err(err)?;
            connections.push(Mutex::new(reader));
        }
        let (writer, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_groups(conn, queue))
            .map_err(StoreError::Io)?;
        Ok(SqliteStore {
            writer,
            readers: Arc::new(Readers {
                connections,
                next: AtomicUsize::new(0),
            }),
        })
    }

    /// Run `f` on a read-only connection on the blocking pool.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let readers = self.readers.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // A free connection if there is one, else wait for the next in turn.
                let n = readers.connections.len();
                let start = readers.next.fetch_add(1, Ordering::Relaxed);
                let conn = (0..n)
                    .find_map(|i| readers.connections[(start + i) % n].try_lock().ok())
                    .unwrap_or_else(|| {
                        readers.connections[start % n]
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                    });
                f(&conn)
            })
            .await
            .map_err(err)?
        })
    }

    /// A point read (an application by id or key, a child's approvals): run by the writer within its group and answered
    /// after the group's commit, so it never shows what is not yet durable. Not on a reader: a reader
    /// connection drops its page cache and memory map whenever another connection has committed
    /// since its last read — under load, before every read — and fetching the index pages cold
    /// (remap, page faults) was a quarter of the full flow's CPU; the writer's cache stays warm.
    /// Scans (lists, the events feed, counts) stay on the readers, out of the writer's way.
    fn lookup<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        self.write(f)
    }

    /// Queue `f` for the writer; answered once the group it ran in is committed.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let out = in_savepoint(conn, f);
            Box::new(move |commit_failed: Option<&str>| {
                let out = match commit_failed {
                    None => out,
                    Some(e) => Err(StoreError::Database(
                        format!("the group's commit failed: {e}").into(),
                    )),
                };
                let _ = answer.send(out);
            })
        });
        let writer = self.writer.clone();
        Box::pin(async move {
            writer.send(job).await.map_err(|_| writer_gone())?;
            answered.await.map_err(|_| writer_gone())?
        })
    }
}

/// Run one write under a savepoint: its failure (or panic) undoes it alone, not its group.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    exec(conn, "SAVEPOINT write", []).map_err(err)?;
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(StoreError::Damaged("a store write panicked".into())));
    if out.is_err() {
        exec(conn, "ROLLBACK TO write", []).map_err(err)?;
    }
    exec(conn, "RELEASE write", []).map_err(err)?;
    out
}

/// The writer thread: group, run, commit, answer — until the store is dropped.
fn write_groups(conn: Connection, mut queue: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while queue.blocking_recv_many(&mut group, MAX_GROUP) > 0 {
        metrics::histogram!("reggate_store_group_writes").record(group.len() as f64);
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Another process held the file past the busy timeout: dropping the group's jobs
            // answers each caller with an error; nothing of theirs was written.
            tracing::error!(error = %e, writes = group.len(), "store group not begun");
            group.clear();
            continue;
        }
        let replies: Vec<Reply> = group.drain(..).map(|job| job(&conn)).collect();
        let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let failed = committed.as_ref().err().map(String::as_str);
        for reply in replies {
            reply(failed);
        }
    }
}

/// `execute` through the connection's statement cache: the writer runs the same few statements
/// thousands of times a second, and parsing them was a fifth of its time.
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache (see [`exec`]).
fn row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)",
    )
    .map_err(err)?;
    for (version, sql) in MIGRATIONS {
        let sql = render(sql, Dialect::Sqlite);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                params![version],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if done.is_none() {
            tx.execute_batch(&sql).map_err(err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, ?2)",
                params![version, millis(SystemTime::now())],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
    }
    Ok(())
}

fn load(conn: &Connection, id_or_number: &str) -> Result<Option<ApplicationRecord>, StoreError> {
    let row = row(
        conn,
        "SELECT id, number, status, benefit, applicant_snils, child_snils, input, submitted_ms,
                    status_since_ms, documents_missing, answers, parked
             FROM applications WHERE id = ?1 OR number = ?1",
        params![id_or_number],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
            ))
        },
    )
    .optional()
    .map_err(err)?;
    let Some((
        id,
        number,
        st,
        benefit,
        applicant_snils,
        child_snils,
        input,
        submitted_ms,
        since,
        missing,
        answers,
        parked,
    )) = row
    else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT at_ms, from_status, to_status, actor, origin, reasons, comment, request_id
             FROM journal WHERE application_id = ?1 ORDER BY id",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map(params![id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
            ))
        })
        .map_err(err)?;
    let mut journal = Vec::new();
    for row in rows {
        let (at_ms, from, to, actor, origin, reasons, comment, request_id) = row.map_err(err)?;
        journal.push(JournalEntry {
            at_ms,
            from: from.as_deref().map(parse_status).transpose()?,
            to: parse_status(&to)?,
            actor,
            origin,
            reasons: serde_json::from_str(&reasons).map_err(err)?,
            comment,
            request_id,
        });
    }
    Ok(Some(ApplicationRecord {
        id,
        number,
        status: parse_status(&st)?,
        benefit,
        applicant_snils,
        child_snils,
        input: serde_json::from_str(&input).map_err(err)?,
        submitted_ms,
        status_since_ms: since,
        documents_missing: serde_json::from_str(&missing).map_err(err)?,
        journal,
        answers: answers
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(err)?,
        parked: parked.as_deref().and_then(read_parked),
    }))
}

/// Journal entry and outbox event of a transition, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn record_transition(
    conn: &Connection,
    id: &str,
    from: Option<Status>,
    to: Status,
    actor: &str,
    origin: &str,
    reasons: &serde_json::Value,
    comment: Option<&str>,
    request_id: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    exec(conn,
        "INSERT INTO journal (application_id, at_ms, from_status, to_status, actor, origin, reasons,
             comment, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            id,
            at_ms,
            from.map(Status::as_str),
            to.as_str(),
            actor,
            origin,
            reasons.to_string(),
            comment,
            request_id
        ],
    )
    .map_err(err)?;
    exec(
        conn,
        // The next position: one writer, so positions follow commits (migration 7).
        "INSERT INTO outbox (application_id, number, kind, status, at_ms, position)
         SELECT id, number, ?2, ?3, ?4, (SELECT COALESCE(MAX(position), 0) + 1 FROM outbox)
         FROM applications WHERE id = ?1",
        params![id, event_kind(to), to.as_str(), at_ms],
    )
    .map_err(err)?;
    Ok(())
}

fn by_key(conn: &Connection, key: &str) -> Result<Option<Earlier>, StoreError> {
    let found: Option<(String, String)> = row(
        conn,
        "SELECT id, request_hash FROM applications WHERE idempotency_key = ?1",
        params![key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(err)?;
    let Some((id, request_hash)) = found else {
        return Ok(None);
    };
    let record = load(conn, &id)?.ok_or_else(StoreError::vanished)?;
    Ok(Some(Earlier {
        request_hash,
        record,
    }))
}

/// Final applications whose answers are kept no longer (`?1`: rejected before it; `?2`: at most).
const PURGE_ANSWERS: &str = "UPDATE applications SET answers = NULL WHERE id IN (
     SELECT id FROM applications INDEXED BY applications_answers_kept
      WHERE answers IS NOT NULL AND status IN ('approved', 'rejected')
        AND (status = 'approved' OR status_since_ms < ?1)
      LIMIT ?2)";

/// Applications whose lease ran out (`?1`: now), at most `?2`. `INDEXED BY` here and below: without
/// statistics SQLite may prefer the (status, submitted_ms) index and sort what it finds, and a plan
/// that cannot use the named index fails loudly instead of scanning.
const CLAIM_DUE: &str = "SELECT id FROM applications INDEXED BY applications_lease_due
     WHERE status = 'in_review' AND documents_pending = 0
       AND COALESCE(lease_until_ms, 0) < ?1
     ORDER BY COALESCE(lease_until_ms, 0) LIMIT ?2";

/// Submitted applications with every document, oldest first, at most `?2` (`?1` unused).
const CLAIM_READY: &str = "SELECT id FROM applications INDEXED BY applications_ready
     WHERE status = 'submitted' AND documents_pending = 0
     ORDER BY submitted_ms LIMIT ?2";

/// The approved applications of child `?1`, through the partial index of approvals: left to
/// itself SQLite chose the (status, submitted_ms) index and read every approved application for
/// each decision, which made deciding slower the more had been decided.
const APPROVED_FOR_CHILD: &str = "SELECT id FROM applications INDEXED BY applications_one_approval
     WHERE child_snils = ?1 AND status = 'approved'";

/// Up to `limit` claimable applications: those whose lease ran out (a crashed worker's, a parked
/// one's next attempt) first, then `submitted` ones in submission order. Both queries read a partial
/// index of claimable rows only (migration 6), so applications waiting for documents cost nothing.
fn claimable(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<(String, bool)>, StoreError> {
    let mut found = Vec::new();
    // Each query finds one status: `in_review` ones whose lease ran out, then `submitted` ones.
    for (sql, bound, submitted) in [(CLAIM_DUE, Some(now_ms), false), (CLAIM_READY, None, true)] {
        let want = limit.saturating_sub(found.len());
        if want == 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(sql).map_err(err)?;
        let rows = stmt
            .query_map(params![bound, want as i64], |r| r.get::<_, String>(0))
            .map_err(err)?;
        for id in rows {
            found.push((id.map_err(err)?, submitted));
        }
    }
    Ok(found)
}

/// Give one claimable application to `worker` until `until`, moving a `submitted` one to
/// `in_review` with its journal entry and event.
fn claim_one(
    conn: &Connection,
    id: &str,
    submitted: bool,
    worker: &str,
    now_ms: i64,
    until: i64,
) -> Result<ApplicationRecord, StoreError> {
    if submitted {
        exec(
            conn,
            "UPDATE applications SET status = 'in_review', status_since_ms = ?2,
                 lease_holder = ?3, lease_until_ms = ?4 WHERE id = ?1",
            params![id, now_ms, worker, until],
        )
        .map_err(err)?;
        // The claim is journaled under the submitting request's id: one id, one story.
        let submitted_by: String = row(
            conn,
            "SELECT request_id FROM journal WHERE application_id = ?1
                 ORDER BY id DESC LIMIT 1",
            params![id],
            |r| r.get(0),
        )
        .map_err(err)?;
        record_transition(
            conn,
            id,
            Some(Status::Submitted),
            Status::InReview,
            &format!("worker:{worker}"),
            "reggate",
            &serde_json::json!([]),
            None,
            &submitted_by,
            now_ms,
        )?;
    } else {
        exec(
            conn,
            "UPDATE applications SET lease_holder = ?2, lease_until_ms = ?3 WHERE id = ?1",
            params![id, worker, until],
        )
        .map_err(err)?;
    }
    load(conn, id)?.ok_or_else(StoreError::vanished)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl Store for SqliteStore {
    fn submit(&self, new: NewApplication) -> StoreFuture<'_, Submitted> {
        self.write(move |conn| {
            if let Some(earlier) = by_key(conn, &new.idempotency_key)? {
                if earlier.request_hash != new.request_hash {
                    return Ok(Submitted::KeyConflict);
                }
                return Ok(Submitted::Repeated(earlier.record));
            }
            let at = millis(new.at);
            exec(conn,
                "INSERT INTO applications (id, number, idempotency_key, request_hash, status, benefit,
                     applicant_snils, child_snils, input, submitted_ms, status_since_ms,
                     documents_missing, documents_pending)
                 VALUES (?1, ?2, ?3, ?4, 'submitted', ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)",
                params![
                    new.id,
                    new.number,
                    new.idempotency_key,
                    new.request_hash,
                    new.benefit,
                    new.applicant_snils,
                    new.child_snils,
                    new.input.to_string(),
                    at,
                    serde_json::to_string(&new.documents).map_err(err)?,
                    new.documents.len() as i64
                ],
            )
            .map_err(err)?;
            record_transition(
                conn,
                &new.id,
                None,
                Status::Submitted,
                &new.actor,
                &new.origin,
                &serde_json::json!([]),
                None,
                &new.request_id,
                at,
            )?;
            Ok(Submitted::Created(new.stored()))
        })
    }

    fn get<'a>(&'a self, id_or_number: &'a str) -> StoreFuture<'a, Option<ApplicationRecord>> {
        let key = id_or_number.to_string();
        self.lookup(move |conn| load(conn, &key))
    }

    fn by_idempotency_key<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Earlier>> {
        let key = key.to_string();
        self.lookup(move |conn| by_key(conn, &key))
    }

    fn claim_many<'a>(
        &'a self,
        worker: &'a str,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>> {
        let worker = worker.to_string();
        self.write(move |conn| {
            let now_ms = millis(now);
            let until = now_ms + lease.as_millis() as i64;
            let mut out = Vec::new();
            for (id, submitted) in claimable(conn, now_ms, limit)? {
                out.push(claim_one(conn, &id, submitted, &worker, now_ms, until)?);
            }
            Ok(out)
        })
    }

    fn transition(&self, t: Transition) -> StoreFuture<'_, Transitioned> {
        self.write(move |conn| {
            let at = millis(t.at);
            let current: Option<(String, Option<String>, Option<i64>, String)> = row(
                conn,
                "SELECT status, lease_holder, lease_until_ms, documents_missing
                     FROM applications WHERE id = ?1",
                params![t.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(err)?;
            let Some((st, holder, until, missing)) = current else {
                return Ok(Transitioned::Stale);
            };
            if parse_status(&st)? != t.from {
                return Ok(Transitioned::Stale);
            }
            if let Some(worker) = &t.lease_holder
                && (holder.as_deref() != Some(worker.as_str()) || until.is_none_or(|u| u < at))
            {
                return Ok(Transitioned::Stale);
            }
            let missing = with_added(&missing, t.manifest.as_deref(), &t.documents_added)?;
            let updated = exec(
                conn,
                "UPDATE applications SET status = ?2, status_since_ms = ?3, lease_holder = NULL,
                     lease_until_ms = NULL, input = COALESCE(?4, input),
                     answers = COALESCE(?5, answers), parked = NULL,
                     documents_missing = ?6, documents_pending = ?7 WHERE id = ?1",
                params![
                    t.id,
                    t.to.as_str(),
                    at,
                    t.input.as_ref().map(|v| v.to_string()),
                    t.answers.as_ref().map(|v| v.to_string()),
                    missing.0,
                    missing.1
                ],
            );
            match updated {
                Err(e) if is_unique_violation(&e) => return Ok(Transitioned::DuplicateApproval),
                Err(e) => return Err(err(e)),
                Ok(_) => {}
            }
            record_transition(
                conn,
                &t.id,
                Some(t.from),
                t.to,
                &t.actor,
                &t.origin,
                &t.reasons,
                t.comment.as_deref(),
                &t.request_id,
                at,
            )?;
            let record = load(conn, &t.id)?.ok_or_else(StoreError::vanished)?;
            Ok(Transitioned::Done(Box::new(record)))
        })
    }

    fn park<'a>(
        &'a self,
        id: &'a str,
        worker: &'a str,
        parked: &'a Parked,
    ) -> StoreFuture<'a, bool> {
        let (id, worker, parked) = (id.to_string(), worker.to_string(), parked.clone());
        self.write(move |conn| {
            let n = exec(
                conn,
                "UPDATE applications SET parked = ?3, lease_holder = NULL, lease_until_ms = ?4
                     WHERE id = ?1 AND status = 'in_review' AND lease_holder = ?2",
                params![
                    id,
                    worker,
                    serde_json::to_string(&parked).map_err(err)?,
                    parked.next_attempt_ms
                ],
            )
            .map_err(err)?;
            Ok(n == 1)
        })
    }

    fn renew<'a>(
        &'a self,
        worker: &'a str,
        ids: &'a [String],
        until: SystemTime,
    ) -> StoreFuture<'a, usize> {
        let (worker, ids, until) = (worker.to_string(), ids.to_vec(), millis(until));
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "UPDATE applications SET lease_until_ms = ?3
                     WHERE id = ?1 AND status = 'in_review' AND lease_holder = ?2",
                )
                .map_err(err)?;
            let mut held = 0;
            for id in &ids {
                held += stmt.execute(params![id, worker, until]).map_err(err)?;
            }
            Ok(held)
        })
    }

    fn purge_answers(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize> {
        let closed_before = millis(now) - APPEAL_WINDOW_MS;
        self.write(move |conn| {
            exec(conn, PURGE_ANSWERS, params![closed_before, limit as i64]).map_err(err)
        })
    }

    fn events_after(&self, after: i64, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT position, application_id, number, kind, status, at_ms FROM outbox
                     WHERE position > ?1 ORDER BY position LIMIT ?2",
                )
                .map_err(err)?;
            let rows = stmt
                .query_map(params![after, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, application_id, number, kind, st, at_ms) = row.map_err(err)?;
                out.push(Event {
                    seq,
                    application_id,
                    number,
                    kind,
                    status: parse_status(&st)?,
                    at_ms,
                });
            }
            Ok(out)
        })
    }

    fn list<'a>(
        &'a self,
        filter: &'a ListFilter,
        after: Option<&'a Cursor>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Summary>> {
        let filter = filter.clone();
        let after = after.cloned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, number, status, benefit, applicant_snils, submitted_ms, status_since_ms
                     FROM applications
                     WHERE (?1 IS NULL OR status = ?1)
                       AND (?2 IS NULL OR benefit = ?2)
                       AND (?3 IS NULL OR submitted_ms >= ?3)
                       AND (?4 IS NULL OR submitted_ms < ?4)
                       AND (?5 IS NULL OR applicant_snils = ?5)
                       AND (?6 IS NULL OR (status IN ('in_review', 'appeal_review', 'manual_review')
                                           AND status_since_ms < ?6 - ?10))
                       AND (?7 IS NULL OR (submitted_ms, id) > (?7, ?8))
                     ORDER BY submitted_ms, id LIMIT ?9",
                )
                .map_err(err)?;
            let rows = stmt
                .query_map(
                    params![
                        filter.status.map(Status::as_str),
                        filter.benefit,
                        filter.submitted_from_ms,
                        filter.submitted_to_ms,
                        filter.applicant_snils,
                        filter.overdue_at_ms,
                        after.as_ref().map(|c| c.submitted_ms),
                        after.as_ref().map(|c| c.id.clone()),
                        limit as i64,
                        OVERDUE_MS,
                    ],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?,
                        ))
                    },
                )
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, number, st, benefit, applicant_snils, submitted_ms, status_since_ms) =
                    row.map_err(err)?;
                out.push(Summary {
                    id,
                    number,
                    status: parse_status(&st)?,
                    benefit,
                    applicant_snils,
                    submitted_ms,
                    status_since_ms,
                });
            }
            Ok(out)
        })
    }

    fn attach_document<'a>(
        &'a self,
        id: &'a str,
        document: &'a StoredDocument,
        at: SystemTime,
    ) -> StoreFuture<'a, Attached> {
        let (id, document) = (id.to_string(), document.clone());
        self.write(move |conn| {
            let missing: Option<String> = row(conn,
                    "SELECT documents_missing FROM applications WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            let Some(missing) = missing else {
                return Ok(Attached::Unknown);
            };
            let mut missing: Vec<String> = serde_json::from_str(&missing).map_err(err)?;
            let Some(at_index) = missing.iter().position(|m| *m == document.name) else {
                return Ok(Attached::Unknown);
            };
            missing.remove(at_index);
            exec(conn,
                // A clarification may replace an entry's bytes under the same name.
                "INSERT INTO documents (application_id, name, sha256, size, media_type, stored_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (application_id, name) DO UPDATE SET sha256 = excluded.sha256,
                     size = excluded.size, media_type = excluded.media_type,
                     stored_ms = excluded.stored_ms",
                params![
                    id,
                    document.name,
                    document.sha256,
                    document.size as i64,
                    document.media_type,
                    millis(at)
                ],
            )
            .map_err(err)?;
            exec(conn,
                "UPDATE applications SET documents_missing = ?2, documents_pending = ?3 WHERE id = ?1",
                params![
                    id,
                    serde_json::to_string(&missing).map_err(err)?,
                    missing.len() as i64
                ],
            )
            .map_err(err)?;
            Ok(Attached::Done {
                missing: missing.len(),
            })
        })
    }

    fn webhook_cursor<'a>(&'a self, name: &'a str) -> StoreFuture<'a, i64> {
        let name = name.to_string();
        self.read(move |conn| {
            row(
                conn,
                "SELECT seq FROM webhook_cursors WHERE name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|s| s.unwrap_or(0))
            .map_err(err)
        })
    }

    fn set_webhook_cursor<'a>(&'a self, name: &'a str, seq: i64) -> StoreFuture<'a, ()> {
        let name = name.to_string();
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO webhook_cursors (name, seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                params![name, seq],
            )
            .map(|_| ())
            .map_err(err)
        })
    }

    fn backlog(&self) -> StoreFuture<'_, u64> {
        self.read(|conn| {
            row(
                conn,
                "SELECT count(*) FROM applications INDEXED BY applications_ready
                 WHERE status = 'submitted' AND documents_pending = 0",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(err)
        })
    }

    fn census(&self) -> StoreFuture<'_, Census> {
        self.read(|conn| {
            let mut counts = Vec::new();
            {
                let sql = format!(
                    "SELECT status, count(*) FROM applications
                     WHERE status IN ({}) GROUP BY status",
                    open_statuses_sql()
                );
                let mut stmt = conn.prepare_cached(&sql).map_err(err)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(err)?;
                for row in rows {
                    let (status, n) = row.map_err(err)?;
                    counts.push((parse_status(&status)?, n.max(0) as u64));
                }
            }
            let (parked, oldest) = row(
                conn,
                "SELECT count(*), min(json_extract(parked, '$.since_ms')) FROM applications
                 WHERE status = 'in_review' AND parked IS NOT NULL",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .map_err(err)?;
            Ok(Census::from_counts(counts, parked.max(0) as u64, oldest))
        })
    }

    fn approved_for_child<'a>(
        &'a self,
        child_snils: &'a str,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>> {
        let child = child_snils.to_string();
        self.lookup(move |conn| {
            let ids: Vec<String> = {
                let mut stmt = conn.prepare_cached(APPROVED_FOR_CHILD).map_err(err)?;
                let rows = stmt
                    .query_map(params![child], |r| r.get::<_, String>(0))
                    .map_err(err)?;
                rows.collect::<Result<_, _>>().map_err(err)?
            };
            let mut out = Vec::new();
            for id in ids {
                if let Some(r) = load(conn, &id)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> SqliteStore {
        let dir =
            std::env::temp_dir().join(format!("reggate-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        SqliteStore::open(&dir.join("reggate.sqlite")).expect("store")
    }

    fn cursor(store: &SqliteStore, name: &'static str) -> Option<i64> {
        store.readers.connections[0]
            .lock()
            .expect("reader")
            .query_row(
                "SELECT seq FROM webhook_cursors WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .expect("read")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_undoes_itself_alone_within_its_group() {
        let store = store("group");
        // Hold the writer so that the next two writes queue and run in one group.
        let (started, start) = std::sync::mpsc::channel();
        let hold = store.write(move |_| {
            started.send(()).expect("signal");
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        let rest = async {
            tokio::task::spawn_blocking(move || start.recv().expect("writer started"))
                .await
                .expect("wait");
            let failing = store.write(|conn| {
                conn.execute(
                    "INSERT INTO webhook_cursors (name, seq) VALUES ('a', 1)",
                    [],
                )
                .map_err(err)?;
                Err::<(), _>(StoreError::Damaged("refused after writing".into()))
            });
            let fine = store.write(|conn| {
                conn.execute(
                    "INSERT INTO webhook_cursors (name, seq) VALUES ('b', 2)",
                    [],
                )
                .map_err(err)?;
                Ok(())
            });
            tokio::join!(failing, fine)
        };
        let (held, (failing, fine)) = tokio::join!(hold, rest);
        held.expect("hold");
        assert!(matches!(failing, Err(StoreError::Damaged(_))));
        fine.expect("the other write of the group commits");
        assert_eq!(cursor(&store, "a"), None, "the failed write left nothing");
        assert_eq!(cursor(&store, "b"), Some(2));
    }

    #[test]
    fn the_claim_the_duplicate_check_and_the_purge_read_only_their_rows() {
        let store = store("plan");
        let conn = store.readers.connections[0].lock().expect("reader");
        for (sql, index) in [
            (CLAIM_DUE, "applications_lease_due"),
            (CLAIM_READY, "applications_ready"),
            (
                APPROVED_FOR_CHILD,
                "applications_one_approval (child_snils=?)",
            ),
            (PURGE_ANSWERS, "applications_answers_kept"),
        ] {
            let sql = format!("EXPLAIN QUERY PLAN {sql}");
            let mut stmt = conn.prepare(&sql).expect("plan");
            let values = [0i64, 10];
            let plan: Vec<String> = stmt
                .query_map(
                    rusqlite::params_from_iter(&values[..stmt.parameter_count()]),
                    |r| r.get::<_, String>(3),
                )
                .expect("plan")
                .map(|r| r.expect("row"))
                .collect();
            let plan = plan.join("; ");
            assert!(plan.contains(index), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
        }
    }
}
