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
