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
