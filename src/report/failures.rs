//! Failures grouped by cause — the failure type (or error code) and the key the stream was to
//! be encrypted with — so that 500 streams failing on one bad key read as one problem: its hint
//! once, its streams as a count and the first few names. [`Live`] gathers them as streams fail
//! (the first of a cause shown whole, the rest a line per cause from time to time); [`group`]
//! and [`Group::lines`] write them in the end-of-run summary. Every stream stays listed in
//! `firehose-sse report`.

use std::collections::HashMap;

use console::Style;

/// Names shown of a group's streams before the rest are counted.
pub const NAMES_SHOWN: usize = 3;

/// What a failure is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cause {
    /// The failure type, error code or reason.
    pub kind: String,
    /// The customer key asked for (`None`: the AWS-owned key).
    pub key: Option<String>,
}

impl Cause {
    /// `KMS_ACCESS_DENIED on <key>`, with the key as given.
    pub fn title(&self) -> String {
        match &self.key {
            Some(key) => format!("{} on {key}", self.kind),
            None => self.kind.clone(),
        }
    }

    /// The same with the key's id only (`key/…`), for live lines.
    pub fn short_title(&self) -> String {
        match self.key.as_deref() {
            Some(key) => format!("{} on {}", self.kind, short(key)),
            None => self.kind.clone(),
        }
    }
}

/// `key/<id>` of a key ARN (the ARN itself if it has no `key/`).
fn short(key: &str) -> &str {
    key.find("key/").map_or(key, |at| &key[at..])
}

/// A failure's details and its hint, which the engine appends after ` — `.
pub fn split_hint(details: &str) -> (&str, Option<&str>) {
    match details.rsplit_once(" — ") {
        Some((details, hint)) if !hint.is_empty() => (details, Some(hint)),
        _ => (details, None),
    }
}

/// A reporter's failure line (`KIND: details — hint`, or a reason alone) as its kind and
/// the rest.
pub fn split_kind(detail: &str) -> (&str, &str) {
    detail.split_once(": ").unwrap_or((detail, ""))
}

/// `a, b, c and 47 more` (all of them when there are no more than `shown` + 1).
pub fn compact(names: &[String], shown: usize) -> String {
    if names.len() <= shown + 1 {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..shown].join(", "),
        names.len() - shown
    )
}

/// A cause and the streams that failed of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub cause: Cause,
    /// `region/name`, in the order given.
    pub streams: Vec<String>,
    /// The distinct details, in the order first met.
    pub details: Vec<String>,
    pub hint: Option<String>,
}

/// One failed stream: its cause, `region/name`, and details (with the hint after ` — `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub cause: Cause,
    pub stream: String,
    pub details: String,
}

/// Failures grouped by cause, groups in the order their first stream comes.
pub fn group(failures: impl IntoIterator<Item = Failed>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Cause, usize> = HashMap::new();
    for f in failures {
        let (details, hint) = split_hint(&f.details);
        let at = *index.entry(f.cause.clone()).or_insert_with(|| {
            groups.push(Group {
                cause: f.cause.clone(),
                streams: Vec::new(),
                details: Vec::new(),
                hint: hint.map(str::to_owned),
            });
            groups.len() - 1
        });
        let g = &mut groups[at];
        g.streams.push(f.stream);
        if !details.is_empty() && !g.details.iter().any(|d| d == details) {
            g.details.push(details.to_owned());
        }
        if g.hint.is_none() {
            g.hint = hint.map(str::to_owned);
        }
    }
    groups
}

impl Group {
    /// The group as the summary writes it, indented by two: its cause and `class`, how many
    /// streams and the first few, the details once (the first, when they differ), the hint.
    pub fn lines(&self, class: &str, color: bool) -> Vec<String> {
        let red = Style::new().red().force_styling(color);
        let n = self.streams.len();
        let mut lines = vec![
            format!(
                "  {} ({class}): {n} stream{}",
                red.apply_to(self.cause.title()),
                if n == 1 { "" } else { "s" }
            ),
            format!("    {}", compact(&self.streams, NAMES_SHOWN)),
        ];
        match self.details.as_slice() {
            [] => {}
            [one] => lines.push(format!("    {one}")),
            [first, rest @ ..] => lines.push(format!(
                "    {first} (and {} other message{})",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            )),
        }
        if let Some(hint) = &self.hint {
            lines.push(format!("    hint: {hint}"));
        }
        lines
    }
}

/// Failures as they come during a run: the first of each cause is shown whole, with its hint;
/// the later ones are gathered and shown by [`Live::flush`], one line per cause.
#[derive(Debug, Default)]
pub struct Live {
    causes: HashMap<Cause, Gathered>,
    /// Causes with streams not shown yet, in the order they came.
    waiting: Vec<Cause>,
}

#[derive(Debug, Default)]
struct Gathered {
    total: usize,
    unshown: Vec<String>,
}

impl Live {
    /// One failed stream; returns the lines to show now (none when its cause was shown
    /// already: it waits for [`Live::flush`]).
    pub fn failed(&mut self, f: Failed, color: bool) -> Vec<String> {
        let gathered = self.causes.entry(f.cause.clone()).or_default();
        gathered.total += 1;
        if gathered.total > 1 {
            if gathered.unshown.is_empty() {
                self.waiting.push(f.cause);
            }
            gathered.unshown.push(f.stream);
            return Vec::new();
        }
        let red = Style::new().red().force_styling(color);
        let (details, hint) = split_hint(&f.details);
        let mut line = format!("failed: {}: {}", f.stream, f.cause.kind);
        if !details.is_empty() {
            line.push_str(": ");
            line.push_str(details);
        }
        let mut lines = vec![red.apply_to(line).to_string()];
        if let Some(hint) = hint {
            lines.push(format!("  hint: {hint}"));
        }
        lines
    }

    /// A line per cause with streams not shown yet: how many more, of how many so far, and
    /// the first few.
    pub fn flush(&mut self, color: bool) -> Vec<String> {
        let red = Style::new().red().force_styling(color);
        let mut lines = Vec::new();
        for cause in std::mem::take(&mut self.waiting) {
            let Some(g) = self.causes.get_mut(&cause) else {
                continue;
            };
            let names = std::mem::take(&mut g.unshown);
            if names.is_empty() {
                continue;
            }
            let head = format!(
                "failed: {} more with {} ({} so far):",
                names.len(),
                cause.short_title(),
                g.total
            );
            lines.push(format!(
                "{} {}",
                red.apply_to(head),
                compact(&names, NAMES_SHOWN)
            ));
        }
        lines
    }

    /// How many streams failed so far.
    pub fn count(&self) -> usize {
        self.causes.values().map(|g| g.total).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/3e4d5c6b-7a89-4f01-b2c3-d4e5f6a7b8c9";

    fn denied(i: usize) -> Failed {
        Failed {
            cause: Cause {
                kind: "KMS_ACCESS_DENIED".into(),
                key: Some(KEY.into()),
            },
            stream: format!("us-east-1/s-{i:03}"),
            details: format!("Access denied for {KEY}. — fix the key policy, then run again"),
        }
    }

    fn not_found(i: usize) -> Failed {
        Failed {
            cause: Cause {
                kind: "ResourceNotFoundException".into(),
                key: None,
            },
            stream: format!("us-east-1/gone-{i}"),
            details: format!("Firehose gone-{i} not found."),
        }
    }

    #[test]
    fn five_hundred_streams_on_one_bad_key_are_one_group_with_one_hint() {
        let groups = group((0..500).map(denied).chain((0..2).map(not_found)));
        assert_eq!(groups.len(), 2);
        let lines = groups[0].lines("needs_operator", false);
        assert_eq!(
            lines,
            [
                format!("  KMS_ACCESS_DENIED on {KEY} (needs_operator): 500 streams"),
                "    us-east-1/s-000, us-east-1/s-001, us-east-1/s-002 and 497 more".into(),
                format!("    Access denied for {KEY}."),
                "    hint: fix the key policy, then run again".into(),
            ]
        );
        let lines = groups[1].lines("other", false);
        assert_eq!(
            lines,
            [
                "  ResourceNotFoundException (other): 2 streams".to_owned(),
                "    us-east-1/gone-0, us-east-1/gone-1".into(),
                "    Firehose gone-0 not found. (and 1 other message)".into(),
            ]
        );
    }

    #[test]
    fn live_failures_show_the_first_of_a_cause_whole_and_gather_the_rest() {
        let mut live = Live::default();
        let first = live.failed(denied(0), false);
        assert_eq!(
            first,
            [
                format!("failed: us-east-1/s-000: KMS_ACCESS_DENIED: Access denied for {KEY}."),
                "  hint: fix the key policy, then run again".into(),
            ]
        );
        for i in 1..50 {
            assert!(live.failed(denied(i), false).is_empty());
        }
        assert_eq!(live.failed(not_found(0), false).len(), 1);
        assert_eq!(
            live.flush(false),
            [
                "failed: 49 more with KMS_ACCESS_DENIED on key/3e4d5c6b-7a89-4f01-b2c3-d4e5f6a7b8c9 \
              (50 so far): us-east-1/s-001, us-east-1/s-002, us-east-1/s-003 and 46 more"
            ]
        );
        assert!(live.flush(false).is_empty(), "each stream is shown once");
        assert!(live.failed(denied(50), false).is_empty());
        assert_eq!(live.flush(false).len(), 1);
        assert_eq!(live.count(), 52);
    }

    #[test]
    fn failures_are_red_when_colour_is_on() {
        let mut live = Live::default();
        let first = live.failed(denied(0), true);
        assert!(first[0].starts_with("\u{1b}[31mfailed: "), "{first:?}");
        let lines = group([denied(0)])[0].lines("needs_operator", true);
        assert!(
            lines[0].contains("\u{1b}[31mKMS_ACCESS_DENIED"),
            "{lines:?}"
        );
    }

    #[test]
    fn hints_and_kinds_are_split_off() {
        assert_eq!(split_hint("a — b"), ("a", Some("b")));
        assert_eq!(split_hint("a — b — c"), ("a — b", Some("c")));
        assert_eq!(split_hint("plain"), ("plain", None));
        assert_eq!(
            split_kind("KMS_ACCESS_DENIED: x: y"),
            ("KMS_ACCESS_DENIED", "x: y")
        );
        assert_eq!(split_kind("not_found"), ("not_found", ""));
        assert_eq!(compact(&["a".into(), "b".into()], 1), "a, b");
        assert_eq!(
            compact(&["a".into(), "b".into(), "c".into()], 1),
            "a and 2 more"
        );
    }
}
