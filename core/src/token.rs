//! Tokens: a [`Held`](crate::Held) serialized to a URL-safe string that any
//! process, in any language, can resume.
//!
//! `flk1.` + base64url (no padding) of a versioned binary payload; the byte
//! layout is in `docs/TOKEN.md`. A token carries the owner id (the proof of
//! ownership) but never a password or a URL. [`decode`] shows its public
//! fields and never the owner id.

use crate::error::{Error, Result};
use crate::{BackendKind, Mode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Every token starts with this.
pub const PREFIX: &str = "flk1.";
/// Longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
const VERSION: u8 = 1;

/// The public fields of a token. The owner id is deliberately absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Which kind of backend issued the lock.
    pub backend: BackendKind,
    /// The provider namespace.
    pub namespace: String,
    /// The lock name.
    pub name: String,
    /// The fence of this acquisition.
    pub fence: u64,
    /// Exclusive or shared.
    pub mode: Mode,
    /// When the lease expires unless renewed, in unix milliseconds (as of the token's writing).
    pub expires_at_ms: u64,
    /// The ttl the lock is renewed with, in milliseconds.
    pub ttl_ms: u64,
    /// The public holder label.
    pub holder: String,
}

/// Everything a token holds, owner id included. Crate-private.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenData {
    pub info: TokenInfo,
    pub owner: [u8; 16],
    pub proof: Vec<u8>,
}

/// Decode a token's public fields, checking its format.
///
/// ```
/// let err = ferrolock::token::decode("flk1.AAAA").unwrap_err();
/// assert_eq!(err.code(), "INVALID_TOKEN");
/// ```
pub fn decode(token: &str) -> Result<TokenInfo> {
    decode_full(token).map(|d| d.info)
}

pub(crate) fn encode(data: &TokenData) -> String {
    let i = &data.info;
    let mut b = Vec::with_capacity(64 + i.name.len() + i.holder.len() + data.proof.len());
    b.push(VERSION);
    b.push(i.backend.code());
    b.push(match i.mode {
        Mode::Exclusive => 0,
        Mode::Shared => 1,
    });
    b.push(0); // flags, reserved
    b.extend_from_slice(&data.owner);
    b.extend_from_slice(&i.fence.to_be_bytes());
    b.extend_from_slice(&i.expires_at_ms.to_be_bytes());
    b.extend_from_slice(&i.ttl_ms.to_be_bytes());
    b.push(i.namespace.len() as u8);
    b.extend_from_slice(i.namespace.as_bytes());
    for field in [i.name.as_bytes(), i.holder.as_bytes(), &data.proof] {
        b.extend_from_slice(&(field.len() as u16).to_be_bytes());
        b.extend_from_slice(field);
    }
    let mut s = String::with_capacity(PREFIX.len() + b.len() * 4 / 3 + 4);
    s.push_str(PREFIX);
    URL_SAFE_NO_PAD.encode_string(&b, &mut s);
    s
}

pub(crate) fn decode_full(token: &str) -> Result<TokenData> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::token(format!(
            "token is {} bytes long; the limit is {MAX_TOKEN_BYTES}",
            token.len()
        )));
    }
    let Some(body) = token.strip_prefix(PREFIX) else {
        return Err(Error::token("token does not start with \"flk1.\""));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| Error::token("token is not valid base64url"))?;
    let mut r = Reader { b: &bytes, at: 0 };
    let version = r.u8()?;
    if version != VERSION {
        return Err(Error::token(format!("token version {version} is not supported (expected {VERSION})")));
    }
    let backend_code = r.u8()?;
    let backend = BackendKind::from_code(backend_code)
        .ok_or_else(|| Error::token(format!("token names an unknown backend kind {backend_code}")))?;
    let mode = match r.u8()? {
        0 => Mode::Exclusive,
        1 => Mode::Shared,
        m => return Err(Error::token(format!("token has an unknown mode {m}"))),
    };
    let _flags = r.u8()?;
    let owner: [u8; 16] = r.take(16)?.try_into().expect("16 bytes");
    let fence = r.u64()?;
    let expires_at_ms = r.u64()?;
    let ttl_ms = r.u64()?;
    let ns_len = r.u8()? as usize;
    let namespace = r.string(ns_len, "namespace")?;
    let name_len = r.u16()? as usize;
    let name = r.string(name_len, "name")?;
    let holder_len = r.u16()? as usize;
    let holder = r.string(holder_len, "holder")?;
    let proof_len = r.u16()? as usize;
    let proof = r.take(proof_len)?.to_vec();
    if r.at != bytes.len() {
        return Err(Error::token("token has trailing bytes"));
    }
    crate::validate::namespace(&namespace).map_err(|e| Error::token(format!("token {e}")))?;
    crate::validate::name(&name).map_err(|e| Error::token(format!("token {e}")))?;
    Ok(TokenData {
        info: TokenInfo { backend, namespace, name, fence, mode, expires_at_ms, ttl_ms, holder },
        owner,
        proof,
    })
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::token("token is truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn string(&mut self, n: usize, what: &str) -> Result<String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| Error::token(format!("token {what} is not UTF-8")))
    }
}
