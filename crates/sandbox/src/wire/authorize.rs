//! Who may call what: the IAM action and resource each served operation is authorized as (the
//! Service Authorization Reference's names: `firehose:DescribeDeliveryStream` on the stream's
//! ARN, `firehose:ListDeliveryStreams` on `*`, `kms:DescribeKey` on the key's ARN,
//! `organizations:ListAccounts`, `kinesis:DescribeStreamSummary` on the Kinesis stream's ARN,
//! `tag:GetResources` on `*`, `cloudwatch:GetMetricData`, ...), judged by the caller's identity
//! policies — and, for a key of the caller's account, by its key policy too — before the
//! operation runs. A refusal is the service's own: `AccessDeniedException` (HTTP 400) for the
//! AWS JSON services, `AccessDenied` (403) for CloudWatch, with AWS's message "User: `<caller>`
//! is not authorized to perform: `<action>` on resource: `<resource>` because no
//! identity-based policy allows the `<action>` action".
//!
//! Authorized elsewhere, with their own rules: IAM's operations (`world::iam`), STS
//! `AssumeRole` (the trust policy), `PutRecord`/`PutRecordBatch` (`world::records`), and the
//! `kms:CreateGrant` a Start with a customer key makes on the caller's behalf
//! (`world::key_policy`). STS `GetCallerIdentity` needs no permission (its API reference).

use super::{Input, Op};
use crate::vocabulary::{ApiError, codes, firehose_arn, kms_key_arn};
use crate::world::iam::Context;
use crate::world::{Caller, World};

/// The action and resource `op` is authorized as, for a caller of `account` in `region`;
/// `None` for the operations authorized elsewhere or not at all.
fn required(op: Op, input: &Input, account: &str, region: &str) -> Option<(String, String)> {
    let stream = |name: Option<&str>| firehose_arn(region, account, name.unwrap_or("*"));
    let (action, resource) = match input {
        Input::Firehose(request) if op == Op::ListDeliveryStreams => {
            ("firehose", "*".to_owned()).into_pair(op)
        }
        Input::Firehose(request) => ("firehose", stream(request.stream_name())).into_pair(op),
        Input::Kms(request) => {
            let resource = match request.key_id() {
                None => "*".to_owned(),
                Some(id) if id.starts_with("arn:") => id.to_owned(),
                Some(id) => kms_key_arn(region, account, id),
            };
            ("kms", resource).into_pair(op)
        }
        Input::Organizations(_) => ("organizations", "*".to_owned()).into_pair(op),
        Input::CloudWatch(_) => ("cloudwatch", "*".to_owned()).into_pair(op),
        Input::Kinesis(request) => ("kinesis", request.resource(account, region)).into_pair(op),
        Input::Tagging(_) => ("tag", "*".to_owned()).into_pair(op),
        Input::Records(_) | Input::Sts(_) | Input::Iam(_) => return None,
    };
    Some((action, resource))
}

trait IntoPair {
    fn into_pair(self, op: Op) -> (String, String);
}

impl IntoPair for (&str, String) {
    fn into_pair(self, op: Op) -> (String, String) {
        (format!("{}:{}", self.0, op.name()), self.1)
    }
}

/// Refuses the call when the caller may not make it.
pub(super) fn check(
    world: &World,
    caller: &Caller,
    op: Op,
    input: &Input,
    region: &str,
) -> Result<(), ApiError> {
    let Some((action, resource)) = required(op, input, &caller.account, region) else {
        return Ok(());
    };
    let actor = caller.actor();
    let context = Context::default();
    let decided = match input {
        Input::Kms(_) if resource != "*" => {
            world.key_authorized(&actor, region, &resource, &action, &context)
        }
        _ => world.authorize(&actor, &action, &resource, &context),
    };
    decided.map_err(|denial| {
        let code = match input {
            Input::CloudWatch(_) => codes::ACCESS_DENIED_QUERY,
            _ => codes::ACCESS_DENIED,
        };
        ApiError::new(
            code,
            denial.message(&caller.arn(region), &action, &resource),
        )
    })
}
