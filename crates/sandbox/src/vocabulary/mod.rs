//! The sandbox's own reading of the AWS vocabulary: names, regions and partitions, ARNs, the
//! API's enums, error codes, identities (users, groups, roles, sessions, accounts), IAM's policy
//! language and the AWS managed policies it knows, and time. Written from
//! AWS's published service models (botocore `firehose/2015-08-04`, `kms/2014-11-01`,
//! `sts/2011-06-15`, `organizations/2016-11-28`, `iam/2010-05-08` and `partitions.json`), not
//! from the client's parsing: an emulator that shares the client's parsing shares its
//! misreadings. The bottom layer: it depends on nothing else in the crate.
//!
//! Where the sandbox's rule is narrower or wider than AWS's published pattern, the item says so
//! and why (the sandbox keeps the behaviour its tests and users rely on).

mod arn;
mod clock;
mod enums;
mod errors;
mod iam;
mod managed;
pub mod policy;

pub use arn::{ArnError, KmsKeyArn, firehose_arn, kms_key_arn};
pub use clock::{Clock, ManualClock, Millis, SystemClock, iso8601, iso8601_millis, parse_iso8601};
pub use enums::{
    AccountStatus, EncStatus, FailurePlace, JoinedMethod, KEY_SPECS, KEY_STATES, KEY_USAGES,
    KeyManager, KeyRef, KeyType, SEEDABLE_ENC_STATUSES, SEEDABLE_STREAM_STATUSES, StreamStatus,
    StreamType,
};
pub use errors::{ApiError, codes};
pub use iam::{
    DEFAULT_SESSION_SECONDS, IamArn, IamKind, ROLE_CHAINING_MAX_SECONDS, ROLE_MAX_SESSION_SECONDS,
    assumed_role_arn, iam_arn, is_valid_email, is_valid_external_id, is_valid_group_or_policy_name,
    is_valid_path, is_valid_policy_path, is_valid_role_name, is_valid_user_name, root_arn,
    unique_id,
};
pub use managed::{
    ADMINISTRATOR_ACCESS, AWS_MANAGED_POLICIES, AwsManagedPolicy, aws_managed_arn,
    aws_managed_policy,
};

#[cfg(test)]
mod tests;

/// `DeliveryStreamName`: 1–64 characters of `[a-zA-Z0-9_.-]` (Firehose model, shape
/// `DeliveryStreamName`: min 1, max 64, pattern `[a-zA-Z0-9_.-]+`).
pub fn is_valid_stream_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A KMS key id as the sandbox names its keys: 1–128 ASCII letters, digits and `-` (KMS makes
/// UUIDs, and `mrk-` + hex for multi-Region keys).
///
/// AWS's `AWSKMSKeyARNForSSE` pattern allows more after `key/` (`[a-zA-Z_0-9+=,.@\-_/]+`,
/// the ARN at most 512 characters); the sandbox has always refused those characters with
/// `InvalidArgumentException` and keeps doing so.
pub fn is_valid_key_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A Region code: lowercase letter groups joined by `-`, the first of two letters, then a
/// number of one or two digits, e.g. `us-east-1`, `us-gov-west-1`, `us-isob-east-1`.
///
/// AWS's `partitions.json` gives one pattern per partition (`aws`:
/// `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, `aws-cn`: `^cn\-\w+\-\d+$`, `aws-eusc`:
/// `^eusc\-(de)\-\w+\-\d+$`, ...). This rule is the sandbox's long-standing one: it accepts
/// any two-letter area (AWS lists eleven), refuses `eusc-de-east-1` (a four-letter area) and
/// the digits, capitals and `_` that `\w` allows in the middle, and allows at most two digits at
/// the end.
pub fn is_valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && words[0].len() == 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The partitions an ARN may name (the partition ids of `partitions.json`).
pub const PARTITIONS: [&str; 8] = [
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The partition of the ARNs the sandbox makes for a region: `aws-cn` for `cn-*`,
/// `aws-us-gov` for `us-gov-*`, `aws-iso-b` for `us-isob-*`, `aws-iso` for `us-iso-*`, else
/// `aws`.
///
/// `partitions.json` also puts `eu-isoe-*` in `aws-iso-e`, `us-isof-*` in `aws-iso-f` and
/// `eusc-*` in `aws-eusc`; the sandbox has always answered `aws` for those Regions and keeps
/// doing so.
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

/// The first 8 hex digits of the SHA-256 of `text`: a short, stable fingerprint (of a session
/// token in the ground truth; "" stays "").
pub fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    if text.is_empty() {
        return String::new();
    }
    Sha256::digest(text.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A 12-digit AWS account id (`\d{12}` in the ARN patterns of both models).
pub fn is_valid_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

/// Tags a Firehose stream may carry (Firehose API reference, TagDeliveryStream); keys
/// beginning `aws:`, which AWS sets, do not count.
pub const MAX_STREAM_TAGS: usize = 50;

/// The Firehose operations that name a stream, in the order the ground truth counts them.
pub const STREAM_OPERATIONS: [&str; 7] = [
    "CreateDeliveryStream",
    "DeleteDeliveryStream",
    "DescribeDeliveryStream",
    "StartDeliveryStreamEncryption",
    "StopDeliveryStreamEncryption",
    "PutRecord",
    "PutRecordBatch",
];
