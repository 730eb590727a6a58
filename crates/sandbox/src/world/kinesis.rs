//! Kinesis data streams, the sources Firehose streams of type `KinesisStreamAsSource` read
//! from, each in its account and Region: `CreateStream` (CREATING, then ACTIVE after a drawn
//! latency), `StartStreamEncryption` (UPDATING, then ACTIVE, encrypted with the key asked for
//! from the call on) and `DescribeStreamSummary`, as the Kinesis API reference describes them.
//! A stream is named by `StreamName` or `StreamARN` (both: they must agree); an ARN of another
//! account is refused (`AccessDeniedException`: no resource-based policy is modelled).
//!
//! Life cycle: CREATING ─(latency)─► ACTIVE ─StartStreamEncryption─► UPDATING ─(latency)─►
//! ACTIVE. Encryption is never stopped here (`StopStreamEncryption` is not served).

use super::World;
use crate::vocabulary::{ApiError, KmsKeyArn, Millis, codes, partition};

/// The AWS managed key of Kinesis, by its alias (`KeyId` `alias/aws/kinesis`).
pub const KINESIS_MANAGED_KEY: &str = "alias/aws/kinesis";

/// One Kinesis data stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisStream {
    pub name: String,
    pub arn: String,
    pub created_at: Millis,
    /// `PROVISIONED` or `ON_DEMAND`.
    pub mode: &'static str,
    pub shards: u32,
    /// The `KeyId` it is encrypted with (`None`: `EncryptionType` NONE).
    pub key_id: Option<String>,
    /// Until when it is CREATING (before any update) or UPDATING.
    busy_until: Millis,
    updated: bool,
}

impl KinesisStream {
    /// `StreamStatus` at `now`.
    pub fn status(&self, now: Millis) -> &'static str {
        match (now < self.busy_until, self.updated) {
            (false, _) => "ACTIVE",
            (true, false) => "CREATING",
            (true, true) => "UPDATING",
        }
    }
}

/// A stream as a request names it: `StreamName`, `StreamARN`, or both.
#[derive(Debug, Clone, Copy, Default)]
pub struct KinesisName<'a> {
    pub name: Option<&'a str>,
    pub arn: Option<&'a str>,
}

/// `arn:<partition>:kinesis:<region>:<account>:stream/<name>`.
pub fn kinesis_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:kinesis:{region}:{account}:stream/{name}",
        partition(region)
    )
}

impl World {
    /// The stream `named` in `region` for a caller of `account`: its account and name, or why
    /// not (no name, a name and an ARN that disagree, an ARN of another account or Region).
    fn kinesis_target(
        &self,
        caller_arn: &str,
        action: &str,
        account: &str,
        region: &str,
        named: KinesisName<'_>,
    ) -> Result<String, ApiError> {
        let invalid = |m: String| ApiError::new(codes::INVALID_ARGUMENT, m);
        let from_arn = match named.arn {
            None => None,
            Some(arn) => {
                // The model's pattern has checked the shape: arn:aws*:kinesis:*:<12 digits>:stream/…
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                let (arn_region, arn_account) = (parts[3], parts[4]);
                let name = parts[5].trim_start_matches("stream/");
                if arn_account != account {
                    return Err(ApiError::new(
                        codes::ACCESS_DENIED,
                        format!(
                            "User: {caller_arn} is not authorized to perform: {action} on resource: {arn} because no resource-based policy allows the {action} action"
                        ),
                    ));
                }
                if arn_region != region {
                    return Err(invalid(format!(
                        "StreamARN {arn} is not of the Region of the request ({region})."
                    )));
                }
                Some(name.to_owned())
            }
        };
        match (named.name, from_arn) {
            (None, None) => Err(invalid(
                "Either StreamName or StreamARN must be given.".to_owned(),
            )),
            (Some(n), Some(a)) if n != a => Err(invalid(format!(
                "StreamName {n} and StreamARN name different streams."
            ))),
            (Some(n), _) => Ok(n.to_owned()),
            (None, Some(a)) => Ok(a),
        }
    }

    fn kinesis_not_found(account: &str, name: &str) -> ApiError {
        ApiError::new(
            codes::RESOURCE_NOT_FOUND,
            format!("Stream {name} under account {account} not found."),
        )
    }

    /// A Kinesis stream of `account` in `region`, as it stands.
    pub fn kinesis_stream(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Option<&KinesisStream> {
        self.kinesis
            .get(&(account.to_owned(), region.to_owned()))?
            .get(name)
    }

    /// Adds a stream (seeding and CreateStream): ACTIVE from `active_at`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_kinesis_stream(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        shards: Option<u32>,
        key_id: Option<String>,
        now: Millis,
        active_at: Millis,
    ) {
        let stream = KinesisStream {
            name: name.to_owned(),
            arn: kinesis_arn(region, account, name),
            created_at: now,
            mode: if shards.is_some() {
                "PROVISIONED"
            } else {
                "ON_DEMAND"
            },
            shards: shards.unwrap_or(4),
            key_id,
            busy_until: active_at,
            updated: false,
        };
        self.kinesis
            .entry((account.to_owned(), region.to_owned()))
            .or_default()
            .insert(name.to_owned(), stream);
    }

    /// CreateStream in `account`: CREATING, then ACTIVE after a drawn latency. `mode` is
    /// `StreamModeDetails.StreamMode`: PROVISIONED needs a `ShardCount`, ON_DEMAND takes none;
    /// without a mode, a `ShardCount` makes it PROVISIONED, none ON_DEMAND.
    pub fn create_kinesis_stream(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        shards: Option<u32>,
        mode: Option<&str>,
        now: Millis,
    ) -> Result<(), ApiError> {
        if self.kinesis_stream(account, region, name).is_some() {
            return Err(ApiError::new(
                codes::RESOURCE_IN_USE,
                format!("Stream {name} under account {account} already exists."),
            ));
        }
        match (mode, shards) {
            (Some("PROVISIONED"), None) => {
                return Err(ApiError::new(
                    codes::INVALID_ARGUMENT,
                    "ShardCount is required for a stream in PROVISIONED mode.",
                ));
            }
            (Some("ON_DEMAND"), Some(_)) => {
                return Err(ApiError::new(
                    codes::INVALID_ARGUMENT,
                    "ShardCount must not be given for a stream in ON_DEMAND mode.",
                ));
            }
            _ => {}
        }
        let ready = now + self.draw_latency();
        self.add_kinesis_stream(account, region, name, shards, None, now, ready);
        Ok(())
    }

    /// StartStreamEncryption: the stream must be ACTIVE (else `ResourceInUseException`); a
    /// key ARN or id of a KMS key must exist (`KMSNotFoundException`) and be enabled
    /// (`KMSDisabledException`, `KMSInvalidStateException` pending deletion); an alias is taken
    /// as given (aliases are not modelled). UPDATING, then ACTIVE after a drawn latency.
    pub fn start_kinesis_encryption(
        &mut self,
        caller_arn: &str,
        account: &str,
        region: &str,
        named: KinesisName<'_>,
        key_id: &str,
        now: Millis,
    ) -> Result<(), ApiError> {
        let name = self.kinesis_target(
            caller_arn,
            "kinesis:StartStreamEncryption",
            account,
            region,
            named,
        )?;
        let Some(stream) = self.kinesis_stream(account, region, &name) else {
            return Err(Self::kinesis_not_found(account, &name));
        };
        let status = stream.status(now);
        if status != "ACTIVE" {
            return Err(ApiError::new(
                codes::RESOURCE_IN_USE,
                format!("Stream {name} under account {account} is {status}, not ACTIVE."),
            ));
        }
        if !key_id.starts_with("alias/") && !key_id.contains(":alias/") {
            let arn = match KmsKeyArn::parse(key_id) {
                Ok(_) => key_id.to_owned(),
                Err(_) => crate::vocabulary::kms_key_arn(region, account, key_id),
            };
            let key = KmsKeyArn::parse(&arn)
                .ok()
                .and_then(|parsed| self.key_by_arn(&parsed));
            match key.map(|k| k.state.as_str()) {
                None => {
                    return Err(ApiError::new(
                        codes::KINESIS_KMS_NOT_FOUND,
                        format!("Key {key_id} was not found."),
                    ));
                }
                Some("Disabled") => {
                    return Err(ApiError::new(
                        codes::KINESIS_KMS_DISABLED,
                        format!("Key {key_id} is disabled."),
                    ));
                }
                Some("Enabled") => {}
                Some(state) => {
                    return Err(ApiError::new(
                        codes::KMS_INVALID_STATE,
                        format!("Key {key_id} is {state}."),
                    ));
                }
            }
        }
        let ready = now + self.draw_latency();
        let stream = self
            .kinesis
            .get_mut(&(account.to_owned(), region.to_owned()))
            .and_then(|m| m.get_mut(&name))
            .expect("found above");
        stream.key_id = Some(key_id.to_owned());
        stream.busy_until = ready.max(now + 1);
        stream.updated = true;
        Ok(())
    }

    /// DescribeStreamSummary: the stream as it stands at `now`.
    pub fn describe_kinesis_stream(
        &self,
        caller_arn: &str,
        account: &str,
        region: &str,
        named: KinesisName<'_>,
    ) -> Result<&KinesisStream, ApiError> {
        let name = self.kinesis_target(
            caller_arn,
            "kinesis:DescribeStreamSummary",
            account,
            region,
            named,
        )?;
        self.kinesis_stream(account, region, &name)
            .ok_or_else(|| Self::kinesis_not_found(account, &name))
    }
}
