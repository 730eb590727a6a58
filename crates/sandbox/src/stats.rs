//! The ground truth served at `GET /_sandbox/stats` (and by `Sandbox::stats`): what the
//! sandbox really received and did, so tests and benchmarks can prove a client never breached a
//! limit. Plain serde data, beside the world: `World::stats` fills it in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything the sandbox knows, as of `now`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The sandbox's own account (`--account`): the streams and keys of the fleet file's top
    /// level, and the management account of the organization when there are member accounts.
    pub account: String,
    /// When this snapshot was taken (Unix epoch milliseconds).
    pub now: i64,
    /// The limits in force, so a reader can check counts against them.
    pub limits: Limits,
    /// Requests received per operation, including throttled, faulted and expired-credential
    /// ones (STS `GetCallerIdentity` too). Requests naming an operation the sandbox does not
    /// serve are counted under `UnknownOperation`.
    pub requests: BTreeMap<String, u64>,
    /// `ThrottlingException` answers per operation.
    pub throttled: BTreeMap<String, u64>,
    /// `LimitExceededException` answers, by limit.
    pub limit_exceeded: LimitExceeded,
    /// Faults injected by `--fault-rate`.
    pub faults: FaultStats,
    /// Per operation, the most requests received (throttled included) in any one-second
    /// sliding window.
    pub max_rate: BTreeMap<String, u64>,
    /// The longest encryption transition completed so far, in milliseconds: from the accepted
    /// Start (or Stop) to ENABLED or ENABLING_FAILED (or DISABLED). Transitions still under
    /// way do not count. The slowest transition of a run is part of its ceiling (T_min).
    #[serde(default)]
    pub max_transition_ms: u64,
    /// Per customer-managed key ARN, the streams that count toward its `--cmk-limit` now:
    /// streams encrypted with it (key in force), streams ENABLING towards it, and streams that
    /// stopped using it less than `--grant-retirement` ago.
    pub cmk_streams: BTreeMap<String, u32>,
    /// Every stream, sorted by account, then region, then name.
    pub streams: Vec<StreamStats>,
    /// The sandbox's account (first) and the member accounts of its organization, in the order
    /// they joined, each with what its credentials did.
    #[serde(default)]
    pub accounts: Vec<AccountStats>,
}

/// One account's ground truth: what requests signed with its credentials did. Every Firehose
/// and KMS request acts in the account of its credentials, so a request can reach only its own
/// account's streams; one naming a stream its account does not have is recorded in
/// `stream_not_found`, so a test can check that every call to an account's streams was signed
/// with that account's credentials (no stream of another account in any `stream_not_found`,
/// and each stream's `requests` what the client meant to send it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountStats {
    pub id: String,
    /// Organizations `Name`, `Email`, `Status` and `JoinedMethod`.
    pub name: String,
    pub email: String,
    pub status: String,
    pub joined_method: String,
    /// `false` for the sandbox's own account (the organization's management account).
    pub member: bool,
    /// Its IAM roles (the ones seeded without a trust policy, which any caller may assume, and
    /// those with one, created or seeded).
    pub roles: Vec<String>,
    /// Its streams (now) and keys.
    pub streams: u64,
    pub keys: u64,
    /// Requests signed with its credentials, per operation (expired, throttled and faulted
    /// ones included; unsigned requests count for the sandbox's account).
    pub requests: BTreeMap<String, u64>,
    /// `ThrottlingException` answers to its credentials, per operation: its own per-account
    /// throttle.
    pub throttled: BTreeMap<String, u64>,
    /// Per operation, the most requests of its credentials in any one-second sliding window.
    pub max_rate: BTreeMap<String, u64>,
    /// Requests refused because its credentials had expired.
    pub expired: u64,
    /// Credentials AssumeRole issued for its roles.
    pub sessions_issued: u64,
    /// AssumeRole calls refused (`AccessDenied`) that named one of its roles (or a role it does
    /// not have).
    pub assume_role_denied: u64,
    /// Requests of its credentials that named a stream it does not have
    /// (`ResourceNotFoundException`), by region, stream and operation (the first 10,000
    /// distinct ones).
    pub stream_not_found: Vec<StreamCall>,
}

/// Requests of one operation naming one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCall {
    pub region: String,
    pub stream: String,
    pub operation: String,
    pub calls: u64,
}

/// The limits the sandbox enforces (0 `tps`, `iam_tps` = unlimited).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub tps: u32,
    /// IAM requests per second per account (the world file's `iam_tps`).
    #[serde(default)]
    pub iam_tps: u32,
    pub stream_budget: u32,
    pub window_ms: u64,
    pub cmk_limit: u32,
    /// How long a key stays counted toward `cmk_limit` after a stream stopped using it.
    #[serde(default)]
    pub grant_retirement_ms: u64,
    pub latency_ms: u64,
    pub fault_rate: f64,
    /// The granularity of CloudWatch's datapoints (the world file's `metric_period`).
    #[serde(default)]
    pub metric_period_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitExceeded {
    /// Start/Stop refused because the stream had used its budget in the window.
    pub stream_budget: u64,
    /// Start (or Create) refused because the customer key was at its stream limit.
    pub cmk_limit: u64,
}

/// Injected faults. For a 500 or a dropped connection the sandbox decides (seeded) whether the
/// request was carried out first; `applied` / `not_applied` count, per operation, the faulted
/// requests whose effect did / did not take place (a delayed request is always carried out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultStats {
    /// HTTP 500 `InternalFailure` answers.
    pub internal_failure: u64,
    /// Connections closed without an answer.
    pub dropped: u64,
    /// Requests answered normally after a 2 s delay.
    pub delayed: u64,
    pub applied: BTreeMap<String, u64>,
    pub not_applied: BTreeMap<String, u64>,
    /// One record per faulted request (the first 10,000).
    pub log: Vec<FaultRecord>,
}

/// One faulted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Unix epoch milliseconds when the request arrived.
    pub at: i64,
    pub operation: String,
    /// `internal_failure`, `dropped` or `delayed`.
    pub kind: String,
    pub region: String,
    /// `DeliveryStreamName` of the request, when it named one.
    pub stream: Option<String>,
    /// Whether the request's effect took place (it was carried out and succeeded).
    pub applied: bool,
}

/// One stream's ground truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamStats {
    pub account: String,
    pub region: String,
    pub name: String,
    /// `DeliveryStreamType`: DirectPut, KinesisStreamAsSource, MSKAsSource, DatabaseAsSource.
    #[serde(rename = "type")]
    pub stream_type: String,
    /// Encryption status as Describe shows it: ENABLED, ENABLING, ENABLING_FAILED, DISABLING,
    /// DISABLED, DISABLING_FAILED.
    pub status: String,
    /// `DeliveryStreamStatus`: ACTIVE, CREATING, DELETING, ...
    pub stream_status: String,
    /// Key type and ARN of the encryption configuration Describe shows (the key last asked
    /// for); `None` when encryption is off.
    pub key_type: Option<String>,
    pub key_arn: Option<String>,
    /// The key actually protecting the data: a key ARN, `AWS_OWNED_CMK`, or `None` when the
    /// stream is not encrypted. Differs from `key_arn` during a rekey and after a failed one.
    pub key_in_force: Option<String>,
    /// `FailureDescription.Type` of the last failed Start, while the status is ENABLING_FAILED
    /// (or of a seeded DISABLING_FAILED), wherever Describe shows it (or does not).
    pub failure: Option<String>,
    /// Start / Stop calls the sandbox accepted (answered 200, or carried out before a fault):
    /// the calls that count against the budget.
    pub start_calls: u64,
    pub stop_calls: u64,
    /// Start/Stop calls refused because of this stream's state: ResourceInUse, LimitExceeded
    /// (budget or key limit), InvalidArgument for a non-DirectPut stream. They do not count
    /// against the budget. Calls refused before the stream is looked at (throttled, malformed
    /// arguments such as a missing KeyARN) are not here.
    pub rejected_calls: u64,
    /// Accepted Start/Stop calls within the rolling window ending now.
    pub calls_in_window: u32,
    /// For each accepted Start, in order, the first 8 hex digits of the SHA-256 of its
    /// `x-amz-security-token` header ("" when it had none): a retry signed with fresh
    /// credentials shows as a new value.
    #[serde(default)]
    pub start_tokens: Vec<String>,
    /// Requests that named this stream and reached it, per operation (Create, Delete,
    /// Describe, Start, Stop, PutRecord, PutRecordBatch; throttled, expired and malformed ones
    /// never reach a stream). All were signed with credentials of `account`: a request acts in
    /// its credentials' account.
    #[serde(default)]
    pub requests: BTreeMap<String, u64>,
    /// What producers put to it (PutRecord, PutRecordBatch), once one has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<RecordStats>,
}

/// The records producers put to a stream: accepted (and their bytes of data) and refused (by
/// IAM, by KMS, or by the stream's type or status), in total and per minute of the sandbox's
/// clock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordStats {
    pub accepted: u64,
    pub refused: u64,
    pub bytes: u64,
    /// The minutes with puts (the last 15 days of them), oldest first.
    pub per_minute: Vec<MinuteRecords>,
}

/// One minute of a stream's puts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteRecords {
    /// The minute's start, epoch milliseconds.
    pub minute: i64,
    pub accepted: u64,
    pub refused: u64,
    pub bytes: u64,
}

impl Stats {
    /// The stream named `name` in `region` of the sandbox's own account, if any.
    pub fn stream(&self, region: &str, name: &str) -> Option<&StreamStats> {
        self.stream_of(&self.account, region, name)
    }

    /// The stream named `name` in `region` of `account`, if any.
    pub fn stream_of(&self, account: &str, region: &str, name: &str) -> Option<&StreamStats> {
        self.streams
            .iter()
            .find(|s| s.account == account && s.region == region && s.name == name)
    }

    /// The ground truth of `account`, if it is one of the world's.
    pub fn account_stats(&self, account: &str) -> Option<&AccountStats> {
        self.accounts.iter().find(|a| a.id == account)
    }

    /// Requests received for one operation.
    pub fn requests_for(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }

    /// Throttled answers for one operation.
    pub fn throttled_for(&self, operation: &str) -> u64 {
        self.throttled.get(operation).copied().unwrap_or(0)
    }
}
