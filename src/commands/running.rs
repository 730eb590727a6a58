//! What every command that carries out a run shares (`apply`, `resume`, `rollback`, and the
//! encryption commands): the engine's settings from the flags, the apply lock, the signals that
//! stop a run, the dispatch of a run's items, the plan a run made as it observed, and the exit
//! code of its outcome.

use tokio::sync::{mpsc, watch};

use super::Session;
use crate::apply::{Dispatcher, Feed};
use crate::engine::{Config, NewItem, Notice, Outcome, Phase, RunState};
use crate::error::Exit;
use crate::ledger::{Ledger, LockGuard, RunOutcome, StaleAfter, lock};
use crate::options::{Global, RunOptions};
use crate::plan::{Pace, Settings};
use crate::report::plan::summary_line;

/// The engine's settings: the run's flags and the plan's limits (a Start refused for its key's
/// limit just after a rekey freed a slot there is tried once more 30 s later).
pub(super) fn config(run: &RunOptions, settings: Settings) -> Config {
    Config {
        settings,
        concurrency: run.pace.concurrency,
        max_wait: run.max_wait,
        poll_timeout: run.poll_timeout,
        max_attempts: run.max_attempts,
        first_poll: run.first_poll,
        key_retry: std::time::Duration::from_secs(30),
        no_wait: false,
    }
}

/// SIGINT/SIGTERM: the first stops dispatching (the engine finishes what is in flight), the
/// second exits at once — the ledger never depends on a clean exit.
pub(super) fn stop_on_signals() -> watch::Receiver<bool> {
    crate::signal::stop_on_signals(
        "stopping: finishing the calls in flight (signal again to exit at once)",
        "exiting now; the ledger is consistent, `firehose-sse resume` continues",
        Exit::Interrupted.code(),
    )
}

/// Takes the ledger's apply lock for this process.
pub(super) fn take_lock(ledger: &Ledger) -> anyhow::Result<LockGuard<'_>> {
    let (pid, host) = lock::me();
    Ok(ledger.acquire_lock(pid, &host, None, StaleAfter::ProcessTable)?)
}

/// Carries out `items`, and what `feed` decides as it observes, until the run ends or `stop`
/// turns true; the engine's notices go to `notices`, which is closed on return.
pub(super) async fn dispatch(
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
        eprintln!("Plan {plan_id}: {}", summary_line(&summary));
    }
    Ok(())
}

/// The exit code of a run's outcome, and the outcome its run row gets.
pub(super) fn exit_for(outcome: &Outcome) -> (Exit, RunOutcome) {
    if outcome.aborted.is_some() {
        (Exit::Runtime, RunOutcome::Error)
    } else if outcome.interrupted {
        (Exit::Interrupted, RunOutcome::Interrupted)
    } else if outcome.count(Phase::Failed) > 0 {
        (Exit::Failed, RunOutcome::Failed)
    } else if outcome.count(Phase::Deferred) > 0 {
        (Exit::Deferred, RunOutcome::Deferred)
    } else {
        (Exit::Ok, RunOutcome::Converged)
    }
}
