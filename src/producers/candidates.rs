//! Who may write to which stream, on paper: the principals whose identity policies hold an
//! Allow for `firehose:PutRecord` or `firehose:PutRecordBatch` that reaches a stream's ARN
//! (action and resource wildcards). These are *candidates*; AWS's simulator decides.
//!
//! To keep the simulations few, a principal's candidate streams are grouped: two streams that
//! every one of the principal's put statements (Allow or Deny) matches alike — under both
//! readings of a resource wildcard, the segment-bound one and the loose one — get the same
//! answer from the simulator, so one of them (the group's first) is simulated for all. A
//! principal whose statements use policy variables (`${aws:username}`) or that has policies
//! the details did not hold is simulated stream by stream.

use std::collections::HashMap;

use super::policy::{Statement, arn_matches_loosely};
use super::principals::Principal;

/// The two actions a producer calls.
pub const PUT_ACTIONS: [&str; 2] = ["firehose:PutRecord", "firehose:PutRecordBatch"];

/// One principal's candidate streams (indices into the streams given), in groups that share a
/// simulation; each group's first stream is the one simulated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidacy {
    pub groups: Vec<Vec<usize>>,
}

impl Candidacy {
    /// The streams simulated for the principal.
    pub fn representatives(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().map(|g| g[0])
    }

    pub fn streams(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
}

fn about_puts(s: &Statement) -> bool {
    PUT_ACTIONS.iter().any(|a| s.covers_action(a))
}

/// The streams of `arns` that `principal` may write to, grouped; `None` when it may write to
/// none of them.
pub fn candidacy(principal: &Principal, arns: &[&str]) -> Option<Candidacy> {
    let statements: Vec<&Statement> = principal
        .statements
        .iter()
        .filter(|s| about_puts(s))
        .collect();
    let unread = !principal.unread.is_empty();
    let allows: Vec<&Statement> = statements
        .iter()
        .copied()
        .filter(|s| s.effect == super::policy::Effect::Allow)
        .collect();
    if allows.is_empty() && !unread {
        return None;
    }
    let variables = statements
        .iter()
        .any(|s| s.resources.patterns().iter().any(|p| p.contains("${")));
    let may_write = |arn: &str| {
        unread
            || allows
                .iter()
                .any(|s| s.covers_resource(arn) || loosely_covers(s, arn) || uses_variables(s))
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_signature: HashMap<Vec<(bool, bool)>, usize> = HashMap::new();
    for (i, arn) in arns.iter().enumerate() {
        if !may_write(arn) {
            continue;
        }
        if unread || variables {
            groups.push(vec![i]);
            continue;
        }
        let signature: Vec<(bool, bool)> = statements
            .iter()
            .map(|s| (s.covers_resource(arn), loosely_covers(s, arn)))
            .collect();
        match by_signature.get(&signature) {
            Some(&g) => groups[g].push(i),
            None => {
                by_signature.insert(signature, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    (!groups.is_empty()).then_some(Candidacy { groups })
}

fn uses_variables(s: &Statement) -> bool {
    s.resources.patterns().iter().any(|p| p.contains("${"))
}

/// The statement's resources under the loose reading of `*`.
fn loosely_covers(s: &Statement, arn: &str) -> bool {
    use super::policy::Patterns;
    match &s.resources {
        Patterns::Listed(p) => p.iter().any(|p| arn_matches_loosely(p, arn)),
        Patterns::AllBut(p) => !p.iter().any(|p| arn_matches_loosely(p, arn)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producers::policy::parse_document;
    use crate::producers::principals::Kind;

    fn principal(doc: &str) -> Principal {
        Principal {
            arn: "arn:aws:iam::123456789012:role/r".into(),
            name: "r".into(),
            kind: Kind::Role,
            services: Vec::new(),
            statements: parse_document(doc).unwrap(),
            unread: Vec::new(),
        }
    }

    fn arn(name: &str) -> String {
        format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}")
    }

    #[test]
    fn an_admin_is_a_candidate_everywhere_in_one_group() {
        let p = principal(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#);
        let arns: Vec<String> = (0..100).map(|i| arn(&format!("s{i}"))).collect();
        let refs: Vec<&str> = arns.iter().map(String::as_str).collect();
        let c = candidacy(&p, &refs).unwrap();
        assert_eq!(c.groups.len(), 1);
        assert_eq!(c.streams(), 100);
    }

    #[test]
    fn streams_a_statement_tells_apart_are_simulated_apart() {
        let p = principal(
            r#"{"Statement":[
              {"Effect":"Allow","Action":"firehose:PutRecord*","Resource":"arn:aws:firehose:*:*:deliverystream/orders-*"},
              {"Effect":"Deny","Action":"firehose:*","Resource":"arn:aws:firehose:*:*:deliverystream/orders-secret"}]}"#,
        );
        let arns = [
            arn("orders-a"),
            arn("orders-b"),
            arn("orders-secret"),
            arn("clicks"),
        ];
        let refs: Vec<&str> = arns.iter().map(String::as_str).collect();
        let c = candidacy(&p, &refs).unwrap();
        assert_eq!(c.groups, [vec![0, 1], vec![2]], "clicks is no candidate");
        assert_eq!(c.representatives().collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn a_principal_without_a_put_is_no_candidate() {
        let p = principal(
            r#"{"Statement":[{"Effect":"Allow","Action":["firehose:Describe*","s3:*"],"Resource":"*"}]}"#,
        );
        assert_eq!(candidacy(&p, &[arn("a").as_str()]), None);
        let deny_only = principal(
            r#"{"Statement":[{"Effect":"Deny","Action":"firehose:PutRecord","Resource":"*"}]}"#,
        );
        assert_eq!(candidacy(&deny_only, &[arn("a").as_str()]), None);
    }

    #[test]
    fn where_the_readings_of_a_wildcard_differ_the_stream_is_kept_apart() {
        // Strictly this * stays in the region segment and matches nothing; loosely it reaches
        // the whole ARN. The stream is a candidate, and not grouped with one both readings match.
        let p = principal(
            r#"{"Statement":[
              {"Effect":"Allow","Action":"firehose:PutRecord","Resource":"arn:aws:firehose:us*orders"},
              {"Effect":"Allow","Action":"firehose:PutRecord","Resource":"arn:aws:firehose:*:*:deliverystream/*"}]}"#,
        );
        let arns = [arn("orders"), arn("clicks")];
        let refs: Vec<&str> = arns.iter().map(String::as_str).collect();
        let c = candidacy(&p, &refs).unwrap();
        assert_eq!(c.groups, [vec![0], vec![1]]);
    }

    #[test]
    fn policy_variables_and_unread_policies_are_simulated_stream_by_stream() {
        let p = principal(
            r#"{"Statement":{"Effect":"Allow","Action":"firehose:PutRecord","Resource":"arn:aws:firehose:*:*:deliverystream/${aws:username}-*"}}"#,
        );
        let arns = [arn("a"), arn("b")];
        let refs: Vec<&str> = arns.iter().map(String::as_str).collect();
        assert_eq!(candidacy(&p, &refs).unwrap().groups, [vec![0], vec![1]]);
        let mut unread = principal(r#"{"Statement":[]}"#);
        unread
            .unread
            .push("attached policy x is not in the details".into());
        assert_eq!(
            candidacy(&unread, &refs).unwrap().groups,
            [vec![0], vec![1]]
        );
    }
}
