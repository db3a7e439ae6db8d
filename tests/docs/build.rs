//! Extract every ```rust block of README.md, docs/**/*.md and the READMEs
//! of packages/* and examples/* into
//! $OUT_DIR/blocks.rs, each the body of an async function, so that
//! tests/blocks.rs compiles and runs them as written: a block that does not
//! compile fails the build of the test, one that fails at run time fails
//! the test. A block preceded by a `<!-- not run: why -->` line is skipped
//! (scripts/suites/python's test_docs.py checks every block is run or says
//! why not).
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// README.md, docs/**/*.md and the READMEs of packages/* and examples/*:
/// the same list as every other runner of the blocks.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    for folder in ["packages", "examples"] {
        println!("cargo:rerun-if-changed={}", root.join(folder).display());
        let mut readmes: Vec<_> = std::fs::read_dir(root.join(folder))
            .unwrap()
            .map(|e| e.unwrap().path().join("README.md"))
            .filter(|p| p.is_file())
            .collect();
        readmes.sort();
        files.extend(readmes);
    }
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let mut out = String::new();
    let mut list = String::from("pub const BLOCKS: &[(&str, usize, fn() -> Block)] = &[\n");
    let mut n = 0;
    for file in markdown_files(&root) {
        println!("cargo:rerun-if-changed={}", file.display());
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let Some(info) = lines[i].trim_start().strip_prefix("```") else {
                i += 1;
                continue;
            };
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].trim_start().starts_with("```") {
                end += 1;
            }
            let skipped = i > 0 && lines[i - 1].trim_start().starts_with("<!-- not run");
            if info.trim() == "rust" && !skipped {
                n += 1;
                let body = lines[start..end].join("\n");
                writeln!(
                    out,
                    "// {name}, line {start}\n#[allow(unused, clippy::all)]\nasync fn block_{n}() -> Result<(), Box<dyn std::error::Error>> {{\n{body}\n    Ok(())\n}}\n"
                )
                .unwrap();
                writeln!(list, "    ({name:?}, {start}, || Box::pin(block_{n}())),").unwrap();
            }
            i = end + 1;
        }
    }
    list.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("blocks.rs");
    std::fs::write(dest, out + &list).unwrap();
}
