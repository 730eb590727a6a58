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
    let call = Call::parse(&headers, body.as_bytes(), REGION);
    match call.execute(world, T0) {
        Ok(bytes) => ("ok".to_owned(), serde_json::from_slice(&bytes).unwrap()),
        Err(e) => (e.code.to_owned(), json!(e.message)),
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
    assert_eq!(Op::from_target("Firehose_20150804.PutRecord"), None);
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
        let call = Call::parse(&headers(DESCRIBE), body.as_bytes(), REGION);
        assert!(!call.is_faultable(), "{body}");
        assert!(call.is_throttled());
        let err = call.execute(&mut world(), T0).unwrap_err();
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
    let call = Call::parse(&headers(LIST), b" \n", REGION);
    assert!(call.is_faultable());
    assert_eq!(call.stream_name(), None);
    // Unknown operations are neither throttled nor faulted, whatever the body.
    let call = Call::parse(&headers("Firehose_20150804.PutRecord"), b"{}", REGION);
    assert!(!call.is_throttled() && !call.is_faultable());
    assert_eq!(call.op_name(), UNKNOWN_OPERATION);
}

#[test]
fn members_of_the_wrong_type_are_form_errors_naming_the_member() {
    let mut w = world();
    let cases = [
        (
            DESCRIBE,
            r#"{"DeliveryStreamName": 42}"#,
            "DeliveryStreamName must be a string.",
        ),
        (
            LIST,
            r#"{"Limit": "10"}"#,
            "Limit must be a positive integer.",
        ),
        (
            LIST,
            r#"{"Limit": -1}"#,
            "Limit must be a positive integer.",
        ),
        (
            LIST,
            r#"{"Limit": 2.0}"#,
            "Limit must be a positive integer.",
        ),
        (
            LIST,
            r#"{"Limit": 0}"#,
            "Limit must be between 1 and 10000.",
        ),
        (
            LIST,
            r#"{"ExclusiveStartDeliveryStreamName": ["a"]}"#,
            "ExclusiveStartDeliveryStreamName must be a string.",
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": "AWS_OWNED_CMK"}"#,
            "DeliveryStreamEncryptionConfigurationInput must be an object.",
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": ["CUSTOMER_MANAGED_CMK", "arn:aws:kms:us-east-1:123456789012:key/k"]}"#,
            "DeliveryStreamEncryptionConfigurationInput must be an object.",
        ),
        (
            START,
            r#"{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": 1}}"#,
            "KeyType must be a string.",
        ),
        (START, r#"{}"#, "DeliveryStreamName is required."),
        (
            START,
            r#"{"DeliveryStreamName": ""}"#,
            "DeliveryStreamName is required.",
        ),
        (
            START,
            r#"{"DeliveryStreamName": "a b"}"#,
            r#"DeliveryStreamName "a b" must be 1-64 characters [a-zA-Z0-9_.-]."#,
        ),
    ];
    for (target, body, message) in cases {
        assert_eq!(
            error(&mut w, target, body),
            ("InvalidArgumentException".to_owned(), message.to_owned()),
            "{body}"
        );
    }
    // The name is checked before the configuration, whatever their order in the body.
    let body = r#"{"DeliveryStreamEncryptionConfigurationInput": 1, "DeliveryStreamName": 2}"#;
    assert_eq!(
        error(&mut w, START, body).1,
        "DeliveryStreamName must be a string."
    );
    // KMS form errors are ValidationException.
    let (code, message) = error(&mut w, "TrentService.DescribeKey", r#"{"KeyId": true}"#);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "KeyId must be a string.")
    );
    let body = r#"{"KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": 5}"#;
    assert_eq!(
        error(&mut w, "TrentService.CreateKey", body).1,
        "CustomerMasterKeySpec must be a string."
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
fn key_arns_follow_the_sse_key_arn_shape() {
    let mut w = world();
    let start = |key: &str| {
        format!(
            r#"{{"DeliveryStreamName": "stream-00000", "DeliveryStreamEncryptionConfigurationInput": {{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "{key}"}}}}"#
        )
    };
    let (code, message) = error(
        &mut w,
        START,
        &start("arn:aws:kms:us-east-1:123456789012:alias/prod"),
    );
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("is a KMS alias ARN"), "{message}");
    let (_, message) = error(&mut w, START, &start("arn:aws:s3:::bucket"));
    assert!(
        message.contains(r#"is an ARN of service "s3", expected "kms""#),
        "{message}"
    );
    let (code, _) = call(
        &mut w,
        START,
        &start("arn:aws:kms:us-east-1:123456789012:key/k"),
    );
    assert_eq!(code, "ok");
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
        "KinesisStreamSourceConfiguration": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s", "RoleARN": "r"},
        "S3DestinationConfiguration": {"RoleARN": "r1", "BucketARN": "b1"},
        "ExtendedS3DestinationConfiguration": {"RoleARN": "r2", "BucketARN": "b2"}
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
    assert_eq!(source["RoleARN"], "r");
    assert_eq!(source["DeliveryStartTimestamp"], json!(1_800_000_000.0));
    assert_eq!(
        d["Destinations"][0]["S3DestinationDescription"]["BucketARN"],
        "b1"
    );
    assert_eq!(
        d["Destinations"][1]["ExtendedS3DestinationDescription"]["BucketARN"],
        "b2"
    );
    assert_eq!(
        d["Destinations"][1]["DestinationId"],
        "destinationId-000000000002"
    );
}
