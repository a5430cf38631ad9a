//! The project's replay corpus (`fixtures/cases/`), written by sending requests built from the mock's
//! default population through the gateway's client to the in-process mock and keeping what came
//! back as each case's expectation. `cargo test --release --test replay -- --ignored write_corpus`
//! rewrites it; review the diff before committing (a changed answer of the mock shows there).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use reggate::contract::Operation;
use reggate::mock::faults::{FaultKind, Plan, Rule};
use reggate::mock::population::{Population, PopulationConfig};
use reggate::mock::state::ServedFiles;
use reggate::registries::messages::{Gender, Identity, Metadata, NewAssignment, Passport, Request};
use reggate::replay::run::RunOptions;
use reggate::replay::target::Target;
use reggate::soap::client::{CallContext, envelope};
use reggate::soap::error::CallError;
use reggate::xml::schema::Schema;
use serde_json::Value;

/// One case to write: its folder (relative to the corpus), tags and what to send.
pub struct Spec {
    pub dir: String,
    pub tags: Vec<&'static str>,
    pub operation: Operation,
    /// The whole envelope.
    pub request: String,
    pub faults: Option<Plan>,
    pub timeout_ms: Option<u64>,
    /// A recorded answer for the mock to give back (HTTP status, body), kept beside the case.
    pub playback: Option<(u16, String)>,
}

fn meta(n: usize) -> Metadata {
    Metadata {
        message_id: format!("00000000-0000-4000-8000-{n:012}"),
        timestamp: "2026-12-01T10:00:00Z".into(),
    }
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn identity(p: &Value) -> Identity {
    Identity {
        last_name: s(p, "last_name"),
        first_name: s(p, "first_name"),
        middle_name: p["middle_name"].as_str().map(str::to_string),
        birth_date: s(p, "birth_date"),
        gender: if s(p, "gender") == "female" {
            Gender::Female
        } else {
            Gender::Male
        },
    }
}

fn passport(p: &Value) -> Passport {
    let pp = &p["passport"];
    Passport {
        series: s(pp, "series"),
        number: s(pp, "number"),
        issue_date: s(pp, "issue_date"),
        issuer: s(pp, "issuer"),
        issuer_code: s(pp, "issuer_code"),
    }
}

struct Specs {
    out: Vec<Spec>,
}

impl Specs {
    fn add(
        &mut self,
        dir: &str,
        tags: &[&'static str],
        request: &Request,
        faults: Option<Plan>,
        timeout_ms: Option<u64>,
    ) {
        let n = self.out.len() + 1;
        let operation = request.operation();
        let id = format!("corpus-{n:03}");
        self.out.push(Spec {
            dir: format!("{}/{dir}", operation.registry()),
            tags: tags.to_vec(),
            operation,
            request: envelope(&id, &request.to_xml(&meta(n))),
            faults,
            timeout_ms,
            playback: None,
        });
    }
}

/// Every case of the corpus, from the default population's sample people.
pub fn specs(population: &Population) -> Vec<Spec> {
    let export = population.export_people(40);
    let people = export["people"].as_array().cloned().unwrap_or_default();
    let of = |case: &str| -> Vec<Value> {
        people
            .iter()
            .filter(|p| p["case"] == case)
            .cloned()
            .collect()
    };
    let mut specs = Specs { out: Vec::new() };
    // Six ordinary applicants and two of each marked kind the rules care about.
    let mut taken: Vec<(&str, usize)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let case = p["case"].as_str().unwrap_or("valid");
        let quota = match case {
            "valid" => 6,
            "duplicate_same_recipient"
            | "duplicate_other_parent"
            | "large_family"
            | "disabled_child"
            | "low_income" => 2,
            _ => 0,
        };
        if taken.iter().filter(|(c, _)| *c == case).count() >= quota {
            continue;
        }
        taken.push((case, i));
        let a = &p["applicant"];
        let tag: &'static str = match case {
            "valid" => "valid",
            "duplicate_same_recipient" => "duplicate_same_recipient",
            "duplicate_other_parent" => "duplicate_other_parent",
            "large_family" => "large_family",
            "disabled_child" => "disabled_child",
            "low_income" => "low_income",
            _ => "sample",
        };
        let snils = s(a, "snils");
        specs.add(
            &format!("verify-snils-match-{i:02}"),
            &["snils", "found", "match", tag],
            &Request::VerifySnils {
                snils: snils.clone(),
                person: identity(a),
            },
            None,
            None,
        );
        specs.add(
            &format!("find-inn-found-{i:02}"),
            &["inn", "found", tag],
            &Request::FindInn {
                person: identity(a),
                passport: passport(a),
            },
            None,
            None,
        );
        specs.add(
            &format!("verify-inn-match-{i:02}"),
            &["inn", "found", "match", tag],
            &Request::VerifyInn {
                inn: s(a, "inn"),
                person: identity(a),
            },
            None,
            None,
        );
        specs.add(
            &format!("get-family-status-{i:02}"),
            &["labour", "found", tag],
            &Request::GetFamilyStatus {
                snils: snils.clone(),
                on_date: Some("2026-11-01".into()),
            },
            None,
            None,
        );
        let children = p["children"].as_array().cloned().unwrap_or_default();
        for (j, c) in children.iter().enumerate() {
            let assignments = c["assignments"].as_array().cloned().unwrap_or_default();
            if j >= 2 && assignments.is_empty() {
                continue;
            }
            let cert = &c["birth_record"]["certificate"];
            specs.add(
                &format!("find-birth-record-{i:02}-{j}"),
                &["children", "found", tag],
                &Request::FindBirthRecord {
                    series: s(cert, "series"),
                    number: s(cert, "number"),
                },
                None,
                None,
            );
            let child_snils = s(&c["person"], "snils");
            specs.add(
                &format!("get-active-assignments-{i:02}-{j}"),
                &["labour", "found", tag],
                &Request::GetActiveAssignments {
                    child_snils: child_snils.clone(),
                },
                None,
                None,
            );
            // A repeat of an assignment the registry holds: ALREADY_REGISTERED; the same benefit
            // for the applicant under a new number while another recipient holds it: CONFLICT.
            for (k, existing) in assignments.iter().enumerate().take(1) {
                if s(existing, "recipient_snils") != snils {
                    specs.add(
                        &format!("register-conflict-{i:02}-{j}"),
                        &["labour", "registration", "conflict", tag],
                        &Request::RegisterAssignment(NewAssignment {
                            application_number: format!("APP-2026-C{i:05}"),
                            benefit_code: s(existing, "benefit_code"),
                            child_snils: child_snils.clone(),
                            recipient_snils: snils.clone(),
                            from: "2026-12-01".into(),
                            to: None,
                            amount: s(existing, "amount"),
                            region_code: s(existing, "region_code"),
                            decision_date: "2026-11-30".into(),
                            phone: None,
                            email: None,
                        }),
                        None,
                        None,
                    );
                }
                specs.add(
                    &format!("register-existing-{i:02}-{j}-{k}"),
                    &["labour", "registration", tag],
                    &Request::RegisterAssignment(NewAssignment {
                        application_number: s(existing, "application_number"),
                        benefit_code: s(existing, "benefit_code"),
                        child_snils: child_snils.clone(),
                        recipient_snils: s(existing, "recipient_snils"),
                        from: s(&existing["period"], "from"),
                        to: existing["period"]["to"].as_str().map(str::to_string),
                        amount: s(existing, "amount"),
                        region_code: s(existing, "region_code"),
                        decision_date: s(&existing["period"], "from"),
                        phone: None,
                        email: None,
                    }),
                    None,
                    None,
                );
            }
            if j == 0 {
                specs.add(
                    &format!("register-new-{i:02}"),
                    &["labour", "registration", tag],
                    &Request::RegisterAssignment(NewAssignment {
                        application_number: format!("APP-2026-{i:06}"),
                        benefit_code: "unified_allowance".into(),
                        child_snils,
                        recipient_snils: snils.clone(),
                        from: "2026-12-01".into(),
                        to: Some("2027-11-30".into()),
                        amount: "17000.00".into(),
                        region_code: s(&a["registration_address"], "region_code"),
                        decision_date: "2026-11-30".into(),
                        phone: a["phone"].as_str().map(str::to_string),
                        email: a["email"].as_str().map(str::to_string),
                    }),
                    None,
                    None,
                );
            }
        }
    }

    // Not found, no match.
    for (i, p) in of("wrong_snils_check").iter().enumerate() {
        let a = &p["applicant"];
        specs.add(
            &format!("verify-snils-unknown-{i:02}"),
            &["snils", "not-found"],
            &Request::VerifySnils {
                snils: s(a, "snils"),
                person: identity(a),
            },
            None,
            None,
        );
        specs.add(
            &format!("get-family-status-unknown-{i:02}"),
            &["labour", "not-found"],
            &Request::GetFamilyStatus {
                snils: s(a, "snils"),
                on_date: None,
            },
            None,
            None,
        );
    }
    for (i, p) in of("wrong_inn_check").iter().enumerate() {
        let a = &p["applicant"];
        specs.add(
            &format!("verify-inn-unknown-{i:02}"),
            &["inn", "not-found"],
            &Request::VerifyInn {
                inn: s(a, "inn"),
                person: identity(a),
            },
            None,
            None,
        );
    }
    for (i, p) in of("unknown_certificate").iter().enumerate() {
        for (j, c) in p["children"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let cert = &c["birth_record"]["certificate"];
            let cert = if cert.is_null() {
                &c["person"]["birth_certificate"]
            } else {
                cert
            };
            specs.add(
                &format!("find-birth-record-unknown-{i:02}-{j}"),
                &["children", "not-found"],
                &Request::FindBirthRecord {
                    series: s(cert, "series"),
                    number: s(cert, "number"),
                },
                None,
                None,
            );
        }
    }
    let valid = of("valid");
    for (i, p) in valid.iter().take(3).enumerate() {
        let a = &p["applicant"];
        let mut other = identity(a);
        other.first_name = "Аркадий".into();
        specs.add(
            &format!("verify-snils-no-match-{i:02}"),
            &["snils", "found", "no-match"],
            &Request::VerifySnils {
                snils: s(a, "snils"),
                person: other.clone(),
            },
            None,
            None,
        );
        specs.add(
            &format!("verify-inn-no-match-{i:02}"),
            &["inn", "found", "no-match"],
            &Request::VerifyInn {
                inn: s(a, "inn"),
                person: other,
            },
            None,
            None,
        );
        let mut pp = passport(a);
        pp.number = "000001".into();
        specs.add(
            &format!("find-inn-unknown-passport-{i:02}"),
            &["inn", "not-found"],
            &Request::FindInn {
                person: identity(a),
                passport: pp,
            },
            None,
            None,
        );
        specs.add(
            &format!("get-active-assignments-unknown-{i:02}"),
            &["labour", "not-found"],
            &Request::GetActiveAssignments {
                child_snils: "00000000000".into(),
            },
            None,
            None,
        );
    }

    // Refused before sending: requests the schemas reject.
    let a = &valid[0]["applicant"];
    let refused: [(&str, Request); 4] = [
        (
            "refused-snils-with-separators",
            Request::VerifySnils {
                snils: "146-732-981 84".into(),
                person: identity(a),
            },
        ),
        (
            "refused-inn-short",
            Request::VerifyInn {
                inn: "7707083893".into(),
                person: identity(a),
            },
        ),
        (
            "refused-latin-certificate-series",
            Request::FindBirthRecord {
                series: "IV-MЮ".into(),
                number: "523614".into(),
            },
        ),
        (
            "refused-bad-birth-date",
            Request::VerifySnils {
                snils: s(a, "snils"),
                person: Identity {
                    birth_date: "1990-02-30".into(),
                    ..identity(a)
                },
            },
        ),
    ];
    for (name, request) in &refused {
        specs.add(name, &["invalid-request"], request, None, None);
    }

    // Every fault kind of the mock, on a found SNILS check, with what the gateway's client makes of it.
    let check = Request::VerifySnils {
        snils: s(a, "snils"),
        person: identity(a),
    };
    for kind in FaultKind::ALL {
        let mut rule = Rule::new(kind);
        if kind != FaultKind::Refuse {
            rule = rule.times(1);
        }
        rule = match kind {
            FaultKind::Latency => rule.latency(300, 0),
            FaultKind::SlowBody | FaultKind::Refuse => rule.duration(Duration::from_millis(300)),
            FaultKind::TooManyRequests | FaultKind::Unavailable => rule.retry_after(1),
            _ => rule,
        };
        let plan = Plan {
            seed: 1,
            snils: vec![rule],
            ..Plan::default()
        };
        let timeout = (kind == FaultKind::Hang).then_some(500);
        specs.add(
            &format!("fault-{}", kind.name().replace('_', "-")),
            &["snils", "fault-plan"],
            &check,
            Some(plan),
            timeout,
        );
    }
    samples(&mut specs.out);
    specs.out
}

/// The hand-written messages of `fixtures/messages/` as cases under `samples/`: each request sent
/// as it is (the mock's answer expected), each recorded answer played back by the mock to the
/// request of its operation (the answer itself expected, or — for `invalid/` — its refusal by the
/// client's checks), each invalid request refused before sending.
fn samples(out: &mut Vec<Spec>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/messages");
    let read = |p: &Path| std::fs::read_to_string(p).expect("sample");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/messages")
        .chain(std::fs::read_dir(dir.join("invalid")).expect("invalid"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    // The operation of a sample, by its file name's first two words.
    let operation = |stem: &str| -> Operation {
        let table = [
            ("snils-verify", Operation::VerifySnils),
            ("inn-find", Operation::FindInn),
            ("inn-verify", Operation::VerifyInn),
            ("children-find-birth-record", Operation::FindBirthRecord),
            ("labour-get-family-status", Operation::GetFamilyStatus),
            (
                "labour-get-active-assignments",
                Operation::GetActiveAssignments,
            ),
            ("labour-register-assignment", Operation::RegisterAssignment),
            ("envelope", Operation::VerifySnils),
        ];
        table
            .into_iter()
            .find(|(prefix, _)| stem.starts_with(prefix))
            .map(|(_, op)| op)
            .unwrap_or_else(|| panic!("no operation for sample {stem}"))
    };
    let request_of = |op: Operation| -> String {
        let name = match op {
            Operation::VerifySnils => "snils-verify-request.xml",
            Operation::FindInn => "inn-find-request.xml",
            Operation::VerifyInn => "inn-verify-request.xml",
            Operation::FindBirthRecord => "children-find-birth-record-request.xml",
            Operation::GetFamilyStatus => "labour-get-family-status-request.xml",
            Operation::GetActiveAssignments => "labour-get-active-assignments-request.xml",
            Operation::RegisterAssignment => "labour-register-assignment-request.xml",
        };
        read(&dir.join(name))
    };
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        let invalid = file.parent().is_some_and(|p| p.ends_with("invalid"));
        let op = operation(&stem);
        let body = read(&file);
        let is_request = stem.contains("-request") || stem.starts_with("envelope");
        let tags = if invalid {
            vec!["sample", "invalid-sample"]
        } else {
            vec!["sample"]
        };
        let (request, playback) = if is_request {
            (body, None)
        } else {
            let status = if body.contains("soap:Fault>") {
                500
            } else {
                200
            };
            (request_of(op), Some((status, body)))
        };
        out.push(Spec {
            dir: format!("{}/sample-{stem}", op.registry()),
            tags,
            operation: op,
            request,
            faults: None,
            timeout_ms: None,
            playback,
        });
    }
}

/// What a case expects, from the outcome of its call.
fn expectation(result: &Result<Vec<u8>, CallError>) -> (Option<Vec<u8>>, String) {
    match result {
        Ok(body) => (Some(body.clone()), String::new()),
        Err(CallError::Fault {
            code,
            message,
            detail,
            ..
        }) => (
            None,
            format!(
                "fault = {{ code = {}, text = {}{} }}\n",
                toml_str(code),
                toml_str(&format!("^{}$", regex::escape(message))),
                detail.as_ref().map_or(String::new(), |d| format!(
                    ", detail = {}",
                    toml_str(&d.code)
                ))
            ),
        ),
        Err(CallError::InvalidRequest { violations, .. }) => {
            let v = &violations[0];
            (
                None,
                format!(
                    "refused = {{ path = {}, rule = {} }}\n",
                    toml_str(&v.path),
                    toml_str(&v.rule)
                ),
            )
        }
        Err(e) => {
            let status = match e {
                CallError::InvalidResponse { status, .. } | CallError::Http { status, .. } => {
                    format!(", status = {status}")
                }
                _ => String::new(),
            };
            (
                None,
                format!("error = {{ kind = {}{status} }}\n", toml_str(e.kind())),
            )
        }
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write the corpus into `root` (emptied first), running every case against a fresh in-process mock.
pub async fn write(root: &Path, certs: &Path) {
    let schema =
        Schema::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")]).expect("schemas");
    let population = Population::generate(&PopulationConfig::default());
    let specs = specs(&population);
    let files = ServedFiles {
        wsdl: Path::new(env!("CARGO_MANIFEST_DIR")).join("wsdl"),
        schemas: Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"),
    };
    let target = Target::mock(certs, schema.clone(), population, files)
        .await
        .expect("mock");
    let _ = std::fs::remove_dir_all(root);
    let options = RunOptions::default();
    let shared = target.client(&options);
    // In the order a replay runs them (see reggate::replay::run): reads, writes by folder, plans.
    let mut specs = specs;
    specs.sort_by_key(|s| {
        let phase = if s.faults.is_some() || s.playback.is_some() {
            2
        } else if s.operation.changes_registry() {
            1
        } else {
            0
        };
        (phase, s.dir.clone())
    });
    for spec in &specs {
        if let Some(plan) = &spec.faults {
            target.set_faults(plan).expect("plan");
        }
        if let Some((status, body)) = &spec.playback {
            let playback = reggate::replay::Playback {
                status: *status,
                body: body.clone().into_bytes(),
            };
            target
                .set_playback(spec.operation.registry(), &playback)
                .expect("playback");
        }
        let alone = spec.faults.is_some() || spec.playback.is_some();
        let client = if alone {
            target.client(&options)
        } else {
            shared.clone()
        };
        let ctx = CallContext {
            request_id: format!("corpus-{}", spec.dir.replace('/', "-")),
            deadline: spec.timeout_ms.map(Duration::from_millis),
        };
        let result = client
            .call_envelope(&ctx, spec.operation, spec.request.clone().into())
            .await
            .map(|a| a.envelope.to_vec());
        if alone {
            target.clear_faults().await;
        }
        let dir = root.join(&spec.dir);
        std::fs::create_dir_all(&dir).expect("case dir");
        std::fs::write(dir.join("request.xml"), &spec.request).expect("request");
        let (response, expect) = expectation(&result);
        let mut toml = String::from("version = 1\n");
        let _ = writeln!(toml, "registry = \"{}\"", spec.operation.registry());
        let _ = writeln!(toml, "operation = \"{}\"", spec.operation);
        let tags: Vec<String> = spec.tags.iter().map(|t| toml_str(t)).collect();
        let _ = writeln!(toml, "tags = [{}]", tags.join(", "));
        if let Some(ms) = spec.timeout_ms {
            let _ = writeln!(toml, "timeout_ms = {ms}");
        }
        toml.push_str(&expect);
        // A played-back answer comes back as recorded: nothing in it is volatile, and when it is
        // the expected answer, the one file is both.
        let played = spec.playback.as_ref().map(|(status, body)| {
            let file = if response.as_deref() == Some(body.as_bytes()) {
                "response.xml"
            } else {
                "recorded.xml"
            };
            if file == "recorded.xml" {
                std::fs::write(dir.join(file), body).expect("recorded");
            }
            format!("playback = {{ file = \"{file}\", status = {status} }}\n")
        });
        if let Some(p) = &played {
            toml.push_str(p);
        }
        if let Some(body) = response {
            let volatile = if played.is_some() {
                Vec::new()
            } else {
                reggate::replay::record::volatile_paths(spec.operation)
            };
            if !volatile.is_empty() {
                let ignore: Vec<String> = volatile
                    .iter()
                    .map(|p| format!("  {},", toml_str(p)))
                    .collect();
                let _ = writeln!(toml, "ignore = [\n{}\n]", ignore.join("\n"));
            }
            std::fs::write(dir.join("response.xml"), body).expect("response");
        }
        if let Some(plan) = &spec.faults {
            let mut table = toml::Table::new();
            table.insert(
                "faults".into(),
                toml::Value::try_from(plan).expect("plan as TOML"),
            );
            let _ = write!(toml, "\n{}", toml::to_string(&table).expect("plan as TOML"));
        }
        std::fs::write(dir.join("case.toml"), toml).expect("case.toml");
    }
    target.shutdown().await;
}
