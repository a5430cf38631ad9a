//! Applications processed end to end below the HTTP API: validated input stored in SQLite, a worker
//! claims it, asks the mock registries (over mTLS, through the whole pipeline) and writes the
//! decision. People come from the mock population's sample cases, on its reference date.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/mock_harness.rs"]
mod harness;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cases::{application, case, eligible, strip_nulls};
use harness::Harness;
use reggate::clock::Clock;
use reggate::contract::Registry;
use reggate::domain::application::ApplicationInput;
use reggate::domain::status::Status;
use reggate::mock::faults::{FaultKind, Rule};
use reggate::registries::client::Registries;
use reggate::service::Workflows;
use reggate::service::process::{Processed, Retry, Worker};
use reggate::soap::client::{RetryPolicy, Settings};
use reggate::store::sqlite::SqliteStore;
use reggate::store::{NewApplication, Store, Submitted, Transition, Transitioned};
use serde_json::{Value, json};

/// The population's reference date, 2026-07-01 10:00 UTC.
const REFERENCE: u64 = 1_782_900_000;

/// The request ids of every registry exchange, in order.
#[derive(Default)]
struct Ids(std::sync::Mutex<Vec<String>>);

impl reggate::soap::log::MessageLog for Ids {
    fn record(&self, exchange: reggate::soap::log::Exchange) {
        self.0
            .lock()
            .expect("ids")
            .push(exchange.request_id.clone());
    }

    fn flush(&self) {}
}

struct Setup {
    h: Harness,
    ids: Arc<Ids>,
    wf: Workflows,
    store: Arc<dyn Store>,
    worker: Worker,
}

async fn setup(name: &str) -> Setup {
    let h = Harness::start(&format!("process-{name}")).await;
    h.clock
        .set(SystemTime::UNIX_EPOCH + Duration::from_secs(REFERENCE));
    let settings = Settings {
        call_deadline: Duration::from_secs(3),
        retry: RetryPolicy {
            max_attempts: 2,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        ..Settings::default()
    };
    let ids = Arc::new(Ids::default());
    let (soap, _) = h.soap_client(settings, ids.clone());
    let registries = Registries::new(Arc::new(soap), h.clock.clone() as Arc<dyn Clock>);
    let dir = harness::tempdir(&format!("process-store-{name}"));
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("reggate.sqlite")).expect("store"));
    let wf = Workflows {
        store: store.clone(),
        checks: Arc::new(registries),
        clock: h.clock.clone() as Arc<dyn Clock>,
    };
    Setup {
        h,
        ids,
        wf,
        store,
        worker: Worker {
            name: "w1".into(),
            lease: Duration::from_secs(60),
            retry: Retry::default(),
        },
    }
}

async fn submit(s: &Setup, n: u32, input: Value) -> String {
    let today = reggate::calendar::today(s.h.clock.now());
    let input: ApplicationInput = serde_json::from_value(strip_nulls(input)).expect("shape");
    let input = input.validate(today).expect("valid input");
    let new = NewApplication {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        number: format!("RG-2026-{n:06}"),
        idempotency_key: format!("k{n}"),
        request_hash: "h".into(),
        benefit: input.benefit().code().to_string(),
        applicant_snils: input.applicant().snils.as_str().to_string(),
        child_snils: input.child().snils.as_str().to_string(),
        input: input.to_json(),
        actor: "test".into(),
        origin: "127.0.0.1".into(),
        request_id: format!("req-{n}"),
        at: s.h.clock.now(),
        documents: Vec::new(),
    };
    match s.store.submit(new).await.expect("submit") {
        Submitted::Created(r) => r.id,
        other => panic!("{other:?}"),
    }
}

async fn decide(s: &Setup) -> reggate::store::ApplicationRecord {
    match s.worker.process_one(&s.wf).await.expect("process") {
        Processed::Decided(r) => *r,
        other => panic!("not decided: {other:?}"),
    }
}

fn reason_codes(r: &reggate::store::ApplicationRecord) -> Vec<(String, String)> {
    let last = r.journal.last().expect("journal");
    last.reasons
        .as_array()
        .expect("reasons")
        .iter()
        .map(|x| {
            (
                x["pointer"].as_str().unwrap_or("").to_string(),
                x["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eligible_application_is_approved_and_registered() {
    let s = setup("approve").await;
    let people = s.h.state.population.export_people(200);
    let reference = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) =
        eligible(&people, reference).expect("an eligible child in the sample");
    let id = submit(&s, 1, application(entry, k, benefit)).await;
    let record = decide(&s).await;
    assert_eq!(record.id, id);
    assert_eq!(
        record.status,
        Status::Approved,
        "{:?}",
        reason_codes(&record)
    );
    let path: Vec<_> = record.journal.iter().map(|j| j.to).collect();
    assert_eq!(
        path,
        [Status::Submitted, Status::InReview, Status::Approved]
    );
    let labour = s.h.state.counters.registry(Registry::Labour);
    assert_eq!(labour.requests["RegisterAssignment"].valid, 1);
    // One id tells the whole story: the submitting request's, in the journal and every SOAP call.
    assert!(record.journal.iter().all(|j| j.request_id == "req-1"));
    let ids = s.ids.0.lock().expect("ids").clone();
    assert!(ids.len() >= 6, "{ids:?}");
    assert!(ids.iter().all(|id| id == "req-1"), "{ids:?}");
    // The Ministry of Labour now lists it for the child.
    let child = record.child_snils.clone();
    assert!(
        s.h.state
            .population
            .active_assignments(&child)
            .iter()
            .any(|a| a.application_number == record.number)
    );
    s.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_child_name_goes_to_clarification_and_a_duplicate_is_rejected() {
    let s = setup("clarify").await;
    let people = s.h.state.population.export_people(40);
    let entry = case(&people, "disabled_child");
    let correct = strip_nulls(application(entry, 0, "disabled_child"));
    let mut input = correct.clone();
    input["child"]["first_name"] = json!("Аглая");
    let id = submit(&s, 1, input).await;
    let record = decide(&s).await;
    assert_eq!(record.status, Status::NeedsClarification);
    assert_eq!(
        reason_codes(&record),
        [("/child/first_name".into(), "birth_record_mismatch".into())]
    );

    // The applicant corrects the name (as POST …/clarification writes it): only the children's
    // registry is asked again; the other answers are reused; then the assignment is registered.
    let requests = |s: &Setup| {
        Registry::ALL.map(|r| {
            let c = s.h.state.counters.registry(r);
            (
                r,
                c.requests
                    .iter()
                    .map(|(op, n)| (op.clone(), n.valid))
                    .collect::<Vec<_>>(),
            )
        })
    };
    let before = requests(&s);
    let clarified = s
        .store
        .transition(Transition {
            id: id.clone(),
            from: Status::NeedsClarification,
            to: Status::InReview,
            actor: "key:test".into(),
            origin: "127.0.0.1".into(),
            reasons: json!([]),
            comment: None,
            request_id: "clarify-1".into(),
            at: s.h.clock.now(),
            lease_holder: None,
            input: Some(correct),
            answers: None,
            documents_added: Vec::new(),
            manifest: None,
        })
        .await
        .expect("clarify");
    assert!(matches!(clarified, Transitioned::Done(_)), "{clarified:?}");
    let record = decide(&s).await;
    // The household's disability status may be another child's: decided either way, not sent back.
    assert!(
        matches!(record.status, Status::Approved | Status::Rejected),
        "{:?} {:?}",
        record.status,
        reason_codes(&record)
    );
    let after = requests(&s);
    let asked: Vec<_> = after
        .iter()
        .zip(before.iter())
        .flat_map(|((r, now), (_, then))| {
            now.iter().filter_map(move |(op, n)| {
                let was = then.iter().find(|(o, _)| o == op).map_or(0, |(_, n)| *n);
                (*n > was).then(|| format!("{r}:{op}"))
            })
        })
        .collect();
    let mut expected = vec!["children:FindBirthRecord"];
    if record.status == Status::Approved {
        expected.push("labour:RegisterAssignment");
    }
    assert_eq!(
        asked, expected,
        "only the changed field's registry is asked again"
    );

    let dup = case(&people, "duplicate_same_recipient");
    let benefit = dup["benefit"].as_str().expect("benefit");
    let existing = dup["existing_assignment_id"].as_str().expect("existing");
    submit(&s, 2, application(dup, 0, benefit)).await;
    let record = decide(&s).await;
    assert_eq!(record.status, Status::Rejected);
    let last = record.journal.last().expect("journal");
    let duplicate = last
        .reasons
        .as_array()
        .expect("reasons")
        .iter()
        .find(|r| r["code"] == "duplicate_benefit");
    let message = duplicate.expect("a duplicate reason")["message"]
        .as_str()
        .unwrap_or("");
    assert!(message.contains(existing), "{message}");
    s.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_outage_parks_the_application_and_it_resumes_within_seconds_of_the_return() {
    let s = setup("outage").await;
    let people = s.h.state.population.export_people(40);
    let entry = case(&people, "disabled_child");
    let mut input = application(entry, 0, "disabled_child");
    input["child"]["first_name"] = json!("Аглая");
    let id = submit(&s, 1, input).await;
    s.h.set_faults(Registry::Children, &[Rule::new(FaultKind::ServerFault)]);
    let parked = s.worker.process_one(&s.wf).await.expect("process");
    let Processed::Parked { id: p, parked } = &parked else {
        panic!("{parked:?}");
    };
    assert_eq!(*p, id);
    assert_eq!(parked.registry, "children");
    assert_eq!(parked.attempts, 1);
    let record = s.store.get(&id).await.expect("get").expect("kept");
    assert_eq!(record.status, Status::InReview, "not failed, only parked");
    let stored = record.parked.expect("the reason is stored");
    assert_eq!(stored, **parked);
    assert!(
        stored.reason.contains("FindBirthRecord"),
        "{}",
        stored.reason
    );
    let wait = stored.next_attempt_ms - stored.since_ms;
    assert!((500..=1000).contains(&wait), "first retry after {wait} ms");

    // Not before its next attempt, by any worker.
    assert!(matches!(
        s.worker.process_one(&s.wf).await.expect("process"),
        Processed::Idle
    ));
    // Still down at the next attempt: parked again, later, the same run of failures.
    s.h.clock.advance(Duration::from_millis(wait as u64 + 1));
    let Processed::Parked { parked: again, .. } =
        s.worker.process_one(&s.wf).await.expect("process")
    else {
        panic!("parked again");
    };
    assert_eq!((again.attempts, again.since_ms), (2, stored.since_ms));

    // The registry is back: the next attempt, seconds later and far inside the 60 s lease, decides.
    s.h.set_faults(Registry::Children, &[]);
    let wait = (again.next_attempt_ms - reggate::clock::millis(s.h.clock.now())) as u64;
    assert!(wait <= 2_000, "second retry after {wait} ms");
    s.h.clock.advance(Duration::from_millis(wait + 1));
    let record = decide(&s).await;
    assert_eq!(record.id, id);
    assert_eq!(record.status, Status::NeedsClarification);
    assert!(record.parked.is_none(), "a decision clears the parking");
    s.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_our_schema_refuses_stops_in_manual_review_and_never_reaches_the_registry() {
    let s = setup("defect").await;
    let people = s.h.state.population.export_people(200);
    let reference = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) =
        eligible(&people, reference).expect("an eligible child in the sample");
    let id = submit(&s, 1, application(entry, k, benefit)).await;
    // Damage the stored application the way a bug in an upstream rule would: a name the registries'
    // schema refuses (cmn:NamePartType is Cyrillic only) that the typed decode does not judge.
    let mut record = s.store.get(&id).await.expect("get").expect("kept");
    record.input["applicant"]["last_name"] = json!("Smith");
    s.store
        .transition(Transition {
            id: id.clone(),
            from: Status::Submitted,
            to: Status::InReview,
            actor: "test".into(),
            origin: "test".into(),
            reasons: json!([]),
            comment: None,
            request_id: "damage".into(),
            at: s.h.clock.now(),
            lease_holder: None,
            input: Some(record.input),
            answers: None,
            documents_added: Vec::new(),
            manifest: None,
        })
        .await
        .expect("damage");
    let snils_before = s.h.state.counters.registry(Registry::Snils);
    let max = Retry::default().max_defects;
    for attempt in 1..max {
        let Processed::Parked { parked, .. } = s.worker.process_one(&s.wf).await.expect("process")
        else {
            panic!("attempt {attempt} parks");
        };
        assert_eq!(parked.defects, attempt);
        assert!(parked.reason.contains("not sent"), "{}", parked.reason);
        s.h.clock.advance(Duration::from_millis(
            (parked.next_attempt_ms - parked.since_ms) as u64 * 4,
        ));
    }
    let Processed::Escalated(record) = s.worker.process_one(&s.wf).await.expect("process") else {
        panic!("escalated after {max} defects");
    };
    assert_eq!(record.status, Status::ManualReview);
    let last = record.journal.last().expect("journal");
    assert_eq!(last.to, Status::ManualReview);
    let reason = &last.reasons[0];
    assert_eq!(reason["code"], "registry_check_failed");
    let message = reason["message"].as_str().unwrap_or("");
    assert!(
        message.contains("VerifySnils") && message.contains("after 3 attempts"),
        "{message}"
    );
    assert!(!message.contains("Smith"), "no personal values: {message}");
    // Our schema stopped it every time: the registry never saw such a request.
    let snils = s.h.state.counters.registry(Registry::Snils);
    assert_eq!(snils.invalid_requests(), 0);
    assert_eq!(
        snils.requests.get("VerifySnils").map_or(0, |c| c.valid),
        snils_before
            .requests
            .get("VerifySnils")
            .map_or(0, |c| c.valid),
        "not one VerifySnils request left the gateway"
    );
    // And no worker picks it up again: a reviewer has it.
    s.h.clock.advance(Duration::from_secs(3600));
    assert!(matches!(
        s.worker.process_one(&s.wf).await.expect("process"),
        Processed::Idle
    ));
    s.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_answering_schema_invalid_replies_reaches_a_reviewer_only_after_attempts_and_time()
 {
    let s = setup("bad-answer").await;
    let people = s.h.state.population.export_people(200);
    let reference = reggate::calendar::day_of(REFERENCE as i64 * 1000);
    let (entry, k, benefit) =
        eligible(&people, reference).expect("an eligible child in the sample");
    let id = submit(&s, 1, application(entry, k, benefit)).await;
    s.h.set_faults(Registry::Children, &[Rule::new(FaultKind::SchemaInvalid)]);
    let retry = Retry::default();
    // Parked again and again (as a bad answer, or as an outage while the circuit breaker is open
    // after them), never escalated by count alone: a passing hiccup sends nothing to a reviewer. Once
    // the bad answers have lasted the span, a reviewer takes over.
    let start = s.h.clock.now();
    let mut bad_answers = 0;
    let mut escalated = None;
    for _ in 0..200 {
        match s.worker.process_one(&s.wf).await.expect("process") {
            Processed::Parked { parked, .. } => {
                assert_ne!(parked.kind, reggate::domain::ports::FailureKind::Defect);
                if parked.kind == reggate::domain::ports::FailureKind::BadAnswer {
                    bad_answers += 1;
                }
                let now = reggate::clock::millis(s.h.clock.now());
                s.h.clock.advance(Duration::from_millis(
                    (parked.next_attempt_ms - now) as u64 + 1,
                ));
            }
            Processed::Escalated(record) => {
                escalated = Some(record);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let record = escalated.expect("escalated once the bad answers lasted");
    let lasted = s.h.clock.now().duration_since(start).expect("forward");
    assert!(bad_answers >= retry.max_defects - 1, "{bad_answers}");
    assert!(
        lasted >= retry.bad_answer_span && lasted <= retry.bad_answer_span + retry.cap * 2,
        "escalated after {lasted:?}"
    );
    assert_eq!(record.id, id);
    assert_eq!(record.status, Status::ManualReview);
    let message = record.journal.last().expect("journal").reasons[0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(message.contains("FindBirthRecord"), "{message}");
    s.h.stop().await;
}
