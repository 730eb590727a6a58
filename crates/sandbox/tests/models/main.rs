//! The model test: the sandbox's answers against AWS's published service models.
//!
//! Sandboxes are started in-process (on a hand-moved clock) and driven through every operation
//! they serve, in every state: streams of each type and status, encryption in each status with
//! its failure descriptions in each place, keys of each state, spec and manager, accounts of an
//! organization with their roles (AssumeRole and ListAccounts through success, refusal, expiry,
//! bad input and pages), IAM's users, groups, roles and policies (each operation through
//! success, each error, pages and throttling), key policies, producers' puts to streams on each
//! kind of key, CloudWatch's operations in each of its three protocols (RPC v2 CBOR, JSON 1.0,
//! query) through success, each error and pages, each error each operation can give, and
//! malformed requests of each kind. Every
//! raw answer (status,
//! headers, body) is saved, then `validate.py` checks each against botocore's models (pinned in
//! `venv.rs`): the output shape of a 200, the error shapes an operation lists, and what the
//! input model says of each request. The test prints every deviation and asserts there are
//! none. It never skips: without Python it fails saying what to install.

mod cbor;
mod cloudwatch;
mod http;
mod iam;
mod organization;
mod producers;
mod scenarios;
mod sources;
mod venv;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc;

use base64::Engine;
use firehose_sse_sandbox::{ManualClock, Millis, Sandbox, SandboxConfig, Seed};
use serde_json::Value;

use http::Exchange;

/// Where the sandboxes' clocks start: 2027-01-15T08:00:00Z.
pub const T0: Millis = 1_800_000_000_000;
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const ACCESS_KEY: &str = "AKIDSANDBOXMODELS";

/// A sandbox served from a thread of its own, on a clock the test moves.
pub struct Server {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(config: SandboxConfig, seed: Seed) -> Server {
        let clock = ManualClock::at(T0);
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let theirs = clock.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sandbox = Sandbox::start_with_clock(
                    "127.0.0.1:0".parse().unwrap(),
                    config,
                    seed,
                    Arc::new(theirs),
                )
                .await
                .expect("the sandbox starts");
                addr_tx.send(sandbox.local_addr()).unwrap();
                let _ = stopped.await;
                sandbox.shutdown().await;
            });
        });
        let addr = addr_rx.recv().expect("the sandbox's address");
        Server {
            addr,
            clock,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Moves the clock past any transition (drawn latencies are capped at 10× the median).
    pub fn settle(&self, config: &SandboxConfig) {
        self.clock
            .advance(config.latency.as_millis() as Millis * 10 + 1);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How a request travels: its path, CloudWatch's protocol, whether its bodies are binary.
struct Request<'a> {
    path: &'a str,
    protocol: Option<&'static str>,
    binary: bool,
}

/// Sends requests to one sandbox and records every exchange.
pub struct Driver<'a> {
    pub server: &'a Server,
    pub exchanges: &'a mut Vec<Exchange>,
    pub region: String,
    pub access_key: String,
    pub token: Option<String>,
}

impl<'a> Driver<'a> {
    pub fn new(server: &'a Server, exchanges: &'a mut Vec<Exchange>) -> Self {
        Driver {
            server,
            exchanges,
            region: REGION.to_owned(),
            access_key: ACCESS_KEY.to_owned(),
            token: None,
        }
    }

    fn authorization(&self, service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={}/20270115/{}/{service}/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000",
            self.access_key, self.region
        )
    }

    /// A JSON 1.1 request with a body as given (which need not be JSON).
    pub fn raw_json(
        &mut self,
        label: &str,
        service: &'static str,
        target: Option<&str>,
        body: &str,
    ) -> Option<Value> {
        let sig_service = match service {
            "kms" | "organizations" | "kinesis" => service,
            "resourcegroupstaggingapi" => "tagging",
            _ => "firehose",
        };
        let mut headers = vec![
            ("Content-Type", "application/x-amz-json-1.1".to_owned()),
            ("X-Amz-Date", "20270115T080000Z".to_owned()),
            ("Authorization", self.authorization(sig_service)),
        ];
        if let Some(target) = target {
            headers.push(("X-Amz-Target", target.to_owned()));
        }
        if let Some(token) = &self.token {
            headers.push(("X-Amz-Security-Token", token.clone()));
        }
        let operation = target
            .and_then(|t| t.split_once('.'))
            .map(|(_, op)| op.to_owned());
        self.record(label, service, operation, &headers, body)
    }

    /// A CloudWatch operation in AWS JSON 1.0 (boto3's protocol), with a body as given; the
    /// answer's body.
    pub fn cloudwatch_json(&mut self, label: &str, op: &str, body: &str) -> Option<Value> {
        let mut headers = vec![
            ("Content-Type", "application/x-amz-json-1.0".to_owned()),
            ("X-Amz-Date", "20270115T080000Z".to_owned()),
            ("Authorization", self.authorization("monitoring")),
            (
                "X-Amz-Target",
                format!("GraniteServiceVersion20100801.{op}"),
            ),
            ("x-amzn-query-mode", "true".to_owned()),
        ];
        if let Some(token) = &self.token {
            headers.push(("X-Amz-Security-Token", token.clone()));
        }
        let request = Request {
            path: "/",
            protocol: Some("json"),
            binary: false,
        };
        self.send(
            label,
            "cloudwatch",
            Some(op.to_owned()),
            &headers,
            body.as_bytes(),
            request,
        )
    }

    /// A CloudWatch operation in Smithy RPC v2 CBOR (the Rust SDK's protocol), `body` in CBOR.
    pub fn cloudwatch_cbor(&mut self, label: &str, op: &str, body: &[u8]) {
        let mut headers = vec![
            ("Content-Type", "application/cbor".to_owned()),
            ("Accept", "application/cbor".to_owned()),
            ("smithy-protocol", "rpc-v2-cbor".to_owned()),
            ("x-amzn-query-mode", "true".to_owned()),
            ("X-Amz-Date", "20270115T080000Z".to_owned()),
            ("Authorization", self.authorization("monitoring")),
        ];
        if let Some(token) = &self.token {
            headers.push(("X-Amz-Security-Token", token.clone()));
        }
        let path = format!("/service/GraniteServiceVersion20100801/operation/{op}");
        let request = Request {
            path: &path,
            protocol: Some("cbor"),
            binary: true,
        };
        self.send(
            label,
            "cloudwatch",
            Some(op.to_owned()),
            &headers,
            body,
            request,
        );
    }

    /// A CloudWatch form (the query protocol), signed for `monitoring`.
    pub fn cloudwatch_query(&mut self, label: &str, form: &str) -> Option<Value> {
        self.query(label, "cloudwatch", form)
    }

    /// A Firehose operation with a JSON body; the answer's body.
    pub fn firehose(&mut self, label: &str, op: &str, body: Value) -> Value {
        let target = format!("Firehose_20150804.{op}");
        self.raw_json(label, "firehose", Some(&target), &body.to_string())
            .unwrap_or(Value::Null)
    }

    /// A KMS operation with a JSON body; the answer's body.
    pub fn kms(&mut self, label: &str, op: &str, body: Value) -> Value {
        let target = format!("TrentService.{op}");
        self.raw_json(label, "kms", Some(&target), &body.to_string())
            .unwrap_or(Value::Null)
    }

    /// An Organizations operation with a JSON body; the answer's body.
    pub fn organizations(&mut self, label: &str, op: &str, body: Value) -> Value {
        let target = format!("AWSOrganizationsV20161128.{op}");
        self.raw_json(label, "organizations", Some(&target), &body.to_string())
            .unwrap_or(Value::Null)
    }

    /// A Kinesis operation with a JSON body; the answer's body.
    pub fn kinesis(&mut self, label: &str, op: &str, body: Value) -> Value {
        let target = format!("Kinesis_20131202.{op}");
        self.raw_json(label, "kinesis", Some(&target), &body.to_string())
            .unwrap_or(Value::Null)
    }

    /// A Resource Groups Tagging API operation with a JSON body; the answer's body.
    pub fn tagging(&mut self, label: &str, op: &str, body: Value) -> Value {
        let target = format!("ResourceGroupsTaggingAPI_20170126.{op}");
        self.raw_json(
            label,
            "resourcegroupstaggingapi",
            Some(&target),
            &body.to_string(),
        )
        .unwrap_or(Value::Null)
    }

    /// The raw body of the last answer.
    pub fn last_body(&self) -> &str {
        self.exchanges.last().map_or("", |e| e.body.as_str())
    }

    /// An STS (query protocol) request with a form body.
    pub fn sts(&mut self, label: &str, form: &str) -> Option<Value> {
        self.query(label, "sts", form)
    }

    /// An IAM (query protocol) request with a form body, signed for `iam` in `us-east-1` as
    /// the SDKs sign IAM's.
    pub fn iam(&mut self, label: &str, form: &str) -> Option<Value> {
        self.query(label, "iam", form)
    }

    /// A query-protocol request of `service` (`sts`, `iam`).
    fn query(&mut self, label: &str, service: &'static str, form: &str) -> Option<Value> {
        let signing = if service == "cloudwatch" {
            "monitoring"
        } else {
            service
        };
        let mut headers = vec![
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("X-Amz-Date", "20270115T080000Z".to_owned()),
            ("Authorization", self.authorization(signing)),
        ];
        if let Some(token) = &self.token {
            headers.push(("X-Amz-Security-Token", token.clone()));
        }
        let operation = form
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_owned);
        self.record(label, service, operation, &headers, form)
    }

    fn record(
        &mut self,
        label: &str,
        service: &'static str,
        operation: Option<String>,
        headers: &[(&str, String)],
        body: &str,
    ) -> Option<Value> {
        let protocol = (service == "cloudwatch").then_some("query");
        let request = Request {
            path: "/",
            protocol,
            binary: false,
        };
        self.send(label, service, operation, headers, body.as_bytes(), request)
    }

    fn send(
        &mut self,
        label: &str,
        service: &'static str,
        operation: Option<String>,
        headers: &[(&str, String)],
        body: &[u8],
        request: Request<'_>,
    ) -> Option<Value> {
        let (status, headers, answer) = http::post(self.server.addr, request.path, headers, body)?;
        let parsed = serde_json::from_slice(&answer).ok();
        let base64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        self.exchanges.push(Exchange {
            label: label.to_owned(),
            service,
            protocol: request.protocol,
            operation,
            request: String::from_utf8_lossy(body).into_owned(),
            status,
            headers,
            body: String::from_utf8_lossy(&answer).into_owned(),
            request_base64: request.binary.then(|| base64(body)),
            body_base64: request.binary.then(|| base64(&answer)),
        });
        parsed
    }
}

#[test]
fn every_answer_keeps_the_published_models() {
    let python = venv::python();
    let exchanges = scenarios::all();
    assert!(
        exchanges.len() > 100,
        "too few answers: {}",
        exchanges.len()
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-models");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("answers-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(&exchanges).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/validate.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&file)
        .output()
        .expect("run validate.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "validate.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let deviations: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("DEVIATION"))
        .collect();
    for line in &deviations {
        println!("{line}");
    }
    println!("{}", stdout.lines().last().unwrap_or_default());
    assert!(
        deviations.is_empty(),
        "{} answers deviate from the published models (answers saved in {}):\n{}",
        deviations.len(),
        file.display(),
        deviations.join("\n")
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn embedded_input_models_are_the_pinned_botocores() {
    let python = venv::python();
    let out = Command::new(&python)
        .args([
            "-c",
            "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))",
        ])
        .output()
        .expect("ask the venv's botocore where its models are");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sandbox-models")
        .join(format!("trimmed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let out = Command::new(&python)
        .arg(models.join("trim.py"))
        .arg(&data)
        .arg(&dir)
        .output()
        .expect("run trim.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "firehose-input.json",
        "kms-input.json",
        "sts-input.json",
        "organizations-input.json",
        "iam-input.json",
        "cloudwatch-input.json",
    ] {
        let embedded = std::fs::read_to_string(models.join(name)).unwrap();
        let published = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            embedded == published,
            "crates/sandbox/models/{name} is not what botocore {} publishes: rerun \
             `python3 crates/sandbox/models/trim.py {data} crates/sandbox/models`",
            venv::REQUIREMENTS[0]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
