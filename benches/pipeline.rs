//! The whole outbound pipeline against the mock registries on loopback: VerifySnils calls (envelope,
//! request validation, token, mTLS keep-alive, response validation, payload read, message log on
//! SQLite) from `CONCURRENCY` tasks, the mock in the same process on the same two cores.
//!
//! `cargo bench --bench pipeline` prints calls/s, p50/p99 latency, and the share of the process's CPU
//! time spent in the gateway's own validation (request + response, measured by validating the same
//! envelopes alone). The mock's work (it validates every request too) is in the process total.

#[path = "../tests/support/mock_harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::Harness;
use reggate::contract::Operation;
use reggate::mock::render;
use reggate::soap::client::{CallContext, Settings, envelope};
use reggate::soap::log::{MessageLog, SqliteMessageLog};
use reggate::xml::validate::{Options, validate_bytes};

const CONCURRENCY: usize = 32;
const CALLS: usize = 20_000;

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of /proc/self/stat (11 and 12 after the name).
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let h = Harness::start("bench-pipeline").await;
        let dir = harness::tempdir("bench-pipeline-log");
        let log = Arc::new(
            SqliteMessageLog::open(
                &dir.join("log.sqlite"),
                Duration::from_secs(3600),
                h.clock.clone(),
            )
            .expect("log"),
        );
        let (client, _) = h.soap_client(Settings::default(), log.clone() as Arc<dyn MessageLog>);
        let client = Arc::new(client);
        let people = h.state.population.export_people(100);
        let payloads: Arc<Vec<String>> = Arc::new(
            people["people"]
                .as_array()
                .expect("people")
                .iter()
                .filter_map(|e| e["applicant"]["snils"].as_str())
                .filter_map(|s| h.state.population.person_by_snils(s))
                .map(|p| render::snils_request(&p))
                .collect(),
        );
        // Warm up: connections, token.
        for p in payloads.iter().take(CONCURRENCY) {
            client
                .call(&CallContext::new("warm"), Operation::VerifySnils, p)
                .await
                .expect("warm-up call");
        }
        let cpu0 = cpu_time();
        let started = Instant::now();
        let tasks: Vec<_> = (0..CONCURRENCY)
            .map(|t| {
                let (client, payloads) = (client.clone(), payloads.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(CALLS / CONCURRENCY);
                    for i in 0..CALLS / CONCURRENCY {
                        let payload = &payloads[(t * 31 + i) % payloads.len()];
                        let at = Instant::now();
                        let ctx = CallContext::new(format!("bench-{t}-{i}"));
                        client
                            .call(&ctx, Operation::VerifySnils, payload)
                            .await
                            .expect("call");
                        latencies.push(at.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(CALLS);
        for t in tasks {
            latencies.extend(t.await.expect("task"));
        }
        let wall = started.elapsed();
        log.flush();
        let cpu = cpu_time().saturating_sub(cpu0);
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

        // The gateway's validation alone, on the same envelopes: one request, one response per call.
        let request = envelope("bench-0-0", &payloads[0]);
        let answer = client
            .call(
                &CallContext::new("sample"),
                Operation::VerifySnils,
                &payloads[0],
            )
            .await
            .expect("sample");
        let n = 5_000;
        let v0 = Instant::now();
        for _ in 0..n {
            let a = validate_bytes(&h.state.schema, request.as_bytes(), &Options::default());
            let b = validate_bytes(&h.state.schema, &answer.envelope, &Options::default());
            assert!(a.is_valid() && b.is_valid());
        }
        let per_call = v0.elapsed() / n;
        let calls = latencies.len();
        let validation = per_call * calls as u32;
        println!(
            "pipeline: {calls} VerifySnils calls, {CONCURRENCY} concurrent, in {:.2} s",
            wall.as_secs_f64()
        );
        println!(
            "  throughput: {:.0} calls/s",
            calls as f64 / wall.as_secs_f64()
        );
        println!(
            "  latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            latencies[calls - 1].as_secs_f64() * 1e3
        );
        println!(
            "  process CPU: {:.2} s ({:.0}% of 2 cores)",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / wall.as_secs_f64() / 2.0 * 100.0
        );
        println!(
            "  gateway validation: {:.1} us per call (request + response), {:.1}% of process CPU",
            per_call.as_secs_f64() * 1e6,
            validation.as_secs_f64() / cpu.as_secs_f64().max(1e-9) * 100.0
        );
        h.stop().await;
    });
}
