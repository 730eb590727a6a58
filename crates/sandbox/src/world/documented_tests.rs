//! The rules added to follow AWS's documents, each on a hand-moved clock: keys of other
//! accounts, DescribeKey and Start errors, seeded mid-transition and failed streams, grants
//! retired late, expiring credentials, start token fingerprints, the limits' messages.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::seed::Seed;
use crate::vocabulary::codes::{INVALID_KMS_RESOURCE, LIMIT_EXCEEDED};
use crate::vocabulary::{EncStatus, StreamType};
use crate::vocabulary::{FailurePlace, KeyManager, fingerprint};

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
/// The sandbox's own account.
const A: &str = "123456789012";
const OTHER: &str = "210987654321";

fn config() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

fn arn(id: &str) -> String {
    format!("arn:aws:kms:{R}:123456789012:key/{id}")
}

fn world_of(config: SandboxConfig, seed: serde_json::Value) -> World {
    let seed: Seed = serde_json::from_value(seed).unwrap();
    World::new(&config, &seed, T0).unwrap()
}

const SETTLED: Millis = 10_001;

fn customer(arn: &str) -> KeyRef {
    KeyRef::Customer(arn.to_owned())
}

#[test]
fn keys_of_another_account_are_found_by_arn_and_usable() {
    let theirs = format!("arn:aws:kms:{R}:{OTHER}:key/theirs");
    let mut w = world_of(
        config(),
        json!({
            "streams": [{"name": "a"}, {"name": "b", "encryption": {"key_arn": theirs}}],
            "keys": [{"id": "theirs", "account": OTHER}, {"id": "managed", "manager": "AWS"}]
        }),
    );
    let key = w.describe_key(A, R, &theirs).unwrap();
    assert_eq!(
        (key.account.as_str(), key.arn.as_str()),
        (OTHER, theirs.as_str())
    );
    // By id, KMS looks in the caller's account only.
    let err = w.describe_key(A, R, "theirs").unwrap_err();
    assert_eq!(err.code, "NotFoundException");
    assert_eq!(
        err.message,
        "Key 'arn:aws:kms:us-east-1:123456789012:key/theirs' does not exist"
    );
    assert!(
        w.list_keys(A, R, 100, None)
            .0
            .iter()
            .all(|k| k.id != "theirs")
    );
    assert_eq!(
        w.describe_key(A, R, "managed").unwrap().manager,
        KeyManager::Aws
    );
    w.start_encryption(A, R, "a", customer(&theirs), "", T0)
        .unwrap();
    let truth = w.stats(T0 + SETTLED);
    let a = truth.stream(R, "a").unwrap();
    assert_eq!(
        (a.status.as_str(), a.key_in_force.as_deref()),
        ("ENABLED", Some(theirs.as_str()))
    );
    assert_eq!(truth.cmk_streams[&theirs], 2);
}

#[test]
fn describe_errors_and_kms_answers_to_unknown_keys() {
    let mut w = world_of(
        config(),
        json!({"keys": [
            {"id": "secret", "describe_error": "AccessDeniedException"},
            {"id": "broken", "describe_error": "KMSInternalException"}
        ]}),
    );
    let err = w.describe_key(A, R, "secret").unwrap_err();
    assert_eq!(err.code, "AccessDeniedException");
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.message,
        format!(
            "User: arn:aws:iam::123456789012:user/sandbox is not authorized to perform: \
             kms:DescribeKey on resource: {} because no resource-based policy allows the \
             kms:DescribeKey action",
            arn("secret")
        )
    );
    let err = w.describe_key(A, R, &arn("broken")).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status()),
        ("KMSInternalException", 500)
    );
    // Enable/Disable are not DescribeKey.
    w.set_key_enabled(A, R, "secret", false).unwrap();
    for (id, message) in [
        (
            "alias/aws/firehose",
            "Alias arn:aws:kms:us-east-1:123456789012:alias/aws/firehose is not found.",
        ),
        ("not a key", "Invalid keyId not a key"),
        (
            "arn:aws:kms:us-east-1:123456789012:alias/x",
            "Alias arn:aws:kms:us-east-1:123456789012:alias/x is not found.",
        ),
    ] {
        assert_eq!(
            w.describe_key(A, R, id).unwrap_err().message,
            message,
            "{id}"
        );
    }
}

#[test]
fn start_errors_refuse_at_once_count_down_and_change_nothing() {
    let mut w = world_of(
        config(),
        json!({
            "streams": [{"name": "a"}],
            "keys": [{"id": "denied", "start_error": {"code": "AccessDeniedException", "times": 2}}]
        }),
    );
    for _ in 0..2 {
        let err = w
            .start_encryption(A, R, "a", customer(&arn("denied")), "", T0)
            .unwrap_err();
        assert_eq!(err.code, INVALID_KMS_RESOURCE);
        assert_eq!(err.kms_code.as_deref(), Some("AccessDeniedException"));
        assert!(err.message.contains(&arn("denied")), "{}", err.message);
    }
    let a = w.stats(T0).stream(R, "a").unwrap().clone();
    assert_eq!(
        (
            a.status.as_str(),
            a.start_calls,
            a.rejected_calls,
            a.calls_in_window
        ),
        ("DISABLED", 0, 2, 0)
    );
    assert!(w.stats(T0).cmk_streams.is_empty());
    // The third is accepted.
    w.start_encryption(A, R, "a", customer(&arn("denied")), "", T0)
        .unwrap();
    // Create with such a key is refused the same way.
    let mut w = world_of(
        config(),
        json!({"keys": [{"id": "gone", "start_error": {"code": "NotFoundException"}}]}),
    );
    let new = NewStream {
        stream_type: StreamType::DirectPut,
        encryption: Some(customer(&arn("gone"))),
        source: None,
        destinations: None,
    };
    let err = w.create_stream(A, R, "c", new, T0).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.kms_code.as_deref()),
        (INVALID_KMS_RESOURCE, Some("NotFoundException"))
    );
}

#[test]
fn failures_are_described_where_the_key_says() {
    let mut w = world_of(
        config(),
        json!({
            "streams": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "keys": [
                {"id": "in-stream", "failure": {"type": "KMS_KEY_NOT_FOUND", "description": "stream"}},
                {"id": "silent", "failure": {"type": "UNKNOWN_ERROR", "description": "none"}},
                {"id": "default", "failure": {"type": "KMS_ACCESS_DENIED"}}
            ]
        }),
    );
    for (stream, key) in [("a", "in-stream"), ("b", "silent"), ("c", "default")] {
        w.start_encryption(A, R, stream, customer(&arn(key)), "", T0)
            .unwrap();
    }
    let now = T0 + SETTLED;
    let place = |w: &mut World, name: &str| {
        let s = w.describe_stream(A, R, name, now).unwrap();
        (
            s.enc_status,
            s.failure.as_ref().map(|f| (f.kind.clone(), f.place)),
        )
    };
    assert_eq!(
        place(&mut w, "a"),
        (
            EncStatus::EnablingFailed,
            Some(("KMS_KEY_NOT_FOUND".into(), FailurePlace::Stream))
        )
    );
    assert_eq!(
        place(&mut w, "b"),
        (
            EncStatus::EnablingFailed,
            Some(("UNKNOWN_ERROR".into(), FailurePlace::Nowhere))
        )
    );
    assert_eq!(
        place(&mut w, "c"),
        (
            EncStatus::EnablingFailed,
            Some(("KMS_ACCESS_DENIED".into(), FailurePlace::Encryption))
        )
    );
    // Ground truth names the failure wherever Describe shows it.
    assert_eq!(
        w.stats(now).stream(R, "b").unwrap().failure.as_deref(),
        Some("UNKNOWN_ERROR")
    );
}

#[test]
fn streams_seeded_mid_transition_or_failed() {
    let mut w = world_of(
        config(),
        json!({
            "streams": [
                {"name": "ef", "encryption": {"key_arn": arn("k"), "status": "ENABLING_FAILED"}},
                {"name": "rekey", "encryption": {"key_arn": arn("k"), "status": "ENABLING_FAILED", "in_force": "AWS_OWNED_CMK",
                    "failure": {"type": "KMS_ACCESS_DENIED", "description": "stream"}}},
                {"name": "dis", "encryption": {"key_arn": arn("k"), "status": "DISABLING"}},
                {"name": "df", "encryption": {"key_arn": arn("k"), "status": "DISABLING_FAILED"}},
                {"name": "nothing", "encryption": {"key_type": "AWS_OWNED_CMK", "in_force": null}}
            ],
            "keys": [{"id": "k"}]
        }),
    );
    let truth = w.stats(T0);
    let row = |name: &str| {
        let s = truth.stream(R, name).unwrap();
        (
            s.status.clone(),
            s.key_arn.clone(),
            s.key_in_force.clone(),
            s.failure.clone(),
        )
    };
    let k = Some(arn("k"));
    assert_eq!(
        row("ef"),
        (
            "ENABLING_FAILED".into(),
            k.clone(),
            None,
            Some("CREATE_KMS_GRANT_FAILED".into())
        )
    );
    assert_eq!(
        row("rekey"),
        (
            "ENABLING_FAILED".into(),
            k.clone(),
            Some("AWS_OWNED_CMK".into()),
            Some("KMS_ACCESS_DENIED".into())
        )
    );
    assert_eq!(row("dis"), ("DISABLING".into(), k.clone(), k.clone(), None));
    assert_eq!(
        row("df"),
        (
            "DISABLING_FAILED".into(),
            k.clone(),
            k.clone(),
            Some("RETIRE_KMS_GRANT_FAILED".into())
        )
    );
    assert_eq!(row("nothing"), ("ENABLED".into(), None, None, None));
    // The key counts for the streams it protects: dis and df.
    assert_eq!(truth.cmk_streams[&arn("k")], 2);
    // DISABLING settles like any transition; Start and Stop are taken from the failed ones.
    let later = w.stats(T0 + SETTLED);
    assert_eq!(later.stream(R, "dis").unwrap().status, "DISABLED");
    assert_eq!(later.cmk_streams[&arn("k")], 1);
    w.stop_encryption(A, R, "df", T0 + SETTLED).unwrap();
    w.start_encryption(A, R, "ef", KeyRef::AwsOwned, "", T0 + SETTLED)
        .unwrap();
}

#[test]
fn a_retiring_grant_keeps_its_slot() {
    let mut w = world_of(
        SandboxConfig {
            cmk_limit: 1,
            grant_retirement: Duration::from_secs(60),
            ..config()
        },
        json!({"streams": [{"name": "a"}, {"name": "b"}], "keys": [{"id": "k"}]}),
    );
    w.start_encryption(A, R, "a", customer(&arn("k")), "", T0)
        .unwrap();
    let t = T0 + SETTLED;
    w.start_encryption(A, R, "a", KeyRef::AwsOwned, "", t)
        .unwrap();
    let t = t + SETTLED;
    // The rekey has completed, but the old grant is only scheduled for retirement.
    assert_eq!(
        w.stats(t).stream(R, "a").unwrap().key_in_force.as_deref(),
        Some("AWS_OWNED_CMK")
    );
    let err = w
        .start_encryption(A, R, "b", customer(&arn("k")), "", t)
        .unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    assert_eq!(
        err.message,
        format!(
            "You can use a CMK of type CUSTOMER_MANAGED_CMK to encrypt up to 1 Firehose \
             streams; {} already has grants for 1 (a grant scheduled for retirement counts \
             until it is retired).",
            arn("k")
        )
    );
    // A minute after the rekey completed, the slot is free.
    let free = t + 60_000;
    assert!(w.stats(free).cmk_streams.is_empty());
    w.start_encryption(A, R, "b", customer(&arn("k")), "", free)
        .unwrap();
    // A Stop retires its grant late too.
    let t = free + SETTLED;
    w.stop_encryption(A, R, "b", t).unwrap();
    assert_eq!(w.stats(t + SETTLED).cmk_streams[&arn("k")], 1);
    assert!(w.stats(t + SETTLED + 60_000).cmk_streams.is_empty());
}

#[test]
fn expired_credentials_are_refused_before_the_throttle() {
    let mut w = world_of(
        config(),
        json!({"credentials": [
            {"access_key": "ASIANOW", "expires_after": "0s"},
            {"access_key": "ASIALATER", "expires_after": "3s"}
        ]}),
    );
    let admit = |w: &mut World, key: &str, now: Millis| {
        let caller = w.caller(key, now);
        w.admit(
            "DescribeDeliveryStream",
            &caller,
            R,
            Quota::ControlPlane,
            true,
            now,
        )
    };
    assert_eq!(admit(&mut w, "ASIANOW", T0), Admission::Expired);
    assert_eq!(admit(&mut w, "ASIALATER", T0 + 2_999), Admission::Proceed);
    assert_eq!(admit(&mut w, "ASIALATER", T0 + 3_000), Admission::Expired);
    assert_eq!(admit(&mut w, "AKIDOTHER", T0 + 3_000), Admission::Proceed);
    // Counted as requests all the same.
    assert_eq!(w.stats(T0).requests["DescribeDeliveryStream"], 4);
}

#[test]
fn start_tokens_fingerprint_each_accepted_start() {
    let mut w = world_of(
        SandboxConfig {
            latency: Duration::ZERO,
            ..config()
        },
        json!({"streams": [{"name": "a"}]}),
    );
    w.start_encryption(A, R, "a", KeyRef::AwsOwned, "token-1", T0)
        .unwrap();
    w.start_encryption(A, R, "a", KeyRef::AwsOwned, "", T0 + 1)
        .unwrap();
    w.start_encryption(A, R, "a", KeyRef::AwsOwned, "token-2", T0 + 2)
        .unwrap();
    let tokens = w.stats(T0 + 3).stream(R, "a").unwrap().start_tokens.clone();
    assert_eq!(
        tokens,
        [
            fingerprint("token-1"),
            String::new(),
            fingerprint("token-2")
        ]
    );
    // SHA-256("token-1") begins 3f08aace (python3 -c 'import hashlib; ...'): stable.
    assert_eq!(tokens[0], "3f08aace");
    assert_ne!(tokens[0], tokens[2]);
}

#[test]
fn the_budget_message_says_what_limit() {
    let mut w = world_of(
        SandboxConfig {
            stream_budget: 1,
            latency: Duration::ZERO,
            ..config()
        },
        json!({"streams": [{"name": "a"}]}),
    );
    w.start_encryption(A, R, "a", KeyRef::AwsOwned, "", T0)
        .unwrap();
    let err = w.stop_encryption(A, R, "a", T0 + 1).unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    assert_eq!(
        err.message,
        "Firehose a has reached the limit of 1 StartDeliveryStreamEncryption and \
         StopDeliveryStreamEncryption calls per Firehose stream per 1day; try again when the \
         oldest leaves the window."
    );
}
