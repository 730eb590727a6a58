//! The configurations Describe echoes: a created stream's destinations and source, described
//! from the configurations CreateDeliveryStream was given (`*Configuration` members become
//! `*Description` members, the members the SDKs require are filled in, secrets are dropped),
//! and the S3 destination of streams that were seeded rather than created.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::vocabulary::{Millis, StreamType};

/// Members never echoed back (secrets).
const SECRET_MEMBERS: [&str; 4] = ["Password", "AccessKey", "PrivateKey", "KeyPassphrase"];

/// Fills the members an S3 destination description must have.
fn s3_defaults(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.entry("RoleARN").or_insert_with(|| json!(""));
        m.entry("BucketARN").or_insert_with(|| json!(""));
        m.entry("CompressionFormat")
            .or_insert_with(|| json!(COMPRESSION_FORMAT));
        m.entry("BufferingHints")
            .or_insert_with(|| json!(BUFFERING_HINTS));
        m.entry("EncryptionConfiguration")
            .or_insert_with(|| json!(NO_ENCRYPTION));
    }
    v
}

/// A `*Configuration` shape as its `*Description`: nested S3 and VPC configurations renamed
/// and completed, secrets dropped, everything else echoed.
fn describe_config(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        if SECRET_MEMBERS.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "S3Configuration" => {
                out.insert(
                    "S3DestinationDescription".into(),
                    s3_defaults(describe_config(v)),
                );
            }
            "S3BackupConfiguration" => {
                out.insert(
                    "S3BackupDescription".into(),
                    s3_defaults(describe_config(v)),
                );
            }
            "VpcConfiguration" => {
                let mut vpc = describe_config(v);
                if let Value::Object(vm) = &mut vpc {
                    vm.entry("VpcId").or_insert_with(|| json!("vpc-00000000"));
                    vm.entry("SubnetIds").or_insert_with(|| json!([]));
                    vm.entry("SecurityGroupIds").or_insert_with(|| json!([]));
                    vm.entry("RoleARN").or_insert_with(|| json!(""));
                }
                out.insert("VpcConfigurationDescription".into(), vpc);
            }
            _ => {
                out.insert(k.clone(), describe_config(v));
            }
        }
    }
    Value::Object(out)
}

/// `Destinations` of Describe from the `*DestinationConfiguration` members of Create, in the
/// order given; `None` when there is none (the stream then shows the default S3 destination).
pub fn destinations(members: &Map<String, Value>) -> Option<Value> {
    let mut list = Vec::new();
    for (k, v) in members {
        let Some(kind) = k.strip_suffix("DestinationConfiguration") else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let mut desc = describe_config(v);
        if kind == "S3" || kind == "ExtendedS3" {
            desc = s3_defaults(desc);
        }
        list.push(json!({
            "DestinationId": format!("destinationId-{:012}", list.len() + 1),
            format!("{kind}DestinationDescription"): desc,
        }));
    }
    (!list.is_empty()).then_some(Value::Array(list))
}

/// The Create member that configures a source of `stream_type`, and the Describe member that
/// describes it.
pub fn source_members(stream_type: StreamType) -> Option<(&'static str, &'static str)> {
    match stream_type {
        StreamType::DirectPut => {
            Some(("DirectPutSourceConfiguration", "DirectPutSourceDescription"))
        }
        StreamType::KinesisStreamAsSource => Some((
            "KinesisStreamSourceConfiguration",
            "KinesisStreamSourceDescription",
        )),
        StreamType::MskAsSource => Some(("MSKSourceConfiguration", "MSKSourceDescription")),
        StreamType::DatabaseAsSource => {
            Some(("DatabaseSourceConfiguration", "DatabaseSourceDescription"))
        }
    }
}

/// `Source` of Describe for a stream created with `config` (if given) at `now`; a DirectPut
/// stream has one only when Create configured it.
pub fn source_description(
    stream_type: StreamType,
    config: Option<&Value>,
    now: Millis,
) -> Option<Value> {
    let (_, description) = source_members(stream_type)?;
    if stream_type == StreamType::DirectPut && config.is_none() {
        return None;
    }
    let mut desc = config.map(describe_config).unwrap_or_else(|| json!({}));
    if let Value::Object(m) = &mut desc
        && !matches!(
            stream_type,
            StreamType::DatabaseAsSource | StreamType::DirectPut
        )
    {
        m.entry("DeliveryStartTimestamp")
            .or_insert_with(|| json!(super::secs(now)));
    }
    Some(json!({ description: desc }))
}

/// `Source` of Describe for a seeded stream of `stream_type` named `name`: its Kinesis stream
/// (`source_arn`, default `arn:aws:kinesis:<region>:<account>:stream/<name>`) or MSK cluster
/// (`source_arn`, default a cluster named after the stream) read since the stream's creation
/// by the role `firehose-sandbox`; a database source with the members the model requires
/// (none) and its engine and endpoint; `None` for DirectPut (the model's
/// `DirectPutSourceDescription` only says what a Create asked for).
pub fn seeded_source(
    stream_type: StreamType,
    region: &str,
    account: &str,
    name: &str,
    source_arn: Option<&str>,
    created_at: Millis,
) -> Option<Value> {
    let partition = crate::vocabulary::partition(region);
    let role = format!("arn:{partition}:iam::{account}:role/firehose-sandbox");
    let started = super::secs(created_at);
    Some(match stream_type {
        StreamType::DirectPut => return None,
        StreamType::KinesisStreamAsSource => json!({"KinesisStreamSourceDescription": {
            "KinesisStreamARN": source_arn.map_or_else(
                || format!("arn:{partition}:kinesis:{region}:{account}:stream/{name}"),
                str::to_owned,
            ),
            "RoleARN": role,
            "DeliveryStartTimestamp": started,
        }}),
        StreamType::MskAsSource => json!({"MSKSourceDescription": {
            "MSKClusterARN": source_arn.map_or_else(
                || format!(
                    "arn:{partition}:kafka:{region}:{account}:cluster/{name}/00000000-0000-0000-0000-000000000000-1"
                ),
                str::to_owned,
            ),
            "TopicName": name,
            "AuthenticationConfiguration": {"RoleARN": role, "Connectivity": "PRIVATE"},
            "DeliveryStartTimestamp": started,
        }}),
        StreamType::DatabaseAsSource => json!({"DatabaseSourceDescription": {
            "Type": "MySQL",
            "Endpoint": format!("{name}.sandbox.{region}.rds.amazonaws.com"),
            "Port": 3306,
        }}),
    })
}

const COMPRESSION_FORMAT: &str = "UNCOMPRESSED";
const BUFFERING_HINTS: BufferingHints = BufferingHints {
    size_in_mbs: 5,
    interval_in_seconds: 300,
};
const NO_ENCRYPTION: NoEncryption = NoEncryption {
    no_encryption_config: "NoEncryption",
};

#[derive(Debug, Clone, Copy, Serialize)]
struct BufferingHints {
    #[serde(rename = "SizeInMBs")]
    size_in_mbs: u32,
    #[serde(rename = "IntervalInSeconds")]
    interval_in_seconds: u32,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct NoEncryption {
    #[serde(rename = "NoEncryptionConfig")]
    no_encryption_config: &'static str,
}

/// The destination of seeded streams: one S3 bucket (serialized straight from this shape:
/// Describe is the hot path).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DefaultDestination<'a> {
    destination_id: &'static str,
    extended_s3_destination_description: DefaultS3<'a>,
}

#[derive(Debug, Clone, Serialize)]
struct DefaultS3<'a> {
    #[serde(rename = "RoleARN", serialize_with = "role_arn")]
    account: &'a str,
    #[serde(rename = "BucketARN")]
    bucket_arn: &'static str,
    #[serde(rename = "S3BackupMode")]
    s3_backup_mode: &'static str,
    #[serde(rename = "CompressionFormat")]
    compression_format: &'static str,
    #[serde(rename = "BufferingHints")]
    buffering_hints: BufferingHints,
    #[serde(rename = "EncryptionConfiguration")]
    encryption_configuration: NoEncryption,
}

/// `Destinations` of a seeded stream of `account`.
pub fn default_destinations(account: &str) -> [DefaultDestination<'_>; 1] {
    [DefaultDestination {
        destination_id: "destinationId-000000000001",
        extended_s3_destination_description: DefaultS3 {
            account,
            bucket_arn: "arn:aws:s3:::firehose-sandbox",
            s3_backup_mode: "Disabled",
            compression_format: COMPRESSION_FORMAT,
            buffering_hints: BUFFERING_HINTS,
            encryption_configuration: NO_ENCRYPTION,
        },
    }]
}

/// The role the default destination names: `arn:aws:iam::<account>:role/firehose-sandbox`.
fn role_arn<S: serde::Serializer>(account: &&str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!(
        "arn:aws:iam::{account}:role/firehose-sandbox"
    ))
}
