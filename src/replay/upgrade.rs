//! The schema-upgrade check behind `reggate replay --against-schemas DIR`: what a new version of the
//! schemas would break, read from the fixture corpus without sending anything.
//!
//! Every case's documents — `request.xml`, and `response.xml` when the case expects one (a fault
//! expectation keeps no body today; a recorded fault body would be a third document) — are validated
//! against the current schema set and against the candidate, and the two verdicts are set side by side:
//! - valid → invalid: the document **breaks** (a request the gateway would now refuse, an answer it
//!   would now reject);
//! - invalid → valid: the document is **now accepted** (a request recorded as refused would be sent);
//! - invalid under both, but not for the same violations: **other violations**.
//!
//! Violations are told apart by path and rule, the pair a refused case's expectation names — not by
//! message, which quotes the facet and so changes with the very pattern being upgraded, nor by line and
//! column, which the unchanged document keeps. For a refused case the report also says whether its
//! expectation (a violation at that path for that rule, see [`refusal_holds`]) holds under each set,
//! so a case refused for one rule today and for another tomorrow is visible although its verdict is not
//! changed. Documents and cases whose verdict does not change are counted, not listed.
//!
//! [`load_schemas`] compiles a schema directory, refusing one that is not there, holds no `*.xsd`, or
//! does not compile (naming the file); [`compare_schemas`] does the check; [`UpgradeReport::display`]
//! renders it for a terminal, one block per changed case and a summary line.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::case::{Case, Expectation, REQUEST_FILE, RESPONSE_FILE, refusal_matches};
use crate::contract::{Operation, Registry};
use crate::xml::schema::{Schema, SchemaErrors};
use crate::xml::validate::{Options, Report, Violation, validate_bytes};

/// A document of a case that is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Document {
    /// `request.xml`.
    Request,
    /// `response.xml`, when the case expects a response.
    Response,
}

impl Document {
    /// Its file in the case folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Document::Request => REQUEST_FILE,
            Document::Response => RESPONSE_FILE,
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// How a document's verdict moves from the current schemas to the candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// Valid under the current schemas, invalid under the candidate.
    Breaks,
    /// Invalid under the current schemas, valid under the candidate.
    NowAccepted,
    /// Invalid under both, for violations that differ by path or rule.
    OtherViolations,
}

impl Change {
    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Change::Breaks => "breaks",
            Change::NowAccepted => "now accepted",
            Change::OtherViolations => "other violations",
        }
    }
}

/// One document whose outcome differs between the two schema sets.
#[derive(Clone, Debug)]
pub struct DocumentChange {
    /// Which document.
    pub document: Document,
    /// How its verdict moves.
    pub change: Change,
    /// Violations under the candidate that the current schemas do not report (by path and rule): all
    /// of the candidate's when the document breaks. In document order, messages masked as the
    /// validator masks them.
    pub added: Vec<Violation>,
    /// Violations under the current schemas that the candidate no longer reports: all of the current
    /// ones when the document is now accepted.
    pub removed: Vec<Violation>,
    /// Either validation stopped early (too many violations, or not well-formed), so the lists may be
    /// incomplete.
    pub truncated: bool,
}

/// A refused case's expectation, checked under both schema sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The expected violation's path, as `case.toml` gives it.
    pub path: String,
    /// The expected violation's rule.
    pub rule: String,
    /// Whether the current schemas refuse the request that way.
    pub holds_current: bool,
    /// Whether the candidate refuses it that way.
    pub holds_candidate: bool,
}

/// A case with at least one changed document.
#[derive(Clone, Debug)]
pub struct CaseChange {
    /// The case's folder.
    pub dir: PathBuf,
    /// The registry it calls.
    pub registry: Registry,
    /// The operation it calls.
    pub operation: Operation,
    /// Its changed documents, request first.
    pub documents: Vec<DocumentChange>,
    /// For a refused case, its expectation under both sets.
    pub refusal: Option<Refusal>,
}

impl CaseChange {
    /// The case's change as a whole: it breaks when a document breaks, else it is now accepted when a
    /// document is, else its violations changed.
    pub fn change(&self) -> Change {
        self.documents
            .iter()
            .map(|d| d.change)
            .min()
            .unwrap_or(Change::OtherViolations)
    }

    /// Whether its verdict changes (a document breaks or is now accepted).
    pub fn changes_verdict(&self) -> bool {
        self.change() != Change::OtherViolations
    }

    /// Whether it is a refused case whose expectation held under the current schemas and does not
    /// under the candidate.
    pub fn refusal_lost(&self) -> bool {
        self.refusal
            .as_ref()
            .is_some_and(|r| r.holds_current && !r.holds_candidate)
    }
}

/// The outcome of [`compare_schemas`].
#[derive(Clone, Debug, Default)]
pub struct UpgradeReport {
    /// Cases checked.
    pub cases: usize,
    /// Documents validated (against each set).
    pub documents: usize,
    /// Documents whose verdict changes.
    pub documents_changed: usize,
    /// The cases with a changed document, in the order given.
    pub changed: Vec<CaseChange>,
}

impl UpgradeReport {
    /// Cases with a document that breaks.
    pub fn breaks(&self) -> usize {
        self.count(Change::Breaks)
    }

    /// Cases with a document now accepted and none that breaks.
    pub fn now_accepted(&self) -> usize {
        self.count(Change::NowAccepted)
    }

    /// Cases whose verdicts all stay but whose violations change.
    pub fn other_violations(&self) -> usize {
        self.count(Change::OtherViolations)
    }

    /// Cases whose verdict changes.
    pub fn verdict_changes(&self) -> usize {
        self.breaks() + self.now_accepted()
    }

    /// Cases whose verdict does not change (those with other violations included).
    pub fn unchanged(&self) -> usize {
        self.cases - self.verdict_changes()
    }

    /// Documents whose verdict does not change.
    pub fn documents_unchanged(&self) -> usize {
        self.documents - self.documents_changed
    }

    /// Refused cases whose expectation holds under the current schemas and not under the candidate.
    pub fn refusals_lost(&self) -> usize {
        self.changed.iter().filter(|c| c.refusal_lost()).count()
    }

    /// Whether replay would judge every case as it does today: no verdict changes and no expected
    /// refusal is lost. (Other violations with the refusal still holding do not count.) The command
    /// exits 0 on this, 1 otherwise.
    pub fn is_compatible(&self) -> bool {
        self.verdict_changes() == 0 && self.refusals_lost() == 0
    }

    /// The summary line for a candidate at `candidate`:
    /// `schemas DIR: 3 of 128 cases change verdict (2 break, 1 now accepted), 125 unchanged; ...`.
    pub fn summary(&self, candidate: &Path) -> String {
        let changes = self.verdict_changes();
        let mut s = format!(
            "schemas {}: {changes} of {} cases {} verdict ({} {}, {} now accepted), {} unchanged",
            candidate.display(),
            self.cases,
            verb(changes, "changes", "change"),
            self.breaks(),
            verb(self.breaks(), "breaks", "break"),
            self.now_accepted(),
            self.unchanged(),
        );
        if self.other_violations() > 0 {
            s.push_str(&format!(
                " ({} with other violations)",
                self.other_violations()
            ));
        }
        s.push_str(&format!(
            "; {} of {} documents {} verdict",
            self.documents_changed,
            self.documents,
            verb(self.documents_changed, "changes", "change"),
        ));
        let lost = self.refusals_lost();
        if lost > 0 {
            s.push_str(&format!(
                "; {lost} expected {} no longer {}",
                if lost == 1 { "refusal" } else { "refusals" },
                verb(lost, "holds", "hold"),
            ));
        }
        s
    }

    /// The report for a terminal: one block per changed case (those that break, then those now
    /// accepted, then those with other violations; each in case order), then [`Self::summary`].
    pub fn display<'a>(&'a self, candidate: &'a Path) -> impl fmt::Display + 'a {
        Render {
            report: self,
            candidate,
        }
    }

    fn count(&self, change: Change) -> usize {
        self.changed.iter().filter(|c| c.change() == change).count()
    }
}

fn verb(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

struct Render<'a> {
    report: &'a UpgradeReport,
    candidate: &'a Path,
}

impl fmt::Display for Render<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut order: Vec<&CaseChange> = self.report.changed.iter().collect();
        order.sort_by_key(|c| c.change());
        for case in order {
            writeln!(
                f,
                "{}: {} ({} {})",
                case.change().describe(),
                case.dir.display(),
                case.registry,
                case.operation
            )?;
            for doc in &case.documents {
                let how = match doc.change {
                    Change::Breaks => "valid -> invalid",
                    Change::NowAccepted => "invalid -> valid",
                    Change::OtherViolations => "invalid under both, other violations",
                };
                writeln!(f, "  {}: {how}", doc.document)?;
                for v in &doc.removed {
                    writeln!(f, "    - {v}")?;
                }
                for v in &doc.added {
                    writeln!(f, "    + {v}")?;
                }
                if doc.truncated {
                    writeln!(f, "    (stopped: further violations not reported)")?;
                }
            }
            if let Some(r) = &case.refusal {
                let verdict = match (r.holds_current, r.holds_candidate) {
                    (true, true) => "still holds",
                    (true, false) => "no longer holds under the candidate",
                    (false, true) => "holds under the candidate, not under the current schemas",
                    (false, false) => "holds under neither",
                };
                writeln!(
                    f,
                    "  expected refusal at {} [{}]: {verdict}",
                    r.path, r.rule
                )?;
            }
        }
        write!(f, "{}", self.report.summary(self.candidate))
    }
}

/// Validate every case's documents (module docs) against `current` and `candidate`, with the
/// validator's default [`Options`], and report what changes. Nothing is sent.
pub fn compare_schemas(cases: &[Case], current: &Schema, candidate: &Schema) -> UpgradeReport {
    let options = Options::default();
    let mut report = UpgradeReport {
        cases: cases.len(),
        ..UpgradeReport::default()
    };
    for case in cases {
        let mut documents = Vec::new();
        let mut request_reports = None;
        for (document, bytes) in case_documents(case) {
            let now = validate_bytes(current, bytes, &options);
            let then = validate_bytes(candidate, bytes, &options);
            report.documents += 1;
            if let Some(change) = document_change(document, &now, &then) {
                if change.change != Change::OtherViolations {
                    report.documents_changed += 1;
                }
                documents.push(change);
            }
            if document == Document::Request {
                request_reports = Some((now, then));
            }
        }
        if documents.is_empty() {
            continue;
        }
        let refusal = match (&case.expect, &request_reports) {
            (Expectation::Refused { path, rule }, Some((now, then))) => Some(Refusal {
                path: path.clone(),
                rule: rule.clone(),
                holds_current: refusal_holds(now, path, rule),
                holds_candidate: refusal_holds(then, path, rule),
            }),
            _ => None,
        };
        report.changed.push(CaseChange {
            dir: case.dir.clone(),
            registry: case.registry,
            operation: case.operation,
            documents,
            refusal,
        });
    }
    report
}

/// The documents of `case` that are validated, request first.
fn case_documents(case: &Case) -> Vec<(Document, &[u8])> {
    let mut docs = vec![(Document::Request, case.request.as_slice())];
    if let Expectation::Response(bytes) = &case.expect {
        docs.push((Document::Response, bytes.as_slice()));
    }
    docs
}

/// How one document's two reports differ, if they do (by verdict, or by violations told apart by
/// path and rule).
fn document_change(document: Document, now: &Report, then: &Report) -> Option<DocumentChange> {
    let (change, removed, added) = match (now.is_valid(), then.is_valid()) {
        (true, true) => return None,
        (true, false) => (Change::Breaks, Vec::new(), then.violations.clone()),
        (false, true) => (Change::NowAccepted, now.violations.clone(), Vec::new()),
        (false, false) => {
            let removed = minus(&now.violations, &then.violations);
            let added = minus(&then.violations, &now.violations);
            if removed.is_empty() && added.is_empty() {
                return None;
            }
            (Change::OtherViolations, removed, added)
        }
    };
    Some(DocumentChange {
        document,
        change,
        added,
        removed,
        truncated: now.truncated || then.truncated,
    })
}

/// The violations of `a` left when each of `b`'s is taken away once, matched by path and rule.
fn minus(a: &[Violation], b: &[Violation]) -> Vec<Violation> {
    let mut pool: HashMap<(&str, &str), usize> = HashMap::new();
    for v in b {
        *pool.entry((v.path.as_str(), v.rule)).or_default() += 1;
    }
    a.iter()
        .filter(|v| match pool.get_mut(&(v.path.as_str(), v.rule)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

/// Whether `report` refuses a document the way a refused case expects: some violation for `rule` at
/// `path` — exactly there, not below it — where `path` is written as `case.toml` accepts it (the
/// validator's format, `*` for any one element step and `@*` for any attribute).
pub fn refusal_holds(report: &Report, path: &str, rule: &str) -> bool {
    report
        .violations
        .iter()
        .any(|v| refusal_matches(path, rule, &v.path, v.rule))
}

/// Why a schema directory could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaDirError {
    /// The directory as given.
    pub dir: PathBuf,
    /// What is wrong.
    pub kind: SchemaDirErrorKind,
}

/// What is wrong with a schema directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaDirErrorKind {
    /// It is not a directory (or cannot be read as one).
    NotADirectory(String),
    /// It holds no `*.xsd` file.
    NoSchemas,
    /// Its schemas do not compile; each error names its file and position.
    Compile(SchemaErrors),
}

impl fmt::Display for SchemaDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schemas {}: ", self.dir.display())?;
        match &self.kind {
            SchemaDirErrorKind::NotADirectory(m) => write!(f, "not a directory: {m}"),
            SchemaDirErrorKind::NoSchemas => f.write_str("no *.xsd files in it"),
            SchemaDirErrorKind::Compile(errors) => {
                f.write_str("do not compile:")?;
                for e in &errors.0 {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SchemaDirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            SchemaDirErrorKind::Compile(errors) => Some(errors),
            _ => None,
        }
    }
}

/// Compile the schema set in `dir` (every `*.xsd` in it, as `reggate validate --schema DIR` does).
/// A missing directory, one without schemas, and one whose schemas do not compile are refused: the
/// command exits 2 on any of them.
pub fn load_schemas(dir: &Path) -> Result<Arc<Schema>, SchemaDirError> {
    let error = |kind| SchemaDirError {
        dir: dir.to_path_buf(),
        kind,
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| error(SchemaDirErrorKind::NotADirectory(e.to_string())))?;
    let any_xsd = entries
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "xsd"));
    if !any_xsd {
        return Err(error(SchemaDirErrorKind::NoSchemas));
    }
    Schema::load(&[dir.to_path_buf()]).map_err(|e| error(SchemaDirErrorKind::Compile(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(path: &str, rule: &'static str) -> Violation {
        Violation {
            path: path.to_string(),
            line: 1,
            column: 1,
            rule,
            message: format!("message for {path}"),
            value: None,
        }
    }

    fn report(violations: &[(&str, &'static str)]) -> Report {
        Report {
            violations: violations.iter().map(|(p, r)| violation(p, r)).collect(),
            truncated: false,
        }
    }

    #[test]
    fn a_refusal_holds_at_its_path_for_its_rule_only() {
        let r = report(&[("/e:Env/e:Body/a:Req/a:Snils", "cvc-pattern-valid")]);
        assert!(refusal_holds(
            &r,
            "/e:Env/e:Body/a:Req/a:Snils",
            "cvc-pattern-valid"
        ));
        assert!(refusal_holds(
            &r,
            "/e:Env/e:Body/*/a:Snils",
            "cvc-pattern-valid"
        ));
        // Another rule, an ancestor's path, a descendant's path: not the expected refusal.
        assert!(!refusal_holds(
            &r,
            "/e:Env/e:Body/a:Req/a:Snils",
            "cvc-length-valid"
        ));
        assert!(!refusal_holds(
            &r,
            "/e:Env/e:Body/a:Req",
            "cvc-pattern-valid"
        ));
        assert!(!refusal_holds(
            &r,
            "/e:Env/e:Body/a:Req/a:Snils/a:X",
            "cvc-pattern-valid"
        ));
        let attr = report(&[("/a:Req/@number", "cvc-complex-type.4")]);
        assert!(refusal_holds(&attr, "/a:Req/@*", "cvc-complex-type.4"));
        assert!(!refusal_holds(&attr, "/a:Req", "cvc-complex-type.4"));
        assert!(!refusal_holds(&report(&[]), "/a:Req", "cvc-complex-type.4"));
    }

    #[test]
    fn violations_are_told_apart_by_path_and_rule_counted_not_by_message() {
        let mut now = report(&[("/a/b", "r1"), ("/a/b", "r1"), ("/a/c", "r2")]);
        let then = report(&[("/a/b", "r1"), ("/a/c", "r2"), ("/a/d", "r3")]);
        now.violations[2].message = "another message".into();
        let removed = minus(&now.violations, &then.violations);
        let added = minus(&then.violations, &now.violations);
        assert_eq!(
            (removed.len(), removed[0].path.as_str()),
            (1, "/a/b"),
            "one of the two /a/b is gone"
        );
        assert_eq!((added.len(), added[0].rule), (1, "r3"));
        let change = document_change(Document::Request, &now, &then).expect("changed");
        assert_eq!(change.change, Change::OtherViolations);
        // Only the message differs: no change.
        let same = report(&[("/a/b", "r1"), ("/a/b", "r1"), ("/a/c", "r2")]);
        assert!(document_change(Document::Request, &now, &same).is_none());
        assert!(document_change(Document::Response, &report(&[]), &report(&[])).is_none());
        let breaks = document_change(Document::Response, &report(&[]), &then).expect("breaks");
        assert_eq!((breaks.change, breaks.added.len()), (Change::Breaks, 3));
        let accepted = document_change(Document::Request, &now, &report(&[])).expect("accepted");
        assert_eq!(
            (accepted.change, accepted.removed.len()),
            (Change::NowAccepted, 3)
        );
    }

    #[test]
    fn a_case_breaks_when_any_document_breaks() {
        let doc = |document, change| DocumentChange {
            document,
            change,
            added: Vec::new(),
            removed: Vec::new(),
            truncated: false,
        };
        let case = CaseChange {
            dir: PathBuf::from("cases/x"),
            registry: Registry::Inn,
            operation: Operation::FindInn,
            documents: vec![
                doc(Document::Request, Change::NowAccepted),
                doc(Document::Response, Change::Breaks),
            ],
            refusal: None,
        };
        assert_eq!(case.change(), Change::Breaks);
        let report = UpgradeReport {
            cases: 2,
            documents: 4,
            documents_changed: 2,
            changed: vec![case],
        };
        assert_eq!(
            (report.breaks(), report.now_accepted(), report.unchanged()),
            (1, 0, 1)
        );
        assert_eq!(
            report.summary(Path::new("next")),
            "schemas next: 1 of 2 cases changes verdict (1 breaks, 0 now accepted), 1 unchanged; \
             2 of 4 documents change verdict"
        );
    }
}
