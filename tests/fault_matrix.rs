//! The fault matrix: each kind of registry fault the mock can inject, on a fifth of the calls to
//! every registry, while the load tool drives the full flow. Every accepted application must end
//! decided, escalated to a reviewer, or parked with its reason visible in the API; and not one
//! request that reached a registry may be schema-invalid (the mock's own counters say so), whatever
//! came back.
//!
//! `reggate mock` and `reggate serve` run as processes (tests/support/processes.rs); the plan is
//! changed through the mock's admin endpoint between phases, one phase a kind.

#[path = "support/processes.rs"]
mod processes;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use processes::{Gateway, POPULATION, Registries, fresh, view};
use reggate::loadgen::{self, Mix, Pace, Plan, Target};
use reggate::mock::counters::RegistryCounts;
use reggate::mock::faults::FaultKind;
use serde_json::{Value, json};

/// The share of calls each fault is injected into.
const SHARE: f64 = 0.2;

/// The rules of `kind`'s phase: one rule of `kind` at [`SHARE`], with the parameters it needs.
fn rules(kind: FaultKind) -> Value {
    match kind {
        // A handshake fault can only hit a new connection, and the gateway keeps its connections
        // alive: resets on a fifth of the calls as well make it connect again and again.
        FaultKind::TlsHandshake => json!([rule(kind), rule(FaultKind::ConnectionReset)]),
        _ => json!([rule(kind)]),
    }
}

/// One rule of `kind` at [`SHARE`], with the parameters the kind needs.
fn rule(kind: FaultKind) -> Value {
    let mut rule = json!({"kind": kind.name(), "share": SHARE});
    match kind {
        FaultKind::Latency => rule["fixed_ms"] = json!(300),
        FaultKind::Unavailable | FaultKind::TooManyRequests => rule["retry_after_s"] = json!(1),
        FaultKind::SlowBody => rule["duration_ms"] = json!(1500),
        // The listener is closed for a fifth of the phase's 4 s, from the moment the rule is set.
        FaultKind::Refuse => {
            rule = json!({"kind": kind.name(), "duration_ms": 800});
        }
        _ => {}
    }
    rule
}

/// How the applications of one phase ended.
#[derive(Debug, Default)]
struct Outcome {
    accepted: usize,
    decided: usize,
    escalated: usize,
    parked: usize,
    /// Neither decided, escalated, nor parked with a reason: what the matrix must never find.
    unexplained: Vec<String>,
    seconds: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_every_fault_kind_applications_end_decided_or_parked_with_a_reason_and_no_invalid_xml_leaves()
 {
    let dir = fresh("fault-matrix");
    let registries = Registries::start(&dir, "");
    let gateway = Gateway::start(&dir, &registries, "");
    let client = gateway.client(8);
    gateway.wait_until_healthy(&client).await;

    let mut outcomes: BTreeMap<&str, Outcome> = BTreeMap::new();
    for (phase, kind) in FaultKind::ALL.into_iter().enumerate() {
        let started = Instant::now();
        let plan: serde_json::Map<String, Value> = ["snils", "inn", "children", "labour"]
            .iter()
            .map(|r| (r.to_string(), rules(kind)))
            .collect();
        registries.set_faults(&Value::Object(plan));
        let accepted_file = dir.join(format!("{}.jsonl", kind.name()));
        let report = loadgen::run(&Plan {
            target: Target::Remote(gateway.remote.clone()),
            duration: Duration::from_secs(4),
            pace: Pace::Rate(8.0),
            connections: 8,
            mix: Mix::only(loadgen::Kind::Apply),
            drain: Duration::from_secs(20),
            verify: false,
            accepted_file: Some(accepted_file.clone()),
            population: POPULATION,
            // Each phase its own applicants: the run's seed picks where the walk starts.
            seed: phase as u64 + 1,
            timeout: Duration::from_secs(30),
            progress: false,
            ..Plan::default()
        })
        .await
        .expect("the load tool ran");
        assert_eq!(
            report.errors,
            0,
            "{}: the API itself stays healthy: {:?}",
            kind.name(),
            report.example_errors
        );
        let mut outcome = Outcome::default();
        let accepted = loadgen::verify::read_accepted(&accepted_file).expect("accepted file");
        outcome.accepted = accepted.len();
        let mut left: Vec<String> = accepted.into_iter().map(|a| a.id).collect();
        // One still in a worker's hands (a call hanging, say) is looked at again, for a while.
        let patience = Instant::now() + Duration::from_secs(60);
        loop {
            let mut busy = Vec::new();
            for id in left {
                let v = view(&client, &id).await;
                let reason = v["parked"]["reason"].as_str().unwrap_or_default();
                match v["status"].as_str().unwrap_or_default() {
                    "approved" | "rejected" => outcome.decided += 1,
                    "manual_review" => outcome.escalated += 1,
                    "in_review" if !reason.is_empty() && v["parked"]["registry"].is_string() => {
                        outcome.parked += 1;
                    }
                    _ if Instant::now() < patience => busy.push(id),
                    _ => outcome.unexplained.push(format!("{id}: {v}")),
                }
            }
            if busy.is_empty() {
                break;
            }
            left = busy;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        outcome.seconds = started.elapsed().as_secs_f64();
        outcomes.insert(kind.name(), outcome);
    }
    registries.set_faults(&json!({}));

    let counters: BTreeMap<String, RegistryCounts> =
        serde_json::from_value(registries.counters()).expect("counters");
    let injected = |kind: &str| -> u64 {
        counters
            .values()
            .map(|c| c.faults.get(kind).copied().unwrap_or(0))
            .sum()
    };
    eprintln!("fault matrix ({SHARE} of calls to every registry):");
    for (kind, o) in &outcomes {
        let injected = injected(kind);
        eprintln!(
            "  {kind:<18} injected {injected:>4}  accepted {:>3}  decided {:>3}  escalated {:>2}  parked {:>2}  unexplained {}  ({:.1} s)",
            o.accepted,
            o.decided,
            o.escalated,
            o.parked,
            o.unexplained.len(),
            o.seconds
        );
    }
    for (registry, c) in &counters {
        eprintln!(
            "  {registry}: {} requests, {} schema-invalid",
            c.total_requests(),
            c.invalid_requests()
        );
        assert_eq!(
            c.invalid_requests(),
            0,
            "{registry}: a schema-invalid request reached the registry: {c:?}"
        );
    }
    for (kind, o) in &outcomes {
        assert!(o.accepted >= 10, "{kind}: the load ran: {o:?}");
        assert!(o.unexplained.is_empty(), "{kind}: {:#?}", o.unexplained);
        assert!(
            o.decided * 2 >= o.accepted,
            "{kind}: most applications are decided despite a fifth of calls failing: {o:?}"
        );
        if *kind != "latency" {
            // Latency is counted nowhere: it only delays the answer.
            assert!(injected(kind) > 0, "{kind}: the fault was injected");
        }
    }
}
