use super::*;

#[test]
fn interner_shares_one_copy_per_string() {
    let mut names = Interner::default();
    let a = names.get("us-east-1");
    let b = names.get("us-east-1");
    let c = names.get("eu-west-1");
    assert!(Arc::ptr_eq(&a, &b));
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!((&*a, &*c), ("us-east-1", "eu-west-1"));
}

#[test]
fn stream_names() {
    assert!(is_valid_stream_name("a"));
    assert!(is_valid_stream_name("orders_v2.prod-1"));
    assert!(is_valid_stream_name(&"x".repeat(64)));
    assert!(!is_valid_stream_name(&"x".repeat(65)));
    assert!(!is_valid_stream_name(""));
    assert!(!is_valid_stream_name("has space"));
    assert!(!is_valid_stream_name("ѕtream")); // Cyrillic look-alike
}

#[test]
fn regions() {
    for ok in [
        "us-east-1",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
        "ap-southeast-5",
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
    ] {
        assert!(!is_valid_region(bad), "{bad}");
    }
}

#[test]
fn partitions_follow_the_sdks_table() {
    for (region, partition, global) in [
        ("us-east-1", "aws", "us-east-1"),
        ("eu-west-3", "aws", "us-east-1"),
        ("il-central-1", "aws", "us-east-1"),
        ("us-gov-west-1", "aws-us-gov", "us-gov-west-1"),
        ("us-gov-east-1", "aws-us-gov", "us-gov-west-1"),
        ("cn-north-1", "aws-cn", "cn-northwest-1"),
        ("cn-northwest-1", "aws-cn", "cn-northwest-1"),
        ("us-iso-east-1", "aws-iso", "us-iso-east-1"),
        ("us-isob-east-1", "aws-iso-b", "us-isob-east-1"),
        ("eu-isoe-west-1", "aws-iso-e", "eu-isoe-west-1"),
        ("us-isof-south-1", "aws-iso-f", "us-isof-south-1"),
        ("eusc-de-east-1", "aws-eusc", "eusc-de-east-1"),
    ] {
        assert_eq!(partition_of(region), partition, "{region}");
        assert_eq!(global_region(partition), global, "{partition}");
        assert_eq!(partition_of(global), partition, "{global}");
    }
    // Not a prefix of a longer area name.
    assert_eq!(partition_of("cnx-north-1"), "aws");
}

#[test]
fn an_arn_names_its_regions_partition() {
    let gov = "arn:aws-us-gov:firehose:us-gov-west-1:123456789012:deliverystream/logs";
    assert_eq!(FirehoseArn::parse(gov).unwrap().partition, "aws-us-gov");
    let cn = "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd";
    assert_eq!(KmsKeyArn::parse(cn).unwrap().region(), "cn-north-1");
    assert_eq!(
        KmsKeyArn::parse("arn:aws:kms:cn-north-1:123456789012:key/1234abcd"),
        Err(ArnError::WrongPartition(
            "aws".into(),
            "cn-north-1".into(),
            "aws-cn"
        ))
    );
    assert!(
        FirehoseArn::parse("arn:aws-cn:firehose:us-east-1:123456789012:deliverystream/x").is_err()
    );
}

#[test]
fn firehose_arn() {
    let arn =
        FirehoseArn::parse("arn:aws:firehose:eu-west-1:123456789012:deliverystream/logs").unwrap();
    assert_eq!(
        (arn.region.as_str(), arn.account.as_str(), arn.name.as_str()),
        ("eu-west-1", "123456789012", "logs")
    );
    assert_eq!(
        FirehoseArn::parse("arn:aws:kinesis:eu-west-1:123456789012:stream/logs"),
        Err(ArnError::Service("kinesis".into(), "firehose"))
    );
    assert!(FirehoseArn::parse("arn:aws:firehose:eu-west-1:1234:deliverystream/logs").is_err());
    assert!(FirehoseArn::parse("arn:aws:firehose:eu-west-1:123456789012:logs").is_err());
}

#[test]
fn kms_arn() {
    let text =
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let arn = KmsKeyArn::parse(text).unwrap();
    assert_eq!(arn.region(), "us-gov-west-1");
    assert_eq!(arn.account(), "123456789012");
    assert_eq!(arn.key_id(), "1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_eq!(arn.as_str(), text);
    assert_eq!(
        KmsKeyArn::parse("arn:aws:kms:us-east-1:123456789012:alias/prod"),
        Err(ArnError::KmsAlias)
    );
    assert!(KmsKeyArn::parse("arn:aws:kms:us-east-1:123456789012:key/").is_err());
    assert!(KmsKeyArn::parse("1234abcd-12ab-34cd-56ef-1234567890ab").is_err());
}
