//! Writes grouped into one transaction. With `synchronous=FULL` every commit waits for the
//! disk, so a dispatcher that committed each write on its own would spend most of its time
//! waiting for fsync: it opens a [`Batch`] for one turn of its loop instead, makes every write
//! of that turn inside it, and commits once. The promise of an attempt row is unchanged: a
//! Start is sent only after the commit that holds its attempt (the dispatcher holds each
//! Start's go-ahead until then); a batch that is never committed (an error, a crash) loses
//! only writes whose effects nothing outside relied on yet.
//!
//! Methods that write several statements use [`Ledger::atomic`]: a transaction of its own
//! outside a batch, a part of the batch inside one.
//!
//! Both take the write lock when they begin (`BEGIN IMMEDIATE`): a transaction that read
//! first and wrote later would be refused at once ("database is locked", no busy wait) if
//! another process (a `plan` or `inventory` on the same ledger) committed in between; taking
//! the lock first waits for the other writer, up to the busy timeout, instead.

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
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
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
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let done = f(&self.conn).and_then(|value| {
            self.conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(value)
        });
        // A failed statement or commit may have ended the transaction already (SQLite rolls
        // back on some errors, a full disk among them): nothing more to undo then.
        if done.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        done
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
