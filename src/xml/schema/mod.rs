//! XSD 1.0 schema sets: loading schema documents and compiling them into one immutable [`Schema`].
//!
//! Layout:
//! - [`doc`]: schema documents read into small positioned trees.
//! - [`s4s`]: the structural rules of the Schema for Schemas (which attributes and children each XSD
//!   element may have), checked before anything is compiled.
//! - [`compile`]: resolution of names across documents (include, import, redefine), derivation, content
//!   models, substitution groups and the schema component constraints.
//! - [`xpath`]: the restricted XPath of identity constraints.
//! - [`model`]: the compiled components the validator reads.
//!
//! A schema error names the file, line and column of the component at fault and the constraint it breaks,
//! so a schema author can go straight to it.

pub mod compile;
pub mod doc;
pub mod model;
pub mod restriction;
pub mod s4s;
pub mod xpath;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use model::{QName, Schema};

use crate::xml::reader::Position;

/// One reason a schema set is invalid.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SchemaError {
    /// The schema document.
    pub file: String,
    /// Where in it.
    pub position: Position,
    /// The constraint broken, as XSD 1.0 names it (e.g. `src-resolve`, `cos-nonambig`).
    pub rule: &'static str,
    /// What is wrong, naming the components involved.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}",
            self.file, self.position, self.rule, self.message
        )
    }
}

/// All the reasons a schema set is invalid (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaErrors {}

impl Schema {
    /// Compile the schema documents at `paths` (files, or directories whose `*.xsd` files are all
    /// loaded, sorted by name) into one schema set. Includes, imports and redefines are followed
    /// relative to each document.
    pub fn load(paths: &[PathBuf]) -> Result<Arc<Schema>, SchemaErrors> {
        let mut files = Vec::new();
        for p in paths {
            if p.is_dir() {
                let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| io_error(p, &e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "xsd"))
                    .collect();
                in_dir.sort();
                files.extend(in_dir);
            } else {
                files.push(p.clone());
            }
        }
        compile::compile(&files).map(Arc::new)
    }

    /// Compile one schema given as text (its includes and imports resolved relative to `base_dir`).
    pub fn from_str(text: &str, base_dir: &Path) -> Result<Arc<Schema>, SchemaErrors> {
        compile::compile_sources(&[(base_dir.join("inline.xsd"), Some(text.as_bytes().to_vec()))])
            .map(Arc::new)
    }
}

fn io_error(p: &Path, e: &std::io::Error) -> SchemaErrors {
    SchemaErrors(vec![SchemaError {
        file: p.display().to_string(),
        position: Position::default(),
        rule: "schema-load",
        message: format!("cannot read: {e}"),
    }])
}
