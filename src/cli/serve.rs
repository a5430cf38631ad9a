//! `reggate serve`: the gateway. With no `--config` it runs on the embedded defaults — SQLite under
//! `./data`, the development PKI under `./certs` (created when missing), in-process mock registries on
//! loopback, workers, and the HTTPS API on 127.0.0.1:8080 with a development API key generated once
//! into `data/dev-api-key`. Every setting is a key of [`crate::config`], in the file or as a
//! `REGGATE_*` variable.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::gateway::{Gateway, GatewayConfig};

/// Arguments of `reggate serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The configuration file (TOML; every key is in the README). Without it: embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the configuration, print the effective one (secrets masked) and exit.
    #[arg(long)]
    pub check: bool,
}

/// Run until SIGTERM or SIGINT, then stop gracefully (a second signal stops at once); SIGHUP reloads
/// the certificates. Returns the exit code.
pub fn run(args: &Args) -> u8 {
    let config = match GatewayConfig::load(args.config.as_deref(), std::env::vars()) {
        Ok((config, warnings)) => {
            for w in warnings {
                eprintln!("serve: warning: {w}");
            }
            config
        }
        Err(e) => {
            eprintln!("serve: {e}");
            return 2;
        }
    };
    if args.check {
        print!("{}", config.to_masked_toml());
        return 0;
    }
    if let Err(e) = crate::logging::init(&config.log.level) {
        eprintln!("serve: log.level: {e}");
        return 2;
    }
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
            "reggate API on {}/v1 (probes: /healthz, /readyz)",
            gateway.url()
        );
        if let Some(path) = &gateway.api_key_file {
            eprintln!(
                "development API key in {} (Authorization: Bearer <key>)",
                path.display()
            );
        }
        if let Some(mock) = &gateway.mock {
            eprintln!(
                "in-process mock registries: {}",
                crate::contract::Registry::ALL
                    .iter()
                    .map(|r| mock.url(*r))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let signals = match Signals::new() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("serve: signals: {e}");
                return 2;
            }
        };
        serve_until_stopped(gateway, signals).await
    })
}

/// The signals `serve` answers.
struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

/// The next SIGTERM or SIGINT, by name.
async fn stop(terminate: &mut Signal, interrupt: &mut Signal) -> &'static str {
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    }
}

async fn serve_until_stopped(gateway: Gateway, signals: Signals) -> u8 {
    let Signals {
        mut terminate,
        mut interrupt,
        mut hangup,
    } = signals;
    let name = loop {
        tokio::select! {
            name = stop(&mut terminate, &mut interrupt) => break name,
            _ = hangup.recv() => {
                for o in gateway.certs.reload("sighup").await {
                    match &o.reason {
                        Some(reason) => eprintln!("serve: SIGHUP: {} refused: {reason}", o.role),
                        None => eprintln!("serve: SIGHUP: {} {}", o.role, o.result),
                    }
                }
            }
        }
    };
    eprintln!("serve: {name}: stopping (requests in flight finish; a second signal stops at once)");
    tokio::select! {
        () = gateway.shutdown() => {
            eprintln!("serve: stopped");
            0
        }
        again = stop(&mut terminate, &mut interrupt) => {
            eprintln!("serve: {again}: stopped at once; applications in hand are left to their leases");
            1
        }
    }
}
