//! What a document's bytes are, judged by parsing them rather than by their first bytes: a PDF must
//! parse as one (its cross-reference table or stream, a trailer whose `/Root` is a catalog, at least
//! one page; lopdf), a JPEG or PNG must decode its header to real dimensions (image). So an ELF, a
//! ZIP or a script behind `%PDF-` or a PNG signature is refused with what was wrong, not stored.
//!
//! Parsing runs on the blocking pool and reads the received file: a PDF whole (at most 5 MiB, so at
//! most [`AT_ONCE`] of them are held at a time), an image only as far as its header.

use std::io::BufReader;
use std::path::Path;

/// Documents parsed at once: each PDF is read whole, so this bounds the memory they take.
const AT_ONCE: usize = 4;
static PARSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AT_ONCE);

/// What the bytes turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A PDF with this many pages.
    Pdf {
        /// Pages in its page tree.
        pages: usize,
    },
    /// A JPEG or PNG image of these dimensions.
    Image {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// Judge the file at `path`, whose first bytes said `media_type`: what it is, or why it is not.
pub async fn judge(path: &Path, media_type: &'static str) -> Result<Content, String> {
    let _turn = PARSING
        .acquire()
        .await
        .map_err(|_| "the document check is stopping".to_string())?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || judge_file(&path, media_type))
        .await
        .map_err(|_| "the document check failed".to_string())?
}

/// [`judge`], on the calling thread.
pub fn judge_file(path: &Path, media_type: &str) -> Result<Content, String> {
    match media_type {
        "application/pdf" => {
            let bytes = std::fs::read(path).map_err(|e| format!("could not read it back: {e}"))?;
            pdf(&bytes)
        }
        "image/jpeg" | "image/png" => {
            let file =
                std::fs::File::open(path).map_err(|e| format!("could not read it back: {e}"))?;
            image(BufReader::new(file), media_type)
        }
        other => Err(format!("{other} is not a type documents may have")),
    }
}

/// A PDF's structure: parsed cross-references, a trailer, a catalog, pages.
pub fn pdf(bytes: &[u8]) -> Result<Content, String> {
    let doc =
        lopdf::Document::load_mem(bytes).map_err(|e| format!("not a well-formed PDF: {e}"))?;
    doc.catalog()
        .map_err(|e| format!("a PDF without a document catalog (trailer /Root): {e}"))?;
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Err("a PDF without pages".to_string());
    }
    Ok(Content::Pdf { pages })
}

/// An image's header: its format as named, and dimensions that are not zero.
pub fn image(
    reader: impl std::io::BufRead + std::io::Seek,
    media_type: &str,
) -> Result<Content, String> {
    let format = match media_type {
        "image/jpeg" => image::ImageFormat::Jpeg,
        _ => image::ImageFormat::Png,
    };
    let (width, height) = image::ImageReader::with_format(reader, format)
        .into_dimensions()
        .map_err(|e| format!("not a readable {media_type} image: {e}"))?;
    if width == 0 || height == 0 {
        return Err(format!("an image of {width}×{height} pixels"));
    }
    Ok(Content::Image { width, height })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(width, height)
            .write_to(&mut Cursor::new(&mut out), format)
            .expect("encode");
        out
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        encoded(width, height, image::ImageFormat::Png)
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        encoded(width, height, image::ImageFormat::Jpeg)
    }

    /// The start of this test binary: an ELF executable.
    fn elf() -> Vec<u8> {
        let me = std::env::current_exe().expect("exe");
        let mut bytes = std::fs::read(me).expect("read");
        bytes.truncate(64 << 10);
        assert!(bytes.starts_with(b"\x7fELF"));
        bytes
    }

    #[test]
    fn real_documents_pass_with_what_they_hold() {
        assert_eq!(
            pdf(&crate::pdf::page("a page", 8192)),
            Ok(Content::Pdf { pages: 1 })
        );
        assert_eq!(
            image(Cursor::new(png(31, 17)), "image/png"),
            Ok(Content::Image {
                width: 31,
                height: 17
            })
        );
        assert_eq!(
            image(Cursor::new(jpeg(40, 30)), "image/jpeg"),
            Ok(Content::Image {
                width: 40,
                height: 30
            })
        );
    }

    #[test]
    fn disguised_files_are_refused_with_a_reason() {
        let mut elf_as_pdf = b"%PDF-1.7\n".to_vec();
        elf_as_pdf.extend(elf());
        let why = pdf(&elf_as_pdf).expect_err("an ELF behind %PDF-");
        assert!(why.starts_with("not a well-formed PDF"), "{why}");

        // A signature and a trailer-like tail, but no objects or cross-references.
        let why = pdf(b"%PDF-1.4\n% nothing\n%%EOF\n").expect_err("no structure");
        assert!(why.contains("PDF"), "{why}");

        let mut png_sig_then_elf = png(2, 2)[..8].to_vec();
        png_sig_then_elf.extend(elf());
        let why = image(Cursor::new(png_sig_then_elf), "image/png").expect_err("fake PNG");
        assert!(why.starts_with("not a readable image/png image"), "{why}");

        let mut jpeg_soi_then_zip = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg_soi_then_zip.extend(b"PK\x03\x04 not an image at all".repeat(100));
        let why = image(Cursor::new(jpeg_soi_then_zip), "image/jpeg").expect_err("fake JPEG");
        assert!(why.starts_with("not a readable image/jpeg image"), "{why}");

        // A JPEG sent as a PNG is judged as what it was declared and sniffed to be.
        assert!(image(Cursor::new(jpeg(4, 4)), "image/png").is_err());
    }
}
