//! Accepted applications per second, durable (SQLite `synchronous=FULL`; PostgreSQL commits with its
//! default `synchronous_commit=on`), through the whole `POST /v1/applications` handler: auth,
//! JSON parsing, the input rules, the request hash, the backlog check and the one-transaction insert
//! of application + journal + outbox event. `REGGATE_BENCH_CONCURRENCY` (default 32)
//! submissions at a time.
//!
//! `cargo bench --bench accept` (PostgreSQL at 127.0.0.1:5432 database `test`, or `REGGATE_TEST_PG`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use reggate::api::{ApiState, router};
use reggate::clock::{Clock, SystemClock};
use reggate::domain::answers::{Answer, Question};
use reggate::domain::identifiers::{inn_from_body, snils_from_body};
use reggate::domain::ports::{CheckFailure, FailureKind, Pending, RegistryChecks};
use reggate::domain::valid::ValidApplication;
use reggate::ids::sha256_hex;
use reggate::registries::messages::{NewAssignment, Registration};
use reggate::store::Store;
use reggate::store::postgres::PostgresStore;
use reggate::store::sqlite::SqliteStore;
use serde_json::json;
use tower::ServiceExt;

/// Submissions at a time (`REGGATE_BENCH_CONCURRENCY`, default 32).
fn concurrency() -> usize {
    std::env::var("REGGATE_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}
const APPLICATIONS: usize = 20_000;

struct NoRegistries;

fn unused() -> CheckFailure {
    CheckFailure {
        registry: "none".into(),
        kind: FailureKind::Defect,
        reason: "not used".into(),
        retry_after: None,
    }
}

impl RegistryChecks for NoRegistries {
    fn ask<'a>(
        &'a self,
        _: &'a str,
        _: &'a ValidApplication,
        _: &'a [Question],
    ) -> Pending<'a, Vec<Answer>> {
        Box::pin(async { Err(unused()) })
    }
    fn register<'a>(&'a self, _: &'a str, _: &'a NewAssignment) -> Pending<'a, Registration> {
        Box::pin(async { Err(unused()) })
    }
}

fn body(n: usize) -> String {
    let doc = |kind: &str| json!({"type": kind, "media_type": "application/pdf", "size": 1000, "sha256": "a".repeat(64)});
    json!({
        "benefit": "childcare_under_1_5",
        "applicant": {
            "last_name": "Иванова", "first_name": "Мария", "birth_date": "1994-03-12", "gender": "female",
            "passport": {"series": "4510", "number": "123456", "issue_date": "2014-04-01", "issuer": "ОВД", "issuer_code": "770-001"},
            "snils": format!("{:011}", snils_from_body(100_000_000 + n as u32)),
            "inn": format!("{:012}", inn_from_body(7_707_083_893)),
            "registration_address": {"postal_code": "125009", "region_code": "77", "locality": "Москва", "house": "1"},
            "phone": "+79161234567", "email": "maria@example.ru"
        },
        "child": {
            "last_name": "Иванов", "first_name": "Пётр", "birth_date": "2025-11-20", "gender": "male", "birth_place": "Москва",
            "birth_certificate": {"series": "IV-МЮ", "number": "654321", "issue_date": "2025-11-25"},
            "snils": format!("{:011}", snils_from_body(200_000_000 + n as u32))
        },
        "documents": [doc("birth_certificate"), doc("passport"), doc("snils")]
    })
    .to_string()
}

async fn run(name: &str, store: Arc<dyn Store>) {
    let clock = Arc::new(SystemClock) as Arc<dyn Clock>;
    let state = ApiState {
        store: store.clone(),
        workflows: reggate::service::Workflows {
            store,
            checks: Arc::new(NoRegistries),
            clock: clock.clone(),
        },
        clock,
        api_keys: HashMap::from([(sha256_hex(b"bench"), "bench".to_string())]),
        reviewers: Default::default(),
        admission: reggate::api::admission::Admission::new(u64::MAX, Arc::new(SystemClock)),
        documents: reggate::api::documents::DocumentStore {
            dir: std::env::temp_dir().join(format!("reggate-bench-docs-{}", std::process::id())),
            wait_for_documents: true,
        },
        receipts: None,
        ops: None,
    };
    let app = router(Arc::new(state));
    let bodies: Arc<Vec<String>> = Arc::new((0..APPLICATIONS).map(body).collect());
    let started = Instant::now();
    let concurrency = concurrency();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let (app, bodies) = (app.clone(), bodies.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for n in (t..APPLICATIONS).step_by(concurrency) {
                    let req = Request::post("/v1/applications")
                        .header("authorization", "Bearer bench")
                        .header("idempotency-key", format!("bench-{n}"))
                        .header("content-type", "application/json")
                        .body(Body::from(bodies[n].clone()))
                        .expect("request");
                    let at = Instant::now();
                    let res = app.clone().oneshot(req).await.expect("response");
                    assert_eq!(res.status(), 202);
                    latencies.push(at.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("task"));
    }
    let wall = started.elapsed();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{name}: {} accepted in {:.2} s = {:.0} applications/s; p50 {:.2} ms, p99 {:.2} ms",
        latencies.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64(),
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("reggate-bench-accept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sqlite: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.join("reggate.sqlite")).expect("sqlite"));
        run("sqlite", sqlite).await;
        let url = std::env::var("REGGATE_TEST_PG")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_string());
        let schema = format!("bench_{}", std::process::id());
        match PostgresStore::connect(&url, Some(&schema)).await {
            Ok(pg) => {
                run("postgres", Arc::new(pg)).await;
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                        .await;
                }
            }
            Err(e) => println!("postgres: skipped ({e})"),
        }
    });
}
