//! A crate's module tree read from its source, and the dependencies between
//! sibling modules.
//!
//! "One-way module graph" here means: among the children of any module, no
//! two depend on each other, directly or through other siblings. A use of
//! `crate::a::b::Thing` from module `a::c` is a dependency of `c` on `b`
//! (siblings under `a`); from `x::y` it is a dependency of `x` on `a` (siblings
//! under the root). A parent and its own descendants may use each other (a
//! `mod.rs` re-exports its children; a child names its parent's types): that
//! is containment, not a cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// One module of a crate: a file, or an inline `mod x { … }`.
pub struct Module {
    /// Path from the crate root (empty for the root).
    pub path: Vec<String>,
    pub file: PathBuf,
    /// Reachable from outside the crate: the root, or a `pub mod` in a public module.
    pub public: bool,
    pub items: Vec<syn::Item>,
    children: Vec<String>,
}

/// A crate's modules, read from `src/lib.rs` (or `src/main.rs`), skipping
/// `#[cfg(test)]` modules.
pub struct CrateSource {
    pub modules: Vec<Module>,
    index: HashMap<Vec<String>, usize>,
}

/// Whether the attributes carry `#[cfg(test)]`.
pub(crate) fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

fn parse_file(file: &Path) -> Result<Vec<syn::Item>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    syn::parse_file(&text)
        .map(|f| f.items)
        .map_err(|e| format!("{}: {e}", file.display()))
}

impl CrateSource {
    /// Reads the crate in `crate_dir` (the directory holding its Cargo.toml).
    pub fn load(crate_dir: &Path) -> Result<CrateSource, String> {
        let src = crate_dir.join("src");
        let root = if src.join("lib.rs").exists() {
            src.join("lib.rs")
        } else {
            src.join("main.rs")
        };
        let mut source = CrateSource {
            modules: Vec::new(),
            index: HashMap::new(),
        };
        let items = parse_file(&root)?;
        source.add(Vec::new(), root, src, true, items)?;
        Ok(source)
    }

    /// Adds a module and, recursively, its children; `dir` is where its
    /// children's files live.
    fn add(
        &mut self,
        path: Vec<String>,
        file: PathBuf,
        dir: PathBuf,
        public: bool,
        items: Vec<syn::Item>,
    ) -> Result<(), String> {
        let mut children = Vec::new();
        for item in &items {
            let syn::Item::Mod(m) = item else { continue };
            if is_test_only(&m.attrs) {
                continue;
            }
            let name = m.ident.to_string();
            let child_public = public && matches!(m.vis, syn::Visibility::Public(_));
            let mut child_path = path.clone();
            child_path.push(name.clone());
            let (child_file, child_dir, child_items) = match (&m.content, path_attr(&m.attrs)) {
                (Some((_, inline)), _) => (file.clone(), dir.join(&name), inline.clone()),
                (None, Some(explicit)) => {
                    let f = dir.join(explicit);
                    let d = f.with_extension("");
                    let parsed = parse_file(&f)?;
                    (f, d, parsed)
                }
                (None, None) => {
                    let flat = dir.join(format!("{name}.rs"));
                    let f = if flat.exists() {
                        flat
                    } else {
                        dir.join(&name).join("mod.rs")
                    };
                    let parsed = parse_file(&f)?;
                    (f, dir.join(&name), parsed)
                }
            };
            children.push((child_path, child_file, child_dir, child_public, child_items));
        }
        let names = children
            .iter()
            .map(|(p, ..)| p.last().cloned().unwrap_or_default())
            .collect();
        self.index.insert(path.clone(), self.modules.len());
        self.modules.push(Module {
            path,
            file,
            public,
            items,
            children: names,
        });
        for (p, f, d, public, items) in children {
            self.add(p, f, d, public, items)?;
        }
        Ok(())
    }

    fn module(&self, path: &[String]) -> Option<&Module> {
        self.index.get(path).map(|&i| &self.modules[i])
    }

    /// The module a path names (its longest prefix that is a module), seen
    /// from module `from`; `None` for paths outside the crate.
    fn resolve(&self, from: &[String], segments: &[String]) -> Option<Vec<String>> {
        let (mut base, rest): (Vec<String>, &[String]) = match segments.first()?.as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (from.to_vec(), &segments[1..]),
            "super" => {
                let mut base = from.to_vec();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                (base, rest)
            }
            first => {
                let here = self.module(from)?;
                if !here.children.iter().any(|c| c == first) {
                    return None;
                }
                (from.to_vec(), segments)
            }
        };
        for segment in rest {
            let is_child = self
                .module(&base)
                .is_some_and(|m| m.children.iter().any(|c| c == segment));
            if !is_child {
                break;
            }
            base.push(segment.clone());
        }
        Some(base)
    }
}

/// Collects the paths a module's own items name (not its child modules').
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        flatten_use(&item.tree, &mut Vec::new(), &mut self.paths);
    }
}

/// Every path a `use` tree names, `use a::{b, c::d}` → `a::b`, `a::c::d`.
pub(crate) fn flatten_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let mut named = Vec::new();
    flatten_use_named(tree, prefix, &mut named);
    out.extend(named.into_iter().map(|(path, _)| path));
}

/// Every path a `use` tree names with the name it is known by where it is
/// used: `use a::{b, c as d}` → (`a::b`, `b`), (`a::c`, `d`).
pub(crate) fn flatten_use_named(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use_named(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut full = prefix.clone();
            full.push(n.ident.to_string());
            out.push((full, n.ident.to_string()));
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            full.push(r.ident.to_string());
            out.push((full, r.rename.to_string()));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), "*".to_owned())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use_named(t, prefix, out);
            }
        }
    }
}

/// A dependency between two sibling modules, with one use that makes it.
#[derive(Clone, Debug)]
struct Edge {
    to: String,
    evidence: String,
}

/// The cycles among sibling modules, each described with the uses that make
/// it; empty when every module graph is one-way.
pub fn sibling_cycles(source: &CrateSource) -> Vec<String> {
    // Per parent module: sibling → its dependencies among its siblings.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, Vec<Edge>>> = BTreeMap::new();
    for module in &source.modules {
        let mut collector = PathCollector::default();
        for item in &module.items {
            if !item_is_test_only(item) {
                collector.visit_item(item);
            }
        }
        for segments in &collector.paths {
            let Some(target) = source.resolve(&module.path, segments) else {
                continue;
            };
            let common = module
                .path
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.path.len() || common == target.len() {
                continue; // the same module, or an ancestor or descendant
            }
            let parent = module.path[..common].to_vec();
            let from = module.path[common].clone();
            let edge = Edge {
                to: target[common].clone(),
                evidence: format!("{} uses {}", module.file.display(), segments.join("::")),
            };
            graphs
                .entry(parent)
                .or_default()
                .entry(from)
                .or_default()
                .push(edge);
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in &graphs {
        for component in strongly_connected(graph) {
            let members: BTreeSet<&String> = component.iter().collect();
            let mut evidence: Vec<String> = Vec::new();
            for from in &component {
                for edge in graph.get(from).into_iter().flatten() {
                    if members.contains(&edge.to) {
                        let line = format!("    {from} → {}: {}", edge.to, edge.evidence);
                        if !evidence
                            .iter()
                            .any(|e| e.starts_with(&format!("    {from} → {}:", edge.to)))
                        {
                            evidence.push(line);
                        }
                    }
                }
            }
            let scope = if parent.is_empty() {
                "the crate root".to_owned()
            } else {
                parent.join("::")
            };
            found.push(format!(
                "cycle among the children of {scope}: {}\n{}",
                component.join(" ↔ "),
                evidence.join("\n")
            ));
        }
    }
    found
}

fn item_is_test_only(item: &syn::Item) -> bool {
    let attrs: &[syn::Attribute] = match item {
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        _ => &[],
    };
    is_test_only(attrs)
}

/// Tarjan's algorithm: the strongly connected components of more than one node.
fn strongly_connected(graph: &BTreeMap<String, Vec<Edge>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, Vec<Edge>>,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn connect<'g>(s: &mut State<'g>, node: &'g str) {
        s.index.insert(node, s.next);
        s.low.insert(node, s.next);
        s.next += 1;
        s.stack.push(node);
        s.on_stack.insert(node);
        let graph = s.graph;
        for edge in graph.get(node).into_iter().flatten() {
            let to = edge.to.as_str();
            if !s.index.contains_key(to) {
                connect(s, to);
                let low = s.low[node].min(s.low[to]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(to) {
                let low = s.low[node].min(s.index[to]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                component.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            connect(&mut state, node);
        }
    }
    state.out
}
