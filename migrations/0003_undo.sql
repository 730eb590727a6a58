-- Undo (rollback) and encryption off. Append-only, like every migration.

-- Where a rollback expects a stream to be before restoring it (what the rolled-back run left
-- it at): a stream found elsewhere was changed since by someone else and is not touched.
ALTER TABLE plan_items ADD COLUMN expect_type TEXT;
ALTER TABLE plan_items ADD COLUMN expect_arn TEXT;

-- A rollback is a run of its own, linked to the run it rolls back (in its arguments). SQLite
-- cannot change a CHECK constraint in place: the table is rebuilt, ids and rows kept (the ledger
-- runs migrations with foreign keys off and checks every reference before committing).
CREATE TABLE runs_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('plan', 'apply', 'rollback')),
    plan_id         INTEGER REFERENCES plans (id),
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    -- NULL while unfinished; else converged | failed | deferred | interrupted | error |
    -- cancelled | abandoned | planned
    outcome         TEXT,
    args            TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    host            TEXT NOT NULL
);
INSERT INTO runs_new (id, kind, plan_id, started_at, ended_at, outcome, args, pid, host)
    SELECT id, kind, plan_id, started_at, ended_at, outcome, args, pid, host FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
