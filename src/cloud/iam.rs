//! The producer check's calls: IAM `GetAccountAuthorizationDetails` (one page at a time, so
//! the caller paces each) and `SimulatePrincipalPolicy`, and KMS `GetKeyPolicy` — answers
//! converted into `producers` types (the SDK leaves IAM's URL-encoded policy documents encoded;
//! `producers::policy` decodes them), errors classified into [`CallError`]. Retries off, as for
//! every call here: the caller paces and retries.

use aws_config::retry::RetryConfig;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, EntityType};

use super::error::classify;
use super::{CallError, Cloud};
use crate::model::{KmsKeyArn, global_region};
use crate::producers::assess::{Simulated, Simulation};
use crate::producers::{Decision, Details, Entity, PolicyText};

/// Entries per page of `GetAccountAuthorizationDetails` and `SimulatePrincipalPolicy` (the API's
/// `MaxItems` allows up to 1000).
const PAGE: i32 = 1000;

fn policies(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<PolicyText> {
    list.iter()
        .map(|p| PolicyText {
            name: p.policy_name().unwrap_or_default().to_owned(),
            document: p.policy_document().unwrap_or_default().to_owned(),
        })
        .collect()
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<String> {
    list.iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect()
}

impl Cloud {
    fn iam(&self, region: &str) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// One page of `GetAccountAuthorizationDetails` (roles, users, groups, local and AWS
    /// managed policies) and the next page's marker.
    pub async fn authorization_details_page(
        &self,
        partition: &str,
        marker: Option<String>,
    ) -> Result<(Details, Option<String>), CallError> {
        let mut into = Details::default();
        let out = self
            .iam(global_region(partition))
            .get_account_authorization_details()
            .set_filter(Some(vec![
                EntityType::Role,
                EntityType::User,
                EntityType::Group,
                EntityType::LocalManagedPolicy,
                EntityType::AwsManagedPolicy,
            ]))
            .max_items(PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(classify)?;
        for r in out.role_detail_list() {
            into.roles.push(Entity {
                name: r.role_name().unwrap_or_default().to_owned(),
                arn: r.arn().unwrap_or_default().to_owned(),
                inline: policies(r.role_policy_list()),
                attached: attached(r.attached_managed_policies()),
                trust: r.assume_role_policy_document().map(str::to_owned),
                groups: Vec::new(),
                has_boundary: r.permissions_boundary().is_some(),
            });
        }
        for u in out.user_detail_list() {
            into.users.push(Entity {
                name: u.user_name().unwrap_or_default().to_owned(),
                arn: u.arn().unwrap_or_default().to_owned(),
                inline: policies(u.user_policy_list()),
                attached: attached(u.attached_managed_policies()),
                trust: None,
                groups: u.group_list().to_vec(),
                has_boundary: u.permissions_boundary().is_some(),
            });
        }
        for g in out.group_detail_list() {
            into.groups.push(Entity {
                name: g.group_name().unwrap_or_default().to_owned(),
                arn: g.arn().unwrap_or_default().to_owned(),
                inline: policies(g.group_policy_list()),
                attached: attached(g.attached_managed_policies()),
                ..Entity::default()
            });
        }
        for p in out.policies() {
            let (Some(arn), Some(default)) = (p.arn(), p.default_version_id()) else {
                continue;
            };
            if let Some(doc) = p
                .policy_version_list()
                .iter()
                .find(|v| v.is_default_version() || v.version_id() == Some(default))
                .and_then(|v| v.document())
            {
                into.policies.insert(arn.to_owned(), doc.to_owned());
            }
        }
        let next = match (out.is_truncated(), out.marker()) {
            (true, Some(m)) if !m.is_empty() => Some(m.to_owned()),
            _ => None,
        };
        Ok((into, next))
    }

    /// One page of `SimulatePrincipalPolicy`; returns the answers (one per action and resource,
    /// read from `ResourceSpecificResults` where the answer gives them, else from each result's
    /// own resource) and the next page's marker.
    pub async fn simulate_page(
        &self,
        partition: &str,
        simulation: &Simulation,
        marker: Option<String>,
    ) -> Result<(Vec<Simulated>, Option<String>), CallError> {
        let context = simulation
            .context
            .iter()
            .map(|c| {
                ContextEntry::builder()
                    .context_key_name(c.key)
                    .context_key_type(match c.kind {
                        "boolean" => ContextKeyTypeEnum::Boolean,
                        _ => ContextKeyTypeEnum::String,
                    })
                    .context_key_values(c.value.clone())
                    .build()
            })
            .collect();
        let out = self
            .iam(global_region(partition))
            .simulate_principal_policy()
            .policy_source_arn(&simulation.principal)
            .set_action_names(Some(simulation.actions.clone()))
            .set_resource_arns(Some(simulation.resources.clone()))
            .set_context_entries(Some(context))
            .max_items(PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(classify)?;
        let mut answers = Vec::new();
        for r in out.evaluation_results() {
            let action = r.eval_action_name().to_owned();
            let specific = r.resource_specific_results();
            if specific.is_empty() {
                let decision = decision(r.eval_decision().as_str(), r.missing_context_values())?;
                answers.push(Simulated {
                    action,
                    resource: r.eval_resource_name().unwrap_or("*").to_owned(),
                    decision,
                });
                continue;
            }
            for s in specific {
                // A resource's own missing keys, else the action's.
                let missing = match s.missing_context_values() {
                    [] => r.missing_context_values(),
                    m => m,
                };
                answers.push(Simulated {
                    action: action.clone(),
                    resource: s.eval_resource_name().to_owned(),
                    decision: decision(s.eval_resource_decision().as_str(), missing)?,
                });
            }
        }
        let next = match (out.is_truncated(), out.marker()) {
            (true, Some(m)) if !m.is_empty() => Some(m.to_owned()),
            _ => None,
        };
        Ok((answers, next))
    }

    /// KMS `GetKeyPolicy` (policy `default`, the only name KMS has), in the key's region.
    pub async fn key_policy(&self, key: &KmsKeyArn) -> Result<String, CallError> {
        let out = self
            .kms(key.region())
            .get_key_policy()
            .key_id(key.as_str())
            .policy_name("default")
            .send()
            .await
            .map_err(classify)?;
        out.policy()
            .map(str::to_owned)
            .ok_or_else(|| CallError::Unknown(format!("GetKeyPolicy of {key} returned no Policy")))
    }
}

fn decision(text: &str, missing: &[String]) -> Result<Decision, CallError> {
    Decision::parse(text, missing.to_vec()).ok_or_else(|| {
        CallError::Unknown(format!(
            "SimulatePrincipalPolicy answered an unknown decision {text:?}"
        ))
    })
}
