//! Writing observations and Start/Stop attempts. An attempt is written before its request is
//! sent (`in_flight`) and completed after; a row still `in_flight` when a ledger is opened is a
//! call whose outcome is unknown.

use rusqlite::{OptionalExtension, params};

use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::model::{KeyChoice, KeyObservation, StreamId, StreamObservation};

/// How an attempt ended.
pub use crate::model::AttemptOutcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Stop,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Stop => "stop",
        }
    }
}

/// One row of `attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub stream: StreamId,
    pub run_id: Option<i64>,
    pub op: String,
    pub key_type: Option<String>,
    pub key_arn: Option<String>,
    pub sent_at: EpochMillis,
    pub state: String,
    pub error_code: Option<String>,
}

fn key_columns(key: Option<&KeyChoice>) -> (Option<&'static str>, Option<String>) {
    match key {
        None => (None, None),
        Some(k) => (
            Some(k.key_type().as_str()),
            k.key_arn().map(|a| a.as_str().to_owned()),
        ),
    }
}

impl Ledger {
    /// Records one Describe result: the stream's latest state and a history row. Returns the
    /// stream's row id. The key in force follows the rules of the schema: set on ENABLED,
    /// cleared on DISABLED, kept otherwise; a stream first seen ENABLING_FAILED, DISABLING or
    /// DISABLING_FAILED has a key in force nobody knows (`in_force_unknown`) until one of those
    /// two settles it.
    pub fn record_stream(&self, obs: &StreamObservation, run_id: Option<i64>) -> Result<i64> {
        let now = self.now();
        let enc = &obs.encryption;
        let (key_type, key_arn) = key_columns(enc.key.as_ref());
        let (failure_type, failure_details) = match &enc.failure {
            Some(f) => (Some(f.kind.as_str()), Some(f.details.as_str())),
            None => (None, None),
        };
        self.atomic(|conn| {
            let id: i64 = conn.prepare_cached(
            "INSERT INTO streams (account, region, name, arn, source_type, status, enc_status,
                                  key_type, key_arn, failure_type, failure_details,
                                  in_force_type, in_force_arn, observed_at, source_arn,
                                  in_force_unknown)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                     CASE WHEN ?7 = 'ENABLED' THEN ?8 END,
                     CASE WHEN ?7 = 'ENABLED' THEN ?9 END, ?12, ?13,
                     ?7 IN ('ENABLING_FAILED', 'DISABLING', 'DISABLING_FAILED'))
             ON CONFLICT (account, region, name) DO UPDATE SET
                 arn = excluded.arn, source_type = excluded.source_type, status = excluded.status,
                 enc_status = excluded.enc_status, key_type = excluded.key_type,
                 key_arn = excluded.key_arn, failure_type = excluded.failure_type,
                 failure_details = excluded.failure_details, observed_at = excluded.observed_at,
                 source_arn = excluded.source_arn,
                 in_force_type = CASE excluded.enc_status WHEN 'ENABLED' THEN excluded.key_type
                                     WHEN 'DISABLED' THEN NULL ELSE streams.in_force_type END,
                 in_force_arn = CASE excluded.enc_status WHEN 'ENABLED' THEN excluded.key_arn
                                    WHEN 'DISABLED' THEN NULL ELSE streams.in_force_arn END,
                 in_force_unknown = CASE WHEN excluded.enc_status IN ('ENABLED', 'DISABLED')
                                         THEN 0 ELSE streams.in_force_unknown END
             RETURNING id",
        )?.query_row(
            params![
                obs.id.account,
                obs.id.region,
                obs.id.name,
                obs.arn,
                obs.source.as_str(),
                obs.status.as_str(),
                enc.status.as_str(),
                key_type,
                key_arn,
                failure_type,
                failure_details,
                now,
                obs.source_arn,
            ],
            |r| r.get(0),
        )?;
            conn.prepare_cached(
                "INSERT INTO observations (stream_id, run_id, observed_at, status, enc_status,
                                       key_type, key_arn, failure_type, failure_details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                id,
                run_id,
                now,
                obs.status.as_str(),
                enc.status.as_str(),
                key_type,
                key_arn,
                failure_type,
                failure_details
            ])?;
            Ok(id)
        })
    }

    /// The key in force for a stream, as the ledger derived it (`None`: not encrypted, or
    /// never observed).
    pub fn key_in_force(&self, stream: &StreamId) -> Result<Option<KeyChoice>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT in_force_type, in_force_arn FROM streams
                 WHERE account = ?1 AND region = ?2 AND name = ?3",
            )?
            .query_row(params![stream.account, stream.region, stream.name], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(row.and_then(|(t, a)| KeyChoice::from_parts(t.as_deref()?, a.as_deref())))
    }

    /// Records one KMS DescribeKey result.
    pub fn record_key(&self, obs: &KeyObservation) -> Result<()> {
        self.conn.execute(
            "INSERT INTO keys (arn, region, account, found, key_state, key_spec, key_usage,
                               observed_at, key_manager, readable)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (arn) DO UPDATE SET found = excluded.found,
                 key_state = excluded.key_state, key_spec = excluded.key_spec,
                 key_usage = excluded.key_usage, observed_at = excluded.observed_at,
                 key_manager = excluded.key_manager, readable = excluded.readable",
            params![
                obs.arn.as_str(),
                obs.arn.region(),
                obs.arn.account(),
                obs.found,
                obs.state,
                obs.spec,
                obs.usage,
                self.now(),
                obs.manager,
                obs.readable,
            ],
        )?;
        Ok(())
    }

    /// Writes and commits an `in_flight` attempt, stamped now. Call it before sending the
    /// request; the returned id completes it.
    pub fn begin_attempt(
        &self,
        stream_row: i64,
        run_id: Option<i64>,
        op: Op,
        key: Option<&KeyChoice>,
    ) -> Result<i64> {
        self.begin_attempt_at(stream_row, run_id, op, key, self.now())
    }

    /// [`Ledger::begin_attempt`] with the send time given (the engine's clock reading).
    pub fn begin_attempt_at(
        &self,
        stream_row: i64,
        run_id: Option<i64>,
        op: Op,
        key: Option<&KeyChoice>,
        sent_at: EpochMillis,
    ) -> Result<i64> {
        let (key_type, key_arn) = key_columns(key);
        self.conn
            .prepare_cached(
                "INSERT INTO attempts (stream_id, run_id, op, key_type, key_arn, sent_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'in_flight')",
            )?
            .execute(params![
                stream_row,
                run_id,
                op.as_str(),
                key_type,
                key_arn,
                sent_at
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Completes an attempt with its outcome.
    pub fn complete_attempt(&self, attempt: i64, outcome: &AttemptOutcome) -> Result<()> {
        let (state, code, message) = match outcome {
            AttemptOutcome::Ok => ("ok", None, None),
            AttemptOutcome::Rejected { code, message } => {
                ("rejected", Some(code.as_str()), Some(message.as_str()))
            }
            AttemptOutcome::Unknown { message } => ("unknown", None, Some(message.as_str())),
            AttemptOutcome::NotSent { message } => ("not_sent", None, Some(message.as_str())),
        };
        self.conn.prepare_cached(
            "UPDATE attempts SET state = ?2, error_code = ?3, error_message = ?4, completed_at = ?5
             WHERE id = ?1",
        )?.execute(
            params![attempt, state, code, message, self.now()],
        )?;
        Ok(())
    }

    /// Records that the service refused an attempt because the stream's budget was spent.
    pub fn mark_budget_full(&self, attempt: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE attempts SET budget_full = 1 WHERE id = ?1",
            params![attempt],
        )?;
        Ok(())
    }

    /// Attempts whose outcome was never recorded (the process died between send and answer).
    /// They count against the budget; their streams must be reconciled with Describe before
    /// anything else is sent to them.
    pub fn in_flight_attempts(&self) -> Result<Vec<AttemptRow>> {
        self.attempts_where("a.state = 'in_flight'", params![])
    }

    /// Every attempt made for a stream, oldest first.
    pub fn attempts_of(&self, stream: &StreamId) -> Result<Vec<AttemptRow>> {
        self.attempts_where(
            "s.account = ?1 AND s.region = ?2 AND s.name = ?3",
            params![stream.account, stream.region, stream.name],
        )
    }

    fn attempts_where(
        &self,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<AttemptRow>> {
        let sql = format!(
            "SELECT a.id, s.account, s.region, s.name, a.run_id, a.op, a.key_type, a.key_arn,
                    a.sent_at, a.state, a.error_code
             FROM attempts a JOIN streams s ON s.id = a.stream_id
             WHERE {condition} ORDER BY a.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, |r| {
            Ok(AttemptRow {
                id: r.get(0)?,
                stream: StreamId {
                    account: r.get(1)?,
                    region: r.get(2)?,
                    name: r.get(3)?,
                },
                run_id: r.get(4)?,
                op: r.get(5)?,
                key_type: r.get(6)?,
                key_arn: r.get(7)?,
                sent_at: r.get(8)?,
                state: r.get(9)?,
                error_code: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A stream's latest observed encryption and the key in force, as the ledger knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamState {
    pub row: i64,
    pub enc_status: crate::model::EncStatus,
    pub key: Option<KeyChoice>,
    pub in_force: Option<KeyChoice>,
    /// First seen failed or mid-transition: the key in force is not known.
    pub in_force_unknown: bool,
    /// When the stream was last observed.
    pub observed_at: EpochMillis,
}

impl StreamState {
    /// Whether the stream was seen ENABLED or ENABLING with `target`.
    pub fn at(&self, target: &KeyChoice) -> bool {
        self.key.as_ref() == Some(target)
            && matches!(
                self.enc_status,
                crate::model::EncStatus::Enabled | crate::model::EncStatus::Enabling
            )
    }
}

impl StreamState {
    /// The customer-managed keys this stream counts toward, by the rule of
    /// [`Ledger::key_counts_now`]: its key in force, and the key it is ENABLING towards.
    pub fn counted_keys(&self) -> std::collections::BTreeSet<String> {
        let enabling = match self.enc_status {
            crate::model::EncStatus::Enabling => self.key.as_ref(),
            _ if self.in_force_unknown => self.key.as_ref(),
            _ => None,
        };
        [self.in_force.as_ref(), enabling]
            .into_iter()
            .flatten()
            .filter_map(KeyChoice::key_arn)
            .map(|arn| arn.as_str().to_owned())
            .collect()
    }
}

impl Ledger {
    /// The latest state of a stream, or `None` if never observed.
    pub fn stream_state(&self, stream: &StreamId) -> Result<Option<StreamState>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, enc_status, key_type, key_arn, in_force_type, in_force_arn,
                        in_force_unknown, observed_at FROM streams
                 WHERE account = ?1 AND region = ?2 AND name = ?3",
            )?
            .query_row(params![stream.account, stream.region, stream.name], |r| {
                let key = |t: Option<String>, a: Option<String>| {
                    t.and_then(|t| KeyChoice::from_parts(&t, a.as_deref()))
                };
                Ok(StreamState {
                    row: r.get(0)?,
                    enc_status: crate::model::EncStatus::parse(&r.get::<_, String>(1)?),
                    key: key(r.get(2)?, r.get(3)?),
                    in_force: key(r.get(4)?, r.get(5)?),
                    in_force_unknown: r.get(6)?,
                    observed_at: r.get(7)?,
                })
            })
            .optional()?)
    }
}

impl Ledger {
    /// Records that every stream of a region was listed and observed.
    pub fn record_inventory(&self, account: &str, region: &str, streams: usize) -> Result<()> {
        self.conn().execute(
            "INSERT INTO inventories (account, region, completed_at, streams) VALUES (?1, ?2, ?3, ?4)",
            params![account, region, self.now(), streams as i64],
        )?;
        Ok(())
    }

    /// Whether a region was ever inventoried (its per-key counts are then complete).
    pub fn has_inventory(&self, region: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM inventories WHERE region = ?1 LIMIT 1",
                [region],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}
