//! reggate: a gateway between citizen-facing "personal cabinet" backends and the government registries
//! (SNILS, INN, children's registry, Ministry of Labour) that confirm their data over SOAP.
//!
//! # Layout
//! - [`xml`]: the schema model and the streaming XSD validator every outgoing and incoming message passes.
//! - [`cli`]: the subcommands of the `reggate` binary (`validate` for now), as library functions so tests
//!   can call them.

pub mod cli;
pub mod xml;
