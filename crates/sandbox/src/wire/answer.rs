//! Answers on the wire: a 200 with a JSON 1.1 body, or an error as AWS JSON 1.1 gives it
//! (`{"__type", "message"}`, plus the modeled `code` member of `InvalidKMSResourceException`;
//! Organizations' `{"__type", "Message"}`, plus `Reason` of its `InvalidInputException`;
//! header `x-amzn-ErrorType`, HTTP 400, 500 for `InternalFailure`); the query protocol's XML
//! answers and `ErrorResponse`s (STS, IAM, each in its namespace); each with an
//! `x-amzn-RequestId`; and the plain JSON of the admin endpoint.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

use super::Protocol;
use super::xml;
use crate::vocabulary::{ApiError, codes};

pub const JSON_1_1: &str = "application/x-amz-json-1.1";
pub const XML: &str = "text/xml";
pub const REQUEST_ID: &str = "x-amzn-RequestId";
pub const ERROR_TYPE: &str = "x-amzn-ErrorType";

/// The body of an error answer.
#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    code: &'a str,
    /// `InvalidKMSResourceException`'s `code`: the KMS error behind it.
    #[serde(rename = "code", skip_serializing_if = "Option::is_none")]
    kms_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    /// Organizations' spelling of the message member.
    #[serde(rename = "Message", skip_serializing_if = "Option::is_none")]
    capital_message: Option<&'a str>,
    /// Organizations' `InvalidInputException.Reason`.
    #[serde(rename = "Reason", skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn response(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, id);
    }
    resp
}

/// A 200 answer with a JSON 1.1 body.
pub fn ok(body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    response(StatusCode::OK, body, JSON_1_1, request_id)
}

/// An error answer in `protocol`: JSON `{"__type", "message"}` with header
/// `x-amzn-ErrorType`, or the query protocol's `ErrorResponse`.
pub fn error_in(protocol: Protocol, err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let Protocol::Query(service) = protocol {
        let body = xml::error_body(service.namespace(), err, request_id);
        return response(status, body, XML, request_id);
    }
    let capital = protocol == Protocol::JsonCapitalMessage;
    let body = serde_json::to_vec(&ErrorBody {
        code: &err.code,
        kms_code: err.kms_code.as_deref(),
        message: (!capital).then_some(err.message.as_str()),
        capital_message: capital.then_some(err.message.as_str()),
        reason: err.reason,
    })
    .unwrap_or_default();
    let mut resp = response(status, body, JSON_1_1, request_id);
    if let Ok(code) = HeaderValue::from_str(&err.code) {
        resp.headers_mut().insert(ERROR_TYPE, code);
    }
    resp
}

/// A JSON 1.1 error answer.
pub fn error(err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    error_in(Protocol::Json, err, request_id)
}

/// The answer to a call in `protocol`.
pub fn reply(
    protocol: Protocol,
    result: Result<Vec<u8>, ApiError>,
    request_id: &str,
) -> Response<Full<Bytes>> {
    match (result, protocol) {
        (Ok(body), Protocol::Json | Protocol::JsonCapitalMessage) => ok(body, request_id),
        (Ok(body), Protocol::Query(_)) => response(StatusCode::OK, body, XML, request_id),
        (Err(e), _) => error_in(protocol, &e, request_id),
    }
}

/// A plain JSON answer (the admin endpoint).
pub fn admin_json(body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    response(StatusCode::OK, body, "application/json", request_id)
}

/// The error a faulted request gets.
pub fn internal_failure() -> ApiError {
    ApiError::new(
        codes::INTERNAL_FAILURE,
        "We encountered an internal error. Please try again. (sandbox fault injection)",
    )
}

/// The error a throttled request gets: `ThrottlingException` in JSON 1.1, `Throttling` in the
/// query protocol (IAM's answer to a rate it does not take), "Rate exceeded".
pub fn throttled(protocol: Protocol) -> ApiError {
    let code = match protocol {
        Protocol::Json | Protocol::JsonCapitalMessage => codes::THROTTLING,
        Protocol::Query(_) => codes::THROTTLING_QUERY,
    };
    ApiError::new(code, "Rate exceeded")
}

/// The error a request signed with expired credentials gets (HTTP 403): `ExpiredTokenException`
/// in JSON 1.1 (AWS's Common Errors), `ExpiredToken` in the query protocol (STS).
pub fn expired(protocol: Protocol) -> ApiError {
    let code = match protocol {
        Protocol::Json | Protocol::JsonCapitalMessage => codes::EXPIRED_TOKEN,
        Protocol::Query(_) => codes::EXPIRED_TOKEN_QUERY,
    };
    ApiError::new(
        code,
        "The security token included in the request is expired",
    )
}
