//! A rollout in waves, as `status`, `report` (every format) and the HTML report show it: each
//! wave's streams, state, bake and verdict, and its gate's readings (the last, or all).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{escape, human_duration, md_cell};
use crate::clock::{EpochMillis, rfc3339};
use crate::ledger::{Ledger, LedgerError, WaveRow, WaveState};
use crate::waves::gate::{Reading, StreamReading, Verdict};

/// A run's waves with their readings, read from the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Waves {
    pub waves: Vec<(WaveRow, Vec<Reading>)>,
    pub now: EpochMillis,
}

impl Waves {
    /// The waves of `run_id` (empty for a run without waves).
    pub fn load(ledger: &Ledger, run_id: i64) -> Result<Waves, LedgerError> {
        let mut waves = Vec::new();
        for w in ledger.waves(run_id)? {
            let readings = ledger.readings(run_id, w.wave)?;
            waves.push((w, readings));
        }
        Ok(Waves {
            waves,
            now: ledger.now(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.waves.is_empty()
    }

    /// The wave under way (running or baking), or the one that failed.
    pub fn current(&self) -> Option<&(WaveRow, Vec<Reading>)> {
        self.waves.iter().find(|(w, _)| {
            matches!(
                w.state,
                WaveState::Running | WaveState::Baking | WaveState::Failed
            )
        })
    }

    /// `waves[]` of the JSON documents.
    pub fn json(&self) -> Value {
        Value::Array(
            self.waves
                .iter()
                .map(|(w, readings)| {
                    json!({
                        "wave": w.wave,
                        "streams": w.streams,
                        "state": w.state,
                        "started_at": w.started_at.map(rfc3339),
                        "ended_at": w.ended_at.map(rfc3339),
                        "bake_until": w.bake_until.map(rfc3339),
                        "bake_left_seconds": (w.state == WaveState::Baking)
                            .then(|| w.bake_until.map(|u| ((u - self.now).max(0) + 999) / 1000))
                            .flatten(),
                        "decided_at": w.decided_at.map(rfc3339),
                        "why": w.why,
                        "overridden": w.overridden.as_ref().map(|(who, at)| json!({"by": who, "at": rfc3339(*at)})),
                        "readings": readings.iter().map(|r| json!({
                            "at": rfc3339(r.at),
                            "verdict": r.verdict,
                            "alarms_in_alarm": r.alarms_in_alarm,
                            "failed": r.failed,
                            "allowed_failures": r.allowed_failures,
                            "streams": r.streams.iter().map(|(s, reading)| json!({"stream": s, "reading": reading})).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }

    /// One line per wave, for `status` and the text report.
    pub fn lines(&self) -> Vec<String> {
        let n = self.waves.len();
        self.waves
            .iter()
            .map(|(w, readings)| {
                let mut line = format!(
                    "Wave {}/{n}: {} stream(s), {}",
                    w.wave,
                    w.streams,
                    w.state.as_str()
                );
                if w.state == WaveState::Baking
                    && let Some(until) = w.bake_until
                {
                    let _ = write!(
                        line,
                        ", {} of its bake left",
                        human_duration((until - self.now).max(0))
                    );
                }
                if let Some(r) = readings.last() {
                    let _ = write!(line, "; gate: {}", reading_summary(r));
                }
                if let Some((who, at)) = &w.overridden {
                    let _ = write!(
                        line,
                        "; failed gate overridden by {who} at {}",
                        rfc3339(*at)
                    );
                }
                line
            })
            .collect()
    }

    /// The Markdown section.
    pub fn markdown(&self) -> String {
        let mut out =
            String::from("| wave | streams | state | bake until | gate |\n|---|---|---|---|---|\n");
        for (w, readings) in &self.waves {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                w.wave,
                w.streams,
                w.state.as_str(),
                w.bake_until.map(rfc3339).unwrap_or_default(),
                md_cell(&readings.last().map(reading_summary).unwrap_or_default())
            );
        }
        out
    }

    /// The HTML section: each wave with its decision, and the canary's streams' incoming
    /// rates before and after as bars.
    pub fn html(&self, html: &mut String) {
        if self.waves.is_empty() {
            return;
        }
        html.push_str("<section>\n<h2>Waves</h2>\n<table>\n<thead><tr><th>wave</th><th class=\"n\">streams</th><th>state</th><th>started</th><th>bake until</th><th>gate</th></tr></thead>\n<tbody>\n");
        for (w, readings) in &self.waves {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                w.wave,
                w.streams,
                w.state.as_str(),
                w.started_at.map(rfc3339).unwrap_or_default(),
                w.bake_until.map(rfc3339).unwrap_or_default(),
                escape(&readings.last().map(reading_summary).unwrap_or_default())
            );
        }
        html.push_str("</tbody>\n</table>\n");
        if let Some((w, readings)) = self.waves.first()
            && let Some(last) = readings.iter().rev().find(|r| !r.streams.is_empty())
        {
            let _ = writeln!(
                html,
                "<h3>Wave {}: incoming records per second, before its Start and since ENABLED</h3>",
                w.wave
            );
            html.push_str(&rate_bars(last));
        }
        html.push_str("</section>\n");
    }
}

/// A reading in a few words.
pub fn reading_summary(r: &Reading) -> String {
    let verdict = match &r.verdict {
        Verdict::Holds => "holds".to_owned(),
        Verdict::Fails { why } => format!("FAILED: {}", why.join("; ")),
    };
    let signal = r
        .streams
        .iter()
        .filter(|(_, s)| matches!(s, StreamReading::NoSignal))
        .count();
    let mut out = format!("{verdict} ({}", rfc3339(r.at));
    if signal > 0 {
        let _ = write!(out, ", {signal} stream(s) without signal");
    }
    out.push(')');
    out
}

/// Before and after bars per stream of a reading (inline SVG).
fn rate_bars(r: &Reading) -> String {
    let rates: Vec<(&str, f64, f64)> =
        r.streams
            .iter()
            .filter_map(|(s, reading)| match reading {
                StreamReading::Steady { before, after }
                | StreamReading::Dropped { before, after } => Some((s.as_str(), *before, *after)),
                _ => None,
            })
            .collect();
    if rates.is_empty() {
        return "<p class=\"none\">No stream had incoming records to compare.</p>\n".into();
    }
    let max = rates
        .iter()
        .map(|(_, b, a)| b.max(*a))
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let row_h = 36;
    let (label_w, bar_w) = (220.0, 480.0);
    let mut svg = format!(
        "<figure><svg viewBox=\"0 0 760 {}\" role=\"img\" aria-label=\"incoming records per second before and after\">\n",
        rates.len() * row_h + 10
    );
    for (i, (stream, before, after)) in rates.iter().enumerate() {
        let y = i * row_h + 4;
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{:.1}\" height=\"12\" fill=\"#7a869a\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"11\">before {before:.2}/s</text>\
             <rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"11\">after {after:.2}/s</text>",
            y + 16,
            escape(stream),
            before / max * bar_w,
            label_w + before / max * bar_w + 4.0,
            y + 10,
            y + 15,
            after / max * bar_w,
            if after < before { "#b3261e" } else { "#0b7a53" },
            label_w + after / max * bar_w + 4.0,
            y + 25,
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(verdict: Verdict) -> Reading {
        Reading {
            at: 1_800_000_000_000,
            streams: vec![
                (
                    "us-east-1/orders".into(),
                    StreamReading::Dropped {
                        before: 10.0,
                        after: 0.0,
                    },
                ),
                ("us-east-1/quiet".into(), StreamReading::NoSignal),
            ],
            alarms_in_alarm: Vec::new(),
            failed: 0,
            allowed_failures: 0,
            verdict,
        }
    }

    fn row(wave: usize, state: WaveState) -> WaveRow {
        WaveRow {
            wave,
            streams: 1,
            state,
            started_at: Some(1_800_000_000_000),
            ended_at: None,
            bake_until: Some(1_800_000_600_000),
            decided_at: None,
            why: Vec::new(),
            overridden: None,
        }
    }

    #[test]
    fn each_wave_says_its_state_bake_and_gate() {
        let failed = Verdict::Fails {
            why: vec!["us-east-1/orders: incoming records fell <a lot>".into()],
        };
        let waves = Waves {
            waves: vec![
                (row(1, WaveState::Failed), vec![reading(failed)]),
                (row(2, WaveState::Pending), Vec::new()),
            ],
            now: 1_800_000_000_000,
        };
        let lines = waves.lines();
        assert!(
            lines[0].starts_with("Wave 1/2: 1 stream(s), failed; gate: FAILED"),
            "{lines:?}"
        );
        assert!(lines[0].contains("1 stream(s) without signal"));
        assert_eq!(lines[1], "Wave 2/2: 1 stream(s), pending");
        let doc = waves.json();
        assert_eq!(doc[0]["state"], "failed");
        assert_eq!(
            doc[0]["readings"][0]["streams"][0]["reading"]["reading"],
            "dropped"
        );
        let md = waves.markdown();
        assert!(md.contains("&lt;a lot&gt;"), "{md}");
        let mut html = String::new();
        waves.html(&mut html);
        assert!(html.contains("<h2>Waves</h2>"));
        assert!(
            html.contains("before 10.00/s") && html.contains("after 0.00/s"),
            "{html}"
        );
        assert!(!html.contains("<a lot>"));
        assert_eq!(waves.current().unwrap().0.wave, 1);
    }

    #[test]
    fn a_baking_wave_says_how_long_is_left() {
        let waves = Waves {
            waves: vec![(row(1, WaveState::Baking), Vec::new())],
            now: 1_800_000_000_000,
        };
        assert_eq!(
            waves.lines()[0],
            "Wave 1/1: 1 stream(s), baking, 10m 00s of its bake left"
        );
        assert_eq!(waves.json()[0]["bake_left_seconds"], 600);
    }
}
