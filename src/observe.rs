//! Observation: Describe every stream of a fleet and KMS DescribeKey every distinct customer
//! key, paced per (account, region, operation), regions in parallel, retrying throttles and
//! unknown outcomes (reads are safe to repeat). Results go to the caller as they arrive; the
//! caller owns the ledger and records them.
//!
//! Each stream is described with the clients of its account ([`AccountsApi`]) and paced under
//! that account's quota; the base credentials' own account is paced as [`SELF`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use crate::cloud::{AccountsApi, CallError, CloudApi};
use crate::model::{KeyObservation, KmsKeyArn, StreamObservation};
use crate::pace::{Operation, Pacer};

pub use crate::cloud::SELF;

/// Attempts of one read whose request could not even be sent (connection refused, DNS).
const NOT_SENT_ATTEMPTS: u32 = 3;

/// Attempts of one read before giving up.
const READ_ATTEMPTS: u32 = 6;

/// A stream to describe, with its place in the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub seq: usize,
    /// The account the row names (`None`: the credentials' own).
    pub account: Option<Arc<str>>,
    pub region: Arc<str>,
    pub name: Box<str>,
}

/// Why observation could not complete. Each says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    #[error(
        "no AWS credentials were found ({0}). Provide them as for the AWS CLI: `aws configure`, \
         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, `--profile NAME` (with `aws sso login` for SSO), \
         or an instance/container role"
    )]
    NoCredentials(String),
    #[error(
        "access denied calling {action} ({code}: {message}); the caller's IAM policy must allow {action}"
    )]
    Denied {
        action: &'static str,
        code: String,
        message: String,
    },
    #[error(
        "AWS refused the credentials calling {action} ({code}: {message}): they are invalid or \
         expired. Refresh them (`aws sso login`, a new session token) or pick others with \
         `--profile NAME` or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    )]
    BadCredentials {
        action: &'static str,
        code: String,
        message: String,
    },
    #[error("{what} failed: {error}")]
    Failed { what: String, error: CallError },
    #[error("account {account} cannot be reached: {why}")]
    Unreachable { account: String, why: String },
}

impl ObserveError {
    pub fn from_call(action: &'static str, what: String, error: CallError) -> Self {
        match error {
            CallError::NoCredentials(m) => ObserveError::NoCredentials(m),
            // Only an authorization failure is about the IAM policy; the other refusals the
            // client classifies as denied are about the credentials themselves.
            CallError::Denied { code, message } if code.starts_with("AccessDenied") => {
                ObserveError::Denied {
                    action,
                    code,
                    message,
                }
            }
            CallError::Denied { code, message } => ObserveError::BadCredentials {
                action,
                code,
                message,
            },
            error => ObserveError::Failed { what, error },
        }
    }
}

/// Gives a large queue's memory back as it empties (amortised: at most once per halving).
pub fn shrink<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > 1024 && queue.len() < queue.capacity() / 4 {
        queue.shrink_to(queue.len() * 2);
    }
}

/// One read, paced and retried: throttles slow the key down, unknown outcomes and transport
/// failures are retried with backoff; anything else is final. `token_taken`: the caller already
/// waited for the first attempt's token. Returns the result and the throttles met.
pub async fn paced_read<T, F, Fut>(
    pacer: &Pacer,
    account: &str,
    region: &str,
    op: Operation,
    token_taken: bool,
    mut call: F,
) -> (Result<T, CallError>, u32)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CallError>>,
{
    let mut throttles = 0;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if attempt > 1 || !token_taken {
            pacer.wait(account, region, op).await;
        }
        match call().await {
            Ok(v) => {
                pacer.succeeded(account, region, op);
                return (Ok(v), throttles);
            }
            Err(e) if attempt < READ_ATTEMPTS => match e {
                CallError::Throttled(_) => {
                    throttles += 1;
                    pacer.throttled(account, region, op);
                }
                // Nothing listening: a short retry covers a blip, a long one only delays the
                // error.
                CallError::NotSent(_) if attempt >= NOT_SENT_ATTEMPTS => {
                    return (Err(e), throttles);
                }
                CallError::Unknown(_) | CallError::NotSent(_) => {
                    tokio::time::sleep(Duration::from_millis(200 << attempt.min(3))).await;
                }
                e => return (Err(e), throttles),
            },
            Err(e) => return (Err(e), throttles),
        }
    }
}

/// What one stream's Describe produced: the observation, or `None` when it does not exist.
pub type StreamResult = Result<Option<StreamObservation>, ObserveError>;

/// A finished observation of one stream, with the throttles it met on the way.
#[derive(Debug)]
pub struct Observed {
    pub seq: usize,
    pub result: StreamResult,
    pub throttles: u32,
}

/// Describes every query, sending each result on `tx` as it arrives (not in order). Each
/// account and region is a lane of its own (its own quota) and lanes run in parallel; within a
/// lane, tokens are taken in fleet order. At most `concurrency` requests are in flight.
pub fn observe_streams<A: AccountsApi>(
    accounts: Arc<A>,
    pacer: Arc<Pacer>,
    queries: Vec<Query>,
    concurrency: usize,
    tx: mpsc::Sender<Observed>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        type Lane = (Arc<str>, Arc<str>);
        let lane = |q: &Query| -> Lane {
            let key = accounts.pace_key(q.account.as_deref());
            let account = match &q.account {
                Some(a) if a.as_ref() == key => a.clone(),
                _ => Arc::from(key),
            };
            (account, q.region.clone())
        };
        // Sized exactly: a large fleet's queries are not held with room to spare.
        let mut sizes: BTreeMap<Lane, usize> = BTreeMap::new();
        for q in &queries {
            *sizes.entry(lane(q)).or_default() += 1;
        }
        let mut lanes: BTreeMap<Lane, VecDeque<Query>> = sizes
            .into_iter()
            .map(|(lane, n)| (lane, VecDeque::with_capacity(n)))
            .collect();
        for q in queries {
            if let Some(v) = lanes.get_mut(&lane(&q)) {
                v.push_back(q);
            }
        }
        let mut running = tokio::task::JoinSet::new();
        for ((key, region), mut queries) in lanes {
            let (accounts, pacer, permits, tx) =
                (accounts.clone(), pacer.clone(), permits.clone(), tx.clone());
            running.spawn(async move {
                let mut calls = tokio::task::JoinSet::new();
                while let Some(q) = queries.pop_front() {
                    shrink(&mut queries);
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    // Take the token here, in fleet order; the call itself runs concurrently.
                    pacer.wait(&key, &region, Operation::Describe).await;
                    if tx.is_closed() {
                        break;
                    }
                    // Finished calls are reaped as we go: a finished task keeps its (large) SDK
                    // future's memory until it is joined.
                    while calls.try_join_next().is_some() {}
                    let (accounts, pacer, tx, key, region) = (
                        accounts.clone(),
                        pacer.clone(),
                        tx.clone(),
                        key.clone(),
                        region.clone(),
                    );
                    calls.spawn(async move {
                        let (result, throttles) =
                            describe(&*accounts, &pacer, &key, &region, &q).await;
                        let _ = tx
                            .send(Observed {
                                seq: q.seq,
                                result,
                                throttles,
                            })
                            .await;
                        // Held until the result is taken: when the consumer falls behind,
                        // observation waits instead of piling finished calls up in memory.
                        drop(permit);
                    });
                }
                while calls.join_next().await.is_some() {}
            });
        }
        while running.join_next().await.is_some() {}
    })
}

/// One query's Describe, with the clients of its account; its token is taken.
async fn describe<A: AccountsApi>(
    accounts: &A,
    pacer: &Pacer,
    key: &str,
    region: &str,
    q: &Query,
) -> (StreamResult, u32) {
    let cloud = match accounts.cloud(q.account.as_deref()).await {
        Ok(cloud) => cloud,
        Err(why) => {
            let account = q.account.as_deref().unwrap_or(key).to_owned();
            return (Err(ObserveError::Unreachable { account, why }), 0);
        }
    };
    let (result, throttles) = paced_read(pacer, key, region, Operation::Describe, true, || {
        cloud.describe_stream(region, &q.name)
    })
    .await;
    let result = match result {
        Ok(obs) => Ok(Some(obs)),
        Err(CallError::NotFound(_)) => Ok(None),
        Err(e) => Err(ObserveError::from_call(
            "firehose:DescribeDeliveryStream",
            format!("Describe of {} in {region}", q.name),
            e,
        )),
    };
    (result, throttles)
}

/// DescribeKey for every distinct key, paced per account and region, each with the clients of
/// the account given with it (the first account whose streams the key is meant for: KMS answers
/// as that account's key policy allows). Returns the observations by ARN and the throttles met.
pub async fn observe_keys<A: AccountsApi>(
    accounts: &A,
    pacer: &Pacer,
    keys: impl IntoIterator<Item = (KmsKeyArn, Option<Arc<str>>)>,
) -> Result<(HashMap<String, KeyObservation>, u32), ObserveError> {
    let mut distinct: BTreeMap<String, (KmsKeyArn, Option<Arc<str>>)> = BTreeMap::new();
    for (k, account) in keys {
        distinct
            .entry(k.as_str().to_owned())
            .or_insert((k, account));
    }
    let mut out = HashMap::new();
    let mut throttles = 0;
    for (text, (arn, account)) in distinct {
        let key = accounts.pace_key(account.as_deref());
        let cloud =
            accounts
                .cloud(account.as_deref())
                .await
                .map_err(|why| ObserveError::Unreachable {
                    account: account.as_deref().unwrap_or(key).to_owned(),
                    why,
                })?;
        let (result, t) = paced_read(
            pacer,
            key,
            arn.region(),
            Operation::DescribeKey,
            false,
            || cloud.describe_key(&arn),
        )
        .await;
        throttles += t;
        let obs = result.map_err(|e| {
            ObserveError::from_call("kms:DescribeKey", format!("DescribeKey of {text}"), e)
        })?;
        out.insert(text, obs);
    }
    Ok((out, throttles))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(code: &str) -> CallError {
        CallError::Denied {
            code: code.into(),
            message: "User: arn:aws:iam::123456789012:user/ops is not authorized".into(),
        }
    }

    mod fake {
        //! The observer against the fake AWS (`cloud::fake`), on tokio's paused clock.

        use super::*;
        use crate::cloud::fake::{Call, Fake};
        use crate::model::{Encryption, SourceType, StreamId, StreamStatus};
        use crate::pace::Rates;

        const ACCOUNT: &str = "123456789012";
        const REGION: &str = "us-east-1";

        fn pacer() -> Arc<Pacer> {
            Arc::new(Pacer::new(Rates {
                read_tps: 1e9,
                write_tps: 1e9,
                shared: false,
            }))
        }

        fn query(seq: usize, account: Option<&str>) -> Query {
            Query {
                seq,
                account: account.map(Arc::from),
                region: REGION.into(),
                name: format!("s-{seq}").into(),
            }
        }

        fn seen(seq: usize) -> StreamObservation {
            let name = format!("s-{seq}");
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
                encryption: Encryption::disabled(),
            }
        }

        /// Observes `queries` to the end; the results by fleet position.
        async fn observe(fake: &Fake, pacer: &Arc<Pacer>, queries: Vec<Query>) -> Vec<Observed> {
            let (tx, mut rx) = mpsc::channel(16);
            let observer = observe_streams(Arc::new(fake.clone()), pacer.clone(), queries, 4, tx);
            let mut all = Vec::new();
            while let Some(o) = rx.recv().await {
                all.push(o);
            }
            observer.await.unwrap();
            all.sort_by_key(|o| o.seq);
            all
        }

        fn describes(fake: &Fake, name: &str) -> usize {
            fake.count(|c| matches!(c, Call::Describe { name: n, .. } if n == name))
        }

        #[tokio::test(start_paused = true)]
        async fn a_throttled_describe_is_retried_on_a_slowed_key() {
            let fake = Fake::new();
            let throttled = || Err(CallError::Throttled("Rate exceeded".into()));
            fake.describes("s-0", [throttled(), throttled(), Ok(seen(0))]);
            let pacer = pacer();
            let all = observe(&fake, &pacer, vec![query(0, None)]).await;
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].result, Ok(Some(seen(0))));
            assert_eq!(all[0].throttles, 2);
            assert_eq!(describes(&fake, "s-0"), 3);
            // Halved twice, a tenth back on the success.
            let slowdown = pacer.slowdown(SELF, REGION, Operation::Describe);
            assert!((slowdown - 3.9).abs() < 1e-9, "{slowdown}");
        }

        #[tokio::test(start_paused = true)]
        async fn throttles_past_the_read_attempts_end_the_observation_with_the_error() {
            let fake = Fake::new();
            fake.describes("s-0", [Err(CallError::Throttled("Rate exceeded".into()))]);
            let all = observe(&fake, &pacer(), vec![query(0, None)]).await;
            assert!(
                matches!(
                    &all[0].result,
                    Err(ObserveError::Failed {
                        error: CallError::Throttled(_),
                        ..
                    })
                ),
                "{:?}",
                all[0].result
            );
            assert_eq!(describes(&fake, "s-0"), READ_ATTEMPTS as usize);
        }

        #[tokio::test(start_paused = true)]
        async fn an_unknown_outcome_is_retried_after_a_pause_and_a_missing_stream_is_absent() {
            let fake = Fake::new();
            fake.describes("s-0", [Err(CallError::Unknown("502".into())), Ok(seen(0))]);
            fake.describes("s-1", [Err(CallError::NotFound("no such stream".into()))]);
            let all = observe(&fake, &pacer(), vec![query(0, None), query(1, None)]).await;
            assert_eq!(all[0].result, Ok(Some(seen(0))));
            assert_eq!(all[1].result, Ok(None), "not found is an answer");
            assert_eq!(describes(&fake, "s-1"), 1, "and is not retried");
            let log = fake.log();
            let times: Vec<Duration> = log
                .iter()
                .filter(|l| matches!(&l.call, Call::Describe { name, .. } if name == "s-0"))
                .map(|l| l.at)
                .collect();
            assert_eq!(times.len(), 2);
            assert!(
                times[1] - times[0] >= Duration::from_millis(400),
                "{times:?}"
            );
        }

        #[tokio::test(start_paused = true)]
        async fn access_denied_is_not_retried_and_names_the_action() {
            let fake = Fake::new();
            fake.describes(
                "s-0",
                [Err(CallError::Denied {
                    code: "AccessDeniedException".into(),
                    message: "not authorized".into(),
                })],
            );
            let all = observe(&fake, &pacer(), vec![query(0, None)]).await;
            let Err(e) = &all[0].result else {
                panic!("{:?}", all[0].result)
            };
            assert!(
                e.to_string().contains("firehose:DescribeDeliveryStream"),
                "{e}"
            );
            assert_eq!(describes(&fake, "s-0"), 1);
        }

        #[tokio::test(start_paused = true)]
        async fn a_stream_of_an_unreachable_account_is_never_described() {
            let fake = Fake::new();
            fake.unreachable("222222222222", "AssumeRole refused");
            fake.describes("s-1", [Ok(seen(1))]);
            let queries = vec![query(0, Some("222222222222")), query(1, None)];
            let all = observe(&fake, &pacer(), queries).await;
            assert!(
                matches!(&all[0].result, Err(ObserveError::Unreachable { account, .. }) if account == "222222222222"),
                "{:?}",
                all[0].result
            );
            assert_eq!(all[1].result, Ok(Some(seen(1))));
            assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
        }

        #[tokio::test(start_paused = true)]
        async fn each_distinct_key_is_described_once() {
            let fake = Fake::new();
            let arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
            let key = KmsKeyArn::parse(arn).unwrap();
            let keys = [(key.clone(), None), (key.clone(), Some(Arc::from(ACCOUNT)))];
            let (found, throttles) = observe_keys(&fake, &pacer(), keys).await.unwrap();
            assert_eq!(throttles, 0);
            assert!(!found[arn].found, "the fake does not know it");
            assert_eq!(fake.count(|c| matches!(c, Call::DescribeKey { .. })), 1);
        }
    }

    #[test]
    fn a_large_queue_gives_memory_back_as_it_empties() {
        let mut queue: VecDeque<u64> = (0..10_000).collect();
        let full = queue.capacity();
        let mut lowest = full;
        while let Some(x) = queue.pop_front() {
            shrink(&mut queue);
            assert!(queue.capacity() >= queue.len());
            assert_eq!(queue.front().copied(), (x + 1 < 10_000).then_some(x + 1));
            lowest = lowest.min(queue.capacity());
        }
        assert!(lowest <= 2048, "capacity stayed at {lowest} of {full}");
        // A small queue is left alone.
        let mut small: VecDeque<u64> = VecDeque::with_capacity(1000);
        small.push_back(1);
        shrink(&mut small);
        assert!(small.capacity() >= 1000);
    }

    #[test]
    fn access_denied_names_the_missing_iam_action() {
        for action in ["firehose:DescribeDeliveryStream", "kms:DescribeKey"] {
            let e = ObserveError::from_call(
                action,
                "Describe of s".into(),
                denied("AccessDeniedException"),
            );
            assert!(matches!(e, ObserveError::Denied { .. }), "{e:?}");
            let text = e.to_string();
            assert!(text.to_uppercase().contains("ACCESS DENIED"), "{text}");
            assert!(text.contains(&format!("must allow {action}")), "{text}");
            assert!(text.contains("AccessDeniedException"), "{text}");
        }
    }

    #[test]
    fn refused_credentials_are_not_blamed_on_the_iam_policy() {
        for code in ["ExpiredTokenException", "UnrecognizedClientException"] {
            let e = ObserveError::from_call(
                "firehose:DescribeDeliveryStream",
                "Describe of s".into(),
                denied(code),
            );
            let text = e.to_string();
            assert!(matches!(e, ObserveError::BadCredentials { .. }), "{e:?}");
            assert!(text.contains(code) && text.contains("expired"), "{text}");
            assert!(!text.contains("IAM policy"), "{text}");
        }
    }

    #[test]
    fn other_failures_keep_the_call_and_its_error() {
        let e = ObserveError::from_call(
            "kms:DescribeKey",
            "DescribeKey of k".into(),
            CallError::NotSent("Connection refused".into()),
        );
        assert_eq!(
            e.to_string(),
            "DescribeKey of k failed: not sent: Connection refused"
        );
        let e = ObserveError::from_call(
            "kms:DescribeKey",
            "x".into(),
            CallError::NoCredentials("none".into()),
        );
        assert!(e.to_string().contains("aws configure"), "{e}");
    }
}
