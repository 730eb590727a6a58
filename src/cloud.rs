//! The narrow client over the AWS SDK: the five intent-level calls this product makes
//! (Describe a stream, list a region's streams, describe a KMS key, Start and Stop encryption),
//! answers converted into [`crate::model`] types, and every error classified into [`CallError`]
//! so no other module matches on SDK types.
//!
//! SDK retries are off for every call: a retry the SDK made on its own would bypass our pacing
//! and, for Start/Stop, spend budget the ledger never saw. The caller decides every retry.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_firehose::types::{DeliveryStreamEncryptionConfigurationInput, KeyType as SdkKeyType};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::model::{
    EncStatus, Encryption, Failure, FirehoseArn, KeyChoice, KeyObservation, KmsKeyArn, SourceType,
    StreamId, StreamObservation, StreamStatus,
};

/// What became of a call that did not succeed, in the terms the engine decides on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// `ThrottlingException`: over the per-second quota. Rejected at the front door.
    #[error("throttled: {0}")]
    Throttled(String),
    /// `LimitExceededException`: a stream budget or the per-key stream limit.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// `ResourceInUseException`: the stream is transitioning.
    #[error("stream in use: {0}")]
    InUse(String),
    /// `ResourceNotFoundException` (or KMS `NotFoundException`).
    #[error("not found: {0}")]
    NotFound(String),
    /// `InvalidKMSResourceException`: KMS refused Firehose the stream's key; `kms_code` is
    /// KMS's own error (AccessDeniedException, InvalidStateException, DisabledException,
    /// NotFoundException). A problem of this stream's key, not of the run.
    #[error("InvalidKMSResourceException ({kms_code}): {message}")]
    KmsRefused { kms_code: String, message: String },
    /// `InvalidArgumentException`, `ValidationException` and other refusals of the request
    /// itself: retrying cannot help.
    #[error("{code}: {message}")]
    Invalid { code: String, message: String },
    /// Access denied or credentials refused by the service.
    #[error("{code}: {message}")]
    Denied { code: String, message: String },
    /// No credentials could be found: nothing was sent.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// Proven never sent (connection refused, DNS failure, request could not be built).
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request may have reached the service but no usable answer came back (timeout,
    /// dropped connection, HTTP 5xx, unparseable response): the outcome is unknown.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl CallError {
    /// Refused for the caller's IAM permissions (as opposed to credentials that are invalid
    /// or expired, which the service also refuses).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, CallError::Denied { code, .. } if code.starts_with("AccessDenied"))
    }

    /// Whether the request may have reached the service (and so spent budget).
    pub fn may_have_reached_service(&self) -> bool {
        !matches!(self, CallError::NoCredentials(_) | CallError::NotSent(_))
    }

    /// The AWS error code, for the ledger.
    pub fn code(&self) -> &str {
        match self {
            CallError::Throttled(_) => "ThrottlingException",
            CallError::LimitExceeded(_) => "LimitExceededException",
            CallError::InUse(_) => "ResourceInUseException",
            CallError::NotFound(_) => "ResourceNotFoundException",
            CallError::KmsRefused { .. } => "InvalidKMSResourceException",
            CallError::Invalid { code, .. } | CallError::Denied { code, .. } => code,
            CallError::NoCredentials(_) => "NoCredentials",
            CallError::NotSent(_) => "NotSent",
            CallError::Unknown(_) => "Unknown",
        }
    }

    pub fn message(&self) -> String {
        match self {
            CallError::Throttled(m)
            | CallError::LimitExceeded(m)
            | CallError::InUse(m)
            | CallError::NotFound(m)
            | CallError::NoCredentials(m)
            | CallError::NotSent(m)
            | CallError::Unknown(m) => m.clone(),
            CallError::Invalid { message, .. }
            | CallError::Denied { message, .. }
            | CallError::KmsRefused { message, .. } => message.clone(),
        }
    }
}

/// Classifies any SDK error. Generic so that every operation's error type goes through the
/// same rules.
fn classify<E>(err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> CallError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let chain = with_tls_hint(error_chain(&err));
    match &err {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let status = raw.status().as_u16();
            let body = raw.body().bytes().unwrap_or_default();
            let header = raw.headers().get("x-amzn-errortype");
            let code =
                error_type(header, body).unwrap_or_else(|| err.code().unwrap_or("").to_owned());
            let message = err.message().unwrap_or("").to_owned();
            let message = if message.is_empty() {
                chain.clone()
            } else {
                message
            };
            if code == "InvalidKMSResourceException" {
                let kms_code = body_string(body, "code").unwrap_or_else(|| "unknown".into());
                return CallError::KmsRefused { kms_code, message };
            }
            classify_code(status, &code, message)
        }
        SdkError::ConstructionFailure(_) => {
            if chain.contains("credentials") || chain.contains("Credentials") {
                CallError::NoCredentials(chain)
            } else {
                CallError::NotSent(chain)
            }
        }
        SdkError::DispatchFailure(dispatch) => {
            if is_credentials_error(&err) {
                CallError::NoCredentials(chain)
            } else if never_left(&err) || dispatch.is_user() {
                CallError::NotSent(chain)
            } else {
                CallError::Unknown(chain)
            }
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            CallError::Unknown(format!("HTTP {status}, unreadable response: {chain}"))
        }
        _ => CallError::Unknown(chain),
    }
}

/// The error's type as AWS names it: the `x-amzn-ErrorType` header, else the body's `__type`,
/// without a namespace (`...#`) or a suffix (`:...`). Not the SDK's `code()`: its JSON error
/// parser lets a body member named `code` win over both, and `InvalidKMSResourceException`
/// carries KMS's own error in such a member — read that way, a problem with one stream's key
/// would look like a run-wide "access denied" or a missing stream (DESIGN §2).
fn error_type(header: Option<&str>, body: &[u8]) -> Option<String> {
    let text = header
        .map(str::to_owned)
        .or_else(|| body_string(body, "__type"))?;
    let text = text.split(':').next().unwrap_or_default();
    let text = text.rsplit('#').next().unwrap_or_default().trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A string member of a JSON error body.
fn body_string(body: &[u8], member: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get(member)?.as_str().map(str::to_owned)
}

/// "Rate exceeded" and "slow down" are how AWS words a throttle, whatever code it comes with
/// (a `LimitExceededException` worded so is a rate limit, not a budget or a key limit).
fn worded_as_throttle(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("rate exceeded") || lower.contains("slow down")
}

fn classify_code(status: u16, code: &str, message: String) -> CallError {
    if status < 500 && worded_as_throttle(&message) {
        // The ledger keeps what the service said, code included.
        return CallError::Throttled(match code {
            "" | "ThrottlingException" | "Throttling" => message,
            code => format!("{code}: {message}"),
        });
    }
    match code {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => CallError::Throttled(message),
        "LimitExceededException" => CallError::LimitExceeded(message),
        "ResourceInUseException" => CallError::InUse(message),
        "ResourceNotFoundException" | "NotFoundException" => CallError::NotFound(message),
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => CallError::Denied {
            code: code.to_owned(),
            message,
        },
        _ if status >= 500 || status == 0 => CallError::Unknown(if code.is_empty() {
            format!("HTTP {status}: {message}")
        } else {
            format!("HTTP {status} {code}: {message}")
        }),
        "" => CallError::Unknown(format!("HTTP {status} without an error code: {message}")),
        _ => CallError::Invalid {
            code: code.to_owned(),
            message,
        },
    }
}

/// The error and its sources on one line.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}

fn sources<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

fn is_credentials_error(err: &(dyn StdError + 'static)) -> bool {
    sources(err).any(|e| {
        e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
    })
}

/// A connection that was never made: the request cannot have been sent.
fn never_left(err: &(dyn StdError + 'static)) -> bool {
    sources(err).any(|e| {
        e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|h| h.is_connect())
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
                )
            })
    })
}

/// Per-region SDK clients, built on first use.
#[derive(Debug)]
pub struct Cloud {
    /// Replaced by [`Cloud::refresh_credentials`]: a new identity cache, so the next call
    /// asks the credential provider again.
    sdk: Mutex<SdkConfig>,
    firehose: Mutex<HashMap<String, aws_sdk_firehose::Client>>,
    kms: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    /// The credentials' account, learned once.
    caller: tokio::sync::OnceCell<String>,
}

/// A page of `ListDeliveryStreams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPage {
    pub names: Vec<String>,
    pub has_more: bool,
}

impl Cloud {
    pub fn new(sdk: SdkConfig) -> Self {
        Cloud {
            sdk: Mutex::new(sdk),
            firehose: Mutex::default(),
            kms: Mutex::default(),
            caller: tokio::sync::OnceCell::new(),
        }
    }

    fn sdk_config(&self) -> SdkConfig {
        self.sdk.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the next call of every client ask the credential provider again, instead of
    /// reusing cached credentials: KMS grant creation fails with session credentials older
    /// than 6 h, so a retry of `CREATE_KMS_GRANT_FAILED` goes with fresh ones.
    pub fn refresh_credentials(&self) {
        let mut sdk = self.sdk.lock().unwrap_or_else(|e| e.into_inner());
        *sdk = sdk
            .to_builder()
            .identity_cache(aws_config::identity::IdentityCache::lazy().build())
            .build();
        drop(sdk);
        self.firehose
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.kms.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Whether the credentials are a session that cannot be refreshed (a session token with no
    /// expiry, as `AWS_SESSION_TOKEN` gives): with customer-managed keys, a run reaching 6 h
    /// after they were issued sees its KMS grants fail.
    pub async fn static_session_credentials(&self) -> bool {
        use aws_credential_types::provider::ProvideCredentials as _;
        let Some(provider) = self.sdk_config().credentials_provider() else {
            return false;
        };
        match provider.provide_credentials().await {
            Ok(c) => c.session_token().is_some() && c.expiry().is_none(),
            Err(_) => false,
        }
    }

    /// STS `GetCallerIdentity`: the account the credentials act in, asked once. Firehose's
    /// Describe and Start take only a stream name and act in this account.
    pub async fn caller_account(&self) -> Result<String, CallError> {
        self.caller
            .get_or_try_init(|| async {
                let config = aws_sdk_sts::config::Builder::from(&self.sdk_config())
                    .retry_config(RetryConfig::disabled())
                    .build();
                let out = aws_sdk_sts::Client::from_conf(config)
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(classify)?;
                out.account().map(str::to_owned).ok_or_else(|| {
                    CallError::Unknown("GetCallerIdentity returned no Account".into())
                })
            })
            .await
            .cloned()
    }

    fn firehose(&self, region: &str) -> aws_sdk_firehose::Client {
        let mut clients = self.firehose.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_firehose::config::Builder::from(&self.sdk_config())
                    .region(aws_config::Region::new(region.to_owned()))
                    .retry_config(RetryConfig::disabled())
                    .build();
                aws_sdk_firehose::Client::from_conf(config)
            })
            .clone()
    }

    fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        let mut clients = self.kms.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_kms::config::Builder::from(&self.sdk_config())
                    .region(aws_config::Region::new(region.to_owned()))
                    .retry_config(RetryConfig::disabled())
                    .build();
                aws_sdk_kms::Client::from_conf(config)
            })
            .clone()
    }

    /// `DescribeDeliveryStream`: the stream's type, status and encryption configuration.
    pub async fn describe_stream(
        &self,
        region: &str,
        name: &str,
    ) -> Result<StreamObservation, CallError> {
        let out = self
            .firehose(region)
            .describe_delivery_stream()
            .delivery_stream_name(name)
            .send()
            .await
            .map_err(classify)?;
        let d = out.delivery_stream_description().ok_or_else(|| {
            CallError::Unknown(format!(
                "Describe of {name} returned no DeliveryStreamDescription"
            ))
        })?;
        let arn = FirehoseArn::parse(d.delivery_stream_arn()).map_err(|e| {
            CallError::Unknown(format!(
                "Describe of {name} returned a malformed DeliveryStreamARN {:?}: {e}",
                d.delivery_stream_arn()
            ))
        })?;
        if arn.name != name || d.delivery_stream_name() != name {
            return Err(CallError::Unknown(format!(
                "Describe of {name} answered for another stream ({:?}, {:?})",
                d.delivery_stream_name(),
                d.delivery_stream_arn()
            )));
        }
        if arn.region != region {
            return Err(CallError::Unknown(format!(
                "Describe of {name} in {region} answered with an ARN of region {}",
                arn.region
            )));
        }
        let encryption = match d.delivery_stream_encryption_configuration() {
            None => Encryption::disabled(),
            Some(c) => {
                let status = c
                    .status()
                    .map_or(EncStatus::Disabled, |s| EncStatus::parse(s.as_str()));
                let key = match c.key_type() {
                    None => None,
                    Some(SdkKeyType::AwsOwnedCmk) => Some(KeyChoice::AwsOwned),
                    Some(SdkKeyType::CustomerManagedCmk) => match c.key_arn() {
                        Some(text) => Some(KeyChoice::Customer(KmsKeyArn::parse(text).map_err(
                            |e| {
                                CallError::Unknown(format!(
                                    "Describe of {name} returned a malformed KeyARN {text:?}: {e}"
                                ))
                            },
                        )?)),
                        None => None,
                    },
                    Some(other) => {
                        return Err(CallError::Unknown(format!(
                            "Describe of {name} returned an unknown KeyType {:?}",
                            other.as_str()
                        )));
                    }
                };
                // A failed transition's description sits in the encryption configuration, or
                // else on the stream itself (the model documents it for Start and Stop).
                let failure = c
                    .failure_description()
                    .or(d.failure_description().filter(|_| {
                        matches!(
                            status,
                            EncStatus::EnablingFailed | EncStatus::DisablingFailed
                        )
                    }))
                    .map(|f| Failure {
                        kind: f.r#type().as_str().to_owned(),
                        details: f.details().to_owned(),
                    });
                Encryption {
                    status,
                    key,
                    failure,
                }
            }
        };
        Ok(StreamObservation {
            id: StreamId {
                account: arn.account,
                region: arn.region,
                name: arn.name,
            },
            arn: d.delivery_stream_arn().to_owned(),
            source: SourceType::parse(d.delivery_stream_type().as_str()),
            source_arn: d.source().and_then(|source| {
                let kinesis = source
                    .kinesis_stream_source_description()
                    .and_then(|k| k.kinesis_stream_arn());
                let msk = source
                    .msk_source_description()
                    .and_then(|m| m.msk_cluster_arn());
                kinesis.or(msk).map(str::to_owned)
            }),
            status: StreamStatus::parse(d.delivery_stream_status().as_str()),
            encryption,
        })
    }

    /// One page of `ListDeliveryStreams` (all source types), names after `start_after`.
    pub async fn list_streams(
        &self,
        region: &str,
        start_after: Option<&str>,
        limit: i32,
    ) -> Result<StreamPage, CallError> {
        let out = self
            .firehose(region)
            .list_delivery_streams()
            .limit(limit)
            .set_exclusive_start_delivery_stream_name(start_after.map(str::to_owned))
            .send()
            .await
            .map_err(classify)?;
        Ok(StreamPage {
            names: out.delivery_stream_names().to_vec(),
            has_more: out.has_more_delivery_streams(),
        })
    }

    /// KMS `DescribeKey`, in the key's region. A key KMS does not know is `found: false`.
    pub async fn describe_key(&self, arn: &KmsKeyArn) -> Result<KeyObservation, CallError> {
        let result = self
            .kms(arn.region())
            .describe_key()
            .key_id(arn.as_str())
            .send()
            .await;
        let out = match result.map_err(classify) {
            Ok(out) => out,
            Err(CallError::NotFound(_)) => return Ok(KeyObservation::not_found(arn.clone())),
            // Refused this key only (its policy, or a key of another account): its streams
            // are skipped, the plan goes on.
            Err(e) if e.is_access_denied() => return Ok(KeyObservation::unreadable(arn.clone())),
            Err(e) => return Err(e),
        };
        let meta = out.key_metadata().ok_or_else(|| {
            CallError::Unknown(format!("DescribeKey of {arn} returned no KeyMetadata"))
        })?;
        let spec = meta
            .key_spec()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
        // AWS always returns KeyUsage; some emulators omit it for keys created without one,
        // which for a symmetric key means the default, ENCRYPT_DECRYPT.
        let usage = meta
            .key_usage()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_else(|| {
                if spec == "SYMMETRIC_DEFAULT" {
                    "ENCRYPT_DECRYPT".to_owned()
                } else {
                    String::new()
                }
            });
        let state = meta
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| {
                if meta.enabled() {
                    "Enabled"
                } else {
                    "Disabled"
                }
                .to_owned()
            });
        Ok(KeyObservation {
            arn: arn.clone(),
            found: true,
            state,
            spec,
            usage,
            manager: meta
                .key_manager()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            readable: true,
        })
    }

    /// `StartDeliveryStreamEncryption` with the target key — or, for encryption off,
    /// `StopDeliveryStreamEncryption`: the call that moves the stream to `key`. Never retried
    /// here.
    pub async fn start_encryption(
        &self,
        region: &str,
        name: &str,
        key: &KeyChoice,
    ) -> Result<(), CallError> {
        let input = match key {
            KeyChoice::AwsOwned => DeliveryStreamEncryptionConfigurationInput::builder()
                .key_type(SdkKeyType::AwsOwnedCmk),
            KeyChoice::Customer(arn) => DeliveryStreamEncryptionConfigurationInput::builder()
                .key_type(SdkKeyType::CustomerManagedCmk)
                .key_arn(arn.as_str()),
            KeyChoice::Off => return self.stop_encryption(region, name).await,
        }
        .build()
        .map_err(|e| CallError::NotSent(format!("invalid encryption input: {e}")))?;
        self.firehose(region)
            .start_delivery_stream_encryption()
            .delivery_stream_name(name)
            .delivery_stream_encryption_configuration_input(input)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// `StopDeliveryStreamEncryption`. Never retried here.
    pub async fn stop_encryption(&self, region: &str, name: &str) -> Result<(), CallError> {
        self.firehose(region)
            .stop_delivery_stream_encryption()
            .delivery_stream_name(name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// A certificate the client does not trust is most often a corporate TLS proxy: say what to do.
fn with_tls_hint(chain: String) -> String {
    if chain.contains("invalid peer certificate") || chain.contains("UnknownIssuer") {
        format!(
            "{chain} (the endpoint's certificate is not trusted: behind a TLS-inspecting proxy, \
             pass its root certificate with --ca-bundle FILE or AWS_CA_BUNDLE)"
        )
    } else {
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        let m = || "m".to_owned();
        assert!(matches!(
            classify_code(400, "ThrottlingException", m()),
            CallError::Throttled(_)
        ));
        assert!(matches!(
            classify_code(400, "LimitExceededException", m()),
            CallError::LimitExceeded(_)
        ));
        assert!(matches!(
            classify_code(400, "ResourceInUseException", m()),
            CallError::InUse(_)
        ));
        assert!(matches!(
            classify_code(400, "ResourceNotFoundException", m()),
            CallError::NotFound(_)
        ));
        assert!(matches!(
            classify_code(400, "NotFoundException", m()),
            CallError::NotFound(_)
        ));
        assert!(matches!(
            classify_code(400, "InvalidKMSResourceException", m()),
            CallError::Invalid { code, .. } if code == "InvalidKMSResourceException"
        ));
        assert!(matches!(
            classify_code(400, "AccessDeniedException", m()),
            CallError::Denied { .. }
        ));
        assert!(matches!(
            classify_code(500, "InternalFailure", m()),
            CallError::Unknown(_)
        ));
        assert!(matches!(classify_code(503, "", m()), CallError::Unknown(_)));
        assert!(matches!(classify_code(400, "", m()), CallError::Unknown(_)));
        assert!(matches!(
            classify_code(400, "SomethingNew", m()),
            CallError::Invalid { .. }
        ));
    }

    /// A 400 answer as the SDK hands it over: its own reading of the code (`sdk_code`, which
    /// lets a body `code` member win) and the raw response.
    fn answered(
        sdk_code: &str,
        header: Option<&str>,
        body: &str,
    ) -> SdkError<
        aws_sdk_firehose::operation::start_delivery_stream_encryption::StartDeliveryStreamEncryptionError,
        aws_smithy_runtime_api::http::Response,
    >{
        use aws_sdk_firehose::operation::start_delivery_stream_encryption::StartDeliveryStreamEncryptionError;
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(sdk_code)
            .message("the grant for the CMK could not be created")
            .build();
        let mut raw = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(body.to_owned()),
        );
        if let Some(h) = header {
            raw.headers_mut().insert("x-amzn-ErrorType", h.to_owned());
        }
        SdkError::service_error(StartDeliveryStreamEncryptionError::generic(meta), raw)
    }

    #[test]
    fn a_kms_refusal_is_read_by_its_type_not_by_the_kms_code_in_its_body() {
        // The body carries KMS's code in `code`, which the SDK's parser lets win.
        let body = r#"{"__type":"InvalidKMSResourceException","code":"AccessDeniedException","message":"m"}"#;
        for header in [None, Some("InvalidKMSResourceException")] {
            match classify(answered("AccessDeniedException", header, body)) {
                CallError::KmsRefused { kms_code, .. } => {
                    assert_eq!(kms_code, "AccessDeniedException")
                }
                other => panic!("{header:?}: {other:?}"),
            }
        }
        let body = r#"{"__type":"InvalidKMSResourceException","code":"NotFoundException"}"#;
        assert!(matches!(
            classify(answered("NotFoundException", None, body)),
            CallError::KmsRefused { kms_code, .. } if kms_code == "NotFoundException"
        ));
        // A namespaced type with a suffix, and the header winning over the body.
        let body = r#"{"__type":"com.amazonaws.firehose#ResourceInUseException:http://x/"}"#;
        assert!(matches!(
            classify(answered("ResourceInUseException", None, body)),
            CallError::InUse(_)
        ));
        assert!(matches!(
            classify(answered("X", Some("ResourceNotFoundException"), "{}")),
            CallError::NotFound(_)
        ));
        // No type anywhere: the SDK's reading stands.
        assert!(matches!(
            classify(answered("LimitExceededException", None, "not json")),
            CallError::LimitExceeded(_)
        ));
    }

    #[test]
    fn rate_wording_is_a_throttle_whatever_the_code() {
        assert_eq!(
            classify_code(400, "LimitExceededException", "Rate exceeded".into()),
            CallError::Throttled("LimitExceededException: Rate exceeded".into())
        );
        assert!(matches!(
            classify_code(400, "SomethingNew", "Please slow down.".into()),
            CallError::Throttled(_)
        ));
        assert!(matches!(
            classify_code(
                400,
                "LimitExceededException",
                "budget of 25 calls spent".into()
            ),
            CallError::LimitExceeded(_)
        ));
    }

    #[test]
    fn only_access_denied_is_about_the_iam_policy() {
        let denied = |code: &str| CallError::Denied {
            code: code.into(),
            message: "m".into(),
        };
        assert!(denied("AccessDeniedException").is_access_denied());
        assert!(!denied("ExpiredTokenException").is_access_denied());
        assert!(!denied("UnrecognizedClientException").is_access_denied());
    }

    #[test]
    fn only_unsent_calls_spare_the_budget() {
        assert!(!CallError::NotSent("x".into()).may_have_reached_service());
        assert!(!CallError::NoCredentials("x".into()).may_have_reached_service());
        assert!(CallError::Unknown("x".into()).may_have_reached_service());
        assert!(CallError::Throttled("x".into()).may_have_reached_service());
    }
}
