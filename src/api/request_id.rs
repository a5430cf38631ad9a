//! The request id: every request gets one before any handler or extractor runs, and every
//! response carries it back in `x-request-id`, errors and panics included. It is the caller's when
//! usable (at most 64 characters of `[A-Za-z0-9-_.]`), otherwise a fresh UUID v4; [`RequestMeta`]
//! reads it here, so the id journaled, sent to the registries and logged is the one answered.
//!
//! tower-http's `SetRequestId` keeps any id the request already has, so an unusable one is
//! removed first ([`drop_unusable`]); `PropagateRequestId` copies the id onto the response.
//!
//! [`RequestMeta`]: crate::api::RequestMeta

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Instrument;

use crate::ids::uuid_v4;

/// The header name.
pub const HEADER: &str = "x-request-id";

/// Whether a caller's id can be kept: short, and only characters safe in logs, SOAP headers and
/// file names.
pub fn usable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Makes a UUID v4 for a request without a usable id.
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeUuid;

impl MakeRequestId for MakeUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid_v4()).ok().map(RequestId::new)
    }
}

/// Removes a caller's `x-request-id` that is not [`usable`] (or repeated), so one is generated.
pub async fn drop_unusable(mut req: Request, next: Next) -> Response {
    let ids = req.headers().get_all(HEADER).iter().count();
    let keep = ids == 1
        && req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(usable);
    if ids > 0 && !keep {
        req.headers_mut().remove(HEADER);
    }
    next.run(req).await
}

/// The id of a request that went through the layers.
pub fn of(req: &axum::http::request::Parts) -> Option<String> {
    req.extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_string)
}

/// The span of a request, in its extensions, so an extractor can add what it learns (the caller,
/// [`RequestSpan::record_caller`]).
#[derive(Clone, Debug)]
pub struct RequestSpan(pub tracing::Span);

impl RequestSpan {
    /// Name the authenticated caller (`key:<id>`, `cert:<CN>`) on the request's span, so the
    /// request's line, and every line after, says who asked.
    pub fn record_caller(parts: &axum::http::request::Parts, actor: &str) {
        if let Some(RequestSpan(span)) = parts.extensions.get::<RequestSpan>() {
            span.record("caller", actor);
        }
    }
}

/// Runs the rest of the request in a span naming its id, method and (once authenticated) caller,
/// so every log line on its way (a store failure, a panic) carries them; then logs the request's
/// one line (target `reggate::http`) and counts it for `/metrics`: the route template, never the
/// path with its ids, the status and the latency until the response head (a streamed body may go
/// on after).
pub async fn in_span(mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("")
        .to_string();
    // Set by the router before its layers run; none for a path no route has.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        caller = tracing::field::Empty
    );
    req.extensions_mut().insert(RequestSpan(span.clone()));
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let took = started.elapsed();
    crate::api::metrics::record_request(&route, &method, status, took);
    let latency_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(target: "reggate::http", %route, status, latency_ms, "request");
        } else {
            tracing::info!(target: "reggate::http", %route, status, latency_ms, "request");
        }
    });
    response
}
