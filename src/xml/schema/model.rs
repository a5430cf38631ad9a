//! The compiled schema: components in arenas, addressed by index, immutable once built.
//!
//! Everything the validator consults lives here: type definitions (simple and complex), element and
//! attribute declarations, wildcards, compiled content models and identity constraints. Components refer
//! to each other by index ([`TypeId`], [`ElemId`], ...) so the whole model is plain data: `Send + Sync`,
//! shared by `Arc` across threads without locks. The compiler in `compile` is the only writer.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::xml::content::ContentModel;
use crate::xml::datatypes::{self, Builtin, Facets, Value, WhiteSpace};
use crate::xml::reader::Position;

/// Index of a type definition in [`Schema::types`].
pub type TypeId = usize;
/// Index of an element declaration in [`Schema::elements`].
pub type ElemId = usize;
/// Index of an attribute declaration in [`Schema::attributes`].
pub type AttrId = usize;
/// Index of an identity constraint in [`Schema::identity_constraints`].
pub type IdcId = usize;

/// An expanded name: namespace (absent = `None`) and local part.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    /// Namespace name, `None` when absent.
    pub ns: Option<String>,
    /// Local part.
    pub local: String,
}

impl QName {
    /// A name in namespace `ns`.
    pub fn new(ns: Option<&str>, local: &str) -> QName {
        QName {
            ns: ns.map(str::to_owned),
            local: local.to_owned(),
        }
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ns {
            Some(ns) => write!(f, "{{{ns}}}{}", self.local),
            None => write!(f, "{}", self.local),
        }
    }
}

/// A set of derivation methods, as in `block`, `final`, `blockDefault`, `finalDefault`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Derivations {
    /// `extension`
    pub extension: bool,
    /// `restriction`
    pub restriction: bool,
    /// `substitution` (element `block` only)
    pub substitution: bool,
    /// `list` (simple type `final` only)
    pub list: bool,
    /// `union` (simple type `final` only)
    pub union: bool,
}

/// How a type was derived from its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derivation {
    /// By extension.
    Extension,
    /// By restriction (also: the built-in types from `anyType`).
    Restriction,
}

/// Whether a value constraint is a default or a fixed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueConstraintKind {
    /// `default="..."`
    Default,
    /// `fixed="..."`
    Fixed,
}

/// A default or fixed value, kept both as written and as a value for comparisons.
#[derive(Clone, Debug)]
pub struct ValueConstraint {
    /// Default or fixed.
    pub kind: ValueConstraintKind,
    /// The value as written in the schema.
    pub lexical: String,
    /// The value in the type's value space (absent for complex mixed content, compared as strings).
    pub value: Option<Value>,
    /// Namespace bindings where the constraint was written, for QName-valued defaults.
    pub namespaces: Arc<Vec<(String, String)>>,
}

/// The namespace constraint of a wildcard (XSD 1.0 §3.10.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NsConstraint {
    /// `##any`
    Any,
    /// `##other`: any namespace except this one (`None` = absent), and never absent.
    Not(Option<String>),
    /// An explicit list; `None` stands for `##local`.
    Set(Vec<Option<String>>),
}

impl NsConstraint {
    /// Whether a name in namespace `ns` is allowed.
    pub fn allows(&self, ns: Option<&str>) -> bool {
        match self {
            NsConstraint::Any => true,
            NsConstraint::Not(n) => ns.is_some() && ns != n.as_deref(),
            NsConstraint::Set(set) => set.iter().any(|s| s.as_deref() == ns),
        }
    }
}

/// What a wildcard does with what it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProcessContents {
    /// Skip: no validation at all.
    Skip,
    /// Lax: validate if a declaration is found.
    Lax,
    /// Strict: a declaration must be found.
    Strict,
}

/// An element or attribute wildcard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wildcard {
    /// Which namespaces it allows.
    pub ns: NsConstraint,
    /// How matched items are processed.
    pub process: ProcessContents,
}

/// The variety of a simple type.
#[derive(Clone, Debug)]
pub enum SimpleVariety {
    /// An atomic type whose values are those of this built-in (the nearest built-in ancestor).
    Atomic(Builtin),
    /// A list of items of this type.
    List(TypeId),
    /// A union of these member types, tried in order.
    Union(Vec<TypeId>),
}

/// A simple type definition.
#[derive(Clone, Debug)]
pub struct SimpleType {
    /// Name, for global types.
    pub name: Option<QName>,
    /// Base type (`None` only for anySimpleType).
    pub base: Option<TypeId>,
    /// Atomic, list or union.
    pub variety: SimpleVariety,
    /// All facets in effect (accumulated along the derivation).
    pub facets: Facets,
    /// White space handling before anything else.
    pub whitespace: WhiteSpace,
    /// `final`
    pub final_: Derivations,
    /// The built-in type this is, if it is one.
    pub builtin: Option<Builtin>,
    /// Where it is defined.
    pub pos: Position,
}

/// An attribute use in a complex type.
#[derive(Clone, Debug)]
pub struct AttributeUse {
    /// The declaration used.
    pub decl: AttrId,
    /// `use="required"`
    pub required: bool,
    /// The use's own default/fixed, else the declaration's.
    pub value_constraint: Option<ValueConstraint>,
}

/// What a leaf of a content model is.
#[derive(Clone, Debug)]
pub enum LeafTerm {
    /// An element declaration (local, or a reference to a global one).
    Element(ElemId),
    /// An element wildcard.
    Wildcard(Wildcard),
}

/// A particle tree kept for derivation checks (restriction, extension), mirroring the schema.
#[derive(Clone, Debug)]
pub struct ParticleDef {
    /// minOccurs
    pub min: u32,
    /// maxOccurs, `None` = unbounded
    pub max: Option<u32>,
    /// What it contains.
    pub term: TermDef,
}

/// The term of a [`ParticleDef`].
#[derive(Clone, Debug)]
pub enum TermDef {
    /// An element declaration.
    Element(ElemId),
    /// A wildcard.
    Wildcard(Wildcard),
    /// `sequence`
    Sequence(Vec<ParticleDef>),
    /// `choice`
    Choice(Vec<ParticleDef>),
    /// `all`
    All(Vec<ParticleDef>),
}

/// Element content: the compiled automaton and what its leaves are.
#[derive(Debug)]
pub struct ElementContent {
    /// The counter automaton.
    pub model: ContentModel,
    /// Leaf id → term.
    pub leaves: Vec<LeafTerm>,
    /// The particle as defined, for derivation checks and messages.
    pub particle: ParticleDef,
    /// Mixed content allowed.
    pub mixed: bool,
}

/// The content type of a complex type.
#[derive(Clone, Debug)]
pub enum ContentType {
    /// No content at all.
    Empty,
    /// Character data of this simple type.
    Simple(TypeId),
    /// Child elements (and text, if mixed).
    Elements(Arc<ElementContent>),
}

/// A complex type definition.
#[derive(Clone, Debug)]
pub struct ComplexType {
    /// Name, for global types.
    pub name: Option<QName>,
    /// Base type (anyType derives from itself).
    pub base: TypeId,
    /// How it derives from its base.
    pub derivation: Derivation,
    /// `abstract`
    pub abstract_: bool,
    /// `block` (with blockDefault applied)
    pub block: Derivations,
    /// `final` (with finalDefault applied)
    pub final_: Derivations,
    /// Attribute uses, by expanded name.
    pub attributes: Vec<AttributeUse>,
    /// The attribute wildcard, if any.
    pub attribute_wildcard: Option<Wildcard>,
    /// Content.
    pub content: ContentType,
    /// Where it is defined.
    pub pos: Position,
}

/// A type definition.
#[derive(Clone, Debug)]
// Types live once each in the schema's arena, so the size difference (facets are large) costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum TypeDef {
    /// Simple type.
    Simple(SimpleType),
    /// Complex type.
    Complex(ComplexType),
}

/// An element declaration.
#[derive(Clone, Debug)]
pub struct ElementDecl {
    /// Its name.
    pub name: QName,
    /// Its type.
    pub type_: TypeId,
    /// `nillable`
    pub nillable: bool,
    /// default / fixed
    pub value_constraint: Option<ValueConstraint>,
    /// `abstract`
    pub abstract_: bool,
    /// `block` (with blockDefault applied)
    pub block: Derivations,
    /// `final` (with finalDefault applied): limits substitution group membership.
    pub final_: Derivations,
    /// Head of the substitution group this element is a member of.
    pub substitution_head: Option<ElemId>,
    /// Identity constraints defined on it.
    pub identity_constraints: Vec<IdcId>,
    /// Whether the declaration is global.
    pub global: bool,
    /// Where it is declared.
    pub pos: Position,
}

/// An attribute declaration.
#[derive(Clone, Debug)]
pub struct AttributeDecl {
    /// Its name.
    pub name: QName,
    /// Its simple type.
    pub type_: TypeId,
    /// default / fixed
    pub value_constraint: Option<ValueConstraint>,
    /// Where it is declared.
    pub pos: Position,
}

/// Which identity constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdcKind {
    /// `unique`
    Unique,
    /// `key`
    Key,
    /// `keyref`
    KeyRef,
}

/// One step of a restricted XPath (XSD 1.0 §3.11.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XStep {
    /// `.`
    SelfNode,
    /// A child element test: `name`, `p:*` (namespace only) or `*`.
    Child(NameTest),
    /// An attribute test (fields only, last step).
    Attribute(NameTest),
}

/// A name test in a restricted XPath.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameTest {
    /// `*`
    Any,
    /// `p:*`
    Namespace(Option<String>),
    /// A full name.
    Name(QName),
}

/// One alternative of a selector or field: `.//`-prefixed or not, then steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XPath {
    /// Starts with `.//`: matches at any depth below.
    pub descendant: bool,
    /// The steps.
    pub steps: Vec<XStep>,
}

/// An identity constraint.
#[derive(Clone, Debug)]
pub struct IdentityConstraint {
    /// Its name.
    pub name: QName,
    /// unique / key / keyref
    pub kind: IdcKind,
    /// Selector alternatives.
    pub selector: Vec<XPath>,
    /// Fields, each with alternatives.
    pub fields: Vec<Vec<XPath>>,
    /// For keyref: the key or unique it refers to.
    pub refer: Option<IdcId>,
    /// Where it is defined.
    pub pos: Position,
}

/// A compiled schema set. Immutable; share it with `Arc`.
#[derive(Debug)]
pub struct Schema {
    /// All type definitions.
    pub types: Vec<TypeDef>,
    /// All element declarations.
    pub elements: Vec<ElementDecl>,
    /// All attribute declarations.
    pub attributes: Vec<AttributeDecl>,
    /// All identity constraints.
    pub identity_constraints: Vec<IdentityConstraint>,
    /// Global element declarations by name.
    pub global_elements: HashMap<QName, ElemId>,
    /// Global attribute declarations by name.
    pub global_attributes: HashMap<QName, AttrId>,
    /// Global (and built-in) type definitions by name.
    pub global_types: HashMap<QName, TypeId>,
    /// Declared notations.
    pub notations: Vec<QName>,
    /// For each element, the elements that may substitute for it (transitively), not itself.
    pub substitutes: Vec<Vec<ElemId>>,
    /// `xs:anyType`
    pub any_type: TypeId,
    /// `xs:anySimpleType`
    pub any_simple_type: TypeId,
    /// Where the built-in simple types are, by built-in.
    pub builtin_types: HashMap<Builtin, TypeId>,
}

/// A simple value failed its type: which rule and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleTypeError {
    /// The constraint that failed, as the spec names it (e.g. `cvc-pattern-valid`).
    pub rule: &'static str,
    /// What was expected, without the value (the caller masks and adds it).
    pub expected: String,
}

impl Schema {
    /// The simple type at `id`, if it is one.
    pub fn simple(&self, id: TypeId) -> Option<&SimpleType> {
        match &self.types[id] {
            TypeDef::Simple(s) => Some(s),
            TypeDef::Complex(_) => None,
        }
    }

    /// The complex type at `id`, if it is one.
    pub fn complex(&self, id: TypeId) -> Option<&ComplexType> {
        match &self.types[id] {
            TypeDef::Complex(c) => Some(c),
            TypeDef::Simple(_) => None,
        }
    }

    /// The name of a type for messages: its QName or "anonymous type".
    pub fn type_name(&self, id: TypeId) -> String {
        let name = match &self.types[id] {
            TypeDef::Simple(s) => s.name.as_ref(),
            TypeDef::Complex(c) => c.name.as_ref(),
        };
        match name {
            Some(n) => n.local.clone(),
            None => "anonymous type".into(),
        }
    }

    /// The base of a type (anyType's base is itself).
    pub fn base_of(&self, id: TypeId) -> TypeId {
        match &self.types[id] {
            TypeDef::Simple(s) => s.base.unwrap_or(self.any_type),
            TypeDef::Complex(c) => c.base,
        }
    }

    /// Whether `derived` is `base` or derives from it without passing a method in `blocked`
    /// (XSD 1.0 §3.4.6 Type Derivation OK (Complex) and §3.14.6 (Simple)).
    pub fn derives_from(&self, derived: TypeId, base: TypeId, blocked: Derivations) -> bool {
        let mut t = derived;
        let mut steps = 0usize;
        loop {
            if t == base {
                return true;
            }
            if t == self.any_type || steps > self.types.len() {
                return false;
            }
            let method = match &self.types[t] {
                TypeDef::Complex(c) => c.derivation,
                TypeDef::Simple(s) => {
                    // A simple type is validly derived from a union that has it as a member (§3.14.6 2.2.4).
                    if let Some(TypeDef::Simple(b)) = self.types.get(base)
                        && let SimpleVariety::Union(members) = &b.variety
                        && b.facets_empty_for_union()
                        && members.iter().any(|m| self.derives_from(t, *m, blocked))
                    {
                        return true;
                    }
                    let _ = s;
                    Derivation::Restriction
                }
            };
            if (method == Derivation::Extension && blocked.extension)
                || (method == Derivation::Restriction && blocked.restriction)
            {
                return false;
            }
            t = self.base_of(t);
            steps += 1;
        }
    }

    /// [`Schema::validate_simple`] for a caller that does not keep the value: the same verdict, and
    /// for an atomic type of a string-valued builtin (most values in a message) nothing is built.
    pub fn check_simple(
        &self,
        type_id: TypeId,
        text: &str,
        ns: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), SimpleTypeError> {
        let Some(st) = self.simple(type_id) else {
            return self.validate_simple(type_id, text, ns).map(drop);
        };
        let SimpleVariety::Atomic(b) = st.variety else {
            return self.validate_simple(type_id, text, ns).map(drop);
        };
        if !datatypes::lexical::is_string_valued(b) {
            return self.validate_simple(type_id, text, ns).map(drop);
        }
        let normalized = datatypes::normalize(st.whitespace, text);
        datatypes::lexical::check_string(b, &normalized).map_err(|reason| SimpleTypeError {
            rule: "cvc-datatype-valid",
            expected: format!("a valid {} ({reason})", b.name()),
        })?;
        st.facets
            .check_string(&normalized)
            .map_err(|v| SimpleTypeError {
                rule: facet_rule(v.facet),
                expected: v.expected,
            })
    }

    /// Validate a string against a simple type, returning its value.
    /// `ns` resolves prefixes for QName and NOTATION values.
    pub fn validate_simple(
        &self,
        type_id: TypeId,
        text: &str,
        ns: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Value, SimpleTypeError> {
        let Some(st) = self.simple(type_id) else {
            return Err(SimpleTypeError {
                rule: "cvc-type",
                expected: "a simple type".into(),
            });
        };
        let normalized = datatypes::normalize(st.whitespace, text);
        let value = match &st.variety {
            SimpleVariety::Atomic(b) => {
                let v = datatypes::parse(*b, &normalized, ns).map_err(|e| SimpleTypeError {
                    rule: "cvc-datatype-valid",
                    expected: format!("a valid {} ({})", b.name(), e.reason),
                })?;
                if *b == Builtin::Notation
                    && let Value::QName { ns, local } | Value::Notation { ns, local } = &v
                {
                    let q = QName {
                        ns: ns.clone(),
                        local: local.clone(),
                    };
                    if !self.notations.contains(&q) {
                        return Err(SimpleTypeError {
                            rule: "cvc-datatype-valid",
                            expected: "the name of a declared notation".into(),
                        });
                    }
                }
                v
            }
            SimpleVariety::List(item) => {
                let mut items = Vec::new();
                for part in normalized.split(' ').filter(|p| !p.is_empty()) {
                    items.push(self.validate_simple(*item, part, ns).map_err(|e| {
                        SimpleTypeError {
                            rule: e.rule,
                            expected: format!(
                                "list items of type {}: {}",
                                self.type_name(*item),
                                e.expected
                            ),
                        }
                    })?);
                }
                Value::List(items)
            }
            SimpleVariety::Union(members) => {
                let mut found = None;
                for m in members {
                    if let Ok(v) = self.validate_simple(*m, &normalized, ns) {
                        found = Some(v);
                        break;
                    }
                }
                found.ok_or_else(|| SimpleTypeError {
                    rule: "cvc-datatype-valid",
                    expected: format!(
                        "a value of one of the union's member types ({})",
                        members
                            .iter()
                            .map(|m| self.type_name(*m))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?
            }
        };
        st.facets
            .check(&normalized, &value)
            .map_err(|v| SimpleTypeError {
                rule: facet_rule(v.facet),
                expected: v.expected,
            })?;
        Ok(value)
    }

    /// Whether `member` may appear where the declaration `head` is expected (XSD 1.0 §3.3.6
    /// Substitution Group OK (Transitive)): `head` does not block substitution, no intermediate head
    /// does, and the member's type derivation uses no method `head` (or its type) blocks.
    pub fn can_substitute(&self, head: ElemId, member: ElemId) -> bool {
        if head == member {
            return true;
        }
        let d = &self.elements[head];
        if d.block.substitution {
            return false;
        }
        let mut h = self.elements[member].substitution_head;
        let mut guard = 0;
        while let Some(x) = h {
            if x == head {
                break;
            }
            if self.elements[x].block.substitution || guard > self.elements.len() {
                return false;
            }
            h = self.elements[x].substitution_head;
            guard += 1;
        }
        if h.is_none() {
            return false;
        }
        let mut blocked = d.block;
        if let Some(ct) = self.complex(d.type_) {
            blocked.extension |= ct.block.extension;
            blocked.restriction |= ct.block.restriction;
        }
        self.derives_from(self.elements[member].type_, d.type_, blocked)
    }

    /// Whether the values of this simple type are IDs, IDREFs or lists of IDREFs (for ID/IDREF checking).
    pub fn id_kind(&self, type_id: TypeId) -> IdKind {
        let Some(st) = self.simple(type_id) else {
            return IdKind::None;
        };
        match &st.variety {
            SimpleVariety::Atomic(Builtin::Id) => IdKind::Id,
            SimpleVariety::Atomic(Builtin::IdRef) => IdKind::IdRef,
            SimpleVariety::List(item) if self.id_kind(*item) == IdKind::IdRef => IdKind::IdRefs,
            _ => IdKind::None,
        }
    }
}

/// ID-ness of a simple type (XSD 1.0 §3.15.5, ID/IDREF table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// Not an ID type.
    None,
    /// `xs:ID` or derived.
    Id,
    /// `xs:IDREF` or derived.
    IdRef,
    /// A list of IDREFs.
    IdRefs,
}

impl SimpleType {
    /// A union with no facets of its own, which a member type is said to derive from.
    fn facets_empty_for_union(&self) -> bool {
        true
    }
}

/// The spec's name for a facet failing at validation time.
fn facet_rule(kind: datatypes::FacetKind) -> &'static str {
    use datatypes::FacetKind as K;
    match kind {
        K::Length => "cvc-length-valid",
        K::MinLength => "cvc-minLength-valid",
        K::MaxLength => "cvc-maxLength-valid",
        K::Pattern => "cvc-pattern-valid",
        K::Enumeration => "cvc-enumeration-valid",
        K::WhiteSpace => "cvc-datatype-valid",
        K::MaxInclusive => "cvc-maxInclusive-valid",
        K::MaxExclusive => "cvc-maxExclusive-valid",
        K::MinInclusive => "cvc-minInclusive-valid",
        K::MinExclusive => "cvc-minExclusive-valid",
        K::TotalDigits => "cvc-totalDigits-valid",
        K::FractionDigits => "cvc-fractionDigits-valid",
    }
}
