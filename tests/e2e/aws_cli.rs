//! The real AWS CLI (version 1, from PyPI) as a yardstick: its output formatters render the
//! same JSON documents ours do, and its commands print the skeletons ours must match. It comes
//! from a virtualenv made once under `target/awscli-venv` (`python3 -m venv`, then `pip
//! install` of the pinned release line), reused; without Python 3, venv or pip, or without
//! access to PyPI, the tests that need it fail saying what to install — they never skip.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::venv::Venv;

/// The AWS CLI release line the comparisons were written against, in `target/awscli-venv`.
const AWSCLI: Venv = Venv {
    name: "awscli-venv",
    requirements: &["awscli>=1.46,<1.47"],
    programs: &["aws"],
    hint: "the AWS CLI comparisons (tests/e2e/aws_cli.rs) run the AWS CLI from a virtualenv \
        they create under target/: they need Python 3 with the venv module and pip, and access \
        to PyPI (Debian/Ubuntu: apt-get install python3 python3-venv python3-pip)",
    label: "aws_cli",
};

/// The virtualenv's `python`, with the AWS CLI installed (once per target directory).
pub fn python() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| AWSCLI.ensure().join("python")).clone()
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
