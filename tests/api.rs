//! The HTTP API on the SQLite store with registries faked (their real behaviour is covered by
//! tests/process.rs and tests/pipeline.rs): authentication, idempotent submission, every error path
//! answered as problem+json, admission control, reading back, events, eligibility dry runs.

#[path = "support/api_state.rs"]
mod api_state;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api_state::{application, pdf};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use reggate::api::router;
use reggate::clock::{Clock, ManualClock};
use reggate::domain::answers::{Answer, Question};
use reggate::domain::eligibility::Facts;
use reggate::domain::identifiers::snils_from_body;
use reggate::domain::ports::{CheckFailure, FailureKind, Pending, RegistryChecks};
use reggate::domain::status::Status;
use reggate::domain::valid::ValidApplication;
use reggate::ids::sha256_hex;
use reggate::registries::messages::{
    BirthRecord, NewAssignment, RecordPerson, Registration, Verdict,
};
use reggate::store::{Store, Transition, Transitioned};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Registries that confirm whatever the application says, or are down.
struct Fake {
    down: bool,
}

fn outage(registry: &str) -> CheckFailure {
    CheckFailure {
        registry: registry.into(),
        kind: FailureKind::Outage,
        reason: format!("{registry} registry answered with HTTP 503"),
        retry_after: None,
    }
}

impl RegistryChecks for Fake {
    fn ask<'a>(
        &'a self,
        _: &'a str,
        app: &'a ValidApplication,
        questions: &'a [Question],
    ) -> Pending<'a, Vec<Answer>> {
        Box::pin(async move {
            if self.down {
                return Err(outage("children"));
            }
            let person = |last: &str, first: &str, birth: &str, snils: &str| RecordPerson {
                last_name: last.into(),
                first_name: first.into(),
                middle_name: None,
                birth_date: birth.into(),
                snils: Some(snils.into()),
                role: None,
            };
            let a = &app.applicant;
            let c = &app.child;
            let facts = Facts {
                applicant_snils: Verdict::Match,
                applicant_inn: Verdict::Match,
                birth_record: Some(BirthRecord {
                    status: "active".into(),
                    child: RecordPerson {
                        middle_name: c.middle_name.clone(),
                        ..person(&c.last_name, "Пётр", &c.birth_date, &c.snils)
                    },
                    parents: vec![person(
                        &a.last_name,
                        &a.first_name,
                        &a.birth_date,
                        app.applicant().snils.as_str(),
                    )],
                }),
                statuses: Some(Vec::new()),
                assignments: Vec::new(),
                own_approved: Vec::new(),
            };
            Ok(questions
                .iter()
                .map(|q| match q {
                    Question::ApplicantSnils => {
                        Answer::ApplicantSnils(facts.applicant_snils.clone())
                    }
                    Question::ApplicantInn => Answer::ApplicantInn(facts.applicant_inn.clone()),
                    Question::BirthRecord => Answer::BirthRecord(facts.birth_record.clone()),
                    Question::FamilyStatuses => Answer::FamilyStatuses(facts.statuses.clone()),
                    Question::ChildAssignments => {
                        Answer::ChildAssignments(facts.assignments.clone())
                    }
                })
                .collect())
        })
    }

    fn register<'a>(&'a self, _: &'a str, _: &'a NewAssignment) -> Pending<'a, Registration> {
        Box::pin(async move {
            if self.down {
                return Err(outage("labour"));
            }
            Ok(Registration::Registered {
                assignment_id: "77-2026-0000000042".into(),
                fresh: true,
            })
        })
    }
}

struct Api {
    app: axum::Router,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

fn api(name: &str, backlog_limit: u64, down: bool) -> Api {
    let dir = std::env::temp_dir().join(format!("reggate-api-{name}-{}", std::process::id()));
    let (state, store, clock) = api_state::state(&dir, Arc::new(Fake { down }), backlog_limit);
    Api {
        app: router(Arc::new(state)),
        store,
        clock,
    }
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> (StatusCode, HashMap<String, String>, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .header("content-type", "application/json")
        .body(Body::from(body.as_ref().to_vec()))
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let heads = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, heads, value)
}

const AUTH: (&str, &str) = ("authorization", "Bearer test-key-1");

#[tokio::test]
async fn submitting_is_authenticated_idempotent_and_readable() {
    let a = api("submit", 1000, false);
    let body = application().to_string();
    let (status, _, problem) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[("idempotency-key", "k1")],
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["status"], 401);
    let (status, _, _) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[("authorization", "Bearer wrong"), ("idempotency-key", "k1")],
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, problem) = call(&a.app, "POST", "/v1/applications", &[AUTH], &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Idempotency-Key")
    );

    let headers = [
        AUTH,
        ("idempotency-key", "k1"),
        ("x-request-id", "req-abc"),
        ("x-forwarded-for", "203.0.113.9, 10.0.0.1"),
    ];
    let (status, heads, created) = call(&a.app, "POST", "/v1/applications", &headers, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(
        heads.get("x-request-id").map(String::as_str),
        Some("req-abc")
    );
    let id = created["id"].as_str().expect("id").to_string();
    let number = created["number"].as_str().expect("number").to_string();
    assert!(number.starts_with("RG-20260701-"), "{number}");
    assert_eq!(created["submitted_at"], "2026-07-01T10:00:00Z");
    assert_eq!(
        heads.get("location").map(String::as_str),
        Some(format!("/v1/applications/{id}").as_str())
    );

    // The same key and body: the same application. Another body: 409.
    let (status, _, again) = call(&a.app, "POST", "/v1/applications", &headers, &body).await;
    assert_eq!(
        (status, &again["id"]),
        (StatusCode::ACCEPTED, &created["id"])
    );
    let mut other = application();
    other["child"]["first_name"] = json!("Павел");
    let (status, _, problem) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &headers,
        &other.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        problem["type"],
        "urn:reggate:problem:idempotency-key-reused"
    );

    for key in [id.as_str(), number.as_str()] {
        let (status, _, view) = call(
            &a.app,
            "GET",
            &format!("/v1/applications/{key}"),
            &[AUTH],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(view["status"], "submitted");
        assert_eq!(view["journal"][0]["actor"], "key:cabinet-1");
        assert_eq!(view["journal"][0]["origin"], "203.0.113.9");
        assert_eq!(view["journal"][0]["request_id"], "req-abc");
        assert_eq!(view["overdue"], false);
    }
    let (status, _, _) = call(&a.app, "GET", "/v1/applications/RG-nothing", &[AUTH], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, feed) = call(&a.app, "GET", "/v1/events?after=0", &[AUTH], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feed["events"][0]["kind"], "submitted");
    assert_eq!(feed["events"][0]["number"], number.as_str());
    let next = feed["next"].as_i64().expect("cursor");
    let (_, _, rest) = call(
        &a.app,
        "GET",
        &format!("/v1/events?after={next}"),
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn bad_input_is_answered_with_every_field_named() {
    let a = api("bad-input", 1000, false);
    let headers = [AUTH, ("idempotency-key", "k2")];
    let (status, _, problem) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &headers,
        "{\"benefit\": ",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["type"], "urn:reggate:problem:malformed-json");
    // Nesting is bounded: the typed input refuses any shape it does not know.
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let (status, _, _) = call(&a.app, "POST", "/v1/applications", &headers, &deep).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut typo = application();
    typo["applicant"]["frist_name"] = json!("x");
    let (_, _, problem) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &headers,
        &typo.to_string(),
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("frist_name"),
        "{problem}"
    );

    let mut bad = application();
    bad["applicant"]["phone"] = json!("12345");
    bad["child"]["birth_certificate"]["series"] = json!("4-AB");
    bad["documents"][0]["media_type"] = json!("text/plain");
    let (status, _, problem) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &headers,
        &bad.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(
        pointers,
        [
            "/applicant/phone",
            "/child/birth_certificate/series",
            "/documents/0/media_type"
        ]
    );

    let mut no_inn = application();
    no_inn["applicant"]
        .as_object_mut()
        .expect("object")
        .remove("inn");
    let (status, _, problem) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &headers,
        &no_inn.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["type"], "urn:reggate:problem:missing-identifier");
    assert_eq!(
        a.store.backlog().await.expect("backlog"),
        0,
        "nothing stored"
    );

    let huge = format!("{{\"benefit\": \"{}\"}}", "x".repeat(300 * 1024));
    let (status, _, _) = call(&a.app, "POST", "/v1/applications", &headers, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_full_backlog_answers_429_and_loses_nothing_accepted() {
    let a = api("backlog", 1, false);
    let submit = |key: &'static str, body: String| {
        let app = a.app.clone();
        async move {
            let headers = [AUTH, ("idempotency-key", key)];
            call(&app, "POST", "/v1/applications", &headers, &body).await
        }
    };
    let body = application().to_string();
    let (status, _, first) = submit("a", body.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mut second = application();
    second["child"]["snils"] = json!(format!("{:011}", snils_from_body(334_455_667)));
    let second = second.to_string();
    let (status, heads, problem) = submit("b", second.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(heads.get("retry-after").map(String::as_str), Some("5"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("nothing was stored")
    );
    // Waiting for its documents it is the citizen's backlog, not the workers': not counted.
    assert_eq!(a.store.backlog().await.expect("backlog"), 0);
    upload_all(&a, first["id"].as_str().expect("id")).await;
    assert_eq!(
        a.store.backlog().await.expect("backlog"),
        1,
        "the accepted one is kept, waiting for a worker"
    );
    // The retry of the accepted one is still answered with it; the key with another body is 409.
    let (status, _, again) = submit("a", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["id"], first["id"]);
    let (status, _, _) = submit("a", second.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A worker takes it up; after the next recount the backlog has room again.
    let claimed = a
        .store
        .claim("w", a.clock.now(), Duration::from_secs(60))
        .await
        .expect("claim");
    assert!(claimed.is_some());
    // Until the clock moves past the recount the estimate stands (the worker's claim is not seen).
    let (status, _, _) = submit("b", second.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    a.clock.advance(reggate::api::admission::RECOUNT);
    let (status, _, created) = submit("b", second).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
}

#[tokio::test]
async fn eligibility_is_a_dry_run() {
    let a = api("eligibility", 1000, false);
    let (status, _, answer) = call(
        &a.app,
        "POST",
        "/v1/eligibility",
        &[AUTH],
        &application().to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["eligible"], true);
    let mut wrong = application();
    wrong["child"]["first_name"] = json!("Павел");
    let (_, _, answer) = call(
        &a.app,
        "POST",
        "/v1/eligibility",
        &[AUTH],
        &wrong.to_string(),
    )
    .await;
    assert_eq!(answer["outcome"], "needs_clarification");
    assert_eq!(answer["reasons"][0]["pointer"], "/child/first_name");
    assert_eq!(
        a.store.events_after(0, 10).await.expect("events").len(),
        0,
        "nothing stored"
    );

    let down = api("eligibility-down", 1000, true);
    let (status, heads, problem) = call(
        &down.app,
        "POST",
        "/v1/eligibility",
        &[AUTH],
        &application().to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(heads.contains_key("retry-after"));
    // The registry is named; its own answer (internal text) stays in the log.
    let detail = problem["detail"].as_str().unwrap_or("");
    assert!(detail.contains("children registry"), "{detail}");
    assert!(!detail.contains("503"), "{detail}");
}

async fn upload_all(a: &Api, id: &str) {
    for kind in ["birth_certificate", "passport", "snils"] {
        let (status, _, stored) = call(
            &a.app,
            "PUT",
            &format!("/v1/applications/{id}/documents/{kind}"),
            &[AUTH],
            &pdf(kind),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
    }
}

/// Submit the sample application with its documents; its id.
async fn submitted(a: &Api, key: &str) -> String {
    let (status, _, created) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[AUTH, ("idempotency-key", key)],
        &application().to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    upload_all(a, &id).await;
    id
}

/// Submit the sample application and drive it to `to` through the store, as a worker would.
async fn application_in(a: &Api, key: &str, to: Status) -> String {
    let id = submitted(a, key).await;
    let now = a.clock.now();
    a.store
        .claim("w", now, Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("claimed");
    let t = Transition {
        id: id.clone(),
        from: Status::InReview,
        to,
        actor: "worker:w".into(),
        origin: "reggate".into(),
        reasons: json!([{"pointer": "/child/first_name", "code": "birth_record_mismatch"}]),
        comment: None,
        request_id: "r".into(),
        at: now,
        lease_holder: Some("w".into()),
        input: None,
        answers: None,
        documents_added: Vec::new(),
        manifest: None,
    };
    assert!(matches!(
        a.store.transition(t).await.expect("transition"),
        Transitioned::Done(_)
    ));
    id
}

#[tokio::test]
async fn a_clarification_sends_corrected_fields_back_to_review() {
    let a = api("clarify", 1000, false);
    let id = application_in(&a, "c1", Status::NeedsClarification).await;
    let path = format!("/v1/applications/{id}/clarification");
    let (status, _, problem) = call(
        &a.app,
        "POST",
        &path,
        &[AUTH],
        r#"{"applicant": {"phone": "123"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/applicant/phone");
    // A patch is free-form JSON: its nesting is bounded by serde_json's recursion limit (128), a
    // clear 400 and not a stack overflow.
    let deep = format!("{{\"child\": {}{}}}", "[".repeat(5_000), "]".repeat(5_000));
    let (status, _, problem) = call(&a.app, "POST", &path, &[AUTH], &deep).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("recursion limit")),
        "{problem}"
    );
    let (status, _, view) = call(
        &a.app,
        "POST",
        &path,
        &[AUTH],
        r#"{"child": {"first_name": "Павел"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "in_review");
    assert_eq!(view["reasons"][0]["pointer"], "/child/first_name");
    let stored = a.store.get(&id).await.expect("get").expect("kept");
    assert_eq!(stored.input["child"]["first_name"], "Павел");
    assert_eq!(
        stored.input["child"]["last_name"], "Иванов",
        "the rest is kept"
    );
    // Not in needs_clarification any more: 409 naming the state.
    let (status, _, problem) = call(
        &a.app,
        "POST",
        &path,
        &[AUTH],
        r#"{"child": {"first_name": "Пётр"}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("in_review"),
        "{problem}"
    );
}

#[tokio::test]
async fn appeals_run_within_thirty_days_and_reviewers_decide_them() {
    let a = api("appeal", 1000, false);
    let id = application_in(&a, "p1", Status::Rejected).await;
    let letter = pdf("appeal letter");
    let appeal = format!("/v1/applications/{id}/appeal");
    let (status, _, _) = call(&a.app, "POST", &appeal, &[AUTH], r#"{"arguments": ""}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    a.clock.advance(Duration::from_secs(29 * 86_400));
    let (status, _, view) = call(
        &a.app,
        "POST",
        &appeal,
        &[AUTH],
        &json!({
            "arguments": "the name was mistyped by the registry office",
            "documents": [{"type": "other", "media_type": "application/pdf",
                           "size": letter.len(), "sha256": sha256_hex(letter.as_bytes())}]
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "appeal_review");
    // The appeal's document joins the manifest: awaited, then uploaded like any other.
    assert_eq!(view["documents_missing"], json!(["other"]));
    let upload = format!("/v1/applications/{id}/documents/other");
    let (status, _, stored) = call(&a.app, "PUT", &upload, &[AUTH], &letter).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    // The reviewer sees it arrived, with its digest, beside the appeal that named it.
    let reviewer = ("authorization", "Bearer reviewer-key");
    let (_, _, view) = call(
        &a.app,
        "GET",
        &format!("/v1/applications/{id}"),
        &[reviewer],
        "",
    )
    .await;
    assert_eq!(view["documents_missing"], json!([]));
    let other = view["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["name"] == "other")
        .expect("the appeal's document is in the manifest")
        .clone();
    assert_eq!(other["received"], true);
    assert_eq!(other["sha256"], sha256_hex(letter.as_bytes()));
    let appealed = view["journal"]
        .as_array()
        .expect("journal")
        .iter()
        .find(|j| j["to"] == "appeal_review")
        .expect("appeal entry")
        .clone();
    assert_eq!(appealed["reasons"][0]["documents"], json!(["other"]));
    let decide = format!("/v1/applications/{id}/decision");
    let body = r#"{"decision": "approved", "comment": "birth record corrected"}"#;
    let (status, _, _) = call(&a.app, "POST", &decide, &[AUTH], body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only reviewers decide");
    let (status, _, view) = call(&a.app, "POST", &decide, &[reviewer], body).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "approved");
    let last = view["journal"]
        .as_array()
        .expect("journal")
        .last()
        .expect("entry")
        .clone();
    assert_eq!(last["actor"], "key:reviewer-1");
    assert_eq!(last["comment"], "birth record corrected");

    // Too late: 31 days after a rejection the appeal is refused.
    let late = application_in(&a, "p2", Status::Rejected).await;
    a.clock.advance(Duration::from_secs(31 * 86_400));
    let (status, _, problem) = call(
        &a.app,
        "POST",
        &format!("/v1/applications/{late}/appeal"),
        &[AUTH],
        r#"{"arguments": "late"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("30-day"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_parked_application_shows_why_since_when_and_its_next_attempt() {
    let a = api("parked", 1000, false);
    let id = submitted(&a, "k1").await;
    let now = a.clock.now();
    a.store
        .claim("w", now, Duration::from_secs(120))
        .await
        .expect("claim")
        .expect("claimed");
    let since = reggate::clock::millis(now);
    let parked = reggate::store::Parked {
        registry: "children".into(),
        kind: reggate::domain::ports::FailureKind::Outage,
        reason: "children registry, FindBirthRecord: timeout".into(),
        since_ms: since,
        next_attempt_ms: since + 4_000,
        attempts: 2,
        defects: 0,
    };
    assert!(a.store.park(&id, "w", &parked).await.expect("park"));
    let (status, _, view) = call(
        &a.app,
        "GET",
        &format!("/v1/applications/{id}"),
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "in_review");
    let p = &view["parked"];
    assert_eq!(p["registry"], "children");
    assert_eq!(p["kind"], "outage");
    assert_eq!(p["attempts"], 2);
    assert_eq!(p["since"], view["status_since"]);
    assert_eq!(p["next_attempt"], reggate::api::at(since + 4_000));
    assert!(
        p["reason"]
            .as_str()
            .unwrap_or("")
            .contains("FindBirthRecord")
    );
    // It is the workers' until it is decided or escalated: a reviewer cannot decide it meanwhile.
    let (status, _, problem) = call(
        &a.app,
        "POST",
        &format!("/v1/applications/{id}/decision"),
        &[("authorization", "Bearer reviewer-key")],
        r#"{"decision": "rejected", "comment": "too slow"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

#[tokio::test]
async fn listing_filters_pages_and_exports_csv() {
    let a = api("list", 1000, false);
    for n in 0..3u32 {
        let mut body = application();
        body["child"]["snils"] = json!(format!("{:011}", snils_from_body(400_000_000 + n)));
        if n == 2 {
            body["benefit"] = json!("disabled_child");
            body["documents"].as_array_mut().expect("docs").push(json!({"type": "medical_certificate", "media_type": "image/png", "size": 10, "sha256": "b".repeat(64)}));
        }
        let (status, _, created) = call(
            &a.app,
            "POST",
            "/v1/applications",
            &[AUTH, ("idempotency-key", &format!("l{n}"))],
            &body.to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    }
    let (status, _, page) = call(&a.app, "GET", "/v1/applications?limit=2", &[AUTH], "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("more").to_string();
    let (_, _, rest) = call(
        &a.app,
        "GET",
        &format!("/v1/applications?limit=2&cursor={cursor}"),
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    assert!(rest["next_cursor"].is_null());
    let (_, _, disabled) = call(
        &a.app,
        "GET",
        "/v1/applications?benefit=disabled_child&status=submitted&from=2026-07-01&to=2026-07-01",
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(
        disabled["items"].as_array().map(Vec::len),
        Some(1),
        "{disabled}"
    );
    let (status, _, problem) = call(
        &a.app,
        "GET",
        "/v1/applications?from=2026-02-30",
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("from:"),
        "{problem}"
    );
    let (status, _, _) = call(&a.app, "GET", "/v1/applications?colour=red", &[AUTH], "").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown parameters are refused"
    );

    let req = Request::builder()
        .uri("/v1/applications/export.csv?status=submitted")
        .header("authorization", "Bearer test-key-1")
        .body(Body::empty())
        .expect("request");
    let res = a.app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = String::from_utf8(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf-8");
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "number,id,status,benefit,applicant_snils,submitted_at,status_since,overdue"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    let snils = format!("{:011}", snils_from_body(112_233_445));
    assert!(!csv.contains(&snils), "SNILS masked in the export");
    assert!(lines[1].contains("***-***-***"));
}

#[tokio::test]
async fn documents_are_checked_by_content_size_and_digest_before_processing() {
    let a = api("documents", 1000, false);
    let (_, _, created) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[AUTH, ("idempotency-key", "d1")],
        &application().to_string(),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_string();
    let put = |name: &str| format!("/v1/applications/{id}/documents/{name}");
    let now = a.clock.now();
    assert!(
        a.store
            .claim("w", now, Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none(),
        "waits for documents"
    );

    let (status, _, problem) =
        call(&a.app, "PUT", &put("passport"), &[AUTH], "GIF89a not a pdf").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("PDF, JPEG, PNG"),
        "{problem}"
    );
    let (status, _, problem) = call(
        &a.app,
        "PUT",
        &put("passport"),
        &[AUTH],
        "%PDF-1.4 other bytes",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("SHA-256"),
        "{problem}"
    );
    let big = format!("%PDF-{}", "x".repeat(6 * 1024 * 1024));
    let (status, _, problem) = call(&a.app, "PUT", &put("passport"), &[AUTH], &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let detail = problem["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("5242880") && detail.contains("received"),
        "{detail}"
    );
    let (status, _, problem) = call(
        &a.app,
        "PUT",
        &put("medical_certificate"),
        &[AUTH],
        &pdf("x"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("birth_certificate"),
        "{problem}"
    );

    let (status, _, stored) =
        call(&a.app, "PUT", &put("passport"), &[AUTH], &pdf("passport")).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["documents_missing"], 2);
    // The same bytes again: accepted, nothing changes.
    let (status, _, again) = call(&a.app, "PUT", &put("passport"), &[AUTH], &pdf("passport")).await;
    assert_eq!(
        (status, &again["documents_missing"]),
        (StatusCode::CREATED, &json!(2))
    );
    upload_all(&a, &id).await;
    let (_, _, view) = call(
        &a.app,
        "GET",
        &format!("/v1/applications/{id}"),
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(view["documents_missing"], json!([]));
    assert!(
        a.store
            .claim("w", now, Duration::from_secs(60))
            .await
            .expect("claim")
            .is_some(),
        "complete: processed"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let a = api("openapi", 1000, false);
    let (status, _, doc) = call(&a.app, "GET", "/openapi.json", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/v1/health", "get"),
        ("/v1/eligibility", "post"),
        ("/v1/applications", "post"),
        ("/v1/applications", "get"),
        ("/v1/applications/export.csv", "get"),
        ("/v1/applications/{id}", "get"),
        ("/v1/applications/{id}/documents/{name}", "put"),
        ("/v1/applications/{id}/clarification", "post"),
        ("/v1/applications/{id}/appeal", "post"),
        ("/v1/applications/{id}/decision", "post"),
        ("/v1/applications/{id}/receipt", "get"),
        ("/v1/events", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
    }
    // Its application schema is the one the API accepts: the sample passes its required fields.
    let required = doc["components"]["schemas"]["Application"]["required"]
        .as_array()
        .expect("required");
    for field in required {
        assert!(
            application().get(field.as_str().expect("name")).is_some(),
            "{field}"
        );
    }
}

#[tokio::test]
async fn receipts_are_signed_json_and_pdf_that_verify_and_tampering_shows() {
    let name = "receipt";
    let a = api(name, 1000, false);
    let dir = std::env::temp_dir().join(format!("reggate-api-{name}-{}", std::process::id()));
    let certs = dir.join("certs");
    let (_, _, created) = call(
        &a.app,
        "POST",
        "/v1/applications",
        &[AUTH, ("idempotency-key", "r1")],
        &application().to_string(),
    )
    .await;
    let id = created["id"].as_str().expect("id");
    let number = created["number"].as_str().expect("number").to_string();

    let (status, _, receipt) = call(
        &a.app,
        "GET",
        &format!("/v1/applications/{id}/receipt"),
        &[AUTH],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["receipt"]["number"], number.as_str());
    assert_eq!(receipt["receipt"]["submitted_at"], "2026-07-01T10:00:00Z");
    let json_path = dir.join("receipt.json");
    std::fs::write(&json_path, receipt.to_string()).expect("write");
    let mut tampered = receipt.clone();
    tampered["receipt"]["benefit"] = json!("large_family");
    let tampered_path = dir.join("tampered.json");
    std::fs::write(&tampered_path, tampered.to_string()).expect("write");

    let req = Request::builder()
        .uri(format!("/v1/applications/{id}/receipt"))
        .header("authorization", "Bearer test-key-1")
        .header("accept", "application/pdf")
        .body(Body::empty())
        .expect("request");
    let res = a.app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.into_body().collect().await.expect("body").to_bytes();
    let pdf_path = dir.join("receipt.pdf");
    std::fs::write(&pdf_path, &pdf).expect("write");

    let verify = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_reggate"))
            .args(["receipt", "verify"])
            .arg(file)
            .arg("--certs")
            .arg(&certs)
            .output()
            .expect("run reggate")
    };
    for good in [&json_path, &pdf_path] {
        let out = verify(good);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(&number), "{text}");
    }
    let out = verify(&tampered_path);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT VALID"));

    // One visible character of the PDF changed (the application number on the page), the embedded
    // signed JSON left alone: what the citizen sees is no longer what was signed.
    let shown = format!("(Application number: {number})");
    let at = pdf
        .windows(shown.len())
        .position(|w| w == shown.as_bytes())
        .expect("number in the page content");
    let mut altered = pdf.to_vec();
    let last = at + shown.len() - 2;
    altered[last] = if altered[last] == b'9' { b'8' } else { b'9' };
    let altered_path = dir.join("altered.pdf");
    std::fs::write(&altered_path, &altered).expect("write");
    let out = verify(&altered_path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("NOT VALID"), "{text}");
    assert!(text.contains("visible content differs"), "{text}");

    // The PDF renders (poppler) and shows the number.
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf_path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!("Application number: {number}"))
    );
    let png = dir.join("receipt-page");
    let rendered = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-singlefile"])
        .arg(&pdf_path)
        .arg(&png)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(rendered.success());
    let image = std::fs::read(png.with_extension("png")).expect("rendered page");
    assert!(
        image.starts_with(b"\x89PNG") && image.len() > 1000,
        "{} bytes",
        image.len()
    );
}

/// Real images and PDFs pass and say what they hold; files that only start like one are refused
/// with 415 and what they turned out to be.
#[tokio::test]
async fn documents_are_judged_by_their_structure_not_their_first_bytes() {
    use std::io::Cursor;
    let a = api("content", 1000, false);
    let encode = |format| {
        let mut out = Vec::new();
        image::RgbImage::new(64, 48)
            .write_to(&mut Cursor::new(&mut out), format)
            .expect("encode");
        out
    };
    let png = encode(image::ImageFormat::Png);
    let jpeg = encode(image::ImageFormat::Jpeg);
    let real_pdf = reggate::pdf::page("snils", 4096);
    // An ELF executable (this test binary's first 64 KiB) behind a PDF signature.
    let mut elf = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
    elf.truncate(64 << 10);
    assert!(elf.starts_with(b"\x7fELF"));
    let mut disguised = b"%PDF-1.7\n".to_vec();
    disguised.extend(&elf);
    let mut fake_png = png[..8].to_vec();
    fake_png.extend(&elf);

    let entry = |kind: &str, media: &str, bytes: &[u8]| json!({"type": kind, "media_type": media, "size": bytes.len(), "sha256": sha256_hex(bytes)});
    let app = &a.app;
    let file = async |key: &str, docs: Value| {
        let mut body = application();
        body["documents"] = docs;
        let (status, _, created) = call(
            app,
            "POST",
            "/v1/applications",
            &[AUTH, ("idempotency-key", key)],
            body.to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{created}");
        created["id"].as_str().expect("id").to_string()
    };

    let id = file(
        "real",
        json!([
            entry("birth_certificate", "image/jpeg", &jpeg),
            entry("passport", "image/png", &png),
            entry("snils", "application/pdf", &real_pdf),
        ]),
    )
    .await;
    for (name, bytes, media) in [
        ("birth_certificate", &jpeg, "image/jpeg"),
        ("passport", &png, "image/png"),
        ("snils", &real_pdf, "application/pdf"),
    ] {
        let uri = format!("/v1/applications/{id}/documents/{name}");
        let (status, _, stored) = call(&a.app, "PUT", &uri, &[AUTH], bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {stored}");
        assert_eq!(stored["media_type"], media);
    }

    let id = file(
        "disguised",
        json!([
            entry("birth_certificate", "image/png", &fake_png),
            entry("passport", "application/pdf", &disguised),
            entry("snils", "application/pdf", &real_pdf),
        ]),
    )
    .await;
    for (name, bytes, says) in [
        ("passport", &disguised, "not a well-formed PDF"),
        (
            "birth_certificate",
            &fake_png,
            "not a readable image/png image",
        ),
    ] {
        let uri = format!("/v1/applications/{id}/documents/{name}");
        let (status, _, problem) = call(&a.app, "PUT", &uri, &[AUTH], bytes).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name}: {problem}"
        );
        assert_eq!(
            problem["type"], "urn:reggate:problem:document-content",
            "{problem}"
        );
        let detail = problem["detail"].as_str().unwrap_or("");
        assert!(detail.contains(says), "{name}: {detail}");
    }
    let record = a.store.get(&id).await.expect("get").expect("stored");
    assert_eq!(
        record.documents_missing.len(),
        3,
        "nothing refused was attached"
    );
}
