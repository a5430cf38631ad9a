//! Replay for integration testers: recorded SOAP exchanges kept as fixture cases, replayed against a
//! registry or reggate's own mocks, and the answers compared XML-aware with what was recorded.
//!
//! It sits beside the flow, like [`crate::mock`]: it speaks the contract ([`crate::contract`]) and
//! reads XML through [`crate::xml`], and never reaches into the gateway's workflows or store. The
//! `reggate replay` command ([`crate::cli::replay`]) is built on:
//! - [`compare`]: the comparison of an expected and an actual document (similar in XMLUnit's sense,
//!   or strict), differences located by the validator's paths, personal values masked.
//! - [`case`]: the fixture case format (`case.toml` beside `request.xml` and the expectation) and
//!   loading a corpus of cases from directories.
//! - [`target`]: where a replay sends (the in-process mock, a URL, a gateway configuration's
//!   registries) through the gateway's own client; [`run`]: running cases and judging what came
//!   back; [`junit`]: the JUnit XML report.
//! - [`upgrade`]: the schema-upgrade check (`--against-schemas DIR`): every case's documents validated
//!   against the current and a candidate schema set, the cases whose verdict changes listed.
//! - [`record`]: cases made from the exchanges of a gateway's message log (`reggate fixtures
//!   record`), personal data replaced by [`pseudonym`]'s consistent synthetic values.

pub mod case;
pub mod compare;
pub mod junit;
pub mod pseudonym;
pub mod record;
pub mod run;
pub mod target;
pub mod upgrade;

pub use case::{
    Case, CaseError, CaseErrorKind, Expectation, FORMAT_VERSION, Playback, load_all, with_tags,
};
pub use compare::{
    CompareError, Comparison, Difference, DifferenceKind, IgnorePath, Mode, Options, PathError,
    Side, compare,
};
pub use upgrade::{
    CaseChange, Change, Document, DocumentChange, Refusal, SchemaDirError, SchemaDirErrorKind,
    UpgradeReport, compare_schemas, load_schemas, refusal_holds,
};
