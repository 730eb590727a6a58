//! A run's items: one row per stream of an apply run, with its phase (pending → starting →
//! polling → done | failed | skipped | deferred), decision, old key, Starts, failure and next
//! slot. Recorded before the streams are observed, decided as they are, updated as they move,
//! so `resume` loads what is not terminal.

use rusqlite::params;

use super::plans::insert_plan_items;
use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::engine::{ItemUpdate, Phase, Why};
use crate::input::Target;
use crate::model::KeyChoice;
use crate::plan::{Action, Item, Reason};

/// One row of `run_items`, with the stream's latest observation for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunItemRow {
    pub seq: usize,
    pub line: u64,
    pub account: Option<String>,
    pub region: String,
    pub name: String,
    pub target: KeyChoice,
    /// `None` while the stream is not yet observed and decided.
    pub action: Option<Action>,
    pub phase: Phase,
    pub reason: Option<String>,
    pub old_key: Option<KeyChoice>,
    pub starts: u32,
    pub enabled_at: Option<EpochMillis>,
    pub failure_type: Option<String>,
    pub failure_details: Option<String>,
    pub next_slot: Option<EpochMillis>,
    pub updated_at: EpochMillis,
    /// The stream's encryption status and key at its latest observation.
    pub last_status: Option<String>,
    pub last_key: Option<KeyChoice>,
}

impl RunItemRow {
    /// The fleet row the item was made from.
    pub fn target(&self) -> Target {
        Target {
            line: self.line,
            name: self.name.clone(),
            region: self.region.as_str().into(),
            account: self.account.as_deref().map(Into::into),
            key: self.target.clone(),
            expect: None,
        }
    }
}

fn insert_run_item_rows(
    tx: &rusqlite::Connection,
    run_id: i64,
    items: &[(Item, Phase, Option<KeyChoice>)],
    now: EpochMillis,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO run_items (run_id, seq, line, account, region, name, target_type,
             target_arn, action, phase, reason, old_type, old_arn, next_slot, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (run_id, seq) DO UPDATE SET
             account = excluded.account, action = excluded.action,
             phase = excluded.phase, reason = excluded.reason,
             old_type = excluded.old_type, old_arn = excluded.old_arn,
             next_slot = excluded.next_slot, updated_at = excluded.updated_at",
    )?;
    for (item, phase, old) in items {
        let t = &item.target;
        stmt.execute(params![
            run_id,
            item.seq as i64,
            t.line as i64,
            item.account(),
            t.region,
            t.name,
            t.key.key_type().as_str(),
            t.key.key_arn().map(|a| a.as_str()),
            item.action.as_str(),
            phase.as_str(),
            item.reason.map(Reason::as_str),
            old.as_ref().map(|k| k.key_type().as_str()),
            old.as_ref().and_then(|k| k.key_arn()).map(|a| a.as_str()),
            item.next_slot,
            now,
        ])?;
    }
    Ok(())
}

impl Ledger {
    /// Records the streams of a run before they are observed and decided (`action` NULL,
    /// phase pending), so an interrupted run knows what it still has to observe.
    pub fn insert_run_targets<'t>(
        &self,
        run_id: i64,
        targets: impl IntoIterator<Item = (usize, &'t Target)>,
    ) -> Result<()> {
        self.atomic(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO run_items (run_id, seq, line, account, region, name, target_type,
                     target_arn, phase, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
            )?;
            let now = self.now();
            for (seq, t) in targets {
                stmt.execute(params![
                    run_id,
                    seq as i64,
                    t.line as i64,
                    t.account,
                    t.region,
                    t.name,
                    t.key.key_type().as_str(),
                    t.key.key_arn().map(|a| a.as_str()),
                    now,
                ])?;
            }
            Ok(())
        })
    }

    /// Records decisions made while a run goes on: in the plan and as the run's items, in one
    /// transaction (a stream decided again after a crash replaces its earlier decision).
    pub fn record_decisions(
        &self,
        plan_id: i64,
        run_id: i64,
        items: &[(Item, Phase, Option<KeyChoice>)],
    ) -> Result<()> {
        self.atomic(|tx| {
            insert_plan_items(tx, plan_id, items.iter().map(|(item, _, _)| item))?;
            insert_run_item_rows(tx, run_id, items, self.now())
        })
    }

    /// Records decided items of a run with their starting phase and the key in force (a new
    /// row, or the decision for a row recorded by [`Ledger::insert_run_targets`]).
    pub fn insert_run_items(
        &self,
        run_id: i64,
        items: &[(Item, Phase, Option<KeyChoice>)],
    ) -> Result<()> {
        self.atomic(|tx| insert_run_item_rows(tx, run_id, items, self.now()))
    }

    /// Applies a change to one run item.
    pub fn update_run_item(&self, run_id: i64, seq: usize, u: &ItemUpdate) -> Result<()> {
        let (failure_type, failure_details) = match &u.failure {
            Some((t, d)) => (Some(t.as_str()), Some(d.as_str())),
            None => (None, None),
        };
        self.conn()
            .prepare_cached(
                "UPDATE run_items SET
                 phase = COALESCE(?3, phase),
                 reason = COALESCE(?4, reason),
                 starts = COALESCE(?5, starts),
                 enabled_at = COALESCE(?6, enabled_at),
                 failure_type = COALESCE(?7, failure_type),
                 failure_details = COALESCE(?8, failure_details),
                 next_slot = COALESCE(?9, next_slot),
                 updated_at = ?10
             WHERE run_id = ?1 AND seq = ?2",
            )?
            .execute(params![
                run_id,
                seq as i64,
                u.phase.map(Phase::as_str),
                u.reason.map(Why::as_str),
                u.starts,
                u.enabled_at,
                failure_type,
                failure_details,
                u.next_slot,
                self.now()
            ])?;
        Ok(())
    }

    /// Every item of a run, in fleet order.
    pub fn run_items(&self, run_id: i64) -> Result<Vec<RunItemRow>> {
        self.run_items_in(run_id, &[])
    }

    /// The items of a run in the given phases (all of them when `phases` is empty).
    pub fn run_items_in(&self, run_id: i64, phases: &[Phase]) -> Result<Vec<RunItemRow>> {
        let wanted: String = phases
            .iter()
            .map(|p| format!(",{}", p.as_str()))
            .collect::<String>()
            + ",";
        let mut stmt = self.conn().prepare_cached(
            "SELECT i.seq, i.line, i.account, i.region, i.name, i.target_type, i.target_arn,
                    i.action, i.phase, i.reason, i.old_type, i.old_arn, i.starts, i.enabled_at,
                    i.failure_type, i.failure_details, i.next_slot, i.updated_at,
                    s.enc_status, s.key_type, s.key_arn
             FROM run_items i
             LEFT JOIN streams s ON s.account = i.account AND s.region = i.region AND s.name = i.name
             WHERE i.run_id = ?1 AND (?2 = ',' OR instr(?2, ',' || i.phase || ',') > 0)
             ORDER BY i.seq",
        )?;
        let rows = stmt.query_map(params![run_id, wanted], |r| {
            let corrupt = |what: &str| {
                rusqlite::Error::InvalidColumnType(
                    0,
                    format!("run {run_id}: {what}"),
                    rusqlite::types::Type::Text,
                )
            };
            let key = |t: Option<String>, a: Option<String>| {
                t.and_then(|t| KeyChoice::from_parts(&t, a.as_deref()))
            };
            Ok(RunItemRow {
                seq: r.get::<_, i64>(0)? as usize,
                line: r.get::<_, i64>(1)? as u64,
                account: r.get(2)?,
                region: r.get(3)?,
                name: r.get(4)?,
                target: key(r.get(5)?, r.get(6)?).ok_or_else(|| corrupt("target key"))?,
                action: match r.get::<_, Option<String>>(7)? {
                    None => None,
                    Some(a) => Some(Action::parse(&a).ok_or_else(|| corrupt("action"))?),
                },
                phase: Phase::parse(&r.get::<_, String>(8)?).ok_or_else(|| corrupt("phase"))?,
                reason: r.get(9)?,
                old_key: key(r.get(10)?, r.get(11)?),
                starts: r.get(12)?,
                enabled_at: r.get(13)?,
                failure_type: r.get(14)?,
                failure_details: r.get(15)?,
                next_slot: r.get(16)?,
                updated_at: r.get(17)?,
                last_status: r.get(18)?,
                last_key: key(r.get(19)?, r.get(20)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
