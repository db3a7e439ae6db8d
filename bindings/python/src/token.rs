//! `decode_token`: a token's public fields (never its owner id).

use crate::error::IntoPy as _;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyfunction]
pub fn decode_token<'py>(py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyDict>> {
    let info = ferrolock::token::decode(token).py()?;
    let d = PyDict::new(py);
    d.set_item("backend", info.backend.name())?;
    d.set_item("namespace", info.namespace)?;
    d.set_item("name", info.name)?;
    d.set_item("fence", info.fence)?;
    d.set_item("mode", info.mode.as_str())?;
    d.set_item("expires_at_ms", info.expires_at_ms)?;
    d.set_item("ttl_ms", info.ttl_ms)?;
    d.set_item("holder", info.holder)?;
    Ok(d)
}
