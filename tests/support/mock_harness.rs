//! Mock registries for integration tests: a development PKI in a temp dir, a small population, a
//! manual clock, the four registries on free loopback ports, and a raw HTTP/1.1-over-mTLS client that
//! reports exactly what came over the wire (status, head, body, how the connection ended).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reggate::clock::{Clock, ManualClock};
use reggate::contract::{Operation, Registry};
use reggate::mock::faults::Rule;
use reggate::mock::population::{Population, PopulationConfig};
use reggate::mock::render;
use reggate::mock::server::{Bind, MockServer};
use reggate::mock::state::{MockState, ServedFiles};
use reggate::mock::token::TokenStore;
use reggate::tls::config::{client_config, server_config};
use reggate::tls::pki::{self, PkiLayout, PkiOptions};
use reggate::xml::schema::Schema;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Every network step is bounded so a broken server fails the test instead of hanging it.
pub const STEP: Duration = Duration::from_secs(20);

pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-mock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// What one exchange produced.
#[derive(Debug)]
pub struct Raw {
    /// Everything received before the connection ended.
    pub bytes: Vec<u8>,
    /// How reading ended, if not with a clean close.
    pub error: Option<std::io::ErrorKind>,
    /// From sending the request to the end of reading.
    pub elapsed: Duration,
}

impl Raw {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).to_string()
    }

    /// The status code, if a status line arrived.
    pub fn status(&self) -> Option<u16> {
        let text = self.text();
        text.starts_with("HTTP/1.1 ")
            .then(|| text.get(9..12).and_then(|s| s.parse().ok()))
            .flatten()
    }

    /// The head, lower-cased.
    pub fn head(&self) -> String {
        let text = self.text();
        text.split_once("\r\n\r\n")
            .map_or(text.as_str(), |(h, _)| h)
            .to_ascii_lowercase()
    }

    /// The body bytes received.
    pub fn body(&self) -> Vec<u8> {
        match self.bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(at) => self.bytes[at + 4..].to_vec(),
            None => Vec::new(),
        }
    }

    /// The `Content-Length` the head declared.
    pub fn content_length(&self) -> Option<usize> {
        self.head()
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// A raw client of the running registries; cheap to clone into tasks.
#[derive(Clone)]
pub struct Client {
    pub endpoints: Vec<(Registry, SocketAddr)>,
    pub connector: TlsConnector,
}

impl Client {
    pub fn addr(&self, registry: Registry) -> SocketAddr {
        self.endpoints
            .iter()
            .find(|(r, _)| *r == registry)
            .map(|(_, a)| *a)
            .expect("registry endpoint")
    }

    /// One HTTP/1.1 exchange with `registry` on a fresh connection, read until the connection ends
    /// or `wait` passes (then `error` is `TimedOut`). Panics if the connection or handshake fails.
    pub async fn raw(&self, registry: Registry, head: &str, body: &[u8], wait: Duration) -> Raw {
        let tcp = tokio::time::timeout(STEP, TcpStream::connect(self.addr(registry)))
            .await
            .expect("connect in time")
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = tokio::time::timeout(STEP, self.connector.connect(name, tcp))
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
        let started = Instant::now();
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 8192];
        let deadline = tokio::time::Instant::now() + wait;
        let error = loop {
            match tokio::time::timeout_at(deadline, tls.read(&mut chunk)).await {
                Err(_) => break Some(std::io::ErrorKind::TimedOut),
                Ok(Ok(0)) => break None,
                Ok(Ok(n)) => bytes.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => break Some(e.kind()),
            }
        };
        Raw {
            bytes,
            error,
            elapsed: started.elapsed(),
        }
    }

    /// A SOAP call whose outcome may be anything: what came over the wire within `wait`.
    pub async fn soap_raw(&self, op: Operation, token: &str, payload: &str, wait: Duration) -> Raw {
        let head = Harness::soap_head(op, Some(token));
        self.raw(
            op.registry(),
            &head,
            render::envelope(payload).as_bytes(),
            wait,
        )
        .await
    }
}

pub struct Harness {
    pub server: MockServer,
    pub client: Client,
    pub layout: PkiLayout,
    pub clock: Arc<ManualClock>,
    pub state: Arc<MockState>,
}

impl Harness {
    pub async fn start(name: &str) -> Harness {
        Harness::start_with(name, None).await
    }

    pub async fn start_with(name: &str, rate_limit: Option<f64>) -> Harness {
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
                ServedFiles::default(),
            )
            .with_rate_limit(rate_limit),
        );
        let server = MockServer::start(state.clone(), tls, &Bind::loopback())
            .await
            .expect("mock starts");
        let connector = TlsConnector::from(
            client_config(
                &layout.registry_ca(),
                &layout.gateway_client(),
                &layout.gateway_client_key(),
            )
            .expect("client config"),
        );
        let client = Client {
            endpoints: Registry::ALL.map(|r| (r, server.addr(r))).to_vec(),
            connector,
        };
        Harness {
            server,
            client,
            layout,
            clock,
            state,
        }
    }

    pub fn connector(&self) -> TlsConnector {
        self.client.connector.clone()
    }

    /// See [`Client::raw`].
    pub async fn raw(&self, registry: Registry, head: &str, body: &[u8], wait: Duration) -> Raw {
        self.client.raw(registry, head, body, wait).await
    }

    /// One complete exchange: status, head (lower-cased) and body.
    pub async fn exchange(
        &self,
        registry: Registry,
        head: &str,
        body: &[u8],
    ) -> (u16, String, String) {
        let raw = self.raw(registry, head, body, STEP).await;
        assert_eq!(raw.error, None, "exchange ended badly: {}", raw.text());
        let status = raw.status().expect("status line");
        (
            status,
            raw.head(),
            String::from_utf8_lossy(&raw.body()).to_string(),
        )
    }

    /// Status and body of one exchange.
    pub async fn request(&self, registry: Registry, head: &str, body: &[u8]) -> (u16, String) {
        let (status, _, body) = self.exchange(registry, head, body).await;
        (status, body)
    }

    /// A fresh access token from `registry`'s token endpoint.
    pub async fn token_at(&self, registry: Registry) -> String {
        let (status, body) = self
            .request(
                registry,
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

    /// A token (any registry's endpoint issues tokens good for all).
    pub async fn token(&self) -> String {
        self.token_at(Registry::Snils).await
    }

    /// The request head of a SOAP call.
    pub fn soap_head(op: Operation, token: Option<&str>) -> String {
        let auth = token
            .map(|t| format!("\r\nAuthorization: Bearer {t}"))
            .unwrap_or_default();
        format!(
            "POST /registry/{} HTTP/1.1\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"{}\"{auth}",
            op.registry().name(),
            op.soap_action()
        )
    }

    pub async fn soap(&self, op: Operation, token: Option<&str>, payload: &str) -> (u16, String) {
        let head = Harness::soap_head(op, token);
        self.request(op.registry(), &head, render::envelope(payload).as_bytes())
            .await
    }

    /// See [`Client::soap_raw`].
    pub async fn soap_raw(&self, op: Operation, token: &str, payload: &str, wait: Duration) -> Raw {
        self.client.soap_raw(op, token, payload, wait).await
    }

    /// The gateway's outbound pipeline to these registries, with a reloadable client certificate.
    pub fn soap_client(
        &self,
        settings: reggate::soap::client::Settings,
        log: Arc<dyn reggate::soap::log::MessageLog>,
    ) -> (
        reggate::soap::client::SoapClient,
        Arc<reggate::tls::config::ReloadableClientCert>,
    ) {
        let system: Arc<dyn Clock> = Arc::new(reggate::clock::SystemClock);
        let cert = Arc::new(
            reggate::tls::config::ReloadableClientCert::load(
                &self.layout.gateway_client(),
                &self.layout.gateway_client_key(),
                system.clone(),
            )
            .expect("client cert"),
        );
        let tls = reggate::tls::config::client_config_with(
            &self.layout.registry_ca(),
            Some(cert.clone()),
            system,
        )
        .expect("tls");
        let endpoints: Vec<_> = Registry::ALL
            .into_iter()
            .map(|r| {
                let endpoint = reggate::soap::client::Endpoint {
                    url: self.server.url(r).parse().expect("url"),
                    token_url: self.server.token_url(r).parse().expect("token url"),
                };
                (r, endpoint)
            })
            .collect();
        let client = reggate::soap::client::SoapClient::new(
            self.state.schema.clone(),
            tls,
            &endpoints,
            self.clock.clone() as Arc<dyn Clock>,
            log,
            settings,
        );
        (client, cert)
    }

    /// Set a registry's fault rules directly.
    pub fn set_faults(&self, registry: Registry, rules: &[Rule]) {
        self.state
            .faults
            .set_rules(registry, rules)
            .expect("valid rules");
    }

    /// A plain HTTP/1.1 call to the admin endpoint: status and body.
    pub async fn admin(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let addr = self.server.admin_addr().expect("admin bound");
        let mut tcp = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("admin connect in time")
            .expect("admin connect");
        let msg = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(msg.as_bytes()).await.expect("admin write");
        let mut raw = Vec::new();
        tokio::time::timeout(STEP, tcp.read_to_end(&mut raw))
            .await
            .expect("admin answers in time")
            .expect("admin read");
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }

    pub async fn stop(self) {
        tokio::time::timeout(STEP, self.server.shutdown())
            .await
            .expect("stops in time");
    }
}

/// A child of the sample people with at least one active assignment.
pub fn child_with_assignment(state: &MockState) -> reggate::mock::population::PersonView {
    let pop = &state.population;
    let people = pop.export_people(50);
    people["people"]
        .as_array()
        .expect("people")
        .iter()
        .flat_map(|e| e["children"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["person"]["snils"].as_str().map(str::to_string))
        .filter_map(|s| pop.person_by_snils(&s))
        .find(|c| !pop.active_assignments(&c.snils).is_empty())
        .expect("a child with an assignment")
}

/// The first adult of the sample who is a valid case.
pub fn sample_adult(state: &MockState) -> reggate::mock::population::PersonView {
    let people = state.population.export_people(20);
    let snils = people["people"]
        .as_array()
        .expect("people")
        .iter()
        .find(|e| e["case"] == "valid")
        .and_then(|e| e["applicant"]["snils"].as_str())
        .expect("a valid case")
        .to_string();
    state.population.person_by_snils(&snils).expect("adult")
}

pub fn faultcode(body: &str) -> &str {
    body.split_once("<faultcode>")
        .and_then(|(_, rest)| rest.split_once("</faultcode>"))
        .map(|(code, _)| code)
        .unwrap_or("")
}

/// A fault's standard code and the registry's code in its detail (`cmn:RegistryFault/cmn:Code`;
/// empty when there is none).
pub fn fault(body: &str) -> (&str, &str) {
    let detail = body
        .split_once("<detail>")
        .and_then(|(_, rest)| rest.split_once("<cmn:Code>"))
        .and_then(|(_, rest)| rest.split_once("</cmn:Code>"))
        .map_or("", |(code, _)| code);
    (faultcode(body), detail)
}
