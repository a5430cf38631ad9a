//! `reggate mock`: the mock registries. For now it serves testers the synthetic population:
//! `--export-people N` prints N sample people (with children, statuses, assignments and marked invalid
//! variants) as JSON, generated from `--seed` or loaded from `--data` (e.g. `fixtures/registry-data/`).

use std::path::PathBuf;

use crate::mock::population::{Population, PopulationConfig};

/// Arguments of `reggate mock`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print this many sample people as JSON and exit.
    #[arg(long, value_name = "N")]
    pub export_people: Option<usize>,
    /// Seed of the synthetic population (the same seed gives the same people on every machine).
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Size of the synthetic population.
    #[arg(long, default_value_t = 10_000)]
    pub people: usize,
    /// Load the population from this directory instead of generating it.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// Run the command; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let population = match &args.data {
        Some(dir) => match Population::load(dir) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("mock: cannot load {}: {e}", dir.display());
                return 2;
            }
        },
        None => Population::generate(&PopulationConfig {
            seed: args.seed,
            people: args.people,
        }),
    };
    match args.export_people {
        Some(n) => {
            println!("{}", population.export_people(n));
            0
        }
        None => {
            eprintln!(
                "mock: the registries' network service is not built yet (issue 7 continues); \
                 use --export-people N to export sample people"
            );
            2
        }
    }
}
