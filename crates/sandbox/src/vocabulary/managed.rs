//! The AWS managed policies the sandbox knows (`arn:<partition>:iam::aws:policy/<name>`): a few,
//! each with the document, description, default version and dates the AWS Managed Policy
//! Reference Guide gives (its pages give times to the minute; the documents are written in the
//! guide's spacing). Their policy ids are the sandbox's own (`ANPA` + 17 characters derived
//! from the ARN): the guide does not publish AWS's.

use super::Millis;

/// One AWS managed policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsManagedPolicy {
    pub name: &'static str,
    pub description: &'static str,
    /// `DefaultVersionId`.
    pub version: &'static str,
    pub created: Millis,
    pub updated: Millis,
    pub document: &'static str,
}

/// The AWS managed policies a user, group or role may attach in the sandbox; any other AWS
/// managed policy ARN names no policy (`NoSuchEntity`).
pub const AWS_MANAGED_POLICIES: [AwsManagedPolicy; 4] = [
    AwsManagedPolicy {
        name: "AdministratorAccess",
        description: "Provides full access to AWS services and resources.",
        version: "v1",
        created: 1_423_247_940_000, // 2015-02-06T18:39Z
        updated: 1_423_247_940_000,
        document: "{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {\n    \"Effect\" : \"Allow\",\n    \"Action\" : \"*\",\n    \"Resource\" : \"*\"\n  } ]\n}",
    },
    AwsManagedPolicy {
        name: "PowerUserAccess",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        version: "v12",
        created: 1_423_247_940_000, // 2015-02-06T18:39Z
        updated: 1_770_919_140_000, // 2026-02-12T17:59Z
        document: "{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {\n    \"Effect\" : \"Allow\",\n    \"NotAction\" : [ \"iam:*\", \"organizations:*\", \"account:*\" ],\n    \"Resource\" : \"*\"\n  }, {\n    \"Effect\" : \"Allow\",\n    \"Action\" : [ \"account:GetAccountInformation\", \"account:GetGovCloudAccountInformation\", \"account:GetPrimaryEmail\", \"account:ListRegions\", \"iam:CreateServiceLinkedRole\", \"iam:DeleteServiceLinkedRole\", \"iam:ListRoles\", \"organizations:DescribeEffectivePolicy\", \"organizations:DescribeOrganization\" ],\n    \"Resource\" : \"*\"\n  } ]\n}",
    },
    AwsManagedPolicy {
        name: "AmazonKinesisFirehoseFullAccess",
        description: "Provides full access to all Amazon Kinesis Firehose Delivery Streams.",
        version: "v1",
        created: 1_444_243_500_000, // 2015-10-07T18:45Z
        updated: 1_444_243_500_000,
        document: "{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {\n    \"Action\" : [ \"firehose:*\" ],\n    \"Effect\" : \"Allow\",\n    \"Resource\" : \"*\"\n  } ]\n}",
    },
    AwsManagedPolicy {
        name: "AmazonKinesisFirehoseReadOnlyAccess",
        description: "Provides read only access to all Amazon Kinesis Firehose Delivery Streams.",
        version: "v1",
        created: 1_444_243_380_000, // 2015-10-07T18:43Z
        updated: 1_444_243_380_000,
        document: "{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {\n    \"Action\" : [ \"firehose:Describe*\", \"firehose:List*\" ],\n    \"Effect\" : \"Allow\",\n    \"Resource\" : \"*\"\n  } ]\n}",
    },
];

/// The policy every account's base user `sandbox` and every role seeded without a trust policy
/// has attached: it lets them do anything, as they always could.
pub const ADMINISTRATOR_ACCESS: &str = "AdministratorAccess";

/// The AWS managed policy called `name`.
pub fn aws_managed_policy(name: &str) -> Option<&'static AwsManagedPolicy> {
    AWS_MANAGED_POLICIES.iter().find(|p| p.name == name)
}

/// The ARN of AWS managed policy `name`: `arn:<partition>:iam::aws:policy/<name>`.
pub fn aws_managed_arn(partition: &str, name: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{name}")
}
