//! One delivery stream and its transitions. A transition records when it is due; [`Stream::settle`]
//! applies what is due by a given `now`.
//!
//! Encryption life cycle:
//! DISABLED ─Start─► ENABLING ─(latency)─► ENABLED | ENABLING_FAILED ─Stop─► DISABLING ─► DISABLED.
//! A failed Start leaves the previous key in force (`in_force`), separate from the key shown.
//! (DISABLING_FAILED only as seeded.) When a customer key stops being in force (a rekey or a
//! Stop completes), its grant is only scheduled for retirement: the key keeps counting toward
//! its stream limit for `--grant-retirement` (`retiring`).
//! Stream status: CREATING ─(latency)─► ACTIVE; DELETING ─(latency)─► gone.

use std::collections::VecDeque;

use serde_json::Value;

use super::records::RecordLog;
use super::synthetic::Synthetic;
use crate::vocabulary::{
    EncStatus, FailurePlace, Millis, STREAM_OPERATIONS, StreamStatus, StreamType,
};

pub use crate::vocabulary::KeyRef;

/// `FailureDescription`, and where Describe shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: String,
    pub details: String,
    pub place: FailurePlace,
}

impl Failure {
    /// The KMS error behind a failure of this type, as an `InvalidKMSResourceException`'s
    /// `code` names it.
    pub fn kms_code(&self) -> &'static str {
        match self.kind.as_str() {
            "KMS_KEY_NOT_FOUND" => "NotFoundException",
            "DISABLED_KMS_KEY" => "DisabledException",
            "INVALID_KMS_KEY" => "InvalidStateException",
            _ => "AccessDeniedException",
        }
    }
}

/// An encryption transition under way.
#[derive(Debug, Clone)]
pub(super) enum Pending {
    /// ENABLING towards `target` since `began_at`; the outcome was decided when Start was
    /// accepted.
    Enable {
        target: KeyRef,
        outcome: Result<(), Failure>,
        began_at: Millis,
        ready_at: Millis,
    },
    Disable {
        began_at: Millis,
        ready_at: Millis,
    },
}

impl Pending {
    pub(super) fn ready_at(&self) -> Millis {
        match self {
            Pending::Enable { ready_at, .. } | Pending::Disable { ready_at, .. } => *ready_at,
        }
    }

    /// How long the transition takes from the call that began it to its end.
    fn duration(&self) -> Millis {
        match self {
            Pending::Enable {
                began_at, ready_at, ..
            }
            | Pending::Disable { began_at, ready_at } => ready_at - began_at,
        }
    }
}

/// One delivery stream.
#[derive(Debug)]
pub struct Stream {
    pub stream_type: StreamType,
    pub status: StreamStatus,
    /// When CREATING becomes ACTIVE, or DELETING makes the stream disappear.
    pub(super) status_ready_at: Option<Millis>,
    pub enc_status: EncStatus,
    /// The encryption configuration Describe shows (the key last asked for).
    pub shown: Option<KeyRef>,
    /// The key actually protecting the data.
    pub in_force: Option<KeyRef>,
    pub failure: Option<Failure>,
    pub(super) pending: Option<Pending>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Customer keys no longer in force whose grants are scheduled for retirement, and when
    /// they are retired.
    pub(super) retiring: Vec<(String, Millis)>,
    /// Accepted Start/Stop calls, oldest first, pruned to the window.
    pub(super) calls: VecDeque<Millis>,
    pub(super) start_calls: u64,
    pub(super) stop_calls: u64,
    pub(super) rejected_calls: u64,
    /// Per accepted Start, the fingerprint of its session token.
    pub(super) start_tokens: Vec<String>,
    /// Requests that named this stream and found it, per operation of
    /// [`crate::vocabulary::STREAM_OPERATIONS`] (all signed by its account's credentials).
    pub(super) requests: [u32; STREAM_OPERATIONS.len()],
    /// `Source` of Describe, echoed from Create; `None` for DirectPut and seeded streams.
    pub source: Option<Value>,
    /// The source ARN a seeded stream's `Source` shows (`None`: its default).
    pub source_arn: Option<String>,
    /// `Destinations` of Describe, echoed from Create; `None` = the default S3 destination.
    pub destinations: Option<Value>,
    /// What producers put to it (`None` until the first put reaches it).
    pub(super) records: Option<Box<RecordLog>>,
    /// Its synthetic producers (the world file's producers with a `rate`).
    pub(super) synthetic: Vec<Synthetic>,
    /// Its tags, by key.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Whether it has ever had a tag (the Tagging API lists such resources).
    pub(super) ever_tagged: bool,
}

impl Stream {
    pub(super) fn new(stream_type: StreamType, status: StreamStatus, now: Millis) -> Self {
        Stream {
            stream_type,
            status,
            status_ready_at: None,
            enc_status: EncStatus::Disabled,
            shown: None,
            in_force: None,
            failure: None,
            pending: None,
            created_at: now,
            updated_at: now,
            retiring: Vec::new(),
            calls: VecDeque::new(),
            start_calls: 0,
            stop_calls: 0,
            rejected_calls: 0,
            start_tokens: Vec::new(),
            requests: [0; STREAM_OPERATIONS.len()],
            source: None,
            source_arn: None,
            destinations: None,
            records: None,
            synthetic: Vec::new(),
            tags: Default::default(),
            ever_tagged: false,
        }
    }

    /// Its record counts, started on first use.
    pub(super) fn records_mut(&mut self) -> &mut RecordLog {
        self.records.get_or_insert_with(Box::default)
    }

    /// Whether a transition (or a grant's retirement) is due by `now`.
    pub(super) fn is_due(&self, now: Millis) -> bool {
        self.status_ready_at.is_some_and(|t| now >= t)
            || self.pending.as_ref().is_some_and(|p| now >= p.ready_at())
            || self.retiring.iter().any(|&(_, at)| now >= at)
    }

    /// Schedules the retirement of the grant of the customer key in force, if any, for
    /// `grant_retirement` after `at` (nothing when that is 0).
    fn retire_in_force(&mut self, at: Millis, grant_retirement: Millis) {
        if grant_retirement > 0
            && let Some(KeyRef::Customer(arn)) = &self.in_force
        {
            self.retiring.push((arn.clone(), at + grant_retirement));
        }
    }

    /// Applies every transition due by `now`; `false` when the stream is gone (deleted).
    /// `longest` is raised to the duration of an encryption transition this completes.
    pub(super) fn settle(
        &mut self,
        now: Millis,
        longest: &mut Millis,
        grant_retirement: Millis,
    ) -> bool {
        if let Some(at) = self.status_ready_at
            && now >= at
        {
            self.status_ready_at = None;
            match self.status {
                StreamStatus::Creating => self.status = StreamStatus::Active,
                StreamStatus::Deleting => return false,
                _ => {}
            }
        }
        if let Some(took) = self
            .pending
            .as_ref()
            .filter(|p| now >= p.ready_at())
            .map(Pending::duration)
        {
            *longest = (*longest).max(took);
            match self.pending.take() {
                Some(Pending::Enable {
                    target,
                    outcome: Ok(()),
                    ready_at,
                    ..
                }) => {
                    if self.in_force.as_ref() != Some(&target) {
                        self.retire_in_force(ready_at, grant_retirement);
                    }
                    self.enc_status = EncStatus::Enabled;
                    self.in_force = Some(target);
                    self.failure = None;
                    self.updated_at = ready_at;
                }
                Some(Pending::Enable {
                    outcome: Err(failure),
                    ready_at,
                    ..
                }) => {
                    self.enc_status = EncStatus::EnablingFailed;
                    self.failure = Some(failure);
                    self.updated_at = ready_at;
                }
                Some(Pending::Disable { ready_at, .. }) => {
                    self.retire_in_force(ready_at, grant_retirement);
                    self.enc_status = EncStatus::Disabled;
                    self.in_force = None;
                    self.shown = None;
                    self.failure = None;
                    self.updated_at = ready_at;
                }
                None => {}
            }
        }
        self.retiring.retain(|&(_, at)| now < at);
        true
    }
}
