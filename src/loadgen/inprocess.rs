//! A gateway started for a run, so one command measures everything: [`Gateway::start`] on the
//! embedded defaults (or a configuration file) in a fresh directory — SQLite, a new development PKI,
//! in-process mock registries answering from the run's population, workers, the HTTPS API on a free
//! loopback port — and stopped (the directory removed) afterwards.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::gateway::{Gateway, GatewayConfig};
use crate::loadgen::LoadError;
use crate::loadgen::plan::{Auth, InProcess, Remote};
use crate::mock::population::PopulationConfig;
use crate::tls::pki::PkiLayout;

/// A running in-process gateway and how to reach it.
pub struct Started {
    /// The gateway.
    pub gateway: Gateway,
    /// Its URL, key and CA.
    pub remote: Remote,
    /// The population its mock registries answer from (the configuration file's, if one was given).
    pub population: PopulationConfig,
    /// The backlog limit it runs with.
    pub backlog_limit: u64,
    /// A temporary directory to remove when it stops.
    temporary: Option<PathBuf>,
}

impl Started {
    /// Stop the gateway and remove its temporary directory.
    pub async fn stop(self) {
        self.gateway.shutdown().await;
        if let Some(dir) = self.temporary {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Start a gateway as `spec` says, its mocks on `population` (unless a configuration file names
/// one), admitting `backlog` more waiting applications than configured: a pre-filled backlog is
/// the run's own, and must not turn the timed run into 429s.
pub async fn start(
    spec: &InProcess,
    population: PopulationConfig,
    backlog: usize,
) -> Result<Started, LoadError> {
    let setup = |what: &str, e: String| LoadError::Setup(format!("{what}: {e}"));
    let mut config = match &spec.config {
        Some(path) => {
            GatewayConfig::load(Some(path), std::env::vars())
                .map_err(|e| setup("configuration", e.to_string()))?
                .0
        }
        None => {
            let mut c = GatewayConfig {
                mock: population,
                ..GatewayConfig::default()
            };
            c.api.listen = "127.0.0.1:0".parse().expect("a socket address");
            c
        }
    };
    let mut temporary = None;
    let dir = match (&spec.dir, &spec.config) {
        (Some(dir), _) => Some(dir.clone()),
        (None, Some(_)) => None,
        (None, None) => {
            let dir = std::env::temp_dir().join(format!(
                "reggate-loadgen-{}-{}",
                std::process::id(),
                &crate::ids::uuid_v4()[..8]
            ));
            if !spec.keep {
                temporary = Some(dir.clone());
            }
            Some(dir)
        }
    };
    if let Some(dir) = dir {
        config.data = dir.join("data");
        config.certs = dir.join("certs");
    }
    if config.api.keys.is_empty() {
        config.api.keys = vec![crate::ids::uuid_v4().replace('-', "")];
    }
    config.processing.backlog_limit = config
        .processing
        .backlog_limit
        .saturating_add(backlog as u64);
    let key = config.api.keys[0].clone();
    let ca = PkiLayout::new(&config.certs).internal_ca();
    let population = config.mock;
    let backlog_limit = config.processing.backlog_limit;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let gateway = match Gateway::start(config, clock).await {
        Ok(g) => g,
        Err(e) => {
            if let Some(dir) = &temporary {
                let _ = std::fs::remove_dir_all(dir);
            }
            return Err(setup("gateway", e.to_string()));
        }
    };
    // The development certificate names localhost (and 127.0.0.1); the name keeps SNI usable.
    let url = if gateway.tls {
        format!("https://localhost:{}", gateway.api.port())
    } else {
        format!("http://{}", gateway.api)
    };
    Ok(Started {
        gateway,
        remote: Remote {
            url,
            auth: Auth::Bearer(key),
            ca,
        },
        population,
        backlog_limit,
        temporary,
    })
}
