//! The apply lock: at most one process writes calls into a ledger at a time. The holder is a
//! row (pid, host, run, since, heartbeat). A second acquirer is refused with the holder's
//! identity, unless the holder is gone: on the same host its process no longer exists; on
//! another host (a ledger on a shared disk) its heartbeat is older than
//! [`STALE_AFTER_OTHER_HOST`]. A holder whose lock was taken over learns it at its next
//! heartbeat and stops.
//!
//! Taking the lock returns a [`LockGuard`]: the lock is released when the guard is dropped, so
//! an early return cannot leave it held (only a process that dies leaves its row behind, for the
//! rules above to clear).

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Ledger, LedgerError, Result};
use crate::clock::{EpochMillis, SECOND};

/// How often a holder refreshes its heartbeat.
pub const HEARTBEAT_EVERY: EpochMillis = 10 * SECOND;
/// A heartbeat older than this means the holder is gone.
pub const STALE_AFTER_OTHER_HOST: EpochMillis = 2 * 60 * SECOND;

/// Who holds (or wants) the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub run_id: Option<i64>,
    pub acquired_at: EpochMillis,
    pub heartbeat_at: EpochMillis,
}

/// How a process decides whether a holder on its own host is still running.
#[derive(Debug, Clone, Copy)]
pub enum StaleAfter {
    /// Ask the operating system (`/proc/<pid>` on Linux).
    ProcessTable,
    /// Trust only heartbeats (tests; hosts without `/proc`).
    HeartbeatOnly,
}

/// This process's identity.
pub fn me() -> (u32, String) {
    (std::process::id(), hostname())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// Whether `pid` runs on this host; `None` where the process table cannot be read.
fn process_exists(pid: u32) -> Option<bool> {
    cfg!(target_os = "linux").then(|| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

impl LockHolder {
    /// Whether the holder has gone (its process ended, or its heartbeat went silent), as
    /// seen from this process.
    pub fn gone(&self, now: EpochMillis) -> bool {
        self.is_gone(now, &hostname(), StaleAfter::ProcessTable)
    }

    /// On this host the process table decides (a holder may be silent for long while it
    /// observes a large fleet or waits for its operator's `yes`); elsewhere, or where the
    /// process table cannot be read, its heartbeat.
    fn is_gone(&self, now: EpochMillis, my_host: &str, check: StaleAfter) -> bool {
        let alive = match check {
            StaleAfter::ProcessTable if self.host == my_host => process_exists(self.pid),
            _ => None,
        };
        alive.map_or(now - self.heartbeat_at > STALE_AFTER_OTHER_HOST, |alive| {
            !alive
        })
    }
}

/// The apply lock, held by (`pid`, `host`): released when dropped, or by
/// [`LockGuard::release`], which reports a failure to release.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard<'a> {
    ledger: &'a Ledger,
    pid: u32,
    host: String,
    released: bool,
}

impl LockGuard<'_> {
    /// Who holds the lock: (pid, host).
    pub fn owner(&self) -> (u32, &str) {
        (self.pid, &self.host)
    }

    /// Refreshes the heartbeat; `false` when the lock is no longer ours (taken over).
    pub fn heartbeat(&self) -> Result<bool> {
        self.ledger.heartbeat_lock(self.pid, &self.host)
    }

    /// Records which run the lock protects.
    pub fn set_run(&self, run_id: i64) -> Result<()> {
        self.ledger.set_lock_run(self.pid, &self.host, run_id)
    }

    /// Releases the lock now, saying so if the ledger cannot record it.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        self.ledger.release_lock(self.pid, &self.host)
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if !self.released
            && let Err(e) = self.ledger.release_lock(self.pid, &self.host)
        {
            tracing::warn!("cannot release the apply lock: {e}");
        }
    }
}

impl Ledger {
    /// Takes the apply lock for (`pid`, `host`), or says who holds it. Taking it again while
    /// holding it succeeds (and dropping either guard releases it).
    pub fn acquire_lock(
        &self,
        pid: u32,
        host: &str,
        run_id: Option<i64>,
        check: StaleAfter,
    ) -> Result<LockGuard<'_>> {
        let now = self.now();
        let conn_tx =
            rusqlite::Transaction::new_unchecked(self.conn(), TransactionBehavior::Immediate)?;
        if let Some(holder) = read_holder(&conn_tx)? {
            let mine = holder.pid == pid && holder.host == host;
            if !mine && !holder.is_gone(now, host, check) {
                return Err(LedgerError::Locked(holder));
            }
            if !mine {
                tracing::warn!(
                    pid = holder.pid,
                    host = %holder.host,
                    "taking over the apply lock of a holder that is gone"
                );
            }
        }
        conn_tx.execute(
            "INSERT OR REPLACE INTO apply_lock (id, pid, host, run_id, acquired_at, heartbeat_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?4)",
            params![pid, host, run_id, now],
        )?;
        conn_tx.commit()?;
        Ok(LockGuard {
            ledger: self,
            pid,
            host: host.to_owned(),
            released: false,
        })
    }

    /// Refreshes the heartbeat; `false` when the lock is no longer ours (taken over).
    pub fn heartbeat_lock(&self, pid: u32, host: &str) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE apply_lock SET heartbeat_at = ?3 WHERE id = 1 AND pid = ?1 AND host = ?2",
            params![pid, host, self.now()],
        )?;
        Ok(n == 1)
    }

    /// Records which run the lock protects.
    pub fn set_lock_run(&self, pid: u32, host: &str, run_id: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE apply_lock SET run_id = ?3 WHERE id = 1 AND pid = ?1 AND host = ?2",
            params![pid, host, run_id],
        )?;
        Ok(())
    }

    /// Releases the lock if (`pid`, `host`) holds it; what a [`LockGuard`] does when dropped.
    fn release_lock(&self, pid: u32, host: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM apply_lock WHERE id = 1 AND pid = ?1 AND host = ?2",
            params![pid, host],
        )?;
        Ok(())
    }

    /// The current holder, if any (shown by `status`).
    pub fn lock_holder(&self) -> Result<Option<LockHolder>> {
        read_holder(self.conn())
    }
}

fn read_holder(conn: &rusqlite::Connection) -> Result<Option<LockHolder>> {
    Ok(conn
        .query_row(
            "SELECT pid, host, run_id, acquired_at, heartbeat_at FROM apply_lock WHERE id = 1",
            [],
            |r| {
                Ok(LockHolder {
                    pid: r.get(0)?,
                    host: r.get(1)?,
                    run_id: r.get(2)?,
                    acquired_at: r.get(3)?,
                    heartbeat_at: r.get(4)?,
                })
            },
        )
        .optional()?)
}
