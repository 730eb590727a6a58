//! Staged rollout, pure: which streams each wave takes, and whether a wave's health gate holds.
//! A rollout in waves changes a canary first, watches it for a bake time, and goes on only
//! while the gates hold — as AWS AppConfig's deployment strategies (growth, bake, alarm
//! monitors), CodeDeploy's canary and linear configurations, Argo Rollouts' steps with analysis
//! and SSM's `MaxErrors` do.
//!
//! - [`Steps`]: `--waves 1,5%,25%,100%`, cumulative counts or shares of the fleet;
//! - [`plan_waves`]: the rows of each wave, in fleet order, whole accounts or regions with
//!   `--wave-by`;
//! - `gate`: from facts read during a wave and its bake (alarm states, the streams' incoming
//!   records before and after, the SSE error metrics, failed streams) to a verdict.
//!
//! The I/O — carrying each wave out on the engine, baking, reading CloudWatch, recording every
//! reading in the ledger — is `commands::waves`.

pub mod gate;

use std::collections::BTreeMap;
use std::fmt;

use crate::clock::EpochMillis;

/// One step of `--waves`: the fleet reached once the wave is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// This many streams in all.
    Count(usize),
    /// This share of the fleet, in percent (0 < p ≤ 100).
    Share(f64),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Count(n) => write!(f, "{n}"),
            Step::Share(p) => write!(f, "{p}%"),
        }
    }
}

/// `--waves`: cumulative steps, the last taking the whole fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Steps(pub Vec<Step>);

impl fmt::Display for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(Step::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

impl Steps {
    /// Reads `1,5%,25%,100%`: counts and percentages, growing, ending at `100%`.
    pub fn parse(text: &str) -> Result<Steps, String> {
        let mut steps = Vec::new();
        for part in text.split(',').map(str::trim) {
            let step = match part.strip_suffix('%') {
                Some(p) => {
                    let share: f64 = p
                        .trim()
                        .parse()
                        .map_err(|_| format!("{part:?} is not a percentage (e.g. 5%)"))?;
                    if !(share > 0.0 && share <= 100.0) {
                        return Err(format!("{part}: a share is more than 0% and at most 100%"));
                    }
                    Step::Share(share)
                }
                None => {
                    let n: usize = part.parse().map_err(|_| {
                        format!(
                            "{part:?} is neither a count of streams (e.g. 1) nor a share (e.g. 5%)"
                        )
                    })?;
                    if n == 0 {
                        return Err("a wave of 0 streams changes nothing: start at 1".into());
                    }
                    Step::Count(n)
                }
            };
            steps.push(step);
        }
        if !matches!(steps.last(), Some(Step::Share(p)) if *p == 100.0) {
            return Err(format!(
                "{text:?}: the steps are cumulative and the last must take the whole fleet: end \
                 with 100% (e.g. 1,5%,25%,100%)"
            ));
        }
        Ok(Steps(steps))
    }

    /// The streams reached after each step, for a fleet of `total`: counts as given, shares
    /// rounded up, each at most `total`.
    pub fn reach(&self, total: usize) -> Vec<usize> {
        self.0
            .iter()
            .map(|s| match *s {
                Step::Count(n) => n.min(total),
                Step::Share(p) => ((p / 100.0 * total as f64).ceil() as usize).min(total),
            })
            .collect()
    }
}

/// `--wave-by`: what a wave takes whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveBy {
    /// Streams, in fleet order.
    #[default]
    None,
    /// Whole accounts (in the order the fleet first names them): a bad change stays in the
    /// accounts it reached.
    Account,
    /// Whole regions.
    Region,
}

impl WaveBy {
    pub fn as_str(self) -> &'static str {
        match self {
            WaveBy::None => "none",
            WaveBy::Account => "account",
            WaveBy::Region => "region",
        }
    }
}

/// `--on-gate-failure`: what a failed gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnGateFailure {
    /// Stop dispatching, let the calls in flight end, exit 5.
    #[default]
    Halt,
    /// As `Halt`, then roll back the streams the run changed (see [`RollbackScope`]).
    Rollback,
}

/// `--rollback-scope`: which streams a gate's rollback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackScope {
    /// The failing wave's.
    #[default]
    Wave,
    /// Every wave's of the run.
    Run,
}

/// A rollout in waves as the run records it, so `resume` goes on the same way.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WavePlan {
    /// `--waves`, as given.
    pub steps: String,
    pub by: WaveBy,
    /// `--bake` after each wave but the last, and `--final-bake` after the last.
    pub bake_ms: EpochMillis,
    pub final_bake_ms: EpochMillis,
    pub gate: gate::GateSettings,
    /// `--alarm`s.
    #[serde(default)]
    pub alarms: Vec<String>,
    pub on_failure: OnGateFailure,
    pub rollback_scope: RollbackScope,
}

impl WavePlan {
    /// The steps, read again.
    pub fn steps(&self) -> Steps {
        Steps::parse(&self.steps).unwrap_or(Steps(vec![Step::Share(100.0)]))
    }

    /// The flags that ask for this rollout again, for a printed command.
    pub fn flags(&self) -> String {
        let secs = |ms: EpochMillis| {
            humantime::format_duration(std::time::Duration::from_millis(ms as u64))
        };
        let mut out = format!("--waves {}", self.steps);
        if self.by != WaveBy::None {
            out.push_str(&format!(" --wave-by {}", self.by.as_str()));
        }
        out.push_str(&format!(" --bake {}", secs(self.bake_ms)));
        if self.final_bake_ms > 0 {
            out.push_str(&format!(" --final-bake {}", secs(self.final_bake_ms)));
        }
        match self.gate.max_errors {
            gate::MaxErrors::Count(0) => {}
            gate::MaxErrors::Count(n) => out.push_str(&format!(" --max-errors {n}")),
            gate::MaxErrors::Share(p) => out.push_str(&format!(" --max-errors {p}%")),
        }
        for alarm in &self.alarms {
            out.push_str(&format!(" --alarm {alarm}"));
        }
        if (self.gate.drop - 0.5).abs() > f64::EPSILON {
            out.push_str(&format!(" --gate-drop {}%", self.gate.drop * 100.0));
        }
        if self.gate.period != 60_000 {
            out.push_str(&format!(" --metric-period {}", secs(self.gate.period)));
        }
        if self.on_failure == OnGateFailure::Rollback {
            out.push_str(" --on-gate-failure rollback");
            if self.rollback_scope == RollbackScope::Run {
                out.push_str(" --rollback-scope run");
            }
        }
        out
    }

    /// The bake after wave `wave` (1-based) of `waves`.
    pub fn bake_after(&self, wave: usize, waves: usize) -> EpochMillis {
        if wave >= waves {
            self.final_bake_ms
        } else {
            self.bake_ms
        }
    }
}

/// Each wave's rows (indices into `rows`, in fleet order). `rows` give each fleet row's
/// account label and region. A step that adds nothing to the one before (5% of 20 streams
/// after a first wave of 1) is no wave of its own; with `by`, a wave takes whole groups, at
/// least one new group each, so a step reached inside a group takes the rest of it.
pub fn plan_waves(steps: &Steps, by: WaveBy, rows: &[(&str, &str)]) -> Vec<Vec<usize>> {
    let total = rows.len();
    let reach = steps.reach(total);
    // The groups in the order the fleet first names them, each with its rows.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (account, region)) in rows.iter().enumerate() {
        let key = match by {
            WaveBy::None => "",
            WaveBy::Account => *account,
            WaveBy::Region => *region,
        };
        groups
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(i);
    }
    if by == WaveBy::None {
        let mut waves = Vec::new();
        let mut done = 0;
        for r in reach {
            if r > done {
                waves.push((done..r).collect());
                done = r;
            }
        }
        return waves;
    }
    let mut waves: Vec<Vec<usize>> = Vec::new();
    let mut next_group = 0;
    let mut done = 0;
    for r in reach {
        let mut wave = Vec::new();
        while done < r && next_group < order.len() {
            let rows = &groups[order[next_group]];
            done += rows.len();
            wave.extend(rows);
            next_group += 1;
        }
        if !wave.is_empty() {
            wave.sort_unstable();
            waves.push(wave);
        }
    }
    waves
}

/// One wave of a plan, for the plan report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlannedWave {
    pub wave: usize,
    pub streams: usize,
    /// Streams per account and region.
    pub by_place: BTreeMap<String, usize>,
    /// Streams it starts (or stops).
    pub changes: usize,
    pub estimated_ms: EpochMillis,
}

/// The waves of a plan: its items (in fleet order) divided as [`plan_waves`] does, each with
/// its own estimate; and the rollout's estimated wall with the bakes.
pub fn planned(
    items: &[crate::plan::Item],
    plan: &WavePlan,
    pace: crate::plan::Pace,
) -> (Vec<PlannedWave>, EpochMillis) {
    let own = crate::plan::own_account(items);
    let labels: Vec<(&str, &str)> = items
        .iter()
        .map(|i| (i.account().unwrap_or(own), &*i.target.region))
        .collect();
    let waves = plan_waves(&plan.steps(), plan.by, &labels);
    let planned: Vec<PlannedWave> = waves
        .iter()
        .enumerate()
        .map(|(k, rows)| {
            let wave_items: Vec<crate::plan::Item> =
                rows.iter().map(|&i| items[i].clone()).collect();
            let mut by_place = BTreeMap::new();
            for (account, region) in rows.iter().map(|&i| labels[i]) {
                *by_place.entry(format!("{account} {region}")).or_default() += 1;
            }
            PlannedWave {
                wave: k + 1,
                streams: rows.len(),
                by_place,
                changes: wave_items.iter().filter(|i| i.action.starts()).count(),
                estimated_ms: crate::plan::estimate(&wave_items, pace, false),
            }
        })
        .collect();
    let estimates: Vec<EpochMillis> = planned.iter().map(|w| w.estimated_ms).collect();
    let total = estimate(&estimates, plan.bake_ms, plan.final_bake_ms);
    (planned, total)
}

/// The estimated wall of a waved rollout: each wave's own estimate, its bake after it (the
/// final bake after the last), the waves one after another.
pub fn estimate(wave_estimates: &[i64], bake_ms: i64, final_bake_ms: i64) -> i64 {
    let n = wave_estimates.len() as i64;
    let bakes = bake_ms * (n - 1).max(0) + if n > 0 { final_bake_ms } else { 0 };
    wave_estimates.iter().sum::<i64>() + bakes
}

#[cfg(test)]
mod tests;
