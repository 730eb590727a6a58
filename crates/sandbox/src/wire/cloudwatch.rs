//! CloudWatch on the wire, in the three protocols its published model lists (`protocols`:
//! `smithy-rpc-v2-cbor`, `json`, `query`), each answered in the protocol it was asked in:
//!
//! - Smithy RPC v2 CBOR: `POST /service/GraniteServiceVersion20100801/operation/<Op>`,
//!   `smithy-protocol: rpc-v2-cbor`, CBOR bodies (`cbor`) — what the Rust SDK sends;
//! - AWS JSON 1.0: `X-Amz-Target: GraniteServiceVersion20100801.<Op>`,
//!   `application/x-amz-json-1.0` — what boto3 and the AWS CLI send;
//! - the query protocol: a form with `Action` and `Version=2010-08-01`, XML answers in
//!   `http://monitoring.amazonaws.com/doc/2010-08-01/` — older clients.
//!
//! Every body becomes the operation's input document, is checked against CloudWatch's input
//! model (a broken constraint is `ValidationError`, a value not of its type
//! `SerializationException` — `MalformedInput` in a form), then read into one typed input per
//! operation; each executes in the caller's account and Region (`world::cloudwatch`,
//! `world::alarms`) and answers an [`Out`] written in the request's protocol. Errors carry
//! CloudWatch's query codes (`InvalidParameterValue`, `ResourceNotFound`, ...); the JSON and
//! CBOR answers name the error shape in `__type` and the code in `x-amzn-query-error`
//! (`answer`), as the model's `awsQueryCompatible` trait has them.

use serde::Deserialize;
use serde_json::Value;

use super::model::{Model, Service};
use super::out::{Out, xml_response};
use super::{Op, Protocol, cbor, query, request};
use crate::vocabulary::{ApiError, Millis, codes};
use crate::world::metrics::{MetricId, StatSet};
use crate::world::{
    Alarm, AlarmConfig, AlarmFilter, Caller, DataQuery, Datum, MetricDataRequest, StatQuery, World,
};

/// CloudWatch's API version, a form's `Version`.
pub const VERSION: &str = "2010-08-01";
/// The namespace of its XML answers (model `xmlNamespace`).
pub const NAMESPACE: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";
/// The `X-Amz-Target` prefix of its JSON 1.0 requests (model `targetPrefix`).
pub const TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";
/// The path prefix of its RPC v2 CBOR requests.
pub const CBOR_PATH_PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";
/// The namespace of its error shapes' ids in `__type`.
pub const SHAPE_NAMESPACE: &str = "com.amazonaws.cloudwatch";

/// The operations served.
pub const OPS: [Op; 5] = [
    Op::DescribeAlarms,
    Op::GetMetricData,
    Op::PutMetricAlarm,
    Op::PutMetricData,
    Op::SetAlarmState,
];

/// A request body, as its protocol carries it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Form(&'a str),
    Json(&'a [u8]),
    Cbor(&'a [u8]),
}

/// A CloudWatch request, read.
#[derive(Debug, Clone)]
pub enum Request {
    GetMetricData(GetMetricDataInput),
    PutMetricData(PutMetricDataInput),
    PutMetricAlarm(Box<PutMetricAlarmInput>),
    DescribeAlarms(DescribeAlarmsInput),
    SetAlarmState(SetAlarmStateInput),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DimensionInput {
    name: String,
    value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricInput {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<DimensionInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStatInput {
    metric: MetricInput,
    period: i64,
    stat: String,
    #[serde(default)]
    unit: Option<String>,
}

/// `MetricDataQuery` (`Period`, for an expression, is not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQueryInput {
    id: String,
    #[serde(default)]
    metric_stat: Option<MetricStatInput>,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    return_data: Option<bool>,
    #[serde(default)]
    account_id: Option<String>,
}

/// `GetMetricDataInput` (`LabelOptions` is checked by the model, then not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataInput {
    metric_data_queries: Vec<MetricDataQueryInput>,
    start_time: f64,
    end_time: f64,
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    scan_by: Option<String>,
    #[serde(default)]
    max_datapoints: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatisticSetInput {
    sample_count: f64,
    sum: f64,
    minimum: f64,
    maximum: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDatumInput {
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<DimensionInput>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    statistic_values: Option<StatisticSetInput>,
    #[serde(default)]
    values: Vec<f64>,
    #[serde(default)]
    counts: Vec<f64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    storage_resolution: Option<i64>,
}

/// `EntityMetricData`: its metric data are kept, its entity is not read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntityMetricDataInput {
    #[serde(default)]
    metric_data: Vec<MetricDatumInput>,
}

/// `PutMetricDataInput` (`StrictEntityValidation` not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutMetricDataInput {
    namespace: String,
    #[serde(default)]
    metric_data: Vec<MetricDatumInput>,
    #[serde(default)]
    entity_metric_data: Vec<EntityMetricDataInput>,
}

/// `PutMetricAlarmInput` (`Tags`, `EvaluationWindow`, `WarmUpConfiguration`,
/// `EvaluationInterval` and `ActionConfiguration` checked by the model, then not read).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutMetricAlarmInput {
    alarm_name: String,
    #[serde(default)]
    alarm_description: Option<String>,
    #[serde(default)]
    actions_enabled: Option<bool>,
    #[serde(default, rename = "OKActions")]
    ok_actions: Vec<String>,
    #[serde(default)]
    alarm_actions: Vec<String>,
    #[serde(default)]
    insufficient_data_actions: Vec<String>,
    #[serde(default)]
    metric_name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    statistic: Option<String>,
    #[serde(default)]
    extended_statistic: Option<String>,
    #[serde(default)]
    dimensions: Vec<DimensionInput>,
    #[serde(default)]
    period: Option<i64>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    evaluation_periods: Option<i64>,
    #[serde(default)]
    datapoints_to_alarm: Option<i64>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    comparison_operator: Option<String>,
    #[serde(default)]
    treat_missing_data: Option<String>,
    #[serde(default)]
    evaluate_low_sample_count_percentile: Option<String>,
    #[serde(default)]
    metrics: Option<Value>,
    #[serde(default)]
    threshold_metric_id: Option<String>,
    #[serde(default)]
    evaluation_criteria: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAlarmsInput {
    #[serde(default)]
    alarm_names: Vec<String>,
    #[serde(default)]
    alarm_name_prefix: Option<String>,
    #[serde(default)]
    alarm_types: Vec<String>,
    #[serde(default)]
    children_of_alarm_name: Option<String>,
    #[serde(default)]
    parents_of_alarm_name: Option<String>,
    #[serde(default)]
    state_value: Option<String>,
    #[serde(default)]
    action_prefix: Option<String>,
    #[serde(default)]
    max_records: Option<i64>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetAlarmStateInput {
    alarm_name: String,
    state_value: String,
    state_reason: String,
    #[serde(default)]
    state_reason_data: Option<String>,
}

/// A document's epoch seconds as milliseconds.
fn millis(seconds: f64) -> Millis {
    (seconds * 1_000.0).round() as Millis
}

fn dimensions(given: &[DimensionInput]) -> Vec<(String, String)> {
    given
        .iter()
        .map(|d| (d.name.clone(), d.value.clone()))
        .collect()
}

/// A body's input document, checked against CloudWatch's model.
fn document(op: Op, body: Body<'_>) -> Result<Value, ApiError> {
    let document = match body {
        // The form's reader checks the model itself, in the query protocol's words.
        Body::Form(form) => return query::read(Service::CloudWatch, op.name(), form),
        Body::Json(bytes) => request::document(bytes)?,
        Body::Cbor(bytes) => {
            let document = cbor::decode(bytes).map_err(|e| {
                ApiError::new(
                    codes::SERIALIZATION,
                    format!("The request body is not valid CBOR: {e}"),
                )
            })?;
            if !document.is_object() {
                return Err(ApiError::new(
                    codes::SERIALIZATION,
                    "The request body must be a CBOR map.",
                ));
            }
            document
        }
    };
    let found = Model::of(Service::CloudWatch).findings(op.name(), &document);
    if let Some(message) = found.wrong_type {
        return Err(ApiError::new(codes::SERIALIZATION, message));
    }
    if let Some(message) = found.validation_message() {
        return Err(ApiError::new(codes::VALIDATION_QUERY, message));
    }
    Ok(document)
}

impl Request {
    /// Reads `body` as the input of `op`, a CloudWatch operation.
    pub fn read(op: Op, body: Body<'_>) -> Result<Request, ApiError> {
        let document = document(op, body)?;
        fn typed<T: serde::de::DeserializeOwned>(document: Value) -> Result<T, ApiError> {
            request::typed(document)
        }
        Ok(match op {
            Op::GetMetricData => Request::GetMetricData(typed(document)?),
            Op::PutMetricData => Request::PutMetricData(typed(document)?),
            Op::PutMetricAlarm => Request::PutMetricAlarm(Box::new(typed(document)?)),
            Op::DescribeAlarms => Request::DescribeAlarms(typed(document)?),
            Op::SetAlarmState => Request::SetAlarmState(typed(document)?),
            other => unreachable!("{} is not a CloudWatch operation", other.name()),
        })
    }

    /// Carries the request out in `caller`'s account; the answer in `protocol`.
    #[allow(clippy::too_many_arguments)]
    pub fn execute(
        &self,
        op: Op,
        protocol: Protocol,
        world: &mut World,
        caller: &Caller,
        region: &str,
        now: Millis,
        request_id: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let account = &caller.account;
        let out = match self {
            Request::GetMetricData(r) => Some(get_metric_data(world, account, region, r, now)?),
            Request::PutMetricData(r) => {
                let data: Vec<Datum> = r
                    .metric_data
                    .iter()
                    .chain(r.entity_metric_data.iter().flat_map(|e| &e.metric_data))
                    .map(datum)
                    .collect();
                world.put_metric_data(account, region, &r.namespace, &data, now)?;
                None
            }
            Request::PutMetricAlarm(r) => {
                world.put_metric_alarm(account, region, &r.alarm_name, alarm_config(r), now)?;
                None
            }
            Request::DescribeAlarms(r) => {
                let filter = AlarmFilter {
                    names: r.alarm_names.clone(),
                    prefix: r.alarm_name_prefix.clone(),
                    state: r.state_value.clone(),
                    action_prefix: r.action_prefix.clone(),
                    types: r.alarm_types.clone(),
                    children_of: r.children_of_alarm_name.clone(),
                    parents_of: r.parents_of_alarm_name.clone(),
                    max_records: r.max_records.map(|n| n as usize),
                    next_token: r.next_token.clone(),
                };
                let page = world.describe_alarms(account, region, &filter)?;
                Some(Out::fields(vec![
                    (
                        "MetricAlarms",
                        Some(Out::List(page.metric_alarms.iter().map(alarm).collect())),
                    ),
                    ("CompositeAlarms", page.composite.then(|| Out::List(vec![]))),
                    ("LogAlarms", page.log.then(|| Out::List(vec![]))),
                    ("NextToken", page.next_token.as_deref().map(Out::str)),
                ]))
            }
            Request::SetAlarmState(r) => {
                world.set_alarm_state(
                    account,
                    region,
                    &r.alarm_name,
                    &r.state_value,
                    &r.state_reason,
                    r.state_reason_data.as_deref(),
                    now,
                )?;
                None
            }
        };
        Ok(render(op, protocol, out.as_ref(), request_id))
    }
}

/// An answer in the request's protocol: no output is an empty body in CBOR (Smithy's
/// `no_output` test), `{}` in JSON, the envelope alone in XML.
fn render(op: Op, protocol: Protocol, out: Option<&Out>, request_id: &str) -> Vec<u8> {
    match protocol {
        Protocol::Cbor => out.map(cbor::encode).unwrap_or_default(),
        Protocol::Query(_) => xml_response(op.name(), NAMESPACE, request_id, out),
        _ => serde_json::to_vec(&out.map_or_else(|| serde_json::json!({}), Out::to_json))
            .unwrap_or_default(),
    }
}

fn get_metric_data(
    world: &mut World,
    account: &str,
    region: &str,
    r: &GetMetricDataInput,
    now: Millis,
) -> Result<Out, ApiError> {
    let mut queries = Vec::new();
    for (i, q) in r.metric_data_queries.iter().enumerate() {
        let stat = match &q.metric_stat {
            None => None,
            Some(s) => {
                let at = format!("MetricDataQueries.member.{}.MetricStat.Metric", i + 1);
                let required = |v: &Option<String>, what: &str| {
                    v.clone().ok_or_else(|| {
                        ApiError::new(
                            codes::MISSING_PARAMETER,
                            format!("The parameter {at}.{what} is required."),
                        )
                    })
                };
                let namespace = required(&s.metric.namespace, "Namespace")?;
                let name = required(&s.metric.metric_name, "MetricName")?;
                Some(StatQuery {
                    metric: MetricId::new(&namespace, &name, dimensions(&s.metric.dimensions)),
                    period: s.period,
                    stat: s.stat.clone(),
                    unit: s.unit.clone(),
                })
            }
        };
        queries.push(DataQuery {
            id: q.id.clone(),
            label: q.label.clone(),
            return_data: q.return_data,
            stat,
            expression: q.expression.clone(),
            account_id: q.account_id.clone(),
        });
    }
    let request = MetricDataRequest {
        queries,
        start: millis(r.start_time),
        end: millis(r.end_time),
        next_token: r.next_token.clone(),
        ascending: r.scan_by.as_deref() == Some("TimestampAscending"),
        max_datapoints: r.max_datapoints,
    };
    let page = world.get_metric_data(account, region, &request, now)?;
    let results = page
        .results
        .iter()
        .map(|result| {
            Out::fields(vec![
                ("Id", Some(Out::str(&result.id))),
                ("Label", Some(Out::str(&result.label))),
                (
                    "Timestamps",
                    Some(Out::List(
                        result.timestamps.iter().map(|t| Out::Time(*t)).collect(),
                    )),
                ),
                (
                    "Values",
                    Some(Out::List(
                        result.values.iter().map(|v| Out::Double(*v)).collect(),
                    )),
                ),
                ("StatusCode", Some(Out::str(result.status))),
            ])
        })
        .collect();
    Ok(Out::fields(vec![
        ("MetricDataResults", Some(Out::List(results))),
        ("NextToken", page.next_token.as_deref().map(Out::str)),
        ("Messages", Some(Out::List(Vec::new()))),
    ]))
}

fn datum(d: &MetricDatumInput) -> Datum {
    Datum {
        name: d.metric_name.clone(),
        dimensions: dimensions(&d.dimensions),
        timestamp: d.timestamp.map(millis),
        value: d.value,
        statistic_values: d.statistic_values.as_ref().map(|s| StatSet {
            count: s.sample_count,
            sum: s.sum,
            min: s.minimum,
            max: s.maximum,
        }),
        values: d.values.clone(),
        counts: d.counts.clone(),
        unit: d.unit.clone(),
        storage_resolution: d.storage_resolution,
    }
}

fn alarm_config(r: &PutMetricAlarmInput) -> AlarmConfig {
    AlarmConfig {
        description: r.alarm_description.clone(),
        actions_enabled: r.actions_enabled,
        ok_actions: r.ok_actions.clone(),
        alarm_actions: r.alarm_actions.clone(),
        insufficient_data_actions: r.insufficient_data_actions.clone(),
        metric_name: r.metric_name.clone(),
        namespace: r.namespace.clone(),
        statistic: r.statistic.clone(),
        extended_statistic: r.extended_statistic.clone(),
        dimensions: dimensions(&r.dimensions),
        period: r.period,
        unit: r.unit.clone(),
        evaluation_periods: r.evaluation_periods,
        datapoints_to_alarm: r.datapoints_to_alarm,
        threshold: r.threshold,
        comparison_operator: r.comparison_operator.clone(),
        treat_missing_data: r.treat_missing_data.clone(),
        evaluate_low_sample_count_percentile: r.evaluate_low_sample_count_percentile.clone(),
        threshold_metric_id: r.threshold_metric_id.clone(),
        metrics: r.metrics.clone(),
        evaluation_criteria: r.evaluation_criteria.is_some(),
    }
}

/// A `MetricAlarm`.
fn alarm(a: &Alarm) -> Out {
    let c = &a.config;
    let text = |v: &Option<String>| v.as_deref().map(Out::str);
    Out::fields(vec![
        ("AlarmName", Some(Out::str(&a.name))),
        ("AlarmArn", Some(Out::str(&a.arn))),
        ("AlarmDescription", text(&c.description)),
        (
            "AlarmConfigurationUpdatedTimestamp",
            Some(Out::Time(a.config_updated)),
        ),
        (
            "ActionsEnabled",
            Some(Out::Bool(c.actions_enabled.unwrap_or(true))),
        ),
        ("OKActions", Some(Out::strings(&c.ok_actions))),
        ("AlarmActions", Some(Out::strings(&c.alarm_actions))),
        (
            "InsufficientDataActions",
            Some(Out::strings(&c.insufficient_data_actions)),
        ),
        ("StateValue", Some(Out::str(a.state))),
        ("StateReason", Some(Out::str(&a.state_reason))),
        ("StateReasonData", text(&a.state_reason_data)),
        ("StateUpdatedTimestamp", Some(Out::Time(a.state_updated))),
        ("MetricName", text(&c.metric_name)),
        ("Namespace", text(&c.namespace)),
        ("Statistic", text(&c.statistic)),
        ("ExtendedStatistic", text(&c.extended_statistic)),
        (
            "Dimensions",
            Some(Out::List(
                c.dimensions
                    .iter()
                    .map(|(n, v)| {
                        Out::fields(vec![
                            ("Name", Some(Out::str(n))),
                            ("Value", Some(Out::str(v))),
                        ])
                    })
                    .collect(),
            )),
        ),
        ("Period", c.period.map(Out::Int)),
        ("Unit", text(&c.unit)),
        ("EvaluationPeriods", c.evaluation_periods.map(Out::Int)),
        ("DatapointsToAlarm", c.datapoints_to_alarm.map(Out::Int)),
        ("Threshold", c.threshold.map(Out::Double)),
        ("ComparisonOperator", text(&c.comparison_operator)),
        ("TreatMissingData", text(&c.treat_missing_data)),
        (
            "EvaluateLowSampleCountPercentile",
            text(&c.evaluate_low_sample_count_percentile),
        ),
        ("Metrics", c.metrics.as_ref().map(Out::of_json)),
        ("ThresholdMetricId", text(&c.threshold_metric_id)),
        (
            "StateTransitionedTimestamp",
            Some(Out::Time(a.state_transitioned)),
        ),
    ])
}
