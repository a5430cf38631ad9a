//! Filing and reading applications, and the events feed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::body::{Path, Query, invalid_parameter};
use crate::api::problem::Problem;
use crate::api::{
    ApiState, Caller, RequestMeta, at, load_application, new_number, parse_input, validate, view,
};
use crate::clock::millis;
use crate::domain::status::{Status, is_overdue};
use crate::ids::uuid_v4;
use crate::store::{Cursor, ListFilter, NewApplication, Submitted, Summary};

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
    let input = validate(parse_input(&headers, &body)?, state.clock.as_ref())?;
    let new = NewApplication {
        id: uuid_v4(),
        number: new_number(state.clock.as_ref()),
        idempotency_key: format!("{}:{key}", caller.actor),
        request_hash: crate::ids::sha256_hex(&body),
        benefit: input.benefit().code().to_string(),
        applicant_snils: input.applicant().snils.as_str().to_string(),
        child_snils: input.child().snils.as_str().to_string(),
        input: input.to_json(),
        actor: caller.actor.clone(),
        origin: meta.origin.clone(),
        request_id: meta.request_id.clone(),
        at: state.clock.now(),
        documents: if state.documents.wait_for_documents {
            input.manifest_names()
        } else {
            Vec::new()
        },
    };
    let submitted = match state.admission.admit(state.store.as_ref()).await {
        Ok(()) => state.store.submit(new).await?,
        // A full backlog still answers the retry of an application it accepted earlier.
        Err(refused) => match state.store.by_idempotency_key(&new.idempotency_key).await? {
            Some(e) if e.request_hash == new.request_hash => Submitted::Repeated(e.record),
            Some(_) => Submitted::KeyConflict,
            None => return Err(refused),
        },
    };
    let record = match submitted {
        Submitted::Created(r) => {
            state.admission.admitted();
            r
        }
        Submitted::Repeated(r) => r,
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
        "submitted_at": at(record.submitted_ms),
    });
    let mut r = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("/v1/applications/{}", record.id)) {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(r)
}

/// `GET /v1/applications/{id}` (id or number).
pub async fn application(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let r = load_application(&state, &id).await?;
    Ok(axum::Json(view(&r, millis(state.clock.now()))).into_response())
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

/// The filters of `GET /v1/applications` and its CSV export.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Status name.
    pub status: Option<String>,
    /// Benefit code.
    pub benefit: Option<String>,
    /// Submitted on or after this date (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Submitted before the end of this date (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// The applicant's SNILS.
    pub applicant_snils: Option<String>,
    /// Only overdue ones (`true`).
    pub overdue: Option<bool>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
    /// Page size (1 to 500, default 100).
    pub limit: Option<usize>,
}

fn bad_parameter(name: &str, message: &str) -> Problem {
    invalid_parameter(name, "invalid", message)
}

impl ListQuery {
    fn filter(&self, now_ms: i64) -> Result<ListFilter, Problem> {
        let date = |name: &str, v: &Option<String>| -> Result<Option<i64>, Problem> {
            v.as_deref()
                .map(|d| {
                    crate::calendar::parse_date(d)
                        .map(|day| i64::from(day) * 86_400_000)
                        .ok_or_else(|| bad_parameter(name, "must be a date, YYYY-MM-DD"))
                })
                .transpose()
        };
        let status = match &self.status {
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                bad_parameter("status", "must be one of submitted, in_review, approved, rejected, needs_clarification, appeal_review, manual_review")
            })?),
            None => None,
        };
        if let Some(b) = &self.benefit
            && crate::domain::application::Benefit::from_code(b).is_none()
        {
            return Err(bad_parameter("benefit", "unknown benefit code"));
        }
        let snils = self
            .applicant_snils
            .as_deref()
            .map(crate::domain::application::normalize_snils);
        if snils
            .as_ref()
            .is_some_and(|s| s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad_parameter("applicant_snils", "must be 11 digits"));
        }
        Ok(ListFilter {
            status,
            benefit: self.benefit.clone(),
            submitted_from_ms: date("from", &self.from)?,
            submitted_to_ms: date("to", &self.to)?.map(|ms| ms + 86_400_000),
            applicant_snils: snils,
            overdue_at_ms: self.overdue.filter(|o| *o).map(|_| now_ms),
        })
    }

    fn cursor(&self) -> Result<Option<Cursor>, Problem> {
        self.cursor
            .as_deref()
            .map(|c| {
                Cursor::decode(c)
                    .ok_or_else(|| bad_parameter("cursor", "not a cursor of this listing"))
            })
            .transpose()
    }
}

fn summary(s: &Summary, now_ms: i64) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "number": s.number,
        "status": s.status,
        "benefit": s.benefit,
        "submitted_at": at(s.submitted_ms),
        "status_since": at(s.status_since_ms),
        "overdue": is_overdue(s.status, (now_ms - s.status_since_ms) / 1000),
    })
}

/// `GET /v1/applications`: a page of applications and the cursor of the next.
pub async fn list(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let now = millis(state.clock.now());
    let filter = q.filter(now)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let page = state
        .store
        .list(&filter, q.cursor()?.as_ref(), limit)
        .await?;
    let next = (page.len() == limit).then(|| {
        let last = &page[page.len() - 1];
        Cursor {
            submitted_ms: last.submitted_ms,
            id: last.id.clone(),
        }
        .encode()
    });
    let items: Vec<_> = page.iter().map(|s| summary(s, now)).collect();
    Ok(axum::Json(serde_json::json!({"items": items, "next_cursor": next})).into_response())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `GET /v1/applications/export.csv`: the same filters as CSV, streamed page by page. The applicant's
/// SNILS is masked (an export leaves reggate's control).
pub async fn export_csv(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let now = millis(state.clock.now());
    let filter = q.filter(now)?;
    let cursor = q.cursor()?;
    // Fail before the first byte if the store is down; later failures end the stream early.
    let first = state.store.list(&filter, cursor.as_ref(), 500).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    // In the request's span: a failure while streaming is logged with the request id.
    let pages = async move {
        let header = "number,id,status,benefit,applicant_snils,submitted_at,status_since,overdue\n";
        if tx.send(Bytes::from(header)).await.is_err() {
            return;
        }
        let mut page = first;
        loop {
            let mut chunk = String::new();
            for s in &page {
                let masked = crate::xml::mask::mask("Snils", &s.applicant_snils);
                chunk.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    csv_field(&s.number),
                    csv_field(&s.id),
                    s.status,
                    csv_field(&s.benefit),
                    csv_field(&masked),
                    at(s.submitted_ms),
                    at(s.status_since_ms),
                    is_overdue(s.status, (now - s.status_since_ms) / 1000)
                ));
            }
            if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
            let Some(last) = page.last() else { return };
            if page.len() < 500 {
                return;
            }
            let next = Cursor {
                submitted_ms: last.submitted_ms,
                id: last.id.clone(),
            };
            page = match state.store.list(&filter, Some(&next), 500).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "CSV export cut short");
                    return;
                }
            };
        }
    };
    tokio::spawn(tracing::Instrument::in_current_span(pages));
    let mut r = Response::new(axum::body::Body::new(
        crate::channel_body::ChannelBody::new(rx, None),
    ));
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"applications.csv\""),
    );
    Ok(r)
}
