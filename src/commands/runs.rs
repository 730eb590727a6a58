//! `status`, `report` and `history`: read the ledger, never call AWS, never create a ledger.
//! Whether they read one ledger or several (the shards of one rollout, read as one by
//! [`super::merged`]) is decided here, once: [`reading`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::review;
use crate::clock::{SystemClock, rfc3339};
use crate::engine::Phase;
use crate::error::{Exit, UsageError};
use crate::ledger::{Ledger, Reviewed, RunArgs, RunKind, RunRow};
use crate::options::{Global, ReportOptions, RunQuery};
use crate::report::apply::{
    ReportFormat, next_deferred_slot, report_csv, report_json, report_markdown, report_table,
};
use crate::report::producers::{self, StreamRow};
use crate::report::{Output, OutputFormat};

/// What a reading command reads.
enum Reading<'a> {
    /// One ledger.
    One(&'a PathBuf),
    /// `--ledger` given several times: the shards of one rollout, each with its own ledger.
    Shards(&'a [PathBuf]),
}

/// One ledger or several, for `status`, `report` and `history` alike.
fn reading(global: &Global) -> Reading<'_> {
    match global.ledgers.as_slice() {
        [_, _, ..] => Reading::Shards(&global.ledgers),
        _ => Reading::One(&global.ledger),
    }
}

fn open(path: &Path) -> anyhow::Result<Ledger> {
    Ok(Ledger::open_read_only(path, Arc::new(SystemClock))?)
}

/// The run asked for, or the newest apply run.
fn pick(ledger: &Ledger, id: Option<i64>) -> anyhow::Result<RunRow> {
    let runs = ledger.runs()?;
    let found = match id {
        Some(id) => runs.into_iter().find(|r| r.id == id),
        None => runs.into_iter().find(|r| r.carries_out()),
    };
    found.ok_or_else(|| {
        UsageError::new(match id {
            Some(id) => format!("no run {id} in {}", ledger.path().display()),
            None => format!("no apply run in {} yet", ledger.path().display()),
        })
        .into()
    })
}

pub fn status(args: &RunQuery) -> anyhow::Result<Exit> {
    let global = &args.global;
    let ledger = match reading(global) {
        Reading::One(path) => open(path)?,
        Reading::Shards(paths) => return super::merged::status(args, paths),
    };
    let run = pick(&ledger, args.run_id)?;
    let rows = ledger.run_items(run.id)?;
    let holder = ledger.lock_holder()?;
    // A holder whose process is gone holds nothing: the next apply or resume takes over.
    let alive = holder.as_ref().is_some_and(|h| !h.gone(ledger.now()));
    let status = Status {
        next_slot: next_deferred_slot(&rows),
        waves: crate::report::waves::Waves::load(&ledger, run.id)?,
        run,
        rows,
        holder,
        alive,
    };
    global
        .output
        .print("Status", || status.json(), || status.text())?;
    Ok(Exit::Ok)
}

/// A run as `status` shows it: its streams' phases, its waves, the ledger's lock, and what
/// to do next.
struct Status {
    run: RunRow,
    rows: Vec<crate::ledger::RunItemRow>,
    holder: Option<crate::ledger::LockHolder>,
    /// Whether the lock's holder is still running.
    alive: bool,
    next_slot: Option<crate::clock::EpochMillis>,
    waves: crate::report::waves::Waves,
}

impl Status {
    fn count(&self, p: Phase) -> usize {
        self.rows.iter().filter(|r| r.phase == p).count()
    }

    /// The lock's holder while it runs.
    fn running(&self) -> Option<&crate::ledger::LockHolder> {
        self.holder.as_ref().filter(|_| self.alive)
    }

    fn json(&self) -> serde_json::Value {
        let (run, rows) = (&self.run, &self.rows);
        let phases: serde_json::Map<String, serde_json::Value> = Phase::ALL
            .iter()
            .map(|p| (p.as_str().to_owned(), self.count(*p).into()))
            .collect();
        serde_json::json!({
            "run_id": run.id,
            "plan_id": run.plan_id,
            "started_at": rfc3339(run.started_at),
            "ended_at": run.ended_at.map(rfc3339),
            "outcome": run.outcome,
            "streams": rows.len(),
            "phases": phases,
            "lock": self.holder.as_ref().map(|h| serde_json::json!({
                "pid": h.pid, "host": h.host, "run_id": h.run_id,
                "since": rfc3339(h.acquired_at), "heartbeat": rfc3339(h.heartbeat_at),
                "alive": self.alive,
            })),
            "next_deferred_slot": self.next_slot.map(rfc3339),
            "accounts": crate::report::apply::counts_by_account(rows)
                .into_iter()
                .map(|(account, phases)| serde_json::json!({"account": account, "phases": phases}))
                .collect::<Vec<_>>(),
            "waves": self.waves.json(),
        })
    }

    fn text(&self) -> String {
        let run = &self.run;
        let mut lines = vec![format!(
            "Run {} ({}), plan {}, started {}, {}",
            run.id,
            run.kind,
            run.plan_id.map_or("-".into(), |p| p.to_string()),
            rfc3339(run.started_at),
            match (&run.outcome, run.ended_at) {
                (Some(o), Some(t)) => format!("ended {} ({o})", rfc3339(t)),
                _ => "not finished".to_owned(),
            }
        )];
        let parts: Vec<String> = Phase::ALL
            .iter()
            .filter(|p| self.count(**p) > 0)
            .map(|p| format!("{} {}", self.count(*p), p.as_str()))
            .collect();
        lines.push(format!(
            "{} streams: {}",
            self.rows.len(),
            if parts.is_empty() {
                "none".into()
            } else {
                parts.join(", ")
            }
        ));
        lines.extend(self.waves.lines());
        lines.extend(self.accounts_lines());
        lines.push(self.lock_line());
        if let Some(slot) = self.next_slot {
            lines.push(format!("Next deferred slot: {}", rfc3339(slot)));
        }
        lines.extend(self.next_line());
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Several accounts: those with streams still to finish, each with its counts.
    fn accounts_lines(&self) -> Vec<String> {
        let accounts = crate::report::apply::counts_by_account(&self.rows);
        if !crate::report::apply::several(&accounts) {
            return Vec::new();
        }
        let unfinished = |c: &&std::collections::BTreeMap<&str, usize>| {
            c.iter()
                .any(|(p, n)| *n > 0 && Phase::parse(p).is_some_and(|p| !p.is_terminal()))
        };
        let open: Vec<_> = accounts.iter().filter(|(_, c)| unfinished(c)).collect();
        let mut lines = vec![format!(
            "{} accounts, {} in progress",
            accounts.len(),
            open.len()
        )];
        for (account, counts) in open {
            lines.push(format!(
                "  account {account}: {}",
                crate::report::apply::phase_counts(counts)
            ));
        }
        lines
    }

    fn lock_line(&self) -> String {
        match (&self.holder, self.alive) {
            (Some(h), true) => format!(
                "Lock: held by pid {} on {} (run {}), since {}, heartbeat {}",
                h.pid,
                h.host,
                h.run_id.map_or("-".into(), |r| r.to_string()),
                rfc3339(h.acquired_at),
                rfc3339(h.heartbeat_at)
            ),
            (Some(h), false) => format!(
                "Lock: free (left by pid {} on {}, which is no longer running; the next \
                 apply or resume takes it over)",
                h.pid, h.host
            ),
            (None, _) => "Lock: free".to_owned(),
        }
    }

    /// What to do with an unfinished run: follow it, wait for the apply holding the ledger,
    /// or resume it.
    fn next_line(&self) -> Option<String> {
        let id = self.run.id;
        if !self.run.unfinished() {
            return None;
        }
        Some(match self.running() {
            Some(h) if h.run_id == Some(id) => format!(
                "Running now (pid {} on {}): follow it with `{}`",
                h.pid,
                h.host,
                crate::hint::command(&format!("status {id}"))
            ),
            Some(h) => format!(
                "Another apply (pid {} on {}) holds the ledger now: resume this run once \
                 it has finished, with `{}`",
                h.pid,
                h.host,
                crate::hint::command(&format!("resume {id}"))
            ),
            None => format!(
                "Continue with: {}",
                crate::hint::command(&format!("resume {id}"))
            ),
        })
    }
}

pub fn report(args: &ReportOptions) -> anyhow::Result<Exit> {
    let ledger = match reading(&args.global) {
        Reading::One(path) => open(path)?,
        Reading::Shards(paths) => return super::merged::report(args, paths),
    };
    let run = pick(&ledger, args.run_id)?;
    let rows = crate::report::apply::with_accounts(&run, ledger.run_items(run.id)?);
    let output = &args.global.output;
    let mut note = None;
    if run.kind == RunKind::Plan
        && let Some(plan_id) = run.plan_id
    {
        // A plan run's report is its plan's.
        return plan_report(&ledger, &run, plan_id, args);
    }
    if run.kind == RunKind::Plan {
        // A plan run that saved no plan started nothing: there is nothing to show.
        let text = plan_run_note(&run, ledger.runs()?.iter().find(|r| r.carries_out()));
        match args.format {
            ReportFormat::Table if output.query.is_none() => {
                crate::outln!("{text}");
                return Ok(Exit::Ok);
            }
            ReportFormat::Md => {
                crate::outln!("{text}");
                return Ok(Exit::Ok);
            }
            _ => eprintln!("{text}"),
        }
        note = Some(text);
    }
    let producers = match run.plan_id {
        Some(plan) => StreamRow::of_plan(ledger.plan_producers(plan)?),
        None => Vec::new(),
    };
    let waves = crate::report::waves::Waves::load(&ledger, run.id)?;
    let reviewed = reviewed_plan(&ledger, &run)?;
    let extras = Extras {
        plan_line: reviewed.as_ref().zip(run.plan_id).map(|(r, id)| r.line(id)),
        producers,
        waves,
    };
    let document = || {
        let mut doc = report_json(&run, &rows);
        doc["producers"] = producers::json(&extras.producers);
        doc["waves"] = extras.waves.json();
        if let Some(r) = &reviewed {
            doc["plan_hash"] = r.hash.clone().into();
            doc["plan_hash_expected"] = r.expected.into();
            doc["plan_file"] = r.file.clone().into();
        }
        doc
    };
    let as_document = |format: OutputFormat| Output {
        format,
        ..output.clone()
    };
    match args.format {
        ReportFormat::Table => {
            as_document(OutputFormat::Table).print("Report", document, || extras.table(&rows))?
        }
        ReportFormat::Json => {
            as_document(OutputFormat::Json).print("Report", document, String::new)?
        }
        ReportFormat::Text => {
            as_document(OutputFormat::Text).print("Report", document, String::new)?
        }
        ReportFormat::Csv => {
            let cells = extras
                .producers
                .iter()
                .map(|p| (p.seq, producers::cell(&p.found)))
                .collect();
            crate::out!("{}", report_csv(&rows, &cells)?)
        }
        ReportFormat::Md => crate::out!("{}", extras.markdown(&rows)),
        ReportFormat::Html => {
            let mut input =
                crate::report::html::Input::load(&ledger, &run, rows, note.or(extras.plan_line))?;
            input.producers = extras.producers;
            input.waves = extras.waves;
            crate::out!("{}", crate::report::html::page(&input));
        }
    }
    Ok(Exit::Ok)
}

/// What a run's report shows after its streams: its waves, its streams' producers, and the
/// reviewed plan it carried out.
struct Extras {
    producers: Vec<StreamRow>,
    waves: crate::report::waves::Waves,
    plan_line: Option<String>,
}

impl Extras {
    fn table(&self, rows: &[crate::ledger::RunItemRow]) -> String {
        let mut text = report_table(rows);
        if !self.waves.is_empty() {
            text.push_str("\nWaves:\n");
            for line in self.waves.lines() {
                text.push_str(&format!("  {line}\n"));
            }
        }
        if !self.producers.is_empty() {
            text.push_str("\nProducers:\n");
            text.push_str(&producers::table(&self.producers));
        }
        if let Some(line) = &self.plan_line {
            text.push_str(&format!("\n{line}\n"));
        }
        text
    }

    fn markdown(&self, rows: &[crate::ledger::RunItemRow]) -> String {
        let mut text = match &self.plan_line {
            Some(line) => format!("{}\n\n", crate::report::md_text(line)),
            None => String::new(),
        };
        text.push_str(&report_markdown(rows));
        if !self.waves.is_empty() {
            text.push_str("\n## Waves\n\n");
            text.push_str(&self.waves.markdown());
        }
        if !self.producers.is_empty() {
            text.push_str("\n## Producers\n\n");
            text.push_str(&producers::markdown(&self.producers));
        }
        text
    }
}

/// The report of a plan run: the plan it saved, in the format asked for, with what it made and
/// who carried it out said before the terminal report (on stderr beside a document).
fn plan_report(
    ledger: &Ledger,
    run: &RunRow,
    plan_id: i64,
    args: &ReportOptions,
) -> anyhow::Result<Exit> {
    let saved = ledger.load_plan(plan_id)?.ok_or_else(|| {
        UsageError::new(format!(
            "run {} saved plan {plan_id}, which {} does not hold",
            run.id,
            ledger.path().display()
        ))
    })?;
    let (hash, review) = ledger.plan_review(plan_id)?;
    let args_doc = run.arguments();
    let out = match &args_doc {
        RunArgs::Plan { out, .. } => out.clone(),
        _ => None,
    };
    let next = match args_doc.rollback_of() {
        Some(_) => format!("rollback --plan {plan_id}"),
        None => review::apply_command(plan_id, out.as_deref(), hash.as_deref(), review.as_ref()),
    };
    let carried = ledger
        .runs_of_plan(plan_id)?
        .into_iter()
        .filter(|r| r.carries_out())
        .collect::<Vec<_>>();
    let mut note = format!(
        "Run {} is a plan run: it started nothing. It saved plan {plan_id}{}.",
        run.id,
        hash.as_deref()
            .map(|h| format!(" (hash {})", crate::planfile::short(h)))
            .unwrap_or_default()
    );
    match carried.last() {
        Some(apply) => note.push_str(&format!(
            " Run {} carried it out: `{}` has its outcomes.",
            apply.id,
            crate::hint::command(&format!("report {}", apply.id))
        )),
        None => note.push_str(" No run has carried it out yet."),
    }
    let place = review::place_text(review.as_ref()).or_else(|| {
        super::Place::of_run(run).map(|p| match p.account {
            Some(a) => format!("{} as account {a}", p.endpoint),
            None => p.endpoint,
        })
    });
    let shown = review::Shown::new(
        saved,
        hash,
        review,
        ledger.plan_producer_check(plan_id)?,
        Some(next),
        review::report_command(run.id, ledger.path()),
    );
    let mut context = shown.context();
    context.place = place;
    match args.format {
        ReportFormat::Table if args.global.output.query.is_none() => {
            context.note = format!("{note}\n\n");
        }
        ReportFormat::Md | ReportFormat::Html => {}
        _ => eprintln!("{note}"),
    }
    let view = shown.view();
    review::print(
        args.format,
        &args.global.output,
        &view,
        context,
        args.global.color,
    )?;
    Ok(Exit::Ok)
}

/// The reviewed plan a run carried out: its hash and how it was checked, as the run recorded
/// them, else the hash its plan has in the ledger.
fn reviewed_plan(ledger: &Ledger, run: &RunRow) -> anyhow::Result<Option<Reviewed>> {
    if let Some(r) = run.arguments().reviewed() {
        return Ok(Some(r.clone()));
    }
    let Some(plan_id) = run.plan_id else {
        return Ok(None);
    };
    Ok(ledger.plan_review(plan_id)?.0.map(|hash| Reviewed {
        hash,
        expected: false,
        file: None,
    }))
}

/// What `report` says of a plan run: what it made, and where outcomes are.
fn plan_run_note(run: &RunRow, newest_apply: Option<&RunRow>) -> String {
    let mut note = format!(
        "Run {} is a plan run: it started nothing, so it has no outcomes.",
        run.id
    );
    match run.plan_id {
        Some(plan) => note.push_str(&format!(
            " It saved plan {plan}; `{}` shows that plan and asks before carrying it out.",
            crate::hint::command(&format!("apply --plan {plan}"))
        )),
        None => note.push_str(" It saved no plan (it did not finish)."),
    }
    match newest_apply {
        Some(apply) => note.push_str(&format!(
            " Outcomes are in the report of an apply run: `{}` (the newest).",
            crate::hint::command(&format!("report {}", apply.id))
        )),
        None => note.push_str(" No apply run is recorded yet."),
    }
    note
}

/// `history`: every run of the ledger, newest last; with `--ledger` given several times, every
/// run of each, named with its ledger.
pub fn history(global: &Global) -> anyhow::Result<Exit> {
    let (paths, merged) = match reading(global) {
        Reading::One(path) => (std::slice::from_ref(path), false),
        Reading::Shards(paths) => (paths, true),
    };
    let mut runs: Vec<(Option<String>, RunRow, Option<Reviewed>)> = Vec::new();
    for path in paths {
        let name = merged.then(|| path.display().to_string());
        let ledger = open(path)?;
        for r in ledger.runs()? {
            let reviewed = reviewed_plan(&ledger, &r)?;
            runs.push((name.clone(), r, reviewed));
        }
    }
    let document = || {
        let out: Vec<_> = runs
            .iter()
            .map(|(ledger, r, reviewed)| {
                let mut doc = serde_json::Map::new();
                if let Some(ledger) = ledger {
                    doc.insert("ledger".into(), ledger.as_str().into());
                }
                let run = serde_json::json!({
                    "run_id": r.id, "kind": r.kind, "plan_id": r.plan_id,
                    "rollback_of": r.rollback_of(),
                    "started_at": rfc3339(r.started_at), "ended_at": r.ended_at.map(rfc3339),
                    "outcome": r.outcome, "args": serde_json::from_str::<serde_json::Value>(&r.args).unwrap_or_default(),
                });
                if let serde_json::Value::Object(run) = run {
                    doc.extend(run);
                }
                doc.insert(
                    "plan_hash".into(),
                    reviewed.as_ref().map(|p| p.hash.clone()).into(),
                );
                doc.insert(
                    "plan_hash_expected".into(),
                    reviewed.as_ref().is_some_and(|p| p.expected).into(),
                );
                serde_json::Value::Object(doc)
            })
            .collect();
        serde_json::Value::from(out)
    };
    let human = || {
        let columns = [
            "run id",
            "kind",
            "plan id",
            "plan hash",
            "started",
            "ended",
            "outcome",
        ];
        let mut table = crate::report::table(merged.then_some("ledger").into_iter().chain(columns));
        for (ledger, r, reviewed) in &runs {
            // A rollback run, or the plan of a rollback's dry run.
            let kind = match (r.rollback_of(), &r.kind) {
                (Some(of), RunKind::Rollback) => format!("rollback of run {of}"),
                (Some(of), _) => format!("{}: rollback of run {of}", r.kind),
                (None, _) => r.kind.to_string(),
            };
            let cells = [
                r.id.to_string(),
                kind,
                r.plan_id.map_or("-".into(), |p| p.to_string()),
                match reviewed {
                    Some(p) if p.expected => {
                        format!("{} (expected)", crate::planfile::short(&p.hash))
                    }
                    Some(p) => crate::planfile::short(&p.hash).to_owned(),
                    None => "-".into(),
                },
                rfc3339(r.started_at),
                r.ended_at.map_or("-".into(), rfc3339),
                r.outcome
                    .as_ref()
                    .map_or_else(|| "running or interrupted".into(), ToString::to_string),
            ];
            table.add_row(ledger.iter().cloned().chain(cells).collect::<Vec<_>>());
        }
        format!("{}\n", table.trim_fmt())
    };
    global.output.print("History", document, human)?;
    Ok(Exit::Ok)
}
