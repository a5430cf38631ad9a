//! The PostgreSQL store: tokio-postgres over a bb8 pool. Several gateway processes may share one
//! database: claims take rows with `FOR UPDATE SKIP LOCKED`, so no application is processed twice,
//! and transitions re-check state and lease under the row lock.

use std::time::{Duration, SystemTime};

use bb8_postgres::PostgresConnectionManager;
use tokio_postgres::error::SqlState;
use tokio_postgres::{GenericClient, NoTls};

use crate::clock::millis;
use crate::domain::status::Status;
use crate::store::migrations::{Dialect, MIGRATIONS, render};
use crate::store::{
    APPEAL_WINDOW_MS, ApplicationRecord, Attached, Census, Cursor, Earlier, Event, JournalEntry,
    ListFilter, NewApplication, OVERDUE_MS, Parked, Store, StoreError, StoreFuture, StoredDocument,
    Submitted, Summary, Transition, Transitioned, event_kind, open_statuses_sql, parse_status,
    read_parked, with_added,
};

type Pool = bb8::Pool<PostgresConnectionManager<NoTls>>;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

fn err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::database(e)
}

/// Errors of the pool, with the database's own message.
fn pool_err(e: bb8::RunError<tokio_postgres::Error>) -> StoreError {
    StoreError::database(e)
}

impl PostgresStore {
    /// Connect to `url` (a libpq-style connection string) and bring the schema up to date. With
    /// `schema`, everything lives in that PostgreSQL schema (created if missing): tests use one
    /// each, deployments may too.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<PostgresStore, StoreError> {
        // Either form libpq knows: `postgres://…` or `host=… dbname=…`.
        let mut config: tokio_postgres::Config = url.parse().map_err(err)?;
        if let Some(schema) = schema {
            let ok = schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(StoreError::Config(format!(
                    "schema name '{schema}' must be [A-Za-z0-9_]"
                )));
            }
            let (client, conn) = config.connect(NoTls).await.map_err(err)?;
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(err)?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = bb8::Pool::builder()
            .max_size(16)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .await
            .map_err(err)?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await.map_err(pool_err)?;
        let tx = conn.transaction().await.map_err(err)?;
        // One migrator at a time across processes.
        tx.execute("SELECT pg_advisory_xact_lock(7263551)", &[])
            .await
            .map_err(err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .await
        .map_err(err)?;
        for (version, sql) in MIGRATIONS {
            let sql = render(sql, Dialect::Postgres);
            let done = tx
                .query_opt(
                    "SELECT version FROM schema_migrations WHERE version = $1",
                    &[version],
                )
                .await
                .map_err(err)?;
            if done.is_none() {
                tx.batch_execute(&sql).await.map_err(err)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                    &[version, &millis(SystemTime::now())],
                )
                .await
                .map_err(err)?;
            }
        }
        tx.commit().await.map_err(err)
    }
}

async fn load(
    c: &impl GenericClient,
    id_or_number: &str,
) -> Result<Option<ApplicationRecord>, StoreError> {
    let Some(row) = c
        .query_opt(
            "SELECT id, number, status, benefit, applicant_snils, child_snils, input, submitted_ms,
                    status_since_ms, documents_missing, answers, parked
             FROM applications WHERE id = $1 OR number = $1",
            &[&id_or_number],
        )
        .await
        .map_err(err)?
    else {
        return Ok(None);
    };
    let id: String = row.get(0);
    let rows = c
        .query(
            "SELECT at_ms, from_status, to_status, actor, origin, reasons, comment, request_id
             FROM journal WHERE application_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .map_err(err)?;
    let mut journal = Vec::new();
    for r in rows {
        let from: Option<String> = r.get(1);
        let to: String = r.get(2);
        let reasons: String = r.get(5);
        journal.push(JournalEntry {
            at_ms: r.get(0),
            from: from.as_deref().map(parse_status).transpose()?,
            to: parse_status(&to)?,
            actor: r.get(3),
            origin: r.get(4),
            reasons: serde_json::from_str(&reasons).map_err(err)?,
            comment: r.get(6),
            request_id: r.get(7),
        });
    }
    let st: String = row.get(2);
    let input: String = row.get(6);
    Ok(Some(ApplicationRecord {
        id,
        number: row.get(1),
        status: parse_status(&st)?,
        benefit: row.get(3),
        applicant_snils: row.get(4),
        child_snils: row.get(5),
        input: serde_json::from_str(&input).map_err(err)?,
        submitted_ms: row.get(7),
        status_since_ms: row.get(8),
        documents_missing: serde_json::from_str(&row.get::<_, String>(9)).map_err(err)?,
        journal,
        answers: row
            .get::<_, Option<String>>(10)
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(err)?,
        parked: row
            .get::<_, Option<String>>(11)
            .as_deref()
            .and_then(read_parked),
    }))
}

/// Journal entry and outbox event of a transition, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn record_transition(
    tx: &impl GenericClient,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &id,
            &at_ms,
            &from.map(Status::as_str),
            &to.as_str(),
            &actor,
            &origin,
            &reasons.to_string(),
            &comment,
            &request_id,
        ],
    )
    .await
    .map_err(err)?;
    tx.execute(
        "INSERT INTO outbox (application_id, number, kind, status, at_ms)
         SELECT id, number, $2, $3, $4 FROM applications WHERE id = $1",
        &[&id, &event_kind(to), &to.as_str(), &at_ms],
    )
    .await
    .map_err(err)?;
    Ok(())
}

/// Give the committed events that have none the next positions, in seq order (migration 7).
///
/// One publisher at a time, by the lock on `outbox_publisher`'s row; the numbering statement starts
/// after the lock is held, so under READ COMMITTED it sees the previous publisher's positions and
/// every event committed so far. An event still uncommitted is invisible here and gets a later
/// position when a later call finds it: readers see positions appear in order, without gaps, and an
/// event committed before this call is readable after it. One round trip (a simple-query batch).
async fn publish(c: &tokio_postgres::Client) -> Result<(), StoreError> {
    let published = c
        .batch_execute(
            "BEGIN;
         SELECT id FROM outbox_publisher WHERE id = 1 FOR UPDATE;
         WITH pending AS (
                  SELECT seq, row_number() OVER (ORDER BY seq) AS n
                  FROM (SELECT seq FROM outbox WHERE position IS NULL ORDER BY seq LIMIT 10000) p),
              last AS (SELECT COALESCE(MAX(position), 0) AS position FROM outbox)
         UPDATE outbox SET position = last.position + pending.n
         FROM pending, last WHERE outbox.seq = pending.seq;
         COMMIT;",
        )
        .await;
    if let Err(e) = published {
        // A failure inside the batch leaves its transaction open and aborted: end it before the
        // connection goes back to the pool.
        let _ = c.batch_execute("ROLLBACK").await;
        return Err(err(e));
    }
    Ok(())
}

async fn by_key(c: &impl GenericClient, key: &str) -> Result<Option<Earlier>, StoreError> {
    let Some(row) = c
        .query_opt(
            "SELECT id, request_hash FROM applications WHERE idempotency_key = $1",
            &[&key],
        )
        .await
        .map_err(err)?
    else {
        return Ok(None);
    };
    let (id, request_hash): (String, String) = (row.get(0), row.get(1));
    let record = load(c, &id).await?.ok_or_else(StoreError::vanished)?;
    Ok(Some(Earlier {
        request_hash,
        record,
    }))
}

impl Store for PostgresStore {
    fn submit(&self, new: NewApplication) -> StoreFuture<'_, Submitted> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let at = millis(new.at);
            // One statement, so one round trip and one commit: the application, its journal entry
            // and its event together or not at all. The unique key decides between concurrent
            // submissions of one key; the loser inserts nothing and reads the winner's below.
            let inserted = conn
                .query_one(
                    "WITH app AS (
                         INSERT INTO applications (id, number, idempotency_key, request_hash, status,
                             benefit, applicant_snils, child_snils, input, submitted_ms,
                             status_since_ms, documents_missing, documents_pending)
                         VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9, $9, $10, $11)
                         ON CONFLICT (idempotency_key) DO NOTHING
                         RETURNING id, number),
                     journaled AS (
                         INSERT INTO journal (application_id, at_ms, from_status, to_status, actor,
                             origin, reasons, comment, request_id)
                         SELECT id, $9, NULL, 'submitted', $12, $13, '[]', NULL, $14 FROM app),
                     evented AS (
                         INSERT INTO outbox (application_id, number, kind, status, at_ms)
                         SELECT id, number, 'submitted', 'submitted', $9 FROM app)
                     SELECT count(*) FROM app",
                    &[
                        &new.id,
                        &new.number,
                        &new.idempotency_key,
                        &new.request_hash,
                        &new.benefit,
                        &new.applicant_snils,
                        &new.child_snils,
                        &new.input.to_string(),
                        &at,
                        &serde_json::to_string(&new.documents).map_err(err)?,
                        &(new.documents.len() as i64),
                        &new.actor,
                        &new.origin,
                        &new.request_id,
                    ],
                )
                .await
                .map_err(err)?
                .get::<_, i64>(0);
            if inserted == 1 {
                return Ok(Submitted::Created(new.stored()));
            }
            let earlier = by_key(&*conn, &new.idempotency_key)
                .await?
                .ok_or_else(StoreError::vanished)?;
            if earlier.request_hash != new.request_hash {
                return Ok(Submitted::KeyConflict);
            }
            Ok(Submitted::Repeated(earlier.record))
        })
    }

    fn get<'a>(&'a self, id_or_number: &'a str) -> StoreFuture<'a, Option<ApplicationRecord>> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            load(&*conn, id_or_number).await
        })
    }

    fn by_idempotency_key<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Earlier>> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            by_key(&*conn, key).await
        })
    }

    fn claim_many<'a>(
        &'a self,
        worker: &'a str,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>> {
        Box::pin(async move {
            let now_ms = millis(now);
            let until = now_ms + lease.as_millis() as i64;
            let mut conn = self.pool.get().await.map_err(pool_err)?;
            let tx = conn.transaction().await.map_err(err)?;
            // Those whose lease ran out first, then the oldest submitted; each query reads a partial
            // index of claimable rows (migration 6). SKIP LOCKED: concurrent claimers (another
            // gateway process) take other rows instead of waiting for these.
            let mut rows = tx
                .query(
                    "SELECT id, status FROM applications
                     WHERE status = 'in_review' AND documents_pending = 0
                       AND COALESCE(lease_until_ms, 0) < $1
                     ORDER BY COALESCE(lease_until_ms, 0) LIMIT $2
                     FOR UPDATE SKIP LOCKED",
                    &[&now_ms, &(limit as i64)],
                )
                .await
                .map_err(err)?;
            if rows.len() < limit {
                rows.extend(
                    tx.query(
                        "SELECT id, status FROM applications
                         WHERE status = 'submitted' AND documents_pending = 0
                         ORDER BY submitted_ms LIMIT $1
                         FOR UPDATE SKIP LOCKED",
                        &[&((limit - rows.len()) as i64)],
                    )
                    .await
                    .map_err(err)?,
                );
            }
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let (id, st): (String, String) = (row.get(0), row.get(1));
                if st == "submitted" {
                    tx.execute(
                        "UPDATE applications SET status = 'in_review', status_since_ms = $2,
                             lease_holder = $3, lease_until_ms = $4 WHERE id = $1",
                        &[&id, &now_ms, &worker, &until],
                    )
                    .await
                    .map_err(err)?;
                    // The claim is journaled under the submitting request's id: one id, one story.
                    let submitted_by: String = tx
                        .query_one(
                            "SELECT request_id FROM journal WHERE application_id = $1
                             ORDER BY id DESC LIMIT 1",
                            &[&id],
                        )
                        .await
                        .map_err(err)?
                        .get(0);
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
                    )
                    .await?;
                } else {
                    tx.execute(
                        "UPDATE applications SET lease_holder = $2, lease_until_ms = $3 WHERE id = $1",
                        &[&id, &worker, &until],
                    )
                    .await
                    .map_err(err)?;
                }
                out.push(load(&tx, &id).await?.ok_or_else(StoreError::vanished)?);
            }
            tx.commit().await.map_err(err)?;
            Ok(out)
        })
    }

    fn transition(&self, t: Transition) -> StoreFuture<'_, Transitioned> {
        Box::pin(async move {
            let at = millis(t.at);
            let mut conn = self.pool.get().await.map_err(pool_err)?;
            let tx = conn.transaction().await.map_err(err)?;
            let Some(row) = tx
                .query_opt(
                    "SELECT status, lease_holder, lease_until_ms, documents_missing
                     FROM applications WHERE id = $1 FOR UPDATE",
                    &[&t.id],
                )
                .await
                .map_err(err)?
            else {
                return Ok(Transitioned::Stale);
            };
            let st: String = row.get(0);
            let holder: Option<String> = row.get(1);
            let until: Option<i64> = row.get(2);
            let missing = with_added(
                &row.get::<_, String>(3),
                t.manifest.as_deref(),
                &t.documents_added,
            )?;
            if parse_status(&st)? != t.from {
                return Ok(Transitioned::Stale);
            }
            if let Some(worker) = &t.lease_holder
                && (holder.as_deref() != Some(worker.as_str()) || until.is_none_or(|u| u < at))
            {
                return Ok(Transitioned::Stale);
            }
            let updated = tx
                .execute(
                    "UPDATE applications SET status = $2, status_since_ms = $3, lease_holder = NULL,
                         lease_until_ms = NULL, input = COALESCE($4, input),
                     answers = COALESCE($5, answers), parked = NULL,
                     documents_missing = $6, documents_pending = $7 WHERE id = $1",
                    &[
                        &t.id,
                        &t.to.as_str(),
                        &at,
                        &t.input.as_ref().map(|v| v.to_string()),
                        &t.answers.as_ref().map(|v| v.to_string()),
                        &missing.0,
                        &missing.1,
                    ],
                )
                .await;
            match updated {
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    return Ok(Transitioned::DuplicateApproval);
                }
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
            )
            .await?;
            let record = load(&tx, &t.id).await?.ok_or_else(StoreError::vanished)?;
            tx.commit().await.map_err(err)?;
            Ok(Transitioned::Done(Box::new(record)))
        })
    }

    fn events_after(&self, after: i64, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            publish(&conn).await?;
            let rows = conn
                .query(
                    "SELECT position, application_id, number, kind, status, at_ms FROM outbox
                     WHERE position > $1 ORDER BY position LIMIT $2",
                    &[&after, &(limit as i64)],
                )
                .await
                .map_err(err)?;
            rows.iter()
                .map(|r| {
                    let st: String = r.get(4);
                    Ok(Event {
                        seq: r.get(0),
                        application_id: r.get(1),
                        number: r.get(2),
                        kind: r.get(3),
                        status: parse_status(&st)?,
                        at_ms: r.get(5),
                    })
                })
                .collect()
        })
    }

    fn list<'a>(
        &'a self,
        filter: &'a ListFilter,
        after: Option<&'a Cursor>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Summary>> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let rows = conn
                .query(
                    "SELECT id, number, status, benefit, applicant_snils, submitted_ms, status_since_ms
                     FROM applications
                     WHERE ($1::TEXT IS NULL OR status = $1)
                       AND ($2::TEXT IS NULL OR benefit = $2)
                       AND ($3::BIGINT IS NULL OR submitted_ms >= $3)
                       AND ($4::BIGINT IS NULL OR submitted_ms < $4)
                       AND ($5::TEXT IS NULL OR applicant_snils = $5)
                       AND ($6::BIGINT IS NULL OR (status IN ('in_review', 'appeal_review', 'manual_review')
                                                   AND status_since_ms < $6 - $10))
                       AND ($7::BIGINT IS NULL OR (submitted_ms, id) > ($7, $8::TEXT))
                     ORDER BY submitted_ms, id LIMIT $9",
                    &[
                        &filter.status.map(Status::as_str),
                        &filter.benefit,
                        &filter.submitted_from_ms,
                        &filter.submitted_to_ms,
                        &filter.applicant_snils,
                        &filter.overdue_at_ms,
                        &after.map(|c| c.submitted_ms),
                        &after.map(|c| c.id.clone()),
                        &(limit as i64),
                        &OVERDUE_MS,
                    ],
                )
                .await
                .map_err(err)?;
            rows.iter()
                .map(|r| {
                    let st: String = r.get(2);
                    Ok(Summary {
                        id: r.get(0),
                        number: r.get(1),
                        status: parse_status(&st)?,
                        benefit: r.get(3),
                        applicant_snils: r.get(4),
                        submitted_ms: r.get(5),
                        status_since_ms: r.get(6),
                    })
                })
                .collect()
        })
    }

    fn attach_document<'a>(
        &'a self,
        id: &'a str,
        document: &'a StoredDocument,
        at: SystemTime,
    ) -> StoreFuture<'a, Attached> {
        Box::pin(async move {
            let mut conn = self.pool.get().await.map_err(pool_err)?;
            let tx = conn.transaction().await.map_err(err)?;
            let Some(row) = tx
                .query_opt(
                    "SELECT documents_missing FROM applications WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await
                .map_err(err)?
            else {
                return Ok(Attached::Unknown);
            };
            let mut missing: Vec<String> =
                serde_json::from_str(&row.get::<_, String>(0)).map_err(err)?;
            let Some(at_index) = missing.iter().position(|m| *m == document.name) else {
                return Ok(Attached::Unknown);
            };
            missing.remove(at_index);
            tx.execute(
                // A clarification may replace an entry's bytes under the same name.
                "INSERT INTO documents (application_id, name, sha256, size, media_type, stored_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (application_id, name) DO UPDATE SET sha256 = excluded.sha256,
                     size = excluded.size, media_type = excluded.media_type,
                     stored_ms = excluded.stored_ms",
                &[
                    &id,
                    &document.name,
                    &document.sha256,
                    &(document.size as i64),
                    &document.media_type,
                    &millis(at),
                ],
            )
            .await
            .map_err(err)?;
            tx.execute(
                "UPDATE applications SET documents_missing = $2, documents_pending = $3 WHERE id = $1",
                &[
                    &id,
                    &serde_json::to_string(&missing).map_err(err)?,
                    &(missing.len() as i64),
                ],
            )
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(Attached::Done {
                missing: missing.len(),
            })
        })
    }

    fn webhook_cursor<'a>(&'a self, name: &'a str) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let row = conn
                .query_opt("SELECT seq FROM webhook_cursors WHERE name = $1", &[&name])
                .await
                .map_err(err)?;
            Ok(row.map_or(0, |r| r.get(0)))
        })
    }

    fn set_webhook_cursor<'a>(&'a self, name: &'a str, seq: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            conn.execute(
                "INSERT INTO webhook_cursors (name, seq) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                &[&name, &seq],
            )
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    fn park<'a>(
        &'a self,
        id: &'a str,
        worker: &'a str,
        parked: &'a Parked,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let n = conn
                .execute(
                    "UPDATE applications SET parked = $3, lease_holder = NULL, lease_until_ms = $4
                     WHERE id = $1 AND status = 'in_review' AND lease_holder = $2",
                    &[
                        &id,
                        &worker,
                        &serde_json::to_string(parked).map_err(err)?,
                        &parked.next_attempt_ms,
                    ],
                )
                .await
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
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let n = conn
                .execute(
                    "UPDATE applications SET lease_until_ms = $3
                     WHERE id = ANY($1) AND status = 'in_review' AND lease_holder = $2",
                    &[&ids, &worker, &millis(until)],
                )
                .await
                .map_err(err)?;
            Ok(n as usize)
        })
    }

    fn purge_answers(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize> {
        let closed_before = millis(now) - APPEAL_WINDOW_MS;
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let n = conn
                .execute(
                    "UPDATE applications SET answers = NULL WHERE id IN (
                         SELECT id FROM applications
                          WHERE answers IS NOT NULL AND status IN ('approved', 'rejected')
                            AND (status = 'approved' OR status_since_ms < $1)
                          LIMIT $2)",
                    &[&closed_before, &(limit as i64)],
                )
                .await
                .map_err(err)?;
            Ok(n as usize)
        })
    }

    fn backlog(&self) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let row = conn
                .query_one(
                    "SELECT count(*) FROM applications WHERE status = 'submitted' AND documents_pending = 0",
                    &[],
                )
                .await
                .map_err(err)?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    fn census(&self) -> StoreFuture<'_, Census> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let sql = format!(
                "SELECT status, count(*) FROM applications WHERE status IN ({}) GROUP BY status",
                open_statuses_sql()
            );
            let mut counts = Vec::new();
            for row in conn.query(sql.as_str(), &[]).await.map_err(err)? {
                let status: String = row.get(0);
                counts.push((parse_status(&status)?, row.get::<_, i64>(1).max(0) as u64));
            }
            let row = conn
                .query_one(
                    "SELECT count(*), min((parked::json ->> 'since_ms')::bigint) FROM applications
                     WHERE status = 'in_review' AND parked IS NOT NULL",
                    &[],
                )
                .await
                .map_err(err)?;
            let parked = row.get::<_, i64>(0).max(0) as u64;
            Ok(Census::from_counts(counts, parked, row.get(1)))
        })
    }

    fn approved_for_child<'a>(
        &'a self,
        child_snils: &'a str,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>> {
        Box::pin(async move {
            let conn = self.pool.get().await.map_err(pool_err)?;
            let rows = conn
                .query(
                    "SELECT id FROM applications WHERE child_snils = $1 AND status = 'approved'",
                    &[&child_snils],
                )
                .await
                .map_err(err)?;
            let mut out = Vec::new();
            for r in rows {
                let id: String = r.get(0);
                if let Some(record) = load(&*conn, &id).await? {
                    out.push(record);
                }
            }
            Ok(out)
        })
    }
}
