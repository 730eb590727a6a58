//! The seed's checks of IAM: each account's roles, users, groups and customer managed policies
//! (names, paths, every policy document read as IAM reads it, the managed policies they attach
//! and the groups users join), the `producers` of its streams, its keys' policies, and the user
//! a seeded credential names. Every problem is reported, one a line, with the others of the
//! seed.

use std::collections::{HashMap, HashSet};

use super::SeedRole;
use super::accounts::Scope;
use super::iam::{SeedKmsGrant, document_text};
use crate::vocabulary::policy::{PolicyKind, parse};
use crate::vocabulary::{
    IamArn, IamKind, KmsKeyArn, ROLE_MAX_SESSION_SECONDS, aws_managed_policy, is_valid_external_id,
    is_valid_group_or_policy_name, is_valid_path, is_valid_policy_path, is_valid_role_name,
    is_valid_user_name,
};

/// The base user every account has.
pub(crate) const BASE_USER: &str = "sandbox";

/// Every IAM problem of one account's part of the seed.
pub(super) fn check_principals(scope: &Scope<'_>, errors: &mut Vec<String>) {
    let prefix = scope.at();
    let mut policy_names = HashSet::new();
    for (i, p) in scope.policies.iter().enumerate() {
        let at = format!("{prefix}policies[{i}] {:?}", p.name);
        if !is_valid_group_or_policy_name(&p.name) {
            errors.push(format!(
                "{at}: a policy name is 1-128 letters, digits or _+=,.@-"
            ));
        }
        if !policy_names.insert(p.name.as_str()) {
            errors.push(format!("{at}: that policy is listed already"));
        }
        if let Some(path) = &p.path
            && !is_valid_policy_path(path)
        {
            errors.push(format!(
                "{at}: path {path:?} is not /, or /a/b/ of letters, digits and .,+@=_-"
            ));
        }
        if p.description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
        {
            errors.push(format!("{at}: description is longer than 1000 characters"));
        }
        document(
            &p.document,
            PolicyKind::Identity,
            &format!("{at}: document"),
            errors,
        );
    }
    let attachable = |reference: &str| managed_exists(scope, reference);
    check_roles(scope.roles, &prefix, &attachable, errors);
    let groups: HashSet<&str> = scope.groups.iter().map(|g| g.name.as_str()).collect();
    let mut seen = HashSet::new();
    for (i, g) in scope.groups.iter().enumerate() {
        let at = format!("{prefix}groups[{i}] {:?}", g.name);
        if !is_valid_group_or_policy_name(&g.name) {
            errors.push(format!(
                "{at}: a group name is 1-128 letters, digits or _+=,.@-"
            ));
        }
        if !seen.insert(g.name.as_str()) {
            errors.push(format!("{at}: that group is listed already"));
        }
        path(g.path.as_deref(), &at, errors);
        attached(&g.policies, &g.managed, &attachable, &at, errors);
    }
    let mut seen = HashSet::new();
    for (i, u) in scope.users.iter().enumerate() {
        let at = format!("{prefix}users[{i}] {:?}", u.name);
        if !is_valid_user_name(&u.name) {
            errors.push(format!(
                "{at}: a user name is 1-64 letters, digits or _+=,.@-"
            ));
        }
        if !seen.insert(u.name.as_str()) {
            errors.push(format!("{at}: that user is listed already"));
        }
        path(u.path.as_deref(), &at, errors);
        for g in &u.groups {
            if !groups.contains(g.as_str()) {
                errors.push(format!(
                    "{at}: group {g:?} is not one of this account's groups"
                ));
            }
        }
        attached(&u.policies, &u.managed, &attachable, &at, errors);
    }
    for (i, k) in scope.keys.iter().enumerate() {
        if let Some(policy) = &k.policy {
            let at = format!("{prefix}keys[{i}] {:?}: policy", k.id);
            document(policy, PolicyKind::Key, &at, errors);
        }
    }
    check_producers(scope, errors);
}

/// An account's roles: IAM role names, each once, their external ids, session limits, paths,
/// trust policies and the policies they have.
fn check_roles(
    roles: &[SeedRole],
    prefix: &str,
    attachable: &dyn Fn(&str) -> bool,
    errors: &mut Vec<String>,
) {
    let mut seen = HashSet::new();
    for (i, r) in roles.iter().enumerate() {
        let at = format!("{prefix}roles[{i}] {:?}", r.name);
        if !is_valid_role_name(&r.name) {
            errors.push(format!(
                "{at}: a role name is 1-64 letters, digits or _+=,.@-"
            ));
        }
        if !seen.insert(&r.name) {
            errors.push(format!("{at}: that role is listed already"));
        }
        if let Some(id) = &r.external_id {
            if !is_valid_external_id(id) {
                errors.push(format!(
                    "{at}: external_id must be 2-1224 letters, digits or _+=,.@:/-"
                ));
            }
            if !r.is_open() {
                errors.push(format!(
                    "{at}: external_id is for roles without trust or service (put an sts:ExternalId condition in the trust policy)"
                ));
            }
        }
        match r.max_session() {
            Err(e) => errors.push(format!("{at}: {e}")),
            Ok(d) if !ROLE_MAX_SESSION_SECONDS.contains(&d.as_secs()) || d.subsec_nanos() > 0 => {
                errors.push(format!(
                    "{at}: max_session_duration must be whole seconds from 1h to 12h"
                ));
            }
            Ok(_) => {}
        }
        path(r.path.as_deref(), &at, errors);
        if r.description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
        {
            errors.push(format!("{at}: description is longer than 1000 characters"));
        }
        match (&r.trust, &r.service) {
            (Some(_), Some(_)) => errors.push(format!("{at}: give trust or service, not both")),
            (Some(trust), None) => {
                document(trust, PolicyKind::Trust, &format!("{at}: trust"), errors)
            }
            (None, Some(service)) => service_name(service, &at, errors),
            (None, None) => {}
        }
        attached(&r.policies, &r.managed, attachable, &at, errors);
    }
}

/// Each stream's producers: a role or a user, the service a created role trusts, the key its
/// policy names.
fn check_producers(scope: &Scope<'_>, errors: &mut Vec<String>) {
    let prefix = scope.at();
    let declared: HashSet<&str> = scope.roles.iter().map(|r| r.name.as_str()).collect();
    let mut services: HashMap<&str, Option<&str>> = HashMap::new();
    for (si, s) in scope.streams.iter().enumerate() {
        for (pi, p) in s.producers.iter().enumerate() {
            let at = format!("{prefix}streams[{si}] {:?}: producers[{pi}]", s.name);
            producer(p, &at, &declared, &mut services, errors);
        }
    }
}

fn producer<'a>(
    p: &'a super::SeedProducer,
    at: &str,
    declared: &HashSet<&str>,
    services: &mut HashMap<&'a str, Option<&'a str>>,
    errors: &mut Vec<String>,
) {
    match (&p.role, &p.user) {
        (Some(role), None) => {
            if !is_valid_role_name(role) {
                errors.push(format!("{at}: role {role:?} is not a role name"));
            }
            if let Some(service) = &p.service {
                service_name(service, at, errors);
                if declared.contains(role.as_str()) {
                    errors.push(format!(
                        "{at}: role {role:?} is declared in roles: give its trust there, not service here"
                    ));
                }
            }
            let service = p.service.as_deref();
            if !declared.contains(role.as_str())
                && let Some(before) = services.insert(role, service)
                && before != service
            {
                errors.push(format!(
                    "{at}: role {role:?} is given another service by an earlier producer"
                ));
            }
        }
        (None, Some(user)) => {
            if !is_valid_user_name(user) {
                errors.push(format!("{at}: user {user:?} is not a user name"));
            }
            if p.service.is_some() {
                errors.push(format!("{at}: service is for a role, not a user"));
            }
        }
        _ => errors.push(format!("{at}: give a role or a user (one of them)")),
    }
    if let SeedKmsGrant::Key(arn) = &p.kms
        && let Err(e) = KmsKeyArn::parse(arn)
    {
        errors.push(format!("{at}: kms {arn:?} {e}"));
    }
    if let Some(rate) = p.rate
        && !(rate.is_finite() && (0.0..=MAX_RATE).contains(&rate))
    {
        errors.push(format!(
            "{at}: rate {rate} must be 0 to {MAX_RATE} records per second"
        ));
    }
    if let Some(bytes) = p.bytes {
        if p.rate.is_none() {
            errors.push(format!(
                "{at}: bytes is for a synthetic producer (give its rate)"
            ));
        }
        if !(1..=MAX_RECORD_BYTES).contains(&bytes) {
            errors.push(format!(
                "{at}: bytes {bytes} must be 1 to {MAX_RECORD_BYTES} (a record's data is at most 1,000 KiB)"
            ));
        }
    }
}

/// The most a synthetic producer puts: Firehose's default quota of a stream in the largest
/// Regions (500,000 records per second).
const MAX_RATE: f64 = 500_000.0;
/// The largest record Firehose takes (`Data`, 1,000 KiB).
const MAX_RECORD_BYTES: u64 = 1_024_000;

/// A seeded credential's user: `sandbox`, one of its account's users, or a user its streams'
/// producers create.
pub(super) fn check_credential_user(
    user: &str,
    scope: Option<&Scope<'_>>,
    at: &str,
    errors: &mut Vec<String>,
) {
    if user == BASE_USER {
        return;
    }
    let known = |s: &Scope<'_>| {
        s.users.iter().any(|u| u.name == user)
            || s.streams
                .iter()
                .flat_map(|st| &st.producers)
                .any(|p| p.user.as_deref() == Some(user))
    };
    if !scope.is_some_and(known) {
        errors.push(format!(
            "{at}: user {user:?} is not one of the users of the credential's account (nor a producer of its streams)"
        ));
    }
}

/// Whether a managed policy reference names a policy an entity of `scope` may attach: an AWS
/// managed policy the sandbox knows (name or ARN), or a policy of `scope` (name or ARN).
pub(crate) fn managed_exists(scope: &Scope<'_>, reference: &str) -> bool {
    if !reference.starts_with("arn:") {
        return aws_managed_policy(reference).is_some()
            || scope.policies.iter().any(|p| p.name == reference);
    }
    let Some(arn) = IamArn::parse(reference).filter(|a| a.kind == IamKind::Policy) else {
        return false;
    };
    if arn.account == "aws" {
        return arn.path == "/" && aws_managed_policy(&arn.name).is_some();
    }
    arn.account == scope.account
        && scope
            .policies
            .iter()
            .any(|p| p.name == arn.name && p.path.as_deref().unwrap_or("/") == arn.path)
}

/// Inline policies (names and documents) and attached managed policies.
fn attached(
    inline: &std::collections::BTreeMap<String, serde_json::Value>,
    managed: &[String],
    attachable: &dyn Fn(&str) -> bool,
    at: &str,
    errors: &mut Vec<String>,
) {
    for (name, doc) in inline {
        if !is_valid_group_or_policy_name(name) {
            errors.push(format!(
                "{at}: policy name {name:?} is not 1-128 letters, digits or _+=,.@-"
            ));
        }
        document(
            doc,
            PolicyKind::Identity,
            &format!("{at}: policies {name:?}"),
            errors,
        );
    }
    for m in managed {
        if !attachable(m) {
            errors.push(format!(
                "{at}: managed policy {m:?} is neither an AWS managed policy the sandbox knows nor one of this account's policies"
            ));
        }
    }
}

fn path(path: Option<&str>, at: &str, errors: &mut Vec<String>) {
    if let Some(path) = path
        && !is_valid_path(path)
    {
        errors.push(format!(
            "{at}: path {path:?} is not /, or /a/b/ (at most 512 characters)"
        ));
    }
}

fn service_name(service: &str, at: &str, errors: &mut Vec<String>) {
    if service.is_empty() || !service.contains('.') || service.contains(char::is_whitespace) {
        errors.push(format!(
            "{at}: service {service:?} is not a service principal such as events.amazonaws.com"
        ));
    }
}

/// A policy document, read as IAM (or KMS) reads one of `kind`.
fn document(doc: &serde_json::Value, kind: PolicyKind, at: &str, errors: &mut Vec<String>) {
    if !(doc.is_object() || doc.is_string()) {
        errors.push(format!("{at}: a policy is a JSON object or its text"));
        return;
    }
    if let Err(e) = parse(&document_text(doc), kind) {
        errors.push(format!("{at}: {e}"));
    }
}
