//! The API's enums as the sandbox serves them: each value spelled as the service models spell
//! it, parsed exactly (the wire is case-sensitive).

/// Defines an enum of API values with `ALL`, `as_str` and an exact `parse`.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            /// Every value, in the order messages list them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value as the API spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value spelled exactly so; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// Every value's spelling, joined with `, ` (for messages).
            pub fn list() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

api_enum!(
    /// `DeliveryStreamType`: only `DirectPut` streams can be encrypted.
    StreamType {
        DirectPut => "DirectPut",
        KinesisStreamAsSource => "KinesisStreamAsSource",
        MskAsSource => "MSKAsSource",
        DatabaseAsSource => "DatabaseAsSource",
    }
);

api_enum!(
    /// `DeliveryStreamStatus`.
    StreamStatus {
        Active => "ACTIVE",
        Creating => "CREATING",
        Deleting => "DELETING",
        CreatingFailed => "CREATING_FAILED",
        DeletingFailed => "DELETING_FAILED",
    }
);

api_enum!(
    /// `DeliveryStreamEncryptionStatus` (`DISABLING_FAILED` only as a fleet file seeds it).
    EncStatus {
        Enabled => "ENABLED",
        Enabling => "ENABLING",
        EnablingFailed => "ENABLING_FAILED",
        Disabled => "DISABLED",
        Disabling => "DISABLING",
        DisablingFailed => "DISABLING_FAILED",
    }
);

/// The encryption statuses a fleet file may give a stream: the ones with a key shown.
pub const SEEDABLE_ENC_STATUSES: &[EncStatus] = &[
    EncStatus::Enabled,
    EncStatus::EnablingFailed,
    EncStatus::Disabling,
    EncStatus::DisablingFailed,
];

api_enum!(
    /// KMS `KeyManagerType`: who manages a key.
    KeyManager {
        Aws => "AWS",
        Customer => "CUSTOMER",
    }
);

api_enum!(
    /// Where Describe shows the `FailureDescription` of an `ENABLING_FAILED` (or
    /// `DISABLING_FAILED`) stream: inside `DeliveryStreamEncryptionConfiguration`, only as the
    /// stream's own `FailureDescription`, or nowhere. Not an API value: a fleet file's.
    FailurePlace {
        Encryption => "encryption",
        Stream => "stream",
        Nowhere => "none",
    }
);

api_enum!(
    /// `KeyType` of `DeliveryStreamEncryptionConfiguration(Input)`.
    KeyType {
        AwsOwned => "AWS_OWNED_CMK",
        CustomerManaged => "CUSTOMER_MANAGED_CMK",
    }
);

/// The `DeliveryStreamStatus` values a fleet file may give a stream: all of them.
pub const SEEDABLE_STREAM_STATUSES: &[StreamStatus] = StreamStatus::ALL;

/// KMS `KeySpec` (shape `KeySpec` of the KMS model).
pub const KEY_SPECS: [&str; 20] = [
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
];

/// KMS `KeyUsage` (shape `KeyUsageType`).
pub const KEY_USAGES: [&str; 5] = [
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
];

/// The KMS `KeyState` values a key may have in the sandbox: the KMS model's eight. Only
/// `Enabled` may be used; a Start towards a key in any other state ends `ENABLING_FAILED`
/// `DISABLED_KMS_KEY` (the sandbox's reading for all of them).
pub const KEY_STATES: [&str; 8] = [
    "Creating",
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "PendingReplicaDeletion",
    "Unavailable",
    "Updating",
];

api_enum!(
    /// Organizations `AccountStatus` (its `AccountState` has these three among its values).
    AccountStatus {
        Active => "ACTIVE",
        Suspended => "SUSPENDED",
        PendingClosure => "PENDING_CLOSURE",
    }
);

api_enum!(
    /// Organizations `AccountJoinedMethod`.
    JoinedMethod {
        Invited => "INVITED",
        Created => "CREATED",
    }
);

/// A key a stream is (or is to be) encrypted with: the AWS-owned key, or a customer key by ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    AwsOwned,
    Customer(String),
}

impl KeyRef {
    pub fn key_type(&self) -> KeyType {
        match self {
            KeyRef::AwsOwned => KeyType::AwsOwned,
            KeyRef::Customer(_) => KeyType::CustomerManaged,
        }
    }

    pub fn arn(&self) -> Option<&str> {
        match self {
            KeyRef::AwsOwned => None,
            KeyRef::Customer(arn) => Some(arn),
        }
    }

    /// As ground truth shows it: the ARN, or `AWS_OWNED_CMK`.
    pub fn label(&self) -> String {
        self.arn().unwrap_or(KeyType::AwsOwned.as_str()).to_owned()
    }
}
