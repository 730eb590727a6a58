//! A plan's facts out of one ledger and into a fresh one: the budget, the key counts and the
//! plan read the same there; nothing is recorded twice, and nothing newer is overwritten.

use std::sync::Arc;

use super::*;
use crate::clock::{HOUR, ManualClock};
use crate::input::Target;
use crate::ledger::tests::{T0, ledger, observe, sid};
use crate::ledger::{AttemptOutcome, Op, PlanReview};
use crate::model::{EncStatus, KeyChoice, KeyObservation, KmsKeyArn};
use crate::plan::{Action, Current, Settings};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

fn key() -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(KEY).unwrap())
}

fn item(seq: usize, name: &str, action: Action) -> Item {
    Item {
        seq,
        target: Target {
            line: seq as u64 + 2,
            name: name.into(),
            region: "us-east-1".into(),
            account: Some("123456789012".into()),
            key: key(),
            expect: None,
        },
        stream: Some(sid(name)),
        action,
        reason: None,
        next_slot: None,
        current: Some(Current {
            stream_status: crate::model::StreamStatus::Active,
            status: EncStatus::Disabled,
            key: None,
            source_arn: None,
            source_encryption: None,
            in_force_unknown: false,
        }),
        budget_used: 1,
        producers: None,
        owner: None,
    }
}

fn review() -> PlanReview {
    PlanReview {
        keys: Vec::new(),
        warnings: vec!["w".into()],
        start_tps: 5.0,
        describe_tps: 5.0,
        throttles: 0,
        waves: None,
        place: serde_json::json!({"endpoint": "e", "account": "123456789012"}),
        shard: None,
    }
}

#[test]
fn a_plan_moved_to_a_fresh_ledger_has_the_same_budget_key_counts_and_items() {
    let (_a, from, clock) = ledger();
    clock.set(T0 - 30 * HOUR);
    let old = observe(&from, "b", EncStatus::Disabled, None);
    from.begin_attempt(old, None, Op::Start, Some(&KeyChoice::AwsOwned))
        .unwrap();
    clock.set(T0 - HOUR);
    let b = observe(&from, "b", EncStatus::Disabled, None);
    let sent = from
        .begin_attempt(b, None, Op::Start, Some(&KeyChoice::AwsOwned))
        .unwrap();
    from.complete_attempt(sent, &AttemptOutcome::Ok).unwrap();
    // Still in flight when the plan is made: elsewhere, an unknown outcome.
    from.begin_attempt(b, None, Op::Stop, None).unwrap();
    clock.set(T0);
    observe(&from, "a", EncStatus::Disabled, None);
    // On the key, outside the fleet: its count came from it.
    observe(&from, "c", EncStatus::Enabled, Some(key()));
    from.record_key(&KeyObservation {
        arn: KmsKeyArn::parse(KEY).unwrap(),
        found: true,
        readable: true,
        state: "Enabled".into(),
        spec: "SYMMETRIC_DEFAULT".into(),
        usage: "ENCRYPT_DECRYPT".into(),
        manager: "CUSTOMER".into(),
    })
    .unwrap();
    let items = vec![item(0, "a", Action::Enable), item(1, "b", Action::Enable)];
    let settings = Settings::default();
    let plan = from
        .save_plan("/f.csv", &settings, T0, &items, 1_000)
        .unwrap();
    let facts = from
        .plan_facts(&[sid("a"), sid("b")], &[KEY.into()], T0)
        .unwrap();
    let names: Vec<&str> = facts.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let calls = &facts.streams[1].calls;
    assert_eq!(
        calls.len(),
        2,
        "the call 30 h ago no longer counts: {calls:?}"
    );
    assert_eq!(calls[1].state, "unknown");
    assert_eq!(facts.keys.len(), 1);

    let saved = from.load_plan(plan).unwrap().unwrap();
    let (_b, to, to_clock) = ledger();
    to_clock.set(T0 + 60_000);
    let imported = ImportedPlan {
        created_at: saved.created_at,
        observed_at: saved.observed_at,
        fleet: &saved.fleet,
        settings: &saved.settings,
        estimated_ms: saved.estimated_ms,
        items: &saved.items,
        producer_check: None,
        hash: "h1",
        review: &review(),
        facts: &facts,
    };
    let id = to.import_plan(&imported).unwrap();
    let now = T0 + 60_000;
    assert_eq!(to.key_counts_now().unwrap(), from.key_counts_now().unwrap());
    assert_eq!(
        to.counted_sends(&sid("b"), now).unwrap(),
        from.counted_sends(&sid("b"), now).unwrap()
    );
    let back = to.load_plan(id).unwrap().unwrap();
    assert_eq!(back.items, saved.items);
    assert_eq!(
        (back.created_at, back.observed_at),
        (saved.created_at, saved.observed_at)
    );
    assert_eq!(to.plan_by_hash("h1").unwrap(), Some(id));
    assert_eq!(
        to.plan_review(id).unwrap(),
        (Some("h1".into()), Some(review()))
    );
    assert_eq!(
        to.stream_state(&sid("c")).unwrap().unwrap().in_force,
        Some(key())
    );

    // Carried in again (another plan of the same facts): no call and no observation twice.
    let count = |sql: &str| -> i64 { to.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
    let (attempts, observations) = (
        count("SELECT COUNT(*) FROM attempts"),
        count("SELECT COUNT(*) FROM observations"),
    );
    to.import_plan(&ImportedPlan {
        hash: "h2",
        ..imported
    })
    .unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM attempts"), attempts);
    assert_eq!(count("SELECT COUNT(*) FROM observations"), observations);
}

#[test]
fn an_observation_carried_in_never_replaces_a_newer_one() {
    let (_a, from, clock) = ledger();
    clock.set(T0 - HOUR);
    observe(&from, "a", EncStatus::Disabled, None);
    let facts = from.plan_facts(&[sid("a")], &[], T0).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let to_clock = ManualClock::at(T0);
    let to = Ledger::open(&dir.path().join("to.db"), Arc::new(to_clock)).unwrap();
    observe(&to, "a", EncStatus::Enabled, Some(KeyChoice::AwsOwned));
    to.import_plan(&ImportedPlan {
        created_at: T0,
        observed_at: T0 - HOUR,
        fleet: "/f.csv",
        settings: &Settings::default(),
        estimated_ms: 0,
        items: &[],
        producer_check: None,
        hash: "h",
        review: &review(),
        facts: &facts,
    })
    .unwrap();
    let state = to.stream_state(&sid("a")).unwrap().unwrap();
    assert_eq!(
        (state.enc_status, state.observed_at),
        (EncStatus::Enabled, T0)
    );
}
