//! Shared by the integration tests: a standalone sandbox process on a free loopback port, and
//! the real binary run against it in a temporary directory with its own ledger.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_firehose::config::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
pub use firehose_sse_sandbox::{Stats, StreamStats};

pub const BIN: &str = env!("CARGO_BIN_EXE_firehose-sse");
pub const ACCOUNT: &str = "123456789012";

/// A `firehose-sse sandbox` process, killed when dropped.
pub struct Sandbox {
    pub child: Child,
    pub url: String,
    _stdout: BufReader<ChildStdout>,
}

impl Sandbox {
    /// `firehose-sse sandbox --listen 127.0.0.1:0 ARGS`, once it has printed its endpoint.
    pub fn start(args: &[&str]) -> Sandbox {
        // Its log goes to a file (a pipe nobody reads would fill and stall it), shown if it fails.
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(BIN)
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("spawn firehose-sse sandbox");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        stdout.read_line(&mut url).unwrap();
        if url.is_empty() {
            let err = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("sandbox {args:?} printed no endpoint; stderr:\n{err}");
        }
        Sandbox {
            child,
            url: url.trim().to_owned(),
            _stdout: stdout,
        }
    }

    /// A sandbox seeded with a world description (JSON,
    /// crates/sandbox/README.md#fleet-file---fleet-file).
    pub fn with_world(dir: &Path, world: &str, args: &[&str]) -> Sandbox {
        let path = dir.join("world.json");
        std::fs::write(&path, world).unwrap();
        let mut all = vec!["--fleet", path.to_str().unwrap()];
        all.extend_from_slice(args);
        Sandbox::start(&all)
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// One HTTP/1.1 request on its own connection.
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Raw {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port())).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        conn.write_all(req.as_bytes()).unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("a complete HTTP answer");
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Raw {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    /// The ground truth.
    pub fn stats(&self) -> Stats {
        let raw = self.raw("GET", "/_sandbox/stats", &[], "");
        assert_eq!(raw.status, 200, "{}", raw.body);
        serde_json::from_str(&raw.body).expect("stats parse as firehose_sse_sandbox::Stats")
    }
}

/// An HTTP answer, as [`Sandbox::raw`] read it.
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Fake credentials for SDK clients of a test server (never verified).
pub fn test_credentials() -> Credentials {
    Credentials::new(
        "AKIDTESTFIREHOSESSE",
        "test-secret-not-real",
        None,
        None,
        "test",
    )
}

/// A Firehose client of the test server at `url`, as the product builds its own (our HTTPS
/// client), with retries off so every answer is seen.
pub fn firehose_client(url: &str, region: &str) -> aws_sdk_firehose::Client {
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_firehose::config::Region::new(region.to_owned()))
        .endpoint_url(url)
        .credentials_provider(test_credentials())
        .http_client(firehose_sse::aws::http_client(None).unwrap())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_firehose::Client::from_conf(config)
}

/// A KMS client of the test server at `url`, like [`firehose_client`].
pub fn kms_client(url: &str, region: &str) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(region.to_owned()))
        .endpoint_url(url)
        .credentials_provider(test_credentials())
        .http_client(firehose_sse::aws::http_client(None).unwrap())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A working directory with a ledger, and the binary pointed at a sandbox.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
}

/// What one run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Workdir {
    pub fn new(sandbox: &Sandbox) -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
            endpoint: sandbox.url.clone(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ledger(&self) -> PathBuf {
        self.path("ledger.db")
    }

    /// Writes a fleet file and returns its path.
    pub fn fleet(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The binary with the sandbox endpoint, test credentials and this ledger; nothing from the
    /// developer's environment. Its directory is first on `PATH`, as an installed binary's is:
    /// the commands it prints name it `firehose-sse`.
    pub fn command(&self) -> Command {
        self.command_to(&self.endpoint, &self.ledger())
    }

    /// [`Workdir::command`] with another endpoint and ledger.
    pub fn command_to(&self, endpoint: &str, ledger: &Path) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", installed_path())
            .env("AWS_ACCESS_KEY_ID", "AKIDTESTFIREHOSESSE")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path("no-aws-credentials"),
            )
            .env("NO_COLOR", "1")
            // The ledger as an operator's environment gives it: the commands the binary prints
            // need not repeat it.
            .env("FIREHOSE_SSE_LEDGER", ledger)
            .arg("--endpoint-url")
            .arg(endpoint);
        cmd
    }

    /// Runs the binary with `args` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run firehose-sse")
            .into()
    }

    /// `apply FLEET --yes -q EXTRA` to completion.
    pub fn apply(&self, fleet: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["apply", fleet.to_str().unwrap(), "--yes", "-q"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Opens the ledger for inspection.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.ledger()).unwrap()
    }
}

/// `PATH` with the binary's directory first, as after `cargo install`.
pub fn installed_path() -> std::ffi::OsString {
    let dir = Path::new(BIN).parent().unwrap().to_owned();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).unwrap()
}

/// A small tmpfs of its own, unmounted when dropped (mounting needs root, as CI has).
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test fills a small tmpfs and needs to mount one (root, as CI runs): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A fleet CSV of `names` in `region`, all to the AWS-owned key.
pub fn fleet_csv(names: impl IntoIterator<Item = String>, region: &str) -> String {
    let mut text = String::from("stream,region\n");
    for n in names {
        text.push_str(&format!("{n},{region}\n"));
    }
    text
}

/// `stream-00000` … like `sandbox --streams N`.
pub fn stream_names(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| format!("stream-{i:05}"))
}

pub fn key_arn(region: &str, id: &str) -> String {
    format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}")
}

/// Starts the binary in the background (stderr captured).
pub fn spawn(w: &Workdir, args: &[&str]) -> std::process::Child {
    w.command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends a signal (`-KILL`, `-INT`, ...) to a child.
pub fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Attempts left in flight by a killed process (their outcome is unknown).
/// The ids of the attempts left in flight.
pub fn in_flight_ids(w: &Workdir) -> Vec<i64> {
    let conn = w.sql();
    let mut stmt = conn
        .prepare("SELECT id FROM attempts WHERE state = 'in_flight'")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn in_flight(w: &Workdir) -> i64 {
    w.sql()
        .query_row(
            "SELECT COUNT(*) FROM attempts WHERE state = 'in_flight'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Counted attempts (all but those proven never sent) per stream name and region.
pub fn ledger_counts(w: &Workdir) -> std::collections::HashMap<(String, String), i64> {
    counted_attempts(w, "t.region")
}

/// Counted attempts per stream name and account.
pub fn ledger_counts_by_account(w: &Workdir) -> std::collections::HashMap<(String, String), i64> {
    counted_attempts(w, "t.account")
}

/// Counted attempts per (`by`, stream name), `by` a column of the streams table `t`.
fn counted_attempts(w: &Workdir, by: &str) -> std::collections::HashMap<(String, String), i64> {
    let sql = w.sql();
    let mut stmt = sql
        .prepare(&format!(
            "SELECT {by}, t.name, COUNT(*) FROM attempts a JOIN streams t ON t.id = a.stream_id
             WHERE a.state != 'not_sent' GROUP BY {by}, t.name"
        ))
        .unwrap();
    stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// The item of `stream` in a JSON document that lists `items` (a plan, a run report).
pub fn item<'a>(doc: &'a serde_json::Value, stream: &str) -> &'a serde_json::Value {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["stream"] == stream)
        .unwrap_or_else(|| panic!("no item for {stream} in {doc:#}"))
}

/// A stream of the sandbox's ground truth, by name (the names of one test are unique).
pub fn stream<'a>(stats: &'a Stats, name: &str) -> &'a StreamStats {
    stats
        .streams
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no stream {name}"))
}

/// A private tmux server for one test, its socket in the test's directory; killed when
/// dropped.
pub struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    pub fn new(dir: &std::path::Path) -> Tmux {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "this test draws on a real terminal: install tmux (apt-get install tmux)"
        );
        Tmux {
            socket: dir.join("tmux.sock"),
        }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane's text, its scrollback included.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-S", "-", "-t", "main"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

pub fn wait_for(tmux: &Tmux, what: &str, within: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux.screen();
        if screen.contains(what) || start.elapsed() > within {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
