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

#[path = "support/processes.rs"]
mod processes;

use std::path::Path;
use std::time::{Duration, Instant};

use processes::{Gateway, POPULATION, Registries, fresh, wait_decided};
use reggate::loadgen::{self, Mix, Pace, Plan, Target};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_under_load_loses_nothing_and_decides_what_it_held_soon_after_restart() {
    let dir = fresh("crash");
    let latency: String = ["snils", "inn", "children", "labour"]
        .iter()
        .map(|r| format!("[[{r}]]\nkind = \"latency\"\nfixed_ms = 150\n"))
        .collect();
    let registries = Registries::start(&dir, &latency);
    let mut gateway = Gateway::start(&dir, &registries, "");
    let client = gateway.client(4);
    gateway.wait_until_healthy(&client).await;
    let remote = gateway.remote.clone();

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
    gateway.kill();
    let held = in_hand(&gateway.database);
    assert!(
        !held.is_empty(),
        "with every registry call taking 150 ms, some applications were in hand when it died"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    gateway.restart();
    let restarted = Instant::now();
    gateway.wait_until_healthy(&client).await;

    // What it held is decided soon: one short lease after the last renewal, not a long lease.
    let recovered_in = wait_decided(&client, &held, restarted, Duration::from_secs(30)).await;

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
