//! An AWS Organization in one run, on a sandbox serving several accounts: the organization
//! inventoried, planned and applied with each stream described and started by its own
//! account's credentials (ground truth: no call ever reached another account's stream), an
//! account whose role cannot be assumed left `no_credentials` while the others carry on,
//! shards whose merged report equals one process's, and `kill -9` then resume with the chaos
//! suite's promises holding per account.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{
    ACCOUNT, Sandbox, Stats, Workdir, in_flight, ledger_counts_by_account, signal, spawn,
};

const R: &str = "us-east-1";

/// The member accounts `sandbox --accounts N` makes.
fn members(n: u64) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{:012}", 100_000_000_000 + i))
        .collect()
}

/// A fleet of every stream of `accounts`, `streams` each, by ARN.
fn org_fleet(accounts: &[String], streams: usize) -> String {
    let mut csv = String::from("stream\n");
    for a in accounts {
        for i in 0..streams {
            csv.push_str(&format!(
                "arn:aws:firehose:{R}:{a}:deliverystream/stream-{i:05}\n"
            ));
        }
    }
    csv
}

/// Every member's streams reached only with its own credentials: no account's credentials
/// were ever answered "not found" for a stream (it would have been another account's).
fn assert_no_call_crossed_accounts(truth: &Stats) {
    for a in &truth.accounts {
        assert!(
            a.stream_not_found.is_empty(),
            "account {}: calls to streams it does not hold: {:?}",
            a.id,
            a.stream_not_found
        );
    }
}

fn report_items(w: &Workdir, ledgers: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json"];
    for l in ledgers {
        args.extend(["--ledger", l]);
    }
    w.run(&args).assert_code(0).json()
}

/// What a report says of each stream, for comparing two reports.
fn outcomes(report: &Value) -> BTreeSet<String> {
    report["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {report:#}"))
        .iter()
        .map(|i| {
            format!(
                "{}/{}/{} {} {} {} {}",
                i["account"],
                i["region"],
                i["stream"],
                i["action"],
                i["phase"],
                i["status"],
                i["key_type"]
            )
        })
        .collect()
}

#[test]
fn an_organization_is_inventoried_planned_and_applied_each_stream_by_its_own_account() {
    let sandbox = Sandbox::start(&["--accounts", "3", "--streams", "4", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let role = ["--assume-role", "firehose-sse"];
    let out = w.path("fleet.csv");
    let mut args = vec![
        "inventory",
        "--organization",
        "--region",
        R,
        "-q",
        "--output",
        "json",
    ];
    args.extend(role);
    args.extend(["--out", out.to_str().unwrap()]);
    let inventory = w.run(&args).assert_code(0).json();
    let regions = inventory["regions"].as_array().unwrap();
    let listed: BTreeSet<&str> = regions
        .iter()
        .map(|r| r["account"].as_str().unwrap())
        .collect();
    // The management account (the credentials' own) is an ACTIVE account of the organization.
    let members = members(3);
    let expected: BTreeSet<&str> = members
        .iter()
        .map(String::as_str)
        .chain([ACCOUNT])
        .collect();
    assert_eq!(listed, expected, "{inventory:#}");
    for r in regions {
        let want = if r["account"] == ACCOUNT { 0 } else { 4 };
        assert_eq!(r["streams"], want, "{r:#}");
    }
    let fleet = std::fs::read_to_string(&out).unwrap();
    assert_eq!(fleet.lines().count(), 1 + 12, "{fleet}");
    assert!(
        fleet.contains(":100000000002:deliverystream/stream-00003"),
        "{fleet}"
    );

    let mut args = vec!["plan", out.to_str().unwrap(), "-q", "--output", "json"];
    args.extend(role);
    let plan = w.run(&args).assert_code(0).json();
    assert_eq!(plan["summary"]["enable"], 12, "{plan:#}");
    assert_eq!(plan["accounts"].as_array().unwrap().len(), 3, "{plan:#}");

    let mut args = vec!["apply", out.to_str().unwrap(), "--yes", "-q"];
    args.extend(role);
    w.run(&args).assert_code(0);
    let truth = sandbox.stats();
    for a in &members {
        for i in 0..4 {
            let name = format!("stream-{i:05}");
            let s = truth.stream_of(a, R, &name).unwrap();
            assert_eq!(
                (s.status.as_str(), s.start_calls),
                ("ENABLED", 1),
                "{a}/{name}"
            );
        }
        let stats = truth.account_stats(a).unwrap();
        assert!(stats.sessions_issued >= 1, "{a}: its role was assumed");
    }
    assert_no_call_crossed_accounts(&truth);
    let report = report_items(&w, &[]);
    assert_eq!(
        report["accounts"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    let status = w.run(&["status"]).assert_code(0).stdout.clone();
    assert!(status.contains("3 accounts, 0 in progress"), "{status}");
}

#[test]
fn an_account_whose_role_cannot_be_assumed_is_no_credentials_and_the_others_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(
        dir.path(),
        r#"{"accounts": [
             {"id": "111111111111", "roles": ["firehose-sse"], "streams": [{"name": "a"}]},
             {"id": "222222222222", "roles": ["someone-else"], "streams": [{"name": "b"}]}]}"#,
        &["--latency", "100ms"],
    );
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,account\na,{R},111111111111\nb,{R},222222222222\n"),
    );
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "-q",
            "--output",
            "json",
            "--assume-role",
            "firehose-sse",
        ])
        .assert_code(0)
        .json();
    let b = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["stream"] == "b")
        .unwrap();
    assert_eq!(b["reason"], "no_credentials", "{b:#}");
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("222222222222") && warnings.contains("AccessDenied"),
        "{warnings}"
    );
    // The stream left behind is a cause to fix: exit 6, not a green run.
    w.run(&[
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "-q",
        "--assume-role",
        "firehose-sse",
    ])
    .assert_code(6);
    let truth = sandbox.stats();
    assert_eq!(
        truth.stream_of("111111111111", R, "a").unwrap().status,
        "ENABLED"
    );
    let b = truth.stream_of("222222222222", R, "b").unwrap();
    assert_eq!((b.status.as_str(), b.start_calls), ("DISABLED", 0));
    let denied = truth.account_stats("222222222222").unwrap();
    assert!(denied.assume_role_denied >= 1);
    assert_eq!(
        denied
            .requests
            .get("DescribeDeliveryStream")
            .copied()
            .unwrap_or(0),
        0,
        "never described"
    );
    assert_no_call_crossed_accounts(&truth);
}

#[test]
fn shards_carry_out_what_one_process_would_and_the_merged_report_says_so() {
    let args = ["--accounts", "8", "--streams", "5", "--latency", "100ms"];
    let accounts = members(8);
    let csv = org_fleet(&accounts, 5);

    // One process, on its own sandbox.
    let alone = Sandbox::start(&args);
    let w = Workdir::new(&alone);
    let fleet = w.fleet("fleet.csv", &csv);
    w.apply(&fleet, &["--assume-role", "firehose-sse"])
        .assert_code(0);
    let single = report_items(&w, &[]);

    // Three shards at once, each with its own ledger, on another.
    let sharded = Sandbox::start(&args);
    let w = Workdir::new(&sharded);
    let fleet = w.fleet("fleet.csv", &csv);
    let ledgers: Vec<String> = (1..=3)
        .map(|i| {
            w.path(&format!("shard-{i}.db"))
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let children: Vec<_> = (1..=3)
        .map(|i| {
            let shard = format!("{i}/3");
            w.command_to(&w.endpoint, std::path::Path::new(&ledgers[i - 1]))
                .args([
                    "apply",
                    fleet.to_str().unwrap(),
                    "--yes",
                    "-q",
                    "--assume-role",
                    "firehose-sse",
                    "--shard",
                    &shard,
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let refs: Vec<&str> = ledgers.iter().map(String::as_str).collect();
    let merged = report_items(&w, &refs);
    assert_eq!(merged["runs"].as_array().unwrap().len(), 3, "{merged:#}");
    assert_eq!(merged["outcome"], "converged");
    assert_eq!(outcomes(&merged), outcomes(&single));
    assert_eq!(outcomes(&merged).len(), 40);
    // Each stream was started once, by one shard.
    let truth = sharded.stats();
    for a in &accounts {
        for i in 0..5 {
            let s = truth.stream_of(a, R, &format!("stream-{i:05}")).unwrap();
            assert_eq!((s.status.as_str(), s.start_calls), ("ENABLED", 1), "{a}");
        }
    }
    assert_no_call_crossed_accounts(&truth);
    let mut status_args = vec!["status"];
    for l in &refs {
        status_args.extend(["--ledger", l]);
    }
    let status = w.run(&status_args).assert_code(0).stdout.clone();
    assert!(
        status.contains("3 ledgers, 40 streams: 40 done"),
        "{status}"
    );
    // History over the shards: each ledger's runs, named with their ledger.
    let mut history_args = vec!["history", "--output", "json"];
    for l in &refs {
        history_args.extend(["--ledger", l]);
    }
    let history = w.run(&history_args).assert_code(0).json();
    let applies: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "apply")
        .map(|r| {
            (
                r["ledger"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let named: Vec<(&str, &str)> = refs.iter().map(|l| (*l, "converged")).collect();
    assert_eq!(applies, named, "{history:#}");
}

#[test]
fn kill_9_in_a_multi_account_run_then_resume_keeps_every_promise_per_account() {
    let sandbox = Sandbox::start(&[
        "--accounts",
        "4",
        "--streams",
        "6",
        "--latency",
        "1s",
        "--tps",
        "5",
    ]);
    let w = Workdir::new(&sandbox);
    let accounts = members(4);
    let fleet = w.fleet("fleet.csv", &org_fleet(&accounts, 6));
    let mut child = spawn(
        &w,
        &[
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "--assume-role",
            "firehose-sse",
            "--start-tps",
            "2",
        ],
    );
    let sent = |w: &Workdir| -> i64 {
        if !w.ledger().exists() {
            return 0;
        }
        w.sql()
            .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get(0))
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent(&w) < 6 {
        assert!(Instant::now() < deadline, "no Start sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-KILL");
    child.wait().unwrap();
    let at_kill = in_flight(&w);
    assert!((sent(&w) as usize) < 24, "killed before every Start");
    // `resume` as the run's hint says it, without --assume-role: the run recorded its roles.
    w.run(&["resume", "-q"]).assert_code(0);
    let truth = sandbox.stats();
    assert_eq!(
        truth.limit_exceeded.stream_budget, 0,
        "a call was sent past a stream's budget"
    );
    // Calls recorded per (account, stream): every Start an account's stream received is an
    // attempt in the ledger under that account.
    let recorded = ledger_counts_by_account(&w);
    let mut extra = 0;
    for a in &accounts {
        for i in 0..6 {
            let name = format!("stream-{i:05}");
            let s = truth.stream_of(a, R, &name).unwrap();
            assert_eq!(s.status, "ENABLED", "{a}");
            assert!(s.start_calls >= 1, "{a}");
            extra += s.start_calls - 1;
            assert!(s.calls_in_window <= 25, "{a}: the budget holds");
            let counted = recorded.get(&(a.to_string(), name.clone())).copied();
            assert!(
                counted.unwrap_or(0) as u64 >= s.start_calls,
                "{a}/{name}: the ledger counts {counted:?} calls, the sandbox accepted {}",
                s.start_calls
            );
        }
        let stats = truth.account_stats(a).unwrap();
        assert_eq!(
            stats.throttled.values().sum::<u64>(),
            0,
            "{a}: its quota was kept"
        );
    }
    assert!(
        extra <= at_kill as u64,
        "{extra} Starts beyond one per stream, {at_kill} in flight at the kill"
    );
    assert_no_call_crossed_accounts(&truth);
}
