//! Answers on the wire: a 200 with a JSON 1.1 body, or an error as AWS JSON 1.1 gives it
//! (`{"__type", "message"}`, header `x-amzn-ErrorType`, HTTP 400, 500 for `InternalFailure`),
//! each with an `x-amzn-RequestId`; and the plain JSON of the admin endpoint.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::vocabulary::{ApiError, codes};

pub const JSON_1_1: &str = "application/x-amz-json-1.1";
pub const REQUEST_ID: &str = "x-amzn-RequestId";
pub const ERROR_TYPE: &str = "x-amzn-ErrorType";

/// The body of an error answer.
#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    code: &'a str,
    message: &'a str,
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

/// An error answer: `{"__type", "message"}`, header `x-amzn-ErrorType`.
pub fn error(err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(&ErrorBody {
        code: err.code,
        message: &err.message,
    })
    .unwrap_or_default();
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = response(status, body, JSON_1_1, request_id);
    resp.headers_mut()
        .insert(ERROR_TYPE, HeaderValue::from_static(err.code));
    resp
}

/// The answer to a call.
pub fn reply(result: Result<Vec<u8>, ApiError>, request_id: &str) -> Response<Full<Bytes>> {
    match result {
        Ok(body) => ok(body, request_id),
        Err(e) => error(&e, request_id),
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

/// The error a throttled request gets.
pub fn throttled() -> ApiError {
    ApiError::new(codes::THROTTLING, "Rate exceeded")
}
