//! Loading: documents through include, import and redefine, registration of top-level components,
//! and resolution of QName references (with a redefinition's self-reference meaning the original).

use super::*;

impl Compiler {
    /// Load a document; returns its index. `chameleon`: the namespace an included document without a
    /// target namespace adopts. Errors are recorded; `None` when nothing could be loaded.
    pub(super) fn load(
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

    pub(super) fn register_all(&mut self) {
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

    pub(super) fn refers_to_itself(&self, kind: Kind, src: &Src) -> bool {
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
    pub(super) fn check_restricting_redefines(&mut self) {
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

    pub(super) fn attribute_group_restricts(
        &self,
        new: &AttrAcc,
        old: &AttrAcc,
    ) -> Result<(), String> {
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
    pub(super) fn check_redefine_self_ref(&mut self, kind: Kind, src: &Src) {
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

    pub(super) fn register(&mut self, kind: Kind, qn: QName, src: Src) {
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
    pub(super) fn resolve_qname(&self, doc: usize, node: &Node, value: &str) -> Option<QName> {
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

    pub(super) fn lookup(
        &mut self,
        doc: usize,
        node: &Node,
        attr: &str,
        kind: Kind,
    ) -> Option<(QName, Src)> {
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

    pub(super) fn redefine_context(&self, _doc: usize, qn: &QName, kind: Kind) -> Option<QName> {
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
}
