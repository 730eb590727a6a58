//! Saved plans and runs. A plan is stored whole (settings and every item's decision), so
//! `apply --plan ID` carries out exactly what the operator read; a run row records each plan or
//! apply invocation with its arguments and outcome.

use rusqlite::{OptionalExtension, params};

use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::input::Target;
use crate::model::{EncStatus, KeyChoice, StreamId, StreamStatus};
use crate::plan::{Action, Current, Item, Reason, Settings};

/// A plan as saved in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    pub id: i64,
    pub created_at: EpochMillis,
    /// The oldest observation the plan relied on.
    pub observed_at: EpochMillis,
    /// The fleet file it was made from.
    pub fleet: String,
    pub settings: Settings,
    pub items: Vec<Item>,
    pub estimated_ms: EpochMillis,
}

/// A row of `runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub plan_id: Option<i64>,
    pub started_at: EpochMillis,
    pub ended_at: Option<EpochMillis>,
    pub outcome: Option<String>,
    pub args: String,
}

fn settings_json(s: &Settings) -> String {
    serde_json::json!({
        "reserve": s.reserve,
        "stream_budget": s.stream_budget,
        "window_ms": s.window,
        "cmk_limit": s.cmk_limit,
    })
    .to_string()
}

fn settings_from_json(text: &str) -> Settings {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let d = Settings::default();
    let num = |k: &str, default: u64| v.get(k).and_then(|x| x.as_u64()).unwrap_or(default);
    Settings {
        reserve: num("reserve", d.reserve.into()) as u32,
        stream_budget: num("stream_budget", d.stream_budget.into()) as u32,
        window: num("window_ms", d.window as u64) as EpochMillis,
        cmk_limit: num("cmk_limit", d.cmk_limit.into()) as u32,
    }
}

impl Ledger {
    /// Saves a plan and its items in one transaction; returns its id.
    pub fn save_plan(
        &self,
        fleet: &str,
        settings: &Settings,
        observed_at: EpochMillis,
        items: &[Item],
        estimated_ms: EpochMillis,
    ) -> Result<i64> {
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO plans (created_at, observed_at, fleet, settings, estimated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                self.now(),
                observed_at,
                fleet,
                settings_json(settings),
                estimated_ms
            ],
        )?;
        let plan_id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO plan_items (plan_id, seq, line, account, region, name, target_type,
                     target_arn, action, reason, next_slot, cur_stream, cur_status, cur_type,
                     cur_arn, budget_used)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?;
            for item in items {
                let t = &item.target;
                let cur = item.current.as_ref();
                let cur_key = cur.and_then(|c| c.key.as_ref());
                stmt.execute(params![
                    plan_id,
                    item.seq as i64,
                    t.line as i64,
                    item.account(),
                    t.region,
                    t.name,
                    t.key.key_type().as_str(),
                    t.key.key_arn().map(|a| a.as_str()),
                    item.action.as_str(),
                    item.reason.map(Reason::as_str),
                    item.next_slot,
                    cur.map(|c| c.stream_status.as_str().to_owned()),
                    cur.map(|c| c.status.as_str().to_owned()),
                    cur_key.map(|k| k.key_type().as_str()),
                    cur_key.and_then(|k| k.key_arn()).map(|a| a.as_str()),
                    item.budget_used,
                ])?;
            }
        }
        tx.commit()?;
        Ok(plan_id)
    }

    /// Loads a saved plan, or `None` when there is no plan with that id.
    pub fn load_plan(&self, id: i64) -> Result<Option<SavedPlan>> {
        let head = self
            .conn()
            .query_row(
                "SELECT created_at, observed_at, fleet, settings, estimated_ms FROM plans WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, EpochMillis>(0)?,
                        r.get::<_, EpochMillis>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, EpochMillis>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((created_at, observed_at, fleet, settings, estimated_ms)) = head else {
            return Ok(None);
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, line, account, region, name, target_type, target_arn, action, reason,
                    next_slot, cur_stream, cur_status, cur_type, cur_arn, budget_used
             FROM plan_items WHERE plan_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id], |r| {
            let target_type: String = r.get(5)?;
            let target_arn: Option<String> = r.get(6)?;
            let account: Option<String> = r.get(2)?;
            let region: String = r.get(3)?;
            let name: String = r.get(4)?;
            let cur_stream: Option<String> = r.get(10)?;
            let cur_status: Option<String> = r.get(11)?;
            let cur_type: Option<String> = r.get(12)?;
            let cur_arn: Option<String> = r.get(13)?;
            let action: String = r.get(7)?;
            let reason: Option<String> = r.get(8)?;
            let corrupt = |what: &str| {
                rusqlite::Error::InvalidColumnType(
                    0,
                    format!("plan {id}: {what}"),
                    rusqlite::types::Type::Text,
                )
            };
            let key = KeyChoice::from_parts(&target_type, target_arn.as_deref())
                .ok_or_else(|| corrupt("target key"))?;
            let current = match (cur_stream, cur_status) {
                (Some(stream), Some(status)) => Some(Current {
                    stream_status: StreamStatus::parse(&stream),
                    status: EncStatus::parse(&status),
                    key: cur_type.and_then(|t| KeyChoice::from_parts(&t, cur_arn.as_deref())),
                }),
                _ => None,
            };
            let stream = match (&account, &current) {
                (Some(account), Some(_)) => Some(StreamId {
                    account: account.clone(),
                    region: region.clone(),
                    name: name.clone(),
                }),
                _ => None,
            };
            Ok(Item {
                seq: r.get::<_, i64>(0)? as usize,
                target: Target {
                    line: r.get::<_, i64>(1)? as u64,
                    name,
                    region,
                    account,
                    key,
                },
                stream,
                action: Action::parse(&action).ok_or_else(|| corrupt("action"))?,
                reason: reason.as_deref().and_then(Reason::parse),
                next_slot: r.get(9)?,
                current,
                budget_used: r.get(14)?,
            })
        })?;
        let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(SavedPlan {
            id,
            created_at,
            observed_at,
            fleet,
            settings: settings_from_json(&settings),
            items,
            estimated_ms,
        }))
    }

    /// Records the start of a plan or apply invocation.
    pub fn start_run(&self, kind: &str, plan_id: Option<i64>, args: &str) -> Result<i64> {
        let (pid, host) = super::lock::me();
        self.conn().execute(
            "INSERT INTO runs (kind, plan_id, started_at, args, pid, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind, plan_id, self.now(), args, pid, host],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Attaches the plan a run made or carries out.
    pub fn set_run_plan(&self, run_id: i64, plan_id: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE runs SET plan_id = ?2 WHERE id = ?1",
            params![run_id, plan_id],
        )?;
        Ok(())
    }

    /// Records how a run ended.
    pub fn end_run(&self, run_id: i64, outcome: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE runs SET ended_at = ?2, outcome = ?3 WHERE id = ?1",
            params![run_id, self.now(), outcome],
        )?;
        Ok(())
    }

    /// Runs, newest first.
    pub fn runs(&self) -> Result<Vec<RunRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, kind, plan_id, started_at, ended_at, outcome, args FROM runs ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RunRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                plan_id: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                outcome: r.get(5)?,
                args: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

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
