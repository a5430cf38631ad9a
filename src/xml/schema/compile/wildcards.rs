//! Namespace-constraint set operations on wildcards (XSD 1.0 §3.10.6): overlap, subset, union and
//! intersection.

use crate::xml::schema::model::{NsConstraint, Wildcard};

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
