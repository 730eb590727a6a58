//! KMS keys: CreateKey, DescribeKey, EnableKey/DisableKey, ListKeys, and what a Start with a
//! customer key does: refused at once (a seeded `start_error`), or accepted and ending (decided
//! when the Start is accepted) not found (unknown, or of another Region), an injected failure,
//! a disabled key, or a key Firehose cannot use (not a symmetric ENCRYPT_DECRYPT key). Each
//! account has its own keys: KMS finds a key by id, and lists keys, in the caller's account
//! only; a key of another account is found by its full ARN (its key policy allows the caller).

use std::ops::Bound;

use rand::Rng;

use super::World;
use super::iam::Document;
use super::stream::Failure;
use crate::seed::{SeedKey, document_text, failure_place};
use crate::vocabulary::policy::PolicyKind;
use crate::vocabulary::{
    ApiError, FailurePlace, KeyManager, KmsKeyArn, Millis, codes, is_valid_key_id, kms_key_arn,
    partition,
};

/// A KMS key.
#[derive(Debug)]
pub struct Key {
    pub id: String,
    pub arn: String,
    /// The account owning it.
    pub account: String,
    pub state: String,
    pub spec: String,
    pub usage: String,
    pub description: String,
    pub manager: KeyManager,
    pub created_at: Millis,
    pub(super) failure: Option<InjectedFailure>,
    /// DescribeKey of this key answers this error code.
    pub(super) describe_error: Option<String>,
    /// Starts with this key are refused with this KMS error, so many more times (`None` = all).
    pub(super) start_error: Option<(String, Option<u32>)>,
    /// Its key policy (`default`).
    pub policy: Document,
}

/// A seeded failure of the Starts with a key: its type, how many more Starts it fails (`None`
/// = all), and where Describe shows it.
#[derive(Debug, Clone)]
pub struct InjectedFailure {
    pub kind: String,
    pub times: Option<u32>,
    pub place: FailurePlace,
}

impl World {
    /// Adds a key seeded in the `keys` of `scope` (owned by `scope` unless it says otherwise).
    pub(super) fn seed_key(&mut self, scope: &str, k: &SeedKey, default_region: &str, now: Millis) {
        let region = k
            .region
            .clone()
            .unwrap_or_else(|| default_region.to_owned());
        let account = k.account_or(scope).to_owned();
        let policy = match &k.policy {
            Some(doc) => Document::read(&document_text(doc), PolicyKind::Key).expect("checked"),
            None => default_key_policy(partition(&region), &account),
        };
        let key = Key {
            id: k.id.clone(),
            arn: kms_key_arn(&region, &account, &k.id),
            account,
            state: k.state.clone(),
            spec: k.spec.clone(),
            usage: k.usage.clone(),
            description: k.description.clone().unwrap_or_default(),
            manager: k
                .manager
                .as_deref()
                .and_then(KeyManager::parse)
                .unwrap_or(KeyManager::Customer),
            created_at: now,
            failure: k.failure.as_ref().map(|f| InjectedFailure {
                kind: f.failure_type.clone(),
                times: f.times,
                place: failure_place(f.description.as_deref()).expect("checked"),
            }),
            describe_error: k.describe_error.clone(),
            start_error: k.start_error.as_ref().map(|e| (e.code.clone(), e.times)),
            policy,
        };
        self.keys
            .entry(key.account.clone())
            .or_default()
            .entry(region)
            .or_default()
            .insert(k.id.clone(), key);
    }

    /// The key a parsed key ARN names, if it exists (any account), to read.
    pub(super) fn key_ref(&self, arn: &KmsKeyArn) -> Option<&Key> {
        self.keys
            .get(&arn.account)?
            .get(&arn.region)?
            .get(&arn.key_id)
    }

    /// The key a parsed key ARN names, if it exists (any account).
    pub(super) fn key_by_arn(&mut self, arn: &KmsKeyArn) -> Option<&mut Key> {
        self.keys
            .get_mut(&arn.account)?
            .get_mut(&arn.region)?
            .get_mut(&arn.key_id)
    }

    /// The Start refusal seeded on customer key `arn` (`start_error`), counting it down.
    pub(super) fn key_start_error(&mut self, arn: &str) -> Result<(), ApiError> {
        let Some(key) = KmsKeyArn::parse(arn)
            .ok()
            .and_then(|parsed| self.key_by_arn(&parsed))
        else {
            return Ok(());
        };
        let Some((code, times)) = &mut key.start_error else {
            return Ok(());
        };
        if times.is_some_and(|n| n == 0) {
            return Ok(());
        }
        if let Some(n) = times {
            *n -= 1;
        }
        Err(ApiError::invalid_kms_resource(
            code,
            format!(
                "Firehose could not create a grant on the CMK {arn}: KMS answered {code}. Check \
                 that the key is enabled and that its key policy allows Firehose to use it."
            ),
        ))
    }

    /// What a Start with customer key `arn` on a stream in `region` will end as, decided now.
    pub(super) fn key_outcome(&mut self, region: &str, arn: &str) -> Result<(), Failure> {
        let fail = |kind: &str, details: String, place: FailurePlace| {
            Err(Failure {
                kind: kind.to_owned(),
                details,
                place,
            })
        };
        let not_found = || {
            fail(
                "KMS_KEY_NOT_FOUND",
                format!("The KMS key {arn} was not found in {region}."),
                FailurePlace::Encryption,
            )
        };
        let Ok(parsed) = KmsKeyArn::parse(arn) else {
            return not_found();
        };
        if parsed.region != region {
            return not_found();
        }
        let Some(key) = self.key_by_arn(&parsed) else {
            return not_found();
        };
        if let Some(injected) = &mut key.failure
            && injected.times.is_none_or(|n| n > 0)
        {
            if let Some(n) = &mut injected.times {
                *n -= 1;
            }
            let kind = injected.kind.clone();
            return fail(
                &kind,
                format!("Injected failure {kind} for KMS key {arn} (sandbox seed)."),
                injected.place,
            );
        }
        if key.state != "Enabled" {
            return fail(
                "DISABLED_KMS_KEY",
                format!("The KMS key {arn} is not enabled (state {}).", key.state),
                FailurePlace::Encryption,
            );
        }
        if key.spec != "SYMMETRIC_DEFAULT" || key.usage != "ENCRYPT_DECRYPT" {
            return fail(
                "INVALID_KMS_KEY",
                format!(
                    "The KMS key {arn} is {} with usage {}; Firehose needs a symmetric ENCRYPT_DECRYPT key.",
                    key.spec, key.usage
                ),
                FailurePlace::Encryption,
            );
        }
        Ok(())
    }

    /// Finds a key by id, key ARN or alias for a caller of `account`, as KMS answers when it
    /// cannot: a key id of `account` in `region`, or the ARN of a key in `region` of any
    /// account.
    pub(super) fn find_key(
        &mut self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<&mut Key, ApiError> {
        let not_found = |text: String| ApiError::new(codes::KMS_NOT_FOUND, text);
        let alias_arn =
            |name: &str| format!("arn:{}:kms:{region}:{account}:{name}", partition(region));
        if key_id.starts_with("alias/") {
            return Err(not_found(format!(
                "Alias {} is not found.",
                alias_arn(key_id)
            )));
        }
        if key_id.starts_with("arn:") {
            return match KmsKeyArn::parse(key_id) {
                Ok(arn) if arn.region == region => match self.key_by_arn(&arn) {
                    Some(key) => Ok(key),
                    None => Err(not_found(format!("Key '{key_id}' does not exist"))),
                },
                Ok(_) => Err(not_found(format!("Key '{key_id}' does not exist"))),
                Err(_) if key_id.contains(":alias/") => {
                    Err(not_found(format!("Alias {key_id} is not found.")))
                }
                Err(_) => Err(not_found(format!("Invalid keyId {key_id}"))),
            };
        }
        if !is_valid_key_id(key_id) {
            return Err(not_found(format!("Invalid keyId {key_id}")));
        }
        let arn = kms_key_arn(region, account, key_id);
        self.keys
            .get_mut(account)
            .and_then(|regions| regions.get_mut(region))
            .and_then(|keys| keys.get_mut(key_id))
            .ok_or_else(|| not_found(format!("Key '{arn}' does not exist")))
    }

    /// CreateKey in `account`: a new enabled customer managed key with a seeded random id.
    pub fn create_key(
        &mut self,
        account: &str,
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
            arn: kms_key_arn(region, account, &id),
            account: account.to_owned(),
            id: id.clone(),
            state: "Enabled".to_owned(),
            spec: spec.to_owned(),
            usage: usage.to_owned(),
            description: description.to_owned(),
            manager: KeyManager::Customer,
            created_at: now,
            failure: None,
            describe_error: None,
            start_error: None,
            policy: default_key_policy(partition(region), account),
        };
        self.keys
            .entry(account.to_owned())
            .or_default()
            .entry(region.to_owned())
            .or_default()
            .entry(id)
            .or_insert(key)
    }

    /// DescribeKey by a caller of `account`; a key seeded with `describe_error` answers that
    /// error.
    pub fn describe_key(
        &mut self,
        account: &str,
        region: &str,
        key_id: &str,
    ) -> Result<&Key, ApiError> {
        let caller = account.to_owned();
        let key = self.find_key(account, region, key_id)?;
        if let Some(code) = &key.describe_error {
            let message = if code == codes::ACCESS_DENIED {
                format!(
                    "User: arn:{}:iam::{caller}:user/sandbox is not authorized to perform: \
                     kms:DescribeKey on resource: {} because no resource-based policy allows \
                     the kms:DescribeKey action",
                    partition(region),
                    key.arn
                )
            } else {
                format!("DescribeKey of {} failed: {code} (sandbox seed).", key.arn)
            };
            return Err(ApiError::new(code.clone(), message));
        }
        Ok(key)
    }

    /// EnableKey / DisableKey.
    pub fn set_key_enabled(
        &mut self,
        account: &str,
        region: &str,
        key_id: &str,
        enabled: bool,
    ) -> Result<(), ApiError> {
        let key = self.find_key(account, region, key_id)?;
        if key.state == "PendingDeletion" {
            return Err(ApiError::new(
                codes::KMS_INVALID_STATE,
                format!("{} is pending deletion.", key.arn),
            ));
        }
        key.state = if enabled { "Enabled" } else { "Disabled" }.to_owned();
        Ok(())
    }

    /// ListKeys: `account`'s keys of `region` sorted by id after `marker`, at most `limit`,
    /// and the next marker when there are more.
    pub fn list_keys(
        &self,
        account: &str,
        region: &str,
        limit: usize,
        marker: Option<&str>,
    ) -> (Vec<&Key>, Option<String>) {
        let Some(keys) = self.keys.get(account).and_then(|r| r.get(region)) else {
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
}

/// KMS's default key policy for a key of `account`, as GetKeyPolicy shows it for a key created
/// without one.
pub fn default_key_policy(partition: &str, account: &str) -> Document {
    use crate::vocabulary::root_arn;
    let text = format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"{}\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
        root_arn(partition, account)
    );
    Document::read(&text, PolicyKind::Key).expect("the default key policy reads")
}
