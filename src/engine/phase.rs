//! Where a run's item stands, why it ended where it did, and the change the engine asks the
//! ledger to record for it.
//!
//! An item's life: pending → starting → polling → done | failed | deferred, or skipped (decided
//! by the plan). A Start that must be tried again (throttled, unknown outcome, a transient
//! failure) goes back to pending.

use crate::clock::EpochMillis;
use crate::engine::failure::FailureClass;
use crate::plan::Reason;

/// Where a stream of an apply run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Pending,
    Starting,
    Polling,
    Done,
    Failed,
    Skipped,
    Deferred,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::Pending,
        Phase::Starting,
        Phase::Polling,
        Phase::Done,
        Phase::Failed,
        Phase::Skipped,
        Phase::Deferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Starting => "starting",
            Phase::Polling => "polling",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Skipped => "skipped",
            Phase::Deferred => "deferred",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Nothing more will happen to the item in this run.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Done | Phase::Failed | Phase::Skipped | Phase::Deferred
        )
    }
}

/// Why an item ended where it did: one of the planner's reasons (`not_found`, `budget`,
/// `cmk_limit`, ... — the engine meets some of them again at Start time), or one only a run can
/// meet. Stored in the ledger as its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// A reason the planner also gives.
    Plan(Reason),
    /// Still ENABLING after `--poll-timeout` (resume polls it again).
    TimedOut,
    /// The service refused the Start itself (`InvalidArgumentException`, ...).
    Rejected,
    /// KMS refused Firehose the stream's key at Start (`InvalidKMSResourceException`).
    KmsRefused,
    /// Starts accepted (or unanswered) up to `--max-attempts`, yet the stream is not at target.
    AttemptsExhausted,
    /// `ENABLING_FAILED`, by the class of its failure type.
    EnablingFailed(FailureClass),
    /// The account's session credentials are too old for a KMS grant and cannot be refreshed:
    /// its customer-key Starts are not sent.
    CredentialsTooOld,
    /// `LimitExceededException` that could be the stream's budget or its key's limit: our
    /// counts do not say and the message names no key ([`super::limit`]). Deferred as for the
    /// budget; the key is not taken to be full.
    LimitUnclear,
    /// Refused for the key's limit soon after a rekey or Stop freed a slot under the key: the
    /// old grant may not be retired yet ([`super::GRANT_RETIREMENT_WAIT`]). Tried again once
    /// that wait has passed (`next_slot`).
    GrantRetiring,
}

impl Why {
    pub const NOT_FOUND: Why = Why::Plan(Reason::NotFound);
    pub const BUDGET: Why = Why::Plan(Reason::Budget);
    pub const CMK_LIMIT: Why = Why::Plan(Reason::CmkLimit);

    pub fn as_str(self) -> &'static str {
        match self {
            Why::Plan(reason) => reason.as_str(),
            Why::TimedOut => "timed_out",
            Why::Rejected => "rejected",
            Why::KmsRefused => "kms_refused",
            Why::AttemptsExhausted => "attempts_exhausted",
            Why::CredentialsTooOld => "credentials_too_old",
            Why::LimitUnclear => "budget_or_cmk_limit",
            Why::GrantRetiring => "grant_retiring",
            Why::EnablingFailed(class) => match class {
                FailureClass::NeedsOperator => "enabling_failed:needs_operator",
                FailureClass::Transient => "enabling_failed:transient",
                FailureClass::OldKey => "enabling_failed:old_key",
                FailureClass::NotSse => "enabling_failed:not_sse",
            },
        }
    }

    pub fn parse(text: &str) -> Option<Why> {
        if let Some(reason) = Reason::parse(text) {
            return Some(Why::Plan(reason));
        }
        let engine = [
            Why::TimedOut,
            Why::Rejected,
            Why::KmsRefused,
            Why::AttemptsExhausted,
            Why::CredentialsTooOld,
            Why::LimitUnclear,
            Why::GrantRetiring,
            Why::EnablingFailed(FailureClass::NeedsOperator),
            Why::EnablingFailed(FailureClass::Transient),
            Why::EnablingFailed(FailureClass::OldKey),
            Why::EnablingFailed(FailureClass::NotSse),
        ];
        engine.into_iter().find(|w| w.as_str() == text)
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change to a run item; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemUpdate {
    pub phase: Option<Phase>,
    pub reason: Option<Why>,
    pub starts: Option<u32>,
    pub enabled_at: Option<EpochMillis>,
    /// Failure type (or error code) and details.
    pub failure: Option<(String, String)>,
    pub next_slot: Option<EpochMillis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back_as_written() {
        let mut all: Vec<Why> = Reason::ALL.map(Why::Plan).to_vec();
        all.extend([
            Why::TimedOut,
            Why::Rejected,
            Why::KmsRefused,
            Why::AttemptsExhausted,
            Why::CredentialsTooOld,
            Why::LimitUnclear,
            Why::GrantRetiring,
        ]);
        for class in [
            FailureClass::NeedsOperator,
            FailureClass::Transient,
            FailureClass::OldKey,
            FailureClass::NotSse,
        ] {
            all.push(Why::EnablingFailed(class));
        }
        for why in all {
            assert_eq!(Why::parse(why.as_str()), Some(why), "{why}");
        }
        assert_eq!(Why::parse("enabling_failed:something"), None);
        // Ledgers written before roles could be assumed.
        assert_eq!(
            Why::parse("wrong_account"),
            Some(Why::Plan(Reason::NoCredentials))
        );
        assert_eq!(Why::NOT_FOUND.as_str(), "not_found");
    }

    #[test]
    fn phases_read_back_and_terminal_ones_are_final() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
        let terminal: Vec<_> = Phase::ALL.into_iter().filter(|p| p.is_terminal()).collect();
        assert_eq!(
            terminal,
            [Phase::Done, Phase::Failed, Phase::Skipped, Phase::Deferred]
        );
    }
}
