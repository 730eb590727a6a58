//! CloudWatch's metric data, pure: the metrics Firehose publishes per stream (names and units as
//! the Firehose Developer Guide's "Monitoring with CloudWatch metrics" gives them), a stream's
//! datapoints per metric period ([`Slots`]), custom metrics' datapoints (PutMetricData,
//! [`CustomMetrics`]), and the statistics of datapoints over a GetMetricData period: how
//! CloudWatch rounds a query's start, how far back each period reaches, and what `SampleCount`,
//! `Average`, `Sum`, `Minimum` and `Maximum` are of a period's datapoints (each datapoint a
//! statistic set: one value is the set `{1, v, v, v}`).

use std::collections::{BTreeMap, VecDeque};

use crate::vocabulary::Millis;

/// Firehose's namespace.
pub const FIREHOSE_NAMESPACE: &str = "AWS/Firehose";
/// The dimension Firehose's stream metrics are published with.
pub const STREAM_DIMENSION: &str = "DeliveryStreamName";

pub const MINUTE: Millis = 60_000;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;
/// How long datapoints of a period of a minute or more are kept: 15 days (CloudWatch keeps
/// one-minute datapoints 15 days).
pub const STANDARD_RETENTION: Millis = 15 * DAY;
/// How long datapoints of a sub-minute period are kept: 3 hours (CloudWatch's high-resolution
/// retention).
pub const HIGH_RESOLUTION_RETENTION: Millis = 3 * HOUR;

/// How long the datapoints of a metric period are kept.
pub fn retention(metric_period: Millis) -> Millis {
    if metric_period < MINUTE {
        HIGH_RESOLUTION_RETENTION
    } else {
        STANDARD_RETENTION
    }
}

/// The stream metrics the sandbox publishes in `AWS/Firehose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirehoseMetric {
    /// Records ingested successfully (Count).
    IncomingRecords,
    /// Bytes ingested successfully (Bytes).
    IncomingBytes,
    /// Successful PutRecord and PutRecordBatch requests (Count).
    IncomingPutRequests,
    /// Times Firehose met KMS's `AccessDeniedException` (Count).
    KmsKeyAccessDenied,
    /// ... KMS's `DisabledException`.
    KmsKeyDisabled,
    /// ... KMS's `InvalidStateException`.
    KmsKeyInvalidState,
    /// ... KMS's `NotFoundException`.
    KmsKeyNotFound,
}

impl FirehoseMetric {
    pub const ALL: [FirehoseMetric; 7] = [
        FirehoseMetric::IncomingRecords,
        FirehoseMetric::IncomingBytes,
        FirehoseMetric::IncomingPutRequests,
        FirehoseMetric::KmsKeyAccessDenied,
        FirehoseMetric::KmsKeyDisabled,
        FirehoseMetric::KmsKeyInvalidState,
        FirehoseMetric::KmsKeyNotFound,
    ];

    /// Its `MetricName`.
    pub fn name(self) -> &'static str {
        match self {
            FirehoseMetric::IncomingRecords => "IncomingRecords",
            FirehoseMetric::IncomingBytes => "IncomingBytes",
            FirehoseMetric::IncomingPutRequests => "IncomingPutRequests",
            FirehoseMetric::KmsKeyAccessDenied => "KMSKeyAccessDenied",
            FirehoseMetric::KmsKeyDisabled => "KMSKeyDisabled",
            FirehoseMetric::KmsKeyInvalidState => "KMSKeyInvalidState",
            FirehoseMetric::KmsKeyNotFound => "KMSKeyNotFound",
        }
    }

    /// The unit it is published in.
    pub fn unit(self) -> &'static str {
        match self {
            FirehoseMetric::IncomingBytes => "Bytes",
            _ => "Count",
        }
    }

    pub fn parse(name: &str) -> Option<FirehoseMetric> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The SSE error metric counting a KMS error (`InvalidKMSResourceException`'s `code`).
    pub fn of_kms_code(code: &str) -> Option<FirehoseMetric> {
        match code {
            "AccessDeniedException" => Some(FirehoseMetric::KmsKeyAccessDenied),
            "DisabledException" => Some(FirehoseMetric::KmsKeyDisabled),
            "InvalidStateException" => Some(FirehoseMetric::KmsKeyInvalidState),
            "NotFoundException" => Some(FirehoseMetric::KmsKeyNotFound),
            _ => None,
        }
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|m| *m == self)
            .expect("every metric is in ALL")
    }
}

/// One metric period of a stream: the value each metric was published with for it (0: the
/// metric has no datapoint there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The period's start, epoch milliseconds.
    pub start: Millis,
    values: [u64; 7],
}

impl Slot {
    pub fn value(&self, metric: FirehoseMetric) -> u64 {
        self.values[metric.index()]
    }
}

/// A stream's Firehose metrics, one [`Slot`] per metric period with data, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slots {
    slots: VecDeque<Slot>,
}

impl Slots {
    /// Adds `n` to `metric` in the period of `period` ms holding `at`.
    pub fn add(&mut self, at: Millis, period: Millis, metric: FirehoseMetric, n: u64) {
        if n == 0 {
            return;
        }
        let start = at - at.rem_euclid(period);
        // Almost always the last slot or a new one after it; a clock set back finds its place.
        let place = self.slots.iter().rposition(|s| s.start <= start);
        let i = match place {
            Some(i) if self.slots[i].start == start => i,
            _ => {
                let i = place.map_or(0, |i| i + 1);
                self.slots.insert(
                    i,
                    Slot {
                        start,
                        values: [0; 7],
                    },
                );
                i
            }
        };
        self.slots[i].values[metric.index()] += n;
    }

    /// Forgets the periods that began before `before`.
    pub fn prune(&mut self, before: Millis) {
        while self.slots.front().is_some_and(|s| s.start < before) {
            self.slots.pop_front();
        }
    }

    /// The periods kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter()
    }

    /// The datapoints of `metric` from `from` (inclusive) to `to` (exclusive): one per period
    /// whose value is not 0.
    pub fn samples(
        &self,
        metric: FirehoseMetric,
        from: Millis,
        to: Millis,
    ) -> impl Iterator<Item = (Millis, StatSet)> + '_ {
        self.slots
            .iter()
            .filter(move |s| s.start >= from && s.start < to && s.value(metric) > 0)
            .map(move |s| (s.start, StatSet::one(s.value(metric) as f64)))
    }
}

/// A statistic set: what CloudWatch keeps of datapoints together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatSet {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl StatSet {
    /// One value.
    pub fn one(value: f64) -> StatSet {
        StatSet {
            count: 1.0,
            sum: value,
            min: value,
            max: value,
        }
    }

    /// `value` seen `count` times.
    pub fn repeated(value: f64, count: f64) -> StatSet {
        StatSet {
            count,
            sum: value * count,
            min: value,
            max: value,
        }
    }

    pub fn merge(&mut self, other: &StatSet) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// The statistics the sandbox computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

impl Statistic {
    pub fn parse(stat: &str) -> Option<Statistic> {
        Some(match stat {
            "SampleCount" => Statistic::SampleCount,
            "Average" => Statistic::Average,
            "Sum" => Statistic::Sum,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            _ => return None,
        })
    }

    /// The statistic of a period's datapoints, merged.
    pub fn of(self, set: &StatSet) -> f64 {
        match self {
            Statistic::SampleCount => set.count,
            Statistic::Average => set.sum / set.count,
            Statistic::Sum => set.sum,
            Statistic::Minimum => set.min,
            Statistic::Maximum => set.max,
        }
    }
}

/// Whether CloudWatch takes `period` (seconds) as a GetMetricData period: 1, 5, 10, 20, 30 or a
/// multiple of 60.
pub fn is_valid_period(period: i64) -> bool {
    matches!(period, 1 | 5 | 10 | 20 | 30) || (period > 0 && period % 60 == 0)
}

/// The start CloudWatch answers from, `start` rounded down as GetMetricData's `StartTime` says:
/// to the period for a period under a minute (5, 10, 20, 30 s: divisions of a minute), else to
/// the minute when less than 15 days ago, to 5 minutes when less than 63 days ago, to the hour
/// before that.
pub fn round_start(start: Millis, period: i64, now: Millis) -> Millis {
    let unit = if period < 60 {
        period * 1_000
    } else if now - start <= 15 * DAY {
        MINUTE
    } else if now - start <= 63 * DAY {
        5 * MINUTE
    } else {
        HOUR
    };
    start - start.rem_euclid(unit)
}

/// Whether a period reaches back to `start`: data more than 3 hours old is answered only for a
/// multiple of 60 seconds, more than 15 days old a multiple of 300, more than 63 days old a
/// multiple of 3,600 ("or no data points in that time range is returned", GetMetricData's
/// `MetricStat.Period`).
pub fn period_reaches(start: Millis, period: i64, now: Millis) -> bool {
    let age = now - start;
    let needed = if age > 63 * DAY {
        3_600
    } else if age > 15 * DAY {
        300
    } else if age > 3 * HOUR {
        60
    } else {
        1
    };
    period % needed == 0
}

/// The datapoints of `samples` from `start` (rounded already) to `end` (exclusive), in periods
/// of `period` ms from `start`: one per period with samples, timestamped with the period's
/// start, oldest first.
pub fn datapoints(
    samples: impl IntoIterator<Item = (Millis, StatSet)>,
    start: Millis,
    end: Millis,
    period: Millis,
    stat: Statistic,
) -> Vec<(Millis, f64)> {
    let mut periods: BTreeMap<Millis, StatSet> = BTreeMap::new();
    for (at, set) in samples {
        if at < start || at >= end {
            continue;
        }
        let slot = start + (at - start) / period * period;
        periods
            .entry(slot)
            .and_modify(|s| s.merge(&set))
            .or_insert(set);
    }
    periods
        .into_iter()
        .map(|(at, set)| (at, stat.of(&set)))
        .collect()
}

/// A metric: its namespace, name and dimensions (sorted by name, as CloudWatch matches them
/// regardless of order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricId {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

impl MetricId {
    pub fn new(namespace: &str, name: &str, mut dimensions: Vec<(String, String)>) -> MetricId {
        dimensions.sort();
        MetricId {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions,
        }
    }

    /// The Firehose stream metric it names: `AWS/Firehose`, one of the stream metrics, and
    /// exactly the dimension `DeliveryStreamName` (its value returned).
    pub fn firehose_stream(&self) -> Option<(FirehoseMetric, &str)> {
        if self.namespace != FIREHOSE_NAMESPACE {
            return None;
        }
        let metric = FirehoseMetric::parse(&self.name)?;
        match self.dimensions.as_slice() {
            [(name, stream)] if name == STREAM_DIMENSION => Some((metric, stream)),
            _ => None,
        }
    }
}

/// One datapoint of a custom metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its timestamp, at its storage resolution (the second, or the minute).
    pub at: Millis,
    pub set: StatSet,
    pub unit: String,
}

/// The custom metrics of an account in a Region (PutMetricData), each metric's datapoints in
/// the order they were put, the last 15 days of them.
#[derive(Debug, Clone, Default)]
pub struct CustomMetrics {
    series: BTreeMap<MetricId, Vec<Point>>,
}

impl CustomMetrics {
    /// Keeps a datapoint; `high_resolution` keeps its second, else its minute.
    pub fn put(&mut self, id: MetricId, mut point: Point, high_resolution: bool, now: Millis) {
        let unit = if high_resolution { 1_000 } else { MINUTE };
        point.at -= point.at.rem_euclid(unit);
        let points = self.series.entry(id).or_default();
        points.retain(|p| p.at >= now - STANDARD_RETENTION);
        points.push(point);
    }

    /// The datapoints of `id` from `from` to `to` (exclusive), of `unit` when one is given.
    pub fn samples(
        &self,
        id: &MetricId,
        unit: Option<&str>,
        from: Millis,
        to: Millis,
    ) -> Vec<(Millis, StatSet)> {
        self.series.get(id).map_or_else(Vec::new, |points| {
            points
                .iter()
                .filter(|p| p.at >= from && p.at < to && unit.is_none_or(|u| u == p.unit))
                .map(|p| (p.at, p.set))
                .collect()
        })
    }

    /// How many metrics have datapoints.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}
