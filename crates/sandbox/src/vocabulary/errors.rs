//! Error answers: a code (the `__type` of AWS JSON 1.1, e.g. `ResourceInUseException`) and a
//! message. The rules of the world return them; the wire renders them.

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
    pub const KMS_VALIDATION: &str = "ValidationException";
    pub const KMS_INVALID_STATE: &str = "KMSInvalidStateException";
    // Common to every AWS JSON 1.1 service.
    pub const THROTTLING: &str = "ThrottlingException";
    pub const UNKNOWN_OPERATION: &str = "UnknownOperationException";
    pub const SERIALIZATION: &str = "SerializationException";
    pub const INTERNAL_FAILURE: &str = "InternalFailure";
}

/// An error answer: HTTP 400 (500 for `InternalFailure`) with `__type` = `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        if self.code == codes::INTERNAL_FAILURE {
            500
        } else {
            400
        }
    }
}
