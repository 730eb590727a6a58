//! Writes grouped into one transaction. With `synchronous=FULL` every commit waits for the
//! disk, so a dispatcher that committed each write on its own would spend most of its time
//! waiting for fsync: it opens a [`Batch`] for one turn of its loop instead, makes every write
//! of that turn inside it, and commits once. The promise of an attempt row is unchanged: a
//! Start is sent only after the commit that holds its attempt (the dispatcher holds each
//! Start's go-ahead until then); a batch that is never committed (an error, a crash) loses
//! only writes whose effects nothing outside relied on yet.
//!
//! Methods that write several statements use [`Ledger::atomic`], a savepoint: its own
//! transaction outside a batch, a part of the batch inside one.

use rusqlite::Connection;

use super::{Ledger, Result};

/// An open transaction over one turn of writes; [`Batch::commit`] ends it, dropping it rolls
/// it back.
#[derive(Debug)]
#[must_use = "a batch is rolled back unless committed"]
pub struct Batch<'a> {
    ledger: &'a Ledger,
    open: bool,
}

impl Ledger {
    /// Opens a batch: every write until [`Batch::commit`] is one transaction.
    pub fn batch(&self) -> Result<Batch<'_>> {
        self.conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Batch {
            ledger: self,
            open: true,
        })
    }

    /// Whether a batch (or any transaction) is open on the ledger.
    pub fn in_batch(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs `f` all or nothing: in a transaction of its own, or inside the open batch, which
    /// a failed write fails as a whole (its owner rolls it back). No savepoint inside a batch:
    /// SQLite would journal every page the batch touched again into a temporary file.
    pub(crate) fn atomic<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.in_batch() {
            return f(&self.conn);
        }
        self.conn.prepare_cached("SAVEPOINT atomic")?.execute([])?;
        match f(&self.conn) {
            Ok(value) => {
                self.conn.prepare_cached("RELEASE atomic")?.execute([])?;
                Ok(value)
            }
            Err(e) => {
                // A failed statement may have ended the transaction already (SQLite rolls
                // back on some errors, a full disk among them): nothing more to undo then.
                if !self.conn.is_autocommit() {
                    let _ = self
                        .conn
                        .execute_batch("ROLLBACK TO atomic; RELEASE atomic");
                }
                Err(e)
            }
        }
    }
}

impl Batch<'_> {
    /// Commits every write of the batch (one fsync).
    pub fn commit(mut self) -> Result<()> {
        // On an error the transaction may still be open: dropping the batch rolls it back.
        self.ledger.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.open && !self.ledger.conn.is_autocommit() {
            let _ = self.ledger.conn.execute_batch("ROLLBACK");
        }
    }
}
