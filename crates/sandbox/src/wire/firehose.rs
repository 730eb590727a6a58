//! The Firehose operations on the wire (`Firehose_20150804.*`): one typed input per operation
//! as the Firehose model names it, the checks that turn it into a world operation's
//! arguments (form errors are `InvalidArgumentException`), and the typed answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::documents::{self, DefaultDestination};
use super::request::{Member, Object, Service, given, read};
use super::{Op, secs, to_bytes};
use crate::vocabulary::{
    ApiError, EncStatus, KeyType, KmsKeyArn, Millis, StreamType, is_valid_stream_name,
};
use crate::world::{KeyRef, NewStream, Stream, World};

const FIREHOSE: Service = Service::Firehose;

/// A Firehose request, read.
#[derive(Debug, Clone)]
pub enum Request {
    /// Boxed: its configurations make it many times the size of the others.
    Create(Box<CreateDeliveryStreamInput>),
    Delete(DeleteDeliveryStreamInput),
    Describe(DescribeDeliveryStreamInput),
    List(ListDeliveryStreamsInput),
    Start(StartDeliveryStreamEncryptionInput),
    Stop(StopDeliveryStreamEncryptionInput),
}

impl Request {
    /// Reads `body` as the input of `op`, a Firehose operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        Ok(match op {
            Op::CreateDeliveryStream => Request::Create(Box::new(read(body)?)),
            Op::DeleteDeliveryStream => Request::Delete(read(body)?),
            Op::DescribeDeliveryStream => Request::Describe(read(body)?),
            Op::ListDeliveryStreams => Request::List(read(body)?),
            Op::StartDeliveryStreamEncryption => Request::Start(read(body)?),
            Op::StopDeliveryStreamEncryption => Request::Stop(read(body)?),
            other => unreachable!("{} is not a Firehose operation", other.name()),
        })
    }

    /// `DeliveryStreamName` as given, when it is a string.
    pub fn stream_name(&self) -> Option<&str> {
        given(match self {
            Request::Create(input) => &input.delivery_stream_name,
            Request::Delete(input) => &input.delivery_stream_name,
            Request::Describe(input) => &input.delivery_stream_name,
            Request::List(_) => &None,
            Request::Start(input) => &input.delivery_stream_name,
            Request::Stop(input) => &input.delivery_stream_name,
        })
    }

    /// Carries the request out against the world; the answer's body.
    pub fn execute(
        &self,
        world: &mut World,
        region: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        match self {
            Request::Create(input) => {
                let (name, stream_type, encryption) = input.check()?;
                let source = documents::source_members(stream_type).and_then(|(member, _)| {
                    documents::source_description(
                        stream_type,
                        input.source_configuration(member),
                        now,
                    )
                });
                let new = NewStream {
                    stream_type,
                    encryption,
                    source,
                    destinations: documents::destinations(&input.others),
                };
                let arn = world.create_stream(region, name, new, now)?;
                Ok(to_bytes(&CreateDeliveryStreamOutput {
                    delivery_stream_arn: &arn,
                }))
            }
            Request::Delete(input) => {
                world.delete_stream(region, stream_name(&input.delivery_stream_name)?, now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Describe(input) => {
                let name = stream_name(&input.delivery_stream_name)?;
                world.describe_stream(region, name, now)?;
                let arn = world.stream_arn(region, name);
                let stream = world.stream(region, name).expect("described");
                let description = describe(&arn, name, stream, world.account());
                Ok(to_bytes(&DescribeDeliveryStreamOutput { description }))
            }
            Request::List(input) => {
                let (limit, start, filter) = input.check()?;
                let (names, more) = world.list_streams(region, limit, start, filter, now);
                Ok(to_bytes(&ListDeliveryStreamsOutput {
                    delivery_stream_names: names,
                    has_more_delivery_streams: more,
                }))
            }
            Request::Start(input) => {
                let name = stream_name(&input.delivery_stream_name)?;
                let key = encryption_key(&input.delivery_stream_encryption_configuration_input)?
                    .unwrap_or(KeyRef::AwsOwned);
                world.start_encryption(region, name, key, now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Stop(input) => {
                world.stop_encryption(region, stream_name(&input.delivery_stream_name)?, now)?;
                Ok(to_bytes(&Empty {}))
            }
        }
    }
}

// -------------------------------------------------------------------- inputs

/// `DeliveryStreamName`: required, and a valid name.
fn stream_name(member: &Option<Member<String>>) -> Result<&str, ApiError> {
    let name = FIREHOSE.req_str("DeliveryStreamName", member)?;
    if !is_valid_stream_name(name) {
        return Err(FIREHOSE.invalid(format!(
            "DeliveryStreamName {name:?} must be 1-64 characters [a-zA-Z0-9_.-]."
        )));
    }
    Ok(name)
}

/// An optional `DeliveryStreamType`.
fn stream_type(member: &Option<Member<String>>) -> Result<Option<StreamType>, ApiError> {
    match FIREHOSE.opt_str("DeliveryStreamType", member)? {
        None => Ok(None),
        Some(t) => StreamType::parse(t)
            .map(Some)
            .ok_or_else(|| FIREHOSE.invalid(format!("DeliveryStreamType {t:?} is not valid."))),
    }
}

/// `DeliveryStreamEncryptionConfigurationInput` (of Start and Create).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EncryptionConfigurationInput {
    #[serde(rename = "KeyType", default)]
    key_type: Option<Member<String>>,
    #[serde(rename = "KeyARN", default)]
    key_arn: Option<Member<String>>,
}

type EncryptionMember = Option<Member<Object<EncryptionConfigurationInput>>>;

/// The key an encryption configuration asks for; `None` when it is absent. `KeyType` is
/// checked before `KeyARN`; a `KeyARN` must be a key ARN (`AWSKMSKeyARNForSSE`: an alias ARN
/// is refused).
fn encryption_key(member: &EncryptionMember) -> Result<Option<KeyRef>, ApiError> {
    let input = match member {
        None => return Ok(None),
        Some(Member::Valid(Object(input))) => input,
        Some(Member::WrongType(_)) => {
            return Err(
                FIREHOSE.invalid("DeliveryStreamEncryptionConfigurationInput must be an object.")
            );
        }
    };
    let key_type = match FIREHOSE.opt_str("KeyType", &input.key_type)? {
        None => KeyType::AwsOwned,
        Some(t) => KeyType::parse(t).ok_or_else(|| {
            FIREHOSE.invalid(format!(
                "KeyType {t:?} is not valid; use {} or {}.",
                KeyType::AwsOwned.as_str(),
                KeyType::CustomerManaged.as_str()
            ))
        })?,
    };
    match (key_type, FIREHOSE.opt_str("KeyARN", &input.key_arn)?) {
        (KeyType::AwsOwned, None) => Ok(Some(KeyRef::AwsOwned)),
        (KeyType::AwsOwned, Some(_)) => {
            Err(FIREHOSE.invalid("KeyARN must not be given when KeyType is AWS_OWNED_CMK."))
        }
        (KeyType::CustomerManaged, None) => {
            Err(FIREHOSE.invalid("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK."))
        }
        (KeyType::CustomerManaged, Some(arn)) => match KmsKeyArn::parse(arn) {
            Ok(_) => Ok(Some(KeyRef::Customer(arn.to_owned()))),
            Err(e) => Err(FIREHOSE.invalid(format!("KeyARN {arn:?} {e}."))),
        },
    }
}

/// Reads `Option<Value>` so that a member given as `null` stays `Some(Value::Null)`: a
/// configuration is echoed as it was given.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `CreateDeliveryStreamInput`. The source and destination configurations are echoed back by
/// Describe, so they are kept as the JSON documents they were given as.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDeliveryStreamInput {
    #[serde(default)]
    delivery_stream_name: Option<Member<String>>,
    #[serde(default)]
    delivery_stream_type: Option<Member<String>>,
    #[serde(default)]
    delivery_stream_encryption_configuration_input: EncryptionMember,
    #[serde(default, deserialize_with = "present")]
    kinesis_stream_source_configuration: Option<Value>,
    #[serde(
        rename = "MSKSourceConfiguration",
        default,
        deserialize_with = "present"
    )]
    msk_source_configuration: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    database_source_configuration: Option<Value>,
    /// Every other member, in the order given: the `*DestinationConfiguration` members among
    /// them are the destinations.
    #[serde(flatten)]
    others: Map<String, Value>,
}

impl CreateDeliveryStreamInput {
    /// The name, the stream type (default DirectPut) and the encryption asked for, checked in
    /// that order.
    fn check(&self) -> Result<(&str, StreamType, Option<KeyRef>), ApiError> {
        let name = stream_name(&self.delivery_stream_name)?;
        let stream_type = stream_type(&self.delivery_stream_type)?.unwrap_or(StreamType::DirectPut);
        let encryption = encryption_key(&self.delivery_stream_encryption_configuration_input)?;
        Ok((name, stream_type, encryption))
    }

    /// The source configuration member called `member`, if given.
    fn source_configuration(&self, member: &str) -> Option<&Value> {
        match member {
            "KinesisStreamSourceConfiguration" => self.kinesis_stream_source_configuration.as_ref(),
            "MSKSourceConfiguration" => self.msk_source_configuration.as_ref(),
            "DatabaseSourceConfiguration" => self.database_source_configuration.as_ref(),
            _ => None,
        }
    }
}

/// `DeleteDeliveryStreamInput` (`AllowForceDelete` is not read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteDeliveryStreamInput {
    #[serde(default)]
    delivery_stream_name: Option<Member<String>>,
}

/// `DescribeDeliveryStreamInput` (`Limit` and `ExclusiveStartDestinationId` are not read: a
/// stream has one destination).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDeliveryStreamInput {
    #[serde(default)]
    delivery_stream_name: Option<Member<String>>,
}

/// `ListDeliveryStreamsInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeliveryStreamsInput {
    #[serde(default)]
    limit: Option<Member<u64>>,
    #[serde(default)]
    exclusive_start_delivery_stream_name: Option<Member<String>>,
    #[serde(default)]
    delivery_stream_type: Option<Member<String>>,
}

impl ListDeliveryStreamsInput {
    /// `Limit` (default 10, 1–10,000), the name to start after, the type to list, checked in
    /// that order.
    fn check(&self) -> Result<(usize, Option<&str>, Option<StreamType>), ApiError> {
        let limit = FIREHOSE.opt_u64("Limit", &self.limit)?.unwrap_or(10);
        if !(1..=10_000).contains(&limit) {
            return Err(FIREHOSE.invalid("Limit must be between 1 and 10000."));
        }
        let start = FIREHOSE.opt_str(
            "ExclusiveStartDeliveryStreamName",
            &self.exclusive_start_delivery_stream_name,
        )?;
        Ok((
            limit as usize,
            start,
            stream_type(&self.delivery_stream_type)?,
        ))
    }
}

/// `StartDeliveryStreamEncryptionInput`: without a configuration the key is AWS-owned.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartDeliveryStreamEncryptionInput {
    #[serde(default)]
    delivery_stream_name: Option<Member<String>>,
    #[serde(default)]
    delivery_stream_encryption_configuration_input: EncryptionMember,
}

/// `StopDeliveryStreamEncryptionInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopDeliveryStreamEncryptionInput {
    #[serde(default)]
    delivery_stream_name: Option<Member<String>>,
}

// -------------------------------------------------------------------- answers

/// The answer of Delete, Start and Stop: `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct CreateDeliveryStreamOutput<'a> {
    #[serde(rename = "DeliveryStreamARN")]
    delivery_stream_arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListDeliveryStreamsOutput {
    delivery_stream_names: Vec<String>,
    has_more_delivery_streams: bool,
}

#[derive(Serialize)]
struct DescribeDeliveryStreamOutput<'a> {
    #[serde(rename = "DeliveryStreamDescription")]
    description: Description<'a>,
}

/// `DeliveryStreamDescription` with every member the SDKs require (serialized straight from
/// the world, no intermediate JSON tree: Describe is the hot path).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Description<'a> {
    delivery_stream_name: &'a str,
    #[serde(rename = "DeliveryStreamARN")]
    delivery_stream_arn: &'a str,
    delivery_stream_status: &'static str,
    delivery_stream_type: &'static str,
    delivery_stream_encryption_configuration: Encryption<'a>,
    version_id: &'static str,
    create_timestamp: f64,
    last_update_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a Value>,
    destinations: Destinations<'a>,
    has_more_destinations: bool,
}

/// A created stream's destinations as Create gave them, or a seeded stream's default one.
#[derive(Serialize)]
#[serde(untagged)]
enum Destinations<'a> {
    Created(&'a Value),
    Default([DefaultDestination<'a>; 1]),
}

#[derive(Serialize)]
struct Encryption<'a> {
    #[serde(rename = "KeyARN", skip_serializing_if = "Option::is_none")]
    key_arn: Option<&'a str>,
    #[serde(rename = "KeyType", skip_serializing_if = "Option::is_none")]
    key_type: Option<&'static str>,
    #[serde(rename = "Status")]
    status: &'static str,
    #[serde(rename = "FailureDescription", skip_serializing_if = "Option::is_none")]
    failure: Option<FailureDescription<'a>>,
}

#[derive(Serialize)]
struct FailureDescription<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Details")]
    details: &'a str,
}

fn describe<'a>(arn: &'a str, name: &'a str, s: &'a Stream, account: &'a str) -> Description<'a> {
    // The key is shown while encryption is (being) on; a DISABLED stream shows none.
    let shown = s
        .shown
        .as_ref()
        .filter(|_| s.enc_status != EncStatus::Disabled);
    let failure = s
        .failure
        .as_ref()
        .filter(|_| s.enc_status == EncStatus::EnablingFailed)
        .map(|f| FailureDescription {
            kind: &f.kind,
            details: &f.details,
        });
    Description {
        delivery_stream_name: name,
        delivery_stream_arn: arn,
        delivery_stream_status: s.status.as_str(),
        delivery_stream_type: s.stream_type.as_str(),
        delivery_stream_encryption_configuration: Encryption {
            key_arn: shown.and_then(KeyRef::arn),
            key_type: shown.map(|k| k.key_type().as_str()),
            status: s.enc_status.as_str(),
            failure,
        },
        version_id: "1",
        create_timestamp: secs(s.created_at),
        last_update_timestamp: secs(s.updated_at),
        source: s.source.as_ref(),
        destinations: match &s.destinations {
            Some(created) => Destinations::Created(created),
            None => Destinations::Default(documents::default_destinations(account)),
        },
        has_more_destinations: false,
    }
}
