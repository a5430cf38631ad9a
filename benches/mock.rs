//! Requests per second of the mock registries alone: `VerifySnils` calls (validated request, lookup,
//! rendered answer) over keep-alive mTLS (TLS 1.3) connections, the client in the same process and on
//! the same two cores — the mock must not be what limits the gateway's load tests.
//!
//! `cargo bench --bench mock`. Criterion's "elem/s" is calls per second; each sample sends
//! `CALLS` calls spread over `CONNECTIONS` connections opened beforehand.

#[path = "../tests/support/mock_harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::Harness;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use reggate::contract::{Operation, Registry};
use reggate::mock::render;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

const CONNECTIONS: usize = 16;
const CALLS: usize = 1_600;

struct Setup {
    _harness: Harness,
    senders: Vec<SendRequest<Full<Bytes>>>,
    token: String,
    payloads: Arc<Vec<Bytes>>,
}

async fn setup() -> Setup {
    let h = Harness::start("bench-mock").await;
    let population = &h.state.population;
    let people = population.export_people(200);
    let payloads: Vec<Bytes> = people["people"]
        .as_array()
        .expect("people")
        .iter()
        .filter_map(|e| e["applicant"]["snils"].as_str())
        .filter_map(|s| population.person_by_snils(s))
        .map(|p| Bytes::from(render::envelope(&render::snils_request(&p))))
        .collect();
    let connector = h.connector();
    let addr = h.server.addr(Registry::Snils);
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = connector.connect(name, tcp).await.expect("handshake");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .expect("http handshake");
        tokio::spawn(conn);
        senders.push(sender);
    }
    let token = {
        let req = hyper::Request::post("/token")
            .header("host", "localhost")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(
                b"grant_type=client_credentials",
            )))
            .expect("request");
        let resp = senders[0].send_request(req).await.expect("token");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        v["access_token"].as_str().expect("token").to_string()
    };
    Setup {
        _harness: h,
        senders,
        token,
        payloads: Arc::new(payloads),
    }
}

/// `per_connection` calls on each connection, all connections at once.
async fn burst(setup: &mut Setup, per_connection: usize) {
    let action = format!("\"{}\"", Operation::VerifySnils.soap_action());
    let auth = format!("Bearer {}", setup.token);
    let mut tasks = Vec::new();
    for (i, sender) in setup.senders.drain(..).enumerate() {
        let (action, auth, payloads) = (action.clone(), auth.clone(), setup.payloads.clone());
        tasks.push(tokio::spawn(async move {
            let mut sender = sender;
            for n in 0..per_connection {
                let body = payloads[(i * per_connection + n) % payloads.len()].clone();
                let req = hyper::Request::post("/registry/snils")
                    .header("host", "localhost")
                    .header("content-type", "text/xml; charset=utf-8")
                    .header("soapaction", &action)
                    .header("authorization", &auth)
                    .body(Full::new(body))
                    .expect("request");
                sender.ready().await.expect("ready");
                let resp = sender.send_request(req).await.expect("call");
                assert_eq!(resp.status(), 200);
                let _ = resp.into_body().collect().await.expect("body");
            }
            sender
        }));
    }
    for t in tasks {
        setup.senders.push(t.await.expect("task"));
    }
}

fn mock(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut setup = rt.block_on(setup());
    let mut group = c.benchmark_group("mock");
    group.throughput(Throughput::Elements(CALLS as u64));
    group.sample_size(20);
    group.bench_function("verify_snils_keepalive_mtls", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    burst(&mut setup, CALLS / CONNECTIONS).await;
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, mock);
criterion_main!(benches);
