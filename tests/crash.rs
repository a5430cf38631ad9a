//! The crash test: the gateway process is killed (`SIGKILL`) while the load tool drives the full
//! flow against it, and started again. Afterwards every application it answered 202 is in the
//! store and decided exactly once, and the applications it had in hand when it died are decided
//! within seconds of the restart: leases are short and renewed while held, so a dead process's
//! claims come free soon after its last renewal.
//!
//! Everything runs as it would in production: `reggate mock` (the registries, which live on
//! across the crash, 150 ms a call so applications are in hand at any moment) and `reggate serve`
//! (SQLite, HTTPS API) as processes of the built binary; the load tool drives them through its
//! library API at a fixed rate, retrying submissions and uploads through the restart.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reggate::loadgen::{self, Auth, Mix, Pace, Plan, Remote, Target};
use reggate::mock::population::PopulationConfig;

const KEY: &str = "crash-test-key-0123456789abcdef";
const BINARY: &str = env!("CARGO_BIN_EXE_reggate");
const POPULATION: PopulationConfig = PopulationConfig {
    seed: 2024,
    people: 12_000,
};

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn project(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `reggate mock` on free ports, every call delayed by `latency_ms`; the gateway configuration's
/// `[registries.*]` sections for it.
fn start_mock(dir: &Path, latency_ms: u64) -> (Process, String) {
    let faults = dir.join("faults.toml");
    let plan: String = ["snils", "inn", "children", "labour"]
        .iter()
        .map(|r| format!("[[{r}]]\nkind = \"latency\"\nfixed_ms = {latency_ms}\n"))
        .collect();
    std::fs::write(&faults, plan).expect("fault plan");
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
        .arg(&faults)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reggate mock starts");
    let stderr = child.stderr.take().expect("stderr");
    let process = Process(child);
    // `mock snils https://localhost:PORT/registry/snils  (token: https://localhost:PORT/token, …`
    let mut sections = String::new();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.expect("mock output");
        if line.starts_with("mock admin") {
            break;
        }
        let mut words = line.split_whitespace();
        let (Some("mock"), Some(registry), Some(url)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let token = url.replace(&format!("/registry/{registry}"), "/token");
        sections.push_str(&format!(
            "[registries.{registry}]\nurl = {url:?}\ntoken_url = {token:?}\n"
        ));
    }
    assert_eq!(sections.matches("[registries.").count(), 4, "{sections}");
    // Whatever it says later is read and dropped, so a full pipe never stops it.
    std::thread::spawn(move || lines.for_each(drop));
    (process, sections)
}

/// A free loopback port (the gateway binds it again after its restart, so the load tool's URL
/// stays the same).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start_gateway(config: &Path, log: &Path) -> Process {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    Process(
        Command::new(BINARY)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("reggate serve starts"),
    )
}

async fn wait_until_healthy(client: &loadgen::client::Client, log: &Path) {
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
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Applications the dead process held under a lease, read from its SQLite file.
fn in_hand(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("the gateway's database");
    let mut stmt = conn
        .prepare(
            "SELECT id FROM applications WHERE status = 'in_review' AND lease_holder IS NOT NULL",
        )
        .expect("query");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids")
}

async fn status_of(client: &loadgen::client::Client, id: &str) -> String {
    let answer = client
        .get(&format!("/v1/applications/{id}"))
        .await
        .expect("the gateway answers");
    assert_eq!(answer.status, 200, "{id}");
    let view: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    view["status"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_under_load_loses_nothing_and_decides_what_it_held_soon_after_restart() {
    let dir = fresh("crash");
    let (_mock, registries) = start_mock(&dir, 150);
    let port = free_port();
    let config = dir.join("reggate.toml");
    std::fs::write(
        &config,
        format!(
            "data = {data:?}\ncerts = {certs:?}\n[api]\nlisten = \"127.0.0.1:{port}\"\nkeys = [{KEY:?}]\n\
             [mock]\npeople = {people}\nseed = {seed}\n[registries]\nmock = false\n{registries}",
            data = dir.join("data"),
            certs = dir.join("certs"),
            people = POPULATION.people,
            seed = POPULATION.seed,
        ),
    )
    .expect("config");
    let log = dir.join("gateway.log");
    let mut gateway = start_gateway(&config, &log);
    let remote = Remote {
        url: format!("https://localhost:{port}"),
        auth: Auth::Bearer(KEY.into()),
        ca: dir.join("certs").join("internal-ca.pem"),
    };
    let client = loadgen::client::Client::new(&remote, 4, Duration::from_secs(10)).expect("client");
    wait_until_healthy(&client, &log).await;

    let accepted_file = dir.join("accepted.jsonl");
    let plan = Plan {
        target: Target::Remote(remote.clone()),
        duration: Duration::from_secs(12),
        pace: Pace::Rate(30.0),
        connections: 16,
        mix: Mix::only(loadgen::Kind::Apply),
        drain: Duration::from_secs(90),
        accepted_file: Some(accepted_file.clone()),
        population: POPULATION,
        // Retried with the same keys through the restart: 0.2 + 0.4 + … ≈ 11 s of retries.
        retries: 8,
        timeout: Duration::from_secs(10),
        progress: false,
        ..Plan::default()
    };
    let run = tokio::spawn(async move { loadgen::run(&plan).await });

    // Mid-run: SIGKILL, no chance to drain or give anything up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    gateway.0.kill().expect("SIGKILL");
    gateway.0.wait().expect("reaped");
    let held = in_hand(&dir.join("data").join("reggate.sqlite"));
    assert!(
        !held.is_empty(),
        "with every registry call taking 150 ms, some applications were in hand when it died"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _gateway = start_gateway(&config, &log);
    let restarted = Instant::now();
    wait_until_healthy(&client, &log).await;

    // What it held is decided soon: one short lease after the last renewal, not a long lease.
    let mut pending = held.clone();
    while !pending.is_empty() {
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "{} of the {} applications in hand at the crash still undecided 30 s after the restart",
            pending.len(),
            held.len()
        );
        let mut still = Vec::new();
        for id in pending {
            let status = status_of(&client, &id).await;
            if status == "in_review" || status == "submitted" {
                still.push(id);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_in = restarted.elapsed();

    let report = run.await.expect("the run").expect("the load tool ran");
    let verification = report.verification.as_ref().expect("verified");
    eprintln!(
        "crash test: {} accepted ({} errors while the gateway was down), {} in hand at the kill, all decided {:.1} s after the restart; verification: {} checked, {} decided once in {:.1} s",
        report.accepted,
        report.errors,
        held.len(),
        recovered_in.as_secs_f64(),
        verification.checked,
        verification.decided,
        verification.seconds,
    );
    assert!(
        report.accepted > 100,
        "the load ran on both sides of the crash: {report:?}"
    );
    assert!(verification.passed(), "{verification:?}");
    assert_eq!(verification.checked, report.accepted);
    assert_eq!(
        verification.decided + verification.escalated,
        verification.checked,
        "every accepted application decided: {verification:?}"
    );
    // The file written as the run went (the record a tester keeps) says the same.
    let listed = loadgen::verify::read_accepted(&accepted_file).expect("accepted file");
    assert_eq!(listed.len() as u64, report.accepted);
    let again = loadgen::verify_only(&remote, &listed, 8, Duration::from_secs(10))
        .await
        .expect("verify");
    assert!(again.passed(), "{again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
