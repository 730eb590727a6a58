//! The fix for a refused producer, as statements to add — printed, or written as JSON files
//! with `--out-policies DIR`, never applied (the tool changes no IAM or key policy): an IAM
//! policy granting the two key actions on the key's ARN, when its IAM policies refuse; a key
//! policy statement naming the principal, when the key policy refuses.

use std::collections::BTreeMap;

use super::assess::KEY_ACTIONS;
use super::verdict::{Side, Verdict};
use super::{Producer, StreamProducers};

/// What to add for one producer and one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub principal: String,
    pub key: String,
    /// A whole identity policy to attach (or add inline) to the principal.
    pub iam_policy: Option<serde_json::Value>,
    /// A statement to add to the key policy.
    pub key_statement: Option<serde_json::Value>,
}

impl Fix {
    fn of(producer: &Producer, key: &str) -> Option<Fix> {
        let Verdict::Denied { refused } = &producer.verdict else {
            return None;
        };
        let actions: Vec<&str> = KEY_ACTIONS.to_vec();
        let needs = |side| refused.iter().any(|r| r.side == side);
        Some(Fix {
            principal: producer.principal.clone(),
            key: key.to_owned(),
            iam_policy: needs(Side::IamPolicy).then(|| {
                serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "FirehoseSseProducer",
                        "Effect": "Allow",
                        "Action": actions,
                        "Resource": key,
                    }]
                })
            }),
            key_statement: needs(Side::KeyPolicy).then(|| {
                serde_json::json!({
                    "Sid": format!("FirehoseSseProducer-{}", short_name(&producer.principal)),
                    "Effect": "Allow",
                    "Principal": {"AWS": producer.principal},
                    "Action": actions,
                    "Resource": "*",
                })
            }),
        })
    }

    /// A file name for it: `<kind>-<name>-<key id>`, safe on any file system.
    pub fn file_stem(&self) -> String {
        let key_id = self.key.rsplit('/').next().unwrap_or(&self.key);
        let principal = self
            .principal
            .split_once(":iam::")
            .map_or(self.principal.as_str(), |(_, rest)| rest);
        let safe: String = format!("{principal}-{key_id}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        safe
    }

    /// The fix as files: (name, JSON) — `<stem>.iam-policy.json` and
    /// `<stem>.key-policy-statement.json`, each where its side refuses.
    pub fn files(&self) -> Vec<(String, String)> {
        let pretty = |v: &serde_json::Value| {
            let mut text = serde_json::to_string_pretty(v).expect("JSON serializes");
            text.push('\n');
            text
        };
        let stem = self.file_stem();
        let mut out = Vec::new();
        if let Some(iam) = &self.iam_policy {
            out.push((format!("{stem}.iam-policy.json"), pretty(iam)));
        }
        if let Some(statement) = &self.key_statement {
            out.push((
                format!("{stem}.key-policy-statement.json"),
                pretty(statement),
            ));
        }
        out
    }

    /// The fix as text for a terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(iam) = &self.iam_policy {
            out.push_str(&format!(
                "  IAM policy to add to {}:\n{}\n",
                self.principal,
                indent(&serde_json::to_string_pretty(iam).unwrap_or_default())
            ));
        }
        if let Some(statement) = &self.key_statement {
            out.push_str(&format!(
                "  statement to add to the key policy of {} (an explicit Deny there still wins):\n{}\n",
                self.key,
                indent(&serde_json::to_string_pretty(statement).unwrap_or_default())
            ));
        }
        out
    }
}

fn short_name(arn: &str) -> String {
    arn.rsplit('/')
        .next()
        .unwrap_or(arn)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One fix per refused producer and key, over every stream given (a producer of many streams on
/// one key needs one fix).
pub fn fixes<'a>(found: impl IntoIterator<Item = &'a StreamProducers>) -> Vec<Fix> {
    let mut by: BTreeMap<(String, String), Fix> = BTreeMap::new();
    for stream in found {
        for producer in stream.denied() {
            if let Some(fix) = Fix::of(producer, &stream.key) {
                by.entry((fix.principal.clone(), fix.key.clone()))
                    .or_insert(fix);
            }
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producers::principals::Kind;
    use crate::producers::verdict::Refusal;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

    fn denied(side: Side) -> Producer {
        Producer {
            principal: "arn:aws:iam::123456789012:role/service/orders-events".into(),
            kind: Kind::Role,
            described: "EventBridge target role".into(),
            verdict: Verdict::Denied {
                refused: vec![Refusal {
                    side,
                    action: "kms:GenerateDataKey".into(),
                }],
            },
        }
    }

    #[test]
    fn an_iam_refusal_gets_an_iam_policy_on_the_key() {
        let stream = StreamProducers {
            key: KEY.into(),
            producers: vec![denied(Side::IamPolicy)],
            unread: None,
        };
        let fixes = fixes([&stream, &stream.clone()]);
        assert_eq!(fixes.len(), 1, "one fix per producer and key");
        let fix = &fixes[0];
        assert!(fix.key_statement.is_none());
        let st = &fix.iam_policy.as_ref().unwrap()["Statement"][0];
        assert_eq!(st["Resource"], KEY);
        assert_eq!(
            st["Action"],
            serde_json::json!(["kms:GenerateDataKey", "kms:Decrypt"])
        );
        assert_eq!(
            fix.file_stem(),
            "123456789012-role-service-orders-events-11111111-1111-1111-1111-111111111111"
        );
    }

    #[test]
    fn a_key_policy_refusal_gets_a_statement_naming_the_principal() {
        let stream = StreamProducers {
            key: KEY.into(),
            producers: vec![denied(Side::KeyPolicy)],
            unread: None,
        };
        let fix = &fixes([&stream])[0];
        assert!(fix.iam_policy.is_none());
        let st = fix.key_statement.as_ref().unwrap();
        assert_eq!(
            st["Principal"]["AWS"],
            "arn:aws:iam::123456789012:role/service/orders-events"
        );
        assert!(fix.text().contains("key policy of"));
    }
}
