//! `start-delivery-stream-encryption` and `stop-delivery-stream-encryption`: the AWS CLI's own
//! commands, carried out as a one-stream fleet by the same survey, planner and engine as
//! `apply FLEET --yes` — budget checked against the reserve, key room checked, paced, every
//! call recorded, the stream polled to ENABLED or DISABLED — with apply's exit codes. With
//! `--no-wait` the engine stops following the stream once the call is accepted (as the AWS CLI
//! returns), the run left open for `resume` to follow.

use std::path::Path;

use super::running::{Run, carry_out, config, exit_code, take_lock};
use super::{LedgerMode, Session};
use crate::apply::Feed;
use crate::apply::feed::ToObserve;
use crate::engine::Config;
use crate::error::{Exit, UsageError};
use crate::input::Target;
use crate::ledger::{EncryptionArgs, RunArgs, RunKind};
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
    let to_observe = ToObserve {
        fleet: &fleet,
        targets: targets.to_vec(),
        seqs: vec![0],
        settings: opts.settings,
    };
    let (feed, first) = Feed::start(ledger, &session.clients(), run.id(), to_observe).await?;
    let run = Run {
        row: run,
        items: first,
        feed: Some((feed, opts.run.pace.plan())),
        config: Config {
            no_wait: opts.no_wait,
            ..config(&opts.run, opts.settings)
        },
        title: opts.operation.operation(),
    };
    let outcome = carry_out(global, &session, run).await?;
    held.release()?;
    Ok(exit_code(&outcome))
}
