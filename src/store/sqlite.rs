//! The embedded store: SQLite (rusqlite, bundled) in WAL mode with `synchronous=FULL`, one
//! connection behind a mutex, work on tokio's blocking pool. Claims and transitions run in
//! `BEGIN IMMEDIATE` transactions, so several processes on one file take turns instead of racing.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::clock::millis;
use crate::domain::status::Status;
use crate::store::migrations::{Dialect, MIGRATIONS, render};
use crate::store::{
    ApplicationRecord, Attached, Cursor, Earlier, Event, JournalEntry, ListFilter, NewApplication,
    OVERDUE_MS, Parked, Store, StoreError, StoreFuture, StoredDocument, Submitted, Summary,
    Transition, Transitioned, event_kind, parse_status, read_parked, with_added,
};

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::database(e)
}

impl SqliteStore {
    /// Open (or create) the store at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Run `f` with the connection on the blocking pool.
    fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let conn = self.conn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut conn)
            })
            .await
            .map_err(err)?
        })
    }
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
    let row = conn
        .query_row(
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
    tx: &rusqlite::Transaction<'_>,
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
    tx.execute(
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
    tx.execute(
        "INSERT INTO outbox (application_id, number, kind, status, at_ms)
         SELECT id, number, ?2, ?3, ?4 FROM applications WHERE id = ?1",
        params![id, event_kind(to), to.as_str(), at_ms],
    )
    .map_err(err)?;
    Ok(())
}

fn by_key(conn: &Connection, key: &str) -> Result<Option<Earlier>, StoreError> {
    let found: Option<(String, String)> = conn
        .query_row(
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

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl Store for SqliteStore {
    fn submit(&self, new: NewApplication) -> StoreFuture<'_, Submitted> {
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            if let Some(earlier) = by_key(&tx, &new.idempotency_key)? {
                if earlier.request_hash != new.request_hash {
                    return Ok(Submitted::KeyConflict);
                }
                return Ok(Submitted::Repeated(earlier.record));
            }
            let at = millis(new.at);
            tx.execute(
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
                &tx,
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
            let record = load(&tx, &new.id)?.ok_or_else(StoreError::vanished)?;
            tx.commit().map_err(err)?;
            Ok(Submitted::Created(record))
        })
    }

    fn get<'a>(&'a self, id_or_number: &'a str) -> StoreFuture<'a, Option<ApplicationRecord>> {
        let key = id_or_number.to_string();
        self.with(move |conn| load(conn, &key))
    }

    fn by_idempotency_key<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Earlier>> {
        let key = key.to_string();
        self.with(move |conn| by_key(conn, &key))
    }

    fn claim<'a>(
        &'a self,
        worker: &'a str,
        now: SystemTime,
        lease: Duration,
    ) -> StoreFuture<'a, Option<ApplicationRecord>> {
        let worker = worker.to_string();
        self.with(move |conn| {
            let now_ms = millis(now);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT id, status FROM applications
                     WHERE (status = 'submitted' AND documents_pending = 0)
                        OR (status = 'in_review' AND documents_pending = 0
                            AND (lease_until_ms IS NULL OR lease_until_ms < ?1))
                     ORDER BY submitted_ms LIMIT 1",
                    params![now_ms],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            let Some((id, st)) = found else {
                return Ok(None);
            };
            let until = now_ms + lease.as_millis() as i64;
            if st == "submitted" {
                tx.execute(
                    "UPDATE applications SET status = 'in_review', status_since_ms = ?2,
                         lease_holder = ?3, lease_until_ms = ?4 WHERE id = ?1",
                    params![id, now_ms, worker, until],
                )
                .map_err(err)?;
                // The claim is journaled under the submitting request's id: one id, one story.
                let submitted_by: String = tx
                    .query_row(
                        "SELECT request_id FROM journal WHERE application_id = ?1
                         ORDER BY id DESC LIMIT 1",
                        params![id],
                        |r| r.get(0),
                    )
                    .map_err(err)?;
                record_transition(
                    &tx,
                    &id,
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
                tx.execute(
                    "UPDATE applications SET lease_holder = ?2, lease_until_ms = ?3 WHERE id = ?1",
                    params![id, worker, until],
                )
                .map_err(err)?;
            }
            let record = load(&tx, &id)?;
            tx.commit().map_err(err)?;
            Ok(record)
        })
    }

    fn transition(&self, t: Transition) -> StoreFuture<'_, Transitioned> {
        self.with(move |conn| {
            let at = millis(t.at);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let current: Option<(String, Option<String>, Option<i64>, String)> = tx
                .query_row(
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
            let updated = tx.execute(
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
                &tx,
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
            let record = load(&tx, &t.id)?.ok_or_else(StoreError::vanished)?;
            tx.commit().map_err(err)?;
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
        self.with(move |conn| {
            let n = conn
                .execute(
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

    fn events_after(&self, after: i64, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, application_id, number, kind, status, at_ms FROM outbox
                     WHERE seq > ?1 ORDER BY seq LIMIT ?2",
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
        self.with(move |conn| {
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
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let missing: Option<String> = tx
                .query_row(
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
            tx.execute(
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
            tx.execute(
                "UPDATE applications SET documents_missing = ?2, documents_pending = ?3 WHERE id = ?1",
                params![
                    id,
                    serde_json::to_string(&missing).map_err(err)?,
                    missing.len() as i64
                ],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(Attached::Done {
                missing: missing.len(),
            })
        })
    }

    fn webhook_cursor<'a>(&'a self, name: &'a str) -> StoreFuture<'a, i64> {
        let name = name.to_string();
        self.with(move |conn| {
            conn.query_row(
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
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO webhook_cursors (name, seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                params![name, seq],
            )
            .map(|_| ())
            .map_err(err)
        })
    }

    fn backlog(&self) -> StoreFuture<'_, u64> {
        self.with(|conn| {
            conn.query_row(
                "SELECT count(*) FROM applications WHERE status = 'submitted'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(err)
        })
    }

    fn approved_for_child<'a>(
        &'a self,
        child_snils: &'a str,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>> {
        let child = child_snils.to_string();
        self.with(move |conn| {
            let ids: Vec<String> = {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id FROM applications WHERE child_snils = ?1 AND status = 'approved'",
                    )
                    .map_err(err)?;
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
