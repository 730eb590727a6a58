//! The engine's pump, run after every event: timers that fell due make items ready, due
//! Describes are asked for (each region up to `concurrency` in flight, so a region with a
//! backlog never holds another back), an idle Describe quota is spent on early polls, and ready
//! items are dispatched through the gates ([`super::gates`]), each region in fleet order up to
//! `concurrency` Starts in flight. Also the key slots items take and give back.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::gates::{BudgetGate, KeyGate, budget_gate, key_gate};
use super::io::Effect;
use super::phase::{ItemUpdate, Phase, Why};
use super::state::{Purpose, RunState};
use crate::clock::EpochMillis;

/// How many of the earliest polls an idle region considers polling early.
const EARLY_POLL_LOOKAHEAD: usize = 64;

impl RunState {
    pub(super) fn pump(&mut self, now: EpochMillis, fx: &mut Vec<Effect>) {
        if self.aborted.is_some() {
            self.stopping = true;
        }
        if self.stopping {
            return;
        }
        self.fire_timers(now);
        self.spawn_describes(now, fx);
        self.dispatch(now, fx);
    }

    /// Moves items whose wait for dispatch is over to the ready set.
    fn fire_timers(&mut self, now: EpochMillis) {
        while let Some(&(at, i)) = self.dispatch_at.first() {
            if at > now {
                break;
            }
            self.dispatch_at.pop_first();
            if self.tracks[i].phase == Phase::Pending {
                self.make_ready(i);
            }
        }
    }

    fn spawn_describes(&mut self, now: EpochMillis, fx: &mut Vec<Effect>) {
        let cap = self.cap();
        let regions: Vec<Arc<str>> = self.describe_at.keys().cloned().collect();
        for region in regions {
            while self.describing(&region) < cap {
                let Some(due) = self.describe_at.get_mut(&region) else {
                    break;
                };
                let Some(&(_, i, reconcile)) = due.first().filter(|(at, _, _)| *at <= now) else {
                    break;
                };
                due.pop_first();
                if self.tracks[i].phase.is_terminal() {
                    continue;
                }
                let purpose = if reconcile {
                    Purpose::Reconcile
                } else {
                    Purpose::Poll
                };
                self.describe(i, purpose, fx);
            }
        }
        self.poll_early_when_idle(now, fx);
    }

    /// When a region has no Describe waiting, its Describe quota would go unused: spend it on
    /// the transitioning stream started longest ago, if it has been transitioning for at least
    /// half the learned first-poll delay. Such a poll is nearly free (the token was idle) and
    /// shortens the run's tail, where the last streams would otherwise wait for their timers.
    /// The dispatcher sends it only if a token is free at once.
    fn poll_early_when_idle(&mut self, now: EpochMillis, fx: &mut Vec<Effect>) {
        if self.observing {
            // The observer uses the Describe quota the engine does not see.
            return;
        }
        let floor = self.schedule.first_delay().as_millis() as EpochMillis / 2;
        let mut picks = Vec::new();
        for (region, due) in &self.describe_at {
            // Only a region with nothing in flight, at most one early poll each turn, and not
            // again at the instant its last one found no token.
            if self.describing(region) > 0 || self.early_declined.get(region) == Some(&now) {
                continue;
            }
            // The earliest polls are the streams started longest ago; a bounded look keeps
            // this cheap on every turn.
            let pick = due
                .iter()
                .filter(|(_, _, reconcile)| !reconcile)
                .take(EARLY_POLL_LOOKAHEAD)
                .find(|(_, i, _)| {
                    let started = self.live[*i].started().unwrap_or(now);
                    self.tracks[*i].phase == Phase::Polling && now - started >= floor
                });
            if let Some(&entry) = pick {
                picks.push((region.clone(), entry));
            }
        }
        for (region, entry) in picks {
            if let Some(due) = self.describe_at.get_mut(&region) {
                due.remove(&entry);
            }
            self.early_polls += 1;
            self.early.insert(entry.1, entry.0);
            self.describe(entry.1, Purpose::Poll, fx);
        }
    }

    fn describe(&mut self, i: usize, purpose: Purpose, fx: &mut Vec<Effect>) {
        *self
            .describes_by_region
            .entry(self.tracks[i].region.clone())
            .or_default() += 1;
        self.live[i].describing = Some(purpose);
        let early = self.early.contains_key(&i);
        fx.push(Effect::Describe { item: i, early });
    }

    /// Starts ready items, each region in fleet order, while each region has a free slot.
    fn dispatch(&mut self, now: EpochMillis, fx: &mut Vec<Effect>) {
        let cap = self.cap();
        let regions: Vec<Arc<str>> = self.ready.keys().cloned().collect();
        for region in regions {
            while self.starts_by_region.get(&region).copied().unwrap_or(0) < cap {
                let Some(i) = self.ready.get_mut(&region).and_then(BTreeSet::pop_first) else {
                    break;
                };
                self.dispatch_one(i, now, fx);
            }
        }
    }

    /// Starts one ready item if its gates pass; otherwise parks, defers or ends it.
    fn dispatch_one(&mut self, i: usize, now: EpochMillis, fx: &mut Vec<Effect>) {
        if self.tracks[i].phase != Phase::Pending {
            return;
        }
        if self.tracks[i].needs_describe {
            self.schedule_describe(i, now, true);
            return;
        }
        if self.tracks[i].account.is_none() {
            let update = ItemUpdate {
                reason: Some(Why::NOT_FOUND),
                ..ItemUpdate::default()
            };
            return self.finish(i, Phase::Failed, update, fx);
        }
        // Its account's credentials cannot create the KMS grant a customer key needs.
        if self.grant_withheld(i) {
            return self.withhold_grant(i, fx);
        }
        // Gate 1: budget above the reserve.
        let max_wait = self.config.max_wait.as_millis() as EpochMillis;
        let sends = self.live[i].sends.counted();
        match budget_gate(&sends, now, &self.config.settings, max_wait) {
            BudgetGate::Pass => {}
            BudgetGate::WaitUntil(at) => return self.schedule_dispatch(i, at),
            BudgetGate::Defer(slot) => {
                let update = ItemUpdate {
                    reason: Some(Why::BUDGET),
                    next_slot: slot,
                    ..ItemUpdate::default()
                };
                return self.finish(i, Phase::Deferred, update, fx);
            }
        }
        // Gate 2: room under the target key's limit, and the key not held while a slot freed
        // on it may still hold its old grant.
        if let Some(arn) = self.tracks[i]
            .target
            .key_arn()
            .map(|a| a.as_str().to_owned())
            && !self.live[i].holds_slot
        {
            if let Some(&until) = self.held.get(&arn)
                && until > now
            {
                if until - now <= max_wait {
                    return self.schedule_dispatch(i, until);
                }
                let update = ItemUpdate {
                    reason: Some(Why::GrantRetiring),
                    next_slot: Some(until),
                    ..ItemUpdate::default()
                };
                return self.finish(i, Phase::Deferred, update, fx);
            }
            let may_free = self.may_free(&arn);
            match key_gate(&mut self.keys, &arn, may_free) {
                KeyGate::Taken => self.live[i].holds_slot = true,
                KeyGate::Wait => {
                    self.key_waiters.entry(arn).or_default().insert(i);
                    return;
                }
                KeyGate::Full => {
                    let update = ItemUpdate {
                        reason: Some(Why::CMK_LIMIT),
                        ..ItemUpdate::default()
                    };
                    return self.finish(i, Phase::Skipped, update, fx);
                }
            }
        }
        // Gate 3 (the token) is taken by the worker.
        self.set_phase(i, Phase::Starting, fx);
        *self
            .starts_by_region
            .entry(self.tracks[i].region.clone())
            .or_default() += 1;
        fx.push(Effect::Start { item: i });
    }

    /// Whether some open item is moving a stream away from `arn`, which would free a slot.
    pub(super) fn may_free(&self, arn: &str) -> bool {
        self.leaving.get(arn).is_some_and(|&n| n > 0)
    }

    /// The stream now counts under its customer target key (found ENABLING/ENABLED with it).
    pub(super) fn take_slot(&mut self, i: usize) {
        if self.live[i].holds_slot {
            return;
        }
        if let Some(arn) = self.tracks[i].target.key_arn() {
            self.keys.add(arn.as_str());
            self.live[i].holds_slot = true;
        }
    }

    pub(super) fn release_slot(&mut self, i: usize) {
        if !self.live[i].holds_slot {
            return;
        }
        self.live[i].holds_slot = false;
        if let Some(arn) = self.tracks[i]
            .target
            .key_arn()
            .map(|a| a.as_str().to_owned())
        {
            self.key_freed(&arn);
        }
    }

    /// One stream fewer under `arn`: wake an item waiting for room.
    pub(super) fn key_freed(&mut self, arn: &str) {
        self.keys.free(arn);
        if let Some(waiters) = self.key_waiters.get_mut(arn)
            && let Some(i) = waiters.pop_first()
        {
            self.make_ready(i);
        }
    }
}
