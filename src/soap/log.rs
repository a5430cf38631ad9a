//! The message log: every exchange with a registry — request, response or fault, registry, operation,
//! request id, attempt, outcome, timings — kept durably for a retention period. Bodies are kept masked
//! (the default), whole, or not at all ([`BodyPolicy`]). Each row holds the whole envelope sent and
//! received with its operation and status, which is what a replay fixture needs.
//!
//! [`MessageLog`] is the interface; [`SqliteMessageLog`] the embedded implementation (a PostgreSQL one
//! comes with the store). SQLite writes happen on a writer thread in batches (one transaction per
//! batch, WAL), so a call never waits for the disk; [`MessageLog::flush`] waits until everything
//! recorded so far is committed. What a crash can lose is the batch not yet committed (milliseconds).
//!
//! [`read_exchanges`] reads a time range of a log read-only, beside the gateway that writes it:
//! what `reggate fixtures record` exports cases from.
//!
//! Retention is judged by the gateway's [`Clock`] (the cutoff and the hourly pruning), the same clock
//! that stamps [`Exchange::at`], so the two agree and tests move time instead of waiting an hour.

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

use crate::clock::{Clock, millis};
use crate::contract::{Operation, Registry};
use crate::xml::mask::mask_document;

/// What the log keeps of message bodies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyPolicy {
    /// Personal values masked ([`mask_document`]): the default.
    #[default]
    Masked,
    /// Bodies as sent and received (for test environments with synthetic data only).
    Full,
    /// No bodies, metadata only.
    Omitted,
}

impl BodyPolicy {
    /// A body as this policy keeps it.
    pub fn keep(self, body: &[u8]) -> Option<String> {
        match self {
            BodyPolicy::Masked => Some(mask_document(body)),
            BodyPolicy::Full => Some(String::from_utf8_lossy(body).to_string()),
            BodyPolicy::Omitted => None,
        }
    }
}

/// One attempt of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// When the attempt started (by the gateway's [`Clock`]).
    pub at: SystemTime,
    /// The originating request's id.
    pub request_id: String,
    /// The registry called.
    pub registry: Registry,
    /// The operation called.
    pub operation: Operation,
    /// 1 for the first attempt; 0 for a request refused before sending (schema-invalid).
    pub attempt: u32,
    /// `ok` or the [`CallError::kind`](super::error::CallError::kind) of the failure.
    pub outcome: String,
    /// HTTP status of the answer, if one came.
    pub http_status: Option<u16>,
    /// From sending to the end of the answer (or the failure).
    pub duration: Duration,
    /// The request envelope, as the body policy keeps it.
    pub request: Option<String>,
    /// The answer's body, as the body policy keeps it.
    pub response: Option<String>,
    /// The error message (never personal values).
    pub error: Option<String>,
}

/// Where exchanges are kept.
pub trait MessageLog: Send + Sync {
    /// Keep one exchange (without waiting for the disk).
    fn record(&self, exchange: Exchange);
    /// Wait until everything recorded so far is durable.
    fn flush(&self);
}

/// A log that keeps nothing (benchmarks of the pipeline without storage).
#[derive(Debug, Default)]
pub struct NoLog;

impl MessageLog for NoLog {
    fn record(&self, _exchange: Exchange) {}
    fn flush(&self) {}
}

enum Command {
    Record(Box<Exchange>),
    Flush(mpsc::Sender<()>),
}

/// The SQLite message log (`message_log.sqlite` under the data directory).
pub struct SqliteMessageLog {
    path: PathBuf,
    tx: mpsc::Sender<Command>,
}

/// Why the log could not be opened or read.
#[derive(Debug)]
pub struct LogError(pub String);

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "message log: {}", self.0)
    }
}

impl std::error::Error for LogError {}

impl From<rusqlite::Error> for LogError {
    fn from(e: rusqlite::Error) -> LogError {
        LogError(e.to_string())
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS exchanges (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    request_id  TEXT    NOT NULL,
    registry    TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    http_status INTEGER,
    duration_ms INTEGER NOT NULL,
    request     TEXT,
    response    TEXT,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS exchanges_at ON exchanges (at_ms);
CREATE INDEX IF NOT EXISTS exchanges_request ON exchanges (request_id);
";

fn open(path: &Path) -> Result<Connection, LogError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| LogError(format!("{}: {e}", dir.display())))?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteMessageLog {
    /// Open (or create) the log at `path`, dropping exchanges older than `retention` by `clock` now
    /// and every hour after.
    pub fn open(
        path: &Path,
        retention: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteMessageLog, LogError> {
        let conn = open(path)?;
        conn.execute_batch(SCHEMA)?;
        prune(&conn, retention, clock.now())?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("message-log".into())
            .spawn(move || writer(conn, rx, retention, clock))
            .map_err(|e| LogError(e.to_string()))?;
        Ok(SqliteMessageLog {
            path: path.to_path_buf(),
            tx,
        })
    }

    /// The exchanges of one request id (all when `None`), oldest first.
    pub fn exchanges(&self, request_id: Option<&str>) -> Result<Vec<Exchange>, LogError> {
        self.flush();
        let conn = open(&self.path)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM exchanges WHERE ?1 IS NULL OR request_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![request_id], row)?;
        rows.map(|r| exchange(r?)).collect()
    }
}

/// The exchanges a log at `path` holds that started at `since` or later and before `until`, oldest
/// first, read without writing: the log is opened read-only and never created, so this works beside
/// a running gateway (WAL: readers do not block the writer) and on a copy of its data directory.
pub fn read_exchanges(
    path: &Path,
    since: SystemTime,
    until: Option<SystemTime>,
) -> Result<Vec<Exchange>, LogError> {
    use rusqlite::OpenFlags;
    if !path.is_file() {
        return Err(LogError(format!(
            "{}: no message log there",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| LogError(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM exchanges WHERE at_ms >= ?1 AND (?2 IS NULL OR at_ms < ?2) ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![millis(since), until.map(millis)], row)?;
    rows.map(|r| exchange(r?)).collect()
}

/// The columns [`row`] reads, in its order.
const COLUMNS: &str = "at_ms, request_id, registry, operation, attempt, outcome, http_status, \
                       duration_ms, request, response, error";

/// One row of [`COLUMNS`] as read, before its operation is checked.
type Row = (
    i64,
    String,
    String,
    String,
    u32,
    String,
    Option<u16>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn exchange(row: Row) -> Result<Exchange, LogError> {
    let (at, request_id, registry, operation, attempt, outcome, status, ms, req, resp, err) = row;
    let operation = Operation::ALL
        .into_iter()
        .find(|o| o.name() == operation && o.registry().name() == registry)
        .ok_or_else(|| LogError(format!("unknown operation {registry}/{operation}")))?;
    Ok(Exchange {
        at: UNIX_EPOCH + Duration::from_millis(at.max(0) as u64),
        request_id,
        registry: operation.registry(),
        operation,
        attempt,
        outcome,
        http_status: status,
        duration: Duration::from_millis(ms.max(0) as u64),
        request: req,
        response: resp,
        error: err,
    })
}

impl MessageLog for SqliteMessageLog {
    fn record(&self, exchange: Exchange) {
        if self.tx.send(Command::Record(Box::new(exchange))).is_ok() {
            metrics::gauge!(QUEUE_DEPTH).increment(1.0);
        }
    }

    fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.tx.send(Command::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }
}

fn prune(conn: &Connection, retention: Duration, now: SystemTime) -> Result<usize, LogError> {
    let cutoff = millis(now) - retention.as_millis() as i64;
    Ok(conn.execute("DELETE FROM exchanges WHERE at_ms < ?1", params![cutoff])?)
}

/// The gauge of exchanges recorded and not yet written (every log of the process together).
const QUEUE_DEPTH: &str = "reggate_message_log_queue_depth";

/// How often the writer drops exchanges past the retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The writer thread: batches of up to 512 records per transaction, pruning hourly.
fn writer(
    mut conn: Connection,
    rx: mpsc::Receiver<Command>,
    retention: Duration,
    clock: Arc<dyn Clock>,
) {
    let mut last_prune = clock.now();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let records = batch
            .iter()
            .filter(|c| matches!(c, Command::Record(_)))
            .count();
        let mut waiting = Vec::new();
        let result = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO exchanges (at_ms, request_id, registry, operation, attempt, outcome,
                        http_status, duration_ms, request, response, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                for command in batch {
                    match command {
                        Command::Record(e) => {
                            insert.execute(params![
                                millis(e.at),
                                e.request_id,
                                e.registry.name(),
                                e.operation.name(),
                                e.attempt,
                                e.outcome,
                                e.http_status,
                                e.duration.as_millis() as i64,
                                e.request,
                                e.response,
                                e.error,
                            ])?;
                        }
                        Command::Flush(done) => waiting.push(done),
                    }
                }
            }
            tx.commit()
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "message log write failed");
        }
        // Written or lost with the failed transaction: out of the queue either way.
        metrics::gauge!(QUEUE_DEPTH).decrement(records as f64);
        // Before answering flushes, so a flush also means "pruned if due". A clock set back (an
        // error from `duration_since`) restarts the hour rather than pruning early.
        let now = clock.now();
        match now.duration_since(last_prune) {
            Ok(since) if since < PRUNE_EVERY => {}
            Ok(_) => {
                if let Err(e) = prune(&conn, retention, now) {
                    tracing::error!(error = %e, "message log pruning failed");
                }
                last_prune = now;
            }
            Err(_) => last_prune = now,
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn exchange(request_id: &str, at: SystemTime) -> Exchange {
        Exchange {
            at,
            request_id: request_id.to_string(),
            registry: Registry::Snils,
            operation: Operation::VerifySnils,
            attempt: 1,
            outcome: "ok".to_string(),
            http_status: Some(200),
            duration: Duration::from_millis(12),
            request: BodyPolicy::Masked.keep(b"<Req><Snils>11223344595</Snils></Req>"),
            response: Some("<Resp/>".to_string()),
            error: None,
        }
    }

    fn manual() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            UNIX_EPOCH + Duration::from_secs(1_782_900_000),
        ))
    }

    #[test]
    fn exchanges_are_kept_masked_and_old_ones_pruned() {
        let dir = std::env::temp_dir().join(format!("reggate-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("message_log.sqlite");
        let clock = manual();
        let hour = Duration::from_secs(3600);
        let log = SqliteMessageLog::open(&path, hour, clock.clone()).expect("open");
        let now = clock.now();
        log.record(exchange("r-1", now));
        log.record(exchange("r-2", now - Duration::from_secs(7200)));
        log.record(exchange("r-1", now));
        let r1 = log.exchanges(Some("r-1")).expect("read");
        assert_eq!(r1.len(), 2);
        assert_eq!(r1[0].operation, Operation::VerifySnils);
        let request = r1[0].request.as_deref().expect("request kept");
        assert!(request.contains("***-***-*** 95") && !request.contains("11223344595"));
        assert_eq!(log.exchanges(None).expect("all").len(), 3);
        drop(log);
        // Reopened: older than the retention is gone, the rest survived.
        let log = SqliteMessageLog::open(&path, hour, clock.clone()).expect("reopen");
        let all = log.exchanges(None).expect("all");
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|e| e.request_id == "r-1"));
    }

    #[test]
    fn a_running_log_prunes_by_its_clock_every_hour() {
        let dir = std::env::temp_dir().join(format!("reggate-log-hourly-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let clock = manual();
        let hour = Duration::from_secs(3600);
        let log = SqliteMessageLog::open(&dir.join("message_log.sqlite"), hour, clock.clone())
            .expect("open");
        log.record(exchange("old", clock.now()));
        clock.advance(Duration::from_secs(1800));
        log.record(exchange("newer", clock.now()));
        log.flush();
        assert_eq!(
            log.exchanges(None).expect("all").len(),
            2,
            "nothing due yet"
        );
        // An hour after opening the next batch prunes: "old" is now 90 minutes old, "newer" 60.
        clock.advance(Duration::from_secs(5400) - Duration::from_secs(1800));
        log.record(exchange("latest", clock.now()));
        log.flush();
        let kept: Vec<_> = log
            .exchanges(None)
            .expect("all")
            .into_iter()
            .map(|e| e.request_id)
            .collect();
        assert_eq!(kept, ["newer", "latest"]);
    }

    #[test]
    fn a_range_is_read_read_only_beside_the_writer() {
        let dir = std::env::temp_dir().join(format!("reggate-log-range-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("message_log.sqlite");
        // Never created by a reader.
        assert!(read_exchanges(&path, UNIX_EPOCH, None).is_err());
        assert!(!path.exists());
        let clock = manual();
        let log = SqliteMessageLog::open(&path, Duration::from_secs(86_400), clock.clone())
            .expect("open");
        let now = clock.now();
        for (id, ago) in [("a", 30), ("b", 20), ("c", 10), ("d", 0)] {
            log.record(exchange(id, now - Duration::from_secs(ago)));
        }
        log.flush();
        // The writer is still open: [now - 20 s, now - 5 s) holds b and c, oldest first.
        let range = read_exchanges(
            &path,
            now - Duration::from_secs(20),
            Some(now - Duration::from_secs(5)),
        )
        .expect("read beside the writer");
        let ids: Vec<&str> = range.iter().map(|e| e.request_id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(range[0].operation, Operation::VerifySnils);
        assert_eq!(read_exchanges(&path, now, None).expect("open end").len(), 1);
        // The writer goes on after a reader.
        log.record(exchange("e", now));
        log.flush();
        assert_eq!(read_exchanges(&path, now, None).expect("again").len(), 2);
        // And without a writer (a stopped gateway: WAL checkpointed, its files gone).
        drop(log);
        assert_eq!(
            read_exchanges(&path, UNIX_EPOCH, None)
                .expect("stopped")
                .len(),
            5
        );
    }
}
