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

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::xml::content::{ContentModel, Particle, Term};
use crate::xml::datatypes::{Builtin, FacetKind, Facets, RawFacet, Value, Variety, WhiteSpace};
use crate::xml::reader::{Limits, Position};
use crate::xml::schema::doc::{self, Node, XS_NS, XSI_NS};
use crate::xml::schema::model::*;
use crate::xml::schema::{SchemaError, SchemaErrors, s4s, xpath};

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

    // ---------------------------------------------------------------- loading

    /// Load a document; returns its index. `chameleon`: the namespace an included document without a
    /// target namespace adopts. Errors are recorded; `None` when nothing could be loaded.
    fn load(
        &mut self,
        path: &Path,
        bytes: Option<Vec<u8>>,
        mode: LoadMode,
        chameleon: Option<Option<String>>,
    ) -> Option<usize> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let bytes = match bytes {
            Some(b) => b,
            None => match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => {
                    if mode == LoadMode::Top {
                        self.errors.push(SchemaError {
                            file: path.display().to_string(),
                            position: Position::default(),
                            rule: "schema-load",
                            message: format!("cannot read: {e}"),
                        });
                    }
                    // A failed include or import is not an error in XSD 1.0 (§4.2.1, §4.2.3): the
                    // components it would have provided are simply missing, which src-resolve reports.
                    return None;
                }
            },
        };
        let file = path.display().to_string();
        let limits = Limits {
            skip_doctype: true,
            ..Limits::default()
        };
        let root = match doc::read_document(&bytes, &limits) {
            Ok(r) => r,
            Err(e) => {
                self.errors.push(SchemaError {
                    file,
                    position: e.position,
                    rule: "schema-xml",
                    message: e.to_string(),
                });
                return None;
            }
        };
        let own_tns = root.attr("targetNamespace").map(str::to_owned);
        if own_tns.as_deref() == Some("") {
            self.errors.push(SchemaError {
                file: file.clone(),
                position: root.pos,
                rule: "s4s-att-invalid-value",
                message: "targetNamespace must not be empty (omit it for no namespace)".into(),
            });
        }
        let tns = match (&own_tns, &chameleon) {
            (None, Some(adopt)) => adopt.clone(),
            _ => own_tns.clone(),
        };
        let key = (canonical, tns.clone());
        if let Some(&i) = self.loaded.get(&key) {
            return Some(i);
        }
        let s4s_errors: Vec<SchemaError> = s4s::check_document(&root)
            .into_iter()
            .map(|e| SchemaError {
                file: file.clone(),
                position: e.node.pos,
                rule: e.rule,
                message: e.message,
            })
            .collect();
        let had_s4s_errors = !s4s_errors.is_empty();
        self.errors.extend(s4s_errors);
        if had_s4s_errors {
            return None;
        }
        let form = |a: &str| root.attr(a).map(str::trim) == Some("qualified");
        let all = Derivations {
            extension: true,
            restriction: true,
            substitution: true,
            list: true,
            union: true,
        };
        let deriv = |a: &str| {
            derivations(
                root.attr(a),
                Derivations::default(),
                &["extension", "restriction", "substitution", "list", "union"],
            )
        };
        let _ = all;
        let mut visible = HashSet::new();
        visible.insert(tns.clone());
        visible.insert(Some(XS_NS.to_owned()));
        let idx = self.docs.len();
        self.docs.push(Doc {
            path: file,
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            tns: tns.clone(),
            chameleon: own_tns.is_none() && tns.is_some(),
            elem_qualified: form("elementFormDefault"),
            attr_qualified: form("attributeFormDefault"),
            block_default: deriv("blockDefault"),
            final_default: deriv("finalDefault"),
            root: root.clone(),
            visible,
        });
        self.loaded.insert(key, idx);
        for child in root.xs_children() {
            let loc = child
                .attr("schemaLocation")
                .map(|l| self.docs[idx].dir.join(l.trim()));
            match child.local.as_str() {
                "include" | "redefine" => {
                    let Some(loc) = loc else { continue };
                    let m = if child.local == "include" {
                        LoadMode::Include
                    } else {
                        LoadMode::Redefine
                    };
                    if let Some(j) = self.load(&loc, None, m, Some(tns.clone())) {
                        let jt = self.docs[j].tns.clone();
                        if jt != tns {
                            self.err(
                                idx,
                                child.pos,
                                "src-include",
                                format!(
                                    "included schema has target namespace '{}', not '{}'",
                                    jt.unwrap_or_default(),
                                    tns.clone().unwrap_or_default()
                                ),
                            );
                        }
                        // Each document sees only what it imports itself (src-resolve.4.2).
                        if m == LoadMode::Redefine {
                            self.redefines.push((idx, j, child.clone()));
                        }
                    } else if m == LoadMode::Redefine && child.xs_children().next().is_some() {
                        self.err(
                            idx,
                            child.pos,
                            "src-redefine",
                            "the redefined schema cannot be read".into(),
                        );
                    }
                }
                "import" => {
                    let ns = child.attr("namespace").map(str::to_owned);
                    if ns == tns {
                        self.err(
                            idx,
                            child.pos,
                            "src-import",
                            match &ns {
                                Some(n) => {
                                    format!("a schema cannot import its own namespace '{n}'")
                                }
                                None => "a schema without target namespace must import a namespace"
                                    .into(),
                            },
                        );
                        continue;
                    }
                    self.docs[idx].visible.insert(ns.clone());
                    let Some(loc) = loc else { continue };
                    if let Some(j) = self.load(&loc, None, LoadMode::Import, None)
                        && self.docs[j].tns != ns
                    {
                        self.err(
                            idx,
                            child.pos,
                            "src-import",
                            format!(
                                "imported schema has target namespace '{}', import says '{}'",
                                self.docs[j].tns.clone().unwrap_or_default(),
                                ns.unwrap_or_default()
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        Some(idx)
    }

    fn register_all(&mut self) {
        for d in 0..self.docs.len() {
            let root = self.docs[d].root.clone();
            for child in root.xs_children() {
                let Some(kind) = kind_of(child) else { continue };
                let Some(name) = child.attr("name") else {
                    continue;
                };
                let qn = QName {
                    ns: self.docs[d].tns.clone(),
                    local: name.trim().to_owned(),
                };
                self.register(
                    kind,
                    qn,
                    Src {
                        doc: d,
                        node: child.clone(),
                        self_ref: None,
                    },
                );
            }
        }
        // Redefinitions were recorded innermost first, so a chain of redefines applies in order: each
        // moves the definition current so far to a hidden name that its own self-reference resolves to.
        let redefines = self.redefines.clone();
        for (i, (r, _d, node)) in redefines.iter().enumerate() {
            for child in node.xs_children() {
                let Some(kind) = kind_of(child) else { continue };
                let Some(name) = child.attr("name") else {
                    continue;
                };
                let qn = QName {
                    ns: self.docs[*r].tns.clone(),
                    local: name.trim().to_owned(),
                };
                let hidden = QName {
                    ns: qn.ns.clone(),
                    local: format!("{}\u{1}redefined{i}", qn.local),
                };
                match self.comps.remove(&(kind, qn.clone())) {
                    Some(orig) => {
                        self.comps.insert((kind, hidden.clone()), orig);
                        let src = Src {
                            doc: *r,
                            node: child.clone(),
                            self_ref: Some((qn.clone(), hidden.clone())),
                        };
                        self.check_redefine_self_ref(kind, &src);
                        if matches!(kind, Kind::Group | Kind::AttributeGroup)
                            && !self.refers_to_itself(kind, &src)
                        {
                            self.restricting_redefines.push((
                                kind,
                                qn.clone(),
                                hidden,
                                *r,
                                child.pos,
                            ));
                        }
                        self.comps.insert((kind, qn), src);
                    }
                    None => self.err(
                        *r,
                        child.pos,
                        "src-redefine",
                        format!(
                            "'{}' is redefined but the redefined schema does not define it",
                            name.trim()
                        ),
                    ),
                }
            }
        }
    }

    fn refers_to_itself(&self, kind: Kind, src: &Src) -> bool {
        let Some((me, _)) = &src.self_ref else {
            return false;
        };
        let mut refs = Vec::new();
        collect_refs(
            &src.node,
            if kind == Kind::Group {
                "group"
            } else {
                "attributeGroup"
            },
            &mut refs,
        );
        refs.iter().any(|n| {
            n.attr("ref")
                .and_then(|r| self.resolve_qname(src.doc, n, r))
                .as_ref()
                == Some(me)
        })
    }

    /// src-redefine.6.2.2 / 7.2.2: a group or attribute group redefined without referring to itself
    /// must be a valid restriction of the original.
    fn check_restricting_redefines(&mut self) {
        for (kind, qn, orig, doc, pos) in self.restricting_redefines.clone() {
            let result = if kind == Kind::Group {
                let new = self.group_cache.get(&qn).cloned().flatten();
                let old = self.group_cache.get(&orig).cloned().flatten();
                super_restriction::particles(&self.schema, new.as_ref(), old.as_ref())
            } else {
                let new = self.attr_group_cache.get(&qn).cloned().unwrap_or_default();
                let old = self
                    .attr_group_cache
                    .get(&orig)
                    .cloned()
                    .unwrap_or_default();
                self.attribute_group_restricts(&new, &old)
            };
            if let Err(m) = result {
                self.err(
                    doc,
                    pos,
                    "src-redefine",
                    format!(
                        "the redefinition of '{}' does not restrict the original: {m}",
                        qn.local
                    ),
                );
            }
        }
    }

    fn attribute_group_restricts(&self, new: &AttrAcc, old: &AttrAcc) -> Result<(), String> {
        let name = |u: &AttributeUse| self.schema.attributes[u.decl].name.clone();
        for u in &new.uses {
            match old.uses.iter().find(|o| name(o) == name(u)) {
                Some(o) if o.required && !u.required => {
                    return Err(format!("attribute '{}' must stay required", name(u).local));
                }
                Some(_) => {}
                None if old
                    .wildcard
                    .as_ref()
                    .is_some_and(|w| w.ns.allows(name(u).ns.as_deref())) => {}
                None => {
                    return Err(format!(
                        "attribute '{}' is not in the original",
                        name(u).local
                    ));
                }
            }
        }
        for o in old.uses.iter().filter(|o| o.required) {
            if !new.uses.iter().any(|u| name(u) == name(o)) {
                return Err(format!("required attribute '{}' is missing", name(o).local));
            }
        }
        match (&new.wildcard, &old.wildcard) {
            (Some(_), None) => Err("the original has no attribute wildcard".into()),
            (Some(w), Some(b)) if !wildcard_subset(w, b) => {
                Err("the attribute wildcard is not a subset of the original's".into())
            }
            _ => Ok(()),
        }
    }

    /// src-redefine: a redefined type must derive from itself; a redefined group that refers to itself
    /// must do so exactly once with min = max = 1.
    fn check_redefine_self_ref(&mut self, kind: Kind, src: &Src) {
        let Some((me, _)) = &src.self_ref else { return };
        match kind {
            Kind::Type => {
                let base = src
                    .node
                    .xs_children()
                    .flat_map(|c| std::iter::once(c).chain(c.xs_children()))
                    .find(|c| c.is("restriction") || c.is("extension"))
                    .and_then(|c| c.attr("base").map(|b| (c, b.to_owned())));
                let ok = base
                    .is_some_and(|(c, b)| self.resolve_qname(src.doc, c, &b).as_ref() == Some(me));
                if !ok {
                    self.err(
                        src.doc,
                        src.node.pos,
                        "src-redefine",
                        format!(
                            "the redefinition of type '{}' must derive from the type it redefines",
                            me.local
                        ),
                    );
                }
            }
            Kind::Group => {
                let mut refs = Vec::new();
                collect_refs(&src.node, "group", &mut refs);
                let self_refs: Vec<&Node> = refs
                    .into_iter()
                    .filter(|n| {
                        n.attr("ref")
                            .and_then(|r| self.resolve_qname(src.doc, n, r))
                            .as_ref()
                            == Some(me)
                    })
                    .collect();
                if self_refs.len() > 1 || self_refs.iter().any(|n| occurs(n) != (1, Some(1))) {
                    self.err(
                        src.doc,
                        src.node.pos,
                        "src-redefine",
                        format!(
                            "group '{}' may refer to itself once, with minOccurs = maxOccurs = 1",
                            me.local
                        ),
                    );
                }
            }
            Kind::AttributeGroup => {
                let mut refs = Vec::new();
                collect_refs(&src.node, "attributeGroup", &mut refs);
                let n = refs
                    .iter()
                    .filter(|n| {
                        n.attr("ref")
                            .and_then(|r| self.resolve_qname(src.doc, n, r))
                            .as_ref()
                            == Some(me)
                    })
                    .count();
                if n > 1 {
                    self.err(
                        src.doc,
                        src.node.pos,
                        "src-redefine",
                        format!(
                            "attribute group '{}' may refer to itself at most once",
                            me.local
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    fn register(&mut self, kind: Kind, qn: QName, src: Src) {
        if kind == Kind::Type
            && qn.ns.as_deref() == Some(XS_NS)
            && self.schema.global_types.contains_key(&qn)
        {
            // The Schema for Schemas itself: built-ins are already there.
            return;
        }
        if let Some(prev) = self.comps.get(&(kind, qn.clone())) {
            if prev.doc == src.doc && prev.node.pos == src.node.pos {
                return;
            }
            let (d, pos) = (src.doc, src.node.pos);
            self.err(
                d,
                pos,
                "sch-props-correct.2",
                format!("{:?} '{}' is defined twice", kind, qn.local)
                    .to_lowercase()
                    .replace("attributegroup", "attribute group"),
            );
            return;
        }
        self.comps.insert((kind, qn), src);
    }

    /// Resolve a QName-valued attribute at `node` in `doc`, checking that the namespace is visible there
    /// (src-resolve.4).
    fn resolve_qname(&self, doc: usize, node: &Node, value: &str) -> Option<QName> {
        let v = value.trim();
        let (p, l) = crate::xml::reader::split_qname(v);
        let ns = match p {
            Some(p) => Some(node.resolve_prefix(p)?.to_owned()),
            None => node
                .resolve_prefix("")
                .map(str::to_owned)
                .filter(|s| !s.is_empty()),
        };
        // Chameleon include (§4.2.1): names without a namespace take the includer's.
        let ns = match ns {
            None if self.docs.get(doc).is_some_and(|d| d.chameleon) => self.docs[doc].tns.clone(),
            ns => ns,
        };
        Some(QName {
            ns,
            local: l.to_owned(),
        })
    }

    fn lookup(&mut self, doc: usize, node: &Node, attr: &str, kind: Kind) -> Option<(QName, Src)> {
        let value = node.attr(attr)?.to_owned();
        let Some(mut qn) = self.resolve_qname(doc, node, &value) else {
            self.err(
                doc,
                node.pos,
                "src-resolve",
                format!("cannot resolve '{}'", value.trim()),
            );
            return None;
        };
        if !self.docs[doc].visible.contains(&qn.ns) {
            self.err(
                doc,
                node.pos,
                "src-resolve.4",
                format!(
                    "'{}' is in namespace '{}', which this schema document does not import",
                    qn.local,
                    qn.ns.clone().unwrap_or_default()
                ),
            );
            return None;
        }
        // Inside a redefinition, the component's own name means the original.
        if let Some(stack_top) = self.redefine_context(doc, &qn, kind) {
            qn = stack_top;
        }
        self.comps
            .get(&(kind, qn.clone()))
            .map(|src| (qn, src.clone()))
    }

    fn redefine_context(&self, _doc: usize, qn: &QName, kind: Kind) -> Option<QName> {
        let current = match kind {
            Kind::Group => self.group_stack.last(),
            Kind::AttributeGroup => self.attr_group_stack.last(),
            _ => None,
        }?;
        let src = self.comps.get(&(kind, current.clone()))?;
        match &src.self_ref {
            Some((me, orig)) if me == qn => Some(orig.clone()),
            _ => None,
        }
    }

    // ---------------------------------------------------------------- compiling

    fn compile_all(&mut self) {
        // Notations first: NOTATION-typed values (facets, defaults) are checked against them.
        let mut notations: Vec<QName> = self
            .comps
            .keys()
            .filter(|(k, _)| *k == Kind::Notation)
            .map(|(_, q)| q.clone())
            .collect();
        notations.sort();
        self.schema.notations = notations;
        let keys: Vec<(Kind, QName)> = {
            let mut k: Vec<_> = self.comps.keys().cloned().collect();
            k.sort_by_key(|a| (a.1.clone(), a.0 as u8));
            k
        };
        for (kind, qn) in keys {
            match kind {
                Kind::Type => {
                    let id = self.global_type(&qn);
                    self.ensure_type(id);
                }
                Kind::Element => {
                    let id = self.global_element(&qn);
                    self.ensure_element(id);
                }
                Kind::Attribute => {
                    self.global_attribute(&qn);
                }
                Kind::Group => {
                    if !self.group_cache.contains_key(&qn) {
                        let src = self.comps[&(kind, qn.clone())].clone();
                        self.group_stack.push(qn.clone());
                        let p = src
                            .node
                            .xs_children()
                            .next()
                            .cloned()
                            .and_then(|m| self.particle(src.doc, &m, true));
                        self.group_stack.pop();
                        self.group_cache.insert(qn.clone(), p);
                    }
                }
                Kind::AttributeGroup => {
                    if !self.attr_group_cache.contains_key(&qn) {
                        let src = self.comps[&(kind, qn.clone())].clone();
                        self.attr_group_stack.push(qn.clone());
                        let mut uses = AttrAcc::default();
                        self.attribute_children(src.doc, &src.node, &mut uses);
                        self.attr_group_stack.pop();
                        self.attr_group_cache.insert(qn.clone(), uses);
                    }
                }
                Kind::Notation => {}
            }
        }
        loop {
            if let Some(t) = self.queue.pop() {
                self.ensure_type(t);
            } else if let Some(e) = self.elem_queue.pop() {
                self.ensure_element(e);
            } else {
                break;
            }
        }
    }

    /// Step one level into a chain of base types, nested groups or group references. Past
    /// [`MAX_NESTING`] levels the schema is refused rather than risking the stack; the caller always
    /// steps back out (`self.depth -= 1`), whether this allowed it or not.
    fn enter(&mut self, doc: usize, pos: Position) -> bool {
        self.depth += 1;
        // Once the limit was hit the schema is refused: stop compiling instead of retrying every chain.
        if self.nesting_reported {
            return false;
        }
        if self.depth > MAX_NESTING {
            if !self.nesting_reported {
                self.nesting_reported = true;
                self.err(doc, pos, "schema-limit", format!(
                    "derivations, nested groups or group references go deeper than {MAX_NESTING} levels"));
            }
            return false;
        }
        true
    }

    fn new_type(&mut self, src: Option<(Src, Option<QName>)>, doc: usize) -> TypeId {
        let id = self.schema.types.len();
        // Placeholder until compiled; never read before then except after errors.
        self.schema.types.push(TypeDef::Simple(SimpleType {
            name: None,
            base: Some(self.schema.any_simple_type),
            variety: SimpleVariety::Atomic(Builtin::AnySimpleType),
            facets: Facets::default(),
            whitespace: WhiteSpace::Preserve,
            final_: Derivations::default(),
            builtin: None,
            pos: Position::default(),
        }));
        self.type_state.push(State::Pending);
        self.type_src.push(src);
        self.type_doc.push(doc);
        self.queue.push(id);
        id
    }

    fn global_type(&mut self, qn: &QName) -> TypeId {
        if let Some(&id) = self.schema.global_types.get(qn) {
            return id;
        }
        let src = self.comps[&(Kind::Type, qn.clone())].clone();
        let doc = src.doc;
        let id = self.new_type(Some((src, Some(qn.clone()))), doc);
        self.schema.global_types.insert(qn.clone(), id);
        id
    }

    /// The type a `type`/`base`/`itemType` attribute names; anyType after an error.
    fn type_ref(&mut self, doc: usize, node: &Node, attr: &str) -> TypeId {
        let raw = node.attr(attr).unwrap_or_default().to_owned();
        let Some(qn) = self.resolve_qname(doc, node, &raw) else {
            self.err(
                doc,
                node.pos,
                "src-resolve",
                format!("cannot resolve type '{}'", raw.trim()),
            );
            return self.schema.any_type;
        };
        self.type_by_name(doc, node, qn)
    }

    fn type_by_name(&mut self, doc: usize, node: &Node, mut qn: QName) -> TypeId {
        if !self.docs[doc].visible.contains(&qn.ns) {
            self.err(
                doc,
                node.pos,
                "src-resolve.4",
                format!(
                    "type '{}' is in namespace '{}', which this schema document does not import",
                    qn.local,
                    qn.ns.clone().unwrap_or_default()
                ),
            );
            return self.schema.any_type;
        }
        if let Some(orig) = self.current_type_self_ref(&qn) {
            qn = orig;
        }
        if let Some(&id) = self.schema.global_types.get(&qn) {
            return id;
        }
        if self.comps.contains_key(&(Kind::Type, qn.clone())) {
            return self.global_type(&qn);
        }
        self.err(
            doc,
            node.pos,
            "src-resolve",
            format!("type '{}' is not defined", qn.local),
        );
        self.schema.any_type
    }

    /// While compiling a redefining type, its own name means the original.
    fn current_type_self_ref(&self, qn: &QName) -> Option<QName> {
        let top = *self.type_stack.last()?;
        match &self.type_src[top] {
            Some((src, _)) => match &src.self_ref {
                Some((me, orig)) if me == qn => Some(orig.clone()),
                _ => None,
            },
            None => None,
        }
    }

    fn ensure_type(&mut self, id: TypeId) {
        if self.type_state[id] != State::Pending {
            return self.ensure_type_inner(id);
        }
        let doc = self.type_doc[id];
        let pos = self.type_src[id]
            .as_ref()
            .map(|s| s.0.node.pos)
            .unwrap_or_default();
        if self.enter(doc, pos) {
            self.ensure_type_inner(id);
        }
        self.depth -= 1;
    }

    fn ensure_type_inner(&mut self, id: TypeId) {
        match self.type_state[id] {
            State::Done => return,
            State::InProgress => {
                let doc = self.type_doc[id];
                let pos = self.type_src[id]
                    .as_ref()
                    .map(|s| s.0.node.pos)
                    .unwrap_or_default();
                let name = self.type_src[id]
                    .as_ref()
                    .and_then(|s| s.1.clone())
                    .map(|q| q.local)
                    .unwrap_or_else(|| "anonymous".into());
                self.err(
                    doc,
                    pos,
                    "ct-props-correct.3",
                    format!("type '{name}' is derived from itself (circular definition)"),
                );
                return;
            }
            State::Pending => {}
        }
        self.type_state[id] = State::InProgress;
        let Some((src, name)) = self.type_src[id].clone() else {
            self.type_state[id] = State::Done;
            return;
        };
        self.type_stack.push(id);
        let def = if src.node.is("simpleType") {
            TypeDef::Simple(self.simple_type(src.doc, &src.node, name))
        } else {
            TypeDef::Complex(self.complex_type(id, src.doc, &src.node, name))
        };
        self.type_stack.pop();
        self.schema.types[id] = def;
        self.type_state[id] = State::Done;
    }

    fn anonymous_type(&mut self, doc: usize, node: &Node) -> TypeId {
        let id = self.new_type(
            Some((
                Src {
                    doc,
                    node: node.clone(),
                    self_ref: None,
                },
                None,
            )),
            doc,
        );
        self.ensure_type(id);
        id
    }

    /// The base for a simple-type restriction/list/union member: the named one or the inline one.
    fn simple_ref_or_inline(&mut self, doc: usize, node: &Node, attr: &str) -> Option<TypeId> {
        let inline = node.xs_children().find(|c| c.is("simpleType")).cloned();
        match (node.attr(attr), inline) {
            (Some(_), Some(_)) => {
                self.err(
                    doc,
                    node.pos,
                    "src-simple-type",
                    format!(
                        "xs:{} has both a '{attr}' attribute and an inline simpleType",
                        node.local
                    ),
                );
                None
            }
            (Some(_), None) => {
                let t = self.type_ref(doc, node, attr);
                self.ensure_type(t);
                Some(t)
            }
            (None, Some(st)) => Some(self.anonymous_type(doc, &st)),
            (None, None) => {
                self.err(
                    doc,
                    node.pos,
                    "src-simple-type",
                    format!(
                        "xs:{} needs a '{attr}' attribute or an inline simpleType",
                        node.local
                    ),
                );
                None
            }
        }
    }

    fn simple_type(&mut self, doc: usize, node: &Node, name: Option<QName>) -> SimpleType {
        let final_ = derivations(
            node.attr("final"),
            self.docs[doc].final_default,
            &["list", "union", "restriction"],
        );
        let mut st = SimpleType {
            name,
            base: Some(self.schema.any_simple_type),
            variety: SimpleVariety::Atomic(Builtin::AnySimpleType),
            facets: Facets::default(),
            whitespace: WhiteSpace::Preserve,
            final_,
            builtin: None,
            pos: node.pos,
        };
        let Some(body) = node.xs_children().next().cloned() else {
            return st;
        };
        match body.local.as_str() {
            "restriction" => {
                let Some(base) = self.simple_ref_or_inline(doc, &body, "base") else {
                    return st;
                };
                let Some(b) = self.schema.simple(base).cloned() else {
                    self.err(
                        doc,
                        body.pos,
                        "st-props-correct.1",
                        format!(
                            "the base of a simple type must be simple; '{}' is complex",
                            self.schema.type_name(base)
                        ),
                    );
                    return st;
                };
                if b.final_.restriction {
                    self.err(
                        doc,
                        body.pos,
                        "st-props-correct.3",
                        format!(
                            "type '{}' is final for restriction",
                            self.schema.type_name(base)
                        ),
                    );
                }
                st.base = Some(base);
                st.variety = b.variety.clone();
                st.whitespace = b.whitespace;
                st.facets = self.derive_facets(doc, &body, base, &b);
                if let Some(ws) = st.facets.whitespace() {
                    st.whitespace = ws;
                }
            }
            "list" => {
                let Some(item) = self.simple_ref_or_inline(doc, &body, "itemType") else {
                    return st;
                };
                match self.schema.simple(item).cloned() {
                    None => self.err(
                        doc,
                        body.pos,
                        "cos-st-restricts.2.1",
                        "the item type of a list must be a simple type".into(),
                    ),
                    Some(it) => {
                        if matches!(it.variety, SimpleVariety::List(_)) || self.union_has_list(item)
                        {
                            self.err(
                                doc,
                                body.pos,
                                "cos-st-restricts.2.1",
                                format!(
                                    "the item type '{}' of a list cannot itself be a list",
                                    self.schema.type_name(item)
                                ),
                            );
                        }
                        if it.final_.list {
                            self.err(
                                doc,
                                body.pos,
                                "cos-st-restricts.2.1",
                                format!("type '{}' is final for list", self.schema.type_name(item)),
                            );
                        }
                    }
                }
                st.variety = SimpleVariety::List(item);
                st.whitespace = WhiteSpace::Collapse;
            }
            "union" => {
                let mut members = Vec::new();
                if let Some(list) = body.attr("memberTypes") {
                    for m in list.split_whitespace() {
                        let Some(qn) = self.resolve_qname(doc, &body, m) else {
                            self.err(
                                doc,
                                body.pos,
                                "src-resolve",
                                format!("cannot resolve member type '{m}'"),
                            );
                            continue;
                        };
                        let t = self.type_by_name(doc, &body, qn);
                        self.ensure_type(t);
                        members.push(t);
                    }
                }
                for inline in body.xs_children().filter(|c| c.is("simpleType")) {
                    let inline = inline.clone();
                    members.push(self.anonymous_type(doc, &inline));
                }
                if members.is_empty() {
                    self.err(
                        doc,
                        body.pos,
                        "src-union-memberTypes-or-simpleTypes",
                        "a union needs member types".into(),
                    );
                }
                for &m in &members {
                    match self.schema.simple(m) {
                        None => self.err(
                            doc,
                            body.pos,
                            "cos-st-restricts.3.1",
                            format!(
                                "union member '{}' is not a simple type",
                                self.schema.type_name(m)
                            ),
                        ),
                        Some(mt) if mt.final_.union => self.err(
                            doc,
                            body.pos,
                            "cos-st-restricts.3.1",
                            format!("type '{}' is final for union", self.schema.type_name(m)),
                        ),
                        _ => {}
                    }
                }
                st.variety = SimpleVariety::Union(members);
                // A union normalizes nothing itself: each member applies its own white space rule.
                st.whitespace = WhiteSpace::Preserve;
            }
            _ => {}
        }
        st
    }

    fn union_has_list(&self, t: TypeId) -> bool {
        match self.schema.simple(t).map(|s| &s.variety) {
            Some(SimpleVariety::Union(ms)) => ms.iter().any(|m| {
                matches!(
                    self.schema.simple(*m).map(|s| &s.variety),
                    Some(SimpleVariety::List(_))
                ) || (*m != t && self.union_has_list(*m))
            }),
            _ => false,
        }
    }

    /// Facets of a restriction step over `base`.
    fn derive_facets(&mut self, doc: usize, body: &Node, base: TypeId, b: &SimpleType) -> Facets {
        let mut raw = Vec::new();
        for f in body.xs_children() {
            let Some(kind) = FacetKind::from_name(&f.local) else {
                continue;
            };
            raw.push(RawFacet {
                kind,
                value: f.attr("value").unwrap_or_default().to_owned(),
                fixed: bool_attr(f, "fixed"),
                namespaces: f.namespaces.iter().cloned().collect(),
            });
            if f.attr("value").is_none() {
                self.err(
                    doc,
                    f.pos,
                    "s4s-att-must-appear",
                    format!("xs:{} needs a 'value'", f.local),
                );
            }
        }
        let variety = match &b.variety {
            SimpleVariety::Atomic(bi) => Variety::Atomic(*bi),
            SimpleVariety::List(_) => Variety::List,
            SimpleVariety::Union(_) => Variety::Union,
        };
        if base == self.schema.any_simple_type {
            // XSD 1.0 §3.14.6: only the built-in primitives restrict anySimpleType directly.
            self.err(
                doc,
                body.pos,
                "st-props-correct.2",
                "anySimpleType cannot be the base of a restriction".into(),
            );
            return b.facets.clone();
        }
        let schema = &self.schema;
        let result = b.facets.derive(&variety, &raw, &|lex, nss| {
            let resolve = |p: &str| nss.iter().find(|(q, _)| q == p).map(|(_, u)| u.clone());
            schema
                .validate_simple(base, lex, &resolve)
                .map_err(|e| e.expected)
        });
        match result {
            Ok(f) => f,
            Err(e) => {
                self.err(
                    doc,
                    body.pos,
                    "cos-st-restricts / facet rules",
                    format!("facet {}: {}", e.facet.name(), e.message),
                );
                b.facets.clone()
            }
        }
    }

    fn complex_type(
        &mut self,
        id: TypeId,
        doc: usize,
        node: &Node,
        name: Option<QName>,
    ) -> ComplexType {
        let d = &self.docs[doc];
        let block = derivations(
            node.attr("block"),
            d.block_default,
            &["extension", "restriction"],
        );
        let final_ = derivations(
            node.attr("final"),
            d.final_default,
            &["extension", "restriction"],
        );
        let mut ct = ComplexType {
            name,
            base: self.schema.any_type,
            derivation: Derivation::Restriction,
            abstract_: bool_attr(node, "abstract"),
            block,
            final_,
            attributes: Vec::new(),
            attribute_wildcard: None,
            content: ContentType::Empty,
            pos: node.pos,
        };
        let body = node.xs_children().next().cloned();
        let type_mixed = bool_attr(node, "mixed");
        match body {
            Some(b) if b.is("simpleContent") => self.simple_content(id, doc, &b, &mut ct),
            Some(b) if b.is("complexContent") => {
                let mixed = if b.attr("mixed").is_some() {
                    bool_attr(&b, "mixed")
                } else {
                    type_mixed
                };
                self.complex_content(id, doc, &b, mixed, &mut ct);
            }
            _ => {
                // Shorthand: restriction of anyType.
                let particle = self.content_particle(doc, node);
                let mut acc = AttrAcc::default();
                self.attribute_children(doc, node, &mut acc);
                ct.attributes = self.finish_attr_uses(doc, node, acc.uses.clone(), &ct);
                ct.attribute_wildcard = acc.wildcard;
                self.set_content(id, particle, type_mixed, &mut ct);
            }
        }
        ct
    }

    /// Particle of a complex type / derivation body, with the emptiness rules of §3.4.2.
    fn content_particle(&mut self, doc: usize, node: &Node) -> Option<ParticleDef> {
        let group = node
            .xs_children()
            .find(|c| c.is("group") || c.is("all") || c.is("choice") || c.is("sequence"))
            .cloned()?;
        let p = self.particle(doc, &group, true)?;
        let empty = match &p.term {
            TermDef::Sequence(v) | TermDef::All(v) => v.is_empty(),
            TermDef::Choice(v) => v.is_empty() && p.min == 0,
            _ => false,
        };
        if empty || p.max == Some(0) {
            None
        } else {
            Some(p)
        }
    }

    fn set_content(
        &mut self,
        id: TypeId,
        particle: Option<ParticleDef>,
        mixed: bool,
        ct: &mut ComplexType,
    ) {
        if particle.is_none() && !mixed {
            ct.content = ContentType::Empty;
        } else {
            ct.content = ContentType::Elements(Arc::new(ElementContent {
                model: ContentModel::compile_unchecked(&Particle {
                    min: 1,
                    max: Some(1),
                    term: Term::Sequence(vec![]),
                }),
                leaves: Vec::new(),
                particle: particle.clone().unwrap_or(ParticleDef {
                    min: 1,
                    max: Some(1),
                    term: TermDef::Sequence(vec![]),
                }),
                mixed,
            }));
        }
        self.pending_content.insert(id, (particle, mixed));
    }

    fn complex_content(
        &mut self,
        id: TypeId,
        doc: usize,
        body: &Node,
        mixed: bool,
        ct: &mut ComplexType,
    ) {
        let Some(deriv) = body.xs_children().next().cloned() else {
            return;
        };
        let base = self.type_ref(doc, &deriv, "base");
        self.ensure_type(base);
        ct.base = base;
        let is_ext = deriv.is("extension");
        ct.derivation = if is_ext {
            Derivation::Extension
        } else {
            Derivation::Restriction
        };
        let Some(b) = self.schema.complex(base).cloned() else {
            self.err(
                doc,
                deriv.pos,
                "src-ct.1",
                format!(
                    "complexContent cannot derive from the simple type '{}'",
                    self.schema.type_name(base)
                ),
            );
            return;
        };
        if (is_ext && b.final_.extension) || (!is_ext && b.final_.restriction) {
            self.err(
                doc,
                deriv.pos,
                "cos-ct-extends.1.1 / derivation-ok-restriction.1",
                format!(
                    "type '{}' is final for {}",
                    self.schema.type_name(base),
                    if is_ext { "extension" } else { "restriction" }
                ),
            );
        }
        let particle = self.content_particle(doc, &deriv);
        let mut acc = AttrAcc::default();
        self.attribute_children(doc, &deriv, &mut acc);
        let (base_particle, base_mixed) = self.base_content(base);
        if is_ext {
            if let ContentType::Simple(st) = b.content {
                if particle.is_some() || mixed {
                    self.err(
                        doc,
                        deriv.pos,
                        "cos-ct-extends.1.4",
                        format!(
                            "type '{}' has simple content and cannot be extended with elements",
                            self.schema.type_name(base)
                        ),
                    );
                }
                ct.content = ContentType::Simple(st);
            } else {
                // §3.4.2 complex content, clause 3.2: an empty explicit content keeps the base's content;
                // an empty base takes the explicit content; otherwise both, in sequence.
                let explicit_empty = particle.is_none() && !mixed;
                let b_empty = matches!(b.content, ContentType::Empty);
                if explicit_empty {
                    if b_empty {
                        self.set_content(id, None, false, ct);
                    } else {
                        self.set_content(id, base_particle, base_mixed, ct);
                    }
                } else if b_empty {
                    self.set_content(id, particle, mixed, ct);
                } else {
                    if mixed != base_mixed {
                        self.err(
                            doc,
                            deriv.pos,
                            "cos-ct-extends.1.4.3.2.2.1",
                            "an extension must be mixed exactly when its base is".into(),
                        );
                    }
                    let combined = match (base_particle, particle) {
                        (None, p) => p,
                        (Some(bp), None) => Some(bp),
                        (Some(bp), Some(p)) => {
                            if matches!(bp.term, TermDef::All(_))
                                || matches!(p.term, TermDef::All(_))
                            {
                                self.err(doc, deriv.pos, "cos-all-limited", "an 'all' group cannot be extended or used in an extension (XSD 1.0)".into());
                            }
                            Some(ParticleDef {
                                min: 1,
                                max: Some(1),
                                term: TermDef::Sequence(vec![bp, p]),
                            })
                        }
                    };
                    self.set_content(id, combined, mixed, ct);
                }
            }
            self.extension_attributes(doc, &deriv, &b, acc, ct);
        } else {
            if mixed && !base_mixed && base != self.schema.any_type {
                self.err(
                    doc,
                    deriv.pos,
                    "derivation-ok-restriction.5.3",
                    format!(
                        "a restriction of the element-only type '{}' cannot be mixed",
                        self.schema.type_name(base)
                    ),
                );
            }
            if let ContentType::Simple(_) = b.content
                && particle.is_some()
            {
                self.err(
                    doc,
                    deriv.pos,
                    "derivation-ok-restriction.5",
                    "a type with simple content cannot be restricted to element content".into(),
                );
            }
            self.set_content(id, particle, mixed, ct);
            self.restriction_attributes(doc, &deriv, &b, acc, ct);
            self.restrictions.push(id);
        }
    }

    /// Attributes of an extension: the base's uses, then the new ones (a name already in the base is an
    /// error); the attribute wildcard is the union of both (§3.4.2, complete wildcard).
    fn extension_attributes(
        &mut self,
        doc: usize,
        deriv: &Node,
        b: &ComplexType,
        acc: AttrAcc,
        ct: &mut ComplexType,
    ) {
        let mut uses = b.attributes.clone();
        for u in acc.uses {
            let n = &self.schema.attributes[u.decl].name;
            if uses
                .iter()
                .any(|x| &self.schema.attributes[x.decl].name == n)
            {
                let msg = format!("attribute '{}' is already in the base type", n.local);
                self.err(doc, deriv.pos, "ct-props-correct.4", msg);
                continue;
            }
            uses.push(u);
        }
        ct.attributes = self.finish_attr_uses(doc, deriv, uses, ct);
        ct.attribute_wildcard = match (b.attribute_wildcard.clone(), acc.wildcard) {
            (Some(a), Some(w)) => match wildcard_union(&a, &w) {
                Some(u) => Some(u),
                None => {
                    self.err(
                        doc,
                        deriv.pos,
                        "cos-aw-union",
                        "the attribute wildcards cannot be combined".into(),
                    );
                    Some(w)
                }
            },
            (a, w) => w.or(a),
        };
    }

    fn base_content(&self, base: TypeId) -> (Option<ParticleDef>, bool) {
        if let Some((p, m)) = self.pending_content.get(&base) {
            return (p.clone(), *m);
        }
        match self.schema.complex(base).map(|c| &c.content) {
            Some(ContentType::Elements(e)) => (Some(e.particle.clone()), e.mixed),
            _ => (None, false),
        }
    }

    /// Attributes of a restriction: base uses overridden by the derived ones, prohibited ones removed.
    fn restriction_attributes(
        &mut self,
        doc: usize,
        deriv: &Node,
        b: &ComplexType,
        acc: AttrAcc,
        ct: &mut ComplexType,
    ) {
        let mut uses: Vec<AttributeUse> = Vec::new();
        for bu in &b.attributes {
            let n = self.schema.attributes[bu.decl].name.clone();
            let overridden = acc
                .uses
                .iter()
                .any(|u| self.schema.attributes[u.decl].name == n);
            let prohibited = acc.prohibited.contains(&n);
            if prohibited && bu.required {
                self.err(
                    doc,
                    deriv.pos,
                    "derivation-ok-restriction.3",
                    format!(
                        "required attribute '{}' of the base cannot be prohibited",
                        n.local
                    ),
                );
            }
            if !overridden && !prohibited {
                uses.push(bu.clone());
            }
        }
        for u in &acc.uses {
            let decl = self.schema.attributes[u.decl].clone();
            match b
                .attributes
                .iter()
                .find(|bu| self.schema.attributes[bu.decl].name == decl.name)
            {
                Some(bu) => {
                    let bdecl = self.schema.attributes[bu.decl].clone();
                    if bu.required && !u.required {
                        self.err(
                            doc,
                            deriv.pos,
                            "derivation-ok-restriction.2.1.1",
                            format!(
                                "attribute '{}' is required in the base and must stay required",
                                decl.name.local
                            ),
                        );
                    }
                    if !self
                        .schema
                        .derives_from(decl.type_, bdecl.type_, Derivations::default())
                    {
                        self.err(
                            doc,
                            deriv.pos,
                            "derivation-ok-restriction.2.1.2",
                            format!(
                                "the type of attribute '{}' does not derive from the base's",
                                decl.name.local
                            ),
                        );
                    }
                    if let Some(bf) = bu
                        .value_constraint
                        .as_ref()
                        .filter(|v| v.kind == ValueConstraintKind::Fixed)
                    {
                        let same = match &u.value_constraint {
                            Some(v) if v.kind == ValueConstraintKind::Fixed => {
                                self.same_value(bdecl.type_, v, bf)
                            }
                            _ => false,
                        };
                        if !same {
                            self.err(
                                doc,
                                deriv.pos,
                                "derivation-ok-restriction.2.1.3",
                                format!(
                                    "attribute '{}' is fixed in the base to the same value",
                                    decl.name.local
                                ),
                            );
                        }
                    }
                }
                None => {
                    let allowed = b
                        .attribute_wildcard
                        .as_ref()
                        .is_some_and(|w| w.ns.allows(decl.name.ns.as_deref()));
                    if !allowed {
                        self.err(
                            doc,
                            deriv.pos,
                            "derivation-ok-restriction.2.2",
                            format!(
                                "attribute '{}' is not allowed by the base type",
                                decl.name.local
                            ),
                        );
                    }
                }
            }
            uses.push(u.clone());
        }
        ct.attributes = self.finish_attr_uses(doc, deriv, uses, ct);
        if let Some(w) = &acc.wildcard {
            match &b.attribute_wildcard {
                None => self.err(
                    doc,
                    deriv.pos,
                    "derivation-ok-restriction.4.1",
                    "the base type has no attribute wildcard to restrict".into(),
                ),
                Some(bw) => {
                    if !wildcard_subset(w, bw) {
                        self.err(
                            doc,
                            deriv.pos,
                            "derivation-ok-restriction.4.2",
                            "the attribute wildcard is not a subset of the base's".into(),
                        );
                    }
                    if w.process < bw.process {
                        self.err(
                            doc,
                            deriv.pos,
                            "derivation-ok-restriction.4.3",
                            "the attribute wildcard's processContents is weaker than the base's"
                                .into(),
                        );
                    }
                }
            }
        }
        ct.attribute_wildcard = acc.wildcard;
    }

    /// Whether two value constraints denote the same value of type `t` (compared in the value space
    /// when both parse, else as written).
    fn same_value(&mut self, t: TypeId, a: &ValueConstraint, b: &ValueConstraint) -> bool {
        self.ensure_type(t);
        let parse = |vc: &ValueConstraint| self.check_constraint_value(t, vc).ok().flatten();
        match (parse(a), parse(b)) {
            (Some(x), Some(y)) => x.same(&y),
            _ => values_equal(a, b),
        }
    }

    fn simple_content(&mut self, id: TypeId, doc: usize, body: &Node, ct: &mut ComplexType) {
        let _ = id;
        let Some(deriv) = body.xs_children().next().cloned() else {
            return;
        };
        let base = self.type_ref(doc, &deriv, "base");
        self.ensure_type(base);
        ct.base = base;
        let is_ext = deriv.is("extension");
        ct.derivation = if is_ext {
            Derivation::Extension
        } else {
            Derivation::Restriction
        };
        let mut acc = AttrAcc::default();
        self.attribute_children(doc, &deriv, &mut acc);
        match self.schema.types[base].clone() {
            TypeDef::Simple(s) => {
                if !is_ext {
                    self.err(
                        doc,
                        deriv.pos,
                        "src-ct.2",
                        format!(
                            "a simpleContent restriction needs a complex base type, not '{}'",
                            self.schema.type_name(base)
                        ),
                    );
                    ct.content = ContentType::Simple(base);
                    return;
                }
                if s.final_.extension {
                    self.err(
                        doc,
                        deriv.pos,
                        "cos-ct-extends.1.1",
                        format!(
                            "type '{}' is final for extension",
                            self.schema.type_name(base)
                        ),
                    );
                }
                ct.content = ContentType::Simple(base);
                ct.attributes = self.finish_attr_uses(doc, &deriv, acc.uses.clone(), ct);
                ct.attribute_wildcard = acc.wildcard;
            }
            TypeDef::Complex(b) => {
                if (is_ext && b.final_.extension) || (!is_ext && b.final_.restriction) {
                    self.err(
                        doc,
                        deriv.pos,
                        "derivation-ok-restriction.1",
                        format!(
                            "type '{}' is final for {}",
                            self.schema.type_name(base),
                            if is_ext { "extension" } else { "restriction" }
                        ),
                    );
                }
                let content_simple = match &b.content {
                    ContentType::Simple(s) => Some(*s),
                    ContentType::Elements(e)
                        if !is_ext
                            && e.mixed
                            && self.particle_emptiable(&self.base_content(base).0) =>
                    {
                        if deriv.xs_children().any(|c| c.is("simpleType")) {
                            Some(self.schema.any_simple_type)
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                let Some(content_simple) = content_simple else {
                    self.err(doc, deriv.pos, "src-ct.2", format!(
                        "simpleContent cannot derive from '{}', which does not have simple content", self.schema.type_name(base)));
                    return;
                };
                if is_ext {
                    ct.content = ContentType::Simple(content_simple);
                    self.extension_attributes(doc, &deriv, &b, acc, ct);
                } else {
                    // A new anonymous simple type: the inline one (which must derive from the base's
                    // content type) or the base's content type, restricted by the facets given here.
                    let inline = deriv.xs_children().find(|c| c.is("simpleType")).cloned();
                    let start = match inline {
                        Some(st) => {
                            let t = self.anonymous_type(doc, &st);
                            if !self
                                .schema
                                .derives_from(t, content_simple, Derivations::default())
                            {
                                self.err(doc, st.pos, "derivation-ok-restriction.5.1", "the inline simple type must derive from the base's content type".into());
                            }
                            t
                        }
                        None => content_simple,
                    };
                    let st = self.restricted_simple(doc, &deriv, start);
                    ct.content = ContentType::Simple(st);
                    self.restriction_attributes(doc, &deriv, &b, acc, ct);
                }
            }
        }
    }

    /// An anonymous simple type restricting `base` with the facets among `deriv`'s children.
    fn restricted_simple(&mut self, doc: usize, deriv: &Node, base: TypeId) -> TypeId {
        let has_facets = deriv
            .xs_children()
            .any(|c| FacetKind::from_name(&c.local).is_some());
        if !has_facets {
            return base;
        }
        let Some(b) = self.schema.simple(base).cloned() else {
            return base;
        };
        let facets = self.derive_facets(doc, deriv, base, &b);
        let id = self.schema.types.len();
        let whitespace = facets.whitespace().unwrap_or(b.whitespace);
        self.schema.types.push(TypeDef::Simple(SimpleType {
            name: None,
            base: Some(base),
            variety: b.variety.clone(),
            facets,
            whitespace,
            final_: Derivations::default(),
            builtin: None,
            pos: deriv.pos,
        }));
        self.type_state.push(State::Done);
        self.type_src.push(None);
        self.type_doc.push(doc);
        id
    }

    fn particle_emptiable(&self, p: &Option<ParticleDef>) -> bool {
        fn emptiable(p: &ParticleDef) -> bool {
            p.min == 0
                || match &p.term {
                    TermDef::Element(_) | TermDef::Wildcard(_) => false,
                    TermDef::Sequence(v) | TermDef::All(v) => v.iter().all(emptiable),
                    TermDef::Choice(v) => v.is_empty() || v.iter().any(emptiable),
                }
        }
        p.as_ref().is_none_or(emptiable)
    }

    // ---------------------------------------------------------------- particles

    /// Compile a particle (`element`, `group` ref, `sequence`, `choice`, `all`, `any`). `top`: whether
    /// it is the whole content model (where `all` may appear). `None` when it is absent (maxOccurs=0)
    /// or broken (error recorded).
    fn particle(&mut self, doc: usize, node: &Node, top: bool) -> Option<ParticleDef> {
        let p = if self.enter(doc, node.pos) {
            self.particle_inner(doc, node, top)
        } else {
            None
        };
        self.depth -= 1;
        p
    }

    fn particle_inner(&mut self, doc: usize, node: &Node, top: bool) -> Option<ParticleDef> {
        let (min, max) = occurs(node);
        if let Some(m) = max
            && min > m
        {
            self.err(
                doc,
                node.pos,
                "p-props-correct.2.1",
                format!("minOccurs {min} is greater than maxOccurs {m}"),
            );
            return None;
        }
        let term = match node.local.as_str() {
            "element" => TermDef::Element(self.local_element(doc, node)?),
            "any" => TermDef::Wildcard(self.wildcard(doc, node)),
            "sequence" | "choice" | "all" => {
                if node.local == "all" {
                    if !top {
                        self.err(
                            doc,
                            node.pos,
                            "cos-all-limited.1.2",
                            "an 'all' group must be the whole content model".into(),
                        );
                    }
                    if min > 1 || max != Some(1) {
                        self.err(
                            doc,
                            node.pos,
                            "cos-all-limited.1.2",
                            "an 'all' group must have minOccurs 0 or 1 and maxOccurs 1".into(),
                        );
                    }
                }
                let mut items = Vec::new();
                for c in node.xs_children() {
                    if node.local == "all" && occurs(c).1.is_none_or(|m| m > 1) {
                        self.err(
                            doc,
                            c.pos,
                            "cos-all-limited.2",
                            "elements in an 'all' group may occur at most once".into(),
                        );
                    }
                    if let Some(p) = self.particle(doc, c, false) {
                        items.push(p);
                    }
                }
                match node.local.as_str() {
                    "sequence" => TermDef::Sequence(items),
                    "choice" => TermDef::Choice(items),
                    _ => TermDef::All(items),
                }
            }
            "group" => {
                let Some((qn, src)) = self.lookup(doc, node, "ref", Kind::Group) else {
                    if node.attr("ref").is_some()
                        && self
                            .errors
                            .last()
                            .is_none_or(|e| !e.rule.starts_with("src-resolve"))
                    {
                        self.err(
                            doc,
                            node.pos,
                            "src-resolve",
                            format!(
                                "group '{}' is not defined",
                                node.attr("ref").unwrap_or_default().trim()
                            ),
                        );
                    }
                    return None;
                };
                if self.group_stack.contains(&qn) {
                    self.err(
                        doc,
                        node.pos,
                        "mg-props-correct.2",
                        format!("group '{}' refers to itself (circular)", qn.local),
                    );
                    return None;
                }
                let inner = src.node.xs_children().next().cloned();
                if inner.as_ref().is_some_and(|m| m.is("all"))
                    && (!top || max != Some(1) || min > 1)
                {
                    self.err(
                        doc,
                        node.pos,
                        "cos-all-limited.1.2",
                        "a group holding 'all' must be the whole content model, with maxOccurs 1"
                            .into(),
                    );
                }
                let p = match self.group_cache.get(&qn) {
                    Some(p) => p.clone(),
                    None => {
                        self.group_stack.push(qn.clone());
                        let p = inner.and_then(|m| self.particle(src.doc, &m, true));
                        self.group_stack.pop();
                        self.group_cache.insert(qn, p.clone());
                        p
                    }
                };
                let p = p?;
                // The reference's occurrence applies to the group's model group.
                if p.min == 1 && p.max == Some(1) {
                    return if max == Some(0) {
                        None
                    } else {
                        Some(ParticleDef {
                            min,
                            max,
                            term: p.term,
                        })
                    };
                }
                TermDef::Sequence(vec![p])
            }
            _ => return None,
        };
        if max == Some(0) {
            return None;
        }
        Some(ParticleDef { min, max, term })
    }

    fn wildcard(&mut self, doc: usize, node: &Node) -> Wildcard {
        let tns = self.docs[doc].tns.clone();
        let ns = match node.attr("namespace").map(str::trim) {
            None | Some("##any") => NsConstraint::Any,
            Some("##other") => NsConstraint::Not(tns),
            Some(list) => {
                let mut set: Vec<Option<String>> = Vec::new();
                for item in list.split_whitespace() {
                    let v = match item {
                        "##targetNamespace" => tns.clone(),
                        "##local" => None,
                        u => Some(u.to_owned()),
                    };
                    if !set.contains(&v) {
                        set.push(v);
                    }
                }
                NsConstraint::Set(set)
            }
        };
        let process = match node.attr("processContents").map(str::trim) {
            Some("lax") => ProcessContents::Lax,
            Some("skip") => ProcessContents::Skip,
            _ => ProcessContents::Strict,
        };
        Wildcard { ns, process }
    }

    // ---------------------------------------------------------------- elements

    fn global_element(&mut self, qn: &QName) -> ElemId {
        if let Some(&id) = self.schema.global_elements.get(qn) {
            return id;
        }
        let src = self.comps[&(Kind::Element, qn.clone())].clone();
        let id = self.new_element(qn.clone(), src.doc, src.node.pos, true);
        self.elem_src[id] = Some(src);
        self.elem_queue.push(id);
        self.schema.global_elements.insert(qn.clone(), id);
        id
    }

    fn new_element(&mut self, name: QName, doc: usize, pos: Position, global: bool) -> ElemId {
        let id = self.schema.elements.len();
        self.schema.elements.push(ElementDecl {
            name,
            type_: self.schema.any_type,
            nillable: false,
            value_constraint: None,
            abstract_: false,
            block: Derivations::default(),
            final_: Derivations::default(),
            substitution_head: None,
            identity_constraints: Vec::new(),
            global,
            pos,
        });
        self.elem_state.push(State::Pending);
        self.elem_src.push(None);
        self.elem_doc.push(doc);
        id
    }

    fn ensure_element(&mut self, id: ElemId) {
        if self.elem_state[id] != State::Pending {
            return;
        }
        self.elem_state[id] = State::InProgress;
        if let Some(src) = self.elem_src[id].clone() {
            self.fill_element(id, src.doc, &src.node, true);
        }
        self.elem_state[id] = State::Done;
    }

    /// A local element particle: a reference to a global declaration or a new local declaration.
    fn local_element(&mut self, doc: usize, node: &Node) -> Option<ElemId> {
        if node.attr("ref").is_some() {
            if node.attr("name").is_some()
                || node.xs_children().any(|c| !c.is("annotation"))
                || ["type", "nillable", "default", "fixed", "form", "block"]
                    .iter()
                    .any(|a| node.attr(a).is_some())
            {
                self.err(doc, node.pos, "src-element.2.2", "an element reference cannot also have a name, type, constraints or a local definition".into());
            }
            let Some((qn, _)) = self.lookup(doc, node, "ref", Kind::Element) else {
                self.err(
                    doc,
                    node.pos,
                    "src-resolve",
                    format!(
                        "element '{}' is not defined",
                        node.attr("ref").unwrap_or_default().trim()
                    ),
                );
                return None;
            };
            return Some(self.global_element(&qn));
        }
        let Some(name) = node.attr("name") else {
            self.err(
                doc,
                node.pos,
                "src-element.2.1",
                "an element needs a 'name' or a 'ref'".into(),
            );
            return None;
        };
        let qualified = match node.attr("form").map(str::trim) {
            Some(f) => f == "qualified",
            None => self.docs[doc].elem_qualified,
        };
        let ns = if qualified {
            self.docs[doc].tns.clone()
        } else {
            None
        };
        let id = self.new_element(
            QName {
                ns,
                local: name.trim().to_owned(),
            },
            doc,
            node.pos,
            false,
        );
        self.elem_state[id] = State::InProgress;
        self.fill_element(id, doc, node, false);
        self.elem_state[id] = State::Done;
        Some(id)
    }

    fn fill_element(&mut self, id: ElemId, doc: usize, node: &Node, global: bool) {
        if global && node.attr("name").is_none() {
            self.err(
                doc,
                node.pos,
                "s4s-att-must-appear",
                "a global element needs a name".into(),
            );
        }
        let inline = node
            .xs_children()
            .find(|c| c.is("simpleType") || c.is("complexType"))
            .cloned();
        if node.attr("type").is_some() && inline.is_some() {
            self.err(
                doc,
                node.pos,
                "src-element.3",
                "an element cannot have both a 'type' attribute and an inline type".into(),
            );
        }
        let type_ = if node.attr("type").is_some() {
            self.type_ref(doc, node, "type")
        } else if let Some(t) = inline {
            self.new_type(
                Some((
                    Src {
                        doc,
                        node: t.clone(),
                        self_ref: None,
                    },
                    None,
                )),
                doc,
            )
        } else {
            if global && node.attr("substitutionGroup").is_some() {
                self.type_from_head.insert(id);
            }
            self.schema.any_type
        };
        let d = &self.docs[doc];
        let block = derivations(
            node.attr("block"),
            d.block_default,
            &["extension", "restriction", "substitution"],
        );
        let final_ = derivations(
            node.attr("final"),
            d.final_default,
            &["extension", "restriction"],
        );
        let vc = self.value_constraint_attrs(doc, node, "src-element.1", "an element");
        let head = if node.attr("substitutionGroup").is_some() {
            match self.lookup(doc, node, "substitutionGroup", Kind::Element) {
                Some((qn, _)) => Some(self.global_element(&qn)),
                None => {
                    self.err(
                        doc,
                        node.pos,
                        "src-resolve",
                        format!(
                            "substitution group head '{}' is not defined",
                            node.attr("substitutionGroup").unwrap_or_default().trim()
                        ),
                    );
                    None
                }
            }
        } else {
            None
        };
        let mut idcs = Vec::new();
        for c in node
            .xs_children()
            .filter(|c| c.is("unique") || c.is("key") || c.is("keyref"))
        {
            let c = c.clone();
            if let Some(i) = self.identity_constraint(doc, &c) {
                idcs.push(i);
            }
        }
        let e = &mut self.schema.elements[id];
        e.type_ = type_;
        e.nillable = bool_attr(node, "nillable");
        e.value_constraint = vc;
        e.abstract_ = bool_attr(node, "abstract");
        e.block = block;
        e.final_ = final_;
        e.substitution_head = head;
        e.identity_constraints = idcs;
        e.pos = node.pos;
    }

    fn identity_constraint(&mut self, doc: usize, node: &Node) -> Option<IdcId> {
        let name = QName {
            ns: self.docs[doc].tns.clone(),
            local: node.attr("name")?.trim().to_owned(),
        };
        if self.idc_names.contains_key(&name) {
            self.err(
                doc,
                node.pos,
                "c-props-correct.1 / sch-props-correct.2",
                format!("identity constraint '{}' is defined twice", name.local),
            );
            return None;
        }
        let kind = match node.local.as_str() {
            "key" => IdcKind::Key,
            "keyref" => IdcKind::KeyRef,
            _ => IdcKind::Unique,
        };
        let resolve = |p: &str| node.resolve_prefix(p).map(str::to_owned);
        let mut selector = Vec::new();
        let mut fields = Vec::new();
        for c in node.xs_children() {
            let x = c.attr("xpath").unwrap_or_default();
            match xpath::parse(x, c.is("field"), &resolve) {
                Ok(p) if c.is("selector") => selector = p,
                Ok(p) => fields.push(p),
                Err(m) => {
                    self.err(
                        doc,
                        c.pos,
                        "c-selector-xpath / c-fields-xpaths",
                        format!("xpath '{x}': {m}"),
                    );
                    return None;
                }
            }
        }
        let id = self.schema.identity_constraints.len();
        self.schema.identity_constraints.push(IdentityConstraint {
            name: name.clone(),
            kind,
            selector,
            fields,
            refer: None,
            pos: node.pos,
        });
        self.idc_names.insert(name, id);
        if kind == IdcKind::KeyRef {
            match node
                .attr("refer")
                .and_then(|r| self.resolve_qname(doc, node, r))
            {
                Some(q) => self.keyref_refers.push((id, q)),
                None => self.err(
                    doc,
                    node.pos,
                    "src-resolve",
                    "keyref 'refer' cannot be resolved".into(),
                ),
            }
        }
        Some(id)
    }

    // ---------------------------------------------------------------- attributes

    fn global_attribute(&mut self, qn: &QName) -> Option<AttrId> {
        if let Some(&id) = self.attr_state.get(qn) {
            return Some(id);
        }
        let src = self.comps.get(&(Kind::Attribute, qn.clone()))?.clone();
        let id = self.schema.attributes.len();
        self.schema.attributes.push(AttributeDecl {
            name: qn.clone(),
            type_: self.schema.any_simple_type,
            value_constraint: None,
            pos: src.node.pos,
        });
        self.attr_state.insert(qn.clone(), id);
        self.schema.global_attributes.insert(qn.clone(), id);
        if qn.ns.as_deref() == Some(XSI_NS) {
            self.err(
                src.doc,
                src.node.pos,
                "no-xsi",
                "attributes cannot be declared in the XML Schema instance namespace".into(),
            );
        }
        self.fill_attribute(id, src.doc, &src.node);
        Some(id)
    }

    fn fill_attribute(&mut self, id: AttrId, doc: usize, node: &Node) {
        if node.attr("name").map(str::trim) == Some("xmlns") {
            self.err(
                doc,
                node.pos,
                "no-xmlns",
                "an attribute cannot be named 'xmlns'".into(),
            );
        }
        let inline = node.xs_children().find(|c| c.is("simpleType")).cloned();
        if node.attr("type").is_some() && inline.is_some() {
            self.err(
                doc,
                node.pos,
                "src-attribute.4",
                "an attribute cannot have both a 'type' attribute and an inline simpleType".into(),
            );
        }
        let t = if node.attr("type").is_some() {
            let t = self.type_ref(doc, node, "type");
            self.ensure_type(t);
            if self.schema.complex(t).is_some() {
                self.err(
                    doc,
                    node.pos,
                    "a-props-correct",
                    format!(
                        "the type of an attribute must be simple; '{}' is complex",
                        self.schema.type_name(t)
                    ),
                );
            }
            if t == self.schema.any_type {
                self.schema.any_simple_type
            } else {
                t
            }
        } else if let Some(st) = inline {
            self.anonymous_type(doc, &st)
        } else {
            self.schema.any_simple_type
        };
        let vc = self.value_constraint_attrs(doc, node, "src-attribute.1", "an attribute");
        let a = &mut self.schema.attributes[id];
        a.type_ = t;
        a.value_constraint = vc;
    }

    /// The `default`/`fixed` of an element or attribute declaration (or use); both at once break `rule`.
    fn value_constraint_attrs(
        &mut self,
        doc: usize,
        node: &Node,
        rule: &'static str,
        what: &str,
    ) -> Option<ValueConstraint> {
        match (node.attr("default"), node.attr("fixed")) {
            (Some(_), Some(_)) => {
                self.err(
                    doc,
                    node.pos,
                    rule,
                    format!("{what} cannot have both 'default' and 'fixed'"),
                );
                None
            }
            (Some(v), None) => Some(ValueConstraint {
                kind: ValueConstraintKind::Default,
                lexical: v.to_owned(),
                value: None,
                namespaces: node.namespaces.clone(),
            }),
            (None, Some(v)) => Some(ValueConstraint {
                kind: ValueConstraintKind::Fixed,
                lexical: v.to_owned(),
                value: None,
                namespaces: node.namespaces.clone(),
            }),
            _ => None,
        }
    }

    /// Collect attribute uses and the wildcard from `attribute`, `attributeGroup` and `anyAttribute`
    /// children of `node`.
    fn attribute_children(&mut self, doc: usize, node: &Node, acc: &mut AttrAcc) {
        if self.enter(doc, node.pos) {
            self.attribute_children_inner(doc, node, acc);
        }
        self.depth -= 1;
    }

    fn attribute_children_inner(&mut self, doc: usize, node: &Node, acc: &mut AttrAcc) {
        let mut local_wild: Option<Wildcard> = None;
        let mut group_wilds: Vec<Wildcard> = Vec::new();
        for c in node.xs_children() {
            let c = c.clone();
            match c.local.as_str() {
                "attribute" => self.attribute_use(doc, &c, acc),
                "attributeGroup" => {
                    let Some((qn, src)) = self.lookup(doc, &c, "ref", Kind::AttributeGroup) else {
                        self.err(
                            doc,
                            c.pos,
                            "src-resolve",
                            format!(
                                "attribute group '{}' is not defined",
                                c.attr("ref").unwrap_or_default().trim()
                            ),
                        );
                        continue;
                    };
                    if self.attr_group_stack.contains(&qn) {
                        self.err(
                            doc,
                            c.pos,
                            "src-attribute_group.3",
                            format!("attribute group '{}' refers to itself (circular)", qn.local),
                        );
                        continue;
                    }
                    let inner = match self.attr_group_cache.get(&qn) {
                        Some(acc) => acc.clone(),
                        None => {
                            self.attr_group_stack.push(qn.clone());
                            let mut inner = AttrAcc::default();
                            self.attribute_children(src.doc, &src.node, &mut inner);
                            self.attr_group_stack.pop();
                            self.attr_group_cache.insert(qn, inner.clone());
                            inner
                        }
                    };
                    for u in inner.uses {
                        let n = self.schema.attributes[u.decl].name.clone();
                        if acc
                            .uses
                            .iter()
                            .any(|x| self.schema.attributes[x.decl].name == n)
                        {
                            // The same attribute through two groups is the same use only if it is one declaration.
                            if !acc.uses.iter().any(|x| x.decl == u.decl) {
                                self.err(
                                    doc,
                                    c.pos,
                                    "ct-props-correct.4 / ag-props-correct.2",
                                    format!("attribute '{}' appears twice", n.local),
                                );
                            }
                            continue;
                        }
                        acc.uses.push(u);
                    }
                    // Prohibited uses inside an attribute group are not part of it (XSD 1.0 §3.6.2).
                    if let Some(w) = inner.wildcard {
                        group_wilds.push(w);
                    }
                }
                "anyAttribute" => local_wild = Some(self.wildcard(doc, &c)),
                _ => {}
            }
        }
        // The complete wildcard: the intersection of the local one and those of the groups (§3.4.2).
        let mut complete = local_wild.clone();
        for w in group_wilds {
            complete = match complete {
                None => Some(w),
                Some(cw) => match wildcard_intersection(&cw, &w) {
                    Some(i) => Some(Wildcard {
                        ns: i.ns,
                        process: local_wild.as_ref().map(|l| l.process).unwrap_or(cw.process),
                    }),
                    None => {
                        self.err(
                            doc,
                            node.pos,
                            "cos-aw-intersect",
                            "the attribute wildcards have no expressible intersection".into(),
                        );
                        Some(cw)
                    }
                },
            };
        }
        acc.wildcard = complete;
    }

    fn attribute_use(&mut self, doc: usize, node: &Node, acc: &mut AttrAcc) {
        let use_ = node.attr("use").map(str::trim).unwrap_or("optional");
        if node.attr("default").is_some() && use_ != "optional" {
            self.err(
                doc,
                node.pos,
                "src-attribute.2",
                "an attribute with a default must be optional".into(),
            );
        }
        let decl = if node.attr("ref").is_some() {
            if node.attr("name").is_some()
                || node.attr("type").is_some()
                || node.attr("form").is_some()
                || node.xs_children().any(|c| c.is("simpleType"))
            {
                self.err(
                    doc,
                    node.pos,
                    "src-attribute.3.2",
                    "an attribute reference cannot also have a name, type, form or inline type"
                        .into(),
                );
            }
            let Some((qn, _)) = self.lookup(doc, node, "ref", Kind::Attribute) else {
                let r = node.attr("ref").unwrap_or_default().trim().to_owned();
                if !r.starts_with("xml:") {
                    self.err(
                        doc,
                        node.pos,
                        "src-resolve",
                        format!("attribute '{r}' is not defined"),
                    );
                    return;
                }
                // xml:lang, xml:space, ... are always available as strings.
                let qn = QName::new(
                    Some(crate::xml::reader::XML_NS),
                    r.trim_start_matches("xml:"),
                );
                let id = match self.attr_state.get(&qn) {
                    Some(&id) => id,
                    None => {
                        let id = self.schema.attributes.len();
                        self.schema.attributes.push(AttributeDecl {
                            name: qn.clone(),
                            type_: self.schema.builtin_types[&Builtin::String],
                            value_constraint: None,
                            pos: node.pos,
                        });
                        self.attr_state.insert(qn, id);
                        id
                    }
                };
                self.push_use(doc, node, use_, id, acc);
                return;
            };
            match self.global_attribute(&qn) {
                Some(id) => id,
                None => return,
            }
        } else {
            let Some(name) = node.attr("name") else {
                self.err(
                    doc,
                    node.pos,
                    "src-attribute.3.1",
                    "an attribute needs a 'name' or a 'ref'".into(),
                );
                return;
            };
            let qualified = match node.attr("form").map(str::trim) {
                Some(f) => f == "qualified",
                None => self.docs[doc].attr_qualified,
            };
            let ns = if qualified {
                self.docs[doc].tns.clone()
            } else {
                None
            };
            if ns.as_deref() == Some(XSI_NS) {
                self.err(
                    doc,
                    node.pos,
                    "no-xsi",
                    "attributes cannot be declared in the XML Schema instance namespace".into(),
                );
            }
            let id = self.schema.attributes.len();
            self.schema.attributes.push(AttributeDecl {
                name: QName {
                    ns,
                    local: name.trim().to_owned(),
                },
                type_: self.schema.any_simple_type,
                value_constraint: None,
                pos: node.pos,
            });
            self.fill_attribute(id, doc, node);
            // A local declaration's value constraint belongs to the use.
            id
        };
        self.push_use(doc, node, use_, decl, acc);
    }

    fn push_use(&mut self, doc: usize, node: &Node, use_: &str, decl: AttrId, acc: &mut AttrAcc) {
        let name = self.schema.attributes[decl].name.clone();
        if use_ == "prohibited" {
            acc.prohibited.push(name);
            return;
        }
        let own = if node.attr("ref").is_some() {
            self.value_constraint_attrs(doc, node, "src-attribute.1", "an attribute")
        } else {
            None
        };
        let decl_vc = self.schema.attributes[decl].value_constraint.clone();
        if let (Some(o), Some(d)) = (&own, &decl_vc)
            && d.kind == ValueConstraintKind::Fixed
            && (o.kind != ValueConstraintKind::Fixed || o.lexical.trim() != d.lexical.trim())
        {
            self.err(
                doc,
                node.pos,
                "au-props-correct.2",
                format!(
                    "attribute '{}' is fixed to '{}' in its declaration",
                    name.local, d.lexical
                ),
            );
        }
        if let Some(vc) = own.as_ref().or(decl_vc.as_ref())
            && use_ == "required"
            && vc.kind == ValueConstraintKind::Default
        {
            self.err(
                doc,
                node.pos,
                "src-attribute.2",
                "a required attribute cannot have a default".into(),
            );
        }
        if acc
            .uses
            .iter()
            .any(|u| self.schema.attributes[u.decl].name == name)
        {
            self.err(
                doc,
                node.pos,
                "ct-props-correct.4 / ag-props-correct.2",
                format!("attribute '{}' appears twice", name.local),
            );
            return;
        }
        acc.uses.push(AttributeUse {
            decl,
            required: use_ == "required",
            value_constraint: own.or(decl_vc),
        });
    }

    /// Final checks on a type's attribute uses: at most one of type ID.
    fn finish_attr_uses(
        &mut self,
        doc: usize,
        node: &Node,
        uses: Vec<AttributeUse>,
        _ct: &ComplexType,
    ) -> Vec<AttributeUse> {
        let ids = uses
            .iter()
            .filter(|u| self.is_id_type(self.schema.attributes[u.decl].type_))
            .count();
        if ids > 1 {
            self.err(
                doc,
                node.pos,
                "ct-props-correct.5",
                "a type can have at most one attribute of type ID".into(),
            );
        }
        uses
    }

    fn is_id_type(&self, t: TypeId) -> bool {
        let id = self.schema.builtin_types[&Builtin::Id];
        t < self.type_state.len()
            && self.type_state[t] == State::Done
            && self.schema.derives_from(t, id, Derivations::default())
    }

    // ---------------------------------------------------------------- checks

    fn check_all(&mut self) {
        self.check_substitution_groups();
        self.check_restricting_redefines();
        self.build_content_models();
        self.check_value_constraints();
        self.check_keyrefs();
        self.check_restrictions();
    }

    fn check_substitution_groups(&mut self) {
        let n = self.schema.elements.len();
        // Resolve types taken from heads, heads first.
        let mut order: Vec<ElemId> = (0..n)
            .filter(|e| self.schema.elements[*e].substitution_head.is_some())
            .collect();
        order.sort_by_key(|e| self.chain_len(*e));
        for e in order {
            let mut seen = HashSet::new();
            let mut h = self.schema.elements[e].substitution_head;
            let mut cyclic = false;
            while let Some(x) = h {
                if x == e || !seen.insert(x) {
                    cyclic = true;
                    break;
                }
                h = self.schema.elements[x].substitution_head;
            }
            let doc = self.elem_doc[e];
            let pos = self.schema.elements[e].pos;
            if cyclic {
                self.err(
                    doc,
                    pos,
                    "e-props-correct.6",
                    format!(
                        "element '{}' is in a circular substitution group",
                        self.schema.elements[e].name.local
                    ),
                );
                self.schema.elements[e].substitution_head = None;
                continue;
            }
            let Some(head) = self.schema.elements[e].substitution_head else {
                continue;
            };
            if self.type_from_head.contains(&e) {
                self.schema.elements[e].type_ = self.schema.elements[head].type_;
            }
            let ht = self.schema.elements[head].type_;
            let mut blocked = self.schema.elements[head].final_;
            blocked.substitution = false;
            let et = self.schema.elements[e].type_;
            if !self.schema.derives_from(et, ht, blocked) {
                self.err(doc, pos, "e-props-correct.4", format!(
                    "the type of '{}' must derive from the type of its substitution group head '{}' (allowed by the head's final)",
                    self.schema.elements[e].name.local, self.schema.elements[head].name.local));
            }
        }
        let mut subs = vec![Vec::new(); n];
        for e in 0..n {
            let mut h = self.schema.elements[e].substitution_head;
            let mut guard = 0;
            while let Some(x) = h {
                if guard > n {
                    break;
                }
                subs[x].push(e);
                h = self.schema.elements[x].substitution_head;
                guard += 1;
            }
        }
        self.schema.substitutes = subs;
    }

    fn chain_len(&self, e: ElemId) -> usize {
        let mut n = 0;
        let mut h = self.schema.elements[e].substitution_head;
        while let Some(x) = h {
            n += 1;
            if n > self.schema.elements.len() {
                break;
            }
            h = self.schema.elements[x].substitution_head;
        }
        n
    }

    /// Names an element leaf can match: itself and its substitutes (for UPA).
    fn leaf_names(&self, e: ElemId) -> Vec<QName> {
        let mut v = vec![self.schema.elements[e].name.clone()];
        for s in &self.schema.substitutes[e] {
            if self.schema.can_substitute(e, *s) {
                v.push(self.schema.elements[*s].name.clone());
            }
        }
        v
    }

    fn build_content_models(&mut self) {
        let mut ids: Vec<TypeId> = self.pending_content.keys().copied().collect();
        ids.sort();
        for id in ids {
            let (particle, mixed) = self.pending_content[&id].clone();
            let mut leaves = Vec::new();
            let root = match &particle {
                Some(p) => self.to_automaton_particle(p, &mut leaves),
                None => Particle {
                    min: 1,
                    max: Some(1),
                    term: Term::Sequence(vec![]),
                },
            };
            let leaf_names: Vec<Option<Vec<QName>>> = leaves
                .iter()
                .map(|l| match l {
                    LeafTerm::Element(e) => Some(self.leaf_names(*e)),
                    LeafTerm::Wildcard(_) => None,
                })
                .collect();
            let overlap = |a: usize, b: usize| -> bool {
                match (&leaves[a], &leaves[b]) {
                    (LeafTerm::Element(_), LeafTerm::Element(_)) => {
                        let (na, nb) = (leaf_names[a].as_ref(), leaf_names[b].as_ref());
                        na.zip(nb)
                            .is_some_and(|(x, y)| x.iter().any(|n| y.contains(n)))
                    }
                    (LeafTerm::Element(_), LeafTerm::Wildcard(w))
                    | (LeafTerm::Wildcard(w), LeafTerm::Element(_)) => {
                        let names = leaf_names[a].as_ref().or(leaf_names[b].as_ref());
                        names.is_some_and(|ns| ns.iter().any(|n| w.ns.allows(n.ns.as_deref())))
                    }
                    (LeafTerm::Wildcard(x), LeafTerm::Wildcard(y)) => {
                        wildcards_overlap(&x.ns, &y.ns)
                    }
                }
            };
            let doc = self.type_doc[id];
            let pos = self.schema.complex(id).map(|c| c.pos).unwrap_or_default();
            let model = match ContentModel::compile(&root, &overlap) {
                Ok(m) => m,
                Err(v) => {
                    let describe = |l: &LeafTerm| match l {
                        LeafTerm::Element(e) => {
                            format!("element '{}'", self.schema.elements[*e].name.local)
                        }
                        LeafTerm::Wildcard(_) => "a wildcard".to_owned(),
                    };
                    let msg = format!(
                        "content model of type '{}' is ambiguous (Unique Particle Attribution): {} and {} compete for the same element",
                        self.schema.type_name(id),
                        describe(&leaves[v.first]),
                        describe(&leaves[v.second])
                    );
                    self.err(doc, pos, "cos-nonambig", msg);
                    ContentModel::compile_unchecked(&root)
                }
            };
            // Element Declarations Consistent (cos-element-consistent).
            let mut by_name: HashMap<QName, TypeId> = HashMap::new();
            let mut edc_error = None;
            for l in &leaves {
                if let LeafTerm::Element(e) = l {
                    let d = &self.schema.elements[*e];
                    match by_name.get(&d.name) {
                        Some(t) if *t != d.type_ => edc_error = Some(d.name.local.clone()),
                        _ => {
                            by_name.insert(d.name.clone(), d.type_);
                        }
                    }
                }
            }
            if let Some(n) = edc_error {
                self.err(
                    doc,
                    pos,
                    "cos-element-consistent",
                    format!("elements named '{n}' in one content model must have the same type"),
                );
            }
            if let Some(TypeDef::Complex(ct)) = self.schema.types.get_mut(id) {
                ct.content = ContentType::Elements(Arc::new(ElementContent {
                    model,
                    leaves,
                    particle: particle.unwrap_or(ParticleDef {
                        min: 1,
                        max: Some(1),
                        term: TermDef::Sequence(vec![]),
                    }),
                    mixed,
                }));
            }
        }
    }

    fn to_automaton_particle(&self, p: &ParticleDef, leaves: &mut Vec<LeafTerm>) -> Particle {
        let term = match &p.term {
            TermDef::Element(e) => {
                leaves.push(LeafTerm::Element(*e));
                Term::Leaf(leaves.len() - 1)
            }
            TermDef::Wildcard(w) => {
                leaves.push(LeafTerm::Wildcard(w.clone()));
                Term::Leaf(leaves.len() - 1)
            }
            TermDef::Sequence(v) => Term::Sequence(
                v.iter()
                    .map(|c| self.to_automaton_particle(c, leaves))
                    .collect(),
            ),
            TermDef::Choice(v) => Term::Choice(
                v.iter()
                    .map(|c| self.to_automaton_particle(c, leaves))
                    .collect(),
            ),
            TermDef::All(v) => Term::All(
                v.iter()
                    .map(|c| self.to_automaton_particle(c, leaves))
                    .collect(),
            ),
        };
        Particle {
            min: p.min,
            max: p.max,
            term,
        }
    }

    fn check_value_constraints(&mut self) {
        for e in 0..self.schema.elements.len() {
            let Some(vc) = self.schema.elements[e].value_constraint.clone() else {
                continue;
            };
            let t = self.schema.elements[e].type_;
            let doc = self.elem_doc[e];
            let pos = self.schema.elements[e].pos;
            match self.check_constraint_value(t, &vc) {
                Ok(v) => self.schema.elements[e]
                    .value_constraint
                    .as_mut()
                    .into_iter()
                    .for_each(|x| x.value = v.clone()),
                Err(m) => self.err(
                    doc,
                    pos,
                    "e-props-correct.2 / cos-valid-default",
                    format!(
                        "the {} value of element '{}' is not valid: {m}",
                        if vc.kind == ValueConstraintKind::Fixed {
                            "fixed"
                        } else {
                            "default"
                        },
                        self.schema.elements[e].name.local
                    ),
                ),
            }
        }
        for a in 0..self.schema.attributes.len() {
            let Some(vc) = self.schema.attributes[a].value_constraint.clone() else {
                continue;
            };
            let t = self.schema.attributes[a].type_;
            let pos = self.schema.attributes[a].pos;
            match self.check_constraint_value(t, &vc) {
                Ok(v) => self.schema.attributes[a]
                    .value_constraint
                    .as_mut()
                    .into_iter()
                    .for_each(|x| x.value = v.clone()),
                Err(m) => {
                    let file = self
                        .docs
                        .first()
                        .map(|d| d.path.clone())
                        .unwrap_or_default();
                    self.errors.push(SchemaError {
                        file,
                        position: pos,
                        rule: "a-props-correct.2",
                        message: format!(
                            "the value constraint of attribute '{}' is not valid: {m}",
                            self.schema.attributes[a].name.local
                        ),
                    });
                }
            }
        }
        // Attribute uses carry their own copies: fill their values too.
        for t in 0..self.schema.types.len() {
            let Some(ct) = self.schema.complex(t).cloned() else {
                continue;
            };
            let mut changed = false;
            let mut attrs = ct.attributes.clone();
            for u in &mut attrs {
                if let Some(vc) = &mut u.value_constraint
                    && vc.value.is_none()
                {
                    let at = self.schema.attributes[u.decl].type_;
                    match self.check_constraint_value(at, vc) {
                        Ok(v) => {
                            vc.value = v;
                            changed = true;
                        }
                        Err(m) => {
                            let doc = self.type_doc[t].min(self.docs.len().saturating_sub(1));
                            self.err(
                                doc,
                                ct.pos,
                                "au-props-correct / a-props-correct.2",
                                format!(
                                    "the value constraint of attribute '{}' is not valid: {m}",
                                    self.schema.attributes[u.decl].name.local
                                ),
                            );
                        }
                    }
                }
            }
            if changed && let Some(TypeDef::Complex(c)) = self.schema.types.get_mut(t) {
                c.attributes = attrs;
            }
        }
    }

    /// A default/fixed value against its type: Ok(Some(value)) for simple content, Ok(None) for mixed.
    fn check_constraint_value(
        &self,
        t: TypeId,
        vc: &ValueConstraint,
    ) -> Result<Option<Value>, String> {
        let lexical = vc.lexical.as_str();
        let id = self.schema.builtin_types[&Builtin::Id];
        let simple =
            match &self.schema.types[t] {
                TypeDef::Simple(_) => t,
                TypeDef::Complex(c) => match &c.content {
                    ContentType::Simple(s) => *s,
                    ContentType::Elements(e)
                        if e.mixed && self.particle_emptiable(&Some(e.particle.clone())) =>
                    {
                        return Ok(None);
                    }
                    _ => return Err(
                        "only simple or mixed emptiable content can have a default or fixed value"
                            .into(),
                    ),
                },
            };
        if self.schema.derives_from(simple, id, Derivations::default()) {
            return Err("ID-typed values cannot have a default or fixed value".into());
        }
        let resolve = |p: &str| {
            vc.namespaces
                .iter()
                .find(|(q, _)| q == p)
                .map(|(_, u)| u.clone())
                .filter(|u| !u.is_empty())
        };
        self.schema
            .validate_simple(simple, lexical, &resolve)
            .map(Some)
            .map_err(|e| e.expected)
    }

    fn check_keyrefs(&mut self) {
        for (id, q) in self.keyref_refers.clone() {
            match self.idc_names.get(&q) {
                Some(&target)
                    if self.schema.identity_constraints[target].kind != IdcKind::KeyRef =>
                {
                    let (nf, tf) = (
                        self.schema.identity_constraints[id].fields.len(),
                        self.schema.identity_constraints[target].fields.len(),
                    );
                    if nf != tf {
                        let pos = self.schema.identity_constraints[id].pos;
                        self.err(
                            0,
                            pos,
                            "c-props-correct.2",
                            format!("keyref has {nf} fields but '{}' has {tf}", q.local),
                        );
                    }
                    self.schema.identity_constraints[id].refer = Some(target);
                }
                _ => {
                    let pos = self.schema.identity_constraints[id].pos;
                    self.err(
                        0,
                        pos,
                        "src-resolve",
                        format!(
                            "keyref refers to '{}', which is not a key or unique constraint",
                            q.local
                        ),
                    );
                }
            }
        }
    }

    fn check_restrictions(&mut self) {
        for id in self.restrictions.clone() {
            let Some(ct) = self.schema.complex(id).cloned() else {
                continue;
            };
            let Some(base) = self.schema.complex(ct.base).cloned() else {
                continue;
            };
            let doc = self.type_doc[id];
            if let Err(m) = super_restriction::check(&self.schema, &ct, &base) {
                self.err(
                    doc,
                    ct.pos,
                    "derivation-ok-restriction.5",
                    format!(
                        "type '{}' is not a valid restriction of '{}': {m}",
                        self.schema.type_name(id),
                        self.schema.type_name(ct.base)
                    ),
                );
            }
        }
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

/// Whether two namespace constraints share a namespace.
pub fn wildcards_overlap(a: &NsConstraint, b: &NsConstraint) -> bool {
    match (a, b) {
        (NsConstraint::Any, _) | (_, NsConstraint::Any) => true,
        (NsConstraint::Not(_), NsConstraint::Not(_)) => true,
        (NsConstraint::Not(x), NsConstraint::Set(s))
        | (NsConstraint::Set(s), NsConstraint::Not(x)) => s.iter().any(|n| n.is_some() && n != x),
        (NsConstraint::Set(s), NsConstraint::Set(t)) => s.iter().any(|n| t.contains(n)),
    }
}

/// Wildcard subset (XSD 1.0 §3.10.6 Wildcard Subset): every namespace `sub` allows, `sup` allows.
pub fn wildcard_subset(sub: &Wildcard, sup: &Wildcard) -> bool {
    match (&sub.ns, &sup.ns) {
        (_, NsConstraint::Any) => true,
        (NsConstraint::Not(a), NsConstraint::Not(b)) => a == b,
        (NsConstraint::Set(s), NsConstraint::Not(b)) => s.iter().all(|n| n.is_some() && n != b),
        (NsConstraint::Set(s), NsConstraint::Set(t)) => s.iter().all(|n| t.contains(n)),
        _ => false,
    }
}

/// Attribute wildcard union (§3.10.6); `None` when not expressible.
pub fn wildcard_union(a: &Wildcard, b: &Wildcard) -> Option<Wildcard> {
    let ns = match (&a.ns, &b.ns) {
        (x, y) if x == y => x.clone(),
        (NsConstraint::Any, _) | (_, NsConstraint::Any) => NsConstraint::Any,
        (NsConstraint::Set(s), NsConstraint::Set(t)) => {
            let mut u = s.clone();
            for n in t {
                if !u.contains(n) {
                    u.push(n.clone());
                }
            }
            NsConstraint::Set(u)
        }
        (NsConstraint::Not(_), NsConstraint::Not(_)) => NsConstraint::Not(None),
        (NsConstraint::Not(x), NsConstraint::Set(s))
        | (NsConstraint::Set(s), NsConstraint::Not(x)) => {
            let has_absent = s.contains(&None);
            match x {
                Some(_) if s.contains(x) => {
                    if has_absent {
                        NsConstraint::Any
                    } else {
                        NsConstraint::Not(None)
                    }
                }
                Some(_) => {
                    if has_absent {
                        return None;
                    }
                    NsConstraint::Not(x.clone())
                }
                None => {
                    if has_absent {
                        NsConstraint::Any
                    } else {
                        NsConstraint::Not(None)
                    }
                }
            }
        }
    };
    Some(Wildcard {
        ns,
        process: a.process,
    })
}

/// Attribute wildcard intersection (§3.10.6); `None` when not expressible.
pub fn wildcard_intersection(a: &Wildcard, b: &Wildcard) -> Option<Wildcard> {
    let ns = match (&a.ns, &b.ns) {
        (x, y) if x == y => x.clone(),
        (NsConstraint::Any, o) | (o, NsConstraint::Any) => o.clone(),
        (NsConstraint::Not(x), NsConstraint::Set(s))
        | (NsConstraint::Set(s), NsConstraint::Not(x)) => NsConstraint::Set(
            s.iter()
                .filter(|n| n.is_some() && *n != x)
                .cloned()
                .collect(),
        ),
        (NsConstraint::Set(s), NsConstraint::Set(t)) => {
            NsConstraint::Set(s.iter().filter(|n| t.contains(n)).cloned().collect())
        }
        (NsConstraint::Not(x), NsConstraint::Not(y)) => {
            if x.is_none() {
                NsConstraint::Not(y.clone())
            } else if y.is_none() {
                NsConstraint::Not(x.clone())
            } else {
                return None;
            }
        }
    };
    Some(Wildcard {
        ns,
        process: a.process,
    })
}
