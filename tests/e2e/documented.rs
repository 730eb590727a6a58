//! AWS as documented, end to end on the sandbox (which follows the published models): each
//! case the API reference describes and the tool once let through — a stream of another
//! account, streams not ACTIVE or mid-transition, a key refusal soon after a rekey, KMS
//! refusing a key, failures described only on the stream or nowhere, key preflight, keys in
//! force nobody knows, expired and refreshed credentials, guidance for Kinesis sources and
//! producers. A key the service says is full is a dispatcher test on the fake AWS
//! (`apply::dispatch::tests`): what it asserts is the run's calls and ledger rows, not the wire.

use std::path::Path;

use serde_json::Value;

use crate::common::{Run, Sandbox, Workdir, item, key_arn, stream};

const R: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

fn ops(sandbox: &Sandbox, op: &str) -> u64 {
    sandbox.stats().requests.get(op).copied().unwrap_or(0)
}

fn plan_json(w: &Workdir, fleet: &Path) -> Value {
    w.run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"])
        .assert_code(0)
        .json()
}

fn report(w: &Workdir) -> Value {
    w.run(&["report", "--format", "json"]).assert_code(0).json()
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
fn a_stream_of_another_account_is_never_described_or_started() {
    let (sandbox, w, _dir) = world(
        r#"{"streams": [{"name": "stream-00000"}, {"name": "mine"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!(
            "stream\narn:aws:firehose:{R}:999999999999:deliverystream/stream-00000\n\
             arn:aws:firehose:{R}:{ACCOUNT}:deliverystream/mine\n"
        ),
    );
    let plan = plan_json(&w, &fleet);
    let theirs = item(&plan, "stream-00000");
    assert_eq!(
        (&theirs["action"], &theirs["reason"]),
        (&Value::from("skip"), &Value::from("no_credentials")),
        "{theirs:#}"
    );
    // The plan says why the account cannot be reached.
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("999999999999") && warnings.contains("--assume-role"),
        "{warnings}"
    );
    assert_eq!(
        ops(&sandbox, "DescribeDeliveryStream"),
        1,
        "only ours is described"
    );
    assert_eq!(
        ops(&sandbox, "GetCallerIdentity"),
        1,
        "the account is asked once"
    );
    // Skipped no_credentials: a cause to fix (exit 6).
    w.apply(&fleet, &[]).assert_code(6);
    let truth = sandbox.stats();
    assert_eq!(
        stream(&truth, "stream-00000").start_calls,
        0,
        "same name, our account: untouched"
    );
    assert_eq!(stream(&truth, "mine").start_calls, 1);
}

#[test]
fn a_stream_deleted_between_plan_and_apply_gets_one_start_at_most() {
    let (sandbox, w, _dir) = world(
        r#"{"streams": [{"name": "doomed"}, {"name": "kept"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        "stream,region\ndoomed,us-east-1\nkept,us-east-1\n",
    );
    w.run(&["plan", fleet.to_str().unwrap(), "-q"])
        .assert_code(0);
    let raw = sandbox.raw(
        "POST",
        "/",
        &[
            ("X-Amz-Target", "Firehose_20150804.DeleteDeliveryStream"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        r#"{"DeliveryStreamName": "doomed"}"#,
    );
    assert_eq!(raw.status, 200, "{}", raw.body);
    let before = ops(&sandbox, "DescribeDeliveryStream");
    let run = w.run(&["apply", "--plan", "1", "--yes", "-q", "--output", "json"]);
    let starts = ops(&sandbox, "StartDeliveryStreamEncryption");
    assert!(starts <= 2, "{starts} Starts for two streams");
    let describes = ops(&sandbox, "DescribeDeliveryStream") - before;
    assert!(describes <= 6, "{describes} Describes for two streams");
    let doomed = item(&report(&w), "doomed").clone();
    assert!(
        doomed["reason"] == "not_active" || doomed["reason"] == "not_found",
        "{doomed:#}"
    );
    assert!(run.code == Some(0) || run.code == Some(3), "{}", run.stderr);
    assert_eq!(item(&report(&w), "kept")["phase"], "done");
}

#[test]
fn a_stop_under_way_is_waited_for_then_the_stream_is_started_once() {
    let key = key_arn(R, "k1");
    let (sandbox, w, _dir) = world(
        &format!(
            r#"{{"keys": [{{"id": "k1"}}],
                 "streams": [{{"name": "leaving",
                   "encryption": {{"key_arn": "{key}", "status": "DISABLING"}}}}]}}"#
        ),
        &["--latency", "1s"],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nleaving,{R},{key}\n"),
    );
    w.apply(&fleet, &[]).assert_code(0);
    let truth = sandbox.stats();
    let s = stream(&truth, "leaving");
    assert_eq!(s.start_calls, 1);
    assert_eq!(s.status, "ENABLED");
    assert_eq!(s.key_in_force.as_deref(), Some(key.as_str()));
    assert_eq!(
        truth.limit_exceeded.cmk_limit + truth.limit_exceeded.stream_budget,
        0
    );
}

#[test]
fn a_key_refusal_right_after_a_rekey_freed_a_slot_is_tried_again_once_the_grant_can_be_retired() {
    // One slot on the key: `leaving` holds it and moves to the AWS-owned key; `arriving` takes
    // it. AWS only schedules the old grant's retirement: the first Start onto the key is
    // refused, the one after --grant-retirement-wait (within --max-wait) is not.
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        &format!(
            r#"{{"keys": [{{"id": "k"}}], "streams": [
                 {{"name": "leaving", "encryption": {{"key_arn": "{key}"}}}},
                 {{"name": "arriving"}}]}}"#
        ),
        &["--cmk-limit", "1", "--grant-retirement", "3s"],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nleaving,{R},\narriving,{R},{key}\n"),
    );
    w.run(&["inventory", "--region", R, "-q"]).assert_code(0);
    // The tool knows the key's limit too: it waits for the rekey, then takes the freed slot.
    w.apply(
        &fleet,
        &[
            "--cmk-limit",
            "1",
            "--first-poll",
            "300ms",
            "--grant-retirement-wait",
            "4s",
            "--max-wait",
            "1m",
        ],
    )
    .assert_code(0);
    let truth = sandbox.stats();
    let arriving = stream(&truth, "arriving");
    assert_eq!(arriving.status, "ENABLED");
    assert_eq!(arriving.key_in_force.as_deref(), Some(key.as_str()));
    assert_eq!(
        truth.limit_exceeded.cmk_limit, 1,
        "the slot was not free yet, once"
    );
    assert_eq!(arriving.start_calls, 1, "accepted the second time");
}

#[test]
fn kms_refusing_a_key_fails_that_stream_only_with_kms_code_and_hint() {
    let bad = key_arn(R, "no-grant");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "no-grant", "start_error": {"code": "AccessDeniedException"}}],
            "streams": [{"name": "a"}, {"name": "b"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},{bad}\nb,{R},\n"),
    );
    let run = w.apply(&fleet, &[]);
    run.assert_code(3);
    assert!(
        !run.stderr.contains("IAM policy"),
        "not a run-wide access denied: {}",
        run.stderr
    );
    let report = report(&w);
    let a = item(&report, "a");
    assert_eq!(a["reason"], "kms_refused", "{a:#}");
    assert_eq!(a["failure_type"], "InvalidKMSResourceException");
    assert!(
        a["failure_details"]
            .as_str()
            .unwrap()
            .starts_with("AccessDeniedException")
    );
    assert_eq!(item(&report, "b")["phase"], "done");
    assert_eq!(
        stream(&sandbox.stats(), "a").start_calls,
        0,
        "refused: nothing accepted"
    );
}

#[test]
fn a_failure_described_on_the_stream_or_nowhere_is_read_or_left_to_an_operator() {
    let on_stream = key_arn(R, "on-stream");
    let nowhere = key_arn(R, "nowhere");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [
             {"id": "on-stream", "failure": {"type": "KMS_ACCESS_DENIED", "description": "stream"}},
             {"id": "nowhere", "failure": {"type": "UNKNOWN_ERROR", "description": "none"}}],
            "streams": [{"name": "a"}, {"name": "b"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},{on_stream}\nb,{R},{nowhere}\n"),
    );
    w.apply(&fleet, &[]).assert_code(3);
    let report = report(&w);
    let a = item(&report, "a");
    assert_eq!(
        a["failure_type"], "KMS_ACCESS_DENIED",
        "read from the stream: {a:#}"
    );
    assert_eq!(a["reason"], "enabling_failed:needs_operator");
    let b = item(&report, "b");
    assert_eq!(b["reason"], "enabling_failed:needs_operator", "{b:#}");
    let truth = sandbox.stats();
    assert_eq!(stream(&truth, "a").start_calls, 1);
    assert_eq!(
        stream(&truth, "b").start_calls,
        1,
        "not retried as UNKNOWN_ERROR"
    );
}

#[test]
fn key_preflight_refuses_aws_managed_keys_and_goes_on_past_unreadable_ones() {
    let managed = key_arn(R, "aws-managed");
    let secret = key_arn(R, "secret");
    let theirs = format!("arn:aws:kms:{R}:210987654321:key/theirs");
    let (_sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "aws-managed", "manager": "AWS"},
                     {"id": "secret", "describe_error": "AccessDeniedException"},
                     {"id": "theirs", "account": "210987654321"}],
            "streams": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},{managed}\nb,{R},{secret}\nc,{R},{theirs}\n"),
    );
    let plan = plan_json(&w, &fleet);
    assert_eq!(item(&plan, "a")["reason"], "key_not_customer_managed");
    assert_eq!(item(&plan, "b")["reason"], "key_unreadable");
    assert_eq!(
        item(&plan, "c")["action"],
        "enable",
        "another account's key is allowed"
    );
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("belongs to account 210987654321"),
        "{warnings}"
    );
}

#[test]
fn a_key_in_force_nobody_knows_is_counted_and_never_called_unencrypted() {
    let key = key_arn(R, "k");
    let (_sandbox, w, _dir) = world(
        &format!(
            r#"{{"keys": [{{"id": "k"}}], "streams": [
                 {{"name": "failed", "encryption": {{"key_arn": "{key}", "status": "ENABLING_FAILED",
                   "in_force": "AWS_OWNED_CMK"}}}},
                 {{"name": "plain"}}]}}"#
        ),
        &[],
    );
    let out = w.path("fleet-out.csv");
    let inventory = w
        .run(&[
            "inventory",
            "--region",
            R,
            "-q",
            "--output",
            "json",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert_code(0)
        .json();
    assert_eq!(
        inventory["regions"][0]["key_in_force_unknown"], 1,
        "{inventory:#}"
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains("plain") && !written.contains("failed"),
        "{written}"
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\nfailed,{R},{key}\n"),
    );
    let plan = plan_json(&w, &fleet);
    let line = plan["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_arn"] == key)
        .unwrap();
    assert_eq!(
        line["streams_now"], 1,
        "counted under the key shown: {plan:#}"
    );
    assert!(
        plan["warnings"]
            .to_string()
            .contains("first seen ENABLING_FAILED"),
        "{plan:#}"
    );
}

#[test]
fn credentials_that_expire_mid_run_stop_it_with_the_credentials_message() {
    let (_sandbox, w, _dir) = world(
        r#"{"streams": [{"name": "a"}, {"name": "b"}],
            "credentials": [{"access_key": "AKIDTESTFIREHOSESSE", "expires_after": "0s"}]}"#,
        &[],
    );
    let fleet = w.fleet("fleet.csv", &format!("stream,region\na,{R}\nb,{R}\n"));
    let run = w.apply(&fleet, &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("credentials"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("IAM policy must allow"),
        "{}",
        run.stderr
    );
}

#[test]
fn static_session_credentials_with_customer_keys_are_warned_about_in_apply() {
    let key = key_arn(R, "k");
    let (_sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "k"}], "streams": [{"name": "a"}]}"#,
        &[],
    );
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},{key}\n"),
    );
    let run: Run = w
        .command()
        .env("AWS_SESSION_TOKEN", "a-fixed-session")
        .args(["apply", fleet.to_str().unwrap(), "--yes", "-q"])
        .output()
        .unwrap()
        .into();
    run.assert_code(0);
    assert!(run.stderr.contains("cannot be refreshed"), "{}", run.stderr);
    assert!(run.stderr.contains("6 h"), "{}", run.stderr);
}

#[test]
fn a_grant_failure_is_retried_with_fresh_credentials() {
    let key = key_arn(R, "flaky");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "flaky", "failure": {"type": "CREATE_KMS_GRANT_FAILED", "times": 1}}],
            "streams": [{"name": "a"}]}"#,
        &[],
    );
    let (config, _) = refreshing_credential_process(&w);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},{key}\n"),
    );
    let run: Run = w
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
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(0);
    let truth = sandbox.stats();
    let tokens = &stream(&truth, "a").start_tokens;
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert_ne!(
        tokens[0], tokens[1],
        "the retry went with fresh credentials"
    );
}

#[test]
fn a_kinesis_sourced_stream_is_skipped_naming_its_source() {
    let (_sandbox, w, _dir) = world(
        r#"{"streams": [{"name": "fed", "type": "KinesisStreamAsSource",
             "source_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders"}]}"#,
        &[],
    );
    let fleet = w.fleet("fleet.csv", &format!("stream,region\nfed,{R}\n"));
    let run = w.run(&["plan", fleet.to_str().unwrap()]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("reads from arn:aws:kinesis:us-east-1:123456789012:stream/orders"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("encrypt that Kinesis stream"),
        "{}",
        run.stdout
    );
}

/// A fleet of three AWS-owned streams, then one towards customer key `k`, described at one per
/// second: the customer-key Start comes some 3 s after the credentials were first used.
/// A profile `p` in an AWS config file (returned) whose credential process hands out a new
/// session token every time it is asked, counting how often in the file returned second.
pub(crate) fn refreshing_credential_process(
    w: &Workdir,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let counter = w.path("count");
    let script = w.path("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\n\
             printf '{{\"Version\":1,\"AccessKeyId\":\"AKIDPROCESS\",\"SecretAccessKey\":\"s\",\
             \"SessionToken\":\"token-%s\",\"Expiration\":\"2099-01-01T00:00:00Z\"}}' $n\n",
            c = counter.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["755", script.to_str().unwrap()])
        .status()
        .unwrap();
    let config = w.path("aws-config");
    std::fs::write(
        &config,
        format!("[profile p]\ncredential_process = {}\n", script.display()),
    )
    .unwrap();
    (config, counter)
}

fn slow_mixed_fleet(w: &Workdir, key: &str) -> std::path::PathBuf {
    w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\na,{R},\nb,{R},\nc,{R},\nk,{R},{key}\n"),
    )
}

#[test]
fn old_session_credentials_that_cannot_refresh_withhold_only_customer_key_starts() {
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "k"}], "streams": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "k"}]}"#,
        &[],
    );
    let fleet = slow_mixed_fleet(&w, &key);
    let run: Run = w
        .command()
        .env("AWS_SESSION_TOKEN", "a-fixed-session")
        .args([
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--describe-tps",
            "1",
            "--max-credential-age",
            "1s",
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(3);
    let report = report(&w);
    let k = item(&report, "k");
    assert_eq!(
        (&k["phase"], &k["reason"], &k["failure_type"]),
        (
            &Value::from("failed"),
            &Value::from("credentials_too_old"),
            &Value::from("credentials_too_old")
        ),
        "{k:#}"
    );
    let details = k["failure_details"].as_str().unwrap_or_default();
    assert!(
        details.contains("do not refresh") && details.contains("6 h"),
        "{details}"
    );
    let truth = sandbox.stats();
    assert_eq!(stream(&truth, "k").start_calls, 0, "never sent");
    for name in ["a", "b", "c"] {
        assert_eq!(stream(&truth, name).status, "ENABLED", "{name} carries on");
    }
}

#[test]
fn old_session_credentials_that_refresh_are_refreshed_before_a_customer_key_start() {
    let key = key_arn(R, "k");
    let (sandbox, w, _dir) = world(
        r#"{"keys": [{"id": "k"}], "streams": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "k"}]}"#,
        &[],
    );
    let (config, counter) = refreshing_credential_process(&w);
    let fleet = slow_mixed_fleet(&w, &key);
    let run: Run = w
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
            "--describe-tps",
            "1",
            "--max-credential-age",
            "1s",
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(0);
    assert_eq!(stream(&sandbox.stats(), "k").status, "ENABLED");
    let asked: u32 = std::fs::read_to_string(&counter)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        asked >= 2,
        "refreshed before the customer-key Start: asked {asked} times"
    );
}
