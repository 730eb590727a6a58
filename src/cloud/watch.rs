//! The health gates' reads from CloudWatch: `GetMetricData` (up to 500 metrics a call, every
//! page) for the `AWS/Firehose` metrics of a wave's streams, and `DescribeAlarms` for the
//! alarms named with `--alarm`. Answers in plain data (`waves::gate` types), errors classified
//! into [`CallError`]. Retries off, as everywhere here: the caller decides.

use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::error::classify;
use super::{CallError, Cloud};
use crate::clock::EpochMillis;
use crate::waves::gate::Series;

/// Metrics `GetMetricData` takes in one call.
pub const QUERIES_PER_CALL: usize = 500;

/// One metric of one stream to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMetric {
    /// The query's id (`[a-z][a-zA-Z0-9_]*`, unique in the call).
    pub id: String,
    pub stream: String,
    pub metric: &'static str,
}

/// An alarm's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmState {
    pub name: String,
    pub state: String,
    pub reason: String,
}

fn to_datetime(ms: EpochMillis) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(ms)
}

impl Cloud {
    fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    /// `GetMetricData` of `AWS/Firehose` metrics (Sum per `period_s`), each stream by its
    /// `DeliveryStreamName`, from `start` to `end`, every page. At most
    /// [`QUERIES_PER_CALL`] metrics. Returns each query's datapoints (time, value).
    pub async fn firehose_metrics(
        &self,
        region: &str,
        metrics: &[StreamMetric],
        period_s: i32,
        start: EpochMillis,
        end: EpochMillis,
    ) -> Result<Vec<(String, Series)>, CallError> {
        let queries: Vec<MetricDataQuery> = metrics
            .iter()
            .map(|m| {
                let metric = Metric::builder()
                    .namespace("AWS/Firehose")
                    .metric_name(m.metric)
                    .dimensions(
                        Dimension::builder()
                            .name("DeliveryStreamName")
                            .value(&m.stream)
                            .build(),
                    )
                    .build();
                MetricDataQuery::builder()
                    .id(&m.id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(period_s)
                            .stat("Sum")
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect();
        let client = self.cloudwatch(region);
        let mut out: Vec<(String, Series)> = Vec::new();
        let mut next: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        loop {
            let page = client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(to_datetime(start))
                .end_time(to_datetime(end))
                .set_next_token(next.take())
                .send()
                .await
                .map_err(classify)?;
            for r in page.metric_data_results() {
                let id = r.id().unwrap_or_default().to_owned();
                let points: Series = r
                    .timestamps()
                    .iter()
                    .zip(r.values())
                    .filter_map(|(t, v)| t.to_millis().ok().map(|t| (t, *v)))
                    .collect();
                match out.iter_mut().find(|(i, _)| *i == id) {
                    Some((_, series)) => series.extend(points),
                    None => out.push((id, points)),
                }
            }
            match page.next_token() {
                Some(token) if !tokens.insert(token.to_owned()) => {
                    return Err(CallError::Unknown(format!(
                        "GetMetricData gave the NextToken {token:?} twice"
                    )));
                }
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        for (_, series) in &mut out {
            series.sort_by_key(|(t, _)| *t);
            series.dedup_by_key(|(t, _)| *t);
        }
        Ok(out)
    }

    /// `DescribeAlarms` of the alarms named `names` (metric and composite alarms), every page.
    pub async fn alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<Vec<AlarmState>, CallError> {
        let client = self.cloudwatch(region);
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        let mut tokens = std::collections::HashSet::new();
        loop {
            let page = client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
                .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(classify)?;
            for a in page.metric_alarms() {
                out.push(AlarmState {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: a
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: a.state_reason().unwrap_or_default().to_owned(),
                });
            }
            for a in page.composite_alarms() {
                out.push(AlarmState {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: a
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: a.state_reason().unwrap_or_default().to_owned(),
                });
            }
            match page.next_token() {
                Some(token) if !tokens.insert(token.to_owned()) => {
                    return Err(CallError::Unknown(format!(
                        "DescribeAlarms gave the NextToken {token:?} twice"
                    )));
                }
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}
