//! CloudWatch metric alarms of each account and Region: `PutMetricAlarm` creates one in
//! `INSUFFICIENT_DATA` ("Unchecked: Initial alarm creation") or replaces an existing one's
//! configuration, leaving its state as it was; `DescribeAlarms` lists them by name (filtered by
//! names, a prefix, a state, an action prefix; paged); `SetAlarmState` sets the state, as AWS's
//! API reference suggests for testing. Alarms are not evaluated against their metrics: their
//! state changes only by SetAlarmState (an evaluating alarm would undo a state a test set).
//! Composite and log alarms are not modelled (asking for them lists none).

use base64::Engine;
use serde_json::Value;

use super::World;
use super::metrics::is_valid_period;
use crate::vocabulary::{ApiError, Millis, codes, partition};

/// `StateValue`s.
pub const STATE_VALUES: [&str; 3] = ["OK", "ALARM", "INSUFFICIENT_DATA"];
/// `TreatMissingData`'s values.
const TREAT_MISSING: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];
/// DescribeAlarms' `MaxRecords` when none is given.
pub const DEFAULT_MAX_RECORDS: usize = 50;

/// What PutMetricAlarm says of an alarm; DescribeAlarms echoes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmConfig {
    pub description: Option<String>,
    pub actions_enabled: Option<bool>,
    pub ok_actions: Vec<String>,
    pub alarm_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub period: Option<i64>,
    pub unit: Option<String>,
    pub evaluation_periods: Option<i64>,
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub threshold_metric_id: Option<String>,
    /// `Metrics` (a metric math alarm's queries), as given.
    pub metrics: Option<Value>,
    /// Whether `EvaluationCriteria` (a PromQL alarm) was given.
    pub evaluation_criteria: bool,
}

/// A metric alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub arn: String,
    pub config: AlarmConfig,
    pub state: &'static str,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    pub state_updated: Millis,
    pub state_transitioned: Millis,
    pub config_updated: Millis,
}

/// DescribeAlarms' filters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmFilter {
    pub names: Vec<String>,
    pub prefix: Option<String>,
    pub state: Option<String>,
    pub action_prefix: Option<String>,
    /// `AlarmTypes` (empty: metric alarms only).
    pub types: Vec<String>,
    pub children_of: Option<String>,
    pub parents_of: Option<String>,
    pub max_records: Option<usize>,
    pub next_token: Option<String>,
}

/// A page of DescribeAlarms.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmPage {
    pub metric_alarms: Vec<Alarm>,
    /// Whether composite alarms were asked for (the answer lists none).
    pub composite: bool,
    /// Whether log alarms were asked for (the answer lists none).
    pub log: bool,
    pub next_token: Option<String>,
}

fn missing(what: &str) -> ApiError {
    ApiError::new(
        codes::MISSING_PARAMETER,
        format!("The parameter {what} is required."),
    )
}

fn combination(message: impl Into<String>) -> ApiError {
    ApiError::new(codes::INVALID_PARAMETER_COMBINATION, message)
}

/// What PutMetricAlarm refuses of a configuration.
fn check_config(c: &AlarmConfig) -> Result<(), ApiError> {
    let sources = [
        c.metric_name.is_some(),
        c.metrics.is_some(),
        c.evaluation_criteria,
    ];
    match sources.iter().filter(|s| **s).count() {
        0 => {
            return Err(ApiError::new(
                codes::MISSING_PARAMETER,
                "One of the parameters MetricName, Metrics or EvaluationCriteria is required.",
            ));
        }
        1 => {}
        _ => {
            return Err(combination(
                "The parameters MetricName, Metrics and EvaluationCriteria are mutually exclusive and you have specified more than one.",
            ));
        }
    }
    if c.metric_name.is_some() {
        match (&c.statistic, &c.extended_statistic) {
            (Some(_), Some(_)) => {
                return Err(combination(
                    "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.",
                ));
            }
            (None, None) => return Err(missing("Statistic")),
            _ => {}
        }
        let period = c.period.ok_or_else(|| missing("Period"))?;
        if !(is_valid_period(period) && period >= 10) {
            return Err(ApiError::new(
                codes::INVALID_PARAMETER_VALUE,
                format!(
                    "The value {period} for parameter Period is invalid: it must be 10, 20, 30 or a multiple of 60."
                ),
            ));
        }
    }
    if c.evaluation_criteria {
        return Ok(());
    }
    let periods = c
        .evaluation_periods
        .ok_or_else(|| missing("EvaluationPeriods"))?;
    if c.comparison_operator.is_none() {
        return Err(missing("ComparisonOperator"));
    }
    if c.threshold.is_none() && c.threshold_metric_id.is_none() {
        return Err(missing("Threshold"));
    }
    if c.datapoints_to_alarm.is_some_and(|m| m > periods) {
        return Err(ApiError::new(
            codes::INVALID_PARAMETER_VALUE,
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
        ));
    }
    if let Some(t) = &c.treat_missing_data
        && !TREAT_MISSING.contains(&t.as_str())
    {
        return Err(ApiError::new(
            codes::INVALID_PARAMETER_VALUE,
            format!(
                "The value {t} for parameter TreatMissingData is invalid: it must be one of {}.",
                TREAT_MISSING.join(", ")
            ),
        ));
    }
    Ok(())
}

impl World {
    /// PutMetricAlarm in `account`'s `region`.
    pub fn put_metric_alarm(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        config: AlarmConfig,
        now: Millis,
    ) -> Result<(), ApiError> {
        check_config(&config)?;
        let arn = format!(
            "arn:{}:cloudwatch:{region}:{account}:alarm:{name}",
            partition(region)
        );
        let cw = self.cloudwatch_mut(account, region);
        match cw.alarms.get_mut(name) {
            Some(alarm) => {
                alarm.config = config;
                alarm.config_updated = now;
            }
            None => {
                let alarm = Alarm {
                    name: name.to_owned(),
                    arn,
                    config,
                    state: "INSUFFICIENT_DATA",
                    state_reason: "Unchecked: Initial alarm creation".to_owned(),
                    state_reason_data: None,
                    state_updated: now,
                    state_transitioned: now,
                    config_updated: now,
                };
                cw.alarms.insert(name.to_owned(), alarm);
            }
        }
        Ok(())
    }

    /// SetAlarmState: the alarm's state, reason and reason data, as of `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_alarm_state(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        state: &str,
        reason: &str,
        reason_data: Option<&str>,
        now: Millis,
    ) -> Result<(), ApiError> {
        let state = STATE_VALUES
            .into_iter()
            .find(|s| *s == state)
            .ok_or_else(|| {
                ApiError::new(
                    codes::INVALID_PARAMETER_VALUE,
                    format!("The value {state} for parameter StateValue is invalid."),
                )
            })?;
        let alarm = self
            .cloudwatch_mut(account, region)
            .alarms
            .get_mut(name)
            .ok_or_else(|| {
                ApiError::new(
                    codes::CW_RESOURCE_NOT_FOUND,
                    format!("Alarm {name} not found"),
                )
            })?;
        if let Some(data) = reason_data
            && serde_json::from_str::<Value>(data).is_err()
        {
            return Err(ApiError::new(
                codes::INVALID_FORMAT,
                "StateReasonData is not valid JSON.",
            ));
        }
        if alarm.state != state {
            alarm.state_transitioned = now;
        }
        alarm.state = state;
        alarm.state_reason = reason.to_owned();
        alarm.state_reason_data = reason_data.map(str::to_owned);
        alarm.state_updated = now;
        Ok(())
    }

    /// DescribeAlarms in `account`'s `region`: the matching metric alarms by name, a page of
    /// `MaxRecords` (default 50) from the token's.
    pub fn describe_alarms(
        &self,
        account: &str,
        region: &str,
        f: &AlarmFilter,
    ) -> Result<AlarmPage, ApiError> {
        if !f.names.is_empty() && f.prefix.is_some() {
            return Err(combination(
                "The parameters AlarmNames and AlarmNamePrefix are mutually exclusive and you have specified both.",
            ));
        }
        let family = f.children_of.is_some() || f.parents_of.is_some();
        if family
            && (!f.names.is_empty()
                || f.prefix.is_some()
                || f.state.is_some()
                || f.action_prefix.is_some())
        {
            return Err(combination(
                "ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with other filters.",
            ));
        }
        let after = match &f.next_token {
            None => None,
            Some(token) => Some(read_name_token(token).ok_or_else(|| {
                ApiError::new(codes::INVALID_NEXT_TOKEN, "The NextToken is not valid.")
            })?),
        };
        let metric = f.types.is_empty() || f.types.iter().any(|t| t == "MetricAlarm");
        let max = f.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
        let empty = std::collections::BTreeMap::new();
        let alarms = self
            .cloudwatch_of(account, region)
            .map_or(&empty, |cw| &cw.alarms);
        let mut matching = alarms.values().filter(|a| {
            // Composite alarms are not modelled: an alarm has neither children nor parents.
            metric
                && !family
                && (f.names.is_empty() || f.names.contains(&a.name))
                && f.prefix.as_ref().is_none_or(|p| a.name.starts_with(p))
                && f.state.as_ref().is_none_or(|s| a.state == s)
                && f.action_prefix.as_ref().is_none_or(|p| {
                    let c = &a.config;
                    c.ok_actions
                        .iter()
                        .chain(&c.alarm_actions)
                        .chain(&c.insufficient_data_actions)
                        .any(|action| action.starts_with(p))
                })
                && after.as_ref().is_none_or(|n| &a.name > n)
        });
        let page: Vec<Alarm> = matching.by_ref().take(max).cloned().collect();
        let next_token = match (matching.next(), page.last()) {
            (Some(_), Some(last)) => Some(
                base64::engine::general_purpose::STANDARD.encode(format!("alarm|{}", last.name)),
            ),
            _ => None,
        };
        Ok(AlarmPage {
            metric_alarms: page,
            composite: f.types.iter().any(|t| t == "CompositeAlarm"),
            log: f.types.iter().any(|t| t == "LogAlarm"),
            next_token,
        })
    }
}

/// The alarm name a DescribeAlarms token continues after.
fn read_name_token(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("alarm|")
        .map(str::to_owned)
}
