//! PutRecord and PutRecordBatch: who may put to a stream on each kind of key (IAM on both
//! sides of a customer key: identity policies and key policy), the stream's refusals, key
//! policies (default, seeded, replaced, the lockout check), and the counts each stream keeps.

use std::time::Duration;

use serde_json::{Value, json};

use super::iam::Actor;
use super::*;
use crate::seed::Seed;
use crate::vocabulary::codes::{
    ACCESS_DENIED, INVALID_ARGUMENT, INVALID_KMS_RESOURCE, KMS_MALFORMED_POLICY_DOCUMENT,
    RESOURCE_NOT_FOUND,
};

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
const A: &str = "123456789012";

fn key(id: &str) -> String {
    format!("arn:aws:kms:{R}:{A}:key/{id}")
}

/// Streams on each kind of key and producers of each kind: `app` may put everywhere without
/// KMS permissions, `app-kms` with them, `named` is named by the `by-name` key's policy,
/// `denied-by-key` is denied by the `deny` key's policy.
fn world() -> World {
    let put_all =
        json!({"Statement": {"Effect": "Allow", "Action": "firehose:PutRecord*", "Resource": "*"}});
    let kms_all = json!({"Statement": {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}});
    let seed: Seed = serde_json::from_value(json!({
        "streams": [
            {"name": "plain"},
            {"name": "aws-owned", "encryption": {"key_type": "AWS_OWNED_CMK"}},
            {"name": "cmk", "encryption": {"key_arn": key("default")}},
            {"name": "cmk-by-name", "encryption": {"key_arn": key("by-name")}},
            {"name": "cmk-deny", "encryption": {"key_arn": key("deny")}},
            {"name": "cmk-disabled", "encryption": {"key_arn": key("off")}},
            {"name": "kinesis", "type": "KinesisStreamAsSource"},
            {"name": "creating", "status": "CREATING"}
        ],
        "keys": [
            {"id": "default"},
            {"id": "by-name", "policy": {"Statement": [
                {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:role/named")},
                 "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}]}},
            {"id": "deny", "policy": {"Statement": [
                {"Effect": "Allow", "Principal": {"AWS": A}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::{A}:role/denied-by-key")},
                 "Action": "kms:Decrypt", "Resource": "*"}]}},
            {"id": "off", "state": "Disabled"}
        ],
        "roles": [
            {"name": "app", "trust": trust(), "policies": {"put": put_all}},
            {"name": "app-kms", "trust": trust(), "policies": {"put": put_all, "kms": kms_all}},
            {"name": "named", "trust": trust(), "policies": {"put": put_all}},
            {"name": "denied-by-key", "trust": trust(), "policies": {"put": put_all, "kms": kms_all}},
            {"name": "nothing", "trust": trust()}
        ]
    }))
    .unwrap();
    let config = SandboxConfig {
        latency: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    World::new(&config, &seed, T0).unwrap()
}

fn trust() -> Value {
    json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": format!("arn:aws:iam::{A}:root")}}})
}

/// A session of role `name`.
fn session(w: &mut World, name: &str) -> Caller {
    let base = Caller::base(A);
    let arn = format!("arn:aws:iam::{A}:role/{name}");
    let request = AssumeRoleRequest {
        role_arn: &arn,
        session_name: "producer",
        duration_seconds: None,
        external_id: None,
    };
    let issued = w.assume_role(&base, R, &request, T0).unwrap();
    w.caller(&issued.access_key_id, T0)
}

fn put(
    w: &mut World,
    caller: &Caller,
    stream: &str,
) -> Result<PutOutcome, (String, Option<String>, String)> {
    w.put_records(caller, R, stream, &[10], false, T0)
        .map_err(|e| (e.code.to_string(), e.kms_code.clone(), e.message))
}

#[test]
fn streams_without_a_customer_key_take_any_caller_allowed_to_put() {
    let mut w = world();
    let app = session(&mut w, "app");
    for stream in ["plain", "aws-owned"] {
        let out = put(&mut w, &app, stream).unwrap();
        assert_eq!(out.record_ids.len(), 1);
        assert_eq!(out.record_ids[0].len(), 56);
        assert_eq!(out.encrypted, stream == "aws-owned");
    }
    let nothing = session(&mut w, "nothing");
    let (code, _, message) = put(&mut w, &nothing, "plain").unwrap_err();
    assert_eq!(code, ACCESS_DENIED);
    assert_eq!(
        message,
        "User: arn:aws:sts::123456789012:assumed-role/nothing/producer is not authorized to \
         perform: firehose:PutRecord on resource: \
         arn:aws:firehose:us-east-1:123456789012:deliverystream/plain because no \
         identity-based policy allows the firehose:PutRecord action"
    );
    // The base user is the account's administrator.
    assert!(put(&mut w, &Caller::base(A), "cmk").unwrap().encrypted);
}

#[test]
fn a_customer_key_needs_both_its_policy_and_the_callers() {
    let mut w = world();
    let refused = |w: &mut World, role: &str, stream: &str| {
        let caller = session(w, role);
        let (code, kms, message) = put(w, &caller, stream).unwrap_err();
        assert_eq!(
            (code.as_str(), kms.as_deref()),
            (INVALID_KMS_RESOURCE, Some("AccessDeniedException")),
            "{role} on {stream}"
        );
        assert_eq!(message, KMS_REFUSED);
    };
    let accepted = |w: &mut World, role: &str, stream: &str| {
        let caller = session(w, role);
        assert!(
            put(w, &caller, stream).unwrap().encrypted,
            "{role} on {stream}"
        );
    };
    // The default key policy delegates to IAM: the caller's own policies decide.
    refused(&mut w, "app", "cmk");
    accepted(&mut w, "app-kms", "cmk");
    // A key policy naming the role allows it without a policy of its own.
    accepted(&mut w, "named", "cmk-by-name");
    refused(&mut w, "app", "cmk-by-name");
    // A key policy's deny wins over the caller's allow.
    refused(&mut w, "denied-by-key", "cmk-deny");
    accepted(&mut w, "app-kms", "cmk-deny");
    // A disabled key: KMS's DisabledException, once access is allowed.
    let app_kms = session(&mut w, "app-kms");
    let (code, kms, _) = put(&mut w, &app_kms, "cmk-disabled").unwrap_err();
    assert_eq!(
        (code.as_str(), kms.as_deref()),
        (INVALID_KMS_RESOURCE, Some("DisabledException"))
    );
}

#[test]
fn a_key_policy_without_the_account_takes_iam_out_of_it() {
    let mut w = world();
    let base = Caller::base(A);
    let admin = base.actor();
    let named_only = json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{A}:role/named")}, "Action": "kms:*", "Resource": "*"}]})
    .to_string();
    // The caller could not put a key policy again: refused unless the check is bypassed.
    let err = w
        .put_key_policy(&admin, &base.arn(R), R, "default", None, &named_only, false)
        .unwrap_err();
    assert_eq!(err.code, KMS_MALFORMED_POLICY_DOCUMENT);
    assert_eq!(
        err.message,
        "The new key policy will not allow you to update the key policy in the future."
    );
    w.put_key_policy(&admin, &base.arn(R), R, "default", None, &named_only, true)
        .unwrap();
    assert_eq!(
        w.get_key_policy("me", A, R, &key("default"), None).unwrap(),
        named_only
    );
    let app_kms = session(&mut w, "app-kms");
    assert_eq!(
        put(&mut w, &app_kms, "cmk").unwrap_err().1.as_deref(),
        Some("AccessDeniedException")
    );
    let named = session(&mut w, "named");
    assert!(put(&mut w, &named, "cmk").is_ok());
    // Even the administrator: the key policy no longer names its account.
    assert!(put(&mut w, &base, "cmk").is_err());
}

#[test]
fn key_policies_start_as_kms_default_and_refuse_what_kms_refuses() {
    let mut w = world();
    let text = w
        .get_key_policy("me", A, R, "default", None)
        .unwrap()
        .to_owned();
    let policy: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        policy,
        json!({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{
            "Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]})
    );
    let code = |r: Result<&str, ApiError>| r.map(str::to_owned).unwrap_err().code.to_string();
    assert_eq!(
        code(w.get_key_policy("me", A, R, "default", Some("AWS_RAM"))),
        "NotFoundException"
    );
    assert_eq!(
        code(w.get_key_policy("me", A, R, "nope", None)),
        "NotFoundException"
    );
    let base = Caller::base(A);
    let admin = base.actor();
    let put = |w: &mut World, name: Option<&str>, text: &str| {
        w.put_key_policy(&admin, "me", R, "default", name, text, false)
            .map_err(|e| (e.code.to_string(), e.message))
    };
    assert_eq!(
        put(&mut w, Some("AWS_RAM"), &text).unwrap_err().0,
        "ValidationException"
    );
    assert_eq!(
        put(&mut w, None, "{").unwrap_err().0,
        KMS_MALFORMED_POLICY_DOCUMENT
    );
    let ghost = json!({"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*",
        "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/ghost"]}}});
    assert_eq!(
        put(&mut w, None, &ghost.to_string()).unwrap_err(),
        (
            KMS_MALFORMED_POLICY_DOCUMENT.to_owned(),
            "Policy contains a statement with one or more invalid principals.".to_owned()
        )
    );
    assert_eq!(
        put(&mut w, None, &" ".repeat(32 * 1024 + 1)).unwrap_err().0,
        "LimitExceededException"
    );
    put(&mut w, Some("default"), &text).unwrap();
}

#[test]
fn streams_refuse_what_they_cannot_take() {
    let mut w = world();
    let base = Caller::base(A);
    assert_eq!(
        put(&mut w, &base, "nope").unwrap_err().0,
        RESOURCE_NOT_FOUND
    );
    assert_eq!(
        put(&mut w, &base, "creating").unwrap_err().0,
        RESOURCE_NOT_FOUND
    );
    let (code, _, message) = put(&mut w, &base, "kinesis").unwrap_err();
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            INVALID_ARGUMENT,
            "This operation is not permitted on KinesisStreamAsSource delivery stream type."
        )
    );
    let sizes = vec![1_024_000; 5];
    let err = w
        .put_records(&base, R, "plain", &sizes, true, T0)
        .unwrap_err();
    assert_eq!(err.code, INVALID_ARGUMENT);
    // Authorization comes first: a caller not allowed is refused whether the stream exists.
    let nothing = session(&mut w, "nothing");
    assert_eq!(put(&mut w, &nothing, "nope").unwrap_err().0, ACCESS_DENIED);
}

#[test]
fn each_stream_counts_what_it_accepted_and_refused_per_minute() {
    let mut w = world();
    let app = session(&mut w, "app");
    let base = Caller::base(A);
    w.put_records(&base, R, "cmk", &[3, 4, 5], true, T0)
        .unwrap();
    w.put_records(&app, R, "cmk", &[1, 1], true, T0 + 10_000)
        .unwrap_err();
    w.put_records(&base, R, "cmk", &[7], false, T0 + 60_000)
        .unwrap();
    let log = w.record_log(A, R, "cmk").unwrap();
    assert_eq!((log.accepted, log.refused, log.bytes), (4, 2, 19));
    let minute = T0 - T0.rem_euclid(60_000);
    let minutes: Vec<_> = log
        .between(minute, minute + 120_000)
        .map(|m| (m.minute - minute, m.accepted, m.refused, m.bytes))
        .collect();
    assert_eq!(minutes, [(0, 3, 2, 12), (60_000, 1, 0, 7)]);
    assert_eq!(log.between(minute + 60_000, minute + 120_000).count(), 1);
    let truth = w.stats(T0 + 60_000);
    let s = truth.stream(R, "cmk").unwrap();
    let records = s.records.as_ref().unwrap();
    assert_eq!(
        (records.accepted, records.refused, records.per_minute.len()),
        (4, 2, 2)
    );
    assert_eq!(
        s.requests.get("PutRecordBatch"),
        None,
        "the world alone counts no requests"
    );
    assert!(truth.stream(R, "plain").unwrap().records.is_none());
    // Record ids are distinct.
    let a = w.put_records(&base, R, "plain", &[1, 1], true, T0).unwrap();
    let b = w.put_records(&base, R, "plain", &[1], false, T0).unwrap();
    assert_ne!(a.record_ids[0], a.record_ids[1]);
    assert!(!a.record_ids.contains(&b.record_ids[0]));
}

#[test]
fn a_seeded_credential_acts_as_its_user() {
    let seed: Seed = serde_json::from_value(json!({
        "streams": [{"name": "orders", "encryption": {"key_arn": key("k")}, "producers": [{"user": "job", "kms": true}]},
                    {"name": "other"}],
        "keys": [{"id": "k"}],
        "credentials": [{"access_key": "AKIDJOB", "expires_after": "1h", "user": "job"}]
    }))
    .unwrap();
    let mut w = World::new(&SandboxConfig::default(), &seed, T0).unwrap();
    let job = w.caller("AKIDJOB", T0);
    assert_eq!(job.arn(R), "arn:aws:iam::123456789012:user/job");
    assert!(put(&mut w, &job, "orders").unwrap().encrypted);
    assert_eq!(put(&mut w, &job, "other").unwrap_err().0, ACCESS_DENIED);
}

#[test]
fn the_readmes_example_world_refuses_and_allows_as_it_says() {
    let seed = crate::seed::tests::readme_example();
    let mut w = World::new(&SandboxConfig::default(), &seed, T0).unwrap();
    // The EventBridge role trusts the account's root too: a test can play its part.
    let events_target = session(&mut w, "service-role/eventbridge-target");
    assert!(put(&mut w, &events_target, "clicks").is_ok());
    assert_eq!(
        put(&mut w, &events_target, "orders")
            .unwrap_err()
            .1
            .as_deref(),
        Some("AccessDeniedException")
    );
    // A producer without the KMS permissions is refused the customer key; one with them, and
    // named by the key policy, is not.
    let app = session(&mut w, "orders-app");
    assert!(put(&mut w, &app, "orders").unwrap().encrypted);
    // The service-only producer role cannot be assumed by a user at all.
    let base = Caller::base(A);
    let arn = format!("arn:aws:iam::{A}:role/orders-events");
    let request = AssumeRoleRequest {
        role_arn: &arn,
        session_name: "producer",
        duration_seconds: None,
        external_id: None,
    };
    assert_eq!(
        w.assume_role(&base, R, &request, T0).unwrap_err().code,
        "AccessDenied"
    );
    // Alice may put to every stream, but her explicit deny of KMS refuses her the key.
    let alice = w.caller("AKIDALICE", T0);
    assert!(put(&mut w, &alice, "clicks").is_ok());
    assert_eq!(
        put(&mut w, &alice, "orders").unwrap_err().1.as_deref(),
        Some("AccessDeniedException")
    );
    let clickstream = Actor::User {
        account: A.into(),
        name: "clickstream".into(),
    };
    assert_eq!(
        w.identity_outcome(
            &clickstream,
            "firehose:PutRecord",
            &crate::vocabulary::firehose_arn(R, A, "clicks"),
            &Default::default()
        )
        .decision,
        super::iam::Decision::Allowed
    );
}
