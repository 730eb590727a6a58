//! When to Describe a stream that is transitioning. The first poll of each stream is placed at a
//! delay learned online: a stochastic-approximation estimate of a high quantile of the
//! ENABLING → ENABLED time, updated by every first poll that went out on time (done or not yet
//! done). Most first polls then find the stream done — about one Describe per stream — without
//! ever knowing the transition times exactly. Later polls back off geometrically.

use std::time::Duration;

/// The share of first polls meant to find the stream already done.
pub const TARGET_DONE: f64 = 0.97;
/// How much one first poll that came too early lengthens the delay (in log seconds).
const UP: f64 = 0.15;
/// Later polls wait this factor longer than the previous wait.
pub const BACKOFF: f64 = 1.5;
const MIN_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// Polls later than this factor of their planned delay say nothing about the quantile.
const ON_TIME: f64 = 1.25;

#[derive(Debug, Clone)]
pub struct PollSchedule {
    /// ln(seconds) of the first-poll delay.
    log_delay: f64,
    samples: u32,
    /// The longest time after its Start at which a stream was seen done: no first poll needs
    /// to wait longer, whatever a run of early misses suggests.
    longest_done: Option<Duration>,
}

impl PollSchedule {
    /// Starts from `initial` (5 s unless told otherwise).
    pub fn new(initial: Duration) -> Self {
        PollSchedule {
            log_delay: initial.as_secs_f64().max(0.001).ln(),
            samples: 0,
            longest_done: None,
        }
    }

    /// The delay from a successful Start to the stream's first Describe.
    pub fn first_delay(&self) -> Duration {
        let learned = Duration::from_secs_f64(self.log_delay.exp());
        let capped = match self.longest_done {
            Some(longest) if self.samples >= 20 => learned.min(longest),
            _ => learned,
        };
        capped.clamp(MIN_DELAY, MAX_DELAY)
    }

    /// A poll found a stream done `elapsed` after its Start.
    pub fn saw_done(&mut self, elapsed: Duration) {
        self.longest_done = Some(self.longest_done.map_or(elapsed, |l| l.max(elapsed)));
    }

    /// The wait before the next poll of a stream still transitioning `elapsed` after its
    /// Start: the polls fall at geometrically growing times.
    pub fn next_delay(elapsed: Duration) -> Duration {
        elapsed.mul_f64(BACKOFF - 1.0).clamp(MIN_DELAY, MAX_DELAY)
    }

    /// Learns from a first poll planned after `planned` that went out after `elapsed` and found
    /// the stream `done` (or still transitioning). A poll tells whether the transition took
    /// less than the planned delay only when it is done and went out no later than (about)
    /// planned, or is not done and went out no earlier than planned; any other poll teaches
    /// nothing.
    pub fn learn(&mut self, planned: Duration, elapsed: Duration, done: bool) {
        let (planned, elapsed) = (planned.as_secs_f64(), elapsed.as_secs_f64());
        let informative = if done {
            elapsed <= planned * ON_TIME
        } else {
            elapsed >= planned
        };
        if !informative {
            return;
        }
        // A poll that came too early lengthens the delay by UP; one in time shortens it by
        // UP × (1 − target) ÷ target, so the two balance when TARGET_DONE of the first polls
        // find the stream done. Bounded steps keep a run of early misses (or of luck) from
        // throwing the estimate to an extreme it takes hundreds of streams to come back from.
        self.samples += 1;
        self.log_delay += if done {
            -UP * (1.0 - TARGET_DONE) / TARGET_DONE
        } else {
            UP
        };
        self.log_delay = self
            .log_delay
            .clamp(MIN_DELAY.as_secs_f64().ln(), MAX_DELAY.as_secs_f64().ln());
    }

    pub fn samples(&self) -> u32 {
        self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log-normal transition times (sigma 0.77, so p99 is about 6x the median), from a fixed
    /// xorshift sequence through Box-Muller.
    fn latencies(median: f64, n: usize) -> Vec<f64> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let z =
                    (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
                median * (0.77 * z).exp()
            })
            .collect()
    }

    /// Polls each stream on time until done; returns Describes per stream after warm-up.
    fn simulate(initial: f64, median: f64, n: usize) -> (f64, PollSchedule) {
        let mut s = PollSchedule::new(Duration::from_secs_f64(initial));
        let mut polls = 0usize;
        let lat = latencies(median, n);
        for (i, l) in lat.iter().enumerate() {
            let first = s.first_delay();
            let done = first.as_secs_f64() >= *l;
            s.learn(first, first, done);
            let mut waited = first;
            let mut count = 1;
            while waited.as_secs_f64() < *l {
                waited += PollSchedule::next_delay(waited);
                count += 1;
            }
            if i >= n / 4 {
                polls += count;
            }
        }
        (polls as f64 / (n - n / 4) as f64, s)
    }

    #[test]
    fn learns_down_from_a_slow_start_to_about_one_describe_per_stream() {
        // Starts at 5 s, the transitions take ~0.5 s: the delay must come down.
        let (per_stream, s) = simulate(5.0, 0.5, 2000);
        let delay = s.first_delay().as_secs_f64();
        assert!(delay < 2.5 && delay > 0.5, "first delay {delay}");
        assert!(per_stream <= 1.15, "{per_stream} Describes per stream");
    }

    #[test]
    fn learns_up_from_a_fast_start() {
        let (per_stream, s) = simulate(0.2, 5.0, 2000);
        assert!(s.first_delay().as_secs_f64() > 5.0, "{:?}", s.first_delay());
        assert!(per_stream <= 1.2, "{per_stream}");
    }

    #[test]
    fn a_run_of_early_misses_does_not_throw_the_delay_to_an_extreme() {
        // Starting at the median itself, half the first polls come too early at first.
        let mut s = PollSchedule::new(Duration::from_millis(500));
        let mut highest = Duration::ZERO;
        for l in latencies(0.5, 2000) {
            let first = s.first_delay();
            highest = highest.max(first);
            s.learn(first, first, first.as_secs_f64() >= l);
        }
        // The 97th percentile is about 2.2 s: the estimate may overshoot it, not explode.
        assert!(
            highest < Duration::from_secs(5),
            "the delay reached {highest:?}"
        );
    }

    #[test]
    fn no_first_poll_waits_longer_than_the_longest_transition_seen() {
        let mut s = PollSchedule::new(Duration::from_millis(500));
        s.saw_done(Duration::from_secs(2));
        // A burst of early misses would push the delay far up...
        for _ in 0..40 {
            s.learn(
                Duration::from_millis(500),
                Duration::from_millis(500),
                false,
            );
        }
        // ...but no stream has ever needed more than 2 s.
        assert_eq!(s.first_delay(), Duration::from_secs(2));
    }

    #[test]
    fn late_polls_teach_nothing_and_backoff_grows() {
        let mut s = PollSchedule::new(Duration::from_secs(5));
        s.learn(Duration::from_secs(5), Duration::from_secs(20), true);
        assert_eq!(s.samples(), 0);
        assert_eq!(s.first_delay(), Duration::from_secs(5));
        let d = PollSchedule::next_delay(Duration::from_secs(4));
        assert_eq!(d, Duration::from_secs(2));
        assert_eq!(
            PollSchedule::next_delay(Duration::from_secs(1000)),
            MAX_DELAY
        );
    }
}
