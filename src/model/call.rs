//! What a call to AWS is and what became of it, in the terms the engine decides on: the
//! [`Operation`]s this tool calls, the classes of a call that did not succeed ([`CallError`]),
//! and how the ledger records a Start's or a Stop's answer ([`AttemptOutcome`]). Plain data:
//! `cloud` classifies SDK errors into these, `pace` keys its limiters by operation, the engine
//! decides on them, and none of them needs the SDK, the pacer or the ledger to be named.

/// The control-plane operations we pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Describe,
    List,
    DescribeKey,
    Start,
    Stop,
    /// The producer check's reads (IAM, and KMS GetKeyPolicy), on a pacer of their own.
    IamRead,
    /// Kinesis `DescribeStreamSummary` of a stream's source (its own quota: 20 per second per
    /// account), on a pacer of its own.
    DescribeSource,
    /// The Tagging API's `GetResources` (who owns the streams), on the same side pacer.
    GetResources,
    /// A rollout's health gates: CloudWatch GetMetricData and DescribeAlarms.
    WatchRead,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Describe => "DescribeDeliveryStream",
            Operation::List => "ListDeliveryStreams",
            Operation::DescribeKey => "DescribeKey",
            Operation::Start => "StartDeliveryStreamEncryption",
            Operation::Stop => "StopDeliveryStreamEncryption",
            Operation::IamRead => "IAM",
            Operation::DescribeSource => "DescribeStreamSummary",
            Operation::GetResources => "GetResources",
            Operation::WatchRead => "CloudWatch",
        }
    }

    /// A call that changes a stream (and counts against its budget).
    pub fn is_write(self) -> bool {
        matches!(self, Operation::Start | Operation::Stop)
    }
}

/// What became of a call that did not succeed, in the terms the engine decides on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// `ThrottlingException`: over the per-second quota. Rejected at the front door.
    #[error("throttled: {0}")]
    Throttled(String),
    /// `LimitExceededException`: a stream budget or the per-key stream limit.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// `ResourceInUseException`: the stream is transitioning.
    #[error("stream in use: {0}")]
    InUse(String),
    /// `ResourceNotFoundException` (or KMS `NotFoundException`).
    #[error("not found: {0}")]
    NotFound(String),
    /// `InvalidKMSResourceException`: KMS refused Firehose the stream's key; `kms_code` is
    /// KMS's own error (AccessDeniedException, InvalidStateException, DisabledException,
    /// NotFoundException). A problem of this stream's key, not of the run.
    #[error("InvalidKMSResourceException ({kms_code}): {message}")]
    KmsRefused { kms_code: String, message: String },
    /// `InvalidArgumentException`, `ValidationException` and other refusals of the request
    /// itself: retrying cannot help.
    #[error("{code}: {message}")]
    Invalid { code: String, message: String },
    /// Access denied or credentials refused by the service.
    #[error("{code}: {message}")]
    Denied { code: String, message: String },
    /// No credentials could be found: nothing was sent.
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    /// Proven never sent (connection refused, DNS failure, request could not be built).
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request may have reached the service but no usable answer came back (timeout,
    /// dropped connection, HTTP 5xx, unparseable response): the outcome is unknown.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl CallError {
    /// Refused for the caller's IAM permissions (as opposed to credentials that are invalid
    /// or expired, which the service also refuses).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, CallError::Denied { code, .. } if code.starts_with("AccessDenied"))
    }

    /// Whether the request may have reached the service (and so spent budget).
    pub fn may_have_reached_service(&self) -> bool {
        !matches!(self, CallError::NoCredentials(_) | CallError::NotSent(_))
    }

    /// The AWS error code, for the ledger.
    pub fn code(&self) -> &str {
        match self {
            CallError::Throttled(_) => "ThrottlingException",
            CallError::LimitExceeded(_) => "LimitExceededException",
            CallError::InUse(_) => "ResourceInUseException",
            CallError::NotFound(_) => "ResourceNotFoundException",
            CallError::KmsRefused { .. } => "InvalidKMSResourceException",
            CallError::Invalid { code, .. } | CallError::Denied { code, .. } => code,
            CallError::NoCredentials(_) => "NoCredentials",
            CallError::NotSent(_) => "NotSent",
            CallError::Unknown(_) => "Unknown",
        }
    }

    pub fn message(&self) -> String {
        match self {
            CallError::Throttled(m)
            | CallError::LimitExceeded(m)
            | CallError::InUse(m)
            | CallError::NotFound(m)
            | CallError::NoCredentials(m)
            | CallError::NotSent(m)
            | CallError::Unknown(m) => m.clone(),
            CallError::Invalid { message, .. }
            | CallError::Denied { message, .. }
            | CallError::KmsRefused { message, .. } => message.clone(),
        }
    }
}

/// How the ledger records a Start's (or a Stop's) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The service accepted the call.
    Ok,
    /// The service answered with an error (throttles included): it reached the service.
    Rejected { code: String, message: String },
    /// No answer; the request may have reached the service.
    Unknown { message: String },
    /// Proven never to have left this machine.
    NotSent { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_access_denied_is_about_the_iam_policy() {
        let denied = |code: &str| CallError::Denied {
            code: code.into(),
            message: "m".into(),
        };
        assert!(denied("AccessDeniedException").is_access_denied());
        assert!(!denied("ExpiredTokenException").is_access_denied());
        assert!(!denied("UnrecognizedClientException").is_access_denied());
    }

    #[test]
    fn only_unsent_calls_spare_the_budget() {
        assert!(!CallError::NotSent("x".into()).may_have_reached_service());
        assert!(!CallError::NoCredentials("x".into()).may_have_reached_service());
        assert!(CallError::Unknown("x".into()).may_have_reached_service());
        assert!(CallError::Throttled("x".into()).may_have_reached_service());
    }
}
