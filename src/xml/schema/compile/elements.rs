//! Element declarations, global and local, and their identity constraints.

use super::*;

impl Compiler {
    pub(super) fn global_element(&mut self, qn: &QName) -> ElemId {
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

    pub(super) fn new_element(
        &mut self,
        name: QName,
        doc: usize,
        pos: Position,
        global: bool,
    ) -> ElemId {
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

    pub(super) fn ensure_element(&mut self, id: ElemId) {
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
    pub(super) fn local_element(&mut self, doc: usize, node: &Node) -> Option<ElemId> {
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

    pub(super) fn fill_element(&mut self, id: ElemId, doc: usize, node: &Node, global: bool) {
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

    pub(super) fn identity_constraint(&mut self, doc: usize, node: &Node) -> Option<IdcId> {
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
}
