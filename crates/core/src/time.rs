//! Moments and durations. The core never reads the clock: front doors pass `now` (seconds since the
//! Unix epoch, UTC) into every use case. Here live the parsers of the CLI's WHEN and DURATION.

use crate::error::{Error, Result};
use chrono::{DateTime, SecondsFormat, Utc};

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The wall clock, for front doors only.
pub fn now() -> Timestamp {
    Utc::now().timestamp()
}

/// RFC 3339 UTC with a `Z`, to the second: how every time appears in JSON.
pub fn rfc3339(t: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| t.to_string())
}

pub fn rfc3339_opt(t: Option<Timestamp>) -> Option<String> {
    t.map(rfc3339)
}

/// A duration such as `90d`, `12h`, `30m`, `45s` or `2w`, in seconds.
pub fn parse_duration(field: &str, text: &str) -> Result<i64> {
    let text = text.trim();
    let bad = || {
        Error::invalid(field, format!("'{text}' is not a duration; write a number and a unit, e.g. 90d, 12h, 30m, 45s"))
    };
    if text.len() < 2 || !text.is_ascii() {
        return Err(bad());
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let n: i64 = digits.parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(Error::invalid(field, "a duration must be greater than zero"));
    }
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_seconds)
        .filter(|s| *s < 200 * 365 * 86_400)
        .ok_or_else(|| Error::invalid(field, "that duration is too long"))
}

/// WHEN: an RFC 3339 moment, a duration from now, or `never` (None).
pub fn parse_when(field: &str, text: &str, now: Timestamp) -> Result<Option<Timestamp>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("never") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(Some(d.with_timezone(&Utc).timestamp()));
    }
    if t.chars().next().is_some_and(|c| c.is_ascii_digit()) && t.chars().last().is_some_and(|c| c.is_ascii_alphabetic())
    {
        return Ok(Some(now + parse_duration(field, t)?));
    }
    Err(Error::invalid(
        field,
        format!(
            "'{}' is not a moment; write RFC 3339 (2027-01-31T17:00:00Z), a duration (90d, 12h, 30m, 45s) or never",
            crate::validate::shorten(t)
        ),
    ))
}

/// A moment in the past, for filters such as `--since`: RFC 3339, or a duration meaning that long
/// ago (`7d`).
pub fn parse_past(field: &str, text: &str, now: Timestamp) -> Result<Option<Timestamp>> {
    match parse_duration(field, text) {
        Ok(ago) => Ok(Some(now - ago)),
        Err(_) => parse_when(field, text, now),
    }
}

/// A new expiry must lie in the future (rule 10).
pub fn require_future(field: &str, when: Option<Timestamp>, now: Timestamp) -> Result<Option<Timestamp>> {
    match when {
        Some(t) if t <= now => Err(Error::invalid(field, format!("{} is not in the future", rfc3339(t)))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_moments() {
        assert_eq!(parse_duration("f", "90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_duration("f", "45s").unwrap(), 45);
        assert!(parse_duration("f", "0s").is_err());
        assert!(parse_duration("f", "12x").is_err());
        assert_eq!(parse_when("f", "never", 10).unwrap(), None);
        assert_eq!(parse_when("f", "30m", 10).unwrap(), Some(1810));
        assert_eq!(parse_when("f", "1970-01-01T00:01:00Z", 0).unwrap(), Some(60));
        assert_eq!(parse_when("f", "1970-01-01T01:01:00+01:00", 0).unwrap(), Some(60));
        let e = parse_when("access_expires", "tomorrow", 0).unwrap_err();
        assert_eq!(e.field(), Some("access_expires"));
        assert!(require_future("f", Some(5), 10).is_err());
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
