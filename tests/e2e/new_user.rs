//! What a new user hit, end to end on the sandbox: a run that reached none of its streams said
//! success; reports without the account; hints that did not work as printed; a ledger left
//! damaged by a full disk; a drift check that paged forever; Ctrl-C at the prompt; and the
//! smaller misfits. Each test fails without its fix.

use serde_json::Value;

use crate::common::{Sandbox, Workdir};

const R: &str = "us-east-1";

/// The member accounts `sandbox --accounts N` makes.
fn members(n: u64) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{:012}", 100_000_000_000 + i))
        .collect()
}

/// A fleet of `streams` streams in each of `accounts`, by ARN.
fn org_fleet(accounts: &[String], streams: usize) -> String {
    let mut csv = String::from("stream\n");
    for a in accounts {
        for i in 0..streams {
            csv.push_str(&format!(
                "arn:aws:firehose:{R}:{a}:deliverystream/stream-{i:05}\n"
            ));
        }
    }
    csv
}

fn report(w: &Workdir) -> Value {
    w.run(&["report", "--format", "json"]).assert_code(0).json()
}

#[test]
fn a_run_that_reaches_no_stream_for_want_of_credentials_exits_6_and_says_why() {
    let sandbox = Sandbox::start(&["--accounts", "2", "--streams", "3", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("org.csv", &org_fleet(&members(2), 3));
    // No --assume-role: no credentials act in the member accounts.
    let run = w.run(&["apply", fleet.to_str().unwrap(), "--yes"]);
    run.assert_code(6);
    assert!(
        run.stdout
            .contains("0 done, 0 failed, 0 deferred, 6 skipped (of 6)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Skipped, for a cause you can fix:")
            && run.stdout.contains("no_credentials: 6 stream(s)")
            && run.stdout.contains("--assume-role"),
        "the summary says why and what fixes it:\n{}",
        run.stdout
    );
    for account in members(2) {
        assert!(
            run.stdout.contains(&format!(
                "account {account}: 3 stream(s) skipped no_credentials"
            )),
            "the plan's warning for {account}, as `plan` prints it:\n{}",
            run.stdout
        );
    }
    assert_eq!(report(&w)["outcome"], "skipped");

    // The same as JSON.
    let json = w
        .run(&[
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--output",
            "json",
        ])
        .assert_code(6)
        .json();
    assert_eq!(json["skipped_fixable"]["no_credentials"], 6, "{json:#}");
    assert_eq!(json["warnings"].as_array().unwrap().len(), 2, "{json:#}");

    // With the role, the same fleet is a success.
    w.run(&[
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "-q",
        "--assume-role",
        "firehose-sse",
    ])
    .assert_code(0);
    assert_eq!(report(&w)["outcome"], "converged");
}

#[test]
fn skips_that_are_nobodys_fault_leave_the_exit_code_0() {
    let dir = tempfile::tempdir().unwrap();
    let world = r#"{"streams": [
        {"name": "plain"},
        {"name": "from-kinesis", "type": "KinesisStreamAsSource"},
        {"name": "from-msk", "type": "MSKAsSource"}
    ]}"#;
    let sandbox = Sandbox::with_world(dir.path(), world, &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        "stream,region\nplain,us-east-1\nfrom-kinesis,us-east-1\nfrom-msk,us-east-1\ngone,us-east-1\n",
    );
    let run = w.apply(&fleet, &[]);
    run.assert_code(0);
    assert!(!run.stdout.contains("cause you can fix"), "{}", run.stdout);
    assert_eq!(report(&w)["outcome"], "converged");
}

#[test]
fn an_inventory_that_cannot_list_its_accounts_exits_6_and_names_them_even_quiet() {
    let sandbox = Sandbox::start(&["--accounts", "2", "--streams", "3"]);
    let w = Workdir::new(&sandbox);
    let run = w.run(&[
        "inventory",
        "--organization",
        "--region",
        R,
        "-q",
        "--out",
        "fleet.csv",
    ]);
    run.assert_code(6);
    for account in members(2) {
        assert!(
            run.stderr
                .contains(&format!("account {account} is not listed")),
            "{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("--assume-role"), "{}", run.stderr);
    // Reached through the role, every account is listed: 0.
    w.run(&[
        "inventory",
        "--organization",
        "--region",
        R,
        "-q",
        "--assume-role",
        "firehose-sse",
    ])
    .assert_code(0);
}

#[test]
fn every_report_of_several_accounts_names_each_streams_account() {
    let sandbox = Sandbox::start(&["--accounts", "2", "--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("org.csv", &org_fleet(&members(2), 2));
    // Two shards, a ledger each, read together as the README advertises.
    for i in 1..=2 {
        let ledger = w.path(&format!("shard-{i}.db"));
        w.command_to(&w.endpoint, &ledger)
            .args([
                "apply",
                fleet.to_str().unwrap(),
                "--yes",
                "-q",
                "--assume-role",
                "firehose-sse",
                "--shard",
                &format!("{i}/2"),
            ])
            .output()
            .unwrap();
    }
    let merged = |format: &str| {
        w.run(&[
            "report",
            "--ledger",
            "shard-1.db",
            "--ledger",
            "shard-2.db",
            "--format",
            format,
        ])
        .assert_code(0)
        .stdout
        .clone()
    };
    let csv = merged("csv");
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().starts_with("stream,region,account,"),
        "{csv}"
    );
    let rows: std::collections::BTreeSet<String> = lines
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect();
    let want: std::collections::BTreeSet<String> = members(2)
        .iter()
        .flat_map(|a| (0..2).map(move |i| format!("stream-{i:05},{R},{a}")))
        .collect();
    assert_eq!(
        rows, want,
        "four rows, each told apart by its account:\n{csv}"
    );
    for format in ["table", "md"] {
        let text = merged(format);
        assert!(text.contains("account"), "{format}:\n{text}");
        for a in members(2) {
            assert!(text.contains(&a), "{format} names {a}:\n{text}");
        }
    }
}

#[test]
fn a_stream_not_found_is_of_the_credentials_account_in_every_report() {
    let sandbox = Sandbox::start(&["--streams", "1", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        "stream,region\nstream-00000,us-east-1\ngone,us-east-1\n",
    );
    w.apply(&fleet, &[]).assert_code(0);
    let json = report(&w);
    let gone = crate::common::item(&json, "gone");
    assert_eq!(gone["account"], crate::common::ACCOUNT, "{json:#}");
    let csv = w
        .run(&["report", "--format", "csv"])
        .assert_code(0)
        .stdout
        .clone();
    assert!(
        csv.contains(&format!("gone,{R},{},", crate::common::ACCOUNT)),
        "{csv}"
    );
    let html = w
        .run(&["report", "--format", "html"])
        .assert_code(0)
        .stdout
        .clone();
    let places = &html[html.find("id=\"places\"").unwrap()..];
    let places = &places[..places.find("</section>").unwrap()];
    assert!(
        !places.contains("<td>-</td>") && places.contains(crate::common::ACCOUNT),
        "{places}"
    );
}

/// The binary's environment as [`Workdir::command`] gives it (test credentials, nothing from
/// the developer's), with no flag: what an operator's shell has.
fn shell(w: &Workdir) -> std::process::Command {
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir(w.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTFIREHOSESSE")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", w.path("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", w.path("no-aws-credentials"))
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `line` as an operator's shell would; `answer` is typed at a terminal (a pty, through
/// `script`) when given.
fn run_as_printed(w: &Workdir, line: &str, answer: Option<&str>) -> crate::common::Run {
    run_as_printed_with(shell(w), line, answer)
}

/// [`run_as_printed`] in the shell `cmd`.
fn run_as_printed_with(
    mut cmd: std::process::Command,
    line: &str,
    answer: Option<&str>,
) -> crate::common::Run {
    match answer {
        None => {
            cmd.args(["-c", line]).stdin(std::process::Stdio::null());
        }
        Some(_) => {
            cmd.args(["-c", &format!("script -qec {} /dev/null", quote(line))])
                .stdin(std::process::Stdio::piped());
        }
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(answer) = answer {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap().into()
}

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Every command a text prints for the operator to run: from the program's name to the end of
/// its line or its closing backtick.
fn hints(text: &str) -> Vec<String> {
    let program = crate::common::BIN;
    let mut found = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find(program) {
            let from = &rest[at..];
            let end = from.find('`').unwrap_or(from.len());
            found.push(from[..end].trim_end_matches(['.', ')', ' ']).to_owned());
            rest = &from[end..];
        }
    }
    found
}

#[test]
fn every_printed_command_works_as_printed_with_the_ledger_given_and_the_endpoint_recorded() {
    let sandbox = Sandbox::start(&["--streams", "3", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(3), R),
    );
    let bin = crate::common::BIN;
    let endpoint = &sandbox.url;
    // As an operator types it: a ledger of their own, a served sandbox. The binary is not on
    // PATH (as after `cargo run`): hints name it by its path.
    let plan = run_as_printed(
        &w,
        &format!("{bin} plan fleet.csv --ledger shard-1.db --endpoint-url {endpoint}"),
        None,
    );
    plan.assert_code(0);
    let printed = hints(&plan.stdout);
    let hash: String = rusqlite::Connection::open(w.path("shard-1.db"))
        .unwrap()
        .query_row("SELECT hash FROM plans WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        printed,
        [format!(
            "{bin} apply --plan 1 --expect-plan-hash {hash} --ledger shard-1.db"
        )],
        "{}",
        plan.stdout
    );
    // Carried out as printed: the ledger given, the endpoint the plan was made at, confirmed
    // at a terminal.
    let apply = run_as_printed(&w, &printed[0], Some("yes"));
    apply.assert_code(0);
    let text = format!("{}{}", apply.stdout, apply.stderr);
    assert!(text.contains(&format!("went to {endpoint}")), "{text}");
    let starts = |s: &Sandbox| s.stats().requests["StartDeliveryStreamEncryption"];
    assert_eq!(starts(&sandbox), 3);
    assert!(!w.path("firehose-sse.db").exists(), "no other ledger");
    let printed = hints(&text);
    assert_eq!(
        printed,
        [format!("{bin} report 2 --ledger shard-1.db")],
        "{text}"
    );
    let report = run_as_printed(&w, &printed[0], None);
    report.assert_code(0);
    assert!(report.stdout.contains("stream-00002"), "{}", report.stdout);

    // A run left unfinished (as kill -9 leaves it): status says how to go on, and that works
    // as printed, back at the sandbox the run went to.
    let sql = rusqlite::Connection::open(w.path("shard-1.db")).unwrap();
    sql.execute(
        "UPDATE runs SET outcome = NULL, ended_at = NULL WHERE id = 2",
        [],
    )
    .unwrap();
    let status = run_as_printed(&w, &format!("{bin} status --ledger shard-1.db"), None);
    status.assert_code(0);
    let printed = hints(&status.stdout);
    assert_eq!(
        printed,
        [format!("{bin} resume 2 --ledger shard-1.db")],
        "{}",
        status.stdout
    );
    let resume = run_as_printed(&w, &printed[0], None);
    resume.assert_code(0);
    assert!(
        resume.stderr.contains(&format!("went to {endpoint}")),
        "{}",
        resume.stderr
    );
    assert_eq!(starts(&sandbox), 3, "nothing started twice");
}

/// Fills the file system of `dir` to the last byte but `room`.
fn fill_but(dir: &std::path::Path, room: u64) -> std::path::PathBuf {
    let path = fill(dir);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len.saturating_sub(room)).unwrap();
    path
}

/// Fills the file system of `dir` to the last byte.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    // What a whole chunk no longer fits in, byte by byte.
    while file.write_all(&[0]).is_ok() {}
    let _ = file.sync_all();
    path
}

#[test]
fn a_full_disk_leaves_no_half_made_ledger_and_says_what_to_run_again() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(2), R),
    );
    let fs = crate::common::Tmpfs::mount("1M");
    let ledger = fs.dir.path().join("ledger.db");
    let plan = || -> crate::common::Run {
        w.command_to(&sandbox.url, &ledger)
            .args(["plan", fleet.to_str().unwrap(), "-q"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .into()
    };
    let filler = fill(fs.dir.path());
    let full = plan();
    full.assert_code(1);
    assert!(
        full.stderr.contains("cannot create the ledger")
            && full.stderr.contains("its disk is full")
            && full.stderr.contains("run the same command again"),
        "{}",
        full.stderr
    );
    for raw in ["rusqlite", "Error code", "damaged", "firehose-sse resume"] {
        assert!(!full.stderr.contains(raw), "{raw}: {}", full.stderr);
    }
    let left: Vec<_> = std::fs::read_dir(fs.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "filler")
        .collect();
    assert!(left.is_empty(), "a half-made ledger is left: {left:?}");

    // Room again: the same command makes it.
    std::fs::remove_file(&filler).unwrap();
    plan().assert_code(0);
    // Full again, under a ledger that exists: not "damaged", and a plan leaves no run to
    // resume — whether it cannot open the ledger at all, or fills the disk as it writes.
    for (room, says) in [
        (0, "run the same command again"),
        (40_000, "run the same `plan` command again"),
    ] {
        let filler = fill_but(fs.dir.path(), room);
        let full = plan();
        full.assert_code(1);
        assert!(
            full.stderr.contains("disk is full")
                && full.stderr.contains(says)
                && !full.stderr.contains("firehose-sse resume")
                && !full.stderr.contains("damaged"),
            "{room}: {}",
            full.stderr
        );
        std::fs::remove_file(&filler).unwrap();
        plan().assert_code(0);
    }
}

/// `firehose-sse ARGS` with nothing from the developer's environment, in a fresh directory.
fn bare(args: &[&str]) -> crate::common::Run {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(crate::common::BIN)
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

#[test]
fn help_lists_what_each_command_can_use_as_the_readme_says() {
    let aws = [
        "--assume-role",
        "--external-id",
        "--role-session-name",
        "--role-duration",
        "--endpoint-url",
        "--profile",
    ];
    // The commands that read the ledger call no AWS API (docs/commands/report.md): their help
    // lists no AWS option, the roles to assume included; the sandbox's lists none either.
    for command in ["status", "report", "history", "sandbox"] {
        let help = bare(&[command, "--help"]);
        help.assert_code(0);
        for flag in aws {
            assert!(
                !help.stdout.contains(flag),
                "{command} --help lists {flag}:\n{}",
                help.stdout
            );
        }
    }
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/commands/report.md"
    ))
    .unwrap();
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        doc.contains("`--help` lists no AWS option"),
        "the page says so"
    );
    // --endpoint-url reaches every service the tool calls.
    let help = bare(&["apply", "--help"]).stdout;
    let at = help.find("--endpoint-url").unwrap();
    let text: String = help[at..at + 400]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for service in [
        "Firehose",
        "KMS",
        "STS",
        "Organizations",
        "IAM",
        "CloudWatch",
    ] {
        assert!(
            text.contains(service),
            "--endpoint-url omits {service}: {text}"
        );
    }
    // An in-process sandbox ends with its command: resume and rollback do not offer it, and
    // refuse it plainly.
    for command in ["rollback", "resume"] {
        let help = bare(&[command, "--help"]).stdout;
        assert!(
            !help
                .lines()
                .any(|l| l.trim_start().starts_with("--sandbox")),
            "{command} --help:\n{help}"
        );
        let run = bare(&[command, "--sandbox", "--yes"]);
        run.assert_code(2);
        assert!(
            run.stderr
                .contains(&format!("{command} --sandbox cannot work"))
                && run.stderr.contains("firehose-sse sandbox"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn the_drift_check_pages_for_changes_apply_would_make_not_for_streams_always_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let world = r#"{"streams": [
        {"name": "plain-1"},
        {"name": "plain-2"},
        {"name": "from-kinesis", "type": "KinesisStreamAsSource"},
        {"name": "busy", "status": "CREATING_FAILED"}
    ]}"#;
    let sandbox = Sandbox::with_world(dir.path(), world, &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        "stream,region\nplain-1,us-east-1\nplain-2,us-east-1\nfrom-kinesis,us-east-1\n\
         busy,us-east-1\ngone,us-east-1\n",
    );
    let fleet = fleet.to_str().unwrap();
    let check = || {
        w.run(&[
            "plan",
            fleet,
            "-q",
            "--detailed-exitcode",
            "--output",
            "json",
        ])
    };
    let before = check();
    before.assert_code(2);
    assert_eq!(before.json()["changes"], 2, "the two streams to enable");
    w.apply(std::path::Path::new(fleet), &[]).assert_code(0);
    // A complete rollout: the three streams that will always be skipped page no one, and are
    // still reported.
    let after = check();
    after.assert_code(0);
    let plan = after.json();
    assert_eq!(plan["changes"], 0, "{plan:#}");
    for (stream, reason) in [
        ("from-kinesis", "not_direct_put"),
        ("busy", "not_active"),
        ("gone", "not_found"),
    ] {
        let item = crate::common::item(&plan, stream);
        assert_eq!(
            (item["action"].as_str(), item["reason"].as_str()),
            (Some("skip"), Some(reason))
        );
    }
}

/// A command run at a terminal (a pty, through `script`), its output read as it comes.
struct AtTerminal {
    child: std::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl AtTerminal {
    fn start(w: &Workdir, line: &str) -> AtTerminal {
        let mut child = shell(w)
            // `exec`: the terminal's Ctrl-C reaches the command alone, not a shell around it.
            .args([
                "-c",
                &format!("script -qec {} /dev/null", quote(&format!("exec {line}"))),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let into = seen.clone();
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        AtTerminal { child, seen }
    }

    fn wait_for(&self, what: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if seen.contains(what) {
                return seen;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "no {what:?} in:\n{seen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn type_bytes(&mut self, bytes: &[u8]) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the exit (script passes the command's code on) and what it printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let seen = self.seen.lock().unwrap().clone();
        (status.code(), seen)
    }
}

#[test]
fn ctrl_c_at_the_confirmation_prompt_is_a_no_that_leaves_nothing_to_resume() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(2), R),
    );
    let bin = crate::common::BIN;
    let endpoint = &sandbox.url;
    for line in [
        format!("{bin} apply fleet.csv --ledger l.db --endpoint-url {endpoint}"),
        format!("{bin} rollback --ledger l.db --endpoint-url {endpoint}"),
    ] {
        if line.contains("rollback") {
            // Something to roll back.
            run_as_printed(
                &w,
                &format!("{bin} apply fleet.csv --yes -q --ledger l.db --endpoint-url {endpoint}"),
                None,
            )
            .assert_code(0);
        }
        let mut term = AtTerminal::start(&w, &line);
        term.wait_for("Only 'yes' will be accepted: ");
        // Ctrl-C, as the terminal sends it.
        term.type_bytes(b"\x03");
        let (code, seen) = term.finish();
        assert_eq!(code, Some(1), "{line}:\n{seen}");
        assert!(seen.contains("cancelled: nothing was"), "{seen}");
        let status = run_as_printed(&w, &format!("{bin} status --ledger l.db"), None);
        status.assert_code(0);
        assert!(
            status.stdout.contains("cancelled") && status.stdout.contains("Lock: free"),
            "{}",
            status.stdout
        );
        assert!(!status.stdout.contains("resume"), "{}", status.stdout);
    }
    let starts = sandbox.stats().requests["StartDeliveryStreamEncryption"];
    assert_eq!(starts, 2, "only the unattended apply's");
}

#[test]
fn a_rollback_dry_run_names_its_plan_and_that_plan_is_carried_out_without_describing_again() {
    let sandbox = Sandbox::start(&["--streams", "3", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(3), R),
    );
    w.apply(&fleet, &[]).assert_code(0);
    let dry = w.run(&["rollback", "--dry-run"]);
    dry.assert_code(0);
    let plans = |w: &Workdir| -> i64 {
        w.sql()
            .query_row("SELECT MAX(id) FROM plans", [], |r| r.get(0))
            .unwrap()
    };
    let plan = plans(&w);
    let line = dry
        .stdout
        .lines()
        .find(|l| l.starts_with("Saved as plan"))
        .unwrap_or_else(|| panic!("{}", dry.stdout));
    let hash: String = w
        .sql()
        .query_row("SELECT hash FROM plans WHERE id = ?1", [plan], |r| r.get(0))
        .unwrap();
    assert_eq!(
        line,
        format!(
            "Saved as plan {plan} (hash {}). Carry it out with: firehose-sse rollback --plan \
             {plan}",
            &hash[..12]
        ),
        "the number is the plan's, and the command takes a plan"
    );
    let describes = |s: &Sandbox| s.stats().requests["DescribeDeliveryStream"];
    let before = describes(&sandbox);
    // As printed, confirmed at a terminal.
    let command = line.split("Carry it out with: ").nth(1).unwrap();
    let mut cmd = shell(&w);
    cmd.env("PATH", crate::common::installed_path())
        .env("FIREHOSE_SSE_LEDGER", w.ledger());
    // No --endpoint-url: the rollback goes where the run went.
    let rollback = run_as_printed_with(cmd, command, Some("yes"));
    rollback.assert_code(0);
    assert_eq!(
        plans(&w),
        plan,
        "no new plan: the saved one was carried out"
    );
    let report = report(&w);
    assert_eq!(report["plan_id"], plan, "{report:#}");
    let truth = sandbox.stats();
    assert!(
        truth.streams.iter().all(|s| s.status == "DISABLED"),
        "every stream back where it was"
    );
    // Only the polling after each Stop: no stream described before it.
    let polled = describes(&sandbox) - before;
    assert!(
        polled <= 3 * 3,
        "{polled} Describes: the streams were described again"
    );
    assert!(
        !rollback.stdout.contains("observing again"),
        "{}",
        rollback.stdout
    );
    // Carried out once.
    let again = w.run(&["rollback", "--plan", &plan.to_string(), "--yes"]);
    again.assert_code(2);
    assert!(
        again.stderr.contains("already carried out"),
        "{}",
        again.stderr
    );
    // `apply --plan` of a rollback's plan points at rollback.
    let apply = w.run(&["apply", "--plan", &plan.to_string(), "--yes"]);
    apply.assert_code(2);
    assert!(
        apply.stderr.contains(&format!("rollback --plan {plan}")),
        "{}",
        apply.stderr
    );
}

#[test]
fn a_stale_rollback_plan_is_observed_again() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(2), R),
    );
    w.apply(&fleet, &[]).assert_code(0);
    w.run(&["rollback", "--dry-run", "-q"]).assert_code(0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let run = w.run(&["rollback", "--plan", "2", "--yes", "--max-plan-age", "1s"]);
    run.assert_code(0);
    assert!(run.stderr.contains("observing again"), "{}", run.stderr);
}

#[test]
fn a_rollback_speaks_of_stops_and_of_rolling_back() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(2), R),
    );
    w.apply(&fleet, &[]).assert_code(0);
    // Undoing an enable is a Stop: the estimate counts Stops.
    let dry = w.run(&["rollback", "--dry-run"]);
    dry.assert_code(0);
    assert!(dry.stdout.contains(" Stops/s and "), "{}", dry.stdout);
    assert!(!dry.stdout.contains("Starts/s"), "{}", dry.stdout);
    let unattended = w.run(&["rollback"]);
    unattended.assert_code(2);
    assert!(
        unattended
            .stderr
            .contains("refusing to roll back unattended without --yes"),
        "{}",
        unattended.stderr
    );
}

#[test]
fn small_misfits_of_a_first_session() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(2), R),
    );
    // A plan made as the run went is said as what it decided, not as what is to come.
    let run = w.run(&["apply", fleet.to_str().unwrap(), "--yes"]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("Plan 1, decided as the run observed each stream: 2 to enable"),
        "{}",
        run.stderr
    );
    // Nothing to do: nothing to confirm (at a terminal, where it would ask).
    let bin = crate::common::BIN;
    let ledger = w.ledger();
    let term = AtTerminal::start(
        &w,
        &format!(
            "{bin} apply fleet.csv --ledger {} --endpoint-url {}",
            ledger.display(),
            sandbox.url
        ),
    );
    let (code, seen) = term.finish();
    assert_eq!(code, Some(0), "{seen}");
    assert!(seen.contains("Nothing to start or stop"), "{seen}");
    assert!(!seen.contains("Only 'yes'"), "asked for nothing:\n{seen}");
    // A misspelt region is no empty region.
    let typo = w.run(&["inventory", "--region", "us-eest-1"]);
    typo.assert_code(0);
    assert!(
        typo.stderr
            .contains("\"us-eest-1\" is not a region AWS lists (did you mean us-east-1?)"),
        "{}",
        typo.stderr
    );
    assert!(!typo.stdout.contains("By source type"), "{}", typo.stdout);
    // An alias is said to be one, in one sentence.
    let alias = w.fleet(
        "alias.csv",
        "stream,region,key_arn\nstream-00000,us-east-1,arn:aws:kms:us-east-1:123456789012:alias/prod\n",
    );
    let refused = w.run(&["plan", alias.to_str().unwrap()]);
    refused.assert_code(2);
    assert!(
        refused.stderr.contains("a KMS alias ARN, not a key ARN")
            && !refused.stderr.contains("not a KMS key ARN: is"),
        "{}",
        refused.stderr
    );
    // The in-process sandbox keeps a ledger of its own, which the printed commands name.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.csv"), "stream,region\na,us-east-1\n").unwrap();
    let out: crate::common::Run = std::process::Command::new(bin)
        .args(["plan", "f.csv", "--sandbox"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", crate::common::installed_path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
        .into();
    out.assert_code(0);
    assert!(dir.path().join("firehose-sse.sandbox.db").exists());
    assert!(
        !dir.path().join("firehose-sse.db").exists(),
        "a real run's ledger"
    );
    assert!(
        out.stdout
            .contains("firehose-sse apply --plan 1 --sandbox --expect-plan-hash ")
            && out.stdout.contains(" --ledger firehose-sse.sandbox.db\n"),
        "{}",
        out.stdout
    );
}

/// Seconds of an ETA as the status line prints it (`45s`, `3m 20s`, `1h 05m`).
fn eta_seconds(text: &str) -> Option<f64> {
    let mut secs = 0.0;
    for part in text.split_whitespace() {
        let (n, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit())?);
        let n: f64 = n.parse().ok()?;
        secs += n * match unit {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
    }
    Some(secs)
}

#[test]
fn the_eta_is_a_lower_bound_measured_against_the_end() {
    let n = 150;
    let sandbox = Sandbox::start(&["--streams", &n.to_string()]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(n), R),
    );
    let script = w.path("run.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv -i PATH=\"$PATH\" TERM=\"$TERM\" AWS_ACCESS_KEY_ID=AKIDTESTFIREHOSESSE \
             AWS_SECRET_ACCESS_KEY=test-secret-not-real AWS_EC2_METADATA_DISABLED=true \
             {} --endpoint-url {} --ledger {} apply {} --yes\necho EXIT=$?\nsleep 60\n",
            crate::common::BIN,
            w.endpoint,
            w.ledger().display(),
            fleet.display()
        ),
    )
    .unwrap();
    let tmux = crate::common::Tmux::new(w.dir.path());
    let started = std::time::Instant::now();
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "main",
        "-x",
        "160",
        "-y",
        "10",
        &format!("sh {}", script.display()),
    ]);
    // (seconds since start, streams finished, eta in seconds)
    let mut samples: Vec<(f64, usize, f64)> = Vec::new();
    let end = loop {
        let screen = tmux.screen();
        let t = started.elapsed().as_secs_f64();
        if screen.contains("EXIT=") {
            break t;
        }
        assert!(t < 600.0, "the run did not end:\n{screen}");
        if let Some(line) = screen.lines().rev().find(|l| l.starts_with("applying")) {
            let parts: Vec<&str> = line.split(" · ").collect();
            let finished = parts[0]
                .rsplit(' ')
                .next()
                .and_then(|f| f.split('/').next())
                .and_then(|f| f.parse().ok());
            let eta = parts
                .iter()
                .find_map(|p| p.strip_prefix("eta ≥"))
                .and_then(eta_seconds);
            if let (Some(finished), Some(eta)) = (finished, eta) {
                samples.push((t, finished, eta));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let table: Vec<String> = samples
        .iter()
        .map(|(t, f, eta)| {
            format!(
                "{t:6.1}s {f:4} done  eta ≥{eta:5.0}s  truth {:5.1}s",
                end - t
            )
        })
        .collect();
    // The measurements, for `--nocapture`: how far short of the truth the bound falls.
    eprintln!("{}", table.join("\n"));
    assert!(
        samples.len() >= 20,
        "too few samples:\n{}",
        table.join("\n")
    );
    // It says "at least": never more than was left (a second or two for drawing and
    // sampling), from its first showing to the end.
    for (t, finished, eta) in &samples {
        let truth = end - t;
        assert!(
            *eta <= truth + 2.0,
            "at {t:.1}s ({finished}/{n} done) the eta said at least {eta:.0}s, {truth:.1}s were \
             left:\n{}",
            table.join("\n")
        );
    }
}

#[test]
fn without_keys_an_endpoint_on_this_machine_says_a_sandbox_takes_any() {
    let sandbox = Sandbox::start(&["--streams", "2"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        &crate::common::fleet_csv(crate::common::stream_names(2), R),
    );
    let fleet = fleet.to_str().unwrap();
    let no_keys = |args: &[&str]| -> crate::common::Run {
        w.command()
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
            .into()
    };
    let mut exported = None;
    for args in [
        &["plan", fleet][..],
        &["apply", fleet, "--yes"],
        &["inventory", "--region", R],
    ] {
        let out = no_keys(args);
        assert_ne!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("is on this machine: a sandbox takes any keys"),
            "{args:?}:\n{}",
            out.stderr
        );
        // The keys as the message gives them: `export A=x B=y`.
        let line = out
            .stderr
            .split('`')
            .find(|s| s.starts_with("export "))
            .unwrap();
        exported = Some(line.to_owned());
    }
    // Given as printed, they work.
    let mut cmd = w.command();
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    for pair in exported.unwrap()["export ".len()..].split_whitespace() {
        let (k, v) = pair.split_once('=').unwrap();
        cmd.env(k, v);
    }
    let out: crate::common::Run = cmd
        .args(["plan", fleet, "-q"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into();
    out.assert_code(0);
}
