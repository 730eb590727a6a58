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
use crate::clock::Clock as _;
use crate::clock::EpochMillis;
use crate::engine::Track;
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::{
    ImportedPlan, Ledger, LockGuard, Reviewed, RunArgs, RunGuard, RunKind, RunOutcome, RunRow,
    SavedPlan,
};
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
    // What to carry out, checked before anything is written or sent: a fleet file, or a saved
    // plan (in the ledger, or a plan file) that exists, is the one expected, and was not
    // carried out already (read in the ledger the session keeps).
    let (mut session, carried) = match &args.source {
        PlanSource::Fleet { path, region } => {
            let targets = read_fleet(global, region.as_deref(), path).await?;
            let fleet = Some((path.as_path(), &targets[..]));
            let session = Session::open(global, pace, sandbox, fleet, LedgerMode::Create).await?;
            let targets = super::keep_shard(&session, targets, args.shard, global.quiet).await?;
            (session, Carried::Fleet(targets))
        }
        PlanSource::Saved { id, max_age } => {
            let ledger = Session::open_ledger(global, LedgerMode::Existing)?;
            let saved = saved_plan_to_apply(&ledger, *id, &format!("plan {id}"))?;
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
            let hash = ledger.plan_review(saved.id)?.0;
            let reviewed = expected(args, &format!("plan {id}"), hash, None)?;
            fresh_enough_to_expect(args, &ledger, &saved, *max_age)?;
            // An in-process sandbox is seeded as it was when the plan was made.
            let targets: Vec<Target> = saved.items.iter().map(|i| i.target.clone()).collect();
            let fleet = Some((Path::new(&saved.fleet), &targets[..]));
            let session = Session::open_on(ledger, global, pace, sandbox, fleet).await?;
            (session, Carried::Saved { saved, reviewed })
        }
        PlanSource::File { path, max_age } => {
            let (session, saved, reviewed) = plan_file_to_apply(args, path, *max_age).await?;
            (session, Carried::Saved { saved, reviewed })
        }
    };
    session.iac = args.iac.clone();
    let ledger = &session.ledger;
    let mut place = session.place().await;
    if let Carried::Saved { saved, .. } = &carried
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
    let unfinished = unfinished_run_of(ledger, &args.source, carried.plan_id())?;
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
        _ => apply_locked(global, &session, &lock, args, carried, &place).await?,
    };
    lock.release()?;
    Ok(exit)
}

/// `--expect-plan-hash`, checked against the plan's own hash before anything is sent: the
/// plan to carry out, as reviewed (`None` when the plan has no hash and none was expected).
fn expected(
    args: &ApplyOptions,
    what: &str,
    hash: Option<String>,
    file: Option<&Path>,
) -> Result<Option<Reviewed>, UsageError> {
    let file = file.map(|f| f.display().to_string());
    match (&args.expect_hash, hash) {
        (None, hash) => Ok(hash.map(|hash| Reviewed {
            hash,
            expected: false,
            file,
        })),
        (Some(want), Some(hash)) if *want == hash => Ok(Some(Reviewed {
            hash,
            expected: true,
            file,
        })),
        (Some(want), Some(hash)) => Err(UsageError::new(format!(
            "{what} is not the plan expected: its hash is {hash}, not {want} \
             (--expect-plan-hash). What was reviewed is not what would run, so nothing was \
             sent; make and review a new plan, or check which plan the approval was for"
        ))),
        (Some(_), None) => Err(UsageError::new(format!(
            "{what} has no hash (it was made by `apply` or by an earlier version), so it \
             cannot be checked against --expect-plan-hash: make a new plan with \
             `firehose-sse plan FLEET.csv`"
        ))),
    }
}

/// With `--expect-plan-hash`, a plan whose observations are older than `--max-plan-age` is
/// refused rather than observed again: deciding again would carry out another plan than the
/// one reviewed.
fn fresh_enough_to_expect(
    args: &ApplyOptions,
    ledger: &Ledger,
    saved: &SavedPlan,
    max_age: std::time::Duration,
) -> Result<(), UsageError> {
    let age = ledger.now() - saved.observed_at;
    if args.expect_hash.is_none() || age <= max_age.as_millis() as EpochMillis {
        return Ok(());
    }
    Err(UsageError::new(format!(
        "plan {} was decided from observations made {} ago, more than --max-plan-age ({}): \
         without --expect-plan-hash it would be observed and decided again, which is not the \
         plan reviewed. Make and review a new plan, or pass a --max-plan-age that covers the \
         review (e.g. --max-plan-age 24h)",
        saved.id,
        crate::report::human_duration(age),
        crate::report::span(max_age),
    )))
}

/// A plan file to carry out: read and checked (its hash, `--expect-plan-hash`, its age), then
/// the session opened on this ledger and its place checked against the file's, then — unless
/// this ledger has the plan already (found by its hash), which must not have been carried out
/// — the plan and its observations written into the ledger in one transaction.
async fn plan_file_to_apply(
    args: &ApplyOptions,
    path: &Path,
    max_age: std::time::Duration,
) -> anyhow::Result<(Session, SavedPlan, Option<Reviewed>)> {
    let global = &args.global;
    let file = crate::planfile::read(path)?;
    let what = format!("plan file {}", path.display());
    let reviewed = expected(args, &what, Some(file.hash.clone()), Some(path))?;
    let doc = &file.document;
    let now = crate::clock::SystemClock.now();
    let made = now - doc.plan.created_at;
    if made > max_age.as_millis() as EpochMillis {
        return Err(UsageError::new(format!(
            "{what} is stale: plan {} was made {} ago ({}), more than --max-plan-age ({}); the \
             fleet may have changed since. Make a new plan, or pass a --max-plan-age that \
             covers its review (e.g. --max-plan-age 24h)",
            doc.plan.id,
            crate::report::human_duration(made),
            crate::clock::rfc3339(doc.plan.created_at),
            crate::report::span(max_age),
        ))
        .into());
    }
    let ledger = Session::open_ledger(global, LedgerMode::Create)?;
    let here = match ledger.plan_by_hash(&file.hash)? {
        Some(id) => {
            let here = format!("{what} (plan {id} in {})", ledger.path().display());
            Some(saved_plan_to_apply(&ledger, id, &here)?)
        }
        None => None,
    };
    let carried = here.clone().unwrap_or_else(|| doc.saved_plan());
    fresh_enough_to_expect(args, &ledger, &carried, max_age)?;
    let targets: Vec<Target> = carried.items.iter().map(|i| i.target.clone()).collect();
    let fleet = Some((Path::new(&carried.fleet), &targets[..]));
    let (pace, sandbox) = (&args.run.pace, args.run.sandbox.as_ref());
    let session = Session::open_on(ledger, global, pace, sandbox, fleet).await?;
    if let Ok(then) = serde_json::from_value::<Place>(doc.review.place.clone()) {
        let place = session.place().await;
        place.check(&then, &what, args.run.allow_endpoint_change)?;
        Place::adopt_roles(&then, &session).await?;
    }
    let saved = match here {
        Some(saved) => saved,
        None => {
            let settings = doc.settings();
            let id = session.ledger.import_plan(&ImportedPlan {
                created_at: doc.plan.created_at,
                observed_at: doc.plan.observed_at,
                fleet: &doc.plan.fleet,
                settings: &settings,
                estimated_ms: doc.plan.estimated_ms,
                items: &carried.items,
                producer_check: doc.plan.producer_check.as_ref(),
                hash: &file.hash,
                review: &doc.review,
                facts: &doc.observations,
            })?;
            if !global.quiet {
                eprintln!(
                    "Plan file {} (plan {} of {}, hash {}) is plan {id} in {}, with the {} \
                     observation(s) it was decided from.",
                    path.display(),
                    doc.plan.id,
                    doc.made_by,
                    crate::planfile::short(&file.hash),
                    session.ledger.path().display(),
                    doc.observations.streams.len() + doc.observations.keys.len(),
                );
            }
            SavedPlan { id, ..carried }
        }
    };
    Ok((session, saved, reviewed))
}

/// A saved plan to carry out: it must exist, and must not have been carried out already — a
/// plan is a snapshot of what needed doing then, and applying it again would Start every
/// stream again (Terraform calls such a plan stale). Reads the ledger only.
fn saved_plan_to_apply(ledger: &Ledger, id: i64, what: &str) -> anyhow::Result<SavedPlan> {
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
            "{what} was already carried out by run {} ({outcome}, {when}): a saved plan is \
             stale once applied, and applying it again would Start its streams again; {next}",
            run.id
        ))
        .into());
    }
    Ok(saved)
}

/// The newest unfinished apply run of the same plan (`plan_id`) or fleet file.
fn unfinished_run_of(
    ledger: &Ledger,
    source: &PlanSource,
    plan_id: Option<i64>,
) -> anyhow::Result<Option<RunRow>> {
    Ok(match source {
        PlanSource::Saved { .. } | PlanSource::File { .. } => match plan_id {
            Some(id) => ledger.unfinished_apply(Some(id))?,
            None => None,
        },
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

/// What an apply carries out: a fleet file's targets, or a saved plan with its hash as
/// reviewed.
enum Carried {
    Fleet(Vec<Target>),
    Saved {
        saved: SavedPlan,
        /// Its hash, and whether `--expect-plan-hash` checked it (`None`: a plan without one).
        reviewed: Option<Reviewed>,
    },
}

impl Carried {
    /// The saved plan's id.
    fn plan_id(&self) -> Option<i64> {
        match self {
            Carried::Fleet(_) => None,
            Carried::Saved { saved, .. } => Some(saved.id),
        }
    }
}

/// What every stage of an apply reads: the command, where it runs, and the lock it holds.
struct Applying<'a, 'l> {
    global: &'a Global,
    session: &'l Session,
    lock: &'a LockGuard<'l>,
    args: &'a ApplyOptions,
    place: &'a Place,
}

async fn apply_locked(
    global: &Global,
    session: &Session,
    lock: &LockGuard<'_>,
    args: &ApplyOptions,
    carried: Carried,
    place: &Place,
) -> anyhow::Result<Exit> {
    let cx = Applying {
        global,
        session,
        lock,
        args,
        place,
    };
    let (run, plan) = cx.open_run(carried)?;
    match (plan, args.run.yes, &args.waves) {
        // In waves, unattended: the plan and every stream recorded first, then each wave
        // observed, decided and carried out in its turn.
        (
            Plan::Observe {
                fleet,
                targets,
                settings,
            },
            true,
            Some(waved),
        ) => {
            cx.roll_out_unobserved(run, fleet, targets, settings, waved)
                .await
        }
        // Unattended: each stream starts as soon as it is observed and decided.
        (
            Plan::Observe {
                fleet,
                targets,
                settings,
            },
            true,
            None,
        ) => cx.observe_and_apply(run, fleet, targets, settings).await,
        // Otherwise the whole plan is made (or loaded) first, shown, and confirmed.
        (plan, _, _) => {
            let Some(decided) = cx.decide(&run, plan).await? else {
                // As Terraform: declining is not a success a script could mistake for one.
                run.finish(RunOutcome::Cancelled)?;
                anyhow::bail!("apply cancelled: nothing was started");
            };
            cx.carry_out_decided(run, decided).await
        }
    }
}

/// What the plan shown for confirmation says beside its streams: as the survey found it, or as
/// a saved plan's review recorded it.
#[derive(Default)]
struct Shown {
    keys: Vec<crate::plan::KeyLine>,
    warnings: Vec<String>,
    estimated_ms: EpochMillis,
    throttles: u32,
}

/// A whole plan, decided (or loaded) and confirmed: ready to carry out.
struct Decided {
    plan_id: i64,
    settings: Settings,
    items: Vec<crate::plan::Item>,
}

impl<'l> Applying<'_, 'l> {
    /// The apply's run recorded (with the reviewed hash it carries out, unless its saved plan
    /// is observed and decided again), and where its items come from.
    fn open_run(&self, carried: Carried) -> anyhow::Result<(RunGuard<'l>, Plan)> {
        let (args, ledger) = (self.args, &self.session.ledger);
        let max_age = args.source.max_age();
        // A saved plan observed and decided again is not the plan reviewed: the run records
        // no reviewed hash then (`--expect-plan-hash` refused it already).
        let reviewed = match (&carried, max_age) {
            (Carried::Saved { saved, reviewed }, Some(max))
                if ledger.now() - saved.observed_at <= max.as_millis() as EpochMillis =>
            {
                reviewed.clone()
            }
            _ => None,
        };
        let run_args = RunArgs::Apply {
            fleet: args.source.fleet().map(super::fleet_name),
            plan: carried.plan_id(),
            shard: args.shard.map(|s| s.to_string()),
            reserve: args.settings.reserve,
            cmk_limit: args.settings.cmk_limit,
            place: self.place.document(),
            waves: args.waves.clone(),
            reviewed,
        };
        let run = ledger.start_run(RunKind::Apply, None, &run_args)?;
        self.lock.set_run(run.id())?;
        self.session.accounts.set_run(run.id());

        let plan = match (carried, max_age) {
            (Carried::Fleet(targets), _) => Plan::Observe {
                fleet: args
                    .source
                    .fleet()
                    .map(super::fleet_name)
                    .unwrap_or_default(),
                targets,
                settings: args.settings,
            },
            (Carried::Saved { mut saved, .. }, Some(max_age)) => {
                let done = already_at_target(ledger, &mut saved)?;
                if done > 0 && !self.global.quiet {
                    eprintln!(
                        "{done} stream(s) of plan {} were seen at their target since it was \
                         made: they are not started again.",
                        saved.id
                    );
                }
                let plan = saved_plan(ledger, saved, max_age);
                if let Plan::Saved(saved) = &plan {
                    ledger.set_run_plan(run.id(), saved.id)?;
                }
                plan
            }
            (Carried::Saved { .. }, None) => unreachable!("a saved plan has its --max-plan-age"),
        };
        Ok((run, plan))
    }

    /// `--waves` with `--yes` on streams not yet observed: the plan and every stream recorded,
    /// then the rollout observes, decides and carries out each wave in its turn.
    async fn roll_out_unobserved(
        &self,
        run: RunGuard<'l>,
        fleet: String,
        targets: Vec<Target>,
        settings: Settings,
        waved: &crate::waves::WavePlan,
    ) -> anyhow::Result<Exit> {
        let ledger = &self.session.ledger;
        let plan_id = ledger.create_plan(&fleet, &settings, ledger.now(), 0)?;
        ledger.set_run_plan(run.id(), plan_id)?;
        ledger.insert_run_targets(run.id(), targets.iter().enumerate())?;
        let n = waves::record(ledger, run.id(), waved)?;
        if !self.global.quiet {
            eprintln!(
                "Rolling out {} streams in {n} wave(s) (plan {plan_id}): each wave observed, \
                 started and watched before the next.",
                targets.len()
            );
        }
        self.roll_out(run, waved, fleet, settings).await
    }

    /// Unattended, without waves: each stream started as soon as it is observed and decided,
    /// so observation, Starts and polling overlap. The plan and the run's streams are recorded
    /// first, the decisions as they are made, so an interrupted run resumes where it stopped.
    async fn observe_and_apply(
        &self,
        run: RunGuard<'l>,
        fleet: String,
        targets: Vec<Target>,
        settings: Settings,
    ) -> anyhow::Result<Exit> {
        let to_observe = ToObserve {
            fleet: &fleet,
            seqs: (0..targets.len()).collect(),
            targets,
            settings,
        };
        let clients = self.session.clients();
        let (feed, first) =
            Feed::start(&self.session.ledger, &clients, run.id(), to_observe).await?;
        if !self.global.quiet {
            eprintln!(
                "Observing and applying {} streams (plan {}): each starts as soon as it is observed.",
                feed.survey.len(),
                feed.plan_id
            );
        }
        let run = Run {
            row: run,
            items: first,
            feed: Some((feed, self.args.run.pace.plan())),
            config: config(&self.args.run, settings),
            title: "Apply",
        };
        Ok(exit_code(&carry_out(self.global, self.session, run).await?))
    }

    /// The whole plan made (or a saved one loaded), shown and confirmed on a terminal, or
    /// summed up in a line unattended; `None` when the operator declined.
    async fn decide(&self, run: &RunGuard<'l>, plan: Plan) -> anyhow::Result<Option<Decided>> {
        let (args, ledger) = (self.args, &self.session.ledger);
        let pace = args.run.pace.plan();
        let (decided, surveyed) = match plan {
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
                let clients = self.session.clients();
                let s = survey_fleet(ledger, &clients, self.session.progress, request).await?;
                let decided = Decided {
                    plan_id: s.plan_id,
                    settings,
                    items: s.items,
                };
                let shown = Shown {
                    keys: s.keys,
                    warnings: s.warnings,
                    estimated_ms: s.estimated_ms,
                    throttles: s.throttles,
                };
                (decided, Some(shown))
            }
            Plan::Saved(saved) => {
                let decided = Decided {
                    plan_id: saved.id,
                    settings: saved.settings,
                    items: saved.items,
                };
                (decided, None)
            }
        };
        let Decided {
            plan_id,
            settings,
            items,
        } = &decided;
        if args.run.yes {
            if !self.global.quiet {
                eprintln!("Plan {plan_id}: {}", summary_line(&Summary::of(items)));
            }
            return Ok(Some(decided));
        }
        // A saved plan shows its per-key table and warnings as they were recorded.
        let (hash, review) = ledger.plan_review(*plan_id)?;
        let shown = surveyed.unwrap_or_else(|| Shown {
            estimated_ms: crate::plan::estimate(items, pace, false),
            ..review.map_or_else(Shown::default, |r| Shown {
                keys: r.keys,
                warnings: r.warnings,
                throttles: r.throttles,
                estimated_ms: 0,
            })
        });
        let view = PlanView {
            plan_id: *plan_id,
            items,
            keys: shown.keys,
            settings: *settings,
            warnings: shown.warnings,
            estimated_ms: shown.estimated_ms,
            pace,
            throttles: shown.throttles,
            next: None,
            producer_check: ledger.plan_producer_check(*plan_id)?,
            waves: args
                .waves
                .as_ref()
                .map(|w| crate::waves::planned(items, w, pace)),
            hash,
        };
        eprint!("{}", table_text(&view, self.session.color));
        // Nothing to confirm when nothing would be sent: the run only records the streams.
        if !items.iter().any(|i| i.action.starts()) {
            eprintln!("Nothing to start or stop: recording the run without asking.");
        } else if !confirm("Do you want to perform these actions?").await? {
            return Ok(None);
        }
        Ok(Some(decided))
    }

    /// A decided plan's items recorded as the run's, then carried out in one pass or in waves.
    async fn carry_out_decided(&self, run: RunGuard<'l>, decided: Decided) -> anyhow::Result<Exit> {
        let Decided {
            plan_id,
            settings,
            items,
        } = decided;
        let ledger = &self.session.ledger;
        let items = apply::items_of_plan(ledger, run.id(), items)?;
        if let Some(waved) = &self.args.waves {
            drop(items);
            let n = waves::record(ledger, run.id(), waved)?;
            if !self.global.quiet {
                eprintln!(
                    "Rolling out plan {plan_id} in {n} wave(s), each watched before the next."
                );
            }
            let fleet = ledger.plan_fleet(plan_id)?.unwrap_or_default();
            return self.roll_out(run, waved, fleet, settings).await;
        }
        let run = Run {
            row: run,
            items,
            feed: None,
            config: config(&self.args.run, settings),
            title: "Apply",
        };
        Ok(exit_code(&carry_out(self.global, self.session, run).await?))
    }

    /// The run's recorded streams rolled out wave by wave.
    async fn roll_out(
        &self,
        run: RunGuard<'l>,
        waved: &crate::waves::WavePlan,
        fleet: String,
        settings: Settings,
    ) -> anyhow::Result<Exit> {
        let rollout = waves::Rollout {
            row: run,
            plan: waved.clone(),
            fleet,
            settings,
            options: &self.args.run,
            lock: self.lock,
            place: self.place,
            override_gate: false,
        };
        waves::roll_out(self.global, self.session, rollout).await
    }
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
/// The run is resumed where it ran: refused when that was an in-process sandbox (gone with
/// its process) or another endpoint or account than now, and with the roles it assumed.
async fn take_up_place(
    session: &Session,
    row: &RunRow,
    options: &RunOptions,
    place: &Place,
) -> anyhow::Result<()> {
    let Some(then) = Place::of_run(row) else {
        return Ok(());
    };
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
    Ok(())
}

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
    take_up_place(session, &row, options, place).await?;
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
