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

/// A run being recorded: [`RunGuard::finish`] records its outcome; dropped unfinished (an
/// early `?`, a panic) it records `error`, so no path leaves a run half-closed.
#[must_use = "a run dropped without finish is recorded as ended in error"]
#[derive(Debug)]
pub struct RunGuard<'a> {
    ledger: &'a Ledger,
    id: i64,
    open: bool,
}

impl RunGuard<'_> {
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Records how the run ended.
    pub fn finish(mut self, outcome: &str) -> Result<()> {
        self.open = false;
        self.ledger.end_run(self.id, outcome)
    }

    /// Hands the run's end to the caller, who records it with [`Ledger::end_run`]: a run that
    /// must stay open (resumable) when this process stops before recording an outcome.
    pub fn detach(mut self) -> i64 {
        self.open = false;
        self.id
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.ledger.end_run(self.id, "error")
        {
            tracing::warn!(run = self.id, "cannot record the run's end: {e}");
        }
    }
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

fn insert_plan_items<'i>(
    conn: &rusqlite::Connection,
    plan_id: i64,
    items: impl IntoIterator<Item = &'i Item>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO plan_items (plan_id, seq, line, account, region, name, target_type,
             target_arn, action, reason, next_slot, cur_stream, cur_status, cur_type,
             cur_arn, budget_used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (plan_id, seq) DO UPDATE SET
             account = excluded.account, action = excluded.action, reason = excluded.reason,
             next_slot = excluded.next_slot, cur_stream = excluded.cur_stream,
             cur_status = excluded.cur_status, cur_type = excluded.cur_type,
             cur_arn = excluded.cur_arn, budget_used = excluded.budget_used",
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
    Ok(())
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
        let plan_id = self.create_plan(fleet, settings, observed_at, estimated_ms)?;
        insert_plan_items(&tx, plan_id, items)?;
        tx.commit()?;
        Ok(plan_id)
    }

    /// Saves a plan's header; its items follow with [`Ledger::record_decisions`] as they
    /// are decided.
    pub fn create_plan(
        &self,
        fleet: &str,
        settings: &Settings,
        observed_at: EpochMillis,
        estimated_ms: EpochMillis,
    ) -> Result<i64> {
        self.conn().execute(
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
        Ok(self.conn().last_insert_rowid())
    }

    /// A plan's items counted per region and action, without loading them.
    pub fn plan_counts(&self, plan_id: i64) -> Result<Vec<(String, Action, u64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT region, action, COUNT(*) FROM plan_items WHERE plan_id = ?1 GROUP BY region, action",
        )?;
        let rows = stmt.query_map([plan_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (region, action, n) = row?;
            if let Some(action) = Action::parse(&action) {
                out.push((region, action, n));
            }
        }
        Ok(out)
    }

    /// Records the estimated apply time of a plan completed item by item.
    pub fn set_plan_estimate(&self, plan_id: i64, estimated_ms: EpochMillis) -> Result<()> {
        self.conn().execute(
            "UPDATE plans SET estimated_ms = ?2 WHERE id = ?1",
            params![plan_id, estimated_ms],
        )?;
        Ok(())
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

    /// Records the start of a plan or apply invocation. The run ends when its guard is
    /// finished with an outcome, or as `error` when the guard is dropped unfinished.
    pub fn start_run(&self, kind: &str, plan_id: Option<i64>, args: &str) -> Result<RunGuard<'_>> {
        let (pid, host) = super::lock::me();
        self.conn().execute(
            "INSERT INTO runs (kind, plan_id, started_at, args, pid, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind, plan_id, self.now(), args, pid, host],
        )?;
        Ok(RunGuard {
            ledger: self,
            id: self.conn().last_insert_rowid(),
            open: true,
        })
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

/// Where a stream of an apply run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Pending,
    Starting,
    Polling,
    Done,
    Failed,
    Skipped,
    Deferred,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::Pending,
        Phase::Starting,
        Phase::Polling,
        Phase::Done,
        Phase::Failed,
        Phase::Skipped,
        Phase::Deferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Starting => "starting",
            Phase::Polling => "polling",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Skipped => "skipped",
            Phase::Deferred => "deferred",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Nothing more will happen to the item in this run.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Done | Phase::Failed | Phase::Skipped | Phase::Deferred
        )
    }
}

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

/// A change to a run item; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemUpdate {
    pub phase: Option<Phase>,
    pub reason: Option<String>,
    pub starts: Option<u32>,
    pub enabled_at: Option<EpochMillis>,
    pub failure: Option<(String, String)>,
    pub next_slot: Option<EpochMillis>,
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
        let tx = self.conn().unchecked_transaction()?;
        {
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
        }
        tx.commit()?;
        Ok(())
    }

    /// Records decisions made while a run goes on: in the plan and as the run's items, in one
    /// transaction (a stream decided again after a crash replaces its earlier decision).
    pub fn record_decisions(
        &self,
        plan_id: i64,
        run_id: i64,
        items: &[(Item, Phase, Option<KeyChoice>)],
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        insert_plan_items(&tx, plan_id, items.iter().map(|(item, _, _)| item))?;
        insert_run_item_rows(&tx, run_id, items, self.now())?;
        tx.commit()?;
        Ok(())
    }

    /// Records decided items of a run with their starting phase and the key in force (a new
    /// row, or the decision for a row recorded by [`Ledger::insert_run_targets`]).
    pub fn insert_run_items(
        &self,
        run_id: i64,
        items: &[(Item, Phase, Option<KeyChoice>)],
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        insert_run_item_rows(&tx, run_id, items, self.now())?;
        tx.commit()?;
        Ok(())
    }

    /// Applies a change to one run item.
    pub fn update_run_item(&self, run_id: i64, seq: usize, u: &ItemUpdate) -> Result<()> {
        let (failure_type, failure_details) = match &u.failure {
            Some((t, d)) => (Some(t.as_str()), Some(d.as_str())),
            None => (None, None),
        };
        self.conn().execute(
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
            params![
                run_id,
                seq as i64,
                u.phase.map(Phase::as_str),
                u.reason,
                u.starts,
                u.enabled_at,
                failure_type,
                failure_details,
                u.next_slot,
                self.now()
            ],
        )?;
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

    /// One run.
    pub fn run(&self, run_id: i64) -> Result<Option<RunRow>> {
        Ok(self.runs()?.into_iter().find(|r| r.id == run_id))
    }

    /// The newest apply run that never finished (crashed, killed or interrupted), optionally
    /// only one for the given plan.
    pub fn unfinished_apply(&self, plan_id: Option<i64>) -> Result<Option<RunRow>> {
        Ok(self.runs()?.into_iter().find(|r| {
            r.kind == "apply"
                && matches!(r.outcome.as_deref(), None | Some("interrupted"))
                && plan_id.is_none_or(|p| r.plan_id == Some(p))
        }))
    }

    /// The fleet file a plan was made from.
    pub fn plan_fleet(&self, plan_id: i64) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT fleet FROM plans WHERE id = ?1", [plan_id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Closes unfinished apply runs stopped before any of their streams were recorded (while
    /// describing keys, or at the confirmation prompt with a plan but no items): there is
    /// nothing to resume. Call it holding the lock.
    pub fn abandon_planless_runs(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE runs SET outcome = 'abandoned', ended_at = ?1
             WHERE kind = 'apply' AND (outcome IS NULL OR outcome = 'interrupted')
               AND NOT EXISTS (SELECT 1 FROM run_items i WHERE i.run_id = runs.id)",
            params![self.now()],
        )?)
    }

    /// Marks a run as running again (resume).
    pub fn reopen_run(&self, run_id: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE runs SET ended_at = NULL, outcome = NULL WHERE id = ?1",
            params![run_id],
        )?;
        Ok(())
    }
}
