//! The hardened XML reader every other part of `xml` reads through.
//!
//! It reads bytes, not strings: the input is checked as UTF-8 once (whole, for a slice; chunk by chunk,
//! for a stream), and a byte-level tokenizer ([`scan`]) cuts it into markup and text without allocating.
//! The reader turns tokens into the few events the validator and the schema loader need: a start tag
//! with namespace-resolved names and decoded attribute values, an end tag, and the character data between
//! markup merged into one piece (entity and character references resolved, CDATA sections included,
//! comments and processing instructions dropped). Events borrow from the reader: names and plain values
//! point into the input, and only a value with a reference, a CR or white space to normalize is decoded,
//! into a buffer the reader reuses.
//!
//! Positions are byte offsets ([`Mark`]); a line and column are computed only when asked for
//! ([`XmlReader::position`]), which is when a violation is reported. Hostile input is refused here,
//! before anything downstream sees it: a DTD or an entity other than the five predefined ones is an error
//! (so entity expansion never happens), and nesting depth, document size, attribute count and text
//! length are bounded by [`Limits`]. Invalid UTF-8 and characters XML 1.0 forbids are errors that carry
//! their position. Memory is bounded by nesting depth: a stream is read through a window that keeps only
//! the token being read (and the text being merged).

mod input;
mod lines;
mod scan;

use std::fmt;
use std::io::BufRead;
use std::ops::Range;

use crate::xml::names;
pub use input::{SliceSource, Source, StreamSource};
use lines::Lines;
use scan::{Place, RawAttr, Scan, Token};

/// The XML namespace, bound to the `xml` prefix in every document.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes; never bound to a prefix by a document.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Bounds on what one document may make the reader hold or do.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest element nesting accepted. Default 256: government messages nest about 10 deep, and the
    /// validator's memory grows with depth, so a bound here bounds memory.
    pub max_depth: usize,
    /// Largest document in bytes. Default 1 GiB: the validator streams, so size costs time, not memory;
    /// the bound stops an endless stream.
    pub max_document_bytes: u64,
    /// Most attributes on one element. Default 4096: real messages use a handful, but generated
    /// documents (and the W3C suite) carry thousands; duplicate detection stays linear.
    pub max_attributes: usize,
    /// Longest text content (after merging) of one element, in bytes. Default 16 MiB: base64 attachments
    /// are the largest legitimate values; text is held whole until its element ends.
    pub max_text_bytes: usize,
    /// Longest single tag (name plus attributes) in bytes. Default 1 MiB.
    pub max_tag_bytes: usize,
    /// Skip a document type declaration instead of refusing it. Default false: messages never carry
    /// one. Schema documents read from disk may (the W3C XML Signature schema that SMEV envelopes
    /// import starts with one), so the schema loader sets it. Nothing in the DTD is ever processed:
    /// a reference to an entity it declares is still an error.
    pub skip_doctype: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_document_bytes: 1 << 30,
            max_attributes: 4096,
            max_text_bytes: 16 << 20,
            max_tag_bytes: 1 << 20,
            skip_doctype: false,
        }
    }
}

/// A place in the document: 1-based line and column (the column counts bytes from the line start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1, in bytes.
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A byte offset in the document, from which [`XmlReader::position`] gives a line and column.
pub type Mark = u64;

/// One attribute of a start tag, its name resolved and its value decoded and normalized
/// (XML 1.0 §3.3.3: literal white space becomes spaces; references are resolved after that).
/// Borrowed from the reader until its next event.
#[derive(Clone, Copy, Debug)]
pub struct Attribute<'r> {
    /// Namespace of the attribute (unprefixed attributes have none).
    pub ns: Option<&'r str>,
    /// Local name.
    pub local: &'r str,
    /// The prefix as written, for messages.
    pub prefix: Option<&'r str>,
    /// Decoded value.
    pub value: &'r str,
}

/// A start tag (or an empty-element tag, which the reader follows with an [`Event::End`]).
#[derive(Clone, Copy, Debug)]
pub struct StartTag<'r> {
    /// Namespace of the element.
    pub ns: Option<&'r str>,
    /// Local name.
    pub local: &'r str,
    /// The prefix as written, kept so paths in messages read like the document.
    pub prefix: Option<&'r str>,
    /// Where the tag starts.
    pub mark: Mark,
    attrs: &'r [AttrOut],
    window: &'r str,
    base: u64,
    values: &'r str,
    uris: &'r [Box<str>],
}

impl<'r> StartTag<'r> {
    /// Attributes other than namespace declarations, in document order.
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = Attribute<'r>> + Clone + use<'r> {
        let (window, base, values, uris) = (self.window, self.base, self.values, self.uris);
        let local =
            move |r: &Range<u64>| &window[(r.start - base) as usize..(r.end - base) as usize];
        self.attrs.iter().map(move |a| Attribute {
            ns: a.ns.map(|i| &*uris[i as usize]),
            local: local(&a.local),
            prefix: a.prefix.as_ref().map(local),
            value: match &a.value {
                Value::Raw(r) => local(r),
                Value::Decoded(r) => &values[r.clone()],
            },
        })
    }

    /// The attribute with this namespace and local name.
    pub fn attribute(&self, ns: Option<&str>, local: &str) -> Option<Attribute<'r>> {
        self.attributes().find(|a| a.ns == ns && a.local == local)
    }
}

/// What the reader hands out.
#[derive(Clone, Copy, Debug)]
pub enum Event<'r> {
    /// An element starts.
    Start(StartTag<'r>),
    /// Character data between two pieces of markup, with where it starts. Never empty.
    Text(&'r str, Mark),
    /// The innermost open element ends; the mark is its end tag's.
    End(Mark),
    /// The document is complete.
    Eof,
}

/// Why a document could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XmlErrorKind {
    /// Not well-formed XML (XML 1.0 §2.1), with quick-xml's or our own explanation.
    Syntax(String),
    /// A document type declaration: refused so that no entity can ever be declared or expanded.
    Dtd,
    /// A reference to an entity other than `lt`, `gt`, `amp`, `apos`, `quot` (XML 1.0 §4.1, WFC: Entity
    /// Declared; with DTDs refused none can be declared).
    UndeclaredEntity(String),
    /// A reference that is not a name or a character number (XML 1.0 §4.1); not echoed, as it may be
    /// a piece of data.
    MalformedReference,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A character XML 1.0 §2.2 does not allow.
    InvalidChar(u32),
    /// A prefix with no namespace declaration in scope (Namespaces in XML §5).
    UndeclaredPrefix(String),
    /// The same attribute twice (XML 1.0 WFC: Unique Att Spec; Namespaces §6.3 for expanded names).
    DuplicateAttribute(String),
    /// A bound from [`Limits`] was passed: which one and its value.
    Limit(&'static str, u64),
    /// The underlying reader failed.
    Io(String),
    /// The document's character encoding cannot be read: unknown, contradicted by the bytes, or bytes
    /// malformed in it (XML 1.0 §4.3.3); see [`crate::xml::encoding`].
    Encoding(String),
}

/// An error reading XML, with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    /// What went wrong.
    pub kind: XmlErrorKind,
    /// Where.
    pub position: Position,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.kind)
    }
}

impl fmt::Display for XmlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlErrorKind::Syntax(m) => write!(f, "not well-formed XML: {m}"),
            XmlErrorKind::Dtd => write!(f, "a DTD is not accepted (entities are never expanded)"),
            XmlErrorKind::UndeclaredEntity(n) => write!(f, "reference to undeclared entity '{n}'"),
            XmlErrorKind::MalformedReference => {
                write!(f, "malformed character or entity reference")
            }
            XmlErrorKind::InvalidUtf8 => write!(f, "invalid UTF-8"),
            XmlErrorKind::InvalidChar(c) => write!(f, "character U+{c:04X} is not allowed in XML"),
            XmlErrorKind::UndeclaredPrefix(p) => {
                write!(f, "namespace prefix '{p}' is not declared")
            }
            XmlErrorKind::DuplicateAttribute(a) => write!(f, "attribute '{a}' appears twice"),
            XmlErrorKind::Limit(what, n) => write!(f, "limit exceeded: {what} (at most {n})"),
            XmlErrorKind::Io(m) => write!(f, "read error: {m}"),
            XmlErrorKind::Encoding(m) => write!(f, "character encoding: {m}"),
        }
    }
}

impl std::error::Error for XmlError {}
/// An attribute's value: as written, or decoded into the reader's value buffer.
#[derive(Clone, Debug)]
enum Value {
    /// Document offsets of the value as written (it needed no decoding).
    Raw(Range<u64>),
    /// A range of the value buffer.
    Decoded(Range<usize>),
}

/// A resolved attribute, by offsets.
#[derive(Clone, Debug)]
struct AttrOut {
    ns: Option<u32>,
    local: Range<u64>,
    prefix: Option<Range<u64>>,
    value: Value,
}

/// An open element.
#[derive(Debug)]
struct Open {
    /// Its qualified name, a range of `XmlReader::names`, for matching the end tag.
    name: Range<usize>,
    mark: Mark,
    /// Where its namespace bindings begin.
    bindings: usize,
    /// Fixed when a stream lets go of the bytes at `mark`.
    position: Option<Position>,
}

/// The namespace declarations in scope.
#[derive(Debug, Default)]
struct Namespaces {
    /// Prefix (a range of `prefixes`; empty for the default namespace) and namespace (an index into
    /// `uris`; `None` for `xmlns=""`), innermost last.
    bindings: Vec<(Range<usize>, Option<u32>)>,
    prefixes: String,
    /// Every namespace named in the document, once.
    uris: Vec<Box<str>>,
}

impl Namespaces {
    fn bind(&mut self, prefix: &str, uri: &str) {
        let start = self.prefixes.len();
        self.prefixes.push_str(prefix);
        let id = (!uri.is_empty()).then(|| match self.uris.iter().position(|u| **u == *uri) {
            Some(i) => i as u32,
            None => {
                self.uris.push(uri.into());
                (self.uris.len() - 1) as u32
            }
        });
        self.bindings.push((start..self.prefixes.len(), id));
    }

    fn truncate(&mut self, len: usize) {
        if let Some((p, _)) = self.bindings.get(len) {
            self.prefixes.truncate(p.start);
        }
        self.bindings.truncate(len);
    }

    /// `Err` when the prefix is not bound; `Ok(None)` for the default namespace undeclared or unset.
    fn resolve(&self, prefix: &str) -> Result<Option<u32>, ()> {
        match self
            .bindings
            .iter()
            .rev()
            .find(|(p, _)| self.prefixes[p.clone()] == *prefix)
        {
            Some((_, id)) if id.is_some() || prefix.is_empty() => Ok(*id),
            _ if prefix.is_empty() => Ok(None),
            _ => Err(()),
        }
    }
}

/// The event last read, by offsets.
#[derive(Clone, Debug)]
enum Current {
    Start {
        name: Range<u64>,
        colon: Option<u64>,
        ns: Option<u32>,
        mark: Mark,
    },
    /// Text as written (one piece that needed no decoding), or in the text buffer.
    Text(Option<Range<u64>>, Mark),
    End(Mark),
    Eof,
}

/// The hardened pull reader. See the module docs.
pub struct XmlReader<S: Source> {
    src: S,
    limits: Limits,
    place: Place,
    /// Document offset of the next token.
    offset: u64,
    open: Vec<Open>,
    names: String,
    ns: Namespaces,
    raw_attrs: Vec<RawAttr>,
    attrs: Vec<AttrOut>,
    values: String,
    /// Text read since the last markup: as written, or merged into `text`; and where it began.
    pending: Option<(Option<Range<u64>>, Mark)>,
    text: String,
    current: Current,
    /// Markup read while text was being merged, to hand out after the text.
    held: Option<Current>,
    /// An empty-element tag is reported as Start then End; this is the End still owed.
    end_pending: Option<Mark>,
    /// The End of an empty-element tag whose Start is still held behind text.
    end_owed: Option<Mark>,
    /// An element's bindings stay in scope until the event after its end tag, so that the text and
    /// attributes of the element just closed can still resolve QName values.
    pop_pending: bool,
    skip_blank_text: bool,
    seen_doctype: bool,
    lines: lines::Lines,
}

impl<'a> XmlReader<SliceSource<'a>> {
    /// A reader over UTF-8 in memory, read in place: what [`crate::xml::encoding::decode`] makes of a
    /// document (its byte order mark already taken off; a second one is a character outside the root).
    pub fn from_bytes(bytes: &'a [u8], limits: Limits) -> Self {
        XmlReader::with_source(SliceSource::new(bytes), limits)
    }

    /// A reader over the readable start of a document whose bytes went bad after it (what
    /// [`crate::xml::encoding::decode_until_error`] could decode): reaching its end is an error
    /// ([`XmlErrorKind::InvalidUtf8`] at that offset), raised where a stream of the same document
    /// meets the bad bytes — after every complete token before them, before a token they cut.
    pub fn from_bytes_cut(bytes: &'a [u8], limits: Limits) -> Self {
        XmlReader::with_source(SliceSource::cut(bytes), limits)
    }
}

impl<R: BufRead> XmlReader<StreamSource<R>> {
    /// A reader over any buffered source of UTF-8 (a file, a socket body), as
    /// [`crate::xml::encoding::decode_stream`] gives it: byte order mark skipped.
    pub fn new(source: R, limits: Limits) -> Self {
        XmlReader::with_source(StreamSource::new(source), limits)
    }
}

impl<S: Source> XmlReader<S> {
    fn with_source(src: S, limits: Limits) -> Self {
        XmlReader {
            src,
            limits,
            place: Place::Start,
            offset: 0,
            // Sized for a usual message up front: growing each buffer step by step costs more than
            // these few allocations (most documents are small and many).
            open: Vec::with_capacity(16),
            names: String::with_capacity(256),
            ns: Namespaces {
                bindings: Vec::with_capacity(8),
                prefixes: String::with_capacity(64),
                uris: Vec::with_capacity(8),
            },
            raw_attrs: Vec::with_capacity(8),
            attrs: Vec::with_capacity(8),
            values: String::with_capacity(64),
            pending: None,
            text: String::with_capacity(256),
            current: Current::Eof,
            held: None,
            end_pending: None,
            end_owed: None,
            pop_pending: false,
            skip_blank_text: false,
            seen_doctype: false,
            lines: Lines::default(),
        }
    }

    /// Resolve a prefix ("" for the default namespace) in the scope of the element last started or
    /// ended. `None` when it is not bound, and for a default namespace undeclared with `xmlns=""`
    /// (callers read that as "no namespace").
    pub fn resolve_prefix(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.ns
            .resolve(prefix)
            .ok()
            .flatten()
            .map(|i| &*self.ns.uris[i as usize])
    }

    /// All bindings in scope (innermost wins), for components that must remember their namespace
    /// context, like schema facets with QName values.
    pub fn namespaces_in_scope(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut undeclared: Vec<&str> = Vec::new();
        for (p, id) in self.ns.bindings.iter().rev() {
            let p = &self.ns.prefixes[p.clone()];
            if out.iter().any(|(q, _)| q == p) || undeclared.contains(&p) {
                continue;
            }
            match id {
                Some(i) => out.push((p.to_owned(), self.ns.uris[*i as usize].to_string())),
                None => undeclared.push(p),
            }
        }
        out
    }

    /// Whether runs of white space alone may be dropped instead of reported: a validator inside
    /// element-only content has no use for the indentation between elements, and not copying it out is
    /// a good share of the reading cost. Non-blank text is always reported.
    pub fn skip_blank_text(&mut self, skip: bool) {
        self.skip_blank_text = skip;
    }

    /// Current nesting depth (open elements).
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The line and column of a mark of the current event or of an element still open (a stream
    /// keeps no more than that); for anything else, the last position counted.
    pub fn position(&self, mark: Mark) -> Position {
        let window = self.src.window().as_bytes();
        if let Some(p) = self.lines.position(window, self.src.base(), mark) {
            return p;
        }
        self.open
            .iter()
            .rev()
            .find(|o| o.mark == mark)
            .and_then(|o| o.position)
            .unwrap_or_else(|| {
                let base = self.src.base();
                self.lines.position(window, base, base).unwrap_or_default()
            })
    }

    fn error(&self, kind: XmlErrorKind, offset: u64) -> XmlError {
        XmlError {
            kind,
            position: self.position(offset),
        }
    }

    /// The event read by the last [`XmlReader::advance`].
    pub fn event(&self) -> Event<'_> {
        let window = self.src.window();
        let base = self.src.base();
        let at = |r: &Range<u64>| &window[(r.start - base) as usize..(r.end - base) as usize];
        match &self.current {
            Current::Start {
                name,
                colon,
                ns,
                mark,
            } => {
                let (prefix, local) = match colon {
                    Some(c) => (Some(at(&(name.start..*c))), at(&(c + 1..name.end))),
                    None => (None, at(name)),
                };
                Event::Start(StartTag {
                    ns: ns.map(|i| &*self.ns.uris[i as usize]),
                    local,
                    prefix,
                    mark: *mark,
                    attrs: &self.attrs,
                    window,
                    base,
                    values: &self.values,
                    uris: &self.ns.uris,
                })
            }
            Current::Text(Some(r), mark) => Event::Text(at(r), *mark),
            Current::Text(None, mark) => Event::Text(&self.text, *mark),
            Current::End(mark) => Event::End(*mark),
            Current::Eof => Event::Eof,
        }
    }

    /// Read the next event and return it. After an error the reader should not be used further.
    pub fn next_event(&mut self) -> Result<Event<'_>, XmlError> {
        self.advance()?;
        Ok(self.event())
    }

    /// Read the next event, to be looked at with [`XmlReader::event`] (which leaves the reader free
    /// for [`XmlReader::position`] and [`XmlReader::resolve_prefix`] meanwhile).
    pub fn advance(&mut self) -> Result<(), XmlError> {
        if let Some(mark) = self.end_pending.take() {
            self.current = Current::End(mark);
            self.pop_pending = true;
            return Ok(());
        }
        if self.pop_pending {
            self.pop_pending = false;
            if let Some(o) = self.open.pop() {
                self.ns.truncate(o.bindings);
                self.names.truncate(o.name.start);
            }
            if self.open.is_empty() {
                self.place = Place::Epilog;
            }
        }
        if let Some(ev) = self.held.take() {
            self.emit(ev);
            return Ok(());
        }
        loop {
            if self.offset > self.limits.max_document_bytes {
                let max = self.limits.max_document_bytes;
                let kind = XmlErrorKind::Limit("document size in bytes", max);
                return Err(self.error(kind, self.offset));
            }
            let base = self.src.base();
            let window = self.src.window().as_bytes();
            let at = (self.offset - base) as usize;
            let eof = self.src.at_end();
            let scanned = if at < window.len() {
                let (max, doctype) = (self.limits.max_attributes, self.limits.skip_doctype);
                scan::scan(
                    window,
                    at,
                    eof,
                    self.place,
                    doctype,
                    &mut self.raw_attrs,
                    max,
                )
            } else if eof {
                return self.end_of_document();
            } else {
                Scan::More
            };
            match scanned {
                Scan::More => self.refill()?,
                Scan::Error(kind, at) => return Err(self.error(kind, base + at as u64)),
                Scan::Token(token) => {
                    let ready = self.token(token, base)?;
                    // The declaration may only come first.
                    if self.place == Place::Start {
                        self.place = Place::Prolog;
                    }
                    if ready {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Let the window go up to what is still needed (the token being read, the text being merged) and
    /// read more.
    fn refill(&mut self) -> Result<(), XmlError> {
        // Text merged into the buffer no longer needs the window.
        let keep = match &self.pending {
            Some((Some(raw), _)) => self.offset.min(raw.start),
            _ => self.offset,
        };
        let base = self.src.base();
        if keep > base {
            let window = self.src.window().as_bytes();
            // Elements still open whose start is about to go: fix their positions first.
            for i in 0..self.open.len() {
                let o = &self.open[i];
                if o.position.is_none() && o.mark >= base && o.mark < keep {
                    self.open[i].position = self.lines.position(window, base, self.open[i].mark);
                }
            }
            self.lines.discard(window, base, keep);
        }
        let cap = self.limits.max_tag_bytes + self.limits.max_text_bytes;
        self.src
            .refill(keep, cap)
            .map_err(|(kind, at)| self.error(kind, at))
    }

    /// Take one token; `true` when it makes an event ready.
    fn token(&mut self, token: Token, base: u64) -> Result<bool, XmlError> {
        let start = self.offset;
        match token {
            Token::Text { end, plain, blank } => {
                self.offset = base + end as u64;
                self.take_text(start..self.offset, plain, blank)?;
            }
            Token::Reference { name, end } => {
                self.offset = base + end as u64;
                let window = self.src.window();
                let name = &window[name];
                let c = match resolve_reference(name) {
                    Some(Ok(c)) => c,
                    Some(Err(code)) => {
                        return Err(self.error(XmlErrorKind::InvalidChar(code), start));
                    }
                    None => return Err(self.error(undeclared(name), start)),
                };
                if self.place != Place::Content {
                    let kind = XmlErrorKind::Syntax("text outside the root element".into());
                    return Err(self.error(kind, start));
                }
                let blank = matches!(c, ' ' | '\t' | '\n' | '\r');
                if self.text_allowed(blank, start, c.len_utf8())? {
                    self.begin_buffered(start);
                    self.text.push(c);
                }
            }
            Token::CData { content, end } => {
                self.offset = base + end as u64;
                let piece = &self.src.window().as_bytes()[content.clone()];
                let blank = piece
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
                if !content.is_empty() && self.text_allowed(blank, start, content.len())? {
                    self.begin_buffered(start);
                    push_normalized(&mut self.text, &self.src.window()[content]);
                }
            }
            Token::Skipped { end } => {
                self.offset = base + end as u64;
                if self.place == Place::Start {
                    self.place = Place::Prolog;
                }
            }
            Token::Declaration { end } => {
                // The encoding it names has been checked against the bytes before they got here.
                self.offset = base + end as u64;
                self.place = Place::Prolog;
            }
            Token::Doctype { end } => {
                if self.seen_doctype {
                    return Err(self.error(XmlErrorKind::Dtd, start));
                }
                self.seen_doctype = true;
                self.offset = base + end as u64;
                self.place = Place::Prolog;
            }
            Token::Start {
                name,
                colon,
                empty,
                end,
            } => {
                self.start_tag(base, name, colon, end)?;
                self.offset = base + end as u64;
                if empty {
                    // Owed once the Start has gone out (see `emit`).
                    self.end_owed = Some(start);
                }
                let current = self.current.clone();
                self.deliver(current);
                return Ok(true);
            }
            Token::End { name, end } => {
                let window = self.src.window();
                let found = &window[name];
                let expected = self.open.last().map(|o| &self.names[o.name.clone()]);
                if expected != Some(found) {
                    let msg = match expected {
                        Some(e) => {
                            format!("end tag '</{found}>' does not match the start tag '<{e}>'")
                        }
                        None => format!("end tag '</{found}>' has no start tag"),
                    };
                    return Err(self.error(XmlErrorKind::Syntax(msg), start));
                }
                self.offset = base + end as u64;
                self.deliver(Current::End(start));
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn end_of_document(&mut self) -> Result<(), XmlError> {
        let kind = match self.place {
            Place::Start | Place::Prolog => XmlErrorKind::Syntax("no root element".into()),
            Place::Content => XmlErrorKind::Syntax("document ends inside an element".into()),
            Place::Epilog => {
                self.deliver(Current::Eof);
                return Ok(());
            }
        };
        Err(self.error(kind, self.offset))
    }

    /// Markup ends a run of text: hand out the text first and hold the markup.
    fn deliver(&mut self, ev: Current) {
        match self.pending.take() {
            Some((span, mark)) => {
                self.held = Some(ev);
                self.current = Current::Text(span, mark);
            }
            None => self.emit(ev),
        }
    }

    fn emit(&mut self, ev: Current) {
        match &ev {
            Current::Start { .. } => {
                if let Some(mark) = self.end_owed.take() {
                    self.end_pending = Some(mark);
                }
            }
            Current::End(_) => self.pop_pending = true,
            _ => {}
        }
        self.current = ev;
    }

    fn check_text_limit(&self, add: usize, offset: u64) -> Result<(), XmlError> {
        let have = match &self.pending {
            Some((Some(r), _)) => (r.end - r.start) as usize,
            Some((None, _)) => self.text.len(),
            None => 0,
        };
        if have + add > self.limits.max_text_bytes {
            let max = self.limits.max_text_bytes as u64;
            return Err(self.error(XmlErrorKind::Limit("text length in bytes", max), offset));
        }
        Ok(())
    }

    /// Text as written in the window (`plain`: no CR to normalize).
    fn take_text(&mut self, range: Range<u64>, plain: bool, blank: bool) -> Result<(), XmlError> {
        let len = (range.end - range.start) as usize;
        if !self.text_allowed(blank, range.start, len)? {
            return Ok(());
        }
        if plain && self.pending.is_none() {
            self.pending = Some((Some(range.clone()), range.start));
            return Ok(());
        }
        self.begin_buffered(range.start);
        let base = self.src.base();
        let piece = &self.src.window()[(range.start - base) as usize..(range.end - base) as usize];
        push_normalized(&mut self.text, piece);
        Ok(())
    }

    /// Whether text belongs in the merged run: refused outside the root unless blank, dropped when blank
    /// and blank text is being skipped, bounded.
    fn text_allowed(&mut self, blank: bool, at: u64, len: usize) -> Result<bool, XmlError> {
        if self.place != Place::Content {
            if !blank {
                let kind = XmlErrorKind::Syntax("text outside the root element".into());
                return Err(self.error(kind, at));
            }
            return Ok(false);
        }
        self.check_text_limit(len, at)?;
        Ok(!(self.skip_blank_text && self.pending.is_none() && blank))
    }

    /// Text is about to be merged into the text buffer: start it, or move a run held as written there.
    fn begin_buffered(&mut self, at: u64) {
        match self.pending.take() {
            None => {
                self.text.clear();
                self.pending = Some((None, at));
            }
            Some((Some(r), mark)) => {
                let base = self.src.base();
                self.text.clear();
                self.text.push_str(
                    &self.src.window()[(r.start - base) as usize..(r.end - base) as usize],
                );
                self.pending = Some((None, mark));
            }
            Some(p @ (None, _)) => self.pending = Some(p),
        }
    }

    fn start_tag(
        &mut self,
        base: u64,
        name: Range<usize>,
        colon: Option<usize>,
        end: usize,
    ) -> Result<(), XmlError> {
        let mark = self.offset;
        let refused = if end - (mark - base) as usize > self.limits.max_tag_bytes {
            let max = self.limits.max_tag_bytes as u64;
            Some(XmlErrorKind::Limit("tag length in bytes", max))
        } else if self.place == Place::Epilog {
            Some(XmlErrorKind::Syntax("a second root element".into()))
        } else if self.open.len() >= self.limits.max_depth {
            let max = self.limits.max_depth as u64;
            Some(XmlErrorKind::Limit("element nesting depth", max))
        } else {
            None
        };
        if let Some(kind) = refused {
            return Err(self.error(kind, mark));
        }
        self.place = Place::Content;
        let window = self.src.window();
        let name_start = self.names.len();
        self.names.push_str(&window[name.clone()]);
        self.open.push(Open {
            name: name_start..self.names.len(),
            mark,
            bindings: self.ns.bindings.len(),
            position: None,
        });
        self.values.clear();
        self.attrs.clear();
        let resolved = resolve_tag(
            window,
            base,
            &self.raw_attrs,
            &mut self.ns,
            &mut self.values,
            &mut self.attrs,
        )
        .and_then(|()| {
            let prefix = colon.map_or("", |c| &window[name.start..c]);
            match self.ns.resolve(prefix) {
                Ok(ns) => Ok(ns),
                Err(()) => Err(XmlErrorKind::UndeclaredPrefix(prefix.to_owned())),
            }
        });
        match resolved {
            Ok(ns) => {
                self.current = Current::Start {
                    name: base + name.start as u64..base + name.end as u64,
                    colon: colon.map(|c| base + c as u64),
                    ns,
                    mark,
                };
                Ok(())
            }
            Err(kind) => Err(self.error(kind, mark)),
        }
    }
}

/// Bind a start tag's namespace declarations, then resolve and decode its other attributes into
/// `attrs` (values that need it decoded into `values`); refuse duplicates.
fn resolve_tag(
    window: &str,
    base: u64,
    raw: &[RawAttr],
    ns: &mut Namespaces,
    values: &mut String,
    attrs: &mut Vec<AttrOut>,
) -> Result<(), XmlErrorKind> {
    let key = |a: &RawAttr| &window[a.name.clone()];
    // XML 1.0 WFC Unique Att Spec, by name as written (expanded names are checked below).
    if let Some(d) = duplicate(raw, |a, b| key(a) == key(b), |a| key(a)) {
        return Err(XmlErrorKind::DuplicateAttribute(key(d).to_owned()));
    }
    let offsets = |r: &Range<usize>| base + r.start as u64..base + r.end as u64;
    for a in raw {
        let key = key(a);
        let prefix = if key == "xmlns" {
            ""
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            p
        } else {
            continue;
        };
        let value = attribute_value(window, a, values)?;
        let value = match &value {
            Value::Raw(r) => &window[r.start as usize..r.end as usize],
            Value::Decoded(r) => &values[r.clone()],
        };
        if prefix.is_empty() {
            if value == XML_NS || value == XMLNS_NS {
                let msg = format!("'{value}' cannot be the default namespace");
                return Err(XmlErrorKind::Syntax(msg));
            }
        } else if value.is_empty() {
            let msg = format!("prefix '{prefix}' cannot be undeclared in XML 1.0");
            return Err(XmlErrorKind::Syntax(msg));
        } else if prefix == "xmlns" || (prefix == "xml") != (value == XML_NS) || value == XMLNS_NS {
            let msg = format!("reserved prefix or namespace in 'xmlns:{prefix}'");
            return Err(XmlErrorKind::Syntax(msg));
        }
        ns.bind(prefix, value);
    }
    values.clear();
    for a in raw {
        let key = key(a);
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let (prefix, local) = match a.colon {
            Some(c) => (Some(a.name.start..c), c + 1..a.name.end),
            None => (None, a.name.clone()),
        };
        let ans = match &prefix {
            None => None,
            Some(p) if &window[p.clone()] == "xml" => {
                Some(match ns.uris.iter().position(|u| &**u == XML_NS) {
                    Some(i) => i as u32,
                    None => {
                        ns.uris.push(XML_NS.into());
                        (ns.uris.len() - 1) as u32
                    }
                })
            }
            Some(p) => match ns.resolve(&window[p.clone()]) {
                Ok(Some(id)) => Some(id),
                _ => return Err(XmlErrorKind::UndeclaredPrefix(window[p.clone()].to_owned())),
            },
        };
        let value = attribute_value(window, a, values)?;
        let value = match value {
            Value::Raw(r) => Value::Raw(r.start + base..r.end + base),
            decoded => decoded,
        };
        attrs.push(AttrOut {
            ns: ans,
            local: offsets(&local),
            prefix: prefix.as_ref().map(offsets),
            value,
        });
    }
    // Two attributes can also collide on expanded name (Namespaces in XML §6.3).
    let local =
        |a: &AttrOut| &window[(a.local.start - base) as usize..(a.local.end - base) as usize];
    if let Some(d) = duplicate(
        attrs,
        |a, b| a.ns == b.ns && local(a) == local(b),
        |a| local(a),
    ) {
        return Err(XmlErrorKind::DuplicateAttribute(local(d).to_owned()));
    }
    Ok(())
}

/// The first item equal to an earlier one: pairwise for the handful of attributes real tags carry, by
/// hashing the key for the thousands a generated document may hold.
fn duplicate<'t, 'k, T>(
    items: &'t [T],
    same: impl Fn(&T, &T) -> bool,
    key: impl Fn(&T) -> &'k str,
) -> Option<&'t T> {
    if items.len() <= 16 {
        return (1..items.len())
            .find(|&i| items[..i].iter().any(|e| same(e, &items[i])))
            .map(|i| &items[i]);
    }
    let mut by_key: std::collections::HashMap<&'k str, Vec<usize>> =
        std::collections::HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let earlier = by_key.entry(key(item)).or_default();
        if earlier.iter().any(|&e| same(&items[e], item)) {
            return Some(item);
        }
        earlier.push(i);
    }
    None
}

/// An attribute's value: as written when it needs no decoding, else decoded into `values`. Offsets of
/// a raw value are relative to the window here.
fn attribute_value(window: &str, a: &RawAttr, values: &mut String) -> Result<Value, XmlErrorKind> {
    if !a.needs_decoding {
        return Ok(Value::Raw(a.value.start as u64..a.value.end as u64));
    }
    let start = values.len();
    decode_attribute_value(&window[a.value.clone()], values)?;
    Ok(Value::Decoded(start..values.len()))
}

/// Append `s` with its line ends normalized (XML 1.0 §2.11: CR LF and lone CR become LF).
fn push_normalized(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = rest[i + 1..].strip_prefix('\n').unwrap_or(&rest[i + 1..]);
    }
    out.push_str(rest);
}

/// Split `p:l` into prefix and local part.
pub fn split_qname(q: &str) -> (Option<&str>, &str) {
    match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    }
}

/// XML 1.0 §2.2 Char.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Resolve a general reference's name (`lt`, `#60`, `#x3C`): `None` if it is not predefined,
/// `Some(Err(code))` if it names a character XML forbids.
fn resolve_reference(name: &str) -> Option<Result<char, u32>> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()?
            } else if let Some(dec) = name.strip_prefix('#') {
                if dec.is_empty() || !dec.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                dec.parse::<u32>().ok()?
            } else {
                return None;
            };
            if name.starts_with("#x") && (name.len() < 3 || name[2..].starts_with(['+', '-'])) {
                return None;
            }
            return Some(match char::from_u32(code) {
                Some(c) if is_xml_char(c) => Ok(c),
                _ => Err(code),
            });
        }
    };
    Some(Ok(c))
}

/// The error for a reference that resolves to nothing: named when it is a name, else not echoed.
fn undeclared(name: &str) -> XmlErrorKind {
    if names::is_name(name) {
        XmlErrorKind::UndeclaredEntity(name.to_owned())
    } else {
        XmlErrorKind::MalformedReference
    }
}

/// Attribute-value normalization (XML 1.0 §3.3.3) and reference resolution, appended to `out`.
fn decode_attribute_value(raw: &str, out: &mut String) -> Result<(), XmlErrorKind> {
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r']) {
        out.push_str(&rest[..i]);
        match rest.as_bytes()[i] {
            b'&' => {
                let after = &rest[i + 1..];
                let end = after.find(';').ok_or_else(|| {
                    XmlErrorKind::Syntax("unterminated reference in attribute".into())
                })?;
                let name = &after[..end];
                match resolve_reference(name) {
                    Some(Ok(ch)) => out.push(ch),
                    Some(Err(code)) => return Err(XmlErrorKind::InvalidChar(code)),
                    None => return Err(undeclared(name)),
                }
                rest = &after[end + 1..];
            }
            b'\r' => {
                out.push(' ');
                // \r\n is one line end, so one space.
                rest = rest[i + 1..].strip_prefix('\n').unwrap_or(&rest[i + 1..]);
            }
            _ => {
                out.push(' ');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(doc: &str) -> Result<Vec<String>, XmlError> {
        let mut r = XmlReader::from_bytes(doc.as_bytes(), Limits::default());
        let mut out = Vec::new();
        loop {
            match r.next_event()? {
                Event::Start(t) => out.push(format!("<{}|{}", t.ns.unwrap_or_default(), t.local)),
                Event::Text(t, _) => out.push(format!("'{t}'")),
                Event::End(_) => out.push(">".into()),
                Event::Eof => return Ok(out),
            }
        }
    }

    #[test]
    fn merges_text_references_cdata_and_comments() {
        let ev = events("<a xmlns='u'>x&amp;<!--c-->y<![CDATA[<z>]]>&#x41;<b/></a>").unwrap();
        assert_eq!(ev, vec!["<u|a", "'x&y<z>A'", "<u|b", ">", ">"]);
    }

    #[test]
    fn refuses_dtd_and_unknown_entities() {
        let e = events("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::Dtd);
        let e = events("<a>&x;</a>").unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::UndeclaredEntity("x".into()));
    }

    #[test]
    fn reports_positions() {
        let mut r = XmlReader::from_bytes(b"<a>\n  <b/>\n</a>", Limits::default());
        let _ = r.next_event().unwrap();
        let _ = r.next_event().unwrap();
        let mark = match r.next_event().unwrap() {
            Event::Start(t) => t.mark,
            e => panic!("{e:?}"),
        };
        assert_eq!(r.position(mark), Position { line: 2, column: 3 });
    }

    #[test]
    fn bounds_depth_and_refuses_bad_utf8() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let mut r = XmlReader::from_bytes(b"<a><a><a><a/></a></a></a>", limits);
        let err = loop {
            match r.next_event() {
                Ok(Event::Eof) => panic!("accepted"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(matches!(err.kind, XmlErrorKind::Limit(_, 3)));
        let e = events_bytes(b"<a>\xff</a>").unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::InvalidUtf8);
    }

    fn events_bytes(doc: &[u8]) -> Result<(), XmlError> {
        let mut r = XmlReader::from_bytes(doc, Limits::default());
        while !matches!(r.next_event()?, Event::Eof) {}
        Ok(())
    }

    #[test]
    fn resolves_prefixes_and_refuses_undeclared() {
        let ev = events("<p:a xmlns:p='urn:p'><p:b p:x='1'/></p:a>").unwrap();
        assert_eq!(ev[0], "<urn:p|a");
        let e = events("<q:a/>").unwrap_err();
        assert_eq!(e.kind, XmlErrorKind::UndeclaredPrefix("q".into()));
        let e = events("<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>").unwrap_err();
        assert!(matches!(e.kind, XmlErrorKind::DuplicateAttribute(_)));
    }

    #[test]
    fn normalizes_attribute_whitespace() {
        let mut r = XmlReader::from_bytes(b"<a x='1\t2\n3&#10;4'/>", Limits::default());
        match r.next_event().unwrap() {
            Event::Start(t) => assert_eq!(t.attributes().next().unwrap().value, "1 2 3\n4"),
            e => panic!("{e:?}"),
        }
    }
}
