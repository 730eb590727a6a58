//! The plan file: its hash rule, a file read back as written, and every way a file is refused.

use super::*;
use crate::ledger::{CallFacts, StreamFacts};
use crate::model::KmsKeyArn;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/6f1c2a4e-5b7d-4c8e-9a0f-1b2c3d4e5f60";

fn item(seq: usize, name: &str, action: Action, reason: Option<Reason>) -> Item {
    let key = match seq % 2 {
        0 => KeyChoice::AwsOwned,
        _ => KeyChoice::Customer(KmsKeyArn::parse(KEY).unwrap()),
    };
    Item {
        seq,
        target: Target {
            line: seq as u64 + 2,
            name: name.into(),
            region: "us-east-1".into(),
            account: Some("123456789012".into()),
            key,
            expect: None,
        },
        stream: Some(StreamId {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            name: name.into(),
        }),
        action,
        reason,
        next_slot: (action == Action::Defer).then_some(1_800_000_123_456),
        current: Some(Current {
            stream_status: StreamStatus::Active,
            status: EncStatus::Disabled,
            key: None,
            source_arn: None,
            source_encryption: None,
            in_force_unknown: false,
        }),
        budget_used: 3,
        producers: None,
        owner: None,
    }
}

fn document() -> Document {
    let saved = SavedPlan {
        id: 7,
        created_at: 1_800_000_000_123,
        observed_at: 1_799_999_990_001,
        fleet: "/work/fleet.csv".into(),
        settings: Settings::default(),
        items: vec![
            item(0, "s-enable", Action::Enable, None),
            item(1, "s-cmk", Action::Enable, None),
            item(2, "s-skip", Action::Skip, Some(Reason::NotFound)),
            item(3, "s-defer", Action::Defer, Some(Reason::Budget)),
        ],
        estimated_ms: 11_600,
    };
    let review = PlanReview {
        keys: Vec::new(),
        warnings: vec!["a warning with <html> & `code`".into()],
        start_tps: 5.0,
        describe_tps: 4.5,
        throttles: 2,
        waves: None,
        place: serde_json::json!({"endpoint": "http://127.0.0.1:1", "account": "123456789012"}),
        shard: None,
    };
    let observed = |name: &str| StreamFacts {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        name: name.into(),
        arn: format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"),
        source_type: "DirectPut".into(),
        status: "ACTIVE".into(),
        enc_status: "DISABLED".into(),
        key_type: None,
        key_arn: None,
        failure_type: None,
        failure_details: None,
        in_force_type: None,
        in_force_arn: None,
        in_force_unknown: false,
        source_arn: None,
        observed_at: 1_799_999_990_001,
        calls: Vec::new(),
    };
    let facts = PlanFacts {
        streams: vec![
            observed("s-enable"),
            observed("s-cmk"),
            observed("s-skip"),
            StreamFacts {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                name: "s-defer".into(),
                arn: "arn:aws:firehose:us-east-1:123456789012:deliverystream/s-defer".into(),
                source_type: "DirectPut".into(),
                status: "ACTIVE".into(),
                enc_status: "DISABLED".into(),
                key_type: None,
                key_arn: None,
                failure_type: None,
                failure_details: None,
                in_force_type: None,
                in_force_arn: None,
                in_force_unknown: false,
                source_arn: None,
                observed_at: 1_799_999_990_001,
                calls: vec![CallFacts {
                    op: "start".into(),
                    key_type: Some("AWS_OWNED_CMK".into()),
                    key_arn: None,
                    sent_at: 1_799_999_000_000,
                    state: "ok".into(),
                    error_code: None,
                    budget_full: false,
                }],
            },
        ],
        keys: Vec::new(),
    };
    Document::new(&saved, None, review, facts)
}

fn path() -> &'static Path {
    Path::new("/reviews/plan.json")
}

#[test]
fn the_hash_is_sha256_of_the_canonical_json_without_the_hash() {
    let a: Value = serde_json::from_str(r#"{"b": "x", "a": [{"d": 2.5, "c": 3}]}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"a":[{"c":3,"d":2.5}],"b":"x"}"#).unwrap();
    // sha256 of `{"a":[{"c":3,"d":2.5}],"b":"x"}`, as `sha256sum` computes it.
    let expected = "7698775e2f3ffd8589a339d457e9ab75945f2a7c2e62c7f707adeef7a29cfeab";
    assert_eq!(canonical_hash(&a), expected);
    assert_eq!(canonical_hash(&b), expected);
}

#[test]
fn a_plan_file_reads_back_as_written_with_its_hash() {
    let doc = document();
    let text = doc.file_text();
    let file = parse(path(), &text).unwrap();
    assert_eq!(file.document, doc);
    assert_eq!(file.hash, doc.hash());
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(written["hash"], doc.hash());
    // Every item, as the ledger would load it.
    let saved = file.document.saved_plan();
    assert_eq!(saved.items.len(), 4);
    for (read, made) in saved.items.iter().zip(document().saved_plan().items) {
        assert_eq!(read, &made);
    }
    assert_eq!(saved.items[3].next_slot, Some(1_800_000_123_456));
    assert_eq!(
        file.document.observations.streams[3].calls[0].sent_at,
        1_799_999_000_000
    );
}

#[test]
fn a_file_reformatted_keeps_its_hash_but_one_edited_is_refused() {
    let text = document().file_text();
    // Members reordered and whitespace removed: the same document.
    let value: Value = serde_json::from_str(&text).unwrap();
    let compact = serde_json::to_string(&canonical(&value)).unwrap();
    assert!(parse(path(), &compact).is_ok());

    // One decision changed by hand.
    let edited = text.replacen("\"action\": \"skip\"", "\"action\": \"enable\"", 1);
    assert_ne!(edited, text);
    let err = parse(path(), &edited).unwrap_err();
    assert!(matches!(err, PlanFileError::Edited { .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("/reviews/plan.json was changed after it was written"));
    assert!(message.contains(&document().hash()), "{message}");

    // The hash itself changed.
    let forged = text.replacen(&document().hash(), &"0".repeat(64), 1);
    assert!(matches!(
        parse(path(), &forged),
        Err(PlanFileError::Edited { .. })
    ));
}

#[test]
fn a_file_that_is_not_a_plan_file_of_this_version_is_refused_saying_why() {
    let text = document().file_text();
    let err = |text: &str| parse(path(), text).unwrap_err();
    // Cut short (a truncated download).
    let cut = err(&text[..text.len() / 2]);
    assert!(matches!(cut, PlanFileError::NotJson { .. }), "{cut}");
    assert!(cut.to_string().contains("/reviews/plan.json"), "{cut}");
    // Another JSON document.
    let other = err(r#"{"streams": []}"#);
    assert!(other.to_string().contains("no \"format\""), "{other}");
    assert!(matches!(err("[1]"), PlanFileError::NotAPlan { .. }));
    // A later version.
    let later = text.replacen("\"version\": 1", "\"version\": 2", 1);
    let later = err(&later);
    assert!(matches!(later, PlanFileError::Version { .. }), "{later}");
    assert!(
        later
            .to_string()
            .contains("version 2, written by firehose-sse")
    );
    // No hash.
    let mut value: Value = serde_json::from_str(&text).unwrap();
    value.as_object_mut().unwrap().remove("hash");
    let unhashed = err(&value.to_string());
    assert!(
        unhashed.to_string().contains("hash: the file has no hash"),
        "{unhashed}"
    );
    // A decision this version does not know, hashed anew (as a later writer would).
    let mut value: Value = serde_json::from_str(&text).unwrap();
    let map = value.as_object_mut().unwrap();
    map.remove("hash");
    map["plan"]["items"][2]["action"] = "teleport".into();
    let hash = canonical_hash(&value);
    value["hash"] = hash.into();
    let unknown = err(&value.to_string());
    assert!(
        unknown
            .to_string()
            .contains("plan.items[2] (s-skip): action: \"teleport\" is not an action"),
        "{unknown}"
    );
    // A stream decided from an observation the file does not carry.
    let mut value: Value = serde_json::from_str(&text).unwrap();
    let map = value.as_object_mut().unwrap();
    map.remove("hash");
    map["observations"]["streams"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let hash = canonical_hash(&value);
    value["hash"] = hash.into();
    let missing = err(&value.to_string());
    assert!(
        missing
            .to_string()
            .contains("plan.items[0] (s-enable): the file carries no observation"),
        "{missing}"
    );
}

#[test]
fn a_plan_file_is_told_from_a_fleet_file_by_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    assert!(looks_like_plan_file(&write("p.json", b"{\"format\": 1}")));
    assert!(looks_like_plan_file(&write("p.txt", b"\xEF\xBB\xBF \n\t{")));
    assert!(!looks_like_plan_file(&write("f.csv", b"stream,region\n")));
    assert!(!looks_like_plan_file(&write("e.csv", b"")));
    assert!(!looks_like_plan_file(&dir.path().join("missing")));
}

#[test]
fn only_a_whole_hash_is_a_hash() {
    assert!(is_full_hash(&"ab".repeat(32)));
    assert!(!is_full_hash(&"ab".repeat(6)));
    assert!(!is_full_hash(&"zz".repeat(32)));
    assert_eq!(short(&"ab".repeat(32)), "abababababab");
}
