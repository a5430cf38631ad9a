//! Constraining facets (Part 2 §4.3): building the effective facet set of each restriction step with
//! every derivation-time rule checked ([`Facets::derive`]), and checking values against it at validation
//! time ([`Facets::check`]).

use std::cmp::Ordering;
use std::fmt;

use super::value::Value;
use super::{Builtin, WhiteSpace, normalize, parse};
use crate::xml::regex::XsdRegex;

/// Parses and validates a lexical form against a restriction's base type completely (its facets too),
/// given the facet element's in-scope namespaces `(prefix, uri)`; supplied by the schema compiler.
pub type BaseValue<'a> = dyn Fn(&str, &[(String, String)]) -> Result<Value, String> + 'a;

/// The twelve constraining facets of XSD 1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // each variant is the facet element of the same name
pub enum FacetKind {
    Length,
    MinLength,
    MaxLength,
    Pattern,
    Enumeration,
    WhiteSpace,
    MaxInclusive,
    MaxExclusive,
    MinInclusive,
    MinExclusive,
    TotalDigits,
    FractionDigits,
}

const FACET_NAMES: [(&str, FacetKind); 12] = [
    ("length", FacetKind::Length),
    ("minLength", FacetKind::MinLength),
    ("maxLength", FacetKind::MaxLength),
    ("pattern", FacetKind::Pattern),
    ("enumeration", FacetKind::Enumeration),
    ("whiteSpace", FacetKind::WhiteSpace),
    ("maxInclusive", FacetKind::MaxInclusive),
    ("maxExclusive", FacetKind::MaxExclusive),
    ("minInclusive", FacetKind::MinInclusive),
    ("minExclusive", FacetKind::MinExclusive),
    ("totalDigits", FacetKind::TotalDigits),
    ("fractionDigits", FacetKind::FractionDigits),
];

impl FacetKind {
    /// The facet's element name in a schema.
    pub fn name(self) -> &'static str {
        FACET_NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("length", |(n, _)| n)
    }

    /// The facet with element local name `local`.
    pub fn from_name(local: &str) -> Option<FacetKind> {
        FACET_NAMES
            .iter()
            .find(|(n, _)| *n == local)
            .map(|(_, k)| *k)
    }
}

impl fmt::Display for FacetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One facet element of a restriction, as read from the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFacet {
    /// Which facet.
    pub kind: FacetKind,
    /// The `value` attribute as written.
    pub value: String,
    /// The `fixed` attribute.
    pub fixed: bool,
    /// In-scope namespaces at the facet element (for QName enumeration values): (prefix, uri), "" = default.
    pub namespaces: Vec<(String, String)>,
}

/// What kind of simple type the facets constrain (drives which facets apply and what "length" counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variety {
    /// An atomic type: the builtin it derives from (a primitive or a derived builtin).
    Atomic(Builtin),
    /// A list type: length facets count items.
    List,
    /// A union type: only pattern and enumeration apply.
    Union,
}

impl Variety {
    fn applicable(&self, kind: FacetKind) -> bool {
        use FacetKind as K;
        match self {
            Variety::Atomic(b) => b.facet_applicable(kind),
            Variety::List => matches!(
                kind,
                K::Length
                    | K::MinLength
                    | K::MaxLength
                    | K::Pattern
                    | K::Enumeration
                    | K::WhiteSpace
            ),
            Variety::Union => matches!(kind, K::Pattern | K::Enumeration),
        }
    }
}

/// A facet value with its `fixed` flag.
#[derive(Clone, Debug, PartialEq)]
pub struct Fixed<T> {
    /// The facet's value.
    pub value: T,
    /// Whether derived types may not change it.
    pub fixed: bool,
}

/// A bound facet (min/max inclusive/exclusive): the value and its lexical form for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// The bound in the value space of the base type.
    pub value: Value,
    /// The bound as written, for messages.
    pub lexical: String,
    /// Whether derived types may not change it.
    pub fixed: bool,
}

/// The effective facets of a simple type: inherited from its base and tightened by each restriction step.
#[derive(Clone, Debug, Default)]
pub struct Facets {
    /// length.
    pub length: Option<Fixed<u64>>,
    /// minLength.
    pub min_length: Option<Fixed<u64>>,
    /// maxLength.
    pub max_length: Option<Fixed<u64>>,
    /// Patterns: one inner Vec per derivation step, ORed within a step, ANDed across steps.
    pub patterns: Vec<Vec<XsdRegex>>,
    /// The enumeration of the nearest step that had one.
    pub enumeration: Option<Vec<Value>>,
    /// whiteSpace.
    pub whitespace: Option<Fixed<WhiteSpace>>,
    /// maxInclusive.
    pub max_inclusive: Option<Bound>,
    /// maxExclusive.
    pub max_exclusive: Option<Bound>,
    /// minInclusive.
    pub min_inclusive: Option<Bound>,
    /// minExclusive.
    pub min_exclusive: Option<Bound>,
    /// totalDigits.
    pub total_digits: Option<Fixed<u64>>,
    /// fractionDigits.
    pub fraction_digits: Option<Fixed<u64>>,
}

/// A facet in a restriction that breaks a rule of Part 2 §4.3 (schema error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetError {
    /// The facet at fault.
    pub facet: FacetKind,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FacetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "facet {}: {}", self.facet.name(), self.message)
    }
}

impl std::error::Error for FacetError {}

/// A value that does not satisfy a facet (validation error). Carries what was expected, not the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetViolation {
    /// The facet not satisfied.
    pub facet: FacetKind,
    /// What the facet requires, e.g. "maxLength 11", "pattern \d{11}", "one of 3 enumerated values".
    pub expected: String,
}

impl fmt::Display for FacetViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value does not satisfy {}", self.expected)
    }
}

impl std::error::Error for FacetViolation {}

fn ferr(facet: FacetKind, message: impl Into<String>) -> FacetError {
    FacetError {
        facet,
        message: message.into(),
    }
}

fn int_bound(b: i128) -> Option<Bound> {
    Some(Bound {
        value: Value::Decimal(super::Decimal::from_i128(b)),
        lexical: b.to_string(),
        fixed: false,
    })
}

/// A non-negative integer facet value (length, minLength, maxLength, totalDigits, fractionDigits).
/// Values beyond u64 saturate: no string or list is that long anyway.
fn non_negative(kind: FacetKind, raw: &str) -> Result<u64, FacetError> {
    let s = normalize(WhiteSpace::Collapse, raw);
    let digits = s.strip_prefix('+').unwrap_or(&s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ferr(kind, "the value must be a non-negative integer"));
    }
    let t = digits.trim_start_matches('0');
    Ok(if t.is_empty() {
        0
    } else {
        t.parse().unwrap_or(u64::MAX)
    })
}

impl Facets {
    /// The facets of a built-in type: whiteSpace for all, the integer types' bounds and fractionDigits 0,
    /// minLength 1 for the built-in lists. Lexical rules (name syntax, language) are enforced by
    /// [`super::parse`], not by patterns here.
    pub fn of_builtin(b: Builtin) -> Facets {
        use Builtin as B;
        let mut f = Facets::default();
        if b == B::AnySimpleType {
            return f;
        }
        let ws = b.whitespace();
        // Outside the string family whiteSpace is collapse and fixed (Part 2 §3.2).
        let ws_fixed = !b.derives_from(B::String);
        f.whitespace = Some(Fixed {
            value: ws,
            fixed: ws_fixed,
        });
        if b.list_item().is_some() {
            f.min_length = Some(Fixed {
                value: 1,
                fixed: false,
            });
            return f;
        }
        if b.derives_from(B::Integer) {
            f.fraction_digits = Some(Fixed {
                value: 0,
                fixed: true,
            });
        }
        let (lo, hi): (Option<i128>, Option<i128>) = match b {
            B::NonPositiveInteger => (None, Some(0)),
            B::NegativeInteger => (None, Some(-1)),
            B::Long => (Some(i64::MIN.into()), Some(i64::MAX.into())),
            B::Int => (Some(i32::MIN.into()), Some(i32::MAX.into())),
            B::Short => (Some(i16::MIN.into()), Some(i16::MAX.into())),
            B::Byte => (Some(i8::MIN.into()), Some(i8::MAX.into())),
            B::NonNegativeInteger => (Some(0), None),
            B::UnsignedLong => (Some(0), Some(u64::MAX.into())),
            B::UnsignedInt => (Some(0), Some(u32::MAX.into())),
            B::UnsignedShort => (Some(0), Some(u16::MAX.into())),
            B::UnsignedByte => (Some(0), Some(u8::MAX.into())),
            B::PositiveInteger => (Some(1), None),
            _ => (None, None),
        };
        f.min_inclusive = lo.and_then(int_bound);
        f.max_inclusive = hi.and_then(int_bound);
        f
    }

    /// The whiteSpace facet in effect, if any.
    pub fn whitespace(&self) -> Option<WhiteSpace> {
        self.whitespace.as_ref().map(|w| w.value)
    }

    /// Whether an enumeration is in effect.
    pub fn has_enumeration(&self) -> bool {
        self.enumeration.is_some()
    }

    /// Derive the facet set of a restriction step from `self` (the base type's effective facets) and the
    /// step's raw facets, enforcing the derivation rules of Part 2 §4.3 (with the errata): applicability,
    /// no duplicates in one step (pattern and enumeration apart), length vs min/maxLength, min <= max,
    /// inclusive/exclusive exclusion within a step, no widening of the base's bounds, fixed facets,
    /// totalDigits/fractionDigits, whiteSpace strength. `base_value` parses and validates a lexical
    /// against the base type completely (facets included), with the facet element's namespaces.
    pub fn derive(
        &self,
        variety: &Variety,
        raw: &[RawFacet],
        base_value: &BaseValue<'_>,
    ) -> Result<Facets, FacetError> {
        use FacetKind as K;
        for r in raw {
            if !variety.applicable(r.kind) {
                return Err(ferr(r.kind, "this facet does not apply to the base type"));
            }
            let repeats = raw.iter().filter(|o| o.kind == r.kind).count();
            if repeats > 1 && !matches!(r.kind, K::Pattern | K::Enumeration) {
                return Err(ferr(
                    r.kind,
                    "the facet appears more than once in one restriction",
                ));
            }
        }
        let one = |k: FacetKind| raw.iter().find(|r| r.kind == k);
        for (a, b) in [
            (K::MaxInclusive, K::MaxExclusive),
            (K::MinInclusive, K::MinExclusive),
        ] {
            if one(a).is_some() && one(b).is_some() {
                return Err(ferr(
                    b,
                    format!("{} and {} in the same restriction", a.name(), b.name()),
                ));
            }
        }
        // length with minLength/maxLength in one step (Part 2 §4.3.1.4 as amended): only when the
        // base already has that min/maxLength value and no length (restating an inherited facet).
        if one(K::Length).is_some() {
            for (kind, inherited) in [
                (K::MinLength, &self.min_length),
                (K::MaxLength, &self.max_length),
            ] {
                let Some(r) = one(kind) else { continue };
                let restated = self.length.is_none()
                    && inherited
                        .as_ref()
                        .is_some_and(|b| non_negative(kind, &r.value).is_ok_and(|v| v == b.value));
                if !restated {
                    return Err(ferr(
                        kind,
                        format!("length and {} in the same restriction", kind.name()),
                    ));
                }
            }
        }

        let mut new = self.clone();
        self.derive_lengths(raw, &mut new)?;
        self.derive_whitespace(raw, &mut new)?;
        self.derive_digits(raw, &mut new)?;
        self.derive_bounds(variety, raw, base_value, &mut new)?;

        let mut step_patterns = Vec::new();
        for r in raw.iter().filter(|r| r.kind == K::Pattern) {
            let re = XsdRegex::new(&r.value)
                .map_err(|e| ferr(K::Pattern, format!("invalid pattern: {e}")))?;
            step_patterns.push(re);
        }
        if !step_patterns.is_empty() {
            new.patterns.push(step_patterns);
        }

        let enums: Vec<&RawFacet> = raw.iter().filter(|r| r.kind == K::Enumeration).collect();
        if !enums.is_empty() {
            let mut values = Vec::with_capacity(enums.len());
            for r in enums {
                let v = base_value(&r.value, &r.namespaces).map_err(|e| {
                    ferr(
                        K::Enumeration,
                        format!("a value is not valid for the base type: {e}"),
                    )
                })?;
                values.push(v);
            }
            new.enumeration = Some(values);
        }
        Ok(new)
    }

    fn derive_lengths(&self, raw: &[RawFacet], new: &mut Facets) -> Result<(), FacetError> {
        use FacetKind as K;
        for kind in [K::Length, K::MinLength, K::MaxLength] {
            let Some(r) = raw.iter().find(|r| r.kind == kind) else {
                continue;
            };
            let v = non_negative(kind, &r.value)?;
            let (base, slot) = match kind {
                K::Length => (&self.length, &mut new.length),
                K::MinLength => (&self.min_length, &mut new.min_length),
                _ => (&self.max_length, &mut new.max_length),
            };
            if let Some(b) = base {
                if b.fixed && b.value != v {
                    return Err(ferr(
                        kind,
                        "the base type fixes this facet to another value",
                    ));
                }
                let ok = match kind {
                    K::Length => b.value == v,
                    K::MinLength => v >= b.value,
                    _ => v <= b.value,
                };
                if !ok {
                    return Err(ferr(
                        kind,
                        "the value is less restrictive than the base type's",
                    ));
                }
            }
            *slot = Some(Fixed {
                value: v,
                fixed: r.fixed,
            });
        }
        let (len, min, max) = (
            new.length.as_ref().map(|f| f.value),
            new.min_length.as_ref().map(|f| f.value),
            new.max_length.as_ref().map(|f| f.value),
        );
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            return Err(ferr(K::MinLength, "minLength is greater than maxLength"));
        }
        // Length and min/maxLength from different steps are allowed (errata E2-48) when consistent.
        if let Some(l) = len {
            if min.is_some_and(|m| m > l) {
                return Err(ferr(K::MinLength, "minLength is greater than length"));
            }
            if max.is_some_and(|m| m < l) {
                return Err(ferr(K::MaxLength, "maxLength is less than length"));
            }
        }
        Ok(())
    }

    fn derive_whitespace(&self, raw: &[RawFacet], new: &mut Facets) -> Result<(), FacetError> {
        let Some(r) = raw.iter().find(|r| r.kind == FacetKind::WhiteSpace) else {
            return Ok(());
        };
        let ws =
            WhiteSpace::from_name(&normalize(WhiteSpace::Collapse, &r.value)).ok_or_else(|| {
                ferr(
                    FacetKind::WhiteSpace,
                    "expected preserve, replace or collapse",
                )
            })?;
        if let Some(b) = &self.whitespace {
            if b.fixed && b.value != ws {
                return Err(ferr(
                    FacetKind::WhiteSpace,
                    "the base type fixes this facet to another value",
                ));
            }
            if ws < b.value {
                return Err(ferr(
                    FacetKind::WhiteSpace,
                    "whiteSpace cannot be relaxed in a restriction",
                ));
            }
        }
        new.whitespace = Some(Fixed {
            value: ws,
            fixed: r.fixed,
        });
        Ok(())
    }

    fn derive_digits(&self, raw: &[RawFacet], new: &mut Facets) -> Result<(), FacetError> {
        use FacetKind as K;
        for kind in [K::TotalDigits, K::FractionDigits] {
            let Some(r) = raw.iter().find(|r| r.kind == kind) else {
                continue;
            };
            let v = non_negative(kind, &r.value)?;
            if kind == K::TotalDigits && v == 0 {
                return Err(ferr(kind, "totalDigits must be a positive integer"));
            }
            let (base, slot) = if kind == K::TotalDigits {
                (&self.total_digits, &mut new.total_digits)
            } else {
                (&self.fraction_digits, &mut new.fraction_digits)
            };
            if let Some(b) = base {
                if b.fixed && b.value != v {
                    return Err(ferr(
                        kind,
                        "the base type fixes this facet to another value",
                    ));
                }
                if v > b.value {
                    return Err(ferr(kind, "the value is greater than the base type's"));
                }
            }
            *slot = Some(Fixed {
                value: v,
                fixed: r.fixed,
            });
        }
        if let (Some(t), Some(f)) = (&new.total_digits, &new.fraction_digits)
            && f.value > t.value
        {
            return Err(ferr(
                K::FractionDigits,
                "fractionDigits is greater than totalDigits",
            ));
        }
        Ok(())
    }

    /// The value of a bound facet: valid for the base type, or — because a bound may equal an exclusive
    /// bound of the base, which the base's own value space excludes — of the builtin's value space and
    /// every base facet except the bounds (the bound rules below then judge it).
    fn bound_value(
        &self,
        variety: &Variety,
        r: &RawFacet,
        base_value: &BaseValue<'_>,
    ) -> Result<Value, FacetError> {
        let first = match base_value(&r.value, &r.namespaces) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let bad = || {
            ferr(
                r.kind,
                format!("the value is not valid for the base type: {first}"),
            )
        };
        let Variety::Atomic(b) = variety else {
            return Err(bad());
        };
        let ws = self.whitespace().unwrap_or(b.whitespace());
        let lexical = normalize(ws, &r.value);
        let ns = |p: &str| {
            r.namespaces
                .iter()
                .find(|(q, _)| q == p)
                .map(|(_, u)| u.clone())
        };
        let v = parse(*b, &lexical, &ns).map_err(|_| bad())?;
        self.check_inner(&lexical, Subject::Value(&v), false)
            .map_err(|_| bad())?;
        Ok(v)
    }

    fn derive_bounds(
        &self,
        variety: &Variety,
        raw: &[RawFacet],
        base_value: &BaseValue<'_>,
        new: &mut Facets,
    ) -> Result<(), FacetError> {
        use FacetKind as K;
        use Ordering::{Equal, Greater, Less};
        // Each rule: (step facet, base facet, orderings of step value vs base value that are errors).
        // Part 2 §4.3.7.4, §4.3.8.4, §4.3.9.4, §4.3.10.4.
        let rules: [(K, K, &[Ordering]); 16] = [
            (K::MaxInclusive, K::MaxInclusive, &[Greater]),
            (K::MaxInclusive, K::MaxExclusive, &[Greater, Equal]),
            (K::MaxInclusive, K::MinInclusive, &[Less]),
            (K::MaxInclusive, K::MinExclusive, &[Less, Equal]),
            (K::MaxExclusive, K::MaxExclusive, &[Greater]),
            (K::MaxExclusive, K::MaxInclusive, &[Greater]),
            (K::MaxExclusive, K::MinInclusive, &[Less, Equal]),
            (K::MaxExclusive, K::MinExclusive, &[Less, Equal]),
            (K::MinExclusive, K::MinExclusive, &[Less]),
            (K::MinExclusive, K::MaxInclusive, &[Greater]),
            (K::MinExclusive, K::MinInclusive, &[Less]),
            (K::MinExclusive, K::MaxExclusive, &[Greater, Equal]),
            (K::MinInclusive, K::MinInclusive, &[Less]),
            (K::MinInclusive, K::MaxInclusive, &[Greater]),
            (K::MinInclusive, K::MinExclusive, &[Less, Equal]),
            (K::MinInclusive, K::MaxExclusive, &[Greater, Equal]),
        ];
        let mut step: Vec<(K, Bound)> = Vec::new();
        for kind in [
            K::MaxInclusive,
            K::MaxExclusive,
            K::MinInclusive,
            K::MinExclusive,
        ] {
            let Some(r) = raw.iter().find(|r| r.kind == kind) else {
                continue;
            };
            let value = self.bound_value(variety, r, base_value)?;
            if let Some(b) = self.bound(kind)
                && b.fixed
                && !b.value.same(&value)
            {
                return Err(ferr(
                    kind,
                    "the base type fixes this facet to another value",
                ));
            }
            for (s, bk, errs) in rules.iter().filter(|(s, _, _)| *s == kind) {
                if let Some(b) = self.bound(*bk)
                    && let Some(o) = value.compare(&b.value)
                    && errs.contains(&o)
                {
                    return Err(ferr(
                        *s,
                        format!("the value conflicts with the base type's {}", bk.name()),
                    ));
                }
            }
            step.push((
                kind,
                Bound {
                    value,
                    lexical: r.value.clone(),
                    fixed: r.fixed,
                },
            ));
        }
        for (kind, bound) in step {
            // A step's inclusive bound replaces the base's exclusive one on the same side (and vice versa):
            // the rules above guarantee it is at least as tight.
            match kind {
                K::MaxInclusive => (new.max_inclusive, new.max_exclusive) = (Some(bound), None),
                K::MaxExclusive => (new.max_exclusive, new.max_inclusive) = (Some(bound), None),
                K::MinInclusive => (new.min_inclusive, new.min_exclusive) = (Some(bound), None),
                _ => (new.min_exclusive, new.min_inclusive) = (Some(bound), None),
            }
        }
        // Consistency of the effective set (Part 2 §4.3.7–4.3.10 "X and Y" constraints).
        let pairs: [(K, K, &[Ordering]); 4] = [
            (K::MinInclusive, K::MaxInclusive, &[Greater]),
            (K::MinInclusive, K::MaxExclusive, &[Greater, Equal]),
            (K::MinExclusive, K::MaxInclusive, &[Greater, Equal]),
            (K::MinExclusive, K::MaxExclusive, &[Greater]),
        ];
        for (lo, hi, errs) in pairs {
            if let (Some(l), Some(h)) = (new.bound(lo), new.bound(hi))
                && let Some(o) = l.value.compare(&h.value)
                && errs.contains(&o)
            {
                return Err(ferr(
                    lo,
                    format!("{} is not below {}", lo.name(), hi.name()),
                ));
            }
        }
        Ok(())
    }

    fn bound(&self, kind: FacetKind) -> Option<&Bound> {
        match kind {
            FacetKind::MaxInclusive => self.max_inclusive.as_ref(),
            FacetKind::MaxExclusive => self.max_exclusive.as_ref(),
            FacetKind::MinInclusive => self.min_inclusive.as_ref(),
            FacetKind::MinExclusive => self.min_exclusive.as_ref(),
            _ => None,
        }
    }

    /// Check a value against all facets. `lexical` is the whitespace-normalized form (patterns use it);
    /// for a list `value` is [`Value::List`] and length facets count items; string-family lengths count
    /// characters, hexBinary/base64Binary count octets, QName/NOTATION length facets always hold (errata).
    pub fn check(&self, lexical: &str, value: &Value) -> Result<(), FacetViolation> {
        self.check_inner(lexical, Subject::Value(value), true)
    }

    /// [`Facets::check`] for a value of a string-valued builtin, which is `lexical` itself: the same
    /// answer as checking `Value::String(lexical)`, without building it.
    pub fn check_string(&self, lexical: &str) -> Result<(), FacetViolation> {
        self.check_inner(lexical, Subject::String(lexical), true)
    }

    fn check_inner(
        &self,
        lexical: &str,
        subject: Subject<'_>,
        bounds: bool,
    ) -> Result<(), FacetViolation> {
        use FacetKind as K;
        let len = match subject {
            Subject::String(s) => Some(s.chars().count() as u64),
            Subject::Value(Value::String(s) | Value::AnyUri(s)) => Some(s.chars().count() as u64),
            Subject::Value(Value::HexBinary(b) | Value::Base64Binary(b)) => Some(b.len() as u64),
            Subject::Value(Value::List(items)) => Some(items.len() as u64),
            Subject::Value(_) => None,
        };
        if let Some(n) = len {
            let v = |facet: K, expected: String| Err(FacetViolation { facet, expected });
            if let Some(l) = &self.length
                && n != l.value
            {
                return v(K::Length, format!("length {}", l.value));
            }
            if let Some(l) = &self.min_length
                && n < l.value
            {
                return v(K::MinLength, format!("minLength {}", l.value));
            }
            if let Some(l) = &self.max_length
                && n > l.value
            {
                return v(K::MaxLength, format!("maxLength {}", l.value));
            }
        }
        for step in &self.patterns {
            if !step.iter().any(|re| re.is_match(lexical)) {
                let srcs: Vec<&str> = step.iter().map(XsdRegex::as_str).collect();
                return Err(FacetViolation {
                    facet: K::Pattern,
                    expected: format!("pattern {}", srcs.join(" | ")),
                });
            }
        }
        if let Some(values) = &self.enumeration
            && !values.iter().any(|e| subject.same(e))
        {
            return Err(FacetViolation {
                facet: K::Enumeration,
                expected: format!("one of {} enumerated values", values.len()),
            });
        }
        if bounds {
            use Ordering::{Equal, Greater, Less};
            let checks: [(K, &[Ordering]); 4] = [
                (K::MaxInclusive, &[Less, Equal]),
                (K::MaxExclusive, &[Less]),
                (K::MinInclusive, &[Greater, Equal]),
                (K::MinExclusive, &[Greater]),
            ];
            for (kind, ok) in checks {
                if let Some(b) = self.bound(kind) {
                    let fine = subject.compare(&b.value).is_some_and(|o| ok.contains(&o));
                    if !fine {
                        return Err(FacetViolation {
                            facet: kind,
                            expected: format!("{} {}", kind.name(), b.lexical),
                        });
                    }
                }
            }
        }
        if let Subject::Value(Value::Decimal(d)) = subject {
            if let Some(t) = &self.total_digits
                && d.total_digits() as u64 > t.value
            {
                return Err(FacetViolation {
                    facet: K::TotalDigits,
                    expected: format!("totalDigits {}", t.value),
                });
            }
            if let Some(f) = &self.fraction_digits
                && d.fraction_digits() as u64 > f.value
            {
                return Err(FacetViolation {
                    facet: K::FractionDigits,
                    expected: format!("fractionDigits {}", f.value),
                });
            }
        }
        Ok(())
    }
}

/// What facets are checked against: a built value, or a string-valued builtin's value, which is the
/// lexical form itself (borrowed: nothing is built for it).
#[derive(Clone, Copy)]
enum Subject<'a> {
    Value(&'a Value),
    String(&'a str),
}

impl Subject<'_> {
    /// [`Value::same`], with a borrowed string standing for `Value::String`.
    fn same(self, other: &Value) -> bool {
        match self {
            Subject::Value(v) => v.same(other),
            Subject::String(s) => matches!(other, Value::String(o) if o == s),
        }
    }

    /// [`Value::compare`]: strings are unordered, so only equality answers.
    fn compare(self, other: &Value) -> Option<Ordering> {
        match self {
            Subject::Value(v) => v.compare(other),
            Subject::String(_) => self.same(other).then_some(Ordering::Equal),
        }
    }
}
