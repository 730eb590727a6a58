//! `report --format html`: one file that fetches nothing, and that a browser draws with every
//! section.

use std::path::Path;
use std::process::Command;

use firehose_sse::report::html::SECTIONS;

use super::mixed_run;

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn the_html_report_names_no_external_url() {
    let (w, _) = mixed_run();
    let run = w.run(&["report", "--format", "html"]);
    run.assert_code(0);
    let html = &run.stdout;
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
    let lower = html.to_ascii_lowercase();
    // Nothing that a browser would fetch, and no address at all.
    for forbidden in [
        "http://", "https://", "//", "<script", "<link", "<iframe", "<img", "<object", "<embed",
        "<base", "src=", "href=", "url(", "@import", "xlink:", "srcset",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the report contains {forbidden:?} at: {}",
            &html[lower.find(forbidden).unwrap().saturating_sub(80)..][..160]
        );
    }
    assert!(html.contains("@media print"), "no print style");
    for heading in SECTIONS {
        assert!(
            html.contains(&format!(">{heading}</h")),
            "no section {heading:?}"
        );
    }
    // The run's facts, as the other formats show them.
    assert!(html.contains("KMS_ACCESS_DENIED"), "no failure");
    assert!(
        html.contains("the key policy must allow the Firehose service"),
        "no hint"
    );
    assert!(html.contains("fully_effective_at"));
}

/// Headless Chromium with the flags that work on a machine without a display or a network,
/// its profile in a fresh directory.
pub(super) fn chromium(dir: &Path, args: &[&str]) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "this test renders the HTML report in headless Chromium, which is not installed at \
         {CHROMIUM}: run `apt-get install -y chromium` (Debian), as .ci/run does"
    );
    let profile = tempfile::tempdir_in(dir).unwrap();
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The PNG's pixels as luminance (0 to 255), and its width.
pub(super) fn luminance(png: &Path) -> (Vec<f64>, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{info:?}");
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match p {
            [l] | [l, _] => f64::from(*l),
            [r, g, b, ..] => 0.299 * f64::from(*r) + 0.587 * f64::from(*g) + 0.114 * f64::from(*b),
            [] => 0.0,
        })
        .collect();
    (pixels, info.width)
}

#[test]
fn the_html_report_of_a_mixed_run_renders_in_chromium_with_every_section() {
    let (w, _) = mixed_run();
    let run = w.run(&["report", "--format", "html"]);
    run.assert_code(0);
    let page = w.path("run.html");
    std::fs::write(&page, &run.stdout).unwrap();
    let url = format!("file://{}", page.display());

    let dom = chromium(w.dir.path(), &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for heading in SECTIONS {
        assert!(
            dom.contains(&format!(">{heading}</h")),
            "Chromium's DOM has no section {heading:?}:\n{dom}"
        );
    }
    // Calls (Start and Describe), phases, time to ENABLED, keys.
    assert!(dom.matches("<svg").count() >= 5, "{dom}");

    let shot = w.path("run.png");
    chromium(
        w.dir.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000",
            &url,
        ],
    );
    let (pixels, width) = luminance(&shot);
    assert_eq!(width, 1280);
    let n = pixels.len() as f64;
    let mean = pixels.iter().sum::<f64>() / n;
    let variance = pixels.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n;
    // A blank page has none; text, tables and charts on a light page give hundreds.
    assert!(
        variance > 100.0,
        "the screenshot looks blank: variance {variance:.1}, mean {mean:.1}"
    );
    let inked = pixels.iter().filter(|p| **p < 160.0).count() as f64 / n;
    assert!(
        inked > 0.01,
        "too little drawn: {:.2}% of pixels dark",
        inked * 100.0
    );
}
