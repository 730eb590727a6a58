//! The wave planner and the gate, without I/O.

use super::gate::*;
use super::*;
use crate::clock::{EpochMillis, HOUR};

fn rows(n: usize) -> Vec<(&'static str, &'static str)> {
    vec![("own", "us-east-1"); n]
}

#[test]
fn steps_read_counts_and_shares_and_end_at_the_whole_fleet() {
    let s = Steps::parse("1, 5%,25%,100%").unwrap();
    assert_eq!(
        s.0,
        [
            Step::Count(1),
            Step::Share(5.0),
            Step::Share(25.0),
            Step::Share(100.0)
        ]
    );
    assert_eq!(s.to_string(), "1,5%,25%,100%");
    assert_eq!(s.reach(200), [1, 10, 50, 200]);
    assert!(
        Steps::parse("1,5%,25%")
            .unwrap_err()
            .contains("end with 100%")
    );
    assert!(Steps::parse("0,100%").is_err());
    assert!(Steps::parse("1,150%,100%").is_err());
    assert!(Steps::parse("one,100%").unwrap_err().contains("\"one\""));
}

#[test]
fn waves_take_the_fleet_in_order_and_steps_that_add_nothing_are_no_wave() {
    let steps = Steps::parse("1,5%,25%,100%").unwrap();
    let waves = plan_waves(&steps, WaveBy::None, &rows(200));
    let sizes: Vec<usize> = waves.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 9, 40, 150]);
    assert_eq!(waves[1][0], 1, "the second wave starts after the canary");
    // 5% of 20 is 1: the canary already reached it.
    let small = plan_waves(&steps, WaveBy::None, &rows(20));
    let sizes: Vec<usize> = small.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 4, 15]);
    let all: Vec<usize> = small.into_iter().flatten().collect();
    assert_eq!(all, (0..20).collect::<Vec<_>>(), "every row once, in order");
}

#[test]
fn waves_by_account_take_whole_accounts_in_the_order_the_fleet_names_them() {
    let rows = vec![
        ("b", "us-east-1"),
        ("a", "us-east-1"),
        ("b", "eu-west-1"),
        ("c", "us-east-1"),
        ("a", "us-east-1"),
        ("c", "us-east-1"),
    ];
    let steps = Steps::parse("1,50%,100%").unwrap();
    let waves = plan_waves(&steps, WaveBy::Account, &rows);
    // The canary takes account b whole (its 2 rows); 50% = 3 is reached by adding a; c last.
    assert_eq!(waves, [vec![0, 2], vec![1, 4], vec![3, 5]]);
    let by_region = plan_waves(&steps, WaveBy::Region, &rows);
    assert_eq!(by_region, [vec![0, 1, 3, 4, 5], vec![2]]);
    // A step already reached by an earlier wave's whole group adds no wave.
    let overshoot = plan_waves(&Steps::parse("1,10%,100%").unwrap(), WaveBy::Account, &rows);
    assert_eq!(overshoot, [vec![0, 2], vec![1, 3, 4, 5]]);
}

#[test]
fn the_estimate_adds_each_bake_between_waves_and_the_final_one() {
    assert_eq!(estimate(&[10, 20, 30], 100, 7), 60 + 200 + 7);
    assert_eq!(estimate(&[10], 100, 0), 10);
    assert_eq!(estimate(&[], 100, 7), 0);
}

const P: EpochMillis = 60_000;
const START: EpochMillis = 100 * P + 30_000;

fn stream(incoming: Series, enabled_at: Option<EpochMillis>) -> StreamFacts {
    StreamFacts {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        name: "orders".into(),
        started_at: START,
        enabled_at,
        incoming,
        errors: Vec::new(),
    }
}

/// `per_period` records in every period from `from` to `to` (period starts).
fn steady(from: EpochMillis, to: EpochMillis, per_period: f64) -> Series {
    (from / P..to / P).map(|i| (i * P, per_period)).collect()
}

fn settings() -> GateSettings {
    GateSettings {
        drop: 0.5,
        max_errors: MaxErrors::Count(0),
        period: P,
    }
}

fn facts(streams: Vec<StreamFacts>, at: EpochMillis) -> Facts {
    Facts {
        at,
        alarms: Vec::new(),
        streams,
        failed: 0,
        wave_size: 1,
    }
}

#[test]
fn a_stream_whose_producers_keep_writing_holds() {
    let enabled = START + 20_000;
    let mut series = steady(START - HOUR, START - 30_000, 600.0);
    series.extend(steady(START + 30_000, START + 10 * P, 600.0));
    let r = judge(
        &facts(vec![stream(series, Some(enabled))], START + 6 * P),
        &settings(),
    );
    assert_eq!(r.verdict, Verdict::Holds);
    match &r.streams[0].1 {
        StreamReading::Steady { before, after } => {
            assert!((before - 10.0).abs() < 0.01, "{before}");
            assert!((after - 10.0).abs() < 0.01, "{after}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stream_whose_producers_are_refused_fails_the_gate() {
    let enabled = START + 20_000;
    // Its producer is refused from ENABLED on: no incoming datapoint after (no zero-fill).
    let series = steady(START - HOUR, START - 30_000, 600.0);
    let r = judge(
        &facts(vec![stream(series, Some(enabled))], START + 6 * P),
        &settings(),
    );
    match &r.verdict {
        Verdict::Fails { why } => {
            assert!(
                why[0].contains("us-east-1/orders: incoming records fell from 10.00/s"),
                "{why:?}"
            );
            assert!(why[0].contains("100% drop"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(r.streams[0].1, StreamReading::Dropped { .. }));
}

#[test]
fn the_drop_allowed_is_the_settings() {
    let enabled = START + 20_000;
    let mut series = steady(START - HOUR, START - 30_000, 600.0);
    series.extend(steady(START + 30_000, START + 10 * P, 360.0)); // a 40 % drop
    let f = facts(vec![stream(series, Some(enabled))], START + 6 * P);
    assert_eq!(judge(&f, &settings()).verdict, Verdict::Holds);
    let strict = GateSettings {
        drop: 0.25,
        ..settings()
    };
    assert!(matches!(judge(&f, &strict).verdict, Verdict::Fails { .. }));
}

#[test]
fn no_data_before_the_start_is_no_signal_and_never_gates() {
    let r = judge(
        &facts(
            vec![stream(Vec::new(), Some(START + 20_000))],
            START + 6 * P,
        ),
        &settings(),
    );
    assert_eq!(r.streams[0].1, StreamReading::NoSignal);
    assert_eq!(r.verdict, Verdict::Holds);
}

#[test]
fn the_before_rate_counts_from_the_first_period_with_data() {
    // Producers began 10 periods before the Start: the rate is over those, not the hour.
    let mut series = steady(START - 10 * P - 30_000, START - 30_000, 60.0);
    series.extend(steady(START + 30_000, START + 10 * P, 60.0));
    let r = read_stream(&stream(series, Some(START + 20_000)), P, START + 6 * P);
    assert_eq!(
        r,
        StreamReading::Steady {
            before: 1.0,
            after: 1.0
        }
    );
}

#[test]
fn no_complete_period_since_enabled_is_waiting() {
    let series = steady(START - HOUR, START - 30_000, 600.0);
    let s = stream(series.clone(), Some(START + 20_000));
    // Fully effective at START+25s → from the period at START+30s; it ends at START+90s.
    assert_eq!(read_stream(&s, P, START + 80_000), StreamReading::Waiting);
    assert!(matches!(
        read_stream(&s, P, START + 95_000),
        StreamReading::Steady { after, .. } if after == 0.0
    ));
    assert_eq!(
        read_stream(&stream(series, None), P, START + 6 * P),
        StreamReading::Waiting
    );
}

#[test]
fn an_sse_error_since_the_start_fails_the_gate() {
    let mut s = stream(
        steady(START - HOUR, START + 10 * P, 600.0),
        Some(START + 20_000),
    );
    s.errors = vec![(
        "KMSKeyAccessDenied".into(),
        vec![(START - 2 * P, 3.0), (START + 2 * P, 5.0)],
    )];
    let r = judge(&facts(vec![s], START + 6 * P), &settings());
    assert_eq!(
        r.streams[0].1,
        StreamReading::Errors {
            metric: "KMSKeyAccessDenied".into(),
            count: 5.0
        },
        "only errors since the Start count"
    );
    assert!(matches!(r.verdict, Verdict::Fails { .. }));
}

#[test]
fn an_alarm_in_alarm_fails_and_others_do_not() {
    let mut f = facts(Vec::new(), START);
    f.alarms = vec![
        AlarmFact {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            name: "orders-errors".into(),
            state: "ALARM".into(),
            reason: "Threshold Crossed".into(),
        },
        AlarmFact {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            name: "quiet".into(),
            state: "INSUFFICIENT_DATA".into(),
            reason: String::new(),
        },
    ];
    let r = judge(&f, &settings());
    assert_eq!(
        r.alarms_in_alarm,
        ["orders-errors (123456789012 us-east-1)"]
    );
    match r.verdict {
        Verdict::Fails { why } => assert_eq!(why.len(), 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn failures_beyond_max_errors_fail_the_gate() {
    let mut f = facts(Vec::new(), START);
    f.wave_size = 20;
    f.failed = 2;
    let count = |n| GateSettings {
        max_errors: MaxErrors::Count(n),
        ..settings()
    };
    assert!(matches!(
        judge(&f, &count(1)).verdict,
        Verdict::Fails { .. }
    ));
    assert_eq!(judge(&f, &count(2)).verdict, Verdict::Holds);
    let share = GateSettings {
        max_errors: MaxErrors::parse("10%").unwrap(),
        ..settings()
    };
    assert_eq!(judge(&f, &share).allowed_failures, 2);
    assert_eq!(
        MaxErrors::parse("5%").unwrap().allowed(30),
        1,
        "rounded down"
    );
    assert!(MaxErrors::parse("x").is_err());
}

#[test]
fn a_bake_must_show_a_complete_period_after_enabled() {
    assert!(
        check_bake(120_000, P, "--bake")
            .unwrap_err()
            .contains("at least 180s")
    );
    assert!(check_bake(180_000, P, "--bake").is_ok());
    assert!(
        check_bake(0, P, "--final-bake").is_ok(),
        "no final bake is fine"
    );
    // With short periods the 5 s to full effect counts: 5 s and two periods of 1 s.
    assert_eq!(min_bake(1_000), 7_000);
    assert!(
        check_bake(5_000, 1_000, "--bake")
            .unwrap_err()
            .contains("at least 7s")
    );
}

#[test]
fn a_rollout_prints_the_flags_that_ask_for_it_again() {
    let plan = WavePlan {
        steps: "1,5%,100%".into(),
        by: WaveBy::Account,
        bake_ms: 15 * 60_000,
        final_bake_ms: 0,
        gate: GateSettings {
            drop: 0.5,
            max_errors: MaxErrors::Share(10.0),
            period: 60_000,
        },
        alarms: vec!["orders-errors".into()],
        on_failure: OnGateFailure::Rollback,
        rollback_scope: RollbackScope::Wave,
    };
    assert_eq!(
        plan.flags(),
        "--waves 1,5%,100% --wave-by account --bake 15m --max-errors 10% --alarm orders-errors \
         --on-gate-failure rollback"
    );
}
