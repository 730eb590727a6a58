//! `audit`'s report: every stream already on a customer-managed key, its producers and their
//! verdicts, the enforcement date, the fixes — as text, JSON, CSV, Markdown or a self-contained
//! HTML page.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::escape;
use super::plan::{check_line, fixes_text};
use super::producers::{self, StreamRow};
use std::collections::BTreeMap;

use crate::clock::{EpochMillis, rfc3339};
use crate::iac::Owner;
use crate::model::{SourceEncryption, StreamId};
use crate::producers::{CheckSummary, ENFORCED_FROM};

/// What `audit` found.
#[derive(Debug)]
pub struct Audit {
    pub regions: Vec<String>,
    /// Streams listed in the scope, on a customer key or not.
    pub listed: usize,
    pub rows: Vec<StreamRow>,
    pub check: Option<CheckSummary>,
    /// Accounts not audited, with why.
    pub unreachable: Vec<(String, String)>,
    pub made_at: EpochMillis,
    /// Where the other streams' encryption stands: Kinesis sources and the code that owns
    /// streams.
    pub elsewhere: Elsewhere,
}

/// The streams whose encryption is decided elsewhere than by a Start: those reading from a
/// Kinesis stream (and how it is encrypted), and those a CloudFormation stack or Terraform owns.
#[derive(Debug, Default)]
pub struct Elsewhere {
    /// (stream, its source ARN, the source's encryption).
    pub sources: Vec<(StreamId, String, SourceEncryption)>,
    /// (stream, its owner).
    pub owned: Vec<(StreamId, Owner)>,
    /// What could not be found out (owners of an account and Region unknown, ...).
    pub notes: Vec<String>,
}

impl Elsewhere {
    /// Kinesis sources per encryption (`KMS`, `NONE`, `unreadable`).
    pub fn source_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for (_, _, enc) in &self.sources {
            *counts.entry(enc.kind()).or_default() += 1;
        }
        counts
    }

    pub fn json(&self) -> Value {
        let mut by_owner: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, owner) in &self.owned {
            let kind = match owner {
                Owner::Stack { .. } => "cloudformation",
                Owner::Terraform { .. } => "terraform",
            };
            *by_owner.entry(kind).or_default() += 1;
        }
        json!({
            "kinesis_sources": self.source_counts(),
            "sources": self.sources.iter().map(|(id, arn, enc)| {
                let mut v = json!({"account": id.account, "region": id.region, "stream": id.name,
                    "source": arn, "encryption": enc.kind()});
                match enc {
                    SourceEncryption::Kms { key_id } => v["key_id"] = json!(key_id),
                    SourceEncryption::Unreadable { why } => v["why"] = json!(why),
                    SourceEncryption::None => {}
                }
                v
            }).collect::<Vec<_>>(),
            "owned_by": by_owner,
            "owned": self.owned.iter().map(|(id, owner)| {
                let mut v = owner.json(&crate::model::KeyChoice::Off);
                if let Some(m) = v.as_object_mut() {
                    m.remove("next_deploy");
                    m.remove("reverts_to");
                }
                json!({"account": id.account, "region": id.region, "stream": id.name, "owner": v})
            }).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }

    /// `Kinesis sources: …` and `Owned by code: …` lines, each stream under its count.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.sources.is_empty() {
            let counts: Vec<String> = self
                .source_counts()
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            let _ = writeln!(
                out,
                "Streams reading from a Kinesis stream ({}; encryption belongs on the source): {}",
                self.sources.len(),
                counts.join(", ")
            );
            for (id, arn, enc) in &self.sources {
                let name = crate::model::kinesis_stream_name(arn).unwrap_or(arn);
                let _ = writeln!(out, "  {} (source {name}: {})", id.name, enc.describe());
            }
        }
        if !self.owned.is_empty() {
            let _ = writeln!(
                out,
                "Streams code owns ({}; change their encryption in the code):",
                self.owned.len()
            );
            for (id, owner) in &self.owned {
                let _ = writeln!(out, "  {}: owned by {}", id.name, owner.label());
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        out
    }
}

impl Audit {
    /// Whether any producer would be refused.
    pub fn any_denied(&self) -> bool {
        self.rows.iter().any(|r| r.found.any_denied())
    }

    fn heading(&self) -> String {
        format!(
            "{} of the {} stream(s) listed in {} are on a customer-managed key. AWS refuses their \
             producers every record without kms:GenerateDataKey and kms:Decrypt on the key, for \
             streams on a customer key before 2026-04-20 from {ENFORCED_FROM}.",
            self.rows.len(),
            self.listed,
            self.regions.join(", ")
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "enforced_from": ENFORCED_FROM,
            "regions": self.regions,
            "streams_listed": self.listed,
            "streams_on_customer_keys": self.rows.len(),
            "producers": producers::counts(&self.rows),
            "streams": producers::json(&self.rows),
            "producer_check": self.check,
            "unreachable": self.unreachable
                .iter()
                .map(|(account, why)| json!({"account": account, "why": why}))
                .collect::<Vec<_>>(),
            "made_at": rfc3339(self.made_at),
            "elsewhere": self.elsewhere.json(),
        })
    }

    fn unreachable_lines(&self) -> String {
        let mut out = String::new();
        for (account, why) in &self.unreachable {
            let _ = writeln!(out, "account {account} was not audited: {why}");
        }
        out
    }

    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.heading());
        if !self.rows.is_empty() {
            out.push_str(&producers::table(&self.rows));
        }
        out.push_str(&fixes_text(self.rows.iter().map(|r| &r.found)));
        let elsewhere = self.elsewhere.text();
        if !elsewhere.is_empty() {
            out.push('\n');
            out.push_str(&elsewhere);
        }
        out.push_str(&self.unreachable_lines());
        if let Some(check) = &self.check {
            out.push('\n');
            out.push_str(&check_line(check));
            out.push('\n');
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# Producer audit\n\n{}\n\n",
            producers::md_cell(&self.heading())
        );
        out.push_str(&producers::markdown(&self.rows));
        let fixes = fixes_text(self.rows.iter().map(|r| &r.found));
        if !fixes.is_empty() {
            let _ = write!(out, "\n## Fixes\n\n```\n{}\n```\n", fixes.trim());
        }
        for (account, why) in &self.unreachable {
            let _ = writeln!(
                out,
                "\naccount {} was not audited: {}",
                producers::md_cell(account),
                producers::md_cell(why)
            );
        }
        out
    }

    pub fn csv(&self) -> anyhow::Result<String> {
        producers::csv(&self.rows)
    }

    /// A self-contained page: the heading, the producers, the fixes.
    pub fn page(&self) -> String {
        let mut html = String::new();
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>firehose-sse producer audit</title>\n<style>\n{}</style>\n</head>\n<body>\n\
             <main>\n<header>\n<h1>Producer audit</h1>\n<p class=\"meta\">made {} · {}</p>\n\
             <p class=\"note\">{}</p>\n</header>\n",
            include_str!("html/style.css"),
            rfc3339(self.made_at),
            escape(&self.regions.join(", ")),
            escape(&self.heading()),
        );
        producers::html(&self.rows, &mut html);
        let fixes = fixes_text(self.rows.iter().map(|r| &r.found));
        if !fixes.is_empty() {
            let _ = write!(
                html,
                "<section>\n<h2>Fixes</h2>\n<pre class=\"details\">{}</pre>\n</section>\n",
                escape(fixes.trim())
            );
        }
        if !self.unreachable.is_empty() || self.check.is_some() {
            html.push_str("<section>\n<h2>Scope</h2>\n");
            for line in self.unreachable_lines().lines() {
                let _ = writeln!(html, "<p>{}</p>", escape(line));
            }
            if let Some(check) = &self.check {
                let _ = writeln!(html, "<p>{}</p>", escape(&check_line(check)));
            }
            html.push_str("</section>\n");
        }
        html.push_str("</main>\n</body>\n</html>\n");
        html
    }
}
