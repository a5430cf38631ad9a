//! The JSON HTTP API for cabinet backends (`/v1`): thin axum handlers over the domain and the store.
//! Extractors do the parsing (caller identity, request id, idempotency key); errors are
//! [`Problem`]s.
//!
//! Built so far: `POST /v1/eligibility`, `POST /v1/applications`, `GET /v1/applications/{id}`,
//! `GET /v1/events`, `GET /v1/health`. Callers authenticate with a bearer API key (client
//! certificates of the internal CA come with the TLS front end).

pub mod problem;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngExt;
use serde::Deserialize;

use crate::clock::Clock;
use crate::domain::application::{ApplicationInput, Rejection};
use crate::domain::calendar::day_of;
use crate::domain::eligibility::{Decision, OwnApproval, decide};
use crate::domain::identifiers::uuid_v4;
use crate::domain::process::RegistryChecks;
use crate::domain::status::is_overdue;
use crate::store::{ApplicationRecord, NewApplication, Store, Submitted, millis};
use problem::Problem;

/// Largest request body accepted (an application with its manifest is a few KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// What the handlers share.
pub struct ApiState {
    /// Applications.
    pub store: Arc<dyn Store>,
    /// The registries (for eligibility dry runs).
    pub checks: Arc<dyn RegistryChecks>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// API keys: SHA-256 hex of the key → key id.
    pub api_keys: HashMap<String, String>,
    /// Applications waiting in `submitted` beyond which new ones get 429.
    pub backlog_limit: u64,
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/eligibility", post(eligibility))
        .route("/v1/applications", post(submit))
        .route("/v1/applications/{id}", get(application))
        .route("/v1/events", get(events))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// `key:<id>` or `cert:<subject>`.
    pub actor: String,
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Caller, Problem> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            // Set by the TLS front end from a verified client certificate.
            return Ok(caller.clone());
        }
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match key.and_then(|k| state.api_keys.get(&sha256_hex(k.as_bytes()))) {
            Some(id) => Ok(Caller {
                actor: format!("key:{id}"),
            }),
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "present a client certificate of the internal CA or a valid bearer API key",
            )),
        }
    }
}

/// The request id (`x-request-id`, generated when absent or unusable) and the originating address.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    /// Request id.
    pub request_id: String,
    /// The citizen's address as the cabinet passes it on (`X-Forwarded-For`, first entry).
    pub origin: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<RequestMeta, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let request_id = header("x-request-id")
            .filter(|v| {
                v.len() <= 64
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
            .map(str::to_string)
            .unwrap_or_else(uuid_v4);
        let origin = header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().chars().take(64).collect())
            .unwrap_or_else(|| "unknown".to_string());
        Ok(RequestMeta { request_id, origin })
    }
}

/// A human-readable application number: `RG-YYYYMMDD-` and 8 characters of an unambiguous alphabet.
fn new_number(clock: &dyn Clock) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let (y, m, d, ..) = crate::clock::utc_parts(clock.now());
    let mut rng = rand::rng();
    let tail: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("RG-{y:04}{m:02}{d:02}-{tail}")
}

fn parse_input(body: &[u8]) -> Result<ApplicationInput, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed request body",
            format!("the body is not an application: {e}"),
        )
    })
}

fn validate(input: ApplicationInput, clock: &dyn Clock) -> Result<ApplicationInput, Problem> {
    input
        .validate(day_of(millis(clock.now())))
        .map_err(|rejection| match rejection {
            Rejection::MissingIdentifier(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing-identifier",
                "SNILS and INN are required",
                "the application is refused outright without the applicant's SNILS and INN",
            )
            .with_errors(errors),
            Rejection::Fields(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-fields",
                "Invalid fields",
                format!("{} field(s) break the input rules", errors.len()),
            )
            .with_errors(errors),
        })
}

fn with_request_id(mut r: Response, meta: &RequestMeta) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&meta.request_id) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// `POST /v1/eligibility`: the registry checks and the decision, stored nowhere (the exchanges are
/// in the message log).
async fn eligibility(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    meta: RequestMeta,
    body: Bytes,
) -> Result<Response, Problem> {
    let input = validate(parse_input(&body)?, state.clock.as_ref())?;
    let mut facts = state
        .checks
        .facts(&meta.request_id, &input)
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
    for own in state.store.approved_for_child(&input.child.snils).await? {
        if let Ok(other) = serde_json::from_value::<ApplicationInput>(own.input.clone())
            && let (Some(benefit), Some(recipient)) = (other.benefit(), other.applicant.snils)
        {
            facts.own_approved.push(OwnApproval {
                application_number: own.number.clone(),
                benefit,
                recipient_snils: recipient,
                from: other
                    .period
                    .as_ref()
                    .map(|p| p.from.clone())
                    .unwrap_or_default(),
                to: other.period.and_then(|p| p.to),
            });
        }
    }
    let decision = decide(&input, &facts, day_of(millis(state.clock.now())));
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
    Ok(with_request_id(axum::Json(body).into_response(), &meta))
}

/// `POST /v1/applications`.
async fn submit(
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

fn at(ms: i64) -> String {
    crate::clock::timestamp(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
}

fn view(record: &ApplicationRecord, now_ms: i64) -> serde_json::Value {
    let last = record.journal.last();
    serde_json::json!({
        "id": record.id,
        "number": record.number,
        "status": record.status,
        "benefit": record.benefit,
        "submitted_at": at(record.submitted_ms),
        "status_since": at(record.status_since_ms),
        "overdue": is_overdue(record.status, (now_ms - record.status_since_ms) / 1000),
        "reasons": last.map(|j| j.reasons.clone()).unwrap_or_default(),
        "journal": record.journal.iter().map(|j| serde_json::json!({
            "at": at(j.at_ms),
            "from": j.from,
            "to": j.to,
            "actor": j.actor,
            "origin": j.origin,
            "reasons": j.reasons,
            "comment": j.comment,
            "request_id": j.request_id,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /v1/applications/{id}` (id or number).
async fn application(
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
struct EventsQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /v1/events?after=CURSOR`: status changes in order; `next` is the cursor to pass next time.
async fn events(
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
