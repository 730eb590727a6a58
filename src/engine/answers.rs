//! What the engine does with each answer (docs/design.md#answers-to-a-start,
//! docs/design.md#the-asynchronous-transition-and-polling): a Start accepted, throttled, refused
//! for a limit, for a transition under way, for a missing stream or as invalid, denied, never sent
//! or unanswered; a Describe that finds the stream ENABLED, still ENABLING, ENABLING_FAILED, in
//! someone else's transition, or not at its target.

use std::time::Duration;

use super::failure::{self, FailureClass};
use super::io::{Abort, Effect, Note, Notice};
use super::limit::{self, Limit};
use super::phase::{ItemUpdate, Phase, Why};
use super::poll::PollSchedule;
use super::state::{PollOf, Purpose, RunState};
use crate::clock::{EpochMillis, SECOND};
use crate::limits::budget;
use crate::model::{
    AttemptOutcome, CallError, Encryption, KeyChoice, Operation, Reached, StreamObservation,
    StreamStatus,
};
use crate::plan::Reason;

fn ms(d: Duration) -> EpochMillis {
    d.as_millis() as EpochMillis
}

/// Calls in a row that never left after which the endpoint is taken to be unreachable.
const UNREACHABLE_AFTER: u32 = 3;

/// A Start refused for a cause sending it again cannot change: the stream gone, the request
/// invalid, or KMS refusing its key (that stream fails, the run goes on). Any other error is
/// the request's rejection, in its own words.
fn refused_for_good(error: CallError) -> ItemUpdate {
    match error {
        CallError::NotFound(message) => failed_with(
            Why::NOT_FOUND,
            ("ResourceNotFoundException".into(), message),
        ),
        CallError::KmsRefused { kms_code, message } => {
            let hint = failure::kms_refusal_hint(&kms_code);
            let failure = (
                "InvalidKMSResourceException".to_owned(),
                format!("{kms_code}: {message} — {hint}"),
            );
            failed_with(Why::KmsRefused, failure)
        }
        CallError::Invalid { code, message } => failed_with(Why::Rejected, (code, message)),
        other => failed_with(Why::Rejected, ("Unexpected".into(), other.to_string())),
    }
}

fn failed_with(reason: Why, failure: (String, String)) -> ItemUpdate {
    ItemUpdate {
        reason: Some(reason),
        failure: Some(failure),
        ..ItemUpdate::default()
    }
}

/// How the ledger records a Start's answer: only calls proven never sent spare the budget.
fn attempt_outcome(result: &Result<(), CallError>) -> AttemptOutcome {
    match result {
        Ok(()) => AttemptOutcome::Ok,
        Err(e) if !e.may_have_reached_service() => AttemptOutcome::NotSent {
            message: e.message(),
        },
        Err(e @ CallError::Unknown(_)) => AttemptOutcome::Unknown {
            message: e.message(),
        },
        Err(e) => AttemptOutcome::Rejected {
            code: e.code().to_owned(),
            message: e.message(),
        },
    }
}

impl RunState {
    /// Counts a call proven never sent, or resets the count when one reached the service;
    /// `true` when the run must stop because the endpoint cannot be reached.
    fn unreachable(&mut self, result: Result<(), &CallError>) -> bool {
        match result {
            Err(e @ CallError::NotSent(_)) => {
                self.not_sent += 1;
                if self.not_sent >= UNREACHABLE_AFTER {
                    self.aborted.get_or_insert(Abort::Unreachable {
                        calls: self.not_sent,
                        error: e.message(),
                    });
                    return true;
                }
                false
            }
            Err(e) if !e.may_have_reached_service() => false,
            _ => {
                self.not_sent = 0;
                false
            }
        }
    }

    /// A Start's answer: what it leads to, then its attempt completed.
    pub(super) fn start_answered(
        &mut self,
        i: usize,
        result: Result<(), CallError>,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        let outcome = attempt_outcome(&result);
        self.started(i, result, now, fx);
        fx.push(Effect::CompleteAttempt { item: i, outcome });
    }

    fn started(
        &mut self,
        i: usize,
        result: Result<(), CallError>,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        if self.unreachable(result.as_ref().map(|_| ())) {
            // Stop here: the item goes back to pending for a resume.
            self.live[i].sends.drop_last();
            return self.set_phase(i, Phase::Pending, fx);
        }
        match &result {
            // Proven never sent: the ledger does not count it, nor does the engine.
            Err(e) if !e.may_have_reached_service() => self.live[i].sends.drop_last(),
            // Refused, and tried again: the report says so rather than "accepted".
            Err(CallError::Throttled(_) | CallError::InUse(_)) => {
                self.tracks[i].notes_mut().refused += 1
            }
            _ => {}
        }
        let paced = |throttled| Effect::Paced {
            item: i,
            op: self.tracks[i].operation(),
            throttled,
        };
        match result {
            Ok(()) => {
                fx.push(paced(false));
                self.accepted(i, now, fx);
            }
            Err(CallError::Throttled(_)) => {
                fx.push(paced(true));
                self.start_throttled(i, fx);
            }
            Err(CallError::LimitExceeded(message)) => self.limit_exceeded(i, message, now, fx),
            Err(CallError::InUse(_)) => {
                // Transitioning: find out where it stands, then decide again.
                self.set_phase(i, Phase::Pending, fx);
                self.tracks[i].needs_describe = true;
                self.schedule_describe(i, now + SECOND, true);
            }
            Err(
                e @ (CallError::NotFound(_)
                | CallError::Invalid { .. }
                | CallError::KmsRefused { .. }),
            ) => self.finish(i, Phase::Failed, refused_for_good(e), fx),
            Err(error @ CallError::Denied { .. }) => {
                let operation = self.tracks[i].operation();
                self.aborted = Some(Abort::Refused { operation, error });
                self.set_phase(i, Phase::Pending, fx);
            }
            Err(CallError::NoCredentials(message)) => {
                self.aborted = Some(Abort::NoCredentials(message));
                self.set_phase(i, Phase::Pending, fx);
            }
            Err(CallError::NotSent(message)) => {
                // Never left: no budget spent, but not a free retry either.
                if self.tracks[i].starts >= self.config.max_attempts {
                    let update = failed_with(Why::AttemptsExhausted, ("NotSent".into(), message));
                    return self.finish(i, Phase::Failed, update, fx);
                }
                self.set_phase(i, Phase::Pending, fx);
                self.schedule_dispatch(i, now + 2 * SECOND);
            }
            Err(CallError::Unknown(_)) => {
                // It may have been applied: reconcile with Describe before any new Start.
                self.set_phase(i, Phase::Pending, fx);
                self.tracks[i].needs_describe = true;
                self.schedule_describe(i, now + 500, true);
            }
        }
    }

    /// A Start accepted: the stream followed to the end of its transition, its first poll
    /// after the schedule's first delay — or, with `--no-wait`, left as the AWS CLI leaves it.
    fn accepted(&mut self, i: usize, now: EpochMillis, fx: &mut Vec<Effect>) {
        if self.config.no_wait {
            // Accepted: as the AWS CLI returns now, the stream is not followed.
            self.set_phase(i, Phase::Polling, fx);
            return self.leave(i);
        }
        let delay = self.schedule.first_delay();
        let live = &mut self.live[i];
        live.set_started(Some(now));
        live.set_first_planned(Some(delay));
        live.polls = 0;
        self.set_phase(i, Phase::Polling, fx);
        self.schedule_describe(i, now + ms(delay), false);
    }

    /// A Start throttled: counted, said, and the stream ready to be sent again once its
    /// region's pace (slowed by the caller's `Paced` effect) allows.
    fn start_throttled(&mut self, i: usize, fx: &mut Vec<Effect>) {
        self.throttles += 1;
        let region = &self.tracks[i].region;
        fx.push(Effect::Notice(Notice::Note(Note::StartThrottled {
            region: region.to_string(),
        })));
        self.set_phase(i, Phase::Pending, fx);
        self.make_ready(i);
    }

    /// `LimitExceededException`: which limit it was, from our own counts first and then the
    /// service's words ([`limit::which`]). The budget defers the stream for a window; the key
    /// limit fails it and fills the key for the run — unless a rekey freed a slot under the key
    /// lately, when the old grant may not be retired yet ([`RunState::key_limit_refused`]);
    /// when both limits stay plausible the stream is deferred as for the budget, its reason
    /// saying so, the message kept, and the key never taken to be full. Never retried blindly.
    fn limit_exceeded(
        &mut self,
        i: usize,
        message: String,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        let settings = self.config.settings;
        let sends = self.live[i].sends.counted();
        let window = settings.counted_window();
        let arn = self.tracks[i]
            .target
            .key_arn()
            .map(|a| a.as_str().to_owned());
        let refusal = limit::Refusal {
            message: &message,
            stream: &self.tracks[i].name,
            key_arn: arn.as_deref(),
            budget_reached: budget::used(&sends, now, window) >= settings.stream_budget,
            key_reached: arn.as_deref().is_some_and(|arn| {
                let ours = u32::from(self.live[i].holds_slot);
                self.keys.count(arn).saturating_sub(ours) >= settings.cmk_limit
            }),
        };
        let reading = limit::which(&refusal);
        let failure = ("LimitExceededException".to_owned(), message);
        match (reading, arn) {
            (Limit::Key, Some(arn)) => self.key_limit_refused(i, arn, failure, now, fx),
            (Limit::Unclear, _) => self.budget_refused(i, Why::LimitUnclear, failure, now, fx),
            _ => self.budget_refused(i, Why::BUDGET, failure, now, fx),
        }
    }

    /// A refusal taken for a spent budget: others may have spent it too (the service counts
    /// every caller), so the budget is full as of this refusal, for a whole window unless our
    /// own calls free it sooner. The stream is deferred to its next slot with `why`.
    fn budget_refused(
        &mut self,
        i: usize,
        why: Why,
        failure: (String, String),
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        let settings = self.config.settings;
        let window = settings.counted_window();
        fx.push(Effect::MarkBudgetFull { item: i });
        self.live[i].sends.mark_last_full();
        let sends = self.live[i].sends.counted();
        let slot =
            budget::next_slot(&sends, now, window, settings.allowed()).unwrap_or(now + window);
        let update = ItemUpdate {
            next_slot: Some(slot),
            ..failed_with(why, failure)
        };
        self.finish(i, Phase::Deferred, update, fx);
    }

    /// A refusal for the key's limit. Within [`super::Config::retirement_wait`] of a rekey or Stop
    /// that freed a slot under the key, the old grant may still count: the key is held until
    /// that wait has passed (no Start goes to it before), and the stream is tried again then —
    /// in this run when that is within `--max-wait`, else deferred `grant_retiring` with that
    /// time. Otherwise the key is full for the run: no other Start goes to it, its streams end
    /// without a call.
    fn key_limit_refused(
        &mut self,
        i: usize,
        arn: String,
        failure: (String, String),
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        let wait = ms(self.config.retirement_wait);
        if let Some(&freed) = self.freed_at.get(&arn)
            && now < freed + wait
        {
            let retry = freed + wait;
            self.held.insert(arn, retry);
            self.release_slot(i);
            if retry - now <= ms(self.config.max_wait) {
                self.set_phase(i, Phase::Pending, fx);
                return self.schedule_dispatch(i, retry);
            }
            let update = ItemUpdate {
                next_slot: Some(retry),
                ..failed_with(Why::GrantRetiring, failure)
            };
            return self.finish(i, Phase::Deferred, update, fx);
        }
        self.keys.mark_full(&arn);
        fx.push(Effect::Notice(Notice::Note(Note::KeyFull {
            key_arn: arn.clone(),
        })));
        self.finish(i, Phase::Failed, failed_with(Why::CMK_LIMIT, failure), fx);
        // Those waiting for room under it will never get it.
        if let Some(waiters) = self.key_waiters.remove(&arn) {
            for w in waiters {
                self.make_ready(w);
            }
        }
    }

    /// A Describe's answer: a stream that is not ACTIVE ends; else its encryption against its
    /// target decides (reached, moving, failed, unknown, someone else's transition, not taken).
    pub(super) fn described(
        &mut self,
        i: usize,
        poll: PollOf,
        result: Result<StreamObservation, CallError>,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        let reconcile = poll.purpose == Purpose::Reconcile;
        if self.unreachable(result.as_ref().map(|_| ())) {
            return;
        }
        let obs = match result {
            Ok(obs) => obs,
            Err(error) => return self.describe_refused(i, error, reconcile, now, fx),
        };
        fx.push(Effect::Paced {
            item: i,
            op: Operation::Describe,
            throttled: false,
        });
        if self.tracks[i].account.is_none() {
            self.tracks[i].account = Some(self.names.get(&obs.id.account));
        }
        self.tracks[i].needs_describe = false;
        if obs.status != StreamStatus::Active {
            return self.not_active(i, &obs, fx);
        }
        let target = self.tracks[i].target.clone();
        let enc = &obs.encryption;
        let reached = target.reached(&enc.status, enc.key.as_ref());
        let elapsed = self.count_poll(i, poll, reached);
        match reached {
            Reached::Done => self.reached(i, &target, elapsed, now, fx),
            Reached::Moving => self.still_moving(i, enc, poll.sent_at, now, fx),
            Reached::Failed => self.enabling_failed(i, enc, reconcile, now, fx),
            Reached::Unknown => {
                let raw = enc.status.as_str();
                let update = failed_with(
                    Why::Plan(Reason::UnknownStatus),
                    (
                        raw.to_owned(),
                        "an encryption status this tool does not know: look at the stream \
                         before changing it"
                            .into(),
                    ),
                );
                self.finish(i, Phase::Failed, update, fx);
            }
            Reached::Elsewhere => {
                // Someone else's transition (a Stop, or a Start towards another key): wait
                // for it to end, then decide.
                self.set_phase(i, Phase::Pending, fx);
                self.tracks[i].needs_describe = true;
                let wait = ms(self.schedule.first_delay());
                self.schedule_describe(i, now + wait, true);
            }
            Reached::Not => self.not_taken(i, enc, fx),
        }
    }

    /// A Describe refused: a throttle is paced and tried again, a stream gone ends, a refusal
    /// or missing credentials abort the run, anything else is tried again a second later.
    fn describe_refused(
        &mut self,
        i: usize,
        error: CallError,
        reconcile: bool,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        match error {
            CallError::Throttled(_) => {
                self.throttles += 1;
                fx.push(Effect::Paced {
                    item: i,
                    op: Operation::Describe,
                    throttled: true,
                });
                self.schedule_describe(i, now, reconcile);
            }
            CallError::NotFound(message) => {
                let update = failed_with(
                    Why::NOT_FOUND,
                    ("ResourceNotFoundException".into(), message),
                );
                self.finish(i, Phase::Failed, update, fx);
            }
            error @ CallError::Denied { .. } => {
                let operation = Operation::Describe;
                self.aborted = Some(Abort::Refused { operation, error });
            }
            CallError::NoCredentials(message) => {
                self.aborted = Some(Abort::NoCredentials(message));
            }
            _ => self.schedule_describe(i, now + SECOND, reconcile),
        }
    }

    /// Start needs an ACTIVE stream (CREATING, DELETING, *_FAILED: never started).
    fn not_active(&mut self, i: usize, obs: &StreamObservation, fx: &mut Vec<Effect>) {
        let status = obs.status.as_str().to_owned();
        let update = failed_with(
            Why::Plan(Reason::NotActive),
            (
                status.clone(),
                format!("the stream is {status}; Start needs an ACTIVE stream"),
            ),
        );
        let phase = match self.tracks[i].starts {
            0 => Phase::Skipped,
            _ => Phase::Failed,
        };
        self.finish(i, phase, update, fx);
    }

    /// Counts a poll and teaches the first-poll learner from the first one sent at the learned
    /// delay (an early poll, on an idle quota, teaches it nothing); the time since the Start.
    fn count_poll(&mut self, i: usize, poll: PollOf, reached: Reached) -> Option<Duration> {
        let live = &mut self.live[i];
        let elapsed = live
            .started()
            .map(|s| Duration::from_millis((poll.sent_at - s).max(0) as u64));
        let first_poll = poll.purpose == Purpose::Poll && live.polls == 0 && !poll.early;
        if poll.purpose == Purpose::Poll {
            live.polls = live.polls.saturating_add(1);
        }
        if first_poll && let (Some(planned), Some(elapsed)) = (live.first_planned(), elapsed) {
            self.schedule
                .learn(planned, elapsed, reached != Reached::Moving);
        }
        elapsed
    }

    /// At its target: done, and a rekey away from a customer key (or a Stop) frees its slot
    /// now (its grant is only scheduled for retirement: see `limit_exceeded`).
    fn reached(
        &mut self,
        i: usize,
        target: &KeyChoice,
        elapsed: Option<Duration>,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        self.take_slot(i);
        if let Some(elapsed) = elapsed {
            self.schedule.saw_done(elapsed);
        }
        if let Some(KeyChoice::Customer(old)) = self.tracks[i].old_key().cloned()
            && target.key_arn() != Some(&old)
        {
            self.freed_at.insert(old.as_str().to_owned(), now);
            self.key_freed(old.as_str());
        }
        let update = ItemUpdate {
            enabled_at: Some(now),
            ..ItemUpdate::default()
        };
        self.finish(i, Phase::Done, update, fx);
    }

    /// On its way to the target: polled again (first at the learned delay, then backing off),
    /// or failed once it has taken longer than the poll timeout.
    fn still_moving(
        &mut self,
        i: usize,
        enc: &Encryption,
        sent_at: EpochMillis,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        self.take_slot(i);
        if self.tracks[i].phase != Phase::Polling {
            self.set_phase(i, Phase::Polling, fx);
        }
        let live = &mut self.live[i];
        let started = live.started().unwrap_or(sent_at);
        live.set_started(Some(started));
        let since = Duration::from_millis((now - started).max(0) as u64);
        if since >= self.config.poll_timeout {
            let update = failed_with(
                Why::TimedOut,
                (
                    "TIMED_OUT".into(),
                    format!(
                        "still {} after {}s; resume to keep polling",
                        enc.status,
                        since.as_secs()
                    ),
                ),
            );
            return self.finish(i, Phase::Failed, update, fx);
        }
        let wait = match live.first_planned() {
            None => {
                let first = self.schedule.first_delay();
                live.set_first_planned(Some(first));
                first
            }
            Some(_) => PollSchedule::next_delay(since),
        };
        self.schedule_describe(i, now + ms(wait), false);
    }

    /// ENABLING_FAILED (or DISABLING_FAILED): a transient failure is started again with a
    /// backoff within the attempt limit (with fresh credentials after a failed grant); any
    /// other ends the stream with its class and what to do.
    fn enabling_failed(
        &mut self,
        i: usize,
        enc: &Encryption,
        reconcile: bool,
        now: EpochMillis,
        fx: &mut Vec<Effect>,
    ) {
        self.release_slot(i);
        let live = &mut self.live[i];
        live.set_started(None);
        live.set_first_planned(None);
        let t = &self.tracks[i];
        if reconcile && t.starts == 0 && t.phase == Phase::Pending {
            // A failure from before this run: this run's Start has not happened yet.
            return self.make_ready(i);
        }
        let Some(f) = enc.failure.as_ref() else {
            // Neither the encryption configuration nor the stream says why: nothing tells a
            // retry could help.
            let update = failed_with(
                Why::EnablingFailed(FailureClass::NeedsOperator),
                (
                    enc.status.as_str().to_owned(),
                    "no FailureDescription on the stream or its encryption configuration: look \
                     at the stream, then run again"
                        .into(),
                ),
            );
            return self.finish(i, Phase::Failed, update, fx);
        };
        let (kind, details) = (f.kind.clone(), f.details.clone());
        let class = failure::classify(&kind);
        if class == FailureClass::Transient && t.starts < self.config.max_attempts {
            if kind == "CREATE_KMS_GRANT_FAILED" {
                // Often credentials older than 6 h: the retry goes with fresh ones.
                fx.push(Effect::RefreshCredentials { item: i });
            }
            let backoff = SECOND * 2i64.saturating_pow(t.starts.min(6));
            self.set_phase(i, Phase::Pending, fx);
            return self.schedule_dispatch(i, now + backoff);
        }
        let hint = failure::hint(&kind);
        let update = failed_with(
            Why::EnablingFailed(class),
            (kind, format!("{details} — {hint}")),
        );
        self.finish(i, Phase::Failed, update, fx);
    }

    /// Not at the target and not moving: our call did not take (or was never sent). Sent
    /// (again) within the attempt limit.
    fn not_taken(&mut self, i: usize, enc: &Encryption, fx: &mut Vec<Effect>) {
        let live = &mut self.live[i];
        live.set_started(None);
        live.set_first_planned(None);
        let t = &self.tracks[i];
        if t.starts >= self.config.max_attempts {
            let refused = t.notes().map_or(0, |n| n.refused);
            let update = failed_with(
                Why::AttemptsExhausted,
                (
                    "NOT_APPLIED".into(),
                    format!(
                        "{} Start call(s): {} accepted or unanswered, {refused} refused \
                         (throttled or in use); the stream still shows {}",
                        t.starts,
                        t.starts.saturating_sub(refused),
                        enc.status
                    ),
                ),
            );
            return self.finish(i, Phase::Failed, update, fx);
        }
        if t.phase != Phase::Pending {
            self.set_phase(i, Phase::Pending, fx);
        }
        self.make_ready(i);
    }
}
