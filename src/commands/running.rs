//! Carrying out a run: what `apply`, `resume`, `rollback` and the AWS CLI's encryption commands
//! do once they know what to do. The caller describes the run ([`Run`]: its row in the ledger,
//! the items decided before it starts, the feed that decides more as it observes, the engine's
//! settings); [`carry_out`] runs the engine's dispatcher with the live reporter and the
//! signals, records the plan the feed made and the run's outcome, prints the summary and says
//! how to go on, and hands back the engine's [`Outcome`] (its [`exit_code`] is the command's).
//! Also here: the engine's settings from the flags, the apply lock, and the confirmation
//! prompt.

use std::io::{BufRead as _, Write as _};

use tokio::sync::{mpsc, watch};

use super::Session;
use crate::apply::{Dispatcher, Feed};
use crate::engine::{Config, NewItem, Notice, Outcome, Phase, RunState};
use crate::error::Exit;
use crate::ledger::{Ledger, LockGuard, RunGuard, RunOutcome, StaleAfter, lock};
use crate::options::{Global, RunOptions};
use crate::plan::{Pace, Settings};
use crate::report::plan::summary_line;

/// A run to carry out.
pub(super) struct Run<'l> {
    /// Its row in the ledger, which gets the outcome.
    pub row: RunGuard<'l>,
    /// Items decided before it starts: a plan's, a resumed run's.
    pub items: Vec<NewItem>,
    /// Streams still to observe and decide as it goes, with the pace their plan's estimate
    /// assumes.
    pub feed: Option<(Feed, Pace)>,
    /// How the engine goes ([`config`], and `no_wait` for `--no-wait`).
    pub config: Config,
    /// The summary's title: `Apply`, or the AWS operation carried out.
    pub title: &'static str,
}

/// The engine's settings: the run's flags and the plan's limits.
pub(super) fn config(run: &RunOptions, settings: Settings) -> Config {
    Config {
        settings,
        concurrency: run.pace.concurrency,
        max_wait: run.max_wait,
        poll_timeout: run.poll_timeout,
        max_attempts: run.max_attempts,
        first_poll: run.first_poll,
        retirement_wait: run.retirement_wait,
        no_wait: false,
    }
}

/// What the operator answered at the confirmation prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    Yes,
    /// Anything but `yes`, or the end of input.
    No,
    /// Ctrl-C (or SIGTERM) at the prompt: a "no" that also stops the command.
    Interrupted,
}

/// Asks on the terminal; only `yes` proceeds. Ctrl-C while it waits is an answer too
/// ([`Answer::Interrupted`]), not the end of the process: the caller records the run as
/// cancelled and releases the lock, as for "no", instead of leaving a run that `status` would
/// offer to resume.
pub(super) async fn ask(question: &str) -> std::io::Result<Answer> {
    // Listening before asking: a Ctrl-C at once is not lost (nor fatal).
    let mut signals = crate::signal::Signals::new()?;
    eprint!("{question} Only 'yes' will be accepted: ");
    std::io::stderr().flush()?;
    // Read on a thread of its own, which a Ctrl-C leaves behind blocked on the terminal: the
    // process ends without waiting for it (the runtime would wait for a blocking task).
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer);
        let _ = tx.send(read.map(|_| answer));
    });
    tokio::select! {
        read = rx => {
            let answer = read.map_err(std::io::Error::other)??;
            Ok(match answer.trim() {
                "yes" => Answer::Yes,
                _ => Answer::No,
            })
        }
        () = signals.next() => {
            eprintln!();
            Ok(Answer::Interrupted)
        }
    }
}

/// [`ask`], for a yes or no: Ctrl-C is a no.
pub(super) async fn confirm(question: &str) -> std::io::Result<bool> {
    Ok(ask(question).await? == Answer::Yes)
}

/// Takes the ledger's apply lock for this process.
pub(super) fn take_lock(ledger: &Ledger) -> anyhow::Result<LockGuard<'_>> {
    let (pid, host) = lock::me();
    Ok(ledger.acquire_lock(pid, &host, None, StaleAfter::ProcessTable)?)
}

/// Carries `run` out to its end (or until a signal stops it), records how it ended, prints
/// the summary under its title and says how to go on. A run that stopped because going on
/// could not help is an error, saying how to resume once it is fixed.
pub(super) async fn carry_out(
    global: &Global,
    session: &Session,
    run: Run<'_>,
) -> anyhow::Result<Outcome> {
    let Run {
        row,
        items,
        feed,
        config,
        title,
    } = run;
    let ledger = &session.ledger;
    let run_id = row.id();
    let (outcome, feed) = pass(
        session,
        run_id,
        items,
        feed,
        config,
        stop_on_signals(),
        None,
    )
    .await?;
    let warnings = feed
        .as_ref()
        .map(|(f, _)| feed_warnings(f, &outcome))
        .unwrap_or_default();
    if let Some((feed, pace)) = feed {
        finish_feed(global, ledger, feed, pace)?;
    }
    row.finish(exit_for(&outcome).1)?;
    let summary =
        crate::report::apply::summary(ledger, run_id, &outcome, &warnings, session.color)?;
    global
        .output
        .print(title, || summary.json.clone(), || summary.text.clone())?;
    how_to_go_on(session, run_id, &outcome);
    if let Some(why) = &outcome.aborted {
        anyhow::bail!(
            "run {run_id} stopped: {why}. Fix it, then: {}",
            crate::hint::command(&format!("resume {run_id}"))
        );
    }
    Ok(outcome)
}

/// The warnings of a plan made as the run went that its summary repeats: the accounts no
/// credentials reach, with how many of the run's streams each left skipped.
pub(super) fn feed_warnings(feed: &Feed, outcome: &Outcome) -> Vec<String> {
    feed.survey
        .unreachable()
        .iter()
        .map(|(account, why)| {
            let n = outcome
                .tracks
                .iter()
                .filter(|t| t.account.as_deref() == Some(account.as_str()))
                .count();
            crate::survey::unreachable_warning(account, n, why)
        })
        .collect()
}

/// What sees each of the engine's notices before the reporter does.
pub(super) type Tap = Box<dyn FnMut(&Notice) + Send>;

/// One pass of the engine over `items`, and what `feed` decides as it observes, with the live
/// reporter, until they end or `stop` turns true; `tap` sees every notice first. Hands back the
/// outcome and the feed.
pub(super) async fn pass(
    session: &Session,
    run_id: i64,
    items: Vec<NewItem>,
    feed: Option<(Feed, Pace)>,
    config: Config,
    stop: watch::Receiver<bool>,
    tap: Option<Tap>,
) -> anyhow::Result<(Outcome, Option<(Feed, Pace)>)> {
    let ledger = &session.ledger;
    let customer_keys = items
        .iter()
        .any(|i| i.track.action.starts() && i.track.target.key_arn().is_some())
        || feed
            .as_ref()
            .is_some_and(|(f, _)| f.survey.undecided().any(|(_, t)| t.key.key_arn().is_some()));
    super::warn_if_credentials_cannot_refresh(session.accounts.base(), customer_keys).await;
    let (notices, notices_rx) = mpsc::unbounded_channel();
    let total = items.len() + feed.as_ref().map_or(0, |(f, _)| f.survey.len());
    let notices_rx = match tap {
        None => notices_rx,
        Some(mut tap) => {
            let (to_reporter, reporter_rx) = mpsc::unbounded_channel();
            let mut from_engine = notices_rx;
            tokio::spawn(async move {
                while let Some(notice) = from_engine.recv().await {
                    tap(&notice);
                    if to_reporter.send(notice).is_err() {
                        break;
                    }
                }
            });
            reporter_rx
        }
    };
    let reporter = crate::report::apply::spawn_reporter(session.progress, total, notices_rx);
    let mut state = RunState::new(config, ledger.key_counts_now()?, ledger.now());
    state.reserve(total);
    let (feed, pace) = match feed {
        Some((feed, pace)) => {
            state.expect_observations(feed.throttles);
            (Some(feed), Some(pace))
        }
        None => (None, None),
    };
    let result = dispatch(session, run_id, state, items, feed, stop, notices).await;
    let _ = reporter.await; // it ends with the last notice, also when the run failed
    let (outcome, feed) = result?;
    Ok((outcome, feed.zip(pace)))
}

/// The exit code of a command whose run ended so.
pub(super) fn exit_code(outcome: &Outcome) -> Exit {
    exit_for(outcome).0
}

/// SIGINT/SIGTERM: the first stops dispatching (the engine finishes what is in flight), the
/// second exits at once — the ledger never depends on a clean exit.
pub(super) fn stop_on_signals() -> watch::Receiver<bool> {
    crate::signal::stop_on_signals(
        "stopping: finishing the calls in flight (signal again to exit at once)",
        format!(
            "exiting now; the ledger is consistent, `{}` continues",
            crate::hint::command("resume")
        ),
        Exit::Interrupted.code(),
    )
}

/// Carries out `items`, and what `feed` decides as it observes, until the run ends or `stop`
/// turns true; the engine's notices go to `notices`, which is closed on return.
async fn dispatch(
    session: &Session,
    run_id: i64,
    state: RunState,
    items: Vec<NewItem>,
    feed: Option<Feed>,
    stop: watch::Receiver<bool>,
    notices: mpsc::UnboundedSender<Notice>,
) -> anyhow::Result<(Outcome, Option<Feed>)> {
    let dispatcher = Dispatcher {
        ledger: &session.ledger,
        accounts: session.accounts.clone(),
        pacer: session.pacer.clone(),
        run_id,
        notices,
        lock_owner: lock::me(),
    };
    Ok(dispatcher.run(state, items, feed, stop).await?)
}

/// Records the plan of a run that observed as it went, and says its summary.
pub(super) fn finish_feed(
    global: &Global,
    ledger: &Ledger,
    feed: Feed,
    pace: Pace,
) -> anyhow::Result<()> {
    let plan_id = feed.plan_id;
    if let Some(summary) = feed.finish(ledger, pace)?
        && !global.quiet
    {
        // Said after the run, of a plan made as it went: what it decided, not what is to come.
        eprintln!(
            "Plan {plan_id}, decided as the run observed each stream: {}",
            summary_line(&summary)
        );
    }
    Ok(())
}

/// The exit code of a run's outcome, and the outcome its row records. Streams left in their
/// transition (`--no-wait`) are a success that keeps the run open for `resume`.
pub(super) fn exit_for(outcome: &Outcome) -> (Exit, RunOutcome) {
    let open = outcome.left_in_transition > 0;
    let or_open = |ended| if open { RunOutcome::Interrupted } else { ended };
    if outcome.aborted.is_some() {
        (Exit::Runtime, RunOutcome::Error)
    } else if outcome.interrupted {
        (Exit::Interrupted, RunOutcome::Interrupted)
    } else if outcome.count(Phase::Failed) > 0 {
        (Exit::Failed, or_open(RunOutcome::Failed))
    } else if outcome.count(Phase::Deferred) > 0 {
        (Exit::Deferred, or_open(RunOutcome::Deferred))
    } else if !outcome.skipped_fixable().is_empty() {
        (Exit::Skipped, or_open(RunOutcome::Skipped))
    } else {
        (Exit::Ok, or_open(RunOutcome::Converged))
    }
}

/// After the summary: how to follow a run that stopped before its end.
pub(super) fn how_to_go_on(session: &Session, run_id: i64, outcome: &Outcome) {
    if outcome.interrupted {
        eprintln!(
            "Interrupted. Continue with: {}",
            crate::hint::command(&format!("resume {run_id}"))
        );
        return;
    }
    if outcome.left_in_transition == 0 || outcome.aborted.is_some() {
        return;
    }
    let left: Vec<String> = outcome
        .tracks
        .iter()
        .filter(|t| t.phase == Phase::Polling)
        .map(|t| format!("{}/{}", t.region, t.name))
        .collect();
    let (what, it) = match left.as_slice() {
        [one] => (format!("{one} is in its transition"), "it"),
        _ => (
            format!("{} streams are in their transition", left.len()),
            "them",
        ),
    };
    if session.sandbox.is_some() {
        eprintln!("Accepted: {what} (the in-process sandbox ends with this command).");
    } else {
        eprintln!(
            "Accepted: {what}. Follow {it} with `{}` (or `{}`).",
            crate::hint::command(&format!("resume {run_id}")),
            crate::hint::command(&format!("status {run_id}"))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Abort, Notes, Track, TrackParts};
    use crate::model::KeyChoice;
    use crate::plan::Action;

    fn outcome(phases: &[Phase], left: usize) -> Outcome {
        let track = |(seq, phase): (usize, &Phase)| {
            Track::new(TrackParts {
                seq,
                line: seq as u64 + 2,
                region: "us-east-1".into(),
                name: format!("s{seq}").into(),
                account: None,
                target: KeyChoice::AwsOwned,
                action: Action::Enable,
                phase: *phase,
                starts: 1,
                notes: Notes::default(),
            })
        };
        Outcome {
            tracks: phases.iter().enumerate().map(track).collect(),
            calls: Default::default(),
            throttles: 0,
            poll_describes: 0,
            wall: Default::default(),
            interrupted: false,
            left_in_transition: left,
            aborted: None,
        }
    }

    #[test]
    fn a_run_is_recorded_by_what_needs_attention_most() {
        use Phase::*;
        let done = outcome(&[Done, Skipped], 0);
        assert_eq!(exit_for(&done), (Exit::Ok, RunOutcome::Converged));
        let deferred = outcome(&[Done, Deferred], 0);
        assert_eq!(exit_for(&deferred), (Exit::Deferred, RunOutcome::Deferred));
        let failed = outcome(&[Failed, Deferred], 0);
        assert_eq!(exit_for(&failed), (Exit::Failed, RunOutcome::Failed));
        let interrupted = Outcome {
            interrupted: true,
            ..outcome(&[Done, Pending], 0)
        };
        assert_eq!(
            exit_for(&interrupted),
            (Exit::Interrupted, RunOutcome::Interrupted)
        );
        // A skip the operator can fix is no success; one that is nobody's fault is.
        let skipped = |reason| {
            let mut o = outcome(&[Done, Skipped], 0);
            o.tracks[1] = Track::new(TrackParts {
                seq: 1,
                line: 3,
                region: "us-east-1".into(),
                name: "s1".into(),
                account: None,
                target: KeyChoice::AwsOwned,
                action: Action::Skip,
                phase: Skipped,
                starts: 0,
                notes: Notes {
                    reason: Some(crate::engine::Why::Plan(reason)),
                    ..Notes::default()
                },
            });
            o
        };
        use crate::plan::Reason;
        for fixable in [
            Reason::NoCredentials,
            Reason::KeyDisabled,
            Reason::ProducersDenied,
        ] {
            assert_eq!(
                exit_for(&skipped(fixable)),
                (Exit::Skipped, RunOutcome::Skipped),
                "{fixable}"
            );
        }
        for nobodys in [Reason::NotDirectPut, Reason::NotFound, Reason::NotActive] {
            assert_eq!(
                exit_for(&skipped(nobodys)),
                (Exit::Ok, RunOutcome::Converged),
                "{nobodys}"
            );
        }
        let aborted = Outcome {
            aborted: Some(Abort::LockLost),
            ..outcome(&[Failed, Pending], 0)
        };
        assert_eq!(exit_for(&aborted), (Exit::Runtime, RunOutcome::Error));
    }

    #[test]
    fn streams_left_in_their_transition_are_a_success_that_keeps_the_run_open() {
        use Phase::*;
        let accepted = outcome(&[Polling], 1);
        assert_eq!(exit_for(&accepted), (Exit::Ok, RunOutcome::Interrupted));
        // Whatever else happened, `resume` must find the run to follow them.
        let failed = outcome(&[Polling, Failed], 1);
        assert_eq!(exit_for(&failed), (Exit::Failed, RunOutcome::Interrupted));
    }
}
