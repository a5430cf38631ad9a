//! The API under test without a socket: state over a fresh SQLite store, the given registries and a
//! manual clock, the two test keys (a cabinet's and a reviewer's), and the sample application with
//! its three PDF documents. Shared by `tests/api.rs` and `tests/errors.rs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reggate::api::ApiState;
use reggate::api::admission::Admission;
use reggate::api::documents::DocumentStore;
use reggate::clock::{Clock, ManualClock};
use reggate::domain::identifiers::{inn_from_body, snils_from_body};
use reggate::domain::ports::RegistryChecks;
use reggate::ids::sha256_hex;
use reggate::receipt::ReceiptSigner;
use reggate::store::Store;
use reggate::store::sqlite::SqliteStore;
use serde_json::{Value, json};

/// The cabinet's key (`key:cabinet-1`).
pub const KEY: &str = "test-key-1";
/// The reviewer's key (`key:reviewer-1`).
pub const REVIEWER: &str = "reviewer-key";

/// State, store and clock of one test's API, everything under `dir`.
pub fn state(
    dir: &Path,
    checks: Arc<dyn RegistryChecks>,
    backlog_limit: u64,
) -> (ApiState, Arc<dyn Store>, Arc<ManualClock>) {
    let _ = std::fs::remove_dir_all(dir);
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("reggate.sqlite")).expect("store"));
    let manual = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_900_000),
    ));
    let clock: Arc<dyn Clock> = manual.clone();
    let layout = reggate::tls::pki::init(&reggate::tls::pki::PkiOptions {
        dir: dir.join("certs"),
        lifetime_days: 30,
        now: SystemTime::now() - Duration::from_secs(60),
        force: false,
    })
    .expect("pki");
    let signer = ReceiptSigner::load(&layout.receipt_signing(), &layout.receipt_signing_key())
        .expect("signer");
    let state = ApiState {
        store: store.clone(),
        workflows: reggate::service::Workflows {
            store: store.clone(),
            checks,
            clock: clock.clone(),
        },
        admission: Admission::new(backlog_limit, clock.clone()),
        clock,
        api_keys: HashMap::from([
            (sha256_hex(KEY.as_bytes()), "cabinet-1".to_string()),
            (sha256_hex(REVIEWER.as_bytes()), "reviewer-1".to_string()),
        ]),
        reviewers: Arc::new(vec!["key:reviewer-1".to_string()]),
        documents: DocumentStore {
            dir: dir.join("documents"),
            wait_for_documents: true,
        },
        receipts: Some(Arc::new(signer)),
        ops: None,
    };
    (state, store, manual)
}

/// A small PDF naming `kind` (enough for the content check).
pub fn pdf(kind: &str) -> String {
    String::from_utf8(reggate::pdf::page(kind, 0)).expect("ASCII")
}

/// The sample application: childcare for a baby, with the three documents every benefit needs.
pub fn application() -> Value {
    let doc = |kind: &str| {
        let bytes = pdf(kind);
        json!({"type": kind, "media_type": "application/pdf", "size": bytes.len(), "sha256": sha256_hex(bytes.as_bytes())})
    };
    json!({
        "benefit": "childcare_under_1_5",
        "applicant": {
            "last_name": "Иванова", "first_name": "Мария", "birth_date": "1994-03-12", "gender": "female",
            "passport": {"series": "4510", "number": "123456", "issue_date": "2014-04-01",
                         "issuer": "ОВД", "issuer_code": "770-001"},
            "snils": format!("{:011}", snils_from_body(112_233_445)),
            "inn": format!("{:012}", inn_from_body(7_707_083_893)),
            "registration_address": {"postal_code": "125009", "region_code": "77", "locality": "Москва", "house": "1"},
            "phone": "+79161234567", "email": "maria@example.ru"
        },
        "child": {
            "last_name": "Иванов", "first_name": "Пётр", "birth_date": "2025-11-20", "gender": "male",
            "birth_place": "Москва",
            "birth_certificate": {"series": "IV-МЮ", "number": "654321", "issue_date": "2025-11-25"},
            "snils": format!("{:011}", snils_from_body(223_344_556))
        },
        "documents": [doc("birth_certificate"), doc("passport"), doc("snils")]
    })
}
