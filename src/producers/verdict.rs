//! Facts in, verdicts out: what AWS's simulator answered for a principal (per action and
//! resource) and what the key policy says, combined into one verdict per producer of a stream —
//! `allowed`, `denied` (which side refuses which action), or `unknown` (and why). Pure.

use std::fmt;

use super::key_policy::KeySide;

/// The simulator's decision for one action on one resource (`EvalDecision`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    /// Nothing allows it. `missing`: context keys a statement needed and was not given
    /// (`MissingContextValues`) — it might allow it when they hold.
    ImplicitDeny {
        missing: Vec<String>,
    },
}

impl Decision {
    /// From the API's `allowed | explicitDeny | implicitDeny`.
    pub fn parse(text: &str, missing: Vec<String>) -> Option<Decision> {
        match text {
            "allowed" => Some(Decision::Allowed),
            "explicitDeny" => Some(Decision::ExplicitDeny),
            "implicitDeny" => Some(Decision::ImplicitDeny { missing }),
            _ => None,
        }
    }
}

/// Which side refuses: the principal's IAM policies, or the key policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    IamPolicy,
    KeyPolicy,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::IamPolicy => "iam_policy",
            Side::KeyPolicy => "key_policy",
        }
    }

    /// As a sentence says it.
    pub fn spoken(self) -> &'static str {
        match self {
            Side::IamPolicy => "its IAM policies",
            Side::KeyPolicy => "the key policy",
        }
    }
}

/// One action one side refuses.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Refusal {
    pub side: Side,
    pub action: String,
}

/// May the principal use the key (or write and use it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Denied { refused: Vec<Refusal> },
    Unknown { why: String },
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied { .. } => "denied",
            Verdict::Unknown { .. } => "unknown",
        }
    }

    pub fn is_denied(&self) -> bool {
        matches!(self, Verdict::Denied { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Allowed => f.write_str("allowed"),
            Verdict::Denied { refused } => {
                f.write_str("denied: ")?;
                let mut first = true;
                for side in [Side::IamPolicy, Side::KeyPolicy] {
                    let actions: Vec<&str> = refused
                        .iter()
                        .filter(|r| r.side == side)
                        .map(|r| r.action.as_str())
                        .collect();
                    if actions.is_empty() {
                        continue;
                    }
                    if !first {
                        f.write_str("; ")?;
                    }
                    first = false;
                    write!(f, "{} refused by {}", actions.join(", "), side.spoken())?;
                }
                Ok(())
            }
            Verdict::Unknown { why } => write!(f, "unknown: {why}"),
        }
    }
}

/// Whether the principal writes to the stream, per the simulated put actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    Yes,
    /// Only when these context keys hold: the simulator was not given them.
    Maybe(Vec<String>),
    No,
}

/// From the decisions for `firehose:PutRecord` and `firehose:PutRecordBatch` on the stream.
pub fn writes<'a>(puts: impl IntoIterator<Item = &'a Decision>) -> Writes {
    let mut maybe = Vec::new();
    for d in puts {
        match d {
            Decision::Allowed => return Writes::Yes,
            Decision::ImplicitDeny { missing } => maybe.extend(missing.iter().cloned()),
            Decision::ExplicitDeny => {}
        }
    }
    maybe.sort();
    maybe.dedup();
    if maybe.is_empty() {
        Writes::No
    } else {
        Writes::Maybe(maybe)
    }
}

/// May the principal call each of `actions` on the key: its IAM policies' decision (from the
/// simulator; `None` when it was not simulated) and the key policy's side, per action.
pub fn key_use<'a>(
    actions: &[&str],
    identity: impl Fn(&str) -> Option<&'a Decision>,
    key: impl Fn(&str) -> KeySide,
) -> Verdict {
    let mut refused = Vec::new();
    let mut unknown: Option<String> = None;
    for &action in actions {
        let refuse = |side| Refusal {
            side,
            action: action.to_owned(),
        };
        let iam = identity(action);
        if iam == Some(&Decision::ExplicitDeny) {
            refused.push(refuse(Side::IamPolicy));
            continue;
        }
        match key(action) {
            KeySide::Denies | KeySide::Silent => refused.push(refuse(Side::KeyPolicy)),
            KeySide::Allows => {}
            KeySide::Unknown(why) => {
                unknown.get_or_insert(format!("{action}: the key policy has {why}"));
            }
            KeySide::Delegates => match iam {
                Some(Decision::Allowed) => {}
                Some(Decision::ImplicitDeny { missing }) if !missing.is_empty() => {
                    unknown.get_or_insert(format!(
                        "{action}: its IAM policies allow it only when {} hold(s), which the \
                         simulator was not given",
                        missing.join(", ")
                    ));
                }
                Some(_) => refused.push(refuse(Side::IamPolicy)),
                None => {
                    unknown.get_or_insert(format!("{action}: its IAM policies were not simulated"));
                }
            },
        }
    }
    match (refused.is_empty(), unknown) {
        (false, _) => Verdict::Denied { refused },
        (true, Some(why)) => Verdict::Unknown { why },
        (true, None) => Verdict::Allowed,
    }
}

/// A producer's verdict: whether it writes, and whether it may use the key.
pub fn producer(writes: &Writes, key: Verdict) -> Verdict {
    match (writes, key) {
        (Writes::Maybe(keys), Verdict::Denied { refused }) => Verdict::Unknown {
            why: format!(
                "it may write when {} hold(s) (the simulator was not given them), and would then be \
                 refused: {}",
                keys.join(", "),
                Verdict::Denied { refused }
            ),
        },
        (_, key) => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USE: [&str; 2] = ["kms:GenerateDataKey", "kms:Decrypt"];

    fn verdict(iam: &[(&str, Decision)], key: &[(&str, KeySide)]) -> Verdict {
        key_use(
            &USE,
            |a| iam.iter().find(|(x, _)| *x == a).map(|(_, d)| d),
            |a| {
                key.iter()
                    .find(|(x, _)| *x == a)
                    .map(|(_, k)| k.clone())
                    .unwrap_or(KeySide::Silent)
            },
        )
    }

    fn both(d: Decision) -> Vec<(&'static str, Decision)> {
        USE.iter().map(|a| (*a, d.clone())).collect()
    }

    fn keys(k: KeySide) -> Vec<(&'static str, KeySide)> {
        USE.iter().map(|a| (*a, k.clone())).collect()
    }

    #[test]
    fn delegation_lets_iam_decide() {
        assert_eq!(
            verdict(&both(Decision::Allowed), &keys(KeySide::Delegates)),
            Verdict::Allowed
        );
        let mut iam = both(Decision::Allowed);
        iam[0].1 = Decision::ImplicitDeny { missing: vec![] };
        let v = verdict(&iam, &keys(KeySide::Delegates));
        assert_eq!(
            v,
            Verdict::Denied {
                refused: vec![Refusal {
                    side: Side::IamPolicy,
                    action: "kms:GenerateDataKey".into()
                }]
            }
        );
        assert_eq!(
            v.to_string(),
            "denied: kms:GenerateDataKey refused by its IAM policies"
        );
    }

    #[test]
    fn a_key_policy_naming_the_principal_allows_without_iam_but_not_against_a_deny() {
        let implicit = both(Decision::ImplicitDeny { missing: vec![] });
        assert_eq!(verdict(&implicit, &keys(KeySide::Allows)), Verdict::Allowed);
        let explicit = both(Decision::ExplicitDeny);
        assert!(verdict(&explicit, &keys(KeySide::Allows)).is_denied());
    }

    #[test]
    fn a_silent_or_denying_key_policy_refuses_whatever_iam_says() {
        let v = verdict(&both(Decision::Allowed), &keys(KeySide::Silent));
        assert_eq!(
            v.to_string(),
            "denied: kms:GenerateDataKey, kms:Decrypt refused by the key policy"
        );
        assert!(verdict(&both(Decision::Allowed), &keys(KeySide::Denies)).is_denied());
    }

    #[test]
    fn every_unknown_cause_says_why() {
        let missing = both(Decision::ImplicitDeny {
            missing: vec!["aws:SourceIp".into()],
        });
        assert!(matches!(
            verdict(&missing, &keys(KeySide::Delegates)),
            Verdict::Unknown { why } if why.contains("aws:SourceIp")
        ));
        assert!(matches!(
            verdict(&both(Decision::Allowed), &keys(KeySide::Unknown("a condition on aws:PrincipalOrgID".into()))),
            Verdict::Unknown { why } if why.contains("aws:PrincipalOrgID")
        ));
        assert!(matches!(
            verdict(&[], &keys(KeySide::Delegates)),
            Verdict::Unknown { why } if why.contains("not simulated")
        ));
        // A refusal outweighs an unknown.
        let mut k = keys(KeySide::Unknown("x".into()));
        k[1].1 = KeySide::Silent;
        assert!(verdict(&both(Decision::Allowed), &k).is_denied());
    }

    #[test]
    fn a_writer_only_under_conditions_is_unknown_when_it_would_be_refused() {
        assert_eq!(
            writes([&Decision::ExplicitDeny, &Decision::Allowed]),
            Writes::Yes
        );
        assert_eq!(
            writes([
                &Decision::ImplicitDeny { missing: vec![] },
                &Decision::ExplicitDeny
            ]),
            Writes::No
        );
        let maybe = writes([&Decision::ImplicitDeny {
            missing: vec!["aws:SourceVpce".into()],
        }]);
        assert_eq!(maybe, Writes::Maybe(vec!["aws:SourceVpce".into()]));
        let denied = verdict(&both(Decision::Allowed), &keys(KeySide::Silent));
        assert!(
            matches!(producer(&maybe, denied.clone()), Verdict::Unknown { why } if why.contains("aws:SourceVpce"))
        );
        assert_eq!(producer(&Writes::Yes, denied.clone()), denied);
        assert_eq!(producer(&maybe, Verdict::Allowed), Verdict::Allowed);
    }
}
