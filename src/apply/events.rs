//! What the apply engine tells the outside world while it runs. The reporter draws these
//! (progress bar, plain lines, nothing); the engine never prints.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ledger::Phase;
use crate::pace::Operation;

/// Counters of a run at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub total: usize,
    pub phases: BTreeMap<Phase, usize>,
    /// Calls sent per operation.
    pub calls: BTreeMap<Operation, u64>,
    pub throttles: u64,
    pub elapsed: Duration,
}

impl Snapshot {
    pub fn count(&self, phase: Phase) -> usize {
        self.phases.get(&phase).copied().unwrap_or(0)
    }

    /// Items that reached a phase where nothing more happens in this run.
    pub fn finished(&self) -> usize {
        self.phases
            .iter()
            .filter(|(p, _)| p.is_terminal())
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The counters changed.
    Progress(Snapshot),
    /// A stream reached a terminal phase.
    Finished {
        region: String,
        name: String,
        phase: Phase,
        detail: String,
    },
    /// Something the operator should know now (a throttle, a stop request, a lost lock).
    Note(String),
}
