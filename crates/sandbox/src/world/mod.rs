//! The sandbox's world and its rules: accounts (the sandbox's own, the management account of
//! its organization, and member accounts) with their roles, streams and KMS keys; callers
//! (each request acts in the account of its credentials); lazy encryption transitions, the
//! per-stream Start/Stop budget, the per-key stream limit, the per-operation throttle of each
//! account and Region, injected faults and the ground-truth counters. Pure: every method takes
//! `now`, nothing here does I/O, so each rule is unit-tested with a hand-moved clock
//! (`world/tests.rs`, `world/documented_tests.rs`, `world/account_tests.rs`).
//!
//! Transitions are lazy: no timers. A transition records when it is due and joins a queue of
//! due times; every operation first settles what is due by its `now` (so per-key counts are
//! exact when a Start is checked), and a stream read or written settles itself first.
//!
//! By concept: `seeding` the world a seed describes (`seeding_iam` its IAM); `accounts` the
//! accounts and their counters; `iam` each account's users, groups, roles and policies, what
//! they allow and the IAM operations; `identity` callers, AssumeRole and the credentials it
//! issues; `organization` ListAccounts; `stream` one stream and its transitions; `streams`
//! Create, Delete, Describe, List; `encryption` Start and Stop; `records` PutRecord and
//! PutRecordBatch; `keys` the KMS keys and what a Start with one ends as; `key_policy` key
//! policies and who may use a key; `limits` the stream budget and the key limit; `front_door`
//! expired credentials, the throttles and the faults; `truth` the ground truth
//! ([`crate::stats`]); `producers` the synthetic producers (lazy, integrated over time);
//! `metrics` CloudWatch's datapoints and statistics, `cloudwatch` PutMetricData and
//! GetMetricData, `alarms` the metric alarms; `kinesis` the Kinesis data streams Firehose
//! streams read from; `tags` streams' tags and the Tagging API's GetResources.

mod accounts;
mod alarms;
mod cloudwatch;
mod config;
mod encryption;
mod front_door;
pub mod iam;
mod identity;
mod key_policy;
mod keys;
mod kinesis;
mod limits;
pub mod metrics;
mod organization;
mod producers;
mod records;
mod seeding;
mod seeding_iam;
mod stream;
mod streams;
mod synthetic;
mod tags;
mod truth;

#[cfg(test)]
mod account_tests;
#[cfg(test)]
mod alarm_tests;
#[cfg(test)]
mod cloudwatch_tests;
#[cfg(test)]
mod documented_tests;
#[cfg(test)]
mod iam_tests;
#[cfg(test)]
mod records_tests;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal};

pub use accounts::Account;
pub use alarms::{Alarm, AlarmConfig, AlarmFilter, AlarmPage, STATE_VALUES};
pub use cloudwatch::{
    DataQuery, Datum, MetricDataPage, MetricDataRequest, MetricDataResult, StatQuery,
};
pub use config::SandboxConfig;
pub use front_door::{Admission, FaultKind, Quota};
pub use identity::{AssumeRoleRequest, Caller, Issued, Session, UserRef};
pub use key_policy::DEFAULT_POLICY_NAME;
pub use keys::InjectedFailure;
pub use keys::Key;
pub use kinesis::{KINESIS_MANAGED_KEY, KinesisName, KinesisStream, kinesis_arn};
pub use organization::AccountPage;
pub use records::{BATCH_LIMIT, KMS_REFUSED, MinuteCount, PutOutcome, RecordLog, Tally};
pub use stream::{Failure, KeyRef, Stream};
pub use streams::NewStream;
pub use synthetic::{SYNTHETIC_SESSION, Synthetic};
pub use tags::{MAX_TAGS, ResourceQuery, TagFilter, TaggedResource};

use self::front_door::Throttle;
use self::identity::Credential;
use self::limits::settle_counted;
use self::truth::Counters;
use crate::vocabulary::{ApiError, Millis, codes, firehose_arn};

/// Log-normal shape: p99 / median = exp(2.326 σ) = 6.
const SIGMA: f64 = 1.791_759_469_228_055 / 2.326_347_874_040_841; // ln 6 / z(0.99)
/// Draws are capped at this multiple of the median (about the 99.8th percentile) so one
/// transition cannot stall a test for minutes.
const LATENCY_CAP: f64 = 10.0;

/// Streams of one account: per Region, by name.
type Regions<T> = HashMap<String, BTreeMap<String, T>>;

/// The sandbox's whole state.
pub struct World {
    /// The sandbox's own account (`--account`): the management account of its organization.
    account: String,
    latency: Duration,
    stream_budget: u32,
    window: Millis,
    cmk_limit: u32,
    grant_retirement: Millis,
    fault_rate: f64,
    tps: u32,
    /// IAM requests per second per account (0: unlimited).
    iam_tps: u32,
    /// Streams per account, per Region, by name.
    streams: HashMap<String, Regions<Stream>>,
    /// KMS keys per owning account, per Region, by id.
    keys: HashMap<String, Regions<Key>>,
    /// The sandbox's account and the member accounts of its organization, by id.
    accounts: BTreeMap<String, Account>,
    /// The access keys the sandbox knows: seeded ones that expire and the ones AssumeRole
    /// issued.
    credentials: HashMap<String, Credential>,
    /// The organization's id (`o-` and 10 characters), when it has member accounts.
    organization_id: String,
    /// Streams counting toward each customer key (see `Stream::cmk_refs`), kept up to date
    /// on every change so a Start costs no scan.
    cmk_counts: HashMap<String, u32>,
    /// The longest ENABLING → ENABLED | ENABLING_FAILED or DISABLING → DISABLED transition
    /// completed so far (call to end), in milliseconds.
    longest_transition: Millis,
    /// (due time, account, region, name) of every transition begun; entries may be stale (the
    /// stream was deleted or settled by a read), settling checks.
    due: BinaryHeap<Reverse<(Millis, String, String, String)>>,
    throttle: Option<Throttle>,
    /// IAM's throttle: one bucket per account.
    iam_throttle: Option<Throttle>,
    /// Records accepted so far (they number the record ids).
    records_put: u64,
    /// The granularity of CloudWatch's datapoints (the world file's `metric_period`).
    metric_period: Millis,
    /// CloudWatch of each account, per Region: custom metrics and alarms.
    cloudwatch: HashMap<(String, String), cloudwatch::CloudWatch>,
    /// Kinesis data streams of each account, per Region, by name.
    kinesis: HashMap<(String, String), BTreeMap<String, kinesis::KinesisStream>>,
    latency_rng: StdRng,
    fault_rng: StdRng,
    id_rng: StdRng,
    counters: Counters,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("account", &self.account)
            .field("accounts", &self.accounts.len())
            .field(
                "streams",
                &self
                    .streams
                    .values()
                    .flat_map(HashMap::values)
                    .map(BTreeMap::len)
                    .sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl World {
    /// The sandbox's own account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// `DeliveryStreamARN` of stream `name` of `account` in `region`.
    pub fn stream_arn(&self, account: &str, region: &str, name: &str) -> String {
        firehose_arn(region, account, name)
    }

    /// Draws one transition time: log-normal, median `latency`, p99 ≈ 6× median.
    fn draw_latency(&mut self) -> Millis {
        let median = self.latency.as_secs_f64() * 1000.0;
        if median <= 0.0 {
            return 0;
        }
        let dist = LogNormal::new(median.ln(), SIGMA).expect("finite parameters");
        let ms = dist.sample(&mut self.latency_rng).min(median * LATENCY_CAP);
        ms.round() as Millis
    }

    /// Settles the stream (its synthetic producers brought up to `now` first); `false` when it
    /// does not exist (any more).
    fn touch(&mut self, account: &str, region: &str, name: &str, now: Millis) -> bool {
        self.run_producers(account, region, name, now);
        let Some(map) = self
            .streams
            .get_mut(account)
            .and_then(|regions| regions.get_mut(region))
        else {
            return false;
        };
        let Some(stream) = map.get_mut(name) else {
            return false;
        };
        if settle_counted(
            stream,
            now,
            &mut self.cmk_counts,
            &mut self.longest_transition,
            self.grant_retirement,
        ) {
            true
        } else {
            map.remove(name);
            false
        }
    }

    /// Settles every transition due by `now`.
    fn settle_due(&mut self, now: Millis) {
        while self
            .due
            .peek()
            .is_some_and(|Reverse((at, _, _, _))| *at <= now)
        {
            let Some(Reverse((_, account, region, name))) = self.due.pop() else {
                break;
            };
            self.touch(&account, &region, &name, now);
        }
    }

    fn schedule(&mut self, at: Millis, account: &str, region: &str, name: &str) {
        self.due.push(Reverse((
            at,
            account.to_owned(),
            region.to_owned(),
            name.to_owned(),
        )));
    }

    /// A stream as it stands (unsettled: call an operation first).
    pub fn stream(&self, account: &str, region: &str, name: &str) -> Option<&Stream> {
        self.streams.get(account)?.get(region)?.get(name)
    }

    fn stream_mut(&mut self, account: &str, region: &str, name: &str) -> Option<&mut Stream> {
        self.streams
            .get_mut(account)?
            .get_mut(region)?
            .get_mut(name)
    }

    /// Where a new stream of `account` in `region` goes.
    fn region_streams(&mut self, account: &str, region: &str) -> &mut BTreeMap<String, Stream> {
        self.streams
            .entry(account.to_owned())
            .or_default()
            .entry(region.to_owned())
            .or_default()
    }

    fn not_found(&self, account: &str, name: &str) -> ApiError {
        ApiError::new(
            codes::RESOURCE_NOT_FOUND,
            format!("Firehose {name} under account {account} not found."),
        )
    }
}
