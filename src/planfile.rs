//! A plan that travels: one self-contained, versioned JSON file (`plan FLEET --out FILE`) that
//! `show FILE` prints and `apply FILE` carries out against a ledger on another machine. It
//! holds the plan (its settings and every stream's decision), what its report shows (the
//! per-key table, warnings, rates, waves), where its calls went (endpoint and account), every
//! observation it was decided from with its time (each stream's state and counted calls, each
//! key's DescribeKey answer), and its hash.
//!
//! The hash is SHA-256 over the document's canonical form: the file's JSON without its `hash`
//! member, every object's members sorted by name (by their UTF-8 bytes), no whitespace, strings
//! and numbers as serde_json writes them ([`canonical_hash`]). Every plan report shows it (the
//! first 12 hex digits, the whole where it is copied), the ledger keeps it with the plan, and
//! `apply --expect-plan-hash` compares it: a file edited by hand no longer matches its hash
//! and is refused ([`read`]).
//!
//! Reading checks, in order, each with an error naming the file ([`PlanFileError`], exit 2):
//! readable, JSON, a plan file (`"format": "firehose-sse plan"`), a version this binary reads
//! ([`VERSION`]), its hash, then every member.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::EpochMillis;
use crate::iac::Owner;
use crate::input::Target;
use crate::ledger::{PlanFacts, PlanReview, SavedPlan};
use crate::model::{EncStatus, KeyChoice, SourceEncryption, StreamId, StreamStatus};
use crate::plan::{Action, Current, Item, Reason, Settings};
use crate::producers::{CheckSummary, StreamProducers};

/// What a plan file's `format` member says.
pub const FORMAT: &str = "firehose-sse plan";

/// The version of the format this binary writes and reads.
pub const VERSION: u64 = 1;

/// How many hex digits of a hash a report shows where it is read rather than copied.
pub const SHORT: usize = 12;

/// The first [`SHORT`] hex digits of a hash.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(SHORT)]
}

/// A plan file that cannot be taken, and why (exit 2: nothing was sent or written).
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read the plan file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a plan file: it is not JSON ({why})")]
    NotJson { path: PathBuf, why: String },
    #[error(
        "{path} is not a firehose-sse plan file ({why}); `firehose-sse plan FLEET.csv --out \
         FILE` writes one, and a fleet file is a CSV"
    )]
    NotAPlan { path: PathBuf, why: String },
    #[error(
        "{path} is a plan file of format version {found}, written by {made_by}; this \
         firehose-sse ({}) reads version {VERSION}: show and apply it with the version that \
         made it, or make a new plan", env!("CARGO_PKG_VERSION")
    )]
    Version {
        path: PathBuf,
        found: String,
        made_by: String,
    },
    #[error(
        "{path} was changed after it was written (edited by hand, or damaged): its content's \
         SHA-256 is {computed}, but the file says {recorded}; a plan file is refused once \
         changed, since it is no longer the plan that was made and reviewed. Make a new plan \
         (`firehose-sse plan FLEET.csv --out FILE`)"
    )]
    Edited {
        path: PathBuf,
        recorded: String,
        computed: String,
    },
    #[error("{path}: {at}: {why}")]
    Invalid {
        path: PathBuf,
        at: String,
        why: String,
    },
}

/// The plan's own part of the document: what `apply --plan ID` carries out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPart {
    /// Its id in the ledger that made it.
    pub id: i64,
    #[serde(with = "crate::clock::millis")]
    pub created_at: EpochMillis,
    /// The oldest observation it was decided from.
    #[serde(with = "crate::clock::millis")]
    pub observed_at: EpochMillis,
    /// The fleet file it was made from, as that machine named it.
    pub fleet: String,
    /// The settings (`plans.settings`' JSON).
    pub settings: Value,
    pub estimated_ms: EpochMillis,
    pub producer_check: Option<CheckSummary>,
    pub items: Vec<ItemDoc>,
}

/// A key as an item names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDoc {
    pub key_type: String,
    pub key_arn: Option<String>,
}

/// A stream's state when planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentDoc {
    pub stream_status: String,
    pub status: String,
    pub key: Option<KeyDoc>,
    pub source_arn: Option<String>,
    /// How the Kinesis stream it reads from is encrypted, when the plan read it.
    #[serde(default)]
    pub source_encryption: Option<SourceEncryption>,
    pub in_force_unknown: bool,
}

/// One stream's decision, as the ledger's `plan_items` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDoc {
    pub seq: usize,
    pub line: u64,
    pub stream: String,
    pub region: String,
    pub account: Option<String>,
    pub target: KeyDoc,
    pub expect: Option<KeyDoc>,
    pub action: String,
    pub reason: Option<String>,
    #[serde(with = "crate::clock::millis::option")]
    pub next_slot: Option<EpochMillis>,
    pub budget_used: u32,
    pub current: Option<CurrentDoc>,
    pub producers: Option<StreamProducers>,
    /// The CloudFormation stack or Terraform resource that owns the stream, when found.
    #[serde(default)]
    pub owner: Option<Owner>,
}

/// The document a plan file holds, without its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub format: String,
    pub version: u64,
    /// The firehose-sse that wrote it.
    pub made_by: String,
    pub plan: PlanPart,
    pub review: PlanReview,
    pub observations: PlanFacts,
}

/// A plan file read and checked: its document and hash.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFile {
    pub path: PathBuf,
    pub document: Document,
    pub hash: String,
}

fn key_doc(key: &KeyChoice) -> KeyDoc {
    KeyDoc {
        key_type: key.key_type().as_str().to_owned(),
        key_arn: key.key_arn().map(|a| a.as_str().to_owned()),
    }
}

impl ItemDoc {
    /// An item as the ledger saved it (see `Ledger::load_plan`).
    pub fn of(item: &Item) -> ItemDoc {
        ItemDoc {
            seq: item.seq,
            line: item.target.line,
            stream: item.target.name.clone(),
            region: item.target.region.to_string(),
            account: item.account().map(str::to_owned),
            target: key_doc(&item.target.key),
            expect: item.target.expect.as_ref().map(key_doc),
            action: item.action.as_str().to_owned(),
            reason: item.reason.map(|r| r.as_str().to_owned()),
            next_slot: item.next_slot,
            budget_used: item.budget_used,
            current: item.current.as_ref().map(|c| CurrentDoc {
                stream_status: c.stream_status.as_str().to_owned(),
                status: c.status.as_str().to_owned(),
                key: c.key.as_ref().map(key_doc),
                source_arn: c.source_arn.clone(),
                source_encryption: c.source_encryption.clone(),
                in_force_unknown: c.in_force_unknown,
            }),
            producers: item.producers.as_deref().cloned(),
            owner: item.owner.as_deref().cloned(),
        }
    }

    /// The item, as `Ledger::load_plan` reads it back; `Err` says which member is wrong.
    pub fn item(&self) -> Result<Item, String> {
        let key = |k: &KeyDoc, what: &str| {
            KeyChoice::from_parts(&k.key_type, k.key_arn.as_deref()).ok_or_else(|| {
                format!(
                    "{what}: key type {:?} with key ARN {:?} is not a key this version knows",
                    k.key_type, k.key_arn
                )
            })
        };
        let action = Action::parse(&self.action)
            .ok_or_else(|| format!("action: {:?} is not an action", self.action))?;
        let reason = match &self.reason {
            None => None,
            Some(r) => Some(Reason::parse(r).ok_or_else(|| format!("reason: {r:?} is unknown"))?),
        };
        let current = match &self.current {
            None => None,
            Some(c) => Some(Current {
                stream_status: StreamStatus::parse(&c.stream_status),
                status: EncStatus::parse(&c.status),
                key: match &c.key {
                    None => None,
                    Some(k) => Some(key(k, "current.key")?),
                },
                source_arn: c.source_arn.clone(),
                source_encryption: c.source_encryption.clone(),
                in_force_unknown: c.in_force_unknown,
            }),
        };
        let stream = match (&self.account, &current) {
            (Some(account), Some(_)) => Some(StreamId {
                account: account.clone(),
                region: self.region.clone(),
                name: self.stream.clone(),
            }),
            _ => None,
        };
        Ok(Item {
            seq: self.seq,
            target: Target {
                line: self.line,
                name: self.stream.clone(),
                region: self.region.as_str().into(),
                account: self.account.as_deref().map(Into::into),
                key: key(&self.target, "target")?,
                expect: match &self.expect {
                    None => None,
                    Some(k) => Some(key(k, "expect")?),
                },
            },
            stream,
            action,
            reason,
            next_slot: self.next_slot,
            current,
            budget_used: self.budget_used,
            producers: self.producers.clone().map(Box::new),
            owner: self.owner.clone().map(Box::new),
        })
    }
}

impl Document {
    /// The document of a saved plan, with its review and the facts it was decided from.
    pub fn new(
        saved: &SavedPlan,
        producer_check: Option<CheckSummary>,
        review: PlanReview,
        observations: PlanFacts,
    ) -> Document {
        Document {
            format: FORMAT.to_owned(),
            version: VERSION,
            made_by: concat!("firehose-sse ", env!("CARGO_PKG_VERSION")).to_owned(),
            plan: PlanPart {
                id: saved.id,
                created_at: saved.created_at,
                observed_at: saved.observed_at,
                fleet: saved.fleet.clone(),
                settings: crate::ledger::settings_document(&saved.settings),
                estimated_ms: saved.estimated_ms,
                producer_check,
                items: saved.items.iter().map(ItemDoc::of).collect(),
            },
            review,
            observations,
        }
    }

    /// The document as JSON, without a hash.
    fn value(&self) -> Value {
        serde_json::to_value(self).expect("a plan document is plain JSON")
    }

    /// Its hash: see [`canonical_hash`].
    pub fn hash(&self) -> String {
        canonical_hash(&self.value())
    }

    /// The file's text: the document, then its hash; pretty-printed, ending in a newline.
    pub fn file_text(&self) -> String {
        let mut value = self.value();
        let hash = canonical_hash(&value);
        if let Value::Object(map) = &mut value {
            map.insert("hash".into(), hash.into());
        }
        let mut text = serde_json::to_string_pretty(&value).expect("plain JSON");
        text.push('\n');
        text
    }

    /// The plan's settings.
    pub fn settings(&self) -> Settings {
        crate::ledger::settings_from_document(&self.plan.settings)
    }

    /// The plan's items (checked when the file was read).
    pub fn items(&self) -> Vec<Item> {
        self.plan
            .items
            .iter()
            .filter_map(|i| i.item().ok())
            .collect()
    }

    /// The saved plan it carries, as the ledger that made it held it.
    pub fn saved_plan(&self) -> SavedPlan {
        SavedPlan {
            id: self.plan.id,
            created_at: self.plan.created_at,
            observed_at: self.plan.observed_at,
            fleet: self.plan.fleet.clone(),
            settings: self.settings(),
            items: self.items(),
            estimated_ms: self.plan.estimated_ms,
        }
    }
}

/// `value` in canonical form: every object's members sorted by name, recursively.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            Value::Object(
                names
                    .into_iter()
                    .map(|n| (n.clone(), canonical(&map[n])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// SHA-256, in lowercase hex, of `document` (without a `hash` member) in canonical form: its
/// compact JSON with every object's members sorted by name.
pub fn canonical_hash(document: &Value) -> String {
    let text = serde_json::to_vec(&canonical(document)).expect("plain JSON");
    Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `text` is a full SHA-256 in hex (64 digits).
pub fn is_full_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether the file at `path` reads as a plan file rather than a fleet CSV: its first
/// character (after a byte-order mark and white space) opens a JSON object. A file that cannot
/// be read is not (the fleet reader says why).
pub fn looks_like_plan_file(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    let text = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&head[..n]);
    text.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Reads and checks a plan file (see the module's order of checks).
pub fn read(path: &Path) -> Result<PlanFile, PlanFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, text.trim_start_matches('\u{feff}'))
}

/// [`read`] of a text already read.
pub fn parse(path: &Path, text: &str) -> Result<PlanFile, PlanFileError> {
    let path = path.to_owned();
    let mut value: Value = serde_json::from_str(text).map_err(|e| PlanFileError::NotJson {
        path: path.clone(),
        why: e.to_string(),
    })?;
    let not_a_plan = |why: &str| PlanFileError::NotAPlan {
        path: path.clone(),
        why: why.to_owned(),
    };
    let Value::Object(map) = &mut value else {
        return Err(not_a_plan("its JSON is not an object"));
    };
    match map.get("format") {
        Some(Value::String(f)) if f == FORMAT => {}
        Some(other) => {
            return Err(not_a_plan(&format!(
                "its \"format\" is {other}, not \"{FORMAT}\""
            )));
        }
        None => return Err(not_a_plan(&format!("it has no \"format\": \"{FORMAT}\""))),
    }
    match map.get("version") {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        found => {
            return Err(PlanFileError::Version {
                path,
                found: found.map_or("(none)".to_owned(), Value::to_string),
                made_by: map
                    .get("made_by")
                    .and_then(Value::as_str)
                    .unwrap_or("an unknown version")
                    .to_owned(),
            });
        }
    }
    let recorded = match map.remove("hash") {
        Some(Value::String(h)) if is_full_hash(&h) => h.to_ascii_lowercase(),
        Some(other) => {
            return Err(PlanFileError::Invalid {
                path,
                at: "hash".into(),
                why: format!("{other} is not a SHA-256 in hex (64 digits)"),
            });
        }
        None => {
            return Err(PlanFileError::Invalid {
                path,
                at: "hash".into(),
                why: "the file has no hash: it is refused, since nothing shows it is the plan \
                      that was made"
                    .into(),
            });
        }
    };
    let computed = canonical_hash(&value);
    if computed != recorded {
        return Err(PlanFileError::Edited {
            path,
            recorded,
            computed,
        });
    }
    let document: Document = serde_json::from_value(value).map_err(|e| PlanFileError::Invalid {
        path: path.clone(),
        at: "document".into(),
        why: e.to_string(),
    })?;
    check(&path, &document)?;
    Ok(PlanFile {
        path,
        document,
        hash: computed,
    })
}

/// What the types alone do not say: every item readable, the calls' kinds and states known.
fn check(path: &Path, doc: &Document) -> Result<(), PlanFileError> {
    let invalid = |at: String, why: String| PlanFileError::Invalid {
        path: path.to_owned(),
        at,
        why,
    };
    let observed: std::collections::BTreeSet<(&str, &str, &str)> = doc
        .observations
        .streams
        .iter()
        .map(|s| (s.account.as_str(), s.region.as_str(), s.name.as_str()))
        .collect();
    for (i, item) in doc.plan.items.iter().enumerate() {
        let at = || format!("plan.items[{i}] ({})", item.stream);
        let read = item.item().map_err(|why| invalid(at(), why))?;
        // A stream the plan was decided from an observation of carries that observation.
        if let Some(id) = &read.stream
            && !observed.contains(&(id.account.as_str(), id.region.as_str(), id.name.as_str()))
        {
            return Err(invalid(
                at(),
                "the file carries no observation of this stream, which the plan was decided \
                 from"
                    .into(),
            ));
        }
    }
    for (s, stream) in doc.observations.streams.iter().enumerate() {
        for (c, call) in stream.calls.iter().enumerate() {
            let at = || format!("observations.streams[{s}].calls[{c}] ({})", stream.name);
            if !matches!(call.op.as_str(), "start" | "stop") {
                return Err(invalid(
                    at(),
                    format!("op {:?} is not start or stop", call.op),
                ));
            }
            if !matches!(call.state.as_str(), "ok" | "rejected" | "unknown") {
                return Err(invalid(
                    at(),
                    format!("state {:?} is not ok, rejected or unknown", call.state),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
