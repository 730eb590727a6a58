//! The values flags take, checked as clap parses them: durations, rates, fractions, account
//! ids and the STS constraints on role sessions, each refused with what is expected.

use std::time::Duration;

/// An AWS account id: 12 digits.
pub(super) fn parse_account(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err("an AWS account id is 12 digits".into())
    }
}

/// `--role-duration`: STS AssumeRole's `DurationSeconds`, 900 to 43,200.
pub(super) fn parse_role_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if !(900..=43_200).contains(&d.as_secs()) {
        return Err("must be from 15m to 12h (STS AssumeRole's DurationSeconds)".into());
    }
    Ok(d)
}

/// `--role-session-name`: STS's `roleSessionNameType`, 2 to 64 of `[\w+=,.@-]`.
pub(super) fn parse_session_name(text: &str) -> Result<String, String> {
    let ok = (2..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !ok {
        return Err("2 to 64 characters of letters, digits and _+=,.@- (STS's rule)".into());
    }
    Ok(text.to_owned())
}

/// `--external-id`: STS's `externalIdType`, 2 to 1,224 of `[\w+=,.@:/-]`.
pub(super) fn parse_external_id(text: &str) -> Result<String, String> {
    let ok = (2..=1224).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if !ok {
        return Err("2 to 1224 characters of letters, digits and _+=,.@:/- (STS's rule)".into());
    }
    Ok(text.to_owned())
}

/// A budget margin: a duration of at most one hour.
pub(super) fn parse_margin(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d > Duration::from_secs(3600) {
        return Err("at most 1h".into());
    }
    Ok(d)
}

/// A fraction between 0 and 1.
pub(super) fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Durations as the sandbox and timeouts take them: `250ms`, `5s`, `2m`, `24h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (expected a duration such as 250ms, 5s, 2m or 24h)"))
}

/// Calls per second: a positive number.
pub(super) fn parse_tps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 10_000.0 => Ok(v),
        _ => Err("expected calls per second, a number above 0 (e.g. 5 or 0.5)".into()),
    }
}

/// Timeouts also take a bare number of seconds, as the AWS CLI's `--cli-*-timeout` do.
pub(super) fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err("must be positive".into()),
        Err(_) => parse_duration(text),
    }
}

/// `--waves`: cumulative counts and shares, ending at 100%.
pub(super) fn parse_steps(text: &str) -> Result<crate::waves::Steps, String> {
    crate::waves::Steps::parse(text)
}

/// `--max-errors`: a count or a share.
pub(super) fn parse_max_errors(text: &str) -> Result<crate::waves::gate::MaxErrors, String> {
    crate::waves::gate::MaxErrors::parse(text)
}

/// A share written `50%` (or `0.5`): 0 to 1.
pub(super) fn parse_share(text: &str) -> Result<f64, String> {
    match text.trim().strip_suffix('%') {
        Some(p) => match p.trim().parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
            _ => Err("a share is 0% to 100%".into()),
        },
        None => parse_fraction(text),
    }
}
