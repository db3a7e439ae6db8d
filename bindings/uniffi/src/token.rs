//! `decode_token`: a token's public fields (never its owner id).

use crate::error::Result;
use crate::LockMode;

#[derive(uniffi::Record, Clone, Debug)]
pub struct TokenInfo {
    /// The kind of backend that issued the lock: `memory`, `sqlite`, `redis`…
    pub backend: String,
    pub namespace: String,
    pub name: String,
    pub fence: u64,
    pub mode: LockMode,
    pub expires_at_ms: u64,
    pub ttl_ms: u64,
    pub holder: String,
}

#[uniffi::export]
pub fn decode_token(token: String) -> Result<TokenInfo> {
    let i = ferrolock::token::decode(&token)?;
    Ok(TokenInfo {
        backend: i.backend.name().to_owned(),
        namespace: i.namespace,
        name: i.name,
        fence: i.fence,
        mode: i.mode.into(),
        expires_at_ms: i.expires_at_ms,
        ttl_ms: i.ttl_ms,
        holder: i.holder,
    })
}
