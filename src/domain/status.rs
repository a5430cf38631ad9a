//! The application state machine of ARCHITECTURE.md: which transitions exist, who may make them, and the
//! 30-day rules (appeal window, overdue reviews). Every transition becomes a journal entry; an illegal
//! one is refused with both states named.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Days an applicant has to appeal a rejection, and a review may take before it is overdue.
pub const THIRTY_DAYS: i64 = 30 * 86_400;

/// Where an application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted, waiting for a worker (and its documents).
    Submitted,
    /// Registry checks under way.
    InReview,
    /// Granted.
    Approved,
    /// Refused (appealable for 30 days).
    Rejected,
    /// Waiting for the applicant to correct fields.
    NeedsClarification,
    /// An appeal under review.
    AppealReview,
    /// The registry checks could not be finished by waiting (our own request breaks the schema, a
    /// registry keeps answering wrongly): a reviewer decides.
    ManualReview,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::InReview,
        Status::Approved,
        Status::Rejected,
        Status::NeedsClarification,
        Status::AppealReview,
        Status::ManualReview,
    ];

    /// Its name in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::InReview => "in_review",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::NeedsClarification => "needs_clarification",
            Status::AppealReview => "appeal_review",
            Status::ManualReview => "manual_review",
        }
    }

    /// The status of a name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether a review is running (the state the overdue rule watches).
    pub fn under_review(self) -> bool {
        matches!(
            self,
            Status::InReview | Status::AppealReview | Status::ManualReview
        )
    }

    /// Whether nothing more happens without an appeal.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A worker starts the registry checks.
    StartReview,
    /// The checks (or a reviewer) grant it.
    Approve,
    /// The checks (or a reviewer) refuse it.
    Reject,
    /// Fields need correcting.
    RequestClarification,
    /// The applicant sent the corrections.
    Clarify,
    /// The applicant appeals a rejection.
    Appeal,
    /// The checks cannot be finished by waiting: a reviewer takes over.
    Escalate,
}

/// A transition that does not exist, or comes too late.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IllegalTransition {
    /// The state it was in.
    pub from: Status,
    /// What was tried.
    pub event: Event,
    /// Why not.
    pub reason: &'static str,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {:?} an application that is {}: {}",
            self.event, self.from, self.reason
        )
    }
}

impl std::error::Error for IllegalTransition {}

/// The state after `event` in state `from`. `seconds_since_rejection` is how long ago the
/// application was rejected (for an appeal).
pub fn transition(
    from: Status,
    event: Event,
    seconds_since_rejection: Option<i64>,
) -> Result<Status, IllegalTransition> {
    use Event as E;
    use Status as S;
    let illegal = |reason| IllegalTransition {
        from,
        event,
        reason,
    };
    match (from, event) {
        (S::Submitted, E::StartReview) => Ok(S::InReview),
        (S::InReview | S::AppealReview | S::ManualReview, E::Approve) => Ok(S::Approved),
        (S::InReview | S::AppealReview | S::ManualReview, E::Reject) => Ok(S::Rejected),
        (S::InReview, E::RequestClarification) => Ok(S::NeedsClarification),
        (S::InReview, E::Escalate) => Ok(S::ManualReview),
        (S::NeedsClarification, E::Clarify) => Ok(S::InReview),
        (S::Rejected, E::Appeal) => match seconds_since_rejection {
            Some(s) if (0..=THIRTY_DAYS).contains(&s) => Ok(S::AppealReview),
            _ => Err(illegal("the 30-day appeal window is over")),
        },
        _ => Err(illegal("no such transition")),
    }
}

/// Whether an application in `status` since `seconds_in_status` ago is overdue.
pub fn is_overdue(status: Status, seconds_in_status: i64) -> bool {
    status.under_review() && seconds_in_status > THIRTY_DAYS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legal_paths_work_and_everything_else_is_refused() {
        use Event as E;
        use Status as S;
        let legal = [
            (S::Submitted, E::StartReview, S::InReview),
            (S::InReview, E::Approve, S::Approved),
            (S::InReview, E::Reject, S::Rejected),
            (S::InReview, E::RequestClarification, S::NeedsClarification),
            (S::NeedsClarification, E::Clarify, S::InReview),
            (S::Rejected, E::Appeal, S::AppealReview),
            (S::AppealReview, E::Approve, S::Approved),
            (S::AppealReview, E::Reject, S::Rejected),
            (S::InReview, E::Escalate, S::ManualReview),
            (S::ManualReview, E::Approve, S::Approved),
            (S::ManualReview, E::Reject, S::Rejected),
        ];
        let events = [
            E::StartReview,
            E::Approve,
            E::Reject,
            E::RequestClarification,
            E::Clarify,
            E::Appeal,
            E::Escalate,
        ];
        for from in Status::ALL {
            for event in events {
                let got = transition(from, event, Some(86_400));
                match legal.iter().find(|(f, e, _)| *f == from && *e == event) {
                    Some((_, _, to)) => assert_eq!(got, Ok(*to), "{from} {event:?}"),
                    None => {
                        let err = got.expect_err("illegal");
                        assert!(err.to_string().contains(from.as_str()), "{err}");
                    }
                }
            }
        }
    }

    #[test]
    fn appeals_close_after_thirty_days_and_reviews_go_overdue() {
        assert!(transition(Status::Rejected, Event::Appeal, Some(THIRTY_DAYS)).is_ok());
        let late = transition(Status::Rejected, Event::Appeal, Some(THIRTY_DAYS + 1));
        assert!(late.expect_err("late").to_string().contains("30-day"));
        assert!(!is_overdue(Status::InReview, THIRTY_DAYS));
        assert!(is_overdue(Status::InReview, THIRTY_DAYS + 1));
        assert!(is_overdue(Status::AppealReview, THIRTY_DAYS + 1));
        assert!(!is_overdue(Status::NeedsClarification, THIRTY_DAYS * 3));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
