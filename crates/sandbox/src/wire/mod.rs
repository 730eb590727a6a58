//! The wire protocol: AWS JSON 1.1 as the SDKs, boto3 and the AWS CLI speak it. A [`Call`] is
//! one request read: the operation (`X-Amz-Target`), the Region (the SigV4 credential scope)
//! and the body as the operation's typed input; [`Call::execute`] carries it out against the
//! [`World`]; [`answer`] renders answers and errors (timestamps as epoch seconds).
//!
//! - `request`: a body → an operation's typed input, members of the wrong type kept as such;
//! - `firehose`, `kms`: one input per operation, its checks and its typed answer;
//! - `documents`: the configurations Describe echoes (destinations, source);
//! - [`answer`]: HTTP answers.

pub mod answer;
mod documents;
mod firehose;
mod kms;
mod request;

#[cfg(test)]
mod tests;

use hyper::header::HeaderMap;
use serde::Serialize;

use crate::vocabulary::{ApiError, Millis, codes, is_valid_region};
use crate::world::World;

const FIREHOSE_PREFIX: &str = "Firehose_20150804.";
const KMS_PREFIX: &str = "TrentService.";

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
    CreateKey,
    DescribeKey,
    DisableKey,
    EnableKey,
    ListKeys,
}

const FIREHOSE_OPS: [Op; 6] = [
    Op::CreateDeliveryStream,
    Op::DeleteDeliveryStream,
    Op::DescribeDeliveryStream,
    Op::ListDeliveryStreams,
    Op::StartDeliveryStreamEncryption,
    Op::StopDeliveryStreamEncryption,
];
const KMS_OPS: [Op; 5] = [
    Op::CreateKey,
    Op::DescribeKey,
    Op::DisableKey,
    Op::EnableKey,
    Op::ListKeys,
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
            Op::CreateKey => "CreateKey",
            Op::DescribeKey => "DescribeKey",
            Op::DisableKey => "DisableKey",
            Op::EnableKey => "EnableKey",
            Op::ListKeys => "ListKeys",
        }
    }

    /// From an `X-Amz-Target` value such as `Firehose_20150804.DescribeDeliveryStream`.
    pub fn from_target(target: &str) -> Option<Op> {
        if let Some(name) = target.strip_prefix(FIREHOSE_PREFIX) {
            FIREHOSE_OPS.into_iter().find(|op| op.name() == name)
        } else if let Some(name) = target.strip_prefix(KMS_PREFIX) {
            KMS_OPS.into_iter().find(|op| op.name() == name)
        } else {
            None
        }
    }

    /// Firehose control-plane operations are subject to `--tps`; KMS ones are not (the real
    /// KMS quotas are in the thousands per second).
    pub fn is_firehose(self) -> bool {
        FIREHOSE_OPS.contains(&self)
    }
}

/// A request, read into its operation's typed input.
#[derive(Debug, Clone)]
enum Input {
    Firehose(firehose::Request),
    Kms(kms::Request),
}

/// One request, read.
#[derive(Debug)]
pub struct Call {
    /// The operation, or the `X-Amz-Target` the sandbox does not serve (empty when absent).
    op: Result<Op, String>,
    /// The Region of the request: its signature's, else the sandbox's default.
    pub region: String,
    /// The operation's input, or why the body is not one (`SerializationException`). `None`
    /// for an operation not served.
    input: Option<Result<Input, ApiError>>,
}

impl Call {
    pub fn parse(headers: &HeaderMap, body: &[u8], default_region: &str) -> Call {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let op = Op::from_target(target).ok_or_else(|| target.to_owned());
        let region = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(region_from_authorization)
            .unwrap_or(default_region)
            .to_owned();
        let input = op.as_ref().ok().map(|&op| {
            if op.is_firehose() {
                firehose::Request::read(op, body).map(Input::Firehose)
            } else {
                kms::Request::read(op, body).map(Input::Kms)
            }
        });
        Call { op, region, input }
    }

    /// The operation's name as counted in the stats.
    pub fn op_name(&self) -> &'static str {
        self.op.as_ref().map_or(UNKNOWN_OPERATION, |op| op.name())
    }

    /// Whether the operation is subject to the throttle (`--tps`): Firehose ones are.
    pub fn is_throttled(&self) -> bool {
        self.op.as_ref().is_ok_and(|op| op.is_firehose())
    }

    /// Whether the request may be faulted: an operation served, with a readable body.
    pub fn is_faultable(&self) -> bool {
        matches!(self.input, Some(Ok(_)))
    }

    /// `DeliveryStreamName` of the request, when it names one.
    pub fn stream_name(&self) -> Option<&str> {
        match &self.input {
            Some(Ok(Input::Firehose(request))) => request.stream_name(),
            _ => None,
        }
    }

    /// Runs the call against the world; the answer's body.
    pub fn execute(&self, world: &mut World, now: Millis) -> Result<Vec<u8>, ApiError> {
        let target = match &self.op {
            Ok(_) => "",
            Err(target) => target,
        };
        match &self.input {
            None if target.is_empty() => Err(ApiError::new(
                codes::UNKNOWN_OPERATION,
                "Missing X-Amz-Target header naming the operation.",
            )),
            None => Err(ApiError::new(
                codes::UNKNOWN_OPERATION,
                format!("Unknown operation {target}."),
            )),
            Some(Err(unreadable)) => Err(unreadable.clone()),
            Some(Ok(Input::Firehose(request))) => request.execute(world, &self.region, now),
            Some(Ok(Input::Kms(request))) => request.execute(world, &self.region, now),
        }
    }
}

/// The region of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/firehose/aws4_request, ...`.
pub fn region_from_authorization(header: &str) -> Option<&str> {
    let scope = header.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let region = scope.split('/').nth(2)?;
    is_valid_region(region).then_some(region)
}

/// Epoch milliseconds as the epoch seconds of a JSON 1.1 timestamp.
fn secs(at: Millis) -> f64 {
    at as f64 / 1000.0
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
