//! Ops endpoints on the API listener, for callers with the reviewer role (`api.reviewers`):
//! `POST /admin/reload` reloads every certificate whose files changed (as SIGHUP does) and
//! `GET /admin/certificates` shows what the running gateway serves.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::health::Ops;
use crate::api::problem::Problem;
use crate::api::{ApiState, Caller};

fn ops<'a>(state: &'a ApiState, caller: &Caller) -> Result<&'a Arc<Ops>, Problem> {
    caller.must_be_reviewer(
        "certificates are administered by callers with the reviewer role (api.reviewers)",
    )?;
    state.ops.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ops-unavailable",
            "Not available",
            "this gateway was started without live certificates",
        )
    })
}

/// `POST /admin/reload`: 200 with each role's outcome (`replaced`, `unchanged`), or 422
/// problem+json naming each refused role and why (the refused ones keep serving what they served).
pub async fn reload(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Response, Problem> {
    let ops = ops(&state, &caller)?;
    let outcomes = ops.certs.reload("admin").await;
    let refused: Vec<String> = outcomes
        .iter()
        .filter(|o| o.refused())
        .map(|o| o.reason.clone().unwrap_or_default())
        .collect();
    if refused.is_empty() {
        return Ok(axum::Json(serde_json::json!({ "outcomes": outcomes })).into_response());
    }
    let problem = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "certificate-refused",
        "Certificate refused",
        format!(
            "{}; the refused roles keep serving their current certificate",
            refused.join("; ")
        ),
    );
    // RFC 9457 extension member: every role's outcome beside the problem.
    let mut body = serde_json::to_value(&problem).unwrap_or_default();
    body["outcomes"] = serde_json::to_value(&outcomes).unwrap_or_default();
    let mut response = (StatusCode::UNPROCESSABLE_ENTITY, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    Ok(response)
}

/// `GET /admin/certificates`: what each role serves now.
pub async fn certificates(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Response, Problem> {
    let ops = ops(&state, &caller)?;
    Ok(axum::Json(serde_json::json!({ "certificates": ops.certs.serving() })).into_response())
}
