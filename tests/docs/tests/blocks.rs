//! The ```rust blocks of README.md, docs/ and the package and example
//! READMEs, compiled and run as written
//! (build.rs makes each the body of an async function returning a Result),
//! each in a fresh current directory: `sqlite://locks.db` lands there.
use std::future::Future;
use std::pin::Pin;

type Block = Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error>>>>>;

include!(concat!(env!("OUT_DIR"), "/blocks.rs"));

// One test runs every block, one after another: they change the current
// directory, which the test harness's threads share.
#[tokio::test(flavor = "current_thread")]
async fn every_rust_block_of_the_docs_runs() {
    assert!(!BLOCKS.is_empty(), "build.rs found no ```rust block in README.md, docs/ or the READMEs");
    let start = std::env::current_dir().unwrap();
    for (file, line, block) in BLOCKS {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_current_dir(dir.path()).unwrap();
        let result = block().await;
        std::env::set_current_dir(&start).unwrap();
        if let Err(e) = result {
            panic!("the ```rust block of {file} at line {line} failed: {e}");
        }
        eprintln!("ran the ```rust block of {file} at line {line}");
    }
}
