//! `reggate certs init|status|rotate`: the development PKI under `certs/` — create it, show what expires
//! when, and rotate one certificate after checking it (key match, chain, validity) without a restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clock::{Clock, SystemClock};
use crate::loadgen::client::Client;
use crate::loadgen::{Auth, Remote};
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
        /// Also ask this running gateway what it serves (`GET /admin/certificates`, reviewer role),
        /// e.g. `https://localhost:8080`, and show it beside the files.
        #[arg(long, value_name = "URL")]
        gateway: Option<String>,
        /// The API key for `--gateway` (a file holding it).
        #[arg(long, value_name = "FILE", default_value = "data/dev-api-key")]
        api_key_file: PathBuf,
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
        Command::Status {
            json,
            gateway: Some(url),
            api_key_file,
        } => running(&args.dir, url, api_key_file, *json),
        Command::Status { json, .. } => match pki::status(&args.dir, now) {
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
                eprintln!(
                    "{name} rotated; a running gateway takes it within a second (ops.watch_certs), \
                     or on SIGHUP or POST /admin/reload"
                );
                0
            }
            Err(e) => {
                eprintln!("certs rotate: {e}");
                2
            }
        },
    }
}

/// `certs status --gateway`: what the running gateway serves per role, beside the file on disk.
fn running(dir: &Path, url: &str, key_file: &Path, json: bool) -> u8 {
    let key = match std::fs::read_to_string(key_file) {
        Ok(k) => k.trim().to_string(),
        Err(e) => {
            eprintln!("certs status: {}: {e}", key_file.display());
            return 2;
        }
    };
    let remote = Remote {
        url: url.trim_end_matches('/').to_string(),
        auth: Auth::Bearer(key),
        ca: dir.join("internal-ca.pem"),
    };
    let asked = tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(async {
                let client =
                    Client::new(&remote, 1, Duration::from_secs(10)).map_err(|e| e.to_string())?;
                client.get("/admin/certificates").await.map_err(|e| e.0)
            })
        });
    let answer = match asked {
        Ok(a) if a.status == 200 => a,
        Ok(a) => {
            eprintln!(
                "certs status: {url} answered {}: {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
            return 2;
        }
        Err(e) => {
            eprintln!("certs status: {url}: {e}");
            return 2;
        }
    };
    let listed: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let rows = listed["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if json {
        println!("{}", serde_json::Value::Array(rows));
        return 0;
    }
    println!(
        "{:<16} {:<23} {:>9}  {:<8} {:<16} {:<9} file",
        "role", "expires", "days left", "state", "sha256", "on disk"
    );
    let mut attention = false;
    for row in &rows {
        let text = |k: &str| row[k].as_str().unwrap_or_default().to_string();
        let (file, sha) = (text("file"), text("sha256"));
        // The file as this command sees it (relative paths: from the gateway's directory).
        let on_disk = match first_fingerprint(Path::new(&file)) {
            Some(disk) if disk == sha => "same",
            Some(_) => "DIFFERS",
            None => "?",
        };
        attention |=
            on_disk == "DIFFERS" || text("state") != "ok" || row.get("last_refusal").is_some();
        println!(
            "{:<16} {:<23} {:>9}  {:<8} {:<16} {:<9} {file}",
            text("role"),
            text("not_after"),
            row["seconds_left"]
                .as_i64()
                .unwrap_or_default()
                .div_euclid(86_400),
            text("state"),
            sha.get(..16).unwrap_or_default(),
            on_disk,
        );
        if let Some(refusal) = row["last_refusal"].as_str() {
            println!("{:<16} last reload refused: {refusal}", "");
        }
    }
    u8::from(attention)
}

/// SHA-256 of the first certificate in a PEM file.
fn first_fingerprint(path: &Path) -> Option<String> {
    let der = crate::tls::config::load_certs(path).ok()?;
    Some(crate::ids::sha256_hex(der.first()?))
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
