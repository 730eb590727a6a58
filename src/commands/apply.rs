//! `apply`: wiring only. Take the lock, find or make the plan (observing the
//! fleet, or loading a saved plan), show it and confirm, then hand the run to
//! [`super::running`], which carries it out and records how it ended. The lock and the run are
//! guards: whatever way this returns, the lock is released and the run's outcome is recorded
//! (`error` unless it ended otherwise; a kill -9 leaves it open, to resume).

use std::path::Path;

use super::resume::resume_locked;
use super::running::{Answer, Run, ask, carry_out, config, confirm, exit_code, take_lock};
use super::{LedgerMode, Place, Session, read_fleet, waves};
use crate::apply::feed::ToObserve;
use crate::apply::{self, Feed};
use crate::clock::EpochMillis;
use crate::error::Exit;
use crate::input::Target;
use crate::ledger::{
    Ledger, LockGuard, Reviewed, RunArgs, RunGuard, RunKind, RunOutcome, RunRow, SavedPlan,
};
use crate::options::{ApplyOptions, Global, PlanSource};
use crate::plan::{Action, Settings, Summary};
use crate::report::plan::{PlanView, summary_line, table_text};
use crate::survey::{FleetSurvey, survey_fleet};
use saved::{expected, fresh_enough_to_expect, plan_file_to_apply, saved_plan_to_apply};

mod saved;

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
