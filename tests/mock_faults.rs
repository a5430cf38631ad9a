//! Every injected fault kind of the mock registries, observed by a raw client over real mTLS on
//! loopback exactly as configured; scripted sequences and operation filters; the counters; the admin
//! endpoint; graceful shutdown with a call in flight.

#[path = "support/mock_harness.rs"]
mod harness;

use std::io::ErrorKind;
use std::time::Duration;

use harness::{Harness, STEP, fault, sample_adult};
use reggate::contract::{Operation, Registry};
use reggate::mock::faults::{FaultKind, Rule};
use reggate::mock::render;
use reggate::mock::server::GRACE;
use reggate::xml::validate::{Options, validate_bytes};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

const OP: Operation = Operation::VerifySnils;

/// A valid VerifySnils payload and a token.
async fn call_setup(h: &Harness) -> (String, String) {
    let adult = sample_adult(&h.state);
    (h.token().await, render::snils_request(&adult))
}

fn is_schema_valid(h: &Harness, body: &[u8]) -> bool {
    validate_bytes(&h.state.schema, body, &Options::default()).is_valid()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_faults_answer_as_configured_then_the_registry_answers_again() {
    let h = Harness::start("status-faults").await;
    let (token, payload) = call_setup(&h).await;
    h.set_faults(
        Registry::Snils,
        &[
            Rule::new(FaultKind::ServerFault).times(1),
            Rule::new(FaultKind::Unavailable).retry_after(7).times(1),
            Rule::new(FaultKind::TooManyRequests)
                .retry_after(3)
                .times(1),
            Rule::new(FaultKind::ExpiredToken).times(1),
        ],
    );
    let raw = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(raw.status(), Some(500), "{}", raw.text());
    assert_eq!(fault(&raw.text()), ("soap:Server", "INTERNAL_ERROR"));
    assert!(raw.text().contains("retryable=\"true\""), "{}", raw.text());

    let raw = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(raw.status(), Some(503), "{}", raw.text());
    assert!(raw.head().contains("retry-after: 7"), "{}", raw.head());
    assert!(raw.head().contains("content-type: text/html"));

    let raw = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(raw.status(), Some(429));
    assert!(raw.head().contains("retry-after: 3"), "{}", raw.head());
    assert_eq!(fault(&raw.text()), ("soap:Server", "RATE_LIMITED"));

    let raw = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(raw.status(), Some(500));
    assert_eq!(fault(&raw.text()), ("soap:Client", "TOKEN_EXPIRED"));
    assert!(!raw.text().contains("MATCH"), "never data with a fault");

    // The script is spent: the real answer.
    let raw = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(raw.status(), Some(200), "{}", raw.text());
    assert!(is_schema_valid(&h, &raw.body()));

    let counts = h.state.counters.registry(Registry::Snils);
    for kind in [
        FaultKind::ServerFault,
        FaultKind::Unavailable,
        FaultKind::TooManyRequests,
        FaultKind::ExpiredToken,
    ] {
        assert_eq!(counts.fault(kind), 1, "{kind}");
    }
    assert_eq!(counts.requests["VerifySnils"].valid, 5);
    assert_eq!(counts.invalid_requests(), 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_bodies_are_malformed_or_schema_invalid() {
    let h = Harness::start("mangled").await;
    let (token, payload) = call_setup(&h).await;
    h.set_faults(
        Registry::Snils,
        &[
            Rule::new(FaultKind::MalformedXml).times(1),
            Rule::new(FaultKind::SchemaInvalid).times(1),
        ],
    );
    let malformed = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(malformed.status(), Some(200));
    assert_eq!(malformed.content_length(), Some(malformed.body().len()));
    let report = validate_bytes(&h.state.schema, &malformed.body(), &Options::default());
    assert!(!report.is_valid());
    assert!(
        report.violations[0].rule.contains("well-formed")
            || report.violations[0].message.contains("Envelop"),
        "{:?}",
        report.violations
    );

    let invalid = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(invalid.status(), Some(200));
    let report = validate_bytes(&h.state.schema, &invalid.body(), &Options::default());
    assert!(!report.is_valid(), "{}", invalid.text());
    assert!(
        report.violations[0].path.contains("VerifySnilsResponse"),
        "{:?}",
        report.violations
    );
    let counts = h.state.counters.registry(Registry::Snils);
    assert_eq!(counts.fault(FaultKind::MalformedXml), 1);
    assert_eq!(counts.fault(FaultKind::SchemaInvalid), 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_invalid_answers_are_invalid_for_every_operation() {
    let h = Harness::start("invalid-every-op").await;
    let token = h.token().await;
    for registry in Registry::ALL {
        h.set_faults(registry, &[Rule::new(FaultKind::SchemaInvalid)]);
    }
    // Even a request the registry faults (here: an empty payload) comes back mangled and invalid.
    for op in Operation::ALL {
        let raw = h.soap_raw(op, &token, "<x/>", STEP).await;
        assert!(raw.status().is_some(), "{op}");
        assert!(!is_schema_valid(&h, &raw.body()), "{op}: {}", raw.text());
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_reset_answers_end_the_connection_mid_body() {
    let h = Harness::start("cut").await;
    let (token, payload) = call_setup(&h).await;
    h.set_faults(
        Registry::Snils,
        &[
            Rule::new(FaultKind::TruncatedBody).times(1),
            Rule::new(FaultKind::ConnectionReset).times(1),
        ],
    );
    let truncated = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(truncated.status(), Some(200), "{}", truncated.text());
    let declared = truncated.content_length().expect("content-length");
    assert!(
        truncated.body().len() < declared,
        "{} of {declared}",
        truncated.body().len()
    );
    assert!(!truncated.body().is_empty(), "part of the body arrives");
    // Closed without TLS close_notify: the client sees an unexpected end, not a reset.
    assert_eq!(truncated.error, Some(ErrorKind::UnexpectedEof));

    let reset = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(reset.status(), Some(200), "{}", reset.text());
    assert!(reset.body().len() < reset.content_length().expect("content-length"));
    assert_eq!(reset.error, Some(ErrorKind::ConnectionReset));

    let counts = h.state.counters.registry(Registry::Snils);
    assert_eq!(counts.fault(FaultKind::TruncatedBody), 1);
    assert_eq!(counts.fault(FaultKind::ConnectionReset), 1);
    // The listener serves on.
    let raw = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(raw.status(), Some(200));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_slow_bodies_and_hangs_take_their_time() {
    let h = Harness::start("slow").await;
    let (token, payload) = call_setup(&h).await;
    h.set_faults(
        Registry::Snils,
        &[
            Rule::new(FaultKind::Latency).latency(300, 0).times(1),
            Rule::new(FaultKind::SlowBody)
                .duration(Duration::from_millis(600))
                .times(1),
        ],
    );
    // The first call: 300 ms latency and a slow body of 600 ms.
    let slow = h.soap_raw(OP, &token, &payload, STEP).await;
    assert_eq!(slow.status(), Some(200));
    assert!(
        slow.elapsed >= Duration::from_millis(850),
        "{:?}",
        slow.elapsed
    );
    assert!(
        is_schema_valid(&h, &slow.body()),
        "a slow body is still the answer"
    );
    let quick = h.soap_raw(OP, &token, &payload, STEP).await;
    assert!(
        quick.elapsed < Duration::from_millis(300),
        "{:?}",
        quick.elapsed
    );

    h.set_faults(Registry::Snils, &[Rule::new(FaultKind::Hang).times(1)]);
    let hung = h
        .soap_raw(OP, &token, &payload, Duration::from_millis(700))
        .await;
    assert_eq!(hung.error, Some(ErrorKind::TimedOut));
    assert!(hung.bytes.is_empty(), "nothing at all: {}", hung.text());
    assert_eq!(
        h.state
            .counters
            .registry(Registry::Snils)
            .fault(FaultKind::Hang),
        1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_sequence_limited_to_one_operation_fails_twice_then_answers() {
    let h = Harness::start("script").await;
    let token = h.token().await;
    let adult = sample_adult(&h.state);
    h.set_faults(
        Registry::Inn,
        &[Rule::new(FaultKind::ServerFault)
            .operation(Operation::FindInn)
            .times(2)],
    );
    // VerifyInn is not touched by the FindInn rule.
    let (status, _) = h
        .soap(
            Operation::VerifyInn,
            Some(&token),
            &render::verify_inn_request(&adult),
        )
        .await;
    assert_eq!(status, 200);
    let find = render::inn_request(&adult);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(h.soap(Operation::FindInn, Some(&token), &find).await.0);
    }
    assert_eq!(statuses, [500, 500, 200]);
    let counts = h.state.counters.registry(Registry::Inn);
    assert_eq!(counts.fault(FaultKind::ServerFault), 2);
    assert_eq!(counts.requests["FindInn"].valid, 3);
    assert_eq!(counts.requests["VerifyInn"].valid, 1);
    // A schema-invalid request is counted as such, fault or not.
    let (status, _) = h
        .soap(
            Operation::FindInn,
            Some(&token),
            "<inn:FindInnRequest xmlns:inn=\"urn://reggate/registry/inn/1.0.0\"/>",
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        h.state.counters.registry(Registry::Inn).requests["FindInn"].invalid,
        1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_tls_handshake_and_a_closed_listener_hit_one_registry_only() {
    let h = Harness::start("conn-faults").await;
    h.set_faults(
        Registry::Children,
        &[Rule::new(FaultKind::TlsHandshake).times(1)],
    );
    let tcp = TcpStream::connect(h.server.addr(Registry::Children))
        .await
        .expect("tcp connects");
    let name = ServerName::try_from("localhost").expect("name");
    let err = tokio::time::timeout(STEP, h.connector().connect(name, tcp))
        .await
        .expect("bounded")
        .expect_err("the handshake fails");
    assert!(
        err.to_string().to_lowercase().contains("handshakefailure"),
        "{err}"
    );
    // Spent after one: the next handshake succeeds.
    let _ = h.token_at(Registry::Children).await;
    assert_eq!(
        h.state
            .counters
            .registry(Registry::Children)
            .fault(FaultKind::TlsHandshake),
        1
    );

    // A minute by the mock's clock: only moving the clock can end it within this test's bounds.
    h.set_faults(
        Registry::Labour,
        &[Rule::new(FaultKind::Refuse).duration(Duration::from_secs(60))],
    );
    let addr = h.server.addr(Registry::Labour);
    // The listener closes at once (polled: the accept loop sees the change on its own task).
    let refused = async {
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(2), refused)
        .await
        .expect("connections are refused");
    // The others serve on meanwhile.
    let _ = h.token_at(Registry::Inn).await;
    assert!(h.state.faults.closed_for(Registry::Labour).is_some());
    // And it listens again once the clock has passed the window (polled, as above).
    h.clock.advance(Duration::from_secs(60));
    assert!(h.state.faults.closed_for(Registry::Labour).is_none());
    let reopened = async {
        loop {
            if TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), reopened)
        .await
        .expect("listening again");
    let _ = h.token_at(Registry::Labour).await;
    assert_eq!(
        h.state
            .counters
            .registry(Registry::Labour)
            .fault(FaultKind::Refuse),
        1
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_of_calls_fails() {
    let h = Harness::start("share").await;
    let (token, payload) = call_setup(&h).await;
    h.set_faults(
        Registry::Snils,
        &[Rule::new(FaultKind::ServerFault).share(0.5)],
    );
    let mut failed = 0;
    for _ in 0..40 {
        if h.soap_raw(OP, &token, &payload, STEP).await.status() == Some(500) {
            failed += 1;
        }
    }
    assert!(
        (8..=32).contains(&failed),
        "{failed} of 40 at a share of 0.5"
    );
    assert_eq!(
        h.state
            .counters
            .registry(Registry::Snils)
            .fault(FaultKind::ServerFault),
        failed
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_endpoint_sets_faults_and_reports_counters() {
    let h = Harness::start("admin").await;
    let (token, payload) = call_setup(&h).await;
    let (status, body) = h.admin("GET", "/admin/health", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("/registry/labour"), "{body}");

    // A wrong rule is refused whole, naming the rule and field.
    let (status, body) = h
        .admin(
            "PUT",
            "/admin/faults/snils",
            r#"[{"kind":"server_fault","times":1},{"kind":"latency"}]"#,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("snils[1].fixed_ms"), "{body}");
    let (status, body) = h
        .admin(
            "PUT",
            "/admin/faults/snils",
            r#"[{"kind":"server_fault","shrae":1}]"#,
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("shrae"), "{body}");
    assert!(h.state.faults.plan().snils.is_empty());

    let (status, body) = h
        .admin(
            "PUT",
            "/admin/faults/snils",
            r#"[{"kind":"server_fault","operation":"VerifySnils","times":2}]"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        h.soap_raw(OP, &token, &payload, STEP).await.status(),
        Some(500)
    );
    let (_, plan) = h.admin("GET", "/admin/faults", "").await;
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("json");
    assert_eq!(plan["snils"][0]["times"], 1, "{plan}");

    let (_, counters) = h.admin("GET", "/admin/counters", "").await;
    let counters: serde_json::Value = serde_json::from_str(&counters).expect("json");
    assert_eq!(counters["snils"]["faults"]["server_fault"], 1, "{counters}");
    assert_eq!(counters["snils"]["requests"]["VerifySnils"]["valid"], 1);
    assert_eq!(counters["snils"]["tokens_issued"], 1);

    let (status, _) = h.admin("DELETE", "/admin/faults", "").await;
    assert_eq!(status, 204);
    assert_eq!(
        h.soap_raw(OP, &token, &payload, STEP).await.status(),
        Some(200)
    );
    let (status, _) = h.admin("DELETE", "/admin/counters", "").await;
    assert_eq!(status, 204);
    assert_eq!(
        h.state.counters.registry(Registry::Snils).total_requests(),
        0
    );
    let (status, _) = h.admin("PUT", "/admin/faults/nowhere", "[]").await;
    assert_eq!(status, 404);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_call_in_flight_finish_and_releases_hung_ones() {
    let h = Harness::start("graceful").await;
    let (token, payload) = call_setup(&h).await;
    h.set_faults(
        Registry::Snils,
        &[Rule::new(FaultKind::Latency).latency(500, 0)],
    );
    h.set_faults(Registry::Inn, &[Rule::new(FaultKind::Hang)]);
    let inn_payload = render::verify_inn_request(&sample_adult(&h.state));
    let slow = {
        let (client, token) = (h.client.clone(), token.clone());
        tokio::spawn(async move { client.soap_raw(OP, &token, &payload, STEP).await })
    };
    let hung = {
        let client = h.client.clone();
        tokio::spawn(async move {
            client
                .soap_raw(Operation::VerifyInn, &token, &inn_payload, STEP)
                .await
        })
    };
    // Both calls are in flight once the mock has counted them (the hang counts as a fault).
    let in_flight = async {
        while h.state.counters.registry(Registry::Snils).total_requests() == 0
            || h.state
                .counters
                .registry(Registry::Inn)
                .fault(FaultKind::Hang)
                == 0
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(STEP, in_flight)
        .await
        .expect("both calls reach the mock");
    let addr = h.server.addr(Registry::Snils);
    let started = std::time::Instant::now();
    h.stop().await;
    assert!(started.elapsed() < GRACE, "{:?}", started.elapsed());
    let slow = slow.await.expect("slow call");
    assert_eq!(
        slow.status(),
        Some(200),
        "the call in flight finished: {}",
        slow.text()
    );
    let hung = hung.await.expect("hung call");
    assert_eq!(
        hung.status(),
        Some(503),
        "the hung call was released: {}",
        hung.text()
    );
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}
