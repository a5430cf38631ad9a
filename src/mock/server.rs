//! The mock registries' HTTPS server: the token endpoint and the four SOAP endpoints over mTLS (TLS 1.3,
//! client certificate required), answering from the synthetic population. Every request envelope is
//! validated against the schemas; a deviation, a wrong SOAPAction or content type, or a missing,
//! unknown or expired token gets a SOAP Fault (HTTP 500) that says which.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::clock::Clock;
use crate::mock::population::{NewAssignment, PersonView, Population, RegisterOutcome};
use crate::mock::ratelimit::RateLimiter;
use crate::mock::render::{self, Registration};
use crate::mock::soap::{Operation, Registry, Request, read_request};
use crate::mock::token::TokenStore;
use crate::xml::schema::Schema;
use crate::xml::validate::{Options, validate_bytes};

/// Everything the mock registries answer from.
pub struct MockState {
    /// The registry schemas (with the SOAP envelope schema).
    pub schema: Arc<Schema>,
    /// The population the answers come from.
    pub population: Population,
    /// Issued access tokens.
    pub tokens: TokenStore,
    /// Time for token lifetimes and response timestamps.
    pub clock: Arc<dyn Clock>,
    /// Where `<name>.wsdl` files are served from (`wsdl/` in the repository).
    pub wsdl_dir: PathBuf,
    /// Validation limits.
    pub options: Options,
    /// Source of response message ids.
    pub messages: AtomicU64,
    /// Requests per second each registry accepts (unlimited by default).
    pub limits: RateLimiter,
}

impl MockState {
    /// State with the default validation options and a fresh message counter.
    pub fn new(
        schema: Arc<Schema>,
        population: Population,
        tokens: TokenStore,
        clock: Arc<dyn Clock>,
        wsdl_dir: PathBuf,
    ) -> MockState {
        MockState {
            schema,
            population,
            tokens,
            clock,
            wsdl_dir,
            options: Options::default(),
            messages: AtomicU64::new(1),
            limits: RateLimiter::default(),
        }
    }

    /// Limit each registry to `per_second` requests per second (beyond it: 429 with Retry-After).
    pub fn with_rate_limit(mut self, per_second: Option<f64>) -> MockState {
        self.limits = RateLimiter::new(per_second);
        self
    }
}

/// The axum router of the mock registries (without TLS), for tests and embedding.
pub fn router(state: Arc<MockState>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/registry/{name}", post(registry).get(wsdl))
        .with_state(state)
}

/// Serve the mock registries on `listener` over mTLS until `shutdown` completes. A connection whose
/// TLS handshake fails (no or untrusted client certificate) is simply dropped.
pub async fn serve(
    listener: TcpListener,
    state: Arc<MockState>,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let app = router(state);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let Ok((stream, _peer)) = accepted else {
            // Transient accept errors (EMFILE, aborted connections) must not stop the server.
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = TowerToHyperService::new(app);
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

// ------------------------------------------------------------------------------------------------
// Token endpoint

async fn token(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let form = String::from_utf8_lossy(&body);
    let grant = form
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "grant_type")
        .map(|(_, v)| v);
    if grant != Some("client_credentials") {
        let body = serde_json::json!({
            "error": "unsupported_grant_type",
            "error_description": "grant_type must be client_credentials",
        });
        return json(StatusCode::BAD_REQUEST, &body);
    }
    let issued = state.tokens.issue(state.clock.as_ref());
    let body = serde_json::json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
    });
    json(StatusCode::OK, &body)
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

// ------------------------------------------------------------------------------------------------
// WSDL

async fn wsdl(
    State(state): State<Arc<MockState>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(registry) = Registry::from_name(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !query.is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = state.wsdl_dir.join(format!("{}.wsdl", registry.name()));
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

// ------------------------------------------------------------------------------------------------
// SOAP endpoints

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn fault(code: &str, message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        render::fault(code, message),
    )
}

async fn registry(
    State(state): State<Arc<MockState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(registry) = Registry::from_name(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(wait) = state.limits.check(registry, state.clock.now()) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = xml(
            StatusCode::TOO_MANY_REQUESTS,
            render::fault("soap:Server.RateLimited", "too many requests: retry later"),
        );
        if let Ok(v) = header::HeaderValue::from_str(&seconds.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("text/xml") {
        return fault(
            "soap:Client.ContentType",
            &format!("SOAP 1.1 requires Content-Type text/xml, got '{content_type}'"),
        );
    }
    let action = headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(operation) = Operation::from_action(registry, action) else {
        return fault(
            "soap:Client.SoapAction",
            &format!("SOAPAction '{action}' is not an operation of the {registry} registry"),
        );
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    if let Err(e) = state.tokens.check(bearer, state.clock.as_ref()) {
        return fault(e.fault_code(), &e.to_string());
    }
    let report = validate_bytes(&state.schema, &body, &state.options);
    if let Some(v) = report.violations.first() {
        let mut message = format!("{} [{}] {}", v.path, v.rule, v.message);
        if let Some(value) = &v.value {
            message.push_str(&format!(" (value: '{value}')"));
        }
        return fault("soap:Client.SchemaViolation", &message);
    }
    let request = match read_request(&body) {
        Ok(r) => r,
        Err(e) => return fault("soap:Client", &e.message),
    };
    if request.ns.as_deref() != Some(registry.namespace())
        || request.element != operation.request_element()
    {
        return fault(
            "soap:Client.SoapAction",
            &format!(
                "SOAPAction names {operation} but the body holds {}",
                request.element
            ),
        );
    }
    let meta = response_meta(&state, &request);
    let payload = answer(&state, operation, &request, &meta);
    xml(StatusCode::OK, render::envelope(&payload))
}

fn response_meta(state: &MockState, request: &Request) -> String {
    let n = state.messages.fetch_add(1, Ordering::Relaxed);
    // A version-4-shaped UUID from a counter: unique per server run, as the schema's pattern requires.
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32,
        (n >> 16) as u16,
        0,
        0,
        n & 0xFFFF_FFFF_FFFF
    );
    let reply_to = request.get("MessageId").unwrap_or("");
    render::response_meta(&id, reply_to, &timestamp(state.clock.now()))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a moment (UTC).
pub fn timestamp(at: SystemTime) -> String {
    let (y, m, d, h, min, sec) = crate::clock::utc_parts(at);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}Z")
}

/// The identity fields of a request that differ from a person's record, in the schema's names.
fn mismatches(request: &Request, v: &PersonView) -> Vec<&'static str> {
    let mut out = Vec::new();
    if request.get("LastName") != Some(v.last_name.as_str()) {
        out.push("LastName");
    }
    if request.get("FirstName") != Some(v.first_name.as_str()) {
        out.push("FirstName");
    }
    if request.get("MiddleName") != v.middle_name.as_deref() {
        out.push("MiddleName");
    }
    if request.get("BirthDate") != Some(v.birth_date.as_str()) {
        out.push("BirthDate");
    }
    if request.get("Gender") != Some(render::gender(v.gender)) {
        out.push("Gender");
    }
    out
}

fn verify(request: &Request, found: Option<&PersonView>) -> (&'static str, Vec<&'static str>) {
    match found {
        None => ("NOT_FOUND", Vec::new()),
        Some(v) => {
            let m = mismatches(request, v);
            if m.is_empty() {
                ("MATCH", m)
            } else {
                ("NO_MATCH", m)
            }
        }
    }
}

fn answer(state: &MockState, operation: Operation, request: &Request, meta: &str) -> String {
    let pop = &state.population;
    match operation {
        Operation::VerifySnils => {
            let found = request.get("Snils").and_then(|s| pop.person_by_snils(s));
            let (code, m) = verify(request, found.as_ref());
            let person = found.as_ref().filter(|_| code != "NOT_FOUND");
            render::snils_response_with(meta, code, &m, person)
        }
        Operation::FindInn => {
            let found = match (request.get("Series"), request.get("Number")) {
                (Some(series), Some(number)) => pop.person_by_passport(series, number),
                _ => None,
            };
            // The passport alone does not identify: the person must match too.
            let found = found.filter(|v| mismatches(request, v).is_empty());
            render::inn_response_with(meta, found.as_ref())
        }
        Operation::VerifyInn => {
            let found = request.get("Inn").and_then(|s| pop.person_by_inn(s));
            let (code, m) = verify(request, found.as_ref());
            render::verify_inn_response(meta, code, &m)
        }
        Operation::FindBirthRecord => {
            let record = match (request.get("Series"), request.get("Number")) {
                (Some(series), Some(number)) => pop.birth_record(series, number),
                _ => None,
            };
            render::birth_record_response_with(meta, record.as_ref())
        }
        Operation::GetFamilyStatus => {
            let known = request
                .get("Snils")
                .filter(|s| pop.person_by_snils(s).is_some());
            match known {
                Some(snils) => {
                    let statuses = pop.family_statuses(snils);
                    render::family_status_response_with(meta, Some(&statuses))
                }
                None => render::family_status_response_with(meta, None),
            }
        }
        Operation::GetActiveAssignments => {
            let child = request.get("ChildSnils").unwrap_or("");
            let wanted = request.all("BenefitCode");
            let list: Vec<_> = pop
                .active_assignments(child)
                .into_iter()
                .filter(|a| wanted.is_empty() || wanted.contains(&a.benefit_code.code()))
                .collect();
            render::assignments_response_with(meta, &list)
        }
        Operation::RegisterAssignment => register(state, request, meta),
    }
}

fn register(state: &MockState, request: &Request, meta: &str) -> String {
    let application = request.get("@applicationNumber").unwrap_or("");
    let benefit = request
        .get("BenefitCode")
        .and_then(crate::mock::population::Benefit::from_code);
    let Some(benefit) = benefit else {
        let r = Registration::Error {
            code: "INVALID_FIELD",
            message: "unknown benefit code",
        };
        return render::register_response(meta, application, &r);
    };
    let new = NewAssignment {
        application_number: application.to_string(),
        benefit,
        child_snils: request.get("ChildSnils").unwrap_or("").to_string(),
        recipient_snils: request.get("RecipientSnils").unwrap_or("").to_string(),
        from: request.get("From").unwrap_or("").to_string(),
        to: request.get("To").map(str::to_string),
        amount: request.get("Amount").map(str::to_string),
        region_code: request.get("RegionCode").unwrap_or("").to_string(),
    };
    let at = timestamp(state.clock.now());
    match state.population.register_assignment(&new) {
        RegisterOutcome::Registered { assignment } => render::register_response(
            meta,
            application,
            &Registration::Done {
                fresh: true,
                assignment: &assignment,
                at: &at,
            },
        ),
        RegisterOutcome::AlreadyRegistered { assignment } => render::register_response(
            meta,
            application,
            &Registration::Done {
                fresh: false,
                assignment: &assignment,
                at: &at,
            },
        ),
        RegisterOutcome::Conflict { conflicts } => {
            render::register_response(meta, application, &Registration::Conflict(&conflicts))
        }
        RegisterOutcome::Rejected { error } => {
            let code = serde_json::to_value(&error)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_string))
                .unwrap_or_else(|| "REJECTED".to_string());
            let message = error.to_string();
            render::register_response(
                meta,
                application,
                &Registration::Error {
                    code: &code,
                    message: &message,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_time() {
        assert_eq!(timestamp(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_782_900_000);
        assert_eq!(timestamp(t), "2026-07-01T10:00:00Z");
    }
}
