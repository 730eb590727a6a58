//! IAM's answers in XML, written from the IAM model's output shapes: `Role`, `User`, `Group`
//! and `Policy` (the Create operations), GetAccountAuthorizationDetails' `UserDetail`,
//! `GroupDetail`, `RoleDetail` and `ManagedPolicyDetail` lists, and SimulatePrincipalPolicy's
//! `EvaluationResult`s. Policy documents (inline, trust, managed versions) are written
//! percent-encoded (RFC 3986), as IAM writes them; timestamps ISO 8601.

use super::xml::{Xml, url_encode};
use crate::vocabulary::{AwsManagedPolicy, IamKind, aws_managed_arn};
use crate::world::iam::{
    DetailsPage, Entity, Group, Iam, ManagedPolicy, PolicyRef, Role, Simulation, Source, User,
    entity_arn,
};

/// Where an answer's ARNs are: the partition and account.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub partition: &'a str,
    pub account: &'a str,
}

impl Place<'_> {
    fn arn(&self, kind: IamKind, entity: &Entity) -> String {
        entity_arn(self.partition, self.account, kind, entity)
    }
}

/// The members `Role`, `User` and `Group` begin with: `Path`, name, id, `Arn`, `CreateDate`.
fn head(x: &mut Xml, place: Place<'_>, kind: IamKind, e: &Entity) {
    let (name, id) = match kind {
        IamKind::User => ("UserName", "UserId"),
        IamKind::Group => ("GroupName", "GroupId"),
        _ => ("RoleName", "RoleId"),
    };
    x.leaf("Path", &e.path)
        .leaf(name, &e.name)
        .leaf(id, &e.id)
        .leaf("Arn", &place.arn(kind, e))
        .time("CreateDate", e.created_at);
}

/// `Role`.
pub fn role(x: &mut Xml, place: Place<'_>, r: &Role) {
    x.open("Role");
    head(x, place, IamKind::Role, &r.entity);
    x.leaf("AssumeRolePolicyDocument", &url_encode(&r.trust.text))
        .maybe("Description", r.description.as_deref())
        .leaf("MaxSessionDuration", &r.max_session.to_string())
        .close("Role");
}

/// `User`.
pub fn user(x: &mut Xml, place: Place<'_>, u: &User) {
    x.open("User");
    head(x, place, IamKind::User, &u.entity);
    x.close("User");
}

/// `Group`.
pub fn group(x: &mut Xml, place: Place<'_>, g: &Group) {
    x.open("Group");
    head(x, place, IamKind::Group, &g.entity);
    x.close("Group");
}

/// The members `Policy` and `ManagedPolicyDetail` share, of a customer managed policy.
fn policy_head(x: &mut Xml, place: Place<'_>, iam: &Iam, p: &ManagedPolicy) {
    let reference = PolicyRef::Local(p.name.clone());
    x.leaf("PolicyName", &p.name)
        .leaf("PolicyId", &p.id)
        .leaf(
            "Arn",
            &iam.policy_arn(place.partition, place.account, &reference),
        )
        .leaf("Path", &p.path)
        .leaf("DefaultVersionId", "v1")
        .leaf("AttachmentCount", &iam.attachments(&reference).to_string())
        .leaf("PermissionsBoundaryUsageCount", "0")
        .leaf("IsAttachable", "true")
        .maybe("Description", p.description.as_deref())
        .time("CreateDate", p.created_at)
        .time("UpdateDate", p.created_at);
}

/// `Policy` (CreatePolicy's answer).
pub fn policy(x: &mut Xml, place: Place<'_>, iam: &Iam, p: &ManagedPolicy) {
    x.open("Policy");
    policy_head(x, place, iam, p);
    x.close("Policy");
}

/// An entity's inline policies (`PolicyDetail`: name, encoded document) and attached policies
/// (`AttachedPolicy`: name, ARN).
fn policies_of(x: &mut Xml, place: Place<'_>, iam: &Iam, e: &Entity, inline_tag: &str) {
    x.list(inline_tag, &e.inline, |x, (name, doc)| {
        x.leaf("PolicyName", name)
            .leaf("PolicyDocument", &url_encode(&doc.text));
    });
    x.list("AttachedManagedPolicies", &e.attached, |x, p| {
        let name = match p {
            PolicyRef::Aws(name) => name,
            PolicyRef::Local(name) => name.as_str(),
        };
        x.leaf("PolicyName", name).leaf(
            "PolicyArn",
            &iam.policy_arn(place.partition, place.account, p),
        );
    });
}

/// GetAccountAuthorizationDetails' result: the four lists (empty when filtered out), then
/// `IsTruncated` and `Marker`.
pub fn details(x: &mut Xml, place: Place<'_>, page: &DetailsPage<'_>) {
    let iam = page.iam;
    x.list("UserDetailList", &page.users, |x, u| {
        head(x, place, IamKind::User, &u.entity);
        policies_of(x, place, iam, &u.entity, "UserPolicyList");
        x.strings("GroupList", u.groups.iter().map(String::as_str));
        x.open("Tags").close("Tags");
    });
    x.list("GroupDetailList", &page.groups, |x, g| {
        head(x, place, IamKind::Group, &g.entity);
        policies_of(x, place, iam, &g.entity, "GroupPolicyList");
    });
    x.list("RoleDetailList", &page.roles, |x, r| {
        head(x, place, IamKind::Role, &r.entity);
        x.leaf("AssumeRolePolicyDocument", &url_encode(&r.trust.text));
        x.open("InstanceProfileList").close("InstanceProfileList");
        policies_of(x, place, iam, &r.entity, "RolePolicyList");
        x.open("Tags").close("Tags");
        x.open("RoleLastUsed").close("RoleLastUsed");
    });
    x.open("Policies");
    for p in &page.policies {
        x.open("member");
        policy_head(x, place, iam, p);
        version_list(x, &p.document.text, p.created_at, "v1");
        x.close("member");
    }
    for p in &page.aws_policies {
        x.open("member");
        aws_policy(x, place, iam, p);
        x.close("member");
    }
    x.close("Policies");
    x.leaf(
        "IsTruncated",
        if page.marker.is_some() {
            "true"
        } else {
            "false"
        },
    );
    x.maybe("Marker", page.marker.as_deref());
}

/// An AWS managed policy's `ManagedPolicyDetail`.
fn aws_policy(x: &mut Xml, place: Place<'_>, iam: &Iam, p: &AwsManagedPolicy) {
    let id = crate::vocabulary::unique_id(IamKind::Policy, &aws_managed_arn("aws", p.name));
    x.leaf("PolicyName", p.name)
        .leaf("PolicyId", &id)
        .leaf("Arn", &aws_managed_arn(place.partition, p.name))
        .leaf("Path", "/")
        .leaf("DefaultVersionId", p.version)
        .leaf(
            "AttachmentCount",
            &iam.attachments(&PolicyRef::Aws(p.name)).to_string(),
        )
        .leaf("PermissionsBoundaryUsageCount", "0")
        .leaf("IsAttachable", "true")
        .leaf("Description", p.description)
        .time("CreateDate", p.created)
        .time("UpdateDate", p.updated);
    version_list(x, p.document, p.updated, p.version);
}

/// `PolicyVersionList` with the default version only.
fn version_list(x: &mut Xml, document: &str, at: crate::vocabulary::Millis, version: &str) {
    x.list("PolicyVersionList", [document], |x, doc| {
        x.leaf("Document", &url_encode(doc))
            .leaf("VersionId", version)
            .leaf("IsDefaultVersion", "true")
            .time("CreateDate", at);
    });
}

/// `MatchedStatements`.
fn matched(x: &mut Xml, sources: &[Source]) {
    x.list("MatchedStatements", sources, |x, s| {
        x.leaf("SourcePolicyId", &s.id)
            .leaf("SourcePolicyType", s.kind.as_str());
    });
}

/// SimulatePrincipalPolicy's result.
pub fn simulation(x: &mut Xml, sim: &Simulation) {
    x.list("EvaluationResults", &sim.results, |x, r| {
        x.leaf("EvalActionName", &r.action)
            .leaf("EvalResourceName", &r.resource)
            .leaf("EvalDecision", r.decision.as_str());
        matched(x, &r.matched);
        x.strings("MissingContextValues", r.missing.iter().map(String::as_str));
        if !r.per_resource.is_empty() {
            x.list("ResourceSpecificResults", &r.per_resource, |x, rr| {
                x.leaf("EvalResourceName", &rr.resource)
                    .leaf("EvalResourceDecision", rr.decision.as_str());
                matched(x, &rr.matched);
                x.strings(
                    "MissingContextValues",
                    rr.missing.iter().map(String::as_str),
                );
            });
        }
    });
    x.leaf(
        "IsTruncated",
        if sim.marker.is_some() {
            "true"
        } else {
            "false"
        },
    );
    x.maybe("Marker", sim.marker.as_deref());
}
