//! Mock government registries for integration testers and reggate's own tests. So far: the population
//! they answer from, and the first slice of the services (token endpoint and the four SOAP endpoints
//! over mTLS, with per-registry rate limits); fault injection comes next (issue 7).
//!
//! Layout:
//! - [`population`]: the deterministic synthetic population the mock registries answer from.
//! - [`render`]: registry payloads and SOAP envelopes as XML text.
//! - [`soap`]: registries, operations and their SOAPActions; reading a request's fields.
//! - [`token`]: access tokens with a lifetime.
//! - [`ratelimit`]: per-registry token buckets behind 429 + Retry-After.
//! - [`server`]: the HTTPS server (axum over hyper, rustls with client certificates).

pub mod population;
pub mod ratelimit;
pub mod render;
pub mod server;
pub mod soap;
pub mod token;
