//! Mock government registries for integration testers and reggate's own tests. So far: the population
//! they answer from; the SOAP services, token endpoint and fault injection come next (issue 7).
//!
//! Layout:
//! - [`population`]: the deterministic synthetic population the mock registries answer from.

pub mod population;
