//! CloudWatch: every operation served (GetMetricData, PutMetricData, PutMetricAlarm,
//! DescribeAlarms, SetAlarmState) in each of the three protocols its model lists — Smithy RPC
//! v2 CBOR (the Rust SDK's), AWS JSON 1.0 (boto3's) and the query protocol — through success,
//! pages, each error the sandbox gives, malformed input, an operation not served and expired
//! credentials. Streams with synthetic producers supply `AWS/Firehose` data, one of them on a
//! customer key its producer may not use (KMSKeyAccessDenied).

use firehose_sse_sandbox::vocabulary::iso8601;
use firehose_sse_sandbox::{SandboxConfig, Seed};
use serde_json::{Value, json};

use super::http::Exchange;
use super::organization::enc;
use super::{ACCOUNT, Driver, REGION, Server, T0};

const PROTOCOLS: [&str; 3] = ["cbor", "json", "query"];
const MIN: i64 = 60;
/// T0 in epoch seconds.
const START: i64 = T0 / 1_000;

fn config() -> SandboxConfig {
    SandboxConfig {
        tps: 0,
        ..SandboxConfig::default()
    }
}

fn world() -> Seed {
    serde_json::from_value(json!({
        "streams": [
            {"name": "orders", "producers": [
                {"role": "events", "service": "events.amazonaws.com", "rate": 2, "bytes": 100},
                {"role": "app", "kms": true, "rate": 1}]},
            {"name": "cmk", "encryption": {"key_arn": format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/good")},
             "producers": [{"role": "no-kms", "rate": 0.5}]}
        ],
        "keys": [{"id": "good"}],
        "credentials": [{"access_key": "AKIDEXPIRED", "expires_after": "0s"}]
    }))
    .unwrap()
}

/// One CloudWatch call in `protocol`, the input given as its JSON document; the answer's body
/// when it is JSON.
fn call(d: &mut Driver, protocol: &str, label: &str, op: &str, input: &Value) -> Option<Value> {
    let label = format!("cloudwatch {protocol} {label}");
    match protocol {
        "cbor" => {
            d.cloudwatch_cbor(&label, op, &super::cbor::request(input));
            None
        }
        "json" => d.cloudwatch_json(&label, op, &input.to_string()),
        _ => d.cloudwatch_query(&label, &form(op, input)),
    }
}

/// A JSON document as the query protocol's form: members joined with `.`, list elements
/// `.member.<n>`, timestamps ISO 8601.
fn form(op: &str, input: &Value) -> String {
    let mut pairs = vec![
        ("Action".to_owned(), op.to_owned()),
        ("Version".to_owned(), "2010-08-01".to_owned()),
    ];
    flatten("", input, &mut pairs);
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(fields) => {
            for (k, x) in fields {
                match (k.as_str(), x.as_f64()) {
                    ("StartTime" | "EndTime" | "Timestamp", Some(s)) => {
                        out.push((join(k), iso8601((s * 1_000.0) as i64)));
                    }
                    _ => flatten(&join(k), x, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                flatten(&format!("{prefix}.member.{}", i + 1), x, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
        Value::Number(n) => out.push((prefix.to_owned(), n.to_string())),
        Value::Null => {}
    }
}

fn metric(name: &str, stream: &str) -> Value {
    json!({"Namespace": "AWS/Firehose", "MetricName": name,
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": stream}]})
}

fn stat_query(id: &str, metric: Value, period: i64, stat: &str) -> Value {
    json!({"Id": id, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}})
}

fn get(queries: Vec<Value>) -> Value {
    json!({"MetricDataQueries": queries, "StartTime": START, "EndTime": START + 6 * MIN})
}

fn alarm(name: &str) -> Value {
    json!({"AlarmName": name, "AlarmDescription": "rollout gate",
        "Namespace": "AWS/Firehose", "MetricName": "KMSKeyAccessDenied",
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": "orders"}],
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 2, "DatapointsToAlarm": 1,
        "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching", "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:gate"]})
}

pub fn scenarios(out: &mut Vec<Exchange>) {
    let config = config();
    let server = Server::start(config, world());
    server.clock.advance(5 * 60_000 + 30_000);
    let mut d = Driver::new(&server, out);
    for p in PROTOCOLS {
        metric_data(&mut d, p);
        put_metric_data(&mut d, p);
        alarms(&mut d, p);
        refusals(&mut d, p);
    }
}

fn metric_data(d: &mut Driver, p: &str) {
    let all = get(vec![
        stat_query("records", metric("IncomingRecords", "orders"), 60, "Sum"),
        stat_query("bytes", metric("IncomingBytes", "orders"), 300, "Average"),
        stat_query(
            "requests",
            metric("IncomingPutRequests", "orders"),
            60,
            "SampleCount",
        ),
        stat_query("denied", metric("KMSKeyAccessDenied", "cmk"), 60, "Maximum"),
        stat_query("none", metric("KMSKeyDisabled", "orders"), 60, "Minimum"),
    ]);
    call(d, p, "get metric data", "GetMetricData", &all);
    let mut extras = get(vec![
        json!({"Id": "labelled", "Label": "orders in", "ReturnData": true,
            "MetricStat": {"Metric": metric("IncomingRecords", "orders"), "Period": 1, "Stat": "Sum", "Unit": "Count"}}),
        json!({"Id": "hidden", "ReturnData": false, "MetricStat": {"Metric": metric("IncomingRecords", "cmk"), "Period": 60, "Stat": "Sum"}}),
        json!({"Id": "theirs", "AccountId": "111122223333",
            "MetricStat": {"Metric": metric("IncomingRecords", "orders"), "Period": 60, "Stat": "Sum"}}),
    ]);
    extras["ScanBy"] = json!("TimestampAscending");
    extras["LabelOptions"] = json!({"Timezone": "+0130"});
    call(
        d,
        p,
        "get metric data labelled ascending",
        "GetMetricData",
        &extras,
    );
    // Pages of 4 datapoints: the JSON answer's token continues each protocol's request.
    let mut paged = get(vec![
        stat_query("a", metric("IncomingRecords", "orders"), 60, "Sum"),
        stat_query("b", metric("IncomingBytes", "orders"), 60, "Sum"),
    ]);
    paged["MaxDatapoints"] = json!(4);
    for page in 1..=4 {
        let token = d
            .cloudwatch_json(
                &format!("cloudwatch token page {page} for {p}"),
                "GetMetricData",
                &paged.to_string(),
            )
            .and_then(|a| a["NextToken"].as_str().map(str::to_owned));
        if p != "json" {
            call(
                d,
                p,
                &format!("get metric data page {page}"),
                "GetMetricData",
                &paged,
            );
        }
        match token {
            Some(t) => paged["NextToken"] = json!(t),
            None => break,
        }
    }
    let mut bad_token = get(vec![stat_query(
        "a",
        metric("IncomingRecords", "orders"),
        60,
        "Sum",
    )]);
    bad_token["NextToken"] = json!("bm90IGEgdG9rZW4=");
    call(
        d,
        p,
        "get metric data bad token",
        "GetMetricData",
        &bad_token,
    );
    for (label, query) in [
        (
            "period 7",
            stat_query("q", metric("IncomingRecords", "orders"), 7, "Sum"),
        ),
        (
            "stat p99",
            stat_query("q", metric("IncomingRecords", "orders"), 60, "p99"),
        ),
        (
            "id upper",
            stat_query("Q", metric("IncomingRecords", "orders"), 60, "Sum"),
        ),
        (
            "expression",
            json!({"Id": "e", "Expression": "SUM(METRICS())"}),
        ),
        ("neither", json!({"Id": "n"})),
        (
            "both",
            json!({"Id": "b", "Expression": "m", "MetricStat": {"Metric": metric("IncomingRecords", "orders"), "Period": 60, "Stat": "Sum"}}),
        ),
        (
            "no metric name",
            json!({"Id": "m", "MetricStat": {"Metric": {"Namespace": "AWS/Firehose"}, "Period": 60, "Stat": "Sum"}}),
        ),
        (
            "period 0",
            stat_query("q", metric("IncomingRecords", "orders"), 0, "Sum"),
        ),
    ] {
        call(
            d,
            p,
            &format!("get metric data {label}"),
            "GetMetricData",
            &get(vec![query]),
        );
    }
    let mut backwards = get(vec![stat_query(
        "q",
        metric("IncomingRecords", "orders"),
        60,
        "Sum",
    )]);
    backwards["EndTime"] = json!(START - MIN);
    call(
        d,
        p,
        "get metric data end before start",
        "GetMetricData",
        &backwards,
    );
    let mut bad_scan = get(vec![]);
    bad_scan["ScanBy"] = json!("Sideways");
    call(d, p, "get metric data bad scan", "GetMetricData", &bad_scan);
    call(
        d,
        p,
        "get metric data no times",
        "GetMetricData",
        &json!({"MetricDataQueries": []}),
    );
    let mut zero = get(vec![stat_query(
        "q",
        metric("IncomingRecords", "orders"),
        60,
        "Sum",
    )]);
    zero["MaxDatapoints"] = json!(0);
    call(d, p, "get metric data max 0", "GetMetricData", &zero);
}

fn put_metric_data(d: &mut Driver, p: &str) {
    let now = START + 5 * MIN;
    let good = json!({"Namespace": "Rollout", "MetricData": [
        {"MetricName": "GateErrors", "Dimensions": [{"Name": "Wave", "Value": "1"}], "Value": 2.5, "Unit": "Count", "Timestamp": now},
        {"MetricName": "GateErrors", "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3}},
        {"MetricName": "Latency", "Values": [10.5, 20], "Counts": [2, 1], "StorageResolution": 1, "Unit": "Milliseconds"}
    ]});
    call(d, p, "put metric data", "PutMetricData", &good);
    let read = get(vec![stat_query(
        "g",
        json!({"Namespace": "Rollout", "MetricName": "GateErrors",
        "Dimensions": [{"Name": "Wave", "Value": "1"}]}),
        60,
        "Sum",
    )]);
    call(d, p, "get custom metric", "GetMetricData", &read);
    for (label, input) in [
        (
            "aws namespace",
            json!({"Namespace": "AWS/Firehose", "MetricData": [{"MetricName": "m", "Value": 1}]}),
        ),
        (
            "value and set",
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1,
            "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}]}),
        ),
        (
            "no value",
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m"}]}),
        ),
        ("no data", json!({"Namespace": "N"})),
        (
            "uneven counts",
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Values": [1, 2], "Counts": [1]}]}),
        ),
        (
            "old",
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": now - 15 * 24 * 60 * MIN}]}),
        ),
        (
            "resolution 5",
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "StorageResolution": 5}]}),
        ),
        (
            "no namespace",
            json!({"MetricData": [{"MetricName": "m", "Value": 1}]}),
        ),
        (
            "colon namespace",
            json!({"Namespace": ":N", "MetricData": [{"MetricName": "m", "Value": 1}]}),
        ),
        (
            "unit",
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Unit": "Furlongs"}]}),
        ),
    ] {
        call(
            d,
            p,
            &format!("put metric data {label}"),
            "PutMetricData",
            &input,
        );
    }
}

fn alarms(d: &mut Driver, p: &str) {
    let name = |n: &str| format!("{p}-{n}");
    call(
        d,
        p,
        "put metric alarm",
        "PutMetricAlarm",
        &alarm(&name("kms")),
    );
    call(
        d,
        p,
        "put metric alarm again",
        "PutMetricAlarm",
        &alarm(&name("kms")),
    );
    let mut math = json!({"AlarmName": name("math"), "EvaluationPeriods": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "ActionsEnabled": false,
        "Metrics": [{"Id": "m", "ReturnData": true, "MetricStat": {"Metric": metric("IncomingRecords", "orders"), "Period": 60, "Stat": "Sum"}}]});
    call(d, p, "put metric alarm math", "PutMetricAlarm", &math);
    math["Tags"] = json!([{"Key": "team", "Value": "rollout"}]);
    call(d, p, "put metric alarm tagged", "PutMetricAlarm", &math);
    let set = |state: &str, data: Option<&str>| {
        let mut v = json!({"AlarmName": name("kms"), "StateValue": state, "StateReason": "testing the gate"});
        if let Some(data) = data {
            v["StateReasonData"] = json!(data);
        }
        v
    };
    call(
        d,
        p,
        "set alarm state",
        "SetAlarmState",
        &set("ALARM", Some("{\"by\": \"test\"}")),
    );
    call(
        d,
        p,
        "set alarm state again",
        "SetAlarmState",
        &set("ALARM", None),
    );
    call(d, p, "describe alarms", "DescribeAlarms", &json!({}));
    call(
        d,
        p,
        "describe alarms prefix",
        "DescribeAlarms",
        &json!({"AlarmNamePrefix": p}),
    );
    call(
        d,
        p,
        "describe alarms names",
        "DescribeAlarms",
        &json!({"AlarmNames": [name("kms"), "nope"]}),
    );
    call(
        d,
        p,
        "describe alarms in alarm",
        "DescribeAlarms",
        &json!({"StateValue": "ALARM", "ActionPrefix": "arn:aws:sns"}),
    );
    call(
        d,
        p,
        "describe alarms composite",
        "DescribeAlarms",
        &json!({"AlarmTypes": ["CompositeAlarm", "MetricAlarm"]}),
    );
    call(
        d,
        p,
        "describe alarms children",
        "DescribeAlarms",
        &json!({"ChildrenOfAlarmName": name("kms")}),
    );
    let token = d
        .cloudwatch_json(
            &format!("cloudwatch token alarms for {p}"),
            "DescribeAlarms",
            &json!({"MaxRecords": 1}).to_string(),
        )
        .and_then(|a| a["NextToken"].as_str().map(str::to_owned))
        .expect("more than one alarm");
    call(
        d,
        p,
        "describe alarms page 1",
        "DescribeAlarms",
        &json!({"MaxRecords": 1}),
    );
    call(
        d,
        p,
        "describe alarms page 2",
        "DescribeAlarms",
        &json!({"MaxRecords": 1, "NextToken": token}),
    );
    for (label, op, input) in [
        (
            "set alarm state unknown",
            "SetAlarmState",
            json!({"AlarmName": "nope", "StateValue": "OK", "StateReason": "r"}),
        ),
        (
            "set alarm state bad data",
            "SetAlarmState",
            set("OK", Some("{not json")),
        ),
        (
            "set alarm state bad state",
            "SetAlarmState",
            set("MAYBE", None),
        ),
        (
            "set alarm state no reason",
            "SetAlarmState",
            json!({"AlarmName": name("kms"), "StateValue": "OK"}),
        ),
        (
            "describe alarms bad token",
            "DescribeAlarms",
            json!({"NextToken": "garbage"}),
        ),
        (
            "describe alarms names and prefix",
            "DescribeAlarms",
            json!({"AlarmNames": ["a"], "AlarmNamePrefix": "a"}),
        ),
        (
            "describe alarms max 0",
            "DescribeAlarms",
            json!({"MaxRecords": 0}),
        ),
        (
            "describe alarms bad type",
            "DescribeAlarms",
            json!({"AlarmTypes": ["Nope"]}),
        ),
    ] {
        call(d, p, label, op, &input);
    }
    let mut no_stat = alarm(&name("x"));
    no_stat.as_object_mut().unwrap().remove("Statistic");
    let mut both_stats = alarm(&name("x"));
    both_stats["ExtendedStatistic"] = json!("p99");
    let mut bad_period = alarm(&name("x"));
    bad_period["Period"] = json!(45);
    let mut bad_operator = alarm(&name("x"));
    bad_operator["ComparisonOperator"] = json!("Bigger");
    let mut too_many = alarm(&name("x"));
    too_many["DatapointsToAlarm"] = json!(3);
    let mut missing_data = alarm(&name("x"));
    missing_data["TreatMissingData"] = json!("maybe");
    for (label, input) in [
        ("no statistic", no_stat),
        ("both statistics", both_stats),
        ("period 45", bad_period),
        ("bad operator", bad_operator),
        ("datapoints over periods", too_many),
        ("treat missing maybe", missing_data),
        (
            "nothing to watch",
            json!({"AlarmName": name("x"), "EvaluationPeriods": 1}),
        ),
        ("no name", json!({"MetricName": "m"})),
    ] {
        call(
            d,
            p,
            &format!("put metric alarm {label}"),
            "PutMetricAlarm",
            &input,
        );
    }
}

fn refusals(d: &mut Driver, p: &str) {
    call(d, p, "unknown operation", "ListMetrics", &json!({}));
    match p {
        "json" => {
            d.cloudwatch_json("cloudwatch json not json", "PutMetricData", "{not json");
            d.cloudwatch_json(
                "cloudwatch json wrong type",
                "PutMetricData",
                "{\"Namespace\": 5}",
            );
        }
        "cbor" => {
            d.cloudwatch_cbor("cloudwatch cbor not cbor", "PutMetricData", &[0xbf, 0x61]);
            d.cloudwatch_cbor(
                "cloudwatch cbor wrong type",
                "PutMetricData",
                &super::cbor::request(&json!({"Namespace": 5})),
            );
        }
        _ => {
            d.cloudwatch_query(
                "cloudwatch query wrong type",
                "Action=GetMetricData&Version=2010-08-01&StartTime=soon&EndTime=later",
            );
        }
    }
    let key = std::mem::replace(&mut d.access_key, "AKIDEXPIRED".to_owned());
    call(d, p, "expired credentials", "DescribeAlarms", &json!({}));
    d.access_key = key;
}
