//! Runs: a row per plan or apply invocation with its arguments, plan, start, end and outcome.
//! A run is started through a [`RunGuard`], which records its outcome when finished and
//! `error` when dropped unfinished; an apply run detached from its guard stays open until it
//! ends, so an interrupted one is found and resumed.

use rusqlite::params;

use super::{Ledger, Result};
use crate::clock::EpochMillis;

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

impl RunRow {
    /// An apply or a rollback: a run that carries a plan out with the engine (and may be
    /// resumed), as opposed to a plan.
    pub fn carries_out(&self) -> bool {
        matches!(self.kind.as_str(), "apply" | "rollback")
    }

    /// The run a rollback rolls back.
    pub fn rollback_of(&self) -> Option<i64> {
        let args: serde_json::Value = serde_json::from_str(&self.args).ok()?;
        args.get("rollback_of")?.as_i64()
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

impl Ledger {
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

    /// One run.
    pub fn run(&self, run_id: i64) -> Result<Option<RunRow>> {
        Ok(self.runs()?.into_iter().find(|r| r.id == run_id))
    }

    /// Every run that made or carried out a plan, oldest first.
    pub fn runs_of_plan(&self, plan_id: i64) -> Result<Vec<RunRow>> {
        let mut runs: Vec<RunRow> = self
            .runs()?
            .into_iter()
            .filter(|r| r.plan_id == Some(plan_id))
            .collect();
        runs.reverse();
        Ok(runs)
    }

    /// The newest apply run that never finished (crashed, killed or interrupted), optionally
    /// only one for the given plan.
    pub fn unfinished_apply(&self, plan_id: Option<i64>) -> Result<Option<RunRow>> {
        Ok(self.runs()?.into_iter().find(|r| {
            r.carries_out()
                && matches!(r.outcome.as_deref(), None | Some("interrupted"))
                && plan_id.is_none_or(|p| r.plan_id == Some(p))
        }))
    }

    /// Closes unfinished apply runs stopped before any of their streams were recorded (while
    /// describing keys, or at the confirmation prompt with a plan but no items): there is
    /// nothing to resume. Call it holding the lock.
    pub fn abandon_planless_runs(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE runs SET outcome = 'abandoned', ended_at = ?1
             WHERE kind IN ('apply', 'rollback') AND (outcome IS NULL OR outcome = 'interrupted')
               AND NOT EXISTS (SELECT 1 FROM run_items i WHERE i.run_id = runs.id)",
            params![self.now()],
        )?)
    }

    /// Marks a run as running again (resume); the guard records how it ends this time.
    pub fn reopen_run(&self, run_id: i64) -> Result<RunGuard<'_>> {
        self.conn().execute(
            "UPDATE runs SET ended_at = NULL, outcome = NULL WHERE id = ?1",
            params![run_id],
        )?;
        Ok(RunGuard {
            ledger: self,
            id: run_id,
            open: true,
        })
    }
}
