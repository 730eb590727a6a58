//! Hostile input and the security promises: malformed fleet files, a damaged or foreign ledger,
//! an unwritable ledger location, credentials in logs, plain-HTTP endpoints, spreadsheet cells.
//! Every bad input ends with a clear error (exit 2, or 1 for the environment), nothing sent and
//! nothing half-written.

use std::path::Path;

use crate::common::*;

/// Fleet files in tests/data/hostile and what the error must say about them.
const FLEETS: &[(&str, &str)] = &[
    ("utf16le-bom.csv", "UTF-16"),
    ("utf16be-bom.csv", "UTF-16"),
    ("latin1.csv", "line 2"),
    ("nul-byte.csv", "line 2"),
    ("formula-equals.csv", "line 2"),
    ("formula-plus-at-minus.csv", "line 4"),
    ("lookalike-cyrillic.csv", "line 2"),
    ("zero-width-space.csv", "line 2"),
    ("stream-arn-of-kinesis.csv", "malformed Firehose ARN"),
    ("key-arn-of-s3.csv", "not a KMS key ARN"),
    ("key-alias.csv", "alias"),
    ("key-other-region.csv", "regional"),
    ("header-only.csv", "no streams"),
    ("empty.csv", "empty"),
    ("comments-only.csv", "empty"),
    (
        "binary-png.csv",
        "line 1, value \"\u{fffd}PNG\": not valid UTF-8",
    ),
    ("unbalanced-quote.csv", "line 2"),
    ("too-many-fields.csv", "line 2"),
    ("duplicate-rows.csv", "lines 2 and 3"),
    ("sql-in-region.csv", "malformed region"),
    ("bad-key-type.csv", "unknown key type"),
    ("spreadsheet-headers.csv", "unknown column"),
    ("shell-in-name.csv", "line 3"),
    ("path-traversal-arn.csv", "malformed Firehose ARN"),
];

/// Runs `plan` on a fleet file against a sandbox and checks the refusal: exit 2, the expected
/// words, no ledger, nothing sent.
fn refused(sandbox: &Sandbox, path: &Path, expect: &str) {
    let w = Workdir::new(sandbox);
    let run = w.run(&["plan", path.to_str().unwrap(), "-q"]);
    assert_eq!(run.code, Some(2), "{}: {}", path.display(), run.stderr);
    assert!(
        run.stderr.contains(expect),
        "{}: expected {expect:?} in:\n{}",
        path.display(),
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        !w.ledger().exists(),
        "{}: a ledger was written",
        path.display()
    );
}

#[test]
fn malformed_fleet_files_are_refused_with_their_line_and_nothing_is_sent() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostile");
    // Every file in the directory has its expectation here, and only those.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FLEETS.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert!(listed.len() >= 20);
    let sandbox = Sandbox::start(&["--streams", "1"]);
    for (file, expect) in FLEETS {
        refused(&sandbox, &dir.join(file), expect);
    }
    assert!(
        sandbox.stats().requests.is_empty(),
        "a request was sent: {:?}",
        sandbox.stats().requests
    );
}

#[test]
fn a_ten_megabyte_line_and_a_bad_row_after_100_000_good_ones_are_refused_by_line() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.csv");
    std::fs::write(
        &long,
        format!("stream,region\n{},us-east-1\n", "x".repeat(10 << 20)),
    )
    .unwrap();
    refused(&sandbox, &long, "line 2");
    let big = dir.path().join("big.csv");
    let mut text = String::from("stream,region\n");
    for i in 0..100_000 {
        text.push_str(&format!("stream-{i:06},us-east-1\n"));
    }
    text.push_str("bad name!,us-east-1\n");
    std::fs::write(&big, text).unwrap();
    refused(&sandbox, &big, "line 100002");
    assert!(sandbox.stats().requests.is_empty());
}

#[test]
fn a_damaged_or_foreign_or_newer_ledger_is_refused_and_left_untouched() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(1), "us-east-1"));
    let fleet = fleet.to_str().unwrap();

    std::fs::write(
        w.ledger(),
        b"definitely not an SQLite database, just some bytes .....",
    )
    .unwrap();
    let before = std::fs::read(w.ledger()).unwrap();
    let run = w.run(&["plan", fleet, "-q"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("not a firehose-sse ledger"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(w.ledger()).unwrap(),
        before,
        "the file was modified"
    );

    std::fs::remove_file(w.ledger()).unwrap();
    rusqlite::Connection::open(w.ledger())
        .unwrap()
        .execute_batch("CREATE TABLE customers (id)")
        .unwrap();
    let run = w.run(&["status"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("not a firehose-sse ledger"),
        "{}",
        run.stderr
    );

    std::fs::remove_file(w.ledger()).unwrap();
    w.run(&["plan", fleet, "-q"]).assert_code(0);
    w.sql().pragma_update(None, "user_version", 99).unwrap();
    let run = w.run(&["plan", fleet, "-q"]);
    run.assert_code(2);
    assert!(run.stderr.contains("newer firehose-sse"), "{}", run.stderr);
    let version: i64 = w
        .sql()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99, "never upgraded down");
    assert_eq!(
        sandbox
            .stats()
            .requests_for("StartDeliveryStreamEncryption"),
        0
    );
}

#[test]
fn a_run_outcome_and_arguments_a_later_version_wrote_are_read_and_shown_as_written() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(1), "us-east-1"));
    w.run(&["plan", fleet.to_str().unwrap(), "-q"])
        .assert_code(0);
    let args = r#"{"command":"wave","wave":2}"#;
    w.sql()
        .execute(
            "UPDATE runs SET outcome = 'paused', args = ?1 WHERE id = 1",
            [args],
        )
        .unwrap();
    let history = w
        .run(&["history", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(history[0]["outcome"], "paused", "{history:#}");
    assert_eq!(
        history[0]["args"],
        serde_json::json!({"command": "wave", "wave": 2})
    );
    let status = w.run(&["status", "1"]);
    status.assert_code(0);
    assert!(status.stdout.contains("(paused)"), "{}", status.stdout);
    w.run(&["report", "1"]).assert_code(0);
}

#[test]
fn an_unwritable_ledger_location_is_a_clear_error() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(1), "us-east-1"));
    // /proc is read-only for files, even for root (tests here may run as root, where a chmod'ed
    // directory would not stop anything).
    let run: Run = std::process::Command::new(BIN)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "--endpoint-url",
            &sandbox.url,
            "--ledger",
            "/proc/firehose-sse-test.db",
        ])
        .args(["plan", fleet.to_str().unwrap(), "-q"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot create the ledger /proc/firehose-sse-test.db"),
        "{}",
        run.stderr
    );
    assert!(
        sandbox.stats().requests.is_empty(),
        "nothing may be sent before the ledger is usable"
    );
}

#[test]
fn credentials_never_appear_in_any_output_log_level_report_or_the_ledger() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(2), "us-east-1"));
    let (key_id, secret, token) = (
        "AKIAFAKEFAKEFAKE0042",
        "FAKEsecretFAKEsecretFAKEsecret0042",
        "FAKEsessionTOKENfakeSESSIONtoken0042",
    );
    let with_keys = |args: &[&str]| -> Run {
        w.command()
            .env("AWS_ACCESS_KEY_ID", key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_SESSION_TOKEN", token)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let mut outputs = Vec::new();
    for args in [
        vec![
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-vvv",
            "--debug",
            "--first-poll",
            "200ms",
        ],
        vec!["report", "--format", "json", "-vvv", "--debug"],
        vec!["report", "--format", "csv"],
        vec!["status", "-vvv"],
        vec!["history", "--output", "json"],
    ] {
        let run = with_keys(&args);
        assert!(matches!(run.code, Some(0)), "{args:?}: {}", run.stderr);
        outputs.push(run.stdout);
        outputs.push(run.stderr);
    }
    assert!(
        outputs.iter().map(String::len).sum::<usize>() > 10_000,
        "the debug logs are there"
    );
    let ledger = std::fs::read(w.ledger()).unwrap();
    let wal = std::fs::read(w.ledger().with_extension("db-wal")).unwrap_or_default();
    for secret_text in [key_id, secret, token] {
        for out in &outputs {
            assert!(!out.contains(secret_text), "{secret_text} leaked:\n{out}");
        }
        for bytes in [&ledger, &wal] {
            assert!(
                !String::from_utf8_lossy(bytes).contains(secret_text),
                "{secret_text} is in the ledger"
            );
        }
    }
}

#[test]
fn the_ledger_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(1), "us-east-1"));
    w.run(&["plan", fleet.to_str().unwrap(), "-q"])
        .assert_code(0);
    assert!(w.ledger().exists(), "plan wrote no ledger");
    // The WAL may be checkpointed away by the time the command ends.
    for path in [w.ledger(), w.ledger().with_extension("db-wal")] {
        if path.exists() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
        }
    }
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_allowed_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("f.csv");
    std::fs::write(&fleet, "stream,region\norders,us-east-1\n").unwrap();
    // 192.0.2.0/24 is reserved for documentation: nothing is ever sent there, the check
    // happens before any connection.
    let w = Workdir {
        dir,
        endpoint: "http://192.0.2.10:4599".into(),
    };
    let run = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("--allow-insecure-endpoint"),
        "{}",
        run.stderr
    );
    assert!(!w.ledger().exists());
    // The AWS CLI's variable is held to the same rule.
    let run: Run = std::process::Command::new(BIN)
        .env_clear()
        .env("AWS_ENDPOINT_URL", "http://198.51.100.7")
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .args([
            "--ledger",
            w.ledger().to_str().unwrap(),
            "plan",
            fleet.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap()
        .into();
    run.assert_code(2);
    assert!(run.stderr.contains("AWS_ENDPOINT_URL"), "{}", run.stderr);
}

#[test]
fn report_csv_defuses_cells_a_spreadsheet_would_run() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(
        dir.path(),
        r#"{"streams": [{"name": "-orders"}, {"name": "plain"}]}"#,
        &["--latency", "100ms"],
    );
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "f.csv",
        "stream,region\n-orders,us-east-1\nplain,us-east-1\n",
    );
    w.apply(&fleet, &["--first-poll", "200ms"]).assert_code(0);
    let csv = w.run(&["report", "--format", "csv"]);
    csv.assert_code(0);
    assert!(
        csv.stdout.lines().any(|l| l.starts_with("'-orders,")),
        "{}",
        csv.stdout
    );
    assert!(
        csv.stdout.lines().any(|l| l.starts_with("plain,")),
        "{}",
        csv.stdout
    );
}
