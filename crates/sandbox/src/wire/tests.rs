//! The wire: operations and Regions from headers, bodies read into typed inputs with the
//! answers the sandbox has always given for wrong ones, and the documents Describe echoes.

use hyper::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::*;
use crate::seed::Seed;
use crate::world::SandboxConfig;

const T0: Millis = 1_800_000_000_000;
const REGION: &str = "us-east-1";

fn world() -> World {
    World::new(&SandboxConfig::default(), &Seed::generated(2, REGION), T0).unwrap()
}

/// One request to `world`: its answer as (`__type` or "ok", body).
fn call(world: &mut World, target: &str, body: &str) -> (String, Value) {
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-target", HeaderValue::from_str(target).unwrap());
    let call = Call::parse(&headers, "/", body.as_bytes(), REGION);
    let caller = world.caller(&call.access_key, T0);
    match call.execute(world, &caller, T0, "rid") {
        Ok(bytes) => ("ok".to_owned(), serde_json::from_slice(&bytes).unwrap()),
        Err(e) => (e.code.to_string(), json!(e.message)),
    }
}

fn error(world: &mut World, target: &str, body: &str) -> (String, String) {
    let (code, message) = call(world, target, body);
    (code, message.as_str().unwrap_or_default().to_owned())
}

const DESCRIBE: &str = "Firehose_20150804.DescribeDeliveryStream";
const START: &str = "Firehose_20150804.StartDeliveryStreamEncryption";
const LIST: &str = "Firehose_20150804.ListDeliveryStreams";
const CREATE: &str = "Firehose_20150804.CreateDeliveryStream";

#[test]
fn region_comes_from_the_credential_scope() {
    let h = "AWS4-HMAC-SHA256 Credential=AKIDSANDBOX/20261126/eu-west-1/firehose/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
    assert_eq!(region_from_authorization(h), Some("eu-west-1"));
    assert_eq!(region_from_authorization("Bearer x"), None);
    assert_eq!(
        region_from_authorization("AWS4-HMAC-SHA256 Credential=A/D/NOT A REGION/s/aws4_request"),
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
    assert_eq!(Op::from_target("Firehose_20150804.UpdateDestination"), None);
}

#[test]
fn unreadable_bodies_are_serialization_errors_and_not_faultable() {
    let headers = |target: &str| {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", HeaderValue::from_str(target).unwrap());
        h
    };
    // Unknown members are judged as strictly as the rest: a lone surrogate, a number out of
    // range.
    let unknown_surrogate = r#"{"DeliveryStreamName": "stream-00000", "Other": "\ud800"}"#;
    let unknown_huge = r#"{"DeliveryStreamName": "stream-00000", "Other": 1e999}"#;
    for body in [
        "{not json",
        "[1, 2]",
        "[1, 2",
        "\"text\"",
        "{} {}",
        unknown_surrogate,
        unknown_huge,
    ] {
        let call = Call::parse(&headers(DESCRIBE), "/", body.as_bytes(), REGION);
        assert!(!call.is_faultable(), "{body}");
        assert_eq!(call.quota(), Quota::ControlPlane);
        let mut world = world();
        let caller = world.caller("", T0);
        let err = call.execute(&mut world, &caller, T0, "rid").unwrap_err();
        assert_eq!(err.code, codes::SERIALIZATION, "{body}");
    }
    let (_, message) = error(&mut world(), DESCRIBE, "[1, 2]");
    assert_eq!(message, "The request body must be a JSON object.");
    let (_, message) = error(&mut world(), DESCRIBE, "[1, 2");
    assert!(
        message.starts_with("The request body is not valid JSON: EOF while parsing a list"),
        "{message}"
    );
    // An empty body is `{}`.
    let call = Call::parse(&headers(LIST), "/", b" \n", REGION);
    assert!(call.is_faultable());
    assert_eq!(call.stream_name(), None);
    // Unknown operations are neither throttled nor faulted, whatever the body.
    let call = Call::parse(
        &headers("Firehose_20150804.UpdateDestination"),
        "/",
        b"{}",
        REGION,
    );
    assert!(call.quota() == Quota::Free && !call.is_faultable());
    assert_eq!(call.op_name(), UNKNOWN_OPERATION);
}

#[test]
fn wrong_types_are_serialization_errors_and_broken_constraints_validation_errors() {
    let mut w = world();
    let serialization = |member: &str, token: &str, shape: &str| {
        (
            "SerializationException".to_owned(),
            format!("{token} can not be converted to {shape} at '{member}'"),
        )
    };
    let validation = |errors: &[&str]| {
        let n = errors.len();
        let s = if n == 1 { "" } else { "s" };
        (
            "ValidationException".to_owned(),
            format!("{n} validation error{s} detected: {}", errors.join("; ")),
        )
    };
    let name_pattern = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+";
    let cases = [
        (
            DESCRIBE,
            r#"{"DeliveryStreamName": 42}"#,
            serialization("deliveryStreamName", "NUMBER_VALUE", "a String"),
        ),
        (
            LIST,
            r#"{"Limit": "10"}"#,
            serialization("limit", "STRING_VALUE", "an Integer"),
        ),
        (
            LIST,
            r#"{"Limit": 2.0}"#,
            serialization("limit", "NUMBER_VALUE", "an Integer"),
        ),
        (
            LIST,
            r#"{"Limit": -1}"#,
            validation(&[
                "Value '-1' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
            ]),
        ),
        (
            LIST,
            r#"{"Limit": 0}"#,
            validation(&[
                "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
            ]),
        ),
        (
            LIST,
            r#"{"ExclusiveStartDeliveryStreamName": ["a"]}"#,
            (
                "SerializationException".to_owned(),
                "Start of list found where not expected.".to_owned(),
            ),
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": "AWS_OWNED_CMK"}"#,
            serialization(
                "deliveryStreamEncryptionConfigurationInput",
                "STRING_VALUE",
                "a structure",
            ),
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": ["CUSTOMER_MANAGED_CMK", "arn:aws:kms:us-east-1:123456789012:key/k"]}"#,
            (
                "SerializationException".to_owned(),
                "Start of list found where not expected.".to_owned(),
            ),
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": 1}}"#,
            serialization(
                "deliveryStreamEncryptionConfigurationInput.keyType",
                "NUMBER_VALUE",
                "a String",
            ),
        ),
        (
            START,
            r#"{}"#,
            validation(&[
                "Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
            ]),
        ),
        (
            START,
            r#"{"DeliveryStreamName": ""}"#,
            validation(&[
                "Value '' at 'deliveryStreamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
                &format!(
                    "Value '' at 'deliveryStreamName' failed to satisfy constraint: {name_pattern}"
                ),
            ]),
        ),
        (
            START,
            r#"{"DeliveryStreamName": "a b"}"#,
            validation(&[&format!(
                "Value 'a b' at 'deliveryStreamName' failed to satisfy constraint: {name_pattern}"
            )]),
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": {}}"#,
            validation(&[
                "Value null at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy constraint: Member must not be null",
            ]),
        ),
    ];
    for (target, body, expected) in cases {
        assert_eq!(error(&mut w, target, body), expected, "{body}");
    }
    // The first member of the wrong type is named, whatever the order in the body.
    let body = r#"{"DeliveryStreamEncryptionConfigurationInput": 1, "DeliveryStreamName": 2}"#;
    assert_eq!(
        error(&mut w, START, body).1,
        "NUMBER_VALUE can not be converted to a String at 'deliveryStreamName'"
    );
    // What the model cannot say stays InvalidArgumentException.
    let body = r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK"}}"#;
    assert_eq!(
        error(&mut w, START, body),
        (
            "InvalidArgumentException".to_owned(),
            "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.".to_owned()
        )
    );
    // KMS: the same two errors.
    let (code, message) = error(&mut w, "TrentService.DescribeKey", r#"{"KeyId": true}"#);
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "SerializationException",
            "BOOLEAN_VALUE can not be converted to a String at 'keyId'"
        )
    );
    let body = r#"{"KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": 5}"#;
    assert_eq!(
        error(&mut w, "TrentService.CreateKey", body).1,
        "NUMBER_VALUE can not be converted to a String at 'customerMasterKeySpec'"
    );
    let body = r#"{"CustomerMasterKeySpec": "ML_DSA_44"}"#;
    let (code, message) = error(&mut w, "TrentService.CreateKey", body);
    assert_eq!(code, "ValidationException");
    assert!(
        message.starts_with("1 validation error detected: Value 'ML_DSA_44' at 'customerMasterKeySpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, "),
        "{message}"
    );
    // null is absent.
    let (code, body) = call(
        &mut w,
        LIST,
        r#"{"Limit": null, "DeliveryStreamType": null}"#,
    );
    assert_eq!(code, "ok");
    assert_eq!(
        body["DeliveryStreamNames"],
        json!(["stream-00000", "stream-00001"])
    );
}

#[test]
fn a_member_given_twice_counts_once_the_last() {
    let mut w = world();
    let body = r#"{"DeliveryStreamName": "nope", "DeliveryStreamName": "stream-00001"}"#;
    let (code, out) = call(&mut w, DESCRIBE, body);
    assert_eq!(code, "ok");
    assert_eq!(
        out["DeliveryStreamDescription"]["DeliveryStreamName"],
        "stream-00001"
    );
}

#[test]
fn answers_are_the_documents_aws_gives() {
    let mut w = world();
    let (_, out) = call(
        &mut w,
        DESCRIBE,
        r#"{"DeliveryStreamName": "stream-00000"}"#,
    );
    let d = &out["DeliveryStreamDescription"];
    assert_eq!(
        d["DeliveryStreamARN"],
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/stream-00000"
    );
    assert_eq!(
        d["DeliveryStreamEncryptionConfiguration"],
        json!({"Status": "DISABLED"})
    );
    assert_eq!(d["CreateTimestamp"], json!(1_800_000_000.0));
    // A seeded stream's destination, byte for byte what it has always been.
    let expected = json!([{
        "DestinationId": "destinationId-000000000001",
        "ExtendedS3DestinationDescription": {
            "RoleARN": "arn:aws:iam::123456789012:role/firehose-sandbox",
            "BucketARN": "arn:aws:s3:::firehose-sandbox",
            "S3BackupMode": "Disabled",
            "CompressionFormat": "UNCOMPRESSED",
            "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 300},
            "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
        },
    }]);
    assert_eq!(
        serde_json::to_string(&documents::default_destinations("123456789012")).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
    let (_, out) = call(&mut w, "TrentService.CreateKey", "{}");
    let keys: Vec<&str> = out["KeyMetadata"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "AWSAccountId",
            "KeyId",
            "Arn",
            "CreationDate",
            "Enabled",
            "Description",
            "KeyUsage",
            "KeyState",
            "Origin",
            "KeyManager",
            "CustomerMasterKeySpec",
            "KeySpec",
            "MultiRegion",
            "EncryptionAlgorithms",
        ]
    );
    let (_, out) = call(&mut w, "TrentService.ListKeys", r#"{"Limit": 1}"#);
    assert_eq!(out["Truncated"], false);
    assert!(out.get("NextMarker").is_none());
}

#[test]
fn destinations_are_described_with_required_members() {
    let body = json!({
        "HttpEndpointDestinationConfiguration": {
            "EndpointConfiguration": {"Url": "https://example.com", "AccessKey": "secret"},
            "S3Configuration": {"RoleARN": "r", "BucketARN": "b"},
        }
    });
    let Value::Object(members) = body else {
        unreachable!()
    };
    let d = documents::destinations(&members).unwrap();
    let http = &d[0]["HttpEndpointDestinationDescription"];
    assert_eq!(http["EndpointConfiguration"]["Url"], "https://example.com");
    assert!(http["EndpointConfiguration"].get("AccessKey").is_none());
    assert_eq!(
        http["S3DestinationDescription"]["CompressionFormat"],
        "UNCOMPRESSED"
    );
    assert_eq!(d[0]["DestinationId"], "destinationId-000000000001");
    assert_eq!(documents::destinations(&serde_json::Map::new()), None);
}

#[test]
fn created_streams_echo_their_configurations_in_order() {
    let mut w = world();
    let body = r#"{
        "DeliveryStreamName": "from-kinesis",
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "RoleARN": "arn:aws:iam::123456789012:role/r"},
        "S3DestinationConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/r1", "BucketARN": "arn:aws:s3:::b1"},
        "ExtendedS3DestinationConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/r2", "BucketARN": "arn:aws:s3:::b2"}
    }"#;
    let (code, out) = call(&mut w, CREATE, body);
    assert_eq!(code, "ok", "{out}");
    let (_, out) = call(
        &mut w,
        DESCRIBE,
        r#"{"DeliveryStreamName": "from-kinesis"}"#,
    );
    let d = &out["DeliveryStreamDescription"];
    let source = &d["Source"]["KinesisStreamSourceDescription"];
    assert_eq!(source["RoleARN"], "arn:aws:iam::123456789012:role/r");
    assert_eq!(source["DeliveryStartTimestamp"], json!(1_800_000_000.0));
    assert_eq!(
        d["Destinations"][0]["S3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::b1"
    );
    assert_eq!(
        d["Destinations"][1]["ExtendedS3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::b2"
    );
    assert_eq!(
        d["Destinations"][1]["DestinationId"],
        "destinationId-000000000002"
    );
}

/// One request with extra headers to `world`, as the server runs it.
fn call_with(
    world: &mut World,
    headers: &[(&str, &str)],
    body: &str,
) -> (Call, Result<Vec<u8>, crate::vocabulary::ApiError>) {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let call = Call::parse(&map, "/", body.as_bytes(), REGION);
    let caller = world.caller(&call.access_key, T0);
    let result = call.execute(world, &caller, T0, "rid-1");
    (call, result)
}

const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20270115/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=0";

#[test]
fn sts_get_caller_identity_speaks_the_query_protocol() {
    let mut w = world();
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let (call, result) = call_with(
        &mut w,
        &[("content-type", form), ("authorization", SIGNED)],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    assert_eq!(call.protocol, Protocol::Query(QueryService::Sts));
    assert_eq!(call.op_name(), "GetCallerIdentity");
    assert!(call.quota() == Quota::Free && !call.is_faultable());
    assert_eq!(
        (call.region.as_str(), call.access_key.as_str()),
        ("eu-west-1", "ASIAEXAMPLE")
    );
    let body = String::from_utf8(result.unwrap()).unwrap();
    assert!(
        body.contains("<UserId>ASIAEXAMPLE</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/sandbox</Arn>"),
        "{body}"
    );
    assert!(body.contains("<RequestId>rid-1</RequestId>"), "{body}");
    // Another action, and no signature.
    let (call, result) = call_with(
        &mut w,
        &[("content-type", form), ("authorization", SIGNED)],
        "Action=AssumeRoleWithSAML&Version=2011-06-15",
    );
    assert_eq!(call.op_name(), UNKNOWN_OPERATION);
    let err = result.unwrap_err();
    assert_eq!((err.code.as_ref(), err.status()), ("InvalidAction", 400));
    let (_, result) = call_with(
        &mut w,
        &[("content-type", form)],
        "Action=GetCallerIdentity",
    );
    let err = result.unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status()),
        ("MissingAuthenticationToken", 403)
    );
    // A signature for sts makes a form body STS even without the content type.
    let (call, _) = call_with(
        &mut w,
        &[("authorization", SIGNED)],
        "Action=GetCallerIdentity",
    );
    assert_eq!(call.protocol, Protocol::Query(QueryService::Sts));
    // Expired credentials: each protocol's own answer.
    assert_eq!(
        answer::expired(Protocol::Query(QueryService::Sts)).code,
        "ExpiredToken"
    );
    assert_eq!(
        answer::expired(Protocol::Query(QueryService::Sts)).status(),
        403
    );
    assert_eq!(
        answer::expired(Protocol::Json).code,
        "ExpiredTokenException"
    );
    assert_eq!(answer::expired(Protocol::Json).status(), 403);
}

#[tokio::test]
async fn invalid_kms_resource_carries_its_code_member_and_header() {
    let err = crate::vocabulary::ApiError::invalid_kms_resource("AccessDeniedException", "m");
    let resp = answer::error(&err, "rid");
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.headers()[answer::ERROR_TYPE],
        "InvalidKMSResourceException"
    );
    use http_body_util::BodyExt;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"__type": "InvalidKMSResourceException", "code": "AccessDeniedException", "message": "m"})
    );
}

#[test]
fn describe_shows_failures_where_seeded_and_sources_of_seeded_streams() {
    let seed: Seed = serde_json::from_value(json!({
        "streams": [
            {"name": "in-stream", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
                "status": "ENABLING_FAILED", "failure": {"type": "KMS_ACCESS_DENIED", "description": "stream"}}},
            {"name": "in-encryption", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
                "status": "DISABLING_FAILED"}},
            {"name": "nowhere", "encryption": {"key_type": "AWS_OWNED_CMK", "status": "ENABLING_FAILED",
                "failure": {"type": "UNKNOWN_ERROR", "description": "none"}}},
            {"name": "kin", "type": "KinesisStreamAsSource"},
            {"name": "kin2", "type": "KinesisStreamAsSource", "source_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"},
            {"name": "msk", "type": "MSKAsSource"},
            {"name": "db", "type": "DatabaseAsSource"}
        ],
        "keys": [{"id": "k", "manager": "AWS"}]
    }))
    .unwrap();
    let mut w = World::new(&SandboxConfig::default(), &seed, T0).unwrap();
    let describe = |w: &mut World, name: &str| {
        let (_, out) = call(
            w,
            DESCRIBE,
            &format!(r#"{{"DeliveryStreamName": "{name}"}}"#),
        );
        out["DeliveryStreamDescription"].clone()
    };
    let d = describe(&mut w, "in-stream");
    assert_eq!(d["FailureDescription"]["Type"], "KMS_ACCESS_DENIED");
    assert_eq!(
        d["DeliveryStreamEncryptionConfiguration"],
        json!({"KeyARN": "arn:aws:kms:us-east-1:123456789012:key/k", "KeyType": "CUSTOMER_MANAGED_CMK", "Status": "ENABLING_FAILED"})
    );
    let d = describe(&mut w, "in-encryption");
    assert!(d.get("FailureDescription").is_none());
    assert_eq!(
        d["DeliveryStreamEncryptionConfiguration"]["FailureDescription"]["Type"],
        "RETIRE_KMS_GRANT_FAILED"
    );
    assert_eq!(
        d["DeliveryStreamEncryptionConfiguration"]["Status"],
        "DISABLING_FAILED"
    );
    let d = describe(&mut w, "nowhere");
    assert!(d.get("FailureDescription").is_none());
    assert_eq!(
        d["DeliveryStreamEncryptionConfiguration"],
        json!({"KeyType": "AWS_OWNED_CMK", "Status": "ENABLING_FAILED"})
    );
    assert_eq!(
        describe(&mut w, "kin")["Source"],
        json!({"KinesisStreamSourceDescription": {
            "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/kin",
            "RoleARN": "arn:aws:iam::123456789012:role/firehose-sandbox",
            "DeliveryStartTimestamp": 1_800_000_000.0
        }})
    );
    assert_eq!(
        describe(&mut w, "kin2")["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"],
        "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
    );
    let msk = describe(&mut w, "msk")["Source"]["MSKSourceDescription"].clone();
    assert_eq!(msk["TopicName"], "msk");
    assert_eq!(
        msk["AuthenticationConfiguration"],
        json!({"RoleARN": "arn:aws:iam::123456789012:role/firehose-sandbox", "Connectivity": "PRIVATE"})
    );
    assert_eq!(
        describe(&mut w, "db")["Source"]["DatabaseSourceDescription"]["Type"],
        "MySQL"
    );
    // DirectPut: no Source unless Create configured one.
    assert!(describe(&mut w, "in-stream").get("Source").is_none());
    // KeyManager as seeded.
    let (_, out) = call(&mut w, "TrentService.DescribeKey", r#"{"KeyId": "k"}"#);
    assert_eq!(out["KeyMetadata"]["KeyManager"], "AWS");
}

/// A world with a member account `111111111111` (role `firehose-sse`, stream `theirs`).
fn organization() -> World {
    let seed: Seed = serde_json::from_value(json!({
        "streams": [{"name": "mine"}],
        "accounts": [{"id": "111111111111", "roles": ["firehose-sse"], "streams": [{"name": "theirs"}]}]
    }))
    .unwrap();
    World::new(&SandboxConfig::default(), &seed, T0).unwrap()
}

fn signed(key: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key}/20270115/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// The text of the XML element `tag` in `body`.
fn xml<'a>(body: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = body.find(&open).unwrap() + open.len();
    &body[start..start + body[start..].find('<').unwrap()]
}

#[test]
fn assume_role_issues_credentials_that_act_in_the_roles_account() {
    let mut w = organization();
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let (call, result) = call_with(
        &mut w,
        &[
            ("content-type", form),
            ("authorization", &signed("AKIDBASE", "sts")),
        ],
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Ffirehose-sse&RoleSessionName=run-7",
    );
    assert_eq!(
        (call.op_name(), call.protocol),
        ("AssumeRole", Protocol::Query(QueryService::Sts))
    );
    assert!(call.quota() == Quota::Free && !call.is_faultable());
    let body = String::from_utf8(result.unwrap()).unwrap();
    assert!(body.starts_with("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/firehose-sse/run-7</Arn>"), "{body}");
    assert_eq!(xml(&body, "Expiration"), "2027-01-15T09:00:00Z");
    let key = xml(&body, "AccessKeyId").to_owned();
    // GetCallerIdentity with the new key: the role's account and session.
    let (_, result) = call_with(
        &mut w,
        &[
            ("content-type", form),
            ("authorization", &signed(&key, "sts")),
        ],
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    let body = String::from_utf8(result.unwrap()).unwrap();
    assert_eq!(xml(&body, "Account"), "111111111111");
    assert_eq!(
        xml(&body, "Arn"),
        "arn:aws:sts::111111111111:assumed-role/firehose-sse/run-7"
    );
    assert!(xml(&body, "UserId").starts_with("AROA") && xml(&body, "UserId").ends_with(":run-7"));
    // Firehose with it: its account's streams, not the sandbox's.
    let describe = |w: &mut World, key: &str, name: &str| {
        let (_, result) = call_with(
            w,
            &[
                ("x-amz-target", DESCRIBE),
                ("authorization", &signed(key, "firehose")),
            ],
            &json!({"DeliveryStreamName": name}).to_string(),
        );
        result.map_err(|e| (e.code.to_string(), e.message))
    };
    let body = describe(&mut w, &key, "theirs").unwrap();
    let d: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        d["DeliveryStreamDescription"]["DeliveryStreamARN"],
        "arn:aws:firehose:us-east-1:111111111111:deliverystream/theirs"
    );
    assert_eq!(
        describe(&mut w, &key, "mine").unwrap_err(),
        (
            "ResourceNotFoundException".into(),
            "Firehose mine under account 111111111111 not found.".into()
        )
    );
    assert!(describe(&mut w, "AKIDBASE", "theirs").is_err());
    let stats = w.stats(T0);
    let theirs = stats.stream_of("111111111111", REGION, "theirs").unwrap();
    assert_eq!(theirs.requests["DescribeDeliveryStream"], 1);
    let not_found = &stats
        .account_stats("111111111111")
        .unwrap()
        .stream_not_found;
    assert_eq!(
        (not_found[0].stream.as_str(), not_found[0].calls),
        ("mine", 1)
    );
    // A role the account does not have.
    let (_, result) = call_with(
        &mut w,
        &[
            ("content-type", form),
            ("authorization", &signed("AKIDBASE", "sts")),
        ],
        "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fadmin&RoleSessionName=run-7",
    );
    let err = result.unwrap_err();
    assert_eq!((err.code.as_ref(), err.status()), ("AccessDenied", 403));
}

#[test]
fn list_accounts_speaks_json_with_organizations_errors() {
    let mut w = organization();
    let target = "AWSOrganizationsV20161128.ListAccounts";
    let list = |w: &mut World, key: &str, body: &str| {
        call_with(
            w,
            &[
                ("x-amz-target", target),
                ("authorization", &signed(key, "organizations")),
            ],
            body,
        )
    };
    let (call, result) = list(&mut w, "AKIDBASE", r#"{"MaxResults": 1}"#);
    assert_eq!(
        (call.op_name(), call.protocol),
        ("ListAccounts", Protocol::JsonCapitalMessage)
    );
    assert!(call.quota() == Quota::Free && !call.is_faultable());
    let page: Value = serde_json::from_slice(&result.unwrap()).unwrap();
    assert_eq!(page["Accounts"][0]["Id"], "123456789012");
    assert_eq!(page["Accounts"][0]["Status"], "ACTIVE");
    assert_eq!(page["Accounts"][0]["State"], "ACTIVE");
    assert_eq!(page["Accounts"][0]["JoinedMethod"], "CREATED");
    assert!(page["Accounts"][0]["JoinedTimestamp"].is_f64());
    let token = page["NextToken"].as_str().unwrap();
    let (_, result) = list(&mut w, "AKIDBASE", &json!({"NextToken": token}).to_string());
    let page: Value = serde_json::from_slice(&result.unwrap()).unwrap();
    assert_eq!(page["Accounts"][0]["Id"], "111111111111");
    assert!(page.get("NextToken").is_none());
    // Organizations words the model's findings its own way.
    let (call, result) = list(&mut w, "AKIDBASE", r#"{"MaxResults": 21}"#);
    let err = result.unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.reason, err.message.as_str()),
        (
            "InvalidInputException",
            Some("MAX_VALUE_EXCEEDED"),
            "1 validation error detected: Value '21' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to 20"
        )
    );
    let answer = answer::error_in(call.protocol, &err, "rid");
    assert_eq!(answer.status(), 400);
    let (_, result) = list(&mut w, "AKIDBASE", r#"{"MaxResults": "1"}"#);
    assert_eq!(result.unwrap_err().code, "SerializationException");
}
