//! IAM on the wire: the query protocol (a form-encoded `POST /`, `Action=...&Version=2010-05-08`,
//! answered in XML in IAM's namespace), as boto3 and the Rust SDK send it to
//! `iam.amazonaws.com` (IAM is global: the request's signing Region only picks the partition
//! of the ARNs). The form is read by IAM's model (`query`: a broken constraint is
//! `ValidationError`, a value not of its type `MalformedInput`), then into one typed input per
//! operation, named as in the model; each executes in the caller's account
//! (`world::iam`) and answers from `iam_answers`.

use serde::Deserialize;

use super::iam_answers::{self, Place};
use super::model::Service;
use super::xml::{self, Xml};
use super::{Op, query};
use crate::vocabulary::{ApiError, IamKind, partition};
use crate::world::iam::{Context, EntityFilter, NewPolicy, NewRole, SimulationRequest};
use crate::world::{Caller, World};

/// The namespace of every IAM answer (IAM model, `xmlNamespace`).
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// IAM's API version, the form's `Version`.
pub const VERSION: &str = "2010-05-08";

/// An IAM request, read.
#[derive(Debug, Clone)]
pub enum Request {
    CreateRole(CreateRoleRequest),
    CreateUser(NamedEntity),
    CreateGroup(NamedEntity),
    CreatePolicy(CreatePolicyRequest),
    AddUserToGroup(AddUserToGroupRequest),
    PutPolicy(IamKind, PutPolicyRequest),
    AttachPolicy(IamKind, AttachPolicyRequest),
    Details(GetAccountAuthorizationDetailsRequest),
    Simulate(SimulatePrincipalPolicyRequest),
}

/// `CreateRoleRequest` (`PermissionsBoundary`, `Tags` and `MaxSigninSessionDuration` are
/// checked by the model, then not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoleRequest {
    role_name: String,
    assume_role_policy_document: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    max_session_duration: Option<u64>,
}

/// `CreateUserRequest` and `CreateGroupRequest`: a name and a path (`UserName` or
/// `GroupName`; `Tags` and `PermissionsBoundary` are not read).
#[derive(Debug, Clone, Deserialize)]
pub struct NamedEntity {
    #[serde(alias = "UserName", alias = "GroupName")]
    name: String,
    #[serde(rename = "Path", default)]
    path: Option<String>,
}

/// `CreatePolicyRequest` (`Tags` not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyRequest {
    policy_name: String,
    policy_document: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `AddUserToGroupRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddUserToGroupRequest {
    group_name: String,
    user_name: String,
}

/// `Put{Role,User,Group}PolicyRequest`: the entity's name, the policy's name and document.
#[derive(Debug, Clone, Deserialize)]
pub struct PutPolicyRequest {
    #[serde(alias = "RoleName", alias = "UserName", alias = "GroupName")]
    entity: String,
    #[serde(rename = "PolicyName")]
    policy_name: String,
    #[serde(rename = "PolicyDocument")]
    policy_document: String,
}

/// `Attach{Role,User,Group}PolicyRequest`.
#[derive(Debug, Clone, Deserialize)]
pub struct AttachPolicyRequest {
    #[serde(alias = "RoleName", alias = "UserName", alias = "GroupName")]
    entity: String,
    #[serde(rename = "PolicyArn")]
    policy_arn: String,
}

/// `GetAccountAuthorizationDetailsRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccountAuthorizationDetailsRequest {
    #[serde(default)]
    filter: Vec<String>,
    #[serde(default)]
    max_items: Option<usize>,
    #[serde(default)]
    marker: Option<String>,
}

/// `ContextEntry` (`ContextKeyType` is not read: every value is compared as text).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextEntry {
    #[serde(default)]
    context_key_name: Option<String>,
    #[serde(default)]
    context_key_values: Vec<String>,
}

/// `SimulatePrincipalPolicyRequest` (what `world::iam::simulate` does not read is checked by
/// the model, then not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulatePrincipalPolicyRequest {
    policy_source_arn: String,
    action_names: Vec<String>,
    #[serde(default)]
    policy_input_list: Vec<String>,
    #[serde(default)]
    resource_arns: Vec<String>,
    #[serde(default)]
    context_entries: Vec<ContextEntry>,
    #[serde(default)]
    max_items: Option<usize>,
    #[serde(default)]
    marker: Option<String>,
}

impl Request {
    /// Reads `form` as the input of `op`, an IAM action.
    pub fn read(op: Op, form: &str) -> Result<Request, ApiError> {
        fn read<T: serde::de::DeserializeOwned>(op: Op, form: &str) -> Result<T, ApiError> {
            query::read(Service::Iam, op.name(), form)
        }
        Ok(match op {
            Op::CreateRole => Request::CreateRole(read(op, form)?),
            Op::CreateUser => Request::CreateUser(read(op, form)?),
            Op::CreateGroup => Request::CreateGroup(read(op, form)?),
            Op::CreatePolicy => Request::CreatePolicy(read(op, form)?),
            Op::AddUserToGroup => Request::AddUserToGroup(read(op, form)?),
            Op::PutRolePolicy => Request::PutPolicy(IamKind::Role, read(op, form)?),
            Op::PutUserPolicy => Request::PutPolicy(IamKind::User, read(op, form)?),
            Op::PutGroupPolicy => Request::PutPolicy(IamKind::Group, read(op, form)?),
            Op::AttachRolePolicy => Request::AttachPolicy(IamKind::Role, read(op, form)?),
            Op::AttachUserPolicy => Request::AttachPolicy(IamKind::User, read(op, form)?),
            Op::AttachGroupPolicy => Request::AttachPolicy(IamKind::Group, read(op, form)?),
            Op::GetAccountAuthorizationDetails => Request::Details(read(op, form)?),
            Op::SimulatePrincipalPolicy => Request::Simulate(read(op, form)?),
            other => unreachable!("{} is not an IAM action", other.name()),
        })
    }

    /// Carries the request of `caller` out in its account; the XML answer.
    pub fn execute(
        &self,
        op: Op,
        world: &mut World,
        caller: &Caller,
        region: &str,
        now: crate::vocabulary::Millis,
        request_id: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let actor = caller.actor();
        let arn = caller.arn(region);
        let partition = partition(region);
        let place = Place {
            partition,
            account: &caller.account,
        };
        let answer = |write: &dyn Fn(&mut Xml)| {
            Ok(xml::response(op.name(), NAMESPACE, request_id, Some(write)))
        };
        let done = || Ok(xml::response(op.name(), NAMESPACE, request_id, None));
        let path = |p: &Option<String>| p.clone().unwrap_or_else(|| "/".to_owned());
        match self {
            Request::CreateRole(r) => {
                let new = NewRole {
                    name: r.role_name.clone(),
                    path: path(&r.path),
                    trust: r.assume_role_policy_document.clone(),
                    description: r.description.clone(),
                    max_session: r.max_session_duration.unwrap_or(3_600),
                };
                let role = world.create_role(&actor, &arn, partition, &new, now)?;
                answer(&|x| iam_answers::role(x, place, role))
            }
            Request::CreateUser(r) => {
                let user =
                    world.create_user(&actor, &arn, partition, &r.name, &path(&r.path), now)?;
                answer(&|x| iam_answers::user(x, place, user))
            }
            Request::CreateGroup(r) => {
                let group =
                    world.create_group(&actor, &arn, partition, &r.name, &path(&r.path), now)?;
                answer(&|x| iam_answers::group(x, place, group))
            }
            Request::CreatePolicy(r) => {
                let new = NewPolicy {
                    name: r.policy_name.clone(),
                    path: path(&r.path),
                    description: r.description.clone(),
                    document: r.policy_document.clone(),
                };
                world.create_policy(&actor, &arn, partition, &new, now)?;
                let iam = world.iam(&caller.account).expect("the caller's account");
                let policy = &iam.policies[&new.name];
                answer(&|x| iam_answers::policy(x, place, iam, policy))
            }
            Request::AddUserToGroup(r) => {
                world.add_user_to_group(&actor, &arn, partition, &r.group_name, &r.user_name)?;
                done()
            }
            Request::PutPolicy(kind, r) => {
                world.put_inline_policy(
                    &actor,
                    &arn,
                    partition,
                    *kind,
                    &r.entity,
                    &r.policy_name,
                    &r.policy_document,
                )?;
                done()
            }
            Request::AttachPolicy(kind, r) => {
                world.attach_policy(&actor, &arn, partition, *kind, &r.entity, &r.policy_arn)?;
                done()
            }
            Request::Details(r) => {
                let filter: Vec<EntityFilter> = r
                    .filter
                    .iter()
                    .filter_map(|f| EntityFilter::parse(f))
                    .collect();
                let page = world.authorization_details(
                    &actor,
                    &arn,
                    &filter,
                    r.max_items,
                    r.marker.as_deref(),
                )?;
                answer(&|x| iam_answers::details(x, place, &page))
            }
            Request::Simulate(r) => {
                let mut context = Context::default();
                for entry in &r.context_entries {
                    if let Some(key) = &entry.context_key_name {
                        context = context.with(key, entry.context_key_values.clone());
                    }
                }
                let request = SimulationRequest {
                    source_arn: &r.policy_source_arn,
                    policy_inputs: &r.policy_input_list,
                    actions: &r.action_names,
                    resources: &r.resource_arns,
                    context,
                    max_items: r.max_items,
                    marker: r.marker.as_deref(),
                };
                let simulation = world.simulate(&actor, &arn, &request)?;
                answer(&|x| iam_answers::simulation(x, &simulation))
            }
        }
    }
}
