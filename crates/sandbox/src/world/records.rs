//! PutRecord and PutRecordBatch: a producer's records into a stream of its account, and what
//! the stream counts of them.
//!
//! Checks, in order: the caller's identity policies allow `firehose:PutRecord` (or
//! `firehose:PutRecordBatch`) on the stream's ARN (else `AccessDeniedException`, AWS's
//! "User: X is not authorized to perform: firehose:PutRecord on resource: Y because no
//! identity-based policy allows the firehose:PutRecord action"); the stream exists
//! (`ResourceNotFoundException`), is DirectPut (`InvalidArgumentException`) and ACTIVE
//! (`ResourceNotFoundException`); a batch's records total at most 4 MiB
//! (`InvalidArgumentException`); and when the key in force is a customer managed key, the
//! caller may use it: `kms:GenerateDataKey` and `kms:Decrypt` allowed by both the key policy and
//! its identity policies (`key_policy::key_access`), the key exists and is enabled. A KMS
//! refusal is `InvalidKMSResourceException` whose `code` is KMS's error
//! (`AccessDeniedException`, `NotFoundException`, `DisabledException`,
//! `InvalidStateException`), the whole request refused. Streams on an AWS owned key, or not
//! encrypted, take any caller allowed to put. `Encrypted` says whether a key is in force.
//!
//! Each stream counts the records it accepted (and their bytes) and refused, in total and per
//! minute of the sandbox's clock (the minutes with puts, the last 15 days of them), and its
//! `AWS/Firehose` metrics per metric period ([`RecordLog::metrics`]: `IncomingRecords`,
//! `IncomingBytes`, `IncomingPutRequests` of accepted requests, and per refused request its KMS
//! error's SSE metric, e.g. `KMSKeyAccessDenied`).

use std::collections::VecDeque;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::World;
use super::iam::{Actor, Context};
use super::identity::Caller;
use super::metrics::{self, FirehoseMetric, Slots};
use crate::vocabulary::{
    ApiError, KeyRef, KmsKeyArn, Millis, StreamStatus, StreamType, codes, firehose_arn,
};

/// The most a PutRecordBatch may carry, in bytes of data (its API reference: "up to a limit of
/// 4 MB for the entire request").
pub const BATCH_LIMIT: usize = 4 * 1024 * 1024;

/// Minutes kept per stream: 15 days, as long as CloudWatch keeps one-minute data.
const MINUTES_KEPT: usize = 15 * 24 * 60;

/// Firehose's message when KMS refuses a producer (as EventBridge's dead-letter queues report
/// it).
pub const KMS_REFUSED: &str = "The grant for the CMK to this delivery stream might have been revoked or caller might not have sufficient permissions for the CMK.";

/// One minute of a stream's puts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteCount {
    /// The minute's start, epoch milliseconds.
    pub minute: Millis,
    pub accepted: u64,
    pub refused: u64,
    /// Bytes of the accepted records.
    pub bytes: u64,
}

/// What a stream received from producers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordLog {
    pub accepted: u64,
    pub refused: u64,
    pub bytes: u64,
    /// The minutes with puts, oldest first.
    pub minutes: VecDeque<MinuteCount>,
    /// Its `AWS/Firehose` metrics, per metric period.
    pub metrics: Slots,
}

/// What puts did to a stream: records accepted (their bytes, the requests that carried them)
/// and refused (the requests refused for a KMS error, counted by its SSE error metric).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub accepted: u64,
    pub bytes: u64,
    pub requests: u64,
    pub refused: u64,
    pub kms: Option<(FirehoseMetric, u64)>,
}

impl Tally {
    /// One request's records, accepted.
    pub(super) fn accepted(records: u64, bytes: u64) -> Tally {
        Tally {
            accepted: records,
            bytes,
            requests: 1,
            ..Tally::default()
        }
    }

    /// `records` refused with `err`, in `requests` requests.
    pub(super) fn refused(records: u64, err: &ApiError, requests: u64) -> Tally {
        let kms = err
            .kms_code
            .as_deref()
            .and_then(FirehoseMetric::of_kms_code)
            .map(|m| (m, requests));
        Tally {
            refused: records,
            kms,
            ..Tally::default()
        }
    }
}

impl RecordLog {
    /// Counts `t` at `at`, in the metric period of `period` ms holding it; the metric periods
    /// that have left their retention by `now` are forgotten.
    pub(super) fn count(&mut self, at: Millis, period: Millis, t: &Tally, now: Millis) {
        self.accepted += t.accepted;
        self.refused += t.refused;
        self.bytes += t.bytes;
        let minute = at - at.rem_euclid(60_000);
        // Almost always the last minute or a new one after it; a clock set back finds its place.
        let place = self.minutes.iter().rposition(|m| m.minute <= minute);
        match place {
            Some(i) if self.minutes[i].minute == minute => {
                let m = &mut self.minutes[i];
                m.accepted += t.accepted;
                m.refused += t.refused;
                m.bytes += t.bytes;
            }
            _ => {
                let entry = MinuteCount {
                    minute,
                    accepted: t.accepted,
                    refused: t.refused,
                    bytes: t.bytes,
                };
                self.minutes.insert(place.map_or(0, |i| i + 1), entry);
                if self.minutes.len() > MINUTES_KEPT {
                    self.minutes.pop_front();
                }
            }
        }
        let m = &mut self.metrics;
        m.add(at, period, FirehoseMetric::IncomingRecords, t.accepted);
        m.add(at, period, FirehoseMetric::IncomingBytes, t.bytes);
        m.add(at, period, FirehoseMetric::IncomingPutRequests, t.requests);
        if let Some((metric, n)) = t.kms {
            m.add(at, period, metric, n);
        }
        m.prune(now - metrics::retention(period));
    }

    /// The minutes from `from` (inclusive) to `to` (exclusive) with puts.
    pub fn between(&self, from: Millis, to: Millis) -> impl Iterator<Item = &MinuteCount> {
        self.minutes
            .iter()
            .filter(move |m| m.minute >= from && m.minute < to)
    }
}

/// What a put returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// One `RecordId` per record, in order.
    pub record_ids: Vec<String>,
    pub encrypted: bool,
}

impl World {
    /// PutRecord (`batch` false, one record) or PutRecordBatch by `caller`: records of
    /// `sizes` bytes into stream `name` of its account in `region`.
    pub fn put_records(
        &mut self,
        caller: &Caller,
        region: &str,
        name: &str,
        sizes: &[usize],
        batch: bool,
        now: Millis,
    ) -> Result<PutOutcome, ApiError> {
        self.settle_due(now);
        let account = caller.account.clone();
        let operation = if batch { "PutRecordBatch" } else { "PutRecord" };
        let action = format!("firehose:{operation}");
        let arn = firehose_arn(region, &account, name);
        let actor = caller.actor();
        let found = self.touch(&account, region, name, now);
        let refusal = match self.authorize(&actor, &action, &arn, &Context::default()) {
            Err(denial) => Some(ApiError::new(
                codes::ACCESS_DENIED,
                denial.message(&caller.arn(region), &action, &arn),
            )),
            Ok(()) if !found => return Err(self.not_found(&account, name)),
            Ok(()) => self.put_refusal(&actor, region, name, sizes, batch),
        };
        let bytes: usize = sizes.iter().sum();
        let records = sizes.len() as u64;
        let period = self.metric_period;
        if let Some(err) = refusal {
            if found && let Some(stream) = self.stream_mut(&account, region, name) {
                let tally = Tally::refused(records, &err, 1);
                stream.records_mut().count(now, period, &tally, now);
            }
            return Err(err);
        }
        let first = self.records_put;
        self.records_put += records;
        let stream = self.stream_mut(&account, region, name).expect("touched");
        let tally = Tally::accepted(records, bytes as u64);
        stream.records_mut().count(now, period, &tally, now);
        let encrypted = stream.in_force.is_some();
        let record_ids = (first..first + records)
            .map(|n| record_id(&account, region, name, n))
            .collect();
        Ok(PutOutcome {
            record_ids,
            encrypted,
        })
    }

    /// Why a put the identity side allows is refused by the stream or its key, if it is.
    pub(super) fn put_refusal(
        &self,
        actor: &Actor,
        region: &str,
        name: &str,
        sizes: &[usize],
        batch: bool,
    ) -> Option<ApiError> {
        let account = actor.account();
        let stream = self.stream(account, region, name)?;
        if stream.stream_type != StreamType::DirectPut {
            return Some(ApiError::new(
                codes::INVALID_ARGUMENT,
                format!(
                    "This operation is not permitted on {} delivery stream type.",
                    stream.stream_type.as_str()
                ),
            ));
        }
        if stream.status != StreamStatus::Active {
            return Some(ApiError::new(
                codes::RESOURCE_NOT_FOUND,
                format!(
                    "Firehose {name} under account {account} is not ACTIVE (status {}).",
                    stream.status.as_str()
                ),
            ));
        }
        if batch && sizes.iter().sum::<usize>() > BATCH_LIMIT {
            return Some(ApiError::new(
                codes::INVALID_ARGUMENT,
                format!("Records size exceeds {BATCH_LIMIT} bytes, the limit of a PutRecordBatch."),
            ));
        }
        let Some(KeyRef::Customer(key_arn)) = &stream.in_force else {
            return None;
        };
        let kms = |code: &str, message: String| Some(ApiError::invalid_kms_resource(code, message));
        let Some(key) = KmsKeyArn::parse(key_arn)
            .ok()
            .and_then(|parsed| self.key_ref(&parsed))
        else {
            return kms(
                "NotFoundException",
                format!("The KMS key {key_arn} of Firehose {name} was not found."),
            );
        };
        for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
            if self.key_access(actor, region, key, action).is_err() {
                return kms("AccessDeniedException", KMS_REFUSED.to_owned());
            }
        }
        match key.state.as_str() {
            "Enabled" => None,
            "Disabled" => kms(
                "DisabledException",
                format!("The KMS key {key_arn} of Firehose {name} is disabled."),
            ),
            state => kms(
                "InvalidStateException",
                format!("The KMS key {key_arn} of Firehose {name} is {state}."),
            ),
        }
    }

    /// What stream `name` of `account` in `region` received from producers (`None`: nothing
    /// yet, or no such stream): the seam a CloudWatch emulation reads `IncomingRecords` from.
    pub fn record_log(&self, account: &str, region: &str, name: &str) -> Option<&RecordLog> {
        self.stream(account, region, name)?.records.as_deref()
    }
}

/// A `RecordId`: 56 characters derived from the stream and the put's sequence number.
fn record_id(account: &str, region: &str, name: &str, n: u64) -> String {
    let digest = Sha256::digest(format!("{account}/{region}/{name}/{n}").as_bytes());
    let mut bytes = digest.to_vec();
    bytes.extend_from_slice(&n.to_be_bytes());
    bytes.extend_from_slice(&Sha256::digest(&bytes)[..2]);
    base64::engine::general_purpose::STANDARD.encode(&bytes[..42])
}
