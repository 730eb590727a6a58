//! The gates in the engine: budget above the reserve, room under the key's limit.

use super::*;
use crate::clock::DAY;
use crate::limits::KeyChange;
use crate::limits::budget;
use crate::plan::Settings;

fn calls_today(n: usize) -> SendLog {
    let times: Vec<EpochMillis> = (0..n as i64).map(|i| T0 - DAY + 60_000 * (i + 1)).collect();
    SendLog::of(&times)
}

#[test]
fn a_stream_out_of_budget_is_deferred_with_its_next_slot_and_never_started() {
    let mut run = Run::new(config());
    let mut new = item(0, KeyChoice::AwsOwned);
    new.sends = calls_today(24); // 25 allowed, 1 kept in reserve
    let fx = run.add(vec![new]).to_vec();
    assert!(starts(&fx).is_empty());
    let (_, update) = &updates(&fx)[0];
    assert_eq!(update.phase, Some(Phase::Deferred));
    assert_eq!(update.reason, Some(Why::BUDGET));
    // 24 counted, 24 allowed: the oldest call leaving the window frees the next slot, once the
    // margin past the window's edge has passed too.
    assert_eq!(update.next_slot, Some(T0 + 60_000 + budget::MARGIN));
}

#[test]
fn a_stream_whose_slot_frees_within_max_wait_waits_for_it() {
    let mut run = Run::new(Config {
        max_wait: Duration::from_secs(600),
        ..config()
    });
    let mut new = item(0, KeyChoice::AwsOwned);
    new.sends = calls_today(24);
    let fx = run.add(vec![new]).to_vec();
    assert!(starts(&fx).is_empty() && updates(&fx).is_empty());
    let slot = T0 + 60_000 + budget::MARGIN;
    assert_eq!(run.st.poll_timeout(), Some(slot + 1));
    assert_eq!(starts(run.wake()), [0]);
}

#[test]
fn the_reserve_is_never_spent() {
    let mut run = Run::new(Config {
        settings: Settings {
            reserve: 3,
            ..Settings::default()
        },
        ..config()
    });
    let mut new = item(0, KeyChoice::AwsOwned);
    new.sends = calls_today(22);
    run.add(vec![new]);
    assert_eq!(run.phase(0), Phase::Deferred);
}

#[test]
fn a_full_key_skips_its_streams_without_a_call() {
    let mut run = with_cmk_limit(2, HashMap::from([(K1.to_owned(), 1)]));
    let fx = run
        .add(vec![item(0, key(K1)), item(1, key(K1)), item(2, key(K2))])
        .to_vec();
    assert_eq!(starts(&fx), [0, 2]);
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Skipped, Some(Why::CMK_LIMIT))
    );
    assert_eq!(run.st.keys.count(K1), 2);
}

#[test]
fn a_stream_already_counted_under_its_key_takes_no_new_slot() {
    let mut run = with_cmk_limit(1, HashMap::from([(K1.to_owned(), 1)]));
    let mut new = item(0, key(K1));
    new.holds_slot = true; // it is the stream the count includes (ENABLING to K1)
    assert_eq!(starts(run.add(vec![new])), [0]);
    assert_eq!(run.st.keys.count(K1), 1);
}

#[test]
fn a_full_key_waits_for_a_rekey_away_from_it_to_finish() {
    let mut run = with_cmk_limit(1, HashMap::from([(K1.to_owned(), 1)]));
    // Item 0 moves its stream from K1 to the AWS-owned key; item 1 wants K1.
    let mut away = item(0, KeyChoice::AwsOwned);
    away.track = Track::new(TrackParts {
        seq: 0,
        line: 2,
        region: REGION.into(),
        name: stream_name(0).into(),
        account: Some(ACCOUNT.into()),
        target: KeyChoice::AwsOwned,
        action: Action::Rekey,
        phase: Phase::Pending,
        starts: 0,
        notes: Notes {
            old_key: Some(key(K1)),
            ..Notes::default()
        },
    });
    let fx = run.add(vec![away, item(1, key(K1))]).to_vec();
    assert_eq!(starts(&fx), [0], "item 1 waits for room");
    assert_eq!(run.phase(1), Phase::Pending);
    run.start_ok(0);
    run.wake();
    let fx = run
        .described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)))
        .to_vec();
    assert_eq!(starts(&fx), [1], "the slot K1 freed goes to the waiter");
    assert_eq!(run.st.keys.count(K1), 1);
}

#[test]
fn waiters_of_a_key_nobody_can_free_any_more_are_skipped() {
    let mut run = with_cmk_limit(1, HashMap::from([(K1.to_owned(), 1)]));
    let mut away = item(0, KeyChoice::AwsOwned);
    away.track.notes_mut().old_key = Some(key(K1));
    run.add(vec![away, item(1, key(K1))]);
    run.send(0);
    // The rekey away from K1 is refused for good: K1 stays full.
    run.answer(
        0,
        Err(CallError::Invalid {
            code: "InvalidArgumentException".into(),
            message: "no".into(),
        }),
    );
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Skipped, Some(Why::CMK_LIMIT))
    );
}

#[test]
fn a_full_keys_waiter_waits_while_any_rekey_away_from_the_key_is_open() {
    let mut run = with_cmk_limit(2, HashMap::from([(K1.to_owned(), 2)]));
    // Items 0 and 1 move their streams from K1 to K2; item 2 moves one from K1 to K1 (it
    // frees nothing); item 3 wants K1.
    let away = |seq, target| {
        let mut it = item(seq, target);
        it.track.notes_mut().old_key = Some(key(K1));
        it
    };
    let items = vec![
        away(0, key(K2)),
        away(1, key(K2)),
        away(2, key(K1)),
        item(3, key(K1)),
    ];
    run.add(items);
    assert_eq!(run.st.leaving.get(K1), Some(&2));
    assert_eq!(run.phase(3), Phase::Pending, "item 3 waits for room");
    let refused = || CallError::Invalid {
        code: "InvalidArgumentException".into(),
        message: "no".into(),
    };
    run.send(0);
    run.answer(0, Err(refused()));
    assert_eq!(run.phase(0), Phase::Failed);
    assert_eq!(run.st.leaving.get(K1), Some(&1));
    assert_eq!(run.phase(3), Phase::Pending, "item 1 may still free a slot");
    run.send(1);
    run.answer(1, Err(refused()));
    assert_eq!(run.st.leaving.get(K1), Some(&0));
    assert_eq!(
        (run.phase(3), run.reason(3)),
        (Phase::Skipped, Some(Why::CMK_LIMIT)),
        "nobody can free K1 any more"
    );
}

#[test]
fn streams_the_survey_finds_on_a_key_count_before_later_starts() {
    let settings = Settings {
        cmk_limit: 1,
        ..Settings::default()
    };
    let mut run = Run::new(Config {
        settings,
        ..config()
    });
    run.st.expect_observations(0);
    run.add(vec![]);
    let fx = run
        .event(Event::Observed {
            throttles: 0,
            keys: vec![KeyChange {
                key_arn: K1.into(),
                uses: true,
            }],
            items: vec![item(0, key(K1))],
        })
        .to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.reason(0), Some(Why::CMK_LIMIT));
}

#[test]
fn a_key_the_service_says_is_full_gets_no_other_start() {
    // Our counts say there is room (streams outside the fleet filled the key): the service
    // refuses the first Start, and that is the only one it sees.
    let mut run = Run::new(Config {
        concurrency: 8,
        ..config()
    });
    let fx = run.add((0..6).map(|i| item(i, key(K1))).collect()).to_vec();
    assert_eq!(starts(&fx).len(), 6, "all dispatched, waiting for tokens");
    run.send(0);
    let refusal = CallError::LimitExceeded("the CMK encrypts the most streams it may".into());
    let fx = run.answer(0, Err(refusal)).to_vec();
    assert!(!notes(&fx).is_empty(), "the operator is told");
    assert_eq!(run.reason(0), Some(Why::CMK_LIMIT));
    // The others get their tokens later: none of them is sent.
    for i in 1..6 {
        let fx = run.event(Event::StartSending { item: i }).to_vec();
        assert!(!fx.iter().any(|e| matches!(e, Effect::BeginAttempt { .. })));
        assert_eq!(
            (run.phase(i), run.reason(i)),
            (Phase::Skipped, Some(Why::CMK_LIMIT))
        );
    }
    // And one added later never passes the gate.
    let fx = run.add(vec![item(6, key(K1))]).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.phase(6), Phase::Skipped);
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(outcome.calls[&crate::model::Operation::Start], 1);
}

/// A run on a key of one slot, held by item 0's stream, which item 0 moves to the AWS-owned
/// key; items 1 and 2 want the key. Item 0's rekey is done at the returned time, and item 1 is
/// sent the slot it freed.
fn rekey_frees_a_slot(config: Config) -> (Run, EpochMillis) {
    let settings = Settings {
        cmk_limit: 1,
        ..config.settings
    };
    let mut run = Run::with_keys(
        Config { settings, ..config },
        HashMap::from([(K1.to_owned(), 1)]),
    );
    let mut away = item(0, KeyChoice::AwsOwned);
    away.track.notes_mut().old_key = Some(key(K1));
    run.add(vec![away, item(1, key(K1)), item(2, key(K1))]);
    run.start_ok(0);
    run.wake();
    run.described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    let freed = run.now;
    assert_eq!(starts(&run.fx), [1], "the freed slot goes to the next");
    (run, freed)
}

/// The service's refusal for the key's limit.
fn key_full() -> CallError {
    CallError::LimitExceeded("You can use a CMK to encrypt up to 500 Firehose streams.".into())
}

#[test]
fn a_key_refusal_soon_after_a_rekey_freed_a_slot_defers_past_the_grants_retirement() {
    let (mut run, freed) = rekey_frees_a_slot(config()); // --max-wait 0
    run.wait(45 * SECOND);
    run.send(1);
    // The old grant is only scheduled for retirement: the service still counts it.
    let fx = run.answer(1, Err(key_full())).to_vec();
    assert!(starts(&fx).is_empty());
    let wait = GRANT_RETIREMENT_WAIT.as_millis() as EpochMillis;
    assert_eq!(
        wait,
        20 * 60 * SECOND,
        "900 s of buffer, then 5 min for KMS"
    );
    let (_, update) = updates(&fx)
        .into_iter()
        .find(|(i, _)| *i == 1)
        .expect("item 1 recorded");
    assert_eq!(
        (update.phase, update.reason, update.next_slot),
        (
            Some(Phase::Deferred),
            Some(Why::GrantRetiring),
            Some(freed + wait)
        ),
        "tried again 20 min after the rekey that freed the slot, not 30 s after the refusal"
    );
    assert!(!run.st.keys.is_full(K1), "not full for the run");
    assert!(notes(&fx).is_empty(), "no key-full notice");
    // A stream to the same key decided meanwhile: no Start goes to it before the grant can be
    // retired.
    run.add(vec![item(3, key(K1))]);
    assert_eq!(
        (run.phase(3), run.reason(3)),
        (Phase::Deferred, Some(Why::GrantRetiring))
    );
    assert_eq!(run.st.track(3).starts, 0);
    assert_eq!(
        run.st.track(3).notes().and_then(|n| n.next_slot),
        Some(freed + wait)
    );
}

#[test]
fn within_max_wait_the_refused_start_waits_for_the_grant_then_a_second_refusal_fills_the_key() {
    let (mut run, freed) = rekey_frees_a_slot(Config {
        max_wait: Duration::from_secs(3600),
        retirement_wait: Duration::from_secs(1500),
        ..config()
    });
    run.wait(10 * SECOND);
    run.send(1);
    run.answer(1, Err(key_full()));
    assert_eq!(run.phase(1), Phase::Pending);
    assert_eq!(
        run.st.poll_timeout(),
        Some(freed + 1_500 * SECOND),
        "the configured wait, from the rekey"
    );
    let fx = run.wake().to_vec();
    assert_eq!(starts(&fx), [1], "tried again once the wait has passed");
    run.send(1);
    run.answer(1, Err(key_full()));
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Failed, Some(Why::CMK_LIMIT))
    );
    assert!(run.st.keys.is_full(K1));
    assert_eq!(run.phase(2), Phase::Skipped, "the key is full for the run");
}

#[test]
fn a_key_refusal_long_after_a_rekey_freed_a_slot_fills_the_key() {
    let (mut run, _) = rekey_frees_a_slot(config());
    run.wait(GRANT_RETIREMENT_WAIT.as_millis() as EpochMillis);
    run.send(1);
    run.answer(1, Err(key_full()));
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Failed, Some(Why::CMK_LIMIT))
    );
    assert!(run.st.keys.is_full(K1));
}

/// A run whose keys may each protect `limit` streams, `counts` protected already.
fn with_cmk_limit(limit: u32, counts: HashMap<String, u32>) -> Run {
    let settings = Settings {
        cmk_limit: limit,
        ..Settings::default()
    };
    Run::with_keys(
        Config {
            settings,
            ..config()
        },
        counts,
    )
}
