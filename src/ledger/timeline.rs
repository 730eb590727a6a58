//! A run's timestamps read back for its report: every Start and Stop it sent (with its answer)
//! and every Describe answer it recorded, each with its stream, in time order; and the
//! settings of the plan it carried out. Reading only.

use rusqlite::{OptionalExtension, params};

use super::plans::settings_from_json;
use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::plan::Settings;

/// One Start or Stop a run sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCall {
    /// `start` or `stop`.
    pub op: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub sent_at: EpochMillis,
    /// `None` while in flight (the run was killed before the answer).
    pub completed_at: Option<EpochMillis>,
    /// `in_flight`, `ok`, `rejected`, `unknown` or `not_sent`.
    pub state: String,
    pub error_code: Option<String>,
}

/// One Describe answer a run recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub account: String,
    pub region: String,
    pub name: String,
    pub observed_at: EpochMillis,
    pub enc_status: String,
}

impl Ledger {
    /// The Starts and Stops of a run, by the time they were sent.
    pub fn run_calls(&self, run_id: i64) -> Result<Vec<SentCall>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.op, s.account, s.region, s.name, a.sent_at, a.completed_at, a.state,
                    a.error_code
             FROM attempts a JOIN streams s ON s.id = a.stream_id
             WHERE a.run_id = ?1 ORDER BY a.sent_at, a.id",
        )?;
        let rows = stmt.query_map(params![run_id], |r| {
            Ok(SentCall {
                op: r.get(0)?,
                account: r.get(1)?,
                region: r.get(2)?,
                name: r.get(3)?,
                sent_at: r.get(4)?,
                completed_at: r.get(5)?,
                state: r.get(6)?,
                error_code: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The Describe answers a run recorded, by the time they came.
    pub fn run_observations(&self, run_id: i64) -> Result<Vec<Described>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.account, s.region, s.name, o.observed_at, o.enc_status
             FROM observations o JOIN streams s ON s.id = o.stream_id
             WHERE o.run_id = ?1 ORDER BY o.observed_at, o.id",
        )?;
        let rows = stmt.query_map(params![run_id], |r| {
            Ok(Described {
                account: r.get(0)?,
                region: r.get(1)?,
                name: r.get(2)?,
                observed_at: r.get(3)?,
                enc_status: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The settings a saved plan was made with (without loading its items).
    pub fn plan_settings(&self, plan_id: i64) -> Result<Option<Settings>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT settings FROM plans WHERE id = ?1",
                params![plan_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.as_deref().map(settings_from_json))
    }
}
