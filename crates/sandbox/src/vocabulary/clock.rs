//! Time, passed in: the world's rules take "now" as Unix epoch milliseconds, and the server
//! asks a [`Clock`] for it, so a test can move a [`ManualClock`] across a 24 h budget window in
//! no time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Where the sandbox's server reads the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Millis;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to; clones share one time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(now: Millis) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }

    pub fn set(&self, now: Millis) {
        self.0.store(now, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// Epoch milliseconds as an ISO 8601 UTC time to the second, `2027-01-15T08:00:00Z`: the
/// query protocol's timestamps (STS `Credentials.Expiration`).
pub fn iso8601(at: Millis) -> String {
    let secs = at.div_euclid(1_000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms", days_from_civil inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// An ISO 8601 UTC time (`2027-01-15T08:00:00Z`, with fractions of a second and an offset
/// `+01:00` allowed; a date alone is its midnight) as epoch milliseconds: the query protocol's
/// timestamps.
pub fn parse_iso8601(text: &str) -> Option<Millis> {
    let (date, time) = text.split_once(['T', 't']).unwrap_or((text, "00:00:00Z"));
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, "Z"),
    };
    let offset_ms = match offset {
        "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
            if !matches!(digits.len(), 2 | 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let h: i64 = digits[..2].parse().ok()?;
            let m: i64 = if digits.len() == 4 {
                digits[2..].parse().ok()?
            } else {
                0
            };
            sign * (h * 3_600_000 + m * 60_000)
        }
    };
    let mut c = clock.splitn(3, ':');
    let hour: i64 = c.next()?.parse().ok()?;
    let minute: i64 = c.next()?.parse().ok()?;
    let seconds: f64 = c.next().unwrap_or("0").parse().ok()?;
    if hour > 23 || minute > 59 || !(0.0..61.0).contains(&seconds) {
        return None;
    }
    // Days from 1970-01-01 of a civil date (H. Hinnant, days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms =
        (days * 86_400 + hour * 3_600 + minute * 60) * 1_000 + (seconds * 1_000.0).round() as i64;
    Some(ms - offset_ms)
}

/// [`iso8601`] with the milliseconds when there are any (`2027-01-15T08:00:00.250Z`).
pub fn iso8601_millis(at: Millis) -> String {
    let ms = at.rem_euclid(1_000);
    let whole = iso8601(at);
    if ms == 0 {
        whole
    } else {
        format!("{}.{ms:03}Z", whole.trim_end_matches('Z'))
    }
}

#[cfg(test)]
mod iso_tests {
    use super::*;

    #[test]
    fn iso8601_reads_what_it_writes() {
        for at in [0, 1_800_000_000_000, 951_782_400_000, 4_102_444_799_000] {
            assert_eq!(parse_iso8601(&iso8601(at)), Some(at), "{}", iso8601(at));
        }
        assert_eq!(
            parse_iso8601("2027-01-15T08:00:00.250Z"),
            Some(1_800_000_000_250)
        );
        assert_eq!(
            parse_iso8601("2027-01-15T09:30:00+01:30"),
            Some(1_800_000_000_000)
        );
        assert_eq!(
            parse_iso8601("2027-01-15"),
            Some(1_800_000_000_000 - 8 * 3_600_000)
        );
        for bad in ["", "soon", "2027-13-01T00:00:00Z", "2027-01-15T25:00:00Z"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
