//! The token decoder: `ferrolock::token::decode`, the C ABI's
//! `ferrolock_decode_token` (which must agree with it), and `Locks::resume`
//! of a real token whose bytes the input edits.
//!
//! The first input byte picks what the rest is:
//! - 0: a token string as written (the seed corpus holds tests/vectors' tokens);
//! - 1: the binary payload, which this target wraps as `flk1.` + base64url,
//!   so that mutations reach the fields behind the base64;
//! - 2: edits (offset, xor) to the payload of a token minted now by a memory
//!   provider, then resumed there: the owner id is right, every other field
//!   may be wrong. The lock must end free.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ferrolock::{blocking, token, ErrorKind, LockState};
use libfuzzer_sys::fuzz_target;
use std::ffi::{CStr, CString};
use std::sync::OnceLock;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            if let Ok(s) = std::str::from_utf8(rest) {
                check_decode(s);
            }
        }
        1 => {
            check_decode(&format!("{}{}", token::PREFIX, URL_SAFE_NO_PAD.encode(rest)));
        }
        _ => resume_edited(rest),
    }
});

/// `decode` either reads fields that obey the token rules or says
/// `INVALID_TOKEN`; the C ABI says the same.
fn check_decode(s: &str) -> Option<token::TokenInfo> {
    let rust = token::decode(s);
    match &rust {
        Ok(info) => {
            assert!(s.len() <= token::MAX_TOKEN_BYTES);
            assert!(!info.name.is_empty() && info.name.len() <= ferrolock::MAX_NAME_BYTES, "{info:?}");
            assert!(!info.namespace.is_empty() && info.namespace.len() <= ferrolock::MAX_NAMESPACE_BYTES, "{info:?}");
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidToken, "{s:?}: {e}"),
    }
    // The C ABI reads a NUL-terminated string: only inputs without a NUL.
    if let Ok(c) = CString::new(s) {
        let mut info = std::ptr::null_mut();
        // SAFETY: a NUL-terminated string and a writable out-parameter.
        let status = unsafe { ferrolock_c::ferrolock_decode_token(c.as_ptr(), &mut info) };
        match &rust {
            Ok(r) => {
                assert_eq!(status, ferrolock_c::FerrolockStatus::FerrolockOk, "{s:?}");
                assert!(!info.is_null());
                // SAFETY: a record from ferrolock_decode_token, freed once below.
                unsafe {
                    let i = &*info;
                    let text = |p: *const std::ffi::c_char| CStr::from_ptr(p).to_str().unwrap().to_owned();
                    assert_eq!(text(i.backend), r.backend.name());
                    assert_eq!(text(i.namespace), r.namespace);
                    assert_eq!(text(i.name), r.name);
                    // Holders are not validated in tokens: a NUL in one is dropped in C.
                    assert_eq!(text(i.holder), r.holder.replace('\0', ""));
                    assert_eq!((i.fence, i.shared, i.expires_at_ms, i.ttl_ms),
                        (r.fence, r.mode == ferrolock::Mode::Shared, r.expires_at_ms, r.ttl_ms));
                    ferrolock_c::ferrolock_token_info_free(info);
                }
            }
            Err(_) => {
                assert_eq!(status, ferrolock_c::FerrolockStatus::FerrolockInvalidToken, "{s:?}");
                assert!(info.is_null());
            }
        }
    }
    rust.ok()
}

fn locks() -> &'static blocking::Locks {
    static LOCKS: OnceLock<blocking::Locks> = OnceLock::new();
    LOCKS.get_or_init(|| blocking::Locks::connect("memory://fuzz-token").expect("memory connects"))
}

fn resume_edited(edits: &[u8]) {
    const NAME: &str = "fuzz:token";
    let locks = locks();
    let held = locks.lock(NAME).ttl(Duration::from_secs(30)).try_acquire().unwrap().expect("free at start");
    let original = held.into_token().unwrap();
    let mut payload = URL_SAFE_NO_PAD.decode(&original[token::PREFIX.len()..]).unwrap();
    // Each edit: two bytes of offset, one byte to xor there (or, past the
    // end, a byte to append); a lone last byte truncates the payload.
    let mut chunks = edits.chunks_exact(3);
    for e in &mut chunks {
        let at = u16::from_be_bytes([e[0], e[1]]) as usize;
        match payload.get_mut(at) {
            Some(b) => *b ^= e[2],
            None => payload.push(e[2]),
        }
    }
    if let [cut] = chunks.remainder() {
        payload.truncate(*cut as usize);
    }
    let edited = format!("{}{}", token::PREFIX, URL_SAFE_NO_PAD.encode(&payload));
    let decoded = check_decode(&edited);
    match locks.resume(&edited) {
        Ok(h) => {
            // Only the owner id proves ownership: the lock is ours.
            let info = decoded.expect("a resumed token decodes");
            assert_eq!(h.name(), info.name);
            h.release().unwrap();
        }
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::InvalidToken | ErrorKind::Lost),
            "resume of an edited token: {e}"
        ),
    }
    // Whatever the edit did, the original token still frees the lock (unless
    // the edited one already did, possibly under another name).
    match locks.resume(&original) {
        Ok(h) => assert!(h.release().unwrap()),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Lost, "{e}"),
    }
    assert_eq!(locks.state(NAME).unwrap(), LockState::Free, "after {edited}");
    assert!(locks.list("").unwrap().is_empty(), "after {edited}");
}
