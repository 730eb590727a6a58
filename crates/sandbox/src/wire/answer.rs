//! Answers on the wire: a 200 with a JSON 1.1 body, or an error as AWS JSON 1.1 gives it
//! (`{"__type", "message"}`, plus the modeled `code` member of `InvalidKMSResourceException`;
//! Organizations' `{"__type", "Message"}`, plus `Reason` of its `InvalidInputException`;
//! header `x-amzn-ErrorType`, HTTP 400, 500 for `InternalFailure`); the query protocol's XML
//! answers and `ErrorResponse`s (STS, IAM, CloudWatch, each in its namespace); CloudWatch's
//! AWS JSON 1.0 and Smithy RPC v2 CBOR answers (errors with `__type` naming the error shape and
//! `x-amzn-query-error: <query code>;Sender`, as its `awsQueryCompatible` model has them; CBOR
//! answers with `smithy-protocol: rpc-v2-cbor`, an operation without output an empty body
//! without `Content-Type`); each with an `x-amzn-RequestId`; and the plain JSON of the admin
//! endpoint.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

use super::Protocol;
use super::out::Out;
use super::xml;
use crate::vocabulary::{ApiError, codes};

pub const JSON_1_1: &str = "application/x-amz-json-1.1";
pub const JSON_1_0: &str = "application/x-amz-json-1.0";
pub const CBOR: &str = "application/cbor";
pub const SMITHY_PROTOCOL: &str = "smithy-protocol";
pub const RPC_V2_CBOR: &str = "rpc-v2-cbor";
pub const QUERY_ERROR: &str = "x-amzn-query-error";
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

/// The error shape of a CloudWatch error code (the query protocol's), as `__type` names it in
/// JSON and CBOR.
fn cloudwatch_shape(code: &str) -> Option<String> {
    let shape = match code {
        codes::CW_RESOURCE_NOT_FOUND => "ResourceNotFound",
        codes::INVALID_NEXT_TOKEN => "InvalidNextToken",
        codes::INVALID_FORMAT => "InvalidFormatFault",
        codes::INVALID_PARAMETER_VALUE => "InvalidParameterValueException",
        codes::MISSING_PARAMETER => "MissingRequiredParameterException",
        codes::INVALID_PARAMETER_COMBINATION => "InvalidParameterCombinationException",
        "LimitExceeded" => "LimitExceededFault",
        "InternalServiceError" => "InternalServiceFault",
        // Not a CloudWatch shape: the common error.
        codes::VALIDATION_QUERY => return Some(codes::VALIDATION.to_owned()),
        _ => return None,
    };
    Some(format!("{}#{shape}", super::cloudwatch::SHAPE_NAMESPACE))
}

/// A CloudWatch error in AWS JSON 1.0 or CBOR.
fn query_compatible_error(
    protocol: Protocol,
    status: StatusCode,
    err: &ApiError,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let shape = cloudwatch_shape(&err.code);
    let kind = shape.as_deref().unwrap_or(&err.code);
    let fields = vec![
        ("__type".to_owned(), Out::str(kind)),
        ("message".to_owned(), Out::str(&err.message)),
    ];
    let out = Out::Struct(fields);
    let mut resp = if protocol == Protocol::Cbor {
        let mut resp = response(status, super::cbor::encode(&out), CBOR, request_id);
        resp.headers_mut()
            .insert(SMITHY_PROTOCOL, HeaderValue::from_static(RPC_V2_CBOR));
        resp
    } else {
        let body = serde_json::to_vec(&out.to_json()).unwrap_or_default();
        let mut resp = response(status, body, JSON_1_0, request_id);
        if let Ok(code) = HeaderValue::from_str(kind) {
            resp.headers_mut().insert(ERROR_TYPE, code);
        }
        resp
    };
    if shape.is_some() {
        let fault = if err.status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        };
        if let Ok(value) = HeaderValue::from_str(&format!("{};{fault}", err.code)) {
            resp.headers_mut().insert(QUERY_ERROR, value);
        }
    }
    resp
}

/// An error answer in `protocol`: JSON `{"__type", "message"}` with header
/// `x-amzn-ErrorType`, or the query protocol's `ErrorResponse`.
pub fn error_in(protocol: Protocol, err: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let Protocol::Query(service) = protocol {
        let body = xml::error_body(service.namespace(), err, request_id);
        return response(status, body, XML, request_id);
    }
    if matches!(protocol, Protocol::Json10 | Protocol::Cbor) {
        return query_compatible_error(protocol, status, err, request_id);
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
        (Ok(body), Protocol::Json10) => response(StatusCode::OK, body, JSON_1_0, request_id),
        (Ok(body), Protocol::Cbor) => {
            let empty = body.is_empty();
            let mut resp = response(StatusCode::OK, body, CBOR, request_id);
            let headers = resp.headers_mut();
            headers.insert(SMITHY_PROTOCOL, HeaderValue::from_static(RPC_V2_CBOR));
            if empty {
                headers.remove(CONTENT_TYPE);
            }
            resp
        }
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
        Protocol::Json | Protocol::JsonCapitalMessage | Protocol::Json10 | Protocol::Cbor => {
            codes::THROTTLING
        }
        Protocol::Query(_) => codes::THROTTLING_QUERY,
    };
    ApiError::new(code, "Rate exceeded")
}

/// The error a request signed with credentials the Region's partition does not know gets (HTTP
/// 403): `UnrecognizedClientException` in JSON (as `expired` answers the JSON protocols
/// alike), `InvalidClientTokenId` in the query
/// protocol (AWS's Common Errors: "The X.509 certificate or AWS access key ID provided does not
/// exist in our records"); the message is the one AWS is commonly reported to give
/// (unconfirmed).
pub fn unrecognized(protocol: Protocol) -> ApiError {
    let code = match protocol {
        Protocol::Json | Protocol::JsonCapitalMessage | Protocol::Json10 | Protocol::Cbor => {
            codes::UNRECOGNIZED_CLIENT
        }
        Protocol::Query(_) => codes::INVALID_CLIENT_TOKEN_ID,
    };
    ApiError::new(
        code,
        "The security token included in the request is invalid.",
    )
}

/// The error a request signed with expired credentials gets (HTTP 403): `ExpiredTokenException`
/// in JSON 1.1 (AWS's Common Errors), `ExpiredToken` in the query protocol (STS).
pub fn expired(protocol: Protocol) -> ApiError {
    let code = match protocol {
        Protocol::Json | Protocol::JsonCapitalMessage | Protocol::Json10 | Protocol::Cbor => {
            codes::EXPIRED_TOKEN
        }
        Protocol::Query(_) => codes::EXPIRED_TOKEN_QUERY,
    };
    ApiError::new(
        code,
        "The security token included in the request is expired",
    )
}
