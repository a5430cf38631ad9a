//! A driver schema for libxml2: one document that imports every `schemas/*.xsd` by absolute path, so
//! libxml2 (which takes a single schema) compiles the registry schemas as one set, as reggate does.
//! Shared by the differential test and the benchmark.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quick_xml::events::Event;

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// A schema that imports every registry schema by absolute path, so xmllint sees them as one set.
pub fn write_driver(dir: &Path) -> PathBuf {
    let mut imports = String::new();
    let mut xsds: Vec<PathBuf> = std::fs::read_dir(schemas_dir())
        .expect("schemas/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xsd"))
        .collect();
    xsds.sort();
    for xsd in xsds {
        let text = std::fs::read_to_string(&xsd).expect("read xsd");
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut tns = None;
        loop {
            match reader.read_event().expect("xsd is well-formed") {
                Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "schema" => {
                    tns = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == "targetNamespace")
                        .map(|a| a.value.to_string());
                    break;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let location = xsd.canonicalize().expect("canonical path");
        match tns {
            Some(ns) => writeln!(
                imports,
                "  <xs:import namespace=\"{ns}\" schemaLocation=\"{}\"/>",
                location.display()
            ),
            None => writeln!(
                imports,
                "  <xs:import schemaLocation=\"{}\"/>",
                location.display()
            ),
        }
        .expect("write to String");
    }
    let driver = format!(
        "<?xml version=\"1.0\"?>\n<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
         targetNamespace=\"urn://reggate/test/libxml2-driver\">\n{imports}</xs:schema>\n"
    );
    let path = dir.join("driver.xsd");
    std::fs::write(&path, driver).expect("write driver");
    path
}
