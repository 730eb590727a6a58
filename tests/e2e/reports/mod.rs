//! What a run's reports show people and scripts: the HTML report (self-contained, rendered by
//! headless Chromium with every section present), a plan's page (`plan_page`, the same way)
//! and the AWS CLI's output conventions
//! (`--query`, `--output json|text|table`, compared with the AWS CLI's own formatters). Each
//! test makes its own mixed run: `plans/example.csv` applied to a sandbox seeded with
//! `plans/example.sandbox.json` (streams enabled, rekeyed, already at target, skipped, a key
//! whose first grant fails, three streams failing on a key policy).

mod html;
mod output;
mod plan_page;

use std::path::Path;

use crate::common::{Run, Sandbox, Workdir};

/// The example fleet applied to its world; returns the work directory (its ledger holds the
/// run) and what `apply --output json --query counts` printed.
pub fn mixed_run() -> (Workdir, Run) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let world = repo.join("plans").join("example.sandbox.json");
    let sandbox = Sandbox::start(&["--fleet", world.to_str().unwrap(), "--latency", "300ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "example.csv",
        &std::fs::read_to_string(repo.join("plans").join("example.csv")).unwrap(),
    );
    let run = w.apply(
        &fleet,
        &[
            "--first-poll",
            "300ms",
            "--output",
            "json",
            "--query",
            "counts",
        ],
    );
    run.assert_code(3);
    (w, run)
}
