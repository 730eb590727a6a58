//! One account's producer check as pure steps around the calls: which simulations to ask for
//! ([`simulations`]) and, once AWS has answered them and the key policies are read, each
//! stream's producers with their verdicts and the caller's own grant on each key
//! ([`assemble`]). The I/O between the steps is `survey::producers`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::candidates::{Candidacy, PUT_ACTIONS, candidacy};
use super::key_policy::{Asker, KeySide, key_side};
use super::policy::Statement;
use super::principals::Principal;
use super::verdict::{self, Decision, Verdict, Writes};
use super::{Producer, StreamProducers};
use crate::model::{KmsKeyArn, StreamId};

/// The two actions a producer needs on the key (Firehose developer guide, server-side
/// encryption: both the IAM policy and the key policy must allow them).
pub const KEY_ACTIONS: [&str; 2] = ["kms:GenerateDataKey", "kms:Decrypt"];

/// What the caller of `StartDeliveryStreamEncryption` needs on a customer key.
pub const GRANT_ACTION: &str = "kms:CreateGrant";

/// Resources per simulation: a bounded request, and a bounded page of results.
pub const RESOURCES_PER_SIMULATION: usize = 50;

/// A stream to check: it moves to (or is on) a customer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub stream: StreamId,
    /// `arn:<partition>:firehose:<region>:<account>:deliverystream/<name>`.
    pub arn: String,
    pub key: KmsKeyArn,
}

/// A context key's value for a simulation (`ContextEntries`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContextValue {
    pub key: &'static str,
    /// `string` or `boolean`.
    pub kind: &'static str,
    pub value: String,
}

/// One `SimulatePrincipalPolicy` to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// The role or user simulated (`PolicySourceArn`).
    pub principal: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub context: Vec<ContextValue>,
}

/// One answer of a simulation: an action on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulated {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
}

/// A key's policy as read (`GetKeyPolicy`), or why it could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPolicy {
    Read(Vec<Statement>),
    Unreadable(String),
}

/// The context a call through Firehose to KMS carries in `region` for `account`'s principals:
/// requests Firehose makes on a principal's behalf name it as the service they come through.
pub fn context(region: &str, account: &str, grant: bool) -> Vec<ContextValue> {
    let mut values = vec![
        ContextValue {
            key: "kms:ViaService",
            kind: "string",
            value: format!("firehose.{region}.amazonaws.com"),
        },
        ContextValue {
            key: "kms:CallerAccount",
            kind: "string",
            value: account.to_owned(),
        },
        ContextValue {
            key: "aws:SecureTransport",
            kind: "boolean",
            value: "true".to_owned(),
        },
    ];
    if grant {
        values.push(ContextValue {
            key: "kms:GrantIsForAWSResource",
            kind: "boolean",
            value: "true".to_owned(),
        });
    }
    values
}

/// Who may write to which subject, on paper: per principal (index into `principals`) its
/// candidacy over `subjects`.
pub fn candidacies(principals: &[Principal], subjects: &[Subject]) -> Vec<(usize, Candidacy)> {
    let arns: Vec<&str> = subjects.iter().map(|s| s.arn.as_str()).collect();
    principals
        .iter()
        .enumerate()
        .filter_map(|(i, p)| candidacy(p, &arns).map(|c| (i, c)))
        .collect()
}

/// The simulations to make for the candidates: per principal and region, the put actions and
/// the key actions on its groups' representatives and on the keys of every stream of its
/// groups, in bounded batches. `account`: the subjects' account.
pub fn simulations(
    principals: &[Principal],
    subjects: &[Subject],
    candidacies: &[(usize, Candidacy)],
    account: &str,
) -> Vec<Simulation> {
    let mut out = Vec::new();
    for (p, candidacy) in candidacies {
        let principal = &principals[*p];
        // By region: the context (kms:ViaService) is the region's.
        let mut by_region: BTreeMap<&str, (Vec<&str>, BTreeSet<&str>)> = BTreeMap::new();
        for group in &candidacy.groups {
            let rep = &subjects[group[0]];
            by_region
                .entry(&rep.stream.region)
                .or_default()
                .0
                .push(&rep.arn);
            for &i in group {
                let key = &subjects[i].key;
                by_region
                    .entry(key.region())
                    .or_default()
                    .1
                    .insert(key.as_str());
            }
        }
        for (region, (reps, keys)) in by_region {
            let resources: Vec<&str> = reps.into_iter().chain(keys).collect();
            for chunk in resources.chunks(RESOURCES_PER_SIMULATION) {
                out.push(Simulation {
                    principal: principal.arn.clone(),
                    actions: PUT_ACTIONS
                        .iter()
                        .chain(&KEY_ACTIONS)
                        .map(|a| (*a).to_owned())
                        .collect(),
                    resources: chunk.iter().map(|r| (*r).to_owned()).collect(),
                    context: context(region, account, false),
                });
            }
        }
    }
    out
}

/// The simulations of the caller's own `kms:CreateGrant` on each key, one per region.
pub fn grant_simulations(caller: &str, account: &str, keys: &[&KmsKeyArn]) -> Vec<Simulation> {
    let mut by_region: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for key in keys {
        by_region
            .entry(key.region())
            .or_default()
            .push(key.as_str().to_owned());
    }
    by_region
        .into_iter()
        .flat_map(|(region, mut keys)| {
            keys.sort();
            keys.dedup();
            keys.chunks(RESOURCES_PER_SIMULATION)
                .map(|chunk| Simulation {
                    principal: caller.to_owned(),
                    actions: vec![GRANT_ACTION.to_owned()],
                    resources: chunk.to_vec(),
                    context: context(region, account, true),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// AWS's answers, by principal, action and resource.
#[derive(Debug, Default)]
pub struct Answers {
    decisions: HashMap<(String, String, String), Decision>,
}

impl Answers {
    pub fn add(&mut self, principal: &str, answers: Vec<Simulated>) {
        for a in answers {
            self.decisions
                .insert((principal.to_owned(), a.action, a.resource), a.decision);
        }
    }

    pub fn get(&self, principal: &str, action: &str, resource: &str) -> Option<&Decision> {
        self.decisions
            .get(&(principal.to_owned(), action.to_owned(), resource.to_owned()))
    }
}

/// The key policy's side for `asker` and `action`, or why it is not known.
fn key_policy_side(policy: Option<&KeyPolicy>, asker: &Asker<'_>, action: &str) -> KeySide {
    match policy {
        Some(KeyPolicy::Read(statements)) => key_side(statements, asker, action),
        Some(KeyPolicy::Unreadable(why)) => KeySide::Unknown(why.clone()),
        None => KeySide::Unknown("its key policy was not read".into()),
    }
}

/// Each subject's producers and their verdicts, from the candidacies, AWS's answers and the
/// key policies.
pub fn assemble(
    principals: &[Principal],
    subjects: &[Subject],
    candidacies: &[(usize, Candidacy)],
    answers: &Answers,
    policies: &HashMap<String, KeyPolicy>,
) -> HashMap<StreamId, StreamProducers> {
    let mut found: HashMap<StreamId, StreamProducers> = subjects
        .iter()
        .map(|s| {
            (
                s.stream.clone(),
                StreamProducers {
                    key: s.key.as_str().to_owned(),
                    producers: Vec::new(),
                    unread: None,
                },
            )
        })
        .collect();
    for (p, candidacy) in candidacies {
        let principal = &principals[*p];
        for group in &candidacy.groups {
            let rep = &subjects[group[0]];
            let puts: Vec<&Decision> = PUT_ACTIONS
                .iter()
                .filter_map(|a| answers.get(&principal.arn, a, &rep.arn))
                .collect();
            // Not simulated (the call failed): it may write, and nothing is known.
            let simulated = !puts.is_empty();
            let writes = verdict::writes(puts);
            if simulated && writes == Writes::No {
                continue;
            }
            for &i in group {
                let subject = &subjects[i];
                let key = subject.key.as_str();
                let ctx = context(&subject.stream.region, &subject.stream.account, false);
                let pairs: Vec<(&str, &str)> =
                    ctx.iter().map(|c| (c.key, c.value.as_str())).collect();
                let asker = Asker {
                    arn: &principal.arn,
                    account: &subject.stream.account,
                    context: &pairs,
                };
                let use_key = verdict::key_use(
                    &KEY_ACTIONS,
                    |a| answers.get(&principal.arn, a, key),
                    |a| key_policy_side(policies.get(key), &asker, a),
                );
                let verdict = match simulated {
                    true => verdict::producer(&writes, use_key),
                    false => Verdict::Unknown {
                        why: "its policies could not be simulated, and they may let it write to \
                              the stream"
                            .into(),
                    },
                };
                let entry = found
                    .get_mut(&subject.stream)
                    .expect("every subject has an entry");
                entry.producers.push(Producer {
                    principal: principal.arn.clone(),
                    kind: principal.kind,
                    described: principal.described(),
                    verdict,
                });
            }
        }
    }
    for entry in found.values_mut() {
        entry
            .producers
            .sort_by(|a, b| a.principal.cmp(&b.principal));
    }
    found
}

/// The caller's own `kms:CreateGrant` on `key` (with the context Firehose's grant carries).
pub fn grant_verdict(
    caller: &str,
    account: &str,
    key: &KmsKeyArn,
    answers: &Answers,
    policies: &HashMap<String, KeyPolicy>,
) -> Verdict {
    let ctx = context(key.region(), account, true);
    let pairs: Vec<(&str, &str)> = ctx.iter().map(|c| (c.key, c.value.as_str())).collect();
    let asker = Asker {
        arn: caller,
        account,
        context: &pairs,
    };
    verdict::key_use(
        &[GRANT_ACTION],
        |a| answers.get(caller, a, key.as_str()),
        |a| key_policy_side(policies.get(key.as_str()), &asker, a),
    )
}
