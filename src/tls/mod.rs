//! TLS for reggate: the development PKI (`reggate certs init|status|rotate`) and the rustls configurations
//! every TLS endpoint uses, with certificates that can be rotated without a restart.
//!
//! It sits beside the request flow: `api` serves with [`config::server_config`], `soap` calls the
//! registries with [`config::client_config`], `mock` serves the registries; all of them read the files
//! [`pki`] writes. TLS 1.3 only, client certificates required on every server.
//!
//! - [`pki`]: the two development CAs and their leaves, with expiry/key/chain checks and validated atomic
//!   rotation (OpenSSL does the X.509 work).
//! - [`config`]: rustls server and client configurations from PEM files, and [`config::ReloadableCert`] /
//!   [`config::ReloadableClientCert`] / [`config::ReloadableRoots`], whose material can be swapped
//!   between handshakes.
//! - [`live`]: every certificate of a running gateway, checked before it is swapped in; [`watch`]
//!   reloads them when their files change.

pub mod config;
pub mod live;
pub mod pki;
pub mod watch;

pub use config::{
    ReloadableCert, ReloadableClientCert, TlsError, client_config, client_config_with,
    server_config, server_config_with,
};
pub use pki::{CertName, CertStatus, PkiError, PkiLayout, PkiOptions};

#[cfg(test)]
mod tests;
