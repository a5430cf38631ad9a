//! The Schema for Schemas, as rules: which attributes and children each XSD element may have.
//!
//! XSD 1.0 requires a schema document to be valid against the Schema for Schemas before its components
//! mean anything. Rather than bootstrapping the validator on `XMLSchema.xsd` (which carries a DTD, refused
//! by our reader), the rules are written here as a table: per element (and parent, where the same name
//! means different things), the allowed attributes with their value checks and the allowed children as a
//! small content-model expression, compiled with the same counter automata as instance content models.
//! Attributes in other namespaces are always allowed, as the Schema for Schemas' `anyAttribute` says.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::xml::content::{ContentModel, Particle, Term};
use crate::xml::names::{is_ncname, is_qname};
use crate::xml::schema::doc::{Node, XS_NS};

/// A violation of the Schema for Schemas: (rule, message, the offending node's position owner).
pub struct S4sError<'a> {
    /// The node at fault.
    pub node: &'a Node,
    /// Rule name.
    pub rule: &'static str,
    /// Explanation.
    pub message: String,
}

/// How an attribute's value is checked.
#[derive(Clone, Copy)]
enum Check {
    Any,
    NcName,
    Id,
    QName,
    QNames,
    Boolean,
    NonNegative,
    MaxOccurs,
    Form,
    Use,
    Process,
    Namespace,
    Block(&'static [&'static str]),
}

/// One row of the rule table: key, allowed attributes, children expression.
type RuleRow = (String, Vec<(&'static str, Check)>, String);

struct Rule {
    attrs: Vec<(&'static str, Check)>,
    required: &'static [&'static str],
    children: Option<(ContentModel, Vec<&'static str>)>,
}

const FACETS: &str = "(minExclusive|minInclusive|maxExclusive|maxInclusive|totalDigits|fractionDigits|length|minLength|maxLength|enumeration|whiteSpace|pattern)*";
const ATTRS: &str = "(attribute|attributeGroup)* anyAttribute?";
const EXT_DERIV: &[&str] = &["extension", "restriction"];
const ELEM_BLOCK: &[&str] = &["extension", "restriction", "substitution"];
const SIMPLE_FINAL: &[&str] = &["list", "union", "restriction"];
const FINAL_DEFAULT: &[&str] = &["extension", "restriction", "list", "union"];

/// Rule key: element name, with the parent's name where the meaning depends on it.
fn key(node: &Node, parent: Option<&Node>) -> String {
    let p = parent.map(|p| p.local.as_str()).unwrap_or("");
    match node.local.as_str() {
        "restriction" | "extension" => format!("{}/{}", p, node.local),
        "element" | "attribute" | "group" | "attributeGroup" | "simpleType" | "complexType" => {
            let top = matches!(p, "schema" | "redefine");
            format!("{}{}", if top { "top:" } else { "local:" }, node.local)
        }
        // The model group of a named group definition takes no occurrence attributes.
        "all" | "choice" | "sequence"
            if parent.is_some_and(|p| p.local == "group" && p.attr("name").is_some()) =>
        {
            format!("groupdef:{}", node.local)
        }
        _ => node.local.clone(),
    }
}

fn rules() -> &'static HashMap<String, Rule> {
    static RULES: OnceLock<HashMap<String, Rule>> = OnceLock::new();
    RULES.get_or_init(build_rules)
}

fn build_rules() -> HashMap<String, Rule> {
    use Check::*;
    let particle_attrs = |mut v: Vec<(&'static str, Check)>| {
        v.push(("minOccurs", NonNegative));
        v.push(("maxOccurs", MaxOccurs));
        v
    };
    let facet = |fixed: bool| {
        let mut v = vec![("id", Id), ("value", Any)];
        if fixed {
            v.push(("fixed", Boolean));
        }
        (v, "annotation?")
    };
    let table: Vec<RuleRow> = vec![
        (
            "schema".into(),
            vec![
                ("id", Id),
                ("targetNamespace", Any),
                ("version", Any),
                ("finalDefault", Block(FINAL_DEFAULT)),
                ("blockDefault", Block(ELEM_BLOCK)),
                ("attributeFormDefault", Form),
                ("elementFormDefault", Form),
            ],
            String::from(
                "(include|import|redefine|annotation)* (simpleType|complexType|group|attributeGroup|element|attribute|notation|annotation)*",
            ),
        ),
        (
            "include".into(),
            vec![("id", Id), ("schemaLocation", Any)],
            String::from("annotation?"),
        ),
        (
            "import".into(),
            vec![("id", Id), ("namespace", Any), ("schemaLocation", Any)],
            String::from("annotation?"),
        ),
        (
            "redefine".into(),
            vec![("id", Id), ("schemaLocation", Any)],
            String::from("(annotation|simpleType|complexType|group|attributeGroup)*"),
        ),
        (
            "annotation".into(),
            vec![("id", Id)],
            String::from("(appinfo|documentation)*"),
        ),
        (
            "top:simpleType".into(),
            vec![("id", Id), ("name", NcName), ("final", Block(SIMPLE_FINAL))],
            String::from("annotation? (restriction|list|union)"),
        ),
        (
            "local:simpleType".into(),
            vec![("id", Id)],
            String::from("annotation? (restriction|list|union)"),
        ),
        (
            "simpleType/restriction".into(),
            vec![("id", Id), ("base", QName)],
            format!("annotation? simpleType? {FACETS}"),
        ),
        (
            "list".into(),
            vec![("id", Id), ("itemType", QName)],
            String::from("annotation? simpleType?"),
        ),
        (
            "union".into(),
            vec![("id", Id), ("memberTypes", QNames)],
            String::from("annotation? simpleType*"),
        ),
        (
            "top:complexType".into(),
            vec![
                ("id", Id),
                ("name", NcName),
                ("mixed", Boolean),
                ("abstract", Boolean),
                ("final", Block(EXT_DERIV)),
                ("block", Block(EXT_DERIV)),
            ],
            format!(
                "annotation? (simpleContent|complexContent|((group|all|choice|sequence)? {ATTRS}))"
            ),
        ),
        (
            "local:complexType".into(),
            vec![("id", Id), ("mixed", Boolean)],
            format!(
                "annotation? (simpleContent|complexContent|((group|all|choice|sequence)? {ATTRS}))"
            ),
        ),
        (
            "simpleContent".into(),
            vec![("id", Id)],
            String::from("annotation? (restriction|extension)"),
        ),
        (
            "complexContent".into(),
            vec![("id", Id), ("mixed", Boolean)],
            String::from("annotation? (restriction|extension)"),
        ),
        (
            "complexContent/restriction".into(),
            vec![("id", Id), ("base", QName)],
            format!("annotation? (group|all|choice|sequence)? {ATTRS}"),
        ),
        (
            "complexContent/extension".into(),
            vec![("id", Id), ("base", QName)],
            format!("annotation? (group|all|choice|sequence)? {ATTRS}"),
        ),
        (
            "simpleContent/restriction".into(),
            vec![("id", Id), ("base", QName)],
            format!("annotation? simpleType? {FACETS} {ATTRS}"),
        ),
        (
            "simpleContent/extension".into(),
            vec![("id", Id), ("base", QName)],
            format!("annotation? {ATTRS}"),
        ),
        (
            "top:group".into(),
            vec![("id", Id), ("name", NcName)],
            String::from("annotation? (all|choice|sequence)"),
        ),
        (
            "local:group".into(),
            particle_attrs(vec![("id", Id), ("ref", QName)]),
            String::from("annotation?"),
        ),
        (
            "all".into(),
            particle_attrs(vec![("id", Id)]),
            String::from("annotation? element*"),
        ),
        (
            "groupdef:all".into(),
            vec![("id", Id)],
            String::from("annotation? element*"),
        ),
        (
            "groupdef:choice".into(),
            vec![("id", Id)],
            String::from("annotation? (element|group|choice|sequence|any)*"),
        ),
        (
            "groupdef:sequence".into(),
            vec![("id", Id)],
            String::from("annotation? (element|group|choice|sequence|any)*"),
        ),
        (
            "choice".into(),
            particle_attrs(vec![("id", Id)]),
            String::from("annotation? (element|group|choice|sequence|any)*"),
        ),
        (
            "sequence".into(),
            particle_attrs(vec![("id", Id)]),
            String::from("annotation? (element|group|choice|sequence|any)*"),
        ),
        (
            "top:element".into(),
            vec![
                ("id", Id),
                ("name", NcName),
                ("type", QName),
                ("substitutionGroup", QName),
                ("default", Any),
                ("fixed", Any),
                ("nillable", Boolean),
                ("abstract", Boolean),
                ("final", Block(EXT_DERIV)),
                ("block", Block(ELEM_BLOCK)),
            ],
            String::from("annotation? (simpleType|complexType)? (unique|key|keyref)*"),
        ),
        (
            "local:element".into(),
            particle_attrs(vec![
                ("id", Id),
                ("name", NcName),
                ("ref", QName),
                ("type", QName),
                ("default", Any),
                ("fixed", Any),
                ("nillable", Boolean),
                ("block", Block(ELEM_BLOCK)),
                ("form", Form),
            ]),
            String::from("annotation? (simpleType|complexType)? (unique|key|keyref)*"),
        ),
        (
            "top:attribute".into(),
            vec![
                ("id", Id),
                ("name", NcName),
                ("type", QName),
                ("default", Any),
                ("fixed", Any),
            ],
            String::from("annotation? simpleType?"),
        ),
        (
            "local:attribute".into(),
            vec![
                ("id", Id),
                ("name", NcName),
                ("ref", QName),
                ("type", QName),
                ("use", Use),
                ("default", Any),
                ("fixed", Any),
                ("form", Form),
            ],
            String::from("annotation? simpleType?"),
        ),
        (
            "top:attributeGroup".into(),
            vec![("id", Id), ("name", NcName)],
            format!("annotation? {ATTRS}"),
        ),
        (
            "local:attributeGroup".into(),
            vec![("id", Id), ("ref", QName)],
            String::from("annotation?"),
        ),
        (
            "any".into(),
            particle_attrs(vec![
                ("id", Id),
                ("namespace", Namespace),
                ("processContents", Process),
            ]),
            String::from("annotation?"),
        ),
        (
            "anyAttribute".into(),
            vec![
                ("id", Id),
                ("namespace", Namespace),
                ("processContents", Process),
            ],
            String::from("annotation?"),
        ),
        (
            "unique".into(),
            vec![("id", Id), ("name", NcName)],
            String::from("annotation? selector field+"),
        ),
        (
            "key".into(),
            vec![("id", Id), ("name", NcName)],
            String::from("annotation? selector field+"),
        ),
        (
            "keyref".into(),
            vec![("id", Id), ("name", NcName), ("refer", QName)],
            String::from("annotation? selector field+"),
        ),
        (
            "selector".into(),
            vec![("id", Id), ("xpath", Any)],
            String::from("annotation?"),
        ),
        (
            "field".into(),
            vec![("id", Id), ("xpath", Any)],
            String::from("annotation?"),
        ),
        (
            "notation".into(),
            vec![
                ("id", Id),
                ("name", NcName),
                ("public", Any),
                ("system", Any),
            ],
            String::from("annotation?"),
        ),
    ];
    let mut map = HashMap::new();
    for (k, attrs, expr) in table {
        map.insert(
            k.clone(),
            Rule {
                attrs,
                required: required_attrs(&k),
                children: Some(compile_expr(&expr)),
            },
        );
    }
    for f in [
        "minExclusive",
        "minInclusive",
        "maxExclusive",
        "maxInclusive",
        "totalDigits",
        "fractionDigits",
        "length",
        "minLength",
        "maxLength",
        "whiteSpace",
    ] {
        let (attrs, expr) = facet(true);
        map.insert(
            f.to_string(),
            Rule {
                attrs,
                required: &["value"],
                children: Some(compile_expr(expr)),
            },
        );
    }
    for f in ["enumeration", "pattern"] {
        let (attrs, expr) = facet(false);
        map.insert(
            f.to_string(),
            Rule {
                attrs,
                required: &["value"],
                children: Some(compile_expr(expr)),
            },
        );
    }
    for f in ["appinfo", "documentation"] {
        map.insert(
            f.to_string(),
            Rule {
                attrs: vec![("source", Any)],
                required: &[],
                children: None,
            },
        );
    }
    map
}

/// Attributes the Schema for Schemas requires on an element (by rule key).
fn required_attrs(key: &str) -> &'static [&'static str] {
    match key {
        "include" | "redefine" => &["schemaLocation"],
        "top:simpleType" | "top:complexType" | "top:group" | "top:attributeGroup"
        | "top:element" | "top:attribute" | "notation" | "unique" | "key" => &["name"],
        "keyref" => &["name", "refer"],
        "selector" | "field" => &["xpath"],
        "local:group" | "local:attributeGroup" => &["ref"],
        "complexContent/restriction"
        | "complexContent/extension"
        | "simpleContent/restriction"
        | "simpleContent/extension" => &["base"],
        _ => &[],
    }
}

/// Compile `a? (b|c)* d+` style expressions: juxtaposition is sequence, `|` choice, postfix `? * +`.
fn compile_expr(expr: &str) -> (ContentModel, Vec<&'static str>) {
    let tokens: Vec<String> = tokenize(expr);
    let mut names: Vec<&'static str> = Vec::new();
    let mut pos = 0;
    let particle = parse_seq(&tokens, &mut pos, &mut names);
    (ContentModel::compile_unchecked(&particle), names)
}

fn tokenize(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in expr.chars() {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn parse_seq(t: &[String], pos: &mut usize, names: &mut Vec<&'static str>) -> Particle {
    let mut alts = vec![Vec::new()];
    while *pos < t.len() && t[*pos] != ")" {
        if t[*pos] == "|" {
            *pos += 1;
            alts.push(Vec::new());
            continue;
        }
        let mut p = if t[*pos] == "(" {
            *pos += 1;
            let inner = parse_seq(t, pos, names);
            *pos += 1; // ')'
            inner
        } else {
            let name: &'static str = Box::leak(t[*pos].clone().into_boxed_str());
            names.push(name);
            *pos += 1;
            Particle {
                min: 1,
                max: Some(1),
                term: Term::Leaf(names.len() - 1),
            }
        };
        if *pos < t.len() {
            match t[*pos].as_str() {
                "?" => (p.min, p.max, *pos) = (0, Some(1), *pos + 1),
                "*" => (p.min, p.max, *pos) = (0, None, *pos + 1),
                "+" => (p.min, p.max, *pos) = (1, None, *pos + 1),
                _ => {}
            }
        }
        if let Some(last) = alts.last_mut() {
            last.push(p);
        }
    }
    let seqs: Vec<Particle> = alts
        .into_iter()
        .map(|items| Particle {
            min: 1,
            max: Some(1),
            term: Term::Sequence(items),
        })
        .collect();
    if seqs.len() == 1 {
        seqs.into_iter().next().unwrap_or(Particle {
            min: 1,
            max: Some(1),
            term: Term::Sequence(vec![]),
        })
    } else {
        Particle {
            min: 1,
            max: Some(1),
            term: Term::Choice(seqs),
        }
    }
}

/// Check a whole schema document tree; returns every violation found.
pub fn check_document(root: &Node) -> Vec<S4sError<'_>> {
    let mut errors = Vec::new();
    if !root.is("schema") {
        errors.push(S4sError {
            node: root,
            rule: "s4s-elt-schema-ns",
            message: format!("the root element must be xs:schema, not '{}'", root.local),
        });
        return errors;
    }
    let mut ids = HashSet::new();
    check_node(root, None, &mut ids, &mut errors);
    errors
}

fn check_node<'a>(
    node: &'a Node,
    parent: Option<&'a Node>,
    ids: &mut HashSet<String>,
    errors: &mut Vec<S4sError<'a>>,
) {
    let Some(rule) = rules().get(&key(node, parent)) else {
        errors.push(S4sError {
            node,
            rule: "s4s-elt-invalid",
            message: format!("'xs:{}' is not allowed here", node.local),
        });
        return;
    };
    for req in rule.required {
        if node.attr(req).is_none() {
            errors.push(S4sError {
                node,
                rule: "s4s-att-must-appear",
                message: format!("xs:{} needs the attribute '{req}'", node.local),
            });
        }
    }
    if node.local == "notation" && node.attr("public").is_none() && node.attr("system").is_none() {
        errors.push(S4sError {
            node,
            rule: "s4s-att-must-appear",
            message: "xs:notation needs 'public' or 'system'".into(),
        });
    }
    for (ns, local, value) in &node.attrs {
        if ns.as_deref() == Some(crate::xml::reader::XML_NS) && local == "lang" {
            let ok = crate::xml::datatypes::parse(
                crate::xml::datatypes::Builtin::Language,
                value.trim(),
                &|_| None,
            )
            .is_ok();
            if !ok {
                errors.push(S4sError {
                    node,
                    rule: "s4s-att-invalid-value",
                    message: format!("xml:lang '{value}' is not a language tag"),
                });
            }
            continue;
        }
        if ns.is_some() {
            if ns.as_deref() == Some(XS_NS) {
                errors.push(S4sError {
                    node,
                    rule: "s4s-att-not-allowed",
                    message: format!("attribute 'xs:{local}' is not allowed"),
                });
            }
            continue;
        }
        match rule.attrs.iter().find(|(n, _)| n == local) {
            None => errors.push(S4sError {
                node,
                rule: "s4s-att-not-allowed",
                message: format!("attribute '{local}' is not allowed on xs:{}", node.local),
            }),
            Some((_, check)) => {
                if let Err(m) = check_value(*check, value, node) {
                    errors.push(S4sError {
                        node,
                        rule: "s4s-att-invalid-value",
                        message: format!("attribute '{local}' of xs:{}: {m}", node.local),
                    });
                } else if matches!(check, Check::Id) && !ids.insert(value.trim().to_owned()) {
                    errors.push(S4sError {
                        node,
                        rule: "s4s-att-invalid-value",
                        message: format!("id '{}' is used twice in this document", value.trim()),
                    });
                }
            }
        }
    }
    let Some((model, names)) = &rule.children else {
        return;
    };
    if node.has_text {
        errors.push(S4sError {
            node,
            rule: "s4s-elt-character",
            message: format!("xs:{} cannot contain text", node.local),
        });
    }
    let mut state = model.start();
    for child in &node.children {
        if child.ns.as_deref() != Some(XS_NS) {
            errors.push(S4sError {
                node: child,
                rule: "s4s-elt-invalid-content",
                message: format!(
                    "'{}' (not in the XSD namespace) cannot appear in xs:{}",
                    child.local, node.local
                ),
            });
            continue;
        }
        let stepped = model.step(&mut state, &|leaf| {
            names.get(leaf) == Some(&child.local.as_str())
        });
        if stepped.is_err() {
            errors.push(S4sError {
                node: child,
                rule: "s4s-elt-invalid-content",
                message: format!(
                    "xs:{} is not allowed here in xs:{}",
                    child.local, node.local
                ),
            });
            continue;
        }
        check_node(child, Some(node), ids, errors);
    }
    if !model.can_finish(&state) {
        errors.push(S4sError {
            node,
            rule: "s4s-elt-must-match",
            message: format!(
                "xs:{} is incomplete: a required child is missing",
                node.local
            ),
        });
    }
}

fn check_value(check: Check, raw: &str, node: &Node) -> Result<(), String> {
    let v = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let qname_ok = |q: &str| -> Result<(), String> {
        if !is_qname(q) {
            return Err(format!("'{q}' is not a QName"));
        }
        if let (Some(p), _) = crate::xml::reader::split_qname(q)
            && node.resolve_prefix(p).is_none()
        {
            return Err(format!("prefix '{p}' is not declared"));
        }
        Ok(())
    };
    match check {
        Check::Any => Ok(()),
        Check::NcName | Check::Id => {
            if is_ncname(v) {
                Ok(())
            } else {
                Err(format!("'{v}' is not an NCName"))
            }
        }
        Check::QName => qname_ok(v),
        Check::QNames => v.split_whitespace().try_for_each(qname_ok),
        Check::Boolean => match v {
            "true" | "false" | "1" | "0" => Ok(()),
            _ => Err(format!("'{v}' is not a boolean")),
        },
        Check::NonNegative => parse_occurs(v).map(|_| ()),
        Check::MaxOccurs => {
            if v == "unbounded" {
                Ok(())
            } else {
                parse_occurs(v).map(|_| ())
            }
        }
        Check::Form => one_of(v, &["qualified", "unqualified"]),
        Check::Use => one_of(v, &["optional", "prohibited", "required"]),
        Check::Process => one_of(v, &["skip", "lax", "strict"]),
        Check::Namespace => {
            if v == "##any" || v == "##other" {
                return Ok(());
            }
            for item in v.split_whitespace() {
                if item.starts_with("##") && item != "##targetNamespace" && item != "##local" {
                    return Err(format!("'{item}' is not a namespace constraint"));
                }
            }
            Ok(())
        }
        Check::Block(allowed) => {
            if v == "#all" {
                return Ok(());
            }
            for item in v.split_whitespace() {
                if !allowed.contains(&item) {
                    return Err(format!(
                        "'{item}' is not one of #all, {}",
                        allowed.join(", ")
                    ));
                }
            }
            Ok(())
        }
    }
}

fn one_of(v: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(format!("'{v}' is not one of {}", allowed.join(", ")))
    }
}

/// Parse minOccurs/maxOccurs digits (nonNegativeInteger); huge values saturate.
pub fn parse_occurs(v: &str) -> Result<u32, String> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{v}' is not a non-negative integer"));
    }
    Ok(digits
        .parse::<u64>()
        .map(|n| n.min(u32::MAX as u64) as u32)
        .unwrap_or(u32::MAX))
}
