//! The survey: turns observations, as they arrive in any order, into ledger records and plan
//! decisions in fleet order. `plan` drives it to the end and prints the result; `apply` drives
//! it from its dispatch loop and starts each stream as soon as it is decided — the same
//! decisions either way.

use std::collections::{BTreeMap, HashMap};

use crate::clock::EpochMillis;
use crate::input::Target;
use crate::ledger::{Ledger, Result};
use crate::model::{KeyObservation, StreamId, StreamObservation};
use crate::observe::Query;
use crate::plan::{Item, Planner, Seen, Settings};

#[derive(Debug)]
pub struct Survey {
    targets: Vec<Target>,
    planner: Planner,
    /// Counted send times per stream, loaded once from the ledger.
    sends: HashMap<StreamId, Vec<EpochMillis>>,
    counts_now: HashMap<String, u32>,
    waiting: BTreeMap<usize, Seen>,
    next: usize,
    run_id: Option<i64>,
}

impl Survey {
    /// Prepares the decisions for `targets`, with the keys already described. Reads the budgets
    /// and key counts from the ledger once.
    pub fn new(
        ledger: &Ledger,
        targets: Vec<Target>,
        keys: HashMap<String, KeyObservation>,
        settings: Settings,
        run_id: Option<i64>,
    ) -> Result<Survey> {
        let now = ledger.now();
        let counts_now = ledger.key_counts_now()?;
        let sends = ledger.all_counted_sends(now)?;
        Ok(Survey {
            targets,
            planner: Planner::new(settings, counts_now.clone(), keys, now),
            sends,
            counts_now,
            waiting: BTreeMap::new(),
            next: 0,
            run_id,
        })
    }

    /// The Describe calls to make, in fleet order.
    pub fn queries(&self) -> Vec<Query> {
        self.targets
            .iter()
            .enumerate()
            .map(|(seq, t)| Query {
                seq,
                region: t.region.clone(),
                name: t.name.clone(),
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Whether every target has been decided.
    pub fn is_done(&self) -> bool {
        self.next >= self.targets.len()
    }

    /// Records one stream's observation (`None`: it does not exist) and returns the items that
    /// can now be decided, in fleet order.
    pub fn accept(
        &mut self,
        ledger: &Ledger,
        seq: usize,
        observed: Option<StreamObservation>,
    ) -> Result<Vec<Item>> {
        let seen = match observed {
            None => Seen::Missing,
            Some(obs) => {
                ledger.record_stream(&obs, self.run_id)?;
                let in_force = ledger.key_in_force(&obs.id)?;
                Seen::Found { obs, in_force }
            }
        };
        self.waiting.insert(seq, seen);
        let mut decided = Vec::new();
        while let Some(seen) = self.waiting.remove(&self.next) {
            let target = &self.targets[self.next];
            let sends = match &seen {
                Seen::Found { obs, .. } => {
                    self.sends.get(&obs.id).map(Vec::as_slice).unwrap_or(&[])
                }
                Seen::Missing => &[],
            };
            decided.push(self.planner.decide(self.next, target, &seen, sends));
            self.next += 1;
        }
        Ok(decided)
    }

    /// Streams per key before the plan (from the ledger).
    pub fn counts_now(&self) -> &HashMap<String, u32> {
        &self.counts_now
    }

    /// Streams per key after every decision so far.
    pub fn counts_after(&self) -> &HashMap<String, u32> {
        self.planner.counts()
    }

    pub fn settings(&self) -> &Settings {
        self.planner.settings()
    }

    pub fn now(&self) -> EpochMillis {
        self.planner.now()
    }
}
