//! A plan as one self-contained page (`report PLAN_RUN --format html`, `plan --format html`,
//! `show FILE --format html`), for whoever approves it: what it would do (counts per action,
//! each account and region's streams by action as a chart), each customer key's streams now
//! and after the plan against its limit (a chart), the warnings, the estimated apply time (with
//! its waves), every stream's line with its reason, and how to carry it out with its hash.
//! Like the run report it embeds its style and charts and fetches nothing.

use std::fmt::Write as _;

use super::charts::{self, ActionBar, KeyUse, action_color, hex};
use super::escape;
use crate::clock::rfc3339;
use crate::plan::{Action, Summary};
use crate::report::plan::{check_line, current_key, item_note, summary_line};
use crate::report::plan_review::{Review, count, places, shown_actions};
use crate::report::{human_duration, short_key};

/// The plan page's section headings, in order (a test finds each in the rendered page).
pub const SECTIONS: [&str; 7] = [
    "Summary",
    "Customer-managed keys",
    "Actions by account and region",
    "Warnings",
    "Estimated apply time",
    "Every stream",
    "Carry it out",
];

/// Places drawn in the chart; the table lists every one.
const CHARTED: usize = 40;

/// The plan's page.
pub fn page(review: &Review<'_>) -> String {
    let view = review.view;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>firehose-sse plan {}</title>\n<style>\n{}</style>\n</head>\n<body>\n<main>\n",
        view.plan_id,
        include_str!("style.css")
    );
    let summary = Summary::of(view.items);
    header(&mut html, review, &summary);
    summary_section(&mut html, review, &summary);
    keys_section(&mut html, review);
    places_section(&mut html, review, &summary);
    warnings_section(&mut html, review);
    estimate_section(&mut html, review);
    streams_section(&mut html, review);
    carry_out_section(&mut html, review);
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// The actions a plan shows, with how many streams have each.
fn shown(summary: &Summary) -> Vec<(Action, usize)> {
    shown_actions(summary)
        .into_iter()
        .map(|a| (a, count(summary, a)))
        .collect()
}

fn header(html: &mut String, review: &Review<'_>, summary: &Summary) {
    let view = review.view;
    let mut meta = vec![format!("{} streams", view.items.len())];
    if let Some(fleet) = &review.fleet {
        meta.push(format!("fleet {}", escape(fleet)));
    }
    if let Some(at) = review.made_at {
        meta.push(format!("made {}", rfc3339(at)));
    }
    if let Some(at) = review.observed_at {
        meta.push(format!("observed from {}", rfc3339(at)));
    }
    if let Some(place) = &review.place {
        meta.push(format!("against {}", escape(place)));
    }
    if let Some(hash) = &view.hash {
        meta.push(format!(
            "hash <code>{}</code>",
            escape(crate::planfile::short(hash))
        ));
    }
    let _ = writeln!(
        html,
        "<header>\n<h1>Encryption plan {}</h1>\n<p class=\"meta\">{}</p>\n\
         <p class=\"note\">A dry run: nothing was started. Review it, then carry it out as \
         shown under “Carry it out”.</p>",
        view.plan_id,
        meta.join(" · ")
    );
    html.push_str("<div class=\"tiles\">\n");
    for (action, n) in shown(summary) {
        let _ = writeln!(
            html,
            "<div class=\"tile\" style=\"border-color:{}\"><b>{n}</b> {} {}</div>",
            hex(action_color(action)),
            escape(&action.symbol().to_string()),
            action.as_str()
        );
    }
    html.push_str("</div>\n</header>\n");
}

fn summary_section(html: &mut String, review: &Review<'_>, summary: &Summary) {
    let view = review.view;
    html.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    let _ = writeln!(
        html,
        "<p>{} streams: {}</p>",
        view.items.len(),
        escape(&summary_line(summary))
    );
    let changes = view
        .items
        .iter()
        .filter(|i| i.action != Action::Noop)
        .count();
    let _ = writeln!(
        html,
        "<p>{changes} stream(s) not at their target; {} would be sent a call.</p>",
        view.items.iter().filter(|i| i.action.starts()).count()
    );
    html.push_str("</section>\n");
}

fn keys_section(html: &mut String, review: &Review<'_>) {
    let view = review.view;
    html.push_str("<section id=\"keys\">\n<h2>Customer-managed keys</h2>\n");
    if view.keys.is_empty() {
        html.push_str(
            "<p class=\"none\">The plan moves no stream to or from a customer-managed key.</p>\n\
             </section>\n",
        );
        return;
    }
    let limit = view.keys.iter().map(|k| k.limit).max().unwrap_or(0);
    let _ = writeln!(
        html,
        "<p>Streams each key protects now and after the plan, against the limit of {limit} \
         streams per key.</p>"
    );
    let uses: Vec<KeyUse> = view
        .keys
        .iter()
        .map(|k| KeyUse {
            label: k
                .key_arn
                .find("key/")
                .map_or(k.key_arn.as_str(), |at| &k.key_arn[at..])
                .to_owned(),
            before: k.streams_now,
            after: k.streams_after,
        })
        .collect();
    let _ = writeln!(
        html,
        "<figure>{}</figure>",
        charts::keys(&uses, limit, ["now", "after the plan"])
    );
    html.push_str(
        "<table>\n<thead><tr><th>key</th><th class=\"n\">now</th><th class=\"n\">after</th>\
         <th class=\"n\">limit</th><th class=\"n\">room left</th>\
         <th>producers allowed/denied/unknown</th></tr></thead>\n<tbody>\n",
    );
    for k in &view.keys {
        let _ = writeln!(
            html,
            "<tr><td class=\"arn\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&k.key_arn),
            k.streams_now,
            k.streams_after,
            k.limit,
            k.limit.saturating_sub(k.streams_after),
            match &k.producers {
                Some(c) => format!("{}/{}/{}", c.allowed, c.denied, c.unknown),
                None => "-".into(),
            }
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

fn places_section(html: &mut String, review: &Review<'_>, summary: &Summary) {
    let places = places(review.view.items);
    let shown = shown(summary);
    html.push_str("<section id=\"places\">\n<h2>Actions by account and region</h2>\n");
    let bars: Vec<ActionBar> = places
        .iter()
        .take(CHARTED)
        .map(|p| ActionBar {
            label: format!("{} · {}", p.label, p.region),
            counts: Action::ALL
                .into_iter()
                .map(|a| (a, p.items.iter().filter(|i| i.action == a).count()))
                .filter(|(_, n)| *n > 0)
                .collect(),
        })
        .collect();
    let _ = writeln!(html, "<figure>{}</figure>", charts::actions(&bars));
    html.push_str("<div class=\"legend\">");
    for (action, _) in &shown {
        let _ = write!(
            html,
            "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
            hex(action_color(*action)),
            action.as_str()
        );
    }
    html.push_str("</div>\n");
    if places.len() > CHARTED {
        let _ = writeln!(
            html,
            "<p class=\"none\">The chart shows the first {CHARTED} of {} accounts and regions; \
             the table has every one.</p>",
            places.len()
        );
    }
    html.push_str(
        "<table>\n<thead><tr><th>account</th><th>region</th><th class=\"n\">streams</th>",
    );
    for (action, _) in &shown {
        let _ = write!(html, "<th class=\"n\">{}</th>", action.as_str());
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for p in &places {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            escape(p.label),
            escape(p.region),
            p.items.len()
        );
        for (action, _) in &shown {
            let n = p.items.iter().filter(|i| i.action == *action).count();
            let _ = write!(html, "<td class=\"n\">{n}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

fn warnings_section(html: &mut String, review: &Review<'_>) {
    let view = review.view;
    html.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n");
    let mut warnings = view.warnings.clone();
    if view.throttles > 0 {
        warnings.push(format!(
            "Throttled {} time(s) while observing.",
            view.throttles
        ));
    }
    if warnings.is_empty() {
        html.push_str("<p class=\"none\">None.</p>\n");
    } else {
        html.push_str("<ul>\n");
        for w in &warnings {
            let _ = writeln!(html, "<li>{}</li>", escape(w));
        }
        html.push_str("</ul>\n");
    }
    if let Some(check) = &view.producer_check {
        let _ = writeln!(html, "<p>{}</p>", escape(&check_line(check)));
    }
    html.push_str("</section>\n");
}

fn estimate_section(html: &mut String, review: &Review<'_>) {
    let view = review.view;
    html.push_str("<section id=\"estimate\">\n<h2>Estimated apply time</h2>\n");
    if view.estimated_ms > 0 {
        let _ = writeln!(
            html,
            "<p>About <b>{}</b> at {} {}/s and {} Describes/s per account and region \
             (regions in parallel).</p>",
            human_duration(view.estimated_ms),
            view.pace.start_tps,
            crate::report::plan::calls_sent(view.items),
            view.pace.describe_tps
        );
    } else {
        html.push_str("<p>Nothing to start: apply would only confirm and record.</p>\n");
    }
    if let Some((waves, wall)) = &view.waves {
        let _ = writeln!(
            html,
            "<p>In {} waves, each watched before the next: with the bakes, about <b>{}</b>.</p>",
            waves.len(),
            human_duration(*wall)
        );
        html.push_str(
            "<table>\n<thead><tr><th class=\"n\">wave</th><th class=\"n\">streams</th>\
             <th class=\"n\">to change</th><th class=\"n\">estimate</th>\
             <th>accounts and regions</th></tr></thead>\n<tbody>\n",
        );
        for w in waves {
            let places: Vec<String> = w
                .by_place
                .iter()
                .map(|(place, n)| format!("{place}: {n}"))
                .collect();
            let _ = writeln!(
                html,
                "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td>{}</td></tr>",
                w.wave,
                w.streams,
                w.changes,
                human_duration(w.estimated_ms),
                escape(&places.join(", "))
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("</section>\n");
}

fn streams_section(html: &mut String, review: &Review<'_>) {
    let view = review.view;
    html.push_str("<section id=\"streams\">\n<h2>Every stream</h2>\n");
    for p in places(view.items) {
        let _ = writeln!(
            html,
            "<details open><summary><b>{} · {}</b> — {}</summary>",
            escape(p.label),
            escape(p.region),
            escape(&summary_line(&p.summary))
        );
        html.push_str(
            "<table class=\"streams\">\n<thead><tr><th></th><th>stream</th>\
             <th class=\"n\">line</th><th>now</th><th>target</th><th class=\"n\">budget</th>\
             <th>note</th></tr></thead>\n<tbody>\n",
        );
        for item in &p.items {
            let _ = writeln!(
                html,
                "<tr><td style=\"color:{}\"><b>{}</b></td><td>{}</td><td class=\"n\">{}</td>\
                 <td>{}</td><td>{}</td><td class=\"n\">{}/{}</td><td>{}</td></tr>",
                hex(action_color(item.action)),
                escape(&item.action.symbol().to_string()),
                escape(&item.target.name),
                item.target.line,
                escape(&current_key(item)),
                escape(&short_key(Some(&item.target.key))),
                item.budget_used,
                view.settings.stream_budget,
                escape(&item_note(item))
            );
        }
        html.push_str("</tbody>\n</table>\n</details>\n");
    }
    html.push_str("</section>\n");
}

fn carry_out_section(html: &mut String, review: &Review<'_>) {
    let view = review.view;
    html.push_str("<section id=\"carry-out\">\n<h2>Carry it out</h2>\n");
    if let Some(command) = &view.next {
        let _ = writeln!(
            html,
            "<p>Once approved, this runs exactly the plan shown here, and refuses any other:</p>\n\
             <pre><code>{}</code></pre>",
            escape(&format!("firehose-sse {command}"))
        );
    }
    match &view.hash {
        Some(hash) => {
            let _ = writeln!(
                html,
                "<p>Plan hash (SHA-256): <code>{}</code></p>",
                escape(hash)
            );
        }
        None => html.push_str("<p class=\"none\">This plan has no hash.</p>\n"),
    }
    html.push_str("</section>\n");
}
