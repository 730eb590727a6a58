//! `apply` and `resume`: plan (or load the plan), confirm, take the lock, run the engine, report.

use std::io::{BufRead as _, Write as _};

use tokio::sync::{mpsc, watch};

use super::{Session, read_fleet};
use crate::apply::engine::{Engine, Feed};
use crate::apply::{self, Config, Outcome, Track};
use crate::clock::EpochMillis;
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::{LockGuard, Phase, StaleAfter, lock};
use crate::model::Interner;
use crate::options::{ApplyOptions, Global, PlanSource, ResumeOptions, RunOptions};
use crate::plan::{Pace, Settings, Summary};
use crate::report::OutputFormat;
use crate::report::plan::{PlanView, summary_line, table_text};
use crate::survey::{FleetSurvey, prepare_survey, start_observing, survey_fleet};

fn config(run: &RunOptions, settings: Settings) -> Config {
    Config {
        settings,
        concurrency: run.pace.concurrency,
        max_wait: run.max_wait,
        poll_timeout: run.poll_timeout,
        max_attempts: run.max_attempts,
        first_poll: run.first_poll,
    }
}

/// Asks on the terminal; only `yes` proceeds.
fn confirm(question: &str) -> std::io::Result<bool> {
    eprint!("{question} Only 'yes' will be accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// SIGINT/SIGTERM: the first stops dispatching (the engine finishes what is in flight), the
/// second exits at once — the ledger never depends on a clean exit.
fn stop_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut seen = 0;
        loop {
            let term_recv = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term_recv => {}
            }
            seen += 1;
            if seen == 1 {
                eprintln!(
                    "\nstopping: finishing the calls in flight (signal again to exit at once)"
                );
                let _ = tx.send(true);
            } else {
                eprintln!(
                    "\nexiting now; the ledger is consistent, `firehose-sse resume` continues"
                );
                std::process::exit(Exit::Interrupted.code().into());
            }
        }
    });
    rx
}

/// Takes the ledger's apply lock for this process.
fn take_lock(session: &Session, run_id: Option<i64>) -> anyhow::Result<LockGuard<'_>> {
    let (pid, host) = lock::me();
    Ok(session
        .ledger
        .acquire_lock(pid, &host, run_id, StaleAfter::ProcessTable)?)
}

pub async fn apply(args: &ApplyOptions) -> anyhow::Result<Exit> {
    let global = &args.global;
    let targets = match &args.source {
        PlanSource::Fleet { path, region } => {
            Some(read_fleet(&global.connect, region.as_deref(), path).await?)
        }
        PlanSource::Saved { .. } => None,
    };
    let fleet = args.source.fleet().zip(targets.as_deref());
    let session = Session::open(global, &args.run.pace, args.run.sandbox.as_ref(), fleet).await?;
    let ledger = &session.ledger;

    let lock = take_lock(&session, None)?;
    let result = async {
        // Runs stopped before their plan was created have nothing to resume.
        ledger.abandon_planless_runs()?;
        // Rerunning the same command after a crash must be safe: offer to resume instead.
        let same = match &args.source {
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
        };
        if let Some(run) = same {
            let resume = args.run.yes
                || confirm(&format!(
                    "Run {} on this plan did not finish. Resume it instead?",
                    run.id
                ))?;
            if resume {
                eprintln!("Resuming run {} instead of starting a new one.", run.id);
                return resume_locked(global, &session, run.id, &args.run).await;
            }
        }
        apply_locked(global, &session, args, targets).await
    }
    .await;
    lock.release()?;
    result
}

async fn apply_locked(
    global: &Global,
    session: &Session,
    args: &ApplyOptions,
    targets: Option<Vec<Target>>,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    let pace = args.run.pace.plan();
    let run_args = serde_json::json!({
        "command": "apply",
        "fleet": args.source.fleet().map(super::fleet_name),
        "plan": args.source.saved(),
        "reserve": args.settings.reserve,
        "cmk_limit": args.settings.cmk_limit,
    })
    .to_string();
    // The run stays open on every early exit below that does not end it: it is resumable.
    let run_id = ledger.start_run("apply", None, &run_args)?.detach();
    let (pid, host) = lock::me();
    ledger.set_lock_run(pid, &host, run_id)?;
    let fail = |e: anyhow::Error| -> anyhow::Result<Exit> {
        ledger.end_run(run_id, "error")?;
        Err(e)
    };

    // What must be observed first: the fleet, or a saved plan too old to trust.
    let (to_survey, saved) = match (targets, &args.source) {
        (Some(targets), _) => {
            let fleet = args
                .source
                .fleet()
                .map(super::fleet_name)
                .unwrap_or_default();
            (Some((fleet, targets, args.settings)), None)
        }
        (None, &PlanSource::Saved { id, max_age }) => {
            let Some(saved) = ledger.load_plan(id)? else {
                ledger.end_run(run_id, "error")?;
                return Err(UsageError::new(format!(
                    "no plan {id} in {}",
                    ledger.path().display()
                ))
                .into());
            };
            let age: EpochMillis = ledger.now() - saved.observed_at;
            if age > max_age.as_millis() as EpochMillis {
                eprintln!(
                    "Plan {id} was observed {} ago (more than --max-plan-age): observing again.",
                    crate::report::human_duration(age)
                );
                let targets = saved.items.iter().map(|i| i.target.clone()).collect();
                (Some((saved.fleet.clone(), targets, saved.settings)), None)
            } else {
                ledger.set_run_plan(run_id, id)?;
                (None, Some(saved))
            }
        }
        (None, PlanSource::Fleet { .. }) => unreachable!("a fleet's targets are read first"),
    };

    // Unattended: start each stream as soon as it is observed and decided, so observation,
    // Starts and polling overlap. The plan and the run's streams are recorded first, the
    // decisions as they are made, so an interrupted run resumes where it stopped.
    if args.run.yes
        && let Some((fleet, targets, settings)) = to_survey
    {
        let seqs = (0..targets.len()).collect();
        let streaming =
            match start_streaming(session, &fleet, targets, seqs, settings, pace, run_id).await {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
        if !global.quiet {
            eprintln!(
                "Observing and applying {} streams (plan {}): each starts as soon as it is observed.",
                streaming.feed.survey.len(),
                streaming.feed.plan_id
            );
        }
        return run_engine(
            global,
            session,
            run_id,
            Vec::new(),
            config(&args.run, settings),
            Some(streaming),
        )
        .await;
    }

    // Otherwise the whole plan is made (or loaded) first, shown, and confirmed.
    let (plan_id, items, settings, view_parts) = match (to_survey, saved) {
        (Some((fleet, targets, settings)), _) => {
            let request = FleetSurvey {
                fleet: &fleet,
                targets,
                settings,
                pace,
                run_id,
            };
            let clients = session.clients();
            match survey_fleet(ledger, &clients, session.progress, request).await {
                Ok(s) => (
                    s.plan_id,
                    s.items,
                    settings,
                    Some((s.keys, s.warnings, s.estimated_ms, s.throttles)),
                ),
                Err(e) => return fail(e),
            }
        }
        (None, Some(saved)) => (saved.id, saved.items, saved.settings, None),
        (None, None) => unreachable!("a plan to survey or a saved one"),
    };
    let summary = Summary::of(&items);
    if !args.run.yes {
        let (keys, warnings, estimated_ms, throttles) = view_parts.unwrap_or_else(|| {
            (
                Vec::new(),
                Vec::new(),
                crate::plan::estimate(&items, pace, false),
                0,
            )
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
        };
        eprint!("{}", table_text(&view, session.color));
        if summary.enable + summary.rekey == 0 {
            eprintln!("Nothing to start.");
        }
        if !confirm("Do you want to perform these actions?")? {
            ledger.end_run(run_id, "cancelled")?;
            eprintln!("Apply cancelled.");
            return Ok(Exit::Ok);
        }
    } else if !global.quiet {
        eprintln!("Plan {plan_id}: {}", summary_line(&summary));
    }

    let mut tracks = Vec::with_capacity(items.len());
    let mut names = Interner::default();
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let old = match item.stream.as_ref() {
            Some(id) => ledger.key_in_force(id)?,
            None => None,
        };
        let track = Track::from_item(&item, old.clone(), &mut names);
        rows.push((item, track.phase, old));
        tracks.push(track);
    }
    ledger.insert_run_items(run_id, &rows)?;
    drop(rows); // the engine needs only the tracks
    run_engine(
        global,
        session,
        run_id,
        tracks,
        config(&args.run, settings),
        None,
    )
    .await
}

/// A run whose items are decided as the fleet is observed.
struct Streaming {
    feed: Feed,
    pace: Pace,
    observer: tokio::task::JoinHandle<()>,
}

/// Describes the keys, records the plan (to be filled as streams are decided) and the run's
/// streams still to observe, and starts observing them.
async fn start_streaming(
    session: &Session,
    fleet: &str,
    targets: Vec<Target>,
    seqs: Vec<usize>,
    settings: Settings,
    pace: Pace,
    run_id: i64,
) -> anyhow::Result<Streaming> {
    let ledger = &session.ledger;
    let clients = session.clients();
    let (survey, throttles) = prepare_survey(ledger, &clients, targets, settings, run_id).await?;
    let plan_id = match ledger.run(run_id)?.and_then(|r| r.plan_id) {
        Some(plan_id) => plan_id,
        None => {
            let plan_id = ledger.create_plan(fleet, &settings, ledger.now(), 0)?;
            ledger.set_run_plan(run_id, plan_id)?;
            ledger.insert_run_targets(run_id, survey.undecided().map(|(i, t)| (seqs[i], t)))?;
            plan_id
        }
    };
    let (observed, observer) = start_observing(&clients, &survey);
    let feed = Feed {
        survey,
        seqs,
        plan_id,
        observed,
        throttles,
        closed: false,
    };
    Ok(Streaming {
        feed,
        pace,
        observer,
    })
}

pub async fn resume(args: &ResumeOptions) -> anyhow::Result<Exit> {
    let global = &args.global;
    let session = Session::open(global, &args.run.pace, args.run.sandbox.as_ref(), None).await?;
    let ledger = &session.ledger;
    let lock = take_lock(&session, None)?;
    let result = async {
        ledger.abandon_planless_runs()?;
        let run_id = match args.run_id {
            Some(id) => id,
            None => match ledger.unfinished_apply(None)? {
                Some(run) => run.id,
                None => {
                    eprintln!(
                        "Nothing to resume: every apply run in {} has finished.",
                        ledger.path().display()
                    );
                    return Ok(Exit::Ok);
                }
            },
        };
        resume_locked(global, &session, run_id, &args.run).await
    }
    .await;
    lock.release()?;
    result
}

/// Continues a run; the caller holds the lock.
async fn resume_locked(
    global: &Global,
    session: &Session,
    run_id: i64,
    run: &RunOptions,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    let row = ledger
        .run(run_id)?
        .filter(|r| r.kind == "apply")
        .ok_or_else(|| {
            UsageError::new(format!(
                "no apply run {run_id} in {}",
                ledger.path().display()
            ))
        })?;
    let (pid, host) = lock::me();
    ledger.set_lock_run(pid, &host, run_id)?;
    {
        let settings = match row.plan_id {
            Some(p) => ledger.load_plan(p)?.map(|p| p.settings).unwrap_or_default(),
            None => Settings::default(),
        };
        let rows = ledger.run_items(run_id)?;
        let mut names = Interner::default();
        let mut tracks: Vec<Track> = rows
            .iter()
            .filter_map(|row| Track::from_row(row, &mut names))
            .collect();
        // Streams the run had not observed yet are observed and decided as it goes on.
        let (seqs, undecided): (Vec<usize>, Vec<Target>) = rows
            .iter()
            .filter(|r| r.action.is_none())
            .map(|r| {
                (
                    r.seq,
                    Target {
                        line: r.line,
                        name: r.name.clone(),
                        region: r.region.clone(),
                        account: r.account.clone(),
                        key: r.target.clone(),
                    },
                )
            })
            .unzip();
        let unknown = apply::reconcile_in_flight(ledger, &mut tracks)?;
        let open = tracks.iter().filter(|t| !t.phase.is_terminal()).count();
        if !global.quiet {
            eprintln!(
                "Resuming run {run_id}: {open} of {} streams not finished{}.",
                tracks.len(),
                if unknown > 0 {
                    format!(", {unknown} call(s) with an unknown outcome to reconcile")
                } else {
                    String::new()
                }
            );
        }
        ledger.reopen_run(run_id)?;
        let streaming = match (undecided.is_empty(), row.plan_id) {
            (false, Some(plan_id)) => {
                let fleet = ledger.plan_fleet(plan_id)?.unwrap_or_default();
                let pace = run.pace.plan();
                Some(
                    start_streaming(session, &fleet, undecided, seqs, settings, pace, run_id)
                        .await?,
                )
            }
            _ => None,
        };
        run_engine(
            global,
            session,
            run_id,
            tracks,
            config(run, settings),
            streaming,
        )
        .await
    }
}

/// Runs the engine with a reporter and signal handling, records the outcome, prints the summary.
async fn run_engine(
    global: &Global,
    session: &Session,
    run_id: i64,
    tracks: Vec<Track>,
    config: Config,
    streaming: Option<Streaming>,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let total = tracks.len() + streaming.as_ref().map_or(0, |s| s.feed.survey.len());
    let reporter = crate::report::apply::spawn_reporter(session.progress, total, events_rx);
    let (feed, streaming) = match streaming {
        Some(s) => (Some(s.feed), Some((s.pace, s.observer))),
        None => (None, None),
    };
    let stop = stop_on_signals();
    let engine = Engine::new(
        ledger,
        session.cloud.clone(),
        session.pacer.clone(),
        config,
        run_id,
        events_tx,
        lock::me(),
    );
    let outcome = engine.run(tracks, feed, stop).await;
    let _ = reporter.await;
    let mut outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = ledger.end_run(run_id, "error");
            return Err(e.into());
        }
    };
    // A streamed plan is complete once every stream was observed and decided.
    if let (Some(feed), Some((pace, observer))) = (outcome.feed.take(), streaming) {
        observer.abort();
        if feed.survey.is_done() {
            // Counted in the ledger: a large fleet's plan is not loaded back into memory.
            let counts = ledger.plan_counts(feed.plan_id)?;
            let mut summary = Summary::default();
            for (_, action, n) in &counts {
                summary.add(*action, *n as usize);
            }
            let estimate = crate::plan::estimate_counts(
                counts
                    .iter()
                    .map(|(region, action, n)| (region.as_str(), *action, *n)),
                pace,
                false,
            );
            ledger.set_plan_estimate(feed.plan_id, estimate)?;
            if !global.quiet {
                eprintln!("Plan {}: {}", feed.plan_id, summary_line(&summary));
            }
        }
    }
    let (exit, label) = exit_for(&outcome);
    ledger.end_run(run_id, label)?;
    let summary = crate::report::apply::summary(ledger, run_id, &outcome)?;
    match global.output {
        OutputFormat::Json => crate::outln!("{}", serde_json::to_string_pretty(&summary.json)?),
        OutputFormat::Table => crate::out!("{}", summary.text),
    }
    if outcome.interrupted {
        eprintln!("Interrupted. Continue with: firehose-sse resume {run_id}");
    }
    if let Some(why) = &outcome.aborted {
        anyhow::bail!("run {run_id} stopped: {why}. Fix it, then: firehose-sse resume {run_id}");
    }
    Ok(exit)
}

fn exit_for(outcome: &Outcome) -> (Exit, &'static str) {
    if outcome.aborted.is_some() {
        (Exit::Runtime, "error")
    } else if outcome.interrupted {
        (Exit::Interrupted, "interrupted")
    } else if outcome.count(Phase::Failed) > 0 {
        (Exit::Failed, "failed")
    } else if outcome.count(Phase::Deferred) > 0 {
        (Exit::Deferred, "deferred")
    } else {
        (Exit::Ok, "converged")
    }
}
