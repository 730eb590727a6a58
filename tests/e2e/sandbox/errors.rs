//! The errors AWS answers with: invalid requests get the service's error codes, a Stop on a
//! never-encrypted stream is a normal answer, unknown operations and malformed requests are
//! 400s, never 500s.

use aws_sdk_firehose::types::{
    DeliveryStreamEncryptionConfigurationInput as EncryptionInput,
    DeliveryStreamEncryptionStatus as Enc, KeyType,
};

use super::{REGION, code, customer, describe, enc_status, start, stop, write_fleet};
use crate::common::{ACCOUNT, Raw, Sandbox, key_arn};

#[tokio::test]
async fn invalid_requests_get_the_right_errors() {
    let fleet = write_fleet(
        r#"{"streams": [
              {"name": "direct"},
              {"name": "from-kinesis", "type": "KinesisStreamAsSource"},
              {"name": "from-msk", "type": "MSKAsSource"},
              {"name": "from-db", "type": "DatabaseAsSource"},
              {"name": "creating", "status": "CREATING"}
            ],
            "keys": [{"id": "k"}]}"#,
    );
    let sb = Sandbox::start(&[
        "--fleet",
        fleet.path().to_str().unwrap(),
        "--tps",
        "0",
        "--latency",
        "1s",
    ]);
    let fh = sb.firehose(REGION);
    for source in ["from-kinesis", "from-msk", "from-db"] {
        assert_eq!(
            start(&fh, source, None).await.unwrap_err(),
            "InvalidArgumentException"
        );
        assert_eq!(
            stop(&fh, source).await.unwrap_err(),
            "InvalidArgumentException"
        );
    }
    assert_eq!(
        start(&fh, "creating", None).await.unwrap_err(),
        "ResourceInUseException"
    );
    assert_eq!(
        start(&fh, "missing", None).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        stop(&fh, "missing").await.unwrap_err(),
        "ResourceNotFoundException"
    );
    let describe_missing = fh
        .describe_delivery_stream()
        .delivery_stream_name("missing")
        .send()
        .await;
    assert_eq!(code(describe_missing), "ResourceNotFoundException");

    let no_arn = EncryptionInput::builder()
        .key_type(KeyType::CustomerManagedCmk)
        .build()
        .unwrap();
    assert_eq!(
        start(&fh, "direct", Some(no_arn)).await.unwrap_err(),
        "InvalidArgumentException"
    );
    let bogus = EncryptionInput::builder()
        .key_type(KeyType::from("BOGUS_CMK"))
        .build()
        .unwrap();
    // What breaks the published model (an enum, a pattern, a required member) is a
    // ValidationException, as AWS answers it.
    assert_eq!(
        start(&fh, "direct", Some(bogus)).await.unwrap_err(),
        "ValidationException"
    );
    let alias = customer(&format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/prod"));
    assert_eq!(
        start(&fh, "direct", Some(alias)).await.unwrap_err(),
        "ValidationException"
    );
    // Missing name: the SDK refuses to send it, so plain HTTP.
    let raw = sb.call("Firehose_20150804.StartDeliveryStreamEncryption", "{}");
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json()["__type"], "ValidationException");
    assert_eq!(
        raw.json()["message"],
        "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy \
         constraint: Member must not be null"
    );

    start(&fh, "direct", Some(customer(&key_arn(REGION, "k"))))
        .await
        .unwrap();
    assert_eq!(
        start(&fh, "direct", None).await.unwrap_err(),
        "ResourceInUseException"
    );
    assert_eq!(
        stop(&fh, "direct").await.unwrap_err(),
        "ResourceInUseException"
    );

    let stats = sb.stats();
    let direct = stats.stream(REGION, "direct").unwrap();
    assert_eq!(
        (
            direct.start_calls,
            direct.rejected_calls,
            direct.calls_in_window
        ),
        (1, 2, 1)
    );
    assert_eq!(stats.limit_exceeded.stream_budget, 0);
}

#[tokio::test]
async fn stop_on_a_never_encrypted_stream_is_a_normal_answer() {
    let sb = Sandbox::start(&["--streams", "1", "--tps", "0"]);
    let fh = sb.firehose(REGION);
    stop(&fh, "stream-00000").await.unwrap();
    let d = describe(&fh, "stream-00000").await;
    assert_eq!(enc_status(&d), Enc::Disabled);
    let stats = sb.stats();
    let s = stats.stream(REGION, "stream-00000").unwrap();
    assert_eq!(
        (s.stop_calls, s.calls_in_window),
        (1, 1),
        "an accepted call counts"
    );
    let raw = sb.call(
        "Firehose_20150804.StopDeliveryStreamEncryption",
        r#"{"DeliveryStreamName": "stream-00000"}"#,
    );
    assert_eq!((raw.status, raw.body.as_str()), (200, "{}"));
}

#[tokio::test]
async fn unknown_operations_and_malformed_requests_are_400s_never_500s() {
    let sb = Sandbox::start(&["--streams", "1"]);
    let check = |raw: Raw, code: &str| {
        assert_eq!(raw.status, 400, "{}", raw.body);
        assert_eq!(raw.header("x-amzn-ErrorType"), Some(code));
        assert!(
            raw.header("x-amzn-RequestId")
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(
            raw.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
        let body = raw.json();
        assert_eq!(body["__type"], code);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    check(
        sb.call("Firehose_20150804.UpdateDestination", "{}"),
        "UnknownOperationException",
    );
    check(
        sb.call("TrentService.Encrypt", "{}"),
        "UnknownOperationException",
    );
    check(
        sb.call("Kinesis_20131202.ListStreams", "{}"),
        "UnknownOperationException",
    );
    check(sb.raw("POST", "/", &[], "{}"), "UnknownOperationException");
    check(sb.raw("GET", "/", &[], ""), "UnknownOperationException");
    check(
        sb.raw("POST", "/_sandbox/stats", &[], ""),
        "UnknownOperationException",
    );
    check(
        sb.call("Firehose_20150804.DescribeDeliveryStream", "{not json"),
        "SerializationException",
    );
    check(
        sb.call("Firehose_20150804.DescribeDeliveryStream", "[1, 2]"),
        "SerializationException",
    );
    check(
        sb.call(
            "Firehose_20150804.DescribeDeliveryStream",
            r#"{"DeliveryStreamName": 42}"#,
        ),
        "SerializationException",
    );
    check(
        sb.call("Firehose_20150804.ListDeliveryStreams", r#"{"Limit": 0}"#),
        "ValidationException",
    );
    check(
        sb.call("TrentService.DescribeKey", "{}"),
        "ValidationException",
    );
    // A good request still works, with a request id.
    let ok = sb.call("Firehose_20150804.ListDeliveryStreams", "");
    assert_eq!(ok.status, 200);
    assert!(ok.header("x-amzn-RequestId").is_some());
    assert_eq!(
        ok.json()["DeliveryStreamNames"],
        serde_json::json!(["stream-00000"])
    );
    // (The admin endpoint's answers are not API requests.)
    assert_eq!(sb.stats().requests_for("UnknownOperation"), 5);
}
