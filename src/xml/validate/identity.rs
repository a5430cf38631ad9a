//! Identity constraints (xs:unique, xs:key, xs:keyref) evaluated while streaming (XSD 1.0 §3.11.4).
//!
//! Each element whose declaration carries identity constraints opens one scope per constraint. While a
//! scope is open, every start tag is matched against the constraint's selector (relative to the scope
//! element) and, for every selected node still open, against each field (relative to that node). Field
//! values are the typed values: attributes are validated against their declared type here, elements
//! deliver the value the validator computed at their end tag. When a selected node ends its key-sequence
//! is complete and goes into the scope's table (key/unique) or its list of references (keyref).
//!
//! Keyrefs are checked when their scope element ends, against the node table of the referenced
//! constraint at that element: its own table if declared there, plus the tables bubbled up from
//! descendants (§3.11.5, node-table propagation; a key-sequence found for different nodes in different
//! subtrees conflicts and is dropped). Tables are only kept and bubbled while some open keyref scope
//! refers to them, so memory stays bounded by what open scopes can still need.
//!
//! Values never appear in messages: they may be personal data, and the element's line says where to look.

use std::collections::HashMap;

use crate::xml::datatypes::Value;
use crate::xml::reader::StartTag;
use crate::xml::schema::doc::XSI_NS;
use crate::xml::schema::model::{
    ContentType, ElemId, IdcId, IdcKind, NameTest, QName, Schema, TypeDef, TypeId, XPath, XStep,
};

/// A key-sequence: the [`Value::key`] of each field, in field order.
type KeySeq = Vec<String>;

/// The identity-constraint tables of one validation run.
#[derive(Default)]
pub struct Tables {
    /// One per open element, outermost first.
    frames: Vec<Frame>,
    /// Open scopes, in the order their elements started (so the innermost are last).
    scopes: Vec<Scope>,
    /// Ordinal of the next element: identifies nodes across scopes and tables.
    next_node: u64,
}

/// What an open element knows for identity constraints.
struct Frame {
    name: QName,
    /// Field slots that wait for this element's typed value.
    pending: Vec<Target>,
    /// Violations found at the start tag, reported at the end tag.
    errors: Vec<(&'static str, String)>,
    /// Node tables of key/unique constraints at this element (own and bubbled from descendants),
    /// only for constraints an open keyref refers to. `None` marks a conflicting key-sequence.
    tables: HashMap<IdcId, HashMap<KeySeq, Option<u64>>>,
}

/// What an element's value is for a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    /// Simple type or simple content: the typed value arrives at the end tag.
    Simple,
    /// Element-only, mixed or empty content: not allowed as a field (cvc-identity-constraint.3).
    NotSimple,
    /// `xsi:nil="true"`: no value.
    Nil,
    /// Not assessed (skipped): no value and no further complaint.
    Untyped,
}

/// Where an element field's value goes.
struct Target {
    scope: usize,
    node: usize,
    field: usize,
}

/// One identity constraint's scope at one element.
struct Scope {
    idc: IdcId,
    /// Index of the scope element in [`Tables::frames`].
    depth: usize,
    /// Selected nodes still open, outermost first (they nest like the elements).
    nodes: Vec<Node>,
    /// key/unique: key-sequence → (node, line) of the first node that had it.
    table: HashMap<KeySeq, (u64, u32)>,
    /// keyref: the complete key-sequences found.
    refs: Vec<Ref>,
}

/// A selected element whose fields are being collected.
struct Node {
    depth: usize,
    id: u64,
    local: String,
    line: u32,
    slots: Vec<Slot>,
}

/// A keyref key-sequence waiting for its scope to end.
struct Ref {
    keys: KeySeq,
    local: String,
    line: u32,
}

/// The state of one field of one selected node.
#[derive(Clone, PartialEq, Eq)]
enum Slot {
    /// No node matched (yet).
    Absent,
    /// A nil element matched: present, but without a value.
    Nil,
    /// An element matched; its value comes at its end tag.
    Pending,
    /// The value's key.
    Value(String),
    /// Already reported, or the value was invalid: the node takes no further part.
    Bad,
}

impl Tables {
    /// An element starts.
    pub fn start_element(
        &mut self,
        schema: &Schema,
        decl: Option<ElemId>,
        type_: Option<TypeId>,
        tag: &StartTag,
        line: u32,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) {
        let depth = self.frames.len();
        let id = self.next_node;
        self.next_node += 1;
        let decl_info = decl.and_then(|d| schema.elements.get(d));
        let nillable = decl_info.is_some_and(|d| d.nillable);
        let nil = nillable
            && tag.attributes().any(|a| {
                a.ns == Some(XSI_NS) && a.local == "nil" && matches!(a.value.trim(), "true" | "1")
            });
        // A nil element still needs a simple type to be a field (cvc-identity-constraint.3).
        let kind = match type_.and_then(|t| schema.types.get(t)) {
            None => FieldKind::Untyped,
            Some(TypeDef::Simple(_)) if nil => FieldKind::Nil,
            Some(TypeDef::Simple(_)) => FieldKind::Simple,
            Some(TypeDef::Complex(ct)) => match ct.content {
                ContentType::Simple(_) if nil => FieldKind::Nil,
                ContentType::Simple(_) => FieldKind::Simple,
                _ => FieldKind::NotSimple,
            },
        };
        // Paths are matched only below a scope's element, so names outside every scope are never read:
        // skip copying them (the common case: most documents have no identity constraints).
        let name = if self.scopes.is_empty() {
            QName {
                ns: None,
                local: String::new(),
            }
        } else {
            QName {
                ns: tag.ns.map(str::to_owned),
                local: tag.local.to_owned(),
            }
        };
        self.frames.push(Frame {
            name,
            pending: Vec::new(),
            errors: Vec::new(),
            tables: HashMap::new(),
        });
        if let Some(d) = decl_info {
            for &idc in &d.identity_constraints {
                if idc < schema.identity_constraints.len() {
                    self.scopes.push(Scope {
                        idc,
                        depth,
                        nodes: Vec::new(),
                        table: HashMap::new(),
                        refs: Vec::new(),
                    });
                }
            }
        }
        if self.scopes.is_empty() {
            return;
        }
        // Attribute values are computed once per element, only if some field asks for them.
        let mut attrs: Option<Vec<(QName, AttrValue)>> = None;
        let mut errors = Vec::new();
        let mut pending = Vec::new();
        for s in 0..self.scopes.len() {
            let scope = &mut self.scopes[s];
            let c = &schema.identity_constraints[scope.idc];
            let rel = self.frames.get(scope.depth + 1..).unwrap_or_default();
            if c.selector.iter().any(|p| path_matches(p, rel)) {
                scope.nodes.push(Node {
                    depth,
                    id,
                    local: tag.local.to_owned(),
                    line,
                    slots: vec![Slot::Absent; c.fields.len()],
                });
            }
            for n in 0..scope.nodes.len() {
                let rel = self
                    .frames
                    .get(scope.nodes[n].depth + 1..)
                    .unwrap_or_default();
                for (f, alts) in c.fields.iter().enumerate() {
                    let mut element = false;
                    let mut found: Vec<(QName, AttrValue)> = Vec::new();
                    for alt in alts {
                        match alt.steps.last() {
                            Some(XStep::Attribute(test)) => {
                                if !path_matches(alt, rel) {
                                    continue;
                                }
                                let all = attrs.get_or_insert_with(|| {
                                    attribute_values(schema, type_, tag, resolve)
                                });
                                for (name, v) in all.iter() {
                                    if name_matches(test, name)
                                        && !found.iter().any(|(n, _)| n == name)
                                    {
                                        found.push((name.clone(), v.clone()));
                                    }
                                }
                            }
                            _ => element |= path_matches(alt, rel),
                        }
                    }
                    let count = found.len() + usize::from(element);
                    if count == 0 {
                        continue;
                    }
                    let node = &mut scope.nodes[n];
                    let Some(slot) = node.slots.get_mut(f) else {
                        continue;
                    };
                    if *slot == Slot::Bad {
                        continue;
                    }
                    if count > 1 || *slot != Slot::Absent {
                        *slot = Slot::Bad;
                        errors.push(("cvc-identity-constraint.3", format!(
                            "{} '{}': field {} of the element '{}' (line {}) selects more than one node",
                            kind_name(c.kind), c.name.local, describe_field(alts), node.local, node.line)));
                        continue;
                    }
                    if let Some((name, v)) = found.pop() {
                        *slot = match v {
                            AttrValue::Key(k) => Slot::Value(k),
                            AttrValue::Invalid => Slot::Bad,
                            AttrValue::Undeclared if type_.is_none() => Slot::Bad,
                            AttrValue::Undeclared => {
                                errors.push(("cvc-identity-constraint.3", format!(
                                    "{} '{}': field {} selects the attribute '{}', which has no declaration and so no \
                                     simple type",
                                    kind_name(c.kind), c.name.local, describe_field(alts), name.local)));
                                Slot::Bad
                            }
                        };
                        continue;
                    }
                    if c.kind == IdcKind::Key && nillable {
                        *slot = Slot::Bad;
                        errors.push(("cvc-identity-constraint.4.2.3", format!(
                            "key '{}': field {} selects the element '{}', whose declaration is nillable",
                            c.name.local, describe_field(alts), tag.local)));
                        continue;
                    }
                    *slot = match kind {
                        FieldKind::Simple => {
                            pending.push(Target {
                                scope: s,
                                node: n,
                                field: f,
                            });
                            Slot::Pending
                        }
                        FieldKind::Nil => Slot::Nil,
                        FieldKind::Untyped => Slot::Bad,
                        FieldKind::NotSimple => {
                            errors.push(("cvc-identity-constraint.3", format!(
                                "{} '{}': field {} selects the element '{}', which does not have a simple type",
                                kind_name(c.kind), c.name.local, describe_field(alts), tag.local)));
                            Slot::Bad
                        }
                    };
                }
            }
        }
        if let Some(frame) = self.frames.last_mut() {
            frame.errors = errors;
            frame.pending = pending;
        }
    }

    /// The innermost element ends with this simple value (if it has one); returns violations.
    pub fn end_element(
        &mut self,
        schema: &Schema,
        value: Option<&Value>,
    ) -> Vec<(&'static str, String)> {
        let Some(frame) = self.frames.pop() else {
            return Vec::new();
        };
        let depth = self.frames.len();
        let Frame {
            errors: mut out,
            pending,
            mut tables,
            ..
        } = frame;
        // Typed values matter only to fields waiting for them; most elements feed none.
        let key = if pending.is_empty() {
            None
        } else {
            value.map(Value::key)
        };
        for t in pending {
            let slot = self
                .scopes
                .get_mut(t.scope)
                .and_then(|s| s.nodes.get_mut(t.node))
                .and_then(|n| n.slots.get_mut(t.field));
            if let Some(slot) = slot {
                // No value here means the value was invalid, which the validator has reported.
                *slot = key.clone().map_or(Slot::Bad, Slot::Value);
            }
        }

        // Selected nodes that end here have their complete key-sequences.
        for scope in &mut self.scopes {
            if scope.nodes.last().is_some_and(|n| n.depth == depth)
                && let Some(node) = scope.nodes.pop()
            {
                finish_node(schema, scope, node, &mut out);
            }
        }

        // Scopes of this element close: build its node tables, then check its keyrefs against them.
        let closing = self
            .scopes
            .iter()
            .rposition(|s| s.depth < depth)
            .map_or(0, |i| i + 1);
        let closing: Vec<Scope> = self
            .scopes
            .drain(closing.min(self.scopes.len())..)
            .collect();
        let refers_to = |scopes: &[Scope], idc: IdcId| {
            scopes.iter().any(|s| {
                let c = &schema.identity_constraints[s.idc];
                c.kind == IdcKind::KeyRef && c.refer == Some(idc)
            })
        };
        for scope in &closing {
            let c = &schema.identity_constraints[scope.idc];
            if c.kind != IdcKind::KeyRef
                && (refers_to(&closing, scope.idc) || refers_to(&self.scopes, scope.idc))
            {
                let table = tables.entry(scope.idc).or_default();
                // The element's own entries take precedence over (and settle conflicts among) descendants'.
                for (k, (node, _)) in &scope.table {
                    table.insert(k.clone(), Some(*node));
                }
            }
        }
        for scope in &closing {
            let c = &schema.identity_constraints[scope.idc];
            let Some(refer) = c.refer.filter(|_| c.kind == IdcKind::KeyRef) else {
                continue;
            };
            let table = tables.get(&refer);
            let target = schema
                .identity_constraints
                .get(refer)
                .map_or("?", |r| r.name.local.as_str());
            for r in &scope.refs {
                if !table
                    .and_then(|t| t.get(&r.keys))
                    .is_some_and(Option::is_some)
                {
                    out.push(("cvc-identity-constraint.4.3", format!(
                        "keyref '{}': the element '{}' (line {}) refers to a key-sequence that '{}' does not have \
                         within this element",
                        c.name.local, r.local, r.line, target)));
                }
            }
        }

        // Bubble node tables up while an enclosing keyref can still use them.
        if let Some(parent) = self.frames.last_mut() {
            for (idc, table) in tables {
                if !refers_to(&self.scopes, idc) {
                    continue;
                }
                let into = parent.tables.entry(idc).or_default();
                for (k, node) in table {
                    match into.get_mut(&k) {
                        Some(existing) => {
                            if *existing != node {
                                *existing = None;
                            }
                        }
                        None => {
                            into.insert(k, node);
                        }
                    }
                }
            }
        }
        out
    }
}

/// A selected node ends: check its key-sequence and record it.
fn finish_node(
    schema: &Schema,
    scope: &mut Scope,
    node: Node,
    out: &mut Vec<(&'static str, String)>,
) {
    let c = &schema.identity_constraints[scope.idc];
    if node.slots.contains(&Slot::Bad) {
        return;
    }
    let mut keys = Vec::with_capacity(node.slots.len());
    let mut missing = Vec::new();
    for (i, slot) in node.slots.into_iter().enumerate() {
        match slot {
            Slot::Value(k) => keys.push(k),
            _ => missing.push(
                c.fields
                    .get(i)
                    .map_or_else(|| "?".to_owned(), |f| describe_field(f)),
            ),
        }
    }
    if !missing.is_empty() {
        if c.kind == IdcKind::Key {
            out.push((
                "cvc-identity-constraint.4.2.1",
                format!(
                    "key '{}': the element '{}' (line {}) has no value for field {}",
                    c.name.local,
                    node.local,
                    node.line,
                    missing.join(", ")
                ),
            ));
        }
        return;
    }
    match c.kind {
        IdcKind::KeyRef => scope.refs.push(Ref {
            keys,
            local: node.local,
            line: node.line,
        }),
        IdcKind::Key | IdcKind::Unique => match scope.table.get(&keys) {
            Some(&(_, first)) => {
                let rule = if c.kind == IdcKind::Key {
                    "cvc-identity-constraint.4.2.2"
                } else {
                    "cvc-identity-constraint.4.1"
                };
                out.push((rule, format!(
                    "{} '{}': the element '{}' (line {}) has the same key value as the element at line {}",
                    kind_name(c.kind), c.name.local, node.local, node.line, first)));
            }
            None => {
                scope.table.insert(keys, (node.id, node.line));
            }
        },
    }
}

/// Whether the element path `rel` (the elements below the context node, down to the current one) is
/// selected by `path`'s element steps. A final attribute step is the caller's business.
fn path_matches(path: &XPath, rel: &[Frame]) -> bool {
    // Called for every open scope, node and field at every start tag: no allocation here.
    let attribute_inside = path
        .steps
        .iter()
        .rev()
        .skip(1)
        .any(|s| matches!(s, XStep::Attribute(_)));
    if attribute_inside {
        return false;
    }
    let k = path.steps.iter().filter_map(child_test).count();
    let fits = if path.descendant {
        rel.len() >= k
    } else {
        rel.len() == k
    };
    fits && path
        .steps
        .iter()
        .filter_map(child_test)
        .rev()
        .zip(rel.iter().rev())
        .all(|(t, f)| name_matches(t, &f.name))
}

fn child_test(s: &XStep) -> Option<&NameTest> {
    match s {
        XStep::Child(t) => Some(t),
        XStep::SelfNode | XStep::Attribute(_) => None,
    }
}

fn name_matches(test: &NameTest, name: &QName) -> bool {
    match test {
        NameTest::Any => true,
        NameTest::Namespace(ns) => &name.ns == ns,
        NameTest::Name(q) => q == name,
    }
}

/// What an attribute gives a field.
#[derive(Clone)]
enum AttrValue {
    /// The typed value's key.
    Key(String),
    /// The value is invalid for its type (the validator reports that).
    Invalid,
    /// No declaration: no type, which a field needs (XSD 1.0; skip/lax wildcard attributes).
    Undeclared,
}

/// The element's attributes with their typed values, including defaulted ones, which are part of the
/// infoset identity constraints see.
fn attribute_values(
    schema: &Schema,
    type_: Option<TypeId>,
    tag: &StartTag,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Vec<(QName, AttrValue)> {
    let ct = type_.and_then(|t| schema.complex(t));
    let mut out = Vec::with_capacity(tag.attributes().len());
    for a in tag.attributes() {
        let name = QName {
            ns: a.ns.map(str::to_owned),
            local: a.local.to_owned(),
        };
        let decl = ct
            .and_then(|ct| {
                ct.attributes.iter().find(|u| {
                    schema
                        .attributes
                        .get(u.decl)
                        .is_some_and(|d| d.name == name)
                })
            })
            .map(|u| u.decl)
            .or_else(|| schema.global_attributes.get(&name).copied());
        let key = match decl.and_then(|d| schema.attributes.get(d)) {
            Some(d) => typed(schema.validate_simple(d.type_, a.value, resolve).ok()),
            None => AttrValue::Undeclared,
        };
        out.push((name, key));
    }
    for u in ct.map(|ct| ct.attributes.as_slice()).unwrap_or_default() {
        let (Some(d), Some(vc)) = (schema.attributes.get(u.decl), u.value_constraint.as_ref())
        else {
            continue;
        };
        if out.iter().any(|(n, _)| *n == d.name) {
            continue;
        }
        let key = match &vc.value {
            Some(v) => AttrValue::Key(v.key()),
            None => typed(schema.validate_simple(d.type_, &vc.lexical, resolve).ok()),
        };
        out.push((d.name.clone(), key));
    }
    out
}

fn typed(v: Option<Value>) -> AttrValue {
    v.map_or(AttrValue::Invalid, |v| AttrValue::Key(v.key()))
}

fn kind_name(kind: IdcKind) -> &'static str {
    match kind {
        IdcKind::Key => "key",
        IdcKind::Unique => "unique",
        IdcKind::KeyRef => "keyref",
    }
}

/// A field's XPath as (roughly) written, for messages: `'@code'`, `'./a/b'`.
fn describe_field(alts: &[XPath]) -> String {
    let parts: Vec<String> = alts
        .iter()
        .map(|p| {
            let steps: Vec<String> = p
                .steps
                .iter()
                .map(|s| match s {
                    XStep::SelfNode => ".".to_owned(),
                    XStep::Child(t) => describe_test(t),
                    XStep::Attribute(t) => format!("@{}", describe_test(t)),
                })
                .collect();
            format!(
                "{}{}",
                if p.descendant { ".//" } else { "" },
                steps.join("/")
            )
        })
        .collect();
    format!("'{}'", parts.join("|"))
}

fn describe_test(t: &NameTest) -> String {
    match t {
        NameTest::Any => "*".to_owned(),
        NameTest::Namespace(_) => "ns:*".to_owned(),
        NameTest::Name(q) => q.local.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::xml::schema::model::Schema;
    use crate::xml::validate::{Options, Report, validate_bytes};

    fn run(xsd: &str, xml: &str) -> Report {
        let schema = match Schema::from_str(xsd, Path::new(".")) {
            Ok(s) => s,
            Err(e) => panic!(
                "schema did not compile: {:?}",
                e.0.first().map(|e| e.message.clone())
            ),
        };
        validate_bytes(&schema, xml.as_bytes(), &Options::default())
    }

    fn rules(r: &Report) -> Vec<&'static str> {
        r.violations.iter().map(|v| v.rule).collect()
    }

    const ITEMS: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:element name="root">
        <xs:complexType><xs:sequence>
          <xs:element name="item" maxOccurs="unbounded">
            <xs:complexType><xs:sequence>
              <xs:element name="code" type="xs:decimal" minOccurs="0"/>
            </xs:sequence>
            <xs:attribute name="id" type="xs:integer"/>
            <xs:attribute name="s" type="xs:string"/>
            </xs:complexType>
          </xs:element>
          <xs:element name="ref" minOccurs="0" maxOccurs="unbounded">
            <xs:complexType><xs:attribute name="to" type="xs:integer"/></xs:complexType>
          </xs:element>
        </xs:sequence></xs:complexType>
        CONSTRAINTS
      </xs:element>
    </xs:schema>"#;

    fn schema(constraints: &str) -> String {
        ITEMS.replace("CONSTRAINTS", constraints)
    }

    const KEY_ID: &str =
        r#"<xs:key name="k"><xs:selector xpath="item"/><xs:field xpath="@id"/></xs:key>"#;

    #[test]
    fn key_accepts_distinct_values() {
        let r = run(
            &schema(KEY_ID),
            r#"<root><item id="1"/><item id="2"/></root>"#,
        );
        assert!(r.is_valid(), "{:?}", r.violations);
    }

    #[test]
    fn key_duplicate_is_reported_without_the_value() {
        let r = run(
            &schema(KEY_ID),
            r#"<root><item id="1"/><item id="01"/></root>"#,
        );
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.2.2"]);
        assert!(r.violations[0].message.contains("'k'"));
        assert!(!r.violations[0].message.contains("01"));
    }

    #[test]
    fn key_missing_field() {
        let r = run(&schema(KEY_ID), r#"<root><item id="1"/><item/></root>"#);
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.2.1"]);
    }

    #[test]
    fn unique_allows_missing_fields() {
        let c =
            r#"<xs:unique name="u"><xs:selector xpath="item"/><xs:field xpath="@id"/></xs:unique>"#;
        let r = run(&schema(c), r#"<root><item/><item/><item id="1"/></root>"#);
        assert!(r.is_valid(), "{:?}", r.violations);
        let r = run(&schema(c), r#"<root><item id="1"/><item id="1"/></root>"#);
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.1"]);
    }

    #[test]
    fn keyref_must_resolve() {
        let c = format!(
            r#"{KEY_ID}<xs:keyref name="r" refer="k"><xs:selector xpath="ref"/><xs:field xpath="@to"/></xs:keyref>"#
        );
        let r = run(
            &schema(&c),
            r#"<root><item id="1"/><item id="2"/><ref to="2"/><ref to="+1"/></root>"#,
        );
        assert!(r.is_valid(), "{:?}", r.violations);
        let r = run(&schema(&c), r#"<root><item id="1"/><ref to="3"/></root>"#);
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.3"]);
    }

    #[test]
    fn decimal_values_compare_by_value_and_strings_do_not_equal_numbers() {
        let c = r#"<xs:unique name="u"><xs:selector xpath="item"/><xs:field xpath="code"/></xs:unique>"#;
        let r = run(
            &schema(c),
            r#"<root><item><code>1.0</code></item><item><code>1</code></item></root>"#,
        );
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.1"]);
        let c = r#"<xs:unique name="u"><xs:selector xpath="item"/><xs:field xpath="@s"/><xs:field xpath="@id"/></xs:unique>"#;
        let r = run(
            &schema(c),
            r#"<root><item s="1.0" id="1"/><item s="1" id="1"/></root>"#,
        );
        assert!(r.is_valid(), "{:?}", r.violations);
        // A string field and a number field with the same lexical value are different values.
        let c = r#"<xs:key name="k"><xs:selector xpath="item"/><xs:field xpath="@id"/></xs:key>
            <xs:keyref name="r" refer="k"><xs:selector xpath="item"/><xs:field xpath="@s"/></xs:keyref>"#;
        let r = run(&schema(c), r#"<root><item id="1" s="1"/></root>"#);
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.3"]);
    }

    #[test]
    fn attribute_and_element_fields_together() {
        let c = r#"<xs:key name="k"><xs:selector xpath="item"/><xs:field xpath="@id"/><xs:field xpath="code"/></xs:key>"#;
        let r = run(
            &schema(c),
            r#"<root><item id="1"><code>1</code></item><item id="1"><code>2</code></item></root>"#,
        );
        assert!(r.is_valid(), "{:?}", r.violations);
        let r = run(
            &schema(c),
            r#"<root><item id="1"><code>2</code></item><item id="1"><code>2.00</code></item></root>"#,
        );
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.2.2"]);
        let r = run(
            &schema(c),
            r#"<root><item id="1"><code>2</code></item><item id="2"/></root>"#,
        );
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.2.1"]);
    }

    const TREE: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:element name="root">
        <xs:complexType><xs:sequence><xs:element ref="node" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
        <xs:key name="k"><xs:selector xpath=".//node"/><xs:field xpath="@id"/></xs:key>
      </xs:element>
      <xs:element name="node">
        <xs:complexType><xs:sequence><xs:element ref="node" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
          <xs:attribute name="id" type="xs:string"/>
          <xs:attribute name="ref" type="xs:string"/>
        </xs:complexType>
        <xs:keyref name="r" refer="k"><xs:selector xpath="node"/><xs:field xpath="@ref"/></xs:keyref>
      </xs:element>
    </xs:schema>"#;

    #[test]
    fn descendant_selectors_reach_any_depth() {
        let r = run(
            TREE,
            r#"<root><node id="a"><node id="b"><node id="c"/></node></node></root>"#,
        );
        assert!(r.is_valid(), "{:?}", r.violations);
        let r = run(
            TREE,
            r#"<root><node id="a"><node id="b"><node id="a"/></node></node></root>"#,
        );
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.2.2"]);
    }

    #[test]
    fn keyref_sees_only_keys_at_or_below_its_scope() {
        // The key is declared on root, above the keyref's scope elements: its table is not theirs.
        let r = run(
            TREE,
            r#"<root><node id="a"><node id="b" ref="a"/></node></root>"#,
        );
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.3"]);
    }

    #[test]
    fn field_selecting_two_nodes_or_complex_content() {
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:element name="root"><xs:complexType><xs:sequence>
            <xs:element name="p" maxOccurs="unbounded"><xs:complexType><xs:sequence>
              <xs:element name="v" type="xs:string" maxOccurs="unbounded"/>
              <xs:element name="c" minOccurs="0"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
            </xs:sequence></xs:complexType></xs:element>
          </xs:sequence></xs:complexType>
          <xs:unique name="u"><xs:selector xpath="p"/><xs:field xpath="v"/></xs:unique>
          <xs:unique name="w"><xs:selector xpath="p"/><xs:field xpath="c"/></xs:unique>
          </xs:element></xs:schema>"#;
        let r = run(xsd, "<root><p><v>a</v></p><p><v>b</v></p></root>");
        assert!(r.is_valid(), "{:?}", r.violations);
        let r = run(xsd, "<root><p><v>a</v><v>b</v></p></root>");
        assert_eq!(rules(&r), ["cvc-identity-constraint.3"]);
        let r = run(xsd, "<root><p><v>a</v><c/></p></root>");
        assert_eq!(rules(&r), ["cvc-identity-constraint.3"]);
    }

    #[test]
    fn defaulted_attributes_count() {
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:element name="root"><xs:complexType><xs:sequence>
            <xs:element name="u" maxOccurs="unbounded"><xs:complexType>
              <xs:attribute name="v" type="xs:string" default="x"/></xs:complexType></xs:element>
          </xs:sequence></xs:complexType>
          <xs:unique name="q"><xs:selector xpath="u"/><xs:field xpath="@v"/></xs:unique>
          </xs:element></xs:schema>"#;
        let r = run(xsd, r#"<root><u v="x"/><u/></root>"#);
        assert_eq!(rules(&r), ["cvc-identity-constraint.4.1"]);
    }

    #[test]
    fn nil_fields_and_undeclared_attributes() {
        let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:element name="root"><xs:complexType><xs:sequence>
            <xs:element name="u" type="xs:string" nillable="true" maxOccurs="unbounded"/>
          </xs:sequence><xs:anyAttribute processContents="skip"/></xs:complexType>
          <xs:unique name="q"><xs:selector xpath="u"/><xs:field xpath="."/></xs:unique>
          <xs:unique name="a"><xs:selector xpath="."/><xs:field xpath="@x"/></xs:unique>
          </xs:element></xs:schema>"#;
        let xsi = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
        let r = run(
            xsd,
            &format!(r#"<root {xsi}><u xsi:nil="true"/><u xsi:nil="true"/><u>a</u></root>"#),
        );
        assert!(r.is_valid(), "{:?}", r.violations);
        // A skip-wildcard attribute has no type, so it cannot be a field in XSD 1.0.
        let r = run(xsd, r#"<root x="1"><u>a</u></root>"#);
        assert_eq!(rules(&r), ["cvc-identity-constraint.3"]);
    }
}
