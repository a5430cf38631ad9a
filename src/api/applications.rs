//! Filing and reading applications, and the events feed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::problem::Problem;
use crate::api::{
    ApiState, Caller, RequestMeta, at, new_number, parse_input, sha256_hex, validate, view,
    with_request_id,
};
use crate::domain::identifiers::uuid_v4;
use crate::store::{NewApplication, Submitted, millis};

/// `POST /v1/applications`.
pub async fn submit(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-required",
                "Idempotency-Key required",
                "send an Idempotency-Key header (1 to 128 characters) so a retried submission is not filed twice",
            )
        })?
        .to_string();
    let input = validate(parse_input(&body)?, state.clock.as_ref())?;
    let backlog = state.store.backlog().await?;
    if backlog >= state.backlog_limit {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "backlog-full",
            "Too many applications waiting",
            format!("{backlog} applications are waiting to be processed; retry later, nothing was stored"),
        )
        .retry_after(5));
    }
    let new = NewApplication {
        id: uuid_v4(),
        number: new_number(state.clock.as_ref()),
        idempotency_key: format!("{}:{key}", caller.actor),
        request_hash: sha256_hex(&body),
        benefit: input.benefit.clone(),
        applicant_snils: input.applicant.snils.clone().unwrap_or_default(),
        child_snils: input.child.snils.clone(),
        input: serde_json::to_value(&input).unwrap_or_default(),
        actor: caller.actor.clone(),
        origin: meta.origin.clone(),
        request_id: meta.request_id.clone(),
        at: state.clock.now(),
    };
    let record = match state.store.submit(new).await? {
        Submitted::Created(r) | Submitted::Repeated(r) => r,
        Submitted::KeyConflict => {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was used with a different request body",
            ));
        }
    };
    let body = serde_json::json!({
        "id": record.id,
        "number": record.number,
        "status": record.status,
        "submitted_at": crate::clock::timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_millis(record.submitted_ms.max(0) as u64)),
    });
    let mut r = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/v1/applications/{}", record.id)) {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(with_request_id(r, &meta))
}

/// `GET /v1/applications/{id}` (id or number).
pub async fn application(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    match state.store.get(&id).await? {
        Some(r) => Ok(with_request_id(
            axum::Json(view(&r, millis(state.clock.now()))).into_response(),
            &meta,
        )),
        None => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such application",
            "no application has this id or number",
        )),
    }
}

/// `?after=&limit=` of the events feed.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// The cursor: events after this sequence number.
    #[serde(default)]
    pub after: i64,
    /// At most this many (1 to 1000, default 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /v1/events?after=CURSOR`: status changes in order; `next` is the cursor to pass next time.
pub async fn events(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    Query(q): Query<EventsQuery>,
) -> Result<Response, Problem> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let events = state.store.events_after(q.after, limit).await?;
    let next = events.last().map_or(q.after, |e| e.seq);
    let list: Vec<_> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "seq": e.seq,
                "application_id": e.application_id,
                "number": e.number,
                "kind": e.kind,
                "status": e.status,
                "at": at(e.at_ms),
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({"events": list, "next": next})).into_response())
}
