//! Hostile input, both ways (issue 16, "proof in CI"): what a cabinet may send the HTTPS API and
//! what a registry may send back, each refused with a clear error while the gateway stays up and its
//! memory stays bounded.
//!
//! - The API ([`hostile_requests_are_refused_by_field_or_limit_and_the_gateway_stays_up`]): a
//!   gateway started in-process on embedded defaults (mock registries, a new development PKI, TLS),
//!   spoken to over raw HTTP/1.1-over-TLS so that bytes no client library would send can be sent:
//!   malformed JSON; bodies beyond the 256 KiB limit (sent with their length, chunked, and 10 GB
//!   declared: 413 at once); two disagreeing `Content-Length`s; 100,000 nested `[` and 50,000 nested
//!   objects, in a typed body and in a clarification's free-form merge patch (where serde_json's
//!   recursion limit is what stops them); invalid UTF-8 and lone surrogates in JSON strings, in
//!   headers (the key, the idempotency key, the request id), in paths and queries; 200 headers and
//!   one of 1 MiB; numbers out of range, negative, fractional, of 5,000 digits; a SNILS sent as a
//!   number and with wrong check digits; duplicate keys (typed body and merge patch); content types
//!   that are not JSON; a body left unread by a refusal (the answer says `Connection: close`). Each
//!   answer is checked for its status, its problem+json `type` and, where there is one, the JSON
//!   pointer (`?name`, `{name}`) of the field; no answer may quote a SNILS or INN that was sent. What
//!   hyper refuses while reading a request head (431 for too many or too large headers, 400 for
//!   bytes outside the request line's grammar or two lengths) it answers itself, with no body, and
//!   closes the connection.
//! - The registries ([`hostile_registry_answers_are_bad_answers_and_nothing_is_expanded`]): a tiny
//!   registry over mTLS in this file answers every call with the bytes a case sets: an XML bomb
//!   (billion laughs, with and without its DTD), external entities naming a temporary file whose text
//!   must never appear anywhere (XXE, general and parameter entities), a bare DOCTYPE, 100,000
//!   nested elements, a 15 MB attribute (beyond the reader's tag limit) and a 20 MB one (beyond the
//!   16 MiB answer cap), 15 MB of text, invalid UTF-8, an INN breaking its pattern. The outbound
//!   pipeline (`SoapClient`) must refuse each as `CallError::InvalidResponse` — a bad answer
//!   (`service::checks::failure`), never an outage — naming the rule or limit, quoting no personal
//!   value, and then take a good answer from the same registry.
//!
//! Memory: the test process's peak (`VmHWM`, reset before each corpus) may exceed its `VmRSS` before
//! the corpus by less than [`MEMORY_BOUND`] (the gateway runs in this process); an entity expansion
//! or a buffered bomb would pass it. The two corpora take turns ([`SERIAL`]) so neither measures the
//! other.
//!
//! Not repeated here: slow and silent clients (idle connections, half-sent request heads, stalled
//! and trickling uploads, unread responses, the connection cap) are `tests/connections.rs`; the
//! mock registries' own fault kinds (resets, truncated bodies, hangs, malformed and schema-invalid
//! answers) are `tests/mock_faults.rs` and, through the pipeline, `tests/pipeline.rs`; the XML
//! reader's limits one by one are unit tests in `src/xml/reader.rs`; documents judged by content
//! (an ELF behind `%PDF-`) are `tests/api.rs`.

#[path = "support/cases.rs"]
mod cases;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use cases::{application, case, doc_bytes, eligible, strip_nulls};
use reggate::clock::{Clock, ManualClock, SystemClock};
use reggate::contract::{Operation, Registry};
use reggate::domain::ports::FailureKind;
use reggate::gateway::{Gateway, GatewayConfig};
use reggate::mock::population::{Population, PopulationConfig};
use reggate::mock::render;
use reggate::soap::breaker::BreakerPolicy;
use reggate::soap::client::{CallContext, Endpoint, RetryPolicy, Settings, SoapClient};
use reggate::soap::error::CallError;
use reggate::soap::hedge::HedgePolicy;
use reggate::soap::log::{MessageLog, SqliteMessageLog};
use reggate::tls::config::{ReloadableClientCert, client_config_with, server_config};
use reggate::tls::pki::{self, PkiLayout, PkiOptions};
use reggate::xml::schema::Schema;
use rustls_pki_types::ServerName;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The most the test process may grow over a corpus: generous beside the few tens of MB the
/// largest honest case holds (a 20 MB answer), far below what one expanded bomb would take.
const MEMORY_BOUND: u64 = 200 << 20;

/// The bound on one exchange: far above anything a refusal takes.
const PATIENCE: Duration = Duration::from_secs(30);

/// The mock population's reference date (2026-07-01), where its sample cases are eligible.
const REFERENCE: u64 = 1_782_900_000;

const KEY: &str = "hostile-key";

/// The corpora take turns, so each one's memory is its own.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Start measuring: the peak (`VmHWM`) is reset to the current size where the kernel allows it
/// (`clear_refs` 5, Linux 4.0), so each corpus measures its own peak; `VmRSS` now.
fn memory_start() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    memory().0
}

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or_else(|| panic!("{name} in /proc/self/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The peak since `rss_before` stays within [`MEMORY_BOUND`].
fn assert_memory_bounded(what: &str, rss_before: u64) {
    let (rss, hwm) = memory();
    let grown = hwm.saturating_sub(rss_before);
    eprintln!(
        "{what}: VmRSS {} MiB before, {} MiB after, VmHWM {} MiB (peak growth {} MiB)",
        rss_before >> 20,
        rss >> 20,
        hwm >> 20,
        grown >> 20
    );
    assert!(
        grown < MEMORY_BOUND,
        "{what}: the process grew by {} MiB at its peak",
        grown >> 20
    );
}

// ---------------------------------------------------------------------------------------------
// The API side.
// ---------------------------------------------------------------------------------------------

/// One HTTP/1.1 answer: status (none when the connection ended without one), head (lower-case),
/// body.
#[derive(Debug)]
struct Answer {
    status: Option<u16>,
    head: String,
    body: Vec<u8>,
    /// How reading ended when not cleanly (a reset after an unread request).
    error: Option<std::io::ErrorKind>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}:");
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(str::trim)
    }

    /// The problem's `type` without `urn:reggate:problem:`.
    fn kind(&self) -> String {
        self.json()["type"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("urn:reggate:problem:")
            .to_string()
    }

    /// The pointers of the problem's field errors.
    fn pointers(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|e| e["pointer"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A raw HTTPS client of the gateway's API.
struct Client {
    addr: SocketAddr,
    tls: TlsConnector,
}

impl Client {
    /// Send `request` (a whole HTTP/1.1 request, `Connection: close` in it) and read until the
    /// gateway closes. Writing goes on beside reading: a refusal may come (and the connection
    /// close) before the request is all sent.
    async fn send(&self, request: Vec<u8>) -> Answer {
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = tokio::time::timeout(PATIENCE, self.tls.connect(name, tcp))
            .await
            .expect("handshake in time")
            .expect("handshake");
        let (mut rd, mut wr) = tokio::io::split(tls);
        let writer = tokio::spawn(async move {
            // A write cut short by the gateway's refusal is part of the case.
            let _ = wr.write_all(&request).await;
            let _ = wr.flush().await;
            wr
        });
        let mut raw = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let error = loop {
            match tokio::time::timeout(PATIENCE, rd.read(&mut chunk)).await {
                Err(_) => panic!(
                    "no end of the answer within {PATIENCE:?}: {:?}",
                    String::from_utf8_lossy(&raw)
                ),
                Ok(Ok(0)) => break None,
                Ok(Ok(n)) => raw.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => break Some(e.kind()),
            }
        };
        writer.abort();
        parse(&raw, error)
    }

    /// A request with the bearer key and `Connection: close`; `extra` are further header lines
    /// (raw bytes, so they may be anything), `body` goes with its `Content-Length`.
    async fn call(&self, method: &str, path: &[u8], extra: &[&[u8]], body: &[u8]) -> Answer {
        let mut request = Vec::new();
        request.extend_from_slice(method.as_bytes());
        request.push(b' ');
        request.extend_from_slice(path);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        request.extend_from_slice(format!("Authorization: Bearer {KEY}\r\n").as_bytes());
        for line in extra {
            request.extend_from_slice(line);
            request.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || method != "GET" {
            request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        self.send(request).await
    }

    /// `POST /v1/applications` of `body` as JSON with a fresh idempotency key.
    async fn submit(&self, key: &str, body: &[u8]) -> Answer {
        let key = format!("Idempotency-Key: {key}");
        self.call(
            "POST",
            b"/v1/applications",
            &[b"Content-Type: application/json", key.as_bytes()],
            body,
        )
        .await
    }
}

fn parse(raw: &[u8], error: Option<std::io::ErrorKind>) -> Answer {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: None,
            head: String::from_utf8_lossy(raw).to_string(),
            body: Vec::new(),
            error,
        };
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok());
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Answer {
        status,
        head,
        body,
        error,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

/// One refusal as expected: the status, the problem type, and (when given) a field error at
/// `pointer`; never a 5xx, never one of `secrets` in the answer.
fn expect(
    case: &str,
    a: &Answer,
    status: u16,
    kind: &str,
    pointer: Option<&str>,
    secrets: &[&str],
) {
    assert_eq!(a.status, Some(status), "{case}: {a:?} {}", a.text());
    assert_eq!(
        a.header("content-type"),
        Some("application/problem+json"),
        "{case}: {}",
        a.head
    );
    assert_eq!(a.kind(), kind, "{case}: {}", a.text());
    assert_eq!(a.json()["status"], status, "{case}: {}", a.text());
    assert!(
        a.header("x-request-id").is_some_and(|id| !id.is_empty()),
        "{case}: no request id: {}",
        a.head
    );
    if let Some(pointer) = pointer {
        assert!(
            a.pointers().iter().any(|p| p == pointer),
            "{case}: no error at {pointer}: {}",
            a.text()
        );
    }
    for secret in secrets {
        assert!(
            !a.text().contains(secret) && !a.head.contains(&secret.to_ascii_lowercase()),
            "{case}: the answer quotes {secret}: {}",
            a.text()
        );
    }
    eprintln!("{case}: {status} {kind} {}", a.json()["detail"]);
}

/// The gateway on embedded defaults in `dir`: mock registries, TLS, the test's key.
async fn gateway(dir: &Path) -> (Gateway, Client, Value, Value) {
    let population = PopulationConfig {
        seed: 7,
        people: 500,
    };
    let config = GatewayConfig::scratch(dir, population, KEY);
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE),
    ));
    let clock: Arc<dyn Clock> = clock;
    let gw = Gateway::start(config, clock.clone())
        .await
        .expect("gateway starts");
    let layout = PkiLayout::new(dir.join("certs"));
    let tls = client_config_with(&layout.internal_ca(), None, clock).expect("client TLS");
    let client = Client {
        addr: gw.api,
        tls: TlsConnector::from(tls),
    };
    let people = Population::generate(&population).export_people(200);
    let today = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) = eligible(&people, today).expect("an eligible child");
    let valid = strip_nulls(application(entry, k, benefit));
    (gw, client, valid, people)
}

/// The gateway still answers well-formed requests: a valid application is accepted and read back.
async fn still_serves(client: &Client, valid: &Value, key: &str) {
    let created = client.submit(key, valid.to_string().as_bytes()).await;
    assert_eq!(
        created.status,
        Some(202),
        "after the hostile cases: {}",
        created.text()
    );
    let id = created.json()["id"].as_str().expect("id").to_string();
    let read = client
        .call("GET", format!("/v1/applications/{id}").as_bytes(), &[], b"")
        .await;
    assert_eq!(read.status, Some(200), "{}", read.text());
    assert_eq!(read.json()["id"], id.as_str());
}

/// An application the workers sent back for clarification (a child's first name the children's
/// registry does not have), its documents all uploaded; its id.
async fn needs_clarification(client: &Client, people: &Value) -> String {
    let mut wrong = strip_nulls(application(
        case(people, "disabled_child"),
        0,
        "disabled_child",
    ));
    wrong["child"]["first_name"] = json!("Аглая");
    let created = client.submit("clarify", wrong.to_string().as_bytes()).await;
    assert_eq!(created.status, Some(202), "{}", created.text());
    let id = created.json()["id"].as_str().expect("id").to_string();
    for d in wrong["documents"].as_array().expect("documents") {
        let kind = d["type"].as_str().expect("type");
        let path = format!("/v1/applications/{id}/documents/{kind}");
        let stored = client
            .call("PUT", path.as_bytes(), &[], doc_bytes(kind).as_bytes())
            .await;
        assert_eq!(stored.status, Some(201), "{}", stored.text());
    }
    for _ in 0..300 {
        let read = client
            .call("GET", format!("/v1/applications/{id}").as_bytes(), &[], b"")
            .await;
        match read.json()["status"].as_str() {
            Some("needs_clarification") => return id,
            Some("submitted" | "in_review") => {}
            other => panic!("not sent to clarification: {other:?} {}", read.text()),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("application {id} not decided within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_by_field_or_limit_and_the_gateway_stays_up() {
    let _turn = SERIAL.lock().await;
    let dir = fresh("api");
    let (gw, client, valid, people) = gateway(&dir).await;
    let snils = valid["applicant"]["snils"]
        .as_str()
        .expect("snils")
        .to_string();
    let inn = valid["applicant"]["inn"].as_str().expect("inn").to_string();
    let secrets = [snils.as_str(), inn.as_str()];
    still_serves(&client, &valid, "before").await;
    let rss_before = memory_start();

    // Malformed JSON: cut short, trailing bytes, a bare word.
    for (case, body) in [
        (
            "cut short",
            &br#"{"benefit": "unified_allowance", "applicant": {"#[..],
        ),
        ("trailing bytes", br#"{} {}"#),
        ("not JSON", b"benefit=unified_allowance"),
    ] {
        let a = client.submit(case, body).await;
        expect(case, &a, 400, "malformed-json", None, &secrets);
        assert_eq!(a.json()["errors"][0]["code"], "syntax", "{case}");
    }

    // Bodies beyond the 256 KiB limit: declared, and chunked without a length.
    let mut oversized = valid.clone();
    oversized["applicant"]["middle_name"] = json!("я".repeat(200_000));
    let oversized = oversized.to_string().into_bytes();
    assert!(oversized.len() > reggate::api::MAX_BODY);
    let a = client.submit("oversized", &oversized).await;
    expect("oversized body", &a, 413, "body-too-large", None, &secrets);
    assert!(
        a.text().contains(&reggate::api::MAX_BODY.to_string()),
        "{}",
        a.text()
    );
    let mut chunked =
        b"POST /v1/applications HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".to_vec();
    chunked.extend_from_slice(format!("Authorization: Bearer {KEY}\r\n").as_bytes());
    chunked.extend_from_slice(
        b"Idempotency-Key: chunked\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for piece in oversized.chunks(16 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let a = client.send(chunked).await;
    expect(
        "oversized chunked body",
        &a,
        413,
        "body-too-large",
        None,
        &secrets,
    );
    // A length far beyond the limit is refused on its declaration, without waiting for the bytes.
    let mut declared =
        b"POST /v1/applications HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".to_vec();
    declared.extend_from_slice(format!("Authorization: Bearer {KEY}\r\n").as_bytes());
    declared.extend_from_slice(
        b"Idempotency-Key: declared\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{",
    );
    let a = client.send(declared).await;
    expect("10 GB declared", &a, 413, "body-too-large", None, &secrets);
    // Two lengths that disagree (a request-smuggling shape): refused by the HTTP layer.
    let a = client
        .call(
            "POST",
            b"/v1/applications",
            &[b"Idempotency-Key: two-lengths", b"Content-Length: 10"],
            b"{}",
        )
        .await;
    assert_eq!(a.status, Some(400), "two Content-Lengths: {a:?}");

    // Refused before its body was read (a wrong key, 200 KB of body): the connection cannot
    // carry another request, and the answer says so even to a client that asked to keep it.
    let mut unread = b"POST /v1/eligibility HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    unread.extend_from_slice(b"Authorization: Bearer wrong\r\nContent-Type: application/json\r\n");
    unread.extend_from_slice(format!("Content-Length: {}\r\n\r\n", 200_000).as_bytes());
    unread.extend_from_slice(&vec![b' '; 200_000]);
    let a = client.send(unread).await;
    expect(
        "answered before the body was read",
        &a,
        401,
        "unauthenticated",
        None,
        &secrets,
    );
    assert_eq!(a.header("connection"), Some("close"), "{}", a.head);

    // Deep nesting: 100,000 `[` (serde_json stops at 128 levels), and nested objects.
    let deep = "[".repeat(100_000);
    let a = client.submit("deep arrays", deep.as_bytes()).await;
    expect("100,000 [", &a, 400, "malformed-json", None, &secrets);
    let deep_objects = r#"{"a":"#.repeat(50_000);
    let a = client.submit("deep objects", deep_objects.as_bytes()).await;
    expect("50,000 {\"a\":", &a, 400, "malformed-json", None, &secrets);
    // Typed bodies stop at the first wrong type; a clarification's merge patch is free JSON, read
    // whole before it is applied: there serde_json's recursion limit is what stops the depth.
    let clarify = needs_clarification(&client, &people).await;
    let path = format!("/v1/applications/{clarify}/clarification");
    for (case, patch) in [
        ("a patch of 100,000 [", deep.clone()),
        ("a patch of 50,000 {\"a\":", deep_objects.clone()),
        (
            "a patch of 100,000 [ inside a field",
            format!("{{\"child\":{{\"first_name\":{deep}"),
        ),
    ] {
        let a = client
            .call(
                "POST",
                path.as_bytes(),
                &[b"Content-Type: application/merge-patch+json"],
                patch.as_bytes(),
            )
            .await;
        expect(case, &a, 400, "malformed-json", None, &secrets);
        assert!(
            a.json()["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("recursion limit exceeded")),
            "{case}: {}",
            a.text()
        );
    }
    // A patch with a duplicate key is refused too, not resolved to the last one.
    let a = client
        .call(
            "POST",
            path.as_bytes(),
            &[b"Content-Type: application/merge-patch+json"],
            br#"{"child":{"first_name":"A","first_name":"B"}}"#,
        )
        .await;
    expect(
        "a patch with a duplicate key",
        &a,
        400,
        "malformed-json",
        Some("/child"),
        &secrets,
    );
    assert_eq!(
        a.json()["errors"][0]["code"],
        "duplicate-field",
        "{}",
        a.text()
    );

    // Invalid UTF-8 inside JSON strings, and escapes that are no character.
    let mut bad_utf8 = valid.to_string().into_bytes();
    let at = bad_utf8
        .windows(snils.len())
        .position(|w| w == snils.as_bytes())
        .expect("the SNILS in the body");
    bad_utf8[at + 3] = 0xFF;
    let a = client.submit("utf8", &bad_utf8).await;
    expect(
        "invalid UTF-8 in a string",
        &a,
        400,
        "malformed-json",
        None,
        &secrets,
    );
    let mut surrogate = valid.clone();
    surrogate["applicant"]["last_name"] = json!("PLACEHOLDER");
    let surrogate = surrogate.to_string().replace("PLACEHOLDER", r"\ud800");
    let a = client.submit("surrogate", surrogate.as_bytes()).await;
    expect(
        "a lone surrogate escape",
        &a,
        400,
        "malformed-json",
        None,
        &secrets,
    );
    let mut nul = valid.clone();
    nul["applicant"]["last_name"] = json!("Ив\u{0}анова");
    let a = client.submit("nul", nul.to_string().as_bytes()).await;
    assert!(
        matches!(a.status, Some(422)),
        "a NUL inside a name is refused by the input rules: {}",
        a.text()
    );

    // Numbers out of range and of the wrong kind, each at its field.
    for (case, size) in [
        ("a size beyond u64", "18446744073709551616"),
        ("a size of 1e400", "1e400"),
        ("a negative size", "-1"),
        ("a fractional size", "1.5"),
        ("a size with 5,000 digits", &"9".repeat(5_000)),
    ] {
        let body = valid.to_string().replacen(
            &format!("\"size\":{}", valid["documents"][0]["size"]),
            &format!("\"size\":{size}"),
            1,
        );
        assert_ne!(body, valid.to_string(), "{case}: replaced");
        let a = client.submit(case, body.as_bytes()).await;
        expect(
            case,
            &a,
            400,
            "malformed-json",
            Some("/documents/0/size"),
            &secrets,
        );
        assert!(
            !a.text().contains(size.get(..20).unwrap_or(size)),
            "{case}: quoted: {}",
            a.text()
        );
    }
    // A SNILS sent as a number: the wrong type is named, the value is not.
    let as_number = valid
        .to_string()
        .replacen(&format!("\"{snils}\""), &snils, 1);
    let a = client.submit("snils as number", as_number.as_bytes()).await;
    expect(
        "a SNILS as a number",
        &a,
        400,
        "malformed-json",
        Some("/applicant/snils"),
        &secrets,
    );
    // A SNILS with a wrong check number: refused by the input rules at its field, masked.
    let mut wrong = valid.clone();
    let mut digits: Vec<u8> = snils.bytes().collect();
    digits[10] = if digits[10] == b'0' { b'1' } else { b'0' };
    let wrong_snils = String::from_utf8(digits).expect("digits");
    wrong["applicant"]["snils"] = json!(wrong_snils);
    let mut wrong_inn = inn.clone();
    wrong_inn.replace_range(11.., if inn.ends_with('0') { "1" } else { "0" });
    wrong["applicant"]["inn"] = json!(wrong_inn);
    let a = client
        .submit("wrong check numbers", wrong.to_string().as_bytes())
        .await;
    expect(
        "wrong SNILS and INN check numbers",
        &a,
        422,
        "invalid-fields",
        Some("/applicant/snils"),
        &[&wrong_snils, &wrong_inn, &snils, &inn],
    );
    assert!(
        a.pointers().iter().any(|p| p == "/applicant/inn"),
        "{}",
        a.text()
    );

    // Duplicate keys: refused by name, not silently resolved to one of them.
    let duplicate = valid.to_string().replacen(
        &format!("\"snils\":\"{snils}\""),
        &format!("\"snils\":\"{wrong_snils}\",\"snils\":\"{snils}\""),
        1,
    );
    assert_ne!(duplicate, valid.to_string());
    let a = client.submit("duplicate", duplicate.as_bytes()).await;
    expect(
        "a duplicate key",
        &a,
        400,
        "malformed-json",
        Some("/applicant"),
        &[&wrong_snils, &snils, &inn],
    );
    assert!(
        a.json()["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`snils`")),
        "{}",
        a.text()
    );
    assert_eq!(
        a.json()["errors"][0]["code"],
        "duplicate-field",
        "{}",
        a.text()
    );

    // Content types that are not JSON, a valid JSON body behind each.
    let body = valid.to_string();
    for content_type in [
        &b"Content-Type: text/plain"[..],
        b"Content-Type: application/xml",
        b"Content-Type: multipart/form-data; boundary=x",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Type: application/json\xFF",
        b"Content-Type: ",
    ] {
        let case = String::from_utf8_lossy(content_type).to_string();
        let a = client
            .call(
                "POST",
                b"/v1/applications",
                &[content_type, b"Idempotency-Key: content-type"],
                body.as_bytes(),
            )
            .await;
        expect(&case, &a, 415, "unsupported-media-type", None, &secrets);
    }

    // Invalid UTF-8 in headers: a key, an idempotency key, a request id.
    let a = client
        .send(
            [
                &b"GET /v1/applications HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"[..],
                b"Authorization: Bearer \xFF\xFEkey\r\n\r\n",
            ]
            .concat(),
        )
        .await;
    expect(
        "a key of invalid UTF-8",
        &a,
        401,
        "unauthenticated",
        None,
        &secrets,
    );
    let a = client
        .call(
            "POST",
            b"/v1/applications",
            &[
                b"Content-Type: application/json",
                b"Idempotency-Key: \xC3\x28\xFF",
            ],
            valid.to_string().as_bytes(),
        )
        .await;
    expect(
        "an idempotency key of invalid UTF-8",
        &a,
        400,
        "idempotency-key-required",
        None,
        &secrets,
    );
    let a = client
        .call("GET", b"/v1/health", &[b"X-Request-Id: \xFF\xFE-id"], b"")
        .await;
    assert_eq!(a.status, Some(200), "{a:?}");
    let id = a.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 36, "a generated id instead: {id}");

    // Invalid UTF-8 in paths and queries: raw bytes (refused by the HTTP layer) and
    // percent-encoded (refused naming the parameter).
    let a = client
        .call("GET", b"/v1/applications/\xFF\xFE", &[], b"")
        .await;
    assert_eq!(a.status, Some(400), "raw bytes in the path: {a:?}");
    let a = client
        .call("GET", b"/v1/applications/%FF%FE", &[], b"")
        .await;
    expect(
        "a percent-encoded invalid UTF-8 id",
        &a,
        400,
        "invalid-path",
        Some("{id}"),
        &secrets,
    );
    let a = client
        .call("PUT", b"/v1/applications/x/documents/%C3%28", &[], b"%PDF-")
        .await;
    expect(
        "invalid UTF-8 in a document name",
        &a,
        400,
        "invalid-path",
        Some("{name}"),
        &secrets,
    );
    let a = client
        .call("GET", b"/v1/applications?status=%FF%FE", &[], b"")
        .await;
    expect(
        "invalid UTF-8 in a query",
        &a,
        400,
        "invalid-parameter",
        Some("?status"),
        &secrets,
    );
    let partial = &wrong_snils[..9];
    let a = client
        .call(
            "GET",
            format!("/v1/applications?applicant_snils={partial}").as_bytes(),
            &[],
            b"",
        )
        .await;
    expect(
        "nine digits of a SNILS in a query",
        &a,
        400,
        "invalid-parameter",
        Some("?applicant_snils"),
        &[partial],
    );
    let a = client
        .call("GET", b"/v1/applications/x/receipt?format=exe", &[], b"")
        .await;
    expect(
        "a receipt format that is neither",
        &a,
        400,
        "invalid-parameter",
        Some("?format"),
        &secrets,
    );
    let a = client
        .call("GET", b"/v1/events?after=99999999999999999999", &[], b"")
        .await;
    expect(
        "an out-of-range cursor",
        &a,
        400,
        "invalid-parameter",
        Some("?after"),
        &secrets,
    );

    // Huge headers: many of them, and one of 1 MiB. The HTTP layer refuses the head (431) and
    // closes; after a 1 MiB head the close may reset the connection before the answer is read.
    let many: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("X-Filler-{i}: {i}").into_bytes())
        .collect();
    let many: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
    let a = client.call("GET", b"/v1/health", &many, b"").await;
    assert_eq!(a.status, Some(431), "200 headers: {a:?}");
    let huge = [&b"X-Huge: "[..], &vec![b'a'; 1 << 20]].concat();
    let a = client.call("GET", b"/v1/health", &[&huge], b"").await;
    assert!(
        a.status == Some(431) || (a.status.is_none() && a.error.is_some()),
        "a 1 MiB header: {a:?}"
    );
    // Just under the bounds is served.
    let fillers: Vec<Vec<u8>> = (0..80)
        .map(|i| format!("X-Filler-{i}: {}", "b".repeat(100)).into_bytes())
        .collect();
    let fillers: Vec<&[u8]> = fillers.iter().map(Vec::as_slice).collect();
    let a = client.call("GET", b"/v1/health", &fillers, b"").await;
    assert_eq!(a.status, Some(200), "80 headers of 100 bytes: {a:?}");

    assert_memory_bounded("hostile requests", rss_before);
    still_serves(&client, &valid, "after").await;
    gw.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The registry side.
// ---------------------------------------------------------------------------------------------

/// A registry that answers every SOAP call with the bytes set last, over mTLS with the
/// registry-side development PKI; `POST /token` issues a token.
struct HostileRegistry {
    addr: SocketAddr,
    answer: Arc<Mutex<Bytes>>,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileRegistry {
    async fn start(layout: &PkiLayout) -> HostileRegistry {
        let tls = server_config(
            &layout.registry_server(),
            &layout.registry_server_key(),
            &layout.registry_ca(),
        )
        .expect("server TLS");
        let acceptor = TlsAcceptor::from(tls);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let answer = Arc::new(Mutex::new(Bytes::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let (a, c) = (answer.clone(), calls.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, answer, calls) = (acceptor.clone(), a.clone(), c.clone());
                tokio::spawn(async move {
                    let Ok(Ok(mut tls)) =
                        tokio::time::timeout(PATIENCE, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let Some(path) = read_request(&mut tls).await else {
                        return;
                    };
                    let (content_type, body) = if path == "/token" {
                        (
                            "application/json",
                            Bytes::from_static(
                                br#"{"access_token":"hostile","token_type":"Bearer","expires_in":300}"#,
                            ),
                        )
                    } else {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let body = answer.lock().expect("answer").clone();
                        ("text/xml; charset=utf-8", body)
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    if tls.write_all(head.as_bytes()).await.is_ok() {
                        // The client may stop reading at its answer cap: a failed write is fine.
                        let _ = tls.write_all(&body).await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        HostileRegistry {
            addr,
            answer,
            calls,
            task,
        }
    }

    fn answer_with(&self, body: impl Into<Bytes>) {
        *self.answer.lock().expect("answer") = body.into();
    }

    fn endpoint(&self, registry: Registry) -> Endpoint {
        let port = self.addr.port();
        Endpoint {
            url: format!("https://localhost:{port}/registry/{}", registry.name())
                .parse()
                .expect("url"),
            token_url: format!("https://localhost:{port}/token")
                .parse()
                .expect("url"),
        }
    }
}

impl Drop for HostileRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Read one request (head and `Content-Length` body); its path.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 4096];
    let end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = tokio::time::timeout(PATIENCE, s.read(&mut byte))
            .await
            .ok()?
            .ok()?;
        if n == 0 || raw.len() > 64 * 1024 {
            return None;
        }
        raw.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = raw.len() - end - 4;
    while have < length {
        let n = tokio::time::timeout(PATIENCE, s.read(&mut byte))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    head.split_whitespace().nth(1).map(str::to_string)
}

/// A well-formed VerifySnils answer with `inside` in place of its result code's text, and `prolog`
/// before the envelope.
fn snils_answer(prolog: &str, code: &str) -> String {
    let body = render::snils_response_with(render::RESP_META, "MATCH", &[], None)
        .replace(">MATCH<", &format!(">{code}<"));
    format!("{prolog}{}", render::envelope(&body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_registry_answers_are_bad_answers_and_nothing_is_expanded() {
    let _turn = SERIAL.lock().await;
    let dir = fresh("registry");
    let layout = pki::init(&PkiOptions {
        dir: dir.join("certs"),
        lifetime_days: 30,
        now: SystemTime::now() - Duration::from_secs(3600),
        force: false,
    })
    .expect("pki");
    let registry = HostileRegistry::start(&layout).await;
    let schema = Schema::load(&[PathBuf::from("schemas")]).expect("schemas");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cert = ReloadableClientCert::load(
        &layout.gateway_client(),
        &layout.gateway_client_key(),
        clock.clone(),
    )
    .expect("client cert");
    let tls = client_config_with(&layout.registry_ca(), Some(Arc::new(cert)), clock.clone())
        .expect("client TLS");
    let log = Arc::new(
        SqliteMessageLog::open(
            &dir.join("message_log.sqlite"),
            Duration::from_secs(86_400),
            clock.clone(),
        )
        .expect("log"),
    );
    let endpoints: Vec<_> = Registry::ALL
        .into_iter()
        .map(|r| (r, registry.endpoint(r)))
        .collect();
    let settings = Settings {
        attempt_timeout: Duration::from_secs(20),
        call_deadline: Duration::from_secs(60),
        // One retry: a bad answer is retried like any, and the retry must not expand anything either.
        retry: RetryPolicy {
            max_attempts: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        // Every case is a failure in a row; the breaker must not stand between them.
        breaker: BreakerPolicy {
            failures: 10_000,
            open_for: Duration::from_millis(1),
        },
        hedge: HedgePolicy {
            after: None,
            ..HedgePolicy::default()
        },
        ..Settings::default()
    };
    let client = SoapClient::new(
        schema,
        tls,
        &endpoints,
        clock,
        log.clone() as Arc<dyn MessageLog>,
        settings,
    );
    let population = Population::generate(&PopulationConfig {
        seed: 7,
        people: 200,
    });
    let people = population.export_people(20);
    let adult_snils = people["people"]
        .as_array()
        .expect("people")
        .iter()
        .find(|e| e["case"] == "valid")
        .and_then(|e| e["applicant"]["snils"].as_str())
        .expect("a valid case")
        .to_string();
    let adult = population.person_by_snils(&adult_snils).expect("adult");
    let payload = render::snils_request(&adult);
    let op = Operation::VerifySnils;

    // A good answer first: the registry and the client work.
    registry.answer_with(render::envelope(&render::snils_response(&adult)));
    let answer = client
        .call(&CallContext::new("hostile-before"), op, &payload)
        .await
        .expect("a good answer");
    assert_eq!(answer.payload.get("Code"), Some("MATCH"));

    // The secret a file:// entity would pull in.
    let secret = format!("reggate-xxe-secret-{}", std::process::id());
    let secret_file = dir.join("secret.txt");
    std::fs::write(&secret_file, &secret).expect("secret file");
    let secret_url = format!("file://{}", secret_file.display());

    let lol = {
        let mut dtd = String::from("<!DOCTYPE soap:Envelope [<!ENTITY lol0 \"lol\">");
        for i in 1..10 {
            let refs = format!("&lol{};", i - 1).repeat(10);
            dtd.push_str(&format!("<!ENTITY lol{i} \"{refs}\">"));
        }
        dtd.push_str("]>");
        dtd
    };
    let deep = {
        let open = "<x>".repeat(100_000);
        let close = "</x>".repeat(100_000);
        snils_answer("", &format!("{open}{close}"))
    };
    let attribute = |bytes: usize| {
        render::envelope("").replacen(
            "<soap:Body>",
            &format!("<soap:Body a=\"{}\">", "A".repeat(bytes)),
            1,
        )
    };
    let mut invalid_utf8 = snils_answer("", "MA\u{1}TCH").into_bytes();
    let at = invalid_utf8.iter().position(|&b| b == 1).expect("marker");
    invalid_utf8[at] = 0xFF;
    let wrong_inn = format!(
        "{}9",
        adult.inn.clone().unwrap_or_else(|| "500100732259".into())
    );
    let inn_answer = {
        let good = render::envelope(&render::inn_response(&adult));
        let inn = adult.inn.clone().expect("the adult has an INN");
        assert!(good.contains(&inn), "the INN answer carries it");
        good.replace(&inn, &wrong_inn)
    };

    // (case, answer bytes, what the refusal must name)
    let cases: Vec<(&str, Bytes, &str)> = vec![
        (
            "billion laughs",
            snils_answer(&format!("<?xml version=\"1.0\"?>{lol}"), "&lol9;").into(),
            "DTD",
        ),
        (
            "billion laughs without its DTD",
            snils_answer("", "&lol9;").into(),
            "undeclared entity",
        ),
        (
            "external entity (XXE)",
            snils_answer(
                &format!("<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM \"{secret_url}\">]>"),
                "&xxe;",
            )
            .into(),
            "DTD",
        ),
        (
            "external parameter entity",
            snils_answer(
                &format!(
                    "<!DOCTYPE soap:Envelope [<!ENTITY % ext SYSTEM \"{secret_url}\"> %ext;]>"
                ),
                "MATCH",
            )
            .into(),
            "DTD",
        ),
        (
            "a bare DOCTYPE",
            snils_answer("<!DOCTYPE soap:Envelope>", "MATCH").into(),
            "DTD",
        ),
        ("100,000 nested elements", deep.into(), "depth"),
        ("a 15 MB attribute", attribute(15_000_000).into(), "limit"),
        (
            "a 20 MB attribute",
            attribute(20_000_000).into(),
            "16777216",
        ),
        (
            "15 MB of text",
            snils_answer("", &"A".repeat(15_000_000)).into(),
            "cvc-",
        ),
        ("invalid UTF-8", invalid_utf8.into(), "UTF-8"),
    ];
    let rss_before = memory_start();
    for (case, bytes, names) in &cases {
        registry.answer_with(bytes.clone());
        let before = registry.calls.load(Ordering::Relaxed);
        let started = std::time::Instant::now();
        let error = client
            .call(
                &CallContext::new(format!("hostile-{}", case.replace(' ', "-"))),
                op,
                &payload,
            )
            .await
            .expect_err(case);
        let text = error.to_string();
        eprintln!(
            "{case}: {} in {:?} after {} calls: {}",
            error.kind(),
            started.elapsed(),
            registry.calls.load(Ordering::Relaxed) - before,
            text.chars().take(300).collect::<String>()
        );
        assert!(
            matches!(error, CallError::InvalidResponse { .. }),
            "{case}: not a bad answer: {text}"
        );
        assert!(
            text.contains(names),
            "{case}: does not name {names}: {text}"
        );
        assert!(
            text.len() < 16 * 1024,
            "{case}: an error of {} bytes",
            text.len()
        );
        assert!(
            !text.contains(&secret) && !format!("{error:?}").contains(&secret),
            "{case}: secret"
        );
        let failure = reggate::service::checks::failure(op, &error);
        assert_eq!(
            failure.kind,
            FailureKind::BadAnswer,
            "{case}: {}",
            failure.reason
        );
    }
    // A personal value that breaks its pattern is named by path, never quoted.
    registry.answer_with(inn_answer);
    let error = client
        .call(
            &CallContext::new("hostile-inn"),
            Operation::FindInn,
            &render::inn_request(&adult),
        )
        .await
        .expect_err("a 13-digit INN");
    let text = error.to_string();
    assert!(matches!(error, CallError::InvalidResponse { .. }), "{text}");
    assert!(!text.contains(&wrong_inn), "the INN is quoted: {text}");
    for exchange in log.exchanges(Some("hostile-inn")).expect("log") {
        for field in [&exchange.response, &exchange.error] {
            assert!(
                !field.as_deref().unwrap_or("").contains(&wrong_inn),
                "the message log holds the INN unmasked: {exchange:?}"
            );
        }
    }
    assert_memory_bounded("hostile registry answers", rss_before);

    // Nothing anywhere holds the secret: not the message log's requests, answers or errors.
    for exchange in log.exchanges(None).expect("log") {
        for field in [&exchange.request, &exchange.response, &exchange.error] {
            assert!(
                !field.as_deref().unwrap_or("").contains(&secret),
                "the message log holds the secret: {exchange:?}"
            );
        }
    }

    // The same client takes a good answer from the same registry afterwards.
    registry.answer_with(render::envelope(&render::snils_response(&adult)));
    let answer = client
        .call(&CallContext::new("hostile-after"), op, &payload)
        .await
        .expect("a good answer after the hostile ones");
    assert_eq!(answer.payload.get("Code"), Some("MATCH"));
}
