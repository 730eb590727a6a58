//! The producer check, pure: who writes to a stream, and whether they may use the customer key
//! it moves to. A stream moved to a customer-managed key stops its producers unless each holds
//! `kms:GenerateDataKey` and `kms:Decrypt` on the key, on both sides — its IAM policies and the
//! key policy (Firehose developer guide, server-side encryption; AWS enforces it for streams
//! that were on a customer key before 2026-04-20 from 2027-02-28). Firehose takes no
//! resource-based policy, so every producer is a principal of the stream's own account.
//!
//! The steps, each a module:
//! - `principals`: an account's `GetAccountAuthorizationDetails` → roles and users with their
//!   identity statements and the services their trust policies name;
//! - `policy`: the policy language as far as the check reads it (statements, wildcards);
//! - `candidates`: who may write on paper (an Allow for a put reaching the stream), grouped
//!   so streams a principal's statements cannot tell apart share one simulation;
//! - `assess`: the simulations to ask AWS for, then each stream's producers with verdicts;
//! - `key_policy`: the key policy's side (account delegation, a statement naming the
//!   principal, Deny), which the simulator cannot evaluate for a role;
//! - `verdict`: facts in, `allowed` / `denied` (side, action) / `unknown` (why) out;
//! - `fix`: the statements that would let a refused producer in, printed, never applied.
//!
//! The calls themselves (`GetAccountAuthorizationDetails`, `SimulatePrincipalPolicy`,
//! `GetKeyPolicy`) are made by `survey::producers` through `cloud`.

pub mod assess;
pub mod candidates;
pub mod fix;
pub mod key_policy;
pub mod policy;
pub mod principals;
pub mod verdict;

pub use assess::{KEY_ACTIONS, Subject};
pub use principals::{Details, Entity, Kind, PolicyText};
pub use verdict::{Decision, Refusal, Side, Verdict};

/// The date AWS enforces producers' KMS permissions on streams that were on a customer key
/// before 2026-04-20 (AWS's notice).
pub const ENFORCED_FROM: &str = "2027-02-28";

/// One producer of a stream and its verdict on the stream's (target) key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Producer {
    /// The role's or user's ARN.
    pub principal: String,
    pub kind: Kind,
    /// What it is: "EventBridge target role", "user", ...
    pub described: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl Producer {
    /// `role/name` or `user/name` from the ARN (paths dropped).
    pub fn short(&self) -> String {
        let name = self.principal.rsplit('/').next().unwrap_or(&self.principal);
        format!("{}/{name}", self.kind.as_str())
    }
}

/// What the check found for one stream and its key.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct StreamProducers {
    /// The customer key checked (the stream's target, or for `audit` the key it is on).
    pub key: String,
    pub producers: Vec<Producer>,
    /// Why the account's principals could not be read (IAM refused, `--skip-producer-check`):
    /// then nothing is known of its producers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

/// Producers per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub allowed: usize,
    pub denied: usize,
    pub unknown: usize,
}

impl Counts {
    pub fn add(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Allowed => self.allowed += 1,
            Verdict::Denied { .. } => self.denied += 1,
            Verdict::Unknown { .. } => self.unknown += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.allowed += other.allowed;
        self.denied += other.denied;
        self.unknown += other.unknown;
    }
}

impl StreamProducers {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for p in &self.producers {
            c.add(&p.verdict);
        }
        c
    }

    /// The producers that would be refused.
    pub fn denied(&self) -> impl Iterator<Item = &Producer> {
        self.producers.iter().filter(|p| p.verdict.is_denied())
    }

    /// Whether any producer would be refused.
    pub fn any_denied(&self) -> bool {
        self.denied().next().is_some()
    }

    /// Whether something is not known: a producer's verdict, or the producers themselves.
    pub fn any_unknown(&self) -> bool {
        self.unread.is_some()
            || self
                .producers
                .iter()
                .any(|p| matches!(p.verdict, Verdict::Unknown { .. }))
    }

    /// One line for a plan: the refused producers, what refuses them.
    pub fn denied_line(&self) -> String {
        self.denied()
            .map(|p| format!("{} ({}): {}", p.short(), p.described, p.verdict))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a survey's producer check found, for the planner and the reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Each checked stream's producers on its target key.
    pub streams: std::collections::HashMap<crate::model::StreamId, StreamProducers>,
    /// The caller's own `kms:CreateGrant` on each key, by (account, key ARN).
    pub grants: std::collections::HashMap<(String, String), Verdict>,
    /// The check as a whole: skipped or not, calls, notes.
    pub summary: CheckSummary,
}

impl Findings {
    /// The caller's grant on `key` in `account`, when checked.
    pub fn grant(&self, account: &str, key: &str) -> Option<&Verdict> {
        self.grants.get(&(account.to_owned(), key.to_owned()))
    }
}

/// What the producer check did, as a plan records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckSummary {
    /// Not made, and why (`--skip-producer-check`); then nothing is known of any producer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Streams checked (moving to a customer key).
    pub streams: usize,
    /// Accounts whose principals were read.
    pub accounts: usize,
    /// Of which read from the ledger's recent pass instead of IAM.
    pub reused: usize,
    pub principals: usize,
    pub candidates: usize,
    pub iam_calls: u32,
    pub kms_calls: u32,
    pub throttles: u32,
    /// What an operator must know (an account IAM would not read, a key policy refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests;
