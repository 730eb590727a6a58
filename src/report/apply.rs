//! Drawing an apply run: the end-of-run summary (failures grouped by cause), and the
//! per-stream run report (`report --format table|json|text|csv|md`; `html` is
//! [`super::html`]). Live progress is in [`super::live`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::failures::{Cause, Failed, Group, group};
pub use super::live::spawn_reporter;
use crate::clock::{SECOND, rfc3339};
use crate::engine::{Outcome, Phase, failure};
use crate::ledger::{Ledger, LedgerError, RunItemRow};
use crate::pace::Operation;

/// The formats of the per-stream run report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Json,
    /// The JSON document as the AWS CLI prints text.
    Text,
    Csv,
    Md,
    /// One self-contained page with charts ([`super::html`]).
    Html,
}

/// The end-of-run summary, as text and JSON.
#[derive(Debug)]
pub struct Summary {
    pub text: String,
    pub json: Value,
}

/// The end-of-run summary; `warnings`: the plan's, as `plan` prints them; `color`: failures
/// in red.
pub fn summary(
    ledger: &Ledger,
    run_id: i64,
    outcome: &Outcome,
    warnings: &[String],
    color: bool,
) -> Result<Summary, LedgerError> {
    // Only the items worth listing: a large run's items are not all loaded back.
    let rows = ledger.run_items_in(run_id, &[Phase::Failed, Phase::Deferred])?;
    let counts: BTreeMap<Phase, usize> =
        Phase::ALL.iter().map(|p| (*p, outcome.count(*p))).collect();
    let starts = *outcome.calls.get(&Operation::Start).unwrap_or(&0);
    let describes = *outcome.calls.get(&Operation::Describe).unwrap_or(&0);
    let followed = outcome.streams_followed().max(1);
    let polls_per_stream = outcome.poll_describes as f64 / followed as f64;

    let mut text = String::new();
    let _ = writeln!(
        text,
        "\nRun {run_id} finished in {}: {} done, {} failed, {} deferred, {} skipped{} (of {}).",
        super::human_duration(outcome.wall.as_millis() as i64),
        counts[&Phase::Done],
        counts[&Phase::Failed],
        counts[&Phase::Deferred],
        counts[&Phase::Skipped],
        match counts[&Phase::Pending] + counts[&Phase::Starting] + counts[&Phase::Polling] {
            0 => String::new(),
            n => format!(", {n} not finished"),
        },
        outcome.tracks.len()
    );
    let stops = match outcome.calls.get(&Operation::Stop) {
        Some(n) if *n > 0 => format!("{n} Stop, "),
        _ => String::new(),
    };
    let _ = writeln!(
        text,
        "Calls: {starts} Start, {stops}{describes} Describe ({polls_per_stream:.2} Describes per stream to follow its transition), {} throttled.",
        outcome.throttles
    );

    let failed: Vec<&RunItemRow> = rows.iter().filter(|r| r.phase == Phase::Failed).collect();
    failed_text(&mut text, run_id, &failed, color);
    let deferred: Vec<&RunItemRow> = rows.iter().filter(|r| r.phase == Phase::Deferred).collect();
    deferred_text(&mut text, &deferred);
    let fixable = outcome.skipped_fixable();
    fixable_text(&mut text, outcome, &fixable);
    if !warnings.is_empty() {
        let _ = writeln!(text, "\nWarnings:");
        for w in warnings {
            let _ = writeln!(text, "  - {w}");
        }
    }
    let key_json = keys_text(&mut text, ledger, outcome)?;
    let _ = writeln!(
        text,
        "\nPer-stream details: {}",
        crate::hint::command(&format!("report {run_id}"))
    );

    let json = json!({
        "run_id": run_id,
        "counts": counts.iter().map(|(p, n)| (p.as_str(), *n)).collect::<BTreeMap<_, _>>(),
        "wall_seconds": outcome.wall.as_secs_f64(),
        "calls": outcome.calls.iter().map(|(op, n)| (op.as_str(), *n)).collect::<BTreeMap<_, _>>(),
        "polling_describes_per_stream": polls_per_stream,
        "throttles": outcome.throttles,
        // The run stays open for `resume`: stopped, or streams left in their transition.
        "interrupted": outcome.interrupted || outcome.left_in_transition > 0,
        "aborted": outcome.aborted.as_ref().map(ToString::to_string),
        "failed": failed.iter().map(|r| item_json(r)).collect::<Vec<_>>(),
        "deferred": deferred.iter().map(|r| item_json(r)).collect::<Vec<_>>(),
        "skipped_fixable": fixable.iter().map(|(r, n)| (r.as_str(), *n)).collect::<BTreeMap<_, _>>(),
        "warnings": warnings,
        "keys": key_json,
    });
    Ok(Summary { text, json })
}

/// Failed streams, grouped by cause, each cause once with its hint.
fn failed_text(out: &mut String, run_id: i64, failed: &[&RunItemRow], color: bool) {
    let groups = failure_groups(failed);
    if !groups.is_empty() {
        let _ = writeln!(
            out,
            "\nFailed, by cause (every stream: {}):",
            crate::hint::command(&format!("report {run_id}"))
        );
        for (g, class) in &groups {
            for line in g.lines(class, color) {
                let _ = writeln!(out, "{line}");
            }
        }
    }
}

/// Deferred streams, each with its next slot in the 24 h budget.
fn deferred_text(out: &mut String, deferred: &[&RunItemRow]) {
    if !deferred.is_empty() {
        let _ = writeln!(out, "\nDeferred (24 h budget):");
        for r in deferred {
            let _ = writeln!(
                out,
                "  {}/{}: next slot {}",
                r.region,
                r.name,
                r.next_slot.map(rfc3339).unwrap_or_else(|| "unknown".into())
            );
        }
    }
}

/// Streams skipped for a cause the operator can fix, by reason (with the accounts no
/// credentials reached).
fn fixable_text(
    out: &mut String,
    outcome: &Outcome,
    fixable: &BTreeMap<crate::plan::Reason, usize>,
) {
    if !fixable.is_empty() {
        let _ = writeln!(out, "\nSkipped, for a cause you can fix:");
        for (reason, n) in fixable {
            let accounts: BTreeSet<&str> = match reason {
                crate::plan::Reason::NoCredentials => outcome
                    .tracks
                    .iter()
                    .filter(|t| t.reason() == Some(crate::engine::Why::Plan(*reason)))
                    .filter_map(|t| t.account.as_deref())
                    .collect(),
                _ => BTreeSet::new(),
            };
            let accounts = match accounts.len() {
                0 => String::new(),
                1..=5 => format!(
                    " (account {})",
                    accounts.into_iter().collect::<Vec<_>>().join(", ")
                ),
                n => format!(" ({n} accounts)"),
            };
            let _ = writeln!(
                out,
                "  {reason}: {n} stream(s){accounts}: {}",
                reason.explain()
            );
        }
    }
}

/// The customer-managed keys the run's streams target, with the streams each protects now;
/// their JSON for the summary's document.
fn keys_text(
    out: &mut String,
    ledger: &Ledger,
    outcome: &Outcome,
) -> Result<Vec<Value>, LedgerError> {
    let keys: BTreeSet<String> = outcome
        .tracks
        .iter()
        .filter_map(|t| t.target.key_arn().map(|a| a.as_str().to_owned()))
        .collect();
    let counts_now = ledger.key_counts_now()?;
    let key_json: Vec<Value> = keys
        .iter()
        .map(|k| json!({"key_arn": k, "streams": counts_now.get(k).copied().unwrap_or(0)}))
        .collect();
    if !keys.is_empty() {
        let _ = writeln!(out, "\nCustomer-managed keys (streams now):");
        for k in &keys {
            let _ = writeln!(out, "  {k}  {}", counts_now.get(k).copied().unwrap_or(0));
        }
    }
    Ok(key_json)
}

/// Failed items grouped by cause (failure type, or error code or reason, and key), each group
/// with its class: a failure type has its class (docs/design.md#failure-classes); an error code or
/// a reason alone is `other`.
pub fn failure_groups(failed: &[&RunItemRow]) -> Vec<(Group, &'static str)> {
    let mut classes: BTreeMap<String, &'static str> = BTreeMap::new();
    let groups = group(failed.iter().map(|r| {
        let kind = match (&r.failure_type, &r.reason) {
            (Some(kind), _) => {
                classes.insert(kind.clone(), failure::classify(kind).as_str());
                kind.clone()
            }
            (None, reason) => reason.clone().unwrap_or_else(|| "failed".into()),
        };
        Failed {
            cause: Cause {
                kind,
                key: r.target.key_arn().map(|a| a.as_str().to_owned()),
            },
            stream: format!("{}/{}", r.region, r.name),
            details: r.failure_details.clone().unwrap_or_default(),
        }
    }));
    groups
        .into_iter()
        .map(|g| {
            let class = classes.get(&g.cause.kind).copied().unwrap_or("other");
            (g, class)
        })
        .collect()
}

/// Data written during the ENABLING transition is not encrypted; AWS says it takes up to 5 s
/// after ENABLED before every record is.
pub const FULLY_EFFECTIVE_AFTER: i64 = 5 * SECOND;

fn key_text(key: Option<&crate::model::KeyChoice>) -> (Option<&'static str>, Option<String>) {
    match key {
        None => (None, None),
        Some(k) => (
            Some(k.key_type().as_str()),
            k.key_arn().map(|a| a.as_str().to_owned()),
        ),
    }
}

/// One run item as JSON: the shape documented in
/// docs/commands/report.md#run-report-json-report---format-json.
pub fn item_json(r: &RunItemRow) -> Value {
    let (target_type, target_arn) = key_text(Some(&r.target));
    let (key_type, key_arn) = key_text(r.last_key.as_ref());
    json!({
        "stream": r.name,
        "region": r.region,
        "account": r.account,
        "line": r.line,
        "action": r.action.map(|a| a.as_str()),
        "phase": r.phase.as_str(),
        "reason": r.reason,
        "status": r.last_status,
        "key_type": key_type,
        "key_arn": key_arn,
        "target": {"key_type": target_type, "key_arn": target_arn},
        "attempts": r.starts,
        "enabled_at": r.enabled_at.map(rfc3339),
        "fully_effective_at": r.enabled_at.map(|t| rfc3339(t + FULLY_EFFECTIVE_AFTER)),
        "failure_type": r.failure_type,
        "failure_details": r.failure_details,
        "hint": r.failure_type.as_deref().map(failure::hint),
        "next_slot": r.next_slot.map(rfc3339),
    })
}

/// Protects spreadsheets from formula injection: a cell starting with `=`, `+`, `-`, `@` (or a
/// tab or carriage return) is prefixed with `'`.
pub fn spreadsheet_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// The columns of the CSV and Markdown reports: every field of an item.
const COLUMNS: [&str; 14] = [
    "stream",
    "region",
    "account",
    "action",
    "phase",
    "reason",
    "status",
    "key",
    "attempts",
    "enabled_at",
    "fully_effective_at",
    "failure_type",
    "failure_details",
    "next_slot",
];

/// The columns of the table, sized for a terminal as the plan's are (a key by its id); times,
/// failure details and next slots are below it, by cause, and in `--format csv|json`.
const TABLE_COLUMNS: [&str; 9] = [
    "stream", "region", "account", "action", "phase", "status", "key", "starts", "reason",
];

/// The columns of the region and the account, which a table or a Markdown report shows only
/// when they vary (CSV always has them, the Markdown report the region).
const REGION_COLUMN: usize = 1;
const ACCOUNT_COLUMN: usize = 2;

/// `all`'s columns, with the account's or without.
fn columns(all: &[&'static str], account: bool) -> Vec<&'static str> {
    all.iter()
        .enumerate()
        .filter(|(i, _)| account || *i != ACCOUNT_COLUMN)
        .map(|(_, c)| *c)
        .collect()
}

/// An item's fields, as [`COLUMNS`] names them.
fn cells(r: &RunItemRow, account: bool) -> Vec<String> {
    let key = r
        .last_key
        .as_ref()
        .map(|k| {
            k.key_arn().map_or_else(
                || k.key_type().as_str().to_owned(),
                |a| a.as_str().to_owned(),
            )
        })
        .unwrap_or_default();
    let mut cells = vec![r.name.clone(), r.region.clone()];
    if account {
        cells.push(r.account.clone().unwrap_or_default());
    }
    cells.extend([
        r.action.map_or("-", |a| a.as_str()).to_owned(),
        r.phase.as_str().to_owned(),
        r.reason.clone().unwrap_or_default(),
        r.last_status.clone().unwrap_or_default(),
        key,
        r.starts.to_string(),
        r.enabled_at.map(rfc3339).unwrap_or_default(),
        r.enabled_at
            .map(|t| rfc3339(t + FULLY_EFFECTIVE_AFTER))
            .unwrap_or_default(),
        r.failure_type.clone().unwrap_or_default(),
        r.failure_details.clone().unwrap_or_default(),
        r.next_slot.map(rfc3339).unwrap_or_default(),
    ]);
    cells
}

/// A key in the table's narrow column: `aws-owned`, or `key/` and the first 8 characters of
/// a long key id (a key id is a UUID: 8 tell a run's keys apart; the full ARN is in CSV and
/// JSON).
fn narrow_key(key: &crate::model::KeyChoice) -> String {
    match key.key_arn() {
        Some(arn) if arn.key_id().chars().count() > 12 => {
            format!("key/{}…", arn.key_id().chars().take(8).collect::<String>())
        }
        _ => super::short_key(Some(key)),
    }
}

/// An item's row of the table, as [`TABLE_COLUMNS`] names them: the key by its id, and as
/// the reason a failed stream's failure type when it has one.
fn table_cells(r: &RunItemRow, region: bool, account: bool) -> Vec<String> {
    let mut cells = vec![r.name.clone()];
    if region {
        cells.push(r.region.clone());
    }
    if account {
        cells.push(r.account.clone().unwrap_or_default());
    }
    cells.extend([
        r.action.map_or("-", |a| a.as_str()).to_owned(),
        r.phase.as_str().to_owned(),
        r.last_status.clone().unwrap_or_default(),
        match &r.last_key {
            Some(k) => narrow_key(k),
            None => String::new(),
        },
        r.starts.to_string(),
        r.failure_type
            .clone()
            .or_else(|| r.reason.clone())
            .unwrap_or_default(),
    ]);
    cells
}

/// The run's items with the account of each: a stream never described (not found, another
/// account's without credentials) has none of its own, and is the credentials' account the run
/// was made with, as its arguments record it.
pub fn with_accounts(run: &crate::ledger::RunRow, mut rows: Vec<RunItemRow>) -> Vec<RunItemRow> {
    let own = run
        .arguments()
        .place()
        .and_then(|p| p.get("account"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(own) = own {
        for r in rows.iter_mut().filter(|r| r.account.is_none()) {
            r.account = Some(own.clone());
        }
    }
    rows
}

/// Whether the rows span several accounts.
fn several_accounts(rows: &[RunItemRow]) -> bool {
    let first = rows.first().map(|r| &r.account);
    rows.iter().any(|r| Some(&r.account) != first)
}

pub fn report_table(rows: &[RunItemRow]) -> String {
    let account = several_accounts(rows);
    let region = rows.iter().any(|r| r.region != rows[0].region);
    let header: Vec<&str> = columns(&TABLE_COLUMNS, account)
        .into_iter()
        .filter(|c| region || *c != TABLE_COLUMNS[REGION_COLUMN])
        .collect();
    let mut table = super::table(header);
    for r in rows {
        table.add_row(table_cells(r, region, account));
    }
    let mut out: String = table
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    if let (false, Some(first)) = (region, rows.first()) {
        let _ = writeln!(out, "(every stream in {})", first.region);
    }
    // What the table leaves out for width: each failure's details (by cause), each deferred
    // stream's next slot.
    let failed: Vec<&RunItemRow> = rows.iter().filter(|r| r.phase == Phase::Failed).collect();
    let groups = failure_groups(&failed);
    if !groups.is_empty() {
        out.push_str("\nFailed, by cause:\n");
        for (g, class) in &groups {
            for line in g.lines(class, false) {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let deferred: Vec<&RunItemRow> = rows.iter().filter(|r| r.phase == Phase::Deferred).collect();
    if !deferred.is_empty() {
        out.push_str("\nDeferred (24 h budget):\n");
        for r in deferred {
            let _ = writeln!(
                out,
                "  {}/{}: next slot {}",
                r.region,
                r.name,
                r.next_slot.map(rfc3339).unwrap_or_else(|| "unknown".into())
            );
        }
    }
    out.push_str(&report_counts(rows));
    out
}

fn report_counts(rows: &[RunItemRow]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.phase.as_str()).or_default() += 1;
    }
    if rows.is_empty() {
        return "\nNo streams in this run.\n".to_owned();
    }
    let mut out = format!("\n{} streams: {}\n", rows.len(), phase_counts(&counts));
    let accounts = counts_by_account(rows);
    if several(&accounts) {
        for (account, counts) in &accounts {
            let n: usize = counts.values().sum();
            let _ = writeln!(
                out,
                "  account {account}: {n} streams: {}",
                phase_counts(counts)
            );
        }
    }
    out
}

/// `12 done, 1 failed`.
pub fn phase_counts(counts: &BTreeMap<&str, usize>) -> String {
    counts
        .iter()
        .map(|(p, n)| format!("{n} {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the items span several known accounts (`-` aside).
pub fn several<T>(accounts: &BTreeMap<String, T>) -> bool {
    accounts.keys().filter(|a| a.as_str() != "-").count() > 1
}

/// Each account's items by phase (`-`: items no account is known of).
pub fn counts_by_account(rows: &[RunItemRow]) -> BTreeMap<String, BTreeMap<&'static str, usize>> {
    let mut by: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for r in rows {
        *by.entry(r.account.clone().unwrap_or_else(|| "-".into()))
            .or_default()
            .entry(r.phase.as_str())
            .or_default() += 1;
    }
    by
}

/// The run's items as CSV; `producers`: each checked stream's producers in a cell, by item
/// number (a `producers` column when any).
pub fn report_csv(
    rows: &[RunItemRow],
    producers: &std::collections::HashMap<usize, String>,
) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let with_producers = !producers.is_empty();
    let mut header = columns(&COLUMNS, true);
    if with_producers {
        header.push("producers");
    }
    w.write_record(header)?;
    for r in rows {
        let mut cells = cells(r, true);
        if with_producers {
            cells.push(producers.get(&r.seq).cloned().unwrap_or_default());
        }
        w.write_record(cells.iter().map(|c| spreadsheet_safe(c)))?;
    }
    Ok(String::from_utf8(
        w.into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?,
    )?)
}

pub fn report_markdown(rows: &[RunItemRow]) -> String {
    // As many separator cells as header cells, or Markdown renders no table.
    let account = several_accounts(rows);
    let header = columns(&COLUMNS, account);
    let mut out = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        let cells: Vec<String> = cells(r, account)
            .iter()
            .map(|c| super::md_cell(c))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push_str(&report_counts(rows));
    out
}

pub fn report_json(run: &crate::ledger::RunRow, rows: &[RunItemRow]) -> Value {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.phase.as_str()).or_default() += 1;
    }
    json!({
        "run_id": run.id,
        "plan_id": run.plan_id,
        "started_at": rfc3339(run.started_at),
        "ended_at": run.ended_at.map(rfc3339),
        "outcome": run.outcome,
        "counts": counts,
        "accounts": counts_by_account(rows)
            .into_iter()
            .map(|(account, counts)| json!({"account": account, "counts": counts}))
            .collect::<Vec<_>>(),
        "items": rows.iter().map(item_json).collect::<Vec<_>>(),
    })
}

/// How long until a deferred stream's earliest next slot, for `status`.
pub fn next_deferred_slot(rows: &[RunItemRow]) -> Option<i64> {
    rows.iter()
        .filter(|r| r.phase == Phase::Deferred)
        .filter_map(|r| r.next_slot)
        .min()
}

#[cfg(test)]
mod tests;
