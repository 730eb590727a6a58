//! Runs: a row per plan or apply invocation with its kind ([`RunKind`]), arguments
//! ([`RunArgs`]), plan, start, end and outcome ([`RunOutcome`]) — each read and written here
//! only, as the same strings and JSON documents every version wrote, and a kind or an outcome
//! a later version writes kept as written. A run is started through a [`RunGuard`], which
//! records its outcome when finished and `error` when dropped unfinished; an apply run
//! detached from its guard stays open until it ends, so an interrupted one is found and
//! resumed.

use std::fmt;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ledger, Result};
use crate::clock::EpochMillis;

/// What a run does (`runs.kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    /// Observed and decided a fleet and saved the plan: `plan`, `rollback --dry-run`.
    Plan,
    /// Carried a plan out with the engine: `apply`, the AWS CLI's encryption commands.
    Apply,
    /// Carried out a rollback's plan.
    Rollback,
    /// A kind a later version records, as written.
    Other(String),
}

impl RunKind {
    pub fn as_str(&self) -> &str {
        match self {
            RunKind::Plan => "plan",
            RunKind::Apply => "apply",
            RunKind::Rollback => "rollback",
            RunKind::Other(kind) => kind,
        }
    }

    /// An apply or a rollback: a run that carries a plan out with the engine (and may be
    /// resumed), as opposed to a plan.
    pub fn carries_out(&self) -> bool {
        matches!(self, RunKind::Apply | RunKind::Rollback)
    }
}

impl From<String> for RunKind {
    fn from(text: String) -> RunKind {
        match text.as_str() {
            "plan" => RunKind::Plan,
            "apply" => RunKind::Apply,
            "rollback" => RunKind::Rollback,
            _ => RunKind::Other(text),
        }
    }
}

/// How a run ended (`runs.outcome`; none while it runs, or when its process died).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// A plan run saved its plan.
    Planned,
    /// Every stream ended done, skipped or as planned.
    Converged,
    /// Some stream failed.
    Failed,
    /// Some stream waits for its budget (and none failed).
    Deferred,
    /// Finished, some streams skipped for a cause the operator can fix (no credentials, a
    /// key, producers), none failed or deferred.
    Skipped,
    /// Stopped with streams left (a signal, or `--no-wait` leaving them in their transition):
    /// `resume` takes it up.
    Interrupted,
    /// Declined at the confirmation prompt: nothing was started.
    Cancelled,
    /// Stopped before any of its streams were recorded: nothing to resume.
    Abandoned,
    /// Ended by an error (or stopped because going on could not help).
    Error,
    /// A rollout in waves stopped by a failed health gate: `resume --override-gate` goes on.
    Halted,
    /// An outcome a later version records, as written.
    Other(String),
}

impl RunOutcome {
    pub fn as_str(&self) -> &str {
        match self {
            RunOutcome::Planned => "planned",
            RunOutcome::Converged => "converged",
            RunOutcome::Failed => "failed",
            RunOutcome::Deferred => "deferred",
            RunOutcome::Skipped => "skipped",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::Abandoned => "abandoned",
            RunOutcome::Error => "error",
            RunOutcome::Halted => "halted",
            RunOutcome::Other(outcome) => outcome,
        }
    }
}

impl From<String> for RunOutcome {
    fn from(text: String) -> RunOutcome {
        match text.as_str() {
            "planned" => RunOutcome::Planned,
            "converged" => RunOutcome::Converged,
            "failed" => RunOutcome::Failed,
            "deferred" => RunOutcome::Deferred,
            "skipped" => RunOutcome::Skipped,
            "interrupted" => RunOutcome::Interrupted,
            "cancelled" => RunOutcome::Cancelled,
            "abandoned" => RunOutcome::Abandoned,
            "error" => RunOutcome::Error,
            "halted" => RunOutcome::Halted,
            _ => RunOutcome::Other(text),
        }
    }
}

/// Both are shown and written as their strings.
macro_rules! as_string {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
as_string!(RunKind, RunOutcome);

/// What a run was asked to do (`runs.args`): a JSON document whose `command` says which
/// command ran it, with that command's members in the order they have always been written.
/// `place` is where the calls went, as the command recorded it (`commands::Place`), opaque to
/// the ledger. A document this version does not read — none recorded, a later version's
/// command, members it does not expect — is kept as written ([`RunArgs::Unknown`]), and what
/// the ledger needs of it (its place, the run it rolls back) still read from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command")]
pub enum RunArgs {
    #[serde(rename = "plan")]
    Plan {
        fleet: String,
        place: Value,
        shard: Option<String>,
        /// The plan file written (`plan --out`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<String>,
    },
    #[serde(rename = "apply")]
    Apply {
        /// The fleet file, when the run observes one (else `plan`).
        fleet: Option<String>,
        /// The saved plan it carries out (`apply --plan`).
        plan: Option<i64>,
        shard: Option<String>,
        reserve: u32,
        cmk_limit: u32,
        place: Value,
        /// A rollout in waves (`--waves`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waves: Option<crate::waves::WavePlan>,
        /// The reviewed plan it carries out: its hash, and how it was checked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reviewed: Option<Reviewed>,
    },
    #[serde(rename = "rollback")]
    Rollback {
        rollback_of: i64,
        dry_run: bool,
        reserve: u32,
        cmk_limit: u32,
        place: Value,
        /// A rollback in waves (`--waves`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waves: Option<crate::waves::WavePlan>,
    },
    #[serde(rename = "start-delivery-stream-encryption")]
    StartEncryption(EncryptionArgs),
    #[serde(rename = "stop-delivery-stream-encryption")]
    StopEncryption(EncryptionArgs),
    /// A document this version does not read, as written.
    #[serde(untagged)]
    Unknown(Value),
}

/// The plan an apply carried out, as reviewed: its hash, whether `--expect-plan-hash` checked
/// it, and the plan file it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewed {
    pub hash: String,
    /// `--expect-plan-hash` was given, and matched.
    pub expected: bool,
    /// `apply FILE`: the plan file, as named on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Reviewed {
    /// How a run report says it: `Plan 3 (hash 1a2b3c4d5e6f…), approved with
    /// --expect-plan-hash.`
    pub fn line(&self, plan_id: i64) -> String {
        let from = match &self.file {
            Some(file) => format!(" from {file}"),
            None => String::new(),
        };
        let how = match self.expected {
            true => "approved with --expect-plan-hash",
            false => "not checked against an expected hash",
        };
        format!("Plan {plan_id}{from}, hash {}, {how}.", self.hash)
    }
}

/// The AWS CLI's encryption commands' arguments: one stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptionArgs {
    /// What the plan records as its fleet: the command and its stream.
    pub fleet: String,
    pub stream: String,
    pub region: String,
    pub reserve: u32,
    pub cmk_limit: u32,
    pub no_wait: bool,
    pub place: Value,
}

impl RunArgs {
    /// Reads a run's recorded arguments; anything that is not one of this version's documents
    /// (not even JSON) is [`RunArgs::Unknown`].
    pub fn read(text: &str) -> RunArgs {
        serde_json::from_str(text).unwrap_or(RunArgs::Unknown(Value::Null))
    }

    /// The document as the ledger stores it.
    fn write(&self) -> String {
        serde_json::to_string(self).expect("run arguments are plain JSON")
    }

    /// Where the run's calls went, as the command that ran it recorded it.
    pub fn place(&self) -> Option<&Value> {
        match self {
            RunArgs::Plan { place, .. }
            | RunArgs::Apply { place, .. }
            | RunArgs::Rollback { place, .. } => Some(place),
            RunArgs::StartEncryption(args) | RunArgs::StopEncryption(args) => Some(&args.place),
            RunArgs::Unknown(doc) => doc.get("place"),
        }
    }

    /// The reviewed plan an apply carried out.
    pub fn reviewed(&self) -> Option<&Reviewed> {
        match self {
            RunArgs::Apply { reviewed, .. } => reviewed.as_ref(),
            _ => None,
        }
    }

    /// How a rollout in waves goes, when it does.
    pub fn waves(&self) -> Option<&crate::waves::WavePlan> {
        match self {
            RunArgs::Apply { waves, .. } | RunArgs::Rollback { waves, .. } => waves.as_ref(),
            _ => None,
        }
    }

    /// The run a rollback (or its dry run) rolls back.
    pub fn rollback_of(&self) -> Option<i64> {
        match self {
            RunArgs::Rollback { rollback_of, .. } => Some(*rollback_of),
            RunArgs::Unknown(doc) => doc.get("rollback_of")?.as_i64(),
            _ => None,
        }
    }
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
    pub fn finish(mut self, outcome: RunOutcome) -> Result<()> {
        self.open = false;
        self.ledger.end_run(self.id, &outcome)
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
            && let Err(e) = self.ledger.end_run(self.id, &RunOutcome::Error)
        {
            tracing::warn!(run = self.id, "cannot record the run's end: {e}");
        }
    }
}

impl RunRow {
    /// An apply or a rollback: a run that carries a plan out with the engine (and may be
    /// resumed), as opposed to a plan.
    pub fn carries_out(&self) -> bool {
        self.kind.carries_out()
    }

    /// Not ended, or interrupted: `resume` takes it up (a run that carries a plan out).
    /// Whether `resume` takes it up: still running (or died), stopped by a signal, halted by a
    /// gate, or stopped by an error it may recover from once fixed (a full disk, an endpoint
    /// out of reach) — its streams not finished are carried on, those finished are not.
    pub fn unfinished(&self) -> bool {
        matches!(
            self.outcome,
            None | Some(RunOutcome::Interrupted)
                | Some(RunOutcome::Halted)
                | Some(RunOutcome::Error)
        )
    }

    /// What the run was asked to do.
    pub fn arguments(&self) -> RunArgs {
        RunArgs::read(&self.args)
    }

    /// The run a rollback rolls back.
    pub fn rollback_of(&self) -> Option<i64> {
        self.arguments().rollback_of()
    }
}

/// A row of `runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub kind: RunKind,
    pub plan_id: Option<i64>,
    pub started_at: EpochMillis,
    pub ended_at: Option<EpochMillis>,
    pub outcome: Option<RunOutcome>,
    /// The arguments as stored (`history` shows them so); read with [`RunRow::arguments`].
    pub args: String,
}

impl Ledger {
    /// Records the start of a plan or apply invocation. The run ends when its guard is
    /// finished with an outcome, or as `error` when the guard is dropped unfinished.
    pub fn start_run(
        &self,
        kind: RunKind,
        plan_id: Option<i64>,
        args: &RunArgs,
    ) -> Result<RunGuard<'_>> {
        let (pid, host) = super::lock::me();
        self.conn().execute(
            "INSERT INTO runs (kind, plan_id, started_at, args, pid, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind.as_str(), plan_id, self.now(), args.write(), pid, host],
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
    pub fn end_run(&self, run_id: i64, outcome: &RunOutcome) -> Result<()> {
        self.conn().execute(
            "UPDATE runs SET ended_at = ?2, outcome = ?3 WHERE id = ?1",
            params![run_id, self.now(), outcome.as_str()],
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
                kind: RunKind::from(r.get::<_, String>(1)?),
                plan_id: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                outcome: r.get::<_, Option<String>>(5)?.map(RunOutcome::from),
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
            r.carries_out() && r.unfinished() && plan_id.is_none_or(|p| r.plan_id == Some(p))
        }))
    }

    /// Closes unfinished apply runs stopped before any of their streams were recorded (while
    /// describing keys, or at the confirmation prompt with a plan but no items): there is
    /// nothing to resume. Call it holding the lock.
    pub fn abandon_planless_runs(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE runs SET outcome = ?2, ended_at = ?1
             WHERE kind IN (?3, ?4) AND (outcome IS NULL OR outcome IN (?5, ?6))
               AND NOT EXISTS (SELECT 1 FROM run_items i WHERE i.run_id = runs.id)",
            params![
                self.now(),
                RunOutcome::Abandoned.as_str(),
                RunKind::Apply.as_str(),
                RunKind::Rollback.as_str(),
                RunOutcome::Interrupted.as_str(),
                RunOutcome::Error.as_str(),
            ],
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
