//! The dry-run plan report, like `terraform plan`: one line per stream with its symbol, current
//! and target key and budget used, then the summary, the per-key table, warnings and the
//! estimated apply time. Also its JSON form.

use console::Style;
use serde_json::{Value, json};

use crate::clock::{EpochMillis, rfc3339};
use crate::model::{KeyChoice, SourceEncryption};
use crate::plan::{Action, Current, Item, KeyLine, Pace, Reason, Settings, Summary};
use crate::producers::{CheckSummary, StreamProducers};
use crate::report::{human_duration, short_key, table};

/// Everything the plan report shows.
#[derive(Debug, Clone)]
pub struct PlanView<'a> {
    pub plan_id: i64,
    pub items: &'a [Item],
    pub keys: Vec<KeyLine>,
    pub settings: Settings,
    pub warnings: Vec<String>,
    pub estimated_ms: EpochMillis,
    pub pace: Pace,
    /// Throttles met while observing.
    pub throttles: u32,
    /// The command that carries the plan out, without the program (`apply --plan 3`), shown
    /// after a `plan` (not while `apply` asks): on a terminal as it can be run from here
    /// ([`crate::hint::command`]), in a report for review as `firehose-sse …`, for whoever
    /// carries it out elsewhere.
    pub next: Option<String>,
    /// What the producer check did (`None`: no stream moves to a customer key).
    pub producer_check: Option<CheckSummary>,
    /// The waves an apply with `--waves` would take, and its estimated wall with the bakes.
    pub waves: Option<(Vec<crate::waves::PlannedWave>, EpochMillis)>,
    /// The plan's hash (`crate::planfile`), when recorded.
    pub hash: Option<String>,
}

fn key_json(key: Option<&KeyChoice>) -> (Value, Value) {
    match key {
        None => (Value::Null, Value::Null),
        Some(k) => (
            json!(k.key_type().as_str()),
            json!(k.key_arn().map(|a| a.as_str())),
        ),
    }
}

/// One item as JSON (shared by the plan and run reports).
pub fn item_json(item: &Item) -> Value {
    let current = item.current.as_ref().map(|c| {
        let (key_type, key_arn) = key_json(c.key.as_ref());
        let mut current = json!({
            "stream_status": c.stream_status.as_str(),
            "status": c.status.as_str(),
            "key_type": key_type,
            "key_arn": key_arn,
        });
        if let Some(arn) = &c.source_arn {
            // Where a non-DirectPut stream's encryption belongs, and how it stands there.
            let mut source = json!({"arn": arn});
            if let Some(enc) = &c.source_encryption {
                source["stream"] = json!(crate::model::kinesis_stream_name(arn));
                source["encryption"] = json!(enc.kind());
                match enc {
                    SourceEncryption::Kms { key_id } => source["key_id"] = json!(key_id),
                    SourceEncryption::Unreadable { why } => source["why"] = json!(why),
                    SourceEncryption::None => {}
                }
            }
            current["source"] = source;
        }
        current
    });
    let (target_type, target_arn) = key_json(Some(&item.target.key));
    json!({
        "stream": item.target.name,
        "region": item.target.region,
        "account": item.account(),
        "line": item.target.line,
        "action": item.action.as_str(),
        "reason": item.reason.map(|r| r.as_str()),
        "next_slot": item.next_slot.map(rfc3339),
        "current": current,
        "target": {"key_type": target_type, "key_arn": target_arn},
        "budget_used": item.budget_used,
        "producers": item.producers,
        "owner": item.owner.as_ref().map(|o| o.json(&item.target.key)),
    })
}

pub fn json(view: &PlanView<'_>) -> Value {
    json!({
        "plan_id": view.plan_id,
        "hash": view.hash,
        "summary": Summary::of(view.items),
        "accounts": Summary::by_account(view.items)
            .into_iter()
            .map(|(account, summary)| json!({"account": account, "summary": summary}))
            .collect::<Vec<_>>(),
        // Streams not at their target (every action but noop): what a drift check pages on.
        "changes": view.items.iter().filter(|i| i.action.is_change()).count(),
        "items": view.items.iter().map(item_json).collect::<Vec<_>>(),
        "keys": view.keys,
        "warnings": view.warnings,
        "estimated_seconds": (view.estimated_ms as f64 / 1000.0).ceil() as u64,
        "settings": {
            "reserve": view.settings.reserve,
            "stream_budget": view.settings.stream_budget,
            "cmk_limit": view.settings.cmk_limit,
            "start_tps": view.pace.start_tps,
            "describe_tps": view.pace.describe_tps,
        },
        "throttles": view.throttles,
        "producer_check": view.producer_check,
        "waves": view.waves.as_ref().map(|(waves, _)| waves),
        "estimated_seconds_with_waves": view
            .waves
            .as_ref()
            .map(|(_, total)| (*total as f64 / 1000.0).ceil() as u64),
    })
}

fn style(action: Action, color: bool) -> Style {
    let s = Style::new().force_styling(color);
    match action {
        Action::Enable => s.green(),
        Action::Rekey | Action::Restore => s.yellow(),
        // Terraform's destroy colour: encryption goes off.
        Action::Disable => s.red(),
        Action::Noop => s.dim(),
        // Red is Terraform's colour for destroy: a skip is a warning, not a loss.
        Action::Skip => s.yellow().dim(),
        Action::Defer => s.cyan(),
    }
}

/// A laid-out row with its leading symbol coloured for `action`.
fn color_symbol(line: &str, action: Action, color: bool) -> String {
    let symbol = action.symbol();
    let text = line.trim_start();
    match text.strip_prefix(symbol) {
        Some(rest) if color => {
            let pad = &line[..line.len() - text.len()];
            format!("{pad}{}{rest}", style(action, color).apply_to(symbol))
        }
        _ => line.to_owned(),
    }
}

/// The summary: `12 to enable, 3 to rekey, 2 unchanged, 2 skipped, 1 deferred.`
pub fn summary_line(s: &Summary) -> String {
    // Encryption off and restores show only where a plan has some (a rollback's, mostly).
    let mut off = String::new();
    if s.disable > 0 {
        off.push_str(&format!("{} to disable, ", s.disable));
    }
    if s.restore > 0 {
        off.push_str(&format!("{} to restore, ", s.restore));
    }
    format!(
        "{} to enable, {} to rekey, {off}{} unchanged, {} skipped, {} deferred.",
        s.enable, s.rekey, s.noop, s.skip, s.defer
    )
}

pub fn table_text(view: &PlanView<'_>, color: bool) -> String {
    let mut out = streams_text(view, color);
    keys_text(&mut out, view);
    if !view.warnings.is_empty() {
        out.push_str("\nWarnings:\n");
        for w in &view.warnings {
            out.push_str(&format!("  - {w}\n"));
        }
    }
    out.push_str(&fixes_text(
        view.items.iter().filter_map(|i| i.producers.as_deref()),
    ));
    waves_text(&mut out, view);
    out.push('\n');
    estimate_text(&mut out, view);
    let hash = match &view.hash {
        Some(h) => format!(" (hash {})", crate::planfile::short(h)),
        None => String::new(),
    };
    match &view.next {
        Some(command) => out.push_str(&format!(
            "Saved as plan {}{hash}. Carry it out with: {}\n",
            view.plan_id,
            crate::hint::command(command)
        )),
        None => out.push_str(&format!("Plan {}{hash}.\n", view.plan_id)),
    }
    out
}

/// Every stream's line, and the summary (by account when there are several).
fn streams_text(view: &PlanView<'_>, color: bool) -> String {
    let mut out = String::new();
    let n = view.items.len();
    out.push_str(&format!(
        "firehose-sse will take these actions ({n} stream{}):\n\n",
        if n == 1 { "" } else { "s" }
    ));
    let accounts = Summary::by_account(view.items);
    // Several accounts: each line says whose stream it is (names repeat across accounts).
    let several = accounts.len() > 1;
    let mut header = vec![
        "", "region", "stream", "current", "", "target", "budget", "note",
    ];
    if several {
        header.insert(1, "account");
    }
    let mut lines = table(header);
    for item in view.items {
        let current_key = current_key(item);
        let note = item_note(item);
        let mut row = vec![
            // Plain here: the table measures its widths on what it is given, and colour codes
            // would count. The symbol is coloured once the lines are laid out.
            item.action.symbol().to_string(),
            item.target.region.to_string(),
            item.target.name.clone(),
            current_key,
            "→".to_owned(),
            short_key(Some(&item.target.key)),
            format!("{}/{}", item.budget_used, view.settings.stream_budget),
            note,
        ];
        if several {
            let own = crate::plan::own_account(view.items);
            row.insert(1, item.target.account.as_deref().unwrap_or(own).to_owned());
        }
        lines.add_row(row);
    }
    for (line, item) in lines.lines().skip(1).zip(view.items) {
        out.push_str(&color_symbol(line.trim_end(), item.action, color));
        out.push('\n');
    }
    out.push('\n');
    out.push_str("Plan: ");
    out.push_str(&summary_line(&Summary::of(view.items)));
    out.push('\n');
    if several {
        out.push_str(&format!("\nBy account ({}):\n", accounts.len()));
        for (account, summary) in &accounts {
            out.push_str(&format!("  {account}: {}\n", summary_line(summary)));
        }
    }
    out
}

/// The customer-managed keys: streams now → after the plan, against their limit.
fn keys_text(out: &mut String, view: &PlanView<'_>) {
    if !view.keys.is_empty() {
        let checked = view
            .producer_check
            .as_ref()
            .is_some_and(|c| c.skipped.is_none());
        out.push_str("\nCustomer-managed keys (streams now → after the plan, limit");
        out.push_str(if checked {
            "; producers of the planned streams allowed/denied/unknown):\n"
        } else {
            "):\n"
        });
        let mut header = vec!["key", "now", "after", "limit"];
        if checked {
            header.push("producers");
        }
        let mut keys = table(header);
        for k in &view.keys {
            let mut row = vec![
                k.key_arn.clone(),
                k.streams_now.to_string(),
                k.streams_after.to_string(),
                k.limit.to_string(),
            ];
            if checked {
                row.push(match &k.producers {
                    Some(c) => format!("{}/{}/{}", c.allowed, c.denied, c.unknown),
                    None => "-".into(),
                });
            }
            keys.add_row(row);
        }
        for line in keys.lines() {
            out.push_str(&format!("  {}\n", line.trim_end()));
        }
    }
}

/// The waves an apply with `--waves` would take, with the rollout's wall.
fn waves_text(out: &mut String, view: &PlanView<'_>) {
    if let Some((waves, total)) = &view.waves {
        out.push_str(&format!("\nWaves ({}):\n", waves.len()));
        for w in waves {
            let places: Vec<String> = w
                .by_place
                .iter()
                .map(|(place, n)| format!("{place}: {n}"))
                .collect();
            out.push_str(&format!(
                "  {}. {} stream(s), {} to change, ~{} ({})\n",
                w.wave,
                w.streams,
                w.changes,
                human_duration(w.estimated_ms),
                places.join(", ")
            ));
        }
        out.push_str(&format!(
            "  With the bakes, the rollout takes about {}.\n",
            human_duration(*total)
        ));
    }
}

/// The calls a plan's streams need, as its estimate names them: a rollback to no encryption
/// sends Stops, paced as Starts are.
pub fn calls_sent(items: &[Item]) -> &'static str {
    let stops = items.iter().any(|i| i.action == Action::Disable);
    let starts = items
        .iter()
        .any(|i| i.action.starts() && i.action != Action::Disable);
    match (starts, stops) {
        (false, true) => "Stops",
        (true, true) => "Starts or Stops",
        _ => "Starts",
    }
}

/// How long apply would take, throttles met while observing, and the producer check's line.
fn estimate_text(out: &mut String, view: &PlanView<'_>) {
    if view.estimated_ms > 0 {
        let calls = calls_sent(view.items);
        out.push_str(&format!(
            "Estimated apply time: {} ({} {calls}/s and {} Describes/s per region, regions in parallel).\n",
            human_duration(view.estimated_ms),
            view.pace.start_tps,
            view.pace.describe_tps,
        ));
    } else {
        out.push_str("Nothing to start: apply would only confirm and record.\n");
    }
    if view.throttles > 0 {
        out.push_str(&format!(
            "Throttled {} time(s) while observing.\n",
            view.throttles
        ));
    }
    if let Some(check) = &view.producer_check {
        out.push_str(&check_line(check));
        out.push('\n');
    }
}

/// A stream's current key and encryption status, as its line shows them.
pub fn current_key(item: &Item) -> String {
    match item.current.as_ref() {
        None => "-".to_owned(),
        Some(c) => format!("{} ({})", short_key(c.key.as_ref()), c.status),
    }
}

/// What a stream's line says of it: its reason explained, or what the producer check found.
pub fn item_note(item: &Item) -> String {
    let current = item.current.as_ref();
    let note = match (item.action, item.reason) {
        (Action::Defer, _) => format!(
            "deferred: budget; next slot {}",
            item.next_slot
                .map(rfc3339)
                .unwrap_or_else(|| "never (reserve covers the budget)".into())
        ),
        (_, Some(Reason::NotDirectPut)) => not_direct_put(current),
        (_, Some(Reason::IacOwned)) => match &item.owner {
            Some(owner) => format!("iac_owned: {}", owner.note(&item.target.key)),
            None => format!("iac_owned: {}", Reason::IacOwned.explain()),
        },
        (_, Some(Reason::ProducersDenied)) => match &item.producers {
            Some(p) => format!("producers_denied: {}", p.denied_line()),
            None => format!("producers_denied: {}", Reason::ProducersDenied.explain()),
        },
        (_, Some(reason)) => format!("{reason}: {}", reason.explain()),
        // Observed at its target; unobserved, a stream a rolled-back run did not change.
        (Action::Noop, None) if current.is_some() => "already at target".to_owned(),
        (Action::Noop, None) => "not changed by the run: nothing to undo".to_owned(),
        _ => item
            .producers
            .as_deref()
            .map(producer_note)
            .unwrap_or_default(),
    };
    // A stream code owns, about to be changed: say who owns it and what its next deploy does.
    match (&item.owner, item.action.starts()) {
        (Some(owner), true) if note.is_empty() => owner.note(&item.target.key),
        (Some(owner), true) => format!("{note}; {}", owner.note(&item.target.key)),
        _ => note,
    }
}

/// The statements that would let each refused producer use its key, for a terminal; empty when
/// none is refused.
pub fn fixes_text<'a>(found: impl IntoIterator<Item = &'a StreamProducers>) -> String {
    let fixes = crate::producers::fix::fixes(found);
    if fixes.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nTo let the refused producers use their keys, add (firehose-sse applies nothing; \
         --out-policies DIR writes these as files):\n",
    );
    for fix in &fixes {
        out.push_str(&fix.text());
    }
    out
}

/// What the producer check did, in one line.
pub fn check_line(check: &CheckSummary) -> String {
    if let Some(why) = &check.skipped {
        return format!(
            "Producer check: SKIPPED ({why}) for {} stream(s) moving to a customer-managed key.",
            check.streams
        );
    }
    let reused = match check.reused {
        0 => String::new(),
        n => format!(" ({n} read from the ledger's recent pass)"),
    };
    let throttles = match check.throttles {
        0 => String::new(),
        n => format!(", {n} throttle(s)"),
    };
    format!(
        "Producer check: {} stream(s), {} principal(s) in {} account(s){reused}, {} may write to \
         them; {} IAM and {} KMS call(s){throttles}.",
        check.streams,
        check.principals,
        check.accounts,
        check.candidates,
        check.iam_calls,
        check.kms_calls
    )
}

/// The note of a stream that moves to a customer key: its producers at risk, if any.
fn producer_note(p: &StreamProducers) -> String {
    if p.any_denied() {
        return format!("⚠ producers would be refused: {}", p.denied_line());
    }
    if let Some(why) = &p.unread {
        return format!("⚠ producers unknown: {why}");
    }
    let unknown: Vec<String> = p
        .producers
        .iter()
        .filter(|x| matches!(x.verdict, crate::producers::Verdict::Unknown { .. }))
        .map(|x| x.short())
        .collect();
    match (unknown.len(), p.producers.len()) {
        (0, 0) => String::new(),
        (0, n) => format!("{n} producer(s) may use the key"),
        (_, _) => format!("⚠ producer verdict unknown: {}", unknown.join(", ")),
    }
}

/// A stream fed by another service cannot be encrypted by Start: say where encryption belongs,
/// and — for a Kinesis source that was read — how it stands there: `not_direct_put (source
/// orders-raw: KMS, key …)`, `(source orders-raw: NOT encrypted)`, or why it cannot be read.
fn not_direct_put(current: Option<&Current>) -> String {
    let reason = Reason::NotDirectPut;
    let source =
        current.and_then(|c| Some((c.source_arn.as_deref()?, c.source_encryption.as_ref()?)));
    if let Some((arn, enc)) = source {
        let name = crate::model::kinesis_stream_name(arn).unwrap_or(arn);
        let what = enc.describe();
        return match enc {
            SourceEncryption::Kms { .. } => format!(
                "{reason} (source {name}: {what}): reads from {arn}, whose server-side \
                 encryption protects the data"
            ),
            _ => format!(
                "{reason} (source {name}: {what}): reads from {arn}; encrypt that Kinesis stream \
                 instead (Kinesis server-side encryption, which Firehose keeps when it reads)"
            ),
        };
    }
    match current.and_then(|c| c.source_arn.as_deref()) {
        Some(arn) if arn.contains(":kinesis:") => format!(
            "{reason}: reads from {arn}; encrypt that Kinesis stream instead (Kinesis server-side \
             encryption, which Firehose keeps when it reads)"
        ),
        Some(arn) => format!(
            "{reason}: reads from {arn}; encryption belongs to that source, not to this stream"
        ),
        None => format!("{reason}: {}", reason.explain()),
    }
}

#[cfg(test)]
mod tests;
