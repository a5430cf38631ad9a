//! `/metrics` (issue 17): a gateway started in-process on embedded defaults (SQLite in a temp dir,
//! in-process mock registries, a webhook subscription to a local receiver, the manual clock at the
//! mock population's reference date) decides one application; the scrape — refused without
//! credentials, answered to the API key — holds every series the README lists, the counters moved
//! with the work (registry calls, HTTP requests by route template, claims, decisions), nothing of
//! the applicant appears in it, and `promtool check metrics` (Debian package `prometheus`) accepts
//! it. Without promtool the last check is skipped with a note, unless `REGGATE_REQUIRE_PROMTOOL=1`
//! (what `.ci/run` sets).
//!
//! The API is plain HTTP on loopback here: TLS and client certificates are the listener's business
//! (tests/serve.rs); `/metrics` authenticates through the same `Caller` extractor as every route.

#[path = "support/cases.rs"]
mod cases;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cases::{application, doc_bytes, eligible, strip_nulls};
use reggate::clock::{Clock, ManualClock};
use reggate::gateway::{Gateway, GatewayConfig};
use reggate::mock::population::{Population, PopulationConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REFERENCE: u64 = 1_782_900_000;
const KEY: &str = "metrics-key";

/// A raw HTTP/1.1 exchange: status, headers (lower-case names) and body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, BTreeMap<String, String>, String) {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(key) = key {
        head.push_str(&format!("Authorization: Bearer {key}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines.next().expect("status line")[9..12]
        .parse()
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

async fn json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let (status, _, body) = http(addr, method, path, Some(KEY), headers, body).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// One scrape, as text.
async fn scrape(addr: SocketAddr) -> String {
    let (status, headers, body) = http(addr, "GET", "/metrics", Some(KEY), &[], "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    body
}

/// The sum of the samples of `name` whose labels include every one of `labels` (`k="v"`).
fn sum(scrape: &str, name: &str, labels: &[&str]) -> f64 {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name && labels.iter().all(|label| rest.contains(label))
        })
        .map(|(_, v)| v.parse::<f64>().expect("a number"))
        .sum()
}

/// Whether `name` has a sample (with every one of `labels`).
fn has(scrape: &str, name: &str, labels: &[&str]) -> bool {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s))
        .any(|series| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name && labels.iter().all(|label| rest.contains(label))
        })
}

/// A webhook receiver on loopback that accepts everything.
async fn receiver() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `promtool`, if installed.
fn promtool() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("promtool"))
            .find(|candidate| candidate.is_file())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_authenticated_complete_moving_free_of_personal_data_and_promtool_clean() {
    let dir = std::env::temp_dir().join(format!("reggate-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let population = PopulationConfig {
        seed: 7,
        people: 2_000,
    };
    let mut config = GatewayConfig::scratch(&dir, population, KEY);
    config.api.tls = false;
    let hook = receiver().await;
    config.webhooks.secret = "metrics-secret".into();
    config
        .webhooks
        .subscriptions
        .insert("cabinet".into(), format!("http://{hook}/hook"));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE),
    ));
    let gw = Gateway::start(config, clock).await.expect("gateway starts");
    let api = gw.api;

    // Any authenticated caller; nobody else.
    let (status, headers, body) = http(api, "GET", "/metrics", None, &[], "").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/problem+json")
    );
    let (status, _, _) = http(api, "GET", "/metrics", Some("not-the-key"), &[], "").await;
    assert_eq!(status, 401);
    let before = scrape(api).await;

    // One application, from submission to decision.
    let people = Population::generate(&population).export_people(200);
    let today = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) = eligible(&people, today).expect("an eligible child");
    let input = strip_nulls(application(entry, k, benefit));
    let (status, created) = json(
        api,
        "POST",
        "/v1/applications",
        &[("Idempotency-Key", "metrics-1")],
        &input.to_string(),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    for d in input["documents"].as_array().expect("documents") {
        let kind = d["type"].as_str().expect("type");
        let path = format!("/v1/applications/{id}/documents/{kind}");
        let (status, stored) = json(api, "PUT", &path, &[], &doc_bytes(kind)).await;
        assert_eq!(status, 201, "{stored}");
    }
    let mut decided = Value::Null;
    for _ in 0..300 {
        let (status, view) = json(api, "GET", &format!("/v1/applications/{id}"), &[], "").await;
        assert_eq!(status, 200);
        if view["status"] == "approved" {
            decided = view;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        decided["status"], "approved",
        "not decided in time: {decided}"
    );
    // An unmatched path is counted under one label, not under its own.
    let (status, _, _) = http(api, "GET", "/v1/no/such/path/12345", Some(KEY), &[], "").await;
    assert_eq!(status, 404);

    // The sampled gauges (webhook lag included) are set at start and every few seconds; wait until
    // the webhook delivered the events and the deliveries are counted.
    let mut after = scrape(api).await;
    for _ in 0..300 {
        if sum(
            &after,
            "reggate_webhook_deliveries_total",
            &[r#"outcome="ok""#],
        ) >= 3.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scrape(api).await;
    }

    // Every series the README lists, with its labels.
    let expected: &[(&str, &[&str])] = &[
        (
            "reggate_http_requests_total",
            &[
                r#"route="/v1/applications/{id}""#,
                r#"method="GET""#,
                r#"status="200""#,
            ],
        ),
        (
            "reggate_http_request_duration_seconds_bucket",
            &[
                r#"route="/v1/applications/{id}/documents/{name}""#,
                r#"method="PUT""#,
                r#"status="201""#,
                "le=",
            ],
        ),
        ("reggate_http_request_duration_seconds_sum", &[]),
        ("reggate_http_request_duration_seconds_count", &[]),
        (
            "reggate_http_requests_total",
            &[r#"route="unmatched""#, r#"status="404""#],
        ),
        (
            "reggate_http_requests_total",
            &[r#"route="/metrics""#, r#"status="401""#],
        ),
        (
            "reggate_registry_calls_total",
            &[r#"registry=""#, r#"operation=""#, r#"outcome="ok""#],
        ),
        (
            "reggate_registry_attempt_seconds_bucket",
            &[r#"registry=""#, "le="],
        ),
        (
            "reggate_registry_retries_total",
            &[r#"registry="children""#],
        ),
        ("reggate_registry_hedges_total", &[r#"registry="children""#]),
        (
            "reggate_registry_validation_failures_total",
            &[r#"registry="labour""#, r#"direction="request""#],
        ),
        (
            "reggate_registry_validation_failures_total",
            &[r#"registry="labour""#, r#"direction="response""#],
        ),
        (
            "reggate_registry_circuit_state",
            &[r#"registry="inn""#, r#"state="closed""#],
        ),
        (
            "reggate_registry_circuit_state",
            &[r#"registry="inn""#, r#"state="open""#],
        ),
        (
            "reggate_registry_token_age_seconds",
            &[r#"registry="snils""#],
        ),
        ("reggate_token_refreshes_total", &[r#"registry=""#]),
        ("reggate_message_log_queue_depth", &[]),
        ("reggate_applications", &[r#"status="submitted""#]),
        ("reggate_applications", &[r#"status="in_review""#]),
        ("reggate_backlog_applications", &[]),
        ("reggate_applications_parked", &[]),
        ("reggate_parked_oldest_age_seconds", &[]),
        ("reggate_worker_claims_total", &[]),
        ("reggate_processed_total", &[r#"outcome="decided""#]),
        ("reggate_decisions_total", &[r#"status="approved""#]),
        (
            "reggate_webhook_deliveries_total",
            &[r#"subscription="cabinet""#, r#"outcome="ok""#],
        ),
        (
            "reggate_webhook_lag_seconds",
            &[r#"subscription="cabinet""#],
        ),
        (
            "reggate_certificate_expiry_seconds",
            &[r#"role="registry-client""#],
        ),
        (
            "reggate_certificate_not_after_seconds",
            &[r#"role="receipt-signing""#],
        ),
    ];
    let missing: Vec<String> = expected
        .iter()
        .filter(|(name, labels)| !has(&after, name, labels))
        .map(|(name, labels)| format!("{name} {labels:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "missing series:\n{}\n\nscrape:\n{after}",
        missing.join("\n")
    );
    // Histograms, not summaries; every series described.
    assert!(after.contains("# TYPE reggate_http_request_duration_seconds histogram"));
    assert!(after.contains("# TYPE reggate_registry_attempt_seconds histogram"));
    assert!(after.contains("# HELP reggate_registry_calls_total "));
    assert!(after.contains("# HELP reggate_applications "));
    assert!(!after.contains("quantile="), "no summaries");

    // They moved with the work.
    let grew = |name: &str, labels: &[&str]| {
        let (b, a) = (sum(&before, name, labels), sum(&after, name, labels));
        assert!(a > b, "{name} {labels:?}: {b} before, {a} after");
    };
    grew("reggate_registry_calls_total", &[r#"outcome="ok""#]);
    grew(
        "reggate_http_requests_total",
        &[r#"route="/v1/applications/{id}""#, r#"method="GET""#],
    );
    grew(
        "reggate_http_requests_total",
        &[
            r#"route="/v1/applications""#,
            r#"method="POST""#,
            r#"status="202""#,
        ],
    );
    grew("reggate_worker_claims_total", &[]);
    grew("reggate_decisions_total", &[r#"status="approved""#]);
    grew(
        "reggate_http_requests_total",
        &[r#"route="/metrics""#, r#"status="200""#],
    );

    // Nothing of the applicant, the child or the application's identity.
    let a = &input["applicant"];
    let c = &input["child"];
    let personal = [
        a["snils"].as_str(),
        a["inn"].as_str(),
        a["last_name"].as_str(),
        a["first_name"].as_str(),
        a["passport"]["number"].as_str(),
        c["snils"].as_str(),
        c["last_name"].as_str(),
        c["first_name"].as_str(),
        Some(id.as_str()),
        created["number"].as_str(),
    ];
    for value in personal.into_iter().flatten() {
        assert!(!after.contains(value), "'{value}' appears in the scrape");
    }

    // Prometheus' own judge of the format.
    match promtool() {
        Some(promtool) => {
            let mut child = Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("promtool runs");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(after.as_bytes())
                .expect("scrape to promtool");
            let out = child.wait_with_output().expect("promtool finishes");
            assert!(
                out.status.success(),
                "promtool check metrics:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        None if std::env::var("REGGATE_REQUIRE_PROMTOOL").as_deref() == Ok("1") => {
            panic!(
                "promtool is required (REGGATE_REQUIRE_PROMTOOL=1) but not on PATH: apt-get install prometheus"
            )
        }
        None => {
            eprintln!("promtool not installed (Debian package prometheus): format check skipped")
        }
    }
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
