//! The IAM a seed describes, per account: its customer managed policies, groups, users (the
//! base user `sandbox` extended when declared), roles (a role without a trust policy trusts
//! any principal and has `AdministratorAccess`, as seeded roles always could do anything) and
//! the `producers` of its streams (a role or user created when missing, given an inline policy
//! allowing it to put to the stream).

use std::collections::BTreeMap;

use serde_json::Value;

use super::World;
use super::iam::{Document, Entity, Iam, NewPolicy, NewRole, PolicyRef};
use crate::seed::{Scope, SeedProducer, document_text, trust_policy};
use crate::vocabulary::policy::PolicyKind;
use crate::vocabulary::{ADMINISTRATOR_ACCESS, Millis, firehose_arn, partition, root_arn};

impl World {
    /// Adds the IAM of `scope` to its account; `default_region` stands in for the region of
    /// streams that name none.
    pub(super) fn seed_iam(&mut self, scope: &Scope<'_>, default_region: &str, now: Millis) {
        let account = scope.account;
        let iam = &mut self
            .accounts
            .get_mut(account)
            .expect("every scope's account is seeded")
            .iam;
        for p in scope.policies {
            let new = NewPolicy {
                name: p.name.clone(),
                path: p.path.clone().unwrap_or_else(|| "/".to_owned()),
                description: p.description.clone(),
                document: document_text(&p.document),
            };
            let doc = read(&new.document, PolicyKind::Identity);
            iam.add_policy(account, &new, doc, now);
        }
        for g in scope.groups {
            let path = g.path.as_deref().unwrap_or("/");
            iam.group_entry(account, &g.name, path, now);
            let attached = resolve(iam, account, &g.managed);
            let entity = &mut iam.groups.get_mut(&g.name).expect("added").entity;
            give(entity, &g.policies, attached);
        }
        for u in scope.users {
            let path = u.path.as_deref().unwrap_or("/");
            iam.user_entry(account, &u.name, path, now);
            let attached = resolve(iam, account, &u.managed);
            let user = iam.users.get_mut(&u.name).expect("added");
            give(&mut user.entity, &u.policies, attached);
            for g in &u.groups {
                if !user.groups.contains(g) {
                    user.groups.push(g.clone());
                }
            }
        }
        for r in scope.roles {
            let new = NewRole {
                name: r.name.clone(),
                path: r.path.clone().unwrap_or_else(|| "/".to_owned()),
                trust: r.trust_text(),
                description: r.description.clone(),
                max_session: r.max_session().expect("checked").as_secs(),
            };
            let trust = read(&new.trust, PolicyKind::Trust);
            iam.add_role(account, &new, trust, now);
            let mut attached = resolve(iam, account, &r.managed);
            if r.is_open() {
                attached.insert(0, PolicyRef::Aws(ADMINISTRATOR_ACCESS));
            }
            let entity = &mut iam.roles.get_mut(&r.name).expect("added").entity;
            give(entity, &r.policies, attached);
        }
        for s in scope.streams {
            let region = s.region.as_deref().unwrap_or(default_region);
            let arn = firehose_arn(region, account, &s.name);
            for p in &s.producers {
                add_producer(iam, account, region, &s.name, &arn, p, now);
            }
        }
    }
}

/// A producer of stream `name`: its role or user, created when missing, with the inline policy
/// allowing it to put.
fn add_producer(
    iam: &mut Iam,
    account: &str,
    region: &str,
    name: &str,
    stream_arn: &str,
    p: &SeedProducer,
    now: Millis,
) {
    let policy = SeedProducer::policy(stream_arn, p.kms_resource()).to_string();
    let doc = read(&policy, PolicyKind::Identity);
    let policy_name = SeedProducer::policy_name(region, name);
    let entity = match (&p.role, &p.user) {
        (Some(role), _) => {
            if !iam.roles.contains_key(role) {
                let principal = match &p.service {
                    Some(service) => serde_json::json!({"Service": service}),
                    None => serde_json::json!({"AWS": root_arn(partition(region), account)}),
                };
                let new = NewRole {
                    name: role.clone(),
                    path: "/".to_owned(),
                    trust: trust_policy(&principal, None),
                    description: None,
                    max_session: 3_600,
                };
                let trust = read(&new.trust, PolicyKind::Trust);
                iam.add_role(account, &new, trust, now);
            }
            &mut iam.roles.get_mut(role).expect("added").entity
        }
        (None, Some(user)) => &mut iam.user_entry(account, user, "/", now).entity,
        (None, None) => return,
    };
    entity.inline.insert(policy_name, doc);
}

/// The managed policies `references` name (the seed's checks found each).
fn resolve(iam: &Iam, account: &str, references: &[String]) -> Vec<PolicyRef> {
    references
        .iter()
        .map(|r| iam.resolve(account, r).expect("checked"))
        .collect()
}

/// Gives an entity its inline policies and attaches `attached`.
fn give(entity: &mut Entity, inline: &BTreeMap<String, Value>, attached: Vec<PolicyRef>) {
    for (name, doc) in inline {
        let text = document_text(doc);
        entity
            .inline
            .insert(name.clone(), read(&text, PolicyKind::Identity));
    }
    for policy in attached {
        entity.attach(policy);
    }
}

/// A document the seed's checks have read.
fn read(text: &str, kind: PolicyKind) -> Document {
    Document::read(text, kind).expect("checked")
}
