//! Recent observations a plan may use instead of describing a stream again, so that an
//! `inventory` just before a `plan` describes every stream once, not twice. Only what
//! `inventory` observed is offered (a plan run again means to see afresh), only a settled
//! observation — the stream ACTIVE and its encryption ENABLED or DISABLED — and only when no
//! Start or Stop was sent to the stream since: a transition under way, or one this ledger
//! started, must be seen afresh.

use rusqlite::{OptionalExtension, params};

use super::records::StreamState;
use super::{Ledger, Result};
use crate::clock::EpochMillis;
use crate::model::{
    EncStatus, Encryption, Failure, KeyChoice, SourceType, StreamId, StreamObservation,
    StreamStatus,
};

/// A stream's latest observation and what the ledger derived from it (`state.observed_at`:
/// when it was made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    pub obs: StreamObservation,
    pub state: StreamState,
}

impl Ledger {
    /// The latest observation of `stream` if `inventory` made it (it belongs to no run), at
    /// `since` or later, it is settled, and no Start or Stop was sent to the stream at or after
    /// it.
    pub fn recent_observation(
        &self,
        stream: &StreamId,
        since: EpochMillis,
    ) -> Result<Option<Recent>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT s.id, s.arn, s.source_type, s.source_arn, s.status, s.enc_status,
                        s.key_type, s.key_arn, s.failure_type, s.failure_details,
                        s.in_force_type, s.in_force_arn, s.in_force_unknown, s.observed_at
                 FROM streams s
                 WHERE s.account = ?1 AND s.region = ?2 AND s.name = ?3 AND s.observed_at >= ?4
                   AND s.status = 'ACTIVE' AND s.enc_status IN ('ENABLED', 'DISABLED')
                   AND (SELECT o.run_id IS NULL FROM observations o WHERE o.stream_id = s.id
                        ORDER BY o.id DESC LIMIT 1)
                   AND NOT EXISTS (SELECT 1 FROM attempts a
                                   WHERE a.stream_id = s.id AND a.sent_at >= s.observed_at)",
                params![stream.account, stream.region, stream.name, since],
                |r| {
                    let key = |t: Option<String>, a: Option<String>| {
                        t.and_then(|t| KeyChoice::from_parts(&t, a.as_deref()))
                    };
                    let enc_status = EncStatus::parse(&r.get::<_, String>(5)?);
                    let encryption_key = key(r.get(6)?, r.get(7)?);
                    let failure = match (
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                    ) {
                        (Some(kind), details) => Some(Failure {
                            kind,
                            details: details.unwrap_or_default(),
                        }),
                        (None, _) => None,
                    };
                    Ok(Recent {
                        obs: StreamObservation {
                            id: stream.clone(),
                            arn: r.get(1)?,
                            source: SourceType::parse(&r.get::<_, String>(2)?),
                            source_arn: r.get(3)?,
                            status: StreamStatus::parse(&r.get::<_, String>(4)?),
                            encryption: Encryption {
                                status: enc_status.clone(),
                                key: encryption_key.clone(),
                                failure,
                            },
                        },
                        state: StreamState {
                            row: r.get(0)?,
                            enc_status,
                            key: encryption_key,
                            in_force: key(r.get(10)?, r.get(11)?),
                            in_force_unknown: r.get(12)?,
                            observed_at: r.get(13)?,
                        },
                    })
                },
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock as _, SECOND};
    use crate::ledger::tests::{ledger, observe, sid};
    use crate::ledger::{RunArgs, RunKind};

    #[test]
    fn a_settled_observation_is_offered_until_a_call_is_sent_or_it_is_too_old() {
        let (_dir, ledger, clock) = ledger();
        let seen_at = clock.now();
        let row = observe(&ledger, "a", EncStatus::Disabled, None);
        let recent = ledger
            .recent_observation(&sid("a"), seen_at)
            .unwrap()
            .unwrap();
        assert_eq!(recent.state.observed_at, seen_at);
        assert_eq!(recent.obs.id, sid("a"));
        assert_eq!(recent.obs.encryption.status, EncStatus::Disabled);
        assert_eq!(recent.obs.status, StreamStatus::Active);
        assert_eq!(recent.state.in_force, None);
        // Older than asked for: not offered.
        assert_eq!(
            ledger.recent_observation(&sid("a"), seen_at + 1).unwrap(),
            None
        );
        // Another account's stream of the same name is another stream.
        let other = StreamId {
            account: "999999999999".into(),
            ..sid("a")
        };
        assert_eq!(ledger.recent_observation(&other, 0).unwrap(), None);
        // A Start sent since: the observation says nothing of where the stream is now.
        clock.advance(SECOND);
        ledger
            .begin_attempt(
                row,
                None,
                crate::ledger::Op::Start,
                Some(&KeyChoice::AwsOwned),
            )
            .unwrap();
        assert_eq!(ledger.recent_observation(&sid("a"), 0).unwrap(), None);
    }

    #[test]
    fn what_a_plan_or_apply_observed_is_not_offered() {
        let (_dir, ledger, _clock) = ledger();
        observe(&ledger, "c", EncStatus::Disabled, None);
        assert!(ledger.recent_observation(&sid("c"), 0).unwrap().is_some());
        let run = ledger
            .start_run(
                RunKind::Plan,
                None,
                &RunArgs::Unknown(serde_json::json!({})),
            )
            .unwrap();
        let obs = ledger
            .recent_observation(&sid("c"), 0)
            .unwrap()
            .unwrap()
            .obs;
        ledger.record_stream(&obs, Some(run.id())).unwrap();
        assert_eq!(ledger.recent_observation(&sid("c"), 0).unwrap(), None);
    }

    #[test]
    fn a_transition_under_way_is_not_offered() {
        let (_dir, ledger, _clock) = ledger();
        observe(&ledger, "b", EncStatus::Enabling, Some(KeyChoice::AwsOwned));
        assert_eq!(ledger.recent_observation(&sid("b"), 0).unwrap(), None);
        observe(&ledger, "b", EncStatus::Enabled, Some(KeyChoice::AwsOwned));
        let recent = ledger.recent_observation(&sid("b"), 0).unwrap().unwrap();
        assert_eq!(recent.state.in_force, Some(KeyChoice::AwsOwned));
    }
}
