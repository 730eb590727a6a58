//! CloudWatch's metric alarms in the world: created in INSUFFICIENT_DATA, states set and kept
//! across updates, DescribeAlarms' filters and pages, and each refusal.

use super::metrics::{FIREHOSE_NAMESPACE, STREAM_DIMENSION};
use super::*;
use crate::seed::Seed;
use crate::vocabulary::codes;

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
const A: &str = "123456789012";
const MIN: Millis = 60_000;

fn world() -> World {
    World::new(&SandboxConfig::default(), &Seed::default(), T0).unwrap()
}

fn config(metric: &str) -> AlarmConfig {
    AlarmConfig {
        metric_name: Some(metric.into()),
        namespace: Some(FIREHOSE_NAMESPACE.into()),
        statistic: Some("Sum".into()),
        dimensions: vec![(STREAM_DIMENSION.into(), "orders".into())],
        period: Some(60),
        evaluation_periods: Some(1),
        threshold: Some(0.0),
        comparison_operator: Some("GreaterThanThreshold".into()),
        ..AlarmConfig::default()
    }
}

#[test]
fn alarms_start_with_insufficient_data_and_change_state_when_set() {
    let mut w = world();
    w.put_metric_alarm(A, R, "orders-kms", config("KMSKeyAccessDenied"), T0)
        .unwrap();
    w.put_metric_alarm(A, R, "orders-in", config("IncomingRecords"), T0)
        .unwrap();
    let all = |w: &World, f: &AlarmFilter| w.describe_alarms(A, R, f).unwrap().metric_alarms;
    let alarms = all(&w, &AlarmFilter::default());
    assert_eq!(
        alarms
            .iter()
            .map(|a| (a.name.as_str(), a.state))
            .collect::<Vec<_>>(),
        vec![
            ("orders-in", "INSUFFICIENT_DATA"),
            ("orders-kms", "INSUFFICIENT_DATA")
        ]
    );
    assert_eq!(alarms[1].state_reason, "Unchecked: Initial alarm creation");
    assert_eq!(
        alarms[1].arn,
        format!("arn:aws:cloudwatch:{R}:{A}:alarm:orders-kms")
    );
    // Set to ALARM: the state changes and when; set again: only the update time moves.
    w.set_alarm_state(
        A,
        R,
        "orders-kms",
        "ALARM",
        "test",
        Some("{\"x\": 1}"),
        T0 + MIN,
    )
    .unwrap();
    w.set_alarm_state(A, R, "orders-kms", "ALARM", "again", None, T0 + 2 * MIN)
        .unwrap();
    let alarm = &all(
        &w,
        &AlarmFilter {
            names: vec!["orders-kms".into()],
            ..Default::default()
        },
    )[0];
    assert_eq!(
        (alarm.state, alarm.state_reason.as_str()),
        ("ALARM", "again")
    );
    assert_eq!(
        (alarm.state_transitioned, alarm.state_updated),
        (T0 + MIN, T0 + 2 * MIN)
    );
    // An update leaves the state as it was.
    let mut changed = config("KMSKeyAccessDenied");
    changed.threshold = Some(5.0);
    w.put_metric_alarm(A, R, "orders-kms", changed, T0 + 3 * MIN)
        .unwrap();
    let alarm = &all(
        &w,
        &AlarmFilter {
            prefix: Some("orders-k".into()),
            ..Default::default()
        },
    )[0];
    assert_eq!(
        (alarm.state, alarm.config.threshold, alarm.config_updated),
        ("ALARM", Some(5.0), T0 + 3 * MIN)
    );
    // Filters by state; another account or Region has none.
    let by_state = AlarmFilter {
        state: Some("INSUFFICIENT_DATA".into()),
        ..Default::default()
    };
    assert_eq!(all(&w, &by_state).len(), 1);
    assert!(
        w.describe_alarms(A, "eu-west-1", &AlarmFilter::default())
            .unwrap()
            .metric_alarms
            .is_empty()
    );
    let composite = AlarmFilter {
        types: vec!["CompositeAlarm".into()],
        ..Default::default()
    };
    let page = w.describe_alarms(A, R, &composite).unwrap();
    assert!(page.metric_alarms.is_empty() && page.composite);
    // Refusals.
    let err = w
        .set_alarm_state(A, R, "nope", "OK", "r", None, T0)
        .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status()),
        (codes::CW_RESOURCE_NOT_FOUND, 404)
    );
    let err = w
        .set_alarm_state(A, R, "orders-in", "OK", "r", Some("{nope"), T0)
        .unwrap_err();
    assert_eq!(err.code, codes::INVALID_FORMAT);
    let mut no_stat = config("IncomingRecords");
    no_stat.statistic = None;
    assert_eq!(
        w.put_metric_alarm(A, R, "x", no_stat, T0).unwrap_err().code,
        codes::MISSING_PARAMETER
    );
    let mut bad_period = config("IncomingRecords");
    bad_period.period = Some(45);
    assert_eq!(
        w.put_metric_alarm(A, R, "x", bad_period, T0)
            .unwrap_err()
            .code,
        codes::INVALID_PARAMETER_VALUE
    );
    let both = AlarmFilter {
        names: vec!["a".into()],
        prefix: Some("a".into()),
        ..Default::default()
    };
    assert_eq!(
        w.describe_alarms(A, R, &both).unwrap_err().code,
        codes::INVALID_PARAMETER_COMBINATION
    );
}

#[test]
fn describe_alarms_pages_by_name() {
    let mut w = world();
    for i in 0..5 {
        w.put_metric_alarm(A, R, &format!("alarm-{i}"), config("IncomingRecords"), T0)
            .unwrap();
    }
    let mut f = AlarmFilter {
        max_records: Some(2),
        ..Default::default()
    };
    let mut names = Vec::new();
    loop {
        let page = w.describe_alarms(A, R, &f).unwrap();
        assert!(page.metric_alarms.len() <= 2);
        names.extend(page.metric_alarms.iter().map(|a| a.name.clone()));
        match page.next_token {
            Some(t) => f.next_token = Some(t),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("alarm-{i}")).collect::<Vec<_>>()
    );
    f.next_token = Some("garbage".into());
    assert_eq!(
        w.describe_alarms(A, R, &f).unwrap_err().code,
        codes::INVALID_NEXT_TOKEN
    );
}
