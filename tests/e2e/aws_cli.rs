//! The real AWS CLI (version 1, from PyPI) as a yardstick: its output formatters render the
//! same JSON documents ours do, and its commands print the skeletons ours must match. It comes
//! from a virtualenv made once under `target/awscli-venv` (`python3 -m venv`, then `pip
//! install` of the pinned release line), reused; without Python 3, venv or pip, or without
//! access to PyPI, the tests that need it fail saying what to install — they never skip.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// The AWS CLI release line the comparisons were written against.
const AWSCLI_REQUIREMENT: &str = "awscli>=1.46,<1.47";

const PYTHON_HINT: &str = "the AWS CLI comparisons (tests/e2e/aws_cli.rs) run the AWS CLI from a \
    virtualenv they create under target/: they need Python 3 with the venv module and pip, and \
    access to PyPI (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip)";

/// `target/`, wherever Cargo puts it.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_owned()
}

/// The virtualenv's `python`, with the AWS CLI installed (once per target directory).
pub fn python() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(ensure_venv).clone()
}

/// Makes `target/awscli-venv` unless a complete one is there: an exclusive lock keeps
/// parallel test processes from building it twice, a marker written last (holding the
/// requirement) tells a complete venv from one a killed install left behind.
fn ensure_venv() -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let venv = target.join("awscli-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("firehose-sse-installed");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target.join("awscli-venv.lock"))
        .expect("create the venv lock file");
    lock.lock().expect("lock the venv lock file");
    let complete = std::fs::read_to_string(&marker)
        .is_ok_and(|text| text.trim() == AWSCLI_REQUIREMENT)
        && python.exists()
        && venv.join("bin").join("aws").exists();
    if complete {
        return python;
    }
    eprintln!(
        "aws_cli: installing {AWSCLI_REQUIREMENT} into {} (once; about 20 s)",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    let began = Instant::now();
    setup(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
    );
    setup(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                AWSCLI_REQUIREMENT,
            ])
            .env("PIP_NO_INPUT", "1"),
        &format!("pip install '{AWSCLI_REQUIREMENT}'"),
    );
    std::fs::write(&marker, format!("{AWSCLI_REQUIREMENT}\n")).unwrap();
    eprintln!("aws_cli: installed in {:.0?}", began.elapsed());
    python
}

fn setup(cmd: &mut Command, what: &str) {
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

/// awscli's own formatter (`json`, `text` or `table`, `--color off`, no terminal) applied to
/// `document`, titled `title`, after `query` as awscli compiles it.
const FORMAT: &str = r#"
import argparse, json, sys
import jmespath
from awscli.formatter import get_formatter
fmt, title, query = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.load(sys.stdin)
args = argparse.Namespace(query=jmespath.compile(query) if query else None, color="off")
get_formatter(fmt, args)(title, doc, sys.stdout)
"#;

/// What the AWS CLI prints for `document` with `--output format` and `--query query`.
pub fn format(format: &str, title: &str, query: Option<&str>, document: &str) -> String {
    let mut child = Command::new(python())
        .args(["-c", FORMAT, format, title, query.unwrap_or("")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the virtualenv's python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(document.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "awscli's formatter failed on {query:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `aws ARGS` of the virtualenv in `dir`, with no configuration of the developer's and test
/// credentials.
pub fn aws(args: &[&str], dir: &Path) -> std::process::Output {
    let bin = python().parent().unwrap().join("aws");
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTFIREHOSESSE")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run aws")
}
