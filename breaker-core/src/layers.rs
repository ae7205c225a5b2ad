//! Keeps the module map of the crate docs true: reads this crate's sources and fails on a
//! `crate::` path from a module to one that is not below it.
//!
//! Each top-level module has a rank, its position in [`ORDER`]; a module may name only
//! modules of lower rank. So the modules cannot form a cycle, and a new module has to be
//! placed in the order before anything can use it (or it uses anything).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules, lowest first, grouped as the crate docs' module map shows them.
const ORDER: &[&[&str]] = &[
    // Layer 0: leaves.
    &[
        "clock",
        "machine",
        "name",
        "backoff",
        "policy",
        "retry_hints",
        "verdict",
        "cause",
    ],
    // Layer 1: what the breaker is described with.
    &["circuit", "config", "error", "events", "http"],
    // Layer 2: the breaker.
    &["breaker"],
    // Layer 3: what is built on breakers.
    &[
        "export",
        "guard",
        "registry",
        "keyed",
        "key_choice",
        "tower",
        "fleet",
    ],
];

/// A module's position in [`ORDER`], flattened.
fn rank(module: &str) -> Option<usize> {
    ORDER
        .iter()
        .flat_map(|layer| layer.iter())
        .position(|m| *m == module)
}

/// One `crate::` path in a non-test source file.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The `.rs` files under `dir`, except `tests.rs` files and `tests/` folders (test code may
/// use anything).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "tests" {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// `text` without comments (`//` to the end of the line, doc comments included) and without
/// `#[cfg(test)]` items: blanked, not removed, so that line numbers stay true.
fn code_only(text: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    let mut code: String = out.into_iter().collect();
    while let Some(start) = code.find("#[cfg(test)]") {
        // Blank the attribute and the item after it: up to its `;` or its matching `}`.
        let bytes = code.as_bytes();
        let mut end = start + "#[cfg(test)]".len();
        let mut depth = 0usize;
        while end < bytes.len() {
            match bytes[end] {
                b'{' => depth += 1,
                // The end of the block the item is in (a field or an arm was cfg'd).
                b'}' if depth == 0 => break,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end += 1;
                        break;
                    }
                }
                b';' | b',' if depth == 0 => {
                    end += 1;
                    break;
                }
                _ => {}
            }
            end += 1;
        }
        let blank: String = code[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(start..end, &blank);
    }
    code
}

/// The top-level modules named by `crate::` paths on each line of `code`, including those
/// in a `use crate::{a::X, b::Y}` group.
fn named_modules(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let lines: Vec<&str> = code.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // A group may span lines: read to its closing brace.
                let mut text = group.to_string();
                let mut end = index;
                let mut depth =
                    (1 + text.matches('{').count()).saturating_sub(text.matches('}').count());
                while depth > 0 && end + 1 < lines.len() {
                    end += 1;
                    text.push_str(lines[end]);
                    depth = (depth + lines[end].matches('{').count())
                        .saturating_sub(lines[end].matches('}').count());
                }
                found.extend(group_heads(&text).into_iter().map(|m| (index + 1, m)));
            } else {
                let head: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if head.starts_with(|c: char| c.is_ascii_lowercase()) {
                    found.push((index + 1, head));
                }
            }
            rest = after;
        }
        index += 1;
    }
    found
}

/// The first segments of the paths in a `use` group's text, at its top nesting level.
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut at_start = true;
    let mut word = String::new();
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if at_start && (c.is_ascii_alphanumeric() || c == '_') => word.push(c),
            _ => {
                if at_start && !word.is_empty() {
                    if word.starts_with(|c: char| c.is_ascii_lowercase()) {
                        heads.push(word.clone());
                    }
                    word.clear();
                    at_start = false;
                }
            }
        }
    }
    if at_start && word.starts_with(|c: char| c.is_ascii_lowercase()) {
        heads.push(word);
    }
    heads
}

/// Every `crate::` path from one top-level module to another, in the crate's sources.
fn crate_uses() -> Vec<Use> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut uses = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let from = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a file name")
            .trim_end_matches(".rs")
            .to_string();
        if from == "lib" || from == "layers" {
            continue;
        }
        let code = code_only(&fs::read_to_string(&file).expect("a source file"));
        for (line, to) in named_modules(&code) {
            // Items of the root that are not modules (a re-exported macro) are no layer.
            let is_module = src.join(format!("{to}.rs")).is_file() || src.join(&to).is_dir();
            if to != from && is_module {
                uses.push(Use {
                    file: relative.display().to_string(),
                    line,
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    uses.sort();
    uses
}

#[test]
fn modules_use_only_the_layers_below() {
    let uses = crate_uses();
    assert!(
        uses.iter().any(|u| u.from == "breaker" && u.to == "config"),
        "the reader of sources found nothing: it is broken"
    );
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    for u in &uses {
        match (rank(&u.from), rank(&u.to)) {
            (None, _) => {
                unplaced.insert(u.from.clone());
            }
            (_, None) => {
                unplaced.insert(u.to.clone());
            }
            (Some(from), Some(to)) if to > from => upward.push(u),
            _ => {}
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from the order in layers.rs (and the crate docs' module map): {unplaced:?}"
    );
    let report: Vec<String> = upward
        .iter()
        .map(|u| {
            format!(
                "{}:{}: `{}` uses `{}`, which is not below it",
                u.file, u.line, u.from, u.to
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "imports against the layers:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_reader_sees_groups_comments_and_test_code() {
    let code = code_only(
        "use crate::{alpha::A, beta::{B, C}};\n// crate::gamma in a comment\n\
         #[cfg(test)]\nmod tests { use crate::delta; }\nfn f() { crate::epsilon::f() }\n",
    );
    let named: Vec<(usize, String)> = named_modules(&code);
    assert_eq!(
        named,
        [
            (1, "alpha".to_string()),
            (1, "beta".to_string()),
            (5, "epsilon".to_string())
        ]
    );
}
