//! firehose-sse: roll out Firehose server-side encryption across a fleet, within every AWS
//! limit, resumably. See ARCHITECTURE.md for how the modules fit together.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod commands;
pub mod error;
pub mod input;
pub mod ledger;
pub mod limits;
pub mod logging;
pub mod model;
pub mod observe;
pub mod pace;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod survey;

use crate::cli::{Cli, Command};
use crate::error::{Exit, HasExit, UsageError};

/// Runs one command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    // The sandbox runs its own server runtime.
    if let Command::Sandbox(args) = &cli.command {
        return sandbox::command::run(&cli.global, args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match &cli.command {
            Command::Plan(args) => commands::plan(&cli.global, args).await,
            Command::Inventory(args) => commands::inventory(&cli.global, args).await,
            Command::Apply(args) => commands::apply(&cli.global, args).await,
            Command::Resume(args) => commands::resume(&cli.global, args).await,
            Command::Status(args) => commands::status(&cli.global, args),
            Command::Report(args) => commands::report(&cli.global, args),
            Command::History => commands::history(&cli.global),
            Command::Sandbox(_) => unreachable!("served above"),
        }
    })
}

/// The exit code for an error that reached `main`: the first error in its chain that knows its
/// code decides (a usage error, a fleet file's problems, a ledger error); anything else is a
/// runtime error. Mapped here, at the top, so that `error` depends on no other module.
pub fn exit_code_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<UsageError>() || cause.is::<input::FleetErrors>() {
            return Exit::Usage;
        }
        if let Some(e) = cause.downcast_ref::<ledger::LedgerError>() {
            return e.exit();
        }
    }
    Exit::Runtime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_even_when_wrapped() {
        let err = anyhow::Error::new(UsageError::new("bad flag")).context("while planning");
        assert_eq!(exit_code_for(&err), Exit::Usage);
        assert_eq!(exit_code_for(&anyhow::anyhow!("boom")), Exit::Runtime);
    }
}
