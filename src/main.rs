//! `firehose-sse`: parse the command line, resolve it into typed options, set up logging, run,
//! map the outcome to an exit code.

use std::process::ExitCode;

use firehose_sse::options::Options;
use firehose_sse::{cli, exit_code_for, run};

fn main() -> ExitCode {
    let result = Options::resolve(cli::parse())
        .map_err(anyhow::Error::from)
        .and_then(|options| {
            firehose_sse::logging::init(&options.log);
            run(options.command)
        });
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code_for(&err).into()
        }
    }
}
