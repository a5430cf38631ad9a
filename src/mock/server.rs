//! The mock registries' servers: one HTTPS listener per registry (mTLS, TLS 1.3, client certificate
//! of the registry-side CA required) serving its SOAP endpoint, WSDL, schemas and token endpoint, and
//! one plain-HTTP admin listener on loopback ([`super::admin`]) that no injected fault can reach.
//!
//! A listener per registry is what lets connection-level faults hit one registry only: its handshakes
//! fail, or it stops listening for a while, while the others carry on — as separate hosts would.
//! Shutdown is graceful: listeners close, connections finish the call in progress (hung calls are
//! released) within [`GRACE`], then whatever is left is dropped.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::contract::Registry;
use crate::mock::faults::{ConnectionFault, FaultKind};
use crate::mock::handlers;
use crate::mock::inject::Connection;
use crate::mock::state::MockState;
use crate::shutdown::stopped;

/// The SNILS registry's port when `reggate mock` is started with its defaults; INN, children and
/// labour listen on the next three (in [`Registry::ALL`] order). The repository's `wsdl/*.wsdl` name
/// these addresses, so they are usable as they are against a mock started with defaults.
pub const DEFAULT_PORT: u16 = 8443;

/// How long shutdown waits for connections to finish their calls.
pub const GRACE: Duration = Duration::from_secs(5);

/// How often a listener closed by a `refuse` fault rereads the clock: a test's manual clock moves
/// without waking anyone, and reopening within this much of the move is soon enough.
const CLOSED_POLL: Duration = Duration::from_millis(50);

/// The axum router one registry's listener serves.
fn router(state: Arc<MockState>) -> Router {
    Router::new()
        .route("/token", post(handlers::token))
        .route(
            "/registry/{name}",
            post(handlers::registry).get(handlers::wsdl),
        )
        .route("/schemas/{file}", get(handlers::schema))
        .with_state(state)
}

/// Where the mock listens.
#[derive(Clone, Debug)]
pub struct Bind {
    /// The address of every listener.
    pub host: IpAddr,
    /// The SNILS registry's port; INN, children and labour follow on the next three. 0: each takes a
    /// free port of its own.
    pub base_port: u16,
    /// The admin endpoint (plain HTTP), if wanted.
    pub admin: Option<SocketAddr>,
}

impl Bind {
    /// Every listener on a free loopback port: what tests want.
    pub fn loopback() -> Bind {
        Bind {
            host: IpAddr::from([127, 0, 0, 1]),
            base_port: 0,
            admin: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        }
    }
}

/// Running mock registries.
pub struct MockServer {
    state: Arc<MockState>,
    endpoints: Vec<(Registry, SocketAddr)>,
    admin: Option<SocketAddr>,
    tasks: JoinSet<()>,
}

impl MockServer {
    /// Bind every listener and start serving.
    pub async fn start(
        state: Arc<MockState>,
        tls: Arc<rustls::ServerConfig>,
        bind: &Bind,
    ) -> io::Result<MockServer> {
        let acceptor = TlsAcceptor::from(tls);
        let mut tasks = JoinSet::new();
        let mut endpoints = Vec::new();
        for (i, registry) in Registry::ALL.into_iter().enumerate() {
            let port = if bind.base_port == 0 {
                0
            } else {
                bind.base_port + i as u16
            };
            let listener = TcpListener::bind(SocketAddr::new(bind.host, port))
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("{registry} on port {port}: {e}")))?;
            let addr = listener.local_addr()?;
            endpoints.push((registry, addr));
            let listen = Listen {
                registry,
                addr,
                state: state.clone(),
                acceptor: acceptor.clone(),
            };
            tasks.spawn(listen.run(listener));
        }
        let admin = match bind.admin {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|e| io::Error::new(e.kind(), format!("admin on {addr}: {e}")))?;
                let addr = listener.local_addr()?;
                let app = crate::mock::admin::router(state.clone(), endpoints.clone());
                let mut stopping = state.stopping.subscribe();
                tasks.spawn(async move {
                    let stop = async move { stopped(&mut stopping).await };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(stop)
                        .await;
                });
                Some(addr)
            }
            None => None,
        };
        Ok(MockServer {
            state,
            endpoints,
            admin,
            tasks,
        })
    }

    /// The mock registries inside another process (the gateway's `registries.mock`, `reggate
    /// replay --target mock`): answering from `population`, on free loopback ports, no admin
    /// listener, with the server certificate of the development PKI `pki`.
    pub async fn start_in_process(
        pki: &crate::tls::PkiLayout,
        schema: Arc<crate::xml::schema::Schema>,
        population: crate::mock::population::Population,
        clock: Arc<dyn crate::clock::Clock>,
        files: crate::mock::state::ServedFiles,
    ) -> Result<MockServer, String> {
        let tls = crate::tls::config::server_config(
            &pki.registry_server(),
            &pki.registry_server_key(),
            &pki.registry_ca(),
        )
        .map_err(|e| format!("mock TLS: {e}"))?;
        let state = Arc::new(MockState::new(
            schema,
            population,
            crate::mock::token::TokenStore::default(),
            clock,
            files,
        ));
        let bind = Bind {
            admin: None,
            ..Bind::loopback()
        };
        MockServer::start(state, tls, &bind)
            .await
            .map_err(|e| format!("mock registries: {e}"))
    }

    /// The state the registries answer from (faults, counters, population, clock).
    pub fn state(&self) -> &Arc<MockState> {
        &self.state
    }

    /// A registry's listener address.
    pub fn addr(&self, registry: Registry) -> SocketAddr {
        self.endpoints
            .iter()
            .find(|(r, _)| *r == registry)
            .map(|(_, a)| *a)
            .expect("every registry has a listener")
    }

    /// A registry's SOAP endpoint URL (host `localhost`, as its certificate names).
    pub fn url(&self, registry: Registry) -> String {
        format!(
            "https://localhost:{}/registry/{registry}",
            self.addr(registry).port()
        )
    }

    /// The token endpoint URL at a registry.
    pub fn token_url(&self, registry: Registry) -> String {
        format!("https://localhost:{}/token", self.addr(registry).port())
    }

    /// The admin endpoint's address, if it was bound.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// Stop: close the listeners, let connections finish within [`GRACE`], then drop the rest.
    pub async fn shutdown(mut self) {
        self.state.stopping.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Serve until `signal` completes, then shut down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

/// One registry's accept loop.
struct Listen {
    registry: Registry,
    addr: SocketAddr,
    state: Arc<MockState>,
    acceptor: TlsAcceptor,
}

impl Listen {
    async fn run(self, listener: TcpListener) {
        let mut listener = Some(listener);
        let mut connections = JoinSet::new();
        let mut changed = self.state.faults.subscribe();
        let mut stopping = self.state.stopping.subscribe();
        loop {
            if *stopping.borrow() {
                break;
            }
            while connections.try_join_next().is_some() {}
            if let Some(left) = self.state.faults.closed_for(self.registry) {
                if listener.take().is_some() {
                    self.state.counters.fault(self.registry, FaultKind::Refuse);
                }
                // The window is measured by the mock's clock, which a test may move without
                // notice: look again at least every CLOSED_POLL rather than once at its end.
                tokio::select! {
                    _ = tokio::time::sleep(left.min(CLOSED_POLL)) => {}
                    _ = changed.changed() => {}
                    _ = stopped(&mut stopping) => break,
                }
                continue;
            }
            let Some(open) = &listener else {
                listener = self.rebind().await;
                continue;
            };
            let accepted = tokio::select! {
                a = open.accept() => a,
                _ = changed.changed() => continue,
                _ = stopped(&mut stopping) => break,
            };
            // Transient accept errors (EMFILE, aborted connections) must not stop the listener.
            if let Ok((stream, _)) = accepted {
                self.state.counters.connection(self.registry);
                connections.spawn(self.connection(stream));
            }
        }
        drop(listener);
        let finish = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(GRACE, finish).await.is_err() {
            connections.abort_all();
        }
    }

    /// Listen again at the same address after a `refuse` fault (retrying while the port is busy).
    async fn rebind(&self) -> Option<TcpListener> {
        for _ in 0..50 {
            if let Ok(l) = TcpListener::bind(self.addr).await {
                return Some(l);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Serve one connection: the TLS handshake (or its injected failure), then HTTP/1.1 until the
    /// client closes, the call aborts it, or the mock stops.
    fn connection(&self, stream: TcpStream) -> impl Future<Output = ()> + Send + 'static {
        let registry = self.registry;
        let state = self.state.clone();
        let acceptor = self.acceptor.clone();
        async move {
            if state.faults.on_connection(registry) == ConnectionFault::FailHandshake {
                state.counters.fault(registry, FaultKind::TlsHandshake);
                fail_handshake(stream).await;
                return;
            }
            let (stream, duplicate) = match with_duplicate(stream) {
                Ok(pair) => pair,
                Err(_) => return,
            };
            let Ok(tls) = acceptor.accept(stream).await else {
                // No or untrusted client certificate: the handshake failed; drop the connection.
                return;
            };
            let connection = Arc::new(Connection::new(registry, duplicate));
            let app = router(state.clone());
            let per_request = connection.clone();
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(per_request.clone());
                app.clone().oneshot(req)
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            let mut conn = std::pin::pin!(conn);
            let mut stopping = state.stopping.subscribe();
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = connection.aborted() => {}
                _ = stopped(&mut stopping) => {
                    conn.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = connection.aborted() => {}
                    }
                }
            }
        }
    }
}

/// The stream and a second handle on its socket (for a reset, see [`Connection::abort`]); without one, a reset
/// becomes a plain close.
fn with_duplicate(stream: TcpStream) -> io::Result<(TcpStream, Option<std::net::TcpStream>)> {
    let std = stream.into_std()?;
    let duplicate = std.try_clone().ok();
    Ok((TcpStream::from_std(std)?, duplicate))
}

/// Answer the ClientHello with a fatal `handshake_failure` alert and close.
async fn fail_handshake(mut stream: TcpStream) {
    let mut hello = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut hello)).await;
    // Alert record: content type 21, legacy version 3.3, length 2, level fatal (2), handshake_failure (40).
    let _ = stream.write_all(&[21, 3, 3, 0, 2, 2, 40]).await;
    let _ = stream.shutdown().await;
}
