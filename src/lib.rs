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
pub mod logging;
pub mod model;
pub mod observe;
pub mod pace;
pub mod plan;
pub mod report;
pub mod survey;

use crate::cli::{Cli, Command};
use crate::error::Exit;

/// Runs one command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    // The sandbox runs its own server runtime.
    if let Command::Sandbox(args) = &cli.command {
        return commands::sandbox(&cli.global, args);
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
