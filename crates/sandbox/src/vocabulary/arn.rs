//! ARNs: `arn:<partition>:<service>:<region>:<account>:<resource>`. The sandbox reads KMS key
//! ARNs (Firehose's `KeyARN`, KMS's `KeyId`, the fleet file's `key_arn`) and writes Firehose
//! stream and KMS key ARNs.
//!
//! Firehose's model gives `KeyARN` the shape `AWSKMSKeyARNForSSE`: 1–512 characters of
//! `arn:.*:kms:[a-zA-Z0-9\-]+:\d{12}:key/[a-zA-Z_0-9+=,.@\-_/]+`, so an alias ARN is not a key
//! ARN. The sandbox reads the fields more strictly than that pattern: the partition must be one
//! of [`PARTITIONS`], the region must pass [`is_valid_region`] and the key id
//! [`is_valid_key_id`].

use std::fmt;

use super::{PARTITIONS, is_valid_account, is_valid_key_id, is_valid_region, partition};

/// Why a text is not a KMS key ARN; the message is part of the sandbox's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("not an ARN (expected arn:<partition>:<service>:<region>:<account>:<resource>)")]
    NotAnArn,
    #[error("unknown partition {0:?} (expected aws, aws-cn, aws-us-gov, ...)")]
    Partition(String),
    #[error("is an ARN of service {0:?}, expected \"kms\"")]
    Service(String),
    #[error("malformed region {0:?}")]
    Region(String),
    #[error("malformed account id {0:?} (expected 12 digits)")]
    Account(String),
    #[error(
        "is a KMS alias ARN; Firehose needs the key ARN (arn:<partition>:kms:<region>:<account>:key/<key-id>), \
         resolve it with `aws kms describe-key --key-id <alias>`"
    )]
    Alias,
    #[error("resource {0:?} is not key/<key-id>")]
    Resource(String),
}

/// A KMS key ARN, read field by field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KmsKeyArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub key_id: String,
}

impl KmsKeyArn {
    /// Reads `arn:<partition>:kms:<region>:<account>:key/<key-id>`. The checks run in this
    /// order, and the first that fails names the problem: the six fields, the partition, the
    /// service, an alias (before the region and account, so an alias ARN is called one), the
    /// region, the account, the key id.
    pub fn parse(text: &str) -> Result<KmsKeyArn, ArnError> {
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = fields[..] else {
            return Err(ArnError::NotAnArn);
        };
        if arn != "arn" {
            return Err(ArnError::NotAnArn);
        }
        if !PARTITIONS.contains(&partition) {
            return Err(ArnError::Partition(partition.to_owned()));
        }
        if service != "kms" {
            return Err(ArnError::Service(service.to_owned()));
        }
        if resource.starts_with("alias/") {
            return Err(ArnError::Alias);
        }
        if !is_valid_region(region) {
            return Err(ArnError::Region(region.to_owned()));
        }
        if !is_valid_account(account) {
            return Err(ArnError::Account(account.to_owned()));
        }
        let key_id = resource
            .strip_prefix("key/")
            .filter(|id| is_valid_key_id(id))
            .ok_or_else(|| ArnError::Resource(resource.to_owned()))?;
        Ok(KmsKeyArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            key_id: key_id.to_owned(),
        })
    }
}

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:kms:{}:{}:key/{}",
            self.partition, self.region, self.account, self.key_id
        )
    }
}

/// The ARN of key `id` of `account` in `region` (`KeyMetadata.Arn`).
pub fn kms_key_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:{}:kms:{region}:{account}:key/{id}", partition(region))
}

/// The ARN of stream `name` of `account` in `region` (`DeliveryStreamARN`, shape
/// `arn:.*:firehose:[a-zA-Z0-9\-]+:\d{12}:deliverystream/[a-zA-Z0-9._-]+`).
pub fn firehose_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:firehose:{region}:{account}:deliverystream/{name}",
        partition(region)
    )
}
