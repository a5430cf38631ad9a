//! The schema's versioned migrations, one text for both backends: `{BIGINT}` and `{SEQUENCE_PK}`
//! stand for the dialect's 64-bit integer and ever-increasing key (outbox cursors must never be
//! reused). Each backend applies them in order, each once, recording the version in
//! `schema_migrations`.

/// The SQL dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Versioned migrations, applied in order, each once (templates: see [`render`]).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "
CREATE TABLE applications (
    id              TEXT PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    request_hash    TEXT NOT NULL,
    status          TEXT NOT NULL,
    benefit         TEXT NOT NULL,
    applicant_snils TEXT NOT NULL,
    child_snils     TEXT NOT NULL,
    input           TEXT NOT NULL,
    submitted_ms    {BIGINT} NOT NULL,
    status_since_ms {BIGINT} NOT NULL,
    lease_holder    TEXT,
    lease_until_ms  {BIGINT}
);
CREATE UNIQUE INDEX applications_one_approval ON applications (child_snils, benefit)
    WHERE status = 'approved';
CREATE INDEX applications_claim ON applications (status, submitted_ms);
CREATE INDEX applications_applicant ON applications (applicant_snils);
CREATE TABLE journal (
    id             {SEQUENCE_PK},
    application_id TEXT NOT NULL REFERENCES applications (id),
    at_ms          {BIGINT} NOT NULL,
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    actor          TEXT NOT NULL,
    origin         TEXT NOT NULL,
    reasons        TEXT NOT NULL,
    comment        TEXT,
    request_id     TEXT NOT NULL
);
CREATE INDEX journal_application ON journal (application_id, id);
CREATE TABLE outbox (
    seq            {SEQUENCE_PK},
    application_id TEXT NOT NULL,
    number         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    at_ms          {BIGINT} NOT NULL
);
",
    ),
    (
        2,
        "
ALTER TABLE applications ADD COLUMN documents_missing TEXT NOT NULL DEFAULT '[]';
ALTER TABLE applications ADD COLUMN documents_pending {BIGINT} NOT NULL DEFAULT 0;
CREATE TABLE documents (
    application_id TEXT NOT NULL REFERENCES applications (id),
    name           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           {BIGINT} NOT NULL,
    media_type     TEXT NOT NULL,
    stored_ms      {BIGINT} NOT NULL,
    PRIMARY KEY (application_id, name)
);
",
    ),
    (
        3,
        "
CREATE TABLE webhook_cursors (
    name TEXT PRIMARY KEY,
    seq  {BIGINT} NOT NULL
);
",
    ),
    (
        4,
        "
-- The registries' answers of the last decision, so a clarification re-asks only what changed.
ALTER TABLE applications ADD COLUMN answers TEXT;
",
    ),
    (
        5,
        "
-- Why an application's registry checks wait and when they are tried again (JSON, store::Parked).
ALTER TABLE applications ADD COLUMN parked TEXT;
",
    ),
    (
        6,
        "
-- The claim reads only claimable rows: its cost no longer grows with the applications waiting for
-- documents (the old (status, submitted_ms) index made it walk all of them).
CREATE INDEX applications_ready ON applications (submitted_ms)
    WHERE status = 'submitted' AND documents_pending = 0;
CREATE INDEX applications_lease_due ON applications ((COALESCE(lease_until_ms, 0)))
    WHERE status = 'in_review' AND documents_pending = 0;
",
    ),
    (
        7,
        "
-- Events are read by position, not by seq. On PostgreSQL concurrent transactions commit their seqs
-- out of order: a reader that had moved past seq 12 never saw 11 when it committed after. Positions
-- go to committed events only, in order, one publisher at a time (the row of outbox_publisher is
-- its lock; store::postgres::publish). SQLite's one writer gives each event the next position as it
-- writes it. Cursors held before keep their meaning: old events' positions are their seqs.
ALTER TABLE outbox ADD COLUMN position {BIGINT};
UPDATE outbox SET position = seq;
CREATE UNIQUE INDEX outbox_position ON outbox (position);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE position IS NULL;
CREATE TABLE outbox_publisher (id INTEGER PRIMARY KEY);
INSERT INTO outbox_publisher (id) VALUES (1);
",
    ),
    (
        8,
        "
-- The registries' answers are purged once an application is final and its appeal window closed
-- (Store::purge_answers): the sweep reads only final applications that still keep answers.
CREATE INDEX applications_answers_kept ON applications (status_since_ms)
    WHERE answers IS NOT NULL AND status IN ('approved', 'rejected');
",
    ),
];

/// A migration's SQL in `dialect`.
pub fn render(sql: &str, dialect: Dialect) -> String {
    let (bigint, sequence) = match dialect {
        Dialect::Sqlite => ("INTEGER", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        Dialect::Postgres => ("BIGINT", "BIGSERIAL PRIMARY KEY"),
    };
    sql.replace("{BIGINT}", bigint)
        .replace("{SEQUENCE_PK}", sequence)
}
