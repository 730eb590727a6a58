//! Identity words: IAM role names and role ARNs (STS `AssumeRole`'s `RoleArn`), external ids,
//! session durations, the ARNs and ids of assumed-role sessions, and an Organizations account's
//! `Email`. Written from botocore's IAM 2010-05-08, STS 2011-06-15 and Organizations 2016-11-28
//! models (the account enums are in `enums`).

use super::{PARTITIONS, is_valid_account};

/// An IAM role name (IAM model, shape `roleNameType`: 1–64 characters of `[\w+=,.@-]`, `\w`
/// ASCII as in Java).
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// An external id a role may require (STS model, shape `externalIdType`: 2–1224 characters of
/// `[\w+=,.@:\/-]`).
pub fn is_valid_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

/// The range of a role's `MaxSessionDuration` in seconds (IAM model, shape
/// `roleMaxSessionDurationType`: 3600–43200; "If you do not specify a value for this setting,
/// the default value of one hour is applied").
pub const ROLE_MAX_SESSION_SECONDS: std::ops::RangeInclusive<u64> = 3_600..=43_200;

/// The longest session role chaining allows (STS model, `AssumeRoleRequest.DurationSeconds`:
/// "if you assume a role using role chaining and provide a DurationSeconds parameter value
/// greater than one hour, the operation fails").
pub const ROLE_CHAINING_MAX_SECONDS: u64 = 3_600;

/// `DurationSeconds` when the request gives none (STS model: "By default, the value is set to
/// 3600 seconds").
pub const DEFAULT_SESSION_SECONDS: u64 = 3_600;

/// A role ARN, `arn:<partition>:iam::<account>:role/<name>`, read field by field. The sandbox's
/// roles have no path: a `role/<path>/<name>` ARN names no role of its.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    pub partition: String,
    pub account: String,
    pub name: String,
}

impl RoleArn {
    /// Reads a role ARN; `None` for anything else (a user ARN, a malformed account, a path).
    pub fn parse(text: &str) -> Option<RoleArn> {
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        let ["arn", partition, "iam", "", account, resource] = fields[..] else {
            return None;
        };
        let name = resource.strip_prefix("role/")?;
        (PARTITIONS.contains(&partition) && is_valid_account(account) && is_valid_role_name(name))
            .then(|| RoleArn {
                partition: partition.to_owned(),
                account: account.to_owned(),
                name: name.to_owned(),
            })
    }
}

/// The ARN of role `name` of `account`.
pub fn role_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{name}")
}

/// The ARN of an assumed-role session (`AssumedRoleUser.Arn`, GetCallerIdentity's `Arn`):
/// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>`.
pub fn assumed_role_arn(partition: &str, account: &str, role: &str, session: &str) -> String {
    format!("arn:{partition}:sts::{account}:assumed-role/{role}/{session}")
}

/// The unique id of a role (`AROA` and 17 characters, as IAM makes them), derived from its
/// ARN so that it is the same in every run.
pub fn role_id(arn: &str) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(arn.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    format!("AROA{tail}")
}

/// An Organizations account `Email` (shape `Email`: 6–64 characters, pattern
/// `[^\s@]+@[^\s@]+\.[^\s@]+`).
pub fn is_valid_email(email: &str) -> bool {
    let ok_part = |p: &str| !p.is_empty() && !p.contains(char::is_whitespace) && !p.contains('@');
    (6..=64).contains(&email.chars().count())
        && email.split_once('@').is_some_and(|(local, domain)| {
            ok_part(local)
                && domain
                    .rsplit_once('.')
                    .is_some_and(|(host, tld)| ok_part(host) && ok_part(tld))
        })
}
