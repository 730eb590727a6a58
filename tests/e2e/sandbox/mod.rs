//! The standalone sandbox (`firehose-sse sandbox`), driven as any AWS client would: the real
//! Rust SDK Firehose and KMS clients, plus plain HTTP for the admin endpoint and malformed
//! requests. Each test starts its own sandbox on a free port with small latencies and windows.
//!
//! One module per concept, the helpers they share here: `process` (the command: its endpoint
//! line, ground truth, refusals, SIGTERM), `protocol` (the SDK parses every answer; the region
//! comes from the signature), `errors` (the errors AWS answers with, never a 500),
//! `transitions` (ENABLING to ENABLED or ENABLING_FAILED, Stop), `limits` (the stream budget,
//! the key limit, throttling), `faults` (injected failures against ground truth), `kms`,
//! `capacity` (a measurement, ignored) and `library` (an in-process sandbox on a manual clock).

mod capacity;
mod errors;
mod faults;
mod kms;
mod library;
mod limits;
mod process;
mod protocol;
mod transitions;

use std::io::Write;
use std::time::{Duration, Instant};

use aws_sdk_firehose::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_firehose::types::{
    DeliveryStreamDescription, DeliveryStreamEncryptionConfigurationInput as EncryptionInput,
    DeliveryStreamEncryptionStatus as Enc, KeyType,
};

use crate::common::{Raw, Sandbox, firehose_client, kms_client};

const REGION: &str = "us-east-1";

impl Sandbox {
    fn firehose(&self, region: &str) -> aws_sdk_firehose::Client {
        firehose_client(&self.url, region)
    }

    fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        kms_client(&self.url, region)
    }

    /// An unsigned JSON 1.1 call.
    fn call(&self, target: &str, body: &str) -> Raw {
        self.raw(
            "POST",
            "/",
            &[
                ("X-Amz-Target", target),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            body,
        )
    }
}

fn customer(arn: &str) -> EncryptionInput {
    EncryptionInput::builder()
        .key_type(KeyType::CustomerManagedCmk)
        .key_arn(arn)
        .build()
        .unwrap()
}

fn aws_owned() -> EncryptionInput {
    EncryptionInput::builder()
        .key_type(KeyType::AwsOwnedCmk)
        .build()
        .unwrap()
}

/// The error code of a failed call.
fn code<E: ProvideErrorMetadata, R>(result: Result<impl Sized, SdkError<E, R>>) -> String {
    match result {
        Ok(_) => panic!("expected an error, the call succeeded"),
        Err(e) => e.code().unwrap_or("(no code)").to_owned(),
    }
}

async fn start(
    fh: &aws_sdk_firehose::Client,
    name: &str,
    key: Option<EncryptionInput>,
) -> Result<(), String> {
    fh.start_delivery_stream_encryption()
        .delivery_stream_name(name)
        .set_delivery_stream_encryption_configuration_input(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("(no code)").to_owned())
}

async fn stop(fh: &aws_sdk_firehose::Client, name: &str) -> Result<(), String> {
    fh.stop_delivery_stream_encryption()
        .delivery_stream_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("(no code)").to_owned())
}

async fn describe(fh: &aws_sdk_firehose::Client, name: &str) -> DeliveryStreamDescription {
    fh.describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe {name}: {e:?}"))
        .delivery_stream_description
        .expect("a description")
}

fn enc_status(d: &DeliveryStreamDescription) -> Enc {
    d.delivery_stream_encryption_configuration()
        .and_then(|c| c.status())
        .cloned()
        .expect("an encryption status")
}

/// Polls Describe until the encryption status is no longer transitional.
async fn settled(fh: &aws_sdk_firehose::Client, name: &str) -> DeliveryStreamDescription {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = describe(fh, name).await;
        if !matches!(enc_status(&d), Enc::Enabling | Enc::Disabling) {
            return d;
        }
        assert!(Instant::now() < deadline, "{name} still transitioning");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn write_fleet(json: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(json.as_bytes()).unwrap();
    file
}
