//! The narrow client over the AWS SDK: the five intent-level calls this product makes
//! (Describe a stream, list a region's streams, describe a KMS key, Start and Stop encryption),
//! answers converted into [`crate::model`] types, and every error classified into [`CallError`]
//! so no other module matches on SDK types. The calls a run makes go through two traits,
//! [`AccountsApi`] and [`CloudApi`] (`api`), which [`Accounts`] and [`Cloud`] implement here
//! and the unit tests' fake (`fake`) implements with scripted answers.
//!
//! SDK retries are off for every call: a retry the SDK made on its own would bypass our pacing
//! and, for Start/Stop, spend budget the ledger never saw. The caller decides every retry.

mod accounts;
mod api;
mod error;
#[cfg(test)]
pub mod fake;
mod iam;
mod issued;
mod sources;
mod watch;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_firehose::types::{DeliveryStreamEncryptionConfigurationInput, KeyType as SdkKeyType};

pub use accounts::{Accounts, Roles, SELF, Unreachable};
pub use api::{AccountsApi, CloudApi};
pub use error::CallError;
use error::classify;
pub use issued::Unfit;
use issued::{BeforeGrant, Record, Tracked};
pub use sources::TaggedPage;
pub use watch::{AlarmState, QUERIES_PER_CALL, StreamMetric};

use crate::model::{
    EncStatus, Encryption, Failure, FirehoseArn, KeyChoice, KeyObservation, KmsKeyArn, SourceType,
    StreamId, StreamObservation, StreamStatus,
};

/// Per-region SDK clients, built on first use.
#[derive(Debug)]
pub struct Cloud {
    /// Replaced by [`Cloud::refresh_credentials`]: a new identity cache, so the next call
    /// asks the credential provider again.
    sdk: Mutex<SdkConfig>,
    firehose: Mutex<HashMap<String, aws_sdk_firehose::Client>>,
    kms: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    /// The credentials' account and ARN, learned once.
    caller: tokio::sync::OnceCell<(String, String)>,
    /// The credentials last handed out, and when they were first seen.
    issued: Record,
    /// Held while the credentials are checked (and refreshed) for a KMS grant.
    refreshing: tokio::sync::Mutex<()>,
}

/// A page of `ListDeliveryStreams`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPage {
    pub names: Vec<String>,
    pub has_more: bool,
}

impl Cloud {
    /// Clients with `sdk`'s credentials, whose issue time is unknown (the default chain's: an
    /// instance profile, a container, a process or the environment may hand out a set issued
    /// long before this process saw it).
    pub fn new(sdk: SdkConfig) -> Self {
        Cloud::tracking(sdk, issued::record(false))
    }

    /// Clients whose credentials provider fetches each set from STS when asked (a role this
    /// process assumes): a set is as old as the first time it was seen.
    pub fn fetching(sdk: SdkConfig) -> Self {
        Cloud::tracking(sdk, issued::record(true))
    }

    fn tracking(sdk: SdkConfig, issued: Record) -> Self {
        let sdk = match sdk.credentials_provider() {
            Some(provider) => sdk
                .to_builder()
                .credentials_provider(Tracked::wrap(provider, issued.clone()))
                .build(),
            None => sdk,
        };
        Cloud {
            sdk: Mutex::new(sdk),
            firehose: Mutex::default(),
            kms: Mutex::default(),
            caller: tokio::sync::OnceCell::new(),
            issued,
            refreshing: tokio::sync::Mutex::default(),
        }
    }

    /// Makes sure the credentials may create a KMS grant ([`issued`]): refreshed first when
    /// their issue time is unknown and they were not refreshed within `max_age`, when they are
    /// older than that, or when a grant failed with them. Says why not when they cannot be
    /// used: the refresh failed, or refreshing cannot help (a fixed session, such as
    /// `AWS_SESSION_TOKEN` gives, too old or refused a grant).
    pub async fn fresh_for_grant(&self, max_age: Duration) -> Result<(), Unfit> {
        use aws_credential_types::provider::ProvideCredentials as _;
        // One refresh at a time: the Starts waiting meanwhile find the credentials it got.
        let _one = self.refreshing.lock().await;
        let (need, before) = {
            let tracking = self.issued.lock().unwrap_or_else(|e| e.into_inner());
            (
                issued::before_grant(&tracking, max_age, SystemTime::now()),
                tracking.last.clone(),
            )
        };
        if need == BeforeGrant::Fit {
            return Ok(());
        }
        let provider = self
            .sdk_config()
            .credentials_provider()
            .ok_or_else(|| Unfit::RefreshFailed("no credentials provider".into()))?;
        let fresh = provider.provide_credentials().await.map_err(|e| {
            Unfit::RefreshFailed(format!(
                "refreshing them for a KMS grant failed: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
        // The clients' next call takes this set from a new identity cache: the provider is
        // asked once per refresh.
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pending = Some(fresh);
        self.refresh_credentials();
        let mut tracking = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued::after_refresh(&mut tracking, before.as_ref(), max_age, SystemTime::now())
    }

    /// A KMS grant failed with the credentials in use (`CREATE_KMS_GRANT_FAILED`): the next
    /// customer-key Start asks for fresh ones first, and is withheld when refreshing cannot
    /// help.
    pub fn grant_failed(&self) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .grant_failed = true;
    }

    fn sdk_config(&self) -> SdkConfig {
        self.sdk.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the next call of every client ask the credential provider again (a new identity
    /// cache), instead of reusing cached credentials: the set [`Cloud::fresh_for_grant`]
    /// fetched is used from then on.
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
        let seen = self
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last
            .clone();
        if let Some(last) = seen {
            return last.session && !last.expires;
        }
        let Some(provider) = self.sdk_config().credentials_provider() else {
            return false;
        };
        match provider.provide_credentials().await {
            Ok(c) => {
                let fixed = c.session_token().is_some() && c.expiry().is_none();
                // Nothing was fetched before: the clients' first call takes this set.
                self.issued
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pending = Some(c);
                fixed
            }
            Err(_) => false,
        }
    }

    /// STS `GetCallerIdentity`: the account the credentials act in, asked once. Firehose's
    /// Describe and Start take only a stream name and act in this account.
    pub async fn caller_account(&self) -> Result<String, CallError> {
        Ok(self.caller().await?.0.clone())
    }

    /// The credentials' ARN (`GetCallerIdentity`'s `Arn`): a user, an assumed-role session or
    /// the account's root.
    pub async fn caller_arn(&self) -> Result<String, CallError> {
        Ok(self.caller().await?.1.clone())
    }

    async fn caller(&self) -> Result<&(String, String), CallError> {
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
                let account = out.account().map(str::to_owned).ok_or_else(|| {
                    CallError::Unknown("GetCallerIdentity returned no Account".into())
                })?;
                Ok((account, out.arn().unwrap_or_default().to_owned()))
            })
            .await
    }

    /// The credentials' account when it has been learned already (no call).
    pub fn caller_account_now(&self) -> Option<&str> {
        self.caller.get().map(|(account, _)| account.as_str())
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

    /// Organizations `ListAccounts` (by the management account or a delegated administrator,
    /// every page): each member account's id and whether it is ACTIVE — its `State`, else (an
    /// older answer) its `Status`, which AWS retires.
    pub async fn list_accounts(&self) -> Result<Vec<(String, bool)>, CallError> {
        // A global service: one endpoint per partition (us-east-1, cn-northwest-1,
        // us-gov-west-1, ...), which the SDK's endpoint rules pick from any Region of the
        // partition — given the partition's own, so the signing Region is that one too.
        let config = aws_sdk_organizations::config::Builder::from(&self.sdk_config())
            .region(self.sdk_config().region().map(|r| {
                let partition = crate::model::partition_of(r.as_ref());
                aws_config::Region::new(crate::model::global_region(partition))
            }))
            .build();
        let client = aws_sdk_organizations::Client::from_conf(config);
        let mut accounts = Vec::new();
        let mut next: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        loop {
            let page = client
                .list_accounts()
                .set_next_token(next.take())
                .send()
                .await
                .map_err(classify)?;
            for a in page.accounts() {
                let Some(id) = a.id() else { continue };
                let active = match (a.state(), a.status()) {
                    (Some(state), _) => state.as_str() == "ACTIVE",
                    (None, Some(status)) => status.as_str() == "ACTIVE",
                    (None, None) => false,
                };
                accounts.push((id.to_owned(), active));
            }
            match page.next_token() {
                // A token given twice would list the same pages for ever.
                Some(token) if !tokens.insert(token.to_owned()) => {
                    return Err(CallError::Unknown(format!(
                        "ListAccounts gave the NextToken {token:?} twice: the listing does not \
                         advance"
                    )));
                }
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(accounts)
    }
}
