//! Certificates live: every certificate and trust anchor a running gateway uses, checked and swapped
//! while it serves — on SIGHUP, on a change of the files ([`crate::tls::watch`]) and through
//! `POST /admin/reload`.
//!
//! A reload reads each role's files once, and only when their bytes changed checks them as a whole —
//! validity at the injected clock's now, the key is the certificate's, key strength, the chain to the
//! role's issuer, and for the API's server certificate every name it served at start — before the very
//! bytes checked are swapped in. A refusal leaves the old material serving and is kept with its reason
//! (log line, `reggate_certificate_reloads_total{outcome="refused"}`, `/admin/certificates`, the
//! endpoint's problem+json). Handshakes after a swap use the new material; connections already open
//! finish on the old.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use serde::Serialize;

use crate::clock::Clock;
use crate::ids::sha256_hex;
use crate::tls::config::{
    LiveServerConfig, ReloadableCert, ReloadableClientCert, ReloadableRoots, TlsError,
};
use crate::tls::pki::{self, Inspected, PemFile};

/// What a certificate is for in the running gateway: the `role` label of metrics and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The API's HTTPS server certificate.
    ApiServer,
    /// The CA of cabinet backends' client certificates.
    ApiClientCa,
    /// The certificate receipts are signed with.
    ReceiptSigning,
    /// The gateway's client certificate towards the registries.
    RegistryClient,
    /// The CA of the registries' server certificates.
    RegistryCa,
    /// The CA of webhook receivers' certificates.
    WebhookCa,
}

impl Role {
    /// The name in reports, metrics and `/admin/reload` answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ApiServer => "api-server",
            Role::ApiClientCa => "api-client-ca",
            Role::ReceiptSigning => "receipt-signing",
            Role::RegistryClient => "registry-client",
            Role::RegistryCa => "registry-ca",
            Role::WebhookCa => "webhook-ca",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The files behind a role.
#[derive(Clone, Debug)]
pub struct Files {
    /// The certificate (a leaf, leaf first) or the anchors.
    pub cert: PathBuf,
    /// The leaf's key; none for anchors.
    pub key: Option<PathBuf>,
    /// The CA a leaf must chain to; none: the chain is not checked (a configured certificate without
    /// a configured issuer).
    pub issuer: Option<PathBuf>,
}

impl Files {
    /// A file of trust anchors.
    pub fn anchors(cert: PathBuf) -> Files {
        Files {
            cert,
            key: None,
            issuer: None,
        }
    }
}

/// Material that takes a certificate and its key (a server or client certificate, the receipt
/// signer): checked as a whole first, so `take` refuses only what the checks here do not cover.
pub trait TakesPair: Send + Sync {
    /// Use `cert` and `key` from now on, or say why not (the current ones stay).
    fn take(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), String>;
}

/// Material that takes trust anchors (a client's roots, a server's client CA).
pub trait TakesAnchors: Send + Sync {
    /// Use `anchors` from now on, or say why not (the current ones stay).
    fn take(&self, anchors: PemFile<'_>) -> Result<(), String>;
}

/// Where a role's accepted material goes.
pub enum Swap {
    /// A certificate with its key.
    Pair(Arc<dyn TakesPair>),
    /// Trust anchors.
    Anchors(Arc<dyn TakesAnchors>),
}

impl TakesPair for ReloadableCert {
    fn take(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), String> {
        self.reload_pem(cert, key).map_err(|e| e.to_string())
    }
}

impl TakesPair for ReloadableClientCert {
    fn take(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), String> {
        self.reload_pem(cert, key).map_err(|e| e.to_string())
    }
}

impl TakesAnchors for ReloadableRoots {
    fn take(&self, anchors: PemFile<'_>) -> Result<(), String> {
        self.reload_pem(anchors).map_err(|e| e.to_string())
    }
}

/// A server's client CA: rustls' client verifier lends out its hint list, so it cannot sit behind a
/// lock; the whole server configuration is rebuilt around the new anchors instead.
pub struct ClientCa {
    /// The configuration new connections use.
    pub live: Arc<LiveServerConfig>,
    /// Builds a configuration for new anchors (the same certificate resolver, the same rules).
    pub rebuild: RebuildServer,
}

/// A server configuration rebuilt from a new client CA file.
pub type RebuildServer =
    Box<dyn Fn(PemFile<'_>) -> Result<Arc<ServerConfig>, TlsError> + Send + Sync>;

impl TakesAnchors for ClientCa {
    fn take(&self, anchors: PemFile<'_>) -> Result<(), String> {
        self.live
            .set((self.rebuild)(anchors).map_err(|e| e.to_string())?);
        Ok(())
    }
}

/// What one role's reload did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The role.
    pub role: &'static str,
    /// `replaced`, `unchanged` or `refused`.
    pub result: &'static str,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The SHA-256 fingerprint served after it (the first anchor's for anchors).
    pub sha256: String,
}

impl Outcome {
    /// Whether it was refused.
    pub fn refused(&self) -> bool {
        self.result == "refused"
    }
}

/// What a role serves now, as `/admin/certificates` and `reggate certs status --gateway` show it.
#[derive(Clone, Debug, Serialize)]
pub struct Serving {
    /// The role.
    pub role: &'static str,
    /// The certificate file (or anchors file).
    pub file: String,
    /// Subject CN of the certificate (the first anchor's for anchors).
    pub subject: String,
    /// Issuer CN.
    pub issuer: String,
    /// End of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_after: String,
    /// End of validity, Unix seconds.
    pub not_after_unix: i64,
    /// Seconds until then (negative once past).
    pub seconds_left: i64,
    /// `ok`, `expiring` (inside `ops.cert_warn_days`) or `expired`.
    pub state: &'static str,
    /// SHA-256 fingerprint, hex.
    pub sha256: String,
    /// Subject alternative names (DNS and IP).
    pub names: Vec<String>,
    /// Whether the chain to an issuer is checked on reload.
    pub chain_checked: bool,
    /// When it was loaded, Unix seconds.
    pub loaded_unix: i64,
    /// The last refused reload, if any since then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<String>,
}

struct Entry {
    role: Role,
    files: Files,
    /// The names the API's certificate must keep covering (its SANs at start); empty for other roles.
    served_names: Vec<String>,
    swap: Swap,
    state: Mutex<Loaded>,
}

#[derive(Clone)]
struct Loaded {
    /// The leaf, or every anchor.
    certs: Vec<Inspected>,
    /// SHA-256 of the files' bytes: a reload with the same bytes changes nothing.
    digest: String,
    at: SystemTime,
    refusal: Option<String>,
}

/// Every certificate of a running gateway.
pub struct LiveCerts {
    entries: Vec<Entry>,
    clock: Arc<dyn Clock>,
    warn: Duration,
    /// One reload at a time, whatever triggered it.
    reloading: tokio::sync::Mutex<()>,
}

/// The bytes of a role's files, read once.
struct Read {
    cert: Vec<u8>,
    key: Option<Vec<u8>>,
}

impl Read {
    fn of(files: &Files) -> Result<Read, String> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        Ok(Read {
            cert: read(&files.cert)?,
            key: files.key.as_deref().map(read).transpose()?,
        })
    }

    fn digest(&self) -> String {
        let mut all = self.cert.clone();
        all.extend_from_slice(b"\0key\0");
        all.extend_from_slice(self.key.as_deref().unwrap_or_default());
        sha256_hex(&all)
    }
}

impl LiveCerts {
    /// No roles yet; certificates ending within `warn_days` are reported as expiring.
    pub fn new(clock: Arc<dyn Clock>, warn_days: u64) -> LiveCerts {
        LiveCerts {
            entries: Vec::new(),
            clock,
            warn: Duration::from_secs(warn_days.saturating_mul(86_400)),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Take a role that is serving `files` through `swap` already, after the same checks a reload makes:
    /// an error names the file and why (the gateway does not start on it).
    pub fn add(&mut self, role: Role, files: Files, swap: Swap) -> Result<(), String> {
        let read = Read::of(&files)?;
        let certs = check(role, &files, &read, &[], self.clock.now())?;
        let served_names = match role {
            Role::ApiServer => certs.first().map(|c| c.names.clone()).unwrap_or_default(),
            _ => Vec::new(),
        };
        self.entries.push(Entry {
            role,
            files,
            served_names,
            swap,
            state: Mutex::new(Loaded {
                certs,
                digest: read.digest(),
                at: self.clock.now(),
                refusal: None,
            }),
        });
        Ok(())
    }

    /// Reload every role whose files changed; `trigger` (`sighup`, `file-change`, `admin`) goes into
    /// the log and the metric.
    pub async fn reload(&self, trigger: &str) -> Vec<Outcome> {
        let _one = self.reloading.lock().await;
        let outcomes = self
            .entries
            .iter()
            .map(|entry| self.reload_one(entry, trigger))
            .collect();
        self.record_expiry();
        outcomes
    }

    fn reload_one(&self, entry: &Entry, trigger: &str) -> Outcome {
        let role = entry.role.as_str();
        let now = self.clock.now();
        let result = Read::of(&entry.files).and_then(|read| {
            let digest = read.digest();
            if lock(&entry.state).digest == digest {
                return Ok(None);
            }
            let certs = check(entry.role, &entry.files, &read, &entry.served_names, now)?;
            swap(entry, &read).map_err(|e| format!("checked, but not taken: {e}"))?;
            Ok(Some((certs, digest)))
        });
        let mut state = lock(&entry.state);
        let (result, reason) = match result {
            Ok(None) => ("unchanged", None),
            Ok(Some((certs, digest))) => {
                *state = Loaded {
                    certs,
                    digest,
                    at: now,
                    refusal: None,
                };
                tracing::info!(role, trigger, sha256 = %fingerprint(&state), "certificate replaced");
                ("replaced", None)
            }
            Err(reason) => {
                tracing::error!(role, trigger, %reason, "certificate reload refused; the current one stays");
                state.refusal = Some(reason.clone());
                ("refused", Some(reason))
            }
        };
        metrics::counter!("reggate_certificate_reloads_total", "role" => role, "outcome" => result)
            .increment(1);
        Outcome {
            role,
            result,
            reason,
            sha256: fingerprint(&state),
        }
    }

    /// What every role serves now.
    pub fn serving(&self) -> Vec<Serving> {
        let now = self.clock.now();
        self.entries
            .iter()
            .map(|entry| {
                let state = lock(&entry.state).clone();
                let first = state.certs.first();
                // Anchors: the one that ends first decides.
                let not_after = state.certs.iter().map(|c| c.not_after).min().unwrap_or(now);
                let seconds_left = signed_seconds(now, not_after);
                Serving {
                    role: entry.role.as_str(),
                    file: entry.files.cert.display().to_string(),
                    subject: first.map(|c| c.subject_cn.clone()).unwrap_or_default(),
                    issuer: first.map(|c| c.issuer_cn.clone()).unwrap_or_default(),
                    not_after: pki::format_utc(not_after),
                    not_after_unix: signed_seconds(SystemTime::UNIX_EPOCH, not_after),
                    seconds_left,
                    state: self.judge(seconds_left),
                    sha256: fingerprint(&state),
                    names: first.map(|c| c.names.clone()).unwrap_or_default(),
                    chain_checked: entry.files.issuer.is_some() || entry.files.key.is_none(),
                    loaded_unix: signed_seconds(SystemTime::UNIX_EPOCH, state.at),
                    last_refusal: state.refusal,
                }
            })
            .collect()
    }

    fn judge(&self, seconds_left: i64) -> &'static str {
        if seconds_left < 0 {
            "expired"
        } else if (seconds_left as u64) < self.warn.as_secs() {
            "expiring"
        } else {
            "ok"
        }
    }

    /// Every file behind every role (what the file watch looks at).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self
            .entries
            .iter()
            .flat_map(|e| {
                [
                    Some(&e.files.cert),
                    e.files.key.as_ref(),
                    e.files.issuer.as_ref(),
                ]
                .into_iter()
                .flatten()
                .cloned()
            })
            .collect();
        files.sort();
        files.dedup();
        files
    }

    /// Set `reggate_certificate_expiry_seconds{role}` (seconds left when set) and
    /// `reggate_certificate_not_after_seconds{role}` (the end as a Unix time, for alerts that stay
    /// exact between samples); the roles as recorded.
    fn record_expiry(&self) -> Vec<Serving> {
        let serving = self.serving();
        for s in &serving {
            metrics::gauge!("reggate_certificate_expiry_seconds", "role" => s.role)
                .set(s.seconds_left as f64);
            metrics::gauge!("reggate_certificate_not_after_seconds", "role" => s.role)
                .set(s.not_after_unix as f64);
        }
        serving
    }

    /// [`Self::record_expiry`], and a log line for every role that is expiring or expired: what the
    /// periodic check ([`watch_expiry`]) does.
    pub fn report_expiry(&self) {
        for s in self.record_expiry() {
            match s.state {
                "expired" => {
                    tracing::error!(role = s.role, file = %s.file, not_after = %s.not_after,
                    "certificate expired: replace it and reload")
                }
                "expiring" => {
                    tracing::warn!(role = s.role, file = %s.file, not_after = %s.not_after,
                    days_left = s.seconds_left / 86_400, "certificate expires soon")
                }
                _ => {}
            }
        }
    }
}

/// Every hour (and at once): the expiry gauge and warnings, until `stopping`.
pub async fn watch_expiry(certs: Arc<LiveCerts>, mut stopping: tokio::sync::watch::Receiver<bool>) {
    loop {
        certs.report_expiry();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = crate::shutdown::stopped(&mut stopping) => return,
        }
    }
}

/// The checks of a reload, on the bytes read.
fn check(
    role: Role,
    files: &Files,
    read: &Read,
    served: &[String],
    now: SystemTime,
) -> Result<Vec<Inspected>, String> {
    let cert = PemFile {
        path: &files.cert,
        bytes: &read.cert,
    };
    match (&files.key, &read.key) {
        (Some(key_path), Some(key)) => {
            let key = PemFile {
                path: key_path,
                bytes: key,
            };
            pki::inspect_leaf(cert, key, files.issuer.as_deref(), served, now)
                .map(|c| vec![c])
                .map_err(|e| format!("{role}: {e}"))
        }
        _ => pki::inspect_anchors(cert, now).map_err(|e| format!("{role}: {e}")),
    }
}

fn swap(entry: &Entry, read: &Read) -> Result<(), String> {
    let cert = PemFile {
        path: &entry.files.cert,
        bytes: &read.cert,
    };
    match &entry.swap {
        Swap::Pair(target) => {
            let key = PemFile {
                path: entry.files.key.as_deref().ok_or("no key file")?,
                bytes: read.key.as_deref().ok_or("no key file")?,
            };
            target.take(cert, key)
        }
        Swap::Anchors(target) => target.take(cert),
    }
}

fn fingerprint(state: &Loaded) -> String {
    state
        .certs
        .first()
        .map(|c| c.sha256.clone())
        .unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn signed_seconds(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}
