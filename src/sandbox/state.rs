//! The sandbox's world and its rules: streams, KMS keys, lazy encryption transitions, the
//! per-stream Start/Stop budget, the per-key stream limit, the per-operation throttle and the
//! ground-truth counters. Pure: every method takes `now`, nothing here does I/O, so each rule is
//! unit-tested with a hand-moved clock.
//!
//! Transitions are lazy: no timers. A transition records when it is due and joins a queue of
//! due times; every operation first settles what is due by its `now` (so per-key counts are
//! exact when a Start is checked), and a stream read or written settles itself first.
//!
//! Encryption life cycle of a stream:
//! DISABLED ─Start─► ENABLING ─(latency)─► ENABLED | ENABLING_FAILED ─Stop─► DISABLING ─► DISABLED.
//! A failed Start leaves the previous key in force (`in_force`), separate from the key shown.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::num::NonZeroU32;
use std::ops::Bound;
use std::time::Duration;

use governor::clock::FakeRelativeClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use serde_json::Value;

use super::SandboxConfig;
use super::seed::{Seed, SeedError};
use super::stats::{FaultRecord, FaultStats, LimitExceeded, Limits, Stats, StreamStats};
use crate::clock::EpochMillis as Millis;
use crate::model::{KeyType, KmsKeyArn};

/// Log-normal shape: p99 / median = exp(2.326 σ) = 6.
const SIGMA: f64 = 1.791_759_469_228_055 / 2.326_347_874_040_841; // ln 6 / z(0.99)
/// Draws are capped at this multiple of the median (about the 99.8th percentile) so one
/// transition cannot stall a test for minutes.
const LATENCY_CAP: f64 = 10.0;
/// Fault records kept in the stats log.
const FAULT_LOG_CAP: usize = 10_000;

pub const INVALID_ARGUMENT: &str = "InvalidArgumentException";
pub const RESOURCE_IN_USE: &str = "ResourceInUseException";
pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
pub const THROTTLING: &str = "ThrottlingException";
pub const INVALID_KMS_RESOURCE: &str = "InvalidKMSResourceException";
pub const UNKNOWN_OPERATION: &str = "UnknownOperationException";
pub const SERIALIZATION: &str = "SerializationException";
pub const INTERNAL_FAILURE: &str = "InternalFailure";
pub const KMS_NOT_FOUND: &str = "NotFoundException";
pub const KMS_VALIDATION: &str = "ValidationException";
pub const KMS_INVALID_STATE: &str = "KMSInvalidStateException";

/// An error answer: HTTP 400 (500 for `InternalFailure`) with `__type` = `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> u16 {
        if self.code == INTERNAL_FAILURE {
            500
        } else {
            400
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamType {
    DirectPut,
    KinesisStreamAsSource,
    MskAsSource,
    DatabaseAsSource,
}

impl StreamType {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::DirectPut => "DirectPut",
            StreamType::KinesisStreamAsSource => "KinesisStreamAsSource",
            StreamType::MskAsSource => "MSKAsSource",
            StreamType::DatabaseAsSource => "DatabaseAsSource",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            StreamType::DirectPut,
            StreamType::KinesisStreamAsSource,
            StreamType::MskAsSource,
            StreamType::DatabaseAsSource,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// `DeliveryStreamStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    Creating,
    Active,
    Deleting,
    CreatingFailed,
    DeletingFailed,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Creating => "CREATING",
            StreamStatus::Active => "ACTIVE",
            StreamStatus::Deleting => "DELETING",
            StreamStatus::CreatingFailed => "CREATING_FAILED",
            StreamStatus::DeletingFailed => "DELETING_FAILED",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            StreamStatus::Creating,
            StreamStatus::Active,
            StreamStatus::Deleting,
            StreamStatus::CreatingFailed,
            StreamStatus::DeletingFailed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// `DeliveryStreamEncryptionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncStatus {
    Enabled,
    Enabling,
    EnablingFailed,
    Disabled,
    Disabling,
}

impl EncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EncStatus::Enabled => "ENABLED",
            EncStatus::Enabling => "ENABLING",
            EncStatus::EnablingFailed => "ENABLING_FAILED",
            EncStatus::Disabled => "DISABLED",
            EncStatus::Disabling => "DISABLING",
        }
    }
}

/// A key a stream is (or is to be) encrypted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    AwsOwned,
    Customer(String),
}

impl KeyRef {
    pub fn key_type(&self) -> KeyType {
        match self {
            KeyRef::AwsOwned => KeyType::AwsOwned,
            KeyRef::Customer(_) => KeyType::CustomerManaged,
        }
    }

    pub fn arn(&self) -> Option<&str> {
        match self {
            KeyRef::AwsOwned => None,
            KeyRef::Customer(arn) => Some(arn),
        }
    }

    /// As ground truth shows it: the ARN, or `AWS_OWNED_CMK`.
    fn label(&self) -> String {
        self.arn().unwrap_or(KeyType::AWS_OWNED).to_owned()
    }
}

/// `FailureDescription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: String,
    pub details: String,
}

#[derive(Debug, Clone)]
enum Pending {
    /// ENABLING towards `target` since `began_at`; the outcome was decided when Start was
    /// accepted.
    Enable {
        target: KeyRef,
        outcome: Result<(), Failure>,
        began_at: Millis,
        ready_at: Millis,
    },
    Disable {
        began_at: Millis,
        ready_at: Millis,
    },
}

impl Pending {
    fn ready_at(&self) -> Millis {
        match self {
            Pending::Enable { ready_at, .. } | Pending::Disable { ready_at, .. } => *ready_at,
        }
    }

    /// How long the transition takes from the call that began it to its end.
    fn duration(&self) -> Millis {
        match self {
            Pending::Enable {
                began_at, ready_at, ..
            }
            | Pending::Disable { began_at, ready_at } => ready_at - began_at,
        }
    }
}

/// One delivery stream.
#[derive(Debug)]
pub struct Stream {
    pub stream_type: StreamType,
    pub status: StreamStatus,
    /// When CREATING becomes ACTIVE, or DELETING makes the stream disappear.
    status_ready_at: Option<Millis>,
    pub enc_status: EncStatus,
    /// The encryption configuration Describe shows (the key last asked for).
    pub shown: Option<KeyRef>,
    /// The key actually protecting the data.
    pub in_force: Option<KeyRef>,
    pub failure: Option<Failure>,
    pending: Option<Pending>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Accepted Start/Stop calls, oldest first, pruned to the window.
    calls: VecDeque<Millis>,
    start_calls: u64,
    stop_calls: u64,
    rejected_calls: u64,
    /// `Source` of Describe, echoed from Create; `None` for DirectPut.
    pub source: Option<Value>,
    /// `Destinations` of Describe, echoed from Create; `None` = the default S3 destination.
    pub destinations: Option<Value>,
}

impl Stream {
    fn new(stream_type: StreamType, status: StreamStatus, now: Millis) -> Self {
        Stream {
            stream_type,
            status,
            status_ready_at: None,
            enc_status: EncStatus::Disabled,
            shown: None,
            in_force: None,
            failure: None,
            pending: None,
            created_at: now,
            updated_at: now,
            calls: VecDeque::new(),
            start_calls: 0,
            stop_calls: 0,
            rejected_calls: 0,
            source: None,
            destinations: None,
        }
    }

    /// Applies every transition due by `now`; `false` when the stream is gone (deleted).
    /// `longest` is raised to the duration of an encryption transition this completes.
    fn settle(&mut self, now: Millis, longest: &mut Millis) -> bool {
        if let Some(at) = self.status_ready_at
            && now >= at
        {
            self.status_ready_at = None;
            match self.status {
                StreamStatus::Creating => self.status = StreamStatus::Active,
                StreamStatus::Deleting => return false,
                _ => {}
            }
        }
        if let Some(took) = self
            .pending
            .as_ref()
            .filter(|p| now >= p.ready_at())
            .map(Pending::duration)
        {
            *longest = (*longest).max(took);
            match self.pending.take() {
                Some(Pending::Enable {
                    target,
                    outcome: Ok(()),
                    ready_at,
                    ..
                }) => {
                    self.enc_status = EncStatus::Enabled;
                    self.in_force = Some(target);
                    self.failure = None;
                    self.updated_at = ready_at;
                }
                Some(Pending::Enable {
                    outcome: Err(failure),
                    ready_at,
                    ..
                }) => {
                    self.enc_status = EncStatus::EnablingFailed;
                    self.failure = Some(failure);
                    self.updated_at = ready_at;
                }
                Some(Pending::Disable { ready_at, .. }) => {
                    self.enc_status = EncStatus::Disabled;
                    self.in_force = None;
                    self.shown = None;
                    self.failure = None;
                    self.updated_at = ready_at;
                }
                None => {}
            }
        }
        true
    }

    /// The customer keys this stream counts toward: its key in force and, while ENABLING, its
    /// target. During a rekey it counts toward both (the old grant lives until the new key is
    /// in force), so a rekey frees a slot only once it has succeeded.
    fn cmk_refs(&self) -> [Option<&str>; 2] {
        let in_force = self.in_force.as_ref().and_then(KeyRef::arn);
        let target = match &self.pending {
            Some(Pending::Enable { target, .. }) => target.arn().filter(|t| Some(*t) != in_force),
            _ => None,
        };
        [in_force, target]
    }

    fn counts_toward(&self, arn: &str) -> bool {
        self.cmk_refs().contains(&Some(arn))
    }

    fn calls_in_window(&self, now: Millis, window: Millis) -> usize {
        self.calls.iter().filter(|&&t| t + window > now).count()
    }

    fn prune_calls(&mut self, now: Millis, window: Millis) {
        while self.calls.front().is_some_and(|&t| t + window <= now) {
            self.calls.pop_front();
        }
    }
}

/// A KMS key.
#[derive(Debug)]
pub struct Key {
    pub id: String,
    pub arn: String,
    pub state: String,
    pub spec: String,
    pub usage: String,
    pub description: String,
    pub created_at: Millis,
    /// Injected failure: its type and how many more Starts it fails (`None` = all).
    failure: Option<(String, Option<u32>)>,
}

/// How the front door treats a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Proceed,
    Throttled,
    Fault { kind: FaultKind, apply: bool },
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

/// What CreateDeliveryStream asks for, validated in form.
#[derive(Debug, Clone)]
pub struct NewStream {
    pub stream_type: StreamType,
    /// SSE from the start (DirectPut only).
    pub encryption: Option<KeyRef>,
    /// `Source` to describe (non-DirectPut).
    pub source: Option<Value>,
    /// `Destinations` to describe.
    pub destinations: Value,
}

type ThrottleKey = (String, &'static str);
type Limiter = RateLimiter<
    ThrottleKey,
    HashMapStateStore<ThrottleKey>,
    FakeRelativeClock,
    NoOpMiddleware<Nanos>,
>;

/// Per (region, operation) token buckets, on a clock that follows the `now` we are given.
struct Throttle {
    limiter: Limiter,
    clock: FakeRelativeClock,
    origin: Millis,
    advanced: Millis,
}

impl Throttle {
    fn new(tps: u32, now: Millis) -> Option<Self> {
        let rate = NonZeroU32::new(tps)?;
        let clock = FakeRelativeClock::default();
        Some(Throttle {
            limiter: RateLimiter::hashmap_with_clock(Quota::per_second(rate), clock.clone()),
            clock,
            origin: now,
            advanced: 0,
        })
    }

    fn allow(&mut self, region: &str, op: &'static str, now: Millis) -> bool {
        let elapsed = now - self.origin;
        if elapsed > self.advanced {
            self.clock
                .advance(Duration::from_millis((elapsed - self.advanced) as u64));
            self.advanced = elapsed;
        }
        self.limiter.check_key(&(region.to_owned(), op)).is_ok()
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<&'static str, u64>,
    throttled: BTreeMap<&'static str, u64>,
    limit_exceeded: LimitExceeded,
    faults: FaultStats,
    /// Per operation: arrival times within the last second, and the most seen at once.
    rate: HashMap<&'static str, (VecDeque<Millis>, u64)>,
}

/// The sandbox's whole state.
pub struct World {
    account: String,
    latency: Duration,
    stream_budget: u32,
    window: Millis,
    cmk_limit: u32,
    fault_rate: f64,
    tps: u32,
    streams: HashMap<String, BTreeMap<String, Stream>>,
    keys: HashMap<String, BTreeMap<String, Key>>,
    /// Streams counting toward each customer key (see [`Stream::cmk_refs`]), kept up to date
    /// on every change so a Start costs no scan.
    cmk_counts: HashMap<String, u32>,
    /// The longest ENABLING → ENABLED | ENABLING_FAILED or DISABLING → DISABLED transition
    /// completed so far (call to end), in milliseconds.
    longest_transition: Millis,
    /// (due time, region, name) of every transition begun; entries may be stale (the stream
    /// was deleted or settled by a read), settling checks.
    due: BinaryHeap<Reverse<(Millis, String, String)>>,
    throttle: Option<Throttle>,
    /// `Destinations` Describe shows for streams that were seeded rather than created.
    default_destinations: Value,
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

/// `aws`, `aws-cn`, `aws-us-gov`, ... for a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

fn add_refs(counts: &mut HashMap<String, u32>, refs: [Option<&str>; 2], delta: i32) {
    for arn in refs.into_iter().flatten() {
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
fn settle_counted(
    stream: &mut Stream,
    now: Millis,
    counts: &mut HashMap<String, u32>,
    longest: &mut Millis,
) -> bool {
    let due = stream.status_ready_at.is_some_and(|t| now >= t)
        || stream.pending.as_ref().is_some_and(|p| now >= p.ready_at());
    if !due {
        return true;
    }
    add_refs(counts, stream.cmk_refs(), -1);
    let alive = stream.settle(now, longest);
    if alive {
        add_refs(counts, stream.cmk_refs(), 1);
    }
    alive
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
            fault_rate: config.fault_rate,
            tps: config.tps,
            streams: HashMap::new(),
            keys: HashMap::new(),
            cmk_counts: HashMap::new(),
            longest_transition: 0,
            due: BinaryHeap::new(),
            throttle: Throttle::new(config.tps, now),
            default_destinations: super::protocol::default_destinations(&config.account),
            latency_rng: StdRng::seed_from_u64(config.seed),
            fault_rng: StdRng::seed_from_u64(config.seed ^ 0x5eed_fa17),
            id_rng: StdRng::seed_from_u64(config.seed ^ 0x0000_1d5e),
            counters: Counters::default(),
        };
        for k in &seed.keys {
            let region = k.region.clone().unwrap_or_else(|| config.region.clone());
            let arn = world.key_arn(&region, &k.id);
            let key = Key {
                id: k.id.clone(),
                arn,
                state: k.state.clone(),
                spec: k.spec.clone(),
                usage: k.usage.clone(),
                description: k.description.clone().unwrap_or_default(),
                created_at: now,
                failure: k
                    .failure
                    .as_ref()
                    .map(|f| (f.failure_type.clone(), f.times)),
            };
            world
                .keys
                .entry(region)
                .or_default()
                .insert(k.id.clone(), key);
        }
        for s in &seed.streams {
            let region = s.region.clone().unwrap_or_else(|| config.region.clone());
            let stream_type = StreamType::parse(&s.stream_type).expect("checked");
            let status = StreamStatus::parse(&s.status).expect("checked");
            let mut stream = Stream::new(stream_type, status, now);
            if let Some(enc) = &s.encryption {
                let key = match enc.key(&config.account).expect("checked") {
                    (_, Some(arn)) => KeyRef::Customer(arn.as_str().to_owned()),
                    (_, None) => KeyRef::AwsOwned,
                };
                stream.enc_status = EncStatus::Enabled;
                stream.shown = Some(key.clone());
                stream.in_force = Some(key);
                add_refs(&mut world.cmk_counts, stream.cmk_refs(), 1);
            }
            world
                .streams
                .entry(region)
                .or_default()
                .insert(s.name.clone(), stream);
        }
        Ok(world)
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn default_destinations(&self) -> &Value {
        &self.default_destinations
    }

    pub fn stream_arn(&self, region: &str, name: &str) -> String {
        format!(
            "arn:{}:firehose:{region}:{}:deliverystream/{name}",
            partition(region),
            self.account
        )
    }

    fn key_arn(&self, region: &str, id: &str) -> String {
        format!(
            "arn:{}:kms:{region}:{}:key/{id}",
            partition(region),
            self.account
        )
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

    // ---------------------------------------------------------------- the front door

    /// Counts a request and decides whether it is throttled or faulted. `throttled` says
    /// whether the operation is subject to `--tps`; `faultable` whether it may be faulted.
    pub fn admit(
        &mut self,
        op: &'static str,
        region: &str,
        throttled: bool,
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

        if throttled
            && let Some(throttle) = &mut self.throttle
            && !throttle.allow(region, op, now)
        {
            *self.counters.throttled.entry(op).or_default() += 1;
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

    // ---------------------------------------------------------------- streams

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
            RESOURCE_NOT_FOUND,
            format!("Firehose {name} under account {} not found.", self.account),
        )
    }

    /// CreateDeliveryStream: the stream is CREATING, then ACTIVE after a drawn latency.
    /// `encryption` (DirectPut only) turns SSE on from the start.
    pub fn create_stream(
        &mut self,
        region: &str,
        name: &str,
        new: NewStream,
        now: Millis,
    ) -> Result<String, ApiError> {
        self.settle_due(now);
        if self.touch(region, name, now) {
            return Err(ApiError::new(
                RESOURCE_IN_USE,
                format!(
                    "Firehose {name} under accountId {} already exists",
                    self.account
                ),
            ));
        }
        let NewStream {
            stream_type,
            encryption,
            source,
            destinations,
        } = new;
        if let Some(key) = &encryption {
            if stream_type != StreamType::DirectPut {
                return Err(ApiError::new(
                    INVALID_ARGUMENT,
                    format!(
                        "Server-side encryption is only supported for DirectPut Firehose streams, not {}.",
                        stream_type.as_str()
                    ),
                ));
            }
            if let KeyRef::Customer(arn) = key {
                self.check_cmk_room(arn, None)?;
                if let Err(f) = self.key_outcome(region, arn) {
                    return Err(ApiError::new(INVALID_KMS_RESOURCE, f.details));
                }
            }
        }
        let mut stream = Stream::new(stream_type, StreamStatus::Creating, now);
        let ready_at = now + self.draw_latency();
        stream.status_ready_at = Some(ready_at);
        self.schedule(ready_at, region, name);
        stream.source = source;
        stream.destinations = Some(destinations);
        if let Some(key) = encryption {
            stream.enc_status = EncStatus::Enabled;
            stream.shown = Some(key.clone());
            stream.in_force = Some(key);
            add_refs(&mut self.cmk_counts, stream.cmk_refs(), 1);
        }
        self.streams
            .entry(region.to_owned())
            .or_default()
            .insert(name.to_owned(), stream);
        Ok(self.stream_arn(region, name))
    }

    /// DeleteDeliveryStream: DELETING, gone after a drawn latency.
    pub fn delete_stream(&mut self, region: &str, name: &str, now: Millis) -> Result<(), ApiError> {
        self.settle_due(now);
        if !self.touch(region, name, now) {
            return Err(self.not_found(name));
        }
        let ready = now + self.draw_latency();
        let stream = self.stream_mut(region, name).expect("touched");
        if matches!(
            stream.status,
            StreamStatus::Creating | StreamStatus::Deleting
        ) {
            return Err(ApiError::new(
                RESOURCE_IN_USE,
                format!(
                    "Firehose {name} is not in a state that allows deletion (status {}).",
                    stream.status.as_str()
                ),
            ));
        }
        stream.status = StreamStatus::Deleting;
        stream.status_ready_at = Some(ready);
        stream.updated_at = now;
        self.schedule(ready, region, name);
        Ok(())
    }

    /// DescribeDeliveryStream: the stream, settled.
    pub fn describe_stream(
        &mut self,
        region: &str,
        name: &str,
        now: Millis,
    ) -> Result<&Stream, ApiError> {
        self.settle_due(now);
        if !self.touch(region, name, now) {
            return Err(self.not_found(name));
        }
        Ok(self.stream(region, name).expect("touched"))
    }

    /// ListDeliveryStreams: names after `exclusive_start`, sorted, at most `limit`, and whether
    /// there are more.
    pub fn list_streams(
        &mut self,
        region: &str,
        limit: usize,
        exclusive_start: Option<&str>,
        filter: Option<StreamType>,
        now: Millis,
    ) -> (Vec<String>, bool) {
        self.settle_due(now);
        let Some(map) = self.streams.get_mut(region) else {
            return (Vec::new(), false);
        };
        let counts = &mut self.cmk_counts;
        let longest = &mut self.longest_transition;
        let lower = exclusive_start.map_or(Bound::Unbounded, Bound::Excluded);
        let mut names = Vec::new();
        let mut gone = Vec::new();
        let mut more = false;
        for (name, stream) in map.range_mut::<str, _>((lower, Bound::Unbounded)) {
            if !settle_counted(stream, now, counts, longest) {
                gone.push(name.clone());
                continue;
            }
            if filter.is_some_and(|t| t != stream.stream_type) {
                continue;
            }
            if names.len() == limit {
                more = true;
                break;
            }
            names.push(name.clone());
        }
        for name in gone {
            map.remove(&name);
        }
        (names, more)
    }

    /// The checks Start and Stop share, in the order AWS applies them; a refusal is counted
    /// against the stream as rejected.
    fn check_start_stop(&mut self, region: &str, name: &str, now: Millis) -> Result<(), ApiError> {
        self.settle_due(now);
        if !self.touch(region, name, now) {
            return Err(self.not_found(name));
        }
        let (budget, window) = (self.stream_budget as usize, self.window);
        let stream = self.stream_mut(region, name).expect("touched");
        stream.prune_calls(now, window);
        let refusal = if stream.stream_type != StreamType::DirectPut {
            Some(ApiError::new(
                INVALID_ARGUMENT,
                format!(
                    "Server-side encryption is only supported for DirectPut Firehose streams; {name} has source type {}.",
                    stream.stream_type.as_str()
                ),
            ))
        } else if stream.status != StreamStatus::Active {
            Some(ApiError::new(
                RESOURCE_IN_USE,
                format!(
                    "Firehose {name} is not ACTIVE (status {}).",
                    stream.status.as_str()
                ),
            ))
        } else if matches!(
            stream.enc_status,
            EncStatus::Enabling | EncStatus::Disabling
        ) {
            Some(ApiError::new(
                RESOURCE_IN_USE,
                format!(
                    "Firehose {name} is updating its encryption (status {}); try again when it is done.",
                    stream.enc_status.as_str()
                ),
            ))
        } else if stream.calls.len() >= budget {
            Some(ApiError::new(
                LIMIT_EXCEEDED,
                format!(
                    "Firehose {name} has reached its limit of {budget} StartDeliveryStreamEncryption and StopDeliveryStreamEncryption calls in {}.",
                    humantime::format_duration(Duration::from_millis(window as u64))
                ),
            ))
        } else {
            None
        };
        match refusal {
            None => Ok(()),
            Some(err) => {
                stream.rejected_calls += 1;
                if err.code == LIMIT_EXCEEDED {
                    self.counters.limit_exceeded.stream_budget += 1;
                }
                Err(err)
            }
        }
    }

    /// Refuses when `arn` is at its stream limit and `stream` (if any) does not already count
    /// toward it.
    fn check_cmk_room(&mut self, arn: &str, stream: Option<(&str, &str)>) -> Result<(), ApiError> {
        let already = stream
            .and_then(|(region, name)| self.stream(region, name))
            .is_some_and(|s| s.counts_toward(arn));
        let used = self.cmk_counts.get(arn).copied().unwrap_or(0);
        if !already && used >= self.cmk_limit {
            self.counters.limit_exceeded.cmk_limit += 1;
            return Err(ApiError::new(
                LIMIT_EXCEEDED,
                format!(
                    "The KMS key {arn} is already used by {used} Firehose streams, the limit is {}.",
                    self.cmk_limit
                ),
            ));
        }
        Ok(())
    }

    /// What a Start with customer key `arn` on a stream in `region` will end as, decided now.
    fn key_outcome(&mut self, region: &str, arn: &str) -> Result<(), Failure> {
        let fail = |kind: &str, details: String| {
            Err(Failure {
                kind: kind.to_owned(),
                details,
            })
        };
        let not_found = || {
            fail(
                "KMS_KEY_NOT_FOUND",
                format!("The KMS key {arn} was not found in {region}."),
            )
        };
        let Ok(parsed) = KmsKeyArn::parse(arn) else {
            return not_found();
        };
        if parsed.region() != region || parsed.account() != self.account {
            return not_found();
        }
        let Some(key) = self
            .keys
            .get_mut(region)
            .and_then(|keys| keys.get_mut(parsed.key_id()))
        else {
            return not_found();
        };
        if let Some((kind, times)) = &mut key.failure
            && times.is_none_or(|n| n > 0)
        {
            if let Some(n) = times {
                *n -= 1;
            }
            return fail(
                kind,
                format!("Injected failure {kind} for KMS key {arn} (sandbox seed)."),
            );
        }
        if key.state != "Enabled" {
            return fail(
                "DISABLED_KMS_KEY",
                format!("The KMS key {arn} is not enabled (state {}).", key.state),
            );
        }
        if key.spec != "SYMMETRIC_DEFAULT" || key.usage != "ENCRYPT_DECRYPT" {
            return fail(
                "INVALID_KMS_KEY",
                format!(
                    "The KMS key {arn} is {} with usage {}; Firehose needs a symmetric ENCRYPT_DECRYPT key.",
                    key.spec, key.usage
                ),
            );
        }
        Ok(())
    }

    /// StartDeliveryStreamEncryption: ENABLING now, ENABLED (or ENABLING_FAILED) after a drawn
    /// latency. An accepted call counts against the stream's budget.
    pub fn start_encryption(
        &mut self,
        region: &str,
        name: &str,
        key: KeyRef,
        now: Millis,
    ) -> Result<(), ApiError> {
        self.check_start_stop(region, name, now)?;
        if let KeyRef::Customer(arn) = &key
            && let Err(err) = self.check_cmk_room(arn, Some((region, name)))
        {
            self.stream_mut(region, name)
                .expect("checked")
                .rejected_calls += 1;
            return Err(err);
        }
        let outcome = match &key {
            KeyRef::AwsOwned => Ok(()),
            KeyRef::Customer(arn) => self.key_outcome(region, arn),
        };
        let ready_at = now + self.draw_latency();
        let counts = &mut self.cmk_counts;
        let stream = self
            .streams
            .get_mut(region)
            .and_then(|m| m.get_mut(name))
            .expect("checked");
        add_refs(counts, stream.cmk_refs(), -1);
        stream.calls.push_back(now);
        stream.start_calls += 1;
        stream.enc_status = EncStatus::Enabling;
        stream.shown = Some(key.clone());
        stream.failure = None;
        stream.updated_at = now;
        stream.pending = Some(Pending::Enable {
            target: key,
            outcome,
            began_at: now,
            ready_at,
        });
        add_refs(counts, stream.cmk_refs(), 1);
        self.schedule(ready_at, region, name);
        Ok(())
    }

    /// StopDeliveryStreamEncryption: DISABLING now, DISABLED after a drawn latency. On a stream
    /// that is not encrypted it is accepted (and counted) and changes nothing.
    pub fn stop_encryption(
        &mut self,
        region: &str,
        name: &str,
        now: Millis,
    ) -> Result<(), ApiError> {
        self.check_start_stop(region, name, now)?;
        let ready_at = now + self.draw_latency();
        let stream = self.stream_mut(region, name).expect("checked");
        stream.calls.push_back(now);
        stream.stop_calls += 1;
        if stream.enc_status != EncStatus::Disabled {
            stream.enc_status = EncStatus::Disabling;
            stream.failure = None;
            stream.updated_at = now;
            stream.pending = Some(Pending::Disable {
                began_at: now,
                ready_at,
            });
            self.schedule(ready_at, region, name);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- keys

    fn kms_not_found(key_id: &str) -> ApiError {
        ApiError::new(KMS_NOT_FOUND, format!("Key '{key_id}' does not exist"))
    }

    /// Finds a key by id or key ARN, in `region` only (an ARN of another region is not found).
    fn find_key(&mut self, region: &str, key_id: &str) -> Result<&mut Key, ApiError> {
        let id = if key_id.starts_with("arn:") {
            match KmsKeyArn::parse(key_id) {
                Ok(arn) if arn.region() == region && arn.account() == self.account => {
                    arn.key_id().to_owned()
                }
                _ => return Err(Self::kms_not_found(key_id)),
            }
        } else {
            key_id.to_owned()
        };
        self.keys
            .get_mut(region)
            .and_then(|keys| keys.get_mut(&id))
            .ok_or_else(|| Self::kms_not_found(key_id))
    }

    /// CreateKey: a new enabled key with a seeded random id.
    pub fn create_key(
        &mut self,
        region: &str,
        spec: &str,
        usage: &str,
        description: &str,
        now: Millis,
    ) -> &Key {
        let r: u128 = self.id_rng.random();
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (r >> 96) as u32,
            (r >> 80) as u16,
            (r >> 68) as u16 & 0xfff,
            ((r >> 52) as u16 & 0x3fff) | 0x8000,
            r as u64 & 0xffff_ffff_ffff
        );
        let key = Key {
            arn: self.key_arn(region, &id),
            id: id.clone(),
            state: "Enabled".to_owned(),
            spec: spec.to_owned(),
            usage: usage.to_owned(),
            description: description.to_owned(),
            created_at: now,
            failure: None,
        };
        self.keys
            .entry(region.to_owned())
            .or_default()
            .entry(id)
            .or_insert(key)
    }

    /// DescribeKey.
    pub fn describe_key(&mut self, region: &str, key_id: &str) -> Result<&Key, ApiError> {
        self.find_key(region, key_id).map(|k| &*k)
    }

    /// EnableKey / DisableKey.
    pub fn set_key_enabled(
        &mut self,
        region: &str,
        key_id: &str,
        enabled: bool,
    ) -> Result<(), ApiError> {
        let key = self.find_key(region, key_id)?;
        if key.state == "PendingDeletion" {
            return Err(ApiError::new(
                KMS_INVALID_STATE,
                format!("{} is pending deletion.", key.arn),
            ));
        }
        key.state = if enabled { "Enabled" } else { "Disabled" }.to_owned();
        Ok(())
    }

    /// ListKeys: keys of `region` sorted by id after `marker`, at most `limit`, and the next
    /// marker when there are more.
    pub fn list_keys(
        &self,
        region: &str,
        limit: usize,
        marker: Option<&str>,
    ) -> (Vec<&Key>, Option<String>) {
        let Some(keys) = self.keys.get(region) else {
            return (Vec::new(), None);
        };
        let lower = marker.map_or(Bound::Unbounded, Bound::Excluded);
        let mut page: Vec<&Key> = keys
            .range::<str, _>((lower, Bound::Unbounded))
            .map(|(_, k)| k)
            .take(limit + 1)
            .collect();
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|k| k.id.clone())
        } else {
            None
        };
        (page, next)
    }

    // ---------------------------------------------------------------- ground truth

    /// The ground truth as of `now` (every stream settled first).
    pub fn stats(&mut self, now: Millis) -> Stats {
        self.settle_due(now);
        let counts = &mut self.cmk_counts;
        let longest = &mut self.longest_transition;
        for map in self.streams.values_mut() {
            map.retain(|_, s| settle_counted(s, now, counts, longest));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::seed::{SeedFailure, SeedKey, SeedStream};

    const T0: Millis = 1_800_000_000_000;
    const R: &str = "us-east-1";

    fn config() -> SandboxConfig {
        SandboxConfig {
            latency: Duration::from_secs(1),
            ..SandboxConfig::default()
        }
    }

    fn arn(id: &str) -> String {
        format!("arn:aws:kms:{R}:123456789012:key/{id}")
    }

    fn world(config: SandboxConfig, streams: usize, keys: Vec<SeedKey>) -> World {
        let mut seed = Seed::generated(streams, R);
        seed.keys = keys;
        World::new(&config, &seed, T0).unwrap()
    }

    fn name(i: usize) -> String {
        format!("stream-{i:05}")
    }

    /// Far enough for any drawn transition (capped at 10× the median).
    const SETTLED: Millis = 10_001;

    fn truth(w: &mut World, now: Millis, i: usize) -> StreamStats {
        w.stats(now).stream(R, &name(i)).unwrap().clone()
    }

    #[test]
    fn budget_counts_accepted_calls_in_a_rolling_window() {
        let mut w = world(
            SandboxConfig {
                stream_budget: 3,
                window: Duration::from_secs(10),
                latency: Duration::ZERO,
                ..config()
            },
            1,
            vec![],
        );
        let s = name(0);
        for t in 0..3 {
            w.stop_encryption(R, &s, T0 + t * 1_000).unwrap();
        }
        let err = w
            .start_encryption(R, &s, KeyRef::AwsOwned, T0 + 3_000)
            .unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
        // Still full one millisecond before the first call leaves the window.
        let err = w.stop_encryption(R, &s, T0 + 9_999).unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
        let t = truth(&mut w, T0 + 9_999, 0);
        assert_eq!(
            (t.stop_calls, t.calls_in_window, t.rejected_calls),
            (3, 3, 2)
        );
        assert_eq!(w.stats(T0).limit_exceeded.stream_budget, 2);
        // The first call is out of the window at exactly +10 s: one slot frees.
        w.start_encryption(R, &s, KeyRef::AwsOwned, T0 + 10_000)
            .unwrap();
        let t = truth(&mut w, T0 + 10_000, 0);
        assert_eq!((t.start_calls, t.calls_in_window), (1, 3));
        assert_eq!(t.status, "ENABLED");
        let err = w.stop_encryption(R, &s, T0 + 10_500).unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
    }

    #[test]
    fn refused_calls_do_not_count() {
        let mut w = world(
            SandboxConfig {
                stream_budget: 2,
                ..config()
            },
            1,
            vec![],
        );
        let s = name(0);
        w.start_encryption(R, &s, KeyRef::AwsOwned, T0).unwrap();
        for _ in 0..5 {
            let err = w.stop_encryption(R, &s, T0 + 1).unwrap_err();
            assert_eq!(err.code, RESOURCE_IN_USE);
        }
        let t = truth(&mut w, T0 + SETTLED, 0);
        assert_eq!((t.calls_in_window, t.rejected_calls), (1, 5));
        w.stop_encryption(R, &s, T0 + SETTLED).unwrap();
    }

    #[test]
    fn settle_is_lazy_and_follows_the_drawn_latency() {
        let mut w = world(config(), 1, vec![]);
        let s = name(0);
        w.start_encryption(R, &s, KeyRef::AwsOwned, T0).unwrap();
        let ready = match &w.stream(R, &s).unwrap().pending {
            Some(Pending::Enable { ready_at, .. }) => *ready_at,
            other => panic!("{other:?}"),
        };
        assert!(ready > T0 && ready <= T0 + 10_000, "{}", ready - T0);
        assert_eq!(
            w.describe_stream(R, &s, ready - 1).unwrap().enc_status,
            EncStatus::Enabling
        );
        let stream = w.describe_stream(R, &s, ready).unwrap();
        assert_eq!(stream.enc_status, EncStatus::Enabled);
        assert_eq!(stream.in_force, Some(KeyRef::AwsOwned));
        assert_eq!(stream.updated_at, ready);

        w.stop_encryption(R, &s, ready + 1).unwrap();
        assert_eq!(
            w.describe_stream(R, &s, ready + 2).unwrap().enc_status,
            EncStatus::Disabling
        );
        let stream = w.describe_stream(R, &s, ready + 1 + SETTLED).unwrap();
        assert_eq!(
            (stream.enc_status, &stream.in_force, &stream.shown),
            (EncStatus::Disabled, &None, &None)
        );
    }

    #[test]
    fn max_transition_is_the_longest_completed_one() {
        let mut w = world(config(), 20, vec![]);
        for i in 0..20 {
            w.start_encryption(R, &name(i), KeyRef::AwsOwned, T0)
                .unwrap();
        }
        assert_eq!(w.stats(T0).max_transition_ms, 0);
        let mut ready: Vec<Millis> = (0..20)
            .map(|i| match &w.stream(R, &name(i)).unwrap().pending {
                Some(Pending::Enable { ready_at, .. }) => *ready_at,
                other => panic!("{other:?}"),
            })
            .collect();
        ready.sort_unstable();
        // Half-way: only the transitions already over count, not the longer ones under way.
        let mid = ready[10];
        assert!(ready[9] < mid);
        assert_eq!(w.stats(mid - 1).max_transition_ms as Millis, ready[9] - T0);
        assert_eq!(w.stats(mid).max_transition_ms as Millis, mid - T0);
        let end = T0 + SETTLED;
        assert_eq!(w.stats(end).max_transition_ms as Millis, ready[19] - T0);
        // A Stop's DISABLING → DISABLED counts too, from the Stop that began it.
        w.stop_encryption(R, &name(0), end).unwrap();
        let stopped = match &w.stream(R, &name(0)).unwrap().pending {
            Some(Pending::Disable { ready_at, .. }) => *ready_at - end,
            other => panic!("{other:?}"),
        };
        let later = w.stats(end + SETTLED).max_transition_ms as Millis;
        assert_eq!(later, stopped.max(ready[19] - T0));
    }

    #[test]
    fn latency_is_log_normal_with_p99_six_times_the_median() {
        let mut w = world(config(), 0, vec![]);
        let mut draws: Vec<Millis> = (0..20_000).map(|_| w.draw_latency()).collect();
        draws.sort_unstable();
        let median = draws[draws.len() / 2] as f64;
        let p99 = draws[draws.len() * 99 / 100] as f64;
        assert!((950.0..1050.0).contains(&median), "median {median}");
        assert!(
            (5.2..6.8).contains(&(p99 / median)),
            "p99/median {}",
            p99 / median
        );
        assert!(*draws.last().unwrap() <= 10_000);
        // The same seed draws the same latencies.
        let mut again = world(config(), 0, vec![]);
        let first: Vec<Millis> = (0..5).map(|_| again.draw_latency()).collect();
        let mut w = world(config(), 0, vec![]);
        assert_eq!(first, (0..5).map(|_| w.draw_latency()).collect::<Vec<_>>());
    }

    #[test]
    fn cmk_count_through_rekey_and_failed_rekey() {
        let mut disabled = SeedKey::symmetric("b", R);
        disabled.state = "Disabled".into();
        let mut w = world(
            SandboxConfig {
                cmk_limit: 2,
                ..config()
            },
            4,
            vec![SeedKey::symmetric("a", R), disabled],
        );
        let (a, b) = (KeyRef::Customer(arn("a")), KeyRef::Customer(arn("b")));
        let count = |w: &mut World, now, key: &str| {
            w.stats(now)
                .cmk_streams
                .get(&arn(key))
                .copied()
                .unwrap_or(0)
        };
        // ENABLING counts.
        w.start_encryption(R, &name(0), a.clone(), T0).unwrap();
        w.start_encryption(R, &name(1), a.clone(), T0).unwrap();
        assert_eq!(count(&mut w, T0, "a"), 2);
        let err = w.start_encryption(R, &name(2), a.clone(), T0).unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
        assert_eq!(w.stats(T0).limit_exceeded.cmk_limit, 1);

        // A rekey a → b counts toward both until it ends; failing, it keeps a in force.
        let t1 = T0 + SETTLED;
        w.start_encryption(R, &name(0), b.clone(), t1).unwrap();
        assert_eq!((count(&mut w, t1, "a"), count(&mut w, t1, "b")), (2, 1));
        let t2 = t1 + SETTLED;
        let truth0 = truth(&mut w, t2, 0);
        assert_eq!(truth0.status, "ENABLING_FAILED");
        assert_eq!(truth0.failure.as_deref(), Some("DISABLED_KMS_KEY"));
        assert_eq!(truth0.key_arn, Some(arn("b")));
        assert_eq!(truth0.key_in_force, Some(arn("a")));
        assert_eq!((count(&mut w, t2, "a"), count(&mut w, t2, "b")), (2, 0));

        // Starting again towards a key the stream already counts for is allowed at the limit.
        w.start_encryption(R, &name(0), a.clone(), t2).unwrap();
        assert_eq!(count(&mut w, t2, "a"), 2);

        // A rekey away (to AWS-owned) frees a slot only once ENABLED.
        w.start_encryption(R, &name(1), KeyRef::AwsOwned, t2)
            .unwrap();
        assert_eq!(count(&mut w, t2, "a"), 2);
        let err = w.start_encryption(R, &name(2), a.clone(), t2).unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
        let t3 = t2 + SETTLED;
        assert_eq!(count(&mut w, t3, "a"), 1);
        w.start_encryption(R, &name(2), a.clone(), t3).unwrap();

        // A Stop frees a slot only once DISABLED.
        w.stop_encryption(R, &name(0), t3).unwrap();
        assert_eq!(count(&mut w, t3, "a"), 2);
        let err = w.start_encryption(R, &name(3), a.clone(), t3).unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
        let t4 = t3 + SETTLED;
        w.start_encryption(R, &name(3), a, t4).unwrap();
        assert_eq!(count(&mut w, t4, "a"), 2);
    }

    #[test]
    fn failure_types_of_bad_and_injected_keys() {
        let mut disabled = SeedKey::symmetric("disabled", R);
        disabled.state = "Disabled".into();
        let mut rsa = SeedKey::symmetric("rsa", R);
        rsa.spec = "RSA_2048".into();
        let mut hmac = SeedKey::symmetric("hmac", R);
        (hmac.spec, hmac.usage) = ("HMAC_256".into(), "GENERATE_VERIFY_MAC".into());
        let mut denied = SeedKey::symmetric("denied", R);
        denied.failure = Some(SeedFailure {
            failure_type: "KMS_ACCESS_DENIED".into(),
            times: Some(1),
        });
        let mut grant = SeedKey::symmetric("grant", R);
        grant.failure = Some(SeedFailure {
            failure_type: "CREATE_KMS_GRANT_FAILED".into(),
            times: None,
        });
        let keys = vec![
            disabled,
            rsa,
            hmac,
            denied,
            grant,
            SeedKey::symmetric("elsewhere", "eu-west-1"),
        ];
        let mut w = world(config(), 8, keys);
        let cases = [
            (arn("missing"), "KMS_KEY_NOT_FOUND"),
            (arn("disabled"), "DISABLED_KMS_KEY"),
            (arn("rsa"), "INVALID_KMS_KEY"),
            (arn("hmac"), "INVALID_KMS_KEY"),
            (arn("denied"), "KMS_ACCESS_DENIED"),
            (arn("grant"), "CREATE_KMS_GRANT_FAILED"),
            (
                "arn:aws:kms:eu-west-1:123456789012:key/elsewhere".to_owned(),
                "KMS_KEY_NOT_FOUND",
            ),
            (
                "arn:aws:kms:us-east-1:999999999999:key/disabled".to_owned(),
                "KMS_KEY_NOT_FOUND",
            ),
        ];
        for (i, (key, _)) in cases.iter().enumerate() {
            w.start_encryption(R, &name(i), KeyRef::Customer(key.clone()), T0)
                .unwrap();
            // Failure shows only after the latency.
            assert_eq!(truth(&mut w, T0, i).status, "ENABLING");
        }
        for (i, (key, expected)) in cases.iter().enumerate() {
            let s = w.describe_stream(R, &name(i), T0 + SETTLED).unwrap();
            assert_eq!(s.enc_status, EncStatus::EnablingFailed, "{key}");
            assert_eq!(s.failure.as_ref().unwrap().kind, *expected, "{key}");
            assert_eq!(s.in_force, None);
        }
        // `times: 1` fails once; without `times` every time.
        let t = T0 + SETTLED;
        w.start_encryption(R, &name(4), KeyRef::Customer(arn("denied")), t)
            .unwrap();
        w.start_encryption(R, &name(5), KeyRef::Customer(arn("grant")), t)
            .unwrap();
        assert_eq!(truth(&mut w, t + SETTLED, 4).status, "ENABLED");
        assert_eq!(
            truth(&mut w, t + SETTLED, 5).failure.as_deref(),
            Some("CREATE_KMS_GRANT_FAILED")
        );
    }

    #[test]
    fn throttle_is_a_token_bucket_per_region_and_operation() {
        let mut w = world(SandboxConfig { tps: 2, ..config() }, 0, vec![]);
        let op = "DescribeDeliveryStream";
        let admit = |w: &mut World, op, region, now| w.admit(op, region, true, true, now);
        assert_eq!(admit(&mut w, op, R, T0), Admission::Proceed);
        assert_eq!(admit(&mut w, op, R, T0), Admission::Proceed);
        assert_eq!(admit(&mut w, op, R, T0), Admission::Throttled);
        // Other operations and regions have their own buckets.
        assert_eq!(
            admit(&mut w, "ListDeliveryStreams", R, T0),
            Admission::Proceed
        );
        assert_eq!(admit(&mut w, op, "eu-west-1", T0), Admission::Proceed);
        // One token every 500 ms.
        assert_eq!(admit(&mut w, op, R, T0 + 499), Admission::Throttled);
        assert_eq!(admit(&mut w, op, R, T0 + 500), Admission::Proceed);
        assert_eq!(admit(&mut w, op, R, T0 + 501), Admission::Throttled);
        // Not throttled operations (KMS) pass.
        for _ in 0..10 {
            assert_eq!(
                w.admit("DescribeKey", R, false, true, T0),
                Admission::Proceed
            );
        }
        let stats = w.stats(T0 + 501);
        assert_eq!(stats.throttled_for(op), 3);
        assert_eq!(stats.requests_for(op), 7);
        // 6 arrived within (T0 - 1 s, T0 + 501].
        assert_eq!(stats.max_rate[op], 7);
        assert_eq!(stats.max_rate["DescribeKey"], 10);
    }

    #[test]
    fn max_rate_is_over_a_sliding_second() {
        let mut w = world(SandboxConfig { tps: 0, ..config() }, 0, vec![]);
        for t in [0, 400, 800, 999, 1_000, 1_001, 1_500] {
            assert_eq!(
                w.admit("ListKeys", R, true, true, T0 + t),
                Admission::Proceed
            );
        }
        // (0..1000]: 400, 800, 999, 1000 → 4; [0..999] 4; (500..1500] 800..1500 → 5.
        assert_eq!(w.stats(T0).max_rate["ListKeys"], 5);
    }

    #[test]
    fn stream_rules_in_use_invalid_and_not_found() {
        let mut seed = Seed::generated(1, R);
        let mut kinesis = SeedStream::direct_put("kinesis", R);
        kinesis.stream_type = "KinesisStreamAsSource".into();
        let mut creating = SeedStream::direct_put("creating", R);
        creating.status = "CREATING".into();
        seed.streams.extend([kinesis, creating]);
        let mut w = World::new(&config(), &seed, T0).unwrap();
        let code = |r: Result<(), ApiError>| r.unwrap_err().code;
        assert_eq!(
            code(w.start_encryption(R, "kinesis", KeyRef::AwsOwned, T0)),
            INVALID_ARGUMENT
        );
        assert_eq!(code(w.stop_encryption(R, "kinesis", T0)), INVALID_ARGUMENT);
        assert_eq!(
            code(w.start_encryption(R, "creating", KeyRef::AwsOwned, T0)),
            RESOURCE_IN_USE
        );
        assert_eq!(
            code(w.start_encryption(R, "nope", KeyRef::AwsOwned, T0)),
            RESOURCE_NOT_FOUND
        );
        // Known in us-east-1 only.
        assert_eq!(
            code(w.start_encryption("eu-west-1", &name(0), KeyRef::AwsOwned, T0)),
            RESOURCE_NOT_FOUND
        );
        // Stop on a never-encrypted stream: accepted, counted, nothing changes.
        w.stop_encryption(R, &name(0), T0).unwrap();
        let t = truth(&mut w, T0, 0);
        assert_eq!(
            (t.status.as_str(), t.stop_calls, t.calls_in_window),
            ("DISABLED", 1, 1)
        );
    }

    #[test]
    fn create_and_delete_take_the_latency_and_free_key_slots() {
        let mut w = world(
            SandboxConfig {
                cmk_limit: 1,
                ..config()
            },
            0,
            vec![SeedKey::symmetric("a", R)],
        );
        let new = |encryption| NewStream {
            stream_type: StreamType::DirectPut,
            encryption,
            source: None,
            destinations: Value::Array(vec![]),
        };
        let a = KeyRef::Customer(arn("a"));
        let created = w.create_stream(R, "one", new(Some(a.clone())), T0).unwrap();
        assert_eq!(
            created,
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/one"
        );
        let err = w.create_stream(R, "one", new(None), T0).unwrap_err();
        assert_eq!(err.code, RESOURCE_IN_USE);
        let err = w
            .create_stream(R, "two", new(Some(a.clone())), T0)
            .unwrap_err();
        assert_eq!(err.code, LIMIT_EXCEEDED);
        let missing = KeyRef::Customer(arn("missing"));
        let err = w
            .create_stream(R, "two", new(Some(missing)), T0)
            .unwrap_err();
        assert_eq!(err.code, INVALID_KMS_RESOURCE);

        assert_eq!(
            w.describe_stream(R, "one", T0).unwrap().status,
            StreamStatus::Creating
        );
        let err = w
            .start_encryption(R, "one", KeyRef::AwsOwned, T0)
            .unwrap_err();
        assert_eq!(err.code, RESOURCE_IN_USE);
        let t = T0 + SETTLED;
        assert_eq!(
            w.describe_stream(R, "one", t).unwrap().status,
            StreamStatus::Active
        );
        w.delete_stream(R, "one", t).unwrap();
        assert_eq!(
            w.describe_stream(R, "one", t).unwrap().status,
            StreamStatus::Deleting
        );
        let gone = t + SETTLED;
        assert_eq!(
            w.describe_stream(R, "one", gone).unwrap_err().code,
            RESOURCE_NOT_FOUND
        );
        assert!(w.stats(gone).cmk_streams.is_empty());
        w.create_stream(R, "two", new(Some(a)), gone).unwrap();
    }

    #[test]
    fn list_is_sorted_paged_and_filtered() {
        let mut seed = Seed::generated(5, R);
        let mut msk = SeedStream::direct_put("stream-00002a", R);
        msk.stream_type = "MSKAsSource".into();
        seed.streams.push(msk);
        let mut w = World::new(&config(), &seed, T0).unwrap();
        let (page, more) = w.list_streams(R, 2, None, None, T0);
        assert_eq!((page, more), (vec![name(0), name(1)], true));
        let (page, more) = w.list_streams(R, 2, Some(&name(1)), None, T0);
        assert_eq!((page, more), (vec![name(2), "stream-00002a".into()], true));
        let (page, more) = w.list_streams(R, 10, Some(&name(1)), Some(StreamType::DirectPut), T0);
        assert_eq!((page, more), (vec![name(2), name(3), name(4)], false));
        assert_eq!(w.list_streams("eu-west-1", 10, None, None, T0).0.len(), 0);
    }

    #[test]
    fn faults_are_seeded_and_recorded() {
        let cfg = SandboxConfig {
            fault_rate: 0.5,
            tps: 0,
            ..config()
        };
        let decide = |w: &mut World| {
            (0..200)
                .map(|_| w.admit("StartDeliveryStreamEncryption", R, true, true, T0))
                .collect::<Vec<_>>()
        };
        let a = decide(&mut world(cfg.clone(), 0, vec![]));
        let b = decide(&mut world(cfg.clone(), 0, vec![]));
        assert_eq!(a, b);
        let faulted = a
            .iter()
            .filter(|x| matches!(x, Admission::Fault { .. }))
            .count();
        assert!((70..130).contains(&faulted), "{faulted}");
        for kind in [
            FaultKind::InternalFailure,
            FaultKind::Drop,
            FaultKind::Delay,
        ] {
            assert!(
                a.iter()
                    .any(|x| matches!(x, Admission::Fault { kind: k, .. } if *k == kind))
            );
        }
        // Unfaultable requests never are.
        let mut w = world(cfg, 0, vec![]);
        assert!((0..100).all(|_| w.admit("X", R, false, false, T0) == Admission::Proceed));
        w.record_fault(
            "StartDeliveryStreamEncryption",
            FaultKind::Drop,
            R,
            Some("s"),
            true,
            T0,
        );
        w.record_fault(
            "StartDeliveryStreamEncryption",
            FaultKind::InternalFailure,
            R,
            None,
            false,
            T0,
        );
        let f = w.stats(T0).faults;
        assert_eq!((f.dropped, f.internal_failure, f.delayed), (1, 1, 0));
        assert_eq!(f.applied["StartDeliveryStreamEncryption"], 1);
        assert_eq!(f.not_applied["StartDeliveryStreamEncryption"], 1);
        assert_eq!(f.log[0].stream.as_deref(), Some("s"));
        assert!(f.log[0].applied);
    }
}
