//! Time, injected: every decision that depends on "now" (the rolling 24 h budget window, plan
//! age, lock staleness) takes a [`Clock`] so tests can move time by hand. Times are Unix epoch
//! milliseconds, the unit the ledger stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type EpochMillis = i64;

pub const SECOND: EpochMillis = 1_000;
pub const MINUTE: EpochMillis = 60 * SECOND;
pub const HOUR: EpochMillis = 3_600 * SECOND;
pub const DAY: EpochMillis = 24 * HOUR;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> EpochMillis;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> EpochMillis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as EpochMillis)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(now: EpochMillis) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }
    pub fn set(&self, now: EpochMillis) {
        self.0.store(now, Ordering::SeqCst);
    }
    pub fn advance(&self, by: EpochMillis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> EpochMillis {
        self.0.load(Ordering::SeqCst)
    }
}

/// RFC 3339 in UTC with second precision, e.g. `2026-11-26T20:24:17Z`.
/// Outside what RFC 3339 writes here (before 1970, after 9999), the number itself.
pub fn rfc3339(at: EpochMillis) -> String {
    use std::fmt::Write as _;
    let Ok(secs) = u64::try_from(at.div_euclid(SECOND)) else {
        return at.to_string();
    };
    let time = UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let mut text = String::new();
    match write!(text, "{}", humantime::format_rfc3339_seconds(time)) {
        Ok(()) => text,
        Err(_) => at.to_string(),
    }
}

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-26T20:24:17.999Z`: a time that
/// must read back exactly (a plan file's observations). Outside 1970..=9999, the number itself.
pub fn rfc3339_millis(at: EpochMillis) -> String {
    let Ok(ms) = u64::try_from(at) else {
        return at.to_string();
    };
    let time = UNIX_EPOCH + std::time::Duration::from_millis(ms);
    match at < 253_402_300_800_000 {
        true => humantime::format_rfc3339_millis(time).to_string(),
        false => at.to_string(),
    }
}

/// Reads what [`rfc3339_millis`] writes (any RFC 3339 UTC time, or the number itself).
pub fn parse_rfc3339(text: &str) -> Option<EpochMillis> {
    if let Ok(n) = text.parse::<EpochMillis>() {
        return Some(n);
    }
    let time = humantime::parse_rfc3339(text).ok()?;
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    EpochMillis::try_from(since.as_millis()).ok()
}

/// Serde for a time written as [`rfc3339_millis`]: `#[serde(with = "crate::clock::millis")]`.
pub mod millis {
    use super::EpochMillis;

    pub fn serialize<S: serde::Serializer>(at: &EpochMillis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339_millis(*at))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<EpochMillis, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        super::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }

    /// The same for an optional time (`null` when absent).
    pub mod option {
        use super::EpochMillis;

        pub fn serialize<S: serde::Serializer>(
            at: &Option<EpochMillis>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<EpochMillis>, D::Error> {
            let text = <Option<String> as serde::Deserialize>::deserialize(d)?;
            text.map(|t| {
                super::super::parse_rfc3339(&t).ok_or_else(|| {
                    serde::de::Error::custom(format!("{t:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_724_657_999), "2026-11-26T20:24:17Z");
        assert_eq!(rfc3339(253_402_300_799_000), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800_000), "253402300800000");
        assert_eq!(rfc3339(-1), "-1");
    }

    #[test]
    fn millisecond_times_read_back_exactly() {
        for at in [0, 1_795_724_657_999, 1_795_724_657_001, 253_402_300_799_999] {
            assert_eq!(parse_rfc3339(&rfc3339_millis(at)), Some(at), "{at}");
        }
        assert_eq!(
            rfc3339_millis(1_795_724_657_999),
            "2026-11-26T20:24:17.999Z"
        );
        assert_eq!(
            parse_rfc3339("2026-11-26T20:24:17Z"),
            Some(1_795_724_657_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(10);
        let other = clock.clone();
        clock.advance(5);
        assert_eq!(other.now(), 15);
    }
}
