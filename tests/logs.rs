//! The process log of one full application, read as ops reads it: `reggate serve` (JSON lines on
//! stderr to a file, `log.level = "debug"`) against `reggate mock`, as processes of the built
//! binary; one application submitted, its documents uploaded, checked by the four registries,
//! registered and decided. The log holds one line per API request (route template, status,
//! latency, request id, caller) and one per registry call (outcome, attempts, latency, the request
//! id the application came with) — and not one of the applicant's or the child's personal values,
//! in the form they were submitted or as bare digits.

#[path = "support/processes.rs"]
mod processes;

use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use hyper::Method;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use processes::{Gateway, POPULATION, Registries, fresh, view};
use reggate::loadgen::client::{Client, Lane};
use reggate::loadgen::people::{Applicants, Case};
use reggate::loadgen::requests;
use reggate::mock::population::Population;
use serde_json::Value;

fn header(name: &'static str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(value).expect("header value"),
    )
}

/// `method path` with `x-request-id: request_id`; the status and body.
async fn call(
    client: &Client,
    method: Method,
    path: &str,
    request_id: &str,
    mut headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
) -> (u16, Value) {
    headers.push(header("x-request-id", request_id));
    let answer = client
        .send(Lane::Side, method, path, &headers, body)
        .await
        .expect("the gateway answers");
    let body = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    (answer.status, body)
}

/// Every personal value of `case` in the forms a log could show it: as submitted, and (for those
/// with digits) the digits alone; names also as one full name.
fn personal_values(case: &Case) -> Vec<String> {
    let a = &case.applicant;
    let c = &case.child.child;
    let mut values = vec![
        a.last_name.clone(),
        a.first_name.clone(),
        a.birth_date.clone(),
        a.snils.clone(),
        c.last_name.clone(),
        c.first_name.clone(),
        c.birth_date.clone(),
        c.snils.clone(),
        case.child.certificate.number.clone(),
        format!("{} {}", a.last_name, a.first_name),
        format!("{} {}", c.last_name, c.first_name),
    ];
    values.extend(a.middle_name.clone());
    values.extend(c.middle_name.clone());
    values.extend(a.inn.clone());
    if let Some(p) = &a.passport {
        values.push(p.number.clone());
        values.push(format!("{} {}", p.series, p.number));
        values.push(format!("{}{}", p.series, p.number));
    }
    for date in [&a.birth_date, &c.birth_date] {
        // `YYYY-MM-DD` as `DD.MM.YYYY` too.
        let parts: Vec<&str> = date.split('-').collect();
        if let [y, m, d] = parts.as_slice() {
            values.push(format!("{d}.{m}.{y}"));
        }
    }
    let digit_forms: Vec<String> = values
        .iter()
        .map(|v| v.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| d.len() >= 6)
        .collect();
    values.extend(digit_forms);
    values.sort();
    values.dedup();
    values
}

/// The fields of the span named `name` among a JSON line's spans.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == name)
}

/// Every request id a line's spans carry.
fn request_ids(line: &Value) -> Vec<&str> {
    line["spans"]
        .as_array()
        .map(|spans| {
            spans
                .iter()
                .filter_map(|s| s["request_id"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_a_full_application_has_its_requests_and_registry_calls_and_no_personal_data() {
    let started = Instant::now();
    let dir = fresh("logs");
    let registries = Registries::start(&dir, "");
    let mut gateway = Gateway::start(&dir, &registries, "[log]\nlevel = \"debug\"\n");
    let client = gateway.client(2);
    gateway.wait_until_healthy(&client).await;

    let case = tokio::task::spawn_blocking(|| {
        let today = reggate::calendar::today(SystemTime::now());
        Applicants::new(Population::generate(&POPULATION), today)
            .next_eligible()
            .expect("an eligible case")
    })
    .await
    .expect("the walk");
    let application = requests::application(&case, 0, 2048, "logs");
    let pid = std::process::id();

    // Submit, upload every document, wait for the decision.
    let submit_id = format!("logs-submit-{pid}");
    let (status, created) = call(
        &client,
        Method::POST,
        "/v1/applications",
        &submit_id,
        vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            header("idempotency-key", &format!("logs-{pid}")),
        ],
        application.body.clone(),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let number = created["number"].as_str().expect("number").to_string();
    let mut our_ids = vec![submit_id.clone()];
    for (i, upload) in application.uploads.iter().enumerate() {
        let upload_id = format!("logs-document-{i}-{pid}");
        let (status, body) = call(
            &client,
            Method::PUT,
            &format!("/v1/applications/{id}/documents/{}", upload.name),
            &upload_id,
            vec![(CONTENT_TYPE, HeaderValue::from_static("application/pdf"))],
            upload.bytes.clone(),
        )
        .await;
        assert_eq!(status, 201, "{}: {body}", upload.name);
        our_ids.push(upload_id);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let decided = loop {
        let seen = view(&client, &id).await;
        if !matches!(seen["status"].as_str(), Some("submitted" | "in_review")) {
            break seen;
        }
        assert!(Instant::now() < deadline, "not decided in 60 s: {seen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        decided["status"], "approved",
        "an eligible case of a fresh population: {decided}"
    );
    // Request lines are written before their answers, registry calls before the decision; the
    // worker's report of the decision comes just after it. `SIGKILL` loses nothing written.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(gateway.log())
        .unwrap_or_default()
        .contains("\"message\":\"decided\"")
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway.kill();
    let log = std::fs::read_to_string(gateway.log()).expect("the gateway's log");

    // Not one personal value, in any form.
    let values = personal_values(&case);
    assert!(values.len() >= 12, "{values:?}");
    for value in &values {
        let found: Vec<&str> = log.lines().filter(|l| l.contains(value.as_str())).collect();
        assert!(
            found.is_empty(),
            "personal value {value:?} in the log:\n{}",
            found.join("\n")
        );
    }

    // JSON lines (off a terminal), beside the plain lines `serve` prints for people on start.
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.len() >= 10,
        "the log is nearly empty ({} JSON lines):\n{log}",
        lines.len()
    );
    assert!(
        log.lines().any(|l| l.starts_with("reggate API on ")),
        "the start line for people is still printed:\n{log}"
    );
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "log.level = debug is in force"
    );

    // One line per API request: route template, status, latency, request id, method, caller.
    let http: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "reggate::http")
        .collect();
    let request_line = |request_id: &str| {
        let found: Vec<&&Value> = http
            .iter()
            .filter(|l| span(l, "request").is_some_and(|s| s["request_id"] == request_id))
            .collect();
        assert_eq!(found.len(), 1, "one line for {request_id}: {found:?}");
        let line = *found[0];
        let request = span(line, "request").expect("the request span");
        assert_eq!(request["caller"], "key:configured-0", "{line}");
        assert!(line["latency_ms"].is_u64(), "{line}");
        line
    };
    let submitted = request_line(&submit_id);
    assert_eq!(submitted["route"], "/v1/applications", "{submitted}");
    assert_eq!(submitted["status"], 202, "{submitted}");
    assert_eq!(submitted["message"], "request", "{submitted}");
    assert_eq!(
        span(submitted, "request").expect("span")["method"],
        "POST",
        "{submitted}"
    );
    for upload_id in &our_ids[1..] {
        let uploaded = request_line(upload_id);
        assert_eq!(
            uploaded["route"], "/v1/applications/{id}/documents/{name}",
            "{uploaded}"
        );
        assert_eq!(uploaded["status"], 201, "{uploaded}");
    }
    assert!(
        http.iter()
            .any(|l| l["route"] == "/v1/applications/{id}" && l["status"] == 200),
        "the reads of the application, by route template"
    );
    for line in &http {
        assert!(
            !line.to_string().contains(&id) && !line.to_string().contains(&number),
            "an id in a request line: {line}"
        );
    }

    // One line per registry call, with the request id the application came with.
    let calls: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "reggate::registry")
        .collect();
    for registry in ["snils", "inn", "children", "labour"] {
        let of_registry: Vec<&&Value> = calls
            .iter()
            .filter(|l| span(l, "registry_call").is_some_and(|s| s["registry"] == registry))
            .collect();
        assert!(
            !of_registry.is_empty(),
            "no {registry} call logged: {calls:?}"
        );
        for line in of_registry {
            assert_eq!(line["outcome"], "ok", "{line}");
            assert!(line["attempts"].as_u64().is_some_and(|a| a >= 1), "{line}");
            assert!(line["latency_ms"].is_u64(), "{line}");
            let call = span(line, "registry_call").expect("span");
            assert!(call["operation"].is_string(), "{line}");
            let request_id = call["request_id"].as_str().expect("request id");
            assert!(
                our_ids.iter().any(|ours| ours == request_id),
                "{request_id} is none of the ids sent ({our_ids:?}): {line}"
            );
            let application = span(line, "application").expect("the worker's application span");
            assert_eq!(application["application"], number.as_str(), "{line}");
            assert_eq!(application["request_id"], request_id, "{line}");
        }
    }
    assert!(
        calls
            .iter()
            .any(|l| span(l, "registry_call")
                .is_some_and(|s| s["operation"] == "RegisterAssignment")),
        "the approval's registration is logged: {calls:?}"
    );
    // The worker's report of the decision, in the application's span too.
    assert!(
        lines.iter().any(|l| l["message"] == "decided"
            && request_ids(l)
                .iter()
                .any(|r| our_ids.iter().any(|o| o == r))),
        "the decision's line carries the request id"
    );
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "logs: {} JSON lines ({} requests, {} registry calls), {} personal values absent, {:.1} s",
        lines.len(),
        http.len(),
        calls.len(),
        values.len(),
        started.elapsed().as_secs_f64()
    );
}
