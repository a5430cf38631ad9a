//! The mock registries' HTTP handlers: the token endpoint, the WSDL and its schemas, and the SOAP
//! endpoint. Each connection belongs to one registry (the listener that accepted it), so a registry
//! only answers at its own path.
//!
//! A SOAP request is first read whole, validated and counted (so the counters see every request,
//! whatever happens next); then the fault plan gets its say; then the registry's own rules apply in
//! the order a real one applies them: rate limit, content type, SOAPAction, token, schema — and only
//! then an answer from the population. A body beyond [`BodyLimits::max`] is counted and refused
//! before any of that. Every refusal is a SOAP Fault with a standard code and the registry's own
//! code in its detail ([`crate::contract::fault`]).

use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use http_body_util::BodyExt;

use crate::contract::{Operation, Reason, Registry, read_payload};
use crate::mock::answer::{answer, response_meta};
use crate::mock::inject::{self, Answer, Connection};
use crate::mock::state::{BodyLimits, MockState};
use crate::xml::validate::{Report, validate_bytes};

/// `POST /token`: an access token for `grant_type=client_credentials`.
pub async fn token(
    State(state): State<Arc<MockState>>,
    Extension(connection): Extension<Arc<Connection>>,
    body: Bytes,
) -> Response {
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
    state.counters.token_issued(connection.registry);
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

/// The registry a path names, if it is the connection's own.
fn own_registry(connection: &Connection, name: &str) -> Option<Registry> {
    Registry::from_name(name).filter(|r| *r == connection.registry)
}

/// `GET /registry/{name}?wsdl`: the registry's WSDL, its `soap:address` pointing at the host the
/// client called. Its schema imports (`../schemas/…`) resolve to [`schema`].
pub async fn wsdl(
    State(state): State<Arc<MockState>>,
    Extension(connection): Extension<Arc<Connection>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(registry) = own_registry(&connection, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !query.is_some_and(|q| q.eq_ignore_ascii_case("wsdl")) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = state.files.wsdl.join(format!("{}.wsdl", registry.name()));
    let Ok(text) = tokio::fs::read_to_string(&path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let text = with_address(&text, &format!("https://{host}/registry/{registry}"));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The WSDL with its `soap:address location` replaced.
fn with_address(wsdl: &str, location: &str) -> String {
    const ATTR: &str = "<soap:address location=\"";
    let Some(start) = wsdl.find(ATTR).map(|i| i + ATTR.len()) else {
        return wsdl.to_string();
    };
    let Some(len) = wsdl[start..].find('"') else {
        return wsdl.to_string();
    };
    format!(
        "{}{}{}",
        &wsdl[..start],
        crate::mock::render::esc(location),
        &wsdl[start + len..]
    )
}

/// `GET /schemas/{file}`: a schema a WSDL imports. Only plain `.xsd` names: nothing outside the
/// schema directory can be reached.
pub async fn schema(State(state): State<Arc<MockState>>, Path(file): Path<String>) -> Response {
    let plain = file
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain || !file.ends_with(".xsd") || file.starts_with('.') {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(state.files.schemas.join(&file)).await {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `POST /registry/{name}`: one SOAP call.
pub async fn registry(
    State(state): State<Arc<MockState>>,
    Extension(connection): Extension<Arc<Connection>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(registry) = own_registry(&connection, &name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let action = header_str(&headers, "soapaction");
    let operation = Operation::from_action(registry, action);
    let op_name = operation.map_or("unknown", Operation::name);
    let body = match read_body(body, &headers, state.bodies).await {
        Ok(body) => body,
        Err(Unread::Broken) => return StatusCode::BAD_REQUEST.into_response(),
        Err(Unread::TooLarge { drained }) => {
            state.counters.request(registry, op_name, false);
            state.counters.rejected(registry, "too_large");
            return too_large(state.bodies.max, drained);
        }
    };
    let report = validate_bytes(&state.schema, &body, &state.options);
    state.counters.request(registry, op_name, report.is_valid());
    if let Some((status, body)) = state.playback.take(registry) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        return (
            status,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            body,
        )
            .into_response();
    }

    let decided = state.faults.on_call(registry, operation);
    if !decided.delay.is_zero() {
        let mut stopping = state.stopping.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(decided.delay) => {}
            _ = crate::shutdown::stopped(&mut stopping) => {}
        }
    }
    match decided.fault {
        Some(rule) if inject::replaces_answer(rule.kind) => {
            state.counters.fault(registry, rule.kind);
            let dummy = Answer::ok(String::new());
            inject::respond(&rule, dummy, connection, state.stopping.subscribe()).await
        }
        Some(rule) => {
            state.counters.fault(registry, rule.kind);
            let real = call(&state, registry, operation, &headers, &body, &report);
            inject::respond(&rule, real, connection, state.stopping.subscribe()).await
        }
        None => call(&state, registry, operation, &headers, &body, &report).into_response(),
    }
}

/// Why a request body was not read whole.
enum Unread {
    /// Beyond [`BodyLimits::max`]; `drained`: it was read to its end all the same.
    TooLarge { drained: bool },
    /// The client stopped sending mid-body: nobody is left to answer.
    Broken,
}

/// Read a request body of at most `limits.max` bytes. A larger one is read on, and dropped, up to
/// `limits.drain` more, so that a client that sends the whole body before reading gets the fault
/// rather than a reset; a body declared larger than that, or whose client waits for
/// `100 Continue`, is not read at all (hyper sends no `100 Continue` for a body nobody reads).
async fn read_body(body: Body, headers: &HeaderMap, limits: BodyLimits) -> Result<Bytes, Unread> {
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str())
        .parse::<u64>()
        .ok();
    if let Some(declared) = declared.filter(|d| *d > limits.max as u64) {
        let waits =
            header_str(headers, header::EXPECT.as_str()).eq_ignore_ascii_case("100-continue");
        if waits || declared > (limits.max + limits.drain) as u64 {
            return Err(Unread::TooLarge { drained: false });
        }
    }
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| Unread::Broken)?.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limits.max {
            kept.extend_from_slice(&data);
        } else if seen > limits.max + limits.drain {
            return Err(Unread::TooLarge { drained: false });
        }
    }
    if seen > limits.max {
        return Err(Unread::TooLarge { drained: true });
    }
    Ok(Bytes::from(kept))
}

/// The answer to a body beyond `max`: a SOAP Fault like every other refusal, with HTTP 500 as SOAP
/// 1.1 §6.2 and WS-I BP R1126 want for a fault — not 413, which SOAP stacks (JAX-WS, WCF) report as
/// a transport error without reading the fault. A body left unread closes the connection.
fn too_large(max: usize, drained: bool) -> Response {
    let message = format!("the request body is larger than the registry reads ({max} bytes)");
    let mut response = Answer::fault(Reason::RequestTooLarge, &message).into_response();
    if !drained {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The registry's own answer to a call: its rules, then the population's answer.
fn call(
    state: &MockState,
    registry: Registry,
    operation: Option<Operation>,
    headers: &HeaderMap,
    body: &[u8],
    report: &Report,
) -> Answer {
    let reject = |reason: &str, answer: Answer| {
        state.counters.rejected(registry, reason);
        answer
    };
    if let Err(wait) = state.limits.check(registry, state.clock.now()) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let answer = Answer::too_many(seconds, "too many requests: retry later");
        return reject("rate_limited", answer);
    }
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str());
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("text/xml") {
        let message = format!("SOAP 1.1 requires Content-Type text/xml, got '{content_type}'");
        return reject("content_type", Answer::fault(Reason::ContentType, &message));
    }
    let Some(operation) = operation else {
        let action = header_str(headers, "soapaction");
        let message =
            format!("SOAPAction '{action}' is not an operation of the {registry} registry");
        return reject("soap_action", Answer::fault(Reason::SoapAction, &message));
    };
    let bearer = header_str(headers, header::AUTHORIZATION.as_str())
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if let Err(e) = state.tokens.check(bearer, state.clock.as_ref()) {
        return reject(e.reason(), Answer::fault(e.fault_reason(), &e.to_string()));
    }
    if let Some(v) = report.violations.first() {
        let mut message = format!("{} [{}] {}", v.path, v.rule, v.message);
        if let Some(value) = &v.value {
            message.push_str(&format!(" (value: '{value}')"));
        }
        return reject("schema", Answer::fault(Reason::SchemaViolation, &message));
    }
    let request = match read_payload(body) {
        Ok(r) => r,
        Err(e) => {
            return reject(
                "schema",
                Answer::fault(Reason::MalformedRequest, &e.message),
            );
        }
    };
    if request.ns.as_deref() != Some(registry.namespace())
        || request.element != operation.request_element()
    {
        let message = format!(
            "SOAPAction names {operation} but the body holds {}",
            request.element
        );
        return reject("soap_action", Answer::fault(Reason::SoapAction, &message));
    }
    let meta = response_meta(state, &request);
    Answer::ok(crate::mock::render::envelope(&answer(
        state, operation, &request, &meta,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_wsdl_names_the_address_called() {
        let wsdl = r#"<port><soap:address location="https://localhost:8444/registry/inn"/></port>"#;
        assert_eq!(
            with_address(wsdl, "https://127.0.0.1:9000/registry/inn"),
            r#"<port><soap:address location="https://127.0.0.1:9000/registry/inn"/></port>"#
        );
        assert_eq!(with_address("<none/>", "x"), "<none/>");
    }

    #[test]
    fn the_repository_wsdls_name_the_default_mock() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wsdl");
        for (i, registry) in Registry::ALL.into_iter().enumerate() {
            let path = dir.join(format!("{registry}.wsdl"));
            let wsdl = std::fs::read_to_string(&path).expect("the WSDL");
            let port = crate::mock::server::DEFAULT_PORT + i as u16;
            let location = format!(
                "<soap:address location=\"https://localhost:{port}/registry/{registry}\"/>"
            );
            assert!(wsdl.contains(&location), "{}: {location}", path.display());
            assert_eq!(
                wsdl.matches("<soap:address ").count(),
                1,
                "{}",
                path.display()
            );
        }
    }
}
