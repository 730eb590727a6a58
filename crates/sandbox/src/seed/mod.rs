//! The world a sandbox starts with: streams and KMS keys, read from a JSON fleet description
//! (`--fleet FILE`, format in README "Sandbox") or generated (`--streams N`), and checked, every
//! problem at once, before the sandbox serves anything. Above the vocabulary, below the world.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::vocabulary::{
    KEY_SPECS, KEY_STATES, KEY_USAGES, KeyType, KmsKeyArn, SEEDABLE_STREAM_STATUSES, StreamType,
    is_valid_key_id, is_valid_region, is_valid_stream_name,
};

/// Streams and keys to create at start-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub streams: Vec<SeedStream>,
    #[serde(default)]
    pub keys: Vec<SeedKey>,
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
    /// Encryption already on (status ENABLED); absent = unencrypted (DISABLED).
    #[serde(default)]
    pub encryption: Option<SeedEncryption>,
}

/// The key an already-encrypted seeded stream uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEncryption {
    /// `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`; inferred from `key_arn` when absent.
    #[serde(default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub key_arn: Option<String>,
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
    /// `KeyState`: Enabled (default), Disabled, PendingDeletion.
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
}

/// The first `times` Starts using a key (every one when `times` is absent) end ENABLING_FAILED
/// with `FailureDescription.Type` = `failure_type` (any `DeliveryStreamFailureType`, e.g.
/// KMS_ACCESS_DENIED, CREATE_KMS_GRANT_FAILED, UNKNOWN_ERROR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFailure {
    #[serde(rename = "type")]
    pub failure_type: String,
    #[serde(default)]
    pub times: Option<u32>,
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
        }
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
            keys: Vec::new(),
        }
    }

    /// Adds another seed's streams and keys to this one.
    pub fn extend(&mut self, other: Seed) {
        self.streams.extend(other.streams);
        self.keys.extend(other.keys);
    }

    /// Every problem in the seed, at once; `default_region` stands in for absent regions.
    pub fn check(&self, account: &str, default_region: &str) -> Result<(), SeedError> {
        let mut errors = Vec::new();
        let mut names = HashSet::new();
        for (i, s) in self.streams.iter().enumerate() {
            let at = format!("streams[{i}] {:?}", s.name);
            let region = s.region.as_deref().unwrap_or(default_region);
            if !is_valid_stream_name(&s.name) {
                errors.push(format!("{at}: name must be 1-64 characters [a-zA-Z0-9_.-]"));
            }
            if !is_valid_region(region) {
                errors.push(format!("{at}: malformed region {region:?}"));
            }
            if !names.insert((region.to_owned(), s.name.clone())) {
                errors.push(format!(
                    "{at}: a stream of that name already exists in {region}"
                ));
            }
            if StreamType::parse(&s.stream_type).is_none() {
                errors.push(format!(
                    "{at}: type {:?} is not one of {}",
                    s.stream_type,
                    StreamType::list()
                ));
            }
            if !SEEDABLE_STREAM_STATUSES
                .iter()
                .any(|status| status.as_str() == s.status)
            {
                let list: Vec<&str> = SEEDABLE_STREAM_STATUSES
                    .iter()
                    .map(|s| s.as_str())
                    .collect();
                errors.push(format!(
                    "{at}: status {:?} is not one of {}",
                    s.status,
                    list.join(", ")
                ));
            }
            if let Some(enc) = &s.encryption {
                if s.stream_type != "DirectPut" {
                    errors.push(format!("{at}: only DirectPut streams can be encrypted"));
                }
                if let Err(e) = enc.key(account) {
                    errors.push(format!("{at}: encryption: {e}"));
                }
            }
        }
        let mut ids = HashSet::new();
        for (i, k) in self.keys.iter().enumerate() {
            let at = format!("keys[{i}] {:?}", k.id);
            let region = k.region.as_deref().unwrap_or(default_region);
            if !is_valid_key_id(&k.id) {
                errors.push(format!("{at}: id must be 1-128 letters, digits or '-'"));
            }
            if !is_valid_region(region) {
                errors.push(format!("{at}: malformed region {region:?}"));
            }
            if !ids.insert((region.to_owned(), k.id.clone())) {
                errors.push(format!(
                    "{at}: a key with that id already exists in {region}"
                ));
            }
            if !KEY_STATES.contains(&k.state.as_str()) {
                errors.push(format!(
                    "{at}: state {:?} is not one of {}",
                    k.state,
                    KEY_STATES.join(", ")
                ));
            }
            if !KEY_SPECS.contains(&k.spec.as_str()) {
                errors.push(format!("{at}: unknown key spec {:?}", k.spec));
            }
            if !KEY_USAGES.contains(&k.usage.as_str()) {
                errors.push(format!("{at}: unknown key usage {:?}", k.usage));
            }
            if let Some(f) = &k.failure
                && f.failure_type.trim().is_empty()
            {
                errors.push(format!("{at}: failure.type is empty"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SeedError::Invalid(errors))
        }
    }
}

impl SeedEncryption {
    /// The key type and (customer keys) ARN this describes. `key_type` is read without regard
    /// to case: a fleet file is typed by hand.
    pub(crate) fn key(&self, account: &str) -> Result<(KeyType, Option<KmsKeyArn>), String> {
        let key_type = match (&self.key_type, &self.key_arn) {
            (Some(t), _) => KeyType::parse(&t.to_ascii_uppercase()).ok_or_else(|| {
                format!(
                    "key_type {t:?} is not {} or {}",
                    KeyType::AwsOwned.as_str(),
                    KeyType::CustomerManaged.as_str()
                )
            })?,
            (None, Some(_)) => KeyType::CustomerManaged,
            (None, None) => KeyType::AwsOwned,
        };
        match (key_type, &self.key_arn) {
            (KeyType::AwsOwned, None) => Ok((key_type, None)),
            (KeyType::AwsOwned, Some(_)) => Err("an AWS_OWNED_CMK takes no key_arn".to_owned()),
            (KeyType::CustomerManaged, None) => {
                Err("CUSTOMER_MANAGED_CMK needs a key_arn".to_owned())
            }
            (KeyType::CustomerManaged, Some(arn)) => {
                let parsed = KmsKeyArn::parse(arn).map_err(|e| format!("key_arn {arn:?} {e}"))?;
                if parsed.account != account {
                    return Err(format!(
                        "key_arn {arn:?} belongs to account {}, the sandbox serves {account}",
                        parsed.account
                    ));
                }
                Ok((key_type, Some(parsed)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
