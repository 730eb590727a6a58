//! STS on the wire: the query protocol (a form-encoded `POST /`, `Action=...&Version=...`,
//! answered in XML) for the actions the sandbox serves, `GetCallerIdentity` and `AssumeRole`,
//! which the SDKs send to `sts.<region>.amazonaws.com` (with `--endpoint-url` or
//! `AWS_ENDPOINT_URL_STS`, to us). The form is read by the STS model (`query`). The caller of
//! GetCallerIdentity is the request's access key: an assumed-role session (UserId
//! `<role id>:<session>`, Arn `arn:aws:sts::<account>:assumed-role/<role>/<session>`) or the
//! user `sandbox` of its account. Errors are `ErrorResponse/Error/{Type, Code, Message}`.

use serde::Deserialize;

use super::Op;
use super::model::Service;
use super::query;
use super::xml::escape;
use crate::vocabulary::{ApiError, Millis, iso8601};
use crate::world::{AssumeRoleRequest, Caller, Issued, World};

/// The namespace of every STS answer (STS model, `xmlNamespace`).
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// STS's API version, the form's `Version`.
pub const VERSION: &str = "2011-06-15";

/// An STS request, read.
#[derive(Debug, Clone)]
pub enum Request {
    CallerIdentity,
    AssumeRole(AssumeRoleInput),
}

/// `AssumeRoleRequest`: the members the sandbox reads (`Policy`, `PolicyArns`, `Tags` and
/// the rest are checked by the model, then not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssumeRoleInput {
    role_arn: String,
    role_session_name: String,
    #[serde(default)]
    duration_seconds: Option<u64>,
    #[serde(default)]
    external_id: Option<String>,
}

impl Request {
    /// Reads `form` as the input of `op`, an STS action.
    pub fn read(op: Op, form: &str) -> Result<Request, ApiError> {
        match op {
            Op::AssumeRole => query::read(Service::Sts, op.name(), form).map(Request::AssumeRole),
            Op::GetCallerIdentity => {
                query::read::<serde_json::Value>(Service::Sts, op.name(), form)?;
                Ok(Request::CallerIdentity)
            }
            other => unreachable!("{} is not an STS action", other.name()),
        }
    }

    /// Carries the request of `caller` (signed with `access_key`) out; the XML answer.
    pub fn execute(
        &self,
        world: &mut World,
        caller: &Caller,
        region: &str,
        access_key: &str,
        now: Millis,
        request_id: &str,
    ) -> Result<Vec<u8>, ApiError> {
        match self {
            Request::CallerIdentity => Ok(caller_identity(caller, region, access_key, request_id)),
            Request::AssumeRole(input) => {
                let request = AssumeRoleRequest {
                    role_arn: &input.role_arn,
                    session_name: &input.role_session_name,
                    duration_seconds: input.duration_seconds,
                    external_id: input.external_id.as_deref(),
                };
                let issued = world.assume_role(caller, region, &request, now)?;
                Ok(assume_role(&issued, request_id))
            }
        }
    }
}

/// The `GetCallerIdentity` answer for `caller`, whose request was signed with `access_key`.
pub fn caller_identity(
    caller: &Caller,
    region: &str,
    access_key: &str,
    request_id: &str,
) -> Vec<u8> {
    let user_id = match &caller.session {
        Some(s) => format!("{}:{}", s.role_id, s.name),
        None => access_key.to_owned(),
    };
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\"><GetCallerIdentityResult>\
         <UserId>{}</UserId><Account>{}</Account><Arn>{}</Arn>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></GetCallerIdentityResponse>",
        escape(&user_id),
        caller.account,
        escape(&caller.arn(region)),
    )
    .into_bytes()
}

/// The `AssumeRole` answer: `Credentials` and `AssumedRoleUser` (STS model,
/// `AssumeRoleResponse`, wrapped in `AssumeRoleResult`).
fn assume_role(issued: &Issued, request_id: &str) -> Vec<u8> {
    format!(
        "<AssumeRoleResponse xmlns=\"{NAMESPACE}\"><AssumeRoleResult>\
         <AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>{}</AssumedRoleId></AssumedRoleUser>\
         <Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>\
         </AssumeRoleResult><ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></AssumeRoleResponse>",
        escape(&issued.arn),
        escape(&issued.assumed_role_id),
        issued.access_key_id,
        escape(&issued.secret_access_key),
        escape(&issued.session_token),
        iso8601(issued.expires_at),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Session;

    #[test]
    fn answers_are_the_query_protocol_documents() {
        let base = Caller::base("123456789012");
        let body =
            String::from_utf8(caller_identity(&base, "us-east-1", "AKID<&>", "rid")).unwrap();
        assert_eq!(
            body,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><UserId>AKID&lt;&amp;&gt;</UserId>\
             <Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/sandbox</Arn>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></GetCallerIdentityResponse>"
        );
        let assumed = Caller {
            account: "111111111111".into(),
            session: Some(Session {
                role: "firehose-sse".into(),
                name: "run-1".into(),
                role_id: "AROAEXAMPLE".into(),
            }),
            user: None,
            expired: false,
            partition: None,
        };
        let body =
            String::from_utf8(caller_identity(&assumed, "us-east-1", "ASIAX", "rid")).unwrap();
        assert!(
            body.contains(
                "<UserId>AROAEXAMPLE:run-1</UserId><Account>111111111111</Account>\
                 <Arn>arn:aws:sts::111111111111:assumed-role/firehose-sse/run-1</Arn>"
            ),
            "{body}"
        );
        let err = ApiError::new("InvalidAction", "Could not find operation AssumeRoles");
        assert_eq!(
            String::from_utf8(super::super::xml::error_body(NAMESPACE, &err, "rid")).unwrap(),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>InvalidAction</Code>\
             <Message>Could not find operation AssumeRoles</Message></Error>\
             <RequestId>rid</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn issued_credentials_are_the_output_shape() {
        let issued = Issued {
            access_key_id: "ASIAABC".into(),
            secret_access_key: "s/+".into(),
            session_token: "t".into(),
            expires_at: 1_800_003_600_000,
            assumed_role_id: "AROAX:s".into(),
            arn: "arn:aws:sts::111111111111:assumed-role/r/s".into(),
        };
        assert_eq!(
            String::from_utf8(assume_role(&issued, "rid")).unwrap(),
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/r/s</Arn>\
             <AssumedRoleId>AROAX:s</AssumedRoleId></AssumedRoleUser><Credentials>\
             <AccessKeyId>ASIAABC</AccessKeyId><SecretAccessKey>s/+</SecretAccessKey>\
             <SessionToken>t</SessionToken><Expiration>2027-01-15T09:00:00Z</Expiration>\
             </Credentials></AssumeRoleResult><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></AssumeRoleResponse>"
        );
    }
}
