//! The accounts of the world: the sandbox's own and its organization's members, as
//! Organizations describes them (name, email, status, how and when they joined), the IAM of
//! each (its users, groups, roles — the ones callers may assume among them — and policies:
//! `iam`), and what each account's credentials did (the ground truth per account: requests,
//! throttles, expired credentials, sessions issued, and the streams they named that the
//! account does not have).

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::iam::Iam;
use crate::seed::SeedAccount;
use crate::vocabulary::{AccountStatus, JoinedMethod, Millis};

/// Distinct (Region, stream, operation) not-found records kept per account.
const NOT_FOUND_CAP: usize = 10_000;

/// One account.
#[derive(Debug)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: AccountStatus,
    pub joined_method: JoinedMethod,
    pub joined_at: Millis,
    /// A member of the organization (`false`: the sandbox's own account, its management
    /// account).
    pub member: bool,
    /// A member account registered as a delegated administrator: it may list the accounts.
    pub delegated_administrator: bool,
    /// Its users, groups, roles and managed policies.
    pub iam: Iam,
    pub(super) counters: AccountCounters,
}

/// What one account's credentials did.
#[derive(Debug, Default)]
pub(super) struct AccountCounters {
    pub(super) requests: BTreeMap<&'static str, u64>,
    pub(super) throttled: BTreeMap<&'static str, u64>,
    /// Requests refused because their credentials had expired.
    pub(super) expired: u64,
    /// Per operation: arrival times within the last second, and the most seen at once.
    pub(super) rate: HashMap<&'static str, (VecDeque<Millis>, u64)>,
    /// Credentials AssumeRole issued into this account.
    pub(super) sessions_issued: u64,
    /// AssumeRole calls refused (`AccessDenied`) that named a role of this account.
    pub(super) assume_role_denied: u64,
    /// Requests naming a stream this account does not have: (Region, stream, operation) →
    /// count.
    pub(super) not_found: BTreeMap<(String, String, &'static str), u64>,
}

impl AccountCounters {
    /// Counts a request of operation `op` arriving at `now`.
    pub(super) fn request(&mut self, op: &'static str, now: Millis) {
        *self.requests.entry(op).or_default() += 1;
        let (times, max) = self.rate.entry(op).or_default();
        times.push_back(now);
        while times.front().is_some_and(|&t| t + 1_000 <= now) {
            times.pop_front();
        }
        *max = (*max).max(times.len() as u64);
    }

    pub(super) fn stream_not_found(&mut self, region: &str, name: &str, op: &'static str) {
        let key = (region.to_owned(), name.to_owned(), op);
        if self.not_found.len() < NOT_FOUND_CAP || self.not_found.contains_key(&key) {
            *self.not_found.entry(key).or_default() += 1;
        }
    }
}

impl Account {
    /// The sandbox's own account, joined at `joined_at` (its IAM has its base user only).
    pub(super) fn own(id: &str, joined_at: Millis) -> Account {
        Account {
            id: id.to_owned(),
            name: "management".to_owned(),
            email: format!("{id}@example.com"),
            status: AccountStatus::Active,
            joined_method: JoinedMethod::Created,
            joined_at,
            member: false,
            delegated_administrator: false,
            iam: Iam::new(id, joined_at),
            counters: AccountCounters::default(),
        }
    }

    /// A member account as seeded, joined at `joined_at` (its IAM has its base user only).
    pub(super) fn member(seed: &SeedAccount, joined_at: Millis) -> Account {
        Account {
            id: seed.id.clone(),
            name: seed
                .name
                .clone()
                .unwrap_or_else(|| format!("account-{}", seed.id)),
            email: seed
                .email
                .clone()
                .unwrap_or_else(|| format!("{}@example.com", seed.id)),
            status: seed
                .status
                .as_deref()
                .and_then(AccountStatus::parse)
                .unwrap_or(AccountStatus::Active),
            joined_method: seed
                .joined_method
                .as_deref()
                .and_then(JoinedMethod::parse)
                .unwrap_or(JoinedMethod::Created),
            joined_at,
            member: true,
            delegated_administrator: seed.delegated_administrator,
            iam: Iam::new(&seed.id, joined_at),
            counters: AccountCounters::default(),
        }
    }
}
