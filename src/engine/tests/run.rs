//! A run's life: dispatch, polling, concurrency, shutdown, resume, early polls, observation.

use super::*;

#[test]
fn a_stream_is_started_polled_once_and_done() {
    let mut run = Run::new(config());
    let fx = run.add(vec![item(0, KeyChoice::AwsOwned)]).to_vec();
    assert_eq!(starts(&fx), [0]);
    assert_eq!(updates(&fx)[0].1.phase, Some(Phase::Starting));
    run.send(0);
    let fx = run.answer(0, Ok(())).to_vec();
    assert_eq!(updates(&fx)[0].1.phase, Some(Phase::Polling));
    assert!(fx.contains(&Effect::Paced {
        item: 0,
        op: crate::model::Operation::Start,
        throttled: false
    }));
    // The first poll is planned at the first-poll delay; with the Describe quota idle, it
    // goes early, once the stream has been transitioning half that long.
    assert_eq!(run.st.poll_timeout(), Some(run.now + 5 * SECOND));
    assert!(describes(run.wait(2_499)).is_empty());
    assert_eq!(describes(run.wait(1)), [(0, true)]);
    let fx = run
        .described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)))
        .to_vec();
    let (_, update) = &updates(&fx)[0];
    assert_eq!(update.phase, Some(Phase::Done));
    assert_eq!(update.enabled_at, Some(run.now));
    assert_eq!(update.starts, Some(1));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Notice(Notice::Finished {
            phase: Phase::Done,
            ..
        })
    )));
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(T0 + 6 * SECOND);
    assert_eq!(outcome.tracks[0].starts, 1);
    assert_eq!(outcome.count(Phase::Done), 1);
    assert_eq!(outcome.poll_describes, 1);
    assert_eq!(outcome.wall, Duration::from_secs(6));
    assert!(!outcome.interrupted && outcome.aborted.is_none());
}

#[test]
fn each_region_has_its_own_start_slots_in_fleet_order() {
    let mut run = Run::new(Config {
        concurrency: 2,
        ..config()
    });
    let mut items: Vec<NewItem> = (0..5).map(|i| item(i, KeyChoice::AwsOwned)).collect();
    items.push(item_in(5, "eu-west-1", KeyChoice::AwsOwned));
    let fx = run.add(items).to_vec();
    // eu-west-1's own, and two in us-east-1 in fleet order.
    assert_eq!(starts(&fx), [5, 0, 1]);
    run.start_ok(0);
    assert_eq!(
        starts(&run.fx),
        [2],
        "a freed slot starts the next in order"
    );
    run.send(1);
    run.answer(1, Ok(()));
    assert_eq!(starts(&run.fx), [3]);
}

#[test]
fn a_shutdown_sends_nothing_new_but_hears_the_calls_in_flight() {
    let mut run = Run::new(Config {
        concurrency: 1,
        ..config()
    });
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.send(0);
    let fx = run.event(Event::Shutdown).to_vec();
    assert_eq!(notes(&fx).len(), 1, "the operator is told");
    assert!(!run.st.is_finished(), "a Start is in flight");
    let fx = run.answer(0, Ok(())).to_vec();
    assert!(starts(&fx).is_empty(), "item 1 is never started");
    assert_eq!(run.st.poll_timeout(), None, "and nothing is polled");
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(run.now);
    assert!(outcome.interrupted);
    assert_eq!(outcome.count(Phase::Polling), 1);
    assert_eq!(outcome.count(Phase::Pending), 1);
}

#[test]
fn a_resumed_item_is_described_before_anything_is_sent() {
    let mut run = Run::new(config());
    let mut polling = item(0, KeyChoice::AwsOwned);
    polling.track.phase = Phase::Polling;
    polling.track.starts = 1;
    // A Start whose answer was never recorded (the process died).
    let mut unknown = item(1, KeyChoice::AwsOwned);
    unknown.track.needs_describe = true;
    let fx = run.add(vec![polling, unknown]).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(describes(&fx), [(0, false), (1, false)]);
    // Already at its target: done without a second Start.
    let fx = run
        .described(0, seen(0, EncStatus::Enabling, Some(KeyChoice::AwsOwned)))
        .to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.phase(0), Phase::Polling);
    run.described(1, seen(1, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    assert_eq!(run.phase(1), Phase::Done);
    assert_eq!(run.st.track(1).starts, 0);
}

#[test]
fn a_resumed_item_whose_start_never_took_is_started_again() {
    let mut run = Run::new(config());
    let mut unknown = item(0, KeyChoice::AwsOwned);
    unknown.track.needs_describe = true;
    unknown.track.starts = 1;
    run.add(vec![unknown]);
    let fx = run
        .described(0, seen(0, EncStatus::Disabled, None))
        .to_vec();
    assert_eq!(starts(&fx), [0]);
}

#[test]
fn an_idle_describe_quota_polls_the_oldest_transition_early() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.start_ok(0);
    // Half the first-poll delay (5 s) must pass first.
    assert!(describes(run.wait(2_000)).is_empty());
    let fx = run.wait(500).to_vec();
    assert_eq!(describes(&fx), [(0, true)]);
    // No token free at once: not sent, back at its planned time, not tried again this instant.
    let fx = run.event(Event::EarlyPollDeclined { item: 0 }).to_vec();
    assert!(describes(&fx).is_empty());
    assert_eq!(run.st.poll_timeout(), Some(T0 + 5 * SECOND));
    // A later instant tries again; an early poll teaches the learner nothing.
    assert_eq!(describes(run.wait(100)), [(0, true)]);
    run.described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    assert_eq!(run.phase(0), Phase::Done);
    assert_eq!(run.st.polling_stats().1, 0);
    assert_eq!(run.st.polling_stats().2, 1, "one early poll was sent");
}

#[test]
fn no_early_polls_while_streams_are_being_observed() {
    let mut run = Run::new(config());
    run.st.expect_observations(0);
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.start_ok(0);
    assert!(describes(run.wait(4_000)).is_empty());
}

#[test]
fn a_first_poll_on_time_teaches_the_learner() {
    let mut run = Run::new(config());
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.start_ok(0);
    run.start_ok(1);
    run.st.expect_observations(0); // keep early polls out of it
    run.wake();
    run.described(0, seen(0, EncStatus::Enabling, Some(KeyChoice::AwsOwned)));
    run.described(1, seen(1, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    assert_eq!(run.st.polling_stats().1, 2);
    // The one still ENABLING is polled again later, backing off.
    let next = run.st.poll_timeout().unwrap();
    assert!(next > run.now);
}

#[test]
fn observation_keeps_the_run_open_until_it_is_done() {
    let mut run = Run::new(config());
    run.st.expect_observations(2);
    run.add(vec![]);
    assert!(!run.st.is_finished());
    assert!(run.st.takes_observations());
    let fx = run
        .event(Event::Observed {
            throttles: 1,
            keys: vec![],
            items: vec![item(0, KeyChoice::AwsOwned)],
        })
        .to_vec();
    assert_eq!(starts(&fx), [0], "a decided stream starts at once");
    run.start_ok(0);
    run.event(Event::ObservationDone);
    run.wake();
    run.described(0, seen(0, EncStatus::Enabled, Some(KeyChoice::AwsOwned)));
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(
        outcome.throttles, 3,
        "key throttles and the observer's count"
    );
    assert_eq!(outcome.calls[&crate::model::Operation::Describe], 2);
}

#[test]
fn an_abort_stops_dispatch_and_ends_the_run_once_calls_are_answered() {
    let mut run = Run::new(Config {
        concurrency: 1,
        ..config()
    });
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.send(0);
    run.event(Event::Abort(Abort::LockLost));
    assert!(run.st.is_stopping());
    assert!(!run.st.is_finished());
    let fx = run.answer(0, Ok(())).to_vec();
    assert!(starts(&fx).is_empty());
    assert!(run.st.is_finished());
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(outcome.aborted, Some(Abort::LockLost));
    assert!(!outcome.interrupted);
}
