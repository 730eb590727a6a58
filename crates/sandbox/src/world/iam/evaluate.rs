//! What policies decide for a request (an action on a resource, with its context), on the
//! subset of IAM's evaluation logic the sandbox implements:
//!
//! - a statement applies when its `Action` (or `NotAction`) covers the action (without regard
//!   to case), its `Resource` (or `NotResource`) covers the resource (with regard to case; `*`
//!   and `?` wildcards in both) and every condition holds;
//! - an applying `Deny` wins (`explicitDeny`); else an applying `Allow` allows (`allowed`);
//!   else nothing does (`implicitDeny`);
//! - conditions: only `kms:GrantIsForAWSResource` with `Bool`, and `kms:ViaService` and
//!   `sts:ExternalId` with `StringEquals` or `StringLike`, are evaluated, from the request's
//!   context. Any other key or operator, or one of those keys the context lacks, makes the
//!   statement not apply and names the key among the missing context values, as IAM's
//!   simulator does for a key it was not given;
//! - a resource-based policy (a trust or key policy) also names who it is about: `Principal`
//!   `AWS` values match the caller directly (`*`, its user or role ARN, its assumed-role
//!   session ARN) or through its account (`<account>` or `arn:...:iam::<account>:root`, which
//!   delegates to that account's IAM policies). `NotPrincipal` never matches (not modelled).

use std::collections::BTreeSet;

use crate::vocabulary::policy::{Condition, Effect, PolicyDocument, Principals, Statement, glob};

/// The decision, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    Allowed,
    ImplicitDeny,
    ExplicitDeny,
}

impl Decision {
    /// As the simulator names it (`PolicyEvaluationDecisionType`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ImplicitDeny => "implicitDeny",
            Decision::ExplicitDeny => "explicitDeny",
        }
    }
}

/// The kind of a policy in a simulation (`PolicySourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    User,
    Group,
    Role,
    AwsManaged,
    UserManaged,
    Resource,
    None,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::User => "user",
            SourceKind::Group => "group",
            SourceKind::Role => "role",
            SourceKind::AwsManaged => "aws-managed",
            SourceKind::UserManaged => "user-managed",
            SourceKind::Resource => "resource",
            SourceKind::None => "none",
        }
    }
}

/// Where a policy comes from: its `SourcePolicyId` and `SourcePolicyType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
}

/// The request's context: condition keys (compared without regard to case) and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    /// `key` with `values` added.
    pub fn with(mut self, key: &str, values: Vec<String>) -> Context {
        self.entries.push((key.to_ascii_lowercase(), values));
        self
    }

    fn get(&self, key: &str) -> Option<&[String]> {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// What a set of identity policies decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    /// The statements that decide it, as (policy index, statement index): the denying ones of
    /// an explicit deny, the allowing ones of an allow, none of an implicit deny.
    pub matched: Vec<(usize, usize)>,
    /// Condition keys the policies needed and the context did not give (or the sandbox cannot
    /// evaluate), as written.
    pub missing: BTreeSet<String>,
}

/// What `policies` decide for `action` on `resource`.
pub fn evaluate(
    policies: &[&PolicyDocument],
    action: &str,
    resource: &str,
    context: &Context,
) -> Outcome {
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    let mut missing = BTreeSet::new();
    for (pi, policy) in policies.iter().enumerate() {
        for (si, s) in policy.statements.iter().enumerate() {
            if covers(s, action, resource) && conditions_hold(&s.conditions, context, &mut missing)
            {
                match s.effect {
                    Effect::Allow => allows.push((pi, si)),
                    Effect::Deny => denies.push((pi, si)),
                }
            }
        }
    }
    let (decision, matched) = if !denies.is_empty() {
        (Decision::ExplicitDeny, denies)
    } else if !allows.is_empty() {
        (Decision::Allowed, allows)
    } else {
        (Decision::ImplicitDeny, Vec::new())
    };
    Outcome {
        decision,
        matched,
        missing,
    }
}

/// Whether a statement is about `action` on `resource` (conditions aside).
fn covers(s: &Statement, action: &str, resource: &str) -> bool {
    !s.inert
        && s.action.as_ref().is_some_and(|a| a.covers(action, true))
        && s.resource
            .as_ref()
            .is_none_or(|r| r.covers(resource, false))
}

/// Whether every condition holds; the keys that could not be evaluated go to `missing`.
fn conditions_hold(
    conditions: &[Condition],
    context: &Context,
    missing: &mut BTreeSet<String>,
) -> bool {
    let mut all = true;
    for c in conditions {
        if !holds(c, context, missing) {
            all = false;
        }
    }
    all
}

/// How the sandbox compares a condition's values with the context's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    Bool,
    Equals,
    Like,
}

fn holds(c: &Condition, context: &Context, missing: &mut BTreeSet<String>) -> bool {
    let key = c.key.to_ascii_lowercase();
    let test = match (key.as_str(), c.operator.as_str()) {
        ("kms:grantisforawsresource", "Bool") => Some(Test::Bool),
        ("kms:viaservice" | "sts:externalid", "StringEquals") => Some(Test::Equals),
        ("kms:viaservice" | "sts:externalid", "StringLike") => Some(Test::Like),
        _ => None,
    };
    let (Some(test), Some(given)) = (test, context.get(&key)) else {
        missing.insert(c.key.clone());
        return false;
    };
    given.iter().any(|v| {
        c.values.iter().any(|w| match test {
            Test::Bool => w.eq_ignore_ascii_case(v),
            Test::Equals => w == v,
            Test::Like => glob(w, v, false),
        })
    })
}

/// Who a resource-based policy is asked about: its account, and the ARNs that name it
/// directly (a user's ARN; a role's ARN and its session's ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub account: String,
    pub arns: Vec<String>,
}

/// How a resource-based policy's applying statements stand towards a caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    /// A `Deny` naming the caller (directly or through its account) applies.
    pub deny: bool,
    /// An `Allow` naming the caller directly applies.
    pub direct: bool,
    /// An `Allow` naming the caller's account (delegating to its IAM policies) applies.
    pub account: bool,
}

/// What resource-based `policy` says of `who` doing `action` on `resource`.
pub fn grants(
    policy: &PolicyDocument,
    who: &Who,
    action: &str,
    resource: &str,
    context: &Context,
) -> Grants {
    let mut g = Grants::default();
    let mut missing = BTreeSet::new();
    for s in &policy.statements {
        let Some(how) = s.principal.as_ref().and_then(|p| names(p, who)) else {
            continue;
        };
        if !covers(s, action, resource) || !conditions_hold(&s.conditions, context, &mut missing) {
            continue;
        }
        match (s.effect, how) {
            (Effect::Deny, _) => g.deny = true,
            (Effect::Allow, Named::Directly) => g.direct = true,
            (Effect::Allow, Named::ByAccount) => g.account = true,
        }
    }
    g
}

/// How a `Principal` names a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    Directly,
    ByAccount,
}

fn names(p: &Principals, who: &Who) -> Option<Named> {
    if p.not {
        return None;
    }
    let mut found = None;
    for a in &p.aws {
        if a == "*" || who.arns.iter().any(|arn| arn == a) {
            return Some(Named::Directly);
        }
        let root = a
            .strip_suffix(":root")
            .and_then(|rest| rest.strip_prefix("arn:"))
            .and_then(|rest| rest.split(':').nth(3));
        if *a == who.account || root == Some(who.account.as_str()) {
            found = Some(Named::ByAccount);
        }
    }
    found
}
