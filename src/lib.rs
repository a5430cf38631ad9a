//! reggate: a gateway between citizen-facing "personal cabinet" backends and the government registries
//! (SNILS, INN, children's registry, Ministry of Labour) that confirm their data over SOAP.
//!
//! # Layout
//! The flow runs one way (ARCHITECTURE.md; `tests/architecture.rs` holds it):
//! `xml → contract → soap → registries → domain → service → api`, `store` beside `service`.
//! - [`calendar`], [`ids`], [`clock`]: dates, random ids and the injectable clock, below every layer;
//!   [`heap`]: freed memory given back to the system; [`pdf`]: small PDF files written.
//! - [`xml`]: the schema model and the streaming XSD validator every outgoing and incoming message passes.
//! - [`contract`]: the registries and operations as the WSDLs describe them; the SOAP payload reader.
//! - [`soap`]: the outbound pipeline; [`registries`]: typed messages and the typed client.
//! - [`domain`]: the cabinet's pure rules: input, the typed application, eligibility, duplicates,
//!   answer reuse, the state machine, and the ports it needs from outside.
//! - [`service`]: the workflows, each written once: process an application, assess, a reviewer's decision.
//! - [`store`]: applications, journal and outbox on SQLite or PostgreSQL.
//! - [`api`]: the HTTPS JSON API for cabinet backends; [`webhooks`], [`receipt`] beside it.
//! - [`tls`]: the development PKI (`reggate certs`) and rustls configurations with reloadable certificates.
//! - [`mock`]: mock registries and the synthetic population they answer from.
//! - [`replay`]: fixture cases of recorded exchanges and their XML-aware comparison (`reggate replay`).
//! - [`config`], [`gateway`]: the configuration and everything assembled for `reggate serve`;
//!   [`logging`]: the process log of `serve` and `mock` (JSON lines off a terminal).
//! - [`gauges`]: the states `/metrics` shows (backlog, parked, circuits, tokens, webhook lag), sampled
//!   periodically; [`api::metrics`] describes and exports every series.
//! - [`loadgen`]: `reggate loadgen`, the load generator and its check that nothing accepted is lost or
//!   decided twice (assembles the layers like the gateway, and drives it from outside over HTTPS).
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
pub mod gauges;
pub mod heap;
pub mod ids;
pub mod loadgen;
pub mod logging;
pub mod mock;
pub mod pdf;
pub mod receipt;
pub mod registries;
pub mod replay;
pub mod service;
pub mod shutdown;
pub mod soap;
pub mod store;
pub mod tls;
pub mod webhooks;
pub mod xml;
