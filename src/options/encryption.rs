//! The options of `start-delivery-stream-encryption` and `stop-delivery-stream-encryption`:
//! the AWS CLI's input read by [`super::aws_input`] into a request (or a skeleton to print),
//! and the run's settings, as for a one-stream `apply --yes`.

use super::aws_input::{self, Operation, RawInput, Request};
use super::{Global, RunOptions, pace, sandbox, settings};
use crate::cli::{EncryptionArgs, GlobalArgs, StartEncryptionArgs, StopEncryptionArgs};
use crate::error::UsageError;
use crate::plan::Settings;

/// What an encryption command does: print a skeleton, or carry out the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionAction {
    /// `--generate-cli-skeleton`: print this and call nothing.
    Skeleton(String),
    /// A one-stream fleet, planned and applied.
    Call(Request),
}

/// `start-delivery-stream-encryption` and `stop-delivery-stream-encryption`.
#[derive(Debug)]
pub struct EncryptionOptions {
    pub global: Global,
    pub operation: Operation,
    pub action: EncryptionAction,
    /// The one `--region` given (else the profile's, looked up by the command).
    pub region: Option<String>,
    pub settings: Settings,
    pub run: RunOptions,
    /// `--no-wait`: return once the call is accepted.
    pub no_wait: bool,
}

/// `start-delivery-stream-encryption`.
pub(super) fn start(
    g: &GlobalArgs,
    global: Global,
    args: StartEncryptionArgs,
) -> Result<EncryptionOptions, UsageError> {
    let raw = RawInput {
        delivery_stream_name: args.delivery_stream_name,
        configuration: args.delivery_stream_encryption_configuration_input,
        cli_input_json: args.common.cli_input_json.clone(),
    };
    resolve(g, global, Operation::Start, raw, &args.common)
}

/// `stop-delivery-stream-encryption`.
pub(super) fn stop(
    g: &GlobalArgs,
    global: Global,
    args: StopEncryptionArgs,
) -> Result<EncryptionOptions, UsageError> {
    let raw = RawInput {
        delivery_stream_name: args.delivery_stream_name,
        configuration: None,
        cli_input_json: args.common.cli_input_json.clone(),
    };
    resolve(g, global, Operation::Stop, raw, &args.common)
}

/// An encryption command: its skeleton, or its input checked into a request; carried out as a
/// one-stream apply that never asks (the command is the request, as in the AWS CLI).
fn resolve(
    g: &GlobalArgs,
    global: Global,
    operation: Operation,
    raw: RawInput,
    args: &EncryptionArgs,
) -> Result<EncryptionOptions, UsageError> {
    let action = match args.generate_cli_skeleton.as_deref() {
        Some("input") => EncryptionAction::Skeleton(operation.input_skeleton()),
        // The input is checked; the operation's output has no members, so the AWS CLI
        // prints nothing.
        Some(_) => {
            aws_input::request(operation, &raw)?;
            EncryptionAction::Skeleton(String::new())
        }
        None => EncryptionAction::Call(aws_input::request(operation, &raw)?),
    };
    Ok(EncryptionOptions {
        region: g.single_region()?.map(str::to_owned),
        global,
        operation,
        action,
        settings: settings(&args.limits, &args.producers),
        run: RunOptions {
            yes: true,
            allow_endpoint_change: false,
            pace: pace(&args.pace),
            max_wait: args.max_wait,
            poll_timeout: args.poll_timeout,
            max_attempts: args.max_attempts,
            first_poll: args.first_poll,
            retirement_wait: crate::engine::GRANT_RETIREMENT_WAIT,
            sandbox: sandbox(&args.sandbox),
        },
        no_wait: args.no_wait,
    })
}
