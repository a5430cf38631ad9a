//! Masking of personal data in anything that leaves the validator: violations, logs, reports.
//!
//! A value is personal when the element or attribute that carries it, its type, or an element around
//! it is named like one of reggate's personal fields or containers (SNILS, INN, passport, names, birth
//! data, contacts, addresses, persons, parents, children). Names are checked case-insensitively by
//! substring so `ApplicantSnils`, `snils:Snils` and `SnilsType` all count. When in doubt, mask.
//! Masking keeps just enough to find the place in a document: SNILS keeps its check number
//! (`***-***-*** 12`, as ARCHITECTURE.md prescribes), names become initials, anything else keeps its length.

/// Substrings of element, attribute or type names that mark a value as personal.
const PERSONAL_MARKERS: &[&str] = &[
    "snils",
    "inn",
    "passport",
    "lastname",
    "firstname",
    "middlename",
    "surname",
    "patronymic",
    "fullname",
    "fio",
    "birth",
    "phone",
    "email",
    "address",
    "street",
    "house",
    "flat",
    "certificate",
    "personname",
    "namepart",
    // Containers: everything inside a person, a parent, an identity document or an address is
    // personal, whatever its own name (`Series`, `Apartment`, `Gender`, `IssueDate`).
    "person",
    "parent",
    "child",
    "applicant",
    "recipient",
    "identity",
    "gender",
    "contact",
];

/// Whether a value under this element/attribute name or of this type name is personal data.
pub fn is_personal_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    PERSONAL_MARKERS.iter().any(|m| lower.contains(m))
}

/// Mask a personal value for messages. `hint` is the element, attribute or type name that made it personal.
pub fn mask(hint: &str, value: &str) -> String {
    let lower = hint.to_ascii_lowercase();
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if lower.contains("snils") {
        let tail = if digits.len() >= 2 {
            &digits[digits.len() - 2..]
        } else {
            "**"
        };
        return format!("***-***-*** {tail}");
    }
    if ["name", "fio", "surname", "patronymic"]
        .iter()
        .any(|m| lower.contains(m))
    {
        let initials: Vec<String> = value
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .map(|c| format!("{c}."))
            .collect();
        if !initials.is_empty() {
            return initials.join(" ");
        }
    }
    format!("*** ({} chars)", value.chars().count())
}

/// Mask `value` if any of `names` marks it as personal; otherwise return it unchanged.
pub fn mask_if_personal(names: &[&str], value: &str) -> String {
    match names.iter().find(|n| is_personal_name(n)) {
        Some(hint) => mask(hint, value),
        None => value.to_owned(),
    }
}

/// A whole XML document with the text of every personal element masked (see [`mask`]): what the
/// message log keeps of an exchange when bodies are masked. Element names, structure and other values
/// stay, so the document still shows what was asked and answered. Input that is not well-formed is
/// kept only up to the point where it breaks, followed by a marker. A document in another encoding
/// than UTF-8 is read through [`crate::xml::encoding`] and comes out as UTF-8, its declaration saying
/// so; one whose encoding cannot be read is only the marker.
pub fn mask_document(xml: &[u8]) -> String {
    use quick_xml::events::{BytesDecl, BytesText, Event};
    let Ok(decoded) = crate::xml::encoding::decode(xml) else {
        return BROKEN.to_owned();
    };
    let transcoded = matches!(decoded, std::borrow::Cow::Owned(_));
    let xml: &[u8] = &decoded;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    // Local names of the open elements, outermost first.
    let mut open: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    let mut broken = false;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(_) => {
                broken = true;
                break;
            }
        };
        let written = match &event {
            Event::Eof => break,
            Event::Start(tag) => {
                open.push(tag.local_name().into_inner().to_string());
                writer.write_event(event.borrow())
            }
            Event::End(_) => {
                open.pop();
                writer.write_event(event.borrow())
            }
            Event::Text(text) => {
                let raw: &str = text;
                let raw = raw.to_string();
                let names: Vec<&str> = open.iter().rev().map(String::as_str).collect();
                if raw.trim().is_empty() || !names.iter().any(|n| is_personal_name(n)) {
                    writer.write_event(event.borrow())
                } else {
                    let value = quick_xml::escape::unescape(&raw)
                        .map(|v| v.to_string())
                        .unwrap_or(raw);
                    let masked = mask_if_personal(&names, value.trim());
                    writer.write_event(Event::Text(BytesText::new(&masked)))
                }
            }
            // The text is UTF-8 now, whatever the original declared.
            Event::Decl(decl) if transcoded => {
                let version = decl.version().map(|v| v.into_owned()).unwrap_or_default();
                let standalone = decl.standalone().and_then(Result::ok);
                writer.write_event(Event::Decl(BytesDecl::new(
                    &version,
                    Some("UTF-8"),
                    standalone.as_deref(),
                )))
            }
            // A character reference inside a personal value would leak a character of it.
            Event::GeneralRef(_) if open.iter().any(|n| is_personal_name(n)) => Ok(()),
            Event::CData(_) if open.iter().any(|n| is_personal_name(n)) => {
                writer.write_event(Event::Text(BytesText::new("*** (masked CDATA)")))
            }
            _ => writer.write_event(event.borrow()),
        };
        if written.is_err() {
            broken = true;
            break;
        }
        buf.clear();
    }
    let mut out = String::from_utf8_lossy(&writer.into_inner()).to_string();
    if broken {
        out.push_str(BROKEN);
    }
    out
}

/// What follows the part of a document that could be read.
const BROKEN: &str = "<!-- not well-formed from here on -->";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_shape_with_personal_values_masked() {
        let doc = r#"<s:Envelope xmlns:s="urn:s"><s:Body><x:Req xmlns:x="urn:x"><x:MessageId>m-1</x:MessageId><x:Person><x:LastName>Иванова</x:LastName><x:Gender>Female</x:Gender></x:Person><x:Snils>11223344595</x:Snils><x:Amount>10.00</x:Amount></x:Req></s:Body></s:Envelope>"#;
        let masked = mask_document(doc.as_bytes());
        assert!(
            masked.contains("<x:MessageId>m-1</x:MessageId>"),
            "{masked}"
        );
        assert!(masked.contains("<x:LastName>И.</x:LastName>"), "{masked}");
        assert!(
            masked.contains("<x:Snils>***-***-*** 95</x:Snils>"),
            "{masked}"
        );
        assert!(masked.contains("<x:Amount>10.00</x:Amount>"), "{masked}");
        assert!(!masked.contains("Female") && !masked.contains("11223344595"));
        let broken = mask_document(b"<a><Snils>11223344595</Snils><b></a>");
        assert!(
            broken.ends_with("<!-- not well-formed from here on -->"),
            "{broken}"
        );
        assert!(!broken.contains("11223344595"));
    }

    #[test]
    fn documents_in_other_encodings_come_out_as_utf8() {
        let doc = "<?xml version=\"1.0\" encoding=\"windows-1251\" standalone=\"yes\"?><x:Request xmlns:x=\"urn:x\"><x:LastName>Иванова</x:LastName><x:Region>Тверская область</x:Region></x:Request>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(doc);
        let masked = mask_document(&bytes);
        assert!(
            masked.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#),
            "{masked}"
        );
        assert!(masked.contains("<x:LastName>И.</x:LastName>"), "{masked}");
        assert!(masked.contains("Тверская область"), "{masked}");
        let lying = b"<?xml version='1.0' encoding='UTF-16'?><Snils>11223344595</Snils>";
        assert_eq!(mask_document(lying), BROKEN);
    }

    #[test]
    fn masks_snils_keeping_check_number() {
        assert_eq!(mask("Snils", "112-233-445 95"), "***-***-*** 95");
        assert_eq!(
            mask_if_personal(&["ApplicantSNILS"], "11223344595"),
            "***-***-*** 95"
        );
    }

    #[test]
    fn names_become_initials_and_others_keep_length() {
        assert_eq!(mask("LastName", "Иванов"), "И.");
        assert_eq!(mask("FullName", "Иванов Иван"), "И. И.");
        assert_eq!(mask("Inn", "500100732259"), "*** (12 chars)");
        assert!(!mask("PassportNumber", "123456").contains("123456"));
    }

    #[test]
    fn leaves_non_personal_values_alone() {
        assert_eq!(
            mask_if_personal(&["Amount", "AmountType"], "12.50"),
            "12.50"
        );
    }
}
