//! Registry payloads and SOAP envelopes as XML text: the mock registries answer with these, and the
//! tests build requests with them. Every payload validates against `schemas/` (asserted by the
//! population tests and the mock server tests), so the renderers are the one place that knows the
//! element order the schemas require.

use std::fmt::Write as _;

use crate::contract::Reason;
use crate::contract::fault::COMMON_NS;
use crate::registries::messages::{self, Metadata, Request};

use crate::mock::population::{
    AssignmentView, BirthRecordView, ConflictReason, ConflictView, DocumentView, ParentRole,
    PeriodView, PersonView, REFERENCE_DATE, StatusState, StatusView,
};

/// The namespace declarations every payload root carries.
pub const NS: &str = r#"xmlns:cmn="urn://reggate/common/types/1.0.0" xmlns:snils="urn://reggate/registry/snils/1.0.0" xmlns:inn="urn://reggate/registry/inn/1.0.0" xmlns:chld="urn://reggate/registry/children/1.0.0" xmlns:lab="urn://reggate/registry/labour/1.0.0""#;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The metadata of sample requests. They are written by the gateway's own writers
/// ([`crate::registries::messages`]), so tests send exactly what the gateway would.
fn request_meta() -> Metadata {
    Metadata {
        message_id: "6d66ff25-9479-4344-9fe2-6498aee5dfcd".to_string(),
        timestamp: "2026-07-01T10:00:00+03:00".to_string(),
    }
}

/// The children of `cmn:RequestMetadataType` for [`request_meta`], for the requests written here.
fn request_meta_xml() -> String {
    let m = request_meta();
    let mut s = String::new();
    el(&mut s, "cmn:MessageId", &m.message_id);
    el(&mut s, "cmn:Timestamp", &m.timestamp);
    s
}

/// A person's identity as the registries' requests carry it.
pub fn identity(v: &PersonView) -> messages::Identity {
    messages::Identity {
        last_name: v.last_name.clone(),
        first_name: v.first_name.clone(),
        middle_name: v.middle_name.clone(),
        birth_date: v.birth_date.clone(),
        gender: v.gender,
    }
}

/// Response metadata children (`cmn:ResponseMetadataType`) used when no request is being answered.
pub const RESP_META: &str = "<cmn:MessageId>50ce7afc-6ad0-4862-8e74-b3bdb43368db</cmn:MessageId><cmn:ReplyTo>6d66ff25-9479-4344-9fe2-6498aee5dfcd</cmn:ReplyTo><cmn:Timestamp>2026-07-01T10:00:00+03:00</cmn:Timestamp>";

/// Response metadata children for a reply: its own id, the request's id, and when.
pub fn response_meta(message_id: &str, reply_to: &str, timestamp: &str) -> String {
    let mut s = String::with_capacity(200);
    el(&mut s, "cmn:MessageId", message_id);
    el(&mut s, "cmn:ReplyTo", reply_to);
    el(&mut s, "cmn:Timestamp", timestamp);
    s
}

/// Escape text for element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn el(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", esc(value));
}

fn names(out: &mut String, last: &str, first: &str, middle: Option<&str>) {
    el(out, "cmn:LastName", last);
    el(out, "cmn:FirstName", first);
    if let Some(m) = middle {
        el(out, "cmn:MiddleName", m);
    }
}

fn person_identity(out: &mut String, v: &PersonView) {
    names(out, &v.last_name, &v.first_name, v.middle_name.as_deref());
    el(out, "cmn:BirthDate", &v.birth_date);
    el(out, "cmn:Gender", v.gender.as_str());
}

fn period(out: &mut String, p: &PeriodView) {
    el(out, "cmn:From", &p.from);
    if let Some(t) = &p.to {
        el(out, "cmn:To", t);
    }
}

fn document(out: &mut String, d: &DocumentView) {
    el(out, "cmn:Kind", &d.kind);
    el(out, "cmn:Number", &d.number);
    el(out, "cmn:IssueDate", &d.issue_date);
    el(out, "cmn:Issuer", &d.issuer);
}

/// Wrap a payload in a SOAP 1.1 envelope.
pub fn envelope(payload: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body>{payload}</soap:Body></soap:Envelope>"#
    )
}

/// A SOAP 1.1 fault envelope for `reason`: the standard `faultcode` of its class (`soap:Client`,
/// `soap:Server`; no dot notation, WS-I BP R1031), `message` as `faultstring`, and the `detail` that
/// SOAP 1.1 §4.4 requires for a fault about the Body and every registry WSDL declares: a
/// `cmn:RegistryFault` with the reason's code, the message and `retryable` when a retry may help.
/// No fault of the mocks is about a SOAP header block, so every one carries it.
pub fn fault(reason: Reason, message: &str) -> String {
    let mut s = format!(r#"<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body><soap:Fault>"#);
    el(&mut s, "faultcode", reason.class().qname());
    el(&mut s, "faultstring", message);
    let _ = write!(
        s,
        r#"<detail><cmn:RegistryFault xmlns:cmn="{COMMON_NS}"{}>"#,
        if reason.retryable() {
            r#" retryable="true""#
        } else {
            ""
        }
    );
    el(&mut s, "cmn:Code", reason.code());
    el(&mut s, "cmn:Message", &message_text(message, reason));
    s.push_str("</cmn:RegistryFault></detail></soap:Fault></soap:Body></soap:Envelope>");
    s
}

/// `message` as `cmn:MessageTextType` takes it: 1 to 1000 characters (the code when empty).
fn message_text(message: &str, reason: Reason) -> String {
    const MAX: usize = 1000;
    let message = message.trim();
    if message.is_empty() {
        return reason.code().to_string();
    }
    if message.chars().nth(MAX).is_none() {
        return message.to_string();
    }
    let cut = message
        .char_indices()
        .nth(MAX - 1)
        .map_or(message.len(), |(i, _)| i);
    format!("{}…", &message[..cut])
}

/// A `NotFound` element (`cmn:NotFoundType`) saying when the registry looked.
fn not_found(out: &mut String, prefix: &str, checked_at: &str) {
    let _ = write!(
        out,
        r#"<{prefix}:NotFound checkedAt="{}"/>"#,
        esc(checked_at)
    );
}

/// `cmn:VerificationResultType` content: the code and, for `NO_MATCH`, the mismatching fields.
fn verification(out: &mut String, code: &str, mismatches: &[&str]) {
    el(out, "cmn:Code", code);
    if !mismatches.is_empty() {
        out.push_str("<cmn:Details>");
        for m in mismatches.iter().take(5) {
            el(out, "cmn:Mismatch", m);
        }
        out.push_str("</cmn:Details>");
    }
}

/// A `VerifySnilsRequest` for a person.
pub fn snils_request(v: &PersonView) -> String {
    Request::VerifySnils {
        snils: v.snils.clone(),
        person: identity(v),
    }
    .to_xml(&request_meta())
}

/// A `VerifySnilsResponse` saying MATCH for a person.
pub fn snils_response(v: &PersonView) -> String {
    snils_response_with(RESP_META, "MATCH", &[], Some(v))
}

/// A `VerifySnilsResponse` with a code (`MATCH`, `NO_MATCH`, `NOT_FOUND`) and mismatching fields;
/// `found` adds the account's status and registration date.
pub fn snils_response_with(
    meta: &str,
    code: &str,
    mismatches: &[&str],
    found: Option<&PersonView>,
) -> String {
    let mut s = format!(
        "<snils:VerifySnilsResponse {NS}><snils:Metadata>{meta}</snils:Metadata><snils:Result>"
    );
    verification(&mut s, code, mismatches);
    if let Some(v) = found {
        s.push_str("<snils:SnilsStatus>ACTIVE</snils:SnilsStatus>");
        el(&mut s, "snils:RegistrationDate", &v.snils_registration_date);
    }
    s.push_str("</snils:Result></snils:VerifySnilsResponse>");
    s
}

/// A `FindInnRequest` for an adult (by passport).
pub fn inn_request(v: &PersonView) -> String {
    let p = v.passport.as_ref();
    let field = |f: fn(&crate::mock::population::PassportView) -> &String| {
        p.map(|p| f(p).clone()).unwrap_or_default()
    };
    Request::FindInn {
        person: identity(v),
        passport: messages::Passport {
            series: field(|p| &p.series),
            number: field(|p| &p.number),
            issue_date: field(|p| &p.issue_date),
            issuer: field(|p| &p.issuer),
            issuer_code: field(|p| &p.issuer_code),
        },
    }
    .to_xml(&request_meta())
}

/// The children of a `cmn:PassportType` for an adult's passport.
fn passport(out: &mut String, v: &PersonView) {
    if let Some(p) = &v.passport {
        el(out, "cmn:Series", &p.series);
        el(out, "cmn:Number", &p.number);
        el(out, "cmn:IssueDate", &p.issue_date);
        el(out, "cmn:Issuer", &p.issuer);
        el(out, "cmn:IssuerCode", &p.issuer_code);
    }
}

/// A `FindInnResponse` with the person's INN.
pub fn inn_response(v: &PersonView) -> String {
    inn_response_with(RESP_META, Some(v), "")
}

/// A `FindInnResponse`: `Found` for a person with an INN, `NotFound` (checked at `checked_at`,
/// `cmn:DateTimeType`) otherwise.
pub fn inn_response_with(meta: &str, found: Option<&PersonView>, checked_at: &str) -> String {
    let mut s = format!("<inn:FindInnResponse {NS}><inn:Metadata>{meta}</inn:Metadata>");
    match found.and_then(|v| Some((v.inn.as_deref()?, v))) {
        Some((inn, v)) => {
            s.push_str("<inn:Found>");
            el(&mut s, "inn:Inn", inn);
            el(
                &mut s,
                "inn:TaxAuthorityCode",
                v.inn_tax_authority_code.as_deref().unwrap_or(""),
            );
            el(
                &mut s,
                "inn:RegistrationDate",
                v.inn_registration_date.as_deref().unwrap_or(""),
            );
            s.push_str("</inn:Found>");
        }
        None => not_found(&mut s, "inn", checked_at),
    }
    s.push_str("</inn:FindInnResponse>");
    s
}

/// A `VerifyInnRequest` for an adult.
pub fn verify_inn_request(v: &PersonView) -> String {
    Request::VerifyInn {
        inn: v.inn.clone().unwrap_or_default(),
        person: identity(v),
    }
    .to_xml(&request_meta())
}

/// A `VerifyInnResponse` with a code and mismatching fields.
pub fn verify_inn_response(meta: &str, code: &str, mismatches: &[&str]) -> String {
    let mut s =
        format!("<inn:VerifyInnResponse {NS}><inn:Metadata>{meta}</inn:Metadata><inn:Result>");
    verification(&mut s, code, mismatches);
    s.push_str("</inn:Result></inn:VerifyInnResponse>");
    s
}

/// A `FindBirthRecordRequest` by certificate series and number.
pub fn birth_record_request(series: &str, number: &str) -> String {
    Request::FindBirthRecord {
        series: series.to_string(),
        number: number.to_string(),
    }
    .to_xml(&request_meta())
}

/// A `FindBirthRecordResponse` carrying a record.
pub fn birth_record_response(r: &BirthRecordView) -> String {
    birth_record_response_with(RESP_META, Some(r), "")
}

/// A `FindBirthRecordResponse`: the record, or `NotFound` checked at `checked_at`.
pub fn birth_record_response_with(
    meta: &str,
    record: Option<&BirthRecordView>,
    checked_at: &str,
) -> String {
    let mut s = format!("<chld:FindBirthRecordResponse {NS}><chld:Metadata>{meta}</chld:Metadata>");
    let Some(r) = record else {
        not_found(&mut s, "chld", checked_at);
        s.push_str("</chld:FindBirthRecordResponse>");
        return s;
    };
    let _ = write!(
        s,
        "<chld:BirthRecord status=\"{}\"><chld:ActRecord>",
        esc(&r.status)
    );
    el(&mut s, "chld:Number", &r.act_record.number);
    el(&mut s, "chld:Date", &r.act_record.date);
    s.push_str("</chld:ActRecord><chld:Certificate>");
    el(&mut s, "cmn:Series", &r.certificate.series);
    el(&mut s, "cmn:Number", &r.certificate.number);
    el(&mut s, "cmn:IssueDate", &r.certificate.issue_date);
    el(&mut s, "cmn:Issuer", &r.certificate.issuer);
    s.push_str("</chld:Certificate><chld:Child>");
    names(
        &mut s,
        &r.child.last_name,
        &r.child.first_name,
        r.child.middle_name.as_deref(),
    );
    el(&mut s, "cmn:BirthDate", &r.child.birth_date);
    el(&mut s, "cmn:Gender", r.child.gender.as_str());
    el(&mut s, "chld:Snils", &r.child.snils);
    s.push_str("</chld:Child><chld:BirthPlace>");
    el(&mut s, "chld:Country", &r.birth_place.country);
    el(&mut s, "chld:RegionCode", &r.birth_place.region_code);
    if let Some(region) = &r.birth_place.region {
        el(&mut s, "chld:Region", region);
    }
    el(&mut s, "chld:Locality", &r.birth_place.locality);
    s.push_str("</chld:BirthPlace>");
    for p in &r.parents {
        let role = match p.role {
            ParentRole::Mother => "mother",
            ParentRole::Father => "father",
        };
        let _ = write!(s, "<chld:Parent role=\"{role}\">");
        names(
            &mut s,
            &p.last_name,
            &p.first_name,
            p.middle_name.as_deref(),
        );
        el(&mut s, "chld:BirthDate", &p.birth_date);
        el(&mut s, "chld:Snils", &p.snils);
        el(&mut s, "chld:Citizenship", &p.citizenship);
        s.push_str("</chld:Parent>");
    }
    s.push_str("<chld:RegistryOffice>");
    el(&mut s, "chld:Code", &r.registry_office.code);
    el(&mut s, "chld:Name", &r.registry_office.name);
    s.push_str("</chld:RegistryOffice></chld:BirthRecord></chld:FindBirthRecordResponse>");
    s
}

/// A `GetFamilyStatusRequest` by SNILS (with the address when the person has one).
pub fn family_status_request(v: &PersonView) -> String {
    let mut s = format!(
        "<lab:GetFamilyStatusRequest {NS}><lab:Metadata>{}</lab:Metadata>",
        request_meta_xml()
    );
    el(&mut s, "lab:Snils", &v.snils);
    if let Some(a) = &v.registration_address {
        s.push_str("<lab:RegistrationAddress kind=\"registration\">");
        el(&mut s, "cmn:PostalCode", &a.postal_code);
        el(&mut s, "cmn:RegionCode", &a.region_code);
        el(&mut s, "cmn:Region", &a.region);
        el(&mut s, "cmn:Locality", &a.locality);
        if let Some(st) = &a.street {
            el(&mut s, "cmn:Street", st);
        }
        el(&mut s, "cmn:House", &a.house);
        if let Some(ap) = &a.apartment {
            el(&mut s, "cmn:Apartment", ap);
        }
        s.push_str("</lab:RegistrationAddress>");
    }
    el(&mut s, "lab:OnDate", REFERENCE_DATE);
    s.push_str("</lab:GetFamilyStatusRequest>");
    s
}

/// A `GetFamilyStatusRequest` by identity and passport instead of SNILS.
pub fn family_status_request_by_passport(v: &PersonView) -> String {
    let mut s = format!(
        "<lab:GetFamilyStatusRequest {NS}><lab:Metadata>{}</lab:Metadata><lab:Person>",
        request_meta_xml()
    );
    person_identity(&mut s, v);
    s.push_str("</lab:Person><lab:IdentityDocument><cmn:Passport>");
    passport(&mut s, v);
    s.push_str("</cmn:Passport></lab:IdentityDocument></lab:GetFamilyStatusRequest>");
    s
}

/// A `GetFamilyStatusResponse` listing statuses.
pub fn family_status_response(statuses: &[StatusView]) -> String {
    family_status_response_with(RESP_META, Some(statuses), "")
}

/// A `GetFamilyStatusResponse`: the statuses, or `NotFound` for an unknown person, checked at
/// `checked_at`.
pub fn family_status_response_with(
    meta: &str,
    statuses: Option<&[StatusView]>,
    checked_at: &str,
) -> String {
    let mut s = format!("<lab:GetFamilyStatusResponse {NS}><lab:Metadata>{meta}</lab:Metadata>");
    let Some(statuses) = statuses else {
        not_found(&mut s, "lab", checked_at);
        s.push_str("</lab:GetFamilyStatusResponse>");
        return s;
    };
    let _ = write!(s, "<lab:Statuses asOf=\"{REFERENCE_DATE}\">");
    let state = |st: &StatusState| match st {
        StatusState::Active => "active",
        StatusState::Expired => "expired",
    };
    for st in statuses {
        match st {
            StatusView::LargeFamily {
                status,
                valid_from,
                valid_to,
                children_count,
                region_code,
                certificate,
                child_snils,
            } => {
                let _ = write!(s, "<lab:LargeFamily status=\"{}\">", state(status));
                el(&mut s, "lab:ValidFrom", valid_from);
                el(&mut s, "lab:ValidTo", valid_to);
                el(&mut s, "lab:ChildrenCount", &children_count.to_string());
                el(&mut s, "lab:RegionCode", region_code);
                s.push_str("<lab:Certificate>");
                document(&mut s, certificate);
                s.push_str("</lab:Certificate>");
                for c in child_snils {
                    el(&mut s, "lab:ChildSnils", c);
                }
                s.push_str("</lab:LargeFamily>");
            }
            StatusView::ChildDisability {
                status,
                valid_from,
                valid_to,
                child_snils,
                group,
                basis,
            } => {
                let _ = write!(s, "<lab:ChildDisability status=\"{}\">", state(status));
                el(&mut s, "lab:ValidFrom", valid_from);
                if let Some(t) = valid_to {
                    el(&mut s, "lab:ValidTo", t);
                }
                el(&mut s, "lab:ChildSnils", child_snils);
                let g = serde_json::to_value(group).unwrap_or_default();
                el(&mut s, "lab:Group", g.as_str().unwrap_or(""));
                s.push_str("<lab:Basis>");
                document(&mut s, basis);
                s.push_str("</lab:Basis></lab:ChildDisability>");
            }
            StatusView::LowIncome {
                status,
                valid_from,
                valid_to,
                income_per_person,
                regional_minimum,
                region_code,
                household_size,
                calculation_period,
            } => {
                let _ = write!(s, "<lab:LowIncome status=\"{}\">", state(status));
                el(&mut s, "lab:ValidFrom", valid_from);
                el(&mut s, "lab:ValidTo", valid_to);
                el(&mut s, "lab:IncomePerPerson", income_per_person);
                el(&mut s, "lab:RegionalMinimum", regional_minimum);
                el(&mut s, "lab:RegionCode", region_code);
                el(&mut s, "lab:HouseholdSize", &household_size.to_string());
                s.push_str("<lab:CalculationPeriod>");
                period(&mut s, calculation_period);
                s.push_str("</lab:CalculationPeriod></lab:LowIncome>");
            }
        }
    }
    s.push_str("</lab:Statuses></lab:GetFamilyStatusResponse>");
    s
}

/// A `GetActiveAssignmentsRequest` for a child.
pub fn assignments_request(child_snils: &str) -> String {
    Request::GetActiveAssignments {
        child_snils: child_snils.to_string(),
    }
    .to_xml(&request_meta())
}

/// A `GetActiveAssignmentsResponse` listing assignments.
pub fn assignments_response(list: &[AssignmentView]) -> String {
    assignments_response_with(RESP_META, list)
}

/// A `GetActiveAssignmentsResponse` with the given metadata.
pub fn assignments_response_with(meta: &str, list: &[AssignmentView]) -> String {
    let mut s = format!(
        "<lab:GetActiveAssignmentsResponse {NS}><lab:Metadata>{meta}</lab:Metadata><lab:Assignments total=\"{}\">",
        list.len()
    );
    for a in list {
        let _ = write!(
            s,
            "<lab:Assignment assignmentId=\"{}\">",
            esc(&a.assignment_id)
        );
        el(&mut s, "lab:BenefitCode", a.benefit_code.code());
        el(&mut s, "lab:ChildSnils", &a.child_snils);
        el(&mut s, "lab:RecipientSnils", &a.recipient_snils);
        s.push_str("<lab:Period>");
        period(&mut s, &a.period);
        s.push_str("</lab:Period>");
        let _ = write!(
            s,
            "<lab:Amount currency=\"RUB\">{}</lab:Amount>",
            esc(&a.amount)
        );
        el(&mut s, "lab:RegionCode", &a.region_code);
        s.push_str("</lab:Assignment>");
    }
    s.push_str("</lab:Assignments></lab:GetActiveAssignmentsResponse>");
    s
}

/// A `RegisterAssignmentRequest` repeating an assignment (same application number and content).
pub fn register_request(a: &AssignmentView, recipient: &PersonView) -> String {
    Request::RegisterAssignment(messages::NewAssignment {
        application_number: a.application_number.clone(),
        benefit_code: a.benefit_code.code().to_string(),
        child_snils: a.child_snils.clone(),
        recipient_snils: a.recipient_snils.clone(),
        from: a.period.from.clone(),
        to: a.period.to.clone(),
        amount: a.amount.clone(),
        region_code: a.region_code.clone(),
        decision_date: a.period.from.clone(),
        phone: recipient.phone.clone(),
        email: recipient.email.clone(),
    })
    .to_xml(&request_meta())
}

/// What a `RegisterAssignmentResponse` reports.
#[derive(Clone, Debug)]
pub enum Registration<'a> {
    /// `REGISTERED` or `ALREADY_REGISTERED` (`fresh` tells which), with the assignment.
    Done {
        /// Newly registered rather than a repeat.
        fresh: bool,
        /// The assignment.
        assignment: &'a AssignmentView,
        /// When it was registered (`cmn:DateTimeType`).
        at: &'a str,
    },
    /// `CONFLICT` with the clashing assignments.
    Conflict(&'a [ConflictView]),
    /// An `Error` element: code and message.
    Error {
        /// `[A-Z][A-Z0-9_]{2,63}`.
        code: &'a str,
        /// Human-readable.
        message: &'a str,
    },
}

/// A `RegisterAssignmentResponse`.
pub fn register_response(meta: &str, application_number: &str, r: &Registration<'_>) -> String {
    let mut s = format!("<lab:RegisterAssignmentResponse {NS}><lab:Metadata>{meta}</lab:Metadata>");
    let open = |s: &mut String| {
        let _ = write!(
            s,
            "<lab:Result applicationNumber=\"{}\">",
            esc(application_number)
        );
    };
    match r {
        Registration::Done {
            fresh,
            assignment,
            at,
        } => {
            open(&mut s);
            let code = if *fresh {
                "REGISTERED"
            } else {
                "ALREADY_REGISTERED"
            };
            el(&mut s, "lab:Code", code);
            el(&mut s, "lab:AssignmentId", &assignment.assignment_id);
            el(&mut s, "lab:RegisteredAt", at);
            s.push_str("</lab:Result>");
        }
        Registration::Conflict(conflicts) => {
            open(&mut s);
            el(&mut s, "lab:Code", "CONFLICT");
            for c in conflicts.iter().take(100) {
                let reason = match c.reason {
                    ConflictReason::OverlappingPeriod => "OVERLAPPING_PERIOD",
                    ConflictReason::OneRecipientPerChild => "ONE_RECIPIENT_PER_CHILD",
                    ConflictReason::ApplicationNumberReused => "APPLICATION_NUMBER_REUSED",
                };
                let _ = write!(s, "<lab:Conflict reason=\"{reason}\">");
                el(&mut s, "lab:AssignmentId", &c.existing.assignment_id);
                el(&mut s, "lab:BenefitCode", c.existing.benefit_code.code());
                el(&mut s, "lab:RecipientSnils", &c.existing.recipient_snils);
                s.push_str("<lab:Period>");
                period(&mut s, &c.existing.period);
                s.push_str("</lab:Period>");
                el(
                    &mut s,
                    "lab:ApplicationNumber",
                    &c.existing.application_number,
                );
                s.push_str("</lab:Conflict>");
            }
            s.push_str("</lab:Result>");
        }
        Registration::Error { code, message } => {
            s.push_str("<lab:Error>");
            el(&mut s, "cmn:Code", code);
            el(&mut s, "cmn:Message", message);
            s.push_str("</lab:Error>");
        }
    }
    s.push_str("</lab:RegisterAssignmentResponse>");
    s
}
