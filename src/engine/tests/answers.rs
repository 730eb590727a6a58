//! What each answer to a Start or a Describe leads to (docs/design.md#answers-to-a-start,
//! docs/design.md#the-asynchronous-transition-and-polling, docs/design.md#failure-classes).

use super::*;
use crate::model::{AttemptOutcome, Operation};

fn started_and_polled(run: &mut Run, item: usize) {
    run.start_ok(item);
    run.wake();
    assert_eq!(describes(&run.fx), [(item, false)]);
}

#[test]
fn a_throttled_start_slows_the_pace_and_is_sent_again() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    let fx = run
        .answer(0, Err(CallError::Throttled("Rate exceeded".into())))
        .to_vec();
    assert!(fx.contains(&Effect::Paced {
        item: 0,
        op: Operation::Start,
        throttled: true
    }));
    assert_eq!(notes(&fx), ["Start throttled in us-east-1; slowing down"]);
    assert_eq!(starts(&fx), [0], "re-queued at once; the pacer slows it");
    let outcome = run.st.into_outcome(run.now);
    assert_eq!(outcome.throttles, 1);
    assert_eq!(outcome.tracks[0].starts, 1);
}

#[test]
fn a_limit_refusal_with_the_budget_spent_defers_for_a_window() {
    let mut run = Run::new(config());
    let mut new = item(0, KeyChoice::AwsOwned);
    // 23 calls earlier today: the 24th (the last above the reserve) is ours.
    let earlier: Vec<EpochMillis> = (0..23).map(|i| T0 - 3_600_000 + i).collect();
    new.sends = SendLog::of(&earlier);
    run.add(vec![new]);
    run.send(0);
    let fx = run
        .answer(0, Err(CallError::LimitExceeded("limit exceeded".into())))
        .to_vec();
    assert!(fx.contains(&Effect::MarkBudgetFull { item: 0 }));
    let (_, update) = &updates(&fx)[0];
    assert_eq!(update.phase, Some(Phase::Deferred));
    assert_eq!(update.reason, Some(Why::BUDGET));
    // The refusal fills the budget (25 counted): the next call above the reserve frees when
    // the second-oldest of our own earlier calls leaves the window.
    let margin = crate::limits::budget::MARGIN;
    assert_eq!(
        update.next_slot,
        Some(earlier[1] + crate::clock::DAY + margin)
    );
    assert_eq!(run.st.live[0].sends.counted().len(), 25);
    assert_eq!(
        update.failure.as_ref().map(|f| f.0.as_str()),
        Some("LimitExceededException")
    );
}

#[test]
fn the_engine_completes_each_answered_attempt_and_only_unsent_calls_spare_the_budget() {
    let rejected = |code: &str, message: &str| AttemptOutcome::Rejected {
        code: code.into(),
        message: message.into(),
    };
    let cases = [
        (Ok(()), AttemptOutcome::Ok),
        (
            Err(CallError::Throttled("Rate exceeded".into())),
            rejected("ThrottlingException", "Rate exceeded"),
        ),
        (
            Err(CallError::Invalid {
                code: "InvalidArgumentException".into(),
                message: "bad".into(),
            }),
            rejected("InvalidArgumentException", "bad"),
        ),
        (
            Err(CallError::Unknown("connection reset".into())),
            AttemptOutcome::Unknown {
                message: "connection reset".into(),
            },
        ),
        (
            Err(CallError::NotSent("Connection refused".into())),
            AttemptOutcome::NotSent {
                message: "Connection refused".into(),
            },
        ),
        (
            Err(CallError::NoCredentials("none found".into())),
            AttemptOutcome::NotSent {
                message: "none found".into(),
            },
        ),
    ];
    for (result, outcome) in cases {
        let mut run = Run::new(config());
        run.add(vec![item(0, KeyChoice::AwsOwned)]);
        run.send(0);
        let fx = run.answer(0, result).to_vec();
        let completed: Vec<&Effect> = fx
            .iter()
            .filter(|e| matches!(e, Effect::CompleteAttempt { .. }))
            .collect();
        assert_eq!(completed, [&Effect::CompleteAttempt { item: 0, outcome }]);
    }
}

#[test]
fn a_refusal_for_the_spent_budget_marks_the_attempt_before_completing_it() {
    let mut run = Run::new(config());
    let mut new = item(0, KeyChoice::AwsOwned);
    new.sends = SendLog::of(&(0..23).map(|i| T0 - 3_600_000 + i).collect::<Vec<_>>());
    run.add(vec![new]);
    run.send(0);
    let fx = run
        .answer(0, Err(CallError::LimitExceeded("limit exceeded".into())))
        .to_vec();
    let at = |wanted: fn(&Effect) -> bool| fx.iter().position(wanted);
    let marked = at(|e| matches!(e, Effect::MarkBudgetFull { item: 0 }));
    let completed = at(|e| matches!(e, Effect::CompleteAttempt { item: 0, .. }));
    assert!(marked.is_some() && marked < completed, "{fx:?}");
}

#[test]
fn a_limit_refusal_naming_the_key_fails_the_stream_with_cmk_limit() {
    let mut run = Run::new(config());
    run.add(vec![item(0, key(K1)), item(1, key(K1))]);
    run.send(0);
    // Worded with "CMK" only (the API reference's word), and no "key".
    let fx = run
        .answer(
            0,
            Err(CallError::LimitExceeded(
                "You can use a CMK of type CUSTOMER_MANAGED_CMK to encrypt up to 500 Firehose \
                 streams."
                    .into(),
            )),
        )
        .to_vec();
    assert!(!fx.contains(&Effect::MarkBudgetFull { item: 0 }));
    assert_eq!(run.phase(0), Phase::Failed);
    assert_eq!(run.reason(0), Some(Why::CMK_LIMIT));
    assert!(run.st.keys.is_full(K1), "full for the run");
    // Its slot under the key is given back, and the other stream to the key is never sent.
    run.event(Event::StartSending { item: 1 });
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Skipped, Some(Why::CMK_LIMIT))
    );
    assert_eq!(run.st.keys.count(K1), 0);
}

#[test]
fn a_budget_refusal_naming_a_stream_called_monkey_logs_never_fills_its_key() {
    let mut run = Run::new(config());
    let mut monkey = item(0, key(K1));
    monkey.track.name = "monkey-logs".into();
    run.add(vec![monkey, item(1, key(K1))]);
    run.send(0);
    // Someone else spent the stream's budget: the refusal echoes its name, which holds "key".
    let fx = run
        .answer(
            0,
            Err(CallError::LimitExceeded(
                "Firehose monkey-logs has reached the limit of 25 StartDeliveryStreamEncryption \
                 and StopDeliveryStreamEncryption calls per Firehose stream per 1day."
                    .into(),
            )),
        )
        .to_vec();
    assert!(fx.contains(&Effect::MarkBudgetFull { item: 0 }));
    assert_eq!(run.phase(0), Phase::Deferred);
    assert!(!run.st.keys.is_full(K1), "no key is marked full on a guess");
    assert!(notes(&fx).is_empty(), "no key-full notice");
    // The other stream to the same key goes out.
    run.send(1);
    run.answer(1, Ok(()));
    assert_eq!(run.phase(1), Phase::Polling);
}

#[test]
fn a_limit_refusal_worded_with_neither_defers_saying_both_limits_are_possible() {
    let mut run = Run::new(config());
    run.add(vec![item(0, key(K1))]);
    run.send(0);
    let raw = "Limit exceeded for the requested resource.";
    let fx = run
        .answer(0, Err(CallError::LimitExceeded(raw.into())))
        .to_vec();
    assert!(fx.contains(&Effect::MarkBudgetFull { item: 0 }));
    let (_, update) = &updates(&fx)[0];
    assert_eq!(update.phase, Some(Phase::Deferred));
    assert_eq!(update.reason, Some(Why::LimitUnclear));
    assert_eq!(Why::LimitUnclear.as_str(), "budget_or_cmk_limit");
    assert!(update.next_slot.is_some());
    assert_eq!(
        update.failure,
        Some(("LimitExceededException".into(), raw.into())),
        "the raw message is kept"
    );
    assert!(!run.st.keys.is_full(K1));
    // Our own count decides when it can: the key already at its limit without this stream.
    let mut run = Run::with_keys(config(), HashMap::from([(K1.to_owned(), 500)]));
    let mut held = item(0, key(K1));
    held.holds_slot = true; // counted among the 500 (say, ENABLING towards it)
    run.add(vec![held]);
    run.send(0);
    run.answer(0, Err(CallError::LimitExceeded(raw.into())));
    assert_eq!(
        run.reason(0),
        Some(Why::LimitUnclear),
        "499 others: room by our count, so either limit"
    );
    let mut run = Run::with_keys(config(), HashMap::from([(K1.to_owned(), 500)]));
    let mut held = item(0, key(K1));
    held.holds_slot = true;
    run.add(vec![held]);
    run.event(Event::Observed {
        throttles: 0,
        keys: vec![crate::limits::KeyChange {
            key_arn: K1.into(),
            uses: true,
        }],
        items: vec![],
    });
    run.send(0);
    run.answer(0, Err(CallError::LimitExceeded(raw.into())));
    assert_eq!(
        run.reason(0),
        Some(Why::CMK_LIMIT),
        "500 others: full by our count"
    );
}

#[test]
fn a_start_refused_in_use_is_described_then_decided_again() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    let fx = run
        .answer(0, Err(CallError::InUse("transitioning".into())))
        .to_vec();
    assert_eq!(updates(&fx)[0].1.phase, Some(Phase::Pending));
    assert!(starts(&fx).is_empty());
    assert_eq!(run.st.poll_timeout(), Some(run.now + SECOND));
    assert_eq!(describes(run.wake()), [(0, false)]);
    // Someone else's transition: wait for it to end.
    run.described(0, seen(0, EncStatus::Disabling, Some(key(K2))));
    assert!(starts(&run.fx).is_empty());
    run.wake();
    let fx = run
        .described(0, seen(0, EncStatus::Disabled, None))
        .to_vec();
    assert_eq!(starts(&fx), [0]);
}

#[test]
fn a_stream_gone_fails_not_found_whether_start_or_describe_says_so() {
    let mut run = Run::new(config());
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.send(0);
    run.answer(0, Err(CallError::NotFound("no stream".into())));
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::NOT_FOUND))
    );
    started_and_polled(&mut run, 1);
    run.describe_failed(1, CallError::NotFound("deleted".into()));
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Failed, Some(Why::NOT_FOUND))
    );
    assert_eq!(
        run.st.track(1).failure().map(|f| f.0.as_str()),
        Some("ResourceNotFoundException")
    );
}

#[test]
fn an_invalid_start_fails_rejected_with_the_code() {
    let mut run = Run::new(config());
    run.add(vec![item(0, key(K1))]);
    run.send(0);
    run.answer(
        0,
        Err(CallError::Invalid {
            code: "InvalidKMSResourceException".into(),
            message: "bad key".into(),
        }),
    );
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::Rejected))
    );
    assert_eq!(
        run.st.track(0).failure().map(|f| f.0.as_str()),
        Some("InvalidKMSResourceException")
    );
}

#[test]
fn an_unknown_outcome_is_reconciled_before_any_new_start() {
    let mut run = Run::new(config());
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.send(0);
    run.send(1);
    run.answer(0, Err(CallError::Unknown("connection reset".into())));
    run.answer(1, Err(CallError::Unknown("HTTP 500".into())));
    assert!(starts(&run.fx).is_empty());
    assert_eq!(run.st.poll_timeout(), Some(run.now + 500));
    let fx = run.wake().to_vec();
    assert_eq!(describes(&fx), [(0, false), (1, false)]);
    // 0 took: polled to the end, never started again.
    run.described(0, seen(0, EncStatus::Enabling, Some(KeyChoice::AwsOwned)));
    assert!(starts(&run.fx).is_empty());
    assert_eq!(run.phase(0), Phase::Polling);
    // 1 did not: started again.
    let fx = run
        .described(1, seen(1, EncStatus::Disabled, None))
        .to_vec();
    assert_eq!(starts(&fx), [1]);
    // Both unanswered calls count against the budget, as the ledger counts them.
    assert_eq!(run.st.live[0].sends.counted().len(), 1);
}

#[test]
fn a_call_never_sent_spends_no_budget_and_is_tried_again_later() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    run.answer(0, Err(CallError::NotSent("connection refused".into())));
    assert!(run.st.live[0].sends.counted().is_empty());
    assert!(starts(&run.fx).is_empty());
    assert_eq!(run.st.poll_timeout(), Some(run.now + 2 * SECOND));
    assert_eq!(starts(run.wake()), [0]);
}

#[test]
fn access_denied_stops_the_run_with_the_iam_action_to_allow() {
    let mut run = Run::new(config());
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.send(0);
    run.send(1);
    run.answer(
        0,
        Err(CallError::Denied {
            code: "AccessDeniedException".into(),
            message: "not authorized".into(),
        }),
    );
    assert!(run.st.is_stopping());
    run.answer(1, Ok(()));
    assert!(run.st.is_finished(), "nothing is polled after an abort");
    let outcome = run.st.into_outcome(run.now);
    let why = outcome.aborted.unwrap().to_string();
    assert!(
        why.contains("firehose:StartDeliveryStreamEncryption"),
        "{why}"
    );
}

#[test]
fn a_transient_failure_is_retried_with_backoff_up_to_max_attempts() {
    let mut run = Run::new(config()); // max_attempts 3
    run.add(vec![item(0, key(K1))]);
    for attempt in 1..=3u32 {
        started_and_polled(&mut run, 0);
        let fx = run
            .described(0, failed(0, key(K1), "CREATE_KMS_GRANT_FAILED"))
            .to_vec();
        assert_eq!(
            fx.contains(&Effect::RefreshCredentials { item: 0 }),
            attempt < 3,
            "fresh credentials before each retry, none after the last"
        );
        if attempt < 3 {
            assert_eq!(run.phase(0), Phase::Pending);
            // Back off 2^starts seconds before the next Start.
            assert_eq!(
                run.st.poll_timeout(),
                Some(run.now + SECOND * (1 << attempt))
            );
            assert_eq!(starts(run.wake()), [0]);
        } else {
            assert_eq!(updates(&fx)[0].1.phase, Some(Phase::Failed));
        }
    }
    assert_eq!(
        run.reason(0),
        Some(Why::EnablingFailed(failure::FailureClass::Transient))
    );
    assert_eq!(run.st.track(0).starts, 3);
    assert_eq!(run.st.keys.count(K1), 0, "a failed Start frees its slot");
}

#[test]
fn failures_a_retry_cannot_fix_fail_at_once_with_their_class_and_hint() {
    let cases = [
        ("KMS_ACCESS_DENIED", failure::FailureClass::NeedsOperator),
        ("RETIRE_KMS_GRANT_FAILED", failure::FailureClass::OldKey),
        ("SUBNET_NOT_FOUND", failure::FailureClass::NotSse),
        ("SOMETHING_NEW", failure::FailureClass::NeedsOperator),
    ];
    for (kind, class) in cases {
        let mut run = Run::new(config());
        run.add(vec![item(0, key(K1))]);
        started_and_polled(&mut run, 0);
        let fx = run.described(0, failed(0, key(K1), kind)).to_vec();
        assert!(starts(&fx).is_empty(), "{kind}");
        assert_eq!(run.phase(0), Phase::Failed, "{kind}");
        assert_eq!(run.reason(0), Some(Why::EnablingFailed(class)), "{kind}");
        let (shown, details) = run.st.track(0).failure().cloned().unwrap();
        assert_eq!(shown, kind);
        assert!(details.contains(failure::hint(kind)), "{details}");
    }
}

#[test]
fn a_failure_from_before_the_run_does_not_stop_this_runs_start() {
    let mut run = Run::new(config());
    let mut new = item(0, key(K1));
    new.track.needs_describe = true;
    run.add(vec![new]);
    let fx = run
        .described(0, failed(0, key(K1), "KMS_ACCESS_DENIED"))
        .to_vec();
    assert_eq!(starts(&fx), [0]);
}

#[test]
fn a_stream_still_enabling_after_the_poll_timeout_fails_timed_out() {
    let mut run = Run::new(Config {
        poll_timeout: Duration::from_secs(60),
        ..config()
    });
    // Timers only: an idle quota would poll a straggler early, at the pace of the tokens.
    run.st.expect_observations(0);
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    started_and_polled(&mut run, 0);
    let mut polls = 1;
    while run.phase(0) == Phase::Polling {
        run.described(0, seen(0, EncStatus::Enabling, Some(KeyChoice::AwsOwned)));
        if run.phase(0) == Phase::Polling {
            run.wake();
            polls += 1;
        }
    }
    assert_eq!(run.phase(0), Phase::Failed);
    assert_eq!(run.reason(0), Some(Why::TimedOut));
    assert!(run.now - T0 >= 60 * SECOND);
    assert!(polls < 12, "polls back off: {polls}");
    let (kind, details) = run.st.track(0).failure().cloned().unwrap();
    assert_eq!(kind, "TIMED_OUT");
    assert!(details.contains("resume"), "{details}");
}

#[test]
fn starts_that_never_take_end_attempts_exhausted() {
    let mut run = Run::new(Config {
        max_attempts: 2,
        ..config()
    });
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    for _ in 0..2 {
        started_and_polled(&mut run, 0);
        run.described(0, seen(0, EncStatus::Disabled, None));
    }
    assert_eq!(run.phase(0), Phase::Failed);
    assert_eq!(run.reason(0), Some(Why::AttemptsExhausted));
    assert_eq!(run.st.track(0).starts, 2);
}

#[test]
fn a_throttled_describe_is_asked_again_and_slows_describes() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    started_and_polled(&mut run, 0);
    let fx = run
        .describe_failed(0, CallError::Throttled("Rate exceeded".into()))
        .to_vec();
    assert!(fx.contains(&Effect::Paced {
        item: 0,
        op: Operation::Describe,
        throttled: true
    }));
    assert_eq!(describes(&fx), [(0, false)], "asked again at once");
}

#[test]
fn a_key_kms_refuses_fails_that_stream_only_with_kms_code_and_hint() {
    let mut run = Run::new(config());
    run.add(vec![item(0, key(K1)), item(1, KeyChoice::AwsOwned)]);
    run.send(0);
    run.send(1);
    run.answer(
        0,
        Err(CallError::KmsRefused {
            kms_code: "AccessDeniedException".into(),
            message: "the grant for the CMK might have been revoked".into(),
        }),
    );
    assert!(
        !run.st.is_stopping(),
        "one stream's key never stops the run"
    );
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::KmsRefused))
    );
    let (kind, details) = run.st.track(0).failure().cloned().unwrap();
    assert_eq!(kind, "InvalidKMSResourceException");
    assert!(details.starts_with("AccessDeniedException: "), "{details}");
    assert!(details.contains("kms:CreateGrant"), "{details}");
    run.answer(1, Ok(()));
    assert_eq!(run.phase(1), Phase::Polling);
}

#[test]
fn expired_credentials_stop_the_run_with_the_credentials_message() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    run.answer(
        0,
        Err(CallError::Denied {
            code: "ExpiredTokenException".into(),
            message: "The security token included in the request is expired".into(),
        }),
    );
    let why = run.st.into_outcome(run.now).aborted.unwrap().to_string();
    assert!(why.contains("credentials"), "{why}");
    assert!(!why.contains("IAM policy"), "{why}");
}

#[test]
fn a_stream_no_longer_active_is_never_started_again() {
    // Deleted between plan and apply: the Start is refused in use, the Describe that follows
    // shows DELETING, and that is the end of it — one Start, one Describe.
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    run.answer(
        0,
        Err(CallError::InUse("the stream is being deleted".into())),
    );
    run.wake();
    let mut deleting = seen(0, EncStatus::Disabled, None);
    deleting.status = StreamStatus::Deleting;
    let fx = run.described(0, deleting).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.phase(0), Phase::Failed, "this run had sent it a Start");
    assert_eq!(
        run.reason(0),
        Some(Why::Plan(crate::plan::Reason::NotActive))
    );
    assert_eq!(run.st.track(0).failure().unwrap().0, "DELETING");
    assert!(run.st.is_finished());
    // Found CREATING before any Start: skipped, not failed.
    let mut run = Run::new(config());
    let mut new = item(0, KeyChoice::AwsOwned);
    new.track.needs_describe = true;
    run.add(vec![new]);
    let mut creating = seen(0, EncStatus::Disabled, None);
    creating.status = StreamStatus::Creating;
    assert!(starts(run.described(0, creating)).is_empty());
    assert_eq!(run.phase(0), Phase::Skipped);
}

#[test]
fn a_stop_under_way_is_waited_for_whatever_its_key() {
    let mut run = Run::new(config());
    let mut new = item(0, key(K1));
    new.track.needs_describe = true;
    run.add(vec![new]);
    // DISABLING with the very key we want: not at target, and not to be started over.
    let fx = run
        .described(0, seen(0, EncStatus::Disabling, Some(key(K1))))
        .to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.phase(0), Phase::Pending);
    run.wake();
    let fx = run
        .described(0, seen(0, EncStatus::Disabled, None))
        .to_vec();
    assert_eq!(starts(&fx), [0]);
}

#[test]
fn an_encryption_status_the_engine_does_not_know_needs_an_operator() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    started_and_polled(&mut run, 0);
    let obs = seen(0, EncStatus::Other("SUSPENDING".into()), None);
    let fx = run.described(0, obs).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (
            Phase::Failed,
            Some(Why::Plan(crate::plan::Reason::UnknownStatus))
        )
    );
    assert_eq!(
        run.st.track(0).failure().unwrap().0,
        "SUSPENDING",
        "raw value kept"
    );
}

#[test]
fn a_failure_nobody_describes_is_not_retried() {
    let mut run = Run::new(config());
    run.add(vec![item(0, key(K1))]);
    started_and_polled(&mut run, 0);
    let fx = run
        .described(0, seen(0, EncStatus::EnablingFailed, Some(key(K1))))
        .to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.st.poll_timeout(), None, "no retry is scheduled");
    assert_eq!(
        run.reason(0),
        Some(Why::EnablingFailed(failure::FailureClass::NeedsOperator))
    );
    assert_eq!(run.st.track(0).starts, 1);
}

#[test]
fn refused_starts_are_reported_as_refused() {
    let mut run = Run::new(Config {
        max_attempts: 2,
        ..config()
    });
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.send(0);
    run.answer(0, Err(CallError::InUse("in use".into())));
    run.wake();
    run.described(0, seen(0, EncStatus::Disabled, None));
    started_and_polled(&mut run, 0);
    run.described(0, seen(0, EncStatus::Disabled, None));
    assert_eq!(run.reason(0), Some(Why::AttemptsExhausted));
    let details = run.st.track(0).failure().unwrap().1.clone();
    assert!(
        details.contains("1 accepted or unanswered, 1 refused"),
        "{details}"
    );
}

#[test]
fn an_endpoint_that_cannot_be_reached_stops_the_run() {
    let mut run = Run::new(Config {
        max_attempts: 10,
        ..config()
    });
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    let refused = || {
        Err(CallError::NotSent(
            "Connection refused (os error 111)".into(),
        ))
    };
    run.send(0);
    run.send(1);
    run.answer(0, refused());
    run.answer(1, refused());
    assert!(!run.st.is_stopping(), "two may be a blip");
    // Both are tried again 2 s later; the third in a row that never leaves stops the run.
    assert_eq!(starts(run.wake()), [0, 1]);
    run.send(0);
    run.send(1);
    run.answer(0, refused());
    assert!(run.st.is_stopping());
    assert!(!run.st.is_finished(), "item 1's Start is still in flight");
    run.answer(1, refused());
    assert!(run.st.is_finished(), "nothing in flight, nothing retried");
    let outcome = run.st.into_outcome(run.now);
    let why = outcome.aborted.unwrap().to_string();
    assert!(why.contains("cannot be reached"), "{why}");
    assert!(why.contains("Connection refused"), "{why}");
    assert!(
        outcome.tracks.iter().all(|t| t.phase == Phase::Pending),
        "left to resume"
    );
}

#[test]
fn an_answer_from_the_service_resets_the_count_of_calls_that_never_left() {
    let mut run = Run::new(config());
    run.add(vec![
        item(0, KeyChoice::AwsOwned),
        item(1, KeyChoice::AwsOwned),
    ]);
    run.send(0);
    run.send(1);
    run.answer(0, Err(CallError::NotSent("refused".into())));
    run.answer(1, Ok(()));
    assert_eq!(run.st.not_sent, 0);
    run.wake();
    assert!(!run.st.is_stopping());
}
