//! End to end from a fresh start on embedded defaults: the gateway (SQLite in a temp dir, a new
//! development PKI, in-process mock registries, workers, the HTTP API) takes applications over HTTP
//! and decides them: one approved, one sent to clarification naming the field, one duplicate
//! rejected naming the conflict. The clock stands at the mock population's reference date.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/https.rs"]
mod https;
#[path = "support/mock_harness.rs"]
mod mock_harness;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cases::{application, case, doc_bytes, eligible, strip_nulls};
use https::Api;
use reggate::clock::{Clock, ManualClock};
use reggate::contract::Registry;
use reggate::gateway::{Gateway, GatewayConfig};
use reggate::mock::population::{Population, PopulationConfig};
use reggate::tls::pki::{self, PkiLayout};
use serde_json::{Value, json};

const REFERENCE: u64 = 1_782_900_000;
const KEY: &str = "e2e-key";

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The embedded defaults in `dir`, on a free port, with the test's key.
fn defaults(dir: &Path, population: PopulationConfig) -> GatewayConfig {
    GatewayConfig::scratch(dir, population, KEY)
}

/// Submit and wait (bounded) until the workers decide.
async fn submit_and_wait(api: &Api, key: &str, input: &Value) -> Value {
    let (status, created) = api
        .call(
            "POST",
            "/v1/applications",
            &[("Idempotency-Key", key)],
            &input.to_string(),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    // It waits for its documents: every one in the manifest is missing, and each upload counts down.
    // (That workers cannot claim it meanwhile is the store's rule, shown without timing in
    // tests/api.rs `documents_are_checked_by_content_size_and_digest_before_processing`; a pause here
    // could only show it by luck.)
    let documents = input["documents"].as_array().expect("documents");
    let (_, waiting) = api
        .call("GET", &format!("/v1/applications/{id}"), &[], "")
        .await;
    assert_eq!(
        waiting["status"], "submitted",
        "waits for its documents: {waiting}"
    );
    assert_eq!(
        waiting["documents_missing"].as_array().map(Vec::len),
        Some(documents.len()),
        "{waiting}"
    );
    for (i, d) in documents.iter().enumerate() {
        let kind = d["type"].as_str().expect("type");
        let path = format!("/v1/applications/{id}/documents/{kind}");
        let (status, stored) = api.call("PUT", &path, &[], &doc_bytes(kind)).await;
        assert_eq!(status, 201, "{stored}");
        assert_eq!(
            stored["documents_missing"],
            documents.len() - i - 1,
            "{stored}"
        );
    }
    for _ in 0..200 {
        let (status, view) = api
            .call("GET", &format!("/v1/applications/{id}"), &[], "")
            .await;
        assert_eq!(status, 200);
        if view["status"] != "submitted" && view["status"] != "in_review" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("application {id} not decided in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_fresh_start_applications_are_approved_clarified_and_rejected_as_duplicates() {
    let dir = fresh("e2e");
    let population = PopulationConfig {
        seed: 7,
        people: 2_000,
    };
    let config = defaults(&dir, population);
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE),
    ));
    let gw = Gateway::start(config, clock.clone() as Arc<dyn Clock>)
        .await
        .expect("gateway starts");
    assert!(dir.join("data/reggate.sqlite").exists());
    assert!(gw.tls, "HTTPS by default");
    let clock = clock as Arc<dyn Clock>;
    let api = Api::new(&gw, KEY, &PkiLayout::new(dir.join("certs")), &clock, None);
    // The same seed gives the same people the gateway's registries know.
    let people = Population::generate(&population).export_people(200);

    let today = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) = eligible(&people, today).expect("an eligible child");
    let approved =
        submit_and_wait(&api, "e2e-1", &strip_nulls(application(entry, k, benefit))).await;
    assert_eq!(approved["status"], "approved", "{approved}");
    let path: Vec<_> = approved["journal"]
        .as_array()
        .expect("journal")
        .iter()
        .map(|j| j["to"].clone())
        .collect();
    assert_eq!(
        path,
        [json!("submitted"), json!("in_review"), json!("approved")]
    );

    let mut wrong = strip_nulls(application(
        case(&people, "disabled_child"),
        0,
        "disabled_child",
    ));
    wrong["child"]["first_name"] = json!("Аглая");
    let clarify = submit_and_wait(&api, "e2e-2", &wrong).await;
    assert_eq!(clarify["status"], "needs_clarification", "{clarify}");
    assert_eq!(clarify["reasons"][0]["pointer"], "/child/first_name");

    let dup = case(&people, "duplicate_same_recipient");
    let existing = dup["existing_assignment_id"].as_str().expect("existing");
    let input = strip_nulls(application(
        dup,
        0,
        dup["benefit"].as_str().expect("benefit"),
    ));
    let rejected = submit_and_wait(&api, "e2e-3", &input).await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    let named = rejected["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .any(|r| {
            r["code"] == "duplicate_benefit"
                && r["message"].as_str().is_some_and(|m| m.contains(existing))
        });
    assert!(named, "{rejected}");

    let (status, feed) = api
        .call("GET", "/v1/events?after=0&limit=100", &[], "")
        .await;
    assert_eq!(status, 200);
    let finals = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "final_decision")
        .count();
    assert_eq!(finals, 2, "{feed}");
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_authenticates_by_client_certificate_or_bearer_key_and_rotates_its_certificate() {
    let dir = fresh("tls");
    let population = PopulationConfig {
        seed: 7,
        people: 2_000,
    };
    let mut config = defaults(&dir, population);
    config.api.reviewers = vec!["cert:reggate cabinet client".to_string()];
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE),
    ));
    let gw = Gateway::start(config, clock.clone())
        .await
        .expect("gateway starts");
    let pki = PkiLayout::new(dir.join("certs"));
    let cabinet_cert = Some((pki.cabinet_client(), pki.cabinet_client_key()));
    let cabinet = Api::new(&gw, KEY, &pki, &clock, cabinet_cert).bearer(None);
    let keyed = Api::new(&gw, KEY, &pki, &clock, None);
    let nobody = Api::new(&gw, KEY, &pki, &clock, None).bearer(None);

    // The certificate alone authenticates, and the journal names its subject and the origin.
    let people = Population::generate(&population).export_people(200);
    let today = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) = eligible(&people, today).expect("an eligible child");
    let input = strip_nulls(application(entry, k, benefit)).to_string();
    let headers = [
        ("Idempotency-Key", "tls-1"),
        ("X-Forwarded-For", "203.0.113.7"),
    ];
    let (status, created) = cabinet
        .call("POST", "/v1/applications", &headers, &input)
        .await;
    assert_eq!(status, 202, "{created}");
    let path = format!("/v1/applications/{}", created["id"].as_str().expect("id"));
    let (status, view) = cabinet.call("GET", &path, &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(view["journal"][0]["actor"], "cert:reggate cabinet client");
    assert_eq!(view["journal"][0]["origin"], "203.0.113.7");

    // A bearer key works without a certificate; it is no reviewer, the certificate's subject is.
    let (status, _) = keyed.call("GET", &path, &[], "").await;
    assert_eq!(status, 200);
    let decision = format!("{path}/decision");
    let verdict = r#"{"decision":"approved","comment":"checked"}"#;
    let (status, refused) = keyed.call("POST", &decision, &[], verdict).await;
    assert_eq!(status, 403, "{refused}");
    let (status, judged) = cabinet.call("POST", &decision, &[], verdict).await;
    assert!(status != 401 && status != 403, "{status} {judged}");

    // Neither: 401 and nothing processed.
    let (status, problem) = nobody.call("GET", "/v1/applications", &[], "").await;
    assert_eq!(status, 401);
    assert_eq!(
        problem["type"]
            .as_str()
            .map(|t| t.ends_with("unauthenticated")),
        Some(true)
    );
    let (status, _) = nobody
        .call(
            "POST",
            "/v1/applications",
            &[("Idempotency-Key", "tls-2")],
            &input,
        )
        .await;
    assert_eq!(status, 401);

    // A certificate of another CA gets no handshake; plain HTTP gets no answer.
    let foreign = Some((pki.gateway_client(), pki.gateway_client_key()));
    let stranger = Api::new(&gw, KEY, &pki, &clock, foreign);
    let refused = stranger.try_call("GET", "/v1/applications", &[], "").await;
    assert!(refused.is_err(), "{refused:?}");
    let plain = Api {
        tls: None,
        ..Api::new(&gw, KEY, &pki, &clock, None)
    };
    let refused = plain.try_call("GET", "/v1/applications", &[], "").await;
    assert!(refused.is_err(), "{refused:?}");
    let (_, page) = keyed.call("GET", "/v1/applications", &[], "").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");

    // Rotation without a restart: the next connection gets the new certificate.
    let before = keyed.server_certificate().await;
    let (cert, key) = (dir.join("next-server.pem"), dir.join("next-server.key"));
    pki::issue(pki.dir(), "gateway-server", &cert, &key, clock.now(), 30).expect("issue");
    pki::rotate(pki.dir(), "gateway-server", &cert, &key, clock.now()).expect("rotate");
    // The file watch may have taken it already; either way the API now serves the new one.
    let outcomes = gw.certs.reload("admin").await;
    let api = outcomes
        .iter()
        .find(|o| o.role == "api-server")
        .expect("api-server");
    assert!(!api.refused(), "{api:?}");
    // A fresh client: a resumed TLS 1.3 session would report the certificate of its first handshake.
    let after = Api::new(&gw, KEY, &pki, &clock, None)
        .server_certificate()
        .await;
    assert_ne!(before, after);
    let (status, _) = keyed.call("GET", &path, &[], "").await;
    assert_eq!(status, 200);
    gw.shutdown().await;
}

/// `--config` pointing the gateway elsewhere: registries at their own addresses (here a separately
/// started mock), applications in PostgreSQL, the API in plain HTTP on loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_gateway_calls_remote_registries_and_keeps_applications_in_postgres() {
    let h = mock_harness::Harness::start("serve-remote").await;
    let dir = fresh("remote");
    let pg_schema = format!("t_{}_serve_remote", std::process::id());
    let mut text = format!(
        "data = {data:?}\ncerts = {certs:?}\n[api]\nlisten = \"127.0.0.1:0\"\ntls = false\nkeys = [{KEY:?}]\n\
         [store]\nurl = \"host=127.0.0.1 port=5432 user=postgres dbname=test\"\nschema = {pg_schema:?}\n\
         [registries]\nmock = false\n",
        data = dir.join("data"),
        certs = h.layout.dir(),
    );
    for r in Registry::ALL {
        let addr = h.server.addr(r);
        text.push_str(&format!(
            "[registries.{r}]\nurl = \"https://localhost:{port}/registry/{r}\"\ntoken_url = \"https://localhost:{port}/token\"\n",
            port = addr.port()
        ));
    }
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("reggate.toml");
    std::fs::write(&file, text).expect("config");
    let (config, _) = GatewayConfig::load(Some(&file), Vec::new()).expect("config loads");
    let clock = h.clock.clone() as Arc<dyn Clock>;
    let gw = Gateway::start(config, clock.clone())
        .await
        .expect("gateway starts");
    assert!(gw.mock.is_none() && !gw.tls);
    let api = Api {
        addr: gw.api,
        tls: None,
        bearer: Some(KEY),
    };
    let people = Population::generate(&PopulationConfig {
        seed: 7,
        people: 2_000,
    })
    .export_people(200);
    let today = reggate::calendar::day_of(reggate::clock::millis(clock.now()));
    let (entry, k, benefit) = eligible(&people, today).expect("an eligible child");
    let approved = submit_and_wait(
        &api,
        "remote-1",
        &strip_nulls(application(entry, k, benefit)),
    )
    .await;
    assert_eq!(approved["status"], "approved", "{approved}");
    // The registries that answered are the separately started ones, and the decision is in PostgreSQL.
    for r in Registry::ALL {
        let seen = h.state.counters.registry(r);
        assert!(seen.total_requests() > 0, "{r}: {seen:?}");
        assert_eq!(seen.invalid_requests(), 0, "{r}: {seen:?}");
    }
    let stored = gw
        .store
        .get(approved["id"].as_str().expect("id"))
        .await
        .expect("read")
        .expect("in the store");
    assert_eq!(stored.status.to_string(), "approved");
    gw.shutdown().await;
    let (client, conn) = tokio_postgres::connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test",
        tokio_postgres::NoTls,
    )
    .await
    .expect("PostgreSQL");
    tokio::spawn(conn);
    let rows = client
        .query_one(
            &format!("SELECT count(*) FROM {pg_schema}.applications"),
            &[],
        )
        .await
        .expect("count");
    assert_eq!(rows.get::<_, i64>(0), 1);
    client
        .batch_execute(&format!("DROP SCHEMA {pg_schema} CASCADE"))
        .await
        .expect("drop");
}
