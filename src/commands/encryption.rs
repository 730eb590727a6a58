//! `start-delivery-stream-encryption` and `stop-delivery-stream-encryption`: the AWS CLI's own
//! commands, carried out as a one-stream fleet by the same survey, planner and engine as
//! `apply FLEET --yes` — budget checked against the reserve, key room checked, paced, every
//! call recorded, the stream polled to ENABLED or DISABLED — with apply's exit codes. With
//! `--no-wait` the run stops once the call is accepted (as the AWS CLI returns), left open for
//! `resume` to follow.

use std::path::Path;

use tokio::sync::{mpsc, watch};

use super::running::{config, dispatch, exit_for, finish_feed, stop_on_signals, take_lock};
use super::{LedgerMode, Session};
use crate::apply::Feed;
use crate::apply::feed::ToObserve;
use crate::engine::{Notice, Phase, RunState};
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::{EncryptionArgs, RunArgs, RunKind, RunOutcome};
use crate::options::aws_input::Operation;
use crate::options::{EncryptionAction, EncryptionOptions};

pub async fn encryption(opts: &EncryptionOptions) -> anyhow::Result<Exit> {
    let request = match &opts.action {
        EncryptionAction::Skeleton(text) => {
            crate::out!("{text}");
            return Ok(Exit::Ok);
        }
        EncryptionAction::Call(request) => request,
    };
    let global = &opts.global;
    let command = opts.operation.command();
    let region =
        crate::aws::default_region(opts.region.as_deref(), global.connect.profile.as_deref())
            .await
            .ok_or_else(|| {
                UsageError::new(format!(
                    "{command} needs the stream's region: pass --region REGION (or set \
                     AWS_REGION, or a region in the profile)"
                ))
            })?;
    if !crate::model::is_valid_region(&region) {
        return Err(UsageError::new(format!(
            "malformed region {region:?} (expected e.g. us-east-1)"
        ))
        .into());
    }
    if let Some(arn) = request.key.key_arn()
        && arn.region() != region
    {
        return Err(UsageError::new(format!(
            "KeyARN is a key of {}, but the stream is in {region}: Firehose needs a key of the \
             stream's own region",
            arn.region()
        ))
        .into());
    }
    let target = Target {
        line: 1,
        name: request.name.clone(),
        region: region.as_str().into(),
        account: None,
        key: request.key.clone(),
        expect: None,
    };
    // What the plan records as its fleet: the command and its stream.
    let fleet = format!("{command} {region}/{}", request.name);
    let targets = [target];
    let session = Session::open(
        global,
        &opts.run.pace,
        opts.run.sandbox.as_ref(),
        Some((Path::new(&fleet), &targets)),
        LedgerMode::Create,
    )
    .await?;
    let ledger = &session.ledger;
    let place = session.place().await;
    let held = take_lock(ledger)?;
    ledger.abandon_planless_runs()?;
    let run_args = EncryptionArgs {
        fleet: fleet.clone(),
        stream: request.name.clone(),
        region: region.clone(),
        reserve: opts.settings.reserve,
        cmk_limit: opts.settings.cmk_limit,
        no_wait: opts.no_wait,
        place: place.document(),
    };
    let run_args = match opts.operation {
        Operation::Start => RunArgs::StartEncryption(run_args),
        Operation::Stop => RunArgs::StopEncryption(run_args),
    };
    let run = ledger.start_run(RunKind::Apply, None, &run_args)?;
    held.set_run(run.id())?;
    let run_id = run.id();
    let to_observe = ToObserve {
        fleet: &fleet,
        targets: targets.to_vec(),
        seqs: vec![0],
        settings: opts.settings,
    };
    let (feed, first) = Feed::start(ledger, &session.clients(), run_id, to_observe).await?;
    let customer_key = request.key.key_arn().is_some();
    super::warn_if_credentials_cannot_refresh(session.accounts.base(), customer_key).await;

    // The engine's notices go to the reporter; on the way, --no-wait watches for the call's
    // acceptance (the stream polling) and asks the engine to stop there.
    let (notices, mut tapped) = mpsc::unbounded_channel::<Notice>();
    let (to_reporter, notices_rx) = mpsc::unbounded_channel();
    let reporter = crate::report::apply::spawn_reporter(session.progress, 1, notices_rx);
    let (stop, stopped) = watch::channel(false);
    let mut signals = stop_on_signals();
    let by_signal = stop.clone();
    tokio::spawn(async move {
        if signals.wait_for(|asked| *asked).await.is_ok() {
            let _ = by_signal.send(true);
        }
    });
    let no_wait = opts.no_wait;
    let tap = tokio::spawn(async move {
        let mut accepted = false;
        while let Some(notice) = tapped.recv().await {
            if no_wait
                && !accepted
                && matches!(&notice, Notice::Progress(s) if s.count(Phase::Polling) > 0)
            {
                accepted = true;
                let _ = stop.send(true);
            }
            let _ = to_reporter.send(notice);
        }
        accepted
    });
    let mut state = RunState::new(
        config(&opts.run, opts.settings),
        ledger.key_counts_now()?,
        ledger.now(),
    );
    state.reserve(1);
    state.expect_observations(feed.throttles);
    let result = dispatch(&session, run_id, state, first, Some(feed), stopped, notices).await;
    let accepted = tap.await.unwrap_or(false);
    let _ = reporter.await;
    let (outcome, feed) = result?;
    if let Some(feed) = feed {
        finish_feed(global, ledger, feed, opts.run.pace.plan())?;
    }
    // Stopped by --no-wait once the call was accepted: a success, the run left open.
    let waiting = accepted && outcome.interrupted && outcome.aborted.is_none();
    let (exit, label) = if waiting {
        (Exit::Ok, RunOutcome::Interrupted)
    } else {
        exit_for(&outcome)
    };
    run.finish(label)?;
    held.release()?;
    let summary = crate::report::apply::summary(ledger, run_id, &outcome, session.color)?;
    global.output.print(
        opts.operation.operation(),
        || summary.json.clone(),
        || summary.text.clone(),
    )?;
    if waiting && opts.run.sandbox.is_some() {
        eprintln!(
            "Accepted: {region}/{} is in its transition (the in-process sandbox ends with this \
             command).",
            request.name
        );
    } else if waiting {
        eprintln!(
            "Accepted: {region}/{} is in its transition. Follow it with `firehose-sse resume \
             {run_id}` (or `firehose-sse status {run_id}`).",
            request.name
        );
    } else if outcome.interrupted {
        eprintln!("Interrupted. Continue with: firehose-sse resume {run_id}");
    }
    if let Some(why) = &outcome.aborted {
        anyhow::bail!("run {run_id} stopped: {why}. Fix it, then: firehose-sse resume {run_id}");
    }
    Ok(exit)
}
