//! Firehose's data plane on the wire: `PutRecord` and `PutRecordBatch` (JSON 1.1, the Firehose
//! model's `PutRecordInput` and `PutRecordBatchInput`: `Record.Data` a base64 blob, 0–1,000 KiB
//! decoded, checked by the model; 1–500 records a batch). A put succeeds or is refused whole
//! (`world::records`); a batch's answer has one `RequestResponses` entry per record, in order,
//! each with its `RecordId`, and `FailedPutCount` 0.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::model::Service;
use super::request::read;
use super::{Op, to_bytes};
use crate::vocabulary::{ApiError, Millis};
use crate::world::{Caller, World};

/// A put, read.
#[derive(Debug, Clone)]
pub enum Request {
    One(PutRecordInput),
    Batch(PutRecordBatchInput),
}

/// `Record`: its `Data`, base64 (the model has checked it reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Record {
    #[serde(rename = "Data")]
    data: String,
}

impl Record {
    /// The size of its data, decoded.
    fn size(&self) -> usize {
        base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .map_or(0, |d| d.len())
    }
}

/// `PutRecordInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    delivery_stream_name: String,
    record: Record,
}

/// `PutRecordBatchInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordBatchInput {
    delivery_stream_name: String,
    records: Vec<Record>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordOutput {
    record_id: String,
    encrypted: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordBatchOutput {
    failed_put_count: u64,
    encrypted: bool,
    request_responses: Vec<ResponseEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseEntry {
    record_id: String,
}

impl Request {
    /// Reads `body` as the input of `op` (PutRecord or PutRecordBatch).
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        Ok(match op {
            Op::PutRecord => Request::One(read(Service::Firehose, op.name(), body)?),
            Op::PutRecordBatch => Request::Batch(read(Service::Firehose, op.name(), body)?),
            other => unreachable!("{} is not a put", other.name()),
        })
    }

    /// `DeliveryStreamName` of the request.
    pub fn stream_name(&self) -> &str {
        match self {
            Request::One(r) => &r.delivery_stream_name,
            Request::Batch(r) => &r.delivery_stream_name,
        }
    }

    /// Carries the put of `caller` out; the answer's body.
    pub fn execute(
        &self,
        world: &mut World,
        caller: &Caller,
        region: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        match self {
            Request::One(r) => {
                let sizes = [r.record.size()];
                let out =
                    world.put_records(caller, region, self.stream_name(), &sizes, false, now)?;
                Ok(to_bytes(&PutRecordOutput {
                    record_id: out.record_ids.into_iter().next().unwrap_or_default(),
                    encrypted: out.encrypted,
                }))
            }
            Request::Batch(r) => {
                let sizes: Vec<usize> = r.records.iter().map(Record::size).collect();
                let out =
                    world.put_records(caller, region, self.stream_name(), &sizes, true, now)?;
                Ok(to_bytes(&PutRecordBatchOutput {
                    failed_put_count: 0,
                    encrypted: out.encrypted,
                    request_responses: out
                        .record_ids
                        .into_iter()
                        .map(|record_id| ResponseEntry { record_id })
                        .collect(),
                }))
            }
        }
    }
}
