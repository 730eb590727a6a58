-- The producer check. Append-only, like every migration.

-- One pass over an account's IAM principals (GetAccountAuthorizationDetails, every page), kept
-- with its time so a later survey within the plan's age reads it instead of asking IAM again.
CREATE TABLE iam_passes (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    taken_at    INTEGER NOT NULL,
    run_id      INTEGER REFERENCES runs (id),
    -- The details as the check reads them (JSON).
    details     TEXT NOT NULL
);
CREATE INDEX iam_passes_by_account ON iam_passes (account, taken_at);

-- A planned stream's producers and their verdicts on its target key (JSON), when checked.
ALTER TABLE plan_items ADD COLUMN producers TEXT;

-- What the plan's producer check did: skipped and why, IAM and KMS calls, notes (JSON).
ALTER TABLE plans ADD COLUMN producer_check TEXT;
