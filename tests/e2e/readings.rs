//! AWS as documented, part 2, end to end on the sandbox: which limit a `LimitExceededException`
//! means, a key slot a rekey freed, credentials whose issue time is unknown, partitions other
//! than `aws`, Organizations' delegated administrator, every KMS key state.

use std::path::Path;

use serde_json::Value;

use crate::common::{Sandbox, Workdir, item, key_arn};

const R: &str = "us-east-1";

fn report(w: &Workdir) -> Value {
    w.run(&["report", "--format", "json"]).assert_code(0).json()
}

fn plan_json(w: &Workdir, fleet: &Path) -> Value {
    w.run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"])
        .assert_code(0)
        .json()
}

/// A sandbox seeded with `world` (JSON), quick transitions, and its workdir.
fn world(world: &str, args: &[&str]) -> (Sandbox, Workdir, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    if !args.contains(&"--latency") {
        all.extend(["--latency", "100ms"]);
    }
    let sandbox = Sandbox::with_world(dir.path(), world, &all);
    let w = Workdir::new(&sandbox);
    (sandbox, w, dir)
}

#[test]
fn every_key_state_but_enabled_is_named_with_what_to_do() {
    // KMS's `KeyState` values (its model), each a key of its own.
    let states = [
        ("Disabled", "key_disabled", "enable-key"),
        (
            "PendingDeletion",
            "key_pending_deletion",
            "cancel-key-deletion",
        ),
        ("PendingImport", "key_pending_import", "import-key-material"),
        (
            "PendingReplicaDeletion",
            "key_pending_replica_deletion",
            "cancel-key-deletion",
        ),
        ("Unavailable", "key_unavailable", "connect-custom-key-store"),
        ("Creating", "key_creating", "once it is Enabled"),
        ("Updating", "key_updating", "once it is Enabled"),
    ];
    let keys: Vec<String> = states
        .iter()
        .map(|(state, _, _)| format!(r#"{{"id": "k-{state}", "state": "{state}"}}"#))
        .collect();
    let streams: Vec<String> = states
        .iter()
        .map(|(state, _, _)| format!(r#"{{"name": "to-{state}"}}"#))
        .collect();
    let (sandbox, w, _dir) = world(
        &format!(
            r#"{{"keys": [{}], "streams": [{}]}}"#,
            keys.join(","),
            streams.join(",")
        ),
        &[],
    );
    let mut csv = String::from("stream,region,key_arn\n");
    for (state, _, _) in &states {
        csv.push_str(&format!(
            "to-{state},{R},{}\n",
            key_arn(R, &format!("k-{state}"))
        ));
    }
    let fleet = w.fleet("fleet.csv", &csv);
    let plan = plan_json(&w, &fleet);
    for (state, reason, _) in states {
        let it = item(&plan, &format!("to-{state}"));
        assert_eq!(
            (&it["action"], &it["reason"]),
            (&Value::from("skip"), &Value::from(reason)),
            "{state}: {it:#}"
        );
    }
    // The table says what to do about each.
    let table = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    table.assert_code(0);
    for (state, reason, hint) in states {
        let line = table
            .stdout
            .lines()
            .find(|l| l.contains(&format!("to-{state} ")))
            .unwrap_or_else(|| panic!("no line for {state}:\n{}", table.stdout));
        assert!(
            line.contains(reason) && line.contains(hint),
            "{state}: {line}"
        );
    }
    let truth = sandbox.stats();
    assert_eq!(
        truth
            .requests
            .get("StartDeliveryStreamEncryption")
            .copied()
            .unwrap_or(0),
        0
    );
}

#[test]
fn a_delegated_administrator_inventories_the_organization() {
    // Organizations API reference, ListAccounts: "You can only call this operation from the
    // management account or a member account that is a delegated administrator."
    let (_sandbox, w, _dir) = world(
        r#"{"roles": ["firehose-sse"],
            "accounts": [
              {"id": "111111111111", "delegated_administrator": true, "roles": ["firehose-sse"],
               "streams": [{"name": "a"}]},
              {"id": "222222222222", "roles": ["firehose-sse"], "streams": [{"name": "b"}]}],
            "credentials": [
              {"access_key": "AKIDDELEGATED", "expires_after": "12h", "account": "111111111111"},
              {"access_key": "AKIDMEMBER", "expires_after": "12h", "account": "222222222222"}]}"#,
        &[],
    );
    let inventory = |key: &str| -> crate::common::Run {
        w.command()
            .env("AWS_ACCESS_KEY_ID", key)
            .args([
                "inventory",
                "--organization",
                "--assume-role",
                "firehose-sse",
                "--region",
                R,
                "-q",
                "--output",
                "json",
            ])
            .output()
            .unwrap()
            .into()
    };
    let listed = inventory("AKIDDELEGATED");
    listed.assert_code(0);
    let doc = listed.json();
    let accounts: std::collections::BTreeSet<&str> = doc["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["account"].as_str().unwrap())
        .collect();
    assert_eq!(
        accounts,
        ["111111111111", "123456789012", "222222222222"].into(),
        "{doc:#}"
    );
    // A member that is not a delegated administrator is refused, and told who may list.
    let refused = inventory("AKIDMEMBER");
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("delegated administrator")
            && refused.stderr.contains("management account"),
        "{}",
        refused.stderr
    );
}
