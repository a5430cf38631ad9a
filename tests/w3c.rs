//! The W3C XML Schema test suite (Microsoft contribution) run in-process against reggate's validator.
//!
//! Reads `../shared/xsdtests/msMeta/*.xml`, compiles each test group's schema, checks the schema test's
//! expected validity and validates each instance test's document. Only XSD 1.0 expectations count:
//! an `expected` with `version="1.1"` (or a Unicode version) alone is skipped, as is "indeterminate".
//! Prints the pass counts and writes every failure to `target/w3c-failures.txt` for triage. The floors
//! below are what the validator reached; raise them as it improves, never lower them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};

/// Instance tests that must pass (raise as conformance improves).
const INSTANCE_FLOOR: usize = 4681;
/// Schema tests that must pass (raise as conformance improves).
const SCHEMA_FLOOR: usize = 9667;

struct Test {
    group: String,
    name: String,
    schema_test: bool,
    documents: Vec<PathBuf>,
    valid: bool,
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/xsdtests")
}

/// The XSD 1.0 expectation among a test's `expected` elements, if there is one.
fn expectation(expected: &[(Option<String>, String)]) -> Option<bool> {
    let chosen = expected
        .iter()
        .find(|(v, _)| v.as_deref() == Some("1.0"))
        .or_else(|| expected.iter().find(|(v, _)| v.is_none()))?;
    match chosen.1.as_str() {
        "valid" => Some(true),
        "invalid" => Some(false),
        _ => None,
    }
}

/// A test being read: name, whether it is a schema test, its documents, its (version, validity) expectations.
type Pending = (String, bool, Vec<PathBuf>, Vec<(Option<String>, String)>);

fn read_meta(path: &Path) -> Vec<Test> {
    let text = std::fs::read_to_string(path).expect("read meta");
    let base = path.parent().unwrap().to_path_buf();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut out = Vec::new();
    let mut group = String::new();
    let mut current: Option<Pending> = None;
    loop {
        let ev = reader.read_event().expect("meta xml");
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name().as_ref().to_owned();
                let attr = |n: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == n)
                        .map(|a| a.value.to_string())
                };
                match name.as_str() {
                    "testGroup" => group = attr("name").unwrap_or_default(),
                    "schemaTest" | "instanceTest" => {
                        // A test marked for other versions only (e.g. version="1.1") is not XSD 1.0.
                        let for_10 = attr("version")
                            .is_none_or(|v| v.split_whitespace().any(|t| t == "1.0"));
                        current = for_10.then(|| {
                            (
                                attr("name").unwrap_or_default(),
                                name == "schemaTest",
                                Vec::new(),
                                Vec::new(),
                            )
                        });
                    }
                    "schemaDocument" | "instanceDocument" => {
                        if let (Some(c), Some(h)) = (current.as_mut(), attr("href")) {
                            c.2.push(base.join(h));
                        }
                    }
                    "expected" => {
                        if let Some(c) = current.as_mut() {
                            c.3.push((attr("version"), attr("validity").unwrap_or_default()));
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_owned();
                if (name == "schemaTest" || name == "instanceTest")
                    && let Some((n, is_schema, docs, exp)) = current.take()
                    && let Some(valid) = expectation(&exp)
                {
                    out.push(Test {
                        group: group.clone(),
                        name: n,
                        schema_test: is_schema,
                        documents: docs,
                        valid,
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// A group with instance tests only names its schema through the instance's
/// `xsi:schemaLocation` / `xsi:noNamespaceSchemaLocation` hints.
fn hinted_schemas(instance: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(instance) else {
        return Vec::new();
    };
    let mut reader = quick_xml::Reader::from_str(&text);
    let base = instance.parent().unwrap_or(Path::new("."));
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let mut out = Vec::new();
                for a in e.attributes().flatten() {
                    let key = a.key.local_name().as_ref().to_owned();
                    let value = a.value.to_string();
                    if key == "schemaLocation" {
                        out.extend(
                            value
                                .split_whitespace()
                                .skip(1)
                                .step_by(2)
                                .map(|l| base.join(l)),
                        );
                    } else if key == "noNamespaceSchemaLocation" {
                        out.push(base.join(value.trim()));
                    }
                }
                return out;
            }
            Ok(Event::Eof) | Err(_) => return Vec::new(),
            _ => {}
        }
    }
}

#[test]
fn w3c_xsd_test_suite() {
    let dir = suite_dir();
    let mut metas: Vec<PathBuf> = std::fs::read_dir(dir.join("msMeta"))
        .expect("../shared/xsdtests/msMeta must exist beside the project")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    metas.sort();
    // W3C_ONLY=Particles limits the run to one metadata file while triaging.
    if let Ok(only) = std::env::var("W3C_ONLY") {
        metas.retain(|m| m.to_string_lossy().contains(&only));
    }
    let verbose = std::env::var("W3C_VERBOSE").is_ok();
    let (mut schema_pass, mut schema_total, mut inst_pass, mut inst_total) = (0, 0, 0, 0);
    let mut rejected_by_schema = 0;
    let mut failures = String::new();
    let options = Options::default();
    for meta in &metas {
        let tests = read_meta(meta);
        // Each group's schema (from its schema test) serves its instance tests.
        let mut compiled: HashMap<String, Option<std::sync::Arc<Schema>>> = HashMap::new();
        let mut group_schema: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for t in &tests {
            if t.schema_test {
                group_schema.insert(t.group.clone(), t.documents.clone());
            }
        }
        let (mut sp, mut st, mut ip, mut it) = (0, 0, 0, 0);
        for t in &tests {
            if verbose {
                eprintln!("{} {}", t.group, t.name);
            }
            if t.schema_test {
                let result = std::panic::catch_unwind(|| Schema::load(&t.documents));
                let (ok, detail) = match &result {
                    Ok(Ok(s)) => {
                        compiled.insert(t.group.clone(), Some(s.clone()));
                        (true, String::new())
                    }
                    Ok(Err(e)) => {
                        compiled.insert(t.group.clone(), None);
                        (
                            false,
                            e.0.first()
                                .map(|e| format!("[{}] {}", e.rule, e.message))
                                .unwrap_or_default(),
                        )
                    }
                    Err(_) => {
                        compiled.insert(t.group.clone(), None);
                        (false, "PANIC".into())
                    }
                };
                st += 1;
                if ok == t.valid {
                    sp += 1;
                } else {
                    failures.push_str(&format!(
                        "schema {} {} expected {} got {}: {}\n",
                        t.group,
                        t.name,
                        if t.valid { "valid" } else { "invalid" },
                        if ok { "valid" } else { "invalid" },
                        detail
                    ));
                }
            } else {
                // The group's schema plus any schema the instance names in xsi:schemaLocation hints
                // (the harness follows hints; the validator itself never loads what a document names).
                let group_docs = group_schema.get(&t.group).cloned().unwrap_or_default();
                let canon = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                let known: Vec<PathBuf> = group_docs.iter().map(canon).collect();
                let extra: Vec<PathBuf> = hinted_schemas(&t.documents[0])
                    .into_iter()
                    .filter(|h| !known.contains(&canon(h)))
                    .collect();
                let schema = match compiled.get(&t.group) {
                    Some(s) if extra.is_empty() => s.clone(),
                    _ => {
                        let mut docs = group_docs.clone();
                        docs.extend(extra);
                        Schema::load(&docs).ok()
                    }
                };
                it += 1;
                let Some(schema) = schema else {
                    // No schema could be built for this instance, so it cannot be valid: that answers an
                    // "invalid" expectation. Counted apart so the figure stays honest.
                    if t.valid {
                        failures.push_str(&format!(
                            "instance {} {} expected valid: schema did not compile\n",
                            t.group, t.name
                        ));
                    } else {
                        ip += 1;
                        rejected_by_schema += 1;
                    }
                    continue;
                };
                let bytes = std::fs::read(&t.documents[0]).unwrap_or_default();
                let result = std::panic::catch_unwind(|| validate_bytes(&schema, &bytes, &options));
                let (ok, detail) = match &result {
                    Ok(r) => (
                        r.is_valid(),
                        r.violations
                            .first()
                            .map(|v| format!("[{}] {} {}", v.rule, v.path, v.message))
                            .unwrap_or_default(),
                    ),
                    Err(_) => (false, "PANIC".into()),
                };
                if ok == t.valid {
                    ip += 1;
                } else {
                    failures.push_str(&format!(
                        "instance {} {} expected {} got {}: {}\n",
                        t.group,
                        t.name,
                        if t.valid { "valid" } else { "invalid" },
                        if ok { "valid" } else { "invalid" },
                        detail
                    ));
                }
            }
        }
        println!(
            "{:<28} schema {:>5}/{:<5} instance {:>5}/{:<5}",
            meta.file_name().unwrap().to_string_lossy(),
            sp,
            st,
            ip,
            it
        );
        schema_pass += sp;
        schema_total += st;
        inst_pass += ip;
        inst_total += it;
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(target.join("w3c-failures.txt"), &failures);
    println!(
        "W3C XSD 1.0 suite: instance tests {inst_pass}/{inst_total} ({:.2}%), schema tests {schema_pass}/{schema_total} ({:.2}%)",
        100.0 * inst_pass as f64 / inst_total.max(1) as f64,
        100.0 * schema_pass as f64 / schema_total.max(1) as f64
    );
    println!(
        "(of the instance passes, {rejected_by_schema} are invalid-expected documents whose schema set was rejected)"
    );
    assert!(
        inst_pass >= INSTANCE_FLOOR,
        "instance tests passing dropped below the floor {INSTANCE_FLOOR}: {inst_pass}"
    );
    assert!(
        schema_pass >= SCHEMA_FLOOR,
        "schema tests passing dropped below the floor {SCHEMA_FLOOR}: {schema_pass}"
    );
}
