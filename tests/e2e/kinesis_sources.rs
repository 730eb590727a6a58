//! Streams that read from a Kinesis stream, end to end on the sandbox: their encryption belongs
//! on the source, so `plan` skips them `not_direct_put` and says how each source stands — KMS
//! with its key, NOT encrypted, or why it cannot be read — from one paced
//! `DescribeStreamSummary` per source; `inventory` and `audit` count them; nothing is ever
//! asked of Kinesis but that read.

use crate::common::{ACCOUNT, Sandbox, Workdir, item};

const R: &str = "us-east-1";

fn source(name: &str) -> String {
    format!("arn:aws:kinesis:{R}:{ACCOUNT}:stream/{name}")
}

#[test]
fn a_kinesis_sourced_stream_says_how_its_source_is_encrypted_and_nothing_is_changed() {
    let world = serde_json::json!({
        "streams": [
            {"name": "orders", "type": "KinesisStreamAsSource", "source_arn": source("orders-raw")},
            {"name": "orders-copy", "type": "KinesisStreamAsSource", "source_arn": source("orders-raw")},
            {"name": "clicks", "type": "KinesisStreamAsSource", "source_arn": source("clicks-raw")},
            {"name": "lost", "type": "KinesisStreamAsSource", "source_arn": source("gone")},
            {"name": "direct"}
        ],
        "keys": [{"id": "k"}],
        "kinesis_streams": [
            {"name": "orders-raw", "key_id": format!("arn:aws:kms:{R}:{ACCOUNT}:key/k")},
            {"name": "clicks-raw"}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world.to_string(), &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region\norders,{R}\norders-copy,{R}\nclicks,{R}\nlost,{R}\ndirect,{R}\n"),
    );
    let f = fleet.to_str().unwrap();
    let text = w.run(&["plan", f]);
    text.assert_code(0);
    let line = |name: &str| {
        text.stdout
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no {name} in {}", text.stdout))
            .to_owned()
    };
    let key = format!("arn:aws:kms:{R}:{ACCOUNT}:key/k");
    assert!(
        line("orders").trim_start().starts_with("! ")
            && line("orders").contains(&format!(
                "not_direct_put (source orders-raw: KMS, key {key})"
            )),
        "{}",
        line("orders")
    );
    assert!(
        line("clicks").contains("not_direct_put (source clicks-raw: NOT encrypted)"),
        "{}",
        line("clicks")
    );
    assert!(
        line("lost").contains("not_direct_put (source gone: cannot be read: "),
        "{}",
        line("lost")
    );
    assert!(
        line("lost").contains("failed: not found: Stream gone"),
        "{}",
        line("lost")
    );
    let plan = w.run(&["plan", f, "--output", "json", "-q"]).json();
    let orders = &item(&plan, "orders")["current"]["source"];
    assert_eq!(
        (
            orders["stream"].as_str(),
            orders["encryption"].as_str(),
            orders["key_id"].as_str()
        ),
        (Some("orders-raw"), Some("KMS"), Some(key.as_str()))
    );
    assert_eq!(
        item(&plan, "clicks")["current"]["source"]["encryption"],
        "NONE"
    );
    assert_eq!(
        item(&plan, "lost")["current"]["source"]["encryption"],
        "unreadable"
    );
    assert_eq!(item(&plan, "direct")["action"], "enable");

    let inventory = w
        .run(&["inventory", "--region", R, "--output", "json"])
        .json();
    let counts = &inventory["regions"][0]["kinesis_sources"];
    assert_eq!(
        (
            counts["KMS"].as_u64(),
            counts["NONE"].as_u64(),
            counts["unreadable"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{inventory:#}"
    );
    let table = w.run(&["inventory", "--region", R]);
    assert!(
        table.stdout.contains("Kinesis sources by encryption"),
        "{}",
        table.stdout
    );
    let audit = w.run(&["audit", "--region", R, "--output", "json"]).json();
    assert_eq!(
        audit["elsewhere"]["kinesis_sources"]["NONE"], 1,
        "{audit:#}"
    );

    w.apply(&fleet, &[]).assert_code(0);
    let truth = sandbox.stats();
    // Three sources, each read once per command that shows them (two plans, two inventories,
    // an audit); `apply --yes` shows no plan and reads none.
    assert_eq!(
        truth.requests_for("StartStreamEncryption"),
        0,
        "Kinesis streams are never changed"
    );
    assert_eq!(
        truth.requests_for("DescribeStreamSummary"),
        3 * 5,
        "one read per distinct source per command"
    );
    for name in ["orders", "clicks", "lost"] {
        assert_eq!(crate::common::stream(&truth, name).start_calls, 0);
    }

    // The operator encrypts the source with boto3, as the plan line says to: the next plan
    // sees it.
    let python = crate::conformance::moto::MOTO.ensure().join("python");
    let boto3 = std::process::Command::new(python)
        .args([
            "-c",
            "import boto3, sys, time\n\
             k = boto3.client('kinesis', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                 aws_access_key_id='AKIDTESTFIREHOSESSE', aws_secret_access_key='x')\n\
             k.start_stream_encryption(StreamName='clicks-raw', EncryptionType='KMS', KeyId='alias/aws/kinesis')\n\
             time.sleep(1)\n\
             s = k.describe_stream_summary(StreamName='clicks-raw')['StreamDescriptionSummary']\n\
             assert (s['EncryptionType'], s['KeyId'], s['StreamStatus']) == ('KMS', 'alias/aws/kinesis', 'ACTIVE'), s\n",
            &sandbox.url,
        ])
        .output()
        .unwrap();
    assert!(
        boto3.status.success(),
        "{}",
        String::from_utf8_lossy(&boto3.stderr)
    );
    let plan = w.run(&["plan", f, "--output", "json", "-q"]).json();
    let clicks = &item(&plan, "clicks")["current"]["source"];
    assert_eq!(
        (clicks["encryption"].as_str(), clicks["key_id"].as_str()),
        (Some("KMS"), Some("alias/aws/kinesis"))
    );
}
