//! What a call that did not succeed became: every SDK error classified into [`CallError`], by
//! its type as AWS names it (the `x-amzn-ErrorType` header, else `__type`), its HTTP status and
//! whether the request can have left, so no other module matches on SDK types. The classes
//! themselves are plain data in [`crate::model::call`], where the engine takes them from.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use crate::model::CallError;

/// Classifies any SDK error. Generic so that every operation's error type goes through the
/// same rules.
pub(super) fn classify<E>(err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> CallError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let chain = with_tls_hint(error_chain(&err));
    match &err {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let status = raw.status().as_u16();
            let body = raw.body().bytes().unwrap_or_default();
            let header = raw.headers().get("x-amzn-errortype");
            let code =
                error_type(header, body).unwrap_or_else(|| err.code().unwrap_or("").to_owned());
            let message = err.message().unwrap_or("").to_owned();
            let message = if message.is_empty() {
                chain.clone()
            } else {
                message
            };
            if code == "InvalidKMSResourceException" {
                let kms_code = body_string(body, "code").unwrap_or_else(|| "unknown".into());
                return CallError::KmsRefused { kms_code, message };
            }
            classify_code(status, &code, message)
        }
        SdkError::ConstructionFailure(_) => {
            if chain.contains("credentials") || chain.contains("Credentials") {
                CallError::NoCredentials(chain)
            } else {
                CallError::NotSent(chain)
            }
        }
        SdkError::DispatchFailure(dispatch) => {
            if is_credentials_error(&err) {
                CallError::NoCredentials(chain)
            } else if never_left(&err) || dispatch.is_user() {
                CallError::NotSent(chain)
            } else {
                CallError::Unknown(chain)
            }
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            CallError::Unknown(format!("HTTP {status}, unreadable response: {chain}"))
        }
        _ => CallError::Unknown(chain),
    }
}

/// The error's type as AWS names it: the `x-amzn-ErrorType` header, else the body's `__type`,
/// without a namespace (`...#`) or a suffix (`:...`). Not the SDK's `code()`: its JSON error
/// parser lets a body member named `code` win over both, and `InvalidKMSResourceException`
/// carries KMS's own error in such a member — read that way, a problem with one stream's key
/// would look like a run-wide "access denied" or a missing stream
/// (docs/design.md#errors-read-by-their-type).
fn error_type(header: Option<&str>, body: &[u8]) -> Option<String> {
    let text = header
        .map(str::to_owned)
        .or_else(|| body_string(body, "__type"))?;
    let text = text.split(':').next().unwrap_or_default();
    let text = text.rsplit('#').next().unwrap_or_default().trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A string member of a JSON error body.
fn body_string(body: &[u8], member: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get(member)?.as_str().map(str::to_owned)
}

/// "Rate exceeded" and "slow down" are how AWS words a throttle, whatever code it comes with
/// (a `LimitExceededException` worded so is a rate limit, not a budget or a key limit).
fn worded_as_throttle(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("rate exceeded") || lower.contains("slow down")
}

fn classify_code(status: u16, code: &str, message: String) -> CallError {
    if status < 500 && worded_as_throttle(&message) {
        // The ledger keeps what the service said, code included.
        return CallError::Throttled(match code {
            "" | "ThrottlingException" | "Throttling" => message,
            code => format!("{code}: {message}"),
        });
    }
    match code {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => CallError::Throttled(message),
        "LimitExceededException" => CallError::LimitExceeded(message),
        "ResourceInUseException" => CallError::InUse(message),
        "ResourceNotFoundException" | "NotFoundException" => CallError::NotFound(message),
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => CallError::Denied {
            code: code.to_owned(),
            message,
        },
        _ if status >= 500 || status == 0 => CallError::Unknown(if code.is_empty() {
            format!("HTTP {status}: {message}")
        } else {
            format!("HTTP {status} {code}: {message}")
        }),
        "" => CallError::Unknown(format!("HTTP {status} without an error code: {message}")),
        _ => CallError::Invalid {
            code: code.to_owned(),
            message,
        },
    }
}

/// The error and its sources on one line.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}

fn sources<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

fn is_credentials_error(err: &(dyn StdError + 'static)) -> bool {
    sources(err).any(|e| {
        e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
    })
}

/// A connection that was never made: the request cannot have been sent.
fn never_left(err: &(dyn StdError + 'static)) -> bool {
    sources(err).any(|e| {
        e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(|h| h.is_connect())
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
                )
            })
    })
}
fn with_tls_hint(chain: String) -> String {
    if chain.contains("invalid peer certificate") || chain.contains("UnknownIssuer") {
        format!(
            "{chain} (the endpoint's certificate is not trusted: behind a TLS-inspecting proxy, \
             pass its root certificate with --ca-bundle FILE or AWS_CA_BUNDLE)"
        )
    } else {
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        let m = || "m".to_owned();
        assert!(matches!(
            classify_code(400, "ThrottlingException", m()),
            CallError::Throttled(_)
        ));
        assert!(matches!(
            classify_code(400, "LimitExceededException", m()),
            CallError::LimitExceeded(_)
        ));
        assert!(matches!(
            classify_code(400, "ResourceInUseException", m()),
            CallError::InUse(_)
        ));
        assert!(matches!(
            classify_code(400, "ResourceNotFoundException", m()),
            CallError::NotFound(_)
        ));
        assert!(matches!(
            classify_code(400, "NotFoundException", m()),
            CallError::NotFound(_)
        ));
        assert!(matches!(
            classify_code(400, "InvalidKMSResourceException", m()),
            CallError::Invalid { code, .. } if code == "InvalidKMSResourceException"
        ));
        assert!(matches!(
            classify_code(400, "AccessDeniedException", m()),
            CallError::Denied { .. }
        ));
        assert!(matches!(
            classify_code(500, "InternalFailure", m()),
            CallError::Unknown(_)
        ));
        assert!(matches!(classify_code(503, "", m()), CallError::Unknown(_)));
        assert!(matches!(classify_code(400, "", m()), CallError::Unknown(_)));
        assert!(matches!(
            classify_code(400, "SomethingNew", m()),
            CallError::Invalid { .. }
        ));
    }

    /// A 400 answer as the SDK hands it over: its own reading of the code (`sdk_code`, which
    /// lets a body `code` member win) and the raw response.
    fn answered(
        sdk_code: &str,
        header: Option<&str>,
        body: &str,
    ) -> SdkError<
        aws_sdk_firehose::operation::start_delivery_stream_encryption::StartDeliveryStreamEncryptionError,
        aws_smithy_runtime_api::http::Response,
    >{
        use aws_sdk_firehose::operation::start_delivery_stream_encryption::StartDeliveryStreamEncryptionError;
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(sdk_code)
            .message("the grant for the CMK could not be created")
            .build();
        let mut raw = aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(body.to_owned()),
        );
        if let Some(h) = header {
            raw.headers_mut().insert("x-amzn-ErrorType", h.to_owned());
        }
        SdkError::service_error(StartDeliveryStreamEncryptionError::generic(meta), raw)
    }

    #[test]
    fn a_kms_refusal_is_read_by_its_type_not_by_the_kms_code_in_its_body() {
        // The body carries KMS's code in `code`, which the SDK's parser lets win.
        let body = r#"{"__type":"InvalidKMSResourceException","code":"AccessDeniedException","message":"m"}"#;
        for header in [None, Some("InvalidKMSResourceException")] {
            match classify(answered("AccessDeniedException", header, body)) {
                CallError::KmsRefused { kms_code, .. } => {
                    assert_eq!(kms_code, "AccessDeniedException")
                }
                other => panic!("{header:?}: {other:?}"),
            }
        }
        let body = r#"{"__type":"InvalidKMSResourceException","code":"NotFoundException"}"#;
        assert!(matches!(
            classify(answered("NotFoundException", None, body)),
            CallError::KmsRefused { kms_code, .. } if kms_code == "NotFoundException"
        ));
        // A namespaced type with a suffix, and the header winning over the body.
        let body = r#"{"__type":"com.amazonaws.firehose#ResourceInUseException:http://x/"}"#;
        assert!(matches!(
            classify(answered("ResourceInUseException", None, body)),
            CallError::InUse(_)
        ));
        assert!(matches!(
            classify(answered("X", Some("ResourceNotFoundException"), "{}")),
            CallError::NotFound(_)
        ));
        // No type anywhere: the SDK's reading stands.
        assert!(matches!(
            classify(answered("LimitExceededException", None, "not json")),
            CallError::LimitExceeded(_)
        ));
    }

    #[test]
    fn rate_wording_is_a_throttle_whatever_the_code() {
        assert_eq!(
            classify_code(400, "LimitExceededException", "Rate exceeded".into()),
            CallError::Throttled("LimitExceededException: Rate exceeded".into())
        );
        assert!(matches!(
            classify_code(400, "SomethingNew", "Please slow down.".into()),
            CallError::Throttled(_)
        ));
        assert!(matches!(
            classify_code(
                400,
                "LimitExceededException",
                "budget of 25 calls spent".into()
            ),
            CallError::LimitExceeded(_)
        ));
    }
}
