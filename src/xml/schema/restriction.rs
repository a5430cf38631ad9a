//! Derivation by restriction of complex content (XSD 1.0 §3.4.6 derivation-ok-restriction clause 5 and
//! §3.9.6 Particle Valid (Restriction)): the derived type's content must allow nothing its base forbids.
//!
//! Both particle trees are first normalised the way §3.9.6 clause 2 asks (substitution group heads become
//! choices of their members, pointless groups are dissolved); the two trees are then compared case by case
//! following the table of §3.9.6 (NameAndTypeOK, NSCompat, NSSubset, NSRecurseCheckCardinality, Recurse,
//! RecurseLax, RecurseUnordered, MapAndSum, RecurseAsIfGroup). The mappings are searched greedily, in the
//! same way common processors do, so a restriction accepted by them is accepted here.

use crate::xml::schema::compile::wildcards::wildcard_subset;
use crate::xml::schema::model::{
    ComplexType, ContentType, Derivations, ElemId, ElementDecl, ParticleDef, Schema, TermDef,
    ValueConstraintKind, Wildcard,
};

/// Check that `derived`'s content is a valid restriction of `base`'s. The error says why not.
pub fn check(schema: &Schema, derived: &ComplexType, base: &ComplexType) -> Result<(), String> {
    // Clause 5.1: anything restricts the ur-type.
    if derived.base == schema.any_type {
        return Ok(());
    }
    match (&derived.content, &base.content) {
        // Clause 5.3: empty content restricts empty content or an emptiable particle.
        (ContentType::Empty, ContentType::Empty) => Ok(()),
        (ContentType::Empty, ContentType::Elements(b)) => match normalize(schema, &b.particle) {
            Some(bp) if !emptiable(&bp) => Err(format!(
                "empty content cannot restrict {}, which is not emptiable",
                describe(schema, &bp)
            )),
            _ => Ok(()),
        },
        (ContentType::Empty, ContentType::Simple(_)) => {
            Err("empty content cannot restrict simple content".into())
        }
        // Clause 5.2: simple content restricts simple content (checked with the simple type) or mixed,
        // emptiable content.
        (ContentType::Simple(_), ContentType::Simple(_)) => Ok(()),
        (ContentType::Simple(_), ContentType::Elements(b)) => {
            if !b.mixed {
                return Err("simple content cannot restrict element-only content".into());
            }
            match normalize(schema, &b.particle) {
                Some(bp) if !emptiable(&bp) => Err(format!(
                    "simple content cannot restrict {}, which is not emptiable",
                    describe(schema, &bp)
                )),
                _ => Ok(()),
            }
        }
        (ContentType::Simple(_), ContentType::Empty) => {
            Err("simple content cannot restrict empty content".into())
        }
        (ContentType::Elements(_), ContentType::Simple(_)) => {
            Err("the base type has simple content".into())
        }
        (ContentType::Elements(d), ContentType::Empty) => match normalize(schema, &d.particle) {
            // Mixed content cannot restrict empty content even without elements: it allows text.
            None if !d.mixed => Ok(()),
            _ => Err("the base type has empty content".into()),
        },
        // Clause 5.4.
        (ContentType::Elements(d), ContentType::Elements(b)) => {
            if d.mixed && !b.mixed {
                return Err("mixed content cannot restrict element-only content".into());
            }
            particles(schema, Some(&d.particle), Some(&b.particle))
        }
    }
}

/// Particle Valid (Restriction) between two model groups, either of which may be absent (empty).
/// Also used for a group redefined without a self-reference, which must restrict the original
/// (src-redefine.6.2.2).
pub fn particles(
    schema: &Schema,
    derived: Option<&ParticleDef>,
    base: Option<&ParticleDef>,
) -> Result<(), String> {
    match (
        derived.and_then(|d| normalize(schema, d)),
        base.and_then(|b| normalize(schema, b)),
    ) {
        (None, None) => Ok(()),
        (None, Some(bp)) => {
            if emptiable(&bp) {
                Ok(())
            } else {
                Err(format!(
                    "empty content cannot restrict {}, which is not emptiable",
                    describe(schema, &bp)
                ))
            }
        }
        (Some(dp), None) => Err(format!(
            "{} is not in the base's (empty) content model",
            describe(schema, &dp)
        )),
        (Some(dp), Some(bp)) => restricts(schema, &dp, &bp),
    }
}

/// A particle after the normalisation of §3.9.6 clause 2.
#[derive(Clone, Debug)]
struct Part {
    min: u64,
    /// `None` = unbounded
    max: Option<u64>,
    term: Term,
}

#[derive(Clone, Debug)]
enum Term {
    Element(ElemId),
    Wildcard(Wildcard),
    Group(Kind, Vec<Part>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sequence,
    Choice,
    All,
}

/// Normalise a particle: `None` when it is pointless and empty (it then matches nothing and is dropped).
fn normalize(schema: &Schema, p: &ParticleDef) -> Option<Part> {
    let (min, max) = (u64::from(p.min), p.max.map(u64::from));
    let (kind, children) = match &p.term {
        TermDef::Element(e) => {
            let members = substitutable(schema, *e);
            // Clause 2.1: a head with members stands for the choice of itself and its members. A choice's
            // order does not matter, so alternatives go by declaration, making both sides' orders agree.
            if !members.is_empty() {
                let one = |e: ElemId| Part {
                    min: 1,
                    max: Some(1),
                    term: Term::Element(e),
                };
                let mut ids: Vec<ElemId> = std::iter::once(*e).chain(members).collect();
                ids.sort_unstable();
                let alts = ids.into_iter().map(one).collect();
                return Some(Part {
                    min,
                    max,
                    term: Term::Group(Kind::Choice, alts),
                });
            }
            return Some(Part {
                min,
                max,
                term: Term::Element(*e),
            });
        }
        TermDef::Wildcard(w) => {
            return Some(Part {
                min,
                max,
                term: Term::Wildcard(w.clone()),
            });
        }
        TermDef::Sequence(v) => (Kind::Sequence, v),
        TermDef::Choice(v) => (Kind::Choice, v),
        TermDef::All(v) => (Kind::All, v),
    };
    let mut items = Vec::new();
    for c in children {
        let Some(n) = normalize(schema, c) else {
            continue;
        };
        match n.term {
            // Clause 2.2.2: a 1..1 group directly inside a group of its kind is pointless.
            Term::Group(k, inner) if k == kind && n.min == 1 && n.max == Some(1) => {
                items.extend(inner)
            }
            term => items.push(Part { term, ..n }),
        }
    }
    if items.is_empty() && (kind != Kind::Choice || min == 0) {
        return None;
    }
    if items.len() == 1 && min == 1 && max == Some(1) {
        return items.pop();
    }
    Some(Part {
        min,
        max,
        term: Term::Group(kind, items),
    })
}

/// Effective total range (§3.8.6 for sequence/all and choice), saturating.
fn total_range(p: &Part) -> (u64, Option<u64>) {
    match &p.term {
        Term::Element(_) | Term::Wildcard(_) => (p.min, p.max),
        Term::Group(kind, items) => {
            let ranges: Vec<(u64, Option<u64>)> = items.iter().map(total_range).collect();
            let (lo, hi) = match kind {
                Kind::Sequence | Kind::All => (
                    ranges.iter().fold(0u64, |a, r| a.saturating_add(r.0)),
                    ranges
                        .iter()
                        .try_fold(0u64, |a, r| r.1.map(|m| a.saturating_add(m))),
                ),
                Kind::Choice => (
                    ranges.iter().map(|r| r.0).min().unwrap_or(0),
                    ranges.iter().try_fold(0u64, |a, r| r.1.map(|m| a.max(m))),
                ),
            };
            let max = match (hi, p.max) {
                (Some(0), _) => Some(0),
                (Some(h), Some(m)) => Some(h.saturating_mul(m)),
                _ => None,
            };
            (p.min.saturating_mul(lo), max)
        }
    }
}

fn emptiable(p: &Part) -> bool {
    total_range(p).0 == 0
}

/// Occurrence Range OK (§3.9.6): `r` lies within `b`.
fn range_ok(r: (u64, Option<u64>), b: (u64, Option<u64>)) -> Result<(), String> {
    if r.0 < b.0 {
        return Err(format!("minOccurs {} is less than the base's {}", r.0, b.0));
    }
    match (r.1, b.1) {
        (_, None) => Ok(()),
        (None, Some(m)) => Err(format!("maxOccurs unbounded exceeds the base's {m}")),
        (Some(x), Some(m)) if x > m => Err(format!("maxOccurs {x} exceeds the base's {m}")),
        _ => Ok(()),
    }
}

fn describe(schema: &Schema, p: &Part) -> String {
    match &p.term {
        Term::Element(e) => match schema.elements.get(*e) {
            Some(d) => format!("element '{}'", d.name.local),
            None => "an element".into(),
        },
        Term::Wildcard(_) => "a wildcard".into(),
        Term::Group(Kind::Sequence, _) => "a sequence".into(),
        Term::Group(Kind::Choice, items) => {
            // A substitution group stands for its head: name it.
            match items.first().map(|i| &i.term) {
                Some(Term::Element(e)) if is_head_choice(schema, *e, items.len()) => {
                    format!(
                        "element '{}' (with its substitution group)",
                        elem_name(schema, *e)
                    )
                }
                _ => "a choice".into(),
            }
        }
        Term::Group(Kind::All, _) => "an all group".into(),
    }
}

fn is_head_choice(schema: &Schema, e: ElemId, n: usize) -> bool {
    let m = substitutable(schema, e).len();
    m > 0 && m + 1 == n
}

/// The members that may really take a global head's place: none when the head blocks substitution, and
/// only those whose type derivation the head does not block.
fn substitutable(schema: &Schema, head: ElemId) -> Vec<ElemId> {
    let Some(h) = schema
        .elements
        .get(head)
        .filter(|h| h.global && !h.block.substitution)
    else {
        return Vec::new();
    };
    let members = schema
        .substitutes
        .get(head)
        .map(Vec::as_slice)
        .unwrap_or_default();
    members
        .iter()
        .copied()
        .filter(|m| {
            schema
                .elements
                .get(*m)
                .is_some_and(|d| schema.derives_from(d.type_, h.type_, h.block))
        })
        .collect()
}

fn elem_name(schema: &Schema, e: ElemId) -> String {
    schema
        .elements
        .get(e)
        .map(|d| d.name.local.clone())
        .unwrap_or_default()
}

/// Particle Valid (Restriction): whether `r` is a valid restriction of `b`.
fn restricts(schema: &Schema, r: &Part, b: &Part) -> Result<(), String> {
    match (&r.term, &b.term) {
        (Term::Element(re), Term::Element(be)) => name_and_type_ok(schema, r, *re, b, *be),
        (Term::Element(re), Term::Wildcard(w)) => {
            // NSCompat.
            let ns = schema.elements.get(*re).and_then(|d| d.name.ns.as_deref());
            if !w.ns.allows(ns) {
                return Err(format!(
                    "{} is not allowed by the base's wildcard namespaces",
                    describe(schema, r)
                ));
            }
            range_ok((r.min, r.max), (b.min, b.max))
                .map_err(|m| format!("{}: {m}", describe(schema, r)))
        }
        (Term::Element(_), Term::Group(kind, _)) => {
            // RecurseAsIfGroup: the element as a 1..1 group of the base's kind.
            let group = Part {
                min: 1,
                max: Some(1),
                term: Term::Group(*kind, vec![r.clone()]),
            };
            restricts(schema, &group, b)
        }
        (Term::Wildcard(rw), Term::Wildcard(bw)) => {
            // NSSubset.
            range_ok((r.min, r.max), (b.min, b.max)).map_err(|m| format!("wildcard: {m}"))?;
            if !wildcard_subset(rw, bw) {
                return Err("a wildcard allows namespaces the base's wildcard does not".into());
            }
            if rw.process < bw.process {
                return Err("a wildcard's processContents is weaker than the base's".into());
            }
            Ok(())
        }
        (Term::Wildcard(_), _) => Err(format!(
            "a wildcard cannot restrict {}",
            describe(schema, b)
        )),
        (Term::Group(_, items), Term::Wildcard(_)) => {
            // NSRecurseCheckCardinality.
            range_ok(total_range(r), (b.min, b.max))
                .map_err(|m| format!("{}: {m}", describe(schema, r)))?;
            // Each member is checked against the wildcard term: the cardinality was checked as a whole.
            let any_count = Part {
                min: 0,
                max: None,
                term: b.term.clone(),
            };
            items
                .iter()
                .try_for_each(|i| restricts(schema, i, &any_count))
        }
        (Term::Group(_, _), Term::Element(_)) => Err(format!(
            "{} cannot restrict {}",
            describe(schema, r),
            describe(schema, b)
        )),
        (Term::Group(rk, ri), Term::Group(bk, bi)) => match (rk, bk) {
            (Kind::Sequence, Kind::Sequence) | (Kind::All, Kind::All) => {
                range_ok((r.min, r.max), (b.min, b.max))
                    .map_err(|m| format!("{}: {m}", describe(schema, r)))?;
                recurse(schema, ri, bi)
            }
            (Kind::Choice, Kind::Choice) => {
                range_ok((r.min, r.max), (b.min, b.max))
                    .map_err(|m| format!("{}: {m}", describe(schema, r)))?;
                recurse_lax(schema, ri, bi)
            }
            (Kind::Sequence, Kind::All) => {
                range_ok((r.min, r.max), (b.min, b.max))
                    .map_err(|m| format!("{}: {m}", describe(schema, r)))?;
                recurse_unordered(schema, ri, bi)
            }
            (Kind::Sequence, Kind::Choice) => {
                let n = ri.len() as u64;
                let range = (r.min.saturating_mul(n), r.max.map(|m| m.saturating_mul(n)));
                range_ok(range, (b.min, b.max))
                    .map_err(|m| format!("{}: {m}", describe(schema, r)))?;
                map_and_sum(schema, ri, bi)
            }
            _ => Err(format!(
                "{} cannot restrict {}",
                describe(schema, r),
                describe(schema, b)
            )),
        },
    }
}

/// The error to report when `r` maps onto none of `bs`: the most specific one, from a base particle
/// of the same name, if any.
fn no_match(schema: &Schema, r: &Part, tried: Vec<(usize, String)>, bs: &[Part]) -> String {
    if let Term::Element(re) = &r.term {
        let name = schema.elements.get(*re).map(|d| &d.name);
        for (i, m) in &tried {
            if let Some(Term::Element(be)) = bs.get(*i).map(|b| &b.term)
                && schema.elements.get(*be).map(|d| &d.name) == name
            {
                return m.clone();
            }
        }
    }
    if tried.len() == 1
        && let Some((_, m)) = tried.into_iter().next()
    {
        return m;
    }
    format!(
        "{} is not in the base's content model (or not in the base's order)",
        describe(schema, r)
    )
}

/// Recurse (sequence:sequence, all:all): an order-preserving mapping; skipped base particles must be
/// emptiable.
fn recurse(schema: &Schema, rs: &[Part], bs: &[Part]) -> Result<(), String> {
    let mut j = 0;
    'outer: for r in rs {
        let mut tried = Vec::new();
        while let Some(b) = bs.get(j) {
            j += 1;
            match restricts(schema, r, b) {
                Ok(()) => continue 'outer,
                Err(m) => {
                    tried.push((j - 1, m));
                    if !emptiable(b) {
                        return Err(no_match(schema, r, tried, bs));
                    }
                }
            }
        }
        return Err(no_match(schema, r, tried, bs));
    }
    unmapped_emptiable(schema, bs.get(j..).unwrap_or_default().iter())
}

fn unmapped_emptiable<'a>(
    schema: &Schema,
    mut rest: impl Iterator<Item = &'a Part>,
) -> Result<(), String> {
    match rest.find(|b| !emptiable(b)) {
        Some(b) => Err(format!(
            "{} of the base is required but missing from the restriction",
            describe(schema, b)
        )),
        None => Ok(()),
    }
}

/// RecurseLax (choice:choice): an order-preserving mapping, no emptiability required.
fn recurse_lax(schema: &Schema, rs: &[Part], bs: &[Part]) -> Result<(), String> {
    let mut j = 0;
    for r in rs {
        let mut tried = Vec::new();
        let mut found = None;
        for (k, b) in bs.iter().enumerate().skip(j) {
            match restricts(schema, r, b) {
                Ok(()) => {
                    found = Some(k);
                    break;
                }
                Err(m) => tried.push((k, m)),
            }
        }
        match found {
            // The next derived particle may map to the same base particle.
            Some(k) => j = k,
            None => return Err(no_match(schema, r, tried, bs)),
        }
    }
    Ok(())
}

/// RecurseUnordered (sequence restricting all): each base particle used at most once, the rest emptiable.
fn recurse_unordered(schema: &Schema, rs: &[Part], bs: &[Part]) -> Result<(), String> {
    let mut used = vec![false; bs.len()];
    for r in rs {
        let mut tried = Vec::new();
        let mut found = false;
        for (k, b) in bs.iter().enumerate() {
            if used.get(k).copied().unwrap_or(true) {
                continue;
            }
            match restricts(schema, r, b) {
                Ok(()) => {
                    if let Some(u) = used.get_mut(k) {
                        *u = true;
                    }
                    found = true;
                    break;
                }
                Err(m) => tried.push((k, m)),
            }
        }
        if !found {
            return Err(no_match(schema, r, tried, bs));
        }
    }
    unmapped_emptiable(
        schema,
        bs.iter().zip(&used).filter(|(_, u)| !**u).map(|(b, _)| b),
    )
}

/// MapAndSum (sequence restricting choice): each derived particle restricts some base alternative.
fn map_and_sum(schema: &Schema, rs: &[Part], bs: &[Part]) -> Result<(), String> {
    for r in rs {
        let mut tried = Vec::new();
        if !bs
            .iter()
            .enumerate()
            .any(|(k, b)| match restricts(schema, r, b) {
                Ok(()) => true,
                Err(m) => {
                    tried.push((k, m));
                    false
                }
            })
        {
            return Err(no_match(schema, r, tried, bs));
        }
    }
    Ok(())
}

/// NameAndTypeOK: element declaration restricting element declaration.
fn name_and_type_ok(
    schema: &Schema,
    r: &Part,
    re: ElemId,
    b: &Part,
    be: ElemId,
) -> Result<(), String> {
    let (Some(rd), Some(bd)) = (schema.elements.get(re), schema.elements.get(be)) else {
        return Err("unknown element declaration".into());
    };
    let name = &rd.name.local;
    if rd.name != bd.name {
        return Err(format!(
            "element '{name}' is not in the base's content model (found '{}')",
            bd.name.local
        ));
    }
    range_ok((r.min, r.max), (b.min, b.max)).map_err(|m| format!("element '{name}': {m}"))?;
    if re == be {
        // Clause 1: the same declaration.
        return Ok(());
    }
    if rd.nillable && !bd.nillable {
        return Err(format!(
            "element '{name}' is nillable but the base's is not"
        ));
    }
    fixed_ok(rd, bd).map_err(|m| format!("element '{name}': {m}"))?;
    for idc in &rd.identity_constraints {
        let idc_name = schema.identity_constraints.get(*idc).map(|c| &c.name);
        let in_base = bd
            .identity_constraints
            .iter()
            .any(|b| b == idc || schema.identity_constraints.get(*b).map(|c| &c.name) == idc_name);
        if !in_base {
            return Err(format!(
                "element '{name}' has an identity constraint the base's declaration lacks"
            ));
        }
    }
    let (rb, bb) = (rd.block, bd.block);
    if (bb.extension && !rb.extension)
        || (bb.restriction && !rb.restriction)
        || (bb.substitution && !rb.substitution)
    {
        return Err(format!(
            "element '{name}' blocks less than the base's declaration"
        ));
    }
    let blocked = Derivations {
        extension: true,
        list: true,
        union: true,
        ..Derivations::default()
    };
    if !schema.derives_from(rd.type_, bd.type_, blocked) {
        return Err(format!(
            "the type of element '{name}' ({}) is not derived by restriction from the base's ({})",
            schema.type_name(rd.type_),
            schema.type_name(bd.type_)
        ));
    }
    Ok(())
}

/// Clause 4 of NameAndTypeOK: a fixed value in the base must be kept, with the same value.
fn fixed_ok(rd: &ElementDecl, bd: &ElementDecl) -> Result<(), String> {
    let Some(bf) = bd
        .value_constraint
        .as_ref()
        .filter(|v| v.kind == ValueConstraintKind::Fixed)
    else {
        return Ok(());
    };
    match rd
        .value_constraint
        .as_ref()
        .filter(|v| v.kind == ValueConstraintKind::Fixed)
    {
        None => Err(format!(
            "the base fixes the value '{}' but the restriction does not",
            bf.lexical
        )),
        Some(rf) => {
            let same = match (&rf.value, &bf.value) {
                (Some(x), Some(y)) => x.same(y),
                _ => rf.lexical.trim() == bf.lexical.trim(),
            };
            if same {
                Ok(())
            } else {
                Err(format!(
                    "fixed value '{}' differs from the base's '{}'",
                    rf.lexical, bf.lexical
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::xml::schema::Schema;

    /// A schema with base type `B` (content `base`) and `R` restricting it (content `derived`), plus
    /// `extra` top-level declarations.
    fn schema(base: &str, derived: &str, extra: &str) -> Result<(), String> {
        let text = format!(
            r###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t">
  <xs:complexType name="B">{base}</xs:complexType>
  <xs:complexType name="R"><xs:complexContent><xs:restriction base="t:B">{derived}</xs:restriction></xs:complexContent></xs:complexType>
  {extra}
</xs:schema>"###
        );
        Schema::from_str(&text, Path::new("."))
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    fn ok(base: &str, derived: &str) {
        if let Err(e) = schema(base, derived, "") {
            panic!("expected a valid restriction, got {e}");
        }
    }

    fn bad(base: &str, derived: &str, needle: &str) {
        bad_with(base, derived, "", needle);
    }

    fn bad_with(base: &str, derived: &str, extra: &str, needle: &str) {
        match schema(base, derived, extra) {
            Ok(()) => panic!("expected an invalid restriction"),
            Err(e) => assert!(e.contains(needle), "message {e} lacks {needle}"),
        }
    }

    #[test]
    fn name_and_type_ok() {
        let base = r###"<xs:sequence><xs:element name="a" type="xs:decimal" maxOccurs="3"/></xs:sequence>"###;
        ok(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:integer" maxOccurs="2"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="b" type="xs:integer"/></xs:sequence>"###,
            "'b'",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:string"/></xs:sequence>"###,
            "not derived by restriction",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:integer" maxOccurs="5"/></xs:sequence>"###,
            "maxOccurs 5 exceeds the base's 3",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:integer" nillable="true"/></xs:sequence>"###,
            "nillable",
        );
    }

    #[test]
    fn name_and_type_fixed_and_block() {
        let base = r###"<xs:sequence><xs:element name="a" type="xs:int" fixed="1" block="extension"/></xs:sequence>"###;
        ok(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:int" fixed="01" block="#all"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:int" fixed="2" block="extension"/></xs:sequence>"###,
            "fixed value",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:int" block="extension"/></xs:sequence>"###,
            "fixes the value",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a" type="xs:int" fixed="1"/></xs:sequence>"###,
            "blocks less",
        );
    }

    #[test]
    fn ns_compat_and_subset() {
        let base = r###"<xs:sequence><xs:any namespace="##targetNamespace" processContents="lax" maxOccurs="2"/></xs:sequence>"###;
        ok(
            base,
            r###"<xs:sequence><xs:element name="a" form="qualified" maxOccurs="2"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
            "wildcard namespaces",
        );
        ok(
            base,
            r###"<xs:sequence><xs:any namespace="urn:t" processContents="strict"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:any namespace="##any"/></xs:sequence>"###,
            "namespaces the base's wildcard does not",
        );
        bad(
            base,
            r###"<xs:sequence><xs:any namespace="##targetNamespace" processContents="skip"/></xs:sequence>"###,
            "weaker",
        );
        bad(
            base,
            r###"<xs:sequence><xs:any namespace="##targetNamespace" maxOccurs="3"/></xs:sequence>"###,
            "maxOccurs 3",
        );
        // A wildcard never restricts an element.
        bad(
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
            r###"<xs:sequence><xs:any/></xs:sequence>"###,
            "wildcard cannot restrict",
        );
    }

    #[test]
    fn ns_recurse_check_cardinality() {
        let base = r###"<xs:sequence><xs:any namespace="##any" minOccurs="2" maxOccurs="4"/></xs:sequence>"###;
        ok(
            base,
            r###"<xs:choice minOccurs="2" maxOccurs="2"><xs:element name="a" maxOccurs="2"/><xs:element name="b"/></xs:choice>"###,
        );
        ok(
            base,
            r###"<xs:sequence><xs:element name="a"/><xs:element name="b" maxOccurs="3"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a"/><xs:element name="b" maxOccurs="4"/></xs:sequence>"###,
            "maxOccurs 5 exceeds the base's 4",
        );
        bad(
            base,
            r###"<xs:choice><xs:element name="a" minOccurs="2" maxOccurs="2"/><xs:element name="b"/></xs:choice>"###,
            "minOccurs 1 is less than the base's 2",
        );
    }

    #[test]
    fn recurse_sequence() {
        let base = r###"<xs:sequence><xs:element name="a"/><xs:element name="b" minOccurs="0"/><xs:element name="c"/></xs:sequence>"###;
        ok(
            base,
            r###"<xs:sequence><xs:element name="a"/><xs:element name="c"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
            "element 'c' of the base is required",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="c"/><xs:element name="a"/></xs:sequence>"###,
            "'c'",
        );
        bad(
            base,
            r###"<xs:sequence minOccurs="0"><xs:element name="a"/><xs:element name="c"/></xs:sequence>"###,
            "minOccurs 0",
        );
    }

    #[test]
    fn recurse_all() {
        let base =
            r###"<xs:all><xs:element name="a"/><xs:element name="b" minOccurs="0"/></xs:all>"###;
        ok(base, r###"<xs:all><xs:element name="a"/></xs:all>"###);
        bad(
            base,
            r###"<xs:all><xs:element name="b"/></xs:all>"###,
            "'a'",
        );
        // Sequence restricting all: RecurseUnordered.
        ok(
            base,
            r###"<xs:sequence><xs:element name="b"/><xs:element name="a"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="b"/></xs:sequence>"###,
            "'b'",
        );
        bad(
            r###"<xs:all><xs:element name="a" minOccurs="0"/></xs:all>"###,
            r###"<xs:sequence><xs:element name="a"/><xs:element name="a" minOccurs="0"/></xs:sequence>"###,
            "'a'",
        );
        // Choice never restricts all.
        bad(
            base,
            r###"<xs:choice><xs:element name="a"/><xs:element name="b"/></xs:choice>"###,
            "cannot restrict",
        );
    }

    #[test]
    fn recurse_lax_choice() {
        let base = r###"<xs:choice maxOccurs="2"><xs:element name="a"/><xs:element name="b"/><xs:element name="c"/></xs:choice>"###;
        ok(
            base,
            r###"<xs:choice><xs:element name="a"/><xs:element name="c"/></xs:choice>"###,
        );
        bad(
            base,
            r###"<xs:choice><xs:element name="c"/><xs:element name="a"/></xs:choice>"###,
            "'a'",
        );
        bad(
            base,
            r###"<xs:choice maxOccurs="3"><xs:element name="a"/><xs:element name="b"/></xs:choice>"###,
            "maxOccurs 3",
        );
    }

    #[test]
    fn map_and_sum() {
        let base = r###"<xs:choice maxOccurs="4"><xs:element name="a"/><xs:element name="b"/></xs:choice>"###;
        ok(
            base,
            r###"<xs:sequence maxOccurs="2"><xs:element name="b"/><xs:element name="a"/></xs:sequence>"###,
        );
        bad(
            base,
            r###"<xs:sequence maxOccurs="3"><xs:element name="b"/><xs:element name="a"/></xs:sequence>"###,
            "maxOccurs 6 exceeds",
        );
        bad(
            base,
            r###"<xs:sequence><xs:element name="b"/><xs:element name="x"/></xs:sequence>"###,
            "'x'",
        );
    }

    #[test]
    fn recurse_as_if_group() {
        let base = r###"<xs:sequence><xs:element name="a"/><xs:element name="b" minOccurs="0"/></xs:sequence>"###;
        // The derived sequence with one 1..1 child is pointless: it is just the element.
        ok(
            base,
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
        );
        ok(
            r###"<xs:choice><xs:element name="a"/><xs:element name="b"/></xs:choice>"###,
            r###"<xs:sequence><xs:element name="b"/></xs:sequence>"###,
        );
        bad(
            r###"<xs:choice><xs:element name="a"/><xs:element name="b"/></xs:choice>"###,
            r###"<xs:sequence><xs:element name="b" maxOccurs="2"/></xs:sequence>"###,
            "maxOccurs 2",
        );
    }

    #[test]
    fn pointless_groups_are_flattened() {
        ok(
            r###"<xs:sequence><xs:element name="a"/><xs:sequence><xs:element name="b"/><xs:element name="c"/></xs:sequence></xs:sequence>"###,
            r###"<xs:sequence><xs:sequence><xs:element name="a"/><xs:element name="b"/></xs:sequence><xs:element name="c"/></xs:sequence>"###,
        );
        ok(
            r###"<xs:choice><xs:element name="a"/><xs:choice><xs:element name="b"/><xs:element name="c"/></xs:choice></xs:choice>"###,
            r###"<xs:choice><xs:element name="a"/><xs:element name="c"/></xs:choice>"###,
        );
        // Not pointless (maxOccurs 2), so the structures differ and the sequence cannot restrict the element.
        bad(
            r###"<xs:sequence><xs:element name="a" maxOccurs="2"/></xs:sequence>"###,
            r###"<xs:sequence><xs:sequence maxOccurs="2"><xs:element name="a"/></xs:sequence></xs:sequence>"###,
            "cannot restrict",
        );
    }

    #[test]
    fn substitution_groups_are_choices() {
        let extra = r###"<xs:element name="h" type="xs:decimal"/>
  <xs:element name="m" type="xs:integer" substitutionGroup="t:h"/>
  <xs:element name="n" type="xs:string"/>"###;
        let base = r###"<xs:sequence><xs:element ref="t:h"/></xs:sequence>"###;
        assert!(
            schema(
                base,
                r###"<xs:sequence><xs:element ref="t:m"/></xs:sequence>"###,
                extra
            )
            .is_ok()
        );
        assert!(
            schema(
                base,
                r###"<xs:sequence><xs:element ref="t:h"/></xs:sequence>"###,
                extra
            )
            .is_ok()
        );
        bad_with(
            base,
            r###"<xs:sequence><xs:element ref="t:n"/></xs:sequence>"###,
            extra,
            "'n'",
        );
    }

    #[test]
    fn blocked_substitution_members_do_not_count() {
        let extra = r###"<xs:element name="a" substitutionGroup="t:b"/>
  <xs:element name="b" substitutionGroup="t:c"/>
  <xs:element name="c" substitutionGroup="t:d" block="substitution"/>
  <xs:element name="d"/>"###;
        let base = r###"<xs:sequence><xs:element ref="t:d"/></xs:sequence>"###;
        let derived =
            r###"<xs:sequence><xs:choice><xs:element ref="t:c"/></xs:choice></xs:sequence>"###;
        assert!(schema(base, derived, extra).is_ok());
    }

    #[test]
    fn emptiable_and_mixed() {
        ok(
            r###"<xs:sequence><xs:element name="a" minOccurs="0"/></xs:sequence>"###,
            "",
        );
        bad(
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
            "",
            "not emptiable",
        );
        bad(
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
            r###"<xs:sequence/>"###,
            "not emptiable",
        );
        ok("", "");
        bad(
            "",
            r###"<xs:sequence><xs:element name="a"/></xs:sequence>"###,
            "(empty) content model",
        );
        ok(
            r###"<xs:sequence><xs:element name="a" minOccurs="0"/></xs:sequence>"###,
            r###"<xs:sequence/>"###,
        );
    }

    #[test]
    fn mixed_rules() {
        let text = |bm: &str, dm: &str| {
            format!(
                r###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="B" mixed="{bm}"><xs:sequence><xs:element name="a" minOccurs="0"/></xs:sequence></xs:complexType>
  <xs:complexType name="R" mixed="{dm}"><xs:complexContent><xs:restriction base="B"><xs:sequence><xs:element name="a" minOccurs="0"/></xs:sequence></xs:restriction></xs:complexContent></xs:complexType>
</xs:schema>"###
            )
        };
        assert!(Schema::from_str(&text("true", "false"), Path::new(".")).is_ok());
        assert!(Schema::from_str(&text("true", "true"), Path::new(".")).is_ok());
        assert!(Schema::from_str(&text("false", "true"), Path::new(".")).is_err());
    }

    #[test]
    fn any_type_accepts_everything() {
        let text = r###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="R"><xs:complexContent><xs:restriction base="xs:anyType">
    <xs:sequence><xs:element name="a" maxOccurs="unbounded"/><xs:any namespace="##other" processContents="skip"/></xs:sequence>
  </xs:restriction></xs:complexContent></xs:complexType>
</xs:schema>"###;
        assert!(Schema::from_str(text, Path::new(".")).is_ok());
    }
}
