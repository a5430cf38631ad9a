//! One conformance suite for both stores: SQLite in a temp dir, and the real PostgreSQL at
//! 127.0.0.1:5432 (database `test`; `REGGATE_TEST_PG` overrides the connection string), each test in
//! a schema of its own.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reggate::domain::ports::FailureKind;
use reggate::domain::status::Status;
use reggate::store::postgres::PostgresStore;
use reggate::store::sqlite::SqliteStore;
use reggate::store::{
    Census, Cursor, ListFilter, NewApplication, Parked, Store, Submitted, Transition, Transitioned,
};

fn pg_url() -> String {
    std::env::var("REGGATE_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_string())
}

async fn sqlite(name: &str) -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("reggate-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Arc::new(SqliteStore::open(&dir.join("reggate.sqlite")).expect("sqlite"))
}

fn schema(name: &str) -> String {
    format!("t_{}_{name}", std::process::id())
}

async fn drop_schema(schema: &str) {
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (database test)");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .expect("drop schema");
}

/// Schemas an earlier run left behind (it failed before dropping them).
async fn drop_leftovers(name: &str) {
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (database test)");
    tokio::spawn(conn);
    let pattern = format!("t\\_%\\_{name}");
    let rows = client
        .query(
            "SELECT schema_name::TEXT FROM information_schema.schemata WHERE schema_name LIKE $1",
            &[&pattern],
        )
        .await
        .expect("schemas");
    for row in rows {
        let schema: String = row.get(0);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .expect("drop leftover");
    }
}

async fn postgres(name: &str) -> Arc<dyn Store> {
    let schema = schema(name);
    drop_leftovers(name).await;
    Arc::new(
        PostgresStore::connect(&pg_url(), Some(&schema))
            .await
            .expect("postgres"),
    )
}

fn new_app(n: u32, child: &str, key: &str) -> NewApplication {
    NewApplication {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        number: format!("RG-2026-{n:06}"),
        idempotency_key: key.to_string(),
        request_hash: "h1".to_string(),
        benefit: "childcare_under_1_5".to_string(),
        applicant_snils: "11223344595".to_string(),
        child_snils: child.to_string(),
        input: serde_json::json!({"benefit": "childcare_under_1_5", "n": n}),
        actor: "cert:cabinet".to_string(),
        origin: "203.0.113.7".to_string(),
        request_id: format!("req-{n}"),
        at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_900_000 + u64::from(n)),
        documents: Vec::new(),
    }
}

fn transition(
    id: &str,
    from: Status,
    to: Status,
    worker: Option<&str>,
    at: SystemTime,
) -> Transition {
    Transition {
        id: id.to_string(),
        from,
        to,
        actor: worker.map_or("reviewer:1".to_string(), |w| format!("worker:{w}")),
        origin: "reggate".to_string(),
        reasons: serde_json::json!([{"code": "ok"}]),
        comment: None,
        request_id: "req-t".to_string(),
        at,
        lease_holder: worker.map(str::to_string),
        input: None,
        answers: None,
        documents_added: Vec::new(),
        manifest: None,
    }
}

async fn submit_is_idempotent_by_key(store: Arc<dyn Store>) {
    let Submitted::Created(a) = store
        .submit(new_app(1, "22233344455", "key-1"))
        .await
        .expect("submit")
    else {
        panic!("not created");
    };
    assert_eq!(a.status, Status::Submitted);
    assert_eq!(a.journal.len(), 1);
    assert_eq!(a.journal[0].to, Status::Submitted);
    assert_eq!(a.journal[0].actor, "cert:cabinet");
    assert_eq!(a.journal[0].origin, "203.0.113.7");
    let again = store
        .submit(new_app(2, "22233344455", "key-1"))
        .await
        .expect("again");
    assert_eq!(
        again,
        Submitted::Repeated(a.clone()),
        "same key, same body: the same application"
    );
    let mut other = new_app(3, "22233344455", "key-1");
    other.request_hash = "h2".to_string();
    assert_eq!(
        store.submit(other).await.expect("conflict"),
        Submitted::KeyConflict
    );
    assert_eq!(store.get(&a.number).await.expect("get").as_ref(), Some(&a));
    assert_eq!(store.get(&a.id).await.expect("get").as_ref(), Some(&a));
    assert_eq!(store.get("RG-0000-000000").await.expect("get"), None);
    let earlier = store
        .by_idempotency_key("key-1")
        .await
        .expect("by key")
        .expect("filed");
    assert_eq!(earlier.record, a);
    assert_eq!(
        earlier.request_hash,
        new_app(1, "22233344455", "key-1").request_hash
    );
    assert_eq!(
        store.by_idempotency_key("key-9").await.expect("by key"),
        None
    );
    let events = store.events_after(0, 10).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(store.webhook_cursor("hook").await.expect("cursor"), 0);
    store
        .set_webhook_cursor("hook", events[0].seq)
        .await
        .expect("set");
    store
        .set_webhook_cursor("hook", events[0].seq)
        .await
        .expect("set again");
    assert_eq!(
        store.webhook_cursor("hook").await.expect("cursor"),
        events[0].seq
    );
    assert_eq!(
        (events[0].kind.as_str(), events[0].status),
        ("submitted", Status::Submitted)
    );
}

async fn claims_lease_and_decide_exactly_once(store: Arc<dyn Store>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_950_000);
    let lease = Duration::from_secs(60);
    let Submitted::Created(a) = store
        .submit(new_app(10, "33344455566", "key-10"))
        .await
        .expect("submit")
    else {
        panic!("not created");
    };
    let claimed = store
        .claim("w1", t0, lease)
        .await
        .expect("claim")
        .expect("one to claim");
    assert_eq!(
        (claimed.id.as_str(), claimed.status),
        (a.id.as_str(), Status::InReview)
    );
    assert!(
        store.claim("w2", t0, lease).await.expect("claim").is_none(),
        "leased to w1"
    );
    // w1 dies; after the lease another worker takes it over.
    let later = t0 + Duration::from_secs(61);
    let taken = store
        .claim("w2", later, lease)
        .await
        .expect("claim")
        .expect("expired lease");
    assert_eq!(taken.id, a.id);
    // The old worker's decision is refused; the new one's is written, once.
    let stale = store
        .transition(transition(
            &a.id,
            Status::InReview,
            Status::Approved,
            Some("w1"),
            later,
        ))
        .await
        .expect("stale");
    assert_eq!(stale, Transitioned::Stale);
    let answers = serde_json::json!({"applicant_snils": {"basis": "[]", "at_ms": 1}});
    let done = store
        .transition(Transition {
            answers: Some(answers.clone()),
            ..transition(&a.id, Status::InReview, Status::Approved, Some("w2"), later)
        })
        .await
        .expect("done");
    let Transitioned::Done(record) = done else {
        panic!("{done:?}");
    };
    assert_eq!(record.status, Status::Approved);
    assert_eq!(
        record.answers,
        Some(answers),
        "the registries' answers are kept"
    );
    let kinds: Vec<_> = record.journal.iter().map(|j| j.to).collect();
    assert_eq!(
        kinds,
        [Status::Submitted, Status::InReview, Status::Approved]
    );
    let again = store
        .transition(transition(
            &a.id,
            Status::InReview,
            Status::Approved,
            Some("w2"),
            later,
        ))
        .await
        .expect("again");
    assert_eq!(again, Transitioned::Stale, "a decision is written once");
    let events = store.events_after(0, 100).await.expect("events");
    let statuses: Vec<_> = events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [Status::Submitted, Status::InReview, Status::Approved]
    );
    assert_eq!(events[2].kind, "final_decision");
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    let tail = store
        .events_after(events[0].seq, 100)
        .await
        .expect("after cursor");
    assert_eq!(tail.len(), 2);
    assert_eq!(
        store
            .approved_for_child("33344455566")
            .await
            .expect("approved")
            .len(),
        1
    );
}

async fn concurrent_claims_never_share(stores: Vec<Arc<dyn Store>>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_783_000_000);
    assert_eq!(stores[0].backlog().await.expect("backlog"), 0);
    for n in 0..30 {
        let s = &stores[0];
        let r = s
            .submit(new_app(
                100 + n,
                &format!("444{n:08}"),
                &format!("key-c{n}"),
            ))
            .await;
        assert!(matches!(r, Ok(Submitted::Created(_))));
    }
    assert_eq!(stores[0].backlog().await.expect("backlog"), 30);
    let mut tasks = Vec::new();
    for (w, store) in (0..6).map(|w| (w, stores[w % stores.len()].clone())) {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(a) = store
                .claim(&format!("w{w}"), t0, Duration::from_secs(300))
                .await
                .expect("claim")
            {
                mine.push(a.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    assert_eq!(
        stores[0].backlog().await.expect("backlog"),
        0,
        "nothing left waiting"
    );
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every application claimed");
    assert_eq!(unique.len(), 30, "none claimed twice");
}

async fn one_approval_per_child_and_benefit(store: Arc<dyn Store>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_783_100_000);
    let child = "55566677788";
    let mut ids = Vec::new();
    for n in 0..2 {
        let Ok(Submitted::Created(a)) = store
            .submit(new_app(200 + n, child, &format!("key-d{n}")))
            .await
        else {
            panic!("submit");
        };
        ids.push(a.id);
    }
    // Both in review (claimed by two workers), approved at the same moment: exactly one wins.
    for w in ["a", "b"] {
        store
            .claim(w, t0, Duration::from_secs(60))
            .await
            .expect("claim")
            .expect("one");
    }
    let holders = ["a", "b"];
    let mut outcomes = Vec::new();
    let attempts: Vec<_> = ids
        .iter()
        .zip(holders)
        .map(|(id, w)| {
            let store = store.clone();
            let t = transition(id, Status::InReview, Status::Approved, Some(w), t0);
            tokio::spawn(async move { store.transition(t).await })
        })
        .collect();
    for a in attempts {
        outcomes.push(a.await.expect("task").expect("transition"));
    }
    let done = outcomes
        .iter()
        .filter(|o| matches!(o, Transitioned::Done(_)))
        .count();
    let dup = outcomes
        .iter()
        .filter(|o| **o == Transitioned::DuplicateApproval)
        .count();
    assert_eq!((done, dup), (1, 1), "{outcomes:?}");
}

async fn listing_filters_and_pages(store: Arc<dyn Store>) {
    for n in 0..5u32 {
        let mut a = new_app(300 + n, &format!("666{n:08}"), &format!("key-l{n}"));
        if n % 2 == 1 {
            a.benefit = "large_family".into();
            a.applicant_snils = "99988877766".into();
        }
        assert!(matches!(store.submit(a).await, Ok(Submitted::Created(_))));
    }
    let all = ListFilter::default();
    let page1 = store.list(&all, None, 2).await.expect("page 1");
    let cursor = Cursor {
        submitted_ms: page1[1].submitted_ms,
        id: page1[1].id.clone(),
    };
    assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor.clone()));
    let page2 = store.list(&all, Some(&cursor), 2).await.expect("page 2");
    let page3 = store
        .list(
            &all,
            Some(&Cursor {
                submitted_ms: page2[1].submitted_ms,
                id: page2[1].id.clone(),
            }),
            2,
        )
        .await
        .expect("page 3");
    let numbers: Vec<_> = page1
        .iter()
        .chain(&page2)
        .chain(&page3)
        .map(|s| s.number.clone())
        .collect();
    assert_eq!(
        numbers,
        (300..305)
            .map(|n| format!("RG-2026-{n:06}"))
            .collect::<Vec<_>>()
    );
    let large = ListFilter {
        benefit: Some("large_family".into()),
        ..ListFilter::default()
    };
    assert_eq!(
        store.list(&large, None, 10).await.expect("benefit").len(),
        2
    );
    let by = ListFilter {
        applicant_snils: Some("99988877766".into()),
        status: Some(Status::Submitted),
        ..ListFilter::default()
    };
    assert_eq!(store.list(&by, None, 10).await.expect("applicant").len(), 2);
    let window = ListFilter {
        submitted_from_ms: Some(page1[1].submitted_ms),
        submitted_to_ms: Some(page2[1].submitted_ms),
        ..ListFilter::default()
    };
    assert_eq!(
        store.list(&window, None, 10).await.expect("period").len(),
        2
    );
    // One goes into review; 31 days later it is overdue, the others (submitted) are not.
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_783_200_000);
    store
        .claim("w", t0, Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("one");
    let overdue = |days: u64| ListFilter {
        overdue_at_ms: Some(reggate::clock::millis(
            t0 + Duration::from_secs(days * 86_400),
        )),
        ..ListFilter::default()
    };
    assert_eq!(
        store
            .list(&overdue(29), None, 10)
            .await
            .expect("not yet")
            .len(),
        0
    );
    assert_eq!(
        store
            .list(&overdue(31), None, 10)
            .await
            .expect("overdue")
            .len(),
        1
    );
}

async fn parked_applications_wait_for_their_next_attempt(store: Arc<dyn Store>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_950_000);
    let lease = Duration::from_secs(120);
    let Submitted::Created(a) = store
        .submit(new_app(20, "44455566677", "key-20"))
        .await
        .expect("submit")
    else {
        panic!("not created");
    };
    store
        .claim("w1", t0, lease)
        .await
        .expect("claim")
        .expect("claimed");
    let parked = Parked {
        registry: "children".into(),
        kind: FailureKind::Outage,
        reason: "children registry, FindBirthRecord: timeout".into(),
        since_ms: reggate::clock::millis(t0),
        next_attempt_ms: reggate::clock::millis(t0) + 2_000,
        attempts: 1,
        defects: 0,
    };
    assert!(
        !store.park(&a.id, "w2", &parked).await.expect("park"),
        "only the lease holder parks"
    );
    assert!(store.park(&a.id, "w1", &parked).await.expect("park"));
    let record = store.get(&a.id).await.expect("get").expect("kept");
    assert_eq!(record.parked.as_ref(), Some(&parked));
    assert_eq!(record.status, Status::InReview);
    // The lease is given up: not claimable before the next attempt, claimable right after it —
    // far sooner than the 120 s lease.
    let before = t0 + Duration::from_millis(1_999);
    assert!(
        store
            .claim("w2", before, lease)
            .await
            .expect("claim")
            .is_none()
    );
    let after = t0 + Duration::from_millis(2_001);
    let again = store
        .claim("w2", after, lease)
        .await
        .expect("claim")
        .expect("claimable at its next attempt");
    assert_eq!(
        again.parked.as_ref(),
        Some(&parked),
        "the run of failures is remembered"
    );
    // A transition clears the parking and may add manifest entries whose bytes are awaited.
    let done = store
        .transition(Transition {
            documents_added: vec!["other".into()],
            ..transition(&a.id, Status::InReview, Status::Rejected, Some("w2"), after)
        })
        .await
        .expect("transition");
    let Transitioned::Done(record) = done else {
        panic!("{done:?}");
    };
    assert_eq!(record.parked, None);
    assert_eq!(record.documents_missing, ["other"]);
}

async fn census_counts_open_statuses_and_parked_applications(store: Arc<dyn Store>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_950_000);
    let lease = Duration::from_secs(120);
    let open = |submitted: u64, in_review: u64| {
        Census::from_counts(
            [
                (Status::Submitted, submitted),
                (Status::InReview, in_review),
            ],
            0,
            None,
        )
        .open
    };
    assert_eq!(
        store.census().await.expect("census"),
        Census::from_counts([], 0, None)
    );
    for n in 0..3 {
        store
            .submit(new_app(
                30 + n,
                &format!("5556667778{n}"),
                &format!("key-3{n}"),
            ))
            .await
            .expect("submit");
    }
    let a = store
        .claim("w1", t0, lease)
        .await
        .expect("claim")
        .expect("claimed");
    let census = store.census().await.expect("census");
    assert_eq!(census.open, open(2, 1));
    assert_eq!((census.parked, census.oldest_parked_since_ms), (0, None));
    let since_ms = reggate::clock::millis(t0) - 5_000;
    let parked = Parked {
        registry: "inn".into(),
        kind: FailureKind::Outage,
        reason: "inn registry, CheckInn: timeout".into(),
        since_ms,
        next_attempt_ms: reggate::clock::millis(t0) + 2_000,
        attempts: 2,
        defects: 0,
    };
    assert!(store.park(&a.id, "w1", &parked).await.expect("park"));
    let census = store.census().await.expect("census");
    assert_eq!(census.open, open(2, 1));
    assert_eq!(
        (census.parked, census.oldest_parked_since_ms),
        (1, Some(since_ms))
    );
    // A decision leaves the open statuses and the parked ones.
    let again = store
        .claim("w2", t0 + Duration::from_secs(3), lease)
        .await
        .expect("claim")
        .expect("due again");
    assert_eq!(again.id, a.id);
    let done = store
        .transition(transition(
            &a.id,
            Status::InReview,
            Status::Rejected,
            Some("w2"),
            t0 + Duration::from_secs(3),
        ))
        .await
        .expect("transition");
    assert!(matches!(done, Transitioned::Done(_)), "{done:?}");
    let census = store.census().await.expect("census");
    assert_eq!(census.open, open(2, 0));
    assert_eq!((census.parked, census.oldest_parked_since_ms), (0, None));
}

async fn batched_claims_take_the_due_first_and_skip_those_waiting_for_documents(
    store: Arc<dyn Store>,
) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_783_000_000);
    // Five wait for a document; four are ready.
    for n in 0..9u32 {
        let mut app = new_app(200 + n, &format!("555{n:08}"), &format!("key-b{n}"));
        if n % 2 == 0 {
            app.documents = vec!["passport".into()];
        }
        assert!(matches!(store.submit(app).await, Ok(Submitted::Created(_))));
    }
    // Ready: 201, 203, 205, 207. Waiting: 200, 202, 204, 206, 208.
    assert_eq!(store.backlog().await.expect("backlog"), 4);
    let first = store
        .claim_many("w1", t0, Duration::from_secs(10), 1)
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].number, "RG-2026-000201", "the oldest ready first");
    // After w1's lease ran out its application comes first, then the oldest submitted.
    let later = t0 + Duration::from_secs(11);
    let batch = store
        .claim_many("w2", later, Duration::from_secs(60), 2)
        .await
        .expect("claim");
    let numbers: Vec<_> = batch.iter().map(|r| r.number.as_str()).collect();
    assert_eq!(numbers, ["RG-2026-000201", "RG-2026-000203"]);
    assert!(batch.iter().all(|r| r.status == Status::InReview));
    let rest = store
        .claim_many("w3", later, Duration::from_secs(60), 100)
        .await
        .expect("claim");
    let numbers: Vec<_> = rest.iter().map(|r| r.number.as_str()).collect();
    assert_eq!(
        numbers,
        ["RG-2026-000205", "RG-2026-000207"],
        "those waiting for documents are not claimed"
    );
    assert!(
        store
            .claim_many("w3", later, Duration::from_secs(60), 100)
            .await
            .expect("claim")
            .is_empty()
    );
}

/// Many submissions at once (grouped into few transactions by the SQLite writer, concurrent
/// transactions on PostgreSQL): every one stored, and repeats of one key inside a group still
/// answer the one application.
async fn concurrent_submissions_all_land_once(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = if n % 10 == 0 {
                "key-same".to_string()
            } else {
                format!("key-g{n}")
            };
            let mut app = new_app(1000 + n, &format!("666{n:08}"), &key);
            app.request_hash = "same".into();
            store.submit(app).await.expect("submit")
        }));
    }
    let (mut created, mut repeated) = (HashSet::new(), Vec::new());
    let mut answered = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Submitted::Created(r) => {
                assert!(created.insert(r.id.clone()));
                answered.push(r);
            }
            Submitted::Repeated(r) => repeated.push(r.id),
            Submitted::KeyConflict => panic!("same body, same key: no conflict"),
        }
    }
    assert_eq!(created.len(), 181, "180 keys of their own and one shared");
    assert_eq!(repeated.len(), 19);
    assert!(repeated.iter().all(|id| created.contains(id)));
    assert_eq!(store.backlog().await.expect("backlog"), 181);
    // What submit answered is what the store holds.
    for record in answered {
        assert_eq!(store.get(&record.id).await.expect("get"), Some(record));
    }
}

async fn renewed_leases_hold_and_lapse_soon_after_the_last_renewal(store: Arc<dyn Store>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_950_000);
    let lease = Duration::from_secs(10);
    let mut ids = Vec::new();
    for n in 0..3 {
        let Submitted::Created(a) = store
            .submit(new_app(
                40 + n,
                &format!("4445556667{n}"),
                &format!("key-4{n}"),
            ))
            .await
            .expect("submit")
        else {
            panic!("not created");
        };
        ids.push(a.id);
    }
    let claimed = store.claim_many("w1", t0, lease, 3).await.expect("claim");
    assert_eq!(claimed.len(), 3);
    // w1 renews two of them at t0 + 8 s; the third it has finished with (not renewed).
    let renewed = store
        .renew("w1", &ids[..2], t0 + Duration::from_secs(18))
        .await
        .expect("renew");
    assert_eq!(renewed, 2);
    // Another worker cannot renew what it does not hold.
    let foreign = store
        .renew("w2", &ids, t0 + Duration::from_secs(99))
        .await
        .expect("renew");
    assert_eq!(foreign, 0, "only the holder renews");
    // At t0 + 11 s the unrenewed lease has lapsed and is taken over; the renewed ones hold.
    let taken = store
        .claim_many("w2", t0 + Duration::from_secs(11), lease, 3)
        .await
        .expect("claim");
    assert_eq!(
        taken.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [ids[2].as_str()]
    );
    // w1 is killed: no more renewals. Its two come free right after the last renewal's lease.
    assert!(
        store
            .claim_many("w2", t0 + Duration::from_secs(17), lease, 3)
            .await
            .expect("claim")
            .is_empty(),
        "held until the renewed lease ends"
    );
    let taken = store
        .claim_many("w2", t0 + Duration::from_secs(19), lease, 3)
        .await
        .expect("claim");
    assert_eq!(taken.len(), 2);
    // The lapsed holder's renewal no longer counts.
    let late = store
        .renew("w1", &ids, t0 + Duration::from_secs(40))
        .await
        .expect("renew");
    assert_eq!(late, 0);
}

async fn answers_are_purged_once_final_and_past_the_appeal_window(store: Arc<dyn Store>) {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_950_000);
    let lease = Duration::from_secs(10);
    let answers = serde_json::json!({"birth_record": {"basis": "ab12", "at_ms": 1}});
    // Three applications decided at t0: approved, rejected, sent back for clarification.
    let mut ids = Vec::new();
    for (n, to) in [
        (50, Status::Approved),
        (51, Status::Rejected),
        (52, Status::NeedsClarification),
    ] {
        let Submitted::Created(a) = store
            .submit(new_app(n, &format!("5556667770{n}"), &format!("key-{n}")))
            .await
            .expect("submit")
        else {
            panic!("not created");
        };
        let claimed = store.claim("w1", t0, lease).await.expect("claim");
        assert_eq!(claimed.map(|r| r.id), Some(a.id.clone()));
        let done = store
            .transition(Transition {
                answers: Some(answers.clone()),
                ..transition(&a.id, Status::InReview, to, Some("w1"), t0)
            })
            .await
            .expect("decide");
        assert!(matches!(done, Transitioned::Done(_)), "{done:?}");
        ids.push(a.id);
    }
    let kept = |store: Arc<dyn Store>, id: String| async move {
        store
            .get(&id)
            .await
            .expect("get")
            .expect("there")
            .answers
            .is_some()
    };
    // A day later: the approval is final, the rejection may still be appealed.
    let purged = store
        .purge_answers(t0 + Duration::from_secs(86_400), 100)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert!(
        !kept(store.clone(), ids[0].clone()).await,
        "approved: purged"
    );
    assert!(
        kept(store.clone(), ids[1].clone()).await,
        "appealable: kept"
    );
    assert!(kept(store.clone(), ids[2].clone()).await, "not final: kept");
    // Past the 30-day window the rejection goes too; the clarification still waits, kept.
    let purged = store
        .purge_answers(t0 + Duration::from_secs(31 * 86_400), 100)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert!(!kept(store.clone(), ids[1].clone()).await);
    assert!(kept(store.clone(), ids[2].clone()).await);
    // The decision itself stays, with its journal.
    let record = store.get(&ids[1]).await.expect("get").expect("there");
    assert_eq!(record.status, Status::Rejected);
    assert_eq!(record.journal.len(), 3);
    assert_eq!(
        store
            .purge_answers(t0 + Duration::from_secs(40 * 86_400), 100)
            .await
            .expect("purge"),
        0,
        "nothing twice"
    );
}

macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_store() {
                $body(sqlite(stringify!($name)).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_store() {
                $body(postgres(stringify!($name)).await).await;
                drop_schema(&schema(stringify!($name))).await;
            }
        }
    };
}

both!(idempotency, submit_is_idempotent_by_key);
both!(claims, claims_lease_and_decide_exactly_once);
both!(approvals, one_approval_per_child_and_benefit);
both!(listing, listing_filters_and_pages);
both!(parking, parked_applications_wait_for_their_next_attempt);
both!(census, census_counts_open_statuses_and_parked_applications);
both!(
    claim_batches,
    batched_claims_take_the_due_first_and_skip_those_waiting_for_documents
);
both!(grouped_submissions, concurrent_submissions_all_land_once);
both!(
    lease_renewals,
    renewed_leases_hold_and_lapse_soon_after_the_last_renewal
);
both!(
    retention,
    answers_are_purged_once_final_and_past_the_appeal_window
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_on_sqlite() {
    concurrent_claims_never_share(vec![sqlite("concurrent").await]).await;
}

/// Two gateways on one PostgreSQL: separate pools (as separate processes have) on one schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_postgres_never_process_the_same_application() {
    let name = "two_gateways";
    let first = postgres(name).await;
    let second: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(&pg_url(), Some(&schema(name)))
            .await
            .expect("second pool"),
    );
    concurrent_claims_never_share(vec![first, second]).await;
    drop_schema(&schema(name)).await;
}

/// Events on PostgreSQL are read in the order they became visible: a transaction that took its
/// seq first but committed last is not skipped by a reader that already read past the later one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_late_is_not_skipped_by_the_feed() {
    let name = "late_event";
    let store = postgres(name).await;
    let first = new_app(1, "11111111145", "late-1");
    store.submit(first).await.expect("submit");
    let mut cursor = 0;
    let mut seen = Vec::new();
    let read = async |cursor: &mut i64, seen: &mut Vec<String>| {
        for e in store.events_after(*cursor, 100).await.expect("events") {
            *cursor = e.seq;
            seen.push(e.application_id);
        }
    };
    read(&mut cursor, &mut seen).await;
    assert_eq!(seen.len(), 1);

    // A slow writer: its event takes the next seq but stays uncommitted.
    let (slow, conn) = tokio_postgres::connect(
        &format!("{} options='-c search_path={}'", pg_url(), schema(name)),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(conn);
    slow.batch_execute(
        "BEGIN; INSERT INTO outbox (application_id, number, kind, status, at_ms)
         VALUES ('slow', 'slow', 'submitted', 'submitted', 0)",
    )
    .await
    .expect("slow insert");
    // A later submission commits first, with a higher seq, and is read.
    store
        .submit(new_app(2, "22222222246", "late-2"))
        .await
        .expect("submit");
    read(&mut cursor, &mut seen).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    // The slow writer commits: the next read must still find its event.
    slow.batch_execute("COMMIT").await.expect("commit");
    read(&mut cursor, &mut seen).await;
    assert_eq!(seen.last().map(String::as_str), Some("slow"), "{seen:?}");
    assert_eq!(seen.len(), 3);
    drop_schema(&schema(name)).await;
}
