//! firehose-sse: roll out Firehose server-side encryption across a fleet, within every AWS
//! limit, resumably. See ARCHITECTURE.md for how the modules fit together.

// Writes to stderr never panic: std's `eprintln!` panics when stderr is closed (`cmd 2>&1 | head`),
// which would turn a finished run into exit 101 and a run recorded as failed. These shadow std's
// macros in every module declared below; a message that cannot be written is dropped.
macro_rules! eprintln {
    () => { $crate::report::stderr("\n") };
    ($($arg:tt)*) => { $crate::report::stderr(&format!("{}\n", format_args!($($arg)*))) };
}

macro_rules! eprint {
    ($($arg:tt)*) => { $crate::report::stderr(&format!($($arg)*)) };
}

pub mod apply;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod commands;
pub mod engine;
pub mod error;
pub mod files;
pub mod hint;
pub mod iac;
pub mod input;
pub mod ledger;
pub mod limits;
pub mod logging;
pub mod model;
pub mod observe;
pub mod options;
pub mod pace;
pub mod plan;
pub mod planfile;
pub mod producers;
pub mod report;
pub mod shard;
pub mod signal;
pub mod survey;
pub mod waves;

use crate::error::{Exit, HasExit, UsageError};
use crate::options::CommandOptions;

/// Runs one resolved command line to completion.
pub fn run(command: CommandOptions) -> anyhow::Result<Exit> {
    // The sandbox runs its own server runtime; the command line's descriptions need none.
    match &command {
        CommandOptions::Sandbox(sandbox) => {
            let (global, args) = &**sandbox;
            return commands::sandbox(global, args);
        }
        CommandOptions::Completions(shell) => return Ok(commands::completions(*shell)),
        CommandOptions::Man(command) => return commands::man(command.as_deref()),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match &command {
            CommandOptions::Plan(opts) => commands::plan(opts).await.map_err(again("plan")),
            CommandOptions::Inventory(opts) => {
                commands::inventory(opts).await.map_err(again("inventory"))
            }
            CommandOptions::Audit(opts) => commands::audit(opts).await.map_err(again("audit")),
            CommandOptions::Apply(opts) => commands::apply(opts).await,
            CommandOptions::Resume(opts) => commands::resume(opts).await,
            CommandOptions::Rollback(opts) => commands::rollback(opts).await,
            CommandOptions::Status(opts) => commands::status(opts),
            CommandOptions::Report(opts) => commands::report(opts),
            CommandOptions::Show(opts) => commands::show(opts),
            CommandOptions::History(global) => commands::history(global),
            CommandOptions::Encryption(opts) => commands::encryption(opts).await,
            CommandOptions::Sandbox(_)
            | CommandOptions::Completions(_)
            | CommandOptions::Man(_) => {
                unreachable!("handled above")
            }
        }
    })
}

/// For a command that leaves no run to resume (`plan`, `inventory`, `audit`): a full disk
/// under the ledger is said with what applies — run the command again — rather than the
/// `resume` that takes up an apply.
fn again(command: &'static str) -> impl FnOnce(anyhow::Error) -> anyhow::Error {
    move |error| {
        let full = error.chain().any(|c| {
            c.downcast_ref::<ledger::LedgerError>().is_some_and(|e| {
                e.is_disk_full()
                    && !matches!(
                        e,
                        ledger::LedgerError::CreateDiskFull(_)
                            | ledger::LedgerError::OpenDiskFull(_)
                    )
            })
        });
        match full {
            true => anyhow::anyhow!(
                "the ledger's disk is full: the statement was rolled back, nothing was \
                 half-written, and {command} leaves no run to resume; free some space, then run \
                 the same `{command}` command again"
            ),
            false => error,
        }
    }
}

/// The exit code for an error that reached `main`: the first error in its chain that knows its
/// code decides (a usage error, a fleet file's problems, a `--query` the document cannot
/// answer, a ledger error); anything else is a runtime error. Mapped here, at the top, so that `error` depends on no other module.
pub fn exit_code_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<UsageError>()
            || cause.is::<input::FleetErrors>()
            || cause.is::<report::QueryError>()
            || cause.is::<planfile::PlanFileError>()
        {
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
