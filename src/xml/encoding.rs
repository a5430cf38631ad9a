//! Character encodings: whatever a document is written in, the reader sees UTF-8.
//!
//! This layer sits in front of [`XmlReader`](crate::xml::reader::XmlReader) at every entry point
//! (validation in memory and streamed, schema documents, payload reading, replay comparison, masking).
//! It finds a document's encoding the way XML 1.0 §4.3.3 and Appendix F say — the byte order mark,
//! else the first bytes (`<\0?\0` and `\0<\0?` are UTF-16 without a mark), else the `encoding` of the XML
//! declaration, else UTF-8 — and reads every encoding the WHATWG Encoding Standard names, through
//! `encoding_rs`: a declared label is looked up with [`Encoding::for_label`], so `windows-1251`,
//! `cp1251`, `koi8-r`, `Shift_JIS`, `gb18030`, `UTF-16` and the rest all work.
//!
//! What comes out:
//! - UTF-8 (declared, undeclared, or with its byte order mark) is handed on as it is: [`decode`]
//!   borrows the input with the mark cut off, looks at no more than its first [`HEAD_BYTES`] bytes and
//!   copies nothing; [`Decoded`] passes a stream's chunks through. Invalid UTF-8 is left to the reader,
//!   which reports it with its position as before.
//! - A declared `US-ASCII` (or `ascii`, `ANSI_X3.4-1968`, ...) is read as UTF-8, of which it is a subset,
//!   and checked on the way: a byte above 0x7F is an error, as XML 1.0 §4.3.3 requires of a document
//!   that is not in the encoding it declares. (WHATWG maps these labels to windows-1252, which would
//!   silently accept a windows-1251 document that claims to be ASCII; XML and libxml2 do not.)
//! - Every other encoding is transcoded to UTF-8: whole by [`decode`], in chunks of 64 KiB by
//!   [`Decoded`], so memory does not grow with the document. WHATWG's reading of labels applies, so
//!   `ISO-8859-1` is read as windows-1252. Bytes that are not valid in the source encoding (an unpaired
//!   UTF-16 surrogate, an unmapped windows-1253 byte, a broken Shift_JIS pair) are an error, never a
//!   replacement character.
//!
//! Refused, each with an [`XmlErrorKind::Encoding`] error that says why: a label that is not a WHATWG
//! label (named in the message); a declaration that contradicts the bytes (UTF-16 bytes declaring
//! anything but UTF-16, single-byte `<?xml` declaring UTF-16, a UTF-8 byte order mark with any other
//! declaration, `UTF-16BE` declared over little-endian bytes); UTF-16 with neither a byte order mark nor
//! a declaration naming it (XML 1.0 §4.3.3); labels WHATWG maps to its `replacement` encoding
//! (`ISO-2022-KR`, `HZ-GB-2312`, ...: a decoder that outputs only an error); UTF-32/UCS-4 and EBCDIC,
//! which XML 1.0 Appendix F mentions but WHATWG does not name. `ISO-2022-JP`, not ASCII-compatible but
//! starting in ASCII, is read (its declaration is plain ASCII).
//!
//! Positions: detection errors are at 1:1. A transcoded document's positions — in this layer's errors
//! and in every later reader or validator error — are those of the UTF-8 text: lines are the
//! document's lines, columns count UTF-8 bytes (as the reader's columns always do). Errors for bytes
//! that are malformed in the source encoding also give the byte offset in the original document. The
//! reader's document-size limit counts UTF-8 bytes too.

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::sync::{Arc, OnceLock};

use encoding_rs::{DecoderResult, Encoding, REPLACEMENT, UTF_8, UTF_16BE, UTF_16LE};

use crate::xml::reader::{Position, XmlError, XmlErrorKind};

/// How many bytes at the start of a document are looked at to find its encoding. A declaration that
/// does not close within them is not read (the reader then reports what is wrong with it, or reads
/// the document as UTF-8).
pub const HEAD_BYTES: usize = 1024;

/// Size of a stream's transcoding buffer: the memory a transcoded stream costs, whatever its length.
const CHUNK_BYTES: usize = 64 << 10;

/// Labels read as US-ASCII rather than as WHATWG's windows-1252 (see the module docs). The IANA
/// aliases of US-ASCII that a declaration might carry.
const ASCII_LABELS: &[&str] = &[
    "us-ascii",
    "ascii",
    "ansi_x3.4-1968",
    "ansi_x3.4-1986",
    "iso646-us",
    "iso_646.irv:1991",
    "iso-ir-6",
    "csascii",
    "cp367",
    "ibm367",
    "us",
];

/// How a document's bytes become UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Already UTF-8: handed on untouched.
    Utf8,
    /// Declared ASCII: handed on untouched, every byte checked to be ASCII.
    Ascii,
    /// Transcoded from this encoding.
    Transcode(&'static Encoding),
}

/// What the first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Detected {
    plan: Plan,
    /// Length of the byte order mark, skipped.
    bom: usize,
}

/// A document in UTF-8, borrowed from the input when it already was UTF-8 (or declared ASCII), else
/// transcoded. A byte order mark is not part of it. See the module docs.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, XmlError> {
    match decode_until_error(bytes)? {
        (text, None) => Ok(text),
        (_, Some(e)) => Err(e),
    }
}

/// [`decode`], except that bytes malformed in the document's encoding come back beside the UTF-8 text
/// read before them instead of as the error: a validator reads that text and reports what it finds
/// there, as it does when the same document is streamed through [`Decoded`]. The error is what the
/// first bytes say (an unknown label, a contradiction).
pub fn decode_until_error(bytes: &[u8]) -> Result<(Cow<'_, [u8]>, Option<XmlError>), XmlError> {
    let detected = sniff(&bytes[..bytes.len().min(HEAD_BYTES)])?;
    let body = &bytes[detected.bom..];
    Ok(match detected.plan {
        Plan::Utf8 => (Cow::Borrowed(body), None),
        Plan::Ascii => match body.iter().position(|b| !b.is_ascii()) {
            None => (Cow::Borrowed(body), None),
            Some(i) => {
                let mut progress = Progress::new(detected.bom);
                progress.pass(&body[..i]);
                (
                    Cow::Borrowed(&body[..i]),
                    Some(not_ascii(&progress, body[i])),
                )
            }
        },
        Plan::Transcode(encoding) => {
            let (text, e) = transcode_all(encoding, body, detected.bom)?;
            (Cow::Owned(text), e)
        }
    })
}

/// The UTF-8 text, up to bytes malformed in `encoding` if there are any (then with the error).
fn transcode_all(
    encoding: &'static Encoding,
    body: &[u8],
    bom: usize,
) -> Result<(Vec<u8>, Option<XmlError>), XmlError> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let room = decoder
        .max_utf8_buffer_length_without_replacement(body.len())
        .ok_or_else(|| error("the document is too large to transcode in memory".into()))?;
    let mut out = vec![0u8; room];
    let (result, read, written) = decoder.decode_to_utf8_without_replacement(body, &mut out, true);
    out.truncate(written);
    // The worst case is three bytes out per byte in; give back what a Cyrillic text did not use.
    if out.capacity() > 2 * written + 64 {
        out.shrink_to_fit();
    }
    match result {
        DecoderResult::InputEmpty => Ok((out, None)),
        DecoderResult::OutputFull => Err(error(format!(
            "transcoding from {} ran out of room",
            encoding.name()
        ))),
        DecoderResult::Malformed(bad, after) => {
            let mut progress = Progress::new(bom);
            progress.pass(&out);
            progress.input += read as u64;
            let e = malformed(encoding, &progress, bad, after);
            Ok((out, Some(e)))
        }
    }
}

/// Start reading a stream: its first bytes are read to find the encoding, and the returned [`Decoded`]
/// hands on UTF-8. An error here (an unknown label, a contradiction, a read error) means nothing of the
/// document has been handed on.
pub fn decode_stream<R: BufRead>(mut source: R) -> Result<Decoded<R>, XmlError> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    while head.len() < HEAD_BYTES {
        let chunk = match source.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(XmlError {
                    kind: XmlErrorKind::Io(e.to_string()),
                    position: Position::default(),
                });
            }
        };
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len().min(HEAD_BYTES - head.len());
        head.extend_from_slice(&chunk[..n]);
        source.consume(n);
    }
    let detected = sniff(&head)?;
    let mode = match detected.plan {
        Plan::Utf8 => Mode::Utf8,
        Plan::Ascii => Mode::Ascii {
            checked: 0,
            bad: None,
            progress: Progress::new(detected.bom),
        },
        Plan::Transcode(encoding) => Mode::Transcode(Box::new(Transcoder {
            encoding,
            decoder: encoding.new_decoder_without_bom_handling(),
            out: vec![0u8; CHUNK_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
            done: false,
            progress: Progress::new(detected.bom),
        })),
    };
    Ok(Decoded {
        source,
        head,
        head_pos: detected.bom,
        mode,
        failure: Failure::default(),
    })
}

/// A stream as UTF-8 (see [`decode_stream`]). UTF-8 passes through untouched; other encodings are
/// transcoded chunk by chunk into a buffer of fixed size. Bytes that are malformed in the source
/// encoding end the stream with an [`io::Error`] of kind `InvalidData` that carries the [`XmlError`];
/// since a reader on top may turn that into its own message, the error is also kept in the
/// [`Failure`] handle from [`Decoded::failure`].
pub struct Decoded<R> {
    source: R,
    /// The bytes read to find the encoding, handed on before the rest of `source`.
    head: Vec<u8>,
    head_pos: usize,
    mode: Mode,
    failure: Failure,
}

enum Mode {
    Utf8,
    /// `checked` bytes of the current chunk are known to be ASCII; `bad` is where a non-ASCII byte
    /// sits in it, once found.
    Ascii {
        checked: usize,
        bad: Option<usize>,
        progress: Progress,
    },
    Transcode(Box<Transcoder>),
}

struct Transcoder {
    encoding: &'static Encoding,
    decoder: encoding_rs::Decoder,
    out: Box<[u8]>,
    /// `out[start..end]` is UTF-8 not yet consumed.
    start: usize,
    end: usize,
    /// The source is exhausted and the decoder flushed.
    done: bool,
    progress: Progress,
}

/// Where an encoding error of a stream is kept for whoever reads the stream through another layer.
#[derive(Clone, Debug, Default)]
pub struct Failure(Arc<OnceLock<XmlError>>);

impl Failure {
    /// The error that ended the stream, if one did.
    pub fn get(&self) -> Option<&XmlError> {
        self.0.get()
    }

    /// Keep the first error; later ones are its consequences.
    fn set(&self, e: XmlError) {
        let _ = self.0.set(e);
    }

    /// The kept error as the stream's I/O error.
    fn current(&self) -> io::Error {
        let e = self
            .0
            .get()
            .cloned()
            .unwrap_or_else(|| error("unreadable".into()));
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

impl<R> Decoded<R> {
    /// The encoding being read, by its WHATWG name (`UTF-8`, `windows-1251`, `UTF-16LE`; `US-ASCII`
    /// for a declared ASCII).
    pub fn encoding(&self) -> &'static str {
        match &self.mode {
            Mode::Utf8 => UTF_8.name(),
            Mode::Ascii { .. } => "US-ASCII",
            Mode::Transcode(t) => t.encoding.name(),
        }
    }

    /// A handle on the encoding error that ends the stream, valid after the stream has been moved
    /// into a reader.
    pub fn failure(&self) -> Failure {
        self.failure.clone()
    }
}

impl<R: BufRead> io::Read for Decoded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
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

impl<R: BufRead> BufRead for Decoded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let Decoded {
            source,
            head,
            head_pos,
            mode,
            failure,
        } = self;
        match mode {
            Mode::Utf8 => {
                if *head_pos < head.len() {
                    Ok(&head[*head_pos..])
                } else {
                    source.fill_buf()
                }
            }
            Mode::Ascii {
                checked,
                bad,
                progress,
            } => {
                let chunk = if *head_pos < head.len() {
                    &head[*head_pos..]
                } else {
                    source.fill_buf()?
                };
                if bad.is_none() && *checked < chunk.len() {
                    match chunk[*checked..].iter().position(|b| !b.is_ascii()) {
                        None => {
                            progress.pass(&chunk[*checked..]);
                            *checked = chunk.len();
                        }
                        Some(i) => {
                            progress.pass(&chunk[*checked..*checked + i]);
                            *checked += i;
                            *bad = Some(*checked);
                            failure.set(not_ascii(progress, chunk[*checked]));
                        }
                    }
                }
                match *bad {
                    Some(0) => Err(failure.current()),
                    Some(b) => Ok(&chunk[..b]),
                    None => Ok(chunk),
                }
            }
            Mode::Transcode(t) => loop {
                if t.start < t.end {
                    return Ok(&t.out[t.start..t.end]);
                }
                if failure.get().is_some() {
                    return Err(failure.current());
                }
                if t.done {
                    return Ok(&[]);
                }
                let from_head = *head_pos < head.len();
                let src = if from_head {
                    &head[*head_pos..]
                } else {
                    source.fill_buf()?
                };
                let last = src.is_empty();
                let (result, read, written) = t
                    .decoder
                    .decode_to_utf8_without_replacement(src, &mut t.out, last);
                let failed = match result {
                    DecoderResult::InputEmpty => {
                        t.done = last;
                        None
                    }
                    DecoderResult::OutputFull => None,
                    DecoderResult::Malformed(bad, after) => {
                        let mut at = t.progress;
                        at.pass(&t.out[..written]);
                        at.input += read as u64;
                        Some(malformed(t.encoding, &at, bad, after))
                    }
                };
                if from_head {
                    *head_pos += read;
                } else {
                    source.consume(read);
                }
                t.progress.pass(&t.out[..written]);
                t.progress.input += read as u64;
                t.start = 0;
                t.end = written;
                if let Some(e) = failed {
                    failure.set(e);
                }
            },
        }
    }

    fn consume(&mut self, n: usize) {
        match &mut self.mode {
            Mode::Transcode(t) => t.start = (t.start + n).min(t.end),
            Mode::Ascii { checked, bad, .. } => {
                *checked = checked.saturating_sub(n);
                if let Some(b) = bad {
                    *b = b.saturating_sub(n);
                }
                self.consume_source(n);
            }
            Mode::Utf8 => self.consume_source(n),
        }
    }
}

impl<R: BufRead> Decoded<R> {
    fn consume_source(&mut self, n: usize) {
        if self.head_pos < self.head.len() {
            self.head_pos = (self.head_pos + n).min(self.head.len());
        } else {
            self.source.consume(n);
        }
    }
}

/// How far the UTF-8 output has got: for the position of an encoding error.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// Bytes of the original document read (the byte order mark included).
    input: u64,
    /// UTF-8 bytes handed on.
    output: u64,
    line: u32,
    /// Output offset where the current line starts.
    line_start: u64,
}

impl Progress {
    fn new(bom: usize) -> Self {
        Progress {
            input: bom as u64,
            output: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Account for UTF-8 output; for ASCII input, the same bytes in and out.
    fn pass(&mut self, out: &[u8]) {
        if let Some(last) = out.iter().rposition(|b| *b == b'\n') {
            let n = out.iter().filter(|b| **b == b'\n').count();
            self.line = self.line.saturating_add(n as u32);
            self.line_start = self.output + last as u64 + 1;
        }
        self.output += out.len() as u64;
    }

    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: (self.output - self.line_start + 1).min(u32::MAX as u64) as u32,
        }
    }
}

fn error(message: String) -> XmlError {
    XmlError {
        kind: XmlErrorKind::Encoding(message),
        position: Position { line: 1, column: 1 },
    }
}

/// A non-ASCII byte in a document declared ASCII, `progress` having passed the bytes before it (the
/// same bytes in and out, so the offset is the output's; a declared ASCII has no byte order mark).
fn not_ascii(progress: &Progress, byte: u8) -> XmlError {
    let offset = progress.output;
    XmlError {
        kind: XmlErrorKind::Encoding(format!(
            "byte 0x{byte:02X} at offset {offset} is not US-ASCII, which the XML declaration names"
        )),
        position: progress.position(),
    }
}

/// Bytes not valid in `encoding`: the `bad` bytes of the malformed sequence end `after` bytes before
/// where `progress` has read to, and it has passed the output before them. The bytes themselves are not
/// shown: a sequence may straddle two chunks of a stream, and the offset finds them.
fn malformed(encoding: &'static Encoding, progress: &Progress, bad: u8, after: u8) -> XmlError {
    let offset = progress
        .input
        .saturating_sub(u64::from(after) + u64::from(bad));
    XmlError {
        kind: XmlErrorKind::Encoding(format!(
            "bytes not valid in {} at offset {offset} of the document",
            encoding.name()
        )),
        position: progress.position(),
    }
}

/// What the declared label asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Declared {
    Ascii,
    Encoding(&'static Encoding),
}

/// Find the encoding from a document's first bytes (at most [`HEAD_BYTES`]).
fn sniff(head: &[u8]) -> Result<Detected, XmlError> {
    // XML 1.0 Appendix F names these; WHATWG does not, so they cannot be read.
    if head.starts_with(&[0, 0, 0xFE, 0xFF])
        || head.starts_with(&[0xFF, 0xFE, 0, 0])
        || head.starts_with(&[0, 0, 0, b'<'])
        || head.starts_with(&[b'<', 0, 0, 0])
    {
        return Err(error(
            "UTF-32 (UCS-4) is not supported: the WHATWG Encoding Standard does not name it".into(),
        ));
    }
    if head.starts_with(&[0x4C, 0x6F, 0xA7, 0x94]) {
        return Err(error(
            "EBCDIC is not supported: the WHATWG Encoding Standard does not name it".into(),
        ));
    }
    let bom = Encoding::for_bom(head);
    let utf16 = match bom {
        Some((e, _)) if e != UTF_8 => Some(e),
        Some(_) => None,
        None if head.starts_with(b"<\0") => Some(UTF_16LE),
        None if head.starts_with(b"\0<") => Some(UTF_16BE),
        None => None,
    };
    let bom_len = bom.map_or(0, |(_, n)| n);
    let label = match utf16 {
        Some(e) => declared_label(&ascii_of_utf16(&head[bom_len..], e)),
        None => declared_label(&head[bom_len..]),
    };
    let declared = match &label {
        None => None,
        Some(l) => Some(lookup(l)?),
    };
    let shown = |l: &Option<String>| l.as_deref().map(show).unwrap_or_default();
    let plan = if let Some(e) = utf16 {
        let how = if bom.is_some() {
            "byte order mark"
        } else {
            "first bytes"
        };
        match declared {
            None if bom.is_some() => Plan::Transcode(e),
            None => {
                return Err(error(format!(
                    "the first bytes are {} without a byte order mark, and the XML declaration does not \
                     name the encoding (XML 1.0 §4.3.3 requires one or the other)",
                    e.name()
                )));
            }
            Some(Declared::Encoding(d)) if d == UTF_16LE || d == UTF_16BE => {
                if let Some(order) = label.as_deref().and_then(byte_order_named)
                    && order != e
                {
                    return Err(error(format!(
                        "the document is {} ({how}) but its XML declaration says '{}'",
                        e.name(),
                        shown(&label)
                    )));
                }
                Plan::Transcode(e)
            }
            Some(_) => {
                return Err(error(format!(
                    "the document is {} ({how}) but its XML declaration says '{}'",
                    e.name(),
                    shown(&label)
                )));
            }
        }
    } else if bom.is_some() {
        match declared {
            None => Plan::Utf8,
            Some(Declared::Encoding(d)) if d == UTF_8 => Plan::Utf8,
            Some(_) => {
                return Err(error(format!(
                    "the document starts with a UTF-8 byte order mark but its XML declaration says '{}'",
                    shown(&label)
                )));
            }
        }
    } else {
        match declared {
            None => Plan::Utf8,
            Some(Declared::Encoding(d)) if d == UTF_8 => Plan::Utf8,
            Some(Declared::Ascii) => Plan::Ascii,
            Some(Declared::Encoding(d)) if d == UTF_16LE || d == UTF_16BE => {
                return Err(error(format!(
                    "the XML declaration says '{}' but the document is not UTF-16: it has no byte order \
                     mark and its declaration is written in single bytes",
                    shown(&label)
                )));
            }
            Some(Declared::Encoding(d)) if d == REPLACEMENT => {
                return Err(error(format!(
                    "encoding '{}' is not supported: the WHATWG Encoding Standard reads it as the \
                     'replacement' encoding, which yields no text",
                    shown(&label)
                )));
            }
            Some(Declared::Encoding(d)) => Plan::Transcode(d),
        }
    };
    Ok(Detected { plan, bom: bom_len })
}

/// A declared label looked up: WHATWG's labels, with the ASCII ones read as ASCII.
fn lookup(label: &str) -> Result<Declared, XmlError> {
    let lower = label.trim().to_ascii_lowercase();
    if ASCII_LABELS.contains(&lower.as_str()) {
        return Ok(Declared::Ascii);
    }
    Encoding::for_label(label.as_bytes())
        .map(Declared::Encoding)
        .ok_or_else(|| {
            error(format!(
                "unknown encoding '{}' in the XML declaration (not a label of the WHATWG Encoding Standard)",
                show(label)
            ))
        })
}

/// The byte order a label names explicitly; plain `UTF-16` names none.
fn byte_order_named(label: &str) -> Option<&'static Encoding> {
    match label.trim().to_ascii_lowercase().as_str() {
        "utf-16le" => Some(UTF_16LE),
        "utf-16be" | "unicodefffe" => Some(UTF_16BE),
        _ => None,
    }
}

/// A label for a message: printable ASCII, at most 40 characters.
fn show(label: &str) -> String {
    let mut s: String = label
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(40)
        .collect();
    if label.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// The ASCII characters at the start of UTF-16 text, up to the first other one: enough to read an XML
/// declaration, which is all ASCII.
fn ascii_of_utf16(bytes: &[u8], encoding: &'static Encoding) -> Vec<u8> {
    bytes
        .chunks_exact(2)
        .map(|pair| {
            if encoding == UTF_16LE {
                u16::from_le_bytes([pair[0], pair[1]])
            } else {
                u16::from_be_bytes([pair[0], pair[1]])
            }
        })
        .take_while(|u| *u < 0x80)
        .map(|u| u as u8)
        .collect()
}

/// The `encoding` of an XML declaration at the very start of `text` (XML 1.0 §2.8, §4.3.3), if the
/// declaration is there, closes, and is well-formed enough to read; otherwise `None`, and the reader
/// reports whatever is wrong.
fn declared_label(text: &[u8]) -> Option<String> {
    let rest = text.strip_prefix(b"<?xml")?;
    if !rest.first().is_some_and(|b| is_space(*b)) {
        return None;
    }
    let mut i = 0;
    let mut encoding = None;
    loop {
        while rest.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        if rest[i..].starts_with(b"?>") {
            return encoding;
        }
        let name_start = i;
        while rest
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        {
            i += 1;
        }
        let name = &rest[name_start..i];
        if name.is_empty() {
            return None;
        }
        while rest.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        if rest.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while rest.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        let quote = *rest.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
        i += 1;
        let value_start = i;
        let len = rest[i..].iter().position(|b| *b == quote)?;
        i += len + 1;
        if name == b"encoding" {
            encoding =
                Some(String::from_utf8_lossy(&rest[value_start..value_start + len]).into_owned());
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    fn utf16be(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
        out.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        out
    }

    fn cp1251(s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(s);
        assert!(!unmappable);
        bytes.into_owned()
    }

    /// Read a stream through [`Decoded`] with a tiny source buffer, so chunk edges fall everywhere.
    fn streamed(bytes: &[u8], source_buf: usize) -> Result<Vec<u8>, XmlError> {
        let source = io::BufReader::with_capacity(source_buf, bytes);
        let mut decoded = decode_stream(source)?;
        let failure = decoded.failure();
        let mut out = Vec::new();
        match decoded.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => {
                let from_io = e
                    .get_ref()
                    .and_then(|x| x.downcast_ref::<XmlError>())
                    .cloned()
                    .expect("an XmlError inside");
                assert_eq!(failure.get(), Some(&from_io));
                Err(from_io)
            }
        }
    }

    fn encoding_message(r: Result<impl std::fmt::Debug, XmlError>) -> String {
        match r {
            Err(XmlError {
                kind: XmlErrorKind::Encoding(m),
                ..
            }) => m,
            other => panic!("expected an encoding error, got {other:?}"),
        }
    }

    const DOC: &str = "<?xml version=\"1.0\" encoding=\"ENC\"?>\n<Полис статус=\"Действующий\">\n  <Страховщик>АО «СОГАЗ-Мед»</Страховщик>\n</Полис>\n";

    fn doc(label: &str) -> String {
        DOC.replace("ENC", label)
    }

    #[test]
    fn utf8_is_borrowed_with_the_mark_cut_off() {
        let plain = doc("UTF-8");
        assert!(matches!(decode(plain.as_bytes()), Ok(Cow::Borrowed(b)) if b == plain.as_bytes()));
        let mut marked = b"\xEF\xBB\xBF".to_vec();
        marked.extend_from_slice(plain.as_bytes());
        assert!(matches!(decode(&marked), Ok(Cow::Borrowed(b)) if b == plain.as_bytes()));
        let undeclared = "<a>б</a>";
        assert!(matches!(
            decode(undeclared.as_bytes()),
            Ok(Cow::Borrowed(_))
        ));
        // Invalid UTF-8 is the reader's to report, with its position: not looked at here.
        assert!(matches!(decode(b"<a>\xC3\x28</a>"), Ok(Cow::Borrowed(_))));
        assert_eq!(streamed(&marked, 7).unwrap(), plain.as_bytes());
    }

    #[test]
    fn utf8_looks_only_at_the_head() {
        // Past HEAD_BYTES nothing is examined: a huge document costs the same as a small one.
        let mut big = doc("utf-8").into_bytes();
        big.extend(std::iter::repeat_n(b' ', 10 << 20));
        let t = std::time::Instant::now();
        for _ in 0..1000 {
            assert!(matches!(decode(&big), Ok(Cow::Borrowed(_))));
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn windows_1251_is_transcoded() {
        let text = doc("windows-1251");
        let bytes = cp1251(&text);
        assert_eq!(decode(&bytes).unwrap().as_ref(), text.as_bytes());
        for buf in [1, 2, 3, 64, 8192] {
            assert_eq!(
                streamed(&bytes, buf).unwrap(),
                text.as_bytes(),
                "buffer {buf}"
            );
        }
        // Any WHATWG label of it, in any case, with single quotes.
        for label in ["cp1251", "x-cp1251", "WINDOWS-1251"] {
            let bytes = cp1251(&doc(label).replace('"', "'"));
            let out = decode(&bytes).unwrap();
            assert!(std::str::from_utf8(&out).unwrap().contains("Страховщик"));
        }
    }

    #[test]
    fn other_single_and_multi_byte_encodings() {
        for (label, encoding) in [
            ("KOI8-R", encoding_rs::KOI8_R),
            ("ISO-8859-5", encoding_rs::ISO_8859_5),
            ("IBM866", encoding_rs::IBM866),
            ("x-mac-cyrillic", encoding_rs::X_MAC_CYRILLIC),
            ("gb18030", encoding_rs::GB18030),
            ("Shift_JIS", encoding_rs::SHIFT_JIS),
            ("EUC-KR", encoding_rs::EUC_KR),
            ("ISO-2022-JP", encoding_rs::ISO_2022_JP),
        ] {
            // Not every one of them has guillemets.
            let text = doc(label).replace(['«', '»'], "\"");
            let (bytes, _, unmappable) = encoding.encode(&text);
            assert!(!unmappable, "{label}");
            assert_eq!(decode(&bytes).unwrap().as_ref(), text.as_bytes(), "{label}");
            assert_eq!(streamed(&bytes, 5).unwrap(), text.as_bytes(), "{label}");
        }
    }

    #[test]
    fn utf16_with_and_without_mark() {
        for label in ["UTF-16", "utf-16le", "Unicode"] {
            let text = doc(label);
            for bytes in [utf16le(&text, true), utf16le(&text, false)] {
                assert_eq!(decode(&bytes).unwrap().as_ref(), text.as_bytes(), "{label}");
                assert_eq!(streamed(&bytes, 3).unwrap(), text.as_bytes(), "{label}");
            }
        }
        for label in ["UTF-16", "UTF-16BE"] {
            let text = doc(label);
            for bytes in [utf16be(&text, true), utf16be(&text, false)] {
                assert_eq!(decode(&bytes).unwrap().as_ref(), text.as_bytes(), "{label}");
                assert_eq!(streamed(&bytes, 3).unwrap(), text.as_bytes(), "{label}");
            }
        }
        // A mark needs no declaration.
        let bare = "<Полис/>";
        assert_eq!(
            decode(&utf16be(bare, true)).unwrap().as_ref(),
            bare.as_bytes()
        );
        assert_eq!(
            decode(&utf16le(bare, true)).unwrap().as_ref(),
            bare.as_bytes()
        );
    }

    #[test]
    fn contradictions_name_both_sides() {
        let m = encoding_message(decode(&utf16le(&doc("windows-1251"), true)));
        assert!(m.contains("UTF-16LE") && m.contains("windows-1251"), "{m}");
        let m = encoding_message(decode(&utf16be(&doc("UTF-8"), true)));
        assert!(m.contains("UTF-16BE") && m.contains("UTF-8"), "{m}");
        let m = encoding_message(decode(&utf16le(&doc("UTF-16BE"), false)));
        assert!(m.contains("UTF-16LE") && m.contains("UTF-16BE"), "{m}");
        let m = encoding_message(decode(doc("UTF-16").as_bytes()));
        assert!(m.contains("UTF-16") && m.contains("single bytes"), "{m}");
        let mut marked = b"\xEF\xBB\xBF".to_vec();
        marked.extend(cp1251(&doc("windows-1251")));
        let m = encoding_message(decode(&marked));
        assert!(
            m.contains("UTF-8 byte order mark") && m.contains("windows-1251"),
            "{m}"
        );
        let m = encoding_message(decode(&utf16le("<Полис/>", false)));
        assert!(m.contains("UTF-16LE") && m.contains("§4.3.3"), "{m}");
        let m = encoding_message(decode(&utf16le("<?xml version='1.0'?><a/>", false)));
        assert!(m.contains("does not name the encoding"), "{m}");
        // The stream says the same before handing anything on.
        assert_eq!(
            encoding_message(
                decode_stream(utf16le(&doc("windows-1251"), true).as_slice()).map(|_| ())
            ),
            encoding_message(decode(&utf16le(&doc("windows-1251"), true)))
        );
    }

    #[test]
    fn unknown_and_unreadable_encodings() {
        let m = encoding_message(decode(doc("windows-1215").as_bytes()));
        assert!(m.contains("unknown encoding 'windows-1215'"), "{m}");
        let m = encoding_message(decode(doc("ISO-2022-KR").as_bytes()));
        assert!(
            m.contains("'ISO-2022-KR'") && m.contains("replacement"),
            "{m}"
        );
        let m = encoding_message(decode(b"\0\0\0<\0\0\0?"));
        assert!(m.contains("UTF-32"), "{m}");
        let m = encoding_message(decode(b"\x4C\x6F\xA7\x94\x93"));
        assert!(m.contains("EBCDIC"), "{m}");
        let long = "x".repeat(200);
        let m = encoding_message(decode(doc(&long).as_bytes()));
        assert!(m.len() < 200, "{m}");
    }

    #[test]
    fn malformed_bytes_are_errors_with_positions() {
        // An unpaired surrogate on line 3.
        let mut bytes = utf16le(&doc("UTF-16"), true);
        let at = utf16le(
            &DOC[..DOC.find("СОГАЗ").unwrap()].replace("ENC", "UTF-16"),
            true,
        )
        .len();
        bytes[at..at + 2].copy_from_slice(&[0x00, 0xD8]);
        let e = decode(&bytes).unwrap_err();
        assert_eq!(e.position.line, 3, "{e}");
        let m = encoding_message(Err::<(), _>(e.clone()));
        assert!(
            m.contains("UTF-16LE") && m.contains(&format!("offset {at}")),
            "{m}"
        );
        for buf in [1, 2, 5, 4096] {
            assert_eq!(streamed(&bytes, buf).unwrap_err(), e, "buffer {buf}");
        }
        // windows-1253 leaves 0xAA unmapped.
        let bytes = b"<?xml version='1.0' encoding='windows-1253'?>\n<a>\xAA</a>";
        let e = decode(bytes).unwrap_err();
        assert_eq!(e.position, Position { line: 2, column: 4 });
        assert!(e.to_string().contains("windows-1253 at offset 49"), "{e}");
        assert_eq!(streamed(bytes, 3).unwrap_err(), e);
        // A Shift_JIS lead byte with nothing after it.
        let bytes = b"<?xml version='1.0' encoding='Shift_JIS'?><a>\x82".to_vec();
        let e = decode(&bytes).unwrap_err();
        assert_eq!(streamed(&bytes, 2).unwrap_err(), e);
        // Odd UTF-16 length.
        let mut bytes = utf16be("<a/>", true);
        bytes.push(0);
        let e = decode(&bytes).unwrap_err();
        assert_eq!(streamed(&bytes, 2).unwrap_err(), e);
    }

    #[test]
    fn declared_ascii_is_utf8_checked() {
        let ascii = b"<?xml version='1.0' encoding='US-ASCII'?>\n<a>ok</a>";
        assert!(matches!(decode(ascii), Ok(Cow::Borrowed(_))));
        assert_eq!(streamed(ascii, 3).unwrap(), ascii);
        // A legacy system that declares ASCII and sends windows-1251.
        let lying = cp1251("<?xml version='1.0' encoding='us-ascii'?>\n<a>\n  <b>Иванов</b></a>");
        let e = decode(&lying).unwrap_err();
        assert_eq!(e.position, Position { line: 3, column: 6 });
        assert!(e.to_string().contains("US-ASCII"), "{e}");
        for buf in [1, 4, 4096] {
            assert_eq!(streamed(&lying, buf).unwrap_err(), e, "buffer {buf}");
        }
    }

    #[test]
    fn the_declaration_is_read_carefully() {
        assert_eq!(
            declared_label(b"<?xml version='1.0' encoding = \"koi8-r\" standalone='yes'?>"),
            Some("koi8-r".into())
        );
        assert_eq!(declared_label(b"<?xml version='1.0'?>"), None);
        assert_eq!(declared_label(b"<?xml-stylesheet href='x'?>"), None);
        assert_eq!(
            declared_label(b" <?xml version='1.0' encoding='koi8-r'?>"),
            None
        );
        assert_eq!(
            declared_label(b"<?xml version='1.0' encoding='koi8-r'"),
            None
        );
        assert_eq!(
            declared_label(b"<?xml version='1.0' encoding=koi8-r?>"),
            None
        );
        // Not closed within the head: read as UTF-8, and the reader reports what follows.
        let mut padded = b"<?xml version='1.0'".to_vec();
        padded.extend(std::iter::repeat_n(b' ', HEAD_BYTES));
        padded.extend_from_slice(b"encoding='koi8-r'?><a/>");
        assert!(matches!(decode(&padded), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn stream_memory_is_bounded() {
        // 4 MiB of windows-1251 through a 64 KiB buffer: the output chunks never exceed it.
        let mut text = doc("windows-1251");
        text.push_str(&"<!-- Комментарий -->".repeat(200_000));
        let bytes = cp1251(&text);
        let mut decoded = decode_stream(io::BufReader::new(bytes.as_slice())).unwrap();
        assert_eq!(decoded.encoding(), "windows-1251");
        let mut total = 0;
        loop {
            let n = decoded.fill_buf().unwrap().len();
            assert!(n <= CHUNK_BYTES);
            if n == 0 {
                break;
            }
            total += n;
            decoded.consume(n);
        }
        assert_eq!(total, text.len());
    }
}
