//! RFC 9457 problem details: every error the API answers is one of these, with `errors` listing field
//! failures by JSON pointer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::application::FieldError;

/// A problem+json answer.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened here.
    pub detail: String,
    /// Field failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait (429, 503).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `status` with `kind` (appended to `urn:reggate:problem:`), title and detail.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:reggate:problem:{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// With field errors.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Problem {
        self.errors = errors;
        self
    }

    /// With `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Problem {
        tracing::error!(error = %e, "store failure");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-unavailable",
            "Storage unavailable",
            "the application store could not be reached; nothing was changed, try again",
        )
        .retry_after(5)
    }
}

impl From<crate::service::ServiceError> for Problem {
    fn from(e: crate::service::ServiceError) -> Problem {
        use crate::service::ServiceError as E;
        match e {
            E::Store(e) => e.into(),
            E::Registries(f) => {
                tracing::warn!(registry = %f.registry, reason = %f, "registries could not answer");
                let wait = match f.kind {
                    crate::domain::ports::FailureKind::Outage => "try again later",
                    crate::domain::ports::FailureKind::Defect => {
                        "the gateway could not form a valid request or read the answer; it is logged"
                    }
                };
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "registries-unavailable",
                    "Registries unavailable",
                    format!("the {} registry could not be asked: {wait}", f.registry),
                )
                .retry_after(30)
            }
            e @ E::Damaged { .. } => {
                tracing::error!(error = %e, "stored application damaged");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the stored application could not be read; the failure is logged",
                )
            }
            E::Illegal(e) => Problem::new(
                StatusCode::CONFLICT,
                "illegal-transition",
                "Not possible in this state",
                e.to_string(),
            ),
            E::Changed => Problem::new(
                StatusCode::CONFLICT,
                "illegal-transition",
                "Not possible in this state",
                "the application changed meanwhile; read it and retry",
            ),
            E::Refused(reasons) => {
                let why: Vec<_> = reasons.into_iter().map(|r| r.message).collect();
                Problem::new(
                    StatusCode::CONFLICT,
                    "duplicate-benefit",
                    "The Ministry of Labour refused the assignment",
                    why.join("; "),
                )
            }
            E::DuplicateApproval => Problem::new(
                StatusCode::CONFLICT,
                "duplicate-benefit",
                "Duplicate benefit",
                "another application for this child and benefit is already approved",
            ),
        }
    }
}
