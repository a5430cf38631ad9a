//! HTTPS transport to the registries: a hyper client over rustls (TLS 1.3, client certificate from a
//! resolver that can be swapped at run time), a keep-alive pool per registry, a connect timeout, and a
//! cap on the answer's size. Deadlines per attempt and per call are the pipeline's
//! ([`super::client`]); this layer only moves bytes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper::header::{self, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The largest answer accepted (the biggest legitimate one, 100 assignments, is far below).
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// An answer as it came.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `Retry-After` in seconds, if any.
    pub retry_after: Option<Duration>,
    /// The body.
    pub body: Bytes,
}

/// Why a POST brought no answer to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostError {
    /// Connecting, the TLS handshake, sending or reading failed (transport-level text only, never
    /// personal data).
    Io(String),
    /// An answer came, larger than [`MAX_ANSWER`]: reading stopped at the limit. The registry
    /// answered, so this is a bad answer, not an outage.
    TooLarge {
        /// HTTP status of the answer.
        status: u16,
    },
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Io(message) => f.write_str(message),
            PostError::TooLarge { status } => write!(
                f,
                "the answer (HTTP {status}) is larger than {MAX_ANSWER} bytes"
            ),
        }
    }
}

/// The HTTPS client of one registry.
#[derive(Clone)]
pub struct Transport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Transport {
    /// A client with `tls` (whose client-certificate resolver may be swapped later) and a connect
    /// timeout; idle pooled connections are closed after `idle`.
    pub fn new(
        tls: Arc<rustls::ClientConfig>,
        connect_timeout: Duration,
        idle: Duration,
    ) -> Transport {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(idle)
            .pool_max_idle_per_host(256)
            .build(https);
        Transport { client }
    }

    /// POST `body` to `uri` with `headers`; the whole answer, or what went wrong (never personal data:
    /// only transport-level messages). An answer beyond [`MAX_ANSWER`] is not read further.
    pub async fn post(
        &self,
        uri: &Uri,
        headers: &[(header::HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Reply, PostError> {
        let mut request = hyper::Request::post(uri.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| PostError::Io(format!("request: {e}")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| PostError::Io(describe(e)))?;
        let status = response.status().as_u16();
        let text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = text(header::CONTENT_TYPE);
        let retry_after = text(header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    PostError::TooLarge { status }
                } else {
                    PostError::Io(format!("reading the answer: {}", chain(e.as_ref())))
                }
            })?
            .to_bytes();
        Ok(Reply {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}

fn describe(e: hyper_util::client::legacy::Error) -> String {
    let kind = if e.is_connect() { "connect" } else { "request" };
    format!("{kind}: {}", chain(&e))
}

/// An error with its sources, `a: b: c`.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
