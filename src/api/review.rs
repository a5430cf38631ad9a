//! After a decision: the applicant's clarification (corrected fields back to review), the appeal of a
//! rejection (within 30 days), and a reviewer's decision on an appeal or a manual review. Each is one
//! transition of the state machine, refused as 409 when the application is not in the state it needs.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::body::Path;
use crate::api::problem::Problem;
use crate::api::{ApiState, Caller, RequestMeta, body, load_application, validate, view};
use crate::clock::millis;
use crate::domain::application::{ApplicationInput, FieldError, MAX_DOCUMENTS};
use crate::domain::status::{Event, transition};
use crate::service::{Actor, ServiceError, Verdict};
use crate::store::{ApplicationRecord, Transition};

/// The caller as the journal records it.
fn actor(caller: Caller, meta: &RequestMeta) -> Actor {
    Actor {
        actor: caller.actor,
        origin: meta.origin.clone(),
        request_id: meta.request_id.clone(),
    }
}

/// The application as the API shows it, after a change.
fn answer(state: &ApiState, r: &ApplicationRecord) -> Response {
    axum::Json(view(r, millis(state.clock.now()))).into_response()
}

/// The entries whose bytes the application now waits for (none when the gateway does not wait for
/// documents).
fn awaited(state: &ApiState, names: Vec<String>) -> Vec<String> {
    if state.documents.wait_for_documents {
        names
    } else {
        Vec::new()
    }
}

/// Manifest names of `after` whose entry is new or differs from `before` (their bytes are awaited).
fn new_documents(before: &ApplicationInput, after: &ApplicationInput) -> Vec<String> {
    after
        .manifest_names()
        .into_iter()
        .filter(|name| before.manifest_entry(name) != after.manifest_entry(name))
        .collect()
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
    let to = transition(record.status, Event::Clarify, None).map_err(ServiceError::Illegal)?;
    let patch = body::json_value(&headers, &body)?;
    if !patch.is_object() || patch.as_object().is_some_and(|m| m.is_empty()) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "empty-clarification",
            "Nothing to clarify",
            "send a JSON object with the corrected fields (a JSON merge patch of the application)",
        ));
    }
    let before = crate::service::application_of(&record)?;
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
    let t = Transition {
        input: Some(corrected.to_json()),
        documents_added: awaited(&state, new_documents(before.input(), corrected.input())),
        manifest: Some(corrected.manifest_names()),
        ..state.workflows.by_caller(
            &record,
            to,
            actor(caller, &meta),
            serde_json::Value::Array(reasons),
        )
    };
    let r = state.workflows.write(t).await?;
    Ok(answer(&state, &r))
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
    let to =
        transition(record.status, Event::Appeal, Some(since)).map_err(ServiceError::Illegal)?;
    // The appeal's documents join the manifest, so their bytes can be uploaded like the others'.
    let mut errors = Vec::new();
    let before = crate::service::application_of(&record)?;
    // Appeals add to the manifest: the whole manifest stays within the bound.
    if before.documents.len() + body.documents.len() > MAX_DOCUMENTS {
        errors.push(FieldError {
            pointer: "/documents".into(),
            code: "too_many".into(),
            message: format!("at most {MAX_DOCUMENTS} documents in the whole manifest"),
        });
    }
    for (i, d) in body.documents.iter().enumerate() {
        errors.extend(d.errors(&format!("/documents/{i}")));
    }
    if !errors.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "Invalid fields",
            format!("{} field(s) break the input rules", errors.len()),
        )
        .with_errors(errors));
    }
    let mut with_documents = before.input().clone();
    with_documents
        .documents
        .extend(body.documents.iter().cloned().map(|mut d| {
            d.sha256 = d.sha256.to_ascii_lowercase();
            d
        }));
    let added = new_documents(before.input(), &with_documents);
    let reasons = serde_json::json!([{"code": "appeal", "documents": added}]);
    let t = Transition {
        comment: Some(body.arguments),
        input: Some(serde_json::to_value(&with_documents).unwrap_or_default()),
        manifest: Some(with_documents.manifest_names()),
        documents_added: awaited(&state, added),
        ..state
            .workflows
            .by_caller(&record, to, actor(caller, &meta), reasons)
    };
    let r = state.workflows.write(t).await?;
    Ok(answer(&state, &r))
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
    caller.must_be_reviewer("this caller may not decide applications")?;
    let body: DecisionBody = body::json(&headers, &body)?;
    let verdict = match body.decision.as_str() {
        "approved" => Verdict::Approve,
        "rejected" => Verdict::Reject,
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
    let r = state
        .workflows
        .review(&record, verdict, body.comment, actor(caller, &meta))
        .await?;
    Ok(answer(&state, &r))
}
