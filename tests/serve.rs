//! End to end from a fresh start on embedded defaults: the gateway (SQLite in a temp dir, a new
//! development PKI, in-process mock registries, workers, the HTTP API) takes applications over HTTP
//! and decides them: one approved, one sent to clarification naming the field, one duplicate
//! rejected naming the conflict. The clock stands at the mock population's reference date.

#[path = "support/cases.rs"]
mod cases;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cases::{application, case, doc_bytes, eligible, strip_nulls};
use reggate::clock::{Clock, ManualClock};
use reggate::gateway::{Gateway, GatewayConfig};
use reggate::mock::population::{Population, PopulationConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REFERENCE: u64 = 1_782_900_000;
const KEY: &str = "e2e-key";

async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAuthorization: Bearer {KEY}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.write_all(body.as_bytes()).await.expect("write body");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Submit and wait (bounded) until the workers decide.
async fn submit_and_wait(gw: &Gateway, key: &str, input: &Value) -> Value {
    let (status, created) = http(
        gw.api,
        "POST",
        "/v1/applications",
        &[("Idempotency-Key", key)],
        &input.to_string(),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    // It waits for its documents.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, waiting) = http(gw.api, "GET", &format!("/v1/applications/{id}"), &[], "").await;
    assert_eq!(
        waiting["status"], "submitted",
        "waits for its documents: {waiting}"
    );
    for d in input["documents"].as_array().expect("documents") {
        let kind = d["type"].as_str().expect("type");
        let path = format!("/v1/applications/{id}/documents/{kind}");
        let (status, stored) = http(gw.api, "PUT", &path, &[], &doc_bytes(kind)).await;
        assert_eq!(status, 201, "{stored}");
    }
    for _ in 0..200 {
        let (status, view) = http(gw.api, "GET", &format!("/v1/applications/{id}"), &[], "").await;
        assert_eq!(status, 200);
        if view["status"] != "submitted" && view["status"] != "in_review" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("application {id} not decided in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_fresh_start_applications_are_approved_clarified_and_rejected_as_duplicates() {
    let dir = std::env::temp_dir().join(format!("reggate-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let population = PopulationConfig {
        seed: 7,
        people: 2_000,
    };
    let config = GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data: dir.join("data"),
        certs: dir.join("certs"),
        api_keys: vec![KEY.to_string()],
        population,
        ..GatewayConfig::default()
    };
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE),
    ));
    let gw = Gateway::start(config, clock.clone() as Arc<dyn Clock>)
        .await
        .expect("gateway starts");
    assert!(dir.join("data/reggate.sqlite").exists());
    // The same seed gives the same people the gateway's registries know.
    let people = Population::generate(&population).export_people(200);

    let today = reggate::domain::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) = eligible(&people, today).expect("an eligible child");
    let approved =
        submit_and_wait(&gw, "e2e-1", &strip_nulls(application(entry, k, benefit))).await;
    assert_eq!(approved["status"], "approved", "{approved}");
    let path: Vec<_> = approved["journal"]
        .as_array()
        .expect("journal")
        .iter()
        .map(|j| j["to"].clone())
        .collect();
    assert_eq!(
        path,
        [json!("submitted"), json!("in_review"), json!("approved")]
    );

    let mut wrong = strip_nulls(application(
        case(&people, "disabled_child"),
        0,
        "disabled_child",
    ));
    wrong["child"]["first_name"] = json!("Аглая");
    let clarify = submit_and_wait(&gw, "e2e-2", &wrong).await;
    assert_eq!(clarify["status"], "needs_clarification", "{clarify}");
    assert_eq!(clarify["reasons"][0]["pointer"], "/child/first_name");

    let dup = case(&people, "duplicate_same_recipient");
    let existing = dup["existing_assignment_id"].as_str().expect("existing");
    let input = strip_nulls(application(
        dup,
        0,
        dup["benefit"].as_str().expect("benefit"),
    ));
    let rejected = submit_and_wait(&gw, "e2e-3", &input).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    let named = rejected["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .any(|r| {
            r["code"] == "duplicate_benefit"
                && r["message"].as_str().is_some_and(|m| m.contains(existing))
        });
    assert!(named, "{rejected}");

    let (status, feed) = http(gw.api, "GET", "/v1/events?after=0&limit=100", &[], "").await;
    assert_eq!(status, 200);
    let finals = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "final_decision")
        .count();
    assert_eq!(finals, 2, "{feed}");
    gw.shutdown().await;
}
