//! `firehose-sse`: parse the command line, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use firehose_sse::{cli::Cli, error, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    firehose_sse::logging::init(&cli.global);
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            error::exit_code_for(&err).into()
        }
    }
}
