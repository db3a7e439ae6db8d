//! `ferrolock-c-header ROOT`: write ROOT/include/ferrolock.h from the
//! `ferrolock-c` crate (ROOT/bindings/c) with the settings of
//! bindings/c/cbindgen.toml, as `cbindgen --config bindings/c/cbindgen.toml
//! --crate ferrolock-c --output include/ferrolock.h bindings/c` would.
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| ".".into()));
    let crate_dir = root.join("bindings/c");
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("ferrolock-c-header: bindings/c/cbindgen.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_crate(&crate_dir)
        .generate();
    match bindings {
        Ok(bindings) => {
            bindings.write_to_file(root.join("include/ferrolock.h"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferrolock-c-header: {e}");
            ExitCode::FAILURE
        }
    }
}
