//! SimulatePrincipalPolicy: what the identity policies of a user (its groups' included), group
//! or role of the caller's account — plus the request's `PolicyInputList` — decide for each
//! action of `ActionNames`, on each resource of `ResourceArns` (default `*`), with the
//! request's `ContextEntries`, evaluated as `evaluate` says.
//!
//! As IAM's API reference now describes `EvaluationResult`, the answer holds one result per
//! action whatever the number of resources: its `EvalDecision` is the most restrictive of the
//! resources' decisions, its `MatchedStatements` and `MissingContextValues` the aggregate, and
//! `ResourceSpecificResults` the decision per resource (given only when `ResourceArns` is).
//! Results are paged by action, `MaxItems` (default 100) a page, with an opaque `Marker`.
//! `PermissionsBoundaryPolicyInputList`, `ResourcePolicy`, `ResourceOwner`, `CallerArn` and
//! `ResourceHandlingOption` are accepted and not read.

use super::authorize::{Actor, policies_of};
use super::details::{DEFAULT_ITEMS, marker_at, read_marker};
use super::evaluate::{Context, Decision, Source, SourceKind, evaluate};
use crate::vocabulary::policy::{PolicyDocument, PolicyKind, parse};
use crate::vocabulary::{ApiError, IamArn, IamKind, codes};
use crate::world::World;

/// What SimulatePrincipalPolicy asks.
#[derive(Debug, Clone)]
pub struct SimulationRequest<'a> {
    pub source_arn: &'a str,
    pub policy_inputs: &'a [String],
    pub actions: &'a [String],
    /// Empty: `*`.
    pub resources: &'a [String],
    pub context: Context,
    pub max_items: Option<usize>,
    pub marker: Option<&'a str>,
}

/// The decision on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceResult {
    pub resource: String,
    pub decision: Decision,
    pub matched: Vec<Source>,
    pub missing: Vec<String>,
}

/// The result for one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationResult {
    pub action: String,
    /// `EvalResourceName`: `*`, or the first resource asked about.
    pub resource: String,
    pub decision: Decision,
    /// The policies whose statements decide it, once each.
    pub matched: Vec<Source>,
    pub missing: Vec<String>,
    /// Per resource, when `ResourceArns` was given.
    pub per_resource: Vec<ResourceResult>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub results: Vec<SimulationResult>,
    pub marker: Option<String>,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(codes::IAM_INVALID_INPUT, message)
}

impl World {
    /// SimulatePrincipalPolicy by `actor`.
    pub fn simulate(
        &self,
        actor: &Actor,
        caller_arn: &str,
        request: &SimulationRequest<'_>,
    ) -> Result<Simulation, ApiError> {
        let arn = IamArn::parse(request.source_arn)
            .filter(|a| matches!(a.kind, IamKind::User | IamKind::Group | IamKind::Role))
            .ok_or_else(|| invalid(format!("Invalid Entity Arn: {}", request.source_arn)))?;
        self.authorize_iam(
            actor,
            caller_arn,
            "SimulatePrincipalPolicy",
            request.source_arn,
        )?;
        let no_such = || {
            ApiError::new(
                codes::NO_SUCH_ENTITY,
                format!(
                    "The {} with name {} cannot be found.",
                    arn.kind.as_str(),
                    arn.name
                ),
            )
        };
        let iam = self
            .iam(actor.account())
            .filter(|_| arn.account == actor.account())
            .ok_or_else(no_such)?;
        let mut policies =
            policies_of(iam, arn.kind, &arn.name, Some(&arn.path)).ok_or_else(no_such)?;
        let inputs: Vec<PolicyDocument> = request
            .policy_inputs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                parse(text, PolicyKind::Identity).map_err(|e| {
                    invalid(format!(
                        "Invalid policy document in PolicyInputList.{}: {e}",
                        i + 1
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        for (i, doc) in inputs.iter().enumerate() {
            let source = Source {
                id: format!("PolicyInputList.{}", i + 1),
                kind: SourceKind::None,
            };
            policies.push((source, doc));
        }
        let start = match request.marker {
            None => 0,
            Some(m) => read_marker(m)
                .filter(|&at| at <= request.actions.len())
                .ok_or_else(|| invalid("Invalid Marker.".to_owned()))?,
        };
        let end = (start + request.max_items.unwrap_or(DEFAULT_ITEMS)).min(request.actions.len());
        let results = request.actions[start..end]
            .iter()
            .map(|action| simulate_action(&policies, action, request))
            .collect();
        Ok(Simulation {
            results,
            marker: (end < request.actions.len()).then(|| marker_at(end)),
        })
    }
}

/// The result for `action`.
fn simulate_action(
    policies: &[(Source, &PolicyDocument)],
    action: &str,
    request: &SimulationRequest<'_>,
) -> SimulationResult {
    let docs: Vec<&PolicyDocument> = policies.iter().map(|(_, d)| *d).collect();
    let decide = |resource: &str| {
        let outcome = evaluate(&docs, action, resource, &request.context);
        let mut matched: Vec<Source> = Vec::new();
        for (pi, _) in &outcome.matched {
            let source = &policies[*pi].0;
            if !matched.contains(source) {
                matched.push(source.clone());
            }
        }
        ResourceResult {
            resource: resource.to_owned(),
            decision: outcome.decision,
            matched,
            missing: outcome.missing.into_iter().collect(),
        }
    };
    if request.resources.is_empty() {
        let all = decide("*");
        return SimulationResult {
            action: action.to_owned(),
            resource: all.resource,
            decision: all.decision,
            matched: all.matched,
            missing: all.missing,
            per_resource: Vec::new(),
        };
    }
    let per_resource: Vec<ResourceResult> = request.resources.iter().map(|r| decide(r)).collect();
    let decision = per_resource
        .iter()
        .map(|r| r.decision)
        .max()
        .unwrap_or(Decision::ImplicitDeny);
    let mut matched: Vec<Source> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for r in &per_resource {
        if r.decision == decision {
            for s in &r.matched {
                if !matched.contains(s) {
                    matched.push(s.clone());
                }
            }
        }
        for m in &r.missing {
            if !missing.contains(m) {
                missing.push(m.clone());
            }
        }
    }
    missing.sort();
    SimulationResult {
        action: action.to_owned(),
        resource: request.resources[0].clone(),
        decision,
        matched,
        missing,
        per_resource,
    }
}
