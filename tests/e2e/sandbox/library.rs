//! The sandbox as a library: started in-process on a clock the test moves.

use aws_sdk_firehose::types::DeliveryStreamEncryptionStatus as Enc;

use super::{REGION, describe, enc_status, start, stop};
use crate::common::firehose_client;

/// The library API other commands and benchmarks use: an in-process sandbox, here on a clock
/// the test moves, so a 24 h budget window passes in no time.
#[tokio::test]
async fn in_process_sandbox_with_a_manual_clock() {
    use firehose_sse_sandbox::{ManualClock, Sandbox, SandboxConfig, Seed};
    use std::sync::Arc;

    let clock = ManualClock::at(1_800_000_000_000);
    let config = SandboxConfig {
        stream_budget: 2,
        tps: 0,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with_clock(
        "127.0.0.1:0".parse().unwrap(),
        config,
        Seed::generated(1, REGION),
        Arc::new(clock.clone()),
    )
    .await
    .unwrap();
    let url = sandbox.endpoint();
    assert!(url.starts_with("http://127.0.0.1:"));
    let fh = firehose_client(&url, REGION);
    let s = "stream-00000";
    start(&fh, s, None).await.unwrap();
    assert_eq!(enc_status(&describe(&fh, s).await), Enc::Enabling);
    clock.advance(60_000); // past any drawn latency (≤ 10 × 5 s)
    assert_eq!(enc_status(&describe(&fh, s).await), Enc::Enabled);
    stop(&fh, s).await.unwrap();
    clock.advance(60_000);
    assert_eq!(
        start(&fh, s, None).await.unwrap_err(),
        "LimitExceededException"
    );
    // 24 h after the first call, one slot is free again.
    clock.advance(24 * 3_600_000 - 120_000);
    start(&fh, s, None).await.unwrap();
    let truth = sandbox.stats();
    let t = truth.stream(REGION, s).unwrap();
    assert_eq!((t.start_calls, t.stop_calls, t.calls_in_window), (2, 1, 2));
    assert_eq!(truth.limit_exceeded.stream_budget, 1);

    sandbox.shutdown().await;
    let refused = fh.list_delivery_streams().send().await;
    assert!(refused.is_err(), "still serving after shutdown");
}
