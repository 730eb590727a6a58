//! The Firehose operations on the wire (`Firehose_20150804.*`): one typed input per operation
//! as the Firehose model names it (checked against the model first), the checks the model
//! cannot express (`InvalidArgumentException`), and the typed answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::documents::{self, DefaultDestination};
use super::model::Service;
use super::request::read;
use super::{Op, secs, to_bytes};
use crate::vocabulary::{
    ApiError, EncStatus, FailurePlace, KeyType, KmsKeyArn, Millis, StreamType, codes,
};
use crate::world::iam::Actor;
use crate::world::{KeyRef, NewStream, Stream, World};

const FIREHOSE: Service = Service::Firehose;

/// Firehose's answer to what the model cannot say.
fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::INVALID_ARGUMENT, message)
}

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
    Tag(TagDeliveryStreamInput),
    Untag(UntagDeliveryStreamInput),
    ListTags(ListTagsForDeliveryStreamInput),
}

impl Request {
    /// Reads `body` as the input of `op`, a Firehose operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        let name = op.name();
        Ok(match op {
            Op::CreateDeliveryStream => Request::Create(Box::new(read(FIREHOSE, name, body)?)),
            Op::DeleteDeliveryStream => Request::Delete(read(FIREHOSE, name, body)?),
            Op::DescribeDeliveryStream => Request::Describe(read(FIREHOSE, name, body)?),
            Op::ListDeliveryStreams => Request::List(read(FIREHOSE, name, body)?),
            Op::StartDeliveryStreamEncryption => Request::Start(read(FIREHOSE, name, body)?),
            Op::StopDeliveryStreamEncryption => Request::Stop(read(FIREHOSE, name, body)?),
            Op::TagDeliveryStream => Request::Tag(read(FIREHOSE, name, body)?),
            Op::UntagDeliveryStream => Request::Untag(read(FIREHOSE, name, body)?),
            Op::ListTagsForDeliveryStream => Request::ListTags(read(FIREHOSE, name, body)?),
            other => unreachable!("{} is not a Firehose operation", other.name()),
        })
    }

    /// `DeliveryStreamName` of the request, when it names one.
    pub fn stream_name(&self) -> Option<&str> {
        match self {
            Request::Create(input) => Some(&input.delivery_stream_name),
            Request::Delete(input) => Some(&input.delivery_stream_name),
            Request::Describe(input) => Some(&input.delivery_stream_name),
            Request::List(_) => None,
            Request::Start(input) => Some(&input.delivery_stream_name),
            Request::Stop(input) => Some(&input.delivery_stream_name),
            Request::Tag(input) => Some(&input.delivery_stream_name),
            Request::Untag(input) => Some(&input.delivery_stream_name),
            Request::ListTags(input) => Some(&input.delivery_stream_name),
        }
    }

    /// Carries the request of `actor` out against the world, in its account; the answer's
    /// body. `token` is the request's `x-amz-security-token` (ground truth of the Starts).
    pub fn execute(
        &self,
        world: &mut World,
        actor: &Actor,
        region: &str,
        token: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        let account = actor.account();
        match self {
            Request::Create(input) => {
                let (stream_type, encryption) = input.check()?;
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
                let name = &input.delivery_stream_name;
                let arn = world.create_stream(account, region, name, new, now)?;
                if !input.tags.is_empty() {
                    world.tag_stream(account, region, name, &tag_pairs(&input.tags), now)?;
                }
                Ok(to_bytes(&CreateDeliveryStreamOutput {
                    delivery_stream_arn: &arn,
                }))
            }
            Request::Delete(input) => {
                world.delete_stream(account, region, &input.delivery_stream_name, now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Describe(input) => {
                let name = &input.delivery_stream_name;
                world.describe_stream(account, region, name, now)?;
                let arn = world.stream_arn(account, region, name);
                let stream = world.stream(account, region, name).expect("described");
                let description = describe(&arn, name, region, stream, account);
                Ok(to_bytes(&DescribeDeliveryStreamOutput { description }))
            }
            Request::List(input) => {
                let limit = input.limit.unwrap_or(10) as usize;
                let (names, more) = world.list_streams(
                    account,
                    region,
                    limit,
                    input.exclusive_start_delivery_stream_name.as_deref(),
                    input.stream_type()?,
                    now,
                );
                Ok(to_bytes(&ListDeliveryStreamsOutput {
                    delivery_stream_names: names,
                    has_more_delivery_streams: more,
                }))
            }
            Request::Start(input) => {
                let key = encryption_key(&input.delivery_stream_encryption_configuration_input)?
                    .unwrap_or(KeyRef::AwsOwned);
                let name = &input.delivery_stream_name;
                world.start_encryption_by(Some(actor), account, region, name, key, token, now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Stop(input) => {
                world.stop_encryption(account, region, &input.delivery_stream_name, now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Tag(input) => {
                let name = &input.delivery_stream_name;
                world.tag_stream(account, region, name, &tag_pairs(&input.tags), now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::Untag(input) => {
                let name = &input.delivery_stream_name;
                world.untag_stream(account, region, name, &input.tag_keys, now)?;
                Ok(to_bytes(&Empty {}))
            }
            Request::ListTags(input) => {
                let limit = input.limit.unwrap_or(50) as usize;
                let after = input.exclusive_start_tag_key.as_deref();
                let name = &input.delivery_stream_name;
                let (tags, more) =
                    world.list_stream_tags(account, region, name, after, limit, now)?;
                Ok(to_bytes(&ListTagsForDeliveryStreamOutput {
                    tags: tags
                        .into_iter()
                        .map(|(key, value)| TagOutput { key, value })
                        .collect(),
                    has_more_tags: more,
                }))
            }
        }
    }
}

// -------------------------------------------------------------------- inputs

/// A `DeliveryStreamType` the model has checked.
fn stream_type(text: &str) -> Result<StreamType, ApiError> {
    StreamType::parse(text)
        .ok_or_else(|| invalid(format!("DeliveryStreamType {text:?} is not valid.")))
}

/// `DeliveryStreamEncryptionConfigurationInput` (of Start and Create): `KeyType` is required
/// by the model.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EncryptionConfigurationInput {
    #[serde(rename = "KeyType", default)]
    key_type: String,
    #[serde(rename = "KeyARN", default)]
    key_arn: Option<String>,
}

/// The key an encryption configuration asks for; `None` when it is absent. The model has
/// checked `KeyType`'s enum and `KeyARN`'s pattern (a key ARN, not an alias); what is left is
/// what the model cannot say: a `KeyARN` exactly when the key is the customer's, and one the
/// sandbox reads field by field.
fn encryption_key(
    input: &Option<EncryptionConfigurationInput>,
) -> Result<Option<KeyRef>, ApiError> {
    let Some(input) = input else {
        return Ok(None);
    };
    let key_type = KeyType::parse(&input.key_type)
        .ok_or_else(|| invalid(format!("KeyType {:?} is not valid.", input.key_type)))?;
    match (key_type, input.key_arn.as_deref()) {
        (KeyType::AwsOwned, None) => Ok(Some(KeyRef::AwsOwned)),
        (KeyType::AwsOwned, Some(_)) => Err(invalid(
            "KeyARN must not be given when KeyType is AWS_OWNED_CMK.",
        )),
        (KeyType::CustomerManaged, None) => Err(invalid(
            "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.",
        )),
        (KeyType::CustomerManaged, Some(arn)) => match KmsKeyArn::parse(arn) {
            Ok(_) => Ok(Some(KeyRef::Customer(arn.to_owned()))),
            Err(e) => Err(invalid(format!("KeyARN {arn:?} {e}."))),
        },
    }
}

/// `CreateDeliveryStreamInput`. The source and destination configurations are echoed back by
/// Describe, so they are kept as the JSON documents they were given as.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDeliveryStreamInput {
    delivery_stream_name: String,
    #[serde(default)]
    delivery_stream_type: Option<String>,
    #[serde(default)]
    delivery_stream_encryption_configuration_input: Option<EncryptionConfigurationInput>,
    #[serde(default)]
    direct_put_source_configuration: Option<Value>,
    #[serde(default)]
    kinesis_stream_source_configuration: Option<Value>,
    #[serde(rename = "MSKSourceConfiguration", default)]
    msk_source_configuration: Option<Value>,
    #[serde(default)]
    database_source_configuration: Option<Value>,
    /// `Tags` (1 to 50).
    #[serde(default)]
    tags: Vec<TagInput>,
    /// Every other member, in the order given: the `*DestinationConfiguration` members among
    /// them are the destinations.
    #[serde(flatten)]
    others: Map<String, Value>,
}

impl CreateDeliveryStreamInput {
    /// The stream type (default DirectPut) and the encryption asked for, checked in that
    /// order.
    fn check(&self) -> Result<(StreamType, Option<KeyRef>), ApiError> {
        let stream_type = match &self.delivery_stream_type {
            None => StreamType::DirectPut,
            Some(t) => stream_type(t)?,
        };
        let encryption = encryption_key(&self.delivery_stream_encryption_configuration_input)?;
        Ok((stream_type, encryption))
    }

    /// The source configuration member called `member`, if given.
    fn source_configuration(&self, member: &str) -> Option<&Value> {
        match member {
            "DirectPutSourceConfiguration" => self.direct_put_source_configuration.as_ref(),
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
    delivery_stream_name: String,
}

/// `DescribeDeliveryStreamInput` (`Limit` and `ExclusiveStartDestinationId` are not read: a
/// stream has at most a few destinations, all shown).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDeliveryStreamInput {
    delivery_stream_name: String,
}

/// `ListDeliveryStreamsInput`: `Limit` defaults to 10.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeliveryStreamsInput {
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    exclusive_start_delivery_stream_name: Option<String>,
    #[serde(default)]
    delivery_stream_type: Option<String>,
}

impl ListDeliveryStreamsInput {
    fn stream_type(&self) -> Result<Option<StreamType>, ApiError> {
        self.delivery_stream_type
            .as_deref()
            .map(stream_type)
            .transpose()
    }
}

/// `StartDeliveryStreamEncryptionInput`: without a configuration the key is AWS-owned.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartDeliveryStreamEncryptionInput {
    delivery_stream_name: String,
    #[serde(default)]
    delivery_stream_encryption_configuration_input: Option<EncryptionConfigurationInput>,
}

/// `StopDeliveryStreamEncryptionInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopDeliveryStreamEncryptionInput {
    delivery_stream_name: String,
}

/// `Tag`: `Value` may be absent (an empty value).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

fn tag_pairs(tags: &[TagInput]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
        .collect()
}

/// `TagDeliveryStreamInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagDeliveryStreamInput {
    delivery_stream_name: String,
    tags: Vec<TagInput>,
}

/// `UntagDeliveryStreamInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagDeliveryStreamInput {
    delivery_stream_name: String,
    tag_keys: Vec<String>,
}

/// `ListTagsForDeliveryStreamInput`: `Limit` defaults to 50.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForDeliveryStreamInput {
    delivery_stream_name: String,
    #[serde(default)]
    exclusive_start_tag_key: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
}

// -------------------------------------------------------------------- answers

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TagOutput {
    key: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsForDeliveryStreamOutput {
    tags: Vec<TagOutput>,
    has_more_tags: bool,
}

/// The answer of Delete, Start, Stop, Tag and Untag: `{}`.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_description: Option<FailureDescription<'a>>,
    version_id: &'static str,
    create_timestamp: f64,
    last_update_timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source<'a>>,
    destinations: Destinations<'a>,
    has_more_destinations: bool,
}

/// A created stream's source as Create gave it, or a seeded one's.
#[derive(Serialize)]
#[serde(untagged)]
enum Source<'a> {
    Created(&'a Value),
    Seeded(Value),
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

fn describe<'a>(
    arn: &'a str,
    name: &'a str,
    region: &str,
    s: &'a Stream,
    account: &'a str,
) -> Description<'a> {
    // The key is shown while encryption is (being) on or failed; a DISABLED stream shows none.
    let shown = s
        .shown
        .as_ref()
        .filter(|_| s.enc_status != EncStatus::Disabled);
    let failure = s
        .failure
        .as_ref()
        .filter(|_| {
            matches!(
                s.enc_status,
                EncStatus::EnablingFailed | EncStatus::DisablingFailed
            )
        })
        .map(|f| {
            (
                f.place,
                FailureDescription {
                    kind: &f.kind,
                    details: &f.details,
                },
            )
        });
    let (in_encryption, in_stream) = match failure {
        Some((FailurePlace::Encryption, f)) => (Some(f), None),
        Some((FailurePlace::Stream, f)) => (None, Some(f)),
        _ => (None, None),
    };
    let source = match &s.source {
        Some(created) => Some(Source::Created(created)),
        None => documents::seeded_source(
            s.stream_type,
            region,
            account,
            name,
            s.source_arn.as_deref(),
            s.created_at,
        )
        .map(Source::Seeded),
    };
    Description {
        delivery_stream_name: name,
        delivery_stream_arn: arn,
        delivery_stream_status: s.status.as_str(),
        delivery_stream_type: s.stream_type.as_str(),
        delivery_stream_encryption_configuration: Encryption {
            key_arn: shown.and_then(KeyRef::arn),
            key_type: shown.map(|k| k.key_type().as_str()),
            status: s.enc_status.as_str(),
            failure: in_encryption,
        },
        failure_description: in_stream,
        version_id: "1",
        create_timestamp: secs(s.created_at),
        last_update_timestamp: secs(s.updated_at),
        source,
        destinations: match &s.destinations {
            Some(created) => Destinations::Created(created),
            None => Destinations::Default(documents::default_destinations(account)),
        },
        has_more_destinations: false,
    }
}
