//! The mock registries over real mTLS on loopback: tokens, a valid call per operation with a response
//! that validates, schema-invalid requests, token faults, and a client without a certificate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reggate::clock::{Clock, ManualClock, SystemClock};
use reggate::mock::population::{Population, PopulationConfig};
use reggate::mock::render;
use reggate::mock::server::{MockState, serve};
use reggate::mock::soap::Operation;
use reggate::mock::token::TokenStore;
use reggate::tls::config::{client_config, client_config_with, server_config};
use reggate::tls::pki::{self, PkiLayout, PkiOptions};
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

/// Every network step is bounded so a broken server fails the test instead of hanging it.
const STEP: Duration = Duration::from_secs(20);

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-mock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

struct Harness {
    addr: std::net::SocketAddr,
    layout: PkiLayout,
    clock: Arc<ManualClock>,
    state: Arc<MockState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    async fn start(name: &str) -> Harness {
        Harness::start_with(name, None).await
    }

    async fn start_with(name: &str, rate_limit: Option<f64>) -> Harness {
        let dir = tempdir(name);
        let layout = pki::init(&PkiOptions {
            dir: dir.join("certs"),
            lifetime_days: 30,
            now: SystemTime::now() - Duration::from_secs(3600),
            force: false,
        })
        .expect("pki");
        let tls = server_config(
            &layout.registry_server(),
            &layout.registry_server_key(),
            &layout.registry_ca(),
        )
        .expect("server config");
        let schema = Schema::load(&[PathBuf::from("schemas")]).expect("schemas");
        let population = Population::generate(&PopulationConfig {
            seed: 7,
            people: 2_000,
        });
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let state = Arc::new(
            MockState::new(
                schema,
                population,
                TokenStore::default(),
                clock.clone() as Arc<dyn Clock>,
                PathBuf::from("wsdl"),
            )
            .with_rate_limit(rate_limit),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), tls, async {
            let _ = rx.await;
        }));
        Harness {
            addr,
            layout,
            clock,
            state,
            stop: Some(tx),
            task: Some(task),
        }
    }

    fn connector(&self) -> TlsConnector {
        let config = client_config(
            &self.layout.registry_ca(),
            &self.layout.gateway_client(),
            &self.layout.gateway_client_key(),
        )
        .expect("client config");
        TlsConnector::from(config)
    }

    /// One HTTP/1.1 exchange on a fresh connection: status and body.
    async fn request(&self, head: &str, body: &[u8]) -> (u16, String) {
        let (status, _, body) = self.exchange(head, body).await;
        (status, body)
    }

    /// One HTTP/1.1 exchange on a fresh connection: status, response head (lower-cased) and body.
    async fn exchange(&self, head: &str, body: &[u8]) -> (u16, String, String) {
        let tcp = tokio::time::timeout(STEP, TcpStream::connect(self.addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = tokio::time::timeout(STEP, self.connector().connect(name, tcp))
            .await
            .expect("handshake in time")
            .expect("handshake");
        let mut msg = format!(
            "{head}\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        msg.extend_from_slice(body);
        tls.write_all(&msg).await.expect("write");
        let mut raw = Vec::new();
        tokio::time::timeout(STEP, tls.read_to_end(&mut raw))
            .await
            .expect("response in time")
            .expect("read");
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        (status, head.to_ascii_lowercase(), body.to_string())
    }

    async fn token(&self) -> String {
        let (status, body) = self
            .request(
                "POST /token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
                b"grant_type=client_credentials",
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["expires_in"], 300);
        v["access_token"].as_str().expect("token").to_string()
    }

    async fn soap(&self, op: Operation, token: Option<&str>, payload: &str) -> (u16, String) {
        let auth = token
            .map(|t| format!("\r\nAuthorization: Bearer {t}"))
            .unwrap_or_default();
        let head = format!(
            "POST /registry/{} HTTP/1.1\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"{}\"{auth}",
            op.registry().name(),
            op.soap_action()
        );
        self.request(&head, render::envelope(payload).as_bytes())
            .await
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STEP, task)
                .await
                .expect("stops in time")
                .expect("serve task");
        }
    }
}

fn assert_valid(schema: &Schema, body: &str) {
    let report = validate_bytes(schema, body.as_bytes(), &Options::default());
    assert!(report.is_valid(), "{body}\n{:#?}", report.violations);
}

fn faultcode(body: &str) -> &str {
    body.split_once("<faultcode>")
        .and_then(|(_, rest)| rest.split_once("</faultcode>"))
        .map(|(code, _)| code)
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_with_a_valid_response() {
    let h = Harness::start("ops").await;
    let token = h.token().await;
    let pop = &h.state.population;
    let people = pop.export_people(50);
    let entries = people["people"].as_array().expect("array");
    let valid = entries
        .iter()
        .find(|e| e["case"] == "valid")
        .expect("a valid case");
    let snils = valid["applicant"]["snils"].as_str().expect("snils");
    let adult = pop.person_by_snils(snils).expect("adult");

    let (status, body) = h
        .soap(
            Operation::VerifySnils,
            Some(&token),
            &render::snils_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<cmn:Code>MATCH</cmn:Code>"), "{body}");
    assert_valid(&h.state.schema, &body);

    // A wrong first name: NO_MATCH naming the field.
    let mut other = adult.clone();
    other.first_name = format!("{}а", other.first_name);
    let (status, body) = h
        .soap(
            Operation::VerifySnils,
            Some(&token),
            &render::snils_request(&other),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("NO_MATCH") && body.contains("FirstName"),
        "{body}"
    );
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::FindInn,
            Some(&token),
            &render::inn_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(adult.inn.as_deref().expect("inn")), "{body}");
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::VerifyInn,
            Some(&token),
            &render::verify_inn_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("MATCH"), "{body}");
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::GetFamilyStatus,
            Some(&token),
            &render::family_status_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid(&h.state.schema, &body);

    // A child with an assignment: birth record, assignments, and re-registering it (idempotent).
    let child = entries
        .iter()
        .flat_map(|e| e["children"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["person"]["snils"].as_str().map(str::to_string))
        .filter_map(|s| pop.person_by_snils(&s))
        .find(|c| !pop.active_assignments(&c.snils).is_empty())
        .expect("a child with an assignment");
    let cert = child.birth_certificate.clone().expect("certificate");
    let (status, body) = h
        .soap(
            Operation::FindBirthRecord,
            Some(&token),
            &render::birth_record_request(&cert.series, &cert.number),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&child.snils), "{body}");
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::GetActiveAssignments,
            Some(&token),
            &render::assignments_request(&child.snils),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<lab:Assignment "), "{body}");
    assert_valid(&h.state.schema, &body);

    let a = pop.active_assignments(&child.snils).remove(0);
    let recipient = pop.person_by_snils(&a.recipient_snils).expect("recipient");
    let (status, body) = h
        .soap(
            Operation::RegisterAssignment,
            Some(&token),
            &render::register_request(&a, &recipient),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ALREADY_REGISTERED"), "{body}");
    assert_valid(&h.state.schema, &body);

    // Unknown keys: NotFound / NOT_FOUND answers, still valid.
    let (status, body) = h
        .soap(
            Operation::FindBirthRecord,
            Some(&token),
            &render::birth_record_request(&cert.series, "000000"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid(&h.state.schema, &body);
    let mut stranger = adult.clone();
    stranger.snils = "00000000000".to_string();
    for (op, payload) in [
        (Operation::VerifySnils, render::snils_request(&stranger)),
        (
            Operation::GetFamilyStatus,
            render::family_status_request(&stranger),
        ),
    ] {
        let (status, body) = h.soap(op, Some(&token), &payload).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("NOT_FOUND") || body.contains("NotFound"),
            "{body}"
        );
        assert_valid(&h.state.schema, &body);
    }

    // The WSDL is served.
    let (status, body) = h.request("GET /registry/snils?wsdl HTTP/1.1", b"").await;
    assert_eq!(status, 200);
    assert!(body.contains("VerifySnils"), "{body}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_and_headers_get_faults() {
    let h = Harness::start("faults").await;
    let token = h.token().await;
    let adult = h
        .state
        .population
        .person_by_snils(
            h.state.population.export_people(5)["people"][0]["applicant"]["snils"]
                .as_str()
                .expect("snils"),
        )
        .expect("adult");
    let broken = render::snils_request(&adult).replace(
        &format!("<snils:Snils>{}</snils:Snils>", adult.snils),
        "<snils:Snils>12345</snils:Snils>",
    );
    let (status, body) = h.soap(Operation::VerifySnils, Some(&token), &broken).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(faultcode(&body), "soap:Client.SchemaViolation", "{body}");
    assert!(body.contains("snils:Snils"), "{body}");
    assert!(!body.contains("12345"), "value must be masked: {body}");
    assert_valid(&h.state.schema, &body);

    // Wrong SOAPAction for the endpoint.
    let head = format!(
        "POST /registry/inn HTTP/1.1\r\nContent-Type: text/xml\r\nSOAPAction: \"{}\"\r\nAuthorization: Bearer {token}",
        Operation::VerifySnils.soap_action()
    );
    let (status, body) = h
        .request(
            &head,
            render::envelope(&render::snils_request(&adult)).as_bytes(),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(faultcode(&body), "soap:Client.SoapAction", "{body}");

    // Wrong content type.
    let head = format!(
        "POST /registry/snils HTTP/1.1\r\nContent-Type: application/json\r\nSOAPAction: \"{}\"\r\nAuthorization: Bearer {token}",
        Operation::VerifySnils.soap_action()
    );
    let (status, body) = h.request(&head, b"{}").await;
    assert_eq!(status, 500);
    assert_eq!(faultcode(&body), "soap:Client.ContentType", "{body}");

    // Tokens: missing, unknown, expired. Never data.
    let payload = render::snils_request(&adult);
    let (status, body) = h.soap(Operation::VerifySnils, None, &payload).await;
    assert_eq!(
        (status, faultcode(&body)),
        (500, "soap:Client.TokenMissing")
    );
    let (status, body) = h
        .soap(Operation::VerifySnils, Some("forged"), &payload)
        .await;
    assert_eq!(
        (status, faultcode(&body)),
        (500, "soap:Client.TokenUnknown")
    );
    h.clock.advance(Duration::from_secs(301));
    let (status, body) = h.soap(Operation::VerifySnils, Some(&token), &payload).await;
    assert_eq!(
        (status, faultcode(&body)),
        (500, "soap:Client.TokenExpired")
    );
    assert!(!body.contains("MATCH"), "{body}");
    // A fresh token works again.
    let fresh = h.token().await;
    let (status, _) = h.soap(Operation::VerifySnils, Some(&fresh), &payload).await;
    assert_eq!(status, 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_is_refused() {
    let h = Harness::start("nocert").await;
    let config = client_config_with(
        &h.layout.registry_ca(),
        None,
        Arc::new(SystemClock) as Arc<dyn Clock>,
    )
    .expect("client config");
    let tcp = TcpStream::connect(h.addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    // In TLS 1.3 the client may finish its side before the server rejects it; either the handshake
    // fails, or the first read does, and no HTTP response ever arrives.
    let outcome = tokio::time::timeout(STEP, async {
        let mut tls = TlsConnector::from(config).connect(name, tcp).await?;
        tls.write_all(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 29\r\nConnection: close\r\n\r\ngrant_type=client_credentials")
            .await?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    })
    .await
    .expect("bounded");
    match outcome {
        Err(_) => {}
        Ok(raw) => assert!(
            !String::from_utf8_lossy(&raw).starts_with("HTTP/"),
            "got a response without a client certificate"
        ),
    }
    // The server is still serving others.
    let _ = h.token().await;
    h.stop().await;
}

#[tokio::test]
async fn beyond_the_rate_limit_comes_429_with_retry_after() {
    let h = Harness::start_with("ratelimit", Some(2.0)).await;
    let token = h.token().await;
    let op = Operation::ALL[0];
    let head = format!(
        "POST /registry/{} HTTP/1.1\r\nContent-Type: text/xml\r\nSOAPAction: \"{}\"\r\nAuthorization: Bearer {token}",
        op.registry().name(),
        op.soap_action()
    );
    let body = render::envelope("<x/>");
    // The clock stands still: a burst of two, then the third is refused until time moves.
    for _ in 0..2 {
        let (status, _, _) = h.exchange(&head, body.as_bytes()).await;
        assert_ne!(status, 429);
    }
    let (status, head_text, fault) = h.exchange(&head, body.as_bytes()).await;
    assert_eq!(status, 429, "{fault}");
    assert!(head_text.contains("retry-after: 1"), "{head_text}");
    assert_eq!(faultcode(&fault), "soap:Server.RateLimited");
    h.clock.advance(Duration::from_secs(1));
    let (status, _, _) = h.exchange(&head, body.as_bytes()).await;
    assert_ne!(status, 429);
    h.stop().await;
}
