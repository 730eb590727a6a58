//! `status` and `report` over several ledgers (`--ledger A --ledger B ...`; `runs` decides
//! when, and `history` reads several there, each run named with its ledger): the
//! shards of one rollout (docs/design.md#many-accounts-and-shards), each carried out by its own
//! process with its own ledger (`apply --shard I/N`), read as one. Each ledger's newest apply run
//! is taken; their streams are reported together, as one process would have reported them, and each
//! ledger's run is named. Read-only, like the commands of one ledger.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::clock::{SystemClock, rfc3339};
use crate::engine::Phase;
use crate::error::{Exit, UsageError};
use crate::ledger::{Ledger, RunItemRow, RunOutcome, RunRow};
use crate::options::{ReportOptions, RunQuery};
use crate::report::OutputFormat;
use crate::report::apply::{
    ReportFormat, counts_by_account, item_json, phase_counts, report_csv, report_markdown,
    report_table,
};

/// One ledger's newest apply run and its streams.
struct Part {
    ledger: PathBuf,
    run: RunRow,
    rows: Vec<RunItemRow>,
}

/// Each ledger's newest apply run; a RUN names a run of one ledger, so it is refused here.
fn parts(ledgers: &[PathBuf], run_id: Option<i64>) -> anyhow::Result<Vec<Part>> {
    if run_id.is_some() {
        return Err(UsageError::new(
            "RUN names a run of one ledger: with several --ledger, each ledger's newest apply \
             run is read",
        )
        .into());
    }
    let mut parts = Vec::new();
    for path in ledgers {
        let ledger = Ledger::open_read_only(path, Arc::new(SystemClock))?;
        let run = ledger
            .runs()?
            .into_iter()
            .find(|r| r.carries_out())
            .ok_or_else(|| UsageError::new(format!("no apply run in {} yet", path.display())))?;
        let rows = crate::report::apply::with_accounts(&run, ledger.run_items(run.id)?);
        parts.push(Part {
            ledger: path.clone(),
            run,
            rows,
        });
    }
    Ok(parts)
}

/// The outcome of the whole from its parts': the one that needs attention most.
fn overall(parts: &[Part]) -> Option<&RunOutcome> {
    let rank = |o: Option<&RunOutcome>| match o {
        Some(RunOutcome::Error) => 0,
        None => 1, // still running, or died
        Some(RunOutcome::Interrupted) => 2,
        Some(RunOutcome::Failed) => 3,
        Some(RunOutcome::Deferred) => 4,
        Some(RunOutcome::Converged) => 6,
        Some(_) => 5,
    };
    parts
        .iter()
        .map(|p| p.run.outcome.as_ref())
        .min_by_key(|o| rank(*o))
        .flatten()
}

/// How a part's run ended, for the heading.
fn ended(part: &Part) -> &str {
    part.run
        .outcome
        .as_ref()
        .map_or("not finished", RunOutcome::as_str)
}

fn runs_json(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .map(|p| {
            json!({
                "ledger": p.ledger.display().to_string(),
                "run_id": p.run.id,
                "plan_id": p.run.plan_id,
                "started_at": rfc3339(p.run.started_at),
                "ended_at": p.run.ended_at.map(rfc3339),
                "outcome": p.run.outcome,
                "streams": p.rows.len(),
            })
        })
        .collect()
}

fn all_rows(parts: &[Part]) -> Vec<RunItemRow> {
    parts.iter().flat_map(|p| p.rows.iter().cloned()).collect()
}

fn phase_totals(rows: &[RunItemRow]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for r in rows {
        *counts.entry(r.phase.as_str()).or_default() += 1;
    }
    counts
}

/// `report --ledger A --ledger B ...`.
pub(super) fn report(args: &ReportOptions, ledgers: &[PathBuf]) -> anyhow::Result<Exit> {
    let parts = parts(ledgers, args.run_id)?;
    let rows = all_rows(&parts);
    let document = || {
        json!({
            "runs": runs_json(&parts),
            "outcome": overall(&parts),
            "counts": phase_totals(&rows),
            "accounts": counts_by_account(&rows)
                .into_iter()
                .map(|(account, counts)| json!({"account": account, "counts": counts}))
                .collect::<Vec<_>>(),
            "items": rows.iter().map(item_json).collect::<Vec<_>>(),
        })
    };
    let heading = || {
        let mut text = String::new();
        for p in &parts {
            text.push_str(&format!(
                "{}: run {} ({})\n",
                p.ledger.display(),
                p.run.id,
                ended(p)
            ));
        }
        text
    };
    let output = &args.global.output;
    let as_document = |format: OutputFormat| crate::report::Output {
        format,
        ..output.clone()
    };
    match args.format {
        ReportFormat::Table => {
            as_document(OutputFormat::Table).print("Report", document, || {
                format!("{}\n{}", heading(), report_table(&rows))
            })?
        }
        ReportFormat::Json => {
            as_document(OutputFormat::Json).print("Report", document, String::new)?
        }
        ReportFormat::Text => {
            as_document(OutputFormat::Text).print("Report", document, String::new)?
        }
        ReportFormat::Csv => crate::out!("{}", report_csv(&rows, &Default::default())?),
        ReportFormat::Md => crate::out!("{}", report_markdown(&rows)),
        ReportFormat::Html => {
            return Err(UsageError::new(
                "the HTML report draws one run: give one --ledger (one report per shard)",
            )
            .into());
        }
    }
    Ok(Exit::Ok)
}

/// `status --ledger A --ledger B ...`.
pub(super) fn status(args: &RunQuery, ledgers: &[PathBuf]) -> anyhow::Result<Exit> {
    let parts = parts(ledgers, args.run_id)?;
    let rows = all_rows(&parts);
    let totals = phase_totals(&rows);
    let document = || {
        let phases: serde_json::Map<String, Value> = Phase::ALL
            .iter()
            .map(|p| {
                (
                    p.as_str().to_owned(),
                    totals.get(p.as_str()).copied().unwrap_or(0).into(),
                )
            })
            .collect();
        json!({
            "runs": runs_json(&parts),
            "outcome": overall(&parts),
            "streams": rows.len(),
            "phases": phases,
            "accounts": counts_by_account(&rows)
                .into_iter()
                .map(|(account, phases)| json!({"account": account, "phases": phases}))
                .collect::<Vec<_>>(),
        })
    };
    let human = || {
        let mut text = format!(
            "{} ledgers, {} streams: {}\n",
            parts.len(),
            rows.len(),
            phase_counts(&totals)
        );
        for p in &parts {
            text.push_str(&format!(
                "  {}: run {} ({}), {} streams: {}\n",
                p.ledger.display(),
                p.run.id,
                ended(p),
                p.rows.len(),
                phase_counts(&phase_totals(&p.rows))
            ));
        }
        text
    };
    args.global.output.print("Status", document, human)?;
    Ok(Exit::Ok)
}
