//! The check's steps together, on an account described in code and a simulator played by a
//! tiny table: which simulations are asked for, and what each stream's producers become.

use std::collections::HashMap;

use super::assess::{self, Answers, KeyPolicy, Simulated, Subject};
use super::key_policy::default_policy;
use super::policy::parse_document;
use super::principals::{Details, Entity, PolicyText};
use super::verdict::{Decision, Side, Verdict};
use crate::model::{KmsKeyArn, StreamId};

const ACCOUNT: &str = "123456789012";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

fn subject(name: &str) -> Subject {
    Subject {
        stream: StreamId {
            account: ACCOUNT.into(),
            region: "us-east-1".into(),
            name: name.into(),
        },
        arn: format!("arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/{name}"),
        key: KmsKeyArn::parse(KEY).unwrap(),
    }
}

fn role(name: &str, service: &str, policy: &str) -> Entity {
    Entity {
        name: name.into(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        inline: vec![PolicyText {
            name: "inline".into(),
            document: policy.into(),
        }],
        trust: Some(format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )),
        ..Entity::default()
    }
}

/// Answers every simulation as a naive evaluator of Allow statements would: enough to stand in
/// for AWS in a test of the plumbing (the real evaluation is AWS's).
fn answer(details: &Details, sims: &[assess::Simulation]) -> Answers {
    let principals = details.principals();
    let mut answers = Answers::default();
    for sim in sims {
        let p = principals.iter().find(|p| p.arn == sim.principal).unwrap();
        let mut out = Vec::new();
        for action in &sim.actions {
            for resource in &sim.resources {
                let allowed = p
                    .allows(action)
                    .any(|s| s.covers_resource(resource) && s.conditions.is_empty());
                out.push(Simulated {
                    action: action.clone(),
                    resource: resource.clone(),
                    decision: if allowed {
                        Decision::Allowed
                    } else {
                        Decision::ImplicitDeny { missing: vec![] }
                    },
                });
            }
        }
        answers.add(&sim.principal, out);
    }
    answers
}

#[test]
fn an_eventbridge_role_without_generate_data_key_is_denied_on_its_streams_only() {
    let details = Details {
        roles: vec![
            role(
                "orders-events",
                "events.amazonaws.com",
                r#"{"Statement":[
                  {"Effect":"Allow","Action":["firehose:PutRecord","firehose:PutRecordBatch"],"Resource":"arn:aws:firehose:*:*:deliverystream/orders-*"},
                  {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#,
            ),
            role(
                "clicks-logs",
                "logs.us-east-1.amazonaws.com",
                r#"{"Statement":[
                  {"Effect":"Allow","Action":"firehose:PutRecord*","Resource":"arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks"},
                  {"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"arn:aws:kms:*:*:key/*"}]}"#,
            ),
            role(
                "reader",
                "lambda.amazonaws.com",
                r#"{"Statement":{"Effect":"Allow","Action":"firehose:Describe*","Resource":"*"}}"#,
            ),
        ],
        ..Details::default()
    };
    let principals = details.principals();
    let subjects = vec![
        subject("orders-a"),
        subject("orders-b"),
        subject("clicks"),
        subject("quiet"),
    ];
    let candidacies = assess::candidacies(&principals, &subjects);
    assert_eq!(candidacies.len(), 2, "the reader is no candidate");
    let sims = assess::simulations(&principals, &subjects, &candidacies, ACCOUNT);
    // One simulation per candidate: orders-a stands for orders-b, and the key once.
    assert_eq!(sims.len(), 2);
    let orders = sims
        .iter()
        .find(|s| s.principal.ends_with("orders-events"))
        .unwrap();
    assert_eq!(orders.resources.len(), 2, "{:?}", orders.resources);
    assert!(
        orders
            .context
            .iter()
            .any(|c| c.key == "kms:ViaService" && c.value == "firehose.us-east-1.amazonaws.com")
    );

    let answers = answer(&details, &sims);
    let policies = HashMap::from([(
        KEY.to_owned(),
        KeyPolicy::Read(parse_document(&default_policy(ACCOUNT, "aws")).unwrap()),
    )]);
    let found = assess::assemble(&principals, &subjects, &candidacies, &answers, &policies);
    let of = |name: &str| &found[&subject(name).stream];
    for name in ["orders-a", "orders-b"] {
        let s = of(name);
        assert_eq!(s.producers.len(), 1);
        let p = &s.producers[0];
        assert_eq!(p.described, "EventBridge target role");
        assert_eq!(
            p.verdict,
            Verdict::Denied {
                refused: vec![super::Refusal {
                    side: Side::IamPolicy,
                    action: "kms:GenerateDataKey".into()
                }]
            }
        );
        assert!(s.any_denied());
    }
    assert_eq!(of("clicks").producers[0].verdict, Verdict::Allowed);
    assert_eq!(of("clicks").counts().allowed, 1);
    assert!(of("quiet").producers.is_empty());
    assert!(
        of("orders-a")
            .denied_line()
            .contains("role/orders-events (EventBridge target role): denied: kms:GenerateDataKey")
    );
}

#[test]
fn a_key_policy_that_cannot_be_read_leaves_the_verdict_unknown() {
    let details = Details {
        roles: vec![role(
            "w",
            "events.amazonaws.com",
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        )],
        ..Details::default()
    };
    let principals = details.principals();
    let subjects = vec![subject("s")];
    let candidacies = assess::candidacies(&principals, &subjects);
    let sims = assess::simulations(&principals, &subjects, &candidacies, ACCOUNT);
    let answers = answer(&details, &sims);
    let policies = HashMap::from([(
        KEY.to_owned(),
        KeyPolicy::Unreadable("kms:GetKeyPolicy was refused".into()),
    )]);
    let found = assess::assemble(&principals, &subjects, &candidacies, &answers, &policies);
    let v = &found[&subject("s").stream].producers[0].verdict;
    assert!(matches!(v, Verdict::Unknown { why } if why.contains("GetKeyPolicy was refused")));
}

#[test]
fn the_callers_grant_is_checked_with_firehoses_context() {
    let key = KmsKeyArn::parse(KEY).unwrap();
    let sims =
        assess::grant_simulations("arn:aws:iam::123456789012:role/deployer", ACCOUNT, &[&key]);
    assert_eq!(sims.len(), 1);
    assert_eq!(sims[0].actions, ["kms:CreateGrant"]);
    assert!(
        sims[0]
            .context
            .iter()
            .any(|c| c.key == "kms:GrantIsForAWSResource"
                && c.kind == "boolean"
                && c.value == "true")
    );
    let mut answers = Answers::default();
    answers.add(
        "arn:aws:iam::123456789012:role/deployer",
        vec![Simulated {
            action: "kms:CreateGrant".into(),
            resource: KEY.into(),
            decision: Decision::ImplicitDeny { missing: vec![] },
        }],
    );
    let policies = HashMap::from([(
        KEY.to_owned(),
        KeyPolicy::Read(parse_document(&default_policy(ACCOUNT, "aws")).unwrap()),
    )]);
    let v = assess::grant_verdict(
        "arn:aws:iam::123456789012:role/deployer",
        ACCOUNT,
        &key,
        &answers,
        &policies,
    );
    assert_eq!(
        v.to_string(),
        "denied: kms:CreateGrant refused by its IAM policies"
    );
}
