//! The usual mistakes of a new user, end to end on the sandbox: a saved plan applied twice, a
//! resume or a saved plan taken up against another endpoint, an endpoint that cannot be
//! reached, a report for a ticket, a ledger in a read-only place, `resume` or `apply --plan`
//! where there is nothing to take up. Each must cost no call it should not, and say why.

use std::path::Path;

use crate::common::{BIN, Run, Sandbox, Workdir, fleet_csv, stream_names};

const R: &str = "us-east-1";

/// A sandbox of `n` streams, quick transitions, and a workdir with a fleet of them.
fn world(n: usize) -> (Sandbox, Workdir, std::path::PathBuf) {
    let sandbox = Sandbox::start(&["--streams", &n.to_string(), "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(n), R));
    (sandbox, w, fleet)
}

fn starts(sandbox: &Sandbox) -> u64 {
    sandbox
        .stats()
        .requests
        .get("StartDeliveryStreamEncryption")
        .copied()
        .unwrap_or(0)
}

fn plan(w: &Workdir, fleet: &Path) {
    w.run(&["plan", fleet.to_str().unwrap(), "-q"])
        .assert_code(0);
}

/// The binary against `endpoint` (another sandbox, or nowhere) with the workdir's ledger.
fn run_at(w: &Workdir, endpoint: &str, args: &[&str]) -> Run {
    w.command_to(endpoint, &w.ledger())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

fn runs(w: &Workdir) -> i64 {
    w.sql()
        .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_saved_plan_applied_twice_starts_nothing_the_second_time() {
    let (sandbox, w, fleet) = world(5);
    plan(&w, &fleet);
    w.run(&["apply", "--plan", "1", "--yes", "-q"])
        .assert_code(0);
    assert_eq!(starts(&sandbox), 5);
    // The same command again, from the shell's history.
    let again = w.run(&["apply", "--plan", "1", "--yes", "-q"]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("already carried out by run"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("firehose-sse plan"),
        "{}",
        again.stderr
    );
    assert_eq!(starts(&sandbox), 5, "not one more Start");
}

#[test]
fn a_saved_plan_whose_streams_reached_their_target_since_starts_none_of_them() {
    let (sandbox, w, fleet) = world(4);
    plan(&w, &fleet);
    // Someone applies the fleet file in between: every stream is at its target now.
    w.apply(&fleet, &[]).assert_code(0);
    assert_eq!(starts(&sandbox), 4);
    let run = w.run(&["apply", "--plan", "1", "--yes"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("4 stream(s) of plan 1 were seen at their target"),
        "{}",
        run.stderr
    );
    assert_eq!(starts(&sandbox), 4, "none started again");
}

#[test]
fn a_saved_plan_is_carried_out_only_where_it_was_made() {
    let (sandbox, w, fleet) = world(2);
    plan(&w, &fleet);
    let elsewhere = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let run = run_at(&w, &elsewhere.url, &["apply", "--plan", "1", "--yes", "-q"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(&sandbox.url),
        "names where it was made: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&elsewhere.url),
        "and where it would go: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--allow-endpoint-change"),
        "{}",
        run.stderr
    );
    assert_eq!(starts(&elsewhere), 0);
    assert_eq!(starts(&sandbox), 0);
    // Meant: the flag says so.
    run_at(
        &w,
        &elsewhere.url,
        &[
            "apply",
            "--plan",
            "1",
            "--yes",
            "-q",
            "--allow-endpoint-change",
        ],
    )
    .assert_code(0);
    assert_eq!(starts(&elsewhere), 2);
}

#[test]
fn a_resume_goes_only_where_its_run_went() {
    let (sandbox, w, fleet) = world(2);
    w.apply(&fleet, &[]).assert_code(0);
    // As a run killed mid-way leaves it.
    w.sql()
        .execute(
            "UPDATE runs SET outcome = NULL, ended_at = NULL WHERE id = 1",
            [],
        )
        .unwrap();
    let elsewhere = Sandbox::start(&["--streams", "2"]);
    let run = run_at(&w, &elsewhere.url, &["resume", "1"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(&sandbox.url) && run.stderr.contains(&elsewhere.url),
        "{}",
        run.stderr
    );
    let firehose_calls: Vec<_> = elsewhere
        .stats()
        .requests
        .into_keys()
        .filter(|op| op.contains("DeliveryStream"))
        .collect();
    assert!(
        firehose_calls.is_empty(),
        "not one call elsewhere: {firehose_calls:?}"
    );
    // Where it went, it resumes.
    w.run(&["resume", "1", "-q"]).assert_code(0);
}

#[test]
fn an_unreachable_endpoint_stops_a_saved_plan_and_a_resume_at_once() {
    let (_sandbox, w, fleet) = world(20);
    plan(&w, &fleet);
    let nowhere = "http://127.0.0.1:1";
    let run = run_at(
        &w,
        nowhere,
        &[
            "apply",
            "--plan",
            "1",
            "--yes",
            "-q",
            "--allow-endpoint-change",
        ],
    );
    run.assert_code(1);
    assert!(run.stderr.contains("cannot be reached"), "{}", run.stderr);
    let attempts = |state: &str| -> i64 {
        w.sql()
            .query_row(
                "SELECT COUNT(*) FROM attempts WHERE state = ?1",
                [state],
                |r| r.get(0),
            )
            .unwrap()
    };
    let not_sent = attempts("not_sent");
    assert!(
        (3..=20).contains(&not_sent),
        "{not_sent} calls that never left"
    );
    assert_eq!(
        attempts("ok") + attempts("unknown") + attempts("in_flight"),
        0
    );
    // The resume path: the same, at once.
    // The run stopped in error: it says to resume it by its number.
    assert!(
        run.stderr.contains("firehose-sse resume 2"),
        "{}",
        run.stderr
    );
    let run = run_at(
        &w,
        nowhere,
        &["resume", "2", "-q", "--allow-endpoint-change"],
    );
    run.assert_code(1);
    assert!(run.stderr.contains("cannot be reached"), "{}", run.stderr);
    assert!(attempts("not_sent") <= not_sent + 20);
}

#[test]
fn resume_where_there_is_no_ledger_creates_none() {
    let (sandbox, w, _fleet) = world(1);
    let run = w.run(&["resume"]);
    run.assert_code(2);
    assert!(run.stderr.contains("no ledger at"), "{}", run.stderr);
    assert!(!w.ledger().exists(), "nothing created");
    assert!(sandbox.stats().requests.is_empty());
}

#[test]
fn apply_of_a_plan_that_does_not_exist_writes_nothing() {
    let (sandbox, w, fleet) = world(1);
    plan(&w, &fleet);
    let before = runs(&w);
    let run = w.run(&["apply", "--plan", "3", "--yes"]);
    run.assert_code(2);
    assert!(run.stderr.contains("no plan 3"), "{}", run.stderr);
    assert_eq!(runs(&w), before, "exit 2: nothing written");
    assert_eq!(starts(&sandbox), 0);
    // Without a ledger at all: said, and none created.
    let other = w.path("other.db");
    let run: Run = w
        .command_to(&sandbox.url, &other)
        .args(["apply", "--plan", "1", "--yes"])
        .output()
        .unwrap()
        .into();
    run.assert_code(2);
    assert!(run.stderr.contains("no ledger at"), "{}", run.stderr);
    assert!(!other.exists());
}

#[test]
fn the_markdown_report_renders_a_table() {
    let (_sandbox, w, fleet) = world(2);
    w.apply(&fleet, &[]).assert_code(0);
    let run = w.run(&["report", "--format", "md"]);
    run.assert_code(0);
    let mut lines = run.stdout.lines();
    let header = lines.next().unwrap();
    let separator = lines.next().unwrap();
    assert_eq!(
        header.matches('|').count(),
        separator.matches('|').count(),
        "{}",
        run.stdout
    );
    assert!(separator.starts_with("|---|"), "{separator}");
}

/// Runs the binary as an unprivileged user (as root, permissions would not stop anything).
fn as_nobody(w: &Workdir, args: &[&str]) -> Run {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(BIN)
        .args(["--ledger", w.ledger().to_str().unwrap()])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("setpriv runs")
        .into()
}

fn chown_nobody(path: &Path) {
    let ok = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn chmod(path: &Path, mode: &str) {
    let ok = std::process::Command::new("chmod")
        .arg(mode)
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_good_ledger_in_a_read_only_directory_reads_and_refuses_writes_plainly() {
    assert!(
        running_as_root(),
        "this test drops to an unprivileged user with setpriv, which needs root; run the tests \
         as root (as CI does) or skip it explicitly with --skip read_only_directory"
    );
    let (sandbox, w, fleet) = world(2);
    w.apply(&fleet, &[]).assert_code(0);
    // The directory and the ledger belong to nobody, and the directory is read-only.
    let dir = w.dir.path();
    chown_nobody(dir);
    chmod(dir, "555");
    for args in [&["status"][..], &["history"], &["report"]] {
        let run = as_nobody(&w, args);
        run.assert_code(0);
        assert!(!run.stderr.contains("damaged"), "{args:?}: {}", run.stderr);
    }
    let run = as_nobody(&w, &["--endpoint-url", &sandbox.url, "resume"]);
    run.assert_code(1);
    assert!(run.stderr.contains("is not writable"), "{}", run.stderr);
    assert!(!run.stderr.contains("damaged"), "{}", run.stderr);
    chmod(dir, "755");
}

#[test]
fn a_new_ledger_in_an_unwritable_place_says_so_once() {
    assert!(
        running_as_root(),
        "drops to nobody with setpriv: run the tests as root"
    );
    let (_sandbox, w, fleet) = world(1);
    let dir = w.dir.path();
    chmod(dir, "755");
    chmod(&fleet, "644");
    let run = as_nobody(&w, &["plan", fleet.to_str().unwrap()]);
    run.assert_code(1);
    assert_eq!(
        run.stderr.matches("Permission denied").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cannot create the ledger"),
        "{}",
        run.stderr
    );
}
