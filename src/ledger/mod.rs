//! The SQLite ledger (placeholder until the ledger lands).

use crate::error::{Exit, HasExit};

#[derive(Debug, thiserror::Error)]
#[error("ledger error")]
pub struct LedgerError;

impl HasExit for LedgerError {
    fn exit(&self) -> Exit {
        Exit::Runtime
    }
}
