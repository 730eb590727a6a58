//! A saved plan to carry out — in this ledger (`--plan ID`) or a plan file (`apply FILE`) —
//! checked before anything is written or sent: it exists, it is the plan expected
//! (`--expect-plan-hash`), it is fresh enough, and it was not carried out already.

use std::path::Path;

use crate::clock::Clock as _;
use crate::clock::EpochMillis;
use crate::commands::{LedgerMode, Place, Session};
use crate::error::UsageError;
use crate::input::Target;
use crate::ledger::{ImportedPlan, Ledger, Reviewed, RunKind, RunOutcome, RunRow, SavedPlan};
use crate::options::ApplyOptions;

/// `--expect-plan-hash`, checked against the plan's own hash before anything is sent: the
/// plan to carry out, as reviewed (`None` when the plan has no hash and none was expected).
pub(super) fn expected(
    args: &ApplyOptions,
    what: &str,
    hash: Option<String>,
    file: Option<&Path>,
) -> Result<Option<Reviewed>, UsageError> {
    let file = file.map(|f| f.display().to_string());
    match (&args.expect_hash, hash) {
        (None, hash) => Ok(hash.map(|hash| Reviewed {
            hash,
            expected: false,
            file,
        })),
        (Some(want), Some(hash)) if *want == hash => Ok(Some(Reviewed {
            hash,
            expected: true,
            file,
        })),
        (Some(want), Some(hash)) => Err(UsageError::new(format!(
            "{what} is not the plan expected: its hash is {hash}, not {want} \
             (--expect-plan-hash). What was reviewed is not what would run, so nothing was \
             sent; make and review a new plan, or check which plan the approval was for"
        ))),
        (Some(_), None) => Err(UsageError::new(format!(
            "{what} has no hash (it was made by `apply` or by an earlier version), so it \
             cannot be checked against --expect-plan-hash: make a new plan with \
             `firehose-sse plan FLEET.csv`"
        ))),
    }
}

/// With `--expect-plan-hash`, a plan whose observations are older than `--max-plan-age` is
/// refused rather than observed again: deciding again would carry out another plan than the
/// one reviewed.
pub(super) fn fresh_enough_to_expect(
    args: &ApplyOptions,
    ledger: &Ledger,
    saved: &SavedPlan,
    max_age: std::time::Duration,
) -> Result<(), UsageError> {
    let age = ledger.now() - saved.observed_at;
    if args.expect_hash.is_none() || age <= max_age.as_millis() as EpochMillis {
        return Ok(());
    }
    Err(UsageError::new(format!(
        "plan {} was decided from observations made {} ago, more than --max-plan-age ({}): \
         without --expect-plan-hash it would be observed and decided again, which is not the \
         plan reviewed. Make and review a new plan, or pass a --max-plan-age that covers the \
         review (e.g. --max-plan-age 24h)",
        saved.id,
        crate::report::human_duration(age),
        crate::report::span(max_age),
    )))
}

/// A plan file to carry out: read and checked (its hash, `--expect-plan-hash`, its age), then
/// the session opened on this ledger and its place checked against the file's, then — unless
/// this ledger has the plan already (found by its hash), which must not have been carried out
/// — the plan and its observations written into the ledger in one transaction.
pub(super) async fn plan_file_to_apply(
    args: &ApplyOptions,
    path: &Path,
    max_age: std::time::Duration,
) -> anyhow::Result<(Session, SavedPlan, Option<Reviewed>)> {
    let global = &args.global;
    let file = crate::planfile::read(path)?;
    let what = format!("plan file {}", path.display());
    let reviewed = expected(args, &what, Some(file.hash.clone()), Some(path))?;
    let doc = &file.document;
    let now = crate::clock::SystemClock.now();
    let made = now - doc.plan.created_at;
    if made > max_age.as_millis() as EpochMillis {
        return Err(UsageError::new(format!(
            "{what} is stale: plan {} was made {} ago ({}), more than --max-plan-age ({}); the \
             fleet may have changed since. Make a new plan, or pass a --max-plan-age that \
             covers its review (e.g. --max-plan-age 24h)",
            doc.plan.id,
            crate::report::human_duration(made),
            crate::clock::rfc3339(doc.plan.created_at),
            crate::report::span(max_age),
        ))
        .into());
    }
    let ledger = Session::open_ledger(global, LedgerMode::Create)?;
    let here = match ledger.plan_by_hash(&file.hash)? {
        Some(id) => {
            let here = format!("{what} (plan {id} in {})", ledger.path().display());
            Some(saved_plan_to_apply(&ledger, id, &here)?)
        }
        None => None,
    };
    let carried = here.clone().unwrap_or_else(|| doc.saved_plan());
    fresh_enough_to_expect(args, &ledger, &carried, max_age)?;
    let targets: Vec<Target> = carried.items.iter().map(|i| i.target.clone()).collect();
    let fleet = Some((Path::new(&carried.fleet), &targets[..]));
    let (pace, sandbox) = (&args.run.pace, args.run.sandbox.as_ref());
    let session = Session::open_on(ledger, global, pace, sandbox, fleet).await?;
    if let Ok(then) = serde_json::from_value::<Place>(doc.review.place.clone()) {
        let place = session.place().await;
        place.check(&then, &what, args.run.allow_endpoint_change)?;
        Place::adopt_roles(&then, &session).await?;
    }
    let saved = match here {
        Some(saved) => saved,
        None => {
            let settings = doc.settings();
            let id = session.ledger.import_plan(&ImportedPlan {
                created_at: doc.plan.created_at,
                observed_at: doc.plan.observed_at,
                fleet: &doc.plan.fleet,
                settings: &settings,
                estimated_ms: doc.plan.estimated_ms,
                items: &carried.items,
                producer_check: doc.plan.producer_check.as_ref(),
                hash: &file.hash,
                review: &doc.review,
                facts: &doc.observations,
            })?;
            if !global.quiet {
                eprintln!(
                    "Plan file {} (plan {} of {}, hash {}) is plan {id} in {}, with the {} \
                     observation(s) it was decided from.",
                    path.display(),
                    doc.plan.id,
                    doc.made_by,
                    crate::planfile::short(&file.hash),
                    session.ledger.path().display(),
                    doc.observations.streams.len() + doc.observations.keys.len(),
                );
            }
            SavedPlan { id, ..carried }
        }
    };
    Ok((session, saved, reviewed))
}

/// A saved plan to carry out: it must exist, and must not have been carried out already — a
/// plan is a snapshot of what needed doing then, and applying it again would Start every
/// stream again (Terraform calls such a plan stale). Reads the ledger only.
pub(super) fn saved_plan_to_apply(
    ledger: &Ledger,
    id: i64,
    what: &str,
) -> anyhow::Result<SavedPlan> {
    let saved = ledger
        .load_plan(id)?
        .ok_or_else(|| UsageError::new(format!("no plan {id} in {}", ledger.path().display())))?;
    if let Some(of) = ledger
        .runs_of_plan(id)?
        .iter()
        .find_map(RunRow::rollback_of)
    {
        return Err(UsageError::new(format!(
            "plan {id} is the plan of a rollback of run {of}: `{}` carries it out",
            crate::hint::command(&format!("rollback --plan {id}"))
        ))
        .into());
    }
    let done = ledger.runs_of_plan(id)?.into_iter().rev().find(|r| {
        r.kind == RunKind::Apply
            && r.outcome.as_ref().is_some_and(|o| {
                !matches!(
                    o,
                    RunOutcome::Interrupted | RunOutcome::Cancelled | RunOutcome::Abandoned
                )
            })
    });
    if let Some(run) = done {
        let outcome = run.outcome.as_ref().map_or("", RunOutcome::as_str);
        let when = run.ended_at.map(crate::clock::rfc3339).unwrap_or_default();
        let next = match run.outcome {
            Some(RunOutcome::Error) => {
                format!(
                    "continue that run with `{}`",
                    crate::hint::command(&format!("resume {}", run.id))
                )
            }
            _ => {
                let fleet = crate::hint::quote(&saved.fleet);
                format!(
                    "make a new plan (`{}`), or apply the fleet file (`{}`)",
                    crate::hint::command(&format!("plan {fleet}")),
                    crate::hint::command(&format!("apply {fleet} --yes"))
                )
            }
        };
        return Err(UsageError::new(format!(
            "{what} was already carried out by run {} ({outcome}, {when}): a saved plan is \
             stale once applied, and applying it again would Start its streams again; {next}",
            run.id
        ))
        .into());
    }
    Ok(saved)
}
