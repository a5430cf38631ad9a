//! `reggate serve`: the gateway on embedded defaults — SQLite under `--data`, the development PKI
//! under `--certs` (created when missing), in-process mock registries on loopback, workers, and the
//! HTTP API on `--listen`. Without `--api-key` (or `REGGATE_API_KEYS`, comma-separated), a development
//! key is generated once into `<data>/dev-api-key`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::gateway::{Gateway, GatewayConfig};
use crate::mock::population::PopulationConfig;
use crate::mock::server::ServedFiles;

/// Arguments of `reggate serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the API listens (plain HTTP: keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory (store, message log, dev API key).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// The development PKI directory (created if missing).
    #[arg(long, default_value = "certs")]
    pub certs: PathBuf,
    /// The registry schemas.
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    /// The registry WSDLs.
    #[arg(long, default_value = "wsdl")]
    pub wsdl: PathBuf,
    /// An API key callers may present as `Authorization: Bearer KEY` (repeatable).
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "REGGATE_API_KEYS",
        value_delimiter = ','
    )]
    pub api_keys: Vec<String>,
    /// Workers processing applications.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Applications waiting beyond which submissions get 429 with Retry-After.
    #[arg(long, default_value_t = 100_000)]
    pub backlog_limit: u64,
    /// People in the in-process mock registries' population.
    #[arg(long, default_value_t = 10_000)]
    pub people: usize,
    /// Seed of that population.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// A webhook subscription, `NAME=http://host:port/path` (repeatable): status-change events are
    /// POSTed there, signed with `--webhook-secret`.
    #[arg(long = "webhook", value_name = "NAME=URL")]
    pub webhooks: Vec<String>,
    /// The HMAC secret of the webhooks.
    #[arg(long, env = "REGGATE_WEBHOOK_SECRET", default_value = "")]
    pub webhook_secret: String,
}

/// Run until Ctrl-C; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let mut webhooks = Vec::new();
    for w in &args.webhooks {
        let Some((name, url)) = w.split_once('=') else {
            eprintln!("serve: --webhook {w}: expected NAME=URL");
            return 2;
        };
        if args.webhook_secret.is_empty() {
            eprintln!("serve: --webhook needs --webhook-secret (or REGGATE_WEBHOOK_SECRET)");
            return 2;
        }
        webhooks.push(crate::webhooks::Subscription {
            name: name.to_string(),
            url: url.to_string(),
            secret: args.webhook_secret.clone(),
        });
    }
    let config = GatewayConfig {
        listen: args.listen,
        data: args.data.clone(),
        certs: args.certs.clone(),
        files: ServedFiles {
            wsdl: args.wsdl.clone(),
            schemas: args.schemas.clone(),
        },
        api_keys: args.api_keys.clone(),
        workers: args.workers,
        backlog_limit: args.backlog_limit,
        population: PopulationConfig {
            seed: args.seed,
            people: args.people,
        },
        webhooks,
        ..GatewayConfig::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("serve: runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let gateway = match Gateway::start(config, clock).await {
            Ok(g) => g,
            Err(e) => {
                eprintln!("serve: {e}");
                return 2;
            }
        };
        eprintln!(
            "reggate API on http://{}/v1 (health: /v1/health)",
            gateway.api
        );
        if let Some(path) = &gateway.api_key_file {
            eprintln!(
                "development API key in {} (Authorization: Bearer <key>)",
                path.display()
            );
        }
        eprintln!(
            "in-process mock registries: {}",
            crate::registries::Registry::ALL
                .iter()
                .map(|r| gateway.mock.url(*r))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("serve: stopping");
        gateway.shutdown().await;
        0
    })
}
