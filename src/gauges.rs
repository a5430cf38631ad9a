//! The gauges of `/metrics` that are states rather than events, sampled every [`EVERY`] by a task
//! of the gateway: applications per open status, the backlog, the parked applications and how long
//! the oldest has waited ([`Store::census`], [`Store::backlog`]); each registry's circuit state and
//! token age (the SOAP client's lanes); how far each webhook subscription lags behind the outbox.
//! Ages are read from the gateway's [`Clock`]. Everything else is recorded where it happens;
//! [`crate::api::metrics`] describes and exports it all.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::{Clock, millis};
use crate::contract::Registry;
use crate::shutdown::stopped;
use crate::soap::breaker::BreakerState;
use crate::soap::client::SoapClient;
use crate::store::Store;

/// How often the gauges are sampled (the first sample is taken at start).
pub const EVERY: Duration = Duration::from_secs(10);

/// What the gauges are read from.
pub struct Sources {
    /// Applications.
    pub store: Arc<dyn Store>,
    /// The registries' lanes: breakers and tokens.
    pub soap: Arc<SoapClient>,
    /// Time, for the ages.
    pub clock: Arc<dyn Clock>,
    /// The webhook subscriptions' names.
    pub subscriptions: Vec<String>,
}

/// Sample every [`EVERY`] until `stopping` turns true.
pub async fn run(sources: Sources, mut stopping: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped(&mut stopping) => return,
        }
        sources.sample().await;
    }
}

impl Sources {
    /// Set every gauge once. A store failure leaves the store's gauges at their last values (and is
    /// logged); the registries' are set regardless.
    pub async fn sample(&self) {
        self.registries();
        if let Err(e) = self.applications().await {
            tracing::warn!(error = %e, "sampling the store for metrics");
        }
        for name in &self.subscriptions {
            if let Err(e) = self.webhook(name).await {
                tracing::warn!(error = %e, subscription = %name, "sampling webhook lag");
            }
        }
    }

    fn registries(&self) {
        for registry in Registry::ALL {
            if let Some(breaker) = self.soap.breaker(registry) {
                let now = match breaker.state() {
                    BreakerState::Closed { .. } => "closed",
                    BreakerState::HalfOpen => "half_open",
                    BreakerState::Open { .. } => "open",
                };
                for state in ["closed", "half_open", "open"] {
                    metrics::gauge!(
                        "reggate_registry_circuit_state",
                        "registry" => registry.name(),
                        "state" => state
                    )
                    .set(if state == now { 1.0 } else { 0.0 });
                }
            }
            if let Some(tokens) = self.soap.tokens(registry) {
                let age = tokens.age().unwrap_or_default();
                metrics::gauge!("reggate_registry_token_age_seconds", "registry" => registry.name())
                    .set(age.as_secs_f64());
            }
        }
    }

    async fn applications(&self) -> Result<(), crate::store::StoreError> {
        let census = self.store.census().await?;
        for (status, n) in &census.open {
            metrics::gauge!("reggate_applications", "status" => status.as_str()).set(*n as f64);
        }
        metrics::gauge!("reggate_applications_parked").set(census.parked as f64);
        let oldest = census
            .oldest_parked_since_ms
            .map_or(0, |since| (millis(self.clock.now()) - since).max(0));
        metrics::gauge!("reggate_parked_oldest_age_seconds").set(oldest as f64 / 1000.0);
        let backlog = self.store.backlog().await?;
        metrics::gauge!("reggate_backlog_applications").set(backlog as f64);
        Ok(())
    }

    async fn webhook(&self, name: &str) -> Result<(), crate::store::StoreError> {
        let cursor = self.store.webhook_cursor(name).await?;
        let next = self.store.events_after(cursor, 1).await?;
        let lag_ms = next
            .first()
            .map_or(0, |e| (millis(self.clock.now()) - e.at_ms).max(0));
        metrics::gauge!("reggate_webhook_lag_seconds", "subscription" => name.to_string())
            .set(lag_ms as f64 / 1000.0);
        Ok(())
    }
}
