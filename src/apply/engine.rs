//! The dispatcher: the one owner of a run's state and of the ledger while apply runs. Workers
//! (one per Start, one per Describe) are spawned tasks that only call AWS and send messages
//! back; every decision and every ledger write happens here, in one loop.
//!
//! An item's life: pending → starting → polling → done | failed | deferred (or skipped).
//! A Start is dispatched when its stream has budget above the reserve, its key has room under
//! the per-key limit, fewer than `concurrency` Starts are in flight in its region (each region
//! has its own slots, for Starts and for Describes), and (in the worker) the (account, region,
//! Start) limiter gives a token. The attempt row is committed before the
//! request leaves and completed after its answer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::events::{Event, Snapshot};
use super::failure::{self, FailureClass};
use super::poll::PollSchedule;
use super::{Config, Outcome, Track};
use crate::clock::EpochMillis;
use crate::cloud::{CallError, Cloud};
use crate::ledger::{AttemptOutcome, ItemUpdate, Ledger, LedgerError, Op, Phase, budget};
use crate::model::{EncStatus, Interner, KeyChoice, StreamObservation};
use crate::observe::{Observed, SELF};
use crate::pace::{Operation, Pacer};
use crate::plan::Item;
use crate::survey::Survey;

/// How many of the earliest polls an idle region considers polling early.
const EARLY_POLL_LOOKAHEAD: usize = 64;

/// Why a Describe was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Waiting for a transition we started (or found under way).
    Poll,
    /// The outcome of a call is unknown, or the run resumed: find out before anything else.
    Reconcile,
}

enum Msg {
    /// A Start worker has its token and asks for its attempt row.
    Sending {
        seq: usize,
        reply: oneshot::Sender<Option<i64>>,
    },
    /// A Start came back.
    Started {
        seq: usize,
        attempt: i64,
        result: Result<(), CallError>,
    },
    /// A Start worker gave up before sending (the run is stopping).
    NotSending { seq: usize },
    /// A Describe came back.
    Described {
        seq: usize,
        purpose: Purpose,
        sent: Instant,
        result: Box<Result<StreamObservation, CallError>>,
    },
}

/// What to do at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Wake {
    Dispatch(usize),
    Describe(usize, bool),
}

/// Per-item runtime state beyond what [`Track`] carries.
#[derive(Debug, Default)]
struct Live {
    /// When the Start we wait on was accepted.
    started: Option<Instant>,
    /// The planned delay of the first poll after that Start (for learning).
    first_planned: Option<Duration>,
    /// Polls since that Start.
    polls: u32,
    /// The item holds a slot under its customer key's limit.
    holds_slot: bool,
    /// The Describe in flight is an early poll (on an idle quota).
    early_poll: bool,
}

pub struct Engine<'a> {
    ledger: &'a Ledger,
    cloud: Arc<Cloud>,
    pacer: Arc<Pacer>,
    config: Config,
    run_id: i64,
    events: mpsc::UnboundedSender<Event>,
    lock_owner: (u32, String),
}

struct State {
    tracks: Vec<Track>,
    live: Vec<Live>,
    /// One shared copy of each region and account name the tracks carry.
    names: Interner,
    /// Items ready to dispatch, per region, in fleet order.
    ready: BTreeMap<Arc<str>, BTreeSet<usize>>,
    /// Starts in flight per region: each region has its own `concurrency` slots, so one
    /// region waiting for its tokens never holds another back.
    starts_by_region: HashMap<Arc<str>, usize>,
    /// When items may be dispatched again.
    dispatch_at: BTreeSet<(Instant, usize)>,
    /// When items are to be described (`true`: to reconcile).
    /// Per region, so a region with a backlog of due polls never hides another's.
    describe_at: BTreeMap<Arc<str>, BTreeSet<(Instant, usize, bool)>>,
    key_counts: HashMap<String, u32>,
    /// Items waiting for room under a key's limit.
    key_waiters: HashMap<String, BTreeSet<usize>>,
    starts_in_flight: usize,
    describes_in_flight: usize,
    describes_by_region: HashMap<Arc<str>, usize>,
    /// Streams are still being observed (the Describe quota is busy with them).
    observing: bool,
    early_polls: u64,
    schedule: PollSchedule,
    calls: BTreeMap<Operation, u64>,
    throttles: u64,
    poll_describes: u64,
    aborted: Option<String>,
}

impl State {
    fn make_ready(&mut self, i: usize) {
        self.ready
            .entry(self.tracks[i].region.clone())
            .or_default()
            .insert(i);
    }

    /// Describes in flight in a region.
    fn describing(&self, region: &str) -> usize {
        self.describes_by_region.get(region).copied().unwrap_or(0)
    }

    fn start_done(&mut self, i: usize) {
        self.starts_in_flight -= 1;
        if let Some(n) = self.starts_by_region.get_mut(&self.tracks[i].region) {
            *n = n.saturating_sub(1);
        }
    }
}

impl<'a> Engine<'a> {
    pub fn new(
        ledger: &'a Ledger,
        cloud: Arc<Cloud>,
        pacer: Arc<Pacer>,
        config: Config,
        run_id: i64,
        events: mpsc::UnboundedSender<Event>,
        lock_owner: (u32, String),
    ) -> Self {
        Engine {
            ledger,
            cloud,
            pacer,
            config,
            run_id,
            events,
            lock_owner,
        }
    }

    /// Runs `tracks`, plus the items `feed` decides as its observations arrive, to the end
    /// (or until `stop` turns true), returning what happened.
    pub async fn run(
        self,
        tracks: Vec<Track>,
        mut feed: Option<Feed>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Outcome, LedgerError> {
        let begun = Instant::now();
        let n = tracks.len();
        let mut st = State {
            live: (0..n).map(|_| Live::default()).collect(),
            names: Interner::default(),
            tracks,
            ready: BTreeMap::new(),
            starts_by_region: HashMap::new(),
            dispatch_at: BTreeSet::new(),
            describe_at: BTreeMap::new(),
            key_counts: self.ledger.key_counts_now()?,
            key_waiters: HashMap::new(),
            starts_in_flight: 0,
            describes_in_flight: 0,
            describes_by_region: HashMap::new(),
            observing: feed.is_some(),
            early_polls: 0,
            schedule: PollSchedule::new(self.config.first_poll),
            calls: BTreeMap::new(),
            // Those met describing the keys, before the engine ran.
            throttles: feed.as_ref().map_or(0, |f| u64::from(f.throttles)),
            poll_describes: 0,
            aborted: None,
        };
        // Room for every stream the survey will decide, once: no doubling on a large fleet.
        let coming = feed.as_ref().map_or(0, |f| f.survey.len());
        st.tracks.reserve_exact(coming);
        st.live.reserve_exact(coming);
        for i in 0..n {
            self.admit(&mut st, i)?;
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let mut stopping = *stop.borrow();
        let mut heartbeat = tokio::time::interval(Duration::from_millis(
            crate::ledger::lock::HEARTBEAT_EVERY as u64,
        ));
        let mut progress = tokio::time::interval(Duration::from_millis(250));
        let mut last_snapshot = Snapshot::default();

        loop {
            if !stopping {
                self.fire_timers(&mut st);
                self.spawn_describes(&mut st, &tx);
                self.dispatch(&mut st, &tx)?;
            }
            let busy = st.starts_in_flight + st.describes_in_flight > 0;
            let feeding = feed.as_ref().is_some_and(|f| !f.closed);
            let open = feeding || st.tracks.iter().any(|t| !t.phase.is_terminal());
            if !busy && (stopping || !open || st.aborted.is_some()) {
                break;
            }
            if st.aborted.is_some() && !stopping {
                stopping = true;
                continue;
            }
            // Due Describes wait for a free worker when all are busy: no timer for them then,
            // or the loop would spin until a worker comes back.
            let cap = self.config.concurrency.max(1);
            let next_describe = st
                .describe_at
                .iter()
                .filter(|(region, _)| st.describing(region) < cap)
                .filter_map(|(_, due)| due.first().map(|(at, _, _)| *at))
                .min();
            let next_dispatch = st.dispatch_at.first().map(|(at, _)| *at);
            let next_timer = match (next_describe, next_dispatch) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                observed = recv_feed(&mut feed), if feeding && !stopping => {
                    let f = feed.as_mut().expect("feeding");
                    match observed {
                        None => {
                            f.closed = true;
                            st.observing = false;
                        }
                        Some(observed) => {
                            st.throttles += u64::from(observed.throttles);
                            *st.calls.entry(Operation::Describe).or_default() += 1;
                            match observed.result {
                                Err(e) => st.aborted = Some(e.to_string()),
                                Ok(obs) => {
                                    let (items, changes) =
                                        f.survey.accept(self.ledger, observed.seq, obs)?;
                                    // Streams seen on a key count before any later Start.
                                    for change in changes {
                                        if change.uses {
                                            *st.key_counts.entry(change.key_arn).or_default() += 1;
                                        } else {
                                            self.key_freed(&mut st, &change.key_arn);
                                        }
                                    }
                                    self.take_items(&mut st, items, f)?;
                                }
                            }
                        }
                    }
                }
                msg = rx.recv() => {
                    if let Some(msg) = msg {
                        self.handle(&mut st, msg)?;
                        // Drain whatever else is already here before deciding again.
                        while let Ok(msg) = rx.try_recv() {
                            self.handle(&mut st, msg)?;
                        }
                    }
                }
                _ = sleep_until(next_timer), if next_timer.is_some() && !stopping => {}
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() || *stop.borrow() {
                        stopping = true;
                        let _ = self.events.send(Event::Note(
                            "stopping: no new Starts; waiting for the calls in flight to be answered".into(),
                        ));
                    }
                }
                _ = heartbeat.tick() => {
                    let (pid, host) = &self.lock_owner;
                    if !self.ledger.heartbeat_lock(*pid, host)? {
                        st.aborted = Some("the apply lock was taken over by another process; stopped to keep one writer".into());
                    }
                }
                _ = progress.tick() => {
                    let snap = self.snapshot(&st, begun.elapsed());
                    if snap != last_snapshot {
                        let _ = self.events.send(Event::Progress(snap.clone()));
                        last_snapshot = snap;
                    }
                }
            }
        }
        let _ = self
            .events
            .send(Event::Progress(self.snapshot(&st, begun.elapsed())));
        tracing::info!(
            first_poll_ms = st.schedule.first_delay().as_millis() as u64,
            learned_from = st.schedule.samples(),
            early_polls = st.early_polls,
            "polling"
        );
        let interrupted =
            stopping && st.aborted.is_none() && st.tracks.iter().any(|t| !t.phase.is_terminal());
        Ok(Outcome {
            feed,
            tracks: st.tracks,
            calls: st.calls,
            throttles: st.throttles,
            poll_describes: st.poll_describes,
            wall: begun.elapsed(),
            interrupted,
            aborted: st.aborted,
        })
    }

    /// Adds items the survey has just decided: recorded in the plan and as run items, then
    /// admitted.
    fn take_items(
        &self,
        st: &mut State,
        items: Vec<Item>,
        feed: &mut Feed,
    ) -> Result<(), LedgerError> {
        let mut rows = Vec::with_capacity(items.len());
        for mut item in items {
            // The survey numbers its own targets; the run numbers the whole fleet.
            item.seq = feed.seqs[item.seq];
            let old = match &item.stream {
                Some(id) => self.ledger.key_in_force(id)?,
                None => None,
            };
            let track = Track::from_item(&item, old.clone(), &mut st.names);
            rows.push((item, track.phase, old));
            st.live.push(Live::default());
            st.tracks.push(track);
        }
        self.ledger
            .record_decisions(feed.plan_id, self.run_id, &rows)?;
        for i in st.tracks.len() - rows.len()..st.tracks.len() {
            self.admit(st, i)?;
        }
        Ok(())
    }

    fn snapshot(&self, st: &State, elapsed: Duration) -> Snapshot {
        let mut phases = BTreeMap::new();
        for t in &st.tracks {
            *phases.entry(t.phase).or_default() += 1;
        }
        Snapshot {
            total: st.tracks.len(),
            phases,
            calls: st.calls.clone(),
            throttles: st.throttles,
            elapsed,
        }
    }

    fn now(&self) -> EpochMillis {
        self.ledger.now()
    }

    /// Puts an item where its phase says: ready to dispatch, to be described, or finished.
    fn admit(&self, st: &mut State, i: usize) -> Result<(), LedgerError> {
        let t = &st.tracks[i];
        if let (Some(_), Some(id)) = (t.target.key_arn(), &t.stream_id()) {
            // Already counted under the target key (ENABLED/ENABLING with it, or in force)?
            let state = self.ledger.stream_state(id)?;
            st.live[i].holds_slot = state.is_some_and(|s| {
                s.in_force.as_ref() == Some(&t.target)
                    || (s.enc_status == EncStatus::Enabling && s.key.as_ref() == Some(&t.target))
            });
        }
        match t.phase {
            Phase::Pending if t.needs_describe => {
                self.schedule(st, i, Instant::now(), Wake::Describe(i, true))
            }
            Phase::Pending => {
                st.make_ready(i);
            }
            Phase::Starting | Phase::Polling => {
                // Resumed mid-flight: one Describe tells where it stands.
                st.tracks[i].needs_describe = true;
                self.schedule(st, i, Instant::now(), Wake::Describe(i, true));
            }
            _ => {}
        }
        Ok(())
    }

    fn schedule(&self, st: &mut State, _i: usize, at: Instant, wake: Wake) {
        match wake {
            Wake::Dispatch(i) => st.dispatch_at.insert((at, i)),
            Wake::Describe(i, reconcile) => st
                .describe_at
                .entry(st.tracks[i].region.clone())
                .or_default()
                .insert((at, i, reconcile)),
        };
    }

    /// Moves items whose wait for dispatch is over to the ready set.
    fn fire_timers(&self, st: &mut State) {
        let now = Instant::now();
        while let Some(&(at, i)) = st.dispatch_at.first() {
            if at > now {
                break;
            }
            st.dispatch_at.pop_first();
            if st.tracks[i].phase == Phase::Pending {
                st.make_ready(i);
            }
        }
    }

    /// The stream now counts under its customer target key (found ENABLING/ENABLED with it).
    fn take_slot(&self, st: &mut State, i: usize) {
        if st.live[i].holds_slot {
            return;
        }
        if let Some(arn) = st.tracks[i].target.key_arn() {
            *st.key_counts.entry(arn.as_str().to_owned()).or_default() += 1;
            st.live[i].holds_slot = true;
        }
    }

    fn spawn_describes(&self, st: &mut State, tx: &mpsc::UnboundedSender<Msg>) {
        let now = Instant::now();
        let cap = self.config.concurrency.max(1);
        // Each region has its own workers and its own queue: a region with a backlog of due
        // polls does not hold another's back.
        let regions: Vec<Arc<str>> = st.describe_at.keys().cloned().collect();
        for region in regions {
            while st.describing(&region) < cap {
                let Some(due) = st.describe_at.get_mut(&region) else {
                    break;
                };
                let Some(&(_, i, reconcile)) = due.first().filter(|(at, _, _)| *at <= now) else {
                    break;
                };
                due.pop_first();
                if st.tracks[i].phase.is_terminal() {
                    continue;
                }
                let purpose = if reconcile {
                    Purpose::Reconcile
                } else {
                    Purpose::Poll
                };
                self.spawn_describe(st, i, purpose, false, tx);
            }
        }
        self.poll_early_when_idle(st, tx);
    }

    /// When a region has no Describe waiting, its Describe quota would go unused: spend it on
    /// the transitioning stream started longest ago, if it has been transitioning for at least
    /// half the learned first-poll delay. Such a poll is nearly free (the token was idle) and
    /// shortens the run's tail, where the last streams would otherwise wait for their timers.
    fn poll_early_when_idle(&self, st: &mut State, tx: &mpsc::UnboundedSender<Msg>) {
        if st.observing {
            // The observer uses the Describe quota the engine does not see.
            return;
        }
        let floor = st.schedule.first_delay() / 2;
        let now = Instant::now();
        let mut picks = Vec::new();
        for (region, due) in &st.describe_at {
            // Only a region with nothing in flight, and at most one early poll each turn.
            if st.describing(region) > 0 {
                continue;
            }
            // The earliest polls are the streams started longest ago; a bounded look keeps
            // this cheap on every turn of the loop.
            let pick = due
                .iter()
                .filter(|(_, _, reconcile)| !reconcile)
                .take(EARLY_POLL_LOOKAHEAD)
                .find(|(_, i, _)| {
                    let started = st.live[*i].started.unwrap_or(now);
                    st.tracks[*i].phase == Phase::Polling
                        && now.saturating_duration_since(started) >= floor
                });
            if let Some(&entry) = pick {
                picks.push((region.clone(), entry));
            }
        }
        for (region, entry) in picks {
            // Only a token that is free right now: a poll that had to wait for one would delay
            // the polls that are due.
            if !self.pacer.try_now(SELF, &region, Operation::Describe) {
                continue;
            }
            st.early_polls += 1;
            if let Some(due) = st.describe_at.get_mut(&region) {
                due.remove(&entry);
            }
            st.live[entry.1].early_poll = true;
            self.spawn_describe(st, entry.1, Purpose::Poll, true, tx);
        }
    }

    /// Sends one Describe; `token_taken` when its token is already spent.
    fn spawn_describe(
        &self,
        st: &mut State,
        i: usize,
        purpose: Purpose,
        token_taken: bool,
        tx: &mpsc::UnboundedSender<Msg>,
    ) {
        st.describes_in_flight += 1;
        *st.describes_by_region
            .entry(st.tracks[i].region.clone())
            .or_default() += 1;
        let (cloud, pacer, tx) = (self.cloud.clone(), self.pacer.clone(), tx.clone());
        let (region, name) = (st.tracks[i].region.clone(), st.tracks[i].name.clone());
        tokio::spawn(async move {
            if !token_taken {
                pacer.wait(SELF, &region, Operation::Describe).await;
            }
            let sent = Instant::now();
            let result = cloud.describe_stream(&region, &name).await;
            let _ = tx.send(Msg::Described {
                seq: i,
                purpose,
                sent,
                result: Box::new(result),
            });
        });
    }

    /// Starts ready items, each region in fleet order, while each region has a free slot.
    fn dispatch(&self, st: &mut State, tx: &mpsc::UnboundedSender<Msg>) -> Result<(), LedgerError> {
        let cap = self.config.concurrency.max(1);
        let regions: Vec<Arc<str>> = st.ready.keys().cloned().collect();
        for region in regions {
            while st.starts_by_region.get(&region).copied().unwrap_or(0) < cap {
                let Some(i) = st.ready.get_mut(&region).and_then(BTreeSet::pop_first) else {
                    break;
                };
                self.dispatch_one(st, i, tx)?;
            }
        }
        Ok(())
    }

    /// Starts one ready item if its gates pass; otherwise parks, defers or ends it.
    fn dispatch_one(
        &self,
        st: &mut State,
        i: usize,
        tx: &mpsc::UnboundedSender<Msg>,
    ) -> Result<(), LedgerError> {
        if st.tracks[i].phase != Phase::Pending {
            return Ok(());
        }
        if st.tracks[i].needs_describe {
            self.schedule(st, i, Instant::now(), Wake::Describe(i, true));
            return Ok(());
        }
        let Some(id) = st.tracks[i].stream_id() else {
            self.finish(
                st,
                i,
                Phase::Failed,
                ItemUpdate {
                    reason: Some("not_found".into()),
                    ..ItemUpdate::default()
                },
            )?;
            return Ok(());
        };
        // Gate 1: budget above the reserve.
        let now = self.now();
        let sends = self.ledger.counted_sends(&id, now)?;
        let allowed = self.config.settings.allowed();
        if budget::used(&sends, now, self.config.settings.window) >= allowed {
            match budget::next_slot(&sends, now, self.config.settings.window, allowed) {
                Some(slot) if slot - now <= self.config.max_wait.as_millis() as EpochMillis => {
                    let at = Instant::now() + Duration::from_millis((slot - now).max(0) as u64 + 1);
                    self.schedule(st, i, at, Wake::Dispatch(i));
                }
                slot => {
                    self.finish(
                        st,
                        i,
                        Phase::Deferred,
                        ItemUpdate {
                            reason: Some("budget".into()),
                            next_slot: slot,
                            ..ItemUpdate::default()
                        },
                    )?;
                }
            }
            return Ok(());
        }
        // Gate 2: room under the target key's limit.
        if let Some(arn) = st.tracks[i].target.key_arn().map(|a| a.as_str().to_owned())
            && !st.live[i].holds_slot
        {
            let count = st.key_counts.entry(arn.clone()).or_default();
            if *count + 1 > self.config.settings.cmk_limit {
                if self.may_free(st, &arn) {
                    st.key_waiters.entry(arn).or_default().insert(i);
                } else {
                    self.finish(
                        st,
                        i,
                        Phase::Skipped,
                        ItemUpdate {
                            reason: Some("cmk_limit".into()),
                            ..ItemUpdate::default()
                        },
                    )?;
                }
                return Ok(());
            }
            *count += 1;
            st.live[i].holds_slot = true;
        }
        // Gate 3 (the token) is taken by the worker.
        self.set_phase(st, i, Phase::Starting)?;
        st.starts_in_flight += 1;
        *st.starts_by_region
            .entry(st.tracks[i].region.clone())
            .or_default() += 1;
        let (cloud, pacer, tx) = (self.cloud.clone(), self.pacer.clone(), tx.clone());
        let t = &st.tracks[i];
        let (region, name, key) = (t.region.clone(), t.name.clone(), t.target.clone());
        tokio::spawn(async move {
            pacer.wait(SELF, &region, Operation::Start).await;
            let (reply, answer) = oneshot::channel();
            if tx.send(Msg::Sending { seq: i, reply }).is_err() {
                return;
            }
            match answer.await {
                Ok(Some(attempt)) => {
                    let result = cloud.start_encryption(&region, &name, &key).await;
                    let _ = tx.send(Msg::Started {
                        seq: i,
                        attempt,
                        result,
                    });
                }
                _ => {
                    let _ = tx.send(Msg::NotSending { seq: i });
                }
            }
        });
        Ok(())
    }

    /// Whether some open item is moving a stream away from `arn`, which would free a slot.
    fn may_free(&self, st: &State, arn: &str) -> bool {
        st.tracks.iter().any(|t| {
            !t.phase.is_terminal()
                && t.old_key()
                    .and_then(KeyChoice::key_arn)
                    .is_some_and(|k| k.as_str() == arn)
                && t.target.key_arn().is_none_or(|k| k.as_str() != arn)
        })
    }

    fn release_slot(&self, st: &mut State, i: usize) {
        if !st.live[i].holds_slot {
            return;
        }
        st.live[i].holds_slot = false;
        if let Some(arn) = st.tracks[i].target.key_arn().map(|a| a.as_str().to_owned()) {
            self.key_freed(st, &arn);
        }
    }

    /// One stream fewer under `arn`: wake an item waiting for room.
    fn key_freed(&self, st: &mut State, arn: &str) {
        if let Some(count) = st.key_counts.get_mut(arn) {
            *count = count.saturating_sub(1);
        }
        if let Some(waiters) = st.key_waiters.get_mut(arn)
            && let Some(i) = waiters.pop_first()
        {
            st.make_ready(i);
        }
    }

    fn set_phase(&self, st: &mut State, i: usize, phase: Phase) -> Result<(), LedgerError> {
        st.tracks[i].phase = phase;
        self.ledger.update_run_item(
            self.run_id,
            st.tracks[i].seq,
            &ItemUpdate {
                phase: Some(phase),
                starts: Some(st.tracks[i].starts),
                ..ItemUpdate::default()
            },
        )
    }

    fn finish(
        &self,
        st: &mut State,
        i: usize,
        phase: Phase,
        mut update: ItemUpdate,
    ) -> Result<(), LedgerError> {
        if phase != Phase::Done {
            self.release_slot(st, i);
        }
        let t = &mut st.tracks[i];
        t.phase = phase;
        if update.reason.is_some() {
            t.notes_mut().reason = update.reason.clone();
        }
        if let Some(f) = &update.failure {
            t.notes_mut().failure = Some(f.clone());
        }
        if update.next_slot.is_some() {
            t.notes_mut().next_slot = update.next_slot;
        }
        update.phase = Some(phase);
        update.starts = Some(t.starts);
        self.ledger.update_run_item(self.run_id, t.seq, &update)?;
        let detail = match (t.failure(), t.reason()) {
            (Some((kind, details)), _) => format!("{kind}: {details}"),
            (None, Some(reason)) => reason.to_owned(),
            _ => String::new(),
        };
        let _ = self.events.send(Event::Finished {
            region: t.region.to_string(),
            name: t.name.to_string(),
            phase,
            detail,
        });
        // Waiters for a key nobody can free any more will never get room.
        let stuck: Vec<String> = st
            .key_waiters
            .iter()
            .filter(|(arn, w)| !w.is_empty() && !self.may_free(st, arn))
            .map(|(arn, _)| arn.clone())
            .collect();
        for arn in stuck {
            let waiters = std::mem::take(st.key_waiters.get_mut(&arn).expect("present"));
            for w in waiters {
                st.make_ready(w);
            }
        }
        Ok(())
    }

    fn handle(&self, st: &mut State, msg: Msg) -> Result<(), LedgerError> {
        match msg {
            Msg::Sending { seq, reply } => {
                let id = st.tracks[seq]
                    .stream_id()
                    .expect("dispatched items have a stream id");
                let row = match self.ledger.stream_state(&id)? {
                    Some(s) => s.row,
                    None => {
                        let _ = reply.send(None);
                        return Ok(());
                    }
                };
                let attempt = self.ledger.begin_attempt(
                    row,
                    Some(self.run_id),
                    Op::Start,
                    Some(&st.tracks[seq].target),
                )?;
                st.tracks[seq].starts += 1;
                *st.calls.entry(Operation::Start).or_default() += 1;
                let _ = reply.send(Some(attempt));
            }
            Msg::NotSending { seq } => {
                st.start_done(seq);
                self.release_slot(st, seq);
                self.set_phase(st, seq, Phase::Pending)?;
            }
            Msg::Started {
                seq,
                attempt,
                result,
            } => {
                st.start_done(seq);
                self.started(st, seq, attempt, result)?;
            }
            Msg::Described {
                seq,
                purpose,
                sent,
                result,
            } => {
                st.describes_in_flight -= 1;
                if let Some(n) = st.describes_by_region.get_mut(&st.tracks[seq].region) {
                    *n = n.saturating_sub(1);
                }
                *st.calls.entry(Operation::Describe).or_default() += 1;
                if purpose == Purpose::Poll {
                    st.poll_describes += 1;
                }
                let early = std::mem::take(&mut st.live[seq].early_poll);
                self.described(st, seq, purpose, early, sent, *result)?;
            }
        }
        Ok(())
    }

    fn started(
        &self,
        st: &mut State,
        i: usize,
        attempt: i64,
        result: Result<(), CallError>,
    ) -> Result<(), LedgerError> {
        let region = st.tracks[i].region.clone();
        let outcome = match &result {
            Ok(()) => AttemptOutcome::Ok,
            Err(e @ (CallError::NotSent(_) | CallError::NoCredentials(_))) => {
                AttemptOutcome::NotSent {
                    message: e.message(),
                }
            }
            Err(e @ CallError::Unknown(_)) => AttemptOutcome::Unknown {
                message: e.message(),
            },
            Err(e) => AttemptOutcome::Rejected {
                code: e.code().to_owned(),
                message: e.message(),
            },
        };
        self.ledger.complete_attempt(attempt, &outcome)?;
        match result {
            Ok(()) => {
                self.pacer.succeeded(SELF, &region, Operation::Start);
                let delay = st.schedule.first_delay();
                st.live[i].started = Some(Instant::now());
                st.live[i].first_planned = Some(delay);
                st.live[i].polls = 0;
                self.set_phase(st, i, Phase::Polling)?;
                self.schedule(st, i, Instant::now() + delay, Wake::Describe(i, false));
            }
            Err(CallError::Throttled(_)) => {
                st.throttles += 1;
                self.pacer.throttled(SELF, &region, Operation::Start);
                let _ = self.events.send(Event::Note(format!(
                    "Start throttled in {region}; slowing down"
                )));
                self.set_phase(st, i, Phase::Pending)?;
                st.make_ready(i);
            }
            Err(CallError::LimitExceeded(message)) => {
                self.limit_exceeded(st, i, attempt, message)?
            }
            Err(CallError::InUse(_)) => {
                // Transitioning: find out where it stands, then decide again.
                self.set_phase(st, i, Phase::Pending)?;
                st.tracks[i].needs_describe = true;
                self.schedule(
                    st,
                    i,
                    Instant::now() + Duration::from_secs(1),
                    Wake::Describe(i, true),
                );
            }
            Err(CallError::NotFound(message)) => {
                self.finish(
                    st,
                    i,
                    Phase::Failed,
                    ItemUpdate {
                        reason: Some("not_found".into()),
                        failure: Some(("ResourceNotFoundException".into(), message)),
                        ..ItemUpdate::default()
                    },
                )?;
            }
            Err(CallError::Invalid { code, message }) => {
                self.finish(
                    st,
                    i,
                    Phase::Failed,
                    ItemUpdate {
                        reason: Some("rejected".into()),
                        failure: Some((code, message)),
                        ..ItemUpdate::default()
                    },
                )?;
            }
            Err(CallError::Denied { code, message }) => {
                st.aborted = Some(format!(
                    "{code} on StartDeliveryStreamEncryption ({message}); the caller's IAM policy must allow firehose:StartDeliveryStreamEncryption (and kms:CreateGrant on customer keys)"
                ));
                self.set_phase(st, i, Phase::Pending)?;
            }
            Err(CallError::NoCredentials(message)) => {
                st.aborted = Some(format!("no AWS credentials: {message}"));
                self.set_phase(st, i, Phase::Pending)?;
            }
            Err(CallError::NotSent(_)) => {
                // Never left: no budget spent. Try again shortly.
                self.set_phase(st, i, Phase::Pending)?;
                self.schedule(
                    st,
                    i,
                    Instant::now() + Duration::from_secs(2),
                    Wake::Dispatch(i),
                );
            }
            Err(CallError::Unknown(_)) => {
                // It may have been applied: reconcile with Describe before any new Start.
                self.set_phase(st, i, Phase::Pending)?;
                st.tracks[i].needs_describe = true;
                self.schedule(
                    st,
                    i,
                    Instant::now() + Duration::from_millis(500),
                    Wake::Describe(i, true),
                );
            }
        }
        Ok(())
    }

    /// `LimitExceededException`: decide which limit it was, from our own counts and the
    /// service's message, and defer (budget) or fail (key limit). Never retried blindly.
    fn limit_exceeded(
        &self,
        st: &mut State,
        i: usize,
        attempt: i64,
        message: String,
    ) -> Result<(), LedgerError> {
        let id = st.tracks[i]
            .stream_id()
            .expect("started items have a stream id");
        let settings = self.config.settings;
        let now = self.now();
        let sends = self.ledger.counted_sends(&id, now)?;
        let budget_spent = budget::used(&sends, now, settings.window) >= settings.stream_budget;
        let key_full = st.tracks[i].target.key_arn().is_some_and(|arn| {
            st.key_counts.get(arn.as_str()).copied().unwrap_or(0) >= settings.cmk_limit
                || message.to_ascii_lowercase().contains("key")
        });
        if budget_spent || !key_full {
            // Others may have spent it too (the service counts every caller): the budget is
            // full as of this refusal, for a whole window unless our own calls free it sooner.
            self.ledger.mark_budget_full(attempt)?;
            let sends = self.ledger.counted_sends(&id, now)?;
            let slot = budget::next_slot(&sends, now, settings.window, settings.allowed())
                .unwrap_or(now + settings.window);
            self.finish(
                st,
                i,
                Phase::Deferred,
                ItemUpdate {
                    reason: Some("budget".into()),
                    next_slot: Some(slot),
                    failure: Some(("LimitExceededException".into(), message)),
                    ..ItemUpdate::default()
                },
            )
        } else {
            self.finish(
                st,
                i,
                Phase::Failed,
                ItemUpdate {
                    reason: Some("cmk_limit".into()),
                    failure: Some(("LimitExceededException".into(), message)),
                    ..ItemUpdate::default()
                },
            )
        }
    }

    /// `early`: the poll was an early one (on an idle quota), which teaches the first-poll
    /// learner nothing: only polls sent at the learned delay measure it.
    fn described(
        &self,
        st: &mut State,
        i: usize,
        purpose: Purpose,
        early: bool,
        sent: Instant,
        result: Result<StreamObservation, CallError>,
    ) -> Result<(), LedgerError> {
        let region = st.tracks[i].region.clone();
        let obs = match result {
            Ok(obs) => obs,
            Err(CallError::Throttled(_)) => {
                st.throttles += 1;
                self.pacer.throttled(SELF, &region, Operation::Describe);
                self.schedule(
                    st,
                    i,
                    Instant::now(),
                    Wake::Describe(i, purpose == Purpose::Reconcile),
                );
                return Ok(());
            }
            Err(CallError::NotFound(message)) => {
                return self.finish(
                    st,
                    i,
                    Phase::Failed,
                    ItemUpdate {
                        reason: Some("not_found".into()),
                        failure: Some(("ResourceNotFoundException".into(), message)),
                        ..ItemUpdate::default()
                    },
                );
            }
            Err(CallError::Denied { code, message }) => {
                st.aborted = Some(format!(
                    "{code} on DescribeDeliveryStream ({message}); the caller's IAM policy must allow firehose:DescribeDeliveryStream"
                ));
                return Ok(());
            }
            Err(CallError::NoCredentials(message)) => {
                st.aborted = Some(format!("no AWS credentials: {message}"));
                return Ok(());
            }
            Err(_) => {
                self.schedule(
                    st,
                    i,
                    Instant::now() + Duration::from_secs(1),
                    Wake::Describe(i, purpose == Purpose::Reconcile),
                );
                return Ok(());
            }
        };
        self.pacer.succeeded(SELF, &region, Operation::Describe);
        self.ledger.record_stream(&obs, Some(self.run_id))?;
        if st.tracks[i].account.is_none() {
            st.tracks[i].account = Some(st.names.get(&obs.id.account));
        }
        st.tracks[i].needs_describe = false;
        let target = st.tracks[i].target.clone();
        let enc = &obs.encryption;
        let at_target = enc.key.as_ref() == Some(&target);
        let elapsed = st.live[i]
            .started
            .map(|s| sent.saturating_duration_since(s));
        let first_poll = purpose == Purpose::Poll && st.live[i].polls == 0 && !early;
        if purpose == Purpose::Poll {
            st.live[i].polls += 1;
        }
        if first_poll && let (Some(planned), Some(elapsed)) = (st.live[i].first_planned, elapsed) {
            st.schedule
                .learn(planned, elapsed, enc.status != EncStatus::Enabling);
        }
        match (&enc.status, at_target) {
            (EncStatus::Enabled, true) => {
                self.take_slot(st, i);
                if let Some(elapsed) = elapsed {
                    st.schedule.saw_done(elapsed);
                }
                // A rekey away from a customer key frees its slot now.
                if let Some(KeyChoice::Customer(old)) = st.tracks[i].old_key().cloned()
                    && target.key_arn() != Some(&old)
                {
                    self.key_freed(st, old.as_str());
                }
                self.finish(
                    st,
                    i,
                    Phase::Done,
                    ItemUpdate {
                        enabled_at: Some(self.now()),
                        ..ItemUpdate::default()
                    },
                )
            }
            (EncStatus::Enabling, true) => {
                self.take_slot(st, i);
                if st.tracks[i].phase != Phase::Polling {
                    self.set_phase(st, i, Phase::Polling)?;
                }
                let started = *st.live[i].started.get_or_insert(sent);
                let since = Instant::now().saturating_duration_since(started);
                if since >= self.config.poll_timeout {
                    return self.finish(
                        st,
                        i,
                        Phase::Failed,
                        ItemUpdate {
                            reason: Some("timed_out".into()),
                            failure: Some((
                                "TIMED_OUT".into(),
                                format!(
                                    "still ENABLING after {}s; resume to keep polling",
                                    since.as_secs()
                                ),
                            )),
                            ..ItemUpdate::default()
                        },
                    );
                }
                let wait = if st.live[i].first_planned.is_none() {
                    st.live[i].first_planned = Some(st.schedule.first_delay());
                    st.schedule.first_delay()
                } else {
                    PollSchedule::next_delay(since)
                };
                self.schedule(st, i, Instant::now() + wait, Wake::Describe(i, false));
                Ok(())
            }
            (EncStatus::EnablingFailed, _) => {
                let (kind, details) = enc
                    .failure
                    .as_ref()
                    .map(|f| (f.kind.clone(), f.details.clone()))
                    .unwrap_or_else(|| ("UNKNOWN_ERROR".into(), "no FailureDescription".into()));
                self.release_slot(st, i);
                st.live[i].started = None;
                st.live[i].first_planned = None;
                let class = failure::classify(&kind);
                let t = &st.tracks[i];
                if purpose == Purpose::Reconcile && t.starts == 0 && t.phase == Phase::Pending {
                    // A failure from before this run: this run's Start has not happened yet.
                    st.make_ready(i);
                    return Ok(());
                }
                if class == FailureClass::Transient && t.starts < self.config.max_attempts {
                    let backoff = Duration::from_secs(2u64.saturating_pow(t.starts.min(6)));
                    self.set_phase(st, i, Phase::Pending)?;
                    self.schedule(st, i, Instant::now() + backoff, Wake::Dispatch(i));
                    return Ok(());
                }
                let hint = failure::hint(&kind);
                self.finish(
                    st,
                    i,
                    Phase::Failed,
                    ItemUpdate {
                        reason: Some(format!("enabling_failed:{}", class.as_str())),
                        failure: Some((kind, format!("{details} — {hint}"))),
                        ..ItemUpdate::default()
                    },
                )
            }
            (EncStatus::Enabling | EncStatus::Disabling, false) => {
                // Someone else's transition: wait for it to end, then decide.
                self.set_phase(st, i, Phase::Pending)?;
                st.tracks[i].needs_describe = true;
                self.schedule(
                    st,
                    i,
                    Instant::now() + st.schedule.first_delay(),
                    Wake::Describe(i, true),
                );
                Ok(())
            }
            _ => {
                // Not at the target and not moving: our Start did not take (or was never
                // sent). Start it (again) within the attempt limit.
                st.live[i].started = None;
                st.live[i].first_planned = None;
                let t = &st.tracks[i];
                if t.starts >= self.config.max_attempts {
                    return self.finish(st, i, Phase::Failed, ItemUpdate {
                        reason: Some("attempts_exhausted".into()),
                        failure: Some((
                            "NOT_APPLIED".into(),
                            format!("{} Start call(s) accepted or unanswered, but the stream shows {}", t.starts, enc.status),
                        )),
                        ..ItemUpdate::default()
                    });
                }
                if t.phase != Phase::Pending {
                    self.set_phase(st, i, Phase::Pending)?;
                }
                st.make_ready(i);
                Ok(())
            }
        }
    }
}

/// Observations still to come for items not decided yet (`apply FLEET.csv --yes`: each stream
/// is started as soon as it is observed and decided).
#[derive(Debug)]
pub struct Feed {
    pub survey: Survey,
    /// The run's item number of each of the survey's targets.
    pub seqs: Vec<usize>,
    /// The plan the decisions are added to.
    pub plan_id: i64,
    pub observed: mpsc::Receiver<Observed>,
    /// Throttles met describing the keys (the run's throttles start from these).
    pub throttles: u32,
    /// The observer has sent everything.
    pub closed: bool,
}

async fn recv_feed(feed: &mut Option<Feed>) -> Option<Observed> {
    match feed {
        Some(f) => f.observed.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
