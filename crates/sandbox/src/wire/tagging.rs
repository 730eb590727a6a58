//! The Resource Groups Tagging API on the wire (`ResourceGroupsTaggingAPI_20170126.*`, AWS JSON
//! 1.1, botocore's `resourcegroupstaggingapi/2017-01-26`): `GetResources`, read by its input
//! model, its pages cut here. The model lists `smithy-rpc-v2-cbor` first and `json` second;
//! boto3 and the Rust SDK (`aws-sdk-resourcegroupstagging` 1.119) send JSON, the one protocol
//! served.
//!
//! Pages: `ResourcesPerPage` resources (1 to 100, default 50), `PaginationToken` an opaque
//! token bound to the filters it pages, `""` on the last page (as the API answers it, so a
//! client's paginator stops). A token the sandbox did not write for these filters:
//! `InvalidParameterException`.

use serde::{Deserialize, Serialize};

use super::model::Service;
use super::request::read;
use super::{Op, to_bytes};
use crate::vocabulary::{ApiError, Millis, codes};
use crate::world::{Caller, ResourceQuery, TagFilter, World};

/// The target prefix of the Tagging API's operations.
pub const TARGET_PREFIX: &str = "ResourceGroupsTaggingAPI_20170126.";

/// The resources a page holds unless `ResourcesPerPage` says otherwise.
const DEFAULT_PER_PAGE: usize = 50;

/// A Tagging API request, read.
#[derive(Debug, Clone)]
pub enum Request {
    GetResources(GetResourcesInput),
}

/// `GetResourcesInput`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcesInput {
    #[serde(default)]
    pagination_token: Option<String>,
    #[serde(default)]
    tag_filters: Vec<TagFilterInput>,
    #[serde(default)]
    resources_per_page: Option<i64>,
    #[serde(default)]
    tags_per_page: Option<i64>,
    #[serde(default)]
    resource_type_filters: Vec<String>,
    #[serde(default)]
    include_compliance_details: Option<bool>,
    #[serde(default)]
    exclude_compliant_resources: Option<bool>,
    #[serde(rename = "ResourceARNList", default)]
    resource_arn_list: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagFilterInput {
    #[serde(default)]
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

impl Request {
    /// Reads `body` as the input of `op`, a Tagging API operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        Ok(Request::GetResources(read(
            Service::Tagging,
            op.name(),
            body,
        )?))
    }

    /// Carries the request of `caller` out in its account and `region`.
    pub fn execute(
        &self,
        world: &mut World,
        caller: &Caller,
        region: &str,
        now: Millis,
    ) -> Result<Vec<u8>, ApiError> {
        let Request::GetResources(input) = self;
        let invalid = |m: &str| ApiError::new(codes::INVALID_PARAMETER, m);
        let per_page = match input.resources_per_page {
            None => DEFAULT_PER_PAGE,
            Some(n @ 1..=100) => n as usize,
            Some(_) => {
                return Err(invalid(
                    "ResourcesPerPage must be between 1 and 100 (inclusive).",
                ));
            }
        };
        if input
            .tags_per_page
            .is_some_and(|n| !(100..=500).contains(&n))
        {
            return Err(invalid(
                "TagsPerPage must be between 100 and 500 (inclusive).",
            ));
        }
        if input.exclude_compliant_resources == Some(true)
            && input.include_compliance_details != Some(true)
        {
            return Err(invalid(
                "ExcludeCompliantResources can be true only with IncludeComplianceDetails true.",
            ));
        }
        let query = ResourceQuery {
            types: input.resource_type_filters.clone(),
            tags: input
                .tag_filters
                .iter()
                .map(|f| TagFilter {
                    key: f.key.clone(),
                    values: f.values.clone(),
                })
                .collect(),
            arns: input.resource_arn_list.clone(),
        };
        let found = world.tagged_resources(&caller.account, region, &query, now)?;
        let bound = fingerprint(&caller.account, region, input);
        let start = match input.pagination_token.as_deref() {
            None | Some("") => 0,
            Some(token) => token
                .strip_prefix(&format!("{bound}-"))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n <= found.len())
                .ok_or_else(|| invalid("The PaginationToken is not valid for this request."))?,
        };
        let end = (start + per_page).min(found.len());
        let compliance = input.include_compliance_details == Some(true);
        let list = found[start..end]
            .iter()
            .map(|r| ResourceTagMapping {
                resource_arn: &r.arn,
                tags: r
                    .tags
                    .iter()
                    .map(|(key, value)| Tag { key, value })
                    .collect(),
                compliance_details: compliance.then_some(ComplianceDetails {
                    noncompliant_keys: [],
                    keys_with_noncompliant_values: [],
                    compliance_status: true,
                }),
            })
            .collect();
        let token = match end < found.len() {
            true => format!("{bound}-{end}"),
            false => String::new(),
        };
        Ok(to_bytes(&GetResourcesOutput {
            pagination_token: token,
            resource_tag_mapping_list: list,
        }))
    }
}

/// What a token is bound to: the account, Region and filters it pages (FNV-1a, hex).
fn fingerprint(account: &str, region: &str, input: &GetResourcesInput) -> String {
    let mut text = format!("{account}|{region}|");
    for t in &input.resource_type_filters {
        text.push_str(t);
        text.push(',');
    }
    text.push('|');
    for f in &input.tag_filters {
        text.push_str(&f.key);
        text.push('=');
        text.push_str(&f.values.join(","));
        text.push(';');
    }
    text.push('|');
    text.push_str(&input.resource_arn_list.join(","));
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("sbx{hash:016x}")
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetResourcesOutput<'a> {
    pagination_token: String,
    resource_tag_mapping_list: Vec<ResourceTagMapping<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceTagMapping<'a> {
    #[serde(rename = "ResourceARN")]
    resource_arn: &'a str,
    tags: Vec<Tag<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compliance_details: Option<ComplianceDetails>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag<'a> {
    key: &'a str,
    value: &'a str,
}

/// No tag policy is modelled: every resource is compliant.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ComplianceDetails {
    noncompliant_keys: [&'static str; 0],
    keys_with_noncompliant_values: [&'static str; 0],
    compliance_status: bool,
}
