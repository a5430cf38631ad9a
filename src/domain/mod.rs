//! The cabinet domain: benefits, applicants' identifiers and dates, and the rules applications are
//! judged by (ARCHITECTURE.md, "Domain rules").

pub mod answers;
pub mod application;
pub mod eligibility;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod identifiers;
pub mod ports;
pub mod status;
pub mod valid;
