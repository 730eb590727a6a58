//! `firehose-sse`: parse the command line, set up logging, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use firehose_sse::{cli::Cli, exit_code_for, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    firehose_sse::logging::init(&cli.global);
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code_for(&err).into()
        }
    }
}
