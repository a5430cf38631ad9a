//! Errors in one format and the request id on every answer, through the router as tests/api.rs
//! builds it (SQLite store, registries faked, `oneshot` without a socket): a table of the refusals
//! axum, the extractors and the body reader produce, each RFC 9457 problem+json with the JSON
//! pointer of the field at fault; then every route, answering with `x-request-id`, the caller's
//! when usable.

#[path = "support/api_state.rs"]
mod api_state;

use std::collections::HashMap;
use std::sync::Arc;

use api_state::{application, pdf};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use reggate::api::router;
use reggate::domain::answers::{Answer, Question};
use reggate::domain::ports::{CheckFailure, FailureKind, Pending, RegistryChecks};
use reggate::domain::valid::ValidApplication;
use reggate::registries::messages::{NewAssignment, Registration};
use reggate::store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

const AUTH: (&str, &str) = ("authorization", "Bearer test-key-1");
const REVIEWER: (&str, &str) = ("authorization", "Bearer reviewer-key");
const JSON: (&str, &str) = ("content-type", "application/json");
/// What the registries' failure says: internal text that must never reach a caller.
const SECRET: &str = "registry.internal:8443 SNILS 112-233-445 95";

/// Registries that are down, or that panic (a bug in a handler's path).
struct Fake {
    panic: bool,
}

fn secret() -> CheckFailure {
    CheckFailure {
        registry: "snils".into(),
        kind: FailureKind::Outage,
        reason: SECRET.into(),
        retry_after: None,
    }
}

impl RegistryChecks for Fake {
    fn ask<'a>(
        &'a self,
        _: &'a str,
        _: &'a ValidApplication,
        _: &'a [Question],
    ) -> Pending<'a, Vec<Answer>> {
        Box::pin(async move {
            assert!(!self.panic, "{SECRET}");
            Err(secret())
        })
    }

    fn register<'a>(&'a self, _: &'a str, _: &'a NewAssignment) -> Pending<'a, Registration> {
        Box::pin(async move { Err(secret()) })
    }
}

struct Api {
    app: axum::Router,
    store: Arc<dyn Store>,
}

fn api(name: &str, panic: bool) -> Api {
    let dir = std::env::temp_dir().join(format!("reggate-errors-{name}-{}", std::process::id()));
    let (state, store, _) = api_state::state(&dir, Arc::new(Fake { panic }), 1000);
    Api {
        app: router(Arc::new(state)),
        store,
    }
}

struct Reply {
    status: StatusCode,
    headers: HashMap<String, String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(body.into()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A submitted application's id.
async fn submitted(a: &Api, key: &str) -> String {
    let r = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[AUTH, JSON, ("idempotency-key", key)],
        application().to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    r.json()["id"].as_str().expect("id").to_string()
}

/// One refusal: the request, and what the problem must say.
struct Case {
    name: &'static str,
    method: &'static str,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: String,
    status: StatusCode,
    /// The pointer of `errors[0]`, where a field or parameter is at fault.
    pointer: Option<&'static str>,
    /// Text the answer must not contain (the caller's value, internal text).
    hidden: &'static [&'static str],
}

#[tokio::test]
async fn every_refusal_is_problem_json_naming_the_field() {
    let a = api("table", false);
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut v = application();
        edit(&mut v);
        v.to_string()
    };
    let submit: &[(&str, &str)] = &[AUTH, JSON, ("idempotency-key", "t1")];
    let cases = [
        Case {
            name: "unknown path",
            method: "GET",
            uri: "/v1/nothing-here",
            headers: &[AUTH],
            body: String::new(),
            status: StatusCode::NOT_FOUND,
            pointer: None,
            hidden: &[],
        },
        Case {
            name: "wrong method",
            method: "DELETE",
            uri: "/v1/applications",
            headers: &[AUTH],
            body: String::new(),
            status: StatusCode::METHOD_NOT_ALLOWED,
            pointer: None,
            hidden: &[],
        },
        Case {
            name: "oversized JSON body",
            method: "POST",
            uri: "/v1/applications",
            headers: submit,
            body: format!("{{\"benefit\": \"{}\"}}", "x".repeat(300 * 1024)),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            pointer: None,
            hidden: &["xxxx"],
        },
        Case {
            name: "text/plain body",
            method: "POST",
            uri: "/v1/applications",
            headers: &[
                AUTH,
                ("content-type", "text/plain"),
                ("idempotency-key", "t2"),
            ],
            body: application().to_string(),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            pointer: None,
            hidden: &[],
        },
        Case {
            name: "bad query",
            method: "GET",
            uri: "/v1/events?after=abc",
            headers: &[AUTH],
            body: String::new(),
            status: StatusCode::BAD_REQUEST,
            pointer: Some("?after"),
            hidden: &["abc"],
        },
        Case {
            name: "unknown query parameter",
            method: "GET",
            uri: "/v1/applications?colour=red",
            headers: &[AUTH],
            body: String::new(),
            status: StatusCode::BAD_REQUEST,
            pointer: Some("?colour"),
            hidden: &["red"],
        },
        Case {
            name: "bad JSON syntax",
            method: "POST",
            uri: "/v1/applications",
            headers: submit,
            body: "{\"benefit\": ".into(),
            status: StatusCode::BAD_REQUEST,
            pointer: Some("/benefit"),
            hidden: &[],
        },
        Case {
            name: "trailing bytes",
            method: "POST",
            uri: "/v1/eligibility",
            headers: &[AUTH, JSON],
            body: format!("{} x", application()),
            status: StatusCode::BAD_REQUEST,
            pointer: Some(""),
            hidden: &[],
        },
        Case {
            name: "wrong type",
            method: "POST",
            uri: "/v1/applications",
            headers: submit,
            body: with(&|v| v["applicant"]["birth_date"] = json!(19_940_312)),
            status: StatusCode::BAD_REQUEST,
            pointer: Some("/applicant/birth_date"),
            hidden: &["19940312"],
        },
        Case {
            name: "wrong type in an array",
            method: "POST",
            uri: "/v1/eligibility",
            headers: &[AUTH, JSON],
            body: with(&|v| v["documents"][0]["size"] = json!("98765")),
            status: StatusCode::BAD_REQUEST,
            pointer: Some("/documents/0/size"),
            hidden: &["98765"],
        },
        Case {
            name: "unknown field",
            method: "POST",
            uri: "/v1/applications",
            headers: submit,
            body: with(&|v| v["applicant"]["frist_name"] = json!("Мария")),
            status: StatusCode::BAD_REQUEST,
            pointer: Some("/applicant/frist_name"),
            hidden: &["Мария"],
        },
        Case {
            name: "unauthenticated",
            method: "GET",
            uri: "/v1/applications",
            headers: &[],
            body: String::new(),
            status: StatusCode::UNAUTHORIZED,
            pointer: None,
            hidden: &[],
        },
        Case {
            name: "no such application",
            method: "POST",
            uri: "/v1/applications/none/decision",
            headers: &[REVIEWER, JSON],
            body: json!({"decision": "approved", "comment": "ok"}).to_string(),
            status: StatusCode::NOT_FOUND,
            pointer: None,
            hidden: &[],
        },
    ];
    for case in cases {
        let r = call(&a.app, case.method, case.uri, case.headers, case.body).await;
        let name = case.name;
        assert_eq!(r.status, case.status, "{name}: {}", r.text);
        assert_eq!(
            r.header("content-type"),
            "application/problem+json",
            "{name}"
        );
        assert!(
            !r.header("x-request-id").is_empty(),
            "{name}: no request id"
        );
        let p = r.json();
        assert!(
            p["type"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: {p}"
        );
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: {p}"
        );
        assert_eq!(p["status"], case.status.as_u16(), "{name}: {p}");
        if let Some(pointer) = case.pointer {
            assert_eq!(p["errors"][0]["pointer"], pointer, "{name}: {p}");
            assert!(p["errors"][0]["code"].is_string(), "{name}: {p}");
            assert!(p["errors"][0]["message"].is_string(), "{name}: {p}");
        }
        for hidden in case.hidden {
            assert!(
                !r.text.contains(hidden),
                "{name} echoes {hidden}: {}",
                r.text
            );
        }
    }
    assert_eq!(
        a.store.backlog().await.expect("backlog"),
        0,
        "nothing stored"
    );
}

#[tokio::test]
async fn wrong_methods_say_which_are_allowed() {
    let a = api("allow", false);
    let r = call(&a.app, "PUT", "/v1/events", &[AUTH], "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.header("allow").contains("GET"), "{:?}", r.headers);
}

#[tokio::test]
async fn internal_failures_are_logged_not_answered() {
    let down = api("down", false);
    let r = call(
        &down.app,
        "POST",
        "/v1/eligibility",
        &[AUTH, JSON],
        application().to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!r.header("x-request-id").is_empty());

    let panicking = api("panic", true);
    let r = call(
        &panicking.app,
        "POST",
        "/v1/eligibility",
        &[AUTH, JSON, ("x-request-id", "panic-1")],
        application().to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(r.header("x-request-id"), "panic-1");
    assert_eq!(r.json()["status"], 500, "{}", r.text);
    assert!(!r.text.contains(SECRET), "{}", r.text);
}

/// A request: method, path, headers, body.
type Route<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, String);

#[tokio::test]
async fn every_route_answers_with_the_request_id() {
    let a = api("routes", false);
    let id = submitted(&a, "r1").await;
    let app = format!("/v1/applications/{id}");
    let routes: Vec<Route> = vec![
        ("GET", "/v1/health".into(), vec![], String::new()),
        ("GET", "/openapi.json".into(), vec![], String::new()),
        ("GET", "/v1/applications".into(), vec![AUTH], String::new()),
        ("GET", "/v1/applications".into(), vec![], String::new()),
        (
            "POST",
            "/v1/applications".into(),
            vec![AUTH, JSON, ("idempotency-key", "r1")],
            application().to_string(),
        ),
        (
            "POST",
            "/v1/eligibility".into(),
            vec![AUTH, JSON],
            application().to_string(),
        ),
        (
            "GET",
            "/v1/applications/export.csv".into(),
            vec![AUTH],
            String::new(),
        ),
        ("GET", app.clone(), vec![AUTH], String::new()),
        ("GET", format!("{app}/receipt"), vec![AUTH], String::new()),
        (
            "GET",
            format!("{app}/receipt?format=pdf"),
            vec![AUTH],
            String::new(),
        ),
        (
            "PUT",
            format!("{app}/documents/passport"),
            vec![AUTH],
            pdf("passport"),
        ),
        (
            "POST",
            format!("{app}/clarification"),
            vec![AUTH, JSON],
            "{}".into(),
        ),
        (
            "POST",
            format!("{app}/appeal"),
            vec![AUTH, JSON],
            json!({"arguments": "wrong"}).to_string(),
        ),
        (
            "POST",
            format!("{app}/decision"),
            vec![AUTH, JSON],
            "{}".into(),
        ),
        ("GET", "/v1/events".into(), vec![AUTH], String::new()),
        ("GET", "/v1/events?after=0".into(), vec![], String::new()),
    ];
    for (method, uri, headers, body) in routes {
        let fresh = call(&a.app, method, &uri, &headers, body.clone()).await;
        let generated = fresh.header("x-request-id");
        assert!(
            generated.len() == 36 && generated.bytes().filter(|b| *b == b'-').count() == 4,
            "{method} {uri} ({}): generated id {generated:?}",
            fresh.status
        );
        let mut with_id = headers.clone();
        with_id.push(("x-request-id", "cabinet-7.req_42"));
        let echoed = call(&a.app, method, &uri, &with_id, body.clone()).await;
        assert_eq!(
            echoed.header("x-request-id"),
            "cabinet-7.req_42",
            "{method} {uri}"
        );
        for unusable in ["has space", "bad/slash", &"x".repeat(65), "semi;colon"] {
            let mut with_bad = headers.clone();
            with_bad.push(("x-request-id", unusable));
            let replaced = call(&a.app, method, &uri, &with_bad, body.clone()).await;
            let got = replaced.header("x-request-id");
            assert!(
                got.len() == 36 && got != unusable,
                "{method} {uri}: {unusable:?} answered as {got:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_journal_records_the_id_the_response_carries() {
    let a = api("journal", false);
    let r = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[AUTH, JSON, ("idempotency-key", "j1")],
        application().to_string(),
    )
    .await;
    let answered = r.header("x-request-id").to_string();
    assert_eq!(answered.len(), 36);
    let id = r.json()["id"].as_str().expect("id").to_string();
    let record = a.store.get(&id).await.expect("get").expect("stored");
    assert_eq!(record.journal[0].request_id, answered);
}

#[tokio::test]
async fn the_openapi_document_promises_what_is_answered() {
    let a = api("openapi", false);
    let doc = call(&a.app, "GET", "/openapi.json", &[], "").await.json();
    let problem = &doc["components"]["responses"]["Problem"];
    assert!(problem["headers"]["x-request-id"].is_object());
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.contains_key("default"),
                "{method} {path}: no default problem"
            );
            for (code, response) in responses {
                assert!(
                    response["$ref"] == "#/components/responses/Problem"
                        || response["headers"]["x-request-id"].is_object(),
                    "{method} {path} {code}: no x-request-id"
                );
            }
            if op["requestBody"]["content"]["application/json"].is_object() {
                assert!(responses.contains_key("415"), "{method} {path}: no 415");
            }
        }
    }
}
