//! The modules of the crate form layers: each may use only modules of lower
//! layers, so no import cycle can form. This reads the sources (test code
//! aside) and fails on any use of a module from its own layer or above.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom to top. A module may use the modules of the layers before its own.
const LAYERS: &[&[&str]] = &[
    &["text", "tenants"],
    &["http", "route", "stash", "wasm", "mounts", "topology"],
    &["sub", "session"],
    &["files", "pipes", "wpt", "websocket"],
    &["config", "reply"],
    &["tls", "worlds"],
    &["dispatch"],
    &["app"],
    &["server"],
    &["cli", "testing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The crate's top-level modules each file of `module` names as `crate::X`
/// (or `crate::{X, …}`), outside its `#[cfg(test)]` part.
fn uses(src: &Path, module: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let file = src.join(format!("{module}.rs"));
    let dir = src.join(module);
    let mut files = Vec::new();
    if file.exists() {
        files.push(file);
    }
    if dir.is_dir() {
        walk(&dir, &mut files);
    }
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "tests.rs" || name == "testing.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code: String = text
            .split("#[cfg(test)]\nmod tests {")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")]
            };
            for used in names {
                if !used.is_empty() && used != module && layer_of(used).is_some() {
                    found.insert(used.to_string(), path.display().to_string());
                }
            }
        }
    }
    found
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs")).then_some(stem)
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();
    modules.sort();
    modules.dedup();
    let mut problems = Vec::new();
    for module in &modules {
        let Some(own) = layer_of(module) else {
            problems.push(format!("{module} is in no layer: add it to LAYERS"));
            continue;
        };
        for (used, file) in uses(&src, module) {
            let theirs = layer_of(&used).unwrap();
            if theirs >= own {
                problems.push(format!(
                    "{file}: {module} (layer {own}) uses {used} (layer {theirs})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
