//! `reggate replay`: replay fixture cases (see [`crate::replay`]) against the in-process mock
//! registries, registries at a URL, or those of a gateway configuration, and say which pass.
//!
//! A progress line on stderr while it runs (when stderr is a terminal); then every failure with its
//! reason and differences by path (personal values masked), and the summary line
//! `N passed, M failed` on stdout. `--junit FILE` writes the JUnit XML report CI servers read.
//!
//! Exit codes: 0 every case passed (skipped ones aside), 1 a case failed, 2 usage or setup errors
//! (no case found, a case that does not load, schemas, certificates, the target).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};

use crate::mock::population::{Population, PopulationConfig};
use crate::mock::state::ServedFiles;
use crate::replay::run::{self, Outcome, RunOptions, Tally, Verdict};
use crate::replay::target::Target;
use crate::replay::{compare_schemas, junit, load_all, load_schemas, with_tags};
use crate::xml::schema::Schema;

/// Arguments of `reggate replay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Case folders, or folders searched for them (default: `fixtures/cases`).
    pub paths: Vec<PathBuf>,
    /// Where to send: `mock` (in-process mock registries, fault plans applied), a URL
    /// (`https://host:port` of a `reggate mock`, or one holding `{registry}`), or a gateway
    /// configuration file (its registries, client certificate and CA).
    #[arg(long, default_value = "mock", value_name = "mock|URL|CONFIG")]
    pub target: String,
    /// Only cases carrying one of these tags (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Cases in flight at once (cases with a fault plan run one at a time).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Retries of a failed call (default none: a fixture records one exchange).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// Compare exactly: prefixes, attribute order, whitespace and comments count too.
    #[arg(long)]
    pub strict: bool,
    /// A call's bound unless its case sets `timeout_ms`, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub timeout_ms: u64,
    /// Send nothing: validate every case's messages against this other schema set too, and list
    /// the cases whose verdict changes (what a schema upgrade would break). Exit 1 when one does.
    #[arg(long, value_name = "DIR")]
    pub against_schemas: Option<PathBuf>,
    /// The schemas messages are validated against.
    #[arg(long, default_value = "schemas", value_name = "DIR")]
    pub schemas: PathBuf,
    /// The WSDLs the mock serves.
    #[arg(long, default_value = "wsdl", value_name = "DIR")]
    pub wsdl: PathBuf,
    /// The development PKI (the client certificate and registry CA; created for `--target mock`).
    #[arg(long, default_value = "certs", value_name = "DIR")]
    pub certs: PathBuf,
    /// The mock's population: loaded from this directory instead of generated.
    #[arg(long, value_name = "DIR")]
    pub mock_data: Option<PathBuf>,
    /// Seed of the mock's generated population (the corpus is recorded with the default).
    #[arg(long, default_value_t = PopulationConfig::default().seed)]
    pub mock_seed: u64,
    /// Size of the mock's generated population.
    #[arg(long, default_value_t = PopulationConfig::default().people)]
    pub mock_people: usize,
}

/// The default corpus.
pub const CORPUS: &str = "fixtures/cases";

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    match setup_and_run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("replay: {e}");
            2
        }
    }
}

fn setup_and_run(args: &Args) -> Result<u8, String> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(CORPUS)]
    } else {
        args.paths.clone()
    };
    let cases = load_all(&paths).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "{} case(s) cannot be loaded:\n  {}",
            errors.len(),
            lines.join("\n  ")
        )
    })?;
    let cases = with_tags(cases, &args.tags);
    if cases.is_empty() {
        return Err(if args.tags.is_empty() {
            format!("no case found under {}", show(&paths))
        } else {
            format!(
                "no case under {} carries a tag of {}",
                show(&paths),
                args.tags.join(", ")
            )
        });
    }
    let schema = Schema::load(std::slice::from_ref(&args.schemas))
        .map_err(|e| format!("schemas {}: {e}", args.schemas.display()))?;
    if let Some(dir) = &args.against_schemas {
        let candidate = load_schemas(dir).map_err(|e| e.to_string())?;
        let report = compare_schemas(&cases, &schema, &candidate);
        println!("{}", report.display(dir));
        return Ok(if report.is_compatible() { 0 } else { 1 });
    }
    let options = RunOptions {
        jobs: args.jobs.max(1),
        retries: args.retries,
        strict: args.strict,
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let target = target(args, schema.clone()).await?;
        let started = SystemTime::now();
        let bar = progress(cases.len() as u64, target.describe());
        let tick = |o: &Outcome| {
            if let Verdict::Failed { .. } = o.verdict {
                bar.set_message(format!("failed: {}", o.case.name()));
            }
            bar.inc(1);
        };
        let outcomes = run::run(cases, &target, &schema, &options, &tick).await;
        bar.finish_and_clear();
        target.shutdown().await;
        report(&outcomes);
        if let Some(file) = &args.junit {
            let xml = junit::report(&outcomes, &args.target, started);
            std::fs::write(file, xml).map_err(|e| format!("--junit {}: {e}", file.display()))?;
        }
        Ok(if Tally::of(&outcomes).failed == 0 {
            0
        } else {
            1
        })
    })
}

async fn target(args: &Args, schema: Arc<Schema>) -> Result<Target, String> {
    let t = args.target.as_str();
    if t == "mock" {
        let population = match &args.mock_data {
            Some(dir) => {
                Population::load(dir).map_err(|e| format!("--mock-data {}: {e}", dir.display()))?
            }
            None => Population::generate(&PopulationConfig {
                seed: args.mock_seed,
                people: args.mock_people,
            }),
        };
        let files = ServedFiles {
            wsdl: args.wsdl.clone(),
            schemas: args.schemas.clone(),
        };
        Target::mock(&args.certs, schema, population, files).await
    } else if t.contains("://") {
        Target::url(t, &args.certs, schema)
    } else {
        let file = PathBuf::from(t);
        if !file.is_file() {
            return Err(format!(
                "--target '{t}': not `mock`, a URL or a configuration file"
            ));
        }
        Target::config(&file, schema).await
    }
}

/// A progress line on stderr; hidden when stderr is not a terminal.
fn progress(len: u64, target: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(format!("replay → {target}"));
    bar
}

/// Failures (and skips) with their details, then the summary line.
fn report(outcomes: &[Outcome]) {
    for o in outcomes {
        match &o.verdict {
            Verdict::Passed => {}
            Verdict::Skipped(why) => println!("SKIP {}: {why}", o.case.dir.display()),
            Verdict::Failed { message, details } => {
                println!("FAIL {}: {message}", o.case.dir.display());
                for d in details {
                    for line in d.lines() {
                        println!("    {line}");
                    }
                }
            }
        }
    }
    let total: Duration = outcomes.iter().map(|o| o.elapsed).sum();
    println!(
        "{} ({} cases, {:.1} s of calls)",
        Tally::of(outcomes),
        outcomes.len(),
        total.as_secs_f64()
    );
}

fn show(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
