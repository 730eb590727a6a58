//! Ledger tests: budget window edges, CMK counts through rekeys, the lock, the schema.

use std::sync::Arc;

use super::*;
use crate::clock::{DAY, ManualClock, SECOND};
use crate::model::{
    EncStatus, Encryption, Failure, KeyChoice, KmsKeyArn, SourceType, StreamObservation,
    StreamStatus,
};

pub(crate) const T0: EpochMillis = 1_800_000_000_000;
const KEY_J: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
const KEY_K: &str = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222";

pub(crate) fn ledger() -> (tempfile::TempDir, Ledger, ManualClock) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let ledger = Ledger::open(&dir.path().join("l.db"), Arc::new(clock.clone())).unwrap();
    (dir, ledger, clock)
}

pub(crate) fn sid(name: &str) -> StreamId {
    StreamId {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        name: name.into(),
    }
}

fn customer(arn: &str) -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(arn).unwrap())
}

pub(crate) fn observe(
    ledger: &Ledger,
    name: &str,
    status: EncStatus,
    key: Option<KeyChoice>,
) -> i64 {
    let failure = (status == EncStatus::EnablingFailed).then(|| Failure {
        kind: "KMS_ACCESS_DENIED".into(),
        details: "denied".into(),
    });
    ledger
        .record_stream(
            &StreamObservation {
                id: sid(name),
                arn: format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"),
                source: SourceType::DirectPut,
                source_arn: None,
                status: StreamStatus::Active,
                encryption: Encryption {
                    status,
                    key,
                    failure,
                },
            },
            None,
        )
        .unwrap()
}

fn attempt_at(
    ledger: &Ledger,
    clock: &ManualClock,
    row: i64,
    at: EpochMillis,
    outcome: AttemptOutcome,
) {
    clock.set(at);
    let id = ledger
        .begin_attempt(row, None, Op::Start, Some(&KeyChoice::AwsOwned))
        .unwrap();
    ledger.complete_attempt(id, &outcome).unwrap();
}

#[test]
fn budget_window_edges() {
    let (_d, ledger, clock) = ledger();
    let row = observe(&ledger, "s", EncStatus::Disabled, None);
    let now = T0 + 2 * DAY;
    attempt_at(&ledger, &clock, row, now - DAY, AttemptOutcome::Ok); // exactly 24 h old: out
    attempt_at(&ledger, &clock, row, now - DAY + 1, AttemptOutcome::Ok); // just inside
    attempt_at(&ledger, &clock, row, now, AttemptOutcome::Ok); // now: in
    assert_eq!(ledger.budget_used(&sid("s"), now).unwrap(), 2);
    assert_eq!(ledger.budget_used(&sid("s"), now + 1).unwrap(), 1);
    assert_eq!(ledger.budget_used(&sid("other"), now).unwrap(), 0);
}

#[test]
fn twenty_five_attempts_and_the_reserve() {
    let (_d, ledger, clock) = ledger();
    let row = observe(&ledger, "s", EncStatus::Disabled, None);
    for i in 0..25 {
        attempt_at(&ledger, &clock, row, T0 + i * SECOND, AttemptOutcome::Ok);
    }
    let now = T0 + 60 * SECOND;
    let s = sid("s");
    assert_eq!(ledger.budget_used(&s, now).unwrap(), 25);
    // Budget 25, reserve 1: 24 allowed, so two must leave the window.
    assert_eq!(
        ledger.next_free_slot(&s, now, 24).unwrap(),
        Some(T0 + SECOND + DAY)
    );
    assert_eq!(ledger.next_free_slot(&s, now, 25).unwrap(), Some(T0 + DAY));
    // With room, the slot is now.
    assert_eq!(
        ledger.next_free_slot(&sid("fresh"), now, 24).unwrap(),
        Some(now)
    );
}

#[test]
fn unknown_outcomes_count_and_unsent_do_not() {
    let (_d, ledger, clock) = ledger();
    let row = observe(&ledger, "s", EncStatus::Disabled, None);
    attempt_at(
        &ledger,
        &clock,
        row,
        T0,
        AttemptOutcome::Unknown {
            message: "timeout".into(),
        },
    );
    attempt_at(
        &ledger,
        &clock,
        row,
        T0 + 1,
        AttemptOutcome::NotSent {
            message: "refused".into(),
        },
    );
    attempt_at(
        &ledger,
        &clock,
        row,
        T0 + 2,
        AttemptOutcome::Rejected {
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        },
    );
    // An attempt begun and never completed (the process died): counts, and is reported.
    clock.set(T0 + 3);
    let dangling = ledger.begin_attempt(row, None, Op::Start, None).unwrap();
    assert_eq!(ledger.budget_used(&sid("s"), T0 + 10).unwrap(), 3);
    let in_flight = ledger.in_flight_attempts().unwrap();
    assert_eq!(in_flight.len(), 1);
    assert_eq!(in_flight[0].id, dangling);
    assert_eq!(in_flight[0].stream, sid("s"));
}

#[test]
fn all_counted_sends_matches_per_stream_queries() {
    let (_d, ledger, clock) = ledger();
    let a = observe(&ledger, "a", EncStatus::Disabled, None);
    let b = observe(&ledger, "b", EncStatus::Disabled, None);
    attempt_at(&ledger, &clock, a, T0, AttemptOutcome::Ok);
    attempt_at(&ledger, &clock, b, T0 + 1, AttemptOutcome::Ok);
    attempt_at(
        &ledger,
        &clock,
        b,
        T0 + 2,
        AttemptOutcome::NotSent {
            message: "dns".into(),
        },
    );
    let all = ledger.all_counted_sends(T0 + 5).unwrap();
    assert_eq!(all[&sid("a")], vec![T0]);
    assert_eq!(all[&sid("b")], vec![T0 + 1]);
}

#[test]
fn cmk_counts_through_a_rekey() {
    let (_d, ledger, _clock) = ledger();
    observe(&ledger, "s", EncStatus::Enabled, Some(customer(KEY_J)));
    observe(&ledger, "t", EncStatus::Enabled, Some(customer(KEY_J)));
    let plan = save_plan(
        &ledger,
        &[("s", "rekey", Some(KEY_K)), ("u", "enable", Some(KEY_K))],
    );
    let j = ledger.cmk_usage(KEY_J, Some(plan)).unwrap();
    assert_eq!((j.now, j.onto, j.away, j.after()), (2, 0, 1, 1));
    let k = ledger.cmk_usage(KEY_K, Some(plan)).unwrap();
    assert_eq!((k.now, k.onto, k.away, k.after()), (0, 2, 0, 2));

    // ENABLING towards K: K counts it, J still protects its data.
    observe(&ledger, "s", EncStatus::Enabling, Some(customer(KEY_K)));
    assert_eq!(ledger.cmk_usage(KEY_J, None).unwrap().now, 2);
    assert_eq!(ledger.cmk_usage(KEY_K, None).unwrap().now, 1);
    // Plan arithmetic doesn't double count a stream already counted for K.
    let k = ledger.cmk_usage(KEY_K, Some(plan)).unwrap();
    assert_eq!((k.now, k.onto, k.after()), (1, 1, 2));

    // ENABLED with K: J is freed.
    observe(&ledger, "s", EncStatus::Enabled, Some(customer(KEY_K)));
    assert_eq!(ledger.cmk_usage(KEY_J, None).unwrap().now, 1);
    assert_eq!(ledger.cmk_usage(KEY_K, None).unwrap().now, 1);
    assert_eq!(
        ledger.key_in_force(&sid("s")).unwrap(),
        Some(customer(KEY_K))
    );
}

#[test]
fn cmk_counts_through_a_failed_rekey() {
    let (_d, ledger, _clock) = ledger();
    observe(&ledger, "s", EncStatus::Enabled, Some(customer(KEY_J)));
    observe(&ledger, "s", EncStatus::Enabling, Some(customer(KEY_K)));
    observe(
        &ledger,
        "s",
        EncStatus::EnablingFailed,
        Some(customer(KEY_K)),
    );
    // The failed rekey left J in force: J keeps the stream, K does not get it.
    assert_eq!(
        ledger.key_in_force(&sid("s")).unwrap(),
        Some(customer(KEY_J))
    );
    assert_eq!(ledger.cmk_usage(KEY_J, None).unwrap().now, 1);
    assert_eq!(ledger.cmk_usage(KEY_K, None).unwrap().now, 0);
    // Disabling keeps it, disabled clears it.
    observe(&ledger, "s", EncStatus::Disabling, Some(customer(KEY_J)));
    assert_eq!(ledger.cmk_usage(KEY_J, None).unwrap().now, 1);
    observe(&ledger, "s", EncStatus::Disabled, None);
    assert_eq!(ledger.cmk_usage(KEY_J, None).unwrap().now, 0);
    assert_eq!(ledger.key_in_force(&sid("s")).unwrap(), None);
}

fn save_plan(ledger: &Ledger, items: &[(&str, &str, Option<&str>)]) -> i64 {
    let conn = ledger.conn();
    conn.execute(
        "INSERT INTO plans (created_at, observed_at, fleet, settings, estimated_ms) VALUES (0, 0, 'f', '{}', 0)",
        [],
    )
    .unwrap();
    let plan = conn.last_insert_rowid();
    for (seq, (name, action, key)) in items.iter().enumerate() {
        conn.execute(
            "INSERT INTO plan_items (plan_id, seq, line, account, region, name, target_type, target_arn, action, budget_used)
             VALUES (?1, ?2, ?2, '123456789012', 'us-east-1', ?3, 'CUSTOMER_MANAGED_CMK', ?4, ?5, 0)",
            rusqlite::params![plan, seq as i64, name, key, action],
        )
        .unwrap();
    }
    plan
}

#[test]
fn lock_contention_and_takeover() {
    let (_d, ledger, clock) = ledger();
    let a = ledger
        .acquire_lock(111, "host-a", None, StaleAfter::HeartbeatOnly)
        .unwrap();
    // Re-entrant for the holder.
    let a_again = ledger
        .acquire_lock(111, "host-a", Some(7), StaleAfter::HeartbeatOnly)
        .unwrap();
    // A second acquirer is told who holds it.
    match ledger.acquire_lock(222, "host-b", None, StaleAfter::HeartbeatOnly) {
        Err(LedgerError::Locked(h)) => {
            assert_eq!((h.pid, h.host.as_str(), h.run_id), (111, "host-a", Some(7)));
            let text = LedgerError::Locked(h).to_string();
            assert!(text.contains("pid 111 on host-a"), "{text}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // Heartbeats keep it alive past the stale age.
    clock.advance(lock::STALE_AFTER_OTHER_HOST);
    assert!(ledger.heartbeat_lock(111, "host-a").unwrap());
    clock.advance(lock::STALE_AFTER_OTHER_HOST);
    assert!(matches!(
        ledger.acquire_lock(222, "host-b", None, StaleAfter::HeartbeatOnly),
        Err(LedgerError::Locked(_))
    ));
    // Silence beyond the stale age: taken over; the old holder learns it at its heartbeat.
    clock.advance(1);
    let b = ledger
        .acquire_lock(222, "host-b", None, StaleAfter::HeartbeatOnly)
        .unwrap();
    assert!(!ledger.heartbeat_lock(111, "host-a").unwrap());
    assert!(!a.heartbeat().unwrap());
    assert_eq!(ledger.lock_holder().unwrap().unwrap().pid, 222);
    // Release only by the holder.
    a.release().unwrap();
    drop(a_again);
    assert!(ledger.lock_holder().unwrap().is_some());
    b.release().unwrap();
    assert!(ledger.lock_holder().unwrap().is_none());
}

#[test]
fn lock_of_a_dead_process_on_this_host_is_taken_over_at_once() {
    let (_d, ledger, clock) = ledger();
    let (_, host) = lock::me();
    // A child that has exited leaves a pid no process holds.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let _dead = ledger
        .acquire_lock(dead, &host, None, StaleAfter::ProcessTable)
        .unwrap();
    let _me = ledger
        .acquire_lock(std::process::id(), &host, None, StaleAfter::ProcessTable)
        .unwrap();
    assert_eq!(
        ledger.lock_holder().unwrap().unwrap().pid,
        std::process::id()
    );
    // A live one is respected, however long it has been silent (observing a large fleet,
    // waiting for its operator's yes).
    clock.advance(10 * lock::STALE_AFTER_OTHER_HOST);
    assert!(matches!(
        ledger.acquire_lock(1, &host, None, StaleAfter::ProcessTable),
        Err(LedgerError::Locked(_))
    ));
}

#[test]
fn migrations_validate() {
    migrations().validate().unwrap();
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    drop(Ledger::open(&path, Arc::new(ManualClock::at(T0))).unwrap());
    let newer = schema_version() + 1;
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", newer as i64)
            .unwrap();
    }
    let err = Ledger::open(&path, Arc::new(ManualClock::at(T0))).unwrap_err();
    assert!(
        matches!(err, LedgerError::NewerSchema { found, .. } if found == newer),
        "{err}"
    );
    assert!(err.to_string().contains("newer firehose-sse"), "{err}");
    assert_eq!(err.exit(), Exit::Usage);
    let conn = Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, newer as i64);
}

#[test]
fn not_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(
        &garbage,
        b"this is not sqlite at all, just text that is long enough",
    )
    .unwrap();
    let err = Ledger::open(&garbage, Arc::new(ManualClock::at(T0))).unwrap_err();
    assert!(matches!(err, LedgerError::NotALedger { .. }), "{err}");

    let foreign = dir.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = Ledger::open(&foreign, Arc::new(ManualClock::at(T0))).unwrap_err();
    assert!(matches!(err, LedgerError::NotALedger { .. }), "{err}");
}

#[test]
fn created_private_with_wal_and_foreign_keys() {
    let (dir, ledger, _clock) = ledger();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("l.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mode: String = ledger
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = ledger
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    assert!(
        ledger.begin_attempt(9999, None, Op::Start, None).is_err(),
        "foreign key enforced"
    );
}

#[test]
fn open_existing_does_not_create() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.db");
    let err = Ledger::open_existing(&path, Arc::new(ManualClock::at(T0))).unwrap_err();
    assert!(matches!(err, LedgerError::Missing(_)));
    assert!(!path.exists());
}

#[test]
fn plans_round_trip() {
    use crate::input::Target;
    use crate::plan::{Action, Current, Item, Reason, Settings};
    let (_d, ledger, _clock) = ledger();
    let item = |seq: usize, action, reason, current: Option<Current>| Item {
        seq,
        target: Target {
            line: seq as u64 + 2,
            name: format!("s{seq}"),
            region: "us-east-1".into(),
            account: None,
            key: customer(KEY_K),
            expect: None,
        },
        stream: current.as_ref().map(|_| StreamId {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            name: format!("s{seq}"),
        }),
        action,
        reason,
        next_slot: (action == Action::Defer).then_some(T0 + DAY),
        current,
        budget_used: seq as u32,
        producers: None,
        owner: None,
    };
    let cur = Current {
        stream_status: StreamStatus::Active,
        status: EncStatus::Enabled,
        key: Some(customer(KEY_J)),
        source_arn: Some("arn:aws:kinesis:us-east-1:123456789012:stream/src".into()),
        // How its source is encrypted travels with the plan item, for its line in reports.
        source_encryption: Some(crate::model::SourceEncryption::Kms {
            key_id: "alias/aws/kinesis".into(),
        }),
        in_force_unknown: true,
    };
    let mut items = vec![
        item(0, Action::Rekey, None, Some(cur.clone())),
        item(1, Action::Skip, Some(Reason::NotFound), None),
        item(2, Action::Defer, Some(Reason::Budget), Some(cur)),
    ];
    // A stream's producers and their verdicts travel with its plan item.
    items[0].producers = Some(Box::new(crate::producers::StreamProducers {
        key: KEY_K.into(),
        producers: vec![crate::producers::Producer {
            principal: "arn:aws:iam::123456789012:role/orders-events".into(),
            kind: crate::producers::Kind::Role,
            described: "EventBridge target role".into(),
            verdict: crate::producers::Verdict::Denied {
                refused: vec![crate::producers::Refusal {
                    side: crate::producers::Side::KeyPolicy,
                    action: "kms:Decrypt".into(),
                }],
            },
        }],
        unread: None,
    }));
    // So does the code that owns it.
    items[2].owner = Some(Box::new(crate::iac::Owner::Terraform {
        address: "module.logs.aws_kinesis_firehose_delivery_stream.s2".into(),
        state: "prod.tfstate.json".into(),
        sse: Some(crate::iac::terraform::TfSse {
            enabled: true,
            key_type: "AWS_OWNED_CMK".into(),
            key_arn: None,
        }),
    }));
    let settings = Settings {
        reserve: 3,
        cmk_limit: 7,
        allow_producer_risk: true,
        ..Settings::default()
    };
    let id = ledger
        .save_plan("fleet.csv", &settings, T0 - 5, &items, 12_345)
        .unwrap();
    let saved = ledger.load_plan(id).unwrap().unwrap();
    // A loaded target knows the account its stream was observed in.
    let mut expected = items.clone();
    for item in &mut expected {
        item.target.account = item.account().map(Into::into);
    }
    assert_eq!(saved.items, expected);
    assert_eq!(saved.settings, settings);
    assert_eq!(
        (saved.observed_at, saved.estimated_ms, saved.fleet.as_str()),
        (T0 - 5, 12_345, "fleet.csv")
    );
    assert!(ledger.load_plan(id + 1).unwrap().is_none());
    // The plan's moves show in the key usage.
    let k = ledger.cmk_usage(KEY_K, Some(id)).unwrap();
    assert_eq!(k.onto, 1);
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_half_written() {
    let (_d, ledger, _clock) = ledger();
    let row = observe(&ledger, "s", EncStatus::Disabled, None);
    let first = ledger.begin_attempt(row, None, Op::Start, None).unwrap();
    // Simulate a full disk: SQLite may not grow the file by a single page more.
    let pages: i64 = ledger
        .conn()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    ledger
        .conn()
        .pragma_update(None, "max_page_count", pages)
        .unwrap();
    let mut err = None;
    for i in 0..10_000 {
        let obs = StreamObservation {
            id: sid(&format!("filler-{i:05}-{}", "x".repeat(40))),
            arn: format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/filler-{i}"),
            source: SourceType::DirectPut,
            source_arn: None,
            status: StreamStatus::Active,
            encryption: Encryption::disabled(),
        };
        if let Err(e) = ledger.record_stream(&obs, None) {
            err = Some(e);
            break;
        }
    }
    let err = err.expect("the ledger never filled up");
    let text = err.to_string();
    assert!(
        text.contains("disk is full") && text.contains("nothing was half-written"),
        "{text}"
    );
    assert_eq!(err.exit(), Exit::Runtime);
    // What was committed before is intact; the failed observation left no half row.
    assert_eq!(ledger.in_flight_attempts().unwrap()[0].id, first);
    let streams: i64 = ledger
        .conn()
        .query_row("SELECT COUNT(*) FROM streams", [], |r| r.get(0))
        .unwrap();
    let history: i64 = ledger
        .conn()
        .query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        streams, history,
        "every stream row has its observation row: no half-written pair"
    );
}

#[test]
fn an_apply_stopped_before_recording_its_streams_is_abandoned_not_resumed() {
    use crate::input::Target;
    use crate::plan::Settings;
    let (_d, ledger, _clock) = ledger();
    let settings = Settings::default();
    // Killed (the runs stay open) while describing keys: no plan, no items.
    let keys = ledger
        .start_run(RunKind::Apply, None, &no_args())
        .unwrap()
        .detach();
    // Stopped at the confirmation prompt: a plan, no items.
    let prompt = ledger
        .start_run(RunKind::Apply, None, &no_args())
        .unwrap()
        .detach();
    let plan = ledger.create_plan("fleet.csv", &settings, T0, 0).unwrap();
    ledger.set_run_plan(prompt, plan).unwrap();
    // Stopped while streaming: its streams are recorded, so it resumes.
    let streaming = ledger
        .start_run(RunKind::Apply, None, &no_args())
        .unwrap()
        .detach();
    ledger.set_run_plan(streaming, plan).unwrap();
    let target = Target {
        line: 2,
        name: "orders".into(),
        region: "us-east-1".into(),
        account: None,
        key: KeyChoice::AwsOwned,
        expect: None,
    };
    ledger
        .insert_run_targets(streaming, [(0, &target)])
        .unwrap();

    assert_eq!(ledger.abandon_planless_runs().unwrap(), 2);
    let outcome = |id| {
        ledger
            .run(id)
            .unwrap()
            .unwrap()
            .outcome
            .map(|o| o.to_string())
    };
    assert_eq!(outcome(keys).as_deref(), Some("abandoned"));
    assert_eq!(outcome(prompt).as_deref(), Some("abandoned"));
    assert_eq!(outcome(streaming), None);
    assert_eq!(
        ledger.unfinished_apply(None).unwrap().unwrap().id,
        streaming
    );
}

#[test]
fn lock_released_when_its_guard_is_dropped_on_an_error_path() {
    let (_d, ledger, _clock) = ledger();
    let (pid, host) = lock::me();
    let locked_then_failed = || -> Result<()> {
        let guard = ledger.acquire_lock(pid, &host, None, StaleAfter::HeartbeatOnly)?;
        guard.set_run(9)?;
        assert_eq!(ledger.lock_holder()?.unwrap().run_id, Some(9));
        assert_eq!(guard.owner(), (pid, host.as_str()));
        assert!(guard.heartbeat()?);
        Err(LedgerError::Missing("an early return".into()))
    };
    assert!(locked_then_failed().is_err());
    assert_eq!(ledger.lock_holder().unwrap(), None, "the lock row is gone");
    // Another process takes it at once.
    let other = ledger
        .acquire_lock(pid + 1, "elsewhere", None, StaleAfter::HeartbeatOnly)
        .unwrap();
    assert_eq!(ledger.lock_holder().unwrap().unwrap().pid, pid + 1);
    drop(other);
    assert_eq!(ledger.lock_holder().unwrap(), None);
}

#[test]
fn a_run_dropped_without_finish_is_recorded_as_ended_in_error() {
    let (_d, ledger, clock) = ledger();
    let run_row = |id| ledger.run(id).unwrap().unwrap();
    let mut started = None;
    let planned_then_failed = |started: &mut Option<i64>| -> Result<()> {
        let run = ledger.start_run(RunKind::Plan, None, &no_args())?;
        *started = Some(run.id());
        Err(LedgerError::Missing("an early return".into()))?;
        run.finish(RunOutcome::Planned)
    };
    clock.advance(SECOND);
    assert!(planned_then_failed(&mut started).is_err());
    let failed = run_row(started.unwrap());
    assert_eq!(
        failed.outcome.as_ref().map(RunOutcome::as_str),
        Some("error")
    );
    assert_eq!(failed.ended_at, Some(T0 + SECOND));

    let run = ledger.start_run(RunKind::Plan, None, &no_args()).unwrap();
    let id = run.id();
    assert_eq!(run_row(id).outcome, None, "open while it runs");
    run.finish(RunOutcome::Planned).unwrap();
    assert_eq!(
        run_row(id).outcome.as_ref().map(RunOutcome::as_str),
        Some("planned")
    );

    // Detached, a run stays open for the caller (or `resume`) to end.
    let id = ledger
        .start_run(RunKind::Apply, None, &no_args())
        .unwrap()
        .detach();
    assert_eq!(run_row(id).outcome, None);
    assert_eq!(run_row(id).ended_at, None);
}

#[test]
fn a_stream_first_seen_after_a_failure_has_an_unknown_key_in_force_counted_where_it_might_be() {
    let (_dir, ledger, _clock) = ledger();
    // First seen ENABLING_FAILED towards J: which key protects it is not known.
    observe(
        &ledger,
        "f",
        EncStatus::EnablingFailed,
        Some(customer(KEY_J)),
    );
    let state = ledger.stream_state(&sid("f")).unwrap().unwrap();
    assert!(state.in_force_unknown);
    assert_eq!(state.in_force, None);
    assert_eq!(ledger.key_counts_now().unwrap().get(KEY_J), Some(&1));
    // First seen DISABLING: the same.
    observe(&ledger, "d", EncStatus::Disabling, Some(customer(KEY_J)));
    assert_eq!(ledger.key_counts_now().unwrap().get(KEY_J), Some(&2));
    // ENABLED with another key settles it, and it no longer counts under J.
    observe(&ledger, "f", EncStatus::Enabled, Some(KeyChoice::AwsOwned));
    let state = ledger.stream_state(&sid("f")).unwrap().unwrap();
    assert!(!state.in_force_unknown);
    assert_eq!(state.in_force, Some(KeyChoice::AwsOwned));
    assert_eq!(ledger.key_counts_now().unwrap().get(KEY_J), Some(&1));
    // A failed rekey of a stream the ledger knew keeps its known key in force.
    observe(&ledger, "k", EncStatus::Enabled, Some(KeyChoice::AwsOwned));
    observe(
        &ledger,
        "k",
        EncStatus::EnablingFailed,
        Some(customer(KEY_J)),
    );
    let state = ledger.stream_state(&sid("k")).unwrap().unwrap();
    assert!(!state.in_force_unknown);
    assert_eq!(state.in_force, Some(KeyChoice::AwsOwned));
}

#[test]
fn a_ledger_of_the_first_schema_is_brought_to_the_latest_with_every_row_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    ledger_of_the_first_schema(
        &path,
        "PRAGMA foreign_keys = ON;
             INSERT INTO plans (id, created_at, observed_at, fleet, settings, estimated_ms)
                 VALUES (1, 1, 1, 'f.csv', '{}', 0);
             INSERT INTO runs (id, kind, plan_id, started_at, args, pid, host)
                 VALUES (1, 'plan', 1, 1, '{}', 1, 'h'), (2, 'apply', 1, 2, '{}', 1, 'h');
             INSERT INTO streams (id, account, region, name, arn, source_type, status,
                                  enc_status, observed_at)
                 VALUES (1, '123456789012', 'us-east-1', 's', 'arn', 'DirectPut', 'ACTIVE',
                         'DISABLED', 1);
             INSERT INTO run_items (run_id, seq, line, region, name, target_type, phase,
                                    updated_at)
                 VALUES (2, 0, 2, 'us-east-1', 's', 'AWS_OWNED_CMK', 'done', 2);
             INSERT INTO attempts (stream_id, run_id, op, sent_at, state)
                 VALUES (1, 2, 'start', 2, 'ok');",
    );
    let ledger = Ledger::open(&path, Arc::new(ManualClock::at(10))).unwrap();
    let runs = ledger.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(ledger.run_items(2).unwrap().len(), 1);
    let broken: Vec<String> = ledger
        .conn()
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    // And a rollback run may now be recorded.
    let run = ledger
        .start_run(
            RunKind::Rollback,
            None,
            &RunArgs::Rollback {
                rollback_of: 2,
                dry_run: false,
                reserve: 1,
                cmk_limit: 500,
                place: serde_json::Value::Null,
                waves: None,
            },
        )
        .unwrap();
    assert_eq!(
        ledger.run(run.id()).unwrap().unwrap().rollback_of(),
        Some(2)
    );
    run.finish(RunOutcome::Converged).unwrap();
}

#[test]
fn a_migration_that_would_leave_a_broken_reference_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // Written by hand with foreign keys off: an item of a run that does not exist.
    ledger_of_the_first_schema(
        &path,
        "PRAGMA foreign_keys = OFF;
             INSERT INTO run_items (run_id, seq, line, region, name, target_type, phase,
                                    updated_at)
                 VALUES (7, 0, 2, 'us-east-1', 's', 'AWS_OWNED_CMK', 'done', 2);",
    );
    let err = Ledger::open(&path, Arc::new(ManualClock::at(10))).unwrap_err();
    assert!(
        matches!(err, LedgerError::Migrate { .. }),
        "expected a migration error, got {err:?}"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version < schema_version() as i64, "version {version}");
}

/// A ledger file of the first schema (user_version 1) at `path`, with the rows `sql` inserts.
fn ledger_of_the_first_schema(path: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(include_str!("../../migrations/0001_initial.sql"))
        .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Arguments a test does not look at.
fn no_args() -> RunArgs {
    RunArgs::Unknown(serde_json::json!({}))
}

/// A `runs` row as the commands wrote it before run records were typed: kind, outcome and
/// arguments as plain text.
fn insert_run_as_written(ledger: &Ledger, kind: &str, outcome: Option<&str>, args: &str) -> i64 {
    ledger
        .conn()
        .execute(
            "INSERT INTO runs (kind, started_at, ended_at, outcome, args, pid, host)
             VALUES (?1, ?2, ?2, ?3, ?4, 1, 'h')",
            rusqlite::params![kind, T0, outcome, args],
        )
        .unwrap();
    ledger.conn().last_insert_rowid()
}

#[test]
fn run_rows_written_before_run_records_were_typed_read_back_typed() {
    let (_d, ledger, _clock) = ledger();
    let place =
        serde_json::json!({"endpoint": "https://firehose.example", "account": "123456789012"});
    let apply = serde_json::json!({
        "command": "apply", "fleet": "/x/fleet.csv", "plan": null, "shard": null,
        "reserve": 1, "cmk_limit": 500, "place": place,
    });
    let apply = insert_run_as_written(&ledger, "apply", Some("interrupted"), &apply.to_string());
    let rollback = serde_json::json!({
        "command": "rollback", "rollback_of": apply, "dry_run": false, "reserve": 1,
        "cmk_limit": 500, "place": place,
    });
    let rollback = insert_run_as_written(
        &ledger,
        "rollback",
        Some("converged"),
        &rollback.to_string(),
    );
    // A plan run of a version that recorded no shard, and one that recorded no place.
    let plan = serde_json::json!({"command": "plan", "fleet": "/x/fleet.csv", "place": place});
    let plan = insert_run_as_written(&ledger, "plan", Some("planned"), &plan.to_string());
    let placeless = serde_json::json!({"command": "plan", "fleet": "/x/fleet.csv"});
    let placeless = insert_run_as_written(&ledger, "plan", None, &placeless.to_string());

    let run = |id| ledger.run(id).unwrap().unwrap();
    let (apply, rollback, plan, placeless) = (run(apply), run(rollback), run(plan), run(placeless));
    assert_eq!(
        (apply.kind.clone(), apply.outcome.clone()),
        (RunKind::Apply, Some(RunOutcome::Interrupted))
    );
    assert!(apply.carries_out() && apply.unfinished());
    assert_eq!(
        apply.arguments(),
        RunArgs::Apply {
            fleet: Some("/x/fleet.csv".into()),
            plan: None,
            shard: None,
            reserve: 1,
            cmk_limit: 500,
            place: place.clone(),
            waves: None,
            reviewed: None,
        }
    );
    assert_eq!(
        (rollback.kind.clone(), rollback.outcome.clone()),
        (RunKind::Rollback, Some(RunOutcome::Converged))
    );
    assert_eq!(rollback.rollback_of(), Some(apply.id));
    assert_eq!(rollback.arguments().place(), Some(&place));
    assert_eq!(
        plan.arguments(),
        RunArgs::Plan {
            fleet: "/x/fleet.csv".into(),
            place: place.clone(),
            shard: None,
            out: None,
        }
    );
    assert_eq!(
        (plan.kind.clone(), plan.outcome),
        (RunKind::Plan, Some(RunOutcome::Planned))
    );
    assert_eq!(placeless.arguments().place(), None);
    assert_eq!(
        ledger.unfinished_apply(None).unwrap().map(|r| r.id),
        Some(apply.id)
    );
}

#[test]
fn run_records_are_written_as_the_commands_always_wrote_them() {
    let (_d, ledger, _clock) = ledger();
    let place = serde_json::json!({"endpoint": "the AWS endpoints", "account": null});
    let encryption = |no_wait| EncryptionArgs {
        fleet: "start-delivery-stream-encryption us-east-1/s".into(),
        stream: "s".into(),
        region: "us-east-1".into(),
        reserve: 1,
        cmk_limit: 500,
        no_wait,
        place: place.clone(),
    };
    // Each as the json! literal its command used to write, member for member and in order.
    let cases = [
        (
            RunArgs::Plan {
                fleet: "/x/f.csv".into(),
                place: place.clone(),
                shard: Some("1/2".into()),
                out: None,
            },
            serde_json::json!({"command": "plan", "fleet": "/x/f.csv", "place": place, "shard": "1/2"}),
        ),
        (
            RunArgs::Apply {
                fleet: None,
                plan: Some(3),
                shard: None,
                reserve: 2,
                cmk_limit: 400,
                place: place.clone(),
                waves: None,
                reviewed: None,
            },
            serde_json::json!({
                "command": "apply", "fleet": null, "plan": 3, "shard": null, "reserve": 2,
                "cmk_limit": 400, "place": place,
            }),
        ),
        (
            RunArgs::Rollback {
                rollback_of: 4,
                dry_run: true,
                reserve: 1,
                cmk_limit: 500,
                place: place.clone(),
                waves: None,
            },
            serde_json::json!({
                "command": "rollback", "rollback_of": 4, "dry_run": true, "reserve": 1,
                "cmk_limit": 500, "place": place,
            }),
        ),
        (
            RunArgs::StartEncryption(encryption(true)),
            serde_json::json!({
                "command": "start-delivery-stream-encryption",
                "fleet": "start-delivery-stream-encryption us-east-1/s", "stream": "s",
                "region": "us-east-1", "reserve": 1, "cmk_limit": 500, "no_wait": true,
                "place": place,
            }),
        ),
        (
            RunArgs::StopEncryption(encryption(false)),
            serde_json::json!({
                "command": "stop-delivery-stream-encryption",
                "fleet": "start-delivery-stream-encryption us-east-1/s", "stream": "s",
                "region": "us-east-1", "reserve": 1, "cmk_limit": 500, "no_wait": false,
                "place": place,
            }),
        ),
    ];
    for (args, then) in cases {
        let run = ledger.start_run(RunKind::Apply, None, &args).unwrap();
        let row = ledger.run(run.id()).unwrap().unwrap();
        assert_eq!(row.args, then.to_string());
        assert_eq!(row.arguments(), args);
        run.finish(RunOutcome::Converged).unwrap();
        let stored: String = ledger
            .conn()
            .query_row(
                "SELECT kind || ' ' || outcome FROM runs WHERE id = ?1",
                [row.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, "apply converged");
    }
}

#[test]
fn an_outcome_or_arguments_a_later_version_wrote_are_kept_as_written() {
    let (_d, ledger, _clock) = ledger();
    let args = r#"{"command":"wave","wave":2,"place":{"endpoint":"x"}}"#;
    let id = insert_run_as_written(&ledger, "apply", Some("paused"), args);
    let row = ledger.run(id).unwrap().unwrap();
    assert_eq!(row.outcome, Some(RunOutcome::Other("paused".into())));
    assert_eq!(row.outcome.as_ref().map(RunOutcome::as_str), Some("paused"));
    assert_eq!(serde_json::to_value(&row.outcome).unwrap(), "paused");
    assert!(
        !row.unfinished(),
        "ended, in a way this version does not know"
    );
    let parsed: serde_json::Value = serde_json::from_str(args).unwrap();
    assert_eq!(row.arguments(), RunArgs::Unknown(parsed));
    assert_eq!(
        row.arguments().place(),
        Some(&serde_json::json!({"endpoint": "x"}))
    );
    assert_eq!(row.args, args, "shown as written");
    // Arguments that are not even JSON read as unknown too.
    assert_eq!(
        RunArgs::read("not json"),
        RunArgs::Unknown(serde_json::Value::Null)
    );
    // The schema admits no other kind today; a later one's reads as written all the same.
    for kind in ["plan", "apply", "rollback", "wave"] {
        let read = RunKind::from(kind.to_owned());
        assert_eq!((read.as_str(), read.to_string()), (kind, kind.to_owned()));
        assert_eq!(read.carries_out(), matches!(kind, "apply" | "rollback"));
    }
    assert_eq!(
        RunKind::from("wave".to_owned()),
        RunKind::Other("wave".into())
    );
    for outcome in [
        "planned",
        "converged",
        "failed",
        "deferred",
        "skipped",
        "interrupted",
        "cancelled",
        "abandoned",
        "error",
        "halted",
    ] {
        let read = RunOutcome::from(outcome.to_owned());
        assert!(!matches!(read, RunOutcome::Other(_)), "{outcome}");
        assert_eq!(read.as_str(), outcome);
    }
}
