//! What goes into the engine ([`Event`]) and what comes out ([`Effect`], and the [`Notice`]s
//! the reporter draws, its [`Note`]s among them), and why a run stops early ([`Abort`]). The
//! dispatcher turns effects into calls, ledger writes and notices, and answers into events; the
//! engine itself never waits, sends or writes.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::phase::{ItemUpdate, Phase, Why};
use super::track::NewItem;
use crate::clock::EpochMillis;
use crate::limits::KeyChange;
use crate::model::{AttemptOutcome, CallError, Operation, StreamObservation};

/// Something that happened. Items are named by their index in the run (the order they were
/// added), not by their ledger number.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one event at a time, moved straight into the engine
pub enum Event {
    /// Items to carry out: from a saved plan, from the ledger on resume, or just decided by the
    /// survey as their streams were observed.
    Added(Vec<NewItem>),
    /// The survey described one more stream: the throttles it met, the streams it found using
    /// a customer key or no longer using one (they count, or stop counting, before any later
    /// Start), and the items the observation let it decide (often none, or several).
    Observed {
        throttles: u32,
        keys: Vec<KeyChange>,
        items: Vec<NewItem>,
    },
    /// The survey has described every stream: no more items will be added.
    ObservationDone,
    /// The run cannot go on (observation failed for good, the apply lock was lost, ...).
    Abort(Abort),
    /// A Start worker has its token: its attempt is about to be written and the Start sent.
    StartSending { item: usize },
    /// A Start worker gave up before sending.
    StartNotSent { item: usize },
    /// A Start worker would not send, for a reason of its account's credentials (they cannot
    /// be reached, or are too old to create a KMS grant): the item fails with `why`.
    StartWithheld {
        item: usize,
        why: Why,
        details: String,
    },
    /// A Start worker would not send because its account's credentials cannot create a KMS
    /// grant and refreshing them cannot help (a fixed session too old, or one a grant failed
    /// with): the item fails `credentials_too_old`, and so does every other Start towards a
    /// customer key in that account, once, without being sent.
    GrantsWithheld { item: usize, details: String },
    /// A Start came back (the engine completes its attempt: [`Effect::CompleteAttempt`]).
    StartAnswered {
        item: usize,
        result: Result<(), CallError>,
    },
    /// A Describe the engine asked for came back; `sent_at`: when it left.
    Described {
        item: usize,
        sent_at: EpochMillis,
        result: Result<StreamObservation, CallError>,
    },
    /// An early poll found no token free at once: it was not sent.
    EarlyPollDeclined { item: usize },
    /// Time passed (a wake-up the engine asked for, or any other turn of the loop).
    Tick,
    /// Stop dispatching: finish what is in flight, send nothing new.
    Shutdown,
}

/// Something the engine asks the outside world to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a Start for the item once its (region, Start) limiter gives a token, announcing it
    /// with [`Event::StartSending`] first.
    Start { item: usize },
    /// Describe the item's stream: after a token from its (region, Describe) limiter, or, for
    /// an `early` poll, only if a token is free now (else [`Event::EarlyPollDeclined`]).
    Describe { item: usize, early: bool },
    /// Write the item's attempt (`in_flight`, sent at `at`) before its Start leaves.
    BeginAttempt { item: usize, at: EpochMillis },
    /// The item's latest attempt was refused for a spent budget: it fills the budget. Comes
    /// before the [`Effect::CompleteAttempt`] of the same answer.
    MarkBudgetFull { item: usize },
    /// Record how the item's attempt ended, decided from its Start's answer (only calls proven
    /// never sent spare the budget). It closes the attempt, so it follows whatever else the
    /// answer does to it ([`Effect::MarkBudgetFull`]).
    CompleteAttempt {
        item: usize,
        outcome: AttemptOutcome,
    },
    /// Record the item's change.
    Update { item: usize, update: ItemUpdate },
    /// An answer for the pacer: `throttled`, or a success that lets a slowed key recover.
    Paced {
        item: usize,
        op: Operation,
        throttled: bool,
    },
    /// A KMS grant failed with the credentials of the item's account (a grant fails for
    /// session credentials older than 6 h): its next customer-key Start asks for fresh ones
    /// first, and is withheld ([`Event::GrantsWithheld`]) when refreshing cannot help.
    RefreshCredentials { item: usize },
    /// Tell the operator.
    Notice(Notice),
}

/// What the reporter sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The counters changed.
    Progress(Snapshot),
    /// A stream reached a terminal phase.
    Finished {
        region: String,
        name: String,
        phase: Phase,
        detail: String,
        /// The customer key it was to be encrypted with (failures are grouped by type and
        /// key).
        key: Option<String>,
    },
    /// Something the operator should know now.
    Note(Note),
}

/// What the operator is told as it happens, apart from progress and finished streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A Start was throttled in the region: the pacer slows down, the Start is sent again.
    StartThrottled { region: String },
    /// The service refused a Start for the key's stream limit: the key's other streams are
    /// skipped.
    KeyFull { key_arn: String },
    /// A stop was asked for: no new Starts, the calls in flight are waited for.
    Stopping,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::StartThrottled { region } => {
                write!(f, "Start throttled in {region}; slowing down")
            }
            Note::KeyFull { key_arn } => write!(
                f,
                "{key_arn} is full (the service refused a Start for its stream limit): its \
                 other streams are skipped"
            ),
            Note::Stopping => f.write_str(
                "stopping: no new Starts; waiting for the calls in flight to be answered",
            ),
        }
    }
}

/// Why a run stopped before its end: going on could not help. The run stays resumable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// The service refused the caller on `operation`: access denied (an IAM action to allow),
    /// or credentials that are invalid or expired.
    Refused {
        operation: Operation,
        error: CallError,
    },
    /// No credentials could be found.
    NoCredentials(String),
    /// `calls` calls in a row never left (the last one's error): the endpoint cannot be
    /// reached.
    Unreachable { calls: u32, error: String },
    /// Another process took the apply lock over.
    LockLost,
    /// Observing the fleet failed for good (the observer's error).
    ObservationFailed(String),
}

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Abort::Refused { operation, error } => {
                let (operation, code, message) =
                    (operation.as_str(), error.code(), error.message());
                if error.is_access_denied() {
                    let extra = match operation {
                        "StartDeliveryStreamEncryption" => {
                            " (and kms:CreateGrant on customer keys)"
                        }
                        _ => "",
                    };
                    write!(
                        f,
                        "{code} on {operation} ({message}); the caller's IAM policy must allow firehose:{operation}{extra}"
                    )
                } else {
                    write!(
                        f,
                        "AWS refused the credentials on {operation} ({code}: {message}): they are \
                         invalid or expired. Refresh them (`aws sso login`, a new session token, \
                         or a role profile that refreshes)"
                    )
                }
            }
            Abort::NoCredentials(message) => write!(f, "no AWS credentials: {message}"),
            Abort::Unreachable { calls, error } => write!(
                f,
                "the endpoint cannot be reached: {calls} calls in a row never left ({error}); \
                 check the network, --endpoint-url and the region"
            ),
            Abort::LockLost => f.write_str(
                "the apply lock was taken over by another process; stopped to keep one writer",
            ),
            Abort::ObservationFailed(error) => f.write_str(error),
        }
    }
}

/// Counters of a run at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub total: usize,
    pub phases: BTreeMap<Phase, usize>,
    /// Calls sent per operation.
    pub calls: BTreeMap<Operation, u64>,
    pub throttles: u64,
    pub elapsed: Duration,
}

impl Snapshot {
    pub fn count(&self, phase: Phase) -> usize {
        self.phases.get(&phase).copied().unwrap_or(0)
    }

    /// Items that reached a phase where nothing more happens in this run.
    pub fn finished(&self) -> usize {
        self.phases
            .iter()
            .filter(|(p, _)| p.is_terminal())
            .map(|(_, n)| n)
            .sum()
    }
}
