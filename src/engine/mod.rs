//! The rollout engine as a state machine without I/O (docs/design.md#the-engine-has-no-io, its
//! rules in docs/design.md#the-rules-of-the-rollout; the "sans-IO" shape of quinn-proto and
//! rustls). [`RunState::handle`] takes an [`Event`] — items added, streams seen on a key, a Start
//! or Describe answered, a timer, a shutdown — with the time it happened, and returns the
//! [`Effect`]s to carry out: send a Start or a Describe, write to the ledger, tell the pacer, tell
//! the operator. [`RunState::poll_timeout`] says when to wake it next. The dispatcher in
//! [`crate::apply`] only turns effects into calls and answers into events, so every rule here is a
//! unit test on a manual clock (`engine/tests`).
//!
//! An item's life: pending → starting → polling → done | failed | deferred (or skipped by the
//! plan). A Start is dispatched when its stream has budget above the reserve, its key has room
//! under the per-key limit ([`crate::limits::KeyRoom`]), and fewer than `concurrency` Starts are
//! in flight in its region; the (account, region, Start) token is taken by the worker.
//!
//! - [`state`]: the run's state, events in, the phase changes and how an item ends;
//! - [`pump`]: what runs after every event: timers, Describes, early polls, dispatch, key slots;
//! - [`answers`]: what each Start and Describe answer leads to;
//! - [`limit`]: which limit a `LimitExceededException` means;
//! - [`gates`]: the budget and key gates as pure functions;
//! - [`track`]: one stream of a run; [`phase`]: its phase and why it ended there;
//! - [`poll`]: when to Describe a transitioning stream (the first-poll learner);
//! - [`failure`]: what an `ENABLING_FAILED` type means;
//! - [`io`]: events in, effects and notices out.

mod answers;
pub mod failure;
pub mod gates;
mod io;
pub mod limit;
mod phase;
pub mod poll;
mod pump;
mod state;
mod track;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

pub use io::{Abort, Effect, Event, Note, Notice, Snapshot};
pub use phase::{ItemUpdate, Phase, Why};
pub use state::RunState;
pub use track::{NewItem, Notes, SendLog, Track, TrackParts};

use crate::model::Operation;
use crate::plan::{Action, Reason, Settings};

/// How a run goes.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub settings: Settings,
    /// Most Starts (and, separately, Describes) in flight at once per region.
    pub concurrency: usize,
    /// How long an item may wait for its budget to free up before it is deferred.
    pub max_wait: Duration,
    /// How long a stream may stay ENABLING before its item fails (resumable).
    pub poll_timeout: Duration,
    /// Starts per stream in one run, retries of transient failures included.
    pub max_attempts: u32,
    /// The first poll's delay before any transition has been seen.
    pub first_poll: Duration,
    /// How long after a rekey or Stop freed a slot under a customer key a refusal for the key's
    /// limit may still be the old grant ([`GRANT_RETIREMENT_WAIT`]): a Start refused in that
    /// time is tried again only once it has passed, and the key is not taken to be full.
    pub retirement_wait: Duration,
    /// Stop following a stream once its Start (or Stop) is accepted, as the AWS CLI returns
    /// then (`--no-wait`): it is left in its transition (`Polling`, in the ledger too) for
    /// `resume` to follow, and counts in [`Outcome::left_in_transition`].
    pub no_wait: bool,
}

/// [`Config::retirement_wait`]'s default, 20 minutes: Firehose retires the grant on the key a
/// stream leaves only after it has finished delivering what it buffered with it (the
/// StopDeliveryStreamEncryption reference), and a buffer holds data up to 900 s
/// (`BufferingHints.IntervalInSeconds`, at most 900); then KMS takes "usually less than five
/// minutes" to see a retired grant everywhere (the CreateGrant and RetireGrant references).
/// 900 s + 300 s.
pub const GRANT_RETIREMENT_WAIT: Duration = Duration::from_secs(20 * 60);

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub tracks: Vec<Track>,
    pub calls: BTreeMap<Operation, u64>,
    pub throttles: u64,
    /// Describes sent to follow transitions (not the reconciling ones).
    pub poll_describes: u64,
    pub wall: Duration,
    /// Stopped by a signal with items left.
    pub interrupted: bool,
    /// Streams whose call was accepted and that were left in their transition
    /// ([`Config::no_wait`]): the run is to stay open for `resume` to follow them.
    pub left_in_transition: usize,
    /// Stopped because continuing could not help (access denied, lock lost, ...).
    pub aborted: Option<Abort>,
}

impl Outcome {
    pub fn count(&self, phase: Phase) -> usize {
        self.tracks.iter().filter(|t| t.phase == phase).count()
    }

    /// Streams skipped for a cause the operator can fix ([`Reason::operator_can_fix`]), by
    /// reason.
    pub fn skipped_fixable(&self) -> BTreeMap<Reason, usize> {
        let mut by = BTreeMap::new();
        for t in self.tracks.iter().filter(|t| t.phase == Phase::Skipped) {
            if let Some(Why::Plan(reason)) = t.reason()
                && reason.operator_can_fix()
            {
                *by.entry(reason).or_default() += 1;
            }
        }
        by
    }

    /// Streams this run started or polled (the denominator of Describes per stream).
    pub fn streams_followed(&self) -> usize {
        self.tracks
            .iter()
            .filter(|t| t.starts > 0 || t.action == Action::Noop)
            .count()
    }
}
