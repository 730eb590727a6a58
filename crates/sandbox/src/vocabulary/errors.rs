//! Error answers: a code (the `__type` of AWS JSON 1.1, e.g. `ResourceInUseException`) and a
//! message. The rules of the world return them; the wire renders them.

use std::borrow::Cow;

/// The error codes the sandbox answers with.
pub mod codes {
    // Firehose.
    pub const INVALID_ARGUMENT: &str = "InvalidArgumentException";
    pub const RESOURCE_IN_USE: &str = "ResourceInUseException";
    pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFoundException";
    pub const LIMIT_EXCEEDED: &str = "LimitExceededException";
    pub const INVALID_KMS_RESOURCE: &str = "InvalidKMSResourceException";
    // KMS.
    pub const KMS_NOT_FOUND: &str = "NotFoundException";
    pub const KMS_INVALID_STATE: &str = "KMSInvalidStateException";
    pub const ACCESS_DENIED: &str = "AccessDeniedException";
    // Common to every AWS JSON 1.1 service.
    pub const VALIDATION: &str = "ValidationException";
    pub const THROTTLING: &str = "ThrottlingException";
    pub const UNKNOWN_OPERATION: &str = "UnknownOperationException";
    pub const SERIALIZATION: &str = "SerializationException";
    pub const INTERNAL_FAILURE: &str = "InternalFailure";
    pub const EXPIRED_TOKEN: &str = "ExpiredTokenException";
    pub const UNRECOGNIZED_CLIENT: &str = "UnrecognizedClientException";
    // The query protocol's (STS).
    pub const EXPIRED_TOKEN_QUERY: &str = "ExpiredToken";
    pub const MISSING_AUTHENTICATION_TOKEN: &str = "MissingAuthenticationToken";
    pub const INVALID_CLIENT_TOKEN_ID: &str = "InvalidClientTokenId";
    pub const ACCESS_DENIED_QUERY: &str = "AccessDenied";
    pub const VALIDATION_QUERY: &str = "ValidationError";
    pub const MALFORMED_INPUT: &str = "MalformedInput";
    pub const THROTTLING_QUERY: &str = "Throttling";
    // Organizations.
    pub const INVALID_INPUT: &str = "InvalidInputException";
    pub const ORGANIZATIONS_NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";
    // IAM (the `error.code` of its exception shapes, with their HTTP statuses).
    pub const NO_SUCH_ENTITY: &str = "NoSuchEntity";
    pub const ENTITY_ALREADY_EXISTS: &str = "EntityAlreadyExists";
    pub const MALFORMED_POLICY_DOCUMENT: &str = "MalformedPolicyDocument";
    pub const IAM_INVALID_INPUT: &str = "InvalidInput";
    pub const IAM_LIMIT_EXCEEDED: &str = "LimitExceeded";
    // KMS's own.
    pub const KMS_MALFORMED_POLICY_DOCUMENT: &str = "MalformedPolicyDocumentException";
    // CloudWatch (the `error.code` of its error shapes: the query protocol's codes, and the
    // `x-amzn-query-error` codes of its JSON and CBOR answers).
    pub const CW_RESOURCE_NOT_FOUND: &str = "ResourceNotFound";
    pub const INVALID_NEXT_TOKEN: &str = "InvalidNextToken";
    pub const INVALID_FORMAT: &str = "InvalidFormat";
    pub const INVALID_PARAMETER_VALUE: &str = "InvalidParameterValue";
    pub const MISSING_PARAMETER: &str = "MissingParameter";
    pub const INVALID_PARAMETER_COMBINATION: &str = "InvalidParameterCombination";
    // Kinesis (its KMS errors are shapes of its own).
    pub const KINESIS_KMS_NOT_FOUND: &str = "KMSNotFoundException";
    pub const KINESIS_KMS_DISABLED: &str = "KMSDisabledException";
    // The Resource Groups Tagging API.
    pub const INVALID_PARAMETER: &str = "InvalidParameterException";
    pub const PAGINATION_TOKEN_EXPIRED: &str = "PaginationTokenExpiredException";
}

/// The error codes the KMS model marks as server faults (`"fault": true`): answered HTTP 500.
const KMS_FAULTS: [&str; 3] = [
    "DependencyTimeoutException",
    "KMSInternalException",
    "KeyUnavailableException",
];

/// An error answer: HTTP 400 (500 for `InternalFailure` and KMS's faults, 403 for expired
/// credentials — `ExpiredTokenException`, as AWS's Common Errors list it for every JSON service,
/// and the query protocol's `ExpiredToken` — and for the query protocol's other credential
/// errors and `AccessDenied`; IAM's `NoSuchEntity` and CloudWatch's `ResourceNotFound` 404, `EntityAlreadyExists` and
/// `LimitExceeded` 409, as its model's error shapes say) with `__type` = `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Cow<'static, str>,
    pub message: String,
    /// The `code` member of an `InvalidKMSResourceException`: the KMS error behind it.
    pub kms_code: Option<String>,
    /// The `Reason` member of Organizations' `InvalidInputException`.
    pub reason: Option<&'static str>,
}

impl ApiError {
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            kms_code: None,
            reason: None,
        }
    }

    /// Organizations' `InvalidInputException` with `Reason` = `reason`.
    pub fn invalid_input(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            reason: Some(reason),
            ..ApiError::new(codes::INVALID_INPUT, message)
        }
    }

    /// `InvalidKMSResourceException` for the KMS error `kms_code`.
    pub fn invalid_kms_resource(kms_code: &str, message: impl Into<String>) -> Self {
        ApiError {
            kms_code: Some(kms_code.to_owned()),
            ..ApiError::new(codes::INVALID_KMS_RESOURCE, message)
        }
    }

    /// Whether this is the error `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        if self.code == codes::INTERNAL_FAILURE || KMS_FAULTS.contains(&&*self.code) {
            500
        } else if self.code == codes::EXPIRED_TOKEN_QUERY
            || self.code == codes::EXPIRED_TOKEN
            || self.code == codes::MISSING_AUTHENTICATION_TOKEN
            || self.code == codes::UNRECOGNIZED_CLIENT
            || self.code == codes::INVALID_CLIENT_TOKEN_ID
            || self.code == codes::ACCESS_DENIED_QUERY
        {
            403
        } else if self.code == codes::NO_SUCH_ENTITY || self.code == codes::CW_RESOURCE_NOT_FOUND {
            404
        } else if self.code == codes::ENTITY_ALREADY_EXISTS
            || self.code == codes::IAM_LIMIT_EXCEEDED
        {
            409
        } else {
            400
        }
    }
}
