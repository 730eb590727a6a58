//! What the model test sends: every operation the sandbox serves, through every state, and
//! malformed requests of each kind. Each scenario returns its exchanges.

use std::time::Duration;

use firehose_sse_sandbox::{SandboxConfig, Seed};
use serde_json::{Value, json};

use super::http::Exchange;
use super::{ACCOUNT, Driver, REGION, Server};

fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
}

fn config() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_secs(1),
        tps: 0,
        ..SandboxConfig::default()
    }
}

/// Every scenario's exchanges.
pub fn all() -> Vec<Exchange> {
    let mut out = Vec::new();
    streams_and_encryption(&mut out);
    created_streams(&mut out);
    keys(&mut out);
    limits(&mut out);
    malformed(&mut out);
    documented(&mut out);
    credentials(&mut out);
    super::organization::scenarios(&mut out);
    super::iam::scenarios(&mut out);
    super::producers::scenarios(&mut out);
    super::cloudwatch::scenarios(&mut out);
    super::sources::scenarios(&mut out);
    out
}

/// The seeded world: streams of each type and status, keys of each state and spec.
fn world() -> Seed {
    serde_json::from_value(json!({
        "streams": [
            {"name": "plain"},
            {"name": "aws-enc", "encryption": {"key_type": "AWS_OWNED_CMK"}},
            {"name": "cmk-enc", "encryption": {"key_arn": key_arn("good")}},
            {"name": "kinesis", "type": "KinesisStreamAsSource"},
            {"name": "msk", "type": "MSKAsSource"},
            {"name": "database", "type": "DatabaseAsSource"},
            {"name": "creating", "status": "CREATING"},
            {"name": "deleting", "status": "DELETING"},
            {"name": "creating-failed", "status": "CREATING_FAILED"},
            {"name": "deleting-failed", "status": "DELETING_FAILED"},
            {"name": "to-good"}, {"name": "to-missing"}, {"name": "to-disabled"},
            {"name": "to-pending"}, {"name": "to-rsa"}, {"name": "to-flaky"},
            {"name": "rekey-fails", "encryption": {"key_arn": key_arn("good")}},
            {"name": "to-stop", "encryption": {"key_arn": key_arn("good")}},
            {"name": "to-delete"}
        ],
        "keys": [
            {"id": "good", "description": "the good key"},
            {"id": "disabled", "state": "Disabled"},
            {"id": "pending", "state": "PendingDeletion"},
            {"id": "rsa", "spec": "RSA_2048", "usage": "SIGN_VERIFY"},
            {"id": "rsa-enc", "spec": "RSA_3072", "usage": "ENCRYPT_DECRYPT"},
            {"id": "hmac", "spec": "HMAC_256", "usage": "GENERATE_VERIFY_MAC"},
            {"id": "flaky", "failure": {"type": "CREATE_KMS_GRANT_FAILED"}}
        ]
    }))
    .unwrap()
}

fn name(n: &str) -> Value {
    json!({"DeliveryStreamName": n})
}

fn start(n: &str, key: Option<&str>) -> Value {
    let input = match key {
        None => json!({"KeyType": "AWS_OWNED_CMK"}),
        Some(id) => json!({"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key_arn(id)}),
    };
    json!({"DeliveryStreamName": n, "DeliveryStreamEncryptionConfigurationInput": input})
}

fn describe_all(d: &mut Driver, when: &str, names: &[&str]) {
    for n in names {
        d.firehose(
            &format!("describe {n} {when}"),
            "DescribeDeliveryStream",
            name(n),
        );
    }
}

const SEEDED: [&str; 19] = [
    "plain",
    "aws-enc",
    "cmk-enc",
    "kinesis",
    "msk",
    "database",
    "creating",
    "deleting",
    "creating-failed",
    "deleting-failed",
    "to-good",
    "to-missing",
    "to-disabled",
    "to-pending",
    "to-rsa",
    "to-flaky",
    "rekey-fails",
    "to-stop",
    "to-delete",
];

/// Every seeded stream described, Starts with each key (ENABLING, then ENABLED or
/// ENABLING_FAILED with each failure type), a failed rekey, a Stop (DISABLING, then DISABLED),
/// a Delete, the refusals of each state, and List in every form.
fn streams_and_encryption(out: &mut Vec<Exchange>) {
    let config = config();
    let server = Server::start(config.clone(), world());
    let mut d = Driver::new(&server, out);
    describe_all(&mut d, "as seeded", &SEEDED);
    d.firehose(
        "start aws key",
        "StartDeliveryStreamEncryption",
        start("plain", None),
    );
    for (stream, key) in [
        ("to-good", "good"),
        ("to-missing", "missing"),
        ("to-disabled", "disabled"),
        ("to-pending", "pending"),
        ("to-rsa", "rsa"),
        ("to-flaky", "flaky"),
        ("rekey-fails", "disabled"),
    ] {
        d.firehose(
            &format!("start {stream}"),
            "StartDeliveryStreamEncryption",
            start(stream, Some(key)),
        );
    }
    d.firehose("stop", "StopDeliveryStreamEncryption", name("to-stop"));
    d.firehose(
        "stop never encrypted",
        "StopDeliveryStreamEncryption",
        name("to-delete"),
    );
    describe_all(&mut d, "mid-transition", &SEEDED);
    // Refusals while a transition is under way, and of each stream state and type.
    d.firehose(
        "start while enabling",
        "StartDeliveryStreamEncryption",
        start("to-good", None),
    );
    d.firehose(
        "stop while disabling",
        "StopDeliveryStreamEncryption",
        name("to-stop"),
    );
    for n in [
        "kinesis",
        "msk",
        "database",
        "creating",
        "deleting",
        "creating-failed",
        "deleting-failed",
    ] {
        d.firehose(
            &format!("start {n}"),
            "StartDeliveryStreamEncryption",
            start(n, None),
        );
        d.firehose(
            &format!("stop {n}"),
            "StopDeliveryStreamEncryption",
            name(n),
        );
    }
    d.firehose(
        "start unknown",
        "StartDeliveryStreamEncryption",
        start("nope", None),
    );
    d.firehose("stop unknown", "StopDeliveryStreamEncryption", name("nope"));
    d.firehose("describe unknown", "DescribeDeliveryStream", name("nope"));
    d.firehose("delete unknown", "DeleteDeliveryStream", name("nope"));
    d.firehose("delete creating", "DeleteDeliveryStream", name("creating"));
    server.settle(&config);
    describe_all(&mut d, "settled", &SEEDED);
    d.firehose("delete", "DeleteDeliveryStream", name("to-delete"));
    d.firehose(
        "describe deleting",
        "DescribeDeliveryStream",
        name("to-delete"),
    );
    d.firehose("delete deleting", "DeleteDeliveryStream", name("to-delete"));
    d.firehose(
        "stop failed",
        "StopDeliveryStreamEncryption",
        name("to-flaky"),
    );
    d.firehose(
        "describe stopping a failed one",
        "DescribeDeliveryStream",
        name("to-flaky"),
    );
    d.firehose(
        "rekey",
        "StartDeliveryStreamEncryption",
        start("to-good", None),
    );
    d.firehose(
        "start without configuration",
        "StartDeliveryStreamEncryption",
        name("to-missing"),
    );
    describe_all(&mut d, "rekeying", &["to-good", "to-missing"]);
    server.settle(&config);
    describe_all(
        &mut d,
        "after rekey",
        &["to-good", "to-missing", "to-delete"],
    );
    for (label, body) in [
        ("list", json!({})),
        ("list limit 1", json!({"Limit": 1})),
        ("list limit max", json!({"Limit": 10000})),
        (
            "list after",
            json!({"ExclusiveStartDeliveryStreamName": "plain"}),
        ),
        (
            "list after unknown",
            json!({"ExclusiveStartDeliveryStreamName": "zzz"}),
        ),
        (
            "list kinesis",
            json!({"DeliveryStreamType": "KinesisStreamAsSource"}),
        ),
        ("list msk", json!({"DeliveryStreamType": "MSKAsSource"})),
        (
            "list direct put page",
            json!({"DeliveryStreamType": "DirectPut", "Limit": 3}),
        ),
    ] {
        d.firehose(label, "ListDeliveryStreams", body);
    }
    d.region = "eu-west-1".to_owned();
    d.firehose("list empty region", "ListDeliveryStreams", json!({}));
    d.firehose(
        "describe in another region",
        "DescribeDeliveryStream",
        name("plain"),
    );
}

fn s3(bucket: &str) -> Value {
    json!({"RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/firehose"), "BucketARN": format!("arn:aws:s3:::{bucket}")})
}

/// CreateDeliveryStream with each source and several destinations, described while CREATING
/// and once ACTIVE; and the refusals of Create.
fn created_streams(out: &mut Vec<Exchange>) {
    let config = config();
    let server = Server::start(config.clone(), world());
    let mut d = Driver::new(&server, out);
    let role = format!("arn:aws:iam::{ACCOUNT}:role/firehose");
    let creates = [
        ("c-minimal", json!({"DeliveryStreamName": "c-minimal"})),
        (
            "c-s3",
            json!({"DeliveryStreamName": "c-s3", "S3DestinationConfiguration": s3("b1")}),
        ),
        (
            "c-extended",
            json!({
                "DeliveryStreamName": "c-extended",
                "DeliveryStreamType": "DirectPut",
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": role, "BucketARN": "arn:aws:s3:::b2", "Prefix": "p/",
                    "ErrorOutputPrefix": "e/", "CompressionFormat": "GZIP",
                    "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60},
                    "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": key_arn("good")}},
                    "CloudWatchLoggingOptions": {"Enabled": true, "LogGroupName": "g", "LogStreamName": "s"},
                    "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:f"}]}]},
                    "S3BackupMode": "Enabled",
                    "S3BackupConfiguration": s3("backup"),
                    "DynamicPartitioningConfiguration": {"Enabled": false},
                    "FileExtension": ".json",
                    "CustomTimeZone": "UTC"
                },
                "Tags": [{"Key": "team", "Value": "data"}]
            }),
        ),
        (
            "c-encrypted",
            json!({
                "DeliveryStreamName": "c-encrypted",
                "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key_arn("good")},
                "ExtendedS3DestinationConfiguration": s3("b3")
            }),
        ),
        (
            "c-aws-encrypted",
            json!({
                "DeliveryStreamName": "c-aws-encrypted",
                "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"},
                "DirectPutSourceConfiguration": {"ThroughputHintInMBs": 5},
                "ExtendedS3DestinationConfiguration": s3("b4")
            }),
        ),
        (
            "c-kinesis",
            json!({
                "DeliveryStreamName": "c-kinesis",
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": {"KinesisStreamARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/src"), "RoleARN": role},
                "ExtendedS3DestinationConfiguration": s3("b5")
            }),
        ),
        (
            "c-msk",
            json!({
                "DeliveryStreamName": "c-msk",
                "DeliveryStreamType": "MSKAsSource",
                "MSKSourceConfiguration": {
                    "MSKClusterARN": format!("arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/c/11111111-2222-3333-4444-555555555555-1"),
                    "TopicName": "events",
                    "AuthenticationConfiguration": {"RoleARN": role, "Connectivity": "PRIVATE"}
                },
                "ExtendedS3DestinationConfiguration": s3("b6")
            }),
        ),
        (
            "c-http",
            json!({
                "DeliveryStreamName": "c-http",
                "HttpEndpointDestinationConfiguration": {
                    "EndpointConfiguration": {"Url": "https://example.com/ingest", "Name": "example", "AccessKey": "secret"},
                    "RequestConfiguration": {"ContentEncoding": "GZIP", "CommonAttributes": [{"AttributeName": "a", "AttributeValue": "b"}]},
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
                    "RetryOptions": {"DurationInSeconds": 300},
                    "RoleARN": role,
                    "S3BackupMode": "FailedDataOnly",
                    "S3Configuration": s3("b7")
                }
            }),
        ),
        (
            "c-splunk",
            json!({
                "DeliveryStreamName": "c-splunk",
                "SplunkDestinationConfiguration": {
                    "HECEndpoint": "https://splunk.example.com:8088",
                    "HECEndpointType": "Raw",
                    "HECToken": "token",
                    "S3Configuration": s3("b8")
                }
            }),
        ),
        (
            "c-redshift",
            json!({
                "DeliveryStreamName": "c-redshift",
                "RedshiftDestinationConfiguration": {
                    "RoleARN": role,
                    "ClusterJDBCURL": "jdbc:redshift://c.abc123.us-east-1.redshift.amazonaws.com:5439/dev",
                    "CopyCommand": {"DataTableName": "events"},
                    "Username": "user",
                    "Password": "secret-password",
                    "S3Configuration": s3("b9")
                }
            }),
        ),
    ];
    for (n, body) in creates {
        d.firehose(&format!("create {n}"), "CreateDeliveryStream", body);
        d.firehose(
            &format!("describe {n} creating"),
            "DescribeDeliveryStream",
            name(n),
        );
    }
    d.firehose(
        "create existing",
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "plain"}),
    );
    d.firehose(
        "create encrypted kinesis",
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "c-bad", "DeliveryStreamType": "KinesisStreamAsSource",
               "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"}}),
    );
    d.firehose(
        "create with a disabled key",
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "c-bad2",
               "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key_arn("disabled")}}),
    );
    server.settle(&config);
    for n in [
        "c-minimal",
        "c-s3",
        "c-extended",
        "c-encrypted",
        "c-aws-encrypted",
        "c-kinesis",
        "c-msk",
        "c-http",
        "c-splunk",
        "c-redshift",
    ] {
        d.firehose(
            &format!("describe {n} active"),
            "DescribeDeliveryStream",
            name(n),
        );
    }
}

/// KMS: CreateKey in each form, DescribeKey of each key by id and ARN, Enable/Disable, ListKeys
/// paged, and each refusal.
fn keys(out: &mut Vec<Exchange>) {
    let server = Server::start(config(), world());
    let mut d = Driver::new(&server, out);
    let created = d.kms("create default", "CreateKey", json!({}));
    for (label, body) in [
        (
            "create described",
            json!({"Description": "made by the model test"}),
        ),
        (
            "create rsa",
            json!({"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"}),
        ),
        (
            "create rsa signing",
            json!({"KeySpec": "RSA_4096", "KeyUsage": "SIGN_VERIFY"}),
        ),
        (
            "create ecc",
            json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
        ),
        ("create hmac", json!({"KeySpec": "HMAC_512"})),
        (
            "create legacy spec",
            json!({"CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"}),
        ),
        (
            "create asymmetric without usage",
            json!({"KeySpec": "RSA_2048"}),
        ),
    ] {
        d.kms(label, "CreateKey", body);
    }
    let new_id = created["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap_or("none")
        .to_owned();
    for id in [
        "good", "disabled", "pending", "rsa", "rsa-enc", "hmac", "flaky", &new_id,
    ] {
        d.kms(
            &format!("describe {id}"),
            "DescribeKey",
            json!({"KeyId": id}),
        );
        d.kms(
            &format!("describe {id} by arn"),
            "DescribeKey",
            json!({"KeyId": key_arn(id)}),
        );
    }
    for (label, id) in [
        (
            "describe unknown",
            "00000000-0000-0000-0000-000000000000".to_owned(),
        ),
        ("describe unknown arn", key_arn("unknown")),
        ("describe alias", "alias/aws/firehose".to_owned()),
        (
            "describe other region",
            format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/good"),
        ),
        ("describe not an id", "not a key".to_owned()),
    ] {
        d.kms(label, "DescribeKey", json!({"KeyId": id}));
    }
    d.kms("disable", "DisableKey", json!({"KeyId": "good"}));
    d.kms("describe disabled", "DescribeKey", json!({"KeyId": "good"}));
    d.kms("enable", "EnableKey", json!({"KeyId": key_arn("good")}));
    d.kms("disable pending", "DisableKey", json!({"KeyId": "pending"}));
    d.kms("enable pending", "EnableKey", json!({"KeyId": "pending"}));
    d.kms("enable unknown", "EnableKey", json!({"KeyId": "unknown"}));
    let page = d.kms("list page", "ListKeys", json!({"Limit": 2}));
    let marker = page["NextMarker"].as_str().unwrap_or("x").to_owned();
    d.kms(
        "list next page",
        "ListKeys",
        json!({"Limit": 2, "Marker": marker}),
    );
    d.kms("list", "ListKeys", json!({}));
    d.kms("list max", "ListKeys", json!({"Limit": 1000}));
    d.region = "eu-west-1".to_owned();
    d.kms("list empty region", "ListKeys", json!({}));
}

/// The limits: the stream budget, the key limit, the throttle, and injected 500s.
fn limits(out: &mut Vec<Exchange>) {
    let config = SandboxConfig {
        latency: Duration::from_secs(1),
        tps: 1,
        stream_budget: 2,
        cmk_limit: 1,
        ..SandboxConfig::default()
    };
    let seed: Seed = serde_json::from_value(json!({
        "streams": [{"name": "a"}, {"name": "b"}],
        "keys": [{"id": "good"}]
    }))
    .unwrap();
    let server = Server::start(config.clone(), seed);
    let mut d = Driver::new(&server, out);
    let one_second = || server.clock.advance(1_000);
    d.firehose(
        "start a",
        "StartDeliveryStreamEncryption",
        start("a", Some("good")),
    );
    d.firehose("throttled", "DescribeDeliveryStream", name("a"));
    d.firehose(
        "throttled start",
        "StartDeliveryStreamEncryption",
        start("b", Some("good")),
    );
    one_second();
    d.firehose(
        "start b past the key limit",
        "StartDeliveryStreamEncryption",
        start("b", Some("good")),
    );
    server.settle(&config);
    d.firehose("stop a", "StopDeliveryStreamEncryption", name("a"));
    server.settle(&config);
    d.firehose(
        "start a past the budget",
        "StartDeliveryStreamEncryption",
        start("a", None),
    );
    one_second();
    d.firehose(
        "stop a past the budget",
        "StopDeliveryStreamEncryption",
        name("a"),
    );
    one_second();
    d.firehose("describe a", "DescribeDeliveryStream", name("a"));
    drop(d);
    drop(server);

    // Injected faults: HTTP 500 InternalFailure (dropped connections record nothing).
    let config = SandboxConfig {
        latency: Duration::from_secs(1),
        tps: 0,
        fault_rate: 1.0,
        seed: 3,
        ..SandboxConfig::default()
    };
    let server = Server::start(config, Seed::generated(1, REGION));
    let mut d = Driver::new(&server, out);
    for i in 0..3 {
        d.firehose(
            &format!("faulted describe {i}"),
            "DescribeDeliveryStream",
            name("stream-00000"),
        );
    }
}

/// Malformed requests of each kind for each operation: not JSON, not an object, members
/// missing, of the wrong type, too long or short, off their pattern, enum or range; unknown
/// and missing targets.
fn malformed(out: &mut Vec<Exchange>) {
    let server = Server::start(config(), world());
    let mut d = Driver::new(&server, out);
    let fh = |d: &mut Driver, label: &str, op: &str, body: &str| {
        d.raw_json(
            label,
            "firehose",
            Some(&format!("Firehose_20150804.{op}")),
            body,
        );
    };
    for op in [
        "CreateDeliveryStream",
        "DeleteDeliveryStream",
        "DescribeDeliveryStream",
        "ListDeliveryStreams",
        "StartDeliveryStreamEncryption",
        "StopDeliveryStreamEncryption",
    ] {
        fh(&mut d, &format!("{op} not json"), op, "{not json");
        fh(&mut d, &format!("{op} array"), op, "[1, 2]");
        fh(&mut d, &format!("{op} string"), op, "\"plain\"");
        fh(&mut d, &format!("{op} empty"), op, "{}");
        fh(&mut d, &format!("{op} empty body"), op, "");
        fh(
            &mut d,
            &format!("{op} name a number"),
            op,
            r#"{"DeliveryStreamName": 42}"#,
        );
        fh(
            &mut d,
            &format!("{op} name an object"),
            op,
            r#"{"DeliveryStreamName": {"a": 1}}"#,
        );
        fh(
            &mut d,
            &format!("{op} name empty"),
            op,
            r#"{"DeliveryStreamName": ""}"#,
        );
        let long = "x".repeat(65);
        fh(
            &mut d,
            &format!("{op} name too long"),
            op,
            &format!(r#"{{"DeliveryStreamName": "{long}"}}"#),
        );
        fh(
            &mut d,
            &format!("{op} name off pattern"),
            op,
            r#"{"DeliveryStreamName": "a b"}"#,
        );
        fh(
            &mut d,
            &format!("{op} name null"),
            op,
            r#"{"DeliveryStreamName": null}"#,
        );
    }
    let start = "StartDeliveryStreamEncryption";
    for (label, input) in [
        ("configuration a string", r#""AWS_OWNED_CMK""#),
        ("configuration an array", r#"["CUSTOMER_MANAGED_CMK"]"#),
        ("configuration empty", "{}"),
        ("key type a number", r#"{"KeyType": 1}"#),
        ("key type off enum", r#"{"KeyType": "aws_owned_cmk"}"#),
        (
            "customer key without arn",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK"}"#,
        ),
        (
            "aws key with arn",
            r#"{"KeyType": "AWS_OWNED_CMK", "KeyARN": "arn:aws:kms:us-east-1:123456789012:key/good"}"#,
        ),
        (
            "alias arn",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "arn:aws:kms:us-east-1:123456789012:alias/prod"}"#,
        ),
        (
            "not an arn",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "good"}"#,
        ),
        (
            "s3 arn",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "arn:aws:s3:::bucket"}"#,
        ),
        (
            "bad region arn",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "arn:aws:kms:nowhere:123456789012:key/good"}"#,
        ),
        (
            "arn key id with underscore",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "arn:aws:kms:us-east-1:123456789012:key/a_b"}"#,
        ),
        (
            "arn a number",
            r#"{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": 5}"#,
        ),
    ] {
        fh(
            &mut d,
            &format!("start {label}"),
            start,
            &format!(
                r#"{{"DeliveryStreamName": "plain", "DeliveryStreamEncryptionConfigurationInput": {input}}}"#
            ),
        );
    }
    fh(
        &mut d,
        "start two errors",
        start,
        r#"{"DeliveryStreamName": "a b", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "NONE"}}"#,
    );
    let list = "ListDeliveryStreams";
    for (label, body) in [
        ("limit 0", r#"{"Limit": 0}"#),
        ("limit negative", r#"{"Limit": -1}"#),
        ("limit too big", r#"{"Limit": 10001}"#),
        ("limit a string", r#"{"Limit": "10"}"#),
        ("limit a float", r#"{"Limit": 2.5}"#),
        ("type off enum", r#"{"DeliveryStreamType": "Firehose"}"#),
        ("type a number", r#"{"DeliveryStreamType": 3}"#),
        (
            "start name too long",
            &format!(
                r#"{{"ExclusiveStartDeliveryStreamName": "{}"}}"#,
                "y".repeat(65)
            ),
        ),
        (
            "start name an array",
            r#"{"ExclusiveStartDeliveryStreamName": ["a"]}"#,
        ),
    ] {
        fh(&mut d, &format!("list {label}"), list, body);
    }
    let describe = "DescribeDeliveryStream";
    fh(
        &mut d,
        "describe limit 0",
        describe,
        r#"{"DeliveryStreamName": "plain", "Limit": 0}"#,
    );
    fh(
        &mut d,
        "describe destination id empty",
        describe,
        r#"{"DeliveryStreamName": "plain", "ExclusiveStartDestinationId": ""}"#,
    );
    fh(
        &mut d,
        "describe limit a string",
        describe,
        r#"{"DeliveryStreamName": "plain", "Limit": "1"}"#,
    );
    fh(
        &mut d,
        "delete force a string",
        "DeleteDeliveryStream",
        r#"{"DeliveryStreamName": "plain", "AllowForceDelete": "yes"}"#,
    );
    let create = "CreateDeliveryStream";
    for (label, body) in [
        (
            "type off enum",
            r#"{"DeliveryStreamName": "m1", "DeliveryStreamType": "Firehose"}"#,
        ),
        (
            "s3 without bucket",
            r#"{"DeliveryStreamName": "m2", "S3DestinationConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/r"}}"#,
        ),
        (
            "s3 a string",
            r#"{"DeliveryStreamName": "m3", "S3DestinationConfiguration": "s3://b"}"#,
        ),
        (
            "s3 role off pattern",
            r#"{"DeliveryStreamName": "m4", "S3DestinationConfiguration": {"RoleARN": "role", "BucketARN": "arn:aws:s3:::b"}}"#,
        ),
        (
            "buffering out of range",
            r#"{"DeliveryStreamName": "m5", "ExtendedS3DestinationConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/r", "BucketARN": "arn:aws:s3:::b", "BufferingHints": {"SizeInMBs": 0, "IntervalInSeconds": 1000}}}"#,
        ),
        (
            "processor type off enum",
            r#"{"DeliveryStreamName": "m6", "ExtendedS3DestinationConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/r", "BucketARN": "arn:aws:s3:::b", "ProcessingConfiguration": {"Processors": [{"Type": "NotLambda"}]}}}"#,
        ),
        (
            "tags a map",
            r#"{"DeliveryStreamName": "m7", "Tags": {"team": "data"}}"#,
        ),
        (
            "tags empty list",
            r#"{"DeliveryStreamName": "m8", "Tags": []}"#,
        ),
        (
            "kinesis source without role",
            r#"{"DeliveryStreamName": "m9", "DeliveryStreamType": "KinesisStreamAsSource", "KinesisStreamSourceConfiguration": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}}"#,
        ),
        (
            "encryption without key type",
            r#"{"DeliveryStreamName": "m10", "DeliveryStreamEncryptionConfigurationInput": {}}"#,
        ),
    ] {
        fh(&mut d, &format!("create {label}"), create, body);
    }
    let km = |d: &mut Driver, label: &str, op: &str, body: &str| {
        d.raw_json(label, "kms", Some(&format!("TrentService.{op}")), body);
    };
    for op in ["DescribeKey", "EnableKey", "DisableKey"] {
        km(&mut d, &format!("{op} not json"), op, "{not json");
        km(&mut d, &format!("{op} empty"), op, "{}");
        km(
            &mut d,
            &format!("{op} key id a number"),
            op,
            r#"{"KeyId": 7}"#,
        );
        km(
            &mut d,
            &format!("{op} key id empty"),
            op,
            r#"{"KeyId": ""}"#,
        );
        km(
            &mut d,
            &format!("{op} key id too long"),
            op,
            &format!(r#"{{"KeyId": "{}"}}"#, "k".repeat(2049)),
        );
    }
    km(
        &mut d,
        "describe grant tokens a string",
        "DescribeKey",
        r#"{"KeyId": "good", "GrantTokens": "t"}"#,
    );
    for (label, body) in [
        ("spec off enum", r#"{"KeySpec": "AES_256"}"#),
        (
            "legacy spec off enum",
            r#"{"CustomerMasterKeySpec": "ML_DSA_44"}"#,
        ),
        ("usage off enum", r#"{"KeyUsage": "ENCRYPT"}"#),
        ("spec a number", r#"{"KeySpec": 1}"#),
        (
            "description too long",
            &format!(r#"{{"Description": "{}"}}"#, "d".repeat(8193)),
        ),
        ("multi region a string", r#"{"MultiRegion": "yes"}"#),
        ("tags a map", r#"{"Tags": {"a": "b"}}"#),
    ] {
        km(&mut d, &format!("create key {label}"), "CreateKey", body);
    }
    for (label, body) in [
        ("limit 0", r#"{"Limit": 0}"#),
        ("limit too big", r#"{"Limit": 1001}"#),
        ("limit a string", r#"{"Limit": "5"}"#),
        ("marker empty", r#"{"Marker": ""}"#),
        ("marker off pattern", r#"{"Marker": "ü"}"#),
    ] {
        km(&mut d, &format!("list keys {label}"), "ListKeys", body);
    }
    d.raw_json(
        "unknown firehose operation",
        "firehose",
        Some("Firehose_20150804.UpdateDestination"),
        "{}",
    );
    d.raw_json(
        "unknown kms operation",
        "kms",
        Some("TrentService.Encrypt"),
        "{}",
    );
    d.raw_json("no target", "firehose", None, "{}");
}

const OTHER_ACCOUNT: &str = "210987654321";

fn other_key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/{id}")
}

/// What a fleet file can seed since the sandbox follows AWS's documents: AWS-managed keys and
/// keys of another account, DescribeKey and Start errors, failures described in each place,
/// streams first seen mid-transition or after a failure, sources, grants retired late.
fn documented(out: &mut Vec<Exchange>) {
    let config = SandboxConfig {
        grant_retirement: Duration::from_secs(60),
        cmk_limit: 2,
        ..config()
    };
    let seed: Seed = serde_json::from_value(json!({
        "streams": [
            {"name": "enabling-failed", "encryption": {"key_arn": key_arn("good"), "status": "ENABLING_FAILED"}},
            {"name": "rekey-failed", "encryption": {"key_arn": key_arn("good"), "status": "ENABLING_FAILED", "in_force": "AWS_OWNED_CMK",
                "failure": {"type": "KMS_ACCESS_DENIED", "description": "stream"}}},
            {"name": "failed-undescribed", "encryption": {"key_type": "AWS_OWNED_CMK", "status": "ENABLING_FAILED",
                "failure": {"type": "UNKNOWN_ERROR", "description": "none"}}},
            {"name": "disabling", "encryption": {"key_arn": key_arn("good"), "status": "DISABLING"}},
            {"name": "disabling-failed", "encryption": {"key_arn": key_arn("good"), "status": "DISABLING_FAILED"}},
            {"name": "foreign-enc", "encryption": {"key_arn": other_key_arn("theirs")}},
            {"name": "kinesis-src", "type": "KinesisStreamAsSource", "source_arn": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders")},
            {"name": "msk-src", "type": "MSKAsSource", "source_arn": format!("arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/c/abc-1")},
            {"name": "s1"}, {"name": "s2"}, {"name": "s3"}, {"name": "s4"}, {"name": "s5"}, {"name": "s6"}, {"name": "s7"},
            {"name": "s8"}, {"name": "s9"}
        ],
        "keys": [
            {"id": "good"},
            {"id": "managed", "manager": "AWS", "description": "Default key for Firehose"},
            {"id": "theirs", "account": OTHER_ACCOUNT},
            {"id": "secret", "describe_error": "AccessDeniedException"},
            {"id": "broken", "describe_error": "KMSInternalException"},
            {"id": "denied", "start_error": {"code": "AccessDeniedException"}},
            {"id": "invalid-state", "start_error": {"code": "InvalidStateException", "times": 1}},
            {"id": "disabled-err", "start_error": {"code": "DisabledException"}},
            {"id": "gone", "start_error": {"code": "NotFoundException"}},
            {"id": "fails-in-stream", "failure": {"type": "KMS_KEY_NOT_FOUND", "description": "stream"}},
            {"id": "fails-silently", "failure": {"type": "DISABLED_KMS_KEY", "description": "none"}},
            {"id": "ecc", "spec": "ECC_NIST_P384", "usage": "SIGN_VERIFY"},
            {"id": "agree", "spec": "ECC_NIST_P256", "usage": "KEY_AGREEMENT"},
            {"id": "mldsa", "spec": "ML_DSA_65", "usage": "SIGN_VERIFY"},
            {"id": "sm2", "spec": "SM2", "usage": "ENCRYPT_DECRYPT"},
            {"id": "pending", "state": "PendingDeletion"},
            {"id": "st-import", "state": "PendingImport"},
            {"id": "st-replica", "state": "PendingReplicaDeletion"},
            {"id": "st-unavailable", "state": "Unavailable"},
            {"id": "st-creating", "state": "Creating"},
            {"id": "st-updating", "state": "Updating"},
            {"id": "small"}
        ]
    }))
    .unwrap();
    let server = Server::start(config.clone(), seed);
    let mut d = Driver::new(&server, out);
    let names = [
        "enabling-failed",
        "rekey-failed",
        "failed-undescribed",
        "disabling",
        "disabling-failed",
        "foreign-enc",
        "kinesis-src",
        "msk-src",
    ];
    describe_all(&mut d, "as seeded", &names);
    for id in [
        "managed",
        "theirs",
        "secret",
        "broken",
        "ecc",
        "agree",
        "mldsa",
        "sm2",
        "pending",
        "st-import",
        "st-replica",
        "st-unavailable",
        "st-creating",
        "st-updating",
    ] {
        d.kms(
            &format!("describe {id}"),
            "DescribeKey",
            json!({"KeyId": id}),
        );
    }
    d.kms(
        "describe theirs by arn",
        "DescribeKey",
        json!({"KeyId": other_key_arn("theirs")}),
    );
    d.kms(
        "describe secret by arn",
        "DescribeKey",
        json!({"KeyId": key_arn("secret")}),
    );
    d.kms(
        "describe an alias arn",
        "DescribeKey",
        json!({"KeyId": format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/x")}),
    );
    for (stream, key) in [
        ("s1", "denied"),
        ("s2", "invalid-state"),
        ("s3", "disabled-err"),
        ("s4", "gone"),
    ] {
        d.firehose(&format!("start refused {key}"), "StartDeliveryStreamEncryption", json!({
            "DeliveryStreamName": stream,
            "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key_arn(key)}
        }));
    }
    d.firehose(
        "start after the times",
        "StartDeliveryStreamEncryption",
        start("s2", Some("invalid-state")),
    );
    d.firehose("start with their key", "StartDeliveryStreamEncryption", json!({
        "DeliveryStreamName": "s5",
        "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": other_key_arn("theirs")}
    }));
    d.firehose(
        "start failing in stream",
        "StartDeliveryStreamEncryption",
        start("s6", Some("fails-in-stream")),
    );
    d.firehose(
        "start failing silently",
        "StartDeliveryStreamEncryption",
        start("s7", Some("fails-silently")),
    );
    d.firehose(
        "start from enabling failed",
        "StartDeliveryStreamEncryption",
        start("enabling-failed", None),
    );
    d.firehose(
        "stop disabling failed",
        "StopDeliveryStreamEncryption",
        name("disabling-failed"),
    );
    d.firehose(
        "start while seeded disabling",
        "StartDeliveryStreamEncryption",
        start("disabling", None),
    );
    d.firehose(
        "create with a refused key",
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "c1", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key_arn("denied")}}),
    );
    d.firehose(
        "create with a missing key",
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "c2", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key_arn("nope")}}),
    );
    describe_all(
        &mut d,
        "mid-transition",
        &[
            "s5",
            "s6",
            "s7",
            "enabling-failed",
            "disabling-failed",
            "disabling",
        ],
    );
    server.settle(&config);
    describe_all(
        &mut d,
        "settled",
        &[
            "s1",
            "s5",
            "s6",
            "s7",
            "enabling-failed",
            "disabling-failed",
            "disabling",
        ],
    );
    // The key limit with a grant still to be retired: s8 takes "small", rekeys away from it,
    // and the old grant keeps its slot for a minute.
    d.firehose(
        "start s8 small",
        "StartDeliveryStreamEncryption",
        start("s8", Some("small")),
    );
    d.firehose(
        "start s9 small",
        "StartDeliveryStreamEncryption",
        start("s9", Some("small")),
    );
    server.settle(&config);
    d.firehose(
        "rekey s8",
        "StartDeliveryStreamEncryption",
        start("s8", None),
    );
    server.settle(&config);
    d.firehose(
        "start s1 small, slot not free yet",
        "StartDeliveryStreamEncryption",
        start("s1", Some("small")),
    );
    server.clock.advance(60_000);
    d.firehose(
        "start s1 small, slot free",
        "StartDeliveryStreamEncryption",
        start("s1", Some("small")),
    );
    // STS.
    d.sts(
        "get caller identity",
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    d.sts(
        "assume role",
        "Action=AssumeRole&Version=2011-06-15&RoleArn=x",
    );
    d.sts("no action", "Version=2011-06-15");
    d.access_key = String::new();
    d.sts("unsigned", "Action=GetCallerIdentity&Version=2011-06-15");
}

/// Credentials that expire: every service refuses them once they have, others still work.
fn credentials(out: &mut Vec<Exchange>) {
    let seed: Seed = serde_json::from_value(json!({
        "streams": [{"name": "a"}],
        "credentials": [
            {"access_key": "ASIAEXPIRED", "expires_after": "0s"},
            {"access_key": "ASIALATER", "expires_after": "3s"}
        ]
    }))
    .unwrap();
    let server = Server::start(config(), seed);
    let mut d = Driver::new(&server, out);
    d.access_key = "ASIAEXPIRED".to_owned();
    d.token = Some("old-session-token".to_owned());
    d.firehose("expired describe", "DescribeDeliveryStream", name("a"));
    d.firehose(
        "expired start",
        "StartDeliveryStreamEncryption",
        start("a", None),
    );
    d.kms("expired kms", "ListKeys", json!({}));
    d.sts("expired sts", "Action=GetCallerIdentity&Version=2011-06-15");
    d.access_key = "ASIALATER".to_owned();
    d.firehose("not yet expired", "DescribeDeliveryStream", name("a"));
    server.clock.advance(3_000);
    d.firehose("expired later", "DescribeDeliveryStream", name("a"));
    d.access_key = "ASIAFRESH".to_owned();
    d.token = Some("new-session-token".to_owned());
    d.firehose(
        "fresh start",
        "StartDeliveryStreamEncryption",
        start("a", None),
    );
    d.sts("fresh sts", "Action=GetCallerIdentity&Version=2011-06-15");
}
