//! The ground truth: the counters the front door and the rules keep, and the [`Stats`]
//! document made from them, from every account and from every stream, settled as of `now`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::World;
use super::accounts::Account;
use super::limits::settle_counted;
use super::stream::{KeyRef, Stream};
use crate::stats::{
    AccountStats, FaultStats, LimitExceeded, Limits, MinuteRecords, RecordStats, Stats, StreamCall,
    StreamStats,
};
use crate::vocabulary::{Millis, STREAM_OPERATIONS};

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
        self.run_all_producers(now);
        self.settle_due(now);
        let counts = &mut self.cmk_counts;
        let longest = &mut self.longest_transition;
        let retirement = self.grant_retirement;
        for map in self.streams.values_mut().flat_map(|r| r.values_mut()) {
            map.retain(|_, s| settle_counted(s, now, counts, longest, retirement));
        }
        let mut streams = Vec::new();
        let mut owners: Vec<&String> = self.streams.keys().collect();
        owners.sort();
        for account in owners {
            let mut regions: Vec<&String> = self.streams[account].keys().collect();
            regions.sort();
            for region in regions {
                for (name, s) in &self.streams[account][region] {
                    streams.push(self.stream_stats(account, region, name, s, now));
                }
            }
        }
        let accounts = self
            .accounts()
            .into_iter()
            .map(|a| self.account_stats(a))
            .collect();
        let c = &self.counters;
        let to_strings =
            |m: &BTreeMap<&'static str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Stats {
            account: self.account.clone(),
            now,
            limits: Limits {
                tps: self.tps,
                iam_tps: self.iam_tps,
                stream_budget: self.stream_budget,
                window_ms: self.window as u64,
                cmk_limit: self.cmk_limit,
                grant_retirement_ms: self.grant_retirement as u64,
                latency_ms: self.latency.as_millis() as u64,
                fault_rate: self.fault_rate,
                metric_period_ms: self.metric_period as u64,
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
            accounts,
        }
    }

    fn stream_stats(
        &self,
        account: &str,
        region: &str,
        name: &str,
        s: &Stream,
        now: Millis,
    ) -> StreamStats {
        StreamStats {
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
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
            requests: STREAM_OPERATIONS
                .iter()
                .zip(s.requests)
                .filter(|(_, n)| *n > 0)
                .map(|(op, n)| (op.to_string(), u64::from(n)))
                .collect(),
            records: s.records.as_deref().map(|log| RecordStats {
                accepted: log.accepted,
                refused: log.refused,
                bytes: log.bytes,
                per_minute: log
                    .minutes
                    .iter()
                    .map(|m| MinuteRecords {
                        minute: m.minute,
                        accepted: m.accepted,
                        refused: m.refused,
                        bytes: m.bytes,
                    })
                    .collect(),
            }),
        }
    }

    fn account_stats(&self, a: &Account) -> AccountStats {
        let c = &a.counters;
        let to_strings =
            |m: &BTreeMap<&'static str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        fn count<T>(regions: Option<&HashMap<String, BTreeMap<String, T>>>) -> u64 {
            regions.map_or(0, |r| r.values().map(BTreeMap::len).sum::<usize>()) as u64
        }
        AccountStats {
            id: a.id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            status: a.status.as_str().to_owned(),
            joined_method: a.joined_method.as_str().to_owned(),
            member: a.member,
            roles: a.iam.roles.keys().cloned().collect(),
            streams: count(self.streams.get(&a.id)),
            keys: count(self.keys.get(&a.id)),
            requests: to_strings(&c.requests),
            throttled: to_strings(&c.throttled),
            max_rate: c
                .rate
                .iter()
                .map(|(op, (_, max))| (op.to_string(), *max))
                .collect(),
            expired: c.expired,
            sessions_issued: c.sessions_issued,
            assume_role_denied: c.assume_role_denied,
            stream_not_found: c
                .not_found
                .iter()
                .map(|((region, stream, op), calls)| StreamCall {
                    region: region.clone(),
                    stream: stream.clone(),
                    operation: op.to_string(),
                    calls: *calls,
                })
                .collect(),
        }
    }
}
