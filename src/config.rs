//! The gateway's configuration: one TOML file (`reggate serve --config reggate.toml`), every key
//! overridable by a `REGGATE_*` environment variable, every key with a default so that no file at all
//! means the embedded defaults (SQLite under `./data`, the development PKI under `./certs`, in-process
//! mock registries on loopback).
//!
//! [`KEYS`] is the one list of keys: the environment overrides are derived from it
//! (`api.listen` → `REGGATE_API_LISTEN`), and tests hold it equal to the structs below and to the
//! README's table, so a key cannot be added without being documented.
//!
//! Precedence: defaults < file < environment. Unknown keys in the file are refused with their name;
//! a value that does not parse is refused naming the key (or the variable it came from).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::listener::Limits;
use crate::contract::Registry;
use crate::mock::population::PopulationConfig;

/// Everything `reggate serve` runs with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Data directory: the SQLite store, the message log, documents, the development API key.
    pub data: PathBuf,
    /// The development PKI directory (created when missing); the default for every certificate below.
    pub certs: PathBuf,
    /// The registry schemas every message is validated against.
    pub schemas: PathBuf,
    /// The registry WSDLs (served by the in-process mocks).
    pub wsdl: PathBuf,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Workers and admission.
    pub processing: ProcessingConfig,
    /// Where applications are kept.
    pub store: StoreConfig,
    /// The registries called.
    pub registries: RegistriesConfig,
    /// The in-process mock registries' population (when `registries.mock`).
    pub mock: PopulationConfig,
    /// The SOAP message log and the process log.
    pub log: LogConfig,
    /// Webhook subscriptions pushed the status-change events.
    pub webhooks: WebhooksConfig,
    /// Certificate watching, expiry warnings, stopping.
    pub ops: OpsConfig,
}

/// What operators tune: certificate reloads and expiry warnings, the stop deadline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Days before a certificate's end at which it is reported (log, metric, readiness "degraded").
    pub cert_warn_days: u64,
    /// Reload certificates when their files change (beside SIGHUP and `POST /admin/reload`).
    pub watch_certs: bool,
    /// How long a stop (SIGTERM, SIGINT) waits for requests and applications in hand, milliseconds.
    pub stop_deadline_ms: u64,
}

impl Default for OpsConfig {
    fn default() -> OpsConfig {
        OpsConfig {
            cert_warn_days: 30,
            watch_certs: true,
            stop_deadline_ms: 10_000,
        }
    }
}

/// The HTTP API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Where it listens.
    pub listen: SocketAddr,
    /// HTTPS (TLS 1.3). Off only for a loopback listener behind a TLS-terminating proxy.
    pub tls: bool,
    /// The server certificate chain (default: the development PKI's `gateway-server`).
    pub tls_cert: Option<PathBuf>,
    /// Its key.
    pub tls_key: Option<PathBuf>,
    /// The CA the server certificate must chain to when replaced (default: the development PKI's
    /// internal CA with the development certificate; none with a configured one: chain not checked).
    pub tls_issuer: Option<PathBuf>,
    /// Client certificates issued by this CA authenticate as `cert:<CN>` (default: the development
    /// PKI's internal CA). Callers without one use a bearer API key.
    pub client_ca: Option<PathBuf>,
    /// Bearer API keys (key ids `configured-0`, `configured-1`, … in that order). None: a development
    /// key is generated once into `<data>/dev-api-key`.
    pub keys: Vec<String>,
    /// Callers with the reviewer role, as journal actors: `key:configured-0`, `cert:<CN>`.
    pub reviewers: Vec<String>,
    /// The certificate receipts are signed with (default: the development PKI's `receipt-signing`).
    pub receipt_cert: Option<PathBuf>,
    /// Its key.
    pub receipt_key: Option<PathBuf>,
    /// The CA the receipt certificate must chain to (as `api.tls_issuer`).
    pub receipt_issuer: Option<PathBuf>,
    /// Open connections at most; beyond it new ones are closed at once
    /// ([`crate::api::listener::Limits`] says why each default is what it is).
    pub max_connections: usize,
    /// A TLS handshake's bound, milliseconds.
    pub handshake_timeout_ms: u64,
    /// A request head's bound from its first byte, milliseconds.
    pub header_timeout_ms: u64,
    /// A connection with nothing in flight is closed after this long, milliseconds.
    pub idle_timeout_ms: u64,
    /// The longest a request body may pause (or a response go unread), milliseconds.
    pub body_timeout_ms: u64,
    /// The slowest average a request body may arrive at, bytes per second (0: no rate).
    pub body_min_rate: u64,
    /// HTTP/2 requests in flight on one connection.
    pub h2_max_streams: u32,
}

/// Workers and admission control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessingConfig {
    /// Applications processed at once in this process (each waits on the registries as a task).
    pub concurrency: usize,
    /// How long a claim holds before another worker may take the application over. The worker
    /// renews it every quarter of it while it processes, so this is how soon the applications of
    /// a process that was killed come free.
    pub lease_seconds: u64,
    /// Applications waiting beyond which submissions get 429 with Retry-After.
    pub backlog_limit: u64,
}

/// Where applications are kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Empty: SQLite at `<data>/reggate.sqlite`. Otherwise a PostgreSQL connection string
    /// (`postgres://…` or `host=… dbname=…`); several gateways may share the database.
    pub url: String,
    /// PostgreSQL schema the tables live in (created when missing); empty: the connection's default.
    pub schema: String,
}

/// The registries called.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistriesConfig {
    /// Start mock registries in-process and call those; false: call the endpoints below.
    pub mock: bool,
    /// CA the registries' server certificates are checked against (default: the development PKI's).
    pub ca: Option<PathBuf>,
    /// The gateway's client certificate towards the registries (default: the development PKI's).
    pub client_cert: Option<PathBuf>,
    /// Its key.
    pub client_key: Option<PathBuf>,
    /// The CA the client certificate must chain to when replaced (as `api.tls_issuer`; default with the
    /// development certificate: the development registry CA).
    pub client_issuer: Option<PathBuf>,
    /// One attempt's bound, milliseconds.
    pub attempt_timeout_ms: u64,
    /// A whole call's bound with its retries, milliseconds.
    pub call_deadline_ms: u64,
    /// Calls in flight per registry.
    pub max_in_flight: usize,
    /// A retry-safe attempt unanswered this long gets a hedge beside it, milliseconds (0: never).
    pub hedge_after_ms: u64,
    /// The SNILS registry.
    pub snils: Option<EndpointConfig>,
    /// The INN registry.
    pub inn: Option<EndpointConfig>,
    /// The children's registry.
    pub children: Option<EndpointConfig>,
    /// The Ministry of Labour's benefits registry.
    pub labour: Option<EndpointConfig>,
}

/// One registry's addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The SOAP endpoint (`https://…`).
    pub url: String,
    /// Its token endpoint.
    pub token_url: String,
}

/// The SOAP message log and the process log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Days entries are kept.
    pub retention_days: u64,
    /// `masked` (personal values masked), `full` (synthetic test data only) or `omitted`.
    pub bodies: String,
    /// The process log's level on stderr: `info`, or `RUST_LOG`-style directives
    /// (`info,reggate::http=warn`); `RUST_LOG`, when set, wins ([`crate::logging`]).
    pub level: String,
}

/// Webhooks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// The HMAC secret shared with the receivers (required when there are subscriptions).
    pub secret: String,
    /// Subscription name → URL events are POSTed to.
    pub subscriptions: BTreeMap<String, String>,
    /// CA `https://` receivers' certificates are checked against (default: the development PKI's
    /// internal CA).
    pub ca: Option<PathBuf>,
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            data: PathBuf::from("data"),
            certs: PathBuf::from("certs"),
            schemas: PathBuf::from("schemas"),
            wsdl: PathBuf::from("wsdl"),
            api: ApiConfig::default(),
            processing: ProcessingConfig::default(),
            store: StoreConfig::default(),
            registries: RegistriesConfig::default(),
            mock: PopulationConfig::default(),
            log: LogConfig::default(),
            webhooks: WebhooksConfig::default(),
            ops: OpsConfig::default(),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        let limits = Limits::default();
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: true,
            tls_cert: None,
            tls_key: None,
            tls_issuer: None,
            client_ca: None,
            keys: Vec::new(),
            reviewers: Vec::new(),
            receipt_cert: None,
            receipt_key: None,
            receipt_issuer: None,
            max_connections: limits.max_connections,
            handshake_timeout_ms: millis(limits.handshake),
            header_timeout_ms: millis(limits.header),
            idle_timeout_ms: millis(limits.idle),
            body_timeout_ms: millis(limits.body),
            body_min_rate: limits.body_min_rate,
            h2_max_streams: limits.h2_max_streams,
        }
    }
}

impl ApiConfig {
    /// The bounds of the API's connections.
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            handshake: Duration::from_millis(self.handshake_timeout_ms),
            header: Duration::from_millis(self.header_timeout_ms),
            idle: Duration::from_millis(self.idle_timeout_ms),
            body: Duration::from_millis(self.body_timeout_ms),
            body_min_rate: self.body_min_rate,
            h2_max_streams: self.h2_max_streams,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for ProcessingConfig {
    fn default() -> ProcessingConfig {
        ProcessingConfig {
            concurrency: 256,
            lease_seconds: 10,
            backlog_limit: 100_000,
        }
    }
}

impl Default for RegistriesConfig {
    fn default() -> RegistriesConfig {
        RegistriesConfig {
            mock: true,
            ca: None,
            client_cert: None,
            client_key: None,
            client_issuer: None,
            attempt_timeout_ms: 10_000,
            call_deadline_ms: 30_000,
            // Hung calls hold their permits until hedged or timed out: 64 starved the other calls
            // to a registry that left a fifth of its calls hanging (issue 15: 44% -> 99% of the
            // fault-free decision rate at 256).
            max_in_flight: 256,
            hedge_after_ms: 500,
            snils: None,
            inn: None,
            children: None,
            labour: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            retention_days: 30,
            bodies: "masked".to_string(),
            level: crate::logging::DEFAULT_LEVEL.to_string(),
        }
    }
}

impl RegistriesConfig {
    /// A registry's configured addresses.
    pub fn endpoint(&self, registry: Registry) -> Option<&EndpointConfig> {
        match registry {
            Registry::Snils => self.snils.as_ref(),
            Registry::Inn => self.inn.as_ref(),
            Registry::Children => self.children.as_ref(),
            Registry::Labour => self.labour.as_ref(),
        }
    }
}

/// How an environment variable's text becomes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Taken as it is.
    Text,
    /// A non-negative integer.
    Integer,
    /// `true` or `false`.
    Bool,
    /// Comma-separated.
    List,
    /// Comma-separated `name=value` pairs.
    Map,
}

/// One configuration key: its dotted path and how its environment value parses. What it is for is
/// said once, in the README's table (a test holds the two together).
#[derive(Clone, Copy, Debug)]
pub struct Key {
    /// Dotted path in the TOML file.
    pub path: &'static str,
    /// The environment value's form.
    pub kind: Kind,
}

impl Key {
    /// The environment variable that overrides it: `api.listen` → `REGGATE_API_LISTEN`.
    pub fn env(&self) -> String {
        format!("REGGATE_{}", self.path.replace('.', "_").to_uppercase())
    }
}

const fn key(path: &'static str, kind: Kind) -> Key {
    Key { path, kind }
}

/// Every key, in README order.
pub const KEYS: &[Key] = &[
    key("data", Kind::Text),
    key("certs", Kind::Text),
    key("schemas", Kind::Text),
    key("wsdl", Kind::Text),
    key("api.listen", Kind::Text),
    key("api.tls", Kind::Bool),
    key("api.tls_cert", Kind::Text),
    key("api.tls_key", Kind::Text),
    key("api.tls_issuer", Kind::Text),
    key("api.client_ca", Kind::Text),
    key("api.keys", Kind::List),
    key("api.reviewers", Kind::List),
    key("api.receipt_cert", Kind::Text),
    key("api.receipt_key", Kind::Text),
    key("api.receipt_issuer", Kind::Text),
    key("api.max_connections", Kind::Integer),
    key("api.handshake_timeout_ms", Kind::Integer),
    key("api.header_timeout_ms", Kind::Integer),
    key("api.idle_timeout_ms", Kind::Integer),
    key("api.body_timeout_ms", Kind::Integer),
    key("api.body_min_rate", Kind::Integer),
    key("api.h2_max_streams", Kind::Integer),
    key("processing.concurrency", Kind::Integer),
    key("processing.lease_seconds", Kind::Integer),
    key("processing.backlog_limit", Kind::Integer),
    key("store.url", Kind::Text),
    key("store.schema", Kind::Text),
    key("registries.mock", Kind::Bool),
    key("registries.ca", Kind::Text),
    key("registries.client_cert", Kind::Text),
    key("registries.client_key", Kind::Text),
    key("registries.client_issuer", Kind::Text),
    key("registries.attempt_timeout_ms", Kind::Integer),
    key("registries.call_deadline_ms", Kind::Integer),
    key("registries.max_in_flight", Kind::Integer),
    key("registries.hedge_after_ms", Kind::Integer),
    key("registries.snils.url", Kind::Text),
    key("registries.snils.token_url", Kind::Text),
    key("registries.inn.url", Kind::Text),
    key("registries.inn.token_url", Kind::Text),
    key("registries.children.url", Kind::Text),
    key("registries.children.token_url", Kind::Text),
    key("registries.labour.url", Kind::Text),
    key("registries.labour.token_url", Kind::Text),
    key("mock.people", Kind::Integer),
    key("mock.seed", Kind::Integer),
    key("log.retention_days", Kind::Integer),
    key("log.bodies", Kind::Text),
    key("log.level", Kind::Text),
    key("webhooks.secret", Kind::Text),
    key("webhooks.subscriptions", Kind::Map),
    key("webhooks.ca", Kind::Text),
    key("ops.cert_warn_days", Kind::Integer),
    key("ops.watch_certs", Kind::Bool),
    key("ops.stop_deadline_ms", Kind::Integer),
];

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl GatewayConfig {
    /// The embedded defaults with everything under `dir`, the API on a free loopback port and `key` as its
    /// one API key: an in-process gateway of its own, as tests start them.
    pub fn scratch(dir: &Path, population: PopulationConfig, key: &str) -> GatewayConfig {
        let mut config = GatewayConfig {
            data: dir.join("data"),
            certs: dir.join("certs"),
            mock: population,
            ..GatewayConfig::default()
        };
        config.api.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.api.keys = vec![key.to_string()];
        config
    }

    /// The configuration from `file` (none: defaults only) with the `REGGATE_*` variables of `env`
    /// applied on top, checked.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(GatewayConfig, Vec<String>), ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        let warnings = apply_env(&mut table, env)?;
        let config: GatewayConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    let origin =
                        file.map_or("configuration".to_string(), |p| p.display().to_string());
                    ConfigError(format!("{origin}: {}", e.message().trim()))
                })?;
        config.check()?;
        Ok((config, warnings))
    }

    /// The rules serde cannot say.
    pub fn check(&self) -> Result<(), ConfigError> {
        let refuse = |key: &str, why: String| Err(ConfigError(format!("{key}: {why}")));
        if !self.registries.mock {
            for r in Registry::ALL {
                if self.registries.endpoint(r).is_none() {
                    return refuse(
                        &format!("registries.{}", r.name()),
                        "url and token_url are required when registries.mock is false".into(),
                    );
                }
            }
        }
        for r in Registry::ALL {
            if let Some(e) = self.registries.endpoint(r) {
                for (name, url) in [("url", &e.url), ("token_url", &e.token_url)] {
                    if url.parse::<hyper::Uri>().is_err() || !url.starts_with("https://") {
                        return refuse(
                            &format!("registries.{}.{name}", r.name()),
                            format!("'{url}' is not an https:// URL"),
                        );
                    }
                }
            }
        }
        if !["masked", "full", "omitted"].contains(&self.log.bodies.as_str()) {
            return refuse(
                "log.bodies",
                format!("'{}': expected masked, full or omitted", self.log.bodies),
            );
        }
        if let Err(e) = crate::logging::level_filter(&self.log.level) {
            return refuse("log.level", e);
        }
        if !self.store.url.is_empty()
            && let Err(e) = self.store.url.parse::<tokio_postgres::Config>()
        {
            return refuse(
                "store.url",
                format!("not a PostgreSQL connection string ({e}); empty means SQLite"),
            );
        }
        if !self.webhooks.subscriptions.is_empty() && self.webhooks.secret.is_empty() {
            return refuse(
                "webhooks.secret",
                "required when there are webhook subscriptions".into(),
            );
        }
        for (name, url) in &self.webhooks.subscriptions {
            let web = url.starts_with("http://") || url.starts_with("https://");
            if url.parse::<hyper::Uri>().is_err() || !web {
                return refuse(
                    &format!("webhooks.subscriptions.{name}"),
                    format!("'{url}' is not an http:// or https:// URL"),
                );
            }
        }
        if self.processing.concurrency == 0 {
            return refuse("processing.concurrency", "at least 1".into());
        }
        // A zero bound would close every connection at once (or, for the cap, refuse them all).
        let api = &self.api;
        for (key, value) in [
            ("api.max_connections", api.max_connections as u64),
            ("api.handshake_timeout_ms", api.handshake_timeout_ms),
            ("api.header_timeout_ms", api.header_timeout_ms),
            ("api.idle_timeout_ms", api.idle_timeout_ms),
            ("api.body_timeout_ms", api.body_timeout_ms),
            ("api.h2_max_streams", u64::from(api.h2_max_streams)),
        ] {
            if value == 0 {
                return refuse(key, "at least 1".into());
            }
        }
        // A certificate comes with its key or not at all (one alone would pair with a dev file).
        let pairs = [
            ("api.tls", &self.api.tls_cert, &self.api.tls_key),
            ("api.receipt", &self.api.receipt_cert, &self.api.receipt_key),
            (
                "registries.client",
                &self.registries.client_cert,
                &self.registries.client_key,
            ),
        ];
        for (prefix, cert, key) in pairs {
            if cert.is_some() != key.is_some() {
                return refuse(
                    &format!("{prefix}_key"),
                    format!("{prefix}_cert and {prefix}_key go together"),
                );
            }
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets replaced by `***`: what `serve --check` prints.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        for k in &mut shown.api.keys {
            *k = "***".to_string();
        }
        let has_password = |url: &str| {
            url.parse::<tokio_postgres::Config>()
                .is_ok_and(|c| c.get_password().is_some())
        };
        if has_password(&shown.store.url) {
            shown.store.url = "*** (has a password)".to_string();
        }
        if !shown.webhooks.secret.is_empty() {
            shown.webhooks.secret = "***".to_string();
        }
        toml::to_string(&shown).unwrap_or_else(|e| format!("# cannot show: {e}\n"))
    }
}

/// Set every key whose variable is in `env`; warnings name `REGGATE_*` variables that are no key.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, ConfigError> {
    let mut warnings = Vec::new();
    for (name, text) in env {
        if !name.starts_with("REGGATE_") {
            continue;
        }
        let Some(key) = KEYS.iter().find(|k| k.env() == name) else {
            if !name.starts_with("REGGATE_TEST_") && !name.starts_with("REGGATE_DIFF_") {
                warnings.push(format!("{name} is not a configuration key; ignored"));
            }
            continue;
        };
        let value = env_value(key, &text)?;
        let mut parts: Vec<&str> = key.path.split('.').collect();
        let last = parts.pop().expect("a key has a name");
        let mut at = &mut *table;
        for part in parts {
            let entry = at
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = entry.as_table_mut().ok_or_else(|| {
                ConfigError(format!("{name}: '{part}' in the file is not a table"))
            })?;
        }
        at.insert(last.to_string(), value);
    }
    Ok(warnings)
}

fn env_value(key: &Key, text: &str) -> Result<toml::Value, ConfigError> {
    let items = || {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let bad = |what: &str| ConfigError(format!("{}: '{text}' is not {what}", key.env()));
    Ok(match key.kind {
        Kind::Text => toml::Value::String(text.to_string()),
        Kind::Integer => toml::Value::Integer(
            text.trim()
                .parse::<u32>()
                .map(i64::from)
                .map_err(|_| bad("a non-negative integer"))?,
        ),
        Kind::Bool => toml::Value::Boolean(match text.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("true or false")),
        }),
        Kind::List => toml::Value::Array(items().map(toml::Value::String).collect()),
        Kind::Map => {
            let mut map = toml::Table::new();
            for item in items() {
                let (k, v) = item
                    .split_once('=')
                    .ok_or_else(|| bad("name=value pairs"))?;
                map.insert(k.trim().to_string(), toml::Value::String(v.trim().into()));
            }
            toml::Value::Table(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(name: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("reggate-config-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).expect("write");
        path
    }

    /// Every leaf key of a TOML table, dotted.
    fn leaves(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in table {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) if path != "webhooks.subscriptions" => leaves(&path, t, out),
                _ => out.push(path),
            }
        }
    }

    #[test]
    fn keys_are_exactly_the_fields_of_the_config() {
        let mut full = GatewayConfig::default();
        let endpoint = EndpointConfig {
            url: "https://r.example/s".into(),
            token_url: "https://r.example/t".into(),
        };
        full.registries.snils = Some(endpoint.clone());
        full.registries.inn = Some(endpoint.clone());
        full.registries.children = Some(endpoint.clone());
        full.registries.labour = Some(endpoint);
        full.api.tls_cert = Some("c".into());
        full.api.tls_key = Some("k".into());
        full.api.client_ca = Some("ca".into());
        full.api.receipt_cert = Some("c".into());
        full.api.receipt_key = Some("k".into());
        full.registries.ca = Some("ca".into());
        full.registries.client_cert = Some("c".into());
        full.registries.client_key = Some("k".into());
        full.registries.client_issuer = Some("ca".into());
        full.api.tls_issuer = Some("ca".into());
        full.api.receipt_issuer = Some("ca".into());
        full.webhooks.ca = Some("ca".into());
        let table: toml::Table =
            toml::from_str(&toml::to_string(&full).expect("serialize")).expect("parse back");
        let mut fields = Vec::new();
        leaves("", &table, &mut fields);
        fields.sort();
        let mut keys: Vec<String> = KEYS.iter().map(|k| k.path.to_string()).collect();
        keys.sort();
        assert_eq!(fields, keys);
    }

    #[test]
    fn no_file_is_the_embedded_defaults() {
        let (config, warnings) = GatewayConfig::load(None, env(&[])).expect("defaults");
        assert_eq!(config, GatewayConfig::default());
        assert!(warnings.is_empty());
        assert!(config.registries.mock && config.api.tls && config.store.url.is_empty());
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let path = file(
            "override",
            "data = \"/var/lib/reggate\"\n[api]\nlisten = \"127.0.0.1:9000\"\nkeys = [\"from-file\"]\n[processing]\nconcurrency = 3\n",
        );
        let (config, warnings) = GatewayConfig::load(
            Some(&path),
            env(&[
                ("REGGATE_API_KEYS", "a, b"),
                ("REGGATE_PROCESSING_BACKLOG_LIMIT", "50"),
                ("REGGATE_API_TLS", "false"),
                ("REGGATE_STORE_URL", "postgres://u:pw-secret@127.0.0.1/test"),
                ("REGGATE_WEBHOOKS_SECRET", "s3cret"),
                ("REGGATE_LOG_LEVEL", "debug,h2=warn"),
                (
                    "REGGATE_WEBHOOKS_SUBSCRIPTIONS",
                    "cabinet=http://127.0.0.1:9/e",
                ),
                ("REGGATE_NO_SUCH_KEY", "1"),
                ("REGGATE_TEST_PG", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .expect("loads");
        assert_eq!(config.data, PathBuf::from("/var/lib/reggate"));
        assert_eq!(config.api.listen.port(), 9000);
        assert_eq!(config.api.keys, ["a", "b"]);
        assert_eq!(config.processing.concurrency, 3);
        assert_eq!(config.processing.backlog_limit, 50);
        assert!(!config.api.tls);
        assert_eq!(config.log.level, "debug,h2=warn");
        assert_eq!(
            config.webhooks.subscriptions["cabinet"],
            "http://127.0.0.1:9/e"
        );
        assert_eq!(
            warnings,
            ["REGGATE_NO_SUCH_KEY is not a configuration key; ignored"]
        );
        let shown = config.to_masked_toml();
        assert!(
            !shown.contains("s3cret") && !shown.contains("\"a\""),
            "{shown}"
        );
    }

    #[test]
    fn mistakes_are_refused_naming_the_key() {
        let refused = |text: &str, vars: &[(&str, &str)]| {
            let path = file("mistake", text);
            GatewayConfig::load(Some(&path), env(vars))
                .expect_err(text)
                .to_string()
        };
        let e = refused("[api]\nlisen = \"127.0.0.1:1\"\n", &[]);
        assert!(e.contains("lisen"), "{e}");
        let e = refused("[api]\nlisten = \"localhost\"\n", &[]);
        assert!(e.contains("socket address"), "{e}");
        let e = refused("[registries]\nmock = false\n", &[]);
        assert!(e.starts_with("registries.snils:"), "{e}");
        let e = refused(
            "[registries.inn]\nurl = \"http://x/\"\ntoken_url = \"https://x/t\"\n",
            &[],
        );
        assert!(e.starts_with("registries.inn.url:"), "{e}");
        let e = refused("", &[("REGGATE_PROCESSING_CONCURRENCY", "many")]);
        assert!(e.contains("REGGATE_PROCESSING_CONCURRENCY"), "{e}");
        let e = refused(
            "[webhooks]\nsecret = \"s\"\n[webhooks.subscriptions]\nc = \"ftp://x/\"\n",
            &[],
        );
        assert!(e.starts_with("webhooks.subscriptions.c:"), "{e}");
        let e = refused("[webhooks.subscriptions]\nc = \"http://x/\"\n", &[]);
        assert!(e.starts_with("webhooks.secret:"), "{e}");
        let e = refused("[store]\nurl = \"host=x nonsense\"\n", &[]);
        assert!(e.starts_with("store.url:"), "{e}");
        let e = refused("[log]\nbodies = \"all\"\n", &[]);
        assert!(e.starts_with("log.bodies:"), "{e}");
        let e = refused("[log]\nlevel = \"inof\"\n", &[]);
        assert!(e.starts_with("log.level:"), "{e}");
        let e = refused("[api]\nidle_timeout_ms = 0\n", &[]);
        assert!(e.starts_with("api.idle_timeout_ms:"), "{e}");
        let e = refused("", &[("REGGATE_API_MAX_CONNECTIONS", "0")]);
        assert!(e.starts_with("api.max_connections:"), "{e}");
    }

    #[test]
    fn the_readme_documents_every_key() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README");
        for k in KEYS {
            assert!(
                readme.contains(&format!("`{}`", k.path)),
                "README lacks `{}`",
                k.path
            );
            assert!(readme.contains(&k.env()), "README lacks {}", k.env());
        }
    }
}
