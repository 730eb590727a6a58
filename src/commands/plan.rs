//! `plan FLEET.csv`: observe the fleet and its keys, decide, save the plan, print the report.

use std::collections::BTreeSet;

use anyhow::Context as _;
use tokio::sync::mpsc;

use super::{Session, read_fleet};
use crate::clock::{EpochMillis, HOUR};
use crate::error::Exit;
use crate::input::Target;
use crate::model::KeyChoice;
use crate::observe::{self, Observed};
use crate::options::PlanOptions;
use crate::plan::{self, Item, KeyLine, Pace, Settings};
use crate::report::OutputFormat;
use crate::report::plan::{PlanView, json, table_text};
use crate::report::progress::Progress;
use crate::survey::Survey;

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

/// Describes the fleet's customer keys and prepares the decisions. Returns the survey and the
/// throttles met.
pub async fn prepare_survey(
    session: &Session,
    targets: Vec<Target>,
    settings: Settings,
    run_id: i64,
) -> anyhow::Result<(Survey, u32)> {
    let ledger = &session.ledger;
    let keys: Vec<_> = targets
        .iter()
        .filter_map(|t| t.key.key_arn().cloned())
        .collect();
    let (key_obs, throttles) = observe::observe_keys(&session.cloud, &session.pacer, keys).await?;
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
    session: &Session,
    survey: &Survey,
) -> (mpsc::Receiver<Observed>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Observed>(256);
    let observer = observe::observe_streams(
        session.cloud.clone(),
        session.pacer.clone(),
        survey.queries(),
        session.concurrency,
        tx,
    );
    (rx, observer)
}

/// Saves the decided plan with its per-key table, warnings and estimate.
#[allow(clippy::too_many_arguments)]
pub fn finish_survey(
    ledger: &crate::ledger::Ledger,
    fleet: &str,
    survey: &Survey,
    items: Vec<Item>,
    pace: Pace,
    observed_at: EpochMillis,
    throttles: u32,
    run_id: i64,
) -> anyhow::Result<Surveyed> {
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

/// Observes every target (keys first, then streams, with a progress bar), decides every item,
/// and saves the plan. Used by `plan` and by `apply` when it must show the plan first.
pub async fn survey_fleet(
    session: &Session,
    fleet: &str,
    targets: Vec<Target>,
    settings: Settings,
    pace: Pace,
    run_id: i64,
) -> anyhow::Result<Surveyed> {
    let ledger = &session.ledger;
    let (mut survey, mut throttles) = prepare_survey(session, targets, settings, run_id).await?;
    let progress = Progress::new(session.progress, "observing", survey.len() as u64);
    let (mut rx, observer) = start_observing(session, &survey);
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
        fleet,
        &survey,
        items,
        pace,
        observed_at,
        throttles,
        run_id,
    )
}

pub async fn plan(opts: &PlanOptions) -> anyhow::Result<Exit> {
    let global = &opts.global;
    let targets = read_fleet(&global.connect, opts.region.as_deref(), &opts.fleet).await?;
    let session = Session::open(
        global,
        &opts.pace,
        opts.sandbox.as_ref(),
        Some((&opts.fleet, &targets)),
    )
    .await?;
    let fleet = super::fleet_name(&opts.fleet);
    let run_args = serde_json::json!({"command": "plan", "fleet": fleet}).to_string();
    // Dropped on any error below: the run is recorded as ended in error.
    let run = session.ledger.start_run("plan", None, &run_args)?;
    let settings = opts.settings;
    let pace = opts.pace.plan();
    let surveyed = survey_fleet(&session, &fleet, targets, settings, pace, run.id()).await?;
    run.finish("planned")?;
    let view = PlanView {
        plan_id: surveyed.plan_id,
        items: &surveyed.items,
        keys: surveyed.keys,
        settings,
        warnings: surveyed.warnings,
        estimated_ms: surveyed.estimated_ms,
        pace,
        throttles: surveyed.throttles,
    };
    match global.output {
        OutputFormat::Json => crate::outln!("{}", serde_json::to_string_pretty(&json(&view))?),
        OutputFormat::Table => crate::out!("{}", table_text(&view, session.color)),
    }
    Ok(Exit::Ok)
}
