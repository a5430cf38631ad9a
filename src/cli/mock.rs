//! `reggate mock`: the four mock registries, each on its own mTLS listener (`--listen` names the SNILS
//! registry's; INN, children and labour take the next three ports) with its token endpoint, answering
//! from the synthetic population; a plain-HTTP admin endpoint (`--admin`) to change faults and read
//! counters; or, with `--export-people N`, N sample people as JSON (with children, statuses,
//! assignments and marked invalid variants). The population is generated from `--seed` or loaded from
//! `--data` (e.g. `fixtures/registry-data/`). The development PKI is created under `--certs` if missing.
//! `--faults FILE` sets a fault plan (TOML, see [`crate::mock::faults`]) from the start.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::contract::Registry;
use crate::mock::faults::Plan;
use crate::mock::population::{Population, PopulationConfig};
use crate::mock::server::{Bind, DEFAULT_PORT, MockServer};
use crate::mock::state::{MockState, ServedFiles};
use crate::mock::token::TokenStore;
use crate::tls::{self, PkiLayout};
use crate::xml::schema::Schema;

/// Arguments of `reggate mock`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print this many sample people as JSON and exit.
    #[arg(long, value_name = "N")]
    pub export_people: Option<usize>,
    /// Seed of the synthetic population (the same seed gives the same people on every machine).
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Size of the synthetic population.
    #[arg(long, default_value_t = 10_000)]
    pub people: usize,
    /// Load the population from this directory instead of generating it.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The SNILS registry's address (HTTPS, client certificate of the registry-side CA required);
    /// INN, children and labour listen on the next three ports. Port 0: any free ports.
    #[arg(long, default_value_t = std::net::SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    pub listen: std::net::SocketAddr,
    /// The admin endpoint (plain HTTP: keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:8440")]
    pub admin: std::net::SocketAddr,
    /// A fault plan (TOML) in force from the start.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// The development PKI directory (created if missing).
    #[arg(long, default_value = "certs")]
    pub certs: PathBuf,
    /// The registry schemas.
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    /// The WSDLs served at `?wsdl`.
    #[arg(long, default_value = "wsdl")]
    pub wsdl: PathBuf,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 300)]
    pub token_lifetime: u64,
    /// Requests per second each registry accepts; beyond it, 429 with Retry-After. Unlimited if absent.
    #[arg(long, value_name = "RPS")]
    pub rate_limit: Option<f64>,
    /// The log's level on stderr (JSON lines unless stderr is a terminal), or `RUST_LOG`-style
    /// directives; `RUST_LOG`, when set, wins.
    #[arg(long, env = "REGGATE_LOG_LEVEL", default_value = crate::logging::DEFAULT_LEVEL,
          value_parser = log_level)]
    pub log_level: String,
}

fn log_level(text: &str) -> Result<String, String> {
    crate::logging::level_filter(text).map(|_| text.to_string())
}

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let population = match &args.data {
        Some(dir) => match Population::load(dir) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("mock: cannot load {}: {e}", dir.display());
                return 2;
            }
        },
        None => Population::generate(&PopulationConfig {
            seed: args.seed,
            people: args.people,
        }),
    };
    match args.export_people {
        Some(n) => {
            println!("{}", population.export_people(n));
            0
        }
        None => serve_registries(args, population),
    }
}

/// Run the registries until Ctrl-C; returns the exit code.
fn serve_registries(args: &Args, population: Population) -> u8 {
    if let Err(e) = crate::logging::init(&args.log_level) {
        eprintln!("mock: --log-level: {e}");
        return 2;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let pki = match tls::pki::ensure(&args.certs, clock.now()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mock: development PKI: {e}");
            return 2;
        }
    };
    let schema = match Schema::load(std::slice::from_ref(&args.schemas)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mock: schemas: {e}");
            return 2;
        }
    };
    let tls = match tls::server_config(
        &pki.registry_server(),
        &pki.registry_server_key(),
        &pki.registry_ca(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mock: TLS: {e}");
            return 2;
        }
    };
    let tokens = TokenStore::new(std::time::Duration::from_secs(args.token_lifetime));
    let state = Arc::new(
        MockState::new(
            schema,
            population,
            tokens,
            clock,
            ServedFiles {
                wsdl: args.wsdl.clone(),
                schemas: args.schemas.clone(),
            },
        )
        .with_rate_limit(args.rate_limit),
    );
    if let Some(path) = &args.faults {
        let plan = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| text.parse::<Plan>())
            .and_then(|plan| state.faults.set_plan(&plan));
        if let Err(e) = plan {
            eprintln!("mock: fault plan {}: {e}", path.display());
            return 2;
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mock: runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let bind = Bind {
            host: args.listen.ip(),
            base_port: args.listen.port(),
            admin: Some(args.admin),
        };
        let server = match MockServer::start(state, tls, &bind).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mock: cannot listen: {e}");
                return 2;
            }
        };
        report_ready(&server, &pki);
        server
            .run_until(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        0
    })
}

fn report_ready(server: &MockServer, pki: &PkiLayout) {
    for registry in Registry::ALL {
        eprintln!(
            "mock {registry:<8} {}  (token: {}, WSDL: {}?wsdl)",
            server.url(registry),
            server.token_url(registry),
            server.url(registry)
        );
    }
    if let Some(admin) = server.admin_addr() {
        eprintln!("mock admin    http://{admin}/admin/{{health,faults,counters}}");
    }
    eprintln!(
        "clients need a certificate of {} (e.g. {}) and trust {}",
        pki.registry_ca().display(),
        pki.gateway_client().display(),
        pki.registry_ca().display()
    );
}
