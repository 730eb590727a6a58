//! Rollouts in waves end to end on the sandbox, with its CloudWatch at one-second periods and
//! synthetic producers writing to the streams: a canary whose producer is refused after
//! ENABLED fails the gate and no later wave gets a Start; the same with `--on-gate-failure
//! rollback` puts the canary back; an alarm set to ALARM during a bake halts; kill -9 during a
//! bake, then `resume`, finishes the bake and goes on with one Start per stream; streams
//! without traffic do not gate; two failures against `--max-errors 1` halt.

use std::time::{Duration, Instant};

use crate::common::{ACCOUNT, Sandbox, Stats, Workdir, signal, spawn, stream, test_credentials};

const R: &str = "us-east-1";

fn k() -> String {
    format!("arn:aws:kms:{R}:{ACCOUNT}:key/k")
}

/// A world at one-second metric periods: key `k` (and `bad`, whose grants fail), and streams
/// `name: producer` — `ok` a producer allowed the key, `refused` one without the key actions,
/// `quiet` none.
fn world(streams: &[(&str, &str)]) -> String {
    let streams: Vec<String> = streams
        .iter()
        .map(|(name, producer)| match *producer {
            "ok" => format!(
                r#"{{"name": "{name}", "producers": [{{"role": "p-{name}", "kms": true, "rate": 5}}]}}"#
            ),
            "refused" => format!(
                r#"{{"name": "{name}", "producers": [{{"role": "p-{name}", "kms": false, "rate": 5}}]}}"#
            ),
            _ => format!(r#"{{"name": "{name}"}}"#),
        })
        .collect();
    format!(
        r#"{{"metric_period": "1s",
            "keys": [{{"id": "k"}}, {{"id": "bad", "failure": {{"type": "KMS_ACCESS_DENIED"}}}}],
            "streams": [{}]}}"#,
        streams.join(",")
    )
}

fn setup(
    streams: &[(&str, &str)],
    key_of: impl Fn(&str) -> String,
) -> (Sandbox, Workdir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world(streams), &["--latency", "200ms"]);
    let w = Workdir::new(&sandbox);
    let mut csv = String::from("stream,region,key_arn\n");
    for (name, _) in streams {
        csv.push_str(&format!("{name},{R},{}\n", key_of(name)));
    }
    w.fleet("fleet.csv", &csv);
    // The producers' history before any Start: a few complete periods.
    std::thread::sleep(Duration::from_millis(3_500));
    (sandbox, w, dir)
}

const GATE: [&str; 6] = [
    "--bake",
    "8s",
    "--metric-period",
    "1s",
    "--allow-producer-risk",
    "-q",
];

fn waved(w: &Workdir, waves: &str, extra: &[&str]) -> crate::common::Run {
    let fleet = w.path("fleet.csv");
    let mut args = vec!["apply", fleet.to_str().unwrap(), "--yes", "--waves", waves];
    args.extend_from_slice(&GATE);
    args.extend_from_slice(extra);
    w.run(&args)
}

fn starts(truth: &Stats, name: &str) -> u64 {
    stream(truth, name).start_calls
}

fn wave_states(w: &Workdir) -> Vec<(i64, String)> {
    try_wave_states(w).expect("the ledger has its waves")
}

/// The waves of run 1, or `None` while the ledger (or its schema) is not there yet — opened
/// read-only, so a poll never creates the file the running apply is about to create.
fn try_wave_states(w: &Workdir) -> Option<Vec<(i64, String)>> {
    let conn = rusqlite::Connection::open_with_flags(
        w.ledger(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    let mut stmt = conn
        .prepare("SELECT wave, state FROM waves WHERE run_id = 1 ORDER BY wave")
        .ok()?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()?
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some(rows)
}

#[test]
fn a_canary_whose_producer_is_refused_halts_the_rollout_before_any_later_start() {
    let (sandbox, w, _dir) = setup(
        &[
            ("canary", "refused"),
            ("b", "ok"),
            ("c", "ok"),
            ("d", "quiet"),
        ],
        |_| k(),
    );
    let run = waved(&w, "1,100%", &[]);
    run.assert_code(5);
    assert!(
        run.stderr.contains("the health gate FAILED"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("canary"), "{}", run.stderr);
    let truth = sandbox.stats();
    assert_eq!(starts(&truth, "canary"), 1);
    for name in ["b", "c", "d"] {
        assert_eq!(
            starts(&truth, name),
            0,
            "{name} is in a later wave: never started"
        );
    }
    assert_eq!(
        wave_states(&w),
        [(1, "failed".to_owned()), (2, "pending".to_owned())]
    );
    // The reading that failed it is in the ledger, with its reasons.
    let why: String = w
        .sql()
        .query_row(
            "SELECT why FROM waves WHERE run_id = 1 AND wave = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(why.contains("canary"), "{why}");
    // It stays failed on resume, unless overridden.
    w.run(&["resume", "1", "-q"]).assert_code(5);
    assert_eq!(starts(&sandbox.stats(), "b"), 0);
    let status = w.run(&["status", "1"]);
    assert!(status.stdout.contains("halted"), "{}", status.stdout);
}

#[test]
fn with_rollback_on_gate_failure_the_canary_goes_back_to_its_earlier_encryption() {
    let (sandbox, w, _dir) = setup(&[("canary", "refused"), ("b", "ok")], |_| k());
    waved(&w, "1,100%", &["--on-gate-failure", "rollback"]).assert_code(5);
    let truth = sandbox.stats();
    let canary = stream(&truth, "canary");
    assert_eq!(
        (canary.status.as_str(), canary.key_in_force.as_deref()),
        ("DISABLED", None),
        "back to no encryption, as before the run"
    );
    assert_eq!((canary.start_calls, canary.stop_calls), (1, 1));
    assert_eq!(starts(&truth, "b"), 0);
    let kinds: Vec<String> = w
        .sql()
        .prepare("SELECT kind FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, ["apply", "rollback"]);
}

#[test]
fn streams_without_traffic_do_not_gate_and_every_wave_passes() {
    let (sandbox, w, _dir) = setup(
        &[("a", "quiet"), ("b", "ok"), ("c", "quiet"), ("d", "ok")],
        |_| k(),
    );
    let started = Instant::now();
    waved(&w, "1,50%,100%", &[]).assert_code(0);
    let truth = sandbox.stats();
    for name in ["a", "b", "c", "d"] {
        assert_eq!(starts(&truth, name), 1, "{name}");
        assert_eq!(
            stream(&truth, name).key_in_force.as_deref(),
            Some(k().as_str())
        );
    }
    assert_eq!(
        wave_states(&w),
        [
            (1, "passed".to_owned()),
            (2, "passed".to_owned()),
            (3, "passed".to_owned())
        ]
    );
    // Two bakes of 8 s between the three waves (no final bake by default).
    assert!(started.elapsed() >= Duration::from_secs(16));
    // The quiet canary was read as without signal.
    let reading: String = w
        .sql()
        .query_row(
            "SELECT reading FROM gate_readings WHERE run_id = 1 AND wave = 1 ORDER BY at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(reading.contains("no_signal"), "{reading}");
}

#[test]
fn two_failures_in_a_wave_against_max_errors_1_halt() {
    let (sandbox, w, _dir) = setup(
        &[
            ("f1", "quiet"),
            ("f2", "quiet"),
            ("ok", "quiet"),
            ("later", "quiet"),
        ],
        |name| match name {
            "f1" | "f2" => format!("arn:aws:kms:{R}:{ACCOUNT}:key/bad"),
            _ => k(),
        },
    );
    let run = waved(&w, "3,100%", &["--max-errors", "1"]);
    run.assert_code(5);
    assert!(
        run.stderr.contains("more than --max-errors allows (1)"),
        "{}",
        run.stderr
    );
    assert_eq!(starts(&sandbox.stats(), "later"), 0);
    // One failure is allowed.
    let (sandbox, w, _dir) = setup(
        &[("f1", "quiet"), ("ok", "quiet"), ("later", "quiet")],
        |name| match name {
            "f1" => format!("arn:aws:kms:{R}:{ACCOUNT}:key/bad"),
            _ => k(),
        },
    );
    waved(&w, "2,100%", &["--max-errors", "1"]).assert_code(3);
    assert_eq!(starts(&sandbox.stats(), "later"), 1);
}

/// Polls the ledger until wave `wave` of run 1 is in `state`.
fn wait_for_wave(w: &Workdir, wave: i64, state: &str, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if try_wave_states(w)
            .unwrap_or_default()
            .iter()
            .any(|(n, s)| *n == wave && s == state)
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before wave {wave} was {state}");
        }
        assert!(Instant::now() < deadline, "wave {wave} never {state}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_alarm_in_alarm_during_a_bake_halts() {
    let (sandbox, w, _dir) = setup(&[("a", "ok"), ("b", "ok")], |_| k());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cw = {
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new(R))
            .endpoint_url(&sandbox.url)
            .credentials_provider(test_credentials())
            .http_client(firehose_sse::aws::http_client(None).unwrap())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    };
    rt.block_on(
        cw.put_metric_alarm()
            .alarm_name("orders-errors")
            .namespace("Orders")
            .metric_name("Errors")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
            )
            .send(),
    )
    .unwrap();
    let fleet = w.path("fleet.csv");
    let mut args = vec![
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "--waves",
        "1,100%",
        "--alarm",
        "orders-errors",
    ];
    args.extend_from_slice(&GATE);
    let mut child = spawn(&w, &args);
    wait_for_wave(&w, 1, "baking", &mut child);
    rt.block_on(
        cw.set_alarm_state()
            .alarm_name("orders-errors")
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("Threshold Crossed: orders are failing")
            .send(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("alarm orders-errors is in ALARM"),
        "{stderr}"
    );
    assert_eq!(starts(&sandbox.stats(), "b"), 0);
}

#[test]
fn kill_9_during_a_bake_then_resume_finishes_the_bake_and_goes_on() {
    let (sandbox, w, _dir) = setup(&[("a", "ok"), ("b", "ok"), ("c", "quiet")], |_| k());
    let fleet = w.path("fleet.csv");
    let mut args = vec![
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "--waves",
        "1,100%",
    ];
    args.extend_from_slice(&GATE);
    let mut child = spawn(&w, &args);
    wait_for_wave(&w, 1, "baking", &mut child);
    let bake_until: i64 = w
        .sql()
        .query_row(
            "SELECT bake_until FROM waves WHERE run_id = 1 AND wave = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    signal(&child, "-KILL");
    let _ = child.wait();
    assert_eq!(starts(&sandbox.stats(), "b"), 0, "killed before wave 2");
    let resumed = Instant::now();
    w.run(&["resume", "-q"]).assert_code(0);
    let truth = sandbox.stats();
    for name in ["a", "b", "c"] {
        assert_eq!(starts(&truth, name), 1, "{name}: one Start in all");
    }
    // The bake's end is the one recorded before the kill, not a new full bake.
    let after: i64 = w
        .sql()
        .query_row(
            "SELECT bake_until FROM waves WHERE run_id = 1 AND wave = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(after, bake_until);
    assert!(resumed.elapsed() < Duration::from_secs(30));
    assert_eq!(wave_states(&w).len(), 2);
    assert!(wave_states(&w).iter().all(|(_, s)| s == "passed"));
}

#[test]
fn plan_shows_the_waves_and_a_saved_plan_rolls_out_in_them() {
    let (sandbox, w, _dir) = setup(
        &[("a", "ok"), ("b", "quiet"), ("c", "quiet"), ("d", "quiet")],
        |_| k(),
    );
    let fleet = w.path("fleet.csv");
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "--waves",
            "1,50%,100%",
            "--bake",
            "8s",
            "--metric-period",
            "1s",
            "--output",
            "json",
            "-q",
        ])
        .assert_code(0)
        .json();
    let sizes: Vec<u64> = plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["streams"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1, 1, 2]);
    let with = plan["estimated_seconds_with_waves"].as_u64().unwrap();
    assert!(with >= 16, "two bakes of 8 s: {plan:#}");
    let text = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "--waves",
        "1,50%,100%",
        "--bake",
        "8s",
        "--metric-period",
        "1s",
    ]);
    assert!(text.stdout.contains("Waves (3):"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("apply --plan 2 --waves 1,50%,100% --bake 8s --metric-period 1s"),
        "the printed command asks for the same waves: {}",
        text.stdout
    );
    // The saved plan, carried out in waves.
    w.run(&[
        "apply",
        "--plan",
        "2",
        "--yes",
        "--waves",
        "1,50%,100%",
        "--bake",
        "8s",
        "--metric-period",
        "1s",
        "-q",
    ])
    .assert_code(0);
    let truth = sandbox.stats();
    for name in ["a", "b", "c", "d"] {
        assert_eq!(starts(&truth, name), 1, "{name}");
    }
    let states: Vec<String> = w
        .sql()
        .prepare("SELECT state FROM waves WHERE run_id = 3 ORDER BY wave")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(states, ["passed", "passed", "passed"]);
}

#[test]
fn a_rollback_rolls_back_in_waves_too() {
    let (sandbox, w, _dir) = setup(&[("a", "ok"), ("b", "quiet"), ("c", "quiet")], |_| k());
    w.apply(&w.path("fleet.csv"), &[]).assert_code(0);
    let run = w.run(&[
        "rollback",
        "--yes",
        "--waves",
        "1,100%",
        "--bake",
        "8s",
        "--metric-period",
        "1s",
        "-q",
    ]);
    run.assert_code(0);
    let truth = sandbox.stats();
    for name in ["a", "b", "c"] {
        let s = stream(&truth, name);
        assert_eq!((s.status.as_str(), s.stop_calls), ("DISABLED", 1), "{name}");
    }
    let states: Vec<String> = w
        .sql()
        .prepare("SELECT state FROM waves WHERE run_id = 2 ORDER BY wave")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(states, ["passed", "passed"]);
    // A rollback's failed gate halts; rolling the rollback back is refused up front.
    w.run(&[
        "rollback",
        "--yes",
        "--waves",
        "1,100%",
        "--on-gate-failure",
        "rollback",
    ])
    .assert_code(2);
}
