//! Webhook delivery to a receiver that fails twice and then accepts: every event arrives, signed, in
//! outbox order, and the cursor survives (a restarted dispatcher resumes after it, here towards the
//! receiver moved behind HTTPS).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reggate::clock::{Clock, SystemClock};
use reggate::domain::status::Status;
use reggate::store::sqlite::SqliteStore;
use reggate::store::{NewApplication, Store, Submitted, Transition, Transitioned};
use reggate::tls::config::{ClientAuth, ReloadableCert, client_config_with, server_config_auth};
use reggate::tls::pki::{self, PkiOptions};
use reggate::webhooks::{Subscription, dispatch, signature};

#[derive(Default)]
struct Receiver {
    calls: usize,
    received: Vec<serde_json::Value>,
}

async fn receive(
    State(r): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut r = r.lock().expect("lock");
    r.calls += 1;
    if r.calls <= 2 {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let sig = headers
        .get("x-reggate-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sig != signature("s3cret", &body) {
        return StatusCode::UNAUTHORIZED;
    }
    r.received
        .push(serde_json::from_slice(&body).expect("json"));
    StatusCode::NO_CONTENT
}

fn app(n: u32) -> NewApplication {
    NewApplication {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        number: format!("RG-2026-{n:06}"),
        idempotency_key: format!("w{n}"),
        request_hash: "h".into(),
        benefit: "childcare_under_1_5".into(),
        applicant_snils: "11223344595".into(),
        child_snils: format!("777{n:08}"),
        input: serde_json::json!({}),
        actor: "test".into(),
        origin: "127.0.0.1".into(),
        request_id: "r".into(),
        at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_900_000 + u64::from(n)),
        documents: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_signed_in_order_after_failures_and_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("reggate-webhooks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("reggate.sqlite")).expect("store"));
    let mut ids = Vec::new();
    for n in 1..=3 {
        let Ok(Submitted::Created(a)) = store.submit(app(n)).await else {
            panic!("submit")
        };
        ids.push(a.id);
    }
    // One moves on: submitted → in_review → approved, so its events interleave with the others'.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_990_000);
    store
        .claim("w", now, Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("one");
    let done = store
        .transition(Transition {
            id: ids[0].clone(),
            from: Status::InReview,
            to: Status::Approved,
            actor: "worker:w".into(),
            origin: "reggate".into(),
            reasons: serde_json::json!([]),
            comment: None,
            request_id: "r".into(),
            at: now,
            lease_holder: Some("w".into()),
            input: None,
            answers: None,
            documents_added: Vec::new(),
            manifest: None,
        })
        .await
        .expect("transition");
    assert!(matches!(done, Transitioned::Done(_)));

    let receiver = Arc::new(Mutex::new(Receiver::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let subscription = Subscription {
        name: "cabinet".into(),
        url: format!("http://{addr}/hook"),
        secret: "s3cret".into(),
    };
    let pki = pki::init(&PkiOptions {
        dir: dir.join("certs"),
        lifetime_days: 30,
        now: SystemTime::now() - Duration::from_secs(3600),
        force: false,
    })
    .expect("pki");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tls = client_config_with(&pki.internal_ca(), None, clock.clone()).expect("client TLS");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatch(
        subscription.clone(),
        store.clone(),
        tls.clone(),
        rx,
    ));
    let expected = store.events_after(0, 100).await.expect("events");
    assert_eq!(expected.len(), 5);
    let wait_for = |n: usize| {
        let receiver = receiver.clone();
        async move {
            for _ in 0..200 {
                if receiver.lock().expect("lock").received.len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("not delivered in time");
        }
    };
    wait_for(5).await;
    let _ = stop.send(true);
    task.await.expect("dispatcher");
    {
        let r = receiver.lock().expect("lock");
        assert_eq!(r.calls, 7, "two failures, then five deliveries");
        let seqs: Vec<i64> = r
            .received
            .iter()
            .map(|e| e["seq"].as_i64().expect("seq"))
            .collect();
        let want: Vec<i64> = expected.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, want, "every event once, in order");
        let first_app: Vec<&str> = r
            .received
            .iter()
            .filter(|e| e["application_id"] == ids[0].as_str())
            .map(|e| e["status"].as_str().expect("status"))
            .collect();
        assert_eq!(first_app, ["submitted", "in_review", "approved"]);
    }
    assert_eq!(
        store.webhook_cursor("cabinet").await.expect("cursor"),
        *want_last(&expected)
    );

    // A new event after a restart, the receiver now behind HTTPS (a certificate of the configured
    // CA): only the new event is sent, to the new address, on the same cursor.
    let Ok(Submitted::Created(_)) = store.submit(app(4)).await else {
        panic!("submit")
    };
    let cert = ReloadableCert::load(
        &pki.gateway_server(),
        &pki.gateway_server_key(),
        clock.clone(),
    )
    .expect("server cert");
    let server_tls = server_config_auth(
        Arc::new(cert),
        &pki.internal_ca(),
        ClientAuth::Optional,
        clock.clone(),
    )
    .expect("server TLS");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let (_serving, serving_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(reggate::api::listener::serve(
        listener,
        Some(Arc::new(reggate::tls::config::LiveServerConfig::new(
            server_tls,
        ))),
        Arc::new(Vec::new()),
        router,
        reggate::api::listener::Limits::default(),
        serving_rx,
    ));
    let moved = Subscription {
        url: format!("https://localhost:{port}/hook"),
        ..subscription
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(dispatch(moved, store.clone(), tls, rx));
    wait_for(6).await;
    let _ = stop.send(true);
    task.await.expect("dispatcher");
    let r = receiver.lock().expect("lock");
    assert_eq!(r.received.len(), 6);
    assert_eq!(r.received[5]["number"], "RG-2026-000004");
}

fn want_last(events: &[reggate::store::Event]) -> &i64 {
    &events.last().expect("events").seq
}
