//! CloudWatch's wire: one operation in each of its three protocols (RPC v2 CBOR, JSON 1.0,
//! query) reads the same input and answers the same data, each in its own form; errors with
//! their shapes and `x-amzn-query-error`; operations without output; routing; and synthetic
//! producers brought up to date before a key changes.

use http_body_util::BodyExt;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::out::Out;
use super::*;
use crate::seed::Seed;
use crate::world::SandboxConfig;

const T0: Millis = 1_800_000_000_000;
const MIN: Millis = 60_000;
const REGION: &str = "us-east-1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

fn world() -> World {
    let seed: Seed = serde_json::from_value(json!({
        "streams": [{"name": "orders", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k"},
            "producers": [{"user": "app", "kms": true, "rate": 1}]}],
        "keys": [{"id": "k"}]
    }))
    .unwrap();
    World::new(&SandboxConfig::default(), &seed, T0).unwrap()
}

/// An answer: status, headers, body.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn cbor(&self) -> Value {
        cbor::decode(&self.body).unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// One request to `world` at `now`, answered as the server answers it.
fn send(
    world: &mut World,
    headers: &[(&str, &str)],
    path: &str,
    body: &[u8],
    now: Millis,
) -> Answer {
    let mut map = HeaderMap::new();
    map.insert(
        "authorization",
        HeaderValue::from_static(
            "AWS4-HMAC-SHA256 Credential=AKIDBASE/20270115/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0",
        ),
    );
    for (k, v) in headers {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let call = Call::parse(&map, path, body, REGION);
    let caller = world.caller(&call.access_key, now);
    let result = call.execute(world, &caller, now, "rid");
    let resp = answer::reply(call.protocol, result, "rid");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = futures_body(resp.into_body());
    Answer {
        status,
        headers,
        body,
    }
}

fn futures_body(body: http_body_util::Full<bytes::Bytes>) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(body.collect()).unwrap().to_bytes().to_vec()
}

fn cbor_call(world: &mut World, op: &str, input: &Out, now: Millis) -> Answer {
    let path = format!("{}{op}", cloudwatch::CBOR_PATH_PREFIX);
    let headers = [
        ("content-type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
    ];
    send(world, &headers, &path, &cbor::encode(input), now)
}

fn json_call(world: &mut World, op: &str, input: &Value, now: Millis) -> Answer {
    let target = format!("{}{op}", cloudwatch::TARGET_PREFIX);
    let headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", target.as_str()),
    ];
    send(world, &headers, "/", input.to_string().as_bytes(), now)
}

fn form_call(world: &mut World, form: &str, now: Millis) -> Answer {
    send(world, &[("content-type", FORM)], "/", form.as_bytes(), now)
}

/// GetMetricData of `IncomingRecords` of `orders`, per minute, the first three minutes.
fn get_metric_data_out() -> Out {
    let dimension = Out::fields(vec![
        ("Name", Some(Out::str("DeliveryStreamName"))),
        ("Value", Some(Out::str("orders"))),
    ]);
    let metric = Out::fields(vec![
        ("Namespace", Some(Out::str("AWS/Firehose"))),
        ("MetricName", Some(Out::str("IncomingRecords"))),
        ("Dimensions", Some(Out::List(vec![dimension]))),
    ]);
    let stat = Out::fields(vec![
        ("Metric", Some(metric)),
        ("Period", Some(Out::Int(60))),
        ("Stat", Some(Out::str("Sum"))),
    ]);
    let query = Out::fields(vec![
        ("Id", Some(Out::str("m1"))),
        ("MetricStat", Some(stat)),
    ]);
    Out::fields(vec![
        ("MetricDataQueries", Some(Out::List(vec![query]))),
        ("StartTime", Some(Out::Time(T0))),
        ("EndTime", Some(Out::Time(T0 + 3 * MIN))),
        ("ScanBy", Some(Out::str("TimestampAscending"))),
    ])
}

#[test]
fn three_protocols_read_the_same_input_and_answer_the_same_data() {
    let now = T0 + 5 * MIN;
    let expected = json!({"MetricDataResults": [{"Id": "m1", "Label": "IncomingRecords",
        "Timestamps": [1_800_000_000.0, 1_800_000_060.0, 1_800_000_120.0],
        "Values": [60.0, 60.0, 60.0], "StatusCode": "Complete"}], "Messages": []});
    let input = get_metric_data_out();
    let cbor = cbor_call(&mut world(), "GetMetricData", &input, now);
    assert_eq!(cbor.status, 200);
    assert_eq!(cbor.header("content-type"), Some("application/cbor"));
    assert_eq!(cbor.header("smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(cbor.cbor(), expected);
    // Doubles are 64-bit floats, timestamps tag 1.
    assert!(cbor.body.windows(2).any(|w| w == [0xc1, 0xfb]));
    let json = json_call(&mut world(), "GetMetricData", &input.to_json(), now);
    assert_eq!(json.status, 200);
    assert_eq!(
        json.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    assert_eq!(json.json(), expected);
    let form = "Action=GetMetricData&Version=2010-08-01\
        &MetricDataQueries.member.1.Id=m1\
        &MetricDataQueries.member.1.MetricStat.Metric.Namespace=AWS%2FFirehose\
        &MetricDataQueries.member.1.MetricStat.Metric.MetricName=IncomingRecords\
        &MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=DeliveryStreamName\
        &MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=orders\
        &MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Stat=Sum\
        &StartTime=2027-01-15T08%3A00%3A00Z&EndTime=2027-01-15T08%3A03%3A00Z&ScanBy=TimestampAscending";
    let xml = form_call(&mut world(), form, now);
    assert_eq!(
        (xml.status, xml.header("content-type")),
        (200, Some("text/xml"))
    );
    let text = xml.text();
    assert!(
        text.starts_with("<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><GetMetricDataResult><MetricDataResults><member><Id>m1</Id><Label>IncomingRecords</Label><Timestamps><member>2027-01-15T08:00:00Z</member><member>2027-01-15T08:01:00Z</member><member>2027-01-15T08:02:00Z</member></Timestamps><Values><member>60.0</member>"),
        "{text}"
    );
}

#[test]
fn errors_name_their_shape_and_query_code() {
    let mut w = world();
    let set = |name: &str| {
        Out::fields(vec![
            ("AlarmName", Some(Out::str(name))),
            ("StateValue", Some(Out::str("ALARM"))),
            ("StateReason", Some(Out::str("test"))),
        ])
    };
    let missing = cbor_call(&mut w, "SetAlarmState", &set("nope"), T0);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("x-amzn-query-error"),
        Some("ResourceNotFound;Sender")
    );
    assert_eq!(missing.header("smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(
        missing.cbor(),
        json!({"__type": "com.amazonaws.cloudwatch#ResourceNotFound", "message": "Alarm nope not found"})
    );
    // A constraint of the model: ValidationError, its message naming the member.
    let invalid = json_call(
        &mut w,
        "SetAlarmState",
        &json!({"AlarmName": "a", "StateValue": "MAYBE", "StateReason": "r"}),
        T0,
    );
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.header("x-amzn-query-error"),
        Some("ValidationError;Sender")
    );
    let body = invalid.json();
    assert_eq!(body["__type"], "ValidationException");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("1 validation error detected: Value 'MAYBE' at 'stateValue'")
    );
    // Not JSON, not CBOR.
    let target = format!("{}PutMetricData", cloudwatch::TARGET_PREFIX);
    let garbled = send(&mut w, &[("x-amz-target", &target)], "/", b"{", T0);
    assert_eq!(
        (garbled.status, garbled.json()["__type"].as_str()),
        (400, Some("SerializationException"))
    );
    assert_eq!(garbled.header("x-amzn-query-error"), None);
    let path = format!("{}PutMetricData", cloudwatch::CBOR_PATH_PREFIX);
    let garbled = send(&mut w, &[], &path, &[0xbf, 0x61], T0);
    assert_eq!(garbled.cbor()["__type"], "SerializationException");
    // The query protocol: ErrorResponse with the code.
    let aws = form_call(
        &mut w,
        "Action=PutMetricData&Version=2010-08-01&Namespace=AWS%2FFirehose&MetricData.member.1.MetricName=m&MetricData.member.1.Value=1",
        T0,
    );
    assert_eq!(aws.status, 400);
    assert!(
        aws.text().contains("<Code>InvalidParameterValue</Code>"),
        "{}",
        aws.text()
    );
    // An operation not served, in each protocol.
    let unknown = send(
        &mut w,
        &[],
        &format!("{}ListMetrics", cloudwatch::CBOR_PATH_PREFIX),
        b"",
        T0,
    );
    assert_eq!(unknown.cbor()["__type"], "UnknownOperationException");
    let unknown = form_call(&mut w, "Action=ListMetrics&Version=2010-08-01", T0);
    assert!(unknown.text().contains("<Code>InvalidAction</Code>"));
}

#[test]
fn operations_without_output_answer_nothing() {
    let mut w = world();
    let alarm = json!({"AlarmName": "kms", "Namespace": "AWS/Firehose", "MetricName": "KMSKeyAccessDenied",
        "Dimensions": [{"Name": "DeliveryStreamName", "Value": "orders"}], "Statistic": "Sum",
        "Period": 60, "EvaluationPeriods": 1, "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold"});
    let put = cbor_call(&mut w, "PutMetricAlarm", &Out::of_json(&alarm), T0);
    assert_eq!((put.status, put.body.len()), (200, 0));
    assert_eq!(put.header("content-type"), None);
    assert_eq!(put.header("smithy-protocol"), Some("rpc-v2-cbor"));
    let set = json!({"AlarmName": "kms", "StateValue": "ALARM", "StateReason": "gate test"});
    let answer = json_call(&mut w, "SetAlarmState", &set, T0 + MIN);
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    let form = "Action=DescribeAlarms&Version=2010-08-01&StateValue=ALARM";
    let described = form_call(&mut w, form, T0 + MIN);
    let text = described.text();
    assert!(text.contains("<AlarmName>kms</AlarmName>"), "{text}");
    assert!(
        text.contains("<StateValue>ALARM</StateValue><StateReason>gate test</StateReason>"),
        "{text}"
    );
    assert!(text.contains("<Dimensions><member><Name>DeliveryStreamName</Name><Value>orders</Value></member></Dimensions>"), "{text}");
    assert!(text.contains("<Threshold>0.0</Threshold>"), "{text}");
    let described = cbor_call(&mut w, "DescribeAlarms", &Out::Struct(Vec::new()), T0 + MIN);
    let alarms = described.cbor();
    assert_eq!(
        alarms["MetricAlarms"][0]["StateTransitionedTimestamp"],
        json!(1_800_000_060.0)
    );
    assert_eq!(alarms["MetricAlarms"][0]["Period"], json!(60));
}

#[test]
fn forms_go_to_cloudwatch_by_version_or_signing_service() {
    let mut w = world();
    // No Version, signed for `monitoring`.
    let answer = form_call(&mut w, "Action=DescribeAlarms", T0);
    assert_eq!(answer.status, 200);
    assert!(answer.text().starts_with(
        "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
    ));
}

#[test]
fn producers_are_brought_up_to_date_before_a_key_changes() {
    let mut w = world();
    let disable = [
        ("x-amz-target", "TrentService.DisableKey"),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    let answer = send(&mut w, &disable, "/", br#"{"KeyId": "k"}"#, T0 + MIN);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let records = w.stats(T0 + 2 * MIN).streams[0].records.clone().unwrap();
    // The first minute's 60 records went through; the next 60 met a disabled key.
    assert_eq!((records.accepted, records.refused), (60, 60));
}
