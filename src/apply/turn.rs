//! One turn of the dispatcher's loop as one ledger transaction. Every write a turn makes —
//! observations, decisions, Start attempts, their outcomes, item changes, the lock's heartbeat
//! — goes into one [`Batch`] committed at the turn's end, so the disk is waited for once per
//! turn rather than once per write. A Start whose attempt the turn wrote is *held*: its worker
//! is told to send only after the commit that holds the attempt, so an attempt is durable
//! before its request leaves (docs/design.md#the-ledger). A turn that is never committed (a ledger
//! error, a crash) lets none of its held Starts leave: their workers see the go-ahead dropped.

use tokio::sync::oneshot;

use crate::ledger::{Batch, Ledger, LedgerError};

/// The writes of one turn and the Starts waiting for them to be committed.
#[derive(Debug)]
#[must_use = "a turn's writes and Starts wait for its commit"]
pub struct Turn<'l> {
    batch: Batch<'l>,
    held: Vec<oneshot::Sender<bool>>,
}

impl<'l> Turn<'l> {
    /// Opens the turn's transaction.
    pub fn begin(ledger: &'l Ledger) -> Result<Turn<'l>, LedgerError> {
        Ok(Turn {
            batch: ledger.batch()?,
            held: Vec::new(),
        })
    }

    /// A Start whose attempt this turn wrote: it may leave once the turn is committed.
    pub fn hold(&mut self, go: oneshot::Sender<bool>) {
        self.held.push(go);
    }

    /// Commits the turn's writes, then lets its held Starts leave. Returns how many there
    /// were.
    pub fn commit(self) -> Result<usize, LedgerError> {
        let Turn { batch, held } = self;
        batch.commit()?;
        let n = held.len();
        for go in held {
            // A worker that is gone (its run stopping) sends nothing: nothing to do.
            let _ = go.send(true);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::engine::{Notes, Phase, Track, TrackParts};
    use crate::ledger::Op;
    use crate::model::{
        EncStatus, Interner, KeyChoice, SourceType, StreamId, StreamObservation, StreamStatus,
    };
    use crate::plan::Action;

    fn observation(name: &str) -> StreamObservation {
        StreamObservation {
            id: StreamId {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                name: name.into(),
            },
            arn: format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"),
            source: SourceType::parse("DirectPut"),
            status: StreamStatus::parse("ACTIVE"),
            encryption: crate::model::Encryption {
                status: EncStatus::Disabled,
                key: None,
                failure: None,
            },
            source_arn: None,
        }
    }

    fn open(dir: &std::path::Path) -> Ledger {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_700_000_000_000));
        Ledger::open(&dir.join("ledger.db"), clock).unwrap()
    }

    /// What another process reading the ledger sees: only committed writes.
    fn in_flight_seen_by_another(dir: &std::path::Path) -> usize {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_700_000_000_000));
        let reader = Ledger::open_read_only(&dir.join("ledger.db"), clock).unwrap();
        reader.in_flight_attempts().unwrap().len()
    }

    /// Writes a Start attempt for each stream in `turn` and holds its go-ahead; the receivers
    /// are what each Start's worker would wait on.
    fn hold_starts(
        ledger: &Ledger,
        turn: &mut Turn<'_>,
        names: &[&str],
    ) -> Vec<oneshot::Receiver<bool>> {
        names
            .iter()
            .map(|name| {
                let row = ledger.record_stream(&observation(name), None).unwrap();
                ledger
                    .begin_attempt(row, None, Op::Start, Some(&KeyChoice::AwsOwned))
                    .unwrap();
                let (go, answer) = oneshot::channel();
                turn.hold(go);
                answer
            })
            .collect()
    }

    #[test]
    fn a_turns_attempts_are_committed_before_any_of_its_starts_may_leave() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path());
        let mut turn = Turn::begin(&ledger).unwrap();
        let mut answers = hold_starts(&ledger, &mut turn, &["a", "b", "c"]);
        // Written but not committed: no Start may leave, and nobody else sees the attempts.
        for answer in &mut answers {
            assert!(matches!(
                answer.try_recv(),
                Err(oneshot::error::TryRecvError::Empty)
            ));
        }
        assert_eq!(in_flight_seen_by_another(dir.path()), 0);
        assert_eq!(turn.commit().unwrap(), 3);
        // Committed first, then every Start is let go.
        assert_eq!(in_flight_seen_by_another(dir.path()), 3);
        for mut answer in answers {
            assert_eq!(answer.try_recv(), Ok(true));
        }
    }

    #[test]
    fn another_writer_waits_for_an_open_turn_instead_of_failing_it() {
        // A `plan` or `inventory` on the same ledger writes while an apply's turn is open. A
        // turn that read first and took the write lock only at its first write would be
        // refused at once ("database is locked") once the other had committed in between.
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path());
        let mut turn = Turn::begin(&ledger).unwrap();
        assert!(ledger.in_flight_attempts().unwrap().is_empty()); // the turn reads first
        let path = dir.path().to_owned();
        let other =
            std::thread::spawn(move || open(&path).record_stream(&observation("b"), None).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut answers = hold_starts(&ledger, &mut turn, &["a"]);
        assert_eq!(turn.commit().unwrap(), 1);
        assert_eq!(answers[0].try_recv(), Ok(true));
        let b = other.join().unwrap();
        // The other writer waited for the turn: its row comes after the turn's.
        let a = ledger.record_stream(&observation("a"), None).unwrap();
        assert!(a < b, "the turn's stream {a}, the other writer's {b}");
        assert_eq!(in_flight_seen_by_another(dir.path()), 1);
    }

    #[test]
    fn a_turn_never_committed_lets_none_of_its_starts_leave_and_leaves_no_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path());
        let row = ledger.record_stream(&observation("a"), None).unwrap();
        let mut turn = Turn::begin(&ledger).unwrap();
        ledger.begin_attempt(row, None, Op::Start, None).unwrap();
        let (go, mut answer) = oneshot::channel();
        turn.hold(go);
        drop(turn); // a ledger error ends the run in the middle of a turn
        assert!(matches!(
            answer.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert!(ledger.in_flight_attempts().unwrap().is_empty());
        // The ledger takes writes again, each in a transaction of its own.
        assert!(!ledger.in_batch());
        ledger.record_stream(&observation("b"), None).unwrap();
    }

    #[test]
    fn a_crash_between_commit_and_send_leaves_in_flight_attempts_that_resume_reconciles() {
        let dir = tempfile::tempdir().unwrap();
        {
            let ledger = open(dir.path());
            let mut turn = Turn::begin(&ledger).unwrap();
            let answers = hold_starts(&ledger, &mut turn, &["a", "b"]);
            drop(answers); // the process dies before its workers send
            turn.commit().unwrap();
        } // kill -9: nothing more is written
        let ledger = open(dir.path());
        let mut names = Interner::default();
        let mut tracks: Vec<Track> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(seq, name)| {
                Track::new(TrackParts {
                    seq,
                    line: seq as u64 + 2,
                    region: names.get("us-east-1"),
                    name: (*name).into(),
                    account: Some(names.get("123456789012")),
                    target: KeyChoice::AwsOwned,
                    action: Action::Enable,
                    phase: Phase::Starting,
                    starts: 1,
                    notes: Notes::default(),
                })
            })
            .collect();
        assert_eq!(
            super::super::reconcile_in_flight(&ledger, &mut tracks).unwrap(),
            2
        );
        // Each becomes an unknown outcome that counts against the budget, and its stream is
        // described before anything else is sent to it.
        assert!(ledger.in_flight_attempts().unwrap().is_empty());
        for name in ["a", "b"] {
            let id = observation(name).id;
            let attempts = ledger.attempts_of(&id).unwrap();
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].state, "unknown");
            assert_eq!(ledger.budget_used(&id, ledger.now()).unwrap(), 1);
        }
        let flagged: Vec<bool> = tracks.iter().map(|t| t.needs_describe).collect();
        assert_eq!(flagged, [true, true, false]);
    }
}
