//! Typed registry messages: requests written with quick-xml's writer in the element order the
//! schemas require, and answers read from a validated envelope into types. This is the one way
//! reggate builds and reads registry messages, for all four registries. The pipeline validates every
//! request before it leaves, so a mistake here shows up as an `InvalidRequest`, never as a bad call.

use std::io;

use quick_xml::Writer;
use quick_xml::events::BytesText;

use crate::contract::{Node, Operation, ReadError};

const CMN: (&str, &str) = ("xmlns:cmn", "urn://reggate/common/types/1.0.0");

/// A person's identity as the registries match it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Family name.
    pub last_name: String,
    /// Given name.
    pub first_name: String,
    /// Patronymic, if any.
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `Male` or `Female`.
    pub gender: Gender,
}

/// A person's gender: the one type for the cabinet's input (`male`/`female` in JSON), the registries'
/// `cmn:GenderType` (`Male`/`Female` in XML) and the mock population (whose older exports spell it
/// `Male`/`Female`, still read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Gender {
    /// `Male`.
    #[serde(rename = "male", alias = "Male")]
    Male,
    /// `Female`.
    #[serde(rename = "female", alias = "Female")]
    Female,
}

impl Gender {
    /// As `cmn:GenderType` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "Male",
            Gender::Female => "Female",
        }
    }
}

/// A Russian passport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passport {
    /// 4 digits.
    pub series: String,
    /// 6 digits.
    pub number: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// Issuing authority.
    pub issuer: String,
    /// `NNN-NNN`.
    pub issuer_code: String,
}

/// An assignment to register with the Ministry of Labour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAssignment {
    /// The application number (the idempotency key).
    pub application_number: String,
    /// Benefit code (`unified_allowance`, …).
    pub benefit_code: String,
    /// The child's SNILS.
    pub child_snils: String,
    /// The recipient's SNILS.
    pub recipient_snils: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, if bounded.
    pub to: Option<String>,
    /// Monthly amount, roubles with 2 decimals.
    pub amount: String,
    /// Region code (2 digits).
    pub region_code: String,
    /// Decision date, `YYYY-MM-DD`.
    pub decision_date: String,
    /// Recipient's phone, if known.
    pub phone: Option<String>,
    /// Recipient's e-mail, if known.
    pub email: Option<String>,
}

/// Request metadata: a message id (UUID) and the time of sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Version-4 UUID.
    pub message_id: String,
    /// `xs:dateTime` with a zone.
    pub timestamp: String,
}

/// A request to one of the seven operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// SNILS registry: does this SNILS belong to this person?
    VerifySnils {
        /// The SNILS (11 digits).
        snils: String,
        /// Who claims it.
        person: Identity,
    },
    /// INN registry: the INN of the person holding this passport.
    FindInn {
        /// The person.
        person: Identity,
        /// Their passport.
        passport: Passport,
    },
    /// INN registry: does this INN belong to this person?
    VerifyInn {
        /// The INN (12 digits).
        inn: String,
        /// Who claims it.
        person: Identity,
    },
    /// Children's registry: the birth record of a certificate.
    FindBirthRecord {
        /// Certificate series (`IV-АБ`).
        series: String,
        /// Certificate number (6 digits).
        number: String,
    },
    /// Ministry of Labour: family statuses of a person.
    GetFamilyStatus {
        /// The person's SNILS.
        snils: String,
        /// The date the statuses are wanted for.
        on_date: Option<String>,
    },
    /// Ministry of Labour: a child's active benefit assignments.
    GetActiveAssignments {
        /// The child's SNILS.
        child_snils: String,
    },
    /// Ministry of Labour: register an assignment (idempotent by application number).
    RegisterAssignment(NewAssignment),
}

impl Request {
    /// The operation it calls.
    pub fn operation(&self) -> Operation {
        match self {
            Request::VerifySnils { .. } => Operation::VerifySnils,
            Request::FindInn { .. } => Operation::FindInn,
            Request::VerifyInn { .. } => Operation::VerifyInn,
            Request::FindBirthRecord { .. } => Operation::FindBirthRecord,
            Request::GetFamilyStatus { .. } => Operation::GetFamilyStatus,
            Request::GetActiveAssignments { .. } => Operation::GetActiveAssignments,
            Request::RegisterAssignment(_) => Operation::RegisterAssignment,
        }
    }

    /// The request element as XML (its namespaces declared on it).
    pub fn to_xml(&self, meta: &Metadata) -> String {
        let mut w = Writer::new(Vec::with_capacity(1024));
        // Writing into a Vec cannot fail.
        let _ = self.write(&mut w, meta);
        String::from_utf8(w.into_inner()).unwrap_or_default()
    }

    fn write(&self, w: &mut Writer<Vec<u8>>, meta: &Metadata) -> io::Result<()> {
        let op = self.operation();
        let prefix = match op.registry() {
            crate::contract::Registry::Snils => "snils",
            crate::contract::Registry::Inn => "inn",
            crate::contract::Registry::Children => "chld",
            crate::contract::Registry::Labour => "lab",
        };
        let p = |local: &str| format!("{prefix}:{local}");
        let root = p(&op.request_element());
        let xmlns = format!("xmlns:{prefix}");
        let mut element = w
            .create_element(root.as_str())
            .with_attribute((xmlns.as_str(), op.registry().namespace()))
            .with_attribute(CMN);
        if let Request::RegisterAssignment(a) = self {
            element = element.with_attribute(("applicationNumber", a.application_number.as_str()));
        }
        element.write_inner_content(|w| {
            w.create_element(p("Metadata").as_str())
                .write_inner_content(|w| {
                    leaf(w, "cmn:MessageId", &meta.message_id)?;
                    leaf(w, "cmn:Timestamp", &meta.timestamp)
                })?;
            match self {
                Request::VerifySnils { snils, person } => {
                    leaf(w, &p("Snils"), snils)?;
                    identity(w, &p("Person"), person)
                }
                Request::FindInn { person, passport } => {
                    identity(w, &p("Person"), person)?;
                    w.create_element(p("Passport").as_str())
                        .write_inner_content(|w| passport_fields(w, passport))?;
                    Ok(())
                }
                Request::VerifyInn { inn, person } => {
                    leaf(w, &p("Inn"), inn)?;
                    identity(w, &p("Person"), person)
                }
                Request::FindBirthRecord { series, number } => {
                    w.create_element(p("Certificate").as_str())
                        .write_inner_content(|w| {
                            leaf(w, &p("Series"), series)?;
                            leaf(w, &p("Number"), number)
                        })?;
                    Ok(())
                }
                Request::GetFamilyStatus { snils, on_date } => {
                    leaf(w, &p("Snils"), snils)?;
                    if let Some(d) = on_date {
                        leaf(w, &p("OnDate"), d)?;
                    }
                    Ok(())
                }
                Request::GetActiveAssignments { child_snils } => {
                    leaf(w, &p("ChildSnils"), child_snils)
                }
                Request::RegisterAssignment(a) => {
                    leaf(w, &p("BenefitCode"), &a.benefit_code)?;
                    leaf(w, &p("ChildSnils"), &a.child_snils)?;
                    leaf(w, &p("RecipientSnils"), &a.recipient_snils)?;
                    w.create_element(p("Period").as_str())
                        .write_inner_content(|w| {
                            leaf(w, "cmn:From", &a.from)?;
                            if let Some(to) = &a.to {
                                leaf(w, "cmn:To", to)?;
                            }
                            Ok(())
                        })?;
                    leaf(w, &p("Amount"), &a.amount)?;
                    leaf(w, &p("RegionCode"), &a.region_code)?;
                    leaf(w, &p("DecisionDate"), &a.decision_date)?;
                    w.create_element(p("RecipientContacts").as_str())
                        .write_inner_content(|w| {
                            if let Some(phone) = &a.phone {
                                leaf(w, "cmn:Phone", phone)?;
                            }
                            if let Some(email) = &a.email {
                                leaf(w, "cmn:Email", email)?;
                            }
                            Ok(())
                        })?;
                    Ok(())
                }
            }
        })?;
        Ok(())
    }
}

fn leaf(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn identity(w: &mut Writer<Vec<u8>>, element: &str, person: &Identity) -> io::Result<()> {
    w.create_element(element).write_inner_content(|w| {
        leaf(w, "cmn:LastName", &person.last_name)?;
        leaf(w, "cmn:FirstName", &person.first_name)?;
        if let Some(m) = &person.middle_name {
            leaf(w, "cmn:MiddleName", m)?;
        }
        leaf(w, "cmn:BirthDate", &person.birth_date)?;
        leaf(w, "cmn:Gender", person.gender.as_str())
    })?;
    Ok(())
}

fn passport_fields(w: &mut Writer<Vec<u8>>, p: &Passport) -> io::Result<()> {
    leaf(w, "cmn:Series", &p.series)?;
    leaf(w, "cmn:Number", &p.number)?;
    leaf(w, "cmn:IssueDate", &p.issue_date)?;
    leaf(w, "cmn:Issuer", &p.issuer)?;
    leaf(w, "cmn:IssuerCode", &p.issuer_code)
}

// ------------------------------------------------------------------------------------------------
// Answers

/// A verification's verdict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Everything matches.
    Match,
    /// Found, but these fields (schema names: `LastName`, `BirthDate`, …) differ.
    NoMatch(Vec<String>),
    /// No such SNILS / INN.
    NotFound,
}

/// A person on a birth record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordPerson {
    /// Family name.
    pub last_name: String,
    /// Given name.
    pub first_name: String,
    /// Patronymic.
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// SNILS, when the record has one.
    pub snils: Option<String>,
    /// `mother` / `father` for a parent; none for the child.
    pub role: Option<String>,
}

/// A birth record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BirthRecord {
    /// Record status (`active`, …).
    pub status: String,
    /// The child.
    pub child: RecordPerson,
    /// The parents on the record.
    pub parents: Vec<RecordPerson>,
}

/// One family status.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FamilyStatus {
    /// `LargeFamily`, `ChildDisability` or `LowIncome`.
    pub kind: String,
    /// Whether it is active.
    pub active: bool,
    /// First day.
    pub valid_from: String,
    /// Last day, if bounded.
    pub valid_to: Option<String>,
    /// Children it covers (large family: all; disability: the child).
    pub child_snils: Vec<String>,
    /// Low income: income per household member.
    pub income_per_person: Option<String>,
    /// Low income: the regional subsistence minimum it was compared with.
    pub regional_minimum: Option<String>,
}

/// An active benefit assignment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assignment {
    /// Registry id.
    pub assignment_id: String,
    /// Benefit code.
    pub benefit_code: String,
    /// The child's SNILS.
    pub child_snils: String,
    /// The recipient's SNILS.
    pub recipient_snils: String,
    /// First day.
    pub from: String,
    /// Last day, if bounded.
    pub to: Option<String>,
}

/// A clash reported by RegisterAssignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// `OVERLAPPING_PERIOD`, `ONE_RECIPIENT_PER_CHILD`, `APPLICATION_NUMBER_REUSED`.
    pub reason: String,
    /// The existing assignment.
    pub assignment: Assignment,
}

/// What RegisterAssignment answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Registered (`fresh`) or already registered under this application number.
    Registered {
        /// The assignment's id.
        assignment_id: String,
        /// False for a repeat of an earlier registration.
        fresh: bool,
    },
    /// Refused: a duplicate benefit.
    Conflict(Vec<Conflict>),
    /// Refused for another reason.
    Error {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

/// A typed answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// VerifySnils, VerifyInn.
    Verification(Verdict),
    /// FindInn: the INN, or none.
    Inn(Option<String>),
    /// FindBirthRecord: the record, or none.
    BirthRecord(Option<BirthRecord>),
    /// GetFamilyStatus: the statuses, or none for an unknown person.
    FamilyStatuses(Option<Vec<FamilyStatus>>),
    /// GetActiveAssignments.
    Assignments(Vec<Assignment>),
    /// RegisterAssignment.
    Registration(Registration),
}

impl Reply {
    /// Which kind of answer this is, for messages that must not carry its (personal) contents.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Verification(_) => "verification",
            Reply::Inn(_) => "INN",
            Reply::BirthRecord(_) => "birth record",
            Reply::FamilyStatuses(_) => "family statuses",
            Reply::Assignments(_) => "assignments",
            Reply::Registration(_) => "registration",
        }
    }
}

fn missing(what: &str) -> ReadError {
    ReadError {
        message: format!("answer lacks {what}"),
    }
}

fn text(node: &Node, name: &str) -> Result<String, ReadError> {
    node.text_of(name)
        .map(str::to_string)
        .ok_or_else(|| missing(name))
}

fn verdict(result: &Node) -> Result<Verdict, ReadError> {
    match result.text_of("Code") {
        Some("MATCH") => Ok(Verdict::Match),
        Some("NOT_FOUND") => Ok(Verdict::NotFound),
        Some("NO_MATCH") => Ok(Verdict::NoMatch(
            result
                .child("Details")
                .map(|d| {
                    d.children_named("Mismatch")
                        .map(|m| m.text.clone())
                        .collect()
                })
                .unwrap_or_default(),
        )),
        other => Err(ReadError {
            message: format!("unknown verification code {other:?}"),
        }),
    }
}

fn record_person(node: &Node) -> Result<RecordPerson, ReadError> {
    Ok(RecordPerson {
        last_name: text(node, "LastName")?,
        first_name: text(node, "FirstName")?,
        middle_name: node.text_of("MiddleName").map(str::to_string),
        birth_date: text(node, "BirthDate")?,
        snils: node.text_of("Snils").map(str::to_string),
        role: node.attribute("role").map(str::to_string),
    })
}

fn assignment(node: &Node, id: Option<&str>) -> Result<Assignment, ReadError> {
    let period = node.child("Period").ok_or_else(|| missing("Period"))?;
    Ok(Assignment {
        assignment_id: id
            .map(str::to_string)
            .or_else(|| node.text_of("AssignmentId").map(str::to_string))
            .ok_or_else(|| missing("AssignmentId"))?,
        benefit_code: text(node, "BenefitCode")?,
        child_snils: node.text_of("ChildSnils").unwrap_or("").to_string(),
        recipient_snils: text(node, "RecipientSnils")?,
        from: text(period, "From")?,
        to: period.text_of("To").map(str::to_string),
    })
}

impl Reply {
    /// Read the answer of `operation` from its payload root (schema-valid: only structure is checked).
    pub fn read(operation: Operation, root: &Node) -> Result<Reply, ReadError> {
        match operation {
            Operation::VerifySnils | Operation::VerifyInn => {
                let result = root.child("Result").ok_or_else(|| missing("Result"))?;
                Ok(Reply::Verification(verdict(result)?))
            }
            Operation::FindInn => Ok(Reply::Inn(
                root.child("Found")
                    .and_then(|f| f.text_of("Inn"))
                    .map(str::to_string),
            )),
            Operation::FindBirthRecord => {
                let Some(record) = root.child("BirthRecord") else {
                    return Ok(Reply::BirthRecord(None));
                };
                let child = record.child("Child").ok_or_else(|| missing("Child"))?;
                Ok(Reply::BirthRecord(Some(BirthRecord {
                    status: record.attribute("status").unwrap_or("").to_string(),
                    child: record_person(child)?,
                    parents: record
                        .children_named("Parent")
                        .map(record_person)
                        .collect::<Result<_, _>>()?,
                })))
            }
            Operation::GetFamilyStatus => {
                let Some(list) = root.child("Statuses") else {
                    return Ok(Reply::FamilyStatuses(None));
                };
                let statuses = list
                    .children
                    .iter()
                    .map(|s| {
                        Ok(FamilyStatus {
                            kind: s.name.clone(),
                            active: s.attribute("status") == Some("active"),
                            valid_from: text(s, "ValidFrom")?,
                            valid_to: s.text_of("ValidTo").map(str::to_string),
                            child_snils: s
                                .children_named("ChildSnils")
                                .map(|c| c.text.clone())
                                .collect(),
                            income_per_person: s.text_of("IncomePerPerson").map(str::to_string),
                            regional_minimum: s.text_of("RegionalMinimum").map(str::to_string),
                        })
                    })
                    .collect::<Result<_, ReadError>>()?;
                Ok(Reply::FamilyStatuses(Some(statuses)))
            }
            Operation::GetActiveAssignments => {
                let list = root
                    .child("Assignments")
                    .ok_or_else(|| missing("Assignments"))?;
                let items = list
                    .children_named("Assignment")
                    .map(|a| assignment(a, a.attribute("assignmentId")))
                    .collect::<Result<_, _>>()?;
                Ok(Reply::Assignments(items))
            }
            Operation::RegisterAssignment => {
                if let Some(e) = root.child("Error") {
                    return Ok(Reply::Registration(Registration::Error {
                        code: e.text_of("Code").unwrap_or("").to_string(),
                        message: e.text_of("Message").unwrap_or("").to_string(),
                    }));
                }
                let result = root.child("Result").ok_or_else(|| missing("Result"))?;
                let registration = match result.text_of("Code") {
                    Some(code @ ("REGISTERED" | "ALREADY_REGISTERED")) => {
                        Registration::Registered {
                            assignment_id: text(result, "AssignmentId")?,
                            fresh: code == "REGISTERED",
                        }
                    }
                    Some("CONFLICT") => Registration::Conflict(
                        result
                            .children_named("Conflict")
                            .map(|c| {
                                Ok(Conflict {
                                    reason: c.attribute("reason").unwrap_or("").to_string(),
                                    assignment: assignment(c, None)?,
                                })
                            })
                            .collect::<Result<_, ReadError>>()?,
                    ),
                    other => {
                        return Err(ReadError {
                            message: format!("unknown registration code {other:?}"),
                        });
                    }
                };
                Ok(Reply::Registration(registration))
            }
        }
    }
}
