//! `decodeToken`: a token's public fields (never its owner id).

use crate::error::{to_js, Result};
use napi_derive::napi;

/// The public fields of a token.
#[napi(object, object_from_js = false)]
pub struct TokenInfo {
    /// `memory`, `sqlite`, `redis`, `postgres` or `couchbase`.
    pub backend: String,
    pub namespace: String,
    pub name: String,
    pub fence: u64,
    /// `exclusive` or `shared`.
    pub mode: String,
    /// When the lease expires unless renewed, in unix milliseconds (as of the token's writing).
    pub expires_at_ms: u64,
    /// The ttl the resumed handle renews with, in milliseconds.
    pub ttl_ms: u64,
    pub holder: String,
}

/// Decode a token's public fields, checking its format.
#[napi]
pub fn decode_token(token: String) -> Result<TokenInfo> {
    let i = ferrolock::token::decode(&token).map_err(to_js)?;
    Ok(TokenInfo {
        backend: i.backend.name().to_owned(),
        namespace: i.namespace,
        name: i.name,
        fence: i.fence,
        mode: i.mode.as_str().to_owned(),
        expires_at_ms: i.expires_at_ms,
        ttl_ms: i.ttl_ms,
        holder: i.holder,
    })
}
