//! Durable applications: the [`Store`] trait and its two implementations, SQLite (embedded default,
//! [`sqlite`]) and PostgreSQL ([`postgres`]), both run through one conformance suite
//! (`tests/store.rs`).
//!
//! What the trait promises, whichever backend:
//! - [`Store::submit`] writes the application, its `submitted` journal entry and its outbox event in
//!   one transaction; the same idempotency key with the same request hash returns the same
//!   application, with another hash a conflict.
//! - [`Store::claim`] hands a `submitted` application whose documents have all arrived (or one whose
//!   worker's lease ran out) to one worker only, under a lease.
//! - [`Store::transition`] moves an application from the state the caller saw to the next, with a
//!   journal entry and an outbox event, in one transaction — or not at all if the state moved
//!   meanwhile or the caller's lease is gone. So a decision is written exactly once.
//! - At most one approved application per child and benefit (a unique index): of two filed at the
//!   same moment, exactly one is approved.

pub mod migrations;
pub mod postgres;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::domain::status::Status;

/// What a store call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store failure. Its text is the database's own message, never personal values (those travel
/// as parameters); the database's error stays reachable through `source()`.
#[derive(Debug)]
pub enum StoreError {
    /// The database (or its connection pool) failed.
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// What the store holds does not read back: a damaged row, an unknown status.
    Damaged(String),
    /// Document bytes could not be written or read.
    Io(std::io::Error),
    /// The store's configuration is unusable (named in the text).
    Config(String),
}

impl StoreError {
    /// A row this transaction wrote (or locked) that it cannot read back.
    pub fn vanished() -> StoreError {
        StoreError::Damaged("a row written in this transaction vanished".into())
    }

    /// A database failure.
    pub fn database(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Database(Box::new(e))
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Database(e) => write!(f, "store: {e}"),
            StoreError::Damaged(what) => write!(f, "store: damaged data: {what}"),
            StoreError::Io(e) => write!(f, "store: {e}"),
            StoreError::Config(what) => write!(f, "store configuration: {what}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Database(e) => Some(e.as_ref()),
            StoreError::Io(e) => Some(e),
            StoreError::Damaged(_) | StoreError::Config(_) => None,
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> StoreError {
        StoreError::Io(e)
    }
}

/// An application to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewApplication {
    /// Its id (UUID).
    pub id: String,
    /// Its human-readable number.
    pub number: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// SHA-256 of the request body, to tell a repeat from a different request under the same key.
    pub request_hash: String,
    /// Benefit code.
    pub benefit: String,
    /// The applicant's SNILS (for filters).
    pub applicant_snils: String,
    /// The child's SNILS (for duplicate checks).
    pub child_snils: String,
    /// The validated input.
    pub input: serde_json::Value,
    /// Who submitted it (certificate subject or API key id).
    pub actor: String,
    /// The address the cabinet passed on.
    pub origin: String,
    /// The originating request id.
    pub request_id: String,
    /// When.
    pub at: SystemTime,
    /// Names of the manifest entries whose bytes must arrive before the application is processed.
    pub documents: Vec<String>,
}

impl NewApplication {
    /// The record a fresh submission stores: what [`Store::submit`] answers without reading it
    /// back (one journal entry, `submitted`, no reasons).
    pub fn stored(&self) -> ApplicationRecord {
        let at_ms = crate::clock::millis(self.at);
        ApplicationRecord {
            id: self.id.clone(),
            number: self.number.clone(),
            status: Status::Submitted,
            benefit: self.benefit.clone(),
            applicant_snils: self.applicant_snils.clone(),
            child_snils: self.child_snils.clone(),
            input: self.input.clone(),
            submitted_ms: at_ms,
            status_since_ms: at_ms,
            documents_missing: self.documents.clone(),
            journal: vec![JournalEntry {
                at_ms,
                from: None,
                to: Status::Submitted,
                actor: self.actor.clone(),
                origin: self.origin.clone(),
                reasons: serde_json::json!([]),
                comment: None,
                request_id: self.request_id.clone(),
            }],
            answers: None,
            parked: None,
        }
    }
}

/// One journal entry: a transition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// From (none for `submitted`).
    pub from: Option<Status>,
    /// To.
    pub to: Status,
    /// Who.
    pub actor: String,
    /// From where.
    pub origin: String,
    /// Reason codes and messages (JSON array).
    pub reasons: serde_json::Value,
    /// Free comment.
    pub comment: Option<String>,
    /// The request id that caused it.
    pub request_id: String,
}

/// A stored application.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplicationRecord {
    /// Id.
    pub id: String,
    /// Number.
    pub number: String,
    /// Status now.
    pub status: Status,
    /// Benefit code.
    pub benefit: String,
    /// The applicant's SNILS.
    pub applicant_snils: String,
    /// The child's SNILS.
    pub child_snils: String,
    /// The validated input.
    pub input: serde_json::Value,
    /// Submitted at (ms).
    pub submitted_ms: i64,
    /// In the current status since (ms).
    pub status_since_ms: i64,
    /// Manifest entries whose bytes have not arrived yet.
    pub documents_missing: Vec<String>,
    /// The journal, oldest first.
    pub journal: Vec<JournalEntry>,
    /// The registries' answers of the last decision ([`crate::domain::answers::Answers`]).
    pub answers: Option<serde_json::Value>,
    /// Why its registry checks wait, while they do (cleared by the next transition).
    pub parked: Option<Parked>,
}

/// An application whose registry checks failed, waiting for its next attempt. While parked it is
/// `in_review` with no lease holder and its lease running until `next_attempt_ms`, so no worker
/// claims it earlier and any worker claims it then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    /// The registry that failed.
    pub registry: String,
    /// `outage` (waiting cures it) or `defect` (a bounded number of attempts, then manual review).
    pub kind: crate::domain::ports::FailureKind,
    /// What happened (no personal values).
    pub reason: String,
    /// Parked since (ms): the first failure of this run of failures.
    pub since_ms: i64,
    /// When a worker may try again (ms).
    pub next_attempt_ms: i64,
    /// Failed attempts in this run, of any kind.
    pub attempts: u32,
    /// Of those, defects (what escalates to manual review).
    pub defects: u32,
}

/// An application found by its idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub struct Earlier {
    /// The hash of the request that filed it.
    pub request_hash: String,
    /// The application.
    pub record: ApplicationRecord,
}

/// What [`Store::submit`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Submitted {
    /// Stored now.
    Created(ApplicationRecord),
    /// The same key and body came before: that application.
    Repeated(ApplicationRecord),
    /// The key came before with another body.
    KeyConflict,
}

/// A transition to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The application.
    pub id: String,
    /// The status the caller saw (the write happens only if it is still so).
    pub from: Status,
    /// The new status.
    pub to: Status,
    /// Who.
    pub actor: String,
    /// From where.
    pub origin: String,
    /// Reasons (JSON array).
    pub reasons: serde_json::Value,
    /// Comment.
    pub comment: Option<String>,
    /// Request id.
    pub request_id: String,
    /// When.
    pub at: SystemTime,
    /// The worker whose lease must still hold (none for API-driven transitions).
    pub lease_holder: Option<String>,
    /// A corrected input replacing the stored one (clarification).
    pub input: Option<serde_json::Value>,
    /// The registries' answers the decision rests on, replacing the stored ones.
    pub answers: Option<serde_json::Value>,
    /// Manifest entries added or changed by this transition (an appeal's or a clarification's
    /// documents), whose bytes are now awaited (a `submitted` or `in_review` application is not
    /// claimed until they arrive).
    pub documents_added: Vec<String>,
    /// The manifest's names after this transition, when it changes the input: awaited entries no
    /// longer in it are no longer awaited.
    pub manifest: Option<Vec<String>>,
}

/// What [`Store::transition`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Transitioned {
    /// Written.
    Done(Box<ApplicationRecord>),
    /// Not written: the status moved on, or the lease is gone.
    Stale,
    /// Not written: another application for this child and benefit is already approved.
    DuplicateApproval,
}

/// A status-change event from the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the outbox (the cursor).
    pub seq: i64,
    /// The application.
    pub application_id: String,
    /// Its number.
    pub number: String,
    /// `submitted`, `status_changed`, `documents_requested`, `final_decision`.
    pub kind: String,
    /// The status it moved to.
    pub status: Status,
    /// When (ms).
    pub at_ms: i64,
}

/// A document's bytes, as stored (by digest) for a manifest entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument {
    /// The manifest entry's name.
    pub name: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// Media type found in the bytes.
    pub media_type: String,
}

/// What [`Store::attach_document`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attached {
    /// Recorded; this many entries are still missing.
    Done {
        /// Entries still missing.
        missing: usize,
    },
    /// No such application or no such pending entry.
    Unknown,
}

/// Which applications a listing wants (all conditions hold).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    /// In this status.
    pub status: Option<Status>,
    /// For this benefit code.
    pub benefit: Option<String>,
    /// Submitted at or after (ms).
    pub submitted_from_ms: Option<i64>,
    /// Submitted before (ms).
    pub submitted_to_ms: Option<i64>,
    /// By this applicant (SNILS, 11 digits).
    pub applicant_snils: Option<String>,
    /// Overdue at this moment (ms): under review since more than 30 days before it.
    pub overdue_at_ms: Option<i64>,
}

/// An application in a listing (no input, no journal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Id.
    pub id: String,
    /// Number.
    pub number: String,
    /// Status.
    pub status: Status,
    /// Benefit code.
    pub benefit: String,
    /// The applicant's SNILS.
    pub applicant_snils: String,
    /// Submitted at (ms).
    pub submitted_ms: i64,
    /// In the status since (ms).
    pub status_since_ms: i64,
}

/// Where a listing page ends: the next page starts after it (order: submission time, then id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Submission time of the last row.
    pub submitted_ms: i64,
    /// Its id.
    pub id: String,
}

impl Cursor {
    /// The opaque text form (`<ms>.<id>`).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.submitted_ms, self.id)
    }

    /// Read the text form.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (ms, id) = s.split_once('.')?;
        Some(Cursor {
            submitted_ms: ms.parse().ok()?,
            id: id.to_string(),
        })
    }
}

/// What the store holds now, as the gauges of `/metrics` show it: counts only, no personal values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Every status that is not final ([`Status::is_final`]), with how many applications are in
    /// it (zero included), in [`Status::ALL`] order.
    pub open: Vec<(Status, u64)>,
    /// Applications whose registry checks wait for their next attempt ([`Parked`]).
    pub parked: u64,
    /// When the longest-waiting of those was parked (ms), if any is.
    pub oldest_parked_since_ms: Option<i64>,
}

impl Census {
    /// A census from the counts a query found (statuses it did not find count zero; final ones
    /// are left out).
    pub fn from_counts(
        counts: impl IntoIterator<Item = (Status, u64)>,
        parked: u64,
        oldest_parked_since_ms: Option<i64>,
    ) -> Census {
        let counts: Vec<(Status, u64)> = counts.into_iter().collect();
        let open = Status::ALL
            .into_iter()
            .filter(|s| !s.is_final())
            .map(|s| {
                let n = counts.iter().filter(|(c, _)| *c == s).map(|(_, n)| n).sum();
                (s, n)
            })
            .collect();
        Census {
            open,
            parked,
            oldest_parked_since_ms,
        }
    }
}

/// The open statuses as an SQL list (`'submitted', 'in_review', …`), for the census queries.
pub fn open_statuses_sql() -> String {
    Status::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 30 days after which a review is overdue, in ms.
pub const OVERDUE_MS: i64 = crate::domain::status::THIRTY_DAYS * 1000;

/// How long after its rejection an application can be appealed (ms): its answers are kept so long.
pub const APPEAL_WINDOW_MS: i64 = crate::domain::status::THIRTY_DAYS * 1000;

/// The durable store.
pub trait Store: Send + Sync {
    /// Store a new application (see the module docs).
    fn submit(&self, new: NewApplication) -> StoreFuture<'_, Submitted>;
    /// An application by id or number, with its journal.
    fn get<'a>(&'a self, id_or_number: &'a str) -> StoreFuture<'a, Option<ApplicationRecord>>;
    /// The application an idempotency key filed, with the hash of the request that filed it (so a
    /// retry is answered even when admission would refuse a new application).
    fn by_idempotency_key<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Earlier>>;
    /// Give up to `limit` claimable applications to `worker` for `lease`, moving `submitted` ones to
    /// `in_review`: those whose lease ran out first (a crashed worker's, a parked one due), then
    /// the oldest submitted. Its cost does not depend on how many wait for documents.
    fn claim_many<'a>(
        &'a self,
        worker: &'a str,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>>;
    /// [`Store::claim_many`] for one.
    fn claim<'a>(
        &'a self,
        worker: &'a str,
        now: SystemTime,
        lease: Duration,
    ) -> StoreFuture<'a, Option<ApplicationRecord>> {
        let claimed = self.claim_many(worker, now, lease, 1);
        Box::pin(async move { Ok(claimed.await?.pop()) })
    }
    /// Write a transition (see the module docs).
    fn transition(&self, t: Transition) -> StoreFuture<'_, Transitioned>;
    /// Park an `in_review` application that `worker` holds until `parked.next_attempt_ms`, giving
    /// up the lease; false (nothing written) when the worker no longer holds it.
    fn park<'a>(
        &'a self,
        id: &'a str,
        worker: &'a str,
        parked: &'a Parked,
    ) -> StoreFuture<'a, bool>;
    /// Extend the leases `worker` holds on `ids` (the applications it is processing) to `until`;
    /// how many it still held. A live worker renews every few seconds, so a lease can be short:
    /// a crashed worker's applications come free seconds after its last renewal, not minutes.
    fn renew<'a>(
        &'a self,
        worker: &'a str,
        ids: &'a [String],
        until: SystemTime,
    ) -> StoreFuture<'a, usize>;
    /// Drop the registries' answers of applications that are final and can no longer be appealed:
    /// approved, or rejected more than the appeal window ([`APPEAL_WINDOW_MS`]) before `now`. At most
    /// `limit` at once; how many were purged. The decision's reasons stay in the journal.
    fn purge_answers(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize>;
    /// Outbox events after `after`, at most `limit`, in order.
    fn events_after(&self, after: i64, limit: usize) -> StoreFuture<'_, Vec<Event>>;
    /// A page of applications matching `filter`, after `after`, in submission order.
    fn list<'a>(
        &'a self,
        filter: &'a ListFilter,
        after: Option<&'a Cursor>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Summary>>;
    /// Record that a manifest entry's bytes arrived (stored by digest elsewhere).
    fn attach_document<'a>(
        &'a self,
        id: &'a str,
        document: &'a StoredDocument,
        at: SystemTime,
    ) -> StoreFuture<'a, Attached>;
    /// The last event a webhook subscription has delivered (0: none).
    fn webhook_cursor<'a>(&'a self, name: &'a str) -> StoreFuture<'a, i64>;
    /// Record that a subscription delivered everything up to `seq`.
    fn set_webhook_cursor<'a>(&'a self, name: &'a str, seq: i64) -> StoreFuture<'a, ()>;
    /// How many applications wait in `submitted` with every document arrived: the work waiting for
    /// workers (admission control). Those still waiting for documents are the citizens' backlog,
    /// not the gateway's.
    fn backlog(&self) -> StoreFuture<'_, u64>;
    /// How many applications are in each open status, and the parked ones (see [`Census`]): a
    /// count over the open statuses only, so its cost does not grow with decided applications.
    fn census(&self) -> StoreFuture<'_, Census>;
    /// Applications approved for a child (for the duplicate rule).
    fn approved_for_child<'a>(
        &'a self,
        child_snils: &'a str,
    ) -> StoreFuture<'a, Vec<ApplicationRecord>>;
}

/// A status as the stores keep it (its API name); anything else means the data is damaged.
pub fn parse_status(s: &str) -> Result<Status, StoreError> {
    Status::parse(s).ok_or_else(|| StoreError::Damaged(format!("unknown status '{s}'")))
}

/// The stored parking of an application. It only informs (when to try again is the lease column), so
/// an unreadable one is logged and read as none rather than failing every claim of the queue.
pub fn read_parked(json: &str) -> Option<Parked> {
    serde_json::from_str(json)
        .map_err(|e| tracing::warn!(error = %e, "unreadable parking ignored"))
        .ok()
}

/// The stored list of missing manifest entries (JSON) after a transition: those still in the new
/// `manifest` (all, when it is unchanged) and the `added` ones, and its length (the
/// `documents_pending` count). One rule for both stores.
pub fn with_added(
    missing: &str,
    manifest: Option<&[String]>,
    added: &[String],
) -> Result<(String, i64), StoreError> {
    let mut missing: Vec<String> = serde_json::from_str(missing)
        .map_err(|e| StoreError::Damaged(format!("documents_missing: {e}")))?;
    if let Some(manifest) = manifest {
        missing.retain(|name| manifest.contains(name));
    }
    for name in added {
        if !missing.contains(name) {
            missing.push(name.clone());
        }
    }
    let n = missing.len() as i64;
    Ok((serde_json::to_string(&missing).unwrap_or_default(), n))
}

/// The outbox event kind of a transition to `to`.
pub fn event_kind(to: Status) -> &'static str {
    match to {
        Status::Submitted => "submitted",
        Status::NeedsClarification => "documents_requested",
        Status::Approved | Status::Rejected => "final_decision",
        Status::InReview | Status::AppealReview | Status::ManualReview => "status_changed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awaited_documents_follow_the_manifest() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // An appeal adds an entry.
        assert_eq!(
            with_added(r#"["passport"]"#, None, &names(&["other"])).expect("ok"),
            (r#"["passport","other"]"#.to_string(), 2)
        );
        // A clarification drops an awaited entry from the manifest and replaces another's bytes.
        let manifest = names(&["snils", "other"]);
        assert_eq!(
            with_added(
                r#"["passport","other"]"#,
                Some(&manifest),
                &names(&["snils", "other"])
            )
            .expect("ok"),
            (r#"["other","snils"]"#.to_string(), 2)
        );
        assert!(matches!(
            with_added("not json", None, &[]),
            Err(StoreError::Damaged(_))
        ));
    }
}
