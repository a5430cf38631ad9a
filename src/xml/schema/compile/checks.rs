//! The checks that need every component: substitution groups, content-model automata with UPA,
//! Element Declarations Consistent, default/fixed values, keyref targets and restrictions.

use super::*;

impl Compiler {
    pub(super) fn check_all(&mut self) {
        self.check_substitution_groups();
        self.check_restricting_redefines();
        self.build_content_models();
        self.check_value_constraints();
        self.check_keyrefs();
        self.check_restrictions();
    }

    pub(super) fn check_substitution_groups(&mut self) {
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

    pub(super) fn chain_len(&self, e: ElemId) -> usize {
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
    pub(super) fn leaf_names(&self, e: ElemId) -> Vec<QName> {
        let mut v = vec![self.schema.elements[e].name.clone()];
        for s in &self.schema.substitutes[e] {
            if self.schema.can_substitute(e, *s) {
                v.push(self.schema.elements[*s].name.clone());
            }
        }
        v
    }

    pub(super) fn build_content_models(&mut self) {
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

    pub(super) fn to_automaton_particle(
        &self,
        p: &ParticleDef,
        leaves: &mut Vec<LeafTerm>,
    ) -> Particle {
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

    pub(super) fn check_value_constraints(&mut self) {
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
    pub(super) fn check_constraint_value(
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

    pub(super) fn check_keyrefs(&mut self) {
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

    pub(super) fn check_restrictions(&mut self) {
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
