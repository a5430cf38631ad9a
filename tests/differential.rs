//! Differential testing of reggate's validator against libxml2 (`xmllint --schema`).
//!
//! Every fixture (valid, invalid and bench) and a few thousand deterministic mutations of the valid
//! fixtures are validated by both reggate (in-process, schema set compiled once) and `xmllint` (in
//! batches, through a driver schema that imports every `schemas/*.xsd` by absolute path). The verdicts
//! (valid / invalid) must agree. A disagreement fails the test unless an entry of [`ALLOW_LIST`] says
//! libxml2 is the one that is wrong and names the XSD 1.0 rule it gets wrong.
//!
//! Mutations are made by string surgery on element boundaries found with quick-xml: drop an element,
//! duplicate one, swap two adjacent sibling elements, replace a simple value (text or attribute) with a
//! broken one, drop an attribute, add one. A small seeded xorshift makes the run reproducible.
//!
//! `xmllint` (Debian package libxml2-utils) must be installed: CI installs it; without it the test
//! fails and says so rather than passing vacuously.

#[path = "support/libxml2_driver.rs"]
mod libxml2_driver;
use libxml2_driver::write_driver;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::events::Event;
use reggate::xml::schema::Schema;
use reggate::xml::validate::{Options, Report, validate_bytes};

/// Mutants generated per valid fixture (before de-duplication).
const MUTANTS_PER_FIXTURE: usize = 200;
/// Documents handed to one `xmllint` process: it compiles the driver schema once per process.
const XMLLINT_BATCH: usize = 400;
/// Seed of the mutation generator. `REGGATE_DIFF_SEED=<u64>` explores other mutants without editing
/// the test; `REGGATE_DIFF_MUTANTS=<n>` changes how many per fixture.
const SEED: u64 = 0x5EED_2024_0514_1015;

/// A known case where libxml2's verdict is wrong and reggate's is right.
struct Allowed {
    /// The XSD 1.0 rule libxml2 gets wrong, as the spec names it, and how.
    rule: &'static str,
    /// Whether a disagreement is this case (given the mutant text and libxml2's messages).
    matches: fn(&Disagreement) -> bool,
}

/// Disagreements where libxml2 is known to be wrong. Each names the spec rule; keep it short and exact.
const ALLOW_LIST: &[Allowed] = &[
    Allowed {
        // libxml2 (2.9.14 here) does not collapse whitespace before checking the lexical form of several
        // built-in types: `<ChildrenCount>  3 </ChildrenCount>` (xs:unsignedByte) gets "'  3 ' is not a
        // valid value of the atomic type", `<faultcode>  soap:Server </faultcode>` gets "The QName value
        // '  soap:Server ' has no corresponding namespace declaration in scope". Seen for xs:long, int,
        // short, byte and their unsigned forms, xs:date and xs:QName (xs:integer, decimal, boolean are fine).
        rule: "XSD 1.0 Part 2 §4.3.6 whiteSpace: every built-in atomic type other than string and \
           normalizedString has whiteSpace fixed to collapse (e.g. §3.2.18 QName, §3.3.24 unsignedByte, \
           §3.2.9 date), so leading and trailing whitespace is removed before the lexical check",
        matches: |d| {
            let padded_value = |m: &String| {
                (m.contains("is not a valid value of the atomic type")
                    || m.contains("The QName value"))
                    && m.contains("'  ")
            };
            d.reggate.is_valid()
                && !d.xmllint_valid
                && d.doc.origin.contains("padded with whitespace")
                && !d.xmllint_messages.is_empty()
                && d.xmllint_messages.iter().all(padded_value)
        },
    },
    Allowed {
        // libxml2 refuses a leading '+' on xs:unsignedByte/Short/Int/Long ("'+3' is not a valid value of
        // the atomic type"), following the types' prose. Formally they are restrictions of
        // nonNegativeInteger by maxInclusive only, and no pattern facet removes the sign from the
        // inherited lexical space; Xerces and Saxon accept "+3" too.
        rule: "XSD 1.0 Part 2 §3.3.21-§3.3.24 unsigned* derive from nonNegativeInteger (§3.3.20, lexical \
           form 'an optional sign followed by digits') by maxInclusive alone, and a restriction's \
           lexical space is its base's filtered by its facets (§4.1.2.1)",
        matches: |d| {
            d.reggate.is_valid()
                && !d.xmllint_valid
                && !d.xmllint_messages.is_empty()
                && d.xmllint_messages.iter().all(|m| {
                    m.contains("'+") && m.contains("is not a valid value of the atomic type")
                })
        },
    },
];

/// One document both validators saw.
struct Doc {
    /// Where it came from: fixture path, or fixture plus mutation.
    origin: String,
    /// The document.
    text: String,
}

/// Reggate and libxml2 differ on a document.
struct Disagreement<'a> {
    doc: &'a Doc,
    reggate: &'a Report,
    xmllint_valid: bool,
    xmllint_messages: &'a [String],
}

/// An element of a fixture, as byte offsets into its text.
#[derive(Clone, Debug)]
struct Element {
    /// Offset of `<` of the start tag.
    start: usize,
    /// Offset just past the start tag's `>`.
    tag_end: usize,
    /// Offset just past the end tag's `>` (== `tag_end` for an empty-element tag).
    end: usize,
    /// Index of the parent element, `None` for the root.
    parent: Option<usize>,
    /// Whether any child element occurs.
    has_children: bool,
    /// Whether written as `<x/>`.
    empty_tag: bool,
}

/// An attribute within a start tag: byte offsets into the document.
#[derive(Clone, Debug)]
struct Attr {
    /// Offset of the whitespace before the name (so removing `start..end` leaves a clean tag).
    start: usize,
    /// Offset just past the closing quote.
    end: usize,
    /// The value, without quotes.
    value_start: usize,
    value_end: usize,
    name: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The elements of a document, in document order.
fn elements(text: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut out: Vec<Element> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().expect("fixture is well-formed");
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(_) | Event::Empty(_) => {
                let empty = matches!(event, Event::Empty(_));
                let parent = stack.last().copied();
                if let Some(p) = parent {
                    out[p].has_children = true;
                }
                out.push(Element {
                    start: before,
                    tag_end: after,
                    end: after,
                    parent,
                    has_children: false,
                    empty_tag: empty,
                });
                if !empty {
                    stack.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                let i = stack.pop().expect("balanced");
                out[i].end = after;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The attributes of the start tag `text[el.start..el.tag_end]`, namespace declarations excluded.
fn attributes(text: &str, el: &Element) -> Vec<Attr> {
    let bytes = text.as_bytes();
    let tag_last = if el.empty_tag {
        el.tag_end - 2
    } else {
        el.tag_end - 1
    };
    let mut i = el.start + 1;
    while i < tag_last && !bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    let mut out = Vec::new();
    loop {
        let ws = i;
        while i < tag_last && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= tag_last {
            break;
        }
        let name_start = i;
        while i < tag_last && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = text[name_start..i].to_owned();
        while i < tag_last && bytes[i] != b'"' && bytes[i] != b'\'' {
            i += 1;
        }
        let quote = bytes[i];
        let value_start = i + 1;
        i = value_start;
        while bytes[i] != quote {
            i += 1;
        }
        let value_end = i;
        i += 1;
        if name != "xmlns" && !name.starts_with("xmlns:") {
            out.push(Attr {
                start: ws,
                end: i,
                value_start,
                value_end,
                name,
            });
        }
    }
    out
}

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A broken (or just different) replacement for a simple value, and what it tries.
fn broken_value(rng: &mut Rng, original: &str) -> (String, &'static str) {
    let digits: Vec<usize> = original
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let is_date = original.len() >= 10
        && original.as_bytes().get(4) == Some(&b'-')
        && original.as_bytes().get(7) == Some(&b'-');
    loop {
        match rng.below(22) {
            0 => return (original.repeat(12), "too long (x12)"),
            1 => {
                return (
                    format!("{original}{}", "Ж".repeat(300)),
                    "too long (+300 chars)",
                );
            }
            2 if !digits.is_empty() => {
                let at = *rng.pick(&digits);
                let mut s = original.to_owned();
                s.replace_range(at..at + 1, "O");
                return (s, "letter in place of a digit");
            }
            3 if is_date => {
                let mut s = original.to_owned();
                s.replace_range(5..7, "13");
                return (s, "month 13");
            }
            4 if is_date => {
                let mut s = original.to_owned();
                s.replace_range(5..10, "02-30");
                return (s, "February 30");
            }
            5 if is_date => {
                let mut s = original.to_owned();
                s.replace_range(0..4, "2023");
                s.replace_range(5..10, "02-29");
                return (s, "February 29 of a common year");
            }
            6 if is_date && original.len() > 10 => {
                return (original[..10].to_owned(), "dateTime cut to a date");
            }
            7 if original.contains('T') && (original.ends_with('Z') || original.contains('+')) => {
                let cut = original.rfind(['Z', '+']).unwrap_or(original.len());
                return (original[..cut].to_owned(), "timestamp without zone");
            }
            8 => return ("NotInTheEnumeration".to_owned(), "out of enumeration"),
            9 => return (String::new(), "empty"),
            10 => return (format!("  {original}\n\t "), "padded with whitespace"),
            11 => return (format!("{original} {original}"), "value twice with a space"),
            12 if !digits.is_empty() => return (format!("-{original}"), "negative"),
            13 if !digits.is_empty() => return (format!("+{original}"), "plus sign"),
            14 if !digits.is_empty() => return (format!("0{original}"), "leading zero"),
            15 if !digits.is_empty() => return (format!("{original}.5"), "fraction appended"),
            16 if !digits.is_empty() => {
                return (format!("{original}.00"), "zero fraction appended");
            }
            17 if original.len() > 1 => {
                let keep = original
                    .char_indices()
                    .nth(original.chars().count() - 1)
                    .map_or(0, |(i, _)| i);
                return (original[..keep].to_owned(), "last character dropped");
            }
            18 => return (original.to_uppercase(), "upper-cased"),
            19 => return (original.to_lowercase(), "lower-cased"),
            20 => return ("99999999999999999999999".to_owned(), "huge number"),
            21 => return (format!("{original}x"), "letter appended"),
            _ => {}
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// One mutant of `text`, or `None` if the chosen mutation does not apply.
fn mutate(rng: &mut Rng, text: &str, els: &[Element]) -> Option<(String, String)> {
    let short = |s: &str| -> String {
        let s: String = s.chars().take(40).collect();
        s.replace('\n', " ")
    };
    let name_of = |el: &Element| -> String {
        let tag = &text[el.start + 1..el.tag_end];
        tag.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or("")
            .to_owned()
    };
    if els.len() < 2 {
        return None;
    }
    let i = 1 + rng.below(els.len() - 1);
    let el = &els[i];
    match rng.below(7) {
        0 => Some((
            format!("{}{}", &text[..el.start], &text[el.end..]),
            format!("drop <{}> (line {})", name_of(el), line_of(text, el.start)),
        )),
        1 => Some((
            format!(
                "{}{}{}",
                &text[..el.end],
                &text[el.start..el.end],
                &text[el.end..]
            ),
            format!(
                "duplicate <{}> (line {})",
                name_of(el),
                line_of(text, el.start)
            ),
        )),
        2 => {
            let next = els
                .iter()
                .skip(i + 1)
                .find(|e| e.parent == el.parent && e.start >= el.end)?;
            let between_has_element = els
                .iter()
                .any(|e| e.parent == el.parent && e.start >= el.end && e.start < next.start);
            if between_has_element {
                return None;
            }
            Some((
                format!(
                    "{}{}{}{}{}",
                    &text[..el.start],
                    &text[next.start..next.end],
                    &text[el.end..next.start],
                    &text[el.start..el.end],
                    &text[next.end..]
                ),
                format!(
                    "swap <{}> and <{}> (line {})",
                    name_of(el),
                    name_of(next),
                    line_of(text, el.start)
                ),
            ))
        }
        3 | 4 => {
            if el.has_children || el.empty_tag {
                return None;
            }
            let end_tag = text[..el.end].rfind("</")?;
            let original = &text[el.tag_end..end_tag];
            if original.contains('<') || original.contains('&') {
                return None;
            }
            let (value, what) = broken_value(rng, original);
            Some((
                format!(
                    "{}{}{}",
                    &text[..el.tag_end],
                    escape(&value),
                    &text[end_tag..]
                ),
                format!(
                    "text of <{}> (line {}) '{}' -> {what} '{}'",
                    name_of(el),
                    line_of(text, el.start),
                    short(original),
                    short(&value)
                ),
            ))
        }
        5 => {
            let attrs = attributes(text, el);
            if attrs.is_empty() {
                return None;
            }
            let a = rng.pick(&attrs);
            if rng.below(2) == 0 {
                Some((
                    format!("{}{}", &text[..a.start], &text[a.end..]),
                    format!(
                        "drop @{} of <{}> (line {})",
                        a.name,
                        name_of(el),
                        line_of(text, el.start)
                    ),
                ))
            } else {
                let original = &text[a.value_start..a.value_end];
                let (value, what) = broken_value(rng, original);
                Some((
                    format!(
                        "{}{}{}",
                        &text[..a.value_start],
                        escape(&value),
                        &text[a.value_end..]
                    ),
                    format!(
                        "@{} of <{}> (line {}) '{}' -> {what} '{}'",
                        a.name,
                        name_of(el),
                        line_of(text, el.start),
                        short(original),
                        short(&value)
                    ),
                ))
            }
        }
        _ => {
            let insert_at = if el.empty_tag {
                el.tag_end - 2
            } else {
                el.tag_end - 1
            };
            let (attr, what) = *rng.pick(&[
                (" extra=\"1\"", "unqualified unknown attribute"),
                (" soap:mustUnderstand=\"1\"", "soap:mustUnderstand"),
                (" soap:mustUnderstand=\"yes\"", "soap:mustUnderstand with a non-boolean"),
                (" soap:actor=\"http://example.org/actor\"", "soap:actor"),
                (" cmn:extra=\"1\"", "unknown attribute in the common namespace"),
                (" xml:lang=\"ru\"", "xml:lang"),
                (" xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"", "xsi:nil"),
                (" xsi:type=\"xs:string\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"", "xsi:type xs:string"),
            ]);
            // Skip what would repeat an attribute or a namespace declaration (not well-formed).
            let tag = &text[el.start..el.tag_end];
            let names = attr.split_whitespace().filter_map(|a| a.split('=').next());
            if names.into_iter().any(|n| tag.contains(&format!("{n}="))) {
                return None;
            }
            Some((
                format!("{}{}{}", &text[..insert_at], attr, &text[insert_at..]),
                format!(
                    "add{attr} to <{}> (line {}): {what}",
                    name_of(el),
                    line_of(text, el.start)
                ),
            ))
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    out.sort();
    out
}

/// Where reggate's whole reports on the default documents are pinned.
const REPORTS: &str = "fixtures/reports/differential.txt";

/// Reggate's reports themselves, not only its verdicts, stay as they are: a change to the reader or
/// the validator must not move a line or column, or change a path, rule, message or shown value.
/// `REGGATE_WRITE_REPORTS=1` rewrites the file (for a change that means to alter reports; the diff then
/// shows every report it alters).
fn check_reports(docs: &[Doc], reports: &[Report]) {
    let mut text = String::new();
    for (doc, report) in docs.iter().zip(reports) {
        let _ = writeln!(text, "## {}", doc.origin);
        for v in &report.violations {
            let _ = writeln!(text, "{v}");
        }
        if report.truncated {
            text.push_str("(truncated)\n");
        }
    }
    let path = root().join(REPORTS);
    if std::env::var_os("REGGATE_WRITE_REPORTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create reports dir");
        std::fs::write(&path, &text).expect("write reports");
        return;
    }
    let pinned = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (REGGATE_WRITE_REPORTS=1 writes it)",
            path.display()
        )
    });
    let split = |t: &str| -> Vec<String> {
        t.split("## ")
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (was, now) = (split(&pinned), split(&text));
    let changed: Vec<String> = was
        .iter()
        .zip(&now)
        .filter(|(a, b)| a != b)
        .take(10)
        .map(|(a, b)| format!("--- pinned:\n{a}+++ now:\n{b}"))
        .collect();
    assert!(
        changed.is_empty() && was.len() == now.len(),
        "reggate's reports changed ({} documents pinned, {} now); first differences:\n{}",
        was.len(),
        now.len(),
        changed.join("\n")
    );
}

/// libxml2's verdict and messages for each file, by running xmllint on the batch.
fn xmllint(driver: &Path, files: &[PathBuf]) -> Vec<(bool, Vec<String>)> {
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(driver)
        .args(files)
        .output()
        .expect("run xmllint");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut verdicts: HashMap<&str, bool> = HashMap::new();
    let mut messages: HashMap<&str, Vec<String>> = HashMap::new();
    let mut last: Option<&str> = None;
    for line in stderr.lines() {
        // A message that quotes a multi-line value goes on over several lines: keep it whole.
        if !files
            .iter()
            .any(|f| line.starts_with(f.to_str().unwrap_or("\0")))
        {
            if let Some(m) = last
                .and_then(|f| messages.get_mut(f))
                .and_then(|ms| ms.last_mut())
            {
                m.push('\n');
                m.push_str(line);
            }
            continue;
        }
        if let Some(f) = line.strip_suffix(" validates") {
            verdicts.insert(f, true);
        } else if let Some(f) = line.strip_suffix(" fails to validate") {
            verdicts.insert(f, false);
        } else if let Some(f) = line.strip_suffix(" validation generated an internal error") {
            verdicts.insert(f, false);
        } else if let Some((f, _)) = line.split_once(':') {
            messages.entry(f).or_default().push(line.to_owned());
            last = Some(f);
        }
    }
    files
        .iter()
        .map(|f| {
            let key = f.to_str().expect("utf-8 temp path");
            // No verdict: libxml2 could not parse the document (a parser error), so it is not valid.
            let mut msgs = messages.remove(key).unwrap_or_default();
            let verdict = verdicts.get(key).copied().unwrap_or_else(|| {
                msgs.push(format!(
                    "{key}: (no verdict: libxml2 found the document not well-formed)"
                ));
                false
            });
            (verdict, msgs)
        })
        .collect()
}

#[test]
fn reggate_agrees_with_libxml2() {
    let probe = Command::new("xmllint").arg("--version").output();
    assert!(
        probe.is_ok(),
        "xmllint is not installed: the differential test needs libxml2's xmllint \
         (Debian/Ubuntu: apt-get install libxml2-utils). Not skipping: it would pass vacuously."
    );

    let started = std::time::Instant::now();
    let schema =
        Schema::load(&[root().join("schemas")]).unwrap_or_else(|e| panic!("schemas compile: {e}"));
    let options = Options::default();

    let mut docs: Vec<Doc> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let fixtures = root().join("fixtures");
    let valid = xml_files(&fixtures.join("messages"));
    for path in valid
        .iter()
        .chain(&xml_files(&fixtures.join("messages/invalid")))
        .chain(&xml_files(&fixtures.join("bench")))
    {
        let text = std::fs::read_to_string(path).expect("read fixture");
        seen.insert(text.clone());
        docs.push(Doc {
            origin: path
                .strip_prefix(root())
                .unwrap_or(path)
                .display()
                .to_string(),
            text,
        });
    }
    let fixture_count = docs.len();

    let env_number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = env_number("REGGATE_DIFF_SEED").unwrap_or(SEED).max(1);
    let per_fixture =
        env_number("REGGATE_DIFF_MUTANTS").map_or(MUTANTS_PER_FIXTURE, |n| n as usize);
    let mut rng = Rng(seed);
    for path in &valid {
        let text = std::fs::read_to_string(path).expect("read fixture");
        let els = elements(&text);
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut made = 0;
        let mut attempts = 0;
        while made < per_fixture && attempts < per_fixture * 20 {
            attempts += 1;
            let Some((mut mutant, mut what)) = mutate(&mut rng, &text, &els) else {
                continue;
            };
            made += 1;
            // One mutant in three gets a second mutation: errors that only show in combination
            // (a duplicated element whose copy is then broken, say) and more valid variations.
            if rng.below(3) == 0 {
                let els2 = elements(&mutant);
                if let Some((m2, w2)) = mutate(&mut rng, &mutant, &els2) {
                    mutant = m2;
                    what = format!("{what}; then {w2}");
                }
            }
            if seen.insert(mutant.clone()) {
                docs.push(Doc {
                    origin: format!("{name}: {what}"),
                    text: mutant,
                });
            }
        }
    }

    // Write every document, then let xmllint judge them in batches on all cores.
    let dir = std::env::temp_dir().join(format!("reggate-differential-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let driver = write_driver(&dir);
    let paths: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = dir.join(format!("doc{i:05}.xml"));
            std::fs::write(&p, &d.text).expect("write doc");
            p
        })
        .collect();
    let libxml2: Vec<(bool, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(XMLLINT_BATCH)
            .map(|batch| s.spawn(|| xmllint(&driver, batch)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("xmllint thread"))
            .collect()
    });

    let reports: Vec<Report> = docs
        .iter()
        .map(|d| validate_bytes(&schema, d.text.as_bytes(), &options))
        .collect();
    if seed == SEED && per_fixture == MUTANTS_PER_FIXTURE {
        check_reports(&docs, &reports);
    }

    let mut failures = String::new();
    let mut allowed: HashMap<&str, usize> = HashMap::new();
    let mut disagreements = 0;
    let (mut both_valid, mut both_invalid) = (0, 0);
    for ((doc, report), (xl_valid, xl_messages)) in docs.iter().zip(&reports).zip(&libxml2) {
        if report.is_valid() == *xl_valid {
            if *xl_valid {
                both_valid += 1;
            } else {
                both_invalid += 1;
            }
            continue;
        }
        let d = Disagreement {
            doc,
            reggate: report,
            xmllint_valid: *xl_valid,
            xmllint_messages: xl_messages,
        };
        if let Some(a) = ALLOW_LIST.iter().find(|a| (a.matches)(&d)) {
            *allowed.entry(a.rule).or_default() += 1;
            continue;
        }
        disagreements += 1;
        let _ = writeln!(
            failures,
            "\n--- {}\n  reggate: {}\n  libxml2: {}",
            doc.origin,
            if report.is_valid() {
                "valid"
            } else {
                "invalid"
            },
            if d.xmllint_valid { "valid" } else { "invalid" },
        );
        for v in d.reggate.violations.iter().take(3) {
            let _ = writeln!(failures, "    reggate: {v}");
        }
        let tmp_prefix = dir.display().to_string();
        for m in d.xmllint_messages.iter().take(3) {
            let _ = writeln!(failures, "    libxml2: {}", m.replace(&tmp_prefix, ""));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "differential (seed {seed}): compared {} documents ({fixture_count} fixtures, {} mutants): {both_valid} valid and \
         {both_invalid} invalid for both, {disagreements} disagreements, {} allowed ({:?}), in {:.1} s",
        docs.len(),
        docs.len() - fixture_count,
        allowed.values().sum::<usize>(),
        allowed,
        started.elapsed().as_secs_f64()
    );
    assert!(
        both_valid > 100 && both_invalid > 100,
        "mutations should give many valid and many invalid documents"
    );
    assert!(
        disagreements == 0,
        "{disagreements} disagreements between reggate and libxml2:{failures}"
    );
}
