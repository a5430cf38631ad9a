//! The API's accept loop: HTTPS (TLS 1.3, HTTP/2 or HTTP/1.1 by ALPN) or, behind a TLS-terminating
//! proxy on loopback, plain HTTP. A client certificate of the internal CA, when the caller presents
//! one, is verified in the handshake and becomes the connection's [`Caller`] (`cert:<CN>`), which
//! every request on that connection carries; callers without one authenticate per request with a
//! bearer key.
//!
//! Every connection is bounded ([`Limits`]), so no client can pin a slot or memory by being slow:
//!
//! | phase | bound | what happens |
//! |---|---|---|
//! | accepted beyond [`Limits::max_connections`] | none waits | closed at once, counted |
//! | TLS handshake | [`Limits::handshake`] | dropped |
//! | no request in flight, nothing sent | [`Limits::idle`] | closed gracefully (HTTP/2: GOAWAY) |
//! | a request head started but incomplete (HTTP/1.1) | [`Limits::header`] from its first byte | dropped |
//! | a request body | [`Limits::body`] without a byte, or slower than [`Limits::body_min_rate`] | 408 problem, then closed |
//! | a response the client does not read | [`Limits::body`] without a byte taken | dropped |
//!
//! An HTTP/1.1 answer given before its request's body was read to the end (a refusal that needs
//! no body: 401, 404, a declared length over the limit) says `Connection: close`: hyper closes such
//! a connection rather than read on, and a client that knows sends its next request elsewhere.
//!
//! A request in flight is a handler running or its response still being sent: a long registry
//! check or an event stream is not "idle". Header and request sizes are bounded by the protocol
//! settings below ([`H1_MAX_BUF`], the HTTP/2 constants), documents by their handler (streamed to
//! disk, 5 MiB), JSON bodies by [`super::MAX_BODY`].
//!
//! Shutdown is graceful: the listener closes, connections finish the requests they have, and those
//! still open after [`GRACE`] are dropped.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use axum::response::IntoResponse;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::Caller;
use super::problem::Problem;
use crate::shutdown::stopped;
use crate::tls::config::LiveServerConfig;

/// How long shutdown waits for open connections.
pub const GRACE: Duration = Duration::from_secs(5);

/// The protocols the API offers in the TLS handshake, preferred first. A client offering neither
/// (or no ALPN at all) is served HTTP/1.1.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// HTTP/1.1: the most a connection buffers while reading. A request head must fit in it (a larger
/// one is answered 431), and body bytes are handed on in pieces of at most this size. A cabinet's
/// heads are well under 4 KiB; hyper's own default (~400 KiB) would let every slow client hold that.
/// 16 KiB (one TLS record) still reads a 5 MiB document at over 100 MB/s on loopback; a stalled
/// upload then costs the gateway ~140 KiB in all (measured, 200 at once; ~210 KiB with 64 KiB here
/// and document writes not bounded by `documents::WRITES`).
pub const H1_MAX_BUF: usize = 16 * 1024;
/// HTTP/1.1: header lines per request (hyper's default; the API's own requests use fewer than 15).
pub const H1_MAX_HEADERS: usize = 100;
/// HTTP/2: the decoded size of one request's header list (RFC 9113 §6.5.2 `MAX_HEADER_LIST_SIZE`);
/// the h2 default is 16 MiB.
pub const H2_MAX_HEADER_LIST: u32 = 32 * 1024;
/// HTTP/2: what a client may send on one stream before the handler has read it (the stream's flow
/// control window). Handlers read promptly (documents go straight to disk), so this only needs to
/// keep a LAN link busy.
pub const H2_STREAM_WINDOW: u32 = 256 * 1024;
/// HTTP/2: the same for all streams of a connection together: the most one connection makes the
/// gateway buffer on the receiving side.
pub const H2_CONNECTION_WINDOW: u32 = 1024 * 1024;
/// HTTP/2: largest frame accepted (the protocol's minimum, 16 KiB, which every peer must support;
/// larger frames only save a little framing).
pub const H2_MAX_FRAME: u32 = 16 * 1024;
/// HTTP/2: response bytes buffered per stream ahead of the socket (hyper's default is 400 KiB).
pub const H2_MAX_SEND_BUF: usize = 64 * 1024;
/// HTTP/2: a ping after this long without a frame from the client; no answer within
/// [`H2_PING_TIMEOUT`] closes the connection. It finds peers that vanished (a dead NAT entry)
/// while a request of theirs is in flight; idle connections are closed by [`Limits::idle`].
pub const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
/// HTTP/2: how long a ping may go unanswered.
pub const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The bounds of the API's connections: each field's default and why. `[api]` in the configuration
/// sets them (`crate::config::ApiConfig::limits`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most (default 4,096). Beyond it a new connection is accepted and closed
    /// at once, before any TLS work, and counted (`reggate_api_connections_refused_total`):
    /// leaving it in the kernel's queue instead would let clients time out with no answer at all,
    /// and a TLS handshake just to answer 503 would spend the CPU the cap protects. Cabinet
    /// backends keep tens to hundreds of keep-alive connections; 4,096 leaves room for a load test's
    /// 2,000 idle ones beside them while bounding file descriptors and per-connection buffers.
    pub max_connections: usize,
    /// A TLS handshake not finished by then is dropped (default 10 s): on a LAN it takes
    /// milliseconds; the margin covers a gateway busy with many at once.
    pub handshake: Duration,
    /// An HTTP/1.1 request head not complete this long after its first byte is dropped (default
    /// 10 s): backends send a head in one write, so only a stalled or hostile client is cut.
    pub header: Duration,
    /// A connection with no request in flight and no byte of a new one for this long is closed
    /// (default 60 s): longer than the idle time of common client pools' reuse, so a backend rarely
    /// sends on a connection that is being closed, short enough that abandoned connections go.
    pub idle: Duration,
    /// A request body that sends no byte for this long is answered 408 and its connection closed
    /// (default 10 s); so is a client that takes no byte of a response for this long. A backend
    /// that has begun a body sends it at LAN speed.
    pub body: Duration,
    /// The slowest a request body may arrive on average, bytes per second (default 16 KiB/s; 0:
    /// no rate, only [`Limits::body`]): a body may take [`Limits::body`] plus one second per this
    /// many bytes. It stops a client that trickles a byte now and then (each inside
    /// [`Limits::body`]) from holding a 5 MiB upload open for hours; 16 KiB/s lets a 5 MiB document
    /// take five and a half minutes.
    pub body_min_rate: u64,
    /// HTTP/2 requests in flight at once on one connection (default 64; hyper's is 200): each
    /// may hold a JSON body of up to 256 KiB, so this bounds a connection's share.
    pub h2_max_streams: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            handshake: Duration::from_secs(10),
            header: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            body: Duration::from_secs(10),
            body_min_rate: 16 * 1024,
            h2_max_streams: 64,
        }
    }
}

/// Connections refused because the cap was reached, since the process started.
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Serve `app` on `listener` within `limits` until `stopping` turns true. With `tls`, the API offers
/// HTTP/2 and HTTP/1.1 by ALPN ([`ALPN`]) whatever the acceptor's configuration says.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<LiveServerConfig>>,
    reviewers: Arc<Vec<String>>,
    app: Router,
    limits: Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let mut acceptor = tls.map(Acceptor::new);
    let limits = Arc::new(limits);
    let http = Arc::new(builder(&limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
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
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(tcp, limits.max_connections);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, stop, limits, http) =
            (app.clone(), stopping.clone(), limits.clone(), http.clone());
        match acceptor.as_mut().map(Acceptor::current) {
            None => {
                connections.spawn(async move {
                    let _slot = slot;
                    connection(tcp, false, None, app, &limits, &http, stop).await;
                });
            }
            Some(acceptor) => {
                let reviewers = reviewers.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await
                    else {
                        // No handshake (a certificate of another CA, a plain-HTTP client, too
                        // slow): nothing was processed.
                        return;
                    };
                    let session = tls.get_ref().1;
                    let h2 = session.alpn_protocol() == Some(b"h2");
                    let caller = session
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| Caller::from_certificate(leaf.as_ref(), &reviewers));
                    connection(tls, h2, caller, app, &limits, &http, stop).await;
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

/// The TLS acceptor of the current configuration with the API's ALPN: rebuilt when a certificate
/// reload replaced the configuration, so new connections use the new one and open ones keep theirs.
struct Acceptor {
    live: Arc<LiveServerConfig>,
    source: Arc<rustls::ServerConfig>,
    acceptor: TlsAcceptor,
}

impl Acceptor {
    fn new(live: Arc<LiveServerConfig>) -> Acceptor {
        let source = live.get();
        Acceptor {
            acceptor: with_alpn(&source),
            source,
            live,
        }
    }

    fn current(&mut self) -> TlsAcceptor {
        let now = self.live.get();
        if !Arc::ptr_eq(&now, &self.source) {
            self.acceptor = with_alpn(&now);
            self.source = now;
        }
        self.acceptor.clone()
    }
}

fn with_alpn(config: &rustls::ServerConfig) -> TlsAcceptor {
    let mut config = config.clone();
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

/// Close a connection beyond the cap. The log says so once per 1,024 refusals, not per connection:
/// a flood must not become a flood of log lines.
fn refuse(tcp: tokio::net::TcpStream, cap: usize) {
    drop(tcp);
    metrics::counter!("reggate_api_connections_refused_total").increment(1);
    let n = REFUSED.fetch_add(1, Ordering::Relaxed);
    if n.is_multiple_of(1024) {
        tracing::warn!(
            cap,
            refused = n + 1,
            "API connection cap reached: new connections are closed at once"
        );
    }
}

/// hyper's settings for every connection: HTTP/1.1 and HTTP/2 (by the client's preface), their
/// buffers bounded, a timer for HTTP/2's pings and HTTP/1.1's header bound.
fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        // [`watchdog`] bounds a head from its first byte and the idle time separately; hyper's own
        // timer starts when a connection turns idle, so at idle + header it only backs ours up
        // (a head whose first bytes came while a response was still being written).
        .header_read_timeout(limits.idle + limits.header)
        .max_buf_size(H1_MAX_BUF)
        .max_headers(H1_MAX_HEADERS);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_streams)
        .max_header_list_size(H2_MAX_HEADER_LIST)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        .max_frame_size(H2_MAX_FRAME)
        .max_send_buf_size(H2_MAX_SEND_BUF)
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT);
    b
}

/// HTTP/1.1 or HTTP/2 on one connection until the client closes, a bound runs out or the gateway
/// stops.
async fn connection<I>(
    io: I,
    h2: bool,
    caller: Option<Caller>,
    app: Router,
    limits: &Arc<Limits>,
    http: &auto::Builder<TokioExecutor>,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(h2));
    let io = Watched::new(io, activity.clone(), limits.body);
    let service = {
        let (activity, limits) = (activity.clone(), limits.clone());
        hyper::service::service_fn(move |req: Request<Incoming>| {
            let in_flight = activity.begin(req.version() == Version::HTTP_2);
            let stalled = Arc::new(AtomicBool::new(false));
            let ended = Arc::new(AtomicBool::new(false));
            let h1 = req.version() < Version::HTTP_2;
            let mut req = req.map(|body| {
                axum::body::Body::new(Paced::new(body, &limits, stalled.clone(), ended.clone()))
            });
            if let Some(caller) = &caller {
                req.extensions_mut().insert(caller.clone());
            }
            let app = app.clone();
            let limits = limits.clone();
            async move {
                let Ok(mut response) = app.oneshot(req).await;
                if stalled.load(Ordering::Relaxed) {
                    response = body_stalled(&response, &limits, h1);
                } else if h1 && !ended.load(Ordering::Relaxed) {
                    // Answered before its body was read to the end (a 401, a 404, a 413 on the
                    // declared length): hyper closes the connection after the answer rather than
                    // read on, and the client must know not to send another request on it — one
                    // sent meanwhile would meet a closed connection (and a POST is not retried).
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(response.map(|body| Tracked {
                    body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let conn = http.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        expired = watchdog(&activity, limits) => {
            metrics::counter!("reggate_api_connections_timed_out_total", "phase" => expired.name())
                .increment(1);
            if expired == Expired::Idle {
                // Nothing in flight: HTTP/1.1 closes at once, HTTP/2 says GOAWAY so the client
                // knows no request was lost. A client that does not let it finish is dropped.
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(limits.header, conn.as_mut()).await;
            }
        }
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

/// The answer to a request whose body stalled, in place of whatever the handler made of the
/// unreadable body (axum's 400, a document handler's refusal). It keeps the request id.
fn body_stalled(
    handled: &Response<axum::body::Body>,
    limits: &Limits,
    h1: bool,
) -> Response<axum::body::Body> {
    let rate = if limits.body_min_rate > 0 {
        format!(" or at less than {} bytes/s", limits.body_min_rate)
    } else {
        String::new()
    };
    let mut response = Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "body-timeout",
        "Request body too slow",
        format!(
            "the request body stopped arriving for {} ms{rate}; nothing was stored",
            limits.body.as_millis()
        ),
    )
    .into_response();
    let id = axum::http::HeaderName::from_static(super::request_id::HEADER);
    if let Some(v) = handled.headers().get(&id) {
        response.headers_mut().insert(id, v.clone());
    }
    // The rest of the body was never read: the connection cannot carry another request. (HTTP/2
    // resets only the stream, and forbids the header.)
    if h1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Which bound closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expired {
    /// Nothing in flight, nothing sent.
    Idle,
    /// A request head begun and not finished.
    Header,
}

impl Expired {
    fn name(self) -> &'static str {
        match self {
            Expired::Idle => "idle",
            Expired::Header => "header",
        }
    }
}

/// What a connection is doing, as [`watchdog`] needs to know it: requests in flight, since when it
/// has been idle, since when a request head has been arriving.
struct Activity {
    state: Mutex<State>,
    /// Woken when a deadline may have moved earlier (the connection turned idle, a head began).
    changed: Notify,
}

struct State {
    in_flight: usize,
    idle_since: Instant,
    /// The first byte read while idle: a request head (or, on HTTP/2, any frame) begins.
    head_since: Option<Instant>,
    /// HTTP/2 (by ALPN or by its first request): frames arrive while idle (pings, window
    /// updates), so bytes do not mean a head began; only [`Limits::idle`] applies.
    h2: bool,
    /// Bumped on every change, so a deadline computed from an older state is not acted on.
    generation: u64,
}

impl Activity {
    fn new(h2: bool) -> Activity {
        Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                head_since: None,
                h2,
                generation: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it (plain counters).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request's head is complete and its handler starts.
    fn begin(self: &Arc<Self>, h2: bool) -> InFlight {
        let mut s = self.lock();
        s.in_flight += 1;
        s.head_since = None;
        s.h2 |= h2;
        s.generation += 1;
        InFlight(self.clone())
    }

    /// Bytes came from the client.
    fn read(&self) {
        let mut s = self.lock();
        if s.in_flight == 0 && s.head_since.is_none() {
            s.head_since = Some(Instant::now());
            s.generation += 1;
            drop(s);
            self.changed.notify_one();
        }
    }

    /// When the connection is to be closed as things stand, and why (none while a request is in
    /// flight: its body and response have their own bounds).
    fn deadline(&self, limits: &Limits) -> (u64, Option<(Instant, Expired)>) {
        let s = self.lock();
        let due = match (s.in_flight, s.head_since) {
            (0, Some(head)) if !s.h2 => Some((head + limits.header, Expired::Header)),
            (0, _) => Some((s.idle_since + limits.idle, Expired::Idle)),
            _ => None,
        };
        (s.generation, due)
    }
}

/// One request in flight, from its head until its response has been sent (or given up).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
            s.head_since = None;
        }
        s.generation += 1;
        drop(s);
        self.0.changed.notify_one();
    }
}

/// Resolves when the connection has been idle, or has been sending a head, for too long.
async fn watchdog(activity: &Activity, limits: &Limits) -> Expired {
    loop {
        // A notification after `deadline` was read is kept as a permit: nothing is missed.
        let (generation, due) = activity.deadline(limits);
        match due {
            None => activity.changed.notified().await,
            Some((at, why)) => {
                tokio::select! {
                    _ = activity.changed.notified() => {}
                    _ = tokio::time::sleep_until(at) => {
                        if activity.deadline(limits).0 == generation {
                            return why;
                        }
                    }
                }
            }
        }
    }
}

/// The connection's byte stream, watched: reads tell [`Activity`] a head may have begun, and a
/// write that makes no progress for the send bound fails (a client that reads nothing of its
/// response would otherwise hold the connection, and the response's buffers, for ever).
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
    send_bound: Duration,
    /// Armed while a write waits for the client to take bytes.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<I> Watched<I> {
    fn new(io: I, activity: Arc<Activity>, send_bound: Duration) -> Watched<I> {
        Watched {
            io,
            activity,
            send_bound,
            stalled: None,
        }
    }

    /// A write's outcome: progress disarms the bound, waiting arms it, too long a wait fails.
    fn bounded<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let bound = self.send_bound;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(bound)));
                if timer.as_mut().poll(cx).is_ready() {
                    metrics::counter!("reggate_api_connections_timed_out_total", "phase" => "send")
                        .increment(1);
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client took no bytes of the response",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.bounded(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.bounded(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.bounded(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.bounded(cx, r)
    }
}

/// Why a request body was cut off.
#[derive(Debug)]
pub struct BodyStalled;

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stalled")
    }
}

impl StdError for BodyStalled {}

/// A request body that must keep arriving: no pause longer than [`Limits::body`], and on average
/// at least [`Limits::body_min_rate`] bytes per second after the first [`Limits::body`]. When it
/// does not, it fails with [`BodyStalled`] and marks `stalled` so the answer becomes 408. `ended`
/// turns true once the body has been read to its end.
struct Paced {
    body: Incoming,
    pause: Duration,
    rate: u64,
    started: Instant,
    last: Instant,
    received: u64,
    timer: Option<Pin<Box<Sleep>>>,
    stalled: Arc<AtomicBool>,
    ended: Arc<AtomicBool>,
}

impl Paced {
    fn new(
        body: Incoming,
        limits: &Limits,
        stalled: Arc<AtomicBool>,
        ended: Arc<AtomicBool>,
    ) -> Paced {
        if body.is_end_stream() {
            ended.store(true, Ordering::Relaxed);
        }
        let now = Instant::now();
        Paced {
            body,
            pause: limits.body,
            rate: limits.body_min_rate,
            started: now,
            last: now,
            received: 0,
            timer: None,
            stalled,
            ended,
        }
    }

    /// The moment the body is too late, as received so far.
    fn deadline(&self) -> Instant {
        let pause = self.last + self.pause;
        if self.rate == 0 {
            return pause;
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.rate as f64);
        pause.min(self.started + self.pause + earned)
    }
}

impl Body for Paced {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.stalled.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(Box::new(BodyStalled))));
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                this.last = Instant::now();
                if this.body.is_end_stream() {
                    this.ended.store(true, Ordering::Relaxed);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => {
                this.ended.store(true, Ordering::Relaxed);
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        let deadline = this.deadline();
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_ready() {
            this.stalled.store(true, Ordering::Relaxed);
            metrics::counter!("reggate_api_connections_timed_out_total", "phase" => "body")
                .increment(1);
            return Poll::Ready(Some(Err(Box::new(BodyStalled))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that holds its request's [`InFlight`] until it has been sent or dropped.
struct Tracked<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
