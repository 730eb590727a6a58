//! The survey feeding a run (`apply FLEET.csv --yes`): observations arrive from the observer
//! in any order, the survey records them and decides what it can in fleet order, and each
//! decision is recorded in the plan and as a run item before the engine sees it — so an
//! interrupted run resumes where it stopped.

use tokio::sync::mpsc;

use crate::engine::{NewItem, Track};
use crate::ledger::{Ledger, LedgerError};
use crate::limits::KeyChange;
use crate::model::{Interner, StreamObservation};
use crate::observe::Observed;
use crate::plan::Item;
use crate::survey::Survey;

/// Observations still to come for items not decided yet.
#[derive(Debug)]
pub struct Feed {
    pub survey: Survey,
    /// The run's item number of each of the survey's targets.
    pub seqs: Vec<usize>,
    /// The plan the decisions are added to.
    pub plan_id: i64,
    pub observed: mpsc::Receiver<Observed>,
    /// Throttles met describing the keys (the run's throttles start from these).
    pub throttles: u32,
    /// The observer has sent everything.
    pub closed: bool,
    names: Interner,
}

/// What one observation brought: key usage found, and the items it let the survey decide.
#[derive(Debug, Default)]
pub struct Decided {
    pub keys: Vec<KeyChange>,
    pub items: Vec<NewItem>,
}

impl Feed {
    pub fn new(
        survey: Survey,
        seqs: Vec<usize>,
        plan_id: i64,
        observed: mpsc::Receiver<Observed>,
        throttles: u32,
    ) -> Feed {
        Feed {
            survey,
            seqs,
            plan_id,
            observed,
            throttles,
            closed: false,
            names: Interner::default(),
        }
    }

    /// The next observation; `None` once the observer is done.
    pub async fn recv(&mut self) -> Option<Observed> {
        self.observed.recv().await
    }

    /// Records one stream's observation (`None`: it does not exist), decides what can be
    /// decided, and records those decisions in the plan and the run.
    pub fn accept(
        &mut self,
        ledger: &Ledger,
        run_id: i64,
        seq: usize,
        observation: Option<StreamObservation>,
    ) -> Result<Decided, LedgerError> {
        let (items, keys) = self.survey.accept(ledger, seq, observation)?;
        let items = self.take_items(ledger, run_id, items)?;
        Ok(Decided { keys, items })
    }

    fn take_items(
        &mut self,
        ledger: &Ledger,
        run_id: i64,
        items: Vec<Item>,
    ) -> Result<Vec<NewItem>, LedgerError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = Vec::with_capacity(items.len());
        let mut tracks = Vec::with_capacity(items.len());
        for mut item in items {
            // The survey numbers its own targets; the run numbers the whole fleet.
            item.seq = self.seqs[item.seq];
            let old = match &item.stream {
                Some(id) => ledger.key_in_force(id)?,
                None => None,
            };
            let track = Track::from_item(&item, old.clone(), &mut self.names);
            rows.push((item, track.phase, old));
            tracks.push(track);
        }
        ledger.record_decisions(self.plan_id, run_id, &rows)?;
        let now = ledger.now();
        tracks
            .into_iter()
            .map(|t| super::new_item(ledger, t, now))
            .collect()
    }
}
