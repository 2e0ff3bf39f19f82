//! The import graph between the workspace's source files, and its rule: no circle between files
//! of different folders (a folder's files may lean on each other, but a folder and what it uses
//! must not use each other back, or neither can be read, moved or tested without the other).
//! Cargo already forbids circles between crates; this holds the rule inside each crate.
//!
//! Each file is parsed with `syn`. A file names another when one of its paths (in a `use`, a
//! type, an expression or a macro's tokens; test modules left out) resolves, through `crate::`,
//! `super::`, `self::` or a child module's name, to an item of that file; a path that reaches an
//! item through a `pub use` is followed to the file that defines it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One reference from a file to a module path, absolute within its crate, at a line.
struct Reference {
    path: Vec<String>,
    line: usize,
}

/// One source file as a module of its crate.
struct Module {
    /// From the project's root.
    file: PathBuf,
    /// The module's path in its crate (`[]` for the crate's root).
    path: Vec<String>,
    /// The items it defines (by name), including child modules.
    defines: BTreeSet<String>,
    /// Its `pub use` re-exports: name → the absolute path it names; `*` entries are globs.
    reexports: Vec<(String, Vec<String>)>,
    references: Vec<Reference>,
    /// The types it adds inherent methods to (`impl T`), absolute: a caller of those methods
    /// reaches this file through the type, so the type's file leans on this one.
    impls: Vec<Reference>,
}

/// The module path of `file` under its crate's `src`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.strip_suffix(".rs").unwrap();
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "test"))
    })
}

/// Expands a `use` tree into (name it binds, path) pairs; `*` for a glob.
fn expand_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            expand_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name.clone());
            }
            let bound = if name == "self" { prefix.last().cloned().unwrap_or_default() } else { name };
            out.push((bound, path));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push((r.rename.to_string(), path));
        }
        syn::UseTree::Glob(_) => out.push(("*".into(), prefix.clone())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                expand_use(t, prefix, out);
            }
        }
    }
}

/// Collects a file's relative paths (`crate::`, `super::`, `self::`, or starting at a name that
/// may be a child module), with the inline module they are written in.
struct Collector {
    /// The inline modules (not test modules) the visitor is in.
    inline: Vec<String>,
    /// (inline modules, path, line)
    paths: Vec<(Vec<String>, Vec<String>, usize)>,
    /// `pub use` re-exports at the file's top level: (name, path as written).
    reexports: Vec<(String, Vec<String>)>,
    /// Every `use` at the file's top level: (name it binds, path as written).
    imports: Vec<(String, Vec<String>)>,
    /// (inline modules, the type's path as written, line) of each `impl` of a type.
    impls: Vec<(Vec<String>, Vec<String>, usize)>,
    defines: BTreeSet<String>,
}

impl Collector {
    fn record(&mut self, segments: Vec<String>, line: usize) {
        if !segments.is_empty() {
            self.paths.push((self.inline.clone(), segments, line));
        }
    }

    /// Paths written in a macro's tokens (`a::b::c` runs of identifiers).
    fn tokens(&mut self, tokens: TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut line = 0;
        let mut colons = 0;
        for t in tokens {
            match t {
                TokenTree::Ident(i) => {
                    if run.is_empty() || colons == 2 {
                        if run.is_empty() {
                            line = i.span().start().line;
                        }
                        run.push(i.to_string());
                    } else {
                        let done = std::mem::take(&mut run);
                        if done.len() > 1 {
                            self.record(done, line);
                        }
                        line = i.span().start().line;
                        run.push(i.to_string());
                    }
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() && colons < 2 => colons += 1,
                TokenTree::Group(g) => {
                    let done = std::mem::take(&mut run);
                    if done.len() > 1 {
                        self.record(done, line);
                    }
                    colons = 0;
                    self.tokens(g.stream());
                }
                _ => {
                    let done = std::mem::take(&mut run);
                    if done.len() > 1 {
                        self.record(done, line);
                    }
                    colons = 0;
                }
            }
        }
        if run.len() > 1 {
            self.record(run, line);
        }
    }
}

impl<'a> Visit<'a> for Collector {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        if is_cfg_test(&m.attrs) {
            return;
        }
        if self.inline.is_empty() {
            self.defines.insert(m.ident.to_string());
        }
        if m.content.is_some() {
            self.inline.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.inline.pop();
        }
    }

    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        if is_cfg_test(&f.attrs) {
            return;
        }
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, i: &'a syn::ItemImpl) {
        if is_cfg_test(&i.attrs) {
            return;
        }
        // Inherent methods only: a trait's impl is reached through the trait, not the type.
        if let (None, syn::Type::Path(t)) = (&i.trait_, &*i.self_ty) {
            let segments: Vec<String> = t.path.segments.iter().map(|s| s.ident.to_string()).collect();
            let line = t.path.segments.first().unwrap().ident.span().start().line;
            self.impls.push((self.inline.clone(), segments, line));
        }
        syn::visit::visit_item_impl(self, i);
    }

    fn visit_item(&mut self, item: &'a syn::Item) {
        if self.inline.is_empty() {
            let name = match item {
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                _ => None,
            };
            if let Some(n) = name {
                self.defines.insert(n.to_string());
            }
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        if is_cfg_test(&u.attrs) {
            return;
        }
        let line = u.use_token.span.start().line;
        let mut leaves = Vec::new();
        expand_use(&u.tree, &mut Vec::new(), &mut leaves);
        let public = !matches!(u.vis, syn::Visibility::Inherited);
        for (name, path) in leaves {
            if self.inline.is_empty() {
                if public {
                    self.reexports.push((name.clone(), path.clone()));
                }
                self.imports.push((name, path.clone()));
            }
            self.record(path, line);
        }
    }

    fn visit_path(&mut self, p: &'a syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            let line = p.segments.first().unwrap().ident.span().start().line;
            self.record(segments, line);
        }
        syn::visit::visit_path(self, p);
    }

    /// `pub(in crate::a)` says who may see an item; it uses nothing.
    fn visit_visibility(&mut self, _: &'a syn::Visibility) {}

    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

/// Every `.rs` file under `dir`, but test files (`tests.rs`, `tests/`).
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy();
        if p.is_dir() {
            if name != "tests" && name != "bin" {
                source_files(&p, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(p);
        }
    }
}

/// The modules of the crate whose sources are `src`.
fn crate_modules(src: &Path) -> Vec<Module> {
    let mut files = Vec::new();
    source_files(src, &mut files);
    files.sort();
    let mut parsed = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut c = Collector { inline: Vec::new(), paths: Vec::new(), reexports: Vec::new(), imports: Vec::new(), impls: Vec::new(), defines: BTreeSet::new() };
        c.visit_file(&ast);
        parsed.push((f, c));
    }
    let known: BTreeSet<Vec<String>> = parsed.iter().map(|(f, _)| module_path(f.strip_prefix(src).unwrap())).collect();
    let mut modules = Vec::new();
    for (f, c) in parsed {
        let here = module_path(f.strip_prefix(src).unwrap());
        let absolute = |inline: &[String], path: &[String]| -> Option<Vec<String>> {
            let mut base: Vec<String> = here.iter().chain(inline).cloned().collect();
            let mut rest = path;
            match rest.first().map(String::as_str) {
                Some("crate") => {
                    base.clear();
                    rest = &rest[1..];
                }
                Some("self") => rest = &rest[1..],
                Some("super") => {
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop()?;
                        rest = &rest[1..];
                    }
                }
                Some(first) => {
                    // A path that starts at a child module of this one (2018 paths).
                    let mut child = base.clone();
                    child.push(first.to_string());
                    if !known.contains(&child) {
                        return None;
                    }
                }
                None => return None,
            }
            base.extend(rest.iter().cloned());
            Some(base)
        };
        let references = c
            .paths
            .iter()
            .filter_map(|(inline, path, line)| absolute(inline, path).map(|path| Reference { path, line: *line }))
            .collect();
        let reexports = c.reexports.iter().filter_map(|(name, path)| absolute(&[], path).map(|p| (name.clone(), p))).collect();
        // A type named by one identifier is this file's own, or one it imports.
        let impls = c
            .impls
            .iter()
            .filter_map(|(inline, path, line)| {
                let written = match path.as_slice() {
                    [one] => c.imports.iter().find(|(bound, _)| bound == one).map(|(_, p)| p.clone())?,
                    _ => path.clone(),
                };
                absolute(inline, &written).map(|path| Reference { path, line: *line })
            })
            .collect();
        modules.push(Module { file: f.strip_prefix(ROOT).unwrap_or(&f).to_path_buf(), path: here, defines: c.defines, reexports, references, impls });
    }
    modules
}

/// The module (index) that defines what the absolute `path` names, following `pub use`.
fn resolve(modules: &[Module], by_path: &HashMap<Vec<String>, usize>, path: &[String], depth: usize) -> Option<usize> {
    let n = (0..=path.len()).rev().find(|&n| by_path.contains_key(&path[..n]))?;
    let m = by_path[&path[..n]];
    let Some(name) = path.get(n) else { return Some(m) };
    if depth > 8 || modules[m].defines.contains(name) {
        return Some(m);
    }
    for (bound, target) in &modules[m].reexports {
        if bound == name {
            let mut next = target.clone();
            next.extend(path[n + 1..].iter().cloned());
            return resolve(modules, by_path, &next, depth + 1).or(Some(m));
        }
    }
    for (bound, target) in &modules[m].reexports {
        if bound == "*" {
            let mut next = target.clone();
            next.extend(path[n..].iter().cloned());
            if let Some(t) = resolve(modules, by_path, &next, depth + 1) {
                if t != m && modules[t].defines.contains(name) {
                    return Some(t);
                }
            }
        }
    }
    Some(m)
}

/// Where an arrow is drawn: the first line of `from` that names `to`, or the line of the `impl`
/// (in `to`) that adds methods to a type of `from`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Drawn {
    Names(usize),
    Impl(usize),
}

/// The edges between the files of one crate: from → to → where the arrow is drawn.
fn crate_edges(modules: &[Module]) -> BTreeMap<usize, BTreeMap<usize, Drawn>> {
    let by_path: HashMap<Vec<String>, usize> = modules.iter().enumerate().map(|(i, m)| (m.path.clone(), i)).collect();
    let mut edges: BTreeMap<usize, BTreeMap<usize, Drawn>> = BTreeMap::new();
    for (i, m) in modules.iter().enumerate() {
        for r in &m.references {
            if let Some(t) = resolve(modules, &by_path, &r.path, 0) {
                // A module's own declaration of a child is the tree, not an import.
                let declares_child = modules[t].path.len() == m.path.len() + 1 && modules[t].path.starts_with(&m.path) && r.path == modules[t].path;
                if t != i && !declares_child {
                    let drawn = edges.entry(i).or_default().entry(t).or_insert(Drawn::Names(r.line));
                    *drawn = (*drawn).min(Drawn::Names(r.line));
                }
            }
        }
        // The file that defines a type leans on each file that adds methods to it (the arrow is
        // drawn at the `impl`'s line, in the file that adds them).
        for r in &m.impls {
            if let Some(t) = resolve(modules, &by_path, &r.path, 0) {
                if t != i {
                    edges.entry(t).or_default().entry(i).or_insert(Drawn::Impl(r.line));
                }
            }
        }
    }
    edges
}

/// The strongly connected components (Tarjan) of more than one node.
fn circles(n: usize, edges: &BTreeMap<usize, BTreeMap<usize, Drawn>>) -> Vec<Vec<usize>> {
    struct State<'e> {
        edges: &'e BTreeMap<usize, BTreeMap<usize, Drawn>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn connect(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> = s.edges.get(&v).map(|t| t.keys().copied().collect()).unwrap_or_default();
        for w in targets {
            match s.index[w] {
                None => {
                    connect(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(i) if s.on_stack[w] => s.low[v] = s.low[v].min(i),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut scc = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State { edges, index: vec![None; n], low: vec![0; n], on_stack: vec![false; n], stack: Vec::new(), next: 0, out: Vec::new() };
    for v in 0..n {
        if s.index[v].is_none() {
            connect(&mut s, v);
        }
    }
    s.out
}

/// Each circle of `src`'s crate that joins files of more than one folder, as readable text:
/// its files, and each arrow between them with the line that draws it.
fn circles_across_folders(src: &Path) -> Vec<String> {
    let modules = crate_modules(src);
    let edges = crate_edges(&modules);
    let mut found = Vec::new();
    for scc in circles(modules.len(), &edges) {
        let folders: BTreeSet<&Path> = scc.iter().map(|&i| modules[i].file.parent().unwrap()).collect();
        if folders.len() < 2 {
            continue;
        }
        let mut text = String::from("a circle between folders:");
        for &from in &scc {
            for (&to, &drawn) in &edges[&from] {
                if scc.contains(&to) {
                    let (a, b) = (modules[from].file.display(), modules[to].file.display());
                    text.push_str(&match drawn {
                        Drawn::Names(line) => format!("\n  {a}:{line} → {b}"),
                        Drawn::Impl(line) => format!("\n  {a} → {b}:{line} (methods of a type of the first, added by an impl in the second)"),
                    });
                }
            }
        }
        found.push(text);
    }
    found
}

/// Every crate's `src` folder in the workspace.
fn crate_sources() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut out = vec![root.join("src")];
    for e in fs::read_dir(root.join("crates")).unwrap() {
        let src = e.unwrap().path().join("src");
        if src.is_dir() {
            out.push(src);
        }
    }
    out.sort();
    out
}

#[test]
fn no_circle_joins_files_of_different_folders() {
    let sources = crate_sources();
    assert!(sources.len() > 8, "the crates were not found: {sources:?}");
    let found: Vec<String> = sources.iter().flat_map(|s| circles_across_folders(s)).collect();
    assert!(found.is_empty(), "{} circles join files of different folders (move what both sides need to where both can see it, below them):\n{}", found.len(), found.join("\n"));
}

#[test]
fn a_circle_between_folders_is_seen_and_one_inside_a_folder_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |p: &str, text: &str| {
        let p = src.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    write("lib.rs", "mod a;\nmod b;\nmod c;\nmod e;\nmod f;\nmod g;\n");
    // a/ and b/ lean on each other: a/mod.rs re-exports a/x.rs's item, which b/y.rs uses through it.
    write("a/mod.rs", "mod x;\npub use x::Thing;\nmod y;\n");
    write("a/x.rs", "pub struct Thing;\nfn f() -> crate::b::Other { todo!() }\n");
    write("a/y.rs", "use super::x::Thing;\npub fn g() {}\n");
    write("b/mod.rs", "pub struct Other;\nmod y;\npub fn k() {\n    y::h()\n}\n");
    write("b/y.rs", "fn h() {\n    let _ = crate::a::Thing;\n}\n#[cfg(test)]\nmod tests {\n    use crate::a::y::g;\n}\n");
    // c/mod.rs's type gets methods in e.rs, which names c/: a circle. A trait's impl (f.rs)
    // and a visibility (`pub(in crate::c)`, g.rs) are no arrows.
    write("c/mod.rs", "pub struct Worker;\npub fn k() {\n    crate::g::q();\n}\n");
    write("e.rs", "use crate::c::Worker;\nimpl Worker {\n    fn m(&self) {}\n}\n");
    write("f.rs", "use crate::c::Worker;\nimpl Clone for Worker {\n    fn clone(&self) -> Self {\n        Worker\n    }\n}\n");
    write("g.rs", "pub(in crate::c) fn q() {}\n");
    let found = circles_across_folders(src);
    assert_eq!(found.len(), 2, "{found:#?}");
    let ab = found.iter().find(|t| t.contains("a/x.rs")).unwrap();
    assert!(ab.contains("a/x.rs:2 → ") && ab.contains("b/mod.rs:4 → "), "{ab}");
    assert!(ab.contains("b/y.rs:2 → ") && ab.contains("a/x.rs"), "{ab}");
    // `mod y;` is the tree, not an arrow, and a/y.rs is reached only from a test module: it is
    // not in the circle.
    assert!(!ab.contains("a/y.rs"), "{ab}");
    let ce = found.iter().find(|t| t.contains("c/mod.rs")).unwrap();
    assert!(ce.contains("e.rs:1 → ") && ce.contains("e.rs:2 (methods of a type of the first"), "{ce}");
    assert!(!ce.contains("f.rs") && !ce.contains("g.rs"), "{ce}");
}
