//! The hardened XML reader every other part of `xml` reads through.
//!
//! It wraps quick-xml's pull parser and turns its raw events into the few the validator and the schema
//! loader need: a start tag with namespace-resolved names and decoded attribute values, an end tag, and
//! the character data between markup merged into one piece (entity and character references resolved,
//! CDATA sections included, comments and processing instructions dropped). Every event carries its line
//! and column. Hostile input is refused here, before anything downstream sees it: a DTD or an entity
//! other than the five predefined ones is an error (so entity expansion never happens), and nesting
//! depth, document size, attribute count and text length are bounded by [`Limits`]. Invalid UTF-8 and
//! characters XML 1.0 forbids are errors that carry their position. Memory is bounded by nesting depth:
//! nothing is kept of an element once its end tag has been read.

use std::fmt;
use std::io::BufRead;
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event as QEvent};

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

/// One attribute of a start tag, its name resolved and its value decoded and normalized
/// (XML 1.0 §3.3.3: literal white space becomes spaces; references are resolved after that).
#[derive(Clone, Debug)]
pub struct Attribute {
    /// Namespace of the attribute (unprefixed attributes have none). Shared with the declaration in
    /// scope, so naming a namespace costs no copy.
    pub ns: Option<Arc<str>>,
    /// Local name.
    pub local: String,
    /// The prefix as written, for messages.
    pub prefix: Option<String>,
    /// Decoded value.
    pub value: String,
}

/// A start tag (or an empty-element tag, which the reader follows with an [`Event::End`]).
#[derive(Clone, Debug)]
pub struct StartTag {
    /// Namespace of the element, shared with the declaration in scope.
    pub ns: Option<Arc<str>>,
    /// Local name.
    pub local: String,
    /// The prefix as written, kept so paths in messages read like the document.
    pub prefix: Option<String>,
    /// Attributes other than namespace declarations.
    pub attributes: Vec<Attribute>,
    /// Where the tag starts.
    pub position: Position,
}

/// What the reader hands out.
#[derive(Clone, Debug)]
pub enum Event {
    /// An element starts.
    Start(StartTag),
    /// Character data between two pieces of markup, with its starting position. Never empty.
    Text(String, Position),
    /// The innermost open element ends.
    End(Position),
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

/// Where quick-xml's events come from. A document in memory is read in place (events borrow the
/// input, nothing is copied); a stream is read through a buffer that holds one event at a time, which
/// is what keeps memory bounded for documents of any size.
pub trait Source: Sized {
    /// Read the next raw event and hand it to the reader's event handling.
    fn step(reader: &mut XmlReader<Self>, start: u64) -> Result<Option<Event>, XmlError>;
    /// Bytes consumed so far.
    fn position(&self) -> u64;
}

/// Events straight from a slice in memory.
pub struct SliceSource<'a>(quick_xml::Reader<&'a [u8]>);

/// Events from a buffered stream, one at a time.
pub struct StreamSource<R: BufRead>(quick_xml::Reader<Capped<R>>);

/// A stream that refuses to hand out more than `cap` bytes for one event: quick-xml buffers an event
/// whole before we see it, so without this a single huge comment or text run would be held in memory
/// entire, and memory would grow with the document instead of its depth.
pub struct Capped<R> {
    inner: R,
    since_event: usize,
    cap: usize,
}

/// The error a [`Capped`] stream raises; recognized and reported as a limit.
#[derive(Debug)]
struct EventTooLarge;

impl fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one piece of markup or text is too large")
    }
}

impl std::error::Error for EventTooLarge {}

impl<R: BufRead> std::io::Read for Capped<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Capped<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.since_event > self.cap {
            return Err(std::io::Error::other(EventTooLarge));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.since_event = self.since_event.saturating_add(n);
        self.inner.consume(n);
    }
}

impl Source for SliceSource<'_> {
    fn step(reader: &mut XmlReader<Self>, start: u64) -> Result<Option<Event>, XmlError> {
        match reader.inner.0.read_event() {
            Ok(ev) => reader.handle(ev, start),
            Err(e) => Err(reader.read_error(e, reader.inner.0.error_position())),
        }
    }

    fn position(&self) -> u64 {
        self.0.buffer_position()
    }
}

impl<R: BufRead> Source for StreamSource<R> {
    fn step(reader: &mut XmlReader<Self>, start: u64) -> Result<Option<Event>, XmlError> {
        let mut buf = std::mem::take(&mut reader.buf);
        buf.clear();
        // Keep a buffer that one large event grew from pinning that memory for the rest of the run.
        if buf.capacity() > 1 << 20 {
            buf.shrink_to(64 << 10);
        }
        reader.inner.0.get_mut().since_event = 0;
        let result = match reader.inner.0.read_event_into(&mut buf) {
            Ok(ev) => reader.handle(ev, start),
            Err(e) => Err(reader.read_error(e, reader.inner.0.error_position())),
        };
        reader.buf = buf;
        result
    }

    fn position(&self) -> u64 {
        self.0.buffer_position()
    }
}

fn configure<R>(mut inner: quick_xml::Reader<R>) -> quick_xml::Reader<R> {
    let config = inner.config_mut();
    config.check_end_names = true;
    config.check_comments = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    inner
}

/// The hardened pull reader. See the module docs.
pub struct XmlReader<S: Source> {
    inner: S,
    buf: Vec<u8>,
    limits: Limits,
    /// In-scope namespace bindings, innermost last; `scopes` marks where each open element's begin.
    bindings: Vec<(String, Arc<str>)>,
    scopes: Vec<usize>,
    /// An element's bindings stay in scope until the event after its end tag, so that the text and
    /// attributes of the element just closed can still resolve QName values.
    pop_pending: bool,
    /// An empty-element tag is reported as Start then End; this is the End still owed.
    end_pending: Option<Position>,
    /// The End of an empty-element tag whose Start is still held behind text.
    end_owed: Option<Position>,
    /// Markup read while text was being merged, to hand out after the text.
    held: Option<Event>,
    text: String,
    text_pos: Position,
    skip_blank_text: bool,
    line: u32,
    line_start: u64,
    seen_root: bool,
    root_closed: bool,
}

impl<'a> XmlReader<SliceSource<'a>> {
    /// A reader over bytes in memory, read in place. A UTF-8 byte order mark is skipped.
    pub fn from_bytes(bytes: &'a [u8], limits: Limits) -> Self {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        XmlReader::with_source(
            SliceSource(configure(quick_xml::Reader::from_reader(bytes))),
            limits,
        )
    }
}

impl<R: BufRead> XmlReader<StreamSource<R>> {
    /// A reader over any buffered source (a file, a socket body). A UTF-8 byte order mark must already
    /// have been skipped; [`XmlReader::from_bytes`] does it for slices.
    pub fn new(source: R, limits: Limits) -> Self {
        XmlReader::with_source(
            StreamSource(configure(quick_xml::Reader::from_reader(Capped {
                inner: source,
                since_event: 0,
                cap: limits.max_tag_bytes.max(limits.max_text_bytes),
            }))),
            limits,
        )
    }
}

impl<S: Source> XmlReader<S> {
    fn with_source(inner: S, limits: Limits) -> Self {
        XmlReader {
            inner,
            buf: Vec::new(),
            limits,
            bindings: Vec::new(),
            scopes: Vec::new(),
            pop_pending: false,
            end_pending: None,
            end_owed: None,
            held: None,
            text: String::new(),
            text_pos: Position::default(),
            skip_blank_text: false,
            line: 1,
            line_start: 0,
            seen_root: false,
            root_closed: false,
        }
    }

    /// Resolve a prefix ("" for the default namespace) in the scope of the element last started or
    /// ended. `None` when it is not bound, and for a default namespace undeclared with `xmlns=""`
    /// (callers read that as "no namespace").
    pub fn resolve_prefix(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| &**u)
            .filter(|u| !u.is_empty())
    }

    /// All bindings in scope (innermost wins), for components that must remember their namespace
    /// context, like schema facets with QName values.
    pub fn namespaces_in_scope(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (p, u) in self.bindings.iter().rev() {
            if !out.iter().any(|(q, _)| q == p) {
                out.push((p.clone(), u.to_string()));
            }
        }
        out.retain(|(_, u)| !u.is_empty());
        out
    }

    /// Give back a text buffer the caller no longer needs, so the next run of text reuses its
    /// allocation instead of making a new one.
    pub fn recycle_text(&mut self, mut spent: String) {
        if self.text.is_empty() && spent.capacity() > self.text.capacity() {
            spent.clear();
            self.text = spent;
        }
    }

    /// Whether runs of white space alone may be dropped instead of reported: a validator inside
    /// element-only content has no use for the indentation between elements, and not copying it out is
    /// a good share of the reading cost. Non-blank text is always reported.
    pub fn skip_blank_text(&mut self, skip: bool) {
        self.skip_blank_text = skip;
    }

    /// Current nesting depth (open elements).
    pub fn depth(&self) -> usize {
        self.scopes.len()
    }

    fn error(&self, kind: XmlErrorKind, offset: u64) -> XmlError {
        XmlError {
            kind,
            position: self.position_at(offset),
        }
    }

    fn position_at(&self, offset: u64) -> Position {
        Position {
            line: self.line,
            column: (offset.saturating_sub(self.line_start) + 1).min(u32::MAX as u64) as u32,
        }
    }

    /// Advance line accounting over raw bytes that start at `offset`.
    fn count_lines(&mut self, raw: &[u8], offset: u64) {
        if let Some(last) = raw.iter().rposition(|b| *b == b'\n') {
            let n = raw.iter().filter(|b| **b == b'\n').count();
            self.line = self.line.saturating_add(n as u32);
            self.line_start = offset + last as u64 + 1;
        }
    }

    /// The next event. After an error the reader should not be used further.
    pub fn next_event(&mut self) -> Result<Event, XmlError> {
        if let Some(pos) = self.end_pending.take() {
            self.pop_pending = true;
            return Ok(Event::End(pos));
        }
        if self.pop_pending {
            self.pop_pending = false;
            if let Some(mark) = self.scopes.pop() {
                self.bindings.truncate(mark);
            }
        }
        if let Some(ev) = self.held.take() {
            return Ok(self.after_held(ev));
        }
        loop {
            let start = self.inner.position();
            if start > self.limits.max_document_bytes {
                return Err(self.error(
                    XmlErrorKind::Limit("document size in bytes", self.limits.max_document_bytes),
                    start,
                ));
            }
            if let Some(ev) = S::step(self, start)? {
                return Ok(ev);
            }
        }
    }

    fn read_error(&self, e: quick_xml::Error, at: u64) -> XmlError {
        let kind = match e {
            quick_xml::Error::Encoding(_) => XmlErrorKind::InvalidUtf8,
            quick_xml::Error::Io(io) if io.get_ref().is_some_and(|x| x.is::<EventTooLarge>()) => {
                let cap = self.limits.max_tag_bytes.max(self.limits.max_text_bytes);
                XmlErrorKind::Limit("bytes in one piece of markup or text", cap as u64)
            }
            e => XmlErrorKind::Syntax(e.to_string()),
        };
        self.error(kind, at)
    }

    /// Turn one quick-xml event into ours; `None` while text is still being merged.
    fn handle(&mut self, ev: QEvent<'_>, start: u64) -> Result<Option<Event>, XmlError> {
        // Raw content of markup starts one byte after `<`; text starts where the event starts.
        let raw_offset = match ev {
            QEvent::Text(_) => start,
            _ => start + 1,
        };
        match ev {
            QEvent::Text(t) => {
                let raw: &str = &t;
                self.check_text_limit(raw.len(), start)?;
                let pos = self.position_at(start);
                self.count_lines(raw.as_bytes(), raw_offset);
                self.push_text(raw, pos, start)?;
            }
            QEvent::CData(t) => {
                let raw: &str = &t;
                self.check_text_limit(raw.len(), start)?;
                let pos = self.position_at(start);
                self.count_lines(raw.as_bytes(), raw_offset);
                self.push_raw_text(raw, pos, start)?;
            }
            QEvent::GeneralRef(r) => {
                let name: &str = &r;
                let pos = self.position_at(start);
                let ch =
                    resolve_reference(name).ok_or_else(|| self.error(undeclared(name), start))?;
                let ch = ch.map_err(|c| self.error(XmlErrorKind::InvalidChar(c), start))?;
                let mut tmp = [0u8; 4];
                let s: &str = ch.encode_utf8(&mut tmp);
                self.push_raw_text(s, pos, start)?;
            }
            QEvent::Comment(c) => {
                let raw: &[u8] = c.as_bytes();
                self.count_lines(raw, raw_offset);
            }
            QEvent::PI(p) => {
                let raw: &[u8] = p.as_bytes();
                self.count_lines(raw, raw_offset);
            }
            QEvent::Decl(d) => {
                // The declared encoding was read and checked against the bytes by src/xml/encoding.rs,
                // which hands this reader UTF-8 whatever the declaration says.
                let raw: &[u8] = d.as_bytes();
                self.count_lines(raw, raw_offset);
            }
            QEvent::DocType(d) => {
                if !self.limits.skip_doctype || self.seen_root {
                    return Err(self.error(XmlErrorKind::Dtd, start));
                }
                let raw: &[u8] = d.as_bytes();
                self.count_lines(raw, raw_offset);
            }
            QEvent::Start(s) => {
                let raw: &[u8] = s.as_bytes();
                let tag = self.start_tag(&s, start)?;
                self.count_lines(raw, raw_offset);
                return Ok(Some(self.emit_or_hold(Event::Start(tag))));
            }
            QEvent::Empty(s) => {
                let raw: &[u8] = s.as_bytes();
                let tag = self.start_tag(&s, start)?;
                self.count_lines(raw, raw_offset);
                let pos = tag.position;
                // Owed once the Start has gone out (see `after_held`).
                self.end_owed = Some(pos);
                return Ok(Some(self.emit_or_hold(Event::Start(tag))));
            }
            QEvent::End(e) => {
                let raw: &[u8] = e.as_bytes();
                let pos = self.position_at(start);
                self.count_lines(raw, raw_offset);
                if self.scopes.len() == 1 {
                    self.root_closed = true;
                }
                return Ok(Some(self.emit_or_hold(Event::End(pos))));
            }
            QEvent::Eof => {
                if !self.seen_root {
                    return Err(self.error(XmlErrorKind::Syntax("no root element".into()), start));
                }
                if !self.scopes.is_empty() {
                    return Err(self.error(
                        XmlErrorKind::Syntax("document ends inside an element".into()),
                        start,
                    ));
                }
                return Ok(Some(self.emit_or_hold(Event::Eof)));
            }
        }
        Ok(None)
    }

    fn check_text_limit(&self, add: usize, offset: u64) -> Result<(), XmlError> {
        if self.text.len() + add > self.limits.max_text_bytes {
            return Err(self.error(
                XmlErrorKind::Limit("text length in bytes", self.limits.max_text_bytes as u64),
                offset,
            ));
        }
        Ok(())
    }

    /// Text from the document: line ends normalized (XML 1.0 §2.11), characters checked.
    fn push_text(&mut self, s: &str, pos: Position, offset: u64) -> Result<(), XmlError> {
        if s.contains('\r') {
            let normalized = s.replace("\r\n", "\n").replace('\r', "\n");
            self.push_raw_text(&normalized, pos, offset)
        } else {
            self.push_raw_text(s, pos, offset)
        }
    }

    fn push_raw_text(&mut self, s: &str, pos: Position, offset: u64) -> Result<(), XmlError> {
        if needs_char_check(s)
            && let Some(c) = s.chars().find(|c| !is_xml_char(*c))
        {
            return Err(self.error(XmlErrorKind::InvalidChar(c as u32), offset));
        }
        let blank = || s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if self.scopes.is_empty() && (self.root_closed || !self.seen_root) {
            if !blank() {
                return Err(self.error(
                    XmlErrorKind::Syntax("text outside the root element".into()),
                    offset,
                ));
            }
            return Ok(());
        }
        if self.skip_blank_text && self.text.is_empty() && blank() {
            return Ok(());
        }
        if self.text.is_empty() {
            self.text_pos = pos;
        }
        self.text.push_str(s);
        Ok(())
    }

    /// Markup ends a run of text: hand out the text first and hold the markup.
    fn emit_or_hold(&mut self, ev: Event) -> Event {
        if self.text.is_empty() {
            return self.after_held(ev);
        }
        self.held = Some(ev);
        let text = std::mem::take(&mut self.text);
        Event::Text(text, self.text_pos)
    }

    fn after_held(&mut self, ev: Event) -> Event {
        match &ev {
            Event::Start(_) => {
                if let Some(pos) = self.end_owed.take() {
                    self.end_pending = Some(pos);
                }
            }
            Event::End(_) => self.pop_pending = true,
            _ => {}
        }
        ev
    }

    fn start_tag(&mut self, s: &BytesStart<'_>, offset: u64) -> Result<StartTag, XmlError> {
        if s.len() > self.limits.max_tag_bytes {
            return Err(self.error(
                XmlErrorKind::Limit("tag length in bytes", self.limits.max_tag_bytes as u64),
                offset,
            ));
        }
        if self.scopes.is_empty() && self.seen_root {
            return Err(self.error(XmlErrorKind::Syntax("a second root element".into()), offset));
        }
        self.seen_root = true;
        if self.scopes.len() >= self.limits.max_depth {
            return Err(self.error(
                XmlErrorKind::Limit("element nesting depth", self.limits.max_depth as u64),
                offset,
            ));
        }
        let position = self.position_at(offset);
        let qname: &str = s.name().0;
        check_qname_syntax(qname).map_err(|m| self.error(XmlErrorKind::Syntax(m), offset))?;
        self.scopes.push(self.bindings.len());

        // First pass: namespace declarations, which scope over this tag's own names.
        let mut raw_attrs: Vec<(&str, String)> = Vec::new();
        for attr in s.attributes().with_checks(false) {
            let attr = attr.map_err(|e| self.error(XmlErrorKind::Syntax(e.to_string()), offset))?;
            if raw_attrs.len() >= self.limits.max_attributes {
                return Err(self.error(
                    XmlErrorKind::Limit(
                        "attributes on one element",
                        self.limits.max_attributes as u64,
                    ),
                    offset,
                ));
            }
            let key: &str = attr.key.0;
            let raw: &str = &attr.value;
            let value = decode_attribute_value(raw).map_err(|k| self.error(k, offset))?;
            let bad = needs_char_check(&value)
                .then(|| value.chars().find(|c| !is_xml_char(*c)))
                .flatten();
            if let Some(c) = bad {
                return Err(self.error(XmlErrorKind::InvalidChar(c as u32), offset));
            }
            raw_attrs.push((key, value));
        }
        // XML 1.0 WFC Unique Att Spec, by name as written (expanded names are checked below).
        if raw_attrs.len() > 1 {
            let mut seen = std::collections::HashSet::with_capacity(raw_attrs.len());
            for (key, _) in &raw_attrs {
                if !seen.insert(*key) {
                    return Err(
                        self.error(XmlErrorKind::DuplicateAttribute((*key).to_owned()), offset)
                    );
                }
            }
        }
        for (key, value) in &raw_attrs {
            let key = *key;
            if key == "xmlns" {
                if value == XML_NS || value == XMLNS_NS {
                    return Err(self.error(
                        XmlErrorKind::Syntax(format!("'{value}' cannot be the default namespace")),
                        offset,
                    ));
                }
                self.bindings
                    .push((String::new(), Arc::from(value.as_str())));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(self.error(
                        XmlErrorKind::Syntax(format!(
                            "prefix '{p}' cannot be undeclared in XML 1.0"
                        )),
                        offset,
                    ));
                }
                if p == "xmlns" || (p == "xml") != (value == XML_NS) || value == XMLNS_NS {
                    return Err(self.error(
                        XmlErrorKind::Syntax(format!(
                            "reserved prefix or namespace in 'xmlns:{p}'"
                        )),
                        offset,
                    ));
                }
                self.bindings
                    .push((p.to_owned(), Arc::from(value.as_str())));
            }
        }
        let (prefix, local) = split_qname(qname);
        let ns = self.resolve_name(prefix, true, offset)?;
        let mut attributes = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            check_qname_syntax(key).map_err(|m| self.error(XmlErrorKind::Syntax(m), offset))?;
            let (p, l) = split_qname(key);
            let ans = self.resolve_name(p, false, offset)?;
            attributes.push(Attribute {
                ns: ans,
                local: l.to_owned(),
                prefix: p.map(str::to_owned),
                value,
            });
        }
        // Two attributes can also collide on expanded name (Namespaces in XML §6.3).
        if attributes.len() > 1 {
            let mut seen = std::collections::HashSet::with_capacity(attributes.len());
            for a in &attributes {
                if !seen.insert((a.ns.as_deref(), a.local.as_str())) {
                    return Err(
                        self.error(XmlErrorKind::DuplicateAttribute(a.local.clone()), offset)
                    );
                }
            }
        }
        Ok(StartTag {
            ns,
            local: local.to_owned(),
            prefix: prefix.map(str::to_owned),
            attributes,
            position,
        })
    }

    fn resolve_name(
        &self,
        prefix: Option<&str>,
        use_default: bool,
        offset: u64,
    ) -> Result<Option<Arc<str>>, XmlError> {
        let find = |p: &str| {
            self.bindings
                .iter()
                .rev()
                .find(|(q, _)| q == p)
                .map(|(_, u)| u.clone())
                .filter(|u| !u.is_empty())
        };
        match prefix {
            None if use_default => Ok(find("")),
            None => Ok(None),
            Some("xml") => Ok(Some(Arc::from(XML_NS))),
            Some(p) => find(p)
                .map(Some)
                .ok_or_else(|| self.error(XmlErrorKind::UndeclaredPrefix(p.to_owned()), offset)),
        }
    }
}

/// Split `p:l` into prefix and local part.
pub fn split_qname(q: &str) -> (Option<&str>, &str) {
    match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    }
}

fn check_qname_syntax(q: &str) -> Result<(), String> {
    let (p, l) = split_qname(q);
    let ok = |s: &str| {
        // Fast path: plain ASCII names, which is nearly every name in practice.
        let b = s.as_bytes();
        if !b.is_empty()
            && (b[0].is_ascii_alphabetic() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            return true;
        }
        let mut chars = s.chars();
        match chars.next() {
            Some(c) if is_name_start(c) && c != ':' => chars.all(|c| is_name_char(c) && c != ':'),
            _ => false,
        }
    };
    if p.is_some_and(|p| !ok(p)) || !ok(l) {
        return Err(format!("'{q}' is not a valid qualified name"));
    }
    Ok(())
}

/// XML 1.0 (5th ed.) NameStartChar.
pub fn is_name_start(c: char) -> bool {
    matches!(c, ':' | 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (5th ed.) NameChar.
pub fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Whether `s` may hold a character XML forbids: a control character or one encoded from 0xEF up
/// (U+FFFE, U+FFFF). Plain text skips the per-character check.
fn needs_char_check(s: &str) -> bool {
    s.bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b >= 0xEF)
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
    let mut c = name.chars();
    if matches!(c.next(), Some(f) if is_name_start(f)) && c.all(is_name_char) {
        XmlErrorKind::UndeclaredEntity(name.to_owned())
    } else {
        XmlErrorKind::MalformedReference
    }
}

/// Attribute-value normalization (XML 1.0 §3.3.3) and reference resolution.
fn decode_attribute_value(raw: &str) -> Result<String, XmlErrorKind> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\t', '\n', '\r', '<']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        match c {
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
            b'<' => return Err(XmlErrorKind::Syntax("'<' in an attribute value".into())),
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(doc: &str) -> Result<Vec<String>, XmlError> {
        let mut r = XmlReader::from_bytes(doc.as_bytes(), Limits::default());
        let mut out = Vec::new();
        loop {
            match r.next_event()? {
                Event::Start(t) => out.push(format!(
                    "<{}|{}",
                    t.ns.as_deref().unwrap_or_default(),
                    t.local
                )),
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
        match r.next_event().unwrap() {
            Event::Start(t) => assert_eq!(t.position, Position { line: 2, column: 3 }),
            e => panic!("{e:?}"),
        }
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
            Event::Start(t) => assert_eq!(t.attributes[0].value, "1 2 3\n4"),
            e => panic!("{e:?}"),
        }
    }
}
