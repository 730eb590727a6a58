//! Authorization of every served operation for a caller who is not an administrator, and the
//! operations a rollout's checks read: Kinesis's `CreateStream`, `StartStreamEncryption`,
//! `DescribeStreamSummary`, Firehose's tags and the Tagging API's `GetResources`.

use hyper::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::*;
use crate::seed::Seed;
use crate::world::SandboxConfig;

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
const A: &str = "123456789012";

fn world(seed: Value) -> World {
    let seed: Seed = serde_json::from_value(seed).unwrap();
    let config = SandboxConfig {
        latency: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    World::new(&config, &seed, T0).unwrap()
}

/// One JSON request signed with `access_key` at `now`: (`__type` or "ok", body or message).
fn call_as(
    world: &mut World,
    key: &str,
    target: &str,
    body: Value,
    now: Millis,
) -> (String, Value) {
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-target", HeaderValue::from_str(target).unwrap());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={key}/20270115/{R}/x/aws4_request, SignedHeaders=host, Signature=0"
    );
    headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    let call = Call::parse(&headers, "/", body.to_string().as_bytes(), R);
    let caller = world.caller(&call.access_key, now);
    match call.execute(world, &caller, now, "rid") {
        Ok(bytes) => ("ok".to_owned(), serde_json::from_slice(&bytes).unwrap()),
        Err(e) => (e.code.to_string(), json!(e.message)),
    }
}

fn call(world: &mut World, target: &str, body: Value) -> (String, Value) {
    call_as(world, "AKIDBASE", target, body, T0)
}

/// A world whose user `ops` may do only `actions` (on `*`), with the access key `AKIDOPS`.
fn limited(actions: &[&str]) -> World {
    world(json!({
        "streams": [{"name": "orders"}, {"name": "raw", "type": "KinesisStreamAsSource",
                      "source_arn": format!("arn:aws:kinesis:{R}:{A}:stream/orders-raw")}],
        "keys": [{"id": "k"}],
        "kinesis_streams": [{"name": "orders-raw"}],
        "users": [{"name": "ops", "policies": {"p": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]}}}],
        "credentials": [{"access_key": "AKIDOPS", "expires_after": "1h", "user": "ops"}],
    }))
}

/// Each operation the product calls, the action it needs, and a body.
fn operations() -> Vec<(&'static str, &'static str, Value)> {
    let key = format!("arn:aws:kms:{R}:{A}:key/k");
    vec![
        (
            "Firehose_20150804.ListDeliveryStreams",
            "firehose:ListDeliveryStreams",
            json!({}),
        ),
        (
            "Firehose_20150804.DescribeDeliveryStream",
            "firehose:DescribeDeliveryStream",
            json!({"DeliveryStreamName": "orders"}),
        ),
        (
            "Firehose_20150804.StopDeliveryStreamEncryption",
            "firehose:StopDeliveryStreamEncryption",
            json!({"DeliveryStreamName": "orders"}),
        ),
        (
            "TrentService.DescribeKey",
            "kms:DescribeKey",
            json!({"KeyId": key}),
        ),
        (
            "TrentService.GetKeyPolicy",
            "kms:GetKeyPolicy",
            json!({"KeyId": key}),
        ),
        (
            "AWSOrganizationsV20161128.ListAccounts",
            "organizations:ListAccounts",
            json!({}),
        ),
        (
            "Kinesis_20131202.DescribeStreamSummary",
            "kinesis:DescribeStreamSummary",
            json!({"StreamName": "orders-raw"}),
        ),
        (
            "ResourceGroupsTaggingAPI_20170126.GetResources",
            "tag:GetResources",
            json!({"ResourceTypeFilters": ["firehose:deliverystream"]}),
        ),
    ]
}

#[test]
fn each_operation_is_refused_without_its_action_and_names_it() {
    for (target, action, body) in operations() {
        let mut w = limited(&["sts:GetCallerIdentity"]);
        let (code, message) = call_as(&mut w, "AKIDOPS", target, body.clone(), T0);
        assert_eq!(code, "AccessDeniedException", "{target}: {message}");
        let message = message.as_str().unwrap();
        assert!(
            message.starts_with(&format!("User: arn:aws:iam::{A}:user/ops is not authorized to perform: {action} on resource: ")),
            "{message}"
        );
        assert!(
            message.ends_with(&format!(
                "because no identity-based policy allows the {action} action"
            )),
            "{message}"
        );
        // With the action allowed, the same call is not refused for it.
        let mut w = limited(&[action]);
        let (code, message) = call_as(&mut w, "AKIDOPS", target, body, T0);
        assert_ne!(code, "AccessDeniedException", "{target}: {message}");
    }
}

#[test]
fn the_base_user_is_an_administrator_and_is_never_refused() {
    let mut w = limited(&["sts:GetCallerIdentity"]);
    for (target, _, body) in operations() {
        let (code, message) = call(&mut w, target, body);
        assert_ne!(code, "AccessDeniedException", "{target}: {message}");
    }
}

#[test]
fn a_start_with_a_customer_key_needs_kms_create_grant_for_an_aws_resource() {
    let key = format!("arn:aws:kms:{R}:{A}:key/k");
    let start = json!({"DeliveryStreamName": "orders", "DeliveryStreamEncryptionConfigurationInput":
        {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key}});
    let target = "Firehose_20150804.StartDeliveryStreamEncryption";
    let mut w = limited(&["firehose:StartDeliveryStreamEncryption"]);
    let (code, message) = call_as(&mut w, "AKIDOPS", target, start.clone(), T0);
    assert_eq!(code, "InvalidKMSResourceException", "{message}");
    assert!(
        message.as_str().unwrap().contains("kms:CreateGrant"),
        "{message}"
    );
    assert_eq!(
        w.stream(A, R, "orders").unwrap().enc_status,
        crate::vocabulary::EncStatus::Disabled
    );
    // Allowed only for grants an AWS service asks for: a Start is one.
    let mut w = world(json!({
        "streams": [{"name": "orders"}], "keys": [{"id": "k"}],
        "users": [{"name": "ops", "policies": {"p": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "firehose:StartDeliveryStreamEncryption", "Resource": "*"},
            {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]}}}],
        "credentials": [{"access_key": "AKIDOPS", "expires_after": "1h", "user": "ops"}],
    }));
    let (code, message) = call_as(&mut w, "AKIDOPS", target, start.clone(), T0);
    assert_eq!(code, "ok", "{message}");
    // An AWS owned key needs no grant.
    let mut w = limited(&["firehose:StartDeliveryStreamEncryption"]);
    let owned = json!({"DeliveryStreamName": "orders", "DeliveryStreamEncryptionConfigurationInput":
        {"KeyType": "AWS_OWNED_CMK"}});
    assert_eq!(call_as(&mut w, "AKIDOPS", target, owned, T0).0, "ok");
}

#[test]
fn kinesis_streams_are_created_encrypted_and_described() {
    let mut w = limited(&["sts:GetCallerIdentity"]);
    let describe = "Kinesis_20131202.DescribeStreamSummary";
    let (code, out) = call(&mut w, describe, json!({"StreamName": "orders-raw"}));
    assert_eq!(code, "ok");
    let s = &out["StreamDescriptionSummary"];
    assert_eq!(
        (s["EncryptionType"].as_str(), s["StreamStatus"].as_str()),
        (Some("NONE"), Some("ACTIVE"))
    );
    assert!(s.get("KeyId").is_none());
    // Created: CREATING, then ACTIVE after the latency; encrypting before is refused.
    let (code, _) = call(
        &mut w,
        "Kinesis_20131202.CreateStream",
        json!({"StreamName": "clicks", "ShardCount": 2}),
    );
    assert_eq!(code, "ok");
    let (code, _) = call(
        &mut w,
        "Kinesis_20131202.CreateStream",
        json!({"StreamName": "clicks"}),
    );
    assert_eq!(code, "ResourceInUseException");
    let encrypt = |w: &mut World, key: &str, now| {
        call_as(
            w,
            "AKIDBASE",
            "Kinesis_20131202.StartStreamEncryption",
            json!({"StreamName": "clicks", "EncryptionType": "KMS", "KeyId": key}),
            now,
        )
    };
    assert_eq!(
        encrypt(&mut w, "alias/aws/kinesis", T0).0,
        "ResourceInUseException"
    );
    let later = T0 + 60_000;
    let (code, out) = call_as(
        &mut w,
        "AKIDBASE",
        describe,
        json!({"StreamName": "clicks"}),
        later,
    );
    assert_eq!(
        (
            code.as_str(),
            out["StreamDescriptionSummary"]["OpenShardCount"].as_u64()
        ),
        ("ok", Some(2))
    );
    assert_eq!(
        encrypt(&mut w, "no-such-key", later).0,
        "KMSNotFoundException"
    );
    let key = format!("arn:aws:kms:{R}:{A}:key/k");
    assert_eq!(encrypt(&mut w, &key, later).0, "ok");
    let (_, out) = call_as(
        &mut w,
        "AKIDBASE",
        describe,
        json!({"StreamName": "clicks"}),
        later,
    );
    assert_eq!(out["StreamDescriptionSummary"]["StreamStatus"], "UPDATING");
    let (_, out) = call_as(
        &mut w,
        "AKIDBASE",
        describe,
        json!({"StreamName": "clicks"}),
        later + 60_000,
    );
    let s = &out["StreamDescriptionSummary"];
    assert_eq!(
        (
            s["StreamStatus"].as_str(),
            s["EncryptionType"].as_str(),
            s["KeyId"].as_str()
        ),
        (Some("ACTIVE"), Some("KMS"), Some(key.as_str()))
    );
    // Named by ARN; another account's stream is not the caller's to read.
    let arn = format!("arn:aws:kinesis:{R}:{A}:stream/clicks");
    assert_eq!(call(&mut w, describe, json!({"StreamARN": arn})).0, "ok");
    let theirs = format!("arn:aws:kinesis:{R}:111111111111:stream/clicks");
    assert_eq!(
        call(&mut w, describe, json!({"StreamARN": theirs})).0,
        "AccessDeniedException"
    );
    assert_eq!(
        call(&mut w, describe, json!({"StreamName": "gone"})).0,
        "ResourceNotFoundException"
    );
    assert_eq!(
        call(&mut w, describe, json!({})).0,
        "InvalidArgumentException"
    );
}

#[test]
fn tags_are_set_listed_and_found_by_get_resources_in_pages() {
    let mut w = world(json!({"streams": [
        {"name": "a", "tags": {"aws:cloudformation:stack-name": "orders", "team": "x"}},
        {"name": "b"}, {"name": "c"}]}));
    let tag = "Firehose_20150804.TagDeliveryStream";
    assert_eq!(
        call(
            &mut w,
            tag,
            json!({"DeliveryStreamName": "b", "Tags": [{"Key": "team", "Value": "y"}]})
        )
        .0,
        "ok"
    );
    // The model refuses keys beginning aws: in requests.
    let (code, _) = call(
        &mut w,
        tag,
        json!({"DeliveryStreamName": "c", "Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "s"}]}),
    );
    assert_eq!(code, "ValidationException");
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": ""}))
        .collect();
    assert_eq!(
        call(
            &mut w,
            tag,
            json!({"DeliveryStreamName": "c", "Tags": many[..50].to_vec()})
        )
        .0,
        "ok"
    );
    assert_eq!(
        call(
            &mut w,
            tag,
            json!({"DeliveryStreamName": "c", "Tags": [many[50].clone()]})
        )
        .0,
        "LimitExceededException"
    );
    let (code, out) = call(
        &mut w,
        "Firehose_20150804.ListTagsForDeliveryStream",
        json!({"DeliveryStreamName": "a", "Limit": 1}),
    );
    assert_eq!(code, "ok");
    assert_eq!(
        out,
        // The aws: tags CloudFormation set are the Tagging API's to report, not Firehose's.
        json!({"Tags": [{"Key": "team", "Value": "x"}], "HasMoreTags": false})
    );
    // GetResources: the stack's stream by its tag; every tagged stream a page at a time.
    let get = "ResourceGroupsTaggingAPI_20170126.GetResources";
    let (code, out) = call(
        &mut w,
        get,
        json!({"ResourceTypeFilters": ["firehose:deliverystream"],
        "TagFilters": [{"Key": "aws:cloudformation:stack-name"}]}),
    );
    assert_eq!(code, "ok");
    let list = out["ResourceTagMappingList"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["ResourceARN"],
        format!("arn:aws:firehose:{R}:{A}:deliverystream/a")
    );
    assert_eq!(out["PaginationToken"], "");
    let mut seen = Vec::new();
    let mut token = None::<String>;
    loop {
        let mut body = json!({"ResourcesPerPage": 1, "ResourceTypeFilters": ["firehose"]});
        if let Some(t) = &token {
            body["PaginationToken"] = json!(t);
        }
        let (code, out) = call(&mut w, get, body);
        assert_eq!(code, "ok", "{out}");
        seen.extend(
            out["ResourceTagMappingList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["ResourceARN"].as_str().unwrap().to_owned()),
        );
        match out["PaginationToken"].as_str().unwrap() {
            "" => break,
            t => token = Some(t.to_owned()),
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        call(&mut w, get, json!({"PaginationToken": "forged"})).0,
        "InvalidParameterException"
    );
    assert_eq!(
        call(&mut w, get, json!({"ResourcesPerPage": 101})).0,
        "InvalidParameterException"
    );
    assert_eq!(
        call(
            &mut w,
            get,
            json!({"ResourceTypeFilters": ["kinesis:stream"]})
        )
        .1["ResourceTagMappingList"],
        json!([])
    );
    // Untagged: still listed, as once tagged, with no tags.
    assert_eq!(
        call(
            &mut w,
            "Firehose_20150804.UntagDeliveryStream",
            json!({"DeliveryStreamName": "b", "TagKeys": ["team", "nope"]})
        )
        .0,
        "ok"
    );
    let (_, out) = call(
        &mut w,
        get,
        json!({"ResourceARNList": [format!("arn:aws:firehose:{R}:{A}:deliverystream/b")]}),
    );
    assert_eq!(out["ResourceTagMappingList"][0]["Tags"], json!([]));
    // Created with tags.
    let (code, _) = call(
        &mut w,
        "Firehose_20150804.CreateDeliveryStream",
        json!({"DeliveryStreamName": "d", "Tags": [{"Key": "team", "Value": "z"}]}),
    );
    assert_eq!(code, "ok");
    let (_, out) = call(
        &mut w,
        get,
        json!({"TagFilters": [{"Key": "team", "Values": ["z"]}]}),
    );
    assert_eq!(out["ResourceTagMappingList"].as_array().unwrap().len(), 1);
}
