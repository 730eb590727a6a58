//! The plan report: the JSON's documented fields and types, and the JSON and the table
//! compared with their snapshots.

use firehose_sse::clock::rfc3339;
use serde_json::Value;

use super::{MIXED_ARGS, item, key, key_line, mixed, plan_json};
use crate::common::ACCOUNT;

/// The JSON plan of the mixed world with what varies between runs replaced.
fn normalized_json(mut plan: Value) -> Value {
    assert!(plan["plan_id"].is_i64(), "{plan:#}");
    plan["plan_id"] = "[plan_id]".into();
    assert!(
        plan["hash"].as_str().is_some_and(|h| h.len() == 64),
        "{plan:#}"
    );
    plan["hash"] = "[hash]".into();
    for i in plan["items"].as_array_mut().unwrap() {
        if i["next_slot"].is_string() {
            i["next_slot"] = "[next_slot]".into();
        }
    }
    plan
}

#[test]
fn plan_json_has_the_documented_fields_and_types() {
    let (_sandbox, w, _) = mixed();
    let plan = plan_json(&w, "fleet.csv", &MIXED_ARGS);

    assert!(
        plan["plan_id"].as_i64().is_some_and(|id| id > 0),
        "{plan:#}"
    );
    assert!(plan["estimated_seconds"].is_u64(), "{plan:#}");
    let summary = plan["summary"].as_object().unwrap();
    for field in ["enable", "rekey", "noop", "skip", "defer"] {
        assert!(summary[field].is_u64(), "summary.{field}: {summary:?}");
    }
    let items = plan["items"].as_array().unwrap();
    assert_eq!(items.len(), 13);
    for i in items {
        let action = i["action"].as_str().unwrap();
        for field in ["stream", "region", "action"] {
            assert!(i[field].is_string(), "{field}: {i:#}");
        }
        assert!(i["budget_used"].is_u64(), "{i:#}");
        // A reason exactly for skip and defer, a next slot exactly for defer.
        assert_eq!(
            i["reason"].is_string(),
            matches!(action, "skip" | "defer"),
            "{i:#}"
        );
        assert!(i["reason"].is_string() || i["reason"].is_null(), "{i:#}");
        assert_eq!(i["next_slot"].is_string(), action == "defer", "{i:#}");
        assert!(
            i["next_slot"].is_string() || i["next_slot"].is_null(),
            "{i:#}"
        );
        let target = &i["target"];
        assert!(target["key_type"].is_string(), "{i:#}");
        assert_eq!(
            target["key_arn"].is_string(),
            target["key_type"] == "CUSTOMER_MANAGED_CMK",
            "{i:#}"
        );
        // A stream that does not exist has no account and no current state.
        if i["reason"] == "not_found" {
            assert!(i["account"].is_null() && i["current"].is_null(), "{i:#}");
            continue;
        }
        assert_eq!(i["account"], ACCOUNT, "{i:#}");
        let current = i["current"].as_object().unwrap();
        assert!(current["status"].is_string(), "{i:#}");
        match current["key_type"].as_str() {
            None => assert!(
                current["key_type"].is_null() && current["key_arn"].is_null(),
                "{i:#}"
            ),
            Some("AWS_OWNED_CMK") => assert!(current["key_arn"].is_null(), "{i:#}"),
            Some(_) => assert!(current["key_arn"].is_string(), "{i:#}"),
        }
    }
    let rekey = item(&plan, "s-rekey");
    assert_eq!(
        (&rekey["current"]["status"], &rekey["current"]["key_type"]),
        (&Value::from("ENABLED"), &Value::from("AWS_OWNED_CMK"))
    );
    assert_eq!(rekey["target"]["key_arn"], key("good"));
    for k in plan["keys"].as_array().unwrap() {
        assert!(k["key_arn"].is_string(), "{k:#}");
        for field in ["streams_now", "streams_after", "limit"] {
            assert!(k[field].is_u64(), "{field}: {k:#}");
        }
        assert_eq!(k["limit"], 2);
    }
    assert_eq!(
        key_line(&plan, &key("good")),
        serde_json::json!({"key_arn": key("good"), "streams_now": 1, "streams_after": 2, "limit": 2})
    );
    assert_eq!(
        key_line(&plan, &key("small")),
        serde_json::json!({"key_arn": key("small"), "streams_now": 0, "streams_after": 2, "limit": 2})
    );

    insta::assert_snapshot!(
        "plan_json",
        serde_json::to_string_pretty(&normalized_json(plan)).unwrap()
    );
}

#[test]
fn plan_table_report_reads_like_terraform_plan() {
    let (_sandbox, w, next_slot) = mixed();
    let fleet = w.path("fleet.csv");
    let run = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "-q",
        MIXED_ARGS[0],
        MIXED_ARGS[1],
    ]);
    run.assert_code(0);
    let plan_id: i64 = w
        .sql()
        .query_row("SELECT MAX(id) FROM plans", [], |r| r.get(0))
        .unwrap();
    let hash: String = w
        .sql()
        .query_row("SELECT hash FROM plans WHERE id = ?1", [plan_id], |r| {
            r.get(0)
        })
        .unwrap();
    let text = run
        .stdout
        .replace(&rfc3339(next_slot), "[NEXT_SLOT]")
        .replace(&format!("plan {plan_id}"), "plan [ID]")
        .replace(&hash, "[HASH]")
        .replace(&hash[..12], "[HASH12]");
    insta::assert_snapshot!("plan_table", text);
}
