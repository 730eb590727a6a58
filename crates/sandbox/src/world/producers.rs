//! Synthetic producers: the world file's producers with a `rate` put records to their stream
//! continuously, from the sandbox's start, one record per `PutRecord`, as their role (a session
//! `synthetic-producer` of it) or user. Nothing runs in the background: a stream's producers are
//! brought up to a time whenever the stream is settled (`World::touch`, the ground truth, and
//! before any request that can change what a producer may do), integrating their schedule over
//! the time passed against the stream as it stood: a transition due in that time splits the
//! integration at its due time, so records put while a stream was ENABLING with no key in force
//! are accepted and those put after its customer key came into force are refused when the
//! producer may not use the key. Each record is checked as a real `PutRecord` is
//! (`firehose:PutRecord` allowed, the stream DirectPut and ACTIVE, the key in force usable) and
//! counted like one: accepted, or refused with its KMS cause, in the stream's record log and
//! its `AWS/Firehose` metrics.
//!
//! Record `k` of a producer is put at `origin + k / rate` seconds, so the count in any span is
//! the same however the spans are cut. History older than the record log keeps (15 days) is not
//! integrated.

use super::World;
use super::iam::{Actor, Context};
use super::limits::settle_counted;
use super::metrics::{self, MINUTE, STANDARD_RETENTION};
use super::records::Tally;
use super::stream::Stream;
use super::synthetic::Synthetic;
use crate::vocabulary::{ApiError, Millis, codes, firehose_arn};

impl Stream {
    /// When its next transition is due (status or encryption).
    fn next_change(&self) -> Option<Millis> {
        let pending = self.pending.as_ref().map(|p| p.ready_at());
        match (self.status_ready_at, pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl World {
    /// Brings the synthetic producers of stream `name` of `account` in `region` up to `now`,
    /// settling the stream's transitions at their due times on the way (a stream deleted on the
    /// way is removed).
    pub(super) fn run_producers(&mut self, account: &str, region: &str, name: &str, now: Millis) {
        loop {
            let Some(stream) = self.stream(account, region, name) else {
                return;
            };
            if stream.synthetic.is_empty() {
                return;
            }
            let change = stream.next_change().filter(|&t| t <= now);
            let upto = change.unwrap_or(now);
            let verdicts: Vec<Option<ApiError>> = stream
                .synthetic
                .iter()
                .map(|p| self.synthetic_verdict(&p.actor, region, name))
                .collect();
            let period = self.metric_period;
            let stream = self.stream_mut(account, region, name).expect("found");
            for (i, verdict) in verdicts.iter().enumerate() {
                let p = stream.synthetic[i].clone();
                let log = stream.records_mut();
                integrate(&p, verdict.as_ref(), upto, period, now, |at, tally| {
                    log.count(at, period, tally, now)
                });
                stream.synthetic[i].until = upto.max(p.until);
            }
            let Some(at) = change else {
                return;
            };
            let Some(map) = self
                .streams
                .get_mut(account)
                .and_then(|regions| regions.get_mut(region))
            else {
                return;
            };
            let stream = map.get_mut(name).expect("found");
            let kept = settle_counted(
                stream,
                at,
                &mut self.cmk_counts,
                &mut self.longest_transition,
                self.grant_retirement,
            );
            if !kept {
                map.remove(name);
                return;
            }
        }
    }

    /// Brings every stream's synthetic producers up to `now` (before a change of keys or
    /// policies, which holds from `now` on).
    pub fn run_all_producers(&mut self, now: Millis) {
        let mut producing = Vec::new();
        for (account, regions) in &self.streams {
            for (region, map) in regions {
                for (name, stream) in map {
                    if !stream.synthetic.is_empty() {
                        producing.push((account.clone(), region.clone(), name.clone()));
                    }
                }
            }
        }
        for (account, region, name) in producing {
            self.run_producers(&account, &region, &name, now);
        }
    }

    /// Why a synthetic producer's `PutRecord` to stream `name` would be refused now, if it
    /// would be: as a real one (identity policies, the stream, the key in force).
    fn synthetic_verdict(&self, actor: &Actor, region: &str, name: &str) -> Option<ApiError> {
        let action = "firehose:PutRecord";
        let arn = firehose_arn(region, actor.account(), name);
        match self.authorize(actor, action, &arn, &Context::default()) {
            Err(_) => Some(ApiError::new(codes::ACCESS_DENIED, "not authorized")),
            Ok(()) => self.put_refusal(actor, region, name, &[1], false),
        }
    }
}

/// Counts the records `p` puts from where it stands to `upto`, each `verdict` (refused with it,
/// or accepted), in spans within one metric period and one minute (one minute at a time past
/// the metric periods' retention; nothing before the record log's 15 days).
fn integrate(
    p: &Synthetic,
    verdict: Option<&ApiError>,
    upto: Millis,
    period: Millis,
    now: Millis,
    mut count: impl FnMut(Millis, &Tally),
) {
    let fine = period.min(MINUTE);
    let fine_from = now - metrics::retention(period);
    let mut at = p.until.max(now - STANDARD_RETENTION);
    while at < upto {
        let width = if at >= fine_from { fine } else { MINUTE };
        let end = (at - at.rem_euclid(width) + width).min(upto);
        let n = p.put_before(end) - p.put_before(at);
        if n > 0 {
            let tally = match verdict {
                None => Tally {
                    accepted: n,
                    bytes: n * p.bytes,
                    requests: n,
                    ..Tally::default()
                },
                Some(err) => Tally::refused(n, err, n),
            };
            count(at, &tally);
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(rate: f64) -> Synthetic {
        let actor = Actor::User {
            account: "123456789012".into(),
            name: "p".into(),
        };
        Synthetic::new(actor, rate, 10, 1_000_000)
    }

    #[test]
    fn a_schedule_counts_the_same_however_it_is_cut() {
        let p = producer(2.5);
        assert_eq!(p.put_before(1_000_000), 0);
        assert_eq!(p.put_before(1_000_001), 1);
        assert_eq!(p.put_before(1_004_000), 10);
        let mut counted = 0;
        integrate(&p, None, 1_004_000, 1_000, 1_004_000, |_, t| {
            counted += t.accepted
        });
        assert_eq!(counted, 10);
        let mut pieces = Vec::new();
        integrate(&p, None, 1_000_000 + 120_000, 60_000, 2_000_000, |at, t| {
            pieces.push((at, t.accepted, t.bytes, t.requests))
        });
        // Spans end at minute boundaries: 1_020_000 is 17 minutes exactly.
        assert_eq!(
            pieces,
            vec![
                (1_000_000, 50, 500, 50),
                (1_020_000, 150, 1_500, 150),
                (1_080_000, 100, 1_000, 100)
            ]
        );
        assert_eq!(producer(0.0).put_before(9_000_000), 0);
    }

    #[test]
    fn refused_records_carry_their_kms_cause() {
        let p = producer(1.0);
        let err = ApiError::invalid_kms_resource("DisabledException", "disabled");
        let mut tallies = Vec::new();
        integrate(&p, Some(&err), 1_003_000, 60_000, 1_003_000, |_, t| {
            tallies.push(*t)
        });
        assert_eq!(tallies.len(), 1);
        assert_eq!(tallies[0].refused, 3);
        assert_eq!(tallies[0].accepted, 0);
        assert_eq!(
            tallies[0].kms,
            Some((metrics::FirehoseMetric::KmsKeyDisabled, 3))
        );
    }
}
