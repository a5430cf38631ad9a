//! The API's accept loop: HTTPS (TLS 1.3) or, behind a TLS-terminating proxy on loopback, plain
//! HTTP. A client certificate of the internal CA, when the caller presents one, is verified in the
//! handshake and becomes the connection's [`Caller`] (`cert:<CN>`), which every request on that
//! connection carries; callers without one authenticate per request with a bearer key.
//!
//! Shutdown is graceful: the listener closes, connections finish the requests they have, and those
//! still open after [`GRACE`] are dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::Caller;
use crate::shutdown::stopped;

/// How long shutdown waits for open connections.
pub const GRACE: Duration = Duration::from_secs(5);

/// A handshake that has not finished by then is dropped (a slow or silent client holds no slot).
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `stopping` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    reviewers: Arc<Vec<String>>,
    app: Router,
    mut stopping: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stopped(&mut stopping) => break,
        };
        // Transient accept errors (EMFILE, aborted connections) must not stop the listener.
        let Ok((tcp, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, stop) = (app.clone(), stopping.clone());
        match tls.clone() {
            None => {
                connections.spawn(connection(TokioIo::new(tcp), None, app, stop));
            }
            Some(acceptor) => {
                let reviewers = reviewers.clone();
                connections.spawn(async move {
                    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await
                    else {
                        // No handshake (a certificate of another CA, a plain-HTTP client): nothing
                        // was processed.
                        return;
                    };
                    let caller = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| Caller::from_certificate(leaf.as_ref(), &reviewers));
                    connection(TokioIo::new(tls), caller, app, stop).await;
                });
            }
        }
    }
    drop(listener);
    let finish = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, finish).await.is_err() {
        connections.abort_all();
    }
}

/// HTTP/1.1 or HTTP/2 on one connection until the client closes or the gateway stops.
async fn connection<I>(
    io: TokioIo<I>,
    caller: Option<Caller>,
    app: Router,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        if let Some(caller) = &caller {
            req.extensions_mut().insert(caller.clone());
        }
        app.clone().oneshot(req)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}
