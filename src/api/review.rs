//! After a decision: the applicant's clarification (corrected fields back to review), the appeal of a
//! rejection (within 30 days), and a reviewer's decision on an appeal or a manual review. Each is one
//! transition of the state machine, refused as 409 when the application is not in the state it needs.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::body;
use crate::api::problem::Problem;
use crate::api::{ApiState, Caller, RequestMeta, load_application, validate, view};
use crate::clock::millis;
use crate::domain::application::ApplicationInput;
use crate::domain::process::refusal;
use crate::domain::status::{Event, Status, transition};
use crate::store::{ApplicationRecord, Transition, Transitioned};

fn illegal(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "illegal-transition",
        "Not possible in this state",
        e.to_string(),
    )
}

fn bad_body(e: serde_json::Error) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed-json",
        "Malformed request body",
        e.to_string(),
    )
}

/// Write `t`; a concurrent change is 409.
async fn write(state: &ApiState, t: Transition) -> Result<Response, Problem> {
    match state.store.transition(t).await? {
        Transitioned::Done(r) => {
            Ok(axum::Json(view(&r, millis(state.clock.now()))).into_response())
        }
        Transitioned::Stale => Err(illegal(
            "the application changed meanwhile; read it and retry",
        )),
        Transitioned::DuplicateApproval => Err(Problem::new(
            StatusCode::CONFLICT,
            "duplicate-benefit",
            "Duplicate benefit",
            "another application for this child and benefit is already approved",
        )),
    }
}

/// A transition the caller asks for (no lease; the input and answers stay as stored).
fn by_caller(
    state: &ApiState,
    record: &ApplicationRecord,
    to: Status,
    caller: Caller,
    meta: &RequestMeta,
    reasons: serde_json::Value,
    comment: Option<String>,
) -> Transition {
    Transition {
        id: record.id.clone(),
        from: record.status,
        to,
        actor: caller.actor,
        origin: meta.origin.clone(),
        reasons,
        comment,
        request_id: meta.request_id.clone(),
        at: state.clock.now(),
        lease_holder: None,
        input: None,
        answers: None,
    }
}

/// JSON merge patch (RFC 7396): `patch` applied onto `target`.
fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The JSON pointers a patch touches (its leaves).
fn pointers(patch: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match patch {
        serde_json::Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                pointers(v, &format!("{prefix}/{k}"), out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// `POST /v1/applications/{id}/clarification`: a JSON merge patch of the corrected fields (and
/// documents) of a `needs_clarification` application; it goes back to review with the changed fields
/// journaled.
pub async fn clarification(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let record = load_application(&state, &id).await?;
    transition(record.status, Event::Clarify, None).map_err(illegal)?;
    let patch: serde_json::Value = body::json(&headers, &body)?;
    if !patch.is_object() || patch.as_object().is_some_and(|m| m.is_empty()) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "empty-clarification",
            "Nothing to clarify",
            "send a JSON object with the corrected fields (a JSON merge patch of the application)",
        ));
    }
    let mut input = record.input.clone();
    merge(&mut input, &patch);
    let corrected: ApplicationInput = body::from_value(input)?;
    let corrected = validate(corrected, state.clock.as_ref())?;
    let mut changed = Vec::new();
    pointers(&patch, "", &mut changed);
    let reasons: Vec<_> = changed
        .iter()
        .map(|p| serde_json::json!({"pointer": p, "code": "clarified", "message": "corrected by the applicant"}))
        .collect();
    let reasons = serde_json::Value::Array(reasons);
    let t = Transition {
        input: Some(serde_json::to_value(&corrected).unwrap_or_default()),
        ..by_caller(
            &state,
            &record,
            Status::InReview,
            caller,
            &meta,
            reasons,
            None,
        )
    };
    write(&state, t).await
}

/// The body of an appeal.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppealBody {
    /// Why the decision is wrong.
    arguments: String,
    /// Supporting documents (manifest entries).
    #[serde(default)]
    documents: Vec<crate::domain::application::Document>,
}

/// `POST /v1/applications/{id}/appeal`: within 30 days of the rejection.
pub async fn appeal(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let record = load_application(&state, &id).await?;
    let body: AppealBody = body::json(&headers, &body)?;
    if body.arguments.trim().is_empty() || body.arguments.chars().count() > 4000 {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "Invalid fields",
            "arguments are required, at most 4000 characters",
        )
        .with_errors(vec![crate::domain::application::FieldError {
            pointer: "/arguments".into(),
            code: "required".into(),
            message: "1 to 4000 characters".into(),
        }]));
    }
    let since = (millis(state.clock.now()) - record.status_since_ms) / 1000;
    transition(record.status, Event::Appeal, Some(since)).map_err(illegal)?;
    let documents: Vec<_> = body.documents.iter().map(|d| d.kind.clone()).collect();
    let reasons = serde_json::json!([{"code": "appeal", "documents": documents}]);
    let comment = Some(body.arguments);
    let t = by_caller(
        &state,
        &record,
        Status::AppealReview,
        caller,
        &meta,
        reasons,
        comment,
    );
    write(&state, t).await
}

/// The body of a reviewer's decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// `approved` or `rejected`.
    decision: String,
    /// Why.
    comment: String,
}

/// `POST /v1/applications/{id}/decision`: a reviewer decides an appeal or a manual review; an
/// approval registers the assignment with the Ministry of Labour first.
pub async fn decision(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    meta: RequestMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    if !caller.reviewer {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "reviewers-only",
            "Reviewers only",
            "this caller may not decide applications",
        ));
    }
    let body: DecisionBody = body::json(&headers, &body)?;
    let (event, to) = match body.decision.as_str() {
        "approved" => (Event::Approve, Status::Approved),
        "rejected" => (Event::Reject, Status::Rejected),
        _ => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-fields",
                "Invalid fields",
                "decision must be approved or rejected",
            ));
        }
    };
    if body.comment.trim().is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "Invalid fields",
            "a comment is required with a reviewer's decision",
        ));
    }
    let record = load_application(&state, &id).await?;
    transition(record.status, event, None).map_err(illegal)?;
    if to == Status::Approved {
        let input: ApplicationInput =
            serde_json::from_value(record.input.clone()).map_err(bad_body)?;
        let today = crate::domain::calendar::today(state.clock.now());
        let new = crate::domain::process::assignment_for(&record, &input, today);
        match state.checks.register(&meta.request_id, &new).await {
            Ok(registration) => {
                if let Some(reasons) = refusal(&registration) {
                    let why: Vec<_> = reasons.into_iter().map(|r| r.message).collect();
                    return Err(Problem::new(
                        StatusCode::CONFLICT,
                        "duplicate-benefit",
                        "The Ministry of Labour refused the assignment",
                        why.join("; "),
                    ));
                }
            }
            Err(e) => {
                return Err(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "registries-unavailable",
                    "Registries unavailable",
                    e.0,
                )
                .retry_after(30));
            }
        }
    }
    let reasons = serde_json::json!([{"code": "reviewer_decision"}]);
    let t = by_caller(
        &state,
        &record,
        to,
        caller,
        &meta,
        reasons,
        Some(body.comment),
    );
    write(&state, t).await
}
