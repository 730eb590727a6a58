//! `rollback [RUN]`: wiring only. Return every stream RUN changed to its encryption before RUN
//! (docs/design.md#undo-and-drift): the key the ledger recorded in force before RUN restored, or
//! encryption stopped where there was none. It is a plan first — observed, decided by the same
//! planner (a stream someone changed since RUN is `changed_since_run`; an earlier key now disabled
//! or gone skips with the key's reason; a stream out of budget is deferred), shown and confirmed
//! like `apply` — then carried out by the same engine as its own run, linked to RUN and resumable
//! like any.

use super::running::{Run, carry_out, config, confirm, exit_code, take_lock};
use super::session::IN_PROCESS_SANDBOX;
use super::{LedgerMode, Place, Session};
use crate::engine::Phase;
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::LockGuard;
use crate::ledger::{Ledger, RunArgs, RunItemRow, RunKind, RunOutcome, RunRow};
use crate::model::{KeyChoice, StreamId};
use crate::options::{Global, RollbackOptions, RunOptions};
use crate::plan::{Action, Item, Summary};
use crate::report::plan::{PlanView, json, summary_line, table_text};
use crate::survey::{FleetSurvey, Surveyed, survey_fleet};

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
    let exit = undo(
        global,
        &session,
        Undo {
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
        },
    )
    .await?;
    if let Some(lock) = lock {
        lock.release()?;
    }
    Ok(exit)
}

/// A rollback to carry out (or show).
pub(super) struct Undo<'a, 'l> {
    /// The run rolled back, and its items.
    pub of: &'a RunRow,
    pub rows: Vec<RunItemRow>,
    /// Only these of its items (a failed wave's); all when `None`.
    pub only: Option<&'a std::collections::BTreeSet<usize>>,
    pub run: &'a RunOptions,
    pub settings: crate::plan::Settings,
    pub dry_run: bool,
    /// The plan a dry run saved, to carry out while younger than the age given with it.
    pub saved: Option<(SavedRollback, std::time::Duration)>,
    /// The apply lock, held by the caller (none for a dry run).
    pub lock: Option<&'a LockGuard<'l>>,
    pub place: &'a Place,
    /// `--waves ...`: the rollback staged too.
    pub waves: Option<crate::waves::WavePlan>,
}

/// Plans the rollback of `of` (its changed items, or those of `only`), shows it, and — unless
/// a dry run — confirms and carries it out as a run of its own linked to `of`.
pub(super) async fn undo(
    global: &Global,
    session: &Session,
    u: Undo<'_, '_>,
) -> anyhow::Result<Exit> {
    let Undo {
        of,
        rows,
        only,
        run: options,
        settings,
        dry_run,
        saved,
        lock,
        place,
        waves,
    } = u;
    let ledger = &session.ledger;
    let rows: Vec<RunItemRow> = match only {
        Some(only) => rows.into_iter().filter(|r| only.contains(&r.seq)).collect(),
        None => rows,
    };
    let run_args = RunArgs::Rollback {
        rollback_of: of.id,
        dry_run,
        reserve: settings.reserve,
        cmk_limit: settings.cmk_limit,
        place: place.document(),
        waves: waves.clone(),
    };
    let kind = if dry_run {
        RunKind::Plan
    } else {
        RunKind::Rollback
    };
    let run = ledger.start_run(kind, None, &run_args)?;
    session.accounts.set_run(run.id());
    if let Some(lock) = lock {
        lock.set_run(run.id())?;
    }

    // What RUN changed is observed and decided — or taken from a fresh plan a dry run saved;
    // what it left as it was is a noop.
    let (changed, unchanged): (Vec<&RunItemRow>, Vec<&RunItemRow>) =
        rows.iter().partition(|r| changed_by_its_run(r));
    let seqs: Vec<usize> = changed.iter().map(|r| r.seq).collect();
    let pace = options.pace.plan();
    let fresh =
        saved.and_then(|(saved, max_age)| fresh_plan(ledger, saved.plan, max_age, seqs.len()));
    let mut surveyed = match fresh {
        Some(plan) => {
            ledger.set_run_plan(run.id(), plan.id)?;
            let estimated_ms = crate::plan::estimate(&plan.items, pace, false);
            Surveyed {
                producer_check: ledger.plan_producer_check(plan.id)?,
                plan_id: plan.id,
                reused: 0,
                observed_at: plan.observed_at,
                items: plan.items,
                keys: Vec::new(),
                warnings: Vec::new(),
                estimated_ms,
                throttles: 0,
            }
        }
        None => {
            let targets: Vec<Target> = changed.iter().map(|r| back_to_before(r)).collect();
            let fleet = format!("rollback of run {}", of.id);
            survey_fleet(
                ledger,
                &session.clients(),
                session.progress,
                FleetSurvey {
                    fleet: &fleet,
                    targets,
                    settings,
                    pace,
                    run_id: run.id(),
                },
            )
            .await?
        }
    };
    // The plan numbered its own targets; the rollback keeps the numbers of RUN's items.
    for item in &mut surveyed.items {
        item.seq = seqs[item.seq];
    }
    let noops: Vec<Item> = unchanged.iter().map(|r| left_as_it_was(r)).collect();
    let rows: Vec<_> = noops
        .iter()
        .map(|i| {
            (
                i.clone(),
                Phase::Done,
                i.current.as_ref().and_then(|c| c.key.clone()),
            )
        })
        .collect();
    let mut items = surveyed.items;
    items.extend(noops);
    items.sort_by_key(|i| i.seq);
    let view = PlanView {
        plan_id: surveyed.plan_id,
        items: &items,
        keys: surveyed.keys,
        settings,
        warnings: surveyed.warnings,
        estimated_ms: surveyed.estimated_ms,
        pace,
        throttles: surveyed.throttles,
        // The number a dry run prints is its plan's, carried out by `--plan`.
        next: Some(crate::hint::command(&format!(
            "rollback --plan {}",
            surveyed.plan_id
        ))),
        producer_check: surveyed.producer_check,
        waves: None,
    };
    if dry_run {
        run.finish(RunOutcome::Planned)?;
        global.output.print(
            "Rollback",
            || json(&view),
            || table_text(&view, session.color),
        )?;
        return Ok(Exit::Ok);
    }
    ledger.record_decisions(surveyed.plan_id, run.id(), &rows)?;

    if !options.yes {
        eprint!(
            "{}",
            table_text(&PlanView { next: None, ..view }, session.color)
        );
        if !items.iter().any(|i| i.action.starts()) {
            eprintln!("Nothing to start or stop: recording the rollback without asking.");
        } else if !confirm(&format!("Do you want to roll back run {} as shown?", of.id)).await? {
            run.finish(RunOutcome::Cancelled)?;
            anyhow::bail!("rollback cancelled: nothing was sent");
        }
    } else if !global.quiet {
        eprintln!(
            "Rollback of run {} (plan {}): {}",
            of.id,
            surveyed.plan_id,
            summary_line(&Summary::of(&items))
        );
    }
    let items = crate::apply::items_of_plan(ledger, run.id(), items)?;
    if let (Some(waved), Some(lock)) = (waves, lock) {
        drop(items);
        let n = super::waves::record(ledger, run.id(), &waved)?;
        if !global.quiet {
            eprintln!("Rolling back in {n} wave(s), each watched before the next.");
        }
        let rollout = super::waves::Rollout {
            row: run,
            plan: waved,
            fleet: format!("rollback of run {}", of.id),
            settings,
            options,
            lock,
            place,
            override_gate: false,
        };
        return super::waves::roll_out(global, session, rollout).await;
    }
    let run = Run {
        row: run,
        items,
        feed: None,
        config: config(options, settings),
        title: "Apply",
    };
    Ok(exit_code(&carry_out(global, session, run).await?))
}

/// A rollback plan a dry run saved: which plan, and which run it rolls back.
#[derive(Debug, Clone, Copy)]
pub(super) struct SavedRollback {
    pub plan: i64,
    pub of: i64,
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

/// The saved plan to carry out as it is: younger than `max_age`, and of as many streams as
/// the run changed (`changed`). Else `None`, said: its streams are observed again.
fn fresh_plan(
    ledger: &Ledger,
    id: i64,
    max_age: std::time::Duration,
    changed: usize,
) -> Option<crate::ledger::SavedPlan> {
    let plan = ledger.load_plan(id).ok()??;
    let age = ledger.now() - plan.observed_at;
    if age > max_age.as_millis() as i64 {
        eprintln!(
            "Plan {id} was observed {} ago (more than --max-plan-age): observing again.",
            crate::report::human_duration(age)
        );
        return None;
    }
    if plan.items.len() != changed {
        eprintln!("Plan {id} no longer matches the run it rolls back: observing again.");
        return None;
    }
    Some(plan)
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

/// Whether the run brought the stream to its target (or sent the call that is taking it
/// there): what a rollback undoes.
fn changed_by_its_run(row: &RunItemRow) -> bool {
    row.starts > 0
        && row.action.is_some_and(Action::starts)
        && matches!(row.phase, Phase::Done | Phase::Polling | Phase::Starting)
}

/// The stream as the rollback wants it: the key in force before the run, or — when none was —
/// encryption off; expected, before that, where the run left it.
fn back_to_before(row: &RunItemRow) -> Target {
    Target {
        key: row.old_key.clone().unwrap_or(KeyChoice::Off),
        expect: Some(row.target.clone()),
        ..row.target()
    }
}

/// A stream the run did not change: nothing to roll back.
fn left_as_it_was(row: &RunItemRow) -> Item {
    let back = row.old_key.clone().unwrap_or(KeyChoice::Off);
    Item {
        seq: row.seq,
        stream: row.account.as_ref().map(|account| StreamId {
            account: account.clone(),
            region: row.region.clone(),
            name: row.name.clone(),
        }),
        target: Target {
            key: back,
            ..row.target()
        },
        action: Action::Noop,
        reason: None,
        next_slot: None,
        current: None,
        budget_used: 0,
        producers: None,
    }
}
