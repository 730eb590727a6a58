//! The usual mistakes of a new user, end to end on the sandbox: a saved plan applied twice, a
//! resume or a saved plan taken up against another endpoint, an endpoint that cannot be
//! reached, a report for a ticket, a ledger in a read-only place, `resume` or `apply --plan`
//! where there is nothing to take up. Each must cost no call it should not, and say why.

use std::path::Path;

use crate::common::{BIN, Run, Sandbox, Tmpfs, Workdir, fleet_csv, stream_names};

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

#[test]
fn a_plan_made_on_the_in_process_sandbox_is_carried_out_on_one_seeded_the_same_way() {
    let (_sandbox, w, fleet) = world(3);
    let plan = w.run(&["plan", fleet.to_str().unwrap(), "--sandbox"]);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("firehose-sse apply --plan 1 --sandbox"),
        "{}",
        plan.stdout
    );
    let run = w.run(&[
        "apply",
        "--plan",
        "1",
        "--sandbox",
        "--yes",
        "--output",
        "json",
    ]);
    run.assert_code(0);
    assert_eq!(run.json()["counts"]["done"], 3, "{}", run.stdout);
    assert!(!run.stderr.contains("the fleet file\""), "{}", run.stderr);
}

#[test]
fn status_tells_a_running_apply_from_one_that_died() {
    let sandbox = Sandbox::start(&["--streams", "30", "--latency", "20s"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(30), R));
    let mut child = crate::common::spawn(&w, &["apply", fleet.to_str().unwrap(), "--yes"]);
    // Wait until it holds the lock with its run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let holder = || -> Option<i64> {
        w.sql()
            .query_row("SELECT run_id FROM apply_lock WHERE id = 1", [], |r| {
                r.get(0)
            })
            .ok()
            .flatten()
    };
    while holder().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let running = w.run(&["status"]);
    running.assert_code(0);
    assert!(running.stdout.contains("Running now"), "{}", running.stdout);
    assert!(
        !running.stdout.contains("Continue with"),
        "{}",
        running.stdout
    );
    crate::common::signal(&child, "-KILL");
    child.wait().unwrap();
    let died = w.run(&["status"]);
    assert!(died.stdout.contains("no longer running"), "{}", died.stdout);
    assert!(
        died.stdout.contains("Continue with: firehose-sse resume"),
        "{}",
        died.stdout
    );
}

#[test]
fn declining_the_prompt_is_an_error_and_the_prompt_is_not_told_to_apply_again() {
    let (sandbox, w, fleet) = world(2);
    // A terminal, with `no` typed at the prompt.
    let mut command = w.command();
    command.args(["apply", fleet.to_str().unwrap()]);
    let line = format!(
        "{:?} {}",
        command.get_program(),
        command
            .get_args()
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    script.current_dir(w.dir.path());
    use std::io::Write as _;
    let mut child = script
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) runs");
    // Answer once the prompt is up (the plan is observed first).
    use std::io::Read as _;
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("Only 'yes' will be accepted") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt came: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"no\n").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(
        text.contains("Do you want to perform these actions?"),
        "{text}"
    );
    assert!(!text.contains("Carry it out with"), "{text}");
    assert!(text.contains("apply cancelled"), "{text}");
    assert_eq!(starts(&sandbox), 0);
}

#[test]
fn history_says_which_id_is_a_run_and_which_a_plan() {
    let (_sandbox, w, fleet) = world(1);
    plan(&w, &fleet);
    let run = w.run(&["history"]);
    run.assert_code(0);
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.contains("run id") && header.contains("plan id"),
        "{header}"
    );
}

/// Runs the binary with its stderr (and, with `both`, its stdout) a pipe whose reader is
/// already gone — as `cmd 2>&1 | head -1` is once head has its line — and returns the exit
/// code.
fn with_closed_output(w: &Workdir, args: &[&str], both: bool) -> Option<i32> {
    let mut cmd = w.command();
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd.stdout(if both {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    drop(child.stderr.take());
    drop(child.stdout.take());
    child.wait().unwrap().code()
}

#[test]
fn a_closed_stderr_changes_neither_a_runs_outcome_nor_its_exit_code() {
    let (_sandbox, w, fleet) = world(5);
    let fleet = fleet.to_str().unwrap();
    assert_eq!(with_closed_output(&w, &["plan", fleet], true), Some(0));
    assert_eq!(
        with_closed_output(&w, &["apply", fleet, "--yes"], true),
        Some(0)
    );
    let outcomes: Vec<(String, String)> = w
        .sql()
        .prepare("SELECT kind, outcome FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes,
        [
            ("plan".to_owned(), "planned".to_owned()),
            ("apply".to_owned(), "converged".to_owned())
        ]
    );
}

#[test]
fn output_that_cannot_be_written_is_an_error_and_a_closed_pipe_is_not() {
    let (_sandbox, w, fleet) = world(2);
    plan(&w, &fleet);
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    for args in [
        vec!["report", "1"],
        vec!["report", "1", "--format", "csv"],
        vec!["history"],
    ] {
        let out = w
            .command()
            .args(&args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        with_closed_output(&w, &["report", "1", "--format", "csv"], true),
        Some(0),
        "a reader that stopped early is no error"
    );
}

#[test]
fn a_disk_that_fills_during_apply_leaves_the_run_resumable_to_the_end() {
    // No throttle: the test is about the disk, not the pace.
    let sandbox = Sandbox::start(&["--streams", "150", "--latency", "100ms", "--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(150), R));
    let fs = Tmpfs::mount("8M");
    let ledger = fs.dir.path().join("ledger.db");
    let filler = fs.dir.path().join("filler");
    // Leave the ledger about 400 KB: enough to begin, not to finish.
    std::fs::write(&filler, vec![0u8; 7_980_000]).unwrap();
    let run = |args: &[&str]| -> Run {
        w.command_to(&sandbox.url, &ledger)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .into()
    };
    let fleet = fleet.to_str().unwrap();
    let full = run(&[
        "apply",
        fleet,
        "--yes",
        "-q",
        "--describe-tps",
        "200",
        "--start-tps",
        "200",
    ]);
    full.assert_code(1);
    assert!(full.stderr.contains("disk is full"), "{}", full.stderr);
    let sent = starts(&sandbox);
    assert!(sent < 150, "the disk filled mid-run ({sent} Starts sent)");
    std::fs::remove_file(&filler).unwrap();
    let status = run(&["status"]);
    assert!(
        status
            .stdout
            .contains("Continue with: firehose-sse resume 1"),
        "{}",
        status.stdout
    );
    run(&[
        "resume",
        "-q",
        "--describe-tps",
        "200",
        "--start-tps",
        "200",
    ])
    .assert_code(0);
    let truth = sandbox.stats();
    assert!(
        truth
            .streams
            .iter()
            .all(|s| s.status == "ENABLED" && s.start_calls == 1),
        "every stream ENABLED with one Start"
    );
}
