//! Kinesis Data Streams on the wire (`Kinesis_20131202.*`, AWS JSON 1.1, botocore's
//! `kinesis/2013-12-02`): `CreateStream`, `StartStreamEncryption` and `DescribeStreamSummary`,
//! each read by the Kinesis input model and answered with the model's output shapes
//! (`DescribeStreamSummaryOutput`; the other two have none: `{}`).

use serde::{Deserialize, Serialize};

use super::model::Service;
use super::request::read;
use super::{Op, secs, to_bytes};
use crate::vocabulary::{ApiError, Millis};
use crate::world::{Caller, KinesisName, World};

const KINESIS: Service = Service::Kinesis;

/// The target prefix of Kinesis's operations.
pub const TARGET_PREFIX: &str = "Kinesis_20131202.";

/// The operations served.
pub const OPS: [Op; 3] = [
    Op::CreateStream,
    Op::DescribeStreamSummary,
    Op::StartStreamEncryption,
];

/// A Kinesis request, read.
#[derive(Debug, Clone)]
pub enum Request {
    Create(CreateStreamInput),
    Describe(DescribeStreamSummaryInput),
    Encrypt(StartStreamEncryptionInput),
}

/// `CreateStreamInput` (`Tags`, `WarmThroughputMiBps`, `MaxRecordSizeInKiB` and
/// `RecordDistributionStrategy` are checked by the model, then not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateStreamInput {
    stream_name: String,
    #[serde(default)]
    shard_count: Option<u32>,
    #[serde(default)]
    stream_mode_details: Option<StreamModeDetails>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    stream_mode: String,
}

/// `DescribeStreamSummaryInput` (`StreamId` is reserved: not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryInput {
    #[serde(default)]
    stream_name: Option<String>,
    #[serde(rename = "StreamARN", default)]
    stream_arn: Option<String>,
}

/// `StartStreamEncryptionInput`: `EncryptionType` is `KMS` (the model's enum also has `NONE`,
/// which Start refuses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartStreamEncryptionInput {
    #[serde(default)]
    stream_name: Option<String>,
    #[serde(rename = "StreamARN", default)]
    stream_arn: Option<String>,
    encryption_type: String,
    key_id: String,
}

impl Request {
    /// Reads `body` as the input of `op`, a Kinesis operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        let name = op.name();
        Ok(match op {
            Op::CreateStream => Request::Create(read(KINESIS, name, body)?),
            Op::DescribeStreamSummary => Request::Describe(read(KINESIS, name, body)?),
            Op::StartStreamEncryption => Request::Encrypt(read(KINESIS, name, body)?),
            other => unreachable!("{} is not a Kinesis operation", other.name()),
        })
    }

    /// The stream the request names, as an ARN of the caller's account and `region`.
    pub fn resource(&self, account: &str, region: &str) -> String {
        let (name, arn) = match self {
            Request::Create(i) => (Some(i.stream_name.as_str()), None),
            Request::Describe(i) => (i.stream_name.as_deref(), i.stream_arn.as_deref()),
            Request::Encrypt(i) => (i.stream_name.as_deref(), i.stream_arn.as_deref()),
        };
        match (arn, name) {
            (Some(arn), _) => arn.to_owned(),
            (None, name) => crate::world::kinesis_arn(region, account, name.unwrap_or("*")),
        }
    }

    /// Carries the request of `caller` out in its account; the answer's body.
    pub fn execute(
        &self,
        world: &mut World,
        caller: &Caller,
        region: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        let account = caller.account.as_str();
        let caller_arn = caller.arn(region);
        match self {
            Request::Create(input) => {
                let mode = input
                    .stream_mode_details
                    .as_ref()
                    .map(|m| m.stream_mode.as_str());
                world.create_kinesis_stream(
                    account,
                    region,
                    &input.stream_name,
                    input.shard_count,
                    mode,
                    now,
                )?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Encrypt(input) => {
                if input.encryption_type != "KMS" {
                    return Err(ApiError::new(
                        crate::vocabulary::codes::INVALID_ARGUMENT,
                        format!(
                            "EncryptionType {} cannot be started; use KMS.",
                            input.encryption_type
                        ),
                    ));
                }
                let named = KinesisName {
                    name: input.stream_name.as_deref(),
                    arn: input.stream_arn.as_deref(),
                };
                world.start_kinesis_encryption(
                    &caller_arn,
                    account,
                    region,
                    named,
                    &input.key_id,
                    now,
                )?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Describe(input) => {
                let named = KinesisName {
                    name: input.stream_name.as_deref(),
                    arn: input.stream_arn.as_deref(),
                };
                let s = world.describe_kinesis_stream(&caller_arn, account, region, named)?;
                Ok(to_bytes(&DescribeStreamSummaryOutput {
                    stream_description_summary: StreamDescriptionSummary {
                        stream_name: &s.name,
                        stream_arn: &s.arn,
                        stream_status: s.status(now),
                        stream_mode_details: StreamModeDetails {
                            stream_mode: s.mode.to_owned(),
                        },
                        retention_period_hours: 24,
                        stream_creation_timestamp: secs(s.created_at),
                        enhanced_monitoring: [],
                        encryption_type: if s.key_id.is_some() { "KMS" } else { "NONE" },
                        key_id: s.key_id.as_deref(),
                        open_shard_count: s.shards,
                        consumer_count: 0,
                    },
                }))
            }
        }
    }
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeStreamSummaryOutput<'a> {
    stream_description_summary: StreamDescriptionSummary<'a>,
}

/// `StreamDescriptionSummary`: every member the model requires, `KeyId` only when encrypted.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StreamDescriptionSummary<'a> {
    stream_name: &'a str,
    #[serde(rename = "StreamARN")]
    stream_arn: &'a str,
    stream_status: &'static str,
    stream_mode_details: StreamModeDetails,
    retention_period_hours: u32,
    stream_creation_timestamp: f64,
    /// No enhanced monitoring (the model's `ShardLevelMetrics` has at least one metric, so
    /// the list is empty rather than holding an empty one).
    enhanced_monitoring: [(); 0],
    encryption_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<&'a str>,
    open_shard_count: u32,
    consumer_count: u32,
}
