//! The deterministic synthetic population the mock registries answer from: adults with SNILS, INN,
//! passports and addresses; children with birth records; the Ministry of Labour's family statuses and
//! benefit assignments, including deliberate duplicates so duplicate-benefit detection can be tested.
//!
//! The same [`PopulationConfig`] gives the same data on every machine: all randomness comes from one
//! `ChaCha8Rng` seeded with the config's seed, reduced to ranges by plain integer arithmetic (no
//! platform- or version-dependent sampling), and nothing depends on hash-map iteration order.
//! Records are compact (names are indices into a string pool, dates are day numbers, identifiers are
//! integers); the strings a registry sends are rendered on demand into the `*View` types.
//!
//! All "now"-dependent facts (ages, whether a status is active) are computed as of [`REFERENCE_DATE`],
//! not the wall clock, so they do not drift. Active statuses and assignments stay valid well past it.

mod data;
mod export;
mod families;
mod generate;
mod ids;
mod store;
#[cfg(test)]
mod tests;
mod views;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::calendar::{self, add_months, fmt_date, parse_date};
pub use crate::domain::identifiers::{inn_is_valid, snils_is_valid};
use data::{NONE, Pool};
pub use families::{Family, FamilyChild};
pub use views::*;

/// The date the population is consistent on (ages, active/expired states), as `YYYY-MM-DD`.
pub const REFERENCE_DATE: &str = "2026-07-01";

/// [`REFERENCE_DATE`] as a day number.
const REF: i32 = calendar::days_from_civil(2026, 7, 1);

/// The largest population generated; larger requests are clamped (passport and birth certificate
/// numbers have six digits, so more people could not all get unique ones).
pub const MAX_PEOPLE: usize = 1_000_000;

/// A child-reference flag in person references (`index | CHILD`); adults are plain indices.
const CHILD: u32 = 1 << 31;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopulationConfig {
    /// Seed of the random stream; the same seed gives the same population everywhere.
    pub seed: u64,
    /// Number of people (adults and children together), at most [`MAX_PEOPLE`].
    pub people: usize,
}

impl Default for PopulationConfig {
    /// The population `reggate mock` and `reggate serve` answer from unless told otherwise.
    fn default() -> PopulationConfig {
        PopulationConfig {
            seed: 2024,
            people: 10_000,
        }
    }
}

/// A person's gender (the one type the gateway uses too).
pub use crate::registries::messages::Gender;

/// A benefit code (`lab:BenefitCodeType`): the domain's benefits.
pub use crate::domain::application::Benefit;

// ------------------------------------------------------------------------------------------------
// Compact records

/// An adult: names and strings are pool indices, dates are day numbers.
#[derive(Clone, Debug)]
struct Adult {
    last: u32,
    first: u32,
    middle: u32,
    household: u32,
    snils: u64,
    inn: u64,
    phone: u64,
    birth: i32,
    snils_registered: i32,
    inn_registered: i32,
    passport_issued: i32,
    passport_series: u16,
    gender: Gender,
    region: u8,
    passport_number: u32,
    issuer: u32,
    issuer_code: u32,
    postal_code: u32,
    locality: u32,
    street: u32,
    house: u32,
    apartment: u32,
}

/// A child's disability status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Disability {
    group: DisabilityGroup,
    from: i32,
    to: Option<i32>,
}

/// `lab:DisabilityGroupType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisabilityGroup {
    /// The "disabled child" category (under 18).
    #[serde(rename = "CHILD")]
    Child,
    /// Group I.
    #[serde(rename = "I")]
    I,
    /// Group II.
    #[serde(rename = "II")]
    II,
    /// Group III.
    #[serde(rename = "III")]
    III,
}

/// A child with its birth record.
#[derive(Clone, Debug)]
struct Child {
    last: u32,
    first: u32,
    middle: u32,
    household: u32,
    mother: u32,
    father: u32,
    snils: u64,
    act_number: u64,
    birth: i32,
    snils_registered: i32,
    certificate_issued: i32,
    act_date: i32,
    certificate_series: u32,
    certificate_number: u32,
    office_code: u32,
    office_name: u32,
    birth_locality: u32,
    disability: Option<Disability>,
    gender: Gender,
    birth_region: u8,
}

/// A household's low-income status (amounts in kopecks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LowIncome {
    income: u64,
    minimum: u64,
    from: i32,
    to: i32,
    size: u8,
}

/// A household: the adults and children living together, their region and family-level statuses.
#[derive(Clone, Debug)]
struct Household {
    region: u8,
    large_family_registered: bool,
    low_income: Option<LowIncome>,
}

/// A benefit assignment in the Ministry of Labour's registry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Assignment {
    child: u32,
    recipient: u32,
    benefit: Benefit,
    region: u8,
    year: u16,
    seq: u64,
    from: i32,
    to: Option<i32>,
    amount: u64,
    application: Box<str>,
}

/// Members of each household, compressed-row style: household `h` owns `items[start[h]..start[h+1]]`.
#[derive(Clone, Debug, Default)]
struct Members {
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Members {
    fn build(households: usize, owner: impl Iterator<Item = u32>) -> Members {
        let owners: Vec<u32> = owner.collect();
        let mut counts = vec![0u32; households + 1];
        for &h in &owners {
            if let Some(c) = counts.get_mut(h as usize + 1) {
                *c += 1;
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut next = counts.clone();
        let mut items = vec![0u32; owners.len()];
        for (i, &h) in owners.iter().enumerate() {
            if let Some(slot) = next.get_mut(h as usize) {
                if let Some(item) = items.get_mut(*slot as usize) {
                    *item = i as u32;
                }
                *slot += 1;
            }
        }
        Members {
            start: counts,
            items,
        }
    }

    fn of(&self, h: u32) -> &[u32] {
        let h = h as usize;
        match (self.start.get(h), self.start.get(h + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// The Ministry of Labour's assignments, the only data that changes after generation.
#[derive(Debug, Default)]
struct Registry {
    list: Vec<Assignment>,
    by_child: BTreeMap<u32, Vec<u32>>,
    by_application: HashMap<Box<str>, u32>,
    next_seq: u64,
}

impl Registry {
    fn push(&mut self, a: Assignment) -> u32 {
        let i = self.list.len() as u32;
        self.next_seq = self.next_seq.max(a.seq + 1);
        self.by_child.entry(a.child).or_default().push(i);
        self.by_application.insert(a.application.clone(), i);
        self.list.push(a);
        i
    }

    fn of_child(&self, child: u32) -> impl Iterator<Item = &Assignment> {
        self.by_child
            .get(&child)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.list.get(i as usize))
    }
}

/// The synthetic population: people, birth records, statuses and assignments, with the lookups the
/// mock registries need. Shared by handlers as `&Population`; only assignment registration mutates,
/// behind a lock.
#[derive(Debug)]
pub struct Population {
    seed: u64,
    pool: Pool,
    households: Vec<Household>,
    household_adults: Members,
    household_children: Members,
    adults: Vec<Adult>,
    children: Vec<Child>,
    /// E-mail addresses that differ from the derived form (only loaded data has any).
    email_overrides: BTreeMap<u32, Box<str>>,
    snils_index: Vec<(u64, u32)>,
    inn_index: Vec<(u64, u32)>,
    passport_index: Vec<(u64, u32)>,
    certificate_index: Vec<(u64, u32)>,
    registry: RwLock<Registry>,
}

/// Mask a value for error messages: personal data shows only its last two characters.
fn mask(value: &str) -> String {
    let n = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 2 < n { '*' } else { c })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Rendering helpers

fn fmt_snils(s: u64) -> String {
    format!("{s:011}")
}

fn fmt_amount(kopecks: u64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

fn fmt_region(r: u8) -> String {
    format!("{r:02}")
}

/// Parse a non-negative decimal with at most 2 fraction digits into kopecks.
fn parse_amount(s: &str) -> Option<u64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || int.len() > 13 || frac.len() > 2 {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    Some(int * 100 + frac)
}

fn parse_region(s: &str) -> Option<u8> {
    if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&r| r >= 1)
}

fn parse_digits(s: &str, len: usize) -> Option<u64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn valid_application_number(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b.iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-')
        && b[0] != b'-'
}

fn lookup(index: &[(u64, u32)], key: u64) -> Option<u32> {
    index
        .binary_search_by_key(&key, |&(k, _)| k)
        .ok()
        .and_then(|i| index.get(i))
        .map(|&(_, v)| v)
}

/// Whether two inclusive periods (open end = `None`) share a day.
fn overlaps(a_from: i32, a_to: Option<i32>, b_from: i32, b_to: Option<i32>) -> bool {
    a_from <= b_to.unwrap_or(i32::MAX) && b_from <= a_to.unwrap_or(i32::MAX)
}

/// A large-family period: first and last day with 3+ children under 18, and the children counted.
struct LargePeriod {
    from: i32,
    to: i32,
    children: Vec<u32>,
}

/// The default monthly amount of a benefit when a registration request carries none.
fn default_amount(benefit: Benefit, region: u8) -> u64 {
    match benefit {
        Benefit::UnifiedAllowance => {
            data::region(region).map_or(1_700_000, |r| u64::from(r.minimum_kopecks) / 2)
        }
        Benefit::ChildcareUnder1_5 => 922_724,
        Benefit::LargeFamily => 300_000,
        Benefit::DisabledChild => 2_014_616,
    }
}

impl Population {
    /// Generate the population for `config` (people clamped to [`MAX_PEOPLE`]).
    pub fn generate(config: &PopulationConfig) -> Population {
        generate::generate(config)
    }

    /// Load a population saved by [`Population::save`] from `dir` (`dir/population.json`).
    pub fn load(dir: &Path) -> Result<Population, PopulationError> {
        store::load(dir)
    }

    /// Save into `dir/population.json` (the directory is created if missing), in the format
    /// [`Population::load`] reads. Assignments registered so far are included.
    pub fn save(&self, dir: &Path) -> Result<(), PopulationError> {
        store::save(self, dir)
    }

    /// The seed the population was generated from (as recorded in a loaded file).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of people, adults and children.
    pub fn len(&self) -> usize {
        self.adults.len() + self.children.len()
    }

    /// No people at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of adults.
    pub fn adult_count(&self) -> usize {
        self.adults.len()
    }

    /// Number of children (birth records).
    pub fn child_count(&self) -> usize {
        self.children.len()
    }

    /// Number of benefit assignments held, registered ones included.
    pub fn assignment_count(&self) -> usize {
        self.registry().list.len()
    }

    /// A rough count of the bytes the population occupies (records, indexes, strings).
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        let reg = self.registry();
        self.adults.capacity() * size_of::<Adult>()
            + self.children.capacity() * size_of::<Child>()
            + self.households.capacity() * size_of::<Household>()
            + 4 * (self.household_adults.items.capacity()
                + self.household_adults.start.capacity()
                + self.household_children.items.capacity()
                + self.household_children.start.capacity())
            + 16 * (self.snils_index.capacity()
                + self.inn_index.capacity()
                + self.passport_index.capacity()
                + self.certificate_index.capacity())
            + reg.list.capacity() * (size_of::<Assignment>() + 24)
            + reg.by_child.len() * 64
            + reg.by_application.len() * 56
            + self.pool.approx_bytes()
    }

    fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the registry half-updated (push is the last
        // step), so a poisoned lock is still safe to read.
        self.registry.read().unwrap_or_else(|p| p.into_inner())
    }

    fn person_ref(&self, snils: &str) -> Option<u32> {
        lookup(&self.snils_index, parse_digits(snils, 11)?)
    }

    fn adult_by_snils(&self, snils: &str) -> Option<u32> {
        self.person_ref(snils).filter(|r| r & CHILD == 0)
    }

    fn child_by_snils(&self, snils: &str) -> Option<u32> {
        self.person_ref(snils)
            .filter(|r| r & CHILD != 0)
            .map(|r| r & !CHILD)
    }

    /// The person (adult or child) holding this SNILS.
    pub fn person_by_snils(&self, snils: &str) -> Option<PersonView> {
        let r = self.person_ref(snils)?;
        if r & CHILD != 0 {
            self.child_person(r & !CHILD)
        } else {
            self.adult_view(r)
        }
    }

    /// The adult holding this passport (series 4 digits, number 6 digits).
    pub fn person_by_passport(&self, series: &str, number: &str) -> Option<PersonView> {
        let key = parse_digits(series, 4)? * 1_000_000 + parse_digits(number, 6)?;
        self.adult_view(lookup(&self.passport_index, key)?)
    }

    /// The adult holding this INN (12 digits).
    pub fn person_by_inn(&self, inn: &str) -> Option<PersonView> {
        self.adult_view(lookup(&self.inn_index, parse_digits(inn, 12)?)?)
    }

    /// The birth record for a certificate: the child and their parents.
    pub fn birth_record(&self, series: &str, number: &str) -> Option<BirthRecordView> {
        let series = self.pool.find(series)?;
        let key = (u64::from(series) << 32) | parse_digits(number, 6)?;
        self.birth_record_of(lookup(&self.certificate_index, key)?)
    }

    /// Family statuses (active and expired) of the household of the person with this SNILS: large
    /// family, each child's disability, low income. Empty when the SNILS is unknown or there are none.
    pub fn family_statuses(&self, snils: &str) -> Vec<StatusView> {
        let household = match self.person_ref(snils) {
            Some(r) if r & CHILD != 0 => self
                .children
                .get((r & !CHILD) as usize)
                .map(|c| c.household),
            Some(r) => self.adults.get(r as usize).map(|a| a.household),
            None => None,
        };
        household.map_or_else(Vec::new, |h| self.household_statuses(h))
    }

    /// Assignments held for the child with this SNILS whose period has not ended before
    /// [`REFERENCE_DATE`], registered ones included, in registration order.
    pub fn active_assignments(&self, child_snils: &str) -> Vec<AssignmentView> {
        let Some(child) = self.child_by_snils(child_snils) else {
            return Vec::new();
        };
        let reg = self.registry();
        reg.of_child(child)
            .filter(|a| a.to.is_none_or(|to| to >= REF))
            .map(|a| self.assignment_view(a))
            .collect()
    }

    /// Register an assignment.
    ///
    /// Idempotent by application number: the same number with the same content again gives
    /// `AlreadyRegistered` (same id); with other content, `Conflict` (`APPLICATION_NUMBER_REUSED`).
    /// The same child and benefit already assigned for an overlapping period gives `Conflict` naming
    /// each such assignment (`OVERLAPPING_PERIOD` for the same recipient, `ONE_RECIPIENT_PER_CHILD`
    /// for another one).
    pub fn register_assignment(&self, request: &NewAssignment) -> RegisterOutcome {
        let candidate = match self.candidate(request) {
            Ok(c) => c,
            Err(error) => return RegisterOutcome::Rejected { error },
        };
        let mut reg = self.registry.write().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = reg
            .by_application
            .get(request.application_number.as_str())
            .and_then(|&i| reg.list.get(i as usize))
        {
            let same = existing.child == candidate.child
                && existing.recipient == candidate.recipient
                && existing.benefit == candidate.benefit
                && existing.from == candidate.from
                && existing.to == candidate.to
                && existing.region == candidate.region
                && (request.amount.is_none() || existing.amount == candidate.amount);
            let assignment = self.assignment_view(existing);
            return if same {
                RegisterOutcome::AlreadyRegistered { assignment }
            } else {
                RegisterOutcome::Conflict {
                    conflicts: vec![ConflictView {
                        reason: ConflictReason::ApplicationNumberReused,
                        existing: assignment,
                    }],
                }
            };
        }
        let conflicts: Vec<ConflictView> = reg
            .of_child(candidate.child)
            .filter(|a| {
                a.benefit == candidate.benefit
                    && overlaps(a.from, a.to, candidate.from, candidate.to)
            })
            .map(|a| ConflictView {
                reason: if a.recipient == candidate.recipient {
                    ConflictReason::OverlappingPeriod
                } else {
                    ConflictReason::OneRecipientPerChild
                },
                existing: self.assignment_view(a),
            })
            .collect();
        if !conflicts.is_empty() {
            return RegisterOutcome::Conflict { conflicts };
        }
        let mut candidate = candidate;
        candidate.seq = reg.next_seq;
        let i = reg.push(candidate);
        let assignment = reg.list.get(i as usize).map(|a| self.assignment_view(a));
        match assignment {
            Some(assignment) => RegisterOutcome::Registered { assignment },
            // push() just stored it at i; unreachable, but an answer beats a panic.
            None => RegisterOutcome::Rejected {
                error: RegisterError::InvalidField {
                    field: "application_number",
                    value: request.application_number.clone(),
                },
            },
        }
    }

    fn candidate(&self, r: &NewAssignment) -> Result<Assignment, RegisterError> {
        let invalid = |field: &'static str, value: &str| RegisterError::InvalidField {
            field,
            value: value.to_owned(),
        };
        if !valid_application_number(&r.application_number) {
            return Err(invalid("application_number", &r.application_number));
        }
        let child =
            self.child_by_snils(&r.child_snils)
                .ok_or_else(|| RegisterError::UnknownChild {
                    snils: r.child_snils.clone(),
                })?;
        let recipient = self.adult_by_snils(&r.recipient_snils).ok_or_else(|| {
            RegisterError::UnknownRecipient {
                snils: r.recipient_snils.clone(),
            }
        })?;
        let from = parse_date(&r.from).ok_or_else(|| invalid("from", &r.from))?;
        let to = match &r.to {
            Some(t) => Some(parse_date(t).ok_or_else(|| invalid("to", t))?),
            None => None,
        };
        if let (Some(to_day), Some(to_text)) = (to, &r.to)
            && to_day < from
        {
            return Err(RegisterError::PeriodEndsBeforeStart {
                from: r.from.clone(),
                to: to_text.clone(),
            });
        }
        let region =
            parse_region(&r.region_code).ok_or_else(|| invalid("region_code", &r.region_code))?;
        let amount = match &r.amount {
            Some(a) => parse_amount(a).ok_or_else(|| invalid("amount", a))?,
            None => default_amount(r.benefit, region),
        };
        Ok(Assignment {
            child,
            recipient,
            benefit: r.benefit,
            region,
            year: u16::try_from(calendar::year_of(from)).unwrap_or(0),
            seq: 0,
            from,
            to,
            amount,
            application: r.application_number.as_str().into(),
        })
    }

    /// Sample people as JSON for testers: adults with their children, statuses and assignments, and
    /// marked cases (`case` field): `valid`, `duplicate_same_recipient`, `duplicate_other_parent`,
    /// `large_family`, `disabled_child`, `low_income`, and deliberately invalid variants
    /// `wrong_snils_check`, `wrong_inn_check`, `unknown_certificate`. At most `n` entries.
    pub fn export_people(&self, n: usize) -> serde_json::Value {
        export::export(self, n)
    }

    // --------------------------------------------------------------------------------------------
    // Rendering

    fn email_of(&self, i: u32) -> Option<String> {
        if let Some(e) = self.email_overrides.get(&i) {
            return (!e.is_empty()).then(|| e.to_string());
        }
        let a = self.adults.get(i as usize)?;
        let mut s = String::with_capacity(40);
        data::translit(self.pool.get(a.first), &mut s);
        s.push('.');
        data::translit(self.pool.get(a.last), &mut s);
        s.push_str(&(i % 10_000).to_string());
        s.push('@');
        s.push_str(data::EMAIL_DOMAINS[i as usize % data::EMAIL_DOMAINS.len()]);
        Some(s)
    }

    fn passport_view(&self, a: &Adult) -> PassportView {
        PassportView {
            series: format!("{:04}", a.passport_series),
            number: format!("{:06}", a.passport_number),
            issue_date: fmt_date(a.passport_issued),
            issuer: self.pool.get(a.issuer).to_owned(),
            issuer_code: format!("{:03}-{:03}", a.issuer_code / 1000, a.issuer_code % 1000),
        }
    }

    fn address_view(&self, a: &Adult) -> AddressView {
        AddressView {
            postal_code: format!("{:06}", a.postal_code),
            region_code: fmt_region(a.region),
            region: data::region(a.region)
                .map_or_else(|| fmt_region(a.region), |r| r.name.to_owned()),
            locality: self.pool.get(a.locality).to_owned(),
            street: self.pool.opt(a.street),
            house: self.pool.get(a.house).to_owned(),
            apartment: self.pool.opt(a.apartment),
        }
    }

    fn adult_view(&self, i: u32) -> Option<PersonView> {
        let a = self.adults.get(i as usize)?;
        let inn = format!("{:012}", a.inn);
        Some(PersonView {
            kind: PersonKind::Adult,
            last_name: self.pool.get(a.last).to_owned(),
            first_name: self.pool.get(a.first).to_owned(),
            middle_name: self.pool.opt(a.middle),
            gender: a.gender,
            birth_date: fmt_date(a.birth),
            snils: fmt_snils(a.snils),
            snils_registration_date: fmt_date(a.snils_registered),
            inn_tax_authority_code: Some(inn[..4].to_owned()),
            inn: Some(inn),
            inn_registration_date: Some(fmt_date(a.inn_registered)),
            passport: Some(self.passport_view(a)),
            birth_certificate: None,
            registration_address: Some(self.address_view(a)),
            phone: Some(format!("+7{:010}", a.phone)),
            email: self.email_of(i),
        })
    }

    fn certificate_view(&self, c: &Child) -> CertificateView {
        CertificateView {
            series: self.pool.get(c.certificate_series).to_owned(),
            number: format!("{:06}", c.certificate_number),
            issue_date: fmt_date(c.certificate_issued),
            issuer: self.pool.get(c.office_name).to_owned(),
        }
    }

    fn child_person(&self, i: u32) -> Option<PersonView> {
        let c = self.children.get(i as usize)?;
        Some(PersonView {
            kind: PersonKind::Child,
            last_name: self.pool.get(c.last).to_owned(),
            first_name: self.pool.get(c.first).to_owned(),
            middle_name: self.pool.opt(c.middle),
            gender: c.gender,
            birth_date: fmt_date(c.birth),
            snils: fmt_snils(c.snils),
            snils_registration_date: fmt_date(c.snils_registered),
            inn: None,
            inn_tax_authority_code: None,
            inn_registration_date: None,
            passport: None,
            birth_certificate: Some(self.certificate_view(c)),
            registration_address: None,
            phone: None,
            email: None,
        })
    }

    fn parent_view(&self, i: u32, role: ParentRole) -> Option<ParentView> {
        let a = self.adults.get(i as usize)?;
        Some(ParentView {
            role,
            last_name: self.pool.get(a.last).to_owned(),
            first_name: self.pool.get(a.first).to_owned(),
            middle_name: self.pool.opt(a.middle),
            birth_date: fmt_date(a.birth),
            snils: fmt_snils(a.snils),
            citizenship: "643".to_owned(),
        })
    }

    fn birth_record_of(&self, i: u32) -> Option<BirthRecordView> {
        let c = self.children.get(i as usize)?;
        let parents = [
            (c.mother, ParentRole::Mother),
            (c.father, ParentRole::Father),
        ]
        .into_iter()
        .filter(|&(p, _)| p != NONE)
        .filter_map(|(p, role)| self.parent_view(p, role))
        .collect();
        Some(BirthRecordView {
            status: "actual".to_owned(),
            act_record: ActRecordView {
                number: c.act_number.to_string(),
                date: fmt_date(c.act_date),
            },
            certificate: self.certificate_view(c),
            child: ChildView {
                last_name: self.pool.get(c.last).to_owned(),
                first_name: self.pool.get(c.first).to_owned(),
                middle_name: self.pool.opt(c.middle),
                birth_date: fmt_date(c.birth),
                gender: c.gender,
                snils: fmt_snils(c.snils),
            },
            birth_place: BirthPlaceView {
                country: "643".to_owned(),
                region_code: fmt_region(c.birth_region),
                region: data::region(c.birth_region).map(|r| r.name.to_owned()),
                locality: self.pool.get(c.birth_locality).to_owned(),
            },
            parents,
            registry_office: OfficeView {
                code: format!("{:08}", c.office_code),
                name: self.pool.get(c.office_name).to_owned(),
            },
        })
    }

    fn assignment_view(&self, a: &Assignment) -> AssignmentView {
        let snils_of_child = self.children.get(a.child as usize).map_or(0, |c| c.snils);
        let snils_of_recipient = self.adults.get(a.recipient as usize).map_or(0, |p| p.snils);
        AssignmentView {
            assignment_id: format!("{:02}-{:04}-{:010}", a.region, a.year, a.seq),
            benefit_code: a.benefit,
            child_snils: fmt_snils(snils_of_child),
            recipient_snils: fmt_snils(snils_of_recipient),
            period: PeriodView {
                from: fmt_date(a.from),
                to: a.to.map(fmt_date),
            },
            amount: fmt_amount(a.amount),
            region_code: fmt_region(a.region),
            application_number: a.application.to_string(),
        }
    }

    /// The latest large-family period of a household that started by [`REFERENCE_DATE`].
    fn large_family_period(&self, h: u32) -> Option<LargePeriod> {
        let kids = self.household_children.of(h);
        if kids.len() < 3 {
            return None;
        }
        // +1 on a birth, -1 on the 18th birthday; at equal dates leaving comes first.
        let mut events: Vec<(i32, i32)> = Vec::with_capacity(kids.len() * 2);
        for &k in kids {
            let c = self.children.get(k as usize)?;
            events.push((c.birth, 1));
            events.push((add_months(c.birth, 216), -1));
        }
        events.sort_unstable();
        let mut count = 0;
        let mut start = None;
        let mut best = None;
        for (day, delta) in events {
            count += delta;
            if count >= 3 && start.is_none() {
                start = Some(day);
            } else if count < 3
                && let Some(s) = start.take()
                && s <= REF
            {
                best = Some((s, day - 1));
            }
        }
        let (from, to) = best?;
        let on = to.min(REF);
        let children = kids
            .iter()
            .copied()
            .filter(|&k| {
                self.children
                    .get(k as usize)
                    .is_some_and(|c| c.birth <= on && on < add_months(c.birth, 216))
            })
            .collect();
        Some(LargePeriod { from, to, children })
    }

    fn household_statuses(&self, h: u32) -> Vec<StatusView> {
        let Some(hh) = self.households.get(h as usize) else {
            return Vec::new();
        };
        let state = |to: Option<i32>| {
            if to.is_none_or(|t| t >= REF) {
                StatusState::Active
            } else {
                StatusState::Expired
            }
        };
        let region_name = data::region(hh.region).map_or("", |r| r.name);
        let mut out = Vec::new();
        if hh.large_family_registered
            && let Some(p) = self.large_family_period(h)
        {
            out.push(StatusView::LargeFamily {
                status: state(Some(p.to)),
                valid_from: fmt_date(p.from),
                valid_to: fmt_date(p.to),
                children_count: u8::try_from(p.children.len()).unwrap_or(30).min(30),
                region_code: fmt_region(hh.region),
                certificate: DocumentView {
                    kind: "LARGE_FAMILY_CERTIFICATE".to_owned(),
                    number: format!("{:02}{:08}", hh.region, h),
                    issue_date: fmt_date(p.from),
                    issuer: format!("Орган социальной защиты населения, {region_name}")
                        .trim_end_matches([',', ' '])
                        .to_owned(),
                },
                child_snils: p
                    .children
                    .iter()
                    .take(30)
                    .filter_map(|&k| self.children.get(k as usize))
                    .map(|c| fmt_snils(c.snils))
                    .collect(),
            });
        }
        for &k in self.household_children.of(h) {
            let Some(c) = self.children.get(k as usize) else {
                continue;
            };
            if let Some(d) = c.disability {
                out.push(StatusView::ChildDisability {
                    status: state(d.to),
                    valid_from: fmt_date(d.from),
                    valid_to: d.to.map(fmt_date),
                    child_snils: fmt_snils(c.snils),
                    group: d.group,
                    basis: DocumentView {
                        kind: "MSE_EXTRACT".to_owned(),
                        number: format!(
                            "{:04}.{}.{:02}/{}",
                            k % 10_000,
                            1 + k % 9,
                            c.birth_region,
                            calendar::year_of(d.from)
                        ),
                        issue_date: fmt_date(d.from),
                        issuer: "Бюро медико-социальной экспертизы".to_owned(),
                    },
                });
            }
        }
        if let Some(li) = hh.low_income {
            out.push(StatusView::LowIncome {
                status: state(Some(li.to)),
                valid_from: fmt_date(li.from),
                valid_to: fmt_date(li.to),
                income_per_person: fmt_amount(li.income),
                regional_minimum: fmt_amount(li.minimum),
                region_code: fmt_region(hh.region),
                household_size: li.size,
                calculation_period: PeriodView {
                    from: fmt_date(add_months(li.from, -13)),
                    to: Some(fmt_date(add_months(li.from, -1) - 1)),
                },
            });
        }
        out
    }

    /// Sort the lookup indexes and check identifiers are unique; the error names the key and value.
    fn build_indexes(&mut self) -> Result<(), (&'static str, u64)> {
        let mut snils = Vec::with_capacity(self.len());
        let mut inn = Vec::with_capacity(self.adults.len());
        let mut passport = Vec::with_capacity(self.adults.len());
        for (i, a) in self.adults.iter().enumerate() {
            let i = i as u32;
            snils.push((a.snils, i));
            inn.push((a.inn, i));
            passport.push((
                u64::from(a.passport_series) * 1_000_000 + u64::from(a.passport_number),
                i,
            ));
        }
        let mut certificate = Vec::with_capacity(self.children.len());
        for (i, c) in self.children.iter().enumerate() {
            let i = i as u32;
            snils.push((c.snils, i | CHILD));
            certificate.push((
                (u64::from(c.certificate_series) << 32) | u64::from(c.certificate_number),
                i,
            ));
        }
        for (name, index) in [
            ("snils", &mut snils),
            ("inn", &mut inn),
            ("passport", &mut passport),
            ("birth certificate", &mut certificate),
        ] {
            index.sort_unstable();
            if let Some(w) = index.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err((name, w[0].0));
            }
        }
        self.snils_index = snils;
        self.inn_index = inn;
        self.passport_index = passport;
        self.certificate_index = certificate;
        Ok(())
    }
}
