//! apply of a saved plan: it does what the plan showed, and a plan older than
//! `--max-plan-age` is observed again.

use super::{FAST, MIXED_ARGS, item, mixed, plan_json};

/// The dry run is what apply does: `apply --plan ID` carries out exactly the saved decisions
/// (no new observation while the plan is fresh), and starts only the streams it planned to.
#[test]
fn apply_of_a_saved_plan_does_what_the_plan_showed() {
    let (sandbox, w, _) = mixed();
    let plan = plan_json(&w, "fleet.csv", &[MIXED_ARGS, FAST].concat());
    let id = plan["plan_id"].as_i64().unwrap().to_string();
    let observations = |name: &str| -> i64 {
        w.sql()
            .query_row(
                "SELECT COUNT(*) FROM observations o JOIN streams s ON s.id = o.stream_id
                 WHERE s.name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before: Vec<(String, i64)> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["stream"].as_str().unwrap().to_owned())
        .map(|name| {
            let n = observations(&name);
            (name, n)
        })
        .collect();
    let run = w.run(
        &[
            &[
                "apply",
                "--plan",
                &id,
                "--yes",
                "-q",
                "--first-poll",
                "200ms",
            ][..],
            &FAST,
            &["--start-tps", "50"],
        ]
        .concat(),
    );
    // s-budget is deferred: exit 4.
    run.assert_code(4);
    assert!(!run.stderr.contains("observing again"), "{}", run.stderr);
    let after = sandbox.stats();
    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    let mut started = Vec::new();
    for planned in plan["items"].as_array().unwrap() {
        let name = planned["stream"].as_str().unwrap();
        let done = item(&report, name);
        let expected = match planned["action"].as_str().unwrap() {
            "enable" | "rekey" => {
                started.push(name);
                ("done", None)
            }
            "noop" => ("done", None),
            "skip" => ("skipped", planned["reason"].as_str()),
            "defer" => ("deferred", Some("budget")),
            other => panic!("unexpected action {other}"),
        };
        if !started.contains(&name) {
            // A fresh plan is not observed again: only started streams are described.
            let was = before.iter().find(|(n, _)| n == name).map(|(_, n)| *n);
            assert_eq!(Some(observations(name)), was, "{name} was observed again");
        }
        assert_eq!(
            (done["phase"].as_str().unwrap(), done["reason"].as_str()),
            expected,
            "{name}: planned {planned:#}, did {done:#}"
        );
    }
    started.sort_unstable();
    let mut truth_started: Vec<&str> = after
        .streams
        .iter()
        .filter(|s| s.start_calls > 0)
        .map(|s| s.name.as_str())
        .collect();
    truth_started.sort_unstable();
    assert_eq!(
        truth_started, started,
        "Starts went to exactly the planned streams"
    );
}

/// A saved plan older than `--max-plan-age` is observed again before anything is started.
#[test]
fn a_plan_older_than_max_plan_age_is_observed_again() {
    let (sandbox, w, _) = mixed();
    let plan = plan_json(&w, "fleet.csv", &[MIXED_ARGS, FAST].concat());
    let id = plan["plan_id"].as_i64().unwrap().to_string();
    let before = sandbox.stats().requests_for("DescribeDeliveryStream");
    let run = w.run(
        &[
            &[
                "apply",
                "--plan",
                &id,
                "--yes",
                "-q",
                "--max-plan-age",
                "0s",
            ][..],
            &["--first-poll", "200ms", "--start-tps", "50"],
            &FAST,
        ]
        .concat(),
    );
    run.assert_code(4);
    assert!(run.stderr.contains("observing again"), "{}", run.stderr);
    let observed = sandbox.stats().requests_for("DescribeDeliveryStream") - before;
    let fleet_streams = plan["items"].as_array().unwrap().len() as u64;
    assert!(
        observed >= fleet_streams,
        "{observed} Describes: the fleet's {fleet_streams} streams were not observed again"
    );
}
