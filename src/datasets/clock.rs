//! Simulated time: epoch-millisecond calendar maths, the timestamp styles of each log format, and
//! the diurnal/weekly curve of human activity.

use super::util::Put;

pub(crate) const SEC: i64 = 1_000;
pub(crate) const MIN: i64 = 60 * SEC;
pub(crate) const HOUR: i64 = 60 * MIN;
pub(crate) const DAY: i64 = 24 * HOUR;

/// Offset of the company's local time from UTC (a US East Coast office, standard time).
const LOCAL_OFFSET: i64 = -5 * HOUR;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u32,
}

/// Calendar date of a day count since 1970-01-01 (proleptic Gregorian; Hinnant's algorithm).
fn date_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(DAY);
    let in_day = ms.rem_euclid(DAY);
    let (year, month, day) = date_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (in_day / HOUR) as u32,
        minute: (in_day % HOUR / MIN) as u32,
        second: (in_day % MIN / SEC) as u32,
        millis: (in_day % SEC) as u32,
        weekday: (days + 3).rem_euclid(7) as u32,
    }
}

fn put_date_time(out: &mut Vec<u8>, c: &Civil) {
    out.u(c.year.max(0) as u64);
    out.push(b'-');
    out.pad(c.month.into(), 2);
    out.push(b'-');
    out.pad(c.day.into(), 2);
    out.push(b'T');
    put_hms(out, c);
}

fn put_hms(out: &mut Vec<u8>, c: &Civil) {
    out.pad(c.hour.into(), 2);
    out.push(b':');
    out.pad(c.minute.into(), 2);
    out.push(b':');
    out.pad(c.second.into(), 2);
}

/// `2024-05-01T12:00:00Z` (CloudTrail).
pub(crate) fn put_iso_secs(out: &mut Vec<u8>, ms: i64) {
    put_date_time(out, &civil(ms));
    out.push(b'Z');
}

/// `2024-05-01T12:00:00.123Z` (application logs).
pub(crate) fn put_iso_millis(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    put_date_time(out, &c);
    out.push(b'.');
    out.pad(c.millis.into(), 3);
    out.push(b'Z');
}

pub(crate) fn iso_secs(ms: i64) -> String {
    let mut v = Vec::with_capacity(20);
    put_iso_secs(&mut v, ms);
    String::from_utf8_lossy(&v).into_owned()
}

/// `Mar  5 06:25:01` (RFC 3164 syslog: no year, space-padded day).
pub(crate) fn put_syslog(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    out.s(MONTHS[(c.month as usize + 11) % 12]);
    out.push(b' ');
    if c.day < 10 {
        out.push(b' ');
    }
    out.u(c.day.into());
    out.push(b' ');
    put_hms(out, &c);
}

/// `7/5/2024 6:25:01` (CICIDS2017 style: d/m/yyyy, 24-hour clock without a leading zero).
pub(crate) fn put_cicids(out: &mut Vec<u8>, ms: i64) {
    let c = civil(ms);
    out.u(c.day.into());
    out.push(b'/');
    out.u(c.month.into());
    out.push(b'/');
    out.u(c.year.max(0) as u64);
    out.push(b' ');
    out.u(c.hour.into());
    out.push(b':');
    out.pad(c.minute.into(), 2);
    out.push(b':');
    out.pad(c.second.into(), 2);
}

/// `20240501T1205Z` (CloudTrail file names).
pub(crate) fn compact_minute(ms: i64) -> String {
    let c = civil(ms);
    let mut v = Vec::with_capacity(14);
    v.u(c.year.max(0) as u64);
    v.pad(c.month.into(), 2);
    v.pad(c.day.into(), 2);
    v.push(b'T');
    v.pad(c.hour.into(), 2);
    v.pad(c.minute.into(), 2);
    v.push(b'Z');
    String::from_utf8_lossy(&v).into_owned()
}

/// `May 1, 2024, 6:00:00 PM` (how STS writes credential expiry in CloudTrail).
pub(crate) fn sts_expiration(ms: i64) -> String {
    let c = civil(ms);
    let (h12, ampm) = match c.hour {
        0 => (12, "AM"),
        1..=11 => (c.hour, "AM"),
        12 => (12, "PM"),
        _ => (c.hour - 12, "PM"),
    };
    format!(
        "{} {}, {}, {}:{:02}:{:02} {}",
        MONTHS[(c.month as usize + 11) % 12],
        c.day,
        c.year,
        h12,
        c.minute,
        c.second,
        ampm
    )
}

/// Relative human activity at a moment (1.0 = a busy weekday afternoon), in company local time.
pub(crate) fn diurnal(ms: i64) -> f64 {
    const WEEKDAY: [f64; 24] = [
        0.03, 0.02, 0.015, 0.015, 0.02, 0.05, 0.15, 0.45, 0.85, 1.0, 1.0, 0.95, 0.75, 0.9, 1.0,
        0.95, 0.85, 0.6, 0.35, 0.25, 0.2, 0.14, 0.08, 0.05,
    ];
    let c = civil(ms + LOCAL_OFFSET);
    let w = WEEKDAY[c.hour as usize];
    if c.weekday >= 5 { 0.02 + w * 0.1 } else { w }
}

/// Average of [`diurnal`] over a week, so shares can be normalised.
pub(crate) fn diurnal_mean() -> f64 {
    let total: f64 = (0..7 * 24).map(|h| diurnal(h * HOUR + HOUR / 2)).sum();
    total / (7.0 * 24.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats_match_chrono() {
        for ms in [
            0i64,
            951_782_400_123,
            1_714_953_600_000,
            1_709_619_901_000,
            4_102_444_799_999,
        ] {
            let dt = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(
                s(|v| put_iso_millis(v, ms)),
                dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
            assert_eq!(
                s(|v| put_syslog(v, ms)),
                dt.format("%b %e %H:%M:%S").to_string()
            );
            assert_eq!(
                s(|v| put_cicids(v, ms)),
                dt.format("%-d/%-m/%Y %-H:%M:%S").to_string()
            );
            assert_eq!(compact_minute(ms), dt.format("%Y%m%dT%H%MZ").to_string());
            let wd = chrono::Datelike::weekday(&dt).num_days_from_monday();
            assert_eq!(civil(ms).weekday, wd);
        }
        assert_eq!(sts_expiration(1_714_586_400_000), "May 1, 2024, 6:00:00 PM");
    }
}
