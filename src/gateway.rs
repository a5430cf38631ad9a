//! The gateway assembled: store, outbound pipeline, workers and the HTTP API — on embedded defaults
//! with in-process mock registries on loopback. `reggate serve` runs it; tests start it in-process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::{ApiState, router, sha256_hex};
use crate::clock::Clock;
use crate::domain::process::{Processed, RegistryChecks, Worker};
use crate::mock::population::{Population, PopulationConfig};
use crate::mock::server::{Bind, MockServer, MockState, ServedFiles};
use crate::mock::token::TokenStore;
use crate::registries::Registry;
use crate::registries::client::Registries;
use crate::soap::client::{Endpoint, Settings, SoapClient};
use crate::soap::log::{MessageLog, SqliteMessageLog};
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use crate::tls::config::{ReloadableClientCert, client_config_with, server_config};
use crate::xml::schema::Schema;

/// What the gateway runs with.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Where the API listens (plain HTTP; keep it on loopback until the TLS front end lands).
    pub listen: SocketAddr,
    /// Data directory (SQLite store and message log).
    pub data: PathBuf,
    /// The development PKI directory (created if missing).
    pub certs: PathBuf,
    /// `schemas/` and `wsdl/`.
    pub files: ServedFiles,
    /// API keys accepted (plain); none: one is generated into `<data>/dev-api-key`.
    pub api_keys: Vec<String>,
    /// Key ids with the reviewer role (configured keys are `configured-0`, `configured-1`, …).
    pub reviewers: Vec<String>,
    /// Workers processing applications.
    pub workers: usize,
    /// Submitted applications beyond which new ones get 429.
    pub backlog_limit: u64,
    /// Size and seed of the in-process mock registries' population.
    pub population: PopulationConfig,
    /// How long message-log entries are kept.
    pub log_retention: Duration,
    /// Webhook subscriptions pushed the status-change events.
    pub webhooks: Vec<crate::webhooks::Subscription>,
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("data"),
            certs: PathBuf::from("certs"),
            files: ServedFiles::default(),
            api_keys: Vec::new(),
            reviewers: Vec::new(),
            workers: 2,
            backlog_limit: 100_000,
            population: PopulationConfig {
                seed: 2024,
                people: 10_000,
            },
            log_retention: Duration::from_secs(30 * 86_400),
            webhooks: Vec::new(),
        }
    }
}

/// A running gateway.
pub struct Gateway {
    /// Where the API listens.
    pub api: SocketAddr,
    /// The in-process mock registries.
    pub mock: MockServer,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The dev API key file, when one was generated.
    pub api_key_file: Option<PathBuf>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// Why the gateway did not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

fn fail(what: &str) -> impl Fn(String) -> StartError + '_ {
    move |e| StartError(format!("{what}: {e}"))
}

impl Gateway {
    /// Start everything; the API is listening when this returns.
    pub async fn start(
        config: GatewayConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Gateway, StartError> {
        let pki = crate::tls::pki::ensure(&config.certs, clock.now())
            .map_err(|e| fail("development PKI")(e.to_string()))?;
        let schema = Schema::load(std::slice::from_ref(&config.files.schemas))
            .map_err(|e| fail("schemas")(e.to_string()))?;

        // The mock registries, in-process on free loopback ports.
        let population = Population::generate(&config.population);
        let mock_tls = server_config(
            &pki.registry_server(),
            &pki.registry_server_key(),
            &pki.registry_ca(),
        )
        .map_err(|e| fail("mock TLS")(e.to_string()))?;
        let mock_state = Arc::new(MockState::new(
            schema.clone(),
            population,
            TokenStore::default(),
            clock.clone(),
            config.files.clone(),
        ));
        let bind = Bind {
            admin: None,
            ..Bind::loopback()
        };
        let mock = MockServer::start(mock_state, mock_tls, &bind)
            .await
            .map_err(|e| fail("mock registries")(e.to_string()))?;

        // The outbound pipeline.
        let cert = ReloadableClientCert::load(
            &pki.gateway_client(),
            &pki.gateway_client_key(),
            clock.clone(),
        )
        .map_err(|e| fail("gateway client certificate")(e.to_string()))?;
        let tls = client_config_with(&pki.registry_ca(), Some(Arc::new(cert)), clock.clone())
            .map_err(|e| fail("registry TLS")(e.to_string()))?;
        let endpoints: Vec<_> = Registry::ALL
            .into_iter()
            .map(|r| {
                let endpoint = Endpoint {
                    url: mock.url(r).parse().expect("a mock URL is a URI"),
                    token_url: mock.token_url(r).parse().expect("a mock URL is a URI"),
                };
                (r, endpoint)
            })
            .collect();
        let log = SqliteMessageLog::open(
            &config.data.join("message_log.sqlite"),
            config.log_retention,
        )
        .map_err(|e| fail("message log")(e.to_string()))?;
        let soap = SoapClient::new(
            schema,
            tls,
            &endpoints,
            clock.clone(),
            Arc::new(log) as Arc<dyn MessageLog>,
            Settings::default(),
        );
        let registries = Registries::new(Arc::new(soap), clock.clone());
        let checks: Arc<dyn RegistryChecks> = Arc::new(registries);

        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&config.data.join("reggate.sqlite"))
                .map_err(|e| fail("store")(e.to_string()))?,
        );

        let (api_keys, api_key_file) = api_keys(&config)?;
        let state = Arc::new(ApiState {
            store: store.clone(),
            checks: checks.clone(),
            clock: clock.clone(),
            api_keys,
            reviewers: config.reviewers.clone(),
            backlog_limit: config.backlog_limit,
            documents: crate::api::documents::DocumentStore {
                dir: config.data.join("documents"),
                wait_for_documents: true,
            },
            receipts: Some(Arc::new(
                crate::receipt::ReceiptSigner::load(
                    &pki.receipt_signing(),
                    &pki.receipt_signing_key(),
                )
                .map_err(|e| fail("receipt signing")(e.to_string()))?,
            )),
        });
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| fail("API listener")(format!("{}: {e}", config.listen)))?;
        let api = listener
            .local_addr()
            .map_err(|e| fail("API listener")(e.to_string()))?;
        let (stop, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut stopping = stop.subscribe();
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = stopping.wait_for(|s| *s).await;
            };
            let _ = axum::serve(listener, router(state))
                .with_graceful_shutdown(shutdown)
                .await;
        });
        for n in 0..config.workers.max(1) {
            let worker = Worker {
                name: format!("{}-{n}", std::process::id()),
                lease: Duration::from_secs(120),
            };
            let (store, checks, clock) = (store.clone(), checks.clone(), clock.clone());
            let mut stopping = stop.subscribe();
            tasks.spawn(async move {
                loop {
                    if *stopping.borrow() {
                        break;
                    }
                    let pause = match worker
                        .process_one(store.as_ref(), checks.as_ref(), &clock)
                        .await
                    {
                        Ok(Processed::Decided(_) | Processed::Lost { .. }) => Duration::ZERO,
                        Ok(Processed::Idle) => Duration::from_millis(200),
                        Ok(Processed::Parked { .. }) => Duration::from_secs(1),
                        Err(e) => {
                            tracing::error!(error = %e, "worker");
                            Duration::from_secs(1)
                        }
                    };
                    if !pause.is_zero() {
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = stopping.changed() => {}
                        }
                    }
                }
            });
        }
        for subscription in config.webhooks.clone() {
            tasks.spawn(crate::webhooks::dispatch(
                subscription,
                store.clone(),
                stop.subscribe(),
            ));
        }
        Ok(Gateway {
            api,
            mock,
            store,
            api_key_file,
            stop,
            tasks,
        })
    }

    /// Stop the API and the workers (calls in progress finish), then the mock registries.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
        self.mock.shutdown().await;
    }
}

/// The configured keys, or a development key generated once into `<data>/dev-api-key` (mode 0600).
fn api_keys(
    config: &GatewayConfig,
) -> Result<(HashMap<String, String>, Option<PathBuf>), StartError> {
    let mut keys: HashMap<String, String> = config
        .api_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (sha256_hex(k.as_bytes()), format!("configured-{i}")))
        .collect();
    if !keys.is_empty() {
        return Ok((keys, None));
    }
    let path = config.data.join("dev-api-key");
    let key = match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => k.trim().to_string(),
        _ => {
            std::fs::create_dir_all(&config.data)
                .map_err(|e| fail("data directory")(e.to_string()))?;
            let key = crate::domain::identifiers::uuid_v4().replace('-', "");
            write_private(&path, &key).map_err(|e| fail("dev API key")(e.to_string()))?;
            key
        }
    };
    keys.insert(sha256_hex(key.as_bytes()), "dev".to_string());
    Ok((keys, Some(path)))
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}
