//! The part of the IAM policy language the producer check reads itself: statements with their
//! effect, actions (`Action` / `NotAction`), resources (`Resource` / `NotResource`), principals
//! (a key policy's `Principal`) and whether a `Condition` applies, plus IAM's wildcard matching.
//!
//! It is used for two things only, neither of which decides a verdict on identity policies:
//! finding *candidates* (principals whose statements may allow a put to a stream, which AWS's
//! simulator then confirms or not) and reading a *key policy* (which the simulator cannot
//! evaluate for a role, see `key_policy`). Matching therefore errs towards "may match": a
//! candidate too many costs a simulated resource, a candidate missed would be a producer
//! nobody checked.
//!
//! Wildcards, as the IAM User Guide's policy element reference gives them: `*` any run of
//! characters, `?` any one character; actions compare case-insensitively, resource ARNs
//! case-sensitively; in a resource ARN a wildcard stays within its colon-separated segment,
//! except a `*` ending a segment, which may reach past the colons ([`arn_matches`]).

use serde_json::Value;

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// A statement's `Action` or `NotAction` (likewise `Resource` / `NotResource`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Patterns {
    /// `Action` / `Resource`: the statement covers what one of these matches.
    Listed(Vec<String>),
    /// `NotAction` / `NotResource`: it covers everything none of these match.
    AllBut(Vec<String>),
}

impl Patterns {
    fn covers(&self, text: &str, matches: impl Fn(&str, &str) -> bool) -> bool {
        match self {
            Patterns::Listed(p) => p.iter().any(|p| matches(p, text)),
            Patterns::AllBut(p) => !p.iter().any(|p| matches(p, text)),
        }
    }

    /// The patterns themselves (for a statement's signature).
    pub fn patterns(&self) -> &[String] {
        match self {
            Patterns::Listed(p) | Patterns::AllBut(p) => p,
        }
    }
}

/// A key policy statement's `Principal` (identity policies have none).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Principals {
    /// `"*"` or `{"AWS": "*"}`: anyone.
    pub anyone: bool,
    /// `AWS` entries: account ids, account roots, role and user ARNs.
    pub aws: Vec<String>,
    /// `Service` entries, e.g. `firehose.amazonaws.com`.
    pub service: Vec<String>,
    /// `NotPrincipal` was used: everyone but these.
    pub negated: bool,
}

/// One condition test: operator, key and values (`"StringEquals": {"kms:ViaService": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Test {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub actions: Patterns,
    pub resources: Patterns,
    /// Key (resource) policies only.
    pub principals: Option<Principals>,
    /// Every test of its `Condition` block (all must hold).
    pub conditions: Vec<Test>,
}

impl Statement {
    pub fn covers_action(&self, action: &str) -> bool {
        self.actions.covers(action, action_matches)
    }

    pub fn covers_resource(&self, arn: &str) -> bool {
        self.resources.covers(arn, arn_matches)
    }

    /// Whether its resources reach `arn` through a wildcard only (`*`, `deliverystream/*`),
    /// rather than naming it.
    pub fn names_resource(&self, arn: &str) -> bool {
        matches!(&self.resources, Patterns::Listed(p) if p.iter().any(|p| p == arn))
    }
}

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("not a JSON policy document: {0}")]
    NotJson(String),
    #[error("{0}")]
    Shape(String),
}

/// Reads a policy document: plain JSON, or JSON URL-encoded as IAM's
/// GetAccountAuthorizationDetails returns it ("URL-encoded compliant with RFC 3986").
pub fn parse_document(text: &str) -> Result<Vec<Statement>, PolicyError> {
    let decoded;
    let json = if text.trim_start().starts_with('{') {
        text
    } else {
        decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| PolicyError::NotJson(e.to_string()))?;
        &decoded
    };
    let doc: Value = serde_json::from_str(json).map_err(|e| PolicyError::NotJson(e.to_string()))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => {
            return Err(PolicyError::Shape(
                "Statement is not an object or a list".into(),
            ));
        }
        None => Vec::new(),
    };
    statements.into_iter().map(statement).collect()
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                // IAM accepts numbers where account ids go.
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(PolicyError::Shape(format!("{what} holds a non-string"))),
            })
            .collect(),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(PolicyError::Shape(format!(
            "{what} is not a string or a list"
        ))),
    }
}

fn patterns(s: &Value, listed: &str, all_but: &str) -> Result<Patterns, PolicyError> {
    match (s.get(listed), s.get(all_but)) {
        (Some(v), None) => Ok(Patterns::Listed(strings(v, listed)?)),
        (None, Some(v)) => Ok(Patterns::AllBut(strings(v, all_but)?)),
        // A statement without one applies to nothing we can name; reading it as "everything"
        // keeps the candidate search on the side of caution.
        (None, None) => Ok(Patterns::AllBut(Vec::new())),
        (Some(_), Some(_)) => Err(PolicyError::Shape(format!(
            "a statement has both {listed} and {all_but}"
        ))),
    }
}

fn principals(value: &Value, negated: bool) -> Result<Principals, PolicyError> {
    let mut p = Principals {
        negated,
        ..Principals::default()
    };
    match value {
        Value::String(s) if s == "*" => p.anyone = true,
        Value::Object(map) => {
            for (kind, v) in map {
                let list = strings(v, "Principal")?;
                match kind.as_str() {
                    "AWS" => {
                        if list.iter().any(|a| a == "*") {
                            p.anyone = true;
                        }
                        p.aws.extend(list.into_iter().filter(|a| a != "*"));
                    }
                    "Service" => p.service.extend(list),
                    // Federated and CanonicalUser principals never put records as an IAM
                    // principal of the account.
                    _ => {}
                }
            }
        }
        _ => {
            return Err(PolicyError::Shape(
                "Principal is not \"*\" or an object".into(),
            ));
        }
    }
    Ok(p)
}

fn statement(s: &Value) -> Result<Statement, PolicyError> {
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => {
            return Err(PolicyError::Shape(format!(
                "a statement's Effect is {other:?}, not Allow or Deny"
            )));
        }
    };
    let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(v), _) => Some(principals(v, false)?),
        (None, Some(v)) => Some(principals(v, true)?),
        (None, None) => None,
    };
    let mut conditions = Vec::new();
    if let Some(block) = s.get("Condition") {
        let Value::Object(ops) = block else {
            return Err(PolicyError::Shape("Condition is not an object".into()));
        };
        for (operator, tests) in ops {
            let Value::Object(tests) = tests else {
                return Err(PolicyError::Shape(format!(
                    "Condition {operator} is not an object"
                )));
            };
            for (key, values) in tests {
                conditions.push(Test {
                    operator: operator.clone(),
                    key: key.clone(),
                    values: match values {
                        Value::Bool(b) => vec![b.to_string()],
                        v => strings(v, "a condition's values")?,
                    },
                });
            }
        }
    }
    Ok(Statement {
        sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
        effect,
        actions: patterns(s, "Action", "NotAction")?,
        resources: patterns(s, "Resource", "NotResource")?,
        principals: principal,
        conditions,
    })
}

/// `*` any run, `?` any one character; `fold` compares ASCII case-insensitively.
fn glob(pattern: &[u8], text: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative matching with one backtrack point: linear for the patterns policies use.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || eq(pattern[p], text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// An action pattern (`firehose:Put*`, `*`) against an action (`firehose:PutRecord`),
/// case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(pattern.as_bytes(), action.as_bytes(), true)
}

/// A resource pattern against an ARN. `*` alone matches everything; otherwise the six
/// colon-separated segments are matched each with its own, and a pattern with fewer segments
/// whose last one ends in `*` lets that `*` take the rest of the ARN (`arn:aws:firehose:*`).
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pat: Vec<&str> = pattern.splitn(6, ':').collect();
    let txt: Vec<&str> = arn.splitn(6, ':').collect();
    if pat.len() == txt.len() {
        return pat
            .iter()
            .zip(&txt)
            .all(|(p, t)| glob(p.as_bytes(), t.as_bytes(), false));
    }
    // Fewer segments: the last must end in `*` and reach over the rest.
    let Some((last, head)) = pat.split_last() else {
        return false;
    };
    if pat.len() > txt.len() || !last.ends_with('*') {
        return false;
    }
    let rest = txt[head.len()..].join(":");
    head.iter()
        .zip(&txt)
        .all(|(p, t)| glob(p.as_bytes(), t.as_bytes(), false))
        && glob(last.as_bytes(), rest.as_bytes(), false)
}

/// Whether the looser reading — `*` reaching over colons anywhere — matches: where the two
/// readings disagree, the check does not rely on either (see `candidates`).
pub fn arn_matches_loosely(pattern: &str, arn: &str) -> bool {
    glob(pattern.as_bytes(), arn.as_bytes(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        assert!(action_matches("firehose:PutRecord", "firehose:PutRecord"));
        assert!(action_matches("Firehose:putrecord", "firehose:PutRecord"));
        assert!(action_matches("firehose:Put*", "firehose:PutRecordBatch"));
        assert!(action_matches("firehose:*", "firehose:PutRecord"));
        assert!(action_matches("*", "kms:Decrypt"));
        assert!(action_matches("kms:?ecrypt", "kms:Decrypt"));
        assert!(!action_matches(
            "firehose:PutRecord",
            "firehose:PutRecordBatch"
        ));
        assert!(!action_matches("firehose:Describe*", "firehose:PutRecord"));
        assert!(!action_matches("kinesis:*", "firehose:PutRecord"));
    }

    const S: &str = "arn:aws:firehose:us-east-1:123456789012:deliverystream/orders";

    #[test]
    fn resources_match_segment_by_segment() {
        assert!(arn_matches("*", S));
        assert!(arn_matches(S, S));
        assert!(arn_matches(
            "arn:aws:firehose:*:123456789012:deliverystream/*",
            S
        ));
        assert!(arn_matches(
            "arn:aws:firehose:us-east-1:*:deliverystream/ord*",
            S
        ));
        assert!(
            arn_matches("arn:aws:firehose:*", S),
            "a trailing * reaches past colons"
        );
        assert!(arn_matches("arn:aws:*", S));
        assert!(
            !arn_matches(
                "arn:aws:firehose:us-east-1:123456789012:deliverystream/Orders",
                S
            ),
            "resources are case-sensitive"
        );
        assert!(!arn_matches("arn:aws:firehose:eu-west-1:*:*", S));
        assert!(!arn_matches("arn:aws:kinesis:*", S));
        assert!(!arn_matches(
            "arn:aws:firehose:us-*-1:12345678901?:*/other",
            S
        ));
        // A * inside a segment does not reach over a colon in the strict reading...
        assert!(!arn_matches(
            "arn:aws:firehose:us*012:deliverystream/orders",
            S
        ));
        // ...but does in the loose one, which the check uses to find where readings differ.
        assert!(arn_matches_loosely(
            "arn:aws:firehose:us*012:deliverystream/orders",
            S
        ));
    }

    #[test]
    fn documents_are_read_plain_or_url_encoded() {
        let plain = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"firehose:PutRecord","Resource":"*"}}"#;
        let encoded: String =
            percent_encoding::utf8_percent_encode(plain, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for text in [plain, encoded.as_str()] {
            let st = parse_document(text).unwrap();
            assert_eq!(st.len(), 1);
            assert_eq!(st[0].effect, Effect::Allow);
            assert!(st[0].covers_action("firehose:PutRecord"));
            assert!(st[0].covers_resource(S));
        }
    }

    #[test]
    fn not_action_and_not_resource_cover_the_rest() {
        let doc = r#"{"Statement":[
            {"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:firehose:*:*:deliverystream/secret"},
            {"Effect":"Deny","Action":["firehose:PutRecord","firehose:PutRecordBatch"],"Resource":"*",
             "Condition":{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}}]}"#;
        let st = parse_document(doc).unwrap();
        assert!(st[0].covers_action("firehose:PutRecord"));
        assert!(!st[0].covers_action("iam:CreateRole"));
        assert!(st[0].covers_resource(S));
        assert!(
            !st[0].covers_resource("arn:aws:firehose:us-east-1:123456789012:deliverystream/secret")
        );
        assert_eq!(st[1].effect, Effect::Deny);
        assert_eq!(st[1].conditions[0].key, "aws:SourceVpc");
        assert_eq!(st[1].conditions[0].values, ["vpc-1"]);
    }

    #[test]
    fn key_policy_principals_are_read() {
        let doc = r#"{"Statement":[
            {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"123456789012"}}},
            {"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::123456789012:role/x"],"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}]}"#;
        let st = parse_document(doc).unwrap();
        let p0 = st[0].principals.as_ref().unwrap();
        assert_eq!(p0.aws, ["arn:aws:iam::123456789012:root"]);
        assert_eq!(st[0].sid.as_deref(), Some("Enable IAM User Permissions"));
        assert!(st[1].principals.as_ref().unwrap().anyone);
        let p2 = st[2].principals.as_ref().unwrap();
        assert_eq!(p2.aws.len(), 2);
        assert_eq!(p2.service, ["logs.amazonaws.com"]);
    }

    #[test]
    fn malformed_documents_say_why() {
        assert!(matches!(
            parse_document("nope"),
            Err(PolicyError::NotJson(_))
        ));
        assert!(matches!(
            parse_document(r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#),
            Err(PolicyError::Shape(_))
        ));
        assert!(matches!(
            parse_document(
                r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}]}"#
            ),
            Err(PolicyError::Shape(_))
        ));
    }
}
