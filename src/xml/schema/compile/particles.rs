//! Particles: element, wildcard, model group and group-reference particles, with the `all` limits.

use super::*;

impl Compiler {
    /// Compile a particle (`element`, `group` ref, `sequence`, `choice`, `all`, `any`). `top`: whether
    /// it is the whole content model (where `all` may appear). `None` when it is absent (maxOccurs=0)
    /// or broken (error recorded).
    pub(super) fn particle(&mut self, doc: usize, node: &Node, top: bool) -> Option<ParticleDef> {
        let p = if self.enter(doc, node.pos) {
            self.particle_inner(doc, node, top)
        } else {
            None
        };
        self.depth -= 1;
        p
    }

    pub(super) fn particle_inner(
        &mut self,
        doc: usize,
        node: &Node,
        top: bool,
    ) -> Option<ParticleDef> {
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

    pub(super) fn wildcard(&mut self, doc: usize, node: &Node) -> Wildcard {
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
}
