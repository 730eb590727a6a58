-- What AWS documents and the first schema did not keep. Append-only, like every migration.

-- A stream first seen after a failed or mid-way transition (ENABLING_FAILED, DISABLING,
-- DISABLING_FAILED) with no earlier observation: the key protecting its data is not known.
-- Such a stream counts under the key Describe shows until an ENABLED or DISABLED settles it.
ALTER TABLE streams ADD COLUMN in_force_unknown INTEGER NOT NULL DEFAULT 0;
-- The stream a non-DirectPut stream reads from (a Kinesis stream or an MSK cluster ARN).
ALTER TABLE streams ADD COLUMN source_arn TEXT;

ALTER TABLE plan_items ADD COLUMN cur_source TEXT;
ALTER TABLE plan_items ADD COLUMN cur_in_force_unknown INTEGER NOT NULL DEFAULT 0;

-- KMS KeyManager (AWS or CUSTOMER), and whether DescribeKey was allowed at all.
ALTER TABLE keys ADD COLUMN key_manager TEXT;
ALTER TABLE keys ADD COLUMN readable INTEGER NOT NULL DEFAULT 1;
