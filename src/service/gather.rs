//! One round of registry questions about an application: the answers still good are reused
//! ([`Answers::stale`] decides which), the rest are asked in parallel through the domain's port, and
//! the facts the rules need come out, or the failure that stopped the round.

use crate::domain::answers::{Answers, Question, Remembered};
use crate::domain::eligibility::Facts;
use crate::domain::ports::{CheckFailure, FailureKind, RegistryChecks};
use crate::domain::valid::ValidApplication;

/// What one round of questions gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Gathered {
    /// The facts (own approvals left empty).
    pub facts: Facts,
    /// Every answer, the new ones and those reused: what to store with the decision.
    pub answers: Answers,
    /// The questions that went to the registries this time.
    pub asked: Vec<Question>,
}

/// The facts about `app`: `known` answers reused where still good, the rest asked in parallel.
pub async fn gather(
    checks: &dyn RegistryChecks,
    request_id: &str,
    app: &ValidApplication,
    known: Answers,
    now_ms: i64,
) -> Result<Gathered, CheckFailure> {
    let json = app.to_json();
    let asked = known.stale(&json, now_ms);
    let mut answers = known;
    if !asked.is_empty() {
        let (applicant, child) = (&app.applicant().snils, &app.child().snils);
        for answer in checks.ask(request_id, app, &asked).await? {
            let q = answer.question();
            if asked.contains(&q) {
                let basis = q.basis(&json);
                // The rules read the minimised answer too: what is kept decides the same way.
                let answer = answer.minimised(applicant.as_str(), child.as_str());
                answers.0.insert(
                    q,
                    Remembered {
                        basis,
                        at_ms: now_ms,
                        answer,
                    },
                );
            }
        }
    }
    let facts = answers.facts().ok_or_else(|| {
        let missing: Vec<_> = answers.stale(&json, now_ms);
        CheckFailure {
            registry: "reggate".into(),
            kind: FailureKind::Defect,
            reason: format!("the registries left {missing:?} unanswered"),
            retry_after: None,
        }
    })?;
    Ok(Gathered {
        facts,
        answers,
        asked,
    })
}
