//! The producer check end to end on the sandbox: an EventBridge target role that may put to the
//! `orders-*` streams but lacks `kms:GenerateDataKey` keeps them from being started (the
//! sandbox counts no Start); `--allow-producer-risk` starts them and the role's `PutRecord` is
//! then refused, as AWS will refuse it; `audit` finds the streams at risk and exits 2; the
//! statements it writes, applied with boto3, make the next `audit` exit 0; a key the caller may
//! not grant on is refused before any Start; and `--skip-producer-check` asks IAM nothing and
//! says so.

use aws_credential_types::Credentials;
use aws_sdk_firehose::config::BehaviorVersion;

use crate::common::{ACCOUNT, Sandbox, Workdir, item, key_arn, stream, test_credentials};

const R: &str = "us-east-1";

/// A world with key `k`, four unencrypted streams, the role `orders-events` (EventBridge's,
/// assumable by the account too so a test can play it) that puts to `orders-*` with only
/// `kms:Decrypt`, and `clicks-logs` (CloudWatch Logs') that puts to `clicks` with both key
/// actions. `quiet` has no producer.
fn world(k: &str, key_extra: &str) -> String {
    let orders = format!("arn:aws:firehose:{R}:{ACCOUNT}:deliverystream/orders-*");
    let clicks = format!("arn:aws:firehose:{R}:{ACCOUNT}:deliverystream/clicks");
    format!(
        r#"{{"keys": [{{"id": "k"{key_extra}}}],
          "streams": [{{"name": "orders-a"}}, {{"name": "orders-b"}}, {{"name": "clicks"}}, {{"name": "quiet"}}],
          "roles": [
            {{"name": "orders-events",
              "trust": {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow",
                "Principal": {{"Service": "events.amazonaws.com", "AWS": "arn:aws:iam::{ACCOUNT}:root"}},
                "Action": "sts:AssumeRole"}}]}},
              "policies": {{"put": {{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": "{orders}"}},
                {{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "{k}"}}]}}}}}},
            {{"name": "clicks-logs", "service": "logs.amazonaws.com",
              "policies": {{"put": {{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Action": "firehose:PutRecord*", "Resource": "{clicks}"}},
                {{"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}}]}}}}}}]}}"#
    )
}

fn setup(key_extra: &str) -> (Sandbox, Workdir, tempfile::TempDir, String) {
    let k = key_arn(R, "k");
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world(&k, key_extra), &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    w.fleet(
        "fleet.csv",
        &format!(
            "stream,region,key_arn\norders-a,{R},{k}\norders-b,{R},{k}\nclicks,{R},{k}\nquiet,{R},{k}\n"
        ),
    );
    (sandbox, w, dir, k)
}

fn sdk_config(url: &str, creds: Credentials) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(R))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(firehose_sse::aws::http_client(None).unwrap())
        .build()
}

/// Puts one record to `stream` as the role `role` (assumed with STS); the error's type, if
/// refused.
fn put_as(url: &str, role: &str, stream: &str) -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sts = aws_sdk_sts::Client::new(&sdk_config(url, test_credentials()));
        let out = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
            .role_session_name("producer")
            .send()
            .await
            .map_err(|e| format!("AssumeRole: {e:?}"))?;
        let c = out.credentials.expect("credentials");
        let creds = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            None,
            "role",
        );
        let firehose = aws_sdk_firehose::Client::new(&sdk_config(url, creds));
        let record = aws_sdk_firehose::types::Record::builder()
            .data(aws_smithy_types::Blob::new(b"{\"order\": 1}\n".to_vec()))
            .build()
            .unwrap();
        firehose
            .put_record()
            .delivery_stream_name(stream)
            .record(record)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
                e.code().unwrap_or("unknown").to_owned()
            })
    })
}

#[test]
fn a_stream_whose_producer_lacks_the_key_is_never_started() {
    let (sandbox, w, _dir, k) = setup("");
    let fleet = w.path("fleet.csv");
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "--output", "json", "-q"])
        .assert_code(0)
        .json();
    for name in ["orders-a", "orders-b"] {
        let it = item(&plan, name);
        assert_eq!(it["action"], "skip", "{it:#}");
        assert_eq!(it["reason"], "producers_denied");
        let p = &it["producers"]["producers"][0];
        assert_eq!(
            p["principal"],
            format!("arn:aws:iam::{ACCOUNT}:role/orders-events")
        );
        assert_eq!(p["described"], "EventBridge target role");
        assert_eq!(p["verdict"], "denied");
        assert_eq!(p["refused"][0]["action"], "kms:GenerateDataKey");
        assert_eq!(p["refused"][0]["side"], "iam_policy");
    }
    let clicks = item(&plan, "clicks");
    assert_eq!(clicks["action"], "enable");
    assert_eq!(clicks["producers"]["producers"][0]["verdict"], "allowed");
    assert_eq!(
        clicks["producers"]["producers"][0]["described"],
        "CloudWatch Logs subscription role"
    );
    assert_eq!(item(&plan, "quiet")["action"], "enable");
    let key = plan["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key_arn"] == k.as_str())
        .unwrap();
    // The planned streams' producers: orders-events refused on both orders-*, clicks-logs
    // allowed on clicks, and the account's administrator (user sandbox, AdministratorAccess),
    // who may put to every stream, allowed on all four.
    assert_eq!(key["producers"]["denied"], 2, "{key:#}");
    assert_eq!(key["producers"]["allowed"], 5, "{key:#}");
    let check = &plan["producer_check"];
    assert!(check["iam_calls"].as_u64().unwrap() >= 2, "{check:#}");
    assert!(check["kms_calls"].as_u64().unwrap() >= 1);
    // The table names the principal and the missing action, and prints the fix.
    let text = w.run(&["plan", fleet.to_str().unwrap()]);
    text.assert_code(0);
    assert!(
        text.stdout.contains("producers_denied: role/orders-events (EventBridge target role): denied: kms:GenerateDataKey refused by its IAM policies"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("Producer check:"), "{}", text.stdout);
    assert!(text.stdout.contains("\"kms:GenerateDataKey\""));

    // Exit 6: streams left skipped for a cause the operator can fix.
    w.apply(&fleet, &[]).assert_code(6);
    let truth = sandbox.stats();
    for name in ["orders-a", "orders-b"] {
        let s = stream(&truth, name);
        assert_eq!(
            (s.start_calls, s.status.as_str()),
            (0, "DISABLED"),
            "{name} was never started"
        );
    }
    for name in ["clicks", "quiet"] {
        assert_eq!(
            stream(&truth, name).key_in_force.as_deref(),
            Some(k.as_str())
        );
    }
}

#[test]
fn with_the_risk_allowed_the_stream_is_started_and_its_producer_refused_then_audit_finds_and_fixes_it()
 {
    let (sandbox, w, dir, k) = setup("");
    let fleet = w.path("fleet.csv");
    // Before: the role writes to the unencrypted stream.
    put_as(&sandbox.url, "orders-events", "orders-a").unwrap();
    w.apply(&fleet, &["--allow-producer-risk"]).assert_code(0);
    let truth = sandbox.stats();
    assert_eq!(
        stream(&truth, "orders-a").key_in_force.as_deref(),
        Some(k.as_str())
    );
    // After: refused, as AWS refuses a producer without the key permissions.
    assert_eq!(
        put_as(&sandbox.url, "orders-events", "orders-a"),
        Err("InvalidKMSResourceException".to_owned())
    );
    let records = stream(&sandbox.stats(), "orders-a")
        .records
        .clone()
        .unwrap();
    assert_eq!((records.accepted, records.refused), (1, 1));

    // audit: the streams on the key, the role refused, exit 2, the fix written.
    let policies = dir.path().join("policies");
    let audit = w
        .run(&[
            "audit",
            "--region",
            R,
            "--output",
            "json",
            "--out-policies",
            policies.to_str().unwrap(),
        ])
        .assert_code(2)
        .json();
    assert_eq!(audit["enforced_from"], "2027-02-28");
    assert_eq!(audit["streams_on_customer_keys"], 4, "{audit:#}");
    assert_eq!(audit["producers"]["denied"], 2, "{audit:#}");
    let files: Vec<_> = std::fs::read_dir(&policies)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one fix for one principal and key: {files:?}"
    );
    let fix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(fix["Statement"][0]["Resource"], k.as_str());
    // Every format says it.
    for (format, needle) in [
        ("csv", "denied"),
        ("md", "| denied |"),
        ("html", "<h2>Producers</h2>"),
    ] {
        let out = w.run(&["audit", "--region", R, "--format", format]);
        out.assert_code(2);
        assert!(out.stdout.contains(needle), "{format}:\n{}", out.stdout);
    }

    // The printed statement, applied with boto3, lets the role in: the next audit exits 0.
    let python = crate::conformance::moto::MOTO.ensure().join("python");
    let applied = std::process::Command::new(python)
        .args([
            "-c",
            "import boto3, sys\n\
             iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                 aws_access_key_id='AKIDTESTFIREHOSESSE', aws_secret_access_key='x')\n\
             iam.put_role_policy(RoleName='orders-events', PolicyName='firehose-sse-fix',\n\
                 PolicyDocument=open(sys.argv[2]).read())\n",
            &sandbox.url,
            files[0].to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let after = w
        .run(&["audit", "--region", R, "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(after["producers"]["denied"], 0, "{after:#}");
    // orders-events on both orders-*, clicks-logs, and the administrator on all four.
    assert_eq!(after["producers"]["allowed"], 7);
    put_as(&sandbox.url, "orders-events", "orders-a").unwrap();
}

#[test]
fn a_key_the_caller_may_not_grant_on_is_refused_before_any_start() {
    let deny = format!(
        r#", "policy": {{"Version": "2012-10-17", "Statement": [
            {{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{ACCOUNT}:root"}}, "Action": "kms:*", "Resource": "*"}},
            {{"Effect": "Deny", "Principal": {{"AWS": "arn:aws:iam::{ACCOUNT}:user/sandbox"}}, "Action": "kms:CreateGrant", "Resource": "*"}}]}}"#
    );
    let (sandbox, w, _dir, _k) = setup(&deny);
    let fleet = w.path("fleet.csv");
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "--output", "json", "-q"])
        .assert_code(0)
        .json();
    for name in ["orders-a", "orders-b", "clicks", "quiet"] {
        assert_eq!(item(&plan, name)["reason"], "key_grant_denied", "{name}");
    }
    // Exit 6: streams left skipped for a cause the operator can fix.
    w.apply(&fleet, &[]).assert_code(6);
    let truth = sandbox.stats();
    assert!(truth.streams.iter().all(|s| s.start_calls == 0));
}

#[test]
fn skipping_the_check_asks_iam_nothing_and_says_so() {
    let (sandbox, w, _dir, _k) = setup("");
    let fleet = w.path("fleet.csv");
    let out = w.run(&["plan", fleet.to_str().unwrap(), "--skip-producer-check"]);
    out.assert_code(0);
    assert!(
        out.stdout
            .contains("PRODUCER CHECK SKIPPED (--skip-producer-check)"),
        "{}",
        out.stdout
    );
    let truth = sandbox.stats();
    assert_eq!(truth.requests_for("GetAccountAuthorizationDetails"), 0);
    assert_eq!(truth.requests_for("SimulatePrincipalPolicy"), 0);
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "--skip-producer-check",
            "--output",
            "json",
            "-q",
        ])
        .json();
    assert_eq!(item(&plan, "orders-a")["action"], "enable");
    assert_eq!(plan["producer_check"]["skipped"], "--skip-producer-check");
}

#[test]
fn a_recent_pass_over_the_principals_is_read_from_the_ledger() {
    let (sandbox, w, _dir, _k) = setup("");
    let fleet = w.path("fleet.csv");
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", fleet.to_str().unwrap(), "--output", "json", "-q"];
        args.extend_from_slice(extra);
        w.run(&args).assert_code(0).json()
    };
    let reads = || {
        sandbox
            .stats()
            .requests_for("GetAccountAuthorizationDetails")
    };
    let first = plan(&[]);
    let after_first = reads();
    assert!(after_first >= 1);
    assert_eq!(first["producer_check"]["reused"], 0);
    let second = plan(&[]);
    assert_eq!(reads(), after_first, "the ledger's pass stands in for IAM");
    assert_eq!(second["producer_check"]["reused"], 1);
    // The verdicts are the same either way.
    assert_eq!(item(&second, "orders-a")["reason"], "producers_denied");
    plan(&["--refresh"]);
    assert!(reads() > after_first, "--refresh asks IAM again");
}

#[test]
fn when_iam_may_not_be_read_the_producers_are_unknown_and_nothing_is_skipped_for_it() {
    let k = key_arn(R, "k");
    let dir = tempfile::tempdir().unwrap();
    // A deployer that may do the rollout but not read IAM.
    let mut world: serde_json::Value = serde_json::from_str(&world(&k, "")).unwrap();
    world["users"] = serde_json::json!([{"name": "deployer", "policies": {"rollout": {
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["firehose:*", "kms:DescribeKey", "kms:CreateGrant", "kms:GetKeyPolicy"], "Resource": "*"}]}}}]);
    world["credentials"] = serde_json::json!([{"access_key": "AKIDDEPLOYER", "expires_after": "10h", "user": "deployer"}]);
    let sandbox = Sandbox::with_world(dir.path(), &world.to_string(), &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\norders-a,{R},{k}\n"),
    );
    let out = w
        .command()
        .env("AWS_ACCESS_KEY_ID", "AKIDDEPLOYER")
        .args(["plan", fleet.to_str().unwrap(), "--output", "json", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let it = item(&plan, "orders-a");
    assert_eq!(it["action"], "enable", "{it:#}");
    let unread = it["producers"]["unread"].as_str().unwrap();
    assert!(
        unread.contains("iam:GetAccountAuthorizationDetails"),
        "{unread}"
    );
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("unknown"), "{warnings}");
    assert!(
        warnings.contains("--skip-producer-check"),
        "the warning says how to go on: {warnings}"
    );
}

#[test]
fn a_member_accounts_producers_are_read_through_the_assumed_role() {
    const MEMBER: &str = "111111111111";
    let k = format!("arn:aws:kms:{R}:{MEMBER}:key/m");
    let stream = format!("arn:aws:firehose:{R}:{MEMBER}:deliverystream/orders");
    let world = format!(
        r#"{{"accounts": [{{"id": "{MEMBER}", "keys": [{{"id": "m"}}], "streams": [{{"name": "orders"}}],
          "roles": ["firehose-sse",
            {{"name": "orders-events", "service": "events.amazonaws.com",
              "policies": {{"put": {{"Version": "2012-10-17", "Statement": [
                {{"Effect": "Allow", "Action": "firehose:PutRecord", "Resource": "{stream}"}},
                {{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}]}}}}}}]}}]}}"#
    );
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world, &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &format!("stream,region,key_arn\n{stream},{R},{k}\n"),
    );
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "--assume-role",
            "firehose-sse",
            "--output",
            "json",
            "-q",
        ])
        .assert_code(0)
        .json();
    let it = item(&plan, "orders");
    assert_eq!(it["account"], MEMBER);
    assert_eq!(it["reason"], "producers_denied", "{it:#}");
    let producers = it["producers"]["producers"].as_array().unwrap();
    let role = format!("arn:aws:iam::{MEMBER}:role/orders-events");
    let p = producers
        .iter()
        .find(|p| p["principal"] == role.as_str())
        .unwrap();
    assert_eq!(p["verdict"], "denied", "{p:#}");
    // The caller's own grant was simulated as the assumed role: allowed (an administrator).
    assert_eq!(plan["producer_check"]["accounts"], 1);
    assert_eq!(
        sandbox.stats().account_stats(ACCOUNT).map(|a| a
            .requests
            .get("GetAccountAuthorizationDetails")
            .copied()
            .unwrap_or(0)),
        Some(0),
        "the management account's IAM is never read for a member's streams"
    );
}
