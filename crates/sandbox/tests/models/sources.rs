//! What a rollout reads beside Firehose: Kinesis's CreateStream, StartStreamEncryption and
//! DescribeStreamSummary through success, each refusal and bad input; Firehose's tags
//! (TagDeliveryStream, UntagDeliveryStream, ListTagsForDeliveryStream, CreateDeliveryStream's
//! Tags); the Tagging API's GetResources through filters, pages and each refusal; and the
//! refusal of every operation to a caller whose policies do not allow it.

use firehose_sse_sandbox::{SandboxConfig, Seed};
use serde_json::{Value, json};

use super::http::Exchange;
use super::{ACCOUNT, Driver, REGION, Server};

fn config() -> SandboxConfig {
    SandboxConfig {
        tps: 0,
        ..SandboxConfig::default()
    }
}

fn world() -> Seed {
    serde_json::from_value(json!({
        "streams": [
            {"name": "owned", "tags": {"aws:cloudformation:stack-name": "orders",
                                       "aws:cloudformation:logical-id": "OrdersStream", "team": "orders"}},
            {"name": "plain"},
            {"name": "raw", "type": "KinesisStreamAsSource",
             "source_arn": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders-raw")}
        ],
        "keys": [{"id": "good"}, {"id": "off", "state": "Disabled"}],
        "kinesis_streams": [{"name": "orders-raw"}, {"name": "clicks-raw", "key_id": "alias/aws/kinesis", "shards": 2}],
        "users": [{"name": "reader", "policies": {"p": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "firehose:DescribeDeliveryStream", "Resource": "*"}]}}}],
        "credentials": [{"access_key": "AKIDREADER", "expires_after": "10h", "user": "reader"}]
    }))
    .unwrap()
}

pub fn scenarios(out: &mut Vec<Exchange>) {
    let config = config();
    let server = Server::start(config.clone(), world());
    let mut d = Driver::new(&server, out);
    kinesis(&mut d, &config);
    tags(&mut d);
    get_resources(&mut d);
    refused(&mut d);
}

fn kinesis(d: &mut Driver, config: &SandboxConfig) {
    let key = |id: &str| format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}");
    for (label, body) in [
        (
            "describe a Kinesis stream by name",
            json!({"StreamName": "orders-raw"}),
        ),
        (
            "describe an encrypted Kinesis stream",
            json!({"StreamName": "clicks-raw"}),
        ),
        (
            "describe a Kinesis stream by ARN",
            json!({"StreamARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders-raw")}),
        ),
        (
            "describe a Kinesis stream by name and ARN",
            json!({"StreamName": "orders-raw", "StreamARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders-raw")}),
        ),
        (
            "describe a Kinesis stream that does not exist",
            json!({"StreamName": "gone"}),
        ),
        ("describe a Kinesis stream named by nothing", json!({})),
        (
            "describe another account's Kinesis stream",
            json!({"StreamARN": format!("arn:aws:kinesis:{REGION}:111111111111:stream/theirs")}),
        ),
        (
            "describe a Kinesis stream by a name and another's ARN",
            json!({"StreamName": "x", "StreamARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/y")}),
        ),
        (
            "describe a Kinesis stream with a malformed name",
            json!({"StreamName": "no spaces"}),
        ),
        (
            "describe a Kinesis stream with a malformed ARN",
            json!({"StreamARN": "arn:aws:s3:::bucket"}),
        ),
        (
            "describe a Kinesis stream with a name of the wrong type",
            json!({"StreamName": 7}),
        ),
    ] {
        d.kinesis(label, "DescribeStreamSummary", body);
    }
    for (label, body) in [
        (
            "create a provisioned Kinesis stream",
            json!({"StreamName": "new", "ShardCount": 1}),
        ),
        (
            "create an on-demand Kinesis stream",
            json!({"StreamName": "od", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
        ),
        (
            "create a Kinesis stream that exists",
            json!({"StreamName": "orders-raw"}),
        ),
        (
            "create a provisioned Kinesis stream without shards",
            json!({"StreamName": "p", "StreamModeDetails": {"StreamMode": "PROVISIONED"}}),
        ),
        (
            "create an on-demand Kinesis stream with shards",
            json!({"StreamName": "q", "ShardCount": 2, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
        ),
        (
            "create a Kinesis stream with no shards",
            json!({"StreamName": "z", "ShardCount": 0}),
        ),
        (
            "create a Kinesis stream with an unknown mode",
            json!({"StreamName": "m", "StreamModeDetails": {"StreamMode": "FAST"}}),
        ),
        (
            "create a Kinesis stream without a name",
            json!({"ShardCount": 1}),
        ),
    ] {
        d.kinesis(label, "CreateStream", body);
    }
    d.kinesis(
        "describe a Kinesis stream while CREATING",
        "DescribeStreamSummary",
        json!({"StreamName": "new"}),
    );
    d.kinesis(
        "encrypt a Kinesis stream while CREATING",
        "StartStreamEncryption",
        json!({"StreamName": "new", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
    );
    d.server.settle(config);
    for (label, body) in [
        (
            "encrypt a Kinesis stream with the AWS managed key",
            json!({"StreamName": "new", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
        ),
        (
            "encrypt a Kinesis stream with a customer key",
            json!({"StreamName": "od", "EncryptionType": "KMS", "KeyId": key("good")}),
        ),
        (
            "encrypt a Kinesis stream with a key that does not exist",
            json!({"StreamName": "orders-raw", "EncryptionType": "KMS", "KeyId": key("never")}),
        ),
        (
            "encrypt a Kinesis stream with a disabled key",
            json!({"StreamName": "orders-raw", "EncryptionType": "KMS", "KeyId": key("off")}),
        ),
        (
            "encrypt a Kinesis stream with EncryptionType NONE",
            json!({"StreamName": "orders-raw", "EncryptionType": "NONE", "KeyId": "alias/aws/kinesis"}),
        ),
        (
            "encrypt a Kinesis stream with an unknown EncryptionType",
            json!({"StreamName": "orders-raw", "EncryptionType": "AES", "KeyId": "alias/aws/kinesis"}),
        ),
        (
            "encrypt a Kinesis stream without a key",
            json!({"StreamName": "orders-raw", "EncryptionType": "KMS"}),
        ),
        (
            "encrypt a Kinesis stream that does not exist",
            json!({"StreamName": "gone", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
        ),
    ] {
        d.kinesis(label, "StartStreamEncryption", body);
    }
    d.kinesis(
        "describe a Kinesis stream while UPDATING",
        "DescribeStreamSummary",
        json!({"StreamName": "new"}),
    );
    d.server.settle(config);
    d.kinesis(
        "describe a Kinesis stream encrypted by a Start",
        "DescribeStreamSummary",
        json!({"StreamName": "od"}),
    );
}

fn tags(d: &mut Driver) {
    let tag = |k: &str, v: &str| json!({"Key": k, "Value": v});
    let many: Vec<Value> = (0..50).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    for (label, body) in [
        (
            "tag a stream",
            json!({"DeliveryStreamName": "plain", "Tags": [tag("team", "x"), tag("cost", "1")]}),
        ),
        (
            "tag a stream with a key without a value",
            json!({"DeliveryStreamName": "plain", "Tags": [{"Key": "bare"}]}),
        ),
        (
            "tag a stream with a key beginning aws:",
            json!({"DeliveryStreamName": "plain", "Tags": [tag("aws:cloudformation:stack-name", "s")]}),
        ),
        (
            "tag a stream with no tags",
            json!({"DeliveryStreamName": "plain", "Tags": []}),
        ),
        (
            "tag a stream that does not exist",
            json!({"DeliveryStreamName": "gone", "Tags": [tag("a", "b")]}),
        ),
        (
            "tag a stream past 50 tags",
            json!({"DeliveryStreamName": "plain", "Tags": many}),
        ),
        (
            "tag a stream with an over-long value",
            json!({"DeliveryStreamName": "plain", "Tags": [tag("a", &"v".repeat(257))]}),
        ),
    ] {
        d.firehose(label, "TagDeliveryStream", body);
    }
    for (label, body) in [
        (
            "list a stream's tags",
            json!({"DeliveryStreamName": "owned"}),
        ),
        (
            "list a stream's tags a page at a time",
            json!({"DeliveryStreamName": "owned", "Limit": 1}),
        ),
        (
            "list a stream's tags after a key",
            json!({"DeliveryStreamName": "owned", "ExclusiveStartTagKey": "aws:cloudformation:stack-name"}),
        ),
        (
            "list the tags of a stream that has none",
            json!({"DeliveryStreamName": "raw"}),
        ),
        (
            "list the tags of a stream that does not exist",
            json!({"DeliveryStreamName": "gone"}),
        ),
        (
            "list a stream's tags with a limit over 50",
            json!({"DeliveryStreamName": "owned", "Limit": 51}),
        ),
    ] {
        d.firehose(label, "ListTagsForDeliveryStream", body);
    }
    for (label, body) in [
        (
            "untag a stream",
            json!({"DeliveryStreamName": "plain", "TagKeys": ["cost", "not-there"]}),
        ),
        (
            "untag a stream that does not exist",
            json!({"DeliveryStreamName": "gone", "TagKeys": ["a"]}),
        ),
        (
            "untag a stream with no keys",
            json!({"DeliveryStreamName": "plain", "TagKeys": []}),
        ),
    ] {
        d.firehose(label, "UntagDeliveryStream", body);
    }
    d.firehose(
        "create a stream with tags",
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "tagged-new", "Tags": [tag("team", "new")]}),
    );
}

fn get_resources(d: &mut Driver) {
    let stack = "aws:cloudformation:stack-name";
    for (label, body) in [
        ("get every tagged resource", json!({})),
        (
            "get the streams of CloudFormation stacks",
            json!({"ResourceTypeFilters": ["firehose:deliverystream"], "TagFilters": [{"Key": stack}], "ResourcesPerPage": 100}),
        ),
        (
            "get the streams of one stack",
            json!({"TagFilters": [{"Key": stack, "Values": ["orders"]}]}),
        ),
        (
            "get the streams of another stack",
            json!({"TagFilters": [{"Key": stack, "Values": ["other"]}]}),
        ),
        (
            "get tagged Kinesis streams",
            json!({"ResourceTypeFilters": ["kinesis:stream"]}),
        ),
        (
            "get resources by ARN",
            json!({"ResourceARNList": [format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/plain")]}),
        ),
        (
            "get resources with compliance details",
            json!({"IncludeComplianceDetails": true}),
        ),
        (
            "get resources by ARN and by type",
            json!({"ResourceARNList": ["arn:aws:firehose:us-east-1:123456789012:deliverystream/plain"], "ResourceTypeFilters": ["firehose"]}),
        ),
        (
            "get resources of a malformed type",
            json!({"ResourceTypeFilters": ["Firehose Streams"]}),
        ),
        (
            "get resources with a tag filter without a key",
            json!({"TagFilters": [{"Values": ["x"]}]}),
        ),
        ("get resources 0 a page", json!({"ResourcesPerPage": 0})),
        ("get resources 101 a page", json!({"ResourcesPerPage": 101})),
        (
            "get resources with 99 tags a page",
            json!({"TagsPerPage": 99}),
        ),
        (
            "get resources excluding compliant ones without details",
            json!({"ExcludeCompliantResources": true}),
        ),
        (
            "get resources with a token the sandbox did not write",
            json!({"PaginationToken": "forged"}),
        ),
        (
            "get resources with 51 tag filters",
            json!({"TagFilters": (0..51).map(|i| json!({"Key": format!("k{i}")})).collect::<Vec<_>>()}),
        ),
        (
            "get resources with a filter of the wrong type",
            json!({"ResourceTypeFilters": "firehose"}),
        ),
    ] {
        d.tagging(label, "GetResources", body);
    }
    // Every page of the tagged streams, one at a time.
    let mut token: Option<String> = None;
    for page in 0..10 {
        let mut body = json!({"ResourceTypeFilters": ["firehose"], "ResourcesPerPage": 1});
        if let Some(t) = &token {
            body["PaginationToken"] = json!(t);
        }
        let out = d.tagging(
            &format!("get tagged streams, page {page}"),
            "GetResources",
            body,
        );
        match out["PaginationToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
}

/// A caller allowed only `firehose:DescribeDeliveryStream`: every other operation refused.
fn refused(d: &mut Driver) {
    d.access_key = "AKIDREADER".to_owned();
    d.firehose(
        "describe as a reader",
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": "plain"}),
    );
    d.firehose("list as a reader", "ListDeliveryStreams", json!({}));
    d.firehose(
        "start as a reader",
        "StartDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "plain"}),
    );
    d.firehose(
        "stop as a reader",
        "StopDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "plain"}),
    );
    d.firehose(
        "tag as a reader",
        "TagDeliveryStream",
        json!({"DeliveryStreamName": "plain", "Tags": [{"Key": "a", "Value": "b"}]}),
    );
    d.firehose(
        "list tags as a reader",
        "ListTagsForDeliveryStream",
        json!({"DeliveryStreamName": "plain"}),
    );
    d.kms(
        "describe a key as a reader",
        "DescribeKey",
        json!({"KeyId": format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/good")}),
    );
    d.kms(
        "get a key policy as a reader",
        "GetKeyPolicy",
        json!({"KeyId": "good"}),
    );
    d.kms("list keys as a reader", "ListKeys", json!({}));
    d.organizations("list accounts as a reader", "ListAccounts", json!({}));
    d.kinesis(
        "describe a Kinesis stream as a reader",
        "DescribeStreamSummary",
        json!({"StreamName": "orders-raw"}),
    );
    d.kinesis(
        "create a Kinesis stream as a reader",
        "CreateStream",
        json!({"StreamName": "r", "ShardCount": 1}),
    );
    d.kinesis(
        "encrypt a Kinesis stream as a reader",
        "StartStreamEncryption",
        json!({"StreamName": "orders-raw", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
    );
    d.tagging("get resources as a reader", "GetResources", json!({}));
    d.access_key = super::ACCESS_KEY.to_owned();
}
