//! Python virtualenvs the tests run outside yardsticks from (moto server, the AWS CLI): each
//! made once under `target/` and reused. An exclusive lock on `target/<name>.lock` keeps
//! parallel test processes from building one twice; a marker written last (holding the
//! requirements) tells a complete venv from one a killed install left behind. Without Python 3,
//! venv or pip, or without access to PyPI, a test that needs one fails saying what to install —
//! it never skips.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One virtualenv under `target/`.
pub struct Venv {
    /// Its directory under `target/` (and the name of its lock file).
    pub name: &'static str,
    /// What `pip install` is given.
    pub requirements: &'static [&'static str],
    /// Programs in its `bin/` that a complete install has (its `python` aside).
    pub programs: &'static [&'static str],
    /// Who needs it and what they need, for the messages of a failed setup.
    pub hint: &'static str,
    /// How its progress lines on stderr begin.
    pub label: &'static str,
}

impl Venv {
    /// The venv's `bin/` directory, the venv made first if it is missing or incomplete.
    pub fn ensure(&self) -> PathBuf {
        let target = target_dir();
        std::fs::create_dir_all(&target).unwrap();
        let venv = target.join(self.name);
        let bin = venv.join("bin");
        let marker = venv.join("firehose-sse-installed");
        let wanted = self.requirements.join("\n");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(target.join(format!("{}.lock", self.name)))
            .expect("create the venv lock file");
        lock.lock().expect("lock the venv lock file");
        // The venv's python links to the interpreter that made it: gone if that was removed.
        let complete = std::fs::read_to_string(&marker).is_ok_and(|text| text.trim() == wanted)
            && bin.join("python").exists()
            && self.programs.iter().all(|p| bin.join(p).exists());
        if complete {
            return bin;
        }
        let label = self.label;
        eprintln!(
            "{label}: installing {} into {} (once; about 30 s)",
            self.requirements.join(" "),
            venv.display()
        );
        let _ = std::fs::remove_dir_all(&venv);
        let began = Instant::now();
        self.setup(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        );
        self.setup(
            Command::new(bin.join("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(self.requirements)
                .env("PIP_NO_INPUT", "1"),
            &format!("pip install {}", self.requirements.join(" ")),
        );
        for program in self.programs {
            assert!(
                bin.join(program).exists(),
                "pip installed {} but {} is missing; {}",
                self.requirements.join(" "),
                bin.join(program).display(),
                self.hint
            );
        }
        std::fs::write(&marker, format!("{wanted}\n")).unwrap();
        eprintln!("{label}: installed in {:.0?}", began.elapsed());
        bin
    }

    /// Runs one setup step (of the venv, or of something its tests need); any failure fails
    /// the test with what to install.
    pub fn setup(&self, cmd: &mut Command, what: &str) {
        let hint = self.hint;
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what} ({e}); {hint}"));
        assert!(
            out.status.success(),
            "{what} failed ({}); {hint}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `target/`, wherever Cargo puts it.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_owned()
}
