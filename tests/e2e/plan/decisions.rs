//! What plan decides and why: every action and reason code reaches the report; a key of
//! another region never reaches the planner.

use firehose_sse::clock::rfc3339;

use super::{FAST, MIXED_ARGS, R, item, mixed, plan_json, verdicts};
use crate::common::{Sandbox, Workdir, key_arn};

#[test]
fn every_action_and_reason_code_reaches_the_report() {
    let (_sandbox, w, next_slot) = mixed();
    let plan = plan_json(&w, "fleet.csv", &[MIXED_ARGS, FAST].concat());
    let v = |s: &str, a: &str, r: Option<&str>| (s.to_owned(), a.to_owned(), r.map(str::to_owned));
    assert_eq!(
        verdicts(&plan),
        [
            v("s-enable", "enable", None),
            v("s-rekey", "rekey", None),
            v("s-noop", "noop", None),
            v("s-kinesis", "skip", Some("not_direct_put")),
            v("s-creating", "skip", Some("not_active")),
            v("s-gone", "skip", Some("not_found")),
            v("s-key-missing", "skip", Some("key_not_found")),
            v("s-key-disabled", "skip", Some("key_disabled")),
            v("s-key-rsa", "skip", Some("key_not_symmetric")),
            v("s-cmk-a", "enable", None),
            v("s-cmk-b", "enable", None),
            v("s-cmk-c", "skip", Some("cmk_limit")),
            v("s-budget", "defer", Some("budget")),
        ]
    );
    assert_eq!(
        plan["summary"],
        serde_json::json!({"enable": 3, "rekey": 1, "noop": 1, "skip": 7, "defer": 1})
    );
    let deferred = item(&plan, "s-budget");
    assert_eq!(deferred["next_slot"], rfc3339(next_slot), "{deferred:#}");
    assert_eq!(deferred["budget_used"], 24);
    for i in plan["items"].as_array().unwrap() {
        if i["action"] != "defer" {
            assert!(i["next_slot"].is_null(), "{i:#}");
        }
    }
}

#[test]
fn key_of_another_region_is_refused_by_the_fleet_reader() {
    // `key_wrong_region` cannot come out of a valid fleet file: the reader refuses a key of
    // another region than its stream before anything is called (exit 2). The planner's own
    // branch for it is covered by the unit tests in src/plan/tests.rs.
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!(
            "stream,region,key_arn\nstream-00000,{R},{}\n",
            key_arn("eu-west-1", "elsewhere")
        ),
    );
    let run = w.run(&["plan", fleet.to_str().unwrap()]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("line 2") && run.stderr.contains("region eu-west-1"),
        "{}",
        run.stderr
    );
    assert!(!w.ledger().exists(), "a refused fleet wrote a ledger");
    assert!(sandbox.stats().requests.is_empty());
}
