//! Streams as a whole, each operation in the caller's account: CreateDeliveryStream (CREATING,
//! then ACTIVE after a drawn latency), DeleteDeliveryStream (DELETING, then gone),
//! DescribeDeliveryStream, ListDeliveryStreams; and the ground truth of the requests that
//! named a stream.

use std::ops::Bound;

use serde_json::Value;

use super::World;
use super::limits::{add_refs, settle_counted};
use super::stream::{KeyRef, Stream};
use crate::vocabulary::{
    ApiError, EncStatus, Millis, STREAM_OPERATIONS, StreamStatus, StreamType, codes,
};

/// What CreateDeliveryStream asks for, validated in form.
#[derive(Debug, Clone)]
pub struct NewStream {
    pub stream_type: StreamType,
    /// SSE from the start (DirectPut only).
    pub encryption: Option<KeyRef>,
    /// `Source` to describe (non-DirectPut).
    pub source: Option<Value>,
    /// `Destinations` to describe; `None` = the default S3 destination.
    pub destinations: Option<Value>,
}

impl World {
    /// CreateDeliveryStream in `account`: the stream is CREATING, then ACTIVE after a drawn
    /// latency. `encryption` (DirectPut only) turns SSE on from the start.
    pub fn create_stream(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        new: NewStream,
        now: Millis,
    ) -> Result<String, ApiError> {
        self.settle_due(now);
        if self.touch(account, region, name, now) {
            return Err(ApiError::new(
                codes::RESOURCE_IN_USE,
                format!("Firehose {name} under accountId {account} already exists"),
            ));
        }
        let NewStream {
            stream_type,
            encryption,
            source,
            destinations,
        } = new;
        if let Some(key) = &encryption {
            if stream_type != StreamType::DirectPut {
                return Err(ApiError::new(
                    codes::INVALID_ARGUMENT,
                    format!(
                        "Server-side encryption is only supported for DirectPut Firehose streams, not {}.",
                        stream_type.as_str()
                    ),
                ));
            }
            if let KeyRef::Customer(arn) = key {
                self.check_cmk_room(arn, None)?;
                self.key_start_error(arn)?;
                if let Err(f) = self.key_outcome(region, arn) {
                    return Err(ApiError::invalid_kms_resource(f.kms_code(), f.details));
                }
            }
        }
        let mut stream = Stream::new(stream_type, StreamStatus::Creating, now);
        let ready_at = now + self.draw_latency();
        stream.status_ready_at = Some(ready_at);
        self.schedule(ready_at, account, region, name);
        stream.source = source;
        stream.destinations = destinations;
        if let Some(key) = encryption {
            stream.enc_status = EncStatus::Enabled;
            stream.shown = Some(key.clone());
            stream.in_force = Some(key);
            add_refs(&mut self.cmk_counts, stream.cmk_refs(), 1);
        }
        self.region_streams(account, region)
            .insert(name.to_owned(), stream);
        Ok(self.stream_arn(account, region, name))
    }

    /// DeleteDeliveryStream: DELETING, gone after a drawn latency.
    pub fn delete_stream(
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
        // Drawn before the state is checked: a refused Delete uses a draw too, as it always
        // has, so a seed replays the same latencies.
        let ready = now + self.draw_latency();
        let stream = self.stream_mut(account, region, name).expect("touched");
        if matches!(
            stream.status,
            StreamStatus::Creating | StreamStatus::Deleting
        ) {
            return Err(ApiError::new(
                codes::RESOURCE_IN_USE,
                format!(
                    "Firehose {name} is not in a state that allows deletion (status {}).",
                    stream.status.as_str()
                ),
            ));
        }
        stream.status = StreamStatus::Deleting;
        stream.status_ready_at = Some(ready);
        stream.updated_at = now;
        self.schedule(ready, account, region, name);
        Ok(())
    }

    /// DescribeDeliveryStream: the stream, settled.
    pub fn describe_stream(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        now: Millis,
    ) -> Result<&Stream, ApiError> {
        self.settle_due(now);
        if !self.touch(account, region, name, now) {
            return Err(self.not_found(account, name));
        }
        Ok(self.stream(account, region, name).expect("touched"))
    }

    /// ListDeliveryStreams of `account`: names after `exclusive_start`, sorted, at most
    /// `limit`, and whether there are more.
    pub fn list_streams(
        &mut self,
        account: &str,
        region: &str,
        limit: usize,
        exclusive_start: Option<&str>,
        filter: Option<StreamType>,
        now: Millis,
    ) -> (Vec<String>, bool) {
        self.settle_due(now);
        let Some(map) = self
            .streams
            .get_mut(account)
            .and_then(|regions| regions.get_mut(region))
        else {
            return (Vec::new(), false);
        };
        let counts = &mut self.cmk_counts;
        let longest = &mut self.longest_transition;
        let retirement = self.grant_retirement;
        let lower = exclusive_start.map_or(Bound::Unbounded, Bound::Excluded);
        let mut names = Vec::new();
        let mut gone = Vec::new();
        let mut more = false;
        for (name, stream) in map.range_mut::<str, _>((lower, Bound::Unbounded)) {
            if !settle_counted(stream, now, counts, longest, retirement) {
                gone.push(name.clone());
                continue;
            }
            if filter.is_some_and(|t| t != stream.stream_type) {
                continue;
            }
            if names.len() == limit {
                more = true;
                break;
            }
            names.push(name.clone());
        }
        for name in gone {
            map.remove(&name);
        }
        (names, more)
    }

    /// Records a request of `account`'s credentials (operation `op`, one of
    /// [`STREAM_OPERATIONS`]) that named stream `name` in `region`: on the stream when the
    /// account has it (`found`), else among the account's requests for streams it has not.
    pub fn note_stream_request(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        op: &'static str,
        found: bool,
    ) {
        let index = STREAM_OPERATIONS.iter().position(|o| *o == op);
        match (found, index) {
            (true, Some(i)) => {
                if let Some(stream) = self.stream_mut(account, region, name) {
                    stream.requests[i] += 1;
                }
            }
            (false, _) => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.counters.stream_not_found(region, name, op);
                }
            }
            (true, None) => {}
        }
    }
}
