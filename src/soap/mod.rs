//! The outbound pipeline to the registries: nothing schema-invalid leaves, nothing schema-invalid is
//! trusted, and every exchange is logged.
//!
//! Layout, following a call:
//! - [`client`]: the pipeline itself ([`SoapClient::call`](client::SoapClient::call)): envelope,
//!   validation, retries with backoff, fault mapping.
//! - [`token`]: access tokens per registry, refreshed ahead of expiry, single flight.
//! - [`breaker`]: the circuit breaker per registry.
//! - [`transport`]: HTTPS over rustls with a swappable client certificate, keep-alive pools.
//! - [`error`]: what can go wrong, and whether to retry.
//! - [`log`]: the durable message log of every exchange.

pub mod breaker;
pub mod client;
pub mod error;
pub mod hedge;
pub mod log;
pub mod token;
pub mod transport;
