//! The clients of every account a run reaches (docs/design.md#many-accounts-and-shards). The
//! credentials' own account is served by the base credentials; any other account by a role assumed
//! in it (`--assume-role`), with its own credentials provider on top of the base chain, refreshed
//! before expiry by the SDK's identity cache. Each account's clients are checked once to act in
//! that account (STS `GetCallerIdentity`), so a stream is never described or started with another
//! account's credentials. Without `--assume-role`, every call goes with the base credentials and a
//! row of another account is never reached.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::SharedCredentialsProvider;

use super::{CallError, Cloud};
use crate::model::partition_of;

/// How to reach another account: the role to assume in it. Recorded with each run, so that
/// `resume`, `apply --plan` and `rollback` reach the same accounts the same way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Roles {
    /// The role's ARN with `{account}` where the account goes.
    pub template: String,
    pub external_id: Option<String>,
    /// `--role-session-name`; else `firehose-sse-run-<N>` once the run is known.
    pub session_name: Option<String>,
    pub duration: Duration,
}

impl Roles {
    /// `--assume-role NAME` names a role in every account, in the partition of the Region the
    /// run works in (`{partition}`, filled by [`Roles::arn`]); an ARN containing `{account}` is
    /// a template. Anything else is refused (the caller says so as a usage error).
    pub fn template_of(role: &str) -> Result<String, String> {
        if role.starts_with("arn:") {
            if !role.contains("{account}") {
                return Err(format!(
                    "--assume-role {role}: a role ARN must contain {{account}} where each \
                     account's id goes (e.g. arn:aws:iam::{{account}}:role/NAME)"
                ));
            }
            return Ok(role.to_owned());
        }
        // IAM role names (and paths): letters, digits and +=,.@_- (a path with /).
        let valid = !role.is_empty()
            && role.len() <= 64
            && role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
        if !valid {
            return Err(format!(
                "--assume-role {role:?}: not a role name (letters, digits and +=,.@_-) nor a \
                 role ARN containing {{account}}"
            ));
        }
        Ok(format!("arn:{{partition}}:iam::{{account}}:role/{role}"))
    }

    /// The role's ARN in `account` of `partition` (templates recorded before roles named their
    /// partition say `arn:aws:`).
    pub fn arn(&self, account: &str, partition: &str) -> String {
        self.template
            .replace("{account}", account)
            .replace("{partition}", partition)
    }
}

/// The pacing key of the base credentials' own account (its id may not be known).
pub const SELF: &str = "self";

/// Why an account cannot be reached, said once per account.
pub type Unreachable = String;

#[derive(Debug)]
pub struct Accounts {
    base_sdk: SdkConfig,
    base: Arc<Cloud>,
    /// Set once: from the flags, or adopted from the run or plan being taken up.
    roles: std::sync::OnceLock<Roles>,
    /// Every account asked for so far, reached or not.
    reached: tokio::sync::Mutex<HashMap<String, Result<Arc<Cloud>, Unreachable>>>,
    /// The run the role sessions are named after.
    run: std::sync::OnceLock<i64>,
    /// The base account as far as STS could tell, asked once (`None`: it could not).
    base_lookup: tokio::sync::OnceCell<Option<String>>,
    /// Session credentials first seen longer ago are refreshed before a customer-key Start.
    max_credential_age: Duration,
}

impl Accounts {
    pub fn new(sdk: SdkConfig, roles: Option<Roles>, max_credential_age: Duration) -> Self {
        Accounts {
            max_credential_age,
            base: Arc::new(Cloud::new(sdk.clone())),
            base_sdk: sdk,
            roles: roles.map(std::sync::OnceLock::from).unwrap_or_default(),
            reached: tokio::sync::Mutex::default(),
            run: std::sync::OnceLock::new(),
            base_lookup: tokio::sync::OnceCell::new(),
        }
    }

    /// Names the role sessions after `run` (`firehose-sse-run-<N>`, as CloudTrail shows them)
    /// unless `--role-session-name` named them; the first run set wins.
    pub fn set_run(&self, run: i64) {
        let _ = self.run.set(run);
    }

    fn session_name(&self, roles: &Roles) -> String {
        match (&roles.session_name, self.run.get()) {
            (Some(name), _) => name.clone(),
            (None, Some(run)) => format!("firehose-sse-run-{run}"),
            (None, None) => "firehose-sse".to_owned(),
        }
    }

    /// The base credentials' clients.
    pub fn base(&self) -> &Arc<Cloud> {
        &self.base
    }

    pub fn roles(&self) -> Option<&Roles> {
        self.roles.get()
    }

    /// Takes up the roles a run or plan was made with when none were given now (the flags win);
    /// learns the base account for pacing. Before any other account is reached.
    pub async fn adopt_roles(&self, roles: Option<Roles>) -> Result<(), CallError> {
        if let Some(roles) = roles
            && self.roles.set(roles).is_ok()
        {
            self.base_account().await?;
        }
        Ok(())
    }

    /// The account the base credentials act in (STS, asked once).
    pub async fn base_account(&self) -> Result<String, CallError> {
        self.base.caller_account().await
    }

    /// The base account when it is known already (no call).
    pub fn base_account_now(&self) -> Option<&str> {
        self.base.caller_account_now()
    }

    /// The account pacing files a stream under: its own, or — for a row that names none, or
    /// names the base credentials' — [`SELF`].
    pub fn pace_key<'a>(&'a self, account: Option<&'a str>) -> &'a str {
        match account {
            Some(a) if self.roles().is_some() && self.base_account_now() != Some(a) => a,
            _ => SELF,
        }
    }

    /// The clients that act in `account` (`None`: the base credentials' account). Without
    /// `--assume-role` that is the base credentials, for their own account only: a stream
    /// known to be another's is refused (an endpoint without STS, which cannot say whose the
    /// credentials are, is trusted as before). Reached once; later calls are a lookup.
    pub async fn cloud(&self, account: Option<&str>) -> Result<Arc<Cloud>, Unreachable> {
        let Some(account) = account else {
            return Ok(self.base.clone());
        };
        if self.roles().is_none() {
            let base = self
                .base_lookup
                .get_or_init(|| async { self.base_account().await.ok() })
                .await;
            return match base {
                Some(base) if base != account => Err(format!(
                    "the credentials act in account {base}; reaching account {account} needs \
                     --assume-role"
                )),
                _ => Ok(self.base.clone()),
            };
        }
        self.reach(account).await
    }

    /// Makes sure the clients of `account` may create a KMS grant (see
    /// [`Cloud::fresh_for_grant`]); says why not.
    pub async fn fresh_for_grant(&self, cloud: &Cloud) -> Result<(), super::Unfit> {
        cloud.fresh_for_grant(self.max_credential_age).await
    }

    /// The clients of `account`, assuming the role there when it is not the base account; an
    /// account that cannot be reached says why (no `--assume-role`, AssumeRole refused, or
    /// credentials that act in another account).
    pub async fn reach(&self, account: &str) -> Result<Arc<Cloud>, Unreachable> {
        let mut reached = self.reached.lock().await;
        if let Some(known) = reached.get(account) {
            return known.clone();
        }
        let result = self.assume(account).await;
        reached.insert(account.to_owned(), result.clone());
        result
    }

    async fn assume(&self, account: &str) -> Result<Arc<Cloud>, Unreachable> {
        let base = self.base_account().await.map_err(|e| {
            format!("the credentials' own account is unknown (STS GetCallerIdentity: {e})")
        })?;
        if base == account {
            return Ok(self.base.clone());
        }
        let Some(roles) = self.roles() else {
            return Err(format!(
                "the credentials act in account {base}; reaching account {account} needs \
                 --assume-role"
            ));
        };
        // The role is in the partition of the Region STS is called in (IAM credentials of one
        // partition reach nothing in another).
        let region = self.base_sdk.region().map_or("us-east-1", |r| r.as_ref());
        let arn = roles.arn(account, partition_of(region));
        let mut provider = AssumeRoleProvider::builder(arn.clone())
            .session_name(self.session_name(roles))
            .session_length(roles.duration)
            .configure(&self.base_sdk);
        if let Some(region) = self.base_sdk.region() {
            provider = provider.region(region.clone());
        }
        if let Some(id) = &roles.external_id {
            provider = provider.external_id(id.clone());
        }
        let provider = provider.build().await;
        let sdk = self
            .base_sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .identity_cache(IdentityCache::lazy().build())
            .build();
        let cloud = Arc::new(Cloud::fetching(sdk));
        match cloud.caller_account().await {
            Ok(acting) if acting == account => Ok(cloud),
            Ok(acting) => Err(format!(
                "the credentials of role {arn} act in account {acting}, not {account}"
            )),
            Err(e) => Err(format!("cannot assume role {arn}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_a_name_or_a_template() {
        assert_eq!(
            Roles::template_of("firehose-sse").unwrap(),
            "arn:{partition}:iam::{account}:role/firehose-sse"
        );
        assert_eq!(
            Roles::template_of("arn:aws-us-gov:iam::{account}:role/ops/sse").unwrap(),
            "arn:aws-us-gov:iam::{account}:role/ops/sse"
        );
        let roles = Roles {
            template: Roles::template_of("ops/sse").unwrap(),
            external_id: None,
            session_name: None,
            duration: Duration::from_secs(3600),
        };
        assert_eq!(
            roles.arn("111111111111", "aws"),
            "arn:aws:iam::111111111111:role/ops/sse"
        );
        // A role name follows the partition of the run's Region: GovCloud, China.
        assert_eq!(
            roles.arn("111111111111", "aws-us-gov"),
            "arn:aws-us-gov:iam::111111111111:role/ops/sse"
        );
        assert_eq!(
            roles.arn("111111111111", "aws-cn"),
            "arn:aws-cn:iam::111111111111:role/ops/sse"
        );
        // A template recorded with its partition, and one the operator wrote, keep theirs.
        let recorded = Roles {
            template: "arn:aws:iam::{account}:role/x".into(),
            ..roles
        };
        assert_eq!(
            recorded.arn("111111111111", "aws"),
            "arn:aws:iam::111111111111:role/x"
        );
        let err = Roles::template_of("arn:aws:iam::111111111111:role/x").unwrap_err();
        assert!(err.contains("{account}"), "{err}");
        assert!(Roles::template_of("not a role!").is_err());
        assert!(Roles::template_of("").is_err());
    }
}
