//! The wire protocol: AWS JSON 1.1 as the SDKs, boto3 and the AWS CLI speak it. Reads the
//! operation (`X-Amz-Target`), the region (SigV4 credential scope) and the JSON body; runs the
//! operation against the [`World`]; renders answers and errors (`__type` + `message`, header
//! `x-amzn-ErrorType`, HTTP 400; timestamps as epoch seconds).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::state::{self, ApiError, EncStatus, Key, KeyRef, NewStream, Stream, StreamType, World};
use crate::clock::EpochMillis as Millis;
use crate::model::{KeyType, KmsKeyArn, is_valid_region, is_valid_stream_name};

pub const JSON_1_1: &str = "application/x-amz-json-1.1";
pub const REQUEST_ID: &str = "x-amzn-RequestId";
pub const ERROR_TYPE: &str = "x-amzn-ErrorType";
const FIREHOSE_PREFIX: &str = "Firehose_20150804.";
const KMS_PREFIX: &str = "TrentService.";

/// `KeySpec` values KMS knows.
pub const KEY_SPECS: [&str; 20] = [
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
];
/// `KeyUsage` values KMS knows.
pub const KEY_USAGES: [&str; 5] = [
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
];

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

/// Where unknown operations are counted in the stats.
pub const UNKNOWN_OPERATION: &str = "UnknownOperation";

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

/// One parsed request.
#[derive(Debug)]
pub struct Call {
    /// `Err(target)` for an operation the sandbox does not serve.
    pub op: Result<Op, String>,
    pub region: String,
    /// The JSON body (an empty body reads as `{}`), or why it is not one.
    pub body: Result<Value, ApiError>,
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
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            Ok(Value::Object(Map::new()))
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(v @ Value::Object(_)) => Ok(v),
                Ok(_) => Err(ApiError::new(
                    state::SERIALIZATION,
                    "The request body must be a JSON object.",
                )),
                Err(e) => Err(ApiError::new(
                    state::SERIALIZATION,
                    format!("The request body is not valid JSON: {e}"),
                )),
            }
        };
        Call { op, region, body }
    }

    /// The operation's name as counted in the stats.
    pub fn op_name(&self) -> &'static str {
        self.op.as_ref().map_or(UNKNOWN_OPERATION, |op| op.name())
    }

    /// `DeliveryStreamName` of the request, when it has one.
    pub fn stream_name(&self) -> Option<&str> {
        self.body.as_ref().ok()?.get("DeliveryStreamName")?.as_str()
    }

    /// Runs the call against the world.
    pub fn execute(&self, world: &mut World, now: Millis) -> Result<Vec<u8>, ApiError> {
        let op = match &self.op {
            Ok(op) => *op,
            Err(target) if target.is_empty() => {
                return Err(ApiError::new(
                    state::UNKNOWN_OPERATION,
                    "Missing X-Amz-Target header naming the operation.",
                ));
            }
            Err(target) => {
                return Err(ApiError::new(
                    state::UNKNOWN_OPERATION,
                    format!("Unknown operation {target}."),
                ));
            }
        };
        let body = self.body.as_ref().map_err(Clone::clone)?;
        dispatch(world, op, &self.region, body, now)
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

fn dispatch(
    world: &mut World,
    op: Op,
    region: &str,
    body: &Value,
    now: Millis,
) -> Result<Vec<u8>, ApiError> {
    let firehose = op.is_firehose();
    let args = Args { body, firehose };
    match op {
        Op::CreateDeliveryStream => create_stream(world, region, &args, now),
        Op::DeleteDeliveryStream => {
            let name = args.stream_name()?;
            world.delete_stream(region, name, now)?;
            Ok(to_bytes(&json!({})))
        }
        Op::DescribeDeliveryStream => {
            let name = args.stream_name()?;
            world.describe_stream(region, name, now)?;
            let arn = world.stream_arn(region, name);
            let stream = world.stream(region, name).expect("described");
            let description = describe_stream(&arn, name, stream, world.default_destinations());
            Ok(to_bytes(&DescribeOutput { description }))
        }
        Op::ListDeliveryStreams => {
            let limit = args.opt_u64("Limit")?.unwrap_or(10);
            if !(1..=10_000).contains(&limit) {
                return Err(args.invalid("Limit must be between 1 and 10000."));
            }
            let start = args.opt_str("ExclusiveStartDeliveryStreamName")?;
            let filter = match args.opt_str("DeliveryStreamType")? {
                None => None,
                Some(t) => Some(StreamType::parse(t).ok_or_else(|| {
                    args.invalid(format!("DeliveryStreamType {t:?} is not valid."))
                })?),
            };
            let (names, more) = world.list_streams(region, limit as usize, start, filter, now);
            Ok(to_bytes(
                &json!({"DeliveryStreamNames": names, "HasMoreDeliveryStreams": more}),
            ))
        }
        Op::StartDeliveryStreamEncryption => {
            let name = args.stream_name()?;
            let key = encryption_input(&args)?.unwrap_or(KeyRef::AwsOwned);
            world.start_encryption(region, name, key, now)?;
            Ok(to_bytes(&json!({})))
        }
        Op::StopDeliveryStreamEncryption => {
            let name = args.stream_name()?;
            world.stop_encryption(region, name, now)?;
            Ok(to_bytes(&json!({})))
        }
        Op::CreateKey => {
            let spec = args
                .opt_str("KeySpec")?
                .or(args.opt_str("CustomerMasterKeySpec")?)
                .unwrap_or("SYMMETRIC_DEFAULT");
            if !KEY_SPECS.contains(&spec) {
                return Err(args.invalid(format!("KeySpec {spec:?} is not valid.")));
            }
            let usage = args.opt_str("KeyUsage")?.unwrap_or(match spec {
                s if s.starts_with("HMAC_") => "GENERATE_VERIFY_MAC",
                "SYMMETRIC_DEFAULT" => "ENCRYPT_DECRYPT",
                _ => "",
            });
            if !KEY_USAGES.contains(&usage) {
                return Err(args.invalid(format!(
                    "KeyUsage {usage:?} is not valid (give KeyUsage for KeySpec {spec})."
                )));
            }
            let description = args.opt_str("Description")?.unwrap_or("");
            let account = world.account().to_owned();
            let key = world.create_key(region, spec, usage, description, now);
            Ok(to_bytes(
                &json!({"KeyMetadata": key_metadata(&account, key)}),
            ))
        }
        Op::DescribeKey => {
            let id = args.req_str("KeyId")?;
            let account = world.account().to_owned();
            let key = world.describe_key(region, id)?;
            Ok(to_bytes(
                &json!({"KeyMetadata": key_metadata(&account, key)}),
            ))
        }
        Op::DisableKey | Op::EnableKey => {
            let id = args.req_str("KeyId")?;
            world.set_key_enabled(region, id, op == Op::EnableKey)?;
            Ok(to_bytes(&json!({})))
        }
        Op::ListKeys => {
            let limit = args.opt_u64("Limit")?.unwrap_or(100);
            if !(1..=1000).contains(&limit) {
                return Err(args.invalid("Limit must be between 1 and 1000."));
            }
            let marker = args.opt_str("Marker")?;
            let (keys, next) = world.list_keys(region, limit as usize, marker);
            let keys: Vec<Value> = keys
                .iter()
                .map(|k| json!({"KeyId": k.id, "KeyArn": k.arn}))
                .collect();
            let mut out = json!({"Keys": keys, "Truncated": next.is_some()});
            if let Some(next) = next {
                out["NextMarker"] = json!(next);
            }
            Ok(to_bytes(&out))
        }
    }
}

/// Typed access to a request's JSON members; form errors are InvalidArgumentException for
/// Firehose, ValidationException for KMS.
struct Args<'a> {
    body: &'a Value,
    firehose: bool,
}

impl<'a> Args<'a> {
    fn invalid(&self, message: impl Into<String>) -> ApiError {
        let code = if self.firehose {
            state::INVALID_ARGUMENT
        } else {
            state::KMS_VALIDATION
        };
        ApiError::new(code, message)
    }

    fn opt_str(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format!("{field} must be a string."))),
        }
    }

    fn req_str(&self, field: &str) -> Result<&'a str, ApiError> {
        match self.opt_str(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.invalid(format!("{field} is required."))),
        }
    }

    fn opt_u64(&self, field: &str) -> Result<Option<u64>, ApiError> {
        match self.body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.invalid(format!("{field} must be a positive integer."))),
        }
    }

    fn stream_name(&self) -> Result<&'a str, ApiError> {
        let name = self.req_str("DeliveryStreamName")?;
        if !is_valid_stream_name(name) {
            return Err(self.invalid(format!(
                "DeliveryStreamName {name:?} must be 1-64 characters [a-zA-Z0-9_.-]."
            )));
        }
        Ok(name)
    }
}

/// `DeliveryStreamEncryptionConfigurationInput {KeyType, KeyARN}` of Start or Create.
fn encryption_input(args: &Args<'_>) -> Result<Option<KeyRef>, ApiError> {
    let Some(input) = args
        .body
        .get("DeliveryStreamEncryptionConfigurationInput")
        .filter(|v| !v.is_null())
    else {
        return Ok(None);
    };
    if !input.is_object() {
        return Err(args.invalid("DeliveryStreamEncryptionConfigurationInput must be an object."));
    }
    let inner = Args {
        body: input,
        firehose: true,
    };
    let key_type = match inner.opt_str("KeyType")? {
        None => KeyType::AwsOwned,
        Some(t) if t == KeyType::AWS_OWNED => KeyType::AwsOwned,
        Some(t) if t == KeyType::CUSTOMER_MANAGED => KeyType::CustomerManaged,
        Some(t) => {
            return Err(args.invalid(format!(
                "KeyType {t:?} is not valid; use {} or {}.",
                KeyType::AWS_OWNED,
                KeyType::CUSTOMER_MANAGED
            )));
        }
    };
    let arn = inner.opt_str("KeyARN")?;
    match (key_type, arn) {
        (KeyType::AwsOwned, None) => Ok(Some(KeyRef::AwsOwned)),
        (KeyType::AwsOwned, Some(_)) => {
            Err(args.invalid("KeyARN must not be given when KeyType is AWS_OWNED_CMK."))
        }
        (KeyType::CustomerManaged, None) => {
            Err(args.invalid("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK."))
        }
        (KeyType::CustomerManaged, Some(arn)) => match KmsKeyArn::parse(arn) {
            Ok(_) => Ok(Some(KeyRef::Customer(arn.to_owned()))),
            Err(e) => Err(args.invalid(format!("KeyARN {arn:?} {e}."))),
        },
    }
}

fn create_stream(
    world: &mut World,
    region: &str,
    args: &Args<'_>,
    now: Millis,
) -> Result<Vec<u8>, ApiError> {
    let name = args.stream_name()?;
    let stream_type = match args.opt_str("DeliveryStreamType")? {
        None => StreamType::DirectPut,
        Some(t) => StreamType::parse(t)
            .ok_or_else(|| args.invalid(format!("DeliveryStreamType {t:?} is not valid.")))?,
    };
    let encryption = encryption_input(args)?;
    let source = source_description(args.body, stream_type, now);
    let destinations = destinations_from_create(args.body, world.account());
    let new = NewStream {
        stream_type,
        encryption,
        source,
        destinations,
    };
    let arn = world.create_stream(region, name, new, now)?;
    Ok(to_bytes(&json!({ "DeliveryStreamARN": arn })))
}

fn secs(at: Millis) -> f64 {
    at as f64 / 1000.0
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

#[derive(Serialize)]
struct DescribeOutput<'a> {
    #[serde(rename = "DeliveryStreamDescription")]
    description: Description<'a>,
}

/// `DeliveryStreamDescription` with every member the SDKs require (serialized straight from
/// the world, no intermediate JSON tree: Describe is the hot path).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Description<'a> {
    delivery_stream_name: &'a str,
    #[serde(rename = "DeliveryStreamARN")]
    delivery_stream_arn: &'a str,
    delivery_stream_status: &'static str,
    delivery_stream_type: &'static str,
    delivery_stream_encryption_configuration: Encryption<'a>,
    version_id: &'static str,
    create_timestamp: f64,
    last_update_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a Value>,
    destinations: &'a Value,
    has_more_destinations: bool,
}

#[derive(Serialize)]
struct Encryption<'a> {
    #[serde(rename = "KeyARN", skip_serializing_if = "Option::is_none")]
    key_arn: Option<&'a str>,
    #[serde(rename = "KeyType", skip_serializing_if = "Option::is_none")]
    key_type: Option<&'static str>,
    #[serde(rename = "Status")]
    status: &'static str,
    #[serde(rename = "FailureDescription", skip_serializing_if = "Option::is_none")]
    failure: Option<FailureDescription<'a>>,
}

#[derive(Serialize)]
struct FailureDescription<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Details")]
    details: &'a str,
}

fn describe_stream<'a>(
    arn: &'a str,
    name: &'a str,
    s: &'a Stream,
    default_destinations: &'a Value,
) -> Description<'a> {
    // The key is shown while encryption is (being) on; a DISABLED stream shows none.
    let shown = s
        .shown
        .as_ref()
        .filter(|_| s.enc_status != EncStatus::Disabled);
    let failure = s
        .failure
        .as_ref()
        .filter(|_| s.enc_status == EncStatus::EnablingFailed)
        .map(|f| FailureDescription {
            kind: &f.kind,
            details: &f.details,
        });
    Description {
        delivery_stream_name: name,
        delivery_stream_arn: arn,
        delivery_stream_status: s.status.as_str(),
        delivery_stream_type: s.stream_type.as_str(),
        delivery_stream_encryption_configuration: Encryption {
            key_arn: shown.and_then(KeyRef::arn),
            key_type: shown.map(|k| k.key_type().as_str()),
            status: s.enc_status.as_str(),
            failure,
        },
        version_id: "1",
        create_timestamp: secs(s.created_at),
        last_update_timestamp: secs(s.updated_at),
        source: s.source.as_ref(),
        destinations: s.destinations.as_ref().unwrap_or(default_destinations),
        has_more_destinations: false,
    }
}

/// The destination of seeded streams: an S3 bucket.
pub fn default_destinations(account: &str) -> Value {
    json!([{
        "DestinationId": "destinationId-000000000001",
        "ExtendedS3DestinationDescription": s3_defaults(json!({
            "RoleARN": format!("arn:aws:iam::{account}:role/firehose-sandbox"),
            "BucketARN": "arn:aws:s3:::firehose-sandbox",
            "S3BackupMode": "Disabled",
        })),
    }])
}

/// Fills the members an S3 destination description must have.
fn s3_defaults(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.entry("RoleARN").or_insert_with(|| json!(""));
        m.entry("BucketARN").or_insert_with(|| json!(""));
        m.entry("CompressionFormat")
            .or_insert_with(|| json!("UNCOMPRESSED"));
        m.entry("BufferingHints")
            .or_insert_with(|| json!({"SizeInMBs": 5, "IntervalInSeconds": 300}));
        m.entry("EncryptionConfiguration")
            .or_insert_with(|| json!({"NoEncryptionConfig": "NoEncryption"}));
    }
    v
}

/// Members never echoed back (secrets).
const SECRET_MEMBERS: [&str; 4] = ["Password", "AccessKey", "PrivateKey", "KeyPassphrase"];

/// A `*Configuration` shape as its `*Description`: nested S3 and VPC configurations renamed
/// and completed, secrets dropped, everything else echoed.
fn describe_config(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        if SECRET_MEMBERS.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "S3Configuration" => {
                out.insert(
                    "S3DestinationDescription".into(),
                    s3_defaults(describe_config(v)),
                );
            }
            "S3BackupConfiguration" => {
                out.insert(
                    "S3BackupDescription".into(),
                    s3_defaults(describe_config(v)),
                );
            }
            "VpcConfiguration" => {
                let mut vpc = describe_config(v);
                if let Value::Object(vm) = &mut vpc {
                    vm.entry("VpcId").or_insert_with(|| json!("vpc-00000000"));
                    vm.entry("SubnetIds").or_insert_with(|| json!([]));
                    vm.entry("SecurityGroupIds").or_insert_with(|| json!([]));
                    vm.entry("RoleARN").or_insert_with(|| json!(""));
                }
                out.insert("VpcConfigurationDescription".into(), vpc);
            }
            _ => {
                out.insert(k.clone(), describe_config(v));
            }
        }
    }
    Value::Object(out)
}

/// `Destinations` of Describe from the `*DestinationConfiguration` members of Create (the
/// default S3 destination when there is none).
pub fn destinations_from_create(body: &Value, account: &str) -> Value {
    let mut list = Vec::new();
    if let Some(m) = body.as_object() {
        for (k, v) in m {
            let Some(kind) = k.strip_suffix("DestinationConfiguration") else {
                continue;
            };
            let mut desc = describe_config(v);
            if kind == "S3" || kind == "ExtendedS3" {
                desc = s3_defaults(desc);
            }
            list.push(json!({
                "DestinationId": format!("destinationId-{:012}", list.len() + 1),
                format!("{kind}DestinationDescription"): desc,
            }));
        }
    }
    if list.is_empty() {
        default_destinations(account)
    } else {
        Value::Array(list)
    }
}

/// `Source` of Describe for non-DirectPut streams, from Create's source configuration.
fn source_description(body: &Value, stream_type: StreamType, now: Millis) -> Option<Value> {
    let (config, description) = match stream_type {
        StreamType::DirectPut => return None,
        StreamType::KinesisStreamAsSource => (
            "KinesisStreamSourceConfiguration",
            "KinesisStreamSourceDescription",
        ),
        StreamType::MskAsSource => ("MSKSourceConfiguration", "MSKSourceDescription"),
        StreamType::DatabaseAsSource => {
            ("DatabaseSourceConfiguration", "DatabaseSourceDescription")
        }
    };
    let mut desc = body
        .get(config)
        .map(describe_config)
        .unwrap_or_else(|| json!({}));
    if let Value::Object(m) = &mut desc
        && stream_type != StreamType::DatabaseAsSource
    {
        m.entry("DeliveryStartTimestamp")
            .or_insert_with(|| json!(secs(now)));
    }
    Some(json!({ description: desc }))
}

/// `KeyMetadata` of CreateKey and DescribeKey.
fn key_metadata(account: &str, k: &Key) -> Value {
    let mut m = json!({
        "AWSAccountId": account,
        "KeyId": k.id,
        "Arn": k.arn,
        "CreationDate": secs(k.created_at),
        "Enabled": k.state == "Enabled",
        "Description": k.description,
        "KeyUsage": k.usage,
        "KeyState": k.state,
        "Origin": "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": k.spec,
        "KeySpec": k.spec,
        "MultiRegion": false,
    });
    let algorithms = match (k.spec.as_str(), k.usage.as_str()) {
        ("SYMMETRIC_DEFAULT", _) => Some(json!(["SYMMETRIC_DEFAULT"])),
        (s, "ENCRYPT_DECRYPT") if s.starts_with("RSA_") => {
            Some(json!(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]))
        }
        _ => None,
    };
    if let Some(a) = algorithms {
        m["EncryptionAlgorithms"] = a;
    }
    m
}

// -------------------------------------------------------------------- responses

fn response(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, id);
    }
    resp
}

/// A 200 answer with a JSON 1.1 body.
pub fn ok(body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    response(StatusCode::OK, body, JSON_1_1, request_id)
}

/// An error answer: `{"__type", "message"}`, header `x-amzn-ErrorType`.
pub fn error(err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(&json!({"__type": err.code, "message": err.message}))
        .unwrap_or_default();
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = response(status, body, JSON_1_1, request_id);
    resp.headers_mut()
        .insert(ERROR_TYPE, HeaderValue::from_static(err.code));
    resp
}

/// The answer to a call.
pub fn reply(result: Result<Vec<u8>, ApiError>, request_id: &str) -> Response<Full<Bytes>> {
    match result {
        Ok(body) => ok(body, request_id),
        Err(e) => error(&e, request_id),
    }
}

/// A plain JSON answer (the admin endpoint).
pub fn admin_json(body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    response(StatusCode::OK, body, "application/json", request_id)
}

/// The error a faulted request gets.
pub fn internal_failure() -> ApiError {
    ApiError::new(
        state::INTERNAL_FAILURE,
        "We encountered an internal error. Please try again. (sandbox fault injection)",
    )
}

/// The error a throttled request gets.
pub fn throttled() -> ApiError {
    ApiError::new(state::THROTTLING, "Rate exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20261126/eu-west-1/firehose/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(region_from_authorization(h), Some("eu-west-1"));
        assert_eq!(region_from_authorization("Bearer x"), None);
        assert_eq!(
            region_from_authorization(
                "AWS4-HMAC-SHA256 Credential=A/D/NOT A REGION/s/aws4_request"
            ),
            None
        );
    }

    #[test]
    fn targets() {
        assert_eq!(
            Op::from_target("Firehose_20150804.StartDeliveryStreamEncryption"),
            Some(Op::StartDeliveryStreamEncryption)
        );
        assert_eq!(
            Op::from_target("TrentService.DescribeKey"),
            Some(Op::DescribeKey)
        );
        assert_eq!(Op::from_target("TrentService.DescribeDeliveryStream"), None);
        assert_eq!(Op::from_target("Firehose_20150804.PutRecord"), None);
    }

    #[test]
    fn destinations_are_described_with_required_members() {
        let body = json!({
            "HttpEndpointDestinationConfiguration": {
                "EndpointConfiguration": {"Url": "https://example.com", "AccessKey": "secret"},
                "S3Configuration": {"RoleARN": "r", "BucketARN": "b"},
            }
        });
        let d = destinations_from_create(&body, "123456789012");
        let http = &d[0]["HttpEndpointDestinationDescription"];
        assert_eq!(http["EndpointConfiguration"]["Url"], "https://example.com");
        assert!(http["EndpointConfiguration"].get("AccessKey").is_none());
        assert_eq!(
            http["S3DestinationDescription"]["CompressionFormat"],
            "UNCOMPRESSED"
        );
        assert_eq!(d[0]["DestinationId"], "destinationId-000000000001");
    }
}
