//! A rollback's core, shared by `rollback` and by a rollout whose gate failed
//! (`--on-gate-failure rollback`): every stream a run changed planned back to its encryption
//! before the run, shown, confirmed and recorded as a run of its own — then carried out in one
//! pass here, or handed to the rollout in waves by `rollback --waves`.

use super::running::{Run, carry_out, config, confirm, exit_code};
use super::{Place, Session};
use crate::engine::{NewItem, Phase};
use crate::error::Exit;
use crate::input::Target;
use crate::ledger::{LockGuard, RunArgs, RunGuard, RunItemRow, RunKind, RunOutcome, RunRow};
use crate::model::{KeyChoice, StreamId};
use crate::options::{Global, RunOptions};
use crate::plan::{Action, Item, Summary};
use crate::report::plan::{PlanView, json, summary_line, table_text};
use crate::survey::{FleetSurvey, survey_fleet};

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

    // What RUN changed is observed and decided; what it left as it was is a noop.
    let (changed, unchanged): (Vec<&RunItemRow>, Vec<&RunItemRow>) =
        rows.iter().partition(|r| changed_by_its_run(r));
    let seqs: Vec<usize> = changed.iter().map(|r| r.seq).collect();
    let targets: Vec<Target> = changed.iter().map(|r| back_to_before(r)).collect();
    let pace = options.pace.plan();
    let fleet = format!("rollback of run {}", of.id);
    let mut surveyed = survey_fleet(
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
    .await?;
    // The survey numbered its own targets; the rollback keeps the numbers of RUN's items.
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
        next: Some(format!("firehose-sse rollback {}", of.id)),
        producer_check: surveyed.producer_check,
        waves: None,
        hash: None,
    };
    if dry_run {
        // Its review and hash recorded, so `report` of this plan run shows it whole.
        let review = crate::ledger::PlanReview {
            keys: view.keys.clone(),
            warnings: view.warnings.clone(),
            start_tps: pace.start_tps,
            describe_tps: pace.describe_tps,
            throttles: view.throttles,
            waves: None,
            place: place.document(),
            shard: None,
        };
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
        return Ok(Undone::Ended(Exit::Ok));
    }
    ledger.record_decisions(surveyed.plan_id, run.id(), &rows)?;

    if !options.yes {
        eprint!(
            "{}",
            table_text(&PlanView { next: None, ..view }, session.color)
        );
        if !confirm(&format!("Do you want to roll back run {} as shown?", of.id))? {
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
