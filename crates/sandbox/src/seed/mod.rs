//! The world a sandbox starts with: streams and KMS keys, of the sandbox's account and of the
//! member accounts of its organization (`accounts`, with the roles callers may assume), their
//! IAM principals (`iam`: users, groups, managed policies; `producers` of a stream) and key
//! policies, read from a JSON fleet description (`--fleet FILE`, format in
//! crates/sandbox/README.md#fleet-file---fleet-file) or generated (`--streams N`, `--accounts N`),
//! and checked, every problem at once, before the sandbox serves anything. Above the vocabulary,
//! below the world.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::vocabulary::FailurePlace;

/// Streams, keys, roles, IAM principals, accounts and credentials to create at start-up. The
/// top-level streams, keys, roles, users, groups and policies are the sandbox's own account's
/// (`--account`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub streams: Vec<SeedStream>,
    #[serde(default)]
    pub keys: Vec<SeedKey>,
    /// Access keys that expire: requests signed with one answer `ExpiredTokenException` once
    /// it has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<SeedCredential>,
    /// Roles of the sandbox's own account that callers may assume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<SeedRole>,
    /// The member accounts of the organization the sandbox's account manages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<SeedAccount>,
    /// IAM users of the sandbox's own account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<SeedUser>,
    /// IAM groups of the sandbox's own account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<SeedGroup>,
    /// Customer managed policies of the sandbox's own account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<SeedPolicy>,
    /// IAM requests per second per account (all IAM operations together, a token bucket with
    /// a burst of as many); beyond it IAM answers `Throttling`. Absent or 0: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_tps: Option<u32>,
    /// The granularity CloudWatch's datapoints are kept at (`"60s"`, `"1s"`, ...): 1, 5, 10,
    /// 20 or 30 seconds, or a multiple of 60 seconds. Absent: 60 seconds, as Firehose
    /// publishes its metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_period: Option<String>,
    /// Kinesis data streams (the sources of `KinesisStreamAsSource` streams), of the
    /// sandbox's account unless one names another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinesis_streams: Vec<SeedKinesisStream>,
}

/// A Kinesis data stream, ACTIVE, encrypted with `key_id` when given (`EncryptionType` KMS:
/// a key ARN or id, or an alias such as `alias/aws/kinesis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedKinesisStream {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Its shards (PROVISIONED); absent: ON_DEMAND.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
}

/// An access key that expires `expires_after` (`3s`, `1h`, `0s` = already) after the sandbox
/// starts; requests signed with it act in `account` (default the sandbox's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCredential {
    pub access_key: String,
    pub expires_after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The IAM user of that account the key belongs to (default `sandbox`, the account's
    /// administrator): requests signed with it act with that user's policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl SeedCredential {
    /// `expires_after` read.
    pub fn expires_after(&self) -> Result<Duration, String> {
        humantime::parse_duration(&self.expires_after)
            .map_err(|e| format!("expires_after {:?}: {e}", self.expires_after))
    }
}

/// Reads a member that may be given as `null` (then `Some(None)`), or left out (`None`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A stream as it exists when the sandbox starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedStream {
    pub name: String,
    /// Defaults to the sandbox's region (`--region`).
    #[serde(default)]
    pub region: Option<String>,
    /// `DeliveryStreamType`: DirectPut (default), KinesisStreamAsSource, MSKAsSource,
    /// DatabaseAsSource.
    #[serde(rename = "type", default = "default_stream_type")]
    pub stream_type: String,
    /// `DeliveryStreamStatus`: ACTIVE (default), CREATING, DELETING, CREATING_FAILED,
    /// DELETING_FAILED. Seeded statuses other than ACTIVE never change.
    #[serde(default = "default_stream_status")]
    pub status: String,
    /// Encryption already on (status ENABLED unless it says otherwise); absent = unencrypted
    /// (DISABLED).
    #[serde(default)]
    pub encryption: Option<SeedEncryption>,
    /// The source's ARN Describe shows: the Kinesis stream (KinesisStreamAsSource, default
    /// `arn:aws:kinesis:<region>:<account>:stream/<name>`) or the MSK cluster (MSKAsSource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// The roles and users that put records to it (created or extended with a policy allowing
    /// it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<SeedProducer>,
    /// Its tags, keys beginning `aws:` included (as CloudFormation tags its stacks'
    /// resources: `aws:cloudformation:stack-name`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// The encryption a seeded stream shows, and the key actually protecting its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEncryption {
    /// `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`; inferred from `key_arn` when absent.
    #[serde(default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub key_arn: Option<String>,
    /// ENABLED (default), ENABLING_FAILED, DISABLING (settles to DISABLED after the latency)
    /// or DISABLING_FAILED: a stream first seen mid-transition or after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The key protecting the data: a key ARN, `AWS_OWNED_CMK`, or `null`. Default: the key
    /// shown, but `null` for ENABLING_FAILED.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_force: Option<Option<String>>,
    /// The `FailureDescription` of an ENABLING_FAILED or DISABLING_FAILED stream (default:
    /// `CREATE_KMS_GRANT_FAILED` or `RETIRE_KMS_GRANT_FAILED`, shown in the encryption
    /// configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<SeedStreamFailure>,
}

/// A seeded failed transition's `FailureDescription`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedStreamFailure {
    /// Any `DeliveryStreamFailureType`.
    #[serde(rename = "type")]
    pub failure_type: String,
    /// Where Describe shows it: `encryption` (default), `stream` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A KMS key. Its ARN is `arn:aws:kms:<region>:<account>:key/<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedKey {
    /// Key id, e.g. `1234abcd-12ab-34cd-56ef-1234567890ab` (letters, digits, `-`).
    pub id: String,
    /// Defaults to the sandbox's region.
    #[serde(default)]
    pub region: Option<String>,
    /// `KeyState`: Enabled (default), or any other value of the KMS model (Disabled,
    /// PendingDeletion, PendingImport, PendingReplicaDeletion, Unavailable, Creating, Updating).
    #[serde(default = "default_key_state")]
    pub state: String,
    /// `KeySpec`: SYMMETRIC_DEFAULT (default), RSA_2048, HMAC_256, ...
    #[serde(default = "default_key_spec")]
    pub spec: String,
    /// `KeyUsage`: ENCRYPT_DECRYPT (default), SIGN_VERIFY, GENERATE_VERIFY_MAC, ...
    #[serde(default = "default_key_usage")]
    pub usage: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Make Starts with this key fail, whatever its state.
    #[serde(default)]
    pub failure: Option<SeedFailure>,
    /// `KeyManager`: CUSTOMER (default) or AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// The account owning the key (default the account whose `keys` list it is in): its ARN is
    /// of that account, and Starts of any account may use it (its policy allows them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// DescribeKey of this key answers this KMS error code (e.g. `AccessDeniedException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub describe_error: Option<String>,
    /// Starts (and Creates) with this key are refused at once with
    /// `InvalidKMSResourceException` carrying this KMS error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_error: Option<SeedStartError>,
    /// The key policy (a JSON object or its text); default: KMS's default key policy, which
    /// lets the owning account's IAM policies decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

/// The first `times` Starts with a key (every one without `times`) are refused with
/// `InvalidKMSResourceException` whose `code` is the KMS error `code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedStartError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

/// The KMS errors Firehose turns into `InvalidKMSResourceException` (Firehose model, shape
/// `InvalidKMSResourceException`).
pub const START_ERROR_CODES: [&str; 4] = [
    "AccessDeniedException",
    "InvalidStateException",
    "DisabledException",
    "NotFoundException",
];

/// The first `times` Starts using a key (every one when `times` is absent) end ENABLING_FAILED
/// with `FailureDescription.Type` = `failure_type` (any `DeliveryStreamFailureType`, e.g.
/// KMS_ACCESS_DENIED, CREATE_KMS_GRANT_FAILED, UNKNOWN_ERROR), shown where `description` says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFailure {
    #[serde(rename = "type")]
    pub failure_type: String,
    #[serde(default)]
    pub times: Option<u32>,
    /// Where Describe shows the FailureDescription: `encryption` (default), `stream` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A `description` of a failure: where Describe shows it.
pub(crate) fn failure_place(description: Option<&str>) -> Result<FailurePlace, String> {
    match description {
        None => Ok(FailurePlace::Encryption),
        Some(d) => FailurePlace::parse(d).ok_or_else(|| {
            format!(
                "failure description {d:?} is not one of {}",
                FailurePlace::list()
            )
        }),
    }
}

/// Everything wrong with a seed, one problem a line.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read fleet description {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("fleet description {path} is not valid: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid sandbox world:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

fn default_stream_type() -> String {
    "DirectPut".into()
}
fn default_stream_status() -> String {
    "ACTIVE".into()
}
fn default_key_state() -> String {
    "Enabled".into()
}
fn default_key_spec() -> String {
    "SYMMETRIC_DEFAULT".into()
}
fn default_key_usage() -> String {
    "ENCRYPT_DECRYPT".into()
}

impl SeedStream {
    /// An ACTIVE, unencrypted DirectPut stream.
    pub fn direct_put(name: impl Into<String>, region: impl Into<String>) -> Self {
        SeedStream {
            name: name.into(),
            region: Some(region.into()),
            stream_type: default_stream_type(),
            status: default_stream_status(),
            encryption: None,
            source_arn: None,
            producers: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
}

impl SeedKey {
    /// An enabled symmetric ENCRYPT_DECRYPT key.
    pub fn symmetric(id: impl Into<String>, region: impl Into<String>) -> Self {
        SeedKey {
            id: id.into(),
            region: Some(region.into()),
            state: default_key_state(),
            spec: default_key_spec(),
            usage: default_key_usage(),
            description: None,
            failure: None,
            manager: None,
            account: None,
            describe_error: None,
            start_error: None,
            policy: None,
        }
    }

    /// The account owning the key.
    pub fn account_or<'a>(&'a self, sandbox_account: &'a str) -> &'a str {
        self.account.as_deref().unwrap_or(sandbox_account)
    }
}

impl Seed {
    /// Reads a JSON fleet description.
    pub fn from_file(path: &Path) -> Result<Seed, SeedError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|source| {
            SeedError::Parse {
                path: shown,
                source,
            }
        })
    }

    /// `n` ACTIVE, unencrypted DirectPut streams `stream-00000`, `stream-00001`, ... in `region`.
    pub fn generated(n: usize, region: &str) -> Seed {
        let width = n.saturating_sub(1).to_string().len().max(5);
        Seed {
            streams: (0..n)
                .map(|i| SeedStream::direct_put(format!("stream-{i:0width$}"), region))
                .collect(),
            ..Seed::default()
        }
    }

    /// Adds another seed's streams, keys, credentials, roles, IAM principals and accounts to
    /// this one (its `iam_tps` when this one has none).
    pub fn extend(&mut self, other: Seed) {
        self.streams.extend(other.streams);
        self.keys.extend(other.keys);
        self.credentials.extend(other.credentials);
        self.roles.extend(other.roles);
        self.accounts.extend(other.accounts);
        self.users.extend(other.users);
        self.groups.extend(other.groups);
        self.policies.extend(other.policies);
        self.iam_tps = self.iam_tps.or(other.iam_tps);
        self.metric_period = self.metric_period.take().or(other.metric_period);
        self.kinesis_streams.extend(other.kinesis_streams);
    }

    /// Sets the granularity of CloudWatch's datapoints (what `--metric-period` sets).
    pub fn with_metric_period(mut self, period: Duration) -> Seed {
        self.metric_period = Some(humantime::format_duration(period).to_string());
        self
    }

    /// `metric_period` read: the default (60 s) when absent.
    pub fn metric_period(&self) -> Result<Duration, String> {
        let Some(text) = &self.metric_period else {
            return Ok(DEFAULT_METRIC_PERIOD);
        };
        let period =
            humantime::parse_duration(text).map_err(|e| format!("metric_period {text:?}: {e}"))?;
        let ms = period.as_millis();
        let valid = (ms % 1_000 == 0 && matches!(ms / 1_000, 1 | 5 | 10 | 20 | 30))
            || (ms > 0 && ms % 60_000 == 0);
        if valid {
            Ok(period)
        } else {
            Err(format!(
                "metric_period {text:?} must be 1, 5, 10, 20 or 30 seconds, or a multiple of 60 seconds (the periods CloudWatch keeps datapoints at)"
            ))
        }
    }
}

/// The granularity of CloudWatch's datapoints unless the world file says otherwise: Firehose
/// publishes its metrics every minute.
pub const DEFAULT_METRIC_PERIOD: Duration = Duration::from_secs(60);

mod accounts;
mod check;
mod check_iam;
mod iam;

pub(crate) use accounts::Scope;
pub use accounts::{FIRST_GENERATED_ACCOUNT, SeedAccount, SeedRole, trust_policy};
pub(crate) use check::SeedKeyRef;
pub use iam::{
    DEFAULT_RECORD_BYTES, SeedGroup, SeedKmsGrant, SeedPolicy, SeedProducer, SeedUser,
    document_text,
};

#[cfg(test)]
pub(crate) mod tests;
