//! The plan for review: Markdown made for a pull-request comment or a change ticket, and CSV.
//! The Markdown puts first what a reviewer approves — the summary per account and region, the
//! per-key table, the warnings, the estimated apply time, the hash — then one collapsible
//! `<details>` block per account and region with its streams, every untrusted text escaped
//! ([`super::md_text`]). It stays within [`MARKDOWN_BUDGET`], under GitHub's comment limit of
//! [`COMMENT_LIMIT`] characters: the longest account and region sections are folded first —
//! their unchanged streams counted instead of listed, then every stream — each folded section
//! naming the command that lists its streams in full ([`markdown`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::plan::{PlanView, current_key, item_note, summary_line};
use super::{human_duration, md_text, short_key};
use crate::clock::{EpochMillis, rfc3339};
use crate::plan::{Action, Item, Summary, own_account};

/// GitHub's limit on a comment's body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// What the Markdown report may take, in bytes (never fewer than its characters): under
/// [`COMMENT_LIMIT`] with room for what a bot (Atlantis, a CI step) writes around it.
pub const MARKDOWN_BUDGET: usize = 64_000;

/// A plan and what its review shows of where it comes from.
#[derive(Debug)]
pub struct Review<'a> {
    pub view: &'a PlanView<'a>,
    /// When it was made.
    pub made_at: Option<EpochMillis>,
    /// The oldest observation it was decided from.
    pub observed_at: Option<EpochMillis>,
    /// The fleet file it was made from.
    pub fleet: Option<String>,
    /// Where its calls went: the endpoint, and the account when known.
    pub place: Option<String>,
    /// The command that prints this plan's JSON document (`firehose-sse report 3`,
    /// `firehose-sse show plan.json`): a folded section's streams are listed by it with a
    /// `--query`.
    pub source: String,
}

/// The streams of one account in one region.
#[derive(Debug)]
pub struct Place<'a> {
    /// The account, when the plan knows it of one of its streams.
    pub account: Option<&'a str>,
    /// Some of its streams have no account in the plan (a row naming none, of a stream that
    /// does not exist): the credentials' own.
    pub unknown: bool,
    /// How the report names the account (`own`, or the credentials' account, when unknown).
    pub label: &'a str,
    pub region: &'a str,
    pub items: Vec<&'a Item>,
    pub summary: Summary,
}

/// The plan's streams by account and region, in that order.
pub fn places(items: &[Item]) -> Vec<Place<'_>> {
    // A stream of no known account (a row naming none, not found) is the credentials': the
    // plan's one account when it has one.
    let first = items.iter().find_map(Item::account);
    let own = first
        .filter(|f| items.iter().filter_map(Item::account).all(|a| a == *f))
        .unwrap_or_else(|| own_account(items));
    let mut by: BTreeMap<(&str, &str), Place<'_>> = BTreeMap::new();
    for item in items {
        let account = item.account();
        let label = account.unwrap_or(own);
        let place = by
            .entry((label, &item.target.region))
            .or_insert_with(|| Place {
                account: None,
                unknown: false,
                label,
                region: &item.target.region,
                items: Vec::new(),
                summary: Summary::default(),
            });
        place.account = place.account.or(account);
        place.unknown |= account.is_none();
        place.items.push(item);
        place.summary.add(item.action, 1);
    }
    by.into_values().collect()
}

/// How many streams of `summary` have `action`.
pub fn count(summary: &Summary, action: Action) -> usize {
    match action {
        Action::Enable => summary.enable,
        Action::Rekey => summary.rekey,
        Action::Disable => summary.disable,
        Action::Restore => summary.restore,
        Action::Noop => summary.noop,
        Action::Skip => summary.skip,
        Action::Defer => summary.defer,
    }
}

/// The actions a plan's summary shows: disable and restore only when it has some.
pub fn shown_actions(total: &Summary) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| count(total, *a) > 0 || !matches!(a, Action::Disable | Action::Restore))
        .collect()
}

/// A summary column's heading: `unchanged` for noop, else the action.
fn heading(action: Action) -> &'static str {
    match action {
        Action::Noop => "unchanged",
        Action::Skip => "skip",
        a => a.as_str(),
    }
}

fn total(s: &Summary) -> usize {
    s.enable + s.rekey + s.disable + s.restore + s.noop + s.skip + s.defer
}

/// The command that lists one place's streams.
fn place_command(source: &str, place: &Place<'_>) -> String {
    // A field no item has (`null`) is null, as the account of a stream of no known account.
    let account = match (place.account, place.unknown) {
        (Some(a), false) => format!("account=='{a}'"),
        (Some(a), true) => format!("(account=='{a}' || account==null)"),
        (None, _) => "account==null".to_owned(),
    };
    format!(
        "{source} --query \"items[?{account} && region=='{}']\"",
        place.region
    )
}

/// A code span that holds `text` whatever backticks it has.
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced block that holds `text` whatever backticks it has.
fn fenced(lang: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{lang}\n{text}\n{fence}\n")
}

/// How far a place's section is folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fold {
    /// Every stream listed.
    None,
    /// Unchanged streams counted, the others listed.
    Unchanged,
    /// Every stream counted.
    All,
}

/// A place's `<details>` block, folded as far as `fold` says.
fn section(place: &Place<'_>, fold: Fold, budget: u32, source: &str) -> String {
    let mut out = String::new();
    let n = place.items.len();
    let _ = write!(
        out,
        "<details><summary>{} · {} — {n} stream{}: {}</summary>\n\n",
        super::escape(place.label),
        super::escape(place.region),
        if n == 1 { "" } else { "s" },
        super::escape(summary_line(&place.summary).trim_end_matches('.'))
    );
    let listed: Vec<&&Item> = place
        .items
        .iter()
        .filter(|i| match fold {
            Fold::None => true,
            Fold::Unchanged => i.action != Action::Noop,
            Fold::All => false,
        })
        .collect();
    if !listed.is_empty() {
        out.push_str("| | stream | line | now | target | budget | note |\n");
        out.push_str("|:-:|---|--:|---|---|--:|---|\n");
        for item in &listed {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {}/{budget} | {} |",
                md_text(&item.action.symbol().to_string()),
                md_text(&item.target.name),
                item.target.line,
                md_text(&current_key(item)),
                md_text(&short_key(Some(&item.target.key))),
                item.budget_used,
                md_text(&item_note(item)),
            );
        }
        out.push('\n');
    }
    let unlisted = n - listed.len();
    if unlisted > 0 {
        let what = match fold {
            Fold::Unchanged => "unchanged stream(s) not listed",
            _ => "stream(s) not listed",
        };
        let _ = write!(
            out,
            "{unlisted} {what}, to keep this comment under GitHub's limit; {} lists every \
             stream of this account and region.\n\n",
            code(&place_command(source, place))
        );
    }
    out.push_str("</details>\n\n");
    out
}

/// The part before the streams: title, provenance, summary, keys, warnings, estimate.
fn head(review: &Review<'_>, total_summary: &Summary, places: &[Place<'_>]) -> String {
    let mut out = provenance(review, total_summary);
    places_table(&mut out, total_summary, places);
    keys_table(&mut out, review.view);
    warnings(&mut out, review.view);
    estimate(&mut out, review.view);
    out
}

/// The title, and what the plan is: its streams, hash, fleet, times and place.
fn provenance(review: &Review<'_>, total_summary: &Summary) -> String {
    let view = review.view;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## firehose-sse plan {}: {}\n",
        view.plan_id,
        summary_line(total_summary).trim_end_matches('.')
    );
    let mut facts = vec![format!(
        "{} stream{}",
        view.items.len(),
        if view.items.len() == 1 { "" } else { "s" }
    )];
    if let Some(hash) = &view.hash {
        facts.push(format!(
            "hash {} (whole below)",
            code(crate::planfile::short(hash))
        ));
    }
    if let Some(fleet) = &review.fleet {
        facts.push(format!("fleet {}", code(fleet)));
    }
    if let Some(at) = review.made_at {
        facts.push(format!("made {}", rfc3339(at)));
    }
    if let Some(at) = review.observed_at {
        facts.push(format!("observed from {}", rfc3339(at)));
    }
    if let Some(place) = &review.place {
        facts.push(format!("against {}", md_text(place)));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    out
}

/// Each account and region's counts by action, and their total.
fn places_table(out: &mut String, total_summary: &Summary, places: &[Place<'_>]) {
    let columns = shown_actions(total_summary);
    out.push_str("| account | region | streams |");
    for action in &columns {
        let _ = write!(out, " {} |", heading(*action));
    }
    out.push_str("\n|---|---|--:|");
    out.push_str(&"--:|".repeat(columns.len()));
    out.push('\n');
    let row = |out: &mut String, account: &str, region: &str, s: &Summary| {
        let _ = write!(out, "| {account} | {region} | {} |", total(s));
        for action in &columns {
            let _ = write!(out, " {} |", count(s, *action));
        }
        out.push('\n');
    };
    for p in places {
        row(out, &md_text(p.label), &md_text(p.region), &p.summary);
    }
    if places.len() > 1 {
        row(out, "**all**", "", total_summary);
    }
    out.push('\n');
}

/// The customer-managed keys: streams each protects now and after, against its limit.
fn keys_table(out: &mut String, view: &PlanView<'_>) {
    if view.keys.is_empty() {
        return;
    }
    out.push_str(
        "### Customer-managed keys\n\nStreams each key protects now and after the plan, \
         against its limit.\n\n",
    );
    let checked = view
        .producer_check
        .as_ref()
        .is_some_and(|c| c.skipped.is_none());
    out.push_str("| key | now | after | limit | room left |");
    out.push_str(if checked {
        " producers allowed/denied/unknown |\n|---|--:|--:|--:|--:|---|\n"
    } else {
        "\n|---|--:|--:|--:|--:|\n"
    });
    for k in &view.keys {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} |",
            md_text(&k.key_arn),
            k.streams_now,
            k.streams_after,
            k.limit,
            k.limit.saturating_sub(k.streams_after)
        );
        if checked {
            let _ = write!(
                out,
                " {} |",
                match &k.producers {
                    Some(c) => format!("{}/{}/{}", c.allowed, c.denied, c.unknown),
                    None => "-".into(),
                }
            );
        }
        out.push('\n');
    }
    out.push('\n');
}

/// The plan's warnings, the producer check's line and throttles met while observing.
fn warnings(out: &mut String, view: &PlanView<'_>) {
    let mut warnings: Vec<String> = view.warnings.clone();
    if let Some(check) = &view.producer_check {
        warnings.push(super::plan::check_line(check));
    }
    if view.throttles > 0 {
        warnings.push(format!(
            "Throttled {} time(s) while observing.",
            view.throttles
        ));
    }
    if !warnings.is_empty() {
        out.push_str("### Warnings\n\n");
        for w in &warnings {
            let _ = writeln!(out, "- {}", md_text(w));
        }
        out.push('\n');
    }
}

/// How long apply would take, and in waves when the plan has them.
fn estimate(out: &mut String, view: &PlanView<'_>) {
    out.push_str("### Estimated apply time\n\n");
    if view.estimated_ms > 0 {
        let _ = writeln!(
            out,
            "About {} at {} {}/s and {} Describes/s per account and region (regions in \
             parallel).\n",
            human_duration(view.estimated_ms),
            view.pace.start_tps,
            super::plan::calls_sent(view.items),
            view.pace.describe_tps
        );
    } else {
        out.push_str("Nothing to start: apply would only confirm and record.\n\n");
    }
    if let Some((waves, wall)) = &view.waves {
        let _ = writeln!(
            out,
            "In {} waves, with the bakes about {}:\n",
            waves.len(),
            human_duration(*wall)
        );
        out.push_str("| wave | streams | to change | estimate | accounts and regions |\n");
        out.push_str("|--:|--:|--:|--:|---|\n");
        for w in waves {
            let places: Vec<String> = w
                .by_place
                .iter()
                .map(|(place, n)| format!("{place}: {n}"))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                w.wave,
                w.streams,
                w.changes,
                human_duration(w.estimated_ms),
                md_text(&places.join(", "))
            );
        }
        out.push('\n');
    }
}

/// The part after the streams: how to carry it out, with the whole hash.
fn tail(review: &Review<'_>) -> String {
    let view = review.view;
    let mut out = String::new();
    out.push_str("### Carry it out\n\n");
    if let Some(command) = &view.next {
        out.push_str(
            "Once approved, this runs exactly the plan reviewed here, and refuses any other \
             (another plan, an edited file):\n\n",
        );
        out.push_str(&fenced("sh", &format!("firehose-sse {command}")));
        out.push('\n');
    }
    match &view.hash {
        Some(hash) => {
            let _ = writeln!(out, "Plan hash (SHA-256): {}", code(hash));
        }
        None => out.push_str("This plan has no hash (an earlier version made it).\n"),
    }
    out
}

/// The plan as Markdown for a pull-request comment, within [`MARKDOWN_BUDGET`] bytes.
pub fn markdown(review: &Review<'_>) -> String {
    let view = review.view;
    let places = places(view.items);
    let summary = Summary::of(view.items);
    let head = head(review, &summary, &places);
    let tail = tail(review);
    let budget = view.settings.stream_budget;
    let streams_heading = "### Streams\n\n";
    let mut folds = vec![Fold::None; places.len()];
    let mut sections: Vec<String> = places
        .iter()
        .map(|p| section(p, Fold::None, budget, &review.source))
        .collect();
    let fixed = head.len() + streams_heading.len() + tail.len();
    let size = |sections: &[String]| fixed + sections.iter().map(String::len).sum::<usize>();
    // Fold the longest section one step, then again, until the whole fits.
    while size(&sections) > MARKDOWN_BUDGET {
        let Some((i, _)) = sections
            .iter()
            .enumerate()
            .filter(|(i, _)| folds[*i] < Fold::All)
            .max_by_key(|(i, s)| (s.len(), std::cmp::Reverse(*i)))
        else {
            break;
        };
        folds[i] = match folds[i] {
            Fold::None if places[i].summary.noop > 0 => Fold::Unchanged,
            _ => Fold::All,
        };
        sections[i] = section(&places[i], folds[i], budget, &review.source);
    }
    let mut out = head;
    out.push_str(streams_heading);
    if size(&sections) <= MARKDOWN_BUDGET {
        for s in &sections {
            out.push_str(s);
        }
    } else {
        // Even folded, the sections are too many to list: one line for all of them.
        let _ = write!(
            out,
            "The streams of {} accounts and regions are not listed, to keep this comment under \
             GitHub's limit; {} lists every stream.\n\n",
            places.len(),
            code(&review.source)
        );
    }
    out.push_str(&tail);
    if out.len() > MARKDOWN_BUDGET {
        // So many accounts and regions that their summary alone is too long: cut it at a
        // line, and say where the rest is.
        let note = format!(
            "\n… cut here to keep this comment under GitHub's limit; {} prints the whole plan.\n\n",
            code(&review.source)
        );
        let mut cut = MARKDOWN_BUDGET - note.len() - tail.len();
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = out[..cut].rfind('\n').map_or(0, |at| at + 1);
        out.truncate(cut);
        out.push_str(&note);
        out.push_str(&tail);
    }
    out
}

const CSV_COLUMNS: [&str; 13] = [
    "account",
    "region",
    "stream",
    "line",
    "action",
    "reason",
    "status",
    "key",
    "target_key_type",
    "target_key_arn",
    "budget_used",
    "next_slot",
    "note",
];

/// The plan as CSV, one row per stream (cells a spreadsheet would run are defused).
pub fn csv(view: &PlanView<'_>) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    let own = own_account(view.items);
    for item in view.items {
        let current = item.current.as_ref();
        let cells = [
            item.account().unwrap_or(own).to_owned(),
            item.target.region.to_string(),
            item.target.name.clone(),
            item.target.line.to_string(),
            item.action.as_str().to_owned(),
            item.reason
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            current.map(|c| c.status.to_string()).unwrap_or_default(),
            current
                .and_then(|c| c.key.as_ref())
                .map(|k| {
                    k.key_arn()
                        .map_or(k.key_type().as_str(), |a| a.as_str())
                        .to_owned()
                })
                .unwrap_or_default(),
            item.target.key.key_type().as_str().to_owned(),
            item.target
                .key
                .key_arn()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            item.budget_used.to_string(),
            item.next_slot.map(rfc3339).unwrap_or_default(),
            item_note(item),
        ];
        w.write_record(cells.iter().map(|c| super::apply::spreadsheet_safe(c)))?;
    }
    Ok(String::from_utf8(
        w.into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?,
    )?)
}

#[cfg(test)]
mod tests;
