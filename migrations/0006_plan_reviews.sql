-- Plans for review. Append-only, like every migration.

-- The plan's hash: SHA-256 of its plan document (src/planfile.rs), as `plan --out` writes it
-- and every plan report shows it; `apply --expect-plan-hash` compares it, and `apply FILE`
-- finds a plan file already in the ledger by it (so it is never carried out twice).
ALTER TABLE plans ADD COLUMN hash TEXT;
CREATE INDEX plans_by_hash ON plans (hash);

-- What a plan's report shows beyond its items (JSON): the per-key table, the warnings, the
-- rates of the estimate, throttles met while observing, the waves it was made with, and where
-- its calls went.
ALTER TABLE plans ADD COLUMN review TEXT;
