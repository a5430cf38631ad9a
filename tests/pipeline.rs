//! The outbound pipeline against the mock registries over real mTLS on loopback: valid calls, an
//! invalid request that never leaves, each injected fault with the right outcome (retried and
//! answered, gave up with a clear error, circuit opened), token lifetimes on a shared manual clock,
//! and a client-certificate rotation under load. The mock's counters prove what reached it.

#[path = "support/mock_harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use harness::{Harness, sample_adult};
use reggate::clock::Clock;
use reggate::contract::{Operation, Reason, Registry};
use reggate::mock::faults::{FaultKind, Rule};
use reggate::mock::render;
use reggate::registries::client::Registries;
use reggate::registries::messages;
use reggate::soap::breaker::BreakerPolicy;
use reggate::soap::client::{CallContext, RetryPolicy, Settings, SoapClient};
use reggate::soap::error::CallError;
use reggate::soap::hedge::HedgePolicy;
use reggate::soap::log::{MessageLog, SqliteMessageLog};
use reggate::tls::config::ReloadableClientCert;
use reggate::tls::pki;

struct Pipeline {
    client: Arc<SoapClient>,
    cert: Arc<ReloadableClientCert>,
    log: Arc<SqliteMessageLog>,
}

fn quick() -> Settings {
    Settings {
        attempt_timeout: Duration::from_secs(3),
        call_deadline: Duration::from_secs(15),
        retry: RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        },
        // These tests count attempts one by one; hedging has a test of its own.
        hedge: HedgePolicy {
            after: None,
            ..HedgePolicy::default()
        },
        ..Settings::default()
    }
}

fn pipeline(h: &Harness, name: &str, settings: Settings) -> Pipeline {
    let dir = harness::tempdir(&format!("pipeline-{name}"));
    let log = Arc::new(
        SqliteMessageLog::open(
            &dir.join("message_log.sqlite"),
            Duration::from_secs(86_400),
            h.clock.clone(),
        )
        .expect("log"),
    );
    let (client, cert) = h.soap_client(settings, log.clone() as Arc<dyn MessageLog>);
    Pipeline {
        client: Arc::new(client),
        cert,
        log,
    }
}

const OP: Operation = Operation::VerifySnils;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_goes_through_and_is_logged_masked() {
    let h = Harness::start("pipe-ops").await;
    let p = pipeline(&h, "ops", quick());
    let adult = sample_adult(&h.state);
    let calls = [
        (Operation::VerifySnils, render::snils_request(&adult)),
        (Operation::FindInn, render::inn_request(&adult)),
        (Operation::VerifyInn, render::verify_inn_request(&adult)),
        (
            Operation::GetFamilyStatus,
            render::family_status_request(&adult),
        ),
        (
            Operation::GetActiveAssignments,
            render::assignments_request(&adult.snils),
        ),
    ];
    for (op, payload) in &calls {
        let answer = p
            .client
            .call(&CallContext::new("req-ops-1"), *op, payload)
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(answer.attempts, 1);
        assert_eq!(answer.payload.element, op.response_element());
    }
    let answer = p
        .client
        .call(&CallContext::new("req-ops-1"), OP, &calls[0].1)
        .await
        .expect("verify");
    assert_eq!(answer.payload.get("Code"), Some("MATCH"));

    let logged = p.log.exchanges(Some("req-ops-1")).expect("log");
    assert_eq!(logged.len(), calls.len() + 1);
    let first = &logged[0];
    assert_eq!(
        (first.outcome.as_str(), first.http_status),
        ("ok", Some(200))
    );
    let request = first.request.as_deref().expect("request kept");
    assert!(
        request.contains("<rg:RequestId"),
        "the request id travels in a header: {request}"
    );
    assert!(request.contains("req-ops-1"));
    assert!(!request.contains(&adult.snils), "SNILS masked: {request}");
    assert!(
        !request.contains(&adult.last_name),
        "names masked: {request}"
    );
    let response = first.response.as_deref().expect("response kept");
    assert!(response.contains("VerifySnilsResponse"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_request_never_leaves() {
    let h = Harness::start("pipe-invalid").await;
    let p = pipeline(&h, "invalid", quick());
    let adult = sample_adult(&h.state);
    let broken = render::snils_request(&adult).replace(
        &format!("<snils:Snils>{}</snils:Snils>", adult.snils),
        "<snils:Snils>12345</snils:Snils>",
    );
    let err = p
        .client
        .call(&CallContext::new("req-invalid"), OP, &broken)
        .await
        .expect_err("refused");
    match &err {
        CallError::InvalidRequest { violations, .. } => {
            assert!(violations[0].path.contains("Snils"), "{err}");
            assert!(violations[0].rule.starts_with("cvc-"), "{err}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("outgoing VerifySnils request is schema-invalid"),
        "{err}"
    );
    assert!(!err.to_string().contains("12345"), "value masked: {err}");
    assert!(!err.retryable());
    let counts = h.state.counters.registry(Registry::Snils);
    assert_eq!(
        (counts.connections, counts.total_requests()),
        (0, 0),
        "nothing reached the mock"
    );
    let logged = p.log.exchanges(Some("req-invalid")).expect("log");
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (logged[0].attempt, logged[0].outcome.as_str()),
        (0, "invalid_request")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_transient_fault_is_retried_until_the_registry_answers() {
    let h = Harness::start("pipe-retry").await;
    let p = pipeline(&h, "retry", quick());
    let payload = render::snils_request(&sample_adult(&h.state));
    let kinds = [
        Rule::new(FaultKind::ServerFault),
        Rule::new(FaultKind::Unavailable),
        Rule::new(FaultKind::TooManyRequests).retry_after(1),
        Rule::new(FaultKind::ConnectionReset),
        Rule::new(FaultKind::TruncatedBody),
        Rule::new(FaultKind::MalformedXml),
        Rule::new(FaultKind::SchemaInvalid),
        Rule::new(FaultKind::Hang),
    ];
    let settings_for_hang = Settings {
        attempt_timeout: Duration::from_millis(500),
        ..quick()
    };
    let hangs = pipeline(&h, "retry-hang", settings_for_hang);
    for rule in kinds {
        let kind = rule.kind;
        h.set_faults(Registry::Snils, &[rule.times(1)]);
        let client = if kind == FaultKind::Hang {
            &hangs.client
        } else {
            &p.client
        };
        let started = std::time::Instant::now();
        let answer = client
            .call(&CallContext::new(format!("req-{kind}")), OP, &payload)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(answer.attempts, 2, "{kind}: one failure, then the answer");
        if kind == FaultKind::TooManyRequests {
            assert!(
                started.elapsed() >= Duration::from_secs(1),
                "Retry-After honoured"
            );
        }
        assert_eq!(
            h.state.counters.registry(Registry::Snils).fault(kind),
            1,
            "{kind}"
        );
        let log = if kind == FaultKind::Hang {
            &hangs.log
        } else {
            &p.log
        };
        let logged = log.exchanges(Some(&format!("req-{kind}"))).expect("log");
        assert_eq!(logged.len(), 2, "{kind}: both attempts logged");
        assert_ne!(logged[0].outcome, "ok", "{kind}");
        assert_eq!(logged[1].outcome, "ok", "{kind}");
    }
    let counts = h.state.counters.registry(Registry::Snils);
    assert_eq!(
        counts.invalid_requests(),
        0,
        "no invalid XML reached the mock"
    );
    h.stop().await;
}

/// A registry that leaves a third of its calls hanging: every call is answered within a few hedge
/// delays, never after an attempt timeout. One call at a time, so the mock's seeded fault decisions
/// repeat run after run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_left_hanging_are_hedged_and_answered_quickly() {
    let h = Harness::start("pipe-hedge").await;
    let settings = Settings {
        attempt_timeout: Duration::from_secs(20),
        call_deadline: Duration::from_secs(30),
        hedge: HedgePolicy {
            after: Some(Duration::from_millis(100)),
            share: 1.0,
            burst: 50.0,
            parallel: 3,
        },
        ..quick()
    };
    let p = pipeline(&h, "hedge", settings);
    let payload = render::snils_request(&sample_adult(&h.state));
    h.set_faults(Registry::Snils, &[Rule::new(FaultKind::Hang).share(0.3)]);
    for n in 0..20 {
        let started = std::time::Instant::now();
        let answer = p
            .client
            .call(&CallContext::new(format!("req-hedge-{n}")), OP, &payload)
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "call {n}: answered by a hedge, not after the 20 s attempt timeout: {:?}",
            started.elapsed()
        );
    }
    let hung = h
        .state
        .counters
        .registry(Registry::Snils)
        .fault(FaultKind::Hang);
    assert!(hung >= 3, "calls hung: {hung}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_faults_give_up_with_a_clear_error() {
    let h = Harness::start("pipe-giveup").await;
    let p = pipeline(&h, "giveup", quick());
    let payload = render::snils_request(&sample_adult(&h.state));
    h.set_faults(Registry::Snils, &[Rule::new(FaultKind::SchemaInvalid)]);
    let err = p
        .client
        .call(&CallContext::new("req-giveup"), OP, &payload)
        .await
        .expect_err("gives up");
    assert!(matches!(err, CallError::InvalidResponse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("snils registry answered VerifySnils"),
        "{text}"
    );
    assert!(text.contains("schema-invalid response"), "{text}");
    assert!(
        text.contains("Unexpected"),
        "names the offending element: {text}"
    );
    assert_eq!(
        h.state.counters.registry(Registry::Snils).total_requests(),
        4,
        "max_attempts"
    );

    // A fault the registry means (our request was wrong by its rules) is not retried.
    h.set_faults(Registry::Snils, &[]);
    h.state
        .faults
        .set_rules(Registry::Snils, &[])
        .expect("clear");
    let before = h.state.counters.registry(Registry::Snils).total_requests();
    let wrong_op = render::inn_request(&sample_adult(&h.state));
    let err = p
        .client
        .call(
            &CallContext::new("req-wrong"),
            Operation::FindInn,
            &wrong_op.replace("FindInnRequest", "VerifyInnRequest"),
        )
        .await
        .expect_err("refused before sending");
    assert!(matches!(err, CallError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(
        h.state.counters.registry(Registry::Snils).total_requests(),
        before
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_repeated_failures_and_closes_after_a_probe() {
    let h = Harness::start("pipe-breaker").await;
    let settings = Settings {
        retry: RetryPolicy {
            max_attempts: 1,
            ..quick().retry
        },
        breaker: BreakerPolicy {
            failures: 3,
            open_for: Duration::from_secs(30),
        },
        ..quick()
    };
    let p = pipeline(&h, "breaker", settings);
    let payload = render::snils_request(&sample_adult(&h.state));
    h.set_faults(Registry::Snils, &[Rule::new(FaultKind::ServerFault)]);
    for _ in 0..3 {
        let err = p
            .client
            .call(&CallContext::new("req-b"), OP, &payload)
            .await
            .expect_err("500");
        assert!(err.is_fault(Reason::InternalError), "{err:?}");
        assert_eq!(
            err.fault_name().as_deref(),
            Some("soap:Server/INTERNAL_ERROR")
        );
        assert!(err.retryable() && err.counts_against_registry(), "{err:?}");
    }
    let reached = h.state.counters.registry(Registry::Snils).total_requests();
    let err = p
        .client
        .call(&CallContext::new("req-b"), OP, &payload)
        .await
        .expect_err("open");
    assert!(matches!(err, CallError::CircuitOpen { .. }), "{err:?}");
    assert!(err.to_string().contains("circuit open"), "{err}");
    assert_eq!(
        h.state.counters.registry(Registry::Snils).total_requests(),
        reached,
        "nothing sent while open"
    );
    // Other registries are unaffected.
    let inn = render::verify_inn_request(&sample_adult(&h.state));
    p.client
        .call(&CallContext::new("req-b"), Operation::VerifyInn, &inn)
        .await
        .expect("inn answers");
    // After the open period one probe goes; the registry has recovered, so the circuit closes.
    h.set_faults(Registry::Snils, &[]);
    h.clock.advance(Duration::from_secs(31));
    p.client
        .call(&CallContext::new("req-b"), OP, &payload)
        .await
        .expect("probe answers");
    p.client
        .call(&CallContext::new("req-b"), OP, &payload)
        .await
        .expect("closed again");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_expiry_and_an_expired_fault_refreshes_once() {
    let h = Harness::start("pipe-tokens").await;
    let p = pipeline(&h, "tokens", quick());
    let payload = render::snils_request(&sample_adult(&h.state));
    let ctx = CallContext::new("req-t");
    p.client.call(&ctx, OP, &payload).await.expect("first");
    let tokens = p.client.tokens(Registry::Snils).expect("manager");
    assert_eq!(tokens.refreshes(), 1);
    // 250 s of 300: due for refresh (less than 60 s left); the call refreshes and succeeds.
    h.clock.advance(Duration::from_secs(250));
    p.client
        .call(&ctx, OP, &payload)
        .await
        .expect("refreshed early");
    assert_eq!(tokens.refreshes(), 2);
    // Long past expiry: never sent expired, so the registry never says so.
    h.clock.advance(Duration::from_secs(1_000));
    p.client.call(&ctx, OP, &payload).await.expect("refreshed");
    assert_eq!(tokens.refreshes(), 3);
    let counts = h.state.counters.registry(Registry::Snils);
    assert_eq!(counts.rejected.get("token_expired"), None, "{counts:?}");
    assert_eq!(counts.tokens_issued, 3);

    // The registry says expired anyway (its clock, a restart): one refresh, one retry.
    h.set_faults(
        Registry::Snils,
        &[Rule::new(FaultKind::ExpiredToken).times(1)],
    );
    let answer = p
        .client
        .call(&ctx, OP, &payload)
        .await
        .expect("retried with a new token");
    assert_eq!(answer.attempts, 2);
    assert_eq!(tokens.refreshes(), 4);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_rotation_under_load_fails_no_call() {
    let h = Harness::start("pipe-rotate").await;
    let p = pipeline(&h, "rotate", quick());
    let payload = Arc::new(render::snils_request(&sample_adult(&h.state)));
    let before = p.cert.current();
    // New gateway-client material from the same registry-side CA.
    let dir = harness::tempdir("pipe-rotate-new");
    let (cert, key) = (
        dir.join("gateway-client.pem"),
        dir.join("gateway-client.key"),
    );
    pki::issue(
        h.layout.dir(),
        "gateway-client",
        &cert,
        &key,
        SystemTime::now() - Duration::from_secs(60),
        30,
    )
    .expect("issue");
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let client = p.client.clone();
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for i in 0..40 {
                    let ctx = CallContext::new(format!("rot-{w}-{i}"));
                    if let Err(e) = client.call(&ctx, OP, &payload).await {
                        failures.push(e.to_string());
                    }
                }
                failures
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    p.cert.reload(&cert, &key).expect("reload");
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.expect("worker"));
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        !Arc::ptr_eq(&before, &p.cert.current()),
        "the new certificate is in use"
    );
    assert_eq!(
        h.state.counters.registry(Registry::Snils).requests["VerifySnils"].valid,
        320
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_requests_of_every_operation_come_back_as_typed_answers() {
    use messages::{Registration, Reply, Request, Verdict};
    let h = Harness::start("pipe-typed").await;
    let p = pipeline(&h, "typed", quick());
    let registries = Registries::new(p.client.clone(), h.clock.clone() as Arc<dyn Clock>);
    let ctx = CallContext::new("req-typed");
    let adult = sample_adult(&h.state);
    let person = render::identity(&adult);

    let verify = Request::VerifySnils {
        snils: adult.snils.clone(),
        person: person.clone(),
    };
    assert_eq!(
        registries.call(&ctx, &verify).await.expect("verify"),
        Reply::Verification(Verdict::Match)
    );
    let mut wrong = person.clone();
    wrong.first_name.push('а');
    let reply = registries
        .call(
            &ctx,
            &Request::VerifySnils {
                snils: adult.snils.clone(),
                person: wrong,
            },
        )
        .await
        .expect("verify wrong");
    assert_eq!(
        reply,
        Reply::Verification(Verdict::NoMatch(vec!["FirstName".into()]))
    );

    let passport = adult.passport.clone().expect("passport");
    let find = Request::FindInn {
        person: person.clone(),
        passport: messages::Passport {
            series: passport.series,
            number: passport.number,
            issue_date: passport.issue_date,
            issuer: passport.issuer,
            issuer_code: passport.issuer_code,
        },
    };
    assert_eq!(
        registries.call(&ctx, &find).await.expect("find inn"),
        Reply::Inn(adult.inn.clone())
    );
    let verify_inn = Request::VerifyInn {
        inn: adult.inn.clone().expect("inn"),
        person: person.clone(),
    };
    assert_eq!(
        registries
            .call(&ctx, &verify_inn)
            .await
            .expect("verify inn"),
        Reply::Verification(Verdict::Match)
    );
    let statuses = Request::GetFamilyStatus {
        snils: adult.snils.clone(),
        on_date: Some("2026-07-01".into()),
    };
    assert!(matches!(
        registries.call(&ctx, &statuses).await.expect("statuses"),
        Reply::FamilyStatuses(Some(_))
    ));

    // A child with an assignment: its birth record names it and its parents.
    let child = harness::child_with_assignment(&h.state);
    let cert = child.birth_certificate.clone().expect("certificate");
    let reply = registries
        .call(
            &ctx,
            &Request::FindBirthRecord {
                series: cert.series.clone(),
                number: cert.number.clone(),
            },
        )
        .await
        .expect("birth record");
    let Reply::BirthRecord(Some(record)) = reply else {
        panic!("no record: {reply:?}");
    };
    assert_eq!(record.child.snils.as_deref(), Some(child.snils.as_str()));
    assert_eq!(record.child.last_name, child.last_name);
    assert!(!record.parents.is_empty());

    let reply = registries
        .call(
            &ctx,
            &Request::GetActiveAssignments {
                child_snils: child.snils.clone(),
            },
        )
        .await
        .expect("assignments");
    let Reply::Assignments(list) = reply else {
        panic!("{reply:?}");
    };
    let existing = list.first().expect("an assignment").clone();
    assert_eq!(existing.child_snils, child.snils);

    // Registering the same benefit again under another number: a conflict naming the existing one.
    let new = |number: &str, benefit: &str| messages::NewAssignment {
        application_number: number.into(),
        benefit_code: benefit.into(),
        child_snils: child.snils.clone(),
        recipient_snils: existing.recipient_snils.clone(),
        from: existing.from.clone(),
        to: existing.to.clone(),
        amount: "1000.00".into(),
        region_code: "77".into(),
        decision_date: existing.from.clone(),
        phone: None,
        email: None,
    };
    let reply = registries
        .call(
            &ctx,
            &Request::RegisterAssignment(new("APP-T-1", &existing.benefit_code)),
        )
        .await
        .expect("register duplicate");
    let Reply::Registration(Registration::Conflict(conflicts)) = reply else {
        panic!("{reply:?}");
    };
    assert_eq!(
        conflicts[0].assignment.assignment_id,
        existing.assignment_id
    );
    // Another benefit: registered, then the repeat is recognised (idempotent by number).
    let other = reggate::mock::population::Benefit::ALL
        .into_iter()
        .map(|b| b.code())
        .find(|code| list.iter().all(|a| a.benefit_code != *code))
        .expect("a benefit the child has not got");
    let mut ids = Vec::new();
    for fresh_expected in [true, false] {
        let reply = registries
            .call(&ctx, &Request::RegisterAssignment(new("APP-T-2", other)))
            .await
            .expect("register");
        let Reply::Registration(Registration::Registered {
            assignment_id,
            fresh,
        }) = reply
        else {
            panic!("{reply:?}");
        };
        assert_eq!(fresh, fresh_expected);
        ids.push(assignment_id);
    }
    assert_eq!(ids[0], ids[1]);
    h.stop().await;
}
