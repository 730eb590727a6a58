//! The plan's report in every format: the example fleet's plan as Markdown for a pull request
//! and as the terminal's text (snapshotted), the same from `plan --format`, `report PLAN_RUN`
//! and `show FILE`; a 5,000-stream plan's Markdown under GitHub's comment limit.

use firehose_sse::clock::{parse_rfc3339, rfc3339};
use serde_json::Value;

use super::{FAST, example, file_hash};
use crate::common::{Sandbox, Workdir};

/// `text` with what varies between runs replaced: the hash, the times (both `[TIME]`: made
/// and observed fall in the same second or not, by chance), the endpoint, the work directory.
fn normalized(w: &Workdir, sandbox: &Sandbox, text: &str) -> String {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("plan.json")).unwrap()).unwrap();
    let hash = file_hash(w, "plan.json");
    let time =
        |member: &str| rfc3339(parse_rfc3339(doc["plan"][member].as_str().unwrap()).unwrap());
    text.replace(&hash, "[HASH]")
        .replace(&hash[..12], "[HASH12]")
        .replace(&time("created_at"), "[TIME]")
        .replace(&time("observed_at"), "[TIME]")
        .replace(&sandbox.url, "[ENDPOINT]")
        .replace(&w.dir.path().display().to_string(), "[DIR]")
}

#[test]
fn the_example_plan_reads_the_same_in_every_command_and_as_snapshotted() {
    let (sandbox, w, fleet) = example();
    let md = w.run(&[
        "plan",
        &fleet,
        "-q",
        "--out",
        "plan.json",
        "--format",
        "md",
        FAST[0],
        FAST[1],
    ]);
    md.assert_code(0);
    let md = md.stdout;
    // The same plan, read back from the ledger and from the file.
    let report = w.run(&["report", "1", "--format", "md"]);
    assert_eq!(report.assert_code(0).stdout, md);
    let shown = w.run(&["show", "plan.json", "--format", "md"]);
    assert_eq!(shown.assert_code(0).stdout, md);
    assert!(md.contains("<details><summary>"), "{md}");
    insta::assert_snapshot!("example_plan_md", normalized(&w, &sandbox, &md));

    let table = w.run(&["show", "plan.json"]);
    let table = table.assert_code(0).stdout.clone();
    assert!(table.contains("Saved as plan 1 (hash "), "{table}");
    insta::assert_snapshot!("example_plan_table", normalized(&w, &sandbox, &table));
    // `report` of the plan run: the plan, after what the run made.
    let report = w.run(&["report", "1"]);
    let report = report.assert_code(0).stdout.clone();
    assert!(
        report.starts_with("Run 1 is a plan run: it started nothing. It saved plan 1 (hash "),
        "{report}"
    );
    assert!(report.ends_with(&table), "{report}");

    let text = w.run(&["report", "1", "--format", "text"]);
    insta::assert_snapshot!(
        "example_plan_text",
        normalized(&w, &sandbox, &text.assert_code(0).stdout)
    );
    // JSON: the plan's document, with its hash; CSV: a row per stream.
    let json = w
        .run(&["report", "1", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(json["hash"], file_hash(&w, "plan.json"));
    assert_eq!(json["items"].as_array().unwrap().len(), 20);
    let csv = w.run(&["show", "plan.json", "--format", "csv"]);
    assert_eq!(csv.assert_code(0).stdout.lines().count(), 21);
    // `--query` selects from the plan's document, as a folded section's command does.
    let one = w.run(&[
        "show",
        "plan.json",
        "--output",
        "json",
        "--query",
        "items[?account=='123456789012' && region=='eu-west-1'].stream",
    ]);
    assert_eq!(one.assert_code(0).json().as_array().unwrap().len(), 9);
}

#[test]
fn a_5000_stream_plans_markdown_fits_a_pull_request_comment_with_every_accounts_counts() {
    let sandbox = Sandbox::start(&["--accounts", "10", "--streams", "500", "--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let accounts: Vec<String> = (1..=10)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i))
        .collect();
    let mut csv = String::from("stream\n");
    for a in &accounts {
        for i in 0..500 {
            csv.push_str(&format!(
                "arn:aws:firehose:us-east-1:{a}:deliverystream/stream-{i:05}\n"
            ));
        }
    }
    let fleet = w.fleet("org.csv", &csv);
    let run = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "-q",
        "--assume-role",
        "firehose-sse",
        "--format",
        "md",
        "--describe-tps",
        "1000",
        "--concurrency",
        "64",
    ]);
    let md = &run.assert_code(0).stdout;
    let chars = md.chars().count();
    eprintln!(
        "the 5,000-stream plan's Markdown: {chars} characters, {} bytes",
        md.len()
    );
    assert!(chars < 65_536, "{chars} characters");
    for a in &accounts {
        let row = format!("| {a} | us-east-1 | 500 | 500 | 0 | 0 | 0 | 0 |");
        assert!(md.contains(&row), "no {row} in\n{md}");
    }
    assert!(
        md.contains("| **all** |  | 5000 | 5000 | 0 | 0 | 0 | 0 |"),
        "{md}"
    );
    assert!(md.contains("not listed, to keep this comment under GitHub's limit"));
    assert!(md.contains("firehose-sse report 1 --ledger"), "{md}");
}
