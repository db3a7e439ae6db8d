//! No code: see Cargo.toml. Depending on this crate turns on, for every
//! program of the workspace, the same features of the dependencies they
//! share.
