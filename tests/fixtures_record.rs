//! `reggate fixtures record`, as a tester runs it: `reggate serve` (against `reggate mock`, processes
//! of the built binary) with `log.bodies = "full"` decides two applications; the command exports the
//! message log, once pseudonymised and once with `--keep-personal-data`, while the gateway still
//! runs. The pseudonymised cases load, validate, cover every registry called and hold none of the
//! people's values — neither those submitted nor those the registries answered with (the other
//! parent of a birth record) — while the same original SNILS is the same synthetic SNILS in every
//! case, with a valid check number; the recording as logged replays against a fresh mock of the
//! same population and passes. Beside it, a log written here: each outcome becomes what it
//! should (an answer, a fault, a refusal, a skip), and what cannot be recorded from exits 2.

#[path = "support/processes.rs"]
mod processes;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hyper::Method;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use processes::{Gateway, POPULATION, Registries, fresh, view};
use reggate::clock::{SystemClock, timestamp};
use reggate::contract::Operation;
use reggate::domain::identifiers::{inn_is_valid, snils_is_valid};
use reggate::loadgen::client::{Client, Lane};
use reggate::loadgen::people::{Applicants, Case};
use reggate::loadgen::requests;
use reggate::mock::population::Population;
use reggate::replay::pseudonym::{Rule, rule};
use reggate::replay::{Expectation, load_all};
use reggate::soap::log::{BodyPolicy, Exchange, MessageLog, SqliteMessageLog, read_exchanges};
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};

const BINARY: &str = env!("CARGO_BIN_EXE_reggate");

fn project(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `reggate fixtures record ARGS…`: exit code, stdout, stderr.
fn record(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BINARY)
        .args(["fixtures", "record"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("reggate runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Every file of a recording: (case name, file name) → text.
fn files(dir: &Path) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for case in std::fs::read_dir(dir).expect("recording") {
        let case = case.expect("entry").path();
        for file in std::fs::read_dir(&case).expect("case") {
            let file = file.expect("entry").path();
            let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
            out.insert(
                (name(&case), name(&file)),
                std::fs::read_to_string(&file).expect("UTF-8 file"),
            );
        }
    }
    out
}

/// Every element with text: (local names from the root, text trimmed), in document order.
fn values(xml: &str) -> Vec<(Vec<String>, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut chain: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Start(t) => {
                text.clear();
                chain.push(t.local_name().into_inner().to_string());
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => match r.resolve_char_ref().expect("reference") {
                Some(c) => text.push(c),
                None => text.push_str(quick_xml::escape::resolve_predefined_entity(&r).unwrap()),
            },
            Event::End(_) => {
                let t = text.trim().to_string();
                if !t.is_empty() {
                    out.push((chain.clone(), t));
                }
                text.clear();
                chain.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The markup of a document without its text.
fn markup(xml: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        let e = reader.read_event().expect("well-formed");
        match &e {
            Event::Eof => break,
            Event::Text(_) | Event::GeneralRef(_) | Event::CData(_) => {}
            other => out.push(format!("{other:?}")),
        }
    }
    out
}

fn rule_of(chain: &[String]) -> Rule {
    let names: Vec<&str> = chain.iter().map(String::as_str).collect();
    rule(&names)
}

/// Whether values under `r` are personal.
fn personal(r: Rule) -> bool {
    !matches!(r, Rule::Keep | Rule::FreeText)
}

/// Every personal value of `case` in the forms a message could show it (as in tests/logs.rs).
fn submitted_values(case: &Case) -> Vec<String> {
    let a = &case.applicant;
    let c = &case.child.child;
    let mut values = vec![
        a.last_name.clone(),
        a.first_name.clone(),
        a.birth_date.clone(),
        a.snils.clone(),
        c.last_name.clone(),
        c.first_name.clone(),
        c.birth_date.clone(),
        c.snils.clone(),
        case.child.certificate.number.clone(),
    ];
    values.extend(a.middle_name.clone());
    values.extend(c.middle_name.clone());
    values.extend(a.inn.clone());
    if let Some(p) = &a.passport {
        values.push(p.number.clone());
        values.push(format!("{}{}", p.series, p.number));
    }
    values.sort();
    values.dedup();
    values
}

fn header(name: &'static str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(value).expect("header value"),
    )
}

/// Submit `case` with every document, and answer its application id.
async fn submit(client: &Client, case: &Case, unique: &str) -> String {
    let application = requests::application(case, 0, 2048, unique);
    let answer = client
        .send(
            Lane::Side,
            Method::POST,
            "/v1/applications",
            &[
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                header("idempotency-key", unique),
            ],
            application.body.clone(),
        )
        .await
        .expect("the gateway answers");
    let created: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    assert_eq!(answer.status, 202, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    for upload in &application.uploads {
        let answer = client
            .send(
                Lane::Side,
                Method::PUT,
                &format!("/v1/applications/{id}/documents/{}", upload.name),
                &[(CONTENT_TYPE, HeaderValue::from_static("application/pdf"))],
                upload.bytes.clone(),
            )
            .await
            .expect("the gateway answers");
        assert_eq!(answer.status, 201, "{}", upload.name);
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_holds_no_personal_data_and_still_hangs_together() {
    let started = Instant::now();
    let dir = fresh("fixtures-record");
    let since = timestamp(SystemTime::now() - Duration::from_secs(2));
    let registries = Registries::start(&dir, "");
    let gateway = Gateway::start(&dir, &registries, "[log]\nbodies = \"full\"\n");
    let client = gateway.client(2);
    gateway.wait_until_healthy(&client).await;

    let cases: Vec<Case> = tokio::task::spawn_blocking(|| {
        let today = reggate::calendar::today(SystemTime::now());
        let mut people = Applicants::new(Population::generate(&POPULATION), today);
        (0..2)
            .map(|_| people.next_eligible().expect("an eligible case"))
            .collect()
    })
    .await
    .expect("the walk");
    let pid = std::process::id();
    let mut ids = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        ids.push(submit(&client, case, &format!("record-{i}-{pid}")).await);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &ids {
        loop {
            let seen = view(&client, id).await;
            if !matches!(seen["status"].as_str(), Some("submitted" | "in_review")) {
                assert_eq!(seen["status"], "approved", "{seen}");
                break;
            }
            assert!(Instant::now() < deadline, "not decided in 60 s: {seen}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The log is written behind the calls: wait until both registrations are in it.
    let log = dir.join("data").join("message_log.sqlite");
    let from = reggate::replay::record::parse_time(&since, false).expect("since");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged = read_exchanges(&log, from, None).expect("the log reads beside the gateway");
        let registered = logged
            .iter()
            .filter(|e| e.operation == Operation::RegisterAssignment)
            .count();
        if registered >= cases.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{registered} registrations logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let until = timestamp(SystemTime::now() + Duration::from_secs(1));
    let config = dir.join("reggate.toml");

    // While the gateway runs: pseudonymised, and as logged.
    let out = dir.join("recorded");
    let kept = dir.join("kept");
    let took = Instant::now();
    let (code, stdout, stderr) = record(&[
        "--config",
        path(&config),
        "--since",
        &since,
        "--until",
        &until,
        "--to",
        path(&out),
    ]);
    let record_time = took.elapsed();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("cases written to {}", out.display()))
            && stdout.contains("skipped by outcome")
            && stdout.contains("personal data pseudonymised"),
        "{stdout}"
    );
    let (code, stdout_kept, stderr) = record(&[
        "--config",
        path(&config),
        "--since",
        &since,
        "--until",
        &until,
        "--to",
        path(&kept),
        "--keep-personal-data",
    ]);
    assert_eq!(code, 0, "{stdout_kept}{stderr}");
    assert!(stdout_kept.contains("personal data kept"), "{stdout_kept}");
    assert!(gateway.process.is_some(), "recorded while the gateway runs");

    // Every case loads; every registry called is there; every document validates.
    let loaded = load_all(&[&out]).expect("every recorded case loads");
    let registries_recorded: BTreeSet<&str> = loaded.iter().map(|c| c.registry.name()).collect();
    assert_eq!(
        registries_recorded.len(),
        4,
        "the flow calls all four registries: {registries_recorded:?}"
    );
    assert!(
        stdout.starts_with(&format!("{} cases written", loaded.len())),
        "{stdout}"
    );
    for case in &loaded {
        assert!(case.tags.iter().any(|t| t == "recorded"), "{:?}", case.tags);
        assert!(
            matches!(case.expect, Expectation::Response(_)),
            "{}",
            case.name()
        );
        assert!(!case.ignore.is_empty(), "{}", case.name());
    }
    let schema = Schema::load(&[project("schemas")]).expect("schemas");
    let recorded = files(&out);
    let as_logged = files(&kept);
    assert_eq!(
        recorded.keys().collect::<Vec<_>>(),
        as_logged.keys().collect::<Vec<_>>(),
        "the same exchanges, the same names"
    );
    for ((case, file), text) in &recorded {
        if file.ends_with(".xml") {
            let report = validate_bytes(&schema, text.as_bytes(), &Options::default());
            assert!(report.is_valid(), "{case}/{file}: {:?}", report.violations);
            // The same markup, prefixes and order as logged: only values changed.
            assert_eq!(
                markup(text),
                markup(&as_logged[&(case.clone(), file.clone())]),
                "{case}/{file}"
            );
        }
    }

    // The originals: what was submitted, and every personal value the kept recording holds.
    let mut originals: BTreeSet<String> = cases.iter().flat_map(submitted_values).collect();
    let mut kept_personal: Vec<(Rule, String)> = Vec::new();
    for ((_, file), text) in &as_logged {
        if file.ends_with(".xml") {
            for (chain, value) in values(text) {
                let r = rule_of(&chain);
                if personal(r) {
                    kept_personal.push((r, value));
                }
            }
        }
    }
    let everything_kept: String = as_logged.values().cloned().collect();
    for case in &cases {
        assert!(
            everything_kept.contains(&case.applicant.snils),
            "--keep-personal-data keeps the applicant's SNILS"
        );
    }
    let strong = |r: Rule, v: &str| {
        matches!(
            r,
            Rule::Snils
                | Rule::Inn
                | Rule::Phone
                | Rule::Email
                | Rule::LastName
                | Rule::FirstName
                | Rule::MiddleName
        ) && v.chars().count() >= 4
    };
    originals.extend(
        kept_personal
            .iter()
            .filter(|(r, v)| strong(*r, v))
            .map(|(_, v)| v.clone()),
    );
    let everything: String = recorded.values().cloned().collect::<Vec<_>>().join("\n");
    for original in &originals {
        assert!(
            !everything.contains(original.as_str()),
            "the original {original:?} is in the recording"
        );
    }
    // Value by value, every personal original of any kind (dates, document numbers too).
    let all_originals: BTreeSet<&String> = kept_personal.iter().map(|(_, v)| v).collect();
    let mut snils_map: HashMap<String, String> = HashMap::new();
    let mut cases_of: HashMap<String, BTreeSet<String>> = HashMap::new();
    for ((case, file), text) in &recorded {
        if !file.ends_with(".xml") {
            continue;
        }
        let before = values(&as_logged[&(case.clone(), file.clone())]);
        let after = values(text);
        assert_eq!(before.len(), after.len(), "{case}/{file}");
        for ((chain, original), (_, synthetic)) in before.into_iter().zip(after) {
            let r = rule_of(&chain);
            if !personal(r) {
                continue;
            }
            assert!(
                !all_originals.contains(&synthetic),
                "{case}/{file}: {chain:?} holds an original value"
            );
            match r {
                Rule::Snils => {
                    assert!(snils_is_valid(&synthetic), "{synthetic}: check number");
                    let earlier = snils_map.insert(original.clone(), synthetic.clone());
                    assert!(
                        earlier.is_none_or(|e| e == synthetic),
                        "one SNILS, two synthetic ones"
                    );
                    cases_of.entry(original).or_default().insert(case.clone());
                }
                Rule::Inn => assert!(inn_is_valid(&synthetic), "{synthetic}: control digits"),
                _ => {}
            }
        }
    }
    let distinct: BTreeSet<&String> = snils_map.values().collect();
    assert_eq!(
        distinct.len(),
        snils_map.len(),
        "two SNILS, one synthetic one"
    );
    assert!(
        cases_of.values().any(|c| c.len() >= 3),
        "a person's SNILS recurs across cases: {cases_of:?}"
    );
    for case in &cases {
        let synthetic = &snils_map[&case.applicant.snils];
        let holding: Vec<&(String, String)> = recorded
            .iter()
            .filter(|(_, text)| text.contains(synthetic.as_str()))
            .map(|(k, _)| k)
            .collect();
        assert!(
            holding.len() >= 2,
            "the applicant, in more than one case: {holding:?}"
        );
    }
    // Round trip: the recording as logged, replayed against a fresh mock of the same population,
    // passes. (A pseudonymised one asks about people the mock does not have: it cannot.)
    let replay = Command::new(BINARY)
        .arg("replay")
        .arg(&kept)
        .args(["--target", "mock", "--mock-seed"])
        .arg(POPULATION.seed.to_string())
        .arg("--mock-people")
        .arg(POPULATION.people.to_string())
        .arg("--certs")
        .arg(dir.join("certs"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("reggate replay runs");
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{replayed}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(
        replayed.contains(&format!("{} passed, 0 failed", loaded.len())),
        "{replayed}"
    );
    eprintln!(
        "{} cases from {} exchanges; recording took {record_time:?}; test {:?}",
        loaded.len(),
        read_exchanges(&log, from, None).expect("log").len(),
        started.elapsed()
    );
}

/// A message log written here, with bodies kept by `policy`, holding `exchanges`.
fn write_log(data: &Path, policy: BodyPolicy, exchanges: Vec<Exchange>) {
    let log = SqliteMessageLog::open(
        &data.join("message_log.sqlite"),
        Duration::from_secs(30 * 86_400),
        Arc::new(SystemClock),
    )
    .expect("log");
    for mut e in exchanges {
        e.request = e.request.and_then(|r| policy.keep(r.as_bytes()));
        e.response = e.response.and_then(|r| policy.keep(r.as_bytes()));
        log.record(e);
    }
    log.flush();
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(project(&format!("fixtures/messages/{name}"))).expect("fixture")
}

fn exchange(
    operation: Operation,
    attempt: u32,
    outcome: &str,
    request: &str,
    response: Option<&str>,
    at: SystemTime,
) -> Exchange {
    Exchange {
        at,
        request_id: format!("req-{outcome}"),
        registry: operation.registry(),
        operation,
        attempt,
        outcome: outcome.to_string(),
        http_status: response.map(|_| 200),
        duration: Duration::from_millis(5),
        request: Some(request.to_string()),
        response: response.map(str::to_string),
        error: None,
    }
}

#[test]
fn each_outcome_becomes_an_answer_a_fault_a_refusal_or_a_skip() {
    let dir = fresh("fixtures-record-outcomes");
    let data = dir.join("data");
    let now = SystemTime::now();
    let hour_ago = now - Duration::from_secs(3600);
    let invalid = std::fs::read_to_string(project(
        "fixtures/messages/invalid/snils-verify-request_err_bad_snils_pattern.xml",
    ))
    .expect("fixture");
    let snils_request = fixture("snils-verify-request.xml");
    write_log(
        &data,
        BodyPolicy::Full,
        vec![
            // Before the range.
            exchange(
                Operation::VerifySnils,
                1,
                "ok",
                &snils_request,
                Some(&fixture("snils-verify-response.xml")),
                now - Duration::from_secs(7200),
            ),
            exchange(
                Operation::VerifySnils,
                1,
                "ok",
                &snils_request,
                Some(&fixture("snils-verify-response.xml")),
                hour_ago,
            ),
            exchange(
                Operation::FindBirthRecord,
                1,
                "ok",
                &fixture("children-find-birth-record-request.xml"),
                Some(&fixture("children-find-birth-record-response.xml")),
                hour_ago,
            ),
            exchange(
                Operation::RegisterAssignment,
                1,
                "fault",
                &fixture("labour-register-assignment-request.xml"),
                Some(&fixture("labour-register-assignment-fault.xml")),
                hour_ago,
            ),
            exchange(
                Operation::VerifySnils,
                0,
                "invalid_request",
                &invalid,
                None,
                hour_ago,
            ),
            exchange(
                Operation::VerifySnils,
                1,
                "registry_error",
                &snils_request,
                Some(&fixture("snils-verify-response-error.xml")),
                hour_ago,
            ),
            exchange(
                Operation::VerifySnils,
                1,
                "timeout",
                &snils_request,
                None,
                hour_ago,
            ),
            exchange(
                Operation::FindInn,
                1,
                "transport",
                &fixture("inn-find-request.xml"),
                None,
                hour_ago,
            ),
            exchange(
                Operation::FindInn,
                2,
                "transport",
                &fixture("inn-find-request.xml"),
                None,
                hour_ago,
            ),
        ],
    );
    let since = timestamp(now - Duration::from_secs(5400));
    let out = dir.join("cases");
    let (code, stdout, stderr) =
        record(&["--data", path(&data), "--since", &since, "--to", path(&out)]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("5 cases written to {}", out.display()))
            && stdout.contains("3 skipped by outcome (timeout 1, transport 2)"),
        "{stdout}"
    );
    let cases = load_all(&[&out]).expect("cases load");
    let names: Vec<String> = cases.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "children-find-birth-record-001",
            "labour-register-assignment-001",
            "snils-verify-snils-001",
            "snils-verify-snils-002",
            "snils-verify-snils-003",
        ]
    );
    let schema = Schema::load(&[project("schemas")]).expect("schemas");
    for case in &cases {
        match &case.expect {
            Expectation::Response(response) => {
                assert!(validate_bytes(&schema, response, &Options::default()).is_valid());
                assert!(validate_bytes(&schema, &case.request, &Options::default()).is_valid());
                assert!(case.tags.contains(&"ok".to_string()));
            }
            Expectation::Fault { code, text, .. } => {
                assert_eq!(code, "soap:Server");
                assert!(text.is_match("Внутренняя ошибка реестра"), "{text}");
                assert_eq!(case.name(), "labour-register-assignment-001");
                assert!(case.ignore.is_empty());
            }
            Expectation::Refused { path, rule } => {
                let first = validate_bytes(&schema, &case.request, &Options::default())
                    .violations
                    .into_iter()
                    .next()
                    .expect("the request is still refused");
                assert_eq!((path, rule.as_str()), (&first.path, first.rule));
                assert_eq!(
                    path,
                    "/soap:Envelope/soap:Body/snils:VerifySnilsRequest/snils:Snils"
                );
                assert_eq!(rule, "cvc-pattern-valid");
                assert!(case.tags.contains(&"refused".to_string()));
            }
            // The registry's own Error element: a failure of the gateway's client, as replay's.
            Expectation::Error { kind, status } => {
                assert_eq!((kind.as_str(), *status), ("registry_error", None));
                assert_eq!(case.name(), "snils-verify-snils-003");
                assert!(case.tags.contains(&"registry_error".to_string()));
                assert!(!case.dir.join("response.xml").exists());
            }
        }
    }
    // The fixtures' people are gone from the recording.
    let everything: String = files(&out).into_values().collect();
    for original in [
        "14573298184",
        "16840322765",
        "15720463352",
        "Иванова",
        "Алексеевна",
        "523614",
        "14573298l84",
        "+79161234567",
        "m.ivanova@example.ru",
    ] {
        assert!(!everything.contains(original), "{original} recorded");
    }

    // Only one registry.
    let (code, stdout, stderr) = record(&[
        "--data",
        path(&data),
        "--since",
        &since,
        "--registry",
        "snils",
        "--to",
        path(&dir.join("snils-only")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("3 cases written") && stdout.contains("(snils 3)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 skipped by outcome (timeout 1)"),
        "{stdout}"
    );

    // Nothing in the range: nothing written, exit 0.
    let empty = dir.join("empty");
    let (code, stdout, _) = record(&[
        "--data",
        path(&data),
        "--since",
        &timestamp(now + Duration::from_secs(3600)),
        "--to",
        path(&empty),
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("0 cases written") && !empty.exists(),
        "{stdout}"
    );

    // Into a folder that holds something: refused before reading, nothing touched.
    let (code, _, stderr) = record(&["--data", path(&data), "--since", &since, "--to", path(&out)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(load_all(&[&out]).expect("untouched").len(), 5);
}

#[test]
fn what_cannot_be_recorded_from_exits_2_with_the_reason() {
    let dir = fresh("fixtures-record-refused");
    let at = SystemTime::now() - Duration::from_secs(60);
    let since = timestamp(at - Duration::from_secs(60));
    let request = fixture("snils-verify-request.xml");
    let response = fixture("snils-verify-response.xml");
    let one = || {
        vec![exchange(
            Operation::VerifySnils,
            1,
            "ok",
            &request,
            Some(&response),
            at,
        )]
    };
    for (name, policy, says) in [
        ("masked", BodyPolicy::Masked, "1 masked"),
        ("omitted", BodyPolicy::Omitted, "1 omitted"),
    ] {
        let data = dir.join(name).join("data");
        write_log(&data, policy, one());
        let to = dir.join(name).join("out");
        for keep in [false, true] {
            let mut args = vec!["--data", path(&data), "--since", &since, "--to", path(&to)];
            if keep {
                args.push("--keep-personal-data");
            }
            let (code, stdout, stderr) = record(&args);
            assert_eq!(code, 2, "{name}: {stdout}{stderr}");
            assert!(
                stderr.contains("log.bodies = \"full\"") && stderr.contains(says),
                "{name}: {stderr}"
            );
            assert!(!to.exists(), "{name}: nothing written");
        }
    }
    // A configuration that says why.
    let data = dir.join("masked").join("data");
    let config = dir.join("reggate.toml");
    std::fs::write(
        &config,
        format!("data = {data:?}\n[log]\nbodies = \"masked\"\n"),
    )
    .unwrap();
    let (code, _, stderr) = record(&[
        "--config",
        path(&config),
        "--since",
        &since,
        "--to",
        path(&dir.join("x")),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("the configuration says log.bodies = \"masked\""),
        "{stderr}"
    );

    // Usage and setup errors.
    let full = dir.join("full").join("data");
    write_log(&full, BodyPolicy::Full, one());
    let to = dir.join("y");
    for (args, says) in [
        (
            vec![
                "--data",
                path(&full),
                "--since",
                "last tuesday",
                "--to",
                path(&to),
            ],
            "is not a time",
        ),
        (
            vec![
                "--data",
                path(&full),
                "--since",
                &since,
                "--until",
                "2000-01-01",
                "--to",
                path(&to),
            ],
            "--until must be later",
        ),
        (
            vec![
                "--data",
                path(&full),
                "--since",
                &since,
                "--registry",
                "tax",
                "--to",
                path(&to),
            ],
            "not a registry",
        ),
        (
            vec!["--data", path(&dir), "--since", &since, "--to", path(&to)],
            "no message log",
        ),
        (vec!["--data", path(&full), "--since", &since], "--to"),
        (
            vec![
                "--data",
                path(&full),
                "--config",
                path(&config),
                "--since",
                &since,
                "--to",
                path(&to),
            ],
            "cannot be used with",
        ),
        (
            vec![
                "--data",
                path(&full),
                "--since",
                &since,
                "--to",
                path(&to),
                "--schemas",
                path(&dir.join("no-schemas")),
            ],
            "schemas",
        ),
    ] {
        let (code, stdout, stderr) = record(&args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!to.exists(), "{args:?}");
    }
    // And the full log records.
    let (code, stdout, stderr) =
        record(&["--data", path(&full), "--since", &since, "--to", path(&to)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("1 case written"), "{stdout}");
}
