//! Injected faults (delays, 500s, dropped connections), and ground truth saying whether each
//! faulted Start took effect.

use std::time::{Duration, Instant};

use aws_sdk_firehose::error::{ProvideErrorMetadata, SdkError};

use super::REGION;
use crate::common::Sandbox;

#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    InternalFailure,
    Dropped,
}

#[tokio::test]
async fn faults_are_injected_and_ground_truth_says_whether_a_start_applied() {
    let sb = Sandbox::start(&[
        "--streams",
        "15",
        "--tps",
        "0",
        "--latency",
        "50ms",
        "--fault-rate",
        "1",
        "--seed",
        "7",
    ]);
    let fh = sb.firehose(REGION);
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..15 {
        let fh = fh.clone();
        calls.spawn(async move {
            let name = format!("stream-{i:05}");
            let began = Instant::now();
            let r = fh
                .start_delivery_stream_encryption()
                .delivery_stream_name(&name)
                .send()
                .await;
            let outcome = match r {
                Ok(_) => Outcome::Ok,
                Err(SdkError::ServiceError(e)) => {
                    assert_eq!(e.err().code(), Some("InternalFailure"));
                    assert_eq!(e.raw().status().as_u16(), 500);
                    Outcome::InternalFailure
                }
                Err(other) => {
                    assert!(other.code().is_none(), "{other:?}");
                    Outcome::Dropped
                }
            };
            (name, outcome, began.elapsed())
        });
    }
    let results = calls.join_all().await;
    let count = |o: Outcome| results.iter().filter(|r| r.1 == o).count() as u64;
    let (ok, internal, dropped) = (
        count(Outcome::Ok),
        count(Outcome::InternalFailure),
        count(Outcome::Dropped),
    );
    assert!(ok > 0 && internal > 0 && dropped > 0, "{results:?}");
    for (_, outcome, took) in &results {
        if *outcome == Outcome::Ok {
            assert!(
                *took >= Duration::from_secs(2),
                "a delayed answer took {took:?}"
            );
        }
    }

    // The admin endpoint is never faulted, even at rate 1.
    let stats = sb.stats();
    let f = &stats.faults;
    assert_eq!(
        (f.delayed, f.internal_failure, f.dropped),
        (ok, internal, dropped)
    );
    assert_eq!(f.log.len(), 15);
    let applied = f
        .applied
        .get("StartDeliveryStreamEncryption")
        .copied()
        .unwrap_or(0);
    let not_applied = f
        .not_applied
        .get("StartDeliveryStreamEncryption")
        .copied()
        .unwrap_or(0);
    assert_eq!(applied + not_applied, 15);
    assert!(applied > ok, "some 500s or drops were applied: {f:?}");
    assert!(not_applied > 0, "some were not: {f:?}");
    for record in &f.log {
        let name = record.stream.as_deref().unwrap();
        let truth = stats.stream(REGION, name).unwrap();
        let client_saw = &results.iter().find(|r| r.0 == name).unwrap().1;
        if record.applied {
            assert_eq!(truth.start_calls, 1, "{name} applied");
            assert_eq!(truth.calls_in_window, 1);
            assert_ne!(truth.status, "DISABLED");
            assert_eq!(truth.key_in_force.is_some(), truth.status == "ENABLED");
        } else {
            assert_eq!(truth.start_calls, 0, "{name} not applied");
            assert_eq!(truth.status, "DISABLED");
            assert_ne!(*client_saw, Outcome::Ok);
        }
        if *client_saw == Outcome::Ok {
            assert!(record.applied && record.kind == "delayed");
        }
    }
}
