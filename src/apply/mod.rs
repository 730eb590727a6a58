//! Apply: carry a plan out at the quota ceiling, poll every change to its end, survive being
//! stopped at any instant. [`engine`] is the dispatcher; [`poll`] decides when to Describe;
//! [`failure`] classifies `ENABLING_FAILED`; [`events`] is what the reporter sees.
//!
//! A stream's life in a run: pending → starting → polling → done | failed | deferred, or
//! skipped (decided by the plan). Every phase change is written to the ledger as it happens,
//! so `resume` only has to load the items that are not terminal.

pub mod engine;
pub mod events;
pub mod failure;
pub mod poll;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::EpochMillis;
use crate::ledger::{Ledger, LedgerError, Phase, RunItemRow};
use crate::model::{EncStatus, Interner, KeyChoice, StreamId};
use crate::pace::Operation;
use crate::plan::{Action, Item, Settings};

/// How apply runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub settings: Settings,
    /// Most Starts in flight at once.
    pub concurrency: usize,
    /// How long an item may wait for its budget to free up before it is deferred.
    pub max_wait: Duration,
    /// How long a stream may stay ENABLING before its item fails (resumable).
    pub poll_timeout: Duration,
    /// Starts per stream in one run, retries of transient failures included.
    pub max_attempts: u32,
    /// The first poll's delay before any transition has been seen.
    pub first_poll: Duration,
}

/// One stream of a run, as the engine carries it. A run holds one per stream for its whole
/// length, so it is kept small: regions and accounts are shared strings, and what only some
/// items have (an old key, a reason, a failure, a next slot) lives in a box of [`Notes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub seq: usize,
    pub line: u64,
    pub region: Arc<str>,
    pub name: Box<str>,
    pub account: Option<Arc<str>>,
    pub target: KeyChoice,
    pub action: Action,
    pub phase: Phase,
    /// Starts made for it in this run (across resumes).
    pub starts: u32,
    /// Its state must be learned with Describe before anything is sent to it.
    pub needs_describe: bool,
    notes: Option<Box<Notes>>,
}

/// What only some of a run's items carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// The key in force before the run touched it.
    pub old_key: Option<KeyChoice>,
    pub reason: Option<String>,
    /// Failure type and details.
    pub failure: Option<(String, String)>,
    pub next_slot: Option<EpochMillis>,
}

impl Notes {
    /// `None` when there is nothing to note, so most tracks carry no box.
    fn boxed(self) -> Option<Box<Notes>> {
        (self != Notes::default()).then(|| Box::new(self))
    }
}

impl Track {
    pub fn stream_id(&self) -> Option<StreamId> {
        self.account.as_ref().map(|account| StreamId {
            account: account.to_string(),
            region: self.region.to_string(),
            name: self.name.to_string(),
        })
    }

    pub fn old_key(&self) -> Option<&KeyChoice> {
        self.notes.as_ref()?.old_key.as_ref()
    }
    pub fn reason(&self) -> Option<&str> {
        self.notes.as_ref()?.reason.as_deref()
    }
    pub fn failure(&self) -> Option<&(String, String)> {
        self.notes.as_ref()?.failure.as_ref()
    }
    pub fn next_slot(&self) -> Option<EpochMillis> {
        self.notes.as_ref()?.next_slot
    }
    /// The notes, created on first use.
    pub fn notes_mut(&mut self) -> &mut Notes {
        self.notes.get_or_insert_default()
    }

    /// The starting phase of a freshly planned item.
    pub fn from_item(item: &Item, old_key: Option<KeyChoice>, names: &mut Interner) -> Track {
        let phase = match item.action {
            Action::Enable | Action::Rekey => Phase::Pending,
            Action::Noop => match item.current.as_ref().map(|c| &c.status) {
                Some(EncStatus::Enabling) => Phase::Polling,
                _ => Phase::Done,
            },
            Action::Skip => Phase::Skipped,
            Action::Defer => Phase::Deferred,
        };
        Track {
            seq: item.seq,
            line: item.target.line,
            region: names.get(&item.target.region),
            name: item.target.name.as_str().into(),
            account: item.account().map(|a| names.get(a)),
            target: item.target.key.clone(),
            action: item.action,
            phase,
            starts: 0,
            needs_describe: false,
            notes: Notes {
                old_key,
                reason: item.reason.map(|r| r.as_str().to_owned()),
                failure: None,
                next_slot: item.next_slot,
            }
            .boxed(),
        }
    }

    /// An item of an interrupted run, as the ledger left it; `None` when it was never decided
    /// (the run stopped before observing it).
    pub fn from_row(row: &RunItemRow, names: &mut Interner) -> Option<Track> {
        Some(Track {
            seq: row.seq,
            line: row.line,
            region: names.get(&row.region),
            name: row.name.as_str().into(),
            account: row.account.as_deref().map(|a| names.get(a)),
            target: row.target.clone(),
            action: row.action?,
            phase: row.phase,
            starts: row.starts,
            needs_describe: matches!(row.phase, Phase::Starting | Phase::Polling),
            notes: Notes {
                old_key: row.old_key.clone(),
                reason: row.reason.clone(),
                failure: row.failure_type.clone().zip(row.failure_details.clone()),
                next_slot: row.next_slot,
            }
            .boxed(),
        })
    }
}

/// Marks every attempt left `in_flight` by a process that died as `unknown` and flags its
/// stream's items for a Describe before anything else is sent. Returns how many there were.
pub fn reconcile_in_flight(ledger: &Ledger, tracks: &mut [Track]) -> Result<usize, LedgerError> {
    let dangling = ledger.in_flight_attempts()?;
    for a in &dangling {
        ledger.complete_attempt(
            a.id,
            &crate::ledger::AttemptOutcome::Unknown {
                message: "the process ended before the answer was recorded".into(),
            },
        )?;
        for t in tracks.iter_mut() {
            if t.stream_id().as_ref() == Some(&a.stream) && !t.phase.is_terminal() {
                t.needs_describe = true;
            }
        }
    }
    Ok(dangling.len())
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// The survey that fed the run, when items were decided as they were observed.
    pub feed: Option<engine::Feed>,
    pub tracks: Vec<Track>,
    pub calls: BTreeMap<Operation, u64>,
    pub throttles: u64,
    /// Describes sent to follow transitions (not the reconciling ones).
    pub poll_describes: u64,
    pub wall: Duration,
    /// Stopped by a signal with items left.
    pub interrupted: bool,
    /// Stopped because continuing could not help (access denied, lock lost, ...).
    pub aborted: Option<String>,
}

impl Outcome {
    pub fn count(&self, phase: Phase) -> usize {
        self.tracks.iter().filter(|t| t.phase == phase).count()
    }

    /// Streams this run started or polled (the denominator of Describes per stream).
    pub fn streams_followed(&self) -> usize {
        self.tracks
            .iter()
            .filter(|t| t.starts > 0 || t.action == Action::Noop)
            .count()
    }
}
