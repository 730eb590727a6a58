//! The KMS operations on the wire (`TrentService.*`): one typed request per operation as the
//! KMS model names it, the checks that turn it into a world operation's arguments (form errors
//! are `ValidationException`), and the typed answers.

use serde::{Deserialize, Serialize};

use super::request::{Member, Service, read};
use super::{Op, secs, to_bytes};
use crate::vocabulary::{ApiError, KEY_SPECS, KEY_USAGES, Millis};
use crate::world::{Key, World};

const KMS: Service = Service::Kms;

/// A KMS request, read.
#[derive(Debug, Clone)]
pub enum Request {
    CreateKey(CreateKeyRequest),
    DescribeKey(KeyIdRequest),
    /// EnableKey (`true`) or DisableKey (`false`).
    SetEnabled(KeyIdRequest, bool),
    ListKeys(ListKeysRequest),
}

impl Request {
    /// Reads `body` as the input of `op`, a KMS operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        Ok(match op {
            Op::CreateKey => Request::CreateKey(read(body)?),
            Op::DescribeKey => Request::DescribeKey(read(body)?),
            Op::EnableKey => Request::SetEnabled(read(body)?, true),
            Op::DisableKey => Request::SetEnabled(read(body)?, false),
            Op::ListKeys => Request::ListKeys(read(body)?),
            other => unreachable!("{} is not a KMS operation", other.name()),
        })
    }

    /// Carries the request out against the world; the answer's body.
    pub fn execute(
        &self,
        world: &mut World,
        region: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        match self {
            Request::CreateKey(request) => {
                let (spec, usage, description) = request.check()?;
                let account = world.account().to_owned();
                let key = world.create_key(region, spec, usage, description, now);
                Ok(to_bytes(&KeyMetadataResponse {
                    key_metadata: KeyMetadata::of(&account, key),
                }))
            }
            Request::DescribeKey(request) => {
                let id = request.check()?;
                let account = world.account().to_owned();
                let key = world.describe_key(region, id)?;
                Ok(to_bytes(&KeyMetadataResponse {
                    key_metadata: KeyMetadata::of(&account, key),
                }))
            }
            Request::SetEnabled(request, enabled) => {
                world.set_key_enabled(region, request.check()?, *enabled)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::ListKeys(request) => {
                let (limit, marker) = request.check()?;
                let (keys, next) = world.list_keys(region, limit, marker);
                Ok(to_bytes(&ListKeysResponse {
                    keys: keys
                        .iter()
                        .map(|k| KeyListEntry {
                            key_id: &k.id,
                            key_arn: &k.arn,
                        })
                        .collect(),
                    truncated: next.is_some(),
                    next_marker: next,
                }))
            }
        }
    }
}

// -------------------------------------------------------------------- requests

/// `CreateKeyRequest`: `Policy`, `Origin`, `Tags`, `MultiRegion` and the rest are not read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    #[serde(default)]
    key_spec: Option<Member<String>>,
    /// The deprecated spelling of `KeySpec`, read when `KeySpec` is absent.
    #[serde(default)]
    customer_master_key_spec: Option<Member<String>>,
    #[serde(default)]
    key_usage: Option<Member<String>>,
    #[serde(default)]
    description: Option<Member<String>>,
}

impl CreateKeyRequest {
    /// The key spec (default SYMMETRIC_DEFAULT), the usage (default ENCRYPT_DECRYPT for a
    /// symmetric key, GENERATE_VERIFY_MAC for an HMAC one, required otherwise) and the
    /// description. Both spellings of the spec are type-checked, `KeySpec` first.
    fn check(&self) -> Result<(&str, &str, &str), ApiError> {
        let spec = KMS.opt_str("KeySpec", &self.key_spec)?;
        let legacy = KMS.opt_str("CustomerMasterKeySpec", &self.customer_master_key_spec)?;
        let spec = spec.or(legacy).unwrap_or("SYMMETRIC_DEFAULT");
        if !KEY_SPECS.contains(&spec) {
            return Err(KMS.invalid(format!("KeySpec {spec:?} is not valid.")));
        }
        let usage = KMS
            .opt_str("KeyUsage", &self.key_usage)?
            .unwrap_or(match spec {
                s if s.starts_with("HMAC_") => "GENERATE_VERIFY_MAC",
                "SYMMETRIC_DEFAULT" => "ENCRYPT_DECRYPT",
                _ => "",
            });
        if !KEY_USAGES.contains(&usage) {
            return Err(KMS.invalid(format!(
                "KeyUsage {usage:?} is not valid (give KeyUsage for KeySpec {spec})."
            )));
        }
        let description = KMS.opt_str("Description", &self.description)?.unwrap_or("");
        Ok((spec, usage, description))
    }
}

/// `DescribeKeyRequest`, `EnableKeyRequest`, `DisableKeyRequest`: a `KeyId`, a key id or key
/// ARN (`GrantTokens` is not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    #[serde(default)]
    key_id: Option<Member<String>>,
}

impl KeyIdRequest {
    fn check(&self) -> Result<&str, ApiError> {
        KMS.req_str("KeyId", &self.key_id)
    }
}

/// `ListKeysRequest` (`ResourceOwners` is not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysRequest {
    #[serde(default)]
    limit: Option<Member<u64>>,
    #[serde(default)]
    marker: Option<Member<String>>,
}

impl ListKeysRequest {
    /// `Limit` (default 100, 1–1,000) and the marker to continue after.
    fn check(&self) -> Result<(usize, Option<&str>), ApiError> {
        let limit = KMS.opt_u64("Limit", &self.limit)?.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(KMS.invalid("Limit must be between 1 and 1000."));
        }
        Ok((limit as usize, KMS.opt_str("Marker", &self.marker)?))
    }
}

// -------------------------------------------------------------------- answers

/// The answer of EnableKey and DisableKey: `{}`.
#[derive(Serialize)]
struct Empty {}

/// The answer of CreateKey and DescribeKey.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadataResponse<'a> {
    key_metadata: KeyMetadata<'a>,
}

/// `KeyMetadata`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadata<'a> {
    #[serde(rename = "AWSAccountId")]
    aws_account_id: &'a str,
    key_id: &'a str,
    arn: &'a str,
    creation_date: f64,
    enabled: bool,
    description: &'a str,
    key_usage: &'a str,
    key_state: &'a str,
    origin: &'static str,
    key_manager: &'static str,
    customer_master_key_spec: &'a str,
    key_spec: &'a str,
    multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_algorithms: Option<&'static [&'static str]>,
}

impl<'a> KeyMetadata<'a> {
    fn of(account: &'a str, k: &'a Key) -> Self {
        let encryption_algorithms: Option<&'static [&'static str]> =
            match (k.spec.as_str(), k.usage.as_str()) {
                ("SYMMETRIC_DEFAULT", _) => Some(&["SYMMETRIC_DEFAULT"]),
                (s, "ENCRYPT_DECRYPT") if s.starts_with("RSA_") => {
                    Some(&["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
                }
                _ => None,
            };
        KeyMetadata {
            aws_account_id: account,
            key_id: &k.id,
            arn: &k.arn,
            creation_date: secs(k.created_at),
            enabled: k.state == "Enabled",
            description: &k.description,
            key_usage: &k.usage,
            key_state: &k.state,
            origin: "AWS_KMS",
            key_manager: "CUSTOMER",
            customer_master_key_spec: &k.spec,
            key_spec: &k.spec,
            multi_region: false,
            encryption_algorithms,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeysResponse<'a> {
    keys: Vec<KeyListEntry<'a>>,
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyListEntry<'a> {
    key_id: &'a str,
    key_arn: &'a str,
}
