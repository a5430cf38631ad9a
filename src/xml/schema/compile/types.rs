//! Compiling type definitions on demand: simple types (restriction, list, union, facets) and complex
//! types (simple and complex content, extension and restriction, their attributes).

use super::*;

impl Compiler {
    pub(super) fn compile_all(&mut self) {
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
    pub(super) fn enter(&mut self, doc: usize, pos: Position) -> bool {
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

    pub(super) fn new_type(&mut self, src: Option<(Src, Option<QName>)>, doc: usize) -> TypeId {
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

    pub(super) fn global_type(&mut self, qn: &QName) -> TypeId {
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
    pub(super) fn type_ref(&mut self, doc: usize, node: &Node, attr: &str) -> TypeId {
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

    pub(super) fn type_by_name(&mut self, doc: usize, node: &Node, mut qn: QName) -> TypeId {
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
    pub(super) fn current_type_self_ref(&self, qn: &QName) -> Option<QName> {
        let top = *self.type_stack.last()?;
        match &self.type_src[top] {
            Some((src, _)) => match &src.self_ref {
                Some((me, orig)) if me == qn => Some(orig.clone()),
                _ => None,
            },
            None => None,
        }
    }

    pub(super) fn ensure_type(&mut self, id: TypeId) {
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

    pub(super) fn ensure_type_inner(&mut self, id: TypeId) {
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

    pub(super) fn anonymous_type(&mut self, doc: usize, node: &Node) -> TypeId {
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
    pub(super) fn simple_ref_or_inline(
        &mut self,
        doc: usize,
        node: &Node,
        attr: &str,
    ) -> Option<TypeId> {
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

    pub(super) fn simple_type(
        &mut self,
        doc: usize,
        node: &Node,
        name: Option<QName>,
    ) -> SimpleType {
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

    pub(super) fn union_has_list(&self, t: TypeId) -> bool {
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
    pub(super) fn derive_facets(
        &mut self,
        doc: usize,
        body: &Node,
        base: TypeId,
        b: &SimpleType,
    ) -> Facets {
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

    pub(super) fn complex_type(
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
            Some(b) if b.is("simpleContent") => self.simple_content(doc, &b, &mut ct),
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
    pub(super) fn content_particle(&mut self, doc: usize, node: &Node) -> Option<ParticleDef> {
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

    pub(super) fn set_content(
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

    /// The `restriction` or `extension` inside `simpleContent`/`complexContent`: resolves and compiles
    /// its base and records base and method on `ct`. Returns (the element, base, is extension).
    fn derivation_step(
        &mut self,
        doc: usize,
        body: &Node,
        ct: &mut ComplexType,
    ) -> Option<(Node, TypeId, bool)> {
        let deriv = body.xs_children().next().cloned()?;
        let base = self.type_ref(doc, &deriv, "base");
        self.ensure_type(base);
        ct.base = base;
        let is_ext = deriv.is("extension");
        ct.derivation = if is_ext {
            Derivation::Extension
        } else {
            Derivation::Restriction
        };
        Some((deriv, base, is_ext))
    }

    pub(super) fn complex_content(
        &mut self,
        id: TypeId,
        doc: usize,
        body: &Node,
        mixed: bool,
        ct: &mut ComplexType,
    ) {
        let Some((deriv, base, is_ext)) = self.derivation_step(doc, body, ct) else {
            return;
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
    pub(super) fn extension_attributes(
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

    pub(super) fn base_content(&self, base: TypeId) -> (Option<ParticleDef>, bool) {
        if let Some((p, m)) = self.pending_content.get(&base) {
            return (p.clone(), *m);
        }
        match self.schema.complex(base).map(|c| &c.content) {
            Some(ContentType::Elements(e)) => (Some(e.particle.clone()), e.mixed),
            _ => (None, false),
        }
    }

    /// Attributes of a restriction: base uses overridden by the derived ones, prohibited ones removed.
    pub(super) fn restriction_attributes(
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
    pub(super) fn same_value(
        &mut self,
        t: TypeId,
        a: &ValueConstraint,
        b: &ValueConstraint,
    ) -> bool {
        self.ensure_type(t);
        let parse = |vc: &ValueConstraint| self.check_constraint_value(t, vc).ok().flatten();
        match (parse(a), parse(b)) {
            (Some(x), Some(y)) => x.same(&y),
            _ => values_equal(a, b),
        }
    }

    pub(super) fn simple_content(&mut self, doc: usize, body: &Node, ct: &mut ComplexType) {
        let Some((deriv, base, is_ext)) = self.derivation_step(doc, body, ct) else {
            return;
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
    pub(super) fn restricted_simple(&mut self, doc: usize, deriv: &Node, base: TypeId) -> TypeId {
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

    pub(super) fn particle_emptiable(&self, p: &Option<ParticleDef>) -> bool {
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
}
