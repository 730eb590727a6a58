//! `apply` and `resume`: wiring only. Take the lock, find or make the plan (observing the
//! fleet, or loading a saved plan), show it and confirm, then hand the run to
//! [`super::running`], which carries it out and records how it ended. The lock and the run are
//! guards: whatever way this returns, the lock is released and the run's outcome is recorded
//! (`error` unless it ended otherwise; a kill -9 leaves it open, to resume).

use std::path::Path;

use super::running::{Answer, Run, ask, carry_out, config, confirm, exit_code, take_lock};
use super::session::IN_PROCESS_SANDBOX;
use super::{LedgerMode, Place, Session, read_fleet, waves};
use crate::apply::feed::ToObserve;
use crate::apply::{self, Feed};
use crate::clock::EpochMillis;
use crate::engine::Track;
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::{Ledger, LockGuard, RunArgs, RunKind, RunOutcome, RunRow, SavedPlan};
use crate::model::Interner;
use crate::options::{ApplyOptions, Global, PlanSource, ResumeOptions, RunOptions};
use crate::plan::{Action, Settings, Summary};
use crate::report::plan::{PlanView, summary_line, table_text};
use crate::survey::{FleetSurvey, survey_fleet};

pub async fn apply(args: &ApplyOptions) -> anyhow::Result<Exit> {
    // A saved plan is carried out where it was made when no endpoint is given now.
    let adopted;
    let global = &args.global;
    let (pace, sandbox) = (&args.run.pace, args.run.sandbox.as_ref());
    // What to carry out, checked before anything is written: a fleet file, or a saved plan
    // that exists and was not carried out already (read in the ledger the session keeps).
    let (session, targets, saved) = match &args.source {
        PlanSource::Fleet { path, region } => {
            let targets = read_fleet(global, region.as_deref(), path).await?;
            let fleet = Some((path.as_path(), &targets[..]));
            let session = Session::open(global, pace, sandbox, fleet, LedgerMode::Create).await?;
            let targets = super::keep_shard(&session, targets, args.shard, global.quiet).await?;
            (session, Some(targets), None)
        }
        PlanSource::Saved { id, .. } => {
            let ledger = Session::open_ledger(global, LedgerMode::Existing)?;
            let saved = saved_plan_to_apply(&ledger, *id)?;
            let then = ledger
                .runs_of_plan(saved.id)?
                .first()
                .and_then(Place::of_run);
            adopted = Place::endpoint_of_record(
                global,
                then.as_ref(),
                sandbox.is_some(),
                &format!("plan {id}"),
            )
            .into_owned();
            let global = &adopted;
            // An in-process sandbox is seeded as it was when the plan was made.
            let targets: Vec<Target> = saved.items.iter().map(|i| i.target.clone()).collect();
            let fleet = Some((Path::new(&saved.fleet), &targets[..]));
            let session = Session::open_on(ledger, global, pace, sandbox, fleet).await?;
            (session, None, Some(saved))
        }
    };
    let ledger = &session.ledger;
    let mut place = session.place().await;
    if let Some(saved) = &saved
        && let Some(then) = ledger
            .runs_of_plan(saved.id)?
            .first()
            .and_then(Place::of_run)
    {
        let what = format!("plan {}", saved.id);
        place.check(&then, &what, args.run.allow_endpoint_change)?;
        Place::adopt_roles(&then, &session).await?;
        place.roles = session.accounts.roles().cloned();
    }
    let lock = take_lock(ledger)?;
    // Runs stopped before their plan was created have nothing to resume.
    ledger.abandon_planless_runs()?;
    // Rerunning the same command after a crash must be safe: offer to resume instead.
    let unfinished = unfinished_run_of(ledger, &args.source)?;
    let resume_it = match &unfinished {
        None => Answer::No,
        Some(_) if args.run.yes => Answer::Yes,
        Some(run) => {
            ask(&format!(
                "Run {} on this plan did not finish. Resume it instead?",
                run.id
            ))
            .await?
        }
    };
    let exit = match (unfinished, resume_it) {
        // Ctrl-C at the question starts nothing (the lock is released as this returns).
        (_, Answer::Interrupted) => anyhow::bail!("apply cancelled: nothing was started"),
        (Some(run), Answer::Yes) => {
            eprintln!("Resuming run {} instead of starting a new one.", run.id);
            resume_locked(global, &session, &lock, run, &args.run, &place, false).await?
        }
        _ => apply_locked(global, &session, &lock, args, targets, saved, &place).await?,
    };
    lock.release()?;
    Ok(exit)
}

/// A saved plan to carry out: it must exist, and must not have been carried out already — a
/// plan is a snapshot of what needed doing then, and applying it again would Start every
/// stream again (Terraform calls such a plan stale). Reads the ledger only.
fn saved_plan_to_apply(ledger: &Ledger, id: i64) -> anyhow::Result<SavedPlan> {
    let saved = ledger
        .load_plan(id)?
        .ok_or_else(|| UsageError::new(format!("no plan {id} in {}", ledger.path().display())))?;
    if let Some(of) = ledger
        .runs_of_plan(id)?
        .iter()
        .find_map(RunRow::rollback_of)
    {
        return Err(UsageError::new(format!(
            "plan {id} is the plan of a rollback of run {of}: `{}` carries it out",
            crate::hint::command(&format!("rollback --plan {id}"))
        ))
        .into());
    }
    let done = ledger.runs_of_plan(id)?.into_iter().rev().find(|r| {
        r.kind == RunKind::Apply
            && r.outcome.as_ref().is_some_and(|o| {
                !matches!(
                    o,
                    RunOutcome::Interrupted | RunOutcome::Cancelled | RunOutcome::Abandoned
                )
            })
    });
    if let Some(run) = done {
        let outcome = run.outcome.as_ref().map_or("", RunOutcome::as_str);
        let when = run.ended_at.map(crate::clock::rfc3339).unwrap_or_default();
        let next = match run.outcome {
            Some(RunOutcome::Error) => {
                format!(
                    "continue that run with `{}`",
                    crate::hint::command(&format!("resume {}", run.id))
                )
            }
            _ => {
                let fleet = crate::hint::quote(&saved.fleet);
                format!(
                    "make a new plan (`{}`), or apply the fleet file (`{}`)",
                    crate::hint::command(&format!("plan {fleet}")),
                    crate::hint::command(&format!("apply {fleet} --yes"))
                )
            }
        };
        return Err(UsageError::new(format!(
            "plan {id} was already carried out by run {} ({outcome}, {when}): a saved plan is \
             stale once applied, and applying it again would Start its streams again; {next}",
            run.id
        ))
        .into());
    }
    Ok(saved)
}

/// The newest unfinished apply run of the same plan or fleet file.
fn unfinished_run_of(ledger: &Ledger, source: &PlanSource) -> anyhow::Result<Option<RunRow>> {
    Ok(match source {
        PlanSource::Saved { id, .. } => ledger.unfinished_apply(Some(*id))?,
        PlanSource::Fleet { path, .. } => {
            let fleet = super::fleet_name(path);
            ledger.unfinished_apply(None)?.filter(|r| {
                r.plan_id
                    .and_then(|p| ledger.plan_fleet(p).ok().flatten())
                    .as_deref()
                    == Some(fleet.as_str())
            })
        }
    })
}

/// Where the run's items come from: streams to observe and decide, or a saved plan fresh
/// enough to trust.
enum Plan {
    Observe {
        fleet: String,
        targets: Vec<Target>,
        settings: Settings,
    },
    Saved(SavedPlan),
}

/// Where the run's items come from, for a saved plan: its items, or — when it is older than
/// `max_age` — its targets, to be observed again.
fn saved_plan(ledger: &Ledger, saved: SavedPlan, max_age: std::time::Duration) -> Plan {
    let age: EpochMillis = ledger.now() - saved.observed_at;
    if age <= max_age.as_millis() as EpochMillis {
        return Plan::Saved(saved);
    }
    eprintln!(
        "Plan {} was observed {} ago (more than --max-plan-age): observing again.",
        saved.id,
        crate::report::human_duration(age)
    );
    Plan::Observe {
        targets: saved.items.iter().map(|i| i.target.clone()).collect(),
        fleet: saved.fleet,
        settings: saved.settings,
    }
}

/// A fresh saved plan's streams that the ledger has since seen at their target (another run
/// carried them out): nothing is left to do for them, so they are not started again.
fn already_at_target(ledger: &Ledger, saved: &mut SavedPlan) -> anyhow::Result<usize> {
    let mut done = 0;
    for item in saved.items.iter_mut().filter(|i| i.action.starts()) {
        let Some(id) = &item.stream else { continue };
        if let Some(state) = ledger.stream_state(id)?
            && state.observed_at > saved.observed_at
            && state.at(&item.target.key)
        {
            item.action = Action::Noop;
            done += 1;
        }
    }
    Ok(done)
}

async fn apply_locked(
    global: &Global,
    session: &Session,
    lock: &LockGuard<'_>,
    args: &ApplyOptions,
    targets: Option<Vec<Target>>,
    saved: Option<SavedPlan>,
    place: &Place,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    let pace = args.run.pace.plan();
    let run_args = RunArgs::Apply {
        fleet: args.source.fleet().map(super::fleet_name),
        plan: args.source.saved(),
        shard: args.shard.map(|s| s.to_string()),
        reserve: args.settings.reserve,
        cmk_limit: args.settings.cmk_limit,
        place: place.document(),
        waves: args.waves.clone(),
    };
    let run = ledger.start_run(RunKind::Apply, None, &run_args)?;
    lock.set_run(run.id())?;
    session.accounts.set_run(run.id());

    let plan = match (targets, saved, &args.source) {
        (Some(targets), _, source) => Plan::Observe {
            fleet: source.fleet().map(super::fleet_name).unwrap_or_default(),
            targets,
            settings: args.settings,
        },
        (None, Some(mut saved), &PlanSource::Saved { max_age, .. }) => {
            let done = already_at_target(ledger, &mut saved)?;
            if done > 0 && !global.quiet {
                eprintln!(
                    "{done} stream(s) of plan {} were seen at their target since it was made: \
                     they are not started again.",
                    saved.id
                );
            }
            let plan = saved_plan(ledger, saved, max_age);
            if let Plan::Saved(saved) = &plan {
                ledger.set_run_plan(run.id(), saved.id)?;
            }
            plan
        }
        _ => unreachable!("a fleet's targets or a saved plan are read first"),
    };

    // In waves, unattended: the plan and every stream recorded first, then each wave observed,
    // decided and carried out in its turn.
    if let (Some(waved), true) = (&args.waves, args.run.yes)
        && let Plan::Observe {
            fleet,
            targets,
            settings,
        } = &plan
    {
        let plan_id = ledger.create_plan(fleet, settings, ledger.now(), 0)?;
        ledger.set_run_plan(run.id(), plan_id)?;
        ledger.insert_run_targets(run.id(), targets.iter().enumerate())?;
        let n = waves::record(ledger, run.id(), waved)?;
        if !global.quiet {
            eprintln!(
                "Rolling out {} streams in {n} wave(s) (plan {plan_id}): each wave observed, \
                 started and watched before the next.",
                targets.len()
            );
        }
        let rollout = waves::Rollout {
            row: run,
            plan: waved.clone(),
            fleet: fleet.clone(),
            settings: *settings,
            options: &args.run,
            lock,
            place,
            override_gate: false,
        };
        return waves::roll_out(global, session, rollout).await;
    }
    // Unattended: start each stream as soon as it is observed and decided, so observation,
    // Starts and polling overlap. The plan and the run's streams are recorded first, the
    // decisions as they are made, so an interrupted run resumes where it stopped.
    if args.run.yes
        && let Plan::Observe {
            fleet,
            targets,
            settings,
        } = plan
    {
        let to_observe = ToObserve {
            fleet: &fleet,
            seqs: (0..targets.len()).collect(),
            targets,
            settings,
        };
        let (feed, first) = Feed::start(ledger, &session.clients(), run.id(), to_observe).await?;
        if !global.quiet {
            eprintln!(
                "Observing and applying {} streams (plan {}): each starts as soon as it is observed.",
                feed.survey.len(),
                feed.plan_id
            );
        }
        let run = Run {
            row: run,
            items: first,
            feed: Some((feed, pace)),
            config: config(&args.run, settings),
            title: "Apply",
        };
        return Ok(exit_code(&carry_out(global, session, run).await?));
    }
    // Otherwise the whole plan is made (or loaded) first, shown, and confirmed.
    let (view, items) = match plan {
        Plan::Observe {
            fleet,
            targets,
            settings,
        } => {
            let request = FleetSurvey {
                fleet: &fleet,
                targets,
                settings,
                pace,
                run_id: run.id(),
            };
            let s = survey_fleet(ledger, &session.clients(), session.progress, request).await?;
            let view = (
                s.plan_id,
                settings,
                Some((s.keys, s.warnings, s.estimated_ms, s.throttles)),
            );
            (view, s.items)
        }
        Plan::Saved(saved) => ((saved.id, saved.settings, None), saved.items),
    };
    let (plan_id, settings, view_parts) = view;
    let summary = Summary::of(&items);
    if !args.run.yes {
        let (keys, warnings, estimated_ms, throttles) = view_parts.unwrap_or_else(|| {
            let estimate = crate::plan::estimate(&items, pace, false);
            (Vec::new(), Vec::new(), estimate, 0)
        });
        let view = PlanView {
            plan_id,
            items: &items,
            keys,
            settings,
            warnings,
            estimated_ms,
            pace,
            throttles,
            next: None,
            producer_check: ledger.plan_producer_check(plan_id)?,
            waves: args
                .waves
                .as_ref()
                .map(|w| crate::waves::planned(&items, w, pace)),
        };
        eprint!("{}", table_text(&view, session.color));
        // Nothing to confirm when nothing would be sent: the run only records the streams.
        if !items.iter().any(|i| i.action.starts()) {
            eprintln!("Nothing to start or stop: recording the run without asking.");
        } else if !confirm("Do you want to perform these actions?").await? {
            // As Terraform: declining is not a success a script could mistake for one.
            run.finish(RunOutcome::Cancelled)?;
            anyhow::bail!("apply cancelled: nothing was started");
        }
    } else if !global.quiet {
        eprintln!("Plan {plan_id}: {}", summary_line(&summary));
    }
    let items = apply::items_of_plan(ledger, run.id(), items)?;
    if let Some(waved) = &args.waves {
        drop(items);
        let n = waves::record(ledger, run.id(), waved)?;
        if !global.quiet {
            eprintln!("Rolling out plan {plan_id} in {n} wave(s), each watched before the next.");
        }
        let rollout = waves::Rollout {
            row: run,
            plan: waved.clone(),
            fleet: ledger.plan_fleet(plan_id)?.unwrap_or_default(),
            settings,
            options: &args.run,
            lock,
            place,
            override_gate: false,
        };
        return waves::roll_out(global, session, rollout).await;
    }
    let run = Run {
        row: run,
        items,
        feed: None,
        config: config(&args.run, settings),
        title: "Apply",
    };
    Ok(exit_code(&carry_out(global, session, run).await?))
}

pub async fn resume(args: &ResumeOptions) -> anyhow::Result<Exit> {
    // The run is resumed where it ran when no endpoint is given now: read it first.
    let ledger = Session::open_ledger(&args.global, LedgerMode::Existing)?;
    let then = match args.run_id {
        Some(id) => ledger.run(id)?,
        None => ledger.unfinished_apply(None)?,
    };
    let global = &*Place::endpoint_of_record(
        &args.global,
        then.as_ref().and_then(Place::of_run).as_ref(),
        args.run.sandbox.is_some(),
        &then.map_or_else(String::new, |r| format!("run {}", r.id)),
    );
    let session = Session::open_on(
        ledger,
        global,
        &args.run.pace,
        args.run.sandbox.as_ref(),
        None,
    )
    .await?;
    let ledger = &session.ledger;
    let place = session.place().await;
    let lock = take_lock(ledger)?;
    ledger.abandon_planless_runs()?;
    let run = match args.run_id {
        Some(id) => ledger.run(id)?.filter(|r| r.carries_out()).ok_or_else(|| {
            UsageError::new(format!("no apply run {id} in {}", ledger.path().display()))
        })?,
        None => match ledger.unfinished_apply(None)? {
            Some(run) => run,
            None => {
                eprintln!(
                    "Nothing to resume: every apply run in {} has finished.",
                    ledger.path().display()
                );
                lock.release()?;
                return Ok(Exit::Ok);
            }
        },
    };
    let exit = resume_locked(
        global,
        &session,
        &lock,
        run,
        &args.run,
        &place,
        args.override_gate,
    )
    .await?;
    lock.release()?;
    Ok(exit)
}

/// Continues a run; the caller holds the lock.
async fn resume_locked(
    global: &Global,
    session: &Session,
    lock: &LockGuard<'_>,
    row: RunRow,
    options: &RunOptions,
    place: &Place,
    override_gate: bool,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    session.accounts.set_run(row.id);
    if let Some(then) = Place::of_run(&row) {
        if then.endpoint == IN_PROCESS_SANDBOX {
            return Err(UsageError::new(format!(
                "run {} ran against an in-process sandbox, which ended with its process: there \
                 is nothing to resume it against. Start a new run",
                row.id
            ))
            .into());
        }
        place.check(
            &then,
            &format!("run {}", row.id),
            options.allow_endpoint_change,
        )?;
        Place::adopt_roles(&then, session).await?;
    }
    lock.set_run(row.id)?;
    let settings = match row.plan_id {
        Some(p) => ledger.load_plan(p)?.map(|p| p.settings).unwrap_or_default(),
        None => Settings::default(),
    };
    // A rollout in waves goes on wave by wave, from where its waves stand.
    if let Some(plan) = row.arguments().waves().cloned() {
        let fleet = match row.plan_id {
            Some(p) => ledger.plan_fleet(p)?.unwrap_or_default(),
            None => String::new(),
        };
        if !global.quiet {
            eprintln!("Resuming run {}, a rollout in waves.", row.id);
        }
        let rollout = waves::Rollout {
            row: ledger.reopen_run(row.id)?,
            plan,
            fleet,
            settings,
            options,
            lock,
            place,
            override_gate,
        };
        return waves::roll_out(global, session, rollout).await;
    }
    let rows = ledger.run_items(row.id)?;
    let mut names = Interner::default();
    let mut tracks: Vec<Track> = rows
        .iter()
        .filter_map(|row| apply::track_from_row(row, &mut names))
        .collect();
    // Streams the run had not observed yet are observed and decided as it goes on.
    let (seqs, undecided): (Vec<usize>, Vec<Target>) = rows
        .iter()
        .filter(|r| r.action.is_none())
        .map(|r| (r.seq, r.target()))
        .unzip();
    drop(rows);
    let unknown = apply::reconcile_in_flight(ledger, &mut tracks)?;
    if !global.quiet {
        let open = tracks.iter().filter(|t| !t.phase.is_terminal()).count();
        let unknown = match unknown {
            0 => String::new(),
            n => format!(", {n} call(s) with an unknown outcome to reconcile"),
        };
        eprintln!(
            "Resuming run {}: {open} of {} streams not finished{unknown}.",
            row.id,
            tracks.len()
        );
    }
    let run = ledger.reopen_run(row.id)?;
    let feed = match (undecided.is_empty(), row.plan_id) {
        (false, Some(plan_id)) => {
            let fleet = ledger.plan_fleet(plan_id)?.unwrap_or_default();
            let to_observe = ToObserve {
                fleet: &fleet,
                targets: undecided,
                seqs,
                settings,
            };
            let (feed, first) =
                Feed::start(ledger, &session.clients(), run.id(), to_observe).await?;
            Some((feed, options.pace.plan(), first))
        }
        _ => None,
    };
    let now = ledger.now();
    let mut items = tracks
        .into_iter()
        .map(|t| apply::new_item(ledger, t, now))
        .collect::<Result<Vec<_>, _>>()?;
    let feed = feed.map(|(feed, pace, first)| {
        items.extend(first);
        (feed, pace)
    });
    let run = Run {
        row: run,
        items,
        feed,
        config: config(options, settings),
        title: "Apply",
    };
    Ok(exit_code(&carry_out(global, session, run).await?))
}
