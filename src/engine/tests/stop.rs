//! Encryption off as a target: the engine Stops, polls to DISABLED, frees the old key's slot.

use super::*;
use crate::model::Operation;

fn off(seq: usize, was: KeyChoice) -> NewItem {
    let mut new = item(seq, KeyChoice::Off);
    new.track.action = Action::Disable;
    new.track.notes_mut().old_key = Some(was);
    new
}

#[test]
fn a_stream_asked_off_is_stopped_polled_to_disabled_and_frees_its_key() {
    let mut run = Run::with_keys(config(), HashMap::from([(K1.to_owned(), 1)]));
    let fx = run.add(vec![off(0, key(K1))]).to_vec();
    assert_eq!(starts(&fx), [0], "the call is sent (a Stop)");
    assert_eq!(run.st.track(0).operation(), Operation::Stop);
    run.send(0);
    let fx = run.answer(0, Ok(())).to_vec();
    assert!(fx.contains(&Effect::Paced {
        item: 0,
        op: Operation::Stop,
        throttled: false
    }));
    run.st.expect_observations(0); // no early polls in the way
    run.wake();
    run.described(0, seen(0, EncStatus::Disabling, Some(key(K1))));
    assert_eq!(run.phase(0), Phase::Polling);
    assert_eq!(
        run.st.keys.count(K1),
        1,
        "the slot frees only once DISABLED"
    );
    run.wake();
    run.described(0, seen(0, EncStatus::Disabled, None));
    assert_eq!(run.phase(0), Phase::Done);
    assert_eq!(run.st.keys.count(K1), 0);
    assert!(
        run.st.freed_at.contains_key(K1),
        "its grant only scheduled for retirement"
    );
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(outcome.calls[&Operation::Stop], 1);
    assert!(!outcome.calls.contains_key(&Operation::Start));
}

#[test]
fn a_stop_refused_for_the_limit_is_a_budget_matter_never_a_key_one() {
    let mut run = Run::new(config());
    run.add(vec![off(0, key(K1))]);
    run.send(0);
    run.answer(
        0,
        Err(CallError::LimitExceeded("key limit exceeded".into())),
    );
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Deferred, Some(Why::BUDGET))
    );
    assert!(!run.st.keys.is_full(K1));
}

#[test]
fn a_failed_stop_is_classified_like_any_failure() {
    let mut run = Run::new(config());
    run.add(vec![off(0, key(K1))]);
    run.start_ok(0);
    run.wake();
    let mut obs = seen(0, EncStatus::DisablingFailed, Some(key(K1)));
    obs.encryption.failure = Some(Failure {
        kind: "RETIRE_KMS_GRANT_FAILED".into(),
        details: "the old grant".into(),
    });
    let fx = run.described(0, obs).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(
        run.reason(0),
        Some(Why::EnablingFailed(failure::FailureClass::OldKey))
    );
}

#[test]
fn a_stream_already_off_is_not_stopped_again_on_resume() {
    let mut run = Run::new(config());
    let mut new = off(0, KeyChoice::AwsOwned);
    new.track.needs_describe = true;
    new.track.starts = 1;
    run.add(vec![new]);
    let fx = run
        .described(0, seen(0, EncStatus::Disabled, None))
        .to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.phase(0), Phase::Done);
}
