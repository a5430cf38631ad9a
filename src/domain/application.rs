//! A benefit application as a cabinet backend submits it, and the input rules of ARCHITECTURE.md: every
//! field checked, every failure reported at once by JSON pointer. A missing SNILS or INN refuses the
//! request outright, before any other check.

use serde::{Deserialize, Serialize};

use crate::calendar::{days_from_civil, parse_date};
use crate::domain::identifiers::{inn_is_valid, snils_is_valid};

/// Most documents one application may bring.
pub const MAX_DOCUMENTS: usize = 20;

/// Largest document accepted.
pub const MAX_DOCUMENT_BYTES: u64 = 5 * 1024 * 1024;

/// The first and last day a date may name: the registries' `cmn:DateType` bounds, so no date
/// accepted here can be refused there.
pub const DATE_RANGE: (&str, &str) = ("1900-01-01", "2100-12-31");

/// The four benefits (`lab:BenefitCodeType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Benefit {
    /// Child under 17, household income per person below the regional subsistence minimum.
    #[serde(rename = "unified_allowance")]
    UnifiedAllowance,
    /// Child under 18 months; one recipient per child.
    #[serde(rename = "childcare_under_1_5")]
    ChildcareUnder1_5,
    /// Large-family status active, 3+ children under 18.
    #[serde(rename = "large_family")]
    LargeFamily,
    /// The child's disability status active; a medical certificate is required.
    #[serde(rename = "disabled_child")]
    DisabledChild,
}

impl Benefit {
    /// Every benefit, in code order.
    pub const ALL: [Benefit; 4] = [
        Benefit::UnifiedAllowance,
        Benefit::ChildcareUnder1_5,
        Benefit::LargeFamily,
        Benefit::DisabledChild,
    ];

    /// Its code, as the API and the Ministry of Labour spell it.
    pub fn code(self) -> &'static str {
        match self {
            Benefit::UnifiedAllowance => "unified_allowance",
            Benefit::ChildcareUnder1_5 => "childcare_under_1_5",
            Benefit::LargeFamily => "large_family",
            Benefit::DisabledChild => "disabled_child",
        }
    }

    /// The benefit of a code.
    pub fn from_code(code: &str) -> Option<Benefit> {
        Benefit::ALL.into_iter().find(|b| b.code() == code)
    }

    /// The monthly amount registered with the Ministry of Labour, roubles. The real amounts depend on
    /// region and income; these are the federal base figures the development setup uses until an
    /// amount rule is specified.
    pub fn monthly_amount(self) -> &'static str {
        match self {
            Benefit::UnifiedAllowance => "8606.00",
            Benefit::ChildcareUnder1_5 => "9227.24",
            Benefit::LargeFamily => "1000.00",
            Benefit::DisabledChild => "19259.00",
        }
    }

    /// Whether a child of school age (7 or older) needs a school certificate for it.
    fn needs_school_certificate(self) -> bool {
        matches!(self, Benefit::UnifiedAllowance | Benefit::LargeFamily)
    }
}

impl std::fmt::Display for Benefit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

pub use crate::registries::messages::Gender;

/// A passport.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passport {
    /// 4 digits.
    #[serde(default)]
    pub series: String,
    /// 6 digits.
    #[serde(default)]
    pub number: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub issue_date: String,
    /// Issuing authority.
    #[serde(default)]
    pub issuer: String,
    /// `NNN-NNN`.
    #[serde(default)]
    pub issuer_code: String,
}

/// An address in Russia.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// 6 digits.
    #[serde(default)]
    pub postal_code: String,
    /// 2 digits.
    #[serde(default)]
    pub region_code: String,
    /// Town or village.
    #[serde(default)]
    pub locality: String,
    /// Street, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// House.
    #[serde(default)]
    pub house: String,
    /// Apartment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apartment: Option<String>,
}

/// The applicant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// Family name.
    #[serde(default)]
    pub last_name: String,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Patronymic, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub birth_date: String,
    /// Gender (the registries match on it).
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Passport.
    #[serde(default)]
    pub passport: Passport,
    /// SNILS, 11 digits (dashes and spaces allowed).
    #[serde(default)]
    pub snils: Option<String>,
    /// INN, 12 digits.
    #[serde(default)]
    pub inn: Option<String>,
    /// Registration address.
    #[serde(default)]
    pub registration_address: Address,
    /// Actual address, when different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_address: Option<Address>,
    /// `+7` and 10 digits.
    #[serde(default)]
    pub phone: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

/// A birth certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BirthCertificate {
    /// Roman numeral, dash, two Cyrillic capitals (`IV-АБ`).
    #[serde(default)]
    pub series: String,
    /// 6 digits.
    #[serde(default)]
    pub number: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub issue_date: String,
}

/// The child.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    /// Family name exactly as on the birth certificate.
    #[serde(default)]
    pub last_name: String,
    /// Given name exactly as on the birth certificate.
    #[serde(default)]
    pub first_name: String,
    /// Patronymic, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub birth_date: String,
    /// Gender.
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Place of birth.
    #[serde(default)]
    pub birth_place: String,
    /// Birth certificate.
    #[serde(default)]
    pub birth_certificate: BirthCertificate,
    /// SNILS.
    #[serde(default)]
    pub snils: String,
}

/// A benefit period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First day.
    #[serde(default)]
    pub from: String,
    /// Last day, if bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A document the application brings (its bytes are uploaded separately).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// `birth_certificate`, `passport`, `snils`, `medical_certificate`, `school_certificate`, `other`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `application/pdf`, `image/jpeg` or `image/png`.
    #[serde(default)]
    pub media_type: String,
    /// Bytes.
    #[serde(default)]
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes.
    #[serde(default)]
    pub sha256: String,
}

/// Document kinds the manifest may name.
pub const DOCUMENT_KINDS: [&str; 6] = [
    "birth_certificate",
    "passport",
    "snils",
    "medical_certificate",
    "school_certificate",
    "other",
];

/// Media types accepted.
pub const MEDIA_TYPES: [&str; 3] = ["application/pdf", "image/jpeg", "image/png"];

/// An application as submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    /// Benefit code.
    #[serde(default)]
    pub benefit: String,
    /// The period asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Who applies.
    #[serde(default)]
    pub applicant: Applicant,
    /// For whom.
    #[serde(default)]
    pub child: Child,
    /// Documents.
    #[serde(default)]
    pub documents: Vec<Document>,
}

/// One failed rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON pointer of the field (`/applicant/snils`).
    pub pointer: String,
    /// Machine-readable code (`required`, `snils_checksum`, …).
    pub code: String,
    /// What is wrong, without the value (it may be personal data).
    pub message: String,
}

/// Why an application was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// SNILS or INN missing: refused outright, nothing else was checked.
    MissingIdentifier(Vec<FieldError>),
    /// Fields break the input rules (all of them listed).
    Fields(Vec<FieldError>),
}

impl Rejection {
    /// The errors.
    pub fn errors(&self) -> &[FieldError] {
        match self {
            Rejection::MissingIdentifier(e) | Rejection::Fields(e) => e,
        }
    }
}

struct Check {
    today: i32,
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, pointer: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            pointer: pointer.to_string(),
            code: code.to_string(),
            message: message.into(),
        });
    }

    fn required(&mut self, pointer: &str, value: &str) -> bool {
        if value.trim().is_empty() {
            self.fail(pointer, "required", "is required");
            return false;
        }
        true
    }

    fn digits(&mut self, pointer: &str, value: &str, n: usize) {
        if self.required(pointer, value)
            && (value.len() != n || !value.bytes().all(|b| b.is_ascii_digit()))
        {
            self.fail(pointer, "format", format!("must be {n} digits"));
        }
    }

    /// A real calendar date within [`DATE_RANGE`]; its day number.
    fn date(&mut self, pointer: &str, value: &str) -> Option<i32> {
        let Some(d) = parse_date(value) else {
            self.fail(pointer, "date", "must be a real date, YYYY-MM-DD");
            return None;
        };
        let (first, last) = DATE_RANGE;
        if parse_date(first).is_some_and(|f| d < f) || parse_date(last).is_some_and(|l| d > l) {
            self.fail(
                pointer,
                "date_range",
                format!("must lie between {first} and {last}"),
            );
            return None;
        }
        Some(d)
    }

    /// A real calendar date, not in the future; its day number.
    fn past_date(&mut self, pointer: &str, value: &str) -> Option<i32> {
        if !self.required(pointer, value) {
            return None;
        }
        match self.date(pointer, value) {
            None => None,
            Some(d) if d > self.today => {
                self.fail(pointer, "future_date", "must not be in the future");
                None
            }
            Some(d) => Some(d),
        }
    }

    fn name(&mut self, pointer: &str, value: &str) {
        if !self.required(pointer, value) {
            return;
        }
        // `cmn:NamePartType`: runs of Cyrillic letters joined by one hyphen, apostrophe or space.
        let ok = value.chars().count() <= 60
            && value.split(['-', '\'', ' ']).all(|run| {
                !run.is_empty() && run.chars().all(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'))
            });
        if !ok {
            self.fail(
                pointer,
                "name",
                "Cyrillic letters, joined by single spaces, hyphens or apostrophes, at most 60",
            );
        }
    }

    /// At most `max` characters: the registries' schema limit for the field, so nothing accepted
    /// here can be refused there.
    fn bounded(&mut self, pointer: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(pointer, "too_long", format!("at most {max} characters"));
        }
    }

    fn address(&mut self, pointer: &str, a: &Address) {
        self.digits(&format!("{pointer}/postal_code"), &a.postal_code, 6);
        // `cmn:RegionCodeType`: 01 to 99.
        if self.required(&format!("{pointer}/region_code"), &a.region_code)
            && (a.region_code.len() != 2
                || !a.region_code.bytes().all(|b| b.is_ascii_digit())
                || a.region_code == "00")
        {
            self.fail(
                &format!("{pointer}/region_code"),
                "format",
                "must be a region code, 01 to 99",
            );
        }
        self.required(&format!("{pointer}/locality"), &a.locality);
        self.required(&format!("{pointer}/house"), &a.house);
        // cmn:ShortTextType.
        self.bounded(&format!("{pointer}/locality"), &a.locality, 255);
        self.bounded(&format!("{pointer}/house"), &a.house, 255);
        if let Some(street) = &a.street {
            self.bounded(&format!("{pointer}/street"), street, 255);
        }
        if let Some(apartment) = &a.apartment {
            self.bounded(&format!("{pointer}/apartment"), apartment, 255);
        }
    }
}

/// A SNILS as 11 digits (dashes and spaces dropped).
pub fn normalize_snils(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '-' | ' ')).collect()
}

fn birth_certificate_series_ok(series: &str) -> bool {
    let Some((roman, letters)) = series.split_once('-') else {
        return false;
    };
    let roman_ok = (1..=4).contains(&roman.len()) && roman.chars().all(|c| "IVXLCDM".contains(c));
    let letters_ok =
        letters.chars().count() == 2 && letters.chars().all(|c| matches!(c, 'А'..='Я' | 'Ё'));
    roman_ok && letters_ok
}

/// Age in whole years on `today` of someone born on `born` (day numbers).
pub fn age_years(born: i32, today: i32) -> i32 {
    let (by, bm, bd) = crate::calendar::civil_from_days(born);
    let (ty, tm, td) = crate::calendar::civil_from_days(today);
    ty - by - i32::from((tm, td) < (bm, bd))
}

impl ApplicationInput {
    /// Check the input rules on `today` (a day number), every failure at once; on success the input
    /// normalized. [`ApplicationInput::validate`] turns the result into a typed application.
    pub(crate) fn check(mut self, today: i32) -> Result<ApplicationInput, Rejection> {
        let mut c = Check {
            today,
            errors: Vec::new(),
        };
        // Missing SNILS or INN: refused outright.
        let snils = self.applicant.snils.clone().unwrap_or_default();
        let inn = self.applicant.inn.clone().unwrap_or_default();
        if snils.trim().is_empty() {
            c.fail("/applicant/snils", "required", "SNILS is required");
        }
        if inn.trim().is_empty() {
            c.fail("/applicant/inn", "required", "INN is required");
        }
        if !c.errors.is_empty() {
            return Err(Rejection::MissingIdentifier(c.errors));
        }

        let benefit = Benefit::from_code(&self.benefit);
        if benefit.is_none() && c.required("/benefit", &self.benefit) {
            c.fail(
                "/benefit",
                "unknown_benefit",
                "must be one of unified_allowance, childcare_under_1_5, large_family, disabled_child",
            );
        }
        if let Some(p) = &self.period {
            let from = c.past_date_or_future("/period/from", &p.from);
            if let Some(to) = p.to.as_deref()
                && let Some(to) = c.date("/period/to", to)
                && from.is_some_and(|from| to < from)
            {
                c.fail("/period/to", "period", "must not be before from");
            }
        }

        let a = &self.applicant;
        c.name("/applicant/last_name", &a.last_name);
        c.name("/applicant/first_name", &a.first_name);
        if let Some(m) = &a.middle_name {
            c.name("/applicant/middle_name", m);
        }
        let applicant_born = c.past_date("/applicant/birth_date", &a.birth_date);
        if a.gender.is_none() {
            c.fail(
                "/applicant/gender",
                "required",
                "is required (male or female)",
            );
        }
        let snils = normalize_snils(&snils);
        if snils.len() != 11 || !snils.bytes().all(|b| b.is_ascii_digit()) {
            c.fail("/applicant/snils", "format", "must be 11 digits");
        } else if !snils_is_valid(&snils) {
            c.fail(
                "/applicant/snils",
                "snils_checksum",
                "check number does not match",
            );
        }
        if inn.len() != 12 || !inn.bytes().all(|b| b.is_ascii_digit()) {
            c.fail(
                "/applicant/inn",
                "format",
                "must be 12 digits (a person's INN)",
            );
        } else if !inn_is_valid(&inn) {
            c.fail(
                "/applicant/inn",
                "inn_checksum",
                "control digits do not match",
            );
        }
        let p = &a.passport;
        c.digits("/applicant/passport/series", &p.series, 4);
        c.digits("/applicant/passport/number", &p.number, 6);
        let issued = c.past_date("/applicant/passport/issue_date", &p.issue_date);
        if let (Some(issued), Some(born)) = (issued, applicant_born)
            && issued < born
        {
            c.fail(
                "/applicant/passport/issue_date",
                "date_order",
                "must not be before the birth date",
            );
        }
        c.required("/applicant/passport/issuer", &p.issuer);
        // cmn:OrganizationNameType.
        c.bounded("/applicant/passport/issuer", &p.issuer, 500);
        let code = p.issuer_code.as_bytes();
        let code_ok = code.len() == 7
            && code[3] == b'-'
            && code
                .iter()
                .enumerate()
                .all(|(i, b)| i == 3 || b.is_ascii_digit());
        if c.required("/applicant/passport/issuer_code", &p.issuer_code) && !code_ok {
            c.fail(
                "/applicant/passport/issuer_code",
                "format",
                "must be NNN-NNN",
            );
        }
        c.address("/applicant/registration_address", &a.registration_address);
        if let Some(actual) = &a.actual_address {
            c.address("/applicant/actual_address", actual);
        }
        let phone_ok = a.phone.len() == 12
            && a.phone.starts_with("+7")
            && a.phone[2..].bytes().all(|b| b.is_ascii_digit());
        if c.required("/applicant/phone", &a.phone) && !phone_ok {
            c.fail("/applicant/phone", "format", "must be +7 and 10 digits");
        }
        if c.required("/applicant/email", &a.email) && !email_ok(&a.email) {
            c.fail("/applicant/email", "format", "must be an e-mail address");
        }

        let ch = &self.child;
        c.name("/child/last_name", &ch.last_name);
        c.name("/child/first_name", &ch.first_name);
        if let Some(m) = &ch.middle_name {
            c.name("/child/middle_name", m);
        }
        let child_born = c.past_date("/child/birth_date", &ch.birth_date);
        if ch.gender.is_none() {
            c.fail("/child/gender", "required", "is required (male or female)");
        }
        c.required("/child/birth_place", &ch.birth_place);
        c.bounded("/child/birth_place", &ch.birth_place, 255);
        let cert = &ch.birth_certificate;
        if c.required("/child/birth_certificate/series", &cert.series)
            && !birth_certificate_series_ok(&cert.series)
        {
            c.fail(
                "/child/birth_certificate/series",
                "format",
                "must be a Roman numeral, a dash and two Cyrillic capitals (IV-АБ)",
            );
        }
        c.digits("/child/birth_certificate/number", &cert.number, 6);
        let cert_issued = c.past_date("/child/birth_certificate/issue_date", &cert.issue_date);
        if let (Some(issued), Some(born)) = (cert_issued, child_born)
            && issued < born
        {
            c.fail(
                "/child/birth_certificate/issue_date",
                "date_order",
                "must not be before the child's birth date",
            );
        }
        let child_snils = normalize_snils(&ch.snils);
        if c.required("/child/snils", &ch.snils) {
            if child_snils.len() != 11 || !child_snils.bytes().all(|b| b.is_ascii_digit()) {
                c.fail("/child/snils", "format", "must be 11 digits");
            } else if !snils_is_valid(&child_snils) {
                c.fail(
                    "/child/snils",
                    "snils_checksum",
                    "check number does not match",
                );
            }
        }

        if self.documents.len() > MAX_DOCUMENTS {
            c.fail(
                "/documents",
                "too_many",
                format!("at most {MAX_DOCUMENTS} documents"),
            );
        }
        for (i, d) in self.documents.iter().enumerate() {
            c.document(&format!("/documents/{i}"), d);
        }
        if let Some(benefit) = benefit {
            let mut needed = vec!["birth_certificate", "passport", "snils"];
            if benefit == Benefit::DisabledChild {
                needed.push("medical_certificate");
            }
            if benefit.needs_school_certificate()
                && child_born.is_some_and(|born| age_years(born, today) >= 7)
            {
                needed.push("school_certificate");
            }
            for kind in needed {
                if !self.documents.iter().any(|d| d.kind == kind) {
                    c.fail(
                        "/documents",
                        "document_missing",
                        format!("a {kind} document is required for {}", benefit.code()),
                    );
                }
            }
        }

        if !c.errors.is_empty() {
            return Err(Rejection::Fields(c.errors));
        }
        self.applicant.snils = Some(snils);
        self.child.snils = child_snils;
        for d in &mut self.documents {
            d.sha256 = d.sha256.to_ascii_lowercase();
        }
        Ok(self)
    }

    /// The names of its manifest entries, under which their bytes are uploaded: the document type,
    /// numbered from the second of a type on (`other`, `other-2`).
    pub fn manifest_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.documents {
            let seen = out
                .iter()
                .filter(|n| *n == &d.kind || n.starts_with(&format!("{}-", d.kind)))
                .count();
            out.push(if seen == 0 {
                d.kind.clone()
            } else {
                format!("{}-{}", d.kind, seen + 1)
            });
        }
        out
    }

    /// The manifest entry of a name from [`ApplicationInput::manifest_names`].
    pub fn manifest_entry(&self, name: &str) -> Option<&Document> {
        let at = self.manifest_names().iter().position(|n| n == name)?;
        self.documents.get(at)
    }
}

impl Document {
    /// The manifest rules for one entry at `pointer` (`/documents/0`): kind, media type, size,
    /// digest. Also used for documents an appeal brings.
    pub fn errors(&self, pointer: &str) -> Vec<FieldError> {
        let mut c = Check {
            today: 0,
            errors: Vec::new(),
        };
        c.document(pointer, self);
        c.errors
    }
}

impl Check {
    fn document(&mut self, pointer: &str, d: &Document) {
        let at = |f: &str| format!("{pointer}/{f}");
        if !DOCUMENT_KINDS.contains(&d.kind.as_str()) {
            self.fail(
                &at("type"),
                "document_type",
                format!("must be one of {}", DOCUMENT_KINDS.join(", ")),
            );
        }
        if !MEDIA_TYPES.contains(&d.media_type.as_str()) {
            self.fail(
                &at("media_type"),
                "media_type",
                "must be application/pdf, image/jpeg or image/png",
            );
        }
        if d.size == 0 || d.size > MAX_DOCUMENT_BYTES {
            self.fail(
                &at("size"),
                "document_size",
                format!("must be 1 to {MAX_DOCUMENT_BYTES} bytes (5 MiB)"),
            );
        }
        if d.sha256.len() != 64 || !d.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.fail(&at("sha256"), "format", "must be 64 hex digits");
        }
    }

    /// A real date, which may lie in the future (a benefit period may start later).
    fn past_date_or_future(&mut self, pointer: &str, value: &str) -> Option<i32> {
        if !self.required(pointer, value) {
            return None;
        }
        self.date(pointer, value)
    }
}

/// An e-mail address as the registries' `cmn:EmailType` has it: at most 254 characters,
/// `[A-Za-z0-9._%+-]+` at `[A-Za-z0-9-]+` labels joined by dots, the last one 2 to 63 letters.
fn email_ok(email: &str) -> bool {
    let Some((user, host)) = email.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = host.split('.').collect();
    let top = labels.last().copied().unwrap_or("");
    email.len() <= 254
        && !user.is_empty()
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && (2..=63).contains(&top.len())
        && top.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The day number of a calendar date (for tests and callers holding y/m/d).
pub fn day(y: i32, m: u32, d: u32) -> i32 {
    days_from_civil(y, m, d)
}

#[cfg(test)]
mod tests;
