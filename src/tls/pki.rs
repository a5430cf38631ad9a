//! The development PKI behind `reggate certs init|status|rotate`: two small certificate authorities and the
//! leaf certificates the gateway, the cabinet backends and the mock registries present to each other.
//!
//! Everything here is for development and tests, never for real keys. Time is always passed in (`now`), so
//! tests can create material that is already expired or not yet valid, the way rustls' committed `test-ca`
//! generator keeps expired material beside the good one.
//!
//! ```text
//! internal-ca  ── gateway-server   (the gateway's HTTPS API, presented to cabinet backends)
//!              ── cabinet-client   (cabinet backends' client certificate for that API)
//!              ── receipt-signing  (signs the receipts the gateway hands out)
//! registry-ca  ── registry-server  (the mock registries' server certificate)
//!              ── gateway-client   (the gateway's client certificate towards the registries)
//! ```
//!
//! Keys are EC P-256, signatures SHA-256. Key files are written with mode 0600; every file is written to a
//! temporary sibling first and renamed into place, so a reader never sees half a file.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time, Asn1TimeRef};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509Builder, X509NameBuilder, X509NameRef, X509Ref, X509StoreContext};

/// Leaf lifetime used by [`ensure`] when it has to create the PKI: one year.
pub const DEFAULT_LIFETIME_DAYS: u32 = 365;

/// How much longer than its leaves a CA lives: a CA that expired before its leaves would make every leaf
/// fail at once, which is not what a lifetime option should mean.
const CA_LIFETIME_FACTOR: u32 = 2;

const SECONDS_PER_DAY: i64 = 86_400;

/// One certificate of the development PKI, with its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertName {
    /// `internal-ca`: issues the gateway's server certificate, the cabinet client certificate and the
    /// receipt-signing certificate.
    InternalCa,
    /// `gateway-server`: the gateway's HTTPS server certificate (issued by `internal-ca`).
    GatewayServer,
    /// `cabinet-client`: the cabinet backends' client certificate (issued by `internal-ca`).
    CabinetClient,
    /// `receipt-signing`: signs the gateway's receipts (issued by `internal-ca`).
    ReceiptSigning,
    /// `registry-ca`: the registry side's CA.
    RegistryCa,
    /// `registry-server`: the mock registries' server certificate (issued by `registry-ca`).
    RegistryServer,
    /// `gateway-client`: the gateway's client certificate towards the registries (issued by `registry-ca`).
    GatewayClient,
}

impl CertName {
    /// Every certificate, CAs first, in the order `status` reports them.
    pub const ALL: [CertName; 7] = [
        CertName::InternalCa,
        CertName::GatewayServer,
        CertName::CabinetClient,
        CertName::ReceiptSigning,
        CertName::RegistryCa,
        CertName::RegistryServer,
        CertName::GatewayClient,
    ];

    /// The file stem (`gateway-server` for `gateway-server.pem` and `gateway-server.key`), also the name the
    /// CLI accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            CertName::InternalCa => "internal-ca",
            CertName::GatewayServer => "gateway-server",
            CertName::CabinetClient => "cabinet-client",
            CertName::ReceiptSigning => "receipt-signing",
            CertName::RegistryCa => "registry-ca",
            CertName::RegistryServer => "registry-server",
            CertName::GatewayClient => "gateway-client",
        }
    }

    /// The CA that issues this certificate (a CA issues itself).
    pub fn issuer(self) -> CertName {
        match self {
            CertName::InternalCa
            | CertName::GatewayServer
            | CertName::CabinetClient
            | CertName::ReceiptSigning => CertName::InternalCa,
            CertName::RegistryCa | CertName::RegistryServer | CertName::GatewayClient => {
                CertName::RegistryCa
            }
        }
    }

    /// Whether this is one of the two CAs.
    pub fn is_ca(self) -> bool {
        self.issuer() == self
    }

    /// The subject common name written into a freshly issued certificate.
    fn common_name(self) -> &'static str {
        match self {
            CertName::InternalCa => "reggate development internal CA",
            CertName::GatewayServer => "reggate gateway server",
            CertName::CabinetClient => "reggate cabinet client",
            CertName::ReceiptSigning => "reggate receipt signing",
            CertName::RegistryCa => "reggate development registry CA",
            CertName::RegistryServer => "reggate mock registry server",
            CertName::GatewayClient => "reggate gateway client",
        }
    }

    fn role(self) -> Role {
        match self {
            CertName::InternalCa | CertName::RegistryCa => Role::Ca,
            CertName::GatewayServer | CertName::RegistryServer => Role::Server,
            CertName::CabinetClient | CertName::GatewayClient => Role::Client,
            CertName::ReceiptSigning => Role::Signing,
        }
    }
}

impl fmt::Display for CertName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CertName {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<CertName, PkiError> {
        CertName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| PkiError::UnknownName { name: s.to_owned() })
    }
}

/// What a certificate is for; decides its extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Ca,
    Server,
    Client,
    Signing,
}

/// Where every file of the development PKI lives inside its directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkiLayout {
    dir: PathBuf,
}

impl PkiLayout {
    /// The layout of a PKI in `dir` (nothing is read or written).
    pub fn new(dir: impl Into<PathBuf>) -> PkiLayout {
        PkiLayout { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The certificate (PEM) of `name`.
    pub fn cert(&self, name: CertName) -> PathBuf {
        self.dir.join(format!("{}.pem", name.as_str()))
    }

    /// The private key (PKCS#8 PEM) of `name`.
    pub fn key(&self, name: CertName) -> PathBuf {
        self.dir.join(format!("{}.key", name.as_str()))
    }

    /// Every certificate and key path, certificate first for each name in [`CertName::ALL`] order.
    pub fn files(&self) -> Vec<PathBuf> {
        CertName::ALL
            .into_iter()
            .flat_map(|n| [self.cert(n), self.key(n)])
            .collect()
    }

    /// `internal-ca.pem`.
    pub fn internal_ca(&self) -> PathBuf {
        self.cert(CertName::InternalCa)
    }
    /// `internal-ca.key`.
    pub fn internal_ca_key(&self) -> PathBuf {
        self.key(CertName::InternalCa)
    }
    /// `gateway-server.pem`.
    pub fn gateway_server(&self) -> PathBuf {
        self.cert(CertName::GatewayServer)
    }
    /// `gateway-server.key`.
    pub fn gateway_server_key(&self) -> PathBuf {
        self.key(CertName::GatewayServer)
    }
    /// `cabinet-client.pem`.
    pub fn cabinet_client(&self) -> PathBuf {
        self.cert(CertName::CabinetClient)
    }
    /// `cabinet-client.key`.
    pub fn cabinet_client_key(&self) -> PathBuf {
        self.key(CertName::CabinetClient)
    }
    /// `receipt-signing.pem`.
    pub fn receipt_signing(&self) -> PathBuf {
        self.cert(CertName::ReceiptSigning)
    }
    /// `receipt-signing.key`.
    pub fn receipt_signing_key(&self) -> PathBuf {
        self.key(CertName::ReceiptSigning)
    }
    /// `registry-ca.pem`.
    pub fn registry_ca(&self) -> PathBuf {
        self.cert(CertName::RegistryCa)
    }
    /// `registry-ca.key`.
    pub fn registry_ca_key(&self) -> PathBuf {
        self.key(CertName::RegistryCa)
    }
    /// `registry-server.pem`.
    pub fn registry_server(&self) -> PathBuf {
        self.cert(CertName::RegistryServer)
    }
    /// `registry-server.key`.
    pub fn registry_server_key(&self) -> PathBuf {
        self.key(CertName::RegistryServer)
    }
    /// `gateway-client.pem`.
    pub fn gateway_client(&self) -> PathBuf {
        self.cert(CertName::GatewayClient)
    }
    /// `gateway-client.key`.
    pub fn gateway_client_key(&self) -> PathBuf {
        self.key(CertName::GatewayClient)
    }
}

/// Options of [`init`].
#[derive(Clone, Debug)]
pub struct PkiOptions {
    /// Where to write (created if missing). The CLI's default is `certs/`.
    pub dir: PathBuf,
    /// Lifetime of the leaf certificates in days (at least 1); the CAs live twice as long.
    pub lifetime_days: u32,
    /// Start of every certificate's validity.
    pub now: SystemTime,
    /// Overwrite existing material instead of refusing.
    pub force: bool,
}

/// The state of one certificate, as `reggate certs status` shows it.
#[derive(Clone, Debug)]
pub struct CertStatus {
    /// Which certificate.
    pub name: CertName,
    /// Its file.
    pub path: PathBuf,
    /// Subject common name (empty if the certificate has none).
    pub subject_cn: String,
    /// Issuer common name (empty if none).
    pub issuer_cn: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Whole days from `now` to `not_after`, rounded down: negative once expired.
    pub days_left: i64,
    /// Whether the key file holds the private half of the certificate's public key.
    pub key_matches: bool,
    /// Whether the certificate's signature chain verifies against its CA (validity dates aside: those are
    /// `days_left` and `not_before`).
    pub chain_verifies: bool,
    /// Why the chain did not verify, in OpenSSL's words.
    pub chain_error: Option<String>,
}

/// What went wrong in the PKI; every variant names the file(s) concerned.
#[derive(Debug)]
pub enum PkiError {
    /// Reading, writing or renaming a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// OpenSSL could not parse a file (not PEM, not a certificate or key, ...).
    Parse {
        /// The file.
        path: PathBuf,
        /// OpenSSL's errors.
        source: ErrorStack,
    },
    /// OpenSSL failed while generating or signing material.
    Crypto {
        /// What was being made (e.g. `gateway-server`).
        what: String,
        /// OpenSSL's errors.
        source: ErrorStack,
    },
    /// `init` without `force` found existing material and left it alone.
    AlreadyExists {
        /// The files that exist.
        paths: Vec<PathBuf>,
    },
    /// `ensure` found some files of the PKI but not all: regenerating only the missing ones would mix keys
    /// from two generations, so it asks for `reggate certs init --force` instead.
    Incomplete {
        /// The files that are missing.
        missing: Vec<PathBuf>,
    },
    /// The name is not one of [`CertName::ALL`].
    UnknownName {
        /// The name given.
        name: String,
    },
    /// Rotating a CA would orphan every certificate it issued; regenerate the PKI instead.
    CaNotRotatable {
        /// The CA.
        name: CertName,
    },
    /// The lifetime is zero days.
    InvalidLifetime {
        /// The lifetime given.
        days: u32,
    },
    /// The key does not belong to the certificate.
    KeyMismatch {
        /// The certificate.
        cert: PathBuf,
        /// The key.
        key: PathBuf,
    },
    /// The certificate's chain does not verify against the CA that should have issued it.
    ChainInvalid {
        /// The certificate.
        cert: PathBuf,
        /// The CA certificate it was checked against.
        ca: PathBuf,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The certificate expired before `now`.
    Expired {
        /// The certificate.
        cert: PathBuf,
        /// Its end of validity.
        not_after: SystemTime,
        /// The time it was checked at.
        now: SystemTime,
    },
    /// The key is weaker than reggate accepts (RSA below 2048 bits, EC below 256).
    WeakKey {
        /// The certificate.
        cert: PathBuf,
        /// `RSA`, `EC`, ...
        kind: &'static str,
        /// Its size.
        bits: u32,
        /// The least accepted for its kind.
        min: u32,
    },
    /// A server certificate's names (SANs) leave out a name the role serves.
    NamesMissing {
        /// The certificate.
        cert: PathBuf,
        /// The names served that it does not cover.
        missing: Vec<String>,
    },
    /// A file that should hold certificates holds none.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The certificate's validity starts after `now`.
    NotYetValid {
        /// The certificate.
        cert: PathBuf,
        /// Its start of validity.
        not_before: SystemTime,
        /// The time it was checked at.
        now: SystemTime,
    },
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkiError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            PkiError::Parse { path, source } => {
                write!(
                    f,
                    "{}: not a usable PEM certificate or key: {source}",
                    path.display()
                )
            }
            PkiError::Crypto { what, source } => write!(f, "generating {what}: {source}"),
            PkiError::AlreadyExists { paths } => {
                write!(f, "refusing to overwrite existing material (use --force): ")?;
                write_paths(f, paths)
            }
            PkiError::Incomplete { missing } => {
                write!(
                    f,
                    "the PKI is incomplete (run `reggate certs init --force`); missing: "
                )?;
                write_paths(f, missing)
            }
            PkiError::UnknownName { name } => {
                write!(f, "unknown certificate name {name:?}; known: ")?;
                let names: Vec<&str> = CertName::ALL.iter().map(|n| n.as_str()).collect();
                f.write_str(&names.join(", "))
            }
            PkiError::CaNotRotatable { name } => write!(
                f,
                "{name} is a CA: rotating it would invalidate everything it issued; \
                 regenerate with `reggate certs init --force`"
            ),
            PkiError::InvalidLifetime { days } => {
                write!(f, "lifetime of {days} days: must be at least 1")
            }
            PkiError::KeyMismatch { cert, key } => write!(
                f,
                "{} does not hold the private key of {}",
                key.display(),
                cert.display()
            ),
            PkiError::ChainInvalid { cert, ca, reason } => write!(
                f,
                "{} does not verify against {}: {reason}",
                cert.display(),
                ca.display()
            ),
            PkiError::Expired {
                cert,
                not_after,
                now,
            } => write!(
                f,
                "{} expired at {} (now {})",
                cert.display(),
                format_utc(*not_after),
                format_utc(*now)
            ),
            PkiError::WeakKey {
                cert,
                kind,
                bits,
                min,
            } => write!(
                f,
                "{}: a {bits}-bit {kind} key is too weak (at least {min} bits)",
                cert.display()
            ),
            PkiError::NamesMissing { cert, missing } => write!(
                f,
                "{} does not cover the names served: {} missing from its subject alternative names",
                cert.display(),
                missing.join(", ")
            ),
            PkiError::NoCertificate { path } => {
                write!(f, "{}: no PEM certificate in the file", path.display())
            }
            PkiError::NotYetValid {
                cert,
                not_before,
                now,
            } => write!(
                f,
                "{} is not valid before {} (now {})",
                cert.display(),
                format_utc(*not_before),
                format_utc(*now)
            ),
        }
    }
}

fn write_paths(f: &mut fmt::Formatter<'_>, paths: &[PathBuf]) -> fmt::Result {
    for (i, p) in paths.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}", p.display())?;
    }
    Ok(())
}

impl std::error::Error for PkiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PkiError::Io { source, .. } => Some(source),
            PkiError::Parse { source, .. } | PkiError::Crypto { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Write a fresh development PKI into `opts.dir`.
///
/// Refuses with [`PkiError::AlreadyExists`] if any of its files exists, unless `opts.force`. Also writes a
/// `.gitignore` that keeps the keys out of version control (if there is none yet).
pub fn init(opts: &PkiOptions) -> Result<PkiLayout, PkiError> {
    if opts.lifetime_days == 0 {
        return Err(PkiError::InvalidLifetime {
            days: opts.lifetime_days,
        });
    }
    let layout = PkiLayout::new(&opts.dir);
    if !opts.force {
        let existing: Vec<PathBuf> = layout.files().into_iter().filter(|p| p.exists()).collect();
        if !existing.is_empty() {
            return Err(PkiError::AlreadyExists { paths: existing });
        }
    }
    fs::create_dir_all(&opts.dir).map_err(|source| PkiError::Io {
        path: opts.dir.clone(),
        source,
    })?;

    // Everything is generated before anything is written, so a generation failure leaves the directory as
    // it was.
    let leaf = Validity::starting(opts.now, opts.lifetime_days);
    let ca_validity = Validity::starting(
        opts.now,
        opts.lifetime_days.saturating_mul(CA_LIFETIME_FACTOR),
    );
    let mut material: Vec<(CertName, Issued)> = Vec::with_capacity(CertName::ALL.len());
    for ca_name in [CertName::InternalCa, CertName::RegistryCa] {
        let ca = make_cert(ca_name, None, ca_validity)?;
        for name in CertName::ALL {
            if name.issuer() == ca_name && !name.is_ca() {
                let issued = make_cert(name, Some(&ca), leaf)?;
                material.push((name, issued));
            }
        }
        material.push((ca_name, ca));
    }
    for (name, issued) in &material {
        write_issued(&layout, *name, issued)?;
    }
    write_gitignore(&opts.dir)?;
    Ok(layout)
}

/// The PKI in `dir`, created with [`DEFAULT_LIFETIME_DAYS`] from `now` if none of its files exist yet (what
/// `reggate serve` and `reggate mock` do on embedded defaults).
///
/// A partial PKI is an error ([`PkiError::Incomplete`]) rather than something to patch up.
pub fn ensure(dir: &Path, now: SystemTime) -> Result<PkiLayout, PkiError> {
    let layout = PkiLayout::new(dir);
    let missing: Vec<PathBuf> = layout.files().into_iter().filter(|p| !p.exists()).collect();
    if missing.is_empty() {
        return Ok(layout);
    }
    if missing.len() < layout.files().len() {
        return Err(PkiError::Incomplete { missing });
    }
    init(&PkiOptions {
        dir: dir.to_path_buf(),
        lifetime_days: DEFAULT_LIFETIME_DAYS,
        now,
        force: false,
    })
}

/// The state of every certificate in `dir` at `now`, in [`CertName::ALL`] order.
///
/// A missing or unreadable file is an error naming it; a certificate that is expired, has the wrong key
/// or does not chain is a row saying so.
pub fn status(dir: &Path, now: SystemTime) -> Result<Vec<CertStatus>, PkiError> {
    let layout = PkiLayout::new(dir);
    let mut rows = Vec::with_capacity(CertName::ALL.len());
    for name in CertName::ALL {
        let cert_path = layout.cert(name);
        let cert = read_cert(&cert_path)?;
        let key = read_key(&layout.key(name))?;
        let ca_path = layout.cert(name.issuer());
        let ca = read_cert(&ca_path)?;
        let (not_before, not_after) = validity_of(&cert, &cert_path)?;
        let chain_error = verify_chain(&cert, &ca).err();
        rows.push(CertStatus {
            name,
            path: cert_path,
            subject_cn: common_name(cert.subject_name()),
            issuer_cn: common_name(cert.issuer_name()),
            not_before,
            not_after,
            days_left: days_between(now, not_after),
            key_matches: key_matches(&cert, &key),
            chain_verifies: chain_error.is_none(),
            chain_error,
        });
    }
    Ok(rows)
}

/// Replace the certificate and key `name` in `dir` with `new_cert` and `new_key`, after checking that the
/// key matches the certificate, that the certificate is valid at `now`, and that it verifies against the CA
/// that issues `name` in this PKI.
///
/// Each file is written to a temporary sibling and renamed over the old one (atomic on one filesystem);
/// if any check fails nothing is touched. The two renames are separate, so a reader between them can see
/// the new key with the old certificate: [`crate::tls::config::ReloadableCert::reload`] refuses such a
/// pair and keeps serving the old one.
pub fn rotate(
    dir: &Path,
    name: &str,
    new_cert: &Path,
    new_key: &Path,
    now: SystemTime,
) -> Result<(), PkiError> {
    let name: CertName = name.parse()?;
    if name.is_ca() {
        return Err(PkiError::CaNotRotatable { name });
    }
    let layout = PkiLayout::new(dir);
    let cert_pem = read_file(new_cert)?;
    let key_pem = read_file(new_key)?;
    let cert = X509::from_pem(&cert_pem).map_err(|source| PkiError::Parse {
        path: new_cert.to_path_buf(),
        source,
    })?;
    let key = PKey::private_key_from_pem(&key_pem).map_err(|source| PkiError::Parse {
        path: new_key.to_path_buf(),
        source,
    })?;
    if !key_matches(&cert, &key) {
        return Err(PkiError::KeyMismatch {
            cert: new_cert.to_path_buf(),
            key: new_key.to_path_buf(),
        });
    }
    check_validity(&cert, new_cert, now)?;
    let ca_path = layout.cert(name.issuer());
    let ca = read_cert(&ca_path)?;
    verify_chain(&cert, &ca).map_err(|reason| PkiError::ChainInvalid {
        cert: new_cert.to_path_buf(),
        ca: ca_path,
        reason,
    })?;

    // Both temporaries exist before either rename, so a failure to write leaves the old pair in place.
    let cert_tmp = write_temp(&layout.cert(name), &cert_pem, false)?;
    let key_tmp = match write_temp(&layout.key(name), &key_pem, true) {
        Ok(t) => t,
        Err(e) => {
            let _ = fs::remove_file(&cert_tmp);
            return Err(e);
        }
    };
    rename_into_place(&key_tmp, &layout.key(name)).inspect_err(|_| {
        let _ = fs::remove_file(&cert_tmp);
    })?;
    rename_into_place(&cert_tmp, &layout.cert(name))
}

/// Issue a new certificate for `name` from the CA in `dir`, valid for `lifetime_days` from `now`, and write
/// it to `cert_out` and `key_out` (refusing to overwrite either): the other half of [`rotate`] in
/// development, and how tests make replacement or expired material.
pub fn issue(
    dir: &Path,
    name: &str,
    cert_out: &Path,
    key_out: &Path,
    now: SystemTime,
    lifetime_days: u32,
) -> Result<(), PkiError> {
    let name: CertName = name.parse()?;
    if name.is_ca() {
        return Err(PkiError::CaNotRotatable { name });
    }
    if lifetime_days == 0 {
        return Err(PkiError::InvalidLifetime {
            days: lifetime_days,
        });
    }
    let existing: Vec<PathBuf> = [cert_out, key_out]
        .into_iter()
        .filter(|p| p.exists())
        .map(Path::to_path_buf)
        .collect();
    if !existing.is_empty() {
        return Err(PkiError::AlreadyExists { paths: existing });
    }
    let layout = PkiLayout::new(dir);
    let ca = Issued {
        cert: read_cert(&layout.cert(name.issuer()))?,
        key: read_key(&layout.key(name.issuer()))?,
    };
    let issued = make_cert(name, Some(&ca), Validity::starting(now, lifetime_days))?;
    let (cert_pem, key_pem) = issued.to_pem(name)?;
    write_file(cert_out, &cert_pem, false)?;
    write_file(key_out, &key_pem, true)
}

/// A PEM file's bytes as read once, with its path for messages: what is checked is what is swapped in,
/// even if the file changes meanwhile.
#[derive(Clone, Copy, Debug)]
pub struct PemFile<'a> {
    /// Where it was read from.
    pub path: &'a Path,
    /// Its contents.
    pub bytes: &'a [u8],
}

/// What a certificate is, as the checks before a reload found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspected {
    /// Subject common name (empty if none).
    pub subject_cn: String,
    /// Issuer common name (empty if none).
    pub issuer_cn: String,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// SHA-256 of the DER certificate, hex: what `openssl x509 -fingerprint -sha256` prints, without colons.
    pub sha256: String,
    /// DNS names and IP addresses of its subject alternative names.
    pub names: Vec<String>,
}

/// Check a certificate and its key the way a live reload must before swapping: both parse, the key is
/// the certificate's, it is valid at `now`, its key is strong enough, it chains to `issuer` (when one is
/// known), and its names cover every one of `served`.
pub fn inspect_leaf(
    cert_file: PemFile<'_>,
    key_file: PemFile<'_>,
    issuer: Option<&Path>,
    served: &[String],
    now: SystemTime,
) -> Result<Inspected, PkiError> {
    let (cert_path, key_path) = (cert_file.path, key_file.path);
    let cert = X509::from_pem(cert_file.bytes).map_err(|source| PkiError::Parse {
        path: cert_path.to_path_buf(),
        source,
    })?;
    let key = PKey::private_key_from_pem(key_file.bytes).map_err(|source| PkiError::Parse {
        path: key_path.to_path_buf(),
        source,
    })?;
    if !key_matches(&cert, &key) {
        return Err(PkiError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        });
    }
    check_validity(&cert, cert_path, now)?;
    check_strength(&key, cert_path)?;
    if let Some(issuer) = issuer {
        let ca = read_cert(issuer)?;
        verify_chain(&cert, &ca).map_err(|reason| PkiError::ChainInvalid {
            cert: cert_path.to_path_buf(),
            ca: issuer.to_path_buf(),
            reason,
        })?;
    }
    let inspected = inspect(&cert, cert_path)?;
    let missing: Vec<String> = served
        .iter()
        .filter(|name| !inspected.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(PkiError::NamesMissing {
            cert: cert_path.to_path_buf(),
            missing,
        });
    }
    Ok(inspected)
}

/// Check a file of trust anchors: at least one certificate, every one valid at `now` with a strong
/// enough key.
pub fn inspect_anchors(file: PemFile<'_>, now: SystemTime) -> Result<Vec<Inspected>, PkiError> {
    let path = file.path;
    let certs = X509::stack_from_pem(file.bytes).map_err(|source| PkiError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    if certs.is_empty() {
        return Err(PkiError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    certs
        .iter()
        .map(|cert| {
            check_validity(cert, path, now)?;
            let key = cert.public_key().map_err(|source| PkiError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
            check_strength(&key, path)?;
            inspect(cert, path)
        })
        .collect()
}

/// Refuse RSA keys below 2048 bits and EC keys below 256 (NIST SP 800-57's 112-bit floor).
fn check_strength<T: openssl::pkey::HasPublic>(key: &PKey<T>, cert: &Path) -> Result<(), PkiError> {
    use openssl::pkey::Id;
    let (kind, min) = match key.id() {
        Id::RSA | Id::RSA_PSS => ("RSA", 2048),
        Id::EC => ("EC", 256),
        Id::DSA => ("DSA", 2048),
        // Ed25519 and Ed448 have one size each, both strong.
        _ => return Ok(()),
    };
    let bits = key.bits();
    if bits < min {
        return Err(PkiError::WeakKey {
            cert: cert.to_path_buf(),
            kind,
            bits,
            min,
        });
    }
    Ok(())
}

fn inspect(cert: &X509Ref, path: &Path) -> Result<Inspected, PkiError> {
    let (not_before, not_after) = validity_of(cert, path)?;
    let sha256 = cert
        .digest(MessageDigest::sha256())
        .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
        .map_err(|source| PkiError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let names = cert
        .subject_alt_names()
        .map(|sans| {
            sans.iter()
                .filter_map(|n| {
                    n.dnsname().map(str::to_string).or_else(|| {
                        n.ipaddress().and_then(|ip| match ip.len() {
                            4 => Some(
                                std::net::Ipv4Addr::from(<[u8; 4]>::try_from(ip).ok()?).to_string(),
                            ),
                            16 => Some(
                                std::net::Ipv6Addr::from(<[u8; 16]>::try_from(ip).ok()?)
                                    .to_string(),
                            ),
                            _ => None,
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Inspected {
        subject_cn: common_name(cert.subject_name()),
        issuer_cn: common_name(cert.issuer_name()),
        not_before,
        not_after,
        sha256,
        names,
    })
}

/// `now` as `YYYY-MM-DD HH:MM:SS UTC`, for tables and error messages.
pub fn format_utc(t: SystemTime) -> String {
    let (y, m, d, h, min, sec) = crate::clock::utc_parts(t);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{sec:02} UTC")
}

/// The validity window of a DER certificate (used by `tls::config` to refuse expired material on reload).
pub(crate) fn validity_of_der(
    der: &[u8],
    path: &Path,
) -> Result<(SystemTime, SystemTime), PkiError> {
    let cert = X509::from_der(der).map_err(|source| PkiError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    validity_of(&cert, path)
}

/// Refuse a certificate outside its validity window at `now`.
pub(crate) fn check_window(
    (not_before, not_after): (SystemTime, SystemTime),
    path: &Path,
    now: SystemTime,
) -> Result<(), PkiError> {
    if now < not_before {
        return Err(PkiError::NotYetValid {
            cert: path.to_path_buf(),
            not_before,
            now,
        });
    }
    if now > not_after {
        return Err(PkiError::Expired {
            cert: path.to_path_buf(),
            not_after,
            now,
        });
    }
    Ok(())
}

fn check_validity(cert: &X509Ref, path: &Path, now: SystemTime) -> Result<(), PkiError> {
    check_window(validity_of(cert, path)?, path, now)
}

/// A validity window in Unix seconds.
#[derive(Clone, Copy, Debug)]
struct Validity {
    not_before: i64,
    not_after: i64,
}

impl Validity {
    fn starting(now: SystemTime, days: u32) -> Validity {
        let not_before = unix_seconds(now);
        Validity {
            not_before,
            not_after: not_before.saturating_add(i64::from(days) * SECONDS_PER_DAY),
        }
    }
}

/// A certificate with its private key.
struct Issued {
    cert: X509,
    key: PKey<Private>,
}

impl Issued {
    fn to_pem(&self, name: CertName) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
        let crypto = |source| PkiError::Crypto {
            what: name.to_string(),
            source,
        };
        Ok((
            self.cert.to_pem().map_err(crypto)?,
            self.key.private_key_to_pem_pkcs8().map_err(crypto)?,
        ))
    }
}

/// Generate a key and a certificate for `name`, signed by `issuer` (self-signed when `None`).
fn make_cert(
    name: CertName,
    issuer: Option<&Issued>,
    validity: Validity,
) -> Result<Issued, PkiError> {
    build_cert(name, issuer, validity).map_err(|source| PkiError::Crypto {
        what: name.to_string(),
        source,
    })
}

fn build_cert(
    name: CertName,
    issuer: Option<&Issued>,
    validity: Validity,
) -> Result<Issued, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;

    let mut subject = X509NameBuilder::new()?;
    subject.append_entry_by_nid(Nid::ORGANIZATIONNAME, "reggate development")?;
    subject.append_entry_by_nid(Nid::COMMONNAME, name.common_name())?;
    let subject = subject.build();

    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    // 127 random bits keep the serial positive and unique without a serial-number file.
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    b.set_serial_number(Asn1Integer::from_bn(&serial)?.as_ref())?;
    b.set_subject_name(&subject)?;
    match issuer {
        Some(ca) => b.set_issuer_name(ca.cert.subject_name())?,
        None => b.set_issuer_name(&subject)?,
    }
    b.set_pubkey(&key)?;
    b.set_not_before(Asn1Time::from_unix(validity.not_before)?.as_ref())?;
    b.set_not_after(Asn1Time::from_unix(validity.not_after)?.as_ref())?;

    match name.role() {
        Role::Ca => {
            b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
        }
        Role::Server | Role::Client => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            let mut eku = ExtendedKeyUsage::new();
            if name.role() == Role::Server {
                eku.server_auth();
            } else {
                eku.client_auth();
            }
            b.append_extension(eku.build()?)?;
        }
        Role::Signing => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build()?,
            )?;
        }
    }
    if matches!(name.role(), Role::Server | Role::Client) {
        let san = SubjectAlternativeName::new()
            .dns("localhost")
            .ip("127.0.0.1")
            .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))?;
        b.append_extension(san)?;
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))?;
    b.append_extension(aki)?;

    let signer = issuer.map_or(&key, |ca| &ca.key);
    b.sign(signer, MessageDigest::sha256())?;
    Ok(Issued {
        cert: b.build(),
        key,
    })
}

fn write_issued(layout: &PkiLayout, name: CertName, issued: &Issued) -> Result<(), PkiError> {
    let (cert_pem, key_pem) = issued.to_pem(name)?;
    replace_file(&layout.key(name), &key_pem, true)?;
    replace_file(&layout.cert(name), &cert_pem, false)
}

fn write_gitignore(dir: &Path) -> Result<(), PkiError> {
    let path = dir.join(".gitignore");
    if path.exists() {
        return Ok(());
    }
    replace_file(
        &path,
        b"# Development PKI: keys are never committed.\n*.key\n.*.tmp\n",
        false,
    )
}

/// Write `bytes` to `path` through a temporary sibling and a rename.
fn replace_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), PkiError> {
    let tmp = write_temp(path, bytes, secret)?;
    rename_into_place(&tmp, path)
}

/// Create `path` (which must not exist) with `bytes`.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = open_new(path, secret).map_err(io_err)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err)
}

fn open_new(path: &Path, secret: bool) -> io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The mode is set at creation, so a key is never readable by others, not even for an instant.
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    opts.open(path)
}

/// Write `bytes` into a fresh temporary file beside `target`, returning its path.
fn write_temp(target: &Path, bytes: &[u8], secret: bool) -> Result<PathBuf, PkiError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    write_file(&tmp, bytes, secret).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })?;
    Ok(tmp)
}

fn rename_into_place(tmp: &Path, target: &Path) -> Result<(), PkiError> {
    fs::rename(tmp, target).map_err(|source| {
        let _ = fs::remove_file(tmp);
        PkiError::Io {
            path: target.to_path_buf(),
            source,
        }
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_cert(path: &Path) -> Result<X509, PkiError> {
    X509::from_pem(&read_file(path)?).map_err(|source| PkiError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

fn read_key(path: &Path) -> Result<PKey<Private>, PkiError> {
    PKey::private_key_from_pem(&read_file(path)?).map_err(|source| PkiError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

fn key_matches(cert: &X509Ref, key: &PKey<Private>) -> bool {
    cert.public_key().is_ok_and(|public| public.public_eq(key))
}

/// Verify `cert`'s signature chain against `ca` alone, ignoring dates (they are checked and reported on
/// their own, so an expired certificate is not also called "untrusted").
fn verify_chain(cert: &X509Ref, ca: &X509) -> Result<(), String> {
    let run = || -> Result<Result<(), String>, ErrorStack> {
        let mut store = X509StoreBuilder::new()?;
        store.add_cert(ca.clone())?;
        store.set_flags(X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::X509_STRICT)?;
        let store = store.build();
        let chain = Stack::new()?;
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, cert, &chain, |c| {
            Ok(if c.verify_cert()? {
                Ok(())
            } else {
                Err(c.error().error_string().to_owned())
            })
        })
    };
    run().unwrap_or_else(|e| Err(e.to_string()))
}

/// The subject CN of a DER certificate (e.g. a verified TLS peer's), if it parses and has one.
pub fn subject_cn_of_der(der: &[u8]) -> Option<String> {
    let cert = X509::from_der(der).ok()?;
    Some(common_name(cert.subject_name())).filter(|cn| !cn.is_empty())
}

fn common_name(name: &X509NameRef) -> String {
    name.entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .unwrap_or_default()
}

fn validity_of(cert: &X509Ref, path: &Path) -> Result<(SystemTime, SystemTime), PkiError> {
    let parse = |t: &Asn1TimeRef| {
        asn1_unix_seconds(t).map_err(|source| PkiError::Parse {
            path: path.to_path_buf(),
            source,
        })
    };
    Ok((
        system_time(parse(cert.not_before())?),
        system_time(parse(cert.not_after())?),
    ))
}

fn asn1_unix_seconds(t: &Asn1TimeRef) -> Result<i64, ErrorStack> {
    let diff = Asn1Time::from_unix(0)?.diff(t)?;
    Ok(i64::from(diff.days) * SECONDS_PER_DAY + i64::from(diff.secs))
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn system_time(secs: i64) -> SystemTime {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// Whole days from `from` to `to`, rounded towards minus infinity (one second late is day -1).
fn days_between(from: SystemTime, to: SystemTime) -> i64 {
    (unix_seconds(to).saturating_sub(unix_seconds(from))).div_euclid(SECONDS_PER_DAY)
}
