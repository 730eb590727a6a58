//! A wave's health gate: CloudWatch alarms read per account and region, and the built-in gate
//! on the wave's own streams (incoming records after ENABLED against the hour before each
//! Start), watched through the bake.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::apply::Feed;
use crate::apply::feed::ToObserve;
use crate::clock::EpochMillis;
use crate::cloud::{Accounts, StreamMetric};
use crate::commands::Session;
use crate::engine::Phase;
use crate::input::Target;
use crate::ledger::{RunItemRow, WaveRow};
use crate::model::Operation;
use crate::options::Global;
use crate::waves::WavePlan;
use crate::waves::gate::{self, AlarmFact, Facts, Reading, StreamFacts, Verdict};

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

use super::{Rollout, WaveEnd, say, wave_rows};

/// The accounts and regions a wave's streams are in (a row naming no account is the
/// credentials' own).
pub(super) async fn alarm_lanes(
    session: &Session,
    rows: &[RunItemRow],
) -> BTreeSet<(String, String)> {
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
pub(super) fn watch_alarms(
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
pub(super) async fn read_alarms(
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
pub(super) async fn bake(
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
pub(super) async fn prefetch(
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

pub(super) async fn next_observation(feed: &mut Option<Feed>) -> Option<crate::observe::Observed> {
    match feed {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

/// One line of a bake for the operator.
pub(super) fn reading_line(wave: usize, n: usize, reading: &Reading, left: EpochMillis) -> String {
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
pub(super) async fn read_gate(
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

pub(super) async fn read_facts(
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
pub(super) async fn stream_facts(
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
