//! The rollout's promises under abuse, checked against the sandbox's ground truth and the
//! ledger: `kill -9` at random instants then resume, and faults plus throttles plus latency
//! spikes. After either, every stream is ENABLED with its target key, no stream's calls in the
//! window exceed the budget, every call the sandbox saw is in the ledger, and the ledger never
//! counts fewer calls than the sandbox accepted.
//!
//! The kill instants come from a seed (`FIREHOSE_SSE_CHAOS_SEED`, default fixed); a failure
//! prints it so the run can be repeated exactly.

use std::time::Duration;

use crate::common::*;

/// A small xorshift: the kill instants must be reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Two regions of streams, all to the AWS-owned key.
fn two_region_world(per_region: usize) -> (String, String) {
    let mut streams = Vec::new();
    let mut fleet = String::from("stream,region\n");
    for region in ["us-east-1", "eu-west-1"] {
        for i in 0..per_region {
            streams.push(format!(r#"{{"name": "s-{i:04}", "region": "{region}"}}"#));
            fleet.push_str(&format!("s-{i:04},{region}\n"));
        }
    }
    (format!(r#"{{"streams": [{}]}}"#, streams.join(",")), fleet)
}

/// The invariants every run must leave behind.
fn check_invariants(
    sandbox: &Sandbox,
    w: &Workdir,
    streams: usize,
    dangling: usize,
    context: &str,
) {
    let truth = sandbox.stats();
    // The sandbox refuses (and does not count) a call past a stream's budget: a refusal is
    // the only trace of a client that overspent.
    assert_eq!(
        truth.limit_exceeded.stream_budget, 0,
        "{context}: a call was sent past a stream's budget"
    );
    assert_eq!(truth.streams.len(), streams, "{context}");
    let counts = ledger_counts(w);
    for s in &truth.streams {
        assert_eq!(
            (s.status.as_str(), s.key_type.as_deref()),
            ("ENABLED", Some("AWS_OWNED_CMK")),
            "{context}: {s:?}"
        );
        assert!(
            s.calls_in_window <= truth.limits.stream_budget,
            "{context}: budget breached: {s:?}"
        );
        let counted = counts
            .get(&(s.region.clone(), s.name.clone()))
            .copied()
            .unwrap_or(0);
        assert!(
            counted as u64 >= s.start_calls + s.stop_calls,
            "{context}: {}/{}: the ledger counts {counted} calls, the sandbox accepted {}",
            s.region,
            s.name,
            s.start_calls
        );
    }
    // Every Start the sandbox received (accepted or not) is an attempt in the ledger.
    let received = truth.requests_for("StartDeliveryStreamEncryption") as i64;
    let recorded: i64 = counts.values().sum();
    assert!(
        recorded >= received,
        "{context}: the sandbox received {received} Starts, the ledger has {recorded}"
    );
    let accepted: u64 = truth.streams.iter().map(|s| s.start_calls).sum();
    assert!(
        accepted as usize <= streams + dangling,
        "{context}: {accepted} Starts accepted for {streams} streams, {dangling} in flight at the kills"
    );
}

#[test]
fn kill_9_at_random_instants_then_resume_keeps_every_promise() {
    let seed: u64 = std::env::var("FIREHOSE_SSE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_126);
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let (world, fleet) = two_region_world(60);
    // A budget of 4 calls per stream (3 above the reserve): a client that re-sent Starts
    // after kills instead of reconciling would meet it.
    let sandbox = Sandbox::with_world(
        dir.path(),
        &world,
        &["--latency", "300ms", "--tps", "20", "--stream-budget", "4"],
    );
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet);
    let mut cmd = vec!["apply", fleet.to_str().unwrap()];
    cmd.extend_from_slice(&[
        "--yes",
        "-q",
        "--start-tps",
        "20",
        "--describe-tps",
        "20",
        "--first-poll",
        "500ms",
    ]);
    // The attempts left in flight by the kills (one may outlive several kills: a set).
    let mut dangling = std::collections::HashSet::new();
    let mut instants = Vec::new();
    for _ in 0..12 {
        // Between 0.2 s and 4 s: key observation, stream observation, Starts, polls.
        let after = Duration::from_millis(200 + rng.below(3800));
        instants.push(after.as_millis());
        let child = spawn(&w, &cmd);
        std::thread::sleep(after);
        signal(&child, "-KILL");
        child.wait_with_output().unwrap();
        dangling.extend(in_flight_ids(&w));
    }
    let context = format!("seed {seed}, kills after {instants:?} ms");
    let done = w.run(&cmd);
    assert_eq!(done.code, Some(0), "{context}: {}", done.stderr);
    check_invariants(&sandbox, &w, 120, dangling.len(), &context);
    let accepted: u64 = sandbox.stats().streams.iter().map(|s| s.start_calls).sum();
    eprintln!(
        "{context}: {accepted} Starts for 120 streams, {} in flight at the kills",
        dangling.len()
    );
}

#[test]
fn faults_throttles_and_latency_spikes_converge_without_a_breach_and_the_report_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let (world, fleet) = two_region_world(50);
    // The client is told the quota is 40/s where the sandbox allows 20/s: some calls
    // are throttled, on top of 5 % faults (500s, dropped connections, 2 s delays).
    let sandbox = Sandbox::with_world(
        dir.path(),
        &world,
        &[
            "--latency",
            "200ms",
            "--tps",
            "20",
            "--fault-rate",
            "0.05",
            "--seed",
            "11",
        ],
    );
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet);
    let run = w.apply(
        &fleet,
        &[
            "--output",
            "json",
            "--start-tps",
            "40",
            "--describe-tps",
            "40",
            "--first-poll",
            "400ms",
            "--read-timeout",
            "5",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let truth = sandbox.stats();
    let faults = &truth.faults;
    assert!(
        faults.internal_failure > 0 && faults.dropped > 0 && faults.delayed > 0,
        "{faults:?}"
    );
    assert!(
        truth.throttled.values().sum::<u64>() > 0,
        "no throttle happened: the test proves nothing"
    );
    check_invariants(&sandbox, &w, 100, 0, "faults");
    // The report says what the sandbox knows.
    let report = w.run(&["report", "--format", "json"]).json();
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 100);
    for item in items {
        let s = truth
            .stream(
                item["region"].as_str().unwrap(),
                item["stream"].as_str().unwrap(),
            )
            .unwrap();
        assert_eq!(
            (item["phase"].as_str(), item["status"].as_str()),
            (Some("done"), Some(s.status.as_str())),
            "{item}"
        );
        assert!(
            item["attempts"].as_u64().unwrap() >= s.start_calls,
            "{item} vs {s:?}"
        );
    }
    let summary = run.json();
    assert!(
        summary["throttles"].as_u64().unwrap() > 0,
        "throttles are counted in the summary: {summary}"
    );
}
