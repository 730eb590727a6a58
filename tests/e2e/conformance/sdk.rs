//! Seeding a backend through the SDK, as any AWS user would (streams, keys, encryption behind
//! our tool's back), and reading it back with a direct Describe reduced to what is in force.

use std::time::{Duration, Instant};

use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamDescription,
    DeliveryStreamEncryptionConfigurationInput as EncryptionInput,
    DeliveryStreamEncryptionStatus as Enc, DeliveryStreamStatus, DeliveryStreamType,
    EncryptionConfiguration, ExtendedS3DestinationConfiguration, KeyType,
    KinesisStreamSourceConfiguration, NoEncryptionConfig,
};

use super::REGION;
use super::backend::Backend;
use crate::common::ACCOUNT;

const ROLE: &str = "arn:aws:iam::123456789012:role/firehose-delivery";

/// An S3 destination with every member moto needs to echo a description the Rust SDK parses
/// (it requires `BufferingHints`, `CompressionFormat` and `EncryptionConfiguration` in the
/// description, and moto only echoes what it was given).
fn s3_destination(name: &str) -> ExtendedS3DestinationConfiguration {
    ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn(format!("arn:aws:s3:::conformance-{name}"))
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(5)
                .interval_in_seconds(300)
                .build(),
        )
        .compression_format(CompressionFormat::Uncompressed)
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .no_encryption_config(NoEncryptionConfig::NoEncryption)
                .build(),
        )
        .build()
        .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    DirectPut,
    Kinesis,
}

pub async fn create_stream(fh: &aws_sdk_firehose::Client, name: &str, source: Source) {
    let mut create = fh
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(s3_destination(name));
    create = match source {
        Source::DirectPut => create.delivery_stream_type(DeliveryStreamType::DirectPut),
        Source::Kinesis => create
            .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
            .kinesis_stream_source_configuration(
                KinesisStreamSourceConfiguration::builder()
                    .kinesis_stream_arn(format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"))
                    .role_arn(ROLE)
                    .build()
                    .unwrap(),
            ),
    };
    create
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateDeliveryStream {name}: {}", sdk_error(&e)));
}

/// A symmetric encryption key; its ARN.
pub async fn create_key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .description("firehose-sse conformance")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey: {}", sdk_error(&e)))
        .key_metadata
        .expect("CreateKey returns KeyMetadata")
        .arn
        .expect("KeyMetadata has an Arn")
}

fn encryption_input(key: Option<&str>) -> EncryptionInput {
    match key {
        None => EncryptionInput::builder().key_type(KeyType::AwsOwnedCmk),
        Some(arn) => EncryptionInput::builder()
            .key_type(KeyType::CustomerManagedCmk)
            .key_arn(arn),
    }
    .build()
    .unwrap()
}

/// Encrypts a stream with `key` (None: the AWS-owned key) behind our tool's back and waits
/// until it is ENABLED.
pub async fn encrypt(fh: &aws_sdk_firehose::Client, name: &str, key: Option<&str>) {
    fh.start_delivery_stream_encryption()
        .delivery_stream_name(name)
        .delivery_stream_encryption_configuration_input(encryption_input(key))
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartDeliveryStreamEncryption {name}: {}", sdk_error(&e)));
    settle(fh, name, |d| enc(d) == Some(Enc::Enabled)).await;
}

pub fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug>(e: &E) -> String {
    format!(
        "{} {} ({e:?})",
        e.code().unwrap_or("(no code)"),
        e.message().unwrap_or("")
    )
}

async fn describe(fh: &aws_sdk_firehose::Client, name: &str) -> Option<DeliveryStreamDescription> {
    match fh
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(out) => Some(
            out.delivery_stream_description
                .expect("Describe returns a DeliveryStreamDescription"),
        ),
        Err(e) if e.code() == Some("ResourceNotFoundException") => None,
        Err(e) => panic!("DescribeDeliveryStream {name}: {}", sdk_error(&e)),
    }
}

pub fn enc(d: &DeliveryStreamDescription) -> Option<Enc> {
    d.delivery_stream_encryption_configuration()
        .and_then(|c| c.status())
        .cloned()
}

/// Polls Describe until `done` holds (at once on moto, after a transition on the sandbox).
pub async fn settle(
    fh: &aws_sdk_firehose::Client,
    name: &str,
    done: impl Fn(&DeliveryStreamDescription) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = describe(fh, name)
            .await
            .unwrap_or_else(|| panic!("{name} vanished"));
        if done(&d) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} did not settle: {d:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stream as a direct Describe shows it, reduced to what encryption is in force: a stream
/// whose description has no encryption configuration or no status is DISABLED, and a DISABLED
/// stream has no key, whatever configuration it still echoes (moto keeps the last one after a
/// Stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub source: String,
    pub status: String,
    pub key_type: Option<String>,
    pub key_arn: Option<String>,
}

impl Seen {
    pub fn new(source: &str, status: &str, key: Option<Option<&str>>) -> Seen {
        let (key_type, key_arn) = match key {
            None => (None, None),
            Some(None) => (Some("AWS_OWNED_CMK".to_owned()), None),
            Some(Some(arn)) => (
                Some("CUSTOMER_MANAGED_CMK".to_owned()),
                Some(arn.to_owned()),
            ),
        };
        Seen {
            source: source.to_owned(),
            status: status.to_owned(),
            key_type,
            key_arn,
        }
    }
}

/// What Describe says, verbatim, of a stream's encryption: (status, key type, key ARN); a
/// missing status reads DISABLED.
pub type Echo = (String, Option<String>, Option<String>);

/// A direct Describe of a stream, or None when it does not exist: what is in force, and the
/// encryption configuration verbatim.
async fn seen(fh: &aws_sdk_firehose::Client, name: &str) -> Option<(Seen, Echo)> {
    let d = describe(fh, name).await?;
    assert_eq!(
        d.delivery_stream_status(),
        &DeliveryStreamStatus::Active,
        "{name}: {d:?}"
    );
    let c = d.delivery_stream_encryption_configuration();
    let status = c
        .and_then(|c| c.status())
        .map_or("DISABLED", |s| s.as_str())
        .to_owned();
    let echo: Echo = (
        status.clone(),
        c.and_then(|c| c.key_type()).map(|t| t.as_str().to_owned()),
        c.and_then(|c| c.key_arn()).map(str::to_owned),
    );
    let (key_type, key_arn) = if status == "DISABLED" {
        (None, None)
    } else {
        (echo.1.clone(), echo.2.clone())
    };
    let now = Seen {
        source: d.delivery_stream_type().as_str().to_owned(),
        status,
        key_type,
        key_arn,
    };
    Some((now, echo))
}

/// Every named stream as a direct Describe shows it now.
pub fn describe_all<'a>(
    b: &Backend,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, Option<Seen>)> {
    b.block_on(async {
        let fh = b.firehose();
        let mut all = Vec::new();
        for name in names {
            all.push((name.to_owned(), seen(&fh, name).await.map(|(s, _)| s)));
        }
        all
    })
}

/// Describe's encryption configuration of `name`, verbatim.
pub fn echo(b: &Backend, name: &str) -> Option<Echo> {
    b.block_on(async { seen(&b.firehose(), name).await.map(|(_, e)| e) })
}
