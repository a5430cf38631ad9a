//! Writing small PDF files: the receipt's page (`receipt::pdf`), and documents for the load tool
//! and tests that must pass the API's content check (a real structure: objects, cross-reference
//! table, trailer), not just start with `%PDF-`.

/// A one-page A4 PDF whose page draws `content` (a content stream), with the Type 1 base `fonts`
/// available as `/F1`, `/F2`, … in order. `header` opens the file (`%PDF-1.4` and, if wanted, a
/// binary comment line).
pub fn one_page(header: &[u8], content: &str, fonts: &[&str]) -> Vec<u8> {
    // Objects 1–4 are the catalog, page tree, page and content; the fonts follow from 5.
    let font_refs: Vec<String> = (0..fonts.len())
        .map(|i| format!("/F{} {} 0 R", i + 1, i + 5))
        .collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << {} >> >> >>",
            font_refs.join(" ")
        ),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
    ];
    objects.extend(
        fonts
            .iter()
            .map(|f| format!("<< /Type /Font /Subtype /Type1 /BaseFont /{f} >>")),
    );
    write(header, &objects)
}

/// `text` as a PDF string's contents: printable ASCII only, with `(`, `)` and `\` escaped.
pub fn text(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

/// A one-page PDF showing `note`, padded to `size` bytes (give or take the few digits of a length)
/// with comment lines in its content stream when `size` asks for more than the page needs.
/// Different notes give different bytes.
pub fn page(note: &str, size: usize) -> Vec<u8> {
    let bare = page_with_fill(note, 0);
    match size.checked_sub(bare.len()) {
        Some(fill) if fill > 0 => page_with_fill(note, fill),
        _ => bare,
    }
}

fn page_with_fill(note: &str, fill: usize) -> Vec<u8> {
    let mut content = format!("BT /F1 12 Tf 56 780 Td ({}) Tj ET\n", text(note));
    // Comment lines, which viewers skip.
    for i in 0..fill {
        content.push(if i % 64 == 63 { '\n' } else { '%' });
    }
    one_page(b"%PDF-1.4\n", &content, &["Helvetica"])
}

/// A PDF file of `objects` (numbered from 1 in order; the first is the catalog), with its
/// cross-reference table and trailer.
fn write(header: &[u8], objects: &[String]) -> Vec<u8> {
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
