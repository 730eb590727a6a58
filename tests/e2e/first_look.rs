//! What a new user meets first, end to end: a fleet file saved by a spreadsheet, the message
//! when credentials are missing, a run whose streams fail on one bad key, the report of a plan
//! run, inventory then plan (no stream described twice), and the status line on a real
//! terminal (tmux) at 80 columns, interrupted.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{BIN, Sandbox, Tmux, Workdir, fleet_csv, stream_names, wait_for};

const R: &str = "us-east-1";

/// A loopback HTTP server answering every request with `status` and `body`, counting the
/// requests. Serves until the test process ends.
fn fake_server(status: &str, content_type: &str, body: &str) -> (String, Arc<AtomicUsize>) {
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    (url, count)
}

fn describes(sandbox: &Sandbox) -> u64 {
    sandbox.stats().requests_for("DescribeDeliveryStream")
}

#[test]
fn a_fleet_file_saved_by_a_spreadsheet_is_planned() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    // Excel's "CSV UTF-8": a BOM, CRLF, and an empty column after the last.
    let fleet = w.fleet(
        "excel.csv",
        "\u{FEFF}stream,region,key_arn,key_type,\r\n\
         stream-00000,us-east-1,,,\r\n\
         stream-00001,us-east-1,,AWS_OWNED_CMK,\r\n",
    );
    let plan = w.run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"]);
    assert_eq!(plan.assert_code(0).json()["summary"]["enable"], 2);
    // A value under the unnamed column is still refused, and named.
    let bad = w.fleet(
        "bad.csv",
        "stream,region,\r\nstream-00000,us-east-1,\r\nstream-00001,us-east-1,oops\r\n",
    );
    let run = w.run(&["plan", bad.to_str().unwrap()]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("line 3, column #3, value \"oops\"")
            && run.stderr.contains("no name in the header"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_credentials_are_said_once_not_as_the_sdks_warnings() {
    // An instance metadata service that refuses (a loopback fake, never a real one): the
    // SDK's credential chain then warns at length before the call fails.
    let (imds, asked) = fake_server("403 Forbidden", "text/plain", "denied");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
        .args(["--region", R, "--ledger"])
        .arg(dir.path().join("l.db"))
        .args(["plan", "plans/example.csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(asked.load(Ordering::SeqCst) > 0, "the chain asked the fake");
    assert!(stderr.contains("no AWS credentials"), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert!(
        !stderr.contains("provider failed to provide credentials"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("no AWS credentials").count(), 1, "{stderr}");
}

const ONE_BAD_KEY: &str = r#"{
  "streams": [
    {"name": "good-1"}, {"name": "good-2"},
    {"name": "bad-1"}, {"name": "bad-2"}, {"name": "bad-3"}, {"name": "bad-4"}, {"name": "bad-5"}
  ],
  "keys": [{"id": "k-denied", "failure": {"type": "KMS_ACCESS_DENIED"}}]
}"#;

#[test]
fn streams_failing_on_one_bad_key_are_one_cause_with_one_hint() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), ONE_BAD_KEY, &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let key = crate::common::key_arn(R, "k-denied");
    let mut csv = String::from("stream,region,key_arn\ngood-1,us-east-1,\ngood-2,us-east-1,\n");
    for i in 1..=5 {
        csv.push_str(&format!("bad-{i},us-east-1,{key}\n"));
    }
    let fleet = w.fleet("f.csv", &csv);
    let run = w.run(&[
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "--first-poll",
        "200ms",
    ]);
    run.assert_code(3);
    let hint = "the key policy must allow the Firehose service";
    assert_eq!(run.stdout.matches(hint).count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "KMS_ACCESS_DENIED on {key} (needs_operator): 5 streams"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("and 2 more"), "{}", run.stdout);
    // Live, on stderr: the first failure whole with its hint, the others gathered.
    assert_eq!(run.stderr.matches(hint).count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("4 more with KMS_ACCESS_DENIED on key/k-denied"),
        "{}",
        run.stderr
    );
    // Every stream is still in the report.
    let report = w.run(&["report", "--format", "csv"]);
    let rows = report
        .stdout
        .lines()
        .filter(|l| l.contains("KMS_ACCESS_DENIED"));
    assert_eq!(rows.count(), 5, "{}", report.stdout);
}

#[test]
fn the_report_of_a_plan_run_says_it_is_one() {
    let sandbox = Sandbox::start(&["--streams", "2", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(2), R));
    w.run(&["plan", fleet.to_str().unwrap(), "-q"])
        .assert_code(0);
    let report = w.run(&["report", "1"]);
    report.assert_code(0);
    assert!(
        report.stdout.contains("Run 1 is a plan run")
            && report.stdout.contains("firehose-sse apply --plan 1"),
        "{}",
        report.stdout
    );
    assert!(!report.stdout.contains("0 streams"), "{}", report.stdout);
    // Then the plan it saved, every stream with its decision.
    assert!(
        report.stdout.contains("Plan: 2 to enable"),
        "{}",
        report.stdout
    );
    // Machine formats are the plan's document; the note goes to stderr.
    let json = w.run(&["report", "1", "--format", "json"]);
    let doc = json.assert_code(0).json();
    assert_eq!(doc["plan_id"], 1);
    assert_eq!(doc["items"].as_array().unwrap().len(), 2);
    assert!(json.stderr.contains("plan run"), "{}", json.stderr);
}

#[test]
fn inventory_then_plan_describes_no_stream_twice() {
    let sandbox = Sandbox::start(&["--streams", "6", "--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("f.csv", &fleet_csv(stream_names(6), R));
    let fleet = fleet.to_str().unwrap();
    w.run(&["inventory", "--region", R, "-q"]).assert_code(0);
    let after_inventory = describes(&sandbox);
    assert_eq!(after_inventory, 6);

    let plan = w.run(&["plan", fleet, "--output", "json"]);
    let json = plan.assert_code(0).json();
    assert_eq!(json["summary"]["enable"], 6);
    assert_eq!(describes(&sandbox), after_inventory, "no Describe again");
    assert!(
        sandbox.stats().requests_for("GetCallerIdentity") >= 1,
        "the account came from STS"
    );
    assert!(
        plan.stderr
            .contains("6 stream(s) planned from what inventory observed"),
        "{}",
        plan.stderr
    );
    // The plan is as old as the inventory's observations.
    let sql = w.sql();
    let (plan_at, oldest): (i64, i64) = sql
        .query_row(
            "SELECT (SELECT observed_at FROM plans WHERE id = 1),
                    (SELECT MIN(observed_at) FROM streams)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(plan_at, oldest);

    // --refresh describes every stream again; so does a plan after a plan (planning again
    // means looking again), and one after an inventory older than --max-plan-age.
    w.run(&["plan", fleet, "-q", "--refresh"]).assert_code(0);
    assert_eq!(describes(&sandbox), after_inventory + 6);
    w.run(&["plan", fleet, "-q"]).assert_code(0);
    assert_eq!(describes(&sandbox), after_inventory + 12);
    w.run(&["inventory", "--region", R, "-q"]).assert_code(0);
    std::thread::sleep(Duration::from_millis(1100));
    w.run(&["plan", fleet, "-q", "--max-plan-age", "1s"])
        .assert_code(0);
    assert_eq!(describes(&sandbox), after_inventory + 24);

    // A saved plan older than apply's --max-plan-age is observed again before anything starts.
    let apply = w.run(&["apply", "--plan", "1", "--yes", "--max-plan-age", "1s"]);
    apply.assert_code(0);
    assert!(apply.stderr.contains("observing again"), "{}", apply.stderr);
    assert!(describes(&sandbox) >= after_inventory + 30);
}

#[test]
fn the_status_line_fits_80_columns_and_leaves_nothing_behind_when_interrupted() {
    // 100 streams, every tenth on a key whose policy denies Firehose: failures (long lines,
    // wrapped by the terminal) are printed above the status line while it is drawn.
    let dir = tempfile::tempdir().unwrap();
    let streams: Vec<String> = stream_names(100)
        .map(|n| format!("{{\"name\": \"{n}\"}}"))
        .collect();
    let world = format!(
        "{{\"streams\": [{}], \"keys\": [{{\"id\": \"k-denied\", \
         \"failure\": {{\"type\": \"KMS_ACCESS_DENIED\"}}}}]}}",
        streams.join(",")
    );
    let sandbox = Sandbox::with_world(dir.path(), &world, &["--latency", "2s"]);
    let w = Workdir::new(&sandbox);
    let key = crate::common::key_arn(R, "k-denied");
    let mut csv = String::from("stream,region,key_arn\n");
    for (i, name) in stream_names(100).enumerate() {
        let key = if i % 10 == 3 { key.as_str() } else { "" };
        csv.push_str(&format!("{name},{R},{key}\n"));
    }
    let fleet = w.fleet("f.csv", &csv);
    let script = w.path("run.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# The operator's Ctrl-C is for the tool: this shell stays to print its exit code.\n\
             trap true INT\nenv -i PATH=\"$PATH\" TERM=\"$TERM\" AWS_ACCESS_KEY_ID=AKIDTESTFIREHOSESSE \
             AWS_SECRET_ACCESS_KEY=test-secret-not-real AWS_EC2_METADATA_DISABLED=true \
             {BIN} --endpoint-url {} --ledger {} apply {} --yes --first-poll 1s\necho EXIT=$?\nsleep 60\n",
            w.endpoint,
            w.ledger().display(),
            fleet.display()
        ),
    )
    .unwrap();
    let tmux = Tmux::new(dir.path());
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "main",
        "-x",
        "80",
        "-y",
        "30",
        &format!("sh {}", script.display()),
    ]);
    // Once the run knows its rates, the status line carries an ETA.
    let screen = wait_for(&tmux, " · eta ", Duration::from_secs(30));
    let status: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with("applying"))
        .collect();
    assert_eq!(status.len(), 1, "one status line:\n{screen}");
    assert!(status[0].chars().count() <= 77, "{:?}", status[0]);
    assert!(status[0].contains("eta "), "{:?}", status[0]);
    // A failure printed above it leaves it whole, on one row.
    let screen = wait_for(&tmux, "hint: ", Duration::from_secs(30));
    assert!(screen.contains("hint: "), "{screen}");
    std::thread::sleep(Duration::from_millis(500));
    let screen = tmux.screen();
    let status: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("applying") && !l.starts_with("Observing"))
        .collect();
    assert_eq!(status.len(), 1, "one status line:\n{screen}");
    assert!(status[0].starts_with("applying "), "{screen}");
    // Interrupt it as an operator would.
    tmux.run(&["send-keys", "-t", "main", "C-c"]);
    let screen = wait_for(&tmux, "EXIT=", Duration::from_secs(60));
    assert!(screen.contains("EXIT=130"), "{screen}");
    assert!(screen.contains("hint: "), "a failure was printed: {screen}");
    for line in screen.lines() {
        let stale = (line.contains("applying") && !line.starts_with("Observing and applying"))
            || line.contains("Describe/s")
            || line.contains("eta ");
        assert!(!stale, "a stale copy of the status line is left:\n{screen}");
    }
    assert!(screen.contains("Interrupted. Continue with"), "{screen}");
}
