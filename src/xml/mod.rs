//! XML: reading, XSD schemas and streaming validation. Knows nothing of the network.
//!
//! Layout, in the order data flows through it:
//! - [`encoding`]: every document as UTF-8 (byte order mark, declaration, WHATWG encodings, streamed).
//! - [`names`]: which characters may start or continue an XML name (reader, datatypes, regex).
//! - [`reader`]: the hardened pull reader (limits, positions, namespaces, no DTDs).
//! - [`regex`]: XSD regular expressions, compiled to the linear-time `regex` engine.
//! - [`datatypes`]: the built-in simple types, their value spaces and the constraining facets.
//! - [`content`]: content models as counter automata, and the Unique Particle Attribution check.
//! - [`schema`]: loading schema documents into one immutable, shareable compiled [`schema::Schema`].
//! - [`validate`]: one streaming pass of a document against a schema, collecting [`validate::Violation`]s.
//! - [`mask`]: masking personal data in values that go into messages.

pub mod content;
pub mod datatypes;
pub mod encoding;
pub mod mask;
pub mod names;
pub mod reader;
pub mod regex;
pub mod schema;
pub mod validate;
