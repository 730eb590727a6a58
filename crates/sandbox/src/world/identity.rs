//! Who is calling, and STS `AssumeRole`. Each request acts in the account of its access key:
//! a key AssumeRole issued acts in its role's account, as a session of that role, until it
//! expires; a seeded credential in its account, as its user (default `sandbox`); any other key
//! (the base credentials) in the sandbox's own account as its user `sandbox`.
//!
//! AssumeRole (STS model `AssumeRoleRequest`; its input constraints are the wire's) issues
//! credentials for a role of an account of the world when the role exists (at the ARN's path),
//! its account is ACTIVE and its trust policy allows the caller `sts:AssumeRole` (with the
//! request's `ExternalId` as `sts:ExternalId`), as `iam::authorize` evaluates a resource-based
//! policy: a statement naming the caller's account root delegates to the caller's identity
//! policies, one naming the caller allows it directly; a service principal never names a
//! caller. A role seeded without a trust policy trusts any principal (`{"AWS": "*"}`, with the
//! external id it requires), as the sandbox's roles always did. Anything else is
//! `AccessDenied` (HTTP 403), "User: `<caller>` is not authorized to perform: sts:AssumeRole on
//! resource: `<RoleArn>`", as AWS answers — a role ARN of another partition than the Region STS
//! is called in too (partitions have IAM instances of their own). `DurationSeconds` (default 3600) may not exceed the
//! role's `MaxSessionDuration` (default one hour), nor one hour when the caller is itself an
//! assumed role (role chaining): `ValidationError` with AWS's messages. The credentials expire
//! on the sandbox's clock after their duration; then every request signed with them is
//! refused as expired (`front_door`).

use rand::Rng;

use super::World;
use super::iam::{Actor, BASE_USER, Context};
use crate::vocabulary::{
    AccountStatus, ApiError, DEFAULT_SESSION_SECONDS, IamArn, IamKind, Millis,
    ROLE_CHAINING_MAX_SECONDS, assumed_role_arn, codes, iam_arn, partition,
};

/// An access key the sandbox knows.
#[derive(Debug, Clone)]
pub(super) struct Credential {
    account: String,
    expires_at: Millis,
    session: Option<Session>,
    /// The IAM user of a seeded key (`None`: `sandbox`).
    user: Option<String>,
    /// The partition AssumeRole issued it in (`None`: seeded, good in any).
    partition: Option<&'static str>,
}

impl Credential {
    /// A seeded access key of `account` (of its `user`, default `sandbox`), expiring at
    /// `expires_at`.
    pub(super) fn seeded(account: String, user: Option<String>, expires_at: Millis) -> Self {
        Credential {
            account,
            expires_at,
            session: None,
            user,
            partition: None,
        }
    }
}

/// An IAM user a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub name: String,
    pub path: String,
}

/// An assumed-role session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The role's name.
    pub role: String,
    /// `RoleSessionName`.
    pub name: String,
    /// The role's unique id (`AROA...`).
    pub role_id: String,
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account the request acts in.
    pub account: String,
    /// The assumed-role session of its credentials, if AssumeRole issued them.
    pub session: Option<Session>,
    /// The IAM user of its credentials when it is not a session (`None`: `sandbox`).
    pub user: Option<UserRef>,
    /// Whether its credentials have expired.
    pub expired: bool,
    /// The partition its credentials were issued in, when AssumeRole issued them (`None`:
    /// seeded or base credentials, good in any).
    pub partition: Option<&'static str>,
}

impl Caller {
    /// Who its requests are from, as policies name it: the assumed role's session, or the user.
    pub fn actor(&self) -> Actor {
        match &self.session {
            Some(s) => Actor::Session {
                account: self.account.clone(),
                role: s.role.clone(),
                session: s.name.clone(),
            },
            None => Actor::User {
                account: self.account.clone(),
                name: self.user_name().to_owned(),
            },
        }
    }

    /// The base user `sandbox` of `account`.
    pub fn base(account: &str) -> Caller {
        Caller {
            account: account.to_owned(),
            session: None,
            user: None,
            expired: false,
            partition: None,
        }
    }

    /// Whether its credentials were issued in another partition than `region`'s: partitions
    /// have IAM instances of their own, and "you cannot use IAM credentials from one partition
    /// to interact with resources in a different partition" (AWS Fault Isolation Boundaries,
    /// Partitions).
    pub fn of_another_partition(&self, region: &str) -> bool {
        self.partition.is_some_and(|p| p != partition(region))
    }

    /// The caller's ARN, as GetCallerIdentity and AWS's messages name it: the assumed-role
    /// session, or the user of its account.
    pub fn arn(&self, region: &str) -> String {
        let partition = partition(region);
        match (&self.session, &self.user) {
            (Some(s), _) => assumed_role_arn(partition, &self.account, &s.role, &s.name),
            (None, Some(u)) => iam_arn(partition, &self.account, IamKind::User, &u.path, &u.name),
            (None, None) => iam_arn(partition, &self.account, IamKind::User, "/", BASE_USER),
        }
    }

    /// The name of its IAM user (`sandbox` unless a seeded credential names another); for a
    /// session, of no use.
    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or(BASE_USER, |u| u.name.as_str())
    }
}

/// What an AssumeRole asks for (its members the model has checked).
#[derive(Debug, Clone, Copy)]
pub struct AssumeRoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_seconds: Option<u64>,
    pub external_id: Option<&'a str>,
}

/// Credentials AssumeRole issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at: Millis,
    /// `AssumedRoleUser.AssumedRoleId`: `<role id>:<session name>`.
    pub assumed_role_id: String,
    /// `AssumedRoleUser.Arn`.
    pub arn: String,
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl World {
    /// The caller of a request signed with `access_key` ("" when unsigned), as of `now`.
    pub fn caller(&self, access_key: &str, now: Millis) -> Caller {
        match self.credentials.get(access_key) {
            Some(c) => Caller {
                account: c.account.clone(),
                session: c.session.clone(),
                user: c.user.as_ref().map(|name| UserRef {
                    name: name.clone(),
                    path: self
                        .iam(&c.account)
                        .and_then(|iam| iam.users.get(name))
                        .map_or_else(|| "/".to_owned(), |u| u.entity.path.clone()),
                }),
                expired: now >= c.expires_at,
                partition: c.partition,
            },
            None => Caller::base(&self.account),
        }
    }

    /// AssumeRole by `caller` (a request of `region`): new credentials for the role, or why
    /// not.
    pub fn assume_role(
        &mut self,
        caller: &Caller,
        region: &str,
        request: &AssumeRoleRequest<'_>,
        now: Millis,
    ) -> Result<Issued, ApiError> {
        let denied = ApiError::new(
            codes::ACCESS_DENIED_QUERY,
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                caller.arn(region),
                request.role_arn
            ),
        );
        // A role of another partition than the Region STS was called in is none it knows:
        // partitions have IAM instances of their own, and "you cannot use IAM credentials from
        // one partition to interact with resources in a different partition" (AWS Fault
        // Isolation Boundaries, Partitions). Refused as a role that does not exist.
        let Some(target) = IamArn::parse(request.role_arn)
            .filter(|a| a.kind == IamKind::Role && a.partition == partition(region))
        else {
            return Err(denied);
        };
        let Some(account) = self.accounts.get(&target.account) else {
            return Err(denied);
        };
        let role = account
            .iam
            .roles
            .get(&target.name)
            .filter(|_| account.status == AccountStatus::Active)
            .filter(|role| role.entity.path == target.path);
        let trusted = role.is_some_and(|role| {
            let context = match request.external_id {
                Some(id) => Context::default().with("sts:ExternalId", vec![id.to_owned()]),
                None => Context::default(),
            };
            self.authorize_with(
                &caller.actor(),
                &target.partition,
                &role.trust.policy,
                &target.account,
                "sts:AssumeRole",
                request.role_arn,
                &context,
            )
            .is_ok()
        });
        let account = self.accounts.get_mut(&target.account).expect("found");
        let Some(role) = account.iam.roles.get(&target.name).filter(|_| trusted) else {
            account.counters.assume_role_denied += 1;
            return Err(denied);
        };
        let duration = request.duration_seconds.unwrap_or(DEFAULT_SESSION_SECONDS);
        if caller.session.is_some() && duration > ROLE_CHAINING_MAX_SECONDS {
            return Err(ApiError::new(
                codes::VALIDATION_QUERY,
                "The requested DurationSeconds exceeds the 1 hour session limit for roles \
                 assumed by role chaining.",
            ));
        }
        if duration > role.max_session {
            return Err(ApiError::new(
                codes::VALIDATION_QUERY,
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        let role_name = role.entity.name.clone();
        let role_id = role.entity.id.clone();
        account.counters.sessions_issued += 1;
        let session = Session {
            role: role_name.clone(),
            name: request.session_name.to_owned(),
            role_id: role_id.clone(),
        };
        let access_key_id = format!("ASIA{}", self.draw(UPPER, 16));
        let issued = Issued {
            secret_access_key: self.draw(BASE64, 40),
            session_token: format!("IQoJb3JpZ2luX2VjE{}", self.draw(BASE64, 300)),
            expires_at: now + duration as Millis * 1_000,
            assumed_role_id: format!("{role_id}:{}", request.session_name),
            arn: assumed_role_arn(
                &target.partition,
                &target.account,
                &role_name,
                request.session_name,
            ),
            access_key_id: access_key_id.clone(),
        };
        self.credentials.insert(
            access_key_id,
            Credential {
                account: target.account,
                expires_at: issued.expires_at,
                session: Some(session),
                user: None,
                partition: Some(partition(region)),
            },
        );
        Ok(issued)
    }

    /// `n` characters of `alphabet`, drawn from the seeded id generator.
    fn draw(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[self.id_rng.random_range(0..alphabet.len())] as char)
            .collect()
    }
}
