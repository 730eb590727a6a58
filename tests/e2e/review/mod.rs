//! The plan for review, end to end: the plan's report in every format (`report PLAN_RUN`,
//! `plan --format`, `show FILE`; Markdown and the terminal's text snapshotted), a plan file
//! carried to a fresh ledger and applied there as `apply --plan ID` would, every way it is
//! refused (stale, edited, applied twice, made against another endpoint), and
//! `--expect-plan-hash` (a wrong hash sends nothing, by the sandbox's ground truth). The HTML
//! page is rendered in Chromium by `reports::plan_page`.
//!
//! The scenarios: `formats` (the example fleet's plan in each format, a 5,000-stream plan's
//! Markdown), `file` (the plan file), `expect` (`--expect-plan-hash`).

mod expect;
mod file;
mod formats;

use std::path::Path;

use crate::common::{Run, Sandbox, Workdir};

/// A sandbox seeded with the example world (`plans/example.sandbox.json`) and a work
/// directory holding the example fleet; returns the fleet's path too.
pub fn example() -> (Sandbox, Workdir, String) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let world = repo.join("plans").join("example.sandbox.json");
    let sandbox = Sandbox::start(&[
        "--fleet",
        world.to_str().unwrap(),
        "--latency",
        "300ms",
        "--tps",
        "0",
    ]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "example.csv",
        &std::fs::read_to_string(repo.join("plans").join("example.csv")).unwrap(),
    );
    let fleet = fleet.to_str().unwrap().to_owned();
    (sandbox, w, fleet)
}

/// Reads fast on a sandbox without a throttle.
pub const FAST: [&str; 2] = ["--describe-tps", "100"];

/// `plan FLEET -q --out plan.json`, returning the plan file's hash.
pub fn plan_to_file(w: &Workdir, fleet: &str, extra: &[&str]) -> String {
    let mut args = vec!["plan", fleet, "-q", "--out", "plan.json", FAST[0], FAST[1]];
    args.extend_from_slice(extra);
    w.run(&args).assert_code(0);
    file_hash(w, "plan.json")
}

/// The hash a plan file records.
pub fn file_hash(w: &Workdir, name: &str) -> String {
    let text = std::fs::read_to_string(w.path(name)).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["hash"].as_str().unwrap().to_owned()
}

/// `apply ARGS --yes -q` against `endpoint` on the ledger `ledger` of `w`'s directory.
pub fn apply_on(w: &Workdir, endpoint: &str, ledger: &str, args: &[&str]) -> Run {
    w.command_to(endpoint, &w.path(ledger))
        .arg("apply")
        .args(args)
        .args(["--yes", "-q", "--first-poll", "300ms", "--start-tps", "50"])
        .args(FAST)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

/// Every request the sandbox answered, by operation.
pub fn requests(sandbox: &Sandbox) -> std::collections::BTreeMap<String, u64> {
    sandbox.stats().requests
}

/// Start and Stop calls that reached the sandbox.
pub fn calls(sandbox: &Sandbox) -> u64 {
    let s = sandbox.stats();
    s.requests_for("StartDeliveryStreamEncryption") + s.requests_for("StopDeliveryStreamEncryption")
}
