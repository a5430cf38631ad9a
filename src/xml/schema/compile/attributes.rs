//! Attribute declarations and uses, attribute groups and the complete attribute wildcard.

use super::*;

impl Compiler {
    pub(super) fn global_attribute(&mut self, qn: &QName) -> Option<AttrId> {
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

    pub(super) fn fill_attribute(&mut self, id: AttrId, doc: usize, node: &Node) {
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
    pub(super) fn value_constraint_attrs(
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
    pub(super) fn attribute_children(&mut self, doc: usize, node: &Node, acc: &mut AttrAcc) {
        if self.enter(doc, node.pos) {
            self.attribute_children_inner(doc, node, acc);
        }
        self.depth -= 1;
    }

    pub(super) fn attribute_children_inner(&mut self, doc: usize, node: &Node, acc: &mut AttrAcc) {
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

    pub(super) fn attribute_use(&mut self, doc: usize, node: &Node, acc: &mut AttrAcc) {
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

    pub(super) fn push_use(
        &mut self,
        doc: usize,
        node: &Node,
        use_: &str,
        decl: AttrId,
        acc: &mut AttrAcc,
    ) {
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
    pub(super) fn finish_attr_uses(
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

    pub(super) fn is_id_type(&self, t: TypeId) -> bool {
        let id = self.schema.builtin_types[&Builtin::Id];
        t < self.type_state.len()
            && self.type_state[t] == State::Done
            && self.schema.derives_from(t, id, Derivations::default())
    }
}
