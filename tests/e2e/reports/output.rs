//! `--query` and `--output json|text|table` as the AWS CLI has them: the query selects from
//! the command's JSON document, `text` and `table` print it as the AWS CLI's own formatters do.

use serde_json::{Value, json};

use super::mixed_run;
use crate::aws_cli;
use crate::common::{Sandbox, Workdir, fleet_csv, stream_names};

#[test]
fn report_json_with_a_query_prints_what_it_selects() {
    let (w, apply) = mixed_run();
    // apply's own summary went through the query too.
    let counts = apply.json();
    assert_eq!(
        (counts["done"].clone(), counts["failed"].clone()),
        (json!(13), json!(3))
    );
    assert_eq!(counts["skipped"], 4, "{counts}");
    let run = w.run(&[
        "report",
        "--format",
        "json",
        "--query",
        "items[?phase==`failed`].stream",
    ]);
    run.assert_code(0);
    assert_eq!(
        run.json(),
        json!([
            "clickstream-web",
            "clickstream-mobile",
            "gdpr-erasure-events"
        ])
    );
    // The same with the specification's quoted literal.
    let quoted = w.run(&[
        "report",
        "--format",
        "json",
        "--query",
        "items[?phase==`\"failed\"`] | length(@)",
    ]);
    assert_eq!(quoted.json(), json!(3), "{}", quoted.stderr);
}

#[test]
fn text_and_table_print_what_the_aws_cli_prints_for_the_same_document() {
    let (w, _) = mixed_run();
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "report",
            "Report",
            &[
                "@",
                "items[?phase==`failed`].[stream, region, failure_type]",
                "items[?phase==`failed`]",
                "counts",
                "items[].stream",
                "items[0].target",
                "run_id",
            ],
        ),
        ("status", "Status", &["@", "phases", "lock"]),
        ("history", "History", &["@", "[].[run_id, kind, outcome]"]),
    ];
    for (command, title, queries) in cases {
        let doc = w.run(&[command, "--output", "json"]);
        doc.assert_code(0);
        let whole: Value = doc.json();
        // Without a query, text is the whole document as the AWS CLI prints it.
        let ours = w.run(&[command, "--output", "text"]);
        ours.assert_code(0);
        assert_eq!(
            ours.stdout,
            aws_cli::format("text", title, None, &doc.stdout),
            "{command} --output text"
        );
        for query in queries {
            for format in ["json", "text", "table"] {
                let ours = w.run(&[command, "--output", format, "--query", query]);
                ours.assert_code(0);
                let theirs = aws_cli::format(format, title, Some(query), &doc.stdout);
                if format == "json" {
                    // The same value (the AWS CLI indents by four).
                    let theirs: Value = serde_json::from_str(&theirs).unwrap();
                    assert_eq!(ours.json(), theirs, "{command} --query {query}");
                } else {
                    assert_eq!(
                        ours.stdout, theirs,
                        "{command} --output {format} --query {query} on {whole}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_query_that_is_not_jmespath_or_has_no_document_is_refused_before_anything_runs() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(1), "us-east-1"));
    let run = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "--query",
        "items[?action==",
    ]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("not a JMESPath expression"),
        "{}",
        run.stderr
    );
    assert!(!w.ledger().exists(), "a ledger was written");
    assert_eq!(sandbox.stats().requests_for("DescribeDeliveryStream"), 0);
    for format in ["csv", "md", "html"] {
        let run = w.run(&["report", "--format", format, "--query", "items"]);
        run.assert_code(2);
        assert!(run.stderr.contains("--query"), "{}", run.stderr);
    }
    // A plan's document through a query, on the same fleet.
    let plan = w.run(&[
        "plan",
        fleet.to_str().unwrap(),
        "-q",
        "--output",
        "text",
        "--query",
        "items[].[stream, action]",
    ]);
    plan.assert_code(0);
    assert_eq!(plan.stdout, "stream-00000\tenable\n");
}
