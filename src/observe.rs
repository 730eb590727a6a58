//! Observation: Describe every stream of a fleet and KMS DescribeKey every distinct customer
//! key, paced per (account, region, operation), regions in parallel, retrying throttles and
//! unknown outcomes (reads are safe to repeat). Results go to the caller as they arrive; the
//! caller owns the ledger and records them.
//!
//! One run uses one set of credentials, hence one account: the limiter's account is the
//! credentials' (`SELF`), whatever account a stream ARN names.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use crate::cloud::{CallError, Cloud};
use crate::model::{KeyObservation, KmsKeyArn, StreamObservation};
use crate::pace::{Operation, Pacer};

/// The account key of the limiter: the credentials' own.
pub const SELF: &str = "self";

/// Attempts of one read whose request could not even be sent (connection refused, DNS).
const NOT_SENT_ATTEMPTS: u32 = 3;

/// Attempts of one read before giving up.
const READ_ATTEMPTS: u32 = 6;

/// A stream to describe, with its place in the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub seq: usize,
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
            pacer.wait(SELF, region, op).await;
        }
        match call().await {
            Ok(v) => {
                pacer.succeeded(SELF, region, op);
                return (Ok(v), throttles);
            }
            Err(e) if attempt < READ_ATTEMPTS => match e {
                CallError::Throttled(_) => {
                    throttles += 1;
                    pacer.throttled(SELF, region, op);
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

/// Describes every query, sending each result on `tx` as it arrives (not in order). Regions run
/// in parallel; within a region, tokens are taken in fleet order. At most `concurrency`
/// requests are in flight.
pub fn observe_streams(
    cloud: Arc<Cloud>,
    pacer: Arc<Pacer>,
    queries: Vec<Query>,
    concurrency: usize,
    tx: mpsc::Sender<Observed>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(concurrency.max(1)));
        // Sized exactly: a large fleet's queries are not held with room to spare.
        let mut sizes: BTreeMap<Arc<str>, usize> = BTreeMap::new();
        for q in &queries {
            *sizes.entry(q.region.clone()).or_default() += 1;
        }
        let mut by_region: BTreeMap<Arc<str>, VecDeque<Query>> = sizes
            .into_iter()
            .map(|(region, n)| (region, VecDeque::with_capacity(n)))
            .collect();
        for q in queries {
            if let Some(v) = by_region.get_mut(&q.region) {
                v.push_back(q);
            }
        }
        let mut regions = tokio::task::JoinSet::new();
        for (region, mut queries) in by_region {
            let (cloud, pacer, permits, tx) =
                (cloud.clone(), pacer.clone(), permits.clone(), tx.clone());
            regions.spawn(async move {
                let mut calls = tokio::task::JoinSet::new();
                while let Some(q) = queries.pop_front() {
                    shrink(&mut queries);
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    // Take the token here, in fleet order; the call itself runs concurrently.
                    pacer.wait(SELF, &region, Operation::Describe).await;
                    if tx.is_closed() {
                        break;
                    }
                    // Finished calls are reaped as we go: a finished task keeps its (large) SDK
                    // future's memory until it is joined.
                    while calls.try_join_next().is_some() {}
                    let (cloud, pacer, tx, region) =
                        (cloud.clone(), pacer.clone(), tx.clone(), region.clone());
                    calls.spawn(async move {
                        let (result, throttles) =
                            paced_read(&pacer, &region, Operation::Describe, true, || {
                                cloud.describe_stream(&region, &q.name)
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
        while regions.join_next().await.is_some() {}
    })
}

/// DescribeKey for every distinct key, paced per region. Returns the observations by ARN and
/// the throttles met.
pub async fn observe_keys(
    cloud: &Cloud,
    pacer: &Pacer,
    keys: impl IntoIterator<Item = KmsKeyArn>,
) -> Result<(HashMap<String, KeyObservation>, u32), ObserveError> {
    let mut distinct: BTreeMap<String, KmsKeyArn> = BTreeMap::new();
    for k in keys {
        distinct.entry(k.as_str().to_owned()).or_insert(k);
    }
    let mut out = HashMap::new();
    let mut throttles = 0;
    for (text, arn) in distinct {
        let (result, t) = paced_read(pacer, arn.region(), Operation::DescribeKey, false, || {
            cloud.describe_key(&arn)
        })
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
