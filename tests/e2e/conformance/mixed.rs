//! The mixed fleet of scenarios 1 to 3: one stream for every action and every reason moto can
//! produce, seeded the same way on both backends.

use aws_sdk_firehose::types::{DeliveryStreamEncryptionStatus as Enc, DeliveryStreamStatus};

use super::REGION;
use super::backend::Backend;
use super::sdk::{
    Seen, Source, create_key, create_stream, describe_all, enc, encrypt, sdk_error, settle,
};
use crate::common::ACCOUNT;

/// The keys of the mixed fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum K {
    AwsOwned,
    /// The customer key most of the fleet moves to.
    Target,
    /// Another customer key, protecting streams before the run.
    Other,
    /// A key ARN KMS does not know.
    Absent,
    /// A customer key that is disabled.
    Disabled,
}

/// A stream of the mixed fleet before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// DirectPut, never encrypted.
    Plain,
    /// KinesisStreamAsSource, never encrypted.
    Kinesis,
    /// DirectPut, ENABLED with this key.
    On(K),
    /// DirectPut, encrypted with this key then stopped: DISABLED.
    Stopped(K),
    /// No such stream.
    Missing,
}

/// One row of the mixed fleet: the stream as seeded, its target key, and what plan decides.
pub struct Row {
    pub stream: &'static str,
    pub before: Before,
    pub target: K,
    pub action: &'static str,
    pub reason: Option<&'static str>,
}

const fn row(
    stream: &'static str,
    before: Before,
    target: K,
    action: &'static str,
    reason: Option<&'static str>,
) -> Row {
    Row {
        stream,
        before,
        target,
        action,
        reason,
    }
}

/// Fleet order. Every action and the reasons that moto can produce: unencrypted DirectPut
/// streams to the AWS-owned key and to a customer key, a KinesisStreamAsSource stream, a stream
/// already at its AWS-owned target, streams ENABLED with another key (rekeys, between customer
/// keys and both ways between a customer key and the AWS-owned key), streams whose
/// encryption was stopped (moto still echoes their old key: they must be enabled, not taken for
/// done), a key KMS does not know, a disabled key, and a stream that does not exist.
#[rustfmt::skip]
pub const MIXED: [Row; 12] = [
    row("plain",              Before::Plain,                K::AwsOwned, "enable", None),
    row("plain-to-key",       Before::Plain,                K::Target,   "enable", None),
    row("from-kinesis",       Before::Kinesis,              K::AwsOwned, "skip",   Some("not_direct_put")),
    row("on-aws",             Before::On(K::AwsOwned),      K::AwsOwned, "noop",   None),
    row("on-other",           Before::On(K::Other),         K::Target,   "rekey",  None),
    row("on-aws-to-key",      Before::On(K::AwsOwned),      K::Target,   "rekey",  None),
    row("on-other-to-aws",    Before::On(K::Other),         K::AwsOwned, "rekey",  None),
    row("stopped",            Before::Stopped(K::AwsOwned), K::AwsOwned, "enable", None),
    row("stopped-from-other", Before::Stopped(K::Other),    K::Other,    "enable", None),
    row("to-missing-key",     Before::Plain,                K::Absent,   "skip",   Some("key_not_found")),
    row("to-disabled-key",    Before::Plain,                K::Disabled, "skip",   Some("key_disabled")),
    row("gone",               Before::Missing,              K::AwsOwned, "skip",   Some("not_found")),
];

/// The mixed fleet, seeded.
pub struct Mixed {
    pub target: String,
    pub other: String,
    pub absent: String,
    pub disabled: String,
    /// Start requests the backend counted once seeded (the sandbox counts; moto does not).
    pub seed_starts: Option<u64>,
}

impl Mixed {
    /// The ARN of a customer key, None for the AWS-owned key.
    pub fn arn(&self, k: K) -> Option<&str> {
        match k {
            K::AwsOwned => None,
            K::Target => Some(&self.target),
            K::Other => Some(&self.other),
            K::Absent => Some(&self.absent),
            K::Disabled => Some(&self.disabled),
        }
    }

    pub fn csv(&self) -> String {
        let mut text = String::from("stream,region,key_arn\n");
        for r in &MIXED {
            text.push_str(&format!(
                "{},{REGION},{}\n",
                r.stream,
                self.arn(r.target).unwrap_or("")
            ));
        }
        text
    }

    /// A row's stream as seeded.
    pub fn before(&self, r: &Row) -> Option<Seen> {
        match r.before {
            Before::Plain | Before::Stopped(_) => Some(Seen::new("DirectPut", "DISABLED", None)),
            Before::Kinesis => Some(Seen::new("KinesisStreamAsSource", "DISABLED", None)),
            Before::On(k) => Some(Seen::new("DirectPut", "ENABLED", Some(self.arn(k)))),
            Before::Missing => None,
        }
    }

    /// A row's stream once the fleet is applied: at its target unless skipped.
    pub fn after(&self, r: &Row) -> Option<Seen> {
        match r.action {
            "enable" | "rekey" | "noop" => {
                Some(Seen::new("DirectPut", "ENABLED", Some(self.arn(r.target))))
            }
            _ => self.before(r),
        }
    }

    pub fn all(&self, state: impl Fn(&Row) -> Option<Seen>) -> Vec<(String, Option<Seen>)> {
        MIXED
            .iter()
            .map(|r| (r.stream.to_owned(), state(r)))
            .collect()
    }
}

pub fn stream_names() -> impl Iterator<Item = &'static str> {
    MIXED.iter().map(|r| r.stream)
}

pub fn seed_mixed(b: &Backend) -> Mixed {
    let mut mixed = b.block_on(async {
        let fh = b.firehose();
        let kms = b.kms();
        let target = create_key(&kms).await;
        let other = create_key(&kms).await;
        let disabled = create_key(&kms).await;
        // By key id: moto 5.2 answers DisableKey by ARN with HTTP 500 (AWS takes either).
        kms.disable_key()
            .key_id(disabled.rsplit('/').next().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("DisableKey: {}", sdk_error(&e)));
        let mixed = Mixed {
            target,
            other,
            absent: format!(
                "arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
            ),
            disabled,
            seed_starts: None,
        };
        let existing = || MIXED.iter().filter(|r| r.before != Before::Missing);
        for r in existing() {
            let source = match r.before {
                Before::Kinesis => Source::Kinesis,
                _ => Source::DirectPut,
            };
            create_stream(&fh, r.stream, source).await;
        }
        for r in existing() {
            settle(&fh, r.stream, |d| {
                d.delivery_stream_status() == &DeliveryStreamStatus::Active
            })
            .await;
        }
        for r in existing() {
            match r.before {
                Before::On(k) => encrypt(&fh, r.stream, mixed.arn(k)).await,
                Before::Stopped(k) => {
                    encrypt(&fh, r.stream, mixed.arn(k)).await;
                    fh.stop_delivery_stream_encryption()
                        .delivery_stream_name(r.stream)
                        .send()
                        .await
                        .unwrap_or_else(|e| {
                            panic!(
                                "StopDeliveryStreamEncryption {}: {}",
                                r.stream,
                                sdk_error(&e)
                            )
                        });
                    settle(&fh, r.stream, |d| enc(d) == Some(Enc::Disabled)).await;
                }
                _ => {}
            }
        }
        mixed
    });
    mixed.seed_starts = b.starts_received();
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.before(r)),
        "the seeded world"
    );
    mixed
}
