//! The layout's claims (ARCHITECTURE.md), checked: `src/` has no import
//! circle and no arrow back up, and outside `src/publish/` no code names a
//! network (issue 28).

use std::path::{Path, PathBuf};
use std::process::Command;

use campaign_bot::publish::registry;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_import_graph_has_no_circle_and_no_arrow_back_up() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/import-graph.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(src())
        .arg("--check")
        .output()
        .expect("python3 runs the import graph");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("circles: 0"), "{text}");
}

/// The code lines of a file: comments and test modules left out.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

#[test]
fn outside_publish_no_code_names_a_network() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let publish = src().join("publish");
    let kinds: Vec<&str> = registry::all_kinds();
    let names: Vec<&str> = registry::NETWORKS
        .iter()
        .map(|n| n.profile().name)
        .collect();
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&publish)) {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in code_lines(&text) {
            for k in &kinds {
                // A kind as a string, or a network's module by its path.
                if line.contains(&format!("\"{k}\"")) || line.contains(&format!("publish::{k}")) {
                    found.push(format!("{}:{n}: {}", f.display(), line.trim()));
                }
            }
            for name in names.iter().filter(|n| n.len() > 1) {
                if line.contains(&format!("\"{name}\"")) {
                    found.push(format!("{}:{n}: {}", f.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "networks named outside src/publish/:\n{}",
        found.join("\n")
    );
}
