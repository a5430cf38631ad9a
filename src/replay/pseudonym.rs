//! Pseudonymisation of recorded registry messages: every personal value of a document replaced by a
//! synthetic one of the same shape, the rest of the document written back byte for byte. What
//! `reggate fixtures record` does to the exchanges it exports, so a recorded conversation can be kept
//! as a fixture without the people in it.
//!
//! # What is replaced, and how
//! Each element with text is judged by its local name (and its parent's, where a name alone is
//! ambiguous) — see [`rule`] and the table in the README. Identifiers keep their checks: a SNILS
//! becomes another SNILS with a valid check number, an INN another INN with valid control digits;
//! names become made-up Cyrillic names that satisfy `cmn:NamePartType` and keep their form (a female
//! surname stays female, `-ович` stays a patronymic, a family's `Иванов` and `Иванова` share one
//! synthetic stem); dates move by up to half a year (never into the future when they were not);
//! phones, e-mails, addresses, document series and numbers keep the schema's shape. A value that
//! does not have the shape its element expects (a request refused by the validator) is replaced
//! character by character instead — digit by digit, Latin letter by Latin letter, Cyrillic by
//! Cyrillic — so it breaks the schema the same way. Values that are not personal (message ids,
//! codes, amounts, benefit periods, the issuing authority) are kept; free text (error messages, fault
//! strings, comments) keeps its words, but every original value the export holds is replaced in it
//! too. Attributes are kept: the schemas put no personal data in them.
//!
//! # Consistency and irreversibility
//! One [`Pseudonymiser`] serves a whole export: the same original value (by kind) always becomes the
//! same synthetic value, in requests and responses and across exchanges, so the same person stays
//! the same person; two different originals never become one synthetic value. Synthetic values are
//! drawn from an HMAC-SHA256 of the original under a key made at random for each run and never
//! written anywhere: without the key the output says nothing about the original (a key that were
//! fixed or derivable would let anyone enumerate the 10⁹ SNILS bodies). The price is that two
//! recordings of the same traffic pseudonymise differently. [`Pseudonymiser::observe`] first
//! collects the originals of everything to be exported, so that no synthetic value equals any
//! original value of the export.

use std::collections::{HashMap, HashSet};
use std::fmt;

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use quick_xml::events::{BytesText, Event};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::calendar;
use crate::domain::identifiers::{inn_from_body, snils_from_body};
use crate::xml::mask::is_personal_name;

/// How the text of one element is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Not personal: kept as it is (ids, codes, amounts, periods, authorities).
    Keep,
    /// Text for people (messages, fault strings): kept, with every known original replaced.
    FreeText,
    /// A SNILS: another, with a valid check number.
    Snils,
    /// An INN (12 digits, or 10): another, with valid control digits.
    Inn,
    /// A last name: a made-up one of the same form (`-ов`/`-ова`, `-ин`/`-ина`, `-ский`/`-ская`).
    LastName,
    /// A first name: a made-up one, female-looking when the original ends in `а`/`я`.
    FirstName,
    /// A patronymic: the made-up first name of the father plus `-ович`/`-овна`.
    MiddleName,
    /// A birth, issue or record date: moved by 1 to 183 days, within 1900–2100, not into the future.
    Date,
    /// A document series: a birth certificate's `IV-АБ` form kept, any other shape-kept.
    Series,
    /// A phone number: `+7`/`8` and the first digit kept, the other nine replaced.
    Phone,
    /// An e-mail address: `p<8 letters or digits>@example.org`.
    Email,
    /// A UUID (FIAS house id): another, version 4.
    Uuid,
    /// A locality: a made-up place name; a leading abbreviation (`г.`, `с.`) kept.
    Locality,
    /// A street: a made-up street name; leading lowercase words (`ул.`, `проспект`) kept.
    Street,
    /// Anything else personal (document numbers, postal codes, houses, flats, unknown elements
    /// inside a person): character by character, keeping the shape (dates and UUIDs as such).
    Shape,
}

/// Elements kept as they are: not personal, or an authority rather than a person.
const KEEP: &[&str] = &[
    "MessageId",
    "ReplyTo",
    "Timestamp",
    "SenderCode",
    "RequestId",
    "Gender",
    "Issuer",
    "IssuerCode",
    "Kind",
    "From",
    "To",
    "RegionCode",
    "Region",
    "District",
    "Code",
    "Mismatch",
    "SnilsStatus",
    "RegistrationDate",
    "TaxAuthorityCode",
    "Country",
    "Citizenship",
    "OnDate",
    "ValidFrom",
    "ValidTo",
    "ChildrenCount",
    "Group",
    "IncomePerPerson",
    "RegionalMinimum",
    "HouseholdSize",
    "BenefitCode",
    "Amount",
    "DecisionDate",
    "AssignmentId",
    "RegisteredAt",
    "ApplicationNumber",
    "faultcode",
];

/// The rule for an element the schemas name, by its local name and its parent's; `None` for a name
/// the schemas do not have (judged by [`rule`] from its context).
fn explicit(name: &str, parent: &str) -> Option<Rule> {
    Some(match name {
        // `Snils`, `ChildSnils`, `RecipientSnils` (not `SnilsStatus`).
        n if n.ends_with("Snils") => Rule::Snils,
        n if n.ends_with("Inn") => Rule::Inn,
        "LastName" => Rule::LastName,
        "FirstName" => Rule::FirstName,
        "MiddleName" => Rule::MiddleName,
        "BirthDate" | "IssueDate" => Rule::Date,
        "Date" if parent == "ActRecord" => Rule::Date,
        "Series" => Rule::Series,
        "Number" | "PostalCode" | "House" | "Building" | "Apartment" => Rule::Shape,
        "Locality" => Rule::Locality,
        "Street" => Rule::Street,
        "FiasHouseGuid" => Rule::Uuid,
        "Phone" => Rule::Phone,
        "Email" => Rule::Email,
        "Message" | "Comment" | "Field" | "faultstring" | "faultactor" => Rule::FreeText,
        "Name" if parent == "RegistryOffice" => Rule::Keep,
        n if KEEP.contains(&n) => Rule::Keep,
        _ => return None,
    })
}

/// The rule for the text of the last element of `chain` (local names from the root). Elements the
/// schemas name have their own rule; any other is personal (shape-kept) when it or an element
/// around it is named like personal data ([`is_personal_name`]) — the SOAP envelope, body and
/// payload root aside, which are named after the operation — and free text otherwise.
pub fn rule(chain: &[&str]) -> Rule {
    let Some((name, ancestors)) = chain.split_last() else {
        return Rule::Keep;
    };
    if let Some(rule) = explicit(name, ancestors.last().copied().unwrap_or("")) {
        return rule;
    }
    let skip = if chain.first() == Some(&"Envelope") {
        3
    } else {
        1
    };
    if chain.iter().skip(skip).any(|n| is_personal_name(n)) {
        Rule::Shape
    } else {
        Rule::FreeText
    }
}

/// A document that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PseudonymError {
    /// Byte offset where reading stopped.
    pub position: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PseudonymError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not well-formed at byte {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for PseudonymError {}

/// The mapping namespaces: the same text under two kinds maps independently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Snils,
    Inn,
    /// Last-name stems (`иван` of `Иванов` and `Иванова`).
    Surname,
    /// First names by gender (`m:иван`); fathers' names of patronymics share it.
    Given,
    Date,
    Series,
    Phone,
    Email,
    Uuid,
    Place,
    Street,
    Shape,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Snils => "snils",
            Kind::Inn => "inn",
            Kind::Surname => "surname",
            Kind::Given => "given",
            Kind::Date => "date",
            Kind::Series => "series",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Uuid => "uuid",
            Kind::Place => "place",
            Kind::Street => "street",
            Kind::Shape => "shape",
        }
    }
}

/// Replaces personal values consistently across the documents of one export (module docs).
pub struct Pseudonymiser {
    key: PKey<Private>,
    /// Today (day number): dates that were not in the future are not moved into it.
    today: i32,
    /// Every original value [`Pseudonymiser::observe`] saw, with its rule.
    originals: HashMap<String, Rule>,
    /// Lower-case words (and stems) of original names and places.
    words: HashSet<String>,
    /// Original → synthetic, per kind.
    map: HashMap<(Kind, String), String>,
    /// Synthetic values handed out, per kind (two originals never share one).
    used: HashSet<(Kind, String)>,
    /// `originals` longest first, for free text; rebuilt after an observation.
    by_length: Option<Vec<(String, Rule)>>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key, never the originals.
        f.debug_struct("Pseudonymiser")
            .field("originals", &self.originals.len())
            .field("mapped", &self.map.len())
            .finish_non_exhaustive()
    }
}

const CONSONANTS: [char; 13] = [
    'б', 'в', 'г', 'д', 'з', 'к', 'л', 'м', 'н', 'п', 'р', 'с', 'т',
];
const VOWELS: [char; 5] = ['а', 'е', 'и', 'о', 'у'];
/// Words of names that are not names: kept as they are.
const PARTICLES: &[&str] = &[
    "оглы", "кызы", "улы", "уулу", "гызы", "заде", "ибн", "бен", "фон", "де", "ван", "дер", "ла",
];
const ROMAN: &[&str] = &[
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
    "XVI", "XVII", "XIX", "XX", "XXI", "XXII", "XXIV", "XXV", "XXVI", "XXIX", "XXX", "XL", "L",
    "LX", "LXX", "XC", "C",
];
/// Capitals for certificate series (no Ё, Й, Ъ, Ы, Ь: they start no word).
const SERIES_LETTERS: [char; 27] = [
    'А', 'Б', 'В', 'Г', 'Д', 'Е', 'Ж', 'З', 'И', 'К', 'Л', 'М', 'Н', 'О', 'П', 'Р', 'С', 'Т', 'У',
    'Ф', 'Х', 'Ц', 'Ч', 'Ш', 'Щ', 'Э', 'Ю',
];

fn is_cyrillic(c: char) -> bool {
    matches!(c, 'А'..='Я' | 'а'..='я' | 'Ё' | 'ё')
}

/// Whether `s` matches `cmn:NamePartType`: `[А-ЯЁа-яё]+([\-' ][А-ЯЁа-яё]+)*`, at most 60 characters.
fn is_name_part(s: &str) -> bool {
    if s.is_empty() || s.chars().count() > 60 {
        return false;
    }
    let mut after_letter = false;
    for c in s.chars() {
        if is_cyrillic(c) {
            after_letter = true;
        } else if matches!(c, '-' | '\'' | ' ') && after_letter {
            after_letter = false;
        } else {
            return false;
        }
    }
    after_letter
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_certificate_series(s: &str) -> bool {
    let Some((roman, letters)) = s.split_once('-') else {
        return false;
    };
    (1..=4).contains(&roman.len())
        && roman.chars().all(|c| "IVXLCDM".contains(c))
        && letters.chars().count() == 2
        && letters.chars().all(|c| matches!(c, 'А'..='Я' | 'Ё'))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
}

/// The 10-digit INN (an organisation's) for its first nine digits.
fn inn10_from_body(body: u64) -> u64 {
    const W: [u64; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut d = [0u64; 9];
    let mut n = body;
    for slot in d.iter_mut().rev() {
        *slot = n % 10;
        n /= 10;
    }
    let check = d.iter().zip(W).map(|(a, w)| a * w).sum::<u64>() % 11 % 10;
    body * 10 + check
}

/// A made-up lower-case stem: `syllables` consonant-vowel pairs and a closing consonant (`ламер`).
fn stem(rng: &mut ChaCha8Rng, syllables: usize) -> String {
    let mut s = String::new();
    for _ in 0..syllables {
        s.push(CONSONANTS[rng.random_range(0..CONSONANTS.len())]);
        s.push(VOWELS[rng.random_range(0..VOWELS.len())]);
    }
    s.push(CONSONANTS[rng.random_range(0..CONSONANTS.len())]);
    s
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `synthetic` written in the case of `original`: all capitals, capitalised, or lower case.
fn in_case_of(original: &str, synthetic: &str) -> String {
    let letters: Vec<char> = original.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        synthetic.to_uppercase()
    } else if letters.first().is_some_and(|c| c.is_uppercase()) {
        capitalise(synthetic)
    } else {
        synthetic.to_lowercase()
    }
}

/// Surname forms: how the ending goes with gender.
#[derive(Clone, Copy)]
enum Form {
    /// `-ов`/`-ев`/`-ёв`, `-ова`/…
    Ov,
    /// `-ин`/`-ын`, `-ина`/`-ына`.
    In,
    /// Adjectival: `-ский`/`-цкий`/`-ой`, `-ская`/`-цкая`/`-ая`.
    Sky,
    /// Anything else: one form for both.
    Neutral,
}

/// A lower-case surname as (stem, form, female).
fn surname_parts(lower: &str) -> (String, Form, bool) {
    let cut = |suffix: &str| lower.strip_suffix(suffix).filter(|s| !s.is_empty());
    for (suffix, form, female) in [
        ("кая", Form::Sky, true),
        ("кий", Form::Sky, false),
        ("ова", Form::Ov, true),
        ("ева", Form::Ov, true),
        ("ёва", Form::Ov, true),
        ("ина", Form::In, true),
        ("ына", Form::In, true),
        ("ов", Form::Ov, false),
        ("ев", Form::Ov, false),
        ("ёв", Form::Ov, false),
        ("ин", Form::In, false),
        ("ын", Form::In, false),
        ("ая", Form::Sky, true),
        ("ой", Form::Sky, false),
    ] {
        if let Some(stem) = cut(suffix) {
            return (stem.to_string(), form, female);
        }
    }
    (lower.to_string(), Form::Neutral, false)
}

/// A lower-case patronymic as (the father's name as guessed, female); `None` when it has no
/// patronymic ending.
fn patronymic_parts(lower: &str) -> Option<(String, bool)> {
    let cut = |suffix: &str| lower.strip_suffix(suffix).filter(|s| !s.is_empty());
    for (suffix, female, restore) in [
        ("овна", true, ""),
        ("ович", false, ""),
        ("евна", true, "й"),
        ("евич", false, "й"),
        ("инична", true, "а"),
        ("ична", true, ""),
        ("ич", false, ""),
    ] {
        if let Some(stem) = cut(suffix) {
            return Some((format!("{stem}{restore}"), female));
        }
    }
    None
}

/// Split `text` into runs of letters and runs of anything else, in order.
fn runs(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for c in text.chars() {
        let letter = c.is_alphabetic();
        match out.last_mut() {
            Some((l, run)) if *l == letter => run.push(c),
            _ => out.push((letter, c.to_string())),
        }
    }
    out
}

/// Whether `c` is XML white space.
fn xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Text being gathered for the current element: the events as read, and their characters.
#[derive(Default)]
struct Pending {
    events: Vec<Event<'static>>,
    text: String,
}

impl Pseudonymiser {
    /// A pseudonymiser with a fresh random key, judging "the future" by the system clock.
    pub fn new() -> Pseudonymiser {
        // The thread RNG is a CSPRNG seeded by the operating system.
        let key: [u8; 32] = rand::rng().random();
        Pseudonymiser::with_key(key, calendar::today(std::time::SystemTime::now()))
    }

    /// A pseudonymiser with a given key (tests: the same key gives the same output) and today's day
    /// number.
    pub fn with_key(key: [u8; 32], today: i32) -> Pseudonymiser {
        let key = PKey::hmac(&key).expect("an HMAC key of 32 bytes");
        Pseudonymiser {
            key,
            today,
            originals: HashMap::new(),
            words: HashSet::new(),
            map: HashMap::new(),
            used: HashSet::new(),
            by_length: None,
        }
    }

    /// Note the personal values of `xml`, before anything is replaced: no synthetic value will equal
    /// one of them. Call it for every document of the export first.
    pub fn observe(&mut self, xml: &[u8]) -> Result<(), PseudonymError> {
        self.walk(xml, false).map(drop)
    }

    /// `xml` with every personal value replaced; markup, prefixes, namespaces, order, white space
    /// around values and every value that is not personal stay as they were.
    pub fn pseudonymise(&mut self, xml: &[u8]) -> Result<Vec<u8>, PseudonymError> {
        self.walk(xml, true)
    }

    /// The synthetic value for one value under `rule` (a [`Rule::FreeText`] is scrubbed, a
    /// [`Rule::Keep`] kept — unless it is a date some personal element had: a benefit period that
    /// starts on the child's birthday starts on the synthetic birthday).
    pub fn value(&mut self, rule: Rule, value: &str) -> String {
        match rule {
            Rule::Keep => match self.originals.get(value) {
                Some(Rule::Date) => self.date(value),
                _ => value.to_string(),
            },
            Rule::FreeText => self.scrub(value),
            Rule::Snils => self.snils(value),
            Rule::Inn => self.inn(value),
            Rule::LastName => self.name(value, Self::surname),
            Rule::FirstName => self.name(value, Self::first_name),
            Rule::MiddleName => self.name(value, Self::patronymic),
            Rule::Date => self.date(value),
            Rule::Series => self.series(value),
            Rule::Phone => self.phone(value),
            Rule::Email => self.email(value),
            Rule::Uuid => self.uuid(value),
            Rule::Locality => self.place(value, Kind::Place),
            Rule::Street => self.place(value, Kind::Street),
            Rule::Shape => self.shape(value),
        }
    }

    /// `text` with every original value seen (four characters or more; a SNILS also written
    /// `123-456-789 01`) replaced by its synthetic value.
    pub fn scrub(&mut self, text: &str) -> String {
        let list = match self.by_length.take() {
            Some(list) => list,
            None => {
                let mut list: Vec<(String, Rule)> = self
                    .originals
                    .iter()
                    .filter(|(v, _)| v.chars().count() >= 4)
                    .map(|(v, r)| (v.clone(), *r))
                    .collect();
                list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
                list
            }
        };
        let mut out = text.to_string();
        for (original, rule) in &list {
            if out.contains(original.as_str()) {
                let synthetic = self.value(*rule, original);
                out = out.replace(original.as_str(), &synthetic);
            }
            if *rule == Rule::Snils && all_digits(original, 11) {
                let spaced =
                    |s: &str| format!("{}-{}-{} {}", &s[0..3], &s[3..6], &s[6..9], &s[9..]);
                let formatted = spaced(original);
                if out.contains(&formatted) {
                    let synthetic = self.value(*rule, original);
                    let replacement = if all_digits(&synthetic, 11) {
                        spaced(&synthetic)
                    } else {
                        synthetic
                    };
                    out = out.replace(&formatted, &replacement);
                }
            }
        }
        self.by_length = Some(list);
        out
    }

    fn note(&mut self, rule: Rule, value: &str) {
        if matches!(rule, Rule::Keep | Rule::FreeText) {
            return;
        }
        self.by_length = None;
        self.originals.entry(value.to_string()).or_insert(rule);
        if matches!(
            rule,
            Rule::LastName | Rule::FirstName | Rule::MiddleName | Rule::Locality | Rule::Street
        ) {
            for (letter, word) in runs(value) {
                if letter {
                    let lower = word.to_lowercase();
                    let (stem, _, _) = surname_parts(&lower);
                    if let Some((father, _)) = patronymic_parts(&lower) {
                        self.words.insert(father);
                    }
                    self.words.insert(stem);
                    if let Some(s) = lower.strip_suffix(['а', 'я']) {
                        self.words.insert(s.to_string());
                    }
                    self.words.insert(lower);
                }
            }
        }
    }

    /// A keyed random stream for (`kind`, `original`, `attempt`).
    fn rng(&self, kind: Kind, original: &str, attempt: u32) -> ChaCha8Rng {
        let mut seed = [0u8; 32];
        let digest = Signer::new(MessageDigest::sha256(), &self.key).and_then(|mut s| {
            s.update(kind.tag().as_bytes())?;
            s.update(&[0])?;
            s.update(original.as_bytes())?;
            s.update(&[0])?;
            s.update(&attempt.to_le_bytes())?;
            s.sign_to_vec()
        });
        // HMAC-SHA256 over a key made here cannot fail short of memory exhaustion.
        let digest = digest.expect("HMAC-SHA256");
        seed.copy_from_slice(&digest[..32]);
        ChaCha8Rng::from_seed(seed)
    }

    /// The synthetic value of `original` under `kind`: the one handed out before, or a new one from
    /// `make` that is not the original, not any original of the export (nor, for words, any
    /// original word) and not handed out for another original.
    fn mapped(
        &mut self,
        kind: Kind,
        original: &str,
        make: impl Fn(&mut ChaCha8Rng) -> String,
    ) -> String {
        if let Some(s) = self.map.get(&(kind, original.to_string())) {
            return s.clone();
        }
        let mut attempt = 0u32;
        let synthetic = loop {
            let candidate = make(&mut self.rng(kind, original, attempt));
            let lower = candidate.to_lowercase();
            let clashes = candidate == original
                || self.originals.contains_key(&candidate)
                || self.words.contains(&lower)
                || self.used.contains(&(kind, candidate.clone()));
            // A space too small to avoid every clash (a one-digit house number) takes what it gets.
            if !clashes || attempt >= 64 {
                break candidate;
            }
            attempt += 1;
        };
        self.used.insert((kind, synthetic.clone()));
        self.map
            .insert((kind, original.to_string()), synthetic.clone());
        synthetic
    }

    fn snils(&mut self, value: &str) -> String {
        if !all_digits(value, 11) {
            return self.shape(value);
        }
        self.mapped(Kind::Snils, value, |rng| {
            // Bodies above 001-001-998, where the check number applies.
            format!(
                "{:011}",
                snils_from_body(rng.random_range(2_000_000..=999_999_999u32))
            )
        })
    }

    fn inn(&mut self, value: &str) -> String {
        if all_digits(value, 12) {
            self.mapped(Kind::Inn, value, |rng| {
                let body =
                    rng.random_range(1..=99u64) * 100_000_000 + rng.random_range(0..100_000_000u64);
                format!("{:012}", inn_from_body(body))
            })
        } else if all_digits(value, 10) {
            self.mapped(Kind::Inn, value, |rng| {
                let body =
                    rng.random_range(1..=99u64) * 10_000_000 + rng.random_range(0..10_000_000u64);
                format!("{:010}", inn10_from_body(body))
            })
        } else {
            self.shape(value)
        }
    }

    /// A name value word by word (separators and particles kept); shape-kept when the value is not
    /// a `cmn:NamePartType` or the result would not be one.
    fn name(&mut self, value: &str, word: fn(&mut Self, &str) -> String) -> String {
        if !is_name_part(value) {
            return self.shape(value);
        }
        let mut out = String::new();
        for (letter, run) in runs(value) {
            if letter && !PARTICLES.contains(&run.to_lowercase().as_str()) {
                out.push_str(&in_case_of(&run, &word(self, &run.to_lowercase())));
            } else {
                out.push_str(&run);
            }
        }
        if is_name_part(&out) {
            out
        } else {
            self.shape(value)
        }
    }

    fn surname(&mut self, lower: &str) -> String {
        let (stem_of, form, female) = surname_parts(lower);
        let synthetic = self.mapped(Kind::Surname, &stem_of, |rng| {
            let n = rng.random_range(1..=2);
            stem(rng, n)
        });
        let ending = match (form, female) {
            (Form::Ov, false) => "ов",
            (Form::Ov, true) => "ова",
            (Form::In, false) => "ин",
            (Form::In, true) => "ина",
            (Form::Sky, false) => "ский",
            (Form::Sky, true) => "ская",
            (Form::Neutral, _) => "енко",
        };
        format!("{synthetic}{ending}")
    }

    /// A first name by gender: male ones end in a consonant (so `-ович` follows), female in `а`.
    fn given(&mut self, lower: &str, female: bool) -> String {
        let key = format!("{}:{lower}", if female { "f" } else { "m" });
        let synthetic = self.mapped(Kind::Given, &key, |rng| {
            let n = rng.random_range(1..=2);
            stem(rng, n)
        });
        if female {
            format!("{synthetic}а")
        } else {
            synthetic
        }
    }

    fn first_name(&mut self, lower: &str) -> String {
        let female = lower.ends_with(['а', 'я']);
        self.given(lower, female)
    }

    fn patronymic(&mut self, lower: &str) -> String {
        match patronymic_parts(lower) {
            Some((father, female)) => {
                let father = self.given(&father, false);
                format!("{father}{}", if female { "овна" } else { "ович" })
            }
            None => self.first_name(lower),
        }
    }

    fn date(&mut self, value: &str) -> String {
        let Some(day) = calendar::parse_date(value) else {
            return self.shape(value);
        };
        let (low, high) = (
            calendar::days_from_civil(1900, 1, 1),
            calendar::days_from_civil(2100, 12, 31),
        );
        let latest = if day <= self.today { self.today } else { high };
        self.mapped(Kind::Date, value, |rng| {
            let by = rng.random_range(1..=183);
            let moved = if rng.random_bool(0.5) {
                day + by
            } else {
                day - by
            };
            // Out of bounds (the future, 1899): the other way.
            let moved = if moved > latest || moved < low {
                2 * day - moved
            } else {
                moved
            };
            calendar::fmt_date(moved.clamp(low, high))
        })
    }

    fn series(&mut self, value: &str) -> String {
        if !is_certificate_series(value) {
            return self.shape(value);
        }
        self.mapped(Kind::Series, value, |rng| {
            let roman = ROMAN[rng.random_range(0..ROMAN.len())];
            let a = SERIES_LETTERS[rng.random_range(0..SERIES_LETTERS.len())];
            let b = SERIES_LETTERS[rng.random_range(0..SERIES_LETTERS.len())];
            format!("{roman}-{a}{b}")
        })
    }

    fn phone(&mut self, value: &str) -> String {
        let prefix = if value.starts_with("+7") && all_digits(&value[2..], 10) {
            3
        } else if value.starts_with('8') && all_digits(value, 11) {
            2
        } else {
            return self.shape(value);
        };
        let keep = value[..prefix].to_string();
        self.mapped(Kind::Phone, value, |rng| {
            let mut s = keep.clone();
            for _ in 0..9 {
                s.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            s
        })
    }

    fn email(&mut self, value: &str) -> String {
        if !is_email(value) {
            return self.shape(value);
        }
        self.mapped(Kind::Email, value, |rng| {
            const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
            let local: String = (0..8)
                .map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())]))
                .collect();
            format!("p{local}@example.org")
        })
    }

    fn uuid(&mut self, value: &str) -> String {
        if !is_uuid(value) {
            return self.shape(value);
        }
        self.mapped(Kind::Uuid, value, |rng| {
            let mut b = [0u8; 16];
            rng.fill_bytes(&mut b);
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex::encode(b);
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        })
    }

    /// A locality or street: leading lowercase words (`г.`, `ул.`, `проспект`) kept, the name made
    /// up (`Ламерск`, `Ламерская`); shape-kept when there is no Cyrillic name in it.
    fn place(&mut self, value: &str, kind: Kind) -> String {
        let words: Vec<&str> = value.split(' ').collect();
        let kept = words
            .iter()
            .take_while(|w| w.chars().next().is_some_and(|c| !c.is_uppercase()))
            .count();
        let name = words[kept..].join(" ");
        if !name.chars().any(is_cyrillic) {
            return self.shape(value);
        }
        let made = self.mapped(kind, &name, move |rng| {
            let n = rng.random_range(1..=2);
            let stem = capitalise(&stem(rng, n));
            let endings: &[&str] = match kind {
                Kind::Street => &["ская", "ная", "овая"],
                _ => &["ск", "ово", "ино", "овка"],
            };
            format!("{stem}{}", endings[rng.random_range(0..endings.len())])
        });
        let mut out: Vec<&str> = words[..kept].to_vec();
        out.push(&made);
        out.join(" ")
    }

    /// Character by character: digits, Latin and Cyrillic letters (keeping case) replaced within
    /// their class, everything else kept; a real date or a UUID as such.
    fn shape(&mut self, value: &str) -> String {
        if calendar::parse_date(value).is_some() {
            return self.date(value);
        }
        if is_uuid(value) {
            return self.uuid(value);
        }
        self.mapped(Kind::Shape, value, |rng| {
            value
                .chars()
                .map(|c| {
                    let pick = |rng: &mut ChaCha8Rng, from: char, count: u32| {
                        char::from_u32(from as u32 + rng.random_range(0..count)).unwrap_or(c)
                    };
                    match c {
                        '0'..='9' => pick(rng, '0', 10),
                        'A'..='Z' => pick(rng, 'A', 26),
                        'a'..='z' => pick(rng, 'a', 26),
                        'А'..='Я' | 'Ё' => pick(rng, 'А', 32),
                        'а'..='я' | 'ё' => pick(rng, 'а', 32),
                        _ => c,
                    }
                })
                .collect()
        })
    }

    /// Read `xml` event by event; with `write`, replace the text of each element by its rule and
    /// write everything back; without, only note the originals.
    fn walk(&mut self, xml: &[u8], write: bool) -> Result<Vec<u8>, PseudonymError> {
        let mut reader = quick_xml::Reader::from_reader(xml);
        let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len() + xml.len() / 8));
        let mut chain: Vec<String> = Vec::new();
        let mut pending = Pending::default();
        let mut buf = Vec::new();
        loop {
            let error = |reader: &quick_xml::Reader<&[u8]>, e: &dyn fmt::Display| PseudonymError {
                position: reader.buffer_position(),
                message: e.to_string(),
            };
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| error(&reader, &e))?;
            match event {
                Event::Text(t) => {
                    pending.text.push_str(&t.xml10_content());
                    pending.events.push(Event::Text(t.into_owned()));
                }
                Event::CData(c) => {
                    pending.text.push_str(&c);
                    pending.events.push(Event::CData(c.into_owned()));
                }
                // Comments are text for people too: no original value survives in one.
                Event::Comment(c) if write => {
                    self.flush(&mut pending, &chain, &mut writer, write)
                        .map_err(|e| error(&reader, &e))?;
                    let text = String::from(&*c);
                    let scrubbed = self.scrub(&text);
                    let comment = if scrubbed == text {
                        Event::Comment(c)
                    } else {
                        Event::Comment(BytesText::from_escaped(scrubbed))
                    };
                    writer
                        .write_event(comment)
                        .map_err(|e| error(&reader, &e))?;
                }
                Event::GeneralRef(r) => {
                    match r.resolve_char_ref().map_err(|e| error(&reader, &e))? {
                        Some(c) => pending.text.push(c),
                        None => match quick_xml::escape::resolve_predefined_entity(&r) {
                            Some(s) => pending.text.push_str(s),
                            None => {
                                let e = format!("unknown entity &{};", &*r);
                                return Err(error(&reader, &e));
                            }
                        },
                    }
                    pending.events.push(Event::GeneralRef(r.into_owned()));
                }
                other => {
                    self.flush(&mut pending, &chain, &mut writer, write)
                        .map_err(|e| error(&reader, &e))?;
                    match &other {
                        Event::Start(tag) => chain.push(tag.local_name().into_inner().to_string()),
                        Event::End(_) => {
                            chain.pop();
                        }
                        _ => {}
                    }
                    if matches!(other, Event::Eof) {
                        break;
                    }
                    writer.write_event(other).map_err(|e| error(&reader, &e))?;
                }
            }
            buf.clear();
        }
        Ok(writer.into_inner())
    }

    /// The text gathered for the innermost open element: kept as read, or replaced as a whole.
    fn flush(
        &mut self,
        pending: &mut Pending,
        chain: &[String],
        writer: &mut quick_xml::Writer<Vec<u8>>,
        write: bool,
    ) -> std::io::Result<()> {
        let events = std::mem::take(&mut pending.events);
        let text = std::mem::take(&mut pending.text);
        if events.is_empty() {
            return Ok(());
        }
        let core = text.trim_matches(xml_space);
        let replaced = if core.is_empty() || chain.is_empty() {
            None
        } else {
            let names: Vec<&str> = chain.iter().map(String::as_str).collect();
            let rule = rule(&names);
            if write {
                let synthetic = self.value(rule, core);
                (synthetic != core).then_some(synthetic)
            } else {
                self.note(rule, core);
                None
            }
        };
        match replaced {
            Some(synthetic) => {
                let start = text.len() - text.trim_start_matches(xml_space).len();
                let end = text.trim_end_matches(xml_space).len();
                let whole = format!("{}{synthetic}{}", &text[..start], &text[end..]);
                writer.write_event(Event::Text(BytesText::new(&whole)))
            }
            None => {
                for e in events {
                    writer.write_event(e)?;
                }
                Ok(())
            }
        }
    }
}

impl Default for Pseudonymiser {
    fn default() -> Pseudonymiser {
        Pseudonymiser::new()
    }
}

#[cfg(test)]
mod tests;
