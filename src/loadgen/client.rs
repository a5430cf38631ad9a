//! The HTTPS client of a run: hyper's pooled client over rustls (TLS 1.3, trusting the gateway's CA,
//! optionally presenting a client certificate), HTTP/1.1 keep-alive. At most `connections` requests
//! are in flight at once (a semaphore), so the pool holds at most that many connections and reuses
//! them; the events watcher and verification go around the semaphore ([`Lane::Side`]) so that
//! measuring does not queue behind the load it measures.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;

use crate::clock::{Clock, SystemClock};
use crate::loadgen::LoadError;
use crate::loadgen::plan::{Auth, Remote};
use crate::tls::config::{ReloadableClientCert, client_config_with};

/// The largest answer read (a page of 1,000 events is about 200 KB).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

/// An answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

/// No answer: the connection failed, or the time ran out.
#[derive(Clone, Debug)]
pub struct NoAnswer(pub String);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a request counts against the connection bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The load: at most `connections` at once.
    Load,
    /// Watching and verifying: beside the load.
    Side,
}

/// The client.
#[derive(Clone)]
pub struct Client {
    http: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    authorization: Option<HeaderValue>,
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl Client {
    /// A client of `remote` with at most `connections` load requests in flight, each given `timeout`.
    pub fn new(
        remote: &Remote,
        connections: usize,
        timeout: Duration,
    ) -> Result<Client, LoadError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (resolver, authorization) = match &remote.auth {
            Auth::Bearer(key) => {
                let value = HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                    .map_err(|_| LoadError::Setup("the API key is not a header value".into()))?;
                (None, Some(value))
            }
            Auth::Certificate { cert, key } => {
                let resolver = ReloadableClientCert::load(cert, key, clock.clone())
                    .map_err(|e| LoadError::Setup(format!("client certificate: {e}")))?;
                (
                    Some(Arc::new(resolver) as Arc<dyn rustls::client::ResolvesClientCert>),
                    None,
                )
            }
        };
        let tls = client_config_with(&remote.ca, resolver, clock)
            .map_err(|e| LoadError::Setup(format!("TLS: {e}")))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let connections = connections.max(1);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            // Keep every connection the load uses, plus the watcher's and verification's.
            .pool_max_idle_per_host(connections + 8)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https);
        Ok(Client {
            http,
            base: remote.url.trim_end_matches('/').to_string(),
            authorization,
            permits: Arc::new(Semaphore::new(connections)),
            timeout,
        })
    }

    /// Send one request; the whole answer, or why there was none.
    pub async fn send(
        &self,
        lane: Lane,
        method: hyper::Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Answer, NoAnswer> {
        let _permit = match lane {
            Lane::Load => Some(
                self.permits
                    .acquire()
                    .await
                    .map_err(|_| NoAnswer("client closed".into()))?,
            ),
            Lane::Side => None,
        };
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(auth) = &self.authorization {
            request = request.header(header::AUTHORIZATION, auth.clone());
        }
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| NoAnswer(format!("request: {e}")))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                let kind = if e.is_connect() { "connect" } else { "request" };
                NoAnswer(format!("{kind}: {}", crate::soap::transport::chain(&e)))
            })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| NoAnswer(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| NoAnswer(format!("no answer within {:?}", self.timeout)))?
    }

    /// `GET path` beside the load.
    pub async fn get(&self, path: &str) -> Result<Answer, NoAnswer> {
        self.send(Lane::Side, hyper::Method::GET, path, &[], Bytes::new())
            .await
    }
}
