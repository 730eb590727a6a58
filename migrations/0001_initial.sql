-- The ledger's first schema. Migrations are append-only: never edit a released file, add the
-- next number instead. Times are Unix epoch milliseconds.

-- One row per stream ever observed; identity is (account, region, name). The columns after
-- `name` hold the latest observation (history is in `observations`).
CREATE TABLE streams (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    region          TEXT NOT NULL,
    name            TEXT NOT NULL,
    arn             TEXT NOT NULL,
    source_type     TEXT NOT NULL,
    status          TEXT NOT NULL,
    enc_status      TEXT NOT NULL,
    key_type        TEXT,
    key_arn         TEXT,
    failure_type    TEXT,
    failure_details TEXT,
    -- The key actually protecting the stream's data: set when observed ENABLED, cleared when
    -- DISABLED, unchanged by ENABLING / ENABLING_FAILED (a failed rekey keeps the old key).
    in_force_type   TEXT,
    in_force_arn    TEXT,
    observed_at     INTEGER NOT NULL,
    UNIQUE (account, region, name)
);
CREATE INDEX streams_in_force_arn ON streams (in_force_arn);
CREATE INDEX streams_key_arn ON streams (key_arn);

-- Every Describe result, in order: the audit trail of what was seen.
CREATE TABLE observations (
    id              INTEGER PRIMARY KEY,
    stream_id       INTEGER NOT NULL REFERENCES streams (id),
    run_id          INTEGER REFERENCES runs (id),
    observed_at     INTEGER NOT NULL,
    status          TEXT NOT NULL,
    enc_status      TEXT NOT NULL,
    key_type        TEXT,
    key_arn         TEXT,
    failure_type    TEXT,
    failure_details TEXT
);
CREATE INDEX observations_stream ON observations (stream_id, observed_at);

-- Customer-managed keys as KMS DescribeKey last showed them.
CREATE TABLE keys (
    arn             TEXT PRIMARY KEY,
    region          TEXT NOT NULL,
    account         TEXT NOT NULL,
    found           INTEGER NOT NULL,
    key_state       TEXT NOT NULL,
    key_spec        TEXT NOT NULL,
    key_usage       TEXT NOT NULL,
    observed_at     INTEGER NOT NULL
);

-- Regions whose every stream was listed and observed (the CMK counts there are complete).
CREATE TABLE inventories (
    id              INTEGER PRIMARY KEY,
    account         TEXT NOT NULL,
    region          TEXT NOT NULL,
    completed_at    INTEGER NOT NULL,
    streams         INTEGER NOT NULL
);

-- Every Start/Stop call. Written with state 'in_flight' before the request is sent, completed
-- after: 'ok', 'rejected' (the service answered with an error; error_code says which),
-- 'unknown' (the request may have reached the service: no answer), or 'not_sent' (proven never
-- to have left: DNS, connection refused, client-side validation). All but 'not_sent' count
-- against the stream's 24 h budget.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY,
    stream_id       INTEGER NOT NULL REFERENCES streams (id),
    run_id          INTEGER REFERENCES runs (id),
    op              TEXT NOT NULL CHECK (op IN ('start', 'stop')),
    key_type        TEXT,
    key_arn         TEXT,
    sent_at         INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_flight', 'ok', 'rejected', 'unknown', 'not_sent')),
    error_code      TEXT,
    error_message   TEXT,
    completed_at    INTEGER,
    -- 1 when the service refused the call because the stream's budget was spent (by anyone):
    -- the budget counts as full for a whole window from then.
    budget_full     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attempts_stream_sent ON attempts (stream_id, sent_at);
CREATE INDEX attempts_in_flight ON attempts (state) WHERE state = 'in_flight';

-- Saved plans: the decision for every stream of a fleet, so `apply --plan ID` runs exactly it.
CREATE TABLE plans (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,
    -- Oldest observation the plan relied on: apply re-observes when it is older than allowed.
    observed_at     INTEGER NOT NULL,
    fleet           TEXT NOT NULL,
    settings        TEXT NOT NULL,
    estimated_ms    INTEGER NOT NULL
);

CREATE TABLE plan_items (
    plan_id         INTEGER NOT NULL REFERENCES plans (id),
    seq             INTEGER NOT NULL,
    line            INTEGER NOT NULL,
    account         TEXT,
    region          TEXT NOT NULL,
    name            TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_arn      TEXT,
    action          TEXT NOT NULL,
    reason          TEXT,
    next_slot       INTEGER,
    cur_stream      TEXT,
    cur_status      TEXT,
    cur_type        TEXT,
    cur_arn         TEXT,
    budget_used     INTEGER NOT NULL,
    PRIMARY KEY (plan_id, seq)
);

-- A plan or apply invocation.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('plan', 'apply')),
    plan_id         INTEGER REFERENCES plans (id),
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    -- NULL while unfinished; else converged | failed | deferred | interrupted | error
    outcome         TEXT,
    args            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    host            TEXT NOT NULL
);

-- One stream of an apply run and where it stands:
-- pending -> starting -> polling -> done | failed | deferred, or skipped.
CREATE TABLE run_items (
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    seq             INTEGER NOT NULL,
    line            INTEGER NOT NULL,
    account         TEXT,
    region          TEXT NOT NULL,
    name            TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_arn      TEXT,
    -- NULL until the stream is observed and decided (apply decides as it observes).
    action          TEXT,
    phase           TEXT NOT NULL CHECK (phase IN ('pending', 'starting', 'polling', 'done', 'failed', 'skipped', 'deferred')),
    reason          TEXT,
    -- The key in force before this run touched the stream, to restore it if needed.
    old_type        TEXT,
    old_arn         TEXT,
    starts          INTEGER NOT NULL DEFAULT 0,
    enabled_at      INTEGER,
    failure_type    TEXT,
    failure_details TEXT,
    next_slot       INTEGER,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_items_phase ON run_items (run_id, phase);

-- At most one apply at a time per ledger.
CREATE TABLE apply_lock (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    pid             INTEGER NOT NULL,
    host            TEXT NOT NULL,
    run_id          INTEGER,
    acquired_at     INTEGER NOT NULL,
    heartbeat_at    INTEGER NOT NULL
);
