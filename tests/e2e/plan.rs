//! plan and inventory, end to end: the real binary against the sandbox. What plan decides and
//! why, what it reports (table and JSON, snapshotted), what it costs against the limits, that it
//! and inventory only ever read, and at what pace.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::common::*;
use firehose_sse::clock::{DAY, HOUR, rfc3339};
use serde_json::Value;

const R: &str = "us-east-1";

/// The read-only operations; plan and inventory may send nothing else.
const READS: [&str; 3] = [
    "DescribeDeliveryStream",
    "ListDeliveryStreams",
    "DescribeKey",
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn key(id: &str) -> String {
    key_arn(R, id)
}

/// Adds Start attempts (send time, state) to the ledger row of stream `name` of us-east-1,
/// which a previous plan must have observed.
fn add_attempts(w: &Workdir, name: &str, attempts: &[(i64, &str)]) {
    let db = w.sql();
    let stream: i64 = db
        .query_row(
            "SELECT id FROM streams WHERE region = ?1 AND name = ?2",
            [R, name],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{name} is not in the ledger: {e}"));
    for (sent_at, state) in attempts {
        db.execute(
            "INSERT INTO attempts (stream_id, op, key_type, sent_at, state, completed_at)
             VALUES (?1, 'start', 'AWS_OWNED_CMK', ?2, ?3, CASE WHEN ?3 = 'in_flight' THEN NULL ELSE ?2 END)",
            rusqlite::params![stream, sent_at, state],
        )
        .unwrap();
    }
}

/// The items of a JSON plan by stream name.
fn item<'a>(plan: &'a Value, stream: &str) -> &'a Value {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["stream"] == stream)
        .unwrap_or_else(|| panic!("no item for {stream} in {plan:#}"))
}

/// (stream, action, reason) of every item, in report order.
fn verdicts(plan: &Value) -> Vec<(String, String, Option<String>)> {
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["stream"].as_str().unwrap().to_owned(),
                i["action"].as_str().unwrap().to_owned(),
                i["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn key_line<'a>(plan: &'a Value, arn: &str) -> &'a Value {
    plan["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_arn"] == arn)
        .unwrap_or_else(|| panic!("no key line for {arn} in {plan:#}"))
}

fn assert_only_reads(truth: &Stats) {
    for (op, n) in &truth.requests {
        assert!(
            READS.contains(&op.as_str()),
            "{n} {op} request(s) sent: {:?}",
            truth.requests
        );
    }
    for s in &truth.streams {
        assert_eq!(
            (s.start_calls, s.stop_calls, s.rejected_calls),
            (0, 0, 0),
            "{s:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A world with one stream for every action and reason.

const MIXED_WORLD: &str = r#"{
  "streams": [
    {"name": "s-enable"},
    {"name": "s-rekey", "encryption": {"key_type": "AWS_OWNED_CMK"}},
    {"name": "s-noop", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/good"}},
    {"name": "s-kinesis", "type": "KinesisStreamAsSource"},
    {"name": "s-creating", "status": "CREATING"},
    {"name": "s-key-missing"},
    {"name": "s-key-disabled"},
    {"name": "s-key-rsa"},
    {"name": "s-cmk-a"},
    {"name": "s-cmk-b"},
    {"name": "s-cmk-c"},
    {"name": "s-budget"}
  ],
  "keys": [
    {"id": "good"},
    {"id": "off", "state": "Disabled"},
    {"id": "rsa", "spec": "RSA_2048", "usage": "SIGN_VERIFY"},
    {"id": "small"}
  ]
}"#;

/// Fleet order; `s-gone` exists nowhere. `--cmk-limit 2` leaves key/small room for two streams.
fn mixed_fleet() -> String {
    let rows = [
        ("s-enable", String::new()),
        ("s-rekey", key("good")),
        ("s-noop", key("good")),
        ("s-kinesis", String::new()),
        ("s-creating", String::new()),
        ("s-gone", String::new()),
        ("s-key-missing", key("missing")),
        ("s-key-disabled", key("off")),
        ("s-key-rsa", key("rsa")),
        ("s-cmk-a", key("small")),
        ("s-cmk-b", key("small")),
        ("s-cmk-c", key("small")),
        ("s-budget", String::new()),
    ];
    let mut text = String::from("stream,region,key_arn\n");
    for (name, key) in rows {
        text.push_str(&format!("{name},{R},{key}\n"));
    }
    text
}

const MIXED_ARGS: [&str; 2] = ["--cmk-limit", "2"];

/// For runs whose pace is not under test, against a sandbox started with `--tps 0`.
const FAST: [&str; 2] = ["--describe-tps", "100"];

/// The mixed world, planned once so the ledger knows its streams, then `s-budget` given 24
/// counted attempts in the last 23 hours. Returns the time its next slot frees.
fn mixed() -> (Sandbox, Workdir, i64) {
    let w_dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(w_dir.path(), MIXED_WORLD, &["--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &mixed_fleet());
    w.run(&["plan", fleet.to_str().unwrap(), "-q", FAST[0], FAST[1]])
        .assert_code(0);
    // Whole seconds, so that the report's second-precision times are exact.
    let base = now_ms() / 1000 * 1000;
    let oldest = base - 23 * HOUR;
    let attempts: Vec<(i64, &str)> = (0..24).map(|i| (oldest + i * 60_000, "ok")).collect();
    add_attempts(&w, "s-budget", &attempts);
    (sandbox, w, oldest + DAY)
}

fn plan_json(w: &Workdir, fleet: &str, extra: &[&str]) -> Value {
    let fleet = w.path(fleet);
    let mut args = vec!["plan", fleet.to_str().unwrap(), "-q", "--output", "json"];
    args.extend_from_slice(extra);
    w.run(&args).assert_code(0).json()
}

#[test]
fn every_action_and_reason_code_reaches_the_report() {
    let (_sandbox, w, next_slot) = mixed();
    let plan = plan_json(&w, "fleet.csv", &[MIXED_ARGS, FAST].concat());
    let v = |s: &str, a: &str, r: Option<&str>| (s.to_owned(), a.to_owned(), r.map(str::to_owned));
    assert_eq!(
        verdicts(&plan),
        [
            v("s-enable", "enable", None),
            v("s-rekey", "rekey", None),
            v("s-noop", "noop", None),
            v("s-kinesis", "skip", Some("not_direct_put")),
            v("s-creating", "skip", Some("not_active")),
            v("s-gone", "skip", Some("not_found")),
            v("s-key-missing", "skip", Some("key_not_found")),
            v("s-key-disabled", "skip", Some("key_disabled")),
            v("s-key-rsa", "skip", Some("key_not_symmetric")),
            v("s-cmk-a", "enable", None),
            v("s-cmk-b", "enable", None),
            v("s-cmk-c", "skip", Some("cmk_limit")),
            v("s-budget", "defer", Some("budget")),
        ]
    );
    assert_eq!(
        plan["summary"],
        serde_json::json!({"enable": 3, "rekey": 1, "noop": 1, "skip": 7, "defer": 1})
    );
    let deferred = item(&plan, "s-budget");
    assert_eq!(deferred["next_slot"], rfc3339(next_slot), "{deferred:#}");
    assert_eq!(deferred["budget_used"], 24);
    for i in plan["items"].as_array().unwrap() {
        if i["action"] != "defer" {
            assert!(i["next_slot"].is_null(), "{i:#}");
        }
    }
}

#[test]
fn key_of_another_region_is_refused_by_the_fleet_reader() {
    // `key_wrong_region` cannot come out of a valid fleet file: the reader refuses a key of
    // another region than its stream before anything is called (exit 2). The planner's own
    // branch for it is covered by the unit tests in src/plan/tests.rs.
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!(
            "stream,region,key_arn\nstream-00000,{R},{}\n",
            key_arn("eu-west-1", "elsewhere")
        ),
    );
    let run = w.run(&["plan", fleet.to_str().unwrap()]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("line 2") && run.stderr.contains("region eu-west-1"),
        "{}",
        run.stderr
    );
    assert!(!w.ledger().exists(), "a refused fleet wrote a ledger");
    assert!(sandbox.stats().requests.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The 24 h budget.

#[test]
fn a_stream_at_its_budget_is_deferred_until_its_oldest_counted_call_leaves_the_window() {
    let sandbox = Sandbox::start(&["--streams", "3"]);
    let w = Workdir::new(&sandbox);
    w.fleet("fleet.csv", &fleet_csv(stream_names(3), R));
    let first = plan_json(&w, "fleet.csv", &[]);
    assert_eq!(first["summary"]["enable"], 3, "{first:#}");

    let base = now_ms() / 1000 * 1000;
    let oldest = base - 23 * HOUR;
    // 24 counted: every state but not_sent counts, in_flight (outcome unknown) included.
    let mut attempts: Vec<(i64, &str)> = Vec::new();
    for i in 0..24 {
        let state = match i {
            0 => "rejected",
            1 => "unknown",
            23 => "in_flight",
            _ => "ok",
        };
        attempts.push((oldest + i * 60_000, state));
    }
    // Not counted: proven never sent (and older than every counted one, so it would move the
    // next slot if it counted), and one that left the window an hour ago.
    attempts.push((oldest - HOUR / 2, "not_sent"));
    attempts.push((base - 25 * HOUR, "ok"));
    add_attempts(&w, "stream-00001", &attempts);
    // A neighbour's attempts are its own.
    add_attempts(&w, "stream-00002", &[(base - HOUR, "ok")]);

    let plan = plan_json(&w, "fleet.csv", &[]);
    let deferred = item(&plan, "stream-00001");
    assert_eq!(
        (&deferred["action"], &deferred["reason"]),
        (&Value::from("defer"), &Value::from("budget")),
        "{deferred:#}"
    );
    assert_eq!(deferred["budget_used"], 24);
    assert_eq!(deferred["next_slot"], rfc3339(oldest + DAY));
    assert_eq!(item(&plan, "stream-00002")["budget_used"], 1);
    assert_eq!(item(&plan, "stream-00002")["action"], "enable");
    assert_eq!(plan["summary"]["defer"], 1);

    let fleet = w.path("fleet.csv");
    let table = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    table.assert_code(0);
    let line = table
        .stdout
        .lines()
        .find(|l| l.contains("stream-00001"))
        .unwrap();
    assert!(line.trim_start().starts_with('…'), "{line}");
    assert!(line.contains("24/25"), "{line}");
    assert!(
        line.contains(&format!("next slot {}", rfc3339(oldest + DAY))),
        "{line}"
    );

    // The reserve is what kept the 25th call: without it the stream is planned.
    let plan = plan_json(&w, "fleet.csv", &["--reserve", "0"]);
    let planned = item(&plan, "stream-00001");
    assert_eq!(planned["action"], "enable", "{planned:#}");
    assert!(planned["reason"].is_null() && planned["next_slot"].is_null());
    assert_eq!(planned["budget_used"], 24);
    assert_only_reads(&sandbox.stats());
}

// ---------------------------------------------------------------------------------------------
// The streams-per-key limit.

#[test]
fn the_key_limit_counts_inventoried_streams_outside_the_fleet_and_skips_in_fleet_order() {
    let k = key("shared");
    let world = format!(
        r#"{{
          "streams": [
            {{"name": "other-1", "encryption": {{"key_arn": "{k}"}}}},
            {{"name": "other-2", "encryption": {{"key_arn": "{k}"}}}},
            {{"name": "other-3", "encryption": {{"key_arn": "{k}"}}}},
            {{"name": "f-on", "encryption": {{"key_arn": "{k}"}}}},
            {{"name": "f1"}}, {{"name": "f2"}}, {{"name": "f3"}}, {{"name": "f4"}}
          ],
          "keys": [{{"id": "shared"}}]
        }}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world, &["--tps", "0"]);
    let w = Workdir::new(&sandbox);
    // Fleet order is not name order; f-on is already on the key.
    let mut fleet = String::from("stream,region,key_arn\n");
    for name in ["f4", "f3", "f-on", "f2", "f1"] {
        fleet.push_str(&format!("{name},{R},{k}\n"));
    }
    let fleet = w.fleet("fleet.csv", &fleet);
    let limit = ["--cmk-limit", "6", FAST[0], FAST[1]];
    let v = |s: &str, a: &str, r: Option<&str>| (s.to_owned(), a.to_owned(), r.map(str::to_owned));

    // Before the inventory the ledger knows only the fleet's streams: f-on is counted (it was
    // observed just now), the three outside streams are not, and the report says so.
    let partial = plan_json(&w, "fleet.csv", &limit);
    assert_eq!(
        verdicts(&partial),
        [
            v("f4", "enable", None),
            v("f3", "enable", None),
            v("f-on", "noop", None),
            v("f2", "enable", None),
            v("f1", "enable", None),
        ]
    );
    assert_eq!(
        key_line(&partial, &k),
        &serde_json::json!({"key_arn": k, "streams_now": 1, "streams_after": 5, "limit": 6})
    );
    let warnings = partial["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("cover only the streams this ledger has seen")
                && w.contains("inventory --region us-east-1")
        }),
        "{warnings:?}"
    );
    let table = w.run(&[&["plan", fleet.to_str().unwrap(), "-q"], &limit[..]].concat());
    assert!(
        table
            .assert_code(0)
            .stdout
            .contains("cover only the streams this ledger has seen"),
        "{}",
        table.stdout
    );

    w.run(&["inventory", "--region", R, "-q", FAST[0], FAST[1]])
        .assert_code(0);

    // Now 4 streams use the key (3 outside the fleet + f-on): room for two more, the first two
    // in fleet order.
    let full = plan_json(&w, "fleet.csv", &limit);
    assert_eq!(
        verdicts(&full),
        [
            v("f4", "enable", None),
            v("f3", "enable", None),
            v("f-on", "noop", None),
            v("f2", "skip", Some("cmk_limit")),
            v("f1", "skip", Some("cmk_limit")),
        ]
    );
    assert_eq!(
        key_line(&full, &k),
        &serde_json::json!({"key_arn": k, "streams_now": 4, "streams_after": 6, "limit": 6})
    );
    assert_eq!(full["warnings"], serde_json::json!([]), "{full:#}");

    let table = w.run(&[&["plan", fleet.to_str().unwrap(), "-q"], &limit[..]].concat());
    let text = &table.assert_code(0).stdout;
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.trim_start().starts_with(&k))
        .unwrap_or_else(|| panic!("no key row:\n{text}"))
        .split_whitespace()
        .collect();
    assert_eq!(row, [k.as_str(), "4", "6", "6"], "{text}");
    assert!(!text.contains("Warnings"), "{text}");
    assert_only_reads(&sandbox.stats());
}

#[test]
fn a_fleet_stream_already_on_the_key_counts_even_when_it_comes_later_in_the_fleet() {
    let k = key("shared");
    let world = format!(
        r#"{{"streams": [{{"name": "first"}}, {{"name": "on-key", "encryption": {{"key_arn": "{k}"}}}}],
            "keys": [{{"id": "shared"}}]}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world, &[]);
    let w = Workdir::new(&sandbox);
    // A fresh ledger: only this plan's own observations tell that on-key uses the key, and
    // `first` comes before it in the fleet.
    w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nfirst,{R},{k}\non-key,{R},{k}\n"),
    );
    let plan = plan_json(&w, "fleet.csv", &["--cmk-limit", "1"]);
    let v = |s: &str, a: &str, r: Option<&str>| (s.to_owned(), a.to_owned(), r.map(str::to_owned));
    assert_eq!(
        verdicts(&plan),
        [
            v("first", "skip", Some("cmk_limit")),
            v("on-key", "noop", None)
        ]
    );
    assert_eq!(
        key_line(&plan, &k),
        &serde_json::json!({"key_arn": k, "streams_now": 1, "streams_after": 1, "limit": 1})
    );
}

// ---------------------------------------------------------------------------------------------
// The report: JSON shape and snapshots.

/// The JSON plan of the mixed world with what varies between runs replaced.
fn normalized_json(mut plan: Value) -> Value {
    assert!(plan["plan_id"].is_i64(), "{plan:#}");
    plan["plan_id"] = "[plan_id]".into();
    for i in plan["items"].as_array_mut().unwrap() {
        if i["next_slot"].is_string() {
            i["next_slot"] = "[next_slot]".into();
        }
    }
    plan
}

#[test]
fn plan_json_has_the_documented_fields_and_types() {
    let (_sandbox, w, _) = mixed();
    let plan = plan_json(&w, "fleet.csv", &MIXED_ARGS);

    assert!(
        plan["plan_id"].as_i64().is_some_and(|id| id > 0),
        "{plan:#}"
    );
    assert!(plan["estimated_seconds"].is_u64(), "{plan:#}");
    let summary = plan["summary"].as_object().unwrap();
    for field in ["enable", "rekey", "noop", "skip", "defer"] {
        assert!(summary[field].is_u64(), "summary.{field}: {summary:?}");
    }
    let items = plan["items"].as_array().unwrap();
    assert_eq!(items.len(), 13);
    for i in items {
        let action = i["action"].as_str().unwrap();
        for field in ["stream", "region", "action"] {
            assert!(i[field].is_string(), "{field}: {i:#}");
        }
        assert!(i["budget_used"].is_u64(), "{i:#}");
        // A reason exactly for skip and defer, a next slot exactly for defer.
        assert_eq!(
            i["reason"].is_string(),
            matches!(action, "skip" | "defer"),
            "{i:#}"
        );
        assert!(i["reason"].is_string() || i["reason"].is_null(), "{i:#}");
        assert_eq!(i["next_slot"].is_string(), action == "defer", "{i:#}");
        assert!(
            i["next_slot"].is_string() || i["next_slot"].is_null(),
            "{i:#}"
        );
        let target = &i["target"];
        assert!(target["key_type"].is_string(), "{i:#}");
        assert_eq!(
            target["key_arn"].is_string(),
            target["key_type"] == "CUSTOMER_MANAGED_CMK",
            "{i:#}"
        );
        // A stream that does not exist has no account and no current state.
        if i["reason"] == "not_found" {
            assert!(i["account"].is_null() && i["current"].is_null(), "{i:#}");
            continue;
        }
        assert_eq!(i["account"], ACCOUNT, "{i:#}");
        let current = i["current"].as_object().unwrap();
        assert!(current["status"].is_string(), "{i:#}");
        match current["key_type"].as_str() {
            None => assert!(
                current["key_type"].is_null() && current["key_arn"].is_null(),
                "{i:#}"
            ),
            Some("AWS_OWNED_CMK") => assert!(current["key_arn"].is_null(), "{i:#}"),
            Some(_) => assert!(current["key_arn"].is_string(), "{i:#}"),
        }
    }
    let rekey = item(&plan, "s-rekey");
    assert_eq!(
        (&rekey["current"]["status"], &rekey["current"]["key_type"]),
        (&Value::from("ENABLED"), &Value::from("AWS_OWNED_CMK"))
    );
    assert_eq!(rekey["target"]["key_arn"], key("good"));
    for k in plan["keys"].as_array().unwrap() {
        assert!(k["key_arn"].is_string(), "{k:#}");
        for field in ["streams_now", "streams_after", "limit"] {
            assert!(k[field].is_u64(), "{field}: {k:#}");
        }
        assert_eq!(k["limit"], 2);
    }
    assert_eq!(
        key_line(&plan, &key("good")),
        &serde_json::json!({"key_arn": key("good"), "streams_now": 1, "streams_after": 2, "limit": 2})
    );
    assert_eq!(
        key_line(&plan, &key("small")),
        &serde_json::json!({"key_arn": key("small"), "streams_now": 0, "streams_after": 2, "limit": 2})
    );

    insta::assert_snapshot!(
        "plan_json",
        serde_json::to_string_pretty(&normalized_json(plan)).unwrap()
    );
}

#[test]
fn plan_table_report_reads_like_terraform_plan() {
    let (_sandbox, w, next_slot) = mixed();
    let fleet = w.path("fleet.csv");
    let run = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "-q",
        MIXED_ARGS[0],
        MIXED_ARGS[1],
    ]);
    run.assert_code(0);
    let plan_id: i64 = w
        .sql()
        .query_row("SELECT MAX(id) FROM plans", [], |r| r.get(0))
        .unwrap();
    let text = run
        .stdout
        .replace(&rfc3339(next_slot), "[NEXT_SLOT]")
        .replace(&format!("plan {plan_id}"), "plan [ID]");
    insta::assert_snapshot!("plan_table", text);
}

// ---------------------------------------------------------------------------------------------
// Reading only, at the pace asked for.

#[test]
fn plan_and_inventory_never_send_start_or_stop() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), MIXED_WORLD, &["--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &mixed_fleet());
    w.run(&["plan", fleet.to_str().unwrap(), "-q", FAST[0], FAST[1]])
        .assert_code(0);
    w.run(&[
        "inventory",
        "--region",
        R,
        "-q",
        "--out",
        "out.csv",
        FAST[0],
        FAST[1],
    ])
    .assert_code(0);
    let truth = sandbox.stats();
    assert_only_reads(&truth);
    // Exactly one Describe per fleet stream (13) and per listed stream (12), one List, one
    // DescribeKey per distinct key (good, missing, off, rsa, small).
    assert_eq!(
        truth.requests,
        [
            ("DescribeDeliveryStream".to_owned(), 13 + 12),
            ("DescribeKey".to_owned(), 5),
            ("ListDeliveryStreams".to_owned(), 1),
        ]
        .into()
    );
}

#[test]
fn observation_stays_under_describe_tps_and_close_to_it() {
    let sandbox = Sandbox::start(&["--streams", "60", "--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(60), R));
    let started = Instant::now();
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "-q",
            "--output",
            "json",
            "--describe-tps",
            "10",
        ])
        .assert_code(0)
        .json();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(plan["summary"]["enable"], 60);
    let truth = sandbox.stats();
    assert_eq!(truth.requests_for("DescribeDeliveryStream"), 60);
    let max_rate = truth.max_rate["DescribeDeliveryStream"];
    assert!(max_rate <= 10, "{max_rate} Describes in one second");
    // 60 calls, the first at once: 59 intervals at 10/s is 5.9 s. Loose: this is a sanity
    // check on a shared machine, not a benchmark.
    let rate = 59.0 / elapsed;
    assert!(
        rate >= 0.85 * 10.0,
        "observed at {rate:.2}/s ({elapsed:.2} s for 60 streams)"
    );
}

// ---------------------------------------------------------------------------------------------
// inventory

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
                "region": "eu-west-1",
                "streams": 2,
                "by_source_type": {"DirectPut": 1, "KinesisStreamAsSource": 1},
                "by_encryption_status": {"DISABLED": 2},
                "by_key": {},
                "unencrypted_direct_put": 1,
            },
            {
                "region": "us-east-1",
                "streams": 6,
                "by_source_type": {"DirectPut": 4, "KinesisStreamAsSource": 1, "MSKAsSource": 1},
                "by_encryption_status": {"DISABLED": 4, "ENABLED": 2},
                "by_key": {"AWS_OWNED_CMK": 1, key("k1"): 1},
                "unencrypted_direct_put": 2,
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
        &serde_json::json!({"key_arn": k, "streams_now": 1, "streams_after": 3, "limit": 500})
    );
    assert_only_reads(&sandbox.stats());
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

// ---------------------------------------------------------------------------------------------
// Exit codes

#[test]
fn plan_exits_0_when_a_plan_was_made_even_if_nothing_can_be_done() {
    let sandbox = Sandbox::start(&[]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(["nowhere".to_owned()], R));
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(plan["summary"]["skip"], 1);
    assert_eq!(plan["estimated_seconds"], 0);
}

#[test]
fn plan_exits_2_on_a_bad_fleet_file_without_calling_or_writing_anything() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        "stream,region,colour\nstream-00000,us-east-1,blue\nbad name!,us-east-1,\n",
    );
    let run = w.run(&["plan", fleet.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("colour"), "{}", run.stderr);
    let missing = w.path("missing.csv");
    w.run(&["plan", missing.to_str().unwrap()]).assert_code(2);
    assert!(!w.ledger().exists());
    assert!(sandbox.stats().requests.is_empty());
}

#[test]
fn plan_exits_1_and_says_the_connection_was_refused_when_the_endpoint_is_down() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    drop(sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(1), R));
    let run = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("stream-00000") && run.stderr.contains("Connection refused"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn plan_exits_1_and_says_how_to_provide_credentials_when_there_are_none() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(1), R));
    let run: Run = w
        .command()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["plan", fleet.to_str().unwrap(), "-q"])
        .output()
        .unwrap()
        .into();
    run.assert_code(1);
    assert!(
        run.stderr.contains("no AWS credentials") && run.stderr.contains("aws configure"),
        "{}",
        run.stderr
    );
    assert!(sandbox.stats().requests.is_empty());
}

/// The dry run is what apply does: `apply --plan ID` carries out exactly the saved decisions
/// (no new observation while the plan is fresh), and starts only the streams it planned to.
#[test]
fn apply_of_a_saved_plan_does_what_the_plan_showed() {
    let (sandbox, w, _) = mixed();
    let plan = plan_json(&w, "fleet.csv", &[MIXED_ARGS, FAST].concat());
    let id = plan["plan_id"].as_i64().unwrap().to_string();
    let observations = |name: &str| -> i64 {
        w.sql()
            .query_row(
                "SELECT COUNT(*) FROM observations o JOIN streams s ON s.id = o.stream_id
                 WHERE s.name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before: Vec<(String, i64)> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["stream"].as_str().unwrap().to_owned())
        .map(|name| {
            let n = observations(&name);
            (name, n)
        })
        .collect();
    let run = w.run(
        &[
            &[
                "apply",
                "--plan",
                &id,
                "--yes",
                "-q",
                "--first-poll",
                "200ms",
            ][..],
            &FAST,
            &["--start-tps", "50"],
        ]
        .concat(),
    );
    // s-budget is deferred: exit 4.
    run.assert_code(4);
    assert!(!run.stderr.contains("observing again"), "{}", run.stderr);
    let after = sandbox.stats();
    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    let mut started = Vec::new();
    for planned in plan["items"].as_array().unwrap() {
        let name = planned["stream"].as_str().unwrap();
        let done = item(&report, name);
        let expected = match planned["action"].as_str().unwrap() {
            "enable" | "rekey" => {
                started.push(name);
                ("done", None)
            }
            "noop" => ("done", None),
            "skip" => ("skipped", planned["reason"].as_str()),
            "defer" => ("deferred", Some("budget")),
            other => panic!("unexpected action {other}"),
        };
        if !started.contains(&name) {
            // A fresh plan is not observed again: only started streams are described.
            let was = before.iter().find(|(n, _)| n == name).map(|(_, n)| *n);
            assert_eq!(Some(observations(name)), was, "{name} was observed again");
        }
        assert_eq!(
            (done["phase"].as_str().unwrap(), done["reason"].as_str()),
            expected,
            "{name}: planned {planned:#}, did {done:#}"
        );
    }
    started.sort_unstable();
    let mut truth_started: Vec<&str> = after
        .streams
        .iter()
        .filter(|s| s.start_calls > 0)
        .map(|s| s.name.as_str())
        .collect();
    truth_started.sort_unstable();
    assert_eq!(
        truth_started, started,
        "Starts went to exactly the planned streams"
    );
}

/// A saved plan older than `--max-plan-age` is observed again before anything is started.
#[test]
fn a_plan_older_than_max_plan_age_is_observed_again() {
    let (sandbox, w, _) = mixed();
    let plan = plan_json(&w, "fleet.csv", &[MIXED_ARGS, FAST].concat());
    let id = plan["plan_id"].as_i64().unwrap().to_string();
    let before = sandbox.stats().requests_for("DescribeDeliveryStream");
    let run = w.run(
        &[
            &[
                "apply",
                "--plan",
                &id,
                "--yes",
                "-q",
                "--max-plan-age",
                "0s",
            ][..],
            &["--first-poll", "200ms", "--start-tps", "50"],
            &FAST,
        ]
        .concat(),
    );
    run.assert_code(4);
    assert!(run.stderr.contains("observing again"), "{}", run.stderr);
    let observed = sandbox.stats().requests_for("DescribeDeliveryStream") - before;
    let fleet_streams = plan["items"].as_array().unwrap().len() as u64;
    assert!(
        observed >= fleet_streams,
        "{observed} Describes: the fleet's {fleet_streams} streams were not observed again"
    );
}
