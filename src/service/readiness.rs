//! How the registries look from this process, for `/readyz`: each one's circuit and token. A
//! registry that is down makes the gateway degraded, never unready — applications still queue.

use crate::contract::Registry;
use crate::soap::breaker::BreakerState;
use crate::soap::client::SoapClient;

/// One registry's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryState {
    /// The registry's name (`snils`, …).
    pub registry: &'static str,
    /// Its circuit is open or half-open: calls wait.
    pub degraded: bool,
    /// The circuit and the token, in words.
    pub reason: String,
}

/// What can report the registries' states.
pub trait RegistryStates: Send + Sync {
    /// Every registry's state now.
    fn states(&self) -> Vec<RegistryState>;
}

impl RegistryStates for SoapClient {
    fn states(&self) -> Vec<RegistryState> {
        Registry::ALL.iter().map(|r| state(self, *r)).collect()
    }
}

fn state(soap: &SoapClient, registry: Registry) -> RegistryState {
    let token = match soap
        .tokens(registry)
        .and_then(|t| Some((t.age()?, t.usable_for()?)))
    {
        Some((age, left)) => format!(
            "token {} s old, usable {} s more",
            age.as_secs(),
            left.as_secs()
        ),
        None => "no token yet (fetched with the first call)".to_string(),
    };
    let (degraded, circuit) = match soap.breaker(registry).map(|b| b.state()) {
        Some(BreakerState::Open { .. }) => (
            true,
            "circuit open: calls wait for a probe, applications queue".to_string(),
        ),
        Some(BreakerState::HalfOpen) => {
            (true, "circuit half-open: one probe in flight".to_string())
        }
        Some(BreakerState::Closed { failures }) => (
            false,
            format!("circuit closed ({failures} failures in a row)"),
        ),
        None => (false, "no circuit".to_string()),
    };
    RegistryState {
        registry: registry.name(),
        degraded,
        reason: format!("{circuit}; {token}"),
    }
}
