//! The IAM principals a fleet file may declare in an account (at the top level for the
//! sandbox's own, in `accounts[]` for a member): users, groups and customer managed policies
//! (roles are `roles`, `accounts`), each with inline policies (`policies`: name → document) and
//! attached managed policies (`managed`: names or ARNs), and per stream the `producers`
//! shorthand: a role or user allowed to put records to that stream, with or without the KMS
//! permissions. A policy document is given as a JSON object or as its text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The text of a document as a fleet file gives it: a JSON text as is, an object as compact
/// JSON.
pub fn document_text(document: &Value) -> String {
    match document {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An IAM user. The user `sandbox` exists in every account (its base credentials' user, with
/// `AdministratorAccess`); declaring it adds to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub name: String,
    /// IAM path (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The groups (of the same account) it belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Inline policies: name → document.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, Value>,
    /// Attached managed policies: an AWS managed policy's name or ARN, or a customer managed
    /// policy of the account (its name or ARN).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<String>,
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<String>,
}

/// A customer managed policy (one version, `v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPolicy {
    pub name: String,
    /// Default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub document: Value,
}

/// What KMS permissions a producer's policy grants: none (`false`, the default), on every key
/// (`true`), or on one key (its ARN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SeedKmsGrant {
    All(bool),
    Key(String),
}

impl Default for SeedKmsGrant {
    fn default() -> Self {
        SeedKmsGrant::All(false)
    }
}

/// A principal that puts records to the stream it is listed on: a role (created with a trust
/// policy naming `service`, or the account's root without one, unless `roles` declares it) or
/// a user (created unless declared), given the inline policy `firehose-put-<region>-<stream>`
/// allowing `firehose:PutRecord` and `firehose:PutRecordBatch` on the stream and, with `kms`,
/// `kms:GenerateDataKey` and `kms:Decrypt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProducer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The service principal the created role trusts, e.g. `events.amazonaws.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default)]
    pub kms: SeedKmsGrant,
    /// A synthetic producer: records per second it puts to the stream, from the sandbox's start
    /// on, one record per `PutRecord` (absent: it puts nothing by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Bytes of data per record of a synthetic producer (default 1,024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// The data a synthetic producer's record carries unless its `bytes` says otherwise.
pub const DEFAULT_RECORD_BYTES: u64 = 1_024;

impl SeedProducer {
    /// The inline policy a producer of stream `arn` gets, for `kms_resource` (`None`: no KMS
    /// permissions).
    pub fn policy(stream_arn: &str, kms_resource: Option<&str>) -> Value {
        let mut statements = vec![serde_json::json!({
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": stream_arn,
        })];
        if let Some(key) = kms_resource {
            statements.push(serde_json::json!({
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": key,
            }));
        }
        serde_json::json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// The name of that policy.
    pub fn policy_name(region: &str, stream: &str) -> String {
        format!("firehose-put-{region}-{stream}")
    }

    /// The KMS resource its policy names: `*`, a key ARN, or none.
    pub fn kms_resource(&self) -> Option<&str> {
        match &self.kms {
            SeedKmsGrant::All(true) => Some("*"),
            SeedKmsGrant::All(false) => None,
            SeedKmsGrant::Key(arn) => Some(arn),
        }
    }
}
