//! An account's IAM principals as `GetAccountAuthorizationDetails` describes them, turned into
//! what the producer check needs: each role and user with every identity-policy statement that
//! applies to it (inline, attached managed — the default version — and, for a user, its groups'
//! inline and attached), whether a permissions boundary limits it, and the services its trust
//! policy lets in (which names a service role: an EventBridge target role, a CloudWatch Logs
//! subscription role, ...). Pure: the cloud client fills [`Details`], nothing here calls AWS.

use std::collections::HashMap;

use super::policy::{self, Effect, Statement};

/// An inline or managed policy as the details give it: a name and a document (URL-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PolicyText {
    pub name: String,
    pub document: String,
}

/// A role, user or group of the details.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Entity {
    pub name: String,
    pub arn: String,
    pub inline: Vec<PolicyText>,
    /// ARNs of the attached managed policies.
    pub attached: Vec<String>,
    /// The role's trust policy (roles only).
    pub trust: Option<String>,
    /// Groups a user is in (users only).
    pub groups: Vec<String>,
    pub has_boundary: bool,
}

/// One account's `GetAccountAuthorizationDetails`, every page gathered.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Details {
    pub roles: Vec<Entity>,
    pub users: Vec<Entity>,
    pub groups: Vec<Entity>,
    /// Managed policies by ARN: the default version's document.
    pub policies: HashMap<String, String>,
}

/// Role or user.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    Role,
    User,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
        }
    }
}

/// A principal that may call Firehose: a role or a user, with its identity policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub arn: String,
    pub name: String,
    pub kind: Kind,
    /// The services its trust policy lets assume it (`events.amazonaws.com`, ...).
    pub services: Vec<String>,
    /// Every Allow and Deny statement of its identity policies.
    pub statements: Vec<Statement>,
    /// Why some of its policies could not be read (an attached policy the details do not
    /// hold, a document that is not JSON): its candidacy is then assumed, and the simulator
    /// decides.
    pub unread: Vec<String>,
}

impl Principal {
    /// What the principal is, for an operator: the service role its trust policy names, or
    /// plainly a role or user.
    pub fn described(&self) -> String {
        match self.services.iter().find_map(|s| service_role(s)) {
            Some(what) => what.to_owned(),
            None if !self.services.is_empty() => {
                format!("service role for {}", self.services.join(", "))
            }
            None => self.kind.as_str().to_owned(),
        }
    }

    /// The short name shown in tables: `role/name` or `user/name`.
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }

    /// Its statements that may allow `action` (an Allow covering it).
    pub fn allows(&self, action: &str) -> impl Iterator<Item = &Statement> {
        self.statements
            .iter()
            .filter(move |s| s.effect == Effect::Allow && s.covers_action(action))
    }
}

/// The producers AWS's documents name, by the service in a role's trust policy.
pub fn service_role(service: &str) -> Option<&'static str> {
    let host = service.split('.').next().unwrap_or_default();
    Some(match service {
        "events.amazonaws.com" => "EventBridge target role",
        "streams.metrics.cloudwatch.amazonaws.com" => "CloudWatch metric stream role",
        "iot.amazonaws.com" => "IoT rule role",
        "sns.amazonaws.com" => "SNS subscription role",
        "lambda.amazonaws.com" => "Lambda function role",
        "ec2.amazonaws.com" => "EC2 instance role",
        "ecs-tasks.amazonaws.com" => "ECS task role",
        "pipes.amazonaws.com" => "EventBridge Pipes role",
        "states.amazonaws.com" => "Step Functions role",
        // CloudWatch Logs' principal is regional: logs.<region>.amazonaws.com (or logs.amazonaws.com).
        _ if host == "logs" => "CloudWatch Logs subscription role",
        _ => return None,
    })
}

/// The services a trust policy lets assume the role.
fn trusted_services(trust: &str) -> Vec<String> {
    let Ok(statements) = policy::parse_document(trust) else {
        return Vec::new();
    };
    let mut services: Vec<String> = statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .filter_map(|s| s.principals.as_ref())
        .flat_map(|p| p.service.iter().cloned())
        .collect();
    services.sort();
    services.dedup();
    services
}

impl Details {
    /// The account's roles and users with their statements.
    pub fn principals(&self) -> Vec<Principal> {
        let groups: HashMap<&str, &Entity> =
            self.groups.iter().map(|g| (g.name.as_str(), g)).collect();
        let roles = self.roles.iter().map(|r| (Kind::Role, r, Vec::new()));
        let users = self.users.iter().map(|u| {
            let mine: Vec<&Entity> = u
                .groups
                .iter()
                .filter_map(|g| groups.get(g.as_str()).copied())
                .collect();
            (Kind::User, u, mine)
        });
        roles
            .chain(users)
            .map(|(kind, e, groups)| {
                let mut p = Principal {
                    arn: e.arn.clone(),
                    name: e.name.clone(),
                    kind,
                    services: e.trust.as_deref().map(trusted_services).unwrap_or_default(),
                    statements: Vec::new(),
                    unread: Vec::new(),
                };
                for holder in std::iter::once(e).chain(groups) {
                    for inline in &holder.inline {
                        self.read_into(&mut p, &inline.name, &inline.document);
                    }
                    for arn in &holder.attached {
                        match self.policies.get(arn) {
                            Some(doc) => self.read_into(&mut p, arn, doc),
                            None => p.unread.push(format!(
                                "attached policy {arn} is not in the authorization details"
                            )),
                        }
                    }
                }
                p
            })
            .collect()
    }

    fn read_into(&self, p: &mut Principal, name: &str, document: &str) {
        match policy::parse_document(document) {
            Ok(statements) => p.statements.extend(statements),
            Err(e) => p.unread.push(format!("policy {name}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, trust: &str, inline: &[&str], attached: &[&str]) -> Entity {
        Entity {
            name: name.into(),
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            inline: inline
                .iter()
                .enumerate()
                .map(|(i, d)| PolicyText {
                    name: format!("p{i}"),
                    document: (*d).into(),
                })
                .collect(),
            attached: attached.iter().map(|a| (*a).to_owned()).collect(),
            trust: Some(trust.into()),
            ..Entity::default()
        }
    }

    const PUT: &str =
        r#"{"Statement":[{"Effect":"Allow","Action":"firehose:PutRecord*","Resource":"*"}]}"#;
    const EVENTS: &str = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[test]
    fn a_role_gets_its_inline_and_attached_statements_and_its_service() {
        let details = Details {
            roles: vec![role(
                "orders-events",
                EVENTS,
                &[PUT],
                &[
                    "arn:aws:iam::123456789012:policy/kms",
                    "arn:aws:iam::aws:policy/Gone",
                ],
            )],
            policies: HashMap::from([(
                "arn:aws:iam::123456789012:policy/kms".to_owned(),
                r#"{"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#
                    .to_owned(),
            )]),
            ..Details::default()
        };
        let p = &details.principals()[0];
        assert_eq!(p.kind, Kind::Role);
        assert_eq!(p.services, ["events.amazonaws.com"]);
        assert_eq!(p.described(), "EventBridge target role");
        assert_eq!(p.statements.len(), 2);
        assert_eq!(p.allows("firehose:PutRecordBatch").count(), 1);
        assert_eq!(p.unread.len(), 1, "the missing attached policy is said");
    }

    #[test]
    fn a_user_gets_its_groups_policies() {
        let details = Details {
            users: vec![Entity {
                name: "ci".into(),
                arn: "arn:aws:iam::123456789012:user/ci".into(),
                groups: vec!["writers".into()],
                ..Entity::default()
            }],
            groups: vec![Entity {
                name: "writers".into(),
                arn: "arn:aws:iam::123456789012:group/writers".into(),
                inline: vec![PolicyText {
                    name: "put".into(),
                    document: PUT.into(),
                }],
                ..Entity::default()
            }],
            ..Details::default()
        };
        let p = &details.principals()[0];
        assert_eq!((p.kind, p.short().as_str()), (Kind::User, "user/ci"));
        assert_eq!(p.allows("firehose:PutRecord").count(), 1);
        assert_eq!(p.described(), "user");
    }

    #[test]
    fn service_roles_are_named_by_their_trust() {
        assert_eq!(
            service_role("logs.eu-west-1.amazonaws.com"),
            Some("CloudWatch Logs subscription role")
        );
        assert_eq!(
            service_role("streams.metrics.cloudwatch.amazonaws.com"),
            Some("CloudWatch metric stream role")
        );
        assert_eq!(service_role("example.amazonaws.com"), None);
    }
}
