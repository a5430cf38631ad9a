//! Identity constraints (xs:unique, xs:key, xs:keyref) evaluated while streaming (XSD 1.0 §3.11.4).

use crate::xml::datatypes::Value;
use crate::xml::reader::StartTag;
use crate::xml::schema::model::{ElemId, Schema, TypeId};

/// The identity-constraint tables of one validation run.
#[derive(Default)]
pub struct Tables {}

impl Tables {
    /// An element starts.
    pub fn start_element(
        &mut self,
        _schema: &Schema,
        _decl: Option<ElemId>,
        _type: Option<TypeId>,
        _tag: &StartTag,
        _resolve: &dyn Fn(&str) -> Option<String>,
    ) {
    }

    /// The innermost element ends with this simple value (if it has one); returns violations.
    pub fn end_element(&mut self, _schema: &Schema, _value: Option<&Value>) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}
