//! `apply --waves`: a rollout in waves, on the same engine, budgets and ledger as any apply.
//! Each wave is carried out like a resumed run of its own streams (those already decided from
//! the ledger, the rest observed and decided as they go), watched while it runs (its alarms,
//! its failures against `--max-errors`) and for its bake once every stream has ended (the
//! alarms again, and each stream's incoming records and SSE error metrics against its own
//! before its Start), every reading recorded with its time. A failed gate halts the rollout
//! (exit 5) and, with `--on-gate-failure rollback`, returns the streams it changed with the
//! rollback engine. The next wave's streams are observed during a bake; none is started before
//! it ends. Everything is in the ledger, the bake's end on the wall clock, so `resume` after a
//! kill takes up the same wave, the bake's remaining time, and never starts a stream twice; a
//! failed gate stays failed unless `resume --override-gate`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::running::{Tap, config, exit_for, finish_feed, how_to_go_on, pass, stop_on_signals};
use super::undo::{Undo, undo};
use super::{Place, Session};
use crate::apply::feed::ToObserve;
use crate::apply::{self, Feed};
use crate::engine::{NewItem, Notice, Outcome, Phase};
use crate::error::Exit;
use crate::input::Target;
use crate::ledger::{Ledger, LockGuard, RunGuard, RunItemRow, RunOutcome, WaveRow, WaveState};
use crate::model::Interner;
use crate::options::{Global, RunOptions};
use crate::plan::{Pace, Settings};
use crate::waves::gate::{Reading, Verdict};
use crate::waves::{OnGateFailure, RollbackScope, WavePlan, plan_waves};

mod health;
use health::{alarm_lanes, bake, watch_alarms};

/// A rollout in waves to carry out (or go on with).
pub(super) struct Rollout<'a, 'l> {
    pub row: RunGuard<'l>,
    pub plan: WavePlan,
    /// The fleet as the plan records it.
    pub fleet: String,
    pub settings: Settings,
    pub options: &'a RunOptions,
    pub lock: &'a LockGuard<'l>,
    pub place: &'a Place,
    /// `resume --override-gate`.
    pub override_gate: bool,
}

/// Divides the run's recorded streams into its waves, in fleet order (accounts or regions
/// whole with `--wave-by`), and records them; returns how many.
pub(super) fn record(ledger: &Ledger, run_id: i64, plan: &WavePlan) -> anyhow::Result<usize> {
    let rows = ledger.run_items(run_id)?;
    let labels: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.account.as_deref().unwrap_or("own"), r.region.as_str()))
        .collect();
    let waves: Vec<Vec<usize>> = plan_waves(&plan.steps(), plan.by, &labels)
        .into_iter()
        .map(|w| w.into_iter().map(|i| rows[i].seq).collect())
        .collect();
    ledger.record_waves(run_id, &waves)?;
    Ok(waves.len())
}

/// How a wave (or its bake) ended.
enum WaveEnd {
    Passed,
    /// The gate failed, for these reasons.
    Failed(Vec<String>),
    /// A signal stopped it: the run stays resumable.
    Interrupted,
}

/// Carries the rollout out from where the ledger says it stands to its end, a failed gate or a
/// signal.
pub(super) async fn roll_out(
    global: &Global,
    session: &Session,
    r: Rollout<'_, '_>,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    let run_id = r.row.id();
    let waves = ledger.waves(run_id)?;
    let n = waves.len();
    let signals = stop_on_signals();
    let mut passes: Vec<Outcome> = Vec::new();
    for w in &waves {
        let wave = w.wave;
        match w.state {
            WaveState::Passed => continue,
            WaveState::Failed if r.override_gate => {
                let who = whoami();
                ledger.override_gate(run_id, wave, &who)?;
                say(
                    global,
                    format!(
                        "Wave {wave}/{n}: its failed gate is gone past (--override-gate, {who})."
                    ),
                );
                continue;
            }
            WaveState::Failed => {
                eprintln!(
                    "Wave {wave}/{n}'s health gate failed: {}. The rollout stays halted; \
                     `{}` goes on past it.",
                    w.why.join("; "),
                    crate::hint::command(&format!("resume {run_id} --override-gate"))
                );
                r.row.finish(RunOutcome::Halted)?;
                return Ok(Exit::Halted);
            }
            _ => {}
        }
        if w.state != WaveState::Baking {
            let (outcome, end) = run_wave(global, session, &r, w, n, &signals).await?;
            let aborted = outcome.aborted.clone();
            passes.push(outcome);
            if let Some(why) = aborted {
                let outcome = merged(ledger, run_id, passes)?;
                r.row.finish(exit_for(&outcome).1)?;
                anyhow::bail!(
                    "run {run_id} stopped: {why}. Fix it, then: {}",
                    crate::hint::command(&format!("resume {run_id}"))
                );
            }
            match end {
                WaveEnd::Passed => {}
                WaveEnd::Interrupted => return interrupted(global, session, r, passes),
                WaveEnd::Failed(why) => {
                    return halt(global, session, r, wave, n, why, passes).await;
                }
            }
        }
        let next = waves.get(wave).map(|w| w.wave);
        match bake(global, session, &r, w, n, next, &signals).await? {
            WaveEnd::Passed => {
                ledger.wave_passed(run_id, wave)?;
                say(global, format!("Wave {wave}/{n} passed its gate."));
            }
            WaveEnd::Interrupted => return interrupted(global, session, r, passes),
            WaveEnd::Failed(why) => return halt(global, session, r, wave, n, why, passes).await,
        }
    }
    let outcome = merged(ledger, run_id, passes)?;
    let (exit, ended) = exit_for(&outcome);
    r.row.finish(ended)?;
    print_summary(global, session, run_id, &outcome)?;
    Ok(exit)
}

fn say(global: &Global, line: String) {
    if !global.quiet {
        eprintln!("{line}");
    }
}

/// Who goes past a gate, as the ledger records it.
fn whoami() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let (pid, host) = crate::ledger::lock::me();
    format!("{user}@{host} (pid {pid})")
}

/// One wave carried out: its decided streams from the ledger, the rest observed and decided as
/// they go, watched for its alarms and its failures while it runs.
async fn run_wave(
    global: &Global,
    session: &Session,
    r: &Rollout<'_, '_>,
    w: &WaveRow,
    n: usize,
    signals: &watch::Receiver<bool>,
) -> anyhow::Result<(Outcome, WaveEnd)> {
    let ledger = &session.ledger;
    let run_id = r.row.id();
    let wave = w.wave;
    ledger.wave_running(run_id, wave)?;
    let rows = wave_rows(ledger, run_id, wave)?;
    say(
        global,
        format!("Wave {wave}/{n}: {} stream(s).", rows.len()),
    );
    let (items, feed) = wave_items(session, r, &rows).await?;

    let stopper = Stopper::new();
    let forward = stopper.forward(signals.clone());
    let alarms = watch_alarms(
        session.accounts.clone(),
        alarm_lanes(session, &rows).await,
        r.plan.clone(),
        stopper.stop.clone(),
        stopper.failed_gate.clone(),
    );
    let allowed = r.plan.gate.max_errors.allowed(rows.len());
    let result = pass(
        session,
        run_id,
        items,
        feed,
        config(r.options, r.settings),
        stopper.receiver(),
        Some(stopper.max_errors_tap(allowed, rows.len())),
    )
    .await;
    forward.abort();
    alarms.abort();
    let (outcome, feed) = result?;
    if let Some((feed, pace)) = feed {
        finish_feed(global, ledger, feed, pace)?;
    }
    let failed = outcome.count(Phase::Failed);
    let why = stopper.gate_failure().or_else(|| {
        // Every stream of the wave ended (or was stopped): its failures against --max-errors.
        (!stopper.signalled() && !outcome.interrupted && failed > allowed)
            .then(|| vec![too_many_failures(failed, rows.len(), allowed)])
    });
    if let Some(why) = why {
        record_failure(ledger, run_id, wave, &why, failed, rows.len(), allowed)?;
        return Ok((outcome, WaveEnd::Failed(why)));
    }
    if stopper.signalled() || outcome.interrupted {
        return Ok((outcome, WaveEnd::Interrupted));
    }
    Ok((outcome, WaveEnd::Passed))
}

fn too_many_failures(failed: usize, size: usize, allowed: usize) -> String {
    format!(
        "{failed} stream(s) of the wave's {size} failed, more than --max-errors allows ({allowed})"
    )
}

/// A wave's engine items: its streams already decided, from the ledger (their calls in flight
/// reconciled), and a feed observing the rest.
async fn wave_items(
    session: &Session,
    r: &Rollout<'_, '_>,
    rows: &[RunItemRow],
) -> anyhow::Result<(Vec<NewItem>, Option<(Feed, Pace)>)> {
    let ledger = &session.ledger;
    let mut names = Interner::default();
    let mut tracks: Vec<_> = rows
        .iter()
        .filter_map(|row| apply::track_from_row(row, &mut names))
        .collect();
    let (seqs, undecided): (Vec<usize>, Vec<Target>) = rows
        .iter()
        .filter(|r| r.action.is_none())
        .map(|r| (r.seq, r.target()))
        .unzip();
    apply::reconcile_in_flight(ledger, &mut tracks)?;
    let now = ledger.now();
    let mut items = tracks
        .into_iter()
        .map(|t| apply::new_item(ledger, t, now))
        .collect::<Result<Vec<_>, _>>()?;
    if undecided.is_empty() {
        return Ok((items, None));
    }
    let to_observe = ToObserve {
        fleet: &r.fleet,
        targets: undecided,
        seqs,
        settings: r.settings,
    };
    let (feed, first) = Feed::start(ledger, &session.clients(), r.row.id(), to_observe).await?;
    items.extend(first);
    Ok((items, Some((feed, r.options.pace.plan()))))
}

/// What stops a wave while it runs: a signal, or its gate failing (an alarm, too many
/// failures), whichever comes first.
struct Stopper {
    stop: Arc<watch::Sender<bool>>,
    signalled: Arc<AtomicBool>,
    failed_gate: Arc<Mutex<Option<Vec<String>>>>,
}

impl Stopper {
    fn new() -> Self {
        Stopper {
            stop: Arc::new(watch::channel(false).0),
            signalled: Arc::default(),
            failed_gate: Arc::default(),
        }
    }

    fn receiver(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Passes a signal on as a stop, remembering it was one.
    fn forward(&self, mut signals: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let (stop, signalled) = (self.stop.clone(), self.signalled.clone());
        tokio::spawn(async move {
            loop {
                if *signals.borrow() {
                    signalled.store(true, Ordering::SeqCst);
                    let _ = stop.send(true);
                    break;
                }
                if signals.changed().await.is_err() {
                    break;
                }
            }
        })
    }

    /// A tap on the engine's progress failing the gate once more streams failed than allowed.
    fn max_errors_tap(&self, allowed: usize, size: usize) -> Tap {
        let (stop, failed_gate) = (self.stop.clone(), self.failed_gate.clone());
        Box::new(move |notice: &Notice| {
            if let Notice::Progress(snap) = notice {
                let failed = snap.count(Phase::Failed);
                if failed > allowed {
                    let mut gate = failed_gate.lock().unwrap_or_else(|e| e.into_inner());
                    gate.get_or_insert_with(|| vec![too_many_failures(failed, size, allowed)]);
                    let _ = stop.send(true);
                }
            }
        })
    }

    fn signalled(&self) -> bool {
        self.signalled.load(Ordering::SeqCst)
    }

    fn gate_failure(&self) -> Option<Vec<String>> {
        self.failed_gate
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

fn record_failure(
    ledger: &Ledger,
    run_id: i64,
    wave: usize,
    why: &[String],
    failed: usize,
    size: usize,
    allowed: usize,
) -> anyhow::Result<()> {
    let reading = Reading {
        at: ledger.now(),
        streams: Vec::new(),
        alarms_in_alarm: Vec::new(),
        failed,
        allowed_failures: allowed,
        verdict: Verdict::Fails { why: why.to_vec() },
    };
    let _ = size;
    ledger.record_reading(run_id, wave, &reading)?;
    Ok(())
}

/// The rows of one wave of the run.
fn wave_rows(ledger: &Ledger, run_id: i64, wave: usize) -> anyhow::Result<Vec<RunItemRow>> {
    let seqs: BTreeSet<usize> = ledger.wave_items(run_id, wave)?.into_iter().collect();
    Ok(ledger
        .run_items(run_id)?
        .into_iter()
        .filter(|r| seqs.contains(&r.seq))
        .collect())
}

/// What the rollout did, over this process's passes and the ledger's rows: every stream's
/// phase, the calls made now.
fn merged(ledger: &Ledger, run_id: i64, passes: Vec<Outcome>) -> anyhow::Result<Outcome> {
    let mut names = Interner::default();
    let tracks = ledger
        .run_items(run_id)?
        .iter()
        .filter_map(|row| apply::track_from_row(row, &mut names))
        .collect();
    let mut out = Outcome {
        tracks,
        ..Outcome::default()
    };
    for p in passes {
        for (op, n) in p.calls {
            *out.calls.entry(op).or_default() += n;
        }
        out.throttles += p.throttles;
        out.poll_describes += p.poll_describes;
        out.wall += p.wall;
        out.left_in_transition += p.left_in_transition;
    }
    Ok(out)
}

fn print_summary(
    global: &Global,
    session: &Session,
    run_id: i64,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let summary =
        crate::report::apply::summary(&session.ledger, run_id, outcome, &[], session.color)?;
    global
        .output
        .print("Apply", || summary.json.clone(), || summary.text.clone())?;
    Ok(())
}

/// A signal stopped the rollout: the run stays open for `resume`.
fn interrupted(
    global: &Global,
    session: &Session,
    r: Rollout<'_, '_>,
    passes: Vec<Outcome>,
) -> anyhow::Result<Exit> {
    let run_id = r.row.id();
    let mut outcome = merged(&session.ledger, run_id, passes)?;
    outcome.interrupted = true;
    r.row.finish(RunOutcome::Interrupted)?;
    print_summary(global, session, run_id, &outcome)?;
    how_to_go_on(session, run_id, &outcome);
    Ok(Exit::Interrupted)
}

/// A failed gate: the wave failed, no later wave starts, exit 5; with `--on-gate-failure
/// rollback`, the streams the run changed (the wave's, or every wave's so far) go back.
#[allow(clippy::too_many_arguments)]
async fn halt(
    global: &Global,
    session: &Session,
    r: Rollout<'_, '_>,
    wave: usize,
    n: usize,
    why: Vec<String>,
    passes: Vec<Outcome>,
) -> anyhow::Result<Exit> {
    let ledger = &session.ledger;
    let run_id = r.row.id();
    ledger.wave_failed(run_id, wave, &why)?;
    eprintln!("Wave {wave}/{n}: the health gate FAILED:");
    for w in &why {
        eprintln!("  - {w}");
    }
    eprintln!("The rollout is halted: no later wave is started.");
    let outcome = merged(ledger, run_id, passes)?;
    let Rollout {
        row,
        plan,
        settings,
        options,
        lock,
        place,
        ..
    } = r;
    row.finish(RunOutcome::Halted)?;
    print_summary(global, session, run_id, &outcome)?;
    if plan.on_failure == OnGateFailure::Rollback {
        let mut only = BTreeSet::new();
        let waves = match plan.rollback_scope {
            RollbackScope::Wave => wave..=wave,
            RollbackScope::Run => 1..=wave,
        };
        for w in waves {
            only.extend(ledger.wave_items(run_id, w)?);
        }
        let of = ledger
            .run(run_id)?
            .ok_or_else(|| anyhow::anyhow!("run {run_id} is gone from the ledger"))?;
        let rows = ledger.run_items(run_id)?;
        let mut unattended = options.clone();
        unattended.yes = true;
        eprintln!(
            "Rolling back the streams of {} (--on-gate-failure rollback).",
            match plan.rollback_scope {
                RollbackScope::Wave => format!("wave {wave}"),
                RollbackScope::Run => format!("waves 1 to {wave}"),
            }
        );
        undo(
            global,
            session,
            Undo {
                of: &of,
                rows,
                only: Some(&only),
                run: &unattended,
                settings: Settings {
                    restore: true,
                    ..settings
                },
                dry_run: false,
                saved: None,
                lock: Some(lock),
                place,
                waves: None,
            },
        )
        .await?;
    }
    eprintln!(
        "See the readings with `{}`; go on past the gate with `{}`.",
        crate::hint::command(&format!("status {run_id}")),
        crate::hint::command(&format!("resume {run_id} --override-gate"))
    );
    Ok(Exit::Halted)
}
