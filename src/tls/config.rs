//! rustls configurations built from PEM files, TLS 1.3 only, mutual TLS on both sides: the gateway's
//! server towards cabinet backends, the mock registries' servers, and the gateway's client towards the
//! registries all come from here.
//!
//! The server and client halves mirror each other, as in rustls: [`server_config`] / [`client_config`]
//! for fixed files, [`server_config_with`] / [`client_config_with`] for a certificate source that can be
//! swapped at run time ([`ReloadableCert`] / [`ReloadableClientCert`]) and an injected [`Clock`] that
//! decides what "expired" means.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::clock::{Clock, SystemClock};
use crate::tls::pki::{self, PemFile, PkiError};

/// What went wrong while building a TLS configuration; every variant that concerns a file names it.
#[derive(Debug)]
pub enum TlsError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not valid PEM, or holds no item of the kind wanted (no certificate, no private key).
    Pem {
        /// The file.
        path: PathBuf,
        /// What was looked for: `certificate` or `private key`.
        wanted: &'static str,
        /// The PEM parser's error.
        source: pem::Error,
    },
    /// rustls refused the private key (unsupported algorithm, malformed).
    Key {
        /// The key file.
        path: PathBuf,
        /// rustls' error.
        source: rustls::Error,
    },
    /// The key does not belong to the certificate.
    KeyMismatch {
        /// The certificate.
        cert: PathBuf,
        /// The key.
        key: PathBuf,
    },
    /// A CA certificate could not be used as a trust anchor.
    TrustAnchor {
        /// The CA file.
        path: PathBuf,
        /// rustls' error.
        source: rustls::Error,
    },
    /// The client certificate verifier could not be built from the CA file.
    Verifier {
        /// The CA file.
        path: PathBuf,
        /// rustls' error.
        source: rustls::server::VerifierBuilderError,
    },
    /// The certificate could not be inspected, or is outside its validity window.
    Certificate {
        /// What the PKI checks found (names the file).
        source: PkiError,
    },
    /// rustls refused the configuration itself (e.g. no TLS 1.3 cipher suite in the provider).
    Config {
        /// rustls' error.
        source: rustls::Error,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            TlsError::Pem {
                path,
                wanted,
                source: pem::Error::NoItemsFound,
            } => write!(f, "{}: no PEM {wanted} found", path.display()),
            TlsError::Pem {
                path,
                wanted,
                source,
            } => write!(
                f,
                "{}: bad PEM while reading a {wanted}: {source}",
                path.display()
            ),
            TlsError::Key { path, source } => {
                write!(f, "{}: unusable private key: {source}", path.display())
            }
            TlsError::KeyMismatch { cert, key } => write!(
                f,
                "{} does not hold the private key of {}",
                key.display(),
                cert.display()
            ),
            TlsError::TrustAnchor { path, source } => {
                write!(f, "{}: unusable CA certificate: {source}", path.display())
            }
            TlsError::Verifier { path, source } => {
                write!(
                    f,
                    "{}: cannot verify peers against it: {source}",
                    path.display()
                )
            }
            TlsError::Certificate { source } => write!(f, "{source}"),
            TlsError::Config { source } => write!(f, "TLS configuration: {source}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Io { source, .. } => Some(source),
            TlsError::Pem { source, .. } => Some(source),
            TlsError::Key { source, .. }
            | TlsError::TrustAnchor { source, .. }
            | TlsError::Config { source } => Some(source),
            TlsError::Verifier { source, .. } => Some(source),
            TlsError::Certificate { source } => Some(source),
            TlsError::KeyMismatch { .. } => None,
        }
    }
}

/// The crypto provider every configuration uses: ring (no cmake or clang needed to build it).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS 1.3 server that requires a client certificate issued by `client_ca` and presents `cert` (with
/// `key`), which must match and be valid now.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let resolver = ReloadableCert::load(cert, key, Arc::clone(&clock))?;
    server_config_with(Arc::new(resolver), client_ca, clock)
}

/// Whether a server insists on a client certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No handshake without a certificate of the client CA (the registries).
    Required,
    /// A certificate, when presented, must be one of the client CA's; clients without one are let
    /// through to authenticate otherwise (the API's bearer keys).
    Optional,
}

/// A TLS 1.3 server whose certificate comes from `cert` (e.g. a shared [`ReloadableCert`]), requiring a
/// client certificate issued by `client_ca`; certificate lifetimes are judged by `clock`.
pub fn server_config_with(
    cert: Arc<dyn ResolvesServerCert>,
    client_ca: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_auth(cert, client_ca, ClientAuth::Required, clock)
}

/// [`server_config_with`], with client certificates required or optional.
pub fn server_config_auth(
    cert: Arc<dyn ResolvesServerCert>,
    client_ca: &Path,
    auth: ClientAuth,
    clock: Arc<dyn Clock>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let bytes = read(client_ca)?;
    let client_ca = PemFile {
        path: client_ca,
        bytes: &bytes,
    };
    server_config_pem(cert, client_ca, auth, clock)
}

/// [`server_config_auth`] with the client CA's bytes already read.
pub fn server_config_pem(
    cert: Arc<dyn ResolvesServerCert>,
    client_ca: PemFile<'_>,
    auth: ClientAuth,
    clock: Arc<dyn Clock>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let roots = parse_roots(client_ca)?;
    let builder = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider));
    let builder = match auth {
        ClientAuth::Required => builder,
        ClientAuth::Optional => builder.allow_unauthenticated(),
    };
    let verifier = builder.build().map_err(|source| TlsError::Verifier {
        path: client_ca.path.to_path_buf(),
        source,
    })?;
    let config = ServerConfig::builder_with_details(provider, Arc::new(ClockTime(clock)))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| TlsError::Config { source })?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(cert);
    Ok(Arc::new(config))
}

/// A TLS 1.3 client that trusts servers issued by `server_ca` and presents `cert` (with `key`), which must
/// match and be valid now.
pub fn client_config(
    server_ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<Arc<ClientConfig>, TlsError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let resolver = ReloadableClientCert::load(cert, key, Arc::clone(&clock))?;
    client_config_with(server_ca, Some(Arc::new(resolver)), clock)
}

/// A TLS 1.3 client that trusts servers issued by `server_ca`, presents the certificate `cert` resolves to
/// (e.g. a shared [`ReloadableClientCert`]) or none at all with `None`; server certificate lifetimes are
/// judged by `clock`.
pub fn client_config_with(
    server_ca: &Path,
    cert: Option<Arc<dyn ResolvesClientCert>>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<ClientConfig>, TlsError> {
    client_config_roots(Arc::new(ReloadableRoots::load(server_ca)?), cert, clock)
}

/// [`client_config_with`] over trust anchors that can be replaced while the client runs.
pub fn client_config_roots(
    roots: Arc<ReloadableRoots>,
    cert: Option<Arc<dyn ResolvesClientCert>>,
    clock: Arc<dyn Clock>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_details(provider(), Arc::new(ClockTime(clock)))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| TlsError::Config { source })?
        .dangerous()
        .with_custom_certificate_verifier(roots);
    let config = match cert {
        Some(resolver) => builder.with_client_cert_resolver(resolver),
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file, in order (leaf first for a chain file).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    parse_certs(PemFile {
        path,
        bytes: &read(path)?,
    })
}

fn parse_certs(file: PemFile<'_>) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let (path, bytes) = (file.path, file.bytes);
    let pem_err = |source| TlsError::Pem {
        path: path.to_path_buf(),
        wanted: "certificate",
        source,
    };
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err)?;
    if certs.is_empty() {
        return Err(pem_err(pem::Error::NoItemsFound));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, SEC1 or PKCS#1) in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    parse_key(PemFile {
        path,
        bytes: &read(path)?,
    })
}

fn parse_key(file: PemFile<'_>) -> Result<PrivateKeyDer<'static>, TlsError> {
    let path = file.path;
    PrivateKeyDer::from_pem_slice(file.bytes).map_err(|source| TlsError::Pem {
        path: path.to_path_buf(),
        wanted: "private key",
        source,
    })
}

/// The CA certificates in a PEM file as a root store.
pub fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    parse_roots(PemFile {
        path,
        bytes: &read(path)?,
    })
}

fn parse_roots(file: PemFile<'_>) -> Result<Arc<RootCertStore>, TlsError> {
    let path = file.path;
    let mut roots = RootCertStore::empty();
    for cert in parse_certs(file)? {
        roots.add(cert).map_err(|source| TlsError::TrustAnchor {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(Arc::new(roots))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Load and check a certificate chain and its key: the key must match the leaf, and the leaf must be
/// inside its validity window at `now`.
fn load_certified_key(cert: &Path, key: &Path, now: SystemTime) -> Result<Held, TlsError> {
    certified_key(
        PemFile {
            path: cert,
            bytes: &read(cert)?,
        },
        PemFile {
            path: key,
            bytes: &read(key)?,
        },
        now,
    )
}

fn certified_key(
    cert_file: PemFile<'_>,
    key_file: PemFile<'_>,
    now: SystemTime,
) -> Result<Held, TlsError> {
    let (cert, key) = (cert_file.path, key_file.path);
    let chain = parse_certs(cert_file)?;
    let private = parse_key(key_file)?;
    let certified = CertifiedKey::from_der(chain, private, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        },
        source => TlsError::Key {
            path: key.to_path_buf(),
            source,
        },
    })?;
    // `from_der` lets a key whose public half it cannot compute through; a certificate reggate serves must
    // be known to match.
    certified.keys_match().map_err(|_| TlsError::KeyMismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
    })?;
    let leaf = certified.cert.first().ok_or_else(|| TlsError::Pem {
        path: cert.to_path_buf(),
        wanted: "certificate",
        source: pem::Error::NoItemsFound,
    })?;
    let window = pki::validity_of_der(leaf.as_ref(), cert)
        .map_err(|source| TlsError::Certificate { source })?;
    pki::check_window(window, cert, now).map_err(|source| TlsError::Certificate { source })?;
    Ok(Held {
        key: Arc::new(certified),
        not_after: window.1,
    })
}

/// A certified key with the end of its certificate's validity.
struct Held {
    key: Arc<CertifiedKey>,
    not_after: SystemTime,
}

/// The current certified key behind a lock; the shared core of the server and client reloadable types.
struct Slot {
    current: RwLock<Held>,
    clock: Arc<dyn Clock>,
}

impl Slot {
    fn load(cert: &Path, key: &Path, clock: Arc<dyn Clock>) -> Result<Slot, TlsError> {
        let held = load_certified_key(cert, key, clock.now())?;
        Ok(Slot {
            current: RwLock::new(held),
            clock,
        })
    }

    fn get(&self) -> Arc<CertifiedKey> {
        // A writer cannot panic while holding the lock (it only assigns), but a poisoned lock still holds
        // a whole value, so it is safe to keep serving it.
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()).key)
    }

    /// The key to present in a handshake now: none once its certificate has expired, so expired
    /// material is never served (the handshake fails; `/readyz` and the log say why).
    fn serve(&self, role: &str) -> Option<Arc<CertifiedKey>> {
        let held = self.current.read().unwrap_or_else(|p| p.into_inner());
        if self.clock.now() > held.not_after {
            tracing::error!(
                role,
                not_after = %pki::format_utc(held.not_after),
                "certificate expired: not presented (replace it and reload)"
            );
            return None;
        }
        Some(Arc::clone(&held.key))
    }

    fn reload(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), TlsError> {
        self.set(certified_key(cert, key, self.clock.now())?);
        Ok(())
    }

    /// Everything is checked before the lock is taken (callers pass a checked pair): a bad pair never
    /// replaces a good one, and handshakes are not held up while files are read.
    fn set(&self, held: Held) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = held;
    }

    fn fmt_debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.get();
        f.debug_struct(name)
            .field("chain_len", &current.cert.len())
            .finish_non_exhaustive()
    }
}

/// A server certificate that can be replaced while the server runs: every handshake after a successful
/// [`ReloadableCert::reload`] presents the new certificate; connections already open keep theirs.
pub struct ReloadableCert {
    slot: Slot,
}

impl ReloadableCert {
    /// Load `cert` (a PEM chain, leaf first) and `key`; they must match and be valid at `clock.now()`,
    /// which later reloads are checked against too.
    pub fn load(
        cert: &Path,
        key: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<ReloadableCert, TlsError> {
        Ok(ReloadableCert {
            slot: Slot::load(cert, key, clock)?,
        })
    }

    /// Replace the certificate with `cert` and `key` after the same checks as [`ReloadableCert::load`];
    /// on error the current certificate stays.
    pub fn reload(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        self.slot
            .set(load_certified_key(cert, key, self.slot.clock.now())?);
        Ok(())
    }

    /// [`Self::reload`] from bytes already read (and checked by the caller).
    pub fn reload_pem(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), TlsError> {
        self.slot.reload(cert, key)
    }

    /// The certificate and key presented now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.slot.get()
    }
}

impl fmt::Debug for ReloadableCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.slot.fmt_debug("ReloadableCert", f)
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.slot.serve("server")
    }
}

/// The client-side twin of [`ReloadableCert`]: the client certificate presented by every handshake after a
/// successful [`ReloadableClientCert::reload`] is the new one.
pub struct ReloadableClientCert {
    slot: Slot,
}

impl ReloadableClientCert {
    /// Load `cert` (a PEM chain, leaf first) and `key`; they must match and be valid at `clock.now()`,
    /// which later reloads are checked against too.
    pub fn load(
        cert: &Path,
        key: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<ReloadableClientCert, TlsError> {
        Ok(ReloadableClientCert {
            slot: Slot::load(cert, key, clock)?,
        })
    }

    /// Replace the certificate with `cert` and `key` after the same checks as
    /// [`ReloadableClientCert::load`]; on error the current certificate stays.
    pub fn reload(&self, cert: &Path, key: &Path) -> Result<(), TlsError> {
        self.slot
            .set(load_certified_key(cert, key, self.slot.clock.now())?);
        Ok(())
    }

    /// [`Self::reload`] from bytes already read (and checked by the caller).
    pub fn reload_pem(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), TlsError> {
        self.slot.reload(cert, key)
    }

    /// The certificate and key presented now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.slot.get()
    }
}

impl fmt::Debug for ReloadableClientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.slot.fmt_debug("ReloadableClientCert", f)
    }
}

impl ResolvesClientCert for ReloadableClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // There is one certificate per client; if the server wants another CA the handshake should fail
        // on the server's side, where the reason is logged, rather than by sending nothing.
        self.slot.serve("client")
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// rustls' view of a reggate [`Clock`], so certificate expiry in handshakes follows the injected time.
pub struct ClockTime(pub Arc<dyn Clock>);

impl fmt::Debug for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClockTime").finish_non_exhaustive()
    }
}

impl TimeProvider for ClockTime {
    fn current_time(&self) -> Option<UnixTime> {
        self.0
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(UnixTime::since_unix_epoch)
    }
}

/// The trust anchors a client checks servers against (the registries' CA, webhook receivers' CA), which
/// can be replaced while it runs: every handshake after a successful [`ReloadableRoots::reload`] is
/// judged by the new anchors with WebPKI's own verifier; connections already open are not re-judged.
pub struct ReloadableRoots {
    current: RwLock<Arc<WebPkiServerVerifier>>,
}

impl ReloadableRoots {
    /// The CA certificates in the PEM file `path`.
    pub fn load(path: &Path) -> Result<ReloadableRoots, TlsError> {
        Ok(ReloadableRoots {
            current: RwLock::new(server_verifier(path)?),
        })
    }

    /// Replace the anchors with those in `file`; on error the current ones stay.
    pub fn reload_pem(&self, file: PemFile<'_>) -> Result<(), TlsError> {
        let verifier = verifier_of(parse_roots(file)?, file.path)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = verifier;
        Ok(())
    }

    fn get(&self) -> Arc<WebPkiServerVerifier> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }
}

fn server_verifier(path: &Path) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    verifier_of(load_roots(path)?, path)
}

fn verifier_of(
    roots: Arc<RootCertStore>,
    path: &Path,
) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|source| TlsError::Verifier {
            path: path.to_path_buf(),
            source,
        })
}

impl fmt::Debug for ReloadableRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableRoots").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for ReloadableRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.get()
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.get().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.get().supported_verify_schemes()
    }
}

/// A server configuration replaced as a whole between handshakes: the API's, rebuilt when the CA of its
/// client certificates changes (rustls' client verifier lends out its hint list, so it cannot sit behind
/// a lock the way [`ReloadableRoots`] does). Connections keep the configuration they started with.
pub struct LiveServerConfig {
    current: RwLock<Arc<ServerConfig>>,
}

impl LiveServerConfig {
    /// Starting with `config`.
    pub fn new(config: Arc<ServerConfig>) -> LiveServerConfig {
        LiveServerConfig {
            current: RwLock::new(config),
        }
    }

    /// The configuration new connections use.
    pub fn get(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Use `config` for connections from now on.
    pub fn set(&self, config: Arc<ServerConfig>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = config;
    }
}

impl fmt::Debug for LiveServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveServerConfig").finish_non_exhaustive()
    }
}
