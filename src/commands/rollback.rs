//! `rollback [RUN]`: wiring only. Return every stream RUN changed to its encryption before RUN
//! (docs/design.md#undo-and-drift): the key the ledger recorded in force before RUN restored, or
//! encryption stopped where there was none. It is a plan first — observed, decided by the same
//! planner (a stream someone changed since RUN is `changed_since_run`; an earlier key now disabled
//! or gone skips with the key's reason; a stream out of budget is deferred), shown and confirmed
//! like `apply` — then carried out by the same engine as its own run, linked to RUN and resumable
//! like any.

use super::running::take_lock;
use super::session::IN_PROCESS_SANDBOX;
use super::undo::{self, SavedRollback, Undo, Undone, prepare};
use super::{LedgerMode, Place, Session};
use crate::error::{Exit, UsageError};
use crate::ledger::{Ledger, RunKind, RunOutcome, RunRow};
use crate::options::RollbackOptions;

pub async fn rollback(args: &RollbackOptions) -> anyhow::Result<Exit> {
    // The run to roll back, read before anything is written (in the ledger the session keeps).
    let ledger = Session::open_ledger(&args.global, LedgerMode::Existing)?;
    let saved = match args.plan {
        Some((id, max_age)) => Some((saved_rollback(&ledger, id, args.run_id)?, max_age)),
        None => None,
    };
    let of = match &saved {
        Some((saved, _)) => run_to_roll_back(&ledger, Some(saved.of))?,
        None => run_to_roll_back(&ledger, args.run_id)?,
    };
    let global = &*Place::endpoint_of_record(
        &args.global,
        Place::of_run(&of).as_ref(),
        args.run.sandbox.is_some(),
        &format!("run {}", of.id),
    );
    let rows = ledger.run_items(of.id)?;
    if let Some(then) = Place::of_run(&of)
        && then.endpoint == IN_PROCESS_SANDBOX
    {
        return Err(UsageError::new(format!(
            "run {} ran against an in-process sandbox, which ended with its process: there is \
             nothing to roll it back on",
            of.id
        ))
        .into());
    }
    let session = Session::open_on(
        ledger,
        global,
        &args.run.pace,
        args.run.sandbox.as_ref(),
        None,
    )
    .await?;
    let mut place = session.place().await;
    if let Some(then) = Place::of_run(&of) {
        let what = format!("run {}", of.id);
        place.check(&then, &what, args.run.allow_endpoint_change)?;
        Place::adopt_roles(&then, &session).await?;
        place.roles = session.accounts.roles().cloned();
    }
    // A dry run is a plan run (it changes nothing and leaves no run to resume); else the
    // rollback holds the lock and is a run of its own.
    let lock = if args.dry_run {
        None
    } else {
        let lock = take_lock(&session.ledger)?;
        session.ledger.abandon_planless_runs()?;
        Some(lock)
    };
    let undo = Undo {
        of: &of,
        rows,
        only: None,
        run: &args.run,
        settings: args.settings,
        dry_run: args.dry_run,
        saved,
        lock: lock.as_ref(),
        place: &place,
        waves: args.waves.clone(),
    };
    let exit = match (args.waves.clone(), lock.as_ref()) {
        (Some(waved), Some(lock)) => match prepare(global, &session, undo).await? {
            Undone::Ended(exit) => exit,
            // Its items are in the ledger: the rollout takes them wave by wave from there.
            Undone::Ready { run, items: _ } => {
                let n = super::waves::record(&session.ledger, run.id(), &waved)?;
                if !global.quiet {
                    eprintln!("Rolling back in {n} wave(s), each watched before the next.");
                }
                let rollout = super::waves::Rollout {
                    row: run,
                    plan: waved,
                    fleet: format!("rollback of run {}", of.id),
                    settings: args.settings,
                    options: &args.run,
                    lock,
                    place: &place,
                    override_gate: false,
                };
                super::waves::roll_out(global, &session, rollout).await?
            }
        },
        _ => undo::undo(global, &session, undo).await?,
    };
    if let Some(lock) = lock {
        lock.release()?;
    }
    Ok(exit)
}

/// The rollback plan `id`, checked before anything is written: it exists, a `rollback
/// --dry-run` made it (of the run `run`, when one is named), and no rollback carried it out
/// already (applying it again would undo the undo's streams twice).
fn saved_rollback(ledger: &Ledger, id: i64, run: Option<i64>) -> anyhow::Result<SavedRollback> {
    let path = ledger.path().display();
    if ledger.load_plan(id)?.is_none() {
        return Err(UsageError::new(format!("no plan {id} in {path}")).into());
    }
    let runs = ledger.runs_of_plan(id)?;
    let of = runs
        .iter()
        .find(|r| r.kind == RunKind::Plan)
        .and_then(RunRow::rollback_of)
        .ok_or_else(|| {
            UsageError::new(format!(
                "plan {id} is not a rollback's plan (`rollback --dry-run` saves those): carry \
                 it out with `{}`",
                crate::hint::command(&format!("apply --plan {id}"))
            ))
        })?;
    if let Some(run) = run
        && run != of
    {
        return Err(UsageError::new(format!(
            "plan {id} rolls back run {of}, not run {run}: `{}` carries it out",
            crate::hint::command(&format!("rollback --plan {id}"))
        ))
        .into());
    }
    let declined = |r: &RunRow| {
        matches!(
            r.outcome,
            Some(RunOutcome::Cancelled | RunOutcome::Abandoned)
        )
    };
    if let Some(done) = runs
        .iter()
        .find(|r| r.kind == RunKind::Rollback && !declined(r))
    {
        let next = match done.unfinished() {
            true => format!(
                "it did not finish: `{}` goes on",
                crate::hint::command(&format!("resume {}", done.id))
            ),
            false => format!(
                "a saved plan is stale once carried out; `{}` plans anew",
                crate::hint::command(&format!("rollback {of} --dry-run"))
            ),
        };
        return Err(UsageError::new(format!(
            "plan {id} was already carried out by run {}: {next}",
            done.id
        ))
        .into());
    }
    Ok(SavedRollback { plan: id, of })
}

/// The run asked for, or else the newest apply run (a rollback is rolled back, redone, only
/// when asked for by its id).
fn run_to_roll_back(ledger: &Ledger, id: Option<i64>) -> anyhow::Result<RunRow> {
    let runs = ledger.runs()?;
    let run = match id {
        Some(id) => runs.into_iter().find(|r| r.id == id),
        None => runs.into_iter().find(|r| r.kind == RunKind::Apply),
    };
    let run = run.ok_or_else(|| {
        UsageError::new(match id {
            Some(id) => format!("no run {id} in {}", ledger.path().display()),
            None => format!("no apply run in {} to roll back", ledger.path().display()),
        })
    })?;
    if !run.carries_out() {
        return Err(UsageError::new(format!(
            "run {} is a {} run, which changes nothing: roll back an apply run",
            run.id, run.kind
        ))
        .into());
    }
    Ok(run)
}
