//! Saving and loading a population as `population.json`: every value rendered as the registries send
//! it (strings in schema form), so the file is readable and can be edited by hand for fixtures.
//! Loading checks every value's form and every reference, and reports the first problem by location.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::data::{NONE, Pool};
use super::{
    Adult, Assignment, Benefit, Child, Disability, DisabilityGroup, Gender, Household, LowIncome,
    Members, Population, PopulationError, REFERENCE_DATE, Registry, fmt_amount, fmt_region,
    fmt_snils, mask, parse_amount, parse_digits, parse_region, valid_application_number,
};
use crate::calendar::{fmt_date, parse_date};
use crate::domain::identifiers::{inn_is_valid, snils_is_valid};

/// The file inside the data directory.
pub(crate) const FILE_NAME: &str = "population.json";
const FORMAT: &str = "reggate-population";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    version: u32,
    seed: u64,
    reference_date: String,
    households: Vec<FileHousehold>,
    adults: Vec<FileAdult>,
    children: Vec<FileChild>,
    assignments: Vec<FileAssignment>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHousehold {
    region_code: String,
    large_family_registered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low_income: Option<FileLowIncome>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLowIncome {
    income_per_person: String,
    regional_minimum: String,
    valid_from: String,
    valid_to: String,
    household_size: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePassport {
    series: String,
    number: String,
    issue_date: String,
    issuer: String,
    issuer_code: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAddress {
    postal_code: String,
    region_code: String,
    locality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    street: Option<String>,
    house: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apartment: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAdult {
    household: u32,
    last_name: String,
    first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    middle_name: Option<String>,
    gender: Gender,
    birth_date: String,
    snils: String,
    snils_registration_date: String,
    inn: String,
    inn_registration_date: String,
    passport: FilePassport,
    address: FileAddress,
    phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCertificate {
    series: String,
    number: String,
    issue_date: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileActRecord {
    number: String,
    date: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOffice {
    code: String,
    name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBirthPlace {
    region_code: String,
    locality: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDisability {
    group: DisabilityGroup,
    valid_from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_to: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChild {
    household: u32,
    last_name: String,
    first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    middle_name: Option<String>,
    gender: Gender,
    birth_date: String,
    snils: String,
    snils_registration_date: String,
    certificate: FileCertificate,
    act_record: FileActRecord,
    registry_office: FileOffice,
    birth_place: FileBirthPlace,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mother: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    father: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disability: Option<FileDisability>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAssignment {
    assignment_id: String,
    benefit_code: Benefit,
    child_snils: String,
    recipient_snils: String,
    from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    amount: String,
    application_number: String,
}

// ------------------------------------------------------------------------------------------------
// Save

pub(crate) fn save(pop: &Population, dir: &Path) -> Result<(), PopulationError> {
    let path = dir.join(FILE_NAME);
    let io = |e: std::io::Error| PopulationError::Io {
        path: path.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = render(pop);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let out = std::fs::File::create(&tmp).map_err(io)?;
    let mut out = BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &file).map_err(|e| PopulationError::Io {
        path: path.clone(),
        message: e.to_string(),
    })?;
    out.write_all(b"\n").map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    // Write-then-rename: a reader never sees half a file.
    std::fs::rename(&tmp, &path).map_err(io)
}

fn render(pop: &Population) -> File {
    let p = &pop.pool;
    let households = pop
        .households
        .iter()
        .map(|h| FileHousehold {
            region_code: fmt_region(h.region),
            large_family_registered: h.large_family_registered,
            low_income: h.low_income.map(|l| FileLowIncome {
                income_per_person: fmt_amount(l.income),
                regional_minimum: fmt_amount(l.minimum),
                valid_from: fmt_date(l.from),
                valid_to: fmt_date(l.to),
                household_size: l.size,
            }),
        })
        .collect();
    let adults = pop
        .adults
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let passport = pop.passport_view(a);
            FileAdult {
                household: a.household,
                last_name: p.get(a.last).to_owned(),
                first_name: p.get(a.first).to_owned(),
                middle_name: p.opt(a.middle),
                gender: a.gender,
                birth_date: fmt_date(a.birth),
                snils: fmt_snils(a.snils),
                snils_registration_date: fmt_date(a.snils_registered),
                inn: format!("{:012}", a.inn),
                inn_registration_date: fmt_date(a.inn_registered),
                passport: FilePassport {
                    series: passport.series,
                    number: passport.number,
                    issue_date: passport.issue_date,
                    issuer: passport.issuer,
                    issuer_code: passport.issuer_code,
                },
                address: FileAddress {
                    postal_code: format!("{:06}", a.postal_code),
                    region_code: fmt_region(a.region),
                    locality: p.get(a.locality).to_owned(),
                    street: p.opt(a.street),
                    house: p.get(a.house).to_owned(),
                    apartment: p.opt(a.apartment),
                },
                phone: format!("+7{:010}", a.phone),
                email: pop.email_of(i as u32),
            }
        })
        .collect();
    let children = pop
        .children
        .iter()
        .map(|c| FileChild {
            household: c.household,
            last_name: p.get(c.last).to_owned(),
            first_name: p.get(c.first).to_owned(),
            middle_name: p.opt(c.middle),
            gender: c.gender,
            birth_date: fmt_date(c.birth),
            snils: fmt_snils(c.snils),
            snils_registration_date: fmt_date(c.snils_registered),
            certificate: FileCertificate {
                series: p.get(c.certificate_series).to_owned(),
                number: format!("{:06}", c.certificate_number),
                issue_date: fmt_date(c.certificate_issued),
            },
            act_record: FileActRecord {
                number: c.act_number.to_string(),
                date: fmt_date(c.act_date),
            },
            registry_office: FileOffice {
                code: format!("{:08}", c.office_code),
                name: p.get(c.office_name).to_owned(),
            },
            birth_place: FileBirthPlace {
                region_code: fmt_region(c.birth_region),
                locality: p.get(c.birth_locality).to_owned(),
            },
            mother: (c.mother != NONE).then_some(c.mother),
            father: (c.father != NONE).then_some(c.father),
            disability: c.disability.map(|d| FileDisability {
                group: d.group,
                valid_from: fmt_date(d.from),
                valid_to: d.to.map(fmt_date),
            }),
        })
        .collect();
    let reg = pop.registry();
    let assignments = reg
        .list
        .iter()
        .map(|a| {
            let v = pop.assignment_view(a);
            FileAssignment {
                assignment_id: v.assignment_id,
                benefit_code: v.benefit_code,
                child_snils: v.child_snils,
                recipient_snils: v.recipient_snils,
                from: v.period.from,
                to: v.period.to,
                amount: v.amount,
                application_number: v.application_number,
            }
        })
        .collect();
    File {
        format: FORMAT.to_owned(),
        version: VERSION,
        seed: pop.seed,
        reference_date: REFERENCE_DATE.to_owned(),
        households,
        adults,
        children,
        assignments,
    }
}

// ------------------------------------------------------------------------------------------------
// Load

/// Checks values while converting, naming the location of the first bad one.
struct Check<'a> {
    path: &'a Path,
}

impl Check<'_> {
    fn invalid(&self, location: String, value: &str, expected: &'static str) -> PopulationError {
        PopulationError::Invalid {
            path: self.path.to_path_buf(),
            location,
            value: mask(value),
            expected,
        }
    }

    fn date(&self, loc: impl Fn() -> String, s: &str) -> Result<i32, PopulationError> {
        parse_date(s).ok_or_else(|| self.invalid(loc(), s, "a calendar date YYYY-MM-DD"))
    }

    fn digits(
        &self,
        loc: impl Fn() -> String,
        s: &str,
        n: usize,
        expected: &'static str,
    ) -> Result<u64, PopulationError> {
        parse_digits(s, n).ok_or_else(|| self.invalid(loc(), s, expected))
    }

    fn region(&self, loc: impl Fn() -> String, s: &str) -> Result<u8, PopulationError> {
        parse_region(s).ok_or_else(|| self.invalid(loc(), s, "a region code 01..99"))
    }

    fn amount(&self, loc: impl Fn() -> String, s: &str) -> Result<u64, PopulationError> {
        parse_amount(s).ok_or_else(|| self.invalid(loc(), s, "an amount with at most 2 decimals"))
    }

    fn snils(&self, loc: impl Fn() -> String, s: &str) -> Result<u64, PopulationError> {
        if !snils_is_valid(s) {
            return Err(self.invalid(loc(), s, "11 digits with a valid SNILS check number"));
        }
        self.digits(loc, s, 11, "11 digits")
    }

    fn name(
        &self,
        loc: impl Fn() -> String,
        s: &str,
        pool: &mut Pool,
    ) -> Result<u32, PopulationError> {
        if !is_name_part(s) {
            return Err(self.invalid(loc(), s, "a name part (Cyrillic words joined by hyphen, space or apostrophe, up to 60 characters)"));
        }
        Ok(pool.intern(s))
    }

    fn text(
        &self,
        loc: impl Fn() -> String,
        s: &str,
        pool: &mut Pool,
    ) -> Result<u32, PopulationError> {
        let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() || collapsed != s || s.chars().count() > 500 {
            return Err(self.invalid(
                loc(),
                s,
                "a non-empty text with single spaces, up to 500 characters",
            ));
        }
        Ok(pool.intern(s))
    }
}

/// `cmn:NamePartType`: `[А-ЯЁа-яё]+([\-' ][А-ЯЁа-яё]+)*`, 1 to 60 characters.
pub(crate) fn is_name_part(s: &str) -> bool {
    let cyr = |c: char| ('А'..='я').contains(&c) || c == 'Ё' || c == 'ё';
    let n = s.chars().count();
    (1..=60).contains(&n)
        && s.split(['-', '\'', ' '])
            .all(|w| !w.is_empty() && w.chars().all(cyr))
}

/// `cmn:BirthCertificateSeriesType`: `[IVXLCDM]{1,4}-[А-ЯЁ]{2}`.
pub(crate) fn is_certificate_series(s: &str) -> bool {
    let Some((roman, letters)) = s.split_once('-') else {
        return false;
    };
    (1..=4).contains(&roman.len())
        && roman.chars().all(|c| "IVXLCDM".contains(c))
        && letters.chars().count() == 2
        && letters
            .chars()
            .all(|c| ('А'..='Я').contains(&c) || c == 'Ё')
}

fn parse_phone(s: &str) -> Option<u64> {
    let rest = s.strip_prefix("+7").or_else(|| s.strip_prefix('8'))?;
    parse_digits(rest, 10)
}

fn parse_issuer_code(s: &str) -> Option<u32> {
    let (a, b) = s.split_once('-')?;
    Some((parse_digits(a, 3)? * 1000 + parse_digits(b, 3)?) as u32)
}

pub(crate) fn load(dir: &Path) -> Result<Population, PopulationError> {
    let path: PathBuf = dir.join(FILE_NAME);
    let bytes = std::fs::read(&path).map_err(|e| PopulationError::Io {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| PopulationError::Json {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(PopulationError::Format {
            path,
            found: format!("format '{}' version {}", file.format, file.version),
        });
    }
    let ck = Check { path: &path };
    let mut pool = Pool::default();

    let mut households = Vec::with_capacity(file.households.len());
    for (i, h) in file.households.iter().enumerate() {
        let at = |f: &'static str| move || format!("households[{i}].{f}");
        let low_income = match &h.low_income {
            Some(l) => Some(LowIncome {
                income: ck.amount(at("low_income.income_per_person"), &l.income_per_person)?,
                minimum: ck.amount(at("low_income.regional_minimum"), &l.regional_minimum)?,
                from: ck.date(at("low_income.valid_from"), &l.valid_from)?,
                to: ck.date(at("low_income.valid_to"), &l.valid_to)?,
                size: if (1..=50).contains(&l.household_size) {
                    l.household_size
                } else {
                    return Err(ck.invalid(
                        at("low_income.household_size")(),
                        &l.household_size.to_string(),
                        "a household size 1..50",
                    ));
                },
            }),
            None => None,
        };
        households.push(Household {
            region: ck.region(at("region_code"), &h.region_code)?,
            large_family_registered: h.large_family_registered,
            low_income,
        });
    }
    let household = |loc: String, h: u32| {
        if (h as usize) < households.len() {
            Ok(h)
        } else {
            Err(ck.invalid(loc, &h.to_string(), "the index of a household in this file"))
        }
    };

    let mut adults = Vec::with_capacity(file.adults.len());
    let mut emails = Vec::with_capacity(file.adults.len());
    for (i, a) in file.adults.iter().enumerate() {
        let at = |f: &'static str| move || format!("adults[{i}].{f}");
        if !inn_is_valid(&a.inn) {
            return Err(ck.invalid(
                at("inn")(),
                &a.inn,
                "12 digits with valid INN control digits",
            ));
        }
        let middle = match &a.middle_name {
            Some(m) => ck.name(at("middle_name"), m, &mut pool)?,
            None => NONE,
        };
        let street = match &a.address.street {
            Some(s) => ck.text(at("address.street"), s, &mut pool)?,
            None => NONE,
        };
        let apartment = match &a.address.apartment {
            Some(s) => ck.text(at("address.apartment"), s, &mut pool)?,
            None => NONE,
        };
        adults.push(Adult {
            last: ck.name(at("last_name"), &a.last_name, &mut pool)?,
            first: ck.name(at("first_name"), &a.first_name, &mut pool)?,
            middle,
            household: household(at("household")(), a.household)?,
            snils: ck.snils(at("snils"), &a.snils)?,
            inn: ck.digits(at("inn"), &a.inn, 12, "12 digits")?,
            phone: parse_phone(&a.phone)
                .ok_or_else(|| ck.invalid(at("phone")(), &a.phone, "+7 or 8 and 10 digits"))?,
            birth: ck.date(at("birth_date"), &a.birth_date)?,
            snils_registered: ck.date(at("snils_registration_date"), &a.snils_registration_date)?,
            inn_registered: ck.date(at("inn_registration_date"), &a.inn_registration_date)?,
            passport_issued: ck.date(at("passport.issue_date"), &a.passport.issue_date)?,
            passport_series: ck.digits(at("passport.series"), &a.passport.series, 4, "4 digits")?
                as u16,
            gender: a.gender,
            region: ck.region(at("address.region_code"), &a.address.region_code)?,
            passport_number: ck.digits(at("passport.number"), &a.passport.number, 6, "6 digits")?
                as u32,
            issuer: ck.text(at("passport.issuer"), &a.passport.issuer, &mut pool)?,
            issuer_code: parse_issuer_code(&a.passport.issuer_code).ok_or_else(|| {
                ck.invalid(
                    at("passport.issuer_code")(),
                    &a.passport.issuer_code,
                    "a division code NNN-NNN",
                )
            })?,
            postal_code: ck.digits(
                at("address.postal_code"),
                &a.address.postal_code,
                6,
                "6 digits",
            )? as u32,
            locality: ck.text(at("address.locality"), &a.address.locality, &mut pool)?,
            street,
            house: ck.text(at("address.house"), &a.address.house, &mut pool)?,
            apartment,
        });
        emails.push(a.email.clone());
    }

    let adult_ref = |loc: String, p: Option<u32>| match p {
        None => Ok(NONE),
        Some(p) if (p as usize) < adults.len() => Ok(p),
        Some(p) => Err(ck.invalid(loc, &p.to_string(), "the index of an adult in this file")),
    };
    let mut children = Vec::with_capacity(file.children.len());
    for (i, c) in file.children.iter().enumerate() {
        let at = |f: &'static str| move || format!("children[{i}].{f}");
        let middle = match &c.middle_name {
            Some(m) => ck.name(at("middle_name"), m, &mut pool)?,
            None => NONE,
        };
        if !is_certificate_series(&c.certificate.series) {
            return Err(ck.invalid(
                at("certificate.series")(),
                &c.certificate.series,
                "a series like IV-АБ",
            ));
        }
        let act = &c.act_record.number;
        if act.is_empty() || act.len() > 19 || !act.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ck.invalid(
                at("act_record.number")(),
                act,
                "an act record number of 1 to 19 digits",
            ));
        }
        let disability = match &c.disability {
            Some(d) => Some(Disability {
                group: d.group,
                from: ck.date(at("disability.valid_from"), &d.valid_from)?,
                to: match &d.valid_to {
                    Some(t) => Some(ck.date(at("disability.valid_to"), t)?),
                    None => None,
                },
            }),
            None => None,
        };
        let (mother, father) = (
            adult_ref(at("mother")(), c.mother)?,
            adult_ref(at("father")(), c.father)?,
        );
        if mother == NONE && father == NONE {
            return Err(ck.invalid(
                at("mother")(),
                "",
                "a mother or a father (a birth record has 1 or 2 parents)",
            ));
        }
        children.push(Child {
            last: ck.name(at("last_name"), &c.last_name, &mut pool)?,
            first: ck.name(at("first_name"), &c.first_name, &mut pool)?,
            middle,
            household: household(at("household")(), c.household)?,
            mother,
            father,
            snils: ck.snils(at("snils"), &c.snils)?,
            act_number: act.parse().unwrap_or(0),
            birth: ck.date(at("birth_date"), &c.birth_date)?,
            snils_registered: ck.date(at("snils_registration_date"), &c.snils_registration_date)?,
            certificate_issued: ck.date(at("certificate.issue_date"), &c.certificate.issue_date)?,
            act_date: ck.date(at("act_record.date"), &c.act_record.date)?,
            certificate_series: pool.intern(&c.certificate.series),
            certificate_number: ck.digits(
                at("certificate.number"),
                &c.certificate.number,
                6,
                "6 digits",
            )? as u32,
            office_code: ck.digits(
                at("registry_office.code"),
                &c.registry_office.code,
                8,
                "8 digits",
            )? as u32,
            office_name: ck.text(
                at("registry_office.name"),
                &c.registry_office.name,
                &mut pool,
            )?,
            birth_locality: ck.text(
                at("birth_place.locality"),
                &c.birth_place.locality,
                &mut pool,
            )?,
            disability,
            gender: c.gender,
            birth_region: ck.region(at("birth_place.region_code"), &c.birth_place.region_code)?,
        });
    }

    let n_households = households.len();
    let mut pop = Population {
        seed: file.seed,
        pool,
        household_adults: Members::build(n_households, adults.iter().map(|a: &Adult| a.household)),
        household_children: Members::build(
            n_households,
            children.iter().map(|c: &Child| c.household),
        ),
        households,
        adults,
        children,
        email_overrides: Default::default(),
        snils_index: Vec::new(),
        inn_index: Vec::new(),
        passport_index: Vec::new(),
        certificate_index: Vec::new(),
        registry: RwLock::new(Registry::default()),
    };
    for (i, e) in emails.into_iter().enumerate() {
        let derived = pop.email_of(i as u32);
        if e != derived {
            pop.email_overrides
                .insert(i as u32, e.unwrap_or_default().into());
        }
    }
    if let Err((key, value)) = pop.build_indexes() {
        let value = if key == "birth certificate" {
            format!("{}", value & 0xFFFF_FFFF)
        } else {
            value.to_string()
        };
        return Err(PopulationError::Duplicate {
            path: path.clone(),
            key,
            value: mask(&value),
        });
    }

    let mut reg = Registry {
        next_seq: 1,
        ..Registry::default()
    };
    for (i, a) in file.assignments.iter().enumerate() {
        let at = |f: &'static str| move || format!("assignments[{i}].{f}");
        let id = &a.assignment_id;
        let parts: Vec<&str> = id.split('-').collect();
        let (region, year, seq) = match parts.as_slice() {
            [r, y, s] if r.len() == 2 && y.len() == 4 && s.len() == 10 => (
                ck.region(at("assignment_id"), r)?,
                ck.digits(at("assignment_id"), y, 4, "an id RR-YYYY-NNNNNNNNNN")? as u16,
                ck.digits(at("assignment_id"), s, 10, "an id RR-YYYY-NNNNNNNNNN")?,
            ),
            _ => return Err(ck.invalid(at("assignment_id")(), id, "an id RR-YYYY-NNNNNNNNNN")),
        };
        ck.snils(at("child_snils"), &a.child_snils)?;
        ck.snils(at("recipient_snils"), &a.recipient_snils)?;
        let child = pop.child_by_snils(&a.child_snils).ok_or_else(|| {
            ck.invalid(
                at("child_snils")(),
                &a.child_snils,
                "the SNILS of a child in this file",
            )
        })?;
        let recipient = pop.adult_by_snils(&a.recipient_snils).ok_or_else(|| {
            ck.invalid(
                at("recipient_snils")(),
                &a.recipient_snils,
                "the SNILS of an adult in this file",
            )
        })?;
        if !valid_application_number(&a.application_number) {
            return Err(ck.invalid(
                at("application_number")(),
                &a.application_number,
                "an application number [A-Z0-9][A-Z0-9-]*",
            ));
        }
        if reg
            .by_application
            .contains_key(a.application_number.as_str())
        {
            return Err(PopulationError::Duplicate {
                path: path.clone(),
                key: "application number",
                value: a.application_number.clone(),
            });
        }
        reg.push(Assignment {
            child,
            recipient,
            benefit: a.benefit_code,
            region,
            year,
            seq,
            from: ck.date(at("from"), &a.from)?,
            to: match &a.to {
                Some(t) => Some(ck.date(at("to"), t)?),
                None => None,
            },
            amount: ck.amount(at("amount"), &a.amount)?,
            application: a.application_number.as_str().into(),
        });
    }
    pop.registry = RwLock::new(reg);
    Ok(pop)
}
