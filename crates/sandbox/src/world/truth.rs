//! The ground truth: the counters the front door and the rules keep, and the [`Stats`]
//! document made from them and from every stream, settled as of `now`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::World;
use super::limits::settle_counted;
use super::stream::KeyRef;
use crate::stats::{FaultStats, LimitExceeded, Limits, Stats, StreamStats};
use crate::vocabulary::Millis;

/// What the world has counted so far.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) requests: BTreeMap<&'static str, u64>,
    pub(super) throttled: BTreeMap<&'static str, u64>,
    pub(super) limit_exceeded: LimitExceeded,
    pub(super) faults: FaultStats,
    /// Per operation: arrival times within the last second, and the most seen at once.
    pub(super) rate: HashMap<&'static str, (VecDeque<Millis>, u64)>,
}

impl World {
    /// The ground truth as of `now` (every stream settled first).
    pub fn stats(&mut self, now: Millis) -> Stats {
        self.settle_due(now);
        let counts = &mut self.cmk_counts;
        let longest = &mut self.longest_transition;
        let retirement = self.grant_retirement;
        for map in self.streams.values_mut() {
            map.retain(|_, s| settle_counted(s, now, counts, longest, retirement));
        }
        let mut regions: Vec<&String> = self.streams.keys().collect();
        regions.sort();
        let mut streams = Vec::new();
        for region in regions {
            for (name, s) in &self.streams[region] {
                streams.push(StreamStats {
                    account: self.account.clone(),
                    region: region.clone(),
                    name: name.clone(),
                    stream_type: s.stream_type.as_str().to_owned(),
                    status: s.enc_status.as_str().to_owned(),
                    stream_status: s.status.as_str().to_owned(),
                    key_type: s.shown.as_ref().map(|k| k.key_type().as_str().to_owned()),
                    key_arn: s.shown.as_ref().and_then(KeyRef::arn).map(str::to_owned),
                    key_in_force: s.in_force.as_ref().map(KeyRef::label),
                    failure: s.failure.as_ref().map(|f| f.kind.clone()),
                    start_tokens: s.start_tokens.clone(),
                    start_calls: s.start_calls,
                    stop_calls: s.stop_calls,
                    rejected_calls: s.rejected_calls,
                    calls_in_window: s.calls_in_window(now, self.window) as u32,
                });
            }
        }
        let c = &self.counters;
        let to_strings =
            |m: &BTreeMap<&'static str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Stats {
            account: self.account.clone(),
            now,
            limits: Limits {
                tps: self.tps,
                stream_budget: self.stream_budget,
                window_ms: self.window as u64,
                cmk_limit: self.cmk_limit,
                grant_retirement_ms: self.grant_retirement as u64,
                latency_ms: self.latency.as_millis() as u64,
                fault_rate: self.fault_rate,
            },
            requests: to_strings(&c.requests),
            throttled: to_strings(&c.throttled),
            limit_exceeded: c.limit_exceeded.clone(),
            faults: c.faults.clone(),
            max_rate: c
                .rate
                .iter()
                .map(|(op, (_, max))| (op.to_string(), *max))
                .collect(),
            max_transition_ms: self.longest_transition as u64,
            cmk_streams: self
                .cmk_counts
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            streams,
        }
    }
}
