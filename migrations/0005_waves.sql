-- A rollout in waves. Append-only, like every migration.

-- The wave each of a run's streams belongs to (NULL: a run without waves).
ALTER TABLE run_items ADD COLUMN wave INTEGER;

-- Each wave of a run: how far it got, its bake (counted on the wall clock, so a resumed run
-- bakes only what is left), and the gate's verdict.
CREATE TABLE waves (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    wave        INTEGER NOT NULL,
    streams     INTEGER NOT NULL,
    -- pending | running | baking | passed | failed
    state       TEXT NOT NULL,
    started_at  INTEGER,
    -- every stream of the wave ended
    ended_at    INTEGER,
    -- the bake's end
    bake_until  INTEGER,
    -- passed or failed
    decided_at  INTEGER,
    -- failed: the gate's reasons (JSON list of strings)
    why         TEXT,
    PRIMARY KEY (run_id, wave)
);

-- Every reading of a wave's health gate: what was read (alarm states, each stream's rates,
-- failures) and the verdict, with its time (JSON).
CREATE TABLE gate_readings (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    wave        INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    reading     TEXT NOT NULL
);
CREATE INDEX gate_readings_by_wave ON gate_readings (run_id, wave, at);

-- A failed gate gone past with `resume --override-gate`: who and when.
CREATE TABLE gate_overrides (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    wave        INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    who         TEXT NOT NULL
);
