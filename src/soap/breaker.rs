//! A circuit breaker per registry: after `failures` failed attempts in a row it opens, and calls fail
//! at once (no request leaves) for `open_for`; then it lets one probe through (half-open): a success
//! closes it, a failure opens it again. It spares a registry that is down the load of retries, and
//! the callers the wait. Time comes from the [`Clock`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

/// When to open and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failed attempts that open it.
    pub failures: u32,
    /// How long it stays open before a probe.
    pub open_for: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> BreakerPolicy {
        BreakerPolicy {
            failures: 5,
            open_for: Duration::from_secs(10),
        }
    }
}

/// The breaker's state, as metrics and errors report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// Calls fail at once until `until`.
    Open {
        /// When a probe may go.
        until: SystemTime,
    },
    /// One probe is in flight; other calls fail at once.
    HalfOpen,
}

/// One registry's breaker.
pub struct Breaker {
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
    state: Mutex<BreakerState>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy, clock: Arc<dyn Clock>) -> Breaker {
        Breaker {
            policy,
            clock,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// May an attempt go now? `Err(wait)`: no, the breaker is open for about `wait` more.
    pub fn admit(&self) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut state = self.lock();
        match *state {
            BreakerState::Closed { .. } => Ok(()),
            BreakerState::Open { until } if now >= until => {
                *state = BreakerState::HalfOpen;
                Ok(())
            }
            BreakerState::Open { until } => Err(until.duration_since(now).unwrap_or_default()),
            BreakerState::HalfOpen => Err(self.policy.open_for),
        }
    }

    /// The attempt admitted last succeeded (the registry answered).
    pub fn success(&self) {
        *self.lock() = BreakerState::Closed { failures: 0 };
    }

    /// The attempt admitted last failed in a way that says the registry is unwell.
    pub fn failure(&self) {
        let now = self.clock.now();
        let mut state = self.lock();
        let open = BreakerState::Open {
            until: now + self.policy.open_for,
        };
        *state = match *state {
            BreakerState::Closed { failures } if failures + 1 >= self.policy.failures => open,
            BreakerState::Closed { failures } => BreakerState::Closed {
                failures: failures + 1,
            },
            BreakerState::HalfOpen | BreakerState::Open { .. } => open,
        };
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn opens_after_consecutive_failures_then_probes_once() {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(100),
        ));
        let b = Breaker::new(
            BreakerPolicy {
                failures: 3,
                open_for: Duration::from_secs(10),
            },
            clock.clone(),
        );
        b.failure();
        b.failure();
        b.success();
        b.failure();
        b.failure();
        assert!(b.admit().is_ok(), "a success in between resets the count");
        b.failure();
        let wait = b.admit().unwrap_err();
        assert_eq!(wait, Duration::from_secs(10));
        clock.advance(Duration::from_secs(10));
        assert!(b.admit().is_ok(), "the probe");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.admit().is_err(), "only one probe");
        b.failure();
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        clock.advance(Duration::from_secs(10));
        assert!(b.admit().is_ok());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        assert!(b.admit().is_ok());
    }
}
