//! Local times for humans, and the dates `search --since` accepts.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime, civil};

fn zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(TimeZone::system)
}

fn zoned(ms: i64) -> Option<ZonedDateTime> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned_datetime(zone().clone()))
}

/// `2024-05-01 14:03:05` in the local time zone.
pub fn local(ms: i64) -> String {
    zoned(ms).map_or_else(
        || "?".into(),
        |z| z.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// `14:03:05` for today, else `2024-05-01 14:03`.
pub fn short(ms: i64) -> String {
    let Some(z) = zoned(ms) else {
        return "?".into();
    };
    let today = Timestamp::now().to_zoned_datetime(zone().clone()).date();
    if z.date() == today {
        z.strftime("%H:%M:%S").to_string()
    } else {
        z.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// The Go client's export format (RFC 850): `Monday, 02-Jan-06 15:04:05 MST`.
pub fn rfc850(seconds: i64) -> String {
    zoned(seconds.saturating_mul(1000)).map_or_else(
        || "?".into(),
        |z| z.strftime("%A, %d-%b-%y %H:%M:%S %Z").to_string(),
    )
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// Parses a point in time: `2024-05-01` (local midnight), `2024-05-01 14:00` or
/// `2024-05-01T14:00` (local), RFC 3339 (`2024-05-01T14:00:00Z`), unix seconds
/// (`@1714567890`), or an age (`2h`, `3 days`, `1w`). Returns unix seconds.
pub fn parse_since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Some(secs) = text.strip_prefix('@') {
        return secs
            .parse::<i64>()
            .map_err(|e| format!("invalid unix time {text:?}: {e}"));
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_second());
    }
    if let Ok(dt) = text.parse::<civil::DateTime>() {
        return dt
            .to_zoned_datetime(zone().clone())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| e.to_string());
    }
    if let Ok(d) = text.parse::<civil::Date>() {
        return d
            .to_zoned_datetime(zone().clone())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| e.to_string());
    }
    let span = text.strip_suffix(" ago").unwrap_or(text);
    if let Ok(span) = span.parse::<Span>() {
        let span = if span.is_negative() {
            span.negate()
        } else {
            span
        };
        return ZonedDateTime::now()
            .checked_sub(span)
            .map(|z| z.timestamp().as_second())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "cannot read {text:?} as a date: use 2024-05-01, \"2024-05-01 14:00\", 2024-05-01T14:00:00Z, @UNIX or an age like 2h or 3d"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_since("@1714567890"), Ok(1_714_567_890));
        assert_eq!(parse_since("2024-05-01T12:51:30Z"), Ok(1_714_567_890));
        assert!(parse_since("2024-05-01").is_ok());
        assert!(parse_since("2024-05-01 14:00").is_ok());
        let now = Timestamp::now().as_second();
        let two_hours = parse_since("2h").expect("age");
        assert!((now - 7200 - two_hours).abs() <= 2, "{two_hours} vs {now}");
        assert!(parse_since("3 days").is_ok());
        assert!(parse_since("yesterday-ish").is_err());
    }
}
