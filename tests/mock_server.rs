//! The mock registries over real mTLS on loopback: tokens, a valid call per operation with a response
//! that validates, schema-invalid requests, token faults, and a client without a certificate.

#[path = "support/mock_harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::{Harness, STEP, child_with_assignment, fault, sample_adult};
use reggate::clock::{Clock, SystemClock};
use reggate::contract::{Operation, Registry};
use reggate::mock::render;
use reggate::tls::config::client_config_with;
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

fn assert_valid(schema: &Schema, body: &str) {
    let report = validate_bytes(schema, body.as_bytes(), &Options::default());
    assert!(report.is_valid(), "{body}\n{:#?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_with_a_valid_response() {
    let h = Harness::start("ops").await;
    let token = h.token().await;
    let pop = &h.state.population;
    let people = pop.export_people(50);
    let entries = people["people"].as_array().expect("array");
    let valid = entries
        .iter()
        .find(|e| e["case"] == "valid")
        .expect("a valid case");
    let snils = valid["applicant"]["snils"].as_str().expect("snils");
    let adult = pop.person_by_snils(snils).expect("adult");

    let (status, body) = h
        .soap(
            Operation::VerifySnils,
            Some(&token),
            &render::snils_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<cmn:Code>MATCH</cmn:Code>"), "{body}");
    assert_valid(&h.state.schema, &body);

    // A wrong first name: NO_MATCH naming the field.
    let mut other = adult.clone();
    other.first_name = format!("{}а", other.first_name);
    let (status, body) = h
        .soap(
            Operation::VerifySnils,
            Some(&token),
            &render::snils_request(&other),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("NO_MATCH") && body.contains("FirstName"),
        "{body}"
    );
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::FindInn,
            Some(&token),
            &render::inn_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(adult.inn.as_deref().expect("inn")), "{body}");
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::VerifyInn,
            Some(&token),
            &render::verify_inn_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("MATCH"), "{body}");
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::GetFamilyStatus,
            Some(&token),
            &render::family_status_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_valid(&h.state.schema, &body);

    // A child with an assignment: birth record, assignments, and re-registering it (idempotent).
    let child = child_with_assignment(&h.state);
    let cert = child.birth_certificate.clone().expect("certificate");
    let (status, body) = h
        .soap(
            Operation::FindBirthRecord,
            Some(&token),
            &render::birth_record_request(&cert.series, &cert.number),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&child.snils), "{body}");
    assert_valid(&h.state.schema, &body);

    let (status, body) = h
        .soap(
            Operation::GetActiveAssignments,
            Some(&token),
            &render::assignments_request(&child.snils),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<lab:Assignment "), "{body}");
    assert_valid(&h.state.schema, &body);

    let a = pop.active_assignments(&child.snils).remove(0);
    let recipient = pop.person_by_snils(&a.recipient_snils).expect("recipient");
    let (status, body) = h
        .soap(
            Operation::RegisterAssignment,
            Some(&token),
            &render::register_request(&a, &recipient),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ALREADY_REGISTERED"), "{body}");
    assert_valid(&h.state.schema, &body);

    // Unknown keys: NotFound / NOT_FOUND answers, still valid; a NotFound says when the registry
    // looked, by the mock's clock (as fixtures/messages/inn-find-response-not-found.xml shows).
    let checked_at = format!(
        "NotFound checkedAt=\"{}\"/>",
        reggate::clock::timestamp(h.clock.now())
    );
    let (status, body) = h
        .soap(
            Operation::FindBirthRecord,
            Some(&token),
            &render::birth_record_request(&cert.series, "000000"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("<chld:{checked_at}")), "{body}");
    assert_valid(&h.state.schema, &body);
    let mut stranger = adult.clone();
    stranger.snils = "00000000000".to_string();
    for (op, payload, not_found) in [
        (
            Operation::VerifySnils,
            render::snils_request(&stranger),
            None,
        ),
        (
            Operation::GetFamilyStatus,
            render::family_status_request(&stranger),
            Some("lab"),
        ),
        // The passport is the adult's, the name is not: not found.
        (Operation::FindInn, render::inn_request(&other), Some("inn")),
    ] {
        let (status, body) = h.soap(op, Some(&token), &payload).await;
        assert_eq!(status, 200, "{body}");
        match not_found {
            Some(prefix) => assert!(body.contains(&format!("<{prefix}:{checked_at}")), "{body}"),
            None => assert!(body.contains("<cmn:Code>NOT_FOUND</cmn:Code>"), "{body}"),
        }
        assert_valid(&h.state.schema, &body);
    }

    // The WSDL is served.
    let (status, body) = h
        .request(Registry::Snils, "GET /registry/snils?wsdl HTTP/1.1", b"")
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("VerifySnils"), "{body}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_and_headers_get_faults() {
    let h = Harness::start("faults").await;
    let token = h.token().await;
    let adult = h
        .state
        .population
        .person_by_snils(
            h.state.population.export_people(5)["people"][0]["applicant"]["snils"]
                .as_str()
                .expect("snils"),
        )
        .expect("adult");
    let broken = render::snils_request(&adult).replace(
        &format!("<snils:Snils>{}</snils:Snils>", adult.snils),
        "<snils:Snils>12345</snils:Snils>",
    );
    let (status, body) = h.soap(Operation::VerifySnils, Some(&token), &broken).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(fault(&body), ("soap:Client", "SCHEMA_VIOLATION"), "{body}");
    assert!(body.contains("snils:Snils"), "{body}");
    assert!(!body.contains("12345"), "value must be masked: {body}");
    assert_valid(&h.state.schema, &body);

    // Wrong SOAPAction for the endpoint.
    let head = format!(
        "POST /registry/inn HTTP/1.1\r\nContent-Type: text/xml\r\nSOAPAction: \"{}\"\r\nAuthorization: Bearer {token}",
        Operation::VerifySnils.soap_action()
    );
    let (status, body) = h
        .request(
            Registry::Inn,
            &head,
            render::envelope(&render::snils_request(&adult)).as_bytes(),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(fault(&body), ("soap:Client", "SOAP_ACTION"), "{body}");

    // Wrong content type.
    let head = format!(
        "POST /registry/snils HTTP/1.1\r\nContent-Type: application/json\r\nSOAPAction: \"{}\"\r\nAuthorization: Bearer {token}",
        Operation::VerifySnils.soap_action()
    );
    let (status, body) = h.request(Registry::Snils, &head, b"{}").await;
    assert_eq!(status, 500);
    assert_eq!(fault(&body), ("soap:Client", "CONTENT_TYPE"), "{body}");

    // Tokens: missing, unknown, expired. Never data.
    let payload = render::snils_request(&adult);
    let (status, body) = h.soap(Operation::VerifySnils, None, &payload).await;
    assert_eq!(
        (status, fault(&body)),
        (500, ("soap:Client", "TOKEN_MISSING"))
    );
    let (status, body) = h
        .soap(Operation::VerifySnils, Some("forged"), &payload)
        .await;
    assert_eq!(
        (status, fault(&body)),
        (500, ("soap:Client", "TOKEN_UNKNOWN"))
    );
    h.clock.advance(Duration::from_secs(301));
    let (status, body) = h.soap(Operation::VerifySnils, Some(&token), &payload).await;
    assert_eq!(
        (status, fault(&body)),
        (500, ("soap:Client", "TOKEN_EXPIRED"))
    );
    assert_valid(&h.state.schema, &body);
    assert!(!body.contains("MATCH"), "{body}");
    // A fresh token works again.
    let fresh = h.token().await;
    let (status, _) = h.soap(Operation::VerifySnils, Some(&fresh), &payload).await;
    assert_eq!(status, 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_beyond_the_limit_gets_a_fault_and_is_counted() {
    let h = Harness::start("too-large").await;
    let token = h.token().await;
    let op = Operation::VerifySnils;
    let head = Harness::soap_head(op, Some(&token));
    // Sent whole, one byte over: read to its end, so the client (which sends everything before
    // it reads) gets the fault on a connection that ends cleanly, not a reset.
    let mut big = render::envelope(&render::snils_request(&sample_adult(&h.state))).into_bytes();
    big.resize(h.state.bodies.max + 1, b' ');
    let (status, body) = h.request(op.registry(), &head, &big).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(fault(&body), ("soap:Client", "REQUEST_TOO_LARGE"), "{body}");
    assert_valid(&h.state.schema, &body);
    // Declared far beyond what is read, and waiting for 100 Continue: answered at once, unread.
    let tcp = TcpStream::connect(h.server.addr(op.registry()))
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let raw = tokio::time::timeout(STEP, async {
        let mut tls = h.connector().connect(name, tcp).await?;
        let declared = format!(
            "{head}\r\nHost: localhost\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            1u64 << 32
        );
        tls.write_all(declared.as_bytes()).await?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&raw).to_string())
    })
    .await
    .expect("bounded")
    .expect("an answer");
    assert!(raw.starts_with("HTTP/1.1 500 "), "{raw}");
    assert!(!raw.contains("100 Continue"), "{raw}");
    assert!(
        raw.to_ascii_lowercase().contains("connection: close"),
        "{raw}"
    );
    assert_eq!(fault(&raw), ("soap:Client", "REQUEST_TOO_LARGE"), "{raw}");
    // Counted like every refused request: received (not valid), rejected by reason.
    let counts = h.state.counters.registry(op.registry());
    assert_eq!(counts.requests[op.name()].invalid, 2, "{counts:?}");
    assert_eq!(counts.rejected["too_large"], 2, "{counts:?}");
    // The registry still answers.
    let (status, _) = h
        .soap(
            op,
            Some(&token),
            &render::snils_request(&sample_adult(&h.state)),
        )
        .await;
    assert_eq!(status, 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_is_refused() {
    let h = Harness::start("nocert").await;
    let config = client_config_with(
        &h.layout.registry_ca(),
        None,
        Arc::new(SystemClock) as Arc<dyn Clock>,
    )
    .expect("client config");
    let tcp = TcpStream::connect(h.server.addr(Registry::Snils))
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    // In TLS 1.3 the client may finish its side before the server rejects it; either the handshake
    // fails, or the first read does, and no HTTP response ever arrives.
    let outcome = tokio::time::timeout(STEP, async {
        let mut tls = TlsConnector::from(config).connect(name, tcp).await?;
        tls.write_all(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 29\r\nConnection: close\r\n\r\ngrant_type=client_credentials")
            .await?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    })
    .await
    .expect("bounded");
    match outcome {
        Err(_) => {}
        Ok(raw) => assert!(
            !String::from_utf8_lossy(&raw).starts_with("HTTP/"),
            "got a response without a client certificate"
        ),
    }
    // The server is still serving others.
    let _ = h.token().await;
    h.stop().await;
}

#[tokio::test]
async fn beyond_the_rate_limit_comes_429_with_retry_after() {
    let h = Harness::start_with("ratelimit", Some(2.0)).await;
    let token = h.token().await;
    let op = Operation::ALL[0];
    let head = format!(
        "POST /registry/{} HTTP/1.1\r\nContent-Type: text/xml\r\nSOAPAction: \"{}\"\r\nAuthorization: Bearer {token}",
        op.registry().name(),
        op.soap_action()
    );
    let body = render::envelope("<x/>");
    // The clock stands still: a burst of two, then the third is refused until time moves.
    for _ in 0..2 {
        let (status, _, _) = h.exchange(op.registry(), &head, body.as_bytes()).await;
        assert_ne!(status, 429);
    }
    let (status, head_text, fault) = h.exchange(op.registry(), &head, body.as_bytes()).await;
    assert_eq!(status, 429, "{fault}");
    assert!(head_text.contains("retry-after: 1"), "{head_text}");
    assert_eq!(harness::fault(&fault), ("soap:Server", "RATE_LIMITED"));
    h.clock.advance(Duration::from_secs(1));
    let (status, _, _) = h.exchange(op.registry(), &head, body.as_bytes()).await;
    assert_ne!(status, 429);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wsdl_names_its_endpoint_and_its_schema_imports_resolve() {
    let h = Harness::start("wsdl").await;
    let (status, wsdl) = h
        .request(Registry::Labour, "GET /registry/labour?wsdl HTTP/1.1", b"")
        .await;
    assert_eq!(status, 200);
    // The Host header the client sent ("localhost") names the address.
    assert!(
        wsdl.contains("<soap:address location=\"https://localhost/registry/labour\"/>"),
        "{wsdl}"
    );
    // Every schemaLocation, resolved against /registry/labour, is served; and the schemas' own
    // imports (relative to /schemas/) too.
    let mut pending: Vec<String> = locations(&wsdl)
        .into_iter()
        .map(|l| l.trim_start_matches("../schemas/").to_string())
        .collect();
    assert!(!pending.is_empty());
    let mut seen = Vec::new();
    while let Some(file) = pending.pop() {
        if seen.contains(&file) {
            continue;
        }
        let (status, xsd) = h
            .request(
                Registry::Labour,
                &format!("GET /schemas/{file} HTTP/1.1"),
                b"",
            )
            .await;
        assert_eq!(status, 200, "{file}");
        assert!(xsd.contains("<xs:schema"), "{file}");
        pending.extend(locations(&xsd));
        seen.push(file);
    }
    assert!(
        seen.iter().any(|f| f.starts_with("common-types")),
        "{seen:?}"
    );
    // Nothing outside the schema directory.
    let (status, _) = h
        .request(
            Registry::Labour,
            "GET /schemas/..%2FCargo.toml HTTP/1.1",
            b"",
        )
        .await;
    assert_eq!(status, 404);
    // A registry answers only at its own path.
    let (status, _) = h
        .request(Registry::Labour, "GET /registry/snils?wsdl HTTP/1.1", b"")
        .await;
    assert_eq!(status, 404);
    h.stop().await;
}

fn locations(doc: &str) -> Vec<String> {
    doc.split("schemaLocation=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(l, _)| l.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn family_statuses_by_identity_and_passport_match_those_by_snils() {
    let h = Harness::start("family-by-passport").await;
    let token = h.token().await;
    let adult = sample_adult(&h.state);
    let (status, by_snils) = h
        .soap(
            Operation::GetFamilyStatus,
            Some(&token),
            &render::family_status_request(&adult),
        )
        .await;
    assert_eq!(status, 200, "{by_snils}");
    let (status, by_passport) = h
        .soap(
            Operation::GetFamilyStatus,
            Some(&token),
            &render::family_status_request_by_passport(&adult),
        )
        .await;
    assert_eq!(status, 200, "{by_passport}");
    assert_valid(&h.state.schema, &by_passport);
    let statuses = |body: &str| body.split_once("<lab:Statuses").map(|(_, s)| s.to_string());
    assert!(statuses(&by_snils).is_some(), "{by_snils}");
    assert_eq!(statuses(&by_snils), statuses(&by_passport));
    // The passport alone does not identify: another name gets NotFound.
    let mut other = adult.clone();
    other.last_name = format!("{}а", other.last_name);
    let (status, body) = h
        .soap(
            Operation::GetFamilyStatus,
            Some(&token),
            &render::family_status_request_by_passport(&other),
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("NotFound"), "{body}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_an_assignment_is_idempotent_and_a_duplicate_is_a_conflict() {
    let h = Harness::start("register").await;
    let token = h.token().await;
    let pop = &h.state.population;
    let child = child_with_assignment(&h.state).snils;
    let existing = pop.active_assignments(&child).remove(0);
    let recipient = pop
        .person_by_snils(&existing.recipient_snils)
        .expect("recipient");

    // The same benefit for the same child under another application number: CONFLICT naming it.
    let mut duplicate = existing.clone();
    duplicate.application_number = "APP-TEST-DUPLICATE-1".to_string();
    let payload = render::register_request(&duplicate, &recipient);
    let (status, body) = h
        .soap(Operation::RegisterAssignment, Some(&token), &payload)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("CONFLICT"), "{body}");
    assert!(body.contains(&existing.assignment_id), "{body}");
    assert_valid(&h.state.schema, &body);

    // Another benefit for that child: REGISTERED, then ALREADY_REGISTERED with the same id.
    let other = reggate::mock::population::Benefit::ALL
        .into_iter()
        .find(|b| {
            pop.active_assignments(&child)
                .iter()
                .all(|a| a.benefit_code != *b)
        })
        .expect("a benefit the child has not got");
    let mut fresh = existing.clone();
    fresh.benefit_code = other;
    fresh.application_number = "APP-TEST-FRESH-1".to_string();
    let payload = render::register_request(&fresh, &recipient);
    let mut ids = Vec::new();
    for expected in ["<lab:Code>REGISTERED<", "<lab:Code>ALREADY_REGISTERED<"] {
        let (status, body) = h
            .soap(Operation::RegisterAssignment, Some(&token), &payload)
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(expected), "{expected}: {body}");
        assert_valid(&h.state.schema, &body);
        ids.push(
            body.split_once("<lab:AssignmentId>")
                .and_then(|(_, r)| r.split_once('<'))
                .map(|(id, _)| id.to_string())
                .expect("assignment id"),
        );
    }
    assert_eq!(ids[0], ids[1]);
    // And the registry now lists it.
    assert!(
        pop.active_assignments(&child)
            .iter()
            .any(|a| a.benefit_code == other)
    );
    h.stop().await;
}
