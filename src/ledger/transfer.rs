//! A plan's facts carried out of one ledger and into another (a plan file, `src/planfile.rs`):
//! what the plan was decided from — each stream's latest observation with its Start/Stop calls
//! still counted in the 24 h window, and each key's DescribeKey answer — read out with
//! [`Ledger::plan_facts`], and written into another ledger with the plan itself by
//! [`Ledger::import_plan`], all or nothing. An observation the receiving ledger already has a
//! newer one of is kept as it is; a call it already has is not recorded twice.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::plans::{PlanReview, insert_plan_items, settings_json};
use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::limits::budget;
use crate::model::StreamId;
use crate::plan::{Item, Settings};
use crate::producers::CheckSummary;

/// A stream as the ledger last observed it, and its counted calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamFacts {
    pub account: String,
    pub region: String,
    pub name: String,
    pub arn: String,
    pub source_type: String,
    pub status: String,
    pub enc_status: String,
    pub key_type: Option<String>,
    pub key_arn: Option<String>,
    pub failure_type: Option<String>,
    pub failure_details: Option<String>,
    /// The key protecting its data, as the ledger derived it from its observations.
    pub in_force_type: Option<String>,
    pub in_force_arn: Option<String>,
    pub in_force_unknown: bool,
    pub source_arn: Option<String>,
    #[serde(with = "crate::clock::millis")]
    pub observed_at: EpochMillis,
    /// Its Start and Stop calls that still count against its budget (sent in the last 24 h
    /// and the margin's reach before).
    pub calls: Vec<CallFacts>,
}

/// One counted Start or Stop call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallFacts {
    /// `start` or `stop`.
    pub op: String,
    pub key_type: Option<String>,
    pub key_arn: Option<String>,
    #[serde(with = "crate::clock::millis")]
    pub sent_at: EpochMillis,
    /// `ok`, `rejected` or `unknown` (a call still in flight is carried as `unknown`).
    pub state: String,
    pub error_code: Option<String>,
    /// Refused because the budget was spent: the budget counts as full from then.
    pub budget_full: bool,
}

/// A key as KMS DescribeKey last showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFacts {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub found: bool,
    pub key_state: String,
    pub key_spec: String,
    pub key_usage: String,
    pub key_manager: Option<String>,
    pub readable: bool,
    #[serde(with = "crate::clock::millis")]
    pub observed_at: EpochMillis,
}

/// Every observation a plan was decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFacts {
    pub streams: Vec<StreamFacts>,
    pub keys: Vec<KeyFacts>,
}

/// A plan to write into a ledger, as a plan file carries it.
#[derive(Debug)]
pub struct ImportedPlan<'a> {
    pub created_at: EpochMillis,
    pub observed_at: EpochMillis,
    pub fleet: &'a str,
    pub settings: &'a Settings,
    pub estimated_ms: EpochMillis,
    pub items: &'a [Item],
    pub producer_check: Option<&'a CheckSummary>,
    pub hash: &'a str,
    pub review: &'a PlanReview,
    pub facts: &'a PlanFacts,
}

const STREAM_COLUMNS: &str = "account, region, name, arn, source_type, status, enc_status, \
     key_type, key_arn, failure_type, failure_details, in_force_type, in_force_arn, \
     in_force_unknown, source_arn, observed_at";

fn stream_facts(r: &rusqlite::Row<'_>) -> rusqlite::Result<StreamFacts> {
    Ok(StreamFacts {
        account: r.get(0)?,
        region: r.get(1)?,
        name: r.get(2)?,
        arn: r.get(3)?,
        source_type: r.get(4)?,
        status: r.get(5)?,
        enc_status: r.get(6)?,
        key_type: r.get(7)?,
        key_arn: r.get(8)?,
        failure_type: r.get(9)?,
        failure_details: r.get(10)?,
        in_force_type: r.get(11)?,
        in_force_arn: r.get(12)?,
        in_force_unknown: r.get(13)?,
        source_arn: r.get(14)?,
        observed_at: r.get(15)?,
        calls: Vec::new(),
    })
}

impl Ledger {
    /// The facts a plan was decided from, at `now`: the latest observation of each of
    /// `streams` (those never observed are left out), of every other stream the ledger counts
    /// under one of `keys` (their counts came from them), each with its counted calls; and the
    /// DescribeKey answer of each of `keys` the ledger has. Streams in (account, region, name)
    /// order, keys by ARN.
    pub fn plan_facts(
        &self,
        streams: &[StreamId],
        keys: &[String],
        now: EpochMillis,
    ) -> Result<PlanFacts> {
        let mut found: BTreeMap<(String, String, String), StreamFacts> = BTreeMap::new();
        let mut one = self.conn().prepare_cached(&format!(
            "SELECT {STREAM_COLUMNS} FROM streams WHERE account = ?1 AND region = ?2 AND name = ?3"
        ))?;
        for id in streams {
            if let Some(f) = one
                .query_row(params![id.account, id.region, id.name], stream_facts)
                .optional()?
            {
                found.insert((f.account.clone(), f.region.clone(), f.name.clone()), f);
            }
        }
        let mut under = self.conn().prepare_cached(&format!(
            "SELECT {STREAM_COLUMNS} FROM streams WHERE in_force_arn = ?1
                OR ((enc_status = 'ENABLING' OR in_force_unknown = 1) AND key_arn = ?1)"
        ))?;
        for key in keys {
            for f in under.query_map([key], stream_facts)? {
                let f = f?;
                found
                    .entry((f.account.clone(), f.region.clone(), f.name.clone()))
                    .or_insert(f);
            }
        }
        let mut calls = self.conn().prepare_cached(
            "SELECT a.op, a.key_type, a.key_arn, a.sent_at, a.state, a.error_code, a.budget_full
             FROM attempts a JOIN streams s ON s.id = a.stream_id
             WHERE s.account = ?1 AND s.region = ?2 AND s.name = ?3
               AND a.state != 'not_sent' AND a.sent_at > ?4 AND a.sent_at <= ?5
             ORDER BY a.sent_at, a.id",
        )?;
        let since = now - budget::WINDOW - budget::MAX_MARGIN;
        for ((account, region, name), f) in &mut found {
            let rows = calls.query_map(params![account, region, name, since, now], |r| {
                let state: String = r.get(4)?;
                Ok(CallFacts {
                    op: r.get(0)?,
                    key_type: r.get(1)?,
                    key_arn: r.get(2)?,
                    sent_at: r.get(3)?,
                    // A call in flight may have reached AWS: elsewhere its outcome is unknown.
                    state: if state == "in_flight" {
                        "unknown".to_owned()
                    } else {
                        state
                    },
                    error_code: r.get(5)?,
                    budget_full: r.get(6)?,
                })
            })?;
            f.calls = rows.collect::<rusqlite::Result<_>>()?;
        }
        let mut key_row = self.conn().prepare_cached(
            "SELECT arn, region, account, found, key_state, key_spec, key_usage, key_manager,
                    readable, observed_at FROM keys WHERE arn = ?1",
        )?;
        let mut key_facts = Vec::new();
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        for arn in sorted {
            let row = key_row
                .query_row([arn], |r| {
                    Ok(KeyFacts {
                        arn: r.get(0)?,
                        region: r.get(1)?,
                        account: r.get(2)?,
                        found: r.get(3)?,
                        key_state: r.get(4)?,
                        key_spec: r.get(5)?,
                        key_usage: r.get(6)?,
                        key_manager: r.get(7)?,
                        readable: r.get(8)?,
                        observed_at: r.get(9)?,
                    })
                })
                .optional()?;
            key_facts.extend(row);
        }
        Ok(PlanFacts {
            streams: found.into_values().collect(),
            keys: key_facts,
        })
    }

    /// Writes a plan carried in from elsewhere — its observations first (each only when newer
    /// than what this ledger has, each call once), then the plan with its hash and review —
    /// in one transaction. Returns the plan's id here.
    pub fn import_plan(&self, plan: &ImportedPlan<'_>) -> Result<i64> {
        self.atomic(|conn| {
            for f in &plan.facts.streams {
                import_stream(conn, f)?;
            }
            for k in &plan.facts.keys {
                import_key(conn, k)?;
            }
            conn.execute(
                "INSERT INTO plans (created_at, observed_at, fleet, settings, estimated_ms,
                     producer_check, hash, review)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    plan.created_at,
                    plan.observed_at,
                    plan.fleet,
                    settings_json(plan.settings),
                    plan.estimated_ms,
                    plan.producer_check
                        .map(|c| serde_json::to_string(c).expect("a summary serializes")),
                    plan.hash,
                    serde_json::to_string(plan.review).expect("a review serializes"),
                ],
            )?;
            let plan_id = conn.last_insert_rowid();
            insert_plan_items(conn, plan_id, plan.items)?;
            Ok(plan_id)
        })
    }
}

/// A stream's observation and counted calls, written unless the ledger has a newer one (its
/// calls are added whatever: each is counted once, by its time).
fn import_stream(conn: &rusqlite::Connection, f: &StreamFacts) -> Result<()> {
    let (in_force_type, in_force_arn) = (&f.in_force_type, &f.in_force_arn);
    let changed = conn
        .prepare_cached(&format!(
            "INSERT INTO streams ({STREAM_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (account, region, name) DO UPDATE SET
                 arn = excluded.arn, source_type = excluded.source_type,
                 status = excluded.status, enc_status = excluded.enc_status,
                 key_type = excluded.key_type, key_arn = excluded.key_arn,
                 failure_type = excluded.failure_type,
                 failure_details = excluded.failure_details,
                 in_force_type = excluded.in_force_type,
                 in_force_arn = excluded.in_force_arn,
                 in_force_unknown = excluded.in_force_unknown,
                 source_arn = excluded.source_arn, observed_at = excluded.observed_at
             WHERE streams.observed_at < excluded.observed_at"
        ))?
        .execute(params![
            f.account,
            f.region,
            f.name,
            f.arn,
            f.source_type,
            f.status,
            f.enc_status,
            f.key_type,
            f.key_arn,
            f.failure_type,
            f.failure_details,
            in_force_type,
            in_force_arn,
            f.in_force_unknown,
            f.source_arn,
            f.observed_at,
        ])?;
    let id: i64 = conn
        .prepare_cached("SELECT id FROM streams WHERE account = ?1 AND region = ?2 AND name = ?3")?
        .query_row(params![f.account, f.region, f.name], |r| r.get(0))?;
    if changed > 0 {
        conn.prepare_cached(
            "INSERT INTO observations (stream_id, run_id, observed_at, status,
                 enc_status, key_type, key_arn, failure_type, failure_details)
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            id,
            f.observed_at,
            f.status,
            f.enc_status,
            f.key_type,
            f.key_arn,
            f.failure_type,
            f.failure_details
        ])?;
    }
    for c in &f.calls {
        conn.prepare_cached(
            "INSERT INTO attempts (stream_id, run_id, op, key_type, key_arn, sent_at,
                 state, error_code, completed_at, budget_full)
             SELECT ?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?5, ?8
             WHERE NOT EXISTS (SELECT 1 FROM attempts
                               WHERE stream_id = ?1 AND op = ?2 AND sent_at = ?5)",
        )?
        .execute(params![
            id,
            c.op,
            c.key_type,
            c.key_arn,
            c.sent_at,
            c.state,
            c.error_code,
            c.budget_full
        ])?;
    }
    Ok(())
}

/// A key's DescribeKey answer, written unless the ledger has a newer one.
fn import_key(conn: &rusqlite::Connection, k: &KeyFacts) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO keys (arn, region, account, found, key_state, key_spec,
             key_usage, observed_at, key_manager, readable)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (arn) DO UPDATE SET found = excluded.found,
             key_state = excluded.key_state, key_spec = excluded.key_spec,
             key_usage = excluded.key_usage, observed_at = excluded.observed_at,
             key_manager = excluded.key_manager, readable = excluded.readable
         WHERE keys.observed_at < excluded.observed_at",
    )?
    .execute(params![
        k.arn,
        k.region,
        k.account,
        k.found,
        k.key_state,
        k.key_spec,
        k.key_usage,
        k.observed_at,
        k.key_manager,
        k.readable
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests;
