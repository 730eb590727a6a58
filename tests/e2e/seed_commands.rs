//! `start-delivery-stream-encryption` and `stop-delivery-stream-encryption` as the AWS CLI
//! spells them — the forms its reference gives (the structure in shorthand and as JSON,
//! `--cli-input-json` of the skeleton, `--generate-cli-skeleton input|output`, equal to the
//! AWS CLI's own) — carried out through the ledger: planned, paced, recorded, waited to the
//! end, with apply's exit codes. The AWS CLI reference has no Examples section for either
//! command; its synopsis and its Shorthand and JSON syntax are what the tests run.

use std::path::Path;

use serde_json::json;

use crate::aws_cli;
use crate::common::{Run, Sandbox, Workdir, key_arn, stream};

const R: &str = "us-east-1";

const WORLD: &str = r#"{
  "streams": [
    {"name": "s-owned"}, {"name": "s-short"}, {"name": "s-json"}, {"name": "s-input"},
    {"name": "s-later"}, {"name": "s-budget"}, {"name": "s-denied"},
    {"name": "s-stop", "encryption": {"key_type": "AWS_OWNED_CMK"}},
    {"name": "s-kinesis", "type": "KinesisStreamAsSource"}
  ],
  "keys": [
    {"id": "k1"},
    {"id": "k-denied", "failure": {"type": "KMS_ACCESS_DENIED"}}
  ]
}"#;

fn run(w: &Workdir, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--first-poll", "200ms", "-q"]);
    w.run(&all)
}

#[test]
fn the_reference_forms_run_against_the_sandbox_through_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), WORLD, &["--latency", "300ms"]);
    let w = Workdir::new(&sandbox);
    let key = key_arn(R, "k1");
    let start = "start-delivery-stream-encryption";

    // The shorthand syntax, an AWS-owned key and a customer key.
    run(
        &w,
        &[
            start,
            "--region",
            R,
            "--delivery-stream-name",
            "s-owned",
            "--delivery-stream-encryption-configuration-input",
            "KeyType=AWS_OWNED_CMK",
        ],
    )
    .assert_code(0);
    run(
        &w,
        &[
            start,
            "--region",
            R,
            "--delivery-stream-name",
            "s-short",
            "--delivery-stream-encryption-configuration-input",
            &format!("KeyType=CUSTOMER_MANAGED_CMK,KeyARN={key}"),
        ],
    )
    .assert_code(0);
    // The JSON syntax; the run's summary through --query.
    let json_form = run(
        &w,
        &[
            start,
            "--region",
            R,
            "--delivery-stream-name",
            "s-json",
            "--delivery-stream-encryption-configuration-input",
            &format!(r#"{{"KeyARN": "{key}", "KeyType": "CUSTOMER_MANAGED_CMK"}}"#),
            "--output",
            "json",
            "--query",
            "counts.done",
        ],
    );
    json_form.assert_code(0);
    assert_eq!(json_form.json(), json!(1));
    // --cli-input-json from a file, in the skeleton's shape.
    let input = w.path("input.json");
    std::fs::write(&input, format!(
        r#"{{"DeliveryStreamName": "s-input", "DeliveryStreamEncryptionConfigurationInput": {{"KeyARN": "{key}", "KeyType": "CUSTOMER_MANAGED_CMK"}}}}"#
    )).unwrap();
    run(
        &w,
        &[
            start,
            "--region",
            R,
            "--cli-input-json",
            &format!("file://{}", input.display()),
        ],
    )
    .assert_code(0);
    // Stop, waited to DISABLED.
    run(
        &w,
        &[
            "stop-delivery-stream-encryption",
            "--region",
            R,
            "--delivery-stream-name",
            "s-stop",
        ],
    )
    .assert_code(0);

    let stats = sandbox.stats();
    for (name, key_type, arn) in [
        ("s-owned", "AWS_OWNED_CMK", None),
        ("s-short", "CUSTOMER_MANAGED_CMK", Some(key.as_str())),
        ("s-json", "CUSTOMER_MANAGED_CMK", Some(key.as_str())),
        ("s-input", "CUSTOMER_MANAGED_CMK", Some(key.as_str())),
    ] {
        let s = stream(&stats, name);
        assert_eq!(
            (
                s.status.as_str(),
                s.key_type.as_deref(),
                s.key_arn.as_deref()
            ),
            ("ENABLED", Some(key_type), arn),
            "{name}"
        );
        assert_eq!(s.start_calls, 1, "{name}");
    }
    let stopped = stream(&stats, "s-stop");
    assert_eq!(
        (stopped.status.as_str(), stopped.stop_calls),
        ("DISABLED", 1)
    );

    // Every call is in the ledger, each command a run of its own.
    let conn = w.sql();
    let calls: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT s.name, a.op, a.state FROM attempts a JOIN streams s ON s.id = a.stream_id ORDER BY a.id",
        ).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let ok = |n: &str, op: &str| (n.to_owned(), op.to_owned(), "ok".to_owned());
    assert_eq!(
        calls,
        vec![
            ok("s-owned", "start"),
            ok("s-short", "start"),
            ok("s-json", "start"),
            ok("s-input", "start"),
            ok("s-stop", "stop")
        ]
    );
    let history = w.run(&["history", "--output", "json", "--query", "[].args.command"]);
    assert_eq!(
        history.json(),
        json!([
            "stop-delivery-stream-encryption",
            start,
            start,
            start,
            start
        ])
    );

    // The same command again sends nothing: the stream is at its target.
    run(
        &w,
        &[start, "--region", R, "--delivery-stream-name", "s-owned"],
    )
    .assert_code(0);
    assert_eq!(stream(&sandbox.stats(), "s-owned").start_calls, 1);
}

#[test]
fn no_wait_returns_once_accepted_and_resume_follows_it_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), WORLD, &["--latency", "3s"]);
    let w = Workdir::new(&sandbox);
    let quick = run(
        &w,
        &[
            "start-delivery-stream-encryption",
            "--region",
            R,
            "--delivery-stream-name",
            "s-later",
            "--no-wait",
        ],
    );
    quick.assert_code(0);
    assert!(
        quick.stderr.contains("firehose-sse resume 1"),
        "{}",
        quick.stderr
    );
    let stats = sandbox.stats();
    let s = stream(&stats, "s-later");
    assert_eq!((s.status.as_str(), s.start_calls), ("ENABLING", 1));
    run(&w, &["resume"]).assert_code(0);
    let stats = sandbox.stats();
    let s = stream(&stats, "s-later");
    assert_eq!((s.status.as_str(), s.start_calls), ("ENABLED", 1));
}

#[test]
fn budget_keys_and_sources_give_apply_s_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), WORLD, &["--latency", "200ms"]);
    let w = Workdir::new(&sandbox);
    let start = "start-delivery-stream-encryption";
    // No call above a reserve of the whole budget: deferred, exit 4, nothing sent.
    run(
        &w,
        &[
            start,
            "--region",
            R,
            "--delivery-stream-name",
            "s-budget",
            "--reserve",
            "25",
        ],
    )
    .assert_code(4);
    assert_eq!(stream(&sandbox.stats(), "s-budget").start_calls, 0);
    // A key whose policy refuses Firehose: failed with its hint, exit 3.
    let denied = run(
        &w,
        &[
            start,
            "--region",
            R,
            "--delivery-stream-name",
            "s-denied",
            "--delivery-stream-encryption-configuration-input",
            &format!(
                "KeyType=CUSTOMER_MANAGED_CMK,KeyARN={}",
                key_arn(R, "k-denied")
            ),
        ],
    );
    denied.assert_code(3);
    assert!(
        denied
            .stdout
            .contains("the key policy must allow the Firehose service"),
        "{}",
        denied.stdout
    );
    // A Kinesis-sourced stream is skipped, never started.
    run(
        &w,
        &[start, "--region", R, "--delivery-stream-name", "s-kinesis"],
    )
    .assert_code(0);
    assert_eq!(stream(&sandbox.stats(), "s-kinesis").start_calls, 0);
    let report = w.run(&["report", "--format", "json", "--query", "items[0].reason"]);
    assert_eq!(report.json(), json!("not_direct_put"));
}

#[test]
fn mistakes_in_the_input_are_refused_before_anything_is_sent_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), WORLD, &[]);
    let w = Workdir::new(&sandbox);
    let start = "start-delivery-stream-encryption";
    let other_region = "arn:aws:kms:eu-west-1:123456789012:key/k1";
    for (args, says) in [
        (
            vec![start, "--region", R],
            "the following arguments are required: --delivery-stream-name",
        ),
        (
            vec![
                start,
                "--region",
                R,
                "--delivery-stream-name",
                "s-owned",
                "--delivery-stream-encryption-configuration-input",
                "KeyARN=x",
            ],
            "Missing required parameter in DeliveryStreamEncryptionConfigurationInput: \"KeyType\"",
        ),
        (
            vec![
                start,
                "--region",
                R,
                "--delivery-stream-name",
                "s-owned",
                "--delivery-stream-encryption-configuration-input",
                "KeyType=AWS_OWNED_CMK,Key=1",
            ],
            "Unknown parameter in DeliveryStreamEncryptionConfigurationInput: \"Key\"",
        ),
        (
            vec![
                start,
                "--region",
                R,
                "--cli-input-json",
                "{\"DeliveryStreamName\": 5}",
            ],
            "Invalid type for parameter DeliveryStreamName",
        ),
        (
            vec![
                start,
                "--region",
                R,
                "--delivery-stream-name",
                "s-owned",
                "--delivery-stream-encryption-configuration-input",
                &format!("KeyType=CUSTOMER_MANAGED_CMK,KeyARN={other_region}"),
            ],
            "Firehose needs a key of the stream's own region",
        ),
        (
            vec![
                "stop-delivery-stream-encryption",
                "--region",
                R,
                "--delivery-stream-name",
                "s-stop",
                "--generate-cli-skeleton",
                "yaml-input",
            ],
            "invalid value",
        ),
    ] {
        let out = w.run(&args);
        out.assert_code(2);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    assert!(!w.ledger().exists(), "a ledger was written");
    let stats = sandbox.stats();
    assert_eq!(stats.requests_for("StartDeliveryStreamEncryption"), 0);
    assert_eq!(stats.requests_for("DescribeDeliveryStream"), 0);
}

/// Our skeleton and the AWS CLI's, for the same arguments.
fn both(w: &Workdir, args: &[&str]) -> (Run, std::process::Output) {
    let ours = w.run(args);
    let mut theirs = vec!["firehose"];
    theirs.extend_from_slice(args);
    (ours, aws_cli::aws(&theirs, w.dir.path()))
}

/// A document's keys and nesting, each leaf its JSON type (the AWS CLI fills an enum member
/// with a value drawn at random).
fn shape(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        serde_json::Value::Array(a) => a.iter().map(shape).collect(),
        serde_json::Value::String(_) => json!("string"),
        other => json!(format!("{other:?}")),
    }
}

#[test]
fn generate_cli_skeleton_prints_what_the_aws_cli_prints() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), WORLD, &[]);
    let w = Workdir::new(&sandbox);
    for command in [
        "start-delivery-stream-encryption",
        "stop-delivery-stream-encryption",
    ] {
        for args in [
            vec![command, "--generate-cli-skeleton"],
            vec![command, "--generate-cli-skeleton", "input"],
            vec![
                command,
                "--delivery-stream-name",
                "s-owned",
                "--generate-cli-skeleton",
                "output",
            ],
        ] {
            let (ours, theirs) = both(&w, &args);
            assert!(
                theirs.status.success(),
                "aws {args:?}: {}",
                String::from_utf8_lossy(&theirs.stderr)
            );
            ours.assert_code(0);
            let theirs = String::from_utf8(theirs.stdout).unwrap();
            if args.contains(&"output") {
                // The operation returns no members: the AWS CLI prints nothing.
                assert_eq!(ours.stdout, theirs, "{args:?}");
                continue;
            }
            // The same keys and nesting, in the same order, indented the same way.
            let (o, t): (serde_json::Value, serde_json::Value) = (
                serde_json::from_str(&ours.stdout).unwrap(),
                serde_json::from_str(&theirs).unwrap(),
            );
            assert_eq!(shape(&o), shape(&t), "{args:?}");
            let keys = |text: &str| -> Vec<String> {
                text.lines()
                    .map(|l| l.split(':').next().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(keys(&ours.stdout), keys(&theirs), "{args:?}");
            if let Some(key_type) = t.pointer("/DeliveryStreamEncryptionConfigurationInput/KeyType")
            {
                assert!(
                    ["AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"].contains(&key_type.as_str().unwrap()),
                    "{key_type}"
                );
            }
        }
    }
    // Nothing was called or written.
    assert_eq!(sandbox.stats().requests_for("DescribeDeliveryStream"), 0);
    assert!(!w.ledger().exists());
    let skeleton = w
        .run(&[
            "start-delivery-stream-encryption",
            "--generate-cli-skeleton",
        ])
        .stdout;
    let filled = skeleton
        .replacen(
            "\"DeliveryStreamName\": \"\"",
            "\"DeliveryStreamName\": \"s-input\"",
            1,
        )
        .replace("\"KeyARN\": \"\",", "");
    let file = Path::new(w.dir.path()).join("filled.json");
    std::fs::write(&file, filled).unwrap();
    run(
        &w,
        &[
            "start-delivery-stream-encryption",
            "--region",
            R,
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
    )
    .assert_code(0);
    assert_eq!(stream(&sandbox.stats(), "s-input").status, "ENABLED");
}
