//! Tests of the development PKI and of real TLS 1.3 handshakes over loopback with it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::tls::config::{self, ReloadableCert, ReloadableClientCert, TlsError};
use crate::tls::pki::{self, CertName, PkiError, PkiLayout, PkiOptions};

const DAY: Duration = Duration::from_secs(86_400);

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "reggate-tls-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn init_at(dir: &Path, now: SystemTime, lifetime_days: u32) -> PkiLayout {
    pki::init(&PkiOptions {
        dir: dir.to_path_buf(),
        lifetime_days,
        now,
        force: false,
    })
    .expect("init")
}

fn fresh_pki(tag: &str) -> (TempDir, PkiLayout) {
    let tmp = TempDir::new(tag);
    let layout = init_at(&tmp.path().join("certs"), SystemTime::now(), 30);
    (tmp, layout)
}

/// The registry side: a mock registry's server and the gateway as its client.
fn registry_server(layout: &PkiLayout) -> Arc<ServerConfig> {
    config::server_config(
        &layout.registry_server(),
        &layout.registry_server_key(),
        &layout.registry_ca(),
    )
    .expect("server config")
}

fn client_with(layout: &PkiLayout, name: CertName) -> Arc<ClientConfig> {
    config::client_config(&layout.registry_ca(), &layout.cert(name), &layout.key(name))
        .expect("client config")
}

/// One connection: the server answers `ok` once the handshake is done; the client reads it. Returns the
/// server's handshake result and, for the client, the server certificate it saw.
async fn exchange(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> (Result<(), String>, Result<CertificateDer<'static>, String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = TlsAcceptor::from(server)
            .accept(tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (_, conn) = tls.get_ref();
        assert_eq!(
            conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        tls.write_all(b"ok").await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())
    });
    let client_result = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut tls = TlsConnector::from(client)
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        // In TLS 1.3 the server judges the client's certificate after the client has finished its side of
        // the handshake, so a refusal only shows up on the first read.
        let mut got = Vec::new();
        tls.read_to_end(&mut got).await.map_err(|e| e.to_string())?;
        if got != b"ok" {
            return Err(format!("unexpected answer {got:?}"));
        }
        let (_, conn) = tls.get_ref();
        conn.peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.clone().into_owned())
            .ok_or_else(|| "no server certificate".to_owned())
    }
    .await;
    let server_result = server_task.await.expect("server task");
    (server_result, client_result)
}

fn der_of(path: &Path) -> CertificateDer<'static> {
    config::load_certs(path)
        .expect("load cert")
        .into_iter()
        .next()
        .expect("one cert")
}

#[test]
fn init_writes_every_file_with_private_keys() {
    let (_tmp, layout) = fresh_pki("init");
    for path in layout.files() {
        assert!(path.is_file(), "{} missing", path.display());
    }
    assert!(layout.dir().join(".gitignore").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in CertName::ALL {
            let mode = fs::metadata(layout.key(name))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }
    assert_eq!(
        layout.gateway_client(),
        layout.dir().join("gateway-client.pem")
    );
    assert_eq!(
        layout.receipt_signing_key(),
        layout.dir().join("receipt-signing.key")
    );
    // No temporaries left behind.
    let leftovers: Vec<_> = fs::read_dir(layout.dir())
        .expect("read dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let (_tmp, layout) = fresh_pki("force");
    let before = fs::read(layout.internal_ca()).expect("read");
    let opts = PkiOptions {
        dir: layout.dir().to_path_buf(),
        lifetime_days: 30,
        now: SystemTime::now(),
        force: false,
    };
    match pki::init(&opts) {
        Err(PkiError::AlreadyExists { paths }) => assert_eq!(paths.len(), 14),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(fs::read(layout.internal_ca()).expect("read"), before);
    pki::init(&PkiOptions {
        force: true,
        ..opts
    })
    .expect("forced init");
    assert_ne!(fs::read(layout.internal_ca()).expect("read"), before);
    assert!(
        pki::status(layout.dir(), SystemTime::now())
            .expect("status")
            .iter()
            .all(|s| s.key_matches && s.chain_verifies)
    );
}

#[test]
fn init_refuses_zero_lifetime() {
    let tmp = TempDir::new("zero");
    let err = pki::init(&PkiOptions {
        dir: tmp.path().to_path_buf(),
        lifetime_days: 0,
        now: SystemTime::now(),
        force: false,
    })
    .expect_err("zero lifetime");
    assert!(matches!(err, PkiError::InvalidLifetime { days: 0 }));
}

#[test]
fn ensure_creates_once_then_keeps_and_refuses_partial() {
    let tmp = TempDir::new("ensure");
    let dir = tmp.path().join("certs");
    let layout = pki::ensure(&dir, SystemTime::now()).expect("ensure creates");
    let ca = fs::read(layout.registry_ca()).expect("read");
    pki::ensure(&dir, SystemTime::now()).expect("ensure keeps");
    assert_eq!(fs::read(layout.registry_ca()).expect("read"), ca);
    let status = pki::status(&dir, SystemTime::now()).expect("status");
    assert!(status.iter().all(|s| s.days_left >= 364));

    fs::remove_file(layout.gateway_client_key()).expect("remove");
    match pki::ensure(&dir, SystemTime::now()) {
        Err(PkiError::Incomplete { missing }) => {
            assert_eq!(missing, vec![layout.gateway_client_key()]);
        }
        other => panic!("expected Incomplete, got {other:?}"),
    }
}

#[test]
fn status_lists_every_certificate_matching_and_chaining() {
    let (_tmp, layout) = fresh_pki("status");
    let rows = pki::status(layout.dir(), SystemTime::now()).expect("status");
    let names: Vec<CertName> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names, CertName::ALL.to_vec());
    for row in &rows {
        assert!(row.key_matches, "{}", row.name);
        assert!(row.chain_verifies, "{}: {:?}", row.name, row.chain_error);
        let expected_days = if row.name.is_ca() { 60 } else { 30 };
        assert!(
            (expected_days - 1..=expected_days).contains(&row.days_left),
            "{}: {}",
            row.name,
            row.days_left
        );
        assert!(row.not_before < row.not_after);
    }
    let server = &rows[5];
    assert_eq!(server.name, CertName::RegistryServer);
    assert_eq!(server.subject_cn, "reggate mock registry server");
    assert_eq!(server.issuer_cn, "reggate development registry CA");
}

#[test]
fn status_reports_a_swapped_key_and_a_foreign_chain() {
    let (_tmp, layout) = fresh_pki("swapped");
    // Put a registry-side leaf under the internal CA's name, and give gateway-server the wrong key.
    fs::copy(layout.registry_server(), layout.cabinet_client()).expect("copy");
    fs::copy(layout.receipt_signing_key(), layout.gateway_server_key()).expect("copy");
    let rows = pki::status(layout.dir(), SystemTime::now()).expect("status");
    let row = |n: CertName| rows.iter().find(|r| r.name == n).expect("row");
    assert!(!row(CertName::GatewayServer).key_matches);
    assert!(row(CertName::GatewayServer).chain_verifies);
    assert!(!row(CertName::CabinetClient).chain_verifies);
    assert!(row(CertName::CabinetClient).chain_error.is_some());
}

#[test]
fn status_names_a_missing_or_garbage_file() {
    let tmp = TempDir::new("missing");
    let err = pki::status(tmp.path(), SystemTime::now()).expect_err("empty dir");
    assert!(err.to_string().contains("internal-ca.pem"), "{err}");

    let (_tmp, layout) = fresh_pki("garbage");
    fs::write(layout.gateway_server(), b"not a certificate").expect("write");
    let err = pki::status(layout.dir(), SystemTime::now()).expect_err("garbage");
    assert!(matches!(err, PkiError::Parse { .. }));
    assert!(err.to_string().contains("gateway-server.pem"), "{err}");
}

#[test]
fn expired_material_shows_negative_days_and_is_refused_by_rotate() {
    let tmp = TempDir::new("expired");
    let now = SystemTime::now();
    let layout = init_at(&tmp.path().join("certs"), now - 400 * DAY, 30);
    let rows = pki::status(layout.dir(), now).expect("status");
    for row in &rows {
        assert!(row.days_left < 0, "{}: {}", row.name, row.days_left);
        // Dates aside, the material is sound: expiry is reported as such, not as a broken chain.
        assert!(row.key_matches && row.chain_verifies, "{}", row.name);
    }
    // Expired 370 days ago (to the second, or a fraction more: rounded down).
    assert!(
        (-371..=-370).contains(&rows[1].days_left),
        "{}",
        rows[1].days_left
    );

    let before = fs::read(layout.gateway_server()).expect("read");
    let err = pki::rotate(
        layout.dir(),
        "gateway-server",
        &layout.gateway_server(),
        &layout.gateway_server_key(),
        now,
    )
    .expect_err("expired");
    assert!(matches!(err, PkiError::Expired { .. }), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    assert_eq!(fs::read(layout.gateway_server()).expect("read"), before);
}

#[test]
fn rotate_refuses_a_certificate_not_yet_valid() {
    let (tmp, layout) = fresh_pki("future");
    let (cert, key) = (tmp.path().join("new.pem"), tmp.path().join("new.key"));
    let now = SystemTime::now();
    pki::issue(
        layout.dir(),
        "registry-server",
        &cert,
        &key,
        now + 10 * DAY,
        30,
    )
    .expect("issue");
    let err = pki::rotate(layout.dir(), "registry-server", &cert, &key, now).expect_err("future");
    assert!(matches!(err, PkiError::NotYetValid { .. }), "{err}");
}

#[test]
fn rotate_with_a_mismatched_key_leaves_old_files_untouched() {
    let (_tmp, layout) = fresh_pki("mismatch");
    let cert_before = fs::read(layout.gateway_server()).expect("read");
    let key_before = fs::read(layout.gateway_server_key()).expect("read");
    let err = pki::rotate(
        layout.dir(),
        "gateway-server",
        &layout.gateway_server(),
        &layout.cabinet_client_key(),
        SystemTime::now(),
    )
    .expect_err("mismatch");
    match &err {
        PkiError::KeyMismatch { cert, key } => {
            assert_eq!(cert, &layout.gateway_server());
            assert_eq!(key, &layout.cabinet_client_key());
        }
        other => panic!("expected KeyMismatch, got {other:?}"),
    }
    assert_eq!(
        fs::read(layout.gateway_server()).expect("read"),
        cert_before
    );
    assert_eq!(
        fs::read(layout.gateway_server_key()).expect("read"),
        key_before
    );
}

#[test]
fn rotate_refuses_a_certificate_from_another_ca() {
    let (tmp, layout) = fresh_pki("foreign");
    let other = init_at(&tmp.path().join("other"), SystemTime::now(), 30);
    let err = pki::rotate(
        layout.dir(),
        "gateway-client",
        &other.gateway_client(),
        &other.gateway_client_key(),
        SystemTime::now(),
    )
    .expect_err("foreign CA");
    assert!(matches!(err, PkiError::ChainInvalid { .. }), "{err}");
    // A leaf of the right PKI but the other CA is refused too.
    let err = pki::rotate(
        layout.dir(),
        "gateway-client",
        &layout.cabinet_client(),
        &layout.cabinet_client_key(),
        SystemTime::now(),
    )
    .expect_err("wrong CA");
    assert!(matches!(err, PkiError::ChainInvalid { .. }), "{err}");
}

#[test]
fn rotate_refuses_unknown_names_and_cas() {
    let (_tmp, layout) = fresh_pki("names");
    let now = SystemTime::now();
    let err = pki::rotate(
        layout.dir(),
        "nope",
        &layout.internal_ca(),
        &layout.internal_ca_key(),
        now,
    )
    .expect_err("unknown");
    assert!(matches!(err, PkiError::UnknownName { .. }));
    assert!(err.to_string().contains("gateway-server"), "{err}");
    let err = pki::rotate(
        layout.dir(),
        "internal-ca",
        &layout.internal_ca(),
        &layout.internal_ca_key(),
        now,
    )
    .expect_err("ca");
    assert!(matches!(err, PkiError::CaNotRotatable { .. }));
}

#[test]
fn rotate_replaces_both_files() {
    let (tmp, layout) = fresh_pki("rotate");
    let (cert, key) = (tmp.path().join("new.pem"), tmp.path().join("new.key"));
    let now = SystemTime::now();
    pki::issue(layout.dir(), "gateway-server", &cert, &key, now, 90).expect("issue");
    assert!(matches!(
        pki::issue(layout.dir(), "gateway-server", &cert, &key, now, 90),
        Err(PkiError::AlreadyExists { .. })
    ));
    pki::rotate(layout.dir(), "gateway-server", &cert, &key, now).expect("rotate");
    assert_eq!(
        fs::read(layout.gateway_server()).expect("read"),
        fs::read(&cert).expect("read")
    );
    assert_eq!(
        fs::read(layout.gateway_server_key()).expect("read"),
        fs::read(&key).expect("read")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(layout.gateway_server_key())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let rows = pki::status(layout.dir(), now).expect("status");
    let row = rows
        .iter()
        .find(|r| r.name == CertName::GatewayServer)
        .expect("row");
    assert!(row.key_matches && row.chain_verifies);
    assert!((89..=90).contains(&row.days_left));
}

#[test]
fn cert_names_round_trip() {
    for name in CertName::ALL {
        assert_eq!(name.as_str().parse::<CertName>().expect("parse"), name);
    }
    assert_eq!(CertName::GatewayClient.issuer(), CertName::RegistryCa);
    assert_eq!(CertName::ReceiptSigning.issuer(), CertName::InternalCa);
    assert!(CertName::RegistryCa.is_ca() && !CertName::RegistryServer.is_ca());
}

#[test]
fn format_utc_renders_civil_time() {
    assert_eq!(
        pki::format_utc(SystemTime::UNIX_EPOCH),
        "1970-01-01 00:00:00 UTC"
    );
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661);
    assert_eq!(pki::format_utc(t), "2000-02-29 01:01:01 UTC");
    let before = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
    assert_eq!(pki::format_utc(before), "1969-12-31 23:59:59 UTC");
}

#[tokio::test]
async fn mtls_handshake_with_the_gateway_client_succeeds() {
    let (_tmp, layout) = fresh_pki("mtls");
    let (server, client) = exchange(
        registry_server(&layout),
        client_with(&layout, CertName::GatewayClient),
    )
    .await;
    assert_eq!(server, Ok(()));
    assert_eq!(client, Ok(der_of(&layout.registry_server())));
}

#[tokio::test]
async fn a_client_without_a_certificate_fails_the_handshake() {
    let (_tmp, layout) = fresh_pki("nocert");
    let client = config::client_config_with(&layout.registry_ca(), None, Arc::new(SystemClock))
        .expect("client config");
    let (server, client) = exchange(registry_server(&layout), client).await;
    assert!(
        server.is_err(),
        "server accepted a client without a certificate"
    );
    assert!(client.is_err());
}

#[tokio::test]
async fn a_client_certificate_from_the_other_ca_fails_the_handshake() {
    let (_tmp, layout) = fresh_pki("otherca");
    let (server, client) = exchange(
        registry_server(&layout),
        client_with(&layout, CertName::CabinetClient),
    )
    .await;
    let err = server.expect_err("server accepted a certificate from the internal CA");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(client.is_err());
}

#[tokio::test]
async fn a_client_refuses_a_server_it_does_not_trust() {
    let (_tmp, layout) = fresh_pki("untrusted");
    // The client trusts the internal CA only; the registry server is issued by the registry CA.
    let client = config::client_config(
        &layout.internal_ca(),
        &layout.gateway_client(),
        &layout.gateway_client_key(),
    )
    .expect("client config");
    let (server, client) = exchange(registry_server(&layout), client).await;
    assert!(server.is_err());
    assert!(client.is_err());
}

#[tokio::test]
async fn the_injected_clock_decides_expiry_in_handshakes() {
    let (_tmp, layout) = fresh_pki("clock");
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let resolver = ReloadableClientCert::load(
        &layout.gateway_client(),
        &layout.gateway_client_key(),
        Arc::new(SystemClock),
    )
    .expect("client cert");
    let client = config::client_config_with(
        &layout.registry_ca(),
        Some(Arc::new(resolver)),
        Arc::clone(&clock) as Arc<dyn Clock>,
    )
    .expect("client config");
    clock.advance(400 * DAY);
    let (_, client) = exchange(registry_server(&layout), client).await;
    let err = client.expect_err("client accepted an expired server certificate");
    assert!(err.to_lowercase().contains("expired"), "{err}");
}

#[tokio::test]
async fn reloadable_cert_serves_the_new_certificate_after_reload() {
    let (tmp, layout) = fresh_pki("reload");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let served = Arc::new(
        ReloadableCert::load(
            &layout.registry_server(),
            &layout.registry_server_key(),
            Arc::clone(&clock),
        )
        .expect("load"),
    );
    let server =
        config::server_config_with(served.clone(), &layout.registry_ca(), Arc::clone(&clock))
            .expect("server config");

    // A new client config per connection, so no session is resumed and each handshake shows the
    // certificate the server resolves now.
    let client = || client_with(&layout, CertName::GatewayClient);
    let (s, c) = exchange(Arc::clone(&server), client()).await;
    assert_eq!(s, Ok(()));
    assert_eq!(c, Ok(der_of(&layout.registry_server())));

    let (cert, key) = (tmp.path().join("new.pem"), tmp.path().join("new.key"));
    pki::issue(
        layout.dir(),
        "registry-server",
        &cert,
        &key,
        SystemTime::now(),
        30,
    )
    .expect("issue");
    // A bad pair is refused and the old certificate stays.
    let err = served
        .reload(&cert, &layout.registry_server_key())
        .expect_err("mismatch");
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    let (_, c) = exchange(Arc::clone(&server), client()).await;
    assert_eq!(c, Ok(der_of(&layout.registry_server())));

    served.reload(&cert, &key).expect("reload");
    let (s, c) = exchange(Arc::clone(&server), client()).await;
    assert_eq!(s, Ok(()));
    let new = der_of(&cert);
    assert_ne!(new, der_of(&layout.registry_server()));
    assert_eq!(c, Ok(new.clone()));
    assert_eq!(served.current().cert.first(), Some(&new));
}

#[tokio::test]
async fn reloadable_client_cert_presents_the_new_certificate() {
    let (tmp, layout) = fresh_pki("reloadclient");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let presented = Arc::new(
        ReloadableClientCert::load(
            &layout.gateway_client(),
            &layout.gateway_client_key(),
            Arc::clone(&clock),
        )
        .expect("load"),
    );
    // Swapping in a certificate from the wrong CA: accepted by reload (it only checks the pair), refused
    // by the server on the next handshake; swapping back makes handshakes work again.
    presented
        .reload(&layout.cabinet_client(), &layout.cabinet_client_key())
        .expect("reload");
    let client = || {
        config::client_config_with(
            &layout.registry_ca(),
            Some(presented.clone()),
            Arc::clone(&clock),
        )
        .expect("client config")
    };
    let (s, _) = exchange(registry_server(&layout), client()).await;
    assert!(s.is_err());

    let (cert, key) = (tmp.path().join("new.pem"), tmp.path().join("new.key"));
    pki::issue(
        layout.dir(),
        "gateway-client",
        &cert,
        &key,
        SystemTime::now(),
        30,
    )
    .expect("issue");
    presented.reload(&cert, &key).expect("reload");
    let (s, _) = exchange(registry_server(&layout), client()).await;
    assert_eq!(s, Ok(()));
}

#[test]
fn reload_refuses_expired_material_and_keeps_the_old() {
    let (tmp, layout) = fresh_pki("reloadexpired");
    let served = ReloadableCert::load(
        &layout.registry_server(),
        &layout.registry_server_key(),
        Arc::new(SystemClock),
    )
    .expect("load");
    let before = served.current();
    let (cert, key) = (tmp.path().join("old.pem"), tmp.path().join("old.key"));
    pki::issue(
        layout.dir(),
        "registry-server",
        &cert,
        &key,
        SystemTime::now() - 100 * DAY,
        30,
    )
    .expect("issue");
    let err = served.reload(&cert, &key).expect_err("expired");
    assert!(
        matches!(
            err,
            TlsError::Certificate {
                source: PkiError::Expired { .. }
            }
        ),
        "{err}"
    );
    assert!(Arc::ptr_eq(&before, &served.current()));
}

#[test]
fn config_errors_name_the_file() {
    let (tmp, layout) = fresh_pki("badfiles");
    let missing = tmp.path().join("nope.pem");
    let err = config::server_config(
        &missing,
        &layout.registry_server_key(),
        &layout.registry_ca(),
    )
    .expect_err("missing");
    assert!(matches!(err, TlsError::Io { .. }));
    assert!(err.to_string().contains("nope.pem"), "{err}");

    let garbage = tmp.path().join("garbage.pem");
    fs::write(&garbage, b"hello").expect("write");
    let err = config::client_config(
        &garbage,
        &layout.gateway_client(),
        &layout.gateway_client_key(),
    )
    .expect_err("garbage CA");
    assert!(err.to_string().contains("garbage.pem"), "{err}");

    let err = config::client_config(&layout.registry_ca(), &layout.gateway_client(), &garbage)
        .expect_err("garbage key");
    assert!(
        matches!(
            err,
            TlsError::Pem {
                wanted: "private key",
                ..
            }
        ),
        "{err}"
    );

    let broken = tmp.path().join("broken.pem");
    fs::write(
        &broken,
        b"-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let err = config::server_config(
        &layout.registry_server(),
        &layout.registry_server_key(),
        &broken,
    )
    .expect_err("broken CA");
    assert!(err.to_string().contains("broken.pem"), "{err}");

    let err = config::server_config(
        &layout.registry_server(),
        &layout.gateway_client_key(),
        &layout.registry_ca(),
    )
    .expect_err("mismatch");
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
}
