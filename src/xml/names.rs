//! XML name characters: the one place that decides which characters may start or continue a name.
//!
//! Everything in `xml` that asks "is this a name?" comes here: the [`reader`](super::reader) for element
//! and attribute names (well-formedness), the builtin datatypes `Name`, `NCName`, `ID`, `IDREF`,
//! `ENTITY`, `NMTOKEN` and `QName` ([`datatypes`](super::datatypes)), the schema-for-schemas checks and
//! identity-constraint XPaths ([`schema`](super::schema)), and the XSD regex escapes `\i` / `\c`
//! ([`regex`](super::regex)).
//!
//! # Which table, and why
//! All of them use XML 1.0 (Fifth Edition) §2.3 productions [4] `NameStartChar` and [4a] `NameChar`
//! ([`NAME_START_CHAR`], [`NAME_CHAR_EXTRA`]), and none uses the Appendix B classes (`BaseChar`,
//! `Ideographic`, `CombiningChar`, `Digit`, `Extender`) of the first to fourth editions:
//! - The reader: a document is well-formed by the current edition of XML 1.0, which is the fifth.
//!   Every name the older Appendix B allowed is still allowed (the fifth edition's sets are supersets;
//!   the unit tests check that code point by code point), so older documents keep reading.
//! - Datatypes: XSD 1.0 (Second Edition) Part 2 defines `Name` and `NMTOKEN` by XML 1.0's productions
//!   and `NCName` / `QName` by Namespaces in XML, whose current editions (XML 1.0 5th, Namespaces 1.0
//!   3rd) are these tables. Using the reader's tables also keeps one promise: every element or
//!   attribute name the reader accepts is a valid `QName` value, so `xsi:type`, `ref` or `key` values
//!   can name anything a document can contain.
//! - Regex `\i` and `\c`: XSD 1.0 Part 2 (Appendix F) defines them by XML 1.0's `Letter | '_' | ':'` and
//!   `NameChar`; the W3C suite decided which edition that means. Its case `reZ006i` (Microsoft's
//!   "invalid `\c` characters": the Appendix B `NameChar` set with U+0345 swapped for U+0346 COMBINING
//!   BRIDGE ABOVE) is expected *valid* for XSD 1.0 since W3C bug 13606 ("valid using the name
//!   character definitions used in XML 1.1 and XML 1.0 5th edition"). U+0346 is a `NameChar` in the
//!   fifth edition (`[#x0300-#x036F]`) and in no Appendix B class (`CombiningChar` stops at U+0345),
//!   so only the fifth-edition table passes it. No case in the suite needs the narrower Appendix B
//!   reading: `reZ005i`'s one non-name character, `[`, is outside both tables. So `\i` is
//!   [`NAME_START_CHAR`] (which holds `_` and `:`) and `\c` is it plus [`NAME_CHAR_EXTRA`], as XSD 1.1
//!   words it.
//!
//! # Speed
//! The reader asks about every character of every name, and nearly every name is ASCII: a 128-entry
//! table answers those with one load; other characters search the range tables.

/// XML 1.0 (Fifth Edition) \[4\] `NameStartChar`, as sorted, disjoint, inclusive ranges.
pub const NAME_START_CHAR: &[(char, char)] = &[
    (':', ':'),
    ('A', 'Z'),
    ('_', '_'),
    ('a', 'z'),
    ('\u{C0}', '\u{D6}'),
    ('\u{D8}', '\u{F6}'),
    ('\u{F8}', '\u{2FF}'),
    ('\u{370}', '\u{37D}'),
    ('\u{37F}', '\u{1FFF}'),
    ('\u{200C}', '\u{200D}'),
    ('\u{2070}', '\u{218F}'),
    ('\u{2C00}', '\u{2FEF}'),
    ('\u{3001}', '\u{D7FF}'),
    ('\u{F900}', '\u{FDCF}'),
    ('\u{FDF0}', '\u{FFFD}'),
    ('\u{10000}', '\u{EFFFF}'),
];

/// What XML 1.0 (Fifth Edition) \[4a\] `NameChar` adds to [`NAME_START_CHAR`], as sorted, disjoint,
/// inclusive ranges: `-`, `.`, the ASCII digits, U+00B7 MIDDLE DOT, the combining diacritical marks and
/// the undertie / character tie.
pub const NAME_CHAR_EXTRA: &[(char, char)] = &[
    ('-', '.'),
    ('0', '9'),
    ('\u{B7}', '\u{B7}'),
    ('\u{300}', '\u{36F}'),
    ('\u{203F}', '\u{2040}'),
];

/// Bit in [`ASCII`]: the byte is a `NameStartChar`.
const START: u8 = 1;
/// Bit in [`ASCII`]: the byte is a `NameChar`.
const CHAR: u8 = 2;

/// [`START`] / [`CHAR`] flags of every ASCII character, built from the range tables at compile time.
const ASCII: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8 as char;
        if in_ranges(NAME_START_CHAR, c) {
            table[b] = START | CHAR;
        } else if in_ranges(NAME_CHAR_EXTRA, c) {
            table[b] = CHAR;
        }
        b += 1;
    }
    table
};

/// Whether `c` lies in one of `ranges` (sorted, disjoint): a binary search.
const fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    let (mut lo, mut hi) = (0, ranges.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let (first, last) = ranges[mid];
        if (c as u32) < (first as u32) {
            hi = mid;
        } else if (c as u32) > (last as u32) {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    false
}

/// XML 1.0 (5th ed.) `NameStartChar`: may begin a `Name` (includes `:`).
#[inline]
pub fn is_name_start_char(c: char) -> bool {
    if c.is_ascii() {
        ASCII[c as usize] & START != 0
    } else {
        in_ranges(NAME_START_CHAR, c)
    }
}

/// XML 1.0 (5th ed.) `NameChar`: may continue a `Name` (includes `:`).
#[inline]
pub fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        ASCII[c as usize] & CHAR != 0
    } else {
        in_ranges(NAME_START_CHAR, c) || in_ranges(NAME_CHAR_EXTRA, c)
    }
}

/// Namespaces in XML `NCName` start: a `NameStartChar` other than `:`.
#[inline]
pub fn is_ncname_start_char(c: char) -> bool {
    c != ':' && is_name_start_char(c)
}

/// Namespaces in XML `NCName` character: a `NameChar` other than `:`.
#[inline]
pub fn is_ncname_char(c: char) -> bool {
    c != ':' && is_name_char(c)
}

/// Whether the ASCII bytes `s` are not empty, the first has flag `first` and the others flag `rest`.
fn ascii_all(s: &[u8], first: u8, rest: u8) -> bool {
    match s.split_first() {
        Some((&f, tail)) => {
            ASCII[usize::from(f)] & first != 0
                && tail.iter().all(|&b| ASCII[usize::from(b)] & rest != 0)
        }
        None => false,
    }
}

/// XML 1.0 \[5\] `Name`: a `NameStartChar` followed by `NameChar`s.
pub fn is_name(s: &str) -> bool {
    if s.is_ascii() {
        return ascii_all(s.as_bytes(), START, CHAR);
    }
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// Namespaces in XML \[4\] `NCName`: a `Name` without `:`.
pub fn is_ncname(s: &str) -> bool {
    if s.contains(':') {
        return false;
    }
    is_name(s)
}

/// XML 1.0 \[7\] `Nmtoken`: one or more `NameChar`s.
pub fn is_nmtoken(s: &str) -> bool {
    if s.is_ascii() {
        return ascii_all(s.as_bytes(), CHAR, CHAR);
    }
    !s.is_empty() && s.chars().all(is_name_char)
}

/// Namespaces in XML \[7\] `QName` syntax: `NCName` or `NCName:NCName` (the prefix is not resolved here).
pub fn is_qname(s: &str) -> bool {
    match s.split_once(':') {
        Some((prefix, local)) => is_ncname(prefix) && is_ncname(local),
        None => is_ncname(s),
    }
}

#[cfg(test)]
mod tests;
