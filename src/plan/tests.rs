//! Planner decisions, one per action and reason, without I/O.

use super::*;
use crate::clock::{DAY, HOUR};
use crate::model::{Encryption, Failure, KmsKeyArn};

const NOW: EpochMillis = 100 * DAY;
const K1: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
const K2: &str = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222";
const K_OFF: &str = "arn:aws:kms:us-east-1:123456789012:key/33333333-3333-3333-3333-333333333333";
const K_ASYM: &str = "arn:aws:kms:us-east-1:123456789012:key/44444444-4444-4444-4444-444444444444";
const K_GONE: &str = "arn:aws:kms:us-east-1:123456789012:key/55555555-5555-5555-5555-555555555555";

fn cmk(arn: &str) -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(arn).unwrap())
}

fn target(name: &str, key: KeyChoice) -> Target {
    Target {
        line: 2,
        name: name.into(),
        region: "us-east-1".into(),
        account: None,
        key,
        expect: None,
    }
}

fn found(
    name: &str,
    source: SourceType,
    status: StreamStatus,
    enc: EncStatus,
    key: Option<KeyChoice>,
) -> Seen {
    Seen::Found {
        obs: StreamObservation {
            id: StreamId {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                name: name.into(),
            },
            arn: format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"),
            source,
            source_arn: None,
            status,
            encryption: Encryption {
                status: enc,
                key,
                failure: None,
            },
        },
        in_force: None,
        in_force_unknown: false,
    }
}

fn plain(name: &str) -> Seen {
    found(
        name,
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::Disabled,
        None,
    )
}

fn enabled(name: &str, key: KeyChoice) -> Seen {
    let mut seen = found(
        name,
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::Enabled,
        Some(key.clone()),
    );
    if let Seen::Found { in_force, .. } = &mut seen {
        *in_force = Some(key);
    }
    seen
}

fn key(arn: &str, found: bool, state: &str, spec: &str, usage: &str) -> (String, KeyObservation) {
    (
        arn.to_owned(),
        KeyObservation {
            arn: KmsKeyArn::parse(arn).unwrap(),
            found,
            state: state.into(),
            spec: spec.into(),
            usage: usage.into(),
            manager: "CUSTOMER".into(),
            readable: true,
        },
    )
}

fn keys() -> HashMap<String, KeyObservation> {
    HashMap::from([
        key(K1, true, "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        key(K2, true, "Enabled", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        key(
            K_OFF,
            true,
            "Disabled",
            "SYMMETRIC_DEFAULT",
            "ENCRYPT_DECRYPT",
        ),
        key(K_ASYM, true, "Enabled", "RSA_2048", "SIGN_VERIFY"),
        key(K_GONE, false, "", "", ""),
    ])
}

fn decide_one(t: &Target, seen: &Seen, sends: &[EpochMillis]) -> Item {
    let keys = keys();
    let mut planner = Planner::new(Settings::default(), HashMap::new(), keys, NOW);
    planner.decide(0, t, seen, sends)
}

fn verdict(item: &Item) -> (Action, Option<Reason>) {
    (item.action, item.reason)
}

#[test]
fn enable_rekey_noop() {
    assert_eq!(
        verdict(&decide_one(
            &target("a", KeyChoice::AwsOwned),
            &plain("a"),
            &[]
        )),
        (Action::Enable, None)
    );
    assert_eq!(
        verdict(&decide_one(
            &target("a", cmk(K1)),
            &enabled("a", KeyChoice::AwsOwned),
            &[]
        )),
        (Action::Rekey, None)
    );
    assert_eq!(
        verdict(&decide_one(
            &target("a", cmk(K2)),
            &enabled("a", cmk(K1)),
            &[]
        )),
        (Action::Rekey, None)
    );
    assert_eq!(
        verdict(&decide_one(
            &target("a", cmk(K1)),
            &enabled("a", cmk(K1)),
            &[]
        )),
        (Action::Noop, None)
    );
    let enabling = found(
        "a",
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::Enabling,
        Some(cmk(K1)),
    );
    assert_eq!(
        verdict(&decide_one(&target("a", cmk(K1)), &enabling, &[])),
        (Action::Noop, None)
    );
    // ENABLED with the AWS-owned key is not the target customer key.
    assert_eq!(
        verdict(&decide_one(
            &target("a", KeyChoice::AwsOwned),
            &enabled("a", KeyChoice::AwsOwned),
            &[]
        )),
        (Action::Noop, None)
    );
}

#[test]
fn a_failed_first_enable_is_enabled_again_and_a_failed_rekey_is_a_rekey() {
    let mut failed = found(
        "a",
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::EnablingFailed,
        Some(cmk(K_GONE)),
    );
    if let Seen::Found { obs, .. } = &mut failed {
        obs.encryption.failure = Some(Failure {
            kind: "KMS_KEY_NOT_FOUND".into(),
            details: String::new(),
        });
    }
    assert_eq!(
        verdict(&decide_one(&target("a", cmk(K1)), &failed, &[])),
        (Action::Enable, None)
    );
    if let Seen::Found { in_force, .. } = &mut failed {
        *in_force = Some(cmk(K2));
    }
    assert_eq!(
        verdict(&decide_one(&target("a", cmk(K1)), &failed, &[])),
        (Action::Rekey, None)
    );
}

#[test]
fn skips_with_each_stream_reason() {
    let t = target("a", KeyChoice::AwsOwned);
    assert_eq!(
        verdict(&decide_one(&t, &Seen::Missing, &[])),
        (Action::Skip, Some(Reason::NotFound))
    );
    let kinesis = found(
        "a",
        SourceType::KinesisStreamAsSource,
        StreamStatus::Active,
        EncStatus::Disabled,
        None,
    );
    assert_eq!(
        verdict(&decide_one(&t, &kinesis, &[])),
        (Action::Skip, Some(Reason::NotDirectPut))
    );
    let msk = found(
        "a",
        SourceType::MskAsSource,
        StreamStatus::Active,
        EncStatus::Disabled,
        None,
    );
    assert_eq!(
        verdict(&decide_one(&t, &msk, &[])),
        (Action::Skip, Some(Reason::NotDirectPut))
    );
    let creating = found(
        "a",
        SourceType::DirectPut,
        StreamStatus::Creating,
        EncStatus::Disabled,
        None,
    );
    assert_eq!(
        verdict(&decide_one(&t, &creating, &[])),
        (Action::Skip, Some(Reason::NotActive))
    );
}

#[test]
fn skips_with_each_key_reason() {
    for (arn, reason) in [
        (K_GONE, Reason::KeyNotFound),
        (K_OFF, Reason::KeyDisabled),
        (K_ASYM, Reason::KeyNotSymmetric),
        (
            "arn:aws:kms:us-east-1:123456789012:key/99999999-9999-9999-9999-999999999999",
            Reason::KeyNotFound,
        ),
    ] {
        let item = decide_one(&target("a", cmk(arn)), &plain("a"), &[]);
        assert_eq!(verdict(&item), (Action::Skip, Some(reason)), "{arn}");
    }
    // A key KMS reports from another region than the stream's.
    let west = "arn:aws:kms:us-west-2:123456789012:key/66666666-6666-6666-6666-666666666666";
    let mut keys = keys();
    let (_, mut obs) = key(
        west,
        true,
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    );
    obs.arn = KmsKeyArn::parse(west).unwrap();
    keys.insert(K1.to_owned(), obs);
    let mut planner = Planner::new(Settings::default(), HashMap::new(), keys, NOW);
    let item = planner.decide(0, &target("a", cmk(K1)), &plain("a"), &[]);
    assert_eq!(verdict(&item), (Action::Skip, Some(Reason::KeyWrongRegion)));
}

#[test]
fn every_key_state_kms_lists_but_enabled_skips_with_its_own_reason() {
    // KMS's model (`KeyState`): Creating, Enabled, Disabled, PendingDeletion, PendingImport,
    // PendingReplicaDeletion, Unavailable, Updating; a value added later is not taken as usable.
    let cases = [
        ("Enabled", None),
        ("Disabled", Some(Reason::KeyDisabled)),
        ("PendingDeletion", Some(Reason::KeyPendingDeletion)),
        ("PendingImport", Some(Reason::KeyPendingImport)),
        (
            "PendingReplicaDeletion",
            Some(Reason::KeyPendingReplicaDeletion),
        ),
        ("Unavailable", Some(Reason::KeyUnavailable)),
        ("Creating", Some(Reason::KeyCreating)),
        ("Updating", Some(Reason::KeyUpdating)),
        ("Archived", Some(Reason::KeyStateUnknown)),
    ];
    for (state, reason) in cases {
        let keys = HashMap::from([key(K1, true, state, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")]);
        let mut planner = Planner::new(Settings::default(), HashMap::new(), keys, NOW);
        let item = planner.decide(0, &target("a", cmk(K1)), &plain("a"), &[]);
        let expected = match reason {
            None => (Action::Enable, None),
            Some(r) => (Action::Skip, Some(r)),
        };
        assert_eq!(verdict(&item), expected, "{state}");
    }
    // Each says what the operator can do, and the names stay apart.
    let names: std::collections::BTreeSet<&str> = cases
        .iter()
        .filter_map(|(_, r)| r.map(Reason::as_str))
        .collect();
    assert_eq!(names.len(), 8);
    assert!(
        Reason::KeyPendingDeletion
            .explain()
            .contains("cancel-key-deletion")
    );
    assert!(
        Reason::KeyUnavailable
            .explain()
            .contains("connect-custom-key-store")
    );
    assert!(
        Reason::KeyPendingImport
            .explain()
            .contains("import-key-material")
    );
    // Ledgers written before the states had names of their own read back as they were.
    assert_eq!(Reason::parse("key_disabled"), Some(Reason::KeyDisabled));
}

#[test]
fn budget_defer_respects_the_reserve_and_names_the_next_slot() {
    let t = target("a", KeyChoice::AwsOwned);
    // 23 calls used: 24 allowed with reserve 1, so one more may be planned.
    let sends: Vec<EpochMillis> = (0..23).map(|i| NOW - DAY + (i + 1) * 60_000).collect();
    let item = decide_one(&t, &plain("a"), &sends);
    assert_eq!(
        (verdict(&item), item.budget_used),
        ((Action::Enable, None), 23)
    );
    // 24 used: the reserve is not spent; the next slot is when the oldest leaves the window,
    // plus the margin (the edge of AWS's 24 h is not documented).
    let sends: Vec<EpochMillis> = (0..24).map(|i| NOW - DAY + (i + 1) * 60_000).collect();
    let item = decide_one(&t, &plain("a"), &sends);
    assert_eq!(verdict(&item), (Action::Defer, Some(Reason::Budget)));
    assert_eq!(item.next_slot, Some(sends[0] + DAY + budget::MARGIN));
    assert_eq!(item.budget_used, 24);
    // Calls just past the window still count within the margin, and are forgotten after it.
    let edge: Vec<EpochMillis> = (0..25).map(|i| NOW - DAY - i).collect();
    assert_eq!(decide_one(&t, &plain("a"), &edge).action, Action::Defer);
    let old: Vec<EpochMillis> = (0..25).map(|i| NOW - DAY - budget::MARGIN - i).collect();
    assert_eq!(decide_one(&t, &plain("a"), &old).action, Action::Enable);
    // A custom reserve.
    let keys = keys();
    let settings = Settings {
        reserve: 5,
        ..Settings::default()
    };
    let mut planner = Planner::new(settings, HashMap::new(), keys.clone(), NOW);
    let sends: Vec<EpochMillis> = (0..20).map(|i| NOW - i).collect();
    assert_eq!(
        planner.decide(0, &t, &plain("a"), &sends).action,
        Action::Defer
    );
}

#[test]
fn noop_needs_no_budget() {
    let sends: Vec<EpochMillis> = (0..25).map(|i| NOW - i).collect();
    let item = decide_one(&target("a", cmk(K1)), &enabled("a", cmk(K1)), &sends);
    assert_eq!(verdict(&item), (Action::Noop, None));
}

#[test]
fn cmk_limit_in_fleet_order_counting_streams_outside_the_fleet() {
    let keys = keys();
    let settings = Settings {
        cmk_limit: 3,
        ..Settings::default()
    };
    // One stream outside the fleet already uses K1.
    let mut planner = Planner::new(
        settings,
        HashMap::from([(K1.to_owned(), 1)]),
        keys.clone(),
        NOW,
    );
    let actions: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, n)| verdict(&planner.decide(i, &target(n, cmk(K1)), &plain(n), &[])))
        .collect();
    assert_eq!(
        actions,
        [
            (Action::Enable, None),
            (Action::Enable, None),
            (Action::Skip, Some(Reason::CmkLimit)),
            (Action::Skip, Some(Reason::CmkLimit))
        ]
    );
    assert_eq!(planner.counts()[K1], 3);
}

#[test]
fn a_rekey_away_frees_room_for_later_streams() {
    let keys = keys();
    let settings = Settings {
        cmk_limit: 1,
        ..Settings::default()
    };
    let mut planner = Planner::new(
        settings,
        HashMap::from([(K1.to_owned(), 1)]),
        keys.clone(),
        NOW,
    );
    // x moves from K1 to K2, then y may take K1.
    let x = planner.decide(0, &target("x", cmk(K2)), &enabled("x", cmk(K1)), &[]);
    assert_eq!(verdict(&x), (Action::Rekey, None));
    let y = planner.decide(1, &target("y", cmk(K1)), &plain("y"), &[]);
    assert_eq!(verdict(&y), (Action::Enable, None));
    assert_eq!((planner.counts()[K1], planner.counts()[K2]), (1, 1));
}

#[test]
fn a_stream_enabling_towards_the_key_is_already_counted() {
    let keys = keys();
    let settings = Settings {
        cmk_limit: 1,
        ..Settings::default()
    };
    let mut planner = Planner::new(
        settings,
        HashMap::from([(K1.to_owned(), 1)]),
        keys.clone(),
        NOW,
    );
    let enabling = found(
        "a",
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::Enabling,
        Some(cmk(K1)),
    );
    assert_eq!(
        planner
            .decide(0, &target("a", cmk(K1)), &enabling, &[])
            .action,
        Action::Noop
    );
    assert_eq!(planner.counts()[K1], 1);
}

#[test]
fn summary_keys_and_estimate() {
    let keys = keys();
    let mut planner = Planner::new(
        Settings::default(),
        HashMap::from([(K1.to_owned(), 2)]),
        keys,
        NOW,
    );
    let mut items = Vec::new();
    for i in 0..10 {
        let name = format!("s{i}");
        items.push(planner.decide(i, &target(&name, cmk(K2)), &enabled(&name, cmk(K1)), &[]));
    }
    items.push(planner.decide(
        10,
        &target("gone", KeyChoice::AwsOwned),
        &Seen::Missing,
        &[],
    ));
    let s = Summary::of(&items);
    assert_eq!((s.rekey, s.skip, s.enable), (10, 1, 0));
    let lines = key_lines(
        &items,
        &HashMap::from([(K1.to_owned(), 2)]),
        planner.counts(),
        500,
    );
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (
            lines[0].key_arn.as_str(),
            lines[0].streams_now,
            lines[0].streams_after
        ),
        (K1, 2, 0)
    );
    assert_eq!(
        (
            lines[1].key_arn.as_str(),
            lines[1].streams_now,
            lines[1].streams_after
        ),
        (K2, 0, 10)
    );
    // 10 starts at 5/s = 2 s; 10 confirming Describes at 2/s = 5 s; plus the tail.
    let pace = Pace {
        start_tps: 5.0,
        describe_tps: 2.0,
    };
    assert_eq!(estimate(&items, pace, false), 5_000 + TAIL);
    // Observing first adds 11 Describes: 21 at 2/s.
    assert_eq!(estimate(&items, pace, true), 10_500 + TAIL);
    assert_eq!(estimate(&items[10..], pace, true), 0);
}

#[test]
fn strings_round_trip() {
    for a in Action::ALL {
        assert_eq!(Action::parse(a.as_str()), Some(a));
    }
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(r));
    }
}

#[test]
fn a_row_of_another_account_is_skipped_and_never_described() {
    let mut t = target("a", KeyChoice::AwsOwned);
    t.account = Some("999999999999".into());
    let item = decide_one(&t, &Seen::Unreachable, &[]);
    assert_eq!(verdict(&item), (Action::Skip, Some(Reason::NoCredentials)));
    assert!(item.stream.is_none() && item.current.is_none());
    assert_eq!(item.account(), Some("999999999999"));
}

#[test]
fn an_encryption_status_nobody_knows_needs_an_operator() {
    let seen = found(
        "a",
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::Other("SUSPENDING".into()),
        None,
    );
    let item = decide_one(&target("a", KeyChoice::AwsOwned), &seen, &[]);
    assert_eq!(verdict(&item), (Action::Skip, Some(Reason::UnknownStatus)));
    assert_eq!(
        item.current.unwrap().status,
        EncStatus::Other("SUSPENDING".into())
    );
}

#[test]
fn a_key_describe_key_refused_or_managed_by_aws_skips_its_streams() {
    let mut keys = keys();
    let unreadable = KmsKeyArn::parse(K1).unwrap();
    keys.insert(K1.into(), KeyObservation::unreadable(unreadable));
    keys.get_mut(K2).unwrap().manager = "AWS".into();
    let mut planner = Planner::new(Settings::default(), HashMap::new(), keys, NOW);
    let item = planner.decide(0, &target("a", cmk(K1)), &plain("a"), &[]);
    assert_eq!(verdict(&item), (Action::Skip, Some(Reason::KeyUnreadable)));
    let item = planner.decide(1, &target("b", cmk(K2)), &plain("b"), &[]);
    assert_eq!(
        verdict(&item),
        (Action::Skip, Some(Reason::KeyNotCustomerManaged))
    );
}

#[test]
fn a_kinesis_sourced_stream_is_skipped_with_its_source_named() {
    let mut seen = found(
        "a",
        SourceType::KinesisStreamAsSource,
        StreamStatus::Active,
        EncStatus::Disabled,
        None,
    );
    let source = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks";
    if let Seen::Found { obs, .. } = &mut seen {
        obs.source_arn = Some(source.into());
    }
    let item = decide_one(&target("a", KeyChoice::AwsOwned), &seen, &[]);
    assert_eq!(verdict(&item), (Action::Skip, Some(Reason::NotDirectPut)));
    assert_eq!(item.current.unwrap().source_arn.as_deref(), Some(source));
}

#[test]
fn encryption_off_is_a_disable_of_what_is_on_and_a_noop_of_what_is_off() {
    let t = target("a", KeyChoice::Off);
    let item = decide_one(&t, &enabled("a", cmk(K1)), &[]);
    assert_eq!(verdict(&item), (Action::Disable, None));
    assert_eq!(item.action.symbol(), '-');
    assert!(item.action.starts());
    assert_eq!(
        verdict(&decide_one(&t, &plain("a"), &[])),
        (Action::Noop, None)
    );
    let disabling = found(
        "a",
        SourceType::DirectPut,
        StreamStatus::Active,
        EncStatus::Disabling,
        Some(KeyChoice::AwsOwned),
    );
    assert_eq!(
        verdict(&decide_one(&t, &disabling, &[])),
        (Action::Noop, None)
    );
    // The budget holds for a Stop as for a Start.
    let sends: Vec<EpochMillis> = (0..24).map(|i| NOW - HOUR + i).collect();
    let item = decide_one(&t, &enabled("a", cmk(K1)), &sends);
    assert_eq!(verdict(&item), (Action::Defer, Some(Reason::Budget)));
}

#[test]
fn a_disable_frees_its_key_for_the_streams_planned_after_it() {
    let keys = keys();
    let settings = Settings {
        cmk_limit: 1,
        ..Settings::default()
    };
    let mut planner = Planner::new(settings, HashMap::from([(K1.to_owned(), 1)]), keys, NOW);
    let off = planner.decide(0, &target("a", KeyChoice::Off), &enabled("a", cmk(K1)), &[]);
    assert_eq!(off.action, Action::Disable);
    let onto = planner.decide(1, &target("b", cmk(K1)), &plain("b"), &[]);
    assert_eq!(verdict(&onto), (Action::Enable, None));
}

#[test]
fn a_rollback_plan_restores_rather_than_enables() {
    let keys = keys();
    let settings = Settings {
        restore: true,
        ..Settings::default()
    };
    let mut planner = Planner::new(settings, HashMap::new(), keys, NOW);
    let back = planner.decide(
        0,
        &target("a", cmk(K1)),
        &enabled("a", KeyChoice::AwsOwned),
        &[],
    );
    assert_eq!(verdict(&back), (Action::Restore, None));
    let off = planner.decide(1, &target("b", KeyChoice::Off), &enabled("b", cmk(K1)), &[]);
    assert_eq!(verdict(&off), (Action::Disable, None));
}

#[test]
fn a_rollback_leaves_a_stream_changed_since_its_run_and_one_already_back() {
    let settings = Settings {
        restore: true,
        ..Settings::default()
    };
    let mut planner = Planner::new(settings, HashMap::new(), keys(), NOW);
    // The run moved each stream from the AWS-owned key to K1; the rollback wants them back.
    let back = |name: &str| Target {
        expect: Some(cmk(K1)),
        ..target(name, KeyChoice::AwsOwned)
    };
    let left = planner.decide(0, &back("left"), &enabled("left", cmk(K1)), &[]);
    assert_eq!(verdict(&left), (Action::Restore, None));
    let moved = planner.decide(1, &back("moved"), &enabled("moved", cmk(K2)), &[]);
    assert_eq!(
        verdict(&moved),
        (Action::Skip, Some(Reason::ChangedSinceRun))
    );
    let home = planner.decide(2, &back("home"), &enabled("home", KeyChoice::AwsOwned), &[]);
    assert_eq!(verdict(&home), (Action::Noop, None));
}

mod producers {
    use super::*;
    use crate::producers::{
        CheckSummary, Findings, Kind, Producer, Refusal, Side, StreamProducers, Verdict,
    };

    fn id(name: &str) -> StreamId {
        StreamId {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            name: name.into(),
        }
    }

    fn with(verdict: Verdict) -> StreamProducers {
        StreamProducers {
            key: K1.into(),
            producers: vec![Producer {
                principal: "arn:aws:iam::123456789012:role/orders-events".into(),
                kind: Kind::Role,
                described: "EventBridge target role".into(),
                verdict,
            }],
            unread: None,
        }
    }

    fn denied() -> Verdict {
        Verdict::Denied {
            refused: vec![Refusal {
                side: Side::IamPolicy,
                action: "kms:GenerateDataKey".into(),
            }],
        }
    }

    fn findings() -> Arc<Findings> {
        Arc::new(Findings {
            streams: HashMap::from([
                (id("refused"), with(denied())),
                (
                    id("unsure"),
                    with(Verdict::Unknown {
                        why: "a condition".into(),
                    }),
                ),
                (id("fine"), with(Verdict::Allowed)),
            ]),
            grants: HashMap::from([(("123456789012".into(), K2.into()), denied())]),
            summary: CheckSummary::default(),
        })
    }

    fn decide(settings: Settings, t: &Target) -> Item {
        let mut planner =
            Planner::new(settings, HashMap::new(), keys(), NOW).with_producers(findings());
        planner.decide(0, t, &plain(&t.name), &[])
    }

    #[test]
    fn a_stream_whose_producer_would_be_refused_is_skipped_unless_the_risk_is_allowed() {
        let refused = decide(Settings::default(), &target("refused", cmk(K1)));
        assert_eq!(
            verdict(&refused),
            (Action::Skip, Some(Reason::ProducersDenied))
        );
        assert!(refused.producers.as_ref().unwrap().any_denied());
        let risky = Settings {
            allow_producer_risk: true,
            ..Settings::default()
        };
        let taken = decide(risky, &target("refused", cmk(K1)));
        assert_eq!(verdict(&taken), (Action::Enable, None));
        assert!(taken.producers.is_some(), "its line still names them");
    }

    #[test]
    fn an_unknown_verdict_warns_and_does_not_block() {
        let item = decide(Settings::default(), &target("unsure", cmk(K1)));
        assert_eq!(verdict(&item), (Action::Enable, None));
        assert!(item.producers.unwrap().any_unknown());
        assert_eq!(
            verdict(&decide(Settings::default(), &target("fine", cmk(K1)))),
            (Action::Enable, None)
        );
    }

    #[test]
    fn a_key_the_caller_cannot_grant_on_is_refused_before_any_start() {
        let item = decide(Settings::default(), &target("fine", cmk(K2)));
        assert_eq!(verdict(&item), (Action::Skip, Some(Reason::KeyGrantDenied)));
    }

    #[test]
    fn aws_owned_targets_and_stops_need_no_check() {
        let item = decide(Settings::default(), &target("refused", KeyChoice::AwsOwned));
        assert_eq!(verdict(&item), (Action::Enable, None));
        assert!(item.producers.is_none());
    }

    #[test]
    fn a_refused_stream_spends_no_key_room() {
        let settings = Settings {
            cmk_limit: 1,
            ..Settings::default()
        };
        let mut planner =
            Planner::new(settings, HashMap::new(), keys(), NOW).with_producers(findings());
        let first = planner.decide(0, &target("refused", cmk(K1)), &plain("refused"), &[]);
        assert_eq!(first.reason, Some(Reason::ProducersDenied));
        let second = planner.decide(1, &target("fine", cmk(K1)), &plain("fine"), &[]);
        assert_eq!(verdict(&second), (Action::Enable, None));
    }
}

#[test]
fn a_stream_code_owns_carries_its_owner_and_is_skipped_only_when_asked() {
    let state = include_str!("../../tests/data/terraform-show.json");
    let owners = Arc::new(crate::iac::Owners::from_terraform(
        &crate::iac::terraform::read_state(state, "state.json").unwrap(),
    ));
    let decide = |skip_iac_owned: bool, name: &str, seen: &Seen| {
        let settings = Settings {
            skip_iac_owned,
            ..Settings::default()
        };
        let mut planner = Planner::new(settings, HashMap::new(), keys(), NOW);
        planner.set_owners(owners.clone());
        planner.decide(0, &target(name, cmk(K1)), seen, &[])
    };
    // warn (the default): changed, and its owner named.
    let item = decide(false, "orders", &plain("orders"));
    assert_eq!(verdict(&item), (Action::Enable, None));
    assert!(matches!(
        item.owner.as_deref(),
        Some(crate::iac::Owner::Terraform { address, .. }) if address == "aws_kinesis_firehose_delivery_stream.orders"
    ));
    // skip: not changed, iac_owned.
    let item = decide(true, "orders", &plain("orders"));
    assert_eq!(verdict(&item), (Action::Skip, Some(Reason::IacOwned)));
    // A stream no code owns is planned as ever; one already at its target is a noop either way.
    assert_eq!(
        verdict(&decide(true, "quiet", &plain("quiet"))),
        (Action::Enable, None)
    );
    assert_eq!(
        verdict(&decide(true, "orders", &enabled("orders", cmk(K1)))),
        (Action::Noop, None)
    );
}
