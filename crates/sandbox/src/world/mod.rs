//! The sandbox's world and its rules: streams, KMS keys, lazy encryption transitions, the
//! per-stream Start/Stop budget, the per-key stream limit, the per-operation throttle, injected
//! faults and the ground-truth counters. Pure: every method takes `now`, nothing here does I/O,
//! so each rule is unit-tested with a hand-moved clock (`world/tests.rs`).
//!
//! Transitions are lazy: no timers. A transition records when it is due and joins a queue of
//! due times; every operation first settles what is due by its `now` (so per-key counts are
//! exact when a Start is checked), and a stream read or written settles itself first.
//!
//! By concept: `stream` one stream and its transitions; `streams` Create,
//! Delete, Describe, List; `encryption` Start and Stop; `keys` the KMS keys and what a Start
//! with one ends as; `limits` the stream budget and the key limit; `front_door` the throttle
//! and the faults; `truth` the ground truth ([`crate::stats`]).

mod config;
mod encryption;
mod front_door;
mod keys;
mod limits;
mod stream;
mod streams;
mod truth;

#[cfg(test)]
mod documented_tests;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, LogNormal};

pub use config::SandboxConfig;
pub use front_door::{Admission, FaultKind};
pub use keys::InjectedFailure;
pub use keys::Key;
pub use stream::{Failure, KeyRef, Stream};
pub use streams::NewStream;

use self::front_door::Throttle;
use self::limits::{add_refs, settle_counted};
use self::truth::Counters;
use crate::seed::{Seed, SeedError, SeedKeyRef, failure_place};
use crate::vocabulary::{
    ApiError, EncStatus, Millis, StreamStatus, StreamType, codes, firehose_arn, kms_key_arn,
};

/// Log-normal shape: p99 / median = exp(2.326 σ) = 6.
const SIGMA: f64 = 1.791_759_469_228_055 / 2.326_347_874_040_841; // ln 6 / z(0.99)
/// Draws are capped at this multiple of the median (about the 99.8th percentile) so one
/// transition cannot stall a test for minutes.
const LATENCY_CAP: f64 = 10.0;

/// The sandbox's whole state.
pub struct World {
    account: String,
    latency: Duration,
    stream_budget: u32,
    window: Millis,
    cmk_limit: u32,
    grant_retirement: Millis,
    fault_rate: f64,
    tps: u32,
    streams: HashMap<String, BTreeMap<String, Stream>>,
    /// The sandbox account's keys, per region, by id.
    keys: HashMap<String, BTreeMap<String, Key>>,
    /// Keys of other accounts (seeded), by ARN.
    foreign_keys: HashMap<String, Key>,
    /// Access keys that expire, and when.
    expiring: HashMap<String, Millis>,
    /// Streams counting toward each customer key (see `Stream::cmk_refs`), kept up to date
    /// on every change so a Start costs no scan.
    cmk_counts: HashMap<String, u32>,
    /// The longest ENABLING → ENABLED | ENABLING_FAILED or DISABLING → DISABLED transition
    /// completed so far (call to end), in milliseconds.
    longest_transition: Millis,
    /// (due time, region, name) of every transition begun; entries may be stale (the stream
    /// was deleted or settled by a read), settling checks.
    due: BinaryHeap<Reverse<(Millis, String, String)>>,
    throttle: Option<Throttle>,
    latency_rng: StdRng,
    fault_rng: StdRng,
    id_rng: StdRng,
    counters: Counters,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("account", &self.account)
            .field(
                "streams",
                &self.streams.values().map(BTreeMap::len).sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl World {
    /// A world seeded with `seed`, which must pass [`Seed::check`].
    pub fn new(config: &SandboxConfig, seed: &Seed, now: Millis) -> Result<World, SeedError> {
        seed.check(&config.account, &config.region)?;
        let mut world = World {
            account: config.account.clone(),
            latency: config.latency,
            stream_budget: config.stream_budget,
            window: config.window.as_millis() as Millis,
            cmk_limit: config.cmk_limit,
            grant_retirement: config.grant_retirement.as_millis() as Millis,
            fault_rate: config.fault_rate,
            tps: config.tps,
            streams: HashMap::new(),
            keys: HashMap::new(),
            foreign_keys: HashMap::new(),
            expiring: HashMap::new(),
            cmk_counts: HashMap::new(),
            longest_transition: 0,
            due: BinaryHeap::new(),
            throttle: Throttle::new(config.tps, now),
            latency_rng: StdRng::seed_from_u64(config.seed),
            fault_rng: StdRng::seed_from_u64(config.seed ^ 0x5eed_fa17),
            id_rng: StdRng::seed_from_u64(config.seed ^ 0x0000_1d5e),
            counters: Counters::default(),
        };
        for k in &seed.keys {
            world.seed_key(k, &config.region, now);
        }
        let foreign = seed.foreign_keys(&config.account, &config.region);
        for s in &seed.streams {
            let region = s.region.clone().unwrap_or_else(|| config.region.clone());
            let stream_type = StreamType::parse(&s.stream_type).expect("checked");
            let status = StreamStatus::parse(&s.status).expect("checked");
            let mut stream = Stream::new(stream_type, status, now);
            stream.source_arn = s.source_arn.clone();
            if let Some(enc) = &s.encryption {
                let key_ref = |k: SeedKeyRef| match k {
                    SeedKeyRef::AwsOwned => KeyRef::AwsOwned,
                    SeedKeyRef::Customer(arn) => KeyRef::Customer(arn.to_string()),
                };
                stream.enc_status = enc.status().expect("checked");
                stream.shown = Some(key_ref(
                    enc.key(&config.account, &foreign).expect("checked"),
                ));
                stream.in_force = enc
                    .in_force(&config.account, &foreign)
                    .expect("checked")
                    .map(key_ref);
                stream.failure = world.seeded_failure(enc, stream.enc_status);
                if stream.enc_status == EncStatus::Disabling {
                    let ready_at = now + world.draw_latency();
                    stream.pending = Some(stream::Pending::Disable {
                        began_at: now,
                        ready_at,
                    });
                    world.schedule(ready_at, &region, &s.name);
                    world.schedule(ready_at + world.grant_retirement, &region, &s.name);
                }
                add_refs(&mut world.cmk_counts, stream.cmk_refs(), 1);
            }
            world
                .streams
                .entry(region)
                .or_default()
                .insert(s.name.clone(), stream);
        }
        for c in &seed.credentials {
            let after = c.expires_after().expect("checked");
            world
                .expiring
                .insert(c.access_key.clone(), now + after.as_millis() as Millis);
        }
        Ok(world)
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// `DeliveryStreamARN` of a stream of this world.
    pub fn stream_arn(&self, region: &str, name: &str) -> String {
        firehose_arn(region, &self.account, name)
    }

    fn key_arn(&self, region: &str, id: &str) -> String {
        kms_key_arn(region, &self.account, id)
    }

    /// The `FailureDescription` of a seeded ENABLING_FAILED or DISABLING_FAILED stream.
    fn seeded_failure(
        &self,
        enc: &crate::seed::SeedEncryption,
        status: EncStatus,
    ) -> Option<Failure> {
        let default = match status {
            EncStatus::EnablingFailed => "CREATE_KMS_GRANT_FAILED",
            EncStatus::DisablingFailed => "RETIRE_KMS_GRANT_FAILED",
            _ => return None,
        };
        let (kind, place) = match &enc.failure {
            Some(f) => (
                f.failure_type.clone(),
                failure_place(f.description.as_deref()).expect("checked"),
            ),
            None => (
                default.to_owned(),
                crate::vocabulary::FailurePlace::Encryption,
            ),
        };
        let key = enc.key_arn.as_deref().unwrap_or("the AWS owned CMK");
        let details = match status {
            EncStatus::EnablingFailed => {
                format!("Firehose could not enable encryption with {key}: {kind} (sandbox seed).")
            }
            _ => {
                format!("Firehose could not disable encryption with {key}: {kind} (sandbox seed).")
            }
        };
        Some(Failure {
            kind,
            details,
            place,
        })
    }

    /// Whether requests signed with `access_key` are refused as expired at `now`.
    pub fn credential_expired(&self, access_key: &str, now: Millis) -> bool {
        self.expiring.get(access_key).is_some_and(|&at| now >= at)
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

    /// Settles the stream; `false` when it does not exist (any more).
    fn touch(&mut self, region: &str, name: &str, now: Millis) -> bool {
        let Some(map) = self.streams.get_mut(region) else {
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
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            let Some(Reverse((_, region, name))) = self.due.pop() else {
                break;
            };
            self.touch(&region, &name, now);
        }
    }

    fn schedule(&mut self, at: Millis, region: &str, name: &str) {
        self.due
            .push(Reverse((at, region.to_owned(), name.to_owned())));
    }

    /// A stream as it stands (unsettled: call an operation first).
    pub fn stream(&self, region: &str, name: &str) -> Option<&Stream> {
        self.streams.get(region)?.get(name)
    }

    fn stream_mut(&mut self, region: &str, name: &str) -> Option<&mut Stream> {
        self.streams.get_mut(region)?.get_mut(name)
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::new(
            codes::RESOURCE_NOT_FOUND,
            format!("Firehose {name} under account {} not found.", self.account),
        )
    }
}
