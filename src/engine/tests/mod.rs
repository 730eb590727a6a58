//! Unit tests of the engine: every rule driven through [`RunState::handle`] on a manual clock,
//! no sockets, no ledger. [`Run`] is the harness: it feeds events at a time it moves by hand and
//! keeps the effects, so a test reads as "this happened, so the engine asked for that".

mod answers;
mod credentials;
mod gates;
mod no_wait;
mod run;
mod stop;

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::clock::{EpochMillis, SECOND};
use crate::model::{
    CallError, EncStatus, Encryption, Failure, KeyChoice, KmsKeyArn, SourceType, StreamId,
    StreamObservation, StreamStatus,
};
use crate::plan::Action;

/// A wall-clock instant far from zero, as the ledger's clock gives.
const T0: EpochMillis = 1_800_000_000_000;
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const K1: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
const K2: &str = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222";

fn key(arn: &str) -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(arn).unwrap())
}

fn config() -> Config {
    Config {
        settings: crate::plan::Settings::default(),
        concurrency: 4,
        max_wait: Duration::ZERO,
        poll_timeout: Duration::from_secs(600),
        max_attempts: 3,
        first_poll: Duration::from_secs(5),
        retirement_wait: GRANT_RETIREMENT_WAIT,
        no_wait: false,
    }
}

fn stream_name(seq: usize) -> String {
    format!("stream-{seq:03}")
}

/// A pending item of the run: stream `stream-<seq>` in us-east-1 towards `target`.
fn item(seq: usize, target: KeyChoice) -> NewItem {
    item_in(seq, REGION, target)
}

fn item_in(seq: usize, region: &str, target: KeyChoice) -> NewItem {
    NewItem {
        track: Track::new(TrackParts {
            seq,
            line: seq as u64 + 2,
            region: region.into(),
            name: stream_name(seq).into(),
            account: Some(ACCOUNT.into()),
            target,
            action: Action::Enable,
            phase: Phase::Pending,
            starts: 0,
            notes: Notes::default(),
        }),
        sends: SendLog::default(),
        holds_slot: false,
    }
}

/// What Describe shows for stream `stream-<seq>`.
fn seen(seq: usize, status: EncStatus, key: Option<KeyChoice>) -> StreamObservation {
    let name = stream_name(seq);
    StreamObservation {
        id: StreamId {
            account: ACCOUNT.into(),
            region: REGION.into(),
            name: name.clone(),
        },
        arn: format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}"),
        source: SourceType::DirectPut,
        source_arn: None,
        status: StreamStatus::Active,
        encryption: Encryption {
            status,
            key,
            failure: None,
        },
    }
}

fn failed(seq: usize, target: KeyChoice, kind: &str) -> StreamObservation {
    let mut obs = seen(seq, EncStatus::EnablingFailed, Some(target));
    obs.encryption.failure = Some(Failure {
        kind: kind.into(),
        details: format!("{kind} details"),
    });
    obs
}

/// The harness: a run, its clock, and every effect it asked for.
struct Run {
    st: RunState,
    now: EpochMillis,
    /// Effects of the latest event.
    fx: Vec<Effect>,
}

impl Run {
    fn new(config: Config) -> Run {
        Run::with_keys(config, HashMap::new())
    }

    fn with_keys(config: Config, counts: HashMap<String, u32>) -> Run {
        Run {
            st: RunState::new(config, counts, T0),
            now: T0,
            fx: Vec::new(),
        }
    }

    fn event(&mut self, event: Event) -> &[Effect] {
        self.fx = self.st.handle(event, self.now);
        &self.fx
    }

    fn add(&mut self, items: Vec<NewItem>) -> &[Effect] {
        self.event(Event::Added(items))
    }

    /// Moves the clock by `ms` and lets the engine act on it.
    fn wait(&mut self, ms: EpochMillis) -> &[Effect] {
        self.now += ms;
        self.event(Event::Tick)
    }

    /// Moves the clock to the engine's next wake-up and ticks.
    fn wake(&mut self) -> &[Effect] {
        let at = self.st.poll_timeout().expect("a timer is set");
        assert!(at >= self.now, "timers never lie in the past");
        self.now = at;
        self.event(Event::Tick)
    }

    /// The worker has its token and sends the Start; the engine writes the attempt first.
    fn send(&mut self, item: usize) {
        self.event(Event::StartSending { item });
        assert_eq!(
            self.fx,
            [Effect::BeginAttempt { item, at: self.now }],
            "the attempt is written before the Start leaves"
        );
    }

    fn answer(&mut self, item: usize, result: Result<(), CallError>) -> &[Effect] {
        self.event(Event::StartAnswered { item, result })
    }

    fn described(&mut self, item: usize, obs: StreamObservation) -> &[Effect] {
        self.event(Event::Described {
            item,
            sent_at: self.now,
            result: Ok(obs),
        })
    }

    fn describe_failed(&mut self, item: usize, error: CallError) -> &[Effect] {
        self.event(Event::Described {
            item,
            sent_at: self.now,
            result: Err(error),
        })
    }

    /// Sends the item's Start and has it accepted.
    fn start_ok(&mut self, item: usize) {
        self.send(item);
        self.answer(item, Ok(()));
    }

    fn phase(&self, item: usize) -> Phase {
        self.st.track(item).phase
    }

    fn reason(&self, item: usize) -> Option<Why> {
        self.st.track(item).reason()
    }
}

/// The items the effects start.
fn starts(fx: &[Effect]) -> Vec<usize> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Start { item } => Some(*item),
            _ => None,
        })
        .collect()
}

/// The items the effects describe (early polls marked `true`).
fn describes(fx: &[Effect]) -> Vec<(usize, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Describe { item, early } => Some((*item, *early)),
            _ => None,
        })
        .collect()
}

/// The ledger updates the effects ask for, by item.
fn updates(fx: &[Effect]) -> Vec<(usize, ItemUpdate)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Update { item, update } => Some((*item, update.clone())),
            _ => None,
        })
        .collect()
}

fn notes(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notice(Notice::Note(note)) => Some(note.to_string()),
            _ => None,
        })
        .collect()
}
