//! The producer check's calls, before any Start: per account (accounts in parallel), one pass
//! over its IAM principals (`GetAccountAuthorizationDetails`, every page — or the ledger's pass
//! when one is recent enough), AWS's simulation of each candidate (`SimulatePrincipalPolicy`,
//! batched: several actions and resources per call), the key policies (`GetKeyPolicy`), and the
//! caller's own `kms:CreateGrant`. IAM is a global service with low request quotas: its calls
//! go through a pacer of their own (`--iam-tps` per account, slowed by throttles). Everything
//! decided from the answers is `producers`' pure code.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::clock::EpochMillis;
use crate::cloud::{Accounts, CallError, Cloud};
use crate::ledger::Ledger;
use crate::model::{KmsKeyArn, StreamId, partition_of};
use crate::pace::{Operation, Pacer, Rates};
use crate::producers::assess::{self, Answers, KeyPolicy, Simulation, Subject};
use crate::producers::{CheckSummary, Details, Findings, StreamProducers, Verdict, policy};

/// How the check runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckOptions {
    /// IAM (and GetKeyPolicy) calls per second per account.
    pub iam_tps: f64,
    /// A pass over an account's principals taken at this time or later is read from the
    /// ledger instead of asking IAM again.
    pub reuse_since: Option<EpochMillis>,
}

/// The pacing lane of the check's calls: IAM is global, one quota per account.
const LANE: &str = "iam";

/// Tries of one call: throttles and unknown outcomes are retried (every call here is a read).
const TRIES: u32 = 6;

/// Calls made, for the plan's summary.
#[derive(Debug, Default, Clone, Copy)]
struct Calls {
    iam: u32,
    kms: u32,
    throttles: u32,
}

/// Makes one read call, paced, retrying throttles and unknown outcomes.
async fn paced<T, F, Fut>(
    pacer: &Pacer,
    account: &str,
    calls: &mut Calls,
    kms: bool,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let mut last = None;
    for attempt in 0..TRIES {
        pacer.wait(account, LANE, Operation::IamRead).await;
        if kms {
            calls.kms += 1;
        } else {
            calls.iam += 1;
        }
        match call().await {
            Ok(v) => {
                pacer.succeeded(account, LANE, Operation::IamRead);
                return Ok(v);
            }
            Err(e @ CallError::Throttled(_)) => {
                calls.throttles += 1;
                pacer.throttled(account, LANE, Operation::IamRead);
                last = Some(e);
            }
            Err(e @ CallError::Unknown(_)) => {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(4))).await;
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("at least one try"))
}

/// What one account's check brought back.
struct AccountCheck {
    account: String,
    /// A pass read from IAM now (to record), or `None` when the ledger's was used.
    fresh: Option<Details>,
    reused: bool,
    streams: HashMap<StreamId, StreamProducers>,
    grants: Vec<(String, Verdict)>,
    principals: usize,
    candidates: usize,
    calls: Calls,
    notes: Vec<String>,
}

/// Checks the producers of every subject (streams moving to a customer key) and the caller's
/// grant on each key. `subjects` are grouped by their stream's account.
pub async fn check(
    ledger: &Ledger,
    accounts: &Arc<Accounts>,
    subjects: Vec<Subject>,
    options: CheckOptions,
    run_id: Option<i64>,
) -> anyhow::Result<Findings> {
    let mut by_account: BTreeMap<String, Vec<Subject>> = BTreeMap::new();
    for s in subjects {
        by_account
            .entry(s.stream.account.clone())
            .or_default()
            .push(s);
    }
    let mut summary = CheckSummary {
        streams: by_account.values().map(Vec::len).sum(),
        ..CheckSummary::default()
    };
    let pacer = Arc::new(Pacer::new(Rates {
        read_tps: options.iam_tps,
        write_tps: options.iam_tps,
        shared: true,
    }));
    let mut checks = tokio::task::JoinSet::new();
    for (account, subjects) in by_account {
        let cached = match options.reuse_since {
            Some(since) => ledger.recent_iam_pass(&account, since)?.map(|(_, d)| d),
            None => None,
        };
        let (accounts, pacer) = (accounts.clone(), pacer.clone());
        checks.spawn(
            async move { check_account(&accounts, &pacer, account, subjects, cached).await },
        );
    }
    let mut findings = Findings::default();
    while let Some(done) = checks.join_next().await {
        let a = done.context("the producer check of an account failed")?;
        if let Some(details) = &a.fresh {
            ledger.save_iam_pass(&a.account, run_id, details)?;
        }
        summary.accounts += 1;
        summary.reused += usize::from(a.reused);
        summary.principals += a.principals;
        summary.candidates += a.candidates;
        summary.iam_calls += a.calls.iam;
        summary.kms_calls += a.calls.kms;
        summary.throttles += a.calls.throttles;
        summary.notes.extend(a.notes);
        findings.streams.extend(a.streams);
        for (key, verdict) in a.grants {
            findings.grants.insert((a.account.clone(), key), verdict);
        }
    }
    summary.notes.sort();
    findings.summary = summary;
    Ok(findings)
}

/// Every subject of an account marked unread, with why.
fn unread(subjects: &[Subject], why: &str) -> HashMap<StreamId, StreamProducers> {
    subjects
        .iter()
        .map(|s| {
            (
                s.stream.clone(),
                StreamProducers {
                    key: s.key.as_str().to_owned(),
                    producers: Vec::new(),
                    unread: Some(why.to_owned()),
                },
            )
        })
        .collect()
}

async fn check_account(
    accounts: &Accounts,
    pacer: &Pacer,
    account: String,
    subjects: Vec<Subject>,
    cached: Option<Details>,
) -> AccountCheck {
    let mut out = AccountCheck {
        account: account.clone(),
        fresh: None,
        reused: cached.is_some(),
        streams: HashMap::new(),
        grants: Vec::new(),
        principals: 0,
        candidates: 0,
        calls: Calls::default(),
        notes: Vec::new(),
    };
    let cloud = match accounts.reach(&account).await {
        Ok(cloud) => cloud,
        Err(why) => {
            let why = format!("account {account} cannot be reached: {why}");
            out.streams = unread(&subjects, &why);
            out.notes.push(why);
            return out;
        }
    };
    let mut reader = Reader {
        cloud: &cloud,
        pacer,
        account: &account,
        partition: partition_of(&subjects[0].stream.region),
        calls: Calls::default(),
        notes: Vec::new(),
    };
    let details = match cached {
        Some(details) => Some(details),
        None => match reader.details().await {
            Ok(details) => {
                out.fresh = Some(details.clone());
                Some(details)
            }
            Err(e) => {
                let why = format!(
                    "IAM refused to list account {account}'s principals \
                     (iam:GetAccountAuthorizationDetails: {e}): its streams' producers are \
                     unknown; grant the action, or plan with --skip-producer-check"
                );
                out.streams = unread(&subjects, &why);
                reader.notes.push(why);
                None
            }
        },
    };
    if let Some(details) = details {
        let principals = details.principals();
        out.principals = principals.len();
        let candidacies = assess::candidacies(&principals, &subjects);
        out.candidates = candidacies.len();
        let keys: Vec<&KmsKeyArn> = subjects
            .iter()
            .map(|s| &s.key)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let policies = reader.key_policies(&keys).await;
        let answers = reader
            .simulate_all(&assess::simulations(
                &principals,
                &subjects,
                &candidacies,
                &account,
            ))
            .await;
        out.streams = assess::assemble(&principals, &subjects, &candidacies, &answers, &policies);
        out.grants = reader.caller_grants(&details, &keys, &policies).await;
    }
    out.calls = reader.calls;
    out.notes.extend(reader.notes);
    out
}

/// One account's reads: its client, the check's pacer, and what the reads cost and noted.
struct Reader<'a> {
    cloud: &'a Cloud,
    pacer: &'a Pacer,
    account: &'a str,
    partition: &'a str,
    calls: Calls,
    notes: Vec<String>,
}

impl Reader<'_> {
    /// Every page of the account's authorization details.
    async fn details(&mut self) -> Result<Details, CallError> {
        let mut details = Details::default();
        let mut marker: Option<String> = None;
        let mut seen = BTreeSet::new();
        loop {
            let (cloud, partition) = (self.cloud, self.partition);
            let (page, next) = paced(self.pacer, self.account, &mut self.calls, false, || {
                cloud.authorization_details_page(partition, marker.clone())
            })
            .await?;
            details.roles.extend(page.roles);
            details.users.extend(page.users);
            details.groups.extend(page.groups);
            details.policies.extend(page.policies);
            match next {
                // A marker given twice would list the same pages for ever.
                Some(m) if !seen.insert(m.clone()) => {
                    return Err(CallError::Unknown(format!(
                        "GetAccountAuthorizationDetails gave the Marker {m:?} twice"
                    )));
                }
                Some(m) => marker = Some(m),
                None => return Ok(details),
            }
        }
    }

    /// Every page of one simulation.
    async fn simulate(&mut self, sim: &Simulation) -> Result<Vec<assess::Simulated>, CallError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        let mut seen = BTreeSet::new();
        loop {
            let (cloud, partition) = (self.cloud, self.partition);
            let (answers, next) = paced(self.pacer, self.account, &mut self.calls, false, || {
                cloud.simulate_page(partition, sim, marker.clone())
            })
            .await?;
            all.extend(answers);
            match next {
                Some(m) if !seen.insert(m.clone()) => {
                    return Err(CallError::Unknown(format!(
                        "SimulatePrincipalPolicy gave the Marker {m:?} twice"
                    )));
                }
                Some(m) => marker = Some(m),
                None => return Ok(all),
            }
        }
    }

    /// Each candidate's simulation; a refused one leaves its principal's verdicts unknown
    /// (noted once per account).
    async fn simulate_all(&mut self, simulations: &[Simulation]) -> Answers {
        let mut answers = Answers::default();
        let mut refused = 0;
        for sim in simulations {
            match self.simulate(sim).await {
                Ok(list) => answers.add(&sim.principal, list),
                Err(e) => {
                    refused += 1;
                    if refused == 1 {
                        self.notes.push(format!(
                            "iam:SimulatePrincipalPolicy of {} in account {} failed ({e}): \
                             those producers' verdicts are unknown",
                            sim.principal, self.account
                        ));
                    }
                }
            }
        }
        answers
    }

    /// Each key's policy, by key ARN; a key of another account is unreadable from this one.
    async fn key_policies(&mut self, keys: &[&KmsKeyArn]) -> HashMap<String, KeyPolicy> {
        let mut policies = HashMap::new();
        for key in keys {
            let policy = if key.account() != self.account {
                KeyPolicy::Unreadable(format!(
                    "it belongs to account {}, whose key policy cannot be read from account {}",
                    key.account(),
                    self.account
                ))
            } else {
                self.key_policy(key).await
            };
            policies.insert(key.as_str().to_owned(), policy);
        }
        policies
    }

    async fn key_policy(&mut self, key: &KmsKeyArn) -> KeyPolicy {
        let cloud = self.cloud;
        match paced(self.pacer, self.account, &mut self.calls, true, || {
            cloud.key_policy(key)
        })
        .await
        {
            Ok(text) => match policy::parse_document(&text) {
                Ok(statements) => KeyPolicy::Read(statements),
                Err(e) => KeyPolicy::Unreadable(format!("its key policy cannot be read: {e}")),
            },
            // A key KMS does not know: its streams are skipped for the key itself.
            Err(CallError::NotFound(_)) => {
                KeyPolicy::Unreadable("KMS does not know the key".into())
            }
            Err(e) => {
                self.notes.push(format!(
                    "kms:GetKeyPolicy of {key} was refused ({e}): its producers' verdicts are \
                     unknown"
                ));
                KeyPolicy::Unreadable(format!("kms:GetKeyPolicy was refused: {}", e.code()))
            }
        }
    }

    /// The caller's own `kms:CreateGrant` on each key: Firehose creates its grant with the
    /// caller's credentials.
    async fn caller_grants(
        &mut self,
        details: &Details,
        keys: &[&KmsKeyArn],
        policies: &HashMap<String, KeyPolicy>,
    ) -> Vec<(String, Verdict)> {
        let caller = match self.cloud.caller_arn().await {
            Ok(arn) => simulated_principal(&arn, details),
            Err(e) => Err(format!("GetCallerIdentity failed: {e}")),
        };
        let (principal, answers) = match caller {
            Ok(Some(caller)) => {
                let mut answers = Answers::default();
                for sim in assess::grant_simulations(&caller, self.account, keys) {
                    match self.simulate(&sim).await {
                        Ok(list) => answers.add(&caller, list),
                        Err(e) => self.notes.push(format!(
                            "the caller's kms:CreateGrant could not be simulated ({e}): unknown"
                        )),
                    }
                }
                (caller, answers)
            }
            // The account's root user: its IAM side allows everything; the key policy decides.
            Ok(None) => {
                let root = format!("arn:{}:iam::{}:root", self.partition, self.account);
                let mut answers = Answers::default();
                for key in keys {
                    answers.add(
                        &root,
                        vec![assess::Simulated {
                            action: assess::GRANT_ACTION.into(),
                            resource: key.as_str().into(),
                            decision: crate::producers::Decision::Allowed,
                        }],
                    );
                }
                (root, answers)
            }
            Err(why) => {
                return keys
                    .iter()
                    .map(|key| {
                        (
                            key.as_str().to_owned(),
                            Verdict::Unknown { why: why.clone() },
                        )
                    })
                    .collect();
            }
        };
        keys.iter()
            .map(|key| {
                let verdict =
                    assess::grant_verdict(&principal, self.account, key, &answers, policies);
                (key.as_str().to_owned(), verdict)
            })
            .collect()
    }
}

/// The IAM principal to simulate for credentials whose ARN is `caller`: a user as it is, an
/// assumed-role session's role (its ARN with its path, from the details), `None` for the
/// account's root user; an error for anything else.
fn simulated_principal(caller: &str, details: &Details) -> Result<Option<String>, String> {
    let fields: Vec<&str> = caller.splitn(6, ':').collect();
    let ["arn", partition, service, "", account, resource] = fields[..] else {
        return Err(format!("the caller's ARN {caller:?} is not an ARN"));
    };
    match (service, resource) {
        ("iam", "root") => Ok(None),
        ("iam", r) if r.starts_with("user/") => Ok(Some(caller.to_owned())),
        ("sts", r) if r.starts_with("assumed-role/") => {
            let role = r.split('/').nth(1).unwrap_or_default();
            Ok(Some(
                details
                    .roles
                    .iter()
                    .find(|e| e.name == role)
                    .map(|e| e.arn.clone())
                    .unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/{role}")),
            ))
        }
        _ => Err(format!(
            "the caller {caller} is neither an IAM user nor a role: its kms:CreateGrant cannot be \
             simulated"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producers::Entity;

    #[test]
    fn an_assumed_role_is_simulated_as_its_role_path_included() {
        let details = Details {
            roles: vec![Entity {
                name: "deployer".into(),
                arn: "arn:aws:iam::123456789012:role/ops/deployer".into(),
                ..Entity::default()
            }],
            ..Details::default()
        };
        assert_eq!(
            simulated_principal(
                "arn:aws:sts::123456789012:assumed-role/deployer/firehose-sse-run-3",
                &details
            ),
            Ok(Some("arn:aws:iam::123456789012:role/ops/deployer".into()))
        );
        assert_eq!(
            simulated_principal("arn:aws:iam::123456789012:user/ci", &details),
            Ok(Some("arn:aws:iam::123456789012:user/ci".into()))
        );
        assert_eq!(
            simulated_principal("arn:aws:iam::123456789012:root", &details),
            Ok(None)
        );
        assert!(
            simulated_principal("arn:aws:sts::123456789012:federated-user/bob", &details).is_err()
        );
    }
}
