//! The module layering of ARCHITECTURE.md, checked on the source: the flow runs one way, `xml →
//! contract → soap → registries → domain → service → api`, with `store` beside `service` and `mock`
//! beside the flow; no module imports one above it, and no two files import each other, directly or
//! round a longer circle. A `use crate::…` (or a `crate::…` path) outside comments and `#[cfg(test)]`
//! code is an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What each layer may import (besides itself). Modules not listed here (the gateway, the CLI, the
/// configuration, webhooks, the load generator) assemble the layers and may import any of them.
const ALLOWED: &[(&str, &[&str])] = &[
    // Below every layer.
    ("calendar", &[]),
    ("ids", &[]),
    ("heap", &[]),
    ("pdf", &[]),
    ("clock", &["calendar"]),
    ("shutdown", &[]),
    ("channel_body", &[]),
    ("tls", &["calendar", "clock", "ids", "shutdown"]),
    // The flow.
    ("xml", &[]),
    ("contract", &["xml"]),
    (
        "soap",
        &["xml", "contract", "calendar", "clock", "ids", "tls"],
    ),
    (
        "registries",
        &["xml", "contract", "soap", "calendar", "clock", "ids"],
    ),
    (
        "domain",
        &["xml", "contract", "registries", "calendar", "clock", "ids"],
    ),
    ("store", &["domain", "calendar", "clock", "ids"]),
    (
        "service",
        &[
            "xml",
            "contract",
            "soap",
            "registries",
            "domain",
            "store",
            "calendar",
            "clock",
            "ids",
            "shutdown",
        ],
    ),
    (
        "api",
        &[
            "xml",
            "domain",
            "service",
            "store",
            "receipt",
            "tls",
            "calendar",
            "clock",
            "ids",
            "shutdown",
            "channel_body",
        ],
    ),
    // Beside the flow: the mock registries speak the contract and the typed messages, never the
    // gateway's pipeline, store or workflows.
    (
        "mock",
        &[
            "xml",
            "contract",
            "registries",
            "domain",
            "calendar",
            "clock",
            "ids",
            "shutdown",
            "channel_body",
            "tls",
        ],
    ),
    // Beside the flow: replay reads fixtures and compares XML; it sends through the outbound
    // pipeline (soap, tls, the configuration's registries) and sets the mock's fault plans, never
    // the gateway's store or workflows. Recording fixtures pseudonymises with the domain's
    // identifier arithmetic (check numbers) and the calendar.
    (
        "replay",
        &[
            "xml", "contract", "mock", "soap", "tls", "config", "clock", "domain", "calendar",
        ],
    ),
];

/// Every module file of `src/` by its path (`domain::valid`), with its text up to its tests.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .expect("under src")
            .with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        out.insert(parts.join("::"), code);
    }
    out
}

/// The module files each file imports (each path resolved to the longest module that exists).
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let resolve = |path: &str| -> Option<String> {
        let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        while !segs.is_empty() {
            let candidate = segs.join("::");
            if modules.contains_key(&candidate) {
                return Some(candidate);
            }
            segs.pop();
        }
        None
    };
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = BTreeMap::new();
    for (name, code) in modules {
        let mut targets = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let path: String = rest.chars().take_while(|&c| ident(c)).collect();
            let after = &rest[path.len()..];
            let mut paths = vec![path.trim_end_matches(':').to_string()];
            // `crate::a::{b, c::d}`: one path per item.
            if path.ends_with("::") && after.starts_with('{') {
                let group = &after[1..after.find('}').unwrap_or(after.len())];
                paths = group
                    .split(',')
                    .map(|item| format!("{path}{}", item.trim()))
                    .collect();
            }
            for p in paths {
                if let Some(t) = resolve(&p)
                    && t != *name
                {
                    targets.insert(t);
                }
            }
        }
        out.insert(name.clone(), targets);
    }
    out
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn no_module_imports_one_above_it() {
    let modules = modules();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (file, targets) in imports(&modules) {
        let Some(may) = allowed.get(top(&file)) else {
            continue;
        };
        for t in targets {
            if top(&t) != top(&file) && !may.contains(&top(&t)) {
                wrong.push(format!("{file} imports {t}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

/// Modules that sit above the gateway: they drive it from outside, and only the CLI drives them.
const DRIVERS: &[&str] = &["loadgen"];

#[test]
fn only_the_cli_imports_the_load_generator() {
    let mut wrong = Vec::new();
    for (file, targets) in imports(&modules()) {
        let from = top(&file);
        if from == "cli" || DRIVERS.contains(&from) {
            continue;
        }
        for t in targets {
            if DRIVERS.contains(&top(&t)) {
                wrong.push(format!("{file} imports {t}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the load generator drives the gateway from outside; nothing below it may import it:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let graph = imports(&modules());
    // Tarjan's strongly connected components: any with two or more files is a circle.
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        circles: Vec<Vec<&'a str>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.circles.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        circles: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    let circles: Vec<String> = walk.circles.iter().map(|c| c.join(" ⇄ ")).collect();
    assert!(
        circles.is_empty(),
        "files in a circle:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_checker_sees_a_violation_when_there_is_one() {
    // The parser on a made-up tree: a domain file importing the store, and two files in a circle.
    let mut modules = BTreeMap::new();
    modules.insert(
        "domain::rules".to_string(),
        "use crate::store::{Store, x::Y};".to_string(),
    );
    modules.insert(
        "store".to_string(),
        "use crate::domain::rules::Thing;".to_string(),
    );
    modules.insert("store::x".to_string(), String::new());
    let graph = imports(&modules);
    assert_eq!(
        graph["domain::rules"],
        BTreeSet::from(["store".to_string(), "store::x".to_string()])
    );
    assert_eq!(
        graph["store"],
        BTreeSet::from(["domain::rules".to_string()])
    );
}
