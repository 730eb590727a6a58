//! moto server for the conformance tests: the virtualenv it runs from, made once under
//! `target/`, and one server process per test on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::venv::Venv;

/// The moto release line the scenarios were written against, in `target/conformance-venv`.
pub const MOTO: Venv = Venv {
    name: "conformance-venv",
    requirements: &["moto[server]>=5.2,<5.3"],
    programs: &["moto_server"],
    hint: "the conformance tests (tests/e2e/conformance) run moto server from a virtualenv \
        they create under target/: they need Python 3 with the venv module and pip, and access \
        to PyPI (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip)",
    label: "conformance",
};

/// The `moto_server` of the virtualenv, created (once per target directory) if missing.
pub fn moto_server() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| MOTO.ensure().join("moto_server"))
        .clone()
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
