//! The dispatcher: the async loop around the engine. It owns the ledger while apply runs and
//! does only I/O: each effect the engine returns becomes a spawned call (Start and Describe
//! workers only wait for their token, call AWS and send the answer back), a ledger write, a
//! pacer adjustment or a notice; each answer, observation, timer, signal and heartbeat becomes
//! an event. Decisions are the engine's (`crate::engine`).
//!
//! The loop's writes go into one ledger transaction ([`Turn`]) per turn (one wake-up, plus
//! whatever else is already waiting, up to [`TURN_MAX`]), or per several turns when they come
//! less than [`COMMIT_EVERY`] apart. The attempt row of a Start is committed before the request
//! leaves: the worker, once it has its token, asks the loop, which writes the row and lets it
//! send once the transaction that holds it is committed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::Feed;
use super::turn::Turn;
use crate::clock::{Clock, EpochMillis};
use crate::cloud::{Accounts, AccountsApi, CallError, CloudApi, Unfit};
use crate::engine::{Abort, Effect, Event, NewItem, Notice, Outcome, RunState, Snapshot, Why};
use crate::ledger::{Ledger, LedgerError, Op};
use crate::model::StreamObservation;
use crate::observe::Observed;
use crate::pace::{Operation, Pacer};
use crate::plan::Reason;

#[cfg(test)]
mod tests;

/// What workers send back.
enum Msg {
    /// A Start worker has its token and asks whether to send.
    Sending {
        item: usize,
        reply: oneshot::Sender<bool>,
    },
    /// A Start worker will not send: its account's credentials cannot be used.
    Withheld {
        item: usize,
        why: Why,
        details: String,
    },
    /// A Start worker will not send, and no customer-key Start of its account will: its
    /// credentials cannot create a KMS grant and refreshing them cannot help.
    GrantsWithheld { item: usize, details: String },
    /// A Start came back.
    Started {
        item: usize,
        result: Result<(), CallError>,
    },
    /// A Describe came back.
    Described {
        item: usize,
        sent_at: EpochMillis,
        result: Box<Result<StreamObservation, CallError>>,
    },
}

/// Most messages (and, apart, observations) one turn takes before it commits: a turn holds
/// its Starts until its commit, so it is kept short; under load each commit carries many
/// writes.
pub const TURN_MAX: usize = 256;

/// The least time between two commits: a turn that ends sooner after the last commit stays
/// open, and the next turn adds to it (or a timer commits it when the time is up). Under load
/// each commit then carries several turns' writes for one wait on the disk, at the cost of a
/// Start waiting up to about this long (tokio's timer ticks in milliseconds) for its go-ahead.
pub const COMMIT_EVERY: Duration = Duration::from_millis(1);

/// What woke the loop.
// One lives on the stack for one turn and is never stored: boxing the large variant would
// cost an allocation per observation for nothing.
#[allow(clippy::large_enum_variant)]
enum Wake {
    Observed(Option<Observed>),
    Message(Option<Msg>),
    Timer,
    Signal {
        stop: bool,
    },
    Heartbeat,
    Progress,
    /// The open turn is due to be committed.
    Commit,
}

/// Everything the loop needs besides the engine; `A` is how it reaches AWS (the SDK's
/// [`Accounts`], or the unit tests' fake).
pub struct Dispatcher<'a, A: AccountsApi = Accounts> {
    pub ledger: &'a Ledger,
    pub accounts: Arc<A>,
    pub pacer: Arc<Pacer>,
    pub run_id: i64,
    pub notices: mpsc::UnboundedSender<Notice>,
    /// The apply lock's holder, for its heartbeat.
    pub lock_owner: (u32, String),
}

/// The loop's own bookkeeping.
struct Io<'l> {
    clock: Arc<dyn Clock>,
    tx: mpsc::UnboundedSender<Msg>,
    /// The turn under way: its transaction and the Starts it holds.
    turn: Option<Turn<'l>>,
    /// The attempt row of each Start in flight, until the engine completes it.
    attempts: HashMap<usize, i64>,
}

impl<'l, A: AccountsApi> Dispatcher<'l, A> {
    /// Runs `items`, plus what `feed` decides as its observations arrive, to the end (or until
    /// `stop` turns true), returning what happened and the feed.
    pub async fn run(
        &self,
        mut state: RunState,
        items: Vec<NewItem>,
        mut feed: Option<Feed>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(Outcome, Option<Feed>), LedgerError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let mut io = Io {
            clock: self.ledger.clock(),
            tx,
            turn: None,
            attempts: HashMap::new(),
        };
        let mut heartbeat = tokio::time::interval(Duration::from_millis(
            crate::ledger::lock::HEARTBEAT_EVERY as u64,
        ));
        let mut progress = tokio::time::interval(Duration::from_millis(250));
        let mut last_snapshot = Snapshot::default();
        io.turn = Some(Turn::begin(self.ledger)?);
        if *stop.borrow() {
            self.event(&mut state, &mut io, Event::Shutdown)?;
        }
        self.event(&mut state, &mut io, Event::Added(items))?;
        io.commit()?;
        let mut last_commit = tokio::time::Instant::now();
        while !state.is_finished() {
            let now = io.clock.now();
            let wake_at = state.poll_timeout();
            // An open turn is committed when its time is up, whatever else happens.
            let commit_due = io.turn.is_some();
            let commit_at = last_commit + COMMIT_EVERY;
            let taking = state.takes_observations() && feed.as_ref().is_some_and(|f| !f.closed);
            let wake = tokio::select! {
                observed = recv(&mut feed), if taking => Wake::Observed(observed),
                msg = rx.recv() => Wake::Message(msg),
                _ = sleep_until(wake_at, now), if wake_at.is_some() => Wake::Timer,
                changed = stop.changed(), if !state.is_stopping() => Wake::Signal {
                    stop: changed.is_err() || *stop.borrow(),
                },
                _ = heartbeat.tick() => Wake::Heartbeat,
                _ = progress.tick() => Wake::Progress,
                _ = tokio::time::sleep_until(commit_at), if commit_due => Wake::Commit,
            };
            if let Wake::Commit = wake {
                io.commit()?;
                last_commit = tokio::time::Instant::now();
                continue;
            }
            if let Wake::Progress = wake {
                let snap = state.snapshot(io.clock.now());
                if snap != last_snapshot {
                    let _ = self.notices.send(Notice::Progress(snap.clone()));
                    last_snapshot = snap;
                }
                continue;
            }
            if io.turn.is_none() {
                io.turn = Some(Turn::begin(self.ledger)?);
            }
            self.turn(&mut state, &mut io, &mut feed, &mut rx, wake)?;
            if tokio::time::Instant::now() >= commit_at {
                io.commit()?;
                last_commit = tokio::time::Instant::now();
            }
        }
        io.commit()?;
        let now = io.clock.now();
        let _ = self.notices.send(Notice::Progress(state.snapshot(now)));
        let (first_poll, samples, early) = state.polling_stats();
        tracing::info!(
            first_poll_ms = first_poll.as_millis() as u64,
            learned_from = samples,
            early_polls = early,
            "polling"
        );
        Ok((state.into_outcome(now), feed))
    }

    /// One turn: what woke the loop, then whatever else is already waiting (up to
    /// [`TURN_MAX`] messages and as many observations), all written in the turn's transaction.
    fn turn(
        &self,
        state: &mut RunState,
        io: &mut Io<'l>,
        feed: &mut Option<Feed>,
        rx: &mut mpsc::UnboundedReceiver<Msg>,
        wake: Wake,
    ) -> Result<(), LedgerError> {
        match wake {
            Wake::Observed(observed) => {
                let f = feed.as_mut().expect("taking observations");
                self.observed(state, io, f, observed)?;
            }
            Wake::Message(Some(msg)) => self.message(state, io, msg)?,
            Wake::Message(None) | Wake::Progress | Wake::Commit => {}
            Wake::Timer => self.event(state, io, Event::Tick)?,
            Wake::Signal { stop } => {
                if stop {
                    self.event(state, io, Event::Shutdown)?;
                }
            }
            Wake::Heartbeat => {
                let (pid, host) = &self.lock_owner;
                if !self.ledger.heartbeat_lock(*pid, host)? {
                    self.event(state, io, Event::Abort(Abort::LockLost))?;
                }
            }
        }
        // Take whatever else is already here before committing.
        for _ in 0..TURN_MAX {
            let Ok(msg) = rx.try_recv() else { break };
            self.message(state, io, msg)?;
        }
        for _ in 0..TURN_MAX {
            let Some(f) = feed.as_mut().filter(|f| !f.closed) else {
                break;
            };
            if !state.takes_observations() {
                break;
            }
            let Ok(observed) = f.observed.try_recv() else {
                break;
            };
            self.observed(state, io, f, Some(observed))?;
        }
        Ok(())
    }

    /// One observation from the survey: recorded and decided, then given to the engine.
    fn observed(
        &self,
        state: &mut RunState,
        io: &mut Io<'l>,
        feed: &mut Feed,
        observed: Option<Observed>,
    ) -> Result<(), LedgerError> {
        let Some(observed) = observed else {
            feed.closed = true;
            return self.event(state, io, Event::ObservationDone);
        };
        let decided = match observed.result {
            Ok(observation) => feed.accept(self.ledger, self.run_id, observed.seq, observation)?,
            Err(e) => {
                let abort = Abort::ObservationFailed(e.to_string());
                self.event(state, io, Event::Abort(abort))?;
                super::feed::Decided::default()
            }
        };
        let event = Event::Observed {
            throttles: observed.throttles,
            keys: decided.keys,
            items: decided.items,
        };
        self.event(state, io, event)
    }

    fn message(&self, state: &mut RunState, io: &mut Io<'l>, msg: Msg) -> Result<(), LedgerError> {
        match msg {
            Msg::Sending { item, reply } => {
                let id = state
                    .track(item)
                    .stream_id()
                    .expect("dispatched items have a stream id");
                let Some(row) = self.ledger.stream_row(&id)? else {
                    let _ = reply.send(false);
                    return self.event(state, io, Event::StartNotSent { item });
                };
                let effects = state.handle(Event::StartSending { item }, io.clock.now());
                self.execute(state, io, effects, Some(row))?;
                if io.attempts.contains_key(&item) {
                    // Sent once the turn that wrote its attempt is committed.
                    io.turn
                        .as_mut()
                        .expect("messages are taken in a turn")
                        .hold(reply);
                } else {
                    let _ = reply.send(false);
                }
                Ok(())
            }
            Msg::Withheld { item, why, details } => {
                self.event(state, io, Event::StartWithheld { item, why, details })
            }
            Msg::GrantsWithheld { item, details } => {
                self.event(state, io, Event::GrantsWithheld { item, details })
            }
            Msg::Started { item, result } => {
                self.event(state, io, Event::StartAnswered { item, result })
            }
            Msg::Described {
                item,
                sent_at,
                result,
            } => {
                if let Ok(observation) = result.as_ref() {
                    self.ledger.record_stream(observation, Some(self.run_id))?;
                }
                let result = *result;
                self.event(
                    state,
                    io,
                    Event::Described {
                        item,
                        sent_at,
                        result,
                    },
                )
            }
        }
    }

    /// Hands one event to the engine and carries out what it asks.
    fn event(
        &self,
        state: &mut RunState,
        io: &mut Io<'l>,
        event: Event,
    ) -> Result<(), LedgerError> {
        let effects = state.handle(event, io.clock.now());
        self.execute(state, io, effects, None)
    }

    /// Carries out effects in order; `row`: the ledger row of the stream whose Start is about
    /// to be sent.
    fn execute(
        &self,
        state: &mut RunState,
        io: &mut Io<'l>,
        effects: Vec<Effect>,
        row: Option<i64>,
    ) -> Result<(), LedgerError> {
        let mut queue = VecDeque::from(effects);
        while let Some(effect) = queue.pop_front() {
            match effect {
                Effect::Start { item } => self.spawn_start(state, io, item),
                Effect::Describe { item, early: false } => {
                    self.spawn_describe(state, io, item, false)
                }
                Effect::Describe { item, early: true } => {
                    // Only a token that is free right now: a poll that had to wait for one
                    // would delay the polls that are due.
                    let t = state.track(item);
                    let key = self.accounts.pace_key(t.account.as_deref());
                    if self.pacer.try_now(key, &t.region, Operation::Describe) {
                        self.spawn_describe(state, io, item, true);
                    } else {
                        let now = io.clock.now();
                        queue.extend(state.handle(Event::EarlyPollDeclined { item }, now));
                    }
                }
                Effect::BeginAttempt { item, at } => {
                    let row = row.expect("a Start is begun with its stream's row");
                    let track = state.track(item);
                    let (op, key) = match track.operation() {
                        Operation::Stop => (Op::Stop, None),
                        _ => (Op::Start, Some(&track.target)),
                    };
                    let attempt =
                        self.ledger
                            .begin_attempt_at(row, Some(self.run_id), op, key, at)?;
                    io.attempts.insert(item, attempt);
                }
                Effect::MarkBudgetFull { item } => {
                    let attempt = io
                        .attempts
                        .get(&item)
                        .expect("a refusal for the budget answers a Start with its attempt");
                    self.ledger.mark_budget_full(*attempt)?;
                }
                Effect::CompleteAttempt { item, outcome } => {
                    let attempt = io
                        .attempts
                        .remove(&item)
                        .expect("an answered Start has its attempt");
                    self.ledger.complete_attempt(attempt, &outcome)?;
                }
                Effect::Update { item, update } => {
                    let seq = state.track(item).seq;
                    self.ledger.update_run_item(self.run_id, seq, &update)?;
                }
                Effect::Paced {
                    item,
                    op,
                    throttled,
                } => {
                    let t = state.track(item);
                    let key = self.accounts.pace_key(t.account.as_deref());
                    if throttled {
                        self.pacer.throttled(key, &t.region, op);
                    } else {
                        self.pacer.succeeded(key, &t.region, op);
                    }
                }
                Effect::RefreshCredentials { item } => {
                    let account = state.track(item).account.clone();
                    let accounts = self.accounts.clone();
                    tokio::spawn(async move {
                        if let Ok(cloud) = accounts.cloud(account.as_deref()).await {
                            cloud.grant_failed();
                        }
                    });
                }
                Effect::Notice(notice) => {
                    let _ = self.notices.send(notice);
                }
            }
        }
        Ok(())
    }

    /// A Start worker: waits for its token, checks its account's credentials can be used
    /// (reached; fit for a KMS grant when the key is a customer's), asks to send (the loop
    /// writes the attempt), sends.
    fn spawn_start(&self, state: &RunState, io: &Io, item: usize) {
        let t = state.track(item);
        let (account, region, name, key) = (
            t.account.clone(),
            t.region.clone(),
            t.name.clone(),
            t.target.clone(),
        );
        let op = t.operation();
        let (accounts, pacer, tx) = (self.accounts.clone(), self.pacer.clone(), io.tx.clone());
        tokio::spawn(async move {
            pacer
                .wait(accounts.pace_key(account.as_deref()), &region, op)
                .await;
            let withheld = |why, details| {
                let _ = tx.send(Msg::Withheld { item, why, details });
            };
            let cloud = match accounts.cloud(account.as_deref()).await {
                Ok(cloud) => cloud,
                Err(why) => return withheld(Why::Plan(Reason::NoCredentials), why),
            };
            if op == Operation::Start
                && key.key_arn().is_some()
                && let Err(unfit) = accounts.fresh_for_grant(&cloud).await
            {
                return match unfit {
                    Unfit::CannotRefresh(details) => {
                        let _ = tx.send(Msg::GrantsWithheld { item, details });
                    }
                    Unfit::RefreshFailed(details) => withheld(Why::CredentialsTooOld, details),
                };
            }
            let (reply, answer) = oneshot::channel();
            if tx.send(Msg::Sending { item, reply }).is_err() {
                return;
            }
            if let Ok(true) = answer.await {
                let result = cloud.start_encryption(&region, &name, &key).await;
                let _ = tx.send(Msg::Started { item, result });
            }
        });
    }

    /// A Describe worker; `token_taken` when its token is already spent.
    fn spawn_describe(&self, state: &RunState, io: &Io, item: usize, token_taken: bool) {
        let t = state.track(item);
        let (account, region, name) = (t.account.clone(), t.region.clone(), t.name.clone());
        let (accounts, pacer, tx) = (self.accounts.clone(), self.pacer.clone(), io.tx.clone());
        let clock = io.clock.clone();
        tokio::spawn(async move {
            if !token_taken {
                pacer
                    .wait(
                        accounts.pace_key(account.as_deref()),
                        &region,
                        Operation::Describe,
                    )
                    .await;
            }
            let sent_at = clock.now();
            let result = match accounts.cloud(account.as_deref()).await {
                Ok(cloud) => cloud.describe_stream(&region, &name).await,
                Err(why) => Err(CallError::NoCredentials(why)),
            };
            let _ = tx.send(Msg::Described {
                item,
                sent_at,
                result: Box::new(result),
            });
        });
    }
}

impl Io<'_> {
    /// Ends the turn under way: commits its writes, then lets its Starts leave.
    fn commit(&mut self) -> Result<(), LedgerError> {
        match self.turn.take() {
            Some(turn) => turn.commit().map(|_| ()),
            None => Ok(()),
        }
    }
}

async fn recv(feed: &mut Option<Feed>) -> Option<Observed> {
    match feed {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until the engine's wake-up time `at`, read against `now` on the same clock.
async fn sleep_until(at: Option<EpochMillis>, now: EpochMillis) {
    match at {
        Some(at) => {
            let wait = Duration::from_millis((at - now).max(0) as u64);
            tokio::time::sleep(wait).await
        }
        None => std::future::pending().await,
    }
}
