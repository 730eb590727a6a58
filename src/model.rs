//! Domain vocabulary shared by every module: stream identities, key targets, AWS enums and the
//! ARN grammar we accept. Values here are already validated; raw text becomes one of these
//! types at the edges (the fleet reader, the cloud client), never deeper in.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

pub mod call;

pub use call::{AttemptOutcome, CallError, Operation};

/// The KMS key type of a Firehose encryption configuration (`KeyType` in the API), or — as a
/// fleet file's target only — `NONE`: encryption off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    AwsOwned,
    CustomerManaged,
    /// Not an AWS value: the fleet file's way to ask for encryption off (a Stop).
    None,
}

impl KeyType {
    pub const AWS_OWNED: &'static str = "AWS_OWNED_CMK";
    pub const CUSTOMER_MANAGED: &'static str = "CUSTOMER_MANAGED_CMK";
    pub const NONE: &'static str = "NONE";

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::AwsOwned => Self::AWS_OWNED,
            KeyType::CustomerManaged => Self::CUSTOMER_MANAGED,
            KeyType::None => Self::NONE,
        }
    }

    /// Parses the API spelling (and `NONE`), case-insensitively (operators type these by
    /// hand).
    pub fn parse(text: &str) -> Option<Self> {
        [KeyType::AwsOwned, KeyType::CustomerManaged, KeyType::None]
            .into_iter()
            .find(|k| text.eq_ignore_ascii_case(k.as_str()))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which key a stream is (or should be) encrypted with; as a target, `Off` asks for no
/// encryption (a Stop). Observations and keys in force are never `Off` (no key is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyChoice {
    /// `AWS_OWNED_CMK`: no key ARN, no per-key stream limit.
    AwsOwned,
    /// `CUSTOMER_MANAGED_CMK` with its key ARN.
    Customer(KmsKeyArn),
    /// A target only: encryption off (`StopDeliveryStreamEncryption`).
    Off,
}

impl KeyChoice {
    pub fn key_type(&self) -> KeyType {
        match self {
            KeyChoice::AwsOwned => KeyType::AwsOwned,
            KeyChoice::Customer(_) => KeyType::CustomerManaged,
            KeyChoice::Off => KeyType::None,
        }
    }

    pub fn key_arn(&self) -> Option<&KmsKeyArn> {
        match self {
            KeyChoice::AwsOwned | KeyChoice::Off => None,
            KeyChoice::Customer(arn) => Some(arn),
        }
    }

    /// Whether reaching it takes a Stop rather than a Start.
    pub fn is_off(&self) -> bool {
        matches!(self, KeyChoice::Off)
    }

    /// Where a stream whose encryption Describe shows as `status` with `key` stands with
    /// respect to this target (Start goes ENABLING → ENABLED | ENABLING_FAILED, Stop DISABLING →
    /// DISABLED | DISABLING_FAILED: docs/design.md#the-asynchronous-transition-and-polling).
    pub fn reached(&self, status: &EncStatus, key: Option<&KeyChoice>) -> Reached {
        let ours = key == Some(self);
        match (self, status) {
            (KeyChoice::Off, EncStatus::Disabled) => Reached::Done,
            (KeyChoice::Off, EncStatus::Disabling) => Reached::Moving,
            (KeyChoice::Off, EncStatus::DisablingFailed) => Reached::Failed,
            (KeyChoice::Off, EncStatus::Enabling) => Reached::Elsewhere,
            (_, EncStatus::Enabled) if ours => Reached::Done,
            (_, EncStatus::Enabling) if ours => Reached::Moving,
            (_, EncStatus::EnablingFailed) if ours => Reached::Failed,
            (_, EncStatus::Enabling | EncStatus::Disabling) => Reached::Elsewhere,
            (_, EncStatus::Other(_)) => Reached::Unknown,
            _ => Reached::Not,
        }
    }

    /// Rebuilds a choice from stored columns; `None` when they are inconsistent.
    pub fn from_parts(key_type: &str, key_arn: Option<&str>) -> Option<Self> {
        match (KeyType::parse(key_type)?, key_arn) {
            (KeyType::AwsOwned, _) => Some(KeyChoice::AwsOwned),
            (KeyType::CustomerManaged, Some(arn)) => {
                KmsKeyArn::parse(arn).ok().map(KeyChoice::Customer)
            }
            (KeyType::CustomerManaged, None) => None,
            (KeyType::None, _) => Some(KeyChoice::Off),
        }
    }
}

/// Where a stream stands with respect to its target ([`KeyChoice::reached`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// At the target (ENABLED with its key, or DISABLED for encryption off).
    Done,
    /// On its way there (ENABLING towards its key, DISABLING for off).
    Moving,
    /// The last attempt to get there failed (ENABLING_FAILED towards it, DISABLING_FAILED).
    Failed,
    /// Another transition is under way (someone else's Start or Stop).
    Elsewhere,
    /// An encryption status nobody here knows.
    Unknown,
    /// Neither there nor moving: a Start or Stop is needed.
    Not,
}

impl fmt::Display for KeyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyChoice::AwsOwned => f.write_str("aws-owned"),
            KeyChoice::Customer(arn) => write!(f, "{arn}"),
            KeyChoice::Off => f.write_str("off"),
        }
    }
}

/// A stream's identity in the ledger: (account, region, name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.account, self.region, self.name)
    }
}

/// Stream names Firehose accepts: `[a-zA-Z0-9_.-]{1,64}`.
pub fn is_valid_stream_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Region codes such as `us-east-1`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`:
/// lowercase letter groups joined by `-`, the first of two letters, the last a number.
pub fn is_valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((last, rest)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && rest[0].len() == 2
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.len() <= 2
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// 12-digit AWS account id.
pub fn is_valid_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

/// The partition a Region is in, as the AWS SDKs' endpoint resolver reads it (its partitions
/// table, `regionRegex` per partition): `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`,
/// `aws-iso` for `us-iso-*`, `aws-iso-b` for `us-isob-*`, `aws-iso-e` for `eu-isoe-*`,
/// `aws-iso-f` for `us-isof-*`, `aws-eusc` for `eusc-de-*`; anything else `aws`, the
/// resolver's fallback too. ARNs (`arn:<partition>:…`) and the global services' endpoints go by
/// it: IAM credentials of one partition reach nothing in another.
pub fn partition_of(region: &str) -> &'static str {
    let area = |prefix: &str| {
        region
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('-'))
    };
    if area("cn") {
        "aws-cn"
    } else if area("us-gov") {
        "aws-us-gov"
    } else if area("us-isob") {
        "aws-iso-b"
    } else if area("us-isof") {
        "aws-iso-f"
    } else if area("us-iso") {
        "aws-iso"
    } else if area("eu-isoe") {
        "aws-iso-e"
    } else if area("eusc-de") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// A Region of `partition` for the calls that are not about one Region's streams (Organizations,
/// IAM): the partition's `implicitGlobalRegion` in the SDKs' partitions table. Given it, the
/// SDK's endpoint rules pick each global service's endpoint and signing Region in the partition
/// (Organizations `organizations.us-east-1.amazonaws.com`, `…cn-northwest-1.amazonaws.com.cn`,
/// `…us-gov-west-1.amazonaws.com`; IAM `iam.amazonaws.com`, `iam.cn-north-1.amazonaws.com.cn`,
/// `iam.us-gov.amazonaws.com`).
pub fn global_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-northwest-1",
        "aws-us-gov" => "us-gov-west-1",
        "aws-iso" => "us-iso-east-1",
        "aws-iso-b" => "us-isob-east-1",
        "aws-iso-e" => "eu-isoe-west-1",
        "aws-iso-f" => "us-isof-south-1",
        "aws-eusc" => "eusc-de-east-1",
        _ => "us-east-1",
    }
}

fn is_valid_partition(partition: &str) -> bool {
    matches!(
        partition,
        "aws"
            | "aws-cn"
            | "aws-us-gov"
            | "aws-iso"
            | "aws-iso-b"
            | "aws-iso-e"
            | "aws-iso-f"
            | "aws-eusc"
    )
}

/// Why an ARN was refused; the message is shown to operators as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("not an ARN (expected arn:<partition>:<service>:<region>:<account>:<resource>)")]
    NotAnArn,
    #[error("unknown partition {0:?} (expected aws, aws-cn, aws-us-gov, ...)")]
    Partition(String),
    #[error("is an ARN of partition {0:?}, but region {1:?} is in partition {2:?}")]
    WrongPartition(String, String, &'static str),
    #[error("an ARN of service {0:?}, not {1:?}")]
    Service(String, &'static str),
    #[error("malformed region {0:?}")]
    Region(String),
    #[error("malformed account id {0:?} (expected 12 digits)")]
    Account(String),
    #[error(
        "a KMS alias ARN, not a key ARN: Firehose needs the key ARN \
         (arn:<partition>:kms:<region>:<account>:key/<key-id>), resolve it with \
         `aws kms describe-key --key-id <alias>`"
    )]
    KmsAlias,
    #[error("resource {0:?} is not {1}")]
    Resource(String, &'static str),
}

impl ArnError {
    /// What is wrong with a value given as a KMS key ARN, to follow `VALUE: `: an alias says
    /// so itself, anything else is "not a KMS key ARN" and why.
    pub fn as_key_problem(&self) -> String {
        match self {
            ArnError::KmsAlias => self.to_string(),
            other => format!("not a KMS key ARN: {other}"),
        }
    }
}

struct ArnParts<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn split_arn(text: &str) -> Result<ArnParts<'_>, ArnError> {
    let mut it = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err(ArnError::NotAnArn);
    };
    if !is_valid_partition(partition) {
        return Err(ArnError::Partition(partition.to_owned()));
    }
    Ok(ArnParts {
        partition,
        service,
        region,
        account,
        resource,
    })
}

fn check_region_account(parts: &ArnParts<'_>) -> Result<(), ArnError> {
    if !is_valid_region(parts.region) {
        return Err(ArnError::Region(parts.region.to_owned()));
    }
    let partition = partition_of(parts.region);
    if parts.partition != partition {
        return Err(ArnError::WrongPartition(
            parts.partition.to_owned(),
            parts.region.to_owned(),
            partition,
        ));
    }
    if !is_valid_account(parts.account) {
        return Err(ArnError::Account(parts.account.to_owned()));
    }
    Ok(())
}

/// `arn:<partition>:firehose:<region>:<account>:deliverystream/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FirehoseArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

impl FirehoseArn {
    pub fn parse(text: &str) -> Result<Self, ArnError> {
        let parts = split_arn(text)?;
        if parts.service != "firehose" {
            return Err(ArnError::Service(parts.service.to_owned(), "firehose"));
        }
        check_region_account(&parts)?;
        let name = parts
            .resource
            .strip_prefix("deliverystream/")
            .filter(|n| is_valid_stream_name(n))
            .ok_or_else(|| {
                ArnError::Resource(
                    parts.resource.to_owned(),
                    "deliverystream/<name> with a name of 1-64 characters [a-zA-Z0-9_.-]",
                )
            })?;
        Ok(FirehoseArn {
            partition: parts.partition.to_owned(),
            region: parts.region.to_owned(),
            account: parts.account.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// `arn:<partition>:kms:<region>:<account>:key/<key-id>` (a key, never an alias).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KmsKeyArn {
    /// Validated by [`KmsKeyArn::parse`]; clones share it, so the copies one fleet row's key
    /// goes through (its target, plan item and run track) hold one string.
    arn: Arc<str>,
}

impl KmsKeyArn {
    pub fn parse(text: &str) -> Result<Self, ArnError> {
        let parts = split_arn(text)?;
        if parts.service != "kms" {
            return Err(ArnError::Service(parts.service.to_owned(), "kms"));
        }
        if parts.resource.starts_with("alias/") {
            return Err(ArnError::KmsAlias);
        }
        check_region_account(&parts)?;
        parts
            .resource
            .strip_prefix("key/")
            .filter(|id| {
                (1..=128).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .ok_or_else(|| ArnError::Resource(parts.resource.to_owned(), "key/<key-id>"))?;
        Ok(KmsKeyArn { arn: text.into() })
    }

    /// The `n`th `:`-separated field of the (validated) ARN.
    fn field(&self, n: usize) -> &str {
        self.arn.splitn(6, ':').nth(n).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.arn
    }
    pub fn region(&self) -> &str {
        self.field(3)
    }
    pub fn account(&self) -> &str {
        self.field(4)
    }
    pub fn key_id(&self) -> &str {
        self.field(5).trim_start_matches("key/")
    }
}

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// Hands out one shared copy of each distinct string (regions, accounts).
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = s.into();
        self.0.insert(shared.clone());
        shared
    }
}

/// Defines a string-backed enum mirroring an AWS enum: known values plus `Other` for values a
/// newer API may send, kept verbatim.
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            Other(String),
        }

        impl $name {
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

aws_enum!(
    /// `DeliveryStreamType`: only `DirectPut` streams can be encrypted by Start.
    SourceType {
        DirectPut => "DirectPut",
        KinesisStreamAsSource => "KinesisStreamAsSource",
        MskAsSource => "MSKAsSource",
        DatabaseAsSource => "DatabaseAsSource",
    }
);

aws_enum!(
    /// `DeliveryStreamStatus`.
    StreamStatus {
        Creating => "CREATING",
        CreatingFailed => "CREATING_FAILED",
        Deleting => "DELETING",
        DeletingFailed => "DELETING_FAILED",
        Active => "ACTIVE",
    }
);

aws_enum!(
    /// `DeliveryStreamEncryptionStatus`.
    EncStatus {
        Enabled => "ENABLED",
        Enabling => "ENABLING",
        EnablingFailed => "ENABLING_FAILED",
        Disabled => "DISABLED",
        Disabling => "DISABLING",
        DisablingFailed => "DISABLING_FAILED",
    }
);

/// A stream's encryption configuration as Describe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub status: EncStatus,
    /// `None` when Describe gave no key type (encryption never configured).
    pub key: Option<KeyChoice>,
    /// `FailureDescription {Type, Details}` of a failed transition.
    pub failure: Option<Failure>,
}

impl Encryption {
    pub fn disabled() -> Self {
        Encryption {
            status: EncStatus::Disabled,
            key: None,
            failure: None,
        }
    }
}

/// `FailureDescription`: the type (kept verbatim) and the service's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: String,
    pub details: String,
}

/// What one Describe of a stream showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamObservation {
    pub id: StreamId,
    pub arn: String,
    pub source: SourceType,
    /// The stream a non-DirectPut stream reads from (Kinesis stream or MSK cluster ARN), where
    /// Describe's `Source` names it.
    pub source_arn: Option<String>,
    pub status: StreamStatus,
    pub encryption: Encryption,
}

/// How the Kinesis stream a `KinesisStreamAsSource` stream reads from is encrypted (Kinesis
/// `DescribeStreamSummary`): server-side encryption there protects the data Firehose reads,
/// since Firehose does not store it at rest itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "encryption", rename_all = "snake_case")]
pub enum SourceEncryption {
    /// `EncryptionType` KMS, with its `KeyId` (a key ARN or id, or an alias such as
    /// `alias/aws/kinesis`).
    Kms { key_id: String },
    /// `EncryptionType` NONE.
    None,
    /// DescribeStreamSummary did not answer; why (the IAM action it needs when refused).
    Unreadable { why: String },
}

impl SourceEncryption {
    /// `KMS, key K`, `NOT encrypted` or `cannot be read: WHY`.
    pub fn describe(&self) -> String {
        match self {
            SourceEncryption::Kms { key_id } => format!("KMS, key {key_id}"),
            SourceEncryption::None => "NOT encrypted".to_owned(),
            SourceEncryption::Unreadable { why } => format!("cannot be read: {why}"),
        }
    }

    /// Its name in counts: `KMS`, `NONE`, `unreadable`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceEncryption::Kms { .. } => "KMS",
            SourceEncryption::None => "NONE",
            SourceEncryption::Unreadable { .. } => "unreadable",
        }
    }
}

/// The Kinesis stream name of a Kinesis stream ARN (`arn:…:kinesis:…:stream/NAME`).
pub fn kinesis_stream_name(arn: &str) -> Option<&str> {
    let (head, name) = arn.split_once(":stream/")?;
    (head.contains(":kinesis:") && !name.is_empty()).then_some(name)
}

/// What one KMS DescribeKey showed (or that the key does not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyObservation {
    pub arn: KmsKeyArn,
    /// `false` when KMS answered NotFound (or the key is in another region).
    pub found: bool,
    /// `KeyState`: Enabled, Disabled, PendingDeletion, ...
    pub state: String,
    /// `KeySpec`, e.g. SYMMETRIC_DEFAULT.
    pub spec: String,
    /// `KeyUsage`, e.g. ENCRYPT_DECRYPT.
    pub usage: String,
    /// `KeyManager`: CUSTOMER or AWS (AWS-managed keys cannot be a customer-managed CMK).
    pub manager: String,
    /// `false` when DescribeKey was refused (access denied): nothing else is known.
    pub readable: bool,
}

impl KeyObservation {
    /// A key KMS does not know (or that is in another region).
    pub fn not_found(arn: KmsKeyArn) -> Self {
        KeyObservation {
            arn,
            found: false,
            state: String::new(),
            spec: String::new(),
            usage: String::new(),
            manager: String::new(),
            readable: true,
        }
    }

    /// A key DescribeKey may not read.
    pub fn unreadable(arn: KmsKeyArn) -> Self {
        KeyObservation {
            readable: false,
            found: true,
            ..KeyObservation::not_found(arn)
        }
    }
}

#[cfg(test)]
mod tests;
