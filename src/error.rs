//! Exit codes and the errors that choose them. Inside the crate errors are typed (thiserror);
//! `main` receives an `anyhow::Error` and asks [`exit_code_for`] which documented code it maps
//! to by looking for one of our typed errors in its chain.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | converged: every stream is at its target (or the plan was made) |
//! | 1 | runtime error (AWS unreachable, ledger unusable, ...) |
//! | 2 | usage or input error: nothing was called, no ledger written |
//! | 3 | finished, some streams failed |
//! | 4 | finished, some streams deferred (budget) and none failed |
//! | 130 | interrupted (SIGINT/SIGTERM); `resume` continues |

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Runtime = 1,
    Usage = 2,
    Failed = 3,
    Deferred = 4,
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// A usage or input problem found before anything was sent or written (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError(message.into())
    }
}

/// Errors that know their own exit code.
pub trait HasExit {
    fn exit(&self) -> Exit;
}

/// The exit code for an error that reached `main`: the first error in its chain that knows its
/// code decides; anything else is a runtime error.
pub fn exit_code_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<UsageError>() || cause.is::<crate::input::FleetErrors>() {
            return Exit::Usage;
        }
        if let Some(e) = cause.downcast_ref::<crate::ledger::LedgerError>() {
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
