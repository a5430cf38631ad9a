//! Calendar dates as day numbers from 1970-01-01 (proleptic Gregorian): parsing `YYYY-MM-DD` into
//! real dates only, formatting, month arithmetic. One calendar for the domain rules (ages, 30-day
//! windows), the mock population and timestamps ([`crate::clock`]).

/// Days from 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub const fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD`.
pub fn fmt_date(day: i32) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parse `YYYY-MM-DD` into a day number; `None` unless it is a real calendar date.
pub fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y as i32, m) {
        return None;
    }
    Some(days_from_civil(y as i32, m, d))
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `day` moved by `months` calendar months (the day of month clamped to the target month's length).
pub fn add_months(day: i32, months: i32) -> i32 {
    let (y, m, d) = civil_from_days(day);
    let total = y * 12 + (m as i32 - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    days_from_civil(ny, nm, d.min(days_in_month(ny, nm)))
}

/// The year of a day number.
pub fn year_of(day: i32) -> i32 {
    civil_from_days(day).0
}

/// Milliseconds since the epoch (moments before it count as the epoch). Here, below the clock,
/// because the clock formats its timestamps with this calendar; [`crate::clock::millis`] is this.
pub fn millis(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

/// The day number (UTC) of a moment given in milliseconds since the epoch.
pub fn day_of(ms: i64) -> i32 {
    ms.div_euclid(86_400_000).clamp(-100_000_000, 100_000_000) as i32
}

/// The day number (UTC) of a moment: "today" for the domain's date rules.
pub fn today(now: std::time::SystemTime) -> i32 {
    day_of(millis(now))
}

/// A real calendar date: built from `YYYY-MM-DD` only when that day exists, shown the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// The date of a day number.
    pub fn from_day(day: i32) -> Date {
        Date(day)
    }

    /// Its day number.
    pub fn day(self) -> i32 {
        self.0
    }
}

/// A text that is not a real `YYYY-MM-DD` date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotADate;

impl std::fmt::Display for NotADate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("must be a real date, YYYY-MM-DD")
    }
}

impl std::error::Error for NotADate {}

impl TryFrom<&str> for Date {
    type Error = NotADate;

    fn try_from(s: &str) -> Result<Date, NotADate> {
        parse_date(s).map(Date).ok_or(NotADate)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&fmt_date(self.0))
    }
}
