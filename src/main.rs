//! The `reggate` binary: parses the command line and hands it to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = reggate::cli::Cli::parse();
    std::process::ExitCode::from(reggate::cli::run(cli))
}
