//! Mock government registries for integration testers and reggate's own tests: the four SOAP
//! services and their token endpoint over mTLS, answering from a synthetic population, strict about
//! schemas and tokens like the real ones, and breakable on purpose (fault injection steered at run
//! time through an admin endpoint, with counters a test can assert on).
//!
//! Layout, following a call:
//! - [`server`]: listeners (one per registry, mTLS), connections, graceful shutdown; [`MockState`](server::MockState).
//! - [`handlers`]: token endpoint, WSDL and schemas, the SOAP endpoint and the registry's own rules.
//! - [`answer`]: what each operation answers from the population.
//! - [`render`]: registry payloads and SOAP envelopes as XML text.
//! - [`population`]: the deterministic synthetic population.
//! - [`token`]: access tokens with a lifetime. [`ratelimit`]: per-registry token buckets (429).
//! - [`faults`]: the fault plan and per-call decisions; [`inject`]: faults on the wire.
//! - [`counters`]: what was received and injected; [`admin`]: the admin endpoint.

pub mod admin;
pub mod answer;
pub mod counters;
pub mod faults;
pub mod handlers;
pub mod inject;
pub mod population;
pub mod ratelimit;
pub mod render;
pub mod server;
pub mod state;
pub mod token;
