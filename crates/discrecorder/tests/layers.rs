//! The layering rule of the workspace's two library crates: module imports point one way.
//!
//! Reads every module of `crates/discrecorder/src` and `crates/mmc/src`, collects the modules
//! each one names through `crate::...` and `super::...` paths (in `use` items and inline paths,
//! grouped `use crate::{a, b::C}` included, names re-exported by `lib.rs` resolved to the module
//! that defines them), builds the graph and fails on any cycle, naming it. Unit-test modules
//! (`#[cfg(test)] mod tests`) and comments are not part of the graph: a test may import what it
//! tests. `lib.rs` is the crate's face and is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`sys::sg`) -> source text without comments and unit-test modules.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = parts.join("::");
            let text = std::fs::read_to_string(&path).expect("read module");
            out.insert(name, strip(&text));
        }
    }
    out
}

/// The text without line comments and without a trailing `#[cfg(test)] mod tests { ... }`.
fn strip(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts with `prefix` (`crate::` or `super::`), as its segments; grouped
/// imports are expanded one level (`crate::{a, b::C}` gives `a` and `b::C`).
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(segments(item.trim()));
            }
        } else {
            out.push(segments(rest));
        }
    }
    out
}

fn segments(s: &str) -> Vec<String> {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    s[..end]
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `lib.rs`'s `pub use module::{Name, ...}` items: re-exported name -> module.
fn root_names(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in strip(lib).lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.split(" as ").last().unwrap_or(name).trim();
            out.insert(name.to_owned(), module.to_owned());
        }
    }
    out
}

/// The import graph of one crate: module -> modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let roots = root_names(&lib);
    let resolve = |segs: &[String]| -> Option<String> {
        // The longest prefix that is a module; a bare name re-exported at the root is its
        // defining module.
        for n in (1..=segs.len()).rev() {
            let candidate = segs[..n].join("::");
            if mods.contains_key(&candidate) {
                return Some(candidate);
            }
        }
        roots.get(segs.first()?).cloned()
    };
    let mut g = BTreeMap::new();
    for (name, text) in &mods {
        if name == "lib" {
            continue;
        }
        let mut deps = BTreeSet::new();
        for segs in paths_after(text, "crate::") {
            if let Some(m) = resolve(&segs) {
                deps.insert(m);
            }
        }
        let parent: Vec<String> = name.split("::").map(str::to_owned).collect();
        for segs in paths_after(text, "super::") {
            let mut full = parent[..parent.len().saturating_sub(1)].to_vec();
            full.extend(segs);
            if let Some(m) = resolve(&full) {
                deps.insert(m);
            }
        }
        deps.remove(name);
        deps.remove("lib");
        g.insert(name.clone(), deps);
    }
    g
}

/// One cycle of the graph, if there is any, as `a -> b -> ... -> a`.
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(n.to_owned(), Mark::Open);
        path.push(n.to_owned());
        for d in g.get(n).into_iter().flatten() {
            match marks.get(d).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let start = path.iter().position(|p| p == d).expect("on the path");
                    let mut cycle = path[start..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(d, g, marks, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(n.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in g.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(n, g, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

fn assert_no_cycle(name: &str) {
    let g = graph(&crate_src(name));
    assert!(g.len() > 5, "{name}: only {} modules read", g.len());
    if let Some(cycle) = find_cycle(&g) {
        panic!(
            "crates/{name}/src has an import cycle: {} (imports must point one way; move the shared item into a lower module)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn library_modules_import_one_way() {
    assert_no_cycle("discrecorder");
}

#[test]
fn mmc_modules_import_one_way() {
    assert_no_cycle("mmc");
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle_and_reads_grouped_and_root_imports() {
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("lib.rs"),
        "pub use c::Thing;\nmod a; mod b; mod c;\n",
    )
    .expect("w");
    std::fs::write(dir.join("a.rs"), "use crate::{b, x::Y};\n").expect("w");
    std::fs::write(dir.join("b.rs"), "fn f() -> crate::Thing { todo!() }\n").expect("w");
    std::fs::write(
        dir.join("c.rs"),
        "// crate::a is only a comment\nuse crate::a::Z;\n#[cfg(test)]\nmod tests { use crate::b; }\n",
    )
    .expect("w");
    let g = graph(&dir);
    assert_eq!(
        find_cycle(&g).map(|c| c.join(" -> ")),
        Some("a -> b -> c -> a".to_owned())
    );
    std::fs::write(
        dir.join("c.rs"),
        "#[cfg(test)]\nmod tests { use crate::a; }\n",
    )
    .expect("w");
    assert_eq!(find_cycle(&graph(&dir)), None);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("layers-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// The writing layer (`format`, `IDiscFormat2Data`/`Erase`) sits above the recorder: it uses
/// the recorder, and nothing outside it imports it (a burner is built on exclusive access, never
/// the other way round).
#[test]
fn the_writing_layer_sits_above_the_recorder() {
    let g = graph(&crate_src("discrecorder"));
    let format_deps: BTreeSet<&String> = g
        .iter()
        .filter(|(m, _)| m.as_str() == "format" || m.starts_with("format::"))
        .flat_map(|(_, d)| d)
        .collect();
    assert!(
        format_deps.iter().any(|d| d.as_str() == "recorder"),
        "format does not use the recorder: {format_deps:?}"
    );
    for (m, deps) in &g {
        if m == "format" || m.starts_with("format::") {
            continue;
        }
        let up: Vec<&String> = deps
            .iter()
            .filter(|d| d.as_str() == "format" || d.starts_with("format::"))
            .collect();
        assert!(
            up.is_empty(),
            "{m} imports the writing layer above it: {up:?}"
        );
    }
}
