//! What the mock registries answer from and what they have seen: the schema, the population,
//! tokens, the fault plan, rate limits and counters, shared by every listener, handler and the admin
//! endpoint.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::mock::counters::Counters;
use crate::mock::faults::Faults;
use crate::mock::population::Population;
use crate::mock::ratelimit::RateLimiter;
use crate::mock::token::TokenStore;
use crate::xml::schema::Schema;
use crate::xml::validate::Options;

/// The files the registries serve besides their answers.
#[derive(Clone, Debug)]
pub struct ServedFiles {
    /// `<registry>.wsdl` files (`wsdl/` in the repository).
    pub wsdl: PathBuf,
    /// The schemas the WSDLs import (`schemas/`).
    pub schemas: PathBuf,
}

impl Default for ServedFiles {
    fn default() -> ServedFiles {
        ServedFiles {
            wsdl: PathBuf::from("wsdl"),
            schemas: PathBuf::from("schemas"),
        }
    }
}

/// How much of a SOAP request body the registries read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// The largest request answered: 2 MiB by default (what the mock has always taken, axum's
    /// default); the largest valid request of any registry is a few KiB. Beyond it: a fault
    /// `soap:Client`, detail code `REQUEST_TOO_LARGE`.
    pub max: usize,
    /// How much beyond `max` is still read, and dropped, before that fault goes out: 16 MiB by
    /// default. Clients such as zeep (Python requests) send the whole body before they read an
    /// answer; a server that answers mid-body and closes leaves unread data behind, the close
    /// becomes a reset, and the client never sees the answer. A body declared larger than
    /// `max + drain`, or sent with `Expect: 100-continue`, is answered at once without reading it.
    pub drain: usize,
}

impl Default for BodyLimits {
    fn default() -> BodyLimits {
        BodyLimits {
            max: 2 * 1024 * 1024,
            drain: 16 * 1024 * 1024,
        }
    }
}

/// Everything the mock registries answer from, and what they have seen.
pub struct MockState {
    /// The registry schemas (with the SOAP envelope schema).
    pub schema: Arc<Schema>,
    /// The population the answers come from.
    pub population: Population,
    /// Issued access tokens.
    pub tokens: TokenStore,
    /// Time for token lifetimes and response timestamps.
    pub clock: Arc<dyn Clock>,
    /// WSDLs and schemas served.
    pub files: ServedFiles,
    /// Validation limits.
    pub options: Options,
    /// Request body limits.
    pub bodies: BodyLimits,
    /// Source of response message ids.
    pub messages: AtomicU64,
    /// Requests per second each registry accepts (unlimited by default).
    pub limits: RateLimiter,
    /// The fault plan in force.
    pub faults: Faults,
    /// Requests, rejections and faults so far.
    pub counters: Counters,
    /// Set once the mock is stopping: hung calls and pending delays give up.
    pub stopping: watch::Sender<bool>,
    /// Recorded answers to give instead of the registry's own, once each.
    pub playback: Playback,
}

/// Recorded answers the registries give back as they are, once each, instead of their own: how
/// `reggate replay` puts a recorded registry answer through the gateway's client (its transport and
/// its checks) — an answer the mock would never make, like one a real registry sent.
#[derive(Debug, Default)]
pub struct Playback(Mutex<Vec<(crate::contract::Registry, u16, Bytes)>>);

impl Playback {
    /// The next call to `registry` is answered with `body` (`text/xml`) and HTTP `status`.
    pub fn push(&self, registry: crate::contract::Registry, status: u16, body: Bytes) {
        if let Ok(mut queue) = self.0.lock() {
            queue.push((registry, status, body));
        }
    }

    /// The answer waiting for a call to `registry`, taken.
    pub fn take(&self, registry: crate::contract::Registry) -> Option<(u16, Bytes)> {
        let mut queue = self.0.lock().ok()?;
        let i = queue.iter().position(|(r, _, _)| *r == registry)?;
        let (_, status, body) = queue.remove(i);
        Some((status, body))
    }

    /// Nothing waiting any more.
    pub fn clear(&self) {
        if let Ok(mut queue) = self.0.lock() {
            queue.clear();
        }
    }
}

impl MockState {
    /// State with the default validation options, no faults and no rate limit.
    pub fn new(
        schema: Arc<Schema>,
        population: Population,
        tokens: TokenStore,
        clock: Arc<dyn Clock>,
        files: ServedFiles,
    ) -> MockState {
        MockState {
            faults: Faults::new(clock.clone()),
            schema,
            population,
            tokens,
            clock,
            files,
            options: Options::default(),
            bodies: BodyLimits::default(),
            messages: AtomicU64::new(1),
            limits: RateLimiter::default(),
            counters: Counters::default(),
            stopping: watch::channel(false).0,
            playback: Playback::default(),
        }
    }

    /// Limit each registry to `per_second` requests per second (beyond it: 429 with Retry-After).
    pub fn with_rate_limit(mut self, per_second: Option<f64>) -> MockState {
        self.limits = RateLimiter::new(per_second);
        self
    }

    /// Read request bodies within `bodies` instead of the defaults.
    pub fn with_body_limits(mut self, bodies: BodyLimits) -> MockState {
        self.bodies = bodies;
        self
    }
}
