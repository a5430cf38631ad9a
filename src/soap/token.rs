//! Access tokens for one registry: obtained from its token endpoint, checked for remaining lifetime
//! before every use, refreshed ahead of expiry, one refresh at a time however many calls wait.
//!
//! - A token counts as expired `skew` before its stated expiry, so a registry whose clock runs ahead
//!   never sees an expired one from us.
//! - Once less than `refresh_share` of its lifetime or `refresh_min_left` is left, the next caller
//!   refreshes it while the others keep using the still-live token; a failed early refresh is not an
//!   error as long as the token lives.
//! - An expired (or absent) token makes callers wait for the single refresh in flight.
//! - [`TokenManager::invalidate`] drops a token the registry called expired, so the retry gets a new
//!   one — once, however many calls saw the fault.
//!
//! Time comes from the [`Clock`], so tests move it instead of sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::contract::Registry;

/// A token as the token endpoint issued it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The bearer token.
    pub access_token: String,
    /// Its lifetime as stated by the endpoint.
    pub expires_in: Duration,
}

/// Why no token could be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    /// The registry whose endpoint failed.
    pub registry: Registry,
    /// What happened.
    pub message: String,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "token endpoint of the {} registry: {}",
            self.registry, self.message
        )
    }
}

impl std::error::Error for TokenError {}

/// The future a [`TokenSource`] returns.
pub type Fetch<'a> = Pin<Box<dyn Future<Output = Result<Issued, TokenError>> + Send + 'a>>;

/// Where tokens come from: the registry's token endpoint, or a fake in tests.
pub trait TokenSource: Send + Sync {
    /// Obtain a new token.
    fn fetch(&self) -> Fetch<'_>;
}

/// When to refresh.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenPolicy {
    /// Refresh once less than this share of the lifetime is left.
    pub refresh_share: f64,
    /// Refresh once less than this is left, whatever the share.
    pub refresh_min_left: Duration,
    /// Treat a token as expired this long before its stated expiry (clock skew between us and the
    /// registry).
    pub skew: Duration,
}

impl Default for TokenPolicy {
    fn default() -> TokenPolicy {
        TokenPolicy {
            refresh_share: 0.2,
            refresh_min_left: Duration::from_secs(60),
            skew: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Debug)]
struct Held {
    token: String,
    obtained: SystemTime,
    /// Stated expiry minus skew: from here on it is never sent.
    usable_until: SystemTime,
    /// From here on the next caller refreshes it.
    refresh_from: SystemTime,
}

/// Tokens of one registry.
pub struct TokenManager {
    registry: Registry,
    source: Arc<dyn TokenSource>,
    clock: Arc<dyn Clock>,
    policy: TokenPolicy,
    held: Mutex<Option<Held>>,
    /// Held by the one caller that refreshes.
    refreshing: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
}

impl TokenManager {
    /// Tokens of `registry` from `source`, judged by `clock`.
    pub fn new(
        registry: Registry,
        source: Arc<dyn TokenSource>,
        clock: Arc<dyn Clock>,
        policy: TokenPolicy,
    ) -> TokenManager {
        TokenManager {
            registry,
            source,
            clock,
            policy,
            held: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
        }
    }

    fn current(&self) -> Option<Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A live token: the current one, or a new one if it is expired, absent or due.
    pub async fn token(&self) -> Result<String, TokenError> {
        let now = self.clock.now();
        if let Some(h) = self.current() {
            if now < h.refresh_from {
                return Ok(h.token);
            }
            if now < h.usable_until {
                // Due but alive: one caller refreshes early, the rest go on with the live token.
                let Ok(_gate) = self.refreshing.try_lock() else {
                    return Ok(h.token);
                };
                return match self
                    .refresh_if(|h| h.is_some_and(|h| h.refresh_from <= now))
                    .await
                {
                    Ok(token) => Ok(token),
                    Err(e) => {
                        tracing::warn!(registry = %self.registry, error = %e, "early token refresh failed; the current token is still live");
                        Ok(h.token)
                    }
                };
            }
        }
        // Expired or absent: wait for the one refresh, then look again (it may have been done).
        let _gate = self.refreshing.lock().await;
        let now = self.clock.now();
        self.refresh_if(|h| h.is_none_or(|h| h.usable_until <= now))
            .await
    }

    /// With the refresh gate held: fetch a new token if `stale` says the held one is, else return it.
    async fn refresh_if(
        &self,
        stale: impl Fn(Option<&Held>) -> bool,
    ) -> Result<String, TokenError> {
        if let Some(h) = self.current().filter(|h| !stale(Some(h))) {
            return Ok(h.token);
        }
        let issued = self.source.fetch().await?;
        let obtained = self.clock.now();
        let lifetime = issued.expires_in;
        let early = lifetime
            .mul_f64(self.policy.refresh_share)
            .max(self.policy.refresh_min_left)
            .min(lifetime);
        let held = Held {
            token: issued.access_token.clone(),
            obtained,
            usable_until: obtained + lifetime.saturating_sub(self.policy.skew),
            refresh_from: obtained + lifetime.saturating_sub(early),
        };
        if let Some(old) = self.current() {
            let age = obtained.duration_since(old.obtained).unwrap_or_default();
            metrics::histogram!("reggate_token_age_at_refresh_seconds", "registry" => self.registry.name())
                .record(age.as_secs_f64());
        }
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(held);
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("reggate_token_refreshes_total", "registry" => self.registry.name())
            .increment(1);
        Ok(issued.access_token)
    }

    /// The registry said `token` is expired: forget it, unless a newer one already replaced it.
    pub fn invalidate(&self, token: &str) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.as_ref().is_some_and(|h| h.token == token) {
            *held = None;
        }
    }

    /// Tokens obtained so far.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// How long the current token may still be sent (zero once past its stated expiry less skew); none
    /// before the first token.
    pub fn usable_for(&self) -> Option<Duration> {
        let h = self.current()?;
        Some(
            h.usable_until
                .duration_since(self.clock.now())
                .unwrap_or_default(),
        )
    }

    /// How long the current token has been held.
    pub fn age(&self) -> Option<Duration> {
        let h = self.current()?;
        Some(
            self.clock
                .now()
                .duration_since(h.obtained)
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// Issues `t1`, `t2`, … with a 300 s lifetime, after `delay`, counting fetches; fails while `down`.
    struct Fake {
        n: AtomicU64,
        delay: Duration,
        down: std::sync::atomic::AtomicBool,
    }

    impl Fake {
        fn new(delay: Duration) -> Arc<Fake> {
            Arc::new(Fake {
                n: AtomicU64::new(0),
                delay,
                down: std::sync::atomic::AtomicBool::new(false),
            })
        }
    }

    impl TokenSource for Fake {
        fn fetch(&self) -> Fetch<'_> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                if self.down.load(Ordering::SeqCst) {
                    return Err(TokenError {
                        registry: Registry::Snils,
                        message: "down".into(),
                    });
                }
                let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Issued {
                    access_token: format!("t{n}"),
                    expires_in: Duration::from_secs(300),
                })
            })
        }
    }

    fn manager(fake: Arc<Fake>, clock: Arc<ManualClock>) -> Arc<TokenManager> {
        Arc::new(TokenManager::new(
            Registry::Snils,
            fake,
            clock,
            TokenPolicy::default(),
        ))
    }

    #[tokio::test]
    async fn a_token_is_reused_then_refreshed_before_it_expires() {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        ));
        let fake = Fake::new(Duration::ZERO);
        let m = manager(fake.clone(), clock.clone());
        assert_eq!(m.token().await.unwrap(), "t1");
        clock.advance(Duration::from_secs(200));
        assert_eq!(
            m.token().await.unwrap(),
            "t1",
            "80% of the lifetime is left"
        );
        // 300 s lifetime: 20% is 60 s, and at least 60 s: refresh from 240 s on, well before expiry.
        clock.advance(Duration::from_secs(41));
        assert_eq!(m.token().await.unwrap(), "t2");
        assert_eq!(m.refreshes(), 2);
        assert_eq!(m.age(), Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn skew_keeps_a_nearly_expired_token_from_being_sent() {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        ));
        let fake = Fake::new(Duration::ZERO);
        let m = manager(fake.clone(), clock.clone());
        assert_eq!(m.token().await.unwrap(), "t1");
        fake.down.store(true, Ordering::SeqCst);
        // Due for refresh, the endpoint down: the live token is still used.
        clock.advance(Duration::from_secs(250));
        assert_eq!(m.token().await.unwrap(), "t1");
        // 296 s: within the 5 s skew of expiry. Never sent; without a new one, an error.
        clock.advance(Duration::from_secs(46));
        let err = m.token().await.unwrap_err();
        assert!(err.to_string().contains("snils"), "{err}");
        fake.down.store(false, Ordering::SeqCst);
        assert_eq!(m.token().await.unwrap(), "t2");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hundred_waiting_calls_cause_one_refresh() {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        ));
        let fake = Fake::new(Duration::from_millis(50));
        let m = manager(fake.clone(), clock.clone());
        let hundred = |expected: &'static str| {
            let calls: Vec<_> = (0..100)
                .map(|_| {
                    let m = m.clone();
                    tokio::spawn(async move { m.token().await })
                })
                .collect();
            async move {
                for c in calls {
                    assert_eq!(c.await.unwrap().unwrap(), expected);
                }
            }
        };
        hundred("t1").await;
        assert_eq!(fake.n.load(Ordering::SeqCst), 1);
        // Expired: again a hundred callers, one refresh.
        clock.advance(Duration::from_secs(400));
        hundred("t2").await;
        assert_eq!(fake.n.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_expired_fault_invalidates_once() {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        ));
        let fake = Fake::new(Duration::ZERO);
        let m = manager(fake.clone(), clock.clone());
        let t1 = m.token().await.unwrap();
        m.invalidate(&t1);
        assert_eq!(m.token().await.unwrap(), "t2");
        // A second call that saw the same fault with the old token does not drop the new one.
        m.invalidate(&t1);
        assert_eq!(m.token().await.unwrap(), "t2");
        assert_eq!(fake.n.load(Ordering::SeqCst), 2);
    }
}
