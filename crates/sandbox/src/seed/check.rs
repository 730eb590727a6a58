//! The seed's checks: every problem of a fleet file at once, one a line (each account's
//! streams, keys and IAM principals checked in that account, the latter in `check_iam`), and
//! the readings of its fields the world starts from (a stream's key shown and key in force).

use std::collections::HashSet;

use super::{
    START_ERROR_CODES, Seed, SeedAccount, SeedEncryption, SeedError, SeedKey, SeedStream,
    failure_place,
};
use crate::vocabulary::{
    AccountStatus, EncStatus, JoinedMethod, KEY_SPECS, KEY_STATES, KEY_USAGES, KeyManager, KeyType,
    KmsKeyArn, SEEDABLE_ENC_STATUSES, SEEDABLE_STREAM_STATUSES, StreamType, is_valid_account,
    is_valid_email, is_valid_key_id, is_valid_region, is_valid_stream_name, kms_key_arn,
};

/// A key as a fleet file names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SeedKeyRef {
    AwsOwned,
    Customer(KmsKeyArn),
}

impl Seed {
    /// Every problem in the seed, at once; `account` is the sandbox's own, `default_region`
    /// stands in for absent regions.
    pub fn check(&self, account: &str, default_region: &str) -> Result<(), SeedError> {
        let mut errors = Vec::new();
        let known = self.key_arns(account, default_region);
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        let mut accounts = HashSet::from([account]);
        for scope in self.scopes(account) {
            let prefix = scope.at();
            if let Some(i) = scope.member {
                check_account(&self.accounts[i], &prefix, &mut accounts, &mut errors);
            }
            for (i, k) in scope.keys.iter().enumerate() {
                let at = format!("{prefix}keys[{i}] {:?}", k.id);
                let region = k.region.as_deref().unwrap_or(default_region);
                check_key(k, &at, region, scope.account, &mut ids, &mut errors);
            }
            for (i, s) in scope.streams.iter().enumerate() {
                let at = format!("{prefix}streams[{i}] {:?}", s.name);
                let region = s.region.as_deref().unwrap_or(default_region);
                if !names.insert((scope.account, region.to_owned(), s.name.clone())) {
                    errors.push(format!(
                        "{at}: a stream of that name already exists in {region}"
                    ));
                }
                check_stream(s, &at, region, scope.account, &known, &mut errors);
            }
            super::check_iam::check_principals(&scope, &mut errors);
        }
        let scopes: Vec<_> = self.scopes(account).collect();
        let mut access_keys = HashSet::new();
        for (i, c) in self.credentials.iter().enumerate() {
            let at = format!("credentials[{i}] {:?}", c.access_key);
            if c.access_key.is_empty() || !c.access_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                errors.push(format!("{at}: access_key must be letters and digits"));
            }
            if !access_keys.insert(&c.access_key) {
                errors.push(format!("{at}: that access key is listed already"));
            }
            if let Err(e) = c.expires_after() {
                errors.push(format!("{at}: {e}"));
            }
            if let Some(owner) = &c.account
                && !accounts.contains(owner.as_str())
            {
                errors.push(format!(
                    "{at}: account {owner:?} is neither the sandbox's ({account}) nor one of `accounts`"
                ));
            }
            if let Some(user) = &c.user {
                let owner = c.account.as_deref().unwrap_or(account);
                let scope = scopes.iter().find(|s| s.account == owner);
                super::check_iam::check_credential_user(user, scope, &at, &mut errors);
            }
        }
        if let Err(e) = self.metric_period() {
            errors.push(e);
        }
        let mut kinesis_names = HashSet::new();
        for (i, k) in self.kinesis_streams.iter().enumerate() {
            let at = format!("kinesis_streams[{i}] {:?}", k.name);
            let region = k.region.as_deref().unwrap_or(default_region);
            let owner = k.account.as_deref().unwrap_or(account);
            let valid_name = (1..=128).contains(&k.name.len())
                && k.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !valid_name {
                errors.push(format!(
                    "{at}: name must be 1-128 characters [a-zA-Z0-9_.-]"
                ));
            }
            if !is_valid_region(region) {
                errors.push(format!("{at}: malformed region {region:?}"));
            }
            if !accounts.contains(owner) {
                errors.push(format!(
                    "{at}: account {owner:?} is neither the sandbox's ({account}) nor one of `accounts`"
                ));
            }
            if !kinesis_names.insert((owner.to_owned(), region.to_owned(), k.name.clone())) {
                errors.push(format!(
                    "{at}: a Kinesis stream of that name already exists in {region}"
                ));
            }
            if k.key_id
                .as_deref()
                .is_some_and(|id| id.is_empty() || id.len() > 2048)
            {
                errors.push(format!("{at}: key_id must be 1-2048 characters"));
            }
            if k.shards == Some(0) {
                errors.push(format!("{at}: shards must be at least 1"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SeedError::Invalid(errors))
        }
    }

    /// The ARNs of every seeded key, of every account.
    pub(crate) fn key_arns(&self, account: &str, default_region: &str) -> HashSet<String> {
        self.scopes(account)
            .flat_map(|scope| {
                scope.keys.iter().map(move |k| {
                    kms_key_arn(
                        k.region.as_deref().unwrap_or(default_region),
                        k.account_or(scope.account),
                        &k.id,
                    )
                })
            })
            .collect()
    }
}

/// A member account's own fields: its id (new, and not the sandbox's), name, email, status
/// and how it joined.
fn check_account<'a>(
    a: &'a SeedAccount,
    at: &str,
    accounts: &mut HashSet<&'a str>,
    errors: &mut Vec<String>,
) {
    if !is_valid_account(&a.id) {
        errors.push(format!("{at}id must be 12 digits"));
    } else if !accounts.insert(&a.id) {
        errors.push(format!(
            "{at}that account is the sandbox's own (--account) or listed already"
        ));
    }
    if let Some(name) = &a.name
        && !(1..=128).contains(&name.chars().count())
    {
        errors.push(format!("{at}name must be 1-128 characters"));
    }
    if let Some(email) = &a.email
        && !is_valid_email(email)
    {
        errors.push(format!(
            "{at}email {email:?} is not an address (6-64 characters, name@domain.tld)"
        ));
    }
    if let Some(status) = &a.status
        && AccountStatus::parse(status).is_none()
    {
        errors.push(format!(
            "{at}status {status:?} is not one of {}",
            AccountStatus::list()
        ));
    }
    if let Some(method) = &a.joined_method
        && JoinedMethod::parse(method).is_none()
    {
        errors.push(format!(
            "{at}joined_method {method:?} is not one of {}",
            JoinedMethod::list()
        ));
    }
}

fn check_key(
    k: &SeedKey,
    at: &str,
    region: &str,
    account: &str,
    ids: &mut HashSet<(String, String, String)>,
    errors: &mut Vec<String>,
) {
    if !is_valid_key_id(&k.id) {
        errors.push(format!("{at}: id must be 1-128 letters, digits or '-'"));
    }
    if !is_valid_region(region) {
        errors.push(format!("{at}: malformed region {region:?}"));
    }
    let owner = k.account_or(account);
    if !is_valid_account(owner) {
        errors.push(format!(
            "{at}: account {owner:?} is not a 12-digit account id"
        ));
    }
    if !ids.insert((region.to_owned(), owner.to_owned(), k.id.clone())) {
        errors.push(format!(
            "{at}: a key with that id already exists in {region}"
        ));
    }
    if !KEY_STATES.contains(&k.state.as_str()) {
        errors.push(format!(
            "{at}: state {:?} is not one of {}",
            k.state,
            KEY_STATES.join(", ")
        ));
    }
    if !KEY_SPECS.contains(&k.spec.as_str()) {
        errors.push(format!("{at}: unknown key spec {:?}", k.spec));
    }
    if !KEY_USAGES.contains(&k.usage.as_str()) {
        errors.push(format!("{at}: unknown key usage {:?}", k.usage));
    }
    if let Some(f) = &k.failure {
        if f.failure_type.trim().is_empty() {
            errors.push(format!("{at}: failure.type is empty"));
        }
        if let Err(e) = failure_place(f.description.as_deref()) {
            errors.push(format!("{at}: {e}"));
        }
    }
    if let Some(m) = &k.manager
        && KeyManager::parse(m).is_none()
    {
        errors.push(format!(
            "{at}: manager {m:?} is not one of {}",
            KeyManager::list()
        ));
    }
    if let Some(code) = &k.describe_error
        && (code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'))
    {
        errors.push(format!(
            "{at}: describe_error {code:?} is not an error code such as AccessDeniedException"
        ));
    }
    if let Some(e) = &k.start_error
        && !START_ERROR_CODES.contains(&e.code.as_str())
    {
        errors.push(format!(
            "{at}: start_error.code {:?} is not one of {}",
            e.code,
            START_ERROR_CODES.join(", ")
        ));
    }
}

fn check_stream(
    s: &SeedStream,
    at: &str,
    region: &str,
    account: &str,
    known: &HashSet<String>,
    errors: &mut Vec<String>,
) {
    if !is_valid_stream_name(&s.name) {
        errors.push(format!("{at}: name must be 1-64 characters [a-zA-Z0-9_.-]"));
    }
    for (k, v) in &s.tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            errors.push(format!(
                "{at}: tag {k:?}: keys are 1-128 characters, values at most 256"
            ));
        }
    }
    if s.tags.keys().filter(|k| !k.starts_with("aws:")).count() > crate::vocabulary::MAX_STREAM_TAGS
    {
        errors.push(format!(
            "{at}: more than {} tags",
            crate::vocabulary::MAX_STREAM_TAGS
        ));
    }
    if !is_valid_region(region) {
        errors.push(format!("{at}: malformed region {region:?}"));
    }
    let stream_type = StreamType::parse(&s.stream_type);
    if stream_type.is_none() {
        errors.push(format!(
            "{at}: type {:?} is not one of {}",
            s.stream_type,
            StreamType::list()
        ));
    }
    if !SEEDABLE_STREAM_STATUSES
        .iter()
        .any(|status| status.as_str() == s.status)
    {
        let list: Vec<&str> = SEEDABLE_STREAM_STATUSES
            .iter()
            .map(|s| s.as_str())
            .collect();
        errors.push(format!(
            "{at}: status {:?} is not one of {}",
            s.status,
            list.join(", ")
        ));
    }
    if let Some(arn) = &s.source_arn {
        match stream_type {
            Some(StreamType::KinesisStreamAsSource) if !is_kinesis_stream_arn(arn) => {
                errors.push(format!(
                    "{at}: source_arn {arn:?} is not arn:<partition>:kinesis:<region>:<account>:stream/<name>"
                ));
            }
            Some(StreamType::MskAsSource) if !arn.starts_with("arn:") || arn.len() > 512 => {
                errors.push(format!(
                    "{at}: source_arn {arn:?} is not an MSK cluster ARN"
                ));
            }
            Some(StreamType::KinesisStreamAsSource | StreamType::MskAsSource) | None => {}
            Some(t) => errors.push(format!(
                "{at}: source_arn is for KinesisStreamAsSource and MSKAsSource streams, not {}",
                t.as_str()
            )),
        }
    }
    if let Some(enc) = &s.encryption {
        if s.stream_type != "DirectPut" {
            errors.push(format!("{at}: only DirectPut streams can be encrypted"));
        }
        if let Err(e) = enc.key(account, known) {
            errors.push(format!("{at}: encryption: {e}"));
        }
        match enc.status() {
            Err(e) => errors.push(format!("{at}: encryption: {e}")),
            Ok(status) => {
                // A default key in force is the key shown, whose problems are reported above.
                if enc.in_force.is_some()
                    && let Err(e) = enc.in_force(account, known)
                {
                    errors.push(format!("{at}: encryption: {e}"));
                }
                if let Some(f) = &enc.failure {
                    if !matches!(
                        status,
                        EncStatus::EnablingFailed | EncStatus::DisablingFailed
                    ) {
                        errors.push(format!(
                            "{at}: encryption: a failure is for ENABLING_FAILED and DISABLING_FAILED"
                        ));
                    }
                    if f.failure_type.trim().is_empty() {
                        errors.push(format!("{at}: encryption: failure.type is empty"));
                    }
                    if let Err(e) = failure_place(f.description.as_deref()) {
                        errors.push(format!("{at}: encryption: {e}"));
                    }
                }
            }
        }
    }
}

/// `arn:<partition>:kinesis:<region>:<account>:stream/<name>` (the Firehose model's
/// `KinesisStreamARN` pattern, read field by field).
fn is_kinesis_stream_arn(arn: &str) -> bool {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        fields[..],
        ["arn", _, "kinesis", region, account, resource]
            if is_valid_region(region)
                && is_valid_account(account)
                && resource.strip_prefix("stream/").is_some_and(is_valid_stream_name)
    )
}

impl SeedEncryption {
    /// The key shown. `key_type` is read without regard to case: a fleet file is typed by hand.
    /// A customer key must be of the stream's `account`, or a seeded key (`known`) of another.
    pub(crate) fn key(&self, account: &str, known: &HashSet<String>) -> Result<SeedKeyRef, String> {
        let key_type = match (&self.key_type, &self.key_arn) {
            (Some(t), _) => KeyType::parse(&t.to_ascii_uppercase()).ok_or_else(|| {
                format!(
                    "key_type {t:?} is not {} or {}",
                    KeyType::AwsOwned.as_str(),
                    KeyType::CustomerManaged.as_str()
                )
            })?,
            (None, Some(_)) => KeyType::CustomerManaged,
            (None, None) => KeyType::AwsOwned,
        };
        match (key_type, &self.key_arn) {
            (KeyType::AwsOwned, None) => Ok(SeedKeyRef::AwsOwned),
            (KeyType::AwsOwned, Some(_)) => Err("an AWS_OWNED_CMK takes no key_arn".to_owned()),
            (KeyType::CustomerManaged, None) => {
                Err("CUSTOMER_MANAGED_CMK needs a key_arn".to_owned())
            }
            (KeyType::CustomerManaged, Some(arn)) => customer_key("key_arn", arn, account, known),
        }
    }

    /// The encryption status (ENABLED unless given).
    pub(crate) fn status(&self) -> Result<EncStatus, String> {
        let Some(text) = &self.status else {
            return Ok(EncStatus::Enabled);
        };
        EncStatus::parse(text)
            .filter(|s| SEEDABLE_ENC_STATUSES.contains(s))
            .ok_or_else(|| {
                let list: Vec<&str> = SEEDABLE_ENC_STATUSES.iter().map(|s| s.as_str()).collect();
                format!("status {text:?} is not one of {}", list.join(", "))
            })
    }

    /// The key in force: as given, else the key shown (nothing for ENABLING_FAILED).
    pub(crate) fn in_force(
        &self,
        account: &str,
        known: &HashSet<String>,
    ) -> Result<Option<SeedKeyRef>, String> {
        match &self.in_force {
            None if self.status()? == EncStatus::EnablingFailed => Ok(None),
            None => self.key(account, known).map(Some),
            Some(None) => Ok(None),
            Some(Some(text)) if text.eq_ignore_ascii_case(KeyType::AwsOwned.as_str()) => {
                Ok(Some(SeedKeyRef::AwsOwned))
            }
            Some(Some(arn)) => customer_key("in_force", arn, account, known).map(Some),
        }
    }
}

fn customer_key(
    field: &str,
    arn: &str,
    account: &str,
    known: &HashSet<String>,
) -> Result<SeedKeyRef, String> {
    let parsed = KmsKeyArn::parse(arn).map_err(|e| format!("{field} {arn:?} {e}"))?;
    if parsed.account != account && !known.contains(&parsed.to_string()) {
        return Err(format!(
            "{field} {arn:?} belongs to account {}, the stream is of account {account} (seed a \
             key of that account to use it)",
            parsed.account
        ));
    }
    Ok(SeedKeyRef::Customer(parsed))
}
