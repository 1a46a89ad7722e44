//! Imports point down: every `crate::` path (and every `super::` that leaves its folder)
//! in `src/` is read, and a module that names a layer above its own fails this test. The
//! order is `lib.rs`'s; a new folder must be placed in it before anything compiles green.

use std::path::Path;

/// The layers from the bottom up; each may use those before it, never those after.
const LAYERS: [&str; 14] = [
    "base",
    "config",
    "store",
    "wechat",
    "state",
    "mini_program",
    "refunds",
    "payments",
    "orders",
    "reconciliation",
    "webhooks",
    "http",
    "app",
    "ops",
];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// The layers a file's code names: `crate::x`, and `super::` chains that climb out of
/// the file's folder (`folders` is the file's path below `src/`, without the file). A
/// `use` group may span lines, so the code is read whole, its `//` comments dropped.
fn named_layers(code: &str, folders: &[&str], is_mod_rs: bool) -> Vec<(usize, String)> {
    let code: String = code
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let names = first_names(&code[at + "crate::".len()..]);
        named.extend(names.into_iter().map(|n| (line_of(at), n)));
    }
    // A `mod.rs` is its folder: its `super` is the folder above.
    let module_depth = folders.len() + usize::from(!is_mod_rs);
    let mut from = 0;
    while let Some(found) = code[from..].find("super::") {
        let at = from + found;
        let mut after = &code[at..];
        let mut depth = 0;
        while let Some(next) = after.strip_prefix("super::") {
            depth += 1;
            after = next;
        }
        if depth >= module_depth {
            named.extend(first_names(after).into_iter().map(|n| (line_of(at), n)));
        }
        from = code.len() - after.len();
    }
    named
}

/// `x::...` gives `x`; `{x, y::{z, w}}` gives `x` and `y` (a group may span lines).
fn first_names(path: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = path.strip_prefix('{') else {
        return vec![ident(path)];
    };
    let mut names = vec![ident(group)];
    let mut depth = 0;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => names.push(ident(&group[at + 1..])),
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// Every upward import in one file, as a sentence each.
fn upward_imports(relative: &Path, code: &str) -> Vec<String> {
    let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
    let Some((file, folders)) = parts.split_last() else {
        return Vec::new();
    };
    let Some(own) = folders.first() else {
        return Vec::new(); // lib.rs and main.rs stand above every layer.
    };
    let Some(own_rank) = rank(own) else {
        return vec![format!(
            "{}: the folder `{own}` is in no layer: place it in layer_rule's LAYERS (and \
             lib.rs's list)",
            relative.display()
        )];
    };
    let mut found = Vec::new();
    for (line, name) in named_layers(code, folders, *file == "mod.rs") {
        match rank(&name) {
            Some(theirs) if theirs > own_rank => found.push(format!(
                "{}:{line} uses crate::{name} (layer {theirs}) from {own} (layer {own_rank}): \
                 imports point down",
                relative.display()
            )),
            _ => {}
        }
    }
    found
}

fn rust_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn imports_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 40, "src/ was read: {} files", files.len());
    let mut found = Vec::new();
    for path in &files {
        let code = std::fs::read_to_string(path).expect("a source file");
        let relative = path.strip_prefix(&src).expect("below src/");
        found.extend(upward_imports(relative, &code));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_folder_of_src_is_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            assert!(rank(name).is_some(), "src/{name} is in no layer");
        }
    }
}

#[test]
fn an_upward_import_is_caught_in_every_spelling() {
    let upward = [
        "use crate::http::auth::CurrentUser;",
        "    let x = crate::payments::sync(state);",
        "use crate::{base::clock, ops};",
        "use crate::{\n    base::{clock, ids},\n    http::auth,\n};",
    ];
    for code in upward {
        let found = upward_imports(Path::new("store/orders.rs"), code);
        assert_eq!(found.len(), 1, "{code}: {found:?}");
        assert!(found[0].contains("store/orders.rs:"), "{found:?}");
    }
    // Climbing out of the folder with `super` names the layer above as well.
    let found = upward_imports(Path::new("wechat/mod.rs"), "use super::state::AppState;");
    assert_eq!(found.len(), 1, "{found:?}");
    let found = upward_imports(
        Path::new("http/notify/v2.rs"),
        "use super::super::super::app::X;",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    // Down, within the folder, or in a comment: fine.
    let fine = [
        "use crate::store::Store;",
        "use super::v3::V3Gateway;",
        "// crate::ops is named in a comment",
        "use crate::wechat::{Gateways, V2Gateway};",
    ];
    for code in fine {
        let found = upward_imports(Path::new("wechat/v2.rs"), code);
        assert!(found.is_empty(), "{code}: {found:?}");
    }
    let found = upward_imports(Path::new("newfolder/x.rs"), "");
    assert!(found[0].contains("in no layer"), "{found:?}");
}
