//! `firehose-sse`: parse the command line, resolve it into typed options, set up logging, run,
//! map the outcome to an exit code.

use std::process::ExitCode;

use firehose_sse::options::Options;
use firehose_sse::{cli, exit_code_for, run};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `plan --detailed-exitcode` follows Terraform: 0 no changes, 2 changes, 1 any error (a
    // usage error included, which is 2 otherwise).
    let detailed = args.iter().any(|a| a == "--detailed-exitcode");
    let cli = match cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match (detailed, e.use_stderr()) {
                (true, true) => ExitCode::from(1),
                _ => ExitCode::from(e.exit_code() as u8),
            };
        }
    };
    let result = Options::resolve(cli)
        .map_err(anyhow::Error::from)
        .and_then(|options| {
            firehose_sse::logging::init(&options.log);
            run(options.command)
        });
    let result = result.and_then(|exit| match firehose_sse::report::stdout_failed() {
        // Output that could not be written is no success: a truncated report says nothing.
        Some(why) => Err(anyhow::anyhow!("cannot write to standard output: {why}")),
        None => Ok(exit),
    });
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            firehose_sse::report::stderr(&format!("error: {err:#}\n"));
            match detailed {
                true => firehose_sse::error::Exit::Runtime.into(),
                false => exit_code_for(&err).into(),
            }
        }
    }
}
