//! The four programs users build (the CLI for the demo, the C library for
//! scripts/install-c, the Python and Node modules for pip and npm) must
//! resolve every dependency they share to one feature set, or each build
//! recompiles it: the reason tools/workspace-hack exists. The same holds
//! against the workspace's own build (`--workspace --all-targets`, what
//! scripts/test builds before the suites build one program each). This fails when a
//! new dependency or feature breaks that, naming the package and the
//! feature sets; add the union to tools/workspace-hack/Cargo.toml.
use std::collections::BTreeMap;
use std::process::Command;

const PROGRAMS: [&str; 5] = ["ferrolock-cli", "ferrolock-c", "ferrolock-python", "ferrolock-node", "ferrolock-uniffi"];

/// What scripts/test builds first, in debug: every member, every target.
const WORKSPACE: &str = "the workspace";

/// package (name and version) -> its features, for one program's build.
fn features_of(program: &str) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let selection: &[&str] =
        if program == WORKSPACE { &["-e", "normal,build,dev", "--workspace"] } else { &["-e", "normal,build", "-p", program] };
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-q", "--prefix", "none", "--no-dedupe", "-f", "{p}|{f}"])
        .args(selection)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree -p {program}: {}", String::from_utf8_lossy(&out.stderr));
    let mut map = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let Some((package, features)) = line.split_once('|') else { continue };
        // "name vX.Y.Z (path)" or "name vX.Y.Z (proc-macro)": name and version.
        let package = package.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let previous = map.insert(package.clone(), features.to_string());
        // One build may hold a package twice (a normal and a build dependency)
        // with two feature sets: cargo builds it twice even alone, so it is
        // not this test's concern; keep the first.
        if let Some(previous) = previous {
            map.insert(package, previous);
        }
    }
    map
}

#[test]
fn the_four_programs_share_one_feature_set_per_dependency() {
    let trees: Vec<_> = PROGRAMS.iter().chain([&WORKSPACE]).map(|p| (p, features_of(p))).collect();
    assert!(trees.iter().all(|(_, t)| t.keys().any(|k| k.starts_with("tokio "))), "cargo tree listed no tokio");
    let mut differ = Vec::new();
    for (i, (a, ta)) in trees.iter().enumerate() {
        for (b, tb) in &trees[i + 1..] {
            for (package, fa) in ta {
                if let Some(fb) = tb.get(package) {
                    if fa != fb {
                        differ.push(format!("{package}: {a} [{fa}] but {b} [{fb}]"));
                    }
                }
            }
        }
    }
    assert!(differ.is_empty(), "rebuilt per program (add the union to tools/workspace-hack):\n{}", differ.join("\n"));
}
