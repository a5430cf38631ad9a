//! The rendered views the population's lookups return (strings in the form the registry schemas
//! require, `serde::Serialize` for JSON), the registration request and outcome, and the error types.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Benefit, DisabilityGroup, Gender};

/// Whether a person is an adult or a child record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    /// An adult (has a passport, INN, address).
    Adult,
    /// A child (has a birth certificate).
    Child,
}

/// A passport as `cmn:PassportType` carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PassportView {
    /// 4 digits.
    pub series: String,
    /// 6 digits.
    pub number: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// Issuing authority.
    pub issuer: String,
    /// Division code `NNN-NNN`.
    pub issuer_code: String,
}

/// A birth certificate as `cmn:BirthCertificateType` carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateView {
    /// Roman numeral, hyphen, two Cyrillic capitals (`IV-АБ`).
    pub series: String,
    /// 6 digits.
    pub number: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// The registry office that issued it.
    pub issuer: String,
}

/// A registration address as `cmn:AddressType` carries it (kind `registration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddressView {
    /// 6 digits.
    pub postal_code: String,
    /// 2 digits, 01..99.
    pub region_code: String,
    /// Region name.
    pub region: String,
    /// Town.
    pub locality: String,
    /// Street, if the address has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// House number.
    pub house: String,
    /// Apartment, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apartment: Option<String>,
}

/// A person as the SNILS and INN registries know them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonView {
    /// Adult or child.
    pub kind: PersonKind,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Patronymic, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Gender.
    pub gender: Gender,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// 11 digits with a valid check number.
    pub snils: String,
    /// When the SNILS account was opened.
    pub snils_registration_date: String,
    /// 12 digits with valid control digits (adults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inn: Option<String>,
    /// The tax office that registered the INN: its first four digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inn_tax_authority_code: Option<String>,
    /// When the INN was assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inn_registration_date: Option<String>,
    /// Passport (adults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passport: Option<PassportView>,
    /// Birth certificate (children).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_certificate: Option<CertificateView>,
    /// Registration address (adults; children live at their household's address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_address: Option<AddressView>,
    /// `+7` and 10 digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail (reserved example domains only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The act record reference of a birth record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActRecordView {
    /// Up to 22 digits.
    pub number: String,
    /// When it was drawn up.
    pub date: String,
}

/// The child in a birth record (`chld:ChildType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChildView {
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Patronymic, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Gender.
    pub gender: Gender,
    /// 11 digits.
    pub snils: String,
}

/// Where a child was born (`chld:BirthPlaceType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BirthPlaceView {
    /// Numeric country code, `643`.
    pub country: String,
    /// 2 digits.
    pub region_code: String,
    /// Region name, when the region is in the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Town.
    pub locality: String,
}

/// A parent's role on a birth record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentRole {
    /// Mother.
    Mother,
    /// Father.
    Father,
}

/// A parent on a birth record (`chld:ParentType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParentView {
    /// Mother or father.
    pub role: ParentRole,
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// Patronymic, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// 11 digits.
    pub snils: String,
    /// Numeric country code, `643`.
    pub citizenship: String,
}

/// The registry office that drew up a record (`chld:RegistryOfficeType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfficeView {
    /// 8 digits.
    pub code: String,
    /// Name.
    pub name: String,
}

/// A birth record (`chld:BirthRecordType`): the child and 1–2 parents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BirthRecordView {
    /// Record state: always `actual` for generated data.
    pub status: String,
    /// Act record number and date.
    pub act_record: ActRecordView,
    /// The certificate.
    pub certificate: CertificateView,
    /// The child.
    pub child: ChildView,
    /// Where the child was born.
    pub birth_place: BirthPlaceView,
    /// Mother and/or father, mother first.
    pub parents: Vec<ParentView>,
    /// The registry office.
    pub registry_office: OfficeView,
}

/// A period (`cmn:PeriodType`); no end means open-ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeriodView {
    /// First day.
    pub from: String,
    /// Last day, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A supporting document reference (`cmn:DocumentType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocumentView {
    /// `cmn:DocumentKindType` value.
    pub kind: String,
    /// Number.
    pub number: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// Issuer.
    pub issuer: String,
}

/// Whether a status holds on [`REFERENCE_DATE`](super::REFERENCE_DATE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    /// Holds.
    Active,
    /// Ended before the reference date.
    Expired,
}

/// A family status from the Ministry of Labour (`lab:FamilyStatusListType` items).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatusView {
    /// Large family: 3+ children under 18 for the period.
    LargeFamily {
        /// Active or expired.
        status: StatusState,
        /// First day.
        valid_from: String,
        /// Last day (when the count of children under 18 drops below 3).
        valid_to: String,
        /// Children under 18 (3..30).
        children_count: u8,
        /// Region code.
        region_code: String,
        /// The large family certificate.
        certificate: DocumentView,
        /// SNILS of the children counted.
        child_snils: Vec<String>,
    },
    /// A child's disability.
    ChildDisability {
        /// Active or expired.
        status: StatusState,
        /// First day.
        valid_from: String,
        /// Valid until (none: indefinite).
        #[serde(skip_serializing_if = "Option::is_none")]
        valid_to: Option<String>,
        /// The child's SNILS.
        child_snils: String,
        /// Disability group.
        group: DisabilityGroup,
        /// The medical board extract.
        basis: DocumentView,
    },
    /// Low income: income per person below the regional subsistence minimum.
    LowIncome {
        /// Active or expired.
        status: StatusState,
        /// First day.
        valid_from: String,
        /// Last day.
        valid_to: String,
        /// Income per person, roubles with 2 decimals.
        income_per_person: String,
        /// The region's per-capita subsistence minimum, roubles with 2 decimals.
        regional_minimum: String,
        /// Region code.
        region_code: String,
        /// Household members counted.
        household_size: u8,
        /// The months the income was averaged over.
        calculation_period: PeriodView,
    },
}

/// A benefit assignment (`lab:AssignmentType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssignmentView {
    /// `RR-YYYY-NNNNNNNNNN`.
    pub assignment_id: String,
    /// Benefit code.
    pub benefit_code: Benefit,
    /// The child's SNILS.
    pub child_snils: String,
    /// The recipient's SNILS.
    pub recipient_snils: String,
    /// Period.
    pub period: PeriodView,
    /// Monthly amount, roubles with 2 decimals (currency RUB).
    pub amount: String,
    /// Region code.
    pub region_code: String,
    /// The application it was registered from.
    pub application_number: String,
}

/// A request to register an assignment, fields as the `RegisterAssignmentRequest` carries them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAssignment {
    /// Idempotency key (`[A-Z0-9][A-Z0-9\-]*`, up to 40 characters).
    pub application_number: String,
    /// Benefit code.
    pub benefit: Benefit,
    /// The child's SNILS.
    pub child_snils: String,
    /// The recipient's SNILS (an adult of the population).
    pub recipient_snils: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`, or open-ended.
    pub to: Option<String>,
    /// Monthly amount (decimal, up to 2 fraction digits); the benefit's default when absent.
    pub amount: Option<String>,
    /// Region code, 2 digits.
    pub region_code: String,
}

/// Why an assignment conflicts (`lab:ConflictReasonType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictReason {
    /// The same benefit for the same child and recipient, overlapping periods.
    OverlappingPeriod,
    /// The benefit is already assigned to another recipient for an overlapping period.
    OneRecipientPerChild,
    /// The application number was used before with other content.
    ApplicationNumberReused,
}

/// One conflicting assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConflictView {
    /// Why.
    pub reason: ConflictReason,
    /// The assignment already registered.
    pub existing: AssignmentView,
}

/// A request the registry refuses before looking for conflicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegisterError {
    /// No child with this SNILS.
    UnknownChild {
        /// The SNILS given.
        snils: String,
    },
    /// No adult with this SNILS.
    UnknownRecipient {
        /// The SNILS given.
        snils: String,
    },
    /// A field does not have its required form.
    InvalidField {
        /// Field name (`from`, `to`, `amount`, `region_code`, `application_number`).
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// The period ends before it starts.
    PeriodEndsBeforeStart {
        /// First day given.
        from: String,
        /// Last day given.
        to: String,
    },
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::UnknownChild { .. } => write!(f, "no child with this SNILS"),
            RegisterError::UnknownRecipient { .. } => write!(f, "no adult with this SNILS"),
            RegisterError::InvalidField { field, value } => {
                write!(f, "field {field} has an invalid value '{value}'")
            }
            RegisterError::PeriodEndsBeforeStart { from, to } => {
                write!(f, "period ends ({to}) before it starts ({from})")
            }
        }
    }
}

impl std::error::Error for RegisterError {}

/// What [`Population::register_assignment`](super::Population::register_assignment) did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegisterOutcome {
    /// Registered now.
    Registered {
        /// The new assignment.
        assignment: AssignmentView,
    },
    /// The same application was registered before; nothing changed.
    AlreadyRegistered {
        /// The assignment registered then (same id).
        assignment: AssignmentView,
    },
    /// Clashes with assignments already held (or the number was reused with other content).
    Conflict {
        /// The clashing assignments.
        conflicts: Vec<ConflictView>,
    },
    /// The request itself is unacceptable.
    Rejected {
        /// Why.
        error: RegisterError,
    },
}

/// Loading or saving population data failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PopulationError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// A file is not the JSON the format expects.
    Json {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file is of another format or version.
    Format {
        /// The file.
        path: PathBuf,
        /// What was found.
        found: String,
    },
    /// A value does not have its required form, or a reference points nowhere.
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where in the file (`adults[3].snils`).
        location: String,
        /// The value, masked to its last two characters.
        value: String,
        /// What is required.
        expected: &'static str,
    },
    /// Two records share an identifier that must be unique.
    Duplicate {
        /// The file.
        path: PathBuf,
        /// Which identifier (`snils`, `inn`, `passport`, `birth certificate`, `application number`).
        key: &'static str,
        /// The value, masked to its last two characters.
        value: String,
    },
}

impl fmt::Display for PopulationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopulationError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            PopulationError::Json {
                path,
                line,
                column,
                message,
            } => write!(f, "{}:{line}:{column}: {message}", path.display()),
            PopulationError::Format { path, found } => {
                write!(f, "{}: not a population file ({found})", path.display())
            }
            PopulationError::Invalid {
                path,
                location,
                value,
                expected,
            } => write!(
                f,
                "{}: {location}: '{value}' is not {expected}",
                path.display()
            ),
            PopulationError::Duplicate { path, key, value } => {
                write!(f, "{}: duplicate {key} '{value}'", path.display())
            }
        }
    }
}

impl std::error::Error for PopulationError {}
