//! How firehose-sse reads AWS where its documents leave room, end to end on the sandbox: which
//! limit a `LimitExceededException` means, a key slot a rekey freed, credentials whose issue
//! time is unknown, partitions other than `aws`, Organizations' delegated administrator, every
//! KMS key state.

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

#[test]
fn a_budget_refusal_naming_monkey_logs_never_fills_its_key() {
    // Someone else spent monkey-logs' budget (the sandbox allows it one call): its refusal
    // echoes the stream's name, which holds "key". The tool counts no spent budget and no full
    // key, so both limits stay plausible: the stream is deferred, the key stays usable.
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "k"}], "streams": [{"name": "monkey-logs"}, {"name": "other"}]}"#,
        &["--stream-budget", "1"],
    );
    let firehose = crate::common::firehose_client(&sandbox.url, R);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        firehose
            .start_delivery_stream_encryption()
            .delivery_stream_name("monkey-logs")
            .send()
            .await
            .unwrap();
    });
    let settled = |name: &str| {
        (0..100).any(|_| {
            let done = crate::common::stream(&sandbox.stats(), name).status == "ENABLED";
            if !done {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            done
        })
    };
    assert!(settled("monkey-logs"));
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nmonkey-logs,{R},{key}\nother,{R},{key}\n"),
    );
    // One Start at a time: `other` is sent after the refusal has been read.
    let run = w.apply(&fleet, &["--concurrency", "1"]);
    run.assert_code(4);
    let report = report(&w);
    let monkey = item(&report, "monkey-logs");
    assert_eq!(
        (&monkey["phase"], &monkey["reason"]),
        (
            &Value::from("deferred"),
            &Value::from("budget_or_cmk_limit")
        ),
        "{monkey:#}"
    );
    let details = monkey["failure_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("monkey-logs has reached the limit"),
        "the raw message: {details}"
    );
    assert!(monkey["next_slot"].is_string(), "{monkey:#}");
    assert_eq!(
        item(&report, "other")["phase"],
        "done",
        "the key was not marked full"
    );
    let truth = sandbox.stats();
    assert_eq!(truth.limit_exceeded.stream_budget, 1);
    assert_eq!(
        crate::common::stream(&truth, "other")
            .key_in_force
            .as_deref(),
        Some(key.as_str())
    );
}

#[test]
fn a_key_refusal_soon_after_a_rekey_is_deferred_past_the_grants_retirement() {
    // `leaving` frees the key's one slot; AWS retires its grant only after delivering what
    // it buffered (up to 900 s) and KMS takes up to 5 min to see it: 20 min by default.
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        &format!(
            r#"{{"keys": [{{"id": "k"}}], "streams": [
                 {{"name": "leaving", "encryption": {{"key_arn": "{key}"}}}},
                 {{"name": "arriving"}}]}}"#
        ),
        &["--cmk-limit", "1", "--grant-retirement", "10m"],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nleaving,{R},\narriving,{R},{key}\n"),
    );
    w.run(&["inventory", "--region", R, "-q"]).assert_code(0);
    w.apply(&fleet, &["--cmk-limit", "1", "--first-poll", "300ms"])
        .assert_code(4);
    let report = report(&w);
    let arriving = item(&report, "arriving");
    assert_eq!(
        (&arriving["phase"], &arriving["reason"]),
        (&Value::from("deferred"), &Value::from("grant_retiring")),
        "{arriving:#}"
    );
    // Its next try is 20 min after the rekey that freed the slot.
    let (freed, next): (i64, i64) = w
        .sql()
        .query_row(
            "SELECT l.enabled_at, a.next_slot FROM run_items l, run_items a
             WHERE l.name = 'leaving' AND a.name = 'arriving' AND l.run_id = a.run_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(next - freed, 20 * 60 * 1000);
    let truth = sandbox.stats();
    assert_eq!(
        truth.limit_exceeded.cmk_limit, 1,
        "one refusal, no retry in the run"
    );
    assert_eq!(crate::common::stream(&truth, "arriving").status, "DISABLED");
}

#[test]
fn credentials_of_unknown_age_are_refreshed_once_before_the_first_customer_key_start() {
    // A credential process (as instance-profile and container credentials, its set may have
    // been issued long before this process sees it): with the default --max-credential-age
    // (5h) the provider is asked again before the first customer-key Start, and only then.
    // `owned` (AWS-owned key) is started first, one Start at a time.
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "k"}], "streams": [{"name": "owned"}, {"name": "a"}, {"name": "b"}]}"#,
        &[],
    );
    let (config, counter) = crate::documented::refreshing_credential_process(&w);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nowned,{R},\na,{R},{key}\nb,{R},{key}\n"),
    );
    let run: crate::common::Run = w
        .command()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .args([
            "--profile",
            "p",
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--concurrency",
            "1",
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(0);
    let asked: u32 = std::fs::read_to_string(&counter)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        asked, 2,
        "first use, then once before the customer-key Starts"
    );
    let truth = sandbox.stats();
    let tokens = |name: &str| crate::common::stream(&truth, name).start_tokens.clone();
    assert_ne!(
        tokens("owned"),
        tokens("a"),
        "the customer-key Start went with a set fetched for it"
    );
    assert_eq!(
        tokens("a"),
        tokens("b"),
        "and the next one with the same set"
    );
}

#[test]
fn a_fixed_session_refused_a_grant_withholds_the_accounts_customer_key_starts_once() {
    // The key's grants always fail; the session token is fixed (AWS_SESSION_TOKEN), so
    // fetching it again cannot help: each stream's one Start, then nothing more.
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "k", "failure": {"type": "CREATE_KMS_GRANT_FAILED"}}],
            "streams": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "owned"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},{key}\nb,{R},{key}\nc,{R},{key}\nowned,{R},\n"),
    );
    let run: crate::common::Run = w
        .command()
        .env("AWS_SESSION_TOKEN", "a-fixed-session")
        .args(["apply", fleet.to_str().unwrap(), "--yes", "-q"])
        .output()
        .unwrap()
        .into();
    run.assert_code(3);
    let truth = sandbox.stats();
    let report = report(&w);
    for name in ["a", "b", "c"] {
        assert!(
            crate::common::stream(&truth, name).start_calls <= 1,
            "{name}: not three tries per stream"
        );
        let it = item(&report, name);
        assert_eq!(it["reason"], "credentials_too_old", "{it:#}");
    }
    let calls: u64 = ["a", "b", "c"]
        .iter()
        .map(|n| crate::common::stream(&truth, n).start_calls)
        .sum();
    assert!(calls <= 3, "{calls} Starts");
    assert_eq!(item(&report, "owned")["phase"], "done");
}

/// A fleet of the sandbox's own account and a member account, all in `region` of `partition`,
/// each stream to a customer key of its account, applied through --assume-role while the
/// environment names a commercial Region; then the organization inventoried there.
fn a_fleet_in_another_partition(region: &str, partition: &str) {
    let (sandbox, w, _dir) = world(
        &format!(
            r#"{{"streams": [{{"name": "own", "region": "{region}"}}],
                "keys": [{{"id": "k", "region": "{region}"}}],
                "roles": ["firehose-sse"],
                "accounts": [{{"id": "111111111111", "roles": ["firehose-sse"],
                  "streams": [{{"name": "theirs", "region": "{region}"}}],
                  "keys": [{{"id": "tk", "region": "{region}"}}]}}]}}"#
        ),
        &[],
    );
    let own_key = format!("arn:{partition}:kms:{region}:123456789012:key/k");
    let their_key = format!("arn:{partition}:kms:{region}:111111111111:key/tk");
    let fleet = w.fleet(
        "fleet.csv",
        &format!(
            "stream,region,key_arn\nown,{region},{own_key}\n\
             arn:{partition}:firehose:{region}:111111111111:deliverystream/theirs,,{their_key}\n"
        ),
    );
    let run = |args: &[&str]| -> crate::common::Run {
        w.command()
            .env("AWS_REGION", "us-east-1")
            .args(args)
            .args(["--assume-role", "firehose-sse"])
            .output()
            .unwrap()
            .into()
    };
    let applied = run(&["apply", fleet.to_str().unwrap(), "--yes", "-q"]);
    assert_eq!(applied.code, Some(0), "{region}: {}", applied.stderr);
    let truth = sandbox.stats();
    for (name, key) in [("own", &own_key), ("theirs", &their_key)] {
        let s = crate::common::stream(&truth, name);
        assert_eq!(
            (s.status.as_str(), s.key_in_force.as_deref()),
            ("ENABLED", Some(key.as_str())),
            "{region}: {name}"
        );
    }
    // Organizations is asked in the partition too, and every account is reached.
    let listed = run(&[
        "inventory",
        "--organization",
        "--region",
        region,
        "-q",
        "--output",
        "json",
    ]);
    assert_eq!(listed.code, Some(0), "{region}: {}", listed.stderr);
    let doc = listed.json();
    assert_eq!(
        doc["unreachable"],
        serde_json::json!([]),
        "{region}: {doc:#}"
    );
    let accounts: std::collections::BTreeSet<&str> = doc["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["111111111111", "123456789012"].into(), "{doc:#}");
}

#[test]
fn a_govcloud_fleet_is_reached_in_its_partition() {
    a_fleet_in_another_partition("us-gov-west-1", "aws-us-gov");
}

#[test]
fn a_china_fleet_is_reached_in_its_partition() {
    a_fleet_in_another_partition("cn-north-1", "aws-cn");
}
