//! The world a seed describes: every account (the sandbox's own first, then the members in the
//! order listed) with its keys, streams and IAM (`seeding_iam`), seeded streams in the
//! encryption they show (a DISABLING one with its transition under way), and the credentials
//! that expire.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::accounts::Account;
use super::front_door::Throttle;
use super::iam::Actor;
use super::identity::Credential;
use super::limits::add_refs;
use super::stream::{self, Failure, KeyRef, Stream};
use super::synthetic::{SYNTHETIC_SESSION, Synthetic};
use super::truth::Counters;
use super::{SandboxConfig, World};
use crate::seed::{
    DEFAULT_RECORD_BYTES, Seed, SeedEncryption, SeedError, SeedKeyRef, SeedStream, failure_place,
};
use crate::vocabulary::{EncStatus, FailurePlace, Millis, StreamStatus, StreamType};

impl World {
    /// A world seeded with `seed`, which must pass [`Seed::check`].
    pub fn new(config: &SandboxConfig, seed: &Seed, now: Millis) -> Result<World, SeedError> {
        seed.check(&config.account, &config.region)?;
        let mut world = World {
            account: config.account.clone(),
            latency: config.latency,
            stream_budget: config.stream_budget,
            window: config.window.as_millis() as Millis,
            cmk_limit: config.cmk_limit,
            grant_retirement: config.grant_retirement.as_millis() as Millis,
            fault_rate: config.fault_rate,
            tps: config.tps,
            iam_tps: seed.iam_tps.unwrap_or(0),
            streams: HashMap::new(),
            keys: HashMap::new(),
            accounts: BTreeMap::new(),
            credentials: HashMap::new(),
            organization_id: super::organization::organization_id(&config.account),
            cmk_counts: HashMap::new(),
            longest_transition: 0,
            due: BinaryHeap::new(),
            throttle: Throttle::new(config.tps, now),
            iam_throttle: Throttle::new(seed.iam_tps.unwrap_or(0), now),
            records_put: 0,
            metric_period: seed.metric_period().expect("checked").as_millis() as Millis,
            cloudwatch: HashMap::new(),
            kinesis: HashMap::new(),
            latency_rng: StdRng::seed_from_u64(config.seed),
            fault_rng: StdRng::seed_from_u64(config.seed ^ 0x5eed_fa17),
            id_rng: StdRng::seed_from_u64(config.seed ^ 0x0000_1d5e),
            counters: Counters::default(),
        };
        let members = seed.accounts.len() as Millis;
        let own = Account::own(&config.account, now - (members + 1) * 60_000);
        world.accounts.insert(config.account.clone(), own);
        for (i, a) in seed.accounts.iter().enumerate() {
            let joined = now - (members - i as Millis) * 60_000;
            world
                .accounts
                .insert(a.id.clone(), Account::member(a, joined));
        }
        let scopes: Vec<_> = seed.scopes(&config.account).collect();
        for scope in &scopes {
            for k in scope.keys {
                world.seed_key(scope.account, k, &config.region, now);
            }
        }
        let known = seed.key_arns(&config.account, &config.region);
        for scope in &scopes {
            for s in scope.streams {
                let region = s.region.clone().unwrap_or_else(|| config.region.clone());
                let stream_type = StreamType::parse(&s.stream_type).expect("checked");
                let status = StreamStatus::parse(&s.status).expect("checked");
                let mut stream = Stream::new(stream_type, status, now);
                stream.source_arn = s.source_arn.clone();
                if let Some(enc) = &s.encryption {
                    let key_ref = |k: SeedKeyRef| match k {
                        SeedKeyRef::AwsOwned => KeyRef::AwsOwned,
                        SeedKeyRef::Customer(arn) => KeyRef::Customer(arn.to_string()),
                    };
                    stream.enc_status = enc.status().expect("checked");
                    stream.shown = Some(key_ref(enc.key(scope.account, &known).expect("checked")));
                    stream.in_force = enc
                        .in_force(scope.account, &known)
                        .expect("checked")
                        .map(key_ref);
                    stream.failure = seeded_failure(enc, stream.enc_status);
                    if stream.enc_status == EncStatus::Disabling {
                        let ready_at = now + world.draw_latency();
                        stream.pending = Some(stream::Pending::Disable {
                            began_at: now,
                            ready_at,
                        });
                        let retired = ready_at + world.grant_retirement;
                        world.schedule(ready_at, scope.account, &region, &s.name);
                        world.schedule(retired, scope.account, &region, &s.name);
                    }
                    add_refs(&mut world.cmk_counts, stream.cmk_refs(), 1);
                }
                stream.synthetic = synthetic_producers(s, scope.account, now);
                stream.ever_tagged = !s.tags.is_empty();
                stream.tags = s.tags.clone().into_iter().collect();
                world
                    .region_streams(scope.account, &region)
                    .insert(s.name.clone(), stream);
            }
        }
        for scope in &scopes {
            world.seed_iam(scope, &config.region, now);
        }
        for k in &seed.kinesis_streams {
            let account = k.account.as_deref().unwrap_or(&config.account);
            let region = k.region.as_deref().unwrap_or(&config.region);
            world.add_kinesis_stream(
                account,
                region,
                &k.name,
                k.shards,
                k.key_id.clone(),
                now,
                now,
            );
        }
        for c in &seed.credentials {
            let after = c.expires_after().expect("checked");
            let account = c.account.clone().unwrap_or_else(|| config.account.clone());
            world.credentials.insert(
                c.access_key.clone(),
                Credential::seeded(account, c.user.clone(), now + after.as_millis() as Millis),
            );
        }
        Ok(world)
    }
}

/// The producers of a seeded stream that put records by themselves (those with a `rate`).
fn synthetic_producers(s: &SeedStream, account: &str, now: Millis) -> Vec<Synthetic> {
    s.producers
        .iter()
        .filter_map(|p| {
            let rate = p.rate?;
            let actor = match (&p.role, &p.user) {
                (Some(role), _) => Actor::Session {
                    account: account.to_owned(),
                    role: role.clone(),
                    session: SYNTHETIC_SESSION.to_owned(),
                },
                (None, Some(user)) => Actor::User {
                    account: account.to_owned(),
                    name: user.clone(),
                },
                (None, None) => return None,
            };
            let bytes = p.bytes.unwrap_or(DEFAULT_RECORD_BYTES);
            Some(Synthetic::new(actor, rate, bytes, now))
        })
        .collect()
}

/// The `FailureDescription` of a seeded ENABLING_FAILED or DISABLING_FAILED stream.
fn seeded_failure(enc: &SeedEncryption, status: EncStatus) -> Option<Failure> {
    let default = match status {
        EncStatus::EnablingFailed => "CREATE_KMS_GRANT_FAILED",
        EncStatus::DisablingFailed => "RETIRE_KMS_GRANT_FAILED",
        _ => return None,
    };
    let (kind, place) = match &enc.failure {
        Some(f) => (
            f.failure_type.clone(),
            failure_place(f.description.as_deref()).expect("checked"),
        ),
        None => (default.to_owned(), FailurePlace::Encryption),
    };
    let key = enc.key_arn.as_deref().unwrap_or("the AWS owned CMK");
    let details = match status {
        EncStatus::EnablingFailed => {
            format!("Firehose could not enable encryption with {key}: {kind} (sandbox seed).")
        }
        _ => format!("Firehose could not disable encryption with {key}: {kind} (sandbox seed)."),
    };
    Some(Failure {
        kind,
        details,
        place,
    })
}
