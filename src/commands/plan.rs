//! `plan FLEET.csv`: observe the fleet and its keys, decide, save the plan with its review and
//! hash, print its report (in any format), and write it as a plan file (`--out`).

use super::{LedgerMode, Session, read_fleet, review};
use crate::error::Exit;
use crate::ledger::{PlanReview, RunArgs, RunKind, RunOutcome};
use crate::options::PlanOptions;
use crate::planfile::Document;
use crate::report::plan::PlanView;
use crate::survey::{FleetSurvey, RecentEnough, Surveyed, survey_fleet_with};

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
        out: opts.out.as_ref().map(|p| p.display().to_string()),
    };
    // Dropped on any error below: the run is recorded as ended in error.
    let run = session.ledger.start_run(RunKind::Plan, None, &run_args)?;
    let run_id = run.id();
    session.accounts.set_run(run_id);
    let pace = opts.pace.plan();
    let surveyed = observe(opts, &session, &place, &fleet, targets, run_id).await?;
    // The plan's review and hash, recorded with it: what its reports show and `apply
    // --expect-plan-hash` checks.
    let plan_review = PlanReview {
        keys: surveyed.keys.clone(),
        warnings: surveyed.warnings.clone(),
        start_tps: pace.start_tps,
        describe_tps: pace.describe_tps,
        throttles: surveyed.throttles,
        waves: opts.waves.clone(),
        place: place.document(),
        shard: opts.shard.map(|s| s.to_string()),
    };
    let document = review::record(
        &session.ledger,
        surveyed.plan_id,
        plan_review.clone(),
        surveyed.producer_check.clone(),
    )?;
    run.finish(RunOutcome::Planned)?;
    if surveyed.reused > 0 && !global.quiet {
        eprintln!(
            "{} stream(s) planned from what inventory observed {} ago (younger than \
             --max-plan-age) instead of describing them again; --refresh describes every stream.",
            surveyed.reused,
            crate::report::human_duration(session.ledger.now() - surveyed.observed_at),
        );
    }
    if let Some(out) = &opts.out {
        write_plan_file(out, &document, global.quiet)?;
    }
    print_plan(opts, &session, &surveyed, &document, &plan_review, run_id)?;
    write_code_and_policies(opts, &surveyed.items)?;
    let changes = surveyed.items.iter().filter(|i| i.action.is_change());
    Ok(match (opts.detailed_exitcode, changes.count()) {
        (true, n) if n > 0 => Exit::Changes,
        _ => Exit::Ok,
    })
}

/// The fleet's streams and keys observed and decided, as a plan saved in the ledger.
async fn observe(
    opts: &PlanOptions,
    session: &Session,
    place: &super::Place,
    fleet: &str,
    targets: Vec<crate::input::Target>,
    run_id: i64,
) -> anyhow::Result<Surveyed> {
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
    clients.iac = opts.iac.clone();
    clients.producers.reuse_since = opts
        .recent_within
        .map(|age| session.ledger.now() - age.as_millis() as i64);
    let request = FleetSurvey {
        fleet,
        targets,
        settings: opts.settings,
        pace: opts.pace.plan(),
        run_id,
    };
    survey_fleet_with(&session.ledger, &clients, session.progress, request, recent).await
}

/// `--out FILE`: the plan file, and the commands that print and carry it out.
fn write_plan_file(out: &std::path::Path, document: &Document, quiet: bool) -> anyhow::Result<()> {
    let hash = document.hash();
    crate::files::write(out, document.file_text().as_bytes())?;
    if !quiet {
        eprintln!(
            "Wrote plan {} to {} (hash {}): `{}` prints it, `{}` carries it out.",
            document.plan.id,
            out.display(),
            crate::planfile::short(&hash),
            crate::hint::command(&format!("show {}", out.display())),
            crate::hint::command(&format!(
                "apply {} --expect-plan-hash {hash}",
                out.display()
            )),
        );
    }
    Ok(())
}

/// The plan's report, in the format asked for.
fn print_plan(
    opts: &PlanOptions,
    session: &Session,
    surveyed: &Surveyed,
    document: &Document,
    plan_review: &PlanReview,
    run_id: i64,
) -> anyhow::Result<()> {
    let global = &opts.global;
    let pace = opts.pace.plan();
    let hash = document.hash();
    let out_file = opts.out.as_ref().map(|p| p.display().to_string());
    let view = PlanView {
        plan_id: surveyed.plan_id,
        items: &surveyed.items,
        keys: surveyed.keys.clone(),
        settings: opts.settings,
        warnings: surveyed.warnings.clone(),
        estimated_ms: surveyed.estimated_ms,
        pace,
        throttles: surveyed.throttles,
        producer_check: surveyed.producer_check.clone(),
        waves: opts
            .waves
            .as_ref()
            .map(|w| crate::waves::planned(&surveyed.items, w, pace)),
        next: Some(review::apply_command(
            surveyed.plan_id,
            out_file.as_deref(),
            Some(&hash),
            Some(plan_review),
        )),
        hash: Some(hash),
    };
    let fleet = super::fleet_name(&opts.fleet);
    let source = match &out_file {
        Some(file) => format!("firehose-sse show {file}"),
        None => review::report_command(run_id, &global.ledger),
    };
    let context = review::Context {
        made_at: Some(document.plan.created_at),
        observed_at: Some(document.plan.observed_at),
        fleet: Some(&fleet),
        place: review::place_text(Some(plan_review)),
        source: &source,
        note: String::new(),
    };
    review::print(opts.format, &global.output, &view, context, session.color)
}

/// `--out-policies DIR` and `--out-iac DIR`: the statements refused producers need, and the
/// changes to make in the code that owns the streams.
fn write_code_and_policies(opts: &PlanOptions, items: &[crate::plan::Item]) -> anyhow::Result<()> {
    let quiet = opts.global.quiet;
    if let Some(dir) = &opts.out_policies {
        let n = super::write_fixes(dir, items.iter().filter_map(|i| i.producers.as_deref()))?;
        if !quiet {
            eprintln!(
                "Wrote {n} policy file(s) to {} (nothing was applied).",
                dir.display()
            );
        }
    }
    if let Some(dir) = &opts.out_iac {
        let n = write_code_changes(dir, items)?;
        if !quiet {
            eprintln!(
                "Wrote {n} code change(s) to {} (nothing was applied).",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Writes, for each stream the plan changes (or skips `iac_owned`) that code owns, the change
/// to make in that code, one file each in `dir`.
fn write_code_changes(dir: &std::path::Path, items: &[crate::plan::Item]) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the --out-iac directory {}", dir.display()))?;
    let mut written = 0;
    for item in items {
        let changed = item.action.starts() || item.reason == Some(crate::plan::Reason::IacOwned);
        if let (true, Some(owner), Some(stream)) = (changed, &item.owner, &item.stream) {
            let change = owner.change(stream, &item.target.key);
            crate::files::write(&dir.join(&change.file), change.text.as_bytes())?;
            written += 1;
        }
    }
    Ok(written)
}
