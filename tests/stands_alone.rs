//! The repository stands alone: no file of the SDK, its bindings, tests, scripts, benchmarks,
//! docs or README reads or links anything beside the repository (a fresh clone has nothing
//! there). Copies a test needs live inside (e.g. `tests/objc/seed/`).

use std::path::{Path, PathBuf};

/// What a reference out of the repository looks like: the sibling folder the project's
/// specifications and research live in on developer machines.
fn outside_markers() -> [String; 2] {
    // Built from parts, so this file does not match itself.
    [format!("..{}shared", '/'), format!("/work{}shared", '/')]
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn nothing_reads_or_links_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "src", "include", "bindings", "tests", "examples", "scripts", ".ci", "docs", "bench",
    ] {
        files_under(&root.join(dir), &mut files);
    }
    for file in ["README.md", "Cargo.toml", "build.rs", "cbindgen.toml"] {
        files.push(root.join(file));
    }
    let markers = outside_markers();
    let mut found = Vec::new();
    for file in &files {
        // Binary files (none are expected) cannot hold a path worth reporting.
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if markers.iter().any(|m| line.contains(m.as_str())) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        files.len() > 20,
        "the scan found almost no files under {}",
        root.display()
    );
    assert!(
        found.is_empty(),
        "references out of the repository:\n{}",
        found.join("\n")
    );
}
