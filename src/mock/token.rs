//! Access tokens of the mock registries' token endpoint (OAuth2 client-credentials style): issued with
//! a lifetime, judged by the [`Clock`] so tests move time instead of sleeping.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::contract::Reason;

/// The default token lifetime (issue 7: 300 s).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Why a bearer token is not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token this store never issued.
    Unknown,
    /// A token whose lifetime is over.
    Expired {
        /// How long ago it expired.
        ago: Duration,
    },
}

impl TokenError {
    /// The reason its fault names (`soap:Client`, detail code `TOKEN_MISSING`, …).
    pub fn fault_reason(&self) -> Reason {
        match self {
            TokenError::Missing => Reason::TokenMissing,
            TokenError::Unknown => Reason::TokenUnknown,
            TokenError::Expired { .. } => Reason::TokenExpired,
        }
    }
}

impl TokenError {
    /// Its name in the mock's counters of rejected requests.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Unknown => "token_unknown",
            TokenError::Expired { .. } => "token_expired",
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Missing => write!(f, "no bearer token"),
            TokenError::Unknown => write!(f, "unknown access token"),
            TokenError::Expired { ago } => {
                write!(f, "access token expired {} s ago", ago.as_secs())
            }
        }
    }
}

impl std::error::Error for TokenError {}

/// A token just issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The opaque token.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

/// Issued tokens and their expiry times.
#[derive(Debug)]
pub struct TokenStore {
    lifetime: Duration,
    counter: AtomicU64,
    // Keyed per process, so tokens are not guessable from the counter alone.
    keys: RandomState,
    expiry: Mutex<HashMap<String, SystemTime>>,
}

impl Default for TokenStore {
    fn default() -> Self {
        TokenStore::new(DEFAULT_LIFETIME)
    }
}

impl TokenStore {
    /// A store issuing tokens that live `lifetime`.
    pub fn new(lifetime: Duration) -> TokenStore {
        TokenStore {
            lifetime,
            counter: AtomicU64::new(0),
            keys: RandomState::new(),
            expiry: Mutex::new(HashMap::new()),
        }
    }

    /// The lifetime of new tokens.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Issue a token valid from `clock`'s now. Expired tokens are forgotten lazily here, so the map
    /// stays bounded by the tokens issued within one lifetime.
    pub fn issue(&self, clock: &dyn Clock) -> Issued {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut a = self.keys.build_hasher();
        a.write_u64(n);
        let mut b = self.keys.build_hasher();
        b.write_u64(!n);
        b.write_u64(a.finish());
        let access_token = format!("{:016x}{:016x}{n:x}", a.finish(), b.finish());
        let now = clock.now();
        let mut map = self.expiry.lock().unwrap_or_else(|p| p.into_inner());
        if n.is_multiple_of(1024) {
            // Keep expired tokens for one more lifetime so they still read as expired, not unknown.
            let horizon = now.checked_sub(self.lifetime).unwrap_or(now);
            map.retain(|_, exp| *exp > horizon);
        }
        map.insert(access_token.clone(), now + self.lifetime);
        Issued {
            access_token,
            expires_in: self.lifetime.as_secs(),
        }
    }

    /// Check a bearer token (`None`: none was presented) at `clock`'s now.
    pub fn check(&self, token: Option<&str>, clock: &dyn Clock) -> Result<(), TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        let map = self.expiry.lock().unwrap_or_else(|p| p.into_inner());
        let expires = *map.get(token).ok_or(TokenError::Unknown)?;
        match clock.now().duration_since(expires) {
            Ok(ago) => Err(TokenError::Expired { ago }),
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn tokens_live_their_lifetime_then_expire() {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        let store = TokenStore::default();
        let t = store.issue(&clock);
        assert_eq!(t.expires_in, 300);
        assert_eq!(store.check(Some(&t.access_token), &clock), Ok(()));
        assert_eq!(store.check(None, &clock), Err(TokenError::Missing));
        assert_eq!(store.check(Some("nope"), &clock), Err(TokenError::Unknown));
        clock.advance(Duration::from_secs(299));
        assert_eq!(store.check(Some(&t.access_token), &clock), Ok(()));
        clock.advance(Duration::from_secs(2));
        assert!(matches!(
            store.check(Some(&t.access_token), &clock),
            Err(TokenError::Expired { .. })
        ));
        assert_ne!(store.issue(&clock).access_token, t.access_token);
    }
}
