//! inventory: counts by source type, encryption and key; `--out` writes a fleet plan accepts;
//! refusals; paging past one list page.

use super::{R, assert_only_reads, key, key_line, plan_json};
use crate::common::{Sandbox, Workdir, stream_names};

const INVENTORY_WORLD: &str = r#"{
  "streams": [
    {"name": "plain-1"},
    {"name": "plain-2"},
    {"name": "on-aws", "encryption": {"key_type": "AWS_OWNED_CMK"}},
    {"name": "on-key", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k1"}},
    {"name": "from-kinesis", "type": "KinesisStreamAsSource"},
    {"name": "from-msk", "type": "MSKAsSource"},
    {"name": "eu-plain", "region": "eu-west-1"},
    {"name": "eu-kinesis", "region": "eu-west-1", "type": "KinesisStreamAsSource"}
  ],
  "keys": [{"id": "k1"}]
}"#;

#[test]
fn inventory_counts_by_source_type_encryption_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), INVENTORY_WORLD, &[]);
    let w = Workdir::new(&sandbox);
    let run = w.run(&[
        "inventory",
        "--region",
        R,
        "--region",
        "eu-west-1",
        "-q",
        "--output",
        "json",
    ]);
    let summary = run.assert_code(0).json();
    assert_eq!(
        summary["regions"],
        serde_json::json!([
            {
                "account": crate::common::ACCOUNT,
                "region": "eu-west-1",
                "streams": 2,
                "by_source_type": {"DirectPut": 1, "KinesisStreamAsSource": 1},
                "by_encryption_status": {"DISABLED": 2},
                "by_key": {},
                "unencrypted_direct_put": 1,
                "key_in_force_unknown": 0,
                "kinesis_sources": {"unreadable": 1}
            },
            {
                "account": crate::common::ACCOUNT,
                "region": "us-east-1",
                "streams": 6,
                "by_source_type": {"DirectPut": 4, "KinesisStreamAsSource": 1, "MSKAsSource": 1},
                "by_encryption_status": {"DISABLED": 4, "ENABLED": 2},
                "by_key": {"AWS_OWNED_CMK": 1, key("k1"): 1},
                "unencrypted_direct_put": 2,
                "key_in_force_unknown": 0,
                "kinesis_sources": {"unreadable": 1}
            },
        ])
    );
    // Every stream is in the ledger, and both regions count as inventoried.
    let db = w.sql();
    let streams: i64 = db
        .query_row("SELECT COUNT(*) FROM streams", [], |r| r.get(0))
        .unwrap();
    assert_eq!(streams, 8);
    let mut regions: Vec<String> = db
        .prepare("SELECT region FROM inventories ORDER BY region")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    regions.dedup();
    assert_eq!(regions, ["eu-west-1", R]);
    assert_only_reads(&sandbox.stats());
}

#[test]
fn inventory_out_writes_a_fleet_of_the_unencrypted_direct_put_streams_that_plan_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), INVENTORY_WORLD, &[]);
    let w = Workdir::new(&sandbox);

    w.run(&[
        "inventory",
        "--region",
        R,
        "--region",
        "eu-west-1",
        "-q",
        "--out",
        "all.csv",
    ])
    .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(w.path("all.csv")).unwrap(),
        "stream,region,key_arn,key_type\n\
         eu-plain,eu-west-1,,AWS_OWNED_CMK\n\
         plain-1,us-east-1,,AWS_OWNED_CMK\n\
         plain-2,us-east-1,,AWS_OWNED_CMK\n"
    );
    let plan = plan_json(&w, "all.csv", &[]);
    assert_eq!(plan["summary"]["enable"], 3, "{plan:#}");
    assert_eq!(plan["items"].as_array().unwrap().len(), 3);

    // --key-arn fills the key column.
    let k = key("k1");
    w.run(&[
        "inventory",
        "--region",
        R,
        "-q",
        "--out",
        "keyed.csv",
        "--key-arn",
        &k,
    ])
    .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(w.path("keyed.csv")).unwrap(),
        format!(
            "stream,region,key_arn,key_type\n\
             plain-1,us-east-1,{k},CUSTOMER_MANAGED_CMK\n\
             plain-2,us-east-1,{k},CUSTOMER_MANAGED_CMK\n"
        )
    );
    let plan = plan_json(&w, "keyed.csv", &[]);
    assert_eq!(plan["summary"]["enable"], 2, "{plan:#}");
    assert_eq!(
        key_line(&plan, &k),
        serde_json::json!({"key_arn": k, "streams_now": 1, "streams_after": 3, "limit": 500})
    );
    assert_only_reads(&sandbox.stats());
}

#[test]
fn inventory_out_writes_through_a_link_into_a_device_in_place_and_dash_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), INVENTORY_WORLD, &[]);
    let w = Workdir::new(&sandbox);
    let fleet = "stream,region,key_arn,key_type\n\
                 plain-1,us-east-1,,AWS_OWNED_CMK\n\
                 plain-2,us-east-1,,AWS_OWNED_CMK\n";
    let is_link = |p: &std::path::Path| {
        std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink()
    };

    // A symbolic link is written through: the link stays, its target gets the fleet.
    std::fs::write(w.path("real.csv"), "old").unwrap();
    std::os::unix::fs::symlink(w.path("real.csv"), w.path("link.csv")).unwrap();
    w.run(&["inventory", "--region", R, "-q", "--out", "link.csv"])
        .assert_code(0);
    assert!(is_link(&w.path("link.csv")), "the link is kept");
    assert_eq!(std::fs::read_to_string(w.path("real.csv")).unwrap(), fleet);

    // A device (here through a link, so a regression cannot replace the machine's own) is
    // written in place, and a full one is an error naming it, not exit 0.
    std::os::unix::fs::symlink("/dev/full", w.path("full.csv")).unwrap();
    let full = w.run(&["inventory", "--region", R, "-q", "--out", "full.csv"]);
    full.assert_code(1);
    assert!(
        full.stderr
            .contains("cannot write the fleet file full.csv: No space left on device"),
        "{}",
        full.stderr
    );
    assert!(
        is_link(&w.path("full.csv")),
        "the link to the device is kept"
    );
    assert_eq!(
        std::fs::read_dir(w.dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial"))
            .count(),
        0,
        "nothing left beside it"
    );

    // `-` is standard output: the CSV alone there, the summary on standard error.
    let dash = w.run(&["inventory", "--region", R, "--out", "-"]);
    dash.assert_code(0);
    assert_eq!(dash.stdout, fleet);
    assert!(
        dash.stderr.contains("written to standard output"),
        "{}",
        dash.stderr
    );
    assert!(!w.path("-").exists(), "no file named -");
}

#[test]
fn inventory_refuses_a_key_of_another_region_than_an_inventoried_one() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), INVENTORY_WORLD, &[]);
    let w = Workdir::new(&sandbox);
    let run = w.run(&[
        "inventory",
        "--region",
        R,
        "--region",
        "eu-west-1",
        "--out",
        "keyed.csv",
        "--key-arn",
        &key("k1"),
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("eu-west-1"), "{}", run.stderr);
    let run = w.run(&[
        "inventory",
        "--region",
        "eu-west-1",
        "--out",
        "keyed.csv",
        "--key-arn",
        &key("k1"),
    ]);
    run.assert_code(2);
    assert!(!w.path("keyed.csv").exists());
    assert!(!w.ledger().exists(), "a refused inventory wrote a ledger");
    assert!(sandbox.stats().requests.is_empty());
}

#[test]
fn inventory_pages_past_one_list_page() {
    let sandbox = Sandbox::start(&["--streams", "1050", "--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let summary = w
        .run(&[
            "inventory",
            "--region",
            R,
            "-q",
            "--output",
            "json",
            "--out",
            "fleet.csv",
            "--describe-tps",
            "5000",
        ])
        .assert_code(0)
        .json();
    assert_eq!(summary["regions"][0]["streams"], 1050, "{summary:#}");
    assert_eq!(summary["regions"][0]["unencrypted_direct_put"], 1050);
    let truth = sandbox.stats();
    // A page holds 1000 names.
    assert_eq!(truth.requests_for("ListDeliveryStreams"), 2);
    assert_eq!(truth.requests_for("DescribeDeliveryStream"), 1050);
    let written = std::fs::read_to_string(w.path("fleet.csv")).unwrap();
    let expected: Vec<String> = stream_names(1050)
        .map(|n| format!("{n},{R},,AWS_OWNED_CMK"))
        .collect();
    assert_eq!(written.lines().skip(1).collect::<Vec<_>>(), expected);
}
