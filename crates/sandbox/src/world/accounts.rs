//! The accounts of the world: the sandbox's own and its organization's members, as
//! Organizations describes them (name, email, status, how and when they joined), the roles
//! callers may assume in each, and what each account's credentials did (the ground truth per
//! account: requests, throttles, expired credentials, sessions issued, and the streams they
//! named that the account does not have).

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::seed::{SeedAccount, SeedRole};
use crate::vocabulary::{AccountStatus, JoinedMethod, Millis};

/// Distinct (Region, stream, operation) not-found records kept per account.
const NOT_FOUND_CAP: usize = 10_000;

/// A role callers may assume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// The `ExternalId` an AssumeRole must give.
    pub external_id: Option<String>,
    /// `MaxSessionDuration`, in seconds.
    pub max_session: u64,
}

impl Role {
    fn of(seed: &SeedRole) -> Role {
        Role {
            name: seed.name.clone(),
            external_id: seed.external_id.clone(),
            max_session: seed.max_session().expect("checked").as_secs(),
        }
    }
}

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
    pub roles: BTreeMap<String, Role>,
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
    /// The sandbox's own account, with `roles`, joined at `joined_at`.
    pub(super) fn own(id: &str, roles: &[SeedRole], joined_at: Millis) -> Account {
        Account {
            id: id.to_owned(),
            name: "management".to_owned(),
            email: format!("{id}@example.com"),
            status: AccountStatus::Active,
            joined_method: JoinedMethod::Created,
            joined_at,
            member: false,
            roles: roles_of(roles),
            counters: AccountCounters::default(),
        }
    }

    /// A member account as seeded, joined at `joined_at`.
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
            roles: roles_of(&seed.roles),
            counters: AccountCounters::default(),
        }
    }
}

fn roles_of(roles: &[SeedRole]) -> BTreeMap<String, Role> {
    roles
        .iter()
        .map(|r| (r.name.clone(), Role::of(r)))
        .collect()
}
