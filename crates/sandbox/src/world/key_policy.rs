//! KMS key policies: every key has one, named `default` — KMS's default key policy (the
//! statement "Enable IAM User Permissions": the owning account's root may do `kms:*`, which
//! lets the account's IAM policies decide) unless the seed gives it another — read by
//! GetKeyPolicy and replaced by PutKeyPolicy, and who may use a key (`key_access`): the key
//! policy and the caller's identity policies together, as `iam::authorize` evaluates a
//! resource-based policy.
//!
//! PutKeyPolicy refuses, as its API reference says: a policy name other than `default`
//! (`AWS_RAM`: `ValidationException` "The AWS_RAM policy can only be managed by the RAM
//! service."), a policy over 32 KB (`LimitExceededException`), one that is not a key policy or
//! names a principal that does not exist (`MalformedPolicyDocumentException`), and — unless
//! `BypassPolicyLockoutSafetyCheck` — one that would not let the caller put a key policy again.
//! Neither operation works on another account's key (`AccessDeniedException`).

use super::World;
use super::iam::{Actor, Context, Denial, Document};
use super::keys::Key;
use crate::vocabulary::policy::PolicyKind;
use crate::vocabulary::{ApiError, KmsKeyArn, codes, partition};

/// The only key policy name PutKeyPolicy sets.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// The longest key policy KMS takes, in bytes.
const MAX_KEY_POLICY: usize = 32 * 1024;

impl World {
    /// The key `key_id` names for a caller of `account`, refused when it is another account's
    /// (key policy operations are not cross-account).
    fn own_key(
        &mut self,
        caller_arn: &str,
        account: &str,
        region: &str,
        key_id: &str,
        action: &str,
    ) -> Result<&mut Key, ApiError> {
        let key = self.find_key(account, region, key_id)?;
        if key.account != account {
            let denial = Denial {
                explicit: false,
                by_resource_policy: true,
            };
            return Err(ApiError::new(
                codes::ACCESS_DENIED,
                denial.message(caller_arn, action, &key.arn),
            ));
        }
        Ok(key)
    }

    /// GetKeyPolicy: the key policy `name` (default `default`) of a key of the caller's
    /// account.
    pub fn get_key_policy(
        &mut self,
        caller_arn: &str,
        account: &str,
        region: &str,
        key_id: &str,
        name: Option<&str>,
    ) -> Result<&str, ApiError> {
        let key = self.own_key(caller_arn, account, region, key_id, "kms:GetKeyPolicy")?;
        let name = name.unwrap_or(DEFAULT_POLICY_NAME);
        if name != DEFAULT_POLICY_NAME {
            return Err(ApiError::new(
                codes::KMS_NOT_FOUND,
                format!("No {name} key policy found for {}.", key.arn),
            ));
        }
        Ok(&key.policy.text)
    }

    /// PutKeyPolicy by `actor`.
    #[allow(clippy::too_many_arguments)]
    pub fn put_key_policy(
        &mut self,
        actor: &Actor,
        caller_arn: &str,
        region: &str,
        key_id: &str,
        name: Option<&str>,
        text: &str,
        bypass_lockout_check: bool,
    ) -> Result<(), ApiError> {
        let account = actor.account().to_owned();
        let key = self.own_key(caller_arn, &account, region, key_id, "kms:PutKeyPolicy")?;
        let arn = key.arn.clone();
        match name.unwrap_or(DEFAULT_POLICY_NAME) {
            DEFAULT_POLICY_NAME => {}
            "AWS_RAM" => {
                return Err(ApiError::new(
                    codes::VALIDATION,
                    "The AWS_RAM policy can only be managed by the RAM service.",
                ));
            }
            other => {
                return Err(ApiError::new(
                    codes::VALIDATION,
                    format!(
                        "{other} is not a key policy name PutKeyPolicy sets; the only one is default."
                    ),
                ));
            }
        }
        if text.len() > MAX_KEY_POLICY {
            return Err(ApiError::new(
                codes::LIMIT_EXCEEDED,
                format!("The key policy exceeds the maximum size of {MAX_KEY_POLICY} bytes."),
            ));
        }
        let malformed = |m: String| ApiError::new(codes::KMS_MALFORMED_POLICY_DOCUMENT, m);
        let document = Document::read(text, PolicyKind::Key).map_err(malformed)?;
        if self.unknown_principal(&document.policy).is_some() {
            return Err(malformed(
                "Policy contains a statement with one or more invalid principals.".to_owned(),
            ));
        }
        if !bypass_lockout_check
            && self
                .authorize_with(
                    actor,
                    partition(region),
                    &document.policy,
                    &account,
                    "kms:PutKeyPolicy",
                    &arn,
                    &Context::default(),
                )
                .is_err()
        {
            return Err(malformed(
                "The new key policy will not allow you to update the key policy in the future."
                    .to_owned(),
            ));
        }
        let parsed = KmsKeyArn::parse(&arn).expect("a key's own ARN reads");
        if let Some(key) = self.key_by_arn(&parsed) {
            key.policy = document;
        }
        Ok(())
    }

    /// Whether `actor` may do `action` (`kms:GenerateDataKey`, `kms:Decrypt`) with the key
    /// `key` through Firehose in `region`: its key policy and the actor's identity policies,
    /// with `kms:ViaService` = `firehose.<region>.amazonaws.com`.
    pub(crate) fn key_access(
        &self,
        actor: &Actor,
        region: &str,
        key: &Key,
        action: &str,
    ) -> Result<(), Denial> {
        let context = Context::default().with(
            "kms:ViaService",
            vec![format!("firehose.{region}.amazonaws.com")],
        );
        self.authorize_with(
            actor,
            partition(region),
            &key.policy.policy,
            &key.account,
            action,
            &key.arn,
            &context,
        )
    }
}

impl World {
    /// Whether `actor` may do `action` on the key `arn` as KMS decides a request made directly
    /// (`context` its context keys): the key policy and the actor's identity policies for a
    /// key of the actor's account; for a key of another account, the identity policies alone
    /// (the world file's keys of another account are there to be used by it: their policy is
    /// taken to allow the account). A key the world does not know: identity policies alone
    /// (the operation answers that it does not exist).
    pub(crate) fn key_authorized(
        &self,
        actor: &Actor,
        region: &str,
        arn: &str,
        action: &str,
        context: &Context,
    ) -> Result<(), Denial> {
        let key = KmsKeyArn::parse(arn).ok().and_then(|parsed| {
            self.keys
                .get(&parsed.account)?
                .get(&parsed.region)?
                .get(&parsed.key_id)
        });
        match key {
            Some(key) if key.account == actor.account() => self.authorize_with(
                actor,
                partition(region),
                &key.policy.policy,
                &key.account,
                action,
                &key.arn,
                context,
            ),
            _ => self.authorize(actor, action, arn, context),
        }
    }

    /// The grant Firehose creates with a customer key on the Start's caller's behalf:
    /// `kms:CreateGrant` with `kms:GrantIsForAWSResource` true and `kms:ViaService`
    /// `firehose.<region>.amazonaws.com`. Refused: `InvalidKMSResourceException`, `code`
    /// `AccessDeniedException`.
    pub(crate) fn grant_refused(
        &self,
        actor: &Actor,
        region: &str,
        arn: &str,
    ) -> Result<(), ApiError> {
        let context = Context::default()
            .with("kms:GrantIsForAWSResource", vec!["true".to_owned()])
            .with(
                "kms:ViaService",
                vec![format!("firehose.{region}.amazonaws.com")],
            );
        self.key_authorized(actor, region, arn, "kms:CreateGrant", &context)
            .map_err(|denial| {
                let who = self.who(actor, partition(region));
                let caller = who.arns.last().cloned().unwrap_or_default();
                ApiError::invalid_kms_resource(
                    codes::ACCESS_DENIED,
                    format!(
                        "Firehose could not create a grant on the CMK {arn} for the caller: {}",
                        denial.message(&caller, "kms:CreateGrant", arn)
                    ),
                )
            })
    }
}
