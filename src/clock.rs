//! Time as reggate sees it: every rule that depends on "now" (token lifetimes, certificate expiry, the
//! 30-day appeal and overdue rules) reads a [`Clock`], so tests can set and move time instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Set the clock.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A moment as UTC calendar parts: (year, month, day, hour, minute, second). Times before 1970 work
/// too (proleptic Gregorian calendar).
pub fn utc_parts(t: SystemTime) -> (i64, i64, i64, i64, i64, i64) {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // ±100 million days is ±270,000 years: far beyond any real moment, and safe in i32 arithmetic.
    let days = days.clamp(-100_000_000, 100_000_000) as i32;
    let (y, m, d) = crate::calendar::civil_from_days(days);
    let (y, m, d) = (i64::from(y), i64::from(m), i64::from(d));
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

pub use crate::calendar::millis;

/// The moment of a [`millis`] value.
pub fn from_millis(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a moment (UTC), as SOAP metadata carries it.
pub fn timestamp(at: SystemTime) -> String {
    let (y, m, d, h, min, sec) = utc_parts(at);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_time() {
        assert_eq!(timestamp(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_782_900_000);
        assert_eq!(timestamp(t), "2026-07-01T10:00:00Z");
    }

    #[test]
    fn utc_parts_of_known_moments() {
        assert_eq!(utc_parts(SystemTime::UNIX_EPOCH), (1970, 1, 1, 0, 0, 0));
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_096); // 2024-02-29T12:34:56Z
        assert_eq!(utc_parts(t), (2024, 2, 29, 12, 34, 56));
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(utc_parts(before), (1969, 12, 31, 0, 0, 0));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let c = ManualClock::new(start);
        assert_eq!(c.now(), start);
        c.advance(Duration::from_secs(300));
        assert_eq!(c.now(), start + Duration::from_secs(300));
        c.set(start);
        assert_eq!(c.now(), start);
    }
}
