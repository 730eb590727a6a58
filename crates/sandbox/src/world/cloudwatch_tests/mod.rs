//! CloudWatch in the world: Firehose's stream metrics from real and synthetic puts (per period
//! and statistic, nothing where nothing was put, the SSE error metrics of refused puts, a
//! synthetic producer before and after its stream's customer key comes into force), custom
//! metrics, GetMetricData's periods, ordering and pages, and alarms' states.

use std::time::Duration;

use serde_json::json;

use super::metrics::{FIREHOSE_NAMESPACE, MetricId, STREAM_DIMENSION, StatSet};
use super::*;
use crate::seed::Seed;
use crate::vocabulary::codes;

const T0: Millis = 1_800_000_000_000; // 2027-01-15T08:00:00Z, a whole minute
const R: &str = "us-east-1";
const A: &str = "123456789012";
const S: Millis = 1_000;
const MIN: Millis = 60_000;

fn key(id: &str) -> String {
    format!("arn:aws:kms:{R}:{A}:key/{id}")
}

fn world_with(seed: serde_json::Value) -> World {
    let seed: Seed = serde_json::from_value(seed).unwrap();
    let config = SandboxConfig {
        latency: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    World::new(&config, &seed, T0).unwrap()
}

/// `orders` (plain) with a synthetic producer without KMS permissions at 2 records/s and one
/// with them at 1 record/s; `plain`, `cmk` (on `good`), `cmk-off` (on the disabled `off`).
fn world() -> World {
    world_with(json!({
        "streams": [
            {"name": "orders", "producers": [
                {"role": "events", "service": "events.amazonaws.com", "rate": 2, "bytes": 100},
                {"role": "app", "kms": true, "rate": 1}
            ]},
            {"name": "plain"},
            {"name": "cmk", "encryption": {"key_arn": key("good")}},
            {"name": "cmk-off", "encryption": {"key_arn": key("off")}}
        ],
        "keys": [{"id": "good"}, {"id": "off", "state": "Disabled"}],
        "roles": [{"name": "writer", "trust": {"Statement": {"Effect": "Allow",
            "Action": "sts:AssumeRole", "Principal": {"AWS": A}}},
            "policies": {"put": {"Statement": {"Effect": "Allow",
                "Action": "firehose:PutRecord*", "Resource": "*"}}}}]
    }))
}

fn stream_metric(metric: &str, stream: &str) -> MetricId {
    MetricId::new(
        FIREHOSE_NAMESPACE,
        metric,
        vec![(STREAM_DIMENSION.to_owned(), stream.to_owned())],
    )
}

fn query(id: &str, metric: MetricId, period: i64, stat: &str) -> DataQuery {
    DataQuery {
        id: id.to_owned(),
        label: None,
        return_data: None,
        stat: Some(StatQuery {
            metric,
            period,
            stat: stat.to_owned(),
            unit: None,
        }),
        expression: None,
        account_id: None,
    }
}

fn request(queries: Vec<DataQuery>, start: Millis, end: Millis) -> MetricDataRequest {
    MetricDataRequest {
        queries,
        start,
        end,
        next_token: None,
        ascending: true,
        max_datapoints: None,
    }
}

/// The datapoints of one query, oldest first.
fn series(
    w: &mut World,
    q: DataQuery,
    start: Millis,
    end: Millis,
    now: Millis,
) -> Vec<(Millis, f64)> {
    let page = w
        .get_metric_data(A, R, &request(vec![q], start, end), now)
        .unwrap();
    assert_eq!(page.results.len(), 1);
    let r = &page.results[0];
    assert_eq!(r.status, "Complete");
    r.timestamps
        .iter()
        .copied()
        .zip(r.values.iter().copied())
        .collect()
}

fn put(
    w: &mut World,
    caller: &Caller,
    stream: &str,
    sizes: &[usize],
    at: Millis,
) -> Result<(), String> {
    w.put_records(caller, R, stream, sizes, sizes.len() > 1, at)
        .map(|_| ())
        .map_err(|e| e.kms_code.unwrap_or(e.code.to_string()))
}

fn session(w: &mut World, role: &str, now: Millis) -> Caller {
    let arn = format!("arn:aws:iam::{A}:role/{role}");
    let request = AssumeRoleRequest {
        role_arn: &arn,
        session_name: "test",
        duration_seconds: None,
        external_id: None,
    };
    let issued = w.assume_role(&Caller::base(A), R, &request, now).unwrap();
    w.caller(&issued.access_key_id, now)
}

#[test]
fn stream_metrics_are_aggregated_per_period_and_statistic() {
    let mut w = world();
    let base = Caller::base(A);
    // Minute 0: two requests (3 records, 60 bytes); minute 1: nothing; minute 2: one request of
    // 5 records (50 bytes); minute 3: one of 1 record.
    put(&mut w, &base, "plain", &[10, 20, 30], T0 + 5 * S).unwrap();
    put(&mut w, &base, "plain", &[0], T0 + 59 * S).unwrap();
    put(&mut w, &base, "plain", &[10; 5], T0 + 2 * MIN).unwrap();
    put(&mut w, &base, "plain", &[7], T0 + 3 * MIN + 30 * S).unwrap();
    let now = T0 + 10 * MIN;
    let records = |w: &mut World, period, stat| {
        series(
            w,
            query("q", stream_metric("IncomingRecords", "plain"), period, stat),
            T0,
            now,
            now,
        )
    };
    assert_eq!(
        records(&mut w, 60, "Sum"),
        vec![(T0, 4.0), (T0 + 2 * MIN, 5.0), (T0 + 3 * MIN, 1.0)]
    );
    // One datapoint per metric period with data: a 5-minute period holds three of them.
    assert_eq!(records(&mut w, 300, "Sum"), vec![(T0, 10.0)]);
    assert_eq!(records(&mut w, 300, "SampleCount"), vec![(T0, 3.0)]);
    assert_eq!(records(&mut w, 300, "Average"), vec![(T0, 10.0 / 3.0)]);
    assert_eq!(records(&mut w, 300, "Minimum"), vec![(T0, 1.0)]);
    assert_eq!(records(&mut w, 300, "Maximum"), vec![(T0, 5.0)]);
    let bytes = series(
        &mut w,
        query("b", stream_metric("IncomingBytes", "plain"), 60, "Sum"),
        T0,
        now,
        now,
    );
    assert_eq!(
        bytes,
        vec![(T0, 60.0), (T0 + 2 * MIN, 50.0), (T0 + 3 * MIN, 7.0)]
    );
    let requests = series(
        &mut w,
        query(
            "r",
            stream_metric("IncomingPutRequests", "plain"),
            60,
            "Sum",
        ),
        T0,
        now,
        now,
    );
    assert_eq!(
        requests,
        vec![(T0, 2.0), (T0 + 2 * MIN, 1.0), (T0 + 3 * MIN, 1.0)]
    );
    // A unit other than the metric's answers nothing.
    let mut q = query("u", stream_metric("IncomingBytes", "plain"), 60, "Sum");
    q.stat.as_mut().unwrap().unit = Some("Count".into());
    assert!(series(&mut w, q, T0, now, now).is_empty());
    // The start is rounded down to the minute; the end is exclusive.
    assert_eq!(records(&mut w, 60, "Sum").len(), 3);
    let late = series(
        &mut w,
        query("q", stream_metric("IncomingRecords", "plain"), 60, "Sum"),
        T0 + 2 * MIN + 10 * S,
        T0 + 3 * MIN,
        now,
    );
    assert_eq!(late, vec![(T0 + 2 * MIN, 5.0)]);
}

#[test]
fn no_data_is_no_datapoint() {
    let mut w = world();
    let now = T0 + 10 * MIN;
    for metric in ["IncomingRecords", "IncomingBytes", "KMSKeyAccessDenied"] {
        assert!(
            series(
                &mut w,
                query("q", stream_metric(metric, "plain"), 60, "Sum"),
                T0,
                now,
                now
            )
            .is_empty()
        );
    }
    // A stream that does not exist, an unknown metric name, another dimension set: no data.
    for metric in [
        stream_metric("IncomingRecords", "nope"),
        stream_metric("NotAMetric", "plain"),
        MetricId::new(FIREHOSE_NAMESPACE, "IncomingRecords", vec![]),
    ] {
        assert!(series(&mut w, query("q", metric, 60, "Sum"), T0, now, now).is_empty());
    }
    // `orders` has producers: every minute has data, none is zero-filled between puts of
    // `plain`.
    let base = Caller::base(A);
    put(&mut w, &base, "plain", &[1], T0).unwrap();
    put(&mut w, &base, "plain", &[1], T0 + 5 * MIN).unwrap();
    let points = series(
        &mut w,
        query("q", stream_metric("IncomingRecords", "plain"), 60, "Sum"),
        T0,
        now,
        now,
    );
    assert_eq!(points, vec![(T0, 1.0), (T0 + 5 * MIN, 1.0)]);
}

#[test]
fn refused_puts_count_in_the_sse_error_metrics_by_their_kms_cause() {
    let mut w = world();
    let writer = session(&mut w, "writer", T0);
    // No KMS permissions on `cmk`: AccessDenied; the disabled key: Disabled.
    assert_eq!(
        put(&mut w, &writer, "cmk", &[1, 2, 3], T0 + S).unwrap_err(),
        "AccessDeniedException"
    );
    assert_eq!(
        put(&mut w, &writer, "cmk", &[1], T0 + 2 * S).unwrap_err(),
        "AccessDeniedException"
    );
    let base = Caller::base(A);
    assert_eq!(
        put(&mut w, &base, "cmk-off", &[1], T0 + 3 * S).unwrap_err(),
        "DisabledException"
    );
    put(&mut w, &base, "cmk", &[1], T0 + 4 * S).unwrap();
    let now = T0 + MIN;
    let sum = |w: &mut World, metric: &str, stream: &str| {
        series(
            w,
            query("q", stream_metric(metric, stream), 60, "Sum"),
            T0,
            now,
            now,
        )
    };
    // One per refused request.
    assert_eq!(sum(&mut w, "KMSKeyAccessDenied", "cmk"), vec![(T0, 2.0)]);
    assert_eq!(sum(&mut w, "IncomingRecords", "cmk"), vec![(T0, 1.0)]);
    assert_eq!(sum(&mut w, "KMSKeyDisabled", "cmk-off"), vec![(T0, 1.0)]);
    assert!(sum(&mut w, "KMSKeyAccessDenied", "cmk-off").is_empty());
    assert!(sum(&mut w, "IncomingRecords", "cmk-off").is_empty());
    // The ground truth counts the refused records.
    let stats = w.stats(now);
    let cmk = stats.stream(R, "cmk").unwrap().records.clone().unwrap();
    assert_eq!((cmk.accepted, cmk.refused), (1, 4));
}

#[test]
fn synthetic_producers_are_refused_once_a_customer_key_they_may_not_use_is_in_force() {
    let mut w = world();
    let start = T0 + 2 * MIN + 30 * S;
    w.start_encryption(A, R, "orders", KeyRef::Customer(key("good")), "", start)
        .unwrap();
    let now = T0 + 10 * MIN;
    let stats = w.stats(now);
    let orders = stats.stream(R, "orders").unwrap();
    assert_eq!(orders.status, "ENABLED");
    let ready = w.stream(A, R, "orders").unwrap().updated_at;
    assert!(ready > start && ready <= start + 10 * S, "{ready}");
    // `events` (2/s, 100 bytes, no KMS permissions) puts until the key is in force; `app` (1/s,
    // 1,024 bytes, with them) throughout.
    let events_before = (((ready - T0) * 2) as u64).div_ceil(1_000);
    let records = orders.records.clone().unwrap();
    assert_eq!(records.accepted, events_before + 600);
    assert_eq!(records.refused, 1_200 - events_before);
    assert_eq!(records.bytes, events_before * 100 + 600 * 1_024);
    let sum = |w: &mut World, metric: &str| -> f64 {
        series(
            w,
            query("q", stream_metric(metric, "orders"), 60, "Sum"),
            T0,
            now,
            now,
        )
        .iter()
        .map(|p| p.1)
        .sum()
    };
    assert_eq!(sum(&mut w, "IncomingRecords"), records.accepted as f64);
    assert_eq!(sum(&mut w, "IncomingPutRequests"), records.accepted as f64);
    assert_eq!(sum(&mut w, "KMSKeyAccessDenied"), records.refused as f64);
    // Before the change: 3 records a second every minute, nothing refused.
    let minute = |w: &mut World, metric: &str, m: Millis| {
        series(
            w,
            query("q", stream_metric(metric, "orders"), 60, "Sum"),
            T0 + m * MIN,
            T0 + (m + 1) * MIN,
            now,
        )
    };
    assert_eq!(
        minute(&mut w, "IncomingRecords", 1),
        vec![(T0 + MIN, 180.0)]
    );
    assert!(minute(&mut w, "KMSKeyAccessDenied", 1).is_empty());
    // After it: `app` alone, `events` refused.
    assert_eq!(
        minute(&mut w, "IncomingRecords", 5),
        vec![(T0 + 5 * MIN, 60.0)]
    );
    assert_eq!(
        minute(&mut w, "KMSKeyAccessDenied", 5),
        vec![(T0 + 5 * MIN, 120.0)]
    );
    // Reading again changes nothing; time going on adds.
    assert_eq!(
        w.stats(now)
            .stream(R, "orders")
            .unwrap()
            .records
            .clone()
            .unwrap(),
        records
    );
    let later = w
        .stats(now + MIN)
        .stream(R, "orders")
        .unwrap()
        .records
        .clone()
        .unwrap();
    assert_eq!(
        later.accepted + later.refused,
        records.accepted + records.refused + 180
    );
}

#[test]
fn synthetic_producers_follow_changes_of_keys_and_policies_from_when_they_happen() {
    let mut w = world_with(json!({
        "streams": [{"name": "s", "encryption": {"key_arn": key("k")},
            "producers": [{"user": "u", "kms": true, "rate": 1}]}],
        "keys": [{"id": "k"}]
    }));
    w.run_all_producers(T0 + MIN);
    w.set_key_enabled(A, R, "k", false).unwrap();
    w.run_all_producers(T0 + 2 * MIN);
    w.set_key_enabled(A, R, "k", true).unwrap();
    let now = T0 + 3 * MIN;
    let records = w
        .stats(now)
        .stream(R, "s")
        .unwrap()
        .records
        .clone()
        .unwrap();
    assert_eq!((records.accepted, records.refused), (120, 60));
    let disabled = series(
        &mut w,
        query("q", stream_metric("KMSKeyDisabled", "s"), 60, "Sum"),
        T0,
        now,
        now,
    );
    assert_eq!(disabled, vec![(T0 + MIN, 60.0)]);
}

#[test]
fn a_metric_period_under_a_minute_keeps_datapoints_at_that_period() {
    let mut w = world_with(json!({
        "metric_period": "1s",
        "streams": [{"name": "s", "producers": [{"user": "u", "rate": 0.5}]}]
    }));
    let now = T0 + 10 * S;
    let per_second = series(
        &mut w,
        query("q", stream_metric("IncomingRecords", "s"), 1, "Sum"),
        T0,
        now,
        now,
    );
    // A record every 2 s: a datapoint every other second, none between.
    assert_eq!(
        per_second,
        (0..5).map(|k| (T0 + 2 * k * S, 1.0)).collect::<Vec<_>>()
    );
    let per_10s = series(
        &mut w,
        query(
            "q",
            stream_metric("IncomingRecords", "s"),
            10,
            "SampleCount",
        ),
        T0,
        now,
        now,
    );
    assert_eq!(per_10s, vec![(T0, 5.0)]);
    // A period of 1 s over data kept per minute answers one datapoint per minute, at its own
    // time.
    let mut w =
        world_with(json!({"streams": [{"name": "s", "producers": [{"user": "u", "rate": 1}]}]}));
    let now = T0 + 3 * MIN;
    let points = series(
        &mut w,
        query("q", stream_metric("IncomingRecords", "s"), 1, "Sum"),
        T0,
        now,
        now,
    );
    assert_eq!(
        points,
        vec![(T0, 60.0), (T0 + MIN, 60.0), (T0 + 2 * MIN, 60.0)]
    );
    // Data older than 3 hours is answered only for a period that is a multiple of 60.
    let now = T0 + 4 * 60 * MIN;
    let old = |w: &mut World, period| {
        series(
            w,
            query("q", stream_metric("IncomingRecords", "s"), period, "Sum"),
            T0,
            T0 + 2 * MIN,
            now,
        )
    };
    assert!(old(&mut w, 1).is_empty());
    assert_eq!(old(&mut w, 60).len(), 2);
}

mod queries;
