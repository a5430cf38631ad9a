//! Throughput of reggate's streaming validator on the two benchmark messages, beside two references:
//!
//! - `quick-xml`: quick-xml's `NsReader` alone on the same bytes, namespaces resolved, attribute values
//!   unescaped and normalized, text decoded. No validation: the ceiling reggate's parser sits on.
//! - `libxml2-stream`: libxml2 in-process (the `libxml` crate), schema set compiled once, validating
//!   with `xmlSchemaValidateFile`, which is libxml2's streaming (SAX) validation
//!   (`xmlSchemaValidateStream` on a file input): no tree is built. It reads the fixture file, which
//!   sits in the page cache after the first run.
//! - `libxml2-dom`: libxml2 parsing the same bytes from memory into a tree (`xmlReadMemory` via
//!   `Parser::parse_string`) and validating it with `xmlSchemaValidateDoc`.
//!
//! Documents of schemas this project did not write (which cannot be committed) are measured beside
//! them with `REGGATE_BENCH_EXTRA="SCHEMA=DOC;SCHEMA=DOC"`: SCHEMA is the one schema file libxml2
//! compiles (its imports and includes resolved by both validators) and DOC an instance both accept.
//!
//! Each message is measured twice: once with throughput in documents (criterion's "elem/s" is
//! documents/s) and once in bytes. Run with
//! `cargo bench --bench validator` (reggate and quick-xml) or
//! `cargo bench --features libxml2-bench --bench validator -- --warm-up-time 1 --measurement-time 3`
//! (the feature pulls in the `libxml` crate, which needs libxml2-dev, pkg-config and libclang-dev).

#[cfg(feature = "libxml2-bench")]
#[path = "../tests/support/libxml2_driver.rs"]
mod libxml2_driver;

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::NsReader;
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, validate_bytes};

const MESSAGES: &[&str] = &[
    "fixtures/bench/envelope-5k.xml",
    "fixtures/bench/assignments-250k.xml",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Read the whole document the way a validator must see it; returns a count so nothing is optimized out.
fn quick_xml_pass(bytes: &[u8]) -> usize {
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::with_capacity(1024);
    let mut seen = 0usize;
    loop {
        buf.clear();
        match reader.read_resolved_event_into(&mut buf) {
            Ok((ns, Event::Start(e) | Event::Empty(e))) => {
                seen += usize::from(matches!(ns, quick_xml::name::ResolveResult::Bound(_)));
                for attr in e.attributes() {
                    let attr = attr.expect("well-formed attribute");
                    let (attr_ns, _) = reader.resolver().resolve_attribute(attr.key);
                    seen +=
                        usize::from(matches!(attr_ns, quick_xml::name::ResolveResult::Bound(_)));
                    seen += attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .expect("attribute value")
                        .len();
                }
            }
            Ok((_, Event::Text(t))) => seen += t.xml_content(XmlVersion::Implicit1_0).len(),
            Ok((_, Event::CData(t))) => seen += t.xml_content(XmlVersion::Implicit1_0).len(),
            Ok((_, Event::GeneralRef(r))) => {
                seen += r
                    .resolve_char_ref()
                    .ok()
                    .flatten()
                    .map_or(1, char::len_utf8)
            }
            Ok((_, Event::End(_))) => seen += 1,
            Ok((_, Event::Eof)) => return seen,
            Ok(_) => {}
            Err(e) => panic!("benchmark message is not well-formed: {e}"),
        }
    }
}

/// The driver schema for libxml2, written to a temp directory.
#[cfg(feature = "libxml2-bench")]
fn libxml2_driver() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reggate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    libxml2_driver::write_driver(&dir)
}

#[cfg(feature = "libxml2-bench")]
fn libxml2_context(driver: &Path) -> libxml::schemas::SchemaValidationContext {
    let mut parser =
        libxml::schemas::SchemaParserContext::from_file(driver.to_str().expect("utf-8 path"));
    libxml::schemas::SchemaValidationContext::from_parser(&mut parser).unwrap_or_else(|e| {
        panic!(
            "libxml2 rejects the schema set: {:?}",
            e.iter().map(|e| &e.message).collect::<Vec<_>>()
        )
    })
}

/// libxml2, schema set compiled once: streaming (file) and tree (memory) validation of one message.
#[cfg(feature = "libxml2-bench")]
struct Libxml2 {
    stream: libxml::schemas::SchemaValidationContext,
    dom: libxml::schemas::SchemaValidationContext,
    parser: libxml::parser::Parser,
}

#[cfg(feature = "libxml2-bench")]
impl Libxml2 {
    /// `driver`: the one schema document that stands for the set.
    fn new(driver: &Path) -> Libxml2 {
        Libxml2 {
            stream: libxml2_context(driver),
            dom: libxml2_context(driver),
            parser: libxml::parser::Parser::default(),
        }
    }

    fn stream(&mut self, path: &str) -> bool {
        self.stream.validate_file(path).is_ok()
    }

    fn dom(&mut self, bytes: &[u8]) -> bool {
        let doc = self.parser.parse_string(bytes).expect("libxml2 parses");
        self.dom.validate_document(&doc).is_ok()
    }
}

/// One schema set and the messages measured against it.
struct Workload {
    /// What reggate loads.
    schema: PathBuf,
    /// What libxml2 compiles: the driver schema for the project's set, the schema file for others.
    #[cfg_attr(not(feature = "libxml2-bench"), allow(dead_code))]
    libxml2_schema: Option<PathBuf>,
    messages: Vec<PathBuf>,
}

/// The project's two messages, then whatever `REGGATE_BENCH_EXTRA` names.
fn workloads() -> Vec<Workload> {
    let mut all = vec![Workload {
        schema: root().join("schemas"),
        libxml2_schema: None,
        messages: MESSAGES.iter().map(|m| root().join(m)).collect(),
    }];
    let extra = std::env::var("REGGATE_BENCH_EXTRA").unwrap_or_default();
    for pair in extra.split(';').filter(|p| !p.trim().is_empty()) {
        let (schema, doc) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("REGGATE_BENCH_EXTRA: '{pair}' is not SCHEMA=DOC"));
        all.push(Workload {
            schema: PathBuf::from(schema.trim()),
            libxml2_schema: Some(PathBuf::from(schema.trim())),
            messages: vec![PathBuf::from(doc.trim())],
        });
    }
    all
}

fn bench(c: &mut Criterion) {
    let options = Options::default();
    for workload in workloads() {
        let schema = Schema::load(std::slice::from_ref(&workload.schema))
            .unwrap_or_else(|e| panic!("{} compiles: {e}", workload.schema.display()));
        #[cfg(feature = "libxml2-bench")]
        let mut libxml2 = Libxml2::new(
            &workload
                .libxml2_schema
                .clone()
                .unwrap_or_else(libxml2_driver),
        );
        for path in &workload.messages {
            let message = path.display().to_string();
            let bytes = std::fs::read(path).expect("read benchmark message");
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(&message);

            // Every contender must accept the message, or the comparison means nothing.
            let report = validate_bytes(&schema, &bytes, &options);
            assert!(
                report.is_valid(),
                "reggate rejects {message}: {:?}",
                report.violations
            );
            #[cfg(feature = "libxml2-bench")]
            let path_str = path.to_str().expect("utf-8 path").to_owned();
            #[cfg(feature = "libxml2-bench")]
            {
                assert!(
                    libxml2.stream(&path_str),
                    "libxml2 (stream) rejects {message}"
                );
                assert!(libxml2.dom(&bytes), "libxml2 (dom) rejects {message}");
            }

            for (unit, throughput) in [
                ("docs", Throughput::Elements(1)),
                ("bytes", Throughput::Bytes(bytes.len() as u64)),
            ] {
                let mut group = c.benchmark_group(format!("{name}/{unit}"));
                group.throughput(throughput);
                group.bench_function("reggate", |b| {
                    b.iter(|| validate_bytes(&schema, black_box(&bytes), &options).is_valid())
                });
                group.bench_function("quick-xml", |b| {
                    b.iter(|| quick_xml_pass(black_box(&bytes)))
                });
                #[cfg(feature = "libxml2-bench")]
                {
                    group.bench_function("libxml2-stream", |b| {
                        b.iter(|| libxml2.stream(black_box(&path_str)))
                    });
                    group.bench_function("libxml2-dom", |b| {
                        b.iter(|| libxml2.dom(black_box(&bytes)))
                    });
                }
                group.finish();
            }
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
