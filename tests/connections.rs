//! The API's connections are bounded and its uploads streamed, tried over loopback sockets against
//! `api::listener::serve` with short limits read from an `[api]` configuration: idle and half-sent
//! connections are closed by their timeouts, stalled and trickling bodies answered 408, unread
//! responses dropped, connections beyond the cap refused while those under it keep working, HTTP/2
//! negotiated by ALPN; documents arrive through the real router, concurrently, and nothing of a
//! refused or abandoned one stays on disk.
//!
//! These tests wait on real time (the timeouts are real I/O bounds), with limits of a few hundred
//! milliseconds and every wait bounded.

#[path = "support/api_state.rs"]
mod api_state;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use reggate::api::listener::{Limits, serve};
use reggate::clock::{Clock, SystemClock};
use reggate::config::GatewayConfig;
use reggate::domain::answers::{Answer, Question};
use reggate::domain::ports::{CheckFailure, FailureKind, Pending, RegistryChecks};
use reggate::domain::valid::ValidApplication;
use reggate::registries::messages::{NewAssignment, Registration};
use reggate::tls::config::{
    ClientAuth, LiveServerConfig, ReloadableCert, client_config_with, server_config_auth,
};
use reggate::tls::pki::{PkiLayout, PkiOptions};
use rustls_pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The bound on any single wait in these tests: far above every limit configured here.
const PATIENCE: Duration = Duration::from_secs(5);

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("reggate-conn-{name}-{}", std::process::id()))
}

/// The limits an `[api]` section gives (through the configuration, as `reggate serve` reads it).
fn limits(name: &str, api: &str) -> Limits {
    let file = temp(&format!("{name}.toml"));
    std::fs::write(&file, format!("[api]\n{api}")).expect("config");
    let (config, _) = GatewayConfig::load(Some(&file), Vec::new()).expect("config loads");
    let _ = std::fs::remove_file(&file);
    config.api.limits()
}

/// A served router; dropping it stops the listener.
struct Served {
    addr: SocketAddr,
    _stop: watch::Sender<bool>,
}

async fn start(app: Router, limits: Limits, tls: Option<TlsAcceptor>) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(serve(
        listener,
        tls.map(|a| Arc::new(LiveServerConfig::new(a.config().clone()))),
        Arc::new(Vec::new()),
        app,
        limits,
        stopping,
    ));
    Served { addr, _stop: stop }
}

/// A router standing in for the API: a greeting, a body counter, a large answer.
fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route("/big", get(|| async { vec![b'x'; 32 << 20] }))
}

/// The development PKI in `dir`: the server's acceptor (client certificates optional, as the API's)
/// and a client trusting it, offering `alpn`.
fn tls(dir: &Path, alpn: &[&[u8]]) -> (TlsAcceptor, TlsConnector) {
    let _ = std::fs::remove_dir_all(dir);
    let layout: PkiLayout = reggate::tls::pki::init(&PkiOptions {
        dir: dir.to_path_buf(),
        lifetime_days: 30,
        now: SystemTime::now() - Duration::from_secs(60),
        force: false,
    })
    .expect("pki");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cert = ReloadableCert::load(
        &layout.gateway_server(),
        &layout.gateway_server_key(),
        clock.clone(),
    )
    .expect("server cert");
    let server = server_config_auth(
        Arc::new(cert),
        &layout.internal_ca(),
        ClientAuth::Optional,
        clock.clone(),
    )
    .expect("server TLS");
    let mut client =
        (*client_config_with(&layout.internal_ca(), None, clock).expect("client TLS")).clone();
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (
        TlsAcceptor::from(server),
        TlsConnector::from(Arc::new(client)),
    )
}

async fn handshake(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake")
}

/// One HTTP/1.1 answer read off a kept-alive connection: status, headers (lower-case), body.
async fn answer<S: AsyncRead + Unpin>(s: &mut S) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, s.read(&mut byte))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before an answer: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let status = head[9..12].parse().expect("status");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().expect("length"));
    let mut body = vec![0u8; length];
    tokio::time::timeout(PATIENCE, s.read_exact(&mut body))
        .await
        .expect("a body in time")
        .expect("body");
    (status, head, body)
}

/// How long until the server closes `s` (a read sees the end or an error); whatever it sends
/// meanwhile is read and dropped. Panics after [`PATIENCE`].
async fn closed_after<S: AsyncRead + Unpin>(s: &mut S) -> Duration {
    let started = Instant::now();
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(PATIENCE, s.read(&mut sink)).await {
            Err(_) => panic!("still open after {PATIENCE:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

async fn fetch<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, path: &str) -> (u16, Vec<u8>) {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let (status, _, body) = answer(s).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let limits = limits("idle", "idle_timeout_ms = 400\nheader_timeout_ms = 5000\n");
    assert_eq!(limits.idle, Duration::from_millis(400));
    let (acceptor, connector) = tls(&temp("idle-pki"), &[b"http/1.1"]);
    let tls_served = start(app(), limits.clone(), Some(acceptor)).await;
    let plain = start(app(), limits, None).await;

    // A TLS connection that never sends a request (the 2,000 idle connections).
    let mut silent = handshake(&connector, tls_served.addr).await;
    let waited = closed_after(&mut silent).await;
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    // Keep-alive after a request: open while in use, closed once idle for the timeout.
    let mut kept = TcpStream::connect(plain.addr).await.expect("connect");
    for _ in 0..3 {
        assert_eq!(fetch(&mut kept, "/").await, (200, b"ok".to_vec()));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let waited = closed_after(&mut kept).await;
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_head_is_cut_off_after_the_header_timeout() {
    // The idle bound is long: only the header bound can close these in time.
    let limits = limits(
        "header",
        "idle_timeout_ms = 60000\nheader_timeout_ms = 300\n",
    );
    let served = start(app(), limits, None).await;

    let mut half = TcpStream::connect(served.addr).await.expect("connect");
    half.write_all(b"GET / HTTP/1.1\r\nHost: loc")
        .await
        .expect("write");
    let waited = closed_after(&mut half).await;
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    // The same after a complete request on a kept-alive connection.
    let mut kept = TcpStream::connect(served.addr).await.expect("connect");
    assert_eq!(fetch(&mut kept, "/").await.0, 200);
    kept.write_all(b"GET / HTTP/1.1\r\n").await.expect("write");
    let waited = closed_after(&mut kept).await;
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_trickling_bodies_are_answered_408_and_closed() {
    let limits = limits(
        "body",
        "body_timeout_ms = 400\nbody_min_rate = 100\nidle_timeout_ms = 60000\n",
    );
    let served = start(app(), limits, None).await;

    // A whole body at once is fine.
    let mut ok = TcpStream::connect(served.addr).await.expect("connect");
    let body = vec![b'a'; 100_000];
    ok.write_all(b"POST /echo HTTP/1.1\r\nHost: l\r\nContent-Length: 100000\r\n\r\n")
        .await
        .expect("write");
    ok.write_all(&body).await.expect("write");
    assert_eq!(answer(&mut ok).await.2, b"100000");

    // A part, then nothing.
    let mut stalled = TcpStream::connect(served.addr).await.expect("connect");
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nHost: l\r\nContent-Length: 100000\r\n\r\n")
        .await
        .expect("write");
    stalled.write_all(&body[..1000]).await.expect("write");
    let started = Instant::now();
    let (status, head, problem) = answer(&mut stalled).await;
    assert_eq!(status, 408);
    assert!(head.contains("application/problem+json") && head.contains("connection: close"));
    let problem: Value = serde_json::from_slice(&problem).expect("problem");
    assert_eq!(problem["type"], "urn:reggate:problem:body-timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(closed_after(&mut stalled).await < Duration::from_secs(1));

    // A byte every 200 ms: never a pause of 400 ms, but far below 100 bytes/s.
    let mut trickle = TcpStream::connect(served.addr).await.expect("connect");
    trickle
        .write_all(b"POST /echo HTTP/1.1\r\nHost: l\r\nContent-Length: 1000\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let (reader, mut writer) = trickle.into_split();
    let dripping = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut reader = reader;
    let (status, _, _) = answer(&mut reader).await;
    assert_eq!(status, 408);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    dripping.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_of_its_answer_is_dropped() {
    let limits = limits("send", "body_timeout_ms = 300\nidle_timeout_ms = 60000\n");
    let served = start(app(), limits, None).await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("buffer");
    let mut lazy = socket.connect(served.addr).await.expect("connect");
    lazy.write_all(b"GET /big HTTP/1.1\r\nHost: l\r\n\r\n")
        .await
        .expect("write");
    // Not reading: the server's writes stall once the socket buffers are full.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(PATIENCE, lazy.read(&mut buf)).await {
            Err(_) => panic!("still open after {PATIENCE:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received += n,
        }
    }
    assert!(received < 32 << 20, "the whole answer arrived: {received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_while_those_under_it_keep_working() {
    let limits = limits("cap", "max_connections = 3\n");
    assert_eq!(limits.max_connections, 3);
    let served = start(app(), limits, None).await;
    let mut kept = Vec::new();
    for _ in 0..3 {
        let mut c = TcpStream::connect(served.addr).await.expect("connect");
        assert_eq!(fetch(&mut c, "/").await.0, 200);
        kept.push(c);
    }
    // The fourth: accepted by the kernel, closed at once without an answer.
    for _ in 0..2 {
        let mut beyond = TcpStream::connect(served.addr).await.expect("connect");
        let _ = beyond.write_all(b"GET / HTTP/1.1\r\nHost: l\r\n\r\n").await;
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(PATIENCE, beyond.read(&mut buf))
            .await
            .expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)), "answered: {read:?}");
    }
    // Those under the cap go on.
    for c in &mut kept {
        assert_eq!(fetch(c, "/").await.0, 200);
    }
    // A slot freed is a slot for the next client (once the server has seen the close).
    drop(kept.pop());
    let started = Instant::now();
    loop {
        let mut next = TcpStream::connect(served.addr).await.expect("connect");
        next.write_all(b"GET / HTTP/1.1\r\nHost: l\r\n\r\n")
            .await
            .expect("write");
        let mut first = [0u8; 12];
        if next.read_exact(&mut first).await.is_ok() {
            assert_eq!(&first[9..12], b"200");
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the freed slot was not reused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_over_tls_and_idle_http2_connections_get_goaway() {
    let limits = limits("h2", "idle_timeout_ms = 500\n");
    let (acceptor, connector) = tls(&temp("h2-pki"), &[b"h2", b"http/1.1"]);
    let served = start(app(), limits, Some(acceptor)).await;

    let stream = handshake(&connector, served.addr).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("HTTP/2 handshake");
    let conn = tokio::spawn(conn);
    for _ in 0..2 {
        let req = hyper::Request::get("https://localhost/")
            .body(http_body_util::Empty::<Bytes>::new())
            .expect("request");
        let res = sender.send_request(req).await.expect("answer");
        assert_eq!(res.version(), hyper::Version::HTTP_2);
        assert_eq!(res.status(), 200);
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&body[..], b"ok");
    }
    // Idle: the server says GOAWAY and the connection ends cleanly.
    let started = Instant::now();
    let ended = tokio::time::timeout(PATIENCE, conn)
        .await
        .expect("closed in time")
        .expect("task");
    assert!(ended.is_ok(), "{ended:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A client offering only HTTP/1.1 gets it.
    let mut stream = handshake(&connector_h1(&temp("h2-pki")), served.addr).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(fetch(&mut stream, "/").await, (200, b"ok".to_vec()));
}

/// A client of the PKI already in `dir`, offering HTTP/1.1 only.
fn connector_h1(dir: &Path) -> TlsConnector {
    let layout = PkiLayout::new(dir);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut client =
        (*client_config_with(&layout.internal_ca(), None, clock).expect("client TLS")).clone();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(client))
}

// Documents through the real router.

/// Registries are never asked here: no worker runs.
struct Unasked;

impl RegistryChecks for Unasked {
    fn ask<'a>(
        &'a self,
        _: &'a str,
        _: &'a ValidApplication,
        _: &'a [Question],
    ) -> Pending<'a, Vec<Answer>> {
        Box::pin(async { Err(down()) })
    }

    fn register<'a>(&'a self, _: &'a str, _: &'a NewAssignment) -> Pending<'a, Registration> {
        Box::pin(async { Err(down()) })
    }
}

fn down() -> CheckFailure {
    CheckFailure {
        registry: "children".into(),
        kind: FailureKind::Outage,
        reason: "not asked in this test".into(),
        retry_after: None,
    }
}

/// One request on a fresh connection (`Connection: close`): status and JSON body.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &[u8],
) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: l\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n{extra}\r\n",
        api_state::KEY,
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write");
    let (status, _, body) = answer(&mut s).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Files whose names say they are uploads in progress.
fn temporaries(documents: &Path) -> Vec<String> {
    std::fs::read_dir(documents)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_stream_to_disk_concurrently_and_refused_ones_leave_nothing() {
    let dir = temp("documents");
    let (state, _, _) = api_state::state(&dir, Arc::new(Unasked), 1000);
    let documents = state.documents.dir.clone();
    let limits = limits("documents", "body_timeout_ms = 300\n");
    let served = start(reggate::api::router(Arc::new(state)), limits, None).await;
    let input = api_state::application().to_string();

    let mut ids = Vec::new();
    for n in 0..16 {
        let (status, created) = call(
            served.addr,
            "POST",
            "/v1/applications",
            &format!("Idempotency-Key: docs-{n}\r\nContent-Type: application/json\r\n"),
            input.as_bytes(),
        )
        .await;
        assert_eq!(status, 202, "{created}");
        ids.push(created["id"].as_str().expect("id").to_string());
    }
    // The same bytes to 16 applications at once.
    let passport = api_state::pdf("passport");
    let uploads: Vec<_> = ids
        .iter()
        .map(|id| {
            let (addr, path, bytes) = (
                served.addr,
                format!("/v1/applications/{id}/documents/passport"),
                passport.clone(),
            );
            tokio::spawn(async move { call(addr, "PUT", &path, "", bytes.as_bytes()).await })
        })
        .collect();
    for u in uploads {
        let (status, stored) = u.await.expect("task");
        assert_eq!(status, 201, "{stored}");
        assert_eq!(stored["documents_missing"], 2, "{stored}");
    }
    assert!(temporaries(&documents).is_empty());
    let put = format!("/v1/applications/{}/documents/snils", ids[0]);

    // Over 5 MiB, declared: refused before a byte is read.
    let mut declared = TcpStream::connect(served.addr).await.expect("connect");
    declared
        .write_all(
            format!(
                "PUT {put} HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {}\r\nContent-Length: 6000000\r\n\r\n%PDF-",
                api_state::KEY
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let (status, _, problem) = answer(&mut declared).await;
    assert_eq!(status, 413);
    let problem: Value = serde_json::from_slice(&problem).expect("problem");
    assert_eq!(problem["type"], "urn:reggate:problem:document-too-large");

    // Over 5 MiB, chunked: refused once the limit is passed, and the partial file is gone.
    let chunked = TcpStream::connect(served.addr).await.expect("connect");
    let (mut reader, mut writer) = chunked.into_split();
    let head = format!(
        "PUT {put} HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        api_state::KEY
    );
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'%'; 64 * 1024];
        for _ in 0..(6 << 20) / chunk.len() {
            writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            writer.write_all(&chunk).await?;
            writer.write_all(b"\r\n").await?;
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let (status, _, problem) = answer(&mut reader).await;
    assert_eq!(status, 413);
    let problem: Value = serde_json::from_slice(&problem).expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("5242880")),
        "{problem}"
    );
    sending.abort();
    assert!(temporaries(&documents).is_empty());

    // Stalled at 1 MiB of a declared 5 MiB: 408, and nothing left.
    let mut stalled = TcpStream::connect(served.addr).await.expect("connect");
    stalled
        .write_all(
            format!(
                "PUT {put} HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {}\r\nContent-Length: 5000000\r\n\r\n",
                api_state::KEY
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    stalled
        .write_all(&vec![b'%'; 1 << 20])
        .await
        .expect("write");
    let (status, _, problem) = answer(&mut stalled).await;
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&problem));
    assert!(temporaries(&documents).is_empty());

    // A client gone mid-body: its temporary file goes with the handler.
    let mut gone = TcpStream::connect(served.addr).await.expect("connect");
    gone.write_all(
        format!(
            "PUT {put} HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {}\r\nContent-Length: 5000000\r\n\r\n",
            api_state::KEY
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    gone.write_all(&vec![b'%'; 1 << 20]).await.expect("write");
    let started = Instant::now();
    while temporaries(&documents).is_empty() && started.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(temporaries(&documents).len(), 1, "the upload in progress");
    drop(gone);
    while !temporaries(&documents).is_empty() {
        assert!(
            started.elapsed() < PATIENCE,
            "{:?}",
            temporaries(&documents)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
