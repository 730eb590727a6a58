//! Conformance: the same end-to-end scenarios against two implementations of the Firehose and
//! KMS APIs, moto server (independent of us, its shapes generated from AWS's service models) and
//! our own sandbox. A misunderstanding of the wire protocol shared by our client and our sandbox
//! passes every other test; here it shows as the moto test of a scenario failing while the
//! sandbox one passes (each scenario is a module with a `moto` and a `sandbox` test).
//!
//! moto comes from a virtualenv made once under `target/conformance-venv` (`python3 -m venv`,
//! then `pip install 'moto[server]>=5.2,<5.3'`) and reused; without Python 3, venv or pip, or
//! without access to PyPI, the moto tests fail saying what to install. Each test starts its own
//! server on a free loopback port, seeds it through the SDK as any AWS user would
//! (CreateDeliveryStream, KMS CreateKey, Start encryption for the streams that must already be
//! encrypted), runs the real binary against it, and checks both our reports and a direct
//! Describe of every stream.
//!
//! What moto does not model (no ENABLING phase, no budget or key limits, no throttle) is tested
//! against the sandbox alone, elsewhere. Where moto 5.2 differs from AWS:
//! - It echoes destinations as given; the Rust SDK refuses a description whose S3 destination
//!   lacks `BufferingHints`, `CompressionFormat` or `EncryptionConfiguration`, so seeding sets
//!   them (AWS always returns them).
//! - A never-encrypted stream has no `DeliveryStreamEncryptionConfiguration` (AWS: `Status`
//!   DISABLED); after a Stop it keeps the old `KeyType`/`KeyARN` beside `Status` DISABLED (our
//!   sandbox shows no key). Our client reads a missing status as DISABLED and takes the key in
//!   force from ENABLED observations only, so the stopped streams here must be enabled again.
//! - `KeyUsage` is null (AWS: always set): our client reads it as ENCRYPT_DECRYPT for a
//!   SYMMETRIC_DEFAULT key. `DisableKey` by key ARN is HTTP 500: seeding passes the key id.
//! - Start is accepted on a KinesisStreamAsSource stream (AWS: InvalidArgumentException); Start
//!   without an encryption input and Stop on a never-encrypted stream are HTTP 500. Our planner
//!   never starts a non-DirectPut stream (scenario 2 would see it ENABLED), always sends the
//!   input, and never stops.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{ACCOUNT, Run, Sandbox, Workdir, firehose_client, kms_client};
use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamDescription,
    DeliveryStreamEncryptionConfigurationInput as EncryptionInput,
    DeliveryStreamEncryptionStatus as Enc, DeliveryStreamStatus, DeliveryStreamType,
    EncryptionConfiguration, ExtendedS3DestinationConfiguration, KeyType,
    KinesisStreamSourceConfiguration, NoEncryptionConfig,
};
use serde_json::Value;

const REGION: &str = "us-east-1";

/// The moto release line the scenarios were written against.
const MOTO_REQUIREMENT: &str = "moto[server]>=5.2,<5.3";

// ---------------------------------------------------------------------------------------------
// moto server: the virtualenv and the process.

/// `target/`, wherever Cargo puts it.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_owned()
}

const PYTHON_HINT: &str = "the conformance tests (tests/e2e/conformance.rs) run moto server from a \
    virtualenv they create under target/: they need Python 3 with the venv module and pip, and \
    access to PyPI (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip)";

/// The `moto_server` of the virtualenv, created (once per target directory) if missing.
fn moto_server() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(ensure_venv).clone()
}

/// Makes `target/conformance-venv` with moto installed, unless a complete one is there. An
/// exclusive lock on `target/conformance-venv.lock` keeps parallel test processes from building
/// it twice; a marker written last (holding the requirement) tells a complete venv from one a
/// killed install left behind.
fn ensure_venv() -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let venv = target.join("conformance-venv");
    let bin = venv.join("bin").join("moto_server");
    let marker = venv.join("firehose-sse-installed");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target.join("conformance-venv.lock"))
        .expect("create the venv lock file");
    lock.lock().expect("lock the venv lock file");
    // The venv's python links to the interpreter that made it: gone if that was removed.
    let complete = std::fs::read_to_string(&marker)
        .is_ok_and(|text| text.trim() == MOTO_REQUIREMENT)
        && bin.exists()
        && venv.join("bin").join("python").exists();
    if complete {
        return bin;
    }
    eprintln!(
        "conformance: installing {MOTO_REQUIREMENT} into {} (once; about 30 s)",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    let began = Instant::now();
    run_setup(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
    );
    run_setup(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                MOTO_REQUIREMENT,
            ])
            .env("PIP_NO_INPUT", "1"),
        &format!("pip install '{MOTO_REQUIREMENT}'"),
    );
    assert!(
        bin.exists(),
        "pip installed moto but {} is missing; {PYTHON_HINT}",
        bin.display()
    );
    std::fs::write(&marker, format!("{MOTO_REQUIREMENT}\n")).unwrap();
    eprintln!("conformance: moto installed in {:.0?}", began.elapsed());
    bin
}

/// Runs one setup step of the venv; any failure fails the test with what to install.
fn run_setup(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}); {PYTHON_HINT}"));
    assert!(
        out.status.success(),
        "{what} failed ({}); {PYTHON_HINT}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `moto_server` process on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    url: String,
    /// Its log (one line per request): a file, since a pipe nobody reads would fill and stall it.
    _log: tempfile::NamedTempFile,
}

impl Moto {
    fn start() -> Moto {
        Moto::start_with(None)
    }

    /// With `tls: Some((cert, key))`, moto serves HTTPS with that certificate.
    fn start_with(tls: Option<(&Path, &Path)>) -> Moto {
        let bin = moto_server();
        let mut last = String::new();
        // The port is free when we look, but another process may take it before moto binds it:
        // try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = tempfile::NamedTempFile::new().unwrap();
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            if let Some((cert, key)) = tls {
                cmd.arg("-c").arg(cert).arg("-k").arg(key);
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(log.reopen().unwrap())
                .stderr(log.reopen().unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
            let mut moto = Moto {
                child,
                url: format!(
                    "{}://127.0.0.1:{port}",
                    if tls.is_some() { "https" } else { "http" }
                ),
                _log: log,
            };
            match moto.wait_ready(port) {
                Ok(()) => return moto,
                Err(why) => last = why,
            }
        }
        panic!("moto server did not start (remove target/conformance-venv to rebuild it): {last}");
    }

    /// Waits until moto accepts connections; Err with its log if it exited.
    fn wait_ready(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self._log.path()).unwrap_or_default();
                return Err(format!("moto_server exited ({status}):\n{log}"));
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The two backends behind one interface.

enum Server {
    /// Kept for its Drop, which stops the server.
    Moto {
        _process: Moto,
    },
    Sandbox(Sandbox),
}

/// A running implementation of the APIs, SDK clients for it, and a runtime to drive them.
struct Backend {
    server: Server,
    url: String,
    rt: tokio::runtime::Runtime,
}

impl Backend {
    fn moto() -> Backend {
        let moto = Moto::start();
        let url = moto.url.clone();
        Backend::new(Server::Moto { _process: moto }, url)
    }

    /// Our sandbox with short transitions (CREATING and ENABLING are real there) and no
    /// throttle, so that it and moto run the same scenarios in about the same time.
    fn sandbox() -> Backend {
        let sandbox = Sandbox::start(&["--latency", "40ms", "--tps", "0"]);
        let url = sandbox.url.clone();
        Backend::new(Server::Sandbox(sandbox), url)
    }

    fn new(server: Server, url: String) -> Backend {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Backend { server, url, rt }
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn firehose(&self) -> aws_sdk_firehose::Client {
        firehose_client(&self.url, REGION)
    }

    fn kms(&self) -> aws_sdk_kms::Client {
        kms_client(&self.url, REGION)
    }

    /// A working directory whose binary talks to this backend.
    fn workdir(&self) -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
            endpoint: self.url.clone(),
        }
    }

    /// The sandbox's count of the Start requests it received; moto keeps none.
    fn starts_received(&self) -> Option<u64> {
        match &self.server {
            Server::Sandbox(s) => Some(s.stats().requests_for("StartDeliveryStreamEncryption")),
            Server::Moto { .. } => None,
        }
    }
}

/// Each scenario as two tests, `<scenario>::moto` and `<scenario>::sandbox`.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn moto() {
                super::$scenario(&super::Backend::moto());
            }

            #[test]
            fn sandbox() {
                super::$scenario(&super::Backend::sandbox());
            }
        }
    )*};
}

on_both!(
    plan_of_a_mixed_fleet,
    apply_of_a_mixed_fleet,
    inventory_of_a_region,
    resume_after_kill_9_converges,
);

// ---------------------------------------------------------------------------------------------
// Seeding through the SDK, as any AWS user would.

const ROLE: &str = "arn:aws:iam::123456789012:role/firehose-delivery";

/// An S3 destination with every member moto needs to echo a description the Rust SDK parses
/// (it requires `BufferingHints`, `CompressionFormat` and `EncryptionConfiguration` in the
/// description, and moto only echoes what it was given).
fn s3_destination(name: &str) -> ExtendedS3DestinationConfiguration {
    ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn(format!("arn:aws:s3:::conformance-{name}"))
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(5)
                .interval_in_seconds(300)
                .build(),
        )
        .compression_format(CompressionFormat::Uncompressed)
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .no_encryption_config(NoEncryptionConfig::NoEncryption)
                .build(),
        )
        .build()
        .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    DirectPut,
    Kinesis,
}

async fn create_stream(fh: &aws_sdk_firehose::Client, name: &str, source: Source) {
    let mut create = fh
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(s3_destination(name));
    create = match source {
        Source::DirectPut => create.delivery_stream_type(DeliveryStreamType::DirectPut),
        Source::Kinesis => create
            .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
            .kinesis_stream_source_configuration(
                KinesisStreamSourceConfiguration::builder()
                    .kinesis_stream_arn(format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"))
                    .role_arn(ROLE)
                    .build()
                    .unwrap(),
            ),
    };
    create
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateDeliveryStream {name}: {}", sdk_error(&e)));
}

/// A symmetric encryption key; its ARN.
async fn create_key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .description("firehose-sse conformance")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey: {}", sdk_error(&e)))
        .key_metadata
        .expect("CreateKey returns KeyMetadata")
        .arn
        .expect("KeyMetadata has an Arn")
}

fn encryption_input(key: Option<&str>) -> EncryptionInput {
    match key {
        None => EncryptionInput::builder().key_type(KeyType::AwsOwnedCmk),
        Some(arn) => EncryptionInput::builder()
            .key_type(KeyType::CustomerManagedCmk)
            .key_arn(arn),
    }
    .build()
    .unwrap()
}

/// Encrypts a stream with `key` (None: the AWS-owned key) behind our tool's back and waits
/// until it is ENABLED.
async fn encrypt(fh: &aws_sdk_firehose::Client, name: &str, key: Option<&str>) {
    fh.start_delivery_stream_encryption()
        .delivery_stream_name(name)
        .delivery_stream_encryption_configuration_input(encryption_input(key))
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartDeliveryStreamEncryption {name}: {}", sdk_error(&e)));
    settle(fh, name, |d| enc(d) == Some(Enc::Enabled)).await;
}

fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug>(e: &E) -> String {
    format!(
        "{} {} ({e:?})",
        e.code().unwrap_or("(no code)"),
        e.message().unwrap_or("")
    )
}

async fn describe(fh: &aws_sdk_firehose::Client, name: &str) -> Option<DeliveryStreamDescription> {
    match fh
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(out) => Some(
            out.delivery_stream_description
                .expect("Describe returns a DeliveryStreamDescription"),
        ),
        Err(e) if e.code() == Some("ResourceNotFoundException") => None,
        Err(e) => panic!("DescribeDeliveryStream {name}: {}", sdk_error(&e)),
    }
}

fn enc(d: &DeliveryStreamDescription) -> Option<Enc> {
    d.delivery_stream_encryption_configuration()
        .and_then(|c| c.status())
        .cloned()
}

/// Polls Describe until `done` holds (at once on moto, after a transition on the sandbox).
async fn settle(
    fh: &aws_sdk_firehose::Client,
    name: &str,
    done: impl Fn(&DeliveryStreamDescription) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = describe(fh, name)
            .await
            .unwrap_or_else(|| panic!("{name} vanished"));
        if done(&d) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} did not settle: {d:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stream as a direct Describe shows it, reduced to what encryption is in force: a stream
/// whose description has no encryption configuration or no status is DISABLED, and a DISABLED
/// stream has no key, whatever configuration it still echoes (moto keeps the last one after a
/// Stop).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    source: String,
    status: String,
    key_type: Option<String>,
    key_arn: Option<String>,
}

impl Seen {
    fn new(source: &str, status: &str, key: Option<Option<&str>>) -> Seen {
        let (key_type, key_arn) = match key {
            None => (None, None),
            Some(None) => (Some("AWS_OWNED_CMK".to_owned()), None),
            Some(Some(arn)) => (
                Some("CUSTOMER_MANAGED_CMK".to_owned()),
                Some(arn.to_owned()),
            ),
        };
        Seen {
            source: source.to_owned(),
            status: status.to_owned(),
            key_type,
            key_arn,
        }
    }
}

/// What Describe says, verbatim, of a stream's encryption: (status, key type, key ARN); a
/// missing status reads DISABLED.
type Echo = (String, Option<String>, Option<String>);

/// A direct Describe of a stream, or None when it does not exist: what is in force, and the
/// encryption configuration verbatim.
async fn seen(fh: &aws_sdk_firehose::Client, name: &str) -> Option<(Seen, Echo)> {
    let d = describe(fh, name).await?;
    assert_eq!(
        d.delivery_stream_status(),
        &DeliveryStreamStatus::Active,
        "{name}: {d:?}"
    );
    let c = d.delivery_stream_encryption_configuration();
    let status = c
        .and_then(|c| c.status())
        .map_or("DISABLED", |s| s.as_str())
        .to_owned();
    let echo: Echo = (
        status.clone(),
        c.and_then(|c| c.key_type()).map(|t| t.as_str().to_owned()),
        c.and_then(|c| c.key_arn()).map(str::to_owned),
    );
    let (key_type, key_arn) = if status == "DISABLED" {
        (None, None)
    } else {
        (echo.1.clone(), echo.2.clone())
    };
    let now = Seen {
        source: d.delivery_stream_type().as_str().to_owned(),
        status,
        key_type,
        key_arn,
    };
    Some((now, echo))
}

/// Every named stream as a direct Describe shows it now.
fn describe_all<'a>(
    b: &Backend,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, Option<Seen>)> {
    b.block_on(async {
        let fh = b.firehose();
        let mut all = Vec::new();
        for name in names {
            all.push((name.to_owned(), seen(&fh, name).await.map(|(s, _)| s)));
        }
        all
    })
}

/// Describe's encryption configuration of `name`, verbatim.
fn echo(b: &Backend, name: &str) -> Option<Echo> {
    b.block_on(async { seen(&b.firehose(), name).await.map(|(_, e)| e) })
}

// ---------------------------------------------------------------------------------------------
// The mixed fleet of scenarios 1 to 3.

/// The keys of the mixed fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    AwsOwned,
    /// The customer key most of the fleet moves to.
    Target,
    /// Another customer key, protecting streams before the run.
    Other,
    /// A key ARN KMS does not know.
    Absent,
    /// A customer key that is disabled.
    Disabled,
}

/// A stream of the mixed fleet before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// DirectPut, never encrypted.
    Plain,
    /// KinesisStreamAsSource, never encrypted.
    Kinesis,
    /// DirectPut, ENABLED with this key.
    On(K),
    /// DirectPut, encrypted with this key then stopped: DISABLED.
    Stopped(K),
    /// No such stream.
    Missing,
}

/// One row of the mixed fleet: the stream as seeded, its target key, and what plan decides.
struct Row {
    stream: &'static str,
    before: Before,
    target: K,
    action: &'static str,
    reason: Option<&'static str>,
}

const fn row(
    stream: &'static str,
    before: Before,
    target: K,
    action: &'static str,
    reason: Option<&'static str>,
) -> Row {
    Row {
        stream,
        before,
        target,
        action,
        reason,
    }
}

/// Fleet order. Every action and the reasons that moto can produce: unencrypted DirectPut
/// streams to the AWS-owned key and to a customer key, a KinesisStreamAsSource stream, a stream
/// already at its AWS-owned target, streams ENABLED with another key (rekeys, between customer
/// keys and both ways between a customer key and the AWS-owned key), streams whose
/// encryption was stopped (moto still echoes their old key: they must be enabled, not taken for
/// done), a key KMS does not know, a disabled key, and a stream that does not exist.
#[rustfmt::skip]
const MIXED: [Row; 12] = [
    row("plain",              Before::Plain,                K::AwsOwned, "enable", None),
    row("plain-to-key",       Before::Plain,                K::Target,   "enable", None),
    row("from-kinesis",       Before::Kinesis,              K::AwsOwned, "skip",   Some("not_direct_put")),
    row("on-aws",             Before::On(K::AwsOwned),      K::AwsOwned, "noop",   None),
    row("on-other",           Before::On(K::Other),         K::Target,   "rekey",  None),
    row("on-aws-to-key",      Before::On(K::AwsOwned),      K::Target,   "rekey",  None),
    row("on-other-to-aws",    Before::On(K::Other),         K::AwsOwned, "rekey",  None),
    row("stopped",            Before::Stopped(K::AwsOwned), K::AwsOwned, "enable", None),
    row("stopped-from-other", Before::Stopped(K::Other),    K::Other,    "enable", None),
    row("to-missing-key",     Before::Plain,                K::Absent,   "skip",   Some("key_not_found")),
    row("to-disabled-key",    Before::Plain,                K::Disabled, "skip",   Some("key_disabled")),
    row("gone",               Before::Missing,              K::AwsOwned, "skip",   Some("not_found")),
];

/// The mixed fleet, seeded.
struct Mixed {
    target: String,
    other: String,
    absent: String,
    disabled: String,
    /// Start requests the backend counted once seeded (the sandbox counts; moto does not).
    seed_starts: Option<u64>,
}

impl Mixed {
    /// The ARN of a customer key, None for the AWS-owned key.
    fn arn(&self, k: K) -> Option<&str> {
        match k {
            K::AwsOwned => None,
            K::Target => Some(&self.target),
            K::Other => Some(&self.other),
            K::Absent => Some(&self.absent),
            K::Disabled => Some(&self.disabled),
        }
    }

    fn csv(&self) -> String {
        let mut text = String::from("stream,region,key_arn\n");
        for r in &MIXED {
            text.push_str(&format!(
                "{},{REGION},{}\n",
                r.stream,
                self.arn(r.target).unwrap_or("")
            ));
        }
        text
    }

    /// A row's stream as seeded.
    fn before(&self, r: &Row) -> Option<Seen> {
        match r.before {
            Before::Plain | Before::Stopped(_) => Some(Seen::new("DirectPut", "DISABLED", None)),
            Before::Kinesis => Some(Seen::new("KinesisStreamAsSource", "DISABLED", None)),
            Before::On(k) => Some(Seen::new("DirectPut", "ENABLED", Some(self.arn(k)))),
            Before::Missing => None,
        }
    }

    /// A row's stream once the fleet is applied: at its target unless skipped.
    fn after(&self, r: &Row) -> Option<Seen> {
        match r.action {
            "enable" | "rekey" | "noop" => {
                Some(Seen::new("DirectPut", "ENABLED", Some(self.arn(r.target))))
            }
            _ => self.before(r),
        }
    }

    fn all(&self, state: impl Fn(&Row) -> Option<Seen>) -> Vec<(String, Option<Seen>)> {
        MIXED
            .iter()
            .map(|r| (r.stream.to_owned(), state(r)))
            .collect()
    }
}

fn stream_names() -> impl Iterator<Item = &'static str> {
    MIXED.iter().map(|r| r.stream)
}

fn seed_mixed(b: &Backend) -> Mixed {
    let mut mixed = b.block_on(async {
        let fh = b.firehose();
        let kms = b.kms();
        let target = create_key(&kms).await;
        let other = create_key(&kms).await;
        let disabled = create_key(&kms).await;
        // By key id: moto 5.2 answers DisableKey by ARN with HTTP 500 (AWS takes either).
        kms.disable_key()
            .key_id(disabled.rsplit('/').next().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("DisableKey: {}", sdk_error(&e)));
        let mixed = Mixed {
            target,
            other,
            absent: format!(
                "arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
            ),
            disabled,
            seed_starts: None,
        };
        let existing = || MIXED.iter().filter(|r| r.before != Before::Missing);
        for r in existing() {
            let source = match r.before {
                Before::Kinesis => Source::Kinesis,
                _ => Source::DirectPut,
            };
            create_stream(&fh, r.stream, source).await;
        }
        for r in existing() {
            settle(&fh, r.stream, |d| {
                d.delivery_stream_status() == &DeliveryStreamStatus::Active
            })
            .await;
        }
        for r in existing() {
            match r.before {
                Before::On(k) => encrypt(&fh, r.stream, mixed.arn(k)).await,
                Before::Stopped(k) => {
                    encrypt(&fh, r.stream, mixed.arn(k)).await;
                    fh.stop_delivery_stream_encryption()
                        .delivery_stream_name(r.stream)
                        .send()
                        .await
                        .unwrap_or_else(|e| {
                            panic!(
                                "StopDeliveryStreamEncryption {}: {}",
                                r.stream,
                                sdk_error(&e)
                            )
                        });
                    settle(&fh, r.stream, |d| enc(d) == Some(Enc::Disabled)).await;
                }
                _ => {}
            }
        }
        mixed
    });
    mixed.seed_starts = b.starts_received();
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.before(r)),
        "the seeded world"
    );
    mixed
}

/// Start/Stop attempts the ledger holds for a stream (every state).
fn attempts(w: &Workdir, name: &str) -> i64 {
    w.sql()
        .query_row(
            "SELECT COUNT(*) FROM attempts a JOIN streams t ON t.id = a.stream_id WHERE t.name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

fn items<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {doc:#}"))
        .iter()
        .find(|i| i["stream"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc:#}"))
}

fn key_json(key_type: Option<&str>, key_arn: Option<&str>) -> Value {
    serde_json::json!({"key_type": key_type, "key_arn": key_arn})
}

/// The `{key_type, key_arn}` of a target.
fn target_json(key_arn: Option<&str>) -> Value {
    match key_arn {
        None => key_json(Some("AWS_OWNED_CMK"), None),
        Some(arn) => key_json(Some("CUSTOMER_MANAGED_CMK"), Some(arn)),
    }
}

fn report(w: &Workdir) -> Value {
    w.run(&["report", "--format", "json"]).assert_code(0).json()
}

/// Fast pacing for runs whose pace is not under test (neither backend throttles here).
const FAST: [&str; 4] = ["--describe-tps", "50", "--start-tps", "50"];

fn run_with(w: &Workdir, args: &[&str], extra: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend_from_slice(extra);
    w.run(&all)
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: plan.

fn plan_of_a_mixed_fleet(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let fleet = w.fleet("fleet.csv", &mixed.csv());
    let plan = run_with(
        &w,
        &["plan", fleet.to_str().unwrap(), "-q", "--output", "json"],
        &FAST,
    )
    .assert_code(0)
    .json();

    let verdicts: Vec<(&str, &str, Option<&str>)> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["stream"].as_str().unwrap(),
                i["action"].as_str().unwrap(),
                i["reason"].as_str(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, Option<&str>)> = MIXED
        .iter()
        .map(|r| (r.stream, r.action, r.reason))
        .collect();
    assert_eq!(verdicts, expected, "{plan:#}");
    assert_eq!(
        plan["summary"],
        serde_json::json!({"enable": 4, "rekey": 3, "noop": 1, "skip": 4, "defer": 0}),
        "{plan:#}"
    );
    // What plan shows as current is what Describe answers; the target is the fleet's.
    for r in &MIXED {
        let item = items(&plan, r.stream);
        assert_eq!(
            item["target"],
            target_json(mixed.arn(r.target)),
            "{}: {item:#}",
            r.stream
        );
        let Some((status, key_type, key_arn)) = echo(b, r.stream) else {
            continue;
        };
        assert_eq!(
            (
                item["current"]["stream_status"].as_str(),
                item["current"]["status"].as_str(),
            ),
            (Some("ACTIVE"), Some(status.as_str())),
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(
            key_json(
                item["current"]["key_type"].as_str(),
                item["current"]["key_arn"].as_str()
            ),
            key_json(key_type.as_deref(), key_arn.as_deref()),
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(item["account"], ACCOUNT, "{}: {item:#}", r.stream);
    }
    // The keys passed the KMS preflight and are counted: three streams onto the target key;
    // two leave the other key and one (stopped, so not counted now) comes back to it.
    let key_line = |arn: &str| {
        let line = plan["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_arn"] == arn)
            .unwrap_or_else(|| panic!("no line for {arn} in {plan:#}"));
        (line["streams_now"].as_u64(), line["streams_after"].as_u64())
    };
    assert_eq!(key_line(&mixed.target), (Some(0), Some(3)), "target key");
    assert_eq!(key_line(&mixed.other), (Some(2), Some(1)), "other key");

    // A dry run: every stream is as seeded, and nothing was started.
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.before(r))
    );
    for name in stream_names() {
        assert_eq!(attempts(&w, name), 0, "plan sent a Start to {name}");
    }
    assert_eq!(b.starts_received(), mixed.seed_starts, "a Start was sent");
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: apply.

fn apply_of_a_mixed_fleet(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let fleet = w.fleet("fleet.csv", &mixed.csv());
    let summary = run_with(
        &w,
        &[
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--output",
            "json",
            "--first-poll",
            "100ms",
        ],
        &FAST,
    )
    .assert_code(0)
    .json();
    assert_eq!(summary["failed"], serde_json::json!([]), "{summary:#}");
    assert_eq!(summary["deferred"], serde_json::json!([]), "{summary:#}");

    // Our report: each stream where the plan meant it to end, with one Start per change.
    let report = report(&w);
    assert_eq!(report["outcome"], "converged", "{report:#}");
    for r in &MIXED {
        let item = items(&report, r.stream);
        let target = mixed.arn(r.target);
        let (phase, status, key) = match r.action {
            "enable" | "rekey" | "noop" => {
                ("done", Some("ENABLED".to_owned()), target_json(target))
            }
            // Skipped streams are reported as Describe shows them.
            _ => match echo(b, r.stream) {
                Some((status, key_type, key_arn)) => (
                    "skipped",
                    Some(status),
                    key_json(key_type.as_deref(), key_arn.as_deref()),
                ),
                None => ("skipped", None, key_json(None, None)),
            },
        };
        assert_eq!(
            (
                item["phase"].as_str(),
                item["reason"].as_str(),
                item["status"].as_str()
            ),
            (Some(phase), r.reason, status.as_deref()),
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(
            key_json(item["key_type"].as_str(), item["key_arn"].as_str()),
            key,
            "{}: {item:#}",
            r.stream
        );
        assert_eq!(
            item["target"],
            target_json(target),
            "{}: {item:#}",
            r.stream
        );
        let starts = i64::from(matches!(r.action, "enable" | "rekey"));
        assert_eq!(item["attempts"], starts, "{}: {item:#}", r.stream);
        assert_eq!(attempts(&w, r.stream), starts, "{}", r.stream);
    }

    // The service: every DirectPut stream the plan changed is ENABLED with its target key;
    // the KinesisStreamAsSource stream and those with a bad key are untouched.
    assert_eq!(
        describe_all(b, stream_names()),
        mixed.all(|r| mixed.after(r))
    );
    if let (Some(now), Some(seeded)) = (b.starts_received(), mixed.seed_starts) {
        assert_eq!(now - seeded, 7, "one Start per enable and rekey");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: inventory.

fn inventory_of_a_region(b: &Backend) {
    let mixed = seed_mixed(b);
    let w = b.workdir();
    let out = w.path("unencrypted.csv");
    let summary = run_with(
        &w,
        &[
            "inventory",
            "--region",
            REGION,
            "-q",
            "--output",
            "json",
            "--out",
            out.to_str().unwrap(),
        ],
        &FAST[..2],
    )
    .assert_code(0)
    .json();
    let mut by_key = serde_json::Map::new();
    by_key.insert("AWS_OWNED_CMK".into(), 2.into());
    by_key.insert(mixed.other.clone(), 2.into());
    assert_eq!(
        summary["regions"],
        serde_json::json!([{
            "region": REGION,
            "streams": 11,
            "by_source_type": {"DirectPut": 10, "KinesisStreamAsSource": 1},
            "by_encryption_status": {"DISABLED": 7, "ENABLED": 4},
            "by_key": by_key,
            "unencrypted_direct_put": 6,
        }]),
        "{summary:#}"
    );

    // Every stream of the region is in the ledger with its type, status and key in force, and
    // that is what a direct Describe shows.
    let existing: Vec<&str> = MIXED
        .iter()
        .filter(|r| r.before != Before::Missing)
        .map(|r| r.stream)
        .collect();
    let db = w.sql();
    let ledger: Vec<(String, Option<Seen>)> = existing
        .iter()
        .map(|name| {
            let (account, seen) = db
                .query_row(
                    "SELECT account, source_type, enc_status, in_force_type, in_force_arn
                     FROM streams WHERE region = ?1 AND name = ?2",
                    [REGION, name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            Seen {
                                source: r.get(1)?,
                                status: r.get(2)?,
                                key_type: r.get(3)?,
                                key_arn: r.get(4)?,
                            },
                        ))
                    },
                )
                .unwrap_or_else(|e| panic!("{name} is not in the ledger: {e}"));
            assert_eq!(account, ACCOUNT, "{name}");
            ((*name).to_owned(), Some(seen))
        })
        .collect();
    let described = describe_all(b, existing.iter().copied());
    assert_eq!(ledger, described, "the ledger after inventory");
    let expected: Vec<(String, Option<Seen>)> = MIXED
        .iter()
        .filter(|r| r.before != Before::Missing)
        .map(|r| (r.stream.to_owned(), mixed.before(r)))
        .collect();
    assert_eq!(described, expected);
    let total: i64 = db
        .query_row("SELECT COUNT(*) FROM streams", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 11);

    // The starting fleet file: the unencrypted DirectPut streams, to the AWS-owned key.
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.remove(0), "stream,region,key_arn,key_type");
    lines.sort_unstable();
    let expected: Vec<String> = [
        "plain",
        "plain-to-key",
        "stopped",
        "stopped-from-other",
        "to-disabled-key",
        "to-missing-key",
    ]
    .iter()
    .map(|n| format!("{n},{REGION},,AWS_OWNED_CMK"))
    .collect();
    assert_eq!(lines, expected);
    assert_eq!(b.starts_received(), mixed.seed_starts, "a Start was sent");
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: kill -9 in the middle of an apply, then resume.

/// Stock moto allows 50 streams per region.
const BULK: usize = 45;

fn resume_after_kill_9_converges(b: &Backend) {
    let names: Vec<String> = (0..BULK).map(|i| format!("bulk-{i:02}")).collect();
    // Every third stream to a customer key, the rest to the AWS-owned key.
    let key = b.block_on(async {
        let fh = b.firehose();
        let key = create_key(&b.kms()).await;
        for name in &names {
            create_stream(&fh, name, Source::DirectPut).await;
        }
        for name in &names {
            settle(&fh, name, |d| {
                d.delivery_stream_status() == &DeliveryStreamStatus::Active
            })
            .await;
        }
        key
    });
    let target = |i: usize| i.is_multiple_of(3).then_some(key.as_str());
    let w = b.workdir();
    let mut csv = String::from("stream,region,key_arn\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("{name},{REGION},{}\n", target(i).unwrap_or("")));
    }
    let fleet = w.fleet("fleet.csv", &csv);

    // Observation is quick; the Starts, at 3 a second, take 15 s: kill once a few are sent.
    let mut child = w
        .command()
        .args([
            "apply",
            fleet.to_str().unwrap(),
            "--yes",
            "-q",
            "--describe-tps",
            "50",
            "--start-tps",
            "3",
            "--first-poll",
            "100ms",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Opening a missing ledger would create it under the binary's feet: wait for it.
        let sent = if w.ledger().exists() {
            w.sql()
                .query_row("SELECT COUNT(*) FROM attempts", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0)
        } else {
            0
        };
        if sent >= 4 {
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before it could be killed, after {sent} Starts");
        }
        assert!(Instant::now() < deadline, "apply sent no Start in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let counted = |sql: &str| -> i64 { w.sql().query_row(sql, [], |r| r.get(0)).unwrap() };
    let in_flight = counted("SELECT COUNT(*) FROM attempts WHERE state = 'in_flight'");
    let started = counted("SELECT COUNT(*) FROM attempts");
    assert!(
        (started as usize) < BULK,
        "killed after every Start ({started}); the scenario needs a run cut short"
    );

    run_with(
        &w,
        &["resume", "--yes", "-q", "--first-poll", "100ms"],
        &FAST,
    )
    .assert_code(0);
    assert_eq!(
        counted("SELECT COUNT(*) FROM attempts WHERE state = 'in_flight'"),
        0,
        "resume reconciled every attempt the kill left in flight"
    );

    let report = report(&w);
    assert_eq!(report["outcome"], "converged", "{report:#}");
    for (i, name) in names.iter().enumerate() {
        let item = items(&report, name);
        assert_eq!(
            (item["phase"].as_str(), item["status"].as_str()),
            (Some("done"), Some("ENABLED")),
            "{name}: {item:#}"
        );
        assert_eq!(
            serde_json::json!({"key_type": item["key_type"], "key_arn": item["key_arn"]}),
            target_json(target(i)),
            "{name}: {item:#}"
        );
    }
    // No Start wasted: one per stream, plus at most one for each whose outcome the kill left
    // unknown (resume reconciles those with Describe before anything else).
    let total = counted("SELECT COUNT(*) FROM attempts WHERE state != 'not_sent'");
    assert!(
        total <= BULK as i64 + in_flight,
        "{total} Starts for {BULK} streams with {in_flight} in flight at the kill"
    );
    for name in &names {
        let n = attempts(&w, name);
        assert!((1..=2).contains(&n), "{name}: {n} attempts");
    }
    if let Some(starts) = b.starts_received() {
        assert!(
            starts <= BULK as u64 + in_flight as u64,
            "{starts} Starts received"
        );
    }

    let expected: Vec<(String, Option<Seen>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.clone(),
                Some(Seen::new("DirectPut", "ENABLED", Some(target(i)))),
            )
        })
        .collect();
    assert_eq!(describe_all(b, names.iter().map(String::as_str)), expected);
}

// ---------------------------------------------------------------------------------------------
// TLS: a private certificate authority, as behind a corporate TLS-inspecting proxy.

/// moto serves HTTPS with a certificate signed by a throwaway CA: the SDK's client trusts it
/// only with `--ca-bundle` (or `AWS_CA_BUNDLE`), and without it the error says what to do.
#[test]
fn a_private_ca_is_trusted_only_through_ca_bundle() {
    let certs = tempfile::tempdir().unwrap();
    let python = moto_server().parent().unwrap().join("python");
    run_setup(
        Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/make_test_ca.py"))
            .arg(certs.path()),
        "make a test certificate authority",
    );
    let (ca, cert, key) = (
        certs.path().join("ca.pem"),
        certs.path().join("cert.pem"),
        certs.path().join("key.pem"),
    );
    let moto = Moto::start_with(Some((&cert, &key)));
    assert!(moto.url.starts_with("https://"), "{}", moto.url);
    let w = Workdir {
        dir: tempfile::tempdir().unwrap(),
        endpoint: moto.url.clone(),
    };
    let inventory = ["inventory", "--region", REGION, "--output", "json"];

    let flag = w
        .command()
        .args(inventory)
        .arg("--ca-bundle")
        .arg(&ca)
        .output()
        .unwrap();
    let flag = Run::from(flag);
    let regions = &flag.assert_code(0).json()["regions"];
    assert_eq!(regions[0]["region"], REGION, "{}", flag.stdout);
    assert_eq!(regions[0]["streams"], 0, "{}", flag.stdout);

    let env = Run::from(
        w.command()
            .args(inventory)
            .env("AWS_CA_BUNDLE", &ca)
            .output()
            .unwrap(),
    );
    env.assert_code(0);

    let untrusted = Run::from(w.command().args(inventory).output().unwrap());
    untrusted.assert_code(1);
    for needle in ["certificate", "--ca-bundle", "AWS_CA_BUNDLE"] {
        assert!(
            untrusted.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            untrusted.stderr
        );
    }
}
