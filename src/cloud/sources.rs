//! The reads beside Firehose that say where a stream's encryption belongs: Kinesis
//! `DescribeStreamSummary` (the encryption of the Kinesis stream a `KinesisStreamAsSource`
//! stream reads from) and the Resource Groups Tagging API's `GetResources` (the streams of a
//! Region that CloudFormation stacks own, by their `aws:cloudformation:stack-name` tag, 100 a
//! page). Both only read; SDK retries are off (the caller paces and retries).

use aws_config::retry::RetryConfig;
use aws_sdk_kinesis::types::EncryptionType;

use super::Cloud;
use super::error::{CallError, classify};
use crate::iac::STACK_NAME_TAG;
use crate::model::SourceEncryption;

/// The resource type of Firehose streams in the Tagging API (`service:resourceType`, as in
/// their ARNs).
pub const FIREHOSE_RESOURCE_TYPE: &str = "firehose:deliverystream";

/// The most resources a GetResources page holds (its API reference).
const RESOURCES_PER_PAGE: i32 = 100;

/// One page of GetResources: each resource's ARN and tags, and the token of the next page
/// (`None` on the last).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaggedPage {
    pub resources: Vec<(String, Vec<(String, String)>)>,
    pub next: Option<String>,
}

impl Cloud {
    /// Kinesis `DescribeStreamSummary` of the stream `arn`, in `region`: its encryption.
    pub async fn describe_source(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<SourceEncryption, CallError> {
        let config = aws_sdk_kinesis::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(RetryConfig::disabled())
            .build();
        let out = aws_sdk_kinesis::Client::from_conf(config)
            .describe_stream_summary()
            .stream_arn(arn)
            .send()
            .await
            .map_err(classify)?;
        let summary = out.stream_description_summary().ok_or_else(|| {
            CallError::Unknown(format!(
                "DescribeStreamSummary of {arn} returned no StreamDescriptionSummary"
            ))
        })?;
        Ok(match (summary.encryption_type(), summary.key_id()) {
            (Some(EncryptionType::Kms), Some(key)) => SourceEncryption::Kms {
                key_id: key.to_owned(),
            },
            (Some(EncryptionType::Kms), None) => SourceEncryption::Kms {
                key_id: "(not given)".to_owned(),
            },
            _ => SourceEncryption::None,
        })
    }

    /// One page of the Tagging API's GetResources in `region`: the Firehose streams with the
    /// CloudFormation stack-name tag, after `token`.
    pub async fn stack_streams_page(
        &self,
        region: &str,
        token: Option<&str>,
    ) -> Result<TaggedPage, CallError> {
        let config = aws_sdk_resourcegroupstagging::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(RetryConfig::disabled())
            .build();
        let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
            .key(STACK_NAME_TAG)
            .build();
        let out = aws_sdk_resourcegroupstagging::Client::from_conf(config)
            .get_resources()
            .resource_type_filters(FIREHOSE_RESOURCE_TYPE)
            .tag_filters(filter)
            .resources_per_page(RESOURCES_PER_PAGE)
            .set_pagination_token(token.map(str::to_owned))
            .send()
            .await
            .map_err(classify)?;
        let resources = out
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|m| {
                let arn = m.resource_arn()?.to_owned();
                let tags = m
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                Some((arn, tags))
            })
            .collect();
        Ok(TaggedPage {
            resources,
            next: out
                .pagination_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }
}
