//! A rollback's core, shared by `rollback` and by a rollout whose gate failed
//! (`--on-gate-failure rollback`): every stream a run changed planned back to its encryption
//! before the run, shown, confirmed and recorded as a run of its own — then carried out in one
//! pass here, or handed to the rollout in waves by `rollback --waves`.

use super::running::{Run, carry_out, config, confirm, exit_code};
use super::{Place, Session};
use crate::engine::{NewItem, Phase};
use crate::error::Exit;
use crate::input::Target;
use crate::ledger::{
    Ledger, LockGuard, RunArgs, RunGuard, RunItemRow, RunKind, RunOutcome, RunRow, SavedPlan,
};
use crate::model::{KeyChoice, StreamId};
use crate::options::{Global, RunOptions};
use crate::plan::{Action, Item, Summary};
use crate::report::plan::{PlanView, json, summary_line, table_text};
use crate::survey::{FleetSurvey, Surveyed, survey_fleet};

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

/// A rollback planned and confirmed, or ended before any call.
pub(super) enum Undone<'l> {
    /// Shown (a dry run) or cancelled: the exit to give.
    Ended(Exit),
    /// Its run recorded, its items ready to carry out.
    Ready {
        run: RunGuard<'l>,
        items: Vec<NewItem>,
    },
}

/// Plans the rollback of `of` (its changed items, or those of `only`), shows it, and — unless
/// a dry run — confirms it as a run of its own linked to `of`, ready to carry out.
pub(super) async fn prepare<'l>(
    global: &Global,
    session: &'l Session,
    u: Undo<'_, 'l>,
) -> anyhow::Result<Undone<'l>> {
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
        waves,
    };
    let run = start_run(session, &run_args, lock)?;

    // What RUN changed is observed and decided — or taken from a fresh plan a dry run saved;
    // what it left as it was is a noop.
    let (changed, unchanged): (Vec<&RunItemRow>, Vec<&RunItemRow>) =
        rows.iter().partition(|r| changed_by_its_run(r));
    let seqs: Vec<usize> = changed.iter().map(|r| r.seq).collect();
    let pace = options.pace.plan();
    let back = Back {
        of,
        changed: &changed,
        saved,
        settings,
        pace,
        run_id: run.id(),
    };
    let mut surveyed = plan_back(session, back).await?;
    // The plan numbered its own targets; the rollback keeps the numbers of RUN's items.
    for item in &mut surveyed.items {
        item.seq = seqs[item.seq];
    }
    let noops: Vec<Item> = unchanged.iter().map(|r| left_as_it_was(r)).collect();
    let rows = done_rows(&noops);
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
        next: Some(format!("rollback --plan {}", surveyed.plan_id)),
        producer_check: surveyed.producer_check,
        waves: None,
        hash: None,
    };
    if dry_run {
        show_dry_run(global, session, view, place, run)?;
        return Ok(Undone::Ended(Exit::Ok));
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
    Ok(Undone::Ready { run, items })
}

/// The rollback's run recorded (a plan run for a dry run), with the lock it holds.
fn start_run<'l>(
    session: &'l Session,
    run_args: &RunArgs,
    lock: Option<&LockGuard<'l>>,
) -> anyhow::Result<RunGuard<'l>> {
    let kind = match run_args {
        RunArgs::Rollback { dry_run: true, .. } => RunKind::Plan,
        _ => RunKind::Rollback,
    };
    let run = session.ledger.start_run(kind, None, run_args)?;
    session.accounts.set_run(run.id());
    if let Some(lock) = lock {
        lock.set_run(run.id())?;
    }
    Ok(run)
}

/// The streams the rolled-back run left as they were, recorded done where they stand.
fn done_rows(noops: &[Item]) -> Vec<(Item, Phase, Option<KeyChoice>)> {
    noops
        .iter()
        .map(|i| {
            (
                i.clone(),
                Phase::Done,
                i.current.as_ref().and_then(|c| c.key.clone()),
            )
        })
        .collect()
}

/// A rollback's dry run: its plan's review and hash recorded, so `report` of this plan run
/// shows it whole, and the plan printed.
fn show_dry_run(
    global: &Global,
    session: &Session,
    view: PlanView<'_>,
    place: &Place,
    run: RunGuard<'_>,
) -> anyhow::Result<()> {
    let review = crate::ledger::PlanReview {
        keys: view.keys.clone(),
        warnings: view.warnings.clone(),
        start_tps: view.pace.start_tps,
        describe_tps: view.pace.describe_tps,
        throttles: view.throttles,
        waves: None,
        place: place.document(),
        shard: None,
    };
    let ledger = &session.ledger;
    let document =
        super::review::record(ledger, view.plan_id, review, view.producer_check.clone())?;
    let view = PlanView {
        hash: Some(document.hash()),
        ..view
    };
    run.finish(RunOutcome::Planned)?;
    global.output.print(
        "Rollback",
        || json(&view),
        || table_text(&view, session.color),
    )?;
    Ok(())
}

/// Carries out a rollback at once, in one pass (no waves).
pub(super) async fn undo(
    global: &Global,
    session: &Session,
    u: Undo<'_, '_>,
) -> anyhow::Result<Exit> {
    let (options, settings) = (u.run, u.settings);
    match prepare(global, session, u).await? {
        Undone::Ended(exit) => Ok(exit),
        Undone::Ready { run, items } => {
            let run = Run {
                row: run,
                items,
                feed: None,
                config: config(options, settings),
                title: "Apply",
            };
            Ok(exit_code(&carry_out(global, session, run).await?))
        }
    }
}

/// What a rollback plans back: the streams its run changed, from a fresh plan a dry run saved
/// when there is one.
struct Back<'a> {
    of: &'a RunRow,
    changed: &'a [&'a RunItemRow],
    saved: Option<(SavedRollback, std::time::Duration)>,
    settings: crate::plan::Settings,
    pace: crate::plan::Pace,
    run_id: i64,
}

/// The streams `b.of` changed, observed and decided back to their encryption before it — or
/// taken as a fresh plan a dry run saved decided them.
async fn plan_back(session: &Session, b: Back<'_>) -> anyhow::Result<Surveyed> {
    let ledger = &session.ledger;
    let fresh = b
        .saved
        .and_then(|(saved, max_age)| fresh_plan(ledger, saved.plan, max_age, b.changed.len()));
    Ok(match fresh {
        Some(plan) => {
            ledger.set_run_plan(b.run_id, plan.id)?;
            let estimated_ms = crate::plan::estimate(&plan.items, b.pace, false);
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
            let targets: Vec<Target> = b.changed.iter().map(|r| back_to_before(r)).collect();
            let fleet = format!("rollback of run {}", b.of.id);
            survey_fleet(
                ledger,
                &session.clients(),
                session.progress,
                FleetSurvey {
                    fleet: &fleet,
                    targets,
                    settings: b.settings,
                    pace: b.pace,
                    run_id: b.run_id,
                },
            )
            .await?
        }
    })
}

/// A rollback plan a dry run saved: which plan, and which run it rolls back.
#[derive(Debug, Clone, Copy)]
pub(super) struct SavedRollback {
    pub plan: i64,
    pub of: i64,
}

/// The saved plan to carry out as it is: younger than `max_age`, and of as many streams as
/// the run changed (`changed`). Else `None`, said: its streams are observed again.
fn fresh_plan(
    ledger: &Ledger,
    id: i64,
    max_age: std::time::Duration,
    changed: usize,
) -> Option<SavedPlan> {
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
        owner: None,
    }
}
