//! The vocabulary against AWS's published shapes, and where the sandbox's rule differs from
//! them on purpose.

use super::*;

#[test]
fn stream_names_are_the_delivery_stream_name_shape() {
    assert!(is_valid_stream_name("a"));
    assert!(is_valid_stream_name("orders_v2.prod-1"));
    assert!(is_valid_stream_name(&"x".repeat(64)));
    assert!(!is_valid_stream_name(&"x".repeat(65)));
    assert!(!is_valid_stream_name(""));
    assert!(!is_valid_stream_name("has space"));
    assert!(!is_valid_stream_name("a/b"));
    assert!(!is_valid_stream_name("ѕtream")); // Cyrillic look-alike
}

#[test]
fn regions() {
    for ok in [
        "us-east-1",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "ap-southeast-5",
        "mx-central-1",
    ] {
        assert!(is_valid_region(ok), "{ok}");
    }
    for bad in [
        "",
        "us-east",
        "US-EAST-1",
        "useast1",
        "us-east-1a",
        "u-east-1",
        "us--1",
        "us-east-100",
        // In partitions.json (aws-eusc) but not a region to the sandbox: see is_valid_region.
        "eusc-de-east-1",
    ] {
        assert!(!is_valid_region(bad), "{bad}");
    }
}

#[test]
fn partitions_of_regions() {
    assert_eq!(partition("us-east-1"), "aws");
    assert_eq!(partition("cn-northwest-1"), "aws-cn");
    assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    assert_eq!(partition("us-iso-east-1"), "aws-iso");
    assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
    // partitions.json says aws-iso-f; the sandbox has always said aws (see `partition`).
    assert_eq!(partition("us-isof-south-1"), "aws");
    assert_eq!(
        firehose_arn("cn-north-1", "123456789012", "logs"),
        "arn:aws-cn:firehose:cn-north-1:123456789012:deliverystream/logs"
    );
    assert_eq!(
        kms_key_arn("us-gov-west-1", "123456789012", "k"),
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/k"
    );
}

#[test]
fn kms_key_arns_are_read_field_by_field() {
    let text =
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let arn = KmsKeyArn::parse(text).unwrap();
    assert_eq!(
        (
            arn.partition.as_str(),
            arn.region.as_str(),
            arn.account.as_str(),
            arn.key_id.as_str()
        ),
        (
            "aws-us-gov",
            "us-gov-west-1",
            "123456789012",
            "1234abcd-12ab-34cd-56ef-1234567890ab"
        )
    );
    assert_eq!(arn.to_string(), text);
    let mrk = KmsKeyArn::parse("arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd").unwrap();
    assert_eq!(mrk.key_id, "mrk-1234abcd");
}

#[test]
fn kms_key_arn_refusals_name_the_problem_in_order() {
    let refused = |text: &str| KmsKeyArn::parse(text).unwrap_err();
    assert_eq!(
        refused("1234abcd-12ab-34cd-56ef-1234567890ab"),
        ArnError::NotAnArn
    );
    assert_eq!(refused("urn:aws:kms:us-east-1:1:key/k"), ArnError::NotAnArn);
    assert_eq!(
        refused("arn:aws-xx:kms:us-east-1:123456789012:key/k"),
        ArnError::Partition("aws-xx".into())
    );
    assert_eq!(
        refused("arn:aws:s3:::bucket"),
        ArnError::Service("s3".into())
    );
    // An alias is called one even when its region or account is wrong too
    // (AWSKMSKeyARNForSSE has no alias/ form).
    assert_eq!(refused("arn:aws:kms:nowhere:1:alias/prod"), ArnError::Alias);
    assert_eq!(
        refused("arn:aws:kms:us-east:123456789012:key/k"),
        ArnError::Region("us-east".into())
    );
    assert_eq!(
        refused("arn:aws:kms:us-east-1:1234:key/k"),
        ArnError::Account("1234".into())
    );
    for resource in ["key/", "key/a_b", "key/a/b", "keys/k", "k"] {
        assert_eq!(
            refused(&format!("arn:aws:kms:us-east-1:123456789012:{resource}")),
            ArnError::Resource(resource.into()),
            "{resource}"
        );
    }
    assert_eq!(
        ArnError::Service("s3".into()).to_string(),
        r#"is an ARN of service "s3", expected "kms""#
    );
}

#[test]
fn api_enums_are_spelled_exactly() {
    assert_eq!(
        StreamType::parse("MSKAsSource"),
        Some(StreamType::MskAsSource)
    );
    assert_eq!(StreamType::parse("directput"), None);
    assert_eq!(
        StreamType::list(),
        "DirectPut, KinesisStreamAsSource, MSKAsSource, DatabaseAsSource"
    );
    assert_eq!(
        KeyType::parse("CUSTOMER_MANAGED_CMK"),
        Some(KeyType::CustomerManaged)
    );
    assert_eq!(KeyType::parse("aws_owned_cmk"), None);
    assert_eq!(
        StreamStatus::parse("CREATING_FAILED"),
        Some(StreamStatus::CreatingFailed)
    );
    assert_eq!(EncStatus::EnablingFailed.as_str(), "ENABLING_FAILED");
    assert!(KEY_SPECS.contains(&"SYMMETRIC_DEFAULT") && KEY_USAGES.contains(&"ENCRYPT_DECRYPT"));
}

#[test]
fn manual_clock_moves_only_when_told() {
    let clock = ManualClock::at(10);
    let other = clock.clone();
    clock.advance(5);
    assert_eq!(other.now(), 15);
    clock.set(3);
    assert_eq!(other.now(), 3);
    assert!(SystemClock.now() > 1_700_000_000_000);
}

#[test]
fn api_errors_are_400_but_internal_failure_and_expired_credentials() {
    assert_eq!(
        ApiError::new(codes::THROTTLING, "Rate exceeded").status(),
        400
    );
    assert_eq!(ApiError::new(codes::INTERNAL_FAILURE, "x").status(), 500);
    // Expired credentials are 403 in JSON services (AWS's Common Errors) and in the query
    // protocol.
    assert_eq!(ApiError::new(codes::EXPIRED_TOKEN, "x").status(), 403);
    assert_eq!(ApiError::new(codes::EXPIRED_TOKEN_QUERY, "x").status(), 403);
}
