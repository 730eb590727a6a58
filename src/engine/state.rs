//! [`RunState`]: the one owner of a run's state. It takes events with the time they happened
//! and returns effects; every decision of apply is made here, nothing here waits, sends or
//! writes (the sans-IO shape of quinn-proto's `Connection`).
//!
//! After every event the engine "pumps": items whose timers fell due become ready, due
//! Describes are asked for (each region up to `concurrency` in flight, so a region with a
//! backlog never holds another back), idle Describe quota is spent on early polls, and ready
//! items are dispatched through the gates, each region in fleet order up to `concurrency`
//! Starts in flight.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroI64;
use std::sync::Arc;
use std::time::Duration;

use super::io::{Abort, Effect, Event, Note, Notice, Snapshot};
use super::phase::{ItemUpdate, Phase, Why};
use super::poll::PollSchedule;
use super::track::{NewItem, SendLog, Track};
use super::{Config, Outcome};
use crate::clock::EpochMillis;
use crate::limits::{KeyChange, KeyRoom};
use crate::model::{Interner, Operation};

/// Why a Describe was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// Waiting for a transition we started (or found under way).
    Poll,
    /// The outcome of a call is unknown, or the run resumed: find out before anything else.
    Reconcile,
}

/// Which poll a Describe's answer is to: why it was sent, whether early (on an idle quota),
/// and when.
#[derive(Debug, Clone, Copy)]
pub(super) struct PollOf {
    pub purpose: Purpose,
    pub early: bool,
    pub sent_at: EpochMillis,
}

/// Per-item state beyond what [`Track`] carries: one per stream of the run, so kept to 40
/// bytes (times as plain numbers, none as 0).
#[derive(Debug, Default)]
pub(super) struct Live {
    /// When the Start we wait on was accepted (or the transition was first seen).
    started: Option<NonZeroI64>,
    /// The planned delay of the first poll after that Start, in ms (0: none yet).
    first_planned_ms: u32,
    /// Polls since that Start.
    pub polls: u16,
    /// The item holds a slot under its customer key's limit.
    pub holds_slot: bool,
    /// Why the Describe in flight for it was sent.
    pub describing: Option<Purpose>,
    /// Its stream's counted sends.
    pub sends: SendLog,
}

impl Live {
    pub fn started(&self) -> Option<EpochMillis> {
        self.started.map(NonZeroI64::get)
    }
    /// Sets (or, with `None`, forgets) when the transition started; the epoch itself reads
    /// as "none", which no real clock gives.
    pub fn set_started(&mut self, at: Option<EpochMillis>) {
        self.started = at.and_then(NonZeroI64::new);
    }
    pub fn first_planned(&self) -> Option<Duration> {
        (self.first_planned_ms > 0).then(|| Duration::from_millis(self.first_planned_ms.into()))
    }
    pub fn set_first_planned(&mut self, delay: Option<Duration>) {
        self.first_planned_ms = delay.map_or(0, |d| (d.as_millis() as u32).max(1));
    }
}

/// The state of one apply run.
#[derive(Debug)]
pub struct RunState {
    pub(super) config: Config,
    pub(super) tracks: Vec<Track>,
    pub(super) live: Vec<Live>,
    /// One shared copy of each region and account name the tracks carry.
    pub(super) names: Interner,
    /// Items ready to dispatch, per region, in fleet order.
    pub(super) ready: BTreeMap<Arc<str>, BTreeSet<usize>>,
    /// Starts in flight per region.
    pub(super) starts_by_region: HashMap<Arc<str>, usize>,
    /// Describes in flight per region.
    pub(super) describes_by_region: HashMap<Arc<str>, usize>,
    /// When items may be dispatched again.
    pub(super) dispatch_at: BTreeSet<(EpochMillis, usize)>,
    /// When items are to be described (`true`: to reconcile), per region.
    pub(super) describe_at: BTreeMap<Arc<str>, BTreeSet<(EpochMillis, usize, bool)>>,
    /// Early polls in flight: item → the time its poll was due.
    pub(super) early: HashMap<usize, EpochMillis>,
    /// Regions whose early poll found no free token at this instant.
    pub(super) early_declined: HashMap<Arc<str>, EpochMillis>,
    pub(super) keys: KeyRoom,
    /// When a slot was last freed on each key by a stream moving away from it (the old grant
    /// is only scheduled for retirement then).
    pub(super) freed_at: HashMap<String, EpochMillis>,
    /// Keys the service refused for their limit while a slot freed on them may still hold its
    /// old grant: no Start goes to them before this time.
    pub(super) held: HashMap<String, EpochMillis>,
    /// Accounts whose credentials cannot create a KMS grant, and why: none of their Starts
    /// towards a customer key is sent.
    pub(super) grants_withheld: HashMap<String, String>,
    /// Calls in a row proven never to have left (connection refused, DNS): an endpoint that
    /// cannot be reached stops the run instead of being retried forever.
    pub(super) not_sent: u32,
    /// Items waiting for room under a key's limit.
    pub(super) key_waiters: HashMap<String, BTreeSet<usize>>,
    /// Open items moving a stream away from each customer key (which would free a slot under
    /// it), counted as items open and end so the key gate asks in O(1).
    pub(super) leaving: HashMap<String, u32>,
    /// Streams are still being observed (the Describe quota is busy with them), and more items
    /// may be added.
    pub(super) observing: bool,
    pub(super) stopping: bool,
    /// Items not in a terminal phase (those left in their transition aside).
    pub(super) unfinished: usize,
    /// Items whose call was accepted and that are no longer followed ([`Config::no_wait`]).
    pub(super) left: usize,
    pub(super) early_polls: u64,
    pub(super) schedule: PollSchedule,
    pub(super) calls: BTreeMap<Operation, u64>,
    pub(super) throttles: u64,
    pub(super) poll_describes: u64,
    pub(super) aborted: Option<Abort>,
    pub(super) began: EpochMillis,
}

impl RunState {
    /// A run with no items yet; `key_counts`: streams each customer key protects now.
    pub fn new(config: Config, key_counts: HashMap<String, u32>, now: EpochMillis) -> RunState {
        RunState {
            keys: KeyRoom::new(config.settings.cmk_limit, key_counts),
            schedule: PollSchedule::new(config.first_poll),
            config,
            tracks: Vec::new(),
            live: Vec::new(),
            names: Interner::default(),
            ready: BTreeMap::new(),
            starts_by_region: HashMap::new(),
            describes_by_region: HashMap::new(),
            dispatch_at: BTreeSet::new(),
            describe_at: BTreeMap::new(),
            early: HashMap::new(),
            early_declined: HashMap::new(),
            key_waiters: HashMap::new(),
            leaving: HashMap::new(),
            freed_at: HashMap::new(),
            held: HashMap::new(),
            grants_withheld: HashMap::new(),
            not_sent: 0,
            observing: false,
            stopping: false,
            unfinished: 0,
            left: 0,
            early_polls: 0,
            calls: BTreeMap::new(),
            throttles: 0,
            poll_describes: 0,
            aborted: None,
            began: now,
        }
    }

    /// Streams are still to be observed (more items will be added until
    /// [`Event::ObservationDone`]); `throttles` already met (describing the keys).
    pub fn expect_observations(&mut self, throttles: u32) {
        self.observing = true;
        self.throttles += u64::from(throttles);
    }

    /// Room for `n` more items, once: no doubling on a large fleet.
    pub fn reserve(&mut self, n: usize) {
        self.tracks.reserve_exact(n);
        self.live.reserve_exact(n);
    }

    pub fn track(&self, item: usize) -> &Track {
        &self.tracks[item]
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Takes one event at `now`; returns what to do, in order.
    pub fn handle(&mut self, event: Event, now: EpochMillis) -> Vec<Effect> {
        let mut fx = Vec::new();
        match event {
            Event::Added(items) => {
                for item in items {
                    self.add(item, now);
                }
            }
            Event::Observed {
                throttles,
                keys,
                items,
            } => self.observed(throttles, keys, items, now),
            Event::ObservationDone => self.observing = false,
            Event::Abort(why) => {
                self.aborted.get_or_insert(why);
            }
            Event::StartSending { item } => self.start_sending(item, now, &mut fx),
            Event::StartNotSent { item } => {
                self.start_done(item);
                self.release_slot(item);
                self.set_phase(item, Phase::Pending, &mut fx);
            }
            Event::StartWithheld { item, why, details } => {
                self.start_done(item);
                self.release_slot(item);
                let update = ItemUpdate {
                    reason: Some(why),
                    failure: Some((why.as_str().to_owned(), details)),
                    ..ItemUpdate::default()
                };
                self.finish(item, Phase::Failed, update, &mut fx);
            }
            Event::GrantsWithheld { item, details } => {
                self.start_done(item);
                if let Some(account) = self.tracks[item].account.clone() {
                    self.grants_withheld
                        .entry(account.to_string())
                        .or_insert(details);
                }
                self.withhold_grant(item, &mut fx);
            }
            Event::StartAnswered { item, result } => {
                self.start_done(item);
                self.start_answered(item, result, now, &mut fx);
            }
            Event::Described {
                item,
                sent_at,
                result,
            } => {
                let poll = self.describe_answered(item, sent_at);
                self.described(item, poll, result, now, &mut fx);
            }
            Event::EarlyPollDeclined { item } => self.early_poll_declined(item, now),
            Event::Tick => {}
            Event::Shutdown => {
                if !self.stopping {
                    self.stopping = true;
                    fx.push(Effect::Notice(Notice::Note(Note::Stopping)));
                }
            }
        }
        self.pump(now, &mut fx);
        fx
    }

    /// A batch of observations: the keys they start or stop using counted, their streams added.
    fn observed(
        &mut self,
        throttles: u32,
        keys: Vec<KeyChange>,
        items: Vec<NewItem>,
        now: EpochMillis,
    ) {
        self.throttles += u64::from(throttles);
        *self.calls.entry(Operation::Describe).or_default() += 1;
        for change in keys {
            if change.uses {
                self.keys.add(&change.key_arn);
            } else {
                self.freed_at.insert(change.key_arn.clone(), now);
                self.key_freed(&change.key_arn);
            }
        }
        for item in items {
            self.add(item, now);
        }
    }

    /// A Start about to be sent: counted and begun, unless its key was called full or its
    /// account's credentials found unfit since it was dispatched.
    fn start_sending(&mut self, item: usize, now: EpochMillis, fx: &mut Vec<Effect>) {
        if self.key_refused(item) {
            // The service said the key is full since this Start was dispatched.
            self.start_done(item);
            let update = ItemUpdate {
                reason: Some(Why::CMK_LIMIT),
                ..ItemUpdate::default()
            };
            self.finish(item, Phase::Skipped, update, fx);
        } else if self.grant_withheld(item) {
            // Its account's credentials were found unfit since this Start was dispatched.
            self.start_done(item);
            self.withhold_grant(item, fx);
        } else {
            let t = &mut self.tracks[item];
            t.starts += 1;
            *self.calls.entry(t.operation()).or_default() += 1;
            self.live[item].sends.push(now);
            fx.push(Effect::BeginAttempt { item, at: now });
        }
    }

    /// A Describe answered: counted, and what it was for.
    fn describe_answered(&mut self, item: usize, sent_at: EpochMillis) -> PollOf {
        let purpose = self.live[item]
            .describing
            .take()
            .unwrap_or(Purpose::Reconcile);
        let early = self.early.remove(&item).is_some();
        self.describe_done(item);
        *self.calls.entry(Operation::Describe).or_default() += 1;
        if purpose == Purpose::Poll {
            self.poll_describes += 1;
        }
        PollOf {
            purpose,
            early,
            sent_at,
        }
    }

    /// An early poll found no token free at once and was not sent: the poll back where it was,
    /// and the region's early polls held back a while.
    fn early_poll_declined(&mut self, item: usize, now: EpochMillis) {
        self.live[item].describing = None;
        self.describe_done(item);
        self.early_polls -= 1;
        let region = self.tracks[item].region.clone();
        self.early_declined.insert(region, now);
        // Back where it was: due when its poll was planned.
        let due = self.early.remove(&item).unwrap_or(now);
        self.schedule_describe(item, due, false);
    }

    /// When the engine next has something to do on its own (a timer), if ever.
    pub fn poll_timeout(&self) -> Option<EpochMillis> {
        if self.stopping {
            return None;
        }
        // Due Describes wait for a free slot when a region's are all busy: no timer for them
        // then, or the dispatcher would spin until an answer comes back.
        let cap = self.cap();
        let next_describe = self
            .describe_at
            .iter()
            .filter(|(region, _)| self.describing(region) < cap)
            .filter_map(|(_, due)| due.first().map(|(at, _, _)| *at))
            .min();
        let next_dispatch = self.dispatch_at.first().map(|(at, _)| *at);
        match (next_describe, next_dispatch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Calls in flight (Starts waiting for a token included).
    pub fn in_flight(&self) -> usize {
        self.starts_by_region.values().sum::<usize>()
            + self.describes_by_region.values().sum::<usize>()
    }

    /// Nothing is in flight and nothing more will happen: the run is over (or stopped).
    pub fn is_finished(&self) -> bool {
        let open = self.observing || self.unfinished > 0;
        self.in_flight() == 0 && (self.stopping || !open || self.aborted.is_some())
    }

    /// A shutdown was asked for (or the run aborted): nothing new is sent.
    pub fn is_stopping(&self) -> bool {
        self.stopping || self.aborted.is_some()
    }

    /// Whether the engine still takes items from the survey.
    pub fn takes_observations(&self) -> bool {
        self.observing && !self.stopping
    }

    pub fn snapshot(&self, now: EpochMillis) -> Snapshot {
        let mut phases = BTreeMap::new();
        for t in &self.tracks {
            *phases.entry(t.phase).or_default() += 1;
        }
        Snapshot {
            total: self.tracks.len(),
            phases,
            calls: self.calls.clone(),
            throttles: self.throttles,
            elapsed: elapsed(self.began, now),
        }
    }

    /// The first-poll delay learned, how many polls taught it, and the early polls sent.
    pub fn polling_stats(&self) -> (Duration, u32, u64) {
        (
            self.schedule.first_delay(),
            self.schedule.samples(),
            self.early_polls,
        )
    }

    /// What the run did.
    pub fn into_outcome(self, now: EpochMillis) -> Outcome {
        let interrupted = self.stopping && self.aborted.is_none() && self.unfinished > 0;
        Outcome {
            tracks: self.tracks,
            calls: self.calls,
            throttles: self.throttles,
            poll_describes: self.poll_describes,
            wall: elapsed(self.began, now),
            interrupted,
            left_in_transition: self.left,
            aborted: self.aborted,
        }
    }

    /// Whether the item is a Start towards a customer key in an account whose credentials
    /// cannot create a KMS grant.
    pub(super) fn grant_withheld(&self, i: usize) -> bool {
        let t = &self.tracks[i];
        t.operation() == Operation::Start
            && t.target.key_arn().is_some()
            && t.account
                .as_deref()
                .is_some_and(|a| self.grants_withheld.contains_key(a))
    }

    /// Fails the item `credentials_too_old`, with its account's reason, nothing sent.
    pub(super) fn withhold_grant(&mut self, i: usize, fx: &mut Vec<Effect>) {
        let details = self.tracks[i]
            .account
            .as_deref()
            .and_then(|a| self.grants_withheld.get(a))
            .cloned()
            .unwrap_or_default();
        let why = Why::CredentialsTooOld;
        let update = ItemUpdate {
            reason: Some(why),
            failure: Some((why.as_str().to_owned(), details)),
            ..ItemUpdate::default()
        };
        self.finish(i, Phase::Failed, update, fx);
    }

    /// Whether the item's customer key is one the service said is full.
    fn key_refused(&self, i: usize) -> bool {
        self.tracks[i]
            .target
            .key_arn()
            .is_some_and(|arn| self.keys.is_full(arn.as_str()))
    }

    pub(super) fn cap(&self) -> usize {
        self.config.concurrency.max(1)
    }

    fn add(&mut self, new: NewItem, now: EpochMillis) {
        let NewItem {
            mut track,
            sends,
            holds_slot,
        } = new;
        // The engine's copies of region and account names are shared too.
        track.region = self.names.get(&track.region);
        track.account = track.account.map(|a| self.names.get(&a));
        if !track.phase.is_terminal() {
            self.unfinished += 1;
            if let Some(arn) = track.leaves_key() {
                *self.leaving.entry(arn.to_owned()).or_default() += 1;
            }
        }
        self.tracks.push(track);
        self.live.push(Live {
            holds_slot,
            sends,
            ..Live::default()
        });
        let i = self.tracks.len() - 1;
        match self.tracks[i].phase {
            Phase::Pending if self.tracks[i].needs_describe => self.schedule_describe(i, now, true),
            Phase::Pending => self.make_ready(i),
            Phase::Starting | Phase::Polling => {
                // Resumed mid-flight: one Describe tells where it stands.
                self.tracks[i].needs_describe = true;
                self.schedule_describe(i, now, true);
            }
            _ => {}
        }
    }

    pub(super) fn make_ready(&mut self, i: usize) {
        self.ready
            .entry(self.tracks[i].region.clone())
            .or_default()
            .insert(i);
    }

    pub(super) fn schedule_dispatch(&mut self, i: usize, at: EpochMillis) {
        self.dispatch_at.insert((at, i));
    }

    pub(super) fn schedule_describe(&mut self, i: usize, at: EpochMillis, reconcile: bool) {
        self.describe_at
            .entry(self.tracks[i].region.clone())
            .or_default()
            .insert((at, i, reconcile));
    }

    /// Describes in flight in a region.
    pub(super) fn describing(&self, region: &str) -> usize {
        self.describes_by_region.get(region).copied().unwrap_or(0)
    }

    fn start_done(&mut self, i: usize) {
        if let Some(n) = self.starts_by_region.get_mut(&self.tracks[i].region) {
            *n = n.saturating_sub(1);
        }
    }

    fn describe_done(&mut self, i: usize) {
        if let Some(n) = self.describes_by_region.get_mut(&self.tracks[i].region) {
            *n = n.saturating_sub(1);
        }
    }

    pub(super) fn set_phase(&mut self, i: usize, phase: Phase, fx: &mut Vec<Effect>) {
        self.move_to(i, phase);
        fx.push(Effect::Update {
            item: i,
            update: ItemUpdate {
                phase: Some(phase),
                starts: Some(self.tracks[i].starts),
                ..ItemUpdate::default()
            },
        });
    }

    /// Changes the phase, keeping the count of unfinished items (and of those leaving a key).
    fn move_to(&mut self, i: usize, phase: Phase) {
        let was = self.tracks[i].phase.is_terminal();
        self.tracks[i].phase = phase;
        let opened = match (was, phase.is_terminal()) {
            (false, true) => {
                self.unfinished -= 1;
                false
            }
            (true, false) => {
                self.unfinished += 1;
                true
            }
            _ => return,
        };
        if let Some(arn) = self.tracks[i].leaves_key() {
            let n = self.leaving.entry(arn.to_owned()).or_default();
            if opened {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Ends the item in a terminal `phase`, recording `update` and telling the reporter.
    pub(super) fn finish(
        &mut self,
        i: usize,
        phase: Phase,
        mut update: ItemUpdate,
        fx: &mut Vec<Effect>,
    ) {
        if phase != Phase::Done {
            self.release_slot(i);
        }
        self.move_to(i, phase);
        let t = &mut self.tracks[i];
        if update.reason.is_some() {
            t.notes_mut().reason = update.reason;
        }
        if let Some(f) = &update.failure {
            t.notes_mut().failure = Some(f.clone());
        }
        if update.next_slot.is_some() {
            t.notes_mut().next_slot = update.next_slot;
        }
        update.phase = Some(phase);
        update.starts = Some(t.starts);
        let notice = Notice::Finished {
            region: t.region.to_string(),
            name: t.name.to_string(),
            phase,
            detail: t.detail(),
            key: t.target.key_arn().map(|a| a.as_str().to_owned()),
        };
        fx.push(Effect::Update { item: i, update });
        fx.push(Effect::Notice(notice));
        self.wake_stuck_waiters();
    }

    /// Stops following an item whose call was accepted ([`Config::no_wait`]), left in its
    /// transition: it no longer keeps the run open, nor waiters for room under the key it
    /// leaves (the engine will not see that slot freed).
    pub(super) fn leave(&mut self, i: usize) {
        debug_assert_eq!(self.tracks[i].phase, Phase::Polling);
        self.unfinished -= 1;
        self.left += 1;
        if let Some(arn) = self.tracks[i].leaves_key()
            && let Some(n) = self.leaving.get_mut(arn)
        {
            *n = n.saturating_sub(1);
        }
        self.wake_stuck_waiters();
    }

    /// Waiters for a key nobody can free any more will never get room: they go through the
    /// gate again (and end there).
    fn wake_stuck_waiters(&mut self) {
        let stuck: Vec<String> = self
            .key_waiters
            .iter()
            .filter(|(arn, w)| !w.is_empty() && !self.may_free(arn))
            .map(|(arn, _)| arn.clone())
            .collect();
        for arn in stuck {
            let waiters = std::mem::take(self.key_waiters.get_mut(&arn).expect("present"));
            for w in waiters {
                self.make_ready(w);
            }
        }
    }
}

fn elapsed(from: EpochMillis, to: EpochMillis) -> Duration {
    Duration::from_millis((to - from).max(0) as u64)
}
