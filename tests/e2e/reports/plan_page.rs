//! A plan as a page (`report PLAN_RUN --format html`, `plan --format html`, `show FILE --format
//! html`): one file that fetches nothing, which Chromium draws with every section, its charts
//! (each key now → after, each account and region's actions) and every stream.

use firehose_sse::report::html::plan::SECTIONS;

use super::html::{chromium, luminance};
use crate::review::{FAST, example};

#[test]
fn the_example_plans_page_renders_in_chromium_with_every_section() {
    let (sandbox, w, fleet) = example();
    let run = w.run(&[
        "plan",
        &fleet,
        "-q",
        "--out",
        "plan.json",
        "--format",
        "html",
        FAST[0],
        FAST[1],
    ]);
    let html = run.assert_code(0).stdout.clone();
    // The same page from the ledger and from the file.
    assert_eq!(w.run(&["report", "1", "--format", "html"]).stdout, html);
    assert_eq!(
        w.run(&["show", "plan.json", "--format", "html"]).stdout,
        html
    );
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
    // The endpoint the plan was made against is said (as text): nothing else is an address.
    let lower = html
        .replace(&sandbox.url, "[endpoint]")
        .to_ascii_lowercase();
    for forbidden in [
        "http://", "https://", "//", "<script", "<link", "<iframe", "<img", "<object", "<embed",
        "<base", "src=", "href=", "url(", "@import", "xlink:", "srcset",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the page contains {forbidden:?}"
        );
    }
    let page = w.path("plan.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());
    let dom = chromium(w.dir.path(), &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for heading in SECTIONS {
        assert!(
            dom.contains(&format!(">{heading}</h")),
            "Chromium's DOM has no section {heading:?}:\n{dom}"
        );
    }
    // Key usage now → after, and actions by account and region.
    assert!(dom.matches("<svg").count() >= 2, "{dom}");
    assert!(
        dom.contains("key/3e4d5c6b-7a89-4f01-b2c3-d4e5f6a7b8c9: 0 → 3"),
        "{dom}"
    );
    // Every stream's line with its reason, the warnings, the estimate, the hash to approve.
    for stream in [
        "orders-ingest",
        "waf-logs",
        "vpc-flow-logs",
        "gdpr-erasure-events",
    ] {
        assert!(dom.contains(&format!("<td>{stream}</td>")), "no {stream}");
    }
    assert!(
        dom.contains("not_direct_put: reads from arn:aws:kafka"),
        "{dom}"
    );
    assert!(
        dom.contains("per-key counts cover only the streams"),
        "{dom}"
    );
    assert!(dom.contains("About <b>"), "{dom}");
    let hash = super::super::review::file_hash(&w, "plan.json");
    assert!(dom.contains(&format!("--expect-plan-hash {hash}")), "{dom}");

    let shot = w.path("plan.png");
    chromium(
        w.dir.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,3000",
            &url,
        ],
    );
    let (pixels, width) = luminance(&shot);
    assert_eq!(width, 1280);
    let n = pixels.len() as f64;
    let mean = pixels.iter().sum::<f64>() / n;
    let variance = pixels.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n;
    assert!(
        variance > 100.0,
        "the screenshot looks blank: variance {variance:.1}"
    );
}
