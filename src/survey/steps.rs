//! The survey's steps as `plan` and `apply` run them: describe the fleet's keys and prepare the
//! decisions ([`prepare_survey`]), describe its streams ([`start_observing`]), and save the
//! decided plan with its per-key table, warnings and estimate ([`finish_survey`]).
//! [`survey_fleet`] runs them all, with a progress bar. Each step takes the ledger and the
//! [`Clients`] it calls AWS with, nothing of a command's wiring.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;

use super::Survey;
use super::producers::{self, CheckOptions};
use crate::clock::{EpochMillis, HOUR};
use crate::cloud::Accounts;
use crate::iac::{IacInput, Owners};
use crate::input::Target;
use crate::ledger::Ledger;
use crate::model::{KeyChoice, StreamId, partition_of};
use crate::observe::{self, Observed};
use crate::pace::Pacer;
use crate::plan::{self, Item, KeyLine, Pace, Settings};
use crate::producers::{CheckSummary, Findings, Subject};
use crate::report::progress::{Mode, Progress};

/// What a survey calls AWS with: the clients of each account, the pacer, and how many
/// Describes may be in flight.
#[derive(Debug, Clone)]
pub struct Clients {
    pub accounts: Arc<Accounts>,
    pub pacer: Arc<Pacer>,
    pub concurrency: usize,
    /// How the producer check calls IAM.
    pub producers: CheckOptions,
    /// The Terraform states that own streams (CloudFormation's stacks are asked for).
    pub iac: IacInput,
}

/// A fleet observed and decided, its plan saved.
#[derive(Debug)]
pub struct Surveyed {
    pub plan_id: i64,
    /// Streams planned from the ledger's recent observations instead of a Describe.
    pub reused: usize,
    /// The oldest observation the plan used: its age.
    pub observed_at: EpochMillis,
    pub items: Vec<Item>,
    pub keys: Vec<KeyLine>,
    pub warnings: Vec<String>,
    pub estimated_ms: EpochMillis,
    pub throttles: u32,
    /// What the producer check did, when the plan moves streams to a customer key.
    pub producer_check: Option<CheckSummary>,
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

/// Describes the fleet's customer keys, checks the producers of the streams moving to one (at
/// the same time), and prepares the decisions. Returns the survey and the throttles met.
pub async fn prepare_survey(
    ledger: &Ledger,
    clients: &Clients,
    targets: Vec<Target>,
    settings: Settings,
    run_id: i64,
) -> anyhow::Result<(Survey, u32)> {
    let unreachable = reach_accounts(&clients.accounts, &targets).await?;
    // Keys of rows never to be touched are not described either; each key is described with
    // the clients of the first account whose rows want it.
    let keys: Vec<_> = targets
        .iter()
        .filter(|t| {
            t.account
                .as_ref()
                .is_none_or(|a| !unreachable.contains_key(&**a))
        })
        .filter_map(|t| {
            let account = t.account.as_deref().map(Arc::from);
            t.key.key_arn().cloned().map(|k| (k, account))
        })
        .collect();
    let subjects = producer_subjects(&clients.accounts, &targets, &unreachable).await?;
    // Who owns the streams: the Terraform states given, and CloudFormation's stacks of every
    // account and Region the rows reach.
    let lanes: BTreeSet<(Option<String>, String)> = targets
        .iter()
        .filter(|t| {
            t.account
                .as_ref()
                .is_none_or(|a| !unreachable.contains_key(&**a))
        })
        .map(|t| {
            (
                t.account.as_deref().map(str::to_owned),
                t.region.to_string(),
            )
        })
        .collect();
    let mut owners = Owners::from_terraform(&clients.iac.terraform);
    let stacks = super::sources::find_stacks(&clients.accounts, lanes, &mut owners);
    let check = async {
        match (subjects.is_empty(), settings.skip_producer_check) {
            (true, _) => Ok(None),
            (false, true) => Ok(Some(Findings {
                summary: CheckSummary {
                    skipped: Some("--skip-producer-check".into()),
                    streams: subjects.len(),
                    ..CheckSummary::default()
                },
                ..Findings::default()
            })),
            (false, false) => producers::check(
                ledger,
                &clients.accounts,
                subjects,
                clients.producers,
                Some(run_id),
            )
            .await
            .map(Some),
        }
    };
    let (keys, findings, owner_notes) = tokio::join!(
        observe::observe_keys(&*clients.accounts, &clients.pacer, keys),
        check,
        stacks
    );
    let (key_obs, throttles) = keys?;
    for k in key_obs.values() {
        ledger.record_key(k)?;
    }
    let survey = Survey::new(
        ledger,
        targets,
        key_obs,
        settings,
        Some(run_id),
        unreachable,
    )?
    .with_producers(findings?.map(Arc::new))
    .with_owners(owners, owner_notes);
    Ok((survey, throttles))
}

/// The streams whose producers are checked: those moving to a customer key, in an account the
/// run reaches (a row naming none is the credentials' own).
async fn producer_subjects(
    accounts: &Accounts,
    targets: &[Target],
    unreachable: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<Subject>> {
    let moving: Vec<&Target> = targets
        .iter()
        .filter(|t| t.key.key_arn().is_some())
        .filter(|t| {
            t.account
                .as_ref()
                .is_none_or(|a| !unreachable.contains_key(&**a))
        })
        .collect();
    if moving.is_empty() {
        return Ok(Vec::new());
    }
    let own = match moving.iter().any(|t| t.account.is_none()) {
        true => Some(accounts.base_account().await.map_err(|e| {
            observe::ObserveError::from_call(
                "sts:GetCallerIdentity",
                "GetCallerIdentity (for the producer check)".into(),
                e,
            )
        })?),
        false => None,
    };
    Ok(moving
        .into_iter()
        .filter_map(|t| {
            let account = t.account.as_deref().or(own.as_deref())?.to_owned();
            let key = t.key.key_arn()?.clone();
            let region = t.region.to_string();
            let arn = format!(
                "arn:{}:firehose:{region}:{account}:deliverystream/{}",
                partition_of(&region),
                t.name
            );
            Some(Subject {
                stream: StreamId {
                    account,
                    region,
                    name: t.name.clone(),
                },
                arn,
                key,
            })
        })
        .collect())
}

/// Reaches every account the rows name (STS; with `--assume-role`, AssumeRole in each other
/// account, a few at a time) and returns those that cannot be reached, with why. Rows that name
/// no account act in the credentials' own and need no call.
async fn reach_accounts(
    accounts: &Arc<Accounts>,
    targets: &[Target],
) -> anyhow::Result<BTreeMap<String, String>> {
    let named: BTreeSet<&str> = targets
        .iter()
        .filter_map(|t| t.account.as_deref())
        .collect();
    if named.is_empty() {
        return Ok(BTreeMap::new());
    }
    // The credentials' own account must be known: a row naming it is theirs to act on.
    let base = accounts.base_account().await.map_err(|e| {
        observe::ObserveError::from_call("sts:GetCallerIdentity", "GetCallerIdentity".into(), e)
    })?;
    let permits = Arc::new(tokio::sync::Semaphore::new(REACH_AT_ONCE));
    let mut reaching = tokio::task::JoinSet::new();
    for account in named.into_iter().filter(|a| *a != base) {
        let (accounts, permits, account) = (accounts.clone(), permits.clone(), account.to_owned());
        reaching.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let reached = accounts.reach(&account).await.map(|_| ());
            (account, reached)
        });
    }
    let mut unreachable = BTreeMap::new();
    while let Some(done) = reaching.join_next().await {
        let (account, reached) = done.context("reaching an account failed")?;
        if let Err(why) = reached {
            unreachable.insert(account, why);
        }
    }
    Ok(unreachable)
}

/// Accounts reached at once (AssumeRole and GetCallerIdentity each).
const REACH_AT_ONCE: usize = 8;

/// Starts describing the survey's streams; results arrive on the receiver.
pub fn start_observing(
    clients: &Clients,
    survey: &Survey,
) -> (mpsc::Receiver<Observed>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Observed>(256);
    let observer = observe::observe_streams(
        clients.accounts.clone(),
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
        .map(|i| &*i.target.region)
        .collect();
    let mut warnings = Vec::new();
    for region in &customer_regions {
        if !ledger.has_inventory(region)? {
            warnings.push(format!(
                "{region}: per-key counts cover only the streams this ledger has seen; \
                 run `{}` to count every stream of the region",
                crate::hint::command(&format!("inventory --region {region}"))
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
    for (account, why) in survey.unreachable() {
        let n = items
            .iter()
            .filter(|i| i.target.account.as_deref() == Some(account.as_str()))
            .count();
        warnings.push(unreachable_warning(account, n, why));
    }
    let check = survey.producers();
    warnings.extend(producer_warnings(&items, check, &settings));
    warnings.extend(survey.owner_notes().iter().cloned());
    warnings.extend(owner_warnings(&items, &settings));
    warnings.extend(key_warnings(
        &items,
        check.is_some_and(|c| c.summary.skipped.is_none()),
    ));
    let plan_id = ledger.save_plan(fleet, &settings, observed_at, &items, estimated_ms)?;
    ledger.set_run_plan(run_id, plan_id)?;
    if let Some(check) = check {
        ledger.set_plan_producer_check(plan_id, &check.summary)?;
    }
    Ok(Surveyed {
        plan_id,
        reused: 0,
        observed_at,
        items,
        keys: key_lines,
        warnings,
        estimated_ms,
        throttles,
        producer_check: check.map(|c| c.summary.clone()),
    })
}

/// Observations a plan may take from the ledger instead of describing again: those made at
/// `since` or later, of streams in `account` (the credentials').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentEnough {
    pub since: EpochMillis,
    pub account: String,
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
    survey_fleet_with(ledger, clients, progress, request, None).await
}

/// [`survey_fleet`], taking the ledger's `recent` observations where it has them (`plan`
/// after `inventory`). The plan's age then counts from the oldest observation it used, so
/// `apply --plan` observes again when that one is too old.
pub async fn survey_fleet_with(
    ledger: &Ledger,
    clients: &Clients,
    progress: Mode,
    request: FleetSurvey<'_>,
    recent: Option<RecentEnough>,
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
    let (reused, oldest) = match &recent {
        Some(r) => survey.use_recent(ledger, r.since, &r.account)?,
        None => (0, None),
    };
    let progress = Progress::new(progress, "observing", survey.len() as u64);
    progress.inc(reused as u64);
    let (mut rx, observer) = start_observing(clients, &survey);
    let observed_at = oldest.map_or(ledger.now(), |o| o.min(ledger.now()));
    while let Some(observed) = rx.recv().await {
        throttles += observed.throttles;
        survey.observe(ledger, observed.seq, observed.result?)?;
        progress.inc(1);
    }
    observer.await.context("observation task failed")?;
    progress.finish();
    throttles += survey.describe_sources(&clients.accounts).await;
    // Decide once everything is observed, so that every fleet stream already on a key is
    // counted before any other is planned onto it.
    let mut items = survey.decide_ready();
    items.sort_by_key(|i| i.seq);
    let surveyed = finish_survey(
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
    )?;
    Ok(Surveyed { reused, ..surveyed })
}

/// The streams code owns that the plan changes (or skips for it): who owns them, and what to
/// do.
pub fn owner_warnings(items: &[Item], settings: &Settings) -> Vec<String> {
    let owned: Vec<&Item> = items
        .iter()
        .filter(|i| i.owner.is_some())
        .filter(|i| i.action.starts() || i.reason == Some(plan::Reason::IacOwned))
        .collect();
    if owned.is_empty() {
        return Vec::new();
    }
    let shown = owned
        .iter()
        .take(5)
        .map(|i| {
            let owner = i.owner.as_deref().map(crate::iac::Owner::label);
            format!("{} ({})", i.target.name, owner.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(", ");
    let more = match owned.len() {
        n if n > 5 => format!(" and {} more", n - 5),
        _ => String::new(),
    };
    let what = match settings.skip_iac_owned {
        true => "are skipped iac_owned (--iac-owned skip)",
        false => "will be changed although code owns them (--iac-owned warn)",
    };
    vec![format!(
        "{} stream(s) owned by CloudFormation or Terraform {what}: {shown}{more}; put the \
         encryption in their code too (`plan --out-iac DIR` writes the change), or their next \
         deploy may undo it",
        owned.len()
    )]
}

/// The warning for an account a plan's rows name that no credentials reach: `plan` shows it,
/// `apply` repeats it in its summary.
pub fn unreachable_warning(account: &str, streams: usize, why: &str) -> String {
    format!("account {account}: {streams} stream(s) skipped no_credentials: {why}")
}

/// What an operator must know of the producer check: that it was skipped, which streams it
/// skipped for a refused producer (or starts anyway), whose verdict is unknown, and what it
/// could not read.
pub fn producer_warnings(
    items: &[Item],
    check: Option<&Findings>,
    settings: &Settings,
) -> Vec<String> {
    let Some(check) = check else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    let names = |pick: &dyn Fn(&Item) -> bool| {
        let picked: Vec<&str> = items
            .iter()
            .filter(|i| pick(i))
            .map(|i| i.target.name.as_str())
            .collect();
        let shown = picked
            .iter()
            .take(5)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        match picked.len() {
            0 => None,
            n if n > 5 => Some((n, format!("{shown} and {} more", n - 5))),
            n => Some((n, shown)),
        }
    };
    if let Some(why) = &check.summary.skipped {
        let moving = items
            .iter()
            .filter(|i| i.action.starts() && i.target.key.key_arn().is_some())
            .count();
        warnings.push(format!(
            "PRODUCER CHECK SKIPPED ({why}): nobody checked that the producers of the {moving} \
             stream(s) moving to a customer-managed key may use it; a producer without \
             kms:GenerateDataKey and kms:Decrypt on the key is refused every record (AWS \
             enforces it on existing streams from {})",
            crate::producers::ENFORCED_FROM
        ));
        return warnings;
    }
    let denied = |i: &Item| i.producers.as_ref().is_some_and(|p| p.any_denied());
    if let Some((n, shown)) = names(&|i| denied(i) && i.action == crate::plan::Action::Skip) {
        warnings.push(format!(
            "{n} stream(s) skipped producers_denied: a producer would be refused the new key \
             ({shown}); `plan` with `--out-policies DIR` writes the statements that let them in, \
             or --allow-producer-risk starts them anyway"
        ));
    }
    if settings.allow_producer_risk
        && let Some((n, shown)) = names(&|i| denied(i) && i.action.starts())
    {
        warnings.push(format!(
            "{n} stream(s) will be started although a producer would be refused the key \
             (--allow-producer-risk): {shown}"
        ));
    }
    if let Some((n, shown)) =
        names(&|i| i.action.starts() && i.producers.as_ref().is_some_and(|p| p.any_unknown()))
    {
        warnings.push(format!(
            "{n} stream(s) have a producer whose right to use the key is unknown ({shown}): \
             see each stream's producers in `--output json` or the report"
        ));
    }
    warnings.extend(check.summary.notes.iter().cloned());
    warnings
}

/// What an operator must know about the keys of a plan: that producers of streams moved to a
/// customer key need KMS permissions (an AWS notice) when no producer check looked, that a key
/// of another account is counted for this account only, and which streams have a key in force
/// nobody knows.
pub fn key_warnings(items: &[Item], producers_checked: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    let onto_customer: Vec<&Item> = items
        .iter()
        .filter(|i| i.action.starts() && i.target.key.key_arn().is_some())
        .collect();
    if !onto_customer.is_empty() && !producers_checked {
        warnings.push(format!(
            "{} stream(s) move to a customer-managed key: AWS requires PutRecord and \
             PutRecordBatch callers of such streams to have kms:GenerateDataKey and kms:Decrypt \
             on the key (new SSE-CMK streams from 2026-04-20, existing ones by 2027-02-28, per \
             AWS's notice); grant the producers these before they meet AccessDenied from KMS",
            onto_customer.len()
        ));
    }
    let mut foreign: BTreeSet<(&str, &str)> = BTreeSet::new();
    for item in &onto_customer {
        if let (Some(arn), Some(account)) = (item.target.key.key_arn(), item.account())
            && arn.account() != account
        {
            foreign.insert((arn.as_str(), arn.account()));
        }
    }
    for (arn, owner) in foreign {
        warnings.push(format!(
            "{arn} belongs to account {owner}, not the streams' account: KMS allows it when the \
             key policy does, but its stream count here covers only the streams this ledger has \
             seen, not those of account {owner}"
        ));
    }
    let unknown: Vec<&str> = items
        .iter()
        .filter(|i| i.current.as_ref().is_some_and(|c| c.in_force_unknown))
        .map(|i| i.target.name.as_str())
        .collect();
    if !unknown.is_empty() {
        let shown = unknown
            .iter()
            .take(5)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = unknown.len().saturating_sub(5);
        warnings.push(format!(
            "{} stream(s) were first seen ENABLING_FAILED, DISABLING or DISABLING_FAILED, so the \
             key protecting them is unknown ({shown}{}); they are counted under the key Describe \
             shows",
            unknown.len(),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    warnings
}
