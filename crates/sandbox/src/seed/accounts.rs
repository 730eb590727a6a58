//! The accounts of a world: the sandbox's own (the top-level streams, keys, roles, users,
//! groups and policies; the management account of the organization when there are others) and
//! the member accounts a fleet file lists or `--accounts N` generates, each with its own.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::iam::{SeedGroup, SeedPolicy, SeedUser};
use super::{Seed, SeedKey, SeedStream};

/// A member account of the organization the sandbox's account manages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    /// 12 digits.
    pub id: String,
    /// Organizations `Name` (default `account-<id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Organizations `Email` (default `<id>@example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `ACTIVE` (default), `SUSPENDED` or `PENDING_CLOSURE`: ListAccounts shows it, and no
    /// role of an account that is not ACTIVE can be assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `CREATED` (default) or `INVITED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_method: Option<String>,
    /// A delegated administrator (for some AWS service) of the organization: besides the
    /// management account, the only accounts that may call Organizations `ListAccounts`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delegated_administrator: bool,
    /// The roles callers may assume in this account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<SeedRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<SeedStream>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<SeedKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<SeedUser>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<SeedGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<SeedPolicy>,
}

/// A role: a name (`"firehose-sse"`), or `{"name", "external_id", "max_session_duration",
/// "path", "description", "trust" | "service", "policies", "managed"}`.
///
/// A role without `trust` or `service` is one callers may assume as they always could: its
/// trust policy allows `sts:AssumeRole` to any principal (`{"AWS": "*"}`, with an
/// `sts:ExternalId` condition when it has an `external_id`) and it has `AdministratorAccess`
/// attached, so its sessions may do anything. A role with a `trust` policy (or `service`: a
/// trust policy naming that service principal) is assumable as that policy says and has only
/// the policies it declares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedRole {
    pub name: String,
    /// The `ExternalId` an AssumeRole must give (none: any or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The role's `MaxSessionDuration`, `1h` (IAM's default) to `12h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<String>,
    /// IAM path (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The trust policy (`AssumeRolePolicyDocument`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Value>,
    /// Shorthand for a trust policy allowing `sts:AssumeRole` to this service principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Inline policies: name → document.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, Value>,
    /// Attached managed policies (names or ARNs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<String>,
}

/// The object form of a [`SeedRole`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleObject {
    name: String,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    max_session_duration: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    trust: Option<Value>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    policies: BTreeMap<String, Value>,
    #[serde(default)]
    managed: Vec<String>,
}

impl<'de> Deserialize<'de> for SeedRole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RoleVisitor;
        impl<'de> Visitor<'de> for RoleVisitor {
            type Value = SeedRole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a role name or {\"name\", \"external_id\", \"trust\", ...}")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<SeedRole, E> {
                Ok(SeedRole::named(name))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<SeedRole, M::Error> {
                let role = RoleObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(SeedRole {
                    name: role.name,
                    external_id: role.external_id,
                    max_session_duration: role.max_session_duration,
                    path: role.path,
                    description: role.description,
                    trust: role.trust,
                    service: role.service,
                    policies: role.policies,
                    managed: role.managed,
                })
            }
        }
        deserializer.deserialize_any(RoleVisitor)
    }
}

impl SeedRole {
    /// A role that needs no external id, with IAM's default one-hour maximum session.
    pub fn named(name: impl Into<String>) -> Self {
        SeedRole {
            name: name.into(),
            external_id: None,
            max_session_duration: None,
            path: None,
            description: None,
            trust: None,
            service: None,
            policies: BTreeMap::new(),
            managed: Vec::new(),
        }
    }

    /// Whether the role is assumable as roles always were (no `trust`, no `service`).
    pub fn is_open(&self) -> bool {
        self.trust.is_none() && self.service.is_none()
    }

    /// The text of its trust policy.
    pub fn trust_text(&self) -> String {
        if let Some(trust) = &self.trust {
            return super::iam::document_text(trust);
        }
        match &self.service {
            Some(service) => trust_policy(&serde_json::json!({"Service": service}), None),
            None => trust_policy(
                &serde_json::json!({"AWS": "*"}),
                self.external_id.as_deref(),
            ),
        }
    }

    /// `max_session_duration` read (default one hour).
    pub fn max_session(&self) -> Result<Duration, String> {
        match &self.max_session_duration {
            None => Ok(Duration::from_secs(3_600)),
            Some(text) => humantime::parse_duration(text)
                .map_err(|e| format!("max_session_duration {text:?}: {e}")),
        }
    }
}

/// A trust policy allowing `sts:AssumeRole` to `principal`, with an `sts:ExternalId`
/// condition when an external id is required.
pub fn trust_policy(principal: &Value, external_id: Option<&str>) -> String {
    let mut statement = serde_json::json!({
        "Effect": "Allow",
        "Principal": principal,
        "Action": "sts:AssumeRole",
    });
    if let Some(id) = external_id {
        statement["Condition"] = serde_json::json!({"StringEquals": {"sts:ExternalId": id}});
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

impl SeedAccount {
    /// An ACTIVE member account with no roles, streams or keys.
    pub fn new(id: impl Into<String>) -> Self {
        SeedAccount {
            id: id.into(),
            name: None,
            email: None,
            status: None,
            joined_method: None,
            delegated_administrator: false,
            roles: Vec::new(),
            streams: Vec::new(),
            keys: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            policies: Vec::new(),
        }
    }
}

/// The first account id `--accounts N` generates; the others follow it.
pub const FIRST_GENERATED_ACCOUNT: u64 = 100_000_000_001;

/// One account's part of a seed, as the checks and the world read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) account: &'a str,
    pub(crate) streams: &'a [SeedStream],
    pub(crate) keys: &'a [SeedKey],
    pub(crate) roles: &'a [SeedRole],
    pub(crate) users: &'a [SeedUser],
    pub(crate) groups: &'a [SeedGroup],
    pub(crate) policies: &'a [SeedPolicy],
    /// `None` for the sandbox's own account, else the member account's index.
    pub(crate) member: Option<usize>,
}

impl Scope<'_> {
    /// How problems of this scope begin: `""` or `accounts[1] "111111111111": `.
    pub(crate) fn at(&self) -> String {
        match self.member {
            None => String::new(),
            Some(i) => format!("accounts[{i}] {:?}: ", self.account),
        }
    }
}

impl Seed {
    /// An organization: `accounts` member accounts `100000000001`, `100000000002`, ... each with
    /// the role `role` and `streams` ACTIVE, unencrypted DirectPut streams `stream-00000`, ...
    /// in `region`.
    pub fn organization(accounts: usize, streams: usize, region: &str, role: &str) -> Seed {
        let each = Seed::generated(streams, region).streams;
        Seed {
            accounts: (0..accounts as u64)
                .map(|i| SeedAccount {
                    roles: vec![SeedRole::named(role)],
                    streams: each.clone(),
                    ..SeedAccount::new(format!("{:012}", FIRST_GENERATED_ACCOUNT + i))
                })
                .collect(),
            ..Seed::default()
        }
    }

    /// The sandbox's own account's part (`base`), then each member account's.
    pub(crate) fn scopes<'a>(&'a self, base: &'a str) -> impl Iterator<Item = Scope<'a>> {
        let own = Scope {
            account: base,
            streams: &self.streams,
            keys: &self.keys,
            roles: &self.roles,
            users: &self.users,
            groups: &self.groups,
            policies: &self.policies,
            member: None,
        };
        std::iter::once(own).chain(self.accounts.iter().enumerate().map(|(i, a)| Scope {
            account: &a.id,
            streams: &a.streams,
            keys: &a.keys,
            roles: &a.roles,
            users: &a.users,
            groups: &a.groups,
            policies: &a.policies,
            member: Some(i),
        }))
    }
}
