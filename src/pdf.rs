//! Writing small PDF files: the receipt's page (`receipt::pdf`), and documents for the load tool
//! and tests that must pass the API's content check (a real structure: objects, cross-reference
//! table, trailer), not just start with `%PDF-`.

/// A PDF file of `objects` (numbered from 1 in order; the first must be the catalog), with its
/// cross-reference table and trailer.
pub fn write(header: &[u8], objects: &[String]) -> Vec<u8> {
    let mut out = header.to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A one-page PDF showing `note` (ASCII), padded to `size` bytes (give or take the few digits of a
/// length) with comment lines in its content stream when `size` asks for more than the page needs.
/// Different notes give different bytes.
pub fn page(note: &str, size: usize) -> Vec<u8> {
    let bare = page_with_fill(note, 0);
    match size.checked_sub(bare.len()) {
        Some(fill) if fill > 0 => page_with_fill(note, fill),
        _ => bare,
    }
}

fn page_with_fill(note: &str, fill: usize) -> Vec<u8> {
    let text: String = note
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| !matches!(c, '(' | ')' | '\\'))
        .collect();
    let mut content = format!("BT /F1 12 Tf 56 780 Td ({text}) Tj ET\n");
    // Comment lines, which viewers skip.
    for i in 0..fill {
        content.push(if i % 64 == 63 { '\n' } else { '%' });
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    write(b"%PDF-1.4\n", &objects)
}
