//! The subcommands of the `reggate` binary, as library functions: `main.rs` only parses arguments.
//! `validate` checks messages, `certs` manages the development PKI, `mock` serves the synthetic
//! registry population, `serve` runs the gateway, `loadgen` drives it and checks nothing accepted
//! was lost or decided twice, `replay` replays fixture cases against registries, `fixtures
//! record` exports a gateway's message log as fixture cases.

pub mod certs;
pub mod fixtures;
pub mod loadgen;
pub mod mock;
pub mod receipt;
pub mod replay;
pub mod serve;
pub mod validate;

use clap::{Parser, Subcommand};

/// reggate: gateway between cabinet backends and government SOAP registries.
#[derive(Parser, Debug)]
#[command(name = "reggate", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate XML files against XSD schemas (default: the schemas/ directory).
    Validate(validate::Args),
    /// The development PKI: create it, show expiry, rotate a certificate.
    Certs(certs::Args),
    /// The mock registries alone (or sample people of their population).
    Mock(mock::Args),
    /// The gateway on embedded defaults, with in-process mock registries.
    Serve(serve::Args),
    /// Receipts of submission: verify one.
    Receipt(receipt::Args),
    /// Drive the HTTPS API with a mix of requests and check every accepted application.
    Loadgen(loadgen::Args),
    /// Replay recorded registry exchanges (fixture cases) and compare the answers.
    Replay(replay::Args),
    /// Replay fixtures: record them from a gateway's message log.
    Fixtures(fixtures::Args),
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Certs(args) => certs::run(&args),
        Command::Mock(args) => mock::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Receipt(args) => receipt::run(&args),
        Command::Loadgen(args) => loadgen::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Fixtures(args) => fixtures::run(&args),
    }
}
