//! The schema compiler: schema documents in, one immutable [`Schema`] out.
//!
//! Three stages. *Loading* reads every document reachable through include, import and redefine (each
//! file once per target namespace; chameleon includes adopt the includer's namespace), checks it against
//! the Schema for Schemas ([`s4s`]) and registers its top-level components by kind and name. *Compiling*
//! turns components into model entries on demand: a reference allocates an index at once and queues the
//! component, so recursive content (an element whose type contains that element) needs no special care;
//! only the base-type chain is followed eagerly, with cycle detection. *Checking* runs once everything
//! exists: substitution groups, content-model automata with the UPA check, Element Declarations
//! Consistent, restriction rules, default/fixed values and identity-constraint references.
//!
//! Files: `load` (stage one); `types`, `particles`, `elements`, `attributes` (stage two, one
//! `impl Compiler` block each); `checks` (stage three); `wildcards` (namespace-set operations).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::xml::content::{ContentModel, Particle, Term};
use crate::xml::datatypes::{Builtin, FacetKind, Facets, RawFacet, Value, Variety, WhiteSpace};
use crate::xml::reader::{Limits, Position};
use crate::xml::schema::doc::{self, Node, XS_NS, XSI_NS};
use crate::xml::schema::model::*;
use crate::xml::schema::{SchemaError, SchemaErrors, s4s, xpath};

mod attributes;
mod checks;
mod elements;
mod load;
mod particles;
mod types;
pub(crate) mod wildcards;

pub use wildcards::{wildcard_intersection, wildcard_subset, wildcard_union, wildcards_overlap};

/// Deepest chain of base types, nested model groups or group references compiled. Real schemas stay
/// under 20; the bound keeps a hostile or broken schema from exhausting the stack.
const MAX_NESTING: usize = 256;

/// Component kinds: each has its own symbol space (XSD 1.0 §3.15.3 / §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Type,
    Element,
    Attribute,
    Group,
    AttributeGroup,
    Notation,
}

/// A loaded schema document and its defaults.
struct Doc {
    path: String,
    dir: PathBuf,
    tns: Option<String>,
    /// Included without a target namespace of its own: unqualified references mean the adopted one.
    chameleon: bool,
    root: Node,
    elem_qualified: bool,
    attr_qualified: bool,
    block_default: Derivations,
    final_default: Derivations,
    /// Namespaces this document may refer to: its own, imported ones, XSD's.
    visible: HashSet<Option<String>>,
}

/// A top-level component waiting to be compiled.
#[derive(Clone)]
struct Src {
    doc: usize,
    node: Node,
    /// Inside a redefinition, references to the component's own name mean the original.
    self_ref: Option<(QName, QName)>,
}

/// Compile files into a schema.
pub fn compile(files: &[PathBuf]) -> Result<Schema, SchemaErrors> {
    let sources: Vec<(PathBuf, Option<Vec<u8>>)> =
        files.iter().map(|f| (f.clone(), None)).collect();
    compile_sources(&sources)
}

/// Compile sources, each a path and optionally its bytes (read from the path when `None`).
pub fn compile_sources(sources: &[(PathBuf, Option<Vec<u8>>)]) -> Result<Schema, SchemaErrors> {
    let mut c = Compiler::new();
    for (path, bytes) in sources {
        c.load(path, bytes.clone(), LoadMode::Top, None);
    }
    if c.errors.is_empty() {
        c.register_all();
    }
    if c.errors.is_empty() {
        c.compile_all();
    }
    if c.errors.is_empty() {
        c.check_all();
    }
    if c.errors.is_empty() {
        Ok(c.schema)
    } else {
        c.errors
            .sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        c.errors.dedup();
        Err(SchemaErrors(c.errors))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LoadMode {
    Top,
    Include,
    Import,
    Redefine,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    InProgress,
    Done,
}

struct Compiler {
    docs: Vec<Doc>,
    loaded: HashMap<(PathBuf, Option<String>), usize>,
    /// (redefining document, redefined document, the xs:redefine node)
    redefines: Vec<(usize, usize, Node)>,
    comps: HashMap<(Kind, QName), Src>,
    schema: Schema,
    type_state: Vec<State>,
    type_src: Vec<Option<(Src, Option<QName>)>>,
    elem_state: Vec<State>,
    elem_src: Vec<Option<Src>>,
    attr_state: HashMap<QName, AttrId>,
    /// Complex types' content before automata are built: (particle or None for empty, mixed).
    pending_content: HashMap<TypeId, (Option<ParticleDef>, bool)>,
    /// Element declarations whose type comes from their substitution group head.
    type_from_head: HashSet<ElemId>,
    /// Complex types derived by restriction, to check once everything exists.
    restrictions: Vec<TypeId>,
    group_stack: Vec<QName>,
    attr_group_stack: Vec<QName>,
    /// Each named group is compiled once: its local elements are single components, however often
    /// the group is referenced (and a group whose elements' types refer back to it stays finite).
    group_cache: HashMap<QName, Option<ParticleDef>>,
    attr_group_cache: HashMap<QName, AttrAcc>,
    idc_names: HashMap<QName, IdcId>,
    /// keyref → (refer name, doc, position)
    keyref_refers: Vec<(IdcId, QName)>,
    queue: Vec<TypeId>,
    /// Groups and attribute groups redefined without a self-reference: (kind, name, original's hidden
    /// name, document, position); each must restrict its original.
    restricting_redefines: Vec<(Kind, QName, QName, usize, Position)>,
    /// How deep the compiler is in base chains and nested or referenced groups (see [`Compiler::enter`]).
    depth: usize,
    nesting_reported: bool,
    /// Types being compiled, innermost last (a redefinition's self-reference is resolved against it).
    type_stack: Vec<TypeId>,
    elem_queue: Vec<ElemId>,
    /// Where each type/element was defined, for messages.
    type_doc: Vec<usize>,
    elem_doc: Vec<usize>,
    errors: Vec<SchemaError>,
}

fn derivations(v: Option<&str>, default: Derivations, allowed: &[&str]) -> Derivations {
    let v = match v {
        Some(v) => v,
        None => {
            let mut d = default;
            if !allowed.contains(&"extension") {
                d.extension = false;
            }
            if !allowed.contains(&"restriction") {
                d.restriction = false;
            }
            if !allowed.contains(&"substitution") {
                d.substitution = false;
            }
            if !allowed.contains(&"list") {
                d.list = false;
            }
            if !allowed.contains(&"union") {
                d.union = false;
            }
            return d;
        }
    };
    let all = v.trim() == "#all";
    let has = |w: &str| allowed.contains(&w) && (all || v.split_whitespace().any(|x| x == w));
    Derivations {
        extension: has("extension"),
        restriction: has("restriction"),
        substitution: has("substitution"),
        list: has("list"),
        union: has("union"),
    }
}

fn bool_attr(node: &Node, name: &str) -> bool {
    matches!(node.attr(name).map(str::trim), Some("true") | Some("1"))
}

fn occurs(node: &Node) -> (u32, Option<u32>) {
    let min = node
        .attr("minOccurs")
        .and_then(|v| s4s::parse_occurs(v.trim()).ok())
        .unwrap_or(1);
    let max = match node.attr("maxOccurs").map(str::trim) {
        Some("unbounded") => None,
        Some(v) => Some(s4s::parse_occurs(v).unwrap_or(1)),
        None => Some(1),
    };
    (min, max)
}

impl Compiler {
    fn new() -> Compiler {
        let mut schema = Schema {
            types: Vec::new(),
            elements: Vec::new(),
            attributes: Vec::new(),
            identity_constraints: Vec::new(),
            global_elements: HashMap::new(),
            global_attributes: HashMap::new(),
            global_types: HashMap::new(),
            notations: Vec::new(),
            substitutes: Vec::new(),
            any_type: 0,
            any_simple_type: 1,
            builtin_types: HashMap::new(),
        };
        let xs = |l: &str| QName::new(Some(XS_NS), l);
        // anyType: mixed, any element (lax), any attribute (lax).
        let any_wild = Wildcard {
            ns: NsConstraint::Any,
            process: ProcessContents::Lax,
        };
        let particle = ParticleDef {
            min: 0,
            max: None,
            term: TermDef::Wildcard(any_wild.clone()),
        };
        let leaves = vec![LeafTerm::Wildcard(any_wild.clone())];
        let model = ContentModel::compile_unchecked(&Particle {
            min: 1,
            max: Some(1),
            term: Term::Sequence(vec![Particle {
                min: 0,
                max: None,
                term: Term::Leaf(0),
            }]),
        });
        schema.types.push(TypeDef::Complex(ComplexType {
            name: Some(xs("anyType")),
            base: 0,
            derivation: Derivation::Restriction,
            abstract_: false,
            block: Derivations::default(),
            final_: Derivations::default(),
            attributes: Vec::new(),
            attribute_wildcard: Some(any_wild),
            content: ContentType::Elements(Arc::new(ElementContent {
                model,
                leaves,
                particle: ParticleDef {
                    min: 1,
                    max: Some(1),
                    term: TermDef::Sequence(vec![particle]),
                },
                mixed: true,
            })),
            pos: Position::default(),
        }));
        schema.global_types.insert(xs("anyType"), 0);
        let all_builtins = [
            Builtin::AnySimpleType,
            Builtin::String,
            Builtin::NormalizedString,
            Builtin::Token,
            Builtin::Language,
            Builtin::Name,
            Builtin::NCName,
            Builtin::Id,
            Builtin::IdRef,
            Builtin::Entity,
            Builtin::NmToken,
            Builtin::QName,
            Builtin::Notation,
            Builtin::AnyUri,
            Builtin::Boolean,
            Builtin::Decimal,
            Builtin::Integer,
            Builtin::NonPositiveInteger,
            Builtin::NegativeInteger,
            Builtin::Long,
            Builtin::Int,
            Builtin::Short,
            Builtin::Byte,
            Builtin::NonNegativeInteger,
            Builtin::UnsignedLong,
            Builtin::UnsignedInt,
            Builtin::UnsignedShort,
            Builtin::UnsignedByte,
            Builtin::PositiveInteger,
            Builtin::Float,
            Builtin::Double,
            Builtin::Duration,
            Builtin::DateTime,
            Builtin::Time,
            Builtin::Date,
            Builtin::GYearMonth,
            Builtin::GYear,
            Builtin::GMonthDay,
            Builtin::GDay,
            Builtin::GMonth,
            Builtin::HexBinary,
            Builtin::Base64Binary,
            Builtin::IdRefs,
            Builtin::Entities,
            Builtin::NmTokens,
        ];
        for b in all_builtins {
            let id = schema.types.len();
            let base = b
                .base()
                .and_then(|bb| schema.builtin_types.get(&bb).copied());
            let variety = match b.list_item() {
                Some(item) => SimpleVariety::List(schema.builtin_types[&item]),
                None => SimpleVariety::Atomic(b),
            };
            schema.types.push(TypeDef::Simple(SimpleType {
                name: Some(xs(b.name())),
                base: if b == Builtin::AnySimpleType {
                    Some(0)
                } else {
                    base.or(Some(1))
                },
                variety,
                facets: Facets::of_builtin(b),
                whitespace: b.whitespace(),
                final_: Derivations::default(),
                builtin: Some(b),
                pos: Position::default(),
            }));
            schema.builtin_types.insert(b, id);
            schema.global_types.insert(xs(b.name()), id);
        }
        let n = schema.types.len();
        Compiler {
            docs: Vec::new(),
            loaded: HashMap::new(),
            redefines: Vec::new(),
            comps: HashMap::new(),
            schema,
            type_state: vec![State::Done; n],
            type_src: vec![None; n],
            elem_state: Vec::new(),
            elem_src: Vec::new(),
            attr_state: HashMap::new(),
            pending_content: HashMap::new(),
            type_from_head: HashSet::new(),
            restrictions: Vec::new(),
            group_stack: Vec::new(),
            attr_group_stack: Vec::new(),
            group_cache: HashMap::new(),
            attr_group_cache: HashMap::new(),
            idc_names: HashMap::new(),
            keyref_refers: Vec::new(),
            queue: Vec::new(),
            type_stack: Vec::new(),
            depth: 0,
            nesting_reported: false,
            restricting_redefines: Vec::new(),
            elem_queue: Vec::new(),
            type_doc: vec![usize::MAX; n],
            elem_doc: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn err(&mut self, doc: usize, pos: Position, rule: &'static str, message: String) {
        let file = self
            .docs
            .get(doc)
            .map(|d| d.path.clone())
            .unwrap_or_default();
        self.errors.push(SchemaError {
            file,
            position: pos,
            rule,
            message,
        });
    }
}

/// Particle-level restriction checks live in their own module; this alias keeps the call site short.
use crate::xml::schema::restriction as super_restriction;

#[derive(Default, Clone)]
struct AttrAcc {
    uses: Vec<AttributeUse>,
    prohibited: Vec<QName>,
    wildcard: Option<Wildcard>,
}

fn kind_of(node: &Node) -> Option<Kind> {
    Some(match node.local.as_str() {
        "simpleType" | "complexType" => Kind::Type,
        "element" => Kind::Element,
        "attribute" => Kind::Attribute,
        "group" => Kind::Group,
        "attributeGroup" => Kind::AttributeGroup,
        "notation" => Kind::Notation,
        _ => return None,
    })
}

fn collect_refs<'a>(node: &'a Node, local: &str, out: &mut Vec<&'a Node>) {
    for c in node.xs_children() {
        if c.is(local) && c.attr("ref").is_some() {
            out.push(c);
        }
        collect_refs(c, local, out);
    }
}

fn values_equal(a: &ValueConstraint, b: &ValueConstraint) -> bool {
    match (&a.value, &b.value) {
        (Some(x), Some(y)) => x.same(y),
        _ => a.lexical.trim() == b.lexical.trim(),
    }
}
