//! Streams that code owns, end to end on the sandbox: a CloudFormation stack's streams (found by
//! their `aws:cloudformation:stack-name` tag with GetResources, a Region at a time, 100 a page)
//! and a Terraform state's (`--terraform-state`, the JSON of `terraform show -json` in
//! `tests/data/terraform-show.json`) are planned with their owner and what its next deploy
//! does; `--iac-owned skip` leaves them untouched (the sandbox counts no Start); `--out-iac DIR`
//! writes the Terraform block and the CloudFormation property to put in the code.

use crate::common::{ACCOUNT, Sandbox, Workdir, item, stream};

const R: &str = "us-east-1";

fn state() -> String {
    format!(
        "{}/tests/data/terraform-show.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The streams of the state (orders, clicks, audit-logs), a stack's stream and 150 more of
/// another stack (two pages of GetResources), and one nobody owns.
fn setup() -> (Sandbox, Workdir, tempfile::TempDir, std::path::PathBuf) {
    let mut streams = vec![
        serde_json::json!({"name": "orders"}),
        serde_json::json!({"name": "clicks", "encryption": {"key_type": "AWS_OWNED_CMK"}}),
        serde_json::json!({"name": "audit-logs"}),
        serde_json::json!({"name": "stacked", "tags": {"aws:cloudformation:stack-name": "ingest",
            "aws:cloudformation:logical-id": "StackedStream", "team": "data"}}),
        serde_json::json!({"name": "free"}),
    ];
    for i in 0..150 {
        streams.push(serde_json::json!({"name": format!("bulk-{i:03}"),
            "tags": {"aws:cloudformation:stack-name": "bulk"}}));
    }
    let world = serde_json::json!({"streams": streams, "keys": [{"id": "k"}]});
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world.to_string(), &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let k = format!("arn:aws:kms:{R}:{ACCOUNT}:key/k");
    let fleet = w.fleet(
        "fleet.csv",
        &format!(
            "stream,region,key_arn\norders,{R},{k}\nclicks,{R},{k}\naudit-logs,{R},{k}\nstacked,{R},{k}\nfree,{R},{k}\n"
        ),
    );
    (sandbox, w, dir, fleet)
}

#[test]
fn the_plan_names_each_streams_owner_and_what_its_next_deploy_does() {
    let (sandbox, w, dir, fleet) = setup();
    let (f, s) = (fleet.to_str().unwrap(), state());
    let text = w.run(&["plan", f, "--terraform-state", &s]);
    text.assert_code(0);
    let line = |name: &str| {
        text.stdout
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no {name} in {}", text.stdout))
            .to_owned()
    };
    assert!(
        line("orders").contains("⚠ terraform: aws_kinesis_firehose_delivery_stream.orders: the next apply reverts it to DISABLED if the code has a server_side_encryption block"),
        "{}",
        line("orders")
    );
    assert!(
        line("clicks").contains("⚠ terraform: module.ingest.aws_kinesis_firehose_delivery_stream.this[0]: the next apply reverts it to AWS_OWNED_CMK"),
        "{}",
        line("clicks")
    );
    assert!(
        line("audit-logs").contains("the next apply keeps it"),
        "{}",
        line("audit-logs")
    );
    assert!(
        line("stacked").contains("⚠ owned by stack ingest"),
        "{}",
        line("stacked")
    );
    assert!(!line("free").contains('⚠'), "{}", line("free"));
    assert!(
        text.stdout
            .contains("4 stream(s) owned by CloudFormation or Terraform will be changed"),
        "{}",
        text.stdout
    );
    // One GetResources page of 100 and a second of 51: the tag is read a Region at a time,
    // never a stream at a time.
    assert_eq!(sandbox.stats().requests_for("GetResources"), 2);

    let plan = w
        .run(&["plan", f, "--terraform-state", &s, "--output", "json", "-q"])
        .json();
    let orders = &item(&plan, "orders")["owner"];
    assert_eq!(orders["kind"], "terraform");
    assert_eq!(orders["next_deploy"], "reverts_if_in_code");
    assert_eq!(orders["reverts_to"], "DISABLED");
    assert_eq!(item(&plan, "stacked")["owner"]["stack"], "ingest");
    assert_eq!(
        item(&plan, "stacked")["owner"]["logical_id"],
        "StackedStream"
    );
    assert_eq!(item(&plan, "free")["owner"], serde_json::Value::Null);

    // The change to make in the code.
    let out = dir.path().join("iac");
    w.run(&[
        "plan",
        f,
        "--terraform-state",
        &s,
        "-q",
        "--out-iac",
        out.to_str().unwrap(),
    ])
    .assert_code(0);
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "cloudformation-ingest-StackedStream.yaml",
            "terraform-aws_kinesis_firehose_delivery_stream_orders.tf.txt",
            "terraform-module_ingest_aws_kinesis_firehose_delivery_stream_this_0_.tf.txt",
            "terraform-module_ingest_module_audit_aws_kinesis_firehose_delivery_stream_this__audit-logs__.tf.txt",
        ]
    );
    let k = format!("arn:aws:kms:{R}:{ACCOUNT}:key/k");
    let hcl = std::fs::read_to_string(out.join(&files[1])).unwrap();
    assert!(
        hcl.ends_with(&format!("server_side_encryption {{\n  enabled  = true\n  key_type = \"CUSTOMER_MANAGED_CMK\"\n  key_arn  = \"{k}\"\n}}\n")),
        "{hcl}"
    );
    let cfn = std::fs::read_to_string(out.join(&files[0])).unwrap();
    assert!(cfn.contains(&format!("DeliveryStreamEncryptionConfigurationInput:\n  KeyType: CUSTOMER_MANAGED_CMK\n  KeyARN: {k}\n")), "{cfn}");
}

#[test]
fn with_iac_owned_skip_no_owned_stream_is_started() {
    let (sandbox, w, _dir, fleet) = setup();
    let s = state();
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "--terraform-state",
            &s,
            "--iac-owned",
            "skip",
            "--output",
            "json",
            "-q",
        ])
        .json();
    for name in ["orders", "clicks", "audit-logs", "stacked"] {
        assert_eq!(item(&plan, name)["reason"], "iac_owned", "{name}");
    }
    assert_eq!(item(&plan, "free")["action"], "enable");
    w.apply(&fleet, &["--terraform-state", &s, "--iac-owned", "skip"])
        .assert_code(0);
    let truth = sandbox.stats();
    for name in ["orders", "clicks", "audit-logs", "stacked"] {
        assert_eq!(
            stream(&truth, name).start_calls,
            0,
            "{name} was never started"
        );
    }
    assert_eq!(stream(&truth, "free").start_calls, 1);
    // A state that is not `terraform show -json` is refused before anything is sent.
    let raw = w.fleet("raw.tfstate", r#"{"version": 4, "resources": []}"#);
    let refused = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "--terraform-state",
        raw.to_str().unwrap(),
    ]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("terraform show -json"),
        "{}",
        refused.stderr
    );

    // boto3 sees the same tags: a tag set with TagDeliveryStream, the stacks' streams through
    // the Tagging API's own paginator (pages of 100, the last token empty).
    let python = crate::conformance::moto::MOTO.ensure().join("python");
    let boto3 = std::process::Command::new(python)
        .args([
            "-c",
            "import boto3, sys\n\
             kw = dict(endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                 aws_access_key_id='AKIDTESTFIREHOSESSE', aws_secret_access_key='x')\n\
             boto3.client('firehose', **kw).tag_delivery_stream(DeliveryStreamName='free', Tags=[{'Key': 'team', 'Value': 'x'}])\n\
             t = boto3.client('resourcegroupstaggingapi', **kw)\n\
             pages = list(t.get_paginator('get_resources').paginate(ResourceTypeFilters=['firehose:deliverystream'],\n\
                 TagFilters=[{'Key': 'aws:cloudformation:stack-name'}], ResourcesPerPage=100))\n\
             assert [len(p['ResourceTagMappingList']) for p in pages] == [100, 51], [len(p['ResourceTagMappingList']) for p in pages]\n\
             team = t.get_resources(TagFilters=[{'Key': 'team', 'Values': ['x']}])['ResourceTagMappingList']\n\
             assert [r['ResourceARN'].split('/')[-1] for r in team] == ['free'], team\n",
            &sandbox.url,
        ])
        .output()
        .unwrap();
    assert!(
        boto3.status.success(),
        "{}",
        String::from_utf8_lossy(&boto3.stderr)
    );
}
