//! `reggate loadgen`: drive the HTTPS API with a mix of requests — against a running gateway
//! (`--url`) or one started in-process on a temporary directory — print the report (and write it as
//! JSON), and check every accepted application; `--verify-only FILE` checks a list written earlier.
//! Exit code 0: done and verified; 1: the verification failed; 2: the run could not be made.

use std::path::PathBuf;
use std::time::Duration;

use crate::loadgen::{self, Auth, InProcess, Mix, Pace, Plan, Remote, Target};
use crate::mock::population::PopulationConfig;

/// The in-process gateway's population unless `--people` says otherwise: about 10,000 fresh
/// eligible cases, a minute at 170 applications/s, in 0.2 s of generation.
pub const IN_PROCESS_PEOPLE: usize = 200_000;

/// Arguments of `reggate loadgen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A running gateway's base URL (e.g. https://localhost:8080). Without it, a gateway is started
    /// in-process (SQLite and a development PKI in a temporary directory, mock registries).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// With --url: the file holding the bearer API key.
    #[arg(long, value_name = "FILE", default_value = "data/dev-api-key")]
    pub key_file: PathBuf,
    /// With --url: authenticate with this client certificate (of the internal CA) instead of a key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// With --url: the CA that signed the gateway's certificate.
    #[arg(long, value_name = "FILE", default_value = "certs/internal-ca.pem")]
    pub ca: PathBuf,
    /// In-process: the gateway's configuration file (as `reggate serve --config`).
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    pub config: Option<PathBuf>,
    /// In-process: keep data and certificates here instead of a temporary directory.
    #[arg(long, value_name = "DIR", conflicts_with = "url")]
    pub dir: Option<PathBuf>,
    /// In-process: keep the temporary directory afterwards.
    #[arg(long, conflicts_with = "url")]
    pub keep: bool,
    /// Seconds scenarios are started.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Scenarios started per second (open loop). Without it: flat out, every connection running
    /// one scenario after another.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// HTTPS keep-alive connections (flat out: concurrent scenarios).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Scenario weights: apply (submit + documents → decision), submit (no documents: waits),
    /// duplicate, eligibility, invalid.
    #[arg(long, default_value = "apply=80,eligibility=5,duplicate=5,invalid=10")]
    pub mix: Mix,
    /// Manifest entries per application (at least the benefit's required ones).
    #[arg(long, default_value_t = 5)]
    pub documents: usize,
    /// Bytes per document.
    #[arg(long, default_value_t = 8192)]
    pub document_bytes: usize,
    /// Applications submitted before the timed run that wait for documents forever.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub backlog: usize,
    /// Seconds to wait after the run for the decisions still due.
    #[arg(long, default_value_t = 60)]
    pub drain: u64,
    /// Skip the check of every accepted application.
    #[arg(long)]
    pub no_verify: bool,
    /// Write every accepted application to this file as it is accepted (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub accepted: Option<PathBuf>,
    /// Only check the applications listed in FILE (JSON lines of --accepted, or ids one a line)
    /// against --url.
    #[arg(long, value_name = "FILE", requires = "url")]
    pub verify_only: Option<PathBuf>,
    /// Write the report as JSON here ("-": stdout, the text then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Seed of the gateway's mock population (applicants are taken from it).
    #[arg(long, default_value_t = 2024)]
    pub population_seed: u64,
    /// Size of the gateway's mock population: with --url, the one it runs with (`reggate serve`'s
    /// default: 10,000); in-process, the one it is started with (default 200,000). About 5 fresh
    /// eligible cases per 100 people; when they run out, applications repeat cases (duplicates).
    #[arg(long, value_name = "N")]
    pub people: Option<usize>,
    /// Seed of the run's own choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Retries of a submission or upload without an answer or with a 5xx (same Idempotency-Key).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seconds allowed per request.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Open loop: scenarios in flight at most; further starts are skipped and counted.
    #[arg(long, default_value_t = 20_000)]
    pub max_in_flight: usize,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

impl Args {
    fn remote(&self, url: &str) -> Result<Remote, String> {
        let auth = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Auth::Certificate {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => {
                let key = std::fs::read_to_string(&self.key_file)
                    .map_err(|e| format!("{}: {e}", self.key_file.display()))?;
                Auth::Bearer(key.trim().to_string())
            }
        };
        Ok(Remote {
            url: url.to_string(),
            auth,
            ca: self.ca.clone(),
        })
    }

    /// The plan these arguments describe.
    pub fn plan(&self) -> Result<Plan, String> {
        let target = match &self.url {
            Some(url) => Target::Remote(self.remote(url)?),
            None => Target::InProcess(InProcess {
                config: self.config.clone(),
                dir: self.dir.clone(),
                keep: self.keep,
            }),
        };
        let pace = match self.rate {
            Some(r) if r > 0.0 => Pace::Rate(r),
            Some(_) => return Err("--rate must be above 0".into()),
            None => Pace::FlatOut,
        };
        Ok(Plan {
            target,
            duration: Duration::from_secs(self.duration),
            pace,
            connections: self.connections.max(1),
            mix: self.mix.clone(),
            documents: self.documents,
            document_bytes: self.document_bytes,
            backlog: self.backlog,
            drain: Duration::from_secs(self.drain),
            verify: !self.no_verify,
            accepted_file: self.accepted.clone(),
            population: PopulationConfig {
                seed: self.population_seed,
                people: self.people.unwrap_or(if self.url.is_some() {
                    PopulationConfig::default().people
                } else {
                    IN_PROCESS_PEOPLE
                }),
            },
            seed: self.seed,
            retries: self.retries,
            timeout: Duration::from_secs(self.timeout.max(1)),
            max_in_flight: self.max_in_flight.max(1),
            progress: !self.quiet,
            observer: None,
        })
    }
}

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: runtime: {e}");
            return 2;
        }
    };
    if let Some(file) = &args.verify_only {
        return runtime.block_on(verify_only(args, file));
    }
    let plan = match args.plan() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return 2;
        }
    };
    let report = match runtime.block_on(loadgen::run(&plan)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return 2;
        }
    };
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    match args.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => {
            eprint!("{}", report.text());
            println!("{json}");
        }
        Some(p) => {
            print!("{}", report.text());
            if let Err(e) = std::fs::write(p, json + "\n") {
                eprintln!("loadgen: {}: {e}", p.display());
                return 2;
            }
        }
        None => print!("{}", report.text()),
    }
    if report.passed() { 0 } else { 1 }
}

async fn verify_only(args: &Args, file: &std::path::Path) -> u8 {
    let Some(url) = &args.url else {
        eprintln!("loadgen: --verify-only needs --url");
        return 2;
    };
    let checked = async {
        let remote = args.remote(url).map_err(loadgen::LoadError::Setup)?;
        let list = loadgen::verify::read_accepted(file)?;
        loadgen::verify_only(
            &remote,
            &list,
            args.connections.max(1),
            Duration::from_secs(args.timeout.max(1)),
        )
        .await
    };
    let v = match checked.await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return 2;
        }
    };
    println!("{}", loadgen::report::verification_text(&v));
    if let Some(p) = &args.json {
        let json = serde_json::to_string_pretty(&v).unwrap_or_default();
        if p.as_os_str() == "-" {
            println!("{json}");
        } else if let Err(e) = std::fs::write(p, json + "\n") {
            eprintln!("loadgen: {}: {e}", p.display());
            return 2;
        }
    }
    if v.passed() { 0 } else { 1 }
}
