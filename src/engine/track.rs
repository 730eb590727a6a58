//! One stream of a run as the engine carries it ([`Track`]), what the engine needs to know about
//! it when it is added ([`NewItem`]), and the send times that count against its budget
//! ([`SendLog`]).
//!
//! A run holds one track per stream for its whole length, so tracks are kept small: regions and
//! accounts are shared strings, and what only some items have (an old key, a reason, a failure,
//! a next slot) lives in a box of [`Notes`].

use std::sync::Arc;

use super::phase::{Phase, Why};
use crate::clock::EpochMillis;
use crate::limits::budget;
use crate::model::{Interner, KeyChoice, Operation, Reached, StreamId};
use crate::plan::{Action, Item};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The run's item number (fleet order).
    pub seq: usize,
    pub line: u64,
    pub region: Arc<str>,
    pub name: Box<str>,
    pub account: Option<Arc<str>>,
    pub target: KeyChoice,
    pub action: Action,
    pub phase: Phase,
    /// Starts made for it in this run (across resumes).
    pub starts: u32,
    /// Its state must be learned with Describe before anything is sent to it.
    pub needs_describe: bool,
    notes: Option<Box<Notes>>,
}

/// What a [`Track`] is made of, by name.
#[derive(Debug, Clone)]
pub struct TrackParts {
    pub seq: usize,
    pub line: u64,
    pub region: Arc<str>,
    pub name: Box<str>,
    pub account: Option<Arc<str>>,
    pub target: KeyChoice,
    pub action: Action,
    pub phase: Phase,
    pub starts: u32,
    pub notes: Notes,
}

/// What only some of a run's items carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// The key in force before the run touched it.
    pub old_key: Option<KeyChoice>,
    pub reason: Option<Why>,
    /// Failure type and details.
    pub failure: Option<(String, String)>,
    pub next_slot: Option<EpochMillis>,
    /// Starts the service refused (throttled or in use, then tried again), for the report.
    pub refused: u32,
}

impl Notes {
    /// `None` when there is nothing to note, so most tracks carry no box.
    pub fn boxed(self) -> Option<Box<Notes>> {
        (self != Notes::default()).then(|| Box::new(self))
    }
}

impl Track {
    /// A track from its parts; its notes boxed only when there is something to note.
    pub fn new(parts: TrackParts) -> Track {
        let TrackParts {
            seq,
            line,
            region,
            name,
            account,
            target,
            action,
            phase,
            starts,
            notes,
        } = parts;
        Track {
            seq,
            line,
            region,
            name,
            account,
            target,
            action,
            phase,
            starts,
            needs_describe: false,
            notes: notes.boxed(),
        }
    }

    /// The starting phase of a freshly planned item.
    pub fn from_item(item: &Item, old_key: Option<KeyChoice>, names: &mut Interner) -> Track {
        let phase = match item.action {
            Action::Enable | Action::Rekey | Action::Disable | Action::Restore => Phase::Pending,
            // Already there, or on its way (polled to the end).
            Action::Noop => match item.current.as_ref() {
                Some(c)
                    if item.target.key.reached(&c.status, c.key.as_ref()) == Reached::Moving =>
                {
                    Phase::Polling
                }
                _ => Phase::Done,
            },
            Action::Skip => Phase::Skipped,
            Action::Defer => Phase::Deferred,
        };
        Track::new(TrackParts {
            seq: item.seq,
            line: item.target.line,
            region: names.get(&item.target.region),
            name: item.target.name.as_str().into(),
            account: item.account().map(|a| names.get(a)),
            target: item.target.key.clone(),
            action: item.action,
            phase,
            starts: 0,
            notes: Notes {
                old_key,
                reason: item.reason.map(Why::Plan),
                failure: None,
                next_slot: item.next_slot,
                refused: 0,
            },
        })
    }

    /// The call that moves the stream to its target: Start, or Stop for encryption off.
    pub fn operation(&self) -> Operation {
        if self.target.is_off() {
            Operation::Stop
        } else {
            Operation::Start
        }
    }

    pub fn stream_id(&self) -> Option<StreamId> {
        self.account.as_ref().map(|account| StreamId {
            account: account.to_string(),
            region: self.region.to_string(),
            name: self.name.to_string(),
        })
    }

    pub fn old_key(&self) -> Option<&KeyChoice> {
        self.notes.as_ref()?.old_key.as_ref()
    }
    /// The customer key the stream is moving away from (its key in force before the run, when
    /// the target is another): carrying the item out frees a slot under it.
    pub fn leaves_key(&self) -> Option<&str> {
        let old = self.old_key()?.key_arn()?.as_str();
        self.target
            .key_arn()
            .is_none_or(|k| k.as_str() != old)
            .then_some(old)
    }
    pub fn reason(&self) -> Option<Why> {
        self.notes.as_ref()?.reason
    }
    pub fn failure(&self) -> Option<&(String, String)> {
        self.notes.as_ref()?.failure.as_ref()
    }
    pub fn next_slot(&self) -> Option<EpochMillis> {
        self.notes.as_ref()?.next_slot
    }
    pub fn notes(&self) -> Option<&Notes> {
        self.notes.as_deref()
    }
    /// The notes, created on first use.
    pub fn notes_mut(&mut self) -> &mut Notes {
        self.notes.get_or_insert_default()
    }

    /// What the reporter shows for it: the failure, else the reason.
    pub fn detail(&self) -> String {
        match (self.failure(), self.reason()) {
            (Some((kind, details)), _) => format!("{kind}: {details}"),
            (None, Some(reason)) => reason.as_str().to_owned(),
            _ => String::new(),
        }
    }
}

/// A track and what the ledger knows of its stream when it joins the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub track: Track,
    /// Its stream's attempts that count against the budget now (the ledger's).
    pub sends: SendLog,
    /// Its stream already counts under its customer target key (ENABLED or ENABLING with it,
    /// or the key in force), so a Start takes no new slot.
    pub holds_slot: bool,
}

/// The send times of a stream's attempts that count against its budget, each with whether it
/// was refused for a spent budget (which fills the budget at its time:
/// [`budget::with_refusals`]). Kept in step with the ledger by the engine: a send is added when
/// its attempt is written, dropped when the call proves never sent, marked when refused for
/// the budget. Most streams have at most one send, held inline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendLog {
    first: Option<(EpochMillis, bool)>,
    /// A thin pointer on purpose: one per stream of the run, almost always `None`.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<(EpochMillis, bool)>>>,
}

impl SendLog {
    /// From send times (any order), none of them a refusal.
    pub fn of(times: &[EpochMillis]) -> SendLog {
        let mut log = SendLog::default();
        for &t in times {
            log.push(t);
        }
        log
    }

    pub fn push(&mut self, at: EpochMillis) {
        match self.first {
            None => self.first = Some((at, false)),
            Some(_) => self.more.get_or_insert_default().push((at, false)),
        }
    }

    /// The latest send proved never to have left: it does not count.
    pub fn drop_last(&mut self) {
        match self.more.as_mut() {
            Some(more) => {
                more.pop();
                if more.is_empty() {
                    self.more = None;
                }
            }
            None => self.first = None,
        }
    }

    /// The latest send was refused because the budget was spent (by anyone).
    pub fn mark_last_full(&mut self) {
        let last = match self.more.as_mut().and_then(|m| m.last_mut()) {
            Some(last) => Some(last),
            None => self.first.as_mut(),
        };
        if let Some((_, full)) = last {
            *full = true;
        }
    }

    /// The counted send times, refusals expanded ([`budget::with_refusals`]).
    pub fn counted(&self) -> Vec<EpochMillis> {
        let mut rows: Vec<(EpochMillis, bool)> = self.first.into_iter().collect();
        if let Some(more) = &self.more {
            rows.extend(more.iter().copied());
        }
        rows.sort_by_key(|(at, _)| *at);
        budget::with_refusals(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_log_counts_what_the_ledger_counts() {
        let mut log = SendLog::default();
        assert!(log.counted().is_empty());
        log.push(100);
        assert_eq!(log.counted(), [100]);
        log.push(200);
        log.drop_last();
        assert_eq!(log.counted(), [100], "an unsent call does not count");
        log.drop_last();
        assert!(log.counted().is_empty());
        log.push(300);
        log.push(400);
        log.mark_last_full();
        let counted = log.counted();
        assert_eq!(counted.len(), budget::STREAM_BUDGET as usize);
        assert_eq!((counted[0], counted[1], counted[24]), (300, 400, 400));
        assert_eq!(SendLog::of(&[5, 3]).counted(), [3, 5]);
    }
}
