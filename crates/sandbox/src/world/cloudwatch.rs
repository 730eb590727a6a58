//! CloudWatch's metrics in each account and Region: `PutMetricData` (custom metrics, any
//! namespace but `AWS/`) and `GetMetricData` (a `MetricStat` per query: a metric, a period and
//! a statistic; `AWS/Firehose` stream metrics read from the stream's record log, brought up to
//! `now` with its synthetic producers; results ordered by `ScanBy`, paged by `MaxDatapoints`
//! with an opaque `NextToken`). What GetMetricData's API reference says of `StartTime` (rounded
//! down) and `Period` (1, 5, 10, 20, 30 or a multiple of 60; coarser for older data) holds; a
//! period finer than the data's resolution answers one datapoint per datapoint kept, at its
//! own time. Datapoints exist only for periods with data: nothing is zero-filled.
//!
//! Metric math and Metrics Insights (`Expression`) and percentile statistics are not computed:
//! such a query is refused with `InvalidParameterValue`.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::World;
use super::alarms::Alarm;
use super::metrics::{
    CustomMetrics, DAY, HOUR, MetricId, Point, StatSet, Statistic, datapoints, is_valid_period,
    period_reaches, round_start,
};
use crate::vocabulary::{ApiError, Millis, codes};

/// CloudWatch of one account in one Region.
#[derive(Debug, Default)]
pub struct CloudWatch {
    pub(super) custom: CustomMetrics,
    pub(super) alarms: BTreeMap<String, Alarm>,
}

/// The most queries one GetMetricData takes.
pub const MAX_QUERIES: usize = 500;
/// GetMetricData's `MaxDatapoints` when none is given.
pub const DEFAULT_MAX_DATAPOINTS: i64 = 100_800;
/// The most datums one PutMetricData takes.
pub const MAX_DATUMS: usize = 1_000;
/// The most distinct values one datum's `Values` takes.
pub const MAX_VALUES: usize = 150;
/// `2^360`: values beyond it are refused.
const VALUE_LIMIT: f64 = 2.348_542_582_773_833_3e108;

/// One `MetricDataQuery`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataQuery {
    pub id: String,
    pub label: Option<String>,
    pub return_data: Option<bool>,
    pub stat: Option<StatQuery>,
    pub expression: Option<String>,
    pub account_id: Option<String>,
}

/// A `MetricStat`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatQuery {
    pub metric: MetricId,
    /// Seconds.
    pub period: i64,
    pub stat: String,
    pub unit: Option<String>,
}

/// A GetMetricData request.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataRequest {
    pub queries: Vec<DataQuery>,
    pub start: Millis,
    pub end: Millis,
    pub next_token: Option<String>,
    /// `ScanBy` `TimestampAscending` (else newest first, the default).
    pub ascending: bool,
    pub max_datapoints: Option<i64>,
}

/// One `MetricDataResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataResult {
    pub id: String,
    pub label: String,
    pub timestamps: Vec<Millis>,
    pub values: Vec<f64>,
    /// `Complete`, `PartialData` (more on a later page) or `Forbidden` (another account's).
    pub status: &'static str,
}

/// A page of GetMetricData.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataPage {
    pub results: Vec<MetricDataResult>,
    pub next_token: Option<String>,
}

/// One `MetricDatum` of PutMetricData: its value(s) as given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Datum {
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    pub timestamp: Option<Millis>,
    pub value: Option<f64>,
    pub statistic_values: Option<StatSet>,
    pub values: Vec<f64>,
    pub counts: Vec<f64>,
    pub unit: Option<String>,
    pub storage_resolution: Option<i64>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::INVALID_PARAMETER_VALUE, message)
}

impl World {
    /// CloudWatch of `account` in `region`.
    pub(super) fn cloudwatch_mut(&mut self, account: &str, region: &str) -> &mut CloudWatch {
        self.cloudwatch
            .entry((account.to_owned(), region.to_owned()))
            .or_default()
    }

    pub(super) fn cloudwatch_of(&self, account: &str, region: &str) -> Option<&CloudWatch> {
        self.cloudwatch
            .get(&(account.to_owned(), region.to_owned()))
    }

    /// The granularity of CloudWatch's datapoints, in milliseconds.
    pub fn metric_period(&self) -> Millis {
        self.metric_period
    }

    /// PutMetricData in `account`'s `region`: every datum is checked before any is kept.
    pub fn put_metric_data(
        &mut self,
        account: &str,
        region: &str,
        namespace: &str,
        data: &[Datum],
        now: Millis,
    ) -> Result<(), ApiError> {
        if namespace.starts_with("AWS/") {
            return Err(invalid(format!(
                "The value {namespace} for parameter Namespace is invalid."
            )));
        }
        if data.is_empty() {
            return Err(ApiError::new(
                codes::MISSING_PARAMETER,
                "The parameter MetricData is required.",
            ));
        }
        if data.len() > MAX_DATUMS {
            return Err(invalid(format!(
                "The collection MetricData must not have a size greater than {MAX_DATUMS}."
            )));
        }
        let mut points = Vec::new();
        for (i, d) in data.iter().enumerate() {
            let at = format!("MetricData.member.{}", i + 1);
            let sets = datum_sets(d, &at)?;
            let time = d.timestamp.unwrap_or(now);
            if time < now - 14 * DAY {
                return Err(invalid(format!(
                    "The parameter {at}.Timestamp must specify a time no more than two weeks in the past."
                )));
            }
            if time > now + 2 * HOUR {
                return Err(invalid(format!(
                    "The parameter {at}.Timestamp must specify a time no more than two hours in the future."
                )));
            }
            let high = match d.storage_resolution {
                None | Some(60) => false,
                Some(1) => true,
                Some(other) => {
                    return Err(invalid(format!(
                        "The value {other} for parameter {at}.StorageResolution is invalid: it must be 1 or 60."
                    )));
                }
            };
            let id = MetricId::new(namespace, &d.name, d.dimensions.clone());
            let unit = d.unit.clone().unwrap_or_else(|| "None".to_owned());
            for set in sets {
                let point = Point {
                    at: time,
                    set,
                    unit: unit.clone(),
                };
                points.push((id.clone(), point, high));
            }
        }
        let cw = self.cloudwatch_mut(account, region);
        for (id, point, high) in points {
            cw.custom.put(id, point, high, now);
        }
        Ok(())
    }

    /// GetMetricData in `account`'s `region`.
    pub fn get_metric_data(
        &mut self,
        account: &str,
        region: &str,
        request: &MetricDataRequest,
        now: Millis,
    ) -> Result<MetricDataPage, ApiError> {
        check_request(request)?;
        let max = request.max_datapoints.unwrap_or(DEFAULT_MAX_DATAPOINTS);
        if max < 1 {
            return Err(invalid(format!(
                "The value {max} for parameter MaxDatapoints is invalid: it must be at least 1."
            )));
        }
        let fingerprint = fingerprint(request);
        let (first, after) = match &request.next_token {
            None => (0, None),
            Some(token) => read_token(token, &fingerprint).ok_or_else(|| {
                ApiError::new(codes::INVALID_NEXT_TOKEN, "The NextToken is not valid.")
            })?,
        };
        let mut budget = max as usize;
        let mut next_token = None;
        let mut results = Vec::new();
        let returned = request
            .queries
            .iter()
            .filter(|q| q.return_data != Some(false));
        for (i, q) in returned.enumerate() {
            let stat = q.stat.as_ref().expect("checked: a MetricStat");
            let label = q.label.clone().unwrap_or_else(|| stat.metric.name.clone());
            if q.account_id.as_deref().is_some_and(|a| a != account) {
                results.push(MetricDataResult {
                    id: q.id.clone(),
                    label,
                    timestamps: Vec::new(),
                    values: Vec::new(),
                    status: "Forbidden",
                });
                continue;
            }
            let mut points = self.metric_series(account, region, stat, request, now);
            if !request.ascending {
                points.reverse();
            }
            // Already given on earlier pages: the queries before `first`, and in `first` the
            // points up to `after`.
            let left: Vec<(Millis, f64)> = match (i.cmp(&first), after) {
                (std::cmp::Ordering::Less, _) => Vec::new(),
                (std::cmp::Ordering::Equal, Some(t)) => points
                    .into_iter()
                    .filter(|(at, _)| if request.ascending { *at > t } else { *at < t })
                    .collect(),
                _ => points,
            };
            let take = if next_token.is_some() {
                0
            } else {
                left.len().min(budget)
            };
            budget -= take;
            let partial = take < left.len();
            if partial && next_token.is_none() {
                let last = take
                    .checked_sub(1)
                    .map(|k| left[k].0)
                    .or(after.filter(|_| i == first));
                next_token = Some(write_token(&fingerprint, i, last));
            }
            let given = &left[..take];
            results.push(MetricDataResult {
                id: q.id.clone(),
                label,
                timestamps: given.iter().map(|p| p.0).collect(),
                values: given.iter().map(|p| p.1).collect(),
                status: if partial { "PartialData" } else { "Complete" },
            });
        }
        Ok(MetricDataPage {
            results,
            next_token,
        })
    }

    /// The datapoints of one `MetricStat` over the request's time range, oldest first.
    fn metric_series(
        &mut self,
        account: &str,
        region: &str,
        q: &StatQuery,
        request: &MetricDataRequest,
        now: Millis,
    ) -> Vec<(Millis, f64)> {
        let stat = Statistic::parse(&q.stat).expect("checked: a statistic served");
        let start = round_start(request.start, q.period, now);
        if !period_reaches(start, q.period, now) {
            return Vec::new();
        }
        let end = request.end;
        let samples: Vec<(Millis, StatSet)> = match q.metric.firehose_stream() {
            Some((metric, stream)) => {
                if q.unit.as_deref().is_some_and(|u| u != metric.unit()) {
                    return Vec::new();
                }
                let stream = stream.to_owned();
                self.touch(account, region, &stream, now);
                self.record_log(account, region, &stream)
                    .map(|log| log.metrics.samples(metric, start, end).collect())
                    .unwrap_or_default()
            }
            None => self
                .cloudwatch_of(account, region)
                .map(|cw| cw.custom.samples(&q.metric, q.unit.as_deref(), start, end))
                .unwrap_or_default(),
        };
        datapoints(samples, start, end, q.period * 1_000, stat)
    }
}

/// The statistic sets a datum puts: its `Value`, its `StatisticValues`, or each of its
/// `Values` with its count.
fn datum_sets(d: &Datum, at: &str) -> Result<Vec<StatSet>, ApiError> {
    let check = |v: f64, what: &str| {
        if v.is_finite() && v.abs() <= VALUE_LIMIT {
            Ok(v)
        } else {
            Err(invalid(format!(
                "The value {v} for parameter {at}.{what} is invalid."
            )))
        }
    };
    let given = [
        d.value.is_some(),
        d.statistic_values.is_some(),
        !d.values.is_empty(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ApiError::new(
            codes::INVALID_PARAMETER_COMBINATION,
            format!(
                "The parameters {at}.Value, {at}.StatisticValues and {at}.Values are mutually exclusive and you have specified more than one."
            ),
        ));
    }
    if let Some(v) = d.value {
        return Ok(vec![StatSet::one(check(v, "Value")?)]);
    }
    if let Some(s) = d.statistic_values {
        for (v, what) in [
            (s.count, "SampleCount"),
            (s.sum, "Sum"),
            (s.min, "Minimum"),
            (s.max, "Maximum"),
        ] {
            check(v, &format!("StatisticValues.{what}"))?;
        }
        if s.count <= 0.0 || s.min > s.max {
            return Err(invalid(format!(
                "The parameter {at}.StatisticValues must have a SampleCount above 0 and a Minimum no greater than its Maximum."
            )));
        }
        return Ok(vec![s]);
    }
    if d.values.is_empty() {
        return Err(ApiError::new(
            codes::MISSING_PARAMETER,
            format!(
                "One of the parameters {at}.Value, {at}.StatisticValues or {at}.Values is required."
            ),
        ));
    }
    if d.values.len() > MAX_VALUES {
        return Err(invalid(format!(
            "The collection {at}.Values must not have a size greater than {MAX_VALUES}."
        )));
    }
    if !d.counts.is_empty() && d.counts.len() != d.values.len() {
        return Err(invalid(format!(
            "The parameters {at}.Values and {at}.Counts must be of the same size."
        )));
    }
    d.values
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let count = d.counts.get(k).copied().unwrap_or(1.0);
            let v = check(v, &format!("Values.member.{}", k + 1))?;
            if !(count.is_finite() && count > 0.0) {
                return Err(invalid(format!(
                    "The value {count} for parameter {at}.Counts.member.{} is invalid.",
                    k + 1
                )));
            }
            Ok(StatSet::repeated(v, count))
        })
        .collect()
}

/// What GetMetricData refuses before reading anything.
fn check_request(r: &MetricDataRequest) -> Result<(), ApiError> {
    if r.queries.len() > MAX_QUERIES {
        return Err(invalid(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )));
    }
    if r.start >= r.end {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let mut ids = HashSet::new();
    for (i, q) in r.queries.iter().enumerate() {
        let at = format!("MetricDataQueries.member.{}", i + 1);
        let mut chars = q.id.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Err(invalid(format!(
                "The value {} for parameter {at}.Id is invalid: it must start with a lower-case letter and hold only letters, digits and underscores.",
                q.id
            )));
        }
        if !ids.insert(q.id.as_str()) {
            return Err(invalid(format!(
                "The value {} for parameter {at}.Id is used by another query.",
                q.id
            )));
        }
        match (&q.stat, &q.expression) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    codes::INVALID_PARAMETER_COMBINATION,
                    format!(
                        "The parameters {at}.MetricStat and {at}.Expression are mutually exclusive and you have specified both."
                    ),
                ));
            }
            (None, None) => {
                return Err(ApiError::new(
                    codes::MISSING_PARAMETER,
                    format!(
                        "One of the parameters {at}.MetricStat or {at}.Expression is required."
                    ),
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(format!(
                    "The sandbox does not evaluate metric math or Metrics Insights: {at}.Expression is not served."
                )));
            }
            (Some(stat), None) => {
                if !is_valid_period(stat.period) {
                    return Err(invalid(format!(
                        "The value {} for parameter {at}.MetricStat.Period is invalid: it must be 1, 5, 10, 20, 30 or a multiple of 60.",
                        stat.period
                    )));
                }
                if Statistic::parse(&stat.stat).is_none() {
                    return Err(invalid(format!(
                        "The value {} for parameter {at}.MetricStat.Stat is invalid: the sandbox computes SampleCount, Average, Sum, Minimum and Maximum.",
                        stat.stat
                    )));
                }
            }
        }
    }
    Ok(())
}

/// What a NextToken is bound to: the queries and the time range it pages.
fn fingerprint(r: &MetricDataRequest) -> String {
    let mut h = Sha256::new();
    for q in &r.queries {
        h.update(format!("{q:?}").as_bytes());
    }
    h.update(format!("{}/{}/{}", r.start, r.end, r.ascending).as_bytes());
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `v1|<fingerprint>|<query>|<last timestamp given, or ->`, base64.
fn write_token(fingerprint: &str, query: usize, last: Option<Millis>) -> String {
    let last = last.map_or_else(|| "-".to_owned(), |t| t.to_string());
    base64::engine::general_purpose::STANDARD.encode(format!("v1|{fingerprint}|{query}|{last}"))
}

fn read_token(token: &str, fingerprint: &str) -> Option<(usize, Option<Millis>)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('|');
    if parts.next()? != "v1" || parts.next()? != fingerprint {
        return None;
    }
    let query = parts.next()?.parse().ok()?;
    let last = match parts.next()? {
        "-" => None,
        t => Some(t.parse().ok()?),
    };
    Some((query, last))
}
