//! The seam between a run's I/O and AWS: the calls the dispatcher and the observer make, as
//! two traits. [`AccountsApi`] is every account a run reaches (which clients act in an
//! account, its pacing key, whether its credentials may create a KMS grant); [`CloudApi`] is
//! one account's clients (Describe, DescribeKey, Start or Stop, a grant's failure noted).
//!
//! [`super::Accounts`] and [`super::Cloud`] implement them over the SDK; the unit tests' fake
//! (`cloud::fake`) implements them with scripted answers, so the code that turns the engine's
//! effects into calls is tested in process, on tokio's paused clock, without HTTP. Only what
//! those call sites use is here: the survey's other calls (IAM, CloudWatch, tagging) go
//! through [`super::Cloud`] directly.

use std::future::Future;
use std::sync::Arc;

use super::{Accounts, CallError, Cloud, Unfit, Unreachable};
use crate::model::{KeyChoice, KeyObservation, KmsKeyArn, StreamObservation};

/// One account's clients, as a run calls them.
pub trait CloudApi: Send + Sync + 'static {
    /// `DescribeDeliveryStream`, its answer as a `model` observation.
    fn describe_stream(
        &self,
        region: &str,
        name: &str,
    ) -> impl Future<Output = Result<StreamObservation, CallError>> + Send;

    /// KMS `DescribeKey` (a key KMS does not know, or refuses to describe, is an answer).
    fn describe_key(
        &self,
        arn: &KmsKeyArn,
    ) -> impl Future<Output = Result<KeyObservation, CallError>> + Send;

    /// `StartDeliveryStreamEncryption` towards `key`, or `StopDeliveryStreamEncryption` for
    /// [`KeyChoice::Off`]. Never retried inside.
    fn start_encryption(
        &self,
        region: &str,
        name: &str,
        key: &KeyChoice,
    ) -> impl Future<Output = Result<(), CallError>> + Send;

    /// A KMS grant failed with these credentials: the next customer-key Start refreshes them
    /// first.
    fn grant_failed(&self);
}

/// Every account a run reaches.
pub trait AccountsApi: Send + Sync + 'static {
    type Cloud: CloudApi;

    /// The account pacing files a stream under (the base credentials' own as [`super::SELF`]).
    fn pace_key<'a>(&'a self, account: Option<&'a str>) -> &'a str;

    /// The clients that act in `account` (`None`: the base credentials' account), or why it
    /// cannot be reached.
    fn cloud(
        &self,
        account: Option<&str>,
    ) -> impl Future<Output = Result<Arc<Self::Cloud>, Unreachable>> + Send;

    /// Whether `cloud`'s credentials may create a KMS grant (refreshed first when needed).
    fn fresh_for_grant(
        &self,
        cloud: &Self::Cloud,
    ) -> impl Future<Output = Result<(), Unfit>> + Send;
}

impl CloudApi for Cloud {
    fn describe_stream(
        &self,
        region: &str,
        name: &str,
    ) -> impl Future<Output = Result<StreamObservation, CallError>> + Send {
        Cloud::describe_stream(self, region, name)
    }

    fn describe_key(
        &self,
        arn: &KmsKeyArn,
    ) -> impl Future<Output = Result<KeyObservation, CallError>> + Send {
        Cloud::describe_key(self, arn)
    }

    fn start_encryption(
        &self,
        region: &str,
        name: &str,
        key: &KeyChoice,
    ) -> impl Future<Output = Result<(), CallError>> + Send {
        Cloud::start_encryption(self, region, name, key)
    }

    fn grant_failed(&self) {
        Cloud::grant_failed(self)
    }
}

impl AccountsApi for Accounts {
    type Cloud = Cloud;

    fn pace_key<'a>(&'a self, account: Option<&'a str>) -> &'a str {
        Accounts::pace_key(self, account)
    }

    fn cloud(
        &self,
        account: Option<&str>,
    ) -> impl Future<Output = Result<Arc<Cloud>, Unreachable>> + Send {
        Accounts::cloud(self, account)
    }

    fn fresh_for_grant(&self, cloud: &Cloud) -> impl Future<Output = Result<(), Unfit>> + Send {
        Accounts::fresh_for_grant(self, cloud)
    }
}
