//! The IAM operations that create and change entities, each in the caller's account and
//! authorized by its identity policies (`iam:<Operation>` on the entity's ARN; refused with
//! `AccessDenied`): CreateRole, CreateUser, CreateGroup, CreatePolicy, AddUserToGroup,
//! Put{Role,User,Group}Policy (an inline policy, replaced when it exists) and
//! Attach{Role,User,Group}Policy (an AWS managed policy the sandbox knows or one of the
//! account's). Errors as IAM's model lists them: `NoSuchEntity` (404) "The role with name X
//! cannot be found.", `EntityAlreadyExists` (409) — names are unique without regard to case,
//! as IAM's are —, `MalformedPolicyDocument` (400) with IAM's message, `InvalidInput` (400)
//! for a policy ARN that names no policy at all.

use super::authorize::Actor;
use super::{Document, Entity, PolicyRef};
use crate::vocabulary::policy::{PolicyDocument, PolicyKind};
use crate::vocabulary::{ApiError, IamArn, IamKind, Millis, codes, iam_arn};
use crate::world::World;

/// What CreateRole asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRole {
    pub name: String,
    pub path: String,
    pub trust: String,
    pub description: Option<String>,
    /// `MaxSessionDuration` in seconds (IAM's default 3600).
    pub max_session: u64,
}

/// What CreatePolicy asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub document: String,
}

fn malformed(message: String) -> ApiError {
    ApiError::new(codes::MALFORMED_POLICY_DOCUMENT, message)
}

fn no_such(kind: IamKind, name: &str) -> ApiError {
    ApiError::new(
        codes::NO_SUCH_ENTITY,
        format!("The {} with name {name} cannot be found.", kind.as_str()),
    )
}

impl World {
    /// Authorizes `actor` for `iam:<operation>` on `resource`: `AccessDenied` otherwise.
    pub(crate) fn authorize_iam(
        &self,
        actor: &Actor,
        caller_arn: &str,
        operation: &str,
        resource: &str,
    ) -> Result<(), ApiError> {
        let action = format!("iam:{operation}");
        self.authorize(actor, &action, resource, &Default::default())
            .map_err(|d| {
                ApiError::new(
                    codes::ACCESS_DENIED_QUERY,
                    d.message(caller_arn, &action, resource),
                )
            })
    }

    /// Reads `text` as a policy of `kind` whose `AWS` principals, where they name a user or
    /// role of an account of the world, name one that exists (IAM refuses others).
    pub(crate) fn read_policy(&self, text: &str, kind: PolicyKind) -> Result<Document, String> {
        let doc = Document::read(text, kind)?;
        if let Some(bad) = self.unknown_principal(&doc.policy) {
            return Err(format!("Invalid principal in policy: \"AWS\":\"{bad}\""));
        }
        Ok(doc)
    }

    /// The first `AWS` principal naming a user or role of a world's account that does not
    /// exist.
    pub(crate) fn unknown_principal<'p>(&self, policy: &'p PolicyDocument) -> Option<&'p str> {
        let aws = policy
            .statements
            .iter()
            .filter_map(|s| s.principal.as_ref())
            .flat_map(|p| &p.aws);
        aws.map(String::as_str).find(|a| {
            let Some(arn) = IamArn::parse(a) else {
                return false;
            };
            let Some(iam) = self.iam(&arn.account) else {
                return false;
            };
            let path = match arn.kind {
                IamKind::User => iam.users.get(&arn.name).map(|u| &u.entity.path),
                IamKind::Role => iam.roles.get(&arn.name).map(|r| &r.entity.path),
                IamKind::Group | IamKind::Policy => return true,
            };
            path != Some(&arn.path)
        })
    }

    /// CreateRole.
    pub fn create_role(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        new: &NewRole,
        now: Millis,
    ) -> Result<&super::Role, ApiError> {
        let account = actor.account().to_owned();
        let arn = iam_arn(partition, &account, IamKind::Role, &new.path, &new.name);
        self.authorize_iam(actor, caller_arn, "CreateRole", &arn)?;
        let iam = self
            .iam(&account)
            .ok_or_else(|| no_such(IamKind::Role, &new.name))?;
        if iam.roles.keys().any(|r| r.eq_ignore_ascii_case(&new.name)) {
            return Err(ApiError::new(
                codes::ENTITY_ALREADY_EXISTS,
                format!("Role with name {} already exists.", new.name),
            ));
        }
        let trust = self
            .read_policy(&new.trust, PolicyKind::Trust)
            .map_err(malformed)?;
        let iam = &mut self.accounts.get_mut(&account).expect("found").iam;
        iam.add_role(&account, new, trust, now);
        Ok(&iam.roles[&new.name])
    }

    /// CreateUser.
    pub fn create_user(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        name: &str,
        path: &str,
        now: Millis,
    ) -> Result<&super::User, ApiError> {
        let account = actor.account().to_owned();
        let arn = iam_arn(partition, &account, IamKind::User, path, name);
        self.authorize_iam(actor, caller_arn, "CreateUser", &arn)?;
        let iam = &mut self
            .accounts
            .get_mut(&account)
            .ok_or_else(|| no_such(IamKind::User, name))?
            .iam;
        if iam.users.keys().any(|u| u.eq_ignore_ascii_case(name)) {
            return Err(ApiError::new(
                codes::ENTITY_ALREADY_EXISTS,
                format!("User with name {name} already exists."),
            ));
        }
        Ok(iam.user_entry(&account, name, path, now))
    }

    /// CreateGroup.
    pub fn create_group(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        name: &str,
        path: &str,
        now: Millis,
    ) -> Result<&super::Group, ApiError> {
        let account = actor.account().to_owned();
        let arn = iam_arn(partition, &account, IamKind::Group, path, name);
        self.authorize_iam(actor, caller_arn, "CreateGroup", &arn)?;
        let iam = &mut self
            .accounts
            .get_mut(&account)
            .ok_or_else(|| no_such(IamKind::Group, name))?
            .iam;
        if iam.groups.keys().any(|g| g.eq_ignore_ascii_case(name)) {
            return Err(ApiError::new(
                codes::ENTITY_ALREADY_EXISTS,
                format!("Group with name {name} already exists."),
            ));
        }
        Ok(iam.group_entry(&account, name, path, now))
    }

    /// CreatePolicy.
    pub fn create_policy(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        new: &NewPolicy,
        now: Millis,
    ) -> Result<&super::ManagedPolicy, ApiError> {
        let account = actor.account().to_owned();
        let arn = iam_arn(partition, &account, IamKind::Policy, &new.path, &new.name);
        self.authorize_iam(actor, caller_arn, "CreatePolicy", &arn)?;
        let iam = self
            .iam(&account)
            .ok_or_else(|| no_such(IamKind::Policy, &new.name))?;
        if iam
            .policies
            .keys()
            .any(|p| p.eq_ignore_ascii_case(&new.name))
        {
            return Err(ApiError::new(
                codes::ENTITY_ALREADY_EXISTS,
                format!(
                    "A policy called {} already exists. Duplicate names are not allowed.",
                    new.name
                ),
            ));
        }
        let document = Document::read(&new.document, PolicyKind::Identity).map_err(malformed)?;
        let iam = &mut self.accounts.get_mut(&account).expect("found").iam;
        iam.add_policy(&account, new, document, now);
        Ok(&iam.policies[&new.name])
    }

    /// AddUserToGroup.
    pub fn add_user_to_group(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        group: &str,
        user: &str,
    ) -> Result<(), ApiError> {
        let account = actor.account().to_owned();
        let path = self
            .iam(&account)
            .and_then(|iam| iam.groups.get(group))
            .map(|g| g.entity.path.clone())
            .ok_or_else(|| no_such(IamKind::Group, group))?;
        let arn = iam_arn(partition, &account, IamKind::Group, &path, group);
        self.authorize_iam(actor, caller_arn, "AddUserToGroup", &arn)?;
        let iam = &mut self.accounts.get_mut(&account).expect("found").iam;
        let user = iam
            .users
            .get_mut(user)
            .ok_or_else(|| no_such(IamKind::User, user))?;
        if !user.groups.iter().any(|g| g == group) {
            user.groups.push(group.to_owned());
        }
        Ok(())
    }

    /// Put{Role,User,Group}Policy: inline policy `name` of the entity, replaced if it exists.
    #[allow(clippy::too_many_arguments)]
    pub fn put_inline_policy(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        kind: IamKind,
        entity: &str,
        name: &str,
        text: &str,
    ) -> Result<(), ApiError> {
        let operation = match kind {
            IamKind::Role => "PutRolePolicy",
            IamKind::User => "PutUserPolicy",
            _ => "PutGroupPolicy",
        };
        let arn = self.entity_arn_of(actor.account(), partition, kind, entity)?;
        self.authorize_iam(actor, caller_arn, operation, &arn)?;
        let document = Document::read(text, PolicyKind::Identity).map_err(malformed)?;
        let target = self.entity_mut(actor.account(), kind, entity)?;
        target.inline.insert(name.to_owned(), document);
        Ok(())
    }

    /// Attach{Role,User,Group}Policy.
    #[allow(clippy::too_many_arguments)]
    pub fn attach_policy(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        partition: &str,
        kind: IamKind,
        entity: &str,
        policy_arn: &str,
    ) -> Result<(), ApiError> {
        let operation = match kind {
            IamKind::Role => "AttachRolePolicy",
            IamKind::User => "AttachUserPolicy",
            _ => "AttachGroupPolicy",
        };
        let account = actor.account().to_owned();
        let arn = self.entity_arn_of(&account, partition, kind, entity)?;
        self.authorize_iam(actor, caller_arn, operation, &arn)?;
        if IamArn::parse(policy_arn).is_none_or(|a| a.kind != IamKind::Policy) {
            return Err(ApiError::new(
                codes::IAM_INVALID_INPUT,
                format!("ARN {policy_arn} is not valid."),
            ));
        }
        let policy: PolicyRef = self
            .iam(&account)
            .and_then(|iam| iam.resolve(&account, policy_arn))
            .ok_or_else(|| {
                ApiError::new(
                    codes::NO_SUCH_ENTITY,
                    format!("Policy {policy_arn} does not exist or is not attachable."),
                )
            })?;
        self.entity_mut(&account, kind, entity)?.attach(policy);
        Ok(())
    }

    /// The ARN of entity `name` of `kind` in `account`, or `NoSuchEntity`.
    fn entity_arn_of(
        &self,
        account: &str,
        partition: &str,
        kind: IamKind,
        name: &str,
    ) -> Result<String, ApiError> {
        let iam = self.iam(account).ok_or_else(|| no_such(kind, name))?;
        let entity = match kind {
            IamKind::Role => iam.roles.get(name).map(|r| &r.entity),
            IamKind::User => iam.users.get(name).map(|u| &u.entity),
            IamKind::Group => iam.groups.get(name).map(|g| &g.entity),
            IamKind::Policy => None,
        };
        entity
            .map(|e| super::entity_arn(partition, account, kind, e))
            .ok_or_else(|| no_such(kind, name))
    }

    fn entity_mut(
        &mut self,
        account: &str,
        kind: IamKind,
        name: &str,
    ) -> Result<&mut Entity, ApiError> {
        let iam = &mut self
            .accounts
            .get_mut(account)
            .ok_or_else(|| no_such(kind, name))?
            .iam;
        let entity = match kind {
            IamKind::Role => iam.roles.get_mut(name).map(|r| &mut r.entity),
            IamKind::User => iam.users.get_mut(name).map(|u| &mut u.entity),
            IamKind::Group => iam.groups.get_mut(name).map(|g| &mut g.entity),
            IamKind::Policy => None,
        };
        entity.ok_or_else(|| no_such(kind, name))
    }
}
