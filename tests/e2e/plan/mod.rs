//! plan and inventory, end to end: the real binary against the sandbox. What plan decides and
//! why, what it reports (table and JSON, snapshotted), what it costs against the limits, that it
//! and inventory only ever read, and at what pace.
//!
//! The helpers and the mixed world (one stream for every action and reason) are here; the
//! scenarios are in `decisions` (what plan decides and why), `limits` (the 24 h budget and the
//! streams-per-key limit), `report` (JSON shape, table and JSON snapshots), `reads` (only reads,
//! at the pace asked for), `inventory`, `exit_codes` and `saved` (apply of a saved plan).

mod decisions;
mod exit_codes;
mod inventory;
mod limits;
mod reads;
mod report;
mod saved;

use std::time::{SystemTime, UNIX_EPOCH};

use firehose_sse::clock::{DAY, HOUR};
use firehose_sse::limits::budget::MARGIN;
use serde_json::Value;

use crate::common::{Sandbox, Stats, Workdir, item, key_arn};

const R: &str = "us-east-1";

/// The read-only operations; plan and inventory may send nothing else.
const READS: [&str; 9] = [
    "DescribeDeliveryStream",
    "ListDeliveryStreams",
    "DescribeKey",
    // STS: which account the credentials act in.
    "GetCallerIdentity",
    // The producer check.
    "GetAccountAuthorizationDetails",
    "SimulatePrincipalPolicy",
    "GetKeyPolicy",
    // Where encryption belongs elsewhere: Kinesis sources, the streams stacks own.
    "DescribeStreamSummary",
    "GetResources",
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

/// A key's line of the plan: its counts against the limit (the producers' verdicts, when the
/// producer check ran, are left out: `producers::` tests them).
fn key_line(plan: &Value, arn: &str) -> Value {
    let line = plan["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_arn"] == arn)
        .unwrap_or_else(|| panic!("no key line for {arn} in {plan:#}"));
    let mut counts = line.clone();
    counts.as_object_mut().unwrap().remove("producers");
    counts
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
    // The slot frees a window after the oldest counted call, plus the margin at the edge.
    (sandbox, w, oldest + DAY + MARGIN)
}

fn plan_json(w: &Workdir, fleet: &str, extra: &[&str]) -> Value {
    let fleet = w.path(fleet);
    let mut args = vec!["plan", fleet.to_str().unwrap(), "-q", "--output", "json"];
    args.extend_from_slice(extra);
    w.run(&args).assert_code(0).json()
}
