//! The mock's admin endpoint (plain HTTP, meant for loopback): change the fault plan at run time and
//! read the counters, so integration tests and testers steer the registries while they run.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /admin/health` | `{"status":"ok","endpoints":{registry: url}}` |
//! | `GET /admin/faults` | the plan in force (spent rules gone, `times` counting down) |
//! | `PUT /admin/faults` | replace the whole plan (the `--faults` document as JSON) |
//! | `PUT /admin/faults/{registry}` | replace one registry's rules (a JSON array of rules) |
//! | `DELETE /admin/faults[/{registry}]` | no faults (for one registry) |
//! | `GET /admin/counters` | counts by registry ([`RegistryCounts`](super::counters::RegistryCounts)) |
//! | `DELETE /admin/counters` | start counting from zero |
//!
//! A wrong plan is refused whole with 400 and a problem+json whose `detail` names the rule and field
//! (`snils[1].share: …`); the plan in force stays as it was.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::contract::Registry;
use crate::mock::faults::{Plan, Rule};
use crate::mock::state::MockState;

#[derive(Clone)]
struct Admin {
    state: Arc<MockState>,
    endpoints: Vec<(Registry, SocketAddr)>,
}

/// The admin router for `state`, reporting `endpoints` in its health document.
pub fn router(state: Arc<MockState>, endpoints: Vec<(Registry, SocketAddr)>) -> Router {
    Router::new()
        .route("/admin/health", get(health))
        .route(
            "/admin/faults",
            get(get_plan).put(put_plan).delete(clear_plan),
        )
        .route(
            "/admin/faults/{registry}",
            get(get_rules).put(put_rules).delete(clear_rules),
        )
        .route("/admin/counters", get(counters).delete(reset_counters))
        .with_state(Admin { state, endpoints })
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string_pretty(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn no_such_registry(name: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "no such registry",
        &format!("'{name}' is not one of snils, inn, children, labour"),
    )
}

async fn health(State(admin): State<Admin>) -> Response {
    let endpoints: serde_json::Map<String, serde_json::Value> = admin
        .endpoints
        .iter()
        .map(|(r, a)| {
            let url = format!("https://localhost:{}/registry/{r}", a.port());
            (r.name().to_string(), url.into())
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"status": "ok", "endpoints": endpoints}),
    )
}

async fn get_plan(State(admin): State<Admin>) -> Response {
    json(StatusCode::OK, &admin.state.faults.plan())
}

async fn put_plan(State(admin): State<Admin>, body: Bytes) -> Response {
    let plan: Plan = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "not a fault plan", &e.to_string()),
    };
    match admin.state.faults.set_plan(&plan) {
        Ok(()) => json(StatusCode::OK, &admin.state.faults.plan()),
        Err(e) => problem(StatusCode::BAD_REQUEST, "invalid fault rule", &e),
    }
}

async fn clear_plan(State(admin): State<Admin>) -> Response {
    let _ = admin.state.faults.set_plan(&Plan::default());
    StatusCode::NO_CONTENT.into_response()
}

async fn get_rules(State(admin): State<Admin>, Path(name): Path<String>) -> Response {
    match Registry::from_name(&name) {
        Some(r) => json(StatusCode::OK, &admin.state.faults.plan().rules(r)),
        None => no_such_registry(&name),
    }
}

async fn put_rules(State(admin): State<Admin>, Path(name): Path<String>, body: Bytes) -> Response {
    let Some(registry) = Registry::from_name(&name) else {
        return no_such_registry(&name);
    };
    let rules: Vec<Rule> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "not a list of fault rules",
                &e.to_string(),
            );
        }
    };
    match admin.state.faults.set_rules(registry, &rules) {
        Ok(()) => json(StatusCode::OK, &admin.state.faults.plan().rules(registry)),
        Err(e) => problem(StatusCode::BAD_REQUEST, "invalid fault rule", &e),
    }
}

async fn clear_rules(State(admin): State<Admin>, Path(name): Path<String>) -> Response {
    match Registry::from_name(&name) {
        Some(r) => {
            let _ = admin.state.faults.set_rules(r, &[]);
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_such_registry(&name),
    }
}

async fn counters(State(admin): State<Admin>) -> Response {
    json(StatusCode::OK, &admin.state.counters.snapshot())
}

async fn reset_counters(State(admin): State<Admin>) -> Response {
    admin.state.counters.reset();
    StatusCode::NO_CONTENT.into_response()
}
