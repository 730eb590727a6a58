//! The two limits a Start or Stop can hit, besides the throttle:
//!
//! - the **stream budget**: `stream_budget` accepted Start+Stop calls per stream in a rolling
//!   `window`. A call leaves the window exactly `window` after it arrived; refused calls do not
//!   count.
//! - the **key limit**: `cmk_limit` streams per customer-managed key. A stream counts toward
//!   its key in force and, while ENABLING, toward its target, so a rekey or Stop frees a slot
//!   only once it has completed, and a failed rekey frees nothing; and toward a key it stopped
//!   using until that key's grant is retired (`grant_retirement` after the rekey or Stop
//!   completed: AWS only schedules the retirement). The counts are kept up to date on every
//!   change, so a Start costs no scan.

use std::collections::HashMap;
use std::time::Duration;

use super::World;
use super::stream::{KeyRef, Pending, Stream};
use crate::vocabulary::{ApiError, Millis, codes};

impl Stream {
    /// The customer keys this stream counts toward, each once: its key in force, while
    /// ENABLING its target, and the keys whose grants are still to be retired. During a rekey
    /// it counts toward both keys (the old grant lives until the new key is in force, and then
    /// until it is retired), so a rekey frees a slot only once it has succeeded.
    pub(super) fn cmk_refs(&self) -> Vec<&str> {
        let mut refs: Vec<&str> = Vec::with_capacity(2);
        let in_force = self.in_force.as_ref().and_then(KeyRef::arn);
        let target = match &self.pending {
            Some(Pending::Enable { target, .. }) => target.arn(),
            _ => None,
        };
        let retiring = self.retiring.iter().map(|(arn, _)| arn.as_str());
        for arn in in_force.into_iter().chain(target).chain(retiring) {
            if !refs.contains(&arn) {
                refs.push(arn);
            }
        }
        refs
    }

    fn counts_toward(&self, arn: &str) -> bool {
        self.cmk_refs().contains(&arn)
    }

    /// Accepted calls in the window ending at `now`.
    pub(super) fn calls_in_window(&self, now: Millis, window: Millis) -> usize {
        self.calls.iter().filter(|&&t| t + window > now).count()
    }

    /// Forgets the calls that have left the window ending at `now`.
    pub(super) fn prune_calls(&mut self, now: Millis, window: Millis) {
        while self.calls.front().is_some_and(|&t| t + window <= now) {
            self.calls.pop_front();
        }
    }
}

/// The refusal of a call past the stream budget.
pub(super) fn budget_spent(name: &str, budget: usize, window: Millis) -> ApiError {
    ApiError::new(
        codes::LIMIT_EXCEEDED,
        format!(
            "Firehose {name} has reached the limit of {budget} StartDeliveryStreamEncryption and StopDeliveryStreamEncryption calls per Firehose stream per {}; try again when the oldest leaves the window.",
            humantime::format_duration(Duration::from_millis(window as u64))
        ),
    )
}

/// The refusal of a Start (or Create) past the key limit.
fn key_full(arn: &str, used: u32, limit: u32) -> ApiError {
    ApiError::new(
        codes::LIMIT_EXCEEDED,
        format!(
            "You can use a CMK of type CUSTOMER_MANAGED_CMK to encrypt up to {limit} Firehose streams; {arn} already has grants for {used} (a grant scheduled for retirement counts until it is retired)."
        ),
    )
}

/// Adds (`delta` > 0) or removes a stream's key references to or from the per-key counts.
pub(super) fn add_refs(counts: &mut HashMap<String, u32>, refs: Vec<&str>, delta: i32) {
    for arn in refs {
        if delta > 0 {
            *counts.entry(arn.to_owned()).or_default() += 1;
        } else if let Some(n) = counts.get_mut(arn) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(arn);
            }
        }
    }
}

/// Settles a stream and keeps the key counts and the longest completed transition right;
/// `false` when it is gone.
pub(super) fn settle_counted(
    stream: &mut Stream,
    now: Millis,
    counts: &mut HashMap<String, u32>,
    longest: &mut Millis,
    grant_retirement: Millis,
) -> bool {
    if !stream.is_due(now) {
        return true;
    }
    add_refs(counts, stream.cmk_refs(), -1);
    let alive = stream.settle(now, longest, grant_retirement);
    if alive {
        add_refs(counts, stream.cmk_refs(), 1);
    }
    alive
}

impl World {
    /// Refuses when `arn` is at its stream limit and `stream` (if any) does not already count
    /// toward it.
    pub(super) fn check_cmk_room(
        &mut self,
        arn: &str,
        stream: Option<(&str, &str, &str)>,
    ) -> Result<(), ApiError> {
        let already = stream
            .and_then(|(account, region, name)| self.stream(account, region, name))
            .is_some_and(|s| s.counts_toward(arn));
        let used = self.cmk_counts.get(arn).copied().unwrap_or(0);
        if !already && used >= self.cmk_limit {
            self.counters.limit_exceeded.cmk_limit += 1;
            return Err(key_full(arn, used, self.cmk_limit));
        }
        Ok(())
    }
}
