//! A plan for review, as `plan`, `report PLAN_RUN` and `show FILE` print it and `plan --out`
//! writes it: its hash and review recorded with the plan ([`record`]), the plan's report in
//! every format ([`print`]), the command that carries it out with its hash checked
//! ([`apply_command`]).

use std::path::Path;

use super::Place;
use crate::clock::EpochMillis;
use crate::ledger::{Ledger, PlanReview, SavedPlan};
use crate::plan::{Item, Pace};
use crate::planfile::Document;
use crate::producers::CheckSummary;
use crate::report::apply::ReportFormat;
use crate::report::plan::{PlanView, json, table_text};
use crate::report::plan_review::{Review, csv, markdown};
use crate::report::{Output, OutputFormat};

/// Records a saved plan's review and hash (the hash of its plan document) and returns the
/// document, ready to be written as a plan file.
pub fn record(
    ledger: &Ledger,
    plan_id: i64,
    review: PlanReview,
    producer_check: Option<CheckSummary>,
) -> anyhow::Result<Document> {
    let saved = ledger
        .load_plan(plan_id)?
        .ok_or_else(|| anyhow::anyhow!("plan {plan_id} was saved but cannot be read back"))?;
    let streams: Vec<_> = saved
        .items
        .iter()
        .filter_map(|i| i.stream.clone())
        .collect();
    let mut keys: Vec<String> = review.keys.iter().map(|k| k.key_arn.clone()).collect();
    keys.extend(
        saved
            .items
            .iter()
            .filter_map(|i| i.target.key.key_arn().map(|a| a.as_str().to_owned())),
    );
    let facts = ledger.plan_facts(&streams, &keys, ledger.now())?;
    let document = Document::new(&saved, producer_check, review.clone(), facts);
    ledger.set_plan_review(plan_id, &document.hash(), &review)?;
    Ok(document)
}

/// The command that carries a plan out (without the program, as [`PlanView::next`] holds it),
/// its hash checked: the plan file when there is one, else the saved plan; on an in-process
/// sandbox when it was made on one; in its waves.
pub fn apply_command(
    plan_id: i64,
    file: Option<&str>,
    hash: Option<&str>,
    review: Option<&PlanReview>,
) -> String {
    let mut command = match file {
        Some(file) => format!("apply {}", shell_word(file)),
        None => format!("apply --plan {plan_id}"),
    };
    let place: Option<Place> = review.and_then(|r| serde_json::from_value(r.place.clone()).ok());
    if place.is_some_and(|p| p.endpoint == super::session::IN_PROCESS_SANDBOX) {
        command.push_str(" --sandbox");
    }
    if let Some(waves) = review.and_then(|r| r.waves.as_ref()) {
        command.push(' ');
        command.push_str(&waves.flags());
    }
    if let Some(hash) = hash {
        command.push_str(&format!(" --expect-plan-hash {hash}"));
    }
    command
}

/// `firehose-sse report RUN`, naming the ledger unless it is the default one.
pub fn report_command(run_id: i64, ledger: &Path) -> String {
    match ledger == Path::new("firehose-sse.db") {
        true => format!("firehose-sse report {run_id}"),
        false => format!(
            "firehose-sse report {run_id} --ledger {}",
            shell_word(&ledger.display().to_string())
        ),
    }
}

/// A path as one shell word: as it is when it needs no quoting, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,%".contains(c));
    match plain && !text.is_empty() {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
}

/// Where a plan's calls went, for people: the endpoint, and the account when known.
pub fn place_text(review: Option<&PlanReview>) -> Option<String> {
    let place: Place = serde_json::from_value(review?.place.clone()).ok()?;
    Some(match place.account {
        Some(account) => format!("{} as account {account}", place.endpoint),
        None => place.endpoint,
    })
}

/// The rates a review records (the defaults when none was recorded).
pub fn pace(review: Option<&PlanReview>) -> Pace {
    match review {
        Some(r) => Pace {
            start_tps: r.start_tps,
            describe_tps: r.describe_tps,
        },
        None => Pace {
            start_tps: 5.0,
            describe_tps: 5.0,
        },
    }
}

/// A saved plan's report: its items, with what its review recorded.
#[derive(Debug)]
pub struct Shown {
    pub saved: SavedPlan,
    pub hash: Option<String>,
    pub review: Option<PlanReview>,
    pub producer_check: Option<CheckSummary>,
    /// The command that carries it out.
    pub next: Option<String>,
    /// The command that prints its JSON document.
    pub source: String,
}

impl Shown {
    /// A saved plan's report. The ledger keeps each stream's account, not whether its fleet
    /// row named one: rows of the credentials' own account (the plan's place) read as rows
    /// that named none, as when the plan was made.
    pub fn new(
        mut saved: SavedPlan,
        hash: Option<String>,
        review: Option<PlanReview>,
        producer_check: Option<CheckSummary>,
        next: Option<String>,
        source: String,
    ) -> Shown {
        let own = review
            .as_ref()
            .and_then(|r| serde_json::from_value::<Place>(r.place.clone()).ok())
            .and_then(|p| p.account);
        if let Some(own) = own {
            for item in &mut saved.items {
                if item.target.account.as_deref() == Some(own.as_str()) {
                    item.target.account = None;
                }
            }
        }
        Shown {
            saved,
            hash,
            review,
            producer_check,
            next,
            source,
        }
    }

    /// The view the report draws.
    pub fn view(&self) -> PlanView<'_> {
        let pace = pace(self.review.as_ref());
        let items: &[Item] = &self.saved.items;
        PlanView {
            plan_id: self.saved.id,
            items,
            keys: self
                .review
                .as_ref()
                .map(|r| r.keys.clone())
                .unwrap_or_default(),
            settings: self.saved.settings,
            warnings: self
                .review
                .as_ref()
                .map(|r| r.warnings.clone())
                .unwrap_or_default(),
            estimated_ms: self.saved.estimated_ms,
            pace,
            throttles: self.review.as_ref().map_or(0, |r| r.throttles),
            next: self.next.clone(),
            producer_check: self.producer_check.clone(),
            waves: self
                .review
                .as_ref()
                .and_then(|r| r.waves.as_ref())
                .map(|w| crate::waves::planned(items, w, pace)),
            hash: self.hash.clone(),
        }
    }
}

/// Prints a plan in `format`: the terminal report, its JSON document (through `--query`), the
/// AWS CLI's text of it, CSV, Markdown for a review, or a page.
pub fn print(
    format: ReportFormat,
    output: &Output,
    view: &PlanView<'_>,
    context: Context<'_>,
    color: bool,
) -> anyhow::Result<()> {
    let as_document = |format: OutputFormat| Output {
        format,
        ..output.clone()
    };
    let review = || Review {
        view,
        made_at: context.made_at,
        observed_at: context.observed_at,
        fleet: context.fleet.map(|f| {
            Path::new(f)
                .file_name()
                .map_or(f.to_owned(), |n| n.to_string_lossy().into_owned())
        }),
        place: context.place.clone(),
        source: context.source.to_owned(),
    };
    match format {
        ReportFormat::Table => as_document(OutputFormat::Table).print(
            "Plan",
            || json(view),
            || format!("{}{}", context.note, table_text(view, color)),
        )?,
        ReportFormat::Json => {
            as_document(OutputFormat::Json).print("Plan", || json(view), String::new)?
        }
        ReportFormat::Text => {
            as_document(OutputFormat::Text).print("Plan", || json(view), String::new)?
        }
        ReportFormat::Csv => crate::out!("{}", csv(view)?),
        ReportFormat::Md => crate::out!("{}", markdown(&review())),
        ReportFormat::Html => crate::out!("{}", crate::report::html::plan::page(&review())),
    }
    Ok(())
}

/// What a plan's review says of where it comes from, beside its view.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub made_at: Option<EpochMillis>,
    pub observed_at: Option<EpochMillis>,
    pub fleet: Option<&'a str>,
    pub place: Option<String>,
    /// The command that prints the plan's JSON document.
    pub source: &'a str,
    /// Said before the terminal report (a plan run's note).
    pub note: String,
}

impl Shown {
    /// The context of its report.
    pub fn context(&self) -> Context<'_> {
        Context {
            made_at: Some(self.saved.created_at),
            observed_at: Some(self.saved.observed_at),
            fleet: Some(&self.saved.fleet),
            place: place_text(self.review.as_ref()),
            source: &self.source,
            note: String::new(),
        }
    }
}
