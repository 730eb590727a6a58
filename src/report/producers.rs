//! The Producers section, as the run report (every format), the HTML report and `audit` show
//! it: each stream on (or moving to) a customer key, each producer with what it is and its
//! verdict — allowed, denied (which side refuses which action) or unknown (why). One line per
//! producer; a stream without producers is one line saying so.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::apply::spreadsheet_safe;
use super::escape;
pub use super::md_cell;
use crate::producers::{Counts, StreamProducers, Verdict};

/// One stream's producers, with where the stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRow {
    /// The stream's number in its plan (and run).
    pub seq: usize,
    pub account: String,
    pub region: String,
    pub stream: String,
    pub found: StreamProducers,
}

impl StreamRow {
    /// The rows of a plan's checked streams (`-`: an account nobody knows).
    pub fn of_plan(planned: Vec<crate::ledger::PlannedProducers>) -> Vec<StreamRow> {
        planned
            .into_iter()
            .map(|p| StreamRow {
                seq: p.seq,
                account: p.account.unwrap_or_else(|| "-".into()),
                region: p.region,
                stream: p.name,
                found: p.producers,
            })
            .collect()
    }
}

/// One stream's producers in a cell: `1 allowed, 1 denied: role/x (...)`.
pub fn cell(found: &StreamProducers) -> String {
    if let Some(why) = &found.unread {
        return format!("unknown: {why}");
    }
    let c = found.counts();
    let mut text = format!(
        "{} allowed, {} denied, {} unknown",
        c.allowed, c.denied, c.unknown
    );
    if found.any_denied() {
        let _ = write!(text, ": {}", found.denied_line());
    }
    text
}

const COLUMNS: [&str; 8] = [
    "account", "region", "stream", "key", "producer", "what", "verdict", "detail",
];

fn detail(v: &Verdict) -> String {
    match v {
        Verdict::Allowed => String::new(),
        Verdict::Denied { .. } => v.to_string().trim_start_matches("denied: ").to_owned(),
        Verdict::Unknown { why } => why.clone(),
    }
}

/// Each producer's cells; a stream without any (or unread) is one row.
fn lines(rows: &[StreamRow]) -> Vec<[String; 8]> {
    let mut out = Vec::new();
    for r in rows {
        let head = [
            r.account.clone(),
            r.region.clone(),
            r.stream.clone(),
            r.found.key.clone(),
        ];
        let row = |producer: String, what: String, verdict: &str, detail: String| {
            let [a, b, c, d] = head.clone();
            [a, b, c, d, producer, what, verdict.to_owned(), detail]
        };
        if let Some(why) = &r.found.unread {
            out.push(row("-".into(), "-".into(), "unknown", why.clone()));
            continue;
        }
        if r.found.producers.is_empty() {
            out.push(row(
                "-".into(),
                "-".into(),
                "none",
                "no principal of the account may write to it".into(),
            ));
        }
        for p in &r.found.producers {
            out.push(row(
                p.principal.clone(),
                p.described.clone(),
                p.verdict.as_str(),
                detail(&p.verdict),
            ));
        }
    }
    out
}

/// Producers per verdict over every row.
pub fn counts(rows: &[StreamRow]) -> Counts {
    let mut c = Counts::default();
    for r in rows {
        c.merge(r.found.counts());
    }
    c
}

/// `3 producer(s) of 5 stream(s): 2 allowed, 1 denied, 0 unknown.`
pub fn counts_line(rows: &[StreamRow]) -> String {
    let c = counts(rows);
    let unread = rows.iter().filter(|r| r.found.unread.is_some()).count();
    let mut line = format!(
        "{} producer(s) of {} stream(s): {} allowed, {} denied, {} unknown.",
        c.allowed + c.denied + c.unknown,
        rows.len(),
        c.allowed,
        c.denied,
        c.unknown
    );
    if unread > 0 {
        let _ = write!(
            line,
            " {unread} stream(s) whose producers could not be read."
        );
    }
    line
}

pub fn table(rows: &[StreamRow]) -> String {
    let mut table = super::table(COLUMNS);
    for cells in lines(rows) {
        table.add_row(cells.to_vec());
    }
    let mut out: String = table
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    out.push_str(&counts_line(rows));
    out.push('\n');
    out
}

pub fn csv(rows: &[StreamRow]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for cells in lines(rows) {
        w.write_record(cells.iter().map(|c| spreadsheet_safe(c)))?;
    }
    Ok(String::from_utf8(
        w.into_inner()
            .map_err(|e| anyhow::anyhow!("{}", e.error()))?,
    )?)
}

pub fn markdown(rows: &[StreamRow]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        COLUMNS.join(" | "),
        "---|".repeat(COLUMNS.len())
    );
    for cells in lines(rows) {
        let cells: Vec<String> = cells.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    out.push_str(&counts_line(rows));
    out.push('\n');
    out
}

pub fn json(rows: &[StreamRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "account": r.account,
                    "region": r.region,
                    "stream": r.stream,
                    "key": r.found.key,
                    "producers": r.found.producers,
                    "unread": r.found.unread,
                })
            })
            .collect(),
    )
}

/// The section as HTML (a heading, the counts, one table row per producer).
pub fn html(rows: &[StreamRow], html: &mut String) {
    let _ = writeln!(
        html,
        "<section>\n<h2>Producers</h2>\n<p>{}</p>",
        escape(&counts_line(rows))
    );
    if rows.is_empty() {
        html.push_str("<p>No stream moves to or is on a customer-managed key.</p>\n</section>\n");
        return;
    }
    html.push_str("<table>\n<thead><tr>");
    for c in COLUMNS {
        let _ = write!(html, "<th>{c}</th>");
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for cells in lines(rows) {
        let class = match cells[6].as_str() {
            "denied" => " class=\"denied\"",
            "unknown" => " class=\"unknown\"",
            _ => "",
        };
        let _ = write!(html, "<tr{class}>");
        for c in &cells {
            let _ = write!(html, "<td>{}</td>", escape(c));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producers::{Kind, Producer, Refusal, Side};

    fn rows() -> Vec<StreamRow> {
        vec![StreamRow {
            seq: 0,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            stream: "orders".into(),
            found: StreamProducers {
                key: "arn:aws:kms:us-east-1:123456789012:key/k".into(),
                producers: vec![
                    Producer {
                        principal: "arn:aws:iam::123456789012:role/orders-events".into(),
                        kind: Kind::Role,
                        described: "EventBridge target role".into(),
                        verdict: Verdict::Denied {
                            refused: vec![Refusal {
                                side: Side::IamPolicy,
                                action: "kms:GenerateDataKey".into(),
                            }],
                        },
                    },
                    Producer {
                        principal: "arn:aws:iam::123456789012:user/<script>".into(),
                        kind: Kind::User,
                        described: "user".into(),
                        verdict: Verdict::Unknown {
                            why: "a condition on aws:SourceIp | x".into(),
                        },
                    },
                ],
                unread: None,
            },
        }]
    }

    #[test]
    fn every_format_names_each_producer_and_its_verdict() {
        let rows = rows();
        let table = table(&rows);
        assert!(table.contains("EventBridge target role"), "{table}");
        assert!(table.contains("kms:GenerateDataKey refused by its IAM policies"));
        assert!(table.contains("2 producer(s) of 1 stream(s): 0 allowed, 1 denied, 1 unknown."));
        let csv = csv(&rows).unwrap();
        assert_eq!(csv.lines().count(), 3);
        let j = json(&rows);
        assert_eq!(j[0]["producers"][0]["verdict"], "denied");
        assert_eq!(j[0]["producers"][0]["refused"][0]["side"], "iam_policy");
        let mut page = String::new();
        html(&rows, &mut page);
        assert!(page.contains("<h2>Producers</h2>"));
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn markdown_cells_escape_html_and_pipes() {
        let md = markdown(&rows());
        assert!(!md.contains("<script>"), "{md}");
        assert!(md.contains("user/&lt;script&gt;"));
        assert!(md.contains("aws:SourceIp \\| x"));
        // Header and separator have the same number of cells.
        let mut lines = md.lines();
        let cells = |l: &str| l.matches('|').count();
        assert_eq!(cells(lines.next().unwrap()), cells(lines.next().unwrap()));
    }
}
