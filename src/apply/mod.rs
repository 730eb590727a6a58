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
use std::time::Duration;

use crate::clock::EpochMillis;
use crate::ledger::{Ledger, LedgerError, Phase, RunItemRow};
use crate::model::{EncStatus, KeyChoice, StreamId};
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

/// One stream of a run, as the engine carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    pub seq: usize,
    pub line: u64,
    pub region: String,
    pub name: String,
    pub account: Option<String>,
    pub target: KeyChoice,
    pub action: Action,
    pub phase: Phase,
    /// Starts made for it in this run (across resumes).
    pub starts: u32,
    /// Its state must be learned with Describe before anything is sent to it.
    pub needs_describe: bool,
    /// The key in force before the run touched it.
    pub old_key: Option<KeyChoice>,
    pub reason: Option<String>,
    pub failure: Option<(String, String)>,
    pub next_slot: Option<EpochMillis>,
    pub enabled_at: Option<EpochMillis>,
}

impl Track {
    pub fn stream_id(&self) -> Option<StreamId> {
        self.account.as_ref().map(|account| StreamId {
            account: account.clone(),
            region: self.region.clone(),
            name: self.name.clone(),
        })
    }

    /// The starting phase of a freshly planned item.
    pub fn from_item(item: &Item, old_key: Option<KeyChoice>) -> Track {
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
            region: item.target.region.clone(),
            name: item.target.name.clone(),
            account: item.account().map(str::to_owned),
            target: item.target.key.clone(),
            action: item.action,
            phase,
            starts: 0,
            needs_describe: false,
            old_key,
            reason: item.reason.map(|r| r.as_str().to_owned()),
            failure: None,
            next_slot: item.next_slot,
            enabled_at: None,
        }
    }

    /// An item of an interrupted run, as the ledger left it; `None` when it was never decided
    /// (the run stopped before observing it).
    pub fn from_row(row: &RunItemRow) -> Option<Track> {
        Some(Track {
            seq: row.seq,
            line: row.line,
            region: row.region.clone(),
            name: row.name.clone(),
            account: row.account.clone(),
            target: row.target.clone(),
            action: row.action?,
            phase: row.phase,
            starts: row.starts,
            needs_describe: matches!(row.phase, Phase::Starting | Phase::Polling),
            old_key: row.old_key.clone(),
            reason: row.reason.clone(),
            failure: row.failure_type.clone().zip(row.failure_details.clone()),
            next_slot: row.next_slot,
            enabled_at: row.enabled_at,
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
