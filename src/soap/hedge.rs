//! Hedged attempts: when a retry-safe call has not answered after [`HedgePolicy::after`], a second
//! attempt goes out beside it (and after as long again a third, up to [`HedgePolicy::parallel`]);
//! whichever answers first is taken and the others are dropped (their connections closed, their
//! in-flight permits returned). So a registry that leaves a share of its
//! calls hanging costs each of them `after`, not an attempt timeout — and the applications waiting
//! on it keep moving.
//!
//! Hedges are extra load on a registry that may be slow because it is loaded, so each registry
//! has a budget: every call earns [`HedgePolicy::share`] of a hedge, a hedge spends one, and at most
//! [`HedgePolicy::burst`] are saved up. A registry that is slow on every call therefore gets at most
//! that share of calls twice, never all of them. Writes that are not safe to repeat (registering an
//! assignment) are never hedged.

use std::sync::Mutex;
use std::time::Duration;

/// When to hedge and how much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgePolicy {
    /// How long an attempt may go unanswered before its hedge is sent (none: never hedge).
    pub after: Option<Duration>,
    /// Hedges per call, at most, over time.
    pub share: f64,
    /// Hedges saved up for a burst.
    pub burst: f64,
    /// Attempts of one call out at once, the first included.
    pub parallel: usize,
}

impl Default for HedgePolicy {
    fn default() -> HedgePolicy {
        HedgePolicy {
            after: Some(Duration::from_millis(500)),
            share: 0.3,
            burst: 20.0,
            parallel: 3,
        }
    }
}

/// One registry's hedge budget.
#[derive(Debug)]
pub struct HedgeBudget {
    policy: HedgePolicy,
    tokens: Mutex<f64>,
}

impl HedgeBudget {
    /// A full budget.
    pub fn new(policy: HedgePolicy) -> HedgeBudget {
        HedgeBudget {
            policy,
            tokens: Mutex::new(policy.burst),
        }
    }

    /// How long to wait before hedging a call (none: do not).
    pub fn after(&self) -> Option<Duration> {
        self.policy.after
    }

    /// Attempts of one call out at once, at most.
    pub fn parallel(&self) -> usize {
        self.policy.parallel.max(1)
    }

    /// A call is made: it earns its share.
    pub fn earn(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *t = (*t + self.policy.share).min(self.policy.burst);
    }

    /// Whether a hedge may go out now (spending one if so).
    pub fn spend(&self) -> bool {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if *t >= 1.0 {
            *t -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hedges_are_bounded_by_the_share_of_calls() {
        let budget = HedgeBudget::new(HedgePolicy {
            after: Some(Duration::from_millis(1)),
            share: 0.25,
            burst: 2.0,
            parallel: 2,
        });
        // The saved-up burst first.
        assert!(budget.spend() && budget.spend());
        assert!(!budget.spend(), "burst spent");
        // Then one hedge per four calls, however many are asked for.
        let mut hedges = 0;
        for _ in 0..100 {
            budget.earn();
            if budget.spend() {
                hedges += 1;
            }
            let _ = budget.spend();
        }
        assert_eq!(hedges, 25);
        // Saving up stops at the burst.
        for _ in 0..100 {
            budget.earn();
        }
        assert!(budget.spend() && budget.spend() && !budget.spend());
    }
}
