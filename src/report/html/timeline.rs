//! The run's timeline rebuilt from the ledger's timestamps, without I/O: calls per second per
//! operation and region, the busiest second of each, where each stream stood over time
//! (pending → starting → polling → done | failed | deferred, or skipped), and how long each
//! stream took from its accepted Start to ENABLED.
//!
//! A stream's phases come from its attempts and its item: pending from the run's start until a
//! Start is sent, starting until it is answered, polling once it was accepted (or its outcome
//! is unknown), pending again after a refusal, and from the item's last change (ENABLED's
//! observation for a done stream) the phase it ended in.

use crate::clock::{EpochMillis, SECOND};
use crate::engine::Phase;

/// The phases drawn, in the order they are stacked.
pub const PHASES: [Phase; 7] = [
    Phase::Done,
    Phase::Skipped,
    Phase::Deferred,
    Phase::Failed,
    Phase::Polling,
    Phase::Starting,
    Phase::Pending,
];

/// One Start or Stop of a stream, as the timeline needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub sent_at: EpochMillis,
    pub completed_at: Option<EpochMillis>,
    /// Accepted, or its outcome unknown: the stream may be in a transition after it.
    pub maybe_accepted: bool,
}

/// What the timeline knows of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTimes {
    /// Its attempts, by the time they were sent.
    pub attempts: Vec<Attempt>,
    /// The phase it was left in, and since when.
    pub phase: Phase,
    pub updated_at: EpochMillis,
    pub enabled_at: Option<EpochMillis>,
}

/// A stream's phases as `(from, phase)`, each lasting until the next one (the last one until
/// the end of the run).
pub fn phases_of(item: &ItemTimes, run_start: EpochMillis) -> Vec<(EpochMillis, Phase)> {
    let mut out = vec![(run_start, Phase::Pending)];
    let mut cursor = run_start;
    for a in &item.attempts {
        cursor = cursor.max(a.sent_at);
        out.push((cursor, Phase::Starting));
        if let Some(done) = a.completed_at {
            cursor = cursor.max(done);
            let next = if a.maybe_accepted {
                Phase::Polling
            } else {
                Phase::Pending
            };
            out.push((cursor, next));
        }
    }
    let since = match item.phase {
        Phase::Done => item.enabled_at.unwrap_or(item.updated_at),
        _ => item.updated_at,
    };
    out.push((since.max(cursor), item.phase));
    out
}

/// Streams in each phase at evenly spaced instants.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSeries {
    /// The instants, from the run's start to its end.
    pub at: Vec<EpochMillis>,
    /// For each of [`PHASES`], the streams in it at each instant.
    pub counts: Vec<Vec<u32>>,
}

/// Streams by phase at `samples + 1` instants from `start` to `end`.
pub fn phase_series(
    items: &[ItemTimes],
    start: EpochMillis,
    end: EpochMillis,
    samples: usize,
) -> PhaseSeries {
    let samples = samples.max(1);
    let end = end.max(start + 1);
    let step = (end - start) as f64 / samples as f64;
    let at: Vec<EpochMillis> = (0..=samples)
        .map(|i| start + (i as f64 * step).round() as EpochMillis)
        .collect();
    // The first instant at or after `t`.
    let index = |t: EpochMillis| -> usize {
        if t <= start {
            return 0;
        }
        (((t - start) as f64 / step).ceil() as usize).min(samples + 1)
    };
    let mut deltas = vec![vec![0i64; samples + 2]; PHASES.len()];
    for item in items {
        let phases = phases_of(item, start);
        for (i, (from, phase)) in phases.iter().enumerate() {
            let until = phases.get(i + 1).map_or(EpochMillis::MAX, |(t, _)| *t);
            let (lo, hi) = (
                index(*from),
                if until == EpochMillis::MAX {
                    samples + 1
                } else {
                    index(until)
                },
            );
            if lo >= hi {
                continue;
            }
            let row = PHASES
                .iter()
                .position(|p| p == phase)
                .expect("every phase is drawn");
            deltas[row][lo] += 1;
            deltas[row][hi] -= 1;
        }
    }
    let counts = deltas
        .iter()
        .map(|d| {
            let mut running = 0i64;
            d[..=samples]
                .iter()
                .map(|x| {
                    running += x;
                    running.max(0) as u32
                })
                .collect()
        })
        .collect();
    PhaseSeries { at, counts }
}

/// Calls of one operation in one account and region.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    pub operation: &'static str,
    /// `account/region`.
    pub place: String,
    /// Calls per second in each bin.
    pub per_second: Vec<f64>,
    /// The most calls in any one second (a sliding window, not a bin).
    pub peak: usize,
    pub total: usize,
}

/// The width of a rate bin: one second for a run of up to ten minutes, longer ones in at most
/// 600 bins of whole seconds.
pub fn bin_width(start: EpochMillis, end: EpochMillis) -> EpochMillis {
    let span = (end - start).max(1);
    let secs = (span + 600 * SECOND - 1) / (600 * SECOND);
    secs.max(1) * SECOND
}

/// Calls per second of each (operation, place) from the instants of its calls.
pub fn rates(
    calls: Vec<(&'static str, String, EpochMillis)>,
    start: EpochMillis,
    end: EpochMillis,
) -> Vec<Rates> {
    use std::collections::BTreeMap;
    let width = bin_width(start, end);
    let bins = ((end - start).max(1) + width - 1) / width;
    let mut by: BTreeMap<(&'static str, String), Vec<EpochMillis>> = BTreeMap::new();
    for (op, place, at) in calls {
        by.entry((op, place)).or_default().push(at);
    }
    by.into_iter()
        .map(|((operation, place), mut times)| {
            times.sort_unstable();
            let mut counts = vec![0usize; bins as usize + 1];
            for t in &times {
                let i = ((t - start).max(0) / width) as usize;
                counts[i.min(bins as usize)] += 1;
            }
            let per_second = counts
                .iter()
                .map(|c| *c as f64 * SECOND as f64 / width as f64)
                .collect();
            Rates {
                operation,
                place,
                per_second,
                peak: peak_in_a_second(&times),
                total: times.len(),
            }
        })
        .collect()
}

/// The most instants (sorted) within any one second.
pub fn peak_in_a_second(times: &[EpochMillis]) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= SECOND {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

/// From the accepted Start a stream's ENABLED followed to the Describe that saw it ENABLED.
pub fn time_to_enabled(item: &ItemTimes) -> Option<EpochMillis> {
    let enabled = item.enabled_at?;
    let start = item
        .attempts
        .iter()
        .rev()
        .find(|a| a.maybe_accepted && a.completed_at.is_some() && a.sent_at <= enabled)?;
    Some(enabled - start.sent_at)
}

/// The `q` quantile (0 to 1) of sorted values, nearest rank.
pub fn quantile(sorted: &[EpochMillis], q: f64) -> Option<EpochMillis> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// A histogram's bin width: a round number of milliseconds giving about `bins` bins up to
/// `max`.
pub fn histogram_step(max: EpochMillis, bins: i64) -> EpochMillis {
    let raw = (max / bins.max(1)).max(1);
    let steps = [
        100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 900_000, 1_800_000, 3_600_000,
    ];
    steps
        .iter()
        .copied()
        .find(|s| *s >= raw)
        .unwrap_or((raw + 3_599_999) / 3_600_000 * 3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(sent: i64, done: i64, ok: bool) -> Attempt {
        Attempt {
            sent_at: sent,
            completed_at: Some(done),
            maybe_accepted: ok,
        }
    }

    #[test]
    fn a_stream_moves_through_its_phases_as_its_attempts_say() {
        let item = ItemTimes {
            attempts: vec![attempt(1_000, 1_200, false), attempt(2_000, 2_100, true)],
            phase: Phase::Done,
            updated_at: 9_000,
            enabled_at: Some(8_000),
        };
        assert_eq!(
            phases_of(&item, 0),
            vec![
                (0, Phase::Pending),
                (1_000, Phase::Starting),
                (1_200, Phase::Pending),
                (2_000, Phase::Starting),
                (2_100, Phase::Polling),
                (8_000, Phase::Done),
            ]
        );
        assert_eq!(time_to_enabled(&item), Some(6_000));
    }

    #[test]
    fn the_series_counts_every_stream_once_at_every_instant() {
        let items = vec![
            ItemTimes {
                attempts: vec![attempt(1_000, 1_100, true)],
                phase: Phase::Done,
                updated_at: 5_000,
                enabled_at: Some(5_000),
            },
            ItemTimes {
                attempts: vec![],
                phase: Phase::Skipped,
                updated_at: 500,
                enabled_at: None,
            },
        ];
        let series = phase_series(&items, 0, 10_000, 10);
        assert_eq!(series.at.len(), 11);
        for i in 0..=10 {
            let total: u32 = series.counts.iter().map(|c| c[i]).sum();
            assert_eq!(total, 2, "instant {i}");
        }
        let row = |p: Phase| PHASES.iter().position(|x| *x == p).unwrap();
        assert_eq!(series.counts[row(Phase::Done)][10], 1);
        assert_eq!(series.counts[row(Phase::Polling)][3], 1);
        assert_eq!(series.counts[row(Phase::Skipped)][0], 0);
        assert_eq!(series.counts[row(Phase::Skipped)][1], 1);
    }

    #[test]
    fn the_busiest_second_is_a_sliding_window() {
        assert_eq!(peak_in_a_second(&[0, 900, 1_000, 1_100, 1_899]), 4);
        assert_eq!(peak_in_a_second(&[0, 900, 1_000, 1_100, 1_900]), 3);
        assert_eq!(peak_in_a_second(&[]), 0);
        let rates = rates(
            vec![("Start", "a/r".into(), 0), ("Start", "a/r".into(), 1_500)],
            0,
            2_000,
        );
        assert_eq!(rates[0].per_second, vec![1.0, 1.0, 0.0]);
        assert_eq!(bin_width(0, 3_600_000), 6_000);
    }

    #[test]
    fn quantiles_and_histogram_steps() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(quantile(&v, 0.5), Some(5));
        assert_eq!(quantile(&v, 0.9), Some(9));
        assert_eq!(quantile(&v, 1.0), Some(10));
        assert_eq!(histogram_step(40_000, 20), 2_000);
        assert_eq!(histogram_step(500, 20), 100);
    }
}
