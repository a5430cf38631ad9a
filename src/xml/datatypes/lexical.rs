//! Lexical-space parsers for the XSD 1.0 builtins (Part 2 §3.2–3.3): each takes an already
//! whitespace-normalized string and returns the value or a reason (which never echoes the input).
//! Hand-written rather than regex-based so that error reasons are specific and nothing can panic.

use super::Builtin;
use super::value::{DateTimeKind, DateTimeValue, Decimal, Duration, Value};
use crate::xml::names::{is_name, is_ncname, is_nmtoken, is_qname};

/// Reasons are plain strings here; [`super::parse`] wraps them with the builtin.
type R<T> = Result<T, String>;

/// Parse `s` as atomic builtin `b` (not a list builtin).
pub(crate) fn parse_atomic(b: Builtin, s: &str, ns: &dyn Fn(&str) -> Option<String>) -> R<Value> {
    use Builtin as B;
    match b {
        B::AnySimpleType
        | B::String
        | B::NormalizedString
        | B::Token
        | B::Language
        | B::Name
        | B::NCName
        | B::Id
        | B::IdRef
        | B::Entity
        | B::NmToken => {
            check_string(b, s)?;
            Ok(Value::String(s.to_string()))
        }
        B::IdRefs | B::Entities | B::NmTokens => Err("list type parsed as atomic".into()),
        B::QName | B::Notation => {
            let (ns_name, local) = qname(s, ns)?;
            Ok(if b == B::QName {
                Value::QName { ns: ns_name, local }
            } else {
                Value::Notation { ns: ns_name, local }
            })
        }
        B::AnyUri => any_uri(s).map(|()| Value::AnyUri(s.to_string())),
        B::Boolean => match s {
            "true" | "1" => Ok(Value::Boolean(true)),
            "false" | "0" => Ok(Value::Boolean(false)),
            _ => Err("expected true, false, 1 or 0".into()),
        },
        B::Decimal => decimal(s).map(Value::Decimal),
        B::Integer
        | B::NonPositiveInteger
        | B::NegativeInteger
        | B::Long
        | B::Int
        | B::Short
        | B::Byte
        | B::NonNegativeInteger
        | B::UnsignedLong
        | B::UnsignedInt
        | B::UnsignedShort
        | B::UnsignedByte
        | B::PositiveInteger => integer(b, s).map(Value::Decimal),
        B::Float => float_lexical(s).and_then(|t| float32(&t)).map(Value::Float),
        B::Double => float_lexical(s)
            .and_then(|t| float64(&t))
            .map(Value::Double),
        B::Duration => duration(s).map(Value::Duration),
        B::DateTime => date_time(s, DateTimeKind::DateTime).map(Value::DateTime),
        B::Time => date_time(s, DateTimeKind::Time).map(Value::DateTime),
        B::Date => date_time(s, DateTimeKind::Date).map(Value::DateTime),
        B::GYearMonth => date_time(s, DateTimeKind::GYearMonth).map(Value::DateTime),
        B::GYear => date_time(s, DateTimeKind::GYear).map(Value::DateTime),
        B::GMonthDay => date_time(s, DateTimeKind::GMonthDay).map(Value::DateTime),
        B::GDay => date_time(s, DateTimeKind::GDay).map(Value::DateTime),
        B::GMonth => date_time(s, DateTimeKind::GMonth).map(Value::DateTime),
        B::HexBinary => hex_binary(s).map(Value::HexBinary),
        B::Base64Binary => base64_binary(s).map(Value::Base64Binary),
    }
}

fn token(s: &str) -> R<()> {
    if s.contains(['\t', '\n', '\r']) {
        return Err("tab, newline or carriage return not allowed".into());
    }
    if s.starts_with(' ') || s.ends_with(' ') || s.contains("  ") {
        return Err("leading, trailing or repeated spaces not allowed".into());
    }
    Ok(())
}

/// Whether `b` is one of the builtins whose value is the string itself (string and what derives from
/// it: the value is `Value::String` of the lexical form, so it can be checked without building it).
pub(crate) fn is_string_valued(b: Builtin) -> bool {
    b.list_item().is_none() && matches!(b.primitive(), Builtin::String | Builtin::AnySimpleType)
}

/// The lexical rules of a string-valued builtin ([`is_string_valued`]); other builtins pass.
pub(crate) fn check_string(b: Builtin, s: &str) -> R<()> {
    use Builtin as B;
    match b {
        B::NormalizedString if s.contains(['\t', '\n', '\r']) => {
            Err("tab, newline or carriage return not allowed".into())
        }
        B::Token => token(s),
        B::Language => language(s),
        B::Name if !is_name(s) => Err("not an XML Name".into()),
        B::NCName | B::Id | B::IdRef | B::Entity if !is_ncname(s) => {
            Err("not an XML NCName".into())
        }
        B::NmToken if !is_nmtoken(s) => Err("not an XML NMTOKEN".into()),
        _ => Ok(()),
    }
}

/// `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*` (Part 2 §3.3.3 as amended by the errata).
fn language(s: &str) -> R<()> {
    for (i, part) in s.split('-').enumerate() {
        let ok_len = (1..=8).contains(&part.len());
        let ok_chars = if i == 0 {
            part.bytes().all(|c| c.is_ascii_alphabetic())
        } else {
            part.bytes().all(|c| c.is_ascii_alphanumeric())
        };
        if !ok_len || !ok_chars {
            return Err(
                "not a language tag (letters, then '-'-separated subtags of 1 to 8 characters)"
                    .into(),
            );
        }
    }
    Ok(())
}

fn qname(s: &str, ns: &dyn Fn(&str) -> Option<String>) -> R<(Option<String>, String)> {
    if !is_qname(s) {
        return Err("not a QName (prefix:local with NCName parts)".into());
    }
    match s.split_once(':') {
        Some((prefix, local)) => {
            let uri =
                ns(prefix).ok_or_else(|| "the prefix is not bound to a namespace".to_string())?;
            Ok((Some(uri), local.to_string()))
        }
        None => Ok((ns("").filter(|u| !u.is_empty()), s.to_string())),
    }
}

/// anyURI is deliberately lenient (Part 2 §3.2.17: any string that becomes a URI reference after the
/// XLink escaping of disallowed characters). Only what escaping cannot repair is refused: more than one
/// '#', '%' not followed by two hex digits, and a ':' before any '/', '?' or '#' that does not end a
/// scheme (`[A-Za-z][A-Za-z0-9+.-]*`, RFC 3986 §3.1).
fn any_uri(s: &str) -> R<()> {
    let head_end = s.find(['/', '?', '#']).unwrap_or(s.len());
    if let Some(colon) = s[..head_end].find(':') {
        let scheme = &s[..colon];
        let mut cs = scheme.chars();
        let ok = cs.next().is_some_and(|c| c.is_ascii_alphabetic())
            && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        if !ok {
            return Err("a ':' in the first segment must end a valid scheme name".into());
        }
    }
    if s.matches('#').count() > 1 {
        return Err("more than one fragment separator".into());
    }
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err("'%' not followed by two hexadecimal digits".into());
            }
        }
    }
    Ok(())
}

/// Split an optional sign off.
fn sign(s: &str) -> (bool, &str) {
    if let Some(r) = s.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else {
        (false, s)
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit())
}

/// decimal: `[+-]?(d+(.d*)?|.d+)` — no exponent.
pub(crate) fn decimal(s: &str) -> R<Decimal> {
    let (neg, rest) = sign(s);
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err("expected digits with an optional sign and decimal point".into());
    }
    Ok(Decimal::from_parts(neg, int, frac))
}

fn integer(b: Builtin, s: &str) -> R<Decimal> {
    use Builtin as B;
    let (neg, digits) = sign(s);
    if digits.is_empty() || !all_digits(digits) {
        return Err("expected digits with an optional sign".into());
    }
    let d = Decimal::from_parts(neg, digits, "");
    let range: Option<(i128, i128)> = match b {
        B::Long => Some((i64::MIN.into(), i64::MAX.into())),
        B::Int => Some((i32::MIN.into(), i32::MAX.into())),
        B::Short => Some((i16::MIN.into(), i16::MAX.into())),
        B::Byte => Some((i8::MIN.into(), i8::MAX.into())),
        B::UnsignedLong => Some((0, u64::MAX.into())),
        B::UnsignedInt => Some((0, u32::MAX.into())),
        B::UnsignedShort => Some((0, u16::MAX.into())),
        B::UnsignedByte => Some((0, u8::MAX.into())),
        _ => None,
    };
    if let Some((lo, hi)) = range {
        match d.to_i128() {
            Some(n) if (lo..=hi).contains(&n) => {}
            _ => return Err(format!("outside the range {lo} to {hi}")),
        }
    }
    let ok = match b {
        B::NonPositiveInteger => d.is_negative() || d.is_zero(),
        B::NegativeInteger => d.is_negative(),
        B::NonNegativeInteger => !d.is_negative(),
        B::PositiveInteger => !d.is_negative() && !d.is_zero(),
        _ => true,
    };
    if !ok {
        return Err(match b {
            B::NonPositiveInteger => "must not be greater than 0",
            B::NegativeInteger => "must be less than 0",
            B::NonNegativeInteger => "must not be less than 0",
            _ => "must be greater than 0",
        }
        .into());
    }
    Ok(d)
}

/// Check the float/double lexical space and return a string Rust's float parser reads identically:
/// mantissa `[+-]?(d+(.d*)?|.d+)`, optional exponent `[eE][+-]?d+`, or `INF`, `-INF`, `NaN`. `+INF` is
/// refused: it is XSD 1.1 syntax (the W3C suite's 1.0 expectation for float018/double018).
fn float_lexical(s: &str) -> R<String> {
    match s {
        "INF" => return Ok("inf".into()),
        "-INF" => return Ok("-inf".into()),
        "NaN" => return Ok("NaN".into()),
        _ => {}
    }
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (neg, m) = sign(mantissa);
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(
            "expected a decimal mantissa with an optional exponent, INF, -INF or NaN".into(),
        );
    }
    let mut out = format!(
        "{}{}.{}",
        if neg { "-" } else { "" },
        if int.is_empty() { "0" } else { int },
        frac
    );
    if !frac.is_empty() || !int.is_empty() {
        out.push('0');
    }
    if let Some(e) = exponent {
        let (eneg, edigits) = sign(e);
        if edigits.is_empty() || !all_digits(edigits) {
            return Err("malformed exponent".into());
        }
        // Keep huge exponents parseable without overflowing the parser's exponent handling.
        let trimmed = edigits.trim_start_matches('0');
        let clamped = if trimmed.len() > 6 {
            "999999"
        } else if trimmed.is_empty() {
            "0"
        } else {
            trimmed
        };
        out.push_str(&format!("e{}{clamped}", if eneg { "-" } else { "" }));
    }
    Ok(out)
}

fn float32(t: &str) -> R<f32> {
    let v: f32 = t.parse().map_err(|_| "malformed number".to_string())?;
    if v.is_infinite() && !t.ends_with("inf") {
        return Err("magnitude too large for float".into());
    }
    Ok(v)
}

fn float64(t: &str) -> R<f64> {
    let v: f64 = t.parse().map_err(|_| "malformed number".to_string())?;
    if v.is_infinite() && !t.ends_with("inf") {
        return Err("magnitude too large for double".into());
    }
    Ok(v)
}

/// Running totals while reading duration components.
#[derive(Default)]
struct DurParts {
    months: u128,
    whole_secs: u128,
    frac: String,
}

const DUR_BAD: &str = "expected PnYnMnDTnHnMnS with at least one component";

/// Read the components of one half of a duration (date half or time half) in designator order;
/// returns how many were present.
fn dur_components(
    part: &str,
    designators: &[(char, u128, bool)],
    is_time: bool,
    acc: &mut DurParts,
) -> R<usize> {
    let overflow = || "duration too large".to_string();
    let mut rest = part;
    let mut next_allowed = 0;
    let mut count = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or(DUR_BAD)?;
        let (num, tail) = rest.split_at(end);
        let designator = tail.chars().next().ok_or(DUR_BAD)?;
        let idx = designators
            .get(next_allowed..)
            .and_then(|ds| ds.iter().position(|(d, _, _)| *d == designator))
            .map(|i| i + next_allowed)
            .ok_or(DUR_BAD)?;
        let (_, factor, to_months) = designators[idx];
        next_allowed = idx + 1;
        let (int, f) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && f.is_empty()) || !all_digits(int) || !all_digits(f) {
            return Err(DUR_BAD.into());
        }
        if num.contains('.') && !(is_time && designator == 'S') {
            return Err("only seconds may have a fraction".into());
        }
        let t = int.trim_start_matches('0');
        if t.len() > 30 {
            return Err(overflow());
        }
        let n: u128 = if t.is_empty() {
            0
        } else {
            t.parse().map_err(|_| overflow())?
        };
        let add = n.checked_mul(factor).ok_or_else(overflow)?;
        if to_months {
            acc.months = acc.months.checked_add(add).ok_or_else(overflow)?;
        } else {
            acc.whole_secs = acc.whole_secs.checked_add(add).ok_or_else(overflow)?;
        }
        if designator == 'S' {
            acc.frac = f.to_string();
        }
        count += 1;
        rest = &tail[designator.len_utf8()..];
    }
    Ok(count)
}

/// duration: `-?P(nY)?(nM)?(nD)?(T(nH)?(nM)?(n(.n)?S)?)?` with at least one component and no bare `T`.
fn duration(s: &str) -> R<Duration> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let rest = rest.strip_prefix('P').ok_or(DUR_BAD)?;
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut acc = DurParts::default();
    let mut count = dur_components(
        date_part,
        &[('Y', 12, true), ('M', 1, true), ('D', 86_400, false)],
        false,
        &mut acc,
    )?;
    if let Some(t) = time_part {
        let n = dur_components(
            t,
            &[('H', 3600, false), ('M', 60, false), ('S', 1, false)],
            true,
            &mut acc,
        )?;
        if n == 0 {
            return Err("'T' must be followed by an hour, minute or second component".into());
        }
        count += n;
    }
    if count == 0 {
        return Err(DUR_BAD.into());
    }
    let months = i64::try_from(acc.months).map_err(|_| "duration too large".to_string())?;
    let seconds = Decimal::from_parts(neg, &acc.whole_secs.to_string(), &acc.frac);
    Ok(Duration {
        months: if neg { -months } else { months },
        seconds,
    })
}

/// A cursor over ASCII date/time text.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8, what: &str) -> R<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' {what}", char::from(c)))
        }
    }
    /// Exactly two digits.
    fn two(&mut self, what: &str) -> R<u8> {
        match (self.s.get(self.i), self.s.get(self.i + 1)) {
            (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => {
                self.i += 2;
                Ok((a - b'0') * 10 + (b - b'0'))
            }
            _ => Err(format!("{what} must be two digits")),
        }
    }
    fn digits(&mut self) -> &str {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
}

fn year(c: &mut Cur<'_>) -> R<i64> {
    let neg = c.eat(b'-');
    let d = c.digits();
    if d.len() < 4 {
        return Err("the year must have at least four digits".into());
    }
    if d.len() > 4 && d.starts_with('0') {
        return Err("a year of more than four digits must not start with 0".into());
    }
    let y: i64 = d
        .parse()
        .map_err(|_| "year outside the supported range".to_string())?;
    if y == 0 {
        return Err("year 0000 is not allowed".into());
    }
    Ok(if neg { -y } else { y })
}

fn is_leap(year: i64) -> bool {
    // Astronomical numbering: 1.0's year -1 is year 0, a leap year.
    let y = if year < 0 {
        i128::from(year) + 1
    } else {
        i128::from(year)
    };
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(year: Option<i64>, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 => match year {
            Some(y) if !is_leap(y) => 28,
            _ => 29,
        },
        _ => 31,
    }
}

fn month(c: &mut Cur<'_>) -> R<u8> {
    let m = c.two("the month")?;
    if !(1..=12).contains(&m) {
        return Err("the month must be 01 to 12".into());
    }
    Ok(m)
}

fn day(c: &mut Cur<'_>) -> R<u8> {
    let d = c.two("the day")?;
    if !(1..=31).contains(&d) {
        return Err("the day must be 01 to 31".into());
    }
    Ok(d)
}

/// `hh:mm:ss(.s+)?` with the end-of-day 24:00:00 allowed.
fn time_of_day(c: &mut Cur<'_>) -> R<(u8, u8, Decimal)> {
    let h = c.two("the hour")?;
    c.expect(b':', "after the hour")?;
    let m = c.two("the minute")?;
    c.expect(b':', "after the minute")?;
    let s = c.two("the second")?;
    let frac = if c.eat(b'.') {
        let f = c.digits().to_string();
        if f.is_empty() {
            return Err("a decimal point in the seconds must be followed by digits".into());
        }
        f
    } else {
        String::new()
    };
    if m > 59 {
        return Err("the minute must be 00 to 59".into());
    }
    if s > 59 {
        return Err("the second must be below 60".into());
    }
    let sec = Decimal::from_parts(false, &s.to_string(), &frac);
    if h > 24 || (h == 24 && (m != 0 || !sec.is_zero())) {
        return Err("the hour must be 00 to 23 (or 24:00:00)".into());
    }
    Ok((h, m, sec))
}

/// `Z` or `(+|-)hh:mm` within ±14:00, or nothing.
fn timezone(c: &mut Cur<'_>) -> R<Option<i32>> {
    if c.at_end() {
        return Ok(None);
    }
    if c.eat(b'Z') {
        return Ok(Some(0));
    }
    let neg = if c.eat(b'-') {
        true
    } else if c.eat(b'+') {
        false
    } else {
        return Err("unexpected characters (expected a timezone or the end)".into());
    };
    let h = c.two("the timezone hour")?;
    c.expect(b':', "in the timezone")?;
    let m = c.two("the timezone minute")?;
    if m > 59 || h > 14 || (h == 14 && m != 0) {
        return Err("the timezone must be within -14:00 to +14:00".into());
    }
    let t = i32::from(h) * 60 + i32::from(m);
    Ok(Some(if neg { -t } else { t }))
}

fn date_time(s: &str, kind: DateTimeKind) -> R<DateTimeValue> {
    use DateTimeKind as K;
    let mut c = Cur {
        s: s.as_bytes(),
        i: 0,
    };
    let mut v = DateTimeValue {
        kind,
        year: 1972,
        month: 12,
        day: 31,
        hour: 0,
        minute: 0,
        second: Decimal::default(),
        tz: None,
    };
    let mut real_year = None;
    match kind {
        K::DateTime | K::Date | K::GYearMonth | K::GYear => {
            v.year = year(&mut c)?;
            real_year = Some(v.year);
            if kind != K::GYear {
                c.expect(b'-', "after the year")?;
                v.month = month(&mut c)?;
                if kind != K::GYearMonth {
                    c.expect(b'-', "after the month")?;
                    v.day = day(&mut c)?;
                } else {
                    v.day = 1;
                }
            } else {
                v.month = 1;
                v.day = 1;
            }
            if kind == K::DateTime {
                c.expect(b'T', "between date and time")?;
                let (h, m, sec) = time_of_day(&mut c)?;
                (v.hour, v.minute, v.second) = (h, m, sec);
            }
        }
        K::Time => {
            let (h, m, sec) = time_of_day(&mut c)?;
            // 24:00:00 and 00:00:00 are the same time of day.
            v.hour = if h == 24 { 0 } else { h };
            (v.minute, v.second) = (m, sec);
        }
        K::GMonthDay | K::GMonth => {
            c.expect(b'-', "(the form starts with --)")?;
            c.expect(b'-', "(the form starts with --)")?;
            v.month = month(&mut c)?;
            if kind == K::GMonthDay {
                c.expect(b'-', "after the month")?;
                v.day = day(&mut c)?;
            } else {
                // Only the errata form --MM (E2-12): the W3C suite's facet cases reject the old --MM--.
                v.day = 1;
            }
        }
        K::GDay => {
            for _ in 0..3 {
                c.expect(b'-', "(the form starts with ---)")?;
            }
            v.day = day(&mut c)?;
            v.month = 1;
        }
    }
    if v.day > days_in_month(real_year, v.month) {
        return Err("the day does not exist in that month".into());
    }
    v.tz = timezone(&mut c)?;
    if !c.at_end() {
        return Err("unexpected characters after the value".into());
    }
    Ok(v)
}

/// hexBinary: pairs of hex digits.
fn hex_binary(s: &str) -> R<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err("an odd number of hexadecimal digits".into());
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    b.chunks(2)
        .map(|p| {
            match (
                p.first().and_then(|c| nib(*c)),
                p.get(1).and_then(|c| nib(*c)),
            ) {
                (Some(h), Some(l)) => Ok(h << 4 | l),
                _ => Err("not a hexadecimal digit".to_string()),
            }
        })
        .collect()
}

fn b64_val(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// base64Binary per the grammar of Part 2 §3.2.16: groups of four, single spaces allowed between
/// characters, `=` padding only at the end, and the last character before padding restricted so no bits
/// are left over (B16 before `=`, B04 before `==`).
fn base64_binary(s: &str) -> R<Vec<u8>> {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') || s.contains("  ") {
        return Err("spaces only singly between characters".into());
    }
    // One pass to decide, one to decode, and the octets are the only allocation: attachments
    // (kilobytes to megabytes of base64) come through here.
    let chars = b.iter().filter(|c| **c != b' ').count();
    if !chars.is_multiple_of(4) {
        return Err("the number of characters must be a multiple of four".into());
    }
    let pad = b
        .iter()
        .rev()
        .filter(|c| **c != b' ')
        .take_while(|c| **c == b'=')
        .count();
    if pad > 2 || b.iter().filter(|c| **c == b'=').count() != pad {
        return Err("'=' padding only at the end, at most two".into());
    }
    let mut out = Vec::with_capacity(chars / 4 * 3);
    let (mut acc, mut held, mut last) = (0u32, 0usize, None);
    for &c in b.iter().filter(|c| !matches!(**c, b' ' | b'=')) {
        let v = b64_val(c).ok_or("not a base64 character")?;
        last = Some(v);
        acc = acc << 6 | u32::from(v);
        held += 1;
        if held == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            (acc, held) = (0, 0);
        }
    }
    if let Some(last) = last {
        let ok = match pad {
            1 => last & 0b11 == 0,
            2 => last & 0b1111 == 0,
            _ => true,
        };
        if !ok {
            return Err("non-zero bits before the padding".into());
        }
    }
    if held > 0 {
        acc <<= 6 * (4 - held) as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..held - 1]);
    }
    Ok(out)
}
