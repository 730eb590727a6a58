//! The key policy's side of "may this principal use the key". KMS reads the key policy first:
//! a statement for the account (its root, or its id) hands the decision to the account's IAM
//! policies; a statement naming the principal's ARN allows it by itself; an explicit Deny wins
//! over both (AWS KMS Developer Guide, "Key policies"). The simulator cannot do this part for a
//! role (`SimulatePrincipalPolicy` takes a resource policy only with a user as caller), so it is
//! read here, on the part of the policy language `policy` reads, and conditions are evaluated
//! only on the context keys whose value is known for the call in question (`kms:ViaService`,
//! `kms:CallerAccount`, `kms:GrantIsForAWSResource`); any other condition makes the statement's
//! effect unknown, and says which key.

use super::policy::{Effect, Statement, Test};

/// What the key policy says for one principal and one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySide {
    /// A statement names the principal (or anyone): allowed whatever its IAM policies say
    /// (but an explicit Deny there).
    Allows,
    /// A statement for the principal's account: its IAM policies decide.
    Delegates,
    /// An explicit Deny applies.
    Denies,
    /// Nothing allows it.
    Silent,
    /// A statement that would decide has a condition this check cannot evaluate.
    Unknown(String),
}

/// Who asks, and the context values known for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker<'a> {
    /// The principal's IAM ARN (a role's or a user's).
    pub arn: &'a str,
    pub account: &'a str,
    /// Context keys with their value for this call (`kms:ViaService` → `firehose.<region>...`).
    pub context: &'a [(&'a str, &'a str)],
}

enum Applies {
    Yes,
    No,
    Unknown(String),
}

/// Whether a statement's conditions hold for the known context.
fn conditions_hold(tests: &[Test], context: &[(&str, &str)]) -> Applies {
    for test in tests {
        let Some(&(_, value)) = context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&test.key))
        else {
            return Applies::Unknown(format!(
                "a condition on {} ({}) this check cannot evaluate",
                test.key, test.operator
            ));
        };
        let op = test
            .operator
            .trim_start_matches("ForAnyValue:")
            .trim_start_matches("ForAllValues:")
            .trim_end_matches("IfExists");
        let glob = |p: &str, fold: bool| {
            if fold {
                super::policy::action_matches(p, value)
            } else {
                super::policy::arn_matches_loosely(p, value)
            }
        };
        let holds = match op {
            "StringEquals" | "ArnEquals" => test.values.iter().any(|v| v == value),
            "StringEqualsIgnoreCase" => test.values.iter().any(|v| v.eq_ignore_ascii_case(value)),
            "StringLike" | "ArnLike" => test.values.iter().any(|v| glob(v, false)),
            "StringNotEquals" | "ArnNotEquals" => !test.values.iter().any(|v| v == value),
            "StringNotEqualsIgnoreCase" => {
                !test.values.iter().any(|v| v.eq_ignore_ascii_case(value))
            }
            "StringNotLike" | "ArnNotLike" => !test.values.iter().any(|v| glob(v, false)),
            "Bool" => test.values.iter().any(|v| v.eq_ignore_ascii_case(value)),
            other => {
                return Applies::Unknown(format!(
                    "a condition operator {other} on {} this check does not evaluate",
                    test.key
                ));
            }
        };
        if !holds {
            return Applies::No;
        }
    }
    Applies::Yes
}

/// How a statement's principals reach the asker: by name, through its account, or not.
enum Reach {
    Named,
    Account,
    No,
    Negated,
}

fn reach(statement: &Statement, asker: &Asker<'_>) -> Reach {
    let Some(p) = &statement.principals else {
        return Reach::No;
    };
    if p.negated {
        return Reach::Negated;
    }
    if p.anyone || p.aws.iter().any(|a| a == asker.arn) {
        return Reach::Named;
    }
    let root = |a: &str| {
        a == asker.account
            || (a.starts_with("arn:") && a.ends_with(&format!(":iam::{}:root", asker.account)))
    };
    if p.aws.iter().any(|a| root(a)) {
        Reach::Account
    } else {
        Reach::No
    }
}

/// What `policy` (a key policy, read) says for `asker` calling `action` on the key.
pub fn key_side(policy: &[Statement], asker: &Asker<'_>, action: &str) -> KeySide {
    let mut allows = None::<KeySide>;
    let mut unknown = None::<String>;
    for s in policy.iter().filter(|s| s.covers_action(action)) {
        // Key policies name the key as "*" (or its own ARN): any resource pattern reaching
        // a key is taken as this key.
        let reached = reach(s, asker);
        let applies = match reached {
            Reach::No => continue,
            Reach::Negated => Applies::Unknown("a NotPrincipal statement".into()),
            _ => conditions_hold(&s.conditions, asker.context),
        };
        match (s.effect, applies) {
            (_, Applies::No) => {}
            (Effect::Deny, Applies::Yes) => return KeySide::Denies,
            (Effect::Deny, Applies::Unknown(why)) => unknown = Some(why),
            (Effect::Allow, Applies::Unknown(why)) => {
                unknown.get_or_insert(why);
            }
            (Effect::Allow, Applies::Yes) => {
                let side = match reached {
                    Reach::Named => KeySide::Allows,
                    _ => KeySide::Delegates,
                };
                if allows != Some(KeySide::Allows) {
                    allows = Some(side);
                }
            }
        }
    }
    // A Deny that may apply leaves the answer open even where an Allow holds.
    match (unknown, allows) {
        (Some(why), _) => KeySide::Unknown(why),
        (None, Some(side)) => side,
        (None, None) => KeySide::Silent,
    }
}

/// AWS KMS's default key policy for a key created without one (KMS Developer Guide, "Default
/// key policy"): the account's IAM policies decide.
pub fn default_policy(account: &str, partition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producers::policy::parse_document;

    const ROLE: &str = "arn:aws:iam::123456789012:role/orders-events";
    const VIA: [(&str, &str); 2] = [
        ("kms:ViaService", "firehose.us-east-1.amazonaws.com"),
        ("kms:CallerAccount", "123456789012"),
    ];

    fn side(doc: &str, action: &str) -> KeySide {
        let policy = parse_document(doc).unwrap();
        let asker = Asker {
            arn: ROLE,
            account: "123456789012",
            context: &VIA,
        };
        key_side(&policy, &asker, action)
    }

    #[test]
    fn the_default_policy_hands_the_decision_to_iam() {
        let doc = default_policy("123456789012", "aws");
        assert_eq!(side(&doc, "kms:GenerateDataKey"), KeySide::Delegates);
        // The account id alone is the same principal as its root.
        let by_id = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"kms:*","Resource":"*"}}"#;
        assert_eq!(side(by_id, "kms:Decrypt"), KeySide::Delegates);
    }

    #[test]
    fn a_statement_naming_the_role_allows_it_and_a_deny_wins() {
        let named = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{ROLE}"}},"Action":["kms:GenerateDataKey*","kms:Decrypt"],"Resource":"*"}}]}}"#
        );
        assert_eq!(side(&named, "kms:GenerateDataKey"), KeySide::Allows);
        assert_eq!(side(&named, "kms:Encrypt"), KeySide::Silent);
        let denied = format!(
            r#"{{"Statement":[
              {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Action":"kms:*","Resource":"*"}},
              {{"Effect":"Deny","Principal":{{"AWS":"{ROLE}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
        );
        assert_eq!(side(&denied, "kms:Decrypt"), KeySide::Denies);
        assert_eq!(side(&denied, "kms:GenerateDataKey"), KeySide::Delegates);
    }

    #[test]
    fn a_policy_for_another_account_or_a_service_is_silent() {
        let other = r#"{"Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}]}"#;
        assert_eq!(side(other, "kms:Decrypt"), KeySide::Silent);
    }

    #[test]
    fn conditions_on_known_keys_are_evaluated_others_are_unknown() {
        let via = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
          "Condition":{"StringEquals":{"kms:CallerAccount":"123456789012"},"StringLike":{"kms:ViaService":"firehose.*.amazonaws.com"}}}}"#;
        assert_eq!(side(via, "kms:Decrypt"), KeySide::Allows);
        let elsewhere = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
          "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}}"#;
        assert_eq!(side(elsewhere, "kms:Decrypt"), KeySide::Silent);
        let org = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
          "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-123"}}}}"#;
        assert!(
            matches!(side(org, "kms:Decrypt"), KeySide::Unknown(why) if why.contains("aws:PrincipalOrgID"))
        );
        let maybe_deny = r#"{"Statement":[
          {"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"kms:*","Resource":"*"},
          {"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
        assert!(matches!(
            side(maybe_deny, "kms:Decrypt"),
            KeySide::Unknown(_)
        ));
    }
}
