//! Scenario 8: a rollout in waves halted by an alarm. Seeded through the SDK as any AWS user
//! would: three DirectPut streams, and a CloudWatch alarm put in ALARM with `SetAlarmState`.
//! `apply --waves 1,100% --alarm NAME` reads the alarm while its first wave runs, halts with
//! exit 5, and no stream of the second wave is ever encrypted (a direct Describe of each). Both
//! backends serve `PutMetricAlarm`, `SetAlarmState` and `DescribeAlarms` as the Rust SDK calls
//! them; what moto cannot do (count `AWS/Firehose` metrics from puts) is checked against the
//! sandbox alone (tests/e2e/waves.rs).

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};

use super::REGION;
use super::backend::Backend;
use super::sdk::{Source, create_stream, enc, sdk_error};

pub fn waves_halted_by_an_alarm(b: &Backend) {
    let names = ["w-canary", "w-b", "w-c"];
    b.block_on(async {
        let fh = b.firehose();
        for name in names {
            create_stream(&fh, name, Source::DirectPut).await;
        }
        let cw = b.cloudwatch();
        cw.put_metric_alarm()
            .alarm_name("orders-errors")
            .namespace("Orders")
            .metric_name("Errors")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutMetricAlarm: {}", sdk_error(&e)));
        cw.set_alarm_state()
            .alarm_name("orders-errors")
            .state_value(StateValue::Alarm)
            .state_reason("orders are failing")
            .send()
            .await
            .unwrap_or_else(|e| panic!("SetAlarmState: {}", sdk_error(&e)));
    });
    let w = b.workdir();
    let mut csv = String::from("stream,region\n");
    for name in names {
        csv.push_str(&format!("{name},{REGION}\n"));
    }
    let fleet = w.fleet("fleet.csv", &csv);
    let run = w.run(&[
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "--waves",
        "1,100%",
        "--bake",
        "8s",
        "--metric-period",
        "1s",
        "--alarm",
        "orders-errors",
        "-q",
    ]);
    run.assert_code(5);
    assert!(
        run.stderr.contains("alarm orders-errors is in ALARM"),
        "{}",
        run.stderr
    );
    b.block_on(async {
        let fh = b.firehose();
        for name in ["w-b", "w-c"] {
            let d = fh
                .describe_delivery_stream()
                .delivery_stream_name(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("Describe {name}: {}", sdk_error(&e)));
            let d = d.delivery_stream_description().unwrap();
            assert!(
                !matches!(
                    enc(d),
                    Some(aws_sdk_firehose::types::DeliveryStreamEncryptionStatus::Enabled)
                ),
                "{name} is in the second wave: never encrypted"
            );
        }
    });
}
