//! KMS keys: CreateKey, DescribeKey, EnableKey/DisableKey, ListKeys, and what a Start with a
//! customer key ends as (decided when the Start is accepted): not found (unknown, or of another
//! Region or account), an injected failure, a disabled key, or a key Firehose cannot use (not a
//! symmetric ENCRYPT_DECRYPT key).

use std::ops::Bound;

use rand::Rng;

use super::World;
use super::stream::Failure;
use crate::vocabulary::{ApiError, KmsKeyArn, Millis, codes};

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
    pub(super) failure: Option<(String, Option<u32>)>,
}

fn kms_not_found(key_id: &str) -> ApiError {
    ApiError::new(
        codes::KMS_NOT_FOUND,
        format!("Key '{key_id}' does not exist"),
    )
}

impl World {
    /// What a Start with customer key `arn` on a stream in `region` will end as, decided now.
    pub(super) fn key_outcome(&mut self, region: &str, arn: &str) -> Result<(), Failure> {
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
        if parsed.region != region || parsed.account != self.account {
            return not_found();
        }
        let Some(key) = self
            .keys
            .get_mut(region)
            .and_then(|keys| keys.get_mut(&parsed.key_id))
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

    /// Finds a key by id or key ARN, in `region` only (an ARN of another region is not found).
    fn find_key(&mut self, region: &str, key_id: &str) -> Result<&mut Key, ApiError> {
        let id = if key_id.starts_with("arn:") {
            match KmsKeyArn::parse(key_id) {
                Ok(arn) if arn.region == region && arn.account == self.account => arn.key_id,
                _ => return Err(kms_not_found(key_id)),
            }
        } else {
            key_id.to_owned()
        };
        self.keys
            .get_mut(region)
            .and_then(|keys| keys.get_mut(&id))
            .ok_or_else(|| kms_not_found(key_id))
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
                codes::KMS_INVALID_STATE,
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
}
