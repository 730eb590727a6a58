//! The KMS operations on the wire (`TrentService.*`): one typed request per operation as the
//! KMS model names it (checked against the model first), the rules the model cannot express,
//! and the typed answers. GetKeyPolicy and PutKeyPolicy act on the key policy
//! (`world::key_policy`).

use serde::{Deserialize, Serialize};

use super::model::Service;
use super::request::read;
use super::{Op, secs, to_bytes};
use crate::vocabulary::{ApiError, Millis, codes};
use crate::world::{Caller, DEFAULT_POLICY_NAME, Key, World};

const KMS: Service = Service::Kms;

/// A KMS request, read.
#[derive(Debug, Clone)]
pub enum Request {
    CreateKey(CreateKeyRequest),
    DescribeKey(KeyIdRequest),
    /// EnableKey (`true`) or DisableKey (`false`).
    SetEnabled(KeyIdRequest, bool),
    ListKeys(ListKeysRequest),
    GetKeyPolicy(GetKeyPolicyRequest),
    PutKeyPolicy(PutKeyPolicyRequest),
}

impl Request {
    /// The `KeyId` the request names, if it names one.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Request::CreateKey(_) | Request::ListKeys(_) => None,
            Request::DescribeKey(r) | Request::SetEnabled(r, _) => Some(&r.key_id),
            Request::GetKeyPolicy(r) => Some(&r.key_id),
            Request::PutKeyPolicy(r) => Some(&r.key_id),
        }
    }

    /// Reads `body` as the input of `op`, a KMS operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        let name = op.name();
        Ok(match op {
            Op::CreateKey => Request::CreateKey(read(KMS, name, body)?),
            Op::DescribeKey => Request::DescribeKey(read(KMS, name, body)?),
            Op::EnableKey => Request::SetEnabled(read(KMS, name, body)?, true),
            Op::DisableKey => Request::SetEnabled(read(KMS, name, body)?, false),
            Op::ListKeys => Request::ListKeys(read(KMS, name, body)?),
            Op::GetKeyPolicy => Request::GetKeyPolicy(read(KMS, name, body)?),
            Op::PutKeyPolicy => Request::PutKeyPolicy(read(KMS, name, body)?),
            other => unreachable!("{} is not a KMS operation", other.name()),
        })
    }

    /// Carries the request of `caller` out against the world, in its account; the answer's
    /// body.
    pub fn execute(
        &self,
        world: &mut World,
        caller: &Caller,
        region: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        let account = caller.account.as_str();
        match self {
            Request::GetKeyPolicy(request) => {
                let name = request.policy_name.as_deref();
                let arn = caller.arn(region);
                let policy = world.get_key_policy(&arn, account, region, &request.key_id, name)?;
                Ok(to_bytes(&GetKeyPolicyResponse {
                    policy,
                    policy_name: name.unwrap_or(DEFAULT_POLICY_NAME),
                }))
            }
            Request::PutKeyPolicy(request) => {
                world.put_key_policy(
                    &caller.actor(),
                    &caller.arn(region),
                    region,
                    &request.key_id,
                    request.policy_name.as_deref(),
                    &request.policy,
                    request.bypass_policy_lockout_safety_check.unwrap_or(false),
                )?;
                Ok(to_bytes(&Empty {}))
            }
            Request::CreateKey(request) => {
                let (spec, usage) = request.check()?;
                let description = request.description.as_deref().unwrap_or("");
                let key = world.create_key(account, region, spec, usage, description, now);
                Ok(to_bytes(&KeyMetadataResponse {
                    key_metadata: KeyMetadata::of(key),
                }))
            }
            Request::DescribeKey(request) => {
                let key = world.describe_key(account, region, &request.key_id)?;
                Ok(to_bytes(&KeyMetadataResponse {
                    key_metadata: KeyMetadata::of(key),
                }))
            }
            Request::SetEnabled(request, enabled) => {
                world.set_key_enabled(account, region, &request.key_id, *enabled)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::ListKeys(request) => {
                let limit = request.limit.unwrap_or(100) as usize;
                let (keys, next) =
                    world.list_keys(account, region, limit, request.marker.as_deref());
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
    key_spec: Option<String>,
    /// The deprecated spelling of `KeySpec` (with its own, shorter, enum), read when `KeySpec`
    /// is absent.
    #[serde(default)]
    customer_master_key_spec: Option<String>,
    #[serde(default)]
    key_usage: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

impl CreateKeyRequest {
    /// The key spec (default SYMMETRIC_DEFAULT) and the usage (default ENCRYPT_DECRYPT for a
    /// symmetric key, GENERATE_VERIFY_MAC for an HMAC one; required otherwise, a rule the
    /// model cannot say and so a `ValidationException` of KMS's own wording).
    fn check(&self) -> Result<(&str, &str), ApiError> {
        let spec = self
            .key_spec
            .as_deref()
            .or(self.customer_master_key_spec.as_deref())
            .unwrap_or("SYMMETRIC_DEFAULT");
        let usage = match (self.key_usage.as_deref(), spec) {
            (Some(usage), _) => usage,
            (None, "SYMMETRIC_DEFAULT") => "ENCRYPT_DECRYPT",
            (None, s) if s.starts_with("HMAC_") => "GENERATE_VERIFY_MAC",
            (None, s) => {
                return Err(ApiError::new(
                    codes::VALIDATION,
                    format!("You must specify a KeyUsage value for a KMS key with KeySpec {s}."),
                ));
            }
        };
        Ok((spec, usage))
    }
}

/// `DescribeKeyRequest`, `EnableKeyRequest`, `DisableKeyRequest`: a `KeyId` (a key id, key
/// ARN, alias name or alias ARN; `GrantTokens` is not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    key_id: String,
}

/// `ListKeysRequest`: `Limit` defaults to 100 (`ResourceOwners` is not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysRequest {
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    marker: Option<String>,
}

/// `GetKeyPolicyRequest`: `PolicyName` defaults to `default`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetKeyPolicyRequest {
    key_id: String,
    #[serde(default)]
    policy_name: Option<String>,
}

/// `PutKeyPolicyRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutKeyPolicyRequest {
    key_id: String,
    policy: String,
    #[serde(default)]
    policy_name: Option<String>,
    #[serde(default)]
    bypass_policy_lockout_safety_check: Option<bool>,
}

// -------------------------------------------------------------------- answers

/// The answer of GetKeyPolicy.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetKeyPolicyResponse<'a> {
    policy: &'a str,
    policy_name: &'a str,
}

/// The answer of EnableKey and DisableKey: `{}`.
#[derive(Serialize)]
struct Empty {}

/// The answer of CreateKey and DescribeKey.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadataResponse<'a> {
    key_metadata: KeyMetadata<'a>,
}

/// `KeyMetadata`, with what AWS always returns (KMS model, shape `KeyMetadata`): the
/// algorithms of the key's spec and usage, and `CustomerMasterKeySpec` only for the specs its
/// deprecated enum has.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_date: Option<f64>,
    origin: &'static str,
    key_manager: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_master_key_spec: Option<&'a str>,
    key_spec: &'a str,
    multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_algorithms: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_algorithms: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mac_algorithms: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_agreement_algorithms: Option<&'static [&'static str]>,
}

/// The specs of the deprecated `CustomerMasterKeySpec` enum.
const CUSTOMER_MASTER_KEY_SPECS: [&str; 13] = [
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];

/// Scheduled deletions wait 30 days (KMS's default waiting period).
const DELETION_WAIT_MS: Millis = 30 * 24 * 3600 * 1000;

type Algorithms = Option<&'static [&'static str]>;

/// The encryption, signing, MAC and key agreement algorithms of a key of `spec` for `usage`.
fn algorithms(spec: &str, usage: &str) -> [Algorithms; 4] {
    let encryption: Algorithms = match (spec, usage) {
        ("SYMMETRIC_DEFAULT", _) => Some(&["SYMMETRIC_DEFAULT"]),
        (s, "ENCRYPT_DECRYPT") if s.starts_with("RSA_") => {
            Some(&["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
        }
        ("SM2", "ENCRYPT_DECRYPT") => Some(&["SM2PKE"]),
        _ => None,
    };
    let signing: Algorithms = match (spec, usage) {
        (s, "SIGN_VERIFY") if s.starts_with("RSA_") => Some(&[
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
        ]),
        ("ECC_NIST_P256" | "ECC_SECG_P256K1", "SIGN_VERIFY") => Some(&["ECDSA_SHA_256"]),
        ("ECC_NIST_P384", "SIGN_VERIFY") => Some(&["ECDSA_SHA_384"]),
        ("ECC_NIST_P521", "SIGN_VERIFY") => Some(&["ECDSA_SHA_512"]),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY") => Some(&["ED25519_SHA_512"]),
        ("SM2", "SIGN_VERIFY") => Some(&["SM2DSA"]),
        (s, "SIGN_VERIFY") if s.starts_with("ML_DSA_") => Some(&["ML_DSA_SHAKE_256"]),
        _ => None,
    };
    let mac: Algorithms = match spec {
        "HMAC_224" => Some(&["HMAC_SHA_224"]),
        "HMAC_256" => Some(&["HMAC_SHA_256"]),
        "HMAC_384" => Some(&["HMAC_SHA_384"]),
        "HMAC_512" => Some(&["HMAC_SHA_512"]),
        _ => None,
    };
    let agreement: Algorithms = (usage == "KEY_AGREEMENT").then_some(&["ECDH"]);
    [encryption, signing, mac, agreement]
}

impl<'a> KeyMetadata<'a> {
    fn of(k: &'a Key) -> Self {
        let [
            encryption_algorithms,
            signing_algorithms,
            mac_algorithms,
            key_agreement_algorithms,
        ] = algorithms(&k.spec, &k.usage);
        KeyMetadata {
            aws_account_id: &k.account,
            key_id: &k.id,
            arn: &k.arn,
            creation_date: secs(k.created_at),
            enabled: k.state == "Enabled",
            description: &k.description,
            key_usage: &k.usage,
            key_state: &k.state,
            deletion_date: (k.state == "PendingDeletion")
                .then(|| secs(k.created_at + DELETION_WAIT_MS)),
            origin: "AWS_KMS",
            key_manager: k.manager.as_str(),
            customer_master_key_spec: CUSTOMER_MASTER_KEY_SPECS
                .contains(&k.spec.as_str())
                .then_some(k.spec.as_str()),
            key_spec: &k.spec,
            multi_region: false,
            encryption_algorithms,
            signing_algorithms,
            mac_algorithms,
            key_agreement_algorithms,
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
