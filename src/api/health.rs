//! Probes for orchestrators: `/healthz` (the process answers) and `/readyz` (it can do its work).
//! Neither needs credentials: they name no application and no person.
//!
//! `/readyz` answers 200 `ready` or 200 `degraded` (serving, but something needs attention: a
//! certificate inside `ops.cert_warn_days`, a registry's circuit open — applications still queue),
//! and 503 `not_ready` when the gateway cannot do its work: the store does not answer, a certificate
//! has expired, the workers stopped, or the gateway is stopping (so load balancers drain it first).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::watch;

use crate::api::ApiState;
use crate::service::readiness::RegistryStates;
use crate::tls::live::LiveCerts;

/// How long `/readyz` waits for the store.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the probes and the admin endpoints look at beyond the store.
pub struct Ops {
    /// Every certificate the gateway serves.
    pub certs: Arc<LiveCerts>,
    /// The registries' circuits and tokens.
    pub registries: Arc<dyn RegistryStates>,
    /// Whether the workers' loop runs.
    pub workers: Alive,
    /// Turns true when the gateway stops.
    pub stopping: watch::Receiver<bool>,
}

/// Set while a task runs: [`Alive::guard`] clears it when the task ends, by return or by panic.
#[derive(Clone, Debug, Default)]
pub struct Alive(Arc<AtomicBool>);

impl Alive {
    /// Mark running until the guard drops.
    pub fn guard(&self) -> AliveGuard {
        self.0.store(true, Ordering::SeqCst);
        AliveGuard(self.0.clone())
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Clears its [`Alive`] when dropped.
pub struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// One check of `/readyz`.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// `store`, `workers`, `certificate:<role>`, `registry:<name>`, `stopping`.
    pub name: String,
    /// `ok`, `degraded` or `failed`.
    pub state: &'static str,
    /// Why, in words.
    pub reason: String,
}

fn check(name: impl Into<String>, state: &'static str, reason: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        state,
        reason: reason.into(),
    }
}

/// `GET /healthz`: the process is alive and answering.
pub async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "alive"})).into_response()
}

/// `GET /readyz`: each check with its state and reason; 503 when one failed.
pub async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    let checks = checks(&state).await;
    let status = if checks.iter().any(|c| c.state == "failed") {
        "not_ready"
    } else if checks.iter().any(|c| c.state == "degraded") {
        "degraded"
    } else {
        "ready"
    };
    let code = if status == "not_ready" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut response = (
        code,
        axum::Json(serde_json::json!({"status": status, "checks": checks})),
    )
        .into_response();
    response
        .extensions_mut()
        .insert(crate::api::problem::Documented);
    response
}

async fn checks(state: &ApiState) -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(
        match tokio::time::timeout(STORE_TIMEOUT, state.store.backlog()).await {
            Ok(Ok(backlog)) => check("store", "ok", format!("{backlog} applications waiting")),
            Ok(Err(e)) => check("store", "failed", e.to_string()),
            Err(_) => check(
                "store",
                "failed",
                format!("no answer within {} s", STORE_TIMEOUT.as_secs()),
            ),
        },
    );
    let Some(ops) = &state.ops else {
        return checks;
    };
    if *ops.stopping.borrow() {
        checks.push(check("stopping", "failed", "the gateway is stopping"));
    }
    checks.push(if ops.workers.get() {
        check("workers", "ok", "claiming and processing applications")
    } else {
        check("workers", "failed", "the workers' loop has ended")
    });
    for s in ops.certs.serving() {
        let days = s.seconds_left / 86_400;
        let (state, reason) = match s.state {
            "expired" => ("failed", format!("{} expired at {}", s.file, s.not_after)),
            "expiring" => (
                "degraded",
                format!("{} ends {} ({days} days left)", s.file, s.not_after),
            ),
            _ => ("ok", format!("ends {} ({days} days left)", s.not_after)),
        };
        checks.push(check(format!("certificate:{}", s.role), state, reason));
    }
    for r in ops.registries.states() {
        let state = if r.degraded { "degraded" } else { "ok" };
        checks.push(check(format!("registry:{}", r.registry), state, r.reason));
    }
    checks
}
