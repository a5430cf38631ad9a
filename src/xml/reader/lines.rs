//! Lines and columns, computed from byte offsets only when someone asks.
//!
//! Counting lines on every event costs a pass over every byte; a report needs positions only for its
//! violations. So the reader keeps offsets, and this turns an offset into a line and column by counting
//! newlines (memchr) from the last place it counted to. A stream lets go of what it has read: before it
//! does, the line count is carried past the discarded bytes, and the positions of the elements still
//! open there are fixed, since a validator reports at an element's end what is wrong with its start.

use std::cell::Cell;

use super::Position;

/// A place whose line is known.
#[derive(Clone, Copy, Debug)]
struct At {
    offset: u64,
    line: u32,
    line_start: u64,
}

impl At {
    const START: At = At {
        offset: 0,
        line: 1,
        line_start: 0,
    };

    /// Carry the count forward over `bytes`, which start at `self.offset`, up to document offset `to`.
    fn advance(self, bytes: &[u8], to: u64) -> At {
        let n = (to.saturating_sub(self.offset) as usize).min(bytes.len());
        let part = &bytes[..n];
        match memchr::memrchr(b'\n', part) {
            None => At { offset: to, ..self },
            Some(last) => At {
                offset: to,
                line: self
                    .line
                    .saturating_add(memchr::memchr_iter(b'\n', part).count() as u32),
                line_start: self.offset + last as u64 + 1,
            },
        }
    }

    fn position(self, offset: u64) -> Position {
        Position {
            line: self.line,
            column: (offset.saturating_sub(self.line_start) + 1).min(u32::MAX as u64) as u32,
        }
    }
}

/// Line accounting over the reader's window.
#[derive(Debug)]
pub(super) struct Lines {
    /// The line at the window's first byte.
    origin: At,
    /// The last place counted to, so that positions asked in document order cost one pass in all.
    cursor: Cell<At>,
}

impl Default for Lines {
    fn default() -> Self {
        Lines {
            origin: At::START,
            cursor: Cell::new(At::START),
        }
    }
}

impl Lines {
    /// The position of `offset`, which must lie in the window (`window` starts at document offset
    /// `base`); `None` when it lies before it.
    pub(super) fn position(&self, window: &[u8], base: u64, offset: u64) -> Option<Position> {
        if offset < base {
            return None;
        }
        let offset = offset.min(base + window.len() as u64);
        let cursor = self.cursor.get();
        let from = if cursor.offset <= offset && cursor.offset >= base {
            cursor
        } else {
            self.origin
        };
        let at = from.advance(&window[(from.offset - base) as usize..], offset);
        self.cursor.set(at);
        Some(at.position(offset))
    }

    /// The window will drop its bytes before `upto`: carry the count past them.
    pub(super) fn discard(&mut self, window: &[u8], base: u64, upto: u64) {
        let cursor = self.cursor.get();
        let from = if cursor.offset <= upto && cursor.offset >= base {
            cursor
        } else {
            self.origin
        };
        self.origin = from.advance(&window[(from.offset - base) as usize..], upto);
        if cursor.offset < upto {
            self.cursor.set(self.origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_in_any_order_and_across_a_discard() {
        let doc = b"ab\ncd\n\nefg";
        let mut lines = Lines::default();
        let at = |l: &Lines, w: &[u8], base, o| l.position(w, base, o).unwrap();
        assert_eq!(at(&lines, doc, 0, 8), Position { line: 4, column: 2 });
        assert_eq!(at(&lines, doc, 0, 1), Position { line: 1, column: 2 });
        assert_eq!(at(&lines, doc, 0, 4), Position { line: 2, column: 2 });
        lines.discard(doc, 0, 5);
        let rest = &doc[5..];
        assert_eq!(at(&lines, rest, 5, 7), Position { line: 4, column: 1 });
        assert_eq!(at(&lines, rest, 5, 5), Position { line: 2, column: 3 });
        assert_eq!(lines.position(rest, 5, 2), None);
    }
}
