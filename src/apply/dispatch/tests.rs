//! The dispatcher against the fake AWS (`cloud::fake`), on tokio's paused clock: how effects
//! become calls and answers become events and ledger rows. The engine's own rules are its
//! unit tests (`engine/tests/`); here each test is about a call — when it is made, how often,
//! what is written around it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::Dispatcher;
use crate::apply::feed::{Observer, Prepared};
use crate::apply::{Feed, items_of_plan};
use crate::clock::EpochMillis;
use crate::cloud::fake::{Call, Fake, PausedClock};
use crate::cloud::{CallError, SELF, Unfit};
use crate::engine::{Abort, Config, GRANT_RETIREMENT_WAIT, NewItem, Outcome, Phase, RunState, Why};
use crate::input::Target;
use crate::ledger::{Ledger, RunArgs, RunKind, StaleAfter};
use crate::model::{
    EncStatus, Encryption, Failure, KeyChoice, KmsKeyArn, SourceType, StreamId, StreamObservation,
    StreamStatus,
};
use crate::pace::{Operation, Pacer, Rates};
use crate::plan::{Action, Item, Reason};
use crate::survey::Survey;

const T0: EpochMillis = 1_800_000_000_000;
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

fn key() -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(KEY).unwrap())
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

fn name(seq: usize) -> String {
    format!("stream-{seq}")
}

/// What Describe shows for stream `stream-<seq>`.
fn seen(seq: usize, status: EncStatus, key: Option<KeyChoice>) -> StreamObservation {
    let name = name(seq);
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

fn enabling(seq: usize) -> Result<StreamObservation, CallError> {
    Ok(seen(seq, EncStatus::Enabling, Some(key())))
}

fn enabled(seq: usize) -> Result<StreamObservation, CallError> {
    Ok(seen(seq, EncStatus::Enabled, Some(key())))
}

/// A run of the dispatcher over a temporary ledger, AWS faked, every rate far above what a
/// test reaches (the pacer's governor keeps real time: a wait would not be skipped).
struct Harness {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    fake: Fake,
    pacer: Arc<Pacer>,
    run_id: i64,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let ledger =
            Ledger::open(&dir.path().join("ledger.db"), Arc::new(PausedClock::at(T0))).unwrap();
        let args = RunArgs::Unknown(serde_json::json!({}));
        let run_id = ledger
            .start_run(RunKind::Apply, None, &args)
            .unwrap()
            .detach();
        let (pid, host) = crate::ledger::lock::me();
        std::mem::forget(
            ledger
                .acquire_lock(pid, &host, Some(run_id), StaleAfter::HeartbeatOnly)
                .unwrap(),
        );
        let pacer = Arc::new(Pacer::new(Rates {
            read_tps: 1e9,
            write_tps: 1e9,
            shared: false,
        }));
        Harness {
            _dir: dir,
            ledger,
            fake: Fake::new(),
            pacer,
            run_id,
        }
    }

    /// Items `from..to` of a plan, unencrypted streams the ledger has seen, to be moved to
    /// `target`: recorded as the run's items, as `apply` records them.
    fn items(&self, seqs: std::ops::Range<usize>, target: KeyChoice) -> Vec<NewItem> {
        let items = seqs
            .map(|seq| {
                let observed = seen(seq, EncStatus::Disabled, None);
                self.ledger.record_stream(&observed, None).unwrap();
                Item {
                    seq,
                    target: Target {
                        line: seq as u64 + 2,
                        name: name(seq),
                        region: REGION.into(),
                        account: Some(ACCOUNT.into()),
                        key: target.clone(),
                        expect: None,
                    },
                    stream: Some(observed.id),
                    action: Action::Enable,
                    reason: None,
                    next_slot: None,
                    current: None,
                    budget_used: 0,
                    producers: None,
                    owner: None,
                }
            })
            .collect();
        items_of_plan(&self.ledger, self.run_id, items).unwrap()
    }

    /// The run's items as the ledger has them: each one's phase and reason.
    fn rows(&self) -> Vec<(Phase, Option<String>)> {
        let rows = self.ledger.run_items(self.run_id).unwrap();
        rows.into_iter().map(|r| (r.phase, r.reason)).collect()
    }

    /// Runs `items` to the end, or until `stop_after` has passed.
    async fn run(
        &self,
        config: Config,
        items: Vec<NewItem>,
        stop_after: Option<Duration>,
    ) -> Outcome {
        self.run_fed(config, items, None, stop_after).await.0
    }

    /// Runs `items`, and what `feed` decides as it observes, to the end (or until `stop_after`).
    async fn run_fed(
        &self,
        config: Config,
        items: Vec<NewItem>,
        feed: Option<Feed>,
        stop_after: Option<Duration>,
    ) -> (Outcome, Option<Feed>) {
        let (stop_tx, stop) = watch::channel(false);
        if let Some(after) = stop_after {
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let _ = stop_tx.send(true);
                // Held open: a closed channel reads as a stop too.
                std::future::pending::<()>().await;
            });
        } else {
            std::mem::forget(stop_tx);
        }
        let (notices, mut notices_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move { while notices_rx.recv().await.is_some() {} });
        let dispatcher = Dispatcher {
            ledger: &self.ledger,
            accounts: Arc::new(self.fake.clone()),
            pacer: self.pacer.clone(),
            run_id: self.run_id,
            notices,
            lock_owner: crate::ledger::lock::me(),
        };
        let mut state = RunState::new(
            config,
            self.ledger.key_counts_now().unwrap(),
            self.ledger.now(),
        );
        if let Some(feed) = &feed {
            state.expect_observations(feed.throttles);
        }
        // A day of paused time: a run that never ends fails instead of hanging.
        let day = Duration::from_secs(24 * 3600);
        let run = tokio::time::timeout(day, dispatcher.run(state, items, feed, stop));
        run.await.expect("the run ends").unwrap()
    }

    /// Each attempt of stream `seq`: its state and error code.
    fn attempts(&self, seq: usize) -> Vec<(String, Option<String>)> {
        let id = seen(seq, EncStatus::Disabled, None).id;
        self.ledger
            .attempts_of(&id)
            .unwrap()
            .into_iter()
            .map(|a| (a.state, a.error_code))
            .collect()
    }

    fn starts(&self, seq: usize) -> usize {
        let n = name(seq);
        self.fake
            .count(|c| matches!(c, Call::Start { name, .. } if *name == n))
    }

    fn describes(&self, seq: usize) -> usize {
        let n = name(seq);
        self.fake
            .count(|c| matches!(c, Call::Describe { name, .. } if *name == n))
    }
}

#[tokio::test(start_paused = true)]
async fn an_accepted_start_is_polled_until_enabled_and_no_longer() {
    let h = Harness::new();
    h.fake
        .describes(&name(0), [enabling(0), enabling(0), enabled(0)]);
    let outcome = h.run(config(), h.items(0..1, key()), None).await;
    assert_eq!(outcome.tracks[0].phase, Phase::Done);
    assert_eq!(h.starts(0), 1);
    assert_eq!(h.describes(0), 3, "{:#?}", h.fake.log());
    assert_eq!(h.attempts(0), [("ok".to_owned(), None)]);
    // The first poll waits the configured delay after the Start.
    let log = h.fake.log();
    let start = log
        .iter()
        .find(|l| matches!(l.call, Call::Start { .. }))
        .unwrap();
    let first = log
        .iter()
        .find(|l| matches!(l.call, Call::Describe { .. }))
        .unwrap();
    assert!(first.at - start.at >= Duration::from_secs(5), "{log:#?}");
}

#[tokio::test(start_paused = true)]
async fn polling_stops_at_enabling_failed_and_the_failure_is_kept() {
    let h = Harness::new();
    let mut failed = seen(0, EncStatus::EnablingFailed, Some(key()));
    failed.encryption.failure = Some(Failure {
        kind: "KMS_ACCESS_DENIED".into(),
        details: "Firehose may not use the key".into(),
    });
    h.fake.describes(&name(0), [enabling(0), Ok(failed)]);
    let outcome = h.run(config(), h.items(0..1, key()), None).await;
    let track = &outcome.tracks[0];
    assert_eq!(track.phase, Phase::Failed);
    assert_eq!(h.describes(0), 2, "{:#?}", h.fake.log());
    assert_eq!(
        h.starts(0),
        1,
        "a failure that needs an operator is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_start_slows_its_key_down_and_is_sent_again() {
    let h = Harness::new();
    h.fake
        .starts(
            &name(0),
            [Err(CallError::Throttled("Rate exceeded".into()))],
        )
        .describes(&name(0), [enabled(0)]);
    let outcome = h.run(config(), h.items(0..1, key()), None).await;
    assert_eq!(outcome.tracks[0].phase, Phase::Done);
    assert_eq!(outcome.throttles, 1);
    assert_eq!(h.starts(0), 2, "{:#?}", h.fake.log());
    let attempts = h.attempts(0);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[1], ("ok".to_owned(), None));
    assert_ne!(attempts[0].0, "ok", "{attempts:?}");
    assert_ne!(attempts[0].0, "in_flight", "{attempts:?}");
    // Halved on the throttle, a tenth back on the success.
    let slowdown = h.pacer.slowdown(ACCOUNT, REGION, Operation::Start);
    assert!((slowdown - 1.9).abs() < 1e-9, "{slowdown}");
}

/// The wording of the sandbox's refusal, which follows AWS's: it names the key limit.
fn key_limit_refusal() -> CallError {
    CallError::LimitExceeded(format!(
        "You can use a CMK of type CUSTOMER_MANAGED_CMK to encrypt up to 3 Firehose streams; \
         {KEY} already has grants for 3 (a grant scheduled for retirement counts until it is \
         retired)."
    ))
}

#[tokio::test(start_paused = true)]
async fn a_key_the_service_says_is_full_gets_one_refused_start() {
    let h = Harness::new();
    h.fake.start_latency(Duration::from_millis(100));
    for seq in 0..6 {
        h.fake.starts(&name(seq), [Err(key_limit_refusal())]);
    }
    let mut config = config();
    config.settings.cmk_limit = 3;
    config.concurrency = 1;
    let outcome = h.run(config, h.items(0..6, key()), None).await;
    let starts = h.fake.count(|c| matches!(c, Call::Start { .. }));
    assert_eq!(
        starts,
        1,
        "one refusal, no more Starts: {:#?}",
        h.fake.log()
    );
    for t in &outcome.tracks {
        assert_eq!(t.reason(), Some(Why::CMK_LIMIT), "{t:?}");
    }
    // The refused stream failed, the others were skipped without a call, all for the key.
    let rows = h.rows();
    assert_eq!(rows[0], (Phase::Failed, Some("cmk_limit".to_owned())));
    for row in &rows[1..] {
        assert_eq!(*row, (Phase::Skipped, Some("cmk_limit".to_owned())));
    }
    // The refusal's words are kept.
    let message: String = h
        .ledger
        .conn()
        .query_row(
            "SELECT error_message FROM attempts WHERE error_code = 'LimitExceededException'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(message.contains("already has grants"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn no_start_goes_to_a_full_key_after_its_first_refusal_came_back() {
    let h = Harness::new();
    h.fake.start_latency(Duration::from_millis(100));
    for seq in 0..6 {
        h.fake.starts(&name(seq), [Err(key_limit_refusal())]);
    }
    let mut config = config();
    config.settings.cmk_limit = 3;
    let outcome = h.run(config, h.items(0..6, key()), None).await;
    let sent: Vec<Duration> = h
        .fake
        .log()
        .iter()
        .filter(|l| matches!(l.call, Call::Start { .. }))
        .map(|l| l.at)
        .collect();
    // Those in flight together (at most the key's room) are all there is.
    assert!(!sent.is_empty() && sent.len() <= 3, "{sent:?}");
    let first_answer = sent[0] + Duration::from_millis(100);
    assert!(sent.iter().all(|at| *at < first_answer), "{sent:?}");
    assert_eq!(outcome.count(Phase::Failed), sent.len());
    assert_eq!(outcome.count(Phase::Skipped), 6 - sent.len());
    let refused = h
        .ledger
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM attempts WHERE error_code = 'LimitExceededException'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(
        refused as usize,
        sent.len(),
        "every Start sent is recorded refused"
    );
}

#[tokio::test(start_paused = true)]
async fn a_start_in_flight_when_stopped_is_answered_and_recorded_and_nothing_follows_it() {
    let h = Harness::new();
    h.fake.start_latency(Duration::from_secs(10));
    let mut config = config();
    config.concurrency = 1;
    let outcome = h
        .run(config, h.items(0..3, key()), Some(Duration::from_secs(1)))
        .await;
    assert!(outcome.interrupted, "{outcome:?}");
    assert_eq!(h.starts(0), 1);
    assert_eq!(h.starts(1) + h.starts(2), 0, "{:#?}", h.fake.log());
    // Its answer came after the stop and is in the ledger, not left in flight.
    assert_eq!(h.attempts(0), [("ok".to_owned(), None)]);
    assert_eq!(outcome.tracks[1].phase, Phase::Pending);
    assert_eq!(outcome.tracks[2].phase, Phase::Pending);
}

#[tokio::test(start_paused = true)]
async fn a_start_refused_access_denied_stops_the_run_after_one_call() {
    let h = Harness::new();
    let denied = CallError::Denied {
        code: "AccessDeniedException".into(),
        message: "not authorized to perform firehose:StartDeliveryStreamEncryption".into(),
    };
    h.fake.starts(&name(0), [Err(denied)]);
    let mut config = config();
    config.concurrency = 1;
    let outcome = h.run(config, h.items(0..3, key()), None).await;
    assert!(
        matches!(outcome.aborted, Some(Abort::Refused { .. })),
        "{:?}",
        outcome.aborted
    );
    assert_eq!(h.fake.count(|c| matches!(c, Call::Start { .. })), 1);
    assert_eq!(h.attempts(0).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_start_answered_in_use_is_described_before_it_is_sent_again() {
    let h = Harness::new();
    h.fake
        .starts(&name(0), [Err(CallError::InUse("transitioning".into()))])
        .describes(
            &name(0),
            [
                Ok(seen(0, EncStatus::Disabled, None)),
                enabling(0),
                enabled(0),
            ],
        );
    let outcome = h.run(config(), h.items(0..1, key()), None).await;
    assert_eq!(outcome.tracks[0].phase, Phase::Done);
    let calls: Vec<&str> = h
        .fake
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::Start { .. } => Some("start"),
            Call::Describe { .. } => Some("describe"),
            _ => None,
        })
        .collect();
    assert_eq!(calls[..3], ["start", "describe", "start"], "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_account_is_never_started() {
    let h = Harness::new();
    h.fake.unreachable(ACCOUNT, "AssumeRole refused");
    let outcome = h
        .run(config(), h.items(0..2, KeyChoice::AwsOwned), None)
        .await;
    assert_eq!(h.fake.count(|c| matches!(c, Call::Start { .. })), 0);
    for t in &outcome.tracks {
        assert_eq!(t.reason(), Some(Why::Plan(Reason::NoCredentials)), "{t:?}");
        assert_eq!(t.starts, 0);
    }
    assert!(h.attempts(0).is_empty());
}

#[tokio::test(start_paused = true)]
async fn credentials_that_cannot_make_a_grant_withhold_customer_key_starts_only() {
    let h = Harness::new();
    h.fake
        .grants([Err(Unfit::CannotRefresh("a fixed session".into()))])
        .describes(
            &name(1),
            [Ok(seen(1, EncStatus::Enabled, Some(KeyChoice::AwsOwned)))],
        );
    let mut items = h.items(0..1, key());
    items.extend(h.items(1..2, KeyChoice::AwsOwned));
    let mut config = config();
    config.concurrency = 1;
    let outcome = h.run(config, items, None).await;
    assert_eq!(h.starts(0), 0, "{:#?}", h.fake.log());
    assert_eq!(h.starts(1), 1, "an AWS-owned key needs no grant");
    assert_eq!(outcome.tracks[1].phase, Phase::Done);
    assert_ne!(outcome.tracks[0].phase, Phase::Done);
    // Checked for the customer key's Start only.
    let checks = h.fake.count(
        |c| matches!(c, Call::FreshForGrant { account } if account == ACCOUNT || account == SELF),
    );
    assert_eq!(checks, 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_grant_is_noted_before_the_start_that_retries_it() {
    let h = Harness::new();
    let mut failed = seen(0, EncStatus::EnablingFailed, Some(key()));
    failed.encryption.failure = Some(Failure {
        kind: "CREATE_KMS_GRANT_FAILED".into(),
        details: "the grant could not be created".into(),
    });
    h.fake.describes(&name(0), [Ok(failed), enabled(0)]);
    let outcome = h.run(config(), h.items(0..1, key()), None).await;
    assert_eq!(outcome.tracks[0].phase, Phase::Done);
    let calls: Vec<&str> = h
        .fake
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::Start { .. } => Some("start"),
            Call::FreshForGrant { .. } => Some("check"),
            Call::GrantFailed { .. } => Some("grant failed"),
            Call::Describe { .. } | Call::DescribeKey { .. } => None,
        })
        .collect();
    assert_eq!(
        calls,
        ["check", "start", "grant failed", "check", "start"],
        "the retry asks for fresh credentials after the failure was noted"
    );
}

/// A fleet observed as the run goes (`apply FLEET.csv --yes`): the feed's observer describes
/// each stream on the fake, the survey decides, the dispatcher starts and follows.
#[tokio::test(start_paused = true)]
async fn streams_observed_as_the_run_goes_are_decided_then_started_or_left_alone() {
    let h = Harness::new();
    let aws_owned = || Some(KeyChoice::AwsOwned);
    h.fake
        .describes(
            &name(0),
            [
                Ok(seen(0, EncStatus::Disabled, None)),
                Ok(seen(0, EncStatus::Enabled, aws_owned())),
            ],
        )
        .describes(&name(1), [Err(CallError::NotFound("gone".into()))])
        .describes(
            &name(2),
            [
                Err(CallError::Throttled("Rate exceeded".into())),
                Ok(seen(2, EncStatus::Enabled, aws_owned())),
            ],
        );
    let targets = (0..3)
        .map(|seq| Target {
            line: seq as u64 + 2,
            name: name(seq),
            region: REGION.into(),
            account: Some(ACCOUNT.into()),
            key: KeyChoice::AwsOwned,
            expect: None,
        })
        .collect();
    let settings = crate::plan::Settings::default();
    let survey = Survey::new(
        &h.ledger,
        targets,
        HashMap::new(),
        settings,
        Some(h.run_id),
        BTreeMap::new(),
    )
    .unwrap();
    let prepared = Prepared {
        fleet: "fleet.csv",
        survey,
        seqs: vec![0, 1, 2],
        throttles: 0,
    };
    let observer = Observer {
        accounts: Arc::new(h.fake.clone()),
        pacer: h.pacer.clone(),
        concurrency: 4,
    };
    let (feed, first) = Feed::begin(&h.ledger, observer, h.run_id, prepared).unwrap();
    assert!(first.is_empty(), "nothing is decided before it is observed");
    let (outcome, feed) = h.run_fed(config(), first, Some(feed), None).await;
    assert!(feed.unwrap().survey.is_done());
    assert_eq!(h.starts(0), 1, "{:#?}", h.fake.log());
    assert_eq!(h.starts(1) + h.starts(2), 0, "{:#?}", h.fake.log());
    assert_eq!(
        outcome.throttles, 1,
        "the observer's throttle counts in the run"
    );
    let rows: Vec<_> = h
        .ledger
        .run_items(h.run_id)
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.action, r.phase, r.reason))
        .collect();
    let row = |seq: usize, action, phase, reason: Option<&str>| {
        (name(seq), Some(action), phase, reason.map(str::to_owned))
    };
    assert_eq!(
        rows,
        [
            row(0, Action::Enable, Phase::Done, None),
            row(1, Action::Skip, Phase::Skipped, Some("not_found")),
            row(2, Action::Noop, Phase::Done, None),
        ]
    );
}
