//! The AWS limits the sandbox enforces: the per-stream budget in a rolling window (refusals do
//! not count), the streams-per-key limit (ENABLING streams count), and a throttle bucket per
//! operation and region.

use std::time::{Duration, Instant};

use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::DeliveryStreamEncryptionStatus as Enc;

use super::{REGION, aws_owned, customer, describe, enc_status, settled, start, stop, write_fleet};
use crate::common::{Sandbox, key_arn};

#[tokio::test]
async fn the_stream_budget_holds_in_a_rolling_window_and_refusals_do_not_count() {
    let sb = Sandbox::start(&[
        "--streams",
        "1",
        "--tps",
        "0",
        "--latency",
        "20ms",
        "--stream-budget",
        "3",
        "--window",
        "2s",
    ]);
    let fh = sb.firehose(REGION);
    let s = "stream-00000";
    stop(&fh, s).await.unwrap();
    let first_done = Instant::now();
    // The other calls come later, so only the first has left the window when we try again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    start(&fh, s, None).await.unwrap();
    // Refused while ENABLING: does not count.
    assert_eq!(stop(&fh, s).await.unwrap_err(), "ResourceInUseException");
    settled(&fh, s).await;
    stop(&fh, s).await.unwrap();
    settled(&fh, s).await;
    assert_eq!(
        start(&fh, s, None).await.unwrap_err(),
        "LimitExceededException"
    );
    assert_eq!(stop(&fh, s).await.unwrap_err(), "LimitExceededException");

    let stats = sb.stats();
    let truth = stats.stream(REGION, s).unwrap();
    assert_eq!(
        (
            truth.start_calls,
            truth.stop_calls,
            truth.calls_in_window,
            truth.rejected_calls
        ),
        (1, 2, 3, 3)
    );
    assert_eq!(stats.limit_exceeded.stream_budget, 2);

    // The first call leaves the window 2 s after it arrived.
    let wait = Duration::from_millis(2_050).saturating_sub(first_done.elapsed());
    tokio::time::sleep(wait).await;
    start(&fh, s, None).await.unwrap();
    let truth = sb.stats();
    let truth = truth.stream(REGION, s).unwrap();
    assert_eq!((truth.start_calls, truth.calls_in_window), (2, 3));
}

#[tokio::test]
async fn the_cmk_limit_counts_enabled_and_enabling_streams() {
    let fleet = write_fleet(
        r#"{"streams": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}],
            "keys": [{"id": "shared"}]}"#,
    );
    let sb = Sandbox::start(&[
        "--fleet",
        fleet.path().to_str().unwrap(),
        "--tps",
        "0",
        "--latency",
        "1s",
        "--cmk-limit",
        "2",
    ]);
    let fh = sb.firehose(REGION);
    let shared = key_arn(REGION, "shared");
    start(&fh, "a", Some(customer(&shared))).await.unwrap();
    start(&fh, "b", Some(customer(&shared))).await.unwrap();
    assert_eq!(
        start(&fh, "c", Some(customer(&shared))).await.unwrap_err(),
        "LimitExceededException"
    );
    // Both were still ENABLING when c was refused.
    assert_eq!(enc_status(&describe(&fh, "a").await), Enc::Enabling);
    assert_eq!(enc_status(&describe(&fh, "b").await), Enc::Enabling);
    // AWS-owned keys have no such limit.
    start(&fh, "d", Some(aws_owned())).await.unwrap();

    settled(&fh, "a").await;
    settled(&fh, "b").await;
    assert_eq!(
        start(&fh, "c", Some(customer(&shared))).await.unwrap_err(),
        "LimitExceededException"
    );
    stop(&fh, "a").await.unwrap();
    assert_eq!(
        start(&fh, "c", Some(customer(&shared))).await.unwrap_err(),
        "LimitExceededException",
        "a DISABLING stream still holds its key"
    );
    settled(&fh, "a").await;
    start(&fh, "c", Some(customer(&shared))).await.unwrap();

    let stats = sb.stats();
    assert_eq!(stats.limit_exceeded.cmk_limit, 3);
    assert_eq!(stats.cmk_streams.get(&shared), Some(&2));
    let c = stats.stream(REGION, "c").unwrap();
    assert_eq!(
        (c.start_calls, c.rejected_calls, c.calls_in_window),
        (1, 3, 1)
    );
}

#[tokio::test]
async fn throttling_is_a_bucket_per_operation_and_region() {
    let sb = Sandbox::start(&["--streams", "1", "--tps", "3", "--latency", "50ms"]);
    let fh = sb.firehose(REGION);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let fh = fh.clone();
        calls.spawn(async move {
            fh.describe_delivery_stream()
                .delivery_stream_name("stream-00000")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.code().map(str::to_owned), e.message().map(str::to_owned)))
        });
    }
    let results = calls.join_all().await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let throttled: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    // A burst of 3, plus at most a refill or two while the 12 arrive.
    assert!((3..=5).contains(&ok), "{ok} of 12 passed a bucket of 3");
    assert_eq!(ok + throttled.len(), 12);
    for (code, message) in &throttled {
        assert_eq!(code.as_deref(), Some("ThrottlingException"));
        assert_eq!(message.as_deref(), Some("Rate exceeded"));
    }
    // Another operation, another region: other buckets.
    fh.list_delivery_streams().send().await.unwrap();
    let elsewhere = sb
        .firehose("eu-west-1")
        .list_delivery_streams()
        .send()
        .await;
    assert!(elsewhere.unwrap().delivery_stream_names().is_empty());

    let stats = sb.stats();
    assert_eq!(stats.requests_for("DescribeDeliveryStream"), 12);
    assert_eq!(
        stats.throttled_for("DescribeDeliveryStream"),
        throttled.len() as u64
    );
    assert_eq!(stats.throttled_for("ListDeliveryStreams"), 0);
    assert_eq!(stats.max_rate["DescribeDeliveryStream"], 12);

    // The bucket refills at 3 per second.
    tokio::time::sleep(Duration::from_millis(700)).await;
    describe(&fh, "stream-00000").await;
    describe(&fh, "stream-00000").await;
}
