//! Progress on stderr: an indicatif bar on a terminal, a plain line every few seconds otherwise,
//! nothing with `-q`. Fed by the commands from the engine's events; the engine never draws.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    /// Nothing when quiet, a bar when stderr is a terminal, plain lines otherwise.
    pub fn choose(quiet: bool, stderr_is_terminal: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if stderr_is_terminal {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// How often the plain-line mode prints.
const LINE_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    bar: ProgressBar,
    label: String,
    last_line: Mutex<Instant>,
}

impl Progress {
    pub fn new(mode: Mode, label: &str, total: u64) -> Progress {
        let bar = match mode {
            Mode::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(label.to_owned());
                bar.enable_steady_tick(Duration::from_millis(250));
                bar
            }
            _ => ProgressBar::hidden(),
        };
        bar.set_length(total);
        Progress {
            mode,
            bar,
            label: label.to_owned(),
            last_line: Mutex::new(Instant::now()),
        }
    }

    pub fn set_position(&self, done: u64) {
        self.bar.set_position(done);
        self.maybe_line();
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.maybe_line();
    }

    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    fn maybe_line(&self) {
        if self.mode != Mode::Lines {
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= LINE_EVERY {
            *last = Instant::now();
            eprintln!("{}", self.line());
        }
    }

    /// The plain-text form of the current state.
    pub fn line(&self) -> String {
        let done = self.bar.position();
        let total = self.bar.length().unwrap_or(0).max(1);
        let message = self.bar.message();
        format!(
            "{}: {done}/{total} ({}%){}{}",
            self.label,
            done * 100 / total,
            if message.is_empty() { "" } else { " " },
            message
        )
    }

    /// Prints a line above the bar (or plainly without one).
    pub fn println(&self, text: String) {
        match self.mode {
            Mode::Bar => self.bar.println(text),
            Mode::Lines => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
