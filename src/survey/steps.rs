//! The survey's steps as `plan` and `apply` run them: describe the fleet's keys and prepare the
//! decisions ([`prepare_survey`]), describe its streams ([`start_observing`]), and save the
//! decided plan with its per-key table, warnings and estimate ([`finish_survey`]).
//! [`survey_fleet`] runs them all, with a progress bar. Each step takes the ledger and the
//! [`Clients`] it calls AWS with, nothing of a command's wiring.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;

use super::Survey;
use crate::clock::{EpochMillis, HOUR};
use crate::cloud::Cloud;
use crate::input::Target;
use crate::ledger::Ledger;
use crate::model::KeyChoice;
use crate::observe::{self, Observed};
use crate::pace::Pacer;
use crate::plan::{self, Item, KeyLine, Pace, Settings};
use crate::report::progress::{Mode, Progress};

/// What a survey calls AWS with: the cloud client, the pacer, and how many Describes may be in
/// flight per region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloud: Arc<Cloud>,
    pub pacer: Arc<Pacer>,
    pub concurrency: usize,
}

/// A fleet observed and decided, its plan saved.
#[derive(Debug)]
pub struct Surveyed {
    pub plan_id: i64,
    pub items: Vec<Item>,
    pub keys: Vec<KeyLine>,
    pub warnings: Vec<String>,
    pub estimated_ms: EpochMillis,
    pub throttles: u32,
}

/// A fleet to survey and how to plan it.
#[derive(Debug)]
pub struct FleetSurvey<'a> {
    /// The fleet file, as recorded in the plan.
    pub fleet: &'a str,
    pub targets: Vec<Target>,
    pub settings: Settings,
    /// The rates the estimate assumes.
    pub pace: Pace,
    /// The run the plan is made for.
    pub run_id: i64,
}

/// A survey whose every stream is decided, ready to be saved as a plan.
#[derive(Debug)]
pub struct Decided<'a> {
    pub fleet: &'a str,
    pub survey: &'a Survey,
    /// The decisions, in fleet order.
    pub items: Vec<Item>,
    pub pace: Pace,
    /// When observation began: the age of the plan.
    pub observed_at: EpochMillis,
    pub throttles: u32,
    pub run_id: i64,
}

/// Describes the fleet's customer keys and prepares the decisions. Returns the survey and the
/// throttles met.
pub async fn prepare_survey(
    ledger: &Ledger,
    clients: &Clients,
    targets: Vec<Target>,
    settings: Settings,
    run_id: i64,
) -> anyhow::Result<(Survey, u32)> {
    let keys: Vec<_> = targets
        .iter()
        .filter_map(|t| t.key.key_arn().cloned())
        .collect();
    let (key_obs, throttles) = observe::observe_keys(&clients.cloud, &clients.pacer, keys).await?;
    for k in key_obs.values() {
        ledger.record_key(k)?;
    }
    Ok((
        Survey::new(ledger, targets, key_obs, settings, Some(run_id))?,
        throttles,
    ))
}

/// Starts describing the survey's streams; results arrive on the receiver.
pub fn start_observing(
    clients: &Clients,
    survey: &Survey,
) -> (mpsc::Receiver<Observed>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Observed>(256);
    let observer = observe::observe_streams(
        clients.cloud.clone(),
        clients.pacer.clone(),
        survey.queries(),
        clients.concurrency,
        tx,
    );
    (rx, observer)
}

/// Saves the decided plan with its per-key table, warnings and estimate.
pub fn finish_survey(ledger: &Ledger, decided: Decided<'_>) -> anyhow::Result<Surveyed> {
    let Decided {
        fleet,
        survey,
        items,
        pace,
        observed_at,
        throttles,
        run_id,
    } = decided;
    anyhow::ensure!(
        survey.is_done(),
        "observation ended before every stream was described"
    );
    let settings = *survey.settings();
    let key_lines = plan::key_lines(
        &items,
        survey.counts_now(),
        survey.counts_after(),
        settings.cmk_limit,
    );
    let estimated_ms = plan::estimate(&items, pace, false);
    let customer_regions: BTreeSet<&str> = items
        .iter()
        .filter(|i| matches!(i.target.key, KeyChoice::Customer(_)))
        .map(|i| i.target.region.as_str())
        .collect();
    let mut warnings = Vec::new();
    for region in &customer_regions {
        if !ledger.has_inventory(region)? {
            warnings.push(format!(
                "{region}: per-key counts cover only the streams this ledger has seen; \
                 run `firehose-sse inventory --region {region}` to count every stream of the region"
            ));
        }
    }
    if !customer_regions.is_empty() && estimated_ms > 6 * HOUR {
        warnings.push(
            "the run is estimated to exceed 6 h: KMS grants fail for session credentials older than \
             6 h, so use credentials that refresh (a profile with a role or SSO), not a fixed session"
                .to_owned(),
        );
    }
    let plan_id = ledger.save_plan(fleet, &settings, observed_at, &items, estimated_ms)?;
    ledger.set_run_plan(run_id, plan_id)?;
    Ok(Surveyed {
        plan_id,
        items,
        keys: key_lines,
        warnings,
        estimated_ms,
        throttles,
    })
}

/// Observes every target (keys first, then streams, with a progress bar drawn in `progress`
/// mode), decides every item, and saves the plan. Used by `plan` and by `apply` when it must
/// show the plan first.
pub async fn survey_fleet(
    ledger: &Ledger,
    clients: &Clients,
    progress: Mode,
    request: FleetSurvey<'_>,
) -> anyhow::Result<Surveyed> {
    let FleetSurvey {
        fleet,
        targets,
        settings,
        pace,
        run_id,
    } = request;
    let (mut survey, mut throttles) =
        prepare_survey(ledger, clients, targets, settings, run_id).await?;
    let progress = Progress::new(progress, "observing", survey.len() as u64);
    let (mut rx, observer) = start_observing(clients, &survey);
    let observed_at = ledger.now();
    while let Some(observed) = rx.recv().await {
        throttles += observed.throttles;
        survey.observe(ledger, observed.seq, observed.result?)?;
        progress.inc(1);
    }
    observer.await.context("observation task failed")?;
    progress.finish();
    // Decide once everything is observed, so that every fleet stream already on a key is
    // counted before any other is planned onto it.
    let mut items = survey.decide_ready();
    items.sort_by_key(|i| i.seq);
    finish_survey(
        ledger,
        Decided {
            fleet,
            survey: &survey,
            items,
            pace,
            observed_at,
            throttles,
            run_id,
        },
    )
}
