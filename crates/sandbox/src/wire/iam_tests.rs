//! The wire of IAM, of KMS key policies and of Firehose's puts: IAM and STS told apart on one
//! endpoint, IAM's XML (policy documents percent-encoded, the simulator's shape), its errors
//! and throttling, and the JSON of PutRecord, PutRecordBatch, GetKeyPolicy and PutKeyPolicy.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::*;
use crate::seed::Seed;
use crate::vocabulary::ApiError;
use crate::world::{Admission, SandboxConfig};

const T0: Millis = 1_800_000_000_000;
const REGION: &str = "us-east-1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

fn world(seed: Value) -> World {
    let seed: Seed = serde_json::from_value(seed).unwrap();
    World::new(&SandboxConfig::default(), &seed, T0).unwrap()
}

fn signed(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDBASE/20270115/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// One request to `world` as the server runs it.
fn send(
    world: &mut World,
    headers: &[(&str, &str)],
    body: &str,
) -> (Call, Result<String, ApiError>) {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let call = Call::parse(&map, "/", body.as_bytes(), REGION);
    let caller = world.caller(&call.access_key, T0);
    let result = call
        .execute(world, &caller, T0, "rid")
        .map(|b| String::from_utf8(b).unwrap());
    (call, result)
}

/// An IAM form signed for `iam`.
fn iam(world: &mut World, form: &str) -> Result<String, ApiError> {
    let auth = signed("iam");
    send(
        world,
        &[("content-type", FORM), ("authorization", &auth)],
        form,
    )
    .1
}

/// `%`-encodes a form value.
fn enc(text: &str) -> String {
    super::xml::url_encode(text)
}

#[test]
fn iam_and_sts_share_the_endpoint_and_are_told_apart() {
    let mut w = world(json!({}));
    let sts = signed("sts");
    let iam_scope = signed("iam");
    for (auth, body, protocol, op) in [
        (
            &iam_scope,
            "Action=GetAccountAuthorizationDetails&Version=2010-05-08",
            QueryService::Iam,
            "GetAccountAuthorizationDetails",
        ),
        // The version decides, whatever the scope says.
        (
            &sts,
            "Action=GetAccountAuthorizationDetails&Version=2010-05-08",
            QueryService::Iam,
            "GetAccountAuthorizationDetails",
        ),
        (
            &iam_scope,
            "Action=GetCallerIdentity&Version=2011-06-15",
            QueryService::Sts,
            "GetCallerIdentity",
        ),
        // Without a version, the scope's service does.
        (
            &iam_scope,
            "Action=CreateUser&UserName=u",
            QueryService::Iam,
            "CreateUser",
        ),
        (
            &sts,
            "Action=GetCallerIdentity",
            QueryService::Sts,
            "GetCallerIdentity",
        ),
    ] {
        let (call, result) = send(
            &mut w,
            &[("content-type", FORM), ("authorization", auth)],
            body,
        );
        assert_eq!(
            (call.protocol, call.op_name()),
            (Protocol::Query(protocol), op),
            "{body}"
        );
        assert!(result.is_ok(), "{body}: {result:?}");
        assert!(!call.is_faultable());
    }
    let (call, _) = send(
        &mut w,
        &[("content-type", FORM), ("authorization", &iam_scope)],
        "Action=CreateUser&UserName=v",
    );
    assert_eq!(call.quota(), Quota::Iam);
    // IAM's own words for an action it does not have, and for a form its model refuses.
    let err = iam(&mut w, "Action=GetRole&Version=2010-05-08&RoleName=r").unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.message.as_str()),
        (
            "InvalidAction",
            "Could not find operation GetRole for version 2010-05-08"
        )
    );
    let err = iam(
        &mut w,
        "Action=CreateUser&Version=2010-05-08&UserName=a%20b",
    )
    .unwrap_err();
    assert_eq!(err.code, "ValidationError");
    assert!(err.message.contains("at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern"), "{}", err.message);
    let err = iam(
        &mut w,
        "Action=GetAccountAuthorizationDetails&Version=2010-05-08&MaxItems=many",
    )
    .unwrap_err();
    assert_eq!(err.code, "MalformedInput");
    // Unsigned: no IAM either.
    let (_, result) = send(
        &mut w,
        &[("content-type", FORM)],
        "Action=CreateUser&Version=2010-05-08&UserName=x",
    );
    assert_eq!(result.unwrap_err().code, "MissingAuthenticationToken");
}

#[test]
fn created_entities_answer_in_iams_xml_with_documents_percent_encoded() {
    let mut w = world(json!({}));
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "events.amazonaws.com", "AWS": "arn:aws:iam::123456789012:root"}}]}"#;
    let body = iam(
        &mut w,
        &format!("Action=CreateRole&Version=2010-05-08&RoleName=orders-events&Path=%2Fservice-role%2F&AssumeRolePolicyDocument={}", enc(trust)),
    )
    .unwrap();
    assert!(body.starts_with("<CreateRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateRoleResult><Role><Path>/service-role/</Path><RoleName>orders-events</RoleName><RoleId>AROA"), "{body}");
    assert!(body.contains("<Arn>arn:aws:iam::123456789012:role/service-role/orders-events</Arn><CreateDate>2027-01-15T08:00:00Z</CreateDate>"), "{body}");
    assert!(
        body.contains(&format!(
            "<AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument>",
            enc(trust)
        )),
        "{body}"
    );
    assert!(
        body.contains("%7B%22Version%22%3A%20%222012-10-17%22"),
        "{body}"
    );
    assert!(
        body.ends_with(
            "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></CreateRoleResponse>"
        ),
        "{body}"
    );
    let policy = r#"{"Statement": {"Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": "*"}}"#;
    let body = iam(&mut w, &format!("Action=PutRolePolicy&Version=2010-05-08&RoleName=orders-events&PolicyName=put&PolicyDocument={}", enc(policy))).unwrap();
    assert_eq!(
        body,
        "<PutRolePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></PutRolePolicyResponse>"
    );
    let body = iam(&mut w, &format!("Action=CreatePolicy&Version=2010-05-08&PolicyName=kms-use&Description=d&PolicyDocument={}", enc(policy))).unwrap();
    assert!(
        body.contains("<Policy><PolicyName>kms-use</PolicyName><PolicyId>ANPA"),
        "{body}"
    );
    assert!(
        body.contains(
            "<DefaultVersionId>v1</DefaultVersionId><AttachmentCount>0</AttachmentCount>"
        ),
        "{body}"
    );
    iam(&mut w, "Action=AttachRolePolicy&Version=2010-05-08&RoleName=orders-events&PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fkms-use").unwrap();
    let body = iam(&mut w, "Action=GetAccountAuthorizationDetails&Version=2010-05-08&Filter.member.1=Role&Filter.member.2=LocalManagedPolicy").unwrap();
    assert!(body.contains("<UserDetailList></UserDetailList><GroupDetailList></GroupDetailList><RoleDetailList><member><Path>/service-role/</Path>"), "{body}");
    assert!(body.contains(&format!("<RolePolicyList><member><PolicyName>put</PolicyName><PolicyDocument>{}</PolicyDocument></member></RolePolicyList>", enc(policy))), "{body}");
    assert!(body.contains("<AttachedManagedPolicies><member><PolicyName>kms-use</PolicyName><PolicyArn>arn:aws:iam::123456789012:policy/kms-use</PolicyArn></member></AttachedManagedPolicies>"), "{body}");
    assert!(
        body.contains("<AttachmentCount>1</AttachmentCount>"),
        "{body}"
    );
    assert!(body.contains(&format!("<PolicyVersionList><member><Document>{}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion>", enc(policy))), "{body}");
    assert!(body.ends_with("<IsTruncated>false</IsTruncated></GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>"), "{body}");
    // IAM's errors, with their HTTP statuses.
    let err = iam(
        &mut w,
        "Action=PutRolePolicy&Version=2010-05-08&RoleName=ghost&PolicyName=p&PolicyDocument=%7B%7D",
    )
    .unwrap_err();
    assert_eq!((err.code.as_ref(), err.status()), ("NoSuchEntity", 404));
    let err = iam(&mut w, &format!("Action=CreateRole&Version=2010-05-08&RoleName=orders-events&AssumeRolePolicyDocument={}", enc(trust))).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status()),
        ("EntityAlreadyExists", 409)
    );
    let err = iam(
        &mut w,
        "Action=CreateRole&Version=2010-05-08&RoleName=x&AssumeRolePolicyDocument=%7B",
    )
    .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status(), err.message.as_str()),
        (
            "MalformedPolicyDocument",
            400,
            "This policy contains invalid Json"
        )
    );
    let body = String::from_utf8(super::xml::error_body(iam::NAMESPACE, &err, "rid")).unwrap();
    assert!(body.starts_with("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>MalformedPolicyDocument</Code>"), "{body}");
}

#[test]
fn the_simulator_answers_one_result_per_action_with_resource_results() {
    let mut w = world(json!({
        "users": [{"name": "producer", "policies": {"p": {"Statement": [
            {"Effect": "Allow", "Action": "firehose:PutRecord", "Resource": "*"},
            {"Effect": "Deny", "Action": "firehose:PutRecord", "Resource": "arn:aws:firehose:us-east-1:123456789012:deliverystream/secret"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringLike": {"kms:ViaService": "firehose.*.amazonaws.com"}}}]}}}]
    }));
    let form = "Action=SimulatePrincipalPolicy&Version=2010-05-08\
        &PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fproducer\
        &ActionNames.member.1=firehose%3APutRecord&ActionNames.member.2=kms%3ADecrypt\
        &ResourceArns.member.1=arn%3Aaws%3Afirehose%3Aus-east-1%3A123456789012%3Adeliverystream%2Forders\
        &ResourceArns.member.2=arn%3Aaws%3Afirehose%3Aus-east-1%3A123456789012%3Adeliverystream%2Fsecret";
    let body = iam(&mut w, form).unwrap();
    assert_eq!(body.matches("<EvalActionName>").count(), 2, "{body}");
    assert!(body.contains(
        "<member><EvalActionName>firehose:PutRecord</EvalActionName>\
         <EvalResourceName>arn:aws:firehose:us-east-1:123456789012:deliverystream/orders</EvalResourceName>\
         <EvalDecision>explicitDeny</EvalDecision><MatchedStatements><member><SourcePolicyId>p</SourcePolicyId>\
         <SourcePolicyType>user</SourcePolicyType></member></MatchedStatements><MissingContextValues></MissingContextValues>\
         <ResourceSpecificResults><member><EvalResourceName>arn:aws:firehose:us-east-1:123456789012:deliverystream/orders</EvalResourceName>\
         <EvalResourceDecision>allowed</EvalResourceDecision>"
    ), "{body}");
    assert!(
        body.contains("<EvalResourceDecision>explicitDeny</EvalResourceDecision>"),
        "{body}"
    );
    assert!(body.contains("<EvalDecision>implicitDeny</EvalDecision><MatchedStatements></MatchedStatements><MissingContextValues><member>kms:ViaService</member></MissingContextValues>"), "{body}");
    let with_context = format!(
        "{form}&ContextEntries.member.1.ContextKeyName=kms%3AViaService&ContextEntries.member.1.ContextKeyValues.member.1=firehose.us-east-1.amazonaws.com&ContextEntries.member.1.ContextKeyType=string"
    );
    let body = iam(&mut w, &with_context).unwrap();
    assert!(body.contains("<EvalActionName>kms:Decrypt</EvalActionName><EvalResourceName>arn:aws:firehose:us-east-1:123456789012:deliverystream/orders</EvalResourceName><EvalDecision>allowed</EvalDecision>"), "{body}");
    let paged = iam(&mut w, &format!("{form}&MaxItems=1")).unwrap();
    assert!(
        paged.contains("<IsTruncated>true</IsTruncated><Marker>"),
        "{paged}"
    );
    let err = iam(&mut w, "Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fnone&ActionNames.member.1=a%3Ab").unwrap_err();
    assert_eq!((err.code.as_ref(), err.status()), ("NoSuchEntity", 404));
}

#[test]
fn iam_throttling_is_per_account_and_answered_in_the_query_protocol() {
    let mut w = world(json!({"iam_tps": 2}));
    let base = w.caller("", T0);
    let admit = |w: &mut World, quota, at| w.admit("CreateUser", &base, REGION, quota, false, at);
    assert_eq!(admit(&mut w, Quota::Iam, T0), Admission::Proceed);
    assert_eq!(admit(&mut w, Quota::Iam, T0), Admission::Proceed);
    assert_eq!(admit(&mut w, Quota::Iam, T0), Admission::Throttled);
    // Other IAM operations share the bucket; other services do not.
    assert_eq!(
        w.admit(
            "SimulatePrincipalPolicy",
            &base,
            REGION,
            Quota::Iam,
            false,
            T0
        ),
        Admission::Throttled
    );
    assert_eq!(admit(&mut w, Quota::Free, T0), Admission::Proceed);
    assert_eq!(admit(&mut w, Quota::Iam, T0 + 500), Admission::Proceed);
    assert_eq!(w.stats(T0).limits.iam_tps, 2);
    let err = answer::throttled(Protocol::Query(QueryService::Iam));
    assert_eq!(
        (err.code.as_ref(), err.status(), err.message.as_str()),
        ("Throttling", 400, "Rate exceeded")
    );
    assert_eq!(
        answer::throttled(Protocol::Json).code,
        "ThrottlingException"
    );
    // Unlimited by default.
    let mut free = world(json!({}));
    assert!((0..100).all(
        |_| free.admit("CreateUser", &base, REGION, Quota::Iam, false, T0) == Admission::Proceed
    ));
}

fn json_call(world: &mut World, target: &str, body: Value) -> Result<Value, ApiError> {
    let auth = signed("firehose");
    let (_, result) = send(
        world,
        &[("x-amz-target", target), ("authorization", &auth)],
        &body.to_string(),
    );
    result.map(|b| serde_json::from_str(&b).unwrap())
}

#[test]
fn puts_and_key_policies_speak_json() {
    let mut w = world(json!({
        "streams": [{"name": "orders", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k"}}],
        "keys": [{"id": "k"}]
    }));
    let out = json_call(
        &mut w,
        "Firehose_20150804.PutRecord",
        json!({"DeliveryStreamName": "orders", "Record": {"Data": "aGVsbG8="}}),
    )
    .unwrap();
    assert_eq!(out["Encrypted"], true);
    assert_eq!(out["RecordId"].as_str().unwrap().len(), 56);
    let out = json_call(
        &mut w,
        "Firehose_20150804.PutRecordBatch",
        json!({"DeliveryStreamName": "orders", "Records": [{"Data": ""}, {"Data": "eA=="}]}),
    )
    .unwrap();
    assert_eq!(out["FailedPutCount"], 0);
    assert_eq!(out["RequestResponses"].as_array().unwrap().len(), 2);
    // The model measures a blob decoded, and refuses text that is not base64.
    let big = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        vec![0u8; 1_024_001],
    );
    let err = json_call(
        &mut w,
        "Firehose_20150804.PutRecord",
        json!({"DeliveryStreamName": "orders", "Record": {"Data": big}}),
    )
    .unwrap_err();
    assert_eq!(err.code, "ValidationException");
    assert_eq!(
        err.message,
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000"
    );
    let err = json_call(
        &mut w,
        "Firehose_20150804.PutRecord",
        json!({"DeliveryStreamName": "orders", "Record": {"Data": "not base64!"}}),
    )
    .unwrap_err();
    assert_eq!(err.code, "SerializationException");
    let err = json_call(
        &mut w,
        "Firehose_20150804.PutRecordBatch",
        json!({"DeliveryStreamName": "orders", "Records": []}),
    )
    .unwrap_err();
    assert_eq!(err.code, "ValidationException");
    let truth = w.stats(T0);
    let s = truth.stream(REGION, "orders").unwrap();
    assert_eq!(
        (s.requests["PutRecord"], s.requests["PutRecordBatch"]),
        (1, 1)
    );
    assert_eq!(s.records.as_ref().unwrap().accepted, 3);
    // Key policies.
    let out = json_call(&mut w, "TrentService.GetKeyPolicy", json!({"KeyId": "k"})).unwrap();
    assert_eq!(out["PolicyName"], "default");
    assert!(
        out["Policy"]
            .as_str()
            .unwrap()
            .contains("\"Sid\" : \"Enable IAM User Permissions\"")
    );
    let policy = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"}}).to_string();
    let out = json_call(
        &mut w,
        "TrentService.PutKeyPolicy",
        json!({"KeyId": "k", "Policy": policy}),
    )
    .unwrap();
    assert_eq!(out, json!({}));
    let out = json_call(
        &mut w,
        "TrentService.GetKeyPolicy",
        json!({"KeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "PolicyName": "default"}),
    )
    .unwrap();
    assert_eq!(out["Policy"], policy);
    let err = json_call(
        &mut w,
        "TrentService.PutKeyPolicy",
        json!({"KeyId": "k", "Policy": "{"}),
    )
    .unwrap_err();
    assert_eq!(err.code, "MalformedPolicyDocumentException");
}
