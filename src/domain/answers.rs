//! The registries' answers about an application, remembered per question so that a clarified
//! application re-asks only the questions whose fields changed (and any answer grown old).
//!
//! An application raises five independent questions ([`Question`]). Each depends on some of the
//! application's fields, its *basis*: the fields sent in the request and the fields its answer is
//! checked against (a corrected child's name re-asks the children's registry even though the
//! request carries only the certificate). Answers are stored with the decision, keyed by question,
//! with their basis and time; [`crate::service::gather::gather`] reuses an answer whose basis is unchanged and which is
//! younger than [`MAX_AGE_MS`], and asks the rest in one parallel round.

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
    /// for all questions), as one comparable string.
    pub fn basis(self, app: &serde_json::Value) -> String {
        let parts: Vec<_> = self
            .fields()
            .into_iter()
            .map(|p| app.pointer(p).cloned().unwrap_or_default())
            .collect();
        serde_json::Value::Array(parts).to_string()
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

impl Answer {
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
