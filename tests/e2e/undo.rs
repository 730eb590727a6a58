//! Undo and keep watch, end to end on the sandbox: a mixed rollout rolled back stream by stream
//! to where each was, streams someone changed since left alone, a stream out of budget
//! deferred, a rollback killed and resumed with no extra call, encryption off as a fleet action,
//! and the drift check's exit codes.

use std::time::{Duration, Instant};

use crate::common::{Sandbox, Stats, Workdir, in_flight, item, key_arn, signal, spawn, stream};

const R: &str = "us-east-1";

/// A mixed world: `plain` unencrypted, `owned` on the AWS-owned key, `on-a` on key A, `same`
/// already on the AWS-owned key; and the fleet that enables `plain`, moves `owned` to A and
/// `on-a` to B, and leaves `same` as it is.
fn mixed(args: &[&str]) -> (Sandbox, Workdir, tempfile::TempDir, String, String) {
    let (a, b) = (key_arn(R, "a"), key_arn(R, "b"));
    let dir = tempfile::tempdir().unwrap();
    let world = format!(
        r#"{{"keys": [{{"id": "a"}}, {{"id": "b"}}], "streams": [
             {{"name": "plain"}},
             {{"name": "owned", "encryption": {{"key_type": "AWS_OWNED_CMK"}}}},
             {{"name": "on-a", "encryption": {{"key_arn": "{a}"}}}},
             {{"name": "same", "encryption": {{"key_type": "AWS_OWNED_CMK"}}}}]}}"#
    );
    let mut all = vec!["--latency", "200ms"];
    all.extend_from_slice(args);
    let sandbox = Sandbox::with_world(dir.path(), &world, &all);
    let w = Workdir::new(&sandbox);
    w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nplain,{R},\nowned,{R},{a}\non-a,{R},{b}\nsame,{R},\n"),
    );
    (sandbox, w, dir, a, b)
}

#[test]
fn a_mixed_rollout_rolled_back_puts_every_stream_back_where_it_was() {
    let (sandbox, w, _dir, a, b) = mixed(&[]);
    let fleet = w.path("fleet.csv");
    w.apply(&fleet, &[]).assert_code(0);
    // First the rollback's plan alone: as `plan` shows one, and nothing sent.
    let calls = |s: &Stats| {
        s.streams
            .iter()
            .map(|s| s.start_calls + s.stop_calls)
            .sum::<u64>()
    };
    let sent = calls(&sandbox.stats());
    let dry = w
        .run(&["rollback", "--dry-run", "-q", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(item(&dry, "plain")["action"], "disable", "{dry:#}");
    assert_eq!(item(&dry, "owned")["action"], "restore");
    assert_eq!(item(&dry, "same")["action"], "noop");
    assert_eq!(dry["changes"], 3);
    assert_eq!(calls(&sandbox.stats()), sent, "a dry run sends nothing");
    let after = sandbox.stats();
    assert_eq!(
        stream(&after, "owned").key_in_force.as_deref(),
        Some(a.as_str())
    );
    assert_eq!(
        stream(&after, "on-a").key_in_force.as_deref(),
        Some(b.as_str())
    );

    w.run(&["rollback", "--yes", "-q"]).assert_code(0);
    let truth = sandbox.stats();
    let plain = stream(&truth, "plain");
    assert_eq!(
        (plain.status.as_str(), plain.key_in_force.as_deref()),
        ("DISABLED", None)
    );
    assert_eq!(plain.stop_calls, 1);
    let owned = stream(&truth, "owned");
    assert_eq!(owned.key_in_force.as_deref(), Some("AWS_OWNED_CMK"));
    assert_eq!(owned.status, "ENABLED");
    let on_a = stream(&truth, "on-a");
    assert_eq!(on_a.key_in_force.as_deref(), Some(a.as_str()));
    let same = stream(&truth, "same");
    assert_eq!(
        (same.start_calls, same.stop_calls),
        (0, 0),
        "never changed: noop"
    );

    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    assert_eq!(item(&report, "plain")["action"], "disable");
    assert_eq!(item(&report, "owned")["action"], "restore");
    assert_eq!(item(&report, "on-a")["action"], "restore");
    assert_eq!(item(&report, "same")["action"], "noop");
    let history = w.run(&["history"]).assert_code(0).stdout.clone();
    assert!(history.contains("rollback of run 1"), "{history}");
}

#[test]
fn a_stream_someone_changed_since_the_run_is_left_alone() {
    let (sandbox, w, _dir, _a, b) = mixed(&[]);
    let fleet = w.path("fleet.csv");
    w.apply(&fleet, &[]).assert_code(0);
    // Someone moves `owned` (which the run put on A) to B.
    let raw = sandbox.raw(
        "POST",
        "/",
        &[
            (
                "X-Amz-Target",
                "Firehose_20150804.StartDeliveryStreamEncryption",
            ),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        &format!(
            r#"{{"DeliveryStreamName": "owned", "DeliveryStreamEncryptionConfigurationInput":
                {{"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "{b}"}}}}"#
        ),
    );
    assert_eq!(raw.status, 200, "{}", raw.body);
    std::thread::sleep(Duration::from_millis(1500));
    let before = stream(&sandbox.stats(), "owned").start_calls;
    w.run(&["rollback", "--yes", "-q"]).assert_code(0);
    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    let owned = item(&report, "owned");
    assert_eq!(owned["reason"], "changed_since_run", "{owned:#}");
    assert_eq!(
        stream(&sandbox.stats(), "owned").start_calls,
        before,
        "not touched"
    );
    assert_eq!(
        stream(&sandbox.stats(), "owned").key_in_force.as_deref(),
        Some(b.as_str())
    );
}

#[test]
fn a_rollback_of_a_stream_out_of_budget_defers_it_with_its_next_slot() {
    let (sandbox, w, _dir, _a, _b) = mixed(&[]);
    let fleet = w.path("fleet.csv");
    w.apply(&fleet, &[]).assert_code(0);
    // `plain` has spent its budget today (23 more calls than the run's one).
    let db = w.sql();
    let id: i64 = db
        .query_row("SELECT id FROM streams WHERE name = 'plain'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..23 {
        db.execute(
            "INSERT INTO attempts (stream_id, op, sent_at, state, completed_at)
             VALUES (?1, 'stop', ?2, 'ok', ?2)",
            rusqlite::params![id, now - 3_600_000 + i],
        )
        .unwrap();
    }
    drop(db);
    let run = w.run(&["rollback", "--yes", "-q"]);
    run.assert_code(4);
    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    let plain = item(&report, "plain");
    assert_eq!(plain["phase"], "deferred", "{plain:#}");
    assert_eq!(plain["reason"], "budget");
    assert!(plain["next_slot"].is_string(), "{plain:#}");
    assert_eq!(stream(&sandbox.stats(), "plain").stop_calls, 0);
}

#[test]
fn a_rollback_killed_mid_way_resumes_with_no_extra_call() {
    let sandbox = Sandbox::start(&["--streams", "16", "--latency", "2s", "--tps", "5"]);
    let w = Workdir::new(&sandbox);
    let names: Vec<String> = (0..16).map(|i| format!("stream-{i:05}")).collect();
    let fleet = w.fleet("fleet.csv", &crate::common::fleet_csv(names.clone(), R));
    w.apply(&fleet, &[]).assert_code(0);
    let mut child = spawn(&w, &["rollback", "--yes", "--concurrency", "4"]);
    let stops = |w: &Workdir| -> i64 {
        w.sql()
            .query_row("SELECT COUNT(*) FROM attempts WHERE op = 'stop'", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while stops(&w) < 4 {
        assert!(Instant::now() < deadline, "no Stop sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-KILL");
    child.wait().unwrap();
    let in_flight_at_kill = in_flight(&w);
    w.run(&["resume", "-q"]).assert_code(0);
    let truth = sandbox.stats();
    for name in &names {
        let s = stream(&truth, name);
        assert_eq!(s.status, "DISABLED", "{name}");
        assert_eq!(
            s.stop_calls, 1,
            "{name}: exactly one Stop, resume added none"
        );
    }
    assert!(in_flight_at_kill <= 4);
}

#[test]
fn encryption_off_is_a_fleet_action() {
    let a = key_arn(R, "a");
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(
        dir.path(),
        &format!(
            r#"{{"keys": [{{"id": "a"}}], "streams": [
                 {{"name": "on", "encryption": {{"key_arn": "{a}"}}}}, {{"name": "off"}}]}}"#
        ),
        &["--latency", "200ms"],
    );
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_type\non,{R},none\noff,{R},NONE\n"),
    );
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(item(&plan, "on")["action"], "disable");
    assert_eq!(item(&plan, "off")["action"], "noop");
    assert_eq!(plan["changes"], 1);
    let run = w.apply(&fleet, &[]).assert_code(0).stdout.clone();
    assert!(run.contains("Calls: 0 Start, 1 Stop, "), "{run}");
    let truth = sandbox.stats();
    assert_eq!(stream(&truth, "on").status, "DISABLED");
    assert_eq!(stream(&truth, "on").stop_calls, 1);
    assert_eq!(stream(&truth, "off").stop_calls, 0);
    assert_eq!(
        truth.cmk_streams.get(&a).copied().unwrap_or(0),
        0,
        "its key's slot is free"
    );
}

#[test]
fn the_drift_check_exits_0_2_and_1_as_terraform_does() {
    let (_sandbox, w, _dir, _a, _b) = mixed(&[]);
    let fleet = w.path("fleet.csv");
    let check =
        |w: &Workdir, fleet: &str| w.run(&["plan", fleet, "-q", "--detailed-exitcode"]).code;
    assert_eq!(
        check(&w, fleet.to_str().unwrap()),
        Some(2),
        "changes to make"
    );
    w.apply(&fleet, &[]).assert_code(0);
    assert_eq!(
        check(&w, fleet.to_str().unwrap()),
        Some(0),
        "every stream at its target"
    );
    let bad = w.fleet("bad.csv", "stream,region\nnot a name!,us-east-1\n");
    assert_eq!(
        check(&w, bad.to_str().unwrap()),
        Some(1),
        "an error, even a usage one"
    );
    let no_such_flag = w.run(&["plan", "x.csv", "--detailed-exitcode", "--nope"]);
    assert_eq!(no_such_flag.code, Some(1));
    // Without the flag, a usage error keeps its usual code (2), which the flag gives to changes.
    w.run(&["plan", bad.to_str().unwrap(), "-q"]).assert_code(2);
}

#[test]
fn without_the_flag_a_plan_with_changes_exits_0() {
    let (_sandbox, w, _dir, _a, _b) = mixed(&[]);
    let fleet = w.path("fleet.csv");
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(plan["changes"], 3, "{plan:#}");
}

#[test]
fn a_stream_whose_earlier_key_is_now_disabled_is_skipped_with_the_key_reason() {
    let (old, a) = (key_arn(R, "old"), key_arn(R, "a"));
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(
        dir.path(),
        &format!(
            r#"{{"keys": [{{"id": "old"}}, {{"id": "a"}}], "streams": [
                 {{"name": "moved", "encryption": {{"key_arn": "{old}"}}}}]}}"#
        ),
        &["--latency", "200ms"],
    );
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nmoved,{R},{a}\n"),
    );
    w.apply(&fleet, &[]).assert_code(0);
    // The key the stream was on before the run is disabled since.
    let raw = sandbox.raw(
        "POST",
        "/",
        &[
            ("X-Amz-Target", "TrentService.DisableKey"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        &format!(r#"{{"KeyId": "{old}"}}"#),
    );
    assert_eq!(raw.status, 200, "{}", raw.body);
    // Left where it is for a cause to fix (its earlier key): exit 6.
    w.run(&["rollback", "--yes", "-q"]).assert_code(6);
    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    let moved = item(&report, "moved");
    assert_eq!(moved["phase"], "skipped", "{moved:#}");
    assert_eq!(moved["reason"], "key_disabled", "{moved:#}");
    let truth = sandbox.stats();
    assert_eq!(
        stream(&truth, "moved").start_calls,
        1,
        "only the run's own Start"
    );
    assert_eq!(
        stream(&truth, "moved").key_in_force.as_deref(),
        Some(a.as_str())
    );
}
