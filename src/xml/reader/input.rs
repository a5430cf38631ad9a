//! Where the reader's bytes come from: a slice in memory, read in place, or a stream read through a
//! window that keeps only what the reader still needs.
//!
//! Both hand the tokenizer UTF-8 that has been checked once (simdutf8), so it can cut `&str`s by byte
//! offsets without checking again. Bytes that are not UTF-8 are reported where they stand, after every
//! token before them has been read: a slice is read up to its first bad byte, a stream chunk up to its
//! first bad byte.

use std::io::BufRead;

use super::XmlErrorKind;

/// A source of checked UTF-8 for the reader: a window of the document at a known offset.
pub trait Source {
    /// The part of the document the reader can see, UTF-8.
    fn window(&self) -> &str;
    /// The document offset of the window's first byte.
    fn base(&self) -> u64;
    /// Nothing follows the window.
    fn at_end(&self) -> bool;
    /// Let go of the window before document offset `keep` and read more. Fails on a read error, on
    /// bytes that are not UTF-8 (with their offset), or when more than `cap` bytes would have to be
    /// kept at once (one piece of markup or text too large to hold).
    fn refill(&mut self, keep: u64, cap: usize) -> Result<(), (XmlErrorKind, u64)>;
}

/// A document in memory, read in place.
pub struct SliceSource<'a> {
    valid: &'a str,
    /// The document has bytes past `valid` that are not UTF-8.
    invalid: bool,
}

impl<'a> SliceSource<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        match simdutf8::compat::from_utf8(bytes) {
            Ok(valid) => SliceSource {
                valid,
                invalid: false,
            },
            Err(e) => SliceSource {
                valid: std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
                invalid: true,
            },
        }
    }

    /// Text that stops where the document became unreadable: more is wanted, none can be had.
    pub(super) fn cut(bytes: &'a [u8]) -> Self {
        SliceSource {
            invalid: true,
            ..SliceSource::new(bytes)
        }
    }
}

impl Source for SliceSource<'_> {
    fn window(&self) -> &str {
        self.valid
    }

    fn base(&self) -> u64 {
        0
    }

    fn at_end(&self) -> bool {
        !self.invalid
    }

    fn refill(&mut self, _keep: u64, _cap: usize) -> Result<(), (XmlErrorKind, u64)> {
        Err((XmlErrorKind::InvalidUtf8, self.valid.len() as u64))
    }
}

/// How much of a stream is read into the window at a time.
const CHUNK: usize = 64 << 10;

/// A document from a buffered stream, read a chunk at a time into a window.
pub struct StreamSource<R: BufRead> {
    inner: R,
    window: String,
    base: u64,
    /// The start of a character split by the chunk boundary (at most 3 bytes).
    carry: Vec<u8>,
    eof: bool,
    /// Bytes that are not UTF-8 were found; reported once the window before them is read.
    error: Option<(XmlErrorKind, u64)>,
}

impl<R: BufRead> StreamSource<R> {
    pub(super) fn new(inner: R) -> Self {
        StreamSource {
            inner,
            window: String::new(),
            base: 0,
            carry: Vec::new(),
            eof: false,
            error: None,
        }
    }
}

impl<R: BufRead> Source for StreamSource<R> {
    fn window(&self) -> &str {
        &self.window
    }

    fn base(&self) -> u64 {
        self.base
    }

    fn at_end(&self) -> bool {
        self.eof
    }

    fn refill(&mut self, keep: u64, cap: usize) -> Result<(), (XmlErrorKind, u64)> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let drop = (keep.saturating_sub(self.base) as usize).min(self.window.len());
        if drop > 0 {
            self.window.drain(..drop);
            self.base += drop as u64;
        }
        if self.window.len() > cap {
            let what = "bytes in one piece of markup or text";
            return Err((XmlErrorKind::Limit(what, cap as u64), self.base));
        }
        // Read at least as much as the window holds: a token that keeps asking for more (a long run of
        // text is read whole) is then rescanned a logarithmic number of times, not once per chunk.
        let want = CHUNK.max(self.window.len());
        let mut got = 0;
        while got < want && self.error.is_none() {
            let end = self.base + self.window.len() as u64;
            // A failed read, or a character cut off by the end, is kept like bad UTF-8: what this
            // refill already read is handed out first, so the events before it are reported as in memory.
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.error = Some((XmlErrorKind::Io(e.to_string()), end));
                    break;
                }
            };
            if chunk.is_empty() {
                if !self.carry.is_empty() {
                    self.error = Some((XmlErrorKind::InvalidUtf8, end));
                    break;
                }
                self.eof = true;
                return Ok(());
            }
            let n = chunk.len().min(CHUNK);
            let joined;
            let bytes = if self.carry.is_empty() {
                &chunk[..n]
            } else {
                joined = [self.carry.as_slice(), &chunk[..n]].concat();
                joined.as_slice()
            };
            match simdutf8::compat::from_utf8(bytes) {
                Ok(s) => {
                    self.window.push_str(s);
                    self.carry.clear();
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    self.window
                        .push_str(std::str::from_utf8(&bytes[..valid]).unwrap_or_default());
                    if e.error_len().is_none() {
                        self.carry = bytes[valid..].to_vec();
                    } else {
                        let at = self.base + self.window.len() as u64;
                        self.error = Some((XmlErrorKind::InvalidUtf8, at));
                        self.carry.clear();
                    }
                }
            }
            self.inner.consume(n);
            got += n;
        }
        match self.error.take() {
            Some(e) if got == 0 => Err(e),
            e => {
                self.error = e;
                Ok(())
            }
        }
    }
}
