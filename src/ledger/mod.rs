//! The SQLite ledger: the audit trail and the memory of every run. It records what was observed,
//! every Start/Stop call (before it is sent and after it is answered), plans, runs and their
//! items, and the apply lock; and it answers the questions that keep a rollout inside AWS's
//! limits: how much of a stream's 24 h budget is used, when its next call frees up, how many
//! streams a customer-managed key protects.
//!
//! The file is created with mode 0600 and opened with WAL, foreign keys, a busy timeout and full
//! fsync, so a call recorded before it was sent survives a kill -9 or a power cut. The schema
//! lives in numbered files under `migrations/`, applied with rusqlite_migration; a ledger from a
//! newer schema is refused, never "upgraded down". Nothing is ever deleted.

mod batch;
mod items;
pub mod lock;
mod plans;
mod producers;
mod recent;
mod records;
mod runs;
mod timeline;
mod transfer;
mod waves;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations, SchemaVersion};

use crate::clock::{Clock, EpochMillis};
use crate::error::{Exit, HasExit};
use crate::limits::budget;
use crate::model::StreamId;

pub use batch::Batch;
pub use items::RunItemRow;
pub use lock::{LockGuard, LockHolder, StaleAfter};
pub use plans::{PlanReview, SavedPlan, settings_document, settings_from_document};
pub use producers::PlannedProducers;
pub use recent::Recent;
pub use records::{AttemptOutcome, AttemptRow, Op, StreamState};
pub use runs::{EncryptionArgs, Reviewed, RunArgs, RunGuard, RunKind, RunOutcome, RunRow};
pub use timeline::{Described, SentCall};
pub use transfer::{CallFacts, ImportedPlan, KeyFacts, PlanFacts, StreamFacts};
pub use waves::{WaveRow, WaveState};

/// The schema, one entry per file of `migrations/`, in order. Append only.
const MIGRATION_FILES: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_aws_as_documented.sql"),
    include_str!("../../migrations/0003_undo.sql"),
    include_str!("../../migrations/0004_producers.sql"),
    include_str!("../../migrations/0005_waves.sql"),
    include_str!("../../migrations/0006_plan_reviews.sql"),
    include_str!("../../migrations/0007_plan_item_notes.sql"),
];

fn migrations() -> Migrations<'static> {
    // A migration may rebuild a table others point at (SQLite cannot change a constraint in
    // place), which needs `foreign_keys` off while it runs; every migration therefore ends by
    // checking every reference, inside its transaction, so a broken one is rolled back.
    Migrations::new(
        MIGRATION_FILES
            .iter()
            .map(|sql| M::up(sql).foreign_key_check())
            .collect(),
    )
}

/// The highest schema version this binary knows.
pub fn schema_version() -> usize {
    MIGRATION_FILES.len()
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open the ledger {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the ledger {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot create the ledger {0}: its disk is full; nothing was kept (the half-made file \
         is removed) and nothing was sent; free some space, then run the same command again"
    )]
    CreateDiskFull(PathBuf),
    #[error(
        "cannot open the ledger {0}: its disk is full (SQLite cannot grow the files it keeps \
         beside it); nothing was written; free some space, then run the same command again"
    )]
    OpenDiskFull(PathBuf),
    #[error("no ledger at {0} (run plan or apply first, or pass --ledger)")]
    Missing(PathBuf),
    #[error(
        "the ledger {path} is at schema {found} and this binary reads schema {known}: it is \
         upgraded by the first command that writes to it (plan, apply, resume, inventory), \
         which needs its directory to be writable"
    )]
    OlderSchema {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error(
        "the ledger's directory {} is not writable: SQLite keeps its journal beside the ledger \
         ({}-wal), so a command that writes needs a directory it may write to; read it with \
         status, report or history, or copy it somewhere writable",
        .0.parent().map(|p| p.display().to_string()).unwrap_or_default(), .0.display()
    )]
    DirectoryNotWritable(PathBuf),
    #[error("{path} is not a firehose-sse ledger (not an SQLite database, or damaged)")]
    NotALedger {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the ledger {path} was written by a newer firehose-sse (schema {found}, this binary knows up to {known}); \
         use that version or newer; it is left untouched"
    )]
    NewerSchema {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("cannot bring the ledger {path} to schema {known}")]
    Migrate {
        path: PathBuf,
        known: usize,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error(
        "the ledger is locked by another apply: pid {} on {} since {} (last heartbeat {}); \
         wait for it, or if that process is gone for good, run again after {}",
        .0.pid, .0.host, crate::clock::rfc3339(.0.acquired_at), crate::clock::rfc3339(.0.heartbeat_at),
        crate::clock::rfc3339(.0.heartbeat_at + lock::STALE_AFTER_OTHER_HOST)
    )]
    Locked(LockHolder),
    #[error("{}", sql_message(.0))]
    Sql(#[from] rusqlite::Error),
}

/// Whether SQLite failed for want of space: `SQLITE_FULL`, or `SQLITE_IOERR_SHMSIZE` (its
/// `-shm` file could not grow, which on opening a ledger is what a full disk looks like).
fn disk_full(e: &rusqlite::Error) -> bool {
    const SQLITE_IOERR_SHMSIZE: std::ffi::c_int = 10 | (19 << 8);
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == rusqlite::ErrorCode::DiskFull || f.extended_code == SQLITE_IOERR_SHMSIZE
        }
        _ => false,
    }
}

/// What a failed ledger statement means for the operator.
fn sql_message(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => format!(
            "the ledger's disk is full ({e}): the statement was rolled back, nothing was \
             half-written; free some space, then `{}`",
            crate::hint::command("resume")
        ),
        Some(ErrorCode::ReadOnly) => format!(
            "the ledger cannot be written ({e}): its file or directory is read-only; \
             use a writable --ledger"
        ),
        Some(ErrorCode::CannotOpen) => {
            format!("the ledger cannot be opened ({e}): check the path and its permissions")
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            format!("the ledger is busy ({e}): another process holds it too long; try again")
        }
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            format!("the ledger file is damaged ({e}); keep a copy and start a new --ledger")
        }
        _ => format!("ledger query failed: {e}"),
    }
}

impl LedgerError {
    /// Whether the ledger's disk was full (SQLite's `SQLITE_FULL`, or `ENOSPC` creating it).
    pub fn is_disk_full(&self) -> bool {
        let full = disk_full;
        match self {
            LedgerError::CreateDiskFull(_) | LedgerError::OpenDiskFull(_) => true,
            LedgerError::Sql(e)
            | LedgerError::Open { source: e, .. }
            | LedgerError::NotALedger { source: e, .. } => full(e),
            LedgerError::Migrate {
                source: rusqlite_migration::Error::RusqliteError { err, .. },
                ..
            } => full(err),
            // ENOSPC.
            LedgerError::Create { source, .. } => source.raw_os_error() == Some(28),
            _ => false,
        }
    }
}

impl HasExit for LedgerError {
    fn exit(&self) -> Exit {
        match self {
            LedgerError::Missing(_)
            | LedgerError::NotALedger { .. }
            | LedgerError::NewerSchema { .. }
            | LedgerError::OlderSchema { .. } => Exit::Usage,
            _ => Exit::Runtime,
        }
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// An open ledger. Not `Sync`: one owner writes (docs/design.md#one-owner-of-run-state); others
/// send it events.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
}

/// Streams a customer-managed key protects now and after a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage {
    /// Streams ENABLED with the key (or whose failed rekey left it in force) or ENABLING to it.
    pub now: u32,
    /// Streams the plan moves onto the key.
    pub onto: u32,
    /// Streams the plan moves away from the key.
    pub away: u32,
}

impl KeyUsage {
    pub fn after(&self) -> u32 {
        (self.now + self.onto).saturating_sub(self.away)
    }
}

impl Ledger {
    /// Opens the ledger at `path`, creating it (mode 0600) and its schema when absent. A
    /// ledger that could not be made whole is removed: a half-made file would be called
    /// damaged by the next command.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Ledger> {
        if path.exists() {
            check_directory_writable(path)?;
            return Self::open_inner(path, clock, OpenFlags::default());
        }
        let made =
            create_private(path).and_then(|()| Self::open_inner(path, clock, OpenFlags::default()));
        made.map_err(|e| {
            remove_unmade(path);
            match e.is_disk_full() {
                true => LedgerError::CreateDiskFull(path.to_owned()),
                false => e,
            }
        })
    }

    /// Opens an existing ledger to read it only (status, report, history): nothing is created
    /// or written, so a ledger in a read-only place reads as well as any.
    pub fn open_read_only(path: &Path, clock: Arc<dyn Clock>) -> Result<Ledger> {
        if !path.exists() {
            return Err(LedgerError::Missing(path.to_owned()));
        }
        let open_err = |source| LedgerError::Open {
            path: path.to_owned(),
            source,
        };
        let not_a_ledger = |source| LedgerError::NotALedger {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // SQLite reads a WAL ledger through a `-shm` file beside it, which a read-only
        // directory cannot hold. With no journal left behind (the last writer closed cleanly,
        // which checkpoints it), the file alone is the whole ledger: read it as immutable.
        let conn = match conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)) {
            Ok(_) => conn,
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly)
                    || e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) =>
            {
                drop(conn);
                let wal = path.with_file_name(format!(
                    "{}-wal",
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                ));
                if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                    return Err(LedgerError::DirectoryNotWritable(path.to_owned()));
                }
                let uri = format!("file:{}?immutable=1", path.display());
                let conn = Connection::open_with_flags(
                    uri,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(open_err)?;
                conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
                    .map_err(not_a_ledger)?;
                conn
            }
            Err(e) => return Err(not_a_ledger(e)),
        };
        let known = schema_version();
        match migrations().current_version(&conn) {
            Ok(SchemaVersion::Outside(found)) => Err(LedgerError::NewerSchema {
                path: path.to_owned(),
                found: found.get(),
                known,
            }),
            Ok(SchemaVersion::Inside(found)) if found.get() < known => {
                Err(LedgerError::OlderSchema {
                    path: path.to_owned(),
                    found: found.get(),
                    known,
                })
            }
            Ok(SchemaVersion::Inside(_)) => Ok(Ledger {
                conn,
                path: path.to_owned(),
                clock,
            }),
            Ok(SchemaVersion::NoneSet) => Err(LedgerError::NotALedger {
                path: path.to_owned(),
                source: rusqlite::Error::InvalidQuery,
            }),
            Err(source) => Err(LedgerError::Migrate {
                path: path.to_owned(),
                known,
                source,
            }),
        }
    }

    /// Opens an existing ledger to write to it, creating nothing (resume, apply --plan).
    pub fn open_existing(path: &Path, clock: Arc<dyn Clock>) -> Result<Ledger> {
        if !path.exists() {
            return Err(LedgerError::Missing(path.to_owned()));
        }
        check_directory_writable(path)?;
        Self::open_inner(
            path,
            clock,
            OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE,
        )
    }

    fn open_inner(path: &Path, clock: Arc<dyn Clock>, flags: OpenFlags) -> Result<Ledger> {
        let open_err = |source| LedgerError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        // The first statement that reads the file tells whether it is a database at all —
        // unless the disk is full, which is no fault of the file's.
        let not_a_ledger = |source: rusqlite::Error| match disk_full(&source) {
            true => LedgerError::OpenDiskFull(path.to_owned()),
            false => LedgerError::NotALedger {
                path: path.to_owned(),
                source,
            },
        };
        let open_err = |source: rusqlite::Error| match disk_full(&source) {
            true => LedgerError::OpenDiskFull(path.to_owned()),
            false => open_err(source),
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // Room for every statement a run repeats: each is parsed once.
        conn.set_prepared_statement_cache_capacity(64);
        conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(not_a_ledger)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        // Off while migrating (see `migrations`), on for everything else.
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(open_err)?;

        let migrations = migrations();
        let known = schema_version();
        match migrations.current_version(&conn) {
            Ok(SchemaVersion::Outside(found)) => {
                return Err(LedgerError::NewerSchema {
                    path: path.to_owned(),
                    found: found.get(),
                    known,
                });
            }
            Ok(SchemaVersion::NoneSet) if has_foreign_tables(&conn).map_err(not_a_ledger)? => {
                return Err(LedgerError::NotALedger {
                    path: path.to_owned(),
                    source: rusqlite::Error::InvalidQuery,
                });
            }
            Ok(_) => {}
            Err(source) => {
                return Err(LedgerError::Migrate {
                    path: path.to_owned(),
                    known,
                    source,
                });
            }
        }
        migrations
            .to_latest(&mut conn)
            .map_err(|source| LedgerError::Migrate {
                path: path.to_owned(),
                known,
                source,
            })?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        Ok(Ledger {
            conn,
            path: path.to_owned(),
            clock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn now(&self) -> EpochMillis {
        self.clock.now()
    }

    /// The clock the ledger reads, for those that must agree with it on "now".
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Send times of the stream's attempts that count against its budget in the window
    /// ending at `now` (and up to [`budget::MAX_MARGIN`] before it, for a margin to reach). A refusal because the budget was spent (by anyone: the service counts
    /// other tools' calls too) fills the budget at its time, so the stream waits a whole window
    /// from the refusal.
    pub fn counted_sends(&self, stream: &StreamId, now: EpochMillis) -> Result<Vec<EpochMillis>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.sent_at, a.budget_full FROM attempts a JOIN streams s ON s.id = a.stream_id
             WHERE s.account = ?1 AND s.region = ?2 AND s.name = ?3
               AND a.state != 'not_sent' AND a.sent_at > ?4 AND a.sent_at <= ?5
             ORDER BY a.sent_at",
        )?;
        let rows = stmt.query_map(
            params![
                stream.account,
                stream.region,
                stream.name,
                now - budget::WINDOW - budget::MAX_MARGIN,
                now
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let rows: Vec<(EpochMillis, bool)> = rows.collect::<rusqlite::Result<_>>()?;
        Ok(budget::with_refusals(&rows))
    }

    /// Start+Stop calls that count against the stream's budget at `now`: every attempt sent
    /// in `(now - 24 h, now]`, unknown outcomes included, only those proven never sent excluded.
    pub fn budget_used(&self, stream: &StreamId, now: EpochMillis) -> Result<u32> {
        let sends = self.counted_sends(stream, now)?;
        Ok(budget::used(&sends, now, budget::WINDOW))
    }

    /// When the stream may make its next call while staying within `allowed` calls per window
    /// (the budget minus the reserve): `now` if it has room, later if not, `None` if never.
    pub fn next_free_slot(
        &self,
        stream: &StreamId,
        now: EpochMillis,
        allowed: u32,
    ) -> Result<Option<EpochMillis>> {
        let sent = self.counted_sends(stream, now)?;
        Ok(budget::next_slot(&sent, now, budget::WINDOW, allowed))
    }

    /// Counted send times in the window ending at `now` (and the margin's reach before it) for
    /// every stream that has any, for planning a whole fleet in one query.
    pub fn all_counted_sends(
        &self,
        now: EpochMillis,
    ) -> Result<HashMap<StreamId, Vec<EpochMillis>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.account, s.region, s.name, a.sent_at, a.budget_full FROM attempts a
             JOIN streams s ON s.id = a.stream_id
             WHERE a.state != 'not_sent' AND a.sent_at > ?1 AND a.sent_at <= ?2
             ORDER BY a.sent_at",
        )?;
        let mut raw: HashMap<StreamId, Vec<(EpochMillis, bool)>> = HashMap::new();
        let mut rows = stmt.query(params![now - budget::WINDOW - budget::MAX_MARGIN, now])?;
        while let Some(r) = rows.next()? {
            let id = StreamId {
                account: r.get(0)?,
                region: r.get(1)?,
                name: r.get(2)?,
            };
            raw.entry(id).or_default().push((r.get(3)?, r.get(4)?));
        }
        Ok(raw
            .into_iter()
            .map(|(id, rows)| (id, budget::with_refusals(&rows)))
            .collect())
    }

    /// Streams each customer-managed key protects now, by key ARN: streams whose key in force
    /// is the key, that are ENABLING towards it, or whose key in force is unknown and Describe
    /// shows the key (counted once: an unknown key counts where it might be).
    pub fn key_counts_now(&self) -> Result<HashMap<String, u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT arn, COUNT(*) FROM (
                 SELECT id, in_force_arn AS arn FROM streams WHERE in_force_arn IS NOT NULL
                 UNION
                 SELECT id, key_arn AS arn FROM streams
                 WHERE (enc_status = 'ENABLING' OR in_force_unknown = 1) AND key_arn IS NOT NULL
             ) GROUP BY arn",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many streams `key_arn` protects now and how a saved plan changes that: streams
    /// counted now, plus those the plan enables or rekeys onto it, minus those it rekeys away.
    pub fn cmk_usage(&self, key_arn: &str, plan_id: Option<i64>) -> Result<KeyUsage> {
        let now = self.key_counts_now()?.get(key_arn).copied().unwrap_or(0);
        let Some(plan_id) = plan_id else {
            return Ok(KeyUsage {
                now,
                onto: 0,
                away: 0,
            });
        };
        let (onto, away) = self.conn.query_row(
            "WITH counted AS (
                 SELECT s.account, s.region, s.name FROM streams s
                 WHERE s.in_force_arn = ?2
                    OR ((s.enc_status = 'ENABLING' OR s.in_force_unknown = 1) AND s.key_arn = ?2)
             ), moving AS (
                 SELECT p.target_arn,
                        EXISTS (SELECT 1 FROM counted c WHERE c.account = p.account
                                AND c.region = p.region AND c.name = p.name) AS on_key
                 FROM plan_items p
                 WHERE p.plan_id = ?1 AND p.action IN ('enable', 'rekey')
             )
             SELECT COALESCE(SUM(target_arn IS ?2 AND NOT on_key), 0),
                    COALESCE(SUM(target_arn IS NOT ?2 AND on_key), 0)
             FROM moving",
            params![plan_id, key_arn],
            |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?)),
        )?;
        Ok(KeyUsage { now, onto, away })
    }

    /// The stream's id in the ledger, when it was ever observed.
    pub fn stream_row(&self, stream: &StreamId) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id FROM streams WHERE account = ?1 AND region = ?2 AND name = ?3",
            )?
            .query_row(params![stream.account, stream.region, stream.name], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

/// Creates an empty file readable and writable by its owner only. SQLite gives its -wal and
/// -shm files the same mode.
fn create_private(path: &Path) -> Result<()> {
    let create_err = |source| LedgerError::Create {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(create_err(e)),
    }
}

/// Removes a ledger this process began to create and could not finish, with SQLite's files
/// beside it.
fn remove_unmade(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// A ledger written to needs its directory writable too: SQLite creates its journal (`-wal`,
/// `-shm`) beside it. Said plainly rather than as "attempt to write a readonly database".
fn check_directory_writable(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let probe = dir.join(format!(
        ".{}.probe-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("ledger"),
        std::process::id()
    ));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(LedgerError::DirectoryNotWritable(path.to_owned()))
        }
        Err(e) if e.raw_os_error() == Some(30) => {
            // EROFS: a read-only file system.
            Err(LedgerError::DirectoryNotWritable(path.to_owned()))
        }
        // Anything else (it exists already, ...) is left to SQLite to report.
        Err(_) => Ok(()),
    }
}

/// An SQLite file with tables but no schema version is someone else's database.
fn has_foreign_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

#[cfg(test)]
pub(crate) mod tests;
