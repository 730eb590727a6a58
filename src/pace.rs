//! Pacing: every call waits for a token from a governor keyed rate limiter, keyed by
//! (account, region, operation) — or by (account, region) when one quota is shared by all
//! operations. On top of it an adaptive layer slows a key down after a throttle
//! (multiplicative decrease: each call then costs more tokens) and recovers gradually with each
//! success, so a pacing error corrects itself instead of repeating.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use crate::model::Operation;

/// What a token is drawn for. `op` is `None` when all operations share one quota.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaceKey {
    pub account: String,
    pub region: String,
    pub op: Option<Operation>,
}

/// Calls per second allowed per (account, region, operation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Describe, List and DescribeKey.
    pub read_tps: f64,
    /// Start and Stop.
    pub write_tps: f64,
    /// One quota per (account, region) for every operation, at the lower of the two rates.
    pub shared: bool,
}

/// We pace a hair under the quota: the service measures arrivals, and requests granted exactly
/// one period apart can arrive a little closer together.
pub const MARGIN: f64 = 0.97;

/// The most a throttled key is slowed down (each call then costs this many tokens).
const MAX_SLOWDOWN: f64 = 16.0;
/// Each success takes this much off the slow-down factor.
const RECOVERY_STEP: f64 = 0.1;

#[derive(Debug, Default, Clone, Copy)]
struct Adapt {
    /// Tokens each call costs (1 = full speed).
    factor: f64,
    /// Fractional tokens owed, paid when they reach a whole token.
    debt: f64,
}

#[derive(Debug)]
pub struct Pacer {
    reads: DefaultKeyedRateLimiter<PaceKey>,
    writes: DefaultKeyedRateLimiter<PaceKey>,
    rates: Rates,
    adapt: Mutex<HashMap<PaceKey, Adapt>>,
}

fn quota(tps: f64) -> Quota {
    let period = Duration::from_secs_f64(1.0 / (tps * MARGIN).max(0.001));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

impl Pacer {
    pub fn new(rates: Rates) -> Self {
        let (read, write) = if rates.shared {
            let low = rates.read_tps.min(rates.write_tps);
            (low, low)
        } else {
            (rates.read_tps, rates.write_tps)
        };
        Pacer {
            reads: RateLimiter::keyed(quota(read)),
            writes: RateLimiter::keyed(quota(write)),
            rates,
            adapt: Mutex::default(),
        }
    }

    pub fn rates(&self) -> Rates {
        self.rates
    }

    fn key(&self, account: &str, region: &str, op: Operation) -> PaceKey {
        PaceKey {
            account: account.to_owned(),
            region: region.to_owned(),
            op: (!self.rates.shared).then_some(op),
        }
    }

    fn limiter(&self, op: Operation) -> &DefaultKeyedRateLimiter<PaceKey> {
        // Shared quota: one limiter (the reads one) serves every operation.
        if op.is_write() && !self.rates.shared {
            &self.writes
        } else {
            &self.reads
        }
    }

    /// Waits until a call of `op` may be sent for (account, region).
    pub async fn wait(&self, account: &str, region: &str, op: Operation) {
        let key = self.key(account, region, op);
        let limiter = self.limiter(op);
        limiter.until_key_ready(&key).await;
        // Pay the slow-down owed by this key, one whole token at a time.
        let extra = {
            let mut adapt = self.adapt.lock().unwrap_or_else(|e| e.into_inner());
            let a = adapt.entry(key.clone()).or_insert(Adapt {
                factor: 1.0,
                debt: 0.0,
            });
            a.debt += a.factor - 1.0;
            let whole = a.debt.floor();
            a.debt -= whole;
            whole as u32
        };
        for _ in 0..extra {
            limiter.until_key_ready(&key).await;
        }
    }

    /// Takes a token only if one is free right now (and the key is not slowed down).
    pub fn try_now(&self, account: &str, region: &str, op: Operation) -> bool {
        if self.slowdown(account, region, op) > 1.0 {
            return false;
        }
        let key = self.key(account, region, op);
        self.limiter(op).check_key(&key).is_ok()
    }

    /// A throttle: halve the key's rate (up to [`MAX_SLOWDOWN`]) and pause it for about a
    /// second's worth of tokens.
    pub fn throttled(&self, account: &str, region: &str, op: Operation) {
        let key = self.key(account, region, op);
        let mut adapt = self.adapt.lock().unwrap_or_else(|e| e.into_inner());
        let a = adapt.entry(key).or_insert(Adapt {
            factor: 1.0,
            debt: 0.0,
        });
        a.factor = (a.factor * 2.0).min(MAX_SLOWDOWN);
        a.debt += a.factor;
    }

    /// A success: recover a little of the key's speed.
    pub fn succeeded(&self, account: &str, region: &str, op: Operation) {
        let key = self.key(account, region, op);
        let mut adapt = self.adapt.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = adapt.get_mut(&key) {
            a.factor = (a.factor - RECOVERY_STEP).max(1.0);
        }
    }

    /// The current slow-down factor of a key (1 = full speed).
    pub fn slowdown(&self, account: &str, region: &str, op: Operation) -> f64 {
        let key = self.key(account, region, op);
        let adapt = self.adapt.lock().unwrap_or_else(|e| e.into_inner());
        adapt.get(&key).map_or(1.0, |a| a.factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(shared: bool) -> Pacer {
        Pacer::new(Rates {
            read_tps: 5.0,
            write_tps: 2.0,
            shared,
        })
    }

    #[test]
    fn throttles_slow_down_and_successes_recover() {
        let p = pacer(false);
        p.throttled("a", "r", Operation::Start);
        assert_eq!(p.slowdown("a", "r", Operation::Start), 2.0);
        p.throttled("a", "r", Operation::Start);
        assert_eq!(p.slowdown("a", "r", Operation::Start), 4.0);
        // Other keys are untouched.
        assert_eq!(p.slowdown("a", "r", Operation::Describe), 1.0);
        assert_eq!(p.slowdown("a", "other", Operation::Start), 1.0);
        for _ in 0..10 {
            p.succeeded("a", "r", Operation::Start);
        }
        assert!((p.slowdown("a", "r", Operation::Start) - 3.0).abs() < 1e-9);
        for _ in 0..100 {
            p.succeeded("a", "r", Operation::Start);
        }
        assert_eq!(p.slowdown("a", "r", Operation::Start), 1.0);
        for _ in 0..10 {
            p.throttled("a", "r", Operation::Start);
        }
        assert_eq!(p.slowdown("a", "r", Operation::Start), MAX_SLOWDOWN);
    }

    #[test]
    fn shared_quota_merges_operations() {
        let p = pacer(true);
        p.throttled("a", "r", Operation::Start);
        assert_eq!(p.slowdown("a", "r", Operation::Describe), 2.0);
        let p = pacer(false);
        p.throttled("a", "r", Operation::Start);
        assert_eq!(p.slowdown("a", "r", Operation::Describe), 1.0);
    }

    #[test]
    fn keys_are_independent_tokens() {
        let p = pacer(false);
        // One token each, immediately, for distinct keys; a second for the same key is not.
        let a = p.key("a", "r1", Operation::Describe);
        let b = p.key("a", "r2", Operation::Describe);
        assert!(p.reads.check_key(&a).is_ok());
        assert!(p.reads.check_key(&b).is_ok());
        assert!(p.reads.check_key(&a).is_err());
    }
}
