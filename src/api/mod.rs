//! The JSON HTTP API for cabinet backends (`/v1`): thin axum handlers over the domain and the store.
//! Extractors do the parsing (caller identity, request id, idempotency key), [`body`] reads JSON
//! and query strings; errors are [`Problem`]s, whatever answers them (a handler, an extractor, the
//! router's fallbacks, a panic). Every response carries `x-request-id` ([`request_id`]).
//!
//! Callers authenticate with a client certificate of the internal CA, verified in the TLS handshake
//! by [`listener`], or with a bearer API key; anything else is 401 before any handler runs.

pub mod admin;
pub mod admission;
pub mod applications;
pub mod body;
pub mod content;
pub mod documents;
pub mod eligibility;
pub mod health;
pub mod listener;
pub mod metrics;
pub mod problem;
pub mod receipts;
pub mod request_id;
pub mod review;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::RngExt;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

use crate::clock::Clock;
use crate::domain::application::{ApplicationInput, Rejection};
use crate::domain::status::is_overdue;
use crate::domain::valid::ValidApplication;
use crate::ids::uuid_v4;
use crate::store::{ApplicationRecord, Store};
use problem::Problem;

/// Largest request body accepted (an application with its manifest is a few KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// What the handlers share.
pub struct ApiState {
    /// Applications.
    pub store: Arc<dyn Store>,
    /// The workflows (dry run, reviewer's decision) over the same store, registries and clock.
    pub workflows: crate::service::Workflows,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// API keys: SHA-256 hex of the key → key id.
    pub api_keys: HashMap<String, String>,
    /// Actors with the reviewer role (`key:<id>`, `cert:<CN>`).
    pub reviewers: Arc<Vec<String>>,
    /// The backlog bound beyond which submissions get 429.
    pub admission: admission::Admission,
    /// Document bytes.
    pub documents: documents::DocumentStore,
    /// Signs receipts (none: receipts answer 503).
    pub receipts: Option<Arc<crate::receipt::ReceiptSigner>>,
    /// Certificates, registries' state and workers for `/readyz` and `/admin` (none: `/readyz` checks
    /// the store alone and `/admin` answers 503).
    pub ops: Option<Arc<health::Ops>>,
}

/// The router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/admin/reload", post(admin::reload))
        .route("/admin/certificates", get(admin::certificates))
        .route("/openapi.json", get(openapi))
        .route("/v1/eligibility", post(eligibility::eligibility))
        .route(
            "/v1/applications",
            post(applications::submit).get(applications::list),
        )
        .route("/v1/applications/export.csv", get(applications::export_csv))
        .route("/v1/applications/{id}", get(applications::application))
        .route(
            "/v1/applications/{id}/clarification",
            post(review::clarification),
        )
        .route("/v1/applications/{id}/appeal", post(review::appeal))
        .route("/v1/applications/{id}/receipt", get(receipts::receipt))
        .route("/v1/applications/{id}/decision", post(review::decision))
        .route("/v1/events", get(applications::events))
        .route("/metrics", get(metrics::scrape))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(from_fn(body::refuse_declared_oversize))
        // Documents have their own limit (5 MiB), checked while reading so the refusal can say so.
        .route(
            "/v1/applications/{id}/documents/{name}",
            axum::routing::put(documents::upload).layer(DefaultBodyLimit::disable()),
        )
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state)
        // Outermost first: the id is settled before anything can fail, so even a panic's 500 and
        // axum's own refusals carry it.
        .layer(
            ServiceBuilder::new()
                .layer(from_fn(request_id::drop_unusable))
                .layer(SetRequestIdLayer::new(
                    HeaderName::from_static(request_id::HEADER),
                    request_id::MakeUuid,
                ))
                .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
                    request_id::HEADER,
                )))
                .layer(from_fn(request_id::in_span))
                .layer(CatchPanicLayer::custom(problem::for_panic))
                .layer(from_fn(problem::bare_errors)),
        )
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// `key:<id>` or `cert:<CN>`: what the journal records as who acted.
    pub actor: String,
    /// May decide appeals and manual reviews.
    pub reviewer: bool,
}

impl Caller {
    /// The caller a verified client certificate (DER) names.
    pub fn from_certificate(der: &[u8], reviewers: &[String]) -> Caller {
        let cn = crate::tls::pki::subject_cn_of_der(der).unwrap_or_else(|| "unnamed".into());
        Caller::new(format!("cert:{cn}"), reviewers)
    }

    /// 403 `reviewers-only` (with `detail`) unless the caller has the reviewer role.
    pub fn must_be_reviewer(&self, detail: &str) -> Result<(), Problem> {
        if self.reviewer {
            return Ok(());
        }
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "reviewers-only",
            "Reviewers only",
            detail,
        ))
    }

    fn new(actor: String, reviewers: &[String]) -> Caller {
        let reviewer = reviewers.contains(&actor);
        Caller { actor, reviewer }
    }
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Caller, Problem> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            // Set by the TLS front end from a verified client certificate.
            request_id::RequestSpan::record_caller(parts, &caller.actor);
            return Ok(caller.clone());
        }
        let key = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match key.and_then(|k| state.api_keys.get(&crate::ids::sha256_hex(k.as_bytes()))) {
            Some(id) => {
                let caller = Caller::new(format!("key:{id}"), &state.reviewers);
                request_id::RequestSpan::record_caller(parts, &caller.actor);
                Ok(caller)
            }
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "present a client certificate of the internal CA or a valid bearer API key",
            )),
        }
    }
}

/// The request id (the one the response carries, see [`request_id`]) and the originating address.
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
        // Set by the request-id layers of [`router`]; a router built without them still gets one.
        let request_id = request_id::of(parts).unwrap_or_else(uuid_v4);
        let origin = header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().chars().take(64).collect())
            .unwrap_or_else(|| "unknown".to_string());
        Ok(RequestMeta { request_id, origin })
    }
}

/// A human-readable application number: `RG-YYYYMMDD-` and 8 characters of an unambiguous alphabet.
pub fn new_number(clock: &dyn Clock) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let (y, m, d, ..) = crate::clock::utc_parts(clock.now());
    let mut rng = rand::rng();
    let tail: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("RG-{y:04}{m:02}{d:02}-{tail}")
}

/// The application with this id or number, or the 404 that says there is none.
pub async fn load_application(state: &ApiState, id: &str) -> Result<ApplicationRecord, Problem> {
    state.store.get(id).await?.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such application",
            "no application has this id or number",
        )
    })
}

/// The body as an application, or the 400 (415) naming what does not parse ([`body::json`]).
pub fn parse_input(headers: &HeaderMap, body: &[u8]) -> Result<ApplicationInput, Problem> {
    body::json(headers, body)
}

/// The input rules on today's date, as a 422 listing every field.
pub fn validate(input: ApplicationInput, clock: &dyn Clock) -> Result<ValidApplication, Problem> {
    input
        .validate(crate::calendar::today(clock.now()))
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

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Milliseconds since the epoch as an API timestamp.
pub fn at(ms: i64) -> String {
    crate::clock::timestamp(crate::clock::from_millis(ms))
}

/// An application as the API shows it.
pub fn view(record: &ApplicationRecord, now_ms: i64) -> serde_json::Value {
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
        "documents_missing": record.documents_missing,
        "documents": documents(record),
        // While the registry checks wait: which registry, since when, the next attempt.
        "parked": record.parked.as_ref().filter(|_| record.status == crate::domain::status::Status::InReview).map(|p| serde_json::json!({
            "registry": p.registry,
            "kind": p.kind,
            "reason": p.reason,
            "since": at(p.since_ms),
            "next_attempt": at(p.next_attempt_ms),
            "attempts": p.attempts,
        })),
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

/// The manifest as a reviewer reads it: every entry with its digest and whether its bytes arrived.
fn documents(record: &ApplicationRecord) -> serde_json::Value {
    // The one decode of stored input; damaged input shows no manifest (workflows report it).
    let Ok(input) = ValidApplication::decode(&record.input) else {
        return serde_json::json!([]);
    };
    let names = input.manifest_names();
    names
        .iter()
        .zip(&input.documents)
        .map(|(name, d)| {
            serde_json::json!({
                "name": name,
                "type": d.kind,
                "media_type": d.media_type,
                "size": d.size,
                "sha256": d.sha256,
                "received": !record.documents_missing.contains(name),
            })
        })
        .collect()
}
