//! The tokenizer: one piece of markup or one run of text at a time, over bytes already known to be
//! UTF-8.
//!
//! It works on byte offsets into a window of the document and allocates nothing: a token is a set of
//! ranges, and a start tag's attributes go into an array the reader reuses for every tag. Everything
//! XML 1.0 asks of a single token is checked here (name syntax, quoting, `--` in comments, `]]>` in
//! text, characters XML forbids); what needs context (matching end tags, namespaces, where text may
//! stand) is the reader's. When the window ends inside a token and more input may follow, the answer
//! is [`Scan::More`]: the caller refills and asks again from the same place.

use std::ops::Range;

use super::XmlErrorKind;
use crate::xml::names::{is_name_char, is_name_start_char};

/// Byte classes for the scanning loops, one table lookup per byte.
const WS: u8 = 1;
/// ASCII NameStartChar (letters, `_`, `:`).
const NAME_START: u8 = 2;
/// ASCII NameChar other than `:` (letters, digits, `_`, `-`, `.`): the bytes a name's inner loop takes
/// without a second look.
const NAME: u8 = 4;
/// A byte that ends a plain run of text: `<`, `&`, `]`, CR, a control character XML forbids, or a lead
/// byte from 0xEF up (U+FFFE and U+FFFF are encoded `EF BF BE` / `EF BF BF`).
const TEXT_STOP: u8 = 8;
/// A byte an attribute value cannot take as is: `<`, `&`, quotes, tab, LF, CR, forbidden controls, 0xEF+.
const ATTR_STOP: u8 = 16;

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut v = 0;
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            v |= WS;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            v |= NAME_START;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.') {
            v |= NAME;
        }
        let control = c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r');
        if control || c >= 0xEF || matches!(c, b'<' | b'&' | b']' | b'\r') {
            v |= TEXT_STOP;
        }
        if control || c >= 0xEF || matches!(c, b'<' | b'&' | b'"' | b'\'' | b'\t' | b'\n' | b'\r') {
            v |= ATTR_STOP;
        }
        t[b] = v;
        b += 1;
    }
    t
}

static CLASS: [u8; 256] = classes();

/// One attribute as written: ranges into the window.
#[derive(Clone, Debug)]
pub(super) struct RawAttr {
    /// The qualified name.
    pub name: Range<usize>,
    /// Where the colon is in the name, if any.
    pub colon: Option<usize>,
    /// The value between the quotes, undecoded.
    pub value: Range<usize>,
    /// The value holds a reference or white space other than spaces: it must be decoded.
    pub needs_decoding: bool,
}

/// What the window holds next.
#[derive(Debug)]
pub(super) enum Token {
    /// Character data up to `end`, raw. `plain`: no CR (so no line-end normalization), `blank`: white
    /// space only.
    Text {
        end: usize,
        plain: bool,
        blank: bool,
    },
    /// `&name;` or `&#...;` in text; `name` is what stands between `&` and `;`.
    Reference { name: Range<usize>, end: usize },
    /// `<![CDATA[...]]>`.
    CData { content: Range<usize>, end: usize },
    /// A start tag; its attributes are in the array handed to [`scan`]. `colon`: where the name's
    /// colon is.
    Start {
        name: Range<usize>,
        colon: Option<usize>,
        empty: bool,
        end: usize,
    },
    /// An end tag.
    End { name: Range<usize>, end: usize },
    /// A comment, a processing instruction other than the declaration, white space in a DTD.
    Skipped { end: usize },
    /// The XML declaration.
    Declaration { end: usize },
    /// A document type declaration, internal subset and all.
    Doctype { end: usize },
}

/// The outcome of one scan.
#[derive(Debug)]
pub(super) enum Scan {
    /// A whole token.
    Token(Token),
    /// The window ends inside the token: refill and scan again from the same offset.
    More,
    /// Not well-formed, at this window offset.
    Error(XmlErrorKind, usize),
}

fn syntax(msg: &str, at: usize) -> Scan {
    Scan::Error(XmlErrorKind::Syntax(msg.to_owned()), at)
}

/// Where a token stands, for the checks that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// Before anything: the declaration may come.
    Start,
    /// In the prolog, after the declaration: a DOCTYPE may still come.
    Prolog,
    /// Inside the root element.
    Content,
    /// After the root element: comments, PIs, white space.
    Epilog,
}

/// Scan one token of `s` starting at `at`. `eof`: nothing follows the window. `skip_doctype`: a
/// DOCTYPE is read past (else refused where it starts). Start-tag attributes are pushed to `attrs`
/// (cleared first); `max_attrs` bounds them.
pub(super) fn scan(
    s: &[u8],
    at: usize,
    eof: bool,
    place: Place,
    skip_doctype: bool,
    attrs: &mut Vec<RawAttr>,
    max_attrs: usize,
) -> Scan {
    debug_assert!(at < s.len());
    if s[at] != b'<' {
        if s[at] == b'&' {
            return reference(s, at, eof);
        }
        return text(s, at, eof);
    }
    let Some(&next) = s.get(at + 1) else {
        return more_or(eof, "the document ends inside markup", at);
    };
    match next {
        b'/' => end_tag(s, at, eof),
        b'?' => processing_instruction(s, at, eof, place),
        b'!' => {
            let rest = &s[at + 2..];
            if rest.starts_with(b"--") {
                comment(s, at, eof)
            } else if rest.starts_with(b"[CDATA[") {
                if place != Place::Content {
                    return syntax("a CDATA section outside the root element", at);
                }
                cdata(s, at, eof)
            } else if rest.starts_with(b"DOCTYPE") {
                if !skip_doctype {
                    return Scan::Error(XmlErrorKind::Dtd, at);
                }
                doctype(s, at, eof, place)
            } else if !eof
                && (b"--".starts_with(rest)
                    || b"[CDATA[".starts_with(rest)
                    || b"DOCTYPE".starts_with(rest))
            {
                Scan::More
            } else {
                syntax("'<!' starts no comment, CDATA section or DOCTYPE", at)
            }
        }
        _ => start_tag(s, at, eof, attrs, max_attrs),
    }
}

fn more_or(eof: bool, msg: &str, at: usize) -> Scan {
    if eof { syntax(msg, at) } else { Scan::More }
}

/// A run of text up to the next `<` or `&`. A run that reaches the window's end is read whole once more
/// input has come (`More`), so that a stream cuts text into the same tokens as a slice: whether a run is
/// blank, where it starts, a CR LF or `]]>` across a chunk boundary, all come out as in memory.
fn text(s: &[u8], at: usize, eof: bool) -> Scan {
    let mut i = at;
    let mut plain = true;
    let mut blank = true;
    loop {
        // The common case: bytes that need no attention.
        // Blank while only white space has been seen; once a byte is not, the rest needs no check.
        if blank {
            while i < s.len() && CLASS[s[i] as usize] & (TEXT_STOP | WS) == WS {
                i += 1;
            }
            blank = s.get(i).is_none_or(|&b| CLASS[b as usize] & TEXT_STOP != 0);
        }
        while i < s.len() && CLASS[s[i] as usize] & TEXT_STOP == 0 {
            i += 1;
        }
        let Some(&b) = s.get(i) else {
            if !eof {
                return Scan::More;
            }
            break;
        };
        match b {
            b'<' | b'&' => break,
            b'\r' => {
                plain = false;
                i += 1;
            }
            b']' => {
                blank = false;
                if s[i..].starts_with(b"]]>") {
                    return syntax("']]>' is not allowed in text", i);
                }
                i += 1;
            }
            _ => {
                blank = false;
                match forbidden_char(s, i) {
                    Ok(len) => i += len,
                    Err(e) => return e,
                }
            }
        }
    }
    Scan::Token(Token::Text {
        end: i,
        plain,
        blank,
    })
}

/// Check the character at `i` (a control byte or a lead byte from 0xEF): its length if XML allows it.
fn forbidden_char(s: &[u8], i: usize) -> Result<usize, Scan> {
    let b = s[i];
    if b < 0x20 {
        return Err(Scan::Error(XmlErrorKind::InvalidChar(b as u32), i));
    }
    // 0xEF and up: U+FFFE and U+FFFF are the only forbidden ones below U+10000; the rest are fine.
    let len = if b >= 0xF0 { 4 } else { 3 };
    if b == 0xEF && s.get(i + 1) == Some(&0xBF) && matches!(s.get(i + 2), Some(0xBE | 0xBF)) {
        let c = 0xFFFE + u32::from(s[i + 2] == 0xBF);
        return Err(Scan::Error(XmlErrorKind::InvalidChar(c), i));
    }
    Ok(len.min(s.len() - i))
}

/// Check a stretch that is not names or text (comment, PI, CDATA content) for forbidden characters.
fn check_chars(s: &[u8], range: Range<usize>) -> Result<(), Scan> {
    let mut i = range.start;
    while i < range.end {
        let b = s[i];
        if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b >= 0xEF {
            i += forbidden_char(s, i)?;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn reference(s: &[u8], at: usize, eof: bool) -> Scan {
    let start = at + 1;
    // A reference is short: a name or a number. Anything without `;` soon is malformed.
    match memchr::memchr(b';', &s[start..s.len().min(start + 64)]) {
        Some(n) => Scan::Token(Token::Reference {
            name: start..start + n,
            end: start + n + 1,
        }),
        None if !eof && s.len() < start + 64 => Scan::More,
        None => Scan::Error(XmlErrorKind::MalformedReference, at),
    }
}

/// A Name starting at `i`: its end and where its colon is. `None` when no name starts there.
fn name(s: &[u8], i: usize) -> Option<(usize, Option<usize>)> {
    if !starts_name(s, i) {
        return None;
    }
    let mut j = i;
    let mut colon = None;
    loop {
        while j < s.len() && CLASS[s[j] as usize] & NAME != 0 {
            j += 1;
        }
        match s.get(j) {
            Some(b':') => {
                colon = colon.or(Some(j));
                j += 1;
            }
            // U+0380..U+07FF (Greek, Cyrillic, Armenian, Hebrew, Arabic, ...): every one is a
            // NameStartChar of XML 1.0 5th edition ([#x37F-#x1FFF]), so the pair is taken whole.
            Some(&(0xCE..=0xDF)) if s.get(j + 1).is_some_and(|&b| b & 0xC0 == 0x80) => j += 2,
            Some(&b) if b >= 0x80 => match decode_char(s, j) {
                Some(c) if is_name_char(c) => j += c.len_utf8(),
                _ => break,
            },
            _ => break,
        }
    }
    Some((j, colon))
}

/// Whether a NameStartChar stands at `i`.
fn starts_name(s: &[u8], i: usize) -> bool {
    match s.get(i) {
        None => false,
        Some(&b) if b < 0x80 => CLASS[b as usize] & NAME_START != 0,
        Some(_) => decode_char(s, i).is_some_and(is_name_start_char),
    }
}

/// The character starting at `i`, if the window holds all of it. The window is UTF-8 already checked
/// (see `input`), so the bytes are decoded directly, not validated again: this runs for every
/// character of a name outside ASCII (Cyrillic element names are the rule in some registries).
fn decode_char(s: &[u8], i: usize) -> Option<char> {
    let lead = u32::from(*s.get(i)?);
    let cont = |k: usize| match s.get(i + k) {
        Some(&b) if b & 0xC0 == 0x80 => Some(u32::from(b & 0x3F)),
        _ => None,
    };
    let c = match lead {
        0x00..=0x7F => lead,
        0xC0..=0xDF => ((lead & 0x1F) << 6) | cont(1)?,
        0xE0..=0xEF => ((lead & 0x0F) << 12) | (cont(1)? << 6) | cont(2)?,
        0xF0..=0xF7 => ((lead & 0x07) << 18) | (cont(1)? << 12) | (cont(2)? << 6) | cont(3)?,
        _ => return None,
    };
    char::from_u32(c)
}

/// Whether the qualified name in `range` with its first colon at `colon` is a valid QName
/// (Namespaces in XML §4): NCName parts, at most one colon, neither part empty.
fn qname_ok(s: &[u8], range: &Range<usize>, colon: Option<usize>) -> bool {
    match colon {
        None => true,
        Some(c) => {
            c > range.start
                && c + 1 < range.end
                // A plain loop: names are short, and a memchr call costs more than it scans.
                && s[c + 1..range.end].iter().all(|&b| b != b':')
                && starts_name(s, c + 1)
        }
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && CLASS[s[i] as usize] & WS != 0 {
        i += 1;
    }
    i
}

fn start_tag(s: &[u8], at: usize, eof: bool, attrs: &mut Vec<RawAttr>, max_attrs: usize) -> Scan {
    attrs.clear();
    let Some((name_end, colon)) = name(s, at + 1) else {
        if at + 1 >= s.len() || (s[at + 1] >= 0x80 && decode_char(s, at + 1).is_none()) {
            return more_or(eof, "the document ends inside a tag", at);
        }
        return syntax("a tag must start with a name", at);
    };
    let tag_name = at + 1..name_end;
    if name_end == s.len() {
        return more_or(eof, "the document ends inside a tag", at);
    }
    if !qname_ok(s, &tag_name, colon) {
        return qname_error(s, tag_name, at);
    }
    let mut i = name_end;
    loop {
        let after_ws = skip_ws(s, i);
        let Some(&b) = s.get(after_ws) else {
            return more_or(eof, "the document ends inside a tag", at);
        };
        match b {
            b'>' => {
                return Scan::Token(Token::Start {
                    name: tag_name,
                    colon,
                    empty: false,
                    end: after_ws + 1,
                });
            }
            b'/' => {
                return match s.get(after_ws + 1) {
                    Some(b'>') => Scan::Token(Token::Start {
                        name: tag_name,
                        colon,
                        empty: true,
                        end: after_ws + 2,
                    }),
                    Some(_) => syntax("'/' in a tag must be followed by '>'", after_ws),
                    None => more_or(eof, "the document ends inside a tag", at),
                };
            }
            _ => {}
        }
        if after_ws == i {
            return syntax("attributes must be separated by white space", i);
        }
        let Some((attr_end, acolon)) = name(s, after_ws) else {
            if s[after_ws] >= 0x80 && decode_char(s, after_ws).is_none() && !eof {
                return Scan::More;
            }
            return syntax("an attribute must start with a name", after_ws);
        };
        if attr_end == s.len() {
            return more_or(eof, "the document ends inside a tag", at);
        }
        let attr_name = after_ws..attr_end;
        if !qname_ok(s, &attr_name, acolon) {
            return qname_error(s, attr_name, after_ws);
        }
        let eq = skip_ws(s, attr_end);
        match s.get(eq) {
            Some(b'=') => {}
            Some(_) => return syntax("an attribute name must be followed by '='", eq),
            None => return more_or(eof, "the document ends inside a tag", at),
        }
        let q = skip_ws(s, eq + 1);
        let quote = match s.get(q) {
            Some(&c @ (b'"' | b'\'')) => c,
            Some(_) => return syntax("an attribute value must be quoted", q),
            None => return more_or(eof, "the document ends inside a tag", at),
        };
        let vstart = q + 1;
        let mut j = vstart;
        let mut needs_decoding = false;
        loop {
            while j < s.len() && CLASS[s[j] as usize] & ATTR_STOP == 0 {
                j += 1;
            }
            let Some(&c) = s.get(j) else {
                return more_or(eof, "the document ends inside an attribute value", at);
            };
            match c {
                _ if c == quote => break,
                b'"' | b'\'' => j += 1,
                b'<' => return syntax("'<' in an attribute value", j),
                b'&' | b'\t' | b'\n' | b'\r' => {
                    needs_decoding = true;
                    j += 1;
                }
                _ => match forbidden_char(s, j) {
                    Ok(len) => j += len,
                    Err(e) => return e,
                },
            }
        }
        if attrs.len() >= max_attrs {
            return Scan::Error(
                XmlErrorKind::Limit("attributes on one element", max_attrs as u64),
                at,
            );
        }
        attrs.push(RawAttr {
            name: attr_name,
            colon: acolon,
            value: vstart..j,
            needs_decoding,
        });
        i = j + 1;
    }
}

fn qname_error(s: &[u8], name: Range<usize>, at: usize) -> Scan {
    let shown = String::from_utf8_lossy(&s[name]);
    Scan::Error(
        XmlErrorKind::Syntax(format!("'{shown}' is not a valid qualified name")),
        at,
    )
}

fn end_tag(s: &[u8], at: usize, eof: bool) -> Scan {
    let Some((name_end, _)) = name(s, at + 2) else {
        if at + 2 >= s.len() {
            return more_or(eof, "the document ends inside an end tag", at);
        }
        return syntax("an end tag must start with a name", at);
    };
    let i = skip_ws(s, name_end);
    match s.get(i) {
        Some(b'>') => Scan::Token(Token::End {
            name: at + 2..name_end,
            end: i + 1,
        }),
        Some(_) => syntax("an end tag holds only its name", i),
        None => more_or(eof, "the document ends inside an end tag", at),
    }
}

fn comment(s: &[u8], at: usize, eof: bool) -> Scan {
    let body = at + 4;
    let Some(n) = memchr::memmem::find(&s[body..], b"--") else {
        return more_or(eof, "the document ends inside a comment", at);
    };
    let dashes = body + n;
    match s.get(dashes + 2) {
        Some(b'>') => {}
        Some(_) => return syntax("'--' is not allowed inside a comment", dashes),
        None => return more_or(eof, "the document ends inside a comment", at),
    }
    if let Err(e) = check_chars(s, body..dashes) {
        return e;
    }
    Scan::Token(Token::Skipped { end: dashes + 3 })
}

fn cdata(s: &[u8], at: usize, eof: bool) -> Scan {
    let body = at + 9;
    let Some(n) = memchr::memmem::find(&s[body..], b"]]>") else {
        return more_or(eof, "the document ends inside a CDATA section", at);
    };
    if let Err(e) = check_chars(s, body..body + n) {
        return e;
    }
    Scan::Token(Token::CData {
        content: body..body + n,
        end: body + n + 3,
    })
}

fn processing_instruction(s: &[u8], at: usize, eof: bool, place: Place) -> Scan {
    let Some((target_end, colon)) = name(s, at + 2) else {
        if at + 2 >= s.len() {
            return more_or(eof, "the document ends inside a processing instruction", at);
        }
        return syntax("a processing instruction must start with a name", at);
    };
    if target_end == s.len() {
        return more_or(eof, "the document ends inside a processing instruction", at);
    }
    let target = &s[at + 2..target_end];
    if colon.is_some() {
        return syntax("a processing instruction's target cannot hold ':'", at);
    }
    let Some(n) = memchr::memmem::find(&s[target_end..], b"?>") else {
        return more_or(eof, "the document ends inside a processing instruction", at);
    };
    let close = target_end + n;
    if close > target_end && CLASS[s[target_end] as usize] & WS == 0 {
        return syntax(
            "a processing instruction's target must be followed by white space",
            target_end,
        );
    }
    if target.eq_ignore_ascii_case(b"xml") {
        if target != b"xml" || place != Place::Start {
            return syntax("the XML declaration is allowed only at the very start", at);
        }
        return declaration(s, at, target_end, close);
    }
    if let Err(e) = check_chars(s, target_end..close) {
        return e;
    }
    Scan::Token(Token::Skipped { end: close + 2 })
}

/// `<?xml version="1.x" encoding="..." standalone="yes|no"?>`, in that order (XML 1.0 §2.8).
fn declaration(s: &[u8], at: usize, mut i: usize, close: usize) -> Scan {
    let mut seen = 0; // 0: nothing, 1: version, 2: encoding, 3: standalone
    loop {
        let j = skip_ws(s, i);
        if j == close {
            break;
        }
        if j == i {
            return syntax(
                "the XML declaration's parts must be separated by white space",
                j,
            );
        }
        let Some((name_end, _)) = name(s, j) else {
            return syntax("malformed XML declaration", j);
        };
        let key = &s[j..name_end];
        let eq = skip_ws(s, name_end);
        if s.get(eq) != Some(&b'=') {
            return syntax("malformed XML declaration", eq);
        }
        let q = skip_ws(s, eq + 1);
        let quote = match s.get(q) {
            Some(&c @ (b'"' | b'\'')) if q < close => c,
            _ => return syntax("malformed XML declaration", q),
        };
        let Some(n) = memchr::memchr(quote, &s[q + 1..close]) else {
            return syntax("malformed XML declaration", q);
        };
        let value = &s[q + 1..q + 1 + n];
        let order = match key {
            b"version" => 1,
            b"encoding" => 2,
            b"standalone" => 3,
            _ => {
                return syntax(
                    "the XML declaration takes version, encoding and standalone only",
                    j,
                );
            }
        };
        if order <= seen || (seen == 0 && order != 1) {
            return syntax(
                "the XML declaration's parts are version, encoding, standalone, in that order",
                j,
            );
        }
        seen = order;
        let ok = match order {
            1 => {
                value.len() >= 3
                    && value.starts_with(b"1.")
                    && value[2..].iter().all(u8::is_ascii_digit)
            }
            2 => {
                value.first().is_some_and(u8::is_ascii_alphabetic)
                    && value
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            _ => value == b"yes" || value == b"no",
        };
        if !ok {
            return syntax("malformed XML declaration", q);
        }
        i = q + 2 + n;
    }
    if seen == 0 {
        return syntax("the XML declaration must give the version", at);
    }
    Scan::Token(Token::Declaration { end: close + 2 })
}

/// A DOCTYPE, skipped whole: its internal subset's quotes, comments and PIs are followed so that a
/// `>` or `]` inside them does not end it early. Nothing in it is interpreted.
fn doctype(s: &[u8], at: usize, eof: bool, place: Place) -> Scan {
    if !matches!(place, Place::Start | Place::Prolog) {
        return Scan::Error(XmlErrorKind::Dtd, at);
    }
    let mut i = at + 9;
    let mut in_subset = false;
    while i < s.len() {
        match s[i] {
            b'"' | b'\'' => match memchr::memchr(s[i], &s[i + 1..]) {
                Some(n) => i += n + 2,
                None => break,
            },
            b'<' if in_subset && s[i..].starts_with(b"<!--") => {
                match memchr::memmem::find(&s[i + 4..], b"-->") {
                    Some(n) => i += n + 7,
                    None => break,
                }
            }
            b'[' if !in_subset => {
                in_subset = true;
                i += 1;
            }
            b']' if in_subset => {
                in_subset = false;
                i += 1;
            }
            b'>' if !in_subset => return Scan::Token(Token::Doctype { end: i + 1 }),
            _ => i += 1,
        }
    }
    more_or(eof, "the document ends inside the DOCTYPE", at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(doc: &str, place: Place) -> Scan {
        let mut attrs = Vec::new();
        scan(doc.as_bytes(), 0, true, place, true, &mut attrs, 16)
    }

    #[test]
    fn tags_and_attributes() {
        let mut attrs = Vec::new();
        let doc = b"<p:a x='1' p:y=\"a&amp;b\"\n z='\t'/>";
        match scan(doc, 0, true, Place::Content, true, &mut attrs, 16) {
            Scan::Token(Token::Start {
                name,
                colon,
                empty,
                end,
            }) => {
                assert_eq!(&doc[name], b"p:a");
                assert_eq!(colon, Some(2));
                assert!(empty);
                assert_eq!(end, doc.len());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(attrs.len(), 3);
        assert!(!attrs[0].needs_decoding && attrs[1].needs_decoding && attrs[2].needs_decoding);
        assert_eq!(&doc[attrs[1].value.clone()], b"a&amp;b");
    }

    #[test]
    fn partial_tokens_ask_for_more() {
        let mut attrs = Vec::new();
        for doc in [
            "<a x='1", "<a", "<!-- x -", "<![CDA", "<?pi x", "ab\r", "x]]",
        ] {
            match scan(
                doc.as_bytes(),
                0,
                false,
                Place::Content,
                true,
                &mut attrs,
                16,
            ) {
                Scan::More => {}
                Scan::Token(Token::Text { end, .. }) if end < doc.len() => {}
                other => panic!("{doc}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_tokens() {
        for (doc, place) in [
            ("<a x='1'y='2'/>", Place::Content),
            ("<a x=1/>", Place::Content),
            ("<a x='<'/>", Place::Content),
            ("<!-- a -- b -->", Place::Content),
            ("a]]>b", Place::Content),
            ("<?xml version='1.0'?>", Place::Content),
            ("<?xml encoding='utf-8'?>", Place::Start),
            ("<a:b:c/>", Place::Content),
            ("<:a/>", Place::Content),
            ("<a\u{1}/>", Place::Content),
            ("x\u{1}", Place::Content),
            ("x\u{FFFE}", Place::Content),
        ] {
            assert!(matches!(one(doc, place), Scan::Error(..)), "{doc}");
        }
    }

    #[test]
    fn text_flags() {
        match one(" \n\t<", Place::Content) {
            Scan::Token(Token::Text {
                end: 3,
                plain: true,
                blank: true,
            }) => {}
            other => panic!("{other:?}"),
        }
        match one("a\r\nb&", Place::Content) {
            Scan::Token(Token::Text {
                end: 4,
                plain: false,
                blank: false,
            }) => {}
            other => panic!("{other:?}"),
        }
        match one("Привет<", Place::Content) {
            Scan::Token(Token::Text { blank: false, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn doctype_is_skipped_past_its_subset() {
        match one(
            "<!DOCTYPE a [<!ENTITY x '>]'><!-- ] > -->]><a/>",
            Place::Start,
        ) {
            Scan::Token(Token::Doctype { end }) => assert_eq!(end, 43),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn characters_decode_as_std_reads_them() {
        let samples = (0u32..0x800)
            .chain((0x800..0x11_0000).step_by(97))
            .chain([0xFFFD, 0xFFFE, 0xFFFF, 0x1_0000, 0x10_FFFF]);
        for c in samples.filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            assert_eq!(decode_char(bytes, 0), Some(c), "U+{:04X}", c as u32);
            // Cut short: the window does not hold all of it.
            if bytes.len() > 1 {
                assert_eq!(decode_char(&bytes[..bytes.len() - 1], 0), None);
            }
        }
        assert_eq!(decode_char(&[0x80], 0), None);
        assert_eq!(decode_char(&[0xF8, 0x80, 0x80, 0x80], 0), None);
    }

    #[test]
    fn two_byte_name_characters_taken_whole_are_name_start_characters() {
        // name() takes lead bytes 0xCE..=0xDF without a table lookup: that is only right if every
        // character they start is a NameStartChar.
        for c in (0x380u32..0x800).filter_map(char::from_u32) {
            assert!(is_name_start_char(c), "U+{:04X}", c as u32);
            let mut buf = [0u8; 4];
            let name_bytes = format!("a{}b", c.encode_utf8(&mut buf));
            assert_eq!(
                name(name_bytes.as_bytes(), 0),
                Some((name_bytes.len(), None)),
                "U+{:04X}",
                c as u32
            );
        }
    }
}
