//! One mapping from the core's `Error` to the exception classes defined in
//! Python (`ferrolock.errors`), each with its stable `code` and details.

use ferrolock::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

/// The Python class name of each kind (DESIGN.md's error table).
fn class_name(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument(_) => "InvalidArgument",
        Error::InvalidToken(_) => "InvalidToken",
        Error::Timeout { .. } => "LockTimeout",
        Error::Lost { .. } => "LockLost",
        Error::NotHeld { .. } => "NotHeld",
        Error::Unsupported { .. } => "Unsupported",
        Error::Unavailable { .. } => "BackendUnavailable",
        Error::Closed => "Closed",
        _ => "LockError",
    }
}

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE.get_or_try_init(py, || Ok(py.import("ferrolock.errors")?.unbind())).map(|m| m.bind(py))
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let cls = errors_module(py)?.getattr(class_name(e))?;
    let kwargs = PyDict::new(py);
    match e {
        Error::Timeout { name, waited } => {
            kwargs.set_item("name", name)?;
            kwargs.set_item("waited", waited.as_secs_f64())?;
        }
        Error::Lost { name } | Error::NotHeld { name } => kwargs.set_item("name", name)?,
        Error::Unsupported { backend, operation } => {
            kwargs.set_item("backend", *backend)?;
            kwargs.set_item("operation", operation)?;
        }
        Error::Unavailable { backend, .. } => kwargs.set_item("backend", *backend)?,
        _ => {}
    }
    let value = cls.call((e.to_string(),), Some(&kwargs))?;
    let err = PyErr::from_value(value);
    // The backend's own error, as `__cause__` (`raise … from …`).
    if let Some(cause) = std::error::Error::source(e) {
        err.set_cause(py, Some(pyo3::exceptions::PyConnectionError::new_err(cause.to_string())));
    }
    Ok(err)
}

/// The Python exception for a core error.
pub fn to_py(e: Error) -> PyErr {
    Python::attach(|py| to_py_in(py, e))
}

/// The Python exception for a core error, the GIL held.
pub fn to_py_in(py: Python<'_>, e: Error) -> PyErr {
    build(py, &e).unwrap_or_else(|failed| failed)
}

/// `map_err(err)` for results of the core.
pub trait IntoPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// An `InvalidArgument` raised by the glue itself (a duration that does not fit).
pub fn invalid(message: String) -> PyErr {
    to_py(Error::InvalidArgument(message))
}
