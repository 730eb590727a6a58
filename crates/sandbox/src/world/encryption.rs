//! StartDeliveryStreamEncryption and StopDeliveryStreamEncryption on a stream of the caller's
//! account: the checks they share, in the order AWS applies them, and the transitions they
//! begin. An accepted call counts against
//! the stream's budget; a refused one (the stream's state, a limit, or a key whose grant
//! cannot be made: `InvalidKMSResourceException`) is counted as rejected and not against the
//! budget, and changes nothing.

use super::World;
use super::iam::Actor;
use super::limits::{add_refs, budget_spent};
use super::stream::{KeyRef, Pending};
use crate::vocabulary::{
    ApiError, EncStatus, Millis, StreamStatus, StreamType, codes, fingerprint,
};

impl World {
    /// The checks Start and Stop share, in the order AWS applies them; a refusal is counted
    /// against the stream as rejected.
    fn check_start_stop(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        now: Millis,
    ) -> Result<(), ApiError> {
        self.settle_due(now);
        if !self.touch(account, region, name, now) {
            return Err(self.not_found(account, name));
        }
        let (budget, window) = (self.stream_budget as usize, self.window);
        let stream = self.stream_mut(account, region, name).expect("touched");
        stream.prune_calls(now, window);
        let refusal = if stream.stream_type != StreamType::DirectPut {
            Some(ApiError::new(
                codes::INVALID_ARGUMENT,
                format!(
                    "Server-side encryption is only supported for DirectPut Firehose streams; {name} has source type {}.",
                    stream.stream_type.as_str()
                ),
            ))
        } else if stream.status != StreamStatus::Active {
            Some(ApiError::new(
                codes::RESOURCE_IN_USE,
                format!(
                    "Firehose {name} is not ACTIVE (status {}).",
                    stream.status.as_str()
                ),
            ))
        } else if matches!(
            stream.enc_status,
            EncStatus::Enabling | EncStatus::Disabling
        ) {
            Some(ApiError::new(
                codes::RESOURCE_IN_USE,
                format!(
                    "Firehose {name} is updating its encryption (status {}); try again when it is done.",
                    stream.enc_status.as_str()
                ),
            ))
        } else if stream.calls.len() >= budget {
            Some(budget_spent(name, budget, window))
        } else {
            None
        };
        match refusal {
            None => Ok(()),
            Some(err) => {
                stream.rejected_calls += 1;
                if err.is(codes::LIMIT_EXCEEDED) {
                    self.counters.limit_exceeded.stream_budget += 1;
                }
                Err(err)
            }
        }
    }

    /// StartDeliveryStreamEncryption: ENABLING now, ENABLED (or ENABLING_FAILED) after a drawn
    /// latency. An accepted call counts against the stream's budget; `token` (the request's
    /// session token) is fingerprinted into the ground truth.
    pub fn start_encryption(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        key: KeyRef,
        token: &str,
        now: Millis,
    ) -> Result<(), ApiError> {
        self.start_encryption_by(None, account, region, name, key, token, now)
    }

    /// [`World::start_encryption`] by `actor`, when known: with a customer key, Firehose
    /// creates its grant on the caller's behalf, so the caller must be allowed
    /// `kms:CreateGrant` on the key (`kms:GrantIsForAWSResource` true, `kms:ViaService`
    /// Firehose's), else the Start is refused with `InvalidKMSResourceException` whose `code`
    /// is `AccessDeniedException`.
    #[allow(clippy::too_many_arguments)]
    pub fn start_encryption_by(
        &mut self,
        actor: Option<&Actor>,
        account: &str,
        region: &str,
        name: &str,
        key: KeyRef,
        token: &str,
        now: Millis,
    ) -> Result<(), ApiError> {
        self.check_start_stop(account, region, name, now)?;
        if let KeyRef::Customer(arn) = &key {
            let refused = self
                .check_cmk_room(arn, Some((account, region, name)))
                .and_then(|()| match actor {
                    Some(actor) => self.grant_refused(actor, region, arn),
                    None => Ok(()),
                })
                .and_then(|()| self.key_start_error(arn));
            if let Err(err) = refused {
                self.stream_mut(account, region, name)
                    .expect("checked")
                    .rejected_calls += 1;
                return Err(err);
            }
        }
        let outcome = match &key {
            KeyRef::AwsOwned => Ok(()),
            KeyRef::Customer(arn) => self.key_outcome(region, arn),
        };
        let ready_at = now + self.draw_latency();
        let counts = &mut self.cmk_counts;
        let stream = self
            .streams
            .get_mut(account)
            .and_then(|regions| regions.get_mut(region))
            .and_then(|m| m.get_mut(name))
            .expect("checked");
        add_refs(counts, stream.cmk_refs(), -1);
        stream.calls.push_back(now);
        stream.start_calls += 1;
        stream.start_tokens.push(fingerprint(token));
        stream.enc_status = EncStatus::Enabling;
        stream.shown = Some(key.clone());
        stream.failure = None;
        stream.updated_at = now;
        stream.pending = Some(Pending::Enable {
            target: key,
            outcome,
            began_at: now,
            ready_at,
        });
        add_refs(counts, stream.cmk_refs(), 1);
        self.schedule(ready_at, account, region, name);
        self.schedule(ready_at + self.grant_retirement, account, region, name);
        Ok(())
    }

    /// StopDeliveryStreamEncryption: DISABLING now, DISABLED after a drawn latency. On a stream
    /// that is not encrypted it is accepted (and counted) and changes nothing.
    pub fn stop_encryption(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        now: Millis,
    ) -> Result<(), ApiError> {
        self.check_start_stop(account, region, name, now)?;
        let ready_at = now + self.draw_latency();
        let stream = self.stream_mut(account, region, name).expect("checked");
        stream.calls.push_back(now);
        stream.stop_calls += 1;
        if stream.enc_status != EncStatus::Disabled {
            stream.enc_status = EncStatus::Disabling;
            stream.failure = None;
            stream.updated_at = now;
            stream.pending = Some(Pending::Disable {
                began_at: now,
                ready_at,
            });
            self.schedule(ready_at, account, region, name);
            self.schedule(ready_at + self.grant_retirement, account, region, name);
        }
        Ok(())
    }
}
