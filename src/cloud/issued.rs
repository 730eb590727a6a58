//! When the credentials in use were issued, as far as this process can tell, and what a Start
//! towards a customer-managed key needs of them: Firehose fails the KMS grant of such a Start
//! when the caller's session credentials are more than 6 h old
//! (docs/design.md#credential-age-and-kms-grants).
//!
//! [`Tracked`] wraps a credentials provider and records each set it hands out. A set's issue
//! time is *known* only for credentials this process fetched from STS on demand (a role it
//! assumed): it is the time they were first seen. Any other set — the default chain's — may be
//! older than that: instance-profile (IMDS) credentials are rotated by AWS, new ones "available
//! at least five minutes before the expiration of the old credentials" (EC2 User Guide), so a
//! set may be hours old when first seen, and container credentials come with an expiry too; a
//! credential process may hand out a cached set; a session token from the environment or a file
//! is a fixed set of unknown age. Long-term keys (no session token) are
//! not session credentials: the rule does not apply.
//!
//! Before a customer-key Start ([`before_grant`]):
//! - known issue time: a set first seen more than `--max-credential-age` ago is refreshed;
//! - unknown issue time: a refresh is forced before the first such Start, then again every
//!   `--max-credential-age`, so each run starts from the set the provider hands out now;
//! - after a grant failed with the set in use (`CREATE_KMS_GRANT_FAILED`): refreshed first.
//!
//! After a refresh ([`after_refresh`]) a new set is fit. The same set again is fit when its
//! provider is one that rotates it (it has an expiry, and AWS rotates it before); when it is a
//! fixed session (a token without expiry) refreshing cannot help, and it is unfit
//! ([`Unfit::CannotRefresh`]) once a grant failed with it or it has been in use longer than
//! `--max-credential-age`: that account's customer-key Starts are withheld, all at once.

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
    /// They carry an expiry: their provider hands out a new set before it (a fixed session
    /// from the environment or a file has none).
    pub expires: bool,
}

impl Issued {
    /// How old they are at least, at `now`.
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.seen).unwrap_or_default()
    }
}

/// What is known of one credentials provider's sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    /// The set last handed out.
    pub last: Option<Issued>,
    /// Sets are fetched from STS on demand by this process: first seen is when issued.
    pub issue_known: bool,
    /// When a refresh was last forced before a customer-key Start.
    pub refreshed_at: Option<SystemTime>,
    /// A KMS grant failed with the set in use (`CREATE_KMS_GRANT_FAILED`).
    pub grant_failed: bool,
    /// A set fetched by a forced refresh, handed to the next caller (the SDK's new identity
    /// cache) instead of asking the provider once more.
    pub pending: Option<Credentials>,
}

/// Where [`Tracked`] records what it hands out; shared with the client that asks.
pub type Record = Arc<Mutex<Tracking>>;

/// A new record; `issue_known` for a provider that fetches each set from STS when asked.
pub fn record(issue_known: bool) -> Record {
    Arc::new(Mutex::new(Tracking {
        issue_known,
        ..Tracking::default()
    }))
}

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

fn fingerprint(creds: &Credentials) -> u64 {
    let mut hasher = DefaultHasher::new();
    creds.access_key_id().hash(&mut hasher);
    creds.session_token().hash(&mut hasher);
    hasher.finish()
}

/// Records `creds` as handed out at `now`: a set seen before keeps its first time.
pub fn note(record: &Record, creds: &Credentials, now: SystemTime) {
    let fingerprint = fingerprint(creds);
    let mut tracking = record.lock().unwrap_or_else(|e| e.into_inner());
    if tracking
        .last
        .as_ref()
        .is_none_or(|l| l.fingerprint != fingerprint)
    {
        tracking.last = Some(Issued {
            fingerprint,
            seen: now,
            session: creds.session_token().is_some(),
            expires: creds.expiry().is_some(),
        });
    }
}

impl ProvideCredentials for Tracked {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let pending = self
                .record
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pending
                .take();
            if let Some(creds) = pending {
                return Ok(creds);
            }
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

/// What the credentials need before a Start towards a customer-managed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeGrant {
    /// Use them as they are.
    Fit,
    /// Ask the provider for fresh ones first.
    Refresh,
}

/// Why credentials may not be used for a KMS grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    /// Refreshing cannot help (a fixed session too old, or one a grant failed with): every
    /// customer-key Start of the account is withheld.
    CannotRefresh(String),
    /// The refresh failed: this Start is withheld.
    RefreshFailed(String),
}

impl Unfit {
    pub fn message(&self) -> &str {
        match self {
            Unfit::CannotRefresh(m) | Unfit::RefreshFailed(m) => m,
        }
    }
}

/// What `tracking` needs before a customer-key Start at `now`.
pub fn before_grant(tracking: &Tracking, max_age: Duration, now: SystemTime) -> BeforeGrant {
    let Some(last) = &tracking.last else {
        // Not fetched yet: fetching is the refresh.
        return BeforeGrant::Refresh;
    };
    if !last.session {
        return BeforeGrant::Fit;
    }
    if tracking.grant_failed {
        return BeforeGrant::Refresh;
    }
    let fresh = if tracking.issue_known {
        last.age(now) <= max_age
    } else {
        tracking
            .refreshed_at
            .is_some_and(|at| now.duration_since(at).unwrap_or_default() <= max_age)
    };
    if fresh {
        BeforeGrant::Fit
    } else {
        BeforeGrant::Refresh
    }
}

/// Whether `tracking`, just refreshed at `now` (the set before it: `before`), may create a KMS
/// grant. On success the refresh is recorded ([`Tracking::refreshed_at`]) and a grant failure
/// forgotten.
pub fn after_refresh(
    tracking: &mut Tracking,
    before: Option<&Issued>,
    max_age: Duration,
    now: SystemTime,
) -> Result<(), Unfit> {
    let Some(last) = tracking.last.clone() else {
        return Err(Unfit::RefreshFailed(
            "the credentials provider handed out nothing".into(),
        ));
    };
    let same = before.is_some_and(|b| b.fingerprint == last.fingerprint);
    if last.session && same {
        if !last.expires {
            let why = if tracking.grant_failed {
                Some("a KMS grant failed with them".to_owned())
            } else if last.age(now) > max_age {
                Some(format!(
                    "they have been in use for more than {}",
                    spoken(max_age)
                ))
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Unfit::CannotRefresh(format!(
                    "these session credentials do not refresh (a fixed session, such as \
                     AWS_SESSION_TOKEN gives) and {why}: Firehose fails the KMS grant for session \
                     credentials older than 6 h. Run again with credentials that refresh (a \
                     profile with a role, SSO, --assume-role) or a new session"
                )));
            }
        } else if tracking.issue_known && last.age(now) > max_age {
            return Err(Unfit::RefreshFailed(format!(
                "they are older than {} and the provider handed out the same set again",
                spoken(max_age)
            )));
        }
    }
    tracking.refreshed_at = Some(now);
    tracking.grant_failed = false;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(key: &str, token: Option<&str>) -> Credentials {
        Credentials::new(key, "secret", token.map(str::to_owned), None, "test")
    }

    /// A session that expires: its provider rotates it (IMDS, a container, a process).
    fn rotating(key: &str, token: &str) -> Credentials {
        Credentials::new(
            key,
            "secret",
            Some(token.to_owned()),
            Some(SystemTime::UNIX_EPOCH + 1000 * HOUR),
            "test",
        )
    }

    const HOUR: Duration = Duration::from_secs(3600);
    const MAX: Duration = Duration::from_secs(5 * 3600);

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + HOUR
    }

    fn last(record: &Record) -> Option<Issued> {
        record.lock().unwrap().last.clone()
    }

    #[test]
    fn a_set_is_as_old_as_the_first_time_it_was_seen() {
        let record = super::record(true);
        let t0 = t0();
        note(&record, &creds("AKID1", Some("tok")), t0);
        note(&record, &creds("AKID1", Some("tok")), t0 + 2 * HOUR);
        assert_eq!(last(&record).unwrap().age(t0 + 6 * HOUR), 6 * HOUR);
        // A new set (a refresh that worked) starts again, a new session under the same key
        // id too.
        note(&record, &creds("AKID2", Some("tok2")), t0 + 6 * HOUR);
        assert_eq!(last(&record).unwrap().age(t0 + 6 * HOUR), Duration::ZERO);
        note(&record, &creds("AKID2", Some("tok3")), t0 + 7 * HOUR);
        assert_eq!(last(&record).unwrap().age(t0 + 7 * HOUR), Duration::ZERO);
    }

    #[test]
    fn known_issue_times_refresh_only_past_the_maximum_age() {
        let record = super::record(true);
        note(&record, &rotating("ASIA1", "tok"), t0());
        let tracking = record.lock().unwrap().clone();
        assert_eq!(before_grant(&tracking, MAX, t0() + MAX), BeforeGrant::Fit);
        assert_eq!(
            before_grant(&tracking, MAX, t0() + MAX + Duration::from_secs(1)),
            BeforeGrant::Refresh
        );
        // Long-term keys are not a session; credentials not fetched yet are fetched first.
        let user = super::record(true);
        note(&user, &creds("AKIA1", None), t0());
        let user = user.lock().unwrap().clone();
        assert_eq!(
            before_grant(&user, MAX, t0() + 100 * HOUR),
            BeforeGrant::Fit
        );
        assert_eq!(
            before_grant(&Tracking::default(), MAX, t0()),
            BeforeGrant::Refresh
        );
    }

    #[test]
    fn unknown_issue_times_are_refreshed_before_the_first_grant_then_every_maximum_age() {
        // Instance-profile credentials first seen now may be hours old: refreshed at once,
        // however young they look.
        let record = super::record(false);
        note(&record, &rotating("ASIAIMDS", "tok"), t0());
        let mut tracking = record.lock().unwrap().clone();
        assert_eq!(before_grant(&tracking, MAX, t0()), BeforeGrant::Refresh);
        // The provider hands out the same set (IMDS rotates it itself): fit, as of now.
        let before = tracking.last.clone();
        after_refresh(&mut tracking, before.as_ref(), MAX, t0()).unwrap();
        assert_eq!(tracking.refreshed_at, Some(t0()));
        assert_eq!(before_grant(&tracking, MAX, t0() + MAX), BeforeGrant::Fit);
        assert_eq!(
            before_grant(&tracking, MAX, t0() + MAX + Duration::from_secs(1)),
            BeforeGrant::Refresh,
            "again every --max-credential-age"
        );
    }

    #[test]
    fn a_fixed_session_that_cannot_refresh_is_unfit_once_too_old_or_refused_a_grant() {
        let record = super::record(false);
        note(&record, &creds("ASIAFIXED", Some("fixed")), t0());
        let mut tracking = record.lock().unwrap().clone();
        let before = tracking.last.clone();
        // Young enough by our count: fit (and refreshed as of now).
        after_refresh(&mut tracking, before.as_ref(), MAX, t0() + HOUR).unwrap();
        // Past the maximum age, the same set again: refreshing cannot help.
        let err = after_refresh(&mut tracking, before.as_ref(), MAX, t0() + 6 * HOUR).unwrap_err();
        let Unfit::CannotRefresh(why) = err else {
            panic!("{err:?}")
        };
        assert!(
            why.contains("do not refresh") && why.contains("6 h"),
            "{why}"
        );
        // A grant failed with it: refreshed before the retry, and unfit when it comes back.
        let mut tracking = record.lock().unwrap().clone();
        tracking.grant_failed = true;
        assert_eq!(before_grant(&tracking, MAX, t0()), BeforeGrant::Refresh);
        let err = after_refresh(&mut tracking, before.as_ref(), MAX, t0()).unwrap_err();
        assert!(
            matches!(&err, Unfit::CannotRefresh(m) if m.contains("a KMS grant failed")),
            "{err:?}"
        );
        // A rotating set a grant failed with may be retried: the failure may be transient.
        let rotating_record = record_of(rotating("ASIAIMDS", "tok"));
        let mut tracking = rotating_record.lock().unwrap().clone();
        tracking.grant_failed = true;
        let before = tracking.last.clone();
        after_refresh(&mut tracking, before.as_ref(), MAX, t0()).unwrap();
        assert!(!tracking.grant_failed);
        // A new set is fit, whatever came before.
        let mut tracking = record.lock().unwrap().clone();
        tracking.grant_failed = true;
        let before = tracking.last.clone();
        let fresh = record_of(creds("ASIANEW", Some("new")));
        tracking.last = fresh.lock().unwrap().last.clone();
        after_refresh(&mut tracking, before.as_ref(), MAX, t0() + 9 * HOUR).unwrap();
    }

    fn record_of(c: Credentials) -> Record {
        let r = record(false);
        note(&r, &c, t0());
        r
    }
}
