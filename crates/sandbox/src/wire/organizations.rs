//! Organizations on the wire (`AWSOrganizationsV20161128.*`, AWS JSON 1.1): `ListAccounts`,
//! its input checked against the Organizations model, its answer the model's
//! `ListAccountsResponse`. Organizations words the model's findings its own way: a broken
//! constraint is its modeled `InvalidInputException`, whose `Reason` names the kind
//! (`MAX_VALUE_EXCEEDED`, `MIN_VALUE_EXCEEDED`, `INVALID_PATTERN`, ...: the model's
//! `InvalidInputExceptionReason`); a value of the wrong JSON type is a `SerializationException`
//! as in every JSON 1.1 service.

use serde::{Deserialize, Serialize};

use super::model::{Model, Service};
use super::{Op, request, secs, to_bytes};
use crate::vocabulary::{ApiError, codes};
use crate::world::{Caller, World};

/// An Organizations request, read.
#[derive(Debug, Clone)]
pub enum Request {
    ListAccounts(ListAccountsRequest),
}

/// `ListAccountsRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAccountsRequest {
    #[serde(default)]
    next_token: Option<String>,
    #[serde(default)]
    max_results: Option<u64>,
}

impl Request {
    /// Reads `body` as the input of `op`, an Organizations operation.
    pub fn read(op: Op, body: &[u8]) -> Result<Request, ApiError> {
        let document = request::document(body)?;
        let found = Model::of(Service::Organizations).findings(op.name(), &document);
        if let Some(message) = found.wrong_type {
            return Err(ApiError::new(codes::SERIALIZATION, message));
        }
        if let (Some(message), Some(reason)) = (found.validation_message(), found.reasons.first()) {
            return Err(ApiError::invalid_input(reason, message));
        }
        Ok(Request::ListAccounts(request::typed(document)?))
    }

    /// Carries the request of `caller` (signed for `region`) out; the answer's body.
    pub fn execute(
        &self,
        world: &World,
        caller: &Caller,
        region: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let Request::ListAccounts(input) = self;
        let max = input.max_results.map(|n| n as usize);
        let page = world.list_accounts(caller, max, input.next_token.as_deref())?;
        let accounts = page
            .accounts
            .iter()
            .map(|a| AccountOutput {
                arn: world.account_arn(&a.id, region),
                id: &a.id,
                email: &a.email,
                name: &a.name,
                status: a.status.as_str(),
                state: a.status.as_str(),
                joined_method: a.joined_method.as_str(),
                joined_timestamp: secs(a.joined_at),
            })
            .collect();
        Ok(to_bytes(&ListAccountsResponse {
            accounts,
            next_token: page.next_token,
        }))
    }
}

/// `ListAccountsResponse` (`NextToken` only while more remain).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAccountsResponse<'a> {
    accounts: Vec<AccountOutput<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `Account`: its `Status` and `State` (the model keeps both while `Status` is retired).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AccountOutput<'a> {
    id: &'a str,
    arn: String,
    email: &'a str,
    name: &'a str,
    status: &'static str,
    state: &'static str,
    joined_method: &'static str,
    joined_timestamp: f64,
}
