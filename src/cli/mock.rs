//! `reggate mock`: the four mock registries and the token endpoint over mTLS on one listener
//! (`/registry/{snils,inn,children,labour}`, `/token`), answering from the synthetic population; or, with
//! `--export-people N`, N sample people of that population as JSON (with children, statuses,
//! assignments and marked invalid variants). The population is generated from `--seed` or loaded from
//! `--data` (e.g. `fixtures/registry-data/`). The development PKI is created under `--certs` if missing.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::mock::population::{Population, PopulationConfig};
use crate::mock::server::{MockState, serve};
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
    /// Where to listen (HTTPS, client certificate of the registry-side CA required).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
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
    let state = Arc::new(MockState::new(
        schema,
        population,
        tokens,
        clock,
        args.wsdl.clone(),
    ));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mock: runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mock: cannot listen on {}: {e}", args.listen);
                return 2;
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        report_ready(&addr, &pki);
        serve(listener, state, tls, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        0
    })
}

fn report_ready(addr: &str, pki: &PkiLayout) {
    eprintln!(
        "mock registries on https://{addr}/registry/{{snils,inn,children,labour}}, token at https://{addr}/token"
    );
    eprintln!(
        "clients need a certificate of {} (e.g. {}) and trust {}",
        pki.registry_ca().display(),
        pki.gateway_client().display(),
        pki.registry_ca().display()
    );
}
