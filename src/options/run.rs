//! The options of the commands that carry a run out — `apply`, `resume`, `rollback` — and
//! what they share: where a plan comes from, the run's pacing and waits, its waves.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Global, PaceOptions, SandboxOptions, iac_input, pace, sandbox, settings};
use crate::cli::{
    ApplyArgs, GlobalArgs, IacOwnedArg, OnGateFailureArg, ResumeArgs, RollbackScopeArg, RunArgs,
    WaveArgs, WaveByArg,
};
use crate::error::UsageError;
use crate::plan::Settings;
use crate::shard::Shard;

/// Where the plan `apply` carries out comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanSource {
    /// A fleet file, observed and planned first; `region` is the one `--region` given.
    Fleet {
        path: PathBuf,
        region: Option<String>,
    },
    /// A plan saved by `plan`, observed again when older than `max_age`.
    Saved { id: i64, max_age: Duration },
    /// A plan file (`plan --out`): refused when made more than `max_age` ago, observed again
    /// when its observations are older.
    File { path: PathBuf, max_age: Duration },
}

impl PlanSource {
    pub fn fleet(&self) -> Option<&Path> {
        match self {
            PlanSource::Fleet { path, .. } => Some(path),
            PlanSource::Saved { .. } | PlanSource::File { .. } => None,
        }
    }

    pub fn saved(&self) -> Option<i64> {
        match self {
            PlanSource::Fleet { .. } | PlanSource::File { .. } => None,
            PlanSource::Saved { id, .. } => Some(*id),
        }
    }

    /// How old a saved plan's observations may be (`--max-plan-age`).
    pub fn max_age(&self) -> Option<Duration> {
        match self {
            PlanSource::Fleet { .. } => None,
            PlanSource::Saved { max_age, .. } | PlanSource::File { max_age, .. } => Some(*max_age),
        }
    }
}

/// `apply`.
#[derive(Debug)]
pub struct ApplyOptions {
    pub global: Global,
    pub source: PlanSource,
    /// Only the rows of this shard's accounts (`--shard I/N`; a fleet file only).
    pub shard: Option<Shard>,
    pub settings: Settings,
    pub run: RunOptions,
    /// `--waves ...`: a staged rollout.
    pub waves: Option<crate::waves::WavePlan>,
    /// `--expect-plan-hash`: the whole hash the plan must have (lowercase hex).
    pub expect_hash: Option<String>,
    /// `--terraform-state`s, read.
    pub iac: crate::iac::IacInput,
}

/// `rollback`.
#[derive(Debug)]
pub struct RollbackOptions {
    pub global: Global,
    /// The run to roll back (default: the newest apply run).
    pub run_id: Option<i64>,
    /// Show the rollback's plan and send nothing.
    pub dry_run: bool,
    /// `--plan ID`: a rollback plan a dry run saved, and `--max-plan-age`.
    pub plan: Option<(i64, std::time::Duration)>,
    pub settings: Settings,
    pub run: RunOptions,
    /// `--waves ...`: the rollback staged too.
    pub waves: Option<crate::waves::WavePlan>,
}

/// `resume`.
#[derive(Debug)]
pub struct ResumeOptions {
    pub global: Global,
    /// The run to continue (default: the newest unfinished one).
    pub run_id: Option<i64>,
    pub run: RunOptions,
    /// `--override-gate`: go on past a wave whose gate failed.
    pub override_gate: bool,
}

/// What `apply` and `resume` share.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub yes: bool,
    /// Take a plan or a run up against another endpoint or account than its own.
    pub allow_endpoint_change: bool,
    pub pace: PaceOptions,
    pub max_wait: Duration,
    pub poll_timeout: Duration,
    pub max_attempts: u32,
    pub first_poll: Duration,
    /// `--grant-retirement-wait`: how long after a slot was freed under a key a refusal for
    /// its limit may be the old grant.
    pub retirement_wait: Duration,
    pub sandbox: Option<SandboxOptions>,
}

pub(super) fn run(args: &RunArgs) -> RunOptions {
    RunOptions {
        yes: args.yes,
        allow_endpoint_change: args.allow_endpoint_change,
        pace: pace(&args.pace),
        max_wait: args.max_wait,
        poll_timeout: args.poll_timeout,
        max_attempts: args.max_attempts,
        first_poll: args.first_poll,
        retirement_wait: args.grant_retirement_wait,
        sandbox: sandbox(&args.sandbox),
    }
}

pub(super) fn apply(
    g: &GlobalArgs,
    global: Global,
    args: ApplyArgs,
) -> Result<ApplyOptions, UsageError> {
    // The first refusal an unattended apply meets, before its flags are looked at further.
    check_confirmable("apply", args.run.yes)?;
    let max_age = args.max_plan_age;
    // A plan file is told from a fleet file by its content (a JSON object); `--plan` takes an
    // id (digits) or a file.
    let source = match (args.fleet, args.plan) {
        (Some(path), _) if crate::planfile::looks_like_plan_file(&path) => {
            PlanSource::File { path, max_age }
        }
        (Some(path), _) => PlanSource::Fleet {
            path,
            region: g.single_region()?.map(str::to_owned),
        },
        (None, Some(plan)) => match plan.parse::<i64>() {
            Ok(id) => PlanSource::Saved { id, max_age },
            Err(_) => PlanSource::File {
                path: plan.into(),
                max_age,
            },
        },
        (None, None) => unreachable!("clap requires a fleet or a plan"),
    };
    let expect_hash = match (&args.expect_plan_hash, &source) {
        (None, _) => None,
        (Some(_), PlanSource::Fleet { .. }) => {
            return Err(UsageError::new(
                "--expect-plan-hash checks a saved plan or a plan file: a fleet file is decided \
                 as it is applied, so there is no reviewed plan to compare; make one with \
                 `firehose-sse plan FLEET.csv --out plan.json` and apply that",
            ));
        }
        (Some(hash), _) if crate::planfile::is_full_hash(hash.trim()) => {
            Some(hash.trim().to_ascii_lowercase())
        }
        (Some(hash), _) => {
            return Err(UsageError::new(format!(
                "--expect-plan-hash {hash:?} is not a whole SHA-256 (64 hex digits): copy the \
                 plan hash a plan report prints in full (its `--expect-plan-hash` command), not \
                 the 12 digits shown beside the plan"
            )));
        }
    };
    if args.shard.is_some() && matches!(source, PlanSource::File { .. }) {
        return Err(UsageError::new(
            "--shard picks a fleet file's rows: a plan file is carried out whole (plan each \
             shard with `plan --shard I/N --out FILE`)",
        ));
    }
    Ok(ApplyOptions {
        global: for_run(global, &args.run),
        source,
        shard: args.shard,
        settings: Settings {
            skip_iac_owned: args.iac.iac_owned == IacOwnedArg::Skip,
            ..settings(&args.limits, &args.producers)
        },
        run: run(&args.run),
        waves: wave_plan(&args.waves)?,
        expect_hash,
        iac: iac_input(&args.iac.terraform_state)?,
    })
}

/// `--waves` and its flags, checked: a bake must cover three metric periods.
pub fn wave_plan(args: &WaveArgs) -> Result<Option<crate::waves::WavePlan>, UsageError> {
    use crate::waves::{OnGateFailure, RollbackScope, WaveBy, WavePlan, gate};
    let Some(steps) = &args.waves else {
        return Ok(None);
    };
    let period = args.metric_period.as_millis() as i64;
    if period < 1000 {
        return Err(UsageError::new(
            "--metric-period is at least 1s (CloudWatch's finest resolution)",
        ));
    }
    let bake = args
        .bake
        .unwrap_or(Duration::from_secs(15 * 60))
        .as_millis() as i64;
    let final_bake = args.final_bake.unwrap_or_default().as_millis() as i64;
    gate::check_bake(bake, period, "--bake").map_err(UsageError::new)?;
    gate::check_bake(final_bake, period, "--final-bake").map_err(UsageError::new)?;
    Ok(Some(WavePlan {
        steps: steps.to_string(),
        by: match args.wave_by {
            WaveByArg::None => WaveBy::None,
            WaveByArg::Account => WaveBy::Account,
            WaveByArg::Region => WaveBy::Region,
        },
        bake_ms: bake,
        final_bake_ms: final_bake,
        gate: gate::GateSettings {
            drop: args.gate_drop,
            max_errors: args.max_errors,
            period,
        },
        alarms: args.alarms.clone(),
        on_failure: match args.on_gate_failure {
            OnGateFailureArg::Halt => OnGateFailure::Halt,
            OnGateFailureArg::Rollback => OnGateFailure::Rollback,
        },
        rollback_scope: match args.rollback_scope {
            RollbackScopeArg::Wave => RollbackScope::Wave,
            RollbackScopeArg::Run => RollbackScope::Run,
        },
    }))
}

/// The connection of a command that sends Starts: `--max-credential-age` applies.
pub(super) fn for_run(mut global: Global, args: &RunArgs) -> Global {
    global.connect.max_credential_age = args.max_credential_age;
    global
}

pub(super) fn resume(global: Global, args: ResumeArgs) -> ResumeOptions {
    ResumeOptions {
        global: for_run(global, &args.run),
        run_id: args.run_id,
        run: run(&args.run),
        override_gate: args.override_gate,
    }
}

/// `resume` and `rollback` take up a run where it ran: an in-process sandbox (`--sandbox`)
/// ends with the command that started it, so there is never a run on one to take up, and a
/// run made elsewhere is not taken up on a fresh one. Hidden from their help, refused here.
pub(super) fn no_in_process_sandbox(
    command: &str,
    run: &crate::cli::RunArgs,
) -> Result<(), UsageError> {
    match run.sandbox.sandbox {
        false => Ok(()),
        true => Err(UsageError::new(format!(
            "{command} --sandbox cannot work: an in-process sandbox ends with the command that \
             started it, so no run made on one is left to {command}, and a run made elsewhere is \
             taken up where it ran. Serve one that stays (`firehose-sse sandbox`, then \
             --endpoint-url) to apply, {command} and report against the same sandbox"
        ))),
    }
}

/// Unattended runs must say `--yes`; on a terminal the operator is asked.
pub(super) fn check_confirmable(what: &str, yes: bool) -> Result<(), UsageError> {
    if yes || std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "refusing to {what} unattended without --yes (stdin is not a terminal to confirm on)"
        )))
    }
}
