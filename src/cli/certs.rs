//! `reggate certs init|status|rotate`: the development PKI under `certs/` — create it, show what expires
//! when, and rotate one certificate after checking it (key match, chain, validity) without a restart.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock::{Clock, SystemClock};
use crate::tls::pki::{self, PkiOptions};

/// Arguments of `reggate certs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do with the PKI.
    #[command(subcommand)]
    pub command: Command,
    /// The PKI directory.
    #[arg(long, global = true, default_value = "certs")]
    pub dir: PathBuf,
}

/// `certs` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create the development PKI (internal CA, registry-side CA, their leaves, receipt signing).
    Init {
        /// Lifetime of leaf certificates in days (the CAs live longer).
        #[arg(long, default_value_t = 365)]
        lifetime_days: u32,
        /// Replace existing material.
        #[arg(long)]
        force: bool,
    },
    /// Show every certificate: subject, issuer, expiry, days left, key match, chain.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replace one certificate and key after validating them; atomic on the same filesystem.
    Rotate {
        /// Which certificate (e.g. `gateway-server`).
        name: String,
        /// The new certificate (PEM).
        cert: PathBuf,
        /// The new private key (PEM).
        key: PathBuf,
    },
}

/// Run the command; returns the exit code (0 ok, 1 a certificate needs attention, 2 error).
pub fn run(args: &Args) -> u8 {
    let now = SystemClock.now();
    match &args.command {
        Command::Init {
            lifetime_days,
            force,
        } => {
            let opts = PkiOptions {
                dir: args.dir.clone(),
                lifetime_days: *lifetime_days,
                now,
                force: *force,
            };
            match pki::init(&opts) {
                Ok(_) => {
                    eprintln!("development PKI ready in {}", args.dir.display());
                    0
                }
                Err(e) => {
                    eprintln!("certs init: {e}");
                    2
                }
            }
        }
        Command::Status { json } => match pki::status(&args.dir, now) {
            Ok(list) => {
                if *json {
                    let rows: Vec<serde_json::Value> = list
                        .iter()
                        .map(|c| {
                            serde_json::json!({
                                "name": c.name.to_string(), "subject": c.subject_cn, "issuer": c.issuer_cn,
                                "not_after": pki::format_utc(c.not_after), "not_after_unix": unix(c.not_after), "days_left": c.days_left,
                                "key_matches": c.key_matches, "chain_ok": c.chain_verifies,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::Value::Array(rows));
                } else {
                    let w = list
                        .iter()
                        .map(|c| c.subject_cn.len().max(c.issuer_cn.len()))
                        .max()
                        .unwrap_or(10);
                    println!(
                        "{:<16} {:<w$} {:<w$} {:<23} {:>9}  {:<3} {:<5}",
                        "name", "subject", "issuer", "expires", "days left", "key", "chain"
                    );
                    for c in &list {
                        println!(
                            "{:<16} {:<w$} {:<w$} {:<23} {:>9}  {:<3} {:<5}",
                            c.name.to_string(),
                            c.subject_cn,
                            c.issuer_cn,
                            pki::format_utc(c.not_after),
                            c.days_left,
                            ok(c.key_matches),
                            ok(c.chain_verifies)
                        );
                    }
                }
                let attention = list
                    .iter()
                    .any(|c| c.days_left < 30 || !c.key_matches || !c.chain_verifies);
                u8::from(attention)
            }
            Err(e) => {
                eprintln!("certs status: {e}");
                2
            }
        },
        Command::Rotate { name, cert, key } => match pki::rotate(&args.dir, name, cert, key, now) {
            Ok(()) => {
                eprintln!("{name} rotated");
                0
            }
            Err(e) => {
                eprintln!("certs rotate: {e}");
                2
            }
        },
    }
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "BAD" }
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}
