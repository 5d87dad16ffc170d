//! Times written the way runc writes them: RFC 3339 in UTC, to the
//! nanosecond (`2024-05-01T12:00:00.123456789Z`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `time` as RFC 3339 in UTC with nanoseconds. Times before 1970 are
/// written as the epoch.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (date, clock) = split(since.as_secs());
    format!("{}T{}.{:09}Z", date, clock, since.subsec_nanos())
}

/// `time` for use in a file name: `20240501-120000.123456`.
pub fn compact(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (date, clock) = split(since.as_secs());
    format!(
        "{}-{}.{:06}",
        date.replace('-', ""),
        clock.replace(':', ""),
        since.subsec_micros()
    )
}

/// `YYYY-MM-DD` and `hh:mm:ss` for a number of seconds since the epoch.
fn split(secs: u64) -> (String, String) {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        ),
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's algorithm, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(at(951_782_400, 5)),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            rfc3339(at(1_714_564_800, 123_456_789)),
            "2024-05-01T12:00:00.123456789Z"
        );
        assert_eq!(
            rfc3339(at(4_102_444_799, 0)),
            "2099-12-31T23:59:59.000000000Z"
        );
        assert_eq!(
            compact(at(1_714_564_800, 123_456_789)),
            "20240501-120000.123456"
        );
    }

    #[test]
    fn before_the_epoch_is_the_epoch() {
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000000000Z"
        );
    }
}
