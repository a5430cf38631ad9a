//! XML-aware comparison of an expected and an actual document: what `reggate replay` uses to judge a
//! registry's answer against a recorded one.
//!
//! # Similar (the default)
//! Two documents are *similar* in XMLUnit's sense when they carry the same information, however it
//! is spelled. What does not count:
//! - namespace prefixes and where namespaces are declared (elements and attributes are named by
//!   namespace URI and local name; `xmlns` attributes themselves are not compared);
//! - the order of attributes (they are compared as a set keyed by namespace and local name);
//! - comments, processing instructions and the XML declaration;
//! - the character encoding: both documents are read as UTF-8 by [`crate::xml::encoding`], so a
//!   windows-1251 answer is similar to its UTF-8 recording;
//! - CDATA against plain text, and entity or character references against the characters they stand
//!   for (`&#1057;` is `С`): everything is decoded by [`crate::xml::reader`] before comparing;
//! - white space at the edges of text. The text of an element (all of its own character data,
//!   concatenated) is compared with leading and trailing XML white space trimmed, as XMLUnit's
//!   `ignoreWhitespace` does; so indentation between elements (white space only) is no text at all,
//!   and `<a> x </a>` is similar to `<a>x</a>`. White space *inside* a value counts (`Гусейн оглы` is
//!   not `Гусейн  оглы`). Messages in the government style have no mixed content; an element that
//!   has both text and children is compared on its concatenated, trimmed text.
//!
//! What counts: element names (URI and local name), the text of every element, attribute values
//! (as the reader normalises them, not trimmed), which attributes are present, and the children of
//! every element — how many, which, and in what order.
//!
//! Children are paired by name: each expected child with the first unpaired actual child of the same
//! URI and local name, then those left over with an actual child of the same local name in another
//! namespace (a [`DifferenceKind::Namespace`], reported once per pair of URIs: a namespace version
//! bump is one difference, not one per element). Expected children left unpaired are
//! [`DifferenceKind::MissingElement`]s, actual ones [`DifferenceKind::ExtraElement`]s. Paired children
//! off the longest run that keeps its order are [`DifferenceKind::ChildOrder`]s; the pairs are then
//! compared in turn. The walk is iterative (an explicit stack of pairs) and the reader refuses
//! documents nested deeper than [`Limits::max_depth`] (256), so no input makes it recurse.
//!
//! # Strict
//! [`Mode::Strict`] compares exactly: the similar comparison first (its differences are reported as
//! above), and when it finds none, the two documents event by event as quick-xml reads them — the
//! XML declaration, comments, processing instructions, prefixes and namespace declarations, attribute
//! order and quoting, white space between elements, CDATA against text, references as written,
//! `<a/>` against `<a></a>`. Markup that differs there can no longer be paired, so only the first
//! such place is reported, as one [`DifferenceKind::Markup`].
//!
//! # Paths
//! A difference is located by the path `reggate validate` prints for a violation
//! ([`crate::xml::validate::Violation::path`]): one `/prefix:local` step per element from the root,
//! prefixes as written in the EXPECTED document (an element only the actual document has takes the
//! expected document's prefix for its namespace, or its own when the expected document has none),
//! no positions, an attribute as a final `/@local`. For example
//! `/soap:Envelope/soap:Body/inn:FindInnResponse/inn:Found/inn:Inn` or
//! `/soap:Envelope/soap:Body/lab:RegisterAssignmentRequest/@applicationNumber`. Paths to ignore
//! ([`IgnorePath`]) are written the same way, with `*` for any one element step and `@*` for any
//! attribute; a difference at or below an ignored path is not reported. Without positions, a path
//! names every sibling of that name at once: ignoring `…/lab:Assignment/lab:Id` ignores the id of
//! every assignment.
//!
//! # Personal data
//! Values in a [`Difference`] are masked with [`crate::xml::mask`] when they are personal, judged by
//! the attribute's name, the element's and those of the elements around it — except the SOAP envelope,
//! body and payload root, which are named after the operation (`FindInnResponse`), not what they hold.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use quick_xml::events::Event as RawEvent;

use crate::contract::SOAP_NS;
use crate::xml::encoding;
use crate::xml::mask;
use crate::xml::reader::{Event, Limits, Position, XmlError, XmlErrorKind, XmlReader};

/// How exactly two documents must agree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Similar in XMLUnit's sense (see the module docs).
    #[default]
    Similar,
    /// Similar, and then the same markup event by event (see the module docs).
    Strict,
}

/// What a comparison may do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Similar or strict.
    pub mode: Mode,
    /// Differences at or below these paths are not reported.
    pub ignore: Vec<IgnorePath>,
    /// Reader limits for both documents. Default [`Limits::default`]: nesting at most 256 deep, which
    /// also bounds the comparison's stack.
    pub limits: Limits,
    /// Differences collected before the comparison stops. Default 200: a wholly different answer says
    /// so in the first few, and a hostile one cannot make the report huge.
    pub max_differences: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Similar,
            ignore: Vec::new(),
            limits: Limits::default(),
            max_differences: 200,
        }
    }
}

/// What differs at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The root elements have different local names; nothing below them is compared.
    ElementName,
    /// An element has the expected local name in another namespace (expected and found are URIs).
    Namespace,
    /// An element's text (trimmed) differs.
    TextValue,
    /// An attribute's value differs.
    AttributeValue,
    /// An expected attribute is absent.
    MissingAttribute,
    /// An attribute the expected document does not have.
    ExtraAttribute,
    /// An expected element is absent.
    MissingElement,
    /// An element the expected document does not have.
    ExtraElement,
    /// An element is present but among its siblings in another place (expected and found are
    /// 1-based positions among the element children).
    ChildOrder,
    /// Strict mode: the first place where the markup differs (expected and found are the pieces of
    /// markup as written, personal values masked).
    Markup,
}

impl DifferenceKind {
    /// A few words for reports.
    pub fn describe(self) -> &'static str {
        match self {
            DifferenceKind::ElementName => "element name differs",
            DifferenceKind::Namespace => "namespace differs",
            DifferenceKind::TextValue => "text differs",
            DifferenceKind::AttributeValue => "attribute value differs",
            DifferenceKind::MissingAttribute => "attribute missing",
            DifferenceKind::ExtraAttribute => "unexpected attribute",
            DifferenceKind::MissingElement => "element missing",
            DifferenceKind::ExtraElement => "unexpected element",
            DifferenceKind::ChildOrder => "element out of order",
            DifferenceKind::Markup => "markup differs",
        }
    }
}

impl fmt::Display for DifferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One way the actual document differs from the expected one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// Where, in the validator's path format with the expected document's prefixes (module docs).
    pub path: String,
    /// What differs.
    pub kind: DifferenceKind,
    /// What the expected document has there, masked if personal; `None` when it has nothing.
    pub expected: Option<String>,
    /// What the actual document has there, masked if personal; `None` when it has nothing.
    pub found: Option<String>,
    /// Where in the actual document (the element, or for a missing node its parent).
    pub found_at: Option<Position>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)?;
        if let Some(at) = self.found_at {
            write!(f, " (actual {at})")?;
        }
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        write!(
            f,
            "\n    expected: {}\n    found:    {}",
            show(&self.expected),
            show(&self.found)
        )
    }
}

/// The outcome of one comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Every difference not ignored, in the expected document's order.
    pub differences: Vec<Difference>,
    /// The comparison stopped at [`Options::max_differences`].
    pub truncated: bool,
}

impl Comparison {
    /// No differences: the documents are similar (or, in strict mode, the same).
    pub fn is_match(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.differences.len() {
            0 => return f.write_str("no differences"),
            1 => writeln!(f, "1 difference:")?,
            n => writeln!(f, "{n} differences:")?,
        }
        for d in &self.differences {
            writeln!(f, "  {d}")?;
        }
        if self.truncated {
            writeln!(f, "  … and more (stopped at the limit)")?;
        }
        Ok(())
    }
}

/// Which of the two documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The expected (recorded) document.
    Expected,
    /// The actual (received) document.
    Actual,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Expected => "expected document",
            Side::Actual => "actual document",
        })
    }
}

/// A document that could not be read (not well-formed, or past a limit): which one, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompareError {
    /// The document at fault.
    pub side: Side,
    /// What the reader found, with its line and column.
    pub error: XmlError,
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.side, self.error)
    }
}

impl std::error::Error for CompareError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// One step of an [`IgnorePath`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// `*`: any element (or, after `@`, any attribute).
    Any,
    /// A name as the path prints it: `prefix:local`, or `local`.
    Name(String),
}

impl Step {
    fn matches(&self, name: &str) -> bool {
        match self {
            Step::Any => true,
            Step::Name(n) => n == name,
        }
    }
}

/// A path not to compare, written as the validator prints paths (module docs): `/a:Root/a:Child`
/// covers that element, its attributes and everything inside it; `/a:Root/a:Child/@id` covers one
/// attribute. `*` is any one element step, `@*` any attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnorePath {
    text: String,
    elements: Vec<Step>,
    attribute: Option<Step>,
}

/// Why a path to ignore was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "path '{}': {}", self.path, self.reason)
    }
}

impl std::error::Error for PathError {}

impl FromStr for IgnorePath {
    type Err = PathError;

    fn from_str(text: &str) -> Result<IgnorePath, PathError> {
        let refuse = |reason| {
            Err(PathError {
                path: text.to_string(),
                reason,
            })
        };
        let Some(rest) = text.strip_prefix('/') else {
            return refuse("must start with '/' (paths run from the root element)");
        };
        if rest.is_empty() {
            return refuse("names no element");
        }
        let steps: Vec<&str> = rest.split('/').collect();
        let mut elements = Vec::new();
        let mut attribute = None;
        for (i, step) in steps.iter().enumerate() {
            let last = i + 1 == steps.len();
            if step.is_empty() {
                return refuse("has an empty step ('//' is not supported)");
            }
            if step.contains('[') || step.contains(']') {
                return refuse("has a position; paths name elements without positions");
            }
            if step
                .chars()
                .any(|c| c.is_whitespace() || "\"'=()|".contains(c))
            {
                return refuse("is not a name path");
            }
            if let Some(name) = step.strip_prefix('@') {
                if !last {
                    return refuse("has an attribute before its last step");
                }
                if name.is_empty() || name.contains('@') {
                    return refuse("has an empty attribute name");
                }
                attribute = Some(if name == "*" {
                    Step::Any
                } else {
                    Step::Name(name.to_string())
                });
            } else if step.contains('@') || step.matches(':').count() > 1 {
                return refuse("is not a name path");
            } else if *step == "*" {
                elements.push(Step::Any);
            } else {
                elements.push(Step::Name(step.to_string()));
            }
        }
        if elements.is_empty() {
            return refuse("names no element");
        }
        Ok(IgnorePath {
            text: text.to_string(),
            elements,
            attribute,
        })
    }
}

impl IgnorePath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a difference at `path` (in the validator's format) is at or below this one.
    pub fn covers(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut steps: Vec<&str> = rest.split('/').collect();
        let attr = match steps.last() {
            Some(s) if s.starts_with('@') => steps.pop().map(|s| &s[1..]),
            _ => None,
        };
        match &self.attribute {
            Some(want) => {
                steps.len() == self.elements.len()
                    && attr.is_some_and(|a| want.matches(a))
                    && self.elements.iter().zip(&steps).all(|(p, s)| p.matches(s))
            }
            None => {
                steps.len() >= self.elements.len()
                    && self.elements.iter().zip(&steps).all(|(p, s)| p.matches(s))
            }
        }
    }
}

impl fmt::Display for IgnorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for IgnorePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Compare `actual` with `expected`. `Err` when either cannot be read; otherwise every difference
/// not ignored (none: a match).
pub fn compare(
    expected: &[u8],
    actual: &[u8],
    options: &Options,
) -> Result<Comparison, CompareError> {
    let exp = Tree::read(expected, &options.limits, Side::Expected)?;
    let act = Tree::read(actual, &options.limits, Side::Actual)?;
    let mut walk = Walk::new(&exp, &act, options);
    walk.run();
    let mut comparison = walk.finish();
    if options.mode == Mode::Strict && comparison.is_match() {
        let e = markup(expected, options, Side::Expected)?;
        let a = markup(actual, options, Side::Actual)?;
        if let Some(d) = first_markup_difference(&e, &a) {
            comparison.differences.push(d);
        }
    }
    Ok(comparison)
}

/// One attribute as the similar comparison sees it (owned: the tree outlives the reader).
struct Attribute {
    ns: Option<String>,
    local: String,
    value: String,
}

/// One element as the similar comparison sees it.
struct Node {
    ns: Option<Arc<str>>,
    local: String,
    prefix: Option<String>,
    attributes: Vec<Attribute>,
    /// All of its own character data, concatenated (references and CDATA decoded).
    text: String,
    children: Vec<usize>,
    parent: Option<usize>,
    position: Position,
    /// The SOAP envelope, header, body or the payload root: named after the operation, left out of
    /// the names that decide masking.
    carrier: bool,
}

impl Node {
    fn qname(&self) -> String {
        qname(self.prefix.as_deref(), &self.local)
    }

    fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local == local
    }
}

fn qname(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    }
}

/// A document's elements, root first; built in one pass over the hardened reader's events.
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn read(bytes: &[u8], limits: &Limits, side: Side) -> Result<Tree, CompareError> {
        let fail = |error| CompareError { side, error };
        let text = encoding::decode(bytes).map_err(fail)?;
        let mut reader = XmlReader::from_bytes(&text, limits.clone());
        let mut nodes: Vec<Node> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        loop {
            reader.advance().map_err(fail)?;
            match reader.event() {
                Event::Start(tag) => {
                    let parent = open.last().copied();
                    let envelope = tag.ns == Some(SOAP_NS)
                        && matches!(tag.local, "Envelope" | "Header" | "Body");
                    let payload = parent.is_some_and(|p| nodes[p].is(SOAP_NS, "Body"));
                    let id = nodes.len();
                    nodes.push(Node {
                        ns: tag.ns.map(Arc::from),
                        local: tag.local.to_owned(),
                        prefix: tag.prefix.map(str::to_owned),
                        attributes: tag
                            .attributes()
                            .map(|a| Attribute {
                                ns: a.ns.map(str::to_owned),
                                local: a.local.to_owned(),
                                value: a.value.to_owned(),
                            })
                            .collect(),
                        text: String::new(),
                        children: Vec::new(),
                        parent,
                        position: reader.position(tag.mark),
                        carrier: envelope || payload,
                    });
                    if let Some(p) = parent {
                        nodes[p].children.push(id);
                    }
                    open.push(id);
                }
                Event::Text(text, _) => {
                    if let Some(&top) = open.last() {
                        nodes[top].text.push_str(text);
                    }
                }
                Event::End(_) => {
                    open.pop();
                }
                Event::Eof => break,
            }
        }
        if nodes.is_empty() {
            return Err(fail(XmlError {
                kind: XmlErrorKind::Syntax("no root element".into()),
                position: Position { line: 1, column: 1 },
            }));
        }
        Ok(Tree { nodes })
    }

    /// The path of a node, its ancestors' prefixes as written in this document.
    fn path(&self, mut id: usize) -> String {
        let mut steps = Vec::new();
        loop {
            let n = &self.nodes[id];
            steps.push(n.qname());
            match n.parent {
                Some(p) => id = p,
                None => break,
            }
        }
        let mut out = String::new();
        for s in steps.iter().rev() {
            out.push('/');
            out.push_str(s);
        }
        out
    }

    /// The names that decide whether a value at `id` is personal: its own, then its ancestors'
    /// (innermost first) other than the carriers.
    fn mask_names(&self, id: usize) -> Vec<&str> {
        let mut names = vec![self.nodes[id].local.as_str()];
        let mut at = self.nodes[id].parent;
        while let Some(p) = at {
            if !self.nodes[p].carrier {
                names.push(&self.nodes[p].local);
            }
            at = self.nodes[p].parent;
        }
        names
    }
}

/// XML white space (XML 1.0 §2.3 S), what text is trimmed of.
fn trim_xml(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// The similar comparison, one pair of elements at a time from an explicit stack.
struct Walk<'a> {
    exp: &'a Tree,
    act: &'a Tree,
    options: &'a Options,
    /// The expected document's prefix for each namespace its elements use (first seen).
    prefixes: HashMap<Option<&'a str>, Option<&'a str>>,
    /// Namespace changes already reported (expected URI, actual URI).
    namespaces: HashSet<(Option<&'a str>, Option<&'a str>)>,
    out: Vec<Difference>,
    truncated: bool,
}

impl<'a> Walk<'a> {
    fn new(exp: &'a Tree, act: &'a Tree, options: &'a Options) -> Self {
        let mut prefixes = HashMap::new();
        for n in &exp.nodes {
            prefixes
                .entry(n.ns.as_deref())
                .or_insert(n.prefix.as_deref());
        }
        Walk {
            exp,
            act,
            options,
            prefixes,
            namespaces: HashSet::new(),
            out: Vec::new(),
            truncated: false,
        }
    }

    fn finish(self) -> Comparison {
        Comparison {
            differences: self.out,
            truncated: self.truncated,
        }
    }

    fn ignored(&self, path: &str) -> bool {
        self.options.ignore.iter().any(|p| p.covers(path))
    }

    fn report(
        &mut self,
        path: String,
        kind: DifferenceKind,
        expected: Option<String>,
        found: Option<String>,
        found_at: Option<Position>,
    ) {
        if self.ignored(&path) {
            return;
        }
        if self.out.len() >= self.options.max_differences {
            self.truncated = true;
            return;
        }
        self.out.push(Difference {
            path,
            kind,
            expected,
            found,
            found_at,
        });
    }

    fn masked(&self, names: &[&str], value: &str) -> String {
        mask::mask_if_personal(names, value)
    }

    fn run(&mut self) {
        let (exp, act) = (self.exp, self.act);
        let (e, a) = (&exp.nodes[0], &act.nodes[0]);
        if e.local != a.local {
            self.report(
                exp.path(0),
                DifferenceKind::ElementName,
                Some(e.qname()),
                Some(a.qname()),
                Some(a.position),
            );
            return;
        }
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        while let Some((ei, ai)) = stack.pop() {
            if self.truncated {
                return;
            }
            let path = exp.path(ei);
            if self.ignored(&path) {
                continue;
            }
            let mut pairs = self.element(ei, ai, &path);
            pairs.reverse();
            stack.extend(pairs);
        }
    }

    /// Compare one pair of elements of the same local name; the pairs of children to compare next,
    /// in document order.
    fn element(&mut self, ei: usize, ai: usize, path: &str) -> Vec<(usize, usize)> {
        let (exp, act) = (self.exp, self.act);
        let (e, a) = (&exp.nodes[ei], &act.nodes[ai]);
        let (ens, ans) = (e.ns.as_deref(), a.ns.as_deref());
        if ens != ans && self.namespaces.insert((ens, ans)) {
            self.report(
                path.to_string(),
                DifferenceKind::Namespace,
                Some(ens.unwrap_or("(none)").to_string()),
                Some(ans.unwrap_or("(none)").to_string()),
                Some(a.position),
            );
        }
        self.attributes(ei, ai, path);
        let (et, at) = (trim_xml(&e.text), trim_xml(&a.text));
        if et != at {
            let names = exp.mask_names(ei);
            let shown = |v: &str| self.masked(&names, v);
            let (expected, found) = (Some(shown(et)), Some(shown(at)));
            self.report(
                path.to_string(),
                DifferenceKind::TextValue,
                expected,
                found,
                Some(a.position),
            );
        }
        self.children(ei, ai, path)
    }

    fn attributes(&mut self, ei: usize, ai: usize, path: &str) {
        let (exp, act) = (self.exp, self.act);
        let (e, a) = (&exp.nodes[ei], &act.nodes[ai]);
        let key = |x: &'a Attribute| (x.ns.as_deref(), x.local.as_str());
        let found: HashMap<(Option<&str>, &str), &Attribute> =
            a.attributes.iter().map(|x| (key(x), x)).collect();
        let names = exp.mask_names(ei);
        let shown = |local: &str, v: &str| {
            let mut all = vec![local];
            all.extend(&names);
            mask::mask_if_personal(&all, v)
        };
        for x in &e.attributes {
            let at = format!("{path}/@{}", x.local);
            match found.get(&key(x)) {
                None => self.report(
                    at,
                    DifferenceKind::MissingAttribute,
                    Some(shown(&x.local, &x.value)),
                    None,
                    Some(a.position),
                ),
                Some(y) if y.value != x.value => self.report(
                    at,
                    DifferenceKind::AttributeValue,
                    Some(shown(&x.local, &x.value)),
                    Some(shown(&x.local, &y.value)),
                    Some(a.position),
                ),
                Some(_) => {}
            }
        }
        let wanted: HashSet<(Option<&str>, &str)> = e.attributes.iter().map(key).collect();
        for y in &a.attributes {
            if !wanted.contains(&key(y)) {
                self.report(
                    format!("{path}/@{}", y.local),
                    DifferenceKind::ExtraAttribute,
                    None,
                    Some(shown(&y.local, &y.value)),
                    Some(a.position),
                );
            }
        }
    }

    fn children(&mut self, ei: usize, ai: usize, path: &str) -> Vec<(usize, usize)> {
        let (exp, act) = (self.exp, self.act);
        let (ec, ac) = (&exp.nodes[ei].children, &act.nodes[ai].children);
        // Pair by URI and local name, in order; then what is left by local name alone.
        let mut paired: Vec<Option<usize>> = vec![None; ec.len()];
        let mut taken = vec![false; ac.len()];
        let mut by_name: HashMap<(Option<&str>, &str), VecDeque<usize>> = HashMap::new();
        for (j, &c) in ac.iter().enumerate() {
            let n = &act.nodes[c];
            by_name
                .entry((n.ns.as_deref(), n.local.as_str()))
                .or_default()
                .push_back(j);
        }
        for (i, &c) in ec.iter().enumerate() {
            let n = &exp.nodes[c];
            if let Some(j) = by_name
                .get_mut(&(n.ns.as_deref(), n.local.as_str()))
                .and_then(VecDeque::pop_front)
            {
                paired[i] = Some(j);
                taken[j] = true;
            }
        }
        let mut by_local: HashMap<&str, VecDeque<usize>> = HashMap::new();
        for (j, &c) in ac.iter().enumerate() {
            if !taken[j] {
                by_local
                    .entry(act.nodes[c].local.as_str())
                    .or_default()
                    .push_back(j);
            }
        }
        for (i, &c) in ec.iter().enumerate() {
            if paired[i].is_none()
                && let Some(j) = by_local
                    .get_mut(exp.nodes[c].local.as_str())
                    .and_then(VecDeque::pop_front)
            {
                paired[i] = Some(j);
                taken[j] = true;
            }
        }
        // Order: the pairs off the longest run of increasing actual positions moved.
        let order: Vec<(usize, usize)> = paired
            .iter()
            .enumerate()
            .filter_map(|(i, j)| j.map(|j| (i, j)))
            .collect();
        let keep = longest_increasing(&order.iter().map(|&(_, j)| j).collect::<Vec<_>>());
        let mut moved = vec![false; ec.len()];
        for (k, &(i, _)) in order.iter().enumerate() {
            moved[i] = !keep[k];
        }
        let parent_at = act.nodes[ai].position;
        for (i, &c) in ec.iter().enumerate() {
            let child_path = format!("{path}/{}", exp.nodes[c].qname());
            match paired[i] {
                None => self.report(
                    child_path,
                    DifferenceKind::MissingElement,
                    Some(exp.nodes[c].qname()),
                    None,
                    Some(parent_at),
                ),
                Some(j) if moved[i] => self.report(
                    child_path,
                    DifferenceKind::ChildOrder,
                    Some(format!("position {}", i + 1)),
                    Some(format!("position {}", j + 1)),
                    Some(act.nodes[ac[j]].position),
                ),
                Some(_) => {}
            }
        }
        for (j, &c) in ac.iter().enumerate() {
            if !taken[j] {
                let n = &act.nodes[c];
                let prefix = self
                    .prefixes
                    .get(&n.ns.as_deref())
                    .copied()
                    .unwrap_or(n.prefix.as_deref());
                self.report(
                    format!("{path}/{}", qname(prefix, &n.local)),
                    DifferenceKind::ExtraElement,
                    None,
                    Some(n.qname()),
                    Some(n.position),
                );
            }
        }
        order.iter().map(|&(i, j)| (ec[i], ac[j])).collect()
    }
}

/// Which members of `seq` form one longest strictly increasing subsequence (patience sorting,
/// O(n log n)); among equally long ones, the one ending earliest at every length.
fn longest_increasing(seq: &[usize]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for k in 0..seq.len() {
        let at = tails.partition_point(|&t| seq[t] < seq[k]);
        prev[k] = at.checked_sub(1).map(|p| tails[p]);
        if at == tails.len() {
            tails.push(k);
        } else {
            tails[at] = k;
        }
    }
    let mut keep = vec![false; seq.len()];
    let mut at = tails.last().copied();
    while let Some(k) = at {
        keep[k] = true;
        at = prev[k];
    }
    keep
}

/// One piece of markup for the strict comparison.
struct Piece {
    /// The element path it sits in (this document's prefixes).
    path: String,
    /// What is compared: the markup as written (an ignored attribute left out).
    raw: String,
    /// What a report shows: the markup, personal values masked.
    shown: String,
    position: Position,
}

fn position_of(bytes: &[u8], offset: u64) -> Position {
    let upto = &bytes[..(offset as usize).min(bytes.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    Position {
        line: line.min(u32::MAX as usize) as u32,
        column: (upto.len() - start + 1).min(u32::MAX as usize) as u32,
    }
}

/// Short enough to read in a report.
fn clip(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// A document as the strict comparison reads it: every event quick-xml reports, as written, with
/// ignored elements left out whole and ignored attributes dropped from their tags.
fn markup(bytes: &[u8], options: &Options, side: Side) -> Result<Vec<Piece>, CompareError> {
    // As UTF-8 (the byte order mark cut off), like the similar comparison; the declarations still
    // differ when the two documents declare different encodings.
    let decoded = encoding::decode(bytes).map_err(|error| CompareError { side, error })?;
    let bytes: &[u8] = &decoded;
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let ignored = |path: &str| options.ignore.iter().any(|p| p.covers(path));
    let fail = |kind, position| CompareError {
        side,
        error: XmlError { kind, position },
    };
    let mut open: Vec<Open> = Vec::new();
    // While an ignored element is skipped: the depth it opened at.
    let mut skipping: Option<usize> = None;
    let mut out = Vec::new();
    loop {
        let offset = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            fail(
                XmlErrorKind::Syntax(e.to_string()),
                position_of(bytes, reader.error_position()),
            )
        })?;
        let end = (reader.buffer_position() as usize).min(bytes.len());
        let written = String::from_utf8_lossy(&bytes[(offset as usize).min(end)..end]).into_owned();
        let position = position_of(bytes, offset);
        if let Some(depth) = skipping {
            match &event {
                RawEvent::Start(_) => open.push(Open::default()),
                RawEvent::End(_) => {
                    open.pop();
                    if open.len() < depth {
                        skipping = None;
                    }
                }
                RawEvent::Eof => break,
                _ => {}
            }
            continue;
        }
        let piece = |open: &[Open], raw: String, shown: String| Piece {
            path: open_path(open),
            raw,
            shown,
            position,
        };
        match event {
            RawEvent::Start(ref tag) | RawEvent::Empty(ref tag) => {
                let empty = matches!(event, RawEvent::Empty(_));
                let name = tag.name().into_inner().to_string();
                let local = tag.local_name().into_inner().to_string();
                if open.len() >= options.limits.max_depth {
                    return Err(fail(
                        XmlErrorKind::Limit("element depth", options.limits.max_depth as u64),
                        position,
                    ));
                }
                let carrier = (open.len() < 2 && matches!(local.as_str(), "Envelope" | "Body"))
                    || open.last().is_some_and(|o| o.local == "Body");
                open.push(Open {
                    qname: name.clone(),
                    local,
                    carrier,
                });
                let here = open_path(&open);
                if ignored(&here) {
                    if empty {
                        open.pop();
                    } else {
                        skipping = Some(open.len());
                    }
                    continue;
                }
                let names = mask_names(&open);
                let mut raw = format!("<{name}");
                let mut shown = raw.clone();
                let mut dropped = false;
                for attr in tag.attributes().with_checks(false) {
                    let attr =
                        attr.map_err(|e| fail(XmlErrorKind::Syntax(e.to_string()), position))?;
                    let key = attr.key.into_inner();
                    let attr_local = attr.key.local_name().into_inner();
                    let declaration = key == "xmlns" || key.starts_with("xmlns:");
                    if !declaration && ignored(&format!("{here}/@{attr_local}")) {
                        dropped = true;
                        continue;
                    }
                    raw.push_str(&format!(" {key}=\"{}\"", attr.value));
                    let value = if declaration {
                        attr.value.to_string()
                    } else {
                        let mut all = vec![attr_local];
                        all.extend(names.iter().copied());
                        mask::mask_if_personal(&all, &attr.value)
                    };
                    shown.push_str(&format!(" {key}=\"{value}\""));
                }
                let close = if empty { "/>" } else { ">" };
                raw.push_str(close);
                shown.push_str(close);
                // As written (quoting, spacing) unless an ignored attribute had to be left out.
                let raw = if dropped { raw } else { written };
                let mut p = piece(&open, raw, shown);
                p.path = here;
                out.push(p);
                if empty {
                    open.pop();
                }
            }
            RawEvent::End(_) => {
                let p = piece(&open, written.clone(), written);
                open.pop();
                out.push(p);
            }
            RawEvent::Text(_) | RawEvent::GeneralRef(_) | RawEvent::CData(_) => {
                let names = mask_names(&open);
                let shown = if names.is_empty() {
                    written.clone()
                } else {
                    mask::mask_if_personal(&names, &written)
                };
                out.push(piece(&open, written, format!("{shown:?}")));
            }
            RawEvent::Eof => break,
            // The declaration, comments, processing instructions, a document type: as written.
            _ => out.push(piece(&open, written.clone(), written)),
        }
    }
    Ok(out)
}

/// An open element in the strict comparison.
#[derive(Default)]
struct Open {
    /// The name as written.
    qname: String,
    local: String,
    /// The SOAP envelope, body or payload root (see [`Node::carrier`]).
    carrier: bool,
}

fn open_path(open: &[Open]) -> String {
    if open.is_empty() {
        return "/".to_string();
    }
    open.iter().map(|o| format!("/{}", o.qname)).collect()
}

/// Local names that decide masking: the innermost element's, then the non-carrier ones around it.
fn mask_names(open: &[Open]) -> Vec<&str> {
    open.iter()
        .rev()
        .enumerate()
        .filter(|(i, o)| *i == 0 || !o.carrier)
        .map(|(_, o)| o.local.as_str())
        .collect()
}

/// The first piece of markup that differs, as a [`DifferenceKind::Markup`] difference.
fn first_markup_difference(expected: &[Piece], actual: &[Piece]) -> Option<Difference> {
    let at = (0..expected.len().max(actual.len())).find(|&k| {
        match (expected.get(k), actual.get(k)) {
            (Some(e), Some(a)) => e.raw != a.raw,
            _ => true,
        }
    })?;
    let (e, a) = (expected.get(at), actual.get(at));
    // Long tags are shown from a little before where they part.
    let same = match (e, a) {
        (Some(e), Some(a)) => e
            .shown
            .chars()
            .zip(a.shown.chars())
            .take_while(|(x, y)| x == y)
            .count(),
        _ => 0,
    };
    let skip = same.saturating_sub(30);
    let show = |p: &Piece| {
        if skip == 0 {
            clip(&p.shown)
        } else {
            format!("…{}", clip(&p.shown.chars().skip(skip).collect::<String>()))
        }
    };
    Some(Difference {
        path: e.or(a).map_or_else(|| "/".to_string(), |p| p.path.clone()),
        kind: DifferenceKind::Markup,
        expected: e.map(show),
        found: a.map(show),
        found_at: a.map(|p| p.position),
    })
}
