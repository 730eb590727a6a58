//! Code that owns streams, pure: which streams a CloudFormation stack or a Terraform state
//! manages, whether the code's next deploy would undo the change this tool makes, and the
//! change to make in the code instead.
//!
//! - CloudFormation tags every resource of a stack with `aws:cloudformation:stack-name` (and
//!   `aws:cloudformation:logical-id`), as its User Guide says; the Tagging API's GetResources
//!   lists them a Region at a time (`survey::owners` makes those calls). CloudFormation updates
//!   a resource only for the properties its template changes: a stream encrypted outside it
//!   drifts, and keeps its encryption until the template's
//!   `DeliveryStreamEncryptionConfigurationInput` property changes.
//! - Terraform: the JSON of `terraform show -json` (`terraform`): every
//!   `aws_kinesis_firehose_delivery_stream` of the root and child modules, by ARN (else name),
//!   with its `server_side_encryption` block as the state last read it. The AWS provider calls
//!   Start/Stop whenever the block in the code differs from what it reads, and leaves an absent
//!   block alone (the block's `DiffSuppressFunc` is `SuppressMissingOptionalConfigurationBlock`).
//!   The state cannot say whether the code has the block (the provider writes the block it
//!   reads either way), so a state block that differs from the target means "reverted if the
//!   code sets it".

pub mod terraform;

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::model::{KeyChoice, StreamId};

pub use terraform::{TfSse, TfStream};

/// The tag CloudFormation puts on every resource of a stack, naming the stack.
pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";

/// The tag naming a resource's logical id in its stack's template.
pub const LOGICAL_ID_TAG: &str = "aws:cloudformation:logical-id";

/// Who owns a stream's configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Owner {
    /// A CloudFormation stack (its `aws:cloudformation:stack-name` tag), with the stream's
    /// logical id in the template when tagged.
    Stack {
        name: String,
        logical_id: Option<String>,
    },
    /// A Terraform resource (its address in the state), with the `server_side_encryption`
    /// block the state holds (`None`: none).
    Terraform {
        address: String,
        state: String,
        sse: Option<TfSse>,
    },
}

/// What the owner's next deploy does to a stream moved to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextDeploy {
    /// Keeps the target (the code already says it, or says nothing about encryption).
    Keeps,
    /// CloudFormation: the stream drifts, and keeps the target until the template's property
    /// changes.
    KeepsUntilTemplateChanges,
    /// Terraform: back to what the state's block says (`to`), if the code has the block.
    RevertsIfInCode { to: String },
}

impl NextDeploy {
    /// Its stable name in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            NextDeploy::Keeps => "keeps",
            NextDeploy::KeepsUntilTemplateChanges => "keeps_until_template_changes",
            NextDeploy::RevertsIfInCode { .. } => "reverts_if_in_code",
        }
    }
}

/// A change to make in the code so its next deploy keeps the target: a file name and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChange {
    pub file: String,
    pub text: String,
}

impl Owner {
    /// `stack S` or `terraform ADDRESS`.
    pub fn label(&self) -> String {
        match self {
            Owner::Stack { name, .. } => format!("stack {name}"),
            Owner::Terraform { address, .. } => format!("terraform {address}"),
        }
    }

    /// What the next deploy of the owner does once the stream is at `target`.
    pub fn next_deploy(&self, target: &KeyChoice) -> NextDeploy {
        match self {
            Owner::Stack { .. } => NextDeploy::KeepsUntilTemplateChanges,
            Owner::Terraform { sse: None, .. } => NextDeploy::Keeps,
            Owner::Terraform { sse: Some(sse), .. } if sse.is(target) => NextDeploy::Keeps,
            Owner::Terraform { sse: Some(sse), .. } => {
                NextDeploy::RevertsIfInCode { to: sse.describe() }
            }
        }
    }

    /// The plan line's note: `⚠ owned by stack S …` / `⚠ terraform: ADDRESS …`.
    pub fn note(&self, target: &KeyChoice) -> String {
        let next = self.next_deploy(target);
        match (self, next) {
            (Owner::Stack { name, .. }, _) => format!(
                "⚠ owned by stack {name}: CloudFormation leaves the change as drift until the \
                 template's DeliveryStreamEncryptionConfigurationInput changes; put it in the \
                 template (--out-iac)"
            ),
            (Owner::Terraform { address, .. }, NextDeploy::RevertsIfInCode { to }) => format!(
                "⚠ terraform: {address}: the next apply reverts it to {to} if the code has a \
                 server_side_encryption block; change the code (--out-iac)"
            ),
            (Owner::Terraform { address, .. }, _) => format!(
                "⚠ terraform: {address}: the next apply keeps it; say it in the code too \
                 (--out-iac)"
            ),
        }
    }

    /// The owner as JSON, with what its next deploy does once the stream is at `target`.
    pub fn json(&self, target: &KeyChoice) -> Value {
        let next = self.next_deploy(target);
        let reverts_to = match &next {
            NextDeploy::RevertsIfInCode { to } => Some(to.clone()),
            _ => None,
        };
        match self {
            Owner::Stack { name, logical_id } => json!({
                "kind": "cloudformation",
                "stack": name,
                "logical_id": logical_id,
                "next_deploy": next.as_str(),
            }),
            Owner::Terraform {
                address,
                state,
                sse,
            } => json!({
                "kind": "terraform",
                "address": address,
                "state": state,
                "server_side_encryption": sse.as_ref().map(TfSse::json),
                "next_deploy": next.as_str(),
                "reverts_to": reverts_to,
            }),
        }
    }

    /// The change to make in the owner's code for `stream` to stay at `target`.
    pub fn change(&self, stream: &StreamId, target: &KeyChoice) -> CodeChange {
        let slug = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let place = format!(
            "stream {} ({}, account {})",
            stream.name, stream.region, stream.account
        );
        match self {
            Owner::Terraform { address, .. } => {
                let mut text = format!(
                    "# firehose-sse: the server_side_encryption block of {address}, {place},\n\
                     # so that its next `terraform apply` keeps the encryption firehose-sse sets.\n\
                     server_side_encryption {{\n"
                );
                match target {
                    KeyChoice::Off => text.push_str("  enabled = false\n"),
                    KeyChoice::AwsOwned => {
                        text.push_str("  enabled  = true\n  key_type = \"AWS_OWNED_CMK\"\n")
                    }
                    KeyChoice::Customer(arn) => text.push_str(&format!(
                        "  enabled  = true\n  key_type = \"CUSTOMER_MANAGED_CMK\"\n  key_arn  = \"{arn}\"\n"
                    )),
                }
                text.push_str("}\n");
                CodeChange {
                    file: format!("terraform-{}.tf.txt", slug(address)),
                    text,
                }
            }
            Owner::Stack { name, logical_id } => {
                let resource = logical_id.as_deref().unwrap_or("(its logical id)");
                let mut text = format!(
                    "# firehose-sse: in stack {name}, resource {resource} \
                     (AWS::KinesisFirehose::DeliveryStream, {place}),\n\
                     # under Properties, so the template says the encryption firehose-sse sets.\n"
                );
                match target {
                    KeyChoice::Off => text.push_str(
                        "# Remove the DeliveryStreamEncryptionConfigurationInput property.\n",
                    ),
                    KeyChoice::AwsOwned => text.push_str(
                        "DeliveryStreamEncryptionConfigurationInput:\n  KeyType: AWS_OWNED_CMK\n",
                    ),
                    KeyChoice::Customer(arn) => text.push_str(&format!(
                        "DeliveryStreamEncryptionConfigurationInput:\n  KeyType: CUSTOMER_MANAGED_CMK\n  KeyARN: {arn}\n"
                    )),
                }
                CodeChange {
                    file: format!(
                        "cloudformation-{}-{}.yaml",
                        slug(name),
                        slug(logical_id.as_deref().unwrap_or(&stream.name))
                    ),
                    text,
                }
            }
        }
    }
}

/// What the run is told of the code that owns streams: the streams of the `--terraform-state`
/// files (read when the command line is).
#[derive(Debug, Clone, Default)]
pub struct IacInput {
    pub terraform: std::sync::Arc<Vec<TfStream>>,
}

/// The owners of the streams the run may touch: by stream ARN, and (Terraform resources whose
/// state has no ARN) by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    by_arn: HashMap<String, Owner>,
    by_name: HashMap<String, Owner>,
}

impl Owners {
    /// Owners from Terraform states' streams.
    pub fn from_terraform(streams: &[TfStream]) -> Owners {
        let mut owners = Owners::default();
        for s in streams {
            let owner = Owner::Terraform {
                address: s.address.clone(),
                state: s.state.clone(),
                sse: s.sse.clone(),
            };
            match &s.arn {
                Some(arn) => owners.by_arn.insert(arn.clone(), owner),
                None => owners.by_name.insert(s.name.clone(), owner),
            };
        }
        owners
    }

    /// Adds the stack of a resource the Tagging API listed with `tags` (nothing when it has
    /// no stack-name tag). A stream Terraform also claims keeps its Terraform owner.
    pub fn add_tagged(&mut self, arn: &str, tags: &[(String, String)]) {
        let tag = |k: &str| {
            tags.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        if let Some(name) = tag(STACK_NAME_TAG) {
            self.by_arn.entry(arn.to_owned()).or_insert(Owner::Stack {
                name,
                logical_id: tag(LOGICAL_ID_TAG),
            });
        }
    }

    /// The owner of the stream `arn` named `name`, if any.
    pub fn owner(&self, arn: &str, name: &str) -> Option<&Owner> {
        self.by_arn.get(arn).or_else(|| self.by_name.get(name))
    }

    pub fn is_empty(&self) -> bool {
        self.by_arn.is_empty() && self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests;
