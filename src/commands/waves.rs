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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::running::{Tap, config, exit_for, finish_feed, how_to_go_on, pass, stop_on_signals};
use super::undo::{Undo, undo};
use super::{Place, Session};
use crate::apply::feed::ToObserve;
use crate::apply::{self, Feed};
use crate::clock::EpochMillis;
use crate::cloud::{Accounts, StreamMetric};
use crate::engine::{NewItem, Notice, Outcome, Phase};
use crate::error::Exit;
use crate::input::Target;
use crate::ledger::{Ledger, LockGuard, RunGuard, RunItemRow, RunOutcome, WaveRow, WaveState};
use crate::model::{Interner, Operation};
use crate::options::{Global, RunOptions};
use crate::plan::{Pace, Settings};
use crate::waves::gate::{self, AlarmFact, Facts, Reading, StreamFacts, Verdict};
use crate::waves::{OnGateFailure, RollbackScope, WavePlan, plan_waves};

/// Firehose's incoming records, the gate's measure of its producers.
const INCOMING: &str = "IncomingRecords";

/// Firehose's server-side-encryption error metrics (Firehose developer guide, "Monitoring
/// with CloudWatch metrics": server-side encryption metrics).
const SSE_ERRORS: [&str; 4] = [
    "KMSKeyAccessDenied",
    "KMSKeyDisabled",
    "KMSKeyInvalidState",
    "KMSKeyNotFound",
];

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

/// The accounts and regions a wave's streams are in (a row naming no account is the
/// credentials' own).
async fn alarm_lanes(session: &Session, rows: &[RunItemRow]) -> BTreeSet<(String, String)> {
    let own = session.accounts.base_account().await.unwrap_or_default();
    rows.iter()
        .map(|r| {
            (
                r.account.clone().unwrap_or_else(|| own.clone()),
                r.region.clone(),
            )
        })
        .collect()
}

/// Reads the alarms of every lane once a metric period while a wave runs; one in ALARM (or
/// alarms that cannot be read) fails the gate and stops the wave.
fn watch_alarms(
    accounts: Arc<Accounts>,
    lanes: BTreeSet<(String, String)>,
    plan: WavePlan,
    stop: Arc<watch::Sender<bool>>,
    failed_gate: Arc<Mutex<Option<Vec<String>>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if plan.alarms.is_empty() {
            return;
        }
        let period = Duration::from_millis(plan.gate.period as u64);
        loop {
            let mut why = Vec::new();
            for (account, region) in &lanes {
                match read_alarms(&accounts, account, region, &plan.alarms).await {
                    Ok(facts) => why.extend(facts.iter().filter(|a| a.state == "ALARM").map(|a| {
                        format!(
                            "alarm {} is in ALARM in {account} {region}: {}",
                            a.name, a.reason
                        )
                    })),
                    Err(e) => why.push(e),
                }
            }
            if !why.is_empty() {
                failed_gate
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(why);
                let _ = stop.send(true);
                return;
            }
            tokio::time::sleep(period).await;
        }
    })
}

/// The named alarms' states in one account and region (`MISSING` for a name not there).
async fn read_alarms(
    accounts: &Accounts,
    account: &str,
    region: &str,
    names: &[String],
) -> Result<Vec<AlarmFact>, String> {
    let cloud = accounts
        .reach(account)
        .await
        .map_err(|why| format!("the alarms of account {account} cannot be read: {why}"))?;
    let states = cloud.alarms(region, names).await.map_err(|e| {
        format!(
            "the alarms of {account} {region} cannot be read (cloudwatch:DescribeAlarms: {e}): \
             the gate cannot tell whether the wave is healthy"
        )
    })?;
    Ok(names
        .iter()
        .map(|name| {
            let found = states.iter().find(|s| &s.name == name);
            AlarmFact {
                account: account.to_owned(),
                region: region.to_owned(),
                name: name.clone(),
                state: found.map_or("MISSING".into(), |s| s.state.clone()),
                reason: found.map(|s| s.reason.clone()).unwrap_or_default(),
            }
        })
        .collect())
}

/// Watches a wave whose streams have all ended for its bake (up to its recorded end, so a
/// resumed bake waits only what is left), reading the gate once a metric period and at the
/// end; meanwhile the next wave's streams are observed and decided, not started.
async fn bake(
    global: &Global,
    session: &Session,
    r: &Rollout<'_, '_>,
    w: &WaveRow,
    n: usize,
    next: Option<usize>,
    signals: &watch::Receiver<bool>,
) -> anyhow::Result<WaveEnd> {
    let ledger = &session.ledger;
    let run_id = r.row.id();
    let wave = w.wave;
    let bake = r.plan.bake_after(wave, n);
    let until = w.bake_until.unwrap_or(ledger.now() + bake);
    ledger.wave_baking(run_id, wave, until)?;
    if bake > 0 {
        say(
            global,
            format!(
                "Wave {wave}/{n}: every stream ended; watching it for {} (until {}).",
                crate::report::human_duration(bake),
                crate::clock::rfc3339(until)
            ),
        );
    }
    let mut prefetch = match next {
        Some(next) => prefetch(session, r, next).await?,
        None => None,
    };
    let period = r.plan.gate.period;
    let mut signals = signals.clone();
    let mut next_read = (ledger.now() + period).min(until);
    loop {
        let now = ledger.now();
        if now >= next_read {
            let reading = read_gate(session, r, wave, now).await?;
            ledger.record_reading(run_id, wave, &reading)?;
            say(global, reading_line(wave, n, &reading, until - now));
            if let Verdict::Fails { why } = reading.verdict {
                return Ok(WaveEnd::Failed(why));
            }
            if now >= until {
                return Ok(WaveEnd::Passed);
            }
            next_read = (now + period).min(until);
            continue;
        }
        let wait = Duration::from_millis((next_read - now).max(1) as u64);
        tokio::select! {
            observed = next_observation(&mut prefetch) => {
                match observed {
                    Some(o) => {
                        if let Some(feed) = prefetch.as_mut() {
                            feed.accept(ledger, run_id, o.seq, o.result?)?;
                        }
                    }
                    None => prefetch = None,
                }
            }
            _ = tokio::time::sleep(wait) => {}
            changed = signals.changed() => {
                if changed.is_err() || *signals.borrow() {
                    return Ok(WaveEnd::Interrupted);
                }
            }
        }
    }
}

/// Starts observing the next wave's undecided streams (their decisions are recorded as they
/// come; nothing is started).
async fn prefetch(
    session: &Session,
    r: &Rollout<'_, '_>,
    wave: usize,
) -> anyhow::Result<Option<Feed>> {
    let ledger = &session.ledger;
    let run_id = r.row.id();
    let (seqs, targets): (Vec<usize>, Vec<Target>) = wave_rows(ledger, run_id, wave)?
        .iter()
        .filter(|r| r.action.is_none())
        .map(|r| (r.seq, r.target()))
        .unzip();
    if targets.is_empty() {
        return Ok(None);
    }
    let to_observe = ToObserve {
        fleet: &r.fleet,
        targets,
        seqs,
        settings: r.settings,
    };
    let (feed, _decided) = Feed::start(ledger, &session.clients(), run_id, to_observe).await?;
    Ok(Some(feed))
}

async fn next_observation(feed: &mut Option<Feed>) -> Option<crate::observe::Observed> {
    match feed {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

/// One line of a bake for the operator.
fn reading_line(wave: usize, n: usize, reading: &Reading, left: EpochMillis) -> String {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, s) in &reading.streams {
        let kind = match s {
            gate::StreamReading::Steady { .. } => "steady",
            gate::StreamReading::Dropped { .. } => "dropped",
            gate::StreamReading::Errors { .. } => "with SSE errors",
            gate::StreamReading::NoSignal => "without signal",
            gate::StreamReading::Waiting => "waiting for data",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    let streams: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let verdict = match &reading.verdict {
        Verdict::Holds => "the gate holds".to_owned(),
        Verdict::Fails { why } => format!("the gate FAILS: {}", why.join("; ")),
    };
    format!(
        "Wave {wave}/{n}: {verdict} ({}; {} failed of {} allowed; {} left).",
        if streams.is_empty() {
            "no stream read".to_owned()
        } else {
            streams.join(", ")
        },
        reading.failed,
        reading.allowed_failures,
        crate::report::human_duration(left.max(0))
    )
}

/// Reads everything the gate judges a wave on, now, and judges it. What cannot be read fails
/// the gate, saying what: a rollout does not go on blind.
async fn read_gate(
    session: &Session,
    r: &Rollout<'_, '_>,
    wave: usize,
    now: EpochMillis,
) -> anyhow::Result<Reading> {
    let facts = read_facts(session, r, wave, now).await?;
    Ok(match facts {
        Ok(facts) => gate::judge(&facts, &r.plan.gate),
        Err(why) => Reading {
            at: now,
            streams: Vec::new(),
            alarms_in_alarm: Vec::new(),
            failed: 0,
            allowed_failures: 0,
            verdict: Verdict::Fails { why: vec![why] },
        },
    })
}

async fn read_facts(
    session: &Session,
    r: &Rollout<'_, '_>,
    wave: usize,
    now: EpochMillis,
) -> anyhow::Result<Result<Facts, String>> {
    let ledger = &session.ledger;
    let run_id = r.row.id();
    let rows = wave_rows(ledger, run_id, wave)?;
    let times: HashMap<usize, (Option<EpochMillis>, Option<EpochMillis>)> = ledger
        .wave_times(run_id, wave)?
        .into_iter()
        .map(|(seq, started, enabled)| (seq, (started, enabled)))
        .collect();
    let own = session.accounts.base_account().await.unwrap_or_default();
    let mut lanes: BTreeMap<(String, String), Vec<&RunItemRow>> = BTreeMap::new();
    for row in &rows {
        let account = row.account.clone().unwrap_or_else(|| own.clone());
        lanes
            .entry((account, row.region.clone()))
            .or_default()
            .push(row);
    }
    let mut facts = Facts {
        at: now,
        alarms: Vec::new(),
        streams: Vec::new(),
        failed: rows.iter().filter(|r| r.phase == Phase::Failed).count(),
        wave_size: rows.len(),
    };
    for ((account, region), rows) in lanes {
        if !r.plan.alarms.is_empty() {
            match read_alarms(&session.accounts, &account, &region, &r.plan.alarms).await {
                Ok(alarms) => facts.alarms.extend(alarms),
                Err(why) => return Ok(Err(why)),
            }
        }
        // The streams started in this run: their metrics from an hour before their Start.
        let started: Vec<(&RunItemRow, EpochMillis, Option<EpochMillis>)> = rows
            .iter()
            .filter_map(|row| match times.get(&row.seq) {
                Some((Some(started), enabled)) => Some((*row, *started, *enabled)),
                _ => None,
            })
            .collect();
        match stream_facts(session, r.plan.gate.period, &account, &region, started, now).await {
            Ok(streams) => facts.streams.extend(streams),
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(facts))
}

/// A lane's started streams with their incoming records and SSE error metrics, read from an
/// hour before the first Start; why not, when they cannot be read.
async fn stream_facts(
    session: &Session,
    period: EpochMillis,
    account: &str,
    region: &str,
    started: Vec<(&RunItemRow, EpochMillis, Option<EpochMillis>)>,
    now: EpochMillis,
) -> Result<Vec<StreamFacts>, String> {
    let Some(first) = started.iter().map(|(_, s, _)| *s).min() else {
        return Ok(Vec::new());
    };
    let cloud = session
        .accounts
        .reach(account)
        .await
        .map_err(|why| format!("the metrics of account {account} cannot be read: {why}"))?;
    let mut queries = Vec::new();
    for (k, (row, _, _)) in started.iter().enumerate() {
        for (j, metric) in std::iter::once(INCOMING).chain(SSE_ERRORS).enumerate() {
            queries.push(StreamMetric {
                id: format!("s{k}m{j}"),
                stream: row.name.clone(),
                metric,
            });
        }
    }
    let mut series: HashMap<String, gate::Series> = HashMap::new();
    let pace_key = session.accounts.pace_key(Some(account)).to_owned();
    for chunk in queries.chunks(crate::cloud::QUERIES_PER_CALL) {
        session
            .pacer
            .wait(&pace_key, region, Operation::WatchRead)
            .await;
        let results = cloud
            .firehose_metrics(
                region,
                chunk,
                (period / 1000) as i32,
                first - gate::BASELINE - period,
                now,
            )
            .await
            .map_err(|e| {
                format!(
                    "the metrics of {account} {region} cannot be read \
                     (cloudwatch:GetMetricData: {e}): the gate cannot tell whether the wave's \
                     producers still write"
                )
            })?;
        series.extend(results);
    }
    Ok(started
        .into_iter()
        .enumerate()
        .map(|(k, (row, started_at, enabled_at))| {
            let mut take = |j: usize| series.remove(&format!("s{k}m{j}")).unwrap_or_default();
            StreamFacts {
                account: account.to_owned(),
                region: region.to_owned(),
                name: row.name.clone(),
                started_at,
                enabled_at,
                incoming: take(0),
                errors: SSE_ERRORS
                    .iter()
                    .enumerate()
                    .map(|(j, m)| ((*m).to_owned(), take(j + 1)))
                    .filter(|(_, s)| !s.is_empty())
                    .collect(),
            }
        })
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
