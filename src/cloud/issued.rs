//! When the credentials in use were issued, as far as this process can tell: Firehose fails
//! the KMS grant of a Start towards a customer-managed key when the caller's session
//! credentials are older than 6 h (docs/design.md#credential-age-and-kms-grants), so a Start checks
//! their age first.
//!
//! [`Tracked`] wraps a credentials provider and records each set it hands out. A set is as old
//! as the first time this process saw it — its issue time exactly for credentials fetched on
//! demand (an assumed role, SSO, a credential process), a lower bound for a fixed set read from
//! the environment or a file (they may be older; a session among them cannot be refreshed).
//! Long-term keys (no session token) are not session credentials: the rule does not apply.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider, future};

/// The credentials last handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Which set: a hash of the key id and session token (a credential process may hand out a
    /// new session under the same key id). The token itself is not kept here.
    fingerprint: u64,
    /// The first time this process saw them.
    pub seen: SystemTime,
    /// A session (a session token): the 6-hour rule applies.
    pub session: bool,
}

impl Issued {
    /// How old they are at least, at `now`.
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.seen).unwrap_or_default()
    }
}

/// Where [`Tracked`] records what it hands out; shared with the client that asks.
pub type Record = Arc<Mutex<Option<Issued>>>;

/// A credentials provider that records each set it hands out.
#[derive(Debug)]
pub struct Tracked {
    inner: SharedCredentialsProvider,
    record: Record,
}

impl Tracked {
    pub fn wrap(inner: SharedCredentialsProvider, record: Record) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Tracked { inner, record })
    }
}

/// Records `creds` as handed out at `now`: a set seen before keeps its first time.
pub fn note(record: &Record, creds: &Credentials, now: SystemTime) {
    let mut hasher = DefaultHasher::new();
    creds.access_key_id().hash(&mut hasher);
    creds.session_token().hash(&mut hasher);
    let fingerprint = hasher.finish();
    let mut last = record.lock().unwrap_or_else(|e| e.into_inner());
    if last.as_ref().is_none_or(|l| l.fingerprint != fingerprint) {
        *last = Some(Issued {
            fingerprint,
            seen: now,
            session: creds.session_token().is_some(),
        });
    }
}

impl ProvideCredentials for Tracked {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let creds: provider::Result = self.inner.provide_credentials().await;
            if let Ok(c) = &creds {
                note(&self.record, c, SystemTime::now());
            }
            creds
        })
    }
}

/// A duration as an operator reads it: `5 h`, `90 min`, `30 s`.
pub fn spoken(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Whether credentials last seen as `issued` are fit for a Start towards a customer-managed key
/// at `now`: not a session, or a session younger than `max_age`.
pub fn fit_for_grant(issued: Option<&Issued>, max_age: Duration, now: SystemTime) -> bool {
    issued.is_none_or(|i| !i.session || i.age(now) <= max_age)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(key: &str, token: Option<&str>) -> Credentials {
        Credentials::new(key, "secret", token.map(str::to_owned), None, "test")
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_set_is_as_old_as_the_first_time_it_was_seen() {
        let record = Record::default();
        let t0 = SystemTime::UNIX_EPOCH + HOUR;
        note(&record, &creds("AKID1", Some("tok")), t0);
        note(&record, &creds("AKID1", Some("tok")), t0 + 2 * HOUR);
        let issued = record.lock().unwrap().clone().unwrap();
        assert_eq!(issued.age(t0 + 6 * HOUR), 6 * HOUR);
        // A new set (a refresh that worked) starts again, a new session under the same key
        // id too.
        note(&record, &creds("AKID2", Some("tok2")), t0 + 6 * HOUR);
        let issued = record.lock().unwrap().clone().unwrap();
        assert_eq!(issued.age(t0 + 6 * HOUR), Duration::ZERO);
        note(&record, &creds("AKID2", Some("tok3")), t0 + 7 * HOUR);
        let issued = record.lock().unwrap().clone().unwrap();
        assert_eq!(issued.age(t0 + 7 * HOUR), Duration::ZERO);
    }

    #[test]
    fn only_old_sessions_are_unfit_for_a_grant() {
        let t0 = SystemTime::UNIX_EPOCH + HOUR;
        let max = 5 * HOUR;
        let session = Record::default();
        note(&session, &creds("ASIA1", Some("tok")), t0);
        let session = session.lock().unwrap().clone();
        assert!(fit_for_grant(session.as_ref(), max, t0 + 5 * HOUR));
        assert!(!fit_for_grant(
            session.as_ref(),
            max,
            t0 + 5 * HOUR + Duration::from_secs(1)
        ));
        // Long-term keys are not a session; credentials not fetched yet will be fresh.
        let user = Record::default();
        note(&user, &creds("AKIA1", None), t0);
        let user = user.lock().unwrap().clone();
        assert!(fit_for_grant(user.as_ref(), max, t0 + 100 * HOUR));
        assert!(fit_for_grant(None, max, t0 + 100 * HOUR));
    }
}
