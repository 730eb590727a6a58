//! An apply run as it happens, drawn from the engine's notices: a status line (streams by
//! phase, call rates, throttles, and an ETA from the rates the calls actually achieve), failed
//! streams grouped by cause ([`super::failures::Live`]), and the engine's notes.

use std::time::Duration;

use tokio::sync::mpsc;

use super::failures::{Cause, Failed, Live, split_kind};
use super::progress::{Mode, Progress, Segment, eta_floor_segment};
use crate::engine::{Notice, Phase, Snapshot};
use crate::pace::Operation;

/// How often streams gathered under a cause already shown are listed.
const GATHER_EVERY: Duration = Duration::from_secs(30);

/// Time and Describes before the achieved rates are trusted for an ETA.
const ETA_AFTER: Duration = Duration::from_secs(3);
const ETA_AFTER_DESCRIBES: u64 = 5;

/// Draws notices until the engine hangs up.
pub fn spawn_reporter(
    mode: Mode,
    total: usize,
    mut events: mpsc::UnboundedReceiver<Notice>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let color = mode.color();
        let progress = Progress::new(mode, "applying", total as u64);
        let mut failures = Live::default();
        let mut gather = tokio::time::interval(GATHER_EVERY);
        gather.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    None => break,
                    Some(Notice::Progress(snap)) => {
                        progress.set_segments(segments(&snap, total), true);
                        progress.set_position(snap.finished() as u64);
                    }
                    Some(Notice::Finished {
                        region,
                        name,
                        phase: Phase::Failed,
                        detail,
                        key,
                    }) if mode != Mode::Quiet => {
                        let (kind, details) = split_kind(&detail);
                        let failed = Failed {
                            cause: Cause {
                                kind: kind.to_owned(),
                                key,
                            },
                            stream: format!("{region}/{name}"),
                            details: details.to_owned(),
                        };
                        for line in failures.failed(failed, color) {
                            progress.println(line);
                        }
                    }
                    Some(Notice::Note(note)) if mode != Mode::Quiet => {
                        progress.println(note.to_string())
                    }
                    Some(_) => {}
                },
                _ = gather.tick() => {
                    for line in failures.flush(color) {
                        progress.println(line);
                    }
                }
            }
        }
        for line in failures.flush(color) {
            progress.println(line);
        }
        progress.finish();
    })
}

/// The status line's parts, in display order, ranked by what matters most when the terminal
/// is narrow: the ETA, failures, deferrals, then (after the bar) throttles, the streams in
/// flight, those done, the rates, and zero counts last.
fn segments(snap: &Snapshot, total: usize) -> Vec<Segment> {
    let secs = snap.elapsed.as_secs_f64().max(1.0);
    let rate = |op| *snap.calls.get(&op).unwrap_or(&0) as f64 / secs;
    let failed = snap.count(Phase::Failed);
    let deferred = snap.count(Phase::Deferred);
    let mut parts = Vec::with_capacity(9);
    if let Some(eta) = eta(snap, total) {
        parts.push(eta_floor_segment(eta));
    }
    parts.extend([
        in_flight("starting", snap.count(Phase::Starting)),
        in_flight("polling", snap.count(Phase::Polling)),
        Segment::new(format!("done {}", snap.count(Phase::Done)), 6),
        match failed {
            0 => Segment::new("failed 0", 8),
            n => Segment::new(format!("failed {n}"), 1).alert(),
        },
        Segment::new(
            format!("deferred {deferred}"),
            if deferred > 0 { 2 } else { 8 },
        ),
        Segment::new(
            format!(
                "{} {:.1} Describe/s",
                changing_rate(rate(Operation::Start), rate(Operation::Stop)),
                rate(Operation::Describe)
            ),
            7,
        ),
        Segment::new(
            format!("{} throttled", snap.throttles),
            if snap.throttles > 0 { 4 } else { 8 },
        ),
    ]);
    parts
}

/// The rate of the calls that change streams, named by what is sent: Starts (an apply),
/// Stops (a rollback to no encryption), or both.
fn changing_rate(starts: f64, stops: f64) -> String {
    match (starts > 0.0, stops > 0.0) {
        (false, true) => format!("{stops:.1} Stop/s"),
        (true, true) => format!("{starts:.1} Start/s {stops:.1} Stop/s"),
        _ => format!("{starts:.1} Start/s"),
    }
}

/// `starting 3`: ranked after the bar, last when zero.
fn in_flight(what: &str, n: usize) -> Segment {
    Segment::new(format!("{what} {n}"), if n > 0 { 5 } else { 8 })
}

/// When the run should end at the rates its calls achieve: the Describes still needed (one to
/// observe each stream not yet observed, one to confirm each stream that starts) at the
/// Describe rate achieved so far, or the Starts still needed at the Start rate, whichever is
/// longer. A lower bound: each stream's time to ENABLED after its Start, and the extra polls
/// it takes, come on top. None before [`ETA_AFTER`] and [`ETA_AFTER_DESCRIBES`]: until then no rate is known
/// (from a fleet file the Describe quota sets the pace, 2N/5 s per region:
/// docs/design.md#the-ceiling).
pub fn eta(snap: &Snapshot, total: usize) -> Option<Duration> {
    let describes = snap.calls.get(&Operation::Describe).copied().unwrap_or(0);
    // Stops (a rollback to no encryption) change streams as Starts do, on the same budget.
    let starts = [Operation::Start, Operation::Stop]
        .iter()
        .map(|op| snap.calls.get(op).copied().unwrap_or(0))
        .sum::<u64>() as f64;
    if snap.elapsed < ETA_AFTER || describes < ETA_AFTER_DESCRIBES {
        return None;
    }
    let secs = snap.elapsed.as_secs_f64();
    let observed = snap.total as f64;
    let unobserved = total.saturating_sub(snap.total) as f64;
    let pending = snap.count(Phase::Pending) as f64;
    let open = pending + (snap.count(Phase::Starting) + snap.count(Phase::Polling)) as f64;
    // The share of streams that need a Start, as seen among those observed.
    let share = if observed > 0.0 {
        ((starts + pending) / observed).min(1.0)
    } else {
        1.0
    };
    let mut left = (unobserved * (1.0 + share) + open) / (describes as f64 / secs);
    if starts > 0.0 {
        left = left.max((unobserved * share + pending) / (starts / secs));
    }
    Some(Duration::from_secs_f64(left))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn snap(secs: u64, phases: &[(Phase, usize)], starts: u64, describes: u64) -> Snapshot {
        Snapshot {
            total: phases.iter().map(|(_, n)| n).sum(),
            phases: phases.iter().copied().collect(),
            calls: BTreeMap::from([(Operation::Start, starts), (Operation::Describe, describes)]),
            throttles: 0,
            elapsed: Duration::from_secs(secs),
        }
    }

    #[test]
    fn the_status_line_names_the_calls_a_run_sends() {
        assert_eq!(changing_rate(2.5, 0.0), "2.5 Start/s");
        assert_eq!(changing_rate(0.0, 0.0), "0.0 Start/s");
        // A rollback to no encryption sends Stops.
        assert_eq!(changing_rate(0.0, 4.0), "4.0 Stop/s");
        assert_eq!(changing_rate(1.0, 2.0), "1.0 Start/s 2.0 Stop/s");
    }

    #[test]
    fn no_eta_before_a_rate_is_known() {
        assert_eq!(eta(&snap(2, &[(Phase::Polling, 10)], 10, 10), 200), None);
        assert_eq!(eta(&snap(10, &[(Phase::Pending, 1)], 0, 4), 200), None);
    }

    #[test]
    fn the_eta_of_a_fleet_is_its_describes_at_the_rate_achieved() {
        // 200 streams observed and started as they are observed, at 5 Describes/s: 10 s in,
        // 25 observed and started, 25 confirmations pending. 2 × 200 Describes in all at
        // 5/s is 80 s: 70 s are left.
        let s = snap(10, &[(Phase::Polling, 10), (Phase::Done, 15)], 25, 50);
        let left = eta(&s, 200).unwrap().as_secs_f64();
        assert!((68.0..=72.0).contains(&left), "{left}");
        // The first seconds of a run do not make a 1m 30s run look like 12 minutes.
        let early = snap(3, &[(Phase::Starting, 2), (Phase::Polling, 5)], 7, 15);
        let left = eta(&early, 200).unwrap().as_secs_f64();
        assert!((70.0..=90.0).contains(&left), "{left}");
    }

    #[test]
    fn streams_at_target_need_no_confirmation() {
        // Half the observed streams were already at target (done without a Start).
        let s = snap(10, &[(Phase::Done, 50)], 25, 50);
        let left = eta(&s, 100).unwrap().as_secs_f64();
        // 50 unobserved: 50 to observe + 25 to confirm = 75 Describes at 5/s.
        assert!((14.0..=16.0).contains(&left), "{left}");
    }

    #[test]
    fn starts_slower_than_describes_set_the_eta() {
        // --start-tps 0.5: 5 Starts in 10 s, 100 Describes.
        let s = snap(10, &[(Phase::Pending, 45), (Phase::Done, 5)], 5, 60);
        let left = eta(&s, 50).unwrap().as_secs_f64();
        assert!((89.0..=91.0).contains(&left), "{left}");
    }

    #[test]
    fn failures_and_the_eta_rank_first() {
        let s = Snapshot {
            throttles: 2,
            ..snap(10, &[(Phase::Failed, 3), (Phase::Done, 22)], 25, 50)
        };
        let parts = segments(&s, 200);
        assert_eq!(parts[0].text, "eta ≥1m 10s");
        assert_eq!(parts[0].rank, 0);
        let failed = parts.iter().find(|p| p.text == "failed 3").unwrap();
        assert!(failed.alert && failed.rank == 1);
        let deferred = parts.iter().find(|p| p.text == "deferred 0").unwrap();
        assert_eq!(deferred.rank, 8, "a zero count goes first");
        let throttled = parts.iter().find(|p| p.text == "2 throttled").unwrap();
        assert_eq!(throttled.rank, 4);
    }
}
