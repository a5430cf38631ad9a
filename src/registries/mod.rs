//! The registries as typed calls: requests and answers as Rust values ([`messages`]), written to and
//! read from the XML the contract ([`crate::contract`]) describes, and sent through the outbound
//! pipeline ([`crate::soap`]) by [`client::Registries`]. Nothing here knows the cabinet domain.

pub mod client;
pub mod messages;
