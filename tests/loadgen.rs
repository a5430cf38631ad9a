//! The load generator against a gateway on loopback (embedded defaults in a temp dir, mock
//! registries answering from the population the generator walks): a short open-loop run with the
//! whole mix and a small backlog, whose report must add up and whose verification must pass; then
//! the verification on its own, from the file the run wrote, must catch an application that does not
//! exist and one that was never decided.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reggate::clock::{Clock, SystemClock};
use reggate::gateway::{Gateway, GatewayConfig};
use reggate::loadgen::histogram::Latency;
use reggate::loadgen::{
    self, Accepted, Auth, Expect, Kind, Mix, Pace, Plan, Remote, Target, verify,
};
use reggate::mock::population::PopulationConfig;
use reggate::tls::pki::PkiLayout;

const KEY: &str = "loadgen-test-key";

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn ordered(what: &str, l: &Latency) {
    assert!(
        l.p50_ms <= l.p95_ms && l.p95_ms <= l.p99_ms && l.p99_ms <= l.max_ms,
        "{what}: {l:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_of_the_whole_mix_adds_up_and_every_accepted_application_is_decided_once() {
    let dir = fresh("loadgen");
    let population = PopulationConfig {
        seed: 7,
        people: 5_000,
    };
    let config = GatewayConfig::scratch(&dir, population, KEY);
    // The generator judges eligibility on today's date, as this gateway does.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let gw = Gateway::start(config, clock).await.expect("gateway starts");
    let remote = Remote {
        url: format!("https://localhost:{}", gw.api.port()),
        auth: Auth::Bearer(KEY.to_string()),
        ca: PkiLayout::new(dir.join("certs")).internal_ca(),
    };
    let accepted_file = dir.join("accepted.jsonl");
    let ticks = Arc::new(AtomicUsize::new(0));
    let seen = ticks.clone();
    let mix: Mix = "apply=60,submit=10,duplicate=10,eligibility=10,invalid=10"
        .parse()
        .expect("mix");
    let plan = Plan {
        target: Target::Remote(remote.clone()),
        duration: Duration::from_secs(3),
        pace: Pace::Rate(40.0),
        connections: 8,
        mix,
        documents: 4,
        document_bytes: 2048,
        backlog: 20,
        drain: Duration::from_secs(20),
        verify: true,
        accepted_file: Some(accepted_file.clone()),
        population,
        observer: Some(Arc::new(move |_: &loadgen::Progress| {
            seen.fetch_add(1, Ordering::Relaxed);
        })),
        ..Plan::default()
    };
    let report = loadgen::run(&plan).await.expect("the run");
    let text = report.text();

    // Some of everything ran and was accepted.
    assert!(report.accepted > 10, "{text}");
    for kind in Kind::ALL {
        assert!(
            report.scenarios.get(kind.name()).is_some_and(|n| *n > 0),
            "no {} scenario: {text}",
            kind.name()
        );
    }
    let backlog = report.backlog.as_ref().expect("a backlog");
    assert_eq!(backlog.accepted, 20, "{text}");
    assert!(ticks.load(Ordering::Relaxed) >= 2, "the observer is told");

    // The numbers add up: every 202 is one accepted application; invalid requests were refused as
    // expected; nothing else went wrong at this modest rate.
    let submit = &report.requests["submit"];
    assert_eq!(report.accepted, submit.statuses[&202], "{text}");
    assert_eq!(report.acceptance.count, report.accepted, "{text}");
    assert!(report.accepted_in_window <= report.accepted);
    assert_eq!(report.errors, 0, "{text}");
    assert_eq!(report.too_many_requests, 0, "{text}");
    assert_eq!(report.expected_refusals, report.requests["invalid"].sent);
    ordered("acceptance", &report.acceptance);
    ordered("decision", &report.decisions.latency);
    for (name, r) in &report.requests {
        ordered(name, &r.latency);
    }

    // Every application whose documents went up was decided, once; fresh cases were approved,
    // duplicates rejected.
    let d = &report.decisions;
    assert_eq!(d.pending, 0, "{text}");
    assert!(d.decided_twice_in_feed.is_empty(), "{text}");
    let waiting = report.scenarios["submit"];
    assert_eq!(d.decided + d.escalated + waiting, report.accepted, "{text}");
    assert!(
        d.outcomes["apply"].get("approved").is_some_and(|n| *n > 0),
        "{text}"
    );
    assert!(
        d.outcomes["duplicate"]
            .get("rejected")
            .is_some_and(|n| *n > 0),
        "{text}"
    );
    assert!(d.latency.p50_ms >= report.acceptance.p50_ms, "{text}");
    let v = report.verification.as_ref().expect("verified");
    assert!(v.passed(), "{text}");
    assert_eq!(v.checked, report.accepted);
    assert_eq!(v.waiting, waiting);

    // The report reads back from its JSON (floats aside: JSON decimals need not parse back to the
    // same last bit).
    let json = serde_json::to_string(&report).expect("JSON");
    let back: loadgen::Report = serde_json::from_str(&json).expect("reads back");
    assert_eq!(
        (back.accepted, back.decisions.outcomes, back.scenarios),
        (
            report.accepted,
            report.decisions.outcomes.clone(),
            report.scenarios.clone()
        )
    );

    // Verification alone, from the file written during the run: an id the store never had is
    // missing, an application that waits for its documents but is expected decided is undecided.
    let mut list = verify::read_accepted(&accepted_file).expect("the accepted file");
    assert_eq!(list.len() as u64, report.accepted);
    let waits = list
        .iter()
        .find(|a| a.expect == Expect::Waiting)
        .expect("a waiting application")
        .clone();
    list.push(Accepted {
        expect: Expect::Decided,
        ..waits.clone()
    });
    let ghost = "00000000-0000-4000-8000-000000000000".to_string();
    list.push(Accepted {
        id: ghost.clone(),
        number: "RG-00000000-GHOST".into(),
        kind: "apply".into(),
        expect: Expect::Decided,
    });
    let v = loadgen::verify_only(&remote, &list, 8, Duration::from_secs(10))
        .await
        .expect("verification runs");
    assert!(!v.passed());
    assert_eq!(v.missing, [ghost]);
    assert_eq!(v.undecided, [waits.id]);
    assert!(v.decided_twice.is_empty() && v.unreadable.is_empty());

    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
