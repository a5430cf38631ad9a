//! Masking of personal data in anything that leaves the validator: violations, logs, reports.
//!
//! A value is personal when the element or attribute that carries it, its type, or an element around
//! it is named like one of reggate's personal fields or containers (SNILS, INN, passport, names, birth
//! data, contacts, addresses, persons, parents, children). Names are checked case-insensitively by
//! substring so `ApplicantSnils`, `snils:Snils` and `SnilsType` all count. When in doubt, mask.
//! Masking keeps just enough to find the place in a document: SNILS keeps its check number
//! (`***-***-*** 12`, as DESIGN.md prescribes), names become initials, anything else keeps its length.

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

#[cfg(test)]
mod tests {
    use super::*;

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
