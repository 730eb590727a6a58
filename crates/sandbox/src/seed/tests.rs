//! The fleet file: its format, defaults and every-problem-at-once checks.

use super::*;

const ACCOUNT: &str = "123456789012";

#[test]
fn generated_names_are_zero_padded_and_sorted() {
    let seed = Seed::generated(3, "us-east-1");
    let names: Vec<_> = seed.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["stream-00000", "stream-00001", "stream-00002"]);
    assert_eq!(
        Seed::generated(100_001, "us-east-1").streams[100_000].name,
        "stream-100000"
    );
    seed.check(ACCOUNT, "us-east-1").unwrap();
}

#[test]
fn parses_the_documented_format_with_defaults() {
    let seed: Seed = serde_json::from_str(
        r#"{
          "streams": [
            {"name": "orders", "region": "eu-west-1"},
            {"name": "clicks", "type": "KinesisStreamAsSource"},
            {"name": "audit", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k1"}}
          ],
          "keys": [
            {"id": "k1"},
            {"id": "k2", "region": "eu-west-1", "state": "Disabled"},
            {"id": "k3", "failure": {"type": "KMS_ACCESS_DENIED", "times": 2}}
          ]
        }"#,
    )
    .unwrap();
    assert_eq!(seed.streams[0].stream_type, "DirectPut");
    assert_eq!(seed.streams[0].status, "ACTIVE");
    assert_eq!(seed.keys[0].spec, "SYMMETRIC_DEFAULT");
    assert_eq!(seed.keys[2].failure.as_ref().unwrap().times, Some(2));
    seed.check(ACCOUNT, "us-east-1").unwrap();
    let key = seed.streams[2]
        .encryption
        .as_ref()
        .unwrap()
        .key(ACCOUNT, &Default::default())
        .unwrap();
    let SeedKeyRef::Customer(arn) = key else {
        panic!("a customer key: {key:?}");
    };
    assert_eq!(arn.key_id, "k1");
}

#[test]
fn reports_every_problem_at_once() {
    let seed: Seed = serde_json::from_str(
        r#"{
          "streams": [
            {"name": "bad name"},
            {"name": "a", "type": "Firehose"},
            {"name": "a", "type": "Firehose"},
            {"name": "b", "type": "MSKAsSource", "encryption": {}},
            {"name": "c", "encryption": {"key_type": "CUSTOMER_MANAGED_CMK"}}
          ],
          "keys": [{"id": "k/1", "state": "Gone", "spec": "AES"}]
        }"#,
    )
    .unwrap();
    let SeedError::Invalid(errors) = seed.check(ACCOUNT, "us-east-1").unwrap_err() else {
        panic!("expected Invalid");
    };
    assert_eq!(errors.len(), 9, "{errors:#?}");
}

#[test]
fn unknown_fields_are_refused() {
    let err =
        serde_json::from_str::<Seed>(r#"{"streams": [{"name": "a", "colour": 1}]}"#).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn the_documented_fields_are_read_and_checked() {
    let seed: Seed = serde_json::from_value(serde_json::json!({
        "streams": [
            {"name": "a", "encryption": {"key_arn": "arn:aws:kms:us-east-1:210987654321:key/theirs", "status": "DISABLING"}},
            {"name": "b", "encryption": {"key_type": "AWS_OWNED_CMK", "status": "ENABLING_FAILED", "in_force": null,
                "failure": {"type": "KMS_ACCESS_DENIED", "description": "stream"}}},
            {"name": "c", "type": "MSKAsSource", "source_arn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/x"}
        ],
        "keys": [
            {"id": "theirs", "account": "210987654321", "manager": "AWS",
             "describe_error": "AccessDeniedException", "start_error": {"code": "DisabledException", "times": 1},
             "failure": {"type": "UNKNOWN_ERROR", "description": "none"}}
        ],
        "credentials": [{"access_key": "ASIAX", "expires_after": "3s"}]
    }))
    .unwrap();
    seed.check(ACCOUNT, "us-east-1").unwrap();
    assert_eq!(
        seed.streams[1].encryption.as_ref().unwrap().in_force,
        Some(None)
    );
    assert_eq!(
        seed.credentials[0].expires_after().unwrap(),
        std::time::Duration::from_secs(3)
    );
    let bad: Seed = serde_json::from_value(serde_json::json!({
        "streams": [
            {"name": "a", "encryption": {"key_arn": "arn:aws:kms:us-east-1:210987654321:key/unseeded"}},
            {"name": "b", "encryption": {"key_type": "AWS_OWNED_CMK", "status": "ENABLING"}},
            {"name": "c", "encryption": {"key_type": "AWS_OWNED_CMK", "in_force": "nonsense"}},
            {"name": "d", "encryption": {"key_type": "AWS_OWNED_CMK", "failure": {"type": "X"}}},
            {"name": "e", "source_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"},
            {"name": "f", "type": "KinesisStreamAsSource", "source_arn": "stream/s"}
        ],
        "keys": [
            {"id": "k1", "manager": "SOMEONE"},
            {"id": "k2", "account": "12"},
            {"id": "k3", "describe_error": "not a code"},
            {"id": "k4", "start_error": {"code": "ThrottlingException"}},
            {"id": "k5", "failure": {"type": "X", "description": "elsewhere"}}
        ],
        "credentials": [
            {"access_key": "ASIAY", "expires_after": "soon"},
            {"access_key": "ASIAY", "expires_after": "1s"}
        ]
    }))
    .unwrap();
    let SeedError::Invalid(errors) = bad.check(ACCOUNT, "us-east-1").unwrap_err() else {
        panic!("expected Invalid");
    };
    assert_eq!(errors.len(), 13, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("belongs to account 210987654321")),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|e| e.contains(r#"status "ENABLING" is not one of ENABLED, ENABLING_FAILED, DISABLING, DISABLING_FAILED"#)), "{errors:#?}");
}
