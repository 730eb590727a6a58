//! IAM in each account: its users, groups, roles and customer managed policies, each policy
//! kept as the text it was given (IAM answers with that text) and as read
//! ([`PolicyDocument`]). Every account has the user `sandbox` (its base credentials' user)
//! with `AdministratorAccess`.
//!
//! By concept: `evaluate` what policies decide for a request (pure); `authorize` who a caller is
//! to policies and what its identity policies, a trust policy or a key policy allow it;
//! `manage` the operations that create and change entities; `details`
//! GetAccountAuthorizationDetails; `simulate` SimulatePrincipalPolicy.

mod authorize;
mod details;
pub mod evaluate;
mod manage;
mod simulate;

use std::collections::BTreeMap;

pub use authorize::{Actor, Denial};
pub use details::{DetailsPage, EntityFilter};
pub use evaluate::{Context, Decision, Source, SourceKind};
pub use manage::{NewPolicy, NewRole};
pub use simulate::{Simulation, SimulationRequest, SimulationResult};

use crate::vocabulary::policy::{PolicyDocument, PolicyKind, parse};
use crate::vocabulary::{
    ADMINISTRATOR_ACCESS, IamKind, Millis, aws_managed_arn, aws_managed_policy, iam_arn, unique_id,
};

/// The name of every account's base user.
pub const BASE_USER: &str = "sandbox";

/// A policy document: its text as given, and as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub text: String,
    pub policy: PolicyDocument,
}

impl Document {
    /// Reads `text` as a policy of `kind`; the `MalformedPolicyDocument` message if it is not.
    pub fn read(text: &str, kind: PolicyKind) -> Result<Document, String> {
        parse(text, kind).map(|policy| Document {
            text: text.to_owned(),
            policy,
        })
    }
}

/// A managed policy an entity has attached.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyRef {
    /// An AWS managed policy, by name.
    Aws(&'static str),
    /// A customer managed policy of the account, by name.
    Local(String),
}

/// What users, groups and roles have in common.
#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub path: String,
    /// `AIDA...`, `AGPA...`, `AROA...`.
    pub id: String,
    pub created_at: Millis,
    /// Inline policies by name.
    pub inline: BTreeMap<String, Document>,
    /// Attached managed policies, in the order attached.
    pub attached: Vec<PolicyRef>,
}

impl Entity {
    fn new(kind: IamKind, account: &str, name: &str, path: &str, now: Millis) -> Entity {
        Entity {
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id(kind, &iam_arn("aws", account, kind, path, name)),
            created_at: now,
            inline: BTreeMap::new(),
            attached: Vec::new(),
        }
    }

    /// Attaches `policy` (a second attachment of the same policy changes nothing, as in IAM).
    pub fn attach(&mut self, policy: PolicyRef) {
        if !self.attached.contains(&policy) {
            self.attached.push(policy);
        }
    }
}

/// An IAM user.
#[derive(Debug, Clone)]
pub struct User {
    pub entity: Entity,
    /// The groups it belongs to, in the order it joined them.
    pub groups: Vec<String>,
}

/// An IAM group.
#[derive(Debug, Clone)]
pub struct Group {
    pub entity: Entity,
}

/// An IAM role.
#[derive(Debug, Clone)]
pub struct Role {
    pub entity: Entity,
    /// `AssumeRolePolicyDocument`.
    pub trust: Document,
    pub description: Option<String>,
    /// `MaxSessionDuration`, in seconds.
    pub max_session: u64,
}

/// A customer managed policy (one version, `v1`).
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    /// `ANPA...`.
    pub id: String,
    pub description: Option<String>,
    pub created_at: Millis,
    pub document: Document,
}

/// One account's IAM.
#[derive(Debug, Clone)]
pub struct Iam {
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub roles: BTreeMap<String, Role>,
    pub policies: BTreeMap<String, ManagedPolicy>,
}

impl Iam {
    /// The IAM of a new account: its base user `sandbox`, administrator, created at `now`.
    pub fn new(account: &str, now: Millis) -> Iam {
        let mut base = Entity::new(IamKind::User, account, BASE_USER, "/", now);
        base.attach(PolicyRef::Aws(ADMINISTRATOR_ACCESS));
        Iam {
            users: BTreeMap::from([(
                BASE_USER.to_owned(),
                User {
                    entity: base,
                    groups: Vec::new(),
                },
            )]),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            policies: BTreeMap::new(),
        }
    }

    /// Adds user `name` at `path` if it does not exist; the user.
    pub fn user_entry(&mut self, account: &str, name: &str, path: &str, now: Millis) -> &mut User {
        self.users.entry(name.to_owned()).or_insert_with(|| User {
            entity: Entity::new(IamKind::User, account, name, path, now),
            groups: Vec::new(),
        })
    }

    /// Adds group `name` at `path` if it does not exist; the group.
    pub fn group_entry(
        &mut self,
        account: &str,
        name: &str,
        path: &str,
        now: Millis,
    ) -> &mut Group {
        self.groups.entry(name.to_owned()).or_insert_with(|| Group {
            entity: Entity::new(IamKind::Group, account, name, path, now),
        })
    }

    /// Adds a role (replacing none: the caller checks it is new).
    pub fn add_role(&mut self, account: &str, new: &NewRole, trust: Document, now: Millis) {
        let entity = Entity::new(IamKind::Role, account, &new.name, &new.path, now);
        self.roles.insert(
            new.name.clone(),
            Role {
                entity,
                trust,
                description: new.description.clone(),
                max_session: new.max_session,
            },
        );
    }

    /// Adds a customer managed policy (the caller checks it is new).
    pub fn add_policy(&mut self, account: &str, new: &NewPolicy, document: Document, now: Millis) {
        let arn = iam_arn("aws", account, IamKind::Policy, &new.path, &new.name);
        self.policies.insert(
            new.name.clone(),
            ManagedPolicy {
                name: new.name.clone(),
                path: new.path.clone(),
                id: unique_id(IamKind::Policy, &arn),
                description: new.description.clone(),
                created_at: now,
                document,
            },
        );
    }

    /// The managed policy a reference names, in `account`: an AWS managed policy the sandbox
    /// knows (name or ARN) or one of the account's (name or ARN, whose path must be its own).
    pub fn resolve(&self, account: &str, reference: &str) -> Option<PolicyRef> {
        if !reference.starts_with("arn:") {
            return aws_managed_policy(reference)
                .map(|p| PolicyRef::Aws(p.name))
                .or_else(|| {
                    self.policies
                        .contains_key(reference)
                        .then(|| PolicyRef::Local(reference.to_owned()))
                });
        }
        let arn =
            crate::vocabulary::IamArn::parse(reference).filter(|a| a.kind == IamKind::Policy)?;
        if arn.account == "aws" {
            return aws_managed_policy(&arn.name)
                .filter(|_| arn.path == "/")
                .map(|p| PolicyRef::Aws(p.name));
        }
        self.policies
            .get(&arn.name)
            .filter(|p| arn.account == account && p.path == arn.path)
            .map(|p| PolicyRef::Local(p.name.clone()))
    }

    /// The ARN of an attached policy, in `account` of `partition`.
    pub fn policy_arn(&self, partition: &str, account: &str, policy: &PolicyRef) -> String {
        match policy {
            PolicyRef::Aws(name) => aws_managed_arn(partition, name),
            PolicyRef::Local(name) => {
                let path = self.policies.get(name).map_or("/", |p| p.path.as_str());
                iam_arn(partition, account, IamKind::Policy, path, name)
            }
        }
    }

    /// How many users, groups and roles attach `policy`.
    pub fn attachments(&self, policy: &PolicyRef) -> usize {
        let users = self.users.values().map(|u| &u.entity);
        let groups = self.groups.values().map(|g| &g.entity);
        let roles = self.roles.values().map(|r| &r.entity);
        users
            .chain(groups)
            .chain(roles)
            .filter(|e| e.attached.contains(policy))
            .count()
    }
}

/// The ARN of an entity of `kind`.
pub fn entity_arn(partition: &str, account: &str, kind: IamKind, entity: &Entity) -> String {
    iam_arn(partition, account, kind, &entity.path, &entity.name)
}
