//! `reggate receipt verify FILE`: check a receipt of submission (the JSON or the PDF the API hands
//! out) against the internal CA of the development PKI (`--certs`); a PDF must also show exactly
//! what was signed. Exit 0 valid, 1 not valid, 2 unreadable.

use std::path::PathBuf;

use openssl::x509::X509;

use crate::receipt::{read, verify_file};
use crate::tls::PkiLayout;

/// Arguments of `reggate receipt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The receipt subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Verify a receipt file (JSON or PDF).
    Verify {
        /// The receipt.
        file: PathBuf,
        /// The PKI whose internal CA issued the receipt-signing certificate.
        #[arg(long, default_value = "certs")]
        certs: PathBuf,
    },
}

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let Command::Verify { file, certs } = &args.command;
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("receipt: {}: {e}", file.display());
            return 2;
        }
    };
    let ca_path = PkiLayout::new(certs).internal_ca();
    let ca = match std::fs::read(&ca_path)
        .map_err(|e| e.to_string())
        .and_then(|pem| X509::from_pem(&pem).map_err(|e| e.to_string()))
    {
        Ok(ca) => ca,
        Err(e) => {
            eprintln!("receipt: {}: {e}", ca_path.display());
            return 2;
        }
    };
    let signed = match read(&bytes) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return 1;
        }
    };
    match verify_file(&bytes, &signed, &ca) {
        Ok(()) => {
            let r = &signed.receipt;
            println!(
                "{}: valid receipt of application {} submitted {} ({}), digest {}",
                file.display(),
                r.number,
                r.submitted_at,
                r.benefit,
                r.digest
            );
            0
        }
        Err(e) => {
            println!("{}: NOT VALID: {e}", file.display());
            1
        }
    }
}
