//! Values of the XSD 1.0 value spaces and how they compare (Part 2 §2.2 and the per-type "order" and
//! "equality" sections): exact decimals, durations as (months, seconds), the seven-property date/time
//! model with an optional timezone, and the partial orders of §3.2.6.2 and §3.2.7.4.

use std::cmp::Ordering;
use std::fmt;

/// An arbitrary-precision decimal number, kept normalized so that derived equality is value equality:
/// no leading zeros in the integer digits, no trailing zeros in the fraction digits, zero is never negative.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    negative: bool,
    /// Integer digits, ASCII, without leading zeros ("" for zero).
    int: String,
    /// Fraction digits, ASCII, without trailing zeros.
    frac: String,
}

impl Decimal {
    /// Build from a sign and ASCII digit strings (callers guarantee digits only; others are dropped).
    pub fn from_parts(negative: bool, int_digits: &str, frac_digits: &str) -> Decimal {
        // One allocation per non-empty part (this runs for every decimal, integer and date in a
        // message); digits-only input, the callers' promise, is taken as it is.
        let digits = |s: &str| match s.bytes().all(|b| b.is_ascii_digit()) {
            true => s.to_owned(),
            false => s.chars().filter(char::is_ascii_digit).collect(),
        };
        let int = digits(int_digits.trim_start_matches(|c: char| !c.is_ascii_digit() || c == '0'));
        let frac = digits(frac_digits.trim_end_matches(|c: char| !c.is_ascii_digit() || c == '0'));
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Decimal {
            negative,
            int,
            frac,
        }
    }

    /// The decimal with value `n`.
    pub fn from_i128(n: i128) -> Decimal {
        Decimal::from_parts(n < 0, &n.unsigned_abs().to_string(), "")
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.int.is_empty() && self.frac.is_empty()
    }

    /// True for values below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// True when there is no fractional part.
    pub fn is_integer(&self) -> bool {
        self.frac.is_empty()
    }

    /// The number of significant digits (totalDigits facet, Part 2 §4.3.11): the smallest `n` with
    /// `|value| = i × 10^-k`, `|i| < 10^n`. Zero counts as one digit.
    pub fn total_digits(&self) -> usize {
        if self.int.is_empty() {
            self.frac.trim_start_matches('0').len().max(1)
        } else {
            self.int.len() + self.frac.len()
        }
    }

    /// The number of fraction digits (fractionDigits facet, Part 2 §4.3.12).
    pub fn fraction_digits(&self) -> usize {
        self.frac.len()
    }

    /// The value as an `i128` when it is an integer that fits.
    pub fn to_i128(&self) -> Option<i128> {
        if !self.frac.is_empty() {
            return None;
        }
        if self.int.is_empty() {
            return Some(0);
        }
        let m: i128 = self.int.parse().ok()?;
        Some(if self.negative { -m } else { m })
    }

    /// The integer part of a seconds field (0..=60, so a few digits at most; 0 if it does not fit).
    fn whole_seconds(&self) -> i64 {
        self.int.parse().unwrap_or(0)
    }

    /// The negated value.
    pub fn neg(&self) -> Decimal {
        let mut d = self.clone();
        d.negative = !d.negative && !d.is_zero();
        d
    }

    /// Exact sum.
    pub fn add(&self, other: &Decimal) -> Decimal {
        let scale = self.frac.len().max(other.frac.len());
        let a = self.scaled_digits(scale);
        let b = other.scaled_digits(scale);
        let (negative, mag) = if self.negative == other.negative {
            (self.negative, add_mag(&a, &b))
        } else {
            match cmp_mag(&a, &b) {
                Ordering::Less => (other.negative, sub_mag(&b, &a)),
                _ => (self.negative, sub_mag(&a, &b)),
            }
        };
        let s: String = mag.iter().map(|d| char::from(b'0' + d)).collect();
        let split = s.len().saturating_sub(scale);
        let (i, f) = s.split_at(split);
        let f = format!("{}{f}", "0".repeat(scale.saturating_sub(s.len())));
        Decimal::from_parts(negative, i, &f)
    }

    /// Exact difference `self - other`.
    pub fn sub(&self, other: &Decimal) -> Decimal {
        self.add(&other.neg())
    }

    /// The magnitude's digits scaled by `10^scale` (most significant first).
    fn scaled_digits(&self, scale: usize) -> Vec<u8> {
        let mut v: Vec<u8> = self.int.bytes().map(|b| b - b'0').collect();
        v.extend(self.frac.bytes().map(|b| b - b'0'));
        v.extend(std::iter::repeat_n(
            0,
            scale.saturating_sub(self.frac.len()),
        ));
        v
    }

    /// Compare magnitudes, ignoring signs.
    fn cmp_abs(&self, other: &Decimal) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(&other.int))
            .then_with(|| self.frac.cmp(&other.frac))
    }
}

fn strip(v: &[u8]) -> &[u8] {
    let first = v.iter().position(|d| *d != 0).unwrap_or(v.len());
    &v[first..]
}

fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len()) + 1;
    let mut out = vec![0u8; n];
    let mut carry = 0u8;
    for i in 0..n {
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 0 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let s = da + db + carry;
        out[n - 1 - i] = s % 10;
        carry = s / 10;
    }
    out
}

/// `a - b` for `a >= b`.
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i8;
    for i in 0..a.len() {
        let da = a[a.len() - 1 - i] as i8;
        let db = if i < b.len() {
            b[b.len() - 1 - i] as i8
        } else {
            0
        };
        let mut d = da - db - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out[a.len() - 1 - i] = d as u8;
    }
    out
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_abs(other),
            (true, true) => other.cmp_abs(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    /// Canonical-like form: `-12.5`, `0`, `3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str(if self.int.is_empty() { "0" } else { &self.int })?;
        if !self.frac.is_empty() {
            write!(f, ".{}", self.frac)?;
        }
        Ok(())
    }
}

/// A duration value (Part 2 §3.2.6): a month count and a seconds count, both carrying the sign.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Duration {
    /// Years × 12 + months, negative for negative durations.
    pub months: i64,
    /// Days, hours, minutes and seconds in seconds, negative for negative durations.
    pub seconds: Decimal,
}

impl Duration {
    /// The order of §3.2.6.2: compare the results of adding both durations to four reference dateTimes;
    /// when the four answers disagree the durations are incomparable.
    pub fn compare(&self, other: &Duration) -> Option<Ordering> {
        if self.months == other.months {
            return Some(self.seconds.cmp(&other.seconds));
        }
        const REFS: [(i64, i64); 4] = [(1696, 9), (1697, 2), (1903, 3), (1903, 7)];
        let mut answer = None;
        for (y, m) in REFS {
            let at = |d: &Duration| {
                let total = i128::from(y) * 12 + i128::from(m - 1) + i128::from(d.months);
                let days = days_from_civil(total.div_euclid(12), total.rem_euclid(12) + 1, 1);
                Decimal::from_i128(days * 86_400).add(&d.seconds)
            };
            let o = at(self).cmp(&at(other));
            match answer {
                None => answer = Some(o),
                Some(prev) if prev != o => return None,
                Some(_) => {}
            }
        }
        answer
    }
}

/// Which of the seven-property date/time types a [`DateTimeValue`] belongs to (each its own primitive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the XSD type of the same name
pub enum DateTimeKind {
    DateTime,
    Time,
    Date,
    GYearMonth,
    GYear,
    GMonthDay,
    GDay,
    GMonth,
}

/// A date/time value in the seven-property model. Properties the type lacks hold the reference values of
/// XSD 1.1 §D.2.2 (year 1972, month 12, day 31, midnight) so that every kind maps onto the time line and the
/// 1.0 order (compare as dateTimes) applies uniformly; `kind` tells which properties are real.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DateTimeValue {
    /// Which type this is.
    pub kind: DateTimeKind,
    /// Year as written (no year 0; -1 is 1 BCE).
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=24 (24 only with zero minutes and seconds, for dateTime: the start of the next day).
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// Seconds with their fraction, 0 <= s < 60.
    pub second: Decimal,
    /// Timezone offset in minutes east of UTC, when given.
    pub tz: Option<i32>,
}

/// A point on the time line: whole seconds and the fraction's digits (no trailing zeros). Ordered
/// lexicographically, which is numeric order because the fraction is always in [0, 1). Kept as plain
/// integers because comparisons run for every bounded date in every message.
type Instant<'a> = (i128, &'a str);

impl DateTimeValue {
    /// Seconds since 1970-01-01 of the local time (timezone ignored).
    fn local_seconds(&self) -> Instant<'_> {
        // 1.0 has no year 0: -0001 directly precedes 0001, so shift negative years onto the
        // proleptic astronomical numbering.
        let y = if self.year < 0 {
            i128::from(self.year) + 1
        } else {
            i128::from(self.year)
        };
        let days = days_from_civil(y, i128::from(self.month), i128::from(self.day));
        let whole_second = i128::from(self.second.whole_seconds());
        let secs = days * 86_400
            + i128::from(self.hour) * 3600
            + i128::from(self.minute) * 60
            + whole_second;
        (secs, self.second.frac.as_str())
    }

    /// The instant in UTC (for values with a timezone) or the local time read as UTC.
    fn instant(&self) -> Instant<'_> {
        let (secs, frac) = self.local_seconds();
        match self.tz {
            Some(tz) => (secs - i128::from(tz) * 60, frac),
            None => (secs, frac),
        }
    }

    /// The partial order of Part 2 §3.2.7.4: with one side lacking a timezone the answer is only
    /// definite outside the ±14:00 window.
    pub fn compare(&self, other: &DateTimeValue) -> Option<Ordering> {
        if self.kind != other.kind {
            return None;
        }
        // The same timezone (or none on both sides) and no 24:00 (which is the next day's 00:00): the
        // fields compare in order, with no arithmetic. Years have no 0, so -1 < 1 holds as written.
        if self.tz == other.tz && self.hour < 24 && other.hour < 24 {
            return Some(
                (self.year, self.month, self.day, self.hour, self.minute)
                    .cmp(&(other.year, other.month, other.day, other.hour, other.minute))
                    .then_with(|| self.second.cmp(&other.second)),
            );
        }
        match (self.tz.is_some(), other.tz.is_some()) {
            (true, true) | (false, false) => Some(self.instant().cmp(&other.instant())),
            (true, false) => zoned_vs_local(self.instant(), other.local_seconds()),
            (false, true) => {
                zoned_vs_local(other.instant(), self.local_seconds()).map(Ordering::reverse)
            }
        }
    }
}

/// P (with timezone) against Q (without): P < Q when P < Q+14:00, P > Q when P > Q-14:00.
fn zoned_vs_local(p: Instant<'_>, q_local: Instant<'_>) -> Option<Ordering> {
    const WINDOW: i128 = 14 * 3600;
    if p < (q_local.0 - WINDOW, q_local.1) {
        Some(Ordering::Less)
    } else if p > (q_local.0 + WINDOW, q_local.1) {
        Some(Ordering::Greater)
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year numbering).
pub(crate) fn days_from_civil(y: i128, m: i128, d: i128) -> i128 {
    // Month and day are small; years a message can hold go through 64-bit arithmetic directly
    // (128-bit division is a library call). A schema's arbitrary year first sheds whole 400-year
    // cycles, which are 146,097 days each in the proleptic Gregorian calendar.
    let (m, d) = (m as i64, d as i64);
    const NEAR: i128 = 1 << 40;
    if (-NEAR..NEAR).contains(&y) {
        return i128::from(days_from_civil_i64(y as i64, m, d));
    }
    let cycles = y.div_euclid(400);
    cycles * 146_097 + i128::from(days_from_civil_i64(y.rem_euclid(400) as i64, m, d))
}

fn days_from_civil_i64(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A value of some XSD 1.0 value space.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// string and everything derived from it (normalizedString, token, names, language, ID, ...).
    String(String),
    /// anyURI (its own primitive: never equal to a string).
    AnyUri(String),
    /// boolean.
    Boolean(bool),
    /// decimal and the integer types.
    Decimal(Decimal),
    /// float.
    Float(f32),
    /// double.
    Double(f64),
    /// duration.
    Duration(Duration),
    /// dateTime, time, date and the g* types (the kind is inside).
    DateTime(DateTimeValue),
    /// hexBinary octets.
    HexBinary(Vec<u8>),
    /// base64Binary octets.
    Base64Binary(Vec<u8>),
    /// QName: namespace name (None = no namespace) and local part.
    QName {
        /// Namespace name.
        ns: Option<String>,
        /// Local part.
        local: String,
    },
    /// NOTATION: like QName, a distinct primitive.
    Notation {
        /// Namespace name.
        ns: Option<String>,
        /// Local part.
        local: String,
    },
    /// A list value: the item values in order.
    List(Vec<Value>),
}

impl Value {
    /// A short tag of the value's primitive type (date/time kinds apart), used in keys.
    fn tag(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::AnyUri(_) => "anyURI",
            Value::Boolean(_) => "boolean",
            Value::Decimal(_) => "decimal",
            Value::Float(_) => "float",
            Value::Double(_) => "double",
            Value::Duration(_) => "duration",
            Value::DateTime(d) => match d.kind {
                DateTimeKind::DateTime => "dateTime",
                DateTimeKind::Time => "time",
                DateTimeKind::Date => "date",
                DateTimeKind::GYearMonth => "gYearMonth",
                DateTimeKind::GYear => "gYear",
                DateTimeKind::GMonthDay => "gMonthDay",
                DateTimeKind::GDay => "gDay",
                DateTimeKind::GMonth => "gMonth",
            },
            Value::HexBinary(_) => "hexBinary",
            Value::Base64Binary(_) => "base64Binary",
            Value::QName { .. } => "QName",
            Value::Notation { .. } => "NOTATION",
            Value::List(_) => "list",
        }
    }

    /// Equality in the value space, as used by enumeration/fixed/identity constraints: 1.0 == 1.00,
    /// P1Y == P12M, zoned dateTimes compare by instant; different primitives are never equal (integer and
    /// decimal are one primitive); NaN equals NaN here (identity, for enumeration).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => (a.is_nan() && b.is_nan()) || a == b,
            (Value::Double(a), Value::Double(b)) => (a.is_nan() && b.is_nan()) || a == b,
            (Value::Duration(a), Value::Duration(b)) => a == b,
            (Value::DateTime(a), Value::DateTime(b)) => a.compare(b) == Some(Ordering::Equal),
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            _ => self == other,
        }
    }

    /// Order per XSD 1.0 (partial). `None` when incomparable (durations, zoned vs unzoned date/times
    /// within 14 hours, NaN) or of different primitives; unordered types answer `Equal` or `None`.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Decimal(a), Value::Decimal(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Value::Double(a), Value::Double(b)) => a.partial_cmp(b),
            (Value::Duration(a), Value::Duration(b)) => a.compare(b),
            (Value::DateTime(a), Value::DateTime(b)) => a.compare(b),
            _ => self.same(other).then_some(Ordering::Equal),
        }
    }

    /// A key string for identity-constraint tables: `same` values give equal keys, and the primitive type
    /// is part of the key.
    pub fn key(&self) -> String {
        let body = match self {
            Value::String(s) | Value::AnyUri(s) => s.clone(),
            Value::Boolean(b) => b.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Float(f) => float_key(f64::from(*f), f.is_nan()),
            Value::Double(f) => float_key(*f, f.is_nan()),
            Value::Duration(d) => format!("{}M{}S", d.months, d.seconds),
            Value::DateTime(d) => match d.tz {
                Some(_) => {
                    let (w, f) = d.instant();
                    format!("Z{w}.{f}")
                }
                None => {
                    let (w, f) = d.instant();
                    format!("L{w}.{f}")
                }
            },
            Value::HexBinary(b) | Value::Base64Binary(b) => {
                b.iter().map(|x| format!("{x:02X}")).collect()
            }
            Value::QName { ns, local } | Value::Notation { ns, local } => {
                format!("{{{}}}{local}", ns.as_deref().unwrap_or(""))
            }
            Value::List(items) => {
                let keys: Vec<String> = items.iter().map(Value::key).collect();
                // Item keys are length-prefixed so that item boundaries cannot be forged by content.
                keys.iter().map(|k| format!("{}:{k};", k.len())).collect()
            }
        };
        format!("{}|{body}", self.tag())
    }
}

fn float_key(f: f64, nan: bool) -> String {
    if nan {
        "NaN".into()
    } else if f == 0.0 {
        "0".into()
    } else {
        format!("{f:e}")
    }
}
