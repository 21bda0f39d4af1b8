//! Times as the user reads them: message stamps in the local time zone (injected, so tests
//! and snapshots use a fixed one), day separators, countdowns.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn zoned(unix_seconds: i64, tz: &TimeZone) -> Option<ZonedDateTime> {
    Timestamp::from_second(unix_seconds)
        .ok()
        .map(|t| t.to_zoned_datetime(tz.clone()))
}

/// The local calendar day of a unix time.
pub fn day(unix_seconds: i64, tz: &TimeZone) -> Option<Date> {
    zoned(unix_seconds, tz).map(|z| z.date())
}

/// Formats a unix time with a strftime format (`?` if either is unusable).
pub fn format(unix_seconds: i64, tz: &TimeZone, fmt: &str) -> String {
    zoned(unix_seconds, tz)
        .and_then(|z| jiff::fmt::strtime::format(fmt, &z).ok())
        .unwrap_or_else(|| "?".into())
}

/// Checks that a strftime format can be used.
///
/// # Errors
///
/// jiff's description of the problem.
pub fn check_format(fmt: &str) -> Result<(), String> {
    let sample = Timestamp::UNIX_EPOCH.to_zoned_datetime(TimeZone::UTC);
    jiff::fmt::strtime::format(fmt, &sample)
        .map(|_| ())
        .map_err(|e| format!("unusable time format {fmt:?}: {e}"))
}

/// A short duration: `45s`, `4m 05s`, `2h 10m`.
pub fn short_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_given_zone() {
        let tz = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(format(0, &TimeZone::UTC, "%H:%M"), "00:00");
        assert_eq!(format(0, &tz, "%H:%M"), "02:00");
        assert_eq!(format(0, &tz, "%a %d %b %Y"), "Thu 01 Jan 1970");
        assert!(check_format("%H:%M").is_ok());
        assert!(check_format("%").is_err());
        assert_eq!(short_duration(245), "4m 05s");
        assert_eq!(short_duration(7800), "2h 10m");
    }
}
