//! The five conformance scenarios, each run on both backends (see `on_both!` in the module
//! above): plan of the mixed fleet, apply of it, inventory of its region, `kill -9` in the
//! middle of an apply then `resume`, and the mixed fleet applied then rolled back.

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_firehose::types::DeliveryStreamStatus;
use serde_json::Value;

use super::REGION;
use super::backend::Backend;
use super::mixed::{Before, MIXED, seed_mixed, stream_names};
use super::sdk::{Seen, Source, create_key, create_stream, describe_all, echo, settle};
use crate::common::{ACCOUNT, Run, Workdir};

/// Start/Stop attempts the ledger holds for a stream (every state).
fn attempts(w: &Workdir, name: &str) -> i64 {
    w.sql()
        .query_row(
            "SELECT COUNT(*) FROM attempts a JOIN streams t ON t.id = a.stream_id WHERE t.name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

fn items<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {doc:#}"))
        .iter()
        .find(|i| i["stream"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc:#}"))
}

fn key_json(key_type: Option<&str>, key_arn: Option<&str>) -> Value {
    serde_json::json!({"key_type": key_type, "key_arn": key_arn})
}

/// The `{key_type, key_arn}` of a target.
fn target_json(key_arn: Option<&str>) -> Value {
    match key_arn {
        None => key_json(Some("AWS_OWNED_CMK"), None),
        Some(arn) => key_json(Some("CUSTOMER_MANAGED_CMK"), Some(arn)),
    }
}

fn report(w: &Workdir) -> Value {
    w.run(&["report", "--format", "json"]).assert_code(0).json()
}

/// Fast pacing for runs whose pace is not under test (neither backend throttles here).
const FAST: [&str; 4] = ["--describe-tps", "50", "--start-tps", "50"];

fn run_with(w: &Workdir, args: &[&str], extra: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(extra);
    w.run(&all)
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: plan.

pub fn plan_of_a_mixed_fleet(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let fleet = w.fleet("fleet.csv", &mixed.csv());
    let plan = run_with(
        &w,
        &["plan", fleet.to_str().unwrap(), "-q", "--output", "json"],
        &FAST,
    )
    .assert_code(0)
    .json();

    let verdicts: Vec<(&str, &str, Option<&str>)> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["stream"].as_str().unwrap(),
                i["action"].as_str().unwrap(),
                i["reason"].as_str(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, Option<&str>)> = MIXED
        .iter()
        .map(|r| (r.stream, r.action, r.reason))
        .collect();
    assert_eq!(verdicts, expected, "{plan:#}");
    assert_eq!(
        plan["summary"],
        serde_json::json!({"enable": 4, "rekey": 3, "noop": 1, "skip": 4, "defer": 0}),
        "{plan:#}"
    );
    // What plan shows as current is what Describe answers; the target is the fleet's.
    for r in &MIXED {
        let item = items(&plan, r.stream);
        assert_eq!(
            item["target"],
            target_json(mixed.arn(r.target)),
            "{}: {item:#}",
            r.stream
        );
        let Some((status, key_type, key_arn)) = echo(b, r.stream) else {
            continue;
        };
        assert_eq!(
            (
                item["current"]["stream_status"].as_str(),
                item["current"]["status"].as_str(),
            ),
            (Some("ACTIVE"), Some(status.as_str())),
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(
            key_json(
                item["current"]["key_type"].as_str(),
                item["current"]["key_arn"].as_str()
            ),
            key_json(key_type.as_deref(), key_arn.as_deref()),
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(item["account"], ACCOUNT, "{}: {item:#}", r.stream);
    }
    // The keys passed the KMS preflight and are counted: three streams onto the target key;
    // two leave the other key and one (stopped, so not counted now) comes back to it.
    let key_line = |arn: &str| {
        let line = plan["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_arn"] == arn)
            .unwrap_or_else(|| panic!("no line for {arn} in {plan:#}"));
        (line["streams_now"].as_u64(), line["streams_after"].as_u64())
    };
    assert_eq!(key_line(&mixed.target), (Some(0), Some(3)), "target key");
    assert_eq!(key_line(&mixed.other), (Some(2), Some(1)), "other key");

    // A dry run: every stream is as seeded, and nothing was started.
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.before(r))
    );
    for name in stream_names() {
        assert_eq!(attempts(&w, name), 0, "plan sent a Start to {name}");
    }
    assert_eq!(b.starts_received(), mixed.seed_starts, "a Start was sent");
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: apply.

pub fn apply_of_a_mixed_fleet(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let fleet = w.fleet("fleet.csv", &mixed.csv());
    let summary = run_with(
        &w,
        &[
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--output",
            "json",
            "--first-poll",
            "100ms",
        ],
        &FAST,
    )
    // Two streams are skipped for their keys (one KMS does not know, one disabled): a cause
    // to fix, exit 6.
    .assert_code(6)
    .json();
    assert_eq!(summary["failed"], serde_json::json!([]), "{summary:#}");
    assert_eq!(summary["deferred"], serde_json::json!([]), "{summary:#}");
    assert_eq!(
        summary["skipped_fixable"],
        serde_json::json!({"key_disabled": 1, "key_not_found": 1}),
        "{summary:#}"
    );

    // Our report: each stream where the plan meant it to end, with one Start per change.
    let report = report(&w);
    assert_eq!(report["outcome"], "skipped", "{report:#}");
    for r in &MIXED {
        let item = items(&report, r.stream);
        let target = mixed.arn(r.target);
        let (phase, status, key) = match r.action {
            "enable" | "rekey" | "noop" => {
                ("done", Some("ENABLED".to_owned()), target_json(target))
            }
            // Skipped streams are reported as Describe shows them.
            _ => match echo(b, r.stream) {
                Some((status, key_type, key_arn)) => (
                    "skipped",
                    Some(status),
                    key_json(key_type.as_deref(), key_arn.as_deref()),
                ),
                None => ("skipped", None, key_json(None, None)),
            },
        };
        assert_eq!(
            (
                item["phase"].as_str(),
                item["reason"].as_str(),
                item["status"].as_str()
            ),
            (Some(phase), r.reason, status.as_deref()),
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(
            key_json(item["key_type"].as_str(), item["key_arn"].as_str()),
            key,
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(
            item["target"],
            target_json(target),
            "{}: {item:#}",
            r.stream
        );
        let starts = i64::from(matches!(r.action, "enable" | "rekey"));
        assert_eq!(item["attempts"], starts, "{}: {item:#}", r.stream);
        assert_eq!(attempts(&w, r.stream), starts, "{}", r.stream);
    }

    // The service: every DirectPut stream the plan changed is ENABLED with its target key;
    // the KinesisStreamAsSource stream and those with a bad key are untouched.
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.after(r))
    );
    if let (Some(now), Some(seeded)) = (b.starts_received(), mixed.seed_starts) {
        assert_eq!(now - seeded, 7, "one Start per enable and rekey");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: inventory.

pub fn inventory_of_a_region(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let out = w.path("unencrypted.csv");
    let summary = run_with(
        &w,
        &[
            "inventory",
            "--region",
            REGION,
            "-q",
            "--output",
            "json",
            "--out",
            out.to_str().unwrap(),
        ],
        &FAST[..2],
    )
    .assert_code(0)
    .json();
    let mut by_key = serde_json::Map::new();
    by_key.insert("AWS_OWNED_CMK".into(), 2.into());
    by_key.insert(mixed.other.clone(), 2.into());
    assert_eq!(
        summary["regions"],
        serde_json::json!([{
            "account": ACCOUNT,
            "region": REGION,
            "streams": 11,
            "by_source_type": {"DirectPut": 10, "KinesisStreamAsSource": 1},
            "by_encryption_status": {"DISABLED": 7, "ENABLED": 4},
            "by_key": by_key,
            "unencrypted_direct_put": 6,
            "key_in_force_unknown": 0,
            // The Kinesis stream the KinesisStreamAsSource one names was never created.
            "kinesis_sources": {"unreadable": 1},
        }]),
        "{summary:#}"
    );

    // Every stream of the region is in the ledger with its type, status and key in force, and
    // that is what a direct Describe shows.
    let existing: Vec<&str> = MIXED
        .iter()
        .filter(|r| r.before != Before::Missing)
        .map(|r| r.stream)
        .collect();
    let db = w.sql();
    let ledger: Vec<(String, Option<Seen>)> = existing
        .iter()
        .map(|name| {
            let (account, seen) = db
                .query_row(
                    "SELECT account, source_type, enc_status, in_force_type, in_force_arn
                     FROM streams WHERE region = ?1 AND name = ?2",
                    [REGION, name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            Seen {
                                source: r.get(1)?,
                                status: r.get(2)?,
                                key_type: r.get(3)?,
                                key_arn: r.get(4)?,
                            },
                        ))
                    },
                )
                .unwrap_or_else(|e| panic!("{name} is not in the ledger: {e}"));
            assert_eq!(account, ACCOUNT, "{name}");
            ((*name).to_owned(), Some(seen))
        })
        .collect();
    let described = describe_all(b, existing.iter().copied());
    assert_eq!(ledger, described, "the ledger after inventory");
    let expected: Vec<(String, Option<Seen>)> = MIXED
        .iter()
        .filter(|r| r.before != Before::Missing)
        .map(|r| (r.stream.to_owned(), mixed.before(r)))
        .collect();
    assert_eq!(described, expected);
    let total: i64 = db
        .query_row("SELECT COUNT(*) FROM streams", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 11);

    // The starting fleet file: the unencrypted DirectPut streams, to the AWS-owned key.
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.remove(0), "stream,region,key_arn,key_type");
    lines.sort_unstable();
    let expected: Vec<String> = [
        "plain",
        "plain-to-key",
        "stopped",
        "stopped-from-other",
        "to-disabled-key",
        "to-missing-key",
    ]
    .iter()
    .map(|n| format!("{n},{REGION},,AWS_OWNED_CMK"))
    .collect();
    assert_eq!(lines, expected);
    assert_eq!(b.starts_received(), mixed.seed_starts, "a Start was sent");
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: kill -9 in the middle of an apply, then resume.

/// Stock moto allows 50 streams per region.
const BULK: usize = 45;

pub fn resume_after_kill_9_converges(b: &Backend) {
    let names: Vec<String> = (0..BULK).map(|i| format!("bulk-{i:02}")).collect();
    // Every third stream to a customer key, the rest to the AWS-owned key.
    let key = b.block_on(async {
        let fh = b.firehose();
        let key = create_key(&b.kms()).await;
        for name in &names {
            create_stream(&fh, name, Source::DirectPut).await;
        }
        for name in &names {
            settle(&fh, name, |d| {
                d.delivery_stream_status() == &DeliveryStreamStatus::Active
            })
            .await;
        }
        key
    });
    let target = |i: usize| i.is_multiple_of(3).then_some(key.as_str());
    let w = b.workdir();
    let mut csv = String::from("stream,region,key_arn\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("{name},{REGION},{}\n", target(i).unwrap_or("")));
    }
    let fleet = w.fleet("fleet.csv", &csv);

    // Observation is quick; the Starts, at 3 a second, take 15 s: kill once a few are sent.
    let mut child = w
        .command()
        .args([
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--describe-tps",
            "50",
            "--start-tps",
            "3",
            "--first-poll",
            "100ms",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Opening a missing ledger would create it under the binary's feet: wait for it.
        let sent = if w.ledger().exists() {
            w.sql()
                .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0)
        } else {
            0
        };
        if sent >= 4 {
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before it could be killed, after {sent} Starts");
        }
        assert!(Instant::now() < deadline, "apply sent no Start in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let counted = |sql: &str| -> i64 { w.sql().query_row(sql, [], |r| r.get(0)).unwrap() };
    let in_flight = counted("SELECT COUNT(*) FROM attempts WHERE state = 'in_flight'");
    let started = counted("SELECT COUNT(*) FROM attempts");
    assert!(
        (started as usize) < BULK,
        "killed after every Start ({started}); the scenario needs a run cut short"
    );

    run_with(
        &w,
        &["resume", "--yes", "-q", "--first-poll", "100ms"],
        &FAST,
    )
    .assert_code(0);
    assert_eq!(
        counted("SELECT COUNT(*) FROM attempts WHERE state = 'in_flight'"),
        0,
        "resume reconciled every attempt the kill left in flight"
    );

    let report = report(&w);
    assert_eq!(report["outcome"], "converged", "{report:#}");
    for (i, name) in names.iter().enumerate() {
        let item = items(&report, name);
        assert_eq!(
            (item["phase"].as_str(), item["status"].as_str()),
            (Some("done"), Some("ENABLED")),
            "{name}: {item:#}"
        );
        assert_eq!(
            serde_json::json!({"key_type": item["key_type"], "key_arn": item["key_arn"]}),
            target_json(target(i)),
            "{name}: {item:#}"
        );
    }
    // No Start wasted: one per stream, plus at most one for each whose outcome the kill left
    // unknown (resume reconciles those with Describe before anything else).
    let total = counted("SELECT COUNT(*) FROM attempts WHERE state != 'not_sent'");
    assert!(
        total <= BULK as i64 + in_flight,
        "{total} Starts for {BULK} streams with {in_flight} in flight at the kill"
    );
    for name in &names {
        let n = attempts(&w, name);
        assert!((1..=2).contains(&n), "{name}: {n} attempts");
    }
    if let Some(starts) = b.starts_received() {
        assert!(
            starts <= BULK as u64 + in_flight as u64,
            "{starts} Starts received"
        );
    }

    let expected: Vec<(String, Option<Seen>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.clone(),
                Some(Seen::new("DirectPut", "ENABLED", Some(target(i)))),
            )
        })
        .collect();
    assert_eq!(describe_all(b, names.iter().map(String::as_str)), expected);
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: rollback.

pub fn rollback_of_a_mixed_apply(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let fleet = w.fleet("fleet.csv", &mixed.csv());
    run_with(
        &w,
        &[
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--first-poll",
            "100ms",
        ],
        &FAST,
    )
    .assert_code(6);
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.after(r))
    );
    let starts_after_apply = b.starts_received();

    run_with(
        &w,
        &["rollback", "--yes", "-q", "--first-poll", "100ms"],
        &FAST,
    )
    .assert_code(0);
    let report = report(&w);
    assert_eq!(report["outcome"], "converged", "{report:#}");
    for r in &MIXED {
        let item = items(&report, r.stream);
        // What the apply changed is undone: a Stop where there was no encryption, else a
        // Start with the earlier key; what it did not change is left alone.
        let undo = match r.action {
            "enable" => "disable",
            "rekey" => "restore",
            _ => "noop",
        };
        assert_eq!(item["action"], undo, "{}: {item:#}", r.stream);
        let calls = i64::from(undo != "noop");
        // The apply's call and the rollback's.
        let apply_calls = i64::from(matches!(r.action, "enable" | "rekey"));
        assert_eq!(attempts(&w, r.stream), apply_calls + calls, "{}", r.stream);
    }
    // The service: every stream back as seeded.
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.before(r))
    );
    if let (Some(now), Some(then)) = (b.starts_received(), starts_after_apply) {
        assert_eq!(
            now - then,
            3,
            "one Start per rekey restored, none for a disable"
        );
    }
}
