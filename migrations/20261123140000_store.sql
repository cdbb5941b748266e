-- The store: runs, step checkpoints, the audit trail and leases.
-- One file for SQLite and PostgreSQL, so only portable SQL: TEXT and BIGINT columns, no
-- AUTOINCREMENT/SERIAL (the code assigns every key), no triggers. Times are epoch milliseconds
-- (BIGINT, comparable in both); JSON is TEXT (kept byte for byte: the audit hash covers it);
-- booleans are BIGINT 0/1 (SQLite has no boolean type to decode through sqlx's Any driver).

CREATE TABLE runs (
    id              TEXT    NOT NULL PRIMARY KEY,
    runbook         TEXT    NOT NULL,
    runbook_source  TEXT    NOT NULL,
    -- The full YAML the run started from: a resume replays exactly this, not the file on disk.
    runbook_text    TEXT    NOT NULL,
    runbook_hash    TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    -- Parameters as JSON, secrets already masked by the caller.
    params          TEXT    NOT NULL,
    started_by      TEXT    NOT NULL,
    dry_run         BIGINT  NOT NULL CHECK (dry_run IN (0, 1)),
    status          TEXT    NOT NULL,
    exit_code       BIGINT,
    current_step    TEXT,
    started_at_ms   BIGINT  NOT NULL,
    updated_at_ms   BIGINT  NOT NULL,
    finished_at_ms  BIGINT
);

CREATE INDEX runs_started ON runs (started_at_ms);

-- One checkpoint per step of a run, rewritten as the step advances.
CREATE TABLE steps (
    run_id          TEXT    NOT NULL REFERENCES runs (id),
    step_id         TEXT    NOT NULL,
    idx             BIGINT  NOT NULL,
    state           TEXT    NOT NULL,
    attempt         BIGINT  NOT NULL,
    inputs_hash     TEXT,
    inputs          TEXT,
    outputs         TEXT,
    error           TEXT,
    started_at_ms   BIGINT,
    finished_at_ms  BIGINT,
    rolled_back     BIGINT  NOT NULL CHECK (rolled_back IN (0, 1)),
    PRIMARY KEY (run_id, step_id)
);

-- Append-only and hash-chained: hash = sha256 over (seq, at, run_id, step_id, kind, payload,
-- prev_hash). No foreign key to runs: events may concern a run that was never recorded (refused).
CREATE TABLE audit_events (
    seq             BIGINT  NOT NULL PRIMARY KEY,
    at              TEXT    NOT NULL,
    run_id          TEXT,
    step_id         TEXT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);

CREATE INDEX audit_events_run ON audit_events (run_id, seq);

-- The chain's end. Every append updates this one row first, which serialises appenders (the row
-- lock in PostgreSQL, the write lock in SQLite) and lets verification notice a deleted tail.
CREATE TABLE audit_head (
    id              BIGINT  NOT NULL PRIMARY KEY CHECK (id = 1),
    seq             BIGINT  NOT NULL,
    hash            TEXT    NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Which run holds which target resource, until when.
CREATE TABLE leases (
    target          TEXT    NOT NULL PRIMARY KEY,
    run_id          TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    pid             BIGINT  NOT NULL,
    acquired_at_ms  BIGINT  NOT NULL,
    expires_at_ms   BIGINT  NOT NULL
);

CREATE INDEX leases_run ON leases (run_id);
