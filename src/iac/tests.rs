use super::*;
use crate::model::KmsKeyArn;

const STATE: &str = include_str!("../../tests/data/terraform-show.json");
const A: &str = "123456789012";
const K: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

fn arn(name: &str) -> String {
    format!("arn:aws:firehose:us-east-1:{A}:deliverystream/{name}")
}

fn cmk() -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(K).unwrap())
}

fn id(name: &str) -> StreamId {
    StreamId {
        account: A.into(),
        region: "us-east-1".into(),
        name: name.into(),
    }
}

#[test]
fn the_state_gives_every_managed_stream_of_every_module_with_its_block() {
    let streams = terraform::read_state(STATE, "state.json").unwrap();
    let found: Vec<(&str, &str, Option<bool>)> = streams
        .iter()
        .map(|s| {
            (
                s.address.as_str(),
                s.name.as_str(),
                s.sse.as_ref().map(|b| b.enabled),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "aws_kinesis_firehose_delivery_stream.orders",
                "orders",
                Some(false)
            ),
            (
                "module.ingest.aws_kinesis_firehose_delivery_stream.this[0]",
                "clicks",
                Some(true)
            ),
            (
                "module.ingest.module.audit.aws_kinesis_firehose_delivery_stream.this[\"audit-logs\"]",
                "audit-logs",
                None
            ),
        ],
        "the data source and the bucket are not streams Terraform manages"
    );
    assert_eq!(streams[0].arn.as_deref(), Some(arn("orders").as_str()));
    assert_eq!(streams[1].sse.as_ref().unwrap().key_type, "AWS_OWNED_CMK");
    assert_eq!(
        streams[0].sse.as_ref().unwrap().key_arn,
        None,
        "\"\" is no key"
    );
}

#[test]
fn a_file_that_is_not_terraform_show_json_is_refused_saying_what_to_give() {
    let not_json = terraform::read_state("{", "s.json").unwrap_err();
    assert!(not_json.contains("terraform show -json"), "{not_json}");
    // A raw .tfstate (version 4) has no format_version.
    let raw = terraform::read_state(r#"{"version": 4, "resources": []}"#, "t.tfstate").unwrap_err();
    assert!(raw.contains("format_version"), "{raw}");
    let future = terraform::read_state(r#"{"format_version": "2.0"}"#, "s.json").unwrap_err();
    assert!(future.contains("2.0"), "{future}");
    // An empty state has no values.
    assert_eq!(
        terraform::read_state(r#"{"format_version": "1.0"}"#, "s.json").unwrap(),
        []
    );
}

#[test]
fn whether_the_next_apply_reverts_follows_the_states_block() {
    let owners = Owners::from_terraform(&terraform::read_state(STATE, "state.json").unwrap());
    let orders = owners.owner(&arn("orders"), "orders").unwrap();
    // The state says DISABLED: back to it if the code has the block.
    assert_eq!(
        orders.next_deploy(&cmk()),
        NextDeploy::RevertsIfInCode {
            to: "DISABLED".into()
        }
    );
    assert!(orders.note(&cmk()).contains(
        "⚠ terraform: aws_kinesis_firehose_delivery_stream.orders: the next apply reverts it to DISABLED"
    ));
    // Already what the code says: kept.
    let clicks = owners.owner(&arn("clicks"), "clicks").unwrap();
    assert_eq!(clicks.next_deploy(&KeyChoice::AwsOwned), NextDeploy::Keeps);
    assert_eq!(
        clicks.next_deploy(&cmk()),
        NextDeploy::RevertsIfInCode {
            to: "AWS_OWNED_CMK".into()
        }
    );
    // No block: the provider leaves encryption alone.
    let audit = owners.owner(&arn("audit-logs"), "audit-logs").unwrap();
    assert_eq!(audit.next_deploy(&cmk()), NextDeploy::Keeps);
    // Not managed: no owner.
    assert!(owners.owner(&arn("quiet"), "quiet").is_none());
}

#[test]
fn a_stack_is_found_by_its_tag_and_keeps_the_change_as_drift() {
    let mut owners = Owners::default();
    owners.add_tagged(
        &arn("orders"),
        &[
            (STACK_NAME_TAG.into(), "ingest".into()),
            (LOGICAL_ID_TAG.into(), "OrdersStream".into()),
        ],
    );
    owners.add_tagged(&arn("other"), &[("team".into(), "x".into())]);
    assert!(owners.owner(&arn("other"), "other").is_none());
    let stack = owners.owner(&arn("orders"), "orders").unwrap();
    assert_eq!(stack.label(), "stack ingest");
    assert_eq!(
        stack.next_deploy(&cmk()),
        NextDeploy::KeepsUntilTemplateChanges
    );
    assert!(stack.note(&cmk()).starts_with("⚠ owned by stack ingest"));
    let change = stack.change(&id("orders"), &cmk());
    assert_eq!(change.file, "cloudformation-ingest-OrdersStream.yaml");
    assert!(
        change.text.contains(&format!(
            "DeliveryStreamEncryptionConfigurationInput:\n  KeyType: CUSTOMER_MANAGED_CMK\n  KeyARN: {K}\n"
        )),
        "{}",
        change.text
    );
}

#[test]
fn the_code_change_is_the_block_or_property_that_says_the_target() {
    let owners = Owners::from_terraform(&terraform::read_state(STATE, "state.json").unwrap());
    let clicks = owners.owner(&arn("clicks"), "clicks").unwrap();
    let change = clicks.change(&id("clicks"), &cmk());
    assert_eq!(
        change.file,
        "terraform-module_ingest_aws_kinesis_firehose_delivery_stream_this_0_.tf.txt"
    );
    assert!(
        change.text.ends_with(&format!(
            "server_side_encryption {{\n  enabled  = true\n  key_type = \"CUSTOMER_MANAGED_CMK\"\n  key_arn  = \"{K}\"\n}}\n"
        )),
        "{}",
        change.text
    );
    let off = clicks.change(&id("clicks"), &KeyChoice::Off);
    assert!(off.text.contains("  enabled = false\n"), "{}", off.text);
    // The JSON names the owner and what its next deploy does.
    let json = clicks.json(&cmk());
    assert_eq!(json["kind"], "terraform");
    assert_eq!(json["next_deploy"], "reverts_if_in_code");
    assert_eq!(json["reverts_to"], "AWS_OWNED_CMK");
}

#[test]
fn terraform_wins_over_a_tag_for_the_same_stream() {
    let mut owners = Owners::from_terraform(&terraform::read_state(STATE, "s.json").unwrap());
    owners.add_tagged(&arn("orders"), &[(STACK_NAME_TAG.into(), "s".into())]);
    assert!(matches!(
        owners.owner(&arn("orders"), "orders"),
        Some(Owner::Terraform { .. })
    ));
}
