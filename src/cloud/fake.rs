//! A fake AWS for unit tests of the code that calls it (the dispatcher, the observer): it
//! implements [`AccountsApi`] and [`CloudApi`] with answers scripted per stream and per key,
//! and logs every call with the time it was made, so a test reads "AWS answered this, so the
//! run called that, then". It knows no rule of Firehose: a stream shows only what the script
//! says, in order (the last Describe answer repeats, Starts past the script are accepted).
//!
//! Time is tokio's: a test runs with `#[tokio::test(start_paused = true)]`, the scripted
//! latencies are tokio sleeps, and [`PausedClock`] gives the ledger and the engine the same
//! time, so a 10-minute poll takes no wall time.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{AccountsApi, CallError, CloudApi, SELF, Unfit, Unreachable};
use crate::clock::{Clock, EpochMillis};
use crate::model::{KeyChoice, KeyObservation, KmsKeyArn, StreamObservation};

/// One call the fake was asked to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Describe {
        account: String,
        name: String,
    },
    DescribeKey {
        account: String,
        arn: String,
    },
    /// A Start towards `key`, or a Stop for [`KeyChoice::Off`].
    Start {
        account: String,
        name: String,
        key: KeyChoice,
    },
    FreshForGrant {
        account: String,
    },
    GrantFailed {
        account: String,
    },
}

/// A logged call and when it was made, from the fake's creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub at: Duration,
    pub call: Call,
}

#[derive(Debug, Default)]
struct Script {
    describes: HashMap<String, VecDeque<Result<StreamObservation, CallError>>>,
    starts: HashMap<String, VecDeque<Result<(), CallError>>>,
    keys: HashMap<String, VecDeque<Result<KeyObservation, CallError>>>,
    unreachable: HashMap<String, Unreachable>,
    grants: VecDeque<Result<(), Unfit>>,
    start_latency: Duration,
    describe_latency: Duration,
    log: Vec<Logged>,
}

/// The fake; clones share one script and one log.
#[derive(Debug, Clone)]
pub struct Fake {
    script: Arc<Mutex<Script>>,
    origin: tokio::time::Instant,
}

impl Default for Fake {
    fn default() -> Self {
        Fake::new()
    }
}

impl Fake {
    pub fn new() -> Fake {
        Fake {
            script: Arc::default(),
            origin: tokio::time::Instant::now(),
        }
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Describes of stream `name` answer these, in order; the last one repeats.
    pub fn describes(
        &self,
        name: &str,
        answers: impl IntoIterator<Item = Result<StreamObservation, CallError>>,
    ) -> &Self {
        self.script()
            .describes
            .entry(name.to_owned())
            .or_default()
            .extend(answers);
        self
    }

    /// The Starts (and Stops) of stream `name` answer these, in order; then they are accepted.
    pub fn starts(
        &self,
        name: &str,
        answers: impl IntoIterator<Item = Result<(), CallError>>,
    ) -> &Self {
        self.script()
            .starts
            .entry(name.to_owned())
            .or_default()
            .extend(answers);
        self
    }

    /// DescribeKey of `arn` answers these, in order; the last one repeats.
    pub fn keys(
        &self,
        arn: &str,
        answers: impl IntoIterator<Item = Result<KeyObservation, CallError>>,
    ) -> &Self {
        self.script()
            .keys
            .entry(arn.to_owned())
            .or_default()
            .extend(answers);
        self
    }

    /// `account` cannot be reached, for `why`.
    pub fn unreachable(&self, account: &str, why: &str) -> &Self {
        self.script()
            .unreachable
            .insert(account.to_owned(), why.to_owned());
        self
    }

    /// The credential checks before customer-key Starts answer these, in order; then fit.
    pub fn grants(&self, answers: impl IntoIterator<Item = Result<(), Unfit>>) -> &Self {
        self.script().grants.extend(answers);
        self
    }

    /// Every Start (Stop) takes this long to answer.
    pub fn start_latency(&self, latency: Duration) -> &Self {
        self.script().start_latency = latency;
        self
    }

    /// Every Describe takes this long to answer.
    pub fn describe_latency(&self, latency: Duration) -> &Self {
        self.script().describe_latency = latency;
        self
    }

    /// Every call made so far, in order.
    pub fn log(&self) -> Vec<Logged> {
        self.script().log.clone()
    }

    /// The calls made so far, without their times.
    pub fn calls(&self) -> Vec<Call> {
        self.log().into_iter().map(|l| l.call).collect()
    }

    /// How many calls so far `matches` picks.
    pub fn count(&self, matches: impl Fn(&Call) -> bool) -> usize {
        self.calls().iter().filter(|c| matches(c)).count()
    }

    fn record(&self, call: Call) {
        let at = self.origin.elapsed();
        self.script().log.push(Logged { at, call });
    }
}

/// Takes the next answer; the last one stays to be given again.
fn next_repeating<T: Clone>(queue: Option<&mut VecDeque<T>>) -> Option<T> {
    let queue = queue?;
    if queue.len() > 1 {
        queue.pop_front()
    } else {
        queue.front().cloned()
    }
}

/// The fake's clients of one account.
#[derive(Debug)]
pub struct FakeAccount {
    account: String,
    fake: Fake,
}

impl CloudApi for FakeAccount {
    fn describe_stream(
        &self,
        _region: &str,
        name: &str,
    ) -> impl Future<Output = Result<StreamObservation, CallError>> + Send {
        let name = name.to_owned();
        async move {
            self.fake.record(Call::Describe {
                account: self.account.clone(),
                name: name.clone(),
            });
            let latency = self.fake.script().describe_latency;
            tokio::time::sleep(latency).await;
            let answer = next_repeating(self.fake.script().describes.get_mut(&name));
            answer.unwrap_or_else(|| Err(CallError::NotFound(format!("{name} is not scripted"))))
        }
    }

    fn describe_key(
        &self,
        arn: &KmsKeyArn,
    ) -> impl Future<Output = Result<KeyObservation, CallError>> + Send {
        let arn = arn.clone();
        async move {
            self.fake.record(Call::DescribeKey {
                account: self.account.clone(),
                arn: arn.as_str().to_owned(),
            });
            let answer = next_repeating(self.fake.script().keys.get_mut(arn.as_str()));
            answer.unwrap_or_else(|| Ok(KeyObservation::not_found(arn.clone())))
        }
    }

    fn start_encryption(
        &self,
        _region: &str,
        name: &str,
        key: &KeyChoice,
    ) -> impl Future<Output = Result<(), CallError>> + Send {
        let (name, key) = (name.to_owned(), key.clone());
        async move {
            self.fake.record(Call::Start {
                account: self.account.clone(),
                name: name.clone(),
                key,
            });
            let latency = self.fake.script().start_latency;
            tokio::time::sleep(latency).await;
            let answer = self
                .fake
                .script()
                .starts
                .get_mut(&name)
                .and_then(VecDeque::pop_front);
            answer.unwrap_or(Ok(()))
        }
    }

    fn grant_failed(&self) {
        self.fake.record(Call::GrantFailed {
            account: self.account.clone(),
        });
    }
}

impl AccountsApi for Fake {
    type Cloud = FakeAccount;

    fn pace_key<'a>(&'a self, account: Option<&'a str>) -> &'a str {
        account.unwrap_or(SELF)
    }

    fn cloud(
        &self,
        account: Option<&str>,
    ) -> impl Future<Output = Result<Arc<FakeAccount>, Unreachable>> + Send {
        let account = account.unwrap_or(SELF).to_owned();
        async move {
            if let Some(why) = self.script().unreachable.get(&account) {
                return Err(why.clone());
            }
            Ok(Arc::new(FakeAccount {
                account,
                fake: self.clone(),
            }))
        }
    }

    fn fresh_for_grant(
        &self,
        cloud: &FakeAccount,
    ) -> impl Future<Output = Result<(), Unfit>> + Send {
        self.record(Call::FreshForGrant {
            account: cloud.account.clone(),
        });
        let answer = self.script().grants.pop_front();
        std::future::ready(answer.unwrap_or(Ok(())))
    }
}

/// Wall-clock milliseconds that move with tokio's clock: paused in a test, they jump as tokio
/// skips ahead to the next timer, so the engine's "now" and the dispatcher's sleeps agree.
#[derive(Debug, Clone)]
pub struct PausedClock {
    epoch: EpochMillis,
    origin: tokio::time::Instant,
}

impl PausedClock {
    /// A clock that reads `epoch` now.
    pub fn at(epoch: EpochMillis) -> PausedClock {
        PausedClock {
            epoch,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for PausedClock {
    fn now(&self) -> EpochMillis {
        self.epoch + self.origin.elapsed().as_millis() as EpochMillis
    }
}
