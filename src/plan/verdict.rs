//! The planner's verdicts: what apply will do with a stream ([`Action`]) and why
//! ([`Reason`]), each with its stable name in plans, ledgers and JSON and its symbol in tables.

use std::fmt;

/// What apply will do with a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// No SSE now: Start with the target key.
    Enable,
    /// SSE on with another key or key type: Start with the target key.
    Rekey,
    /// SSE on, and the target is encryption off: Stop.
    Disable,
    /// A rollback: Start with the key the stream had before the run rolled back.
    Restore,
    /// Already at the target (ENABLED with its key, or DISABLED for encryption off), or on its
    /// way there: apply polls it to the end.
    Noop,
    /// Cannot or must not be encrypted; see the reason.
    Skip,
    /// No call left above the reserve in the rolling 24 h window; see `next_slot`.
    Defer,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Enable,
        Action::Rekey,
        Action::Disable,
        Action::Restore,
        Action::Noop,
        Action::Skip,
        Action::Defer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Enable => "enable",
            Action::Rekey => "rekey",
            Action::Disable => "disable",
            Action::Restore => "restore",
            Action::Noop => "noop",
            Action::Skip => "skip",
            Action::Defer => "defer",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The report's symbol, after `terraform plan`.
    pub fn symbol(self) -> char {
        match self {
            Action::Enable => '+',
            Action::Rekey => '~',
            Action::Disable => '-',
            Action::Restore => '<',
            Action::Noop => '=',
            Action::Skip => '!',
            Action::Defer => '…',
        }
    }

    /// Whether apply sends it a call (Start, or Stop for a disable).
    pub fn starts(self) -> bool {
        matches!(
            self,
            Action::Enable | Action::Rekey | Action::Disable | Action::Restore
        )
    }

    /// Whether it is a change the drift check pages for (`plan --detailed-exitcode` exits 2):
    /// one `apply` would make, now or once the budget allows. A skip is not: `apply` would
    /// leave the stream as it is (it cannot be encrypted, is gone or busy, or waits on a fix
    /// of its own), so a fleet holding one would page forever; skips are reported instead.
    pub fn is_change(self) -> bool {
        self.starts() || self == Action::Defer
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stream is skipped or deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The row's account cannot be reached: it is not the credentials' own and no role was
    /// given to assume there (`--assume-role`), or assuming it failed. Describe and Start act
    /// in the caller's account only, so the stream is never touched.
    NoCredentials,
    NotDirectPut,
    NotFound,
    NotActive,
    /// An encryption status this tool does not know (a newer API value): needs an operator.
    UnknownStatus,
    KeyNotFound,
    /// DescribeKey was refused: the key's fitness cannot be checked.
    KeyUnreadable,
    /// An AWS-managed key (`KeyManager` AWS) cannot be a customer-managed CMK.
    KeyNotCustomerManaged,
    /// The key is not `Enabled`: one reason per `KeyState` KMS lists (its model's `KeyState`
    /// enum), each with what the operator can do ([`Reason::for_key_state`]). `Disabled`.
    KeyDisabled,
    /// `PendingDeletion`: scheduled for deletion.
    KeyPendingDeletion,
    /// `PendingImport`: its imported key material is missing or has expired.
    KeyPendingImport,
    /// `PendingReplicaDeletion`: a multi-Region primary key scheduled for deletion, waiting for
    /// its replicas to be deleted.
    KeyPendingReplicaDeletion,
    /// `Unavailable`: its custom key store is disconnected.
    KeyUnavailable,
    /// `Creating`: a multi-Region replica key still being created.
    KeyCreating,
    /// `Updating`: a multi-Region key whose primary Region is being changed.
    KeyUpdating,
    /// A state KMS did not list when this was written (kept out of use until someone looks).
    KeyStateUnknown,
    KeyNotSymmetric,
    KeyWrongRegion,
    CmkLimit,
    Budget,
    /// A rollback found the stream elsewhere than the rolled-back run left it: someone changed
    /// it since, and it is not touched.
    ChangedSinceRun,
    /// A producer of the stream would be refused its target key (its IAM policies or the key
    /// policy lack kms:GenerateDataKey or kms:Decrypt): not started unless
    /// `--allow-producer-risk`.
    ProducersDenied,
    /// The caller may not create a grant on the target key (kms:CreateGrant), which every
    /// Start with a customer key needs.
    KeyGrantDenied,
    /// A CloudFormation stack or a Terraform state owns the stream (`--iac-owned skip`).
    IacOwned,
}

impl Reason {
    pub const ALL: [Reason; 24] = [
        Reason::NoCredentials,
        Reason::NotDirectPut,
        Reason::NotFound,
        Reason::NotActive,
        Reason::UnknownStatus,
        Reason::KeyNotFound,
        Reason::KeyUnreadable,
        Reason::KeyNotCustomerManaged,
        Reason::KeyDisabled,
        Reason::KeyPendingDeletion,
        Reason::KeyPendingImport,
        Reason::KeyPendingReplicaDeletion,
        Reason::KeyUnavailable,
        Reason::KeyCreating,
        Reason::KeyUpdating,
        Reason::KeyStateUnknown,
        Reason::KeyNotSymmetric,
        Reason::KeyWrongRegion,
        Reason::CmkLimit,
        Reason::Budget,
        Reason::ChangedSinceRun,
        Reason::ProducersDenied,
        Reason::KeyGrantDenied,
        Reason::IacOwned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoCredentials => "no_credentials",
            Reason::NotDirectPut => "not_direct_put",
            Reason::NotFound => "not_found",
            Reason::NotActive => "not_active",
            Reason::UnknownStatus => "unknown_status",
            Reason::KeyNotFound => "key_not_found",
            Reason::KeyUnreadable => "key_unreadable",
            Reason::KeyNotCustomerManaged => "key_not_customer_managed",
            Reason::KeyDisabled => "key_disabled",
            Reason::KeyPendingDeletion => "key_pending_deletion",
            Reason::KeyPendingImport => "key_pending_import",
            Reason::KeyPendingReplicaDeletion => "key_pending_replica_deletion",
            Reason::KeyUnavailable => "key_unavailable",
            Reason::KeyCreating => "key_creating",
            Reason::KeyUpdating => "key_updating",
            Reason::KeyStateUnknown => "key_state_unknown",
            Reason::KeyNotSymmetric => "key_not_symmetric",
            Reason::KeyWrongRegion => "key_wrong_region",
            Reason::CmkLimit => "cmk_limit",
            Reason::Budget => "budget",
            Reason::ChangedSinceRun => "changed_since_run",
            Reason::ProducersDenied => "producers_denied",
            Reason::KeyGrantDenied => "key_grant_denied",
            Reason::IacOwned => "iac_owned",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        match text {
            // What ledgers written before roles could be assumed call it.
            "wrong_account" => Some(Reason::NoCredentials),
            _ => Reason::ALL.into_iter().find(|r| r.as_str() == text),
        }
    }

    /// Why a key in KMS `KeyState` `state` cannot take a stream: `None` for `Enabled`, the only
    /// state KMS lets a key be used in; every other value KMS's model lists has its own reason,
    /// and one it may add later is [`Reason::KeyStateUnknown`].
    pub fn for_key_state(state: &str) -> Option<Reason> {
        Some(match state {
            "Enabled" => return None,
            "Disabled" => Reason::KeyDisabled,
            "PendingDeletion" => Reason::KeyPendingDeletion,
            "PendingImport" => Reason::KeyPendingImport,
            "PendingReplicaDeletion" => Reason::KeyPendingReplicaDeletion,
            "Unavailable" => Reason::KeyUnavailable,
            "Creating" => Reason::KeyCreating,
            "Updating" => Reason::KeyUpdating,
            _ => Reason::KeyStateUnknown,
        })
    }

    /// One sentence for the operator.
    pub fn explain(self) -> &'static str {
        match self {
            Reason::NoCredentials => {
                "no credentials act in the stream's account (the credentials' own is another; --assume-role reaches it): never described or started"
            }
            Reason::NotDirectPut => {
                "only DirectPut streams support server-side encryption by Start"
            }
            Reason::NotFound => "no such stream in this account and region",
            Reason::NotActive => "the stream is not ACTIVE",
            Reason::UnknownStatus => {
                "an encryption status this tool does not know: look at the stream before changing it"
            }
            Reason::KeyNotFound => "KMS does not know the key (or it is in another account/region)",
            Reason::KeyUnreadable => {
                "KMS refused DescribeKey: the caller needs kms:DescribeKey on the key (its policy) to check it"
            }
            Reason::KeyNotCustomerManaged => {
                "an AWS-managed key cannot be a customer-managed CMK: choose a customer managed key"
            }
            Reason::KeyDisabled => {
                "the key is disabled: enable it (aws kms enable-key), then plan again"
            }
            Reason::KeyPendingDeletion => {
                "the key is scheduled for deletion: cancel it (aws kms cancel-key-deletion leaves it disabled) and enable it (aws kms enable-key), or choose another key"
            }
            Reason::KeyPendingImport => {
                "the key's imported key material is missing or expired: import it (aws kms import-key-material), then plan again"
            }
            Reason::KeyPendingReplicaDeletion => {
                "a multi-Region primary key scheduled for deletion, waiting for its replicas to go: cancel it (aws kms cancel-key-deletion) and enable it, or choose another key"
            }
            Reason::KeyUnavailable => {
                "the key's custom key store is disconnected: connect it (aws kms connect-custom-key-store), then plan again"
            }
            Reason::KeyCreating => {
                "a multi-Region replica key still being created: plan again once it is Enabled"
            }
            Reason::KeyUpdating => {
                "a multi-Region key whose primary Region is being changed: plan again once it is Enabled"
            }
            Reason::KeyStateUnknown => {
                "the key is not Enabled, in a state this tool does not know: look at it (aws kms describe-key) before using it"
            }
            Reason::KeyNotSymmetric => "Firehose needs a symmetric ENCRYPT_DECRYPT key",
            Reason::KeyWrongRegion => "the key is in another region than the stream",
            Reason::CmkLimit => "the key would protect more streams than the per-key limit",
            Reason::Budget => {
                "no Start/Stop call left above the reserve in the rolling 24 h window"
            }
            Reason::ChangedSinceRun => {
                "someone changed the stream's encryption since the run being rolled back: left as it is"
            }
            Reason::ProducersDenied => {
                "a producer of the stream would be refused the key (kms:GenerateDataKey/kms:Decrypt): grant it first (`audit`/`plan` print the statements), or --allow-producer-risk"
            }
            Reason::KeyGrantDenied => {
                "the caller may not create a grant on the key (kms:CreateGrant, which Firehose needs to use it): allow it in the caller's IAM policy and the key policy"
            }
            Reason::IacOwned => {
                "a CloudFormation stack or Terraform owns the stream (--iac-owned skip): change its code (--out-iac DIR writes the change)"
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Reason {
    /// Whether a stream skipped for this reason was left behind for a cause the operator can
    /// fix — credentials for its account, its key, its producers' grants — so a run that
    /// skipped it did not do what it was given (exit 6), unlike a skip that is nobody's fault
    /// (a stream that cannot be encrypted, is gone, is busy, or was changed by someone else).
    pub fn operator_can_fix(self) -> bool {
        match self {
            Reason::NoCredentials
            | Reason::KeyNotFound
            | Reason::KeyUnreadable
            | Reason::KeyNotCustomerManaged
            | Reason::KeyDisabled
            | Reason::KeyPendingDeletion
            | Reason::KeyPendingImport
            | Reason::KeyPendingReplicaDeletion
            | Reason::KeyUnavailable
            | Reason::KeyCreating
            | Reason::KeyUpdating
            | Reason::KeyStateUnknown
            | Reason::KeyNotSymmetric
            | Reason::KeyWrongRegion
            | Reason::KeyGrantDenied
            | Reason::CmkLimit
            | Reason::ProducersDenied => true,
            // Skipped as the operator chose (--iac-owned skip).
            Reason::IacOwned
            | Reason::NotDirectPut
            | Reason::NotFound
            | Reason::NotActive
            | Reason::UnknownStatus
            | Reason::Budget
            | Reason::ChangedSinceRun => false,
        }
    }
}
