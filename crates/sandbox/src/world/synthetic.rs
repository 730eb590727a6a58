//! A synthetic producer: a role or user that puts records to a stream by itself, at a rate,
//! as the world file declares (`producers` with a `rate`). Its records are counted lazily by
//! `producers`; this is its schedule.

use super::iam::Actor;
use crate::vocabulary::Millis;

/// The session name a synthetic producer's role acts with.
pub const SYNTHETIC_SESSION: &str = "synthetic-producer";

/// A producer that puts records by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    pub actor: Actor,
    /// Records per second.
    pub rate: f64,
    /// Bytes of data per record.
    pub bytes: u64,
    /// Where its schedule starts.
    pub origin: Millis,
    /// How far its records have been counted.
    pub(super) until: Millis,
}

impl Synthetic {
    pub fn new(actor: Actor, rate: f64, bytes: u64, origin: Millis) -> Synthetic {
        Synthetic {
            actor,
            rate,
            bytes,
            origin,
            until: origin,
        }
    }

    /// Records it puts before `t`.
    pub(super) fn put_before(&self, t: Millis) -> u64 {
        if t <= self.origin || self.rate <= 0.0 {
            return 0;
        }
        // Records at origin + k * 1000 / rate ms, k = 0, 1, ...: those before t.
        let due = (t - self.origin) as f64 * self.rate / 1_000.0;
        (due - 1e-9).ceil().max(0.0) as u64
    }
}
