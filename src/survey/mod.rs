//! The survey: turns observations, as they arrive in any order, into ledger records and plan
//! decisions in fleet order within each account and region (KMS keys are regional and a fleet's
//! keys are nearly always its own account's, so the per-key counts rarely tie one lane's
//! decisions to another's, and a slow account or region holds no other back; apply's dispatch
//! counts every key before each Start whatever the lane). `plan`
//! observes every stream, then decides and prints the result; `apply FLEET --yes` drives it
//! from its dispatch loop and starts each stream as soon as it is decided, so near a key's
//! limit a stream found on the key after its neighbours were decided is counted by apply's
//! dispatch rather than by their decisions (see [`Survey::accept`]). The steps that drive it —
//! describe the keys, describe the streams, save the decided plan — are in [`steps`].

pub mod producers;
pub mod sources;
mod steps;

pub use steps::{
    Clients, Decided, FleetSurvey, RecentEnough, Surveyed, finish_survey, prepare_survey,
    start_observing, survey_fleet, survey_fleet_with, unreachable_warning,
};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use crate::clock::EpochMillis;
use crate::iac::Owners;
use crate::input::Target;
use crate::ledger::{Ledger, Result, StreamState};
pub use crate::limits::KeyChange;
use crate::limits::KeyRoom;
use crate::model::StreamId as Id;
use crate::model::{KeyObservation, SourceEncryption, SourceType, StreamId, StreamObservation};
use crate::observe::{Query, shrink};
use crate::plan::{Item, Planner, Seen, Settings};
use crate::producers::Findings;

/// The targets of one account (`None`: the credentials' own) in one region.
type Lane = (Option<Arc<str>>, Arc<str>);

#[derive(Debug)]
pub struct Survey {
    /// How many targets the survey covers.
    total: usize,
    planner: Planner,
    /// Counted send times per stream, loaded once from the ledger.
    sends: HashMap<StreamId, Vec<EpochMillis>>,
    counts_now: KeyRoom,
    waiting: BTreeMap<usize, Seen>,
    /// Per account (as the row names it; empty for the credentials' own) and region, the
    /// targets not yet decided with their number, in fleet order. A decided one is dropped and
    /// the queue shrinks as it empties, so a large fleet is not held twice (once here, once as
    /// the run's items).
    pending: BTreeMap<Lane, VecDeque<(usize, Target)>>,
    /// The accounts rows name that cannot be reached, and why.
    unreachable: BTreeMap<String, String>,
    run_id: Option<i64>,
    /// What the producer check found, when one was made (or skipped).
    producers: Option<Arc<Findings>>,
    /// What the owner lookups could not find out.
    owner_notes: Vec<String>,
    /// The encryption of the Kinesis sources of the streams observed, when read.
    sources: HashMap<StreamId, SourceEncryption>,
}

impl Survey {
    /// Prepares the decisions for `targets`, with the keys already described. Reads the budgets
    /// and key counts from the ledger once.
    /// `unreachable`: the accounts no credentials act in, and why; their rows are decided
    /// `no_credentials` without a Describe (Describe and Start take only a name and act in the
    /// caller's account: docs/design.md#no-cross-account-calls).
    pub fn new(
        ledger: &Ledger,
        targets: Vec<Target>,
        keys: HashMap<String, KeyObservation>,
        settings: Settings,
        run_id: Option<i64>,
        unreachable: BTreeMap<String, String>,
    ) -> Result<Survey> {
        let now = ledger.now();
        let counts_now = ledger.key_counts_now()?;
        let sends = ledger.all_counted_sends(now)?;
        // Sized exactly, and built before the fleet's own buffer is freed: no doubling.
        let lane = |t: &Target| (t.account.clone(), t.region.clone());
        let mut sizes: BTreeMap<Lane, usize> = BTreeMap::new();
        for t in &targets {
            *sizes.entry(lane(t)).or_default() += 1;
        }
        let mut pending: BTreeMap<Lane, VecDeque<(usize, Target)>> = sizes
            .into_iter()
            .map(|(lane, n)| (lane, VecDeque::with_capacity(n)))
            .collect();
        let total = targets.len();
        let mut waiting = BTreeMap::new();
        for (seq, t) in targets.into_iter().enumerate() {
            if t.account
                .as_ref()
                .is_some_and(|a| unreachable.contains_key(&**a))
            {
                waiting.insert(seq, Seen::Unreachable);
            }
            if let Some(queue) = pending.get_mut(&lane(&t)) {
                queue.push_back((seq, t));
            }
        }
        Ok(Survey {
            pending,
            total,
            planner: Planner::new(settings, counts_now.clone(), keys, now),
            sends,
            counts_now: KeyRoom::new(settings.cmk_limit, counts_now),
            waiting,
            run_id,
            unreachable,
            producers: None,
            owner_notes: Vec::new(),
            sources: HashMap::new(),
        })
    }

    /// Decides knowing which streams code owns; `notes` say where nobody could tell.
    pub fn with_owners(mut self, owners: Owners, notes: Vec<String>) -> Self {
        if !owners.is_empty() {
            self.planner.set_owners(Arc::new(owners));
        }
        self.owner_notes = notes;
        self
    }

    /// What the owner lookups could not find out.
    pub fn owner_notes(&self) -> &[String] {
        &self.owner_notes
    }

    /// Reads the encryption of the Kinesis stream every observed `KinesisStreamAsSource`
    /// stream reads from, for its plan line. Returns the throttles met.
    pub async fn describe_sources(&mut self, accounts: &crate::cloud::Accounts) -> u32 {
        let wanted: Vec<(StreamId, String)> = self
            .waiting
            .values()
            .filter_map(|seen| match seen {
                Seen::Found { obs, .. } if obs.source == SourceType::KinesisStreamAsSource => {
                    let arn = obs.source_arn.as_ref()?;
                    crate::model::kinesis_stream_name(arn)?;
                    Some((obs.id.clone(), arn.clone()))
                }
                _ => None,
            })
            .collect();
        if wanted.is_empty() {
            return 0;
        }
        let (found, throttles) = sources::describe_sources(accounts, wanted).await;
        self.sources.extend(found);
        throttles
    }

    /// Decides with what the producer check found.
    pub fn with_producers(mut self, findings: Option<Arc<Findings>>) -> Self {
        if let Some(findings) = &findings {
            self.planner.set_producers(findings.clone());
        }
        self.producers = findings;
        self
    }

    /// What the producer check found, when one was made (or skipped).
    pub fn producers(&self) -> Option<&Findings> {
        self.producers.as_deref()
    }

    /// The Describe calls to make, region by region, in fleet order within each: every
    /// undecided target but those already known not to be described.
    pub fn queries(&self) -> Vec<Query> {
        self.undecided()
            .filter(|(seq, _)| !self.waiting.contains_key(seq))
            .map(|(seq, t)| Query {
                seq,
                account: t.account.clone(),
                region: t.region.clone(),
                name: t.name.as_str().into(),
            })
            .collect()
    }

    /// The accounts rows name that cannot be reached, and why.
    pub fn unreachable(&self) -> &BTreeMap<String, String> {
        &self.unreachable
    }

    /// The targets not decided yet, with their number in the survey.
    pub fn undecided(&self) -> impl Iterator<Item = (usize, &Target)> {
        self.pending
            .values()
            .flat_map(|queue| queue.iter().map(|(seq, t)| (*seq, t)))
    }

    /// How many targets the survey covers.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether every target has been decided.
    pub fn is_done(&self) -> bool {
        self.pending.values().all(VecDeque::is_empty)
    }

    /// Records one stream's observation (`None`: it does not exist) and returns the items that
    /// can now be decided, in fleet order, with the key changes [`Survey::observe`] saw.
    ///
    /// Deciding as observations arrive lets apply start early, at a cost near a key's limit: a
    /// stream is decided before later fleet streams are observed, so one of those already on
    /// the key without the ledger knowing it is counted too late by the decision (apply's
    /// dispatch still counts it before each Start, from the key changes). `plan` observes
    /// every stream first, then decides.
    pub fn accept(
        &mut self,
        ledger: &Ledger,
        seq: usize,
        observed: Option<StreamObservation>,
    ) -> Result<(Vec<Item>, Vec<KeyChange>)> {
        let changes = self.observe(ledger, seq, observed)?;
        Ok((self.decide_ready(), changes))
    }

    /// Records one stream's observation (`None`: it does not exist) and counts the stream
    /// toward the keys it is seen using; decides nothing. Returns how the per-key counts the
    /// ledger had changed.
    pub fn observe(
        &mut self,
        ledger: &Ledger,
        seq: usize,
        observed: Option<StreamObservation>,
    ) -> Result<Vec<KeyChange>> {
        let mut changes = Vec::new();
        let seen = match observed {
            None => Seen::Missing,
            Some(obs) => {
                // The key counts were read before this observation: move the stream's share
                // to the keys it is seen using now, so that streams observed by this very
                // survey count (a fresh ledger knows none of them).
                let counted = |state: Option<StreamState>| {
                    state.map(|s| s.counted_keys()).unwrap_or_default()
                };
                let before = counted(ledger.stream_state(&obs.id)?);
                ledger.record_stream(&obs, self.run_id)?;
                let state = ledger.stream_state(&obs.id)?;
                let in_force = state.as_ref().and_then(|s| s.in_force.clone());
                let in_force_unknown = state.as_ref().is_some_and(|s| s.in_force_unknown);
                let after = counted(state);
                for (keys, others, uses) in [(&before, &after, false), (&after, &before, true)] {
                    for arn in keys.difference(others) {
                        self.counts_now.observed(arn, uses);
                        self.planner.observed_usage(arn, uses);
                        changes.push(KeyChange {
                            key_arn: arn.clone(),
                            uses,
                        });
                    }
                }
                Seen::Found {
                    obs,
                    in_force,
                    in_force_unknown,
                }
            }
        };
        self.waiting.insert(seq, seen);
        Ok(changes)
    }

    /// Takes, for each target not yet observed, the ledger's observation of it when `inventory`
    /// made one at `since` or later that is still good to plan with
    /// ([`Ledger::recent_observation`]),
    /// so it is not described again. `account`: the credentials' account, which a stream named
    /// without one is in (a row naming a reachable account is looked up in that one). Returns
    /// how many were taken and the oldest observation's time.
    pub fn use_recent(
        &mut self,
        ledger: &Ledger,
        since: EpochMillis,
        account: &str,
    ) -> Result<(usize, Option<EpochMillis>)> {
        let wanted: Vec<(usize, Id)> = self
            .undecided()
            .filter(|(seq, _)| !self.waiting.contains_key(seq))
            .map(|(seq, t)| {
                let id = Id {
                    account: t.account.as_deref().unwrap_or(account).to_owned(),
                    region: t.region.to_string(),
                    name: t.name.clone(),
                };
                (seq, id)
            })
            .collect();
        let (mut taken, mut oldest) = (0, None::<EpochMillis>);
        for (seq, id) in wanted {
            if let Some(recent) = ledger.recent_observation(&id, since)? {
                taken += 1;
                let at = recent.state.observed_at;
                oldest = Some(oldest.map_or(at, |o| o.min(at)));
                self.waiting.insert(
                    seq,
                    Seen::Found {
                        obs: recent.obs,
                        in_force: recent.state.in_force,
                        in_force_unknown: recent.state.in_force_unknown,
                    },
                );
            }
        }
        Ok((taken, oldest))
    }

    /// Decides every observed item whose predecessors in its lane (account and region) are all
    /// decided, in fleet order within each lane (so the items come lane by lane).
    pub fn decide_ready(&mut self) -> Vec<Item> {
        let mut decided = Vec::new();
        for queue in self.pending.values_mut() {
            while let Some(&(next, _)) = queue.front() {
                let Some(seen) = self.waiting.remove(&next) else {
                    break;
                };
                let (_, target) = queue.pop_front().expect("the front was just seen");
                let sends = match &seen {
                    Seen::Found { obs, .. } => {
                        self.sends.get(&obs.id).map(Vec::as_slice).unwrap_or(&[])
                    }
                    Seen::Missing | Seen::Unreachable => &[],
                };
                let mut item = self.planner.decide(next, &target, &seen, sends);
                if let (Some(id), Some(current)) = (&item.stream, item.current.as_mut()) {
                    current.source_encryption = self.sources.get(id).cloned();
                }
                decided.push(item);
            }
            shrink(queue);
        }
        decided
    }

    /// Streams per key before the plan (from the ledger).
    pub fn counts_now(&self) -> &HashMap<String, u32> {
        self.counts_now.counts()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tests::{ledger, observe, sid};
    use crate::model::{
        EncStatus, Encryption, KeyChoice, KmsKeyArn, SourceType, StreamObservation, StreamStatus,
    };
    use crate::plan::{Action, Reason};

    const K: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

    fn k() -> KeyChoice {
        KeyChoice::Customer(KmsKeyArn::parse(K).unwrap())
    }

    fn target(name: &str) -> Target {
        Target {
            line: 2,
            name: name.into(),
            region: "us-east-1".into(),
            account: None,
            key: k(),
            expect: None,
        }
    }

    fn seen(name: &str, status: EncStatus, key: Option<KeyChoice>) -> Option<StreamObservation> {
        Some(StreamObservation {
            id: sid(name),
            arn: format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"),
            source: SourceType::DirectPut,
            source_arn: None,
            status: StreamStatus::Active,
            encryption: Encryption {
                status,
                key,
                failure: None,
            },
        })
    }

    fn survey(ledger: &Ledger, names: &[&str], cmk_limit: u32) -> Survey {
        let key = KeyObservation {
            arn: KmsKeyArn::parse(K).unwrap(),
            found: true,
            state: "Enabled".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            manager: "CUSTOMER".into(),
            readable: true,
        };
        let settings = Settings {
            cmk_limit,
            ..Settings::default()
        };
        let targets = names.iter().map(|n| target(n)).collect();
        Survey::new(
            ledger,
            targets,
            HashMap::from([(K.to_owned(), key)]),
            settings,
            None,
            BTreeMap::new(),
        )
        .unwrap()
    }

    #[test]
    fn a_stream_first_seen_on_the_key_by_this_survey_counts() {
        let (_dir, ledger, _clock) = ledger();
        let mut s = survey(&ledger, &["b", "a"], 1);
        // a arrives first, already on the key; the fresh ledger knew nothing of it.
        let (items, changes) = s
            .accept(&ledger, 1, seen("a", EncStatus::Enabled, Some(k())))
            .unwrap();
        assert!(items.is_empty());
        assert_eq!(
            changes,
            [KeyChange {
                key_arn: K.into(),
                uses: true
            }]
        );
        let (items, changes) = s
            .accept(&ledger, 0, seen("b", EncStatus::Disabled, None))
            .unwrap();
        assert!(changes.is_empty());
        let verdicts: Vec<_> = items.iter().map(|i| (i.action, i.reason)).collect();
        assert_eq!(
            verdicts,
            [(Action::Skip, Some(Reason::CmkLimit)), (Action::Noop, None)]
        );
        assert_eq!((s.counts_now()[K], s.counts_after()[K]), (1, 1));
    }

    #[test]
    fn observing_everything_first_counts_later_fleet_streams_on_the_key() {
        let (_dir, ledger, _clock) = ledger();
        let mut s = survey(&ledger, &["b", "a"], 1);
        s.observe(&ledger, 0, seen("b", EncStatus::Disabled, None))
            .unwrap();
        s.observe(&ledger, 1, seen("a", EncStatus::Enabled, Some(k())))
            .unwrap();
        let verdicts: Vec<_> = s
            .decide_ready()
            .iter()
            .map(|i| (i.action, i.reason))
            .collect();
        assert_eq!(
            verdicts,
            [(Action::Skip, Some(Reason::CmkLimit)), (Action::Noop, None)]
        );
        assert!(s.is_done());
    }

    #[test]
    fn a_stream_the_ledger_counted_that_left_the_key_frees_its_slot() {
        let (_dir, ledger, _clock) = ledger();
        observe(&ledger, "a", EncStatus::Enabled, Some(k()));
        let mut s = survey(&ledger, &["a"], 1);
        assert_eq!(s.counts_now()[K], 1);
        // Someone stopped encryption since: a may take the key again.
        let (items, changes) = s
            .accept(&ledger, 0, seen("a", EncStatus::Disabled, None))
            .unwrap();
        assert_eq!(
            changes,
            [KeyChange {
                key_arn: K.into(),
                uses: false
            }]
        );
        assert_eq!((items[0].action, items[0].reason), (Action::Enable, None));
        assert_eq!((s.counts_now()[K], s.counts_after()[K]), (0, 1));
    }

    #[test]
    fn a_row_of_an_unreachable_account_is_decided_without_a_describe() {
        let (_dir, ledger, _clock) = ledger();
        let mut theirs = target("theirs");
        theirs.account = Some("999999999999".into());
        let mut ours = target("ours");
        ours.account = Some("123456789012".into());
        let mut member = target("member");
        member.account = Some("111111111111".into());
        let settings = Settings::default();
        let unreachable = BTreeMap::from([("999999999999".to_owned(), "no role".to_owned())]);
        let mut s = Survey::new(
            &ledger,
            vec![theirs, ours, target("plain"), member],
            HashMap::new(),
            settings,
            None,
            unreachable,
        )
        .unwrap();
        let queries = s.queries();
        let queried: Vec<(usize, Option<&str>)> = queries
            .iter()
            .map(|q| (q.seq, q.account.as_deref()))
            .collect();
        // Each query says which account's clients describe it; lanes come account by account.
        assert_eq!(
            queried,
            [
                (2, None),
                (3, Some("111111111111")),
                (1, Some("123456789012"))
            ],
            "the unreachable row is never described"
        );
        let first = s.decide_ready();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].reason, Some(Reason::NoCredentials));
        assert_eq!(s.unreachable()["999999999999"], "no role");
    }
}
