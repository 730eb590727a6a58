//! What to do about an `ENABLING_FAILED`: the failure type (`DeliveryStreamFailureType`) decides
//! whether a retry can help, and what the operator should be told (the table of
//! docs/design.md#failure-classes).

/// The class of a failure type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The key or its policy must be fixed by an operator; retrying cannot help.
    NeedsOperator,
    /// May succeed when tried again (with fresh credentials), within budget.
    Transient,
    /// About retiring the grant on the old key: the new key may well be in force.
    OldKey,
    /// Not about encryption (networking of the destination): reported only.
    NotSse,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::NeedsOperator => "needs_operator",
            FailureClass::Transient => "transient",
            FailureClass::OldKey => "old_key",
            FailureClass::NotSse => "not_sse",
        }
    }
}

/// Classifies a failure type; unknown future values need an operator (and keep their text).
pub fn classify(kind: &str) -> FailureClass {
    match kind {
        "CREATE_KMS_GRANT_FAILED" | "UNKNOWN_ERROR" => FailureClass::Transient,
        "RETIRE_KMS_GRANT_FAILED" => FailureClass::OldKey,
        k if k.contains("_ENI_")
            || k.starts_with("ENI_")
            || k.starts_with("SUBNET_")
            || k.starts_with("SECURITY_GROUP_")
            || k.starts_with("VPC_") =>
        {
            FailureClass::NotSse
        }
        _ => FailureClass::NeedsOperator,
    }
}

/// What the operator should do about a failure type.
pub fn hint(kind: &str) -> &'static str {
    match kind {
        "KMS_ACCESS_DENIED" => {
            "the key policy must allow the Firehose service (and the caller) kms:Encrypt, kms:Decrypt and kms:CreateGrant; fix the policy, then run again"
        }
        "DISABLED_KMS_KEY" => {
            "the key is disabled: enable it (kms enable-key) or choose another key"
        }
        "INVALID_KMS_KEY" => "Firehose needs a symmetric ENCRYPT_DECRYPT key: choose another key",
        "KMS_KEY_NOT_FOUND" => {
            "the key does not exist (or is in another account/region): check the key ARN"
        }
        "KMS_OPT_IN_REQUIRED" => "the account must opt in to KMS in this region",
        "CREATE_KMS_GRANT_FAILED" => {
            "KMS refused the grant; often credentials older than 6 h (use refreshing credentials) or a key policy without kms:CreateGrant"
        }
        "RETIRE_KMS_GRANT_FAILED" => {
            "the grant on the previous key could not be retired: check the stream's key and retire the old grant by hand"
        }
        "UNKNOWN_ERROR" => "Firehose reported an unknown error; run again later",
        k if classify(k) == FailureClass::NotSse => {
            "a networking problem of the stream's destination, not of encryption"
        }
        _ => "an unrecognised failure type: see the details",
    }
}

/// What to do when KMS refused Firehose the key at Start (`InvalidKMSResourceException`), by
/// KMS's own error code: the same fixes as the failure types they correspond to.
pub fn kms_refusal_hint(kms_code: &str) -> &'static str {
    let kind = match kms_code.trim_start_matches("KMS.") {
        "AccessDeniedException" => "KMS_ACCESS_DENIED",
        "DisabledException" => "DISABLED_KMS_KEY",
        "NotFoundException" => "KMS_KEY_NOT_FOUND",
        "InvalidStateException" | "KMSInvalidStateException" => {
            return "the key is not in a usable state (pending deletion, pending import, or unavailable): fix the key or choose another, then run again";
        }
        _ => {
            return "KMS refused the key: see the details, fix the key or its policy, then run again";
        }
    };
    hint(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for k in [
            "KMS_ACCESS_DENIED",
            "DISABLED_KMS_KEY",
            "INVALID_KMS_KEY",
            "KMS_KEY_NOT_FOUND",
            "KMS_OPT_IN_REQUIRED",
        ] {
            assert_eq!(classify(k), FailureClass::NeedsOperator, "{k}");
        }
        assert_eq!(classify("CREATE_KMS_GRANT_FAILED"), FailureClass::Transient);
        assert_eq!(classify("UNKNOWN_ERROR"), FailureClass::Transient);
        assert_eq!(classify("RETIRE_KMS_GRANT_FAILED"), FailureClass::OldKey);
        for k in [
            "ENI_ACCESS_DENIED",
            "CREATE_ENI_FAILED",
            "DELETE_ENI_FAILED",
            "SUBNET_NOT_FOUND",
            "SECURITY_GROUP_ACCESS_DENIED",
            "VPC_INTERFACE_ENDPOINT_SERVICE_ACCESS_DENIED",
        ] {
            assert_eq!(classify(k), FailureClass::NotSse, "{k}");
        }
        assert_eq!(
            classify("SOMETHING_NEW_IN_2027"),
            FailureClass::NeedsOperator
        );
    }

    #[test]
    fn kms_refusals_get_the_hint_of_their_failure_type() {
        assert_eq!(
            kms_refusal_hint("AccessDeniedException"),
            hint("KMS_ACCESS_DENIED")
        );
        assert_eq!(
            kms_refusal_hint("DisabledException"),
            hint("DISABLED_KMS_KEY")
        );
        assert_eq!(
            kms_refusal_hint("NotFoundException"),
            hint("KMS_KEY_NOT_FOUND")
        );
        assert!(kms_refusal_hint("InvalidStateException").contains("pending deletion"));
        assert!(kms_refusal_hint("Other").contains("KMS refused"));
    }

    #[test]
    fn hints_name_the_fix() {
        assert!(hint("KMS_ACCESS_DENIED").contains("kms:CreateGrant"));
        assert!(hint("KMS_ACCESS_DENIED").contains("kms:Encrypt"));
        assert!(hint("CREATE_KMS_GRANT_FAILED").contains("6 h"));
    }
}
