-- What a planned stream's line says beyond its state. Append-only, like every migration.

-- How the Kinesis stream a KinesisStreamAsSource stream reads from is encrypted, when the plan
-- read it (JSON, src/model.rs SourceEncryption).
ALTER TABLE plan_items ADD COLUMN cur_source_encryption TEXT;

-- The CloudFormation stack or Terraform resource that owns the stream, when found (JSON,
-- src/iac.rs Owner).
ALTER TABLE plan_items ADD COLUMN owner TEXT;
