//! The registries' answers about an application, remembered per question so that a clarified
//! application re-asks only the questions whose fields changed (and any answer grown old).
//!
//! An application raises five independent questions ([`Question`]). Each depends on some of the
//! application's fields, its *basis*: the fields sent in the request and the fields its answer is
//! checked against (a corrected child's name re-asks the children's registry even though the
//! request carries only the certificate). Answers are stored with the decision, keyed by question,
//! with their basis and time; [`crate::service::gather::gather`] reuses an answer whose basis is unchanged and which is
//! younger than [`MAX_AGE_MS`], and asks the rest in one parallel round.
//!
//! Only what the rules read is kept ([`Answer::minimised`]): a registry answers about third parties
//! too (the other parent on a birth record, a family's other children, another recipient of a
//! benefit), and none of that is needed to decide or to reuse an answer. The basis is kept as a
//! digest of the fields' values, not the values. Once an application is final and its appeal window
//! closed, the store purges its answers altogether ([`crate::store::Store::purge_answers`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::eligibility::Facts;
use crate::registries::messages::{Assignment, BirthRecord, FamilyStatus, Verdict};

/// Remembered answers older than this are asked again (a week: statuses and assignments move).
pub const MAX_AGE_MS: i64 = 7 * 86_400_000;

/// One independent registry question about an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    /// SNILS registry: is this SNILS this applicant?
    ApplicantSnils,
    /// INN registry: is this INN this applicant?
    ApplicantInn,
    /// Children's registry: the record of the child's birth certificate.
    BirthRecord,
    /// Ministry of Labour: the applicant's family statuses.
    FamilyStatuses,
    /// Ministry of Labour: the child's active assignments.
    ChildAssignments,
}

/// The applicant's identity as the SNILS and INN registries check it.
const IDENTITY: [&str; 5] = [
    "/applicant/last_name",
    "/applicant/first_name",
    "/applicant/middle_name",
    "/applicant/birth_date",
    "/applicant/gender",
];

impl Question {
    /// Every question, in the order they are asked.
    pub const ALL: [Question; 5] = [
        Question::ApplicantSnils,
        Question::ApplicantInn,
        Question::BirthRecord,
        Question::FamilyStatuses,
        Question::ChildAssignments,
    ];

    /// The fields (JSON pointers) the question depends on.
    pub fn fields(self) -> Vec<&'static str> {
        match self {
            Question::ApplicantSnils => [&["/applicant/snils"][..], &IDENTITY].concat(),
            Question::ApplicantInn => [&["/applicant/inn"][..], &IDENTITY].concat(),
            // The record is compared with the child and with the applicant as a parent.
            Question::BirthRecord => [
                &["/child", "/applicant/snils"][..],
                &IDENTITY[..4], // a parent's gender is the role on the record, not compared
            ]
            .concat(),
            Question::FamilyStatuses => vec!["/applicant/snils"],
            Question::ChildAssignments => vec!["/child/snils"],
        }
    }

    /// The values of its fields in `app` (the application as JSON, serialized once by the caller
    /// for all questions), as one comparable digest (SHA-256, hex): what changed shows, the values
    /// are not stored a second time.
    pub fn basis(self, app: &serde_json::Value) -> String {
        let parts: Vec<_> = self
            .fields()
            .into_iter()
            .map(|p| app.pointer(p).cloned().unwrap_or_default())
            .collect();
        crate::ids::sha256_hex(serde_json::Value::Array(parts).to_string().as_bytes())
    }
}

/// A registry's answer to one question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// To [`Question::ApplicantSnils`].
    ApplicantSnils(Verdict),
    /// To [`Question::ApplicantInn`].
    ApplicantInn(Verdict),
    /// To [`Question::BirthRecord`] (none: no such certificate).
    BirthRecord(Option<BirthRecord>),
    /// To [`Question::FamilyStatuses`] (none: unknown person).
    FamilyStatuses(Option<Vec<FamilyStatus>>),
    /// To [`Question::ChildAssignments`].
    ChildAssignments(Vec<Assignment>),
}

/// What stands in for a third party's SNILS in a kept answer: never a valid SNILS, so it never
/// equals the applicant's or the child's.
pub const SOMEONE_ELSE: &str = "***";

impl Answer {
    /// The answer as kept: what the rules read about the applicant (`applicant_snils`) and the child
    /// (`child_snils`), nothing about anyone else, and the same decision as the whole answer.
    /// - a birth record keeps the child and, of the parents, only the applicant (by SNILS, with
    ///   the role; names and birth date are the application's own): the rules ask whether the
    ///   applicant is a parent and compare the child;
    /// - family statuses keep the child's SNILS and count the other children without theirs;
    /// - assignments keep the recipient's SNILS only when it is the applicant's.
    pub fn minimised(self, applicant_snils: &str, child_snils: &str) -> Answer {
        let other = |snils: String, keep: &str| {
            if snils == keep {
                snils
            } else {
                SOMEONE_ELSE.to_string()
            }
        };
        match self {
            Answer::BirthRecord(Some(mut record)) => {
                record
                    .parents
                    .retain(|p| p.snils.as_deref() == Some(applicant_snils));
                for p in &mut record.parents {
                    p.last_name.clear();
                    p.first_name.clear();
                    p.middle_name = None;
                    p.birth_date.clear();
                }
                Answer::BirthRecord(Some(record))
            }
            Answer::FamilyStatuses(Some(statuses)) => Answer::FamilyStatuses(Some(
                statuses
                    .into_iter()
                    .map(|mut s| {
                        s.child_snils = s
                            .child_snils
                            .into_iter()
                            .map(|c| other(c, child_snils))
                            .collect();
                        s
                    })
                    .collect(),
            )),
            Answer::ChildAssignments(assignments) => Answer::ChildAssignments(
                assignments
                    .into_iter()
                    .map(|mut a| {
                        a.recipient_snils = other(a.recipient_snils, applicant_snils);
                        a.child_snils = other(a.child_snils, child_snils);
                        a
                    })
                    .collect(),
            ),
            whole => whole,
        }
    }

    /// The question it answers.
    pub fn question(&self) -> Question {
        match self {
            Answer::ApplicantSnils(_) => Question::ApplicantSnils,
            Answer::ApplicantInn(_) => Question::ApplicantInn,
            Answer::BirthRecord(_) => Question::BirthRecord,
            Answer::FamilyStatuses(_) => Question::FamilyStatuses,
            Answer::ChildAssignments(_) => Question::ChildAssignments,
        }
    }
}

/// An answer with what it was asked on and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// [`Question::basis`] when it was asked.
    pub basis: String,
    /// When, milliseconds since the epoch.
    pub at_ms: i64,
    /// The answer.
    pub answer: Answer,
}

/// The answers about one application (stored with its decision).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers(pub BTreeMap<Question, Remembered>);

impl Answers {
    /// The questions to ask for `app` at `now_ms`: those never answered, answered on other field
    /// values, or answered too long ago.
    pub fn stale(&self, app: &serde_json::Value, now_ms: i64) -> Vec<Question> {
        Question::ALL
            .into_iter()
            .filter(|q| {
                self.0
                    .get(q)
                    .is_none_or(|r| r.basis != q.basis(app) || now_ms - r.at_ms > MAX_AGE_MS)
            })
            .collect()
    }

    /// The facts, when every question has an answer (own approvals left empty).
    pub fn facts(&self) -> Option<Facts> {
        let get = |q| self.0.get(&q).map(|r| &r.answer);
        let (
            Some(Answer::ApplicantSnils(applicant_snils)),
            Some(Answer::ApplicantInn(applicant_inn)),
            Some(Answer::BirthRecord(birth_record)),
            Some(Answer::FamilyStatuses(statuses)),
            Some(Answer::ChildAssignments(assignments)),
        ) = (
            get(Question::ApplicantSnils),
            get(Question::ApplicantInn),
            get(Question::BirthRecord),
            get(Question::FamilyStatuses),
            get(Question::ChildAssignments),
        )
        else {
            return None;
        };
        Some(Facts {
            applicant_snils: applicant_snils.clone(),
            applicant_inn: applicant_inn.clone(),
            birth_record: birth_record.clone(),
            statuses: statuses.clone(),
            assignments: assignments.clone(),
            own_approved: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;

    #[test]
    fn a_changed_field_makes_exactly_the_questions_on_it_stale() {
        let app: crate::domain::application::ApplicationInput =
            serde_json::from_value(fixtures::valid()).expect("the fixture is an application");
        let json = |a: &crate::domain::application::ApplicationInput| {
            serde_json::to_value(a).expect("json")
        };
        let mut answers = Answers::default();
        for q in Question::ALL {
            let answer = match q {
                Question::ApplicantSnils => Answer::ApplicantSnils(Verdict::Match),
                Question::ApplicantInn => Answer::ApplicantInn(Verdict::Match),
                Question::BirthRecord => Answer::BirthRecord(None),
                Question::FamilyStatuses => Answer::FamilyStatuses(Some(Vec::new())),
                Question::ChildAssignments => Answer::ChildAssignments(Vec::new()),
            };
            answers.0.insert(
                q,
                Remembered {
                    basis: q.basis(&json(&app)),
                    at_ms: 0,
                    answer,
                },
            );
        }
        assert!(answers.stale(&json(&app), 1000).is_empty());
        assert!(answers.facts().is_some());

        let mut child_name = app.clone();
        child_name.child.first_name = "Аглая".into();
        assert_eq!(
            answers.stale(&json(&child_name), 1000),
            [Question::BirthRecord]
        );

        let mut inn = app.clone();
        inn.applicant.inn = Some("500100732259".into());
        assert_eq!(answers.stale(&json(&inn), 1000), [Question::ApplicantInn]);

        let mut surname = app.clone();
        surname.applicant.last_name = "Петрова".into();
        assert_eq!(
            answers.stale(&json(&surname), 1000),
            [
                Question::ApplicantSnils,
                Question::ApplicantInn,
                Question::BirthRecord
            ]
        );

        let mut phone = app.clone();
        phone.applicant.phone = "+79990000000".into();
        assert!(
            answers.stale(&json(&phone), 1000).is_empty(),
            "a phone is no registry's business"
        );

        assert_eq!(answers.stale(&json(&app), MAX_AGE_MS + 1), Question::ALL);
    }

    #[test]
    fn answers_survive_storage() {
        let mut answers = Answers::default();
        answers.0.insert(
            Question::ApplicantSnils,
            Remembered {
                basis: "[]".into(),
                at_ms: 5,
                answer: Answer::ApplicantSnils(Verdict::NoMatch(vec!["LastName".into()])),
            },
        );
        let json = serde_json::to_value(&answers).expect("serialize");
        assert_eq!(
            serde_json::from_value::<Answers>(json).expect("read"),
            answers
        );
    }
}
