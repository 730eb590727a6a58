//! Tags of Firehose streams and the Resource Groups Tagging API's `GetResources` over them.
//!
//! A stream's tags come from the world file, from `CreateDeliveryStream`'s `Tags`, and from
//! `TagDeliveryStream` (a key given again replaces its value; at most 50 tags a stream:
//! `LimitExceededException`), `UntagDeliveryStream` removes keys (unknown ones are ignored),
//! `ListTagsForDeliveryStream` lists them by key, `Limit` (default 50) a page after
//! `ExclusiveStartTagKey`, as the Firehose API reference describes them. The model refuses
//! keys beginning `aws:` in requests (its `TagKey` pattern); only the world file gives those,
//! as CloudFormation sets `aws:cloudformation:stack-name` on the resources of a stack.
//!
//! `GetResources` answers, in the caller's account and Region, the resources that are or have
//! been tagged (a stream whose tags were all removed is listed with none), filtered by
//! `ResourceTypeFilters` (`firehose` or `firehose:deliverystream`; a Kinesis stream is never
//! tagged here), `TagFilters` (every filter's key present, with one of its values when it
//! lists some) or `ResourceARNList` (not with the other two: `InvalidParameterException`).

use std::collections::BTreeMap;

use super::World;
use crate::vocabulary::{ApiError, Millis, codes};

pub use crate::vocabulary::MAX_STREAM_TAGS as MAX_TAGS;

/// A tag filter of `GetResources`: the key, and the values one of which it must have (none:
/// any value).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagFilter {
    pub key: String,
    pub values: Vec<String>,
}

/// What `GetResources` asks for.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuery {
    pub types: Vec<String>,
    pub tags: Vec<TagFilter>,
    pub arns: Vec<String>,
}

/// One resource `GetResources` lists: its ARN and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

impl ResourceQuery {
    /// Refuses what the API reference refuses: `ResourceARNList` with a filter, a resource
    /// type that is not `service[:resourceType]`.
    pub fn check(&self) -> Result<(), ApiError> {
        let invalid = |m: String| ApiError::new(codes::INVALID_PARAMETER, m);
        if !self.arns.is_empty() && (!self.types.is_empty() || !self.tags.is_empty()) {
            return Err(invalid(
                "ResourceARNList can't be combined with TagFilters or ResourceTypeFilters."
                    .to_owned(),
            ));
        }
        for t in &self.types {
            let mut parts = t.splitn(2, ':');
            let service = parts.next().unwrap_or("");
            let well_formed = !service.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && parts.next().is_none_or(|r| !r.is_empty());
            if !well_formed {
                return Err(invalid(format!(
                    "Unsupported resource type {t:?}: a resource type is service[:resourceType]."
                )));
            }
        }
        if self.tags.iter().any(|f| f.key.is_empty()) {
            return Err(invalid("Every TagFilter needs a Key.".to_owned()));
        }
        Ok(())
    }

    fn matches(&self, arn: &str, tags: &BTreeMap<String, String>) -> bool {
        if !self.arns.is_empty() {
            return self.arns.iter().any(|a| a == arn);
        }
        let typed = self.types.is_empty()
            || self
                .types
                .iter()
                .any(|t| t == "firehose" || t == "firehose:deliverystream");
        typed
            && self.tags.iter().all(|f| {
                tags.get(&f.key)
                    .is_some_and(|v| f.values.is_empty() || f.values.contains(v))
            })
    }
}

impl World {
    /// TagDeliveryStream (and Create's `Tags`): adds or replaces tags of a stream of `account`.
    pub fn tag_stream(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        tags: &[(String, String)],
        now: Millis,
    ) -> Result<(), ApiError> {
        self.settle_due(now);
        if !self.touch(account, region, name, now) {
            return Err(self.not_found(account, name));
        }
        let stream = self.stream_mut(account, region, name).expect("touched");
        let mut after = stream.tags.clone();
        for (k, v) in tags {
            after.insert(k.clone(), v.clone());
        }
        let user_tags = after.keys().filter(|k| !k.starts_with("aws:")).count();
        if user_tags > MAX_TAGS {
            return Err(ApiError::new(
                codes::LIMIT_EXCEEDED,
                format!(
                    "Firehose {name} would have {user_tags} tags; a Firehose stream may have at most {MAX_TAGS}."
                ),
            ));
        }
        stream.tags = after;
        stream.ever_tagged = true;
        Ok(())
    }

    /// UntagDeliveryStream: removes the keys given (keys it does not have are ignored).
    pub fn untag_stream(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        keys: &[String],
        now: Millis,
    ) -> Result<(), ApiError> {
        self.settle_due(now);
        if !self.touch(account, region, name, now) {
            return Err(self.not_found(account, name));
        }
        let stream = self.stream_mut(account, region, name).expect("touched");
        for k in keys {
            stream.tags.remove(k);
        }
        Ok(())
    }

    /// ListTagsForDeliveryStream: up to `limit` tags after `after`, and whether more follow.
    /// Keys beginning `aws:` are not listed: the Firehose model's `TagKey` excludes them from
    /// its answers too (the Tagging API reports them).
    pub fn list_stream_tags(
        &mut self,
        account: &str,
        region: &str,
        name: &str,
        after: Option<&str>,
        limit: usize,
        now: Millis,
    ) -> Result<(Vec<(String, String)>, bool), ApiError> {
        self.settle_due(now);
        if !self.touch(account, region, name, now) {
            return Err(self.not_found(account, name));
        }
        let stream = self.stream(account, region, name).expect("touched");
        let mut rest = stream
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
            .map(|(k, v)| (k.clone(), v.clone()));
        let page: Vec<_> = rest.by_ref().take(limit).collect();
        Ok((page, rest.next().is_some()))
    }

    /// GetResources: the tagged (or once tagged) resources of `account` in `region` that
    /// `query` selects, by ARN.
    pub fn tagged_resources(
        &mut self,
        account: &str,
        region: &str,
        query: &ResourceQuery,
        now: Millis,
    ) -> Result<Vec<TaggedResource>, ApiError> {
        query.check()?;
        self.settle_due(now);
        let Some(streams) = self.streams.get(account).and_then(|r| r.get(region)) else {
            return Ok(Vec::new());
        };
        let mut found: Vec<TaggedResource> = streams
            .iter()
            .filter(|(_, s)| s.ever_tagged)
            .map(|(name, s)| (crate::vocabulary::firehose_arn(region, account, name), s))
            .filter(|(arn, s)| query.matches(arn, &s.tags))
            .map(|(arn, s)| TaggedResource {
                arn,
                tags: s.tags.clone(),
            })
            .collect();
        found.sort_by(|a, b| a.arn.cmp(&b.arn));
        Ok(found)
    }
}
