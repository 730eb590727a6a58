//! `plan FLEET.csv`: observe the fleet and its keys, decide, save the plan, print the report.

use super::{LedgerMode, Session, read_fleet};
use crate::error::Exit;
use crate::ledger::{RunArgs, RunKind, RunOutcome};
use crate::options::PlanOptions;
use crate::report::plan::{PlanView, json, table_text};
use crate::survey::{FleetSurvey, RecentEnough, survey_fleet_with};

pub async fn plan(opts: &PlanOptions) -> anyhow::Result<Exit> {
    let global = &opts.global;
    let targets = read_fleet(global, opts.region.as_deref(), &opts.fleet).await?;
    let session = Session::open(
        global,
        &opts.pace,
        opts.sandbox.as_ref(),
        Some((&opts.fleet, &targets)),
        LedgerMode::Create,
    )
    .await?;
    let targets = super::keep_shard(&session, targets, opts.shard, global.quiet).await?;
    let customer_keys = targets.iter().any(|t| t.key.key_arn().is_some());
    super::warn_if_credentials_cannot_refresh(session.accounts.base(), customer_keys).await;
    let fleet = super::fleet_name(&opts.fleet);
    // Where its calls went: `apply --plan` refuses to carry it out anywhere else.
    let place = session.place().await;
    let run_args = RunArgs::Plan {
        fleet: fleet.clone(),
        place: place.document(),
        shard: opts.shard.map(|s| s.to_string()),
    };
    // Dropped on any error below: the run is recorded as ended in error.
    let run = session.ledger.start_run(RunKind::Plan, None, &run_args)?;
    session.accounts.set_run(run.id());
    let settings = opts.settings;
    let pace = opts.pace.plan();
    // Streams an inventory observed lately are not described again: only in the account STS
    // names, never on an in-process sandbox (a new world each time).
    let recent = match (opts.recent_within, &opts.sandbox, &place.account) {
        (Some(age), None, Some(account)) => Some(RecentEnough {
            since: session.ledger.now() - age.as_millis() as i64,
            account: account.clone(),
        }),
        _ => None,
    };
    // The producer check reads an account's principals again unless a pass as recent as the
    // observations it may reuse is in the ledger (`--refresh`: always again).
    let mut clients = session.clients();
    clients.producers.reuse_since = opts
        .recent_within
        .map(|age| session.ledger.now() - age.as_millis() as i64);
    let surveyed = survey_fleet_with(
        &session.ledger,
        &clients,
        session.progress,
        FleetSurvey {
            fleet: &fleet,
            targets,
            settings,
            pace,
            run_id: run.id(),
        },
        recent,
    )
    .await?;
    run.finish(RunOutcome::Planned)?;
    if surveyed.reused > 0 && !global.quiet {
        eprintln!(
            "{} stream(s) planned from what inventory observed {} ago (younger than \
             --max-plan-age) instead of describing them again; --refresh describes every stream.",
            surveyed.reused,
            crate::report::human_duration(session.ledger.now() - surveyed.observed_at),
        );
    }
    let view = PlanView {
        plan_id: surveyed.plan_id,
        items: &surveyed.items,
        keys: surveyed.keys,
        settings,
        warnings: surveyed.warnings,
        estimated_ms: surveyed.estimated_ms,
        pace,
        throttles: surveyed.throttles,
        producer_check: surveyed.producer_check.clone(),
        waves: opts
            .waves
            .as_ref()
            .map(|w| crate::waves::planned(&surveyed.items, w, pace)),
        // An in-process sandbox's plan is carried out on one seeded the same way.
        next: Some(crate::hint::command(&format!(
            "apply --plan {}{}{}",
            surveyed.plan_id,
            if opts.sandbox.is_some() {
                " --sandbox"
            } else {
                ""
            },
            opts.waves
                .as_ref()
                .map(|w| format!(" {}", w.flags()))
                .unwrap_or_default()
        ))),
    };
    global
        .output
        .print("Plan", || json(&view), || table_text(&view, session.color))?;
    if let Some(dir) = &opts.out_policies {
        let n = super::write_fixes(
            dir,
            surveyed.items.iter().filter_map(|i| i.producers.as_deref()),
        )?;
        if !global.quiet {
            eprintln!(
                "Wrote {n} policy file(s) to {} (nothing was applied).",
                dir.display()
            );
        }
    }
    let changes = surveyed.items.iter().filter(|i| i.action.is_change());
    Ok(match (opts.detailed_exitcode, changes.count()) {
        (true, n) if n > 0 => Exit::Changes,
        _ => Exit::Ok,
    })
}
