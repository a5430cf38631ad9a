//! Streaming validation of one document against a compiled [`Schema`].
//!
//! One pass over the reader's events with a stack of frames, one per open element: which declaration
//! and type apply, where the content-model automaton stands, the text collected for simple content.
//! Memory is bounded by nesting depth plus the ID and identity-constraint tables; no tree is built.
//! Every violation carries the element path as written (`/soap:Envelope/soap:Body/snils:Snils`), line and
//! column, the constraint that failed as XSD 1.0 names it, and the offending value masked where it is
//! personal data. Validation goes on after a violation (the element at fault is skipped) so that one pass
//! reports every problem, up to [`Options::max_errors`].

mod identity;

use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;
use std::ops::Range;

use crate::xml::content::MatchState;
use crate::xml::datatypes::Value;
use crate::xml::encoding;
use crate::xml::mask;
use crate::xml::reader::{
    Event, Limits, Mark, Source, StartTag, XmlError, XmlErrorKind, XmlReader,
};
use crate::xml::schema::doc::XSI_NS;
use crate::xml::schema::model::*;

/// What a validation run may do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Reader limits (depth, size, attributes, text).
    pub limits: Limits,
    /// Violations collected before the run stops. Default 100: enough to fix a message in one go,
    /// few enough that a hostile document cannot make the report huge.
    pub max_errors: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            max_errors: 100,
        }
    }
}

/// One way a document breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Element path, prefixes as written (attributes as a final `/@name`).
    pub path: String,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
    /// The constraint that failed (`cvc-complex-type.2.4`, `cvc-pattern-valid`, `xml-well-formed`, ...).
    pub rule: &'static str,
    /// What was expected or what is wrong.
    pub message: String,
    /// The offending value, masked if it is personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} [{}] {}",
            self.line, self.column, self.path, self.rule, self.message
        )?;
        if let Some(v) = &self.value {
            write!(f, " (value: '{v}')")?;
        }
        Ok(())
    }
}

/// The outcome of validating one document.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// Every violation found, in document order.
    pub violations: Vec<Violation>,
    /// The run stopped at [`Options::max_errors`] or at a well-formedness error.
    pub truncated: bool,
}

impl Report {
    /// No violations.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Validate a document held in memory, in any encoding [`encoding::decode`] reads (UTF-8 is read in
/// place). An encoding error is reported as the `xml-well-formed` violation that ends the run; bytes
/// malformed in the document's encoding end it where they are, after the violations before them.
pub fn validate_bytes(schema: &Schema, bytes: &[u8], options: &Options) -> Report {
    let (text, failure) = match encoding::decode_until_error(bytes) {
        Ok(decoded) => decoded,
        Err(e) => return Validator::new(schema, options).unreadable(e),
    };
    let Some(e) = failure else {
        let reader = XmlReader::from_bytes(&text, options.limits.clone());
        return Validator::new(schema, options).run(reader);
    };
    // The reader stops where the readable text does, as a stream's does at the bad bytes; what it
    // found wrong before them stays (a forbidden character early on is the first error, not these).
    let reader = XmlReader::from_bytes_cut(&text, options.limits.clone());
    let mut report = Validator::new(schema, options).run(reader);
    let cut = XmlErrorKind::InvalidUtf8.to_string();
    if let Some(v) = report.violations.last_mut()
        && report.truncated
        && v.rule == "xml-well-formed"
        && v.message == cut
    {
        v.ended_by(&e);
    }
    report
}

/// Validate a document from a buffered source, streaming, in any encoding [`encoding::decode_stream`]
/// reads (a byte order mark is skipped; other encodings are transcoded in bounded chunks). The report
/// is the one [`validate_bytes`] gives for the same bytes.
pub fn validate_reader<R: BufRead>(schema: &Schema, source: R, options: &Options) -> Report {
    let decoded = match encoding::decode_stream(source) {
        Ok(d) => d,
        Err(e) => return Validator::new(schema, options).unreadable(e),
    };
    let failure = decoded.failure();
    let reader = XmlReader::new(decoded, options.limits.clone());
    let mut report = Validator::new(schema, options).run(reader);
    // The reader saw the encoding error as a failed read; say what it was and where, as in memory.
    if let Some(e) = failure.get()
        && let Some(v) = report.violations.last_mut()
        && v.rule == "xml-well-formed"
        && v.message.contains(&e.kind.to_string())
    {
        v.ended_by(e);
    }
    report
}

impl Violation {
    /// This well-formedness violation is where bytes malformed in the document's encoding stopped the
    /// reader: report them instead, keeping the path.
    fn ended_by(&mut self, e: &XmlError) {
        self.line = e.position.line;
        self.column = e.position.column;
        self.message = e.kind.to_string();
    }
}

/// How an element is being assessed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Against its declaration or type.
    Strict,
    /// Not at all: skipped by a wildcard or after an error.
    Skip,
}

struct Frame {
    /// The name as written (`prefix:local`), a range of `Validator::names`, for paths in messages.
    name: Range<usize>,
    /// Where the local part begins in `Validator::names`.
    local: usize,
    elem: Option<ElemId>,
    type_: TypeId,
    mode: Mode,
    state: Option<MatchState>,
    /// Where this element's text begins in `Validator::texts` (what follows is its own: a child's
    /// text is dropped when the child ends).
    text: usize,
    nil: bool,
    had_child: bool,
    text_error: bool,
    /// The content model already rejected a child: later children are skipped without more reports
    /// (the automaton has lost its place, so they would only echo the first error).
    content_failed: bool,
    pos: Mark,
}

struct Validator<'s> {
    schema: &'s Schema,
    options: &'s Options,
    stack: Vec<Frame>,
    /// The names of the open elements, one after the other (frames hold ranges): no string per element.
    names: String,
    /// The text of the open elements that keep theirs, innermost last.
    texts: String,
    report: Report,
    ids: HashSet<String>,
    /// IDREF values, the path of their element and where it stands, checked when the document ends.
    idrefs: Vec<(String, String, (u32, u32))>,
    /// Positions still to be looked up for what was just reported (see `Validator::locate`).
    unlocated: Vec<(Located, Mark)>,
    /// Identity-constraint tables; `None` when the schema declares no constraint, so documents of such
    /// schemas pay nothing for them.
    idc: Option<identity::Tables>,
}

impl<'s> Validator<'s> {
    fn new(schema: &'s Schema, options: &'s Options) -> Self {
        Validator {
            schema,
            options,
            // Sized for a usual message (see XmlReader::with_source).
            stack: Vec::with_capacity(16),
            names: String::with_capacity(256),
            texts: String::with_capacity(256),
            report: Report::default(),
            ids: HashSet::new(),
            idrefs: Vec::new(),
            unlocated: Vec::new(),
            idc: (!schema.identity_constraints.is_empty()).then(identity::Tables::default),
        }
    }

    /// The document cannot be read on: the error is the last violation.
    fn unreadable(mut self, e: XmlError) -> Report {
        let path = self.path();
        self.report.violations.push(Violation {
            path,
            line: e.position.line,
            column: e.position.column,
            rule: "xml-well-formed",
            message: e.kind.to_string(),
            value: None,
        });
        self.report.truncated = true;
        self.report
    }

    fn run<S: Source>(mut self, mut reader: XmlReader<S>) -> Report {
        loop {
            if self.report.violations.len() >= self.options.max_errors {
                self.report.truncated = true;
                break;
            }
            if let Err(e) = reader.advance() {
                return self.unreadable(e);
            }
            let done = match reader.event() {
                Event::Start(tag) => {
                    self.start(tag, &reader);
                    false
                }
                Event::Text(t, mark) => {
                    self.text(t, mark);
                    false
                }
                Event::End(mark) => {
                    self.end(mark, &reader);
                    false
                }
                Event::Eof => true,
            };
            if !self.unlocated.is_empty() {
                self.locate(&reader);
            }
            if done {
                self.finish();
                break;
            }
            reader.skip_blank_text(self.blank_text_ignorable());
        }
        self.report
    }

    /// Give what the last event reported its line and column, while the reader can still tell them
    /// (a stream keeps only the current event and the open elements).
    fn locate<S: Source>(&mut self, reader: &XmlReader<S>) {
        for (what, mark) in self.unlocated.drain(..) {
            let p = reader.position(mark);
            match what {
                Located::Violation(i) => {
                    let v = &mut self.report.violations[i];
                    (v.line, v.column) = (p.line, p.column);
                }
                Located::IdRef(i) => self.idrefs[i].2 = (p.line, p.column),
            }
        }
    }

    /// Whether white space alone in the current element can matter: not in element-only or empty
    /// content (it is ignorable there), nor in a skipped element.
    fn blank_text_ignorable(&self) -> bool {
        let Some(f) = self.stack.last() else {
            return true;
        };
        f.mode == Mode::Skip
            || match self.schema.complex(f.type_).map(|c| &c.content) {
                Some(ContentType::Elements(e)) => !e.mixed,
                Some(ContentType::Empty) => true,
                _ => false,
            }
    }

    fn path(&self) -> String {
        let mut p = String::new();
        for f in &self.stack {
            p.push('/');
            p.push_str(&self.names[f.name.clone()]);
        }
        if p.is_empty() {
            p.push('/');
        }
        p
    }

    fn violation(&mut self, pos: Mark, rule: &'static str, message: String, value: Option<String>) {
        let path = self.path();
        self.violation_at(path, pos, rule, message, value);
    }

    fn violation_at(
        &mut self,
        path: String,
        pos: Mark,
        rule: &'static str,
        message: String,
        value: Option<String>,
    ) {
        if self.report.violations.len() < self.options.max_errors {
            let i = self.report.violations.len();
            self.unlocated.push((Located::Violation(i), pos));
            self.report.violations.push(Violation {
                path,
                line: 0,
                column: 0,
                rule,
                message,
                value,
            });
        }
    }

    /// The value as it may appear in a report: masked when it, its type or any element around it is
    /// named like personal data (a `Series` under `Passport`, an `Apartment` under `Address`).
    fn masked(&self, names: &[&str], value: &str) -> Option<String> {
        let shown: String = value.chars().take(200).collect();
        let mut all: Vec<&str> = names.to_vec();
        all.extend(self.stack.iter().map(|f| &self.names[f.local..f.name.end]));
        Some(mask::mask_if_personal(&all, &shown))
    }

    fn start<S: Source>(&mut self, tag: StartTag<'_>, reader: &XmlReader<S>) {
        let name = || match tag.prefix {
            Some(p) => format!("{p}:{}", tag.local),
            None => tag.local.to_owned(),
        };
        let name_ref = NameRef {
            ns: tag.ns,
            local: tag.local,
        };
        let pos = tag.mark;
        let resolve = |p: &str| reader.resolve_prefix(p).map(str::to_owned);

        // 1. Which declaration applies: from the parent's content model, or a global one at the root.
        let mut decl: Option<ElemId> = None;
        let mut mode = Mode::Strict;
        let mut lax = false;
        let schema = self.schema;
        match self.stack.last_mut() {
            None => match self.schema.global_elements.get(&name_ref.owned()) {
                Some(&e) => decl = Some(e),
                None => lax = true,
            },
            Some(parent) => {
                parent.had_child = true;
                if parent.mode == Mode::Skip {
                    mode = Mode::Skip;
                } else if parent.nil {
                    mode = Mode::Skip;
                    let msg = "an element with xsi:nil=\"true\" must be empty".to_owned();
                    self.violation(pos, "cvc-elt.3.2.1", msg, None);
                } else {
                    match schema.complex(parent.type_).map(|c| &c.content) {
                        _ if parent.content_failed => mode = Mode::Skip,
                        Some(ContentType::Elements(content)) => {
                            let state = parent.state.get_or_insert_with(|| content.model.start());
                            let matched = content.model.step(state, &|leaf| {
                                leaf_matches(schema, &content.leaves[leaf], name_ref)
                            });
                            match matched {
                                Ok(leaf) => match &content.leaves[leaf] {
                                    LeafTerm::Element(e) => {
                                        decl = Some(self.actual_decl(*e, name_ref))
                                    }
                                    LeafTerm::Wildcard(w) => match w.process {
                                        ProcessContents::Skip => mode = Mode::Skip,
                                        ProcessContents::Lax => {
                                            match self.schema.global_elements.get(&name_ref.owned())
                                            {
                                                Some(&e) => decl = Some(e),
                                                None => lax = true,
                                            }
                                        }
                                        ProcessContents::Strict => {
                                            match self.schema.global_elements.get(&name_ref.owned())
                                            {
                                                Some(&e) => decl = Some(e),
                                                None if has_xsi_type(&tag) => lax = true,
                                                None => {
                                                    mode = Mode::Skip;
                                                    self.violation(pos, "cvc-complex-type.2.4.c", format!(
                                                    "no global declaration for '{}' matched by a strict wildcard", tag.local), None);
                                                }
                                            }
                                        }
                                    },
                                },
                                Err(()) => {
                                    parent.content_failed = true;
                                    let expected = self.expected_names(
                                        content,
                                        state_clone(&self.stack),
                                        Some(name_ref),
                                    );
                                    mode = Mode::Skip;
                                    let path = format!("{}/{}", self.path(), name());
                                    self.violation_at(
                                        path,
                                        pos,
                                        "cvc-complex-type.2.4",
                                        format!(
                                            "element '{}' is not allowed here; expected {}",
                                            name(),
                                            expected
                                        ),
                                        None,
                                    );
                                }
                            }
                        }
                        Some(ContentType::Simple(_)) | None => {
                            mode = Mode::Skip;
                            let path = format!("{}/{}", self.path(), name());
                            self.violation_at(path, pos, "cvc-complex-type.2.2", format!(
                                "element '{}' is not allowed: the parent's type has simple content", name()), None);
                        }
                        Some(ContentType::Empty) => {
                            mode = Mode::Skip;
                            let path = format!("{}/{}", self.path(), name());
                            self.violation_at(path, pos, "cvc-complex-type.2.1", format!(
                                "element '{}' is not allowed: the parent's type has empty content", name()), None);
                        }
                    }
                }
            }
        }

        // An undeclared root (without xsi:type to give it a type) is reported and skipped.
        if mode == Mode::Strict && self.stack.is_empty() && decl.is_none() && !has_xsi_type(&tag) {
            let path = format!("/{}", name());
            let msg = format!("no declaration for the root element '{}'", tag.local);
            self.violation_at(path, pos, "cvc-elt.1", msg, None);
            mode = Mode::Skip;
        }
        let name_start = self.names.len();
        if let Some(p) = tag.prefix {
            self.names.push_str(p);
            self.names.push(':');
        }
        let local = self.names.len();
        self.names.push_str(tag.local);
        let frame = Frame {
            name: name_start..self.names.len(),
            local,
            elem: decl,
            type_: self.schema.any_type,
            mode,
            state: None,
            text: self.texts.len(),
            nil: false,
            had_child: false,
            text_error: false,
            content_failed: false,
            pos,
        };
        if mode == Mode::Skip {
            self.stack.push(frame);
            if let Some(t) = self.idc.as_mut() {
                let line = reader.position(pos).line;
                t.start_element(self.schema, None, None, &tag, line, &resolve);
            }
            return;
        }

        // 2. The type: the declaration's, or xsi:type's.
        let mut type_ = decl
            .map(|e| self.schema.elements[e].type_)
            .unwrap_or(self.schema.any_type);
        self.stack.push(frame);
        if let Some(e) = decl
            && self.schema.elements[e].abstract_
        {
            self.violation(
                pos,
                "cvc-elt.2",
                format!("element '{}' is abstract", tag.local),
                None,
            );
        }
        for a in tag.attributes().filter(|a| a.ns == Some(XSI_NS)) {
            match a.local {
                "type" => match self.xsi_type(a.value, &resolve) {
                    Ok(t) => {
                        let blocked = decl.map(|e| self.block_for(e)).unwrap_or_default();
                        if self.schema.derives_from(t, type_, blocked) || (decl.is_none() && lax) {
                            type_ = t;
                        } else {
                            self.violation(pos, "cvc-elt.4.3", format!(
                                "xsi:type '{}' is not validly derived from '{}' (or the derivation is blocked)",
                                a.value.trim(), self.schema.type_name(type_)), None);
                        }
                    }
                    Err(m) => self.violation(pos, "cvc-elt.4.1", m, Some(a.value.to_owned())),
                },
                "nil" => {
                    let v = a.value.trim();
                    let nil = v == "true" || v == "1";
                    if !matches!(v, "true" | "false" | "1" | "0") {
                        self.violation(
                            pos,
                            "cvc-datatype-valid",
                            "xsi:nil must be a boolean".into(),
                            Some(v.to_owned()),
                        );
                    } else if !decl.is_some_and(|e| self.schema.elements[e].nillable) {
                        if decl.is_some() {
                            self.violation(
                                pos,
                                "cvc-elt.3.1",
                                format!("element '{}' is not nillable", tag.local),
                                None,
                            );
                        }
                    } else if nil {
                        if decl
                            .and_then(|e| self.schema.elements[e].value_constraint.as_ref())
                            .is_some_and(|v| v.kind == ValueConstraintKind::Fixed)
                        {
                            self.violation(
                                pos,
                                "cvc-elt.3.2.2",
                                "an element with a fixed value cannot be nil".into(),
                                None,
                            );
                        }
                        if let Some(f) = self.stack.last_mut() {
                            f.nil = true;
                        }
                    }
                }
                "schemaLocation" | "noNamespaceSchemaLocation" => {}
                other => self.violation(
                    pos,
                    "cvc-complex-type.3.2.2",
                    format!("attribute 'xsi:{other}' is not allowed"),
                    None,
                ),
            }
        }
        if let Some(ct) = self.schema.complex(type_)
            && ct.abstract_
        {
            self.violation(
                pos,
                "cvc-type.2",
                format!(
                    "type '{}' is abstract; use xsi:type with a concrete type",
                    self.schema.type_name(type_)
                ),
                None,
            );
        }
        if let Some(f) = self.stack.last_mut() {
            f.type_ = type_;
        }

        // 3. Attributes.
        self.attributes(&tag, type_, &resolve);
        if let Some(t) = self.idc.as_mut() {
            let line = reader.position(pos).line;
            t.start_element(self.schema, decl, Some(type_), &tag, line, &resolve);
        }
    }

    /// Blocking for xsi:type and substitution: the declaration's block plus its type's (§3.3.4 cvc-elt.4.3).
    fn block_for(&self, e: ElemId) -> Derivations {
        let d = &self.schema.elements[e];
        let mut b = d.block;
        if let Some(ct) = self.schema.complex(d.type_) {
            b.extension |= ct.block.extension;
            b.restriction |= ct.block.restriction;
        }
        b
    }

    /// The declaration an element named `qn` gets when it matched the leaf for `e`: `e` itself or a
    /// member of its substitution group.
    fn actual_decl(&self, e: ElemId, qn: NameRef<'_>) -> ElemId {
        // Without a substitution group the leaf's own declaration is the only one that could match.
        if self.schema.substitutes[e].is_empty() || qn.is(&self.schema.elements[e].name) {
            return e;
        }
        self.schema.substitutes[e]
            .iter()
            .copied()
            .find(|s| qn.is(&self.schema.elements[*s].name) && self.schema.can_substitute(e, *s))
            .unwrap_or(e)
    }

    /// What the content model would accept next, for messages. `got` is the element that was refused:
    /// an expected name with the same local part is shown with its namespace, since then the
    /// namespace is the mistake.
    fn expected_names(
        &self,
        content: &ElementContent,
        state: Option<MatchState>,
        got: Option<NameRef<'_>>,
    ) -> String {
        let state = state.unwrap_or_else(|| content.model.start());
        let mut names: Vec<String> = content
            .model
            .expected(&state)
            .into_iter()
            .map(|l| match &content.leaves[l] {
                LeafTerm::Element(e) => {
                    let n = &self.schema.elements[*e].name;
                    match got {
                        Some(g) if g.local == n.local && g.ns != n.ns.as_deref() => {
                            format!(
                                "'{}' in namespace '{}'",
                                n.local,
                                n.ns.as_deref().unwrap_or("")
                            )
                        }
                        _ => format!("'{}'", n.local),
                    }
                }
                LeafTerm::Wildcard(_) => "any element (wildcard)".to_owned(),
            })
            .collect();
        names.dedup();
        if names.is_empty() {
            return "no more elements".into();
        }
        if names.len() > 8 {
            names.truncate(8);
            names.push("...".into());
        }
        format!("one of {}", names.join(", "))
    }

    fn xsi_type(
        &self,
        value: &str,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TypeId, String> {
        let v = value.trim();
        let (p, l) = crate::xml::reader::split_qname(v);
        let ns = match p {
            Some(p) => {
                Some(resolve(p).ok_or_else(|| format!("xsi:type prefix '{p}' is not declared"))?)
            }
            None => resolve(""),
        };
        let qn = QName {
            ns,
            local: l.to_owned(),
        };
        self.schema
            .global_types
            .get(&qn)
            .copied()
            .ok_or_else(|| format!("xsi:type names '{v}', which is not a type of this schema"))
    }

    fn attributes(
        &mut self,
        tag: &StartTag<'_>,
        type_: TypeId,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) {
        let pos = tag.mark;
        let schema = self.schema;
        let Some(ct) = schema.complex(type_) else {
            for a in tag.attributes().filter(|a| a.ns != Some(XSI_NS)) {
                self.violation(
                    pos,
                    "cvc-type.3.1.1",
                    format!(
                        "attribute '{}' is not allowed on an element of simple type",
                        a.local
                    ),
                    None,
                );
            }
            return;
        };
        let mut id_attributes = 0usize;
        // Which of the type's first 64 attribute uses were present, so the check for missing ones
        // below does not search the tag again for each use.
        let mut present = 0u64;
        for a in tag.attributes().filter(|a| a.ns != Some(XSI_NS)) {
            let an = NameRef {
                ns: a.ns,
                local: a.local,
            };
            let found = ct
                .attributes
                .iter()
                .position(|u| an.is(&schema.attributes[u.decl].name));
            if let Some(i) = found.filter(|&i| i < 64) {
                present |= 1 << i;
            }
            let use_ = found.map(|i| &ct.attributes[i]);
            let (decl, vc) = match use_ {
                Some(u) => (Some(u.decl), u.value_constraint.clone()),
                None => match &ct.attribute_wildcard {
                    Some(w) if w.ns.allows(an.ns) => match w.process {
                        ProcessContents::Skip => (None, None),
                        ProcessContents::Lax => match schema.global_attributes.get(&an.owned()) {
                            Some(&d) => (Some(d), schema.attributes[d].value_constraint.clone()),
                            None => (None, None),
                        },
                        ProcessContents::Strict => {
                            match schema.global_attributes.get(&an.owned()) {
                                Some(&d) => {
                                    (Some(d), schema.attributes[d].value_constraint.clone())
                                }
                                None => {
                                    self.violation(pos, "cvc-complex-type.3.2.2", format!(
                                    "attribute '{}' has no global declaration (strict wildcard)", a.local), None);
                                    continue;
                                }
                            }
                        }
                    },
                    _ => {
                        self.violation(
                            pos,
                            "cvc-complex-type.3.2.2",
                            format!("attribute '{}' is not allowed on this element", a.local),
                            None,
                        );
                        continue;
                    }
                },
            };
            let Some(d) = decl else { continue };
            let at = schema.attributes[d].type_;
            let fixed = vc.filter(|v| v.kind == ValueConstraintKind::Fixed);
            match simple_value(schema, at, a.value, resolve, fixed.is_some()) {
                Ok(None) => {}
                Ok(Some(v)) => {
                    if let Some(vc) = fixed
                        && !vc.value.as_ref().is_some_and(|f| f.same(&v))
                    {
                        let shown = self.masked(&[a.local, &schema.type_name(at)], a.value);
                        self.violation_at(
                            format!("{}/@{}", self.path(), a.local),
                            pos,
                            "cvc-au",
                            format!(
                                "attribute '{}' must have its fixed value '{}'",
                                a.local, vc.lexical
                            ),
                            shown,
                        );
                    }
                    if schema.id_kind(at) == IdKind::Id {
                        id_attributes += 1;
                        if id_attributes == 2 {
                            self.violation(
                                pos,
                                "cvc-complex-type.5",
                                "an element can have at most one attribute of type ID".into(),
                                None,
                            );
                        }
                    }
                    self.note_ids(at, &v, pos);
                }
                Err(e) => {
                    let shown = self.masked(&[a.local, &schema.type_name(at)], a.value);
                    self.violation_at(
                        format!("{}/@{}", self.path(), a.local),
                        pos,
                        e.rule,
                        format!("attribute '{}': expected {}", a.local, e.expected),
                        shown,
                    );
                }
            }
        }
        for (i, u) in ct.attributes.iter().enumerate() {
            let n = &schema.attributes[u.decl].name;
            let here = match i {
                0..64 => present & (1 << i) != 0,
                _ => tag
                    .attributes()
                    .any(|a| a.ns == n.ns.as_deref() && a.local == n.local),
            };
            if here {
                continue;
            }
            if u.required {
                self.violation(
                    pos,
                    "cvc-complex-type.4",
                    format!("required attribute '{}' is missing", n.local),
                    None,
                );
            } else if let Some(v) = u.value_constraint.as_ref().and_then(|vc| vc.value.as_ref()) {
                // A defaulted attribute is present in the infoset: its IDREFs must resolve too.
                self.note_ids(schema.attributes[u.decl].type_, v, pos);
            }
        }
    }

    fn note_ids(&mut self, t: TypeId, v: &Value, pos: Mark) {
        match self.schema.id_kind(t) {
            IdKind::Id => {
                if let Value::String(s) = v
                    && !self.ids.insert(s.clone())
                {
                    let shown = self.masked(&["id"], s);
                    self.violation(
                        pos,
                        "cvc-id.2",
                        "this ID is already used in the document".into(),
                        shown,
                    );
                }
            }
            IdKind::IdRef => {
                if let Value::String(s) = v {
                    self.note_idref(s, pos);
                }
            }
            IdKind::IdRefs => {
                if let Value::List(items) = v {
                    for i in items {
                        if let Value::String(s) = i {
                            self.note_idref(s, pos);
                        }
                    }
                }
            }
            IdKind::None => {}
        }
    }

    fn note_idref(&mut self, s: &str, pos: Mark) {
        self.unlocated
            .push((Located::IdRef(self.idrefs.len()), pos));
        self.idrefs.push((s.to_owned(), self.path(), (0, 0)));
    }

    /// Take in character data.
    fn text(&mut self, t: &str, pos: Mark) {
        let Some(f) = self.stack.last_mut() else {
            return;
        };
        if f.mode == Mode::Skip {
            return;
        }
        let ws = t.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        if f.nil {
            if !ws {
                f.text_error = true;
                self.violation(
                    pos,
                    "cvc-elt.3.2.1",
                    "an element with xsi:nil=\"true\" must be empty".into(),
                    None,
                );
            }
            return;
        }
        match self.schema.types.get(f.type_) {
            Some(TypeDef::Simple(_)) => self.texts.push_str(t),
            Some(TypeDef::Complex(ct)) => match &ct.content {
                ContentType::Simple(_) => self.texts.push_str(t),
                ContentType::Elements(e) if e.mixed => {
                    // Mixed text matters only against a fixed value; otherwise it is not kept, so a
                    // long mixed element costs no memory. Kept text is bounded like any text.
                    let fixed = f
                        .elem
                        .and_then(|d| self.schema.elements[d].value_constraint.as_ref())
                        .is_some_and(|v| v.kind == ValueConstraintKind::Fixed);
                    if !fixed || f.text_error {
                        return;
                    }
                    if self.texts.len() - f.text + t.len() > self.options.limits.max_text_bytes {
                        f.text_error = true;
                        self.texts.truncate(f.text);
                        let limit = self.options.limits.max_text_bytes;
                        self.violation(pos, "cvc-elt.5.2.2.2.1", format!(
                            "the mixed content is longer than the text limit ({limit} bytes), so it cannot equal the fixed value"), None);
                        return;
                    }
                    self.texts.push_str(t);
                }
                ContentType::Elements(_) | ContentType::Empty => {
                    if !ws && !f.text_error {
                        f.text_error = true;
                        let rule = if matches!(ct.content, ContentType::Empty) {
                            "cvc-complex-type.2.1"
                        } else {
                            "cvc-complex-type.2.3"
                        };
                        self.violation(
                            pos,
                            rule,
                            "text is not allowed here (element-only content)".into(),
                            None,
                        );
                    }
                }
            },
            None => {}
        }
    }

    fn end<S: Source>(&mut self, pos: Mark, reader: &XmlReader<S>) {
        let resolve = |p: &str| reader.resolve_prefix(p).map(str::to_owned);
        let Some(f) = self.stack.last_mut() else {
            return;
        };
        if f.mode == Mode::Skip {
            if let Some(t) = self.idc.as_mut() {
                t.end_element(self.schema, None);
            }
            self.pop();
            return;
        }
        // Taken out while reports are made (they borrow `self`), put back before the frame goes.
        let texts = std::mem::take(&mut self.texts);
        let text = &texts[f.text..];
        let (type_, nil, elem, state, had_child, fpos, content_failed) = (
            f.type_,
            f.nil,
            f.elem,
            f.state.take(),
            f.had_child,
            f.pos,
            f.content_failed,
        );
        let schema = self.schema;
        let mut typed_value: Option<Value> = None;
        let vc = elem.and_then(|e| schema.elements[e].value_constraint.as_ref());
        if !nil {
            let simple = match &schema.types[type_] {
                TypeDef::Simple(_) => Some(type_),
                TypeDef::Complex(ct) => match &ct.content {
                    ContentType::Simple(s) => Some(*s),
                    ContentType::Elements(content) => {
                        let state = state.unwrap_or_else(|| content.model.start());
                        if !content_failed && !content.model.can_finish(&state) {
                            let expected = self.expected_names(content, Some(state), None);
                            self.violation(
                                fpos,
                                "cvc-complex-type.2.4.b",
                                format!(
                                    "the content of '{}' is incomplete; expected {expected}",
                                    self.current_name()
                                ),
                                None,
                            );
                        }
                        if let Some(vc) =
                            vc.as_ref().filter(|v| v.kind == ValueConstraintKind::Fixed)
                        {
                            if had_child {
                                self.violation(fpos, "cvc-elt.5.2.2.1", format!(
                                    "an element with the fixed value '{}' cannot have child elements", vc.lexical), None);
                            } else if content.mixed && !text.is_empty() && text != vc.lexical {
                                let shown = self.masked(&[&self.current_local()], text);
                                self.violation(
                                    fpos,
                                    "cvc-elt.5.2.2.2.1",
                                    format!("the content must be the fixed value '{}'", vc.lexical),
                                    shown,
                                );
                            }
                        }
                        None
                    }
                    ContentType::Empty => None,
                },
            };
            if let Some(st) = simple {
                let use_default = text.is_empty() && !had_child && vc.is_some();
                let text = match vc {
                    Some(v) if use_default => v.lexical.as_str(),
                    _ => text,
                };
                let fixed = vc.filter(|v| v.kind == ValueConstraintKind::Fixed);
                let keep = fixed.is_some() || self.idc.is_some();
                match simple_value(schema, st, text, &resolve, keep) {
                    Ok(None) => {}
                    Ok(Some(v)) => {
                        if let Some(vc) = fixed
                            && !vc.value.as_ref().is_some_and(|x| x.same(&v))
                        {
                            let shown =
                                self.masked(&[&self.current_local(), &schema.type_name(st)], text);
                            self.violation(
                                fpos,
                                "cvc-elt.5.2.2.2.2",
                                format!("the value must be the fixed value '{}'", vc.lexical),
                                shown,
                            );
                        }
                        self.note_ids(st, &v, pos);
                        typed_value = Some(v);
                    }
                    Err(e) => {
                        let shown =
                            self.masked(&[&self.current_local(), &schema.type_name(st)], text);
                        self.violation(
                            fpos,
                            e.rule,
                            format!("'{}': expected {}", self.current_name(), e.expected),
                            shown,
                        );
                    }
                }
            }
        }
        let errors = match self.idc.as_mut() {
            Some(t) => t.end_element(schema, typed_value.as_ref()),
            None => Vec::new(),
        };
        for (rule, msg) in errors {
            self.violation(pos, rule, msg, None);
        }
        self.texts = texts;
        self.pop();
    }

    /// The innermost element ends: its frame, name and text go.
    fn pop(&mut self) {
        // Read in place and truncated: a frame is large, and moving it out only to drop it costs.
        if let Some(f) = self.stack.last() {
            self.names.truncate(f.name.start);
            self.texts.truncate(f.text);
            self.stack.truncate(self.stack.len() - 1);
        }
    }

    /// The innermost element's name as written (for messages only).
    fn current_name(&self) -> String {
        self.stack
            .last()
            .map(|f| self.names[f.name.clone()].to_owned())
            .unwrap_or_default()
    }

    /// The innermost element's local name (for masking decisions in messages).
    fn current_local(&self) -> String {
        self.stack
            .last()
            .map(|f| self.names[f.local..f.name.end].to_owned())
            .unwrap_or_default()
    }

    fn finish(&mut self) {
        let refs = std::mem::take(&mut self.idrefs);
        for (r, path, (line, column)) in refs {
            if !self.ids.contains(&r) && self.report.violations.len() < self.options.max_errors {
                let shown = mask::mask_if_personal(&path.split(['/', ':']).collect::<Vec<_>>(), &r);
                self.report.violations.push(Violation {
                    path,
                    line,
                    column,
                    rule: "cvc-id.1",
                    message: "the IDREF does not match any ID in the document".into(),
                    value: Some(shown),
                });
            }
        }
    }
}

fn state_clone(stack: &[Frame]) -> Option<MatchState> {
    stack.last().and_then(|f| f.state.clone())
}

fn has_xsi_type(tag: &StartTag<'_>) -> bool {
    tag.attribute(Some(XSI_NS), "type").is_some()
}

/// What a position looked up after an event belongs to.
enum Located {
    /// A violation, by index in the report.
    Violation(usize),
    /// An IDREF, by index in `Validator::idrefs`.
    IdRef(usize),
}

/// An element or attribute name as read, borrowed from the tag: matching against declarations needs
/// no copy; a [`QName`] is built only to look up a global declaration.
#[derive(Clone, Copy)]
struct NameRef<'a> {
    ns: Option<&'a str>,
    local: &'a str,
}

impl NameRef<'_> {
    fn is(self, name: &QName) -> bool {
        self.local == name.local && self.ns == name.ns.as_deref()
    }

    fn owned(self) -> QName {
        QName::new(self.ns, self.local)
    }
}

/// Check `text` against simple type `t`. Its value is built only when `keep` says the caller needs it
/// (a fixed value to compare, identity constraints to feed) or the type is an ID kind (IDs are
/// recorded); otherwise [`Schema::check_simple`] gives the same verdict without building it.
fn simple_value(
    schema: &Schema,
    t: TypeId,
    text: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
    keep: bool,
) -> Result<Option<Value>, SimpleTypeError> {
    if keep || schema.id_kind(t) != IdKind::None {
        schema.validate_simple(t, text, resolve).map(Some)
    } else {
        schema.check_simple(t, text, resolve).map(|()| None)
    }
}

/// Whether an element named `qn` matches a content-model leaf: the declaration's own name, a member
/// of its substitution group that is not blocked, or a namespace the wildcard allows.
fn leaf_matches(schema: &Schema, leaf: &LeafTerm, qn: NameRef<'_>) -> bool {
    match leaf {
        LeafTerm::Wildcard(w) => w.ns.allows(qn.ns),
        LeafTerm::Element(e) => {
            qn.is(&schema.elements[*e].name)
                || schema.substitutes[*e]
                    .iter()
                    .any(|s| qn.is(&schema.elements[*s].name) && schema.can_substitute(*e, *s))
        }
    }
}
