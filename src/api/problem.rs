//! RFC 9457 problem details: every error the API answers is one of these, with `errors` listing field
//! failures by JSON pointer.
//!
//! Client errors say in full what is wrong; internal ones (the store, a registry, a panic) are
//! logged with the request id (the request's span carries it) and answered with a generic detail,
//! since their text may name hosts, SQL or personal data. The router's fallbacks and
//! [`bare_errors`] make the answers axum produces itself (404, 405, 413) problems as well.

use std::any::Any;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
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
                match f.kind {
                    crate::domain::ports::FailureKind::Outage => Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "registries-unavailable",
                        "Registries unavailable",
                        format!(
                            "the {} registry could not be asked; nothing was decided, try again",
                            f.registry
                        ),
                    )
                    .retry_after(30),
                    // Retrying soon will not help: no Retry-After.
                    _ => Problem::new(
                        StatusCode::BAD_GATEWAY,
                        "registry-exchange-failed",
                        "Registry exchange failed",
                        format!(
                            "the exchange with the {} registry failed in a way retrying will not cure soon; it is logged",
                            f.registry
                        ),
                    ),
                }
            }
            e @ E::Damaged { .. } => internal("stored application damaged", &e),
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

/// A 500 for a failure inside reggate: `error` is logged under `what`, the caller learns only that
/// it failed and the request id to quote.
pub fn internal(what: &str, error: &dyn std::fmt::Display) -> Problem {
    tracing::error!(error = %error, "{what}");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "the request could not be completed; quote the x-request-id when reporting it",
    )
}

/// The router's fallback: no route has this path.
pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-such-path",
        "No such path",
        "no resource has this path; see /openapi.json",
    )
}

/// The router's fallback for a path that exists without this method (axum adds `Allow`).
pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this path does not answer this method; the Allow header lists those it does",
    )
}

/// The answer to a handler that panicked (tower-http's `CatchPanicLayer`): the panic's text stays
/// in the log.
pub fn for_panic(_: Box<dyn Any + Send + 'static>) -> Response {
    internal("handler panicked", &"see the panic message logged before").into_response()
}

/// The 413 for a JSON body beyond [`crate::api::MAX_BODY`], declared or found while reading.
pub fn body_too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "Request body too large",
        format!(
            "a request body may be at most {} bytes",
            crate::api::MAX_BODY
        ),
    )
}

/// Marks an error response whose body is the document's own (`/readyz`'s 503 with its checks), so
/// [`bare_errors`] leaves it alone.
#[derive(Clone, Copy, Debug)]
pub struct Documented;

/// Any error response not already problem+json (axum's own rejections: a body over the limit, an
/// unreadable path segment) becomes one of its status; the plain text is dropped, it may quote
/// what the caller sent.
pub async fn bare_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let documented = response.extensions().get::<Documented>().is_some();
    if !(status.is_client_error() || status.is_server_error()) || is_problem || documented {
        return response;
    }
    let problem = if status == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large()
    } else {
        let title = status.canonical_reason().unwrap_or("Error");
        let kind = title.to_ascii_lowercase().replace(' ', "-");
        Problem::new(status, &kind, title, title)
    };
    let mut r = problem.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            r.headers_mut().insert(name, v.clone());
        }
    }
    r
}
