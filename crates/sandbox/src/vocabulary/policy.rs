//! IAM's JSON policy language as the sandbox reads it: a document's grammar (`Version`, `Id`,
//! `Statement`; per statement `Sid`, `Effect`, `Action`/`NotAction`, `Resource`/`NotResource`,
//! `Principal`/`NotPrincipal`, `Condition`) checked for the kind of policy it is — an identity
//! policy (inline or managed, of a user, group or role), a role's trust policy, or a KMS key
//! policy — refused with the `MalformedPolicyDocument` messages IAM gives, and the `*`/`?`
//! wildcard match of actions and resources. What a statement decides for a request is the
//! world's (`world::iam::evaluate`).
//!
//! The grammar follows the IAM JSON policy reference: an identity policy has no `Principal`
//! and needs actions and resources; a trust policy needs a `Principal` and has no `Resource`;
//! a key policy needs a `Principal`, and a statement of it without `Action` or `Resource` is
//! accepted but has no effect (KMS's `PutKeyPolicy` documentation). Policy variables
//! (`${aws:username}`) are not substituted: they match as written.

use serde_json::{Map, Value};

/// "This policy contains invalid Json": the document is not JSON.
pub const INVALID_JSON: &str = "This policy contains invalid Json";
/// IAM's answer to a document whose structure it cannot read.
pub const SYNTAX_ERRORS: &str = "Syntax errors in policy.";

/// What a policy document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A permissions policy of a user, group or role (inline or managed).
    Identity,
    /// A role's trust policy (`AssumeRolePolicyDocument`).
    Trust,
    /// A KMS key policy.
    Key,
}

/// A statement's `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: the patterns, and whether the statement
/// is about what they do *not* match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patterns {
    pub not: bool,
    pub values: Vec<String>,
}

impl Patterns {
    /// Whether `text` is covered (actions match without regard to case, resources with).
    pub fn covers(&self, text: &str, ignore_case: bool) -> bool {
        self.values.iter().any(|p| glob(p, text, ignore_case)) != self.not
    }
}

/// `Principal`/`NotPrincipal`: `"*"` reads as `{"AWS": "*"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    pub not: bool,
    /// `AWS`: `*`, account ids, `arn:...:root`, user, role and assumed-role ARNs.
    pub aws: Vec<String>,
    /// `Service`: `events.amazonaws.com`, ...
    pub service: Vec<String>,
    /// `Federated` and `CanonicalUser`: never an IAM caller of the sandbox.
    pub others: Vec<String>,
}

/// One condition: `{"<operator>": {"<key>": <values>}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    /// The key as written (keys compare without regard to case).
    pub key: String,
    pub values: Vec<String>,
}

/// One statement, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `None` only for an inert key policy statement.
    pub action: Option<Patterns>,
    /// `None`: any resource (a trust policy's statements name none).
    pub resource: Option<Patterns>,
    /// `None` for identity policies.
    pub principal: Option<Principals>,
    pub conditions: Vec<Condition>,
    /// A key policy statement without `Action` or `Resource`: accepted, decides nothing.
    pub inert: bool,
}

/// A policy document, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

/// Reads `text` as a policy of `kind`; the `MalformedPolicyDocument` message when it is not
/// one.
pub fn parse(text: &str, kind: PolicyKind) -> Result<PolicyDocument, String> {
    let value: Value = serde_json::from_str(text).map_err(|_| INVALID_JSON.to_owned())?;
    let Value::Object(top) = value else {
        return Err(SYNTAX_ERRORS.to_owned());
    };
    for key in top.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(SYNTAX_ERRORS.to_owned());
        }
    }
    match top.get("Version") {
        None => {}
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(_) => return Err("The policy failed legacy parsing".to_owned()),
    }
    if top.get("Id").is_some_and(|id| !id.is_string()) {
        return Err(SYNTAX_ERRORS.to_owned());
    }
    let statements = match top.get("Statement") {
        Some(Value::Object(one)) => vec![one],
        Some(Value::Array(many)) if !many.is_empty() => many
            .iter()
            .map(|s| s.as_object().ok_or_else(|| SYNTAX_ERRORS.to_owned()))
            .collect::<Result<_, _>>()?,
        _ => return Err(SYNTAX_ERRORS.to_owned()),
    };
    let statements = statements
        .into_iter()
        .map(|s| statement(s, kind))
        .collect::<Result<_, _>>()?;
    Ok(PolicyDocument { statements })
}

fn statement(s: &Map<String, Value>, kind: PolicyKind) -> Result<Statement, String> {
    const KEYS: [&str; 9] = [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ];
    if s.keys().any(|k| !KEYS.contains(&k.as_str())) {
        return Err(SYNTAX_ERRORS.to_owned());
    }
    let sid = match s.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(SYNTAX_ERRORS.to_owned()),
    };
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(_) => return Err(SYNTAX_ERRORS.to_owned()),
        None => return Err("Missing required field Effect".to_owned()),
    };
    let principal = principals(s, kind)?;
    let action = patterns(s, "Action", "NotAction")?;
    let resource = patterns(s, "Resource", "NotResource")?;
    if let Some(action) = &action
        && action
            .values
            .iter()
            .any(|a| a != "*" && a.split_once(':').is_none_or(|(v, _)| v.is_empty()))
    {
        return Err(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".to_owned(),
        );
    }
    if kind != PolicyKind::Trust
        && let Some(bad) = resource
            .iter()
            .flat_map(|r| &r.values)
            .find(|r| *r != "*" && !r.starts_with("arn:"))
    {
        return Err(format!("Resource {bad} must be in ARN format or \"*\"."));
    }
    let mut inert = false;
    match kind {
        PolicyKind::Identity => {
            if action.is_none() {
                return Err("Policy statement must contain actions.".to_owned());
            }
            if resource.is_none() {
                return Err("Policy statement must contain resources.".to_owned());
            }
        }
        PolicyKind::Trust => {
            if action.is_none() {
                return Err("Policy statement must contain actions.".to_owned());
            }
            if s.contains_key("Resource") {
                return Err("Has prohibited field Resource".to_owned());
            }
            if s.contains_key("NotResource") {
                return Err("Has prohibited field NotResource".to_owned());
            }
        }
        PolicyKind::Key => inert = action.is_none() || resource.is_none(),
    }
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(operators)) => conditions(operators)?,
        Some(_) => return Err(SYNTAX_ERRORS.to_owned()),
    };
    Ok(Statement {
        sid,
        effect,
        action,
        resource,
        principal,
        conditions,
        inert,
    })
}

/// `name` or `not_name` (not both) as patterns.
fn patterns(
    s: &Map<String, Value>,
    name: &str,
    not_name: &str,
) -> Result<Option<Patterns>, String> {
    match (s.get(name), s.get(not_name)) {
        (Some(_), Some(_)) => Err(SYNTAX_ERRORS.to_owned()),
        (Some(v), None) => strings(v).map(|values| Some(Patterns { not: false, values })),
        (None, Some(v)) => strings(v).map(|values| Some(Patterns { not: true, values })),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty list of strings.
fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(one) => Ok(vec![one.clone()]),
        Value::Array(many) if !many.is_empty() => many
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| SYNTAX_ERRORS.to_owned())
            })
            .collect(),
        _ => Err(SYNTAX_ERRORS.to_owned()),
    }
}

fn principals(s: &Map<String, Value>, kind: PolicyKind) -> Result<Option<Principals>, String> {
    let (value, not) = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(_), Some(_)) => return Err(SYNTAX_ERRORS.to_owned()),
        (Some(v), None) => (v, false),
        (None, Some(v)) => (v, true),
        (None, None) if kind == PolicyKind::Identity => return Ok(None),
        (None, None) => return Err("Missing required field Principal".to_owned()),
    };
    if kind == PolicyKind::Identity {
        return Err("Policy document should not specify a principal.".to_owned());
    }
    let mut p = Principals {
        not,
        ..Principals::default()
    };
    match value {
        Value::String(star) if star == "*" => p.aws.push("*".to_owned()),
        Value::Object(by_type) if !by_type.is_empty() => {
            for (t, v) in by_type {
                let values = strings(v)?;
                match t.as_str() {
                    "AWS" => {
                        if let Some(bad) = values.iter().find(|a| {
                            *a != "*" && !super::is_valid_account(a) && !a.starts_with("arn:")
                        }) {
                            return Err(format!("Invalid principal in policy: \"AWS\":\"{bad}\""));
                        }
                        p.aws.extend(values);
                    }
                    "Service" => p.service.extend(values),
                    "Federated" | "CanonicalUser" => p.others.extend(values),
                    _ => return Err(SYNTAX_ERRORS.to_owned()),
                }
            }
        }
        _ => return Err(SYNTAX_ERRORS.to_owned()),
    }
    Ok(Some(p))
}

fn conditions(operators: &Map<String, Value>) -> Result<Vec<Condition>, String> {
    let mut out = Vec::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Err(SYNTAX_ERRORS.to_owned());
        };
        for (key, values) in keys {
            let scalar = |v: &Value| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(SYNTAX_ERRORS.to_owned()),
            };
            let values = match values {
                Value::Array(many) => many.iter().map(scalar).collect::<Result<_, _>>()?,
                one => vec![scalar(one)?],
            };
            out.push(Condition {
                operator: operator.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (none
/// included) and `?` for any one, as IAM matches actions and resources.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |c: char| {
        if ignore_case {
            c.to_ascii_lowercase()
        } else {
            c
        }
    };
    let p: Vec<char> = pattern.chars().map(fold).collect();
    let t: Vec<char> = text.chars().map(fold).collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and where in the text its run ends for now.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(glob("*", "", false));
        assert!(glob("firehose:Put*", "firehose:PutRecordBatch", false));
        assert!(glob("firehose:put*", "FIREHOSE:PutRecord", true));
        assert!(!glob("firehose:put*", "firehose:PutRecord", false));
        assert!(glob("kms:?ecrypt", "kms:Decrypt", false));
        assert!(!glob("kms:?ecrypt", "kms:ReDecrypt", false));
        assert!(glob(
            "arn:aws:firehose:*:123456789012:deliverystream/orders-*",
            "arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-eu",
            false
        ));
        assert!(glob("a*b*c", "aXXbYYbc", false));
        assert!(!glob("a*b*c", "aXXbYYb", false));
        assert!(!glob("", "a", false));
    }

    #[test]
    fn identity_policies() {
        let ok = parse(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "kms:*",
                "Resource": ["arn:aws:kms:*:*:key/*", "*"],
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": true}}}}"#,
            PolicyKind::Identity,
        )
        .unwrap();
        let s = &ok.statements[0];
        assert_eq!(s.effect, Effect::Deny);
        assert!(s.action.as_ref().unwrap().not);
        assert_eq!(s.conditions[0].values, ["true"]);
        for (text, message) in [
            ("{", INVALID_JSON),
            ("[]", SYNTAX_ERRORS),
            (r#"{"Statement": []}"#, SYNTAX_ERRORS),
            (
                r#"{"Version": "2012-10-18", "Statement": []}"#,
                "The policy failed legacy parsing",
            ),
            (
                r#"{"Statement": {"Action": "s3:*", "Resource": "*"}}"#,
                "Missing required field Effect",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#,
                "Policy statement must contain actions.",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "s3:*"}}"#,
                "Policy statement must contain resources.",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "PutRecord", "Resource": "*"}}"#,
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}}"#,
                "Resource bucket must be in ARN format or \"*\".",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}}"#,
                "Policy document should not specify a principal.",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Colour": 1}}"#,
                SYNTAX_ERRORS,
            ),
        ] {
            assert_eq!(
                parse(text, PolicyKind::Identity).unwrap_err(),
                message,
                "{text}"
            );
        }
    }

    #[test]
    fn trust_and_key_policies() {
        let trust = parse(
            r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "events.amazonaws.com", "AWS": ["123456789012"]}}]}"#,
            PolicyKind::Trust,
        )
        .unwrap();
        let p = trust.statements[0].principal.as_ref().unwrap();
        assert_eq!((p.aws.len(), p.service.len()), (1, 1));
        assert_eq!(
            parse(
                r#"{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*", "Resource": "*"}}"#,
                PolicyKind::Trust
            )
            .unwrap_err(),
            "Has prohibited field Resource"
        );
        assert_eq!(
            parse(
                r#"{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}}"#,
                PolicyKind::Trust
            )
            .unwrap_err(),
            "Missing required field Principal"
        );
        assert_eq!(
            parse(
                r#"{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "alice"}}}"#,
                PolicyKind::Trust
            )
            .unwrap_err(),
            "Invalid principal in policy: \"AWS\":\"alice\""
        );
        // A key policy statement without a resource is accepted and decides nothing.
        let key = parse(
            r#"{"Statement": {"Effect": "Allow", "Action": "kms:*", "Principal": "*"}}"#,
            PolicyKind::Key,
        )
        .unwrap();
        assert!(key.statements[0].inert);
        assert_eq!(key.statements[0].principal.as_ref().unwrap().aws, ["*"]);
    }
}
