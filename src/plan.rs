//! The planner: a pure function of targets × observations × ledger budgets × key usage × the
//! clock, deciding for each stream of the fleet what apply will do and why. No I/O here: the
//! plan command and apply feed it the same data and get the same decisions
//! (docs/design.md#the-dry-run-goes-down-the-real-path).
//!
//! Decisions are taken in fleet order by a [`Planner`], one item at a time, so apply can decide
//! each stream as soon as it is observed; the per-key stream counts run along, so the 500-per-key
//! limit is enforced in fleet order.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::clock::{EpochMillis, SECOND};
use crate::input::Target;
use crate::limits::KeyRoom;
use crate::limits::budget;
use crate::limits::key_room::counted_under;
use crate::model::{
    EncStatus, KeyChoice, KeyObservation, Reached, SourceType, StreamId, StreamObservation,
    StreamStatus,
};

mod verdict;

use crate::iac::{Owner, Owners};
use crate::model::SourceEncryption;
use crate::producers::{Counts, Findings, StreamProducers, Verdict};

pub use verdict::{Action, Reason};

/// The limits the planner respects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Calls per stream never planned, kept for an operator's emergency Stop or rollback.
    pub reserve: u32,
    /// Start+Stop calls per stream per window (AWS: 25).
    pub stream_budget: u32,
    /// The budget's rolling window (AWS: 24 h).
    pub window: EpochMillis,
    /// Streams per customer-managed key (AWS: 500).
    pub cmk_limit: u32,
    /// How long past the window a call still counts before its slot is used again
    /// ([`budget::MARGIN`]).
    pub margin: EpochMillis,
    /// A rollback's plan: a Start towards the earlier key is a `restore`.
    pub restore: bool,
    /// `--skip-producer-check`: nobody is asked who writes to the streams (the plan says so).
    pub skip_producer_check: bool,
    /// `--allow-producer-risk`: a stream whose producers would be refused its key is started
    /// anyway (its line still names them).
    pub allow_producer_risk: bool,
    /// `--iac-owned skip`: a stream a CloudFormation stack or a Terraform state owns is
    /// skipped `iac_owned` (default: changed, its line warning who owns it).
    pub skip_iac_owned: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reserve: 1,
            stream_budget: budget::STREAM_BUDGET,
            window: budget::WINDOW,
            cmk_limit: 500,
            margin: budget::MARGIN,
            restore: false,
            skip_producer_check: false,
            allow_producer_risk: false,
            skip_iac_owned: false,
        }
    }
}

impl Settings {
    /// Calls the planner may spend per stream per window.
    pub fn allowed(&self) -> u32 {
        self.stream_budget.saturating_sub(self.reserve)
    }

    /// The window calls are counted in when deciding whether to spend one: the budget's
    /// window plus the margin, so a slot freed at the edge is used only once it surely is.
    pub fn counted_window(&self) -> EpochMillis {
        self.window + self.margin
    }
}

/// What observation found for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // short-lived, one per stream
pub enum Seen {
    /// Describe answered ResourceNotFound.
    Missing,
    /// Not described: the row's account cannot be reached.
    Unreachable,
    /// Describe answered; `in_force` is the key the ledger knows protects the stream (which
    /// survives a failed rekey that Describe alone does not show); `in_force_unknown` when the
    /// stream was first seen failed or mid-transition, so the key protecting it is not known.
    Found {
        obs: StreamObservation,
        in_force: Option<KeyChoice>,
        in_force_unknown: bool,
    },
}

/// A stream's state when planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub stream_status: StreamStatus,
    pub status: EncStatus,
    pub key: Option<KeyChoice>,
    /// The stream a non-DirectPut stream reads from (where encryption belongs instead).
    pub source_arn: Option<String>,
    /// How that source is encrypted, when it is a Kinesis stream and was read.
    pub source_encryption: Option<SourceEncryption>,
    /// First seen failed or mid-transition: the key protecting it is not known.
    pub in_force_unknown: bool,
}

/// The decision for one stream of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Position in the fleet (0-based), the order of decisions and dispatch.
    pub seq: usize,
    pub target: Target,
    /// The observed identity (account from the stream's ARN); `None` when not found.
    pub stream: Option<StreamId>,
    pub action: Action,
    pub reason: Option<Reason>,
    /// For `defer`: when the stream's next call above the reserve frees up.
    pub next_slot: Option<EpochMillis>,
    pub current: Option<Current>,
    /// Calls counted in the stream's window when planned.
    pub budget_used: u32,
    /// Who writes to it and whether they may use its target customer key (the producer
    /// check), for a stream moving to one.
    pub producers: Option<Box<StreamProducers>>,
    /// The CloudFormation stack or Terraform resource that owns it, if any.
    pub owner: Option<Box<Owner>>,
}

/// The label of the credentials' own account among `items`: the account Describe showed for a
/// row that names none, else `own`.
pub fn own_account(items: &[Item]) -> &str {
    items
        .iter()
        .filter(|i| i.target.account.is_none())
        .find_map(|i| i.stream.as_ref().map(|s| s.account.as_str()))
        .unwrap_or("own")
}

impl Item {
    pub fn account(&self) -> Option<&str> {
        self.stream
            .as_ref()
            .map(|s| s.account.as_str())
            .or(self.target.account.as_deref())
    }
}

/// Decides items one at a time in fleet order, keeping the per-key counts as it goes.
#[derive(Debug)]
pub struct Planner {
    settings: Settings,
    keys: HashMap<String, KeyObservation>,
    /// Streams per key after the decisions so far.
    room: KeyRoom,
    now: EpochMillis,
    /// What the producer check found, when one was made.
    producers: Option<Arc<Findings>>,
    /// The streams code owns, when anyone looked.
    owners: Option<Arc<Owners>>,
}

/// What the rules before the budget decided.
enum Screened {
    Noop,
    Skip(Reason),
}

impl Planner {
    /// `counts_now`: streams each key protects now (from the ledger); `keys`: KMS
    /// DescribeKey results by key ARN.
    pub fn new(
        settings: Settings,
        counts_now: HashMap<String, u32>,
        keys: HashMap<String, KeyObservation>,
        now: EpochMillis,
    ) -> Self {
        Planner {
            settings,
            keys,
            room: KeyRoom::new(settings.cmk_limit, counts_now),
            now,
            producers: None,
            owners: None,
        }
    }

    /// Decides knowing which streams code owns: such a stream carries its owner, and is
    /// skipped `iac_owned` with `--iac-owned skip`.
    pub fn set_owners(&mut self, owners: Arc<Owners>) {
        self.owners = Some(owners);
    }

    /// Decides with what the producer check found: a stream whose producers would be refused
    /// its key is skipped `producers_denied` (unless the settings allow the risk), one whose key
    /// the caller may not grant on `key_grant_denied`.
    pub fn with_producers(mut self, findings: Arc<Findings>) -> Self {
        self.set_producers(findings);
        self
    }

    /// [`Planner::with_producers`] on a planner already made.
    pub fn set_producers(&mut self, findings: Arc<Findings>) {
        self.producers = Some(findings);
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn now(&self) -> EpochMillis {
        self.now
    }

    /// Streams per key after every decision so far.
    pub fn counts(&self) -> &HashMap<String, u32> {
        self.room.counts()
    }

    /// Corrects the running count of a key for what observation found: a stream the counts did
    /// not include uses the key (`uses`), or one they included no longer does.
    pub fn observed_usage(&mut self, key_arn: &str, uses: bool) {
        self.room.observed(key_arn, uses);
    }

    /// Decides one target; `sends` are the stream's counted attempt times (any order).
    pub fn decide(
        &mut self,
        seq: usize,
        target: &Target,
        seen: &Seen,
        sends: &[EpochMillis],
    ) -> Item {
        let mut item = Item {
            seq,
            target: target.clone(),
            stream: None,
            action: Action::Skip,
            reason: None,
            next_slot: None,
            current: None,
            budget_used: budget::used(sends, self.now, self.settings.counted_window()),
            producers: None,
            owner: None,
        };
        let (obs, in_force, in_force_unknown) = match seen {
            Seen::Missing => {
                item.reason = Some(Reason::NotFound);
                return item;
            }
            Seen::Unreachable => {
                item.reason = Some(Reason::NoCredentials);
                return item;
            }
            Seen::Found {
                obs,
                in_force,
                in_force_unknown,
            } => (obs, in_force.as_ref(), *in_force_unknown),
        };
        item.stream = Some(obs.id.clone());
        item.owner = self
            .owners
            .as_ref()
            .and_then(|o| o.owner(&obs.arn, &obs.id.name))
            .cloned()
            .map(Box::new);
        let enc = &obs.encryption;
        item.current = Some(Current {
            stream_status: obs.status.clone(),
            status: enc.status.clone(),
            key: enc.key.clone(),
            source_arn: obs.source_arn.clone(),
            source_encryption: None,
            in_force_unknown,
        });
        match self.screen(&mut item, target, obs) {
            Some(Screened::Noop) => {
                item.action = Action::Noop;
                return item;
            }
            Some(Screened::Skip(reason)) => {
                item.action = Action::Skip;
                item.reason = Some(reason);
                return item;
            }
            None => {}
        }
        let allowed = self.settings.allowed();
        if item.budget_used >= allowed {
            item.action = Action::Defer;
            item.reason = Some(Reason::Budget);
            item.next_slot =
                budget::next_slot(sends, self.now, self.settings.counted_window(), allowed);
            return item;
        }
        // The key protecting the stream's data now, which the change moves it away from.
        let protecting = match enc.status {
            EncStatus::Enabled => enc.key.as_ref(),
            _ => in_force,
        };
        if let KeyChoice::Customer(arn) = &target.key
            && !counted_under(&enc.status, enc.key.as_ref(), protecting, &target.key)
            && !self.room.take(arn.as_str())
        {
            item.action = Action::Skip;
            item.reason = Some(Reason::CmkLimit);
            return item;
        }
        if let Some(KeyChoice::Customer(old)) = protecting.filter(|k| **k != target.key) {
            self.room.free(old.as_str());
        }
        item.action = match (&target.key, protecting) {
            (KeyChoice::Off, _) => Action::Disable,
            _ if self.settings.restore => Action::Restore,
            (_, Some(_)) => Action::Rekey,
            (_, None) => Action::Enable,
        };
        item
    }

    /// The rules before the budget, in order: a stream that is not DirectPut, not ACTIVE or in
    /// an unknown status is skipped; one already at (or moving to) its target is a noop; a
    /// rollback's stream changed since its run, a key with a problem, a grant or a producer
    /// refused, a stream code owns (when asked) are skipped. `None`: on to the budget. Sets the
    /// item's producers when the check ran.
    fn screen(
        &self,
        item: &mut Item,
        target: &Target,
        obs: &StreamObservation,
    ) -> Option<Screened> {
        let enc = &obs.encryption;
        if obs.source != SourceType::DirectPut {
            return Some(Screened::Skip(Reason::NotDirectPut));
        }
        if obs.status != StreamStatus::Active {
            return Some(Screened::Skip(Reason::NotActive));
        }
        if let EncStatus::Other(_) = enc.status {
            return Some(Screened::Skip(Reason::UnknownStatus));
        }
        if matches!(
            target.key.reached(&enc.status, enc.key.as_ref()),
            Reached::Done | Reached::Moving
        ) {
            return Some(Screened::Noop);
        }
        // A rollback touches a stream only where the run it undoes left it (a stream already
        // back, say by an earlier rollback, is a noop above).
        if let Some(expect) = &target.expect
            && !matches!(
                expect.reached(&enc.status, enc.key.as_ref()),
                Reached::Done | Reached::Moving
            )
        {
            return Some(Screened::Skip(Reason::ChangedSinceRun));
        }
        if let KeyChoice::Customer(arn) = &target.key
            && let Some(reason) = self.key_problem(arn.as_str(), &obs.id.region)
        {
            return Some(Screened::Skip(reason));
        }
        if let (KeyChoice::Customer(arn), Some(findings)) = (&target.key, &self.producers) {
            if findings
                .grant(&obs.id.account, arn.as_str())
                .is_some_and(Verdict::is_denied)
            {
                return Some(Screened::Skip(Reason::KeyGrantDenied));
            }
            item.producers = findings.streams.get(&obs.id).cloned().map(Box::new);
            if item.producers.as_ref().is_some_and(|p| p.any_denied())
                && !self.settings.allow_producer_risk
            {
                return Some(Screened::Skip(Reason::ProducersDenied));
            }
        }
        if item.owner.is_some() && self.settings.skip_iac_owned {
            return Some(Screened::Skip(Reason::IacOwned));
        }
        None
    }

    fn key_problem(&self, arn: &str, stream_region: &str) -> Option<Reason> {
        let Some(key) = self.keys.get(arn) else {
            return Some(Reason::KeyNotFound);
        };
        if !key.readable {
            return Some(Reason::KeyUnreadable);
        }
        if !key.found {
            return Some(Reason::KeyNotFound);
        }
        if key.manager == "AWS" {
            return Some(Reason::KeyNotCustomerManaged);
        }
        if key.arn.region() != stream_region {
            return Some(Reason::KeyWrongRegion);
        }
        if let Some(reason) = Reason::for_key_state(&key.state) {
            return Some(reason);
        }
        if key.spec != "SYMMETRIC_DEFAULT" || key.usage != "ENCRYPT_DECRYPT" {
            return Some(Reason::KeyNotSymmetric);
        }
        None
    }
}

/// Items per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub enable: usize,
    pub rekey: usize,
    /// Shown only when a plan has some (fleet rows asking for encryption off, rollbacks).
    #[serde(skip_serializing_if = "is_zero")]
    pub disable: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub restore: usize,
    pub noop: usize,
    pub skip: usize,
    pub defer: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Summary {
        let mut s = Summary::default();
        for item in items {
            s.add(item.action, 1);
        }
        s
    }

    /// The summary of each account's items, by account. A row that names no account is the
    /// credentials' own, labelled with the account Describe showed for such rows (`own` when
    /// none was seen).
    pub fn by_account(items: &[Item]) -> std::collections::BTreeMap<String, Summary> {
        let own = own_account(items);
        let mut by: std::collections::BTreeMap<String, Summary> = Default::default();
        for item in items {
            let account = item.target.account.as_deref().unwrap_or(own);
            by.entry(account.to_owned())
                .or_default()
                .add(item.action, 1);
        }
        by
    }

    /// Counts `n` more items of `action`.
    pub fn add(&mut self, action: Action, n: usize) {
        match action {
            Action::Enable => self.enable += n,
            Action::Rekey => self.rekey += n,
            Action::Disable => self.disable += n,
            Action::Restore => self.restore += n,
            Action::Noop => self.noop += n,
            Action::Skip => self.skip += n,
            Action::Defer => self.defer += n,
        }
    }
}

/// One row of the per-key table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyLine {
    pub key_arn: String,
    pub streams_now: u32,
    pub streams_after: u32,
    pub limit: u32,
    /// The verdicts on the producers of the streams planned onto the key, when checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producers: Option<Counts>,
}

/// The per-key table: every customer key the fleet targets or moves streams away from.
pub fn key_lines(
    items: &[Item],
    counts_now: &HashMap<String, u32>,
    counts_after: &HashMap<String, u32>,
    limit: u32,
) -> Vec<KeyLine> {
    let mut arns: BTreeMap<&str, ()> = BTreeMap::new();
    for item in items {
        if let Some(arn) = item.target.key.key_arn() {
            arns.insert(arn.as_str(), ());
        }
        if let Some(arn) = item
            .current
            .as_ref()
            .and_then(|c| c.key.as_ref())
            .and_then(KeyChoice::key_arn)
        {
            arns.insert(arn.as_str(), ());
        }
    }
    let mut producers: HashMap<&str, Counts> = HashMap::new();
    // The streams it will start, and those it skips for their producers.
    let counted = |i: &&Item| i.action.starts() || i.reason == Some(Reason::ProducersDenied);
    for item in items.iter().filter(counted) {
        if let (Some(arn), Some(p)) = (item.target.key.key_arn(), &item.producers) {
            producers.entry(arn.as_str()).or_default().merge(p.counts());
        }
    }
    arns.into_keys()
        .map(|arn| KeyLine {
            key_arn: arn.to_owned(),
            streams_now: counts_now.get(arn).copied().unwrap_or(0),
            streams_after: counts_after.get(arn).copied().unwrap_or(0),
            limit,
            producers: producers.get(arn).copied(),
        })
        .collect()
}

/// The rates apply will run at, for the duration estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub start_tps: f64,
    pub describe_tps: f64,
}

/// Time allowed at the end for the slowest transitions (about two median transitions).
pub const TAIL: EpochMillis = 10 * SECOND;

/// Estimated apply duration: per region the larger of Starts ÷ start rate and Describes ÷
/// describe rate (one Describe per started stream to confirm it, plus one per stream to
/// observe when `observe` is set), plus the tail; regions run in parallel, so the slowest
/// region decides. Zero when nothing is to be started.
pub fn estimate(items: &[Item], pace: Pace, observe: bool) -> EpochMillis {
    estimate_counts(
        items
            .iter()
            .map(|item| (&*item.target.region, item.action, 1)),
        pace,
        observe,
    )
}

/// [`estimate`] from counts of (region, action, streams), as the ledger keeps them for a
/// large plan.
pub fn estimate_counts<'r>(
    counts: impl IntoIterator<Item = (&'r str, Action, u64)>,
    pace: Pace,
    observe: bool,
) -> EpochMillis {
    // (Starts, streams) per region.
    let mut per_region: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (region, action, n) in counts {
        let entry = per_region.entry(region).or_default();
        if action.starts() {
            entry.0 += n;
        }
        entry.1 += n;
    }
    per_region
        .into_values()
        .map(|(starts, streams)| {
            let describes = starts + if observe { streams } else { 0 };
            (starts as f64, describes as f64)
        })
        .filter(|(starts, _)| *starts > 0.0)
        .map(|(starts, describes)| {
            let secs = (starts / pace.start_tps).max(describes / pace.describe_tps);
            (secs * 1000.0) as EpochMillis + TAIL
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
