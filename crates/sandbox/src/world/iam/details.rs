//! GetAccountAuthorizationDetails: a snapshot of the caller's account's IAM — its users (with
//! their inline policies, attached policies and groups), groups, roles (with their trust
//! policies) and managed policies (its own, and the AWS managed policies attached to one of its
//! entities, as IAM lists only those in use) — filtered by entity type, `MaxItems` (default
//! 100) entries a page across the four lists in that order, with an opaque `Marker` while more
//! remain (`IsTruncated`). A marker the sandbox did not give is refused (`ValidationError`
//! "Invalid Marker."; IAM's model lists no error for it).

use super::authorize::Actor;
use super::{Group, Iam, ManagedPolicy, PolicyRef, Role, User};
use crate::vocabulary::{AWS_MANAGED_POLICIES, ApiError, AwsManagedPolicy, codes};
use crate::world::World;

/// Entries a page when `MaxItems` is absent (IAM's default).
pub const DEFAULT_ITEMS: usize = 100;

/// Mixed into markers so that they read as opaque.
const MARKER_MASK: u64 = 0x1a3d_e7a1_15ac_c0de;

/// `EntityType`: which lists the answer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityFilter {
    User,
    Role,
    Group,
    LocalManagedPolicy,
    AwsManagedPolicy,
}

impl EntityFilter {
    /// From the model's enum value.
    pub fn parse(text: &str) -> Option<EntityFilter> {
        Some(match text {
            "User" => EntityFilter::User,
            "Role" => EntityFilter::Role,
            "Group" => EntityFilter::Group,
            "LocalManagedPolicy" => EntityFilter::LocalManagedPolicy,
            "AWSManagedPolicy" => EntityFilter::AwsManagedPolicy,
            _ => return None,
        })
    }
}

/// One page of the account's authorization details.
#[derive(Debug)]
pub struct DetailsPage<'a> {
    /// The account's IAM, for what the entries refer to.
    pub iam: &'a Iam,
    pub users: Vec<&'a User>,
    pub groups: Vec<&'a Group>,
    pub roles: Vec<&'a Role>,
    pub policies: Vec<&'a ManagedPolicy>,
    pub aws_policies: Vec<&'static AwsManagedPolicy>,
    /// The marker of the next page, when there is one.
    pub marker: Option<String>,
}

/// One entry of the listing.
enum Entry<'a> {
    User(&'a User),
    Group(&'a Group),
    Role(&'a Role),
    Policy(&'a ManagedPolicy),
    Aws(&'static AwsManagedPolicy),
}

impl World {
    /// GetAccountAuthorizationDetails by `actor`: `filter` (empty: every type), at most
    /// `max_items` entries after `marker`.
    pub fn authorization_details(
        &self,
        actor: &Actor,
        caller_arn: &str,
        filter: &[EntityFilter],
        max_items: Option<usize>,
        marker: Option<&str>,
    ) -> Result<DetailsPage<'_>, ApiError> {
        self.authorize_iam(actor, caller_arn, "GetAccountAuthorizationDetails", "*")?;
        let iam = self
            .iam(actor.account())
            .expect("a caller's account exists");
        let wants = |f: EntityFilter| filter.is_empty() || filter.contains(&f);
        let mut all: Vec<Entry<'_>> = Vec::new();
        if wants(EntityFilter::User) {
            all.extend(iam.users.values().map(Entry::User));
        }
        if wants(EntityFilter::Group) {
            all.extend(iam.groups.values().map(Entry::Group));
        }
        if wants(EntityFilter::Role) {
            all.extend(iam.roles.values().map(Entry::Role));
        }
        if wants(EntityFilter::LocalManagedPolicy) {
            all.extend(iam.policies.values().map(Entry::Policy));
        }
        if wants(EntityFilter::AwsManagedPolicy) {
            all.extend(
                AWS_MANAGED_POLICIES
                    .iter()
                    .filter(|p| iam.attachments(&PolicyRef::Aws(p.name)) > 0)
                    .map(Entry::Aws),
            );
        }
        let start = match marker {
            None => 0,
            Some(m) => read_marker(m)
                .filter(|&at| at <= all.len())
                .ok_or_else(|| ApiError::new(codes::VALIDATION_QUERY, "Invalid Marker."))?,
        };
        let end = (start + max_items.unwrap_or(DEFAULT_ITEMS)).min(all.len());
        let mut page = DetailsPage {
            iam,
            users: Vec::new(),
            groups: Vec::new(),
            roles: Vec::new(),
            policies: Vec::new(),
            aws_policies: Vec::new(),
            marker: (end < all.len()).then(|| marker_at(end)),
        };
        for entry in all.drain(start..end) {
            match entry {
                Entry::User(u) => page.users.push(u),
                Entry::Group(g) => page.groups.push(g),
                Entry::Role(r) => page.roles.push(r),
                Entry::Policy(p) => page.policies.push(p),
                Entry::Aws(p) => page.aws_policies.push(p),
            }
        }
        Ok(page)
    }
}

/// The opaque marker of position `at`.
pub(super) fn marker_at(at: usize) -> String {
    format!("{:016x}", at as u64 ^ MARKER_MASK)
}

/// The position a marker stands for, if the sandbox could have given it.
pub(super) fn read_marker(marker: &str) -> Option<usize> {
    if marker.len() != 16 {
        return None;
    }
    u64::from_str_radix(marker, 16)
        .ok()
        .and_then(|n| usize::try_from(n ^ MARKER_MASK).ok())
}
