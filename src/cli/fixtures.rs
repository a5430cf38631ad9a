//! `reggate fixtures record`: export a time range of a gateway's message log as replay fixture cases
//! ([`crate::replay::record`]), personal data pseudonymised unless `--keep-personal-data`.
//!
//! The log is read read-only beside a running gateway. Exit codes: 0 the cases were written (or
//! there were none), 1 some exchange could not be exported (the rest were written, the failures
//! listed), 2 usage or setup errors — a bad time, no log, a target folder that is not new or
//! empty, a log that did not keep the bodies in full, schemas that do not compile.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::GatewayConfig;
use crate::contract::Registry;
use crate::replay::record::{self, Logged, Personal};
use crate::soap::log::read_exchanges;
use crate::xml::schema::Schema;

/// Arguments of `reggate fixtures`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `fixtures` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Export exchanges of a gateway's message log as fixture cases (one folder each).
    Record(RecordArgs),
}

/// Arguments of `reggate fixtures record`.
#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    /// Exchanges that started at this time or later: RFC 3339 (2026-07-01T10:00:00Z,
    /// 2026-07-01T13:00:00+03:00) or a date (midnight UTC).
    #[arg(long, value_name = "TIME", value_parser = since)]
    pub since: SystemTime,
    /// Exchanges that started before this time (a date: before the end of that day). Default: now.
    #[arg(long, value_name = "TIME", value_parser = until)]
    pub until: Option<SystemTime>,
    /// Only this registry's exchanges (snils, inn, children, labour; repeatable).
    #[arg(long, value_name = "R", value_parser = registry)]
    pub registry: Vec<Registry>,
    /// The folder to write the cases to: new, or empty.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Export the bodies as logged, personal data included (the log must have kept them in full).
    #[arg(long)]
    pub keep_personal_data: bool,
    /// The gateway's configuration file: its data directory (the message log) and schema set.
    /// Without it and without --data: the embedded defaults, as `reggate serve` runs.
    #[arg(long, value_name = "FILE", conflicts_with = "data")]
    pub config: Option<PathBuf>,
    /// The gateway's data directory (holding message_log.sqlite), instead of --config.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The schema set every exported document is checked against. Default: the configuration's
    /// (`schemas/`).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

fn since(text: &str) -> Result<SystemTime, String> {
    record::parse_time(text, false)
}

fn until(text: &str) -> Result<SystemTime, String> {
    record::parse_time(text, true)
}

fn registry(text: &str) -> Result<Registry, String> {
    Registry::from_name(text)
        .ok_or_else(|| format!("'{text}' is not a registry (snils, inn, children, labour)"))
}

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    match &args.command {
        Command::Record(args) => match record_command(args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("fixtures record: {message}");
                2
            }
        },
    }
}

/// What the configuration says: the data directory, the schema set and `log.bodies`.
fn setup(args: &RecordArgs) -> Result<(PathBuf, PathBuf, Option<String>), String> {
    if let Some(data) = &args.data {
        let schemas = args
            .schemas
            .clone()
            .unwrap_or_else(|| PathBuf::from("schemas"));
        return Ok((data.clone(), schemas, None));
    }
    let (config, warnings) =
        GatewayConfig::load(args.config.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
    for w in warnings {
        eprintln!("fixtures record: warning: {w}");
    }
    let schemas = args.schemas.clone().unwrap_or(config.schemas);
    Ok((config.data, schemas, Some(config.log.bodies)))
}

fn record_command(args: &RecordArgs) -> Result<u8, String> {
    if let Some(until) = args.until
        && until <= args.since
    {
        return Err("--until must be later than --since".into());
    }
    // Before anything is read: a target that would be refused at the end is refused now.
    record::check_target(&args.to).map_err(|e| e.to_string())?;
    let (data, schemas, bodies) = setup(args)?;
    let log = data.join("message_log.sqlite");
    if !log.is_file() {
        return Err(format!(
            "no message log at {} (give the gateway's --config or --data)",
            log.display()
        ));
    }
    let exchanges: Vec<Logged> = read_exchanges(&log, args.since, args.until)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|e| args.registry.is_empty() || args.registry.contains(&e.registry))
        .map(|e| Logged {
            at: e.at,
            request_id: e.request_id,
            operation: e.operation,
            attempt: e.attempt,
            outcome: e.outcome,
            request: e.request,
            response: e.response,
        })
        .collect();
    if let Err(e) = record::check_bodies(&exchanges) {
        return Err(match bodies.as_deref() {
            Some(b) if b != "full" => format!("{e} (the configuration says log.bodies = \"{b}\")"),
            _ => e.to_string(),
        });
    }
    if exchanges.is_empty()
        && let Some(b) = bodies.as_deref().filter(|b| *b != "full")
    {
        eprintln!(
            "fixtures record: note: log.bodies = \"{b}\": exchanges logged from now on cannot be \
             recorded; set log.bodies = \"full\" (synthetic test data only)"
        );
    }
    let schema = Schema::load(std::slice::from_ref(&schemas))
        .map_err(|e| format!("schemas {}: {e}", schemas.display()))?;
    let personal = if args.keep_personal_data {
        Personal::Keep
    } else {
        Personal::Pseudonymise
    };
    let recording = record::record(&exchanges, personal, &schema);
    let written = !recording.cases.is_empty();
    if written {
        record::write(&recording, &args.to).map_err(|e| e.to_string())?;
    }
    print_summary(&recording, &args.to, written);
    Ok(if recording.failed.is_empty() { 0 } else { 1 })
}

fn print_summary(recording: &record::Recording, to: &Path, written: bool) {
    let registries = recording
        .by_registry()
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let skipped = if recording.skipped.is_empty() {
        "0 skipped by outcome".to_string()
    } else {
        format!(
            "{} skipped by outcome ({})",
            recording.skipped_total(),
            recording
                .skipped
                .iter()
                .map(|(o, n)| format!("{o} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let personal = if recording.pseudonymised {
        "personal data pseudonymised"
    } else {
        "personal data kept"
    };
    let place = if written {
        to.display().to_string()
    } else {
        format!("{} (nothing written)", to.display())
    };
    let by = if registries.is_empty() {
        String::new()
    } else {
        format!(" ({registries})")
    };
    let n = recording.cases.len();
    let cases = if n == 1 { "case" } else { "cases" };
    let mut line = format!("{n} {cases} written to {place}{by}; {skipped}; {personal}");
    if !recording.failed.is_empty() {
        line.push_str(&format!("; {} not exported", recording.failed.len()));
    }
    println!("{line}");
    for f in &recording.failed {
        eprintln!("fixtures record: not exported: {}: {}", f.exchange, f.why);
    }
}
