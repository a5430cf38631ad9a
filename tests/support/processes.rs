//! The gateway and the mock registries as processes of the built binary (`reggate serve`,
//! `reggate mock`), as ops runs them: for tests that kill the gateway, or steer the registries'
//! faults through the mock's admin endpoint, while the load tool drives the API.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reggate::loadgen::client::Client;
use reggate::loadgen::{Auth, Remote};
use reggate::mock::population::PopulationConfig;

/// The API key of every process gateway (a reviewer's).
pub const KEY: &str = "process-test-key-0123456789abcdef";
const BINARY: &str = env!("CARGO_BIN_EXE_reggate");

/// The mock registries' population; the load tool walks the same one.
pub const POPULATION: PopulationConfig = PopulationConfig {
    seed: 2024,
    people: 12_000,
};

/// A child process killed when dropped, however the test ends.
pub struct Process(Child);

impl Process {
    /// `SIGKILL`, and wait until it is gone.
    pub fn kill(&mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reaped");
    }

    /// Send `signal` (`HUP`, `TERM`, `INT`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.0.id().to_string())
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal}");
    }

    /// Wait up to `limit` for the process to exit; its status, or none if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A new empty directory for one test.
pub fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn project(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `reggate mock` on free ports, with its development PKI in `<dir>/certs`.
pub struct Registries {
    _process: Process,
    /// The gateway configuration's `[registries.*]` sections for it.
    pub sections: String,
    /// Its admin endpoint (plain HTTP).
    pub admin: SocketAddr,
}

impl Registries {
    /// Start with the fault plan `faults` (TOML, as `--faults`; empty: none).
    pub fn start(dir: &Path, faults: &str) -> Registries {
        let plan = dir.join("faults.toml");
        std::fs::write(&plan, faults).expect("fault plan");
        let mut child = Command::new(BINARY)
            .args(["mock", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .arg("--people")
            .arg(POPULATION.people.to_string())
            .arg("--seed")
            .arg(POPULATION.seed.to_string())
            .arg("--certs")
            .arg(dir.join("certs"))
            .arg("--schemas")
            .arg(project("schemas"))
            .arg("--wsdl")
            .arg(project("wsdl"))
            .arg("--faults")
            .arg(&plan)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("reggate mock starts");
        let stderr = child.stderr.take().expect("stderr");
        let process = Process(child);
        // `mock snils https://localhost:PORT/registry/snils  (token: …)`, one line a registry, then
        // `mock admin    http://127.0.0.1:PORT/admin/{health,faults,counters}`.
        let mut sections = String::new();
        let mut admin = None;
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            let line = line.expect("mock output");
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["mock", "admin", url, ..] => {
                    let authority = url.trim_start_matches("http://").split('/').next();
                    admin = authority.and_then(|a| a.parse().ok());
                    break;
                }
                ["mock", registry, url, ..] => {
                    let token = url.replace(&format!("/registry/{registry}"), "/token");
                    sections.push_str(&format!(
                        "[registries.{registry}]\nurl = {url:?}\ntoken_url = {token:?}\n"
                    ));
                }
                _ => {}
            }
        }
        assert_eq!(sections.matches("[registries.").count(), 4, "{sections}");
        // Whatever it says later is read and dropped, so a full pipe never stops it.
        std::thread::spawn(move || lines.for_each(drop));
        Registries {
            _process: process,
            sections,
            admin: admin.expect("the admin endpoint's address"),
        }
    }

    /// Replace the whole fault plan (JSON, the `--faults` document's shape).
    pub fn set_faults(&self, plan: &serde_json::Value) {
        let (status, body) = self.admin_call("PUT", "/admin/faults", &plan.to_string());
        assert_eq!(status, 200, "{body}");
    }

    /// The counters by registry (`GET /admin/counters`).
    pub fn counters(&self) -> serde_json::Value {
        let (status, body) = self.admin_call("GET", "/admin/counters", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("counters JSON")
    }

    fn admin_call(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.admin).expect("admin endpoint");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }
}

/// `reggate serve` on SQLite in `<dir>/data`, its API on a fixed loopback port (the same after a
/// restart, so the load tool's URL holds), calling `registries`. Its API key is a reviewer's.
pub struct Gateway {
    /// The running process.
    pub process: Option<Process>,
    config: PathBuf,
    /// Its stderr, across restarts.
    pub log: PathBuf,
    /// Where the load tool finds it.
    pub remote: Remote,
    /// Its SQLite file.
    pub database: PathBuf,
}

impl Gateway {
    /// Configure and start it; `extra` is appended to its configuration (TOML).
    pub fn start(dir: &Path, registries: &Registries, extra: &str) -> Gateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = dir.join("reggate.toml");
        std::fs::write(
            &config,
            format!(
                "data = {data:?}\ncerts = {certs:?}\n[api]\nlisten = \"127.0.0.1:{port}\"\nkeys = [{KEY:?}]\n\
                 reviewers = [\"key:configured-0\"]\n\
                 [mock]\npeople = {people}\nseed = {seed}\n{extra}\n[registries]\nmock = false\n{sections}",
                data = dir.join("data"),
                certs = dir.join("certs"),
                people = POPULATION.people,
                seed = POPULATION.seed,
                sections = registries.sections,
            ),
        )
        .expect("config");
        let mut gateway = Gateway {
            process: None,
            config,
            log: dir.join("gateway.log"),
            remote: Remote {
                url: format!("https://localhost:{port}"),
                auth: Auth::Bearer(KEY.into()),
                ca: dir.join("certs").join("internal-ca.pem"),
            },
            database: dir.join("data").join("reggate.sqlite"),
        };
        gateway.restart();
        gateway
    }

    /// Start the process (again).
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        self.process = Some(Process(
            Command::new(BINARY)
                .arg("serve")
                .arg("--config")
                .arg(&self.config)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("reggate serve starts"),
        ));
    }

    /// The file its stderr goes to (every start appends): the process log.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `SIGKILL`: no chance to drain or give anything up.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    /// A client of its API.
    pub fn client(&self, connections: usize) -> Client {
        Client::new(&self.remote, connections, Duration::from_secs(10)).expect("client")
    }

    /// Wait (at most a minute) until `/v1/health` answers 200.
    pub async fn wait_until_healthy(&self, client: &Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if client
                .get("/v1/health")
                .await
                .is_ok_and(|a| a.status == 200)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the gateway did not come up: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// Wait until none of `ids` is `submitted` or `in_review` any more; panics when that takes longer
/// than `limit` from `since`, and answers how long it took from `since`.
pub async fn wait_decided(
    client: &Client,
    ids: &[String],
    since: Instant,
    limit: Duration,
) -> Duration {
    let mut pending = ids.to_vec();
    while !pending.is_empty() {
        assert!(
            since.elapsed() < limit,
            "{} of {} applications still undecided after {limit:?}",
            pending.len(),
            ids.len()
        );
        let mut still = Vec::new();
        for id in pending {
            let status = view(client, &id).await["status"].clone();
            if status == "in_review" || status == "submitted" {
                still.push(id);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    since.elapsed()
}

/// `GET /v1/applications/{id}`.
pub async fn view(client: &Client, id: &str) -> serde_json::Value {
    let answer = client
        .get(&format!("/v1/applications/{id}"))
        .await
        .expect("the gateway answers");
    assert_eq!(answer.status, 200, "{id}");
    serde_json::from_slice(&answer.body).expect("JSON")
}
