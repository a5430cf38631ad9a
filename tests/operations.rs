//! Operations (issue 17): certificates replaced in a running gateway — by SIGHUP, by a change of
//! the files, by `POST /admin/reload` — with not one failed request; refused material leaves the old
//! certificate serving with the reason; expiry warns, degrades readiness, is never served and stops
//! a start; SIGTERM under load answers or refuses every request, loses nothing and gives back the
//! leases of what it held.
//!
//! The in-process tests drive `Gateway::start` with an injected clock; the signal tests run
//! `reggate serve` and `reggate mock` as processes (tests/support/processes.rs).

#[path = "support/https.rs"]
mod https;
#[path = "support/processes.rs"]
mod processes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use https::Api;
use reggate::clock::{Clock, ManualClock};
use reggate::gateway::{Gateway, GatewayConfig};
use reggate::ids::sha256_hex;
use reggate::loadgen::{self, Mix, Pace, Plan, Target};
use reggate::mock::population::PopulationConfig;
use reggate::receipt::SignedReceipt;
use reggate::tls::pki::{self, PkiLayout, PkiOptions};
use serde_json::Value;

const KEY: &str = "ops-reviewer-key";
const OTHER_KEY: &str = "ops-cabinet-key";
const DAY: Duration = Duration::from_secs(86_400);

/// The embedded defaults in `dir` on a free port: the first key is a reviewer's, the second not.
fn defaults(dir: &Path) -> GatewayConfig {
    let population = PopulationConfig {
        seed: 7,
        people: 500,
    };
    let mut config = GatewayConfig::scratch(dir, population, KEY);
    config.api.keys.push(OTHER_KEY.to_string());
    config.api.reviewers = vec!["key:configured-0".to_string()];
    config
}

fn fresh(name: &str) -> PathBuf {
    let dir = processes::fresh(name);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// A certificate and its key, PEM.
type Pair = (Vec<u8>, Vec<u8>);

/// A certificate and key for `name` issued by the PKI in `pki_dir`, as bytes.
fn issued(pki_dir: &Path, name: &str, now: SystemTime, days: u32) -> Pair {
    let tag = sha256_hex(format!("{name}{now:?}{days}{}", pki_dir.display()).as_bytes());
    let (cert, key) = (
        std::env::temp_dir().join(format!("reggate-issued-{}.pem", &tag[..16])),
        std::env::temp_dir().join(format!("reggate-issued-{}.key", &tag[..16])),
    );
    let _ = std::fs::remove_file(&cert);
    let _ = std::fs::remove_file(&key);
    pki::issue(pki_dir, name, &cert, &key, now, days).expect("issue");
    let bytes = (
        std::fs::read(&cert).expect("cert"),
        std::fs::read(&key).expect("key"),
    );
    let _ = std::fs::remove_file(&cert);
    let _ = std::fs::remove_file(&key);
    bytes
}

/// A 1024-bit RSA server certificate with the right names, issued by the internal CA (openssl(1)).
fn weak(pki: &PkiLayout, dir: &Path) -> Pair {
    let (key, csr, cert, ext) = (
        dir.join("weak.key"),
        dir.join("weak.csr"),
        dir.join("weak.pem"),
        dir.join("weak.ext"),
    );
    std::fs::write(&ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n").expect("ext");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl(1)");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let p = |p: &Path| p.display().to_string();
    run(&[
        "req",
        "-newkey",
        "rsa:1024",
        "-nodes",
        "-keyout",
        &p(&key),
        "-subj",
        "/CN=weak",
        "-out",
        &p(&csr),
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        &p(&csr),
        "-CA",
        &p(&pki.internal_ca()),
        "-CAkey",
        &p(&pki.internal_ca_key()),
        "-days",
        "30",
        "-extfile",
        &p(&ext),
        "-out",
        &p(&cert),
    ]);
    (
        std::fs::read(cert).expect("cert"),
        std::fs::read(key).expect("key"),
    )
}

fn outcome<'a>(
    outcomes: &'a [reggate::tls::live::Outcome],
    role: &str,
) -> &'a reggate::tls::live::Outcome {
    outcomes
        .iter()
        .find(|o| o.role == role)
        .unwrap_or_else(|| panic!("no {role} in {outcomes:?}"))
}

fn check<'a>(readiness: &'a Value, name: &str) -> &'a Value {
    readiness["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {readiness}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_certificates_leave_the_old_one_serving_and_say_why() {
    let dir = fresh("ops-refused");
    // The gateway's clock a minute ahead of the real one, the PKI a minute behind: the mock
    // registries judge by the real clock, and the weak certificate openssl(1) makes starts at the
    // real now.
    let now = SystemTime::now() + Duration::from_secs(60);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let pki = pki::init(&PkiOptions {
        dir: dir.join("certs"),
        lifetime_days: 365,
        now: now - Duration::from_secs(120),
        force: false,
    })
    .expect("PKI");
    // The API's certificate at a configured place, chained to the internal CA.
    let served = dir.join("served");
    std::fs::create_dir_all(&served).expect("dir");
    let (cert_path, key_path) = (served.join("api.pem"), served.join("api.key"));
    std::fs::copy(pki.gateway_server(), &cert_path).expect("copy");
    std::fs::copy(pki.gateway_server_key(), &key_path).expect("copy");
    let mut config = defaults(&dir);
    config.api.tls_cert = Some(cert_path.clone());
    config.api.tls_key = Some(key_path.clone());
    config.api.tls_issuer = Some(pki.internal_ca());
    // Each case below is judged by the one reload it asks for.
    config.ops.watch_certs = false;
    let gw = Gateway::start(config, clock.clone())
        .await
        .expect("gateway");
    let api = Api::new(&gw, KEY, &pki, &clock, None);
    // A new client each time: a resumed TLS 1.3 session would show its first handshake's certificate.
    let presented = || async {
        Api::new(&gw, KEY, &pki, &clock, None)
            .server_certificate()
            .await
    };
    let original = presented().await;

    // Probes need no credentials.
    let anonymous = Api::new(&gw, KEY, &pki, &clock, None).bearer(None);
    let (status, alive) = anonymous.call("GET", "/healthz", &[], "").await;
    assert_eq!((status, alive["status"].as_str()), (200, Some("alive")));
    let (status, ready) = anonymous.call("GET", "/readyz", &[], "").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ready", "{ready}");
    for name in [
        "store",
        "workers",
        "certificate:api-server",
        "registry:snils",
    ] {
        assert_eq!(check(&ready, name)["state"], "ok", "{ready}");
    }

    let foreign = pki::init(&PkiOptions {
        dir: dir.join("foreign"),
        lifetime_days: 365,
        now,
        force: false,
    })
    .expect("foreign PKI");
    let good = issued(pki.dir(), "gateway-server", now, 30);
    let other = issued(pki.dir(), "gateway-server", now - DAY, 30);
    // (case, (certificate, key), words the refusal must say)
    let cases: Vec<(&str, Pair, &str)> = vec![
        (
            "expired",
            issued(pki.dir(), "gateway-server", now - 400 * DAY, 30),
            "expired at",
        ),
        (
            "not yet valid",
            issued(pki.dir(), "gateway-server", now + 10 * DAY, 30),
            "is not valid before",
        ),
        (
            "wrong key",
            (good.0.clone(), other.1.clone()),
            "does not hold the private key",
        ),
        (
            "foreign CA",
            issued(foreign.dir(), "gateway-server", now, 30),
            "does not verify against",
        ),
        (
            "missing SAN",
            issued(pki.dir(), "receipt-signing", now, 30),
            "localhost, 127.0.0.1 missing from its subject alternative names",
        ),
        (
            "garbage",
            (b"not a certificate\n".to_vec(), b"nor a key\n".to_vec()),
            "not a usable PEM",
        ),
        ("weak key", weak(&pki, &dir), "1024-bit RSA key is too weak"),
    ];
    for (case, (cert, key), words) in &cases {
        std::fs::write(&cert_path, cert).expect("write");
        std::fs::write(&key_path, key).expect("write");
        let outcomes = gw.certs.reload("admin").await;
        let api_server = outcome(&outcomes, "api-server");
        assert!(api_server.refused(), "{case}: {api_server:?}");
        let reason = api_server.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(words), "{case}: {reason}");
        assert!(
            reason.contains("api.pem"),
            "{case} names the file: {reason}"
        );
        assert_eq!(
            presented().await,
            original,
            "{case}: the old certificate still serves"
        );
        // The other roles' files did not change.
        assert!(
            outcomes
                .iter()
                .filter(|o| o.role != "api-server")
                .all(|o| o.result == "unchanged"),
            "{outcomes:?}"
        );
    }

    // Through the endpoint: a reviewer gets the refusal as problem+json with every role's outcome;
    // anyone else is turned away before anything is reloaded.
    let (status, _) = Api::new(&gw, OTHER_KEY, &pki, &clock, None)
        .call("POST", "/admin/reload", &[], "")
        .await;
    assert_eq!(status, 403);
    std::fs::write(&cert_path, b"garbage again").expect("write");
    let (status, refused) = api.call("POST", "/admin/reload", &[], "").await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["type"], "urn:reggate:problem:certificate-refused");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("api.pem"),
        "{refused}"
    );
    assert_eq!(
        refused["outcomes"].as_array().map(Vec::len),
        Some(5),
        "{refused}"
    );
    let (_, listed) = api.call("GET", "/admin/certificates", &[], "").await;
    let row = listed["certificates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["role"] == "api-server"))
        .expect("api-server row")
        .clone();
    assert!(
        row["last_refusal"]
            .as_str()
            .unwrap_or_default()
            .contains("api.pem"),
        "{row}"
    );
    assert_eq!(row["sha256"], sha256_hex(&original), "{row}");

    // And good material is taken: the next connection sees it.
    std::fs::write(&cert_path, &good.0).expect("write");
    std::fs::write(&key_path, &good.1).expect("write");
    let (status, taken) = api.call("POST", "/admin/reload", &[], "").await;
    assert_eq!(status, 200, "{taken}");
    let replaced = presented().await;
    assert_ne!(replaced, original);
    let (_, listed) = api.call("GET", "/admin/certificates", &[], "").await;
    assert!(
        listed.to_string().contains(&sha256_hex(&replaced)),
        "{listed}"
    );
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_warns_then_degrades_is_never_served_and_stops_a_start() {
    let dir = fresh("ops-expiry");
    let start = SystemTime::now();
    let clock = Arc::new(ManualClock::new(start));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let pki = pki::init(&PkiOptions {
        dir: dir.join("certs"),
        lifetime_days: 60,
        now: start,
        force: false,
    })
    .expect("PKI");
    let mut config = defaults(&dir);
    config.ops.cert_warn_days = 30;
    let gw = Gateway::start(config.clone(), dyn_clock.clone())
        .await
        .expect("gateway");
    // The readiness of a plain-HTTP twin on the same PKI can be asked after the TLS one stops
    // presenting its certificate.
    let mut plain_config = config.clone();
    plain_config.api.tls = false;
    plain_config.data = dir.join("data-plain");
    let plain = Gateway::start(plain_config.clone(), dyn_clock.clone())
        .await
        .expect("plain gateway");
    let api = Api::new(&gw, KEY, &pki, &dyn_clock, None);
    let plain_api = Api {
        tls: None,
        ..Api::new(&plain, KEY, &pki, &dyn_clock, None)
    };

    let (status, ready) = api.call("GET", "/readyz", &[], "").await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (200, Some("ready")),
        "{ready}"
    );

    // 20 days before the end: inside the 30-day window — still ready, reported degraded.
    clock.advance(40 * DAY);
    let (status, ready) = api.call("GET", "/readyz", &[], "").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    let api_server = check(&ready, "certificate:api-server");
    assert_eq!(api_server["state"], "degraded", "{ready}");
    assert!(
        api_server["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("days left"),
        "{ready}"
    );
    gw.certs.report_expiry(); // the hourly check: gauge and log line

    // Past the end: the TLS gateway presents nothing (no handshake), the plain one is not ready.
    clock.advance(21 * DAY);
    let refused = api.try_call("GET", "/healthz", &[], "").await;
    assert!(
        refused.is_err(),
        "an expired certificate is never served: {refused:?}"
    );
    let (status, ready) = plain_api.call("GET", "/readyz", &[], "").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "not_ready", "{ready}");
    assert_eq!(
        check(&ready, "certificate:registry-client")["state"],
        "failed",
        "{ready}"
    );
    gw.shutdown().await;
    plain.shutdown().await;

    // And no start on it: the message names the file and the dates.
    let refused = Gateway::start(config, dyn_clock.clone()).await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains(".pem"), "{message}");
    assert!(message.contains("expired at"), "{message}");
    assert!(message.contains(" UTC (now "), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The peer certificate a new TLS connection to `addr` sees, SHA-256 hex.
async fn presented(remote: &loadgen::Remote) -> String {
    let clock: Arc<dyn Clock> = Arc::new(reggate::clock::SystemClock);
    let config =
        reggate::tls::config::client_config_with(&remote.ca, None, clock).expect("client TLS");
    let addr = remote.url.trim_start_matches("https://localhost:");
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{addr}"))
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .expect("handshake");
    sha256_hex(&tls.get_ref().1.peer_certificates().expect("certificate")[0])
}

fn fingerprint_of(pem: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("reggate-fp-{}", std::process::id()));
    std::fs::write(&dir, pem).expect("write");
    let der = reggate::tls::config::load_certs(&dir).expect("PEM")[0].to_vec();
    let _ = std::fs::remove_file(&dir);
    sha256_hex(&der)
}

/// Rotate `name` in the PKI at `certs` to a new certificate valid from now; its fingerprint.
fn rotate(certs: &Path, name: &str) -> String {
    let (cert, key) = issued(certs, name, SystemTime::now(), 90);
    let staged = certs.join("staged");
    std::fs::create_dir_all(&staged).expect("dir");
    let (c, k) = (
        staged.join(format!("{name}.pem")),
        staged.join(format!("{name}.key")),
    );
    std::fs::write(&c, &cert).expect("write");
    std::fs::write(&k, &key).expect("write");
    pki::rotate(certs, name, &c, &k, SystemTime::now()).expect("rotate");
    fingerprint_of(&cert)
}

async fn serving(client: &loadgen::client::Client, role: &str) -> String {
    let answer = client.get("/admin/certificates").await.expect("answer");
    assert_eq!(answer.status, 200);
    let listed: Value = serde_json::from_slice(&answer.body).expect("JSON");
    listed["certificates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["role"] == role))
        .map(|c| c["sha256"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_under_load_by_sighup_file_change_and_endpoint() {
    let dir = fresh("ops-rotate");
    let registries = processes::Registries::start(&dir, "");
    let gateway = processes::Gateway::start(&dir, &registries, "");
    let client = gateway.client(2);
    gateway.wait_until_healthy(&client).await;
    let remote = gateway.remote.clone();
    let certs = dir.join("certs");
    let accepted_file = dir.join("accepted.jsonl");

    let plan = Plan {
        target: Target::Remote(remote.clone()),
        duration: Duration::from_secs(12),
        pace: Pace::Rate(20.0),
        connections: 8,
        mix: Mix::only(loadgen::Kind::Apply),
        drain: Duration::from_secs(60),
        accepted_file: Some(accepted_file.clone()),
        population: processes::POPULATION,
        // Not one retry: a request that failed would count.
        retries: 0,
        timeout: Duration::from_secs(10),
        progress: false,
        ..Plan::default()
    };
    let run = tokio::spawn(async move { loadgen::run(&plan).await });
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 1. The API's certificate, by SIGHUP — sent before the file watch settles, so it is SIGHUP's
    // reload that swaps (the watch then finds nothing changed); the log says which did.
    let old_api = presented(&remote).await;
    let new_api = rotate(&certs, "gateway-server");
    gateway.process.as_ref().expect("running").signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while presented(&remote).await != new_api {
        assert!(
            Instant::now() < deadline,
            "the new API certificate is not served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(old_api, new_api);
    let log = std::fs::read_to_string(&gateway.log).unwrap_or_default();
    assert!(log.contains("SIGHUP: api-server replaced"), "{log}");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 2. The registry client certificate, by the file watch alone.
    let new_client = rotate(&certs, "gateway-client");
    let deadline = Instant::now() + Duration::from_secs(10);
    while serving(&client, "registry-client").await != new_client {
        assert!(
            Instant::now() < deadline,
            "the file watch did not take the new client certificate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 3. The receipt-signing certificate, by the admin endpoint — asked at once, before the watch.
    let new_signing = rotate(&certs, "receipt-signing");
    let answer = client
        .send(
            loadgen::client::Lane::Side,
            hyper::Method::POST,
            "/admin/reload",
            &[],
            axum::body::Bytes::new(),
        )
        .await
        .expect("answer");
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(answer.status, 200, "{body}");
    let signing = body["outcomes"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["role"] == "receipt-signing"))
        .expect("receipt-signing")
        .clone();
    assert_eq!(signing["result"], "replaced", "{body}");
    assert_eq!(signing["sha256"], new_signing.as_str(), "{body}");

    // What the running gateway serves, beside the files: the same three new certificates.
    let key_file = dir.join("api-key");
    std::fs::write(&key_file, processes::KEY).expect("key file");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_reggate"))
        .args(["certs", "status", "--dir"])
        .arg(&certs)
        .args(["--gateway", &remote.url, "--api-key-file"])
        .arg(&key_file)
        .output()
        .expect("reggate certs status");
    let table = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{table}{status:?}");
    for (role, sha) in [
        ("api-server", &new_api),
        ("registry-client", &new_client),
        ("receipt-signing", &new_signing),
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(role))
            .unwrap_or_else(|| panic!("{role} in {table}"));
        assert!(row.contains(&sha[..16]) && row.contains(" same "), "{row}");
    }

    let report = run.await.expect("the run").expect("the load tool ran");
    eprintln!(
        "rotation under load: {} accepted, {} errors, {} 429s; decided {}",
        report.accepted,
        report.errors,
        report.too_many_requests,
        report.verification.as_ref().map_or(0, |v| v.decided)
    );
    assert_eq!(
        report.errors, 0,
        "not one failed request: {:?}",
        report.example_errors
    );
    assert_eq!(report.too_many_requests, 0);
    assert!(report.accepted >= 200, "{report:?}");
    let verification = report.verification.as_ref().expect("verified");
    assert!(verification.passed(), "{verification:?}");
    assert_eq!(
        verification.decided + verification.escalated,
        verification.checked
    );

    // Receipts signed after the swap carry the new certificate and verify against the internal CA.
    let listed = loadgen::verify::read_accepted(&accepted_file).expect("accepted file");
    let id = &listed.first().expect("an application").id;
    let answer = client
        .get(&format!("/v1/applications/{id}/receipt"))
        .await
        .expect("answer");
    assert_eq!(answer.status, 200);
    let signed: SignedReceipt = serde_json::from_slice(&answer.body).expect("receipt");
    assert_eq!(fingerprint_of(signed.certificate.as_bytes()), new_signing);
    let ca =
        openssl::x509::X509::from_pem(&std::fs::read(certs.join("internal-ca.pem")).expect("CA"))
            .expect("CA");
    reggate::receipt::verify(&signed, &ca).expect("verifies with the new certificate");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing_and_gives_back_what_it_held() {
    let dir = fresh("ops-sigterm");
    // Every registry call takes 400 ms, so applications are in hand at any moment; the stop waits
    // 200 ms for them, so some are still in hand when it gives up.
    let latency: String = ["snils", "inn", "children", "labour"]
        .iter()
        .map(|r| format!("[[{r}]]\nkind = \"latency\"\nfixed_ms = 400\n"))
        .collect();
    let registries = processes::Registries::start(&dir, &latency);
    let mut gateway =
        processes::Gateway::start(&dir, &registries, "[ops]\nstop_deadline_ms = 200\n");
    let client = gateway.client(2);
    gateway.wait_until_healthy(&client).await;
    let remote = gateway.remote.clone();
    let accepted_file = dir.join("accepted.jsonl");
    let plan = Plan {
        target: Target::Remote(remote.clone()),
        duration: Duration::from_secs(10),
        pace: Pace::Rate(30.0),
        connections: 8,
        mix: Mix::only(loadgen::Kind::Apply),
        drain: Duration::from_secs(60),
        accepted_file: Some(accepted_file.clone()),
        population: processes::POPULATION,
        retries: 8,
        timeout: Duration::from_secs(10),
        progress: false,
        ..Plan::default()
    };
    let run = tokio::spawn(async move { loadgen::run(&plan).await });
    tokio::time::sleep(Duration::from_secs(4)).await;

    let process = gateway.process.as_mut().expect("running");
    process.signal("TERM");
    let stopping = Instant::now();
    let status = process
        .wait_exit(Duration::from_secs(20))
        .expect("it stops within its deadlines");
    let stopped_in = stopping.elapsed();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    let log = std::fs::read_to_string(&gateway.log).unwrap_or_default();
    assert!(log.contains("SIGTERM: stopping"), "{log}");

    // Whatever was left in hand was given back, not left to lapse.
    let conn = rusqlite::Connection::open(&gateway.database).expect("database");
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_millis() as i64;
    let (in_review, leased): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(CASE WHEN lease_until_ms > ?1 THEN 1 END)
             FROM applications WHERE status = 'in_review'",
            [now_ms],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("query");
    let held: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT id FROM applications WHERE status = 'in_review'")
            .expect("query");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids")
    };
    drop(conn);
    assert!(
        in_review > 0,
        "with 400 ms registry calls and a 200 ms stop, some applications were still in hand"
    );
    assert_eq!(
        leased, 0,
        "{in_review} in review, {leased} still leased after the stop"
    );

    gateway.process = None;
    tokio::time::sleep(Duration::from_millis(500)).await;
    gateway.restart();
    let restarted = Instant::now();
    gateway.wait_until_healthy(&client).await;
    // What it gave back is decided at once by the next process: well inside one lease (10 s).
    let recovered_in =
        processes::wait_decided(&client, &held, restarted, Duration::from_secs(8)).await;
    let report = run.await.expect("the run").expect("the load tool ran");
    let verification = report.verification.as_ref().expect("verified");
    eprintln!(
        "SIGTERM under load: exit 0 {:.2} s after the signal, {in_review} in hand given back, decided {:.1} s after the restart; {} accepted, {} request errors while down (retried); verification {} checked, {} decided once",
        stopped_in.as_secs_f64(),
        recovered_in.as_secs_f64(),
        report.accepted,
        report.errors,
        verification.checked,
        verification.decided,
    );
    assert!(verification.passed(), "{verification:?}");
    assert_eq!(verification.checked, report.accepted);
    assert_eq!(
        verification.decided + verification.escalated,
        verification.checked
    );
    let listed = loadgen::verify::read_accepted(&accepted_file).expect("accepted file");
    assert_eq!(listed.len() as u64, report.accepted);
    let _ = std::fs::remove_dir_all(&dir);
}
