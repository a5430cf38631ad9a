//! What a load run does: where it sends (a running gateway, or one started in-process), how fast
//! (flat out or a fixed rate), for how long, over how many connections, with which mix of requests,
//! and what is checked afterwards. [`Plan::default`] is a short flat-out run of the full flow.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::mock::population::PopulationConfig;

/// One kind of scenario a connection runs; the [`Mix`] weighs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A valid application of an eligible applicant (`POST /v1/applications`, 202), then the bytes
    /// of every manifest entry (`PUT …/documents/{name}`, 201); a worker decides it.
    Apply,
    /// A valid application whose documents are never uploaded: it waits in `submitted` (what the
    /// acceptance bar measures, and what `--backlog` pre-fills).
    Submit,
    /// A second application for a child and benefit already granted (by this run, or at the Ministry
    /// of Labour), documents uploaded: decided, as a rejection.
    Duplicate,
    /// A dry run, `POST /v1/eligibility` (200).
    Eligibility,
    /// A request the API must refuse with 400 or 422 (malformed JSON, a wrong SNILS check number, no
    /// INN, an unknown benefit, no `Idempotency-Key`): an expected refusal, not an error.
    Invalid,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 5] = [
        Kind::Apply,
        Kind::Submit,
        Kind::Duplicate,
        Kind::Eligibility,
        Kind::Invalid,
    ];

    /// Its name in `--mix` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Apply => "apply",
            Kind::Submit => "submit",
            Kind::Duplicate => "duplicate",
            Kind::Eligibility => "eligibility",
            Kind::Invalid => "invalid",
        }
    }

    /// The kind of a name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether its applications are expected to be decided (documents uploaded).
    pub fn decided(self) -> bool {
        matches!(self, Kind::Apply | Kind::Duplicate)
    }
}

/// Weights of the scenario kinds: each scenario draws its kind with probability weight / total.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// `(kind, weight)`; kinds absent or weighted 0 never run.
    pub weights: Vec<(Kind, u32)>,
}

impl Default for Mix {
    /// Mostly the full flow, with some of everything else: `apply=80,eligibility=5,duplicate=5,invalid=10`.
    fn default() -> Mix {
        Mix {
            weights: vec![
                (Kind::Apply, 80),
                (Kind::Eligibility, 5),
                (Kind::Duplicate, 5),
                (Kind::Invalid, 10),
            ],
        }
    }
}

impl Mix {
    /// Only one kind.
    pub fn only(kind: Kind) -> Mix {
        Mix {
            weights: vec![(kind, 1)],
        }
    }

    /// The kind a uniform draw `r` in `0..total()` falls on.
    pub fn pick(&self, r: u64) -> Kind {
        let mut left = r;
        for &(kind, w) in &self.weights {
            if left < u64::from(w) {
                return kind;
            }
            left -= u64::from(w);
        }
        self.weights.last().map_or(Kind::Apply, |(k, _)| *k)
    }

    /// Sum of the weights.
    pub fn total(&self) -> u64 {
        self.weights.iter().map(|(_, w)| u64::from(*w)).sum()
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `apply=80,eligibility=5,duplicate=5,invalid=10` (any subset, any order).
    fn from_str(s: &str) -> Result<Mix, String> {
        let mut weights: Vec<(Kind, u32)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}': expected kind=weight"))?;
            let kind = Kind::parse(name.trim()).ok_or_else(|| {
                format!(
                    "'{name}': kinds are {}",
                    Kind::ALL.map(Kind::name).join(", ")
                )
            })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("'{part}': the weight must be a whole number"))?;
            if weights.iter().any(|(k, _)| *k == kind) {
                return Err(format!("'{name}' named twice"));
            }
            weights.push((kind, weight));
        }
        let mix = Mix { weights };
        if mix.total() == 0 {
            return Err("the mix needs a kind with a weight above 0".into());
        }
        Ok(mix)
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .weights
            .iter()
            .map(|(k, w)| format!("{}={w}", k.name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// How scenarios are started.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Every connection runs one scenario after another (closed loop): what the gateway can take.
    FlatOut,
    /// Scenarios start at this many per second whatever the answers (open loop); latencies count
    /// from the intended start, so queueing in the gateway (or in the client) is not hidden.
    Rate(f64),
}

/// How the client authenticates.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer(String),
    /// A client certificate of the internal CA (PEM files).
    Certificate {
        /// The certificate chain.
        cert: PathBuf,
        /// Its key.
        key: PathBuf,
    },
}

/// A gateway already running (`reggate serve`, another host, or one a test started).
#[derive(Clone, Debug, PartialEq)]
pub struct Remote {
    /// Its base URL, `https://localhost:8080` (`http://` for `api.tls = false`).
    pub url: String,
    /// How to authenticate.
    pub auth: Auth,
    /// The CA that signed its certificate (the development internal CA: `certs/internal-ca.pem`).
    pub ca: PathBuf,
}

/// A gateway the run starts in-process and stops afterwards: embedded SQLite, in-process mock
/// registries with [`Plan::population`], the development PKI, the HTTPS API on a free loopback port.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InProcess {
    /// A configuration file (as `reggate serve --config`); without it the embedded defaults.
    pub config: Option<PathBuf>,
    /// Where data and certificates go; without it a fresh temporary directory, removed afterwards.
    /// With `config`, its `data` and `certs` are kept unless this is given.
    pub dir: Option<PathBuf>,
    /// Keep the temporary directory (to inspect the store afterwards).
    pub keep: bool,
}

/// Where the load goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A running gateway.
    Remote(Remote),
    /// A gateway started for the run.
    InProcess(InProcess),
}

/// Something told of the run's progress about once a second.
pub type Observer = Arc<dyn Fn(&super::Progress) + Send + Sync>;

/// A load run.
#[derive(Clone)]
pub struct Plan {
    /// Where the load goes.
    pub target: Target,
    /// How long scenarios are started (the timed run).
    pub duration: Duration,
    /// Flat out or a fixed rate.
    pub pace: Pace,
    /// HTTPS keep-alive connections (and, flat out, concurrent scenarios). Default 32.
    pub connections: usize,
    /// Scenario kinds and their weights.
    pub mix: Mix,
    /// Manifest entries per application (at least the ones its benefit requires, 3 to 5); the rest
    /// are `other`. Default 5, as issue 15 measured the full flow.
    pub documents: usize,
    /// Bytes of each document (a PDF, unique per application so none is stored once for many).
    /// Default 8 KiB.
    pub document_bytes: usize,
    /// Applications to submit before the timed run that then wait for documents forever, as many
    /// concurrently as there are connections. Default 0.
    pub backlog: usize,
    /// After the timed run, how long to wait for the decisions still due.
    pub drain: Duration,
    /// Fetch every accepted application afterwards and check it (see [`super::verify`]).
    pub verify: bool,
    /// Write every accepted application here as it is accepted (JSON lines, see
    /// [`super::verify::Accepted`]) for a later `--verify-only`.
    pub accepted_file: Option<PathBuf>,
    /// The synthetic population the gateway's mock registries answer from (the same seed and size
    /// give the same people): applicants are taken from it. Default: `reggate serve`'s (2024, 10,000).
    pub population: PopulationConfig,
    /// Seed of the run's own choices (mix draws, invalid variants); the same seed, the same sequence.
    pub seed: u64,
    /// Attempts after the first for a submission or upload that got no answer or a 5xx, with the
    /// same `Idempotency-Key` (what a cabinet does; what issue 16's crash test relies on). Default 3.
    pub retries: u32,
    /// Time allowed for one request. Default 30 s.
    pub timeout: Duration,
    /// Open loop only: scenarios allowed in flight at once; beyond it a start is skipped and counted
    /// (the client, not the gateway, is then the bottleneck). Default 20,000.
    pub max_in_flight: usize,
    /// Print a progress line on stderr once a second.
    pub progress: bool,
    /// Told of the progress once a second (e.g. a crash test killing the gateway at some point).
    pub observer: Option<Observer>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("target", &self.target)
            .field("duration", &self.duration)
            .field("pace", &self.pace)
            .field("connections", &self.connections)
            .field("mix", &self.mix.to_string())
            .field("documents", &self.documents)
            .field("document_bytes", &self.document_bytes)
            .field("backlog", &self.backlog)
            .field("drain", &self.drain)
            .field("verify", &self.verify)
            .field("accepted_file", &self.accepted_file)
            .field("population", &self.population)
            .field("seed", &self.seed)
            .field("retries", &self.retries)
            .field("timeout", &self.timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("progress", &self.progress)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            target: Target::InProcess(InProcess::default()),
            duration: Duration::from_secs(10),
            pace: Pace::FlatOut,
            connections: 32,
            mix: Mix::default(),
            documents: 5,
            document_bytes: 8 * 1024,
            backlog: 0,
            drain: Duration::from_secs(60),
            verify: true,
            accepted_file: None,
            population: PopulationConfig::default(),
            seed: 1,
            retries: 3,
            timeout: Duration::from_secs(30),
            max_in_flight: 20_000,
            progress: false,
            observer: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_reads_back_as_written_and_draws_by_weight() {
        let mix: Mix = "apply=3, invalid=1".parse().expect("mix");
        assert_eq!(mix.to_string(), "apply=3,invalid=1");
        assert_eq!(mix.total(), 4);
        let drawn: Vec<Kind> = (0..4).map(|r| mix.pick(r)).collect();
        assert_eq!(
            drawn,
            [Kind::Apply, Kind::Apply, Kind::Apply, Kind::Invalid]
        );
        assert!("apply=0".parse::<Mix>().is_err());
        assert!("apply=1,apply=2".parse::<Mix>().is_err());
        assert!("bogus=1".parse::<Mix>().is_err());
        assert!("apply".parse::<Mix>().is_err());
    }
}
