//! XSD 1.0 regular expressions (XML Schema Part 2, Appendix F, 2nd edition).
//!
//! `xs:pattern` facets use their own regex dialect. This module parses that dialect
//! and translates it into the syntax of the `regex` crate, whose engine runs in
//! linear time (no backtracking), so hostile patterns or values cannot blow up
//! validation time. Every class is spelled out explicitly in the translation:
//! XSD's `.`, `\i`, `\c`, block escapes and class subtraction have no direct
//! equivalent, and relying on `regex` defaults (such as what `.` excludes) would
//! silently change the meaning.
//!
//! XSD patterns are implicitly anchored at both ends, so the translation is wrapped
//! in `\A(?:...)\z`, and `^` / `$` are ordinary characters.

mod blocks;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, OnceLock};

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, MatchKind};

use crate::xml::names;

/// Memory budget for one compiled pattern; large enough for counted repetitions of
/// big Unicode classes such as `\p{L}{1,100}`.
const SIZE_LIMIT: usize = 64 << 20;

/// Deepest nesting of groups and class subtractions accepted; keeps the recursive
/// parser's stack use bounded on adversarial input.
const MAX_DEPTH: usize = 100;

/// Budget for the small dense DFA a pattern also gets (see [`XsdRegex::is_match`]); a pattern that
/// does not fit (big Unicode classes, long counted repetitions) runs on `regex` alone.
const DFA_LIMIT: usize = 256 << 10;

/// A compiled XSD pattern. Immutable, Send + Sync, Clone (cheap: wraps regex::Regex and an Arc).
#[derive(Clone, Debug)]
pub struct XsdRegex {
    source: String,
    compiled: ::regex::Regex,
    /// The same pattern as an anchored dense DFA, when it is small: a value is then matched by one
    /// table lookup per byte, without `regex`'s per-call search setup, which dominated short values
    /// like a SNILS or a region code (this runs for every patterned value in every message).
    dfa: Option<Arc<SmallDfa>>,
}

/// A dense DFA and its anchored start state (the same for every value: computed once).
#[derive(Debug)]
struct SmallDfa {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl XsdRegex {
    /// Parses an XSD 1.0 regular expression and compiles it.
    pub fn new(pattern: &str) -> Result<XsdRegex, RegexError> {
        let translated = translate(pattern)?;
        let compiled = ::regex::RegexBuilder::new(&translated)
            .unicode(true)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .nest_limit(u32::try_from(MAX_DEPTH * 4).unwrap_or(u32::MAX))
            .build()
            .map_err(|err| RegexError {
                offset: 0,
                message: format!("pattern cannot be compiled: {}", compact_error(&err)),
            })?;
        Ok(XsdRegex {
            source: pattern.to_owned(),
            dfa: small_dfa(&translated).map(Arc::new),
            compiled,
        })
    }

    /// Whole-string match (XSD patterns are implicitly anchored at both ends).
    pub fn is_match(&self, value: &str) -> bool {
        match self
            .dfa
            .as_deref()
            .and_then(|d| dfa_match(d, value.as_bytes()))
        {
            Some(m) => m,
            None => self.compiled.is_match(value),
        }
    }

    /// The XSD source pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The `regex`-crate translation actually executed (useful in diagnostics).
    pub fn translated(&self) -> &str {
        self.compiled.as_str()
    }
}

/// The translated pattern as an anchored dense DFA, or `None` when it does not fit [`DFA_LIMIT`].
fn small_dfa(translated: &str) -> Option<SmallDfa> {
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                // Every thread is kept: the question is only whether the whole value matches.
                .match_kind(MatchKind::All)
                .dfa_size_limit(Some(DFA_LIMIT))
                .determinize_size_limit(Some(DFA_LIMIT)),
        )
        .syntax(
            syntax::Config::new()
                .unicode(true)
                .nest_limit(u32::try_from(MAX_DEPTH * 4).unwrap_or(u32::MAX)),
        )
        .build(translated)
        .ok()?;
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::Yes))
        .ok()?;
    Some(SmallDfa { dfa, start })
}

/// Run the DFA over the whole value: `None` if it cannot answer (it gave up on a byte), and the
/// caller asks `regex`.
fn dfa_match(small: &SmallDfa, bytes: &[u8]) -> Option<bool> {
    let (dfa, mut state) = (&small.dfa, small.start);
    for &b in bytes {
        state = dfa.next_state(state, b);
        if dfa.is_special_state(state) {
            if dfa.is_dead_state(state) {
                return Some(false);
            }
            if dfa.is_quit_state(state) {
                return None;
            }
        }
    }
    state = dfa.next_eoi_state(state);
    if dfa.is_quit_state(state) {
        return None;
    }
    Some(dfa.is_match_state(state))
}

/// Why a pattern was rejected: `offset` is the char index into the pattern, `message` names the construct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexError {
    /// Char (not byte) index into the pattern where the problem was found.
    pub offset: usize,
    /// What is wrong, naming the offending construct.
    pub message: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid XSD regular expression at character {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for RegexError {}

/// The last line of a `regex` error is the useful one; the rest echoes the
/// (machine-generated) translated pattern, which would only confuse a schema author.
fn compact_error(err: &::regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("unknown error")
        .trim()
        .to_owned()
}

/// Translates an XSD 1.0 regular expression into anchored `regex`-crate syntax.
pub fn translate(pattern: &str) -> Result<String, RegexError> {
    let mut parser = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let body = parser.parse_reg_exp()?;
    if let Some(c) = parser.peek() {
        // The only way the top-level parse stops early is an unmatched `)`.
        return Err(parser.error_here(format!("unmatched '{c}'")));
    }
    Ok(format!(r"\A(?:{body})\z"))
}

/// One member of a character group, before it is rendered into `regex` syntax.
enum ClassAtom {
    /// A single character (literal or single-character escape).
    Char(char),
    /// A complete class fragment (`\p{..}` or a bracketed class) that can stand both
    /// alone and nested inside another bracketed class.
    Set(String),
}

/// Recursive-descent parser over the pattern's chars, emitting `regex` syntax.
struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Whether the `-` at `self.pos + ahead` is the last member of a group that a
    /// subtraction follows (`[a-z--[aeiou]]`): that `-` is a literal.
    fn dash_ends_group(&self, ahead: usize) -> bool {
        self.peek_at(ahead) == Some('-') && self.peek_at(ahead + 1) == Some('[')
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> RegexError {
        RegexError {
            offset,
            message: message.into(),
        }
    }

    fn error_here(&self, message: impl Into<String>) -> RegexError {
        self.error_at(self.pos, message)
    }

    fn enter(&mut self) -> Result<(), RegexError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "groups or character classes nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `regExp ::= branch ( '|' branch )*`
    fn parse_reg_exp(&mut self) -> Result<String, RegexError> {
        let mut out = self.parse_branch()?;
        while self.peek() == Some('|') {
            self.pos += 1;
            out.push('|');
            out.push_str(&self.parse_branch()?);
        }
        Ok(out)
    }

    /// `branch ::= piece*`
    fn parse_branch(&mut self) -> Result<String, RegexError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.parse_piece(&mut out)?;
        }
        Ok(out)
    }

    /// `piece ::= atom quantifier?`
    fn parse_piece(&mut self, out: &mut String) -> Result<(), RegexError> {
        let atom = self.parse_atom()?;
        out.push_str(&atom);
        match self.peek() {
            Some(q @ ('?' | '*' | '+')) => {
                self.pos += 1;
                out.push(q);
            }
            Some('{') => {
                let quantity = self.parse_quantity()?;
                out.push_str(&quantity);
            }
            _ => {}
        }
        Ok(())
    }

    /// `'{' quantity '}'` with `quantity ::= n | n ',' | n ',' m`; the opening brace
    /// is the current char.
    fn parse_quantity(&mut self) -> Result<String, RegexError> {
        let open = self.pos;
        self.pos += 1;
        let min = self.parse_number(open)?;
        match self.peek() {
            Some('}') => {
                self.pos += 1;
                Ok(format!("{{{min}}}"))
            }
            Some(',') => {
                self.pos += 1;
                if self.peek() == Some('}') {
                    self.pos += 1;
                    return Ok(format!("{{{min},}}"));
                }
                let max_at = self.pos;
                let max = self.parse_number(open)?;
                if self.peek() != Some('}') {
                    return Err(self.error_here("quantifier is missing its closing '}'"));
                }
                self.pos += 1;
                if min > max {
                    return Err(self.error_at(
                        max_at,
                        format!("quantifier {{{min},{max}}} has its minimum above its maximum"),
                    ));
                }
                Ok(format!("{{{min},{max}}}"))
            }
            _ => Err(self.error_here("quantifier must be {n}, {n,} or {n,m}")),
        }
    }

    /// `QuantExact ::= [0-9]+`
    fn parse_number(&mut self, open: usize) -> Result<u32, RegexError> {
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .ok_or_else(|| self.error_at(start, "quantifier bound is too large"))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error_at(open, "quantifier bound must be a decimal number"));
        }
        Ok(value)
    }

    /// `atom ::= NormalChar | charClass | '(' regExp ')'`
    fn parse_atom(&mut self) -> Result<String, RegexError> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.error_here("expected an atom"));
        };
        match c {
            '(' => {
                self.enter()?;
                self.pos += 1;
                let inner = self.parse_reg_exp()?;
                if self.peek() != Some(')') {
                    return Err(self.error_at(start, "unclosed group '('"));
                }
                self.pos += 1;
                self.leave();
                Ok(format!("(?:{inner})"))
            }
            '[' => self.parse_class_expr(),
            '\\' => match self.parse_escape()? {
                ClassAtom::Char(c) => Ok(literal(c)),
                ClassAtom::Set(set) => Ok(set),
            },
            '.' => {
                self.pos += 1;
                Ok(r"[^\n\r]".to_owned())
            }
            '?' | '*' | '+' => Err(self.error_here(format!("quantifier '{c}' without an atom"))),
            '{' => Err(self.error_here("quantifier '{' without an atom (escape it as '\\{')")),
            '}' => Err(self.error_here("unescaped '}' (escape it as '\\}')")),
            ']' => Err(self.error_here("unescaped ']' outside a character class")),
            _ => {
                self.pos += 1;
                Ok(literal(c))
            }
        }
    }

    /// Parses an escape starting at the current `\`.
    fn parse_escape(&mut self) -> Result<ClassAtom, RegexError> {
        let start = self.pos;
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(self.error_at(start, "pattern ends with a lone '\\'"));
        };
        self.pos += 1;
        let atom = match c {
            'n' => ClassAtom::Char('\n'),
            'r' => ClassAtom::Char('\r'),
            't' => ClassAtom::Char('\t'),
            '\\' | '|' | '.' | '?' | '*' | '+' | '(' | ')' | '{' | '}' | '-' | '[' | ']' | '^' => {
                ClassAtom::Char(c)
            }
            's' => ClassAtom::Set(r"[\t\n\r\x20]".to_owned()),
            'S' => ClassAtom::Set(r"[^\t\n\r\x20]".to_owned()),
            'd' => ClassAtom::Set(r"\p{Nd}".to_owned()),
            'D' => ClassAtom::Set(r"\P{Nd}".to_owned()),
            'w' => ClassAtom::Set(r"[^\p{P}\p{Z}\p{C}]".to_owned()),
            'W' => ClassAtom::Set(r"[\p{P}\p{Z}\p{C}]".to_owned()),
            'i' => ClassAtom::Set(format!("[{}]", name_start_ranges())),
            'I' => ClassAtom::Set(format!("[^{}]", name_start_ranges())),
            'c' => ClassAtom::Set(format!("[{}]", name_char_ranges())),
            'C' => ClassAtom::Set(format!("[^{}]", name_char_ranges())),
            'p' | 'P' => ClassAtom::Set(self.parse_property(start, c == 'P')?),
            _ => {
                return Err(self.error_at(start, format!("unknown escape '\\{c}'")));
            }
        };
        Ok(atom)
    }

    /// Parses the `{name}` of a `\p` / `\P` escape (the letter is already consumed).
    fn parse_property(&mut self, start: usize, negated: bool) -> Result<String, RegexError> {
        if self.peek() != Some('{') {
            return Err(self.error_at(start, "'\\p' / '\\P' must be followed by '{name}'"));
        }
        self.pos += 1;
        let name_start = self.pos;
        while let Some(c) = self.peek() {
            if c == '}' {
                break;
            }
            self.pos += 1;
        }
        if self.peek() != Some('}') {
            return Err(self.error_at(start, "unterminated '\\p{' property escape"));
        }
        let name: String = self.chars[name_start..self.pos].iter().collect();
        self.pos += 1;
        if let Some(block) = name.strip_prefix("Is") {
            let Some(ranges) = blocks::block_ranges(block) else {
                return Err(self.error_at(name_start, format!("unknown Unicode block 'Is{block}'")));
            };
            let body = render_ranges(&ranges);
            return Ok(match (body.is_empty(), negated) {
                // Surrogate-only blocks are empty: no Rust string can contain them.
                (true, false) => EMPTY_CLASS.to_owned(),
                (true, true) => format!("[^{EMPTY_CLASS}]"),
                (false, false) => format!("[{body}]"),
                (false, true) => format!("[^{body}]"),
            });
        }
        if !is_category(&name) {
            return Err(self.error_at(
                name_start,
                format!("unknown Unicode general category '{name}'"),
            ));
        }
        let letter = if negated { 'P' } else { 'p' };
        Ok(format!(r"\{letter}{{{name}}}"))
    }

    /// `charClassExpr ::= '[' charGroup ']'`, where a charGroup is a positive or
    /// negative group optionally followed by `-` and a subtracted charClassExpr.
    fn parse_class_expr(&mut self) -> Result<String, RegexError> {
        let open = self.pos;
        self.enter()?;
        self.pos += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut items = String::new();
        let mut count = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(open, "unclosed character class '['"));
            };
            match c {
                ']' => {
                    if count == 0 {
                        return Err(self.error_at(open, "empty character class"));
                    }
                    self.pos += 1;
                    self.leave();
                    return Ok(render_group(negated, &items));
                }
                '[' => {
                    return Err(self.error_here(
                        "unescaped '[' inside a character class (escape it as '\\[')",
                    ));
                }
                '-' if self.peek_at(1) == Some('[') => {
                    if count == 0 {
                        return Err(self
                            .error_here("class subtraction needs a character group before '-['"));
                    }
                    self.pos += 1;
                    let subtracted = self.parse_class_expr()?;
                    if self.peek() != Some(']') {
                        return Err(self.error_here(
                            "class subtraction must be the last part of a character class",
                        ));
                    }
                    self.pos += 1;
                    self.leave();
                    return Ok(format!("[{}--{subtracted}]", render_group(negated, &items)));
                }
                '-' => {
                    // XSD 1.0 allows a bare '-' only first or last in a group.
                    if count == 0 || self.peek_at(1) == Some(']') || self.dash_ends_group(1) {
                        self.pos += 1;
                        items.push_str(&literal(c));
                        count += 1;
                    } else {
                        return Err(self.error_here(
                            "unescaped '-' inside a character class (escape it as '\\-')",
                        ));
                    }
                }
                _ => {
                    self.parse_class_member(&mut items)?;
                    count += 1;
                }
            }
        }
    }

    /// One `charRange | charClassEsc` member of a group: a char, a range `a-z`, or
    /// a multi-char / property escape.
    fn parse_class_member(&mut self, items: &mut String) -> Result<(), RegexError> {
        let start = self.pos;
        let first = self.parse_class_atom()?;
        let range_follows = self.peek() == Some('-')
            && !matches!(self.peek_at(1), Some(']') | Some('[') | None)
            && !self.dash_ends_group(1);
        match first {
            ClassAtom::Set(set) => {
                if range_follows {
                    return Err(self.error_at(
                        start,
                        "a character range cannot start with a multi-character escape",
                    ));
                }
                items.push_str(&set);
            }
            ClassAtom::Char(low) if range_follows => {
                self.pos += 1;
                let end_at = self.pos;
                if self.peek() == Some('-') {
                    return Err(
                        self.error_here("unescaped '-' as a range end (escape it as '\\-')")
                    );
                }
                let high = match self.parse_class_atom()? {
                    ClassAtom::Char(high) => high,
                    ClassAtom::Set(_) => {
                        return Err(self.error_at(
                            end_at,
                            "a character range cannot end with a multi-character escape",
                        ));
                    }
                };
                if low > high {
                    return Err(self.error_at(
                        start,
                        format!(
                            "character range U+{:04X}-U+{:04X} is reversed",
                            u32::from(low),
                            u32::from(high)
                        ),
                    ));
                }
                items.push_str(&render_ranges(&[(u32::from(low), u32::from(high))]));
            }
            ClassAtom::Char(c) => items.push_str(&literal(c)),
        }
        Ok(())
    }

    /// A single char or escape inside a class (never `[`, `]`, or an unescaped `-`
    /// as a range end; the caller handles those).
    fn parse_class_atom(&mut self) -> Result<ClassAtom, RegexError> {
        match self.peek() {
            None => Err(self.error_here("unclosed character class '['")),
            Some('\\') => self.parse_escape(),
            Some('[') => {
                Err(self.error_here("unescaped '[' inside a character class (escape it as '\\[')"))
            }
            Some(']') => Err(self.error_here("character range is missing its end")),
            Some(c) => {
                self.pos += 1;
                Ok(ClassAtom::Char(c))
            }
        }
    }
}

/// A class that matches nothing (the `regex` crate has no `[]`).
const EMPTY_CLASS: &str = r"[a&&b]";

/// The XSD 1.0 general-category names (Appendix F.1.1); `Cs` is deliberately absent.
fn is_category(name: &str) -> bool {
    matches!(
        name,
        "L" | "Lu"
            | "Ll"
            | "Lt"
            | "Lm"
            | "Lo"
            | "M"
            | "Mn"
            | "Mc"
            | "Me"
            | "N"
            | "Nd"
            | "Nl"
            | "No"
            | "P"
            | "Pc"
            | "Pd"
            | "Ps"
            | "Pe"
            | "Pi"
            | "Pf"
            | "Po"
            | "Z"
            | "Zs"
            | "Zl"
            | "Zp"
            | "S"
            | "Sm"
            | "Sc"
            | "Sk"
            | "So"
            | "C"
            | "Cc"
            | "Cf"
            | "Co"
            | "Cn"
    )
}

/// A literal char, inside or outside a class. Hex escapes for everything but ASCII
/// alphanumerics sidestep every question of which chars `regex` treats as special.
fn literal(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!(r"\x{{{:X}}}", u32::from(c))
    }
}

/// Wraps rendered group members into a bracketed class.
fn render_group(negated: bool, items: &str) -> String {
    let body = if items.is_empty() { EMPTY_CLASS } else { items };
    if negated {
        format!("[^{body}]")
    } else {
        format!("[{body}]")
    }
}

/// Renders inclusive code point ranges as class members, dropping surrogates (they
/// are not scalar values, so `regex` rejects them and strings cannot hold them).
fn render_ranges(ranges: &[(u32, u32)]) -> String {
    let mut out = String::new();
    for &(first, last) in ranges {
        for (lo, hi) in [(first, last.min(0xD7FF)), (first.max(0xE000), last)] {
            if lo > hi || hi > 0x10FFFF {
                continue;
            }
            if lo == hi {
                out.push_str(&format!(r"\x{{{lo:X}}}"));
            } else {
                out.push_str(&format!(r"\x{{{lo:X}}}-\x{{{hi:X}}}"));
            }
        }
    }
    out
}

/// Class members for XSD `\i`: XML 1.0 (5th ed.) `NameStartChar`, which holds `_` and `:` (see
/// [`names`] for why the fifth edition's table rather than Appendix B's `Letter`).
fn name_start_ranges() -> &'static str {
    static RANGES: OnceLock<String> = OnceLock::new();
    RANGES.get_or_init(|| render_ranges(&char_ranges(&[names::NAME_START_CHAR])))
}

/// Class members for XSD `\c`: XML 1.0 (5th ed.) `NameChar`.
fn name_char_ranges() -> &'static str {
    static RANGES: OnceLock<String> = OnceLock::new();
    RANGES.get_or_init(|| {
        render_ranges(&char_ranges(&[
            names::NAME_START_CHAR,
            names::NAME_CHAR_EXTRA,
        ]))
    })
}

/// The code point ranges of character-range tables, concatenated.
fn char_ranges(tables: &[&[(char, char)]]) -> Vec<(u32, u32)> {
    tables
        .iter()
        .flat_map(|t| t.iter().map(|&(a, b)| (u32::from(a), u32::from(b))))
        .collect()
}
