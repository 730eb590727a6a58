//! The front door: every request is counted (per operation and per operation of its caller's
//! account, and their rates over a sliding second), a request signed with an access key issued
//! in another partition or with an expired one is refused, then Firehose control-plane operations pass the throttle (a token bucket per
//! account, Region and operation, burst = tps: AWS's quotas are per account and Region) and IAM
//! operations IAM's (one bucket per account, all operations together, burst = `iam_tps`: IAM
//! is global and publishes no per-operation quota), then a seeded draw decides whether it is
//! faulted: HTTP 500, a dropped connection, or a 2 s delay, and for the first two whether the
//! request is carried out first (a delayed request always is).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::RateLimiter;
use governor::clock::FakeRelativeClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use rand::Rng;

use super::World;
use super::identity::Caller;
use crate::stats::FaultRecord;
use crate::vocabulary::Millis;

/// Fault records kept in the stats log.
const FAULT_LOG_CAP: usize = 10_000;

/// Which throttle a request passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// None (KMS, STS, Organizations, Firehose's data plane).
    Free,
    /// `--tps`: per account, Region and operation.
    ControlPlane,
    /// `iam_tps`: per account.
    Iam,
}

/// How the front door treats a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Proceed,
    /// Signed with an access key that has expired.
    Expired,
    /// Signed with an access key issued in another partition than the request's Region: it is
    /// unknown there.
    OtherPartition,
    Throttled,
    Fault {
        kind: FaultKind,
        apply: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 500 `InternalFailure`.
    InternalFailure,
    /// Close the connection without an answer.
    Drop,
    /// Answer normally after 2 s.
    Delay,
}

impl FaultKind {
    fn label(self) -> &'static str {
        match self {
            FaultKind::InternalFailure => "internal_failure",
            FaultKind::Drop => "dropped",
            FaultKind::Delay => "delayed",
        }
    }
}

type ThrottleKey = (String, String, &'static str);
type Limiter = RateLimiter<
    ThrottleKey,
    HashMapStateStore<ThrottleKey>,
    FakeRelativeClock,
    NoOpMiddleware<Nanos>,
>;

/// Per (account, region, operation) token buckets, on a clock that follows the `now` we are
/// given.
pub(super) struct Throttle {
    limiter: Limiter,
    clock: FakeRelativeClock,
    origin: Millis,
    advanced: Millis,
}

impl Throttle {
    /// `None` for `tps` 0 (unlimited).
    pub(super) fn new(tps: u32, now: Millis) -> Option<Self> {
        let rate = NonZeroU32::new(tps)?;
        let clock = FakeRelativeClock::default();
        Some(Throttle {
            limiter: RateLimiter::hashmap_with_clock(
                governor::Quota::per_second(rate),
                clock.clone(),
            ),
            clock,
            origin: now,
            advanced: 0,
        })
    }

    fn allow(&mut self, account: &str, region: &str, op: &'static str, now: Millis) -> bool {
        let elapsed = now - self.origin;
        if elapsed > self.advanced {
            self.clock
                .advance(Duration::from_millis((elapsed - self.advanced) as u64));
            self.advanced = elapsed;
        }
        self.limiter
            .check_key(&(account.to_owned(), region.to_owned(), op))
            .is_ok()
    }
}

impl World {
    /// Counts a request of `caller` and decides whether it is refused for its expired
    /// credentials, throttled or faulted. `quota` says which throttle the operation passes;
    /// `faultable` whether it may be faulted.
    pub fn admit(
        &mut self,
        op: &'static str,
        caller: &Caller,
        region: &str,
        quota: Quota,
        faultable: bool,
        now: Millis,
    ) -> Admission {
        *self.counters.requests.entry(op).or_default() += 1;
        let (times, max) = self.counters.rate.entry(op).or_default();
        times.push_back(now);
        while times.front().is_some_and(|&t| t + 1_000 <= now) {
            times.pop_front();
        }
        *max = (*max).max(times.len() as u64);
        let mut account = self.accounts.get_mut(&caller.account);
        if let Some(a) = account.as_deref_mut() {
            a.counters.request(op, now);
        }

        if caller.of_another_partition(region) {
            return Admission::OtherPartition;
        }
        if caller.expired {
            if let Some(a) = account {
                a.counters.expired += 1;
            }
            return Admission::Expired;
        }
        let throttle = match quota {
            Quota::Free => None,
            Quota::ControlPlane => self
                .throttle
                .as_mut()
                .map(|t| t.allow(&caller.account, region, op, now)),
            Quota::Iam => self
                .iam_throttle
                .as_mut()
                .map(|t| t.allow(&caller.account, "", "IAM", now)),
        };
        if throttle == Some(false) {
            *self.counters.throttled.entry(op).or_default() += 1;
            if let Some(a) = account {
                *a.counters.throttled.entry(op).or_default() += 1;
            }
            return Admission::Throttled;
        }
        if faultable && self.fault_rate > 0.0 && self.fault_rng.random::<f64>() < self.fault_rate {
            let kind = match self.fault_rng.random_range(0..3) {
                0 => FaultKind::InternalFailure,
                1 => FaultKind::Drop,
                _ => FaultKind::Delay,
            };
            let apply = kind == FaultKind::Delay || self.fault_rng.random_bool(0.5);
            return Admission::Fault { kind, apply };
        }
        Admission::Proceed
    }

    /// Records a faulted request and whether its effect took place.
    pub fn record_fault(
        &mut self,
        op: &'static str,
        kind: FaultKind,
        region: &str,
        stream: Option<&str>,
        applied: bool,
        at: Millis,
    ) {
        let faults = &mut self.counters.faults;
        match kind {
            FaultKind::InternalFailure => faults.internal_failure += 1,
            FaultKind::Drop => faults.dropped += 1,
            FaultKind::Delay => faults.delayed += 1,
        }
        let tally = if applied {
            &mut faults.applied
        } else {
            &mut faults.not_applied
        };
        *tally.entry(op.to_owned()).or_default() += 1;
        if faults.log.len() < FAULT_LOG_CAP {
            faults.log.push(FaultRecord {
                at,
                operation: op.to_owned(),
                kind: kind.label().to_owned(),
                region: region.to_owned(),
                stream: stream.map(str::to_owned),
                applied,
            });
        }
    }
}
