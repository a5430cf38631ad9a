//! The gateway assembled: store, outbound pipeline, workers and the HTTP API — on embedded defaults
//! with in-process mock registries on loopback. `reggate serve` runs it; tests start it in-process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::{ApiState, router};
use crate::clock::Clock;
use crate::contract::Registry;
use crate::domain::ports::RegistryChecks;
use crate::ids::sha256_hex;
use crate::mock::population::Population;
use crate::mock::server::MockServer;
use crate::mock::state::ServedFiles;
use crate::registries::client::Registries;
use crate::service::Workflows;
use crate::service::process::{Retry, Worker};
use crate::soap::client::{Endpoint, Settings, SoapClient};
use crate::soap::log::{BodyPolicy, MessageLog, SqliteMessageLog};
use crate::store::Store;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::tls::config::{
    ClientAuth, LiveServerConfig, ReloadableCert, ReloadableClientCert, ReloadableRoots,
    client_config_roots, server_config_auth, server_config_pem,
};
use crate::tls::live::{ClientCa, Files, LiveCerts, RebuildServer, Role, Swap};
use crate::tls::pki::PkiLayout;
use crate::xml::schema::Schema;

pub use crate::config::GatewayConfig;

/// A running gateway.
pub struct Gateway {
    /// Where the API listens.
    pub api: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
    /// The in-process mock registries (with `registries.mock`).
    pub mock: Option<MockServer>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Every certificate it serves: [`LiveCerts::reload`] checks and swaps changed files.
    pub certs: Arc<LiveCerts>,
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

/// A configured path, or the development PKI's file (creating the PKI the first time one is needed,
/// so a deployment that names every certificate never gets development keys written).
struct Certs<'a> {
    dir: &'a Path,
    now: std::time::SystemTime,
    dev: Option<PkiLayout>,
}

impl Certs<'_> {
    fn dev(&mut self) -> Result<&PkiLayout, StartError> {
        if self.dev.is_none() {
            let pki = crate::tls::pki::ensure(self.dir, self.now)
                .map_err(|e| fail("development PKI")(e.to_string()))?;
            self.dev = Some(pki);
        }
        Ok(self.dev.as_ref().expect("just set"))
    }

    /// The issuer a leaf must chain to: the configured one; with the development certificate, the
    /// development CA; with a configured certificate and no issuer, none (the chain is not checked).
    fn issuer(
        &mut self,
        configured_cert: &Option<PathBuf>,
        configured_issuer: &Option<PathBuf>,
        dev: impl FnOnce(&PkiLayout) -> PathBuf,
    ) -> Result<Option<PathBuf>, StartError> {
        match (configured_issuer, configured_cert) {
            (Some(issuer), _) => Ok(Some(issuer.clone())),
            (None, Some(_)) => Ok(None),
            (None, None) => Ok(Some(dev(self.dev()?))),
        }
    }

    fn or_dev(
        &mut self,
        configured: &Option<PathBuf>,
        dev: impl FnOnce(&PkiLayout) -> PathBuf,
    ) -> Result<PathBuf, StartError> {
        match configured {
            Some(path) => Ok(path.clone()),
            None => Ok(dev(self.dev()?)),
        }
    }
}

impl Gateway {
    /// Start everything; the API is listening when this returns.
    pub async fn start(
        config: GatewayConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Gateway, StartError> {
        config.check().map_err(|e| fail("configuration")(e.0))?;
        crate::api::metrics::install();
        let mut certs = Certs {
            dir: &config.certs,
            now: clock.now(),
            dev: None,
        };
        let schema = Schema::load(std::slice::from_ref(&config.schemas))
            .map_err(|e| fail("schemas")(e.to_string()))?;

        // The registries: in-process mocks on free loopback ports, or the configured endpoints.
        let (mock, endpoints) = if config.registries.mock {
            let pki = certs.dev()?;
            let files = ServedFiles {
                wsdl: config.wsdl.clone(),
                schemas: config.schemas.clone(),
            };
            let mock = MockServer::start_in_process(
                pki,
                schema.clone(),
                Population::generate(&config.mock),
                clock.clone(),
                files,
            )
            .await
            .map_err(StartError)?;
            let endpoints = Registry::ALL
                .map(|r| (r, endpoint(r, &mock.url(r), &mock.token_url(r))))
                .to_vec();
            (Some(mock), endpoints)
        } else {
            let endpoints = Registry::ALL
                .map(|r| {
                    let e = config
                        .registries
                        .endpoint(r)
                        .expect("checked: every endpoint");
                    (r, endpoint(r, &e.url, &e.token_url))
                })
                .to_vec();
            (None, endpoints)
        };

        // Every certificate goes into `live`, checked as a reload would check it: the gateway does not
        // start on material it would refuse to swap in.
        let mut live = LiveCerts::new(clock.clone(), config.ops.cert_warn_days);
        let refused = |e: String| StartError(format!("certificate: {e}"));

        // The outbound pipeline.
        let r = &config.registries;
        let client_cert = certs.or_dev(&r.client_cert, PkiLayout::gateway_client)?;
        let client_key = certs.or_dev(&r.client_key, PkiLayout::gateway_client_key)?;
        let client_issuer =
            certs.issuer(&r.client_cert, &r.client_issuer, PkiLayout::registry_ca)?;
        let registry_ca = certs.or_dev(&r.ca, PkiLayout::registry_ca)?;
        let cert = Arc::new(
            ReloadableClientCert::load(&client_cert, &client_key, clock.clone())
                .map_err(|e| fail("gateway client certificate")(e.to_string()))?,
        );
        let roots = Arc::new(
            ReloadableRoots::load(&registry_ca).map_err(|e| fail("registry CA")(e.to_string()))?,
        );
        live.add(
            Role::RegistryClient,
            Files {
                cert: client_cert,
                key: Some(client_key),
                issuer: client_issuer,
            },
            Swap::Pair(cert.clone()),
        )
        .map_err(refused)?;
        live.add(
            Role::RegistryCa,
            Files::anchors(registry_ca),
            Swap::Anchors(roots.clone()),
        )
        .map_err(refused)?;
        let tls = client_config_roots(roots, Some(cert), clock.clone())
            .map_err(|e| fail("registry TLS")(e.to_string()))?;
        let log = SqliteMessageLog::open(
            &config.data.join("message_log.sqlite"),
            Duration::from_secs(config.log.retention_days * 86_400),
            clock.clone(),
        )
        .map_err(|e| fail("message log")(e.to_string()))?;
        let settings = Settings {
            attempt_timeout: Duration::from_millis(r.attempt_timeout_ms),
            call_deadline: Duration::from_millis(r.call_deadline_ms),
            max_in_flight: r.max_in_flight.max(1),
            hedge: crate::soap::hedge::HedgePolicy {
                after: Some(Duration::from_millis(r.hedge_after_ms)).filter(|d| !d.is_zero()),
                ..Default::default()
            },
            bodies: match config.log.bodies.as_str() {
                "full" => BodyPolicy::Full,
                "omitted" => BodyPolicy::Omitted,
                _ => BodyPolicy::Masked,
            },
            ..Settings::default()
        };
        let soap = Arc::new(SoapClient::new(
            schema,
            tls,
            &endpoints,
            clock.clone(),
            Arc::new(log) as Arc<dyn MessageLog>,
            settings,
        ));
        let registries = Registries::new(soap.clone(), clock.clone());
        let checks: Arc<dyn RegistryChecks> = Arc::new(registries);

        let store: Arc<dyn Store> = if config.store.url.is_empty() {
            Arc::new(
                SqliteStore::open(&config.data.join("reggate.sqlite"))
                    .map_err(|e| fail("store")(e.to_string()))?,
            )
        } else {
            let schema = Some(config.store.schema.as_str()).filter(|s| !s.is_empty());
            Arc::new(
                PostgresStore::connect(&config.store.url, schema)
                    .await
                    .map_err(|e| fail("store")(e.to_string()))?,
            )
        };

        let (api_keys, api_key_file) = api_keys(&config)?;
        let reviewers = Arc::new(config.api.reviewers.clone());
        let receipt_cert = certs.or_dev(&config.api.receipt_cert, PkiLayout::receipt_signing)?;
        let receipt_key = certs.or_dev(&config.api.receipt_key, PkiLayout::receipt_signing_key)?;
        let receipt_issuer = certs.issuer(
            &config.api.receipt_cert,
            &config.api.receipt_issuer,
            PkiLayout::internal_ca,
        )?;
        let signer = Arc::new(
            crate::receipt::ReceiptSigner::load(&receipt_cert, &receipt_key)
                .map_err(|e| fail("receipt signing")(e.to_string()))?,
        );
        live.add(
            Role::ReceiptSigning,
            Files {
                cert: receipt_cert,
                key: Some(receipt_key),
                issuer: receipt_issuer,
            },
            Swap::Pair(signer.clone()),
        )
        .map_err(refused)?;
        // The API: HTTPS with optional client certificates of the internal CA, or plain HTTP.
        let acceptor = if config.api.tls {
            let cert_path = certs.or_dev(&config.api.tls_cert, PkiLayout::gateway_server)?;
            let key_path = certs.or_dev(&config.api.tls_key, PkiLayout::gateway_server_key)?;
            let issuer = certs.issuer(
                &config.api.tls_cert,
                &config.api.tls_issuer,
                PkiLayout::internal_ca,
            )?;
            let client_ca = certs.or_dev(&config.api.client_ca, PkiLayout::internal_ca)?;
            let cert = Arc::new(
                ReloadableCert::load(&cert_path, &key_path, clock.clone())
                    .map_err(|e| fail("API certificate")(e.to_string()))?,
            );
            let rebuild: RebuildServer = {
                let (cert, clock) = (cert.clone(), clock.clone());
                Box::new(move |client_ca| {
                    server_config_pem(cert.clone(), client_ca, ClientAuth::Optional, clock.clone())
                })
            };
            let acceptor = Arc::new(LiveServerConfig::new(
                server_config_auth(
                    cert.clone(),
                    &client_ca,
                    ClientAuth::Optional,
                    clock.clone(),
                )
                .map_err(|e| fail("API TLS")(e.to_string()))?,
            ));
            live.add(
                Role::ApiServer,
                Files {
                    cert: cert_path,
                    key: Some(key_path),
                    issuer,
                },
                Swap::Pair(cert),
            )
            .map_err(refused)?;
            live.add(
                Role::ApiClientCa,
                Files::anchors(client_ca),
                Swap::Anchors(Arc::new(ClientCa {
                    live: acceptor.clone(),
                    rebuild,
                })),
            )
            .map_err(refused)?;
            Some(acceptor)
        } else {
            if !config.api.listen.ip().is_loopback() {
                tracing::warn!(
                    listen = %config.api.listen,
                    "the API serves plain HTTP on a non-loopback address"
                );
            }
            None
        };
        let hook_tls = if config.webhooks.subscriptions.is_empty() {
            None
        } else {
            let ca = certs.or_dev(&config.webhooks.ca, PkiLayout::internal_ca)?;
            let roots = Arc::new(
                ReloadableRoots::load(&ca).map_err(|e| fail("webhook CA")(e.to_string()))?,
            );
            live.add(
                Role::WebhookCa,
                Files::anchors(ca),
                Swap::Anchors(roots.clone()),
            )
            .map_err(refused)?;
            Some(
                client_config_roots(roots, None, clock.clone())
                    .map_err(|e| fail("webhook TLS")(e.to_string()))?,
            )
        };
        let live = Arc::new(live);
        let (stop, _) = watch::channel(false);
        let workers = crate::api::health::Alive::default();
        let ops = Arc::new(crate::api::health::Ops {
            certs: live.clone(),
            registries: soap.clone(),
            workers: workers.clone(),
            stopping: stop.subscribe(),
        });
        let workflows = Workflows {
            store: store.clone(),
            checks,
            clock: clock.clone(),
        };
        let state = Arc::new(ApiState {
            store: store.clone(),
            workflows: workflows.clone(),
            clock: clock.clone(),
            api_keys,
            reviewers: reviewers.clone(),
            admission: crate::api::admission::Admission::new(
                config.processing.backlog_limit,
                clock.clone(),
            ),
            documents: crate::api::documents::DocumentStore {
                dir: config.data.join("documents"),
                wait_for_documents: true,
            },
            receipts: Some(signer),
            ops: Some(ops),
        });

        let listener = TcpListener::bind(config.api.listen)
            .await
            .map_err(|e| fail("API listener")(format!("{}: {e}", config.api.listen)))?;
        let api = listener
            .local_addr()
            .map_err(|e| fail("API listener")(e.to_string()))?;
        let mut tasks = JoinSet::new();
        tasks.spawn(crate::api::listener::serve(
            listener,
            acceptor,
            reviewers,
            router(state),
            config.api.limits(),
            stop.subscribe(),
        ));
        let worker = Worker {
            // Unique per process (pid) and start (a restarted process does not inherit leases).
            name: format!("{}-{}", std::process::id(), &crate::ids::uuid_v4()[..8]),
            lease: Duration::from_secs(config.processing.lease_seconds.max(1)),
            retry: Retry::default(),
        };
        let dispatch = crate::service::dispatch::run(
            worker,
            workflows.clone(),
            config.processing.concurrency,
            Duration::from_millis(config.ops.stop_deadline_ms),
            stop.subscribe(),
        );
        let alive = workers.guard();
        tasks.spawn(async move {
            let _alive = alive;
            dispatch.await;
        });
        tasks.spawn(crate::tls::live::watch_expiry(
            live.clone(),
            stop.subscribe(),
        ));
        if config.ops.watch_certs {
            tasks.spawn(
                crate::tls::watch::start(live.clone(), stop.subscribe()).map_err(StartError)?,
            );
        }
        tasks.spawn(crate::heap::return_freed(stop.subscribe()));
        let gauges = crate::gauges::Sources {
            store: store.clone(),
            soap,
            clock: clock.clone(),
            subscriptions: config.webhooks.subscriptions.keys().cloned().collect(),
        };
        tasks.spawn(crate::gauges::run(gauges, stop.subscribe()));
        tasks.spawn(crate::service::retention::run(
            workflows.store.clone(),
            workflows.clock.clone(),
            stop.subscribe(),
        ));
        for (name, url) in &config.webhooks.subscriptions {
            let subscription = crate::webhooks::Subscription {
                name: name.clone(),
                url: url.clone(),
                secret: config.webhooks.secret.clone(),
            };
            tasks.spawn(crate::webhooks::dispatch(
                subscription,
                store.clone(),
                hook_tls.clone().expect("made when there are subscriptions"),
                stop.subscribe(),
            ));
        }
        Ok(Gateway {
            api,
            tls: config.api.tls,
            mock,
            store,
            certs: live,
            api_key_file,
            stop,
            tasks,
        })
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.api)
    }

    /// Stop the API and the workers (calls in progress finish), then the mock registries.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
        if let Some(mock) = self.mock {
            mock.shutdown().await;
        }
    }
}

fn endpoint(registry: Registry, url: &str, token_url: &str) -> Endpoint {
    // `GatewayConfig::check` and the mock's own URLs make these URIs.
    let uri = |u: &str| {
        u.parse()
            .unwrap_or_else(|e| panic!("{registry}: '{u}' is not a URI: {e}"))
    };
    Endpoint {
        url: uri(url),
        token_url: uri(token_url),
    }
}

/// The configured keys, or a development key generated once into `<data>/dev-api-key` (mode 0600).
fn api_keys(
    config: &GatewayConfig,
) -> Result<(HashMap<String, String>, Option<PathBuf>), StartError> {
    let mut keys: HashMap<String, String> = config
        .api
        .keys
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
            let key = crate::ids::uuid_v4().replace('-', "");
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
