//! The eligibility dry run.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::problem::Problem;
use crate::api::{ApiState, Caller, RequestMeta, parse_input, validate};
use crate::domain::answers::{Answers, gather};
use crate::domain::calendar::today;
use crate::domain::eligibility::{Decision, decide};
use crate::domain::process::own_approvals;

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
    let now = crate::clock::millis(state.clock.now());
    let gathered = gather(
        state.checks.as_ref(),
        &meta.request_id,
        &input,
        Answers::default(),
        now,
    )
    .await
    .map_err(|e| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "registries-unavailable",
            "Registries unavailable",
            format!("a registry could not be asked: {}", e.0),
        )
        .retry_after(30)
    })?;
    let mut facts = gathered.facts;
    facts.own_approved = own_approvals(state.store.as_ref(), &input, None).await?;
    let decision = decide(&input, &facts, today(state.clock.now()));
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
