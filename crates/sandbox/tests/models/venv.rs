//! The Python side of the model test: a virtualenv under the workspace's `target/` with a
//! pinned botocore (and `regex`, for the models' `\p{L}` and look-around patterns), made once
//! under a file lock and reused. Without Python 3, venv or pip, or without access to PyPI, the
//! test fails saying what to install; it never skips.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// The botocore whose models the sandbox is held to, and the `regex` release that matches the
/// models' patterns. Raising botocore is how the sandbox meets a newer model.
pub const REQUIREMENTS: [&str; 2] = ["botocore==1.44.8", "regex==2026.11.19"];

const PYTHON_HINT: &str = "the sandbox's model test (crates/sandbox/tests/models) checks every answer \
    with botocore from a virtualenv it creates under target/: it needs Python 3 with the venv \
    module and pip, and access to PyPI (Debian/Ubuntu: apt-get install python3 python3-venv \
    python3-pip)";

/// `target/`, wherever Cargo puts it.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_owned()
}

/// The venv's python, the venv made (once per target directory) if missing.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(ensure_venv).clone()
}

/// Makes `target/sandbox-models-venv`, unless a complete one is there. An exclusive lock on
/// `target/sandbox-models-venv.lock` keeps parallel test processes from building it twice; a
/// marker written last (holding the requirements) tells a complete venv from one a killed
/// install left behind.
fn ensure_venv() -> PathBuf {
    let target = target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let venv = target.join("sandbox-models-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("sandbox-models-installed");
    let wanted = REQUIREMENTS.join("\n");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(target.join("sandbox-models-venv.lock"))
        .expect("create the venv lock file");
    lock.lock().expect("lock the venv lock file");
    let complete =
        std::fs::read_to_string(&marker).is_ok_and(|text| text.trim() == wanted) && python.exists();
    if complete {
        return python;
    }
    eprintln!(
        "models: installing {} into {} (once)",
        REQUIREMENTS.join(" "),
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    let began = Instant::now();
    run_setup(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
    );
    run_setup(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(REQUIREMENTS)
            .env("PIP_NO_INPUT", "1"),
        &format!("pip install {}", REQUIREMENTS.join(" ")),
    );
    std::fs::write(&marker, format!("{wanted}\n")).unwrap();
    eprintln!("models: installed in {:.0?}", began.elapsed());
    python
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
