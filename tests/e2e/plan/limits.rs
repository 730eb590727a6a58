//! What a plan costs against the limits: the 24 h budget per stream (with the reserve), and
//! the streams-per-key limit counted over every stream the ledger knows, in fleet order.

use firehose_sse::clock::{DAY, HOUR, rfc3339};
use firehose_sse::limits::budget::MARGIN;
use serde_json::Value;

use super::{
    FAST, R, add_attempts, assert_only_reads, item, key, key_line, now_ms, plan_json, verdicts,
};
use crate::common::{Sandbox, Workdir, fleet_csv, stream_names};

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
    // A window after the oldest counted call, and the margin past the window's edge.
    assert_eq!(deferred["next_slot"], rfc3339(oldest + DAY + MARGIN));
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
        line.contains(&format!("next slot {}", rfc3339(oldest + DAY + MARGIN))),
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
        serde_json::json!({"key_arn": k, "streams_now": 1, "streams_after": 5, "limit": 6})
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
        serde_json::json!({"key_arn": k, "streams_now": 4, "streams_after": 6, "limit": 6})
    );
    // The inventory made the counts whole: no warning remains (the producer check found
    // every producer allowed, so it has nothing to say either).
    let warnings = full["warnings"].as_array().unwrap();
    assert!(warnings.is_empty(), "{full:#}");

    let table = w.run(&[&["plan", fleet.to_str().unwrap(), "-q"], &limit[..]].concat());
    let text = &table.assert_code(0).stdout;
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.trim_start().starts_with(&k))
        .unwrap_or_else(|| panic!("no key row:\n{text}"))
        .split_whitespace()
        .collect();
    // Now, after, the limit — and the planned streams' producers, allowed/denied/unknown.
    assert_eq!(row[..4], [k.as_str(), "4", "6", "6"], "{text}");
    assert!(!text.contains("cover only the streams"), "{text}");
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
        serde_json::json!({"key_arn": k, "streams_now": 1, "streams_after": 1, "limit": 1})
    );
}
