//! apply, resume, status and report, end to end: the real binary against the sandbox.

mod common;

use common::*;

#[test]
fn a_clean_run_of_300_streams_starts_each_once_and_polls_about_once() {
    let sandbox = Sandbox::start(&["--streams", "300", "--latency", "100ms", "--tps", "50"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(300), "us-east-1"));
    let run = w.run(&[
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "-q",
        "--output",
        "json",
        "--start-tps",
        "50",
        "--describe-tps",
        "50",
    ]);
    run.assert_code(0);
    let summary = run.json();
    assert_eq!(summary["counts"]["done"], 300, "{summary:#}");
    let truth = sandbox.stats();
    assert_eq!(truth.streams.len(), 300);
    for s in &truth.streams {
        assert_eq!(
            (s.status.as_str(), s.key_type.as_deref(), s.start_calls),
            ("ENABLED", Some("AWS_OWNED_CMK"), 1),
            "{s:?}"
        );
    }
    assert!(truth.throttled.is_empty(), "{:?}", truth.throttled);
    let per_stream = summary["polling_describes_per_stream"].as_f64().unwrap();
    assert!(
        per_stream <= 1.5,
        "{per_stream} polling Describes per stream"
    );
    // Observation (300) plus polling: the sandbox saw exactly what we counted.
    assert_eq!(
        truth.requests_for("DescribeDeliveryStream"),
        300 + summary["calls"]["DescribeDeliveryStream"].as_u64().unwrap()
    );
}
