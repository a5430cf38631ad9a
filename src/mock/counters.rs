//! What the mock registries saw and did, per registry, so a test can assert it: connections, tokens
//! issued, every request received by operation (schema-valid or not), requests turned away and why,
//! and every fault injected by kind. The admin endpoint serves a snapshot as JSON.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::contract::Registry;
use crate::mock::faults::FaultKind;

/// Requests of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Envelopes that validated against the schemas.
    pub valid: u64,
    /// Envelopes that did not (including ones that are not XML at all).
    pub invalid: u64,
}

/// Counts of one registry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCounts {
    /// TCP connections accepted (including ones whose handshake then failed).
    pub connections: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// SOAP requests received, by operation (`unknown` when the SOAPAction names none of its own).
    pub requests: BTreeMap<String, RequestCounts>,
    /// Requests answered with a fault of the registry's own rules, by reason (`too_large`,
    /// `content_type`, `soap_action`, `token_missing`, `token_unknown`, `token_expired`, `schema`,
    /// `rate_limited`).
    pub rejected: BTreeMap<String, u64>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
}

impl RegistryCounts {
    /// Valid plus invalid requests of every operation.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().map(|c| c.valid + c.invalid).sum()
    }

    /// Schema-invalid requests of every operation.
    pub fn invalid_requests(&self) -> u64 {
        self.requests.values().map(|c| c.invalid).sum()
    }

    /// Times a fault kind was injected.
    pub fn fault(&self, kind: FaultKind) -> u64 {
        self.faults.get(kind.name()).copied().unwrap_or(0)
    }
}

/// The live counters of all registries.
#[derive(Debug, Default)]
pub struct Counters {
    registries: Mutex<BTreeMap<&'static str, RegistryCounts>>,
}

impl Counters {
    fn with(&self, registry: Registry, f: impl FnOnce(&mut RegistryCounts)) {
        let mut all = self.registries.lock().unwrap_or_else(|p| p.into_inner());
        f(all.entry(registry.name()).or_default());
    }

    /// A connection was accepted.
    pub fn connection(&self, registry: Registry) {
        self.with(registry, |c| c.connections += 1);
    }

    /// A token was issued.
    pub fn token_issued(&self, registry: Registry) {
        self.with(registry, |c| c.tokens_issued += 1);
    }

    /// A request of `operation` arrived; `valid` is its schema verdict.
    pub fn request(&self, registry: Registry, operation: &str, valid: bool) {
        self.with(registry, |c| {
            let counts = c.requests.entry(operation.to_string()).or_default();
            if valid {
                counts.valid += 1;
            } else {
                counts.invalid += 1;
            }
        });
    }

    /// A request was turned away for `reason`.
    pub fn rejected(&self, registry: Registry, reason: &str) {
        self.with(registry, |c| {
            *c.rejected.entry(reason.to_string()).or_default() += 1
        });
    }

    /// A fault was injected.
    pub fn fault(&self, registry: Registry, kind: FaultKind) {
        self.with(registry, |c| {
            *c.faults.entry(kind.name().to_string()).or_default() += 1
        });
    }

    /// The counts of one registry now.
    pub fn registry(&self, registry: Registry) -> RegistryCounts {
        let all = self.registries.lock().unwrap_or_else(|p| p.into_inner());
        all.get(registry.name()).cloned().unwrap_or_default()
    }

    /// The counts of every registry now, by registry name.
    pub fn snapshot(&self) -> BTreeMap<String, RegistryCounts> {
        Registry::ALL
            .into_iter()
            .map(|r| (r.name().to_string(), self.registry(r)))
            .collect()
    }

    /// Start again from zero.
    pub fn reset(&self) {
        self.registries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_registry_and_reset() {
        let c = Counters::default();
        c.request(Registry::Snils, "VerifySnils", true);
        c.request(Registry::Snils, "VerifySnils", false);
        c.request(Registry::Snils, "unknown", false);
        c.fault(Registry::Snils, FaultKind::Hang);
        c.rejected(Registry::Inn, "token_expired");
        let snils = c.registry(Registry::Snils);
        assert_eq!(snils.total_requests(), 3);
        assert_eq!(snils.invalid_requests(), 2);
        assert_eq!(
            snils.requests["VerifySnils"],
            RequestCounts {
                valid: 1,
                invalid: 1
            }
        );
        assert_eq!(snils.fault(FaultKind::Hang), 1);
        assert_eq!(c.registry(Registry::Inn).rejected["token_expired"], 1);
        assert_eq!(c.snapshot().len(), 4);
        c.reset();
        assert_eq!(c.registry(Registry::Snils), RegistryCounts::default());
    }
}
