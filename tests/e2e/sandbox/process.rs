//! `firehose-sse sandbox` as a process: the endpoint is the first line it prints, ground truth
//! at `/_sandbox/stats`, bad addresses and worlds refused with exit 2, a clean stop on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{REGION, write_fleet};
use crate::common::{ACCOUNT, BIN, Sandbox, Stats};

#[tokio::test]
async fn prints_the_endpoint_first_and_serves_ground_truth() {
    let sb = Sandbox::start(&["--streams", "2"]);
    assert!(sb.url.starts_with("http://127.0.0.1:"), "{}", sb.url);
    assert_ne!(sb.port(), 0);
    let raw = sb.raw("GET", "/_sandbox/stats", &[], "");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("application/json"));
    assert!(raw.header("x-amzn-RequestId").is_some());
    let stats: Stats = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(stats.account, ACCOUNT);
    assert_eq!(
        (
            stats.limits.tps,
            stats.limits.stream_budget,
            stats.limits.cmk_limit
        ),
        (5, 25, 500)
    );
    assert_eq!(stats.limits.window_ms, 86_400_000);
    assert_eq!(stats.limits.latency_ms, 5_000);
    let names: Vec<_> = stats.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["stream-00000", "stream-00001"]);
    let s = &stats.streams[0];
    assert_eq!(
        (
            s.account.as_str(),
            s.region.as_str(),
            s.stream_type.as_str()
        ),
        (ACCOUNT, REGION, "DirectPut")
    );
    assert_eq!(
        (s.status.as_str(), s.stream_status.as_str()),
        ("DISABLED", "ACTIVE")
    );
    assert_eq!(
        (&s.key_type, &s.key_arn, &s.key_in_force),
        (&None, &None, &None)
    );
    assert_eq!((s.start_calls, s.stop_calls, s.calls_in_window), (0, 0, 0));
    // The raw document carries the field names of the spec.
    let doc = raw.json();
    for field in [
        "requests",
        "throttled",
        "limit_exceeded",
        "faults",
        "max_rate",
        "streams",
    ] {
        assert!(doc.get(field).is_some(), "{field}");
    }
    for field in [
        "account",
        "region",
        "name",
        "type",
        "status",
        "key_type",
        "key_arn",
        "key_in_force",
        "start_calls",
        "stop_calls",
        "calls_in_window",
    ] {
        assert!(doc["streams"][0].get(field).is_some(), "{field}");
    }
}

#[test]
fn refuses_non_loopback_addresses_and_bad_worlds_with_exit_2() {
    let out = Command::new(BIN)
        .args(["sandbox", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    assert!(out.stdout.is_empty());

    let fleet = write_fleet(r#"{"streams": [{"name": "a", "type": "Firehose"}]}"#);
    let out = Command::new(BIN)
        .args(["sandbox", "--listen", "127.0.0.1:0", "--fleet"])
        .arg(fleet.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Firehose"));
}

#[test]
fn stops_cleanly_on_sigterm() {
    let mut sb = Sandbox::start(&["--streams", "1"]);
    let pid = sb.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = sb.child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
