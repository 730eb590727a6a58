//! Exit codes and the errors that choose them. Inside the crate errors are typed (thiserror);
//! `main` receives an `anyhow::Error` and the crate root's `exit_code_for` maps it to one of
//! these documented codes by looking for one of our typed errors in its chain. This module is a
//! leaf: it knows no other module of the crate, they know it.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | converged: every stream is at its target (or the plan was made) |
//! | 1 | runtime error (AWS unreachable, ledger unusable, ...) |
//! | 2 | usage or input error: nothing was called, no ledger written; `plan --detailed-exitcode`: the plan has changes; `audit`: a producer would be refused its key |
//! | 3 | finished, some streams failed |
//! | 4 | finished, some streams deferred (budget) and none failed |
//! | 5 | halted by a health gate of a rollout in waves (`resume --override-gate` goes on) |
//! | 6 | finished, some streams skipped for a cause the operator can fix (no credentials for their account, their key, their producers) and none failed or deferred; `inventory`: accounts that could not be listed |
//! | 130 | interrupted (SIGINT/SIGTERM); `resume` continues |

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Runtime,
    Usage,
    Failed,
    Deferred,
    Interrupted,
    /// `plan --detailed-exitcode`: the plan has changes (Terraform's convention).
    Changes,
    /// `audit`: a producer would be refused its stream's key.
    ProducersDenied,
    /// A rollout in waves halted by a failed health gate.
    Halted,
    /// Finished, with streams skipped for a cause the operator can fix (no credentials act in
    /// their account, their key, their producers), or accounts an inventory could not list:
    /// a run that reached less than it was given is no success a job can mistake for one.
    Skipped,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Runtime => 1,
            Exit::Usage | Exit::Changes | Exit::ProducersDenied => 2,
            Exit::Failed => 3,
            Exit::Deferred => 4,
            Exit::Halted => 5,
            Exit::Skipped => 6,
            Exit::Interrupted => 130,
        }
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
