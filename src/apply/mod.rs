//! Apply: carry a plan out with the engine ([`crate::engine::RunState`]), at the quota ceiling,
//! surviving being stopped at any instant. This module is the I/O around the engine:
//! [`dispatch`] runs the loop that turns the engine's effects into calls, ledger writes and
//! notices, and answers into events; [`feed`] brings the survey's decisions in as streams are
//! observed (`apply FLEET.csv --yes`); the functions here build the engine's items from a plan
//! or from the ledger (resume).
//!
//! Every phase change is written to the ledger as it happens, so `resume` only has to load the
//! items that are not terminal.

pub mod dispatch;
pub mod feed;
pub mod turn;

use crate::clock::EpochMillis;
use crate::engine::{NewItem, Notes, SendLog, Track, TrackParts, Why};
use crate::ledger::{AttemptOutcome, Ledger, LedgerError, RunItemRow};
use crate::limits::key_room::counted_under;
use crate::model::Interner;
use crate::plan::Item;

pub use dispatch::Dispatcher;
pub use feed::Feed;

/// What the ledger knows of a track's stream, for the engine: its counted sends and whether it
/// already counts under its customer target key.
pub fn new_item(ledger: &Ledger, track: Track, now: EpochMillis) -> Result<NewItem, LedgerError> {
    let Some(id) = track.stream_id() else {
        return Ok(NewItem {
            track,
            sends: SendLog::default(),
            holds_slot: false,
        });
    };
    let sends = SendLog::of(&ledger.counted_sends(&id, now)?);
    let holds_slot = match track.target.key_arn() {
        None => false,
        Some(_) => ledger.stream_state(&id)?.is_some_and(|s| {
            counted_under(
                &s.enc_status,
                s.key.as_ref(),
                s.in_force.as_ref(),
                &track.target,
            )
        }),
    };
    Ok(NewItem {
        track,
        sends,
        holds_slot,
    })
}

/// Tracks for a plan's decided items, recorded as the run's items (with the key in force
/// before the run), ready for the engine.
pub fn items_of_plan(
    ledger: &Ledger,
    run_id: i64,
    items: Vec<Item>,
) -> Result<Vec<NewItem>, LedgerError> {
    let mut names = Interner::default();
    let mut tracks = Vec::with_capacity(items.len());
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let old = match item.stream.as_ref() {
            Some(id) => ledger.key_in_force(id)?,
            None => None,
        };
        let track = Track::from_item(&item, old.clone(), &mut names);
        rows.push((item, track.phase, old));
        tracks.push(track);
    }
    ledger.insert_run_items(run_id, &rows)?;
    drop(rows); // the engine needs only the tracks
    let now = ledger.now();
    tracks
        .into_iter()
        .map(|t| new_item(ledger, t, now))
        .collect()
}

/// An item of an interrupted run, as the ledger left it; `None` when it was never decided
/// (the run stopped before observing it).
pub fn track_from_row(row: &RunItemRow, names: &mut Interner) -> Option<Track> {
    let mut track = Track::new(TrackParts {
        seq: row.seq,
        line: row.line,
        region: names.get(&row.region),
        name: row.name.as_str().into(),
        account: row.account.as_deref().map(|a| names.get(a)),
        target: row.target.clone(),
        action: row.action?,
        phase: row.phase,
        starts: row.starts,
        notes: Notes {
            old_key: row.old_key.clone(),
            reason: row.reason.as_deref().and_then(Why::parse),
            failure: row.failure_type.clone().zip(row.failure_details.clone()),
            next_slot: row.next_slot,
            refused: 0,
        },
    });
    track.needs_describe = matches!(
        row.phase,
        crate::engine::Phase::Starting | crate::engine::Phase::Polling
    );
    Some(track)
}

/// Marks every attempt left `in_flight` by a process that died as `unknown` and flags its
/// stream's items for a Describe before anything else is sent. Returns how many there were.
pub fn reconcile_in_flight(ledger: &Ledger, tracks: &mut [Track]) -> Result<usize, LedgerError> {
    let dangling = ledger.in_flight_attempts()?;
    for a in &dangling {
        ledger.complete_attempt(
            a.id,
            &AttemptOutcome::Unknown {
                message: "the process ended before the answer was recorded".into(),
            },
        )?;
        for t in tracks.iter_mut() {
            if t.stream_id().as_ref() == Some(&a.stream) && !t.phase.is_terminal() {
                t.needs_describe = true;
            }
        }
    }
    Ok(dangling.len())
}
