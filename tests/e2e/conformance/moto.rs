//! moto server for the conformance tests: the virtualenv it runs from, made once under
//! `target/`, and one server process per test on a free loopback port.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The moto release line the scenarios were written against.
const MOTO_REQUIREMENT: &str = "moto[server]>=5.2,<5.3";

/// `target/`, wherever Cargo puts it.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_owned()
}

const PYTHON_HINT: &str = "the conformance tests (tests/e2e/conformance) run moto server from a \
    virtualenv they create under target/: they need Python 3 with the venv module and pip, and \
    access to PyPI (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip)";

/// The `moto_server` of the virtualenv, created (once per target directory) if missing.
pub fn moto_server() -> PathBuf {
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
pub fn run_setup(cmd: &mut Command, what: &str) {
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
pub struct Moto {
    child: Child,
    pub url: String,
    /// Its log (one line per request): a file, since a pipe nobody reads would fill and stall it.
    _log: tempfile::NamedTempFile,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(None)
    }

    /// With `tls: Some((cert, key))`, moto serves HTTPS with that certificate.
    pub fn start_with(tls: Option<(&Path, &Path)>) -> Moto {
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
