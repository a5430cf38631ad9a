//! The outbound pipeline: every registry call goes through [`SoapClient::call`].
//!
//! 1. The payload is wrapped in a SOAP envelope (the request id in a header block) and validated
//!    against the schemas. Invalid: nothing is sent; [`CallError::InvalidRequest`].
//! 2. The registry's circuit breaker and concurrency limit admit the attempt.
//! 3. A live access token from the registry's [`TokenManager`].
//! 4. HTTPS POST over mTLS with a per-attempt timeout, inside the call's deadline.
//! 5. The answer is validated against the schemas before anything in it is trusted; a SOAP Fault
//!    becomes a typed error (its standard code and the registry's code from its detail) that says
//!    whether it is retryable. An answer beyond
//!    [`MAX_ANSWER`] is not read further and is a bad answer, like a schema-invalid one.
//! 6. Retryable failures are retried with exponential backoff and full jitter (backon), at least the
//!    `Retry-After` the registry asked for, within the deadline; a "token expired" fault (detail
//!    code `TOKEN_EXPIRED`) refreshes the token and retries once at once.
//! 7. Every attempt goes to the message log, and into the metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use backon::BackoffBuilder;
use hyper::Uri;
use hyper::header::{self, HeaderName, HeaderValue};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::clock::Clock;
use crate::contract::{Fault, Operation, Payload, Reason, Registry, SOAP_NS, read_payload};
use crate::soap::breaker::{Breaker, BreakerPolicy};
use crate::soap::error::{CallError, Violation};
use crate::soap::hedge::{HedgeBudget, HedgePolicy};
use crate::soap::log::{BodyPolicy, Exchange, MessageLog};
use crate::soap::token::{Fetch, Issued, TokenError, TokenManager, TokenPolicy, TokenSource};
use crate::soap::transport::{MAX_ANSWER, PostError, Reply, Transport};
use crate::xml::schema::Schema;
use crate::xml::validate::{Options, validate_bytes};

/// The namespace of reggate's own SOAP header blocks.
pub const GATEWAY_NS: &str = "urn://reggate/gateway/1.0.0";

/// Where a registry is.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The SOAP endpoint, e.g. `https://localhost:8443/registry/snils`.
    pub url: Uri,
    /// Its token endpoint.
    pub token_url: Uri,
}

/// Retry bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff step.
    pub min_delay: Duration,
    /// The largest backoff step.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// How the pipeline behaves.
#[derive(Clone, Debug)]
pub struct Settings {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// One attempt's bound (sending and reading the whole answer).
    pub attempt_timeout: Duration,
    /// The whole call's bound, retries included, unless the call brings its own.
    pub call_deadline: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Circuit breaker.
    pub breaker: BreakerPolicy,
    /// Calls in flight per registry.
    pub max_in_flight: usize,
    /// Hedged attempts of retry-safe calls.
    pub hedge: HedgePolicy,
    /// Token refresh.
    pub token: TokenPolicy,
    /// What the message log keeps of bodies.
    pub bodies: BodyPolicy,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(10),
            call_deadline: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            max_in_flight: 64,
            hedge: HedgePolicy::default(),
            token: TokenPolicy::default(),
            bodies: BodyPolicy::Masked,
        }
    }
}

/// What a call is made for.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The originating request's id (travels in the SOAP header and every log line).
    pub request_id: String,
    /// This call's bound instead of [`Settings::call_deadline`].
    pub deadline: Option<Duration>,
}

impl CallContext {
    /// A context with the default deadline.
    pub fn new(request_id: impl Into<String>) -> CallContext {
        CallContext {
            request_id: request_id.into(),
            deadline: None,
        }
    }
}

/// A registry's trusted answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The whole envelope, schema-valid.
    pub envelope: Bytes,
    /// Its payload's values.
    pub payload: Payload,
    /// Attempts it took.
    pub attempts: u32,
}

/// Tokens from a registry's token endpoint, over the same transport.
struct EndpointTokens {
    registry: Registry,
    url: Uri,
    transport: Transport,
    timeout: Duration,
}

impl TokenSource for EndpointTokens {
    fn fetch(&self) -> Fetch<'_> {
        Box::pin(async move {
            let error = |message: String| TokenError {
                registry: self.registry,
                message,
            };
            let headers = [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )];
            let body = Bytes::from_static(b"grant_type=client_credentials");
            let reply =
                tokio::time::timeout(self.timeout, self.transport.post(&self.url, &headers, body))
                    .await
                    .map_err(|_| {
                        error(format!("no answer within {} ms", self.timeout.as_millis()))
                    })?
                    .map_err(|e| error(e.to_string()))?;
            if reply.status != 200 {
                return Err(error(format!("HTTP {}", reply.status)));
            }
            let v: serde_json::Value =
                serde_json::from_slice(&reply.body).map_err(|e| error(format!("not JSON: {e}")))?;
            let token = v["access_token"]
                .as_str()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| error("no access_token".into()))?;
            let expires_in = v["expires_in"]
                .as_u64()
                .ok_or_else(|| error("no expires_in".into()))?;
            Ok(Issued {
                access_token: token.to_string(),
                expires_in: Duration::from_secs(expires_in),
            })
        })
    }
}

struct Lane {
    endpoint: Endpoint,
    transport: Transport,
    tokens: TokenManager,
    breaker: Breaker,
    in_flight: Semaphore,
    hedges: HedgeBudget,
}

/// The registry client: one pipeline for all four registries.
pub struct SoapClient {
    schema: Arc<Schema>,
    settings: Settings,
    lanes: Vec<(Registry, Lane)>,
    log: Arc<dyn MessageLog>,
    options: Options,
    /// Stamps logged exchanges, so their times agree with the log's retention and the rest of the
    /// gateway (deadlines and durations stay on the monotonic clock: they measure real I/O).
    clock: Arc<dyn Clock>,
}

/// When an attempt started: by the gateway's clock for the log, monotonic for its duration.
#[derive(Clone, Copy)]
struct Started {
    at: SystemTime,
    instant: Instant,
}

impl Started {
    fn now(clock: &dyn Clock) -> Started {
        Started {
            at: clock.now(),
            instant: Instant::now(),
        }
    }
}

impl SoapClient {
    /// A client of the registries at `endpoints`, with `tls` (TLS 1.3, client certificate resolver)
    /// and the schemas every message is validated against.
    pub fn new(
        schema: Arc<Schema>,
        tls: Arc<rustls::ClientConfig>,
        endpoints: &[(Registry, Endpoint)],
        clock: Arc<dyn Clock>,
        log: Arc<dyn MessageLog>,
        settings: Settings,
    ) -> SoapClient {
        let lanes = endpoints
            .iter()
            .map(|(registry, endpoint)| {
                let transport = Transport::new(
                    tls.clone(),
                    settings.connect_timeout,
                    Duration::from_secs(60),
                );
                let source = Arc::new(EndpointTokens {
                    registry: *registry,
                    url: endpoint.token_url.clone(),
                    transport: transport.clone(),
                    timeout: settings.attempt_timeout,
                });
                zero_series(*registry);
                let lane = Lane {
                    endpoint: endpoint.clone(),
                    transport,
                    tokens: TokenManager::new(*registry, source, clock.clone(), settings.token),
                    breaker: Breaker::new(settings.breaker, clock.clone()),
                    in_flight: Semaphore::new(settings.max_in_flight.max(1)),
                    hedges: HedgeBudget::new(settings.hedge),
                };
                (*registry, lane)
            })
            .collect();
        SoapClient {
            schema,
            settings,
            lanes,
            log,
            options: Options::default(),
            clock,
        }
    }

    fn lane(&self, registry: Registry) -> Option<&Lane> {
        self.lanes
            .iter()
            .find(|(r, _)| *r == registry)
            .map(|(_, l)| l)
    }

    /// The token manager of a registry (for metrics and tests).
    pub fn tokens(&self, registry: Registry) -> Option<&TokenManager> {
        self.lane(registry).map(|l| &l.tokens)
    }

    /// The circuit breaker of a registry (for health and tests).
    pub fn breaker(&self, registry: Registry) -> Option<&Breaker> {
        self.lane(registry).map(|l| &l.breaker)
    }

    /// Call `operation` with `payload` (its request element, namespaces declared on it). The call
    /// logs one line (target `reggate::registry`) in a span naming the request id, registry and
    /// operation: its outcome, the attempts made (hedges beside an attempt not counted; 0: not
    /// sent) and its latency, retries and waits included.
    pub async fn call(
        &self,
        ctx: &CallContext,
        operation: Operation,
        payload: &str,
    ) -> Result<Answer, CallError> {
        let envelope = Bytes::from(envelope(&ctx.request_id, payload));
        self.call_envelope(ctx, operation, envelope).await
    }

    /// [`call`](Self::call) with the whole envelope given as it is to be sent (a recorded request
    /// replayed by `reggate replay`): validated, sent, judged and logged exactly like a call's own.
    pub async fn call_envelope(
        &self,
        ctx: &CallContext,
        operation: Operation,
        envelope: Bytes,
    ) -> Result<Answer, CallError> {
        let registry = operation.registry();
        let span = tracing::info_span!(
            "registry_call",
            request_id = %ctx.request_id,
            registry = %registry,
            operation = %operation
        );
        async move {
            let started = Instant::now();
            let mut attempts = 0;
            let result = self
                .call_inner(ctx, operation, envelope, &mut attempts)
                .await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.kind(),
            };
            metrics::counter!(
                "reggate_registry_calls_total",
                "registry" => registry.name(),
                "operation" => operation.name(),
                "outcome" => outcome
            )
            .increment(1);
            // The error's text names paths, rules and codes; values in it are masked (CallError).
            match &result {
                Ok(_) => tracing::info!(
                    target: "reggate::registry",
                    outcome,
                    attempts,
                    latency_ms,
                    "registry call"
                ),
                Err(e) => tracing::warn!(
                    target: "reggate::registry",
                    outcome,
                    attempts,
                    latency_ms,
                    error = %e,
                    "registry call"
                ),
            }
            result
        }
        .instrument(span)
        .await
    }

    /// The call; `attempts` counts the attempts sent, whatever the outcome.
    async fn call_inner(
        &self,
        ctx: &CallContext,
        operation: Operation,
        envelope: Bytes,
        attempts: &mut u32,
    ) -> Result<Answer, CallError> {
        let registry = operation.registry();
        let started = Started::now(self.clock.as_ref());
        let report = {
            let _step = tracing::debug_span!("validate_request").entered();
            validate_bytes(&self.schema, &envelope, &self.options)
        };
        if !report.is_valid() {
            let error = CallError::InvalidRequest {
                operation,
                violations: Violation::from_report(&report),
            };
            self.log_attempt(
                ctx,
                operation,
                0,
                &envelope,
                None,
                &Err(error.clone()),
                started,
            );
            return Err(error);
        }
        let Some(lane) = self.lane(registry) else {
            return Err(CallError::Transport {
                registry,
                message: "no endpoint configured".into(),
            });
        };
        let deadline_after = ctx.deadline.unwrap_or(self.settings.call_deadline);
        let deadline = started.instant + deadline_after;
        let retry = self.settings.retry;
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_jitter()
            .with_max_times(retry.max_attempts.saturating_sub(1) as usize)
            .build();
        let mut attempt = 0u32;
        let mut token_refreshed = false;
        let mut previous: Option<CallError> = None;
        loop {
            attempt += 1;
            *attempts = attempt;
            let error = match self
                .hedged(ctx, lane, operation, &envelope, attempt, deadline)
                .await
            {
                Ok(mut answer) => {
                    answer.attempts = attempt;
                    return Ok(answer);
                }
                Err(e) => e,
            };
            if let (CallError::CircuitOpen { .. }, Some(cause)) = (&error, previous.take()) {
                // The breaker opened on this call's own failure: that failure is what the caller
                // must hear (a schema-invalid answer is not an outage), not the breaker.
                return Err(cause);
            }
            if error.is_fault(Reason::TokenExpired) && !token_refreshed {
                // The token manager dropped it; the retry gets a fresh one. Once per call.
                token_refreshed = true;
                continue;
            }
            if !error.retryable() || !operation.retry_safe() {
                return Err(error);
            }
            let Some(step) = backoff.next() else {
                return Err(error);
            };
            let delay = error.retry_after().map_or(step, |asked| asked.max(step));
            if Instant::now() + delay >= deadline {
                return Err(error);
            }
            metrics::counter!("reggate_registry_retries_total", "registry" => registry.name())
                .increment(1);
            tracing::info!(attempt, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            previous = Some(error);
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt — and, for a retry-safe call still unanswered after the hedge delay, another
    /// beside it, and so on up to the policy's parallel attempts (see [`crate::soap::hedge`]): the
    /// first answer wins and the others are dropped; a failure waits for the others' outcome.
    async fn hedged(
        &self,
        ctx: &CallContext,
        lane: &Lane,
        operation: Operation,
        envelope: &Bytes,
        attempt: u32,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let first = self.attempt(ctx, lane, operation, envelope, attempt, deadline);
        let after = lane.hedges.after().filter(|_| operation.retry_safe());
        let Some(after) = after else {
            return first.await;
        };
        lane.hedges.earn();
        type Attempt<'a> = Pin<Box<dyn Future<Output = Result<Answer, CallError>> + Send + 'a>>;
        let mut running: Vec<Attempt<'_>> = vec![Box::pin(first)];
        let mut timer = Some(Box::pin(tokio::time::sleep(after)));
        loop {
            let next = std::future::poll_fn(|cx| {
                for i in 0..running.len() {
                    if let Poll::Ready(outcome) = running[i].as_mut().poll(cx) {
                        drop(running.swap_remove(i));
                        return Poll::Ready(Some(outcome));
                    }
                }
                match timer.as_mut().map(|t| t.as_mut().poll(cx)) {
                    Some(Poll::Ready(())) => Poll::Ready(None),
                    _ => Poll::Pending,
                }
            })
            .await;
            match next {
                Some(Ok(answer)) => return Ok(answer),
                Some(Err(error)) if running.is_empty() => return Err(error),
                // Another attempt is still out: its outcome decides.
                Some(Err(_)) => {}
                None if running.len() < lane.hedges.parallel() && lane.hedges.spend() => {
                    metrics::counter!(
                        "reggate_registry_hedges_total",
                        "registry" => operation.registry().name()
                    )
                    .increment(1);
                    running.push(Box::pin(
                        self.attempt(ctx, lane, operation, envelope, attempt, deadline),
                    ));
                    timer = Some(Box::pin(tokio::time::sleep(after)));
                }
                // Out of budget or of parallel attempts: the running ones decide.
                None => timer = None,
            }
        }
    }

    /// One attempt: admission, token, send, judge, log.
    async fn attempt(
        &self,
        ctx: &CallContext,
        lane: &Lane,
        operation: Operation,
        envelope: &Bytes,
        attempt: u32,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let registry = operation.registry();
        let started = Started::now(self.clock.as_ref());
        let timeout = CallError::Timeout {
            registry,
            after: deadline.saturating_duration_since(started.instant),
        };
        if let Err(retry_in) = lane.breaker.admit() {
            return Err(CallError::CircuitOpen { registry, retry_in });
        }
        let Ok(Ok(_permit)) =
            tokio::time::timeout_at(deadline.into(), lane.in_flight.acquire()).await
        else {
            return Err(timeout);
        };
        let token = match tokio::time::timeout_at(deadline.into(), lane.tokens.token()).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                lane.breaker.failure();
                return Err(CallError::Token(e));
            }
            Err(_) => return Err(timeout),
        };
        let headers = headers(operation, &token, &ctx.request_id);
        let bound = (started.instant + self.settings.attempt_timeout).min(deadline);
        let sent = tokio::time::timeout_at(
            bound.into(),
            lane.transport
                .post(&lane.endpoint.url, &headers, envelope.clone())
                .instrument(tracing::debug_span!("send", attempt)),
        )
        .await;
        let (reply, result) = match sent {
            Err(_) => (
                None,
                Err(CallError::Timeout {
                    registry,
                    after: bound.saturating_duration_since(started.instant),
                }),
            ),
            Ok(Err(PostError::Io(message))) => {
                (None, Err(CallError::Transport { registry, message }))
            }
            // The registry answered, with more than any answer may be: a bad answer, named by the
            // limit, not an outage to wait out.
            Ok(Err(PostError::TooLarge { status })) => (
                None,
                Err(CallError::InvalidResponse {
                    operation,
                    status,
                    violations: vec![Violation {
                        path: "/".into(),
                        rule: "answer-size".into(),
                        message: format!("the answer is larger than {MAX_ANSWER} bytes"),
                    }],
                }),
            ),
            Ok(Ok(reply)) => {
                let judged = {
                    let _step = tracing::debug_span!("validate_response").entered();
                    judge(&self.schema, &self.options, operation, &reply)
                };
                (Some(reply), judged)
            }
        };
        match &result {
            Ok(_) => lane.breaker.success(),
            Err(e) if e.counts_against_registry() => lane.breaker.failure(),
            // The registry answered (a business fault, a rate limit): it is alive.
            Err(_) => lane.breaker.success(),
        }
        if let Err(e) = &result
            && e.is_fault(Reason::TokenExpired)
        {
            lane.tokens.invalidate(&token);
        }
        self.log_attempt(
            ctx,
            operation,
            attempt,
            envelope,
            reply.as_ref(),
            &result,
            started,
        );
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn log_attempt(
        &self,
        ctx: &CallContext,
        operation: Operation,
        attempt: u32,
        envelope: &[u8],
        reply: Option<&Reply>,
        result: &Result<Answer, CallError>,
        started: Started,
    ) {
        let duration = started.instant.elapsed();
        let direction = match result {
            Err(CallError::InvalidRequest { .. }) => Some("request"),
            Err(CallError::InvalidResponse { .. }) => Some("response"),
            _ => None,
        };
        if let Some(direction) = direction {
            metrics::counter!(
                "reggate_registry_validation_failures_total",
                "registry" => operation.registry().name(),
                "direction" => direction
            )
            .increment(1);
        }
        // Attempt 0 is a request refused before sending: no attempt to time.
        if attempt > 0 {
            metrics::histogram!(
                "reggate_registry_attempt_seconds",
                "registry" => operation.registry().name(),
                "operation" => operation.name()
            )
            .record(duration.as_secs_f64());
        }
        let bodies = self.settings.bodies;
        self.log.record(Exchange {
            at: started.at,
            request_id: ctx.request_id.clone(),
            registry: operation.registry(),
            operation,
            attempt,
            outcome: match result {
                Ok(_) => "ok".to_string(),
                Err(e) => e.kind().to_string(),
            },
            http_status: reply.map(|r| r.status),
            duration,
            request: bodies.keep(envelope),
            response: reply.and_then(|r| bodies.keep(&r.body)),
            error: result.as_ref().err().map(ToString::to_string),
        });
    }
}

/// The failure counters of a registry, registered at zero: they are on `/metrics` before the first
/// failure, so a rate over them starts from the start.
fn zero_series(registry: Registry) {
    let name = registry.name();
    metrics::counter!("reggate_registry_retries_total", "registry" => name).increment(0);
    metrics::counter!("reggate_registry_hedges_total", "registry" => name).increment(0);
    for direction in ["request", "response"] {
        metrics::counter!(
            "reggate_registry_validation_failures_total",
            "registry" => name,
            "direction" => direction
        )
        .increment(0);
    }
}

/// Trust nothing in an answer before it validates against `schema`; then tell a Fault from a
/// payload. Step 5 of the pipeline, a function of the reply alone (no network, no state), so the
/// fuzz target `soap_reply` and its regression tests run exactly what a call runs.
pub fn judge(
    schema: &Schema,
    options: &Options,
    operation: Operation,
    reply: &Reply,
) -> Result<Answer, CallError> {
    let status = reply.status;
    let xml = reply
        .content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("text/xml"));
    if !xml {
        if status == 200 {
            return Err(CallError::InvalidResponse {
                operation,
                status,
                violations: vec![Violation {
                    path: "/".into(),
                    rule: "content-type".into(),
                    message: format!(
                        "expected text/xml, got '{}'",
                        reply.content_type.as_deref().unwrap_or("")
                    ),
                }],
            });
        }
        return Err(CallError::Http {
            operation,
            status,
            retry_after: reply.retry_after,
        });
    }
    let report = validate_bytes(schema, &reply.body, options);
    if !report.is_valid() {
        return Err(CallError::InvalidResponse {
            operation,
            status,
            violations: Violation::from_report(&report),
        });
    }
    let payload = read_payload(&reply.body).map_err(|e| CallError::InvalidResponse {
        operation,
        status,
        violations: vec![Violation {
            path: "/Envelope/Body".into(),
            rule: "soap-body".into(),
            message: e.message,
        }],
    })?;
    if payload.ns.as_deref() == Some(SOAP_NS) && payload.element == "Fault" {
        // Read again as a tree: the registry's code is in `detail/cmn:RegistryFault`, told from
        // other detail elements by its namespace.
        let fault = Fault::read(&reply.body).ok().flatten();
        let (code, message, detail) = match fault {
            Some(f) => (f.code, f.message, f.detail),
            None => (
                payload.get("faultcode").unwrap_or("").to_string(),
                payload.get("faultstring").unwrap_or("").to_string(),
                None,
            ),
        };
        return Err(CallError::Fault {
            operation,
            status,
            code,
            message,
            detail,
            retry_after: reply.retry_after,
        });
    }
    let expected = operation.response_element();
    if status != 200
        || payload.ns.as_deref() != Some(operation.registry().namespace())
        || payload.element != expected
    {
        return Err(CallError::InvalidResponse {
            operation,
            status,
            violations: vec![Violation {
                path: format!("/Envelope/Body/{}", payload.element),
                rule: "soap-operation".into(),
                message: format!("expected {expected} with HTTP 200"),
            }],
        });
    }
    Ok(Answer {
        envelope: reply.body.clone(),
        payload,
        attempts: 0,
    })
}

/// The request headers of a call.
fn headers(operation: Operation, token: &str, request_id: &str) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = vec![
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        ),
        (
            HeaderName::from_static("soapaction"),
            HeaderValue::from_str(&format!("\"{}\"", operation.soap_action()))
                .unwrap_or_else(|_| HeaderValue::from_static("")),
        ),
    ];
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        out.push((header::AUTHORIZATION, v));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        out.push((HeaderName::from_static("x-request-id"), v));
    }
    out
}

/// The SOAP envelope of a call: the request id in a header block of reggate's namespace (the
/// envelope schema admits header blocks of any other namespace), the payload in the body.
pub fn envelope(request_id: &str, payload: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Header><rg:RequestId xmlns:rg="{GATEWAY_NS}">{}</rg:RequestId></soap:Header><soap:Body>{payload}</soap:Body></soap:Envelope>"#,
        quick_xml::escape::escape(request_id)
    )
}
