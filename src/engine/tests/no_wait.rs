//! `Config::no_wait` (`--no-wait`): a stream is no longer followed once its call is accepted,
//! as the AWS CLI returns then; it is left in its transition for `resume` to follow.

use super::*;

fn no_wait() -> Config {
    Config {
        no_wait: true,
        concurrency: 1,
        ..config()
    }
}

#[test]
fn an_accepted_call_leaves_its_stream_in_its_transition_and_the_run_goes_on_without_it() {
    let mut run = Run::new(no_wait());
    run.add(vec![item(0, key(K1)), item(1, KeyChoice::AwsOwned)]);
    run.send(0);
    let fx = run.answer(0, Ok(())).to_vec();
    assert_eq!(
        updates(&fx)[0].1.phase,
        Some(Phase::Polling),
        "recorded in its transition, for resume to follow"
    );
    assert!(describes(&fx).is_empty(), "not polled");
    assert_eq!(starts(&fx), [1], "the next stream's Start goes on");
    assert_eq!(run.st.keys.count(K1), 1, "it counts under its key");
    assert!(!run.st.is_finished());
    run.send(1);
    let fx = run.answer(1, Ok(())).to_vec();
    assert!(describes(&fx).is_empty());
    assert_eq!(run.st.poll_timeout(), None, "no timer: nothing to wait for");
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(outcome.left_in_transition, 2);
    assert_eq!(outcome.count(Phase::Polling), 2);
    assert!(!outcome.interrupted && outcome.aborted.is_none());
}

#[test]
fn only_an_accepted_call_ends_the_following() {
    let mut run = Run::new(no_wait());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    // Throttled: sent again.
    let fx = run
        .answer(0, Err(CallError::Throttled("Rate exceeded".into())))
        .to_vec();
    assert_eq!(starts(&fx), [0]);
    run.send(0);
    // No answer: reconciled with a Describe, which finds it moving there — followed to the end.
    run.answer(0, Err(CallError::Unknown("connection reset".into())));
    assert_eq!(describes(run.wake()), [(0, false)]);
    run.described(0, seen(0, EncStatus::Enabling, Some(KeyChoice::AwsOwned)));
    assert_eq!(run.phase(0), Phase::Polling);
    assert!(
        !run.st.is_finished(),
        "a transition it did not see accepted is followed"
    );
    assert_eq!(describes(run.wake()), [(0, false)]);
    run.described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(
        (outcome.count(Phase::Done), outcome.left_in_transition),
        (1, 0)
    );
}

#[test]
fn a_waiter_for_the_slot_a_stream_left_in_its_transition_would_free_is_not_held_forever() {
    let settings = crate::plan::Settings {
        cmk_limit: 1,
        ..crate::plan::Settings::default()
    };
    let mut run = Run::with_keys(
        Config {
            settings,
            ..no_wait()
        },
        HashMap::from([(K1.to_owned(), 1)]),
    );
    // Item 0 moves its stream from K1 to the AWS-owned key; item 1 wants K1.
    let mut away = item(0, KeyChoice::AwsOwned);
    away.track.notes_mut().old_key = Some(key(K1));
    let fx = run.add(vec![away, item(1, key(K1))]).to_vec();
    assert_eq!(starts(&fx), [0], "item 1 waits for room");
    run.start_ok(0);
    // The engine will never see K1's slot freed: item 1 goes through the gate, and ends there.
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Skipped, Some(Why::CMK_LIMIT))
    );
    assert!(run.st.is_finished());
    assert_eq!(run.st.into_outcome(run.now).left_in_transition, 1);
}
