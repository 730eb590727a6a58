//! firehose-sse: roll out Firehose server-side encryption across a fleet, within every AWS
//! limit, resumably. See ARCHITECTURE.md for how the modules fit together.

pub mod aws;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod error;
pub mod input;
pub mod ledger;
pub mod logging;
pub mod model;
pub mod report;
pub mod sandbox;

use crate::cli::{Cli, Command};
use crate::error::Exit;

/// Runs one command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Plan(args) => commands::plan(&cli.global, &args),
        Command::Sandbox(args) => sandbox::command::run(&cli.global, &args),
    }
}
