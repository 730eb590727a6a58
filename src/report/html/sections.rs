//! The HTML report's sections after its header, each drawn from the run's [`Input`]: calls per
//! second against the quota, streams by phase, the time to ENABLED and the slowest streams,
//! the customer keys against their limit, accounts and regions, failures by cause, deferred
//! streams and every stream.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::charts::{self, KeyUse, hex, phase_color};
use super::timeline::{self, ItemTimes, PHASES};
use super::{Input, QUOTA_PER_SECOND, escape};
use crate::clock::{EpochMillis, rfc3339};
use crate::engine::Phase;
use crate::ledger::RunItemRow;
use crate::model::KeyChoice;
use crate::report::apply::{FULLY_EFFECTIVE_AFTER, failure_groups};
use crate::report::failures::compact;

/// Streams of the slowest list.
const SLOWEST: usize = 10;

/// Names listed of a cause's streams before the rest are counted.
const NAMES_LISTED: usize = 30;

/// A duration for people, to the tenth of a second under a minute.
fn seconds(ms: EpochMillis) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        crate::report::human_duration(ms)
    }
}

fn key_text(key: Option<&KeyChoice>) -> String {
    match key {
        None => String::new(),
        Some(k) => crate::report::short_key(Some(k)),
    }
}

pub(super) fn calls_section(html: &mut String, input: &Input) {
    let start = input.run.started_at;
    let end = input.end();
    let mut calls: Vec<(&'static str, String, EpochMillis)> = input
        .calls
        .iter()
        .filter(|c| c.state != "not_sent")
        .map(|c| {
            let op = if c.op == "stop" { "Stop" } else { "Start" };
            (op, format!("{}/{}", c.account, c.region), c.sent_at)
        })
        .collect();
    calls.extend(input.described.iter().map(|d| {
        (
            "Describe",
            format!("{}/{}", d.account, d.region),
            d.observed_at,
        )
    }));
    let rates = timeline::rates(calls, start, end);
    let width = timeline::bin_width(start, end);
    html.push_str("<section id=\"calls\">\n<h2>Calls per second</h2>\n");
    let _ = writeln!(
        html,
        "<p>Each operation's calls per second, a line per account and region{}, against AWS's \
         quota of {QUOTA_PER_SECOND} per second per operation, account and region. Starts and \
         Stops are timed when sent; Describes when answered, so answers bunched by latency may \
         rise above the quota although they were sent within it.</p>",
        if width > 1000 {
            format!(" (averaged over {}s)", width / 1000)
        } else {
            String::new()
        }
    );
    if rates.is_empty() {
        html.push_str("<p class=\"none\">No calls recorded in this run.</p>\n");
    }
    for op in ["Start", "Stop", "Describe"] {
        let series: Vec<&timeline::Rates> = rates.iter().filter(|r| r.operation == op).collect();
        if series.is_empty() {
            continue;
        }
        let _ = writeln!(
            html,
            "<figure>{}</figure>",
            charts::calls(op, &series, width, end - start, QUOTA_PER_SECOND)
        );
    }
    if !rates.is_empty() {
        html.push_str(
            "<table>\n<thead><tr><th>operation</th><th>account/region</th><th class=\"n\">calls</th>\
             <th class=\"n\">busiest second</th><th>quota</th></tr></thead>\n<tbody>\n",
        );
        for r in &rates {
            let within = r.peak as f64 <= QUOTA_PER_SECOND;
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>",
                r.operation,
                escape(&r.place),
                r.total,
                r.peak,
                if within { "ok" } else { "over" },
                if within {
                    "within"
                } else {
                    "above (see above)"
                }
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("</section>\n");
}

pub(super) fn phases_section(html: &mut String, input: &Input, times: &[ItemTimes]) {
    let start = input.run.started_at;
    let series = timeline::phase_series(times, start, input.end(), 240);
    html.push_str("<section id=\"phases\">\n<h2>Streams by phase</h2>\n");
    html.push_str(
        "<p>Where the run's streams stood over time: pending until a Start is sent, starting \
         until it is answered, polling until Describe sees the transition end, then done, \
         failed, deferred (24 h budget) or skipped (nothing the tool may do).</p>\n",
    );
    let _ = write!(
        html,
        "<figure>{}<figcaption class=\"legend\">",
        charts::phases(&series, start)
    );
    for phase in PHASES.iter().rev() {
        let _ = write!(
            html,
            "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
            hex(phase_color(*phase)),
            phase.as_str()
        );
    }
    html.push_str("</figcaption></figure>\n</section>\n");
}

pub(super) fn enabled_section(html: &mut String, input: &Input, times: &[ItemTimes]) {
    let mut measured: Vec<(EpochMillis, &RunItemRow)> = times
        .iter()
        .zip(&input.rows)
        .filter_map(|(t, r)| timeline::time_to_enabled(t).map(|d| (d, r)))
        .collect();
    measured.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.seq.cmp(&b.1.seq)));
    let mut sorted: Vec<EpochMillis> = measured.iter().map(|(d, _)| *d).collect();
    sorted.sort_unstable();
    html.push_str("<section id=\"time-to-enabled\">\n<h2>Time from Start to ENABLED</h2>\n");
    if sorted.is_empty() {
        html.push_str(
            "<p class=\"none\">No stream of this run was started and seen ENABLED.</p>\n",
        );
    } else {
        let q = |p: f64| seconds(timeline::quantile(&sorted, p).unwrap_or(0));
        let _ = writeln!(
            html,
            "<p>From the accepted Start to the Describe that saw ENABLED, for {} streams: median \
             {}, 90th percentile {}, 99th percentile {}, longest {}. Records are fully encrypted \
             5 s after ENABLED (<code>fully_effective_at</code>).</p>",
            sorted.len(),
            q(0.5),
            q(0.9),
            q(0.99),
            q(1.0)
        );
        let step = timeline::histogram_step(*sorted.last().unwrap_or(&0), 20);
        let _ = writeln!(
            html,
            "<figure>{}</figure>",
            charts::histogram(&sorted, step)
        );
    }
    html.push_str("<h3>Slowest streams</h3>\n");
    if measured.is_empty() {
        html.push_str("<p class=\"none\">None.</p>\n");
    } else {
        html.push_str(
            "<table>\n<thead><tr><th>stream</th><th>region</th><th class=\"n\">Start to ENABLED</th>\
             <th class=\"n\">Starts</th><th>fully_effective_at</th></tr></thead>\n<tbody>\n",
        );
        for (d, r) in measured.iter().take(SLOWEST) {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(&r.name),
                escape(&r.region),
                seconds(*d),
                r.starts,
                r.enabled_at
                    .map(|t| rfc3339(t + FULLY_EFFECTIVE_AFTER))
                    .unwrap_or_default()
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("</section>\n");
}

/// Each customer key the run touched: streams before (now, less what the run moved onto it,
/// plus what it moved away) and after (the ledger's count now).
fn key_uses(input: &Input) -> Vec<(String, KeyUse)> {
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for r in &input.rows {
        keys.extend(r.target.key_arn().map(|a| a.as_str()));
        keys.extend(
            r.old_key
                .as_ref()
                .and_then(|k| k.key_arn())
                .map(|a| a.as_str()),
        );
    }
    keys.into_iter()
        .map(|key| {
            let moved = |r: &&RunItemRow| r.phase == Phase::Done && r.action.is_some();
            let on = |k: Option<&KeyChoice>| {
                k.and_then(|k| k.key_arn())
                    .is_some_and(|a| a.as_str() == key)
            };
            let onto = input
                .rows
                .iter()
                .filter(moved)
                .filter(|r| on(Some(&r.target)) && !on(r.old_key.as_ref()))
                .count() as u32;
            let away = input
                .rows
                .iter()
                .filter(moved)
                .filter(|r| !on(Some(&r.target)) && on(r.old_key.as_ref()))
                .count() as u32;
            let after = input.key_counts.get(key).copied().unwrap_or(0);
            let before = (after + away).saturating_sub(onto);
            let label = key.find("key/").map_or(key, |at| &key[at..]).to_owned();
            (
                key.to_owned(),
                KeyUse {
                    label,
                    before,
                    after,
                },
            )
        })
        .collect()
}

pub(super) fn keys_section(html: &mut String, input: &Input) {
    let keys = key_uses(input);
    html.push_str("<section id=\"keys\">\n<h2>Customer-managed keys</h2>\n");
    if keys.is_empty() {
        html.push_str("<p class=\"none\">This run used no customer-managed key.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        html,
        "<p>Streams each key protects, before the run and after it (the ledger's count now, \
         streams outside the fleet included when inventoried), against the limit of {} streams \
         per key.</p>",
        input.cmk_limit
    );
    let uses: Vec<KeyUse> = keys.iter().map(|(_, k)| k.clone()).collect();
    let _ = writeln!(
        html,
        "<figure>{}</figure>",
        charts::keys(&uses, input.cmk_limit, ["before the run", "after the run"])
    );
    html.push_str(
        "<table>\n<thead><tr><th>key</th><th class=\"n\">before</th><th class=\"n\">after</th>\
         <th class=\"n\">limit</th><th class=\"n\">room left</th></tr></thead>\n<tbody>\n",
    );
    for (arn, k) in &keys {
        let _ = writeln!(
            html,
            "<tr><td class=\"arn\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(arn),
            k.before,
            k.after,
            input.cmk_limit,
            input.cmk_limit.saturating_sub(k.after)
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

pub(super) fn places_section(html: &mut String, input: &Input) {
    let mut places: BTreeMap<(String, &str), BTreeMap<Phase, usize>> = BTreeMap::new();
    for r in &input.rows {
        let account = r.account.clone().unwrap_or_else(|| "-".into());
        *places
            .entry((account, &r.region))
            .or_default()
            .entry(r.phase)
            .or_default() += 1;
    }
    html.push_str("<section id=\"places\">\n<h2>Accounts and regions</h2>\n<table>\n<thead><tr><th>account</th><th>region</th><th class=\"n\">streams</th>");
    for p in PHASES.iter().rev() {
        let _ = write!(html, "<th class=\"n\">{}</th>", p.as_str());
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for ((account, region), counts) in &places {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            escape(account),
            escape(region),
            counts.values().sum::<usize>()
        );
        for p in PHASES.iter().rev() {
            let _ = write!(
                html,
                "<td class=\"n\">{}</td>",
                counts.get(p).copied().unwrap_or(0)
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

pub(super) fn failures_section(html: &mut String, input: &Input) {
    let failed: Vec<&RunItemRow> = input
        .rows
        .iter()
        .filter(|r| r.phase == Phase::Failed)
        .collect();
    html.push_str("<section id=\"failures\">\n<h2>Failures</h2>\n");
    if failed.is_empty() {
        html.push_str("<p class=\"none\">No stream failed.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        html,
        "<p>{} streams failed, by cause (the failure type and the key): what to do is said once \
         per cause.</p>",
        failed.len()
    );
    for (g, class) in failure_groups(&failed) {
        let _ = writeln!(
            html,
            "<div class=\"cause\">\n<h3>{} <span class=\"class\">{}</span></h3>\n<p>{} stream{}: {}</p>",
            escape(&g.cause.title()),
            escape(class),
            g.streams.len(),
            if g.streams.len() == 1 { "" } else { "s" },
            escape(&compact(&g.streams, NAMES_LISTED))
        );
        for d in &g.details {
            let _ = writeln!(html, "<p class=\"details\">{}</p>", escape(d));
        }
        if let Some(hint) = &g.hint {
            let _ = writeln!(html, "<p class=\"hint\">What to do: {}</p>", escape(hint));
        }
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
}

pub(super) fn deferred_section(html: &mut String, input: &Input) {
    let deferred: Vec<&RunItemRow> = input
        .rows
        .iter()
        .filter(|r| r.phase == Phase::Deferred)
        .collect();
    html.push_str("<section id=\"deferred\">\n<h2>Deferred streams</h2>\n");
    if deferred.is_empty() {
        html.push_str("<p class=\"none\">No stream was deferred.</p>\n</section>\n");
        return;
    }
    html.push_str(
        "<p>Streams whose 24 h budget of Start and Stop calls had no room: each can be started \
         from its next slot (<code>firehose-sse resume</code> or a new apply then).</p>\n<table>\n\
         <thead><tr><th>stream</th><th>region</th><th>account</th><th>reason</th><th>next slot</th></tr></thead>\n<tbody>\n",
    );
    for r in deferred {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.name),
            escape(&r.region),
            escape(r.account.as_deref().unwrap_or("-")),
            escape(r.reason.as_deref().unwrap_or("")),
            r.next_slot.map(rfc3339).unwrap_or_else(|| "unknown".into())
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

pub(super) fn streams_section(html: &mut String, input: &Input, times: &[ItemTimes]) {
    html.push_str(
        "<section id=\"streams\">\n<h2>Every stream</h2>\n<table class=\"streams\">\n<thead><tr>\
         <th>stream</th><th>region</th><th>account</th><th>action</th><th>phase</th><th>status</th>\
         <th>key</th><th class=\"n\">Starts</th><th class=\"n\">to ENABLED</th><th>fully_effective_at</th>\
         <th>failure or reason</th></tr></thead>\n<tbody>\n",
    );
    for (r, t) in input.rows.iter().zip(times) {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"dot\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.name),
            escape(&r.region),
            escape(r.account.as_deref().unwrap_or("-")),
            r.action.map_or("-", |a| a.as_str()),
            hex(phase_color(r.phase)),
            r.phase.as_str(),
            escape(r.last_status.as_deref().unwrap_or("")),
            escape(&key_text(r.last_key.as_ref())),
            r.starts,
            timeline::time_to_enabled(t)
                .map(seconds)
                .unwrap_or_default(),
            r.enabled_at
                .map(|t| rfc3339(t + FULLY_EFFECTIVE_AFTER))
                .unwrap_or_default(),
            escape(
                r.failure_type
                    .as_deref()
                    .or(r.reason.as_deref())
                    .unwrap_or("")
            ),
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}
