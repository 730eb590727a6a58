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
    away.track = Track::new(
        0,
        2,
        REGION.into(),
        stream_name(0).into(),
        Some(ACCOUNT.into()),
        KeyChoice::AwsOwned,
        Action::Rekey,
        Phase::Pending,
        0,
        Notes {
            old_key: Some(key(K1)),
            ..Notes::default()
        },
    );
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
    let refusal = CallError::LimitExceeded("key is used by the maximum number of streams".into());
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

#[test]
fn a_key_refusal_right_after_a_rekey_freed_a_slot_is_tried_once_more() {
    let mut run = with_cmk_limit(1, HashMap::from([(K1.to_owned(), 1)]));
    let mut away = item(0, KeyChoice::AwsOwned);
    away.track.notes_mut().old_key = Some(key(K1));
    run.add(vec![away, item(1, key(K1)), item(2, key(K1))]);
    run.start_ok(0);
    run.wake();
    run.described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    assert_eq!(starts(&run.fx), [1], "the freed slot goes to the next");
    run.send(1);
    // The old grant is only scheduled for retirement: the service still counts it.
    let refusal = || CallError::LimitExceeded("key limit exceeded".into());
    let fx = run.answer(1, Err(refusal())).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.phase(1), Phase::Pending);
    assert_eq!(run.st.poll_timeout(), Some(run.now + 30 * SECOND));
    assert_eq!(starts(run.wake()), [1], "tried once more, later");
    run.send(1);
    run.answer(1, Err(refusal()));
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Failed, Some(Why::CMK_LIMIT))
    );
    assert_eq!(run.phase(2), Phase::Skipped, "the key is full for the run");
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
