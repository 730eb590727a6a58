//! The wire protocols: AWS JSON 1.1 (Firehose, KMS, Organizations), the query protocol (STS,
//! IAM, CloudWatch), AWS JSON 1.0 and Smithy RPC v2 CBOR (CloudWatch) as the SDKs, boto3 and
//! the AWS CLI speak them. A [`Call`] is one request read: the
//! operation (`X-Amz-Target`, or the query form's `Action`), the Region and access key (the
//! SigV4 credential scope), the session token, and the body as the operation's typed input,
//! checked against the published model; [`Call::execute`] carries it out against the [`World`]
//! in the caller's account; [`answer`] renders answers and errors (timestamps as epoch seconds
//! in JSON, ISO 8601 in XML).
//!
//! STS, IAM and CloudWatch share the query protocol and the endpoint: a form goes to IAM when
//! its `Version` is IAM's (`2010-05-08`), to CloudWatch when it is CloudWatch's (`2010-08-01`),
//! to STS when it is STS's (`2011-06-15`), and by the credential scope's service (`iam`,
//! `monitoring`, else STS) when it names no version. CloudWatch's JSON 1.0 requests name their
//! operation in `X-Amz-Target` (`GraniteServiceVersion20100801.<Op>`), its CBOR ones in the path
//! (`/service/GraniteServiceVersion20100801/operation/<Op>`).
//!
//! - `request`: a JSON body → an operation's typed input; `query`: a form → a document;
//!   `model`: the published input models;
//! - `firehose`, `records` (PutRecord, PutRecordBatch), `kms`, `sts`, `iam`, `organizations`,
//!   `cloudwatch`: one input per operation, its checks and its typed answer; `iam_answers` and
//!   `xml`: IAM's XML; `out` an answer written in any protocol, `cbor` CBOR;
//! - `documents`: the configurations Describe echoes (destinations, source);
//! - [`answer`]: HTTP answers.

pub mod answer;
mod authorize;
mod cbor;
pub mod cloudwatch;
mod documents;
mod firehose;
mod iam;
mod iam_answers;
mod kinesis;
mod kms;
mod model;
mod organizations;
mod out;
mod query;
mod records;
mod request;
mod sts;
mod tagging;
pub mod xml;

#[cfg(test)]
mod authorize_tests;
#[cfg(test)]
mod cloudwatch_tests;
#[cfg(test)]
mod iam_tests;
#[cfg(test)]
mod tests;

use hyper::header::HeaderMap;
use serde::Serialize;

use crate::vocabulary::{ApiError, Millis, codes, is_valid_region};
use crate::world::{Caller, Quota, World};

const FIREHOSE_PREFIX: &str = "Firehose_20150804.";
const KMS_PREFIX: &str = "TrentService.";
const ORGANIZATIONS_PREFIX: &str = "AWSOrganizationsV20161128.";

/// Where requests for operations the sandbox does not serve are counted in the stats.
pub const UNKNOWN_OPERATION: &str = "UnknownOperation";

/// The operations served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    CreateDeliveryStream,
    DeleteDeliveryStream,
    DescribeDeliveryStream,
    ListDeliveryStreams,
    StartDeliveryStreamEncryption,
    StopDeliveryStreamEncryption,
    TagDeliveryStream,
    UntagDeliveryStream,
    ListTagsForDeliveryStream,
    PutRecord,
    PutRecordBatch,
    CreateKey,
    DescribeKey,
    DisableKey,
    EnableKey,
    ListKeys,
    GetKeyPolicy,
    PutKeyPolicy,
    GetCallerIdentity,
    AssumeRole,
    ListAccounts,
    AddUserToGroup,
    AttachGroupPolicy,
    AttachRolePolicy,
    AttachUserPolicy,
    CreateGroup,
    CreatePolicy,
    CreateRole,
    CreateUser,
    GetAccountAuthorizationDetails,
    PutGroupPolicy,
    PutRolePolicy,
    PutUserPolicy,
    SimulatePrincipalPolicy,
    DescribeAlarms,
    GetMetricData,
    PutMetricAlarm,
    PutMetricData,
    SetAlarmState,
    CreateStream,
    DescribeStreamSummary,
    StartStreamEncryption,
    GetResources,
}

/// Firehose's control plane: subject to `--tps`.
const FIREHOSE_OPS: [Op; 9] = [
    Op::CreateDeliveryStream,
    Op::DeleteDeliveryStream,
    Op::DescribeDeliveryStream,
    Op::ListDeliveryStreams,
    Op::StartDeliveryStreamEncryption,
    Op::StopDeliveryStreamEncryption,
    Op::TagDeliveryStream,
    Op::UntagDeliveryStream,
    Op::ListTagsForDeliveryStream,
];
const TAGGING_PREFIX: &str = tagging::TARGET_PREFIX;
/// Firehose's data plane.
const RECORD_OPS: [Op; 2] = [Op::PutRecord, Op::PutRecordBatch];
const KMS_OPS: [Op; 7] = [
    Op::CreateKey,
    Op::DescribeKey,
    Op::DisableKey,
    Op::EnableKey,
    Op::ListKeys,
    Op::GetKeyPolicy,
    Op::PutKeyPolicy,
];
const STS_OPS: [Op; 2] = [Op::GetCallerIdentity, Op::AssumeRole];
const IAM_OPS: [Op; 13] = [
    Op::AddUserToGroup,
    Op::AttachGroupPolicy,
    Op::AttachRolePolicy,
    Op::AttachUserPolicy,
    Op::CreateGroup,
    Op::CreatePolicy,
    Op::CreateRole,
    Op::CreateUser,
    Op::GetAccountAuthorizationDetails,
    Op::PutGroupPolicy,
    Op::PutRolePolicy,
    Op::PutUserPolicy,
    Op::SimulatePrincipalPolicy,
];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateDeliveryStream => "CreateDeliveryStream",
            Op::DeleteDeliveryStream => "DeleteDeliveryStream",
            Op::DescribeDeliveryStream => "DescribeDeliveryStream",
            Op::ListDeliveryStreams => "ListDeliveryStreams",
            Op::StartDeliveryStreamEncryption => "StartDeliveryStreamEncryption",
            Op::StopDeliveryStreamEncryption => "StopDeliveryStreamEncryption",
            Op::TagDeliveryStream => "TagDeliveryStream",
            Op::UntagDeliveryStream => "UntagDeliveryStream",
            Op::ListTagsForDeliveryStream => "ListTagsForDeliveryStream",
            Op::PutRecord => "PutRecord",
            Op::PutRecordBatch => "PutRecordBatch",
            Op::CreateKey => "CreateKey",
            Op::DescribeKey => "DescribeKey",
            Op::DisableKey => "DisableKey",
            Op::EnableKey => "EnableKey",
            Op::ListKeys => "ListKeys",
            Op::GetKeyPolicy => "GetKeyPolicy",
            Op::PutKeyPolicy => "PutKeyPolicy",
            Op::GetCallerIdentity => "GetCallerIdentity",
            Op::AssumeRole => "AssumeRole",
            Op::ListAccounts => "ListAccounts",
            Op::AddUserToGroup => "AddUserToGroup",
            Op::AttachGroupPolicy => "AttachGroupPolicy",
            Op::AttachRolePolicy => "AttachRolePolicy",
            Op::AttachUserPolicy => "AttachUserPolicy",
            Op::CreateGroup => "CreateGroup",
            Op::CreatePolicy => "CreatePolicy",
            Op::CreateRole => "CreateRole",
            Op::CreateUser => "CreateUser",
            Op::GetAccountAuthorizationDetails => "GetAccountAuthorizationDetails",
            Op::PutGroupPolicy => "PutGroupPolicy",
            Op::PutRolePolicy => "PutRolePolicy",
            Op::PutUserPolicy => "PutUserPolicy",
            Op::SimulatePrincipalPolicy => "SimulatePrincipalPolicy",
            Op::DescribeAlarms => "DescribeAlarms",
            Op::GetMetricData => "GetMetricData",
            Op::PutMetricAlarm => "PutMetricAlarm",
            Op::PutMetricData => "PutMetricData",
            Op::SetAlarmState => "SetAlarmState",
            Op::CreateStream => "CreateStream",
            Op::DescribeStreamSummary => "DescribeStreamSummary",
            Op::StartStreamEncryption => "StartStreamEncryption",
            Op::GetResources => "GetResources",
        }
    }

    /// A CloudWatch operation by name.
    pub fn cloudwatch(name: &str) -> Option<Op> {
        cloudwatch::OPS.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operation can change what a producer may do from now on (a key's state or
    /// policy, an IAM policy): synthetic producers are brought up to now before it.
    pub fn changes_access(self) -> bool {
        matches!(self, Op::DisableKey | Op::EnableKey | Op::PutKeyPolicy)
            || (IAM_OPS.contains(&self)
                && !matches!(
                    self,
                    Op::GetAccountAuthorizationDetails | Op::SimulatePrincipalPolicy
                ))
    }

    /// From an `X-Amz-Target` value such as `Firehose_20150804.DescribeDeliveryStream`.
    pub fn from_target(target: &str) -> Option<Op> {
        if let Some(name) = target.strip_prefix(FIREHOSE_PREFIX) {
            FIREHOSE_OPS
                .into_iter()
                .chain(RECORD_OPS)
                .find(|op| op.name() == name)
        } else if let Some(name) = target.strip_prefix(KMS_PREFIX) {
            KMS_OPS.into_iter().find(|op| op.name() == name)
        } else if target.strip_prefix(ORGANIZATIONS_PREFIX) == Some(Op::ListAccounts.name()) {
            Some(Op::ListAccounts)
        } else if let Some(name) = target.strip_prefix(cloudwatch::TARGET_PREFIX) {
            Op::cloudwatch(name)
        } else if let Some(name) = target.strip_prefix(kinesis::TARGET_PREFIX) {
            kinesis::OPS.into_iter().find(|op| op.name() == name)
        } else if target.strip_prefix(TAGGING_PREFIX) == Some(Op::GetResources.name()) {
            Some(Op::GetResources)
        } else {
            None
        }
    }

    /// From a query form's `Action`, for `service`.
    pub fn from_action(service: QueryService, action: &str) -> Option<Op> {
        let ops: &[Op] = match service {
            QueryService::Sts => &STS_OPS,
            QueryService::Iam => &IAM_OPS,
            QueryService::CloudWatch => &cloudwatch::OPS,
        };
        ops.iter().copied().find(|op| op.name() == action)
    }

    /// Firehose control-plane operations are subject to `--tps`; KMS ones are not (the real
    /// KMS quotas are in the thousands per second), nor Firehose's data plane (its quotas are
    /// records and bytes per stream, not modelled).
    pub fn is_firehose(self) -> bool {
        FIREHOSE_OPS.contains(&self)
    }

    /// Which throttle the operation passes.
    pub fn quota(self) -> Quota {
        if self.is_firehose() {
            Quota::ControlPlane
        } else if IAM_OPS.contains(&self) {
            Quota::Iam
        } else {
            Quota::Free
        }
    }
}

/// Reads the published input models now, so the first request does not wait for them.
pub fn load_models() {
    for service in [
        model::Service::Firehose,
        model::Service::Kms,
        model::Service::Sts,
        model::Service::Organizations,
        model::Service::Iam,
        model::Service::CloudWatch,
        model::Service::Kinesis,
        model::Service::Tagging,
    ] {
        model::Model::of(service);
    }
}

/// A service of the query protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryService {
    Sts,
    Iam,
    CloudWatch,
}

impl QueryService {
    /// Its API version, a form's `Version`.
    pub fn version(self) -> &'static str {
        match self {
            QueryService::Sts => sts::VERSION,
            QueryService::Iam => iam::VERSION,
            QueryService::CloudWatch => cloudwatch::VERSION,
        }
    }

    /// The namespace of its XML answers.
    pub fn namespace(self) -> &'static str {
        match self {
            QueryService::Sts => sts::NAMESPACE,
            QueryService::Iam => iam::NAMESPACE,
            QueryService::CloudWatch => cloudwatch::NAMESPACE,
        }
    }

    /// The service a form is for: by its `Version`, else by the credential scope's service.
    fn of(version: Option<&str>, scope_service: Option<&str>) -> QueryService {
        match version {
            Some(iam::VERSION) => QueryService::Iam,
            Some(cloudwatch::VERSION) => QueryService::CloudWatch,
            Some(sts::VERSION) => QueryService::Sts,
            _ if scope_service == Some("iam") => QueryService::Iam,
            _ if scope_service == Some("monitoring") => QueryService::CloudWatch,
            _ => QueryService::Sts,
        }
    }
}

/// The protocol a request speaks, and its answer is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.1: `X-Amz-Target`, JSON bodies, errors `{"__type", "message"}` (Firehose,
    /// KMS).
    Json,
    /// AWS JSON 1.1 as Organizations models its errors: `{"__type", "Message"}` (its exception
    /// shapes' member is `Message`; `InvalidInputException` adds `Reason`).
    JsonCapitalMessage,
    /// The query protocol: a form body naming an `Action`, XML answers (STS, IAM, CloudWatch).
    Query(QueryService),
    /// AWS JSON 1.0 of a service that keeps its query protocol's error codes
    /// (`awsQueryCompatible`: CloudWatch): `X-Amz-Target`, errors `{"__type", "message"}` with
    /// `x-amzn-query-error`.
    Json10,
    /// Smithy RPC v2 CBOR (CloudWatch): the operation in the path, CBOR bodies,
    /// `smithy-protocol: rpc-v2-cbor`, errors as `Json10`'s in CBOR.
    Cbor,
}

/// A request, read into its operation's typed input.
#[derive(Debug, Clone)]
enum Input {
    Firehose(firehose::Request),
    Records(records::Request),
    Kms(kms::Request),
    Sts(sts::Request),
    Iam(iam::Request),
    Organizations(organizations::Request),
    CloudWatch(cloudwatch::Request),
    Kinesis(kinesis::Request),
    Tagging(tagging::Request),
}

/// One request, read.
#[derive(Debug)]
pub struct Call {
    /// The operation, or the `X-Amz-Target` (query protocol: `Action`) the sandbox does not
    /// serve (empty when absent).
    op: Result<Op, String>,
    pub protocol: Protocol,
    /// The Region of the request: its signature's, else the sandbox's default.
    pub region: String,
    /// The access key id of its signature ("" when unsigned).
    pub access_key: String,
    /// Its `x-amz-security-token` ("" when none).
    token: String,
    /// The operation's input, or why the body is not one (`SerializationException`,
    /// `ValidationException`). `None` for an operation not served.
    input: Option<Result<Input, ApiError>>,
}

impl Call {
    /// Reads a request: its headers, the path of its URI, its body.
    pub fn parse(headers: &HeaderMap, path: &str, body: &[u8], default_region: &str) -> Call {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let target = header("x-amz-target").unwrap_or("");
        let authorization = header("authorization").unwrap_or("");
        let scope = credential_scope(authorization);
        let region = scope
            .map(|s| s.region)
            .filter(|r| is_valid_region(r))
            .unwrap_or(default_region)
            .to_owned();
        let access_key = scope.map_or("", |s| s.access_key).to_owned();
        let token = header("x-amz-security-token").unwrap_or("").to_owned();
        let form = header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let scope_service = scope.map(|s| s.service);
        if let Some(name) = path.strip_prefix(cloudwatch::CBOR_PATH_PREFIX) {
            let op = Op::cloudwatch(name).ok_or_else(|| name.to_owned());
            let input = op.as_ref().ok().map(|&op| {
                cloudwatch::Request::read(op, cloudwatch::Body::Cbor(body)).map(Input::CloudWatch)
            });
            return Call {
                op,
                protocol: Protocol::Cbor,
                region,
                access_key,
                token,
                input,
            };
        }
        if target.is_empty()
            && (form || matches!(scope_service, Some("sts" | "iam" | "monitoring")))
        {
            let form = String::from_utf8_lossy(body);
            let version = query::form_value(&form, "Version");
            let service = QueryService::of(version.as_deref(), scope_service);
            let action = query::form_value(&form, "Action").unwrap_or_default();
            let op = Op::from_action(service, &action).ok_or(action);
            let input = op.as_ref().ok().map(|&op| match service {
                QueryService::Sts => sts::Request::read(op, &form).map(Input::Sts),
                QueryService::Iam => iam::Request::read(op, &form).map(Input::Iam),
                QueryService::CloudWatch => {
                    cloudwatch::Request::read(op, cloudwatch::Body::Form(&form))
                        .map(Input::CloudWatch)
                }
            });
            return Call {
                op,
                protocol: Protocol::Query(service),
                region,
                access_key,
                token,
                input,
            };
        }
        let op = Op::from_target(target).ok_or_else(|| target.to_owned());
        let input = op.as_ref().ok().map(|&op| match op {
            Op::ListAccounts => organizations::Request::read(op, body).map(Input::Organizations),
            op if Op::cloudwatch(op.name()).is_some() => {
                cloudwatch::Request::read(op, cloudwatch::Body::Json(body)).map(Input::CloudWatch)
            }
            Op::PutRecord | Op::PutRecordBatch => {
                records::Request::read(op, body).map(Input::Records)
            }
            Op::GetResources => tagging::Request::read(op, body).map(Input::Tagging),
            op if kinesis::OPS.contains(&op) => {
                kinesis::Request::read(op, body).map(Input::Kinesis)
            }
            op if op.is_firehose() => firehose::Request::read(op, body).map(Input::Firehose),
            op => kms::Request::read(op, body).map(Input::Kms),
        });
        let protocol = if op == Ok(Op::ListAccounts) {
            Protocol::JsonCapitalMessage
        } else if target.starts_with(cloudwatch::TARGET_PREFIX) {
            Protocol::Json10
        } else {
            Protocol::Json
        };
        Call {
            op,
            protocol,
            region,
            access_key,
            token,
            input,
        }
    }

    /// The operation's name as counted in the stats.
    pub fn op_name(&self) -> &'static str {
        self.op.as_ref().map_or(UNKNOWN_OPERATION, |op| op.name())
    }

    /// Which throttle the request passes (an operation not served: none).
    pub fn quota(&self) -> Quota {
        self.op.as_ref().map_or(Quota::Free, |op| op.quota())
    }

    /// Whether the request may be faulted: a Firehose or KMS operation, with a readable body
    /// (STS and IAM are not Firehose: never faulted).
    pub fn is_faultable(&self) -> bool {
        matches!(
            self.input,
            Some(Ok(Input::Firehose(_) | Input::Records(_) | Input::Kms(_)))
        )
    }

    /// `DeliveryStreamName` of the request, when it names one.
    pub fn stream_name(&self) -> Option<&str> {
        match &self.input {
            Some(Ok(Input::Firehose(request))) => request.stream_name(),
            Some(Ok(Input::Records(request))) => Some(request.stream_name()),
            _ => None,
        }
    }

    /// Runs the call against the world, in `caller`'s account; the answer's body. `request_id`
    /// is echoed by the query protocol's answers.
    pub fn execute(
        &self,
        world: &mut World,
        caller: &Caller,
        now: Millis,
        request_id: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let target = match &self.op {
            Ok(_) => "",
            Err(target) => target,
        };
        // A request must be signed before STS or IAM reads what it asks.
        if matches!(self.protocol, Protocol::Query(_))
            && self.op.is_ok()
            && self.access_key.is_empty()
        {
            return Err(ApiError::new(
                codes::MISSING_AUTHENTICATION_TOKEN,
                "Request is missing Authentication Token",
            ));
        }
        if let Ok(op) = self.op
            && op.changes_access()
            && matches!(self.input, Some(Ok(_)))
        {
            world.run_all_producers(now);
        }
        if let (Ok(op), Some(Ok(input))) = (&self.op, &self.input) {
            authorize::check(world, caller, *op, input, &self.region)?;
        }
        match &self.input {
            None => Err(match self.protocol {
                Protocol::Query(service) => ApiError::new(
                    "InvalidAction",
                    format!(
                        "Could not find operation {target} for version {}",
                        service.version()
                    ),
                ),
                _ if target.is_empty() => ApiError::new(
                    codes::UNKNOWN_OPERATION,
                    "Missing X-Amz-Target header naming the operation.",
                ),
                _ => ApiError::new(
                    codes::UNKNOWN_OPERATION,
                    format!("Unknown operation {target}."),
                ),
            }),
            Some(Err(unreadable)) => Err(unreadable.clone()),
            Some(Ok(Input::Firehose(request))) => {
                let account = &caller.account;
                let actor = caller.actor();
                let result = request.execute(world, &actor, &self.region, &self.token, now);
                let found = !matches!(&result, Err(e) if e.is(codes::RESOURCE_NOT_FOUND));
                self.note_stream(world, account, found);
                result
            }
            Some(Ok(Input::Records(request))) => {
                let result = request.execute(world, caller, &self.region, now);
                let found = world
                    .stream(&caller.account, &self.region, request.stream_name())
                    .is_some();
                self.note_stream(world, &caller.account, found);
                result
            }
            Some(Ok(Input::Kms(request))) => request.execute(world, caller, &self.region, now),
            Some(Ok(Input::Sts(request))) => request.execute(
                world,
                caller,
                &self.region,
                &self.access_key,
                now,
                request_id,
            ),
            Some(Ok(Input::Iam(request))) => {
                let op = *self.op.as_ref().expect("an IAM input has its operation");
                request.execute(op, world, caller, &self.region, now, request_id)
            }
            Some(Ok(Input::Organizations(request))) => request.execute(world, caller, &self.region),
            Some(Ok(Input::Kinesis(request))) => request.execute(world, caller, &self.region, now),
            Some(Ok(Input::Tagging(request))) => request.execute(world, caller, &self.region, now),
            Some(Ok(Input::CloudWatch(request))) => {
                let op = *self
                    .op
                    .as_ref()
                    .expect("a CloudWatch input has its operation");
                request.execute(
                    op,
                    self.protocol,
                    world,
                    caller,
                    &self.region,
                    now,
                    request_id,
                )
            }
        }
    }

    /// Records, for the ground truth, that the request named its stream (`found`: the
    /// account has it).
    fn note_stream(&self, world: &mut World, account: &str, found: bool) {
        if let Some(name) = self.stream_name() {
            world.note_stream_request(account, &self.region, name, self.op_name(), found);
        }
    }
}

/// The credential scope of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/firehose/aws4_request, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialScope<'a> {
    pub access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The credential scope of an `Authorization` header, if it has one.
pub fn credential_scope(header: &str) -> Option<CredentialScope<'_>> {
    let scope = header.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    let access_key = parts.next()?;
    let region = parts.nth(1)?;
    let service = parts.next()?;
    Some(CredentialScope {
        access_key,
        region,
        service,
    })
}

/// The region of a SigV4 `Authorization` header, when it is a region code.
pub fn region_from_authorization(header: &str) -> Option<&str> {
    credential_scope(header)
        .map(|s| s.region)
        .filter(|r| is_valid_region(r))
}

/// Epoch milliseconds as the epoch seconds of a JSON 1.1 timestamp.
fn secs(at: Millis) -> f64 {
    at as f64 / 1000.0
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
