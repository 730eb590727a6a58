//! Starts a worker will not send for its account's credentials: the item fails with why, its
//! key slot and Start slot are given back, and the other items carry on.

use super::*;
use crate::plan::Reason;

#[test]
fn a_start_withheld_for_old_credentials_fails_that_stream_and_frees_its_slots() {
    let mut run = Run::new(config());
    let fx = run
        .add(vec![item(0, key(K1)), item(1, KeyChoice::AwsOwned)])
        .to_vec();
    assert_eq!(starts(&fx), [0, 1]);
    assert_eq!(
        run.st.keys.count(K1),
        1,
        "the Start holds a slot on its key"
    );
    let fx = run
        .event(Event::StartWithheld {
            item: 0,
            why: Why::CredentialsTooOld,
            details: "these session credentials have been in use for more than 5 h".into(),
        })
        .to_vec();
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::CredentialsTooOld))
    );
    let (_, update) = updates(&fx)
        .into_iter()
        .find(|(i, u)| *i == 0 && u.phase == Some(Phase::Failed))
        .expect("the failure is recorded");
    let (kind, details) = update.failure.expect("with its type and details");
    assert_eq!(kind, "credentials_too_old");
    assert!(details.contains("5 h"), "{details}");
    assert_eq!(run.st.keys.count(K1), 0, "its key slot is given back");
    assert_eq!(run.st.track(0).starts, 0, "nothing was sent");
    // The AWS-owned Start of the same run carries on.
    run.start_ok(1);
    assert_eq!(run.phase(1), Phase::Polling);
}

#[test]
fn a_start_withheld_for_an_unreachable_account_is_no_credentials() {
    let mut run = Run::new(config());
    run.add(vec![item(0, KeyChoice::AwsOwned)]);
    run.event(Event::StartWithheld {
        item: 0,
        why: Why::Plan(Reason::NoCredentials),
        details: "cannot assume role arn:aws:iam::111111111111:role/x: AccessDenied".into(),
    });
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::Plan(Reason::NoCredentials)))
    );
    assert!(run.st.is_finished());
}

#[test]
fn credentials_that_cannot_refresh_withhold_the_accounts_customer_key_starts_once() {
    let mut run = Run::new(config());
    let mut theirs = item(3, key(K1));
    theirs.track.account = Some("999999999999".into());
    let fx = run
        .add(vec![
            item(0, key(K1)),
            item(1, key(K2)),
            item(2, KeyChoice::AwsOwned),
            theirs,
        ])
        .to_vec();
    assert_eq!(starts(&fx), [0, 1, 2, 3]);
    // Item 0's worker found the account's fixed session unfit: refreshing cannot help.
    let why = "these session credentials do not refresh and a KMS grant failed with them";
    run.event(Event::GrantsWithheld {
        item: 0,
        details: why.into(),
    });
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::CredentialsTooOld))
    );
    // Item 1, dispatched before, is not sent when its worker gets its token: the account's
    // customer-key Starts are withheld at once, not tried one by one.
    let fx = run.event(Event::StartSending { item: 1 }).to_vec();
    assert!(!fx.iter().any(|e| matches!(e, Effect::BeginAttempt { .. })));
    assert_eq!(
        (run.phase(1), run.reason(1)),
        (Phase::Failed, Some(Why::CredentialsTooOld))
    );
    let (_, details) = run.st.track(1).failure().cloned().unwrap();
    assert_eq!(details, why, "with the account's reason");
    // One decided later fails at the gate, without a call.
    let fx = run.add(vec![item(4, key(K1))]).to_vec();
    assert!(starts(&fx).is_empty());
    assert_eq!(run.reason(4), Some(Why::CredentialsTooOld));
    // The AWS-owned Start and another account's carry on.
    run.start_ok(2);
    run.start_ok(3);
    assert_eq!(
        (run.phase(2), run.phase(3)),
        (Phase::Polling, Phase::Polling)
    );
    assert_eq!(run.st.keys.count(K2), 0, "slots given back");
}

#[test]
fn a_grant_failure_asks_for_fresh_credentials_before_the_retry() {
    let mut run = Run::new(config());
    run.add(vec![item(0, key(K1))]);
    run.start_ok(0);
    run.wake();
    let fx = run
        .described(0, failed(0, key(K1), "CREATE_KMS_GRANT_FAILED"))
        .to_vec();
    assert!(fx.contains(&Effect::RefreshCredentials { item: 0 }));
    // The retry's worker finds refreshing cannot help (a fixed session): withheld, not sent.
    assert_eq!(starts(run.wake()), [0]);
    run.event(Event::GrantsWithheld {
        item: 0,
        details: "fixed session".into(),
    });
    assert_eq!(
        (run.phase(0), run.reason(0)),
        (Phase::Failed, Some(Why::CredentialsTooOld))
    );
    assert_eq!(run.st.track(0).starts, 1, "one Start, not max-attempts");
}
