//! Injected faults on the wire: how a fault that [`super::faults`] decided for a call becomes what the
//! client sees — a status and body, an answer that is cut off, reset, dripped or mangled, or nothing
//! at all. Faults that break the connection act through its [`Connection`], which the server puts in
//! every request's extensions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, watch};

use crate::channel_body::ChannelBody;
use crate::contract::{Reason, Registry};
use crate::mock::faults::{FaultKind, Rule};
use crate::mock::render;
use crate::mock::token::TokenError;

/// How a connection is to end early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abort {
    /// A TCP reset (RST), whatever is still unsent is dropped.
    Reset,
    /// A plain close (FIN) with no TLS close_notify: the peer sees an unexpected end.
    Close,
}

/// One accepted connection as the handlers see it: the registry it was made to, and the means to end
/// it early.
pub struct Connection {
    /// The registry whose listener accepted it.
    pub registry: Registry,
    /// A second handle on the socket: SO_LINGER 0 set through it makes the close a reset.
    socket: Mutex<Option<std::net::TcpStream>>,
    abort: watch::Sender<Option<Abort>>,
}

impl Connection {
    /// A connection to `registry`; `socket` is a duplicate of its TCP socket, if one could be made.
    pub fn new(registry: Registry, socket: Option<std::net::TcpStream>) -> Connection {
        Connection {
            registry,
            socket: Mutex::new(socket),
            abort: watch::channel(None).0,
        }
    }

    /// End the connection now: the server's connection task drops it when it sees this.
    pub fn abort(&self, how: Abort) {
        let socket = self.socket.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Abort::Reset, Some(socket)) = (how, &socket) {
            // Linger 0: close() sends RST instead of FIN. It is a socket option, so setting it through
            // the duplicate applies to the connection's own descriptor too.
            let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
        }
        drop(socket);
        self.abort.send_replace(Some(how));
    }

    /// Completes once [`Connection::abort`] has been called.
    pub async fn aborted(&self) {
        let mut rx = self.abort.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// A response the registry would give: status, body and `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// `text/xml` body.
    pub body: String,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
}

impl Answer {
    /// HTTP 200 with an envelope.
    pub fn ok(body: String) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            retry_after: None,
        }
    }

    /// HTTP 500 with a SOAP Fault, as SOAP 1.1 §6.2 and WS-I BP R1126 want for a fault.
    pub fn fault(reason: Reason, message: &str) -> Answer {
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: render::fault(reason, message),
            retry_after: None,
        }
    }

    /// HTTP 429 with a SOAP Fault (`soap:Server`, `RATE_LIMITED`) and `Retry-After`: the one
    /// fault not sent with 500, because the status and its header are what HTTP clients and
    /// proxies act on to slow down.
    pub fn too_many(retry_after: u64, message: &str) -> Answer {
        Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: render::fault(Reason::RateLimited, message),
            retry_after: Some(retry_after.max(1)),
        }
    }

    fn head(&self, length: usize) -> axum::http::response::Builder {
        let mut b = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header(header::CONTENT_LENGTH, length);
        if let Some(s) = self.retry_after {
            b = b.header(header::RETRY_AFTER, s);
        }
        b
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let length = self.body.len();
        self.head(length)
            .body(Body::from(self.body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// Whether `kind` replaces the answer outright; the others change how the real answer goes out, so
/// the caller computes that first.
pub fn replaces_answer(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::ServerFault
            | FaultKind::Unavailable
            | FaultKind::TooManyRequests
            | FaultKind::ExpiredToken
            | FaultKind::Hang
    )
}

/// The response for an injected fault. `real` is the answer the registry would have given (ignored
/// by the kinds that [replace it](replaces_answer)); `stopping` releases a hang when the mock stops.
pub async fn respond(
    rule: &Rule,
    real: Answer,
    connection: Arc<Connection>,
    mut stopping: watch::Receiver<bool>,
) -> Response {
    match rule.kind {
        FaultKind::ServerFault => {
            Answer::fault(Reason::InternalError, "internal error in the registry").into_response()
        }
        FaultKind::Unavailable => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>503 Service Unavailable</h1></body></html>",
            )
                .into_response();
            if let Some(s) = rule.retry_after_s {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            r
        }
        FaultKind::TooManyRequests => Answer::too_many(
            rule.retry_after_s.unwrap_or(1),
            "too many requests: retry later",
        )
        .into_response(),
        FaultKind::ExpiredToken => {
            let expired = TokenError::Expired {
                ago: Duration::ZERO,
            };
            Answer::fault(expired.fault_reason(), &expired.to_string()).into_response()
        }
        FaultKind::Hang => {
            crate::shutdown::stopped(&mut stopping).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        FaultKind::MalformedXml => Answer {
            body: malformed(&real.body),
            ..real
        }
        .into_response(),
        FaultKind::SchemaInvalid => Answer {
            body: schema_invalid(&real.body),
            ..real
        }
        .into_response(),
        FaultKind::SlowBody => {
            let pause = Duration::from_millis(rule.duration_ms) / SLOW_CHUNKS as u32;
            streamed(real, move |body, tx| async move {
                for chunk in chunks(&body, SLOW_CHUNKS) {
                    if tx.send(chunk).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(pause).await;
                }
            })
        }
        FaultKind::TruncatedBody | FaultKind::ConnectionReset => {
            let how = if rule.kind == FaultKind::ConnectionReset {
                Abort::Reset
            } else {
                Abort::Close
            };
            streamed(real, move |body, tx| async move {
                let half = body.slice(..body.len() / 2);
                if tx.send(half).await.is_err() {
                    return;
                }
                // Give the half a moment to reach the client before the connection goes.
                tokio::time::sleep(Duration::from_millis(50)).await;
                connection.abort(how);
                // Keep the body open: the connection ends by the abort, not by the body ending.
                tx.closed().await;
            })
        }
        FaultKind::Latency | FaultKind::TlsHandshake | FaultKind::Refuse => real.into_response(),
    }
}

/// How many pieces a slow body is sent in.
const SLOW_CHUNKS: usize = 20;

fn chunks(body: &Bytes, n: usize) -> Vec<Bytes> {
    let size = body.len().div_ceil(n).max(1);
    (0..body.len())
        .step_by(size)
        .map(|at| body.slice(at..(at + size).min(body.len())))
        .collect()
}

/// The real answer's head with the whole body's `Content-Length`, and a body fed by `feed`.
fn streamed<F, Fut>(real: Answer, feed: F) -> Response
where
    F: FnOnce(Bytes, mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let body = Bytes::from(real.body.clone().into_bytes());
    let length = body.len();
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(feed(body, tx));
    real.head(length)
        .body(Body::new(ChannelBody::new(rx, Some(length as u64))))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The answer with its closing envelope tag misspelt: not well-formed, found only at the very end,
/// as with a registry that breaks while writing.
fn malformed(body: &str) -> String {
    match body.rfind("</soap:Envelope>") {
        Some(at) => format!("{}</soap:Envelop>", &body[..at]),
        None => format!("{body}<"),
    }
}

/// The answer with an undeclared element first inside the payload root (or the Fault): well-formed,
/// and no registry type allows it there.
fn schema_invalid(body: &str) -> String {
    let Some(body_at) = body.find("<soap:Body>") else {
        return format!("{body}<Unexpected/>");
    };
    let payload = body_at + "<soap:Body>".len();
    match body[payload..].find('>') {
        Some(end) => {
            let at = payload + end + 1;
            format!(
                "{}<Unexpected>injected by the mock</Unexpected>{}",
                &body[..at],
                &body[at..]
            )
        }
        None => format!("{body}<Unexpected/>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_body_in_order() {
        let body = Bytes::from_static(b"0123456789abcdefghijklmnopqrstuvwxyz!");
        let parts = chunks(&body, 20);
        assert!(parts.len() <= 20 && parts.len() > 10);
        assert_eq!(parts.concat(), body.to_vec());
        assert_eq!(chunks(&Bytes::from_static(b"ab"), 20).len(), 2);
    }

    #[test]
    fn mangled_bodies_keep_their_shape() {
        let real = render::envelope("<x:A xmlns:x=\"urn:x\"><x:B>1</x:B></x:A>");
        let bad = malformed(&real);
        assert!(bad.ends_with("</soap:Envelop>"));
        assert_eq!(bad.len(), real.len() - 1);
        let invalid = schema_invalid(&real);
        assert!(
            invalid.contains("<x:A xmlns:x=\"urn:x\"><Unexpected>"),
            "{invalid}"
        );
    }
}
