//! Identity words: IAM names and paths of users, groups, roles and policies, the ARNs of IAM
//! entities (STS `AssumeRole`'s `RoleArn` among them) and their unique ids, external ids,
//! session durations, the ARNs of assumed-role sessions, and an Organizations account's `Email`.
//! Written from botocore's IAM 2010-05-08, STS 2011-06-15 and Organizations 2016-11-28 models
//! (the account enums are in `enums`).

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

/// An IAM user name (IAM model, shape `userNameType`: 1–64 characters of `[\w+=,.@-]`).
pub fn is_valid_user_name(name: &str) -> bool {
    is_valid_role_name(name)
}

/// An IAM group name (shape `groupNameType`) or policy name (shape `policyNameType`): 1–128
/// characters of `[\w+=,.@-]`.
pub fn is_valid_group_or_policy_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// An IAM path of a user, group or role (shape `pathType`: `/`, or `/` + characters
/// `\u0021`–`\u007E` + `/`, at most 512).
pub fn is_valid_path(path: &str) -> bool {
    path.len() <= 512
        && (path == "/"
            || (path.len() >= 3
                && path.starts_with('/')
                && path.ends_with('/')
                && path.bytes().all(|b| (0x21..=0x7e).contains(&b))))
}

/// A managed policy's path (shape `policyPathType`: `((/[A-Za-z0-9\.,\+@=_-]+)*)/`, at most
/// 512).
pub fn is_valid_policy_path(path: &str) -> bool {
    let Some(inner) = path.strip_suffix('/') else {
        return false;
    };
    path.len() <= 512
        && (inner.is_empty()
            || inner.strip_prefix('/').is_some_and(|rest| {
                rest.split('/').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b".,+@=_-".contains(&b))
                })
            }))
}

/// The kinds of IAM entity an ARN can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamKind {
    User,
    Group,
    Role,
    Policy,
}

impl IamKind {
    /// The ARN's resource type (`user`, `group`, `role`, `policy`).
    pub fn as_str(self) -> &'static str {
        match self {
            IamKind::User => "user",
            IamKind::Group => "group",
            IamKind::Role => "role",
            IamKind::Policy => "policy",
        }
    }

    /// The first four characters of the unique ids IAM gives this kind of entity (`AIDA`,
    /// `AGPA`, `AROA`, `ANPA`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            IamKind::User => "AIDA",
            IamKind::Group => "AGPA",
            IamKind::Role => "AROA",
            IamKind::Policy => "ANPA",
        }
    }
}

/// An IAM entity's ARN, `arn:<partition>:iam::<account>:<kind><path><name>`, read field by
/// field (`account` is `aws` for an AWS managed policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamArn {
    pub partition: String,
    pub account: String,
    pub kind: IamKind,
    /// `/` or `/a/b/`.
    pub path: String,
    pub name: String,
}

impl IamArn {
    /// Reads the ARN of a user, group, role or managed policy; `None` for anything else.
    pub fn parse(text: &str) -> Option<IamArn> {
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        let ["arn", partition, "iam", "", account, resource] = fields[..] else {
            return None;
        };
        let (kind, rest) = resource.split_once('/')?;
        let kind = match kind {
            "user" => IamKind::User,
            "group" => IamKind::Group,
            "role" => IamKind::Role,
            "policy" => IamKind::Policy,
            _ => return None,
        };
        let (path, name) = match rest.rsplit_once('/') {
            Some((path, name)) => (format!("/{path}/"), name),
            None => ("/".to_owned(), rest),
        };
        let account_ok = is_valid_account(account) || (kind == IamKind::Policy && account == "aws");
        let name_ok = match kind {
            IamKind::User | IamKind::Role => is_valid_role_name(name),
            IamKind::Group | IamKind::Policy => is_valid_group_or_policy_name(name),
        };
        (PARTITIONS.contains(&partition) && account_ok && name_ok && is_valid_path(&path)).then(
            || IamArn {
                partition: partition.to_owned(),
                account: account.to_owned(),
                kind,
                path,
                name: name.to_owned(),
            },
        )
    }
}

impl std::fmt::Display for IamArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&iam_arn(
            &self.partition,
            &self.account,
            self.kind,
            &self.path,
            &self.name,
        ))
    }
}

/// The ARN of entity `name` of `kind` at `path` of `account`.
pub fn iam_arn(partition: &str, account: &str, kind: IamKind, path: &str, name: &str) -> String {
    format!(
        "arn:{partition}:iam::{account}:{}{path}{name}",
        kind.as_str()
    )
}

/// An account's root principal, `arn:<partition>:iam::<account>:root`.
pub fn root_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// The ARN of an assumed-role session (`AssumedRoleUser.Arn`, GetCallerIdentity's `Arn`):
/// `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` (a role's path is not part
/// of it).
pub fn assumed_role_arn(partition: &str, account: &str, role: &str, session: &str) -> String {
    format!("arn:{partition}:sts::{account}:assumed-role/{role}/{session}")
}

/// The unique id of an entity of `kind` (its prefix and 17 characters, as IAM makes them),
/// derived from its ARN in the `aws` partition so that it is the same in every run.
pub fn unique_id(kind: IamKind, arn: &str) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(arn.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect();
    format!("{}{tail}", kind.id_prefix())
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
