//! A plan file that travels: written on one ledger, carried out on a fresh one against the same
//! sandbox exactly as `apply --plan ID` carries out the saved plan, and refused — with nothing
//! sent and no plan written — when stale, edited, already carried out, or made against another
//! endpoint.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{FAST, apply_on, calls, example, plan_to_file};
use crate::common::Sandbox;

/// (stream, region, phase, reason) of every item of a run report.
fn outcomes(report: &Value) -> BTreeSet<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{} {} {} {}",
                i["region"], i["stream"], i["action"], i["phase"], i["reason"]
            )
        })
        .collect()
}

/// The streams the sandbox was sent a Start for.
fn started(sandbox: &Sandbox) -> BTreeSet<String> {
    sandbox
        .stats()
        .streams
        .iter()
        .filter(|s| s.start_calls > 0)
        .map(|s| format!("{}/{}", s.region, s.name))
        .collect()
}

#[test]
fn a_plan_file_applied_on_a_fresh_ledger_does_what_apply_plan_id_does() {
    // The saved plan, carried out where it was made.
    let (by_id, w, fleet) = example();
    plan_to_file(&w, &fleet, &[]);
    let run = apply_on(&w, &by_id.url, "ledger.db", &["--plan", "1"]);
    run.assert_code(3);
    let expected = w.run(&["report", "--format", "json"]).assert_code(0).json();
    // The ledger it was made on knows the file by its hash: carried out already.
    let sent = calls(&by_id);
    let again = apply_on(&w, &by_id.url, "ledger.db", &["plan.json"]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("was already carried out by run 2"),
        "{}",
        again.stderr
    );
    assert_eq!(calls(&by_id), sent);

    // The same world, planned into a file on one ledger and applied from it on another.
    let (by_file, w, fleet) = example();
    let hash = plan_to_file(&w, &fleet, &[]);
    let described = |s: &Sandbox| -> std::collections::BTreeMap<String, u64> {
        s.stats()
            .streams
            .iter()
            .map(|s| {
                let n = s
                    .requests
                    .get("DescribeDeliveryStream")
                    .copied()
                    .unwrap_or(0);
                (format!("{}/{}", s.region, s.name), n)
            })
            .collect()
    };
    let before = described(&by_file);
    let run = apply_on(&w, &by_file.url, "fresh.db", &["--plan", "plan.json"]);
    run.assert_code(3);
    let fresh = |args: &[&str]| {
        let mut cmd = w.command_to(&by_file.url, &w.path("fresh.db"));
        crate::common::Run::from(cmd.args(args).output().unwrap())
    };
    let report = fresh(&["report", "--format", "json"]).assert_code(0).json();
    assert_eq!(outcomes(&report), outcomes(&expected));
    assert_eq!(
        started(&by_file),
        started(&by_id),
        "Starts went to the same streams"
    );
    // A fresh plan is not observed again: only the streams it starts are described (to follow
    // them), none of those it leaves alone.
    let starts = started(&by_file);
    for (stream, n) in described(&by_file) {
        if !starts.contains(&stream) {
            assert_eq!(
                Some(&n),
                before.get(&stream),
                "{stream} was described again: the plan file's observations were not used"
            );
        }
    }
    // The fresh ledger knows the plan by its hash, and the run says which plan it carried out.
    assert_eq!(report["plan_hash"], hash);
    assert_eq!(report["plan_file"], "plan.json");
    assert_eq!(report["plan_hash_expected"], false);
    let history = fresh(&["history", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(history[0]["plan_hash"], hash, "{history:#}");

    // Applied twice: refused, nothing sent.
    let sent = calls(&by_file);
    let again = apply_on(&w, &by_file.url, "fresh.db", &["plan.json"]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("was already carried out by run 1"),
        "{}",
        again.stderr
    );
    assert_eq!(calls(&by_file), sent);
}

#[test]
fn a_plan_file_is_refused_when_stale_edited_or_made_against_another_endpoint() {
    let (sandbox, w, fleet) = example();
    plan_to_file(&w, &fleet, &[]);
    let sent = calls(&sandbox);
    let refused = |args: &[&str], ledger: &str, why: &str| {
        let run = apply_on(&w, &sandbox.url, ledger, args);
        run.assert_code(2);
        assert!(run.stderr.contains(why), "{why:?} not in:\n{}", run.stderr);
        assert_eq!(calls(&sandbox), sent, "{args:?} sent a call");
        // Nothing written: no ledger, or no plan in it.
        if w.path(ledger).exists() {
            let plans: i64 = rusqlite::Connection::open(w.path(ledger))
                .unwrap()
                .query_row("SELECT COUNT(*) FROM plans", [], |r| r.get(0))
                .unwrap();
            assert_eq!(plans, 0, "{args:?} wrote a plan");
        }
    };
    // Older than --max-plan-age.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    refused(
        &["plan.json", "--max-plan-age", "1s"],
        "stale.db",
        "is stale: plan 1 was made",
    );
    assert!(!w.path("stale.db").exists());
    // Edited by hand: one decision changed.
    let text = std::fs::read_to_string(w.path("plan.json")).unwrap();
    let edited = text.replacen("\"action\": \"skip\"", "\"action\": \"enable\"", 1);
    assert_ne!(edited, text);
    std::fs::write(w.path("edited.json"), edited).unwrap();
    refused(
        &["edited.json"],
        "edited.db",
        "was changed after it was written",
    );
    assert!(!w.path("edited.db").exists());
    let shown = w.run(&["show", "edited.json"]);
    shown.assert_code(2);
    assert!(shown.stderr.contains("was changed after it was written"));
    // Cut short, or not a plan file at all.
    std::fs::write(w.path("cut.json"), &text[..text.len() / 3]).unwrap();
    refused(
        &["cut.json"],
        "cut.db",
        "is not a plan file: it is not JSON",
    );
    std::fs::write(w.path("other.json"), "{\"streams\": []}").unwrap();
    refused(
        &["other.json"],
        "other.db",
        "is not a firehose-sse plan file",
    );
    refused(
        &["--plan", "missing.json"],
        "missing.db",
        "cannot read the plan file missing.json",
    );

    // Made against another endpoint.
    let other = Sandbox::start(&["--tps", "0"]);
    let run = apply_on(&w, &other.url, "elsewhere.db", &["plan.json"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("went to") && run.stderr.contains(&sandbox.url),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&other), 0);
    let plans: i64 = rusqlite::Connection::open(w.path("elsewhere.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM plans", [], |r| r.get(0))
        .unwrap();
    assert_eq!(plans, 0);
    // Unless that is meant.
    let run = apply_on(
        &w,
        &other.url,
        "elsewhere.db",
        &["plan.json", "--allow-endpoint-change"],
    );
    assert_ne!(run.code, Some(2), "{}", run.stderr);
}

#[test]
fn a_plan_files_observations_older_than_max_plan_age_are_observed_again() {
    let (sandbox, w, fleet) = example();
    w.run(&[
        "inventory",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "-q",
    ])
    .assert_code(0);
    // The plan takes the inventory's observations, which are older than the plan itself.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let hash = plan_to_file(&w, &fleet, &[]);
    let described = sandbox.stats().requests_for("DescribeDeliveryStream");
    // Reviewed: deciding again would not be the plan reviewed, so it is refused.
    let run = apply_on(
        &w,
        &sandbox.url,
        "fresh.db",
        &[
            "plan.json",
            "--max-plan-age",
            "3s",
            "--expect-plan-hash",
            &hash,
        ],
    );
    run.assert_code(2);
    assert!(
        run.stderr.contains("was decided from observations made"),
        "{}",
        run.stderr
    );
    assert_eq!(calls(&sandbox), 0);
    // Not reviewed: observed again, as `apply --plan ID` does.
    let run = w
        .command_to(&sandbox.url, &w.path("fresh2.db"))
        .args(["apply", "plan.json", "--max-plan-age", "3s", "--yes"])
        .args(["--first-poll", "300ms", "--start-tps", "50"])
        .args(FAST)
        .output()
        .unwrap();
    let run = crate::common::Run::from(run);
    run.assert_code(3);
    assert!(run.stderr.contains("observing again"), "{}", run.stderr);
    let again = sandbox.stats().requests_for("DescribeDeliveryStream") - described;
    assert!(
        again >= 18,
        "{again} Describes: the plan was not observed again"
    );
    // Decided again, it is not the plan file's plan: the run does not claim its hash.
    let report = w
        .command_to(&sandbox.url, &w.path("fresh2.db"))
        .args(["report", "--output", "json"])
        .output()
        .unwrap();
    let report = crate::common::Run::from(report).assert_code(0).json();
    assert!(report["plan_hash"].is_null(), "{}", report["plan_hash"]);
}
