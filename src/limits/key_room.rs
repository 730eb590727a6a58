//! The per-key stream limit (a customer-managed key encrypts at most 500 streams:
//! docs/design.md#the-key-limit) as one small type: how many streams each customer-managed key
//! protects, and whether one more fits. The planner counts with it as it decides in fleet order,
//! the survey corrects it as observations arrive, and the engine takes and frees slots as Starts go
//! out and transitions end — so the three agree on what "room under the key" means.
//!
//! A stream counts under a key when the key is in force on it (ENABLED with it, or a failed
//! rekey left it in force) or when it is ENABLING towards it ([`counted_under`]).

use std::collections::{HashMap, HashSet};

use crate::model::{EncStatus, KeyChoice};

/// Streams per customer-managed key ARN, against a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRoom {
    limit: u32,
    counts: HashMap<String, u32>,
    /// Keys the service said are full (a Start refused for the key's limit): whatever our
    /// counts say — they cover only the streams the ledger has seen — no more go onto them.
    full: HashSet<String>,
}

impl KeyRoom {
    /// `counts`: streams each key protects now.
    pub fn new(limit: u32, counts: HashMap<String, u32>) -> Self {
        KeyRoom {
            limit,
            counts,
            full: HashSet::new(),
        }
    }

    /// The service refused a Start for `arn`'s stream limit.
    pub fn mark_full(&mut self, arn: &str) {
        self.full.insert(arn.to_owned());
    }

    /// Whether the service said `arn` is full.
    pub fn is_full(&self, arn: &str) -> bool {
        self.full.contains(arn)
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Streams counted under `arn`.
    pub fn count(&self, arn: &str) -> u32 {
        self.counts.get(arn).copied().unwrap_or(0)
    }

    pub fn counts(&self) -> &HashMap<String, u32> {
        &self.counts
    }

    /// Counts one more stream under `arn` if the limit allows it; `false` (and nothing
    /// counted) when the key is full.
    pub fn take(&mut self, arn: &str) -> bool {
        if self.is_full(arn) {
            return false;
        }
        let count = self.counts.entry(arn.to_owned()).or_default();
        if *count + 1 > self.limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Counts a stream found under `arn`, whatever the limit: the service already let it on.
    pub fn add(&mut self, arn: &str) {
        *self.counts.entry(arn.to_owned()).or_default() += 1;
    }

    /// One stream fewer under `arn` (a key it never counted stays uncounted).
    pub fn free(&mut self, arn: &str) {
        if let Some(count) = self.counts.get_mut(arn) {
            *count = count.saturating_sub(1);
        }
    }

    /// Corrects the count for what observation found: a stream the counts did not include
    /// uses the key (`uses`), or one they included no longer does.
    pub fn observed(&mut self, arn: &str, uses: bool) {
        let count = self.counts.entry(arn.to_owned()).or_default();
        *count = if uses {
            *count + 1
        } else {
            count.saturating_sub(1)
        };
    }
}

/// A stream observed to count under a customer key (`uses`), or no longer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub key_arn: String,
    pub uses: bool,
}

/// Whether a stream whose latest observation is `status` with `key`, and whose key in force is
/// `in_force`, already counts under `target`.
pub fn counted_under(
    status: &EncStatus,
    key: Option<&KeyChoice>,
    in_force: Option<&KeyChoice>,
    target: &KeyChoice,
) -> bool {
    in_force == Some(target) || (*status == EncStatus::Enabling && key == Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KmsKeyArn;

    const K: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

    #[test]
    fn take_stops_at_the_limit_and_free_makes_room() {
        let mut room = KeyRoom::new(2, HashMap::from([(K.to_owned(), 1)]));
        assert!(room.take(K));
        assert!(!room.take(K), "a third stream does not fit a limit of 2");
        assert_eq!(room.count(K), 2);
        room.free(K);
        assert!(room.take(K));
        // A key found in use past the limit is counted as it is.
        room.add(K);
        assert_eq!(room.count(K), 3);
    }

    #[test]
    fn a_key_the_service_says_is_full_takes_no_one_whatever_the_count() {
        let mut room = KeyRoom::new(500, HashMap::from([(K.to_owned(), 3)]));
        room.mark_full(K);
        assert!(room.is_full(K));
        assert!(!room.take(K));
        room.free(K);
        assert!(
            !room.take(K),
            "a slot we saw freed does not overrule the service"
        );
    }

    #[test]
    fn freeing_a_key_never_counted_counts_nothing() {
        let mut room = KeyRoom::new(1, HashMap::new());
        room.free(K);
        assert_eq!(room.count(K), 0);
        assert!(room.counts().is_empty());
        room.observed(K, false);
        assert_eq!(room.count(K), 0);
        room.observed(K, true);
        assert_eq!(room.count(K), 1);
    }

    #[test]
    fn a_stream_counts_under_its_key_in_force_or_the_key_it_is_enabling_to() {
        let k = KeyChoice::Customer(KmsKeyArn::parse(K).unwrap());
        let aws = KeyChoice::AwsOwned;
        assert!(counted_under(&EncStatus::Enabled, Some(&k), Some(&k), &k));
        assert!(counted_under(
            &EncStatus::Enabling,
            Some(&k),
            Some(&aws),
            &k
        ));
        // A failed rekey towards k left the old key in force: not counted under k.
        assert!(!counted_under(
            &EncStatus::EnablingFailed,
            Some(&k),
            Some(&aws),
            &k
        ));
        assert!(!counted_under(&EncStatus::Disabled, None, None, &k));
    }
}
