//! Who a caller is to policies (an [`Actor`]: an IAM user of its account, or a session of one
//! of its roles) and what it may do: its identity policies (a user's inline and attached
//! policies and its groups'; a role's for a session), alone or with a resource-based policy
//! (a role's trust policy, a KMS key policy). With a resource-based policy, a request is
//! allowed when no `Deny` of either side applies and either the resource policy allows the
//! caller directly (same account) or it allows the caller's account and the identity policies
//! allow too (a cross-account caller always needs both), as IAM's evaluation logic describes.

use super::evaluate::{self, Context, Decision, Grants, Outcome, Source, SourceKind, Who};
use super::{Entity, Iam, PolicyRef, entity_arn};
use crate::vocabulary::policy::PolicyDocument;
use crate::vocabulary::{IamKind, assumed_role_arn, aws_managed_policy};
use crate::world::World;

/// Who a request is from, as policies name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An IAM user (the base credentials' `sandbox`, or a seeded credential's user).
    User { account: String, name: String },
    /// A session of a role.
    Session {
        account: String,
        role: String,
        session: String,
    },
}

impl Actor {
    pub fn account(&self) -> &str {
        match self {
            Actor::User { account, .. } | Actor::Session { account, .. } => account,
        }
    }
}

/// Why a request was refused: which side refused it, and whether a `Deny` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    pub explicit: bool,
    /// The resource-based policy refused it (else the identity policies did).
    pub by_resource_policy: bool,
}

impl Denial {
    /// AWS's access-denied message for `caller_arn` doing `action` on `resource`.
    pub fn message(&self, caller_arn: &str, action: &str, resource: &str) -> String {
        let kind = if self.by_resource_policy {
            "resource-based"
        } else {
            "identity-based"
        };
        let why = if self.explicit {
            format!("with an explicit deny in a {kind} policy")
        } else {
            format!("because no {kind} policy allows the {action} action")
        };
        format!(
            "User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {why}"
        )
    }
}

impl World {
    /// The IAM of `account`, if the world has that account.
    pub(crate) fn iam(&self, account: &str) -> Option<&Iam> {
        self.accounts.get(account).map(|a| &a.iam)
    }

    /// The identity policies of `actor`, each with where it comes from.
    pub(crate) fn identity_policies(&self, actor: &Actor) -> Vec<(Source, &PolicyDocument)> {
        let Some(iam) = self.iam(actor.account()) else {
            return Vec::new();
        };
        let found = match actor {
            Actor::User { name, .. } => policies_of(iam, IamKind::User, name, None),
            Actor::Session { role, .. } => policies_of(iam, IamKind::Role, role, None),
        };
        found.unwrap_or_default()
    }

    /// What `actor`'s identity policies decide for `action` on `resource`.
    pub(crate) fn identity_outcome(
        &self,
        actor: &Actor,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Outcome {
        let policies: Vec<&PolicyDocument> = self
            .identity_policies(actor)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        evaluate::evaluate(&policies, action, resource, context)
    }

    /// Whether `actor`'s identity policies allow `action` on `resource`.
    pub fn authorize(
        &self,
        actor: &Actor,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<(), Denial> {
        match self
            .identity_outcome(actor, action, resource, context)
            .decision
        {
            Decision::Allowed => Ok(()),
            d => Err(Denial {
                explicit: d == Decision::ExplicitDeny,
                by_resource_policy: false,
            }),
        }
    }

    /// The account and the ARNs that name `actor` directly, in `partition`.
    pub(crate) fn who(&self, actor: &Actor, partition: &str) -> Who {
        let arns = match actor {
            Actor::User { account, name } => {
                let path = self
                    .iam(account)
                    .and_then(|iam| iam.users.get(name))
                    .map_or("/", |u| u.entity.path.as_str());
                vec![crate::vocabulary::iam_arn(
                    partition,
                    account,
                    IamKind::User,
                    path,
                    name,
                )]
            }
            Actor::Session {
                account,
                role,
                session,
            } => {
                let mut arns = Vec::new();
                if let Some(r) = self.iam(account).and_then(|iam| iam.roles.get(role)) {
                    arns.push(entity_arn(partition, account, IamKind::Role, &r.entity));
                }
                arns.push(assumed_role_arn(partition, account, role, session));
                arns
            }
        };
        Who {
            account: actor.account().to_owned(),
            arns,
        }
    }

    /// Whether `actor` may do `action` on `resource`, a resource of account `owner` whose
    /// resource-based policy is `policy`: both sides, as the module says.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn authorize_with(
        &self,
        actor: &Actor,
        partition: &str,
        policy: &PolicyDocument,
        owner: &str,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<(), Denial> {
        let who = self.who(actor, partition);
        let Grants {
            deny,
            direct,
            account,
        } = evaluate::grants(policy, &who, action, resource, context);
        let identity = self
            .identity_outcome(actor, action, resource, context)
            .decision;
        if deny {
            return Err(Denial {
                explicit: true,
                by_resource_policy: true,
            });
        }
        if identity == Decision::ExplicitDeny {
            return Err(Denial {
                explicit: true,
                by_resource_policy: false,
            });
        }
        let same_account = actor.account() == owner;
        let identity_allows = identity == Decision::Allowed;
        if (direct && (same_account || identity_allows)) || (account && identity_allows) {
            return Ok(());
        }
        Err(Denial {
            explicit: false,
            // Named by the resource policy (directly or by its account) but not allowed by
            // its identity policies: the identity side refused.
            by_resource_policy: !(direct || account),
        })
    }
}

/// The identity policies of the user (its groups' included), group or role `name` of `iam`
/// (at `path`, when given); `None` when there is no such entity.
pub(crate) fn policies_of<'a>(
    iam: &'a Iam,
    kind: IamKind,
    name: &str,
    path: Option<&str>,
) -> Option<Vec<(Source, &'a PolicyDocument)>> {
    let at = |e: &Entity| path.is_none_or(|p| p == e.path);
    let mut out = Vec::new();
    match kind {
        IamKind::User => {
            let user = iam.users.get(name).filter(|u| at(&u.entity))?;
            entity_policies(iam, &user.entity, SourceKind::User, &mut out);
            for g in &user.groups {
                if let Some(group) = iam.groups.get(g) {
                    entity_policies(iam, &group.entity, SourceKind::Group, &mut out);
                }
            }
        }
        IamKind::Group => {
            let group = iam.groups.get(name).filter(|g| at(&g.entity))?;
            entity_policies(iam, &group.entity, SourceKind::Group, &mut out);
        }
        IamKind::Role => {
            let role = iam.roles.get(name).filter(|r| at(&r.entity))?;
            entity_policies(iam, &role.entity, SourceKind::Role, &mut out);
        }
        IamKind::Policy => return None,
    }
    Some(out)
}

/// An entity's inline policies (as `inline_kind`) then its attached managed policies.
fn entity_policies<'a>(
    iam: &'a Iam,
    entity: &'a Entity,
    inline_kind: SourceKind,
    out: &mut Vec<(Source, &'a PolicyDocument)>,
) {
    for (name, doc) in &entity.inline {
        out.push((
            Source {
                id: name.clone(),
                kind: inline_kind,
            },
            &doc.policy,
        ));
    }
    for attached in &entity.attached {
        match attached {
            PolicyRef::Aws(name) => {
                if let Some(doc) = aws_document(name) {
                    out.push((
                        Source {
                            id: (*name).to_owned(),
                            kind: SourceKind::AwsManaged,
                        },
                        doc,
                    ));
                }
            }
            PolicyRef::Local(name) => {
                if let Some(p) = iam.policies.get(name) {
                    out.push((
                        Source {
                            id: name.clone(),
                            kind: SourceKind::UserManaged,
                        },
                        &p.document.policy,
                    ));
                }
            }
        }
    }
}

/// The document of an AWS managed policy the sandbox knows, read once.
pub(crate) fn aws_document(name: &str) -> Option<&'static PolicyDocument> {
    use crate::vocabulary::AWS_MANAGED_POLICIES;
    use crate::vocabulary::policy::{PolicyKind, parse};
    use std::sync::OnceLock;
    static READ: OnceLock<Vec<PolicyDocument>> = OnceLock::new();
    let read = READ.get_or_init(|| {
        AWS_MANAGED_POLICIES
            .iter()
            .map(|p| parse(p.document, PolicyKind::Identity).expect("AWS's documents read"))
            .collect()
    });
    let index = AWS_MANAGED_POLICIES
        .iter()
        .position(|p| Some(p.name) == aws_managed_policy(name).map(|m| m.name))?;
    read.get(index)
}
