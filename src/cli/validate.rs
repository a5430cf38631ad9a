//! `reggate validate`: check XML files against a schema set, for people (text) and tools (`--json`).
//!
//! Exit codes: 0 every file valid (or, with no files, the schemas compile), 1 some file invalid,
//! 2 usage error or invalid schema. `--repeat N` validates each file N times with the schema compiled
//! once and prints documents/s and MB/s per file to stderr, like `xmllint --repeat --timing`.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::xml::schema::Schema;
use crate::xml::validate::{self, Options, Report};

/// Arguments of `reggate validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Schema file or directory of `*.xsd` (repeatable). Default: `schemas/`.
    #[arg(long = "schema", value_name = "FILE|DIR")]
    pub schemas: Vec<PathBuf>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
    /// Validate each file this many times and print throughput to stderr.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,
    /// Most violations reported per file.
    #[arg(long, default_value_t = 100)]
    pub max_errors: usize,
    /// XML files to validate. With none, only the schemas are compiled.
    pub files: Vec<PathBuf>,
}

#[derive(serde::Serialize)]
struct FileReport<'a> {
    file: String,
    valid: bool,
    #[serde(flatten)]
    report: &'a Report,
}

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let schemas = if args.schemas.is_empty() {
        vec![PathBuf::from("schemas")]
    } else {
        args.schemas.clone()
    };
    let schema = match Schema::load(&schemas) {
        Ok(s) => s,
        Err(errors) => {
            if args.json {
                let out = serde_json::json!({ "schema_errors": errors.0 });
                println!("{out}");
            } else {
                eprintln!("schema is invalid:\n{errors}");
            }
            return 2;
        }
    };
    if args.files.is_empty() {
        if !args.json {
            eprintln!(
                "schemas compile: {} global elements, {} types",
                schema.global_elements.len(),
                schema.types.len()
            );
        } else {
            println!("{}", serde_json::json!({ "schema_errors": [] }));
        }
        return 0;
    }
    let options = Options {
        max_errors: args.max_errors.max(1),
        ..Options::default()
    };
    let mut any_invalid = false;
    let mut json_reports = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut unreadable = false;
    for file in &args.files {
        let report = match validate_file(&schema, file, args.repeat, &options) {
            Ok(r) => r,
            Err(e) => {
                // Reported and counted, but the other files are still validated and reported.
                unreadable = true;
                let message = format!("cannot read: {e}");
                if args.json {
                    json_reports.push(
                        serde_json::json!({ "file": file.display().to_string(), "error": message }),
                    );
                } else {
                    eprintln!("{}: {message}", file.display());
                }
                continue;
            }
        };
        any_invalid |= !report.is_valid();
        if args.json {
            json_reports.push(
                serde_json::to_value(FileReport {
                    file: file.display().to_string(),
                    valid: report.is_valid(),
                    report: &report,
                })
                .unwrap_or_default(),
            );
        } else if report.is_valid() {
            let _ = writeln!(out, "{}: valid", file.display());
        } else {
            let _ = writeln!(out, "{}: invalid", file.display());
            for v in &report.violations {
                let _ = writeln!(out, "  {v}");
            }
            if report.truncated {
                let _ = writeln!(out, "  (stopped: further violations not reported)");
            }
        }
    }
    if args.json {
        let _ = writeln!(out, "{}", serde_json::Value::Array(json_reports));
    }
    if unreadable { 2 } else { u8::from(any_invalid) }
}

/// Validate one file: streamed from disk, or (with `repeat` > 1) read once and validated `repeat`
/// times in memory with the throughput printed to stderr.
fn validate_file(
    schema: &Schema,
    file: &Path,
    repeat: u32,
    options: &Options,
) -> std::io::Result<Report> {
    if repeat <= 1 {
        let f = std::fs::File::open(file)?;
        return Ok(validate::validate_reader(
            schema,
            BufReader::with_capacity(64 << 10, f),
            options,
        ));
    }
    let bytes = std::fs::read(file)?;
    let started = Instant::now();
    let mut last = Report::default();
    for _ in 0..repeat {
        last = validate::validate_bytes(schema, &bytes, options);
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let docs = f64::from(repeat) / secs;
    let mbs = docs * bytes.len() as f64 / 1e6;
    eprintln!(
        "{}: {repeat} runs in {secs:.3} s: {docs:.0} documents/s, {mbs:.1} MB/s",
        file.display()
    );
    Ok(last)
}
