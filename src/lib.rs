//! reggate: a gateway between citizen-facing "personal cabinet" backends and the government registries
//! (SNILS, INN, children's registry, Ministry of Labour) that confirm their data over SOAP.
//!
//! # Layout
//! - [`xml`]: the schema model and the streaming XSD validator every outgoing and incoming message passes.
//! - [`tls`]: the development PKI (`reggate certs`) and rustls configurations with reloadable certificates.
//! - [`mock`]: mock registries and the synthetic population they answer from.
//! - [`registries`], [`soap`]: the registries' contract and typed messages; the outbound pipeline.
//! - [`domain`]: the cabinet's rules: input, eligibility, duplicates, the state machine, processing.
//! - [`store`]: applications, journal and outbox on SQLite or PostgreSQL.
//! - [`api`]: the HTTPS JSON API for cabinet backends; [`webhooks`], [`receipt`] beside it.
//! - [`config`], [`gateway`]: the configuration and everything assembled for `reggate serve`.
//! - [`clock`]: the injectable clock every lifetime and expiry rule reads.
//! - [`cli`]: the subcommands of the `reggate` binary, as library functions so tests can call them.

pub mod api;
pub mod calendar;
pub mod channel_body;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contract;
pub mod domain;
pub mod gateway;
pub mod ids;
pub mod mock;
pub mod receipt;
pub mod registries;
pub mod service;
pub mod shutdown;
pub mod soap;
pub mod store;
pub mod tls;
pub mod webhooks;
pub mod xml;
