//! The survey feeding a run (`apply FLEET.csv --yes`): observations arrive from the observer
//! in any order, the survey records them and decides what it can in fleet order, and each
//! decision is recorded in the plan and as a run item before the engine sees it — so an
//! interrupted run resumes where it stopped.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cloud::AccountsApi;
use crate::engine::{NewItem, Track};
use crate::input::Target;
use crate::ledger::{Ledger, LedgerError};
use crate::limits::KeyChange;
use crate::model::{Interner, StreamObservation};
use crate::observe::{self, Observed};
use crate::pace::Pacer;
use crate::plan::{self, Item, Pace, Settings, Summary};
use crate::survey::{Clients, Survey, prepare_survey};

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
    observer: tokio::task::JoinHandle<()>,
}

/// The streams a run is to observe and decide as it goes.
#[derive(Debug)]
pub struct ToObserve<'a> {
    /// The fleet file, as the plan records it.
    pub fleet: &'a str,
    pub targets: Vec<Target>,
    /// The run's item number of each target.
    pub seqs: Vec<usize>,
    pub settings: Settings,
}

/// A survey prepared for a run: its keys described and producers checked, its streams still
/// to observe.
#[derive(Debug)]
pub struct Prepared<'a> {
    /// The fleet file, as the plan records it.
    pub fleet: &'a str,
    pub survey: Survey,
    /// The run's item number of each of the survey's targets.
    pub seqs: Vec<usize>,
    /// Throttles met describing the keys.
    pub throttles: u32,
}

/// What the feed describes streams with: the clients of every account (`cloud::Accounts`, or
/// the unit tests' fake), the pacer and how many Describes may be in flight.
#[derive(Debug)]
pub struct Observer<A> {
    pub accounts: Arc<A>,
    pub pacer: Arc<Pacer>,
    pub concurrency: usize,
}

/// Observations waiting for the dispatcher, at most: observation waits when it falls behind.
const OBSERVED_BUFFER: usize = 256;

/// What one observation brought: key usage found, and the items it let the survey decide.
#[derive(Debug, Default)]
pub struct Decided {
    pub keys: Vec<KeyChange>,
    pub items: Vec<NewItem>,
}

impl Feed {
    /// Describes the keys, records the plan (to be filled as streams are decided) and the
    /// run's streams still to observe — unless the run has its plan already (a resume) — and
    /// starts observing them.
    /// Returns the feed and the items decided without a Describe (rows of another account).
    pub async fn start(
        ledger: &Ledger,
        clients: &Clients,
        run_id: i64,
        to_observe: ToObserve<'_>,
    ) -> anyhow::Result<(Feed, Vec<NewItem>)> {
        let ToObserve {
            fleet,
            targets,
            seqs,
            settings,
        } = to_observe;
        let (survey, throttles) =
            prepare_survey(ledger, clients, targets, settings, run_id).await?;
        let prepared = Prepared {
            fleet,
            survey,
            seqs,
            throttles,
        };
        let observer = Observer {
            accounts: clients.accounts.clone(),
            pacer: clients.pacer.clone(),
            concurrency: clients.concurrency,
        };
        Ok(Feed::begin(ledger, observer, run_id, prepared)?)
    }

    /// [`Feed::start`] once the survey is prepared (keys described, producers checked):
    /// records the plan and the run's streams unless the run has its plan already, and starts
    /// describing the streams through `observer`.
    pub fn begin<A: AccountsApi>(
        ledger: &Ledger,
        observer: Observer<A>,
        run_id: i64,
        prepared: Prepared<'_>,
    ) -> Result<(Feed, Vec<NewItem>), LedgerError> {
        let Prepared {
            fleet,
            survey,
            seqs,
            throttles,
        } = prepared;
        let plan_id = match ledger.run(run_id)?.and_then(|r| r.plan_id) {
            Some(plan_id) => plan_id,
            None => {
                let plan_id = ledger.create_plan(fleet, survey.settings(), ledger.now(), 0)?;
                ledger.set_run_plan(run_id, plan_id)?;
                if let Some(check) = survey.producers() {
                    ledger.set_plan_producer_check(plan_id, &check.summary)?;
                }
                ledger.insert_run_targets(run_id, survey.undecided().map(|(i, t)| (seqs[i], t)))?;
                plan_id
            }
        };
        let (tx, observed) = mpsc::channel::<Observed>(OBSERVED_BUFFER);
        let Observer {
            accounts,
            pacer,
            concurrency,
        } = observer;
        let observer = observe::observe_streams(accounts, pacer, survey.queries(), concurrency, tx);
        let mut feed = Feed {
            survey,
            seqs,
            plan_id,
            observed,
            throttles,
            closed: false,
            names: Interner::default(),
            observer,
        };
        let decided = feed.survey.decide_ready();
        let first = feed.take_items(ledger, run_id, decided)?;
        Ok((feed, first))
    }

    /// Stops observing; once every stream was observed and decided, the streamed plan is
    /// complete: its estimate is recorded and its summary returned (counted in the ledger, so
    /// a large fleet's plan is not loaded back into memory).
    pub fn finish(self, ledger: &Ledger, pace: Pace) -> Result<Option<Summary>, LedgerError> {
        if !self.survey.is_done() {
            return Ok(None);
        }
        let counts = ledger.plan_counts(self.plan_id)?;
        let mut summary = Summary::default();
        for (_, action, n) in &counts {
            summary.add(*action, *n as usize);
        }
        let estimate = plan::estimate_counts(
            counts
                .iter()
                .map(|(region, action, n)| (region.as_str(), *action, *n)),
            pace,
            false,
        );
        ledger.set_plan_estimate(self.plan_id, estimate)?;
        Ok(Some(summary))
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

/// A run that stops (finished, interrupted or failed) stops observing too.
impl Drop for Feed {
    fn drop(&mut self) {
        self.observer.abort();
    }
}
