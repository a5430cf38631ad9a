//! The eligibility dry run.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::api::problem::Problem;
use crate::api::{ApiState, Caller, RequestMeta, parse_input, validate};
use crate::domain::eligibility::Decision;

/// `POST /v1/eligibility`: the registry checks and the decision, stored nowhere (the exchanges are
/// in the message log).
pub async fn eligibility(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let input = validate(parse_input(&headers, &body)?, state.clock.as_ref())?;
    let decision = state.workflows.assess(&input, &meta.request_id).await?;
    let (outcome, reasons) = match decision {
        Decision::Approved => ("eligible", Vec::new()),
        Decision::Rejected(r) => ("not_eligible", r),
        Decision::NeedsClarification(r) => ("needs_clarification", r),
    };
    let body = serde_json::json!({
        "eligible": outcome == "eligible",
        "outcome": outcome,
        "reasons": reasons,
    });
    Ok(axum::Json(body).into_response())
}
