//! XSD 1.0 built-in simple types (Part 2, 2nd edition + errata): the type hierarchy, whitespace
//! normalization, and [`parse`], which turns a normalized lexical form into a [`Value`].
//!
//! Where this sits: the schema compiler resolves `xs:*` type names with [`Builtin::from_name`] and builds
//! [`Facets`] for every restriction step; the streaming validator normalizes element/attribute text with
//! [`normalize`], calls [`parse`] for the builtin the type derives from, then [`Facets::check`]. Identity
//! constraints and `fixed`/enumeration use [`Value::same`] and [`Value::key`].

pub mod facets;
pub mod lexical;
pub mod value;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

pub use facets::{BaseValue, FacetError, FacetKind, FacetViolation, Facets, RawFacet, Variety};
pub use value::{DateTimeKind, DateTimeValue, Decimal, Duration, Value};

/// The built-in simple types of XSD 1.0 (Part 2 §3.2 primitives and §3.3 derived types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // each variant is the XSD type of the same name
pub enum Builtin {
    AnySimpleType,
    String,
    NormalizedString,
    Token,
    Language,
    Name,
    NCName,
    Id,
    IdRef,
    IdRefs,
    Entity,
    Entities,
    NmToken,
    NmTokens,
    QName,
    Notation,
    AnyUri,
    Boolean,
    Decimal,
    Integer,
    NonPositiveInteger,
    NegativeInteger,
    Long,
    Int,
    Short,
    Byte,
    NonNegativeInteger,
    UnsignedLong,
    UnsignedInt,
    UnsignedShort,
    UnsignedByte,
    PositiveInteger,
    Float,
    Double,
    Duration,
    DateTime,
    Time,
    Date,
    GYearMonth,
    GYear,
    GMonthDay,
    GDay,
    GMonth,
    HexBinary,
    Base64Binary,
}

/// `(name, builtin)` for every builtin; the single source for [`Builtin::from_name`] and [`Builtin::name`].
const NAMES: [(&str, Builtin); 45] = [
    ("anySimpleType", Builtin::AnySimpleType),
    ("string", Builtin::String),
    ("normalizedString", Builtin::NormalizedString),
    ("token", Builtin::Token),
    ("language", Builtin::Language),
    ("Name", Builtin::Name),
    ("NCName", Builtin::NCName),
    ("ID", Builtin::Id),
    ("IDREF", Builtin::IdRef),
    ("IDREFS", Builtin::IdRefs),
    ("ENTITY", Builtin::Entity),
    ("ENTITIES", Builtin::Entities),
    ("NMTOKEN", Builtin::NmToken),
    ("NMTOKENS", Builtin::NmTokens),
    ("QName", Builtin::QName),
    ("NOTATION", Builtin::Notation),
    ("anyURI", Builtin::AnyUri),
    ("boolean", Builtin::Boolean),
    ("decimal", Builtin::Decimal),
    ("integer", Builtin::Integer),
    ("nonPositiveInteger", Builtin::NonPositiveInteger),
    ("negativeInteger", Builtin::NegativeInteger),
    ("long", Builtin::Long),
    ("int", Builtin::Int),
    ("short", Builtin::Short),
    ("byte", Builtin::Byte),
    ("nonNegativeInteger", Builtin::NonNegativeInteger),
    ("unsignedLong", Builtin::UnsignedLong),
    ("unsignedInt", Builtin::UnsignedInt),
    ("unsignedShort", Builtin::UnsignedShort),
    ("unsignedByte", Builtin::UnsignedByte),
    ("positiveInteger", Builtin::PositiveInteger),
    ("float", Builtin::Float),
    ("double", Builtin::Double),
    ("duration", Builtin::Duration),
    ("dateTime", Builtin::DateTime),
    ("time", Builtin::Time),
    ("date", Builtin::Date),
    ("gYearMonth", Builtin::GYearMonth),
    ("gYear", Builtin::GYear),
    ("gMonthDay", Builtin::GMonthDay),
    ("gDay", Builtin::GDay),
    ("gMonth", Builtin::GMonth),
    ("hexBinary", Builtin::HexBinary),
    ("base64Binary", Builtin::Base64Binary),
];

impl Builtin {
    /// Every builtin, in declaration order (useful for tests and tables).
    pub const ALL: [Builtin; 45] = {
        let mut all = [Builtin::AnySimpleType; 45];
        let mut i = 0;
        while i < 45 {
            all[i] = NAMES[i].1;
            i += 1;
        }
        all
    };

    /// The builtin with XSD local name `local` (in the XML Schema namespace), e.g. `"ID"` → [`Builtin::Id`].
    pub fn from_name(local: &str) -> Option<Builtin> {
        NAMES.iter().find(|(n, _)| *n == local).map(|(_, b)| *b)
    }

    /// The XSD local name of this builtin.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("anySimpleType", |(n, _)| n)
    }

    /// The type this builtin is derived from: `None` for anySimpleType, anySimpleType for the primitives and
    /// for the three list types (which are derived by list, not by restriction).
    pub fn base(self) -> Option<Builtin> {
        use Builtin as B;
        Some(match self {
            B::AnySimpleType => return None,
            B::NormalizedString => B::String,
            B::Token => B::NormalizedString,
            B::Language | B::Name | B::NmToken => B::Token,
            B::NCName => B::Name,
            B::Id | B::IdRef | B::Entity => B::NCName,
            B::Integer => B::Decimal,
            B::NonPositiveInteger | B::Long | B::NonNegativeInteger => B::Integer,
            B::NegativeInteger => B::NonPositiveInteger,
            B::Int => B::Long,
            B::Short => B::Int,
            B::Byte => B::Short,
            B::UnsignedLong | B::PositiveInteger => B::NonNegativeInteger,
            B::UnsignedInt => B::UnsignedLong,
            B::UnsignedShort => B::UnsignedInt,
            B::UnsignedByte => B::UnsignedShort,
            _ => B::AnySimpleType,
        })
    }

    /// True for the primitive types of Part 2 §3.2 (anySimpleType and the list types are not primitive).
    pub fn is_primitive(self) -> bool {
        self != Builtin::AnySimpleType
            && self.base() == Some(Builtin::AnySimpleType)
            && self.list_item().is_none()
    }

    /// The primitive this builtin derives from. anySimpleType returns itself; the list builtins
    /// (IDREFS, ENTITIES, NMTOKENS) have no primitive and also return anySimpleType — use
    /// [`Builtin::list_item`] for them.
    pub fn primitive(self) -> Builtin {
        let mut b = self;
        while let Some(base) = b.base() {
            if base == Builtin::AnySimpleType {
                return if b.list_item().is_some() {
                    Builtin::AnySimpleType
                } else {
                    b
                };
            }
            b = base;
        }
        b
    }

    /// True when `self` is `other` or derives from it (reflexive, transitive).
    pub fn derives_from(self, other: Builtin) -> bool {
        let mut b = Some(self);
        while let Some(t) = b {
            if t == other {
                return true;
            }
            b = t.base();
        }
        false
    }

    /// The whiteSpace facet value of this builtin. anySimpleType has none in XSD 1.0; values of it are kept
    /// as written, so it reports `Preserve`.
    pub fn whitespace(self) -> WhiteSpace {
        match self {
            Builtin::String | Builtin::AnySimpleType => WhiteSpace::Preserve,
            Builtin::NormalizedString => WhiteSpace::Replace,
            _ => WhiteSpace::Collapse,
        }
    }

    /// The item type of a built-in list type (NMTOKENS → NMTOKEN, IDREFS → IDREF, ENTITIES → ENTITY).
    pub fn list_item(self) -> Option<Builtin> {
        match self {
            Builtin::NmTokens => Some(Builtin::NmToken),
            Builtin::IdRefs => Some(Builtin::IdRef),
            Builtin::Entities => Some(Builtin::Entity),
            _ => None,
        }
    }

    /// Whether facet `kind` may restrict this builtin (Part 2 §4.1.5 table of applicable facets, by
    /// primitive; list builtins take the list facets). Nothing applies to anySimpleType itself.
    pub fn facet_applicable(self, kind: FacetKind) -> bool {
        use FacetKind as K;
        let list_like = |k: FacetKind| {
            matches!(
                k,
                K::Length
                    | K::MinLength
                    | K::MaxLength
                    | K::Pattern
                    | K::Enumeration
                    | K::WhiteSpace
            )
        };
        if self.list_item().is_some() {
            return list_like(kind);
        }
        match self.primitive() {
            Builtin::AnySimpleType => false,
            Builtin::String
            | Builtin::AnyUri
            | Builtin::QName
            | Builtin::Notation
            | Builtin::HexBinary
            | Builtin::Base64Binary => list_like(kind),
            Builtin::Boolean => matches!(kind, K::Pattern | K::WhiteSpace),
            Builtin::Decimal => !matches!(kind, K::Length | K::MinLength | K::MaxLength),
            _ => !matches!(
                kind,
                K::Length | K::MinLength | K::MaxLength | K::TotalDigits | K::FractionDigits
            ),
        }
    }

    /// True for the builtins whose value space is ordered (the bounds facets apply).
    pub fn is_ordered(self) -> bool {
        self.facet_applicable(FacetKind::MaxInclusive)
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The whiteSpace facet (Part 2 §4.3.6). Ordered by strength: a restriction may only move up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WhiteSpace {
    /// Keep text as written.
    Preserve,
    /// Tab, newline and carriage return become spaces.
    Replace,
    /// Replace, then runs of spaces become one and leading/trailing spaces go.
    Collapse,
}

impl WhiteSpace {
    /// The facet value as written in a schema.
    pub fn name(self) -> &'static str {
        match self {
            WhiteSpace::Preserve => "preserve",
            WhiteSpace::Replace => "replace",
            WhiteSpace::Collapse => "collapse",
        }
    }

    /// Parse the facet value as written in a schema.
    pub fn from_name(s: &str) -> Option<WhiteSpace> {
        match s {
            "preserve" => Some(WhiteSpace::Preserve),
            "replace" => Some(WhiteSpace::Replace),
            "collapse" => Some(WhiteSpace::Collapse),
            _ => None,
        }
    }
}

/// Apply whitespace normalization `ws` to `s`, borrowing when nothing changes.
pub fn normalize(ws: WhiteSpace, s: &str) -> Cow<'_, str> {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    match ws {
        WhiteSpace::Preserve => Cow::Borrowed(s),
        WhiteSpace::Replace => {
            if s.bytes().any(|c| matches!(c, b'\t' | b'\n' | b'\r')) {
                Cow::Owned(s.replace(['\t', '\n', '\r'], " "))
            } else {
                Cow::Borrowed(s)
            }
        }
        WhiteSpace::Collapse => {
            if is_collapsed(s) {
                Cow::Borrowed(s)
            } else {
                let mut out = String::with_capacity(s.len());
                for part in s.split(is_ws).filter(|p| !p.is_empty()) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(part);
                }
                Cow::Owned(out)
            }
        }
    }
}

/// Whether collapsing would leave `s` as it is: no tab, CR or LF, no space at either end, no two
/// spaces in a row. One pass over the bytes (this runs for nearly every value in a message), with a
/// shortcut for the usual value that has no byte at or below a space.
fn is_collapsed(s: &str) -> bool {
    let b = s.as_bytes();
    if b.iter().all(|&c| c > b' ') {
        return true;
    }
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut after_space = false;
    for &c in b {
        match c {
            b'\t' | b'\n' | b'\r' => return false,
            b' ' if after_space => return false,
            b' ' => after_space = true,
            _ => after_space = false,
        }
    }
    true
}

/// A lexical form that is not in a builtin's lexical space (or maps outside its value space).
/// The offending text is deliberately not included: it may be personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatatypeError {
    /// The builtin whose rules were broken.
    pub builtin: Builtin,
    /// Which rule, in words (never the value itself).
    pub reason: String,
}

impl fmt::Display for DatatypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid {}: {}", self.builtin.name(), self.reason)
    }
}

impl std::error::Error for DatatypeError {}

/// Parse an already whitespace-normalized lexical form into a value of `b`'s value space, enforcing all the
/// builtin's own rules (e.g. byte range, language pattern, NCName syntax, integer without fraction). For
/// list builtins (NMTOKENS etc.) each space-separated item is parsed as the item type and a
/// [`Value::List`] is returned (an empty list is an error: the builtin lists have minLength 1).
/// `ns` resolves a prefix (`""` = default namespace) for QName/NOTATION; an unbound prefix is an error.
pub fn parse(
    b: Builtin,
    lexical: &str,
    ns: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, DatatypeError> {
    let err = |reason: String| DatatypeError { builtin: b, reason };
    if let Some(item) = b.list_item() {
        let items = lexical
            .split([' ', '\t', '\n', '\r'])
            .filter(|s| !s.is_empty())
            .map(|s| parse(item, s, ns))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("list item: {}", e.reason)))?;
        if items.is_empty() {
            return Err(err("a list of this type needs at least one item".into()));
        }
        return Ok(Value::List(items));
    }
    lexical::parse_atomic(b, lexical, ns).map_err(err)
}
