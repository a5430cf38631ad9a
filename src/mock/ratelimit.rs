//! Per-registry rate limits, as the real registries enforce them: a token bucket per registry refilled
//! at the configured requests per second (burst of one second's worth). Beyond it a request gets HTTP
//! 429 with `Retry-After`, so the gateway's retry and admission logic can be tested against it. Time
//! comes from the [`Clock`](crate::clock::Clock), so tests need no sleeps.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::contract::Registry;

/// Rate limits for all registries; `None` means unlimited.
#[derive(Debug, Default)]
pub struct RateLimiter {
    per_second: Option<f64>,
    buckets: Mutex<HashMap<Registry, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: SystemTime,
}

impl RateLimiter {
    /// Limit every registry to `per_second` requests per second (`None` or a non-positive rate: no limit).
    pub fn new(per_second: Option<f64>) -> RateLimiter {
        RateLimiter {
            per_second: per_second.filter(|r| *r > 0.0),
            buckets: Mutex::default(),
        }
    }

    /// Take one request's worth for `registry` at `now`; `Err(retry_after)` when the limit is reached.
    pub fn check(&self, registry: Registry, now: SystemTime) -> Result<(), Duration> {
        let Some(rate) = self.per_second else {
            return Ok(());
        };
        let burst = rate.max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(registry).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now
            .duration_since(bucket.at)
            .unwrap_or_default()
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_429_until_the_bucket_refills() {
        let limiter = RateLimiter::new(Some(2.0));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert!(limiter.check(Registry::Snils, t0).is_ok());
        assert!(limiter.check(Registry::Snils, t0).is_ok());
        let wait = limiter.check(Registry::Snils, t0).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Registries are limited separately.
        assert!(limiter.check(Registry::Inn, t0).is_ok());
        // Half a second later one more request fits.
        assert!(
            limiter
                .check(Registry::Snils, t0 + Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .check(Registry::Snils, t0 + Duration::from_millis(500))
                .is_err()
        );
    }

    #[test]
    fn no_rate_means_no_limit() {
        let limiter = RateLimiter::new(None);
        let t0 = SystemTime::UNIX_EPOCH;
        assert!((0..10_000).all(|_| limiter.check(Registry::Labour, t0).is_ok()));
    }
}
