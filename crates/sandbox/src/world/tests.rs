//! The world's rules, each on a hand-moved clock: the budget window, lazy transitions, key
//! counts through rekeys, failure types, the throttle, faults, and stream life cycles.

use std::time::Duration;

use serde_json::Value;

use super::stream::Pending;
use super::*;
use crate::seed::Seed;
use crate::seed::{SeedFailure, SeedKey, SeedStream};
use crate::stats::StreamStats;
use crate::vocabulary::codes::{
    INVALID_ARGUMENT, INVALID_KMS_RESOURCE, LIMIT_EXCEEDED, RESOURCE_IN_USE, RESOURCE_NOT_FOUND,
};
use crate::vocabulary::{EncStatus, StreamStatus, StreamType};

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
/// The sandbox's own account.
const A: &str = "123456789012";

fn config() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

fn arn(id: &str) -> String {
    format!("arn:aws:kms:{R}:123456789012:key/{id}")
}

fn world(config: SandboxConfig, streams: usize, keys: Vec<SeedKey>) -> World {
    let mut seed = Seed::generated(streams, R);
    seed.keys = keys;
    World::new(&config, &seed, T0).unwrap()
}

fn name(i: usize) -> String {
    format!("stream-{i:05}")
}

/// Far enough for any drawn transition (capped at 10× the median).
const SETTLED: Millis = 10_001;

fn truth(w: &mut World, now: Millis, i: usize) -> StreamStats {
    w.stats(now).stream(R, &name(i)).unwrap().clone()
}

#[test]
fn budget_counts_accepted_calls_in_a_rolling_window() {
    let mut w = world(
        SandboxConfig {
            stream_budget: 3,
            window: Duration::from_secs(10),
            latency: Duration::ZERO,
            ..config()
        },
        1,
        vec![],
    );
    let s = name(0);
    for t in 0..3 {
        w.stop_encryption(A, R, &s, T0 + t * 1_000).unwrap();
    }
    let err = w
        .start_encryption(A, R, &s, KeyRef::AwsOwned, "", T0 + 3_000)
        .unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    // Still full one millisecond before the first call leaves the window.
    let err = w.stop_encryption(A, R, &s, T0 + 9_999).unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    let t = truth(&mut w, T0 + 9_999, 0);
    assert_eq!(
        (t.stop_calls, t.calls_in_window, t.rejected_calls),
        (3, 3, 2)
    );
    assert_eq!(w.stats(T0).limit_exceeded.stream_budget, 2);
    // The first call is out of the window at exactly +10 s: one slot frees.
    w.start_encryption(A, R, &s, KeyRef::AwsOwned, "", T0 + 10_000)
        .unwrap();
    let t = truth(&mut w, T0 + 10_000, 0);
    assert_eq!((t.start_calls, t.calls_in_window), (1, 3));
    assert_eq!(t.status, "ENABLED");
    let err = w.stop_encryption(A, R, &s, T0 + 10_500).unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
}

#[test]
fn refused_calls_do_not_count() {
    let mut w = world(
        SandboxConfig {
            stream_budget: 2,
            ..config()
        },
        1,
        vec![],
    );
    let s = name(0);
    w.start_encryption(A, R, &s, KeyRef::AwsOwned, "", T0)
        .unwrap();
    for _ in 0..5 {
        let err = w.stop_encryption(A, R, &s, T0 + 1).unwrap_err();
        assert_eq!(err.code, RESOURCE_IN_USE);
    }
    let t = truth(&mut w, T0 + SETTLED, 0);
    assert_eq!((t.calls_in_window, t.rejected_calls), (1, 5));
    w.stop_encryption(A, R, &s, T0 + SETTLED).unwrap();
}

#[test]
fn settle_is_lazy_and_follows_the_drawn_latency() {
    let mut w = world(config(), 1, vec![]);
    let s = name(0);
    w.start_encryption(A, R, &s, KeyRef::AwsOwned, "", T0)
        .unwrap();
    let ready = match &w.stream(A, R, &s).unwrap().pending {
        Some(Pending::Enable { ready_at, .. }) => *ready_at,
        other => panic!("{other:?}"),
    };
    assert!(ready > T0 && ready <= T0 + 10_000, "{}", ready - T0);
    assert_eq!(
        w.describe_stream(A, R, &s, ready - 1).unwrap().enc_status,
        EncStatus::Enabling
    );
    let stream = w.describe_stream(A, R, &s, ready).unwrap();
    assert_eq!(stream.enc_status, EncStatus::Enabled);
    assert_eq!(stream.in_force, Some(KeyRef::AwsOwned));
    assert_eq!(stream.updated_at, ready);

    w.stop_encryption(A, R, &s, ready + 1).unwrap();
    assert_eq!(
        w.describe_stream(A, R, &s, ready + 2).unwrap().enc_status,
        EncStatus::Disabling
    );
    let stream = w.describe_stream(A, R, &s, ready + 1 + SETTLED).unwrap();
    assert_eq!(
        (stream.enc_status, &stream.in_force, &stream.shown),
        (EncStatus::Disabled, &None, &None)
    );
}

#[test]
fn max_transition_is_the_longest_completed_one() {
    let mut w = world(config(), 20, vec![]);
    for i in 0..20 {
        w.start_encryption(A, R, &name(i), KeyRef::AwsOwned, "", T0)
            .unwrap();
    }
    assert_eq!(w.stats(T0).max_transition_ms, 0);
    let mut ready: Vec<Millis> = (0..20)
        .map(|i| match &w.stream(A, R, &name(i)).unwrap().pending {
            Some(Pending::Enable { ready_at, .. }) => *ready_at,
            other => panic!("{other:?}"),
        })
        .collect();
    ready.sort_unstable();
    // Half-way: only the transitions already over count, not the longer ones under way.
    let mid = ready[10];
    assert!(ready[9] < mid);
    assert_eq!(w.stats(mid - 1).max_transition_ms as Millis, ready[9] - T0);
    assert_eq!(w.stats(mid).max_transition_ms as Millis, mid - T0);
    let end = T0 + SETTLED;
    assert_eq!(w.stats(end).max_transition_ms as Millis, ready[19] - T0);
    // A Stop's DISABLING → DISABLED counts too, from the Stop that began it.
    w.stop_encryption(A, R, &name(0), end).unwrap();
    let stopped = match &w.stream(A, R, &name(0)).unwrap().pending {
        Some(Pending::Disable { ready_at, .. }) => *ready_at - end,
        other => panic!("{other:?}"),
    };
    let later = w.stats(end + SETTLED).max_transition_ms as Millis;
    assert_eq!(later, stopped.max(ready[19] - T0));
}

#[test]
fn latency_is_log_normal_with_p99_six_times_the_median() {
    let mut w = world(config(), 0, vec![]);
    let mut draws: Vec<Millis> = (0..20_000).map(|_| w.draw_latency()).collect();
    draws.sort_unstable();
    let median = draws[draws.len() / 2] as f64;
    let p99 = draws[draws.len() * 99 / 100] as f64;
    assert!((950.0..1050.0).contains(&median), "median {median}");
    assert!(
        (5.2..6.8).contains(&(p99 / median)),
        "p99/median {}",
        p99 / median
    );
    assert!(*draws.last().unwrap() <= 10_000);
    // The same seed draws the same latencies.
    let mut again = world(config(), 0, vec![]);
    let first: Vec<Millis> = (0..5).map(|_| again.draw_latency()).collect();
    let mut w = world(config(), 0, vec![]);
    assert_eq!(first, (0..5).map(|_| w.draw_latency()).collect::<Vec<_>>());
}

#[test]
fn cmk_count_through_rekey_and_failed_rekey() {
    let mut disabled = SeedKey::symmetric("b", R);
    disabled.state = "Disabled".into();
    let mut w = world(
        SandboxConfig {
            cmk_limit: 2,
            ..config()
        },
        4,
        vec![SeedKey::symmetric("a", R), disabled],
    );
    let (a, b) = (KeyRef::Customer(arn("a")), KeyRef::Customer(arn("b")));
    let count = |w: &mut World, now, key: &str| {
        w.stats(now)
            .cmk_streams
            .get(&arn(key))
            .copied()
            .unwrap_or(0)
    };
    // ENABLING counts.
    w.start_encryption(A, R, &name(0), a.clone(), "", T0)
        .unwrap();
    w.start_encryption(A, R, &name(1), a.clone(), "", T0)
        .unwrap();
    assert_eq!(count(&mut w, T0, "a"), 2);
    let err = w
        .start_encryption(A, R, &name(2), a.clone(), "", T0)
        .unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    assert_eq!(w.stats(T0).limit_exceeded.cmk_limit, 1);

    // A rekey a → b counts toward both until it ends; failing, it keeps a in force.
    let t1 = T0 + SETTLED;
    w.start_encryption(A, R, &name(0), b.clone(), "", t1)
        .unwrap();
    assert_eq!((count(&mut w, t1, "a"), count(&mut w, t1, "b")), (2, 1));
    let t2 = t1 + SETTLED;
    let truth0 = truth(&mut w, t2, 0);
    assert_eq!(truth0.status, "ENABLING_FAILED");
    assert_eq!(truth0.failure.as_deref(), Some("DISABLED_KMS_KEY"));
    assert_eq!(truth0.key_arn, Some(arn("b")));
    assert_eq!(truth0.key_in_force, Some(arn("a")));
    assert_eq!((count(&mut w, t2, "a"), count(&mut w, t2, "b")), (2, 0));

    // Starting again towards a key the stream already counts for is allowed at the limit.
    w.start_encryption(A, R, &name(0), a.clone(), "", t2)
        .unwrap();
    assert_eq!(count(&mut w, t2, "a"), 2);

    // A rekey away (to AWS-owned) frees a slot only once ENABLED.
    w.start_encryption(A, R, &name(1), KeyRef::AwsOwned, "", t2)
        .unwrap();
    assert_eq!(count(&mut w, t2, "a"), 2);
    let err = w
        .start_encryption(A, R, &name(2), a.clone(), "", t2)
        .unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    let t3 = t2 + SETTLED;
    assert_eq!(count(&mut w, t3, "a"), 1);
    w.start_encryption(A, R, &name(2), a.clone(), "", t3)
        .unwrap();

    // A Stop frees a slot only once DISABLED.
    w.stop_encryption(A, R, &name(0), t3).unwrap();
    assert_eq!(count(&mut w, t3, "a"), 2);
    let err = w
        .start_encryption(A, R, &name(3), a.clone(), "", t3)
        .unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    let t4 = t3 + SETTLED;
    w.start_encryption(A, R, &name(3), a, "", t4).unwrap();
    assert_eq!(count(&mut w, t4, "a"), 2);
}

#[test]
fn failure_types_of_bad_and_injected_keys() {
    let mut disabled = SeedKey::symmetric("disabled", R);
    disabled.state = "Disabled".into();
    let mut rsa = SeedKey::symmetric("rsa", R);
    rsa.spec = "RSA_2048".into();
    let mut hmac = SeedKey::symmetric("hmac", R);
    (hmac.spec, hmac.usage) = ("HMAC_256".into(), "GENERATE_VERIFY_MAC".into());
    let mut denied = SeedKey::symmetric("denied", R);
    denied.failure = Some(SeedFailure {
        failure_type: "KMS_ACCESS_DENIED".into(),
        times: Some(1),
        description: None,
    });
    let mut grant = SeedKey::symmetric("grant", R);
    grant.failure = Some(SeedFailure {
        failure_type: "CREATE_KMS_GRANT_FAILED".into(),
        times: None,
        description: None,
    });
    let keys = vec![
        disabled,
        rsa,
        hmac,
        denied,
        grant,
        SeedKey::symmetric("elsewhere", "eu-west-1"),
    ];
    let mut w = world(config(), 8, keys);
    let cases = [
        (arn("missing"), "KMS_KEY_NOT_FOUND"),
        (arn("disabled"), "DISABLED_KMS_KEY"),
        (arn("rsa"), "INVALID_KMS_KEY"),
        (arn("hmac"), "INVALID_KMS_KEY"),
        (arn("denied"), "KMS_ACCESS_DENIED"),
        (arn("grant"), "CREATE_KMS_GRANT_FAILED"),
        (
            "arn:aws:kms:eu-west-1:123456789012:key/elsewhere".to_owned(),
            "KMS_KEY_NOT_FOUND",
        ),
        (
            "arn:aws:kms:us-east-1:999999999999:key/disabled".to_owned(),
            "KMS_KEY_NOT_FOUND",
        ),
    ];
    for (i, (key, _)) in cases.iter().enumerate() {
        w.start_encryption(A, R, &name(i), KeyRef::Customer(key.clone()), "", T0)
            .unwrap();
        // Failure shows only after the latency.
        assert_eq!(truth(&mut w, T0, i).status, "ENABLING");
    }
    for (i, (key, expected)) in cases.iter().enumerate() {
        let s = w.describe_stream(A, R, &name(i), T0 + SETTLED).unwrap();
        assert_eq!(s.enc_status, EncStatus::EnablingFailed, "{key}");
        assert_eq!(s.failure.as_ref().unwrap().kind, *expected, "{key}");
        assert_eq!(s.in_force, None);
    }
    // `times: 1` fails once; without `times` every time.
    let t = T0 + SETTLED;
    w.start_encryption(A, R, &name(4), KeyRef::Customer(arn("denied")), "", t)
        .unwrap();
    w.start_encryption(A, R, &name(5), KeyRef::Customer(arn("grant")), "", t)
        .unwrap();
    assert_eq!(truth(&mut w, t + SETTLED, 4).status, "ENABLED");
    assert_eq!(
        truth(&mut w, t + SETTLED, 5).failure.as_deref(),
        Some("CREATE_KMS_GRANT_FAILED")
    );
}

#[test]
fn throttle_is_a_token_bucket_per_region_and_operation() {
    let mut w = world(SandboxConfig { tps: 2, ..config() }, 0, vec![]);
    let op = "DescribeDeliveryStream";
    let admit = |w: &mut World, op, region, now| {
        let caller = w.caller("", now);
        w.admit(op, &caller, region, Quota::ControlPlane, true, now)
    };
    assert_eq!(admit(&mut w, op, R, T0), Admission::Proceed);
    assert_eq!(admit(&mut w, op, R, T0), Admission::Proceed);
    assert_eq!(admit(&mut w, op, R, T0), Admission::Throttled);
    // Other operations and regions have their own buckets.
    assert_eq!(
        admit(&mut w, "ListDeliveryStreams", R, T0),
        Admission::Proceed
    );
    assert_eq!(admit(&mut w, op, "eu-west-1", T0), Admission::Proceed);
    // One token every 500 ms.
    assert_eq!(admit(&mut w, op, R, T0 + 499), Admission::Throttled);
    assert_eq!(admit(&mut w, op, R, T0 + 500), Admission::Proceed);
    assert_eq!(admit(&mut w, op, R, T0 + 501), Admission::Throttled);
    // Not throttled operations (KMS) pass.
    for _ in 0..10 {
        let caller = w.caller("", T0);
        assert_eq!(
            w.admit("DescribeKey", &caller, R, Quota::Free, true, T0),
            Admission::Proceed
        );
    }
    let stats = w.stats(T0 + 501);
    assert_eq!(stats.throttled_for(op), 3);
    assert_eq!(stats.requests_for(op), 7);
    // 6 arrived within (T0 - 1 s, T0 + 501].
    assert_eq!(stats.max_rate[op], 7);
    assert_eq!(stats.max_rate["DescribeKey"], 10);
}

#[test]
fn max_rate_is_over_a_sliding_second() {
    let mut w = world(SandboxConfig { tps: 0, ..config() }, 0, vec![]);
    for t in [0, 400, 800, 999, 1_000, 1_001, 1_500] {
        let caller = w.caller("", T0 + t);
        assert_eq!(
            w.admit("ListKeys", &caller, R, Quota::ControlPlane, true, T0 + t),
            Admission::Proceed
        );
    }
    // (0..1000]: 400, 800, 999, 1000 → 4; [0..999] 4; (500..1500] 800..1500 → 5.
    assert_eq!(w.stats(T0).max_rate["ListKeys"], 5);
}

#[test]
fn stream_rules_in_use_invalid_and_not_found() {
    let mut seed = Seed::generated(1, R);
    let mut kinesis = SeedStream::direct_put("kinesis", R);
    kinesis.stream_type = "KinesisStreamAsSource".into();
    let mut creating = SeedStream::direct_put("creating", R);
    creating.status = "CREATING".into();
    seed.streams.extend([kinesis, creating]);
    let mut w = World::new(&config(), &seed, T0).unwrap();
    let code = |r: Result<(), ApiError>| r.unwrap_err().code;
    assert_eq!(
        code(w.start_encryption(A, R, "kinesis", KeyRef::AwsOwned, "", T0)),
        INVALID_ARGUMENT
    );
    assert_eq!(
        code(w.stop_encryption(A, R, "kinesis", T0)),
        INVALID_ARGUMENT
    );
    assert_eq!(
        code(w.start_encryption(A, R, "creating", KeyRef::AwsOwned, "", T0)),
        RESOURCE_IN_USE
    );
    assert_eq!(
        code(w.start_encryption(A, R, "nope", KeyRef::AwsOwned, "", T0)),
        RESOURCE_NOT_FOUND
    );
    // Known in us-east-1 only.
    assert_eq!(
        code(w.start_encryption(A, "eu-west-1", &name(0), KeyRef::AwsOwned, "", T0)),
        RESOURCE_NOT_FOUND
    );
    // Stop on a never-encrypted stream: accepted, counted, nothing changes.
    w.stop_encryption(A, R, &name(0), T0).unwrap();
    let t = truth(&mut w, T0, 0);
    assert_eq!(
        (t.status.as_str(), t.stop_calls, t.calls_in_window),
        ("DISABLED", 1, 1)
    );
}

#[test]
fn create_and_delete_take_the_latency_and_free_key_slots() {
    let mut w = world(
        SandboxConfig {
            cmk_limit: 1,
            ..config()
        },
        0,
        vec![SeedKey::symmetric("a", R)],
    );
    let new = |encryption| NewStream {
        stream_type: StreamType::DirectPut,
        encryption,
        source: None,
        destinations: Some(Value::Array(vec![])),
    };
    let a = KeyRef::Customer(arn("a"));
    let created = w
        .create_stream(A, R, "one", new(Some(a.clone())), T0)
        .unwrap();
    assert_eq!(
        created,
        "arn:aws:firehose:us-east-1:123456789012:deliverystream/one"
    );
    let err = w.create_stream(A, R, "one", new(None), T0).unwrap_err();
    assert_eq!(err.code, RESOURCE_IN_USE);
    let err = w
        .create_stream(A, R, "two", new(Some(a.clone())), T0)
        .unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    let missing = KeyRef::Customer(arn("missing"));
    let err = w
        .create_stream(A, R, "two", new(Some(missing)), T0)
        .unwrap_err();
    assert_eq!(err.code, INVALID_KMS_RESOURCE);

    assert_eq!(
        w.describe_stream(A, R, "one", T0).unwrap().status,
        StreamStatus::Creating
    );
    let err = w
        .start_encryption(A, R, "one", KeyRef::AwsOwned, "", T0)
        .unwrap_err();
    assert_eq!(err.code, RESOURCE_IN_USE);
    let t = T0 + SETTLED;
    assert_eq!(
        w.describe_stream(A, R, "one", t).unwrap().status,
        StreamStatus::Active
    );
    w.delete_stream(A, R, "one", t).unwrap();
    assert_eq!(
        w.describe_stream(A, R, "one", t).unwrap().status,
        StreamStatus::Deleting
    );
    let gone = t + SETTLED;
    assert_eq!(
        w.describe_stream(A, R, "one", gone).unwrap_err().code,
        RESOURCE_NOT_FOUND
    );
    assert!(w.stats(gone).cmk_streams.is_empty());
    w.create_stream(A, R, "two", new(Some(a)), gone).unwrap();
}

#[test]
fn list_is_sorted_paged_and_filtered() {
    let mut seed = Seed::generated(5, R);
    let mut msk = SeedStream::direct_put("stream-00002a", R);
    msk.stream_type = "MSKAsSource".into();
    seed.streams.push(msk);
    let mut w = World::new(&config(), &seed, T0).unwrap();
    let (page, more) = w.list_streams(A, R, 2, None, None, T0);
    assert_eq!((page, more), (vec![name(0), name(1)], true));
    let (page, more) = w.list_streams(A, R, 2, Some(&name(1)), None, T0);
    assert_eq!((page, more), (vec![name(2), "stream-00002a".into()], true));
    let (page, more) = w.list_streams(A, R, 10, Some(&name(1)), Some(StreamType::DirectPut), T0);
    assert_eq!((page, more), (vec![name(2), name(3), name(4)], false));
    assert_eq!(
        w.list_streams(A, "eu-west-1", 10, None, None, T0).0.len(),
        0
    );
}

#[test]
fn faults_are_seeded_and_recorded() {
    let cfg = SandboxConfig {
        fault_rate: 0.5,
        tps: 0,
        ..config()
    };
    let decide = |w: &mut World| {
        (0..200)
            .map(|_| {
                let caller = w.caller("", T0);
                w.admit(
                    "StartDeliveryStreamEncryption",
                    &caller,
                    R,
                    Quota::ControlPlane,
                    true,
                    T0,
                )
            })
            .collect::<Vec<_>>()
    };
    let a = decide(&mut world(cfg.clone(), 0, vec![]));
    let b = decide(&mut world(cfg.clone(), 0, vec![]));
    assert_eq!(a, b);
    let faulted = a
        .iter()
        .filter(|x| matches!(x, Admission::Fault { .. }))
        .count();
    assert!((70..130).contains(&faulted), "{faulted}");
    for kind in [
        FaultKind::InternalFailure,
        FaultKind::Drop,
        FaultKind::Delay,
    ] {
        assert!(
            a.iter()
                .any(|x| matches!(x, Admission::Fault { kind: k, .. } if *k == kind))
        );
    }
    // Unfaultable requests never are.
    let mut w = world(cfg, 0, vec![]);
    let caller = w.caller("", T0);
    assert!(
        (0..100).all(|_| w.admit("X", &caller, R, Quota::Free, false, T0) == Admission::Proceed)
    );
    w.record_fault(
        "StartDeliveryStreamEncryption",
        FaultKind::Drop,
        R,
        Some("s"),
        true,
        T0,
    );
    w.record_fault(
        "StartDeliveryStreamEncryption",
        FaultKind::InternalFailure,
        R,
        None,
        false,
        T0,
    );
    let f = w.stats(T0).faults;
    assert_eq!((f.dropped, f.internal_failure, f.delayed), (1, 1, 0));
    assert_eq!(f.applied["StartDeliveryStreamEncryption"], 1);
    assert_eq!(f.not_applied["StartDeliveryStreamEncryption"], 1);
    assert_eq!(f.log[0].stream.as_deref(), Some("s"));
    assert!(f.log[0].applied);
}
