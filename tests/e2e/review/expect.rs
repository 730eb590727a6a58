//! `--expect-plan-hash`: what was reviewed is what runs. A wrong hash sends nothing — not a
//! Start, not even a Describe (the sandbox's ground truth) — whether the plan is a file or a
//! saved plan; the right one is recorded with the run, and `history` and the run report say
//! the plan was approved by its hash.

use super::{apply_on, example, plan_to_file, requests};

#[test]
fn a_wrong_expected_hash_sends_nothing_and_the_right_one_is_recorded_with_the_run() {
    let (sandbox, w, fleet) = example();
    let hash = plan_to_file(&w, &fleet, &[]);
    let wrong = format!(
        "{}{}",
        &hash[..63],
        if hash.ends_with('0') { "1" } else { "0" }
    );
    let before = requests(&sandbox);
    for source in [&["plan.json"][..], &["--plan", "1"]] {
        let mut args = source.to_vec();
        args.extend(["--expect-plan-hash", &wrong]);
        let run = apply_on(&w, &sandbox.url, "ledger.db", &args);
        run.assert_code(2);
        assert!(
            run.stderr
                .contains(&format!("its hash is {hash}, not {wrong}")),
            "{}",
            run.stderr
        );
        assert_eq!(requests(&sandbox), before, "{args:?} sent a request");
    }
    // The 12 digits a report shows beside the plan are not a hash to approve.
    let run = apply_on(
        &w,
        &sandbox.url,
        "ledger.db",
        &["plan.json", "--expect-plan-hash", &hash[..12]],
    );
    run.assert_code(2);
    assert!(
        run.stderr.contains("is not a whole SHA-256"),
        "{}",
        run.stderr
    );
    // A fleet file has no reviewed plan to compare.
    let run = apply_on(
        &w,
        &sandbox.url,
        "ledger.db",
        &[&fleet, "--expect-plan-hash", &hash],
    );
    run.assert_code(2);
    assert_eq!(requests(&sandbox), before);
    // No run was recorded by any of them.
    let runs: i64 = w
        .sql()
        .query_row("SELECT COUNT(*) FROM runs WHERE kind = 'apply'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(runs, 0);

    // The right hash: carried out, and said so.
    let upper = hash.to_ascii_uppercase();
    let run = apply_on(
        &w,
        &sandbox.url,
        "ledger.db",
        &["plan.json", "--expect-plan-hash", &upper],
    );
    run.assert_code(3);
    let history = w.run(&["history"]).assert_code(0).stdout.clone();
    let line = history.lines().find(|l| l.contains("apply")).unwrap();
    assert!(
        line.contains(&format!("{} (expected)", &hash[..12])),
        "{history}"
    );
    let report = w.run(&["report"]).assert_code(0).stdout.clone();
    assert!(
        report.contains(&format!(
            "Plan 1 from plan.json, hash {hash}, approved with --expect-plan-hash."
        )),
        "{report}"
    );
    let json = w.run(&["report", "--output", "json"]).assert_code(0).json();
    assert_eq!(
        (&json["plan_hash"], &json["plan_hash_expected"]),
        (&serde_json::json!(hash), &serde_json::json!(true))
    );
    let md = w
        .run(&["report", "--format", "md"])
        .assert_code(0)
        .stdout
        .clone();
    assert!(md.starts_with("Plan 1 from plan.json, hash "), "{md}");
}
