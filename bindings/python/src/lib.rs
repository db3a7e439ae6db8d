//! `ferrolock._native`: the PyO3 glue under the `ferrolock` Python package.
//! Conversion, error mapping and the async bridge only; every lock rule
//! lives in the core. The Python package (packages/python) is the API users
//! see; this module is private.

mod error;
mod events;
mod held;
mod lock;
mod locks;
mod runtime;
mod token;

use pyo3::prelude::*;

/// Error codes of the core, by Python class name (checked by the suite
/// against tests/vectors/errors.json and ferrolock.errors).
fn error_codes() -> Vec<(&'static str, &'static str)> {
    use ferrolock::ErrorKind as K;
    K::ALL
        .iter()
        .map(|k| {
            let class = match k {
                K::InvalidArgument => "InvalidArgument",
                K::InvalidToken => "InvalidToken",
                K::Timeout => "LockTimeout",
                K::Lost => "LockLost",
                K::NotHeld => "NotHeld",
                K::Unsupported => "Unsupported",
                K::Unavailable => "BackendUnavailable",
                K::Closed => "Closed",
                K::Internal => "LockError",
            };
            (class, k.code())
        })
        .collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Fork handlers first: a fork before the first lock is seen too.
    ferrolock::binding::watch_forks();
    m.add_class::<locks::Provider>()?;
    m.add_class::<lock::Lock>()?;
    m.add_class::<held::Held>()?;
    m.add_class::<events::Events>()?;
    m.add_class::<runtime::Task>()?;
    m.add_class::<runtime::Completions>()?;
    m.add_function(wrap_pyfunction!(token::decode_token, m)?)?;
    m.add_function(wrap_pyfunction!(default_url, m)?)?;
    m.add("ERROR_CODES", error_codes())?;
    m.add("MAX_NAME_BYTES", ferrolock::MAX_NAME_BYTES)?;
    m.add("DEFAULT_TTL", ferrolock::DEFAULT_TTL.as_secs_f64())?;
    m.add("DEFAULT_TIMEOUT", ferrolock::DEFAULT_TIMEOUT.as_secs_f64())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// The URL `connect()` uses without one: `$FERROLOCK_URL`, else the SQLite
/// file under `$XDG_DATA_HOME/ferrolock/`.
#[pyfunction]
fn default_url() -> String {
    ferrolock::default_url()
}
