//! The wire protocol as the SDK reads it: List and Describe of every source and destination
//! type parse, Create and Delete go through their states, and the region comes from the
//! request's signature.

use std::time::{Duration, Instant};

use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::{
    AuthenticationConfiguration, Connectivity, CopyCommand, DeliveryStreamEncryptionStatus as Enc,
    DeliveryStreamStatus, DeliveryStreamType, ExtendedS3DestinationConfiguration,
    HttpEndpointConfiguration, HttpEndpointDestinationConfiguration,
    KinesisStreamSourceConfiguration, MskSourceConfiguration, RedshiftDestinationConfiguration,
    S3DestinationConfiguration,
};

use super::{REGION, code, describe};
use crate::common::{ACCOUNT, Sandbox};

#[tokio::test]
async fn describe_and_list_parse_with_the_sdk() {
    let sb = Sandbox::start(&["--streams", "25", "--tps", "0", "--latency", "50ms"]);
    let fh = sb.firehose(REGION);

    let mut all = Vec::new();
    let mut start: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = fh
            .list_delivery_streams()
            .limit(10)
            .set_exclusive_start_delivery_stream_name(start.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        all.extend(page.delivery_stream_names().iter().cloned());
        if !page.has_more_delivery_streams() {
            break;
        }
        start = all.last().cloned();
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("stream-{i:05}")).collect();
    assert_eq!(all, expected);

    let d = describe(&fh, "stream-00003").await;
    assert_eq!(d.delivery_stream_name(), "stream-00003");
    assert_eq!(
        d.delivery_stream_arn(),
        format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/stream-00003")
    );
    assert_eq!(d.delivery_stream_status(), &DeliveryStreamStatus::Active);
    assert_eq!(d.delivery_stream_type(), &DeliveryStreamType::DirectPut);
    let enc = d.delivery_stream_encryption_configuration().unwrap();
    assert_eq!(enc.status(), Some(&Enc::Disabled));
    assert_eq!((enc.key_type(), enc.key_arn()), (None, None));
    let created = d.create_timestamp().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - created).abs() < 60,
        "CreateTimestamp in epoch seconds"
    );
    let s3 = d.destinations()[0]
        .extended_s3_destination_description()
        .unwrap();
    assert!(!s3.bucket_arn().is_empty());

    // Created streams, of every source type, echo their configuration well enough to parse.
    let role = format!("arn:aws:iam::{ACCOUNT}:role/firehose");
    let kinesis_arn = format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks");
    fh.create_delivery_stream()
        .delivery_stream_name("from-kinesis")
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(
            KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(&kinesis_arn)
                .role_arn(&role)
                .build()
                .unwrap(),
        )
        .extended_s3_destination_configuration(
            ExtendedS3DestinationConfiguration::builder()
                .role_arn(&role)
                .bucket_arn("arn:aws:s3:::clicks")
                .prefix("raw/")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let created = fh
        .create_delivery_stream()
        .delivery_stream_name("to-http")
        .http_endpoint_destination_configuration(
            HttpEndpointDestinationConfiguration::builder()
                .endpoint_configuration(
                    HttpEndpointConfiguration::builder()
                        .url("https://collector.example.com")
                        .access_key("secret")
                        .build()
                        .unwrap(),
                )
                .s3_configuration(
                    S3DestinationConfiguration::builder()
                        .role_arn(&role)
                        .bucket_arn("arn:aws:s3:::backup")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.delivery_stream_arn(),
        Some(format!("arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/to-http").as_str())
    );
    let again = fh
        .create_delivery_stream()
        .delivery_stream_name("to-http")
        .send()
        .await;
    assert_eq!(code(again), "ResourceInUseException");

    fh.create_delivery_stream()
        .delivery_stream_name("from-msk")
        .delivery_stream_type(DeliveryStreamType::MskAsSource)
        .msk_source_configuration(
            MskSourceConfiguration::builder()
                .msk_cluster_arn(format!("arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/c/1"))
                .topic_name("events")
                .authentication_configuration(
                    AuthenticationConfiguration::builder()
                        .role_arn(&role)
                        .connectivity(Connectivity::Private)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .redshift_destination_configuration(
            RedshiftDestinationConfiguration::builder()
                .role_arn(&role)
                // The model's ClusterJDBCURL pattern wants a Redshift host name.
                .cluster_jdbcurl("jdbc:redshift://examplecluster.abc123xyz789.us-east-1.redshift.amazonaws.com:5439/db")
                .copy_command(
                    CopyCommand::builder()
                        .data_table_name("events")
                        .build()
                        .unwrap(),
                )
                .username("loader")
                .password("hunter2")
                .s3_configuration(
                    S3DestinationConfiguration::builder()
                        .role_arn(&role)
                        .bucket_arn("arn:aws:s3:::staging")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let d = describe(&fh, "from-msk").await;
    let msk = d.source().unwrap().msk_source_description().unwrap();
    assert_eq!(msk.topic_name(), Some("events"));
    let redshift = d.destinations()[0]
        .redshift_destination_description()
        .unwrap();
    assert_eq!(
        redshift.cluster_jdbcurl(),
        "jdbc:redshift://examplecluster.abc123xyz789.us-east-1.redshift.amazonaws.com:5439/db"
    );
    assert_eq!(
        redshift.s3_destination_description().unwrap().bucket_arn(),
        "arn:aws:s3:::staging"
    );
    let raw = sb.call(
        "Firehose_20150804.DescribeDeliveryStream",
        r#"{"DeliveryStreamName": "from-msk"}"#,
    );
    assert!(!raw.body.contains("hunter2"), "secrets are not echoed");

    let d = describe(&fh, "from-kinesis").await;
    assert_eq!(
        d.delivery_stream_type(),
        &DeliveryStreamType::KinesisStreamAsSource
    );
    let source = d
        .source()
        .unwrap()
        .kinesis_stream_source_description()
        .unwrap();
    assert_eq!(source.kinesis_stream_arn(), Some(kinesis_arn.as_str()));
    let s3 = d.destinations()[0]
        .extended_s3_destination_description()
        .unwrap();
    assert_eq!(
        (s3.bucket_arn(), s3.prefix()),
        ("arn:aws:s3:::clicks", Some("raw/"))
    );

    let d = describe(&fh, "to-http").await;
    let http = d.destinations()[0]
        .http_endpoint_destination_description()
        .unwrap();
    let endpoint = http.endpoint_configuration().unwrap();
    assert_eq!(endpoint.url(), Some("https://collector.example.com"));
    assert_eq!(
        http.s3_destination_description().unwrap().bucket_arn(),
        "arn:aws:s3:::backup"
    );

    // CREATING, then ACTIVE after the latency.
    let deadline = Instant::now() + Duration::from_secs(5);
    while describe(&fh, "to-http").await.delivery_stream_status() != &DeliveryStreamStatus::Active {
        assert!(Instant::now() < deadline, "to-http never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let kinesis_only = fh
        .list_delivery_streams()
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .send()
        .await
        .unwrap();
    assert_eq!(kinesis_only.delivery_stream_names(), ["from-kinesis"]);

    // Delete: DELETING, then gone.
    fh.delete_delivery_stream()
        .delivery_stream_name("to-http")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = fh
            .describe_delivery_stream()
            .delivery_stream_name("to-http")
            .send()
            .await;
        match r {
            Ok(out) => assert_eq!(
                out.delivery_stream_description()
                    .unwrap()
                    .delivery_stream_status(),
                &DeliveryStreamStatus::Deleting
            ),
            Err(e) => {
                assert_eq!(e.code(), Some("ResourceNotFoundException"));
                break;
            }
        }
        assert!(Instant::now() < deadline, "to-http never went away");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_region_comes_from_the_signature() {
    let sb = Sandbox::start(&["--region", "eu-central-1", "--streams", "1", "--tps", "0"]);
    // Seeded streams and unsigned requests use --region.
    let unsigned = sb.call("Firehose_20150804.ListDeliveryStreams", "{}");
    assert_eq!(
        unsigned.json()["DeliveryStreamNames"],
        serde_json::json!(["stream-00000"])
    );
    let central = sb.firehose("eu-central-1");
    describe(&central, "stream-00000").await;
    let east = sb.firehose(REGION);
    assert_eq!(
        code(
            east.describe_delivery_stream()
                .delivery_stream_name("stream-00000")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    let created = sb
        .firehose("ap-southeast-2")
        .create_delivery_stream()
        .delivery_stream_name("sydney")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.delivery_stream_arn(),
        Some(format!("arn:aws:firehose:ap-southeast-2:{ACCOUNT}:deliverystream/sydney").as_str())
    );
    let stats = sb.stats();
    let regions: Vec<_> = stats
        .streams
        .iter()
        .map(|s| (s.region.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        regions,
        [
            ("ap-southeast-2", "sydney"),
            ("eu-central-1", "stream-00000")
        ]
    );
    // A China region gets its partition in ARNs.
    let cn = sb
        .firehose("cn-north-1")
        .create_delivery_stream()
        .delivery_stream_name("beijing")
        .send()
        .await
        .unwrap();
    assert!(
        cn.delivery_stream_arn()
            .unwrap()
            .starts_with("arn:aws-cn:firehose:cn-north-1:")
    );
}
