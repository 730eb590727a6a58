//! Encryption transitions: Start goes ENABLING then ENABLED after the latency, Stop DISABLING
//! then DISABLED; bad or failing keys end ENABLING_FAILED with their failure type, and a failed
//! rekey keeps the old key in force.

use std::time::{Duration, Instant};

use aws_sdk_firehose::types::{DeliveryStreamEncryptionStatus as Enc, KeyType};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};

use super::{REGION, aws_owned, customer, describe, enc_status, settled, start, stop, write_fleet};
use crate::common::{Sandbox, key_arn};

#[tokio::test]
async fn start_enables_after_the_latency_and_stop_disables() {
    let sb = Sandbox::start(&["--streams", "2", "--tps", "0", "--latency", "100ms"]);
    let fh = sb.firehose(REGION);
    let key = sb
        .kms(REGION)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let arn = key.arn().unwrap().to_owned();

    // No configuration at all: KeyType defaults to AWS_OWNED_CMK.
    let began = Instant::now();
    start(&fh, "stream-00000", None).await.unwrap();
    let d = describe(&fh, "stream-00000").await;
    let enc = d.delivery_stream_encryption_configuration().unwrap();
    assert_eq!(enc.status(), Some(&Enc::Enabling));
    assert_eq!(
        (enc.key_type(), enc.key_arn()),
        (Some(&KeyType::AwsOwnedCmk), None)
    );
    let d = settled(&fh, "stream-00000").await;
    assert!(began.elapsed() >= Duration::from_millis(5), "not instant");
    let enc = d.delivery_stream_encryption_configuration().unwrap();
    assert_eq!(enc.status(), Some(&Enc::Enabled));
    assert_eq!(
        (enc.key_type(), enc.key_arn()),
        (Some(&KeyType::AwsOwnedCmk), None)
    );

    start(&fh, "stream-00001", Some(customer(&arn)))
        .await
        .unwrap();
    let d = settled(&fh, "stream-00001").await;
    let enc = d.delivery_stream_encryption_configuration().unwrap();
    assert_eq!(enc.status(), Some(&Enc::Enabled));
    assert_eq!(enc.key_type(), Some(&KeyType::CustomerManagedCmk));
    assert_eq!(enc.key_arn(), Some(arn.as_str()));

    let stats = sb.stats();
    let s1 = stats.stream(REGION, "stream-00001").unwrap();
    assert_eq!(s1.key_in_force.as_deref(), Some(arn.as_str()));
    assert_eq!(stats.cmk_streams.get(&arn), Some(&1));
    let s0 = stats.stream(REGION, "stream-00000").unwrap();
    assert_eq!(s0.key_in_force.as_deref(), Some("AWS_OWNED_CMK"));

    stop(&fh, "stream-00001").await.unwrap();
    assert_eq!(
        enc_status(&describe(&fh, "stream-00001").await),
        Enc::Disabling
    );
    let d = settled(&fh, "stream-00001").await;
    let enc = d.delivery_stream_encryption_configuration().unwrap();
    assert_eq!(enc.status(), Some(&Enc::Disabled));
    assert_eq!((enc.key_type(), enc.key_arn()), (None, None));

    let stats = sb.stats();
    let s1 = stats.stream(REGION, "stream-00001").unwrap();
    assert_eq!(
        (
            s1.status.as_str(),
            s1.start_calls,
            s1.stop_calls,
            s1.calls_in_window
        ),
        ("DISABLED", 1, 1, 2)
    );
    assert_eq!(s1.key_in_force, None);
    assert!(stats.cmk_streams.is_empty());
}

#[tokio::test]
async fn bad_and_failing_keys_end_enabling_failed_with_each_failure_type() {
    let mut fleet = serde_json::json!({
        "streams": (0..12).map(|i| serde_json::json!({"name": format!("s{i}")})).collect::<Vec<_>>(),
        "keys": [
            {"id": "rsa-encrypt", "spec": "RSA_2048", "usage": "ENCRYPT_DECRYPT"},
            {"id": "pending", "state": "PendingDeletion"},
            {"id": "denied-once", "failure": {"type": "KMS_ACCESS_DENIED", "times": 1}},
        ],
    });
    for t in [
        "CREATE_KMS_GRANT_FAILED",
        "UNKNOWN_ERROR",
        "KMS_OPT_IN_REQUIRED",
        "RETIRE_KMS_GRANT_FAILED",
    ] {
        fleet["keys"].as_array_mut().unwrap().push(
            serde_json::json!({"id": t.to_lowercase().replace('_', "-"), "failure": {"type": t}}),
        );
    }
    let file = write_fleet(&fleet.to_string());
    let sb = Sandbox::start(&[
        "--fleet",
        file.path().to_str().unwrap(),
        "--tps",
        "0",
        "--latency",
        "50ms",
    ]);
    let fh = sb.firehose(REGION);
    let kms = sb.kms(REGION);
    let new_key = |spec: KeySpec, usage: KeyUsageType| {
        let kms = kms.clone();
        async move {
            kms.create_key()
                .key_spec(spec)
                .key_usage(usage)
                .send()
                .await
                .unwrap()
                .key_metadata
                .unwrap()
                .arn
                .unwrap()
        }
    };
    let disabled = new_key(KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    let signing = new_key(KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let other_region = sb
        .kms("eu-west-1")
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();

    let cases = [
        (key_arn(REGION, "does-not-exist"), "KMS_KEY_NOT_FOUND"),
        (disabled, "DISABLED_KMS_KEY"),
        (key_arn(REGION, "pending"), "DISABLED_KMS_KEY"),
        (signing, "INVALID_KMS_KEY"),
        (key_arn(REGION, "rsa-encrypt"), "INVALID_KMS_KEY"),
        (other_region, "KMS_KEY_NOT_FOUND"),
        (key_arn(REGION, "denied-once"), "KMS_ACCESS_DENIED"),
        (
            key_arn(REGION, "create-kms-grant-failed"),
            "CREATE_KMS_GRANT_FAILED",
        ),
        (key_arn(REGION, "unknown-error"), "UNKNOWN_ERROR"),
        (
            key_arn(REGION, "kms-opt-in-required"),
            "KMS_OPT_IN_REQUIRED",
        ),
        (
            key_arn(REGION, "retire-kms-grant-failed"),
            "RETIRE_KMS_GRANT_FAILED",
        ),
    ];
    for (i, (arn, _)) in cases.iter().enumerate() {
        start(&fh, &format!("s{i}"), Some(customer(arn)))
            .await
            .unwrap();
    }
    for (i, (arn, expected)) in cases.iter().enumerate() {
        let d = settled(&fh, &format!("s{i}")).await;
        let enc = d.delivery_stream_encryption_configuration().unwrap();
        assert_eq!(enc.status(), Some(&Enc::EnablingFailed), "{arn}");
        let failure = enc.failure_description().expect("FailureDescription");
        assert_eq!(failure.r#type().as_str(), *expected, "{arn}");
        assert!(!failure.details().is_empty());
        assert_eq!(enc.key_arn(), Some(arn.as_str()));
    }
    let stats = sb.stats();
    for (i, (_, expected)) in cases.iter().enumerate() {
        let s = stats.stream(REGION, &format!("s{i}")).unwrap();
        assert_eq!(s.failure.as_deref(), Some(*expected));
        assert_eq!(s.key_in_force, None, "nothing was ever in force");
    }
    // Retrying: `times: 1` has run out, the key works; the others fail again.
    start(&fh, "s6", Some(customer(&cases[6].0))).await.unwrap();
    assert_eq!(enc_status(&settled(&fh, "s6").await), Enc::Enabled);
    start(&fh, "s7", Some(customer(&cases[7].0))).await.unwrap();
    assert_eq!(enc_status(&settled(&fh, "s7").await), Enc::EnablingFailed);
    // From ENABLING_FAILED a Stop is accepted too.
    stop(&fh, "s8").await.unwrap();
    assert_eq!(enc_status(&settled(&fh, "s8").await), Enc::Disabled);
}

#[tokio::test]
async fn a_failed_rekey_keeps_the_old_key_in_force() {
    let fleet = write_fleet(
        r#"{"streams": [{"name": "orders"}],
            "keys": [{"id": "good"}, {"id": "off", "state": "Disabled"}]}"#,
    );
    let sb = Sandbox::start(&[
        "--fleet",
        fleet.path().to_str().unwrap(),
        "--tps",
        "0",
        "--latency",
        "50ms",
    ]);
    let fh = sb.firehose(REGION);
    let (good, off) = (key_arn(REGION, "good"), key_arn(REGION, "off"));
    start(&fh, "orders", Some(customer(&good))).await.unwrap();
    assert_eq!(enc_status(&settled(&fh, "orders").await), Enc::Enabled);

    start(&fh, "orders", Some(customer(&off))).await.unwrap();
    // During the rekey the stream counts toward both keys.
    let during = sb.stats();
    assert_eq!(during.cmk_streams.get(&good), Some(&1));
    assert_eq!(during.cmk_streams.get(&off), Some(&1));
    let d = settled(&fh, "orders").await;
    let enc = d.delivery_stream_encryption_configuration().unwrap();
    assert_eq!(enc.status(), Some(&Enc::EnablingFailed));
    assert_eq!(enc.key_arn(), Some(off.as_str()));
    assert_eq!(
        enc.failure_description().unwrap().r#type().as_str(),
        "DISABLED_KMS_KEY"
    );

    let stats = sb.stats();
    let s = stats.stream(REGION, "orders").unwrap();
    assert_eq!(s.key_arn.as_deref(), Some(off.as_str()));
    assert_eq!(s.key_in_force.as_deref(), Some(good.as_str()));
    assert_eq!(stats.cmk_streams.get(&good), Some(&1));
    assert_eq!(stats.cmk_streams.get(&off), None);
    assert_eq!((s.start_calls, s.calls_in_window), (2, 2));

    // A rekey to AWS-owned that succeeds releases the customer key.
    start(&fh, "orders", Some(aws_owned())).await.unwrap();
    assert_eq!(enc_status(&settled(&fh, "orders").await), Enc::Enabled);
    let stats = sb.stats();
    assert!(stats.cmk_streams.is_empty(), "{:?}", stats.cmk_streams);
    assert_eq!(
        stats
            .stream(REGION, "orders")
            .unwrap()
            .key_in_force
            .as_deref(),
        Some("AWS_OWNED_CMK")
    );
}
