//! Scenario 7: the producer check. Seeded through the SDK as any AWS user would: a stream, a
//! customer key (its default key policy), and a role trusted by EventBridge whose inline
//! policy puts to the stream with `kms:Decrypt` only. Then `plan` moves the stream to the key.
//!
//! Both backends serve `GetAccountAuthorizationDetails` (the role, its trust policy and its
//! URL-encoded inline policy) and `GetKeyPolicy`: on both the role is found as the stream's
//! producer and named by its trust policy. moto 5.2 does not implement
//! `SimulatePrincipalPolicy` (it answers an error), so there the producer's verdict is
//! `unknown` — the plan says the simulation failed and skips nothing for it — while the sandbox
//! simulates it and the stream is skipped `producers_denied`. What moto cannot evaluate is
//! checked against the sandbox alone (tests/e2e/producers.rs).

use super::REGION;
use super::backend::Backend;
use super::sdk::{Source, create_key, create_stream, sdk_error};
use crate::common::{ACCOUNT, item};

const ROLE: &str = "orders-events";

async fn seed_role(iam: &aws_sdk_iam::Client, stream_arn: &str, key: &str) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(ROLE)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateRole: {}", sdk_error(&e)));
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["firehose:PutRecord","firehose:PutRecordBatch"],"Resource":"{stream_arn}"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{key}"}}]}}"#
    );
    iam.put_role_policy()
        .role_name(ROLE)
        .policy_name("put")
        .policy_document(policy)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutRolePolicy: {}", sdk_error(&e)));
}

pub fn producers_of_a_stream_moving_to_a_key(b: &Backend) {
    let key = b.block_on(async {
        let fh = b.firehose();
        create_stream(&fh, "orders", Source::DirectPut).await;
        let key = create_key(&b.kms()).await;
        let arn = format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/orders");
        seed_role(&b.iam(), &arn, &key).await;
        key
    });
    let w = b.workdir();
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\norders,{REGION},{key}\n"),
    );
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "--output", "json", "-q"])
        .assert_code(0)
        .json();
    let orders = item(&plan, "orders");
    let producers = orders["producers"]["producers"].as_array().unwrap();
    let role = producers
        .iter()
        .find(|p| p["principal"] == format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}"))
        .unwrap_or_else(|| panic!("the role is the stream's producer: {orders:#}"));
    assert_eq!(role["described"], "EventBridge target role");
    let check = &plan["producer_check"];
    assert!(check["principals"].as_u64().unwrap() >= 1, "{check:#}");
    assert!(
        check["kms_calls"].as_u64().unwrap() >= 1,
        "the key policy was read"
    );
    if b.is_moto() {
        // No simulator: unknown, said, and nothing skipped for it.
        assert_eq!(role["verdict"], "unknown", "{role:#}");
        assert_eq!(orders["action"], "enable");
        let notes = check["notes"].to_string();
        assert!(notes.contains("SimulatePrincipalPolicy"), "{check:#}");
    } else {
        assert_eq!(role["verdict"], "denied", "{role:#}");
        assert_eq!(role["refused"][0]["action"], "kms:GenerateDataKey");
        assert_eq!(orders["reason"], "producers_denied");
    }
}
