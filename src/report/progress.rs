//! Progress on stderr: one status line fitted to the terminal's width, drawn by indicatif on a
//! terminal; a plain line every few seconds otherwise; nothing with `-q`. Fed by the commands
//! from the engine's events; the engine never draws.
//!
//! The line never wraps: a wrapped line is two rows on screen but one to indicatif, so every
//! redraw (and the `^C` a terminal echoes) would leave a stale copy behind. [`fit`] keeps what
//! matters most — the count, then the ETA, failures and deferrals, then the bar, then the rest —
//! and drops the least important parts first, measuring plain text (colour is added after).
//! The ETA is the caller's (apply's comes from the rates its calls achieve) or, for a bar of
//! equal steps, the rate of steps done so far once there are enough of them; never indicatif's
//! guess from the first few steps.
//!
//! While a status line is drawn, anything else written to stderr — log lines, the words on
//! Ctrl-C — goes above it through [`write_above`] and [`announce`], never under indicatif's
//! feet (it redraws where it believes the cursor is, and would leave its old line behind).

use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// How progress is drawn on stderr, and whether in colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar { color: bool },
    Lines { color: bool },
    Quiet,
}

impl Mode {
    /// Nothing when quiet, a bar when stderr is a terminal, plain lines otherwise; `color`:
    /// whether stderr may be coloured.
    pub fn choose(quiet: bool, stderr_is_terminal: bool, color: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if stderr_is_terminal {
            Mode::Bar { color }
        } else {
            Mode::Lines { color }
        }
    }

    /// Whether lines drawn in this mode are coloured.
    pub fn color(self) -> bool {
        match self {
            Mode::Bar { color } | Mode::Lines { color } => color,
            Mode::Quiet => false,
        }
    }
}

/// The status line drawn now, if any (and its number, so that only its owner removes it).
static DRAWN: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
static NEXT_BAR: AtomicU64 = AtomicU64::new(0);

fn drawn() -> std::sync::MutexGuard<'static, Option<(u64, ProgressBar)>> {
    DRAWN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes `bytes` to stderr, above the status line when one is drawn.
pub fn write_above(bytes: &[u8]) {
    let write = || {
        let _ = std::io::stderr().write_all(bytes);
    };
    let bar = drawn().as_ref().map(|(_, bar)| bar.clone());
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// Says `words` on its own line when a signal arrives: above the status line when one is
/// drawn (clearing the `^C` the terminal echoed onto its row), after a line break otherwise.
pub fn announce(words: &str) {
    let bar = drawn().as_ref().map(|(_, bar)| bar.clone());
    match bar {
        Some(bar) => bar.suspend(|| eprintln!("{words}")),
        None => eprintln!("\n{words}"),
    }
}

/// [`announce`] for the last words before the process exits: the status line is removed.
pub fn announce_last(words: &str) {
    let bar = drawn().take();
    match bar {
        Some((_, bar)) => {
            bar.finish_and_clear();
            eprintln!("{words}");
        }
        None => eprintln!("\n{words}"),
    }
}

/// The terminal as indicatif sees it: [`RIGHT_MARGIN`] columns narrower. indicatif pads each
/// line to the width it is told and leaves the cursor there, so the `^C` a terminal echoes
/// lands on the status line's own row, and is cleared with it, instead of wrapping onto a row
/// indicatif does not know of (where its next redraw would start, below a stale copy).
#[derive(Debug)]
struct Narrower(console::Term);

impl TermLike for Narrower {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(RIGHT_MARGIN as u16).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// How often the plain-line mode prints.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// Columns left free at the right edge: a line filling the last column wraps on some
/// terminals, and a `^C` echoed after it would too.
const RIGHT_MARGIN: usize = 3;

/// The bar's width: at least this, or none at all...
const BAR_MIN: usize = 10;
/// ... and at most this.
const BAR_MAX: usize = 30;

/// Steps done before a bar of equal steps trusts its own rate for an ETA.
const ETA_AFTER_STEPS: u64 = 5;
/// Time before a bar of equal steps trusts its own rate for an ETA.
const ETA_AFTER: Duration = Duration::from_secs(2);

/// One part of a status line after the count (`failed 3`, `eta 1m 05s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    /// Parts are kept in rank order while they fit (0 first); the bar ranks [`BAR_RANK`].
    pub rank: u8,
    /// Drawn red when colour is on (failures).
    pub alert: bool,
}

impl Segment {
    pub fn new(text: impl Into<String>, rank: u8) -> Segment {
        Segment {
            text: text.into(),
            rank,
            alert: false,
        }
    }

    pub fn alert(mut self) -> Segment {
        self.alert = true;
        self
    }
}

/// Where the bar ranks among segments: after the ETA, failures and deferrals.
pub const BAR_RANK: u8 = 3;

/// What a status line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status<'a> {
    pub label: &'a str,
    pub done: u64,
    pub total: u64,
    /// In display order.
    pub segments: &'a [Segment],
}

/// The status line for a terminal `width` columns wide: `label [bar] done/total · parts`, the
/// parts that fit kept by rank, measured on plain text, coloured after when `color`.
pub fn fit(status: &Status<'_>, width: usize, color: bool) -> String {
    let width = width.saturating_sub(RIGHT_MARGIN).max(1);
    let count = format!("{}/{}", status.done, status.total);
    let head = format!("{} {count}", status.label);
    let used = console::measure_text_width(&head);
    if used >= width {
        return console::truncate_str(&head, width, "").into_owned();
    }
    let mut room = width - used;
    // The segments and the bar in rank order, each kept if it fits.
    let mut order: Vec<Option<usize>> = (0..status.segments.len()).map(Some).collect();
    order.push(None); // the bar
    order.sort_by_key(|s| s.map_or(BAR_RANK, |i| status.segments[i].rank));
    let mut kept = vec![false; status.segments.len()];
    let mut bar = 0;
    for s in order {
        match s {
            // " [" + bar + "]"
            None if room >= BAR_MIN + 3 => {
                bar = BAR_MIN;
                room -= BAR_MIN + 3;
            }
            None => {}
            Some(i) => {
                let cost = 3 + console::measure_text_width(&status.segments[i].text);
                if cost <= room {
                    kept[i] = true;
                    room -= cost;
                }
            }
        }
    }
    if bar > 0 {
        bar += room.min(BAR_MAX - BAR_MIN);
    }
    let red = Style::new().red().force_styling(color);
    let mut line = status.label.to_owned();
    if bar > 0 {
        line.push_str(&format!(" [{}]", bar_text(status.done, status.total, bar)));
    }
    line.push(' ');
    line.push_str(&count);
    for (segment, _) in status.segments.iter().zip(&kept).filter(|(_, k)| **k) {
        line.push_str(" · ");
        if segment.alert && color {
            line.push_str(&red.apply_to(&segment.text).to_string());
        } else {
            line.push_str(&segment.text);
        }
    }
    line
}

/// `=====>     ` for `done` of `total` in `width` cells.
fn bar_text(done: u64, total: u64, width: usize) -> String {
    let filled = if total == 0 {
        width
    } else {
        ((done.min(total) as u128 * width as u128) / total as u128) as usize
    };
    let mut text = "=".repeat(filled);
    if filled < width {
        text.push('>');
        text.push_str(&" ".repeat(width - filled - 1));
    }
    text
}

/// `eta 1m 05s`.
pub fn eta_segment(eta: Duration) -> Segment {
    Segment::new(
        format!("eta {}", super::human_duration(eta.as_millis() as i64)),
        0,
    )
}

/// The ETA of a run, which is a lower bound (the transitions' tail comes on top of the calls
/// still needed at the rates achieved): `eta ≥1m 23s`.
pub fn eta_floor_segment(eta: Duration) -> Segment {
    Segment::new(
        format!("eta ≥{}", super::human_duration(eta.as_millis() as i64)),
        0,
    )
}

/// The ETA of a bar of equal steps from the rate of the steps done so far: none before
/// [`ETA_AFTER_STEPS`] steps and [`ETA_AFTER`].
pub fn steady_eta(done: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    if done < ETA_AFTER_STEPS || elapsed < ETA_AFTER || done >= total {
        return None;
    }
    Some(elapsed.mul_f64((total - done) as f64 / done as f64))
}

#[derive(Debug)]
struct State {
    done: u64,
    total: u64,
    segments: Vec<Segment>,
    /// The caller gives the ETA (among its segments): no steady-rate ETA is added.
    own_eta: bool,
}

#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    bar: ProgressBar,
    /// Its number in [`DRAWN`].
    id: u64,
    label: String,
    started: Instant,
    state: Mutex<State>,
    last_line: Mutex<Instant>,
}

impl Progress {
    pub fn new(mode: Mode, label: &str, total: u64) -> Progress {
        let id = NEXT_BAR.fetch_add(1, Ordering::Relaxed);
        let bar = match mode {
            Mode::Bar { .. } => {
                let target =
                    ProgressDrawTarget::term_like(Box::new(Narrower(console::Term::stderr())));
                let bar = ProgressBar::with_draw_target(Some(total), target);
                // The line is fitted here; `wide_msg` only guards against a terminal narrowed
                // between two updates.
                bar.set_style(
                    ProgressStyle::with_template("{wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.enable_steady_tick(Duration::from_millis(250));
                *drawn() = Some((id, bar.clone()));
                bar
            }
            _ => ProgressBar::hidden(),
        };
        let progress = Progress {
            mode,
            bar,
            id,
            label: label.to_owned(),
            started: Instant::now(),
            state: Mutex::new(State {
                done: 0,
                total,
                segments: Vec::new(),
                own_eta: false,
            }),
            last_line: Mutex::new(Instant::now()),
        };
        progress.redraw();
        progress
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_position(&self, done: u64) {
        self.state().done = done;
        self.redraw();
        self.maybe_line();
    }

    pub fn inc(&self, n: u64) {
        self.state().done += n;
        self.redraw();
        self.maybe_line();
    }

    /// The parts shown after the count; `own_eta`: an ETA is among them.
    pub fn set_segments(&self, segments: Vec<Segment>, own_eta: bool) {
        let mut state = self.state();
        state.segments = segments;
        state.own_eta = own_eta;
        drop(state);
        self.redraw();
    }

    /// The segments with the steady-rate ETA first, unless the caller gives its own.
    fn segments(&self, state: &State) -> Vec<Segment> {
        let mut segments = Vec::with_capacity(state.segments.len() + 1);
        if !state.own_eta
            && let Some(eta) = steady_eta(state.done, state.total, self.started.elapsed())
        {
            segments.push(eta_segment(eta));
        }
        segments.extend(state.segments.iter().cloned());
        segments
    }

    fn redraw(&self) {
        if !matches!(self.mode, Mode::Bar { .. }) {
            return;
        }
        let width = usize::from(console::Term::stderr().size().1);
        let state = self.state();
        let segments = self.segments(&state);
        let status = Status {
            label: &self.label,
            done: state.done,
            total: state.total,
            segments: &segments,
        };
        let line = fit(&status, width, self.mode.color());
        drop(state);
        self.bar.set_message(line);
    }

    fn maybe_line(&self) {
        if !matches!(self.mode, Mode::Lines { .. }) {
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= LINE_EVERY {
            *last = Instant::now();
            eprintln!("{}", self.line());
        }
    }

    /// The plain-text form of the current state, every part included (for logs, not a
    /// terminal).
    pub fn line(&self) -> String {
        let state = self.state();
        let total = state.total.max(1);
        let segments = self.segments(&state);
        let mut line = format!(
            "{}: {}/{} ({}%)",
            self.label,
            state.done,
            state.total,
            state.done * 100 / total
        );
        for s in &segments {
            line.push_str(" · ");
            line.push_str(&s.text);
        }
        line
    }

    /// Prints a line above the bar (or plainly without one). Written by us, not by indicatif's
    /// `println`: indicatif would lay a long line out at the narrower width it is told, and
    /// the terminal wraps it at its own.
    pub fn println(&self, text: String) {
        match self.mode {
            Mode::Bar { .. } => self.bar.suspend(|| eprintln!("{text}")),
            Mode::Lines { .. } => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        let mut drawn = drawn();
        if drawn.as_ref().is_some_and(|(id, _)| *id == self.id) {
            *drawn = None;
        }
        drop(drawn);
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_segments() -> Vec<Segment> {
        vec![
            eta_segment(Duration::from_secs(65)),
            Segment::new("failed 6", 1).alert(),
            Segment::new("starting 2", 5),
            Segment::new("polling 4", 5),
            Segment::new("done 19", 6),
            Segment::new("deferred 0", 8),
            Segment::new("2.5 Start/s 4.9 Describe/s", 7),
            Segment::new("0 throttled", 8),
        ]
    }

    fn status(segments: &[Segment]) -> Status<'_> {
        Status {
            label: "applying",
            done: 25,
            total: 200,
            segments,
        }
    }

    #[test]
    fn a_wide_terminal_gets_every_part() {
        let segments = apply_segments();
        let line = fit(&status(&segments), 200, false);
        assert_eq!(
            line,
            "applying [===>                          ] 25/200 · eta 1m 05s · failed 6 · starting 2 \
             · polling 4 · done 19 · deferred 0 · 2.5 Start/s 4.9 Describe/s · 0 throttled"
        );
    }

    #[test]
    fn no_width_is_ever_exceeded_and_the_least_important_parts_go_first() {
        let segments = apply_segments();
        for width in 1..=200 {
            let line = fit(&status(&segments), width, false);
            let used = console::measure_text_width(&line);
            assert!(
                used + RIGHT_MARGIN <= width || used <= 1,
                "{width}: {used} {line:?}"
            );
        }
        let at_80 = fit(&status(&segments), 80, false);
        assert_eq!(
            at_80,
            "applying [=>        ] 25/200 · eta 1m 05s · failed 6 · starting 2 · polling 4"
        );
        let at_45 = fit(&status(&segments), 45, false);
        assert_eq!(at_45, "applying 25/200 · eta 1m 05s · failed 6");
        assert_eq!(fit(&status(&segments), 10, false), "applyin");
    }

    #[test]
    fn widths_are_measured_without_colour() {
        let segments = apply_segments();
        let plain = fit(&status(&segments), 80, false);
        let coloured = fit(&status(&segments), 80, true);
        assert_ne!(plain, coloured);
        assert!(
            coloured.contains("\u{1b}[31mfailed 6\u{1b}[0m"),
            "{coloured:?}"
        );
        assert_eq!(console::strip_ansi_codes(&coloured), plain);
    }

    #[test]
    fn the_bar_fills_what_is_left_up_to_its_width() {
        assert_eq!(bar_text(0, 10, 10), ">         ");
        assert_eq!(bar_text(5, 10, 10), "=====>    ");
        assert_eq!(bar_text(10, 10, 10), "==========");
        assert_eq!(bar_text(0, 0, 4), "====");
    }

    #[test]
    fn a_steady_eta_waits_for_enough_steps() {
        let second = Duration::from_secs(1);
        assert_eq!(steady_eta(4, 100, 10 * second), None);
        assert_eq!(steady_eta(10, 100, second), None);
        assert_eq!(steady_eta(10, 100, 2 * second), Some(18 * second));
        assert_eq!(steady_eta(100, 100, 20 * second), None);
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::choose(true, true, true), Mode::Quiet);
        assert_eq!(Mode::choose(false, true, true), Mode::Bar { color: true });
        assert_eq!(
            Mode::choose(false, false, false),
            Mode::Lines { color: false }
        );
        assert!(!Mode::Quiet.color());
    }
}
