//! `GET /metrics`: everything the gateway records through the `metrics` crate, in the Prometheus
//! text format (exposition format 0.0.4), rendered by `metrics-exporter-prometheus`. It is served on
//! the API listener to any authenticated caller (a client certificate of the internal CA or an API
//! key): the series carry no personal data, but they describe the load and the registries' health.
//!
//! Here too: the one process-wide recorder ([`install`]), the description of every series
//! ([`describe`], the `# HELP` lines), and the HTTP series, recorded per request by
//! [`record_request`] (called where the request's log line is written) with the route template
//! axum's `MatchedPath` names (`/v1/applications/{id}`, never an id). The gauges
//! sampled from the store and the registries' lanes are set by the gateway's sampling task
//! ([`crate::gauges`]); the other series where they happen.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::Caller;
use super::problem::Problem;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Buckets of every `_seconds` histogram: from a fast local call (5 ms) to a registry's whole
/// deadline (a minute).
pub const SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets of the token age at refresh: tokens live minutes to hours.
pub const TOKEN_AGE_SECONDS: &[f64] = &[
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 86400.0,
];

/// Buckets of every other histogram (counts: applications per claim, writes per group).
pub const COUNTS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How often the recorder's upkeep runs (histogram samples drained even when nobody scrapes).
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the Prometheus recorder, once per process (tests start several gateways in one), with
/// its upkeep thread; later calls return the same handle. `None`: another recorder was installed
/// first (by a program embedding the library), and `/metrics` answers 503.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(COUNTS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS))
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("reggate_token_age_at_refresh_seconds".into()),
                        TOKEN_AGE_SECONDS,
                    )
                })
                .expect("bucket lists are not empty");
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics answers 503");
                    return None;
                }
            };
            describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no metrics upkeep thread; histograms drain at scrapes only");
            }
            Some(handle)
        })
        .as_ref()
}

/// `GET /metrics`.
pub async fn scrape(_caller: Caller) -> Response {
    match install() {
        Some(handle) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], handle.render()).into_response(),
        None => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics-unavailable",
            "Metrics are not exported",
            "another metrics recorder was installed in this process",
        )
        .into_response(),
    }
}

/// Count and time one answered request by route template, method and status: called by
/// [`crate::api::request_id::in_span`], which every answer passes (a handler's, an extractor's
/// refusal, the router's fallbacks, a panic's) and which logs the same request's line.
pub fn record_request(route: &str, method: &Method, status: u16, took: Duration) {
    let labels = [
        ("route", route.to_string()),
        ("method", method_label(method).to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!("reggate_http_requests_total", &labels).increment(1);
    metrics::histogram!("reggate_http_request_duration_seconds", &labels)
        .record(took.as_secs_f64());
}

/// The method as a label: the standard ones by name, anything else `other` (a caller must not
/// be able to mint series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Every series the gateway records, described in one place (the `# HELP` lines). Labels never
/// carry personal data nor application ids: routes are templates, the rest are closed sets
/// (registries, operations, outcomes, statuses) or names from the configuration.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    // HTTP API.
    describe_counter!(
        "reggate_http_requests_total",
        "API requests answered, by route template, method and status"
    );
    describe_histogram!(
        "reggate_http_request_duration_seconds",
        Unit::Seconds,
        "API request latency until the response head, by route template, method and status"
    );
    describe_counter!(
        "reggate_api_connections_refused_total",
        "API connections refused at accept (connection limit reached)"
    );
    describe_counter!(
        "reggate_api_connections_timed_out_total",
        "API connections closed for slowness, by phase (handshake, head, body, send, idle)"
    );
    // Registries.
    describe_counter!(
        "reggate_registry_calls_total",
        "Registry calls finished (all attempts), by registry, operation and outcome (ok or the error kind)"
    );
    describe_histogram!(
        "reggate_registry_attempt_seconds",
        Unit::Seconds,
        "Latency of one attempt of a registry call, by registry and operation"
    );
    describe_counter!(
        "reggate_registry_retries_total",
        "Registry call attempts retried after a retryable failure, by registry"
    );
    describe_counter!(
        "reggate_registry_hedges_total",
        "Hedged (parallel) attempts sent after the hedge delay, by registry"
    );
    describe_counter!(
        "reggate_registry_validation_failures_total",
        "Messages failing validation, by registry and direction (request: outgoing, not sent; response: incoming, not trusted)"
    );
    describe_gauge!(
        "reggate_registry_circuit_state",
        "Circuit breaker state per registry: 1 for the current state (closed, half_open, open), 0 for the others"
    );
    describe_gauge!(
        "reggate_registry_token_age_seconds",
        Unit::Seconds,
        "Age of the access token held for a registry (0 while none is held)"
    );
    describe_counter!(
        "reggate_token_refreshes_total",
        "Access tokens obtained from a registry's token endpoint, by registry"
    );
    describe_histogram!(
        "reggate_token_age_at_refresh_seconds",
        Unit::Seconds,
        "Age of the token a refresh replaced, by registry"
    );
    describe_gauge!(
        "reggate_message_log_queue_depth",
        "Registry exchanges recorded but not yet written to the message log"
    );
    // Applications and workers.
    describe_gauge!(
        "reggate_applications",
        "Applications in each open (not final) status, sampled from the store"
    );
    describe_gauge!(
        "reggate_backlog_applications",
        "Applications submitted with every document and waiting for a worker (what admission bounds)"
    );
    describe_gauge!(
        "reggate_applications_parked",
        "Applications whose registry checks wait for their next attempt after a registry failure"
    );
    describe_gauge!(
        "reggate_parked_oldest_age_seconds",
        Unit::Seconds,
        "How long the longest-parked application has waited (0 when none is parked)"
    );
    describe_counter!(
        "reggate_worker_claims_total",
        "Applications claimed by this process's workers"
    );
    describe_histogram!(
        "reggate_claim_batch",
        "Applications per claim of the worker loop"
    );
    describe_gauge!(
        "reggate_applications_in_flight",
        "Applications this process's workers are processing"
    );
    describe_counter!(
        "reggate_leases_renewed_total",
        "Leases renewed by this process's workers"
    );
    describe_counter!(
        "reggate_processed_total",
        "Applications processed by the workers, by outcome (decided, parked, escalated, lost, error)"
    );
    describe_counter!(
        "reggate_decisions_total",
        "Decisions the workers wrote, by the status decided (approved, rejected, needs_clarification)"
    );
    describe_counter!(
        "reggate_answers_purged_total",
        "Applications whose registry answers were purged after the appeal window"
    );
    describe_histogram!(
        "reggate_store_group_writes",
        "Writes committed per SQLite transaction group"
    );
    // Webhooks.
    describe_counter!(
        "reggate_webhook_deliveries_total",
        "Webhook delivery attempts, by subscription and outcome (ok, retry)"
    );
    describe_gauge!(
        "reggate_webhook_lag_seconds",
        Unit::Seconds,
        "Age of the oldest event not yet delivered to a subscription (0 when it is up to date)"
    );
    // Certificates (recorded by the certificate checks, by role).
    describe_gauge!(
        "reggate_certificate_expiry_seconds",
        Unit::Seconds,
        "Seconds until a certificate in use expires, by role"
    );
    describe_gauge!(
        "reggate_certificate_not_after_seconds",
        Unit::Seconds,
        "End of validity of a certificate in use, Unix time, by role"
    );
    describe_counter!(
        "reggate_certificate_reloads_total",
        "Certificate reloads per role and outcome (replaced, unchanged, refused)"
    );
}
