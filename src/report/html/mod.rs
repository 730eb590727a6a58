//! `report --format html`: one self-contained page of a run for people who want to *see* a
//! rollout (security leads, auditors, a ticket): its calls per second against the quota, its
//! streams by phase over time, the time from Start to ENABLED and the slowest streams, each
//! customer key's streams before and after against the limit, counts per account and region,
//! failures by cause with their hints, deferred streams with their next slot, and every stream
//! with its `fully_effective_at`. Everything is inline (CSS, SVG charts from [`charts`]): the
//! page fetches nothing and reads the same printed. [`Input::load`] reads what it needs from the
//! ledger; [`page`] draws it without I/O.

pub mod charts;
pub mod plan;
mod sections;
pub mod timeline;

use std::collections::HashMap;
use std::fmt::Write as _;

use charts::{hex, phase_color};
use timeline::{Attempt, ItemTimes};

use crate::clock::{EpochMillis, rfc3339};
use crate::engine::Phase;
use crate::ledger::{Described, Ledger, LedgerError, RunItemRow, RunRow, SentCall};

/// The page's section headings, in order (a test finds each in the rendered page).
pub const SECTIONS: [&str; 10] = [
    "Calls per second",
    "Streams by phase",
    "Time from Start to ENABLED",
    "Slowest streams",
    "Customer-managed keys",
    "Producers",
    "Accounts and regions",
    "Failures",
    "Deferred streams",
    "Every stream",
];

/// Control-plane calls AWS allows per second, per operation, account and region.
pub const QUOTA_PER_SECOND: f64 = 5.0;

/// What the page shows, read from the ledger.
#[derive(Debug)]
pub struct Input {
    pub run: RunRow,
    pub rows: Vec<RunItemRow>,
    pub calls: Vec<SentCall>,
    pub described: Vec<Described>,
    /// Streams each customer key protects now, by key ARN.
    pub key_counts: HashMap<String, u32>,
    /// Streams one key may protect, as the run's plan was made with.
    pub cmk_limit: u32,
    /// What `report` says of a plan run.
    pub note: Option<String>,
    /// When the report was made: the end of a run still under way.
    pub now: EpochMillis,
    /// The producers of the run's streams moving to a customer key, as its plan found them.
    pub producers: Vec<super::producers::StreamRow>,
    /// A rollout in waves: its waves and their gates' readings.
    pub waves: super::waves::Waves,
}

impl Input {
    /// Reads a run's calls, observations, key counts and limit.
    pub fn load(
        ledger: &Ledger,
        run: &RunRow,
        rows: Vec<RunItemRow>,
        note: Option<String>,
    ) -> Result<Input, LedgerError> {
        let settings = match run.plan_id {
            Some(plan) => ledger.plan_settings(plan)?,
            None => None,
        };
        Ok(Input {
            run: run.clone(),
            rows,
            calls: ledger.run_calls(run.id)?,
            described: ledger.run_observations(run.id)?,
            key_counts: ledger.key_counts_now()?,
            cmk_limit: settings.unwrap_or_default().cmk_limit,
            note,
            now: ledger.now(),
            producers: Vec::new(),
            waves: super::waves::Waves {
                waves: Vec::new(),
                now: ledger.now(),
            },
        })
    }

    /// The end of the timeline: the run's end, else its last event, else now.
    fn end(&self) -> EpochMillis {
        let last = self
            .calls
            .iter()
            .map(|c| c.completed_at.unwrap_or(c.sent_at))
            .chain(self.described.iter().map(|d| d.observed_at))
            .chain(self.rows.iter().map(|r| r.updated_at))
            .max();
        match (self.run.ended_at, last) {
            (Some(end), Some(last)) => end.max(last),
            (Some(end), None) => end,
            (None, _) => self.now,
        }
        .max(self.run.started_at + 1)
    }
}

pub use super::escape;

/// Each item's timeline facts, its attempts found by stream.
fn item_times(input: &Input) -> Vec<ItemTimes> {
    let mut by_stream: HashMap<(&str, &str), Vec<&SentCall>> = HashMap::new();
    for c in &input.calls {
        by_stream.entry((&c.region, &c.name)).or_default().push(c);
    }
    input
        .rows
        .iter()
        .map(|r| {
            let attempts = by_stream
                .get(&(r.region.as_str(), r.name.as_str()))
                .into_iter()
                .flatten()
                .filter(|c| r.account.as_deref().is_none_or(|a| a == c.account))
                .filter(|c| c.state != "not_sent")
                .map(|c| Attempt {
                    sent_at: c.sent_at,
                    completed_at: c.completed_at,
                    maybe_accepted: matches!(c.state.as_str(), "ok" | "unknown" | "in_flight"),
                })
                .collect();
            ItemTimes {
                attempts,
                phase: r.phase,
                updated_at: r.updated_at,
                enabled_at: r.enabled_at,
            }
        })
        .collect()
}

/// The page.
pub fn page(input: &Input) -> String {
    let times = item_times(input);
    let mut html = String::new();
    let run = &input.run;
    let title = format!("firehose-sse run {}", run.id);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<main>\n",
        escape(&title),
        include_str!("style.css")
    );
    header(&mut html, input);
    input.waves.html(&mut html);
    sections::calls_section(&mut html, input);
    sections::phases_section(&mut html, input, &times);
    sections::enabled_section(&mut html, input, &times);
    sections::keys_section(&mut html, input);
    super::producers::html(&input.producers, &mut html);
    sections::places_section(&mut html, input);
    sections::failures_section(&mut html, input);
    sections::deferred_section(&mut html, input);
    sections::streams_section(&mut html, input, &times);
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

fn header(html: &mut String, input: &Input) {
    let run = &input.run;
    let _ = writeln!(
        html,
        "<header>\n<h1>Encryption rollout: run {}</h1>\n<p class=\"meta\">{} run{} · started {} · {} · {} streams · report made {}</p>",
        run.id,
        escape(run.kind.as_str()),
        run.plan_id
            .map_or(String::new(), |p| format!(" of plan {p}")),
        rfc3339(run.started_at),
        match (run.ended_at, &run.outcome) {
            (Some(end), Some(outcome)) => format!(
                "ended {} after {} ({})",
                rfc3339(end),
                super::human_duration(end - run.started_at),
                escape(outcome.as_str())
            ),
            _ => "not finished".to_owned(),
        },
        input.rows.len(),
        rfc3339(input.now),
    );
    if let Some(note) = &input.note {
        let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(note));
    }
    html.push_str("<div class=\"tiles\">\n");
    for phase in Phase::ALL {
        let n = input.rows.iter().filter(|r| r.phase == phase).count();
        if n == 0 && !phase.is_terminal() {
            continue;
        }
        let _ = writeln!(
            html,
            "<div class=\"tile\" style=\"border-color:{}\"><b>{n}</b> {}</div>",
            hex(phase_color(phase)),
            phase.as_str()
        );
    }
    html.push_str("</div>\n</header>\n");
}
