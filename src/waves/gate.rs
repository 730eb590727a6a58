//! A wave's health gate, pure: facts read during the wave and its bake — CloudWatch alarm
//! states, each stream's `IncomingRecords` before its Start and after it was ENABLED, the
//! stream's server-side-encryption error metrics, the wave's failed streams — in; a reading
//! with a verdict out. The reading is recorded as it is (facts and verdict) with its time.
//!
//! The rules:
//! - an alarm named with `--alarm` in state `ALARM` fails the gate;
//! - more failed streams than `--max-errors` (a count, or a share of the wave rounded down)
//!   fail it, as SSM's `MaxErrors`;
//! - a stream whose incoming rate after it was ENABLED fell by more than `--gate-drop` against
//!   its rate before its Start fails it. Before: the periods that ended by the Start within the
//!   hour before it, from the first with data (CloudWatch has no datapoint for a period without
//!   data, so the span starts at the first one). After: the complete periods that begin once the
//!   encryption is fully effective (ENABLED + 5 s). A stream with no data before its Start has
//!   no signal: reported, never gating; one with no complete period after yet is waiting;
//! - any server-side-encryption error datapoint (Firehose's KMS error metrics) above zero since
//!   the stream's Start fails it.

use crate::clock::{EpochMillis, HOUR, SECOND};

/// After ENABLED, data may still be written unencrypted for up to 5 s (Firehose developer
/// guide): the after-rate starts once the encryption is fully effective.
pub const FULLY_EFFECTIVE_AFTER: EpochMillis = 5 * SECOND;

/// How far back the rate before a Start is read.
pub const BASELINE: EpochMillis = HOUR;

/// The fewest metric periods a bake may cover: one complete period after ENABLED needs up to
/// two more to begin and end, and CloudWatch publishes a period's datapoint only after it.
pub const MIN_BAKE_PERIODS: i64 = 3;

/// A metric's datapoints: (period start, value), only periods with data.
pub type Series = Vec<(EpochMillis, f64)>;

/// `--max-errors`: failed streams a wave may have.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxErrors {
    Count(usize),
    /// A share of the wave, in percent, rounded down.
    Share(f64),
}

impl MaxErrors {
    /// Reads `N` or `P%`.
    pub fn parse(text: &str) -> Result<MaxErrors, String> {
        match text.trim().strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(MaxErrors::Share(p)),
                _ => Err(format!("{text:?}: a share is 0% to 100%")),
            },
            None => text.trim().parse().map(MaxErrors::Count).map_err(|_| {
                format!("{text:?} is neither a count (e.g. 1) nor a share (e.g. 10%)")
            }),
        }
    }

    /// Failed streams allowed in a wave of `size`.
    pub fn allowed(self, size: usize) -> usize {
        match self {
            MaxErrors::Count(n) => n,
            MaxErrors::Share(p) => (p / 100.0 * size as f64).floor() as usize,
        }
    }
}

/// How the gate judges.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateSettings {
    /// `--gate-drop`: the largest fall of a stream's incoming rate that passes, 0 to 1.
    pub drop: f64,
    pub max_errors: MaxErrors,
    /// The metric period the datapoints are read at.
    pub period: EpochMillis,
}

/// One stream of the wave, as read.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamFacts {
    pub account: String,
    pub region: String,
    pub name: String,
    /// Its first Start (or Stop) of this run.
    pub started_at: EpochMillis,
    /// When it was seen ENABLED (`None`: not yet, or it did not get there).
    pub enabled_at: Option<EpochMillis>,
    /// `IncomingRecords`, Sum per period, from an hour before its Start.
    pub incoming: Series,
    /// Each SSE error metric with datapoints, Sum per period.
    pub errors: Vec<(String, Series)>,
}

/// An alarm's state, as DescribeAlarms gave it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlarmFact {
    pub account: String,
    pub region: String,
    pub name: String,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`, or missing (no such alarm there).
    pub state: String,
    pub reason: String,
}

/// Everything read at one moment of a wave or its bake.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    pub at: EpochMillis,
    pub alarms: Vec<AlarmFact>,
    pub streams: Vec<StreamFacts>,
    /// Streams of the wave that failed, of how many.
    pub failed: usize,
    pub wave_size: usize,
}

/// What the gate read of one stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reading", rename_all = "snake_case")]
pub enum StreamReading {
    /// Records per second before and after: within the allowed drop.
    Steady { before: f64, after: f64 },
    /// Fell by more than allowed.
    Dropped { before: f64, after: f64 },
    /// An SSE error metric counted errors since its Start.
    Errors { metric: String, count: f64 },
    /// No data before its Start: nothing to compare, never gating.
    NoSignal,
    /// Not ENABLED yet, or no complete period since.
    Waiting,
}

impl StreamReading {
    pub fn fails(&self) -> bool {
        matches!(
            self,
            StreamReading::Dropped { .. } | StreamReading::Errors { .. }
        )
    }
}

/// The gate's verdict on one reading.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Holds,
    /// Each reason it fails, for the operator.
    Fails {
        why: Vec<String>,
    },
}

/// A reading: the facts judged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reading {
    pub at: EpochMillis,
    pub streams: Vec<(String, StreamReading)>,
    pub alarms_in_alarm: Vec<String>,
    pub failed: usize,
    pub allowed_failures: usize,
    pub verdict: Verdict,
}

fn floor_to(t: EpochMillis, period: EpochMillis) -> EpochMillis {
    t.div_euclid(period) * period
}

fn ceil_to(t: EpochMillis, period: EpochMillis) -> EpochMillis {
    -(-t).div_euclid(period) * period
}

/// What the gate reads of one stream at `now`.
pub fn read_stream(s: &StreamFacts, period: EpochMillis, now: EpochMillis) -> StreamReading {
    let start_floor = floor_to(s.started_at, period);
    for (metric, series) in &s.errors {
        let count: f64 = series
            .iter()
            .filter(|(t, _)| *t >= start_floor)
            .map(|(_, v)| v)
            .sum();
        if count > 0.0 {
            return StreamReading::Errors {
                metric: metric.clone(),
                count,
            };
        }
    }
    // Before: whole periods that ended by the Start, within the hour before it.
    let before: Vec<&(EpochMillis, f64)> = s
        .incoming
        .iter()
        .filter(|(t, _)| *t + period <= s.started_at && *t >= s.started_at - BASELINE)
        .collect();
    let Some(first) = before.iter().map(|(t, _)| *t).min() else {
        return StreamReading::NoSignal;
    };
    let span = (start_floor - first).max(period) as f64 / 1000.0;
    let before_rate = before.iter().map(|(_, v)| v).sum::<f64>() / span;
    let Some(enabled_at) = s.enabled_at else {
        return StreamReading::Waiting;
    };
    let from = ceil_to(enabled_at + FULLY_EFFECTIVE_AFTER, period);
    let to = floor_to(now, period);
    if to <= from {
        return StreamReading::Waiting;
    }
    let after_sum: f64 = s
        .incoming
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, v)| v)
        .sum();
    let after_rate = after_sum / ((to - from) as f64 / 1000.0);
    StreamReading::Steady {
        before: before_rate,
        after: after_rate,
    }
}

/// Judges the facts.
pub fn judge(facts: &Facts, settings: &GateSettings) -> Reading {
    let mut why = Vec::new();
    let alarms_in_alarm: Vec<String> = facts
        .alarms
        .iter()
        .filter(|a| a.state == "ALARM")
        .map(|a| format!("{} ({} {})", a.name, a.account, a.region))
        .collect();
    for a in facts.alarms.iter().filter(|a| a.state == "ALARM") {
        why.push(format!(
            "alarm {} is in ALARM in {} {}: {}",
            a.name, a.account, a.region, a.reason
        ));
    }
    let allowed_failures = settings.max_errors.allowed(facts.wave_size);
    if facts.failed > allowed_failures {
        why.push(format!(
            "{} stream(s) of the wave's {} failed, more than --max-errors allows ({})",
            facts.failed, facts.wave_size, allowed_failures
        ));
    }
    let mut streams = Vec::new();
    for s in &facts.streams {
        let reading = match read_stream(s, settings.period, facts.at) {
            StreamReading::Steady { before, after } if after < before * (1.0 - settings.drop) => {
                StreamReading::Dropped { before, after }
            }
            other => other,
        };
        match &reading {
            StreamReading::Dropped { before, after } => why.push(format!(
                "{}/{}: incoming records fell from {before:.2}/s before its Start to {after:.2}/s \
                 since it was ENABLED ({:.0}% drop, --gate-drop allows {:.0}%)",
                s.region,
                s.name,
                (1.0 - after / before) * 100.0,
                settings.drop * 100.0
            )),
            StreamReading::Errors { metric, count } => why.push(format!(
                "{}/{}: {metric} counted {count} since its Start",
                s.region, s.name
            )),
            _ => {}
        }
        streams.push((format!("{}/{}", s.region, s.name), reading));
    }
    Reading {
        at: facts.at,
        streams,
        alarms_in_alarm,
        failed: facts.failed,
        allowed_failures,
        verdict: if why.is_empty() {
            Verdict::Holds
        } else {
            Verdict::Fails { why }
        },
    }
}

/// The shortest bake that shows a complete metric period after a stream's encryption is fully
/// effective: [`MIN_BAKE_PERIODS`] periods, and at least the 5 s to full effect and two periods
/// (one to begin, one to end).
pub fn min_bake(period: EpochMillis) -> EpochMillis {
    (MIN_BAKE_PERIODS * period).max(FULLY_EFFECTIVE_AFTER + 2 * period)
}

/// Refuses a bake too short to show a complete metric period after ENABLED ([`min_bake`]).
pub fn check_bake(bake: EpochMillis, period: EpochMillis, flag: &str) -> Result<(), String> {
    let min = min_bake(period);
    if bake > 0 && bake < min {
        return Err(format!(
            "{flag} {}s is too short for metric periods of {}s: CloudWatch publishes a period's \
             datapoint only once it has ended, and a stream's encryption is fully effective 5 s \
             after ENABLED, so the gate would see no complete period after it. Bake at least \
             {}s ({MIN_BAKE_PERIODS} periods, or 5 s and two periods), or read a shorter \
             --metric-period",
            bake / 1000,
            period / 1000,
            (min + 999) / 1000
        ));
    }
    Ok(())
}
